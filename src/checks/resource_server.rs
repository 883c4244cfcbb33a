//! The MCP server as resource server (OAuth 2.1 §5, RFC 6750): status codes, tokens accepted
//! and refused, the challenge of a refusal, and sessions (RS-*).

use crate::checks::{Findings, describe};
use crate::client::http::Response;
use crate::client::mcp::McpResponse;
use crate::client::www_authenticate;
use crate::verdict::Violation;

/// Judged by the MCP server's status code ([`status_is`]).
pub const JUDGED_BY_STATUS: &[req::Id] = &[
    req::RS_01, // no token inside a session: 401 (MCP-C §9.1)
    req::RS_05, // a forged token: 401 (O21 §5.2, §7.1.1)
    req::RS_09, // a token in the query string only: 401 (O21 §5.1)
    req::RS_11, // a refresh token as bearer token: 401 (O21 §1.3.2, §5.2)
    req::RS_14, // 403 for insufficient scope, 401 for an unknown token (MCP-C §10)
];

/// The requirements [`status_is`] judges: every area's list.
pub const STATUS_JUDGES: &[&[req::Id]] = &[
    JUDGED_BY_STATUS,
    super::discovery::challenge::JUDGED_BY_STATUS,
    super::legacy::JUDGED_BY_STATUS,
];

/// Judged by [`invalid_token`]: 401 with `error="invalid_token"`.
pub const JUDGED_BY_INVALID_TOKEN: &[req::Id] = &[
    req::RS_04, // a malformed or unknown token (O21 §5.3.2; 6750 §3.1)
    req::RS_06, // an expired token (O21 §5.2)
];

/// Judged by [`accepted`].
pub const JUDGED_BY_ACCEPTANCE: &[req::Id] = &[
    req::RS_03, // the auth-scheme name in another case (O21 §5.1.1)
];

/// The requirements [`accepted`] judges: every area's list.
pub const ACCEPTANCE_JUDGES: &[&[req::Id]] =
    &[JUDGED_BY_ACCEPTANCE, super::scope::JUDGED_BY_ACCEPTANCE];

/// A response has exactly this status.
pub fn status_is(id: req::Id, resp: &Response, status: u16) -> Findings {
    if resp.status.as_u16() == status {
        Vec::new()
    } else {
        vec![Violation::new(
            id,
            format!("status {status}"),
            describe(resp),
        )]
    }
}

/// The MCP server answered: 2xx with a JSON-RPC result (for requests; 202 for notifications).
pub fn accepted(id: req::Id, resp: &McpResponse) -> Findings {
    if !resp.http.status.is_success() {
        return vec![Violation::new(
            id,
            "a 2xx answer with a JSON-RPC result",
            describe(&resp.http),
        )];
    }
    if resp.result().is_none() {
        return vec![Violation::new(
            id,
            "a JSON-RPC result",
            describe(&resp.http),
        )];
    }
    Vec::new()
}

/// Refused with 401 (any 2xx is the failure this exists to catch).
pub fn refused_401(id: req::Id, resp: &McpResponse) -> Findings {
    if resp.http.status.as_u16() == 401 {
        Vec::new()
    } else {
        vec![Violation::new(id, "401", describe(&resp.http))]
    }
}

/// A revoked access token (RS-12 after RFC 7009, CODE-03 after a code replay) is refused with
/// 401. A self-contained access token (a JWT with `exp`) that is still accepted is info: the
/// MCP server may validate it locally and not learn of the revocation before it expires
/// (RFC 9068 §1; RFC 7009 §2.2 allows a propagation delay; OAuth 2.1 §4.1.3 revokes "when
/// possible"). An opaque token still accepted is the requirement's own (SHOULD) finding.
pub fn revoked_token_refused(id: req::Id, resp: &McpResponse, token: &str) -> Findings {
    let findings = refused_401(id, resp);
    if !resp.http.status.is_success() {
        return findings;
    }
    // A NumericDate, whole or with a fraction (RFC 7519 §2).
    let Some(exp) = crate::client::tokens::unverified_claims(token)
        .and_then(|claims| claims.get("exp").filter(|e| e.is_number()).cloned())
    else {
        return findings;
    };
    findings
        .into_iter()
        .map(|v| {
            v.as_info(format!(
                "the access token is a self-contained JWT (exp {exp}): a resource server that validates it locally sees no revocation before it expires"
            ))
        })
        .collect()
}

/// RS-02: a valid token in the Authorization header is accepted.
pub fn rs_02_accepted(resp: &McpResponse) -> Findings {
    accepted(req::RS_02, resp)
}

/// RS-07: a token issued for another resource (another audience) is refused with 401.
pub fn rs_07_other_audience_refused(resp: &McpResponse) -> Findings {
    refused_401(req::RS_07, resp)
}

/// RS-04 and RS-06: 401 (MUST) whose Bearer challenge says `error="invalid_token"` (SHOULD).
/// An empty token may also get 400 `invalid_request`.
pub fn invalid_token(id: req::Id, resp: &McpResponse, empty_token: bool) -> Findings {
    let status = resp.http.status.as_u16();
    let challenges =
        www_authenticate::parse_all(resp.http.header_all("www-authenticate")).unwrap_or_default();
    let error = challenges
        .iter()
        .find(|c| c.is("Bearer"))
        .and_then(|c| c.param("error").map(str::to_string));
    // RFC 6750 §3.1: an empty token may be a malformed request (400 invalid_request). The
    // refusal must come from the bearer-token layer, with its challenge (§3): a bare 400 could
    // be the MCP layer answering a request it accepted.
    if empty_token && status == 400 && challenges.iter().any(|c| c.is("Bearer")) {
        return Vec::new();
    }
    if status != 401 {
        return vec![Violation::new(id, "401", describe(&resp.http))];
    }
    match error.as_deref() {
        Some("invalid_token") => Vec::new(),
        other => vec![
            Violation::new(
                id,
                "error=\"invalid_token\" in the Bearer challenge",
                format!("error={other:?}"),
            )
            .as_warning("the error code is a SHOULD (RFC 6750 §3.1)"),
        ],
    }
}

/// The Bearer challenge of a response, if it has one.
pub fn bearer_challenge(resp: &McpResponse) -> Option<www_authenticate::Challenge> {
    www_authenticate::parse_all(resp.http.header_all("www-authenticate"))
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.is("Bearer"))
}

/// Whether the MCP server carried out the request: 2xx with a JSON-RPC result.
pub fn carried_out(resp: &McpResponse) -> bool {
    resp.http.status.is_success() && resp.result().is_some()
}

/// RS-10: a valid token in the header and another value in the query at once. OAuth 2.1 §5.1
/// ignores the query copy (the request is served); RFC 6750 §3.1 answers 400
/// `invalid_request`. Either passes (Q11). Anything else means the query copy was read.
pub fn rs_10_query_copy_not_read(resp: &McpResponse) -> Findings {
    if carried_out(resp) || resp.http.status.as_u16() == 400 {
        return Vec::new();
    }
    vec![Violation::new(
        req::RS_10,
        "the request served with the header's token, or 400 invalid_request",
        format!("{} (the query copy was read)", describe(&resp.http)),
    )]
}

/// RS-13: an operation beyond the token's scope is not carried out.
pub fn rs_13_not_carried_out(resp: &McpResponse) -> Findings {
    if carried_out(resp) {
        return vec![Violation::new(
            req::RS_13,
            "the operation refused (403)",
            format!("the operation was carried out: {}", describe(&resp.http)),
        )];
    }
    Vec::new()
}

/// RS-15: a 401 carries `resource_metadata` in its Bearer challenge. `None` when the response
/// is no 401 (nothing to check here; RS-04 grades the status).
pub fn rs_15_resource_metadata(resp: &McpResponse) -> Option<Findings> {
    if resp.http.status.as_u16() != 401 {
        return None;
    }
    let found = bearer_challenge(resp).is_some_and(|c| c.param("resource_metadata").is_some());
    Some(if found {
        Vec::new()
    } else {
        vec![Violation::new(
            req::RS_15,
            "resource_metadata in the 401's Bearer challenge",
            format!(
                "WWW-Authenticate: {:?}",
                resp.http.header_all("www-authenticate").join(" | ")
            ),
        )]
    })
}

/// The fewest bits of guessing an ID needs for RS-16 (a UUIDv4 has 122).
const MIN_SESSION_ID_BITS: f64 = 64.0;

/// RS-16: session IDs are distinct and unpredictable: not numbers, and what varies between
/// them (after any common prefix and suffix) carries at least 64 bits by a rough estimate
/// (its length times log2 of the alphabet seen in it).
pub fn rs_16_session_ids(ids: &[String]) -> Findings {
    let id = req::RS_16;
    let expected = "distinct, unpredictable session IDs (at least 64 bits that vary)";
    let shown = || {
        ids.iter()
            .map(|s| format!("{}…", s.chars().take(4).collect::<String>()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut distinct = ids.to_vec();
    distinct.sort();
    distinct.dedup();
    if distinct.len() < ids.len() {
        return vec![Violation::new(
            id,
            expected,
            format!("repeated IDs: {}", shown()),
        )];
    }
    if ids.iter().all(|s| s.parse::<u128>().is_ok()) {
        return vec![Violation::new(
            id,
            expected,
            format!("numeric IDs: {ids:?}"),
        )];
    }
    let Some(first) = ids.first() else {
        return Vec::new();
    };
    let prefix = ids.iter().fold(first.len(), |n, s| {
        n.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        )
    });
    let suffix = ids.iter().fold(first.len() - prefix, |n, s| {
        n.min(
            first
                .bytes()
                .rev()
                .zip(s.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count(),
        )
    });
    let varying: Vec<&[u8]> = ids
        .iter()
        .map(|s| {
            let b = s.as_bytes();
            &b[prefix.min(b.len())..b.len().saturating_sub(suffix).max(prefix.min(b.len()))]
        })
        .collect();
    let alphabet: std::collections::BTreeSet<u8> =
        varying.iter().flat_map(|v| v.iter().copied()).collect();
    let shortest = varying.iter().map(|v| v.len()).min().unwrap_or(0);
    let bits = shortest as f64 * (alphabet.len().max(2) as f64).log2();
    if bits < MIN_SESSION_ID_BITS {
        return vec![Violation::new(
            id,
            expected,
            format!(
                "about {bits:.0} bits vary ({shortest} characters from an alphabet of {}): {}",
                alphabet.len(),
                shown()
            ),
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::mcp;
    use crate::requirements::Severity;

    #[test]
    fn invalid_token_examples() {
        let good = mcp(
            401,
            &[(
                "www-authenticate",
                r#"Bearer error="invalid_token", resource_metadata="https://h/x""#,
            )],
            "",
        );
        assert!(invalid_token(req::RS_04, &good, false).is_empty());
        let bare = mcp(
            401,
            &[(
                "www-authenticate",
                r#"Bearer resource_metadata="https://h/x""#,
            )],
            "",
        );
        assert_eq!(
            invalid_token(req::RS_04, &bare, false)[0].severity(),
            Severity::Should
        );
        let ok = mcp(200, &[], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(
            invalid_token(req::RS_04, &ok, false)[0].severity(),
            Severity::Must
        );
        let refused_empty = mcp(
            400,
            &[("www-authenticate", r#"Bearer error="invalid_request""#)],
            "",
        );
        assert!(invalid_token(req::RS_04, &refused_empty, true).is_empty());
        // A 400 without a Bearer challenge may come from the MCP layer after the empty token
        // was let through.
        assert_eq!(invalid_token(req::RS_04, &mcp(400, &[], ""), true).len(), 1);
        assert!(accepted(req::RS_02, &ok).is_empty());
        assert_eq!(refused_401(req::RS_09, &ok).len(), 1);
    }

    const RESULT: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;

    #[test]
    fn a_revoked_token_still_accepted_is_info_only_when_self_contained() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            b64(r#"{"sub":"a","exp":4102444800}"#)
        );
        let served = mcp(200, &[], RESULT);
        let refused = mcp(401, &[("www-authenticate", "Bearer")], "");
        assert!(revoked_token_refused(req::RS_12, &refused, &jwt).is_empty());
        let f = revoked_token_refused(req::RS_12, &served, &jwt);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Info);
        // An `exp` with a fraction is a NumericDate too (RFC 7519 §2).
        let fractional = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            b64(r#"{"sub":"a","exp":4102444800.5}"#)
        );
        let f = revoked_token_refused(req::RS_12, &served, &fractional);
        assert_eq!(f[0].severity(), Severity::Info);
        // An opaque token the AS revoked is the resource server's to refuse: a warning.
        let f = revoked_token_refused(req::RS_12, &served, "opaque-0123456789");
        assert_eq!(f[0].severity(), Severity::Should);
        // Refused with another status: the requirement's own finding, whatever the format.
        let f = revoked_token_refused(req::RS_12, &mcp(403, &[], ""), &jwt);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn rs_10_examples() {
        assert!(rs_10_query_copy_not_read(&mcp(200, &[], RESULT)).is_empty());
        let bad_request = mcp(
            400,
            &[("www-authenticate", r#"Bearer error="invalid_request""#)],
            "",
        );
        assert!(rs_10_query_copy_not_read(&bad_request).is_empty());
        let read = mcp(
            401,
            &[("www-authenticate", r#"Bearer error="invalid_token""#)],
            "",
        );
        let f = rs_10_query_copy_not_read(&read);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn rs_13_examples() {
        assert!(rs_13_not_carried_out(&mcp(403, &[], "")).is_empty());
        let f = rs_13_not_carried_out(&mcp(200, &[], RESULT));
        assert_eq!(f[0].severity(), Severity::Must);
        let rpc_error = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"no"}}"#;
        assert!(rs_13_not_carried_out(&mcp(200, &[], rpc_error)).is_empty());
    }

    #[test]
    fn rs_15_examples() {
        let good = mcp(
            401,
            &[(
                "www-authenticate",
                r#"Bearer error="invalid_token", resource_metadata="https://h/x""#,
            )],
            "",
        );
        assert_eq!(rs_15_resource_metadata(&good), Some(Vec::new()));
        let bare = mcp(
            401,
            &[("www-authenticate", r#"Bearer error="invalid_token""#)],
            "",
        );
        assert_eq!(rs_15_resource_metadata(&bare).map(|f| f.len()), Some(1));
        assert_eq!(
            rs_15_resource_metadata(&mcp(401, &[], "")).map(|f| f.len()),
            Some(1)
        );
        assert!(rs_15_resource_metadata(&mcp(200, &[], RESULT)).is_none());
    }

    #[test]
    fn rs_16_examples() {
        let uuids: Vec<String> = [
            "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
            "6fa459ea-ee8a-4ca4-894e-db77e160355e",
            "16fd2706-8baf-433b-82eb-8c7fada847da",
            "886313e1-3b8a-4372-9b90-0c9aee199e5d",
            "a8098c1a-f86e-41d2-a4a6-7f9d2c4b5e3a",
        ]
        .map(String::from)
        .to_vec();
        assert!(rs_16_session_ids(&uuids).is_empty());
        let counter: Vec<String> = (1..=5).map(|n| n.to_string()).collect();
        assert_eq!(rs_16_session_ids(&counter).len(), 1);
        let prefixed: Vec<String> = (1..=5).map(|n| format!("session-{n:08}")).collect();
        assert_eq!(rs_16_session_ids(&prefixed)[0].severity(), Severity::Must);
        let repeated = vec![uuids[0].clone(), uuids[0].clone()];
        assert_eq!(rs_16_session_ids(&repeated).len(), 1);
    }
}
