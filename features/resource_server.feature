Feature: The MCP server as resource server (OAuth 2.1 §5, RFC 6750)
  Every MCP request carries the access token in the Authorization header; the server checks
  it on every request.

  @RS-02 @must
  Scenario: RS-02 A valid token in the Authorization header is accepted
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client opens an MCP conversation with the access token
    And the client lists tools with the access token
    Then the MCP server answers every request

  @RS-01 @must
  Scenario: RS-01 A request without a token is refused even inside a session
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client opens an MCP conversation with the access token
    And the client lists tools in that conversation without a token
    Then the response status is 401

  @RS-04 @must
  Scenario Outline: RS-04 A malformed or unknown token gets 401 (<case>)
    When the client lists tools with the bearer token <case>
    Then the MCP server refuses the token with 401 and error invalid_token

    Examples:
      | case                           |
      | "abc.def"                      |
      | of 32 random bytes             |
      | left empty                     |

  @RS-05 @must
  Scenario Outline: RS-05 A forged token is refused (<forgery>)
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client lists tools with a token forged with <forgery>
    Then the response status is 401

    Examples:
      | forgery           |
      | alg none          |
      | a foreign key     |
      | an edited payload |

  @RS-06 @must
  Scenario: RS-06 An expired token is refused
    Given the client holds short-lived tokens for the MCP server
    When the access token has expired
    And the client lists tools with the access token
    Then the MCP server refuses the token with 401 and error invalid_token

  @RS-09 @must
  Scenario: RS-09 A token in the query string is ignored
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client lists tools with the access token in the query string only
    Then the response status is 401

  @RS-11 @must
  Scenario: RS-11 A refresh token presented as a bearer token is refused
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client lists tools with the refresh token as bearer token
    Then the response status is 401

  @SCOPE-03 @should
  Scenario: SCOPE-03 Insufficient scope gets 403 with an insufficient_scope challenge
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    Then the response is 403 with error insufficient_scope, scope and resource_metadata

  @RS-03 @must
  Scenario Outline: RS-03 The auth-scheme name is matched case-insensitively (<scheme>)
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client lists tools with the access token under the scheme <scheme>
    Then the MCP server accepts the request

    Examples:
      | scheme   |
      | "bearer" |
      | "BEARER" |

  @RS-10 @should
  Scenario: RS-10 A token in the header and another in the query: the query copy is not used
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client lists tools with the access token in the header and a made-up token in the query string
    Then the request is served with the header's token or refused with 400 (RS-10)

  @RS-12 @should
  Scenario: RS-12 An access token revoked through RFC 7009 is refused
    Given the client holds tokens for the MCP server
    When the client revokes the access token
    And the client lists tools with the access token
    Then the revoked access token is refused (RS-12)

  @RS-13 @must
  Scenario: RS-13 An operation beyond the token's scope is not carried out
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    Then the privileged operation is not carried out (RS-13)

  @RS-14 @must
  Scenario: RS-14 Insufficient scope is answered with 403
    Given a privileged operation and a scope that does not cover it
    And the client holds tokens for the MCP server with only that scope
    When the client calls the privileged operation
    Then the response status is 403

  @RS-14 @must
  Scenario: RS-14 An unknown token is answered with 401
    When the client lists tools with the bearer token of 32 random bytes
    Then the response status is 401

  @RS-15 @must
  Scenario Outline: RS-15 An invalid-token 401 names the PRM in resource_metadata (<case>)
    When the client lists tools with the bearer token <case>
    Then the 401 challenge carries resource_metadata (RS-15)

    Examples:
      | case               |
      | "abc.def"          |
      | of 32 random bytes |

  @RS-16 @must
  Scenario: RS-16 Session IDs are distinct and unpredictable
    Given the client holds tokens for the MCP server from a login shared with read-only scenarios
    When the client opens 5 MCP conversations with the access token
    Then the session IDs are distinct and unpredictable (RS-16)
