//! Several instances of one authorization server (OAuth 2.1 §4.1.3, §4.3.1): a code or a
//! refresh token spent at one instance is spent at every other, a replaced refresh token
//! reused at one revokes the live one at every other, and a code expired at one is expired at
//! every other (REPL-*). Each instance's answer is judged by the token endpoint's rules and
//! named by the instance's origin (or its route, `X-Instance: b`).

use super::Findings;
use super::token::{exactly_one_success, refused_with};
use crate::client::http::Response;
use crate::client::oauth::TokenSet;

/// Judged by the refusal at every other instance ([`refused_at_every_instance`]).
pub const JUDGED_BY_REFUSAL_AT_INSTANCES: &[req::Id] = &[
    req::REPL_01, // a code redeemed at one instance, replayed at another (O21 §4.1.3)
    req::REPL_03, // a refresh token replaced at one instance, reused at another (O21 §4.3.1)
    req::REPL_04, // a refresh token revoked at one instance, used at another (RFC 7009 §2.1)
    req::REPL_07, // a code expired where the metadata says, redeemed at another (O21 §4.1.3)
];

/// Judged by the MCP server's answer to a token revoked at another instance
/// ([`refused_after_revocation_elsewhere`]).
pub const JUDGED_BY_RESOURCE_SERVER: &[req::Id] = &[
    req::REPL_05, // an access token revoked at another instance (RFC 7009 §2.1, RFC 6750 §3.1)
];

/// Judged by the live refresh token after a replaced one was reused at the other instances
/// ([`live_refused_after_reuse_elsewhere`]).
pub const JUDGED_BY_LIVE_AFTER_REUSE: &[req::Id] = &[
    req::REPL_06, // the reuse revokes the live refresh token for the deployment (O21 §4.3.1)
];

/// Judged by the race across instances ([`exactly_one_success_across`]).
pub const JUDGED_BY_RACE_ACROSS: &[req::Id] = &[
    req::REPL_02, // concurrent redemptions spread over the instances: one token (O21 §4.1.3)
];

/// REPL-01, REPL-03, REPL-04, REPL-07: every instance's answer (`origin`, response) is a
/// refusal with one of `allowed`, as the token endpoint's refusal is judged; a violation names
/// the instance.
pub fn refused_at_every_instance(
    id: req::Id,
    answers: &[(String, Response)],
    allowed: &[&str],
) -> Findings {
    answers
        .iter()
        .flat_map(|(origin, resp)| {
            refused_with(id, resp, allowed)
                .into_iter()
                .map(move |mut v| {
                    v.actual = format!("at the instance {origin}: {}", v.actual);
                    if refused_with_another_registered_code(resp) {
                        // Nothing was issued: the property this requirement owns held. Which
                        // code a refusal carries is judged at the endpoint the metadata names
                        // (CODE-02, REFRESH-02), and another instance may refuse for a reason
                        // of its own (a client it does not know), so the code is only noted.
                        v = v.as_info(
                            "the instance refused and issued nothing: single use held there; the error code is judged at the endpoint the AS metadata names",
                        );
                    }
                    v
                })
        })
        .collect()
}

/// REPL-06's precondition, REPL-03's property: every other instance (`origin`, response)
/// refused the reuse of a replaced refresh token with a registered error code. Otherwise the
/// first answer that did not (tokens, or a refusal without a registered code), described: then
/// the revocation the reuse should trigger cannot be judged, and the deviation is REPL-03's.
pub fn reuse_not_refused(answers: &[(String, Response)]) -> Option<String> {
    answers
        .iter()
        .find(|(_, r)| !refused_with_another_registered_code(r))
        .map(|(origin, r)| format!("at the instance {origin}: {}", super::describe(r)))
}

/// REPL-06: after every other instance refused the reuse of a replaced refresh token
/// (`reuse`), the live refresh token is refused with `invalid_grant` at the token endpoint the
/// metadata names (`origin`, answering `live`): the reuse revoked it for the whole deployment.
/// Tokens are a failure once an instance refused the reuse with `invalid_grant`; where every
/// instance refused it with another registered code (`invalid_client` from an instance that
/// does not know the client), it may not have seen a reuse at all, and tokens are only noted.
/// A refusal with another registered code issued nothing: the revocation held, and the code
/// is judged where the metadata says (REFRESH-03).
pub fn live_refused_after_reuse_elsewhere(
    id: req::Id,
    reuse: &[(String, Response)],
    origin: &str,
    live: &Response,
) -> Findings {
    let seen_as_reuse: Vec<&str> = reuse
        .iter()
        .filter(|(_, r)| refused_with(id, r, &["invalid_grant"]).is_empty())
        .map(|(o, _)| o.as_str())
        .collect();
    let served = TokenSet::from_response(live).is_ok();
    refused_with(id, live, &["invalid_grant"])
        .into_iter()
        .map(|mut v| {
            let after = if seen_as_reuse.is_empty() {
                "after every other instance refused the reuse of the replaced refresh token with another error code".to_string()
            } else {
                format!(
                    "after the reuse of the replaced refresh token was refused with invalid_grant at {}",
                    seen_as_reuse.join(", ")
                )
            };
            v.actual = format!("{after}, the live refresh token at {origin}: {}", v.actual);
            if served && seen_as_reuse.is_empty() {
                v = v.as_info(
                    "no other instance refused the reuse with invalid_grant, so none may have seen it as a reuse: the live refresh token being served is noted, not failed",
                );
            } else if !served && refused_with_another_registered_code(live) {
                v = v.as_info(
                    "the live refresh token was refused and nothing issued: the revocation held; the error code is judged where the AS metadata says (REFRESH-03)",
                );
            }
            v
        })
        .collect()
}

/// A refusal (4xx or 5xx) carrying a registered OAuth error code.
fn refused_with_another_registered_code(resp: &Response) -> bool {
    (resp.status.is_client_error() || resp.status.is_server_error())
        && crate::client::oauth::OAuthError::from_response(resp)
            .is_some_and(|e| super::is_registered_error(&e.error))
}

/// REPL-02: of concurrent redemptions of one code spread over the instances (`origin`,
/// response), exactly one succeeds and the others are refused with `error`; a violation names
/// the instances that issued tokens.
pub fn exactly_one_success_across(
    id: req::Id,
    answers: &[(String, Response)],
    error: &str,
) -> Findings {
    let responses: Vec<Response> = answers.iter().map(|(_, r)| r.clone()).collect();
    let mut out = exactly_one_success(id, &responses, error);
    // One token, and every other answer a refusal with a registered code: single use held;
    // which code each instance chose is only noted (as for REPL-01).
    let one = answers
        .iter()
        .filter(|(_, r)| r.status.is_success())
        .count()
        == 1;
    let otherwise_refused = answers.iter().all(|(_, r)| {
        r.status.is_success()
            || refused_with(id, r, &[error]).is_empty()
            || refused_with_another_registered_code(r)
    });
    if one && otherwise_refused {
        out = out
            .into_iter()
            .map(|v| {
                v.as_info(
                    "one token was issued and every other redemption refused: single use held; the error codes are judged at the endpoint the AS metadata names",
                )
            })
            .collect();
    }
    let mut issuers: Vec<&str> = answers
        .iter()
        .filter(|(_, r)| r.status.is_success())
        .map(|(o, _)| o.as_str())
        .collect();
    issuers.sort_unstable();
    issuers.dedup();
    for v in &mut out {
        if !issuers.is_empty() {
            v.actual = format!("{} (tokens issued at {})", v.actual, issuers.join(", "));
        }
    }
    out
}

/// REPL-05: the MCP server refuses, with 401, an access token revoked at another instance
/// (`origin`). Unlike RS-12, a self-contained token is no excuse: the positive control showed
/// that this resource server sees revocations made where the metadata says.
pub fn refused_after_revocation_elsewhere(
    id: req::Id,
    resp: &crate::client::mcp::McpResponse,
    origin: &str,
) -> Findings {
    super::resource_server::refused_401(id, resp)
        .into_iter()
        .map(|mut v| {
            v.actual = format!("revoked at the instance {origin}: {}", v.actual);
            v
        })
        .collect()
}

/// How many of `responses` issued tokens: the positive control of a race at one instance.
pub fn successes(responses: &[Response]) -> usize {
    responses
        .iter()
        .filter(|r| TokenSet::from_response(r).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::json;

    const TOKENS: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":300}"#;
    const GRANT: &str = r#"{"error":"invalid_grant"}"#;

    fn at(origin: &str, status: u16, body: &str) -> (String, Response) {
        (origin.to_string(), json(status, body))
    }

    #[test]
    fn a_replay_refused_at_every_instance_passes_and_one_served_names_its_instance() {
        let refused = [
            at("https://as-2", 400, GRANT),
            at("https://as-3", 400, GRANT),
        ];
        assert!(refused_at_every_instance(req::REPL_01, &refused, &["invalid_grant"]).is_empty());
        let served = [
            at("https://as-2", 400, GRANT),
            at("https://as-3", 200, TOKENS),
        ];
        let f = refused_at_every_instance(req::REPL_01, &served, &["invalid_grant"]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, req::REPL_01);
        assert!(
            f[0].actual.starts_with("at the instance https://as-3: "),
            "{}",
            f[0].actual
        );
    }

    #[test]
    fn an_expired_code_refused_at_every_instance_passes_and_one_redeemed_fails_naming_it() {
        assert!(JUDGED_BY_REFUSAL_AT_INSTANCES.contains(&req::REPL_07));
        let refused = [
            at("https://as-2", 400, GRANT),
            at("https://as-3", 400, GRANT),
        ];
        assert!(refused_at_every_instance(req::REPL_07, &refused, &["invalid_grant"]).is_empty());
        // The first other instance honours the expired code; the next one sees it redeemed.
        let honoured = [
            at("https://as-2", 200, TOKENS),
            at("https://as-3", 400, GRANT),
        ];
        let f = refused_at_every_instance(req::REPL_07, &honoured, &["invalid_grant"]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, req::REPL_07);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Must);
        assert!(
            f[0].actual.starts_with("at the instance https://as-2: "),
            "{}",
            f[0].actual
        );
    }

    #[test]
    fn one_token_across_the_instances_passes_and_two_name_where_they_were_issued() {
        let one = [
            at("https://as-1", 200, TOKENS),
            at("https://as-2", 400, GRANT),
            at("https://as-1", 400, GRANT),
        ];
        assert!(exactly_one_success_across(req::REPL_02, &one, "invalid_grant").is_empty());
        let two = [
            at("https://as-1", 200, TOKENS),
            at("https://as-2", 200, TOKENS),
            at("https://as-1", 400, GRANT),
        ];
        let f = exactly_one_success_across(req::REPL_02, &two, "invalid_grant");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].actual
                .contains("tokens issued at https://as-1, https://as-2"),
            "{}",
            f[0].actual
        );
        assert_eq!(successes(&[json(200, TOKENS), json(400, GRANT)]), 1);
    }

    #[test]
    fn a_token_revoked_elsewhere_and_refused_passes_and_served_warns_naming_the_instance() {
        use crate::checks::testing::mcp;
        let refused = mcp(
            401,
            &[("www-authenticate", "Bearer error=\"invalid_token\"")],
            "",
        );
        assert!(
            refused_after_revocation_elsewhere(req::REPL_05, &refused, "https://as-2").is_empty()
        );
        // A self-contained token is no excuse here: the finding keeps the catalogue's level.
        let served = mcp(
            200,
            &[],
            r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#,
        );
        let f = refused_after_revocation_elsewhere(req::REPL_05, &served, "https://as-2");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Should);
        assert!(
            f[0].actual.contains("revoked at the instance https://as-2"),
            "{}",
            f[0].actual
        );
    }

    #[test]
    fn another_instance_refusing_with_another_code_is_noted_not_failed() {
        let refused = [at("https://as-2", 401, r#"{"error":"invalid_client"}"#)];
        let f = refused_at_every_instance(req::REPL_01, &refused, &["invalid_grant"]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Info);
        // A refusal without a registered code says nothing of what was refused: still a failure.
        let bare = [at("https://as-2", 500, "oops")];
        let f = refused_at_every_instance(req::REPL_01, &bare, &["invalid_grant"]);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Must);
    }

    #[test]
    fn one_token_across_and_another_code_elsewhere_is_noted_not_failed() {
        let answers = [
            at("https://as-1", 200, TOKENS),
            at("https://as-2", 400, r#"{"error":"invalid_grant"}"#),
            at("https://as-3", 401, r#"{"error":"invalid_client"}"#),
        ];
        let f = exactly_one_success_across(req::REPL_02, &answers, "invalid_grant");
        assert!(!f.is_empty());
        assert!(
            f.iter()
                .all(|v| v.severity() == crate::requirements::Severity::Info),
            "{f:?}"
        );
    }

    #[test]
    fn a_reuse_served_or_refused_without_a_code_elsewhere_is_repl_03s_not_judged_here() {
        let refused = [
            at("https://as-2", 400, GRANT),
            at("https://as-3", 401, r#"{"error":"invalid_client"}"#),
        ];
        assert_eq!(reuse_not_refused(&refused), None);
        let served = [
            at("https://as-2", 400, GRANT),
            at("https://as-3", 200, TOKENS),
        ];
        let why = reuse_not_refused(&served).expect("served");
        assert!(
            why.starts_with("at the instance https://as-3: 200"),
            "{why}"
        );
        let bare = [at("https://as-2", 500, "oops")];
        assert!(reuse_not_refused(&bare).is_some());
    }

    #[test]
    fn the_live_refresh_token_refused_after_a_reuse_elsewhere_passes_and_served_fails() {
        let reuse = [
            at("https://as-2", 400, GRANT),
            at("https://as-3", 400, GRANT),
        ];
        let refused = json(400, GRANT);
        assert!(
            live_refused_after_reuse_elsewhere(req::REPL_06, &reuse, "https://as-1", &refused)
                .is_empty()
        );
        let served = json(200, TOKENS);
        let f = live_refused_after_reuse_elsewhere(req::REPL_06, &reuse, "https://as-1", &served);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, req::REPL_06);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Must);
        assert!(
            f[0].actual
                .contains("invalid_grant at https://as-2, https://as-3")
                && f[0]
                    .actual
                    .contains("the live refresh token at https://as-1: "),
            "{}",
            f[0].actual
        );
        // Without a registered code the refusal says nothing of what was refused: a failure.
        let bare = json(500, "oops");
        let f = live_refused_after_reuse_elsewhere(req::REPL_06, &reuse, "https://as-1", &bare);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Must);
    }

    #[test]
    fn another_code_for_the_reuse_or_the_live_token_is_noted_not_failed() {
        let client = r#"{"error":"invalid_client"}"#;
        // No instance refused the reuse as a reuse: tokens for the live one are only noted.
        let unseen = [at("https://as-2", 401, client)];
        let served = json(200, TOKENS);
        let f = live_refused_after_reuse_elsewhere(req::REPL_06, &unseen, "https://as-1", &served);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Info);
        // One instance refusing with invalid_grant is enough for tokens to fail.
        let mixed = [
            at("https://as-2", 401, client),
            at("https://as-3", 400, GRANT),
        ];
        let f = live_refused_after_reuse_elsewhere(req::REPL_06, &mixed, "https://as-1", &served);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Must);
        // The live token refused with another registered code: nothing was issued.
        let other = json(400, r#"{"error":"invalid_request"}"#);
        let f = live_refused_after_reuse_elsewhere(req::REPL_06, &mixed, "https://as-1", &other);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), crate::requirements::Severity::Info);
    }
}
