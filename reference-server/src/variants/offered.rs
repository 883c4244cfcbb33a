//! What the server offers, as the variants of grants, features and response modes bend it:
//! one place that both the discovery metadata and the endpoints read, so that what the server
//! advertises cannot contradict what it does.

use super::Variant;
use crate::defects::Defect;
use crate::protocol::{
    GRANT_TYPES, GrantType, RESPONSE_MODES, ResponseMode, SCOPE_OFFLINE_ACCESS, SCOPES_SUPPORTED,
};
use crate::state::SharedState;

/// Whether the token endpoint serves `grant` (TOK-03: one it does not gets
/// `unsupported_grant_type`).
pub fn grant_offered(state: &SharedState, grant: GrantType) -> bool {
    match grant {
        GrantType::AuthorizationCode => true,
        GrantType::RefreshToken => !state.variant(Variant::NoRefreshTokens),
        GrantType::ClientCredentials => !state.variant(Variant::NoClientCredentials),
    }
}

/// `grant_types_supported`: the grants [`grant_offered`] lets through.
pub fn grant_types_supported(state: &SharedState) -> Vec<&'static str> {
    GRANT_TYPES
        .into_iter()
        .filter(|g| GrantType::parse(g).is_some_and(|g| grant_offered(state, g)))
        .collect()
}

/// Whether a grant of `scope`, whose client may refresh, gets a refresh token.
pub fn refresh_token_issued(state: &SharedState, scope: &[String]) -> bool {
    // REFRESH-13: what grant_types_supported advertises is issued.
    if state.defect(crate::defects::Defect::RefreshAdvertisedNeverIssued) {
        return false;
    }
    grant_offered(state, GrantType::RefreshToken)
        && (!state.variant(Variant::RefreshOnlyWithOfflineAccess)
            || scope.iter().any(|s| s == SCOPE_OFFLINE_ACCESS))
}

/// The scopes an authorization or refresh request may name: the AS metadata's
/// `scopes_supported` (never the PRM's: PRM-18). A server whose 401 challenge asks for
/// `offline_access` (a defect, SCOPE-09) supports it too.
pub fn scopes_supported(state: &SharedState) -> Vec<&'static str> {
    let mut scopes = SCOPES_SUPPORTED.to_vec();
    if state.variant(Variant::RefreshOnlyWithOfflineAccess)
        || state.defect(Defect::UnauthenticatedChallengeOffersOfflineAccess)
    {
        scopes.push(SCOPE_OFFLINE_ACCESS);
    }
    scopes
}

/// `response_modes_supported`.
pub fn response_modes_supported(state: &SharedState) -> Vec<&'static str> {
    if state.variant(Variant::ResponseModesAdvertised) {
        [
            ResponseMode::Query,
            ResponseMode::Fragment,
            ResponseMode::FormPost,
        ]
        .map(ResponseMode::as_str)
        .to_vec()
    } else {
        RESPONSE_MODES.to_vec()
    }
}

/// Whether the metadata names a revocation endpoint and the server serves it.
pub fn revocation_offered(state: &SharedState) -> bool {
    !state.variant(Variant::NoRevocationEndpoint)
}

/// The mode of an authorization response: the one `response_mode` asks for, where the
/// `response-modes-advertised` variant serves it; else, for an error to a response type whose
/// default mode is the fragment, the fragment with the `token-errors-in-fragment` variant;
/// else the query.
pub fn response_mode(
    state: &SharedState,
    response_type: Option<&str>,
    requested: Option<&str>,
    is_error: bool,
) -> ResponseMode {
    if state.variant(Variant::ResponseModesAdvertised)
        && let Some(mode) = requested.and_then(ResponseMode::parse)
    {
        return mode;
    }
    match response_type.map(ResponseMode::default_for) {
        Some(ResponseMode::Fragment)
            if is_error && state.variant(Variant::TokenErrorsInFragment) =>
        {
            ResponseMode::Fragment
        }
        _ => ResponseMode::Query,
    }
}
