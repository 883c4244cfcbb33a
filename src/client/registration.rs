//! Dynamic client registration (RFC 7591): a public client with `none`, a loopback redirect
//! URI, and named tampering of the metadata for negative tests.

use serde_json::{Map, Value, json};
use url::Url;

use super::http::{Http, Request, Response, TransportError};
use super::redact::Secret;

/// Client metadata to register. Valid by construction; changed only through
/// [`Registration::tamper`] and [`Registration::omit`].
#[derive(Debug, Clone)]
pub struct Registration {
    members: Map<String, Value>,
    tampering: Vec<String>,
}

impl Registration {
    /// The DCR-01 body: a public client (`none`, sent explicitly because RFC 7591 defaults to
    /// `client_secret_basic`) using the code and refresh grants.
    pub fn public_client(redirect_uri: &Url) -> Self {
        let members = json!({
            "redirect_uris": [redirect_uri.as_str()],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "mcp-oauth-conformance",
        });
        Registration {
            members: members.as_object().cloned().unwrap_or_default(),
            tampering: Vec::new(),
        }
    }

    pub fn tamper(mut self, member: &str, value: Value) -> Self {
        self.members.insert(member.to_string(), value);
        self.tampering.push(format!("{member} replaced"));
        self
    }

    pub fn omit(mut self, member: &str) -> Self {
        self.members.remove(member);
        self.tampering.push(format!("{member} omitted"));
        self
    }

    pub fn members(&self) -> &Map<String, Value> {
        &self.members
    }

    pub fn tampering(&self) -> &[String] {
        &self.tampering
    }

    pub async fn send(&self, http: &Http, endpoint: &Url) -> Result<Response, TransportError> {
        http.send(
            Request::post(endpoint.clone())
                .header("accept", "application/json")
                .json(Value::Object(self.members.clone())),
        )
        .await
    }
}

/// A registered client, as the registration response described it.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_uri: Url,
    pub token_endpoint_auth_method: String,
}

impl RegisteredClient {
    /// Reads a 201 response. `None` when it holds no usable `client_id`.
    pub fn from_response(resp: &Response, redirect_uri: &Url) -> Option<Self> {
        let body = resp.json_object().ok()?;
        let client_id = body.get("client_id")?.as_str()?.to_string();
        if client_id.is_empty() {
            return None;
        }
        Some(RegisteredClient {
            client_id,
            client_secret: body
                .get("client_secret")
                .and_then(Value::as_str)
                .map(Secret::new),
            redirect_uri: redirect_uri.clone(),
            token_endpoint_auth_method: body
                .get("token_endpoint_auth_method")
                .and_then(Value::as_str)
                .unwrap_or("client_secret_basic")
                .to_string(),
        })
    }

    /// Whether the token endpoint wants HTTP Basic for this client.
    pub fn uses_basic(&self) -> bool {
        self.client_secret.is_some() && self.token_endpoint_auth_method == "client_secret_basic"
    }
}
