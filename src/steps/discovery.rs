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
async fn opening_without_credentials(w: &mut World) -> Outcome {
    w.step(async |w| {
        let p = discovery::probe(&w.mcp()).await?;
        w.last_response = Some(p.response.clone());
        w.probe = Some(p);
        Ok(())
    })
    .await
}

#[then(regex = r"^the response status is (\d{3})$")]
async fn response_status_is(w: &mut World, status: u16) -> Outcome {
    w.step(async |w| {
        let id = w.judged("the status check", check::STATUS_JUDGES)?;
        let findings = check::status_is(id, w.last_response()?, status);
        w.expect(findings)
    })
    .await
}

#[then("the response has a Bearer challenge with at least one parameter and no repeated parameter")]
async fn bearer_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_02_bearer_challenge(need(w.probe.as_ref(), "probe")?);
        w.expect(f)
    })
    .await
}

#[then("the Bearer challenge's resource_metadata is an absolute URL that serves PRM")]
async fn challenge_names_prm(w: &mut World) -> Outcome {
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
async fn no_error_param(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_04_no_error_without_credentials(need(w.probe.as_ref(), "probe")?);
        w.expect(f)
    })
    .await
}

/// Fetches a metadata document and keeps it, with its attempt, in the world.
async fn fetch_into_world(w: &mut World, url: url::Url, what: &str) -> Outcome {
    let mut attempts = Vec::new();
    let (resp, doc) = fetch_document(&w.http, &url, what, &mut attempts).await?;
    w.attempts.extend(attempts);
    w.fetched = Some((url, resp, doc));
    Ok(())
}

#[when("the client fetches PRM from the path-inserted well-known URL")]
async fn fetch_path_inserted_prm(w: &mut World) -> Outcome {
    w.step(async |w| {
        requires_prm(w)?;
        let url = wellknown::path_inserted(&w.ctx.target, wellknown::PRM_SUFFIX);
        fetch_into_world(w, url, "PRM").await
    })
    .await
}

#[then("the well-known PRM document is served")]
async fn well_known_prm_served(w: &mut World) -> Outcome {
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
async fn look_for_prm_step(w: &mut World) -> Outcome {
    w.step(async |w| {
        requires_prm(w)?;
        look_for_prm(w).await
    })
    .await
}

#[then("some route yields a PRM document")]
async fn some_route_yields_prm(w: &mut World) -> Outcome {
    w.step(async |w| {
        if w.prm.is_some() {
            return Ok(());
        }
        let tried = tried(w);
        let v = crate::verdict::Violation::new(
            req::PRM_07,
            "a PRM document from the challenge or a well-known URL",
            format!("none; tried: {tried}"),
        );
        w.expect(vec![v])
    })
    .await
}

#[then("the PRM response is 200 with an application/json object")]
async fn prm_json_object(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = prm_found(w)?.response.clone();
        let f = check::prm_08_json_object(req::PRM_08, &resp);
        w.expect(f)
    })
    .await
}

#[then("the PRM resource equals the MCP server URL exactly")]
async fn prm_resource_matches(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_09_resource_matches(&w.ctx.target, prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the PRM authorization_servers is a non-empty list of issuer URLs")]
async fn prm_authorization_servers(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_10_authorization_servers(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[when("the client fetches RFC 8414 metadata for the issuer")]
async fn fetch_oauth_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, issuer) = issuer(w).await?;
        let url = wellknown::path_inserted(&issuer, wellknown::OAUTH_AS_SUFFIX);
        fetch_into_world(w, url, MetadataKind::OAuth.describe()).await
    })
    .await
}

#[then("the RFC 8414 metadata document is served")]
async fn oauth_metadata_served(w: &mut World) -> Outcome {
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
async fn look_for_as_metadata(w: &mut World) -> Outcome {
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
async fn some_as_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        if w.as_metadata.is_some() {
            return Ok(());
        }
        let tried = tried(w);
        let v = crate::verdict::Violation::new(
            req::ASM_02,
            "AS metadata at one of the well-known URLs",
            format!("none; tried: {tried}"),
        );
        w.expect(vec![v])
    })
    .await
}

#[then("the AS metadata response is 200 with an application/json object")]
async fn as_metadata_json(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = as_found(w)?.response.clone();
        let f = check::prm_08_json_object(req::ASM_03, &resp);
        w.expect(f)
    })
    .await
}

#[then("the metadata issuer equals the issuer identifier exactly")]
async fn issuer_matches(w: &mut World) -> Outcome {
    w.step(async |w| {
        let expected = need(w.issuer.clone(), "issuer")?;
        let f = check::asm_04_issuer(&expected, as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the authorization and token endpoints are absolute URLs without fragments")]
async fn endpoints_absolute(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_06_endpoints(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("response_types_supported includes code and not token")]
async fn response_types(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_07_response_types(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("code_challenge_methods_supported includes S256")]
async fn pkce_methods(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_08_pkce_methods(as_found(w)?);
        w.expect(f)
    })
    .await
}

// PRM members (PRM-06, PRM-11..17), AS metadata members (ASM-05, ASM-09..18), the https of
// the discovery chain (SEC-01) and the challenge's scope (SCOPE-01).

#[when("the client fetches PRM from the root well-known URL")]
async fn fetch_root_prm(w: &mut World) -> Outcome {
    w.step(async |w| {
        requires_prm(w)?;
        let url = wellknown::root(&w.ctx.target, wellknown::PRM_SUFFIX);
        fetch_into_world(w, url, "PRM").await
    })
    .await
}

#[then("a root PRM document, if served, names the origin or the MCP server URL as its resource")]
async fn root_prm_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, resp, doc) = need(w.fetched.clone(), "a fetched document")?;
        let f = check::prm_06_root_document(&w.ctx.target, &resp, doc.as_ref());
        w.expect(f)
    })
    .await
}

#[then("the PRM scopes_supported is a non-empty list without catch-all scopes")]
async fn prm_scopes_supported(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_11_scopes_supported(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("no PRM member other than bearer_methods_supported is empty")]
async fn prm_no_empty_members(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::no_empty_members(req::PRM_12, prm_found(w)?, &["bearer_methods_supported"]);
        w.expect(f)
    })
    .await
}

#[then("the PRM optional members have the types RFC 9728 gives them")]
async fn prm_member_types(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_13_member_types(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the PRM bearer_methods_supported, if present, offers the header and not the query")]
async fn prm_bearer_methods(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_14_bearer_methods(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then(
    "the PRM signed_metadata, if present, is a JWS whose payload has iss and no signed_metadata"
)]
async fn prm_signed_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_16_signed_metadata(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the AS metadata protected_resources, if present, lists the MCP server URL")]
async fn as_lists_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_17_listed_by_as(&w.ctx.target, as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("the metadata issuer is an https URL without query or fragment")]
async fn issuer_syntax(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_05_issuer_syntax(as_found(w)?);
        w.expect(f)
    })
    .await
}

/// The OpenID Connect discovery URLs of an issuer, in the MCP 2025-11-25 order.
fn oidc_candidates(issuer: &Url) -> Vec<Url> {
    let mut out = vec![wellknown::path_inserted(issuer, wellknown::OIDC_SUFFIX)];
    let appended = wellknown::appended(issuer, wellknown::OIDC_SUFFIX);
    if !out.contains(&appended) {
        out.push(appended);
    }
    out
}

/// The first OpenID Connect discovery document the issuer serves, if any.
async fn fetch_oidc(w: &mut World, issuer: &Url) -> Outcome<Option<discovery::Document>> {
    let mut attempts = Vec::new();
    let mut found = None;
    for url in oidc_candidates(issuer) {
        let (_, doc) = fetch_document(
            &w.http,
            &url,
            MetadataKind::OidcInserted.describe(),
            &mut attempts,
        )
        .await?;
        if doc.is_some() {
            found = doc;
            break;
        }
    }
    w.attempts.extend(attempts);
    Ok(found)
}

#[then("the OpenID Connect metadata, if served, lists code_challenge_methods_supported")]
async fn oidc_lists_pkce(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, issuer) = issuer(w).await?;
        let Some(doc) = fetch_oidc(w, &issuer).await? else {
            return Err(Fault::Skip(format!(
                "the AS serves no OpenID Connect discovery document; tried: {}",
                tried(w)
            )));
        };
        let f = check::asm_09_oidc_pkce(&doc);
        w.expect(f)
    })
    .await
}

#[then("registration_endpoint, if present, is an absolute https URL")]
async fn registration_endpoint(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_10_registration_endpoint(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("client_id_metadata_document_supported is the boolean true")]
async fn cimd_advertised(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_11_cimd_advertised(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("no AS metadata member is empty")]
async fn as_no_empty_members(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::no_empty_members(req::ASM_12, as_found(w)?, &[]);
        w.expect(f)
    })
    .await
}

#[then("every endpoint URL in the AS metadata is https")]
async fn endpoints_https(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_13_endpoints_https(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then(
    "grant_types_supported is explicit, with authorization_code and without implicit or password"
)]
async fn grant_types(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_14_grant_types(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("token_endpoint_auth_methods_supported lists none when a public client was registered")]
async fn auth_methods_none(w: &mut World) -> Outcome {
    w.step(async |w| {
        let public = match w.ctx.client().await {
            Ok(c) => c.token_endpoint_auth_method == "none",
            // No registration endpoint: nothing says public clients are accepted.
            Err(Fault::Skip(_)) => false,
            Err(e) => return Err(e),
        };
        let f = check::asm_15_public_clients(as_found(w)?, public);
        w.expect(f)
    })
    .await
}

#[then(
    "authorization_response_iss_parameter_supported matches whether the authorization response carried iss"
)]
async fn iss_flag_matches(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.authorization.clone(), "an authorization response")?;
        if !matches!(
            outcome,
            crate::client::login::AuthorizationOutcome::Redirect { .. }
        ) {
            return Err(Fault::Harness(format!(
                "could not run: the authorization ended at {}",
                outcome.describe()
            )));
        }
        let d = w.ctx.discovered().await?;
        let f = check::asm_16_iss_advertised(&d.as_metadata.1, outcome.param("iss").is_some());
        w.expect(f)
    })
    .await
}

#[then(
    "the RFC 8414 and OpenID Connect metadata, where both are served, agree on issuer and endpoints"
)]
async fn metadata_documents_agree(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, issuer) = issuer(w).await?;
        let url = wellknown::path_inserted(&issuer, wellknown::OAUTH_AS_SUFFIX);
        let mut attempts = Vec::new();
        let (_, oauth) =
            fetch_document(&w.http, &url, MetadataKind::OAuth.describe(), &mut attempts).await?;
        w.attempts.extend(attempts);
        let oidc = fetch_oidc(w, &issuer).await?;
        let (Some(oauth), Some(oidc)) = (oauth, oidc) else {
            return Err(Fault::Skip(format!(
                "the AS does not serve both an RFC 8414 and an OpenID Connect document; tried: {}",
                tried(w)
            )));
        };
        let f = check::asm_17_documents_agree(&oauth, &oidc);
        w.expect(f)
    })
    .await
}

#[then("every authorization server PRM lists resolves to metadata with its own issuer")]
async fn every_issuer_resolves(w: &mut World) -> Outcome {
    w.step(async |w| {
        let entries = prm_found(w)?
            .strings("authorization_servers")
            .unwrap_or_default();
        let mut lookups = Vec::new();
        for entry in entries {
            let Ok(url) = Url::parse(&entry) else {
                lookups.push(check::IssuerLookup {
                    issuer: entry,
                    document: None,
                    tried: "not a URL (PRM-10)".into(),
                });
                continue;
            };
            let mut attempts = Vec::new();
            let found = discovery::find_as_metadata(&w.http, &url, &mut attempts).await?;
            lookups.push(check::IssuerLookup {
                issuer: entry,
                document: found.map(|(_, d)| d),
                tried: attempts
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
            w.attempts.extend(attempts);
        }
        let f = check::asm_18_every_issuer_resolves(&lookups);
        w.expect(f)
    })
    .await
}

#[then("every URL of the discovery chain is https, or http on a loopback host")]
async fn discovery_chain_https(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut urls = vec![("the MCP server".to_string(), w.ctx.target.to_string())];
        if let Some(raw) = w
            .probe
            .as_ref()
            .and_then(|p| p.bearer())
            .and_then(|c| c.param("resource_metadata"))
        {
            urls.push(("the challenge's resource_metadata".into(), raw.to_string()));
        }
        if let Some((_, prm)) = &w.prm {
            urls.push(("the PRM document".into(), prm.url.to_string()));
            for s in prm.strings("authorization_servers").unwrap_or_default() {
                urls.push(("an authorization server in PRM".into(), s));
            }
            if let Some(j) = prm.str("jwks_uri") {
                urls.push(("PRM jwks_uri".into(), j.to_string()));
            }
        }
        let meta = as_found(w)?;
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

#[then("the Bearer challenge carries a scope parameter in scope syntax")]
async fn challenge_scope(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::scope_01_challenge_scope(need(w.probe.as_ref(), "probe")?);
        w.expect(f)
    })
    .await
}

// MCP 2026-07-28: offline_access in PRM (PRM-18), DCR-only registration (ASM-19), and the
// challenge's relation to scopes_supported (SCOPE-02).

#[then("the PRM scopes_supported does not list offline_access (PRM-18)")]
async fn prm_no_offline_access(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::prm_18_no_offline_access(prm_found(w)?);
        w.expect(f)
    })
    .await
}

#[then(
    "a registration_endpoint, if offered, comes with client ID metadata document support (ASM-19)"
)]
async fn not_dcr_only(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = check::asm_19_not_dcr_only(as_found(w)?);
        w.expect(f)
    })
    .await
}

#[then("a challenged scope that PRM scopes_supported does not list is recorded (SCOPE-02)")]
async fn challenge_vs_scopes_supported(w: &mut World) -> Outcome {
    w.step(async |w| {
        requires_prm(w)?;
        let challenged = need(w.probe.as_ref(), "probe")?
            .bearer()
            .and_then(|c| c.param("scope").map(str::to_string));
        look_for_prm(w).await?;
        let supported = prm_found(w)?.strings("scopes_supported");
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
