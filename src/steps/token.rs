//! Token endpoint steps: code redemption (valid, tampered, replayed, raced) and refresh.

use std::str::FromStr;

use cucumber::{given, then, when};
use futures::future::join_all;

use super::authorization::{AuthorizationRequest, obtain_code_for, obtain_tokens, which_client};
use super::{World, need};
use crate::checks::{resource as rs_check, token as check};
use crate::client::http::Response;
use crate::client::mcp::Credential;
use crate::client::oauth::{self, TokenSet};
use crate::client::params::{Param, Params};
use crate::client::pkce::PkceVerifier;
use crate::client::redact::Secret;
use crate::client::registration::RegisteredClient;
use crate::verdict::{Fault, Outcome};

/// The verifier tamperings of PKCE-06, -08 and -09.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierCase {
    /// A well-formed verifier that is not the one the challenge was made from.
    DifferentValid,
    Chars42,
    Chars129,
    IllegalCharacter,
    TheChallenge,
}

impl FromStr for VerifierCase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "a different valid verifier" => VerifierCase::DifferentValid,
            "42 characters" => VerifierCase::Chars42,
            "129 characters" => VerifierCase::Chars129,
            "43 characters including \"!\"" => VerifierCase::IllegalCharacter,
            "the code_challenge" => VerifierCase::TheChallenge,
            other => return Err(format!("unknown code_verifier case: {other}")),
        })
    }
}

impl VerifierCase {
    fn value(self, real: &PkceVerifier) -> String {
        match self {
            VerifierCase::DifferentValid => PkceVerifier::random().secret().to_string(),
            VerifierCase::Chars42 => "a".repeat(42),
            VerifierCase::Chars129 => "a".repeat(129),
            VerifierCase::IllegalCharacter => format!("{}!", "a".repeat(42)),
            VerifierCase::TheChallenge => real.challenge().as_str().to_string(),
        }
    }
}

/// Redeems the world's code as `client` (first or second), after `tamper`.
async fn redeem(
    w: &mut World,
    second: bool,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<Response> {
    let client = which_client(w, second)?;
    let d = w.ctx.discovered().await?;
    let params = oauth::code_params(
        &client,
        need(w.code.as_ref(), "an authorization code")?,
        need(w.verifier.as_ref(), "a verifier")?,
        Some(w.ctx.target.as_str()),
    );
    let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &tamper(params)).await?;
    record(w, resp.clone());
    Ok(resp)
}

/// Keeps a token response; a success also becomes the world's tokens.
fn record(w: &mut World, resp: Response) {
    if let Ok(t) = TokenSet::from_response(&resp) {
        if w.granted_scope.is_none() {
            w.granted_scope = t.scope.clone();
        }
        w.first_tokens.get_or_insert_with(|| t.clone());
        w.tokens = Some(t);
    }
    w.last_response = Some(resp.clone());
    w.token_responses.push(resp);
}

#[when("the client redeems the code")]
async fn redeem_code(w: &mut World) {
    w.step(async |w| redeem(w, false, |p| p).await.map(drop))
        .await
}

#[when("the client redeems the same code again")]
async fn redeem_again(w: &mut World) {
    w.step(async |w| redeem(w, false, |p| p).await.map(drop))
        .await
}

#[when("the second client redeems the code")]
async fn second_redeems(w: &mut World) {
    w.step(async |w| redeem(w, true, |p| p).await.map(drop))
        .await
}

#[when(regex = r"^the client redeems the code with code_verifier set to (.+)$")]
async fn redeem_with_verifier(w: &mut World, case: String) {
    w.step(async |w| {
        let case = VerifierCase::from_str(&case).map_err(Fault::Harness)?;
        let value = case.value(need(w.verifier.as_ref(), "a verifier")?);
        redeem(w, false, |p| p.tamper(Param::CodeVerifier, value))
            .await
            .map(drop)
    })
    .await
}

/// PKCE-08: the challenge is made from a verifier that breaks the RFC 7636 grammar, so that
/// only the grammar check can refuse its redemption (the S256 comparison would succeed).
#[when(regex = r"^the client obtains an authorization code for a code_verifier of (.+)$")]
async fn code_for_malformed_verifier(w: &mut World, case: String) {
    w.step(async |w| {
        let case = VerifierCase::from_str(&case).map_err(Fault::Harness)?;
        if matches!(
            case,
            VerifierCase::DifferentValid | VerifierCase::TheChallenge
        ) {
            return Err(Fault::Harness(format!(
                "{case:?} is not a malformed verifier (a feature file and the steps disagree)"
            )));
        }
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.verifier = Some(case.value(&PkceVerifier::random()));
        obtain_code_for(w, req).await
    })
    .await
}

#[when("the client redeems the code with code_verifier omitted")]
async fn redeem_without_verifier(w: &mut World) {
    w.step(async |w| {
        redeem(w, false, |p| p.omit(Param::CodeVerifier))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems the code with redirect_uri set to another loopback URI")]
async fn redeem_other_redirect(w: &mut World) {
    w.step(async |w| {
        let mut other = w.client()?.redirect_uri.clone();
        other.set_path("/another-callback");
        redeem(w, false, |p| p.tamper(Param::RedirectUri, other.as_str()))
            .await
            .map(drop)
    })
    .await
}

#[when(expr = "the client redeems the code {int} times concurrently")]
async fn redeem_concurrently(w: &mut World, n: usize) {
    w.step(async |w| {
        let client = w.client()?.clone();
        let params = oauth::code_params(
            &client,
            need(w.code.as_ref(), "an authorization code")?,
            need(w.verifier.as_ref(), "a verifier")?,
            Some(w.ctx.target.as_str()),
        );
        race(w, &client, &params, n).await
    })
    .await
}

/// Sends the same token request `n` times at once; the responses replace the scenario's.
async fn race(w: &mut World, client: &RegisteredClient, params: &Params, n: usize) -> Outcome {
    let d = w.ctx.discovered().await?;
    let results =
        join_all((0..n).map(|_| oauth::post_form(&w.http, &d.endpoints.token, client, params)))
            .await;
    w.token_responses.clear();
    for r in results {
        w.token_responses.push(r?);
    }
    Ok(())
}

#[when("the client redeems a made-up code")]
async fn redeem_made_up(w: &mut World) {
    w.step(async |w| {
        w.code = Some(Secret::new(oauth::random_state()));
        w.verifier = Some(PkceVerifier::random());
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

#[then(regex = r"^the token response is 200 with an access token \(([A-Z]+-\d{2})\)$")]
async fn token_issued(w: &mut World, id: String) {
    w.step(async |w| {
        let f = check::issued(&id, w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the token response is 200 with a bearer access token and Cache-Control no-store")]
async fn token_issued_no_store(w: &mut World) {
    w.step(async |w| {
        let f = check::code_01_bearer_no_store(w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the token request is refused with "([^"]+)" \(([A-Z]+-\d{2})\)$"#)]
async fn token_refused(w: &mut World, error: String, id: String) {
    w.step(async |w| {
        let f = check::refused_with(&id, w.last_token_response()?, &[error.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the token request is refused with "([^"]+)" or "([^"]+)" \(([A-Z]+-\d{2})\)$"#)]
async fn token_refused_either(w: &mut World, a: String, b: String, id: String) {
    w.step(async |w| {
        let f = check::refused_with(&id, w.last_token_response()?, &[a.as_str(), b.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(
    regex = r#"^exactly one redemption succeeds and the others get "([^"]+)" \(([A-Z]+-\d{2})\)$"#
)]
async fn exactly_one(w: &mut World, error: String, id: String) {
    w.step(async |w| {
        let f = check::exactly_one_success(&id, &w.token_responses, &error);
        w.expect(f)
    })
    .await
}

#[then("the access token from the first redemption is refused by the MCP server")]
async fn first_access_token_refused(w: &mut World) {
    w.step(async |w| {
        let first = need(w.first_tokens.clone(), "tokens from the first redemption")?;
        let mcp = w.mcp();
        let (resp, _) = mcp
            .open(&Credential::Bearer(first.access_token.clone()))
            .await?;
        w.last_response = Some(resp.http.clone());
        let f = rs_check::refused_401("CODE-03", &resp);
        w.mcp_responses.push(resp);
        w.expect(f)
    })
    .await
}

#[then("the refresh token from the first redemption is refused")]
async fn first_refresh_token_refused(w: &mut World) {
    w.step(async |w| {
        let first = need(w.first_tokens.clone(), "tokens from the first redemption")?;
        let Some(rt) = first.refresh_token else {
            return Ok(());
        };
        let resp = refresh_with(w, false, &rt, |p| p).await?;
        let f = check::refused_with("CODE-03", &resp, &["invalid_grant"]);
        w.expect(f)
    })
    .await
}

// Refresh.

async fn refresh_with(
    w: &mut World,
    second: bool,
    rt: &Secret,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<Response> {
    let client = which_client(w, second)?;
    let d = w.ctx.discovered().await?;
    let params = tamper(oauth::refresh_params(&client, rt, None));
    let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &params).await?;
    w.last_response = Some(resp.clone());
    w.token_responses.push(resp.clone());
    Ok(resp)
}

fn current_refresh(w: &World) -> Outcome<Secret> {
    need(w.tokens()?.refresh_token.clone(), "a refresh token")
}

#[given("the client holds tokens with a refresh token")]
async fn holds_refresh_token(w: &mut World) {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        obtain_tokens(w, Some(w.ctx.target.to_string()), scope).await?;
        if w.tokens()?.refresh_token.is_none() {
            return Err(Fault::Skip("the AS issued no refresh token".into()));
        }
        Ok(())
    })
    .await
}

#[when("the client refreshes")]
async fn refreshes(w: &mut World) {
    w.step(async |w| {
        let old = current_refresh(w)?;
        let resp = refresh_with(w, false, &old, |p| p).await?;
        if let Ok(t) = TokenSet::from_response(&resp) {
            // Keep the old refresh token if the AS did not rotate (REFRESH-01 reports it).
            let mut t = t;
            if t.refresh_token.is_none() {
                t.refresh_token = Some(old.clone());
            }
            w.replaced_refresh = Some(old);
            w.tokens = Some(t);
        }
        Ok(())
    })
    .await
}

#[when("the client refreshes with the replaced refresh token")]
async fn refresh_with_replaced(w: &mut World) {
    w.step(async |w| {
        let old = need(w.replaced_refresh.clone(), "a replaced refresh token")?;
        refresh_with(w, false, &old, |p| p).await.map(drop)
    })
    .await
}

#[when("the client refreshes with the newest refresh token")]
async fn refresh_with_newest(w: &mut World) {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        refresh_with(w, false, &rt, |p| p).await.map(drop)
    })
    .await
}

#[when(expr = "the client refreshes {int} times concurrently with the same refresh token")]
async fn refresh_concurrently(w: &mut World, n: usize) {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        let client = w.client()?.clone();
        let params = oauth::refresh_params(&client, &rt, None);
        race(w, &client, &params, n).await
    })
    .await
}

#[when("the second client refreshes with the client's refresh token")]
async fn second_client_refreshes(w: &mut World) {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        refresh_with(w, true, &rt, |p| p).await.map(drop)
    })
    .await
}

#[when(expr = "the client refreshes with scope set to the granted scope plus {string}")]
async fn refresh_wider_scope(w: &mut World, extra: String) {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        let scope = match w.granted_scope.as_deref() {
            Some(s) if !s.is_empty() => format!("{s} {extra}"),
            _ => extra.clone(),
        };
        refresh_with(w, false, &rt, |p| p.tamper(Param::Scope, scope))
            .await
            .map(drop)
    })
    .await
}

#[when("the client refreshes with a made-up refresh token")]
async fn refresh_made_up(w: &mut World) {
    w.step(async |w| {
        let rt = Secret::new(oauth::random_state());
        refresh_with(w, false, &rt, |p| p).await.map(drop)
    })
    .await
}

#[then("the refresh response carries a refresh token different from the old one")]
async fn rotated(w: &mut World) {
    w.step(async |w| {
        let old = need(
            w.replaced_refresh.clone(),
            "the refresh token before the refresh",
        )?;
        let f = check::refresh_01_rotated(old.expose(), w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("every refresh response grants the originally granted scope")]
async fn scope_kept(w: &mut World) {
    w.step(async |w| {
        let original = w.granted_scope.clone().ok_or_else(|| {
            Fault::Skip("the grant's scope is unknown: none was requested and the token response named none".into())
        })?;
        let refreshes: Vec<Response> = w.token_responses.iter().skip(1).cloned().collect();
        let f = check::refresh_06_scope_kept(&original, &refreshes);
        w.expect(f)
    })
    .await
}
