Feature: Authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2; RFC 9207)
  The redirect URI is matched exactly, a request whose client or redirect URI cannot be trusted
  is never redirected, and every response echoes state and identifies its issuer.

  Background:
    Given a registered client

  @AUTHZ-02 @must
  Scenario Outline: AUTHZ-02 A redirect URI that differs from the registered one is refused (<variant>)
    When the client requests authorization with redirect_uri changed by <variant>
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
    When the client requests authorization with client_id set to an unknown client
    Then the authorization is not redirected to the client (AUTHZ-04)

  @AUTHZ-04 @must
  Scenario: AUTHZ-04 A missing client_id is not redirected
    When the client requests authorization with client_id omitted
    Then the authorization is not redirected to the client (AUTHZ-04)

  @AUTHZ-04 @must
  Scenario: AUTHZ-04 A missing redirect_uri is not redirected when two are registered
    Given a client registered with two redirect URIs
    When that client requests authorization with redirect_uri omitted
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
