Feature: Transport security (OAuth 2.1 §1.5, MCP security considerations)
  Every URL the client is sent to during discovery is https. Plain http is accepted on loopback
  hosts only: the development exception, under which the embedded reference server runs.

  @SEC-01 @must
  Scenario: SEC-01 The MCP server, PRM, the metadata and every AS endpoint are https
    When the client looks for AS metadata at every well-known URL in order
    Then every URL of the discovery chain is https, or http on a loopback host

  @SEC-02 @should
  Scenario Outline: SEC-02 A redirect URI that is neither localhost nor https is not registered (<case>)
    Given the authorization server offers dynamic client registration
    When the client registers a public client with redirect_uris set to "<redirect_uri>"
    Then the registration is refused: a redirect URI is localhost or https (SEC-02)

    Examples:
      | case                           | redirect_uri                         |
      | plain http, not local          | http://client.example/callback       |
      | http on a look-alike host      | http://127.0.0.1.client.example/cb   |
      | private-use scheme with a dot  | com.example.app:/callback            |

  # Every redirect of the authorization, the login and the consent, and every other answer.
  @SEC-04 @must
  Scenario: SEC-04 No token travels in a URL during a full flow
    Given a registered client
    When the client obtains tokens for the MCP server
    And the client lists tools with the access token
    Then no Location the client was sent carries an access_token or refresh_token (SEC-04)
