//! Discovery steps: the unauthenticated probe and its challenge, protected resource metadata
//! and authorization server metadata (PRM-*, ASM-*).

use cucumber::{then, when};
use url::Url;

use super::{World, need};
use crate::checks::discovery::{as_metadata, challenge, prm};
use crate::client::discovery::{self, Attempt, Document, PrmRoute, Probe, fetch_document};
use crate::client::http::Response;
use crate::client::wellknown::{self, MetadataKind};
use crate::verdict::{Fault, Outcome};

/// What discovery found in this scenario: the probe, PRM, AS metadata, and every URL tried.
#[derive(Debug, Default)]
pub struct Discovery {
    probe: Option<Probe>,
    attempts: Vec<Attempt>,
    prm: Option<(PrmRoute, Document)>,
    fetched: Option<(Url, Response, Option<Document>)>,
    as_metadata: Option<(MetadataKind, Document)>,
    issuer: Option<String>,
}

impl Discovery {
    /// The answer to the unauthenticated MCP request.
    pub fn probe(&self) -> Outcome<&Probe> {
        need(self.probe.as_ref(), "probe")
    }

    /// The PRM document, if a route yielded one.
    pub fn prm(&self) -> Option<&Document> {
        self.prm.as_ref().map(|(_, d)| d)
    }

    /// The PRM document; without one the scenario cannot run (PRM-07 reports it).
    pub fn prm_found(&self) -> Outcome<&Document> {
        self.prm().ok_or_else(|| {
            Fault::Harness(format!(
                "could not run: no route yields PRM (see PRM-07); tried: {}",
                self.tried()
            ))
        })
    }

    /// The AS metadata; without it the scenario cannot run (ASM-02 reports it).
    pub fn as_found(&self) -> Outcome<&Document> {
        self.as_metadata.as_ref().map(|(_, d)| d).ok_or_else(|| {
            Fault::Harness(format!(
                "could not run: no AS metadata at any well-known URL (see ASM-02); tried: {}",
                self.tried()
            ))
        })
    }

    /// Every URL this scenario tried, with its outcome.
    pub fn tried(&self) -> String {
        self.attempts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The issuer to look up: the first PRM entry (B, C) or the MCP server's origin (A).
async fn issuer(w: &mut World) -> Outcome<(String, Url)> {
    if !w.ctx.revision.has_prm() {
        let mut origin = w.ctx.target.clone();
        origin.set_path("/");
        origin.set_query(None);
        let text = origin.as_str().trim_end_matches('/').to_string();
        return Ok((text, origin));
    }
    if w.discovery.prm.is_none() {
        look_for_prm(w).await?;
    }
    let (_, doc) = need(w.discovery.prm.as_ref(), "PRM")?;
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

pub async fn look_for_prm(w: &mut World) -> Outcome {
    if w.discovery.probe.is_none() {
        w.discovery.probe = Some(discovery::probe(&w.mcp()).await?);
    }
    let from_header = w
        .discovery
        .probe
        .as_ref()
        .and_then(|p| p.resource_metadata());
    let mut attempts = Vec::new();
    let found =
        discovery::find_prm(&w.http, &w.ctx.target, from_header.as_ref(), &mut attempts).await?;
    w.discovery.attempts.extend(attempts);
    w.discovery.prm = found;
    Ok(())
}

pub fn requires_prm(w: &World) -> Outcome {
    if w.ctx.revision.has_prm() {
        Ok(())
    } else {
        Err(Fault::Skip(format!(
            "MCP {} has no protected resource metadata",
            w.ctx.revision
        )))
    }
}

#[when("the client sends the opening MCP request without credentials")]
async fn opening_without_credentials(w: &mut World) -> Outcome {
    w.step(async |w| {
        let p = discovery::probe(&w.mcp()).await?;
        w.resource_server.answered_http(p.response.clone());
        w.discovery.probe = Some(p);
        Ok(())
    })
    .await
}

#[then("the response has a Bearer challenge with at least one parameter and no repeated parameter")]
async fn bearer_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = challenge::prm_02_bearer_challenge(w.discovery.probe()?);
        w.expect(f)
    })
    .await
}

#[then("the Bearer challenge's resource_metadata is an absolute URL that serves PRM")]
async fn challenge_names_prm(w: &mut World) -> Outcome {
    w.step(async |w| {
        requires_prm(w)?;
        let probe = w.discovery.probe()?.clone();
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
        w.discovery.attempts.extend(attempts);
        let f = challenge::prm_03_resource_metadata(
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
        let f = challenge::prm_04_no_error_without_credentials(w.discovery.probe()?);
        w.expect(f)
    })
    .await
}

/// Fetches a metadata document and keeps it, with its attempt, in the world.
async fn fetch_into_world(w: &mut World, url: url::Url, what: &str) -> Outcome {
    let mut attempts = Vec::new();
    let (resp, doc) = fetch_document(&w.http, &url, what, &mut attempts).await?;
    w.discovery.attempts.extend(attempts);
    w.discovery.fetched = Some((url, resp, doc));
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
        let (url, resp, doc) = need(w.discovery.fetched.clone(), "a fetched document")?;
        let other = if doc.is_none() {
            look_for_prm(w).await?;
            w.discovery.prm.is_some()
        } else {
            false
        };
        let f = prm::prm_05_path_inserted(&url, &resp, doc.as_ref(), other);
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
        let f = prm::prm_07_found(w.discovery.prm.is_some(), &w.discovery.tried());
        w.expect(f)
    })
    .await
}

#[then("the PRM response is 200 with an application/json object")]
async fn prm_json_object(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = w.discovery.prm_found()?.response.clone();
        let f = prm::prm_08_json_object(&resp);
        w.expect(f)
    })
    .await
}

#[then("the PRM resource equals the MCP server URL exactly")]
async fn prm_resource_matches(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_09_resource_matches(&w.ctx.target, w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then("the PRM authorization_servers is a non-empty list of issuer URLs")]
async fn prm_authorization_servers(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_10_authorization_servers(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[when("the client fetches RFC 8414 metadata for the issuer")]
async fn fetch_oauth_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, issuer) = issuer(w).await?;
        let url = wellknown::issuer_path_inserted(&issuer, wellknown::OAUTH_AS_SUFFIX);
        fetch_into_world(w, url, MetadataKind::OAuth.describe()).await
    })
    .await
}

#[then("the RFC 8414 metadata document is served")]
async fn oauth_metadata_served(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (url, resp, doc) = need(w.discovery.fetched.clone(), "a fetched document")?;
        if doc.is_none() && w.ctx.revision >= crate::client::mcp::Revision::V2025_11_25 {
            return Err(Fault::Skip(format!(
                "no RFC 8414 document at {url}; MCP {} allows OpenID Connect discovery instead (ASM-02)",
                w.ctx.revision
            )));
        }
        let f = as_metadata::asm_01_oauth_metadata(&url, &resp, doc.as_ref());
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
        w.discovery.attempts.extend(attempts);
        w.discovery.issuer = Some(text);
        w.discovery.as_metadata = found;
        Ok(())
    })
    .await
}

#[then("some AS metadata URL yields a document")]
async fn some_as_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_02_found(w.discovery.as_metadata.is_some(), &w.discovery.tried());
        w.expect(f)
    })
    .await
}

#[then("the AS metadata response is 200 with an application/json object")]
async fn as_metadata_json(w: &mut World) -> Outcome {
    w.step(async |w| {
        let resp = w.discovery.as_found()?.response.clone();
        let f = as_metadata::asm_03_json_object(&resp);
        w.expect(f)
    })
    .await
}

#[then("the metadata issuer equals the issuer identifier exactly")]
async fn issuer_matches(w: &mut World) -> Outcome {
    w.step(async |w| {
        let expected = need(w.discovery.issuer.clone(), "issuer")?;
        let f = as_metadata::asm_04_issuer(&expected, w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("the authorization and token endpoints are absolute URLs without fragments")]
async fn endpoints_absolute(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_06_endpoints(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("response_types_supported includes code and not token")]
async fn response_types(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_07_response_types(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("code_challenge_methods_supported includes S256")]
async fn pkce_methods(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_08_pkce_methods(w.discovery.as_found()?);
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
        let (_, resp, doc) = need(w.discovery.fetched.clone(), "a fetched document")?;
        let f = prm::prm_06_root_document(&w.ctx.target, &resp, doc.as_ref());
        w.expect(f)
    })
    .await
}

#[then("the PRM scopes_supported is a non-empty list without catch-all scopes")]
async fn prm_scopes_supported(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_11_scopes_supported(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then("no PRM member other than bearer_methods_supported is empty")]
async fn prm_no_empty_members(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_12_no_empty_members(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then("the PRM optional members have the types RFC 9728 gives them")]
async fn prm_member_types(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_13_member_types(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then("the PRM bearer_methods_supported, if present, offers the header and not the query")]
async fn prm_bearer_methods(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_14_bearer_methods(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then(
    "the PRM signed_metadata, if present, is a JWS whose payload has iss and no signed_metadata"
)]
async fn prm_signed_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_16_signed_metadata(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then("the AS metadata protected_resources, if present, lists the MCP server URL")]
async fn as_lists_resource(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_17_listed_by_as(&w.ctx.target, w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("the metadata issuer is an https URL without query or fragment")]
async fn issuer_syntax(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_05_issuer_syntax(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

/// The OpenID Connect discovery URLs of an issuer, in the MCP 2025-11-25 order.
fn oidc_candidates(issuer: &Url) -> Vec<Url> {
    let mut out = vec![wellknown::issuer_path_inserted(
        issuer,
        wellknown::OIDC_SUFFIX,
    )];
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
    w.discovery.attempts.extend(attempts);
    Ok(found)
}

#[then("the OpenID Connect metadata, if served, lists code_challenge_methods_supported")]
async fn oidc_lists_pkce(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, issuer) = issuer(w).await?;
        let Some(doc) = fetch_oidc(w, &issuer).await? else {
            return Err(Fault::Skip(format!(
                "the AS serves no OpenID Connect discovery document; tried: {}",
                w.discovery.tried()
            )));
        };
        let f = as_metadata::asm_09_oidc_pkce(&doc);
        w.expect(f)
    })
    .await
}

#[then("registration_endpoint, if present, is an absolute https URL")]
async fn registration_endpoint(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_10_registration_endpoint(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("client_id_metadata_document_supported is the boolean true")]
async fn cimd_advertised(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_11_cimd_advertised(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("no AS metadata member is empty")]
async fn as_no_empty_members(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_12_no_empty_members(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then("every endpoint URL in the AS metadata is https")]
async fn endpoints_https(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_13_endpoints_https(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}

#[then(
    "grant_types_supported is explicit, with authorization_code and without implicit or password"
)]
async fn grant_types(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_14_grant_types(w.discovery.as_found()?);
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
        let f = as_metadata::asm_15_public_clients(w.discovery.as_found()?, public);
        w.expect(f)
    })
    .await
}

#[then(
    "authorization_response_iss_parameter_supported matches whether the authorization response carried iss"
)]
async fn iss_flag_matches(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = need(w.flow.outcome().cloned().ok(), "an authorization response")?;
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
        let f =
            as_metadata::asm_16_iss_advertised(&d.as_metadata.1, outcome.param("iss").is_some());
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
        let url = wellknown::issuer_path_inserted(&issuer, wellknown::OAUTH_AS_SUFFIX);
        let mut attempts = Vec::new();
        let (_, oauth) =
            fetch_document(&w.http, &url, MetadataKind::OAuth.describe(), &mut attempts).await?;
        w.discovery.attempts.extend(attempts);
        let oidc = fetch_oidc(w, &issuer).await?;
        let (Some(oauth), Some(oidc)) = (oauth, oidc) else {
            return Err(Fault::Skip(format!(
                "the AS does not serve both an RFC 8414 and an OpenID Connect document; tried: {}",
                w.discovery.tried()
            )));
        };
        let f = as_metadata::asm_17_documents_agree(&oauth, &oidc);
        w.expect(f)
    })
    .await
}

#[then("every authorization server PRM lists resolves to metadata with its own issuer")]
async fn every_issuer_resolves(w: &mut World) -> Outcome {
    w.step(async |w| {
        let entries = w
            .discovery
            .prm_found()?
            .strings("authorization_servers")
            .unwrap_or_default();
        let mut lookups = Vec::new();
        for entry in entries {
            let Ok(url) = Url::parse(&entry) else {
                lookups.push(as_metadata::IssuerLookup {
                    issuer: entry,
                    document: None,
                    tried: "not a URL (PRM-10)".into(),
                });
                continue;
            };
            let mut attempts = Vec::new();
            let found = discovery::find_as_metadata(&w.http, &url, &mut attempts).await?;
            lookups.push(as_metadata::IssuerLookup {
                issuer: entry,
                document: found.map(|(_, d)| d),
                tried: attempts
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
            w.discovery.attempts.extend(attempts);
        }
        let f = as_metadata::asm_18_every_issuer_resolves(&lookups);
        w.expect(f)
    })
    .await
}

// MCP 2026-07-28: offline_access in PRM (PRM-18), DCR-only registration (ASM-19), and the
// challenge's relation to scopes_supported (SCOPE-02).

#[then("the PRM scopes_supported does not list offline_access (PRM-18)")]
async fn prm_no_offline_access(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = prm::prm_18_no_offline_access(w.discovery.prm_found()?);
        w.expect(f)
    })
    .await
}

#[then(
    "a registration_endpoint, if offered, comes with client ID metadata document support (ASM-19)"
)]
async fn not_dcr_only(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = as_metadata::asm_19_not_dcr_only(w.discovery.as_found()?);
        w.expect(f)
    })
    .await
}
