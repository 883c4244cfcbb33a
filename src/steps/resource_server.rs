//! Steps at the MCP server as resource server: presenting tokens, good and bad, and reading
//! its answers (RS-*).

use std::str::FromStr;
use std::time::Duration;

use cucumber::{given, then, when};

use super::flow::obtain_tokens;
use super::{World, need};
use crate::checks::resource_server as check;
use crate::client::http::Response;
use crate::client::mcp::{Credential, McpClient, McpRequest, McpResponse};
use crate::client::redact::Secret;
use crate::client::tokens::{self, Forgery};
use crate::context::SharedGrant;
use crate::verdict::{Fault, Outcome};

/// The MCP server's answers in this scenario, and the session they belong to.
#[derive(Debug, Default)]
pub struct Answers {
    responses: Vec<McpResponse>,
    /// The last answer "the response" of a step means: an MCP answer, or the answer to the
    /// discovery probe.
    last: Option<Response>,
    session: Option<String>,
    /// The last credential presented was an empty bearer token (RS-04 allows 400 for it).
    empty_token: bool,
}

impl Answers {
    /// Keeps an MCP answer as the scenario's latest.
    pub fn answered(&mut self, resp: McpResponse) {
        self.last = Some(resp.http.clone());
        self.responses.push(resp);
    }

    /// Keeps an HTTP answer of the MCP server that is not an MCP message (the probe).
    pub fn answered_http(&mut self, resp: Response) {
        self.last = Some(resp);
    }

    pub fn last(&self) -> Outcome<&Response> {
        self.last
            .as_ref()
            .ok_or_else(|| Fault::Harness("step order: no response yet".into()))
    }

    pub fn last_mcp(&self) -> Outcome<&McpResponse> {
        self.responses
            .last()
            .ok_or_else(|| Fault::Harness("step order: no MCP response yet".into()))
    }

    /// Every MCP answer of the scenario, in order.
    pub fn all(&self) -> &[McpResponse] {
        &self.responses
    }

    pub fn session(&self) -> Option<String> {
        self.session.clone()
    }
}

/// Sends an MCP request and keeps the response as the scenario's latest.
pub async fn send(w: &mut World, mcp: &McpClient, req: McpRequest) -> Outcome {
    let resp = mcp.send(&req).await?;
    w.resource_server.answered(resp);
    Ok(())
}

/// `tools/list` with a credential, inside the scenario's session when there is one.
pub async fn list_tools(w: &mut World, credential: Credential) -> Outcome {
    let mcp = w.mcp();
    let req = mcp
        .tools_list()
        .with_credential(credential)
        .with_session(w.resource_server.session());
    send(w, &mcp, req).await
}

/// Opens a conversation at `mcp` with the scenario's access token and keeps the response.
pub async fn open_with_token(w: &mut World, mcp: &McpClient) -> Outcome<McpResponse> {
    let (resp, _) = mcp.open(&w.flow.bearer()?).await?;
    w.resource_server.answered(resp.clone());
    Ok(resp)
}

/// Opens a conversation with `credential` and keeps the response.
pub async fn open_with(
    w: &mut World,
    mcp: &McpClient,
    credential: &Credential,
) -> Outcome<McpResponse> {
    let (resp, _) = mcp.open(credential).await?;
    w.resource_server.answered(resp.clone());
    Ok(resp)
}

/// Tokens for the MCP server, and (2025 revisions) a session opened with them, so that a
/// later request differs from a valid one only in its credential.
pub async fn hold_tokens(w: &mut World, scope: Option<String>) -> Outcome {
    obtain_tokens(w, Some(w.ctx.target.to_string()), scope).await?;
    token_works(w).await
}

/// The held token opens an MCP conversation (RS-02), which is then put aside.
async fn token_works(w: &mut World) -> Outcome {
    let mcp = w.mcp();
    let (resp, session) = mcp.open(&w.flow.bearer()?).await?;
    let findings = check::rs_02_accepted(&resp);
    w.resource_server.responses.push(resp);
    w.expect(findings)?;
    w.resource_server.session = session;
    w.resource_server.responses.clear();
    Ok(())
}

#[given("the client holds tokens for the MCP server")]
async fn holds_tokens(w: &mut World) -> Outcome {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        hold_tokens(w, scope).await
    })
    .await
}

/// [`holds_tokens`], with the client whose tokens live shortest (the embedded server's
/// one-second client; against other targets the run's own): a scenario that waits for its token
/// to expire waits no longer than it must.
#[given("the client holds short-lived tokens for the MCP server")]
async fn holds_short_lived_tokens(w: &mut World) -> Outcome {
    w.step(async |w| {
        if let Some(client) = w.ctx.expiry.short_lived_client.clone() {
            w.flow.use_client(client);
        }
        let scope = w.flow_scope().await?;
        hold_tokens(w, scope).await
    })
    .await
}

/// Catalogue section 17: scenarios that only present the token may share one login. They do
/// when logins are costly (the manual driver: a person); otherwise each logs in for itself.
/// A shared token is reused while it has more than two minutes to live.
#[given("the client holds tokens for the MCP server from a login shared with read-only scenarios")]
async fn holds_shared_tokens(w: &mut World) -> Outcome {
    w.step(async |w| {
        let scope = w.flow_scope().await?;
        if !w.ctx.share_logins {
            return hold_tokens(w, scope).await;
        }
        let ctx = std::sync::Arc::clone(&w.ctx);
        let mut shared = ctx.shared_grant.lock().await;
        if let Some(g) = shared.as_ref().filter(|g| g.usable(&ctx.authorizations)) {
            w.flow
                .hold(g.client.clone(), g.tokens.clone(), g.granted_scope.clone());
            w.adopt_authorization(&g.client.client_id, g.authorized_at);
            return token_works(w).await;
        }
        hold_tokens(w, scope).await?;
        let client = w.flow.client()?.clone();
        // The grant keeps its client out of the pool while the pool can spare it; otherwise
        // a later login with it makes the grant unusable (and is detected where relied on).
        let lease = if ctx.pool_can_spare() {
            w.release()
        } else {
            None
        };
        *shared = Some(SharedGrant::new(
            client.clone(),
            w.flow.tokens()?.clone(),
            w.flow.granted_scope().map(str::to_string),
            ctx.authorizations.of(&client.client_id),
            lease,
        ));
        Ok(())
    })
    .await
}

#[when("the client opens an MCP conversation with the access token")]
async fn opens(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let (resp, session) = mcp.open(&w.flow.bearer()?).await?;
        w.resource_server.answered(resp);
        if session.is_some() {
            w.resource_server.session = session;
        }
        Ok(())
    })
    .await
}

#[when("the client lists tools with the access token")]
async fn list_with_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let c = w.flow.bearer()?;
        list_tools(w, c).await
    })
    .await
}

#[then("the MCP server answers every request")]
async fn answers_every_request(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = w
            .resource_server
            .responses
            .iter()
            .flat_map(check::rs_02_accepted)
            .collect();
        w.expect(f)
    })
    .await
}

#[when("the client lists tools in that conversation without a token")]
async fn list_without_token(w: &mut World) -> Outcome {
    w.step(async |w| list_tools(w, Credential::None).await)
        .await
}

#[when(regex = r"^the client lists tools with the bearer token (.+)$")]
async fn list_with_bad_token(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let token = match case.as_str() {
            "of 32 random bytes" => random_token(),
            "left empty" => Secret::new(""),
            quoted if quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 2 => {
                Secret::new(&quoted[1..quoted.len() - 1])
            }
            other => return Err(Fault::Harness(format!("unknown token case: {other}"))),
        };
        w.resource_server.empty_token = token.expose().is_empty();
        list_tools(w, Credential::Bearer(token)).await
    })
    .await
}

/// 32 random bytes, base64url: a token no AS issued.
fn random_token() -> Secret {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

#[then("the MCP server refuses the token with 401 and error invalid_token")]
async fn refuses_invalid_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the invalid_token check", &[check::JUDGED_BY_INVALID_TOKEN])?;
        let f = check::invalid_token(
            id,
            w.resource_server.last_mcp()?,
            w.resource_server.empty_token,
        );
        w.expect(f)
    })
    .await
}

#[when(regex = r"^the client lists tools with a token forged with (.+)$")]
async fn list_with_forged(w: &mut World, forgery: String) -> Outcome {
    w.step(async |w| {
        let forgery = Forgery::from_str(&forgery).map_err(Fault::Harness)?;
        let d = w.ctx.discovered().await?;
        let claims = tokens::plausible_claims(
            &d.endpoints.issuer,
            w.ctx.target.as_str(),
            d.scope.as_deref(),
        );
        let token = match forgery {
            Forgery::AlgNone => tokens::alg_none(&claims),
            Forgery::ForeignKey => tokens::foreign_key(&claims).map_err(Fault::Harness)?,
            Forgery::EditedPayload => tokens::edited_payload(&w.flow.tokens()?.access_token)
                .ok_or_else(|| {
                    Fault::Skip(
                        "the access token is not a JWT, so its payload cannot be edited".into(),
                    )
                })?,
        };
        list_tools(w, Credential::Bearer(token)).await
    })
    .await
}

#[when("the access token has expired")]
async fn token_expired(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(lifetime) = w.flow.tokens()?.expires_in else {
            return Err(Fault::Skip("the token response has no expires_in, so expiry cannot be timed".into()));
        };
        let max = w.ctx.expiry.max_wait;
        if Duration::from_secs(lifetime) > max {
            return Err(Fault::Skip(format!(
                "the access token lives {lifetime} s, longer than the {} s the profile allows to wait (limits.max_expiry_wait_secs)",
                max.as_secs()
            )));
        }
        let expiry = &w.ctx.expiry;
        let exp = expiry
            .until_exp
            .then(|| tokens::unverified_claims(w.flow.tokens().ok()?.access_token.expose()))
            .flatten()
            .and_then(|c| c.get("exp").and_then(serde_json::Value::as_f64))
            .and_then(|exp| Duration::try_from_secs_f64(exp).ok());
        let wait = match exp {
            // `exp` is the first moment at which the token is refused (RFC 7519 §4.1.4); a
            // NumericDate may have a fraction (§2).
            Some(exp) => (std::time::UNIX_EPOCH + exp)
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default(),
            None => Duration::from_secs(lifetime),
        };
        // A margin for clock skew between the harness and the server.
        tokio::time::sleep(wait + expiry.margin).await;
        Ok(())
    })
    .await
}

#[when("the client lists tools with the access token in the query string only")]
async fn list_with_query_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let t = w.flow.tokens()?.access_token.clone();
        list_tools(w, Credential::Query(t)).await
    })
    .await
}

#[when("the client lists tools with the refresh token as bearer token")]
async fn list_with_refresh_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w
            .flow
            .tokens()?
            .refresh_token
            .clone()
            .ok_or_else(|| Fault::Skip("the AS issued no refresh token".into()))?;
        list_tools(w, Credential::Bearer(rt)).await
    })
    .await
}

#[when("the client calls the privileged operation")]
async fn calls_privileged(w: &mut World) -> Outcome {
    w.step(async |w| {
        let sc = need(w.ctx.scope_check.clone(), "a scope check")?;
        let mcp = w.mcp();
        let req = mcp
            .tools_call(&sc.tool, serde_json::json!({}))
            .with_credential(w.flow.bearer()?)
            .with_session(w.resource_server.session());
        send(w, &mcp, req).await
    })
    .await
}

#[then(regex = r"^the response status is (\d{3})$")]
async fn response_status_is(w: &mut World, status: u16) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the status check", check::STATUS_JUDGES)?;
        let f = check::status_is(id, w.resource_server.last()?, status);
        w.expect(f)
    })
    .await
}

#[then("the MCP server accepts the request")]
async fn accepts_request(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the acceptance check", check::ACCEPTANCE_JUDGES)?;
        let f = check::accepted(id, w.resource_server.last_mcp()?);
        w.expect(f)
    })
    .await
}

// RS-07: a token for one resource is refused by another.

#[then("the second resource refuses the access token")]
async fn second_refuses(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = w.resource_binding.second()?;
        let mcp = McpClient::new(w.http.clone(), second, w.ctx.revision);
        let resp = open_with_token(w, &mcp).await?;
        let f = check::rs_07_other_audience_refused(&resp);
        w.expect(f)
    })
    .await
}

#[then("the MCP server refuses the access token with 401")]
async fn target_refuses(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let resp = open_with_token(w, &mcp).await?;
        let f = check::rs_07_other_audience_refused(&resp);
        w.expect(f)
    })
    .await
}

// RS-03, RS-10, RS-12, RS-13, RS-15, RS-16.

#[when(regex = r#"^the client lists tools with the access token under the scheme "([^"]+)"$"#)]
async fn list_with_scheme(w: &mut World, scheme: String) -> Outcome {
    w.step(async |w| {
        let token = w.flow.tokens()?.access_token.clone();
        list_tools(w, Credential::Scheme(scheme, token)).await
    })
    .await
}

#[when(
    "the client lists tools with the access token in the header and a made-up token in the query string"
)]
async fn list_with_header_and_query(w: &mut World) -> Outcome {
    w.step(async |w| {
        let made_up = random_token();
        let mcp = w.mcp();
        let req = mcp
            .tools_list()
            .with_credential(w.flow.bearer()?)
            .with_session(w.resource_server.session());
        let resp = mcp.send_with_query_token(&req, &made_up).await?;
        w.resource_server.answered(resp);
        Ok(())
    })
    .await
}

#[then("the request is served with the header's token or refused with 400 (RS-10)")]
async fn query_copy_not_read(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::rs_10_query_copy_not_read(w.resource_server.last_mcp()?);
        w.expect(f)
    })
    .await
}

#[when("the client revokes the access token")]
async fn revokes_access_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let endpoint = revocation_endpoint(w).await?;
        revoke_access_token(w, &endpoint).await
    })
    .await
}

/// The revocation endpoint the AS metadata names; without one, the scenario skips.
pub async fn revocation_endpoint(w: &World) -> Outcome<url::Url> {
    let d = w.ctx.discovered().await?;
    d.endpoints
        .revocation
        .clone()
        .ok_or_else(|| Fault::Skip("the AS metadata has no revocation_endpoint (RFC 7009)".into()))
}

/// Revokes the flow's access token at `endpoint` (RFC 7009). A server that revokes refresh
/// tokens only, and says so, makes the scenario skip; any other refusal stops it.
pub async fn revoke_access_token(w: &mut World, endpoint: &url::Url) -> Outcome {
    let http = w.http.clone();
    revoke_access_token_at(w, &http, endpoint).await
}

/// [`revoke_access_token`] through `http`: the transport that reaches one instance of the AS
/// (REPL-05).
pub async fn revoke_access_token_at(
    w: &mut World,
    http: &crate::client::http::Http,
    endpoint: &url::Url,
) -> Outcome {
    let client = w.flow.client()?.clone();
    let token = w.flow.tokens()?.access_token.clone();
    let resp =
        crate::client::oauth::revoke(http, endpoint, &client, &token, "access_token").await?;
    // RFC 7009 §2.2.1: a server may revoke refresh tokens only, and say so.
    if crate::client::oauth::OAuthError::from_response(&resp)
        .is_some_and(|e| e.error == "unsupported_token_type")
    {
        return Err(Fault::Skip(
            "the revocation endpoint does not revoke access tokens (unsupported_token_type, RFC 7009 §2.2.1)".into(),
        ));
    }
    if !resp.status.is_success() {
        return Err(Fault::Harness(format!(
            "could not run: revoking the access token answered {}",
            crate::checks::describe(&resp)
        )));
    }
    Ok(())
}

#[then("the revoked access token is refused (RS-12)")]
async fn revoked_token_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let token = w.flow.tokens()?.access_token.clone();
        let f =
            check::revoked_token_refused(req::RS_12, w.resource_server.last_mcp()?, token.expose());
        w.expect(f)
    })
    .await
}

#[then("the privileged operation is not carried out (RS-13)")]
async fn privileged_not_carried_out(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::rs_13_not_carried_out(w.resource_server.last_mcp()?);
        w.expect(f)
    })
    .await
}

#[then("the 401 challenge carries resource_metadata (RS-15)")]
async fn challenge_has_resource_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(f) = check::rs_15_resource_metadata(w.resource_server.last_mcp()?) else {
            return Err(Fault::Harness(
                "could not run: the request was not refused with 401 (see RS-04)".into(),
            ));
        };
        w.expect(f)
    })
    .await
}

#[when(expr = "the client opens {int} MCP conversations with the access token")]
async fn opens_many(w: &mut World, n: usize) -> Outcome {
    w.step(async |w| {
        if w.ctx.revision.is_stateless() {
            return Err(Fault::Skip(format!(
                "MCP {} has no sessions",
                w.ctx.revision
            )));
        }
        let mcp = w.mcp();
        let bearer = w.flow.bearer()?;
        w.resource_server.responses.clear();
        for _ in 0..n {
            let (resp, session) = mcp.open(&bearer).await?;
            let f = check::rs_02_accepted(&resp);
            w.resource_server.responses.push(resp);
            w.expect(f)?;
            if session.is_none() {
                return Err(Fault::Skip(
                    "the MCP server issues no Mcp-Session-Id (sessions are optional)".into(),
                ));
            }
        }
        Ok(())
    })
    .await
}

#[then("the session IDs are distinct and unpredictable (RS-16)")]
async fn session_ids_unpredictable(w: &mut World) -> Outcome {
    w.step(async |w| {
        let ids: Vec<String> = w
            .resource_server
            .responses
            .iter()
            .filter_map(|r| r.session_id().map(str::to_string))
            .collect();
        let f = check::rs_16_session_ids(&ids);
        w.expect(f)
    })
    .await
}
