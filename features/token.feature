Feature: The token endpoint (OAuth 2.1 §3.2)
  Errors are JSON with a registered code and the right status; grant types, repeated and empty
  parameters, client authentication and the endpoint's transport are checked with requests that
  cannot succeed, mostly with made-up codes (no login needed).

  Background:
    Given a registered client

  @TOK-01 @must
  Scenario Outline: TOK-01 A token error is a 400 JSON object with a registered error code (<request>)
    When the client redeems <request>
    Then the token error is a 400 JSON object with a registered error code (TOK-01)

    Examples:
      | request                                                |
      | a made-up code                                         |
      | a made-up code with grant_type omitted                 |
      | a made-up code with client_id set to an unknown client |

  @TOK-02 @must
  Scenario: TOK-02 A token request without grant_type gets invalid_request
    When the client redeems a made-up code with grant_type omitted
    Then the token request is refused with "invalid_request"

  @TOK-03 @must
  Scenario Outline: TOK-03 An unknown or removed grant type gets unsupported_grant_type (<grant>)
    When the client redeems a made-up code with grant_type set to "<grant>"
    Then the token request is refused with "unsupported_grant_type"

    Examples:
      | grant    |
      | password |
      | foo      |

  # A real code, so that only the repeated parameter can be wrong with the request.
  @TOK-04 @should
  Scenario: TOK-04 A repeated token request parameter gets invalid_request
    When the client obtains an authorization code
    And the client redeems the code with grant_type sent twice
    Then the token request is refused with "invalid_request"

  @TOK-05 @must
  Scenario: TOK-05 An empty grant_type counts as absent and gets invalid_request
    When the client redeems a made-up code with grant_type empty
    Then the token request is refused with "invalid_request"

  # The wrong-secret scenarios first show that the client's own secret authenticates it, so that
  # the refusal is for the wrong secret.
  @TOK-06 @must
  Scenario: TOK-06 A wrong secret sent with HTTP Basic gets 401 invalid_client with a Basic challenge
    Given a confidential client registered with "client_secret_basic"
    When the client's own secret authenticates it (the positive control)
    And the client redeems a made-up code with a wrong client secret
    Then the token request is refused with 401 invalid_client and a Basic challenge (TOK-06)

  @TOK-07 @should
  Scenario: TOK-07 Two client authentication methods in one request get invalid_request
    Given a confidential client registered with "client_secret_basic"
    When the client redeems a made-up code with its secret both in the Authorization header and in the body
    Then the token request is refused with "invalid_request"

  @TOK-08 @must
  Scenario: TOK-08 A wrong client secret in the body gets invalid_client
    Given a confidential client registered with "client_secret_post"
    When the client's own secret authenticates it (the positive control)
    And the client redeems a made-up code with a wrong client secret
    Then the token request is refused with "invalid_client"

  @TOK-08 @must
  Scenario: TOK-08 A client secret in the body authenticates a client_credentials request
    Given a confidential client registered with "client_secret_post" for client_credentials
    When the client requests a client_credentials token
    Then the token response is 200 with an access token

  @TOK-09 @must
  Scenario: TOK-09 A public client cannot use client_credentials
    When the client requests a client_credentials token
    Then the token request is refused with "unauthorized_client" or "invalid_client"

  # Twenty wrong secrets for a client of the harness's own; advisory (the form of protection is open).
  # The positive control comes first: the right secret authenticates (the made-up code is refused
  # with invalid_grant), so that a refusal of the right secret afterwards is a lockout, not a
  # refusal of the client's Basic credentials for a reason of the target's own.
  @TOK-10 @must
  Scenario: TOK-10 Wrong client secrets are throttled
    Given a confidential client registered with "client_secret_basic"
    When the client redeems a made-up code with its own secret
    And the client redeems a made-up code with a wrong client secret 20 times, then with the right one
    Then the token endpoint throttled the wrong secrets or locked the client out (TOK-10)

  @TOK-11 @must
  Scenario: TOK-11 The token endpoint is https and serves no GET token request
    When the client obtains an authorization code
    And the client redeems the code with a GET request
    Then the token endpoint is https, or http on a loopback host (TOK-11)
    And the GET token request issued no tokens (TOK-11)

  @REFRESH-12 @should
  Scenario: REFRESH-12 Access tokens are short-lived
    When the client obtains tokens for the MCP server
    Then the access token lives at most 3600 seconds (REFRESH-12)

  @REFRESH-13 @info
  Scenario: REFRESH-13 An AS that advertises refresh tokens issues them
    When the client obtains tokens where the AS advertises refresh tokens
    Then a refresh token was issued

  # Several scopes at once, some of which an AS may grant only by policy.
  @SCOPE-06 @must
  Scenario: SCOPE-06 The token response states the granted scope when it differs from the request
    When the client obtains tokens for the MCP server with every scope the resource lists
    Then the token response states the granted scope, or the access token grants the scope requested (SCOPE-06)
