Feature: Transport security (OAuth 2.1 §1.5, MCP security considerations)
  Every URL the client is sent to during discovery is https. Plain http is accepted on loopback
  hosts only: the development exception, under which the embedded reference server runs.

  @SEC-01 @must
  Scenario: SEC-01 The MCP server, PRM, the metadata and every AS endpoint are https
    When the client looks for AS metadata at every well-known URL in order
    Then every URL of the discovery chain is https, or http on a loopback host
