//! Dynamic client registration (RFC 7591): a public client with `none`, a loopback redirect
//! URI, and named tampering of the metadata for negative tests.

use serde_json::{Map, Value, json};
use url::Url;

use super::params::TamperedJson;

use super::http::{Http, Request, Response, TransportError};
use super::ratelimit::Retry;
use super::redact::Secret;

/// Client metadata to register. Valid by construction; changed only through
/// [`Registration::tamper`] and [`Registration::omit`].
#[derive(Debug, Clone)]
pub struct Registration {
    body: TamperedJson,
}

impl Registration {
    /// The DCR-01 body: a public client (`none`, sent explicitly because RFC 7591 defaults to
    /// `client_secret_basic`) using the code and refresh grants. With a loopback redirect URI
    /// it says it is a native app (`application_type: "native"`): MCP 2026-07-28 (reg §3.1)
    /// asks clients for it, earlier revisions allow it (RFC 7591 §2: the metadata is
    /// extensible), and without it an AS following OpenID Connect Registration §2 takes the
    /// client for a web client, whose loopback redirect URIs get no port allowance.
    pub fn public_client(redirect_uri: &Url) -> Self {
        let mut members = json!({
            "redirect_uris": [redirect_uri.as_str()],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "mcp-oauth-conformance",
        });
        if is_loopback_http(redirect_uri) {
            members["application_type"] = Value::String("native".into());
        }
        Registration {
            body: TamperedJson::from_valid(members),
        }
    }

    /// A confidential client of the code grant authenticating with `client_secret_basic`
    /// (DCR-03, DCR-13: the AS issues it a secret).
    pub fn confidential_client(redirect_uri: &Url) -> Self {
        Registration::confidential_client_using(redirect_uri, "client_secret_basic")
    }

    /// A confidential client of the code grant authenticating with `method`
    /// (`client_secret_basic` or `client_secret_post`): TOK-06..08, REFRESH-08.
    pub fn confidential_client_using(redirect_uri: &Url, method: &str) -> Self {
        let mut members = Registration::public_client(redirect_uri).body.to_value();
        members["token_endpoint_auth_method"] = Value::String(method.into());
        Registration {
            body: TamperedJson::from_valid(members),
        }
    }

    /// A confidential client of the `client_credentials` grant alone, authenticating with
    /// `method`: no redirect URI and no response type (RFC 7591 §2.1), TOK-08.
    pub fn client_credentials_client(method: &str) -> Self {
        let members = json!({
            "token_endpoint_auth_method": method,
            "grant_types": ["client_credentials"],
            "response_types": [],
            "client_name": "mcp-oauth-conformance",
        });
        Registration {
            body: TamperedJson::from_valid(members),
        }
    }

    /// A public client declaring its `application_type` (MCP 2026-07-28 reg §3.1: a client
    /// registering through DCR MUST send one; OpenID Connect Registration §2 defines the
    /// values `native` and `web`), registered for `redirect_uris`.
    pub fn public_client_of_type(application_type: &str, redirect_uris: &[Url]) -> Self {
        let uris: Vec<&str> = redirect_uris.iter().map(Url::as_str).collect();
        let members = json!({
            "application_type": application_type,
            "redirect_uris": uris,
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "mcp-oauth-conformance",
        });
        Registration {
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

    pub async fn send(&self, http: &Http, endpoint: &Url) -> Result<Response, TransportError> {
        // Registering again only makes another client: safe to send again after a limit.
        http.send(
            Request::post(endpoint.clone())
                .header("accept", "application/json")
                .json(self.body.to_value())
                .retry(Retry::Idempotent),
        )
        .await
    }
}

/// An `http` redirect URI on a loopback host: what a native app listens on (RFC 8252 §7.3).
fn is_loopback_http(u: &Url) -> bool {
    u.scheme() == "http"
        && match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// A registered client, as the registration response described it.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_uri: Url,
    pub token_endpoint_auth_method: String,
    /// The `application_type` the registration response states, if any (what the AS applied,
    /// which may differ from what was sent, RFC 7591 §3.2.1). `None` for clients not
    /// registered here.
    pub application_type: Option<String>,
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
            application_type: body
                .get("application_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Whether the AS said it registered this client as a web client (OpenID Connect
    /// Registration §2), to which the any-port rule for loopback redirect URIs of native apps
    /// (RFC 8252 §7.3, OAuth 2.1 §8.4.2) does not apply.
    pub fn is_web_client(&self) -> bool {
        self.application_type.as_deref() == Some("web")
    }

    /// This client presenting `secret` instead of the one it was issued: a wrong secret, named
    /// as such where a scenario uses it (TOK-06, TOK-08, TOK-10).
    pub fn with_secret(&self, secret: Secret) -> Self {
        RegisteredClient {
            client_secret: Some(secret),
            ..self.clone()
        }
    }

    /// Whether the token endpoint wants HTTP Basic for this client.
    pub fn uses_basic(&self) -> bool {
        self.client_secret.is_some() && self.token_endpoint_auth_method == "client_secret_basic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_client_registers_as_native_and_reads_the_type_the_as_applied() {
        let loopback = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        let reg = Registration::public_client(&loopback);
        assert_eq!(reg.members()["application_type"], "native");
        let https = Url::parse("https://client.example/cb").expect("url");
        assert!(
            !Registration::public_client(&https)
                .members()
                .contains_key("application_type")
        );
        let resp = |body: &str| crate::checks::testing::json(201, body);
        let web = RegisteredClient::from_response(
            &resp(r#"{"client_id":"c","application_type":"web"}"#),
            &loopback,
        )
        .expect("client");
        assert!(web.is_web_client());
        let native = RegisteredClient::from_response(
            &resp(r#"{"client_id":"c","application_type":"native"}"#),
            &loopback,
        )
        .expect("client");
        assert!(!native.is_web_client());
        let unstated = RegisteredClient::from_response(&resp(r#"{"client_id":"c"}"#), &loopback)
            .expect("client");
        assert!(!unstated.is_web_client());
    }
}
