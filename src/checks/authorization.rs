//! Checks of the authorization endpoint's answer (PKCE-01, PKCE-03, RES-03).

use super::Findings;
use crate::client::login::AuthorizationOutcome;
use crate::verdict::Violation;

/// Refused with `error` and the request's `state`, and no code. An error page (no redirect)
/// also refuses, but not in the way OAuth 2.1 §4.1.2.1 asks for a valid client and redirect
/// URI: graded as a warning.
pub fn refused_with(
    id: &str,
    outcome: &AuthorizationOutcome,
    error: &str,
    state: &str,
) -> Findings {
    let expected = format!("a redirect with error={error} and the request's state, and no code");
    match outcome {
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => {
            vec![Violation::new(id, expected, "a code was issued")]
        }
        AuthorizationOutcome::Redirect { .. } => {
            let mut out = Vec::new();
            match outcome.error() {
                Some(e) if e == error => {}
                Some(e) => out.push(Violation::new(id, expected.clone(), format!("error={e}"))),
                None => out.push(Violation::new(
                    id,
                    expected.clone(),
                    "a redirect with neither code nor error",
                )),
            }
            if out.is_empty() && outcome.param("state") != Some(state) {
                out.push(Violation::new(
                    id,
                    "the request's state on the error redirect",
                    format!("state={:?}", outcome.param("state")),
                ));
            }
            out
        }
        AuthorizationOutcome::Page { .. } => {
            vec![Violation::new(id, expected, outcome.describe()).as_warning(
                "the request was refused, but with a page instead of an error redirect",
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::Severity;
    use url::Url;

    fn redirect(params: &[(&str, &str)]) -> AuthorizationOutcome {
        AuthorizationOutcome::Redirect {
            location: Url::parse("http://127.0.0.1:1/cb").expect("url"),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn refusal_examples() {
        let ok = redirect(&[("error", "invalid_request"), ("state", "s1")]);
        assert!(refused_with("PKCE-01", &ok, "invalid_request", "s1").is_empty());
        let code = redirect(&[("code", "abc"), ("state", "s1")]);
        assert_eq!(
            refused_with("PKCE-01", &code, "invalid_request", "s1")[0].actual,
            "a code was issued"
        );
        let wrong = redirect(&[("error", "server_error"), ("state", "s1")]);
        assert_eq!(
            refused_with("PKCE-01", &wrong, "invalid_request", "s1").len(),
            1
        );
        let no_state = redirect(&[("error", "invalid_request")]);
        assert_eq!(
            refused_with("PKCE-01", &no_state, "invalid_request", "s1").len(),
            1
        );
        let page = AuthorizationOutcome::Page {
            url: Url::parse("https://as/authorize").expect("url"),
            status: 400,
            reason: "an error status".into(),
        };
        assert_eq!(
            refused_with("PKCE-01", &page, "invalid_request", "s1")[0].severity(),
            Severity::Should
        );
    }
}
