//! Resource indicator steps (RFC 8707): a second protected resource, requests naming
//! resources, and tokens bound to their resource (RES-*).

use cucumber::{given, then, when};
use url::Url;

use super::flow::{
    AuthorizationRequest, obtain_tokens, redeem, request_tampered, send_authorization,
};
use super::resource_server::open_with_token;
use super::{World, need};
use crate::checks::resource_binding as check;
use crate::client::discovery;
use crate::client::mcp::McpClient;
use crate::client::oauth::TokenSet;
use crate::client::params::Param;
use crate::verdict::{Fault, Outcome};

/// The second protected resource of the scenario's authorization server, once found.
#[derive(Debug, Default)]
pub struct Resources {
    second: Option<Url>,
}

impl Resources {
    /// The second protected resource.
    pub fn second(&self) -> Outcome<Url> {
        need(self.second.clone(), "a second resource")
    }
}

#[when(expr = "the client requests authorization with resource set to {string}")]
async fn with_resource(w: &mut World, resource: String) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.tamper(Param::Resource, resource)).await)
        .await
}

#[given("a second protected resource")]
async fn second_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let target = w.ctx.target.as_str();
        let configured = w.ctx.second_resource.clone();
        let from_metadata = || {
            d.endpoints
                .protected_resources
                .iter()
                .filter(|r| r.as_str() != target)
                .find_map(|r| url::Url::parse(r).ok())
        };
        let Some(second) = configured.clone().or_else(from_metadata) else {
            return Err(Fault::Skip(
                "no second resource: none configured ([resources] second) and the AS metadata lists no other protected_resources".into(),
            ));
        };
        // A resource that does not answer like an MCP server would refuse every token for a
        // reason of its own: its refusals would be no evidence of audience binding.
        let mcp = McpClient::new(w.http.clone(), second.clone(), w.ctx.revision);
        let probe = discovery::probe(&mcp).await?;
        if let Err(why) = check::answers_like_a_protected_resource(&probe) {
            return Err(if configured.is_some() {
                Fault::Harness(format!(
                    "configuration error: [resources] second = {second} does not answer like an MCP server: {why}"
                ))
            } else {
                Fault::Skip(format!(
                    "the AS metadata lists {second} in protected_resources, but it does not answer like an MCP server: {why}"
                ))
            });
        }
        w.resource_binding.second = Some(second);
        Ok(())
    })
    .await
}

#[when("the client obtains tokens for the second resource")]
async fn tokens_for_second(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = w.resource_binding.second()?;
        let scope = w.flow_scope().await?;
        obtain_tokens(w, Some(second.to_string()), scope).await
    })
    .await
}

/// RS-07 without a configured second resource: tokens for `resource`, a resource other than
/// the MCP server, where the AS issues them. An AS that refuses (as RES-04 asks) leaves no
/// such token to present: the scenario is skipped with the AS's answer.
#[when(expr = "the client obtains tokens for {string}, where the AS issues them")]
async fn tokens_for_other_resource(w: &mut World, resource: String) -> Outcome {
    w.step(async |w| {
        if let Some(second) = &w.ctx.second_resource {
            return Err(Fault::Skip(format!(
                "a second resource is configured ({second}): the scenario with it judges RS-07"
            )));
        }
        let scope = w.flow_scope().await?;
        let req =
            AuthorizationRequest::new(w.flow.client()?.clone(), Some(resource.clone()), scope);
        let outcome = send_authorization(w, req, |p| p).await?;
        let Some(code) = outcome.code() else {
            return Err(Fault::Skip(format!(
                "the AS issues no token for {resource}, a resource it does not serve ({}), so there is no token of another audience to present",
                outcome.describe()
            )));
        };
        w.flow.use_code(code);
        let resp = redeem(w, false, |p| p.tamper(Param::Resource, resource.as_str())).await?;
        if TokenSet::from_response(&resp).is_err() {
            return Err(Fault::Skip(format!(
                "the AS refused to redeem a code for {resource} ({}), so there is no token of another audience to present",
                crate::checks::describe(&resp)
            )));
        }
        Ok(())
    })
    .await
}

#[then("the MCP server accepts the access token")]
async fn target_accepts(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mcp = w.mcp();
        let resp = open_with_token(w, &mcp).await?;
        let f = check::res_02_accepted(&resp);
        w.expect(f)
    })
    .await
}

#[when("the client redeems the code with resource set to the second resource")]
async fn redeem_for_second_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = w.resource_binding.second()?;
        redeem(w, false, |p| p.tamper(Param::Resource, second.as_str()))
            .await
            .map(drop)
    })
    .await
}

#[when("the client requests authorization with resource omitted")]
async fn without_resource(w: &mut World) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.omit(Param::Resource)).await)
        .await
}

#[when(
    "the client requests authorization with resource set to the MCP server and the second resource"
)]
async fn with_two_resources(w: &mut World) -> Outcome {
    w.step(async |w| {
        let second = w.resource_binding.second()?;
        request_tampered(w, |p| p.add(Param::Resource, second.as_str())).await
    })
    .await
}

#[when(
    "the client obtains tokens for the MCP server with the resource's scheme and host in upper case"
)]
async fn tokens_for_uppercase_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resource = uppercase_scheme_and_host(&w.ctx.target);
        let scope = w.flow_scope().await?;
        let req =
            AuthorizationRequest::new(w.flow.client()?.clone(), Some(resource.clone()), scope);
        let outcome = send_authorization(w, req, |p| p).await?;
        if let Some(fault) = w.flow.get_refused(&outcome) {
            return Err(fault);
        }
        // A refusal of the scenario's own request is RES-07's to judge, in the Then step.
        let Some(code) = outcome.code() else {
            return Ok(());
        };
        w.flow.use_code(code);
        redeem(w, false, |p| p.tamper(Param::Resource, resource))
            .await
            .map(drop)
    })
    .await
}

/// `https://mcp.example.com/mcp` → `HTTPS://MCP.EXAMPLE.COM/mcp` (RES-07): scheme and host
/// are case-insensitive (RFC 3986 §6.2.2.1), the path is not.
fn uppercase_scheme_and_host(u: &url::Url) -> String {
    let s = u.as_str();
    let authority_end = s
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| s[start..].find(['/', '?', '#']).map(|j| start + j))
        .unwrap_or(s.len());
    format!(
        "{}{}",
        s[..authority_end].to_ascii_uppercase(),
        &s[authority_end..]
    )
}

#[then(regex = r#"^the authorization yields a code or is refused with "invalid_target"$"#)]
async fn code_or_invalid_target(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let id = w.judged(
            "the code-or-invalid_target check",
            &[check::JUDGED_BY_CODE_OR_INVALID_TARGET],
        )?;
        let f = check::code_or_invalid_target(id, outcome);
        w.expect(f)
    })
    .await
}

#[then("the MCP server accepts the access token (RES-07)")]
async fn res_07_accepted(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::res_07_code_issued(w.flow.outcome()?);
        if !f.is_empty() {
            return w.expect(f);
        }
        let f = check::res_07_tokens_issued(w.flow.last_token_response()?);
        if !f.is_empty() {
            return w.expect(f);
        }
        let mcp = w.mcp();
        let resp = open_with_token(w, &mcp).await?;
        let f = check::res_07_accepted(&resp);
        w.expect(f)
    })
    .await
}

#[then("the PRM resource has no trailing slash (RES-08)")]
async fn res_08(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let Some(resource) = d.prm.as_ref().and_then(|(_, doc)| doc.str("resource")) else {
            return Err(Fault::Skip(
                "no protected resource metadata with a resource was found".into(),
            ));
        };
        let f = check::res_08_no_trailing_slash(resource);
        w.expect(f)
    })
    .await
}
