//! The router can be driven without a socket, and malformed requests get clear OAuth errors.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use reference_server::{Config, app};
use tower::ServiceExt;

async fn send(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let resp = app(Config::default()).unwrap().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn metadata_is_served_without_binding() {
    let req = Request::get("/.well-known/oauth-authorization-server")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issuer"], "http://127.0.0.1:0");
}

#[tokio::test]
async fn malformed_token_requests_get_oauth_errors() {
    let cases: Vec<(&str, &[u8], &str)> = vec![
        (
            "application/x-www-form-urlencoded",
            b"%%%",
            "invalid_request",
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=\xff\xfe",
            "unsupported_grant_type",
        ),
        (
            "application/json",
            b"{\"grant_type\":\"authorization_code\"}",
            "invalid_request",
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=authorization_code&client_id=nope",
            "invalid_client",
        ),
    ];
    for (ct, body, code) in cases {
        let req = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body.to_vec()))
            .unwrap();
        let (status, headers, json) = send(req).await;
        assert!(status.is_client_error(), "{ct} {body:?}: {status}");
        assert_eq!(json["error"], code, "{ct} {body:?}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn malformed_registrations_get_invalid_client_metadata() {
    for body in [&b"not json"[..], b"[1,2]", b"{\"redirect_uris\":", b"\xff"] {
        let req = Request::post("/oauth2/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_vec()))
            .unwrap();
        let (status, _, json) = send(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["error"], "invalid_client_metadata");
    }
}

#[tokio::test]
async fn malformed_authorization_requests_show_a_page() {
    for q in ["", "?client_id=%ff%fe", "?%%%", "?client_id=a&client_id=b"] {
        let req = Request::get(format!("/oauth2/authorize{q}"))
            .body(Body::empty())
            .unwrap();
        let resp = app(Config::default()).unwrap().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{q}");
        assert!(resp.headers().get(header::LOCATION).is_none());
    }
}
