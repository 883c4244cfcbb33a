//! Well-known metadata URLs: RFC 9728 §3.1 (PRM), RFC 8414 §3.1 (AS metadata) and OpenID
//! Connect Discovery §4, in the order MCP 2025-11-25 §3 item 5 tries them.

use url::Url;

pub const PRM_SUFFIX: &str = "oauth-protected-resource";
pub const OAUTH_AS_SUFFIX: &str = "oauth-authorization-server";
pub const OIDC_SUFFIX: &str = "openid-configuration";

/// Which kind of metadata document a URL is expected to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataKind {
    /// RFC 8414, path-inserted.
    OAuth,
    /// OpenID Connect Discovery with the issuer path inserted after the suffix.
    OidcInserted,
    /// OpenID Connect Discovery appended to the issuer.
    OidcAppended,
    /// MCP 2025-03-26 without metadata: the default endpoints below the authorization base URL.
    LegacyDefaults,
}

impl MetadataKind {
    pub fn describe(self) -> &'static str {
        match self {
            MetadataKind::OAuth => "RFC 8414 (path inserted)",
            MetadataKind::OidcInserted => "OpenID Connect (path inserted)",
            MetadataKind::OidcAppended => "OpenID Connect (path appended)",
            MetadataKind::LegacyDefaults => "2025-03-26 default endpoints (no metadata)",
        }
    }
}

/// `https://h/p?q` becomes `https://h/.well-known/{suffix}/p?q`: the well-known string goes
/// between the host and the path, and a path of just `/` is dropped first.
pub fn path_inserted(identifier: &Url, suffix: &str) -> Url {
    let mut url = identifier.clone();
    url.set_fragment(None);
    let path = identifier.path();
    let path = if path == "/" { "" } else { path };
    url.set_path(&format!("/.well-known/{suffix}{path}"));
    url
}

/// RFC 8414 §3.1: an issuer's metadata URL. Any terminating `/` of the issuer's path is
/// removed before the well-known string is inserted, so `https://h/t1/` becomes
/// `https://h/.well-known/{suffix}/t1` (RFC 9728's rule for resources drops only a slash
/// right after the host: see [`path_inserted`]).
pub fn issuer_path_inserted(issuer: &Url, suffix: &str) -> Url {
    let mut trimmed = issuer.clone();
    trimmed.set_path(issuer.path().trim_end_matches('/'));
    path_inserted(&trimmed, suffix)
}

/// The root well-known URL of an origin: `https://h/.well-known/{suffix}`.
pub fn root(identifier: &Url, suffix: &str) -> Url {
    let mut url = identifier.clone();
    url.set_fragment(None);
    url.set_query(None);
    url.set_path(&format!("/.well-known/{suffix}"));
    url
}

/// `https://h/t1/` becomes `https://h/t1/.well-known/openid-configuration` (a terminating slash
/// is removed before appending).
pub fn appended(issuer: &Url, suffix: &str) -> Url {
    let mut url = issuer.clone();
    url.set_fragment(None);
    url.set_query(None);
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("{path}/.well-known/{suffix}"));
    url
}

/// The PRM URLs a client tries when the challenge names none: path-inserted, then root. When
/// the resource has no path the two are the same URL and it appears once.
pub fn prm_candidates(resource: &Url) -> Vec<Url> {
    let mut out = vec![path_inserted(resource, PRM_SUFFIX)];
    let r = root(resource, PRM_SUFFIX);
    if !out.contains(&r) {
        out.push(r);
    }
    out
}

/// The AS metadata URLs for an issuer, in order. An issuer with a path gets three; a root issuer
/// gets two.
pub fn as_metadata_candidates(issuer: &Url) -> Vec<(MetadataKind, Url)> {
    let has_path = issuer.path() != "/" && !issuer.path().is_empty();
    let mut out = vec![(
        MetadataKind::OAuth,
        issuer_path_inserted(issuer, OAUTH_AS_SUFFIX),
    )];
    if has_path {
        out.push((
            MetadataKind::OidcInserted,
            issuer_path_inserted(issuer, OIDC_SUFFIX),
        ));
        out.push((MetadataKind::OidcAppended, appended(issuer, OIDC_SUFFIX)));
    } else {
        out.push((MetadataKind::OidcAppended, appended(issuer, OIDC_SUFFIX)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn an_issuer_loses_its_terminating_slash_before_the_well_known_string() {
        // RFC 8414 §3.1.
        let with_slash = as_metadata_candidates(&u("https://h/tenant1/"));
        let without = as_metadata_candidates(&u("https://h/tenant1"));
        assert_eq!(
            with_slash[0].1.as_str(),
            "https://h/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(with_slash, without);
        assert_eq!(
            as_metadata_candidates(&u("https://h/"))[0].1.as_str(),
            "https://h/.well-known/oauth-authorization-server"
        );
        // RFC 9728 §3.1 keeps a resource's terminating slash.
        assert_eq!(
            path_inserted(&u("https://h/mcp/"), PRM_SUFFIX).as_str(),
            "https://h/.well-known/oauth-protected-resource/mcp/"
        );
    }

    #[test]
    fn prm_urls() {
        let table = [
            (
                "https://h/mcp",
                vec![
                    "https://h/.well-known/oauth-protected-resource/mcp",
                    "https://h/.well-known/oauth-protected-resource",
                ],
            ),
            (
                "https://h/",
                vec!["https://h/.well-known/oauth-protected-resource"],
            ),
            (
                "https://h",
                vec!["https://h/.well-known/oauth-protected-resource"],
            ),
            (
                "https://h:8443/a/b/",
                vec![
                    "https://h:8443/.well-known/oauth-protected-resource/a/b/",
                    "https://h:8443/.well-known/oauth-protected-resource",
                ],
            ),
            (
                "https://h/mcp?tenant=1",
                vec![
                    "https://h/.well-known/oauth-protected-resource/mcp?tenant=1",
                    "https://h/.well-known/oauth-protected-resource",
                ],
            ),
        ];
        for (resource, expected) in table {
            let got: Vec<String> = prm_candidates(&u(resource))
                .iter()
                .map(Url::to_string)
                .collect();
            assert_eq!(got, expected, "resource {resource}");
        }
    }

    #[test]
    fn as_metadata_urls() {
        let table = [
            (
                "https://auth.example.com",
                vec![
                    "https://auth.example.com/.well-known/oauth-authorization-server",
                    "https://auth.example.com/.well-known/openid-configuration",
                ],
            ),
            (
                "https://auth.example.com/",
                vec![
                    "https://auth.example.com/.well-known/oauth-authorization-server",
                    "https://auth.example.com/.well-known/openid-configuration",
                ],
            ),
            (
                "https://auth.example.com/tenant1",
                vec![
                    "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                    "https://auth.example.com/.well-known/openid-configuration/tenant1",
                    "https://auth.example.com/tenant1/.well-known/openid-configuration",
                ],
            ),
            (
                "https://auth.example.com/tenant1/",
                vec![
                    // RFC 8414 §3.1: the terminating slash is removed first.
                    "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                    "https://auth.example.com/.well-known/openid-configuration/tenant1",
                    "https://auth.example.com/tenant1/.well-known/openid-configuration",
                ],
            ),
            (
                "http://127.0.0.1:8080/a/b",
                vec![
                    "http://127.0.0.1:8080/.well-known/oauth-authorization-server/a/b",
                    "http://127.0.0.1:8080/.well-known/openid-configuration/a/b",
                    "http://127.0.0.1:8080/a/b/.well-known/openid-configuration",
                ],
            ),
        ];
        for (issuer, expected) in table {
            let got: Vec<String> = as_metadata_candidates(&u(issuer))
                .iter()
                .map(|(_, url)| url.to_string())
                .collect();
            assert_eq!(got, expected, "issuer {issuer}");
        }
    }
}
