//! Named defects: switches that each break one behaviour, so that the conformance suite can be
//! shown to fail, in the right place, for every check it makes.
//!
//! Each defect is named after the behaviour it breaks and lists the requirement IDs it
//! violates. The switch sits at the one check it disables (`state.defect(Defect::X)`); there
//! are no forked handlers. `Config::default()` has none.

use std::collections::BTreeSet;
use std::fmt;

macro_rules! defects {
    ($( $variant:ident = $name:literal, [$($req:literal),+ $(,)?], $what:literal; )+) => {
        /// One named defect.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Defect {
            $( #[doc = $what] $variant, )+
        }

        impl Defect {
            /// Every defect, in the order of the table.
            pub const ALL: &'static [Defect] = &[ $( Defect::$variant, )+ ];

            /// The name used on the command line (`--defect NAME`).
            pub fn name(self) -> &'static str {
                match self { $( Defect::$variant => $name, )+ }
            }

            /// The requirement IDs this defect violates.
            pub fn requirements(self) -> &'static [&'static str] {
                match self { $( Defect::$variant => &[$($req),+], )+ }
            }

            /// What the server does wrong with this defect on.
            pub fn description(self) -> &'static str {
                match self { $( Defect::$variant => $what, )+ }
            }
        }
    };
}

defects! {
    // Discovery: the 401 challenge and protected resource metadata.
    UnauthenticatedAllowed = "unauthenticated-allowed", ["PRM-01"],
        "an MCP request without credentials is served instead of refused with 401";
    WwwAuthenticateMissing = "www-authenticate-missing", ["PRM-02", "PRM-03"],
        "401 and 403 answers carry no WWW-Authenticate header";
    ChallengeErrorWithoutCredentials = "challenge-error-without-credentials", ["PRM-04"],
        "the challenge to a request without credentials carries error=\"invalid_token\"";
    PrmNotPathInserted = "prm-not-path-inserted", ["PRM-05"],
        "the MCP endpoint's PRM is served only at the root well-known URL (the header points there)";
    PrmMissing = "prm-missing", ["PRM-07"],
        "no protected resource metadata is served at all (the header still names its URL)";
    PrmWrongContentType = "prm-wrong-content-type", ["PRM-08"],
        "protected resource metadata is served as text/plain";
    PrmResourceMismatch = "prm-resource-mismatch", ["PRM-09"],
        "the PRM resource differs from the MCP server URL by a trailing slash";
    PrmNoAuthorizationServers = "prm-no-authorization-servers", ["PRM-10"],
        "the PRM authorization_servers list is empty";

    // Authorization server metadata.
    Rfc8414MetadataMissing = "rfc8414-metadata-missing", ["ASM-01"],
        "no RFC 8414 metadata document is served (OpenID Connect discovery still is)";
    AsMetadataMissing = "as-metadata-missing", ["ASM-02"],
        "neither RFC 8414 nor OpenID Connect metadata is served";
    AsMetadataWrongContentType = "as-metadata-wrong-content-type", ["ASM-03"],
        "authorization server metadata is served as text/plain";
    IssuerMismatch = "issuer-mismatch", ["ASM-04"],
        "the metadata issuer has a trailing slash the issuer identifier lacks";
    EndpointsRelative = "endpoints-relative", ["ASM-06"],
        "authorization_endpoint and token_endpoint are advertised as relative paths";
    CodeNotAdvertised = "code-not-advertised", ["ASM-07"],
        "response_types_supported leaves out code";
    ImplicitAdvertised = "implicit-advertised", ["ASM-07"],
        "response_types_supported lists token (the implicit grant) beside code";
    S256NotAdvertised = "s256-not-advertised", ["ASM-08"],
        "code_challenge_methods_supported is left out of the metadata";

    // Dynamic client registration.
    DcrWrongStatus = "dcr-wrong-status", ["DCR-01"],
        "a successful registration answers 200 instead of 201";
    DcrMetadataNotEchoed = "dcr-metadata-not-echoed", ["DCR-02"],
        "the registration response leaves out the registered redirect_uris and client_name";
    DcrErrorNotJson = "dcr-error-not-json", ["DCR-05"],
        "registration errors are plain text instead of a JSON error object";
    DcrAcceptsAnyRedirect = "dcr-accepts-any-redirect", ["DCR-06"],
        "any redirect URI is registered: plain http, fragments, relative references, non-URIs";
    DcrRedirectUrisOptional = "dcr-redirect-uris-optional", ["DCR-07"],
        "a code-flow client is registered without redirect_uris";
    DcrRejectsUnknownMembers = "dcr-rejects-unknown-members", ["DCR-09"],
        "a registration with a metadata member the server does not know is refused";
    DcrRefusesLoopback = "dcr-refuses-loopback", ["DCR-11"],
        "http redirect URIs on [::1] and localhost are refused (only 127.0.0.1 is accepted)";

    // The authorization endpoint.
    RedirectPrefixMatch = "redirect-prefix-match", ["AUTHZ-02"],
        "a redirect URI matches when a registered one is a prefix of it";
    LoopbackRedirectLooselyMatched = "loopback-redirect-loosely-matched", ["AUTHZ-02"],
        "a loopback redirect URI matches any loopback host and scheme, and its path ignores case";
    RedirectsUnknownClientErrors = "redirects-unknown-client-errors", ["AUTHZ-04"],
        "an unknown or missing client_id is answered with an error redirect to the redirect_uri sent";
    RedirectUriDefaulted = "redirect-uri-defaulted", ["AUTHZ-04"],
        "a request without redirect_uri from a client with several goes to the first one";
    StateDroppedOnError = "state-dropped-on-error", ["AUTHZ-11"],
        "error redirects leave out state";
    StateReencoded = "state-reencoded", ["AUTHZ-11"],
        "state comes back percent-encoded once more than it was sent";
    IssMissing = "iss-missing", ["AUTHZ-14"],
        "authorization responses leave out iss although the metadata advertises it";

    // PKCE.
    PkceNotRequired = "pkce-not-required", ["PKCE-01"],
        "an authorization request without code_challenge is accepted and its code redeemed without a verifier";
    PkcePlainComparison = "pkce-plain-comparison", ["PKCE-02"],
        "the verifier is compared with the challenge as plain, so no S256 redemption succeeds";
    PkceMethodUnchecked = "pkce-method-unchecked", ["PKCE-03"],
        "any code_challenge_method is accepted (and treated as S256)";
    PkceVerifierUnchecked = "pkce-verifier-unchecked", ["PKCE-06"],
        "the code_verifier is not compared with the code_challenge";
    PkceVerifierOptional = "pkce-verifier-optional", ["PKCE-07"],
        "a redemption without code_verifier is accepted";
    VerifierLengthUnchecked = "verifier-length-unchecked", ["PKCE-08"],
        "a code_verifier outside the RFC 7636 grammar (length, characters) is accepted when it matches";
    PkceChallengeAsVerifier = "pkce-challenge-as-verifier", ["PKCE-09"],
        "a verifier equal to the challenge is accepted (plain comparison as a fallback)";

    // Code redemption.
    TokenCacheControlMissing = "token-cache-control-missing", ["CODE-01"],
        "token responses carry no Cache-Control: no-store";
    CodeReusable = "code-reusable", ["CODE-02"],
        "an authorization code can be redeemed any number of times";
    CodeSingleUseRace = "code-single-use-race", ["CODE-02"],
        "single use is checked before a pause and recorded after it, so concurrent redemptions all succeed";
    CodeReplayNoRevoke = "code-replay-no-revoke", ["CODE-03"],
        "a replayed code is refused, but the tokens of its first redemption stay valid";
    CodeNotClientBound = "code-not-client-bound", ["CODE-05"],
        "a code can be redeemed by any client";
    TokenRedirectUriUnchecked = "token-redirect-uri-unchecked", ["CODE-06"],
        "the token request's redirect_uri is not compared with the authorization request's";
    UnknownCodeServerError = "unknown-code-server-error", ["CODE-08"],
        "an unknown code gets 500 server_error instead of invalid_grant";

    // Refresh tokens.
    RefreshNotRotated = "refresh-not-rotated", ["REFRESH-01", "REFRESH-02"],
        "a refresh returns the same refresh token, which stays valid";
    RefreshSingleUseRace = "refresh-single-use-race", ["REFRESH-02"],
        "rotation is checked before a pause and recorded after it, so concurrent refreshes all succeed";
    RefreshReuseUndetected = "refresh-reuse-undetected", ["REFRESH-03"],
        "a replaced refresh token is refused, but its reuse does not revoke the grant";
    RefreshNotClientBound = "refresh-not-client-bound", ["REFRESH-04"],
        "a refresh token can be used by any client";
    RefreshScopeWidening = "refresh-scope-widening", ["REFRESH-05"],
        "a refresh may ask for, and gets, scopes the grant never had";
    RefreshScopeDropped = "refresh-scope-dropped", ["REFRESH-06"],
        "a refresh without scope grants no scope at all instead of the original one";
    UnknownRefreshServerError = "unknown-refresh-server-error", ["REFRESH-10"],
        "an unknown refresh token gets 500 server_error instead of invalid_grant";

    // Resource indicators and audience.
    ResourceIgnored = "resource-ignored", ["RES-02", "RS-07"],
        "the requested resource is ignored: every token's audience is the primary MCP server";
    InvalidTargetAccepted = "invalid-target-accepted", ["RES-03"],
        "a malformed resource (relative, with a fragment) is accepted and replaced by the default";
    AudienceNotChecked = "audience-not-checked", ["RS-07"],
        "the MCP servers accept tokens issued for any resource of this AS";

    // The MCP server as resource server.
    SessionWithoutToken = "session-without-token", ["RS-01"],
        "a request with a live Mcp-Session-Id and no token is served";
    ValidTokenRefused = "valid-token-refused", ["RS-02"],
        "the MCP servers verify tokens with a key the AS never signed with, refusing every token";
    EmptyBearerAccepted = "empty-bearer-accepted", ["RS-04"],
        "an Authorization header with an empty bearer token is served as an anonymous reader";
    MalformedTokenBadRequest = "malformed-token-bad-request", ["RS-04"],
        "a bearer token that is not a JWT gets 400 invalid_request instead of 401 invalid_token";
    AlgNoneAccepted = "alg-none-accepted", ["RS-05"],
        "an unsigned token (alg none) is accepted when its claims are right";
    SignatureUnchecked = "signature-unchecked", ["RS-05"],
        "the MCP servers read token claims without verifying the signature";
    ExpiredTokenAccepted = "expired-token-accepted", ["RS-06"],
        "the MCP servers do not check exp";
    QueryTokenAccepted = "query-token-accepted", ["RS-09"],
        "an access_token query parameter is accepted in place of the Authorization header";
    RefreshTokenAsBearer = "refresh-token-as-bearer", ["RS-11"],
        "a refresh token presented as a bearer token is accepted";
    InsufficientScopeAs401 = "insufficient-scope-as-401", ["SCOPE-03"],
        "a token without the scope an operation needs gets 401 invalid_token instead of 403 insufficient_scope";
}

impl Defect {
    /// The defect of a name, if there is one.
    pub fn parse(name: &str) -> Option<Defect> {
        Defect::ALL.iter().copied().find(|d| d.name() == name)
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Defect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Defect::parse(s).ok_or_else(|| {
            format!("unknown defect {s:?}; `reference-server --list-defects` lists them")
        })
    }
}

/// The defects a server runs with (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defects(BTreeSet<Defect>);

impl Defects {
    pub fn none() -> Self {
        Defects::default()
    }

    pub fn only(d: Defect) -> Self {
        Defects(BTreeSet::from([d]))
    }

    pub fn has(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Defect> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Defect> for Defects {
    fn from_iter<I: IntoIterator<Item = Defect>>(iter: I) -> Self {
        Defects(iter.into_iter().collect())
    }
}

/// The table `--list-defects` prints: name, requirement IDs, what breaks.
pub fn table() -> String {
    let width = Defect::ALL
        .iter()
        .map(|d| d.name().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for d in Defect::ALL {
        out.push_str(&format!(
            "{:<width$}  {:<22}  {}\n",
            d.name(),
            d.requirements().join(","),
            d.description()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let names: BTreeSet<&str> = Defect::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(names.len(), Defect::ALL.len());
        for d in Defect::ALL {
            assert_eq!(d.name().parse::<Defect>(), Ok(*d));
            assert!(!d.requirements().is_empty());
        }
        assert!("no-such-defect".parse::<Defect>().is_err());
        assert!(Defect::ALL.len() >= 30);
    }

    #[test]
    fn requirement_ids_look_like_ids() {
        for d in Defect::ALL {
            for id in d.requirements() {
                let (area, num) = id.split_once('-').expect("AREA-NN");
                assert!(area.bytes().all(|b| b.is_ascii_uppercase()), "{id}");
                assert!(
                    num.len() == 2 && num.bytes().all(|b| b.is_ascii_digit()),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn the_table_lists_every_defect() {
        let t = table();
        assert_eq!(t.lines().count(), Defect::ALL.len());
        assert!(t.contains("pkce-verifier-unchecked"));
        assert!(t.contains("PKCE-06"));
    }
}
