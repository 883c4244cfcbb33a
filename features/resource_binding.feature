Feature: Resource indicators (RFC 8707) and audience binding
  Tokens are requested for one resource and must work there and only there.

  Background:
    Given a registered client

  @RES-01 @should
  Scenario: RES-01 resource on the authorization and token requests is tolerated
    When the client obtains an authorization code
    And the client redeems the code
    Then the token response is 200 with an access token

  @RES-02 @RS-07 @must
  Scenario: RES-02 RS-07 A token for one resource works there and not at a second resource
    Given a second protected resource
    When the client obtains tokens for the MCP server
    Then the MCP server accepts the access token
    And the second resource refuses the access token

  # The positive control first: the MCP server accepts a token issued for it, so that its
  # refusal of the other resource's token is for the audience.
  @RS-07 @must
  Scenario: RS-07 A token issued for a second resource is refused by the MCP server
    Given a second protected resource
    And the client holds tokens for the MCP server
    When the client obtains tokens for the second resource
    Then the MCP server refuses the access token with 401

  # Without a configured second resource: an AS that issues a token for a resource it does not
  # serve (RES-04 asks it to refuse, and tolerating one is RES-04's finding alone) hands the
  # client a token for another audience, which the MCP server must refuse.
  @RS-07 @must
  Scenario: RS-07 A token the AS issued for another resource is refused by the MCP server
    Given the client holds tokens for the MCP server
    When the client obtains tokens for "https://unknown.example/mcp", where the AS issues them
    Then the MCP server refuses the access token with 401

  @RES-03 @should
  Scenario Outline: RES-03 A malformed resource is refused with invalid_target (<case>)
    When the client requests authorization with resource set to "<resource>"
    Then the authorization is refused with "invalid_target" and no code

    Examples:
      | case          | resource                  |
      | relative      | /mcp                      |
      | with fragment | https://mcp.example/mcp#x |

  @RES-04 @should
  Scenario: RES-04 An unknown resource is refused with invalid_target
    When the client requests authorization with resource set to "https://unknown.example/mcp"
    Then the authorization is refused with "invalid_target" and no code

  @RES-05 @info
  Scenario: RES-05 Without resource the AS applies a default or refuses with invalid_target
    When the client requests authorization with resource omitted
    Then the authorization yields a code or is refused with "invalid_target"

  @RES-06 @should
  Scenario: RES-06 A token request for a resource that was not authorized is refused
    Given a second protected resource
    When the client obtains an authorization code
    And the client redeems the code with resource set to the second resource
    Then the token request is refused with "invalid_target"

  # The positive control first: the same flow with the resource as written is accepted, so that
  # a refusal of the upper-case resource is RES-07's finding.
  @RES-07 @should
  Scenario: RES-07 The resource with its scheme and host in upper case is accepted
    When the client obtains tokens for the MCP server
    And the client obtains tokens for the MCP server with the resource's scheme and host in upper case
    Then the MCP server accepts the access token (RES-07)

  @RES-08 @should
  Scenario: RES-08 The protected resource metadata names the resource without a trailing slash
    Then the PRM resource has no trailing slash (RES-08)

  @RES-09 @info
  Scenario: RES-09 Several resources in one request get a code or invalid_target
    Given a second protected resource
    When the client requests authorization with resource set to the MCP server and the second resource
    Then the authorization yields a code or is refused with "invalid_target"
