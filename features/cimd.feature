Feature: Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25 §5.1.1)
  The client_id is the URL of a JSON document describing the client. The harness serves its own
  documents, valid or broken on purpose, on a loopback port; the AS must fetch them, use only
  valid ones that name themselves, enforce their redirect URIs, and never cache a failure.

  Background:
    Given the authorization server accepts client ID metadata documents the harness serves

  @CIMD-01 @should
  Scenario: CIMD-01 The AS fetches the document a URL client_id names
    When the client requests authorization with the URL of a valid metadata document as client_id
    Then the AS fetched the metadata document (CIMD-01)

  @CIMD-02 @must
  Scenario Outline: CIMD-02 A document whose client_id differs from its URL is refused (<variant>)
    When the client requests authorization with a metadata document whose client_id has <variant>
    Then the authorization is refused without a redirect

    Examples:
      | variant                      |
      | a trailing slash             |
      | a changed path case          |
      | localhost for the IP literal |

  @CIMD-03 @must
  Scenario: CIMD-03 A redirect_uri the document does not list is refused
    When the client requests authorization with a redirect_uri its metadata document does not list
    Then the authorization is not redirected to the unlisted redirect_uri (CIMD-03)

  @CIMD-04 @must
  Scenario Outline: CIMD-04 A document that is not valid JSON with the required members is refused (<case>)
    When the client requests authorization with a metadata document that is <case>
    Then the authorization is refused without a redirect

    Examples:
      | case                              |
      | JSON followed by trailing text    |
      | a JSON array holding the document |
      | redirect_uris as a single string  |
      | no client_id                      |

  @CIMD-05 @should
  Scenario Outline: CIMD-05 A failed fetch aborts the authorization (<status>)
    When the client requests authorization with a metadata document that is <status>
    Then the authorization is refused without a redirect

    Examples:
      | status |
      | 404    |
      | 500    |

  @CIMD-06 @should
  Scenario: CIMD-06 A failed fetch is not cached: the fixed document is fetched again
    When the client requests authorization while the metadata document URL answers 500
    And the metadata document is fixed and the client requests authorization again
    Then the fixed document is fetched again and a code is issued (CIMD-06)

  # The harness serves over loopback http, which the AS must allow for the test; the https rule
  # itself cannot be shown failing here.
  @CIMD-07 @should
  Scenario Outline: CIMD-07 A client_id URL that breaks the URL rules is refused (<case>)
    When the client requests authorization with a client_id URL that has <case>
    Then the authorization is refused without a redirect

    Examples:
      | case          |
      | no path       |
      | userinfo      |
      | a dot segment |
      | a fragment    |

  @CIMD-08 @should
  Scenario Outline: CIMD-08 A document with a shared secret is refused (<case>)
    When the client requests authorization with a metadata document that is <case>
    Then the authorization is refused without a redirect

    Examples:
      | case                                           |
      | token_endpoint_auth_method client_secret_basic |
      | client_secret and client_secret_expires_at     |

  @CIMD-09 @must
  Scenario: CIMD-09 A private_key_jwt document client must authenticate at the token endpoint
    When the client obtains an authorization code as a private_key_jwt metadata document client
    And the client redeems the code without client authentication
    Then the token request is refused with "invalid_client"

  @CIMD-10 @should
  Scenario: CIMD-10 A redirect from the document URL is not followed
    When the client requests authorization with a metadata document that is a 302 redirect to a valid document
    Then the authorization is refused without a redirect

  @CIMD-11 @should
  Scenario: CIMD-11 An oversized document is refused
    When the client requests authorization with a metadata document that is a valid document padded to 2 MB
    Then the authorization is refused without a redirect

  @CIMD-13 @must
  Scenario: CIMD-13 A code issued to a document client is bound to its URL client_id
    When the client obtains an authorization code as a metadata document client
    And another metadata document client redeems the code
    Then the token request is refused with "invalid_grant"
