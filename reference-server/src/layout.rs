//! Where the authorization server lives relative to the MCP server: the reference server's
//! layouts, each a deployment shape the specifications allow.

/// Where the authorization server lives relative to the MCP server, and how it is discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Layout {
    /// AS and MCP server on one origin; the issuer is the origin.
    #[default]
    SameOrigin,
    /// The AS on its own port, so on an origin of its own.
    Split,
    /// The issuer has a path (`/tenant1`); metadata only at the path-inserted well-known URLs.
    IssuerPath,
    /// No RFC 8414 document: the AS is found only through OpenID Connect discovery.
    OidcOnly,
    /// MCP 2025-03-26: no PRM, metadata at the MCP origin, endpoints `/authorize`, `/token`, `/register`.
    #[value(name = "legacy-2025-03-26")]
    Legacy20250326,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::SameOrigin => "same-origin",
            Layout::Split => "split",
            Layout::IssuerPath => "issuer-path",
            Layout::OidcOnly => "oidc-only",
            Layout::Legacy20250326 => "legacy-2025-03-26",
        }
    }

    /// The path the issuer carries (empty for a root issuer).
    pub fn issuer_path(self) -> &'static str {
        match self {
            Layout::IssuerPath => "/tenant1",
            _ => "",
        }
    }

    /// The MCP revisions the server speaks: only 2025-03-26 in that revision's layout.
    pub fn mcp_versions(self) -> &'static [&'static str] {
        match self {
            Layout::Legacy20250326 => &["2025-03-26"],
            _ => crate::mcp::SUPPORTED_VERSIONS,
        }
    }

    /// Whether protected resource metadata (RFC 9728) is published at all.
    pub fn publishes_prm(self) -> bool {
        self != Layout::Legacy20250326
    }

    /// Where the AS endpoints sit below the issuer.
    pub fn endpoint_prefix(self) -> &'static str {
        match self {
            // LEG-02: the 2025-03-26 default endpoints.
            Layout::Legacy20250326 => "",
            _ => "/oauth2",
        }
    }
}
