//! Steps at the MCP server as resource server: presenting tokens, good and bad.

use std::str::FromStr;
use std::time::Duration;

use cucumber::{given, then, when};

use super::authorization::obtain_tokens;
use super::{World, need};
use crate::checks::resource as check;
use crate::client::mcp::{Credential, McpClient, McpRequest, McpResponse};
use crate::client::redact::Secret;
use crate::client::tokens::{self, Forgery};
use crate::context::SharedGrant;
use crate::verdict::{Fault, Outcome};

/// Sends an MCP request and keeps the response as the scenario's latest.
async fn send(w: &mut World, mcp: &McpClient, req: McpRequest) -> Outcome {
    let resp = mcp.send(&req).await?;
    w.last_response = Some(resp.http.clone());
    w.mcp_responses.push(resp);
    Ok(())
}

/// `tools/list` with a credential, inside the scenario's session when there is one.
async fn list_tools(w: &mut World, credential: Credential) -> Outcome {
    let mcp = w.mcp();
    let req = mcp
        .tools_list()
        .with_credential(credential)
        .with_session(w.session.clone());
    send(w, &mcp, req).await
}

/// Tokens for the MCP server, and (2025 revisions) a session opened with them, so that a
/// later request differs from a valid one only in its credential.
async fn hold_tokens(w: &mut World, scope: Option<String>) -> Outcome {
    obtain_tokens(w, Some(w.ctx.target.to_string()), scope).await?;
    token_works(w).await
}

/// The held token opens an MCP conversation (RS-02), which is then put aside.
async fn token_works(w: &mut World) -> Outcome {
    let mcp = w.mcp();
    let (resp, session) = mcp.open(&w.bearer()?).await?;
    let findings = check::accepted(req::RS_02, &resp);
    w.mcp_responses.push(resp);
    w.expect(findings)?;
    w.session = session;
    w.mcp_responses.clear();
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
        if let Some(g) = shared.as_ref().filter(|g| g.usable()) {
            w.client = Some(g.client.clone());
            w.granted_scope = g.granted_scope.clone();
            w.first_tokens = Some(g.tokens.clone());
            w.tokens = Some(g.tokens.clone());
            return token_works(w).await;
        }
        hold_tokens(w, scope).await?;
        *shared = Some(SharedGrant::new(
            w.client()?.clone(),
            w.tokens()?.clone(),
            w.granted_scope.clone(),
        ));
        Ok(())
    })
    .await
}

#[when("the client opens an MCP conversation with the access token")]
async fn opens(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let (resp, session) = mcp.open(&w.bearer()?).await?;
        w.last_response = Some(resp.http.clone());
        w.mcp_responses.push(resp);
        if session.is_some() {
            w.session = session;
        }
        Ok(())
    })
    .await
}

#[when("the client lists tools with the access token")]
async fn list_with_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let c = w.bearer()?;
        list_tools(w, c).await
    })
    .await
}

#[then("the MCP server answers every request")]
async fn answers_every_request(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = w
            .mcp_responses
            .iter()
            .flat_map(|r| check::accepted(req::RS_02, r))
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
            "of 32 random bytes" => {
                use base64::Engine;
                use rand::RngCore;
                let mut b = [0u8; 32];
                rand::rng().fill_bytes(&mut b);
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
            }
            "left empty" => String::new(),
            quoted if quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 2 => {
                quoted[1..quoted.len() - 1].to_string()
            }
            other => return Err(Fault::Harness(format!("unknown token case: {other}"))),
        };
        w.empty_token = token.is_empty();
        list_tools(w, Credential::Bearer(Secret::new(token))).await
    })
    .await
}

#[then(regex = r"^the MCP server refuses the token with 401 and error invalid_token$")]
async fn refuses_invalid_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the invalid_token check", &[check::JUDGED_BY_INVALID_TOKEN])?;
        let f = check::invalid_token(id, w.last_mcp()?, w.empty_token);
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
            Forgery::EditedPayload => tokens::edited_payload(&w.tokens()?.access_token)
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
        let Some(lifetime) = w.tokens()?.expires_in else {
            return Err(Fault::Skip("the token response has no expires_in, so expiry cannot be timed".into()));
        };
        let max = w.ctx.max_expiry_wait;
        if Duration::from_secs(lifetime) > max {
            return Err(Fault::Skip(format!(
                "the access token lives {lifetime} s, longer than the {} s the profile allows to wait (limits.max_expiry_wait_secs)",
                max.as_secs()
            )));
        }
        // A margin for clock skew between the harness and the server.
        tokio::time::sleep(Duration::from_secs(lifetime + 2)).await;
        Ok(())
    })
    .await
}

#[when("the client lists tools with the access token in the query string only")]
async fn list_with_query_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let t = w.tokens()?.access_token.clone();
        list_tools(w, Credential::Query(t)).await
    })
    .await
}

#[when("the client lists tools with the refresh token as bearer token")]
async fn list_with_refresh_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let rt = w
            .tokens()?
            .refresh_token
            .clone()
            .ok_or_else(|| Fault::Skip("the AS issued no refresh token".into()))?;
        list_tools(w, Credential::Bearer(rt)).await
    })
    .await
}

#[given("a privileged operation and a scope that does not cover it")]
async fn privileged_operation(w: &mut World) -> Outcome {
    w.step(async |w| {
        if w.ctx.scope_check.is_none() {
            return Err(Fault::Skip(
                "no privileged operation configured ([scope_check] tool and narrow_scope)".into(),
            ));
        }
        Ok(())
    })
    .await
}

#[given("the client holds tokens for the MCP server with only that scope")]
async fn holds_narrow_tokens(w: &mut World) -> Outcome {
    w.step(async |w| {
        let sc = need(w.ctx.scope_check.clone(), "a scope check")?;
        hold_tokens(w, Some(sc.narrow_scope)).await
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
            .with_credential(w.bearer()?)
            .with_session(w.session.clone());
        send(w, &mcp, req).await
    })
    .await
}

#[then("the response is 403 with error insufficient_scope, scope and resource_metadata")]
async fn insufficient_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_03_insufficient_scope(w.last_mcp()?);
        w.expect(f)
    })
    .await
}

/// Opens a conversation at `mcp` with the world's access token and keeps the response.
async fn open_with_token(w: &mut World, mcp: &McpClient) -> Outcome<McpResponse> {
    let (resp, _) = mcp.open(&w.bearer()?).await?;
    w.last_response = Some(resp.http.clone());
    w.mcp_responses.push(resp.clone());
    Ok(resp)
}

#[then("the MCP server accepts the access token")]
async fn target_accepts(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let resp = open_with_token(w, &mcp).await?;
        let f = check::accepted(req::RES_02, &resp);
        w.expect(f)
    })
    .await
}

#[then("the second resource refuses the access token")]
async fn second_refuses(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = need(w.second_resource.clone(), "a second resource")?;
        let mcp = McpClient::new(w.http.clone(), second, w.ctx.revision);
        let resp = open_with_token(w, &mcp).await?;
        let f = check::refused_401(req::RS_07, &resp);
        w.expect(f)
    })
    .await
}

#[then("the MCP server refuses the access token with 401")]
async fn target_refuses(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let resp = open_with_token(w, &mcp).await?;
        let f = check::refused_401(req::RS_07, &resp);
        w.expect(f)
    })
    .await
}

// RS-03, RS-10, RS-12..16 and the scope steps (SCOPE-04, SCOPE-05, SCOPE-07).

#[when(regex = r#"^the client lists tools with the access token under the scheme "([^"]+)"$"#)]
async fn list_with_scheme(w: &mut World, scheme: String) -> Outcome {
    w.step(async |w| {
        let token = w.tokens()?.access_token.clone();
        list_tools(w, Credential::Scheme(scheme, token)).await
    })
    .await
}

#[then(regex = r"^the MCP server accepts the request$")]
async fn accepts_request(w: &mut World) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the acceptance check", check::ACCEPTANCE_JUDGES)?;
        let f = check::accepted(id, w.last_mcp()?);
        w.expect(f)
    })
    .await
}

#[when(
    "the client lists tools with the access token in the header and a made-up token in the query string"
)]
async fn list_with_header_and_query(w: &mut World) -> Outcome {
    w.step(async |w| {
        use base64::Engine;
        use rand::RngCore;
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        let made_up = Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b));
        let mcp = w.mcp();
        let req = mcp
            .tools_list()
            .with_credential(w.bearer()?)
            .with_session(w.session.clone());
        let resp = mcp.send_with_query_token(&req, &made_up).await?;
        w.last_response = Some(resp.http.clone());
        w.mcp_responses.push(resp);
        Ok(())
    })
    .await
}

#[then("the request is served with the header's token or refused with 400 (RS-10)")]
async fn query_copy_not_read(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::rs_10_query_copy_not_read(w.last_mcp()?);
        w.expect(f)
    })
    .await
}

#[when("the client revokes the access token")]
async fn revokes_access_token(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let Some(endpoint) = d.endpoints.revocation.clone() else {
            return Err(Fault::Skip(
                "the AS metadata has no revocation_endpoint (RFC 7009)".into(),
            ));
        };
        let client = w.client()?.clone();
        let token = w.tokens()?.access_token.clone();
        let resp =
            crate::client::oauth::revoke(&w.http, &endpoint, &client, &token, "access_token")
                .await?;
        if !resp.status.is_success() {
            return Err(Fault::Harness(format!(
                "could not run: revoking the access token answered {}",
                crate::checks::describe(&resp)
            )));
        }
        Ok(())
    })
    .await
}

#[then("the privileged operation is not carried out (RS-13)")]
async fn privileged_not_carried_out(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::rs_13_not_carried_out(w.last_mcp()?);
        w.expect(f)
    })
    .await
}

#[then("the 401 challenge carries resource_metadata (RS-15)")]
async fn challenge_has_resource_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(f) = check::rs_15_resource_metadata(w.last_mcp()?) else {
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
        let bearer = w.bearer()?;
        w.mcp_responses.clear();
        for _ in 0..n {
            let (resp, session) = mcp.open(&bearer).await?;
            let f = check::accepted(req::RS_02, &resp);
            w.mcp_responses.push(resp);
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
            .mcp_responses
            .iter()
            .filter_map(|r| r.session_id().map(str::to_string))
            .collect();
        let f = check::rs_16_session_ids(&ids);
        w.expect(f)
    })
    .await
}

#[when("the client obtains tokens for the scope the challenge names")]
async fn step_up(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(scope) = check::challenged_scope(w.last_mcp()?) else {
            return Err(Fault::Harness(
                "could not run: the refusal names no scope to step up to (see SCOPE-03)".into(),
            ));
        };
        hold_tokens(w, Some(scope)).await
    })
    .await
}

#[then("the two answers carry the same challenge (SCOPE-05)")]
async fn same_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        let [.., first, second] = w.mcp_responses.as_slice() else {
            return Err(Fault::Harness("step order: two answers needed".into()));
        };
        let f = check::scope_05_same_challenge(first, second);
        w.expect(f)
    })
    .await
}

// MCP 2026-07-28 scope challenges: no offline_access (SCOPE-09), one challenge naming every
// scope the operation needs (SCOPE-10).

#[then("the Bearer challenge's scope does not name offline_access (SCOPE-09)")]
async fn challenge_without_offline_access(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_09_no_offline_access(w.last_response()?);
        w.expect(f)
    })
    .await
}

#[when(
    "the client obtains tokens for the scope it requested together with the scope the challenge names"
)]
async fn step_up_to_union(w: &mut World) -> Outcome {
    w.step(async |w| {
        let sc = need(w.ctx.scope_check.clone(), "a scope check")?;
        let first = w.last_mcp()?;
        let challenged = match check::challenged_scope(first) {
            Some(s) if check::is_insufficient_scope(first) => s,
            _ => {
                return Err(Fault::Harness(
                    "could not run: the operation was not refused with an insufficient_scope challenge naming a scope (see SCOPE-03)".into(),
                ));
            }
        };
        // MCP-D §11.1.2: the union of the previously requested scope and the challenged one.
        let union = check::scope_union(&sc.narrow_scope, &challenged);
        hold_tokens(w, Some(union.clone())).await?;
        let granted = w.granted_scope.clone().unwrap_or_default();
        let missing = check::scopes_missing(&union, &granted);
        if !missing.is_empty() {
            return Err(Fault::Skip(format!(
                "the AS granted {granted:?}, without {}: a second challenge would not be the MCP server's doing",
                missing.join(" ")
            )));
        }
        w.stepped_up_scope = Some(union);
        Ok(())
    })
    .await
}

#[then("the operation is not challenged for scope a second time (SCOPE-10)")]
async fn not_challenged_again(w: &mut World) -> Outcome {
    w.step(async |w| {
        let union = need(w.stepped_up_scope.clone(), "a step-up to the challenged scope")?;
        let retry = w.last_mcp()?;
        let Some(f) = check::scope_10_one_challenge(&union, retry) else {
            return Err(Fault::Harness(format!(
                "could not run: the retried operation was neither carried out nor refused for scope: {}",
                crate::checks::describe(&retry.http)
            )));
        };
        w.expect(f)
    })
    .await
}
