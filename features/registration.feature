Feature: Dynamic client registration (RFC 7591)
  The client registers public clients with `token_endpoint_auth_method: none` and loopback
  redirect URIs, and sends malformed registrations by named tampering.

  Background:
    Given the authorization server offers dynamic client registration

  @DCR-01 @must
  Scenario: DCR-01 Registering a public client yields 201 with a JSON body
    When the client registers a public client
    Then the registration response is 201 with a JSON object

  @DCR-02 @must
  Scenario: DCR-02 The registration response holds client_id and the registered metadata
    When the client registers a public client
    Then the registration response holds a client_id and echoes the registered metadata

  @DCR-05 @must
  Scenario: DCR-05 A registration error is 400 with a JSON error body
    When the client registers a public client with redirect_uris set to "not a uri"
    Then the registration is refused with 400 and a JSON error

  @DCR-06 @should
  Scenario Outline: DCR-06 A bad redirect URI is refused with invalid_redirect_uri (<case>)
    When the client registers a public client with redirect_uris set to "<redirect_uri>"
    Then the registration is refused with "invalid_redirect_uri"

    Examples:
      | case                  | redirect_uri            |
      | plain http, not local | http://evil.example/cb  |
      | fragment              | https://c.example/cb#f  |
      | relative              | /cb                     |
      | not a URI             | not a uri               |

  @DCR-07 @must
  Scenario: DCR-07 A code-flow client without redirect URIs is refused
    When the client registers a public client without redirect_uris
    Then the registration is refused with "invalid_redirect_uri" or "invalid_client_metadata"

  @DCR-09 @must
  Scenario: DCR-09 Unknown metadata members are ignored
    When the client registers a public client with an unknown member "x_harness_unknown"
    Then the registration response is 201 with a JSON object

  @DCR-11 @should
  Scenario Outline: DCR-11 A loopback redirect URI is accepted (<host>)
    When the client registers a public client with redirect_uris set to "http://<host>:49152/callback"
    Then the registration response is 201 with a JSON object

    Examples:
      | host      |
      | 127.0.0.1 |
      | [::1]     |
      | localhost |

  @DCR-03 @must
  Scenario: DCR-03 A client_secret comes with client_secret_expires_at
    When the client registers a confidential client with client_secret_basic
    Then a client_secret in the response comes with client_secret_expires_at (DCR-03)

  @DCR-04 @should
  Scenario: DCR-04 A public client gets no client_secret
    When the client registers a public client
    Then the response holds no client_secret (DCR-04)

  @DCR-08 @should
  Scenario Outline: DCR-08 Invalid metadata is refused with invalid_client_metadata or replaced (<case>)
    When the client registers a public client with the metadata <members>
    Then the registration is refused with invalid_client_metadata, or the response shows a valid value for <members> (DCR-08)

    Examples:
      | case                                | members                                                                   |
      | redirect_uris as a string           | {"redirect_uris": "http://127.0.0.1:33418/callback"}                      |
      | unknown auth method                 | {"token_endpoint_auth_method": "foo"}                                     |
      | implicit response type              | {"response_types": ["token"]}                                             |
      | grant and response types disagree   | {"grant_types": ["authorization_code"], "response_types": []}             |
      | both jwks and jwks_uri              | {"jwks": {"keys": []}, "jwks_uri": "https://client.example/jwks.json"}     |

  @DCR-10 @should
  Scenario: DCR-10 A private-use scheme without a dot is refused
    When the client registers a public client with redirect_uris set to "myapp:/cb"
    Then the registration is refused with "invalid_redirect_uri"

  @DCR-13 @should
  Scenario: DCR-13 A registration response carrying a client_secret is not cached
    When the client registers a confidential client with client_secret_basic
    Then a response carrying a client_secret has Cache-Control: no-store (DCR-13)

  @DCR-14 @should
  Scenario: DCR-14 A freshly registered client is taken up by the authorization endpoint at once
    When the client registers a public client
    And the client just registered requests authorization at once
    Then the authorization endpoint takes up the new client (DCR-14)

  @DCR-15 @should
  Scenario: DCR-15 Registration without an initial access token is open, or refused as needing one
    When the client registers a public client
    Then the registration is open, or refused with 401 or invalid_token (DCR-15)

  @DCR-12 @must
  Scenario: DCR-12 The registration endpoint is https
    Then the registration endpoint is https (DCR-12)

  @DCR-16 @should
  Scenario: DCR-16 A native client with loopback redirect URIs is registered
    When the client registers a native public client with loopback redirect URIs
    Then the registration response is 201, application_type native if echoed (DCR-16)

  @DCR-17 @info
  Scenario: DCR-17 A web client with a localhost redirect URI: accepted or properly refused
    When the client registers a web public client with redirect_uris set to "http://localhost:49152/callback"
    Then the registration is recorded: accepted, or refused with invalid_redirect_uri or invalid_client_metadata (DCR-17)
