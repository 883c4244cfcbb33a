//! Discovery documents, all derived from the configuration so that what the server advertises
//! cannot contradict what it does.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::defects::Defect;
use crate::protocol::{
    AUTH_METHODS, AuthMethod, BEARER_METHODS, CODE_CHALLENGE_METHODS, RESPONSE_TYPE_CODE,
    RESPONSE_TYPES, SCOPE_OFFLINE_ACCESS, SCOPES_SUPPORTED,
};
use crate::state::SharedState;
use crate::urls::{MCP_ALT_PATH, MCP_PATH};
use crate::variants::Variant;
use crate::variants::offered;

/// RFC 8414 §2 metadata (ASM-01..08, ASM-12..16). Every member has a value (ASM-12).
pub fn authorization_server_metadata(state: &SharedState) -> Value {
    let u = &state.urls;
    // ASM-06: endpoints are absolute URLs.
    let endpoint = |name: &str| {
        if state.defect(Defect::EndpointsRelative) {
            u.as_route(name)
        } else {
            u.as_endpoint(name)
        }
    };
    // ASM-04: the issuer is exactly the issuer identifier the document was found by.
    let issuer = if state.defect(Defect::IssuerMismatch) {
        format!("{}/", u.issuer)
    } else {
        advertised_issuer(state)
    };
    // ASM-07: the code flow only; the defects list the implicit grant, or leave code out.
    let response_types: &[&str] = if state.defect(Defect::ImplicitAdvertised) {
        &[RESPONSE_TYPE_CODE, "token"]
    } else if state.defect(Defect::CodeNotAdvertised) {
        &["code id_token"]
    } else {
        &RESPONSE_TYPES
    };
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "registration_endpoint": registration_endpoint(state),
        "revocation_endpoint": u.as_endpoint("revoke"),
        "jwks_uri": jwks_uri(state),
        "scopes_supported": offered::scopes_supported(state),
        "response_types_supported": response_types,
        "response_modes_supported": offered::response_modes_supported(state),
        "grant_types_supported": grant_types_supported(state),
        "token_endpoint_auth_methods_supported": token_endpoint_auth_methods(state),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        // ASM-08, PKCE-11: the PKCE methods, exactly those the authorization endpoint accepts.
        "code_challenge_methods_supported": CODE_CHALLENGE_METHODS,
        // RFC 9207: every authorization response carries `iss` (AUTHZ-14, ASM-16).
        "authorization_response_iss_parameter_supported": true,
        // CIMD §5 (ASM-11); left out with the `no-client-id-metadata-documents` variant.
        "client_id_metadata_document_supported": if state.defect(Defect::CimdFlagNotBoolean) {
            json!("true")
        } else {
            json!(true)
        },
        // RFC 9728 §4 (PRM-17): every MCP server this AS protects.
        "protected_resources": if state.defect(Defect::AsProtectedResourcesIncomplete) {
            json!([u.mcp_alt()])
        } else {
            json!([u.mcp(), u.mcp_alt()])
        },
    });
    if let Some(obj) = doc.as_object_mut() {
        // Without dynamic registration there is no endpoint to advertise (RFC 8414 §2: OPTIONAL).
        if !crate::register::offered(state) {
            obj.remove("registration_endpoint");
        }
        // RFC 8414 §2: revocation_endpoint is OPTIONAL (the `no-revocation-endpoint` variant).
        if !offered::revocation_offered(state) {
            obj.remove("revocation_endpoint");
            obj.remove("revocation_endpoint_auth_methods_supported");
        }
        // RFC 8414 §2 (RFC 7662): the introspection endpoint of the `opaque-access-tokens` variant.
        if state.opaque_access_tokens() {
            obj.insert(
                "introspection_endpoint".into(),
                json!(u.as_endpoint("introspect")),
            );
            obj.insert(
                "introspection_endpoint_auth_methods_supported".into(),
                json!(AUTH_METHODS),
            );
        }
        if state.defect(Defect::S256NotAdvertised) {
            obj.remove("code_challenge_methods_supported");
        }
        // CIMD §5: not advertised where client ID metadata documents are not supported.
        if state.variant(Variant::NoClientIdMetadataDocuments) {
            obj.remove("client_id_metadata_document_supported");
        }
        // ASM-16: advertised because every authorization response carries iss.
        if state.defect(Defect::IssFlagMissing)
            || state.defect(Defect::IssLeftOut)
            || state.variant(Variant::NoIssParameter)
        {
            obj.remove("authorization_response_iss_parameter_supported");
        }
        // ASM-12: members without a value are left out.
        if state.defect(Defect::AsMetadataEmptyMember) {
            obj.insert("ui_locales_supported".into(), json!([]));
        }
    }
    doc
}

/// `grant_types_supported` (ASM-14): explicit, the grants the token endpoint serves and no
/// grant OAuth 2.1 removed.
fn grant_types_supported(state: &SharedState) -> Vec<&'static str> {
    let mut grants = offered::grant_types_supported(state);
    if state.defect(Defect::GrantTypesListPassword) {
        grants.push("password");
    }
    grants
}

/// `token_endpoint_auth_methods_supported` (ASM-15): `none` included, as public clients are
/// registered.
fn token_endpoint_auth_methods(state: &SharedState) -> Vec<&'static str> {
    AUTH_METHODS
        .into_iter()
        .filter(|m| {
            *m != AuthMethod::None.as_str() || !state.defect(Defect::AuthMethodNoneUnadvertised)
        })
        .collect()
}

/// The issuer identifier as advertised in PRM and metadata (ASM-05: no query or fragment).
fn advertised_issuer(state: &SharedState) -> String {
    if state.defect(Defect::IssuerWithQuery) {
        format!("{}?tenant=default", state.urls.issuer)
    } else {
        state.urls.issuer.clone()
    }
}

/// `jwks_uri` (ASM-13, SEC-01: https, or http on the loopback host the server runs on).
fn jwks_uri(state: &SharedState) -> String {
    let endpoint = state.urls.as_endpoint("jwks");
    if state.defect(Defect::JwksUriPlainHttp)
        && let Ok(mut u) = url::Url::parse(&endpoint)
        && u.set_host(Some("reference-server.invalid")).is_ok()
    {
        return u.to_string();
    }
    endpoint
}

/// `registration_endpoint` (DCR-12, SEC-01: https, or http on the loopback host the server
/// runs on).
fn registration_endpoint(state: &SharedState) -> String {
    let endpoint = state.urls.as_endpoint("register");
    if state.defect(Defect::RegistrationEndpointPlainHttp)
        && let Ok(mut u) = url::Url::parse(&endpoint)
        && u.set_host(Some("reference-server.invalid")).is_ok()
    {
        return u.to_string();
    }
    endpoint
}

/// A metadata document: JSON (ASM-03, PRM-08), or text/plain with the `*-wrong-content-type`
/// defects.
fn document(doc: Value, as_text: bool) -> Response {
    let mut resp = Json(doc).into_response();
    if as_text {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    resp
}

pub async fn oauth_metadata(State(state): State<SharedState>) -> Response {
    document(
        authorization_server_metadata(&state),
        state.defect(Defect::AsMetadataWrongContentType),
    )
}

/// OpenID Connect Discovery: the same document plus the members OIDC requires (ASM-09, ASM-17).
pub async fn openid_configuration(State(state): State<SharedState>) -> Response {
    let mut doc = authorization_server_metadata(&state);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("subject_types_supported".into(), json!(["public"]));
        obj.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["ES256"]),
        );
        // ASM-09: the OpenID Connect document lists PKCE support too.
        if state.defect(Defect::OidcPkceNotAdvertised) {
            obj.remove("code_challenge_methods_supported");
        }
        // ASM-17: both documents name the same endpoints.
        if state.defect(Defect::OidcMetadataDisagrees) && obj.contains_key("revocation_endpoint") {
            obj.insert(
                "revocation_endpoint".into(),
                json!(state.urls.as_endpoint("revoke/legacy")),
            );
        }
    }
    document(doc, state.defect(Defect::AsMetadataWrongContentType))
}

pub async fn jwks(State(state): State<SharedState>) -> Json<Value> {
    Json(state.signer.jwks())
}

/// RFC 9728 §2 protected resource metadata (PRM-08..14).
pub fn protected_resource_metadata(state: &SharedState, resource_path: &str) -> Value {
    let mut resource = format!("{}{resource_path}", state.urls.mcp_origin);
    if state.defect(Defect::PrmResourceMismatch) {
        resource.push('/');
    }
    let servers: Vec<String> = if state.defect(Defect::PrmNoAuthorizationServers) {
        Vec::new()
    } else {
        vec![advertised_issuer(state)]
    };
    let mut doc = json!({
        // PRM-09: exactly the URL the well-known URL was built from.
        "resource": resource,
        // PRM-10.
        "authorization_servers": servers,
        "scopes_supported": SCOPES_SUPPORTED,
        // PRM-14: the header only, never the query.
        "bearer_methods_supported": if state.defect(Defect::PrmOffersQueryBearer) {
            json!(["header", "query"])
        } else {
            json!(BEARER_METHODS)
        },
        "resource_name": if resource_path == MCP_PATH { "reference MCP server" } else { "reference MCP server (second resource)" },
    });
    if let Some(obj) = doc.as_object_mut() {
        // PRM-12: members without a value are left out.
        if state.defect(Defect::PrmEmptyMember) {
            obj.insert("resource_documentation".into(), json!(""));
        }
        // PRM-11: a minimal baseline of scopes, no catch-all value.
        if state.defect(Defect::PrmCatchAllScope) {
            let mut scopes = SCOPES_SUPPORTED.to_vec();
            scopes.push("mcp:*");
            obj.insert("scopes_supported".into(), json!(scopes));
        }
        // PRM-18: offline_access is not a resource requirement (MCP 2026-07-28 §10).
        if state.defect(Defect::PrmListsOfflineAccess) {
            let mut scopes = SCOPES_SUPPORTED.to_vec();
            scopes.push(SCOPE_OFFLINE_ACCESS);
            obj.insert("scopes_supported".into(), json!(scopes));
        }
        // PRM-13: the flags are JSON booleans.
        if state.defect(Defect::PrmFlagNotBoolean) {
            obj.insert(
                "tls_client_certificate_bound_access_tokens".into(),
                json!("false"),
            );
        }
        // PRM-16: no signed_metadata is published; with the defect, an unsigned one.
        if state.defect(Defect::PrmSignedMetadataUnsigned) {
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let unsigned = format!(
                "{}.{}.",
                b64(&json!({"alg": "none"})),
                b64(&json!({"resource": obj.get("resource")}))
            );
            obj.insert("signed_metadata".into(), json!(unsigned));
        }
    }
    doc
}

pub async fn prm_primary(State(state): State<SharedState>) -> Response {
    document(
        protected_resource_metadata(&state, MCP_PATH),
        state.defect(Defect::PrmWrongContentType),
    )
}

pub async fn prm_alt(State(state): State<SharedState>) -> Response {
    document(
        protected_resource_metadata(&state, MCP_ALT_PATH),
        state.defect(Defect::PrmWrongContentType),
    )
}
