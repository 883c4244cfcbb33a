//! Single use holds at scale: 10,000 concurrent redemptions of one code, and 10,000 concurrent
//! refreshes of one refresh token, each give exactly one success (CODE-02, REFRESH-02). The
//! requests go to the server's own router in the process (with every limit it serves with),
//! sharing the state of a server that issued the code over loopback.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use reference_server::Config;
use tower::ServiceExt;

const REPLAYS: usize = 10_000;

/// The served router of `server`, to call without sockets.
fn router_of(server: &reference_server::RunningServer) -> Router {
    reference_server::serve::protect(
        reference_server::router(server.state.clone()),
        &server.state.config,
    )
}

/// Sends `form` to `path` `REPLAYS` times at once: (successes, `invalid_grant` refusals).
async fn replay(router: &Router, path: &str, form: &[(&str, &str)]) -> (usize, usize) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let tasks: Vec<_> = (0..REPLAYS)
        .map(|_| {
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.clone()))
                .unwrap();
            let router = router.clone();
            tokio::spawn(async move {
                let resp = router.oneshot(request).await.unwrap();
                let status = resp.status();
                let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let body: serde_json::Value =
                    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                (status, body)
            })
        })
        .collect();
    let (mut ok, mut invalid_grant) = (0, 0);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == StatusCode::OK {
            ok += 1;
        } else if status == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant" {
            invalid_grant += 1;
        }
    }
    (ok, invalid_grant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_concurrent_redemptions_of_one_code_give_one_success() {
    let server = start(Config::default()).await;
    let http = http();
    let ep = Endpoints::fetch(&http, &server.urls.as_metadata).await;
    let client = register_public(&http, &ep).await;
    let code = code_for(
        &http,
        &ep,
        &AuthRequest::new(&client.client_id, &server.urls.mcp),
    )
    .await;
    let path = url::Url::parse(&ep.token).unwrap().path().to_string();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", client.client_id.as_str()),
    ];
    let counted = replay(&router_of(&server), &path, &form).await;
    assert_eq!(counted, (1, REPLAYS - 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_concurrent_refreshes_of_one_token_give_one_success() {
    let s = logged_in(Config::default()).await;
    let path = url::Url::parse(&s.ep.token).unwrap().path().to_string();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", s.refresh_token()),
        ("client_id", s.client.client_id.as_str()),
    ];
    let counted = replay(&router_of(&s.server), &path, &form).await;
    assert_eq!(counted, (1, REPLAYS - 1));
}
