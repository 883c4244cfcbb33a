//! The authorization endpoint's checks, each a small function enforcing one rule.
//!
//! The first two, on the client and the redirect URI, answer with a page: until both are
//! trusted nothing is redirected (AUTHZ-04). The others return the OAuth error that is then
//! redirected with `state` and `iss`.

use axum::http::StatusCode;
use axum::response::Response;
use url::Url;

use super::redirect::Redirect;
use crate::defects::Defect;
use crate::error::{ErrorCode, OAuthError};
use crate::pages;
use crate::params::Params;
use crate::protocol::{self, GrantType, HTTP, RESPONSE_TYPE_CODE};
use crate::scope;
use crate::state::SharedState;
use crate::store::Client;
use crate::variants::{Variant, offered};

/// The parameters the authorization endpoint reads (AUTHZ-09: any other is ignored).
const KNOWN_PARAMETERS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

/// One authorization request's parameters. `params` has dropped empty values (AUTHZ-08); the
/// raw query is read again only by defects.
pub struct AuthorizationRequest<'q> {
    pub params: Params,
    query: &'q str,
    /// Only with the `repeated-parameters-accepted` defect: a repeated parameter's first value
    /// is used.
    first_of_repeated: bool,
    /// Only with the `empty-parameters-kept` defect: the parameters sent without a value.
    sent_empty: Vec<String>,
}

impl<'q> AuthorizationRequest<'q> {
    pub fn parse(state: &SharedState, query: &'q str) -> Self {
        let sent_empty = if state.defect(Defect::EmptyParametersKept) {
            url::form_urlencoded::parse(query.as_bytes())
                .filter(|(_, v)| v.is_empty())
                .map(|(k, _)| k.into_owned())
                .collect()
        } else {
            Vec::new()
        };
        AuthorizationRequest {
            params: Params::parse(query.as_bytes()),
            query,
            first_of_repeated: state.defect(Defect::RepeatedParametersAccepted),
            sent_empty,
        }
    }

    /// The value of a parameter read after [`check_no_repeated_parameter`].
    pub fn one(&self, name: &str) -> Option<&str> {
        match self.params.one(name) {
            Ok(v) => v,
            Err(_) if self.first_of_repeated => self.params.all(name).first().map(String::as_str),
            Err(_) => None,
        }
    }

    /// Whether `name` was sent without a value (known only with the `empty-parameters-kept`
    /// defect; otherwise such a parameter counts as omitted).
    pub fn sent_empty(&self, name: &str) -> bool {
        self.sent_empty.iter().any(|e| e == name)
    }

    /// `state`, to send back (AUTHZ-11).
    pub fn state(&self) -> Option<String> {
        self.params.one("state").ok().flatten().map(str::to_owned)
    }
}

/// Refuses with a page, never a redirect.
/// The page of a request the store could not serve.
fn unavailable(e: OAuthError) -> Response {
    pages::error(StatusCode::SERVICE_UNAVAILABLE, &e.description)
}

fn refuse(message: impl AsRef<str>) -> Response {
    tracing::info!(
        reason = message.as_ref(),
        "authorization request refused without redirect"
    );
    pages::error(StatusCode::BAD_REQUEST, message.as_ref())
}

/// AUTHZ-04: an unusable client is shown a page, never redirected (with the
/// `redirects-unknown-client-errors` defect, the error goes to whatever redirect_uri was sent).
fn refuse_client(
    state: &SharedState,
    req: &AuthorizationRequest,
    message: impl AsRef<str>,
) -> Response {
    // Client ID metadata documents have defects of their own (CIMD-*).
    let document_client =
        matches!(req.params.one("client_id"), Ok(Some(id)) if protocol::is_document_url(id));
    if state.defect(Defect::RedirectsUnknownClientErrors)
        && !document_client
        && let Ok(Some(uri)) = req.params.one("redirect_uri")
        && Url::parse(uri).is_ok()
    {
        return Redirect::new(state, uri.to_string(), req.state()).error(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            message.as_ref().to_string(),
        ));
    }
    refuse(message)
}

/// The client: a registered one, or one whose client ID metadata document can be fetched and
/// used (CIMD-01..11). AUTHZ-04: a missing or unknown client gets a page, never a redirect.
pub async fn check_client(
    state: &SharedState,
    req: &AuthorizationRequest<'_>,
) -> Result<Client, Box<Response>> {
    let client_id = match req.params.one("client_id") {
        Ok(Some(id)) => id,
        Ok(None) => return Err(Box::new(refuse_client(state, req, "client_id is missing"))),
        Err(_) => return Err(Box::new(refuse("client_id was sent more than once"))),
    };
    let documents = !state.variant(Variant::NoClientIdMetadataDocuments);
    let found = if documents && protocol::is_document_url(client_id) {
        // CIMD-01: the document is fetched when the client_id is a URL.
        let redirect_uri = req.params.one("redirect_uri").ok().flatten();
        state.cimd.client(client_id, redirect_uri).await
    } else {
        match state.store.client(client_id).await {
            Ok(found) => found.ok_or_else(|| "unknown client_id".to_string()),
            Err(e) => return Err(Box::new(unavailable(e))),
        }
    };
    found.map_err(|why| Box::new(refuse_client(state, req, why)))
}

/// The redirect URI the response goes to, and whether the request named it.
pub struct RedirectTarget {
    pub uri: String,
    pub sent: bool,
}

/// The redirect URI: one of the client's, compared exactly (AUTHZ-02) but for the port of a
/// loopback IP literal (AUTHZ-03); a metadata document client's must be listed in its document
/// (CIMD-03). Without one, the client's only redirect URI. AUTHZ-04: a failure gets a page,
/// never a redirect.
pub fn check_redirect_uri(
    state: &SharedState,
    req: &AuthorizationRequest<'_>,
    client: &Client,
) -> Result<RedirectTarget, Box<Response>> {
    let refused = |message: &str| Err(Box::new(refuse(message)));
    match req.params.one("redirect_uri") {
        Ok(Some(r))
            if client
                .redirect_uris
                .iter()
                .any(|reg| redirect_allowed(state, client, reg, r))
                // CIMD-03: only the document's own redirect URIs.
                || (client.from_metadata_document
                    && state.defect(Defect::CimdRedirectUriUnlisted)) =>
        {
            Ok(RedirectTarget {
                uri: r.to_string(),
                sent: true,
            })
        }
        Ok(Some(_)) => refused("redirect_uri is not registered for this client"),
        Ok(None) if client.redirect_uris.len() == 1 => Ok(RedirectTarget {
            uri: client.redirect_uris[0].clone(),
            sent: false,
        }),
        // AUTHZ-04: with several registered, the request must say which.
        Ok(None)
            if state.defect(Defect::RedirectUriDefaulted) && !client.redirect_uris.is_empty() =>
        {
            Ok(RedirectTarget {
                uri: client.redirect_uris[0].clone(),
                sent: false,
            })
        }
        Ok(None) => refused("redirect_uri is required when several are registered"),
        Err(_) => refused("redirect_uri was sent more than once"),
    }
}

/// AUTHZ-02 / AUTHZ-03: exact string match, except that a loopback IP literal redirect URI may
/// use any port (O21 §8.4.2). `localhost` gets no such allowance.
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (
        strip_loopback_port(registered),
        strip_loopback_port(requested),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// [`redirect_matches`], as the server's defects bend it.
fn redirect_allowed(
    state: &SharedState,
    client: &Client,
    registered: &str,
    requested: &str,
) -> bool {
    // AUTHZ-03 broken on purpose: the loopback port must match too. A web client's must
    // (`application-type-default-web` variant; RFC 8252 §7.3 allows any port to native apps).
    if state.defect(Defect::LoopbackPortFixed) || client.exact_loopback_port {
        return registered == requested;
    }
    // AUTHZ-02 broken on purpose: a prefix, or a loose loopback comparison, is enough.
    redirect_matches(registered, requested)
        || (state.defect(Defect::RedirectPrefixMatch) && requested.starts_with(registered))
        || (state.defect(Defect::LoopbackRedirectLooselyMatched)
            && loosely_equal_loopback(registered, requested))
}

/// Only for the `loopback-redirect-loosely-matched` defect: both loopback, same path but for case.
fn loosely_equal_loopback(registered: &str, requested: &str) -> bool {
    match (Url::parse(registered), Url::parse(requested)) {
        (Ok(a), Ok(b)) => {
            protocol::is_loopback_host(&a)
                && protocol::is_loopback_host(&b)
                && a.path().eq_ignore_ascii_case(b.path())
                && a.query() == b.query()
        }
        _ => false,
    }
}

/// `http://127.0.0.1:P/rest` → `http://127.0.0.1/rest`; `None` unless the host is a loopback IP literal.
fn strip_loopback_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix(HTTP)?.strip_prefix("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() =>
        {
            h
        }
        _ if authority.ends_with(']') || !authority.contains(':') => authority,
        _ => return None,
    };
    let ip: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    ip.is_loopback().then(|| format!("http://{host}{tail}"))
}

/// AUTHZ-07: no parameter may repeat (except `resource`, RFC 8707 §2).
pub fn check_no_repeated_parameter(req: &AuthorizationRequest<'_>) -> Result<(), OAuthError> {
    match req.params.first_repeated(&["resource"]) {
        Some(rep) if !req.first_of_repeated => Err(OAuthError::invalid_request(format!(
            "parameter {} was sent more than once",
            rep.0
        ))),
        _ => Ok(()),
    }
}

/// AUTHZ-09: a parameter the server does not know is ignored.
pub fn check_unknown_parameters(
    state: &SharedState,
    req: &AuthorizationRequest<'_>,
) -> Result<(), OAuthError> {
    if state.defect(Defect::UnknownParameterRefused)
        && let Some((unknown, _)) = url::form_urlencoded::parse(req.query.as_bytes())
            .find(|(k, _)| !KNOWN_PARAMETERS.contains(&k.as_ref()))
    {
        return Err(OAuthError::invalid_request(format!(
            "unknown parameter {unknown}"
        )));
    }
    Ok(())
}

/// AUTHZ-05: `response_type` is required; AUTHZ-06: only `code`, anything else gets
/// `unsupported_response_type`.
pub fn check_response_type(
    state: &SharedState,
    req: &AuthorizationRequest<'_>,
) -> Result<(), OAuthError> {
    match req.one("response_type") {
        None if state.defect(Defect::ResponseTypeDefaulted) => Ok(()),
        None => Err(OAuthError::invalid_request("response_type is missing")),
        Some(RESPONSE_TYPE_CODE) => Ok(()),
        Some(_) if state.defect(Defect::ResponseTypeWrongError) => Err(
            OAuthError::invalid_request("only response_type=code is supported"),
        ),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

/// The client must be registered for the code grant (RFC 6749 §4.1.2.1: `unauthorized_client`).
pub fn check_code_grant(client: &Client) -> Result<(), OAuthError> {
    if client.allows_grant(GrantType::AuthorizationCode) {
        return Ok(());
    }
    Err(OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "this client is not registered for the authorization_code grant",
    ))
}

/// SCOPE-08: an unknown scope is refused with `invalid_scope`.
pub fn check_requested_scope(
    state: &SharedState,
    req: &AuthorizationRequest<'_>,
) -> Result<Vec<String>, OAuthError> {
    let requested = req.one("scope").or(req.sent_empty("scope").then_some(""));
    scope::check_scope_in(requested, &offered::scopes_supported(state)).map_err(|e| {
        if state.defect(Defect::UnknownScopeWrongError) {
            OAuthError::invalid_request(e.description.clone())
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_loopback_ip_ports() {
        let reg = "http://127.0.0.1:5000/callback";
        assert!(redirect_matches(reg, reg));
        assert!(redirect_matches(reg, "http://127.0.0.1:6000/callback"));
        assert!(redirect_matches(reg, "http://127.0.0.1/callback"));
        assert!(redirect_matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        for bad in [
            "http://127.0.0.1:5000/callback/",
            "http://127.0.0.1:5000/callback/x",
            "http://127.0.0.1:5000/callback?a=1",
            "http://127.0.0.1:5000/Callback",
            "http://localhost:5000/callback",
            "https://127.0.0.1:5000/callback",
            "http://127.0.0.2:5000/callback",
        ] {
            assert!(!redirect_matches(reg, bad), "{bad}");
        }
        assert!(!redirect_matches(
            "http://localhost:1/cb",
            "http://localhost:2/cb"
        ));
        assert!(!redirect_matches(
            "https://c.example/cb",
            "https://c.example/cb/"
        ));
    }
}
