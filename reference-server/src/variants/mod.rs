//! Named variants: switches that each turn on one behaviour the specifications allow and real
//! servers show, so that the conformance suite can be shown to *pass* for each. A defect proves
//! that a check is sensitive; a variant proves that it is specific.
//!
//! Each variant is named after the behaviour it switches on and says what it changes and
//! which specification text allows it. A variant that is itself a SHOULD-level deviation names
//! the requirements on which it may draw a warning; on every other requirement it must draw
//! nothing, and no variant may draw a failure or an error. The switch sits where the behaviour
//! changes (`state.variant(Variant::X)`), exactly like a defect's; behaviours that shape every
//! response (rate limits, extra members, headers) sit in one response layer ([`shapes`]).
//! `Config::default()` has none.

pub mod offered;
pub mod shapes;

use std::collections::BTreeSet;
use std::fmt;

macro_rules! variants {
    ($(
        $variant:ident = $name:literal, [$($warn:ident),* $(,)?], $what:literal,
        allowed_by: $allowed:literal;
    )+) => {
        /// One named variant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Variant {
            $( #[doc = $what] $variant, )+
        }

        impl Variant {
            /// Every variant, in the order of the table.
            pub const ALL: &'static [Variant] = &[ $( Variant::$variant, )+ ];

            /// The name used on the command line (`--variant NAME`).
            pub fn name(self) -> &'static str {
                match self { $( Variant::$variant => $name, )+ }
            }

            /// The requirements on which this variant may draw a warning, because it is itself
            /// a SHOULD-level deviation on them. Empty for most.
            pub fn may_warn(self) -> &'static [req::Id] {
                match self { $( Variant::$variant => &[$(req::$warn),*], )+ }
            }

            /// What the server does differently with this variant on.
            pub fn description(self) -> &'static str {
                match self { $( Variant::$variant => $what, )+ }
            }

            /// The specification text that allows the behaviour.
            pub fn allowed_by(self) -> &'static str {
                match self { $( Variant::$variant => $allowed, )+ }
            }
        }
    };
}

variants! {
    // Rate limits and unavailability: never a verdict on the target.
    RateLimitRegistration = "rate-limit-registration", [],
        "the registration endpoint answers 429 with Retry-After and RateLimit headers beyond 10 registrations a window (a minute; the self-test uses a short window)",
        allowed_by: "RFC 6585 §4 (429 Too Many Requests, Retry-After); RFC 7591 leaves abuse protection to the server";
    RateLimitToken = "rate-limit-token", [],
        "the token endpoint answers 429 with Retry-After and RateLimit headers beyond 30 requests a window",
        allowed_by: "RFC 6585 §4; OAuth 2.1 §7 (an AS may throttle its endpoints)";
    RateLimitAuthorization = "rate-limit-authorization", [],
        "the authorization endpoint answers 429 with Retry-After beyond 30 requests a window",
        allowed_by: "RFC 6585 §4";
    MetadataUnavailableOnce = "metadata-unavailable-once", [],
        "every metadata document answers its first request with 503 and Retry-After: 1, then normally",
        allowed_by: "RFC 9110 §15.6.4 (503 Service Unavailable with Retry-After)";

    // Documents and error responses: members and headers the specifications leave open.
    ExtraMembers = "extra-members", [],
        "every OAuth JSON document (metadata, PRM, registration, token and error responses) carries an extra member the client does not know",
        allowed_by: "RFC 8414 §3.2, RFC 9728 §3.2, RFC 7591 §3.2.1, RFC 6749 §5.1 (the client MUST ignore unrecognized value names)";
    NoErrorDescription = "no-error-description", [],
        "error responses, JSON and redirected, leave out error_description",
        allowed_by: "RFC 6749 §4.1.2.1, §5.2 and RFC 7591 §3.2.2: error_description is OPTIONAL";
    ErrorUri = "error-uri", [],
        "error responses, JSON and redirected, carry an error_uri",
        allowed_by: "RFC 6749 §4.1.2.1 and §5.2: error_uri is OPTIONAL";
    MetadataCacheControl = "metadata-cache-control", [],
        "metadata documents are served with Cache-Control: public, max-age=3600",
        allowed_by: "RFC 9111 (caching); RFC 8414 and RFC 9728 say nothing against it";
    ConnectionClose = "connection-close", [],
        "the server closes the connection after every response (Connection: close)",
        allowed_by: "RFC 9112 §9.6 (either side may close a connection after a response)";

    // Response modes, and grants and features not offered.
    TokenErrorsInFragment = "token-errors-in-fragment", [],
        "an authorization error for a response type that contains token (the implicit grant's) goes in the fragment of the redirect URI, that response type's default response mode",
        allowed_by: "RFC 6749 §4.2.2.1 (implicit grant errors in the fragment); OAuth 2.0 Multiple Response Type Encoding Practices §2.1, §5 (default response modes)";
    ResponseModesAdvertised = "response-modes-advertised", [],
        "response_modes_supported lists query, fragment and form_post, and an authorization request with response_mode=fragment or form_post is answered in that mode; without response_mode, the query as before",
        allowed_by: "OAuth 2.0 Multiple Response Type Encoding Practices §2.1 (response_mode); OAuth 2.0 Form Post Response Mode §2; RFC 8414 §2 (response_modes_supported)";
    NoClientCredentials = "no-client-credentials", [],
        "the client_credentials grant is not offered: grant_types_supported leaves it out and the token endpoint answers it with unsupported_grant_type",
        allowed_by: "RFC 6749 §5.2 (unsupported_grant_type: a grant type the AS does not support); RFC 8414 §2 (grant_types_supported); OAuth 2.1 §4.2 is optional for an AS";
    NoRefreshTokens = "no-refresh-tokens", [],
        "no refresh tokens at all: grant_types_supported leaves refresh_token out, no token response carries one, and a refresh_token grant gets unsupported_grant_type",
        allowed_by: "RFC 6749 §1.5 and OAuth 2.1 §1.3.2 (issuing a refresh token is optional at the discretion of the AS); RFC 6749 §5.1 (refresh_token OPTIONAL)";
    RefreshOnlyWithOfflineAccess = "refresh-only-with-offline-access", [],
        "refresh tokens only for a grant whose scope includes offline_access, which the AS metadata's scopes_supported lists (the PRM does not)",
        allowed_by: "OpenID Connect Core §11 (offline_access); RFC 6749 §1.5 (issuing a refresh token is at the discretion of the AS); MCP 2026-07-28 §10 (offline_access is the AS's, not a resource requirement)";
    NoRevocationEndpoint = "no-revocation-endpoint", [],
        "no RFC 7009 revocation endpoint: the metadata has no revocation_endpoint and the route is gone",
        allowed_by: "RFC 8414 §2 (revocation_endpoint OPTIONAL); RFC 7009 is an extension an AS may not implement";
    RegistrationNeedsInitialAccessToken = "registration-needs-initial-access-token", [],
        "the registration endpoint requires an initial access token: a registration without one gets 401 with a Bearer challenge",
        allowed_by: "RFC 7591 §3 (the registration endpoint MAY be protected by an initial access token; errors as in RFC 6750 §3.1)";
    NoDynamicRegistration = "no-dynamic-registration", [],
        "no dynamic client registration: the metadata has no registration_endpoint and the route is gone; clients are registered beforehand (the embedded run and the self-test configure one, as a profile's [client] client_id would)",
        allowed_by: "RFC 8414 §2 (registration_endpoint OPTIONAL); MCP 2025-06-18 and later: authorization servers SHOULD support dynamic registration, and clients may use pre-registered client information";
    NoClientIdMetadataDocuments = "no-client-id-metadata-documents", [ASM_11],
        "client ID metadata documents are not supported: the metadata leaves client_id_metadata_document_supported out, and a URL client_id is an unknown client like any other (a SHOULD-level deviation: ASM-11 warns)",
        allowed_by: "MCP 2025-11-25 §Client Registration Approaches (client ID metadata documents, pre-registration and dynamic registration are alternatives; SHOULD, not MUST, support CIMD); CIMD draft §5 (client_id_metadata_document_supported OPTIONAL)";
    RegistrationUnavailableOnce = "registration-unavailable-once", [],
        "the registration endpoint answers its first request with 503 and Retry-After: 1, then normally",
        allowed_by: "RFC 9110 §15.6.4 (503 Service Unavailable with Retry-After); RFC 7591 §3 (registration is idempotent to the client: a second one just makes another client)";
    // Token formats, client kinds, and error codes the RFCs leave open.
    TokenTypeLowercase = "token-type-lowercase", [],
        "token responses write token_type in lower case (`bearer`)",
        allowed_by: "RFC 6749 §5.1 and §7.1, OAuth 2.1 §3.2.3: the token type value is case insensitive";
    ScopeOmitted = "scope-omitted", [],
        "token responses leave out scope when the granted scope is the one requested",
        allowed_by: "RFC 6749 §5.1: scope is OPTIONAL if identical to the scope requested by the client (OAuth 2.1 §3.2.3)";
    AudArray = "aud-array", [],
        "access tokens carry aud as an array holding the resource",
        allowed_by: "RFC 7519 §4.1.3: aud is an array of case-sensitive strings, or a single string; RFC 9068 §2.2";
    AccessTokensSelfContained = "access-tokens-self-contained", [],
        "the MCP server validates access tokens locally (signature, issuer, audience, expiry) and does not see revocations made at the AS",
        allowed_by: "RFC 9068 §1 (self-contained JWT access tokens validated by the RS); RFC 7009 §2.2 (a propagation delay); OAuth 2.1 §4.1.3 (revoke \"when possible\")";
    RevocationUnsupportedTokenType = "revocation-unsupported-token-type", [],
        "the revocation endpoint revokes refresh tokens only and answers unsupported_token_type for access tokens",
        allowed_by: "RFC 7009 §2.2.1 (unsupported_token_type: the AS does not support the revocation of the presented token type)";
    ApplicationTypeDefaultWeb = "application-type-default-web", [],
        "a registration without application_type makes a web client, whose loopback redirect URIs match exactly, port included; only native clients may use any port",
        allowed_by: "OpenID Connect Dynamic Client Registration 1.0 §2 (application_type defaults to web); RFC 8252 §7.3, OAuth 2.1 §8.4.2 (any port for native apps)";
    DcrSubstitutesMetadata = "dcr-substitutes-metadata", [],
        "the registration endpoint replaces client_name, provisions a scope when none was asked for, and echoes the values it applied",
        allowed_by: "RFC 7591 §3.2.1: the AS MAY reject or replace any of the client's requested metadata values, and returns all registered metadata, including fields it provisioned";
    RedirectUriErrorsInvalidClientMetadata = "redirect-uri-errors-invalid-client-metadata", [],
        "a bad or missing redirect_uris member is refused with invalid_client_metadata instead of invalid_redirect_uri",
        allowed_by: "RFC 7591 §3.2.2 defines both codes; invalid_client_metadata covers any metadata field, redirect_uris included";
    OpaqueAccessTokens = "opaque-access-tokens", [],
        "access tokens are opaque random strings the MCP server looks up at the AS; an RFC 7662 introspection endpoint is advertised",
        allowed_by: "RFC 6749 §1.4 (an access token is usually opaque to the client); RFC 7662 (token introspection); OAuth 2.1 §1.4";
    VerifierErrorsInvalidGrant = "verifier-errors-invalid-grant", [],
        "a missing or malformed code_verifier is refused with invalid_grant instead of invalid_request",
        allowed_by: "RFC 6749 §5.2: invalid_grant covers an authorization grant that is invalid or does not match; RFC 7636 §4.6; OAuth 2.1 §4.1.3";
    // Login and consent shapes, discovery shapes and transport shapes: what the login pages
    // look like is the server's own business; discovery and MCP framing have allowed options.
    ConsentRemembered = "consent-remembered", [],
        "a returning client skips the consent page: once the user approved a client for a resource and scopes, a later request asking for no more goes from login straight to the redirect",
        allowed_by: "OAuth 2.1 §4.1.1 and RFC 6749 §4.1.1 (how the AS obtains the authorization decision is beyond the specification; remembered consent is common practice, OAuth 2.1 §7.5)";
    LoginContinuePage = "login-continue-page", [],
        "after the login POST, an interstitial page (\"You are signed in\", a Continue button) comes before the consent page",
        allowed_by: "OAuth 2.1 §4.1.1 (the AS authenticates the resource owner by means it chooses)";
    Login302 = "login-302", [AUTHZ_16],
        "the login POST is answered with 302 Found instead of 303 See Other (a SHOULD-level deviation: AUTHZ-16 warns)",
        allowed_by: "OAuth 2.1 §7.5.4 (MUST NOT 307; SHOULD 303); RFC 9110 §15.4.3 (user agents change POST to GET on 302)";
    LoginHiddenInputs = "login-hidden-inputs", [],
        "the login form carries extra hidden inputs (an anti-CSRF token bound to a cookie, a form ID) that the POST must return, or the login is refused",
        allowed_by: "OAuth 2.1 §4.1.1, §7.12 (CSRF protection of the AS's own pages is its business)";
    LoginNeedsScripts = "login-needs-scripts", [],
        "the login form has no action in the HTML (its script gives it one), so a native submission goes back to the authorization endpoint, which answers 405, as on a login UI whose submission is handled by scripts",
        allowed_by: "OAuth 2.1 §4.1.1 (the AS authenticates the resource owner by means it chooses)";
    LoginOtherOrigin = "login-other-origin", [],
        "the authorization endpoint sends the user to a login page on another origin (the same server under the host name localhost), where login and consent happen before the redirect to the client",
        allowed_by: "RFC 6749 §3.1 (how the AS authenticates the resource owner is beyond its scope); RFC 6749 §3.1.2 and OAuth 2.1 §4.1.1 (the user-agent may be redirected by the AS before the final redirect to the client)";
    PrmRootOnly = "prm-root-only", [PRM_05],
        "the MCP endpoint's protected resource metadata is served only at the root well-known URL, which the 401 challenge's resource_metadata names (the same behaviour as the defect prm-not-path-inserted, whose only finding must be PRM-05's warning)",
        allowed_by: "MCP 2025-11-25 §Protected Resource Metadata Discovery (a well-known URI at the path or at the root, or the WWW-Authenticate header); RFC 9728 §5.1 (resource_metadata); RFC 9728 §3.1 expects the path-inserted URL, hence PRM-05's warning";
    IssuerTrailingSlash = "issuer-trailing-slash", [],
        "the issuer identifier ends in a slash (http://host:port/); the metadata stays at the well-known URL with the terminating slash removed, and the issuer is compared as the exact string",
        allowed_by: "RFC 8414 §2 (issuer: https URL with no query or fragment), §3.1 (a terminating \"/\" is removed before inserting the well-known string), §3.3 (identical issuer)";
    NoIssParameter = "no-iss-parameter", [],
        "authorization responses carry no iss, and the metadata does not advertise authorization_response_iss_parameter_supported",
        allowed_by: "RFC 9207 §2 (the AS supporting it includes iss; §3 the metadata says so); MCP 2025-03-26..2025-11-25 do not require it";
    McpSseResponses = "mcp-sse-responses", [],
        "the MCP server answers every POST as a text/event-stream whenever the client accepts it, rather than as application/json",
        allowed_by: "MCP Streamable HTTP (2025-03-26, 2025-06-18, 2025-11-25 basic/transports §Sending Messages to the Server: the server either returns Content-Type: text/event-stream or application/json; the client MUST support both)";
    McpNoSession = "mcp-no-session", [],
        "under the 2025 revisions the MCP server assigns no Mcp-Session-Id at initialize and answers later requests without one",
        allowed_by: "MCP Streamable HTTP 2025-03-26..2025-11-25 §Session Management (a server using the Streamable HTTP transport MAY assign a session ID)";
    // Grants: what an authorization server keeps alive, and for how long.
    OneActiveGrant = "one-active-grant", [],
        "one active grant per user and client: approving a new authorization ends the user's earlier grant with that client, its refresh tokens and access tokens revoked and its codes not yet redeemed void",
        allowed_by: "RFC 6749 §1.4-1.5 and OAuth 2.1 §1.3 (access and refresh tokens may be revoked by the AS before they expire), RFC 6750 §3.1 (a revoked token is invalid_token), RFC 7009 §1 (ending a grant invalidates the tokens based on it)";
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Variant {
    /// Whether the variant changes only when answers come (rate limits, a first 503, closed
    /// connections), never what they say: the suite must then give every scenario the same
    /// verdict as without it, only later.
    pub fn only_delays(self) -> bool {
        matches!(
            self,
            Variant::RateLimitRegistration
                | Variant::RateLimitToken
                | Variant::RateLimitAuthorization
                | Variant::MetadataUnavailableOnce
                | Variant::RegistrationUnavailableOnce
                | Variant::ConnectionClose
        )
    }

    /// Whether a client cannot register itself under the variant, so that a run needs a
    /// client registered beforehand, as a profile's `[client] client_id` names one.
    pub fn needs_preregistered_client(self) -> bool {
        matches!(
            self,
            Variant::RegistrationNeedsInitialAccessToken | Variant::NoDynamicRegistration
        )
    }

    /// The host name of the login page's origin under `login-other-origin`: the server's own
    /// address written another way, so the run reaches it as it would a separate login service.
    pub const OTHER_LOGIN_HOST: &'static str = "localhost";

    /// The variant named `name` (as on the command line).
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name() == name)
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::parse(s).ok_or_else(|| {
            format!("unknown variant {s:?}; `reference-server --list-variants` lists them")
        })
    }
}

/// The variants a server runs with (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variants(BTreeSet<Variant>);

impl Variants {
    pub fn none() -> Self {
        Variants::default()
    }

    pub fn only(v: Variant) -> Self {
        Variants(BTreeSet::from([v]))
    }

    pub fn has(&self, v: Variant) -> bool {
        self.0.contains(&v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Variant> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Variant> for Variants {
    fn from_iter<I: IntoIterator<Item = Variant>>(iter: I) -> Self {
        Variants(iter.into_iter().collect())
    }
}

/// The table `--list-variants` prints: name, what changes, and what allows it.
pub fn table() -> String {
    let width = Variant::ALL
        .iter()
        .map(|v| v.name().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in Variant::ALL {
        out.push_str(&format!(
            "{:<width$}  {}  [{}]\n",
            v.name(),
            v.description(),
            v.allowed_by()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_parse_back_and_say_what_allows_them() {
        let names: BTreeSet<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), Variant::ALL.len());
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>(), Ok(*v));
            assert!(!v.description().is_empty());
            assert!(!v.allowed_by().is_empty());
        }
        assert!("no-such-variant".parse::<Variant>().is_err());
        assert_eq!(table().lines().count(), Variant::ALL.len());
    }
}
