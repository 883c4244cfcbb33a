//! Redaction by value, end to end: the reference server, wrapped in a layer that echoes every
//! secret it receives or hands out in every response (headers, JSON, HTML, the Location of
//! redirects; raw, percent-encoded, form-encoded, base64 and base64url, and inside a Basic
//! header), and whose login page prints the test user's password from the start. A whole run
//! with `-v`, then the `login` command, go against it; every output (JUnit, Cucumber JSON,
//! results.json, the HTML report, the Markdown summary, the console and the `-v` log) is then
//! searched for every secret the server saw, in each of those forms: none may be there.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use base64::Engine as _;
use common::{BIN, runner_command, scratch, wait_with_limit};

/// The test user's password: spaces, a slash and a plus, so each encoding differs.
const PASSWORD: &str = "Echoed pass/word+1";
/// Names whose values are secrets, in queries, forms and JSON.
const SECRET_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "registration_access_token",
    "token",
    "csrf",
];
/// How many of the newest secrets of other exchanges each response echoes (all of them would
/// grow every response without bound).
const ECHOED: usize = 12;
/// Secrets of other exchanges are echoed once they are this old: by then the run has received
/// them too (the `-v` log is written as each scenario ends, and it cannot scrub a secret of
/// another flow that the run has not received yet).
const ECHOED_AFTER: Duration = Duration::from_secs(5);
/// Values shorter than this are not searched for: too likely to occur by chance.
const SEARCHED_FROM: usize = 8;

/// Every secret the server has seen, oldest first, with when; and, for one exchange, the
/// secrets of that exchange.
#[derive(Clone, Default)]
struct Seen {
    all: Arc<Mutex<Vec<(String, Instant)>>>,
    exchange: Arc<Mutex<Vec<String>>>,
}

impl Seen {
    /// A view for one exchange: the same secrets, and its own.
    fn for_exchange(&self) -> Seen {
        Seen {
            all: Arc::clone(&self.all),
            exchange: Arc::default(),
        }
    }

    fn add(&self, value: &str) {
        let value = value.trim();
        if value.len() < SEARCHED_FROM {
            return;
        }
        if let Ok(mut all) = self.all.lock()
            && !all.iter().any(|(v, _)| v == value)
        {
            all.push((value.to_string(), Instant::now()));
        }
        if let Ok(mut mine) = self.exchange.lock() {
            mine.push(value.to_string());
        }
    }

    /// What a response echoes: the password, the exchange's own secrets, and the newest of the
    /// others.
    fn echoed(&self) -> Vec<String> {
        let mut out = vec![PASSWORD.to_string()];
        out.extend(self.exchange.lock().map(|m| m.clone()).unwrap_or_default());
        let all = self.all.lock().map(|a| a.clone()).unwrap_or_default();
        out.extend(
            all.iter()
                .rev()
                .filter(|(_, when)| when.elapsed() >= ECHOED_AFTER)
                .take(ECHOED)
                .map(|(v, _)| v.clone()),
        );
        out.dedup();
        out
    }

    fn all(&self) -> Vec<String> {
        self.all
            .lock()
            .map(|a| a.iter().map(|(v, _)| v.clone()).collect())
            .unwrap_or_default()
    }

    fn pairs(&self, pairs: impl Iterator<Item = (String, String)>) {
        for (k, v) in pairs {
            if SECRET_NAMES.contains(&k.as_str()) {
                self.add(&v);
            }
        }
    }

    fn json(&self, v: &serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        serde_json::Value::String(s) if SECRET_NAMES.contains(&k.as_str()) => {
                            self.add(s)
                        }
                        other => self.json(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    fn body(&self, bytes: &[u8]) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
            self.json(&v);
        } else if !bytes.contains(&b'<') {
            self.pairs(
                url::form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
    }
}

fn b64(v: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(v)
}
fn b64_url(v: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}
fn form(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every form a secret is echoed in, and searched for.
fn forms(v: &str) -> Vec<String> {
    let mut f = vec![v.to_string(), form(v), percent(v), b64(v), b64_url(v)];
    f.sort();
    f.dedup();
    f
}

/// Learns the secrets of the request, passes it on, learns the secrets of the response, and
/// echoes the newest ones in it everywhere.
async fn echo(State(seen): State<Seen>, req: Request, next: Next) -> Response {
    let seen = seen.for_exchange();
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 4 * 1024 * 1024).await.unwrap_or_default();
    if let Some(q) = parts.uri.query() {
        seen.pairs(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else { continue };
        if name == header::AUTHORIZATION {
            let credential = value.split_once(' ').map_or(value, |(_, c)| c);
            seen.add(credential);
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential)
                && let Some((_, secret)) = String::from_utf8_lossy(&decoded).split_once(':')
            {
                seen.add(secret);
            }
        } else if name == header::COOKIE {
            for pair in value.split(';') {
                if let Some((_, v)) = pair.split_once('=') {
                    seen.add(v);
                }
            }
        }
    }
    seen.body(&bytes);
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;

    let (mut parts, body) = resp.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // A stream is passed on as it comes.
    if content_type.starts_with("text/event-stream") {
        return Response::from_parts(parts, body);
    }
    let bytes = to_bytes(body, 4 * 1024 * 1024).await.unwrap_or_default();
    for v in parts.headers.get_all(header::SET_COOKIE) {
        if let Some((_, rest)) = v.to_str().unwrap_or("").split_once('=') {
            seen.add(rest.split(';').next().unwrap_or(""));
        }
    }
    let location = parts
        .headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    if let Some(l) = &location
        && let Ok(u) = url::Url::parse("http://127.0.0.1/").and_then(|b| b.join(l))
    {
        seen.pairs(
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    if content_type.starts_with("application/json") {
        seen.body(&bytes);
    }

    let echoed = seen.echoed();
    for (i, v) in echoed.iter().enumerate() {
        for (kind, text) in [
            ("raw", v.clone()),
            ("percent", percent(v)),
            ("b64", b64(v)),
            ("b64url", b64_url(v)),
        ] {
            if let Ok(h) = HeaderValue::from_str(&text) {
                parts.headers.append(
                    header::HeaderName::from_bytes(format!("x-echo-{kind}-{i}").as_bytes())
                        .unwrap_or(header::WARNING),
                    h,
                );
            }
        }
        if let Ok(h) = HeaderValue::from_str(&format!("Basic {}", b64(&format!("alice:{v}")))) {
            parts.headers.append("x-echo-basic", h);
        }
    }
    if let Some(l) = location {
        let mut with = l.clone();
        with.push(if l.contains('?') { '&' } else { '?' });
        with.push_str(&format!(
            "echo={}",
            form(echoed.last().map_or("", String::as_str))
        ));
        if let Ok(h) = HeaderValue::from_str(&with) {
            parts.headers.insert(header::LOCATION, h);
        }
    }
    let all_forms: Vec<String> = echoed.iter().flat_map(|v| forms(v)).collect();
    let body = match content_type.as_str() {
        t if t.starts_with("application/json") => {
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Object(mut m)) => {
                    m.insert("echo".into(), serde_json::json!(all_forms));
                    serde_json::to_vec(&m).unwrap_or_else(|_| bytes.to_vec())
                }
                _ => bytes.to_vec(),
            }
        }
        t if t.starts_with("text/html") => {
            let mut html = String::from_utf8_lossy(&bytes).into_owned();
            html.push_str(&format!(
                "<p class=\"echo\">The demo password is {PASSWORD}. Seen: {}</p>",
                all_forms.join(" ")
            ));
            html.into_bytes()
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The reference server behind the echoing layer, on a free loopback port, in a thread of its
/// own. Returns its origin and what it saw.
fn start_echoing_server() -> (String, Seen) {
    let seen = Seen::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let state = seen.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Runtime::new() else {
            return;
        };
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let port = listener.local_addr().expect("address").port();
            let config = reference_server::config::Config {
                port,
                password: PASSWORD.into(),
                access_token_ttl: Duration::from_secs(10),
                allow_loopback_http_client_ids: true,
                ..Default::default()
            };
            let app = reference_server::app(config)
                .expect("the reference server's app")
                .layer(middleware::from_fn_with_state(state, echo));
            let _ = tx.send(format!("http://127.0.0.1:{port}"));
            let _ = axum::serve(listener, app).await;
        });
    });
    let origin = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the echoing server started");
    (origin, seen)
}

/// Every place one of `secrets` appears in `text`, in any of its forms.
fn leaks(name: &str, text: &str, secrets: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        for f in forms(s) {
            if f.len() >= SEARCHED_FROM
                && let Some(at) = text.find(&f)
            {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(60)
                    .map_or(0, |(i, _)| i);
                let to = (at + f.len() + 60).min(text.len());
                let to = (to..=text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(text.len());
                out.push(format!("{name}: {f:?} in …{}…", &text[from..to]));
            }
        }
    }
    out
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

/// A client registered at the echoing server, and an authorization URL for it.
fn authorization_url(origin: &str) -> String {
    let redirect_uri = "http://127.0.0.1:33418/callback";
    let metadata = plain_http::json(origin, "GET", "/.well-known/oauth-authorization-server", "");
    let endpoint = |name: &str| {
        metadata[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {metadata}"))
            .to_string()
    };
    let register = endpoint("registration_endpoint");
    let path = register
        .strip_prefix(origin)
        .unwrap_or(&register)
        .to_string();
    let body = serde_json::json!({
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "echo test",
    })
    .to_string();
    let client = plain_http::json(origin, "POST", &path, &body)["client_id"]
        .as_str()
        .expect("a client_id")
        .to_string();
    let challenge = b64_url("a-challenge-that-is-long-enough-for-s256-shape");
    format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state=st-1&scope=mcp%3Aread&resource={}",
        endpoint("authorization_endpoint"),
        form(&client),
        form(redirect_uri),
        form(&format!("{origin}/mcp")),
    )
}

/// One JSON request over a plain socket (no blocking HTTP client here).
mod plain_http {
    use std::io::{Read, Write};

    pub fn json(origin: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
        let host = origin.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).expect("connect");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        let json = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(json.trim())
            .unwrap_or_else(|e| panic!("{method} {path} answered JSON ({e}): {resp}"))
    }
}

#[test]
fn no_secret_the_target_echoes_reaches_any_output() {
    let (origin, seen) = start_echoing_server();
    let dir = scratch("echoed-secrets");
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        "[login]\nreference_server = true\npassword_env = \"ECHO_TEST_PASSWORD\"\n[limits]\nmax_expiry_wait_secs = 20\n",
    )
    .expect("profile");
    let target = format!("{origin}/mcp");
    let mut cmd = runner_command(
        &dir,
        &["run", "--target", &target, "--spec", "2025-11-25", "-v"],
    );
    cmd.arg("--config")
        .arg(&profile)
        .arg("--summary")
        .arg(dir.join("summary.md"))
        .env("ECHO_TEST_PASSWORD", PASSWORD)
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = wait_with_limit(
        cmd.spawn().expect("the runner starts"),
        Duration::from_secs(600),
    );
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let junit = read(&dir, "junit.xml");
    // The run went through logins, token requests and resource calls: there were secrets to
    // leak.
    assert!(junit.contains("<testcase"), "{console}");
    assert!(console.contains("> POST"), "the -v log is there: {console}");

    // The run's secrets; then the login command, without --reveal, a run of its own: its
    // outputs are searched for its own secrets (the server also echoes the earlier run's,
    // which the login never had).
    let of_the_run = seen.all();
    let login = Command::new(BIN)
        .args(["login", "--config"])
        .arg(&profile)
        .arg(authorization_url(&origin))
        .env("ECHO_TEST_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("login starts");
    let login = wait_with_limit(login, Duration::from_secs(60));
    let login_text = format!(
        "{}{}",
        String::from_utf8_lossy(&login.stdout),
        String::from_utf8_lossy(&login.stderr)
    );
    assert_eq!(login.status.code(), Some(0), "{login_text}");
    assert!(
        login_text.contains("code=") && login_text.contains("[redacted]"),
        "the login ended at the redirect, its code redacted: {login_text}"
    );

    let with_password = |values: Vec<String>| -> Vec<String> {
        values
            .into_iter()
            .chain(std::iter::once(PASSWORD.to_string()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let login_secrets = with_password(seen.all().split_off(of_the_run.len()));
    let secrets = with_password(of_the_run);
    assert!(
        secrets.len() > 50 && login_secrets.len() > 2,
        "the run and the login sent and received secrets: {} and {}",
        secrets.len(),
        login_secrets.len()
    );
    let outputs = [
        ("junit.xml", junit),
        ("cucumber.json", read(&dir, "cucumber.json")),
        ("results.json", read(&dir, "results.json")),
        ("report.html", read(&dir, "report.html")),
        ("summary.md", read(&dir, "summary.md")),
        ("console and -v log", console),
    ];
    for (name, text) in &outputs {
        assert!(!text.is_empty(), "{name} was written");
    }
    let found: Vec<String> = outputs
        .iter()
        .flat_map(|(name, text)| leaks(name, text, &secrets))
        .chain(leaks("login", &login_text, &login_secrets))
        .collect();
    assert!(
        found.is_empty(),
        "{} secrets leaked:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The reference server's test user is sent only to the embedded reference server and to
/// targets whose profile says they are reference servers: elsewhere a login page that asks for
/// a password stops the login with an error naming the setting, and the password is not sent.
#[test]
fn the_reference_servers_password_is_not_sent_to_other_targets() {
    let (origin, seen) = start_echoing_server();
    let dir = scratch("no-default-credentials");
    let login = Command::new(BIN)
        .arg("login")
        .arg(authorization_url(&origin))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("login starts");
    let login = wait_with_limit(login, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&login.stderr);
    assert_eq!(login.status.code(), Some(2), "a usage error: {text}");
    assert!(
        text.contains("asks for a password") && text.contains("[login] password_env"),
        "{text}"
    );

    let target = format!("{origin}/mcp");
    let mut cmd = runner_command(
        &dir,
        &[
            "run",
            "--target",
            &target,
            "--spec",
            "2025-11-25",
            "-t",
            "@PKCE-02",
        ],
    );
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = wait_with_limit(
        cmd.spawn().expect("the runner starts"),
        Duration::from_secs(120),
    );
    let junit = read(&dir, "junit.xml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A usage error that names the setting; the reports say where the login stopped.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[login] password_env"), "{stderr}");
    assert!(junit.contains("[login] password_env"), "{junit}");
    let sent = seen.all();
    assert!(
        !sent
            .iter()
            .any(|v| v.contains(reference_server::config::DEFAULT_PASSWORD)),
        "the reference server's password was sent: {sent:?}"
    );
}
