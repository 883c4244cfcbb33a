Feature: Authorization code redemption (OAuth 2.1 §4.1.3)
  Codes are single-use and bound to their client and redirect URI.

  Background:
    Given a registered client

  @CODE-01 @must
  Scenario: CODE-01 A valid redemption returns a bearer token, not cached
    When the client obtains an authorization code
    And the client redeems the code
    Then the token response is 200 with a bearer access token and Cache-Control no-store

  # The first redemption must issue tokens (PKCE-02 otherwise): a refusal of the second one is
  # evidence of single use only after the first one succeeded.
  @CODE-02 @must
  Scenario: CODE-02 A code works only once
    When the client obtains tokens for the MCP server
    And the client redeems the same code again
    Then the token request is refused with "invalid_grant"

  @CODE-02 @must @race
  Scenario: CODE-02 Twenty concurrent redemptions of one code yield exactly one token
    When the client obtains an authorization code
    And the client redeems the code 20 times concurrently
    Then exactly one redemption succeeds and the others get "invalid_grant"

  @CODE-03 @should
  Scenario: CODE-03 Replaying a code revokes the tokens of the first redemption
    When the client obtains tokens for the MCP server
    And the client redeems the same code again
    Then the refresh token from the first redemption is refused
    And introspection, where the AS offers it, no longer finds the first redemption's access token active
    And the access token from the first redemption is refused by the MCP server

  @CODE-05 @must
  Scenario: CODE-05 A code is bound to its client
    Given a second registered client
    When the client obtains an authorization code
    And the second client redeems the code
    Then the token request is refused with "invalid_grant"

  @CODE-06 @should
  Scenario: CODE-06 A redirect_uri that differs from the authorization request is refused
    When the client obtains an authorization code
    And the client redeems the code with redirect_uri set to another loopback URI
    Then the token request is refused with "invalid_grant"

  @CODE-08 @must
  Scenario: CODE-08 A made-up code is refused
    When the client redeems a made-up code
    Then the token request is refused with "invalid_grant"

  @CODE-04 @should
  Scenario: CODE-04 A replay with a wrong verifier does not revoke the first redemption's tokens
    When the client obtains tokens for the MCP server
    And the client redeems the code with code_verifier set to a different valid verifier
    Then the access token from the first redemption is accepted by the MCP server (CODE-04)

  @CODE-07 @should
  Scenario: CODE-07 A redemption without redirect_uri works
    When the client obtains an authorization code
    And the client redeems the code with redirect_uri omitted
    Then the token response is 200 with an access token

  # A real code: with a made-up one, invalid_grant would not show that client_id was required.
  @CODE-09 @must
  Scenario: CODE-09 A public client's redemption without client_id is refused
    When the client obtains an authorization code
    And the client redeems the code with client_id omitted
    Then the token request is refused with "invalid_request", "invalid_client" or "invalid_grant"

  @CODE-10 @must
  Scenario: CODE-10 An unknown token request parameter is ignored
    When the client obtains an authorization code
    And the client redeems the code with an unknown parameter "harness_x"
    Then the token response is 200 with an access token
