Feature: Discovery: the 401 challenge, protected resource metadata and AS metadata
  The client follows MCP 2025-11-25 discovery: an MCP request without credentials, the
  WWW-Authenticate challenge, protected resource metadata (RFC 9728), then authorization
  server metadata (RFC 8414, OpenID Connect Discovery).

  @PRM-01 @must
  Scenario: PRM-01 An MCP request without credentials is refused with 401
    When the client sends the opening MCP request without credentials
    Then the response status is 401 (PRM-01)

  @PRM-02 @must
  Scenario: PRM-02 The 401 carries a Bearer challenge with parameters, none repeated
    When the client sends the opening MCP request without credentials
    Then the response has a Bearer challenge with at least one parameter and no repeated parameter

  @PRM-03 @must
  Scenario: PRM-03 The Bearer challenge names the PRM document in resource_metadata
    When the client sends the opening MCP request without credentials
    Then the Bearer challenge's resource_metadata is an absolute URL that serves PRM

  @PRM-04 @should
  Scenario: PRM-04 A challenge to a request without credentials carries no error code
    When the client sends the opening MCP request without credentials
    Then the Bearer challenge has no error parameter

  @PRM-05 @must
  Scenario: PRM-05 PRM is served at the path-inserted well-known URL
    When the client fetches PRM from the path-inserted well-known URL
    Then the well-known PRM document is served

  @PRM-07 @must
  Scenario: PRM-07 At least one route leads to the PRM document
    When the client looks for PRM by every route
    Then some route yields a PRM document

  @PRM-08 @must
  Scenario: PRM-08 PRM is a JSON object served as application/json
    When the client looks for PRM by every route
    Then the PRM response is 200 with an application/json object

  @PRM-09 @must
  Scenario: PRM-09 PRM resource is exactly the MCP server URL
    When the client looks for PRM by every route
    Then the PRM resource equals the MCP server URL exactly

  @PRM-10 @must
  Scenario: PRM-10 PRM lists at least one authorization server
    When the client looks for PRM by every route
    Then the PRM authorization_servers is a non-empty list of issuer URLs

  @ASM-01 @must
  Scenario: ASM-01 RFC 8414 metadata is served at the path-inserted URL
    When the client fetches RFC 8414 metadata for the issuer
    Then the RFC 8414 metadata document is served

  @ASM-02 @must
  Scenario: ASM-02 At least one AS metadata URL, tried in order, answers
    When the client looks for AS metadata at every well-known URL in order
    Then some AS metadata URL yields a document

  @ASM-03 @must
  Scenario: ASM-03 AS metadata is a JSON object served as application/json
    When the client looks for AS metadata at every well-known URL in order
    Then the AS metadata response is 200 with an application/json object

  @ASM-04 @must
  Scenario: ASM-04 The metadata issuer is exactly the issuer it was looked up for
    When the client looks for AS metadata at every well-known URL in order
    Then the metadata issuer equals the issuer identifier exactly

  @ASM-06 @must
  Scenario: ASM-06 The authorization and token endpoints are absolute URLs
    When the client looks for AS metadata at every well-known URL in order
    Then the authorization and token endpoints are absolute URLs without fragments

  @ASM-07 @must
  Scenario: ASM-07 response_types_supported includes code
    When the client looks for AS metadata at every well-known URL in order
    Then response_types_supported includes code and not token

  @ASM-08 @must
  Scenario: ASM-08 code_challenge_methods_supported includes S256
    When the client looks for AS metadata at every well-known URL in order
    Then code_challenge_methods_supported includes S256
