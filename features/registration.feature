Feature: Dynamic client registration (RFC 7591)
  The client registers public clients with `token_endpoint_auth_method: none` and loopback
  redirect URIs, and sends malformed registrations by named tampering.

  Background:
    Given the authorization server offers dynamic client registration

  @DCR-01 @must
  Scenario: DCR-01 Registering a public client yields 201 with a JSON body
    When the client registers a public client
    Then the registration response is 201 with a JSON object (DCR-01)

  @DCR-02 @must
  Scenario: DCR-02 The registration response holds client_id and the registered metadata
    When the client registers a public client
    Then the registration response holds a client_id and echoes the registered metadata

  @DCR-05 @must
  Scenario: DCR-05 A registration error is 400 with a JSON error body
    When the client registers a public client with redirect_uris set to "not a uri"
    Then the registration is refused with 400 and a JSON error

  @DCR-06 @must
  Scenario Outline: DCR-06 A bad redirect URI is refused with invalid_redirect_uri (<case>)
    When the client registers a public client with redirect_uris set to "<redirect_uri>"
    Then the registration is refused with "invalid_redirect_uri" (DCR-06)

    Examples:
      | case                  | redirect_uri            |
      | plain http, not local | http://evil.example/cb  |
      | fragment              | https://c.example/cb#f  |
      | relative              | /cb                     |
      | not a URI             | not a uri               |

  @DCR-07 @must
  Scenario: DCR-07 A code-flow client without redirect URIs is refused
    When the client registers a public client without redirect_uris
    Then the registration is refused with "invalid_redirect_uri" or "invalid_client_metadata" (DCR-07)

  @DCR-09 @must
  Scenario: DCR-09 Unknown metadata members are ignored
    When the client registers a public client with an unknown member "x_harness_unknown"
    Then the registration response is 201 with a JSON object (DCR-09)

  @DCR-11 @should
  Scenario Outline: DCR-11 A loopback redirect URI is accepted (<host>)
    When the client registers a public client with redirect_uris set to "http://<host>:49152/callback"
    Then the registration response is 201 with a JSON object (DCR-11)

    Examples:
      | host      |
      | 127.0.0.1 |
      | [::1]     |
      | localhost |
