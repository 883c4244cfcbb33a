//! Client ID metadata documents (CIMD-01..08, CIMD-10, CIMD-11): a `client_id` that is an https URL
//! names a JSON document describing the client. It is fetched with a size limit and a timeout,
//! validated, and cached only when valid and only as long as its cache headers allow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use crate::config::Config;
use crate::defects::{Defect, Defects};
use crate::protocol::{
    AuthMethod, DEFAULT_GRANT_TYPES, GrantType, HTTP, HTTPS, check_redirect_uri, is_loopback_host,
};
use crate::store::Client;

/// The longest a valid document is cached, whatever its headers say.
const MAX_CACHE: Duration = Duration::from_secs(3600);
/// How long the `cimd-errors-cached` defect remembers a failure.
const DEFECTIVE_ERROR_CACHE: Duration = Duration::from_secs(60);
const MAX_CACHE_ENTRIES: usize = 1000;

pub struct Fetcher {
    http: reqwest::Client,
    allow_loopback_http: bool,
    max_bytes: usize,
    cache: Mutex<HashMap<String, (Instant, Client)>>,
    defects: Defects,
    /// Only with the `cimd-errors-cached` defect: failures remembered by URL.
    failures: Mutex<HashMap<String, (Instant, String)>>,
    /// Only with the `cimd-fetch-once-per-origin` defect: when each origin was last fetched from.
    origins: Mutex<HashMap<String, Instant>>,
}

impl Fetcher {
    /// The fetcher, or why its HTTP client cannot be built.
    pub fn new(config: &Config) -> Result<Self, String> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder();
        if let Some(tls) = crate::tls::platform_client_config() {
            builder = builder.tls_backend_preconfigured(tls);
        }
        let http = builder
            .timeout(config.cimd_fetch_timeout)
            .connect_timeout(config.cimd_fetch_timeout)
            // CIMD-10: a redirect could lead anywhere, so none is followed.
            .redirect(if config.defects.has(Defect::CimdRedirectFollowed) {
                reqwest::redirect::Policy::limited(5)
            } else {
                reqwest::redirect::Policy::none()
            })
            .user_agent("mcp-oauth-conformance-reference-server")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Fetcher {
            http,
            allow_loopback_http: config.allow_loopback_http_client_ids,
            max_bytes: config.cimd_max_bytes,
            cache: Mutex::new(HashMap::new()),
            defects: config.defects.clone(),
            failures: Mutex::new(HashMap::new()),
            origins: Mutex::new(HashMap::new()),
        })
    }

    /// The client the document at `client_id` describes, or why it cannot be used.
    /// `redirect_uri` is the one the authorization request named, if any.
    pub async fn client(
        &self,
        client_id: &str,
        redirect_uri: Option<&str>,
    ) -> Result<Client, String> {
        let url = self.check_url(client_id)?;
        if let Some(c) = self.cached(client_id) {
            return Ok(c);
        }
        if let Some(why) = self.cached_failure(client_id) {
            return Err(why);
        }
        // CIMD-01: every client_id URL not cached is fetched (with the defect, one per origin a
        // minute).
        if self.defects.has(Defect::CimdFetchOncePerOrigin) && self.origin_fetched_lately(&url) {
            return Err("too many client metadata documents fetched from this origin".into());
        }
        let fetched = match self.fetch(&url).await {
            Ok((doc, max_age)) => {
                parse_document_with(client_id, &doc, &self.defects).map(|c| (c, max_age))
            }
            Err(e) => Err(e),
        };
        let (client, max_age) = match fetched {
            Ok(ok) => ok,
            // CIMD-05 broken on purpose: a document URL answering an HTTP error lets the
            // authorization go on, for a public client at the loopback redirect URI it names.
            Err(why)
                if self.defects.has(Defect::CimdFetchFailureIgnored)
                    && failed_with_error_status(&why)
                    && let Some(client) = fail_open_client(client_id, redirect_uri) =>
            {
                return Ok(client);
            }
            Err(why) => {
                // CIMD-06: errors are never cached (except with the `cimd-errors-cached` defect).
                if self.defects.has(Defect::CimdErrorsCached) {
                    let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
                    if f.len() < MAX_CACHE_ENTRIES {
                        f.insert(
                            client_id.to_string(),
                            (Instant::now() + DEFECTIVE_ERROR_CACHE, why.clone()),
                        );
                    }
                }
                return Err(why);
            }
        };
        // CIMD-06: only valid documents are cached; errors never are.
        if let Some(age) = max_age {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= MAX_CACHE_ENTRIES {
                let now = Instant::now();
                cache.retain(|_, (exp, _)| *exp > now);
            }
            if cache.len() < MAX_CACHE_ENTRIES {
                cache.insert(
                    client_id.to_string(),
                    (Instant::now() + age.min(MAX_CACHE), client.clone()),
                );
            }
        }
        Ok(client)
    }

    /// Whether a document was fetched from `url`'s origin in the last minute; records this
    /// fetch if not (the `cimd-fetch-once-per-origin` defect).
    fn origin_fetched_lately(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        let now = Instant::now();
        let mut origins = self.origins.lock().unwrap_or_else(|e| e.into_inner());
        if origins
            .get(&origin)
            .is_some_and(|at| now.duration_since(*at) < DEFECTIVE_ERROR_CACHE)
        {
            return true;
        }
        if origins.len() < MAX_CACHE_ENTRIES {
            origins.insert(origin, now);
        }
        false
    }

    fn cached_failure(&self, client_id: &str) -> Option<String> {
        let f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.get(client_id)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, why)| why.clone())
    }

    fn cached(&self, client_id: &str) -> Option<Client> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(client_id)
            .filter(|(exp, _)| *exp > Instant::now())
            .map(|(_, c)| c.clone())
    }

    /// CIMD-07: https, a path, no fragment, no userinfo, no dot segments; CIMD-10 on the host.
    fn check_url(&self, raw: &str) -> Result<Url, String> {
        let url = Url::parse(raw).map_err(|_| "the client_id is not a valid URL".to_string())?;
        if self.defects.has(Defect::CimdUrlUnchecked) {
            return self.check_scheme_and_host(url);
        }
        if raw.contains('#') {
            return Err("a client_id URL must not have a fragment".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("a client_id URL must not carry user information".into());
        }
        let path_part = raw
            .split_once("://")
            .map(|(_, rest)| rest.split(['?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        if path_part.split('/').skip(1).any(|seg| {
            seg == "."
                || seg == ".."
                || seg.eq_ignore_ascii_case("%2e")
                || seg.eq_ignore_ascii_case("%2e%2e")
        }) {
            return Err("a client_id URL must not contain dot segments".into());
        }
        if url.path().is_empty() || url.path() == "/" {
            return Err("a client_id URL must have a path".into());
        }
        self.check_scheme_and_host(url)
    }

    /// CIMD-07 (https) and CIMD-10 (no loopback or private address, unless allowed for tests).
    fn check_scheme_and_host(&self, url: Url) -> Result<Url, String> {
        let loopback = is_loopback_host(&url);
        match url.scheme() {
            HTTPS => {}
            HTTP if loopback && self.allow_loopback_http => {}
            _ => return Err("a client_id URL must use https".into()),
        }
        if !self.allow_loopback_http && (loopback || is_private_ip(&url)) {
            return Err("a client_id URL must not point at a loopback or private address".into());
        }
        Ok(url)
    }

    /// GET the document. Any failure aborts the authorization (CIMD-05).
    async fn fetch(&self, url: &Url) -> Result<(Value, Option<Duration>), String> {
        let mut resp = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "fetching the client metadata document timed out".to_string()
                } else {
                    "the client metadata document could not be fetched".to_string()
                }
            })?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("{STATUS_FAILURE}{}", resp.status().as_u16()));
        }
        let max_age = cache_lifetime(resp.headers());
        // CIMD-11: read no more than the limit.
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_bytes
                        && !self.defects.has(Defect::CimdSizeUnlimited)
                    {
                        return Err(format!(
                            "the client metadata document is larger than {} bytes",
                            self.max_bytes
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return Err("the client metadata document could not be read".into()),
            }
        }
        let doc = if self.defects.has(Defect::CimdLenientDocument) {
            // The `cimd-lenient-document` defect: the first JSON value, whatever follows it.
            serde_json::Deserializer::from_slice(&body)
                .into_iter::<Value>()
                .next()
                .and_then(Result::ok)
                .ok_or("the client metadata document is not valid JSON")?
        } else {
            serde_json::from_slice(&body)
                .map_err(|_| "the client metadata document is not valid JSON".to_string())?
        };
        Ok((doc, max_age))
    }
}

/// How a fetch answered with another status than 200 is reported.
const STATUS_FAILURE: &str = "fetching the client metadata document returned HTTP ";

/// Whether `why` reports a document URL that answered 4xx or 5xx.
fn failed_with_error_status(why: &str) -> bool {
    why.strip_prefix(STATUS_FAILURE)
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| code >= 400)
}

/// The client the `cimd-fetch-failure-ignored` defect makes up for a document it could not
/// fetch: public, allowed the loopback redirect URI the request named (none other).
fn fail_open_client(client_id: &str, redirect_uri: Option<&str>) -> Option<Client> {
    let uri = redirect_uri?;
    let parsed = Url::parse(uri).ok()?;
    if parsed.scheme() != HTTP || !is_loopback_host(&parsed) {
        return None;
    }
    Some(Client {
        client_id: client_id.to_string(),
        secret: None,
        auth_method: AuthMethod::None,
        redirect_uris: vec![uri.to_string()],
        grant_types: DEFAULT_GRANT_TYPES.map(str::to_owned).to_vec(),
        client_name: None,
        from_metadata_document: true,
        exact_loopback_port: false,
    })
}

fn is_private_ip(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_private() || ip.is_link_local() || ip.is_loopback() || ip.is_unspecified()
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        _ => false,
    }
}

/// The lifetime a response's `Cache-Control` allows, if any (CIMD-06 SHOULD honour it).
fn cache_lifetime(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let cc = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in cc.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" || lower == "private" {
            return None;
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age.filter(|d| !d.is_zero())
}

/// CIMD-02, CIMD-04, CIMD-08: the document must name itself, list redirect URIs, and carry no secret.
pub fn parse_document(url: &str, doc: &Value) -> Result<Client, String> {
    parse_document_with(url, doc, &Defects::none())
}

/// [`parse_document`], with the checks the server's defects disable left out.
fn parse_document_with(url: &str, doc: &Value, defects: &Defects) -> Result<Client, String> {
    // CIMD-04: the document is read strictly: one JSON object, each member of its own type.
    let lenient = defects.has(Defect::CimdLenientDocument);
    let obj = match doc {
        Value::Array(a) if lenient => a.first().and_then(Value::as_object),
        _ => doc.as_object(),
    }
    .ok_or("the client metadata document is not a JSON object")?;
    // CIMD-02: the document's client_id is exactly its URL.
    match obj.get("client_id").and_then(Value::as_str) {
        Some(id) if id == url => {}
        Some(_) if defects.has(Defect::CimdClientIdUnchecked) => {}
        Some(_) => return Err("the document's client_id does not equal its URL".into()),
        None if lenient => {}
        None => return Err("the client metadata document has no client_id".into()),
    }
    let redirect_uris: Vec<String> = match obj.get("redirect_uris") {
        Some(Value::String(one)) if lenient => vec![one.clone()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or("redirect_uris must be strings")
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("the client metadata document lists no redirect_uris".into()),
    };
    for uri in &redirect_uris {
        check_redirect_uri(uri)?;
    }
    let secret_accepted = defects.has(Defect::CimdSecretAccepted);
    if (obj.contains_key("client_secret") || obj.contains_key("client_secret_expires_at"))
        && !secret_accepted
    {
        return Err("a client metadata document must not contain a client secret".into());
    }
    // CIMD-08: no shared secret; CIMD-09: and no other client authentication, which this server
    // would have to verify: a metadata document client is public here.
    match obj.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if AuthMethod::parse(m) == Some(AuthMethod::None) => {}
        Some(Value::String(m)) if secret_accepted && m.starts_with("client_secret_") => {}
        Some(Value::String(m))
            if m == "private_key_jwt" && defects.has(Defect::CimdConfidentialUnauthenticated) => {}
        Some(_) => {
            return Err(
                "this server accepts client metadata documents only for public clients (token_endpoint_auth_method \"none\")"
                    .into(),
            );
        }
    }
    let grant_types = match obj.get("grant_types") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or("grant_types must be strings")
            })
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Value::Null) => DEFAULT_GRANT_TYPES.map(str::to_owned).to_vec(),
        Some(_) => return Err("grant_types must be an array".into()),
    };
    if grant_types
        .iter()
        .any(|g| g == GrantType::ClientCredentials.as_str())
    {
        return Err("a public client cannot use client_credentials".into());
    }
    Ok(Client {
        client_id: url.to_string(),
        secret: None,
        auth_method: AuthMethod::None,
        redirect_uris,
        grant_types,
        client_name: obj
            .get("client_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        from_metadata_document: true,
        exact_loopback_port: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const U: &str = "https://client.example/meta.json";

    #[test]
    fn a_document_must_name_itself_exactly() {
        let ok =
            json!({"client_id": U, "redirect_uris": ["http://127.0.0.1:1/cb"], "client_name": "x"});
        assert!(parse_document(U, &ok).is_ok());
        for other in [
            "https://client.example/meta.json/",
            "https://CLIENT.example/meta.json",
            "https://other.example/meta.json",
        ] {
            let bad = json!({"client_id": other, "redirect_uris": ["http://127.0.0.1:1/cb"]});
            assert!(parse_document(U, &bad).is_err(), "{other}");
        }
    }

    #[test]
    fn documents_without_redirects_or_with_secrets_are_refused() {
        assert!(parse_document(U, &json!([])).is_err());
        assert!(parse_document(U, &json!({"client_id": U})).is_err());
        assert!(parse_document(U, &json!({"client_id": U, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"})).is_err());
        assert!(parse_document(U, &json!({"client_id": U, "redirect_uris": ["http://127.0.0.1/cb"], "client_secret": "s"})).is_err());
    }

    #[test]
    fn each_document_defect_lets_its_own_kind_of_document_through() {
        let d = |x: Defect| Defects::only(x);
        let other = json!({"client_id": "https://other.example/m.json", "redirect_uris": ["http://127.0.0.1:1/cb"]});
        assert!(parse_document_with(U, &other, &d(Defect::CimdClientIdUnchecked)).is_ok());
        assert!(parse_document_with(U, &other, &d(Defect::CimdSecretAccepted)).is_err());
        let array = json!([{"redirect_uris": "http://127.0.0.1:1/cb"}]);
        assert!(parse_document_with(U, &array, &d(Defect::CimdLenientDocument)).is_ok());
        assert!(parse_document(U, &array).is_err());
        let secret = json!({"client_id": U, "redirect_uris": ["http://127.0.0.1:1/cb"], "client_secret": "s"});
        assert!(parse_document_with(U, &secret, &d(Defect::CimdSecretAccepted)).is_ok());
        let pkjwt = json!({"client_id": U, "redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://client.example/jwks"});
        assert!(parse_document(U, &pkjwt).is_err());
        assert!(
            parse_document_with(U, &pkjwt, &d(Defect::CimdConfidentialUnauthenticated)).is_ok()
        );
        let loose = Fetcher::new(&Config {
            defects: d(Defect::CimdUrlUnchecked),
            ..Config::default()
        })
        .unwrap();
        assert!(
            loose
                .check_url("https://client.example/a/../c.json#x")
                .is_ok()
        );
        assert!(loose.check_url("http://client.example/c.json").is_err());
    }

    #[test]
    fn only_an_error_status_fails_open_and_only_to_loopback() {
        assert!(failed_with_error_status(&format!("{STATUS_FAILURE}404")));
        assert!(failed_with_error_status(&format!("{STATUS_FAILURE}500")));
        assert!(!failed_with_error_status(&format!("{STATUS_FAILURE}302")));
        assert!(!failed_with_error_status(
            "fetching the client metadata document timed out"
        ));
        let c = fail_open_client(U, Some("http://127.0.0.1:5/cb")).unwrap();
        assert_eq!(c.redirect_uris, ["http://127.0.0.1:5/cb"]);
        assert!(c.secret.is_none() && c.from_metadata_document);
        assert!(fail_open_client(U, Some("https://evil.example/cb")).is_none());
        assert!(fail_open_client(U, None).is_none());
    }

    #[test]
    fn an_origin_counts_as_fetched_for_a_minute() {
        let f = Fetcher::new(&Config::default()).unwrap();
        let a = Url::parse("https://client.example/a.json").unwrap();
        let b = Url::parse("https://client.example/b.json").unwrap();
        let other = Url::parse("https://other.example/a.json").unwrap();
        assert!(!f.origin_fetched_lately(&a));
        assert!(f.origin_fetched_lately(&b));
        assert!(!f.origin_fetched_lately(&other));
    }

    #[test]
    fn client_id_urls_are_checked() {
        let strict = Fetcher::new(&Config::default()).unwrap();
        for bad in [
            "http://client.example/c.json",
            "https://client.example",
            "https://client.example/",
            "https://u:p@client.example/c.json",
            "https://client.example/a/../c.json",
            "https://client.example/c.json#x",
            "https://127.0.0.1/c.json",
            "https://10.0.0.1/c.json",
        ] {
            assert!(strict.check_url(bad).is_err(), "{bad}");
        }
        assert!(strict.check_url(U).is_ok());
        let dev = Fetcher::new(&Config {
            allow_loopback_http_client_ids: true,
            ..Config::default()
        })
        .unwrap();
        assert!(dev.check_url("http://127.0.0.1:5/c.json").is_ok());
        assert!(dev.check_url("http://client.example/c.json").is_err());
    }

    #[test]
    fn cache_lifetime_follows_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(cache_lifetime(&h), None);
        h.insert(
            reqwest::header::CACHE_CONTROL,
            "public, max-age=60".parse().unwrap(),
        );
        assert_eq!(cache_lifetime(&h), Some(Duration::from_secs(60)));
        h.insert(reqwest::header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(cache_lifetime(&h), None);
    }
}
