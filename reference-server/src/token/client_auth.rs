//! Client authentication at the token and revocation endpoints (TOK-06..10, CODE-09).
//!
//! The client presents its credentials one way only (TOK-07): HTTP Basic, or `client_id` (and
//! `client_secret`) in the body. It must use the method it registered (TOK-06, TOK-08); a
//! public client identifies itself with `client_id` (CODE-09). Wrong secrets are throttled
//! (TOK-10).

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::one;
use crate::crypto;
use crate::defects::Defect;
use crate::error::OAuthError;
use crate::params::Params;
use crate::protocol::{self, AuthMethod, GrantType};
use crate::state::SharedState;
use crate::store::Client;

/// TOK-10: wrong secrets a client may present within the configured window
/// ([`Config::failed_secret_window`](crate::config::Config::failed_secret_window)) before the
/// token endpoint stops checking its secret for the rest of the window.
const FAILED_SECRET_LIMIT: u32 = 10;

/// What the client presented to authenticate.
struct Credentials {
    client_id: String,
    secret: Option<String>,
    via_header: bool,
}

/// The client of a token request for `grant_type`: authenticated, or, for a public client,
/// identified.
pub(super) async fn client_of(
    state: &SharedState,
    headers: &HeaderMap,
    params: &Params,
    grant_type: GrantType,
) -> Result<Client, OAuthError> {
    let creds = credentials(state, headers, params).await?;
    // REFRESH-08: a refresh is authenticated like any other grant (the
    // `refresh-without-client-auth` defect only identifies the client).
    if grant_type == GrantType::RefreshToken
        && creds.secret.is_none()
        && state.defect(Defect::RefreshWithoutClientAuth)
    {
        let known = state.store.client(&creds.client_id).await?;
        return known.ok_or_else(|| OAuthError::invalid_client("unknown client"));
    }
    authenticate(state, creds).await
}

/// The client of a revocation request (RFC 7009 §2.1: authenticated like at the token endpoint).
pub(super) async fn revoking_client(
    state: &SharedState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, OAuthError> {
    authenticate(state, credentials(state, headers, params).await?).await
}

/// TOK-07: exactly one way to authenticate. Header credentials are form-encoded (RFC 6749 §2.3.1).
async fn credentials(
    state: &SharedState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Credentials, OAuthError> {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let header_value = auth.next();
    if auth.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let body_id = params
        .one("client_id")
        .map_err(|_| OAuthError::invalid_request("client_id was sent more than once"))?;
    let body_secret = params
        .one("client_secret")
        .map_err(|_| OAuthError::invalid_request("client_secret was sent more than once"))?;
    if let Some(v) = header_value {
        let basic = v
            .to_str()
            .ok()
            .and_then(|s| s.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
        let Some((_, encoded)) = basic else {
            return Err(
                OAuthError::invalid_client("unsupported Authorization scheme")
                    .with_basic_challenge(),
            );
        };
        // TOK-07: Basic and a secret in the body at once is refused.
        if body_secret.is_some() && !state.defect(Defect::TwoAuthMethodsAccepted) {
            return Err(OAuthError::invalid_request(
                "the client used two authentication methods at once",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                OAuthError::invalid_client("malformed Basic credentials").with_basic_challenge()
            })?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| {
            OAuthError::invalid_client("malformed Basic credentials").with_basic_challenge()
        })?;
        let decode = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = (decode(id), decode(secret));
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the Authorization header",
            ));
        }
        return Ok(Credentials {
            client_id: id,
            secret: Some(secret),
            via_header: true,
        });
    }
    // CODE-09: a public client identifies itself with client_id.
    let Some(id) = body_id else {
        let owner = match one(params, "code") {
            Some(c) if state.defect(Defect::PublicClientIdOptional) => {
                state.store.code(c).await?.map(|e| e.client_id)
            }
            _ => None,
        };
        if let Some(owner) = owner {
            return Ok(Credentials {
                client_id: owner,
                secret: None,
                via_header: false,
            });
        }
        return Err(OAuthError::invalid_request("client_id is required"));
    };
    Ok(Credentials {
        client_id: id.to_string(),
        secret: body_secret.map(str::to_owned),
        via_header: false,
    })
}

/// TOK-06, TOK-08: the client must authenticate with the method it registered.
async fn authenticate(state: &SharedState, creds: Credentials) -> Result<Client, OAuthError> {
    // TOK-06: a failed Basic authentication gets 401 with a Basic challenge.
    let fail = |msg: &'static str| {
        let e = OAuthError::invalid_client(msg);
        if creds.via_header && !state.defect(Defect::BasicAuthFailure400) {
            e.with_basic_challenge()
        } else {
            e
        }
    };
    // TOK-08: client_secret_post is accepted.
    if creds.secret.is_some() && !creds.via_header && state.defect(Defect::ClientSecretPostRefused)
    {
        return Err(OAuthError::invalid_request(
            "send the client secret with HTTP Basic",
        ));
    }
    let client = if protocol::is_document_url(&creds.client_id) {
        // A client metadata document client is public: its bindings live in the code and grant.
        Client {
            client_id: creds.client_id.clone(),
            secret: None,
            auth_method: AuthMethod::None,
            redirect_uris: vec![],
            grant_types: [GrantType::AuthorizationCode, GrantType::RefreshToken]
                .map(|g| g.as_str().to_owned())
                .to_vec(),
            client_name: None,
            from_metadata_document: true,
            exact_loopback_port: false,
        }
    } else {
        state
            .store
            .client(&creds.client_id)
            .await?
            .ok_or_else(|| fail("unknown client"))?
    };
    match (
        client.auth_method,
        &client.secret,
        &creds.secret,
        creds.via_header,
    ) {
        (AuthMethod::None, _, None, false) => {}
        (AuthMethod::None, _, _, _) => return Err(fail("this client is public and has no secret")),
        (AuthMethod::ClientSecretBasic, Some(expected), Some(given), true)
        | (AuthMethod::ClientSecretPost, Some(expected), Some(given), false) => {
            // TOK-10: the `basic-secret-always-refused` defect refuses every Basic request,
            // unthrottled, so that a count of refusals alone looks like a lockout.
            if creds.via_header && state.defect(Defect::BasicSecretAlwaysRefused) {
                return Err(fail("client authentication failed"));
            }
            throttle_failed_secrets(state, &client.client_id).await?;
            if !crypto::ct_eq(given, expected) {
                record_failed_secret(state, &client.client_id).await?;
                return Err(fail("client authentication failed"));
            }
        }
        (AuthMethod::ClientSecretBasic, _, _, _) => {
            return Err(OAuthError::invalid_client(
                "this client must authenticate with HTTP Basic",
            )
            .with_basic_challenge());
        }
        (AuthMethod::ClientSecretPost, _, _, _) => {
            return Err(fail("this client must send client_secret in the body"));
        }
    }
    Ok(client)
}

/// TOK-10: a client with too many recent wrong secrets gets 429 before its secret is checked.
async fn throttle_failed_secrets(state: &SharedState, client_id: &str) -> Result<(), OAuthError> {
    if state.defect(Defect::SecretBruteForceUnthrottled) {
        return Ok(());
    }
    let window = state.config.failed_secret_window;
    match state.store.failed_secrets(client_id, window).await? {
        Some((n, left)) if n >= FAILED_SECRET_LIMIT => {
            let retry = left.as_secs().max(1);
            let mut e = OAuthError::invalid_client("too many failed authentications")
                .with_status(StatusCode::TOO_MANY_REQUESTS);
            e.retry_after_secs = Some(retry);
            Err(e)
        }
        _ => Ok(()),
    }
}

async fn record_failed_secret(state: &SharedState, client_id: &str) -> Result<(), OAuthError> {
    state
        .store
        .record_failed_secret(client_id, state.config.failed_secret_window)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_secrets_are_counted_per_client() {
        let mut t = crate::store::Tables::new(10);
        for _ in 0..FAILED_SECRET_LIMIT {
            t.failed_secrets
                .record("c1", std::time::Duration::from_secs(60));
        }
        assert_eq!(
            t.failed_secrets.get("c1").map(|e| e.1),
            Some(FAILED_SECRET_LIMIT)
        );
        assert!(t.failed_secrets.get("another-client").is_none());
    }

    /// A slow burst is still one burst: the count goes on while no pause between two wrong
    /// secrets reaches the window, though the whole burst takes longer than the window.
    #[test]
    fn failed_secrets_are_counted_until_a_window_passes_without_one() {
        let mut t = crate::store::Tables::new(10);
        let window = std::time::Duration::from_secs(1);
        for _ in 0..3 {
            t.failed_secrets.record("c1", window);
            std::thread::sleep(std::time::Duration::from_millis(600));
        }
        assert_eq!(t.failed_secrets.get("c1").map(|e| e.1), Some(3));
    }
}
