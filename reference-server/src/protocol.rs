//! The protocol values this server supports, in one place: the discovery metadata advertises
//! exactly these, and the endpoints enforce exactly these, so that what the server says and what
//! it does cannot drift apart (ASM-07, ASM-08, ASM-14, ASM-15).
//!
//! A leaf module: it imports nothing of the crate.

use url::Url;

/// A grant type the token endpoint serves (ASM-14: listed explicitly; neither the implicit
/// nor the password grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// The grant type of a `grant_type` value, if this server serves it (TOK-03).
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// `grant_types_supported`.
pub const GRANT_TYPES: [&str; 3] = [
    GrantType::AuthorizationCode.as_str(),
    GrantType::RefreshToken.as_str(),
    GrantType::ClientCredentials.as_str(),
];

/// The grant types a client gets when it names none (RFC 7591 §2).
pub const DEFAULT_GRANT_TYPES: [&str; 1] = [GrantType::AuthorizationCode.as_str()];

/// The one response type: the authorization code flow (AUTHZ-05, AUTHZ-06, ASM-07).
pub const RESPONSE_TYPE_CODE: &str = "code";
/// `response_types_supported`.
pub const RESPONSE_TYPES: [&str; 1] = [RESPONSE_TYPE_CODE];

/// The one response mode: authorization responses go in the redirect URI's query.
pub const RESPONSE_MODE_QUERY: &str = "query";
/// `response_modes_supported`.
pub const RESPONSE_MODES: [&str; 1] = [RESPONSE_MODE_QUERY];

/// How an authorization response reaches the redirect URI (OAuth 2.0 Multiple Response Type
/// Encoding Practices §2.1). Only the query but for the response-mode variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ResponseMode {
    #[default]
    Query,
    /// In the fragment: the default mode of response types that contain `token` (§5).
    Fragment,
    /// POSTed to the redirect URI by an auto-submitting form (Form Post Response Mode §2).
    FormPost,
}

impl ResponseMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => RESPONSE_MODE_QUERY,
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }

    pub fn parse(s: &str) -> Option<ResponseMode> {
        [
            ResponseMode::Query,
            ResponseMode::Fragment,
            ResponseMode::FormPost,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// The default mode of a response type (Multiple Response Types §2.1, §5): the fragment
    /// when it names `token` or `id_token`, else the query.
    pub fn default_for(response_type: &str) -> ResponseMode {
        if response_type
            .split(' ')
            .any(|t| t == "token" || t == "id_token")
        {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }
}

/// The one PKCE method (PKCE-03, PKCE-04, ASM-08).
pub const PKCE_S256: &str = "S256";
/// Never accepted: only the `plain-accepted-unadvertised` defect takes it (PKCE-11).
pub const PKCE_PLAIN: &str = "plain";
/// `code_challenge_methods_supported`.
pub const CODE_CHALLENGE_METHODS: [&str; 1] = [PKCE_S256];

/// The scopes this server knows. `mcp:read` is granted when none is asked for, and every MCP
/// request needs it; `mcp:write` unlocks the `admin` tool.
pub const SCOPE_READ: &str = "mcp:read";
pub const SCOPE_WRITE: &str = "mcp:write";
/// `scopes_supported`, in the AS metadata and in protected resource metadata.
pub const SCOPES_SUPPORTED: [&str; 2] = [SCOPE_READ, SCOPE_WRITE];
/// Never listed in PRM (PRM-18) nor offered in a challenge (SCOPE-09); only defects do.
pub const SCOPE_OFFLINE_ACCESS: &str = "offline_access";

/// How a resource server takes a bearer token: from the `Authorization` header only, never from
/// the query or the body (RS-09; `bearer_methods_supported`, PRM-14).
pub const BEARER_METHODS: [&str; 1] = ["header"];

/// How a client authenticates at the token endpoint (`token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    /// Every method this server accepts: `none` because public clients are (ASM-15).
    pub const ALL: [AuthMethod; 3] = [
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        AuthMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// `token_endpoint_auth_methods_supported` and `revocation_endpoint_auth_methods_supported`.
pub const AUTH_METHODS: [&str; 3] = [
    AuthMethod::None.as_str(),
    AuthMethod::ClientSecretBasic.as_str(),
    AuthMethod::ClientSecretPost.as_str(),
];

/// The scheme every redirect URI and client ID URL may use.
pub const HTTPS: &str = "https";
/// The scheme allowed only on a loopback host (DCR-11, SEC-02).
pub const HTTP: &str = "http";
/// The one host name that counts as loopback (beside the loopback IP literals).
pub const LOOPBACK_DOMAIN: &str = "localhost";

/// `127.0.0.1` (any 127/8 address), `[::1]` or `localhost`.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case(LOOPBACK_DOMAIN),
        None => false,
    }
}

/// DCR-06 / DCR-11 / SEC-02: a redirect URI must be https, or http on a loopback host, and have
/// no fragment. Private-use schemes are refused too (DCR-10). Registration, client ID metadata
/// documents and pre-registered clients all apply this rule.
pub fn check_redirect_uri(raw: &str) -> Result<Url, String> {
    let url =
        Url::parse(raw).map_err(|_| format!("redirect URI {raw:?} is not an absolute URI"))?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err(format!("redirect URI {raw:?} has a fragment"));
    }
    match url.scheme() {
        HTTPS if url.host().is_some() => Ok(url),
        HTTP if is_loopback_host(&url) => Ok(url),
        HTTP => Err(format!(
            "redirect URI {raw:?} uses http on a host that is not loopback"
        )),
        _ => Err(format!(
            "redirect URI {raw:?} must use https, or http on a loopback host"
        )),
    }
}

/// CIMD-01: a `client_id` that is an http(s) URL names a client ID metadata document rather
/// than a registered client.
pub fn is_document_url(client_id: &str) -> bool {
    [HTTPS, HTTP].iter().any(|scheme| {
        client_id
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.starts_with("://"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_lists_name_what_the_types_parse() {
        for g in GRANT_TYPES {
            assert_eq!(GrantType::parse(g).map(GrantType::as_str), Some(g));
        }
        for m in AUTH_METHODS {
            assert_eq!(AuthMethod::parse(m).map(AuthMethod::as_str), Some(m));
        }
        assert_eq!(GrantType::parse("password"), None);
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(AuthMethod::parse("private_key_jwt"), None);
        assert!(!CODE_CHALLENGE_METHODS.contains(&PKCE_PLAIN));
        assert!(!SCOPES_SUPPORTED.contains(&SCOPE_OFFLINE_ACCESS));
    }

    #[test]
    fn redirect_uris_must_be_https_or_loopback_http_without_fragment() {
        for ok in [
            "https://c.example/cb",
            "http://127.0.0.1:3000/cb",
            "http://[::1]:3000/cb",
            "http://localhost:3000/cb",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "https://c.example/cb#frag",
            "/cb",
            "not a uri",
            "myapp:/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn document_urls_are_http_or_https_urls() {
        assert!(is_document_url("https://client.example/c.json"));
        assert!(is_document_url("http://127.0.0.1:1/c.json"));
        assert!(!is_document_url("client-1"));
        assert!(!is_document_url("httpsclient"));
    }
}
