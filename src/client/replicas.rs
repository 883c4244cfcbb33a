//! The instances of an authorization server deployed several times behind a load balancer.
//! An instance is reached one of two ways:
//!
//! - by its origin (the profile's `[replicas] urls`, `run --replica URL`): a request goes "to
//!   an instance" at the same path and query as the endpoint the AS metadata names, on the
//!   instance's origin;
//! - by a route (`[replicas] route_header` and `routes`, `run --replica-route-header NAME
//!   --replica-route VALUE`): a request goes to the endpoint the AS metadata names (the load
//!   balancer) with the routing header set to the instance's value.

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::http::Http;
use crate::config::parse_http_url;

/// Headers that cannot name an instance. `Host` (and HTTP/2's `:authority`) is made from the
/// URL by the HTTP client, which also gives TLS its server name from it: a `Host` set apart
/// from the URL is not reliably sent, and over HTTP/2 a `Host` that differs from `:authority`
/// is malformed (RFC 9113 §8.3.1). The others frame or route the message itself.
const NOT_ROUTES: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "content-type",
    "expect",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Words in a header name that say it carries a credential. A routing header is printed in
/// every report and transcript, so it must not be one.
const SECRET_WORDS: &[&str] = &[
    "authorization",
    "cookie",
    "token",
    "secret",
    "password",
    "api-key",
    "apikey",
    "credential",
];

/// One instance of the authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    /// An origin (`scheme://host[:port]`).
    Origin(Url),
    /// The endpoints the AS metadata names, with a routing header set to the instance's value.
    Route(Route),
}

/// A routing header and the value that reaches one instance.
#[derive(Debug, Clone)]
pub struct Route {
    /// The header's name as the user spelled it (for messages).
    label: String,
    name: HeaderName,
    value: HeaderValue,
}

/// The same header (whatever its case) with the same value reaches the same instance.
impl PartialEq for Route {
    fn eq(&self, other: &Route) -> bool {
        self.name == other.name && self.value == other.value
    }
}

impl Eq for Route {}

/// An endpoint at one instance: its name for messages, where to send, and the transport that
/// reaches it (the run's, or a clone of it that sets the routing header).
#[derive(Clone)]
pub struct AtInstance {
    pub name: String,
    pub url: Url,
    pub http: Http,
}

impl Instance {
    /// An instance from the origin `value` names, or an error that names `field`: an absolute
    /// http(s) URL without user, password, path (other than `/`), query or fragment.
    pub fn parse(field: &str, value: &str) -> Result<Instance, String> {
        let u = parse_http_url(field, value)?;
        let why_not = if !u.username().is_empty() || u.password().is_some() {
            Some("carries a user or password")
        } else if u.path() != "/" {
            Some("has a path")
        } else if u.query().is_some() {
            Some("has a query")
        } else if u.fragment().is_some() {
            Some("has a fragment")
        } else {
            None
        };
        match why_not {
            Some(why) => Err(format!(
                "{field}: {value:?} {why}: name an instance by its origin alone (scheme://host[:port]); requests keep the paths the AS metadata gives"
            )),
            None => Ok(Instance::Origin(u)),
        }
    }

    /// The instance reached with the header `header` (checked by [`route_header`]) set to
    /// `value`, or an error that names `field` (where the value came from).
    pub fn route(header: &str, field: &str, value: &str) -> Result<Instance, String> {
        let name = route_header("the routing header", header)?;
        if value.trim().is_empty() {
            return Err(format!(
                "{field}: an empty value names no instance: give the value of {header} that reaches it"
            ));
        }
        if value.trim() != value {
            return Err(format!(
                "{field}: {value:?} has leading or trailing spaces, which HTTP drops from a header value"
            ));
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            format!(
                "{field}: {value:?} is not a valid header value (visible ASCII characters and spaces only)"
            )
        })?;
        Ok(Instance::Route(Route {
            label: header.to_string(),
            name,
            value,
        }))
    }

    /// The instance's name in messages and reports: its origin, or its route as
    /// `X-Instance: b`.
    pub fn name(&self) -> String {
        match self {
            Instance::Origin(u) => u.origin().ascii_serialization(),
            Instance::Route(r) => format!("{}: {}", r.label, r.value.to_str().unwrap_or("?")),
        }
    }

    /// The instance's name (see [`Instance::name`]).
    pub fn origin(&self) -> String {
        self.name()
    }

    /// `endpoint` (an AS endpoint the metadata names) at this instance: with an origin, its
    /// scheme, host and port replaced, its path and query kept; with a route, `endpoint` itself
    /// (the transport of [`Instance::http`] sets the header).
    pub fn endpoint(&self, endpoint: &Url) -> Url {
        let mut u = endpoint.clone();
        if let Instance::Origin(origin) = self {
            // A URL with a host accepts another scheme, host and port of the http(s) kind.
            let _ = u.set_scheme(origin.scheme());
            let _ = u.set_host(origin.host_str());
            let _ = u.set_port(origin.port());
        }
        u
    }

    /// The transport that reaches this instance: `http` itself for an origin, a clone of it
    /// (same transcript) that sets the routing header for a route.
    pub fn http(&self, http: &Http) -> Http {
        match self {
            Instance::Origin(_) => http.clone(),
            Instance::Route(r) => http.routed(r.name.clone(), r.value.clone()),
        }
    }

    /// `endpoint` at this instance, with the transport that reaches it.
    pub fn at(&self, http: &Http, endpoint: &Url) -> AtInstance {
        AtInstance {
            name: self.name(),
            url: self.endpoint(endpoint),
            http: self.http(http),
        }
    }

    /// The instance's origin, to allow its host; `None` for a route (it goes where the
    /// metadata says).
    pub fn url(&self) -> Option<&Url> {
        match self {
            Instance::Origin(u) => Some(u),
            Instance::Route(_) => None,
        }
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The routing header `value` names, or an error that names `field`: a valid header name that
/// is neither one the HTTP client makes itself or that frames the message (`Host`,
/// `Content-Length`, ...) nor one that carries a credential (`Authorization`, `Cookie`, ...).
pub fn route_header(field: &str, value: &str) -> Result<HeaderName, String> {
    let name = HeaderName::from_bytes(value.as_bytes()).map_err(|_| {
        format!(
            "{field}: {value:?} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        )
    })?;
    let lower = name.as_str();
    if lower == "host" {
        return Err(format!(
            "{field}: {value:?} cannot route: the HTTP client makes Host (and HTTP/2's :authority) from the URL, and TLS's server name too, so a Host set apart from the URL is not reliably sent. To route by host name, list each instance's host name in [replicas] urls (resolving to the load balancer)"
        ));
    }
    if NOT_ROUTES.contains(&lower) {
        return Err(format!(
            "{field}: {value:?} frames the HTTP message and cannot route: name the load balancer's routing header"
        ));
    }
    if SECRET_WORDS.iter().any(|w| lower.contains(w)) || super::redact::is_secret_name(lower) {
        return Err(format!(
            "{field}: {value:?} looks like a header that carries a credential: a routing header is printed in every report and transcript, so it must not be one"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_an_origin_and_takes_an_endpoints_path_and_query() {
        let i = Instance::parse("replicas.urls", "https://as-2.internal:8443").expect("origin");
        assert_eq!(i.origin(), "https://as-2.internal:8443");
        let token = Url::parse("https://auth.example.com/tenant/oauth2/token?x=1").expect("url");
        assert_eq!(
            i.endpoint(&token).as_str(),
            "https://as-2.internal:8443/tenant/oauth2/token?x=1"
        );
        let http = Instance::parse("replicas.urls", "http://127.0.0.1:9001/").expect("origin");
        assert_eq!(
            http.endpoint(&token).as_str(),
            "http://127.0.0.1:9001/tenant/oauth2/token?x=1"
        );
        // The default port of the instance's scheme is not written out.
        let plain = Instance::parse("replicas.urls", "https://as-3.internal").expect("origin");
        let odd = Url::parse("http://auth.example.com:8080/token").expect("url");
        assert_eq!(plain.endpoint(&odd).as_str(), "https://as-3.internal/token");
    }

    #[test]
    fn anything_but_an_origin_is_refused_with_the_setting_named() {
        for bad in [
            "as-2.internal",
            "ftp://as-2.internal",
            "https://as-2.internal/oauth2",
            "https://as-2.internal/?x=1",
            "https://as-2.internal/#f",
            "https://user:pw@as-2.internal",
        ] {
            let e = Instance::parse("replicas.urls", bad).expect_err(bad);
            assert!(e.starts_with("replicas.urls: "), "{e}");
        }
    }

    #[test]
    fn a_route_keeps_the_endpoint_and_is_named_by_its_header() {
        let i = Instance::route("X-Instance", "replicas.routes", "b").expect("route");
        assert_eq!(i.name(), "X-Instance: b");
        assert_eq!(i.to_string(), "X-Instance: b");
        assert!(i.url().is_none());
        let token = Url::parse("https://auth.example.com/oauth2/token").expect("url");
        assert_eq!(i.endpoint(&token), token);
        // The header's case does not make another instance.
        assert_eq!(
            Instance::route("x-instance", "r", "b").expect("route"),
            Instance::route("X-INSTANCE", "r", "b").expect("route")
        );
    }

    #[test]
    fn bad_routes_are_refused_with_the_setting_named() {
        for (header, needle) in [
            ("X Instance", "is not a header name"),
            ("", "is not a header name"),
            (":authority", "is not a header name"),
            ("Host", "Host"),
            ("content-length", "frames the HTTP message"),
            ("Authorization", "carries a credential"),
            ("Cookie", "carries a credential"),
            ("X-Api-Key", "carries a credential"),
            ("X-Session-Token", "carries a credential"),
        ] {
            let e = route_header("replicas.route_header", header).expect_err(header);
            assert!(e.starts_with("replicas.route_header: "), "{e}");
            assert!(e.contains(needle), "{header}: {e}");
        }
        for (value, needle) in [
            ("", "empty"),
            (" a", "leading or trailing spaces"),
            ("a\nb", "not a valid header value"),
        ] {
            let e = Instance::route("X-Instance", "replicas.routes", value).expect_err(value);
            assert!(e.starts_with("replicas.routes: "), "{e}");
            assert!(e.contains(needle), "{value:?}: {e}");
        }
    }
}
