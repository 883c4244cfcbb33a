//! The one HTTP transport every request goes through: limits (timeout, body cap, no automatic
//! redirects), rate limits waited for ([`super::ratelimit`]) and a redacted transcript of
//! every exchange.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

pub use super::causes::certificate_problem;
use super::causes::{error_chain, explain};
use super::hosts::AllowedHosts;
use super::limits::Phase;
pub use super::limits::{Limits, SCENARIO_BUDGET_TIMEOUTS};
use super::ratelimit::{self, Endpoint, Pace, RateLimited, RateLimits};
pub use super::ratelimit::{RequestStats, Retry};
use super::redact;
pub use super::transcript::Exchange;
use super::transcript::{RawExchange, Recording, VerboseLog};

/// Why a request produced no response. These are transport outcomes: whether one is the
/// target's fault is for a check to say.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("{method} {url}: {what}")]
    Timeout {
        method: String,
        url: String,
        timeout: Duration,
        /// What did not arrive in time ("no answer … within 10s", "the headers came but the
        /// body did not end within 10s"), or the scenario budget that ran out.
        what: String,
    },
    #[error("{method} {url}: could not connect: {reason}")]
    Connect {
        method: String,
        url: String,
        reason: String,
    },
    #[error("{method} {url}: the response body {what} the {limit}-byte cap")]
    BodyTooLarge {
        method: String,
        url: String,
        limit: usize,
        /// "declares N bytes (Content-Length), over" or "exceeded" (read until the cap).
        what: String,
    },
    #[error(
        "{method} {url}: the server's TLS certificate is not trusted ({reason}). If it is signed by a private CA, give that CA's certificate with --ca-cert FILE (or [tls] ca_cert in the profile)"
    )]
    Certificate {
        method: String,
        url: String,
        reason: String,
    },
    #[error(
        "{method} {url}: refused: {host} is not an allowed host{note}. Allowed: {allowed}. To let the runner contact it, list it in the profile's allowed_hosts"
    )]
    NotAllowed {
        method: String,
        url: String,
        host: String,
        allowed: String,
        /// Why the target's metadata did not make it one (` (…)`), or empty.
        note: String,
    },
    /// The server limits its rate, and the transport could not wait or send again.
    #[error("{0}")]
    RateLimited(RateLimited),
    /// The transport could not be set up (before any request).
    #[error("{0}")]
    Setup(String),
    #[error("{method} {url}: {reason}")]
    Other {
        method: String,
        url: String,
        reason: String,
    },
}

/// A response whose body has been read (up to the cap).
#[derive(Debug, Clone)]
pub struct Response {
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The media type without parameters, lower-cased.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as JSON, whatever the content type says; a repeated member name makes it
    /// unusable (see [`super::json`]).
    pub fn json(&self) -> Result<Value, String> {
        super::json::parse(&self.body).map_err(|e| format!("the body is not JSON ({e})"))
    }

    /// The body as a JSON object.
    pub fn json_object(&self) -> Result<serde_json::Map<String, Value>, String> {
        match self.json()? {
            Value::Object(m) => Ok(m),
            other => Err(format!(
                "the body is JSON but not an object: {}",
                kind_of(&other)
            )),
        }
    }
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A request to send. Built by the typed clients; carries everything the transcript shows.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Body>,
    /// Form fields whose values transcripts redact besides the usual secret names (a login
    /// form's password field, whatever it is called; a login script's values).
    pub secret_fields: Vec<String>,
    /// What to do when the server answers "slow down"; `None`: [`Retry::default_for`] the
    /// method.
    pub retry: Option<Retry>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Form(Vec<(String, String)>),
    Json(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            secret_fields: Vec::new(),
            retry: None,
        }
    }

    /// Says whether the request may be sent again after a rate limit: [`Retry::Idempotent`]
    /// for a POST without side effects, [`Retry::Never`] where the limit is the answer sought.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Marks a form field as secret in transcripts.
    pub fn secret_field(mut self, name: &str) -> Self {
        self.secret_fields.push(name.to_string());
        self
    }
    pub fn get(url: Url) -> Self {
        Request::new(Method::GET, url)
    }
    pub fn post(url: Url) -> Self {
        Request::new(Method::POST, url)
    }
    /// Adds a header. Names and values that are not valid HTTP are dropped: the typed clients
    /// only build valid ones, and tampering with framing is out of scope.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.push((n, v));
        }
        self
    }
    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.body = Some(Body::Form(pairs));
        self
    }
    pub fn json(mut self, v: Value) -> Self {
        self.body = Some(Body::Json(v));
        self
    }
    pub fn raw(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.body = Some(Body::Raw {
            content_type: content_type.to_string(),
            bytes,
        });
        self
    }
}

/// The transport. Cloning shares the connection pool, the transcript and the rate-limit wait
/// budget (one scenario); [`Http::fork`] starts a new transcript and budget.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    limits: Limits,
    transcript: Arc<Mutex<Recording>>,
    /// Exchanges are kept raw and redacted only when the transcript is read
    /// ([`Http::deferring_transcripts`]).
    deferred: bool,
    verbose: bool,
    hosts: AllowedHosts,
    rate_limits: RateLimits,
    /// Rate limits come back as responses, whatever a request is marked.
    limits_are_answers: bool,
    /// Time spent waiting on the target in this scenario's requests, all together (a fork's
    /// own; `None` for the run's transport, which has no scenario budget).
    spent: Option<Arc<Mutex<Duration>>>,
    /// The run's secrets: learned from every exchange, scrubbed from every record of one.
    secrets: redact::Redactor,
    /// With `verbose`, this fork's exchanges, logged when its last clone goes.
    log: Option<Arc<VerboseLog>>,
    /// A header every request carries: the route to one instance behind a load balancer.
    route: Option<(HeaderName, HeaderValue)>,
}

/// How the transport is set up.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub limits: Limits,
    /// Log every exchange (redacted).
    pub verbose: bool,
    /// Extra CA certificates to trust (PEM), for a target with a private CA.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// The only hosts requests may go to.
    pub hosts: AllowedHosts,
    /// The longest one scenario waits for rate limits, all waits together
    /// ([`ratelimit::DEFAULT_MAX_WAIT`] unless configured).
    pub max_wait: Duration,
    /// A minimum interval between request starts per URL; `None`: as fast as the run goes.
    pub pace: Option<Pace>,
}

fn setup_error(reason: String) -> TransportError {
    TransportError::Setup(reason)
}

impl Http {
    /// A transport that may contact any host and trusts the usual roots (tests).
    pub fn new(limits: Limits, verbose: bool) -> Result<Self, TransportError> {
        Http::with_options(HttpOptions {
            limits,
            verbose,
            ca_cert_pem: None,
            hosts: AllowedHosts::any(),
            max_wait: ratelimit::DEFAULT_MAX_WAIT,
            pace: None,
        })
    }

    pub fn with_options(o: HttpOptions) -> Result<Self, TransportError> {
        let HttpOptions {
            limits,
            verbose,
            ca_cert_pem,
            hosts,
            max_wait,
            pace,
        } = o;
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| setup_error(format!("the CA certificate file is not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(setup_error(
                    "the CA certificate file holds no PEM certificate".into(),
                ));
            }
            builder = builder.tls_certs_merge(certs);
        } else if let Some(tls) = reference_server::tls::platform_client_config() {
            // The platform's roots, read once per process rather than once per client.
            builder = builder.tls_backend_preconfigured(tls);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .user_agent(concat!("mcp-oauth-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup_error(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http {
            client,
            limits,
            transcript: Arc::new(Mutex::new(Recording::new(false))),
            deferred: false,
            verbose,
            hosts,
            rate_limits: RateLimits::new(max_wait, pace),
            limits_are_answers: false,
            spent: None,
            log: verbose.then(|| Arc::new(VerboseLog::new(redact::Redactor::new()))),
            secrets: redact::Redactor::new(),
            route: None,
        })
    }

    /// This transport with the run's secrets (a new transport has a redactor of its own).
    pub fn with_secrets(mut self, secrets: redact::Redactor) -> Self {
        self.log = self
            .verbose
            .then(|| Arc::new(VerboseLog::new(secrets.clone())));
        self.secrets = secrets;
        self
    }

    /// The secrets this transport has learned (shared by every fork).
    pub fn secrets(&self) -> &redact::Redactor {
        &self.secrets
    }

    /// The hosts this transport may contact (shared by every fork).
    pub fn hosts(&self) -> &AllowedHosts {
        &self.hosts
    }

    /// The same connection pool, limits and request counts with a fresh, separate transcript
    /// and rate-limit wait budget: one per scenario.
    pub fn fork(&self) -> Self {
        Http {
            client: self.client.clone(),
            limits: self.limits.clone(),
            transcript: Arc::new(Mutex::new(Recording::new(self.deferred))),
            deferred: self.deferred,
            verbose: self.verbose,
            hosts: self.hosts.clone(),
            rate_limits: self.rate_limits.fork(),
            limits_are_answers: false,
            spent: Some(Arc::new(Mutex::new(Duration::ZERO))),
            log: self
                .verbose
                .then(|| Arc::new(VerboseLog::new(self.secrets.clone()))),
            secrets: self.secrets.clone(),
            route: self.route.clone(),
        }
    }

    /// This transport (same transcript and budget) setting `name: value` on every request: the
    /// route to one instance behind a load balancer. The transcript shows it.
    pub fn routed(&self, name: HeaderName, value: HeaderValue) -> Self {
        Http {
            route: Some((name, value)),
            ..self.clone()
        }
    }

    /// This transport (same transcript and budget) handing 429s and 503s back as responses
    /// instead of waiting, for the scenarios that provoke a limit to see it (TOK-10).
    pub fn rate_limits_as_answers(&self) -> Self {
        Http {
            limits_are_answers: true,
            ..self.clone()
        }
    }

    /// What this scenario (this fork and its clones) has waited for rate limits so far. A
    /// short-lived grant (an authorization code) may have expired during a wait.
    pub fn rate_limit_waited(&self) -> std::time::Duration {
        self.rate_limits.waited()
    }

    /// Requests, rate limits and waits per endpoint, over every fork of this transport.
    pub fn stats(&self) -> RequestStats {
        self.rate_limits.stats()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// This transport (and its forks) keeping each exchange as it went, unredacted, and
    /// learning its secrets and redacting it only when the transcript is read: for many
    /// exchanges of which few are ever shown (a load run's flows). Not with `verbose`, whose
    /// log shows every exchange.
    pub fn deferring_transcripts(mut self) -> Self {
        self.deferred = !self.verbose;
        self.transcript = Arc::new(Mutex::new(Recording::new(self.deferred)));
        self
    }

    /// Whether this transport keeps its exchanges raw until they are read
    /// ([`Http::deferring_transcripts`]).
    pub fn defers_transcripts(&self) -> bool {
        self.deferred
    }

    /// Everything recorded so far, redacted.
    pub fn transcript(&self) -> Vec<Exchange> {
        match self.transcript.lock().as_deref() {
            Ok(Recording::Redacted(t)) => t.clone(),
            Ok(Recording::Raw(raw)) => super::transcript::redacted(raw, &self.secrets),
            Err(_) => Vec::new(),
        }
    }

    /// How long each exchange recorded so far took, in order.
    pub fn elapsed(&self) -> Vec<Duration> {
        match self.transcript.lock().as_deref() {
            Ok(Recording::Redacted(t)) => t.iter().map(|e| e.elapsed).collect(),
            Ok(Recording::Raw(raw)) => raw.iter().map(|r| r.elapsed).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Teaches the run's secrets those of the exchanges kept raw so far, so that what is said
    /// of them (an error's detail) can be scrubbed.
    pub fn learn_deferred(&self) {
        if let Ok(Recording::Raw(raw)) = self.transcript.lock().as_deref() {
            super::transcript::learn(raw, &self.secrets);
        }
    }

    fn record(&self, mut exchange: Exchange) {
        exchange.scrub(&self.secrets);
        if let Some(log) = &self.log {
            log.push(exchange.clone());
        }
        if let Ok(mut t) = self.transcript.lock() {
            t.push(exchange);
        }
    }

    fn record_raw(&self, raw: RawExchange) {
        if let Ok(mut t) = self.transcript.lock() {
            t.push_raw(raw);
        }
    }

    /// Waits until the rate-limit window the server announced for `method url` has `room`
    /// requests left, without using them: before an authorization whose code `url` will
    /// redeem.
    pub async fn until_room(&self, method: &Method, url: &Url, room: u64) {
        self.rate_limits
            .until_room(&Endpoint::of(method, url), room)
            .await;
    }

    /// What this scenario's requests took, when that is over its budget.
    fn over_budget(&self) -> Option<Duration> {
        let spent = *self.spent.as_ref()?.lock().ok()?;
        (spent > self.limits.timeout * SCENARIO_BUDGET_TIMEOUTS).then_some(spent)
    }

    /// Sends one request; never follows redirects. A "slow down" answer is waited for and the
    /// request sent again as its [`Retry`] allows; each sending is in the transcript.
    pub async fn send(&self, mut req: Request) -> Result<Response, TransportError> {
        if let Some((name, value)) = &self.route {
            req.headers.retain(|(n, _)| n != name);
            req.headers.push((name.clone(), value.clone()));
        }
        let retry = match req.retry {
            _ if self.limits_are_answers => Retry::Never,
            Some(r) => r,
            None => Retry::default_for(&req.method),
        };
        let endpoint = Endpoint::of(&req.method, &req.url);
        let mut retries = 0;
        loop {
            self.rate_limits.before_send(&endpoint, retry).await;
            let resp = self.send_once(&req, &endpoint).await?;
            let delay = ratelimit::slow_down(resp.status, &resp.headers, retries);
            self.rate_limits
                .after(&endpoint, &resp.headers, delay, retry);
            let Some(delay) = delay else {
                return Ok(resp);
            };
            let limits = &self.rate_limits;
            match limits
                .wait_for(retry, &endpoint, resp.status, delay, retries)
                .await
            {
                Ok(true) => retries += 1,
                Ok(false) => return Ok(resp),
                Err(e) => return Err(TransportError::RateLimited(e)),
            }
        }
    }

    async fn send_once(
        &self,
        req: &Request,
        endpoint: &Endpoint,
    ) -> Result<Response, TransportError> {
        let started = Instant::now();
        if !self.deferred {
            redact::learn::request(&self.secrets, req);
        }
        let method = req.method.to_string();
        let url_text = req.url.to_string();

        if let Some(spent) = self.over_budget() {
            let e = TransportError::Timeout {
                method: method.clone(),
                url: redact::redact_url(&url_text),
                timeout: self.limits.timeout * SCENARIO_BUDGET_TIMEOUTS,
                what: format!(
                    "not sent: this scenario's requests have taken {}s all together, over its budget of {:?} ({SCENARIO_BUDGET_TIMEOUTS} timeouts)",
                    spent.as_secs(),
                    self.limits.timeout * SCENARIO_BUDGET_TIMEOUTS
                ),
            };
            self.keep(req, Err(&e), Duration::ZERO);
            return Err(e);
        }
        if !self.hosts.allows(&req.url) {
            let host = req.url.host_str().unwrap_or("(none)").to_string();
            let note = match self.hosts.refused_because(&host) {
                Some(why) => format!(" ({why})"),
                None if !matches!(req.url.scheme(), "http" | "https") => {
                    format!(
                        " (a {}: URL: only http and https are followed)",
                        req.url.scheme()
                    )
                }
                None => String::new(),
            };
            let e = TransportError::NotAllowed {
                method: method.clone(),
                url: redact::redact_url(&url_text),
                host,
                allowed: self.hosts.describe(),
                note,
            };
            self.keep(req, Err(&e), Duration::ZERO);
            return Err(e);
        }
        let mut builder = self.client.request(req.method.clone(), req.url.clone());
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        builder = match &req.body {
            Some(Body::Form(pairs)) => builder.form(pairs),
            Some(Body::Json(v)) => builder.json(v),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => builder
                .header("content-type", content_type)
                .body(bytes.clone()),
            None => builder,
        };
        self.rate_limits.ledger().sent(endpoint);

        let result = self.read(builder, &method, &url_text, &req.url).await;
        let elapsed = started.elapsed();
        if let Some(spent) = &self.spent
            && let Ok(mut spent) = spent.lock()
        {
            *spent += elapsed;
        }
        self.keep(req, result.as_ref(), elapsed);
        result
    }

    /// Records one exchange: its secrets learned and the exchange redacted now, or kept raw
    /// ([`Http::deferring_transcripts`]).
    fn keep(&self, req: &Request, outcome: Result<&Response, &TransportError>, elapsed: Duration) {
        if self.deferred {
            self.record_raw(RawExchange {
                request: req.clone(),
                outcome: outcome.cloned().map_err(|e| e.to_string()),
                elapsed,
            });
            return;
        }
        if let Ok(resp) = outcome {
            redact::learn::response(&self.secrets, resp);
        }
        let error = outcome.err().map(|e| e.to_string());
        self.record(super::transcript::exchange_of(
            req,
            outcome.ok(),
            error,
            elapsed,
        ));
    }

    async fn read(
        &self,
        builder: reqwest::RequestBuilder,
        method: &str,
        url_text: &str,
        url: &Url,
    ) -> Result<Response, TransportError> {
        // What had arrived when an error came: the error message says what the target did.
        let classify = |e: reqwest::Error, phase: Phase| {
            // The message names the URL already (redacted); the HTTP stack's would repeat it
            // in full.
            let e = e.without_url();
            if e.is_timeout() {
                TransportError::Timeout {
                    method: method.to_string(),
                    url: redact::redact_url(url_text),
                    timeout: self.limits.timeout,
                    what: phase.timed_out(self.limits.timeout),
                }
            } else if let Some(reason) = certificate_problem(&e) {
                TransportError::Certificate {
                    method: method.to_string(),
                    url: redact::redact_url(url_text),
                    reason,
                }
            } else if e.is_connect() {
                TransportError::Connect {
                    method: method.to_string(),
                    url: redact::redact_url(url_text),
                    reason: self.secrets.text(&error_chain(&e)),
                }
            } else {
                TransportError::Other {
                    method: method.to_string(),
                    url: redact::redact_url(url_text),
                    reason: self.secrets.text(&format!(
                        "{}: {}",
                        phase.broken(),
                        explain(&error_chain(&e))
                    )),
                }
            }
        };
        let too_large = |what: String| TransportError::BodyTooLarge {
            method: method.to_string(),
            url: redact::redact_url(url_text),
            limit: self.limits.max_body_bytes,
            what,
        };
        let mut resp = builder.send().await.map_err(|e| classify(e, Phase::Head))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let phase = match headers.get("content-type").map(HeaderValue::as_bytes) {
            Some(t) if t.starts_with(b"text/event-stream") => Phase::Events,
            _ => Phase::Body,
        };
        // A declared length over the cap is refused before a byte of the body is read.
        if let Some(declared) = resp.content_length()
            && declared > self.limits.max_body_bytes as u64
        {
            return Err(too_large(format!(
                "declares {declared} bytes (Content-Length), over"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(e, phase))? {
            if body.len() + chunk.len() > self.limits.max_body_bytes {
                return Err(too_large("exceeded".to_string()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            url: url.clone(),
            status,
            headers,
            body,
        })
    }
}
