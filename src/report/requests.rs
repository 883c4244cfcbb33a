//! What a run sent, per kind of endpoint, and what it waited for rate limits; beside it, what
//! the plan estimated before the run.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::client::discovery::Discovered;
use crate::client::ratelimit::RequestStats;

/// The kinds of endpoint the reports count requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    Registration,
    Authorization,
    Token,
    Revocation,
    Introspection,
    /// Every `/.well-known/` document: PRM, AS metadata, OpenID configuration.
    Metadata,
    /// The MCP server under test and the configured second resource.
    Mcp,
    /// Everything else: login and consent pages, client ID metadata documents, JWKS.
    Other,
}

impl EndpointKind {
    pub const ALL: [EndpointKind; 8] = [
        EndpointKind::Registration,
        EndpointKind::Authorization,
        EndpointKind::Token,
        EndpointKind::Revocation,
        EndpointKind::Introspection,
        EndpointKind::Metadata,
        EndpointKind::Mcp,
        EndpointKind::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EndpointKind::Registration => "registration",
            EndpointKind::Authorization => "authorization",
            EndpointKind::Token => "token",
            EndpointKind::Revocation => "revocation",
            EndpointKind::Introspection => "introspection",
            EndpointKind::Metadata => "metadata",
            EndpointKind::Mcp => "MCP",
            EndpointKind::Other => "other",
        }
    }
}

/// The target's endpoints as far as the run learned them, to sort requests by kind.
#[derive(Debug, Clone, Default)]
pub struct EndpointMap {
    known: Vec<(String, EndpointKind)>,
}

/// A URL as the request stats key it: no query, fragment or user info.
fn key(u: &Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

impl EndpointMap {
    /// The endpoints of discovery (when it succeeded) and the MCP URLs.
    pub fn new(discovered: Option<&Discovered>, mcp: &[&Url]) -> EndpointMap {
        let mut known: Vec<(String, EndpointKind)> =
            mcp.iter().map(|u| (key(u), EndpointKind::Mcp)).collect();
        if let Some(d) = discovered {
            let e = &d.endpoints;
            known.push((key(&e.authorization), EndpointKind::Authorization));
            known.push((key(&e.token), EndpointKind::Token));
            if let Some(u) = &e.registration {
                known.push((key(u), EndpointKind::Registration));
            }
            if let Some(u) = &e.revocation {
                known.push((key(u), EndpointKind::Revocation));
            }
            let introspection = d
                .as_metadata
                .1
                .members
                .get("introspection_endpoint")
                .and_then(|v| v.as_str())
                .and_then(|s| Url::parse(s).ok());
            if let Some(u) = introspection {
                known.push((key(&u), EndpointKind::Introspection));
            }
        }
        EndpointMap { known }
    }

    /// Counts requests to `url` as requests to an endpoint of `kind` (the same endpoint at
    /// another instance of the authorization server).
    pub fn add(&mut self, url: &Url, kind: EndpointKind) {
        self.known.push((key(url), kind));
    }

    /// The kind of the endpoint at `url` (as the stats key it).
    pub fn kind_of(&self, url: &str) -> EndpointKind {
        if let Some((_, kind)) = self.known.iter().find(|(u, _)| u == url) {
            return *kind;
        }
        match Url::parse(url) {
            Ok(u) if u.path().contains("/.well-known/") => EndpointKind::Metadata,
            _ => EndpointKind::Other,
        }
    }
}

/// Requests of one kind of endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCount {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Answers that were rate limits (429, or 503 with Retry-After).
    pub limited: u64,
    /// Time spent waiting as the server asked.
    pub waited: Duration,
}

/// What the plan expects the selected scenarios to send, counted before the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Estimate {
    pub registrations: usize,
    pub authorizations: usize,
    pub token_requests: usize,
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "about {} registrations, {} authorizations and {} token requests",
            self.registrations, self.authorizations, self.token_requests
        )
    }
}

/// The requests of a run: by kind of endpoint, by endpoint, and the estimate made before.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    pub by_kind: BTreeMap<EndpointKind, KindCount>,
    pub endpoints: RequestStats,
    pub estimate: Option<Estimate>,
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl Requests {
    pub fn new(stats: RequestStats, map: &EndpointMap, estimate: Option<Estimate>) -> Requests {
        let mut by_kind: BTreeMap<EndpointKind, KindCount> = EndpointKind::ALL
            .iter()
            .map(|k| (*k, KindCount::default()))
            .collect();
        for e in &stats.endpoints {
            let c = by_kind.entry(map.kind_of(&e.url)).or_default();
            c.requests += e.requests;
            c.limited += e.limited;
            c.waited += e.waited;
        }
        Requests {
            by_kind,
            endpoints: stats,
            estimate,
        }
    }

    pub fn total(&self) -> u64 {
        self.endpoints.requests()
    }

    pub fn of(&self, kind: EndpointKind) -> KindCount {
        self.by_kind.get(&kind).copied().unwrap_or_default()
    }

    /// For results.json: `by_endpoint` (each kind), `rate_limited`, `waited_secs`, the
    /// `estimate` and every endpoint URL.
    pub fn to_json(&self) -> serde_json::Value {
        let by_kind: serde_json::Map<String, serde_json::Value> = EndpointKind::ALL
            .iter()
            .map(|k| {
                let c = self.of(*k);
                (
                    k.name().to_lowercase(),
                    serde_json::json!({
                        "requests": c.requests,
                        "rate_limited": c.limited,
                        "waited_secs": secs(c.waited),
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "total": self.total(),
            "rate_limited": self.endpoints.limited(),
            "waited_secs": secs(self.endpoints.waited()),
            "by_endpoint": by_kind,
            "estimate": self.estimate,
            "endpoints": self.endpoints.endpoints,
        })
    }

    /// The kinds with their counts: `registration 39, authorization 160, …`.
    pub fn kinds_line(&self) -> String {
        EndpointKind::ALL
            .iter()
            .map(|k| format!("{} {}", k.name(), self.of(*k).requests))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The rate limits met and the time waited, or `None` when there were none.
    pub fn waits_line(&self) -> Option<String> {
        let limited: Vec<String> = EndpointKind::ALL
            .iter()
            .filter_map(|k| {
                let c = self.of(*k);
                (c.limited > 0).then(|| {
                    format!(
                        "{} {} (waited {:.1} s)",
                        k.name(),
                        c.limited,
                        c.waited.as_secs_f64()
                    )
                })
            })
            .collect();
        if limited.is_empty() {
            return None;
        }
        Some(format!(
            "rate limited {} times, waited {:.1} s in all: {}",
            self.endpoints.limited(),
            self.endpoints.waited().as_secs_f64(),
            limited.join(", ")
        ))
    }
}

/// The console's lines: the total, by kind, the waits, and the estimate beside what was sent.
impl fmt::Display for Requests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Requests: {} sent ({})", self.total(), self.kinds_line())?;
        match self.waits_line() {
            Some(w) => writeln!(f, "Rate limits: {w}")?,
            None => writeln!(f, "Rate limits: none met")?,
        }
        if let Some(e) = self.estimate {
            writeln!(
                f,
                "Estimated before the run: {e}; sent {} registrations, {} authorizations, {} token requests",
                self.of(EndpointKind::Registration).requests,
                self.of(EndpointKind::Authorization).requests,
                self.of(EndpointKind::Token).requests
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ratelimit::EndpointStats;

    fn stat(method: &str, url: &str, requests: u64, limited: u64, waited: u64) -> EndpointStats {
        EndpointStats {
            method: method.into(),
            url: url.into(),
            requests,
            limited,
            waited: Duration::from_secs(waited),
            paced: Duration::ZERO,
        }
    }

    #[test]
    fn requests_are_sorted_by_the_kind_of_their_endpoint() {
        let map = EndpointMap {
            known: vec![
                ("https://rs.example/mcp".into(), EndpointKind::Mcp),
                ("https://as.example/token".into(), EndpointKind::Token),
                (
                    "https://as.example/register".into(),
                    EndpointKind::Registration,
                ),
            ],
        };
        let stats = RequestStats {
            endpoints: vec![
                stat("POST", "https://as.example/token", 30, 2, 7),
                stat("POST", "https://as.example/register", 5, 0, 0),
                stat(
                    "GET",
                    "https://as.example/.well-known/oauth-authorization-server",
                    4,
                    0,
                    0,
                ),
                stat("POST", "https://rs.example/mcp", 9, 0, 0),
                stat("GET", "https://as.example/login", 3, 0, 0),
            ],
        };
        let r = Requests::new(stats, &map, None);
        assert_eq!(r.of(EndpointKind::Token).requests, 30);
        assert_eq!(r.of(EndpointKind::Token).limited, 2);
        assert_eq!(r.of(EndpointKind::Registration).requests, 5);
        assert_eq!(r.of(EndpointKind::Metadata).requests, 4);
        assert_eq!(r.of(EndpointKind::Mcp).requests, 9);
        assert_eq!(r.of(EndpointKind::Other).requests, 3);
        assert_eq!(r.total(), 51);
        let j = r.to_json();
        assert_eq!(j["by_endpoint"]["token"]["requests"], 30);
        assert_eq!(j["by_endpoint"]["mcp"]["requests"], 9);
        assert_eq!(j["rate_limited"], 2);
        assert_eq!(j["waited_secs"], 7.0);
        let text = r.to_string();
        assert!(
            text.contains("Requests: 51 sent (registration 5, authorization 0, token 30"),
            "{text}"
        );
        assert!(text.contains("token 2 (waited 7.0 s)"), "{text}");
    }
}
