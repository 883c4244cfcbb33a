//! The flow every area's scenarios share: the scenario's clients, authorization requests (valid,
//! or changed by named tampering), the code and its redemption, refreshes, and the token
//! responses. The steps here are the sentences every area uses to get there.

use cucumber::{given, when};
use futures::future::join_all;
use url::Url;

use super::{World, need};
use crate::checks::authorization::response as authz_check;
use crate::checks::pkce as pkce_check;
use crate::client::http::Response;
use crate::client::login::{AuthorizationOutcome, LoginStep, is_redirect_uri};
use crate::client::mcp::Credential;
use crate::client::oauth::{self, TokenSet};
use crate::client::params::Params;
use crate::client::pkce::PkceVerifier;
use crate::client::redact::Secret;
use crate::client::registration::{RegisteredClient, Registration};
use crate::verdict::{Fault, Outcome};

/// The scenario's clients, its last authorization and what it brought, and its token log.
#[derive(Debug, Default)]
pub struct Flow {
    client: Option<RegisteredClient>,
    second_client: Option<RegisteredClient>,
    /// The last authorization request's state and verifier, and how it ended.
    state: Option<String>,
    verifier: Option<PkceVerifier>,
    authorization: Option<AuthorizationOutcome>,
    /// The requests the login driver made in the last authorization.
    login_steps: Vec<LoginStep>,
    code: Option<Secret>,
    /// What the scenario had waited for rate limits when the code was issued: a refusal of a
    /// redemption sent after a longer wait may be the code's expiry, not the check's evidence.
    code_issued_after_waiting: std::time::Duration,
    tokens: TokenLog,
}

/// Every token response of the scenario, and the tokens they issued.
#[derive(Debug, Default)]
pub struct TokenLog {
    responses: Vec<Response>,
    /// The tokens in use: the last ones adopted.
    current: Option<TokenSet>,
    /// The tokens of the first redemption (CODE-03, CODE-04).
    first: Option<TokenSet>,
    /// The scope of the grant: as the token response stated it, else as requested.
    granted_scope: Option<String>,
}

impl TokenLog {
    /// Keeps a token response, and returns the tokens it issued (not yet in use).
    pub fn record(&mut self, resp: Response) -> Option<TokenSet> {
        let tokens = TokenSet::from_response(&resp).ok();
        self.responses.push(resp);
        tokens
    }

    /// Puts tokens in use (the first ones adopted stay the first redemption's).
    pub fn adopt(&mut self, tokens: TokenSet) {
        self.first.get_or_insert_with(|| tokens.clone());
        self.current = Some(tokens);
    }

    /// Replaces the responses with those of a race.
    pub fn replace_all(&mut self, responses: Vec<Response>) {
        self.responses = responses;
    }
}

impl Flow {
    /// The flow authorizes as `client` instead of a client leased from the pool.
    pub fn use_client(&mut self, client: RegisteredClient) {
        self.client = Some(client);
    }

    pub fn client(&self) -> Outcome<&RegisteredClient> {
        self.client
            .as_ref()
            .ok_or_else(|| Fault::Harness("step order: no registered client yet".into()))
    }

    /// The client for a step: the first or the second registered one.
    pub fn client_for(&self, second: bool) -> Outcome<RegisteredClient> {
        if second {
            need(self.second_client.clone(), "a second client")
        } else {
            Ok(self.client()?.clone())
        }
    }

    /// How the last authorization ended.
    pub fn outcome(&self) -> Outcome<&AuthorizationOutcome> {
        need(self.authorization.as_ref(), "an authorization attempt")
    }

    /// Forgets the last authorization's outcome (for one that only prepared the scenario), and
    /// returns it.
    pub fn take_outcome(&mut self) -> Option<AuthorizationOutcome> {
        self.authorization.take()
    }

    /// The `state` the last authorization request sent.
    pub fn state(&self) -> Outcome<&str> {
        need(self.state.as_deref(), "state")
    }

    /// The verifier of the last authorization request.
    pub fn verifier(&self) -> Outcome<&PkceVerifier> {
        need(self.verifier.as_ref(), "a verifier")
    }

    /// The requests the login driver made in the last authorization (empty for drivers that
    /// cannot show them).
    pub fn login_steps(&self) -> &[LoginStep] {
        &self.login_steps
    }

    /// Takes the code of the last authorization as the one to redeem.
    pub fn use_code(&mut self, code: Secret) {
        self.code = Some(code);
    }

    /// A code no AS issued, with a verifier of its own, as the code to redeem.
    pub fn make_up_code(&mut self) {
        self.code = Some(Secret::new(oauth::random_state()));
        self.verifier = Some(PkceVerifier::random());
    }

    /// A flow that needs a code cannot start when the authorization endpoint refuses GET
    /// itself: that is AUTHZ-01's failure, and this scenario's broken precondition.
    pub fn get_refused(&self, outcome: &AuthorizationOutcome) -> Option<Fault> {
        let AuthorizationOutcome::Page { url, status, .. } = outcome else {
            return None;
        };
        let first = self.login_steps.first()?;
        (matches!(status, 405 | 501) && first.url == *url).then(|| {
            Fault::Harness(format!(
                "could not run: the authorization endpoint refused GET with {status} (see AUTHZ-01)"
            ))
        })
    }

    pub fn tokens(&self) -> Outcome<&TokenSet> {
        self.tokens
            .current
            .as_ref()
            .ok_or_else(|| Fault::Harness("step order: no tokens yet".into()))
    }

    /// The tokens of the first redemption.
    pub fn first_tokens(&self) -> Outcome<&TokenSet> {
        need(
            self.tokens.first.as_ref(),
            "tokens from the first redemption",
        )
    }

    /// The access token in use, as a bearer credential.
    pub fn bearer(&self) -> Outcome<Credential> {
        Ok(Credential::Bearer(self.tokens()?.access_token.clone()))
    }

    /// The refresh token in use.
    pub fn refresh_token(&self) -> Outcome<Secret> {
        need(self.tokens()?.refresh_token.clone(), "a refresh token")
    }

    pub fn granted_scope(&self) -> Option<&str> {
        self.tokens.granted_scope.as_deref()
    }

    pub fn token_responses(&self) -> &[Response] {
        &self.tokens.responses
    }

    pub fn last_token_response(&self) -> Outcome<&Response> {
        self.tokens
            .responses
            .last()
            .ok_or_else(|| Fault::Harness("step order: no token response yet".into()))
    }

    /// The token log, for steps that record token responses.
    pub fn log(&mut self) -> &mut TokenLog {
        &mut self.tokens
    }

    /// Tokens obtained elsewhere (a login shared with other scenarios) put in use.
    pub fn hold(&mut self, client: RegisteredClient, tokens: TokenSet, scope: Option<String>) {
        self.client = Some(client);
        self.tokens.granted_scope = scope;
        self.tokens.first = Some(tokens.clone());
        self.tokens.current = Some(tokens);
    }
}

/// One authorization request to send: as `client`, with `state`, for `resource` and `scope`.
/// The login driver stops at a redirect to any of `stop_at` and never fetches one.
#[derive(Debug)]
pub struct AuthorizationRequest {
    pub client: RegisteredClient,
    pub state: String,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub stop_at: Vec<Url>,
    /// The code_verifier to derive the challenge from; a fresh random one when `None`.
    pub verifier: Option<PkceVerifier>,
    /// The check that judges a missing code: PKCE-02's, unless the request's client makes
    /// the issuance another requirement's (a client ID metadata document client: CIMD-01).
    pub issuance: fn(&AuthorizationOutcome) -> crate::checks::Findings,
}

impl AuthorizationRequest {
    /// `client`'s request with a fresh random state, stopping at its redirect URI.
    pub fn new(client: RegisteredClient, resource: Option<String>, scope: Option<String>) -> Self {
        let stop_at = vec![client.redirect_uri.clone()];
        AuthorizationRequest {
            client,
            state: oauth::random_state(),
            resource,
            scope,
            stop_at,
            verifier: None,
            issuance: pkce_check::pkce_02_code_issued,
        }
    }

    /// The scenario's client asking for the MCP server with the flows' scope.
    pub async fn for_target(w: &World) -> Outcome<Self> {
        let scope = w.flow_scope().await?;
        Ok(Self::new(
            w.flow.client()?.clone(),
            Some(w.ctx.target.to_string()),
            scope,
        ))
    }
}

/// The authorization URL of the valid request `req` describes (with its verifier, else a fresh
/// one), changed by `tamper`, and the verifier.
pub async fn authorization_url_for(
    w: &World,
    req: &mut AuthorizationRequest,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<(Url, PkceVerifier)> {
    let d = w.ctx.discovered().await?;
    let verifier = req.verifier.take().unwrap_or_else(PkceVerifier::random);
    let params = oauth::authorization_params(
        &req.client,
        &verifier.challenge(),
        &req.state,
        req.scope.as_deref(),
        req.resource.as_deref(),
    );
    let url = oauth::authorization_url(&d.endpoints.authorization, &tamper(params));
    Ok((url, verifier))
}

/// Builds the valid authorization request `req` describes, lets `tamper` change it, and runs
/// it through the login driver. The outcome is the scenario's last authorization.
pub async fn send_authorization(
    w: &mut World,
    mut req: AuthorizationRequest,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<AuthorizationOutcome> {
    let (url, verifier) = authorization_url_for(w, &mut req, tamper).await?;
    w.authorization_started(&req.client.client_id);
    let traced = w
        .ctx
        .driver
        .authorize_traced(&w.http, url, &req.stop_at)
        .await?;
    w.authorization_ended(&req.client.client_id);
    w.flow.verifier = Some(verifier);
    w.flow.state = Some(req.state);
    w.flow.login_steps = traced.steps;
    w.flow.authorization = Some(traced.outcome.clone());
    Ok(traced.outcome)
}

/// The scenario's client asks for the MCP server, with the request changed by `tamper`.
pub async fn request_tampered(w: &mut World, tamper: impl FnOnce(Params) -> Params) -> Outcome {
    let req = AuthorizationRequest::for_target(w).await?;
    send_authorization(w, req, tamper).await.map(drop)
}

/// A valid authorization that must yield a code: the S256 happy path (PKCE-02).
pub async fn obtain_code(
    w: &mut World,
    resource: Option<String>,
    scope: Option<String>,
) -> Outcome {
    let req = AuthorizationRequest::new(w.flow.client()?.clone(), resource, scope);
    obtain_code_for(w, req).await
}

/// Token requests that should be left in the token endpoint's rate-limit window before a
/// scenario obtains a code: enough for its redemption while other scenarios redeem theirs.
const TOKEN_ROOM_FOR_A_CODE: u64 = 8;

/// [`obtain_code`] for a request described in full.
pub async fn obtain_code_for(w: &mut World, req: AuthorizationRequest) -> Outcome {
    // A code is redeemed soon after it is issued: when the token endpoint's rate limit has
    // little room left now, the authorization waits for its window to reset, not the code.
    let token = w.ctx.discovered().await?.endpoints.token.clone();
    w.http
        .until_room(&reqwest::Method::POST, &token, TOKEN_ROOM_FOR_A_CODE)
        .await;
    let stop_at = req.stop_at.clone();
    let issuance = req.issuance;
    let outcome = send_authorization(w, req, |p| p).await?;
    if let Some(fault) = w.flow.get_refused(&outcome) {
        return Err(fault);
    }
    if let Some(fault) = stopped_short(&outcome, &stop_at) {
        return Err(fault);
    }
    // Without a code the scenario cannot go on, whatever the level of the requirement that
    // judges the issuance (CIMD-01 is a SHOULD).
    if let Some(v) = issuance(&outcome).into_iter().next() {
        return Err(w.interference().unwrap_or(Fault::Violation(v)));
    }
    // The harness checks state as any client must; a wrong one is AUTHZ-11's violation.
    let f = authz_check::authz_11_state_echoed(&outcome, w.flow.state()?);
    w.expect(f)?;
    w.flow.code = outcome.code();
    w.flow.code_issued_after_waiting = w.http.rate_limit_waited();
    Ok(())
}

/// An authorization the login driver left at a redirect that is not the client's redirect
/// URI, to a host it does not follow: where the login went on is unknown, so the missing code
/// is the harness's limit, never the authorization server's refusal.
fn stopped_short(outcome: &AuthorizationOutcome, stop_at: &[Url]) -> Option<Fault> {
    let AuthorizationOutcome::Redirect { location, .. } = outcome else {
        return None;
    };
    if stop_at.iter().any(|r| is_redirect_uri(location, r)) {
        return None;
    }
    Some(Fault::Harness(format!(
        "the login driver stopped at {}, which is not the client's redirect URI: it does not follow a login there (from an authorization server on this machine it stays on this machine; from one elsewhere it follows https hosts only). Complete such a login with the browser or manual driver",
        outcome.describe()
    )))
}

/// Authorization, then redemption: tokens for `resource` (PKCE-02 when it fails).
pub async fn obtain_tokens(
    w: &mut World,
    resource: Option<String>,
    scope: Option<String>,
) -> Outcome {
    if w.flow.client.is_none() {
        w.flow.client = Some(w.leased_client().await?);
    }
    let requested = scope.clone();
    obtain_code(w, resource.clone(), scope).await?;
    let client = w.flow.client()?.clone();
    let params = oauth::code_params(
        &client,
        need(w.flow.code.as_ref(), "code")?,
        w.flow.verifier()?,
        resource.as_deref(),
    );
    let d = w.ctx.discovered().await?;
    let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &params).await?;
    not_expired_while_waiting(w, &resp)?;
    if let Some(fault) = own_credentials_refused(&client, &resp) {
        return Err(fault);
    }
    let f = pkce_check::pkce_02_tokens_issued(&resp);
    w.expect(f)?;
    let log = w.flow.log();
    if let Some(tokens) = log.record(resp) {
        log.granted_scope = tokens.scope.clone().or(requested);
        log.adopt(tokens);
    }
    Ok(())
}

/// A confidential client whose valid redemption is refused with `invalid_client`: the AS did
/// not accept the credentials it issued, for a reason of its own. That says nothing about the
/// code or its verifier (PKCE-02), nor about the scenario's requirement.
fn own_credentials_refused(client: &RegisteredClient, resp: &Response) -> Option<Fault> {
    let refused = client.client_secret.is_some()
        && oauth::OAuthError::from_response(resp).is_some_and(|e| e.error == "invalid_client");
    refused.then(|| {
        control_failed(
            &format!(
                "the AS refused the client's own credentials ({}) on a valid redemption",
                client.token_endpoint_auth_method
            ),
            resp,
        )
    })
}

/// The scenario cannot judge its refusal: the positive control, the same request without the
/// scenario's tampering, was not accepted either (`what`, answered with `resp`). A refusal of
/// the tampered request could then have any cause.
pub fn control_failed(what: &str, resp: &Response) -> Fault {
    Fault::Harness(format!(
        "could not run: the positive control failed: {what} ({}), so a refusal of the scenario's request would not show the reason it provokes",
        crate::checks::describe(resp)
    ))
}

/// Redeems the scenario's code as the first or second client, after `tamper`. Tokens it
/// issues are put in use.
pub async fn redeem(
    w: &mut World,
    second: bool,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<Response> {
    let client = w.flow.client_for(second)?;
    let d = w.ctx.discovered().await?;
    let params = oauth::code_params(
        &client,
        need(w.flow.code.as_ref(), "an authorization code")?,
        w.flow.verifier()?,
        Some(w.ctx.target.as_str()),
    );
    let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &tamper(params)).await?;
    not_expired_while_waiting(w, &resp)?;
    record_issued(w, resp.clone());
    Ok(resp)
}

/// Rate-limit waits shorter than this, between a code's issue and its redemption, leave the
/// code alive: authorization codes are meant to live about a minute (OAuth 2.1 §4.1.2
/// recommends at most ten), and none the harness has met lives under half a minute.
const CODE_OUTLIVES_WAITS_UNDER: std::time::Duration = std::time::Duration::from_secs(20);

/// A refused redemption sent after the scenario waited long for a rate limit says nothing
/// about the check: the code may have expired during the wait. That is the rate limit's doing,
/// an error of the run, never a verdict (neither a failure nor a pass on the refusal).
fn not_expired_while_waiting(w: &World, resp: &Response) -> Outcome {
    let waited = w
        .http
        .rate_limit_waited()
        .saturating_sub(w.flow.code_issued_after_waiting);
    if resp.status.is_success() || waited < CODE_OUTLIVES_WAITS_UNDER {
        return Ok(());
    }
    // An expired code is an invalid grant (RFC 6749 §5.2): a refusal with another error code
    // was not for the code's age.
    let code = resp
        .json_object()
        .ok()
        .and_then(|o| o.get("error").and_then(|e| e.as_str()).map(str::to_string));
    if code.is_some_and(|c| c != "invalid_grant") {
        return Ok(());
    }
    Err(Fault::Harness(format!(
        "not run: rate limited: the runner waited {} s for rate limits after the authorization code was issued, so the refusal of its redemption ({}) may be the code's expiry; give --pace to stay under the target's limits",
        waited.as_secs(),
        resp.status.as_u16()
    )))
}

/// Redeems the scenario's code as `client`, a client other than the scenario's, with no client
/// authentication beyond what `client` carries. The response is kept; its tokens are not put
/// in use.
pub async fn redeem_as(w: &mut World, client: &RegisteredClient) -> Outcome<Response> {
    let d = w.ctx.discovered().await?;
    let params = oauth::code_params(
        client,
        need(w.flow.code.as_ref(), "an authorization code")?,
        w.flow.verifier()?,
        Some(w.ctx.target.as_str()),
    );
    let resp = oauth::post_form(&w.http, &d.endpoints.token, client, &params).await?;
    not_expired_while_waiting(w, &resp)?;
    w.flow.log().record(resp.clone());
    Ok(resp)
}

/// The valid redemption of the scenario's code by its client, to send as it is.
pub fn redemption(w: &World) -> Outcome<(RegisteredClient, Params)> {
    let client = w.flow.client()?.clone();
    let params = oauth::code_params(
        &client,
        need(w.flow.code.as_ref(), "an authorization code")?,
        w.flow.verifier()?,
        Some(w.ctx.target.as_str()),
    );
    Ok((client, params))
}

/// Keeps a token response; tokens it issued are put in use.
pub fn record_issued(w: &mut World, resp: Response) {
    let log = w.flow.log();
    if let Some(t) = log.record(resp) {
        if log.granted_scope.is_none() {
            log.granted_scope = t.scope.clone();
        }
        log.adopt(t);
    }
}

/// Refreshes with `rt` as the first or second client, after `tamper`. The response is kept;
/// its tokens are not put in use.
pub async fn refresh_with(
    w: &mut World,
    second: bool,
    rt: &Secret,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<Response> {
    let client = w.flow.client_for(second)?;
    let d = w.ctx.discovered().await?;
    let params = tamper(oauth::refresh_params(&client, rt, None));
    let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &params).await?;
    w.flow.log().record(resp.clone());
    Ok(resp)
}

/// Sends the same token request `n` times at once; the responses replace the scenario's.
pub async fn race(w: &mut World, client: &RegisteredClient, params: &Params, n: usize) -> Outcome {
    let d = w.ctx.discovered().await?;
    let results =
        join_all((0..n).map(|_| oauth::post_form(&w.http, &d.endpoints.token, client, params)))
            .await;
    let responses = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    w.flow.log().replace_all(responses);
    Ok(())
}

/// Registers a confidential client (`reg`) and makes it the scenario's client. Skipped when
/// the AS has no registration endpoint, or registers no client with a secret and `method`.
async fn use_confidential_client(w: &mut World, reg: Registration, method: &str) -> Outcome {
    let d = w.ctx.discovered().await?;
    let Some(endpoint) = d.endpoints.registration.clone() else {
        return Err(Fault::Skip(
            "the AS metadata has no registration_endpoint: no confidential client can be registered".into(),
        ));
    };
    if let Some(methods) = d
        .as_metadata
        .1
        .strings("token_endpoint_auth_methods_supported")
        && !methods.iter().any(|m| m == method)
    {
        return Err(Fault::Skip(format!(
            "token_endpoint_auth_methods_supported does not list {method}"
        )));
    }
    let resp = reg.send(&w.http, &endpoint).await?;
    let client = RegisteredClient::from_response(&resp, &w.ctx.redirect_uri)
        .filter(|c| c.client_secret.is_some() && c.token_endpoint_auth_method == method)
        .ok_or_else(|| {
            Fault::Skip(format!(
                "the AS registered no confidential client with a secret and {method} ({})",
                crate::checks::describe(&resp)
            ))
        })?;
    w.flow.client = Some(client);
    Ok(())
}

#[given("a registered client")]
async fn a_registered_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        w.flow.client = Some(w.leased_client().await?);
        Ok(())
    })
    .await
}

#[given("a second registered client")]
async fn a_second_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let http = w.http.clone();
        w.flow.second_client = Some(w.ctx.register(&http).await?);
        Ok(())
    })
    .await
}

#[given(expr = "a confidential client registered with {string}")]
async fn confidential_client(w: &mut World, method: String) -> Outcome {
    w.step(async |w| {
        let reg = Registration::confidential_client_using(&w.ctx.redirect_uri, &method);
        use_confidential_client(w, reg, &method).await
    })
    .await
}

#[given(expr = "a confidential client registered with {string} for client_credentials")]
async fn client_credentials_client(w: &mut World, method: String) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        // RFC 8414 §2: without grant_types_supported, the default leaves client_credentials out.
        let grants = d
            .as_metadata
            .1
            .strings("grant_types_supported")
            .unwrap_or_default();
        if !grants.iter().any(|g| g == "client_credentials") {
            return Err(Fault::Skip(
                "grant_types_supported does not list client_credentials".into(),
            ));
        }
        let reg = Registration::client_credentials_client(&method);
        use_confidential_client(w, reg, &method).await
    })
    .await
}

#[when("the client obtains an authorization code")]
async fn obtains_code(w: &mut World) -> Outcome {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        let resource = Some(w.ctx.target.to_string());
        obtain_code(w, resource, scope).await
    })
    .await
}

#[when("the client obtains tokens for the MCP server")]
async fn tokens_for_target(w: &mut World) -> Outcome {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        obtain_tokens(w, Some(w.ctx.target.to_string()), scope).await
    })
    .await
}

#[when("the client redeems the code")]
async fn redeem_code(w: &mut World) -> Outcome {
    w.step(async |w| redeem(w, false, |p| p).await.map(drop))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::login::redirect_outcome;

    #[test]
    fn a_login_left_at_another_host_is_the_harness_limit_not_a_refusal() {
        let u = |s: &str| Url::parse(s).expect("url");
        let stop = [u("http://127.0.0.1:33418/callback")];
        let at_client = redirect_outcome(u("http://127.0.0.1:33418/callback?error=access_denied"));
        assert!(stopped_short(&at_client, &stop).is_none());
        let elsewhere = redirect_outcome(u("https://idp.example/login?txn=1"));
        match stopped_short(&elsewhere, &stop) {
            Some(Fault::Harness(m)) => assert!(m.contains("idp.example"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
