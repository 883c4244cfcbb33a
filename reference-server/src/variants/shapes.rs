//! The variants that shape every response rather than one check: rate limits, a first 503,
//! extra members and error fields in JSON documents and error redirects, caching and
//! connection headers. One response layer ([`layer`]) applies them, so no handler changes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::Variant;
use crate::state::SharedState;

/// The extra member of the `extra-members` variant.
pub const EXTRA_MEMBER: &str = "x_reference_server_extension";
/// The error_uri of the `error-uri` variant.
pub const ERROR_URI: &str = "https://errors.reference-server.invalid/oauth";
/// The largest body the layer rewrites; a larger one passes unchanged.
const MAX_REWRITE: usize = 1024 * 1024;

/// The rate limits of the rate-limit variants: requests a window, by endpoint.
const REGISTRATION_LIMIT: u32 = 10;
const TOKEN_LIMIT: u32 = 30;
const AUTHORIZATION_LIMIT: u32 = 30;

/// What the layer remembers between requests.
#[derive(Default)]
pub struct Shapes {
    /// Fixed windows by endpoint: when the window opened, and requests in it.
    windows: Mutex<HashMap<&'static str, (Instant, u32)>>,
    /// Metadata paths (and the registration endpoint) that have already answered 503 once.
    unavailable_once: Mutex<HashSet<String>>,
}

impl Shapes {
    /// Counts a request to `endpoint` in its fixed `window`: `Ok` with the requests left and
    /// the seconds until the window ends, or `Err` with those seconds when it is over `limit`.
    fn count(
        &self,
        endpoint: &'static str,
        limit: u32,
        window: Duration,
    ) -> Result<(u32, u64), u64> {
        let Ok(mut windows) = self.windows.lock() else {
            return Ok((limit, window.as_secs()));
        };
        let now = Instant::now();
        let (opened, count) = windows.entry(endpoint).or_insert((now, 0));
        if now.duration_since(*opened) >= window {
            *opened = now;
            *count = 0;
        }
        *count += 1;
        let left = window.saturating_sub(now.duration_since(*opened));
        let reset = left.as_secs_f64().ceil().max(1.0) as u64;
        if *count <= limit {
            Ok((limit - *count, reset))
        } else {
            Err(reset)
        }
    }

    /// Whether `path` answers 503 now: the first request to it does, once.
    fn first_time(&self, path: &str) -> bool {
        self.unavailable_once
            .lock()
            .map(|mut seen| seen.insert(path.to_string()))
            .unwrap_or(false)
    }
}

/// The response layer: `axum::middleware::from_fn_with_state(state, layer)`.
pub async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let variants = &state.config.variants;
    if variants.is_empty() {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let urls = &state.urls;
    let window = state.config.rate_limit_window;
    let limits = [
        (
            Variant::RateLimitRegistration,
            "registration",
            urls.as_route("register"),
            REGISTRATION_LIMIT,
        ),
        (
            Variant::RateLimitToken,
            "token",
            urls.as_route("token"),
            TOKEN_LIMIT,
        ),
        (
            Variant::RateLimitAuthorization,
            "authorization",
            urls.as_route("authorize"),
            AUTHORIZATION_LIMIT,
        ),
    ];
    let mut announce = None;
    for (variant, endpoint, route, limit) in limits {
        if variants.has(variant) && path == route {
            match state.shapes.count(endpoint, limit, window) {
                Ok((remaining, reset)) => announce = Some((limit, remaining, reset)),
                Err(retry_after) => return too_many_requests(limit, window, retry_after),
            }
        }
    }
    let metadata = path.contains("/.well-known/");
    let unavailable_once = (metadata && variants.has(Variant::MetadataUnavailableOnce))
        || (path == urls.as_route("register")
            && variants.has(Variant::RegistrationUnavailableOnce));
    if unavailable_once && state.shapes.first_time(&path) {
        let mut resp = (StatusCode::SERVICE_UNAVAILABLE, "try again in a second").into_response();
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return resp;
    }

    let mut resp = next.run(req).await;
    if let Some((limit, remaining, reset)) = announce {
        rate_limit_headers(resp.headers_mut(), limit, window, remaining, reset);
    }
    if variants.has(Variant::ConnectionClose) {
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if metadata && variants.has(Variant::MetadataCacheControl) && resp.status().is_success() {
        resp.headers_mut().insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
    }
    let errors = variants.has(Variant::NoErrorDescription) || variants.has(Variant::ErrorUri);
    if errors
        && let Some(rewritten) = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| rewrite_error_redirect(l, &state))
            .and_then(|l| HeaderValue::from_str(&l).ok())
    {
        resp.headers_mut().insert(LOCATION, rewritten);
    }
    if errors || variants.has(Variant::ExtraMembers) {
        resp = rewrite_json(resp, &state).await;
    }
    resp
}

/// 429 with Retry-After and the RateLimit headers (the IETF draft's fields).
fn too_many_requests(limit: u32, window: Duration, retry_after: u64) -> Response {
    let body = serde_json::json!({
        "error": "too_many_requests",
        "error_description": format!("at most {limit} requests every {} s", window.as_secs()),
    });
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = resp.headers_mut();
    let header = |s: String| HeaderValue::from_str(&s).ok();
    if let Some(v) = header(retry_after.to_string()) {
        h.insert("retry-after", v);
    }
    rate_limit_headers(h, limit, window, 0, retry_after);
    resp
}

/// The RateLimit headers (the IETF draft's fields), on every answer of a limited endpoint:
/// the policy, and what is left of the current window.
pub fn rate_limit_headers(
    h: &mut axum::http::HeaderMap,
    limit: u32,
    window: Duration,
    remaining: u32,
    reset: u64,
) {
    let header = |s: String| HeaderValue::from_str(&s).ok();
    if let Some(v) = header(format!("{limit};w={}", window.as_secs())) {
        h.insert("ratelimit-policy", v);
    }
    if let Some(v) = header(format!(
        "limit={limit}, remaining={remaining}, reset={reset}"
    )) {
        h.insert("ratelimit", v);
    }
}

/// The error fields of an error redirect (`error=` in the query or fragment), changed as the
/// variants say; `None` when the redirect carries no error.
fn rewrite_error_redirect(location: &str, state: &SharedState) -> Option<String> {
    let mut url = url::Url::parse(location).ok()?;
    let in_fragment = url.fragment().is_some_and(|f| f.contains("error="));
    let pairs: Vec<(String, String)> = if in_fragment {
        url::form_urlencoded::parse(url.fragment()?.as_bytes())
            .into_owned()
            .collect()
    } else {
        url.query_pairs().into_owned().collect()
    };
    if !pairs.iter().any(|(k, _)| k == "error") {
        return None;
    }
    let variants = &state.config.variants;
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        if k == "error_description" && variants.has(Variant::NoErrorDescription) {
            continue;
        }
        out.append_pair(k, v);
    }
    if variants.has(Variant::ErrorUri) && !pairs.iter().any(|(k, _)| k == "error_uri") {
        out.append_pair("error_uri", ERROR_URI);
    }
    let encoded = out.finish();
    if in_fragment {
        url.set_fragment(Some(&encoded));
    } else {
        url.set_query(Some(&encoded));
    }
    Some(url.to_string())
}

/// Adds the extra member, and changes the error fields, of a JSON object response. JSON-RPC
/// messages are left alone: their members are fixed by JSON-RPC 2.0.
async fn rewrite_json(resp: Response, state: &SharedState) -> Response {
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_REWRITE).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "response too large to shape",
        )
            .into_response();
    };
    let Ok(Value::Object(mut members)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if members.contains_key("jsonrpc") {
        return Response::from_parts(parts, Body::from(bytes));
    }
    shape_members(&mut members, state);
    let Ok(out) = serde_json::to_vec(&Value::Object(members)) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

fn shape_members(members: &mut Map<String, Value>, state: &SharedState) {
    let variants = &state.config.variants;
    if members.contains_key("error") {
        if variants.has(Variant::NoErrorDescription) {
            members.remove("error_description");
        }
        if variants.has(Variant::ErrorUri) {
            members
                .entry("error_uri")
                .or_insert_with(|| Value::String(ERROR_URI.into()));
        }
    }
    if variants.has(Variant::ExtraMembers) {
        members.insert(
            EXTRA_MEMBER.into(),
            Value::String("a member this client does not know".into()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_saying_what_is_left_then_says_how_long_to_wait() {
        let shapes = Shapes::default();
        let window = Duration::from_secs(60);
        for left in [2, 1, 0] {
            let counted = shapes.count("token", 3, window);
            assert!(
                matches!(counted, Ok((l, reset)) if l == left && (1..=60).contains(&reset)),
                "{counted:?}"
            );
        }
        let wait = shapes.count("token", 3, window);
        assert!(matches!(wait, Err(s) if (1..=60).contains(&s)), "{wait:?}");
        assert!(shapes.count("registration", 3, window).is_ok());
        let short = Shapes::default();
        assert!(short.count("t", 1, Duration::ZERO).is_ok());
        assert!(short.count("t", 1, Duration::ZERO).is_ok());
    }

    #[test]
    fn the_first_request_to_a_path_is_the_unavailable_one() {
        let shapes = Shapes::default();
        assert!(shapes.first_time("/.well-known/x"));
        assert!(!shapes.first_time("/.well-known/x"));
        assert!(shapes.first_time("/.well-known/y"));
    }
}
