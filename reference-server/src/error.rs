//! The one error type of the authorization server. Each error carries its OAuth code, its HTTP status
//! and a public description, and turns into the JSON response of RFC 6749 §5.2 / RFC 7591 §3.2.2.

use std::borrow::Cow;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes_body::Bytes;

/// Re-exported so modules name one body type.
pub mod bytes_body {
    pub use axum::body::Bytes;
}

/// The error codes this server emits. Only codes the specifications define (AUTHZ-18, TOK-01, DCR-05).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 §2.
    InvalidTarget,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2.
    InvalidClientMetadata,
    /// RFC 7009 §2.2.1.
    UnsupportedTokenType,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
        }
    }
}

/// An OAuth error. Built with the constructors below; `into_response` writes the JSON form.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    pub status: StatusCode,
    /// TOK-06: a client that authenticated with the `Authorization` header gets 401 with a Basic challenge.
    pub basic_challenge: bool,
    /// Extra headers, such as `Retry-After` for rate limiting.
    pub retry_after_secs: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: sanitize(description.into()),
            status: match code {
                ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            },
            basic_challenge: false,
            retry_after_secs: None,
        }
    }
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn invalid_target(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidTarget, d)
    }
    pub fn invalid_client_metadata(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClientMetadata, d)
    }
    pub fn invalid_redirect_uri(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRedirectUri, d)
    }
    /// An internal fault: the public description says nothing about it.
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "internal error")
    }
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    /// TOK-06: 401 with `WWW-Authenticate: Basic` for a client that used the header.
    pub fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self.status = StatusCode::UNAUTHORIZED;
        self
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            ErrorCode::InvalidRequest,
            "too many requests from this address",
        )
        .with_status(StatusCode::TOO_MANY_REQUESTS);
        e.retry_after_secs = Some(retry_after_secs);
        e
    }
}

/// AUTHZ-18: `error_description` may only use %x20-21 / %x23-5B / %x5D-7E.
fn sanitize(d: Cow<'static, str>) -> Cow<'static, str> {
    let ok = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
    if d.chars().all(ok) {
        d
    } else {
        Cow::Owned(d.chars().map(|c| if ok(c) { c } else { '?' }).collect())
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        // CODE-01, DCR-13: no error or credential response may be cached.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after_secs {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A request body read under the configured size limit. A rejection (too large, unreadable)
/// becomes an OAuth `invalid_request` instead of axum's plain-text answer.
pub struct LimitedBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for LimitedBody {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(LimitedBody(b)),
            Err(rej) => {
                let status = rej.status();
                Err(
                    OAuthError::invalid_request("the request body could not be read").with_status(
                        if status == StatusCode::PAYLOAD_TOO_LARGE {
                            status
                        } else {
                            StatusCode::BAD_REQUEST
                        },
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_restricted_to_the_allowed_charset() {
        let e = OAuthError::invalid_request("bad \"value\" \\ é");
        assert_eq!(e.description, "bad ?value? ? ?");
    }

    #[tokio::test]
    async fn basic_challenge_gives_401_and_no_store() {
        let resp = OAuthError::invalid_client("wrong secret")
            .with_basic_challenge()
            .into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(
            resp.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    }
}
