//! What a grant states (OAuth 2.1 §3.2.3): the granted scope when it differs from the request
//! (SCOPE-06), and a scope the AS cannot know, refused or dropped (SCOPE-08).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::checks::{Findings, describe};
use crate::client::http::Response;
use crate::client::login::AuthorizationOutcome;
use crate::client::tokens;
use crate::verdict::Violation;

/// The scope-tokens of a space-delimited `scope` value, as a set (OAuth 2.1 §1.4.1: the
/// order does not matter).
fn scope_set(scope: &str) -> BTreeSet<&str> {
    scope.split(' ').filter(|t| !t.is_empty()).collect()
}

/// What an access token says it grants: the `scope` claim of a JWT access token (RFC 9068
/// §2.2.3, a space-delimited string as in RFC 8693 §4.2). `None` for an opaque token or a JWT
/// without the claim: then only the token response can say what was granted.
fn token_scope_claim(body: &serde_json::Map<String, Value>) -> Option<String> {
    let token = body.get("access_token")?.as_str()?;
    let claims = tokens::unverified_claims(token)?;
    claims.get("scope")?.as_str().map(str::to_owned)
}

/// Why SCOPE-06 has nothing to judge: a successful token response without `scope` whose access
/// token shows no scope claim (opaque, or a JWT without it). Leaving `scope` out is allowed
/// when the grant is the request, and nothing the harness can read shows the grant, so a pass
/// would rest on no observation. `None` when there is something to judge.
pub fn scope_06_unobservable(resp: &Response) -> Option<String> {
    let body = resp
        .json_object()
        .ok()
        .filter(|_| resp.status.is_success())?;
    if body.contains_key("scope") || token_scope_claim(&body).is_some() {
        return None;
    }
    Some(
        "the token response leaves out scope (allowed when the grant is the request, RFC 6749 §5.1) and the access token shows no scope claim (opaque): nothing shows what was granted".into(),
    )
}

/// SCOPE-06 (OAuth 2.1 §3.2.3: `scope` is OPTIONAL if identical to the scope requested,
/// otherwise REQUIRED): a successful token response for a request with `requested` either
/// states its scope as a string, or leaves it out because the grant is the request. The
/// harness sees the grant only where the access token is a JWT with a `scope` claim: a claim
/// that differs from the request while the response says nothing is the violation.
pub fn scope_06_granted_scope_stated(requested: Option<&str>, resp: &Response) -> Findings {
    let id = req::SCOPE_06;
    let body = match resp.json_object() {
        Ok(b) if resp.status.is_success() => b,
        _ => {
            return vec![Violation::new(
                id,
                "a successful token response",
                describe(resp),
            )];
        }
    };
    match body.get("scope") {
        Some(Value::String(_)) => return Vec::new(),
        Some(other) => {
            return vec![Violation::new(
                id,
                "scope as a space-delimited string",
                format!("scope = {other}"),
            )];
        }
        None => {}
    }
    let (Some(requested), Some(granted)) = (requested, token_scope_claim(&body)) else {
        return Vec::new();
    };
    if scope_set(&granted) == scope_set(requested) {
        return Vec::new();
    }
    vec![Violation::new(
        id,
        format!(
            "scope in the token response: the access token grants {granted:?}, not the {requested:?} requested"
        ),
        "no scope in the token response, which says the request was granted as it stood",
    )]
}

/// SCOPE-08 (OAuth 2.1 §4.1.2.1: a request for an unknown scope that the AS refuses gets
/// `invalid_scope`, sent to the redirect URI with `state`): an error redirect carries
/// `error=invalid_scope` and the request's `state`, byte-exact. A code says the AS did not
/// refuse: whether it dropped the scope is the token response's question
/// ([`super::token::scope_08_dropped`]). A page refuses, but not as §4.1.2.1 asks for a valid
/// client and redirect URI: a warning.
pub fn scope_08_refused(outcome: &AuthorizationOutcome, sent_state: &str) -> Findings {
    const ID: req::Id = req::SCOPE_08;
    let expected = format!("a redirect with error=invalid_scope and state {sent_state:?}");
    match outcome {
        AuthorizationOutcome::Page { .. } => {
            vec![Violation::new(ID, expected, outcome.describe()).as_warning(
                "the request was refused, but with a page instead of an error redirect",
            )]
        }
        AuthorizationOutcome::Redirect { .. } if outcome.code().is_some() => Vec::new(),
        AuthorizationOutcome::Redirect { .. } => {
            let mut out = Vec::new();
            match outcome.error() {
                Some("invalid_scope") => {}
                Some(e) => out.push(Violation::new(ID, expected.clone(), format!("error={e}"))),
                None => out.push(Violation::new(
                    ID,
                    expected.clone(),
                    "a redirect with neither code nor error",
                )),
            }
            match outcome.param("state") {
                Some(s) if s == sent_state => {}
                Some(s) => out.push(Violation::new(ID, expected, format!("state {s:?}"))),
                None => out.push(Violation::new(
                    ID,
                    expected,
                    "no state in the error redirect",
                )),
            }
            out
        }
    }
}

/// SCOPE-08 when the AS did not refuse the made-up scope `unknown` (OAuth 2.1 §4.1.2.1,
/// §3.2.3): the code is redeemed, and the grant leaves `unknown` out and says so. A grant that
/// states it, or by leaving `scope` out implies it, neither refused nor dropped it: graded as
/// a warning, since an AS may define scopes as it likes. A grant that drops it silently (the
/// JWT's `scope` claim lacks it, the response says nothing) is the violation.
pub fn scope_08_dropped(requested: &str, unknown: &str, resp: &Response) -> Findings {
    const ID: req::Id = req::SCOPE_08;
    let expected = format!("tokens whose stated scope leaves out {unknown:?}");
    let body = match resp.json_object() {
        Ok(b) if resp.status.is_success() => b,
        _ => {
            return vec![Violation::new(
                ID,
                format!("error=invalid_scope at the authorization endpoint, or {expected}"),
                format!("a code, then at the token endpoint {}", describe(resp)),
            )];
        }
    };
    let granted_anyway = |how: String| {
        vec![
            Violation::new(ID, expected.clone(), how).as_warning(
                "the AS granted a scope the harness made up: it may accept any scope string, but it neither refused the scope nor dropped it",
            ),
        ]
    };
    match body.get("scope").and_then(Value::as_str) {
        Some(stated) if scope_set(stated).contains(unknown) => {
            granted_anyway(format!("scope {stated:?} in the token response"))
        }
        Some(_) => Vec::new(),
        None => match token_scope_claim(&body) {
            Some(claim) if !scope_set(&claim).contains(unknown) => vec![Violation::new(
                ID,
                expected,
                format!(
                    "no scope in the token response (so {requested:?} as requested), but the access token grants {claim:?}: the scope was dropped silently"
                ),
            )],
            _ => granted_anyway(format!(
                "no scope in the token response: {requested:?} granted as requested"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, page, redirect};
    use crate::requirements::Severity;

    /// A token response whose access token is a JWT with `scope` claim `claim` (or none), and
    /// whose `scope` member is `stated` (or absent).
    fn token_response(claim: Option<&str>, stated: Option<&str>) -> Response {
        use base64::Engine;
        let payload = match claim {
            Some(c) => serde_json::json!({"sub": "alice", "scope": c}),
            None => serde_json::json!({"sub": "alice"}),
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let at = format!(
            "{}.{}.c2ln",
            b64.encode(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            b64.encode(payload.to_string())
        );
        let mut body = serde_json::json!({"access_token": at, "token_type": "Bearer"});
        if let Some(s) = stated {
            body["scope"] = serde_json::json!(s);
        }
        json(200, &body.to_string())
    }

    #[test]
    fn scope_06_examples() {
        let requested = Some("mcp:read mcp:write");
        // Stated, whatever it says.
        let stated = token_response(Some("mcp:read"), Some("mcp:read"));
        assert!(scope_06_granted_scope_stated(requested, &stated).is_empty());
        // Left out, and the token grants what was asked (in another order).
        let same = token_response(Some("mcp:write mcp:read"), None);
        assert!(scope_06_granted_scope_stated(requested, &same).is_empty());
        // Left out, and nothing shows the grant: the response's word stands, but the step
        // skips, since no observation backs a pass.
        let opaque = json(200, r#"{"access_token":"opaque","token_type":"Bearer"}"#);
        assert!(scope_06_granted_scope_stated(requested, &opaque).is_empty());
        assert!(scope_06_unobservable(&opaque).is_some());
        assert!(scope_06_unobservable(&same).is_none());
        assert!(scope_06_unobservable(&stated).is_none());
        // Left out while the token grants less: the violation.
        let narrowed = token_response(Some("mcp:read"), None);
        let f = scope_06_granted_scope_stated(requested, &narrowed);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Must);
        assert!(f[0].expected.contains("\"mcp:read\""));
        let not_a_string = json(
            200,
            r#"{"access_token":"a","token_type":"Bearer","scope":["a"]}"#,
        );
        assert_eq!(
            scope_06_granted_scope_stated(requested, &not_a_string).len(),
            1
        );
    }

    #[test]
    fn scope_08_refused_examples() {
        let refused = redirect(&[
            ("error", "invalid_scope"),
            ("state", "s1"),
            ("iss", "https://as"),
        ]);
        assert!(scope_08_refused(&refused, "s1").is_empty());
        // A code: the AS went on; the token response says the rest.
        assert!(scope_08_refused(&redirect(&[("code", "c"), ("state", "s1")]), "s1").is_empty());
        let wrong_code = redirect(&[("error", "invalid_request"), ("state", "s1")]);
        let f = scope_08_refused(&wrong_code, "s1");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].actual, "error=invalid_request");
        let no_state = redirect(&[("error", "invalid_scope")]);
        assert_eq!(
            scope_08_refused(&no_state, "s1")[0].actual,
            "no state in the error redirect"
        );
        assert_eq!(
            scope_08_refused(&page(), "s1")[0].severity(),
            Severity::Should
        );
    }

    #[test]
    fn scope_08_dropped_examples() {
        let requested = "mcp:read harness-nonexistent";
        let unknown = "harness-nonexistent";
        let dropped = token_response(Some("mcp:read"), Some("mcp:read"));
        assert!(scope_08_dropped(requested, unknown, &dropped).is_empty());
        let silently = token_response(Some("mcp:read"), None);
        let f = scope_08_dropped(requested, unknown, &silently);
        assert_eq!(f[0].severity(), Severity::Must);
        assert!(f[0].actual.contains("dropped silently"));
        let granted = token_response(None, Some(requested));
        assert_eq!(
            scope_08_dropped(requested, unknown, &granted)[0].severity(),
            Severity::Should
        );
        let implied = json(200, r#"{"access_token":"opaque","token_type":"Bearer"}"#);
        assert_eq!(
            scope_08_dropped(requested, unknown, &implied)[0].severity(),
            Severity::Should
        );
        let refused = json(400, r#"{"error":"invalid_scope"}"#);
        assert_eq!(
            scope_08_dropped(requested, unknown, &refused)[0].severity(),
            Severity::Must
        );
    }
}
