//! Checks of the rules MCP 2025-03-26 alone has: metadata at the authorization base URL
//! (LEG-01), the default endpoints of a server without metadata (LEG-02), a route to a client
//! ID (LEG-04), and limited, rotated tokens (LEG-07).

use url::Url;

use super::{Findings, describe};
use crate::client::http::Response;
use crate::client::oauth::TokenSet;
use crate::verdict::Violation;

/// Judged by the authorization endpoint's refusal
/// ([`super::authorization::refused_with`]).
pub const JUDGED_BY_AUTHORIZATION_REFUSAL: &[req::Id] = &[
    req::LEG_05, // no code_challenge: PKCE is required (MCP-A Implementation Requirements)
];

/// Judged by the MCP server's status code ([`super::resource_server::status_is`]).
pub const JUDGED_BY_STATUS: &[req::Id] = &[
    req::LEG_03, // a request without credentials: 401 (MCP-A)
];

/// Judged by the registration endpoint's refusal ([`super::registration::refused_with`]).
pub const JUDGED_BY_REGISTRATION_REFUSAL: &[req::Id] = &[
    req::LEG_06, // a redirect URI neither localhost nor https (MCP-A Security Considerations)
];

/// LEG-01: the metadata sits at `{origin}/.well-known/oauth-authorization-server` (MUST), and a
/// server without metadata answers 404 there, which sends clients to the default endpoints
/// (serving metadata at all is a SHOULD: a 404 is a warning). `elsewhere` holds the other
/// places the harness looked after a 404: metadata found there is in the wrong place.
pub fn leg_01_metadata_location(
    root: &Response,
    root_url: &Url,
    elsewhere: &[(Url, Response)],
) -> Findings {
    let expected = format!("a JSON object at {root_url} (or 404 if there is no metadata at all)");
    let status = root.status.as_u16();
    if status == 200 {
        return match root.json_object() {
            Ok(_) => Vec::new(),
            Err(e) => vec![Violation::new(
                req::LEG_01,
                expected,
                format!("{e}: {}", describe(root)),
            )],
        };
    }
    if status != 404 {
        return vec![Violation::new(
            req::LEG_01,
            expected,
            format!(
                "{}: neither metadata nor the 404 that sends clients to the default endpoints",
                describe(root)
            ),
        )];
    }
    let misplaced: Vec<String> = elsewhere
        .iter()
        .filter(|(_, r)| r.status.as_u16() == 200 && r.json_object().is_ok())
        .map(|(u, _)| u.to_string())
        .collect();
    if !misplaced.is_empty() {
        return vec![Violation::new(
            req::LEG_01,
            expected,
            format!(
                "404 at {root_url}, but metadata is served at {}",
                misplaced.join(", ")
            ),
        )];
    }
    vec![
        Violation::new(req::LEG_01, expected, format!("404 at {root_url}")).as_warning(
            "serving metadata is a SHOULD in 2025-03-26; without it the default endpoints apply (LEG-02)",
        ),
    ]
}

/// LEG-02: a server without metadata offers `/authorize` and `/token` at the authorization base
/// URL. Only a 404 (or 405 for the method the endpoint must take) says the endpoint is not
/// there: any other answer to the harness's deliberately incomplete probes is the endpoint's
/// own refusal.
pub fn leg_02_default_endpoints(authorize: &Response, token: &Response) -> Findings {
    let mut out = Vec::new();
    for (name, method, resp) in [("/authorize", "GET", authorize), ("/token", "POST", token)] {
        if matches!(resp.status.as_u16(), 404 | 405) {
            out.push(Violation::new(
                req::LEG_02,
                format!("{method} {name} at the authorization base URL answered by the endpoint"),
                describe(resp),
            ));
        }
    }
    out
}

/// LEG-04: a client can get a client ID: the metadata advertises `registration_endpoint`, or
/// the default `/register` registers (201). `fallback` is the answer of `/register` when the
/// metadata advertises none.
pub fn leg_04_registration_offered(advertised: bool, fallback: Option<&Response>) -> Findings {
    if advertised {
        return Vec::new();
    }
    match fallback {
        Some(r) if r.status.as_u16() == 201 => Vec::new(),
        other => vec![Violation::new(
            req::LEG_04,
            "a registration_endpoint in the metadata, or 201 from POST /register",
            match other {
                Some(r) => format!(
                    "no registration_endpoint; /register answered {}",
                    describe(r)
                ),
                None => "no registration_endpoint".into(),
            },
        )],
    }
}

/// LEG-07: token lifetimes are limited (every token response names a finite `expires_in`) and
/// tokens rotate (the refresh returned a refresh token other than `old_refresh`).
pub fn leg_07_limited_and_rotated(
    issued: &Response,
    old_refresh: &str,
    refreshed: &Response,
) -> Findings {
    let mut out = Vec::new();
    for (what, resp) in [("the code redemption", issued), ("the refresh", refreshed)] {
        match TokenSet::from_response(resp) {
            Err(e) => out.push(Violation::new(
                req::LEG_07,
                format!("tokens from {what}"),
                format!("{e}: {}", describe(resp)),
            )),
            Ok(t) if t.expires_in.is_none_or(|s| s == 0) => out.push(Violation::new(
                req::LEG_07,
                format!("a positive expires_in in {what}'s response"),
                "no expires_in: the access token's lifetime is not limited as far as the client can tell",
            )),
            Ok(_) => {}
        }
    }
    if let Ok(t) = TokenSet::from_response(refreshed) {
        match t.refresh_token {
            Some(new) if new.expose() != old_refresh => {}
            Some(_) => out.push(Violation::new(
                req::LEG_07,
                "a new refresh token from the refresh",
                "the same refresh token",
            )),
            None => out.push(Violation::new(
                req::LEG_07,
                "a new refresh token from the refresh",
                "no refresh_token in the response",
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{json, response};

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn leg_01_metadata_at_the_root_passes() {
        let root = url("https://api.example.com/.well-known/oauth-authorization-server");
        let ok = json(200, r#"{"issuer":"https://api.example.com"}"#);
        assert!(leg_01_metadata_location(&ok, &root, &[]).is_empty());
    }

    #[test]
    fn leg_01_misplaced_metadata_fails_and_none_at_all_warns() {
        let root = url("https://api.example.com/.well-known/oauth-authorization-server");
        let missing = response(404, &[], "");
        let other = url("https://api.example.com/.well-known/oauth-authorization-server/v1/mcp");
        let found = json(200, r#"{"issuer":"https://api.example.com/v1/mcp"}"#);
        let f = leg_01_metadata_location(&missing, &root, &[(other.clone(), found)]);
        assert_eq!(f.len(), 1);
        assert!(f[0].downgraded.is_none());
        assert!(f[0].actual.contains("/v1/mcp"));
        let f = leg_01_metadata_location(&missing, &root, &[(other, response(404, &[], ""))]);
        assert!(f[0].downgraded.is_some());
        let broken = response(500, &[], "oops");
        assert!(
            leg_01_metadata_location(&broken, &root, &[])[0]
                .downgraded
                .is_none()
        );
    }

    #[test]
    fn leg_02_only_a_missing_endpoint_fails() {
        let page = response(400, &[("content-type", "text/html")], "<p>bad request</p>");
        let err = json(400, r#"{"error":"invalid_grant"}"#);
        assert!(leg_02_default_endpoints(&page, &err).is_empty());
        let gone = response(404, &[], "");
        let f = leg_02_default_endpoints(&gone, &gone);
        assert_eq!(f.len(), 2);
        assert!(f[0].expected.contains("/authorize"));
    }

    #[test]
    fn leg_04_needs_an_endpoint_or_a_working_default() {
        assert!(leg_04_registration_offered(true, None).is_empty());
        let created = json(201, r#"{"client_id":"c"}"#);
        assert!(leg_04_registration_offered(false, Some(&created)).is_empty());
        let gone = response(404, &[], "");
        assert_eq!(leg_04_registration_offered(false, Some(&gone)).len(), 1);
    }

    #[test]
    fn leg_07_wants_expiry_and_rotation() {
        let first = json(
            200,
            r#"{"access_token":"a","token_type":"Bearer","expires_in":300,"refresh_token":"r1"}"#,
        );
        let rotated = json(
            200,
            r#"{"access_token":"b","token_type":"Bearer","expires_in":300,"refresh_token":"r2"}"#,
        );
        assert!(leg_07_limited_and_rotated(&first, "r1", &rotated).is_empty());
        let same = json(
            200,
            r#"{"access_token":"b","token_type":"Bearer","refresh_token":"r1"}"#,
        );
        let f = leg_07_limited_and_rotated(&first, "r1", &same);
        assert_eq!(f.len(), 2, "no expires_in, and not rotated: {f:?}");
    }
}
