//! Checks of token endpoint answers (CODE-*, PKCE-02/06..11, REFRESH-*), and of what the AS
//! does with `resource` (RES-04..09).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Findings, describe, oauth_refusal};
use crate::client::http::{Exchange, Response};
use crate::client::login::AuthorizationOutcome;
use crate::client::mcp::McpResponse;
use crate::client::oauth::{OAuthError, TokenSet};
use crate::client::tokens;
use crate::verdict::Violation;

/// The requirements [`refused_with`] judges: every area's list.
pub const REFUSAL_JUDGES: &[&[req::Id]] = &[
    super::pkce::JUDGED_BY_TOKEN_REFUSAL,
    super::code::JUDGED_BY_TOKEN_REFUSAL,
    super::tok::JUDGED_BY_TOKEN_REFUSAL,
    super::refresh::JUDGED_BY_TOKEN_REFUSAL,
    super::resource_binding::JUDGED_BY_TOKEN_REFUSAL,
    super::cimd::JUDGED_BY_TOKEN_REFUSAL,
];

/// The requirements [`issued`] judges: every area's list.
pub const ISSUANCE_JUDGES: &[&[req::Id]] = &[
    super::pkce::JUDGED_BY_ISSUANCE,
    super::code::JUDGED_BY_ISSUANCE,
    super::tok::JUDGED_BY_ISSUANCE,
    super::resource_binding::JUDGED_BY_ISSUANCE,
];

/// The requirements [`exactly_one_success`] judges: every area's list.
pub const RACE_JUDGES: &[&[req::Id]] =
    &[super::code::JUDGED_BY_RACE, super::refresh::JUDGED_BY_RACE];

/// A successful token response: 200, JSON, `access_token` and `token_type`.
pub fn issued(id: req::Id, resp: &Response) -> Findings {
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

/// A token request refused with one of the allowed codes (400; 401 for `invalid_client`).
pub fn refused_with(id: req::Id, resp: &Response, allowed: &[&str]) -> Findings {
    let statuses: &[u16] = if allowed.contains(&"invalid_client") {
        &[400, 401]
    } else {
        &[400]
    };
    oauth_refusal(id, resp, statuses, allowed)
}

/// The race checks: of many concurrent redemptions, exactly one succeeds and every other is
/// refused with `error`.
pub fn exactly_one_success(id: req::Id, responses: &[Response], error: &str) -> Findings {
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

/// Whether a response says `Cache-Control: no-store` (one directive among others is enough).
fn has_no_store(resp: &Response) -> bool {
    resp.header_all("cache-control")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
}

/// A successful token response that may not be cached (REFRESH-09: O21 §3.2.3).
pub fn issued_no_store(id: req::Id, resp: &Response) -> Findings {
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

/// RES-05, RES-09: the AS either goes on (a code) or refuses with `invalid_target` (RFC 8707
/// §2.1, §2); any other answer is outside what the spec allows.
pub fn code_or_invalid_target(id: req::Id, outcome: &AuthorizationOutcome) -> Findings {
    if outcome.code().is_some() || outcome.error() == Some("invalid_target") {
        return Vec::new();
    }
    let actual = match outcome.error() {
        Some(e) => format!("error={e}"),
        None => outcome.describe(),
    };
    vec![Violation::new(
        id,
        "a code, or a redirect with error=invalid_target",
        actual,
    )]
}

/// PKCE-11: a `code_challenge_method` the AS accepted (it issued a code) is one it advertises
/// in `code_challenge_methods_supported` (RFC 8414 §2; O21 §7.9).
pub fn pkce_11_accepted_is_advertised(
    outcome: &AuthorizationOutcome,
    method: &str,
    advertised: &[String],
) -> Findings {
    if outcome.code().is_none() || advertised.iter().any(|m| m == method) {
        return Vec::new();
    }
    vec![Violation::new(
        req::PKCE_11,
        format!("code_challenge_method {method} refused, or advertised"),
        format!(
            "a code was issued for {method}, but code_challenge_methods_supported is [{}]",
            advertised.join(", ")
        ),
    )]
}

/// RES-08: the canonical resource URI has no trailing slash (MCP-B §2.5.1.1, MCP-C §8.1).
pub fn res_08_no_trailing_slash(resource: &str) -> Findings {
    if !resource.ends_with('/') {
        return Vec::new();
    }
    vec![Violation::new(
        req::RES_08,
        "a resource URI without a trailing slash",
        format!("resource {resource:?}"),
    )]
}

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

/// SCOPE-06 (OAuth 2.1 §3.2.3: `scope` is OPTIONAL if identical to the scope requested,
/// otherwise REQUIRED): a successful token response for a request with `requested` either
/// states its scope as a string, or leaves it out because the grant is the request. The
/// harness sees the grant only where the access token is a JWT with a `scope` claim: a claim
/// that differs from the request while the response says nothing is the violation.
pub fn scope_06_granted_scope_stated(
    id: req::Id,
    requested: Option<&str>,
    resp: &Response,
) -> Findings {
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

/// The names of the parameters in the query and the fragment of `location`, decoded.
fn url_parameter_names(location: &str) -> Vec<String> {
    let Some(i) = location.find(['?', '#']) else {
        return Vec::new();
    };
    location[i + 1..]
        .split(['?', '#', '&', ';'])
        .filter_map(|pair| {
            url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
        })
        .collect()
}

/// SEC-04 (OAuth 2.1 §7.1.3.7 and §10: no implicit grant, and no token in a URL's query or
/// fragment): no `Location` a target sent during the flow carries an
/// `access_token` or `refresh_token` parameter, in its query or its fragment.
pub fn sec_04_no_token_in_locations(exchanges: &[Exchange]) -> Findings {
    exchanges
        .iter()
        .flat_map(|x| {
            x.response_headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .flat_map(move |(_, location)| {
                    url_parameter_names(location)
                        .into_iter()
                        .filter(|n| n == "access_token" || n == "refresh_token")
                        .map(move |name| {
                            Violation::new(
                                req::SEC_04,
                                "no token in any URL: no access_token or refresh_token in a Location",
                                format!(
                                    "the answer to {} {} redirected to {location}, carrying {name}",
                                    x.method, x.url
                                ),
                            )
                        })
                })
        })
        .collect()
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
                req::CODE_02,
                &[win.clone(), lose.clone(), lose.clone()],
                "invalid_grant"
            )
            .is_empty()
        );
        assert_eq!(
            exactly_one_success(
                req::CODE_02,
                &[win.clone(), win.clone(), lose.clone()],
                "invalid_grant"
            )
            .len(),
            1
        );
        assert_eq!(
            exactly_one_success(req::CODE_02, &[lose.clone(), lose.clone()], "invalid_grant").len(),
            1
        );
        let err = json(500, r#"{"error":"server_error"}"#);
        assert_eq!(
            exactly_one_success(req::CODE_02, &[win, err], "invalid_grant").len(),
            1
        );
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
        assert!(issued_no_store(req::REFRESH_09, &stored).is_empty());
        assert_eq!(issued_no_store(req::REFRESH_09, &json(200, OK)).len(), 1);
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

    #[test]
    fn res_05_09_examples() {
        let u = |s: &str| url::Url::parse(s).expect("url");
        let redirect = |params: &[(&str, &str)]| AuthorizationOutcome::Redirect {
            location: u("http://127.0.0.1:1/cb"),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert!(code_or_invalid_target(req::RES_05, &redirect(&[("code", "c")])).is_empty());
        assert!(
            code_or_invalid_target(req::RES_05, &redirect(&[("error", "invalid_target")]))
                .is_empty()
        );
        assert_eq!(
            code_or_invalid_target(req::RES_09, &redirect(&[("error", "invalid_request")])).len(),
            1
        );
        let page = AuthorizationOutcome::Page {
            url: u("https://as.example/authorize"),
            status: 500,
            reason: "error".into(),
        };
        assert_eq!(code_or_invalid_target(req::RES_05, &page).len(), 1);

        let s256 = vec!["S256".to_string()];
        assert!(
            pkce_11_accepted_is_advertised(
                &redirect(&[("error", "invalid_request")]),
                "plain",
                &s256
            )
            .is_empty()
        );
        assert_eq!(
            pkce_11_accepted_is_advertised(&redirect(&[("code", "c")]), "plain", &s256).len(),
            1
        );
        let both = vec!["S256".to_string(), "plain".to_string()];
        assert!(
            pkce_11_accepted_is_advertised(&redirect(&[("code", "c")]), "plain", &both).is_empty()
        );

        assert!(res_08_no_trailing_slash("https://mcp.example.com/mcp").is_empty());
        assert_eq!(
            res_08_no_trailing_slash("https://mcp.example.com/").len(),
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
        assert!(scope_06_granted_scope_stated(req::SCOPE_06, requested, &stated).is_empty());
        // Left out, and the token grants what was asked (in another order).
        let same = token_response(Some("mcp:write mcp:read"), None);
        assert!(scope_06_granted_scope_stated(req::SCOPE_06, requested, &same).is_empty());
        // Left out, and nothing shows the grant: the response's word stands.
        let opaque = json(200, r#"{"access_token":"opaque","token_type":"Bearer"}"#);
        assert!(scope_06_granted_scope_stated(req::SCOPE_06, requested, &opaque).is_empty());
        // Left out while the token grants less: the violation.
        let narrowed = token_response(Some("mcp:read"), None);
        let f = scope_06_granted_scope_stated(req::SCOPE_06, requested, &narrowed);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Must);
        assert!(f[0].expected.contains("\"mcp:read\""));
        let not_a_string = json(
            200,
            r#"{"access_token":"a","token_type":"Bearer","scope":["a"]}"#,
        );
        assert_eq!(
            scope_06_granted_scope_stated(req::SCOPE_06, requested, &not_a_string).len(),
            1
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

    fn redirect_exchange(location: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "https://as.example/consent".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(303),
            response_headers: vec![("location".into(), location.into())],
            response_body: None,
            error: None,
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn sec_04_examples() {
        let clean = [
            redirect_exchange("http://127.0.0.1:1/cb?code=abcd%E2%80%A6%5Bredacted%5D&state=s"),
            redirect_exchange("/login?next=%2Fauthorize%3Faccess_token_hint%3D1"),
        ];
        assert!(sec_04_no_token_in_locations(&clean).is_empty());
        let in_query =
            redirect_exchange("http://127.0.0.1:1/cb?code=c&access_token=eyJh%E2%80%A6&state=s");
        let f = sec_04_no_token_in_locations(&[in_query]);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("carrying access_token"));
        let in_fragment = redirect_exchange(
            "https://client.example/cb#state=s&refresh_token=r&token_type=Bearer",
        );
        let f = sec_04_no_token_in_locations(&[in_fragment]);
        assert!(f[0].actual.contains("carrying refresh_token"));
        assert_eq!(
            url_parameter_names("https://c/cb?a=1&b#c=3"),
            vec!["a", "b", "c"]
        );
        assert!(url_parameter_names("https://c/cb").is_empty());
    }
}
