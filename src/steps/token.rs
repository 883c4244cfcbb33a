//! Token endpoint steps: code redemption (valid, tampered, replayed, raced), refresh, the
//! token endpoint's general rules (TOK-*), and the authorization requests of PKCE-04/05/10/11
//! and RES-04..09 whose verdicts rest on what the token endpoint or AS does with them.

use std::str::FromStr;

use cucumber::{given, then, when};
use futures::future::join_all;

use super::authorization::{
    AuthorizationRequest, obtain_code_for, obtain_tokens, send_authorization, which_client,
};
use super::{World, need};
use crate::checks::{resource as rs_check, tok as tok_check, token as check};
use crate::client::http::Response;
use crate::client::mcp::{Credential, McpClient};
use crate::client::oauth::{self, TokenSet};
use crate::client::params::{Param, Params};
use crate::client::pkce::PkceVerifier;
use crate::client::redact::Secret;
use crate::client::registration::{RegisteredClient, Registration};
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
async fn redeem_code(w: &mut World) -> Outcome {
    w.step(async |w| redeem(w, false, |p| p).await.map(drop))
        .await
}

#[when("the client redeems the same code again")]
async fn redeem_again(w: &mut World) -> Outcome {
    w.step(async |w| redeem(w, false, |p| p).await.map(drop))
        .await
}

#[when("the second client redeems the code")]
async fn second_redeems(w: &mut World) -> Outcome {
    w.step(async |w| redeem(w, true, |p| p).await.map(drop))
        .await
}

#[when(regex = r"^the client redeems the code with code_verifier set to (.+)$")]
async fn redeem_with_verifier(w: &mut World, case: String) -> Outcome {
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
async fn code_for_malformed_verifier(w: &mut World, case: String) -> Outcome {
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

#[when(
    regex = r"^the client redeems the code with (code_verifier|client_id|redirect_uri) omitted$"
)]
async fn redeem_without(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let param = Param::by_name(&name)
            .ok_or_else(|| Fault::Harness(format!("unknown parameter {name}")))?;
        redeem(w, false, |p| p.omit(param)).await.map(drop)
    })
    .await
}

#[when("the client redeems the code with redirect_uri set to another loopback URI")]
async fn redeem_other_redirect(w: &mut World) -> Outcome {
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
async fn redeem_concurrently(w: &mut World, n: usize) -> Outcome {
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
async fn redeem_made_up(w: &mut World) -> Outcome {
    w.step(async |w| {
        w.code = Some(Secret::new(oauth::random_state()));
        w.verifier = Some(PkceVerifier::random());
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

#[then(regex = r"^the token response is 200 with an access token$")]
async fn token_issued(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the issuance check", check::ISSUANCE_JUDGES)?;
        let f = check::issued(id, w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the token response is 200 with a bearer access token and Cache-Control no-store")]
async fn token_issued_no_store(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::code_01_bearer_no_store(w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the token request is refused with "([^"]+)"$"#)]
async fn token_refused(w: &mut World, error: String) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the token refusal", check::REFUSAL_JUDGES)?;
        let f = check::refused_with(id, w.last_token_response()?, &[error.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the token request is refused with "([^"]+)" or "([^"]+)"$"#)]
async fn token_refused_either(w: &mut World, a: String, b: String) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the token refusal", check::REFUSAL_JUDGES)?;
        let f = check::refused_with(id, w.last_token_response()?, &[a.as_str(), b.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^exactly one redemption succeeds and the others get "([^"]+)"$"#)]
async fn exactly_one(w: &mut World, error: String) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the race check", check::RACE_JUDGES)?;
        let f = check::exactly_one_success(id, &w.token_responses, &error);
        w.expect(f)
    })
    .await
}

/// Opens an MCP conversation with the access token of the first redemption.
async fn present_first_access_token(w: &mut World) -> Outcome<crate::client::mcp::McpResponse> {
    let first = need(w.first_tokens.clone(), "tokens from the first redemption")?;
    let (resp, _) = w
        .mcp()
        .open(&Credential::Bearer(first.access_token.clone()))
        .await?;
    w.last_response = Some(resp.http.clone());
    Ok(resp)
}

#[then("the access token from the first redemption is refused by the MCP server")]
async fn first_access_token_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = present_first_access_token(w).await?;
        let f = rs_check::refused_401(req::CODE_03, &resp);
        w.mcp_responses.push(resp);
        w.expect(f)
    })
    .await
}

#[then("the refresh token from the first redemption is refused")]
async fn first_refresh_token_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let first = need(w.first_tokens.clone(), "tokens from the first redemption")?;
        let Some(rt) = first.refresh_token else {
            return Ok(());
        };
        let resp = refresh_with(w, false, &rt, |p| p).await?;
        let f = check::refused_with(req::CODE_03, &resp, &["invalid_grant"]);
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
async fn holds_refresh_token(w: &mut World) -> Outcome {
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
async fn refreshes(w: &mut World) -> Outcome {
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
async fn refresh_with_replaced(w: &mut World) -> Outcome {
    w.step(async |w| {
        let old = need(w.replaced_refresh.clone(), "a replaced refresh token")?;
        refresh_with(w, false, &old, |p| p).await.map(drop)
    })
    .await
}

#[when("the client refreshes with the newest refresh token")]
async fn refresh_with_newest(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        refresh_with(w, false, &rt, |p| p).await.map(drop)
    })
    .await
}

#[when(expr = "the client refreshes {int} times concurrently with the same refresh token")]
async fn refresh_concurrently(w: &mut World, n: usize) -> Outcome {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        let client = w.client()?.clone();
        let params = oauth::refresh_params(&client, &rt, None);
        race(w, &client, &params, n).await
    })
    .await
}

#[when("the second client refreshes with the client's refresh token")]
async fn second_client_refreshes(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        refresh_with(w, true, &rt, |p| p).await.map(drop)
    })
    .await
}

#[when(expr = "the client refreshes with scope set to the granted scope plus {string}")]
async fn refresh_wider_scope(w: &mut World, extra: String) -> Outcome {
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
async fn refresh_made_up(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = Secret::new(oauth::random_state());
        refresh_with(w, false, &rt, |p| p).await.map(drop)
    })
    .await
}

#[then("the refresh response carries a refresh token different from the old one")]
async fn rotated(w: &mut World) -> Outcome {
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
async fn scope_kept(w: &mut World) -> Outcome {
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

// The token endpoint in general (TOK-*), and the rest of code redemption and refresh.

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
    w.client = Some(client);
    Ok(())
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

/// Redeems a made-up code as `client` (which may carry a wrong secret), after `tamper`.
async fn redeem_made_up_as(
    w: &mut World,
    client: &RegisteredClient,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<Response> {
    let d = w.ctx.discovered().await?;
    let code = Secret::new(oauth::random_state());
    let params = oauth::code_params(
        client,
        &code,
        &PkceVerifier::random(),
        Some(w.ctx.target.as_str()),
    );
    let resp = oauth::post_form(&w.http, &d.endpoints.token, client, &tamper(params)).await?;
    record(w, resp.clone());
    Ok(resp)
}

/// A secret no AS issued.
fn wrong_secret() -> Secret {
    Secret::new(format!("harness-wrong-secret-{}", oauth::random_state()))
}

#[when("the client redeems a made-up code with grant_type omitted")]
async fn made_up_without_grant_type(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        redeem_made_up_as(w, &client, |p| p.omit(Param::GrantType))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems a made-up code with grant_type empty")]
async fn made_up_empty_grant_type(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        redeem_made_up_as(w, &client, |p| p.tamper(Param::GrantType, ""))
            .await
            .map(drop)
    })
    .await
}

#[when(expr = "the client redeems a made-up code with grant_type set to {string}")]
async fn made_up_with_grant_type(w: &mut World, grant: String) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        redeem_made_up_as(w, &client, |p| p.tamper(Param::GrantType, grant))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems a made-up code with client_id set to an unknown client")]
async fn made_up_unknown_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        let unknown = format!("harness-unknown-client-{}", oauth::random_state());
        redeem_made_up_as(w, &client, |p| p.tamper(Param::ClientId, unknown))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems a made-up code with a wrong client secret")]
async fn made_up_wrong_secret(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.with_secret(wrong_secret());
        redeem_made_up_as(w, &client, |p| p).await.map(drop)
    })
    .await
}

#[when(
    "the client redeems a made-up code with its secret both in the Authorization header and in the body"
)]
async fn made_up_two_auth_methods(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        if !client.uses_basic() {
            return Err(Fault::Harness(
                "TOK-07 needs a client_secret_basic client (a feature file and the steps disagree)"
                    .into(),
            ));
        }
        let secret = need(client.client_secret.clone(), "a client secret")?;
        redeem_made_up_as(w, &client, |p| {
            p.add(Param::ClientSecret, secret.expose().to_string())
        })
        .await
        .map(drop)
    })
    .await
}

#[when(
    expr = "the client redeems a made-up code with a wrong client secret {int} times, then with the right one"
)]
async fn made_up_brute_force(w: &mut World, n: usize) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        let wrong = client.with_secret(wrong_secret());
        for _ in 0..n {
            redeem_made_up_as(w, &wrong, |p| p).await?;
        }
        redeem_made_up_as(w, &client, |p| p).await.map(drop)
    })
    .await
}

#[when("the client redeems the code with grant_type sent twice")]
async fn redeem_grant_type_twice(w: &mut World) -> Outcome {
    w.step(async |w| {
        redeem(w, false, |p| p.add(Param::GrantType, "authorization_code"))
            .await
            .map(drop)
    })
    .await
}

#[when(expr = "the client redeems the code with an unknown parameter {string}")]
async fn redeem_with_unknown_param(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        // Param::Unknown takes a static name: only the names the feature files use.
        let param = match name.as_str() {
            "harness_x" => Param::Unknown("harness_x"),
            other => {
                return Err(Fault::Harness(format!(
                    "unknown parameter name {other:?} (a feature file and the steps disagree)"
                )));
            }
        };
        redeem(w, false, |p| p.add(param, "1")).await.map(drop)
    })
    .await
}

#[when("the client redeems the code with resource set to the second resource")]
async fn redeem_for_second_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = need(w.second_resource.clone(), "a second resource")?;
        redeem(w, false, |p| p.tamper(Param::Resource, second.as_str()))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems the code with a GET request")]
async fn redeem_with_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        let d = w.ctx.discovered().await?;
        let params = oauth::code_params(
            &client,
            need(w.code.as_ref(), "an authorization code")?,
            need(w.verifier.as_ref(), "a verifier")?,
            Some(w.ctx.target.as_str()),
        );
        let resp = oauth::token_request_as_get(&w.http, &d.endpoints.token, &params).await?;
        record(w, resp);
        Ok(())
    })
    .await
}

#[when("the client requests a client_credentials token")]
async fn client_credentials_request(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        let scope = w.flow_scope().await?;
        let d = w.ctx.discovered().await?;
        let params = oauth::client_credentials_params(
            &client,
            scope.as_deref(),
            Some(w.ctx.target.as_str()),
        );
        let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &params).await?;
        record(w, resp);
        Ok(())
    })
    .await
}

#[when("the client refreshes with resource set to the second resource")]
async fn refresh_for_second_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = need(w.second_resource.clone(), "a second resource")?;
        let rt = current_refresh(w)?;
        refresh_with(w, false, &rt, |p| {
            p.tamper(Param::Resource, second.as_str())
        })
        .await
        .map(drop)
    })
    .await
}

#[when("the client refreshes without client authentication")]
async fn refresh_unauthenticated(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.client()?.clone();
        let rt = current_refresh(w)?;
        let d = w.ctx.discovered().await?;
        let params = oauth::refresh_params(&client, &rt, None);
        let resp =
            oauth::post_form_without_client_auth(&w.http, &d.endpoints.token, &params).await?;
        w.last_response = Some(resp.clone());
        w.token_responses.push(resp);
        Ok(())
    })
    .await
}

#[when("the client redeems the code issued without a challenge with a code_verifier")]
async fn redeem_unchallenged_code(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let Some(code) = outcome.code() else {
            return Err(Fault::Skip(
                "the AS issued no code without a challenge (PKCE-01 holds), so there is no downgrade to try".into(),
            ));
        };
        w.code = Some(code);
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

// Authorization requests of PKCE-04, PKCE-05, PKCE-11 and RES-05, RES-09.

async fn authorize_tampered(w: &mut World, tamper: impl FnOnce(Params) -> Params) -> Outcome {
    let req = AuthorizationRequest::for_target(w).await?;
    send_authorization(w, req, tamper).await.map(drop)
}

#[given("the authorization server does not advertise plain")]
async fn plain_not_advertised(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        if d.endpoints.code_challenge_methods.iter().any(|m| m == "plain") {
            return Err(Fault::Skip(
                "code_challenge_methods_supported lists plain: the AS may accept it (RFC 7636 §4.2)".into(),
            ));
        }
        Ok(())
    })
    .await
}

#[when("the client requests authorization with code_challenge_method omitted")]
async fn without_method(w: &mut World) -> Outcome {
    w.step(async |w| authorize_tampered(w, |p| p.omit(Param::CodeChallengeMethod)).await)
        .await
}

/// The malformed challenges of PKCE-05 (OAuth 2.1 Appendix A.18: 43 to 128 unreserved
/// characters).
fn malformed_challenge(case: &str) -> Result<String, String> {
    let base = PkceVerifier::random().challenge().as_str().to_string();
    Ok(match case {
        "42 characters" => "a".repeat(42),
        "129 characters" => "a".repeat(129),
        "43 characters including \"+\"" => format!("{}+", &base[..42]),
        "43 characters including \"/\"" => format!("{}/", &base[..42]),
        "43 characters including \"=\"" => format!("{}=", &base[..42]),
        other => return Err(format!("unknown code_challenge case: {other}")),
    })
}

#[when(regex = r"^the client requests authorization with a code_challenge of (.+)$")]
async fn with_malformed_challenge(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let challenge = malformed_challenge(&case).map_err(Fault::Harness)?;
        authorize_tampered(w, |p| p.tamper(Param::CodeChallenge, challenge)).await
    })
    .await
}

#[when(
    "the client requests authorization with code_challenge_method plain and the verifier as code_challenge"
)]
async fn with_plain_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        let verifier = PkceVerifier::random().secret().to_string();
        req.verifier = Some(verifier.clone());
        send_authorization(w, req, |p| {
            p.tamper(Param::CodeChallengeMethod, "plain")
                .tamper(Param::CodeChallenge, verifier)
        })
        .await
        .map(drop)
    })
    .await
}

#[when("the client requests authorization with resource omitted")]
async fn without_resource(w: &mut World) -> Outcome {
    w.step(async |w| authorize_tampered(w, |p| p.omit(Param::Resource)).await)
        .await
}

#[when(
    "the client requests authorization with resource set to the MCP server and the second resource"
)]
async fn with_two_resources(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = need(w.second_resource.clone(), "a second resource")?;
        authorize_tampered(w, |p| p.add(Param::Resource, second.as_str())).await
    })
    .await
}

#[when(
    "the client obtains tokens for the MCP server with the resource's scheme and host in upper case"
)]
async fn tokens_for_uppercase_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resource = uppercase_scheme_and_host(&w.ctx.target);
        let scope = w.flow_scope().await?;
        obtain_tokens(w, Some(resource), scope).await
    })
    .await
}

/// `https://mcp.example.com/mcp` → `HTTPS://MCP.EXAMPLE.COM/mcp` (RES-07): scheme and host
/// are case-insensitive (RFC 3986 §6.2.2.1), the path is not.
fn uppercase_scheme_and_host(u: &url::Url) -> String {
    let s = u.as_str();
    let authority_end = s
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| s[start..].find(['/', '?', '#']).map(|j| start + j))
        .unwrap_or(s.len());
    format!(
        "{}{}",
        s[..authority_end].to_ascii_uppercase(),
        &s[authority_end..]
    )
}

// Then.

#[then("the token error is a 400 JSON object with a registered error code (TOK-01)")]
async fn tok_01(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = tok_check::tok_01_error_shape(w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the token request is refused with 401 invalid_client and a Basic challenge (TOK-06)")]
async fn tok_06(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = tok_check::tok_06_basic_failure(w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the token endpoint throttled the wrong secrets or locked the client out (TOK-10)")]
async fn tok_10(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some((right, wrong)) = w.token_responses.split_last() else {
            return Err(Fault::Harness("step order: no token responses yet".into()));
        };
        let f = tok_check::tok_10_throttled(wrong, right);
        w.expect(f)
    })
    .await
}

#[then("the token endpoint is https, or http on a loopback host (TOK-11)")]
async fn tok_11_https(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let f = tok_check::tok_11_https(&d.endpoints.token);
        w.expect(f)
    })
    .await
}

#[then("the GET token request issued no tokens (TOK-11)")]
async fn tok_11_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = tok_check::tok_11_get_not_served(w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the token request is refused with "([^"]+)", "([^"]+)" or "([^"]+)"$"#)]
async fn token_refused_any_of_three(w: &mut World, a: String, b: String, c: String) -> Outcome {
    w.step(async |w| {
        let allowed = [a.as_str(), b.as_str(), c.as_str()];
        let id = w.judged("the token refusal", check::REFUSAL_JUDGES)?;
        let f = check::refused_with(id, w.last_token_response()?, &allowed);
        w.expect(f)
    })
    .await
}

#[then("the access token from the first redemption is accepted by the MCP server (CODE-04)")]
async fn first_access_token_accepted(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = present_first_access_token(w).await?;
        let f = rs_check::accepted(req::CODE_04, &resp);
        w.mcp_responses.push(resp);
        w.expect(f)
    })
    .await
}

#[then(
    "the refresh is refused, or its access token is refused by the second resource (REFRESH-07)"
)]
async fn refresh_07(w: &mut World) -> Outcome {
    w.step(async |w| {
        let refresh = w.last_token_response()?.clone();
        let at_other = match TokenSet::from_response(&refresh) {
            Ok(t) => {
                let second = need(w.second_resource.clone(), "a second resource")?;
                let mcp = McpClient::new(w.http.clone(), second, w.ctx.revision);
                let (resp, _) = mcp.open(&Credential::Bearer(t.access_token)).await?;
                w.last_response = Some(resp.http.clone());
                w.mcp_responses.push(resp.clone());
                Some(resp)
            }
            Err(_) => None,
        };
        let f = check::refresh_07_resource_bound(&refresh, at_other.as_ref());
        w.expect(f)
    })
    .await
}

#[then("the refresh response carries Cache-Control no-store (REFRESH-09)")]
async fn refresh_09(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::issued_no_store(req::REFRESH_09, w.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the refresh token is long and random enough not to be guessed (REFRESH-11)")]
async fn refresh_11(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = current_refresh(w)?;
        let f = check::refresh_11_unguessable(rt.expose());
        w.expect(f)
    })
    .await
}

#[then(regex = r"^the access token lives at most (\d+) seconds \(REFRESH-12\)$")]
async fn refresh_12(w: &mut World, max: u64) -> Outcome {
    w.step(async |w| {
        let Some(expires_in) = w.tokens()?.expires_in else {
            return Err(Fault::Skip(
                "the token response has no expires_in, so the token's lifetime is unknown".into(),
            ));
        };
        let f = check::refresh_12_short_lived(expires_in, max);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the authorization yields a code or is refused with "invalid_target"$"#)]
async fn code_or_invalid_target(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let id = w.judged(
            "the code-or-invalid_target check",
            &[crate::checks::resource_binding::JUDGED_BY_CODE_OR_INVALID_TARGET],
        )?;
        let f = check::code_or_invalid_target(id, outcome);
        w.expect(f)
    })
    .await
}

#[then("the authorization is refused, or plain is advertised (PKCE-11)")]
async fn pkce_11(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let f = check::pkce_11_accepted_is_advertised(
            outcome,
            "plain",
            &d.endpoints.code_challenge_methods,
        );
        w.expect(f)
    })
    .await
}

#[then("the MCP server accepts the access token (RES-07)")]
async fn res_07_accepted(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let (resp, _) = mcp.open(&w.bearer()?).await?;
        w.last_response = Some(resp.http.clone());
        let f = rs_check::accepted(req::RES_07, &resp);
        w.mcp_responses.push(resp);
        w.expect(f)
    })
    .await
}

#[then("the PRM resource has no trailing slash (RES-08)")]
async fn res_08(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let Some(resource) = d.prm.as_ref().and_then(|(_, doc)| doc.str("resource")) else {
            return Err(Fault::Skip(
                "no protected resource metadata with a resource was found".into(),
            ));
        };
        let f = check::res_08_no_trailing_slash(resource);
        w.expect(f)
    })
    .await
}

// SCOPE-06, SCOPE-08 and SEC-04.

#[when("the client redeems the code, if the authorization issued one")]
async fn redeem_if_issued(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let Some(code) = outcome.code() else {
            return Ok(());
        };
        w.code = Some(code);
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

/// Every scope the protected resource metadata lists (RFC 9728 §2 `scopes_supported`), else
/// the flows' scope: several scopes, some of which an AS may grant only by policy.
async fn every_listed_scope(w: &World) -> Outcome<Option<String>> {
    let d = w.ctx.discovered().await?;
    let listed = d
        .prm
        .as_ref()
        .and_then(|(_, doc)| doc.strings("scopes_supported"))
        .filter(|s| !s.is_empty())
        .map(|s| s.join(" "));
    match listed {
        Some(all) => Ok(Some(all)),
        None => w.flow_scope().await,
    }
}

#[when("the client obtains tokens for the MCP server with every scope the resource lists")]
async fn tokens_for_every_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let scope = every_listed_scope(w).await?;
        w.requested_scope = scope.clone();
        obtain_tokens(w, Some(w.ctx.target.to_string()), scope).await
    })
    .await
}

#[then(
    "the token response states the granted scope, or the access token grants the scope requested (SCOPE-06)"
)]
async fn granted_scope_stated(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_06_granted_scope_stated(
            req::SCOPE_06,
            w.requested_scope.as_deref(),
            w.last_token_response()?,
        );
        w.expect(f)
    })
    .await
}

#[then("no Location the client was sent carries an access_token or refresh_token (SEC-04)")]
async fn no_token_in_locations(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::sec_04_no_token_in_locations(&w.http.transcript());
        w.expect(f)
    })
    .await
}
