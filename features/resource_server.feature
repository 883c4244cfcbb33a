Feature: The MCP server as resource server (OAuth 2.1 §5, RFC 6750)
  Every MCP request carries the access token in the Authorization header; the server checks
  it on every request.

  @RS-02 @must
  Scenario: RS-02 A valid token in the Authorization header is accepted
    Given the client holds tokens for the MCP server
    When the client opens an MCP conversation with the access token
    And the client lists tools with the access token
    Then the MCP server answers every request

  @RS-01 @must
  Scenario: RS-01 A request without a token is refused even inside a session
    Given the client holds tokens for the MCP server
    When the client opens an MCP conversation with the access token
    And the client lists tools in that conversation without a token
    Then the response status is 401 (RS-01)

  @RS-04 @must
  Scenario Outline: RS-04 A malformed or unknown token gets 401 (<case>)
    When the client lists tools with the bearer token <case>
    Then the MCP server refuses the token with 401 and error invalid_token (RS-04)

    Examples:
      | case                           |
      | "abc.def"                      |
      | of 32 random bytes             |
      | left empty                     |

  @RS-05 @must
  Scenario Outline: RS-05 A forged token is refused (<forgery>)
    Given the client holds tokens for the MCP server
    When the client lists tools with a token forged with <forgery>
    Then the response status is 401 (RS-05)

    Examples:
      | forgery           |
      | alg none          |
      | a foreign key     |
      | an edited payload |

  @RS-06 @must
  Scenario: RS-06 An expired token is refused
    Given the client holds tokens for the MCP server
    When the access token has expired
    And the client lists tools with the access token
    Then the MCP server refuses the token with 401 and error invalid_token (RS-06)

  @RS-09 @must
  Scenario: RS-09 A token in the query string is ignored
    Given the client holds tokens for the MCP server
    When the client lists tools with the access token in the query string only
    Then the response status is 401 (RS-09)

  @RS-11 @must
  Scenario: RS-11 A refresh token presented as a bearer token is refused
    Given the client holds tokens for the MCP server
    When the client lists tools with the refresh token as bearer token
    Then the response status is 401 (RS-11)

  @SCOPE-03 @should
  Scenario: SCOPE-03 Insufficient scope gets 403 with an insufficient_scope challenge
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    Then the response is 403 with error insufficient_scope, scope and resource_metadata
