//! One complete flow, as a client does it: a client (registered or reused), the authorization
//! with login and consent through the profile's driver, the code redeemed, the access token
//! presented to the MCP server, a refresh when refresh tokens are issued, and finally a replay
//! of the code. Each flow checks its own results: the code works once, the token is accepted,
//! the refresh rotates. A sampled flow replays its code concurrently with its redemption
//! instead, and ends there (a correct server revokes what the code issued when it sees the
//! replay).
//!
//! Each step's latency is the time its requests took, from sending to the last byte of the
//! answer; the flow's own time is measured from its start to its end.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::join;
use serde_json::Value;
use url::Url;

use crate::checks::token as check;
use crate::client::discovery::Discovered;
use crate::client::http::{Exchange, Http, Response, TransportError};
use crate::client::login::{AuthorizationOutcome, LoginError, LoginStep, SharedDriver};
use crate::client::mcp::{Credential, McpClient, McpResponse, Revision};
use crate::client::oauth::{self, OAuthError, TokenSet};
use crate::client::pkce::PkceVerifier;
use crate::client::redact::Secret;
use crate::client::registration::{RegisteredClient, Registration};
use crate::requirements;
use crate::verdict::Violation;

/// The steps whose latency is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Discovery,
    Register,
    /// The authorization request and the redirects before the login form is submitted.
    Authorize,
    /// The submission of the login form (the request carrying the password).
    Login,
    /// What follows the login until the redirect to the client: the consent page and its
    /// approval.
    Consent,
    Token,
    /// `initialize` (or `server/discover`) and `tools/list` with the access token.
    Mcp,
    Refresh,
    /// The code's second redemption: after the flow, or concurrently with the first.
    Replay,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Discovery,
        Step::Register,
        Step::Authorize,
        Step::Login,
        Step::Consent,
        Step::Token,
        Step::Mcp,
        Step::Refresh,
        Step::Replay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Discovery => "discovery",
            Step::Register => "register",
            Step::Authorize => "authorize",
            Step::Login => "login",
            Step::Consent => "consent",
            Step::Token => "token",
            Step::Mcp => "mcp",
            Step::Refresh => "refresh",
            Step::Replay => "replay",
        }
    }
}

/// What every flow of a run shares.
pub struct Shared {
    pub http: Http,
    pub driver: SharedDriver,
    pub target: Url,
    pub revision: Revision,
    pub discovered: std::sync::Arc<Discovered>,
    /// The profile's pre-registered client; else clients are registered.
    pub fixed_client: Option<RegisteredClient>,
    pub redirect_uri: Url,
    pub register_each: bool,
    /// Registered clients not in use by a flow (at most one per flow in flight).
    pub idle_clients: Mutex<Vec<RegisteredClient>>,
}

/// Why a flow stopped before its end: a step did not get what a flow needs. Not a verdict on
/// the target (a refusal, a timeout or a 503 under load is reported by kind).
#[derive(Debug, Clone)]
pub struct FlowError {
    pub step: Step,
    /// The kind, for counting: an HTTP status and OAuth error code, a timeout, …
    pub kind: String,
    /// One line of detail, redacted.
    pub detail: String,
}

/// How one flow went.
#[derive(Debug)]
pub struct FlowResult {
    pub timings: Vec<(Step, Duration)>,
    pub total: Duration,
    /// The code was replayed concurrently with its redemption.
    pub replayed: bool,
    /// Both concurrent redemptions of the code succeeded.
    pub double_redemption: bool,
    pub violations: Vec<Violation>,
    pub error: Option<FlowError>,
    /// The flow's exchanges (redacted), kept only when it found a violation.
    pub transcript: Option<Vec<Exchange>>,
}

impl FlowResult {
    pub fn succeeded(&self) -> bool {
        self.violations.is_empty() && self.error.is_none()
    }
}

/// Runs one flow; `replay` makes it replay its code concurrently with the redemption.
pub async fn run(shared: &Shared, replay: bool) -> FlowResult {
    let started = Instant::now();
    let mut flow = Flow {
        shared,
        timings: Vec::new(),
        forks: Vec::new(),
        violations: Vec::new(),
        double_redemption: false,
    };
    let mut error = flow.steps(replay).await.err();
    let total = started.elapsed();
    // The transport keeps a flow's exchanges raw; a flow that is reported has its secrets
    // learned and its transcript and error redacted now.
    let keep = !flow.violations.is_empty();
    if keep || error.is_some() {
        for http in &flow.forks {
            http.learn_deferred();
        }
    }
    if let Some(e) = &mut error {
        e.detail = shared.http.secrets().scrub(&e.detail);
    }
    FlowResult {
        timings: flow.timings,
        total,
        replayed: replay,
        double_redemption: flow.double_redemption,
        violations: flow.violations,
        error,
        transcript: keep.then(|| flow.forks.iter().flat_map(Http::transcript).collect()),
    }
}

struct Flow<'a> {
    shared: &'a Shared,
    timings: Vec<(Step, Duration)>,
    /// The transport forks of the flow's steps, in order: their exchanges are its transcript.
    forks: Vec<Http>,
    violations: Vec<Violation>,
    double_redemption: bool,
}

type StepResult<T> = Result<T, FlowError>;

impl Flow<'_> {
    async fn steps(&mut self, replay: bool) -> StepResult<()> {
        let client = self.client().await?;
        let result = self.with_client(&client, replay).await;
        // A client that worked goes back for the next flow.
        if !self.shared.register_each && self.shared.fixed_client.is_none() && result.is_ok() {
            self.shared
                .idle_clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(client);
        }
        result
    }

    async fn with_client(&mut self, client: &RegisteredClient, replay: bool) -> StepResult<()> {
        let (code, verifier) = self.authorize(client).await?;
        let target = self.shared.target.as_str();
        let params = oauth::code_params(client, &code, &verifier, Some(target));
        let token_url = &self.shared.discovered.endpoints.token;
        if replay {
            return self.redeem_twice(client, &params).await;
        }
        let http = self.shared.http.fork();
        let resp = oauth::post_form(&http, token_url, client, &params).await;
        self.record(Step::Token, &http);
        let resp = resp.map_err(|e| transport_error(Step::Token, &e))?;
        let tokens = tokens_from(Step::Token, &resp)?;
        self.present(&tokens.access_token).await?;
        if let Some(refresh_token) = &tokens.refresh_token {
            self.refresh(client, refresh_token).await?;
        }
        // The code works once.
        let http = self.shared.http.fork();
        let resp = oauth::post_form(&http, token_url, client, &params).await;
        self.record(Step::Replay, &http);
        let resp = resp.map_err(|e| transport_error(Step::Replay, &e))?;
        unavailable(Step::Replay, &resp)?;
        let id = req::CODE_02;
        self.violations
            .extend(check::refused_with(id, &resp, &["invalid_grant"]));
        Ok(())
    }

    /// The pre-registered client, an idle one, or a new registration.
    async fn client(&mut self) -> StepResult<RegisteredClient> {
        if let Some(c) = &self.shared.fixed_client {
            return Ok(c.clone());
        }
        if !self.shared.register_each
            && let Some(c) = self
                .shared
                .idle_clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
        {
            return Ok(c);
        }
        let Some(endpoint) = &self.shared.discovered.endpoints.registration else {
            return Err(FlowError {
                step: Step::Register,
                kind: "no registration endpoint".into(),
                detail: "the AS metadata has no registration_endpoint; name a pre-registered client in the profile ([client] client_id)".into(),
            });
        };
        let http = self.shared.http.fork();
        let resp = Registration::public_client(&self.shared.redirect_uri)
            .send(&http, endpoint)
            .await;
        self.record(Step::Register, &http);
        let resp = resp.map_err(|e| transport_error(Step::Register, &e))?;
        if !resp.status.is_success() {
            return Err(refusal(Step::Register, &resp));
        }
        RegisteredClient::from_response(&resp, &self.shared.redirect_uri).ok_or_else(|| FlowError {
            step: Step::Register,
            kind: format!("HTTP {} without a client_id", resp.status.as_u16()),
            detail: crate::checks::describe(&resp),
        })
    }

    /// The authorization through the login driver: the code and its verifier.
    async fn authorize(&mut self, client: &RegisteredClient) -> StepResult<(Secret, PkceVerifier)> {
        let verifier = PkceVerifier::random();
        let state = oauth::random_state();
        let d = &self.shared.discovered;
        let params = oauth::authorization_params(
            client,
            &verifier.challenge(),
            &state,
            d.scope.as_deref(),
            Some(self.shared.target.as_str()),
        );
        let url = oauth::authorization_url(&d.endpoints.authorization, &params);
        let http = self.shared.http.fork();
        let started = Instant::now();
        let traced = self
            .shared
            .driver
            .authorize_traced(&http, url, std::slice::from_ref(&client.redirect_uri))
            .await;
        let wall = started.elapsed();
        let steps = traced.as_ref().map(|t| t.steps.as_slice()).unwrap_or(&[]);
        self.timings
            .extend(split_authorization(&http.elapsed(), steps, wall));
        self.forks.push(http);
        let outcome = traced.map_err(login_error)?.outcome;
        let error = |kind: String, detail: String| FlowError {
            step: Step::Authorize,
            kind,
            detail,
        };
        if let AuthorizationOutcome::Page { status, .. } = &outcome {
            return Err(error(
                format!("ended on a {status} page"),
                outcome.describe(),
            ));
        }
        if let Some(e) = outcome.error() {
            return Err(error(format!("error {e}"), outcome.describe()));
        }
        // Under load, a server that mixes up pending authorizations answers one flow with
        // another's state.
        if outcome.param("state") != Some(state.as_str()) {
            self.violations.push(Violation::new(
                req::AUTHZ_11,
                "the state the flow sent",
                match outcome.param("state") {
                    Some(other) => format!("another state: {other:?}"),
                    None => "no state".into(),
                },
            ));
        }
        let code = outcome
            .code()
            .ok_or_else(|| error("a redirect without a code".into(), outcome.describe()))?;
        Ok((code, verifier))
    }

    /// Two redemptions of one code at once: exactly one may succeed (CODE-02).
    async fn redeem_twice(
        &mut self,
        client: &RegisteredClient,
        params: &crate::client::params::Params,
    ) -> StepResult<()> {
        let token_url = &self.shared.discovered.endpoints.token;
        let (a, b) = (self.shared.http.fork(), self.shared.http.fork());
        let (ra, rb) = join(
            oauth::post_form(&a, token_url, client, params),
            oauth::post_form(&b, token_url, client, params),
        )
        .await;
        // The redemption that won is the flow's token step; the other is its replay.
        let a_won = ra.as_ref().is_ok_and(|r| r.status.is_success());
        let (first, second) = if a_won { (&a, &b) } else { (&b, &a) };
        self.record(Step::Token, first);
        self.record(Step::Replay, second);
        let responses: Vec<Response> = [ra, rb]
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| transport_error(Step::Token, &e))?;
        let successes = responses.iter().filter(|r| r.status.is_success()).count();
        match successes {
            0 => Err(refusal(Step::Token, &responses[0])),
            1 => {
                let other = responses.iter().find(|r| !r.status.is_success());
                if let Some(other) = other {
                    unavailable(Step::Replay, other)?;
                    let id = req::CODE_02;
                    self.violations
                        .extend(check::refused_with(id, other, &["invalid_grant"]));
                }
                Ok(())
            }
            _ => {
                self.double_redemption = true;
                let id = req::CODE_02;
                self.violations
                    .extend(check::exactly_one_success(id, &responses, "invalid_grant"));
                Ok(())
            }
        }
    }

    /// The access token opens an MCP conversation and lists the tools.
    async fn present(&mut self, token: &Secret) -> StepResult<()> {
        let http = self.shared.http.fork();
        let mcp = McpClient::new(
            http.clone(),
            self.shared.target.clone(),
            self.shared.revision,
        );
        let bearer = Credential::Bearer(token.clone());
        let result = async {
            let (opened, session) = mcp.open(&bearer).await?;
            if !answered(&opened) {
                return Ok(opened);
            }
            let list = mcp
                .tools_list()
                .with_credential(bearer)
                .with_session(session);
            mcp.send(&list).await
        }
        .await;
        self.record(Step::Mcp, &http);
        let resp = result.map_err(|e| transport_error(Step::Mcp, &e))?;
        if answered(&resp) {
            return Ok(());
        }
        let rpc_error = resp
            .error()
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64);
        Err(FlowError {
            step: Step::Mcp,
            kind: match rpc_error {
                Some(code) => format!("HTTP {} JSON-RPC error {code}", resp.http.status.as_u16()),
                None => format!("HTTP {}", resp.http.status.as_u16()),
            },
            detail: crate::checks::describe(&resp.http),
        })
    }

    /// A refresh; for a public client the refresh token must rotate (REFRESH-01).
    async fn refresh(
        &mut self,
        client: &RegisteredClient,
        refresh_token: &Secret,
    ) -> StepResult<()> {
        let params =
            oauth::refresh_params(client, refresh_token, Some(self.shared.target.as_str()));
        let http = self.shared.http.fork();
        let token_url = &self.shared.discovered.endpoints.token;
        let resp = oauth::post_form(&http, token_url, client, &params).await;
        self.record(Step::Refresh, &http);
        let resp = resp.map_err(|e| transport_error(Step::Refresh, &e))?;
        tokens_from(Step::Refresh, &resp)?;
        let rotation = req::REFRESH_01;
        let applies = requirements::get(rotation.as_str())
            .is_some_and(|r| r.applies_to(self.shared.revision));
        if applies && client.client_secret.is_none() {
            self.violations
                .extend(crate::checks::refresh::refresh_01_rotated(
                    refresh_token.expose(),
                    &resp,
                ));
        }
        Ok(())
    }

    /// Records the time of `http`'s exchanges under `step`, and keeps them for the transcript.
    fn record(&mut self, step: Step, http: &Http) {
        self.timings.push((step, http.elapsed().iter().sum()));
        self.forks.push(http.clone());
    }
}

/// Splits the authorization's exchanges (how long each took) into authorize, login and
/// consent, using the driver's steps (which say which request carried the password). A driver
/// that does not speak HTTP through the transport, or says nothing of its steps, gives one
/// authorize time.
fn split_authorization(
    exchanges: &[Duration],
    steps: &[LoginStep],
    wall: Duration,
) -> Vec<(Step, Duration)> {
    let time = |ex: &[Duration]| ex.iter().sum::<Duration>();
    if exchanges.is_empty() {
        return vec![(Step::Authorize, wall)];
    }
    let login = steps.iter().position(|s| s.carried_credentials);
    match login {
        Some(i) if steps.len() == exchanges.len() => {
            let mut out = vec![
                (Step::Authorize, time(&exchanges[..i])),
                (Step::Login, exchanges[i]),
            ];
            if i + 1 < exchanges.len() {
                out.push((Step::Consent, time(&exchanges[i + 1..])));
            }
            out
        }
        _ => vec![(Step::Authorize, time(exchanges))],
    }
}

/// A JSON-RPC result in a 2xx answer.
fn answered(resp: &McpResponse) -> bool {
    resp.http.status.is_success() && resp.result().is_some()
}

/// The tokens of a successful token response, else the error by kind.
fn tokens_from(step: Step, resp: &Response) -> StepResult<TokenSet> {
    if !resp.status.is_success() {
        return Err(refusal(step, resp));
    }
    TokenSet::from_response(resp).map_err(|e| FlowError {
        step,
        kind: format!("HTTP {} without tokens", resp.status.as_u16()),
        detail: e,
    })
}

/// A server that is overloaded or throttling (5xx, 429) is an error under load, not a
/// verdict on how it refuses a replay.
fn unavailable(step: Step, resp: &Response) -> StepResult<()> {
    let s = resp.status.as_u16();
    if s >= 500 || s == 429 {
        return Err(refusal(step, resp));
    }
    Ok(())
}

/// A refusal by kind: the HTTP status and the OAuth error code, when there is one.
fn refusal(step: Step, resp: &Response) -> FlowError {
    let status = resp.status.as_u16();
    FlowError {
        step,
        kind: match OAuthError::from_response(resp) {
            Some(e) => format!("HTTP {status} {}", e.error),
            None => format!("HTTP {status}"),
        },
        detail: crate::checks::describe(resp),
    }
}

fn transport_error(step: Step, e: &TransportError) -> FlowError {
    let kind = match e {
        TransportError::Timeout { .. } => "timeout",
        TransportError::Connect { .. } => "connection failed",
        TransportError::BodyTooLarge { .. } => "body too large",
        TransportError::Certificate { .. } => "untrusted certificate",
        TransportError::NotAllowed { .. } => "host not allowed",
        TransportError::RateLimited(_) => "rate limited",
        TransportError::Setup(_) | TransportError::Other { .. } => "transport error",
    };
    FlowError {
        step,
        kind: kind.into(),
        detail: e.to_string(),
    }
}

fn login_error(e: LoginError) -> FlowError {
    let kind = match &e {
        LoginError::Transport(t) => return transport_error(Step::Authorize, t),
        LoginError::TooManySteps(_) => "too many login steps",
        LoginError::Rejected => "login rejected",
        LoginError::Unusable(_) => "login page unusable",
        LoginError::NotConfigured(_) => "login not configured",
    };
    FlowError {
        step: Step::Login,
        kind: kind.into(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn step(credentials: bool) -> LoginStep {
        LoginStep {
            method: "POST".into(),
            url: Url::parse("http://127.0.0.1/x").expect("url"),
            status: 200,
            carried_credentials: credentials,
        }
    }

    #[test]
    fn the_request_carrying_the_password_is_the_login() {
        let ex = [exchange(1), exchange(2), exchange(4), exchange(8)];
        let steps = [step(false), step(true), step(false), step(false)];
        let split = split_authorization(&ex, &steps, Duration::from_secs(1));
        assert_eq!(
            split,
            vec![
                (Step::Authorize, Duration::from_millis(1)),
                (Step::Login, Duration::from_millis(2)),
                (Step::Consent, Duration::from_millis(12)),
            ]
        );
        // No password sent (a session already there), or no steps known: all of it is the
        // authorization; no exchanges at all (a browser): the wall time.
        let none = [step(false), step(false), step(false), step(false)];
        assert_eq!(
            split_authorization(&ex, &none, Duration::from_secs(1)),
            vec![(Step::Authorize, Duration::from_millis(15))]
        );
        assert_eq!(
            split_authorization(&[], &[], Duration::from_secs(1)),
            vec![(Step::Authorize, Duration::from_secs(1))]
        );
    }
}
