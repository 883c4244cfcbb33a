Feature: Discovery: the 401 challenge, protected resource metadata and AS metadata
  The client follows MCP 2025-11-25 discovery: an MCP request without credentials, the
  WWW-Authenticate challenge, protected resource metadata (RFC 9728), then authorization
  server metadata (RFC 8414, OpenID Connect Discovery).

  @PRM-01 @must
  Scenario: PRM-01 An MCP request without credentials is refused with 401
    When the client sends the opening MCP request without credentials
    Then the response status is 401

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

  @PRM-06 @should
  Scenario: PRM-06 A root PRM document, when served, describes the origin or the MCP server
    When the client fetches PRM from the root well-known URL
    Then a root PRM document, if served, names the origin or the MCP server URL as its resource

  @PRM-11 @should
  Scenario: PRM-11 PRM recommends a baseline of scopes without catch-all values
    When the client looks for PRM by every route
    Then the PRM scopes_supported is a non-empty list without catch-all scopes

  @PRM-12 @must
  Scenario: PRM-12 PRM leaves out members that have no value
    When the client looks for PRM by every route
    Then no PRM member other than bearer_methods_supported is empty

  @PRM-13 @must
  Scenario: PRM-13 PRM's optional members have their RFC 9728 types
    When the client looks for PRM by every route
    Then the PRM optional members have the types RFC 9728 gives them

  @PRM-14 @should
  Scenario: PRM-14 PRM offers the bearer token in the header, not the query
    When the client looks for PRM by every route
    Then the PRM bearer_methods_supported, if present, offers the header and not the query

  @PRM-16 @must
  Scenario: PRM-16 PRM signed_metadata, when present, is a JWS with an issuer
    When the client looks for PRM by every route
    Then the PRM signed_metadata, if present, is a JWS whose payload has iss and no signed_metadata

  @PRM-17 @should
  Scenario: PRM-17 The AS metadata's protected_resources, when present, lists the MCP server
    When the client looks for AS metadata at every well-known URL in order
    Then the AS metadata protected_resources, if present, lists the MCP server URL

  @SCOPE-01 @should
  Scenario: SCOPE-01 The 401 challenge names the scope the request needs
    When the client sends the opening MCP request without credentials
    Then the Bearer challenge carries a scope parameter in scope syntax

  @SCOPE-02 @info
  Scenario: SCOPE-02 A 401 challenge naming scopes PRM scopes_supported does not list is recorded
    When the client sends the opening MCP request without credentials
    Then a challenged scope that PRM scopes_supported does not list is recorded (SCOPE-02)

  @SCOPE-09 @should
  Scenario: SCOPE-09 The 401 challenge does not ask for offline_access
    When the client sends the opening MCP request without credentials
    Then the Bearer challenge's scope does not name offline_access (SCOPE-09)

  @ASM-05 @must
  Scenario: ASM-05 The issuer is an https URL without query or fragment
    When the client looks for AS metadata at every well-known URL in order
    Then the metadata issuer is an https URL without query or fragment

  @ASM-09 @must
  Scenario: ASM-09 OpenID Connect discovery metadata lists code_challenge_methods_supported
    When the client looks for AS metadata at every well-known URL in order
    Then the OpenID Connect metadata, if served, lists code_challenge_methods_supported

  @ASM-10 @should
  Scenario: ASM-10 registration_endpoint, when offered, is an absolute https URL
    When the client looks for AS metadata at every well-known URL in order
    Then registration_endpoint, if present, is an absolute https URL

  @ASM-11 @must
  Scenario: ASM-11 Client ID metadata document support is advertised as a boolean
    When the client looks for AS metadata at every well-known URL in order
    Then client_id_metadata_document_supported is the boolean true

  @ASM-12 @must
  Scenario: ASM-12 AS metadata leaves out members that have no value
    When the client looks for AS metadata at every well-known URL in order
    Then no AS metadata member is empty

  @ASM-13 @must
  Scenario: ASM-13 Every endpoint the AS metadata names is https
    When the client looks for AS metadata at every well-known URL in order
    Then every endpoint URL in the AS metadata is https

  @ASM-14 @should
  Scenario: ASM-14 grant_types_supported is explicit and lists no removed grant
    When the client looks for AS metadata at every well-known URL in order
    Then grant_types_supported is explicit, with authorization_code and without implicit or password

  @ASM-15 @should
  Scenario: ASM-15 token_endpoint_auth_methods_supported lists none for public clients
    When the client looks for AS metadata at every well-known URL in order
    Then token_endpoint_auth_methods_supported lists none when a public client was registered

  @ASM-16 @must
  Scenario: ASM-16 The iss-support flag says whether authorization responses carry iss
    Given a registered client
    When the client obtains an authorization code
    Then authorization_response_iss_parameter_supported matches whether the authorization response carried iss

  @ASM-17 @should
  Scenario: ASM-17 RFC 8414 and OpenID Connect metadata agree
    When the client looks for AS metadata at every well-known URL in order
    Then the RFC 8414 and OpenID Connect metadata, where both are served, agree on issuer and endpoints

  @ASM-18 @should
  Scenario: ASM-18 Every authorization server PRM lists resolves to its metadata
    When the client looks for PRM by every route
    Then every authorization server PRM lists resolves to metadata with its own issuer

  @PRM-18 @should
  Scenario: PRM-18 PRM scopes_supported does not list offline_access
    When the client looks for PRM by every route
    Then the PRM scopes_supported does not list offline_access (PRM-18)

  @ASM-19 @info
  Scenario: ASM-19 An AS offering dynamic client registration also offers client ID metadata documents
    When the client looks for AS metadata at every well-known URL in order
    Then a registration_endpoint, if offered, comes with client ID metadata document support (ASM-19)
