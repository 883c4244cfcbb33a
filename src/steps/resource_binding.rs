//! Resource indicator steps (RFC 8707): a second protected resource, requests naming
//! resources, and tokens bound to their resource (RES-*).

use cucumber::{given, then, when};
use url::Url;

use super::flow::{obtain_tokens, redeem, request_tampered};
use super::resource_server::open_with_token;
use super::{World, need};
use crate::checks::resource_binding as check;
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
        let second = w.ctx.second_resource.clone().or_else(|| {
            d.endpoints
                .protected_resources
                .iter()
                .filter(|r| r.as_str() != target)
                .find_map(|r| url::Url::parse(r).ok())
        });
        match second {
            Some(s) => {
                w.resource_binding.second = Some(s);
                Ok(())
            }
            None => Err(Fault::Skip(
                "no second resource: none configured ([resources] second) and the AS metadata lists no other protected_resources".into(),
            )),
        }
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
        obtain_tokens(w, Some(resource), scope).await
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
