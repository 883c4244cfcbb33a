//! The scenario world and the step definitions: one module per domain concept. Steps are
//! thin: they call the client library and a named check from `crate::checks`.

mod authorization;
mod cimd;
mod discovery;
mod legacy;
mod registration;
mod resource;
mod token;

use std::fmt;

use cucumber::gherkin::{Feature, Rule, Scenario};
use futures::future::LocalBoxFuture;
use std::sync::Arc;
use std::time::Instant;

use crate::checks::Findings;
use crate::client::discovery::{Attempt, Document, PrmRoute, Probe};
use crate::client::http::{Http, Response};
use crate::client::login::AuthorizationOutcome;
use crate::client::mcp::{Credential, McpClient, McpResponse};
use crate::client::oauth::TokenSet;
use crate::client::pkce::PkceVerifier;
use crate::client::redact::Secret;
use crate::client::registration::{RegisteredClient, Registration};
use crate::client::wellknown::MetadataKind;
use crate::context::Context;
use crate::requirements::Severity;
use crate::verdict::{Fault, Outcome, Violation, Warning};

/// One scenario's state.
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

    // Discovery.
    pub probe: Option<Probe>,
    pub attempts: Vec<Attempt>,
    pub prm: Option<(PrmRoute, Document)>,
    pub fetched: Option<(url::Url, Response, Option<Document>)>,
    pub as_metadata: Option<(MetadataKind, Document)>,
    pub as_first_response: Option<Response>,
    pub issuer: Option<String>,

    // Registration.
    pub registration: Option<Registration>,
    pub registration_response: Option<Response>,

    // Authorization and tokens.
    pub client: Option<RegisteredClient>,
    pub second_client: Option<RegisteredClient>,
    pub verifier: Option<PkceVerifier>,
    pub state: Option<String>,
    pub authorization: Option<AuthorizationOutcome>,
    pub code: Option<Secret>,
    pub token_responses: Vec<Response>,
    pub tokens: Option<TokenSet>,
    pub first_tokens: Option<TokenSet>,
    pub replaced_refresh: Option<Secret>,
    pub granted_scope: Option<String>,

    // The MCP server.
    pub second_resource: Option<url::Url>,
    pub session: Option<String>,
    pub mcp_responses: Vec<McpResponse>,
    pub last_response: Option<Response>,
    /// The last credential presented was an empty bearer token (RS-04 allows 400 for it).
    pub empty_token: bool,

    // The authorization endpoint, probed (AUTHZ-01, 03, 08, 10, 16).
    /// The requests the login driver made in the last authorization.
    pub login_steps: Vec<crate::client::login::LoginStep>,
    /// An earlier authorization outcome to compare the last one with (AUTHZ-08).
    pub compared_authorization: Option<AuthorizationOutcome>,
    /// Direct answers of the authorization endpoint, each with what was sent.
    pub endpoint_responses: Vec<(String, Response)>,
    /// The redirect URI a tampered request used (AUTHZ-03).
    pub requested_redirect_uri: Option<url::Url>,

    // Client ID metadata documents, and 2025-03-26 probes.
    /// The harness's document server and the client_id in use (CIMD-*).
    pub cimd: Option<cimd::CimdScenario>,
    /// URLs probed for the 2025-03-26 rules, with their answers (LEG-01, LEG-02).
    pub legacy_probes: Vec<(url::Url, Response)>,
    /// The scope stepped up to after an insufficient_scope challenge (SCOPE-10).
    pub stepped_up_scope: Option<String>,
    /// The `scope` an authorization request sent, where a check compares the grant with it
    /// (SCOPE-06, SCOPE-08).
    pub requested_scope: Option<String>,
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
            probe: None,
            attempts: Vec::new(),
            prm: None,
            fetched: None,
            as_metadata: None,
            as_first_response: None,
            issuer: None,
            registration: None,
            registration_response: None,
            client: None,
            second_client: None,
            verifier: None,
            state: None,
            authorization: None,
            code: None,
            token_responses: Vec::new(),
            tokens: None,
            first_tokens: None,
            replaced_refresh: None,
            granted_scope: None,
            second_resource: None,
            session: None,
            mcp_responses: Vec::new(),
            last_response: None,
            empty_token: false,
            login_steps: Vec::new(),
            compared_authorization: None,
            endpoint_responses: Vec::new(),
            requested_redirect_uri: None,
            cimd: None,
            legacy_probes: Vec::new(),
            stepped_up_scope: None,
            requested_scope: None,
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

    /// Applies a check's findings: SHOULD-graded ones become warnings, informational ones
    /// observations, and the first MUST-graded one ends the scenario.
    pub fn expect(&mut self, findings: Findings) -> Outcome {
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

    pub fn mcp(&self) -> McpClient {
        self.ctx.mcp(&self.http)
    }

    /// The scope flows request: the challenge's, else PRM `scopes_supported`.
    pub async fn flow_scope(&self) -> Outcome<Option<String>> {
        Ok(self.ctx.discovered().await?.scope.clone())
    }

    pub fn bearer(&self) -> Outcome<Credential> {
        Ok(Credential::Bearer(self.tokens()?.access_token.clone()))
    }

    pub fn tokens(&self) -> Outcome<&TokenSet> {
        self.tokens
            .as_ref()
            .ok_or_else(|| Fault::Harness("step order: no tokens yet".into()))
    }

    pub fn client(&self) -> Outcome<&RegisteredClient> {
        self.client
            .as_ref()
            .ok_or_else(|| Fault::Harness("step order: no registered client yet".into()))
    }

    pub fn last_response(&self) -> Outcome<&Response> {
        self.last_response
            .as_ref()
            .ok_or_else(|| Fault::Harness("step order: no response yet".into()))
    }

    pub fn last_token_response(&self) -> Outcome<&Response> {
        self.token_responses
            .last()
            .ok_or_else(|| Fault::Harness("step order: no token response yet".into()))
    }

    pub fn last_mcp(&self) -> Outcome<&McpResponse> {
        self.mcp_responses
            .last()
            .ok_or_else(|| Fault::Harness("step order: no MCP response yet".into()))
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
