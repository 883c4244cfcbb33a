//! Single use is atomic: concurrent redemptions of one code, or refreshes of one refresh token,
//! give exactly one success (CODE-02, REFRESH-02).

mod common;

use common::*;
use reference_server::Config;
use reqwest::StatusCode;

async fn race(
    http: &reqwest::Client,
    token_url: &str,
    form: Vec<(String, String)>,
    n: usize,
) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let http = http.clone();
            let url = token_url.to_string();
            let form = form.clone();
            tokio::spawn(async move {
                let resp = http.post(&url).form(&form).send().await.unwrap();
                let status = resp.status();
                let body: serde_json::Value = resp.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let (mut ok, mut invalid_grant) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.unwrap();
        if status == StatusCode::OK {
            ok += 1;
        } else if body["error"] == "invalid_grant" {
            invalid_grant += 1;
        }
    }
    (ok, invalid_grant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_redemptions_of_one_code_give_one_success() {
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
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".into(), code),
        ("code_verifier".into(), VERIFIER.into()),
        ("client_id".into(), client.client_id.clone()),
    ];
    assert_eq!(race(&http, &ep.token, form, 50).await, (1, 49));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_refreshes_of_one_token_give_one_success() {
    let s = logged_in(Config::default()).await;
    let form = vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        ("refresh_token".into(), s.refresh_token().to_string()),
        ("client_id".into(), s.client.client_id.clone()),
    ];
    assert_eq!(race(&s.http, &s.ep.token, form, 50).await, (1, 49));
}
