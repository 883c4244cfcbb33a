//! `--spec auto`: which MCP revision the target speaks, learned the way a client learns it.
//!
//! After authorizing once, the harness asks `server/discover` (2026-07-28: the result lists
//! `supportedVersions`), and failing that sends `initialize` offering 2025-11-25 (the answer's
//! `protocolVersion` is the negotiated revision). It judges by the newest revision the target
//! supports that the harness knows. A target without protected resource metadata is asked
//! after the 2025-03-26 discovery (the authorization server at the MCP server's origin).

use serde_json::Value;

use crate::client::mcp::{Credential, McpClient, Revision};
use crate::client::oauth::{self, TokenSet};
use crate::client::pkce::PkceVerifier;
use crate::context::Context;

/// The revision to judge by, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub revision: Revision,
    pub reason: String,
}

/// The revision used when the target cannot be asked.
pub const FALLBACK: Revision = Revision::V2025_11_25;

/// Authorizes once and asks the target. Never fails: when it cannot ask, it says why and
/// falls back to [`FALLBACK`].
pub async fn detect(ctx: &Context) -> Detected {
    match ask(ctx).await {
        Ok(d) => d,
        Err(why) => Detected {
            revision: FALLBACK,
            reason: format!("could not ask the target ({why}); judging by {FALLBACK}"),
        },
    }
}

async fn ask(ctx: &Context) -> Result<Detected, String> {
    match ctx.discovered().await {
        Ok(_) => ask_with(ctx).await,
        // No protected resource metadata by any route: the target may speak 2025-03-26,
        // whose clients find the authorization server at the MCP server's origin. Asked that
        // way, it names its revision as any other; a newer server that only lost its PRM
        // names its own, and is judged by it.
        Err(f) if ctx.revision.has_prm() => {
            let legacy = ctx.for_revision(Revision::V2025_03_26);
            match legacy.discovered().await {
                Ok(_) => ask_with(&legacy).await,
                Err(_) => Err(f.to_string()),
            }
        }
        Err(f) => Err(f.to_string()),
    }
}

/// Authorizes once through `ctx`'s discovery and client, then asks the target.
async fn ask_with(ctx: &Context) -> Result<Detected, String> {
    let http = ctx.http.fork();
    let d = ctx.discovered().await.map_err(|f| f.to_string())?;
    let client = ctx.client().await.map_err(|f| f.to_string())?;
    let verifier = PkceVerifier::random();
    let state = oauth::random_state();
    let params = oauth::authorization_params(
        &client,
        &verifier.challenge(),
        &state,
        d.scope.as_deref(),
        Some(ctx.target.as_str()),
    );
    let url = oauth::authorization_url(&d.endpoints.authorization, &params);
    let outcome = ctx
        .driver
        .authorize(&http, url, &client.redirect_uri)
        .await
        .map_err(|e| format!("login driver: {e}"))?;
    let code = outcome
        .code()
        .ok_or_else(|| format!("the authorization ended in {}", outcome.describe()))?;
    let redeem = oauth::code_params(&client, &code, &verifier, Some(ctx.target.as_str()));
    let resp = oauth::post_form(&http, &d.endpoints.token, &client, &redeem)
        .await
        .map_err(|e| e.to_string())?;
    let tokens = TokenSet::from_response(&resp).map_err(|e| format!("no tokens: {e}"))?;
    let bearer = Credential::Bearer(tokens.access_token.clone());

    let modern = McpClient::new(http.fork(), ctx.target.clone(), Revision::V2026_07_28);
    if let Ok(r) = modern
        .send(&modern.opening().with_credential(bearer.clone()))
        .await
        && r.http.status.is_success()
        && let Some(versions) = r.result().and_then(|v| v.get("supportedVersions"))
    {
        return from_supported(versions);
    }
    let legacy = McpClient::new(http.fork(), ctx.target.clone(), Revision::V2025_11_25);
    let initialize = legacy.opening().with_credential(bearer);
    let r = legacy.send(&initialize).await.map_err(|e| e.to_string())?;
    let negotiated = r
        .result()
        .and_then(|v| v.get("protocolVersion"))
        .and_then(Value::as_str)
        .ok_or_else(|| match (&r.message, initialize.id) {
            (None, Some(id)) if r.http.json().is_ok() => format!(
                "initialize got no JSON-RPC response with its id {id} (status {}, a JSON body with id {})",
                r.http.status.as_u16(),
                r.http.json().ok().and_then(|v| v.get("id").cloned()).unwrap_or_default()
            ),
            _ => format!(
                "neither server/discover nor initialize named a version (initialize: status {})",
                r.http.status.as_u16()
            ),
        })?;
    let revision: Revision = negotiated
        .parse()
        .map_err(|e| format!("initialize negotiated {negotiated:?}: {e}"))?;
    Ok(Detected {
        revision,
        reason: format!(
            "initialize negotiated {negotiated} (server/discover gave no version list)"
        ),
    })
}

/// The newest known revision of a `supportedVersions` list.
fn from_supported(versions: &Value) -> Result<Detected, String> {
    let listed: Vec<&str> = versions
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let newest = listed
        .iter()
        .filter_map(|v| v.parse::<Revision>().ok())
        .max()
        .ok_or_else(|| {
            format!("server/discover listed no revision the harness knows: {listed:?}")
        })?;
    Ok(Detected {
        revision: newest,
        reason: format!(
            "server/discover lists {}; {newest} is the newest the harness knows",
            listed.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_newest_known_revision_wins() {
        let d = from_supported(&json!(["2025-06-18", "2026-07-28", "2099-01-01"])).expect("known");
        assert_eq!(d.revision, Revision::V2026_07_28);
        assert!(d.reason.contains("2099-01-01"));
        let d = from_supported(&json!(["2025-11-25"])).expect("known");
        assert_eq!(d.revision, Revision::V2025_11_25);
        assert!(from_supported(&json!(["1999-01-01"])).is_err());
        assert!(from_supported(&json!("2026-07-28")).is_err());
    }
}
