//! Discovery steps: the unauthenticated probe, PRM and AS metadata.

use cucumber::{then, when};
use url::Url;

use super::{World, need};
use crate::checks::discovery as check;
use crate::client::discovery::{self, fetch_document};
use crate::client::wellknown::{self, MetadataKind};
use crate::verdict::{Fault, Outcome};

/// The issuer to look up: the first PRM entry (B, C) or the MCP server's origin (A).
async fn issuer(w: &mut World) -> Outcome<(String, Url)> {
    if !w.ctx.revision.has_prm() {
        let mut origin = w.ctx.target.clone();
        origin.set_path("/");
        origin.set_query(None);
        let text = origin.as_str().trim_end_matches('/').to_string();
        return Ok((text, origin));
    }
    if w.prm.is_none() {
        look_for_prm(w).await?;
    }
    let (_, doc) = need(w.prm.as_ref(), "PRM")?;
    let first = doc
        .strings("authorization_servers")
        .and_then(|v| v.into_iter().next())
        .ok_or_else(|| {
            Fault::Harness("could not run: PRM lists no authorization server (PRM-10)".into())
        })?;
    let url = Url::parse(&first).map_err(|e| {
        Fault::Harness(format!(
            "could not run: PRM's authorization server {first:?} is not a URL ({e})"
        ))
    })?;
    Ok((first, url))
}

async fn look_for_prm(w: &mut World) -> Outcome {
    if w.probe.is_none() {
        w.probe = Some(discovery::probe(&w.mcp()).await?);
    }
    let from_header = w.probe.as_ref().and_then(|p| p.resource_metadata());
    let mut attempts = Vec::new();
    let found =
        discovery::find_prm(&w.http, &w.ctx.target, from_header.as_ref(), &mut attempts).await?;
    w.attempts.extend(attempts);
    w.prm = found;
    Ok(())
}

/// Every URL this scenario tried, with its outcome.
fn tried(w: &World) -> String {
    w.attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn requires_prm(w: &World) -> Outcome {
    if w.ctx.revision.has_prm() {
        Ok(())
    } else {
        Err(Fault::Skip(format!(
            "MCP {} has no protected resource metadata",
            w.ctx.revision
        )))
    }
}

fn prm_found(w: &World) -> Outcome<&crate::client::discovery::Document> {
    w.prm.as_ref().map(|(_, d)| d).ok_or_else(|| {
        Fault::Harness(format!(
            "could not run: no route yields PRM (see PRM-07); tried: {}",
            w.attempts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })
}

#[when("the client sends the opening MCP request without credentials")]
async fn opening_without_credentials(w: &mut World) {
    w.step(async |w| {
        let p = discovery::probe(&w.mcp()).await?;
        w.last_response = Some(p.response.clone());
        w.probe = Some(p);
        Ok(())
    })
    .await
}

#[then(regex = r"^the response status is (\d{3}) \(([A-Z]+-\d{2})\)$")]
async fn response_status_is(w: &mut World, status: u16, id: String) {
    w.step(async |w| {
        let findings = check::status_is(&id, w.last_response()?, status);
        w.expect(findings)
    })
    .await
}

#[then("the response has a Bearer challenge with at least one parameter and no repeated parameter")]
async fn bearer_challenge(w: &mut World) {
    w.step(async |w| {
        let f = check::prm_02_bearer_challenge(need(w.probe.as_ref(), "probe")?);
        w.expect(f)
    })
    .await
}

#[then("the Bearer challenge's resource_metadata is an absolute URL that serves PRM")]
async fn challenge_names_prm(w: &mut World) {
    w.step(async |w| {
        requires_prm(w)?;
        let probe = need(w.probe.clone(), "probe")?;
        let mut attempts = Vec::new();
        let by_header = match probe.resource_metadata() {
            Some(u) => fetch_document(&w.http, &u, "PRM", &mut attempts).await?.1,
            None => None,
        };
        let mut by_well_known = false;
        for u in wellknown::prm_candidates(&w.ctx.target) {
            if fetch_document(&w.http, &u, "PRM", &mut attempts)
                .await?
                .1
                .is_some()
            {
                by_well_known = true;
                break;
            }
        }
        w.attempts.extend(attempts);
        let f = check::prm_03_resource_metadata(
            &probe,
            w.ctx.revision,
            by_header.as_ref(),
            by_well_known,
        );
        w.expect(f)
    })
    .await
}

#[then("the Bearer challenge has no error parameter")]
async fn no_error_param(w: &mut World) {
    w.step(async |w| {
        let f = check::prm_04_no_error_without_credentials(need(w.probe.as_ref(), "probe")?);
        w.expect(f)
    })
    .await
}

#[when("the client fetches PRM from the path-inserted well-known URL")]
async fn fetch_path_inserted_prm(w: &mut World) {
    w.step(async |w| {
        requires_prm(w)?;
        let url = wellknown::path_inserted(&w.ctx.target, wellknown::PRM_SUFFIX);
        let mut attempts = Vec::new();
        let (resp, doc) = fetch_document(&w.http, &url, "PRM", &mut attempts).await?;
        w.attempts.extend(attempts);
        w.fetched = Some((url, resp, doc));
        Ok(())
    })
    .await
}

#[then("the well-known PRM document is served")]
async fn well_known_prm_served(w: &mut World) {
    w.step(async |w| {
        let (url, resp, doc) = need(w.fetched.clone(), "a fetched document")?;
        let other = if doc.is_none() {
            look_for_prm(w).await?;
            w.prm.is_some()
        } else {
            false
        };
        let f = check::prm_05_path_inserted(&url, &resp, doc.as_ref(), other);
        w.expect(f)
    })
    .await
}

#[when("the client looks for PRM by every route")]
async fn look_for_prm_step(w: &mut World) {
    w.step(async |w| {
        requires_prm(w)?;
        look_for_prm(w).await
    })
    .await
}

#[then("some route yields a PRM document")]
async fn some_route_yields_prm(w: &mut World) {
    w.step(async |w| {
        if w.prm.is_some() {
            return Ok(());
        }
        let tried = tried(w);
        let v = crate::verdict::Violation::new(
            "PRM-07",
            "a PRM document from the challenge or a well-known URL",
            format!("none; tried: {tried}"),
        );
        w.expect(vec![v])
    })
    .await
}

#[then("the PRM response is 200 with an application/json object")]
async fn prm_json_object(w: &mut World) {
    w.step(async |w| {
        let resp = prm_found(w)?.response.clone();
        let f = check::prm_08_json_object("PRM-08", &resp);
        w.expect(f)
    })
    .await
}

#[then("the PRM resource equals the MCP server URL exactly")]
async fn prm_resource_matches(w: &mut World) {
    w.step(async |w| {
        let f = check::prm_09_resource_matches(&w.ctx.target, prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the PRM authorization_servers is a non-empty list of issuer URLs")]
async fn prm_authorization_servers(w: &mut World) {
    w.step(async |w| {
        let f = check::prm_10_authorization_servers(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[when("the client fetches RFC 8414 metadata for the issuer")]
async fn fetch_oauth_metadata(w: &mut World) {
    w.step(async |w| {
        let (_, issuer) = issuer(w).await?;
        let url = wellknown::path_inserted(&issuer, wellknown::OAUTH_AS_SUFFIX);
        let mut attempts = Vec::new();
        let (resp, doc) =
            fetch_document(&w.http, &url, MetadataKind::OAuth.describe(), &mut attempts).await?;
        w.attempts.extend(attempts);
        w.fetched = Some((url, resp, doc));
        Ok(())
    })
    .await
}

#[then("the RFC 8414 metadata document is served")]
async fn oauth_metadata_served(w: &mut World) {
    w.step(async |w| {
        let (url, resp, doc) = need(w.fetched.clone(), "a fetched document")?;
        if doc.is_none() && w.ctx.revision >= crate::client::mcp::Revision::V2025_11_25 {
            return Err(Fault::Skip(format!(
                "no RFC 8414 document at {url}; MCP {} allows OpenID Connect discovery instead (ASM-02)",
                w.ctx.revision
            )));
        }
        let f = check::asm_01_oauth_metadata(&url, &resp, doc.as_ref());
        w.expect(f)
    })
    .await
}

#[when("the client looks for AS metadata at every well-known URL in order")]
async fn look_for_as_metadata(w: &mut World) {
    w.step(async |w| {
        let (text, issuer) = issuer(w).await?;
        let mut attempts = Vec::new();
        let found = discovery::find_as_metadata(&w.http, &issuer, &mut attempts).await?;
        w.attempts.extend(attempts);
        w.issuer = Some(text);
        w.as_metadata = found;
        Ok(())
    })
    .await
}

fn as_found(w: &World) -> Outcome<&crate::client::discovery::Document> {
    w.as_metadata.as_ref().map(|(_, d)| d).ok_or_else(|| {
        Fault::Harness(format!(
            "could not run: no AS metadata at any well-known URL (see ASM-02); tried: {}",
            w.attempts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })
}

#[then("some AS metadata URL yields a document")]
async fn some_as_metadata(w: &mut World) {
    w.step(async |w| {
        if w.as_metadata.is_some() {
            return Ok(());
        }
        let tried = tried(w);
        let v = crate::verdict::Violation::new(
            "ASM-02",
            "AS metadata at one of the well-known URLs",
            format!("none; tried: {tried}"),
        );
        w.expect(vec![v])
    })
    .await
}

#[then("the AS metadata response is 200 with an application/json object")]
async fn as_metadata_json(w: &mut World) {
    w.step(async |w| {
        let resp = as_found(w)?.response.clone();
        let f = check::prm_08_json_object("ASM-03", &resp);
        w.expect(f)
    })
    .await
}

#[then("the metadata issuer equals the issuer identifier exactly")]
async fn issuer_matches(w: &mut World) {
    w.step(async |w| {
        let expected = need(w.issuer.clone(), "issuer")?;
        let f = check::asm_04_issuer(&expected, as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the authorization and token endpoints are absolute URLs without fragments")]
async fn endpoints_absolute(w: &mut World) {
    w.step(async |w| {
        let f = check::asm_06_endpoints(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("response_types_supported includes code and not token")]
async fn response_types(w: &mut World) {
    w.step(async |w| {
        let f = check::asm_07_response_types(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("code_challenge_methods_supported includes S256")]
async fn pkce_methods(w: &mut World) {
    w.step(async |w| {
        let f = check::asm_08_pkce_methods(as_found(w)?);
        w.expect(f)
    })
    .await
}
