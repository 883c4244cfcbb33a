//! Token endpoint steps: the endpoint's general rules (TOK-*), tried mostly with made-up codes,
//! and the generic checks of a token response other areas' scenarios share: tokens issued, a
//! refusal with a named error, exactly one success of a race.

use cucumber::{then, when};

use super::flow::{control_failed, record_issued, redeem, redemption};
use super::{OAuthErrorCode, World, need};
use crate::checks::token as check;
use crate::client::http::Response;
use crate::client::oauth;
use crate::client::params::{Param, Params};
use crate::client::pkce::PkceVerifier;
use crate::client::redact::Secret;
use crate::client::registration::RegisteredClient;
use crate::verdict::{Fault, Outcome};

#[then(regex = r"^the token response is 200 with an access token$")]
async fn token_issued(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the issuance check", check::ISSUANCE_JUDGES)?;
        let f = check::issued(id, w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then(expr = "the token request is refused with \"{oauth_error}\"")]
async fn token_refused(w: &mut World, error: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the token refusal", check::REFUSAL_JUDGES)?;
        let f = check::refused_with(id, w.flow.last_token_response()?, &[error.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(expr = "the token request is refused with \"{oauth_error}\" or \"{oauth_error}\"")]
async fn token_refused_either(w: &mut World, a: OAuthErrorCode, b: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the token refusal", check::REFUSAL_JUDGES)?;
        let f = check::refused_with(id, w.flow.last_token_response()?, &[a.as_str(), b.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(expr = "exactly one redemption succeeds and the others get \"{oauth_error}\"")]
async fn exactly_one(w: &mut World, error: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the race check", check::RACE_JUDGES)?;
        let f = check::exactly_one_success(id, w.flow.token_responses(), error.as_str());
        w.expect(f)
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
    record_issued(w, resp.clone());
    Ok(resp)
}

/// A secret no AS issued.
fn wrong_secret() -> Secret {
    Secret::new(format!("harness-wrong-secret-{}", oauth::random_state()))
}

#[when("the client redeems a made-up code with grant_type omitted")]
async fn made_up_without_grant_type(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        redeem_made_up_as(w, &client, |p| p.omit(Param::GrantType))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems a made-up code with grant_type empty")]
async fn made_up_empty_grant_type(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        redeem_made_up_as(w, &client, |p| p.tamper(Param::GrantType, ""))
            .await
            .map(drop)
    })
    .await
}

#[when(expr = "the client redeems a made-up code with grant_type set to {string}")]
async fn made_up_with_grant_type(w: &mut World, grant: String) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        redeem_made_up_as(w, &client, |p| p.tamper(Param::GrantType, grant))
            .await
            .map(drop)
    })
    .await
}

#[when("the client redeems a made-up code with client_id set to an unknown client")]
async fn made_up_unknown_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
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
        let client = w.flow.client()?.with_secret(wrong_secret());
        redeem_made_up_as(w, &client, |p| p).await.map(drop)
    })
    .await
}

/// The positive control of TOK-10's wrong secrets: the same request with the client's own
/// secret, judged with them by the TOK-10 check. A made-up code is refused, but the client
/// is authenticated.
#[when("the client redeems a made-up code with its own secret")]
async fn made_up_own_secret(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        redeem_made_up_as(w, &client, |p| p).await.map(drop)
    })
    .await
}

/// The positive control of a refusal for a wrong secret (TOK-06, TOK-08): the same request
/// with the client's own secret authenticates the client (the made-up code is refused, but not
/// with `invalid_client`). Otherwise a refusal of the wrong secret could have any cause.
#[when("the client's own secret authenticates it (the positive control)")]
async fn own_secret_authenticates(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        let resp = redeem_made_up_as(w, &client, |p| p).await?;
        if !check::client_authenticated(&resp) {
            return Err(control_failed(
                "the client's own secret was refused as well",
                &resp,
            ));
        }
        Ok(())
    })
    .await
}

#[when(
    "the client redeems a made-up code with its secret both in the Authorization header and in the body"
)]
async fn made_up_two_auth_methods(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        if !client.uses_basic() {
            return Err(Fault::Harness(
                "TOK-07 needs a client_secret_basic client (a feature file and the steps disagree)"
                    .into(),
            ));
        }
        let secret = need(client.client_secret.clone(), "a client secret")?;
        redeem_made_up_as(w, &client, |p| p.add(Param::ClientSecret, secret))
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
        let client = w.flow.client()?.clone();
        let wrong = client.with_secret(wrong_secret());
        // The 429s are what TOK-10 looks for: they come back as answers, not waited for.
        let answers = w.http.rate_limits_as_answers();
        let http = std::mem::replace(&mut w.http, answers);
        let result = async {
            for _ in 0..n {
                redeem_made_up_as(w, &wrong, |p| p).await?;
            }
            redeem_made_up_as(w, &client, |p| p).await.map(drop)
        }
        .await;
        w.http = http;
        result
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

#[when("the client redeems the code with a GET request")]
async fn redeem_with_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, params) = redemption(w)?;
        let d = w.ctx.discovered().await?;
        let resp = oauth::token_request_as_get(&w.http, &d.endpoints.token, &params).await?;
        record_issued(w, resp);
        Ok(())
    })
    .await
}

#[when("the client requests a client_credentials token")]
async fn client_credentials_request(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = w.flow.client()?.clone();
        let d = w.ctx.discovered().await?;
        // The resource's scope, without offline_access: no refresh token for this grant
        // (RFC 6749 §4.4.3).
        let params = oauth::client_credentials_params(
            &client,
            d.scope.as_deref(),
            Some(w.ctx.target.as_str()),
        );
        let resp = oauth::post_form(&w.http, &d.endpoints.token, &client, &params).await?;
        let grants = d.as_metadata.1.strings("grant_types_supported");
        let not_offered = check::grant_not_offered(&resp, "client_credentials", grants.as_deref());
        record_issued(w, resp);
        match not_offered {
            Some(reason) => Err(Fault::Skip(reason)),
            None => Ok(()),
        }
    })
    .await
}

#[then("the token error is a 400 JSON object with a registered error code (TOK-01)")]
async fn tok_01(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::tok_01_error_shape(w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the token request is refused with 401 invalid_client and a Basic challenge (TOK-06)")]
async fn tok_06(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::tok_06_basic_failure(w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the token endpoint throttled the wrong secrets or locked the client out (TOK-10)")]
async fn tok_10(w: &mut World) -> Outcome {
    w.step(async |w| {
        let responses = w.flow.token_responses();
        let Some(((control, wrong), right)) = responses
            .split_last()
            .and_then(|(right, rest)| rest.split_first().map(|c| (c, right)))
        else {
            return Err(Fault::Harness(
                "step order: TOK-10 needs the control, the wrong secrets and the right one".into(),
            ));
        };
        let f = check::tok_10_throttled(control, wrong, right);
        w.expect(f)
    })
    .await
}

#[then("the token endpoint is https, or http on a loopback host (TOK-11)")]
async fn tok_11_https(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let f = check::tok_11_https(&d.endpoints.token);
        w.expect(f)
    })
    .await
}

#[then("the GET token request issued no tokens (TOK-11)")]
async fn tok_11_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::tok_11_get_not_served(w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then(
    expr = "the token request is refused with \"{oauth_error}\", \"{oauth_error}\" or \"{oauth_error}\""
)]
async fn token_refused_any_of_three(
    w: &mut World,
    a: OAuthErrorCode,
    b: OAuthErrorCode,
    c: OAuthErrorCode,
) -> Outcome {
    w.step(async |w| {
        let allowed = [a.as_str(), b.as_str(), c.as_str()];
        let id = w.judged("the token refusal", check::REFUSAL_JUDGES)?;
        let f = check::refused_with(id, w.flow.last_token_response()?, &allowed);
        w.expect(f)
    })
    .await
}
