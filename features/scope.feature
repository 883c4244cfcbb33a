Feature: Scope challenges and step-up (MCP 2025-11-25 §10.1.1, 2026-07-28 §10, §11.1)
  A token whose scope does not cover an operation gets a challenge naming the scope needed;
  the client steps up to it. The privileged operation and the narrow scope come from the
  target profile ([scope_check]).

  @SCOPE-04 @should
  Scenario: SCOPE-04 Stepping up to the challenged scope allows the operation and keeps the rest
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    And the client obtains tokens for the scope the challenge names
    And the client calls the privileged operation
    Then the MCP server accepts the request
    When the client lists tools with the access token
    Then the MCP server accepts the request

  @SCOPE-05 @should
  Scenario: SCOPE-05 The same operation gets the same challenge
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    And the client calls the privileged operation
    Then the two answers carry the same challenge (SCOPE-05)

  @SCOPE-07 @should
  Scenario: SCOPE-07 A down-scoped token is accepted for what its scope covers
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client lists tools with the access token
    Then the MCP server accepts the request

  @SCOPE-09 @should
  Scenario: SCOPE-09 The insufficient_scope challenge does not ask for offline_access
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    Then the Bearer challenge's scope does not name offline_access (SCOPE-09)

  @SCOPE-10 @should
  Scenario: SCOPE-10 One insufficient_scope challenge names every scope the operation needs
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    And the client obtains tokens for the scope it requested together with the scope the challenge names
    And the client calls the privileged operation
    Then the operation is not challenged for scope a second time (SCOPE-10)
