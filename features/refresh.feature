Feature: Refresh tokens (OAuth 2.1 §4.3)
  Public clients' refresh tokens rotate; a replaced one is refused and its reuse revokes the
  grant; refresh tokens are bound to their client and scope.

  Background:
    Given a registered client
    And the client holds tokens with a refresh token

  @REFRESH-01 @must
  Scenario: REFRESH-01 Every refresh returns a new refresh token
    When the client refreshes
    Then the refresh response carries a refresh token different from the old one

  @REFRESH-02 @must
  Scenario: REFRESH-02 A replaced refresh token is refused
    When the client refreshes, and the refresh is accepted (the positive control)
    And the client refreshes with the replaced refresh token
    Then the token request is refused with "invalid_grant"

  @REFRESH-02 @must @race
  Scenario: REFRESH-02 Twenty concurrent refreshes with one token yield exactly one success
    When the client refreshes 20 times concurrently with the same refresh token
    Then exactly one redemption succeeds and the others get "invalid_grant"

  @REFRESH-03 @must
  Scenario: REFRESH-03 Reusing a replaced refresh token revokes the live one
    When the client refreshes, and the refresh is accepted (the positive control)
    And the client refreshes with the replaced refresh token
    And the client refreshes with the newest refresh token
    Then the token request is refused with "invalid_grant"
    And introspection, where the AS offers it, no longer finds the newest access token active
    And the MCP server refuses the newest access token, where it can see the revocation

  @REFRESH-04 @must
  Scenario: REFRESH-04 A refresh token is bound to its client
    Given a second registered client
    When the second client refreshes with the client's refresh token
    Then the token request is refused with "invalid_grant"

  # Widened by a scope the AS supports (scopes_supported) and did not grant: an unknown one would
  # be refused as unknown, which says nothing about widening.
  @REFRESH-05 @must
  Scenario: REFRESH-05 A refresh cannot widen the scope
    When the client refreshes with scope set to the granted scope plus a supported scope that was not granted
    Then the token request is refused with "invalid_scope"

  @REFRESH-06 @must
  Scenario: REFRESH-06 Refreshing without scope keeps the original scope
    When the client refreshes
    And the client refreshes
    Then every refresh response grants the originally granted scope

  @REFRESH-10 @must
  Scenario: REFRESH-10 A made-up refresh token is refused
    When the client refreshes with a made-up refresh token
    Then the token request is refused with "invalid_grant"

  @REFRESH-07 @must
  Scenario: REFRESH-07 A refresh token is bound to the consented resource
    Given a second protected resource
    When the client refreshes with resource set to the second resource
    Then the refresh is refused, or its access token is refused by the second resource (REFRESH-07)

  # The background's public client is replaced by a confidential one, with tokens of its own.
  # The positive control: the same refresh with the client's authentication is accepted, so that
  # the refusal without it is for the missing authentication.
  @REFRESH-08 @must
  Scenario: REFRESH-08 A confidential client must authenticate to refresh
    Given a confidential client registered with "client_secret_basic"
    And the client holds tokens with a refresh token
    When the client refreshes, and the refresh is accepted (the positive control)
    And the client refreshes without client authentication
    Then the token request is refused with "invalid_client"

  @REFRESH-09 @must
  Scenario: REFRESH-09 A refresh response is not cached
    When the client refreshes
    Then the refresh response carries Cache-Control no-store (REFRESH-09)

  # A heuristic (length and alphabet), so a short token is advisory.
  @REFRESH-11 @must
  Scenario: REFRESH-11 A refresh token cannot be guessed
    Then the refresh token is long and random enough not to be guessed (REFRESH-11)
