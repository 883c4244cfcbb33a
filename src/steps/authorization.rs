//! Authorization steps: clients, authorization requests (valid and tampered), and obtaining
//! tokens for a resource.

use cucumber::{given, then, when};

use super::{World, need};
use crate::checks::authorization as check;
use crate::client::login::{AuthorizationOutcome, LoginDriver};
use crate::client::oauth::{self, TokenSet};
use crate::client::params::{Param, Params};
use crate::client::pkce::PkceVerifier;
use crate::client::registration::RegisteredClient;
use crate::verdict::{Fault, Outcome, Violation};

/// Builds the valid authorization request for `client` (fresh verifier and state), lets
/// `tamper` change it, and runs it through the login driver.
pub async fn authorize(
    w: &mut World,
    resource: Option<String>,
    scope: Option<String>,
    tamper: impl FnOnce(Params) -> Params,
) -> Outcome<AuthorizationOutcome> {
    let d = w.ctx.discovered().await?;
    let client = w.client()?.clone();
    let verifier = PkceVerifier::random();
    let state = oauth::random_state();
    let params = oauth::authorization_params(
        &client,
        &verifier.challenge(),
        &state,
        scope.as_deref(),
        resource.as_deref(),
    );
    let url = oauth::authorization_url(&d.endpoints.authorization, &tamper(params));
    let outcome = w
        .ctx
        .driver
        .authorize(&w.http, url, &client.redirect_uri)
        .await?;
    w.verifier = Some(verifier);
    w.state = Some(state);
    w.authorization = Some(outcome.clone());
    Ok(outcome)
}

/// A valid authorization that must yield a code: the S256 happy path (PKCE-02).
pub async fn obtain_code(
    w: &mut World,
    resource: Option<String>,
    scope: Option<String>,
) -> Outcome {
    let outcome = authorize(w, resource, scope, |p| p).await?;
    let Some(code) = outcome.code() else {
        let actual = match outcome.error() {
            Some(e) => format!(
                "error={e} ({})",
                outcome.param("error_description").unwrap_or("")
            ),
            None => outcome.describe(),
        };
        return Err(Violation::new(
            "PKCE-02",
            "an authorization code for a valid S256 request",
            actual,
        )
        .into());
    };
    if outcome.param("state") != w.state.as_deref() {
        return Err(Violation::new(
            "PKCE-02",
            "the request's state with the code",
            format!("state={:?}", outcome.param("state")),
        )
        .into());
    }
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
            "PKCE-02",
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
async fn a_registered_client(w: &mut World) {
    w.step(async |w| {
        w.client = Some(w.ctx.client().await?);
        Ok(())
    })
    .await
}

#[given("a second registered client")]
async fn a_second_client(w: &mut World) {
    w.step(async |w| {
        let http = w.http.clone();
        w.second_client = Some(w.ctx.register(&http).await?);
        Ok(())
    })
    .await
}

async fn tampered(w: &mut World, tamper: impl FnOnce(Params) -> Params) -> Outcome {
    let scope = w.flow_scope().await?;
    let resource = Some(w.ctx.target.to_string());
    authorize(w, resource, scope, tamper).await?;
    Ok(())
}

#[when("the client requests authorization with code_challenge and code_challenge_method omitted")]
async fn without_challenge(w: &mut World) {
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
async fn with_method(w: &mut World, method: String) {
    w.step(async |w| tampered(w, |p| p.tamper(Param::CodeChallengeMethod, method)).await)
        .await
}

#[when(expr = "the client requests authorization with resource set to {string}")]
async fn with_resource(w: &mut World, resource: String) {
    w.step(async |w| tampered(w, |p| p.tamper(Param::Resource, resource)).await)
        .await
}

#[then(regex = r#"^the authorization is refused with "([^"]+)" and no code \(([A-Z]+-\d{2})\)$"#)]
async fn authorization_refused(w: &mut World, error: String, id: String) {
    w.step(async |w| {
        let outcome = need(w.authorization.as_ref(), "an authorization attempt")?;
        let state = need(w.state.as_deref(), "state")?;
        let f = check::refused_with(&id, outcome, &error, state);
        w.expect(f)
    })
    .await
}

#[when("the client obtains an authorization code")]
async fn obtains_code(w: &mut World) {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        let resource = Some(w.ctx.target.to_string());
        obtain_code(w, resource, scope).await
    })
    .await
}

#[given("a second protected resource")]
async fn second_resource(w: &mut World) {
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
async fn tokens_for_target(w: &mut World) {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        obtain_tokens(w, Some(w.ctx.target.to_string()), scope).await
    })
    .await
}

#[when("the client obtains tokens for the second resource")]
async fn tokens_for_second(w: &mut World) {
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
