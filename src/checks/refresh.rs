//! Refresh tokens (OAuth 2.1 §4.3): rotation (REFRESH-01..03), binding to the client, the
//! scope and the resource (REFRESH-04..08), no caching (REFRESH-09), and tokens that cannot be
//! guessed (REFRESH-11) or live long (REFRESH-12).

use super::token::issued;

use crate::checks::{Findings, describe};
use crate::client::http::Response;
use crate::client::mcp::McpResponse;
use crate::client::oauth::{OAuthError, TokenSet};
use crate::verdict::Violation;

/// Judged by the token endpoint's refusal ([`super::token::refused_with`]).
pub const JUDGED_BY_TOKEN_REFUSAL: &[req::Id] = &[
    req::REFRESH_02, // a replaced refresh token: invalid_grant (O21 §4.3.1)
    req::REFRESH_03, // the live refresh token after a replaced one was reused (O21 §4.3.1)
    req::REFRESH_04, // a refresh token presented by another client (O21 §4.3, §4.3.1)
    req::REFRESH_05, // a refresh that widens the scope: invalid_scope (O21 §4.3.1, §3.2.4)
    req::REFRESH_08, // a confidential client's refresh without authentication (O21 §4.3.1)
    req::REFRESH_10, // a made-up refresh token: invalid_grant (O21 §3.2.4, §4.3)
];

/// Judged by the race check ([`super::token::exactly_one_success`]).
pub const JUDGED_BY_RACE: &[req::Id] = &[
    req::REFRESH_02, // concurrent refreshes with one token: one success (O21 §4.3.1)
];

/// REFRESH-01: the refresh response carries a new refresh token.
pub fn refresh_01_rotated(old: &str, resp: &Response) -> Findings {
    match TokenSet::from_response(resp) {
        Err(e) => vec![Violation::new(
            req::REFRESH_01,
            "a successful refresh",
            format!("{e}: {}", describe(resp)),
        )],
        Ok(t) => match t.refresh_token {
            None => vec![Violation::new(
                req::REFRESH_01,
                "a new refresh_token",
                "no refresh_token in the response",
            )],
            Some(new) if new.expose() == old => {
                vec![Violation::new(
                    req::REFRESH_01,
                    "a refresh_token different from the old one",
                    "the same refresh_token",
                )]
            }
            Some(_) => Vec::new(),
        },
    }
}

/// REFRESH-13 (info): an AS that lists `refresh_token` in `grant_types_supported` issued one
/// (asked for with `offline_access` where it lists that scope). Issuing one is at its
/// discretion (RFC 6749 §1.5), so none is recorded, never graded.
pub fn refresh_13_advertised_issued(tokens: &TokenSet, asked_offline_access: bool) -> Findings {
    if tokens.refresh_token.is_some() {
        return Vec::new();
    }
    vec![Violation::new(
        req::REFRESH_13,
        "a refresh token, as grant_types_supported lists refresh_token",
        if asked_offline_access {
            "no refresh_token, even with offline_access requested (scopes_supported lists it)"
        } else {
            "no refresh_token"
        },
    )]
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
                req::REFRESH_06,
                "a successful refresh",
                format!("refresh {}: {e}", i + 1),
            )),
            Ok(t) => {
                if let Some(s) = t.scope
                    && norm(&s) != norm(original)
                {
                    out.push(Violation::new(
                        req::REFRESH_06,
                        format!("scope {original:?}"),
                        format!("refresh {}: scope {s:?}", i + 1),
                    ));
                }
            }
        }
    }
    out
}

/// REFRESH-07: a refresh that names another resource is refused (any OAuth error: RFC 8707
/// §2.2 leaves the code open, `invalid_target` fits best), or the token it yields is refused by
/// that resource (`at_other`, present only when tokens were issued).
pub fn refresh_07_resource_bound(refresh: &Response, at_other: Option<&McpResponse>) -> Findings {
    const ID: req::Id = req::REFRESH_07;
    if !refresh.status.is_success() {
        return match OAuthError::from_response(refresh) {
            Some(_) if refresh.status.is_client_error() => Vec::new(),
            _ => vec![Violation::new(
                ID,
                "an OAuth error (invalid_target), or a token the other resource refuses",
                describe(refresh),
            )],
        };
    }
    match at_other {
        Some(r) if r.http.status.as_u16() == 401 => Vec::new(),
        Some(r) => vec![Violation::new(
            ID,
            "invalid_target, or a token the other resource refuses with 401",
            format!(
                "a token was issued and the other resource answered {}",
                describe(&r.http)
            ),
        )],
        None => vec![Violation::new(
            ID,
            "invalid_target, or a token the other resource refuses",
            format!("tokens were issued: {}", describe(refresh)),
        )],
    }
}

/// Whether a response says `Cache-Control: no-store` (one directive among others is enough).
fn has_no_store(resp: &Response) -> bool {
    resp.header_all("cache-control")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
}

/// A successful token response that may not be cached (REFRESH-09: O21 §3.2.3).
pub fn refresh_09_no_store(resp: &Response) -> Findings {
    let id = req::REFRESH_09;
    let mut out = issued(id, resp);
    if out.is_empty() && !has_no_store(resp) {
        out.push(Violation::new(
            id,
            "Cache-Control: no-store",
            resp.header("cache-control")
                .map_or("no Cache-Control".into(), |v| format!("Cache-Control: {v}")),
        ));
    }
    out
}

/// An estimate of a token's entropy in bits, from its length and the character classes it
/// uses (digits, lower case, upper case, other URL-safe characters). A token that is not
/// random scores too high, never too low, so a low score is evidence worth a warning.
pub fn estimated_bits(token: &str) -> f64 {
    let has = |f: fn(&u8) -> bool| token.bytes().any(|b| f(&b));
    let mut alphabet = 0u32;
    if has(u8::is_ascii_digit) {
        alphabet += 10;
    }
    if has(u8::is_ascii_lowercase) {
        alphabet += 26;
    }
    if has(u8::is_ascii_uppercase) {
        alphabet += 26;
    }
    if has(|b| !b.is_ascii_alphanumeric()) {
        alphabet += 4;
    }
    if token.len() < 2 || alphabet < 2 {
        return 0.0;
    }
    // The hex alphabet, when that is all the token uses.
    if token.bytes().all(|b| b.is_ascii_hexdigit()) {
        let case = token.bytes().any(|b| b.is_ascii_lowercase())
            && token.bytes().any(|b| b.is_ascii_uppercase());
        alphabet = if case { 22 } else { 16 };
    }
    token.len() as f64 * f64::from(alphabet).log2()
}

/// REFRESH-11: a refresh token carries at least 128 bits (O21 §7.1.3.5 / RFC 9700: not
/// guessable). The estimate is a heuristic, so a miss is advisory.
pub fn refresh_11_unguessable(token: &str) -> Findings {
    let bits = estimated_bits(token);
    if bits >= 128.0 {
        return Vec::new();
    }
    vec![
        Violation::new(
            req::REFRESH_11,
            "a refresh token of at least 128 bits",
            format!(
                "a {}-character refresh token: about {bits:.0} bits",
                token.len()
            ),
        )
        .as_warning("the entropy is estimated from length and alphabet"),
    ]
}

/// REFRESH-12: access tokens live at most `max_secs` (MCP: short-lived).
pub fn refresh_12_short_lived(expires_in: u64, max_secs: u64) -> Findings {
    if expires_in <= max_secs {
        return Vec::new();
    }
    vec![Violation::new(
        req::REFRESH_12,
        format!("expires_in at most {max_secs} seconds"),
        format!("expires_in {expires_in}"),
    )]
}

/// REFRESH-05: a scope to widen a grant with: one the AS supports (so a refusal is for the
/// widening, not for an unknown scope) and that `granted` does not hold. `offline_access` and
/// `openid` are left out: they ask for a kind of grant, not for access to the resource.
pub fn widening_scope(
    granted: &str,
    supported: impl IntoIterator<Item = String>,
) -> Option<String> {
    let granted: Vec<&str> = granted.split(' ').filter(|s| !s.is_empty()).collect();
    supported.into_iter().find(|s| {
        !s.is_empty()
            && !s.contains(' ')
            && !granted.contains(&s.as_str())
            && !matches!(s.as_str(), "offline_access" | "openid")
    })
}

/// The scope to ask for again when a grant came without a refresh token: `scope` plus
/// `offline_access`, when the AS lists it in `scopes_supported` and it was not asked for
/// (OpenID Connect Core §11; MCP 2026-07-28 asks clients for it). `None` otherwise.
pub fn with_offline_access(scope: Option<&str>, scopes_supported: &[String]) -> Option<String> {
    const OFFLINE: &str = "offline_access";
    let asked = scope.is_some_and(|s| s.split(' ').any(|x| x == OFFLINE));
    if asked || !scopes_supported.iter().any(|s| s == OFFLINE) {
        return None;
    }
    Some(match scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => format!("{s} {OFFLINE}"),
        None => OFFLINE.to_string(),
    })
}

/// Why refresh scenarios cannot run: no refresh token was issued. An AS that lists
/// `refresh_token` in `grant_types_supported` and still issues none (even with
/// `offline_access` asked for, where it lists that scope) is reported with that reason.
pub fn no_refresh_token_reason(advertised: bool, asked_offline_access: bool) -> String {
    let tried = if asked_offline_access {
        ", not even with offline_access requested (scopes_supported lists it)"
    } else {
        ""
    };
    if advertised {
        format!(
            "the AS issued no refresh token{tried}, although grant_types_supported lists refresh_token"
        )
    } else {
        format!("the AS issued no refresh token{tried}")
    }
}

/// REFRESH-03: after a replaced refresh token was reused, introspection no longer finds the
/// newest access token active: the AS revoked the grant (O21 §4.3.1).
pub fn refresh_03_introspected_inactive(resp: &Response) -> Option<Findings> {
    super::code::introspected_inactive(
        req::REFRESH_03,
        "the newest access token after the replaced refresh token was reused",
        resp,
    )
}

/// REFRESH-03: after a replaced refresh token was reused, the MCP server refuses the newest
/// access token. It is seen at the MCP server, not at the AS whose duty this is: a
/// self-contained token is checked locally (info), and an MCP server may cache what
/// introspection told it (RFC 7662 §4), so a token still accepted is a warning, never a
/// failure of the AS.
pub fn refresh_03_access_token_refused(resp: &McpResponse, token: &str) -> Findings {
    super::resource_server::revoked_token_refused(req::REFRESH_03, resp, token)
        .into_iter()
        .map(|v| {
            if v.informational {
                v
            } else {
                v.as_warning(
                    "the MCP server still accepts the newest access token of a grant the AS should have revoked; an MCP server may cache introspection answers (RFC 7662 §4), so this is observed at the MCP server, not the AS",
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::mcp;

    #[test]
    fn refresh_03_is_failed_by_the_as_and_only_warned_of_at_the_mcp_server() {
        let active = json(200, r#"{"active":true}"#);
        let f = refresh_03_introspected_inactive(&active).expect("an observation");
        assert_eq!(f[0].severity(), Severity::Must);
        let inactive = json(200, r#"{"active":false}"#);
        assert_eq!(
            refresh_03_introspected_inactive(&inactive),
            Some(Vec::new())
        );
        assert_eq!(
            refresh_03_introspected_inactive(&json(401, r#"{"error":"invalid_client"}"#)),
            None
        );
        let accepted = mcp(200, &[], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        let opaque = refresh_03_access_token_refused(&accepted, "opaque-token");
        assert_eq!(opaque[0].severity(), Severity::Should);
        // A self-contained token: the MCP server cannot see the revocation.
        let jwt = "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.";
        let local = refresh_03_access_token_refused(&accepted, jwt);
        assert_eq!(local[0].severity(), Severity::Info);
        let refused = mcp(401, &[("www-authenticate", "Bearer")], "");
        assert!(refresh_03_access_token_refused(&refused, "opaque-token").is_empty());
    }

    #[test]
    fn offline_access_is_asked_for_only_where_listed_and_not_yet_asked() {
        let listed = ["mcp:read".to_string(), "offline_access".to_string()];
        assert_eq!(
            with_offline_access(Some("mcp:read"), &listed).as_deref(),
            Some("mcp:read offline_access")
        );
        assert_eq!(
            with_offline_access(None, &listed).as_deref(),
            Some("offline_access")
        );
        assert_eq!(
            with_offline_access(Some("mcp:read offline_access"), &listed),
            None
        );
        assert_eq!(with_offline_access(Some("mcp:read"), &listed[..1]), None);
        let reason = no_refresh_token_reason(true, true);
        assert!(
            reason.contains("grant_types_supported lists refresh_token"),
            "{reason}"
        );
        assert!(reason.contains("offline_access"), "{reason}");
        assert_eq!(
            no_refresh_token_reason(false, false),
            "the AS issued no refresh token"
        );
    }

    #[test]
    fn a_widening_scope_is_supported_and_not_granted() {
        let supported = || {
            ["mcp:read", "offline_access", "mcp:write"]
                .map(String::from)
                .into_iter()
        };
        assert_eq!(
            widening_scope("mcp:read", supported()).as_deref(),
            Some("mcp:write")
        );
        assert_eq!(widening_scope("mcp:write mcp:read", supported()), None);
        assert_eq!(widening_scope("", supported()).as_deref(), Some("mcp:read"));
    }
    use crate::checks::testing::{json, response};
    use crate::requirements::Severity;

    const OK: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300,"refresh_token":"rt-2","scope":"b a"}"#;

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

    #[test]
    fn refresh_07_examples() {
        let refused = json(400, r#"{"error":"invalid_target"}"#);
        assert!(refresh_07_resource_bound(&refused, None).is_empty());
        let other_code = json(400, r#"{"error":"invalid_grant"}"#);
        assert!(refresh_07_resource_bound(&other_code, None).is_empty());
        let crashed = json(500, r#"{"error":"server_error"}"#);
        assert_eq!(refresh_07_resource_bound(&crashed, None).len(), 1);
        let issued = json(200, OK);
        assert_eq!(refresh_07_resource_bound(&issued, None).len(), 1);
    }

    #[test]
    fn refresh_09_examples() {
        let stored = response(
            200,
            &[
                ("content-type", "application/json"),
                ("cache-control", "private, no-store"),
            ],
            OK,
        );
        assert!(refresh_09_no_store(&stored).is_empty());
        assert_eq!(refresh_09_no_store(&json(200, OK)).len(), 1);
    }

    #[test]
    fn refresh_11_examples() {
        // 32 random bytes, base64url (as RFC 9700 examples use): well over 128 bits.
        let strong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(refresh_11_unguessable(strong).is_empty());
        assert!(estimated_bits("0123456789abcdef0123456789abcdef") >= 128.0);
        let f = refresh_11_unguessable("tGzv3J");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Should);
        assert_eq!(estimated_bits(""), 0.0);
    }

    #[test]
    fn refresh_12_examples() {
        assert!(refresh_12_short_lived(3600, 3600).is_empty());
        assert_eq!(refresh_12_short_lived(86_400, 3600).len(), 1);
    }
}
