//! Steps for several instances of one authorization server (REPL-*): a code or a refresh
//! token spent (or a code expired) at the endpoint the AS metadata names, then tried at every
//! other instance the profile lists: at the same path on the instance's origin (`[replicas]
//! urls`, `--replica`), or at the endpoint itself with the instance's routing header
//! (`[replicas] routes`, `--replica-route`). Every request to an instance goes through
//! [`Instance::at`], whose transport sets that header. And a replaced refresh token reused at
//! every other instance, then the live one tried where the metadata says (REPL-06).

use cucumber::{given, then, when};
use futures::future::join_all;
use url::Url;

use super::flow::{obtain_code, race, redeem, redemption, refresh_with};
use super::refresh::{hold_refresh_token, refresh_accepted};
use super::resource_server::{
    hold_tokens, list_tools, revocation_endpoint, revoke_access_token, revoke_access_token_at,
};
use super::{OAuthErrorCode, World};
use crate::checks::replicas as check;
use crate::client::http::Response;
use crate::client::oauth::{self, TokenSet};
use crate::client::params::Params;
use crate::client::registration::RegisteredClient;
use crate::client::replicas::AtInstance;
use crate::verdict::{Fault, Outcome};

/// The answers of the other instances (their names, origins or routes, and responses).
#[derive(Debug, Default)]
pub struct Instances {
    answers: Vec<(String, Response)>,
    /// The instance where the access token in use was revoked (REPL-05).
    revoked_at: Option<String>,
    /// The live refresh token's answer where the AS metadata says, after the replaced one was
    /// reused at the other instances (REPL-06): the endpoint's origin and the response.
    live: Option<(String, Response)>,
    /// The codes' lifetime the profile states, and the redemption of the first of two codes
    /// with the time the second came (REPL-07).
    code_lifetime: Option<std::time::Duration>,
    first_code: Option<(RegisteredClient, Params)>,
    second_code_at: Option<std::time::Instant>,
}

/// Why a scenario about the instances cannot run without them.
const NO_REPLICAS: &str = "no [replicas] urls or routes in the profile (nor --replica, --replica-route): the authorization server's instances are not known, so single use across them cannot be tried";

#[given("the authorization server's other instances")]
async fn other_instances(w: &mut World) -> Outcome {
    w.step(async |w| {
        if w.ctx.replicas.is_empty() {
            return Err(Fault::Skip(NO_REPLICAS.into()));
        }
        Ok(())
    })
    .await
}

/// The token endpoint the AS metadata names (named by its origin, with the scenario's
/// transport) and, after it, the same endpoint at every other instance (with the transport
/// that reaches it).
async fn token_endpoints(w: &World) -> Outcome<Vec<AtInstance>> {
    let d = w.ctx.discovered().await?;
    Ok(everywhere(w, &d.endpoints.token))
}

/// `endpoint` (one the AS metadata names) where the metadata says, then at every other
/// instance.
fn everywhere(w: &World, endpoint: &Url) -> Vec<AtInstance> {
    let first = AtInstance {
        name: endpoint.origin().ascii_serialization(),
        url: endpoint.clone(),
        http: w.http.clone(),
    };
    let others = w.ctx.replicas.iter().map(|i| i.at(&w.http, endpoint));
    std::iter::once(first).chain(others).collect()
}

/// Sends `params` as `client` to the token endpoint of every other instance, one after the
/// other; the answers are the scenario's.
async fn at_every_other_instance(
    w: &mut World,
    client: &RegisteredClient,
    params: &Params,
) -> Outcome {
    for at in token_endpoints(w).await?.into_iter().skip(1) {
        let resp = oauth::post_form(&at.http, &at.url, client, params).await?;
        w.replicas.answers.push((at.name, resp));
    }
    Ok(())
}

/// The scenario cannot judge the other instances: the property failed at the one instance
/// already (`what`, answered with `resp`), which is `owner`'s failure.
fn not_even_at_one_instance(what: &str, resp: &Response, owner: &str) -> Fault {
    Fault::Skip(format!(
        "the positive control failed: {what} at the token endpoint the AS metadata names was served ({}), so the property does not hold even at one instance: that is {owner}'s failure",
        crate::checks::describe(resp)
    ))
}

#[when("the client redeems the same code again, and the replay is refused (the positive control)")]
async fn replay_refused_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = redeem(w, false, |p| p).await?;
        if TokenSet::from_response(&resp).is_ok() {
            return Err(not_even_at_one_instance(
                "a replay of the code",
                &resp,
                "CODE-02",
            ));
        }
        Ok(())
    })
    .await
}

#[when("the client redeems the same code again at every other instance")]
async fn replay_elsewhere(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (client, params) = redemption(w)?;
        at_every_other_instance(w, &client, &params).await
    })
    .await
}

#[when(
    "the client refreshes with the replaced refresh token, and the reuse is refused (the positive control)"
)]
async fn reuse_refused_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let old = w.refresh.replaced()?.clone();
        let resp = refresh_with(w, false, &old, |p| p).await?;
        if TokenSet::from_response(&resp).is_ok() {
            return Err(not_even_at_one_instance(
                "a refresh with the replaced refresh token",
                &resp,
                "REFRESH-02",
            ));
        }
        Ok(())
    })
    .await
}

#[when("the client refreshes with the replaced refresh token at every other instance")]
async fn reuse_elsewhere(w: &mut World) -> Outcome {
    w.step(reuse_at_every_other_instance).await
}

/// Refreshes with the replaced refresh token at the token endpoint of every other instance.
async fn reuse_at_every_other_instance(w: &mut World) -> Outcome {
    let old = w.refresh.replaced()?.clone();
    let client = w.flow.client()?.clone();
    let params = oauth::refresh_params(&client, &old, None);
    at_every_other_instance(w, &client, &params).await
}

/// REPL-06's positive control, REFRESH-03's property where the AS metadata says: the reuse of
/// the replaced refresh token there is refused, and the live refresh token is refused after it.
#[when(
    "the client reuses the replaced refresh token, and the live refresh token is refused after it (the positive control)"
)]
async fn family_revoked_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let old = w.refresh.replaced()?.clone();
        let resp = refresh_with(w, false, &old, |p| p).await?;
        if TokenSet::from_response(&resp).is_ok() {
            return Err(not_even_at_one_instance(
                "a refresh with the replaced refresh token",
                &resp,
                "REFRESH-02",
            ));
        }
        let live = w.flow.refresh_token()?;
        let resp = refresh_with(w, false, &live, |p| p).await?;
        if TokenSet::from_response(&resp).is_ok() {
            return Err(not_even_at_one_instance(
                "a refresh with the live refresh token, after the replaced one was reused there,",
                &resp,
                "REFRESH-03",
            ));
        }
        Ok(())
    })
    .await
}

/// A second grant, whose refresh token is replaced where the AS metadata says: a live refresh
/// token that no reuse has touched yet.
#[when(
    "the client obtains tokens for a second grant and refreshes them where the AS metadata says"
)]
async fn second_family(w: &mut World) -> Outcome {
    w.step(async |w| {
        hold_refresh_token(w).await?;
        refresh_accepted(w).await
    })
    .await
}

/// The reuse at the other instances, which must be refused there (REPL-03's property): where it
/// is not, the revocation it should trigger cannot be judged, and that is REPL-03's failure.
#[when(
    "the client refreshes with the replaced refresh token at every other instance, and the reuse is refused there"
)]
async fn reuse_refused_elsewhere(w: &mut World) -> Outcome {
    w.step(async |w| {
        reuse_at_every_other_instance(w).await?;
        if let Some(answer) = check::reuse_not_refused(&w.replicas.answers) {
            return Err(Fault::Skip(format!(
                "a refresh with the replaced refresh token at another instance was not refused with a registered error code ({answer}), so the revocation a reuse triggers cannot be judged: that is REPL-03's failure"
            )));
        }
        Ok(())
    })
    .await
}

#[when("the client refreshes with the live refresh token where the AS metadata says")]
async fn live_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let origin = token_endpoints(w)
            .await?
            .into_iter()
            .next()
            .map(|at| at.name)
            .ok_or_else(|| Fault::Harness("no token endpoint".into()))?;
        let live = w.flow.refresh_token()?;
        let resp = refresh_with(w, false, &live, |p| p).await?;
        w.replicas.live = Some((origin, resp));
        Ok(())
    })
    .await
}

#[then("the live refresh token is refused with \"invalid_grant\" where the AS metadata says")]
async fn live_refused_after_reuse(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged(
            "the live refresh token after the reuse at the other instances",
            &[check::JUDGED_BY_LIVE_AFTER_REUSE],
        )?;
        let (origin, live) = w.replicas.live.as_ref().ok_or_else(|| {
            Fault::Harness("no refresh with the live refresh token was made".into())
        })?;
        let f = check::live_refused_after_reuse_elsewhere(id, &w.replicas.answers, origin, live);
        w.expect(f)
    })
    .await
}

/// Revokes the refresh token in use at the revocation endpoint the AS metadata names (RFC
/// 7009), and shows that a refresh with it is refused at the token endpoint the metadata
/// names: the positive control of the other instances' refusal.
#[when(
    "the client revokes the refresh token, and a refresh with it is refused where the AS metadata says (the positive control)"
)]
async fn revoked_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let Some(endpoint) = d.endpoints.revocation.clone() else {
            return Err(Fault::Skip(
                "the AS metadata has no revocation_endpoint (RFC 7009)".into(),
            ));
        };
        let client = w.flow.client()?.clone();
        let rt = w.flow.refresh_token()?;
        let resp = oauth::revoke(&w.http, &endpoint, &client, &rt, "refresh_token").await?;
        if !resp.status.is_success() {
            return Err(Fault::Harness(format!(
                "could not run: revoking the refresh token answered {}",
                crate::checks::describe(&resp)
            )));
        }
        let resp = refresh_with(w, false, &rt, |p| p).await?;
        if TokenSet::from_response(&resp).is_ok() {
            return Err(Fault::Skip(format!(
                "the positive control failed: a refresh with the refresh token just revoked at the revocation endpoint the AS metadata names was served at its token endpoint ({}), so revocation does not hold even at one instance, and the other instances cannot be judged on it",
                crate::checks::describe(&resp)
            )));
        }
        Ok(())
    })
    .await
}

#[when("the client refreshes with the revoked refresh token at every other instance")]
async fn revoked_elsewhere(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w.flow.refresh_token()?;
        let client = w.flow.client()?.clone();
        let params = oauth::refresh_params(&client, &rt, None);
        at_every_other_instance(w, &client, &params).await
    })
    .await
}

#[then(expr = "every other instance refuses the token request with \"{oauth_error}\"")]
async fn refused_elsewhere(w: &mut World, error: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged(
            "the refusal at every other instance",
            &[check::JUDGED_BY_REFUSAL_AT_INSTANCES],
        )?;
        let f = check::refused_at_every_instance(id, &w.replicas.answers, &[error.as_str()]);
        w.expect(f)
    })
    .await
}

/// The positive control of the race across instances: the same race at the endpoint the AS
/// metadata names, with a code of its own, issues exactly one token.
#[when(
    expr = "the client redeems a first code {int} times concurrently where the AS metadata says, and one redemption succeeds \\(the positive control\\)"
)]
async fn race_here(w: &mut World, n: usize) -> Outcome {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        obtain_code(w, Some(w.ctx.target.to_string()), scope).await?;
        let (client, params) = redemption(w)?;
        race(w, &client, &params, n).await?;
        let served = check::successes(w.flow.token_responses());
        if served != 1 {
            return Err(Fault::Skip(format!(
                "the positive control failed: {n} concurrent redemptions of one code at the token endpoint the AS metadata names issued tokens {served} times, so single use does not hold even at one instance: that is CODE-02's failure"
            )));
        }
        Ok(())
    })
    .await
}

#[when(expr = "the client redeems the code {int} times concurrently across the instances")]
async fn race_across(w: &mut World, n: usize) -> Outcome {
    w.step(async |w| {
        let (client, params) = redemption(w)?;
        let endpoints = token_endpoints(w).await?;
        // In turn: the endpoint the metadata names, then each other instance.
        let sends = endpoints.iter().cycle().take(n).map(|at| {
            let (client, params) = (&client, &params);
            async move {
                (
                    at.name.clone(),
                    oauth::post_form(&at.http, &at.url, client, params).await,
                )
            }
        });
        let mut answers = Vec::with_capacity(n);
        for (origin, result) in join_all(sends).await {
            answers.push((origin, result?));
        }
        w.replicas.answers = answers;
        Ok(())
    })
    .await
}

#[then(
    expr = "exactly one redemption across the instances succeeds and the others get \"{oauth_error}\""
)]
async fn one_across(w: &mut World, error: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the race across instances", &[check::JUDGED_BY_RACE_ACROSS])?;
        let f = check::exactly_one_success_across(id, &w.replicas.answers, error.as_str());
        w.expect(f)
    })
    .await
}

/// REPL-05's positive control: an access token revoked where the AS metadata says is refused
/// by the MCP server. Where it is served, the resource server does not see revocations at all
/// (RS-12's warning), and the other instances cannot be judged on it.
#[when("the client revokes the access token, and the MCP server refuses it (the positive control)")]
async fn access_revoked_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let endpoint = revocation_endpoint(w).await?;
        revoke_access_token(w, &endpoint).await?;
        let bearer = w.flow.bearer()?;
        list_tools(w, bearer).await?;
        let resp = w.resource_server.last_mcp()?;
        if resp.http.status.is_success() {
            return Err(Fault::Skip(format!(
                "the positive control failed: an access token just revoked at the revocation endpoint the AS metadata names was served by the MCP server ({}), so the resource server does not see revocations even from that instance (RS-12), and the other instances cannot be judged on it",
                crate::checks::describe(&resp.http)
            )));
        }
        Ok(())
    })
    .await
}

#[when("the client obtains a new access token and revokes it at another instance")]
async fn access_revoked_elsewhere(w: &mut World) -> Outcome {
    w.step(async |w| {
        let here = revocation_endpoint(w).await?;
        let Some(instance) = w.ctx.replicas.first() else {
            return Err(Fault::Skip(NO_REPLICAS.into()));
        };
        let elsewhere = instance.at(&w.http, &here);
        let scope = w.flow_scope().await?;
        hold_tokens(w, scope).await?;
        revoke_access_token_at(w, &elsewhere.http, &elsewhere.url).await?;
        w.replicas.revoked_at = Some(elsewhere.name);
        Ok(())
    })
    .await
}

#[then("the access token revoked at another instance is refused")]
async fn access_refused_after_revocation_elsewhere(w: &mut World) -> Outcome {
    w.step(async |w| {
        let origin = w.replicas.revoked_at.clone().ok_or_else(|| {
            Fault::Harness("no access token was revoked at another instance".into())
        })?;
        let f = check::refused_after_revocation_elsewhere(
            req::REPL_05,
            w.resource_server.last_mcp()?,
            &origin,
        );
        w.expect(f)
    })
    .await
}

/// Why REPL-07 cannot run without the codes' lifetime: no metadata states it.
const NO_CODE_LIFETIME: &str = "no [replicas] code_lifetime_secs in the profile: an authorization code's lifetime is not published, so the runner cannot know when a code has expired (set it to the authorization server's code lifetime)";

/// REPL-07's wait, known before any login: the codes' lifetime the profile states, no longer
/// than the profile allows to wait.
#[given("the codes' lifetime the profile states")]
async fn code_lifetime(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(lifetime) = w.ctx.expiry.code_lifetime else {
            return Err(Fault::Skip(NO_CODE_LIFETIME.into()));
        };
        let max = w.ctx.expiry.max_wait;
        if lifetime > max {
            return Err(Fault::Skip(format!(
                "the codes live {} s ([replicas] code_lifetime_secs), longer than the {} s the profile allows to wait ([limits] max_expiry_wait_secs)",
                lifetime.as_secs_f64(),
                max.as_secs()
            )));
        }
        w.replicas.code_lifetime = Some(lifetime);
        Ok(())
    })
    .await
}

/// Two codes, the first kept for its redemption: with the client whose codes live shortest
/// (the embedded server's half-second client; against other targets the run's own), so that
/// the scenario waits no longer than it must.
#[given("the client obtains two codes, one after the other")]
async fn two_codes(w: &mut World) -> Outcome {
    w.step(async |w| {
        if let Some(client) = w.ctx.expiry.short_lived_code_client.clone() {
            w.flow.use_client(client);
        }
        let scope = w.flow_scope().await?;
        let resource = Some(w.ctx.target.to_string());
        obtain_code(w, resource.clone(), scope.clone()).await?;
        w.replicas.first_code = Some(redemption(w)?);
        obtain_code(w, resource, scope).await?;
        w.replicas.second_code_at = Some(std::time::Instant::now());
        Ok(())
    })
    .await
}

/// Waits out the lifetime from the second code on (the first is older), with the margin for
/// a target's clock the run allows.
#[when("the codes' lifetime has passed")]
async fn codes_expired(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (Some(lifetime), Some(at)) = (w.replicas.code_lifetime, w.replicas.second_code_at)
        else {
            return Err(Fault::Harness(
                "no codes with a known lifetime were obtained".into(),
            ));
        };
        let until = at + lifetime + w.ctx.expiry.margin;
        tokio::time::sleep_until(until.into()).await;
        Ok(())
    })
    .await
}

/// REPL-07's positive control: the deployment holds the first code expired where the AS
/// metadata says. Tokens there mean the code outlived the wait: its lifetime is longer than
/// the profile states, which is no violation the scenario can hold the target to.
#[when(
    "the client redeems the first code where the AS metadata says, and it is refused (the positive control)"
)]
async fn expired_refused_here(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (client, params) = w
            .replicas
            .first_code
            .clone()
            .ok_or_else(|| Fault::Harness("no first code was obtained".into()))?;
        let Some(here) = token_endpoints(w).await?.into_iter().next() else {
            return Err(Fault::Harness("no token endpoint".into()));
        };
        let resp = oauth::post_form(&here.http, &here.url, &client, &params).await?;
        w.flow.log().record(resp.clone());
        if TokenSet::from_response(&resp).is_ok() {
            return Err(Fault::Skip(format!(
                "the positive control failed: a code redeemed more than {} s after it was issued at the token endpoint the AS metadata names was served ({}): the code outlived the wait, its lifetime is longer than the configured one ([replicas] code_lifetime_secs), so the other instances cannot be judged on it",
                w.replicas
                    .code_lifetime
                    .unwrap_or_default()
                    .as_secs_f64(),
                crate::checks::describe(&resp)
            )));
        }
        Ok(())
    })
    .await
}

#[when("the client redeems the second code at every other instance")]
async fn expired_elsewhere(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (client, params) = redemption(w)?;
        at_every_other_instance(w, &client, &params).await
    })
    .await
}
