Feature: Several instances of one authorization server (OAuth 2.1 §4.1.3, §4.3.1, RFC 7009)
  An authorization server deployed as several instances behind a load balancer is still one
  authorization server: a code redeemed, or a refresh token replaced or revoked, at one
  instance is spent at every other, a replaced refresh token reused at one instance revokes
  the live one at every other, and a code expired at one is expired at every other. The
  instances are the profile's [replicas] urls (and --replica), where a request goes to an
  instance at the path the AS metadata gives, on the instance's origin, and its [replicas]
  routes (and --replica-route), where it goes where the metadata says with the instance's
  routing header. Each scenario first shows the property at the endpoint the metadata names
  (the positive control: where it fails, that is CODE-02's, REFRESH-02's or REFRESH-03's
  failure, and the scenario skips), then tries every other instance.

  Background:
    Given the authorization server's other instances
    And a registered client

  @REPL-01 @must
  Scenario: REPL-01 A code redeemed at one instance is refused at every other instance
    When the client obtains tokens for the MCP server
    And the client redeems the same code again, and the replay is refused (the positive control)
    And the client redeems the same code again at every other instance
    Then every other instance refuses the token request with "invalid_grant"

  @REPL-02 @must @race
  Scenario: REPL-02 Twenty concurrent redemptions of one code across the instances yield exactly one token
    When the client redeems a first code 20 times concurrently where the AS metadata says, and one redemption succeeds (the positive control)
    And the client obtains an authorization code
    And the client redeems the code 20 times concurrently across the instances
    Then exactly one redemption across the instances succeeds and the others get "invalid_grant"

  @REPL-03 @must
  Scenario: REPL-03 A refresh token replaced at one instance is refused at every other instance
    Given the client holds tokens with a refresh token
    When the client refreshes, and the refresh is accepted (the positive control)
    And the client refreshes with the replaced refresh token, and the reuse is refused (the positive control)
    And the client refreshes with the replaced refresh token at every other instance
    Then every other instance refuses the token request with "invalid_grant"

  # Revocation (RFC 7009) has no scenario of its own at one instance: where the revoked refresh
  # token is still served there, the positive control fails and the scenario skips.
  @REPL-04 @must
  Scenario: REPL-04 A refresh token revoked at one instance is refused at every other instance
    Given the client holds tokens with a refresh token
    When the client revokes the refresh token, and a refresh with it is refused where the AS metadata says (the positive control)
    And the client refreshes with the revoked refresh token at every other instance
    Then every other instance refuses the token request with "invalid_grant"

  @REPL-05 @should
  Scenario: REPL-05 An access token revoked at another instance is refused by the MCP server
    Given the client holds tokens for the MCP server
    When the client revokes the access token, and the MCP server refuses it (the positive control)
    And the client obtains a new access token and revokes it at another instance
    And the client lists tools with the access token
    Then the access token revoked at another instance is refused

  # REFRESH-03 across the instances. The positive control is REFRESH-03's property where the
  # metadata says (otherwise the scenario skips, naming it); a reuse served at another instance
  # is REPL-03's failure, and the scenario skips.
  @REPL-06 @must
  Scenario: REPL-06 A replaced refresh token reused at another instance revokes the live refresh token for the whole deployment
    Given the client holds tokens with a refresh token
    When the client refreshes, and the refresh is accepted (the positive control)
    And the client reuses the replaced refresh token, and the live refresh token is refused after it (the positive control)
    And the client obtains tokens for a second grant and refreshes them where the AS metadata says
    And the client refreshes with the replaced refresh token at every other instance, and the reuse is refused there
    And the client refreshes with the live refresh token where the AS metadata says
    Then the live refresh token is refused with "invalid_grant" where the AS metadata says
  # A code's lifetime is not published: the profile states it ([replicas] code_lifetime_secs),
  # and without it the scenario skips. A first code still served where the metadata says, once
  # that lifetime has passed, only shows that the code lives longer: the scenario skips.
  @REPL-07 @must
  Scenario: REPL-07 A code past its lifetime, refused where the AS metadata says, is refused at every other instance
    Given the codes' lifetime the profile states
    And the client obtains two codes, one after the other
    When the codes' lifetime has passed
    And the client redeems the first code where the AS metadata says, and it is refused (the positive control)
    And the client redeems the second code at every other instance
    Then every other instance refuses the token request with "invalid_grant"
