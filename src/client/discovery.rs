//! Discovery in the MCP 2025-11-25 order: the 401 challenge, protected resource metadata
//! (RFC 9728), then authorization server metadata (RFC 8414 / OpenID Connect Discovery).
//!
//! Every URL tried is recorded with its outcome. The functions here fetch and parse; whether
//! what came back meets a requirement is for `crate::checks` to say.

use std::fmt;

use serde_json::{Map, Value};
use url::Url;

use super::http::{Http, Request, Response, TransportError};
use super::mcp::{McpClient, Revision};
use super::wellknown::{self, MetadataKind};
use super::www_authenticate::{self, Challenge, ParseError};

/// One URL tried during discovery, and what happened.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub url: Url,
    pub what: String,
    pub outcome: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.what, self.url, self.outcome)
    }
}

/// The unauthenticated MCP request and its challenge.
#[derive(Debug, Clone)]
pub struct Probe {
    pub response: Response,
    pub challenges: Result<Vec<Challenge>, ParseError>,
}

impl Probe {
    pub fn bearer(&self) -> Option<&Challenge> {
        self.challenges
            .as_ref()
            .ok()?
            .iter()
            .find(|c| c.is("Bearer"))
    }

    /// The `resource_metadata` URL of the Bearer challenge, if it parses.
    pub fn resource_metadata(&self) -> Option<Url> {
        self.bearer()
            .and_then(|c| c.param("resource_metadata"))
            .and_then(|u| Url::parse(u).ok())
    }
}

/// How a PRM document was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrmRoute {
    Header,
    PathInserted,
    Root,
}

impl fmt::Display for PrmRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrmRoute::Header => "the challenge's resource_metadata",
            PrmRoute::PathInserted => "the path-inserted well-known URL",
            PrmRoute::Root => "the root well-known URL",
        })
    }
}

/// A fetched metadata document (PRM or AS metadata) that is a JSON object.
#[derive(Debug, Clone)]
pub struct Document {
    pub url: Url,
    pub response: Response,
    pub members: Map<String, Value>,
}

impl Document {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.members.get(name).and_then(Value::as_str)
    }
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.members.get(name).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    }
}

/// GETs a metadata URL and records the attempt. A document is only returned for a 200 whose
/// body is a JSON object.
pub async fn fetch_document(
    http: &Http,
    url: &Url,
    what: &str,
    attempts: &mut Vec<Attempt>,
) -> Result<(Response, Option<Document>), TransportError> {
    let result = http
        .send(Request::get(url.clone()).header("accept", "application/json"))
        .await;
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            attempts.push(Attempt {
                url: url.clone(),
                what: what.to_string(),
                outcome: e.to_string(),
            });
            return Err(e);
        }
    };
    let media = resp
        .media_type()
        .unwrap_or_else(|| "no content type".into());
    let (doc, outcome) = if resp.status.as_u16() == 200 {
        match resp.json_object() {
            Ok(members) => (
                Some(Document {
                    url: url.clone(),
                    response: resp.clone(),
                    members,
                }),
                format!("200 {media}"),
            ),
            Err(e) => (None, format!("200 {media}, unusable: {e}")),
        }
    } else {
        (None, format!("{} {media}", resp.status.as_u16()))
    };
    attempts.push(Attempt {
        url: url.clone(),
        what: what.to_string(),
        outcome,
    });
    Ok((resp, doc))
}

/// Step 1: an MCP request without credentials.
pub async fn probe(mcp: &McpClient) -> Result<Probe, TransportError> {
    let resp = mcp.send(&mcp.opening()).await?.http;
    let challenges = match not_text(&resp, "www-authenticate") {
        Some(at) => Err(ParseError {
            at,
            reason: "a byte outside visible ASCII (the header is not text)",
        }),
        None => www_authenticate::parse_all(resp.header_all("www-authenticate")),
    };
    Ok(Probe {
        response: resp,
        challenges,
    })
}

/// The offset of the first byte of a `name` header that is not visible ASCII, if there is one
/// (such a value is not text, and would otherwise look absent).
fn not_text(resp: &Response, name: &str) -> Option<usize> {
    resp.headers
        .get_all(name)
        .iter()
        .find(|v| v.to_str().is_err())
        .and_then(|v| {
            v.as_bytes()
                .iter()
                .position(|b| !(b.is_ascii_graphic() || *b == b' ' || *b == b'\t'))
        })
}

/// Step 2: PRM from the challenge's URL, else the path-inserted, else the root well-known URL.
pub async fn find_prm(
    http: &Http,
    resource: &Url,
    from_challenge: Option<&Url>,
    attempts: &mut Vec<Attempt>,
) -> Result<Option<(PrmRoute, Document)>, TransportError> {
    let mut candidates: Vec<(PrmRoute, Url)> = Vec::new();
    if let Some(u) = from_challenge {
        candidates.push((PrmRoute::Header, u.clone()));
    }
    let wk = wellknown::prm_candidates(resource);
    for (i, u) in wk.into_iter().enumerate() {
        let route = if i == 0 && resource.path() != "/" {
            PrmRoute::PathInserted
        } else {
            PrmRoute::Root
        };
        if !candidates.iter().any(|(_, c)| *c == u) {
            candidates.push((route, u));
        }
    }
    for (route, url) in candidates {
        if let (_, Some(doc)) = fetch_document(http, &url, "PRM", attempts).await? {
            return Ok(Some((route, doc)));
        }
    }
    Ok(None)
}

/// Step 3: AS metadata for an issuer, trying each well-known URL in order.
pub async fn find_as_metadata(
    http: &Http,
    issuer: &Url,
    attempts: &mut Vec<Attempt>,
) -> Result<Option<(MetadataKind, Document)>, TransportError> {
    for (kind, url) in wellknown::as_metadata_candidates(issuer) {
        if let (_, Some(doc)) = fetch_document(http, &url, kind.describe(), attempts).await? {
            return Ok(Some((kind, doc)));
        }
    }
    Ok(None)
}

/// The endpoints a flow needs, taken from validated AS metadata.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization: Url,
    pub token: Url,
    pub registration: Option<Url>,
    pub revocation: Option<Url>,
    pub jwks: Option<Url>,
    pub scopes_supported: Vec<String>,
    pub protected_resources: Vec<String>,
    pub code_challenge_methods: Vec<String>,
}

/// The outcome of a full discovery.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub resource: Url,
    pub revision: Revision,
    pub probe: Probe,
    pub prm: Option<(PrmRoute, Document)>,
    pub as_metadata: (MetadataKind, Document),
    pub endpoints: Endpoints,
    pub attempts: Vec<Attempt>,
    /// The scopes the flows request: the challenge's `scope`, else PRM `scopes_supported`.
    pub scope: Option<String>,
}

/// Why discovery could not produce endpoints. Each names the requirement it rests on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("PRM-07: no PRM document at any route ({0})")]
    NoPrm(String),
    #[error("PRM-09: PRM resource {actual:?} differs from the MCP URL {expected:?}")]
    ResourceMismatch { expected: String, actual: String },
    #[error("PRM-10: PRM lists no usable authorization server")]
    NoAuthorizationServer,
    #[error("ASM-02: no AS metadata for {issuer} ({tried})")]
    NoAsMetadata { issuer: String, tried: String },
    #[error("ASM-04: the metadata's issuer {actual:?} differs from {expected:?}")]
    IssuerMismatch { expected: String, actual: String },
    #[error("ASM-06: {0}")]
    MissingEndpoint(String),
}

fn tried(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{} → {}", a.url, a.outcome))
        .collect::<Vec<_>>()
        .join("; ")
}

/// MCP 2025-03-26 (LEG-02): `/authorize`, `/token` and `/register` below the authorization
/// base URL, as a document of their own so that the flows read them like metadata.
fn legacy_defaults(base: &Url) -> Document {
    let at = |path: &str| {
        let mut u = base.clone();
        u.set_path(path);
        u.set_query(None);
        Value::String(u.to_string())
    };
    let mut members = Map::new();
    members.insert("authorization_endpoint".into(), at("/authorize"));
    members.insert("token_endpoint".into(), at("/token"));
    members.insert("registration_endpoint".into(), at("/register"));
    Document {
        url: base.clone(),
        response: Response {
            url: base.clone(),
            status: reqwest::StatusCode::NOT_FOUND,
            headers: reqwest::header::HeaderMap::new(),
            body: Vec::new(),
        },
        members,
    }
}

/// The whole chain, strict: a document that fails PRM-09 or ASM-04 is not used.
pub async fn discover(http: &Http, mcp: &McpClient) -> Result<Discovered, DiscoveryError> {
    let resource = mcp.url().clone();
    let revision = mcp.revision();
    let mut attempts = Vec::new();
    let probe = probe(mcp).await?;
    let challenge_scope = probe
        .bearer()
        .and_then(|c| c.param("scope"))
        .map(str::to_string);

    // The target names its metadata and authorization servers: their hosts may be contacted
    // (allowed_hosts' default; a no-op when the profile fixes the list).
    if let Some(u) = probe.resource_metadata() {
        http.hosts().learn(&u);
    }
    let (prm, issuer) = if revision.has_prm() {
        let found = find_prm(
            http,
            &resource,
            probe.resource_metadata().as_ref(),
            &mut attempts,
        )
        .await?;
        let Some((route, doc)) = found else {
            return Err(DiscoveryError::NoPrm(tried(&attempts)));
        };
        let actual = doc.str("resource").unwrap_or_default().to_string();
        if !resource_matches(&resource, &actual) {
            return Err(DiscoveryError::ResourceMismatch {
                expected: resource.to_string(),
                actual,
            });
        }
        let servers: Vec<Url> = doc
            .strings("authorization_servers")
            .unwrap_or_default()
            .iter()
            .filter_map(|s| Url::parse(s).ok())
            .collect();
        for s in &servers {
            http.hosts().learn(s);
        }
        let issuer = servers
            .into_iter()
            .next()
            .ok_or(DiscoveryError::NoAuthorizationServer)?;
        (Some((route, doc)), issuer)
    } else {
        // 2025-03-26: the authorization base URL is the MCP server's origin.
        let mut origin = resource.clone();
        origin.set_path("/");
        origin.set_query(None);
        (None, origin)
    };

    let issuer_text = doc_issuer_text(&issuer, prm.as_ref());
    let found = match find_as_metadata(http, &issuer, &mut attempts).await? {
        Some(found) => Some(found),
        // MCP 2025-03-26: a server without metadata (every URL answers 404) is used through
        // the default endpoints below the authorization base URL.
        None if !revision.has_prm() && attempts.iter().all(|a| a.outcome.starts_with("404")) => {
            Some((MetadataKind::LegacyDefaults, legacy_defaults(&issuer)))
        }
        None => None,
    };
    let Some((kind, meta)) = found else {
        return Err(DiscoveryError::NoAsMetadata {
            issuer: issuer_text,
            tried: tried(&attempts),
        });
    };
    let actual_issuer = meta.str("issuer").unwrap_or_default().to_string();
    if revision.has_prm() && actual_issuer != issuer_text {
        return Err(DiscoveryError::IssuerMismatch {
            expected: issuer_text,
            actual: actual_issuer,
        });
    }
    let url_member = |name: &str| meta.str(name).and_then(|s| Url::parse(s).ok());
    let authorization = url_member("authorization_endpoint").ok_or_else(|| {
        DiscoveryError::MissingEndpoint("authorization_endpoint is missing or not a URL".into())
    })?;
    let token = url_member("token_endpoint").ok_or_else(|| {
        DiscoveryError::MissingEndpoint("token_endpoint is missing or not a URL".into())
    })?;
    let scope = challenge_scope.or_else(|| {
        prm.as_ref()
            .and_then(|(_, d)| d.strings("scopes_supported"))
            .filter(|s| !s.is_empty())
            .map(|s| s.join(" "))
    });
    let endpoints = Endpoints {
        issuer: actual_issuer,
        authorization,
        token,
        registration: url_member("registration_endpoint"),
        revocation: url_member("revocation_endpoint"),
        jwks: url_member("jwks_uri"),
        scopes_supported: meta.strings("scopes_supported").unwrap_or_default(),
        protected_resources: meta.strings("protected_resources").unwrap_or_default(),
        code_challenge_methods: meta
            .strings("code_challenge_methods_supported")
            .unwrap_or_default(),
    };
    Ok(Discovered {
        resource,
        revision,
        probe,
        prm,
        as_metadata: (kind, meta),
        endpoints,
        attempts,
        scope,
    })
}

/// PRM-09: `resource` equals the URL the client used, code point for code point. The one
/// allowance is the URL parser's own: `https://h` and `https://h/` are the same URL.
pub fn resource_matches(requested: &Url, resource: &str) -> bool {
    resource == requested.as_str()
        || (requested.path() == "/"
            && requested.query().is_none()
            && resource == requested.as_str().trim_end_matches('/'))
}

/// The issuer string exactly as PRM listed it (the comparison in ASM-04 is on strings).
fn doc_issuer_text(issuer: &Url, prm: Option<&(PrmRoute, Document)>) -> String {
    prm.and_then(|(_, d)| d.strings("authorization_servers"))
        .and_then(|list| {
            list.into_iter()
                .find(|s| Url::parse(s).ok().as_ref() == Some(issuer))
        })
        .unwrap_or_else(|| issuer.to_string())
}
