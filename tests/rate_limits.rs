//! The transport against a mock server that rate-limits: it waits as the server says and sends
//! again where that is safe, gives up with a harness-level error where it is not, counts what
//! it sent, and keeps the pace. Loopback only; waits of about a second.

use std::time::{Duration, Instant};

use mcp_oauth_conformance::client::hosts::AllowedHosts;
use mcp_oauth_conformance::client::http::{Http, HttpOptions, Limits, Request, TransportError};
use mcp_oauth_conformance::client::ratelimit::{DEFAULT_MAX_WAIT, GaveUp, Pace, Retry};
use mcp_oauth_conformance::verdict::Fault;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http_with(max_wait: Duration, pace: Option<Pace>) -> Http {
    mcp_oauth_conformance::install_crypto_provider();
    Http::with_options(HttpOptions {
        limits: Limits::default(),
        verbose: false,
        ca_cert_pem: None,
        hosts: AllowedHosts::any(),
        max_wait,
        pace,
    })
    .expect("client")
}

fn http() -> Http {
    http_with(DEFAULT_MAX_WAIT, None)
}

fn url(server: &MockServer, p: &str) -> Url {
    Url::parse(&format!("{}{p}", server.uri())).expect("url")
}

/// `verb path` answers `first` once, then 200.
async fn limited_once(server: &MockServer, verb: &str, p: &str, first: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_string("served"))
        .mount(server)
        .await;
}

fn too_many(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", retry_after)
        .set_body_json(serde_json::json!({"error": "too_many_requests"}))
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

fn rate_limited(result: Result<impl std::fmt::Debug, TransportError>) -> TransportError {
    match result {
        Err(e @ TransportError::RateLimited(_)) => e,
        other => panic!("expected a rate-limit error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for_and_the_caller_sees_the_answer_after_it() {
    let server = MockServer::start().await;
    limited_once(&server, "GET", "/meta", too_many("1")).await;
    let http = http();
    let started = Instant::now();
    let resp = http
        .send(Request::get(url(&server, "/meta?x=1")))
        .await
        .expect("served after the wait");
    assert_eq!(resp.status.as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_secs(1));

    let stats = http.stats();
    let meta = stats
        .get("GET", url(&server, "/meta").as_str())
        .expect("counted without the query");
    assert_eq!((meta.requests, meta.limited), (2, 1));
    assert_eq!(meta.waited, Duration::from_secs(1));
    assert_eq!((stats.requests(), stats.limited()), (2, 1));
    // Both sendings are in the transcript.
    let statuses: Vec<_> = http.transcript().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(429), Some(200)]);
}

#[tokio::test]
async fn an_unmarked_post_is_sent_again_after_a_429_which_says_it_was_not_processed() {
    let server = MockServer::start().await;
    limited_once(&server, "POST", "/token", too_many("1")).await;
    let http = http();
    let req = Request::post(url(&server, "/token")).form(vec![("code".into(), "c".into())]);
    let resp = http.send(req).await.expect("served after the wait");
    assert_eq!(resp.status.as_u16(), 200);
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn an_unmarked_post_is_not_sent_again_after_a_503_but_a_request_marked_idempotent_is() {
    let server = MockServer::start().await;
    let unavailable = ResponseTemplate::new(503).insert_header("retry-after", "1");
    limited_once(&server, "POST", "/token", unavailable.clone()).await;
    let http = http();
    let redemption = Request::post(url(&server, "/token")).form(vec![("code".into(), "c".into())]);
    let e = rate_limited(http.send(redemption).await);
    let TransportError::RateLimited(limit) = &e else {
        unreachable!()
    };
    assert_eq!(limit.status, 503);
    assert_eq!(limit.reason, GaveUp::MayHaveBeenProcessed);
    assert_eq!(received(&server).await, 1, "sent once only");
    assert!(
        e.to_string().starts_with(&format!(
            "not run: rate limited by {}/token (503",
            server.uri()
        )),
        "{e}"
    );

    limited_once(&server, "POST", "/register", unavailable).await;
    let registration = Request::post(url(&server, "/register")).retry(Retry::Idempotent);
    let resp = http.send(registration).await.expect("sent again");
    assert_eq!(resp.status.as_u16(), 200);
    // A 503 without Retry-After is an ordinary answer, for the checks to judge.
    Mock::given(method("GET"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let resp = http.send(Request::get(url(&server, "/down"))).await;
    assert_eq!(resp.expect("an answer").status.as_u16(), 503);
}

#[tokio::test]
async fn a_wait_beyond_the_bound_is_a_harness_error_naming_the_endpoint_without_waiting() {
    let server = MockServer::start().await;
    limited_once(&server, "POST", "/token", too_many("900")).await;
    let http = http();
    let started = Instant::now();
    let e = rate_limited(
        http.send(Request::post(url(&server, "/token?secret=s3cr3t")))
            .await,
    );
    assert!(started.elapsed() < Duration::from_millis(900), "no wait");
    assert_eq!(received(&server).await, 1);
    let expected = format!(
        "not run: rate limited by {}/token (429, Retry-After 900 s exceeds --max-wait 120 s)",
        server.uri()
    );
    assert_eq!(e.to_string(), expected);
    match Fault::from(e) {
        Fault::Harness(text) => assert!(text.contains(&expected), "{text}"),
        other => panic!("a rate limit must be the harness's problem, got {other}"),
    }
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_read_on_the_servers_clock() {
    let server = MockServer::start().await;
    let at = |retry_after: &str| {
        ResponseTemplate::new(429)
            .insert_header("date", "Sun, 06 Nov 1994 08:49:37 GMT")
            .insert_header("retry-after", retry_after)
    };
    limited_once(&server, "GET", "/soon", at("Sun, 06 Nov 1994 08:49:38 GMT")).await;
    limited_once(
        &server,
        "GET",
        "/later",
        at("Sun, 06 Nov 1994 09:49:37 GMT"),
    )
    .await;
    let http = http();
    let resp = http.send(Request::get(url(&server, "/soon"))).await;
    assert_eq!(resp.expect("served").status.as_u16(), 200);
    let soon = url(&server, "/soon").to_string();
    assert_eq!(
        http.stats().get("GET", &soon).map(|s| s.waited),
        Some(Duration::from_secs(1))
    );
    let e = rate_limited(http.send(Request::get(url(&server, "/later"))).await);
    assert!(e.to_string().contains("(429, Retry-After 3600 s;"), "{e}");
}

#[tokio::test]
async fn the_bound_holds_for_a_scenario_and_a_fork_starts_a_new_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(too_many("1"))
        .mount(&server)
        .await;
    let run = http_with(Duration::from_secs(1), None);
    let scenario = run.fork();
    let e = rate_limited(scenario.send(Request::get(url(&server, "/a"))).await);
    assert!(
        e.to_string()
            .contains("with the 1 s this scenario already waited"),
        "{e}"
    );
    assert_eq!(
        received(&server).await,
        2,
        "one wait of 1 s, then the bound"
    );

    // The next scenario may wait again; the counts are the run's.
    let next = run.fork();
    let _ = next.send(Request::get(url(&server, "/b"))).await;
    assert_eq!(received(&server).await, 4);
    let stats = run.stats();
    assert_eq!((stats.requests(), stats.limited()), (4, 4));
    assert_eq!(stats.waited(), Duration::from_secs(2));
}

#[tokio::test]
async fn where_the_limit_is_the_answer_sought_it_comes_back_as_a_response() {
    let server = MockServer::start().await;
    limited_once(&server, "POST", "/token", too_many("30")).await;
    let http = http().rate_limits_as_answers();
    let resp = http.send(Request::post(url(&server, "/token"))).await;
    assert_eq!(resp.expect("the 429 itself").status.as_u16(), 429);
    assert_eq!(received(&server).await, 1);
    assert_eq!(http.stats().limited(), 1);
}

#[tokio::test]
async fn the_pace_spreads_requests_to_one_url_across_forks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let run = http_with(DEFAULT_MAX_WAIT, Pace::per_minute(60));
    let (a, b) = (run.fork(), run.fork());
    let started = Instant::now();
    let (ra, rb) = tokio::join!(
        a.send(Request::get(url(&server, "/mcp"))),
        b.send(Request::get(url(&server, "/mcp?other=query")))
    );
    assert!(ra.is_ok() && rb.is_ok());
    assert!(started.elapsed() >= Duration::from_secs(1), "spread by 1 s");
    // Another URL has its own turn.
    let started = Instant::now();
    run.send(Request::get(url(&server, "/other")))
        .await
        .expect("served");
    assert!(started.elapsed() < Duration::from_millis(500));
    let mcp = url(&server, "/mcp").to_string();
    let paced = run.stats().get("GET", &mcp).map(|s| s.paced);
    assert!(
        paced.is_some_and(|p| p > Duration::from_millis(900)),
        "{paced:?}"
    );
}
