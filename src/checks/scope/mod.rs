//! Scopes (MCP 2025-11-25 §10.1.1, 2026-07-28 §10, §11.1): the scope the 401 challenge names
//! (SCOPE-01, SCOPE-02), the insufficient_scope challenge and step-up (SCOPE-03..05, SCOPE-07,
//! SCOPE-09, SCOPE-10); and what a [`grant`] states (SCOPE-06, SCOPE-08).

pub mod grant;

use super::discovery::prm::OFFLINE_ACCESS;
use super::resource_server::{bearer_challenge, carried_out};

use crate::checks::{Findings, describe};
use crate::client::discovery::Probe;
use crate::client::http::Response;
use crate::client::mcp::McpResponse;
use crate::client::www_authenticate;
use crate::verdict::Violation;

/// Judged by the MCP server's acceptance of a request ([`super::resource_server::accepted`]).
pub const JUDGED_BY_ACCEPTANCE: &[req::Id] = &[
    req::SCOPE_04, // the stepped-up token allows the operation and the rest (MCP-C §10.1.1)
    req::SCOPE_07, // a down-scoped token works for what it covers (SBP-C §2.5.3)
];

/// Whether `scope` follows RFC 6749 §3.3: space-separated scope-tokens of %x21 / %x23-5B /
/// %x5D-7E.
pub fn is_scope_syntax(scope: &str) -> bool {
    !scope.is_empty()
        && scope.split(' ').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

/// SCOPE-01: the 401 challenge names the scope the request needs, in scope syntax.
pub fn scope_01_challenge_scope(probe: &Probe) -> Findings {
    match probe.bearer().and_then(|c| c.param("scope")) {
        None => vec![Violation::new(
            req::SCOPE_01,
            "a scope parameter in the Bearer challenge",
            "no scope parameter",
        )],
        Some(s) if !is_scope_syntax(s) => vec![Violation::new(
            req::SCOPE_01,
            "space-separated scope tokens (RFC 6749 §3.3)",
            format!("scope={s:?}"),
        )],
        Some(_) => Vec::new(),
    }
}

/// How a challenged scope set relates to `scopes_supported` (MCP-C §4.2, MCP-D §6: any
/// relation is allowed, and clients must not assume one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRelation {
    Equal,
    Subset,
    Superset,
    Overlapping,
    Disjoint,
}

impl std::fmt::Display for ScopeRelation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScopeRelation::Equal => "equal to",
            ScopeRelation::Subset => "a subset of",
            ScopeRelation::Superset => "a superset of",
            ScopeRelation::Overlapping => "overlapping, neither subset nor superset of",
            ScopeRelation::Disjoint => "disjoint from",
        })
    }
}

/// The relation of `challenged` to `supported`, as sets of scope tokens.
pub fn scope_relation(challenged: &[&str], supported: &[&str]) -> ScopeRelation {
    use std::collections::BTreeSet;
    let c: BTreeSet<&str> = challenged.iter().copied().collect();
    let s: BTreeSet<&str> = supported.iter().copied().collect();
    match (c.is_subset(&s), s.is_subset(&c)) {
        (true, true) => ScopeRelation::Equal,
        (true, false) => ScopeRelation::Subset,
        (false, true) => ScopeRelation::Superset,
        (false, false) if c.is_disjoint(&s) => ScopeRelation::Disjoint,
        (false, false) => ScopeRelation::Overlapping,
    }
}

/// SCOPE-02 (MCP-C §4.2, MCP-D §6): the challenged scope may relate to `scopes_supported` in
/// any way. Recorded (info) when the challenge names scopes `scopes_supported` does not list,
/// the case a client assuming a subset would trip over; equal or a subset passes. `None`
/// when the challenge names no scope (nothing to relate; SCOPE-01 grades that).
pub fn scope_02_challenge_vs_supported(
    challenged: Option<&str>,
    supported: Option<&[String]>,
) -> Option<Findings> {
    let challenged: Vec<&str> = challenged?.split(' ').filter(|t| !t.is_empty()).collect();
    if challenged.is_empty() {
        return None;
    }
    let expected =
        "any relation (recorded when the challenge names scopes scopes_supported does not list)";
    let Some(supported) = supported else {
        return Some(vec![Violation::new(
            req::SCOPE_02,
            expected,
            format!(
                "the challenge names {:?}; PRM has no scopes_supported to relate it to",
                challenged.join(" ")
            ),
        )]);
    };
    let listed: Vec<&str> = supported.iter().map(String::as_str).collect();
    let relation = scope_relation(&challenged, &listed);
    if matches!(relation, ScopeRelation::Equal | ScopeRelation::Subset) {
        return Some(Vec::new());
    }
    let unlisted: Vec<&str> = challenged
        .iter()
        .copied()
        .filter(|t| !listed.contains(t))
        .collect();
    Some(vec![Violation::new(
        req::SCOPE_02,
        expected,
        format!(
            "the challenged scope {:?} is {relation} scopes_supported {:?} (not listed: {})",
            challenged.join(" "),
            listed.join(" "),
            unlisted.join(" ")
        ),
    )])
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
        Some(s) if s.split(' ').any(|t| t == OFFLINE_ACCESS) => {
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
    use crate::checks::testing::{mcp, response};
    use crate::client::www_authenticate;
    use crate::requirements::Severity;

    #[test]
    fn scope_01_examples() {
        let probe = |www: &str| {
            let r = response(401, &[("www-authenticate", www)], "");
            Probe {
                challenges: www_authenticate::parse_all(r.header_all("www-authenticate")),
                response: r,
            }
        };
        assert!(
            scope_01_challenge_scope(&probe(r#"Bearer scope="mcp:read files:write""#)).is_empty()
        );
        let none = scope_01_challenge_scope(&probe(r#"Bearer resource_metadata="https://h/x""#));
        assert_eq!(none[0].severity(), Severity::Should);
        assert_eq!(
            scope_01_challenge_scope(&probe(r#"Bearer scope="a  b""#)).len(),
            1
        );
        assert_eq!(
            scope_01_challenge_scope(&probe(r#"Bearer scope="a\"b""#)).len(),
            1
        );
        assert!(is_scope_syntax("openid profile"));
        assert!(!is_scope_syntax(""));
        assert!(!is_scope_syntax("a\\b"));
    }

    #[test]
    fn scope_relations() {
        assert_eq!(
            scope_relation(&["a", "b"], &["b", "a"]),
            ScopeRelation::Equal
        );
        assert_eq!(scope_relation(&["a"], &["a", "b"]), ScopeRelation::Subset);
        assert_eq!(
            scope_relation(&["a", "b", "c"], &["a"]),
            ScopeRelation::Superset
        );
        assert_eq!(
            scope_relation(&["a", "c"], &["a", "b"]),
            ScopeRelation::Overlapping
        );
        assert_eq!(scope_relation(&["c"], &["a", "b"]), ScopeRelation::Disjoint);
    }

    #[test]
    fn scope_02_examples() {
        let supported = vec!["files:read".to_string(), "files:write".to_string()];
        // The MCP-D §6 example: scope="files:read", a subset.
        assert_eq!(
            scope_02_challenge_vs_supported(Some("files:read"), Some(&supported)),
            Some(Vec::new())
        );
        assert_eq!(
            scope_02_challenge_vs_supported(Some("files:write files:read"), Some(&supported)),
            Some(Vec::new())
        );
        let f = scope_02_challenge_vs_supported(Some("files:read admin"), Some(&supported))
            .expect("a scope to relate");
        assert_eq!(f[0].severity(), Severity::Info);
        assert!(f[0].actual.contains("overlapping"), "{}", f[0].actual);
        assert!(f[0].actual.contains("not listed: admin"), "{}", f[0].actual);
        let f = scope_02_challenge_vs_supported(Some("other"), Some(&supported)).expect("scope");
        assert!(f[0].actual.contains("disjoint"), "{}", f[0].actual);
        let f = scope_02_challenge_vs_supported(Some("files:read"), None).expect("scope");
        assert_eq!(f.len(), 1);
        assert_eq!(
            scope_02_challenge_vs_supported(None, Some(&supported)),
            None
        );
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
