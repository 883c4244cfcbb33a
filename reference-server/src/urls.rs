//! Every URL the server serves or advertises, computed once from the bound origins and the layout.

use serde::Serialize;

use crate::layout::Layout;

/// Paths of the MCP endpoints, each a protected resource of its own.
pub const MCP_PATH: &str = "/mcp";
pub const MCP_ALT_PATH: &str = "/alt/mcp";

pub const WK_AS: &str = "/.well-known/oauth-authorization-server";
pub const WK_OIDC: &str = "/.well-known/openid-configuration";
pub const WK_PRM: &str = "/.well-known/oauth-protected-resource";

/// The URLs printed on the ready line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServerUrls {
    /// The MCP endpoint.
    pub mcp: String,
    /// A second protected resource, for audience tests.
    pub mcp_alt: String,
    pub issuer: String,
    /// The AS metadata document (RFC 8414, or OIDC discovery in the `oidc-only` layout).
    pub as_metadata: String,
    /// The MCP endpoint's protected resource metadata; `null` in the legacy layout.
    pub prm: Option<String>,
    /// With TLS: the absolute path of the CA certificate (PEM) to trust. Absent without TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// With `--replicas N`: the origins of the authorization server's further instances
    /// (`http://127.0.0.1:P`), each serving the AS endpoints at the paths the metadata gives.
    /// Absent without replicas.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
    /// With `--route-header NAME`: NAME, by which the AS listener routes a request to the
    /// instance it numbers (0 the first, 1 to N the further ones). Absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_header: Option<String>,
}

/// All URLs, derived from the layout: advertised ones and the routes that serve them.
#[derive(Debug, Clone)]
pub struct Urls {
    pub layout: Layout,
    /// Origin of the MCP server (`http://127.0.0.1:P`, or `https://` with TLS).
    pub mcp_origin: String,
    /// Origin of the AS (equal to `mcp_origin` except in the `split` layout).
    pub as_origin: String,
    pub issuer: String,
    /// Path prefix of every AS route on the AS origin (the issuer path plus the endpoint prefix).
    pub as_route_prefix: String,
}

impl Urls {
    pub fn new(layout: Layout, mcp_origin: String, as_origin: String) -> Self {
        let issuer = format!("{as_origin}{}", layout.issuer_path());
        let as_route_prefix = format!("{}{}", layout.issuer_path(), layout.endpoint_prefix());
        Urls {
            layout,
            mcp_origin,
            as_origin,
            issuer,
            as_route_prefix,
        }
    }

    /// The `issuer-trailing-slash` variant: the issuer identifier ends in `/`. Every route stays
    /// where it was: RFC 8414 §3.1 removes a terminating slash before inserting the well-known
    /// string, and the endpoints hang off the origin.
    pub fn with_issuer_trailing_slash(mut self, on: bool) -> Self {
        if on && !self.issuer.ends_with('/') {
            self.issuer.push('/');
        }
        self
    }

    pub fn mcp(&self) -> String {
        format!("{}{MCP_PATH}", self.mcp_origin)
    }
    pub fn mcp_alt(&self) -> String {
        format!("{}{MCP_ALT_PATH}", self.mcp_origin)
    }

    /// The route (path) of an AS endpoint, e.g. `authorize` → `/tenant1/oauth2/authorize`.
    pub fn as_route(&self, endpoint: &str) -> String {
        format!("{}/{endpoint}", self.as_route_prefix)
    }
    /// The absolute URL of an AS endpoint.
    pub fn as_endpoint(&self, endpoint: &str) -> String {
        format!("{}{}", self.as_origin, self.as_route(endpoint))
    }

    /// RFC 8414 §3.1: the well-known suffix is inserted between the host and the issuer's path.
    pub fn as_metadata_route(&self) -> String {
        format!("{WK_AS}{}", self.layout.issuer_path())
    }
    /// The OpenID Connect discovery route: path-inserted for an issuer with a path (RFC 8414 §5).
    pub fn oidc_route(&self) -> String {
        format!("{WK_OIDC}{}", self.layout.issuer_path())
    }

    /// RFC 9728 §3.1: the PRM URL of a resource at `path` on the MCP origin.
    pub fn prm_route(resource_path: &str) -> String {
        format!("{WK_PRM}{resource_path}")
    }
    pub fn prm(&self, resource_path: &str) -> String {
        format!("{}{}", self.mcp_origin, Self::prm_route(resource_path))
    }

    /// The URL of the document a client should use to discover the AS.
    pub fn as_metadata(&self) -> String {
        let route = match self.layout {
            Layout::OidcOnly => self.oidc_route(),
            _ => self.as_metadata_route(),
        };
        format!("{}{route}", self.as_origin)
    }

    pub fn printable(&self) -> ServerUrls {
        ServerUrls {
            mcp: self.mcp(),
            mcp_alt: self.mcp_alt(),
            issuer: self.issuer.clone(),
            as_metadata: self.as_metadata(),
            prm: self.layout.publishes_prm().then(|| self.prm(MCP_PATH)),
            ca_cert: None,
            replicas: Vec::new(),
            route_header: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_path_layout_inserts_well_known_before_the_path() {
        let u = Urls::new(
            Layout::IssuerPath,
            "http://127.0.0.1:1".into(),
            "http://127.0.0.1:1".into(),
        );
        assert_eq!(u.issuer, "http://127.0.0.1:1/tenant1");
        assert_eq!(
            u.as_metadata(),
            "http://127.0.0.1:1/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            u.as_endpoint("token"),
            "http://127.0.0.1:1/tenant1/oauth2/token"
        );
        assert_eq!(
            u.prm(MCP_PATH),
            "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn legacy_layout_uses_default_endpoints_and_no_prm() {
        let u = Urls::new(
            Layout::Legacy20250326,
            "http://127.0.0.1:1".into(),
            "http://127.0.0.1:1".into(),
        );
        assert_eq!(u.as_endpoint("authorize"), "http://127.0.0.1:1/authorize");
        assert_eq!(u.printable().prm, None);
    }

    #[test]
    fn oidc_only_layout_points_at_openid_configuration() {
        let u = Urls::new(
            Layout::OidcOnly,
            "http://127.0.0.1:1".into(),
            "http://127.0.0.1:1".into(),
        );
        assert_eq!(
            u.as_metadata(),
            "http://127.0.0.1:1/.well-known/openid-configuration"
        );
    }
}
