//! The instances of an authorization server deployed several times behind a load balancer
//! (the profile's `[replicas] urls`, `run --replica URL`). An instance is named by its origin;
//! a request goes "to an instance" at the same path and query as the endpoint the AS metadata
//! names, on the instance's origin.

use url::Url;

use crate::config::parse_http_url;

/// One instance of the authorization server: an origin (`scheme://host[:port]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance(Url);

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
            None => Ok(Instance(u)),
        }
    }

    /// The origin, as `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// `endpoint` (an AS endpoint the metadata names) at this instance: its scheme, host and
    /// port replaced, its path and query kept.
    pub fn endpoint(&self, endpoint: &Url) -> Url {
        let mut u = endpoint.clone();
        // A URL with a host accepts another scheme, host and port of the http(s) kind.
        let _ = u.set_scheme(self.0.scheme());
        let _ = u.set_host(self.0.host_str());
        let _ = u.set_port(self.0.port());
        u
    }

    /// A URL on this instance, to allow its host.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin())
    }
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
}
