//! Scope (SCOPE-*): what an authorization or token request may ask for.

use crate::error::OAuthError;
use crate::protocol::{SCOPE_READ, SCOPES_SUPPORTED};

/// SCOPE-08: every requested scope must be known (`invalid_scope` otherwise); without `scope`,
/// `mcp:read` is granted. Duplicates are dropped.
pub fn check_scope(requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    check_scope_in(requested, &SCOPES_SUPPORTED)
}

/// [`check_scope`] against the scopes `known` (the AS metadata's `scopes_supported`, which
/// a variant may widen).
pub fn check_scope_in(requested: Option<&str>, known: &[&str]) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = requested else {
        return Ok(vec![SCOPE_READ.to_string()]);
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in raw.split(' ').filter(|s| !s.is_empty()) {
        if !known.contains(&s) {
            return Err(OAuthError::invalid_scope(format!("unknown scope {s}")));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("no scope requested"));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn scopes_must_be_known() {
        assert_eq!(check_scope(None).unwrap(), vec!["mcp:read"]);
        assert_eq!(check_scope(Some("mcp:read mcp:write")).unwrap().len(), 2);
        assert_eq!(
            check_scope(Some("mcp:read mcp:read")).unwrap(),
            vec!["mcp:read"]
        );
        assert_eq!(
            check_scope(Some("mcp:read harness-nonexistent"))
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            check_scope(Some("")).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
