//! Code redemption steps: a code redeemed again, by another client, with its parameters
//! changed, many times at once, or made up; and what a replay revokes (CODE-*).

use cucumber::{then, when};

use super::World;
use super::flow::{race, redeem, redemption, refresh_with};
use super::resource_server::open_with;
use crate::checks::code as check;
use crate::client::http::Response;
use crate::client::mcp::{Credential, McpResponse};
use crate::client::params::Param;
use crate::client::redact::Secret;
use crate::verdict::{Fault, Outcome};

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
        let mut other = w.flow.client()?.redirect_uri.clone();
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
        let (client, params) = redemption(w)?;
        race(w, &client, &params, n).await
    })
    .await
}

#[when("the client redeems a made-up code")]
async fn redeem_made_up(w: &mut World) -> Outcome {
    w.step(async |w| {
        w.flow.make_up_code();
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

#[then("the token response is 200 with a bearer access token and Cache-Control no-store")]
async fn token_issued_no_store(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::code_01_bearer_no_store(w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

/// Opens an MCP conversation with the access token of the first redemption.
async fn present_first_access_token(w: &mut World) -> Outcome<McpResponse> {
    let first = Credential::Bearer(w.flow.first_tokens()?.access_token.clone());
    let mcp = w.mcp();
    open_with(w, &mcp, &first).await
}

#[then("the access token from the first redemption is refused by the MCP server")]
async fn first_access_token_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = present_first_access_token(w).await?;
        let token = w.flow.first_tokens()?.access_token.clone();
        let f = check::code_03_first_access_token_refused(&resp, token.expose());
        w.expect(f)
    })
    .await
}

#[then(
    "introspection, where the AS offers it, no longer finds the first redemption's access token active"
)]
async fn first_access_token_introspected(w: &mut World) -> Outcome {
    w.step(async |w| {
        let token = w.flow.first_tokens()?.access_token.clone();
        match introspect(w, &token).await? {
            Some(resp) => match check::code_03_introspected_inactive(&resp) {
                Some(f) => w.expect(f),
                None => Ok(()),
            },
            None => Ok(()),
        }
    })
    .await
}

/// Introspects the access token `token` with the scenario's client (RFC 7662), where the AS
/// metadata names an introspection endpoint; `None` where it names none (the refresh token
/// and the MCP server are observed instead).
pub(super) async fn introspect(w: &mut World, token: &Secret) -> Outcome<Option<Response>> {
    let d = w.ctx.discovered().await?;
    let Some(endpoint) = d
        .as_metadata
        .1
        .str("introspection_endpoint")
        .and_then(|u| url::Url::parse(u).ok())
    else {
        return Ok(None);
    };
    let client = w.flow.client()?.clone();
    let resp = crate::client::oauth::introspect(&w.http, &endpoint, &client, token, "access_token")
        .await?;
    Ok(Some(resp))
}

#[then("the refresh token from the first redemption is refused")]
async fn first_refresh_token_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(rt) = w.flow.first_tokens()?.refresh_token.clone() else {
            return Ok(());
        };
        let resp = refresh_with(w, false, &rt, |p| p).await?;
        let f = check::code_03_first_refresh_token_refused(&resp);
        w.expect(f)
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

#[then("the access token from the first redemption is accepted by the MCP server (CODE-04)")]
async fn first_access_token_accepted(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = present_first_access_token(w).await?;
        let f = check::code_04_first_access_token_accepted(&resp);
        w.expect(f)
    })
    .await
}
