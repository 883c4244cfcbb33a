//! Authorization code redemption (OAuth 2.1 §4.1.3): a valid redemption (CODE-01), codes that
//! are single-use (CODE-02..04) and bound to their client and redirect URI (CODE-05..10).

use super::resource_server::{accepted, revoked_token_refused};
use super::token::{issued, refused_with};

use crate::checks::Findings;
use crate::client::http::Response;
use crate::client::mcp::McpResponse;
use crate::client::oauth::TokenSet;
use crate::verdict::Violation;

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::CODE_02, // a code redeemed a second time: invalid_grant (O21 §4.1.3)
    req::CODE_05, // a code redeemed by another client: invalid_grant (O21 §4.1.3, §3.2.4)
    req::CODE_06, // a redirect_uri that differs from the authorization request's (O21 §10.2)
    req::CODE_08, // a made-up code: invalid_grant (O21 §3.2.4)
    req::CODE_09, // a public client's redemption without client_id (O21 §4.1.3)
];

/// Judged by a successful token response ([`super::token::issued`]).
pub const JUDGED_BY_ISSUANCE: &[req::Id] = &[
    req::CODE_07, // a redemption without redirect_uri works (O21 §10.2, §4.1.3)
    req::CODE_10, // an unknown token request parameter is ignored (O21 §3.2)
];

/// Judged by the race check ([`super::token::exactly_one_success`]).
pub const JUDGED_BY_RACE: &[req::Id] = &[
    req::CODE_02, // concurrent redemptions of one code: one success (O21 §4.1.3)
];

/// CODE-01: as [`issued`], plus `token_type` Bearer (any case), `Cache-Control: no-store`, and
/// `expires_in` (recommended: a warning when missing).
pub fn code_01_bearer_no_store(resp: &Response) -> Findings {
    let mut out = issued(req::CODE_01, resp);
    if !out.is_empty() {
        return out;
    }
    if let Ok(t) = TokenSet::from_response(resp) {
        if !t.token_type.eq_ignore_ascii_case("bearer") {
            out.push(Violation::new(
                req::CODE_01,
                "token_type Bearer",
                format!("token_type {:?}", t.token_type),
            ));
        }
        if t.expires_in.is_none() {
            out.push(
                Violation::new(req::CODE_01, "expires_in", "no expires_in")
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
            req::CODE_01,
            "Cache-Control: no-store",
            resp.header("cache-control")
                .map_or("no Cache-Control".into(), |v| format!("Cache-Control: {v}")),
        ));
    }
    out
}

/// CODE-03: after a replay, the access token of the first redemption is refused (401).
pub fn code_03_first_access_token_refused(resp: &McpResponse, token: &str) -> Findings {
    revoked_token_refused(req::CODE_03, resp, token)
}

/// CODE-03: after a replay, the refresh token of the first redemption is refused with
/// invalid_grant.
pub fn code_03_first_refresh_token_refused(resp: &Response) -> Findings {
    refused_with(req::CODE_03, resp, &["invalid_grant"])
}

/// CODE-03: after a replay, introspection (RFC 7662 §2.2) says the first redemption's access
/// token is no longer active. `None` when the answer is not an introspection response (RFC
/// 7662 §2.1 lets the AS choose who may ask): nothing was observed.
pub fn code_03_introspected_inactive(resp: &Response) -> Option<Findings> {
    introspected_inactive(
        req::CODE_03,
        "the first redemption's access token after the replay",
        resp,
    )
}

/// `id`: introspection (RFC 7662 §2.2) answers `active: false` for `token` (what it is, for
/// the message). `None` when the answer is not an introspection response (RFC 7662 §2.1 lets
/// the AS choose who may ask): nothing was observed.
pub fn introspected_inactive(id: req::Id, token: &str, resp: &Response) -> Option<Findings> {
    if !resp.status.is_success() {
        return None;
    }
    let active = resp.json_object().ok()?.get("active")?.as_bool()?;
    Some(if active {
        vec![Violation::new(
            id,
            format!("introspection answers active: false for {token}"),
            "active: true",
        )]
    } else {
        Vec::new()
    })
}

/// CODE-04: a replay with a wrong verifier revokes nothing: the first redemption's access
/// token is still accepted.
pub fn code_04_first_access_token_accepted(resp: &McpResponse) -> Findings {
    accepted(req::CODE_04, resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, response};
    use crate::requirements::Severity;

    const OK: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-2","scope":"b a"}"#;

    #[test]
    fn code_03_introspection_examples() {
        let inactive = json(200, r#"{"active":false}"#);
        assert_eq!(code_03_introspected_inactive(&inactive), Some(Vec::new()));
        let active = json(200, r#"{"active":true,"scope":"a"}"#);
        let f = code_03_introspected_inactive(&active).expect("an observation");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, req::CODE_03);
        // A refusal to introspect, or no introspection response: nothing observed.
        assert_eq!(
            code_03_introspected_inactive(&json(401, r#"{"error":"invalid_client"}"#)),
            None
        );
        assert_eq!(
            code_03_introspected_inactive(&json(200, r#"{"ok":1}"#)),
            None
        );
    }

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
}
