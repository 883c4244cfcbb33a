Feature: Authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2; RFC 9207)
  The redirect URI is matched exactly, a request whose client or redirect URI cannot be trusted
  is never redirected, and every response echoes state and identifies its issuer.

  Background:
    Given a registered client

  # Each refusal scenario first shows, as its positive control, that the same request without
  # the tampering gets a code through the login driver: an error page is a refusal only when
  # the driver can complete the untampered request.
  @AUTHZ-02 @must
  Scenario Outline: AUTHZ-02 A redirect URI that differs from the registered one is refused (<variant>)
    When the client obtains an authorization code
    And the client requests authorization with redirect_uri changed by <variant>
    Then the authorization is not redirected to the redirect_uri changed by <variant> (AUTHZ-02)

    Examples:
      | variant                      |
      | an extra path segment        |
      | a trailing slash             |
      | an extra query parameter     |
      | a changed path case          |
      | localhost for the IP literal |
      | https for http               |
      | another loopback host        |

  @AUTHZ-04 @must
  Scenario: AUTHZ-04 An unknown client_id is not redirected
    When the client obtains an authorization code
    And the client requests authorization with client_id set to an unknown client
    Then the authorization is not redirected to the client (AUTHZ-04)

  @AUTHZ-04 @must
  Scenario: AUTHZ-04 A missing client_id is not redirected
    When the client obtains an authorization code
    And the client requests authorization with client_id omitted
    Then the authorization is not redirected to the client (AUTHZ-04)

  @AUTHZ-04 @must
  Scenario: AUTHZ-04 A missing redirect_uri is not redirected when two are registered
    Given a client registered with two redirect URIs
    When that client obtains an authorization code
    And that client requests authorization with redirect_uri omitted
    Then the authorization is not redirected to the client (AUTHZ-04)

  @AUTHZ-11 @must
  Scenario: AUTHZ-11 state comes back byte-exact with the code
    When the client requests authorization with a 64-character state containing %, + and ~
    Then the code comes back with the request's state, byte-exact (AUTHZ-11)

  @AUTHZ-11 @must
  Scenario: AUTHZ-11 state comes back byte-exact with an error
    When the client requests authorization with code_challenge_method set to "S512" and a 64-character state containing %, + and ~
    Then the error comes back with the request's state, byte-exact (AUTHZ-11)

  @AUTHZ-14 @must
  Scenario: AUTHZ-14 A successful authorization response carries the issuer
    When the client obtains an authorization code
    Then the code comes back with iss equal to the metadata issuer, when iss is sent or advertised (AUTHZ-14)

  @AUTHZ-14 @must
  Scenario: AUTHZ-14 An error response carries the issuer
    When the client requests authorization with code_challenge_method set to "S512"
    Then the error comes back with iss equal to the metadata issuer, when iss is sent or advertised (AUTHZ-14)

  @AUTHZ-01 @must
  Scenario: AUTHZ-01 A valid authorization request by GET is answered with a page or a redirect
    When the client sends a valid authorization request by GET
    Then the authorization endpoint answers with a page or a redirect (AUTHZ-01)

  @AUTHZ-03 @must
  Scenario Outline: AUTHZ-03 A loopback IP redirect URI may use another port at request time (<host>)
    Given a client registered with its redirect URI on <host>
    When that client requests authorization with its redirect URI on another port
    Then the code is delivered to the redirect URI on the other port (AUTHZ-03)

    Examples:
      | host      |
      | 127.0.0.1 |
      | [::1]     |

  @AUTHZ-05 @must
  Scenario: AUTHZ-05 A request without response_type is refused with invalid_request
    When the client requests authorization with response_type omitted
    Then the authorization is refused with "invalid_request" and no code

  @AUTHZ-05 @must
  Scenario: AUTHZ-05 An unknown response_type is refused with unsupported_response_type
    When the client requests authorization with response_type set to "harness_unknown"
    Then the authorization is refused with "unsupported_response_type" and no code

  @AUTHZ-06 @must
  Scenario: AUTHZ-06 response_type=token (the implicit grant) is refused
    When the client requests authorization with response_type set to "token"
    Then the implicit grant is refused with "unsupported_response_type" and no token (AUTHZ-06)

  @AUTHZ-07 @should
  Scenario Outline: AUTHZ-07 A repeated parameter is refused with invalid_request (<param>)
    When the client requests authorization with <param> sent twice
    Then the authorization is refused with "invalid_request" and no code

    Examples:
      | param          |
      | state          |
      | code_challenge |

  @AUTHZ-08 @must
  Scenario Outline: AUTHZ-08 A parameter sent without a value is treated as omitted (<param>)
    When the client requests authorization once with <param> omitted and once with <param> empty
    Then both requests end the same way for <param> (AUTHZ-08)

    Examples:
      | param          |
      | scope          |
      | code_challenge |

  @AUTHZ-09 @must
  Scenario: AUTHZ-09 An unknown parameter is ignored
    When the client requests authorization with the unknown parameter harness_x=1 added
    Then the code comes back, the unknown parameter ignored (AUTHZ-09)

  @AUTHZ-10 @must
  Scenario: AUTHZ-10 The authorization endpoint grants no cross-origin access
    When a script on "https://evil.example" sends a valid authorization request and its CORS preflight
    Then neither answer carries Access-Control-Allow-Origin (AUTHZ-10)

  @AUTHZ-12 @must
  Scenario: AUTHZ-12 A success response has one code, no repeated parameter and no error
    When the client obtains an authorization code
    Then the success response has one code, state and iss at most once, and no error (AUTHZ-12)

  @AUTHZ-15 @must
  Scenario: AUTHZ-15 The code challenge does not come back in the authorization response
    When the client obtains an authorization code
    Then the authorization response does not reveal the code challenge (AUTHZ-15)

  @AUTHZ-16 @must
  Scenario: AUTHZ-16 The login form's POST, carrying the password, is not answered with 307
    When the client obtains an authorization code
    Then the request that carried the user's credentials was not answered with 307 (AUTHZ-16)

  @AUTHZ-18 @must
  Scenario Outline: AUTHZ-18 An authorization error uses a defined code and allowed characters (<case>)
    When the client requests authorization with <change>
    Then the error uses a defined code and allowed characters (AUTHZ-18)

    Examples:
      | case                     | change                                    |
      | unsupported PKCE method  | code_challenge_method set to "S512"       |
      | unknown response type    | response_type set to "harness_unknown"    |

  # The flow's scope with a made-up one: a refusal must be invalid_scope; an AS that goes on
  # must leave the made-up scope out of the grant and say so in the token response.
  @SCOPE-08 @must
  Scenario: SCOPE-08 An unknown scope is refused with invalid_scope, or dropped from the grant
    When the client requests authorization for the flow's scope plus "harness-nonexistent"
    And the client redeems the code, if the authorization issued one
    Then "harness-nonexistent" is refused with invalid_scope and the request's state, or dropped from a grant the token response states (SCOPE-08)

  @AUTHZ-20 @should
  Scenario: AUTHZ-20 A successful authorization response carries iss
    When the client obtains an authorization code
    Then the code comes back with iss (AUTHZ-20)

  @AUTHZ-20 @should
  Scenario: AUTHZ-20 An error response carries iss
    When the client requests authorization with response_type set to "harness_unknown"
    Then the error comes back with iss (AUTHZ-20)
