//! Checks of the MCP server as resource server (RS-*, SCOPE-03).

use super::{Findings, describe};
use crate::client::mcp::McpResponse;
use crate::client::www_authenticate;
use crate::verdict::Violation;

/// The MCP server answered: 2xx with a JSON-RPC result (for requests; 202 for notifications).
pub fn accepted(id: &str, resp: &McpResponse) -> Findings {
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
pub fn refused_401(id: &str, resp: &McpResponse) -> Findings {
    if resp.http.status.as_u16() == 401 {
        Vec::new()
    } else {
        vec![Violation::new(id, "401", describe(&resp.http))]
    }
}

/// RS-04 and RS-06: 401 (MUST) whose Bearer challenge says `error="invalid_token"` (SHOULD).
/// An empty token may also get 400 `invalid_request`.
pub fn invalid_token(id: &str, resp: &McpResponse, empty_token: bool) -> Findings {
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
    let id = "SCOPE-03";
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::response;
    use crate::requirements::Severity;

    fn mcp(status: u16, headers: &[(&str, &str)], body: &str) -> McpResponse {
        let http = response(status, headers, body);
        McpResponse {
            message: serde_json::from_str(body).ok(),
            http,
        }
    }

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
        assert!(invalid_token("RS-04", &good, false).is_empty());
        let bare = mcp(
            401,
            &[(
                "www-authenticate",
                r#"Bearer resource_metadata="https://h/x""#,
            )],
            "",
        );
        assert_eq!(
            invalid_token("RS-04", &bare, false)[0].severity(),
            Severity::Should
        );
        let ok = mcp(200, &[], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(
            invalid_token("RS-04", &ok, false)[0].severity(),
            Severity::Must
        );
        let refused_empty = mcp(
            400,
            &[("www-authenticate", r#"Bearer error="invalid_request""#)],
            "",
        );
        assert!(invalid_token("RS-04", &refused_empty, true).is_empty());
        // A 400 without a Bearer challenge may come from the MCP layer after the empty token
        // was let through.
        assert_eq!(invalid_token("RS-04", &mcp(400, &[], ""), true).len(), 1);
        assert!(accepted("RS-02", &ok).is_empty());
        assert_eq!(refused_401("RS-09", &ok).len(), 1);
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
