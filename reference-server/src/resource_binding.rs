//! Resource indicators (RFC 8707; RES-*): which protected resource a token is for.

use url::Url;

use crate::defects::Defect;
use crate::error::OAuthError;
use crate::state::SharedState;

/// The `resource` of an authorization or token request: one absolute URI without a fragment
/// (RES-03), naming a resource this server serves (RES-04), compared with the served ones
/// case-insensitively in scheme and host (RES-07). Without one, the primary MCP server is the
/// default audience (RES-05). The result is the audience of every token of the grant (RES-02).
pub fn check_resource(state: &SharedState, values: &[String]) -> Result<String, OAuthError> {
    let raw = match values {
        // RES-05: the default audience.
        [] => return Ok(state.urls.mcp()),
        // RES-02 broken on purpose: the requested audience is ignored.
        [_] if state.defect(Defect::ResourceIgnored) => return Ok(state.urls.mcp()),
        [one] => one,
        // RES-09: one resource per request.
        _ => {
            return Err(OAuthError::invalid_target(
                "only one resource per request is supported",
            ));
        }
    };
    // RES-03: an absolute URI.
    let url = match Url::parse(raw) {
        Ok(u) => u,
        Err(_) if state.defect(Defect::InvalidTargetAccepted) => return Ok(state.urls.mcp()),
        Err(_) => {
            return Err(OAuthError::invalid_target(
                "resource must be an absolute URI",
            ));
        }
    };
    // RES-03: no fragment.
    let fragment = url.fragment().is_some() || raw.contains('#');
    if fragment && state.defect(Defect::InvalidTargetAccepted) {
        return Ok(state.urls.mcp());
    }
    if fragment {
        return Err(OAuthError::invalid_target(
            "resource must not contain a fragment",
        ));
    }
    // RES-04, RES-07: a resource this server serves; the URL parser folds scheme and host case.
    [state.urls.mcp(), state.urls.mcp_alt()]
        .into_iter()
        .find(|served| Url::parse(served).is_ok_and(|s| s == url))
        .ok_or_else(|| OAuthError::invalid_target("this server does not serve that resource"))
}
