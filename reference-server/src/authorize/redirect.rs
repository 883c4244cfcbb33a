//! The authorization response: the redirect back to the client, which carries the code or the
//! error, `state` and `iss` in the query of the redirect URI (the one response mode,
//! [`RESPONSE_MODES`](crate::protocol::RESPONSE_MODES)); with the response-mode variants, in
//! its fragment or in a form POSTed to it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::defects::Defect;
use crate::error::OAuthError;
use crate::pages;
use crate::protocol::ResponseMode;
use crate::state::SharedState;
use crate::variants::Variant;

/// Where an authorization response goes once the redirect URI is trusted (O21 §4.1.2.1).
pub struct Redirect {
    uri: String,
    state: Option<String>,
    /// `None` only with the `iss-missing` defect.
    iss: Option<String>,
    /// Only with the `state-dropped-on-error` defect.
    drop_state_on_error: bool,
    /// Only with the `state-reencoded` defect.
    reencode_state: bool,
    /// Only with the `success-state-repeated` defect.
    repeat_state_on_success: bool,
    /// Only with the `error-description-illegal-characters` defect.
    illegal_description: bool,
    /// The query, but for the response-mode variants.
    mode: ResponseMode,
}

impl Redirect {
    pub fn new(server: &SharedState, uri: String, state: Option<String>) -> Self {
        Redirect {
            uri,
            state,
            // AUTHZ-14, AUTHZ-20: every authorization response carries iss (RFC 9207).
            // The `no-iss-parameter` variant leaves it out, and does not advertise it.
            iss: (!server.defect(Defect::IssMissing)
                && !server.defect(Defect::IssLeftOut)
                && !server.variant(Variant::NoIssParameter))
            .then(|| server.urls.issuer.clone()),
            drop_state_on_error: server.defect(Defect::StateDroppedOnError),
            reencode_state: server.defect(Defect::StateReencoded),
            repeat_state_on_success: server.defect(Defect::SuccessStateRepeated),
            illegal_description: server.defect(Defect::ErrorDescriptionIllegalChars),
            mode: ResponseMode::Query,
        }
    }

    /// The response delivered in `mode` rather than the query (the response-mode variants).
    pub fn in_mode(mut self, mode: ResponseMode) -> Self {
        self.mode = mode;
        self
    }

    /// The redirect with `pairs`, then `state` and `iss`.
    pub fn to(&self, pairs: &[(&str, &str)]) -> Response {
        let mut url = match Url::parse(&self.uri) {
            Ok(u) => u,
            Err(_) => return pages::error(StatusCode::BAD_REQUEST, "invalid redirect URI"),
        };
        let mut all: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let is_error = pairs.iter().any(|(k, _)| *k == "error");
        // AUTHZ-11: state comes back byte-exact, on errors too.
        if let Some(s) = &self.state
            && !(is_error && self.drop_state_on_error)
        {
            if self.reencode_state {
                let twice: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                all.push(("state", twice));
            } else {
                all.push(("state", s.clone()));
            }
            // AUTHZ-12: each parameter at most once.
            if !is_error && self.repeat_state_on_success {
                all.push(("state", s.clone()));
            }
        }
        if let Some(iss) = &self.iss {
            all.push(("iss", iss.clone()));
        }
        match self.mode {
            ResponseMode::Query => {
                url.query_pairs_mut().extend_pairs(&all);
            }
            // Multiple Response Types §2.1: form-encoded in the fragment.
            ResponseMode::Fragment => {
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&all)
                    .finish();
                url.set_fragment(Some(&encoded));
            }
            ResponseMode::FormPost => return pages::form_post(url.as_str(), &all),
        }
        see_other(url.as_str())
    }

    /// An error response, with `state` and `iss` like every other.
    pub fn error(&self, e: OAuthError) -> Response {
        tracing::info!(error = e.code.as_str(), description = %e.description, "authorization error redirected");
        // AUTHZ-18: error_description stays within %x20-21 / %x23-5B / %x5D-7E.
        let description = if self.illegal_description {
            format!("{} (\"refusé\")", e.description)
        } else {
            e.description.to_string()
        };
        self.to(&[
            ("error", e.code.as_str()),
            ("error_description", &description),
        ])
    }
}

/// AUTHZ-16: 303, so that a POST carrying credentials is never replayed at the target.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "invalid redirect URI"),
    }
}

/// AUTHZ-16: the answer to the login form's POST, which carries the password; with the
/// `login-redirect-307` defect a 307, which would make a browser re-send the password.
pub fn after_credentials(state: &SharedState, location: &str) -> Response {
    if state.defect(Defect::LoginRedirect307)
        && let Ok(v) = HeaderValue::from_str(location)
    {
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, v)]).into_response();
    }
    // The `login-302` variant: 302, which user agents follow with GET (a SHOULD-level deviation).
    if state.variant(Variant::Login302)
        && let Ok(v) = HeaderValue::from_str(location)
    {
        return (StatusCode::FOUND, [(header::LOCATION, v)]).into_response();
    }
    see_other(location)
}
