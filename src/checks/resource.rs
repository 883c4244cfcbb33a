//! Checks of the MCP server as resource server (RS-*) and its scope challenges (SCOPE-03..10).

use super::{Findings, describe};
use crate::client::http::Response;
use crate::client::mcp::McpResponse;
use crate::client::www_authenticate;
use crate::verdict::Violation;

/// Judged by the MCP server's status code ([`super::discovery::status_is`]).
pub const JUDGED_BY_STATUS: &[req::Id] = &[
    req::RS_01, // no token inside a session: 401 (MCP-C §9.1)
    req::RS_05, // a forged token: 401 (O21 §5.2, §7.1.1)
    req::RS_09, // a token in the query string only: 401 (O21 §5.1)
    req::RS_11, // a refresh token as bearer token: 401 (O21 §1.3.2, §5.2)
    req::RS_12, // a revoked access token: 401 (O21 §5.2; 6750 §3.1)
    req::RS_14, // 403 for insufficient scope, 401 for an unknown token (MCP-C §10)
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

/// SCOPE-03: 403 with a Bearer challenge holding `error="insufficient_scope"`, `scope` and
/// `resource_metadata`.
pub fn scope_03_insufficient_scope(resp: &McpResponse) -> Findings {
    let id = req::SCOPE_03;
    if resp.http.status.is_success() && resp.error().is_none() {
        return vec![Violation::new(
            id,
            "403 insufficient_scope",
            format!("the operation was carried out: {}", describe(&resp.http)),
        )];
    }
    if resp.http.status.as_u16() != 403 {
        return vec![Violation::new(id, "403", describe(&resp.http))];
    }
    let challenges =
        www_authenticate::parse_all(resp.http.header_all("www-authenticate")).unwrap_or_default();
    let Some(bearer) = challenges.iter().find(|c| c.is("Bearer")) else {
        return vec![Violation::new(
            id,
            "a Bearer challenge",
            "no Bearer challenge",
        )];
    };
    let mut out = Vec::new();
    if bearer.param("error") != Some("insufficient_scope") {
        out.push(Violation::new(
            id,
            "error=\"insufficient_scope\"",
            format!("error={:?}", bearer.param("error")),
        ));
    }
    for p in ["scope", "resource_metadata"] {
        if bearer.param(p).is_none() {
            out.push(Violation::new(
                id,
                format!("{p} in the challenge"),
                format!("no {p}"),
            ));
        }
    }
    out
}

/// The Bearer challenge of a response, if it has one.
fn bearer_challenge(resp: &McpResponse) -> Option<www_authenticate::Challenge> {
    www_authenticate::parse_all(resp.http.header_all("www-authenticate"))
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.is("Bearer"))
}

/// Whether the MCP server carried out the request: 2xx with a JSON-RPC result.
fn carried_out(resp: &McpResponse) -> bool {
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

/// SCOPE-05: two answers to the same operation carry the same challenge (status, `error` and
/// the `scope` set).
pub fn scope_05_same_challenge(first: &McpResponse, second: &McpResponse) -> Findings {
    let summary = |r: &McpResponse| {
        let c = bearer_challenge(r);
        let mut scope: Vec<String> = c
            .as_ref()
            .and_then(|c| c.param("scope"))
            .map(|s| s.split(' ').map(str::to_string).collect())
            .unwrap_or_default();
        scope.sort();
        (
            r.http.status.as_u16(),
            c.as_ref()
                .and_then(|c| c.param("error").map(str::to_string)),
            scope,
        )
    };
    let (a, b) = (summary(first), summary(second));
    if a == b {
        return Vec::new();
    }
    vec![Violation::new(
        req::SCOPE_05,
        format!(
            "the same challenge twice: {} error={:?} scope={:?}",
            a.0,
            a.1,
            a.2.join(" ")
        ),
        format!("{} error={:?} scope={:?}", b.0, b.1, b.2.join(" ")),
    )]
}

/// The `scope` a response's Bearer challenge names (SCOPE-04's step-up request).
pub fn challenged_scope(resp: &McpResponse) -> Option<String> {
    bearer_challenge(resp).and_then(|c| c.param("scope").map(str::to_string))
}

/// SCOPE-09 (MCP-D §10): MCP servers SHOULD NOT put `offline_access` in the `scope` of a
/// `WWW-Authenticate` challenge (401 or 403): refresh tokens are not a resource requirement.
/// A response without a Bearer challenge or without `scope` has nothing to check here.
pub fn scope_09_no_offline_access(resp: &Response) -> Findings {
    let scope = www_authenticate::parse_all(resp.header_all("www-authenticate"))
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.is("Bearer"))
        .and_then(|c| c.param("scope").map(str::to_string));
    match scope {
        Some(s)
            if s.split(' ')
                .any(|t| t == crate::checks::discovery::OFFLINE_ACCESS) =>
        {
            vec![Violation::new(
                req::SCOPE_09,
                "a challenged scope without offline_access (refresh tokens are not a resource requirement)",
                format!("{} with scope={s:?}", resp.status.as_u16()),
            )]
        }
        _ => Vec::new(),
    }
}

/// The step-up scope set of MCP-D §11.1.2: the union of the scope requested before and the
/// scope the challenge names, in that order, without repeats.
pub fn scope_union(requested: &str, challenged: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for t in requested.split(' ').chain(challenged.split(' ')) {
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out.join(" ")
}

/// The scope tokens of `wanted` that `granted` lacks.
pub fn scopes_missing(wanted: &str, granted: &str) -> Vec<String> {
    let granted: Vec<&str> = granted.split(' ').collect();
    wanted
        .split(' ')
        .filter(|t| !t.is_empty() && !granted.contains(t))
        .map(str::to_string)
        .collect()
}

/// Whether a response refuses for insufficient scope: its Bearer challenge says
/// `error="insufficient_scope"`.
pub fn is_insufficient_scope(resp: &McpResponse) -> bool {
    bearer_challenge(resp).is_some_and(|c| c.param("error") == Some("insufficient_scope"))
}

/// SCOPE-10 (MCP-D §11.1.1): the first insufficient_scope challenge named every scope the
/// operation needs, so that after stepping up to `stepped_up` (the scope held before plus the
/// challenged one) the same operation is not challenged again. `None` when the retry was
/// neither carried out nor refused for scope (nothing SCOPE-10 can judge).
pub fn scope_10_one_challenge(stepped_up: &str, retry: &McpResponse) -> Option<Findings> {
    if carried_out(retry) {
        return Some(Vec::new());
    }
    if !is_insufficient_scope(retry) {
        return None;
    }
    let again = challenged_scope(retry).unwrap_or_default();
    Some(vec![Violation::new(
        req::SCOPE_10,
        format!(
            "the operation carried out after one step-up, to {stepped_up:?} (the scope requested before plus the challenged one)"
        ),
        format!(
            "a second insufficient_scope challenge for the same operation: {} scope={again:?}",
            retry.http.status.as_u16()
        ),
    )])
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

    #[test]
    fn scope_03_examples() {
        let good = mcp(
            403,
            &[(
                "www-authenticate",
                r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://h/x""#,
            )],
            "",
        );
        assert!(scope_03_insufficient_scope(&good).is_empty());
        let thin = mcp(
            403,
            &[("www-authenticate", r#"Bearer error="insufficient_scope""#)],
            "",
        );
        assert_eq!(scope_03_insufficient_scope(&thin).len(), 2);
        let done = mcp(200, &[], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(scope_03_insufficient_scope(&done).len(), 1);
    }
}

#[cfg(test)]
mod scope_and_session_tests {
    use super::*;
    use crate::checks::testing::mcp;
    use crate::requirements::Severity;

    const RESULT: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;

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

    #[test]
    fn scope_05_examples() {
        let a = mcp(
            403,
            &[(
                "www-authenticate",
                r#"Bearer error="insufficient_scope", scope="a b""#,
            )],
            "",
        );
        let same = mcp(
            403,
            &[(
                "www-authenticate",
                r#"Bearer scope="b a", error="insufficient_scope""#,
            )],
            "",
        );
        assert!(scope_05_same_challenge(&a, &same).is_empty());
        let other = mcp(
            403,
            &[(
                "www-authenticate",
                r#"Bearer error="insufficient_scope", scope="a""#,
            )],
            "",
        );
        let f = scope_05_same_challenge(&a, &other);
        assert_eq!(f[0].severity(), Severity::Should);
        assert_eq!(challenged_scope(&a).as_deref(), Some("a b"));
    }
}

#[cfg(test)]
mod revision_2026_07_28_tests {
    use super::*;
    use crate::checks::testing::{mcp, response};
    use crate::requirements::Severity;

    #[test]
    fn scope_09_examples() {
        // The MCP-D §6 401 example and the §11.1.1 403 example.
        let r401 = response(
            401,
            &[(
                "www-authenticate",
                r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", scope="files:read""#,
            )],
            "",
        );
        assert!(scope_09_no_offline_access(&r401).is_empty());
        let r403 = response(
            403,
            &[(
                "www-authenticate",
                r#"Bearer error="insufficient_scope", scope="files:write offline_access""#,
            )],
            "",
        );
        let f = scope_09_no_offline_access(&r403);
        assert_eq!(f[0].severity(), Severity::Should);
        assert!(f[0].actual.starts_with("403"));
        let similar = response(
            401,
            &[("www-authenticate", r#"Bearer scope="offline_access_logs""#)],
            "",
        );
        assert!(scope_09_no_offline_access(&similar).is_empty());
        assert!(scope_09_no_offline_access(&response(401, &[], "")).is_empty());
    }

    #[test]
    fn scope_union_and_missing() {
        assert_eq!(
            scope_union("mcp:read", "mcp:read mcp:write"),
            "mcp:read mcp:write"
        );
        assert_eq!(scope_union("a b", "c"), "a b c");
        assert_eq!(scope_union("", "c"), "c");
        assert!(scopes_missing("a b", "b a").is_empty());
        assert_eq!(scopes_missing("a b c", "a"), vec!["b", "c"]);
    }

    #[test]
    fn scope_10_examples() {
        let done = mcp(
            200,
            &[],
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#,
        );
        assert_eq!(
            scope_10_one_challenge("files:read files:write", &done),
            Some(Vec::new())
        );
        let again = mcp(
            403,
            &[(
                "www-authenticate",
                r#"Bearer error="insufficient_scope", scope="files:admin""#,
            )],
            "",
        );
        let f = scope_10_one_challenge("files:read files:write", &again).expect("judged");
        assert_eq!(f[0].severity(), Severity::Should);
        assert!(f[0].actual.contains("files:admin"));
        let other = mcp(
            401,
            &[("www-authenticate", r#"Bearer error="invalid_token""#)],
            "",
        );
        assert_eq!(scope_10_one_challenge("files:read", &other), None);
        assert!(is_insufficient_scope(&again));
        assert!(!is_insufficient_scope(&other));
    }
}
