//! Generated inputs for everything the runner parses from a target: the `WWW-Authenticate`
//! parser, metadata and registration JSON (and the checks that read them), URL construction for
//! well-known paths, and the redactor. Each property runs `PROPTEST_CASES` cases (256 unless
//! set); `scripts/fuzz` runs a million of each. Inputs that once broke a property stay below as
//! plain tests.

use base64::Engine as _;
use mcp_oauth_conformance::checks::discovery::{as_metadata, prm};
use mcp_oauth_conformance::checks::registration;
use mcp_oauth_conformance::client::discovery::Document;
use mcp_oauth_conformance::client::http::Response;
use mcp_oauth_conformance::client::redact::{self, Redactor};
use mcp_oauth_conformance::client::registration::RegisteredClient;
use mcp_oauth_conformance::client::{wellknown, www_authenticate};
use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};
use url::Url;

fn response(status: u16, body: Vec<u8>) -> Response {
    Response {
        url: Url::parse("https://as.example/doc").expect("url"),
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers: HeaderMap::new(),
        body,
    }
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "https?://[a-z.]{1,12}(:[0-9]{1,5})?(/[a-z%.]{0,8}){0,3}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(member_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Member names metadata and registration responses use, and others.
fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
            "response_types_supported",
            "code_challenge_methods_supported",
            "grant_types_supported",
            "token_endpoint_auth_methods_supported",
            "client_id_metadata_document_supported",
            "authorization_response_iss_parameter_supported",
            "scopes_supported",
            "resource",
            "authorization_servers",
            "bearer_methods_supported",
            "signed_metadata",
            "protected_resources",
            "client_id",
            "client_secret",
            "redirect_uris",
            "token_endpoint_auth_method",
            "application_type",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,12}",
    ]
}

fn document(members: Map<String, Value>) -> Document {
    let body = serde_json::to_vec(&members).unwrap_or_default();
    Document {
        url: Url::parse("https://as.example/.well-known/oauth-authorization-server").expect("url"),
        response: response(200, body),
        members,
    }
}

/// Runs every check that reads a metadata document; none may panic.
fn check_metadata(doc: &Document) {
    let mcp = Url::parse("https://mcp.example/mcp").expect("url");
    let _ = as_metadata::asm_01_oauth_metadata(&doc.url, &doc.response, Some(doc));
    let _ = as_metadata::asm_03_json_object(&doc.response);
    let _ = as_metadata::asm_04_issuer("https://as.example", doc);
    let _ = as_metadata::asm_05_issuer_syntax(doc);
    let _ = as_metadata::asm_06_endpoints(doc);
    let _ = as_metadata::asm_07_response_types(doc);
    let _ = as_metadata::asm_08_pkce_methods(doc);
    let _ = as_metadata::asm_09_oidc_pkce(doc);
    let _ = as_metadata::asm_10_registration_endpoint(doc);
    let _ = as_metadata::asm_11_cimd_advertised(doc);
    let _ = as_metadata::asm_12_no_empty_members(doc);
    let _ = as_metadata::asm_13_endpoints_https(doc);
    let _ = as_metadata::asm_14_grant_types(doc);
    let _ = as_metadata::asm_15_public_clients(doc, true);
    let _ = as_metadata::asm_16_iss_advertised(doc, false);
    let _ = as_metadata::asm_17_documents_agree(doc, doc);
    let _ = as_metadata::asm_19_not_dcr_only(doc);
    let _ = prm::prm_06_root_document(&mcp, &doc.response, Some(doc));
    let _ = prm::prm_08_json_object(&doc.response);
    let _ = prm::prm_09_resource_matches(&mcp, doc);
    let _ = prm::prm_10_authorization_servers(doc);
    let _ = prm::prm_11_scopes_supported(doc);
    let _ = prm::prm_12_no_empty_members(doc);
    let _ = prm::prm_13_member_types(doc);
    let _ = prm::prm_14_bearer_methods(doc);
    let _ = prm::prm_16_signed_metadata(doc);
    let _ = prm::prm_17_listed_by_as(&mcp, doc);
    let _ = prm::prm_18_no_offline_access(doc);
}

/// A URL of any shape the url crate accepts for http(s).
fn http_url() -> impl Strategy<Value = Url> {
    (
        prop::sample::select(vec!["http", "https"]),
        "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,2}",
        prop::option::of(1u16..),
        prop::collection::vec("[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,8}", 0..5),
        any::<bool>(),
        prop::option::of("[a-z0-9=&%]{0,10}"),
        prop::option::of("[a-z0-9]{0,6}"),
    )
        .prop_filter_map(
            "a parseable URL",
            |(scheme, host, port, segments, slash, query, fragment)| {
                let mut s = format!("{scheme}://{host}");
                if let Some(p) = port {
                    s.push_str(&format!(":{p}"));
                }
                s.push('/');
                s.push_str(&segments.join("/"));
                if slash && !segments.is_empty() {
                    s.push('/');
                }
                if let Some(q) = query {
                    s.push_str(&format!("?{q}"));
                }
                if let Some(f) = fragment {
                    s.push_str(&format!("#{f}"));
                }
                Url::parse(&s).ok()
            },
        )
}

/// A secret as a run may meet one: token characters, or a phrase with punctuation.
fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_~-]{12,40}",
        "[A-Za-z0-9][A-Za-z0-9 /+=&?#%\"'<>.é-]{10,30}[A-Za-z0-9]",
    ]
}

/// What may stand beside a secret in text: nothing that would make it part of a longer value.
fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ", "\"", "'", "=", "&", "?", "(", ")", "<", ">", ",", ";", ":", "\n", "/", ".", "-",
        "%20", "…",
    ])
}

/// The forms in which a target may echo a secret.
fn encoded(secret: &str, form: usize) -> String {
    match form % 6 {
        0 => secret.to_string(),
        1 => url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        2 => base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
        3 => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        4 => serde_json::to_string(secret)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
        _ => secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    }
}

proptest! {
    #[test]
    fn www_authenticate_never_panics(input in ".{0,200}") {
        if let Ok(challenges) = www_authenticate::parse(&input) {
            for c in challenges {
                prop_assert!(!c.scheme.is_empty());
            }
        }
    }

    #[test]
    fn www_authenticate_reads_back_what_it_prints(
        challenges in prop::collection::vec(
            (
                "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,10}",
                prop::collection::vec(("[a-z_][a-z0-9_-]{0,10}", "[ -~]{0,20}"), 1..5),
            ),
            1..4,
        )
    ) {
        let built: Vec<www_authenticate::Challenge> = challenges
            .into_iter()
            .map(|(scheme, params)| www_authenticate::Challenge {
                scheme,
                token68: None,
                params,
            })
            .collect();
        let text = built.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let parsed = www_authenticate::parse(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&built), "{}", text);
    }

    #[test]
    fn metadata_checks_take_any_document(members in prop::collection::btree_map(member_name(), json(), 0..12)) {
        check_metadata(&document(members.into_iter().collect()));
    }

    #[test]
    fn metadata_checks_take_any_body(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let resp = response(200, body);
        let _ = as_metadata::asm_03_json_object(&resp);
        let _ = prm::prm_08_json_object(&resp);
        if let Ok(members) = resp.json_object() {
            check_metadata(&document(members));
        }
    }

    #[test]
    fn registration_responses_of_any_shape_are_read_or_refused(
        status in prop::sample::select(vec![200u16, 201, 400, 500]),
        body in prop_oneof![
            json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
            prop::collection::vec(any::<u8>(), 0..100),
        ],
        sent in prop::collection::btree_map(member_name(), json(), 0..6),
    ) {
        let resp = response(status, body);
        let redirect = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        let client = RegisteredClient::from_response(&resp, &redirect);
        // A client is read only from a JSON object with a non-empty string client_id.
        let id = resp
            .json_object()
            .ok()
            .and_then(|m| m.get("client_id").and_then(Value::as_str).map(str::to_string))
            .filter(|id| !id.is_empty());
        prop_assert_eq!(client.map(|c| c.client_id), id);
        let _ = registration::created(req::DCR_01, &resp);
        let _ = registration::dcr_02_echo(&sent.into_iter().collect(), &resp);
    }

    #[test]
    fn well_known_urls_keep_the_origin_and_place_the_suffix(
        u in http_url(),
        suffix in prop::sample::select(vec![
            "oauth-protected-resource",
            "oauth-authorization-server",
            "openid-configuration",
        ]),
    ) {
        let origin = u.origin();
        let inserted = wellknown::path_inserted(&u, suffix);
        prop_assert_eq!(inserted.origin(), origin.clone());
        prop_assert_eq!(inserted.fragment(), None);
        prop_assert_eq!(inserted.query(), u.query());
        let path = if u.path() == "/" { "" } else { u.path() };
        prop_assert_eq!(inserted.path(), format!("/.well-known/{suffix}{path}"));

        let root = wellknown::root(&u, suffix);
        prop_assert_eq!(root.origin(), origin.clone());
        prop_assert_eq!(root.path(), format!("/.well-known/{suffix}"));
        prop_assert_eq!(root.query(), None);

        let well_known = format!("/.well-known/{suffix}");
        let appended = wellknown::appended(&u, suffix);
        prop_assert_eq!(appended.origin(), origin.clone());
        prop_assert!(appended.path().ends_with(&well_known));

        let issuer = wellknown::issuer_path_inserted(&u, suffix);
        prop_assert_eq!(issuer.origin(), origin.clone());
        prop_assert!(issuer.path().starts_with(&well_known));
        prop_assert!(!issuer.path().ends_with('/'), "{}", issuer);

        let prm = wellknown::prm_candidates(&u);
        prop_assert!(matches!(prm.len(), 1 | 2));
        prop_assert_eq!(&prm[0], &inserted_for(&u, "oauth-protected-resource"));
        let as_urls = wellknown::as_metadata_candidates(&u);
        prop_assert!(matches!(as_urls.len(), 2 | 3));
        for (_, candidate) in as_urls {
            prop_assert_eq!(candidate.origin(), origin.clone());
        }
    }

    #[test]
    fn the_redactor_scrubs_a_known_secret_in_every_form(
        value in secret(),
        form in 0usize..6,
        before in "[ -~]{0,30}",
        after in "[ -~]{0,30}",
        left in separator(),
        right in separator(),
    ) {
        let secrets = Redactor::new();
        secrets.remember(&value);
        let echoed = encoded(&value, form);
        let text = format!("{before}{left}{echoed}{right}{after}");
        let scrubbed = secrets.scrub(&text);
        prop_assert!(!scrubbed.contains(&echoed), "{:?} -> {:?}", text, scrubbed);
        // Scrubbing again changes nothing.
        prop_assert_eq!(secrets.scrub(&scrubbed), scrubbed.clone());
        // The name- and shape-based redaction on top keeps it scrubbed.
        prop_assert!(!secrets.text(&text).contains(&echoed));
    }

    #[test]
    fn the_redactor_leaves_text_without_secrets_alone(text in ".{0,200}", value in secret()) {
        let secrets = Redactor::new();
        secrets.remember(&value);
        let has_a_form = (0..6).any(|f| {
            let e = encoded(&value, f);
            e.chars().count() >= 6 && text.contains(&e)
        });
        if !has_a_form && !text.contains("&amp;") && !text.contains("&#x27;") {
            prop_assert_eq!(secrets.scrub(&text), text);
        }
    }

    #[test]
    fn name_based_redaction_never_panics(text in ".{0,200}", name in "[ -~]{0,20}") {
        let _ = redact::redact_text(&text);
        let _ = redact::redact_url(&text);
        let _ = redact::redact_form(&text);
        let _ = redact::header_value(&name, &text);
        let mut v = Value::String(text);
        redact::redact_json(&mut v);
    }
}

fn inserted_for(u: &Url, suffix: &str) -> Url {
    wellknown::path_inserted(u, suffix)
}
