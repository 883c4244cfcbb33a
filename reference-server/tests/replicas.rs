//! Several instances of the authorization server (`--replicas`): every instance serves the AS
//! endpoints at the paths the metadata gives, and a code or refresh token spent at one is spent
//! at all (REPL-01, REPL-03), unless the `store-per-instance` defect gives each its own store;
//! a replaced refresh token reused at one revokes the live one at all (REPL-06), unless the
//! `family-revocation-per-instance` defect keeps that revocation where the reuse was seen; a
//! code past its lifetime is refused at all (REPL-07), unless the `code-expiry-per-instance`
//! defect leaves its lifetime to the instance that issued it. With a route header, the first
//! listener reaches every instance by that header, as a load balancer would.

mod common;

use common::*;
use reference_server::{Config, Defect, Defects};
use reqwest::StatusCode;

/// The token endpoint at the instance `origin`: the same path on another origin.
fn at(origin: &str, endpoint: &str) -> String {
    let path = url::Url::parse(endpoint).expect("an absolute endpoint");
    format!("{origin}{}", path.path())
}

fn replicated(defects: Defects) -> Config {
    Config {
        replicas: 2,
        defects,
        ..Config::default()
    }
}

/// The routing header of the tests that reach the instances through the first listener.
const ROUTE: &str = "X-Instance";

fn routed(defects: Defects) -> Config {
    Config {
        route_header: Some(ROUTE.into()),
        ..replicated(defects)
    }
}

/// A code redeemed at the metadata's token endpoint and the grant's refresh token replaced
/// there: the code, and the live refresh token (`s.refresh_token()` is the replaced one).
async fn redeemed_and_refreshed(s: &Session) -> (String, String) {
    let code = code_for(
        &s.http,
        &s.ep,
        &AuthRequest::new(&s.client.client_id, &s.server.urls.mcp),
    )
    .await;
    let (status, _, _) = exchange(&s.http, &s.ep, &s.client, &code, &s.server.urls.mcp).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, tokens) = token_request(
        &s.http,
        &s.ep,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s.refresh_token()),
            ("client_id", &s.client.client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let live = tokens["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_string();
    (code, live)
}

/// Redeems a code at the metadata's token endpoint, replays it at each instance, then
/// refreshes there and reuses the replaced refresh token at each instance: the statuses of
/// the code replays and of the refresh-token reuses. Each instance is reached at its origin,
/// or, with the config's route header, at the metadata's endpoint with that header.
async fn spend_here_try_there(config: Config) -> (Vec<StatusCode>, Vec<StatusCode>) {
    let s = logged_in(config).await;
    assert_eq!(s.server.urls.replicas.len(), 2);
    let mut replays = Vec::new();
    let mut reuses = Vec::new();
    let (code, _) = redeemed_and_refreshed(&s).await;
    let by_route = s.server.urls.route_header.is_some();
    for (i, origin) in s.server.urls.replicas.iter().enumerate() {
        let (url, route) = match by_route {
            true => (s.ep.token.clone(), (i + 1).to_string()),
            false => (at(origin, &s.ep.token), "0".to_string()),
        };
        let replay = s
            .http
            .post(&url)
            .header(ROUTE, &route)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("code_verifier", VERIFIER),
                ("client_id", s.client.client_id.as_str()),
            ])
            .send()
            .await
            .expect("the instance answers");
        replays.push(replay.status());
        let reuse = s
            .http
            .post(&url)
            .header(ROUTE, &route)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", s.refresh_token()),
                ("client_id", s.client.client_id.as_str()),
            ])
            .send()
            .await
            .expect("the instance answers");
        reuses.push(reuse.status());
    }
    (replays, reuses)
}

#[tokio::test]
async fn every_instance_serves_the_as_and_spends_from_one_store() {
    let (replays, reuses) = spend_here_try_there(replicated(Defects::none())).await;
    assert_eq!(replays, [StatusCode::BAD_REQUEST; 2]);
    assert_eq!(reuses, [StatusCode::BAD_REQUEST; 2]);
}

#[tokio::test]
async fn with_a_store_per_instance_what_one_spent_is_fresh_at_the_others() {
    let (replays, reuses) =
        spend_here_try_there(replicated(Defects::only(Defect::StorePerInstance))).await;
    assert_eq!(replays, [StatusCode::OK; 2]);
    assert_eq!(reuses, [StatusCode::OK; 2]);
}

#[tokio::test]
async fn a_route_header_reaches_every_instance_through_the_first_listener() {
    let (replays, reuses) = spend_here_try_there(routed(Defects::none())).await;
    assert_eq!(replays, [StatusCode::BAD_REQUEST; 2]);
    assert_eq!(reuses, [StatusCode::BAD_REQUEST; 2]);
    // Under the defect, the instance the header names is the one that answers: its own store.
    let (replays, reuses) =
        spend_here_try_there(routed(Defects::only(Defect::StorePerInstance))).await;
    assert_eq!(replays, [StatusCode::OK; 2]);
    assert_eq!(reuses, [StatusCode::OK; 2]);
}

#[tokio::test]
async fn a_route_to_no_instance_is_refused_naming_the_header() {
    let server = reference_server::start(routed(Defects::none()))
        .await
        .expect("starts");
    assert_eq!(server.urls.route_header.as_deref(), Some(ROUTE));
    let http = reqwest::Client::new();
    for bad in ["3", "b", "-1"] {
        let resp = http
            .get(&server.urls.as_metadata)
            .header(ROUTE, bad)
            .send()
            .await
            .expect("answers");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body = resp.text().await.expect("a body");
        assert!(
            body.contains("x-instance: no such instance (0 to 2)"),
            "{body}"
        );
    }
    let bad = reference_server::start(Config {
        route_header: Some("X Instance".into()),
        ..Config::default()
    })
    .await;
    let Err(e) = bad else {
        panic!("a route header that is not a header name is refused at start");
    };
    assert!(
        e.to_string().contains("route header: \"X Instance\""),
        "{e}"
    );
    for good in ["0", "1", "2"] {
        let resp = http
            .get(&server.urls.as_metadata)
            .header(ROUTE, good)
            .send()
            .await
            .expect("answers");
        assert_eq!(resp.status(), StatusCode::OK, "{good}");
    }
    server.shutdown().await;
}

/// Refreshes at the metadata's token endpoint, reuses the replaced refresh token at the first
/// other instance, then refreshes with the live refresh token there and then where the
/// metadata says: the statuses of the reuse and of the two refreshes with the live token.
async fn reuse_there_live_here(config: Config) -> [StatusCode; 3] {
    let s = logged_in(config).await;
    let (_, live) = redeemed_and_refreshed(&s).await;
    let there = at(&s.server.urls.replicas[0], &s.ep.token);
    let id = s.client.client_id.as_str();
    [
        refresh_at(&s.http, &there, s.refresh_token(), id).await,
        refresh_at(&s.http, &there, &live, id).await,
        refresh_at(&s.http, &s.ep.token, &live, id).await,
    ]
}

/// The status of a refresh with `rt` as `client_id` at the token endpoint `url`.
async fn refresh_at(http: &reqwest::Client, url: &str, rt: &str, client_id: &str) -> StatusCode {
    http.post(url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
        ])
        .send()
        .await
        .expect("the instance answers")
        .status()
}

#[tokio::test]
async fn a_reuse_at_one_instance_revokes_the_live_refresh_token_at_every_instance() {
    let statuses = reuse_there_live_here(replicated(Defects::none())).await;
    assert_eq!(statuses, [StatusCode::BAD_REQUEST; 3]);
}

#[tokio::test]
async fn with_family_revocation_per_instance_the_live_token_is_served_where_the_reuse_was_not_seen()
{
    let statuses = reuse_there_live_here(replicated(Defects::only(
        Defect::FamilyRevocationPerInstance,
    )))
    .await;
    assert_eq!(
        statuses,
        [
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::OK
        ]
    );
}

/// Two codes past their lifetime: the status of the first, redeemed at the metadata's token
/// endpoint, and of the second, redeemed at each other instance.
async fn expire_here_try_there(defects: Defects) -> (StatusCode, Vec<StatusCode>) {
    let ttl = std::time::Duration::from_millis(400);
    let s = logged_in(Config {
        code_ttl: ttl,
        ..replicated(defects)
    })
    .await;
    let req = AuthRequest::new(&s.client.client_id, &s.server.urls.mcp);
    let first = code_for(&s.http, &s.ep, &req).await;
    let second = code_for(&s.http, &s.ep, &req).await;
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    let (here, _, body) = exchange(&s.http, &s.ep, &s.client, &first, &s.server.urls.mcp).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let mut there = Vec::new();
    for origin in &s.server.urls.replicas {
        let resp = s
            .http
            .post(at(origin, &s.ep.token))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", second.as_str()),
                ("code_verifier", VERIFIER),
                ("client_id", s.client.client_id.as_str()),
            ])
            .send()
            .await
            .expect("the instance answers");
        there.push(resp.status());
    }
    (here, there)
}

#[tokio::test]
async fn a_code_past_its_lifetime_is_refused_at_every_instance() {
    let (here, there) = expire_here_try_there(Defects::none()).await;
    assert_eq!(here, StatusCode::BAD_REQUEST);
    assert_eq!(there, [StatusCode::BAD_REQUEST; 2]);
}

#[tokio::test]
async fn with_code_expiry_per_instance_only_the_issuing_instance_refuses_an_expired_code() {
    let (here, there) = expire_here_try_there(Defects::only(Defect::CodeExpiryPerInstance)).await;
    assert_eq!(here, StatusCode::BAD_REQUEST);
    // The first other instance redeems it; the next finds it redeemed (single use held).
    assert_eq!(there, [StatusCode::OK, StatusCode::BAD_REQUEST]);
}

#[tokio::test]
async fn with_both_replica_defects_an_expired_code_is_redeemed_at_every_other_instance() {
    let defects = [Defect::CodeExpiryPerInstance, Defect::StorePerInstance];
    let (here, there) = expire_here_try_there(defects.into_iter().collect()).await;
    assert_eq!(here, StatusCode::BAD_REQUEST);
    assert_eq!(there, [StatusCode::OK; 2]);
}

#[test]
fn the_ready_line_lists_the_replicas_only_when_there_are_some() {
    let (child, line) = spawn(&["--port", "0", "--replicas", "2"]);
    let replicas = line["replicas"]
        .as_array()
        .expect("replicas listed")
        .clone();
    stop(child);
    assert_eq!(replicas.len(), 2);
    assert!(
        replicas.iter().all(|r| r
            .as_str()
            .is_some_and(|o| o.starts_with("http://127.0.0.1:"))),
        "{replicas:?}"
    );
    let (child, line) = spawn(&["--port", "0"]);
    stop(child);
    assert!(line.get("replicas").is_none(), "{line}");
    assert!(line.get("route_header").is_none(), "{line}");
    let (child, line) = spawn(&["--port", "0", "--replicas", "1", "--route-header", ROUTE]);
    stop(child);
    assert_eq!(line["route_header"], ROUTE, "{line}");
}
