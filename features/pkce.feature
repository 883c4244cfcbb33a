Feature: PKCE (RFC 7636, OAuth 2.1 §4.1)
  Authorization requests and code redemptions with S256, and with the challenge or verifier
  left out or broken on purpose.

  Background:
    Given a registered client

  @PKCE-01 @must
  Scenario: PKCE-01 An authorization request without code_challenge is refused
    When the client requests authorization with code_challenge and code_challenge_method omitted
    Then the authorization is refused with "invalid_request" and no code

  @PKCE-02 @must
  Scenario: PKCE-02 S256 works end to end
    When the client obtains an authorization code
    And the client redeems the code
    Then the token response is 200 with an access token

  @PKCE-03 @must
  Scenario Outline: PKCE-03 An unsupported code_challenge_method is refused (<method>)
    When the client requests authorization with code_challenge_method set to "<method>"
    Then the authorization is refused with "invalid_request" and no code

    Examples:
      | method |
      | S512   |
      | s256   |
      | none   |

  @PKCE-06 @must
  Scenario: PKCE-06 A wrong code_verifier gets invalid_grant and no tokens
    When the client obtains an authorization code
    And the client redeems the code with code_verifier set to a different valid verifier
    Then the token request is refused with "invalid_grant"

  @PKCE-07 @must
  Scenario: PKCE-07 A redemption without code_verifier is refused
    When the client obtains an authorization code
    And the client redeems the code with code_verifier omitted
    Then the token request is refused with "invalid_request" or "invalid_grant"

  # The challenge is made from the malformed verifier, so only the grammar check can refuse it.
  @PKCE-08 @should
  Scenario Outline: PKCE-08 A code_verifier that breaks the grammar is refused (<case>)
    When the client obtains an authorization code for a code_verifier of <case>
    And the client redeems the code
    Then the token request is refused with "invalid_request" or "invalid_grant"

    Examples:
      | case                        |
      | 42 characters               |
      | 129 characters              |
      | 43 characters including "!" |

  @PKCE-09 @must
  Scenario: PKCE-09 Sending the S256 challenge as the verifier is refused
    When the client obtains an authorization code
    And the client redeems the code with code_verifier set to the code_challenge
    Then the token request is refused with "invalid_grant"

  @PKCE-04 @should
  Scenario: PKCE-04 code_challenge_method plain is refused when it is not advertised
    Given the authorization server does not advertise plain
    When the client requests authorization with code_challenge_method set to "plain"
    Then the authorization is refused with "invalid_request" and no code

  # Without a method the challenge is plain (RFC 7636 §4.3).
  @PKCE-04 @should
  Scenario: PKCE-04 A missing code_challenge_method (plain) is refused when plain is not advertised
    Given the authorization server does not advertise plain
    When the client requests authorization with code_challenge_method omitted
    Then the authorization is refused with "invalid_request" and no code

  @PKCE-05 @should
  Scenario Outline: PKCE-05 A malformed code_challenge is refused (<case>)
    When the client requests authorization with a code_challenge of <case>
    Then the authorization is refused with "invalid_request" and no code

    Examples:
      | case                        |
      | 42 characters               |
      | 129 characters              |
      | 43 characters including "+" |
      | 43 characters including "/" |
      | 43 characters including "=" |

  # Applies only when the AS issues a code without a challenge; otherwise skipped.
  @PKCE-10 @must
  Scenario: PKCE-10 A code issued without a challenge cannot be redeemed with a code_verifier
    When the client requests authorization with code_challenge and code_challenge_method omitted
    And the client redeems the code issued without a challenge with a code_verifier
    Then the token request is refused with "invalid_request"

  @PKCE-11 @should
  Scenario: PKCE-11 A code_challenge_method the AS accepts is advertised (plain)
    When the client requests authorization with code_challenge_method plain and the verifier as code_challenge
    Then the authorization is refused, or plain is advertised (PKCE-11)
