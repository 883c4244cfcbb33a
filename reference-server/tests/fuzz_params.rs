//! Generated inputs for the reference server's form and query parsing: the parameter parser on
//! its own, then generated queries and form bodies (with and without Basic credentials, well
//! formed or not) sent to every endpoint that parses them. Nothing panics, and no input is
//! answered 500. `PROPTEST_CASES` cases each (256 unless set; `scripts/fuzz` runs a million).

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use proptest::prelude::*;
use reference_server::params::Params;
use reference_server::{Config, app};
use tower::ServiceExt;

/// Parameter names the endpoints read, and others.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "response_type",
            "client_id",
            "client_secret",
            "redirect_uri",
            "code_challenge",
            "code_challenge_method",
            "code_verifier",
            "state",
            "scope",
            "resource",
            "grant_type",
            "code",
            "refresh_token",
            "token",
            "token_type_hint",
            "txn",
            "username",
            "password",
            "decision",
            "csrf",
        ])
        .prop_map(str::to_string),
        "[a-z_]{0,10}",
        ".{0,6}",
    ]
}

/// Values: plausible ones, and anything at all.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "code",
            "S256",
            "plain",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "http://127.0.0.1:33418/callback",
            "http://127.0.0.1:0/mcp",
            "mcp:read mcp:write",
            "approve",
            "alice",
            "wonderland",
            "",
        ])
        .prop_map(str::to_string),
        ".{0,40}",
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((name(), value()), 0..10)
}

fn encode(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A body or query: well encoded, or raw bytes.
fn encoded() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        pairs().prop_map(|p| encode(&p).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..120),
        "[a-z_=&%+0-9A-F]{0,60}".prop_map(String::into_bytes),
    ]
}

/// An `Authorization` header: Basic with any content, another scheme, or garbage.
fn authorization() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        (".{0,20}", ".{0,20}").prop_map(|(id, secret)| format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )),
        ".{0,20}".prop_map(|raw| format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )),
        "[ -~]{0,30}",
    ])
}

struct Server {
    rt: tokio::runtime::Runtime,
    app: Router,
    /// The paths of the endpoints that parse queries (GET) and forms (POST).
    get: Vec<String>,
    post: Vec<String>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let app = app(Config {
            registration_rate_limit: 0,
            ..Config::default()
        })
        .expect("the app");
        let metadata: serde_json::Value = rt.block_on(async {
            let resp = app
                .clone()
                .oneshot(
                    Request::get("/.well-known/oauth-authorization-server")
                        .body(Body::empty())
                        .expect("request"),
                )
                .await
                .expect("metadata");
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .expect("body");
            serde_json::from_slice(&bytes).expect("JSON metadata")
        });
        let path = |member: &str| {
            metadata[member]
                .as_str()
                .and_then(|u| url::Url::parse(u).ok())
                .map(|u| u.path().to_string())
        };
        let authorize = path("authorization_endpoint").expect("an authorization endpoint");
        let login = authorize.replace("authorize", "login");
        let consent = authorize.replace("authorize", "consent");
        let post = [
            path("token_endpoint"),
            path("revocation_endpoint"),
            path("introspection_endpoint"),
            path("registration_endpoint"),
            Some(login),
            Some(consent.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        Server {
            rt,
            app,
            get: vec![authorize, consent],
            post,
        }
    })
}

proptest! {
    #[test]
    fn any_bytes_parse(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let p = Params::parse(&bytes);
        let _ = p.first_repeated(&["resource"]);
        let _ = p.one("client_id");
    }

    #[test]
    fn parameters_read_back_as_they_were_sent(sent in pairs()) {
        let p = Params::parse(encode(&sent).as_bytes());
        for (k, _) in &sent {
            let values: Vec<&String> = sent
                .iter()
                .filter(|(n, v)| n == k && !v.is_empty())
                .map(|(_, v)| v)
                .collect();
            prop_assert_eq!(p.all(k).iter().collect::<Vec<_>>(), values.clone());
            match values.as_slice() {
                [] => prop_assert_eq!(p.one(k), Ok(None)),
                [v] => prop_assert_eq!(p.one(k), Ok(Some(v.as_str()))),
                _ => prop_assert!(p.one(k).is_err()),
            }
        }
    }

    #[test]
    fn no_query_is_answered_500(query in encoded(), which in any::<prop::sample::Index>()) {
        let s = server();
        let path = which.get(&s.get);
        let query: String = url::form_urlencoded::byte_serialize(&query).collect();
        // The query as sent, percent-encoded where the URI syntax needs it.
        let uri = format!("{path}?{}", query.replace("%3D", "=").replace("%26", "&"));
        let Ok(req) = Request::get(uri.as_str()).body(Body::empty()) else {
            return Ok(());
        };
        let status = s.rt.block_on(s.app.clone().oneshot(req)).expect("infallible").status();
        prop_assert!(!status.is_server_error(), "GET {} answered {}", uri, status);
    }

    #[test]
    fn no_form_is_answered_500(
        body in encoded(),
        auth in authorization(),
        which in any::<prop::sample::Index>(),
        content_type in prop::sample::select(vec![
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "application/json",
            "text/plain",
        ]),
    ) {
        let s = server();
        let path = which.get(&s.post);
        let mut req = Request::post(path.as_str()).header(header::CONTENT_TYPE, content_type);
        if let Some(a) = &auth {
            req = req.header(header::AUTHORIZATION, a.as_str());
        }
        let Ok(req) = req.body(Body::from(body.clone())) else {
            return Ok(());
        };
        let status = s.rt.block_on(s.app.clone().oneshot(req)).expect("infallible").status();
        prop_assert!(
            !status.is_server_error(),
            "POST {} ({:?}, {:?}) answered {}",
            path,
            auth,
            String::from_utf8_lossy(&body),
            status
        );
    }
}
