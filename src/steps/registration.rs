//! Registration steps (RFC 7591).

use cucumber::{given, then, when};
use serde_json::json;

use super::{World, need};
use crate::checks::registration as check;
use crate::client::registration::Registration;
use crate::verdict::{Fault, Outcome};

async fn register(w: &mut World, reg: Registration) -> Outcome {
    let d = w.ctx.discovered().await?;
    let endpoint = need(d.endpoints.registration.clone(), "registration endpoint")?;
    let resp = reg.send(&w.http, &endpoint).await?;
    w.registration = Some(reg);
    w.registration_response = Some(resp);
    Ok(())
}

fn response(w: &World) -> Outcome<&crate::client::http::Response> {
    need(
        w.registration_response.as_ref(),
        "no registration response yet",
    )
}

#[given("the authorization server offers dynamic client registration")]
async fn offers_dcr(w: &mut World) {
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
async fn register_public(w: &mut World) {
    w.step(async |w| {
        let reg = Registration::public_client(&w.ctx.redirect_uri);
        register(w, reg).await
    })
    .await
}

#[when(expr = "the client registers a public client with redirect_uris set to {string}")]
async fn register_with_redirect(w: &mut World, uri: String) {
    w.step(async |w| {
        let reg =
            Registration::public_client(&w.ctx.redirect_uri).tamper("redirect_uris", json!([uri]));
        register(w, reg).await
    })
    .await
}

#[when("the client registers a public client without redirect_uris")]
async fn register_without_redirect(w: &mut World) {
    w.step(async |w| {
        let reg = Registration::public_client(&w.ctx.redirect_uri).omit("redirect_uris");
        register(w, reg).await
    })
    .await
}

#[when(expr = "the client registers a public client with an unknown member {string}")]
async fn register_with_unknown(w: &mut World, member: String) {
    w.step(async |w| {
        let reg = Registration::public_client(&w.ctx.redirect_uri).tamper(&member, json!("1"));
        register(w, reg).await
    })
    .await
}

#[then(regex = r"^the registration response is 201 with a JSON object \(([A-Z]+-\d{2})\)$")]
async fn created(w: &mut World, id: String) {
    w.step(async |w| {
        let f = check::created(&id, response(w)?);
        w.expect(f)
    })
    .await
}

#[then("the registration response holds a client_id and echoes the registered metadata")]
async fn echoes(w: &mut World) {
    w.step(async |w| {
        let sent = need(w.registration.as_ref(), "registration")?
            .members()
            .clone();
        let f = check::dcr_02_echo(&sent, response(w)?);
        w.expect(f)
    })
    .await
}

#[then("the registration is refused with 400 and a JSON error")]
async fn refused_shape(w: &mut World) {
    w.step(async |w| {
        let f = check::dcr_05_error_shape(response(w)?);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the registration is refused with "([^"]+)" \(([A-Z]+-\d{2})\)$"#)]
async fn refused_with(w: &mut World, error: String, id: String) {
    w.step(async |w| {
        let f = check::refused_with(&id, response(w)?, &[error.as_str()]);
        w.expect(f)
    })
    .await
}

#[then(regex = r#"^the registration is refused with "([^"]+)" or "([^"]+)" \(([A-Z]+-\d{2})\)$"#)]
async fn refused_with_either(w: &mut World, a: String, b: String, id: String) {
    w.step(async |w| {
        let f = check::refused_with(&id, response(w)?, &[a.as_str(), b.as_str()]);
        w.expect(f)
    })
    .await
}
