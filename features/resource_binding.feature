Feature: Resource indicators (RFC 8707) and audience binding
  Tokens are requested for one resource and must work there and only there.

  Background:
    Given a registered client

  @RES-01 @should
  Scenario: RES-01 resource on the authorization and token requests is tolerated
    When the client obtains an authorization code
    And the client redeems the code
    Then the token response is 200 with an access token (RES-01)

  @RES-02 @RS-07 @must
  Scenario: RES-02 RS-07 A token for one resource works there and not at a second resource
    Given a second protected resource
    When the client obtains tokens for the MCP server
    Then the MCP server accepts the access token
    And the second resource refuses the access token

  @RS-07 @must
  Scenario: RS-07 A token issued for a second resource is refused by the MCP server
    Given a second protected resource
    When the client obtains tokens for the second resource
    Then the MCP server refuses the access token with 401

  @RES-03 @should
  Scenario Outline: RES-03 A malformed resource is refused with invalid_target (<case>)
    When the client requests authorization with resource set to "<resource>"
    Then the authorization is refused with "invalid_target" and no code (RES-03)

    Examples:
      | case          | resource                  |
      | relative      | /mcp                      |
      | with fragment | https://mcp.example/mcp#x |
