//! `allowed_hosts`: the only hosts the runner contacts. Discovery, redirects and login pages
//! that lead anywhere else are refused before a byte is sent, so a misconfigured or hostile
//! target cannot steer the runner (and the test user's credentials) to a third party.

use std::sync::{Arc, RwLock};

use url::Url;

/// One entry of `allowed_hosts`: a host name or IP literal, or `*.example.com` for every
/// subdomain of `example.com` (not `example.com` itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    Subdomains(String),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let t = text.trim().to_ascii_lowercase();
        let (wild, host) = match t.strip_prefix("*.") {
            Some(rest) => (true, rest.to_string()),
            None => (false, t.clone()),
        };
        // A host alone: no scheme, port, path or further wildcards.
        let v6 = host.starts_with('[') && host.ends_with(']');
        let shaped = !host.is_empty() && (v6 || !host.contains(['*', '/', ':', '@', '?', '#']));
        let parsed = Url::parse(&format!("http://{host}/"))
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        match parsed {
            Some(h) if shaped => Ok(if wild {
                HostPattern::Subdomains(h)
            } else {
                HostPattern::Exact(h)
            }),
            _ => Err(format!(
                "{text:?} is not a host name (write hosts only, like \"auth.example.com\" or \"*.example.com\", without scheme or port)"
            )),
        }
    }

    pub fn matches(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        match self {
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomains(h) => host
                .strip_suffix(h.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        }
    }
}

/// The hosts a run may contact. Cloning shares the list, so hosts learned during discovery
/// (the authorization servers a protected resource names) reach every scenario.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug)]
struct Inner {
    patterns: Vec<HostPattern>,
    /// Set by the profile: then discovery adds nothing.
    fixed: bool,
    /// The kind of address the target's own host is, when it is an IP literal: a learned
    /// host of a special kind (loopback, private) must be of the same kind.
    target_kind: Option<AddressKind>,
    /// Hosts the target named that were not learned, and why (for the refusal's message).
    refused: Vec<(String, String)>,
}

/// IP address ranges a target's metadata must not steer the runner into (server-side request
/// forgery): an address of one of these kinds is learned only when the target's own address is
/// of the same kind, and a link-local one never (cloud metadata services live there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Loopback,
    Private,
    LinkLocal,
    Unroutable,
}

impl AddressKind {
    /// The kind of an IP literal host (as `Url::host_str` gives it); `None` for a public
    /// address or a name.
    pub fn of(host: &str) -> Option<AddressKind> {
        let ip: std::net::IpAddr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let ip = match ip {
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => std::net::IpAddr::V4(v4),
                None => std::net::IpAddr::V6(v6),
            },
            v4 => v4,
        };
        match ip {
            std::net::IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_loopback() {
                    Some(AddressKind::Loopback)
                } else if v4.is_link_local() {
                    Some(AddressKind::LinkLocal)
                } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                    Some(AddressKind::Private)
                } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                    Some(AddressKind::Unroutable)
                } else {
                    None
                }
            }
            std::net::IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                if v6.is_loopback() {
                    Some(AddressKind::Loopback)
                } else if first & 0xffc0 == 0xfe80 {
                    Some(AddressKind::LinkLocal)
                } else if first & 0xfe00 == 0xfc00 {
                    Some(AddressKind::Private)
                } else if v6.is_unspecified() || v6.is_multicast() {
                    Some(AddressKind::Unroutable)
                } else {
                    None
                }
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AddressKind::Loopback => "a loopback address",
            AddressKind::Private => "a private-range address",
            AddressKind::LinkLocal => {
                "a link-local address, where cloud metadata services (169.254.169.254) live"
            }
            AddressKind::Unroutable => "an unspecified, broadcast or multicast address",
        }
    }
}

impl AllowedHosts {
    /// Everything allowed (unit tests of components that need a transport).
    pub fn any() -> Self {
        AllowedHosts {
            inner: Arc::new(RwLock::new(Inner {
                patterns: vec![HostPattern::Subdomains(String::new())],
                fixed: true,
                target_kind: None,
                refused: Vec::new(),
            })),
        }
    }

    /// The default: the target's host, plus whatever discovery adds.
    pub fn for_target(target: &Url) -> Self {
        AllowedHosts {
            inner: Arc::new(RwLock::new(Inner {
                patterns: target
                    .host_str()
                    .map(|h| HostPattern::Exact(h.to_ascii_lowercase()))
                    .into_iter()
                    .collect(),
                fixed: false,
                target_kind: target.host_str().and_then(AddressKind::of),
                refused: Vec::new(),
            })),
        }
    }

    /// The profile's list: exactly these, nothing learned.
    pub fn fixed(patterns: Vec<HostPattern>) -> Self {
        AllowedHosts {
            inner: Arc::new(RwLock::new(Inner {
                patterns,
                fixed: true,
                target_kind: None,
                refused: Vec::new(),
            })),
        }
    }

    /// Adds the host of an authorization server the target's metadata names (a no-op when the
    /// profile fixed the list). Only http and https URLs are learned, and an IP address of a
    /// special range only when the target's own address is of the same range (never a
    /// link-local one): a target's metadata cannot steer the runner into the network it runs in.
    pub fn learn(&self, url: &Url) {
        let Some(host) = url.host_str() else {
            return;
        };
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.fixed || inner.patterns.iter().any(|p| p.matches(host)) {
            return;
        }
        let why_not = if !matches!(url.scheme(), "http" | "https") {
            Some(format!("a {}: URL, not http or https", url.scheme()))
        } else {
            match AddressKind::of(host) {
                Some(AddressKind::LinkLocal) => Some(AddressKind::LinkLocal.describe().to_string()),
                Some(kind) if inner.target_kind != Some(kind) => {
                    Some(format!("{}, while the target's is not", kind.describe()))
                }
                _ => None,
            }
        };
        match why_not {
            Some(why) => {
                if inner.refused.len() < 16 && !inner.refused.iter().any(|(h, _)| h == host) {
                    inner.refused.push((host.to_string(), why));
                }
            }
            None => inner
                .patterns
                .push(HostPattern::Exact(host.to_ascii_lowercase())),
        }
    }

    /// Allows the host of `url`, which the user named (a replica of the authorization server):
    /// added to the default list whatever its address range; a fixed list is left as it is.
    /// Whether the host is now allowed.
    pub fn allow_named(&self, url: &Url) -> bool {
        if let Some(host) = url.host_str()
            && let Ok(mut inner) = self.inner.write()
            && !inner.fixed
            && !inner.patterns.iter().any(|p| p.matches(host))
        {
            inner
                .patterns
                .push(HostPattern::Exact(host.to_ascii_lowercase()));
        }
        self.allows(url)
    }

    /// Why the target's metadata named `host` and it was not learned, if it was.
    pub fn refused_because(&self, host: &str) -> Option<String> {
        let inner = self.inner.read().ok()?;
        inner
            .refused
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, why)| format!("the target named it, but it is {why}"))
    }

    pub fn allows(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.inner.read().is_ok_and(|inner| {
            inner.patterns.iter().any(|p| match p {
                HostPattern::Exact(h) => {
                    h.trim_start_matches('[').trim_end_matches(']') == host.to_ascii_lowercase()
                }
                HostPattern::Subdomains(h) if h.is_empty() => true,
                p => p.matches(host),
            })
        })
    }

    /// Host resolver rules for a browser that make every host outside the list fail to resolve,
    /// so that a page cannot take it elsewhere. `None` when everything is allowed.
    /// `also` are hosts the browser may still be sent to (the redirect URIs it stops at).
    pub fn resolver_rules(&self, also: &[&str]) -> Option<String> {
        let inner = self.inner.read().ok()?;
        let mut rules = vec!["MAP * ~NOTFOUND".to_string()];
        for p in &inner.patterns {
            match p {
                HostPattern::Subdomains(h) if h.is_empty() => return None,
                HostPattern::Subdomains(h) => rules.push(format!("EXCLUDE *.{h}")),
                // IP literals are matched too (as written in URLs: `[::1]` for IPv6).
                HostPattern::Exact(h) => rules.push(format!("EXCLUDE {h}")),
            }
        }
        rules.extend(also.iter().map(|h| format!("EXCLUDE {h}")));
        Some(rules.join(", "))
    }

    /// The list, for messages.
    pub fn describe(&self) -> String {
        self.inner
            .read()
            .map(|inner| {
                let names: Vec<String> = inner
                    .patterns
                    .iter()
                    .map(|p| match p {
                        HostPattern::Exact(h) => h.clone(),
                        HostPattern::Subdomains(h) if h.is_empty() => "*".into(),
                        HostPattern::Subdomains(h) => format!("*.{h}"),
                    })
                    .collect();
                let source = if inner.fixed {
                    "the profile's allowed_hosts"
                } else {
                    "the default: the target's host and the authorization servers its metadata names"
                };
                format!("{} ({source})", names.join(", "))
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn patterns_parse_hosts_only() {
        assert_eq!(
            HostPattern::parse("Auth.Example.com"),
            Ok(HostPattern::Exact("auth.example.com".into()))
        );
        assert_eq!(
            HostPattern::parse("*.example.com"),
            Ok(HostPattern::Subdomains("example.com".into()))
        );
        assert!(HostPattern::parse("127.0.0.1").is_ok());
        assert!(HostPattern::parse("[::1]").is_ok());
        for bad in [
            "https://x.com",
            "x.com:443",
            "x.com/path",
            "*",
            "a.*.com",
            "",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_wildcard_matches_subdomains_only() {
        let p = HostPattern::Subdomains("example.com".into());
        assert!(p.matches("a.example.com"));
        assert!(p.matches("a.b.example.com"));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("badexample.com"));
    }

    #[test]
    fn the_default_learns_authorization_servers_and_a_fixed_list_does_not() {
        let a = AllowedHosts::for_target(&u("https://mcp.example.com/mcp"));
        assert!(a.allows(&u("https://mcp.example.com/.well-known/x")));
        assert!(!a.allows(&u("https://auth.example.net/authorize")));
        let fork = a.clone();
        a.learn(&u("https://auth.example.net"));
        assert!(a.allows(&u("https://auth.example.net/authorize")));
        // A clone made earlier shares what was learned since.
        assert!(fork.allows(&u("https://auth.example.net/token")));

        let f = AllowedHosts::fixed(vec![HostPattern::Exact("mcp.example.com".into())]);
        f.learn(&u("https://auth.example.net"));
        assert!(!f.allows(&u("https://auth.example.net/authorize")));
        assert!(f.describe().contains("profile"));
        assert!(AllowedHosts::any().allows(&u("https://anything.example/")));
        assert_eq!(AllowedHosts::any().resolver_rules(&[]), None);
        let rules = AllowedHosts::fixed(vec![
            HostPattern::Exact("mcp.example.com".into()),
            HostPattern::Subdomains("auth.example.com".into()),
            HostPattern::Exact("127.0.0.1".into()),
        ])
        .resolver_rules(&["localhost"]);
        assert_eq!(
            rules.as_deref(),
            Some(
                "MAP * ~NOTFOUND, EXCLUDE mcp.example.com, EXCLUDE *.auth.example.com, EXCLUDE 127.0.0.1, EXCLUDE localhost"
            )
        );
        let v6 = AllowedHosts::for_target(&u("http://[::1]:8080/mcp"));
        assert!(v6.allows(&u("http://[::1]:9090/token")));
    }

    #[test]
    fn metadata_cannot_steer_the_runner_into_special_address_ranges() {
        let public = AllowedHosts::for_target(&u("https://mcp.example.com/mcp"));
        for (url, why) in [
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://[fe80::1]/", "link-local"),
            ("http://10.0.0.7/", "private-range"),
            ("http://192.168.1.1/", "private-range"),
            ("http://[::ffff:172.16.0.1]/", "private-range"),
            ("http://127.0.0.1:8080/", "loopback"),
            ("http://0.0.0.0/", "unspecified"),
            ("file://files.example/etc/passwd", "file: URL"),
        ] {
            public.learn(&u(url));
            assert!(!public.allows(&u(url)), "{url}");
            let host = u(url).host_str().expect("host").to_string();
            let reason = public.refused_because(&host).unwrap_or_default();
            assert!(reason.contains(why), "{url}: {reason}");
        }
        public.learn(&u("https://auth.example.net/"));
        assert!(public.allows(&u("https://auth.example.net/token")));

        // A target on loopback may name another loopback port, never the metadata address.
        let local = AllowedHosts::for_target(&u("http://127.0.0.1:9000/mcp"));
        local.learn(&u("http://[::1]:9001/"));
        assert!(local.allows(&u("http://[::1]:9001/token")));
        local.learn(&u("http://169.254.169.254/"));
        assert!(!local.allows(&u("http://169.254.169.254/")));
        local.learn(&u("http://10.1.2.3/"));
        assert!(!local.allows(&u("http://10.1.2.3/")));
        // A target in a private range may name its neighbours.
        let private = AllowedHosts::for_target(&u("http://10.0.0.5/mcp"));
        private.learn(&u("http://10.0.0.6/"));
        assert!(private.allows(&u("http://10.0.0.6/")));
    }
}
