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
}

impl Severity {
    pub fn tag(self) -> &'static str {
        match self {
            Severity::Must => "must",
            Severity::Should => "should",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Must => "MUST",
            Severity::Should => "SHOULD",
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
    /// Revisions whose grade differs from `severity` (ASM-08 is a SHOULD before 2025-11-25).
    #[serde(default)]
    pub severity_by_revision: BTreeMap<String, Severity>,
    /// The party the rule binds: AS, RS, MCP-AS (2025-03-26), Proxy.
    pub binds: String,
    pub sources: String,
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
        assert_eq!(r.len(), 172, "every requirement of the catalogue");
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
            parse("[X-01]\ntext='t'\nlevel='MUST'\nseverity='must'\nbinds='AS'\nsources='s'\nrevisions=['1999-01-01']\nlogin='N'")
                .is_err()
        );
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
