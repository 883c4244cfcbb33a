//! Named defects: switches that each break one behaviour, so that the conformance suite can be
//! shown to fail, in the right place, for every check it makes.
//!
//! Each defect is named after the behaviour it breaks and lists the requirement IDs it
//! violates. The switch sits at the one check it disables (`state.defect(Defect::X)`); there
//! are no forked handlers. `Config::default()` has none.
//!
//! The table is sorted by area, in the order of the specifications' flow: discovery, registration,
//! client ID metadata documents, authorization, PKCE, code redemption, the token endpoint,
//! refresh, several instances of one authorization server, resource binding, the resource
//! server, scope, security, and the 2025-03-26 rules.
//! What the self-test needs to know about a defect is part of its entry:
//!
//! - `collateral`: why the defect may break more than a few scenarios besides its own
//!   (a precondition of many flows);
//! - `revision`, `layout`, `because`: the MCP revision (and server layout) under which the
//!   defect's rule binds, when it is not the self-test's own, and why.

use std::collections::BTreeSet;
use std::fmt;

use crate::layout::Layout;

/// `Some(x)` for an optional table field that is there, `None` for one that is not.
macro_rules! optional {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

macro_rules! defects {
    ($(
        $variant:ident = $name:literal, [$($req:ident),+ $(,)?], $what:literal
        $(, collateral: $collateral:literal)?
        $(, revision: $revision:literal)?
        $(, layout: $layout:ident)?
        $(, because: $because:literal)?
        ;
    )+) => {
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
            pub fn requirements(self) -> &'static [req::Id] {
                match self { $( Defect::$variant => &[$(req::$req),+], )+ }
            }

            /// What the server does wrong with this defect on.
            pub fn description(self) -> &'static str {
                match self { $( Defect::$variant => $what, )+ }
            }

            /// Why this defect may break many scenarios besides those of its own requirements,
            /// for the few that break a precondition of every flow.
            pub fn collateral(self) -> Option<&'static str> {
                match self { $( Defect::$variant => optional!($($collateral)?), )+ }
            }

            /// The MCP revision (`2025-03-26`) under which this defect's rule binds, when that is
            /// not the revision the self-test judges by. See [`Defect::because`].
            pub fn revision(self) -> Option<&'static str> {
                match self { $( Defect::$variant => optional!($($revision)?), )+ }
            }

            /// The server layout this defect's rule needs, when it is not the default one.
            pub fn layout(self) -> Option<Layout> {
                match self { $( Defect::$variant => optional!($(Layout::$layout)?), )+ }
            }

            /// Why the defect is judged under its own [`Defect::revision`] or [`Defect::layout`].
            pub fn because(self) -> Option<&'static str> {
                match self { $( Defect::$variant => optional!($($because)?), )+ }
            }
        }
    };
}

defects! {
    // Discovery: the 401 challenge and protected resource metadata (PRM).
    UnauthenticatedAllowed = "unauthenticated-allowed", [PRM_01],
        "an MCP request without credentials is served instead of refused with 401",
        collateral: "discovery starts from the 401: without it no flow can find the authorization server";
    WwwAuthenticateMissing = "www-authenticate-missing", [PRM_02, PRM_03],
        "401 and 403 answers carry no WWW-Authenticate header";
    ChallengeErrorWithoutCredentials = "challenge-error-without-credentials", [PRM_04],
        "the challenge to a request without credentials carries error=\"invalid_token\"";
    PrmNotPathInserted = "prm-not-path-inserted", [PRM_05],
        "the MCP endpoint's PRM is served only at the root well-known URL (the header points there)";
    PrmMissing = "prm-missing", [PRM_07],
        "no protected resource metadata is served at all (the header still names its URL)",
        collateral: "every scenario that reads the PRM document (PRM-03, PRM-05, PRM-08..10) has none to read";
    PrmWrongContentType = "prm-wrong-content-type", [PRM_08],
        "protected resource metadata is served as text/plain";
    PrmResourceMismatch = "prm-resource-mismatch", [PRM_09],
        "the PRM resource differs from the MCP server URL by a trailing slash",
        collateral: "a client must discard a PRM document whose resource does not match (RFC 9728 §3.3), so no flow can start";
    PrmNoAuthorizationServers = "prm-no-authorization-servers", [PRM_10],
        "the PRM authorization_servers list is empty",
        collateral: "without an authorization server no flow can start";
    PrmEmptyMember = "prm-empty-member", [PRM_12],
        "protected resource metadata carries resource_documentation as an empty string";
    PrmFlagNotBoolean = "prm-flag-not-boolean", [PRM_13],
        "protected resource metadata gives tls_client_certificate_bound_access_tokens as the string \"false\"";
    PrmSignedMetadataUnsigned = "prm-signed-metadata-unsigned", [PRM_16],
        "protected resource metadata carries signed_metadata as an unsigned JWS (alg none) without iss";
    PrmListsOfflineAccess = "prm-lists-offline-access", [PRM_18],
        "protected resource metadata lists offline_access in scopes_supported",
        revision: "2026-07-28",
        because: "PRM-18 (no offline_access in PRM) is a 2026-07-28 rule";
    PrmRootNamesOtherResource = "prm-root-names-other-resource", [PRM_06],
        "a root PRM document is served, describing the second MCP server rather than the origin or the MCP server";
    PrmCatchAllScope = "prm-catch-all-scope", [PRM_11],
        "protected resource metadata lists the catch-all scope mcp:* in scopes_supported (the AS does not offer it)";
    PrmOffersQueryBearer = "prm-offers-query-bearer", [PRM_14],
        "bearer_methods_supported lists query beside header (the MCP server still refuses tokens in the query)";

    // Discovery: authorization server metadata (ASM).
    Rfc8414MetadataMissing = "rfc8414-metadata-missing", [ASM_01],
        "no RFC 8414 metadata document is served (OpenID Connect discovery still is)",
        revision: "2025-06-18",
        because: "in 2025-11-25 OpenID Connect discovery may stand in for RFC 8414 metadata";
    AsMetadataMissing = "as-metadata-missing", [ASM_02],
        "neither RFC 8414 nor OpenID Connect metadata is served",
        collateral: "without AS metadata no flow can find the endpoints";
    AsMetadataWrongContentType = "as-metadata-wrong-content-type", [ASM_03],
        "authorization server metadata is served as text/plain";
    IssuerMismatch = "issuer-mismatch", [ASM_04],
        "the metadata issuer has a trailing slash the issuer identifier lacks",
        collateral: "a client must discard metadata whose issuer does not match, so no flow can start";
    IssuerWithQuery = "issuer-with-query", [ASM_05],
        "the issuer identifier (PRM authorization_servers, metadata issuer) carries a query component";
    EndpointsRelative = "endpoints-relative", [ASM_06],
        "authorization_endpoint and token_endpoint are advertised as relative paths",
        collateral: "relative endpoints cannot be used, so no flow can start";
    CodeNotAdvertised = "code-not-advertised", [ASM_07],
        "response_types_supported leaves out code";
    ImplicitAdvertised = "implicit-advertised", [ASM_07],
        "response_types_supported lists token (the implicit grant) beside code";
    S256NotAdvertised = "s256-not-advertised", [ASM_08],
        "code_challenge_methods_supported is left out of the metadata";
    OidcPkceNotAdvertised = "oidc-pkce-not-advertised", [ASM_09],
        "the OpenID Connect discovery document leaves out code_challenge_methods_supported";
    CimdFlagNotBoolean = "cimd-flag-not-boolean", [ASM_11],
        "client_id_metadata_document_supported is the string \"true\" instead of a boolean";
    AsMetadataEmptyMember = "as-metadata-empty-member", [ASM_12],
        "authorization server metadata carries ui_locales_supported as an empty array";
    JwksUriPlainHttp = "jwks-uri-plain-http", [ASM_13, SEC_01],
        "jwks_uri is advertised as plain http on a host that is not loopback";
    IssFlagMissing = "iss-flag-missing", [ASM_16],
        "authorization_response_iss_parameter_supported is left out although authorization responses carry iss";
    GrantTypesListPassword = "grant-types-list-password", [ASM_14],
        "grant_types_supported lists password, a grant OAuth 2.1 removed (the token endpoint still refuses it)";
    AuthMethodNoneUnadvertised = "auth-method-none-unadvertised", [ASM_15],
        "token_endpoint_auth_methods_supported leaves out none, although public clients are registered and served";
    OidcMetadataDisagrees = "oidc-metadata-disagrees", [ASM_17],
        "the OpenID Connect discovery document names another revocation_endpoint than the RFC 8414 document";
    AsProtectedResourcesIncomplete = "as-protected-resources-incomplete", [PRM_17],
        "the AS metadata's protected_resources lists the second MCP server but not the MCP server";

    // Dynamic client registration (DCR).
    DcrWrongStatus = "dcr-wrong-status", [DCR_01],
        "a successful registration answers 200 instead of 201";
    DcrMetadataNotEchoed = "dcr-metadata-not-echoed", [DCR_02],
        "the registration response leaves out the registered redirect_uris and client_name";
    DcrSecretExpiryMissing = "dcr-secret-expiry-missing", [DCR_03],
        "a registration response with a client_secret leaves out client_secret_expires_at";
    DcrErrorNotJson = "dcr-error-not-json", [DCR_05],
        "registration errors are plain text instead of a JSON error object",
        collateral: "DCR-06 and DCR-07 name the error code a refusal carries, which a client can read only from a JSON body";
    DcrAcceptsAnyRedirect = "dcr-accepts-any-redirect", [DCR_06, SEC_02],
        "any redirect URI is registered: plain http, fragments, relative references, non-URIs";
    DcrRedirectUrisOptional = "dcr-redirect-uris-optional", [DCR_07],
        "a code-flow client is registered without redirect_uris";
    DcrInvalidMetadataWrongError = "dcr-invalid-metadata-wrong-error", [DCR_08],
        "invalid client metadata is refused with invalid_request instead of invalid_client_metadata";
    DcrRejectsUnknownMembers = "dcr-rejects-unknown-members", [DCR_09],
        "a registration with a metadata member the server does not know is refused";
    DcrPrivateUseSchemeAccepted = "dcr-private-use-scheme-accepted", [DCR_10],
        "a redirect URI with a private-use scheme without a dot (myapp:/cb) is registered";
    DcrRefusesLoopback = "dcr-refuses-loopback", [DCR_11],
        "http redirect URIs on [::1] and localhost are refused (only 127.0.0.1 is accepted)";
    RegistrationEndpointPlainHttp = "registration-endpoint-plain-http", [DCR_12, ASM_13, SEC_01],
        "registration_endpoint is advertised as plain http on a host that is not loopback",
        collateral: "the harness registers its client only at an https (or loopback) registration endpoint, so no flow can start";
    DcrCacheControlMissing = "dcr-cache-control-missing", [DCR_13],
        "registration responses, which may carry a client_secret, have no Cache-Control: no-store";
    DcrPublicClientSecret = "dcr-public-client-secret", [DCR_04],
        "a client registered with token_endpoint_auth_method none is answered with a client_secret (never checked: the client stays public)";
    DcrNativeEchoedAsWeb = "dcr-native-echoed-as-web", [DCR_16],
        "a native client's registration is answered with application_type web, OpenID Connect's default, as if the member had been ignored",
        revision: "2026-07-28",
        because: "DCR-16 (native clients are registered as native) is a 2026-07-28 rule";

    // Client ID metadata documents (CIMD).
    CimdClientIdUnchecked = "cimd-client-id-unchecked", [CIMD_02],
        "a client ID metadata document is used although its client_id differs from its URL";
    CimdRedirectUriUnlisted = "cimd-redirect-uri-unlisted", [CIMD_03],
        "a metadata document client may use a redirect_uri its document does not list";
    CimdLenientDocument = "cimd-lenient-document", [CIMD_04],
        "metadata documents are read leniently: trailing data ignored, an array's first element used, a redirect_uris string taken as a list, a missing client_id taken to be the URL";
    CimdErrorsCached = "cimd-errors-cached", [CIMD_06],
        "a failed or invalid metadata document fetch is cached for a minute, so a fixed document is not fetched again";
    CimdUrlUnchecked = "cimd-url-unchecked", [CIMD_07],
        "client_id URLs without a path, or with userinfo, dot segments or a fragment, are fetched and used";
    CimdSecretAccepted = "cimd-secret-accepted", [CIMD_08],
        "a metadata document with client_secret or a shared-secret token_endpoint_auth_method is accepted (as a public client)";
    CimdConfidentialUnauthenticated = "cimd-confidential-unauthenticated", [CIMD_09],
        "a metadata document declaring private_key_jwt is accepted, but its client is treated as public: no client authentication is required";
    CimdRedirectFollowed = "cimd-redirect-followed", [CIMD_10],
        "a redirect answered for a metadata document URL is followed";
    CimdSizeUnlimited = "cimd-size-unlimited", [CIMD_11],
        "metadata documents of any size are read";
    CimdCodeNotClientBound = "cimd-code-not-client-bound", [CIMD_13],
        "a code issued to a metadata document client can be redeemed by any client";
    CimdFetchOncePerOrigin = "cimd-fetch-once-per-origin", [CIMD_01],
        "one metadata document is fetched per origin a minute: another client_id URL on an origin just fetched from is refused without a fetch";
    CimdFetchFailureIgnored = "cimd-fetch-failure-ignored", [CIMD_05],
        "a metadata document URL answering 4xx or 5xx does not abort the authorization: the client is taken as public, at the loopback redirect URI it names";

    // The authorization endpoint (AUTHZ).
    AuthorizeGetUnsupported = "authorize-get-unsupported", [AUTHZ_01],
        "the authorization endpoint answers GET with 405 Method Not Allowed, as if it took only POST",
        collateral: "every flow starts with a GET on the authorization endpoint";
    RedirectPrefixMatch = "redirect-prefix-match", [AUTHZ_02],
        "a redirect URI matches when a registered one is a prefix of it";
    LoopbackRedirectLooselyMatched = "loopback-redirect-loosely-matched", [AUTHZ_02],
        "a loopback redirect URI matches any loopback host and scheme, and its path ignores case";
    LoopbackPortFixed = "loopback-port-fixed", [AUTHZ_03],
        "a loopback IP redirect URI must use its registered port too";
    RedirectsUnknownClientErrors = "redirects-unknown-client-errors", [AUTHZ_04],
        "an unknown or missing client_id is answered with an error redirect to the redirect_uri sent";
    RedirectUriDefaulted = "redirect-uri-defaulted", [AUTHZ_04],
        "a request without redirect_uri from a client with several goes to the first one";
    ResponseTypeDefaulted = "response-type-defaulted", [AUTHZ_05],
        "an authorization request without response_type is taken as response_type=code";
    ResponseTypeWrongError = "response-type-wrong-error", [AUTHZ_05, AUTHZ_06],
        "an unsupported response_type (token, or an unknown one) is refused with invalid_request instead of unsupported_response_type";
    RepeatedParametersAccepted = "repeated-parameters-accepted", [AUTHZ_07],
        "a repeated authorization parameter is not refused: its first value is used";
    EmptyParametersKept = "empty-parameters-kept", [AUTHZ_08],
        "an authorization parameter sent without a value counts as sent: scope= asks for no scope (invalid_scope), and code_challenge= switches PKCE off";
    UnknownParameterRefused = "unknown-parameter-refused", [AUTHZ_09],
        "an authorization request carrying a parameter the server does not know is refused with invalid_request";
    AuthorizeCors = "authorize-cors", [AUTHZ_10],
        "the authorization endpoint answers cross-origin requests with Access-Control-Allow-Origin echoing the Origin";
    StateDroppedOnError = "state-dropped-on-error", [AUTHZ_11],
        "error redirects leave out state";
    StateReencoded = "state-reencoded", [AUTHZ_11],
        "state comes back percent-encoded once more than it was sent";
    SuccessStateRepeated = "success-state-repeated", [AUTHZ_12],
        "the redirect that delivers the code carries state twice";
    IssMissing = "iss-missing", [AUTHZ_14],
        "authorization responses leave out iss although the metadata advertises it";
    ChallengeInCode = "challenge-in-code", [AUTHZ_15],
        "the authorization code carries the code_challenge in the clear";
    LoginRedirect307 = "login-redirect-307", [AUTHZ_16],
        "the login form's POST, which carries the password, is answered with 307 Temporary Redirect";
    ErrorDescriptionIllegalChars = "error-description-illegal-characters", [AUTHZ_18],
        "authorization error redirects carry an error_description with a double quote and a non-ASCII character";
    IssLeftOut = "iss-left-out", [AUTHZ_20],
        "authorization responses, codes and errors alike, carry no iss, and the metadata does not advertise it",
        revision: "2026-07-28",
        because: "AUTHZ-20 (iss in every authorization response) is a 2026-07-28 rule";

    // PKCE.
    PkceNotRequired = "pkce-not-required", [PKCE_01],
        "an authorization request without code_challenge is accepted and its code redeemed without a verifier";
    PkcePlainComparison = "pkce-plain-comparison", [PKCE_02],
        "the verifier is compared with the challenge as plain, so no S256 redemption succeeds",
        collateral: "every flow redeems a code with S256, and none can";
    PkceMethodUnchecked = "pkce-method-unchecked", [PKCE_03],
        "any code_challenge_method is accepted (and treated as S256)";
    PkceVerifierUnchecked = "pkce-verifier-unchecked", [PKCE_06],
        "the code_verifier is not compared with the code_challenge";
    PkceVerifierOptional = "pkce-verifier-optional", [PKCE_07],
        "a redemption without code_verifier is accepted";
    VerifierLengthUnchecked = "verifier-length-unchecked", [PKCE_08],
        "a code_verifier outside the RFC 7636 grammar (length, characters) is accepted when it matches";
    PkceChallengeAsVerifier = "pkce-challenge-as-verifier", [PKCE_09],
        "a verifier equal to the challenge is accepted (plain comparison as a fallback)";
    PkceDowngrade = "pkce-downgrade", [PKCE_01, PKCE_10],
        "an authorization request without code_challenge is accepted, and its code redeemed with any code_verifier";
    PlainAcceptedUnadvertised = "plain-accepted-unadvertised", [PKCE_11],
        "code_challenge_method=plain is accepted though the metadata advertises only S256";

    // Code redemption (CODE).
    TokenCacheControlMissing = "token-cache-control-missing", [CODE_01],
        "token responses carry no Cache-Control: no-store";
    CodeReusable = "code-reusable", [CODE_02],
        "an authorization code can be redeemed any number of times";
    CodeSingleUseRace = "code-single-use-race", [CODE_02],
        "single use is checked before a pause and recorded after it, so concurrent redemptions all succeed";
    CodeReplayNoRevoke = "code-replay-no-revoke", [CODE_03],
        "a replayed code is refused, but the tokens of its first redemption stay valid";
    CodeReplayRevokesBeforeChecks = "code-replay-revokes-before-checks", [CODE_04],
        "a replayed code revokes its grant before the request is checked, even when it is invalid";
    CodeNotClientBound = "code-not-client-bound", [CODE_05],
        "a code can be redeemed by any client";
    TokenRedirectUriUnchecked = "token-redirect-uri-unchecked", [CODE_06],
        "the token request's redirect_uri is not compared with the authorization request's";
    UnknownCodeServerError = "unknown-code-server-error", [CODE_08],
        "an unknown code gets 500 server_error instead of invalid_grant";
    PublicClientIdOptional = "public-client-id-optional", [CODE_09],
        "a code redemption without client_id (or authentication) is served for the code's client";
    TokenUnknownParamRefused = "token-unknown-param-refused", [CODE_10],
        "a token request with a parameter the endpoint does not know is refused with invalid_request";

    // The token endpoint (TOK).
    TokenErrorWrongContentType = "token-error-wrong-content-type", [TOK_01],
        "token endpoint errors carry their JSON body labelled as text/plain";
    TokenErrorStatus401 = "token-error-status-401", [TOK_01],
        "every token endpoint error is answered with 401, invalid_grant included (one deviation: only TOK-01 may fail)";
    GrantTypeDefaulted = "grant-type-defaulted", [TOK_02],
        "a token request without grant_type is treated as authorization_code";
    UnsupportedGrantAsInvalidRequest = "unsupported-grant-as-invalid-request", [TOK_03],
        "an unknown or removed grant_type gets invalid_request instead of unsupported_grant_type";
    RepeatedTokenParamAccepted = "repeated-token-param-accepted", [TOK_04],
        "a repeated token request parameter is accepted (its first value is used)";
    EmptyTokenParamKept = "empty-token-param-kept", [TOK_05],
        "an empty grant_type is read as a grant type (unsupported_grant_type) instead of as absent";
    BasicAuthFailure400 = "basic-auth-failure-400", [TOK_06],
        "a failed HTTP Basic client authentication gets 400 without WWW-Authenticate";
    TwoAuthMethodsAccepted = "two-auth-methods-accepted", [TOK_07],
        "a request with both HTTP Basic and client_secret in the body is accepted (Basic wins)";
    ClientSecretPostRefused = "client-secret-post-refused", [TOK_08],
        "a client secret in the body is refused with invalid_request, even for client_secret_post clients";
    ClientCredentialsForPublicClients = "client-credentials-for-public-clients", [TOK_09],
        "a public client gets client_credentials tokens, whatever grant types it registered";
    SecretBruteForceUnthrottled = "secret-brute-force-unthrottled", [TOK_10],
        "any number of wrong client secrets is checked, with no throttling";
    BasicSecretAlwaysRefused = "basic-secret-always-refused", [TOK_10],
        "every HTTP Basic client authentication is refused with 401 invalid_client, the right secret too, and wrong secrets are not throttled: the refusals look like a lockout but protect nothing";
    TokenGetAccepted = "token-get-accepted", [TOK_11],
        "a GET on the token endpoint with the parameters in its query is served as a token request";

    // Refresh tokens (REFRESH).
    RefreshNotRotated = "refresh-not-rotated", [REFRESH_01, REFRESH_02],
        "a refresh returns the same refresh token, which stays valid";
    RefreshSingleUseRace = "refresh-single-use-race", [REFRESH_02],
        "rotation is checked before a pause and recorded after it, so concurrent refreshes all succeed";
    RefreshReuseUndetected = "refresh-reuse-undetected", [REFRESH_03],
        "a replaced refresh token is refused, but its reuse does not revoke the grant";
    RefreshReuseKeepsAccessTokens = "refresh-reuse-keeps-access-tokens", [REFRESH_03],
        "the reuse of a replaced refresh token revokes the grant's refresh tokens, but its access tokens stay valid";
    RefreshNotClientBound = "refresh-not-client-bound", [REFRESH_04],
        "a refresh token can be used by any client";
    RefreshScopeWidening = "refresh-scope-widening", [REFRESH_05],
        "a refresh may ask for, and gets, scopes the grant never had";
    RefreshScopeDropped = "refresh-scope-dropped", [REFRESH_06],
        "a refresh without scope grants no scope at all instead of the original one";
    RefreshResourceUnbound = "refresh-resource-unbound", [REFRESH_07],
        "a refresh with another served resource issues a token for that resource";
    RefreshWithoutClientAuth = "refresh-without-client-auth", [REFRESH_08],
        "a confidential client may refresh with its client_id alone, without its secret";
    RefreshCacheControlMissing = "refresh-cache-control-missing", [REFRESH_09],
        "refresh responses carry no Cache-Control: no-store";
    UnknownRefreshServerError = "unknown-refresh-server-error", [REFRESH_10],
        "an unknown refresh token gets 500 server_error instead of invalid_grant";
    RefreshTokenGuessable = "refresh-token-guessable", [REFRESH_11],
        "refresh tokens carry 32 random bits (6 characters)";
    RefreshAdvertisedNeverIssued = "refresh-advertised-never-issued", [REFRESH_13],
        "grant_types_supported lists refresh_token, but no token response ever carries one, offline_access or not";
    AccessTokenLongLived = "access-token-long-lived", [REFRESH_12],
        "access tokens live 24 hours";

    // Several instances of one authorization server (REPL).
    StorePerInstance = "store-per-instance", [REPL_01, REPL_02, REPL_03, REPL_04, REPL_05],
        "each instance of the authorization server (--replicas, or processes on one --store redis://) keeps its own record of what it spent: what one instance issues reaches the others, but a code it redeemed, or a refresh token it replaced or revoked, is still fresh there";
    FamilyRevocationPerInstance = "family-revocation-per-instance", [REPL_06],
        "a replaced refresh token reused at any instance of the authorization server (--replicas, or processes on one --store redis://) is refused as a reuse, every instance sharing the record of rotations, but the revocation of the live refresh token and its grant that the reuse triggers is kept only in the memory of the instance that saw it: every other instance still serves the live refresh token";
    CodeExpiryPerInstance = "code-expiry-per-instance", [REPL_07],
        "each instance of the authorization server enforces a code's lifetime only for the codes it issued itself: the shared record of a code outlives it (ten times its lifetime), so a code expired at the instance that issued it is still redeemed at any other";

    // Resource indicators and audience (RES).
    ResourceIgnored = "resource-ignored", [RES_02, RS_07],
        "the requested resource is ignored: every token's audience is the primary MCP server";
    InvalidTargetAccepted = "invalid-target-accepted", [RES_03],
        "a malformed resource (relative, with a fragment) is accepted and replaced by the default";
    AudienceNotChecked = "audience-not-checked", [RS_07],
        "the MCP servers accept tokens issued for any resource of this AS";

    // The MCP server as resource server (RS).
    SessionWithoutToken = "session-without-token", [RS_01],
        "a request with a live Mcp-Session-Id and no token is served";
    ValidTokenRefused = "valid-token-refused", [RS_02],
        "the MCP servers verify tokens with a key the AS never signed with, refusing every token",
        collateral: "every scenario that uses an access token at the MCP server is refused";
    BearerSchemeCaseSensitive = "bearer-scheme-case-sensitive", [RS_03],
        "only the exact spelling Bearer is read as a bearer token; bearer or BEARER count as no credentials";
    EmptyBearerAccepted = "empty-bearer-accepted", [RS_04],
        "an Authorization header with an empty bearer token is served as an anonymous reader";
    MalformedTokenBadRequest = "malformed-token-bad-request", [RS_04],
        "a bearer token that is not a JWT gets 400 invalid_request instead of 401 invalid_token";
    AlgNoneAccepted = "alg-none-accepted", [RS_05],
        "an unsigned token (alg none) is accepted when its claims are right";
    SignatureUnchecked = "signature-unchecked", [RS_05],
        "the MCP servers read token claims without verifying the signature";
    ExpiredTokenAccepted = "expired-token-accepted", [RS_06],
        "the MCP servers do not check exp";
    QueryTokenAccepted = "query-token-accepted", [RS_09],
        "an access_token query parameter is accepted in place of the Authorization header";
    RefreshTokenAsBearer = "refresh-token-as-bearer", [RS_11],
        "a refresh token presented as a bearer token is accepted";
    ScopeNotEnforced = "scope-not-enforced", [RS_13],
        "tools/call of admin is carried out without the mcp:write scope";
    InsufficientScopeAs400 = "insufficient-scope-as-400", [RS_14],
        "a token without the scope an operation needs gets 400 invalid_request instead of 403";
    InvalidTokenChallengeWithoutPrm = "invalid-token-challenge-without-prm", [RS_15],
        "401 answers to an invalid token leave resource_metadata out of the challenge",
        revision: "2025-06-18",
        because: "RS-15 is a MUST in 2025-06-18 and a SHOULD from 2025-11-25";
    PredictableSessionIds = "predictable-session-ids", [RS_16],
        "session IDs are a counter (1, 2, 3, ...)";
    QueryCopyPreferred = "query-copy-preferred", [RS_10],
        "a request with a token in the Authorization header and another in the access_token query parameter is judged by the query copy";
    RevocationIgnored = "revocation-ignored", [RS_12],
        "access tokens are opaque (as with the opaque-access-tokens variant), and revoking one through RFC 7009 is answered 200 but revokes nothing";

    // Scope (SCOPE).
    InsufficientScopeAs401 = "insufficient-scope-as-401", [SCOPE_03],
        "a token without the scope an operation needs gets 401 invalid_token instead of 403 insufficient_scope";
    GrantedScopeUnstated = "granted-scope-unstated", [SCOPE_06],
        "of several requested scopes only the first is granted, and the token response leaves scope out as if all were";
    UnknownScopeWrongError = "unknown-scope-wrong-error", [SCOPE_08],
        "an authorization request with an unknown scope is refused with invalid_request instead of invalid_scope";
    InsufficientScopeOffersOfflineAccess = "insufficient-scope-offers-offline-access", [SCOPE_09],
        "insufficient_scope challenges add offline_access to the scope they name",
        revision: "2026-07-28",
        because: "SCOPE-09 (no offline_access in challenges) is a 2026-07-28 rule";
    InsufficientScopeChallengePartial = "insufficient-scope-challenge-partial", [SCOPE_10, SCOPE_04],
        "an insufficient_scope challenge names only the first scope the operation needs (mcp:read), not all of them (mcp:read mcp:write)",
        revision: "2026-07-28",
        because: "SCOPE-10 (every needed scope in one challenge) is a 2026-07-28 rule";
    InsufficientScopeChallengeVaries = "insufficient-scope-challenge-varies", [SCOPE_05],
        "the first insufficient_scope challenge to a token names every scope the operation needs (mcp:read mcp:write), later ones only the missing one (mcp:write)";
    UnauthenticatedChallengeOffersOfflineAccess = "unauthenticated-challenge-offers-offline-access", [SCOPE_09],
        "the 401 challenge to a request without credentials adds offline_access to the scope it names (and the AS, as such a server would, supports offline_access)",
        revision: "2026-07-28",
        because: "SCOPE-09 (no offline_access in challenges) is a 2026-07-28 rule";

    // Transport and token security (SEC).
    AccessTokenInRedirect = "access-token-in-redirect", [SEC_04],
        "the redirect that delivers the code also carries an access token in its query";

    // MCP 2025-03-26 (LEG): judged under that revision, against the legacy layout.
    LegacyMetadataMisplaced = "legacy-metadata-misplaced", [LEG_01],
        "legacy layout: the RFC 8414 metadata is served below the MCP path, not at the authorization base URL",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "the authorization base URL and its metadata location are 2025-03-26 rules (LEG-01)";
    LegacyDefaultEndpointsMissing = "legacy-default-endpoints-missing", [LEG_02],
        "legacy layout: no RFC 8414 metadata, and the endpoints sit under /oauth2 instead of the default paths",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "the default endpoints are a 2025-03-26 rule (LEG-02)";
    LegacyUnauthenticatedAllowed = "legacy-unauthenticated-allowed", [LEG_03, PRM_01],
        "an MCP request without credentials is served instead of refused with 401 (the 2025-03-26 rule)",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "LEG-03 is the 2025-03-26 form of the 401 rule";
    LegacyPkceNotRequired = "legacy-pkce-not-required", [LEG_05, PKCE_01],
        "an authorization request without code_challenge is accepted and its code redeemed without a verifier (the 2025-03-26 rule)",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "LEG-05 is the 2025-03-26 form of the PKCE rule";
    LegacyRedirectUrisUnchecked = "legacy-redirect-uris-unchecked", [LEG_06, DCR_06, SEC_02],
        "any redirect URI is registered, neither localhost nor https required (the 2025-03-26 rule)",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "LEG-06 (localhost or https redirect URIs) is a 2025-03-26 rule";
    LegacyRegistrationMissing = "legacy-registration-missing", [LEG_04],
        "legacy layout: no dynamic client registration: the metadata names no registration_endpoint and /register is not served",
        collateral: "without registration the harness obtains no client, so every scenario that needs one skips",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "LEG-04 (a way to obtain a client ID) is a 2025-03-26 rule";
    LegacyExpiresInMissing = "legacy-expires-in-missing", [LEG_07],
        "token responses leave out expires_in, so a client cannot tell that the access token's lifetime is limited (the 2025-03-26 rule)",
        revision: "2025-03-26", layout: Legacy20250326,
        because: "LEG-07 (limited token lifetimes, rotated tokens) is a 2025-03-26 rule";
}

impl Defect {
    /// The requirement IDs, joined by `sep` (`PKCE-01,PKCE-10`).
    pub fn requirement_list(self, sep: &str) -> String {
        let ids: Vec<&str> = self.requirements().iter().map(|id| id.as_str()).collect();
        ids.join(sep)
    }

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
            d.requirement_list(","),
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
    fn requirement_ids_are_catalogue_ids() {
        for d in Defect::ALL {
            for id in d.requirements() {
                assert_eq!(req::Id::parse(id.as_str()), Some(*id), "{d}: {id}");
            }
        }
        assert_eq!(
            Defect::PkceDowngrade.requirement_list(", "),
            "PKCE-01, PKCE-10"
        );
    }

    #[test]
    fn a_defect_judged_elsewhere_says_where_and_why() {
        for d in Defect::ALL {
            let elsewhere = d.revision().is_some() || d.layout().is_some();
            assert_eq!(elsewhere, d.because().is_some(), "{d}");
            if let Some(r) = d.revision() {
                assert!(
                    ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"].contains(&r),
                    "{d}: {r}"
                );
            }
        }
        assert_eq!(
            Defect::LegacyPkceNotRequired.layout(),
            Some(Layout::Legacy20250326)
        );
        assert_eq!(Defect::PrmListsOfflineAccess.layout(), None);
        assert!(Defect::PkcePlainComparison.collateral().is_some());
        assert_eq!(Defect::PkceVerifierUnchecked.collateral(), None);
    }

    #[test]
    fn the_table_lists_every_defect() {
        let t = table();
        assert_eq!(t.lines().count(), Defect::ALL.len());
        assert!(t.contains("pkce-verifier-unchecked"));
        assert!(t.contains("PKCE-06"));
    }
}
