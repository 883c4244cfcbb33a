//! Refresh steps: tokens with a refresh token, refreshes valid and tampered, and what the
//! refresh responses must show (REFRESH-*).

use cucumber::{given, then, when};

use super::flow::{control_failed, obtain_tokens, race, refresh_with};
use super::resource_server::open_with;
use super::{World, need};
use crate::checks::refresh as check;
use crate::client::http::Response;
use crate::client::mcp::{Credential, McpClient};
use crate::client::oauth::{self, TokenSet};
use crate::client::params::Param;
use crate::client::redact::Secret;
use crate::verdict::{Fault, Outcome};

/// The refresh token a refresh replaced (REFRESH-01..03, LEG-07).
#[derive(Debug, Default)]
pub struct Rotation {
    replaced: Option<Secret>,
    /// The tokens of REFRESH-13 were asked for with offline_access.
    asked_offline_access: bool,
}

impl Rotation {
    /// The refresh token before the last refresh.
    pub fn replaced(&self) -> Outcome<&Secret> {
        need(
            self.replaced.as_ref(),
            "the refresh token before the refresh",
        )
    }
}

#[given("the client holds tokens with a refresh token")]
async fn holds_refresh_token(w: &mut World) -> Outcome {
    w.step(hold_refresh_token).await
}

/// Obtains tokens for the MCP server with a refresh token (asking for offline_access where the
/// AS lists it), or skips with the reason the AS gives none.
pub(super) async fn hold_refresh_token(w: &mut World) -> Outcome {
    let scope = w.flow_scope().await?;
    let target = w.ctx.target.to_string();
    obtain_tokens(w, Some(target.clone()), scope.clone()).await?;
    if w.flow.tokens()?.refresh_token.is_some() {
        return Ok(());
    }
    // An AS that lists offline_access may issue refresh tokens only when it is asked for.
    let d = w.ctx.discovered().await?;
    let offline = check::with_offline_access(scope.as_deref(), &d.endpoints.scopes_supported);
    let advertised = d
        .as_metadata
        .1
        .strings("grant_types_supported")
        .is_some_and(|g| g.iter().any(|g| g == "refresh_token"));
    if let Some(with_offline) = &offline {
        obtain_tokens(w, Some(target), Some(with_offline.clone())).await?;
        if w.flow.tokens()?.refresh_token.is_some() {
            return Ok(());
        }
    }
    let asked_offline = offline.is_some()
        || scope
            .as_deref()
            .is_some_and(|s| s.split(' ').any(|x| x == "offline_access"));
    if !advertised {
        let grants = d.as_metadata.1.strings("grant_types_supported");
        return Err(Fault::Skip(not_offered(grants.as_deref())));
    }
    Err(Fault::Skip(check::no_refresh_token_reason(
        advertised,
        asked_offline,
    )))
}

/// Why a scenario that needs a refresh token has none when `grant_types_supported` does not
/// list `refresh_token`: the AS does not offer refresh tokens.
fn not_offered(grant_types_supported: Option<&[String]>) -> String {
    match grant_types_supported {
        Some(g) => format!(
            "the authorization server does not offer refresh tokens (grant_types_supported lists {})",
            g.join(", ")
        ),
        None => "the authorization server does not offer refresh tokens (the metadata has no grant_types_supported, whose default leaves refresh_token out)".to_string(),
    }
}

#[when("the client obtains tokens where the AS advertises refresh tokens")]
async fn tokens_where_refresh_advertised(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let grants = d.as_metadata.1.strings("grant_types_supported");
        if !grants
            .as_deref()
            .is_some_and(|g| g.iter().any(|g| g == "refresh_token"))
        {
            return Err(Fault::Skip(not_offered(grants.as_deref())));
        }
        // flow_scope asks for offline_access wherever scopes_supported lists it.
        let scope = w.flow_scope().await?;
        w.refresh.asked_offline_access = scope
            .as_deref()
            .is_some_and(|s| s.split(' ').any(|x| x == "offline_access"));
        let target = w.ctx.target.to_string();
        obtain_tokens(w, Some(target), scope).await
    })
    .await
}

#[then("a refresh token was issued")]
async fn refresh_token_issued(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f =
            check::refresh_13_advertised_issued(w.flow.tokens()?, w.refresh.asked_offline_access);
        w.expect(f)
    })
    .await
}

#[when("the client refreshes")]
async fn refreshes(w: &mut World) -> Outcome {
    w.step(async |w| {
        let old = w.flow.refresh_token()?;
        let resp = refresh_with(w, false, &old, |p| p).await?;
        if let Ok(t) = TokenSet::from_response(&resp) {
            adopt_refreshed(w, old, t);
        }
        Ok(())
    })
    .await
}

/// The positive control of a refused refresh: the same refresh, untampered, is accepted (its
/// tokens are put in use). Without it the refusal of the tampered refresh may have another
/// cause, such as client credentials the AS refuses whatever the request.
#[when("the client refreshes, and the refresh is accepted (the positive control)")]
async fn refresh_control(w: &mut World) -> Outcome {
    w.step(refresh_accepted).await
}

/// Refreshes where the AS metadata says and puts the new tokens in use; a refusal is the
/// failed positive control.
pub(super) async fn refresh_accepted(w: &mut World) -> Outcome {
    let old = w.flow.refresh_token()?;
    let resp = refresh_with(w, false, &old, |p| p).await?;
    let Ok(t) = TokenSet::from_response(&resp) else {
        return Err(control_failed(
            "the same refresh with the client's authentication was refused",
            &resp,
        ));
    };
    adopt_refreshed(w, old, t);
    Ok(())
}

/// Puts a refresh's tokens in use, remembering the refresh token they replace. The old
/// refresh token is kept if the AS did not rotate (REFRESH-01 reports it).
fn adopt_refreshed(w: &mut World, old: Secret, mut t: TokenSet) {
    if t.refresh_token.is_none() {
        t.refresh_token = Some(old.clone());
    }
    w.refresh.replaced = Some(old);
    w.flow.log().adopt(t);
}

#[when("the client refreshes with the replaced refresh token")]
async fn refresh_with_replaced(w: &mut World) -> Outcome {
    w.step(async |w| {
        let old = need(w.refresh.replaced.clone(), "a replaced refresh token")?;
        refresh_with(w, false, &old, |p| p).await.map(drop)
    })
    .await
}

#[when("the client refreshes with the newest refresh token")]
async fn refresh_with_newest(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w.flow.refresh_token()?;
        refresh_with(w, false, &rt, |p| p).await.map(drop)
    })
    .await
}

#[when(expr = "the client refreshes {int} times concurrently with the same refresh token")]
async fn refresh_concurrently(w: &mut World, n: usize) -> Outcome {
    w.step(async |w| {
        let rt = w.flow.refresh_token()?;
        let client = w.flow.client()?.clone();
        let params = oauth::refresh_params(&client, &rt, None);
        race(w, &client, &params, n).await
    })
    .await
}

#[when("the second client refreshes with the client's refresh token")]
async fn second_client_refreshes(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w.flow.refresh_token()?;
        refresh_with(w, true, &rt, |p| p).await.map(drop)
    })
    .await
}

#[when(
    "the client refreshes with scope set to the granted scope plus a supported scope that was not granted"
)]
async fn refresh_wider_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w.flow.refresh_token()?;
        let granted = w.flow.granted_scope().map(str::to_string).ok_or_else(|| {
            Fault::Skip("the grant's scope is unknown: none was requested and the token response named none, so no scope is known not to be granted".into())
        })?;
        let d = w.ctx.discovered().await?;
        let prm = d.prm.as_ref().and_then(|(_, doc)| doc.strings("scopes_supported"));
        let supported = d.endpoints.scopes_supported.iter().cloned().chain(prm.unwrap_or_default());
        let extra = check::widening_scope(&granted, supported).ok_or_else(|| {
            Fault::Skip(format!(
                "every scope in scopes_supported (AS metadata and PRM) was granted ({granted:?}): none is left to widen to, and a made-up one would be refused as unknown, not as a widening"
            ))
        })?;
        let scope = format!("{granted} {extra}").trim().to_string();
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
            w.refresh.replaced.clone(),
            "the refresh token before the refresh",
        )?;
        let f = check::refresh_01_rotated(old.expose(), w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("every refresh response grants the originally granted scope")]
async fn scope_kept(w: &mut World) -> Outcome {
    w.step(async |w| {
        let original = w.flow.granted_scope().map(str::to_string).ok_or_else(|| {
            Fault::Skip("the grant's scope is unknown: none was requested and the token response named none".into())
        })?;
        let refreshes: Vec<Response> = w.flow.token_responses().iter().skip(1).cloned().collect();
        let f = check::refresh_06_scope_kept(&original, &refreshes);
        w.expect(f)
    })
    .await
}

#[when("the client refreshes with resource set to the second resource")]
async fn refresh_for_second_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = w.resource_binding.second()?;
        let rt = w.flow.refresh_token()?;
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
        let client = w.flow.client()?.clone();
        let rt = w.flow.refresh_token()?;
        let d = w.ctx.discovered().await?;
        let params = oauth::refresh_params(&client, &rt, None);
        let resp =
            oauth::post_form_without_client_auth(&w.http, &d.endpoints.token, &params).await?;
        w.flow.log().record(resp);
        Ok(())
    })
    .await
}

#[then(
    "the refresh is refused, or its access token is refused by the second resource (REFRESH-07)"
)]
async fn refresh_07(w: &mut World) -> Outcome {
    w.step(async |w| {
        let refresh = w.flow.last_token_response()?.clone();
        let at_other = match TokenSet::from_response(&refresh) {
            Ok(t) => {
                let second = w.resource_binding.second()?;
                let mcp = McpClient::new(w.http.clone(), second, w.ctx.revision);
                let resp = open_with(w, &mcp, &Credential::Bearer(t.access_token)).await?;
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
        let f = check::refresh_09_no_store(w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[then("the refresh token is long and random enough not to be guessed (REFRESH-11)")]
async fn refresh_11(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w.flow.refresh_token()?;
        let f = check::refresh_11_unguessable(rt.expose());
        w.expect(f)
    })
    .await
}

#[then(regex = r"^the access token lives at most (\d+) seconds \(REFRESH-12\)$")]
async fn refresh_12(w: &mut World, max: u64) -> Outcome {
    w.step(async |w| {
        let Some(expires_in) = w.flow.tokens()?.expires_in else {
            return Err(Fault::Skip(
                "the token response has no expires_in, so the token's lifetime is unknown".into(),
            ));
        };
        let f = check::refresh_12_short_lived(expires_in, max);
        w.expect(f)
    })
    .await
}

#[then("introspection, where the AS offers it, no longer finds the newest access token active")]
async fn newest_access_token_introspected(w: &mut World) -> Outcome {
    w.step(async |w| {
        let token = w.flow.tokens()?.access_token.clone();
        match super::code::introspect(w, &token).await? {
            Some(resp) => match check::refresh_03_introspected_inactive(&resp) {
                Some(f) => w.expect(f),
                None => Ok(()),
            },
            None => Ok(()),
        }
    })
    .await
}

#[then("the MCP server refuses the newest access token, where it can see the revocation")]
async fn newest_access_token_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let token = w.flow.tokens()?.access_token.clone();
        let mcp = w.mcp();
        let resp = open_with(w, &mcp, &Credential::Bearer(token.clone())).await?;
        let f = check::refresh_03_access_token_refused(&resp, token.expose());
        w.expect(f)
    })
    .await
}
