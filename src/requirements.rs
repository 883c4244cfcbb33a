//! The requirement registry (`requirements.toml`, embedded). Scenarios, checks and reports
//! resolve requirement IDs through it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::client::mcp::Revision;

const REGISTRY: &str = include_str!("../requirements.toml");

/// How a violation is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A violation is a failure.
    Must,
    /// A violation is a warning (a failure only under `--strict`).
    Should,
    /// Behaviour the specifications leave open: recorded, never a failure or a warning.
    Info,
}

impl Severity {
    pub fn tag(self) -> &'static str {
        match self {
            Severity::Must => "must",
            Severity::Should => "should",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Must => "MUST",
            Severity::Should => "SHOULD",
            Severity::Info => "INFO",
        })
    }
}

/// What a violation costs: the reports say which failures put something at risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// Something is granted that must not be: a token, a code, access.
    Security,
    /// A client that follows the specifications breaks.
    Interop,
    /// Neither.
    Hygiene,
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impact::Security => "security",
            Impact::Interop => "interop",
            Impact::Hygiene => "hygiene",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    #[serde(skip)]
    pub id: String,
    pub text: String,
    /// The level as the catalogue states it (it may differ by revision).
    pub level: String,
    pub severity: Severity,
    /// What a violation costs.
    pub impact: Impact,
    /// Revisions whose grade differs from `severity` (ASM-08 is a SHOULD before 2025-11-25).
    #[serde(default)]
    pub severity_by_revision: BTreeMap<String, Severity>,
    /// The party the rule binds: AS, RS, MCP-AS (2025-03-26), Proxy.
    pub binds: String,
    pub sources: String,
    /// The normative text, verbatim from one of `sources` ("…" where shortened), addressed to
    /// the party the rule binds where the specifications have such text; "(paraphrase) " marks
    /// the catalogue's own words.
    pub quote: String,
    pub revisions: Vec<String>,
    /// What a black-box test needs, as the catalogue states it (see [`Login`]).
    pub login: String,
    /// How the harness tests it.
    #[serde(default)]
    pub test: Option<String>,
    /// Why no scenario can test it (manual review, not observable).
    #[serde(default)]
    pub not_tested: Option<String>,
}

/// What a black-box test of a requirement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Login {
    /// Nothing: fully automatic.
    None,
    /// A probe before any login.
    Probe,
    /// One completed login (an authorization code).
    Login,
    /// Two clients or more than one fresh code.
    TwoLogins,
    /// A `client_credentials` token can stand in for a login.
    ClientCredentials,
    /// Manual or visual confirmation.
    Manual,
    /// Not observable black-box.
    Unobservable,
}

impl Login {
    /// How many authorizations (logins, or probes a person must look at) a test of this kind
    /// takes.
    pub fn authorizations(self) -> usize {
        match self {
            Login::Probe | Login::Login | Login::ClientCredentials => 1,
            Login::TwoLogins => 2,
            Login::None | Login::Manual | Login::Unobservable => 0,
        }
    }
}

impl Requirement {
    pub fn applies_to(&self, r: Revision) -> bool {
        self.revisions.iter().any(|v| v == r.as_str())
    }

    /// The grade of a violation under revision `r`.
    pub fn severity_in(&self, r: Revision) -> Severity {
        self.severity_by_revision
            .get(r.as_str())
            .copied()
            .unwrap_or(self.severity)
    }

    /// The kinds of login the catalogue names for this requirement.
    pub fn logins(&self) -> Vec<Login> {
        let mut out: Vec<Login> = self
            .login
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|w| match w {
                "N" => Some(Login::None),
                "P" => Some(Login::Probe),
                "L" => Some(Login::Login),
                "L2" => Some(Login::TwoLogins),
                "CC" => Some(Login::ClientCredentials),
                "M" => Some(Login::Manual),
                "X" => Some(Login::Unobservable),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether a black-box scenario can test it: some login kind other than M or X, and no
    /// reason recorded why not.
    pub fn testable(&self) -> bool {
        self.not_tested.is_none()
            && self
                .logins()
                .iter()
                .any(|l| !matches!(l, Login::Manual | Login::Unobservable))
    }
}

pub type Registry = BTreeMap<String, Requirement>;

static PARSED: LazyLock<Result<Registry, String>> = LazyLock::new(|| parse(REGISTRY));

pub fn parse(text: &str) -> Result<Registry, String> {
    let mut map: Registry = toml::from_str(text).map_err(|e| format!("requirements.toml: {e}"))?;
    for (id, r) in map.iter_mut() {
        r.id = id.clone();
        for v in r.revisions.iter().chain(r.severity_by_revision.keys()) {
            v.parse::<Revision>()
                .map_err(|e| format!("requirements.toml: {id}: {e}"))?;
        }
    }
    Ok(map)
}

/// The embedded registry. An error here is a build defect; `tests` below keep it from landing.
pub fn registry() -> Result<&'static Registry, String> {
    PARSED.as_ref().map_err(Clone::clone)
}

/// One requirement by ID.
pub fn get(id: &str) -> Option<&'static Requirement> {
    registry().ok()?.get(id)
}

/// The one table that turns source keys into links: key, base URL, how a section is addressed
/// (`None`: the page has no section anchors).
const SOURCES: &[(&str, &str, Option<&str>)] = &[
    (
        "MCP-A",
        "https://modelcontextprotocol.io/specification/2025-03-26/basic/authorization",
        None,
    ),
    (
        "MCP-B",
        "https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization",
        None,
    ),
    (
        "MCP-C",
        "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization",
        None,
    ),
    (
        "MCP-D",
        "https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization",
        None,
    ),
    (
        "SBP-B",
        "https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices",
        None,
    ),
    (
        "SBP-C",
        "https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices",
        None,
    ),
    (
        "TR-A",
        "https://modelcontextprotocol.io/specification/2025-03-26/basic/transports",
        None,
    ),
    (
        "O21",
        "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13",
        Some("#section-"),
    ),
    (
        "CIMD",
        "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-client-id-metadata-document-00",
        Some("#section-"),
    ),
    (
        "OIDC-D",
        "https://openid.net/specs/openid-connect-discovery-1_0.html",
        None,
    ),
];

/// The links of a `sources` text: each key it names (`O21 §4.1.3`, `9728 §3.1`, `MCP-C §11.5`),
/// with the first section after it where the source has section anchors. RFC numbers link to
/// the RFC Editor.
pub fn links(sources: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let words: Vec<&str> = sources
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        let section = words
            .get(i + 1)
            .and_then(|n| n.strip_prefix('§'))
            .map(|n| n.trim_end_matches('.'))
            .filter(|n| {
                !n.is_empty() && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            });
        let link = if let Some((key, base, anchor)) = SOURCES.iter().find(|(k, _, _)| k == w) {
            match (section, anchor) {
                (Some(sec), Some(a)) => Some((format!("{key} §{sec}"), format!("{base}{a}{sec}"))),
                _ => Some((key.to_string(), base.to_string())),
            }
        } else if w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()) {
            let base = format!("https://www.rfc-editor.org/rfc/rfc{w}");
            Some(match section {
                Some(sec) => (format!("RFC {w} §{sec}"), format!("{base}#section-{sec}")),
                None => (format!("RFC {w}"), base),
            })
        } else {
            None
        };
        if let Some(l) = link
            && !out.contains(&l)
        {
            out.push(l);
        }
    }
    out
}

/// Whether a tag looks like a requirement ID (`PKCE-06`).
pub fn is_id(tag: &str) -> bool {
    let Some((area, num)) = tag.split_once('-') else {
        return false;
    };
    !area.is_empty()
        && area.bytes().all(|b| b.is_ascii_uppercase())
        && num.len() == 2
        && num.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_registry_parses() {
        let r = registry().expect("requirements.toml parses");
        assert!(r.len() >= 50);
        let p = &r["PKCE-06"];
        assert_eq!(p.severity, Severity::Must);
        assert!(p.applies_to(Revision::V2025_11_25));
        assert!(r.keys().all(|k| is_id(k)), "every key is an ID");
        assert!(
            r.len() >= 180,
            "every requirement of the catalogue, 2026-07-28 included"
        );
        assert!(
            !r["RS-16"].applies_to(Revision::V2026_07_28),
            "no sessions in 2026-07-28"
        );
        assert!(r["PKCE-06"].applies_to(Revision::V2026_07_28));
        assert_eq!(
            r["ASM-08"].severity_in(Revision::V2025_06_18),
            Severity::Should
        );
        assert_eq!(
            r["ASM-08"].severity_in(Revision::V2025_11_25),
            Severity::Must
        );
        assert_eq!(
            r["CODE-05"].logins(),
            vec![Login::TwoLogins],
            "{}",
            r["CODE-05"].login
        );
        for (id, req) in r {
            assert!(
                !req.logins().is_empty() || req.not_tested.is_some(),
                "{id}: login {:?} names no kind and no reason is given",
                req.login
            );
        }
    }

    #[test]
    fn bad_registries_are_errors() {
        assert!(parse("[X-01]\ntext = 1").is_err());
        assert!(
            parse("[X-01]\ntext='t'\nlevel='MUST'\nseverity='must'\nimpact='interop'\nbinds='AS'\nsources='s'\nquote='q'\nrevisions=['1999-01-01']\nlogin='N'")
                .is_err()
        );
    }

    #[test]
    fn every_requirement_has_an_impact_and_a_quote() {
        let r = registry().expect("requirements.toml parses");
        for (id, req) in r {
            assert!(!req.quote.trim().is_empty(), "{id}: empty quote");
            let quote = req.quote.trim_start_matches("(paraphrase) ");
            assert!(!quote.trim().is_empty(), "{id}: a paraphrase says nothing");
            // Spec text at MUST level is uppercase (RFC 8174); a quote without any keyword is
            // either a paraphrase or a definition, and then says so by its REQUIRED/OPTIONAL.
            if req.severity == Severity::Must && !req.quote.starts_with("(paraphrase) ") {
                assert!(
                    ["MUST", "REQUIRED", "SHALL"]
                        .iter()
                        .any(|k| quote.contains(k)),
                    "{id}: graded must, but the quote states no MUST: {quote}"
                );
            }
            if req.level.starts_with("SHOULD (derived)") {
                assert_ne!(
                    req.severity,
                    Severity::Must,
                    "{id}: a derived rule is graded must"
                );
                assert!(
                    req.level.starts_with("SHOULD (derived): "),
                    "{id}: a derived level says why: {}",
                    req.level
                );
            }
        }
        assert_eq!(r["PKCE-06"].impact, Impact::Security);
        assert_eq!(r["PRM-08"].impact, Impact::Interop);
        assert_eq!(
            r["PKCE-08"].severity,
            Severity::Should,
            "the verifier grammar binds the client"
        );
        // Without the field, or with a value outside the three, the catalogue does not parse.
        let base = "[X-01]\ntext='t'\nlevel='MUST'\nseverity='must'\nbinds='AS'\nsources='s'\nrevisions=['2025-11-25']\nlogin='N'\n";
        assert!(parse(&format!("{base}impact='interop'\nquote='q'")).is_ok());
        assert!(parse(&format!("{base}quote='q'")).is_err(), "no impact");
        assert!(
            parse(&format!("{base}impact='interop'")).is_err(),
            "no quote"
        );
        assert!(
            parse(&format!("{base}impact='fatal'\nquote='q'")).is_err(),
            "unknown impact"
        );
    }

    #[test]
    fn sources_become_links() {
        let l = links("O21 §4.1.3; 9728 §3.1 (‡); MCP-C §11.5; 8414 (†)");
        assert_eq!(
            l,
            vec![
                (
                    "O21 §4.1.3".to_string(),
                    "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13#section-4.1.3"
                        .to_string()
                ),
                (
                    "RFC 9728 §3.1".into(),
                    "https://www.rfc-editor.org/rfc/rfc9728#section-3.1".into()
                ),
                (
                    "MCP-C".into(),
                    "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization"
                        .into()
                ),
                (
                    "RFC 8414".into(),
                    "https://www.rfc-editor.org/rfc/rfc8414".into()
                ),
            ]
        );
        // Every requirement's sources give at least one link (LEG-08 is a harness rule).
        for (id, r) in registry().expect("registry") {
            if r.sources.trim() == "—" {
                continue;
            }
            assert!(!links(&r.sources).is_empty(), "{id}: {}", r.sources);
        }
    }

    #[test]
    fn ids_are_recognised() {
        assert!(is_id("PKCE-06"));
        assert!(is_id("RS-11"));
        assert!(!is_id("must"));
        assert!(!is_id("PKCE-6"));
        assert!(!is_id("pkce-06"));
    }
}
