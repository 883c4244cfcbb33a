//! Checks of dynamic client registration (DCR-01, 02, 05).

use serde_json::{Map, Value};

use super::{Findings, describe, oauth_refusal};
use crate::client::http::Response;
use crate::verdict::Violation;

/// DCR-01 (and DCR-09, DCR-11 which expect the same): 201 with a JSON object body.
pub fn created(id: &str, resp: &Response) -> Findings {
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

/// DCR-02: a `client_id` string, and every registered member echoed. A changed
/// `redirect_uris` or `token_endpoint_auth_method` is a warning (the AS may substitute).
pub fn dcr_02_echo(sent: &Map<String, Value>, resp: &Response) -> Findings {
    let body = match resp.json_object() {
        Ok(b) => b,
        Err(e) => return vec![Violation::new("DCR-02", "a JSON object body", e)],
    };
    let mut out = Vec::new();
    match body.get("client_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => {}
        _ => out.push(Violation::new(
            "DCR-02",
            "a non-empty client_id string",
            describe(resp),
        )),
    }
    for (k, v) in sent {
        match body.get(k) {
            None => out.push(Violation::new(
                "DCR-02",
                format!("{k} echoed"),
                format!("{k} is missing"),
            )),
            Some(got) if got != v => {
                let w = Violation::new("DCR-02", format!("{k} = {v}"), format!("{k} = {got}"));
                out.push(
                    w.as_warning("the AS may substitute values; what it returns is authoritative"),
                );
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
            "DCR-05",
            "400 with a JSON error",
            describe(resp),
        )];
    }
    match resp.json_object() {
        Ok(b) if b.get("error").and_then(Value::as_str).is_some() => Vec::new(),
        Ok(_) => vec![Violation::new("DCR-05", "an error member", describe(resp))],
        Err(e) => vec![Violation::new("DCR-05", "a JSON error body", e)],
    }
}

/// DCR-06, DCR-07: refused with one of the allowed error codes.
pub fn refused_with(id: &str, resp: &Response, allowed: &[&str]) -> Findings {
    oauth_refusal(id, resp, &[400], allowed)
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
        assert!(created("DCR-01", &good).is_empty());
        let changed = json(
            201,
            r#"{"client_id":"c1","redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#,
        );
        let f = dcr_02_echo(sent, &changed);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Should);
        let no_id = json(201, r#"{"redirect_uris":["http://127.0.0.1:1/cb"]}"#);
        let f = dcr_02_echo(sent, &no_id);
        assert_eq!(
            f.iter().filter(|v| v.severity() == Severity::Must).count(),
            2
        );
        assert_eq!(created("DCR-01", &json(200, "{}")).len(), 1);
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
                "DCR-07",
                &json(400, r#"{"error":"invalid_client_metadata"}"#),
                &["invalid_redirect_uri", "invalid_client_metadata"]
            )
            .is_empty()
        );
    }
}
