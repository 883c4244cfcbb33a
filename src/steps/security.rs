//! Security steps: https along the discovery chain, redirect URIs a registration must refuse,
//! and tokens kept out of URLs (SEC-*).

use cucumber::then;
use serde_json::Value;

use super::World;
use crate::checks::security as check;
use crate::verdict::{Fault, Outcome};

#[then("every URL of the discovery chain is https, or http on a loopback host")]
async fn discovery_chain_https(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut urls = vec![("the MCP server".to_string(), w.ctx.target.to_string())];
        if let Some(raw) = w
            .discovery
            .probe()
            .ok()
            .and_then(|p| p.bearer())
            .and_then(|c| c.param("resource_metadata"))
        {
            urls.push(("the challenge's resource_metadata".into(), raw.to_string()));
        }
        if let Some(prm) = w.discovery.prm() {
            urls.push(("the PRM document".into(), prm.url.to_string()));
            for s in prm.strings("authorization_servers").unwrap_or_default() {
                urls.push(("an authorization server in PRM".into(), s));
            }
            if let Some(j) = prm.str("jwks_uri") {
                urls.push(("PRM jwks_uri".into(), j.to_string()));
            }
        }
        let meta = w.discovery.as_found()?;
        urls.push(("the AS metadata document".into(), meta.url.to_string()));
        for (name, v) in &meta.members {
            if (name.ends_with("_endpoint") || name == "jwks_uri")
                && let Some(s) = v.as_str()
            {
                urls.push((format!("AS metadata {name}"), s.to_string()));
            }
        }
        let f = check::sec_01_https_everywhere(&urls);
        w.expect(f)
    })
    .await
}

#[then("the registration is refused: a redirect URI is localhost or https (SEC-02)")]
async fn non_local_http_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let uri = w
            .registration
            .sent()?
            .members()
            .get("redirect_uris")
            .and_then(|v| v.get(0))
            .and_then(Value::as_str)
            .ok_or_else(|| Fault::Harness("the registration sent no redirect URI".into()))?
            .to_string();
        let f = check::sec_02_redirect_refused(w.registration.response()?, &uri);
        w.expect(f)
    })
    .await
}

#[then("no Location the client was sent carries an access_token or refresh_token (SEC-04)")]
async fn no_token_in_locations(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::sec_04_no_token_in_locations(&w.http.transcript());
        // A pass rests on every redirect of the login: a driver that cannot show them (only
        // the form driver records its requests) leaves the login's redirects unseen.
        if f.is_empty() && w.flow.login_steps().is_empty() {
            return Err(Fault::Skip(
                "the login driver cannot show the requests behind a login (only the form driver records them), so the redirects of the login and the consent, where a token could travel in a URL, were not seen".into(),
            ));
        }
        w.expect(f)
    })
    .await
}
