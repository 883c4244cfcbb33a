//! Transport and redirect security (OAuth 2.1 §1.5, §2.3.1, §7.1.3.7; MCP security
//! considerations): https along the discovery chain (SEC-01), only localhost or https redirect
//! URIs (SEC-02), and no token in a URL (SEC-04).

use serde_json::Value;
use url::Url;

use crate::checks::{Findings, describe, is_https_or_loopback};
use crate::client::http::{Exchange, Response};
use crate::verdict::Violation;

/// SEC-01: every URL of the discovery chain (the MCP server, PRM, the issuers, the metadata
/// and every endpoint it names) is https. Plain http is accepted on loopback hosts only, the
/// development exception (OAuth 2.1 §1.5 and the MCP security considerations allow loopback).
/// Certificates are verified by the transport: a bad one stops the request.
pub fn sec_01_https_everywhere(urls: &[(String, String)]) -> Findings {
    urls.iter()
        .filter_map(|(what, raw)| {
            let problem = match Url::parse(raw) {
                Err(e) => Some(format!("not an absolute URL ({e})")),
                Ok(u) if !is_https_or_loopback(&u) => Some("plain http off loopback".into()),
                Ok(_) => None,
            };
            problem.map(|p| {
                Violation::new(
                    req::SEC_01,
                    format!("{what} over https"),
                    format!("{raw}: {p}"),
                )
            })
        })
        .collect()
}

/// SEC-02 (MCP security considerations: every redirect URI is localhost or https): a
/// registration with `uri`, which is neither, is not accepted as sent. Any refusal will do
/// (its error code is DCR-06's question); a 2xx passes only with `uri` left out of the
/// registered `redirect_uris` (what the response says is authoritative, RFC 7591 §3.2.1).
pub fn sec_02_redirect_refused(resp: &Response, uri: &str) -> Findings {
    if !resp.status.is_success() {
        return Vec::new();
    }
    let registered = resp.json_object().ok().and_then(|b| {
        b.get("redirect_uris")
            .and_then(Value::as_array)
            .map(|a| a.iter().any(|v| v.as_str() == Some(uri)))
    });
    if registered == Some(false) {
        return Vec::new();
    }
    vec![Violation::new(
        req::SEC_02,
        format!("{uri} refused: a redirect URI is localhost or https"),
        format!("{}: the client was registered", describe(resp)),
    )]
}

/// The names of the parameters in the query and the fragment of `location`, decoded.
fn url_parameter_names(location: &str) -> Vec<String> {
    let Some(i) = location.find(['?', '#']) else {
        return Vec::new();
    };
    location[i + 1..]
        .split(['?', '#', '&', ';'])
        .filter_map(|pair| {
            url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
        })
        .collect()
}

/// SEC-04 (OAuth 2.1 §7.1.3.7 and §10: no implicit grant, and no token in a URL's query or
/// fragment): no `Location` a target sent during the flow carries an
/// `access_token` or `refresh_token` parameter, in its query or its fragment.
pub fn sec_04_no_token_in_locations(exchanges: &[Exchange]) -> Findings {
    exchanges
        .iter()
        .flat_map(|x| {
            x.response_headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .flat_map(move |(_, location)| {
                    url_parameter_names(location)
                        .into_iter()
                        .filter(|n| n == "access_token" || n == "refresh_token")
                        .map(move |name| {
                            Violation::new(
                                req::SEC_04,
                                "no token in any URL: no access_token or refresh_token in a Location",
                                format!(
                                    "the answer to {} {} redirected to {location}, carrying {name}",
                                    x.method, x.url
                                ),
                            )
                        })
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::json;
    use crate::requirements::Severity;

    #[test]
    fn sec_01_examples() {
        let ok = vec![
            ("the MCP server".to_string(), "https://h/mcp".to_string()),
            (
                "jwks_uri".to_string(),
                "http://127.0.0.1:8/jwks".to_string(),
            ),
        ];
        assert!(sec_01_https_everywhere(&ok).is_empty());
        let bad = vec![("jwks_uri".to_string(), "http://as.example/jwks".to_string())];
        let f = sec_01_https_everywhere(&bad);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity(), Severity::Must);
    }

    #[test]
    fn sec_02_examples() {
        let uri = "http://client.example/callback";
        let refused = json(400, r#"{"error":"invalid_redirect_uri"}"#);
        assert!(sec_02_redirect_refused(&refused, uri).is_empty());
        // Any refusal: the error code is DCR-06's question.
        assert!(
            sec_02_redirect_refused(&json(400, r#"{"error":"invalid_request"}"#), uri).is_empty()
        );
        let registered = json(
            201,
            r#"{"client_id":"c","redirect_uris":["http://client.example/callback"]}"#,
        );
        let f = sec_02_redirect_refused(&registered, uri);
        assert_eq!(f.len(), 1);
        // MCP's rule is for the system as a whole: the AS's refusal is derived, a warning.
        assert_eq!(f[0].severity(), Severity::Should);
        let replaced = json(
            201,
            r#"{"client_id":"c","redirect_uris":["https://client.example/callback"]}"#,
        );
        assert!(sec_02_redirect_refused(&replaced, uri).is_empty());
        let silent = json(201, r#"{"client_id":"c"}"#);
        assert_eq!(sec_02_redirect_refused(&silent, uri).len(), 1);
    }

    fn redirect_exchange(location: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "https://as.example/consent".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(303),
            response_headers: vec![("location".into(), location.into())],
            response_body: None,
            error: None,
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn sec_04_examples() {
        let clean = [
            redirect_exchange("http://127.0.0.1:1/cb?code=abcd%E2%80%A6%5Bredacted%5D&state=s"),
            redirect_exchange("/login?next=%2Fauthorize%3Faccess_token_hint%3D1"),
        ];
        assert!(sec_04_no_token_in_locations(&clean).is_empty());
        let in_query =
            redirect_exchange("http://127.0.0.1:1/cb?code=c&access_token=eyJh%E2%80%A6&state=s");
        let f = sec_04_no_token_in_locations(&[in_query]);
        assert_eq!(f.len(), 1);
        assert!(f[0].actual.contains("carrying access_token"));
        let in_fragment = redirect_exchange(
            "https://client.example/cb#state=s&refresh_token=r&token_type=Bearer",
        );
        let f = sec_04_no_token_in_locations(&[in_fragment]);
        assert!(f[0].actual.contains("carrying refresh_token"));
        assert_eq!(
            url_parameter_names("https://c/cb?a=1&b#c=3"),
            vec!["a", "b", "c"]
        );
        assert!(url_parameter_names("https://c/cb").is_empty());
    }
}
