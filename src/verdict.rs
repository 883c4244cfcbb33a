//! What a scenario concludes, and why.
//!
//! "The target broke the spec" ([`Fault::Violation`]) is never "the harness could not tell"
//! ([`Fault::Harness`]); a missing precondition is [`Fault::Skip`].

use std::fmt;

use crate::client::discovery::DiscoveryError;
use crate::client::http::TransportError;
use crate::client::login::LoginError;
use crate::client::mcp::Revision;
use crate::requirements::{self, Impact, Severity};

/// A requirement the target did not meet: the requirement, and expected versus actual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub requirement: req::Id,
    pub expected: String,
    pub actual: String,
    /// Set when a MUST requirement's check is graded as a warning in this case (the spec
    /// allows an alternative the target may be using).
    pub downgraded: Option<String>,
    /// Set when the violation costs less than its requirement's catalogue impact: a refusal
    /// with another registered error code held the security property and breaks only interop.
    pub impact: Option<Impact>,
    /// Set with `downgraded` when the case is graded as info instead: the spec leaves it open.
    pub informational: bool,
}

impl Violation {
    pub fn new(
        requirement: req::Id,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Violation {
            requirement,
            expected: expected.into(),
            actual: actual.into(),
            downgraded: None,
            impact: None,
            informational: false,
        }
    }

    /// Costs interop at most, whatever the requirement's catalogue impact (a refusal with
    /// another registered error code: nothing was issued, but a client reading the code is
    /// misled). A requirement of hygiene impact stays hygiene.
    pub fn interop_only(mut self) -> Self {
        self.impact = Some(self.catalogue_impact().max(Impact::Interop));
        self
    }

    /// What the violation costs: its own impact where set, else its requirement's.
    pub fn impact(&self) -> Impact {
        self.impact.unwrap_or_else(|| self.catalogue_impact())
    }

    fn catalogue_impact(&self) -> Impact {
        requirements::get(self.requirement.as_str())
            .map(|r| r.impact)
            .unwrap_or(Impact::Security)
    }

    /// Grades this violation as info, saying why: the specification leaves the case open.
    pub fn as_info(mut self, why: impl Into<String>) -> Self {
        self.downgraded = Some(why.into());
        self.informational = true;
        self
    }

    /// Grades this violation as a warning, saying why.
    pub fn as_warning(mut self, why: impl Into<String>) -> Self {
        self.downgraded = Some(why.into());
        self
    }

    /// The grade: the requirement's severity, unless downgraded.
    pub fn severity(&self) -> Severity {
        if self.downgraded.is_some() {
            return self.downgraded_severity();
        }
        requirements::get(self.requirement.as_str())
            .map(|r| r.severity)
            .unwrap_or(Severity::Must)
    }

    fn downgraded_severity(&self) -> Severity {
        if self.informational {
            Severity::Info
        } else {
            Severity::Should
        }
    }

    /// The grade under revision `r` (a requirement's level may differ by revision, ASM-08).
    pub fn severity_in(&self, r: Revision) -> Severity {
        if self.downgraded.is_some() {
            return self.downgraded_severity();
        }
        requirements::get(self.requirement.as_str())
            .map(|q| q.severity_in(r))
            .unwrap_or(Severity::Must)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = requirements::get(self.requirement.as_str())
            .map(|r| r.text.as_str())
            .unwrap_or("(not in the registry)");
        writeln!(f, "{} ({}): {text}", self.requirement, self.severity())?;
        writeln!(f, "  Expected: {}", self.expected)?;
        write!(f, "  Actual:   {}", self.actual)?;
        let links = requirements::get(self.requirement.as_str())
            .map(|r| requirements::links(&r.sources))
            .unwrap_or_default();
        if !links.is_empty() {
            let links: Vec<String> = links
                .iter()
                .map(|(label, url)| format!("{label} <{url}>"))
                .collect();
            write!(f, "\n  Sources:  {}", links.join(", "))?;
        }
        if let Some(why) = &self.downgraded {
            let grade = if self.informational {
                "info"
            } else {
                "a warning"
            };
            write!(f, "\n  Graded as {grade}: {why}")?;
        }
        if self.impact.is_some_and(|i| i != self.catalogue_impact()) {
            write!(
                f,
                "\n  Impact:   {} only (nothing was issued)",
                self.impact()
            )?;
        }
        Ok(())
    }
}

/// Why a scenario stopped before its end.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The target violated a requirement.
    Violation(Violation),
    /// The harness could not do its job: transport failure, timeout, bad configuration, bug.
    Harness(String),
    /// A precondition is missing (no refresh tokens, no registration endpoint, …).
    Skip(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Violation(v) => write!(f, "violation of {v}"),
            Fault::Harness(m) => write!(f, "harness error: {m}"),
            Fault::Skip(m) => write!(f, "skipped: {m}"),
        }
    }
}

impl From<Violation> for Fault {
    fn from(v: Violation) -> Self {
        Fault::Violation(v)
    }
}

impl From<TransportError> for Fault {
    fn from(e: TransportError) -> Self {
        Fault::Harness(e.to_string())
    }
}

impl From<LoginError> for Fault {
    fn from(e: LoginError) -> Self {
        Fault::Harness(format!("login driver: {e}"))
    }
}

impl From<DiscoveryError> for Fault {
    fn from(e: DiscoveryError) -> Self {
        match e {
            DiscoveryError::Transport(t) => Fault::Harness(t.to_string()),
            other => Fault::Harness(format!(
                "could not run: discovery failed, see the discovery scenarios ({other})"
            )),
        }
    }
}

/// The result type of steps and checks.
pub type Outcome<T = ()> = Result<T, Fault>;

/// A warning recorded while a scenario goes on (a SHOULD not met, or an advisory).
#[derive(Debug, Clone)]
pub struct Warning(pub Violation);

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_read_requirement_expected_actual() {
        let v = Violation::new(req::PKCE_06, "400 invalid_grant", "200 with tokens");
        let text = v.to_string();
        assert!(text.starts_with("PKCE-06 (MUST): A wrong verifier"));
        assert!(text.contains("Expected: 400 invalid_grant"));
        assert!(text.contains("Actual:   200 with tokens"));
        assert!(
            text.contains(
                "Sources:  RFC 7636 §4.6 <https://www.rfc-editor.org/rfc/rfc7636#section-4.6>"
            ),
            "{text}"
        );
        assert_eq!(v.severity(), Severity::Must);
        let w = v.as_warning("the spec allows the other route");
        assert_eq!(w.severity(), Severity::Should);
        let i = Violation::new(req::RS_12, "401", "200").as_info("a JWT stays valid until exp");
        assert_eq!(i.severity(), Severity::Info);
        assert!(i.to_string().contains("Graded as info: a JWT"));
        assert_eq!(
            Violation::new(req::CODE_03, "", "").severity(),
            Severity::Should
        );
    }
}
