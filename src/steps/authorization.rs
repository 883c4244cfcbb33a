//! Authorization steps: clients, authorization requests (valid and tampered), and obtaining
//! tokens for a resource.

use std::str::FromStr;

use cucumber::{given, then, when};
use serde_json::{Value, json};
use url::Url;

use super::{World, need};
use crate::checks::authorization as check;
use crate::checks::token as token_check;
use crate::client::login::AuthorizationOutcome;
use crate::client::oauth::{self, TokenSet};
use crate::client::params::{Param, Params};
use crate::client::pkce::PkceVerifier;
use crate::client::registration::{RegisteredClient, Registration};
use crate::verdict::{Fault, Outcome, Violation};

/// One authorization request to send: as `client`, with `state`, for `resource` and `scope`.
/// The login driver stops at a redirect to any of `stop_at` and never fetches one.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: RegisteredClient,
    pub state: String,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub stop_at: Vec<Url>,
    /// The code_verifier to derive the challenge from; a fresh random one when `None`.
    pub verifier: Option<String>,
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
        }
    }

    /// The world's client asking for the MCP server with the flows' scope.
    pub async fn for_target(w: &World) -> Outcome<Self> {
        let scope = w.flow_scope().await?;
        Ok(Self::new(
            w.client()?.clone(),
            Some(w.ctx.target.to_string()),
            scope,
        ))
    }
}

/// The authorization URL of the valid request `req` describes (fresh verifier unless `req`
/// names one), changed by `tamper`, and the verifier.
pub async fn authorization_url_for(
    w: &World,
    req: &AuthorizationRequest,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<(Url, PkceVerifier)> {
    let d = w.ctx.discovered().await?;
    let verifier = req
        .verifier
        .clone()
        .map_or_else(PkceVerifier::random, PkceVerifier::from_string);
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

/// Builds the valid authorization request `req` describes (fresh verifier), lets `tamper`
/// change it, and runs it through the login driver.
pub async fn send_authorization(
    w: &mut World,
    req: AuthorizationRequest,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<AuthorizationOutcome> {
    let (url, verifier) = authorization_url_for(w, &req, tamper).await?;
    let traced = w
        .ctx
        .driver
        .authorize_traced(&w.http, url, &req.stop_at)
        .await?;
    w.verifier = Some(verifier);
    w.state = Some(req.state);
    w.login_steps = traced.steps;
    w.authorization = Some(traced.outcome.clone());
    Ok(traced.outcome)
}

/// A flow that needs a code cannot start when the authorization endpoint refuses GET itself:
/// that is AUTHZ-01's failure, and this scenario's broken precondition.
fn get_refused(w: &World, outcome: &AuthorizationOutcome) -> Option<Fault> {
    let AuthorizationOutcome::Page { url, status, .. } = outcome else {
        return None;
    };
    let first = w.login_steps.first()?;
    (matches!(status, 405 | 501) && first.url == *url).then(|| {
        Fault::Harness(format!(
            "could not run: the authorization endpoint refused GET with {status} (see AUTHZ-01)"
        ))
    })
}

/// A valid authorization that must yield a code: the S256 happy path (PKCE-02).
pub async fn obtain_code(
    w: &mut World,
    resource: Option<String>,
    scope: Option<String>,
) -> Outcome {
    let req = AuthorizationRequest::new(w.client()?.clone(), resource, scope);
    obtain_code_for(w, req).await
}

/// [`obtain_code`] for a request described in full.
pub async fn obtain_code_for(w: &mut World, req: AuthorizationRequest) -> Outcome {
    let outcome = send_authorization(w, req, |p| p).await?;
    if let Some(fault) = get_refused(w, &outcome) {
        return Err(fault);
    }
    let Some(code) = outcome.code() else {
        let actual = match outcome.error() {
            Some(e) => format!(
                "error={e} ({})",
                outcome.param("error_description").unwrap_or("")
            ),
            None => outcome.describe(),
        };
        return Err(Violation::new(
            req::PKCE_02,
            "an authorization code for a valid S256 request",
            actual,
        )
        .into());
    };
    // The harness checks state as any client must; a wrong one is AUTHZ-11's violation.
    let f = check::authz_11_state_echoed(&outcome, need(w.state.as_deref(), "state")?);
    w.expect(f)?;
    w.code = Some(code);
    Ok(())
}

/// Authorization, then redemption: tokens for `resource` (PKCE-02 when it fails).
pub async fn obtain_tokens(
    w: &mut World,
    resource: Option<String>,
    scope: Option<String>,
) -> Outcome {
    if w.client.is_none() {
        w.client = Some(w.ctx.client().await?);
    }
    let requested = scope.clone();
    obtain_code(w, resource.clone(), scope).await?;
    let client = w.client()?.clone();
    let params = oauth::code_params(
        &client,
        need(w.code.as_ref(), "code")?,
        need(w.verifier.as_ref(), "verifier")?,
        resource.as_deref(),
    );
    let d = w.ctx.discovered().await?;
    let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &params).await?;
    let tokens = TokenSet::from_response(&resp).map_err(|e| {
        Violation::new(
            req::PKCE_02,
            "tokens for a valid S256 redemption",
            format!("{e}: {}", crate::checks::describe(&resp)),
        )
    })?;
    w.granted_scope = tokens.scope.clone().or(requested);
    w.token_responses.push(resp);
    w.first_tokens.get_or_insert_with(|| tokens.clone());
    w.tokens = Some(tokens);
    Ok(())
}

#[given("a registered client")]
async fn a_registered_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        w.client = Some(w.ctx.client().await?);
        Ok(())
    })
    .await
}

#[given("a second registered client")]
async fn a_second_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let http = w.http.clone();
        w.second_client = Some(w.ctx.register(&http).await?);
        Ok(())
    })
    .await
}

async fn tampered(w: &mut World, tamper: impl FnOnce(Params) -> Params) -> Outcome {
    let req = AuthorizationRequest::for_target(w).await?;
    send_authorization(w, req, tamper).await?;
    Ok(())
}

#[when("the client requests authorization with code_challenge and code_challenge_method omitted")]
async fn without_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        tampered(w, |p| {
            p.omit(Param::CodeChallenge)
                .omit(Param::CodeChallengeMethod)
        })
        .await
    })
    .await
}

#[when(expr = "the client requests authorization with code_challenge_method set to {string}")]
async fn with_method(w: &mut World, method: String) -> Outcome {
    w.step(async |w| tampered(w, |p| p.tamper(Param::CodeChallengeMethod, method)).await)
        .await
}

#[when(expr = "the client requests authorization with resource set to {string}")]
async fn with_resource(w: &mut World, resource: String) -> Outcome {
    w.step(async |w| tampered(w, |p| p.tamper(Param::Resource, resource)).await)
        .await
}

#[then(regex = r#"^the authorization is refused with "([^"]+)" and no code$"#)]
async fn authorization_refused(w: &mut World, error: String) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let id = w.judged(
            "the authorization refusal",
            check::AUTHORIZATION_REFUSAL_JUDGES,
        )?;
        let f = check::refused_with(id, outcome, &error);
        w.expect(f)
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

#[given("a second protected resource")]
async fn second_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let target = w.ctx.target.as_str();
        let second = w.ctx.second_resource.clone().or_else(|| {
            d.endpoints
                .protected_resources
                .iter()
                .filter(|r| r.as_str() != target)
                .find_map(|r| url::Url::parse(r).ok())
        });
        match second {
            Some(s) => {
                w.second_resource = Some(s);
                Ok(())
            }
            None => Err(Fault::Skip(
                "no second resource: none configured ([resources] second) and the AS metadata lists no other protected_resources".into(),
            )),
        }
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

#[when("the client obtains tokens for the second resource")]
async fn tokens_for_second(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = need(w.second_resource.clone(), "a second resource")?;
        let scope = w.flow_scope().await?;
        obtain_tokens(w, Some(second.to_string()), scope).await
    })
    .await
}

/// The client for a step: the first or the second registered one.
pub fn which_client(w: &World, second: bool) -> Outcome<RegisteredClient> {
    if second {
        need(w.second_client.clone(), "a second client")
    } else {
        Ok(w.client()?.clone())
    }
}

/// A visible change to the registered redirect URI (AUTHZ-02). Each keeps the port: a loopback
/// redirect URI may legitimately differ in port alone (AUTHZ-03).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectVariant {
    ExtraPathSegment,
    TrailingSlash,
    ExtraQuery,
    PathCase,
    /// `localhost` for a loopback IP literal, or `127.0.0.1` for `localhost`.
    LocalhostForIp,
    /// `https` for `http`, or `http` for `https`.
    OtherScheme,
    AnotherLoopbackHost,
}

impl FromStr for RedirectVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "an extra path segment" => RedirectVariant::ExtraPathSegment,
            "a trailing slash" => RedirectVariant::TrailingSlash,
            "an extra query parameter" => RedirectVariant::ExtraQuery,
            "a changed path case" => RedirectVariant::PathCase,
            "localhost for the IP literal" => RedirectVariant::LocalhostForIp,
            "https for http" => RedirectVariant::OtherScheme,
            "another loopback host" => RedirectVariant::AnotherLoopbackHost,
            other => return Err(format!("unknown redirect_uri change: {other}")),
        })
    }
}

impl RedirectVariant {
    /// `registered` changed this way; `Err` says why this URI has no such variant.
    pub fn apply(self, registered: &Url) -> Result<Url, String> {
        let mut u = registered.clone();
        match self {
            RedirectVariant::ExtraPathSegment => {
                u.path_segments_mut()
                    .map_err(|()| format!("{registered} has no path to extend"))?
                    .pop_if_empty()
                    .push("x");
            }
            RedirectVariant::TrailingSlash => {
                let path = format!("{}/", u.path());
                u.set_path(&path);
            }
            RedirectVariant::ExtraQuery => {
                u.query_pairs_mut().append_pair("a", "1");
            }
            RedirectVariant::PathCase => {
                let path = u.path().to_string();
                let i = path
                    .find(|c: char| c.is_ascii_alphabetic())
                    .ok_or_else(|| format!("the path of {registered} has no letter to change"))?;
                let mut changed = path.clone();
                changed.replace_range(i..=i, &swap_case(&path[i..=i]));
                u.set_path(&changed);
            }
            RedirectVariant::LocalhostForIp => {
                let host = match u.host_str() {
                    Some("127.0.0.1" | "[::1]") => "localhost",
                    Some("localhost") => "127.0.0.1",
                    _ => return Err(format!("{registered} is not a loopback redirect URI")),
                };
                u.set_host(Some(host)).map_err(|e| e.to_string())?;
            }
            RedirectVariant::OtherScheme => {
                let scheme = if u.scheme() == "http" {
                    "https"
                } else {
                    "http"
                };
                u.set_scheme(scheme)
                    .map_err(|()| format!("cannot change the scheme of {registered}"))?;
            }
            RedirectVariant::AnotherLoopbackHost => {
                let host = if u.host_str() == Some("127.0.0.2") {
                    "127.0.0.3"
                } else {
                    "127.0.0.2"
                };
                u.set_host(Some(host)).map_err(|e| e.to_string())?;
            }
        }
        // Keep the registered port even where the scheme's default would swallow it.
        if u.port_or_known_default() != registered.port_or_known_default() {
            u.set_port(registered.port_or_known_default())
                .map_err(|()| format!("cannot keep the port of {registered}"))?;
        }
        if u == *registered {
            return Err(format!("the change leaves {registered} as it was"));
        }
        Ok(u)
    }
}

fn swap_case(c: &str) -> String {
    if c.chars().all(|c| c.is_ascii_lowercase()) {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

#[when(regex = r"^the client requests authorization with redirect_uri changed by (.+)$")]
async fn with_redirect_variant(w: &mut World, variant: String) -> Outcome {
    w.step(async |w| {
        let variant = RedirectVariant::from_str(&variant).map_err(Fault::Harness)?;
        let registered = w.client()?.redirect_uri.clone();
        let changed = variant.apply(&registered).map_err(Fault::Skip)?;
        let mut req = AuthorizationRequest::for_target(w).await?;
        // Stop at the variant and at the registered URI: neither is ever fetched.
        req.stop_at = vec![changed.clone(), registered];
        send_authorization(w, req, |p| p.tamper(Param::RedirectUri, changed.as_str())).await?;
        Ok(())
    })
    .await
}

#[then(
    regex = r"^the authorization is not redirected to the redirect_uri changed by (.+) \(AUTHZ-02\)$"
)]
async fn variant_refused(w: &mut World, variant: String) -> Outcome {
    w.step(async |w| {
        let variant = RedirectVariant::from_str(&variant).map_err(Fault::Harness)?;
        let changed = variant
            .apply(&w.client()?.redirect_uri)
            .map_err(Fault::Harness)?;
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::authz_02_variant_refused(outcome, &changed);
        w.expect(f)
    })
    .await
}

#[when("the client requests authorization with client_id set to an unknown client")]
async fn with_unknown_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let unknown = format!("harness-unknown-client-{}", oauth::random_state());
        tampered(w, |p| p.tamper(Param::ClientId, unknown)).await
    })
    .await
}

#[when("the client requests authorization with client_id omitted")]
async fn without_client_id(w: &mut World) -> Outcome {
    w.step(async |w| tampered(w, |p| p.omit(Param::ClientId)).await)
        .await
}

/// The second redirect URI of the AUTHZ-04 client: the first with one more path segment.
fn second_redirect_uri(first: &Url) -> Url {
    let mut second = first.clone();
    if let Ok(mut segments) = second.path_segments_mut() {
        segments.pop_if_empty().push("second");
    }
    second
}

#[given("a client registered with two redirect URIs")]
async fn client_with_two_redirect_uris(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let Some(endpoint) = d.endpoints.registration.clone() else {
            return Err(Fault::Skip(
                "the AS metadata has no registration_endpoint: no client with two redirect URIs can be registered".into(),
            ));
        };
        let first = w.ctx.redirect_uri.clone();
        let second = second_redirect_uri(&first);
        let reg = Registration::public_client(&first)
            .tamper("redirect_uris", json!([first.as_str(), second.as_str()]));
        let resp = reg.send(&w.http, &endpoint).await?;
        // OAuth 2.1 §2.3.1: the AS MAY allow several redirect URIs, so a refusal is a skip.
        let client = RegisteredClient::from_response(&resp, &first).ok_or_else(|| {
            Fault::Skip(format!(
                "the AS did not register a client with two redirect URIs ({}); it may allow only one",
                crate::checks::describe(&resp)
            ))
        })?;
        w.second_client = Some(client);
        Ok(())
    })
    .await
}

#[when("that client requests authorization with redirect_uri omitted")]
async fn two_redirect_uris_without_redirect_uri(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = need(w.second_client.clone(), "a client with two redirect URIs")?;
        let scope = w.flow_scope().await?;
        let mut req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
        // The AS might pick either registered URI: stop at both, fetch neither.
        req.stop_at = vec![
            req.client.redirect_uri.clone(),
            second_redirect_uri(&req.client.redirect_uri),
        ];
        send_authorization(w, req, |p| p.omit(Param::RedirectUri)).await?;
        Ok(())
    })
    .await
}

#[then("the authorization is not redirected to the client (AUTHZ-04)")]
async fn not_redirected(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::authz_04_not_redirected(outcome);
        w.expect(f)
    })
    .await
}

/// A legal `state` (`1*VSCHAR`, OAuth 2.1 Appendix A.5) of 64 characters, built to expose
/// any decoding or encoding slip: `%`, `+` (a space once decoded too often), `~`, a space, the
/// query delimiters, already-encoded triplets, then random characters so it stays unique.
fn url_sensitive_state() -> String {
    const SENSITIVE: &str = "%+~ &=#?/%2B%20%25;:@!$,*()";
    let random = format!("{}{}", oauth::random_state(), oauth::random_state());
    let mut state = SENSITIVE.to_string();
    state.extend(random.chars().take(64 - SENSITIVE.len()));
    state
}

#[when("the client requests authorization with a 64-character state containing %, + and ~")]
async fn with_sensitive_state(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.state = url_sensitive_state();
        send_authorization(w, req, |p| p).await?;
        Ok(())
    })
    .await
}

#[when(
    regex = r#"^the client requests authorization with code_challenge_method set to "([^"]+)" and a 64-character state containing %, \+ and ~$"#
)]
async fn with_method_and_sensitive_state(w: &mut World, method: String) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.state = url_sensitive_state();
        send_authorization(w, req, |p| p.tamper(Param::CodeChallengeMethod, method)).await?;
        Ok(())
    })
    .await
}

/// The authorization outcome, which must be an error redirect; anything else leaves the error
/// response unchecked, and the scenario is skipped with the reason.
fn error_redirect(w: &World) -> Outcome<&AuthorizationOutcome> {
    let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
    match outcome {
        AuthorizationOutcome::Redirect { .. } if outcome.error().is_some() => Ok(outcome),
        AuthorizationOutcome::Redirect { .. } => Err(Fault::Skip(
            "the AS did not refuse the request (see PKCE-03), so there is no error response to check".into(),
        )),
        AuthorizationOutcome::Page { .. } => Err(Fault::Skip(format!(
            "the AS refused the request with a page, not an error redirect ({}), so there is no error response to check",
            outcome.describe()
        ))),
    }
}

#[then("the code comes back with the request's state, byte-exact (AUTHZ-11)")]
async fn code_with_state(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let state = need(w.state.as_deref(), "state")?;
        let f = check::authz_11_code_with_state(outcome, state);
        w.expect(f)
    })
    .await
}

#[then("the error comes back with the request's state, byte-exact (AUTHZ-11)")]
async fn error_with_state(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = error_redirect(w)?;
        let state = need(w.state.as_deref(), "state")?;
        let f = check::authz_11_state_echoed(outcome, state);
        w.expect(f)
    })
    .await
}

/// The metadata issuer, and whether the metadata advertises `iss` in authorization responses
/// (RFC 9207 §3: only a JSON `true` does; an absent member means false).
async fn issuer_and_iss_support(w: &World) -> Outcome<(String, bool)> {
    let d = w.ctx.discovered().await?;
    let (_, metadata) = &d.as_metadata;
    let advertised = metadata
        .members
        .get("authorization_response_iss_parameter_supported")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((d.endpoints.issuer.clone(), advertised))
}

// When the AS neither advertises iss nor sends it, both AUTHZ-14 scenarios pass: RFC 9207 is
// optional, and there is nothing to compare.
#[then(
    "the code comes back with iss equal to the metadata issuer, when iss is sent or advertised (AUTHZ-14)"
)]
async fn code_with_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (issuer, advertised) = issuer_and_iss_support(w).await?;
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::authz_14_iss(outcome, &issuer, advertised);
        w.expect(f)
    })
    .await
}

#[then(
    "the error comes back with iss equal to the metadata issuer, when iss is sent or advertised (AUTHZ-14)"
)]
async fn error_with_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (issuer, advertised) = issuer_and_iss_support(w).await?;
        let outcome = error_redirect(w)?;
        let f = check::authz_14_iss(outcome, &issuer, advertised);
        w.expect(f)
    })
    .await
}

// AUTHZ-01: GET.

#[when("the client sends a valid authorization request by GET")]
async fn valid_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let req = AuthorizationRequest::for_target(w).await?;
        let (url, _) = authorization_url_for(w, &req, |p| p).await?;
        let resp = oauth::authorization_first_response(&w.http, &url).await?;
        w.endpoint_responses.push(("a valid GET".into(), resp));
        Ok(())
    })
    .await
}

#[then("the authorization endpoint answers with a page or a redirect (AUTHZ-01)")]
async fn answers_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, resp) = need(
            w.endpoint_responses.last(),
            "a GET of the authorization endpoint",
        )?;
        let f = check::authz_01_get_supported(resp);
        w.expect(f)
    })
    .await
}

// AUTHZ-03: a loopback IP redirect URI on another port.

/// `uri` on `host`; `Err` when `uri` is not an http loopback URI, so has no such variant.
fn on_loopback_host(uri: &Url, host: &str) -> Result<Url, String> {
    let loopback = matches!(uri.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    if uri.scheme() != "http" || !loopback {
        return Err(format!(
            "the configured redirect URI {uri} is not an http loopback URI ([client] redirect_uri)"
        ));
    }
    let mut u = uri.clone();
    u.set_host(Some(host)).map_err(|e| e.to_string())?;
    Ok(u)
}

/// `uri` on the next port (the previous one at the top of the range).
fn on_another_port(uri: &Url) -> Result<Url, String> {
    let port = uri
        .port_or_known_default()
        .ok_or_else(|| format!("{uri} has no port"))?;
    let other = if port == u16::MAX { port - 1 } else { port + 1 };
    let mut u = uri.clone();
    u.set_port(Some(other))
        .map_err(|()| format!("cannot change the port of {uri}"))?;
    Ok(u)
}

#[given(regex = r"^a client registered with its redirect URI on (\S+)$")]
async fn client_on_loopback_host(w: &mut World, host: String) -> Outcome {
    w.step(async |w| {
        let uri = on_loopback_host(&w.ctx.redirect_uri, &host).map_err(Fault::Skip)?;
        if uri == w.ctx.redirect_uri {
            w.second_client = Some(w.ctx.client().await?);
            return Ok(());
        }
        let d = w.ctx.discovered().await?;
        let Some(endpoint) = d.endpoints.registration.clone() else {
            return Err(Fault::Skip(format!(
                "the AS metadata has no registration_endpoint: no client with {uri} can be registered"
            )));
        };
        let resp = Registration::public_client(&uri)
            .send(&w.http, &endpoint)
            .await?;
        let client = RegisteredClient::from_response(&resp, &uri).ok_or_else(|| {
            Fault::Skip(format!(
                "the AS did not register the redirect URI {uri} ({}); see DCR-11",
                crate::checks::describe(&resp)
            ))
        })?;
        w.second_client = Some(client);
        Ok(())
    })
    .await
}

#[when("that client requests authorization with its redirect URI on another port")]
async fn on_other_port(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = need(
            w.second_client.clone(),
            "a client with a loopback redirect URI",
        )?;
        let other = on_another_port(&client.redirect_uri).map_err(Fault::Harness)?;
        let scope = w.flow_scope().await?;
        let mut req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
        // Stop at both ports; neither is fetched.
        req.stop_at = vec![other.clone(), req.client.redirect_uri.clone()];
        send_authorization(w, req, |p| p.tamper(Param::RedirectUri, other.as_str())).await?;
        w.requested_redirect_uri = Some(other);
        Ok(())
    })
    .await
}

#[then("the code is delivered to the redirect URI on the other port (AUTHZ-03)")]
async fn delivered_to_other_port(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        if let Some(fault) = get_refused(w, outcome) {
            return Err(fault);
        }
        let other = need(w.requested_redirect_uri.as_ref(), "the redirect URI sent")?;
        let f = check::authz_03_port_accepted(outcome, other);
        w.expect(f)
    })
    .await
}

// AUTHZ-05, AUTHZ-06: response_type.

#[when("the client requests authorization with response_type omitted")]
async fn without_response_type(w: &mut World) -> Outcome {
    w.step(async |w| tampered(w, |p| p.omit(Param::ResponseType)).await)
        .await
}

#[when(expr = "the client requests authorization with response_type set to {string}")]
async fn with_response_type(w: &mut World, value: String) -> Outcome {
    w.step(async |w| tampered(w, |p| p.tamper(Param::ResponseType, value)).await)
        .await
}

#[then("the implicit grant is refused with \"unsupported_response_type\" and no token (AUTHZ-06)")]
async fn implicit_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::authz_06_implicit_refused(outcome);
        w.expect(f)
    })
    .await
}

// AUTHZ-07, AUTHZ-08, AUTHZ-09: parameter syntax.

/// The authorization parameters the syntax scenarios name.
fn named_param(name: &str) -> Outcome<Param> {
    match name {
        "state" => Ok(Param::State),
        "code_challenge" => Ok(Param::CodeChallenge),
        "scope" => Ok(Param::Scope),
        other => Err(Fault::Harness(format!(
            "no authorization parameter {other:?} in the steps"
        ))),
    }
}

#[when(regex = r"^the client requests authorization with (state|code_challenge) sent twice$")]
async fn sent_twice(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let param = named_param(&name)?;
        // A second value as valid as the first: only the repetition is wrong.
        let second = match param {
            Param::CodeChallenge => PkceVerifier::random().challenge().as_str().to_string(),
            _ => oauth::random_state(),
        };
        tampered(w, |p| p.add(param, second)).await
    })
    .await
}

#[when(
    regex = r"^the client requests authorization once with (scope|code_challenge) omitted and once with (?:scope|code_challenge) empty$"
)]
async fn omitted_then_empty(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let param = named_param(&name)?;
        tampered(w, |p| p.omit(param)).await?;
        w.compared_authorization = w.authorization.take();
        tampered(w, |p| p.tamper(param, "")).await
    })
    .await
}

#[then(regex = r"^both requests end the same way for (scope|code_challenge) \(AUTHZ-08\)$")]
async fn same_way(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let omitted = need(w.compared_authorization.as_ref(), "the request without it")?;
        let empty = need(w.authorization.as_ref(), "the request with it empty")?;
        let f = check::authz_08_same_outcome(&name, omitted, empty);
        w.expect(f)
    })
    .await
}

const UNKNOWN_PARAMETER: &str = "harness_x";

#[when("the client requests authorization with the unknown parameter harness_x=1 added")]
async fn with_unknown_parameter(w: &mut World) -> Outcome {
    w.step(async |w| tampered(w, |p| p.add(Param::Unknown(UNKNOWN_PARAMETER), "1")).await)
        .await
}

#[then("the code comes back, the unknown parameter ignored (AUTHZ-09)")]
async fn unknown_ignored(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        if let Some(fault) = get_refused(w, outcome) {
            return Err(fault);
        }
        let f = check::authz_09_unknown_ignored(outcome, UNKNOWN_PARAMETER);
        w.expect(f)
    })
    .await
}

// AUTHZ-10: no CORS.

#[when(expr = "a script on {string} sends a valid authorization request and its CORS preflight")]
async fn cross_origin(w: &mut World, origin: String) -> Outcome {
    w.step(async |w| {
        let req = AuthorizationRequest::for_target(w).await?;
        let (url, _) = authorization_url_for(w, &req, |p| p).await?;
        for (what, preflight) in [("a cross-origin GET", false), ("the CORS preflight", true)] {
            let resp = oauth::cross_origin_request(&w.http, &url, &origin, preflight).await?;
            w.endpoint_responses.push((what.into(), resp));
        }
        Ok(())
    })
    .await
}

#[then("neither answer carries Access-Control-Allow-Origin (AUTHZ-10)")]
async fn no_cors(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = w
            .endpoint_responses
            .iter()
            .flat_map(|(what, resp)| check::authz_10_no_cors(what, resp))
            .collect();
        w.expect(f)
    })
    .await
}

// AUTHZ-12, AUTHZ-15, AUTHZ-16: the success response and the login.

#[then("the success response has one code, state and iss at most once, and no error (AUTHZ-12)")]
async fn success_shape(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::authz_12_success_shape(outcome);
        w.expect(f)
    })
    .await
}

#[then("the authorization response does not reveal the code challenge (AUTHZ-15)")]
async fn challenge_hidden(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let challenge = need(w.verifier.as_ref(), "the verifier")?.challenge();
        let f = check::authz_15_challenge_hidden(outcome, challenge.as_str());
        w.expect(f)
    })
    .await
}

#[then("the request that carried the user's credentials was not answered with 307 (AUTHZ-16)")]
async fn no_307(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::authz_16_no_307_after_credentials(&w.login_steps).ok_or_else(|| {
            Fault::Skip(if w.login_steps.is_empty() {
                "the login driver cannot show the requests behind a login (only the form driver records them), so how the credential POST was answered cannot be checked".into()
            } else {
                "the login driver submitted no credentials (no login form was shown), so there was no credential POST to check".into()
            })
        })?;
        w.expect(f)
    })
    .await
}

// AUTHZ-18: the error response's syntax.

#[then("the error uses a defined code and allowed characters (AUTHZ-18)")]
async fn error_syntax(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = error_redirect(w)?;
        let f = check::authz_18_error_syntax(outcome);
        w.expect(f)
    })
    .await
}

// SCOPE-08: a scope the AS cannot know.

#[when(expr = "the client requests authorization for the flow's scope plus {string}")]
async fn with_unknown_scope(w: &mut World, unknown: String) -> Outcome {
    w.step(async |w| {
        let scope = match w.flow_scope().await? {
            Some(flow) => format!("{flow} {unknown}"),
            None => unknown,
        };
        w.requested_scope = Some(scope.clone());
        tampered(w, |p| p.tamper(Param::Scope, scope)).await
    })
    .await
}

#[then(
    expr = "{string} is refused with invalid_scope and the request's state, or dropped from a grant the token response states \\(SCOPE-08)"
)]
async fn unknown_scope_refused_or_dropped(w: &mut World, unknown: String) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = if outcome.code().is_some() {
            let requested = need(w.requested_scope.as_deref(), "the scope requested")?;
            token_check::scope_08_dropped(requested, &unknown, w.last_token_response()?)
        } else {
            check::scope_08_refused(outcome, need(w.state.as_deref(), "state")?)
        };
        w.expect(f)
    })
    .await
}

// AUTHZ-20: iss sent in every authorization response (2026-07-28).

#[then("the code comes back with iss (AUTHZ-20)")]
async fn code_carries_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::authz_20_iss_sent(outcome);
        w.expect(f)
    })
    .await
}

#[then("the error comes back with iss (AUTHZ-20)")]
async fn error_carries_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = error_redirect(w)?;
        let f = check::authz_20_iss_sent(outcome);
        w.expect(f)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_variants_of_the_default_redirect_uri() {
        let registered = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        let cases = [
            ("an extra path segment", "http://127.0.0.1:33418/callback/x"),
            ("a trailing slash", "http://127.0.0.1:33418/callback/"),
            (
                "an extra query parameter",
                "http://127.0.0.1:33418/callback?a=1",
            ),
            ("a changed path case", "http://127.0.0.1:33418/Callback"),
            (
                "localhost for the IP literal",
                "http://localhost:33418/callback",
            ),
            ("https for http", "https://127.0.0.1:33418/callback"),
            ("another loopback host", "http://127.0.0.2:33418/callback"),
        ];
        for (name, expected) in cases {
            let v = RedirectVariant::from_str(name).expect("a known variant");
            assert_eq!(v.apply(&registered).expect(name).as_str(), expected);
        }
        assert!(RedirectVariant::from_str("a new fragment").is_err());
    }

    #[test]
    fn redirect_variants_keep_the_port_and_say_when_they_cannot_apply() {
        let https = Url::parse("https://client.example/cb?x=1").expect("url");
        let http = RedirectVariant::OtherScheme.apply(&https).expect("http");
        assert_eq!(http.as_str(), "http://client.example:443/cb?x=1");
        let query = RedirectVariant::ExtraQuery.apply(&https).expect("query");
        assert_eq!(query.as_str(), "https://client.example/cb?x=1&a=1");
        assert!(RedirectVariant::LocalhostForIp.apply(&https).is_err());
        let root = Url::parse("http://127.0.0.1:1/").expect("url");
        assert!(RedirectVariant::PathCase.apply(&root).is_err());
    }

    #[test]
    fn the_url_sensitive_state_is_64_legal_characters() {
        let s = url_sensitive_state();
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| (0x20..=0x7e).contains(&b)), "1*VSCHAR");
        assert!(s.contains('%') && s.contains('+') && s.contains('~'));
        assert_ne!(s, url_sensitive_state(), "random after the fixed part");
    }

    #[test]
    fn the_second_redirect_uri_differs_from_the_first() {
        let first = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        assert_eq!(
            second_redirect_uri(&first).as_str(),
            "http://127.0.0.1:33418/callback/second"
        );
    }

    #[test]
    fn loopback_variants_of_the_redirect_uri() {
        let configured = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        assert_eq!(
            on_loopback_host(&configured, "[::1]")
                .expect("ipv6")
                .as_str(),
            "http://[::1]:33418/callback"
        );
        assert_eq!(
            on_another_port(&configured).expect("port").as_str(),
            "http://127.0.0.1:33419/callback"
        );
        let top = Url::parse("http://127.0.0.1:65535/cb").expect("url");
        assert_eq!(on_another_port(&top).expect("port").port(), Some(65534));
        let https = Url::parse("https://client.example/cb").expect("url");
        assert!(on_loopback_host(&https, "[::1]").is_err());
    }
}
