Feature: MCP 2025-03-26: the authorization base URL, its metadata and default endpoints
  In 2025-03-26 the MCP server is its own authorization server: its metadata sits at the
  origin of the MCP URL, and without metadata the default endpoints /authorize, /token and
  /register apply. These rules bind 2025-03-26 servers only.

  @LEG-01 @must
  Scenario: LEG-01 AS metadata is at the authorization base URL
    When the client fetches AS metadata from the authorization base URL
    Then the metadata is served there, or the server has none anywhere (LEG-01)

  @LEG-02 @must
  Scenario: LEG-02 A server without metadata offers the default endpoints
    Given the server publishes no metadata at the authorization base URL
    When the client probes the default /authorize and /token endpoints
    Then both default endpoints answer (LEG-02)

  @LEG-03 @must
  Scenario: LEG-03 An MCP request without credentials is refused with 401
    When the client sends the opening MCP request without credentials
    Then the response status is 401

  @LEG-04 @should
  Scenario: LEG-04 A client can obtain a client ID by registration
    When the client looks for a way to obtain a client ID
    Then a registration endpoint is advertised, or the default /register registers (LEG-04)

  @LEG-05 @must
  Scenario: LEG-05 PKCE is required: a request without code_challenge is refused
    Given a registered client
    When the client requests authorization with code_challenge and code_challenge_method omitted
    Then the authorization is refused with "invalid_request" and no code

  @LEG-06 @must
  Scenario Outline: LEG-06 A redirect URI that is neither localhost nor https is refused (<case>)
    Given the authorization server offers dynamic client registration
    When the client registers a public client with redirect_uris set to "<redirect_uri>"
    Then the registration is refused with "invalid_redirect_uri" or "invalid_client_metadata"

    Examples:
      | case                  | redirect_uri              |
      | plain http, not local | http://evil.example/cb    |
      | a private-use scheme  | com.example.app:/callback |

  @LEG-07 @should
  Scenario: LEG-07 Token lifetimes are limited and refresh tokens rotate
    Given a registered client
    And the client holds tokens with a refresh token
    When the client refreshes
    Then every token response limits the token's lifetime and the refresh rotated the refresh token (LEG-07)
