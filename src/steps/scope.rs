//! Scope steps: the scope the 401 challenge names, the insufficient_scope challenge and
//! step-up at the MCP server, and what a grant states for the scope requested (SCOPE-*).

use cucumber::{given, then, when};

use super::flow::{obtain_tokens, redeem, request_tampered};
use super::resource_server::hold_tokens;
use super::{World, discovery, need};
use crate::checks::scope::{self as check, grant};
use crate::client::params::Param;
use crate::verdict::{Fault, Outcome};

/// The scopes a scenario asked for, where a check compares the grant or a challenge with them.
#[derive(Debug, Default)]
pub struct Scopes {
    /// The `scope` an authorization request sent (SCOPE-06, SCOPE-08).
    requested: Option<String>,
    /// The scope stepped up to after an insufficient_scope challenge (SCOPE-10).
    stepped_up: Option<String>,
}

// SCOPE-01, SCOPE-02: the scope of the 401 challenge.

#[then("the Bearer challenge carries a scope parameter in scope syntax")]
async fn challenge_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_01_challenge_scope(w.discovery.probe()?);
        w.expect(f)
    })
    .await
}

#[then("a challenged scope that PRM scopes_supported does not list is recorded (SCOPE-02)")]
async fn challenge_vs_scopes_supported(w: &mut World) -> Outcome {
    w.step(async |w| {
        discovery::requires_prm(w)?;
        let challenged = w
            .discovery
            .probe()?
            .bearer()
            .and_then(|c| c.param("scope").map(str::to_string));
        discovery::look_for_prm(w).await?;
        let supported = w.discovery.prm_found()?.strings("scopes_supported");
        let Some(f) =
            check::scope_02_challenge_vs_supported(challenged.as_deref(), supported.as_deref())
        else {
            return Err(Fault::Skip(
                "the 401 challenge names no scope to relate to scopes_supported (see SCOPE-01)"
                    .into(),
            ));
        };
        w.expect(f)
    })
    .await
}

// SCOPE-03..05, SCOPE-09, SCOPE-10: the insufficient_scope challenge and step-up.

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

#[then("the response is 403 with error insufficient_scope, scope and resource_metadata")]
async fn insufficient_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_03_insufficient_scope(w.resource_server.last_mcp()?);
        w.expect(f)
    })
    .await
}

#[when("the client obtains tokens for the scope the challenge names")]
async fn step_up(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(scope) = check::challenged_scope(w.resource_server.last_mcp()?) else {
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
        let [.., first, second] = w.resource_server.all() else {
            return Err(Fault::Harness("step order: two answers needed".into()));
        };
        let f = check::scope_05_same_challenge(first, second);
        w.expect(f)
    })
    .await
}

#[then("the Bearer challenge's scope does not name offline_access (SCOPE-09)")]
async fn challenge_without_offline_access(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_09_no_offline_access(w.resource_server.last()?);
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
        let first = w.resource_server.last_mcp()?;
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
        let granted = w.flow.granted_scope().unwrap_or_default().to_string();
        let missing = check::scopes_missing(&union, &granted);
        if !missing.is_empty() {
            return Err(Fault::Skip(format!(
                "the AS granted {granted:?}, without {}: a second challenge would not be the MCP server's doing",
                missing.join(" ")
            )));
        }
        w.scope.stepped_up = Some(union);
        Ok(())
    })
    .await
}

#[then("the operation is not challenged for scope a second time (SCOPE-10)")]
async fn not_challenged_again(w: &mut World) -> Outcome {
    w.step(async |w| {
        let union = need(
            w.scope.stepped_up.clone(),
            "a step-up to the challenged scope",
        )?;
        let retry = w.resource_server.last_mcp()?;
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

// SCOPE-06, SCOPE-08: what the grant states.

/// Every scope the protected resource metadata lists (RFC 9728 §2 `scopes_supported`), else
/// the flows' scope: several scopes, some of which an AS may grant only by policy.
async fn every_listed_scope(w: &World) -> Outcome<Option<String>> {
    let d = w.ctx.discovered().await?;
    let listed = d
        .prm
        .as_ref()
        .and_then(|(_, doc)| doc.strings("scopes_supported"))
        .filter(|s| !s.is_empty())
        .map(|s| s.join(" "));
    match listed {
        Some(all) => Ok(Some(all)),
        None => w.flow_scope().await,
    }
}

#[when("the client obtains tokens for the MCP server with every scope the resource lists")]
async fn tokens_for_every_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let scope = every_listed_scope(w).await?;
        w.scope.requested = scope.clone();
        let obtained = obtain_tokens(w, Some(w.ctx.target.to_string()), scope.clone()).await;
        // The scenario chose the scopes: a refusal of them is about the list, not about the
        // S256 flow (PKCE-02), and leaves no grant of several scopes to judge.
        let refused_scope = w
            .flow
            .outcome()
            .is_ok_and(|o| o.code().is_none() && o.error() == Some("invalid_scope"));
        match obtained {
            Err(Fault::Violation(v)) if refused_scope && v.requirement == req::PKCE_02 => {
                Err(Fault::Skip(format!(
                    "the AS refused the scopes the protected resource metadata lists ({}) with invalid_scope, so there is no grant of several scopes to judge (PRM-11 and SCOPE-02 judge the list)",
                    scope.unwrap_or_default()
                )))
            }
            other => other,
        }
    })
    .await
}

#[then(
    "the token response states the granted scope, or the access token grants the scope requested (SCOPE-06)"
)]
async fn granted_scope_stated(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = w.flow.last_token_response()?;
        if let Some(why) = grant::scope_06_unobservable(resp) {
            return Err(Fault::Skip(why));
        }
        let f = grant::scope_06_granted_scope_stated(w.scope.requested.as_deref(), resp);
        w.expect(f)
    })
    .await
}

#[when(expr = "the client requests authorization for the flow's scope plus {string}")]
async fn with_unknown_scope(w: &mut World, unknown: String) -> Outcome {
    w.step(async |w| {
        let scope = match w.flow_scope().await? {
            Some(flow) => format!("{flow} {unknown}"),
            None => unknown,
        };
        w.scope.requested = Some(scope.clone());
        request_tampered(w, |p| p.tamper(Param::Scope, scope)).await
    })
    .await
}

#[when("the client redeems the code, if the authorization issued one")]
async fn redeem_if_issued(w: &mut World) -> Outcome {
    w.step(async |w| {
        let Some(code) = w.flow.outcome()?.code() else {
            return Ok(());
        };
        w.flow.use_code(code);
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

#[then(
    expr = "{string} is refused with invalid_scope and the request's state, or dropped from a grant the token response states \\(SCOPE-08)"
)]
async fn unknown_scope_refused_or_dropped(w: &mut World, unknown: String) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let f = if outcome.code().is_some() {
            let requested = need(w.scope.requested.as_deref(), "the scope requested")?;
            grant::scope_08_dropped(requested, &unknown, w.flow.last_token_response()?)
        } else {
            grant::scope_08_refused(outcome, w.flow.state()?)
        };
        w.expect(f)
    })
    .await
}
