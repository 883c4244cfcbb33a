//! Checks of client ID metadata documents (draft-ietf-oauth-client-id-metadata-document-00;
//! MCP 2025-11-25 §5.1.1): the AS fetches the document (CIMD-01), uses it only when it is valid
//! and names itself (CIMD-02, 04, 07, 08), enforces its redirect URIs (CIMD-03), aborts when the
//! fetch fails (CIMD-05, 10, 11) and does not cache failures (CIMD-06).

use url::Url;

use super::Findings;
use super::authorization::redirects_to;
use crate::client::login::AuthorizationOutcome;
use crate::verdict::Violation;

/// Judged by [`document_refused`]: the authorization is refused without a redirect.
pub const JUDGED_BY_DOCUMENT_REFUSAL: &[req::Id] = &[
    req::CIMD_02, // a document whose client_id differs from its URL (CIMD §4.1)
    req::CIMD_04, // a document that is not a JSON object with the required members (CIMD §4.1)
    req::CIMD_05, // a document URL that answers 404 or 500 (CIMD §4.3)
    req::CIMD_07, // a client_id URL that breaks the URL rules (CIMD §3)
    req::CIMD_08, // a document holding a shared secret (CIMD §4.1)
    req::CIMD_10, // a document URL that redirects (CIMD §6.5)
    req::CIMD_11, // an oversized document (CIMD §6.6)
];

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::CIMD_09, // a private_key_jwt document client without client authentication (CIMD §6.2)
    req::CIMD_13, // a code redeemed by another document client: invalid_grant (O21 §4.1.3)
];

/// CIMD-01: the AS fetched the document named by the `client_id` (CIMD §4: SHOULD fetch).
/// `fetches` counts the GETs the harness's document server saw for that URL.
pub fn cimd_01_document_fetched(fetches: usize, url: &str) -> Findings {
    if fetches > 0 {
        return Vec::new();
    }
    vec![Violation::new(
        req::CIMD_01,
        format!("a GET of the client ID metadata document {url}"),
        "the document was never fetched",
    )]
}

/// What a redirect carried, in the words of a failure message (never the code itself).
fn carried(outcome: &AuthorizationOutcome) -> String {
    match (outcome.code(), outcome.error()) {
        (Some(_), _) => "a code".into(),
        (None, Some(e)) => format!("error={e}"),
        (None, None) => "neither code nor error".into(),
    }
}

/// CIMD-02, 04, 05, 07, 08, 10, 11: an authorization request whose client_id names a document
/// that cannot be used (it does not name itself, is not a valid JSON object with the required
/// members, could not be fetched, breaks the URL rules, or holds a secret) is refused: no code,
/// and no redirect to a redirect URI that no valid document vouches for (OAuth 2.1 §4.1.2.1:
/// an invalid client is never redirected to; MCP 2025-11-25 §5.1.1 shows an error to the user).
/// `outcome` must come from a driver that stopped only at the redirect URI the request named.
pub fn document_refused(id: req::Id, outcome: &AuthorizationOutcome) -> Findings {
    let expected =
        "the authorization refused with an error shown to the user: no code, no redirect";
    match outcome {
        AuthorizationOutcome::Page { .. } => Vec::new(),
        AuthorizationOutcome::Redirect { .. } => vec![Violation::new(
            id,
            expected,
            format!("{} carrying {}", outcome.describe(), carried(outcome)),
        )],
    }
}

/// CIMD-03: a `redirect_uri` the document does not list is never redirected to, with a code or
/// an error (CIMD §4.5, OAuth 2.1 §4.1.1: exact match against the registered URIs); a code
/// delivered anywhere means the request was accepted.
pub fn cimd_03_unlisted_refused(outcome: &AuthorizationOutcome, unlisted: &Url) -> Findings {
    let expected = format!("no redirect to the unlisted {unlisted}, and no code");
    match outcome {
        AuthorizationOutcome::Redirect { location, .. } if redirects_to(location, unlisted) => {
            vec![Violation::new(
                req::CIMD_03,
                expected,
                format!("{} carrying {}", outcome.describe(), carried(outcome)),
            )]
        }
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => {
            vec![Violation::new(
                req::CIMD_03,
                expected,
                format!("{} carrying a code", outcome.describe()),
            )]
        }
        AuthorizationOutcome::Redirect { .. } | AuthorizationOutcome::Page { .. } => Vec::new(),
    }
}

/// CIMD-06: after a failed fetch, the same URL now serving a valid document is fetched again
/// and the authorization proceeds to a code (CIMD §4.4: errors and invalid documents are never
/// cached). `fetches` counts the GETs of the URL over both attempts.
pub fn cimd_06_fetched_again(outcome: &AuthorizationOutcome, fetches: usize) -> Findings {
    if outcome.code().is_some() {
        return Vec::new();
    }
    let got = match outcome {
        AuthorizationOutcome::Redirect { .. } => {
            format!("{} carrying {}", outcome.describe(), carried(outcome))
        }
        AuthorizationOutcome::Page { .. } => outcome.describe(),
    };
    vec![Violation::new(
        req::CIMD_06,
        "the fixed document fetched again and a code issued",
        format!("{got}; the URL was fetched {fetches} time(s) over both attempts"),
    )]
}

/// CIMD-01: a valid request of a client whose metadata document the harness serves yields a
/// code: the AS took the document up (the S256 flow itself is PKCE-02's, shown with a
/// registered client).
pub fn cimd_01_code_issued(outcome: &AuthorizationOutcome) -> Findings {
    super::pkce::code_issued(
        req::CIMD_01,
        "an authorization code for a client whose valid metadata document the harness serves",
        outcome,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(to: &str) -> AuthorizationOutcome {
        let location = Url::parse(to).expect("url");
        let params = location.query_pairs().into_owned().collect();
        AuthorizationOutcome::Redirect { location, params }
    }

    fn page() -> AuthorizationOutcome {
        AuthorizationOutcome::Page {
            url: Url::parse("https://as.example/authorize").expect("url"),
            status: 400,
            reason: "an error status".into(),
        }
    }

    #[test]
    fn a_fetch_passes_cimd_01_and_none_warns() {
        assert!(cimd_01_document_fetched(1, "https://c.example/d.json").is_empty());
        let f = cimd_01_document_fetched(0, "https://c.example/d.json");
        assert_eq!(f[0].requirement, req::CIMD_01);
    }

    #[test]
    fn an_unusable_document_must_end_at_a_page() {
        assert!(document_refused(req::CIMD_02, &page()).is_empty());
        let code = document_refused(req::CIMD_02, &redirect("http://127.0.0.1:1/cb?code=abc"));
        assert_eq!(code.len(), 1);
        assert!(code[0].actual.contains("a code") && !code[0].actual.contains("abc"));
        let err = document_refused(
            req::CIMD_04,
            &redirect("http://127.0.0.1:1/cb?error=invalid_client"),
        );
        assert!(err[0].actual.contains("error=invalid_client"));
    }

    #[test]
    fn an_unlisted_redirect_uri_is_never_redirected_to() {
        let unlisted = Url::parse("http://127.0.0.1:1/cb/unlisted").expect("url");
        assert!(cimd_03_unlisted_refused(&page(), &unlisted).is_empty());
        let to_listed = redirect("http://127.0.0.1:1/cb?error=invalid_request");
        assert!(cimd_03_unlisted_refused(&to_listed, &unlisted).is_empty());
        let err = redirect("http://127.0.0.1:1/cb/unlisted?error=invalid_request");
        assert_eq!(cimd_03_unlisted_refused(&err, &unlisted).len(), 1);
        let code = redirect("http://127.0.0.1:1/cb?code=x");
        assert_eq!(cimd_03_unlisted_refused(&code, &unlisted).len(), 1);
    }

    #[test]
    fn a_fixed_document_must_lead_to_a_code() {
        assert!(cimd_06_fetched_again(&redirect("http://127.0.0.1:1/cb?code=x"), 2).is_empty());
        let f = cimd_06_fetched_again(&page(), 1);
        assert_eq!(f[0].requirement, req::CIMD_06);
        assert!(f[0].actual.contains("fetched 1 time"));
    }
}
