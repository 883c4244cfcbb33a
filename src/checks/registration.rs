//! Checks of dynamic client registration (DCR-01..05, 08, 12..15).

use serde_json::{Map, Value};
use url::Url;

use super::{Findings, describe, is_https_or_loopback, oauth_refusal};
use crate::client::http::Response;
use crate::client::login::AuthorizationOutcome;
use crate::client::oauth::OAuthError;
use crate::verdict::Violation;

/// Judged by [`created`]: 201 with a JSON object.
pub const JUDGED_BY_CREATION: &[req::Id] = &[
    req::DCR_01, // a public client's registration (7591 §3.1, §3.2.1)
    req::DCR_09, // a registration with an unknown member, which is ignored (7591 §2)
    req::DCR_11, // a loopback redirect URI (O21 §8.4.2)
];

/// Judged by [`refused_with`].
pub const JUDGED_BY_REGISTRATION_REFUSAL: &[req::Id] = &[
    req::DCR_06, // a bad redirect URI: invalid_redirect_uri (7591 §3.2.2)
    req::DCR_07, // no redirect URIs for a code-flow client (7591 §2, §5)
    req::DCR_10, // a private-use scheme without a dot (O21 §2.3.1)
];

/// The requirements [`refused_with`] judges: every area's list.
pub const REGISTRATION_REFUSAL_JUDGES: &[&[req::Id]] = &[
    JUDGED_BY_REGISTRATION_REFUSAL,
    super::legacy::JUDGED_BY_REGISTRATION_REFUSAL,
];

/// DCR-01 (and DCR-09, DCR-11 which expect the same): 201 with a JSON object body.
pub fn created(id: req::Id, resp: &Response) -> Findings {
    if resp.status.as_u16() != 201 {
        return vec![Violation::new(
            id,
            "201 Created with a JSON object",
            describe(resp),
        )];
    }
    match resp.json_object() {
        Ok(_) => Vec::new(),
        Err(e) => vec![Violation::new(id, "a JSON object body", e)],
    }
}

/// DCR-02: a `client_id` string, and every registered member echoed. A changed value is
/// info: RFC 7591 §3.2.1 lets the AS replace any requested value, and what it returns is
/// what it registered. Only a member left out breaks the requirement.
pub fn dcr_02_echo(sent: &Map<String, Value>, resp: &Response) -> Findings {
    let body = match resp.json_object() {
        Ok(b) => b,
        Err(e) => return vec![Violation::new(req::DCR_02, "a JSON object body", e)],
    };
    let mut out = Vec::new();
    match body.get("client_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => {}
        _ => out.push(Violation::new(
            req::DCR_02,
            "a non-empty client_id string",
            describe(resp),
        )),
    }
    for (k, v) in sent {
        match body.get(k) {
            None => out.push(Violation::new(
                req::DCR_02,
                format!("{k} echoed"),
                format!("{k} is missing"),
            )),
            Some(got) if got != v => {
                let w = Violation::new(req::DCR_02, format!("{k} = {v}"), format!("{k} = {got}"));
                out.push(w.as_info(
                    "the AS may replace any requested value (RFC 7591 §3.2.1); what it returns is what it registered",
                ));
            }
            Some(_) => {}
        }
    }
    out
}

/// DCR-05: 400 with a JSON object holding an `error` string.
pub fn dcr_05_error_shape(resp: &Response) -> Findings {
    if resp.status.as_u16() != 400 {
        return vec![Violation::new(
            req::DCR_05,
            "400 with a JSON error",
            describe(resp),
        )];
    }
    match resp.json_object() {
        Ok(b) if b.get("error").and_then(Value::as_str).is_some() => Vec::new(),
        Ok(_) => vec![Violation::new(
            req::DCR_05,
            "an error member",
            describe(resp),
        )],
        Err(e) => vec![Violation::new(req::DCR_05, "a JSON error body", e)],
    }
}

/// DCR-06, DCR-07, DCR-10: refused with one of the allowed error codes. The status is DCR-05's
/// to judge. Where `invalid_redirect_uri` alone is asked for, `invalid_client_metadata` fits
/// too (RFC 7591 §3.2.2 defines it for any metadata field, `redirect_uris` included, and no
/// text makes either the code for a bad redirect URI): that refusal is info, not a violation.
pub fn refused_with(id: req::Id, resp: &Response, allowed: &[&str]) -> Findings {
    let findings = super::refused_with_code(id, resp, allowed);
    let other_fitting_code = allowed == ["invalid_redirect_uri"]
        && (resp.status.is_client_error() || resp.status.is_server_error())
        && OAuthError::from_response(resp).is_some_and(|e| e.error == "invalid_client_metadata");
    if findings.is_empty() || !other_fitting_code {
        return findings;
    }
    vec![
        Violation::new(
            id,
            "a refusal with error \"invalid_redirect_uri\"",
            "refused, but with invalid_client_metadata instead of invalid_redirect_uri",
        )
        .as_info(
            "RFC 7591 §3.2.2 defines both codes; invalid_client_metadata covers redirect_uris too",
        ),
    ]
}

/// Whether a registration response shows what DCR-03 and DCR-04 judge: a client was registered
/// (2xx with a `client_id`), and, for DCR-03 (`needs_secret`), a `client_secret` was issued.
/// `Err` says why there is no evidence either way: a registration refused for a reason of the
/// target's own is no finding of these requirements.
pub fn registration_evidence(resp: &Response, needs_secret: bool) -> Result<(), String> {
    let body = resp
        .json_object()
        .ok()
        .filter(|b| resp.status.is_success() && b.get("client_id").is_some_and(Value::is_string))
        .ok_or_else(|| {
            format!(
                "the registration itself failed ({}), so what it would have issued is unknown",
                describe(resp)
            )
        })?;
    if needs_secret && body.get("client_secret").is_none_or(Value::is_null) {
        return Err(
            "the AS registered the confidential client without a client_secret, so there is no secret whose expiry to check".into(),
        );
    }
    Ok(())
}

/// DCR-03 (RFC 7591 §3.2.1: `client_secret_expires_at` is REQUIRED if `client_secret` is
/// issued): a response with a secret states its expiry as a number (0: never).
pub fn dcr_03_secret_expiry(resp: &Response) -> Findings {
    let Ok(body) = resp.json_object() else {
        return vec![Violation::new(
            req::DCR_03,
            "a JSON registration response",
            describe(resp),
        )];
    };
    if body.get("client_secret").is_none_or(Value::is_null) {
        return Vec::new();
    }
    match body.get("client_secret_expires_at") {
        Some(v) if v.is_u64() => Vec::new(),
        Some(v) => vec![Violation::new(
            req::DCR_03,
            "client_secret_expires_at a number of seconds since the epoch (0: never)",
            format!("client_secret_expires_at = {v}"),
        )],
        None => vec![Violation::new(
            req::DCR_03,
            "client_secret_expires_at beside the client_secret",
            "a client_secret without client_secret_expires_at",
        )],
    }
}

/// DCR-04 (RFC 7591 §2: `none` is a public client; OAuth 2.1 §2.1): a registration with
/// `token_endpoint_auth_method: none` gets no secret.
pub fn dcr_04_no_secret(resp: &Response) -> Findings {
    match resp.json_object() {
        Ok(b) if b.get("client_secret").is_some_and(|v| !v.is_null()) => vec![Violation::new(
            req::DCR_04,
            "no client_secret for a client registered with token_endpoint_auth_method none",
            "a client_secret was issued",
        )],
        _ => Vec::new(),
    }
}

/// DCR-08 (RFC 7591 §2, §3.2.2): metadata made invalid by `tampered` is refused with 400
/// `invalid_client_metadata`, or registered with a valid value substituted, which the
/// response shows: a 201 must come back with at least one tampered member changed.
pub fn dcr_08_refused_or_substituted(resp: &Response, tampered: &Map<String, Value>) -> Findings {
    let names: Vec<&str> = tampered.keys().map(String::as_str).collect();
    if resp.status.is_success() {
        let Ok(body) = resp.json_object() else {
            return vec![Violation::new(
                req::DCR_08,
                "a JSON registration response",
                describe(resp),
            )];
        };
        let substituted = tampered.iter().any(|(k, v)| body.get(k) != Some(v));
        if substituted {
            return Vec::new();
        }
        return vec![Violation::new(
            req::DCR_08,
            format!(
                "400 invalid_client_metadata, or a valid value substituted for {}",
                names.join(" and ")
            ),
            format!(
                "{}: the invalid {} registered as sent",
                resp.status.as_u16(),
                names.join(" and ")
            ),
        )];
    }
    oauth_refusal(req::DCR_08, resp, &[400], &["invalid_client_metadata"])
}

/// DCR-12 (RFC 7591 §3: the registration endpoint MUST use TLS): an https endpoint. http on
/// a loopback host is accepted, as everywhere in the harness, for development targets.
pub fn dcr_12_tls(endpoint: &Url) -> Findings {
    if is_https_or_loopback(endpoint) {
        return Vec::new();
    }
    vec![Violation::new(
        req::DCR_12,
        "an https registration endpoint",
        format!("registration_endpoint {endpoint}"),
    )]
}

/// DCR-13 (OAuth 2.1 §3.2.3, by extension to any response carrying a credential): a
/// registration response with a `client_secret` carries `Cache-Control: no-store`. `None` when
/// no secret was issued, so there is nothing to check.
pub fn dcr_13_no_store(resp: &Response) -> Option<Findings> {
    let body = resp.json_object().ok()?;
    body.get("client_secret").filter(|v| !v.is_null())?;
    let no_store = resp
        .header_all("cache-control")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
    Some(if no_store {
        Vec::new()
    } else {
        vec![Violation::new(
            req::DCR_13,
            "Cache-Control: no-store on a response carrying a client_secret",
            match resp.header("cache-control") {
                Some(v) => format!("Cache-Control: {v}"),
                None => "no Cache-Control".into(),
            },
        )]
    })
}

/// DCR-14 (RFC 7591 §3.2.1: the client identifier is usable once issued): an authorization
/// request from the client just registered is taken up (a login, a code, or an error
/// redirect to the client), not ended on an error page.
pub fn dcr_14_usable(outcome: &AuthorizationOutcome) -> Findings {
    match outcome {
        AuthorizationOutcome::Redirect { .. } => Vec::new(),
        AuthorizationOutcome::Page { .. } => vec![Violation::new(
            req::DCR_14,
            "the new client_id accepted at the authorization endpoint",
            outcome.describe(),
        )],
    }
}

/// Whether a registration was refused as needing an initial access token (RFC 7591 §3: the
/// endpoint MAY be protected by one, its errors as in RFC 6750 §3.1): 401, or the error
/// `invalid_token`. The harness has no such token, so this refusal is the target's choice and
/// a reason to skip what needed the registration, never a verdict on it.
pub fn initial_access_token_required(resp: &Response) -> bool {
    resp.status.as_u16() == 401
        || OAuthError::from_response(resp).is_some_and(|e| e.error == "invalid_token")
}

/// DCR-15 (RFC 7591 §3: the AS MAY require an initial access token): a registration without
/// one is open (201), or refused as needing a token (401, or error `invalid_token`). Any
/// other refusal of a valid registration does not say why, and is graded as a warning.
pub fn dcr_15_open_or_token_required(resp: &Response) -> Findings {
    if resp.status.as_u16() == 201 || initial_access_token_required(resp) {
        return Vec::new();
    }
    vec![Violation::new(
        req::DCR_15,
        "201, or 401 / invalid_token when an initial access token is required",
        describe(resp),
    )]
}

/// DCR-16 (MCP 2026-07-28 reg §3.1: an MCP client MUST send `application_type`, `native` for
/// a local client; RFC 7591 §2: members the AS does not know are ignored): a native public
/// client with loopback redirect URIs is registered, 201 with a JSON object, and an echoed
/// `application_type` is `native`.
pub fn dcr_16_native_accepted(resp: &Response) -> Findings {
    let out = created(req::DCR_16, resp);
    if !out.is_empty() {
        return out;
    }
    match resp
        .json_object()
        .ok()
        .and_then(|b| b.get("application_type").cloned())
    {
        None => Vec::new(),
        Some(v) if v == "native" => Vec::new(),
        Some(v) => vec![Violation::new(
            req::DCR_16,
            "application_type native, as registered",
            format!("application_type = {v}"),
        )],
    }
}

/// DCR-17 (MCP 2026-07-28 reg §3.1: an AS may apply redirect URI rules that depend on the
/// application type; RFC 7591 §3.2.2 for a refusal): what the AS did with a `web` client whose
/// redirect URI is on localhost, recorded as one observation: registered, refused with
/// `invalid_redirect_uri` or `invalid_client_metadata`, or refused some other way.
pub fn dcr_17_web_loopback(resp: &Response) -> Findings {
    const ID: req::Id = req::DCR_17;
    let expected =
        "registered (201), or refused with 400 invalid_redirect_uri or invalid_client_metadata";
    let actual = if resp.status.as_u16() == 201 {
        "registered (201)".to_string()
    } else if refused_with(
        ID,
        resp,
        &["invalid_redirect_uri", "invalid_client_metadata"],
    )
    .is_empty()
    {
        format!("refused as RFC 7591 §3.2.2 says: {}", describe(resp))
    } else {
        format!(
            "refused, but not with an RFC 7591 §3.2.2 error: {}",
            describe(resp)
        )
    };
    vec![Violation::new(ID, expected, actual)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::json;
    use crate::requirements::Severity;
    use serde_json::json;

    #[test]
    fn echo_examples() {
        let sent = json!({"redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "none"});
        let sent = sent.as_object().expect("object");
        let good = json(
            201,
            r#"{"client_id":"c1","redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none"}"#,
        );
        assert!(dcr_02_echo(sent, &good).is_empty());
        assert!(created(req::DCR_01, &good).is_empty());
        let changed = json(
            201,
            r#"{"client_id":"c1","redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#,
        );
        let f = dcr_02_echo(sent, &changed);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Info);
        let left_out = json(
            201,
            r#"{"client_id":"c1","redirect_uris":["http://127.0.0.1:1/cb"]}"#,
        );
        let f = dcr_02_echo(sent, &left_out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Must);
        let no_id = json(201, r#"{"redirect_uris":["http://127.0.0.1:1/cb"]}"#);
        let f = dcr_02_echo(sent, &no_id);
        assert_eq!(
            f.iter().filter(|v| v.severity() == Severity::Must).count(),
            2
        );
        assert_eq!(created(req::DCR_01, &json(200, "{}")).len(), 1);
    }

    #[test]
    fn error_shape_examples() {
        assert!(dcr_05_error_shape(&json(400, r#"{"error":"invalid_redirect_uri"}"#)).is_empty());
        assert_eq!(
            dcr_05_error_shape(&json(400, r#"{"message":"bad"}"#)).len(),
            1
        );
        assert_eq!(
            dcr_05_error_shape(&json(500, r#"{"error":"server_error"}"#)).len(),
            1
        );
        assert!(
            refused_with(
                req::DCR_07,
                &json(400, r#"{"error":"invalid_client_metadata"}"#),
                &["invalid_redirect_uri", "invalid_client_metadata"]
            )
            .is_empty()
        );
    }

    #[test]
    fn dcr_03_and_04_need_a_registration_to_judge() {
        let with_secret = json(201, r#"{"client_id":"c","client_secret":"s3cr3t"}"#);
        assert!(registration_evidence(&with_secret, true).is_ok());
        let public = json(201, r#"{"client_id":"c"}"#);
        assert!(registration_evidence(&public, false).is_ok());
        let reason = registration_evidence(&public, true).expect_err("no secret");
        assert!(reason.contains("without a client_secret"), "{reason}");
        let refused = json(400, r#"{"error":"invalid_client_metadata"}"#);
        let reason = registration_evidence(&refused, false).expect_err("refused");
        assert!(reason.contains("registration itself failed"), "{reason}");
        let rate_limited = json(200, r#"{"error":"slow down"}"#);
        assert!(registration_evidence(&rate_limited, false).is_err());
    }

    #[test]
    fn dcr_03_and_04_examples() {
        let with_expiry = json(
            201,
            r#"{"client_id":"c","client_secret":"s3cr3t","client_secret_expires_at":0}"#,
        );
        assert!(dcr_03_secret_expiry(&with_expiry).is_empty());
        let without = json(201, r#"{"client_id":"c","client_secret":"s3cr3t"}"#);
        assert_eq!(dcr_03_secret_expiry(&without).len(), 1);
        let as_text = json(
            201,
            r#"{"client_id":"c","client_secret":"s","client_secret_expires_at":"never"}"#,
        );
        assert_eq!(dcr_03_secret_expiry(&as_text).len(), 1);
        let public = json(201, r#"{"client_id":"c"}"#);
        assert!(dcr_03_secret_expiry(&public).is_empty());
        assert!(dcr_04_no_secret(&public).is_empty());
        let f = dcr_04_no_secret(&without);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn a_bad_redirect_uri_refused_with_either_rfc_7591_code() {
        let redirect = json(400, r#"{"error":"invalid_redirect_uri"}"#);
        assert!(refused_with(req::DCR_06, &redirect, &["invalid_redirect_uri"]).is_empty());
        let metadata = json(400, r#"{"error":"invalid_client_metadata"}"#);
        let f = refused_with(req::DCR_06, &metadata, &["invalid_redirect_uri"]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Info);
        assert!(f[0].actual.contains("instead of invalid_redirect_uri"));
        // Another code, or an acceptance, is still the requirement's violation.
        let other = json(400, r#"{"error":"invalid_request"}"#);
        let f = refused_with(req::DCR_10, &other, &["invalid_redirect_uri"]);
        assert_eq!(f[0].severity(), Severity::Should);
        let accepted = json(201, r#"{"client_id":"c"}"#);
        let f = refused_with(req::DCR_06, &accepted, &["invalid_redirect_uri"]);
        assert_eq!(f[0].severity(), Severity::Should);
    }

    #[test]
    fn dcr_08_examples() {
        let tampered = json!({"token_endpoint_auth_method": "foo"});
        let tampered = tampered.as_object().expect("object");
        let refused = json(400, r#"{"error":"invalid_client_metadata"}"#);
        assert!(dcr_08_refused_or_substituted(&refused, tampered).is_empty());
        let other_code = json(400, r#"{"error":"invalid_request"}"#);
        assert_eq!(
            dcr_08_refused_or_substituted(&other_code, tampered).len(),
            1
        );
        let substituted = json(
            201,
            r#"{"client_id":"c","token_endpoint_auth_method":"none"}"#,
        );
        assert!(dcr_08_refused_or_substituted(&substituted, tampered).is_empty());
        let kept = json(
            201,
            r#"{"client_id":"c","token_endpoint_auth_method":"foo"}"#,
        );
        let f = dcr_08_refused_or_substituted(&kept, tampered);
        assert!(f[0].actual.contains("registered as sent"));
    }

    #[test]
    fn dcr_12_examples() {
        let u = |s: &str| Url::parse(s).expect("url");
        assert!(dcr_12_tls(&u("https://as.example/register")).is_empty());
        assert!(dcr_12_tls(&u("http://127.0.0.1:8080/register")).is_empty());
        assert_eq!(dcr_12_tls(&u("http://as.example/register")).len(), 1);
    }

    #[test]
    fn dcr_13_examples() {
        use crate::checks::testing::response;
        let body = r#"{"client_id":"c","client_secret":"s3cr3t","client_secret_expires_at":0}"#;
        let stored = response(
            201,
            &[
                ("content-type", "application/json"),
                ("cache-control", "private, no-store"),
            ],
            body,
        );
        assert_eq!(dcr_13_no_store(&stored).map(|f| f.len()), Some(0));
        let cached = json(201, body);
        let f = dcr_13_no_store(&cached).expect("a secret was issued");
        assert_eq!(f[0].actual, "no Cache-Control");
        assert!(dcr_13_no_store(&json(201, r#"{"client_id":"c"}"#)).is_none());
    }

    #[test]
    fn dcr_14_examples() {
        let code = AuthorizationOutcome::Redirect {
            location: Url::parse("http://127.0.0.1:1/cb?code=c").expect("url"),
            params: vec![("code".into(), "c".into())],
        };
        assert!(dcr_14_usable(&code).is_empty());
        let page = AuthorizationOutcome::Page {
            url: Url::parse("https://as/authorize").expect("url"),
            status: 400,
            reason: "an error status".into(),
        };
        assert_eq!(dcr_14_usable(&page)[0].severity(), Severity::Should);
    }

    #[test]
    fn only_401_or_invalid_token_says_an_initial_access_token_is_needed() {
        assert!(initial_access_token_required(&json(401, "")));
        assert!(initial_access_token_required(&json(
            403,
            r#"{"error":"invalid_token"}"#
        )));
        // A refusal of the metadata is the registration's verdict, never a reason to skip.
        assert!(!initial_access_token_required(&json(
            400,
            r#"{"error":"invalid_client_metadata"}"#
        )));
        assert!(!initial_access_token_required(&json(
            400,
            r#"{"error":"invalid_redirect_uri"}"#
        )));
        assert!(!initial_access_token_required(&json(
            201,
            r#"{"client_id":"c"}"#
        )));
    }

    #[test]
    fn dcr_15_examples() {
        assert!(dcr_15_open_or_token_required(&json(201, r#"{"client_id":"c"}"#)).is_empty());
        assert!(dcr_15_open_or_token_required(&json(401, "{}")).is_empty());
        assert!(
            dcr_15_open_or_token_required(&json(403, r#"{"error":"invalid_token"}"#)).is_empty()
        );
        assert_eq!(
            dcr_15_open_or_token_required(&json(403, r#"{"error":"access_denied"}"#)).len(),
            1
        );
    }

    #[test]
    fn dcr_16_examples() {
        assert!(dcr_16_native_accepted(&json(201, r#"{"client_id":"c"}"#)).is_empty());
        assert!(
            dcr_16_native_accepted(&json(
                201,
                r#"{"client_id":"c","application_type":"native"}"#
            ))
            .is_empty()
        );
        let web = json(201, r#"{"client_id":"c","application_type":"web"}"#);
        let f = dcr_16_native_accepted(&web);
        assert_eq!(f[0].severity(), Severity::Should);
        let refused = json(400, r#"{"error":"invalid_redirect_uri"}"#);
        assert_eq!(
            dcr_16_native_accepted(&refused)[0].severity(),
            Severity::Should
        );
    }

    #[test]
    fn dcr_17_records_what_happened() {
        let accepted = dcr_17_web_loopback(&json(201, r#"{"client_id":"c"}"#));
        assert_eq!(accepted[0].actual, "registered (201)");
        assert_eq!(accepted[0].severity(), Severity::Info);
        let proper = dcr_17_web_loopback(&json(400, r#"{"error":"invalid_redirect_uri"}"#));
        assert!(proper[0].actual.starts_with("refused as RFC 7591"));
        let improper = dcr_17_web_loopback(&json(403, r#"{"error":"access_denied"}"#));
        assert!(improper[0].actual.starts_with("refused, but not with"));
        assert_eq!(improper[0].severity(), Severity::Info);
    }
}
