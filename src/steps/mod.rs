//! The scenario world and the step definitions: one module per area, named as its feature file
//! and its checks are (`features/pkce.feature`, `steps/pkce.rs`, `checks/pkce.rs`), plus
//! [`flow`], the flow every area's scenarios share. Steps are thin: they call the client
//! library and a named check from `crate::checks`.
//!
//! Each area keeps its own state in the World, behind methods: a step of one area never
//! reaches into another area's fields.

mod authorization;
mod cimd;
mod code;
mod discovery;
mod flow;
mod legacy;
mod pkce;
mod refresh;
mod registration;
mod replicas;
mod resource_binding;
mod resource_server;
mod scope;
mod security;
mod token;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use cucumber::gherkin::{Feature, Rule, Scenario};
use futures::future::LocalBoxFuture;

use crate::checks::Findings;
use crate::client::http::Http;
use crate::client::mcp::McpClient;
use crate::client::registration::RegisteredClient;
use crate::context::Context;
use crate::leases::{ClientLease, OwnAuthorizations};
use crate::requirements::Severity;
use crate::verdict::{Fault, Outcome, Violation, Warning};

/// One scenario's state: the run it belongs to, what it concluded so far, and each area's
/// state.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct World {
    pub ctx: Arc<Context>,
    /// This scenario's transport: its transcript is attached to the scenario's report.
    pub http: Http,
    pub started: Instant,
    /// The requirement IDs of the scenario's tags, set before its first step.
    pub requirements: Vec<req::Id>,
    /// Why the scenario stopped early, if it did.
    pub fault: Option<Fault>,
    pub warnings: Vec<Warning>,
    /// Behaviour recorded for informational requirements.
    pub observations: Vec<Violation>,
    /// The pool client this scenario holds for its life, once it needs one.
    lease: Option<ClientLease>,
    /// The authorizations this scenario sent (or relies on), to detect interference.
    authorized: OwnAuthorizations,

    flow: flow::Flow,
    discovery: discovery::Discovery,
    registration: registration::Registrations,
    cimd: cimd::Documents,
    authorization: authorization::Probes,
    refresh: refresh::Rotation,
    replicas: replicas::Instances,
    resource_binding: resource_binding::Resources,
    resource_server: resource_server::Answers,
    scope: scope::Scopes,
    legacy: legacy::Probes,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("target", &self.ctx.target.as_str())
            .field("fault", &self.fault)
            .field("warnings", &self.warnings.len())
            .finish_non_exhaustive()
    }
}

impl World {
    fn new() -> anyhow::Result<Self> {
        let ctx = Context::current()
            .ok_or_else(|| anyhow::anyhow!("no run context: scenarios must run inside a run"))?;
        Ok(World {
            http: ctx.http.fork(),
            ctx,
            started: Instant::now(),
            requirements: Vec::new(),
            fault: None,
            warnings: Vec::new(),
            observations: Vec::new(),
            lease: None,
            authorized: OwnAuthorizations::default(),
            flow: flow::Flow::default(),
            discovery: discovery::Discovery::default(),
            registration: registration::Registrations::default(),
            cimd: cimd::Documents::default(),
            authorization: authorization::Probes::default(),
            refresh: refresh::Rotation::default(),
            replicas: replicas::Instances::default(),
            resource_binding: resource_binding::Resources::default(),
            resource_server: resource_server::Answers::default(),
            scope: scope::Scopes::default(),
            legacy: legacy::Probes::default(),
        })
    }

    /// Takes the scenario's requirement IDs from its tags. A scenario without one cannot be
    /// judged: it ends at its first step with a harness error.
    fn begin(&mut self, scenario: &Scenario) {
        self.requirements = scenario
            .tags
            .iter()
            .filter_map(|t| req::Id::parse(t.trim_start_matches('@')))
            .collect();
        if self.requirements.is_empty() {
            self.fault = Some(Fault::Harness(format!(
                "the scenario {:?} has no tag naming a requirement of the catalogue",
                scenario.name
            )));
        }
    }

    /// The requirement a generic check judges in this scenario: the one of the scenario's IDs
    /// that `judged` (every area's list of what `check` judges) names. A scenario with none,
    /// or with several, is a harness error: the step was not written for it.
    pub fn judged(&self, check: &str, judged: &[&[req::Id]]) -> Outcome<req::Id> {
        let mine: Vec<req::Id> = self
            .requirements
            .iter()
            .copied()
            .filter(|id| judged.iter().any(|list| list.contains(id)))
            .collect();
        match mine.as_slice() {
            [id] => Ok(*id),
            _ => {
                let names = |ids: &mut dyn Iterator<Item = req::Id>| {
                    ids.map(req::Id::as_str).collect::<Vec<_>>().join(", ")
                };
                Err(Fault::Harness(format!(
                    "{check} judges {}; this scenario's requirements are {}: name exactly one of them in the check module of its area",
                    names(&mut judged.iter().flat_map(|l| l.iter().copied())),
                    names(&mut self.requirements.iter().copied()),
                )))
            }
        }
    }

    /// Runs a step body. A fault ends the scenario: it is kept for the report, and returned so
    /// that cucumber records the step as failed with the fault's text. A scenario that could not
    /// begin (see [`World::begin`]) fails at its first step.
    pub async fn step<F>(&mut self, body: F) -> Outcome
    where
        F: AsyncFnOnce(&mut World) -> Outcome,
    {
        if let Some(fault) = &self.fault {
            return Err(fault.clone());
        }
        let outcome = body(self).await;
        if let Err(fault) = &outcome {
            self.fault = Some(fault.clone());
        }
        outcome
    }

    /// The run's client for this scenario's flows, leased for the scenario's life so that no
    /// other scenario's login ends its grant (see [`crate::leases`]).
    pub async fn leased_client(&mut self) -> Outcome<RegisteredClient> {
        if let Some(lease) = &self.lease {
            return Ok(lease.client().clone());
        }
        let lease = self.ctx.lease_client().await?;
        let client = lease.client().clone();
        self.lease = Some(lease);
        Ok(client)
    }

    /// Ends the scenario's lease: its client goes back to the pool.
    pub fn release(&mut self) -> Option<ClientLease> {
        self.lease.take()
    }

    /// Counts the start of an authorization this scenario sends as `client_id`.
    pub fn authorization_started(&mut self, client_id: &str) {
        self.authorized.started(&self.ctx.authorizations, client_id);
    }

    /// Counts the end of this scenario's authorization as `client_id`.
    pub fn authorization_ended(&mut self, client_id: &str) {
        self.authorized.ended(&self.ctx.authorizations, client_id);
    }

    /// Relies on a grant another scenario obtained, as it was when `client_id`'s authorization
    /// count was `at`.
    pub fn adopt_authorization(&mut self, client_id: &str, at: u64) {
        self.authorized.adopt(client_id, at);
    }

    /// A verdict drawn after another scenario authorized this scenario's client is not the
    /// target's: an authorization server may keep one active grant per user and client, and
    /// that other login may have ended this scenario's grant.
    fn interference(&self) -> Option<Fault> {
        let client_id = self.authorized.interfered(&self.ctx.authorizations)?;
        Some(Fault::Harness(format!(
            "not judged: interference: another scenario authorized the client {client_id} while this scenario still needed its grant; a server that keeps one active grant per user and client may have ended it, so what this scenario saw is not the target's doing"
        )))
    }

    /// Applies a check's findings: SHOULD-graded ones become warnings, informational ones
    /// observations, and the first MUST-graded one ends the scenario. A warning or failure
    /// drawn after interference is the harness's error instead.
    pub fn expect(&mut self, findings: Findings) -> Outcome {
        let revision = self.ctx.revision;
        if findings
            .iter()
            .any(|v| v.severity_in(revision) != Severity::Info)
            && let Some(fault) = self.interference()
        {
            return Err(fault);
        }
        let mut failure = None;
        for v in findings {
            match v.severity_in(self.ctx.revision) {
                Severity::Should => self.warnings.push(Warning(v)),
                Severity::Info => self.observations.push(v),
                Severity::Must if failure.is_none() => failure = Some(v),
                Severity::Must => {}
            }
        }
        match failure {
            Some(v) => Err(Fault::Violation(v)),
            None => Ok(()),
        }
    }

    /// An MCP client of the target on this scenario's transport.
    pub fn mcp(&self) -> McpClient {
        self.ctx.mcp(&self.http)
    }

    /// The scope authorization flows request: the challenge's, else PRM `scopes_supported`;
    /// and `offline_access` beside it where the AS metadata's `scopes_supported` lists it, as
    /// a conformant client that wants refresh tokens asks (OpenID Connect Core §11; MCP
    /// 2026-07-28 §10 leaves `offline_access` to the AS, never to the resource).
    pub async fn flow_scope(&self) -> Outcome<Option<String>> {
        let d = self.ctx.discovered().await?;
        Ok(with_offline_access(
            d.scope.clone(),
            &d.endpoints.scopes_supported,
        ))
    }
}

/// `scope` with `offline_access` added when the AS lists it and `scope` lacks it. Without a
/// scope the request stays without one: `offline_access` alone would ask for nothing else.
fn with_offline_access(scope: Option<String>, as_scopes: &[String]) -> Option<String> {
    const OFFLINE_ACCESS: &str = "offline_access";
    match scope {
        Some(s)
            if as_scopes.iter().any(|a| a == OFFLINE_ACCESS)
                && !s.split(' ').any(|x| x == OFFLINE_ACCESS) =>
        {
            Some(format!("{s} {OFFLINE_ACCESS}"))
        }
        other => other,
    }
}

/// The hook run before each scenario: the World learns the scenario's requirement IDs.
pub fn before_scenario<'a>(
    _feature: &'a Feature,
    _rule: Option<&'a Rule>,
    scenario: &'a Scenario,
    world: &'a mut World,
) -> LocalBoxFuture<'a, ()> {
    world.begin(scenario);
    Box::pin(std::future::ready(()))
}

/// Shorthand for "this step needs something an earlier step provides".
pub fn need<T>(v: Option<T>, what: &str) -> Outcome<T> {
    v.ok_or_else(|| Fault::Harness(format!("step order: {what}")))
}

/// An OAuth error code a scenario expects: one registered for the authorization, token,
/// registration or resource endpoints (RFC 6749, 6750, 7591, 8707, OpenID Connect). A feature
/// file naming any other fails when its step is matched, not at run time.
#[derive(Debug, Clone, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "oauth_error",
    regex = "invalid_request|invalid_client|invalid_grant|unauthorized_client|unsupported_grant_type|invalid_scope|access_denied|unsupported_response_type|server_error|temporarily_unavailable|invalid_target|invalid_redirect_uri|invalid_client_metadata|invalid_software_statement|unapproved_software_statement|invalid_token|insufficient_scope|interaction_required|login_required|account_selection_required|consent_required|invalid_request_uri|invalid_request_object|request_not_supported|request_uri_not_supported|registration_not_supported"
)]
pub struct OAuthErrorCode(String);

impl OAuthErrorCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for OAuthErrorCode {
    type Err = std::convert::Infallible;

    /// The step's regex admits only registered codes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(OAuthErrorCode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use cucumber::Parameter as _;

    use super::*;

    #[test]
    fn every_error_code_the_checks_know_is_an_oauth_error_parameter() {
        let re = regex::Regex::new(&format!("^(?:{})$", OAuthErrorCode::REGEX)).expect("regex");
        let known = crate::checks::authorization::response::AUTHORIZATION_ERROR_CODES
            .iter()
            .chain(crate::checks::token::TOKEN_ERROR_CODES.iter());
        for code in known {
            assert!(re.is_match(code), "{code}");
        }
        assert!(!re.is_match("invalid_grnat"));
    }

    #[test]
    fn offline_access_is_asked_for_only_where_the_as_lists_it() {
        let listed = ["mcp:read".to_string(), "offline_access".to_string()];
        assert_eq!(
            with_offline_access(Some("mcp:read".into()), &listed).as_deref(),
            Some("mcp:read offline_access")
        );
        assert_eq!(
            with_offline_access(Some("mcp:read offline_access".into()), &listed).as_deref(),
            Some("mcp:read offline_access")
        );
        assert_eq!(
            with_offline_access(Some("mcp:read".into()), &listed[..1]).as_deref(),
            Some("mcp:read")
        );
        assert_eq!(with_offline_access(None, &listed), None);
    }

    /// The patched cucumber (vendor/cucumber) rules a step definition out by the text every
    /// match of its pattern starts with: that text must be a true prefix of every match.
    #[test]
    fn a_step_pattern_is_ruled_out_only_by_text_every_match_starts_with() {
        let prefix = |p: &str| {
            let re = cucumber::step::HashableRegex::from(regex::Regex::new(p).expect("pattern"));
            re.literal_prefix().to_string()
        };
        assert_eq!(
            prefix("^the client redeems the code$"),
            "the client redeems the code"
        );
        assert_eq!(prefix(r"^the AS answers (\d+) times$"), "the AS answers ");
        assert_eq!(prefix(r"^a client\.example$"), "a client");
        assert_eq!(prefix("^tokens? are issued$"), "token");
        assert_eq!(prefix("^ab*c$"), "a");
        assert_eq!(prefix("^a{2}$"), "");
        assert_eq!(prefix("^one|two$"), "");
        assert_eq!(prefix("^(?:a)|b$"), "");
        assert_eq!(prefix(r"^a\(|b$"), "");
        assert_eq!(prefix("^[(]|b$"), "");
        // An alternation inside a group (cucumber's `{string}`, `a/b`) keeps the prefix.
        assert_eq!(
            prefix(r#"^the AS refuses with (?:"([^"]*)"|'([^']*)')$"#),
            "the AS refuses with "
        );
        assert_eq!(prefix("^a (?:b|c) d$"), "a ");
        assert_eq!(prefix("^a[|]b$"), "a");
        assert_eq!(prefix("(?i)^one$"), "");
        assert_eq!(prefix("^(?i)one$"), "");
        assert_eq!(prefix("one$"), "");
        assert_eq!(prefix("^[ab]c$"), "");
        // A text that matches is never ruled out by its prefix.
        for (pattern, text) in [
            ("^tokens? are issued$", "token are issued"),
            ("^ab*c$", "ac"),
            (r"^the AS answers (\d+) times$", "the AS answers 3 times"),
            (
                r#"^the AS refuses with (?:"([^"]*)"|'([^']*)')$"#,
                "the AS refuses with \"invalid_grant\"",
            ),
        ] {
            let re =
                cucumber::step::HashableRegex::from(regex::Regex::new(pattern).expect("pattern"));
            assert!(
                text.starts_with(re.literal_prefix()) && re.is_match(text),
                "{pattern}"
            );
        }
    }

    /// The patched cucumber answers a step text it has matched before from a memo that the
    /// clones of a collection share: the same step function and captures as a search, and a
    /// step added later is not hidden by an older answer.
    #[test]
    fn a_step_text_met_again_gets_the_answer_a_search_gives() {
        use cucumber::gherkin::{Step, StepType};
        use cucumber::step::Collection;
        fn noop<'a>(
            _: &'a mut (),
            _: cucumber::step::Context,
        ) -> futures::future::LocalBoxFuture<'a, ()> {
            Box::pin(async {})
        }
        let re = |p: &str| regex::Regex::new(p).expect("pattern");
        let step = |text: &str| Step {
            keyword: "Given ".into(),
            ty: StepType::Given,
            value: text.into(),
            docstring: None,
            table: None,
            span: Default::default(),
            position: Default::default(),
        };
        let found = |c: &Collection<()>, text: &str| {
            c.find(&step(text))
                .map(|f| f.map(|(_, _, _, ctx)| ctx.matches))
                .map_err(|e| e.possible_matches.len())
        };
        let steps = Collection::<()>::new()
            .given(None, re(r"^the AS answers (\d+) times$"), noop)
            .given(None, re("^the AS answers$"), noop);
        let first = found(&steps, "the AS answers 3 times");
        assert_eq!(
            first,
            Ok(Some(vec![
                (None, "the AS answers 3 times".to_string()),
                (None, "3".to_string())
            ]))
        );
        let clone = steps.clone();
        assert_eq!(found(&clone, "the AS answers 3 times"), first);
        assert_eq!(
            found(&clone, "the AS answers 4 times")
                .ok()
                .flatten()
                .map(|m| m[1].1.clone()),
            Some("4".into())
        );
        assert_eq!(found(&clone, "nobody answers"), Ok(None));
        assert_eq!(found(&clone, "nobody answers"), Ok(None));
        // A step added to a clone: the text is now ambiguous there, and still not in the
        // collection it was cloned from.
        let more = clone.given(None, re(r"^the AS answers 3 times$"), noop);
        assert_eq!(found(&more, "the AS answers 3 times"), Err(2));
        assert_eq!(found(&more, "the AS answers 3 times"), Err(2));
        assert_eq!(found(&steps, "the AS answers 3 times"), first);
    }
}
