//! Registration steps (RFC 7591, DCR-*).

use cucumber::{given, then, when};
use serde_json::{Map, Value, json};
use url::Url;

use super::flow::{AuthorizationRequest, send_authorization};
use super::{OAuthErrorCode, World, need};
use crate::checks::registration as check;
use crate::client::http::Response;
use crate::client::registration::{RegisteredClient, Registration};
use crate::verdict::{Fault, Outcome};

/// The scenario's registration request and the registration endpoint's answer.
#[derive(Debug, Default)]
pub struct Registrations {
    sent: Option<Registration>,
    response: Option<Response>,
}

impl Registrations {
    /// The registration request sent.
    pub fn sent(&self) -> Outcome<&Registration> {
        need(self.sent.as_ref(), "a registration")
    }

    /// The registration endpoint's answer, to judge a registration by. A refusal for want of
    /// an initial access token (RFC 7591 §3), which the harness does not have, leaves the
    /// registration unjudged: the scenario is skipped with that reason.
    pub fn response(&self) -> Outcome<&Response> {
        let resp = self.answer()?;
        if check::initial_access_token_required(resp) {
            return Err(Fault::Skip(format!(
                "the registration endpoint requires an initial access token, which the run does not have (RFC 7591 §3; {})",
                crate::checks::describe(resp)
            )));
        }
        Ok(resp)
    }

    /// The registration endpoint's answer, whatever it was (DCR-15 judges the refusal itself).
    pub fn answer(&self) -> Outcome<&Response> {
        need(self.response.as_ref(), "a registration response")
    }
}

/// Sends `reg` to the registration endpoint the AS metadata names.
async fn register(w: &mut World, reg: Registration) -> Outcome {
    let d = w.ctx.discovered().await?;
    let endpoint = need(d.endpoints.registration.clone(), "registration endpoint")?;
    let resp = reg.send(&w.http, &endpoint).await?;
    w.registration.sent = Some(reg);
    w.registration.response = Some(resp);
    Ok(())
}

#[given("the authorization server offers dynamic client registration")]
async fn offers_dcr(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        if d.endpoints.registration.is_none() {
            return Err(Fault::Skip(
                "the AS metadata has no registration_endpoint".into(),
            ));
        }
        Ok(())
    })
    .await
}

#[when("the client registers a public client")]
async fn register_public(w: &mut World) -> Outcome {
    w.step(async |w| {
        let reg = Registration::public_client(&w.ctx.redirect_uri);
        register(w, reg).await
    })
    .await
}

#[when(expr = "the client registers a public client with redirect_uris set to {string}")]
async fn register_with_redirect(w: &mut World, uri: String) -> Outcome {
    w.step(async |w| {
        let reg =
            Registration::public_client(&w.ctx.redirect_uri).tamper("redirect_uris", json!([uri]));
        register(w, reg).await
    })
    .await
}

#[when("the client registers a public client without redirect_uris")]
async fn register_without_redirect(w: &mut World) -> Outcome {
    w.step(async |w| {
        let reg = Registration::public_client(&w.ctx.redirect_uri).omit("redirect_uris");
        register(w, reg).await
    })
    .await
}

#[when(expr = "the client registers a public client with an unknown member {string}")]
async fn register_with_unknown(w: &mut World, member: String) -> Outcome {
    w.step(async |w| {
        let reg = Registration::public_client(&w.ctx.redirect_uri).tamper(&member, json!("1"));
        register(w, reg).await
    })
    .await
}

#[then(regex = r"^the registration response is 201 with a JSON object$")]
async fn created(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the creation check", &[check::JUDGED_BY_CREATION])?;
        let f = check::created(id, w.registration.response()?);
        w.expect(f)
    })
    .await
}

#[then("the registration response holds a client_id and echoes the registered metadata")]
async fn echoes(w: &mut World) -> Outcome {
    w.step(async |w| {
        let sent = w.registration.sent()?.members().clone();
        let f = check::dcr_02_echo(&sent, w.registration.response()?);
        w.expect(f)
    })
    .await
}

#[then("the registration is refused with 400 and a JSON error")]
async fn refused_shape(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::dcr_05_error_shape(w.registration.response()?);
        w.expect(f)
    })
    .await
}

#[then(expr = "the registration is refused with \"{oauth_error}\"")]
async fn refused_with(w: &mut World, error: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged(
            "the registration refusal",
            check::REGISTRATION_REFUSAL_JUDGES,
        )?;
        let f = check::refused_with(id, w.registration.response()?, &[error.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(expr = "the registration is refused with \"{oauth_error}\" or \"{oauth_error}\"")]
async fn refused_with_either(w: &mut World, a: OAuthErrorCode, b: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let id = w.judged(
            "the registration refusal",
            check::REGISTRATION_REFUSAL_JUDGES,
        )?;
        let f = check::refused_with(id, w.registration.response()?, &[a.as_str(), b.as_str()]);
        w.expect(f)
    })
    .await
}

#[when("the client registers a confidential client with client_secret_basic")]
async fn register_confidential(w: &mut World) -> Outcome {
    w.step(async |w| {
        let reg = Registration::confidential_client(&w.ctx.redirect_uri);
        register(w, reg).await
    })
    .await
}

/// The members a DCR-08 scenario sends, as the JSON object its step names.
fn metadata_members(text: &str) -> Outcome<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Fault::Harness(format!(
            "the step's metadata {text:?} is not a JSON object"
        ))),
    }
}

#[when(regex = r"^the client registers a public client with the metadata (\{.*\})$")]
async fn register_with_metadata(w: &mut World, members: String) -> Outcome {
    w.step(async |w| {
        let members = metadata_members(&members)?;
        let reg = members.into_iter().fold(
            Registration::public_client(&w.ctx.redirect_uri),
            |r, (k, v)| r.tamper(&k, v),
        );
        register(w, reg).await
    })
    .await
}

#[then(
    regex = r"^the registration is refused with invalid_client_metadata, or the response shows a valid value for (\{.*\}) \(DCR-08\)$"
)]
async fn refused_or_substituted(w: &mut World, members: String) -> Outcome {
    w.step(async |w| {
        let tampered = metadata_members(&members)?;
        let f = check::dcr_08_refused_or_substituted(w.registration.response()?, &tampered);
        w.expect(f)
    })
    .await
}

#[then("a client_secret in the response comes with client_secret_expires_at (DCR-03)")]
async fn secret_expiry(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = w.registration.response()?;
        check::registration_evidence(resp, true).map_err(Fault::Skip)?;
        let f = check::dcr_03_secret_expiry(resp);
        w.expect(f)
    })
    .await
}

#[then("the response holds no client_secret (DCR-04)")]
async fn no_secret(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = w.registration.response()?;
        check::registration_evidence(resp, false).map_err(Fault::Skip)?;
        let f = check::dcr_04_no_secret(resp);
        w.expect(f)
    })
    .await
}

#[then("the registration endpoint is https (DCR-12)")]
async fn registration_tls(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let endpoint = need(d.endpoints.registration.clone(), "registration endpoint")?;
        let f = check::dcr_12_tls(&endpoint);
        w.expect(f)
    })
    .await
}

#[then("a response carrying a client_secret has Cache-Control: no-store (DCR-13)")]
async fn secret_not_cached(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::dcr_13_no_store(w.registration.response()?).ok_or_else(|| {
            Fault::Skip("the AS issued no client_secret, so no response carried one".into())
        })?;
        w.expect(f)
    })
    .await
}

#[when("the client just registered requests authorization at once")]
async fn new_client_authorizes(w: &mut World) -> Outcome {
    w.step(async |w| {
        let redirect_uri = w.ctx.redirect_uri.clone();
        let resp = w.registration.response()?;
        let client = RegisteredClient::from_response(resp, &redirect_uri).ok_or_else(|| {
            Fault::Harness(format!(
                "could not run: the registration failed ({}); see DCR-01",
                crate::checks::describe(resp)
            ))
        })?;
        let scope = w.flow_scope().await?;
        let req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
        send_authorization(w, req, |p| p).await?;
        Ok(())
    })
    .await
}

#[then("the authorization endpoint takes up the new client (DCR-14)")]
async fn new_client_taken_up(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let f = check::dcr_14_usable(outcome);
        w.expect(f)
    })
    .await
}

#[then("the registration is open, or refused with 401 or invalid_token (DCR-15)")]
async fn open_or_token_required(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::dcr_15_open_or_token_required(w.registration.answer()?);
        w.expect(f)
    })
    .await
}

// SEC-02: only localhost or https redirect URIs.

// DCR-16, DCR-17: application_type (2026-07-28).

/// The loopback redirect URIs of the DCR-16 native client: the IPv4 literal and localhost.
fn native_redirect_uris() -> Outcome<Vec<Url>> {
    [
        "http://127.0.0.1:49152/callback",
        "http://localhost:49152/callback",
    ]
    .iter()
    .map(|u| Url::parse(u).map_err(|e| Fault::Harness(e.to_string())))
    .collect()
}

#[when("the client registers a native public client with loopback redirect URIs")]
async fn register_native(w: &mut World) -> Outcome {
    w.step(async |w| {
        let reg = Registration::public_client_of_type("native", &native_redirect_uris()?);
        register(w, reg).await
    })
    .await
}

#[when(expr = "the client registers a web public client with redirect_uris set to {string}")]
async fn register_web(w: &mut World, uri: String) -> Outcome {
    w.step(async |w| {
        let uri = Url::parse(&uri).map_err(|e| Fault::Harness(format!("{uri}: {e}")))?;
        let reg = Registration::public_client_of_type("web", &[uri]);
        register(w, reg).await
    })
    .await
}

#[then("the registration response is 201, application_type native if echoed (DCR-16)")]
async fn native_accepted(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::dcr_16_native_accepted(w.registration.response()?);
        w.expect(f)
    })
    .await
}

#[then(
    "the registration is recorded: accepted, or refused with invalid_redirect_uri or invalid_client_metadata (DCR-17)"
)]
async fn web_loopback_recorded(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::dcr_17_web_loopback(w.registration.response()?);
        w.expect(f)
    })
    .await
}
