//! Named checks. Each takes what came back and returns the violations it found (none means
//! the requirement held). A violation of a SHOULD is graded as a warning by the caller.

pub mod authorization;
pub mod cimd;
pub mod code;
pub mod discovery;
pub mod legacy;
pub mod pkce;
pub mod refresh;
pub mod registration;
pub mod replicas;
pub mod resource_binding;
pub mod resource_server;
pub mod scope;
pub mod security;
pub mod token;

use crate::client::http::Response;
use crate::client::oauth::OAuthError;
use crate::client::redact;
use crate::verdict::Violation;

/// What a check found: empty when the requirement held.
pub type Findings = Vec<Violation>;

/// One line describing a response, for "Actual:": status, media type and a short, redacted
/// body excerpt.
pub fn describe(resp: &Response) -> String {
    let media = resp
        .media_type()
        .unwrap_or_else(|| "no content type".into());
    let body = resp.text();
    let body = body.trim();
    if body.is_empty() {
        return format!("{} ({media}, empty body)", resp.status.as_u16());
    }
    let excerpt: String = match resp.json() {
        Ok(mut v) => {
            redact::redact_json(&mut v);
            v.to_string()
        }
        Err(_) => redact::redact_text(body),
    };
    let short: String = excerpt.chars().take(200).collect();
    let more = if excerpt.chars().count() > 200 {
        "…"
    } else {
        ""
    };
    format!("{} ({media}) {short}{more}", resp.status.as_u16())
}

/// An OAuth error response: one of `statuses`, a JSON body, and `error` one of `allowed`.
/// A success that issued tokens is the worst case and says so.
pub fn oauth_refusal(id: req::Id, resp: &Response, statuses: &[u16], allowed: &[&str]) -> Findings {
    let expected = format!(
        "{} with error {}",
        join_or(&statuses.iter().map(u16::to_string).collect::<Vec<_>>()),
        join_or(
            &allowed
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
        )
    );
    if resp.status.is_success() {
        let issued = resp
            .json_object()
            .is_ok_and(|o| o.contains_key("access_token"));
        let actual = if issued {
            format!("tokens were issued: {}", describe(resp))
        } else {
            describe(resp)
        };
        return vec![Violation::new(id, expected, actual)];
    }
    let err = OAuthError::from_response(resp);
    let status_ok = statuses.contains(&resp.status.as_u16());
    let code_ok = err
        .as_ref()
        .is_some_and(|e| allowed.contains(&e.error.as_str()));
    if status_ok && code_ok {
        return Vec::new();
    }
    match err {
        Some(e) if status_ok && is_registered_error(&e.error) => {
            vec![refused_with_another_code(id, expected, &e.error, allowed)]
        }
        _ => vec![Violation::new(id, expected, describe(resp))],
    }
}

/// A refusal judged by its error code alone: no success, and `error` one of `allowed`. The HTTP
/// status of an OAuth error is the requirement about statuses' to judge (TOK-01 at the token
/// endpoint, DCR-05 at registration), so a target that answers every refusal with a wrong
/// status fails that requirement once, not every scenario that provokes a refusal.
pub fn refused_with_code(id: req::Id, resp: &Response, allowed: &[&str]) -> Findings {
    let expected = format!(
        "a refusal with error {}",
        join_or(
            &allowed
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
        )
    );
    if !(resp.status.is_client_error() || resp.status.is_server_error()) {
        return oauth_refusal(id, resp, &[400], allowed);
    }
    match OAuthError::from_response(resp) {
        Some(e) if allowed.contains(&e.error.as_str()) => Vec::new(),
        Some(e) if is_registered_error(&e.error) => {
            vec![refused_with_another_code(id, expected, &e.error, allowed)]
        }
        _ => vec![Violation::new(id, expected, describe(resp))],
    }
}

/// A refusal that issued nothing, with a registered error code other than the one the
/// scenario provoked: the security property held, so the failure is the interop half only,
/// whatever the requirement's catalogue impact. It reads "refused, but with X instead of Y".
pub fn refused_with_another_code(
    id: req::Id,
    expected: impl Into<String>,
    got: &str,
    allowed: &[&str],
) -> Violation {
    let wanted = join_or(&allowed.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    Violation::new(
        id,
        expected,
        format!("refused, but with {got} instead of {wanted}"),
    )
    .interop_only()
}

/// The error codes registered for OAuth endpoints (the IANA OAuth Extensions Error registry
/// and the specifications it cites): the authorization endpoint's (OAuth 2.1 §4.1.2.1, RFC
/// 8707, OpenID Connect Core §3.1.2.6, RFC 9101), the token endpoint's (OAuth 2.1 §3.2.4),
/// dynamic registration's (RFC 7591 §3.2.2), the resource server's (RFC 6750 §3.1) and
/// revocation's (RFC 7009 §2.2.1). A refusal with one of them is an OAuth refusal for some
/// reason; with any other code, or none, it is not recognisably one.
pub fn is_registered_error(code: &str) -> bool {
    const OTHER_ENDPOINTS: [&str; 7] = [
        "invalid_redirect_uri",
        "invalid_client_metadata",
        "invalid_software_statement",
        "unapproved_software_statement",
        "invalid_token",
        "insufficient_scope",
        "unsupported_token_type",
    ];
    authorization::response::AUTHORIZATION_ERROR_CODES
        .iter()
        .chain(token::TOKEN_ERROR_CODES.iter())
        .chain(OTHER_ENDPOINTS.iter())
        .any(|c| *c == code)
}

pub fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// `https`, or `http` on a loopback host (development targets).
pub fn is_https_or_loopback(u: &url::Url) -> bool {
    u.scheme() == "https"
        || (u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")))
}

#[cfg(test)]
pub(crate) mod testing {
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    use url::Url;

    use crate::client::http::Response;

    /// A response for check tests.
    pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                h.append(k, v);
            }
        }
        Response {
            url: Url::parse("https://as.example/token").expect("url"),
            status: StatusCode::from_u16(status).expect("status"),
            headers: h,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn json(status: u16, body: &str) -> Response {
        response(status, &[("content-type", "application/json")], body)
    }

    /// A metadata document (PRM or AS metadata) served with `body`.
    pub fn doc(body: &str) -> crate::client::discovery::Document {
        let r = json(200, body);
        crate::client::discovery::Document {
            url: Url::parse("https://h/.well-known/x").expect("url"),
            members: r.json_object().expect("object"),
            response: r,
        }
    }

    /// An authorization that ended in a redirect to `location` carrying `params`.
    pub fn redirect_to(
        location: &str,
        params: &[(&str, &str)],
    ) -> crate::client::login::AuthorizationOutcome {
        crate::client::login::AuthorizationOutcome::Redirect {
            location: Url::parse(location).expect("url"),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// An authorization that ended in a redirect to the loopback redirect URI.
    pub fn redirect(params: &[(&str, &str)]) -> crate::client::login::AuthorizationOutcome {
        redirect_to("http://127.0.0.1:1/cb", params)
    }

    /// An authorization that ended at an error page of the AS.
    pub fn page() -> crate::client::login::AuthorizationOutcome {
        crate::client::login::AuthorizationOutcome::Page {
            url: Url::parse("https://as/authorize").expect("url"),
            status: 400,
            reason: "an error status".into(),
        }
    }

    /// An MCP server's answer: the HTTP response and the JSON-RPC message in its body.
    pub fn mcp(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> crate::client::mcp::McpResponse {
        crate::client::mcp::McpResponse {
            message: serde_json::from_str(body).ok(),
            http: response(status, headers, body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::json;
    use super::*;

    #[test]
    fn oauth_refusal_pass_and_fail() {
        let ok = json(
            400,
            r#"{"error":"invalid_grant","error_description":"bad"}"#,
        );
        assert!(oauth_refusal(req::PKCE_06, &ok, &[400], &["invalid_grant"]).is_empty());
        let wrong = json(400, r#"{"error":"invalid_request"}"#);
        let f = oauth_refusal(req::PKCE_06, &wrong, &[400], &["invalid_grant"]);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("invalid_request"));
        let issued = json(
            200,
            r#"{"access_token":"eyJhbGciOi.x.y","token_type":"Bearer"}"#,
        );
        let f = oauth_refusal(req::PKCE_06, &issued, &[400], &["invalid_grant"]);
        assert!(f[0].actual.starts_with("tokens were issued"));
        assert!(!f[0].actual.contains("eyJhbGciOi.x.y"));
        let not_json = super::testing::response(400, &[], "nope");
        assert_eq!(
            oauth_refusal(req::PKCE_06, &not_json, &[400], &["invalid_grant"]).len(),
            1
        );
    }

    #[test]
    fn a_refusal_by_code_leaves_the_status_to_its_own_requirement() {
        let with_401 = json(401, r#"{"error":"invalid_grant"}"#);
        assert!(refused_with_code(req::CODE_02, &with_401, &["invalid_grant"]).is_empty());
        assert_eq!(
            oauth_refusal(req::CODE_02, &with_401, &[400], &["invalid_grant"]).len(),
            1,
            "the status-judging check still sees the 401"
        );
        let wrong_code = json(400, r#"{"error":"invalid_request"}"#);
        let f = refused_with_code(req::CODE_02, &wrong_code, &["invalid_grant"]);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("invalid_request"), "{}", f[0].actual);
        let issued = json(
            200,
            r#"{"access_token":"at-0123456789","token_type":"Bearer"}"#,
        );
        let f = refused_with_code(req::CODE_02, &issued, &["invalid_grant"]);
        assert!(
            f[0].actual.starts_with("tokens were issued"),
            "{}",
            f[0].actual
        );
        let redirect = super::testing::response(302, &[("location", "https://x/")], "");
        assert_eq!(
            refused_with_code(req::CODE_02, &redirect, &["invalid_grant"]).len(),
            1
        );
    }

    #[test]
    fn a_refusal_with_another_registered_code_fails_the_interop_half_only() {
        use crate::requirements::Impact;
        assert_eq!(
            Violation::new(req::PKCE_06, "", "").impact(),
            Impact::Security
        );
        let other = json(400, r#"{"error":"invalid_request"}"#);
        let f = refused_with_code(req::PKCE_06, &other, &["invalid_grant"]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].actual,
            "refused, but with invalid_request instead of invalid_grant"
        );
        assert_eq!(f[0].impact(), Impact::Interop);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Must);
        let either = refused_with_code(req::PKCE_06, &other, &["invalid_grant", "invalid_scope"]);
        assert_eq!(
            either[0].actual,
            "refused, but with invalid_request instead of invalid_grant or invalid_scope"
        );
        let at_authorization = authorization::refused_with(
            req::PKCE_01,
            &super::testing::redirect(&[("error", "invalid_scope")]),
            "invalid_request",
        );
        assert_eq!(
            at_authorization[0].actual,
            "refused, but with invalid_scope instead of invalid_request"
        );
        assert_eq!(at_authorization[0].impact(), Impact::Interop);
        let status_judged = oauth_refusal(req::PKCE_06, &other, &[400], &["invalid_grant"]);
        assert_eq!(status_judged[0].impact(), Impact::Interop);
        // An unregistered code, no code, or tokens issued keep the catalogue's impact.
        for resp in [
            json(400, r#"{"error":"nope"}"#),
            super::testing::response(400, &[], "nope"),
            json(
                200,
                r#"{"access_token":"at-0123456789","token_type":"Bearer"}"#,
            ),
        ] {
            let f = refused_with_code(req::PKCE_06, &resp, &["invalid_grant"]);
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].impact(), Impact::Security, "{}", f[0].actual);
            assert!(!f[0].actual.starts_with("refused, but"), "{}", f[0].actual);
        }
    }

    #[test]
    fn loopback_http_is_allowed_and_other_http_is_not() {
        let u = |s: &str| url::Url::parse(s).expect("url");
        assert!(is_https_or_loopback(&u("https://a.example/x")));
        assert!(is_https_or_loopback(&u("http://127.0.0.1:8/x")));
        assert!(is_https_or_loopback(&u("http://[::1]:8/x")));
        assert!(!is_https_or_loopback(&u("http://a.example/x")));
    }
}
