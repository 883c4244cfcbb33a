//! The harness's own client ID metadata document server (draft-ietf-oauth-client-id-metadata-
//! document): a loopback HTTP server on a port of its own that serves, at paths a scenario
//! chooses, a valid document or a deliberately broken answer, and records every fetch.
//!
//! A valid document comes from [`MetadataDocument::public_client`]; a broken one only from
//! named tampering ([`MetadataDocument::tamper`], [`MetadataDocument::omit`]) or from a
//! [`Served`] answer that is not a document at all.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

use super::params::TamperedJson;

/// Client metadata to serve as a document. Valid by construction; changed only through
/// [`MetadataDocument::tamper`] and [`MetadataDocument::omit`].
#[derive(Debug, Clone)]
pub struct MetadataDocument {
    body: TamperedJson,
}

impl MetadataDocument {
    /// A public client of the code grant (MCP 2025-11-25 §5.1.1: `client_id`, `client_name`
    /// and `redirect_uris` at least; `none`, since a document cannot hold a shared secret).
    pub fn public_client(client_id: &str, redirect_uri: &Url) -> Self {
        let members = json!({
            "client_id": client_id,
            "client_name": "mcp-oauth-conformance",
            "redirect_uris": [redirect_uri.as_str()],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        MetadataDocument {
            body: TamperedJson::from_valid(members),
        }
    }

    pub fn tamper(mut self, member: &str, value: Value) -> Self {
        self.body = self.body.tamper(member, value);
        self
    }

    pub fn omit(mut self, member: &str) -> Self {
        self.body = self.body.omit(member);
        self
    }

    pub fn members(&self) -> &Map<String, Value> {
        self.body.members()
    }

    pub fn tampering(&self) -> &[String] {
        self.body.tampering()
    }

    pub fn to_value(&self) -> Value {
        self.body.to_value()
    }
}

/// What the server answers at one path.
#[derive(Debug, Clone)]
pub enum Served {
    /// 200, `application/json`, the document (with `Cache-Control` when given).
    Document {
        document: MetadataDocument,
        cache_control: Option<String>,
    },
    /// Any status, media type and body: error statuses, non-JSON, oversized documents. The
    /// body is shared, not copied, by each fetch that is served it.
    Raw {
        status: u16,
        content_type: String,
        body: axum::body::Bytes,
    },
    /// 302 to another URL.
    Redirect(String),
}

impl Served {
    pub fn document(document: MetadataDocument) -> Self {
        Served::Document {
            document,
            cache_control: None,
        }
    }

    pub fn status(status: u16) -> Self {
        Served::Raw {
            status,
            content_type: "text/plain".into(),
            body: format!("status {status}").into(),
        }
    }

    pub fn raw(content_type: &str, body: impl Into<axum::body::Bytes>) -> Self {
        Served::Raw {
            status: 200,
            content_type: content_type.into(),
            body: body.into(),
        }
    }

    /// One line for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Served::Document { document, .. } if document.tampering().is_empty() => {
                "a valid document".into()
            }
            Served::Document { document, .. } => {
                format!("a document with {}", document.tampering().join(", "))
            }
            Served::Raw {
                status,
                content_type,
                body,
            } => format!("{status} {content_type} ({} bytes)", body.len()),
            Served::Redirect(to) => format!("a 302 redirect to {to}"),
        }
    }
}

/// One GET the server answered.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub path: String,
    pub at: Instant,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct Routes {
    served: HashMap<String, Served>,
    fetches: Vec<Fetch>,
}

type Shared = Arc<Mutex<Routes>>;

/// The run's document server: one port on 127.0.0.1 for every scenario's documents, each
/// scenario under a path of its own ([`DocumentHost::scenario`]), so every client_id URL is
/// new to the authorization server. Dropping it stops it.
pub struct DocumentHost {
    origin: String,
    routes: Shared,
    task: JoinHandle<()>,
    /// The scenarios given a path so far.
    scenarios: AtomicUsize,
}

impl std::fmt::Debug for DocumentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentHost")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Drop for DocumentHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DocumentHost {
    /// Binds a free port on 127.0.0.1 and serves nothing yet (404 everywhere).
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let routes: Shared = Arc::default();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(routes.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(DocumentHost {
            origin: format!("http://{addr}"),
            routes,
            task,
            scenarios: AtomicUsize::new(0),
        })
    }

    /// A scenario's documents: under a path no other scenario of the run has (`/c1`, `/c2`,
    /// ...). What it served there goes when it is dropped.
    pub fn scenario(self: &Arc<Self>) -> DocumentServer {
        let n = self.scenarios.fetch_add(1, Ordering::Relaxed) + 1;
        DocumentServer {
            host: Arc::clone(self),
            prefix: format!("/c{n}"),
        }
    }
}

/// One scenario's documents on the run's [`DocumentHost`]: [`DocumentServer::url`] and
/// [`DocumentServer::path`] name a path under the scenario's own; [`DocumentServer::serve`] and
/// [`DocumentServer::fetches`] take the whole path, so that a scenario can also serve at the
/// origin's root (a client_id without a path).
pub struct DocumentServer {
    host: Arc<DocumentHost>,
    prefix: String,
}

impl std::fmt::Debug for DocumentServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentServer")
            .field("origin", &self.host.origin)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Drop for DocumentServer {
    fn drop(&mut self) {
        let prefix = format!("{}/", self.prefix);
        self.lock()
            .served
            .retain(|path, _| !path.starts_with(&prefix));
    }
}

impl DocumentServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn origin(&self) -> &str {
        &self.host.origin
    }

    /// The whole path of `path` (which starts with `/`) under the scenario's own.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The URL of `path` (which starts with `/`) under the scenario's own path, as a string,
    /// exactly as a client_id carries it.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.host.origin, self.prefix)
    }

    /// Serves `what` at the whole path `path` from now on (replacing what was served there).
    pub fn serve(&self, path: &str, what: Served) {
        self.lock().served.insert(path.to_string(), what);
    }

    /// The fetches of the whole path `path` so far.
    pub fn fetches(&self, path: &str) -> Vec<Fetch> {
        self.lock()
            .fetches
            .iter()
            .filter(|f| f.path == path)
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.host.routes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn answer(State(routes): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let served = {
        let mut r = routes.lock().unwrap_or_else(|e| e.into_inner());
        r.fetches.push(Fetch {
            path: path.clone(),
            at: Instant::now(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        r.served.get(&path).cloned()
    };
    match served {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Served::Document {
            document,
            cache_control,
        }) => {
            let mut resp = (
                [(header::CONTENT_TYPE, "application/json")],
                document.to_value().to_string(),
            )
                .into_response();
            if let Some(cc) = cache_control.and_then(|c| c.parse().ok()) {
                resp.headers_mut().insert(header::CACHE_CONTROL, cc);
            }
            resp
        }
        Some(Served::Raw {
            status,
            content_type,
            body,
        }) => Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Some(Served::Redirect(to)) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
    }
}

/// A fresh public JWK set (one P-256 key) for a `private_key_jwt` document's `jwks_uri`. The
/// private half is dropped: the scenarios using it never authenticate.
pub fn public_jwks() -> Result<Value, String> {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| "cannot generate a P-256 key".to_string())?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| "cannot read the generated P-256 key".to_string())?;
    // An uncompressed point: 0x04, then x and y, 32 octets each.
    let point = pair.public_key().as_ref();
    if point.len() != 65 {
        return Err("unexpected P-256 public key length".into());
    }
    Ok(json!({"keys": [{
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "use": "sig",
        "alg": "ES256",
        "kid": "harness-1",
    }]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_valid_document_names_itself_and_lists_the_redirect_uri() {
        let r = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        let d = MetadataDocument::public_client("https://c.example/doc.json", &r);
        assert_eq!(d.members()["client_id"], "https://c.example/doc.json");
        assert_eq!(d.members()["redirect_uris"], json!([r.as_str()]));
        assert_eq!(d.members()["token_endpoint_auth_method"], "none");
        assert!(d.members().contains_key("client_name"));
        let t = d.omit("client_name").tamper("client_id", json!("x"));
        assert_eq!(t.tampering(), ["client_name omitted", "client_id replaced"]);
        assert!(
            Served::document(t)
                .describe()
                .contains("client_id replaced")
        );
    }

    #[test]
    fn the_jwks_holds_one_p256_key() {
        let jwks = public_jwks().expect("jwks");
        let key = &jwks["keys"][0];
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["x"].as_str().map(str::len), Some(43));
        assert!(key.get("d").is_none(), "no private part");
    }

    #[tokio::test]
    async fn the_server_serves_documents_and_records_fetches() {
        reference_server::install_crypto_provider();
        let host = Arc::new(DocumentHost::start().await.expect("start"));
        let s = host.scenario();
        let r = Url::parse("http://127.0.0.1:1/cb").expect("url");
        s.serve(
            &s.path("/doc.json"),
            Served::document(MetadataDocument::public_client(&s.url("/doc.json"), &r)),
        );
        s.serve(&s.path("/gone"), Served::status(404));
        let client = reqwest::Client::new();
        let doc: Value = client
            .get(s.url("/doc.json"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["client_id"], s.url("/doc.json"));
        let gone = client.get(s.url("/gone")).send().await.expect("get");
        assert_eq!(gone.status().as_u16(), 404);
        assert_eq!(s.fetches(&s.path("/doc.json")).len(), 1);
        assert_eq!(s.fetches(&s.path("/gone")).len(), 1);
        assert!(s.fetches(&s.path("/other")).is_empty());
        // Another scenario's paths are its own: its URLs differ, and nothing of the first is
        // served there; the first scenario's documents go with it.
        let other = host.scenario();
        assert_ne!(other.url("/doc.json"), s.url("/doc.json"));
        let url = s.url("/doc.json");
        drop(s);
        let gone = client.get(&url).send().await.expect("get");
        assert_eq!(gone.status().as_u16(), 404);
        let never = client
            .get(other.url("/doc.json"))
            .send()
            .await
            .expect("get");
        assert_eq!(never.status().as_u16(), 404);
    }
}
