//! Checks of token endpoint answers (CODE-*, PKCE-02/06..09, REFRESH-*).

use super::{Findings, describe, oauth_refusal};
use crate::client::http::Response;
use crate::client::oauth::TokenSet;
use crate::verdict::Violation;

/// A successful token response: 200, JSON, `access_token` and `token_type`.
pub fn issued(id: &str, resp: &Response) -> Findings {
    match TokenSet::from_response(resp) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Violation::new(
            id,
            "200 with access_token and token_type",
            format!("{e}: {}", describe(resp)),
        )],
    }
}

/// CODE-01: as [`issued`], plus `token_type` Bearer (any case), `Cache-Control: no-store`, and
/// `expires_in` (recommended: a warning when missing).
pub fn code_01_bearer_no_store(resp: &Response) -> Findings {
    let mut out = issued("CODE-01", resp);
    if !out.is_empty() {
        return out;
    }
    if let Ok(t) = TokenSet::from_response(resp) {
        if !t.token_type.eq_ignore_ascii_case("bearer") {
            out.push(Violation::new(
                "CODE-01",
                "token_type Bearer",
                format!("token_type {:?}", t.token_type),
            ));
        }
        if t.expires_in.is_none() {
            out.push(
                Violation::new("CODE-01", "expires_in", "no expires_in")
                    .as_warning("expires_in is RECOMMENDED"),
            );
        }
    }
    let no_store = resp
        .header_all("cache-control")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
    if !no_store {
        out.push(Violation::new(
            "CODE-01",
            "Cache-Control: no-store",
            resp.header("cache-control")
                .map_or("no Cache-Control".into(), |v| format!("Cache-Control: {v}")),
        ));
    }
    out
}

/// A token request refused with one of the allowed codes (400; 401 for `invalid_client`).
pub fn refused_with(id: &str, resp: &Response, allowed: &[&str]) -> Findings {
    let statuses: &[u16] = if allowed.contains(&"invalid_client") {
        &[400, 401]
    } else {
        &[400]
    };
    oauth_refusal(id, resp, statuses, allowed)
}

/// The race checks: of many concurrent redemptions, exactly one succeeds and every other is
/// refused with `error`.
pub fn exactly_one_success(id: &str, responses: &[Response], error: &str) -> Findings {
    let successes = responses.iter().filter(|r| r.status.is_success()).count();
    let refused_right = responses
        .iter()
        .filter(|r| oauth_refusal(id, r, &[400], &[error]).is_empty())
        .count();
    let others = responses.len() - successes - refused_right;
    if successes == 1 && others == 0 {
        return Vec::new();
    }
    let mut statuses: Vec<String> = responses
        .iter()
        .map(|r| r.status.as_u16().to_string())
        .collect();
    statuses.sort();
    vec![Violation::new(
        id,
        format!(
            "exactly 1 success and {} refusals with {error}",
            responses.len() - 1
        ),
        format!(
            "{successes} successes, {refused_right} refusals with {error}, {others} other answers (statuses: {})",
            statuses.join(" ")
        ),
    )]
}

/// REFRESH-01: the refresh response carries a new refresh token.
pub fn refresh_01_rotated(old: &str, resp: &Response) -> Findings {
    match TokenSet::from_response(resp) {
        Err(e) => vec![Violation::new(
            "REFRESH-01",
            "a successful refresh",
            format!("{e}: {}", describe(resp)),
        )],
        Ok(t) => match t.refresh_token {
            None => vec![Violation::new(
                "REFRESH-01",
                "a new refresh_token",
                "no refresh_token in the response",
            )],
            Some(new) if new.expose() == old => {
                vec![Violation::new(
                    "REFRESH-01",
                    "a refresh_token different from the old one",
                    "the same refresh_token",
                )]
            }
            Some(_) => Vec::new(),
        },
    }
}

/// REFRESH-06: each refresh keeps the original scope. A response without `scope` means the
/// scope is unchanged (OAuth 2.1 §3.2.3).
pub fn refresh_06_scope_kept(original: &str, responses: &[Response]) -> Findings {
    let norm = |s: &str| {
        let mut v: Vec<&str> = s.split_whitespace().collect();
        v.sort_unstable();
        v.join(" ")
    };
    let mut out = Vec::new();
    for (i, r) in responses.iter().enumerate() {
        match TokenSet::from_response(r) {
            Err(e) => out.push(Violation::new(
                "REFRESH-06",
                "a successful refresh",
                format!("refresh {}: {e}", i + 1),
            )),
            Ok(t) => {
                if let Some(s) = t.scope
                    && norm(&s) != norm(original)
                {
                    out.push(Violation::new(
                        "REFRESH-06",
                        format!("scope {original:?}"),
                        format!("refresh {}: scope {s:?}", i + 1),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, response};
    use crate::requirements::Severity;

    const OK: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-2","scope":"b a"}"#;

    #[test]
    fn code_01_examples() {
        let good = response(
            200,
            &[
                ("content-type", "application/json"),
                ("cache-control", "no-store"),
            ],
            OK,
        );
        assert!(code_01_bearer_no_store(&good).is_empty());
        let cached = json(200, OK);
        assert_eq!(code_01_bearer_no_store(&cached).len(), 1);
        let no_exp = response(
            200,
            &[("cache-control", "no-store")],
            r#"{"access_token":"a","token_type":"bearer"}"#,
        );
        let f = code_01_bearer_no_store(&no_exp);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Should);
        assert_eq!(
            code_01_bearer_no_store(&json(400, r#"{"error":"invalid_grant"}"#)).len(),
            1
        );
    }

    #[test]
    fn race_examples() {
        let win = json(200, OK);
        let lose = json(400, r#"{"error":"invalid_grant"}"#);
        assert!(
            exactly_one_success(
                "CODE-02",
                &[win.clone(), lose.clone(), lose.clone()],
                "invalid_grant"
            )
            .is_empty()
        );
        assert_eq!(
            exactly_one_success(
                "CODE-02",
                &[win.clone(), win.clone(), lose.clone()],
                "invalid_grant"
            )
            .len(),
            1
        );
        assert_eq!(
            exactly_one_success("CODE-02", &[lose.clone(), lose.clone()], "invalid_grant").len(),
            1
        );
        let err = json(500, r#"{"error":"server_error"}"#);
        assert_eq!(
            exactly_one_success("CODE-02", &[win, err], "invalid_grant").len(),
            1
        );
    }

    #[test]
    fn refresh_examples() {
        let r = json(200, OK);
        assert!(refresh_01_rotated("rt-1", &r).is_empty());
        assert_eq!(refresh_01_rotated("rt-2", &r).len(), 1);
        assert_eq!(
            refresh_01_rotated(
                "rt-1",
                &json(200, r#"{"access_token":"a","token_type":"Bearer"}"#)
            )
            .len(),
            1
        );
        assert!(refresh_06_scope_kept("a b", std::slice::from_ref(&r)).is_empty());
        assert_eq!(refresh_06_scope_kept("a", &[r]).len(), 1);
        assert!(
            refresh_06_scope_kept(
                "a",
                &[json(200, r#"{"access_token":"a","token_type":"Bearer"}"#)]
            )
            .is_empty()
        );
    }
}
