//! Named variants: switches that each turn on one behaviour the specifications allow and real
//! servers show, so that the conformance suite can be shown to *pass* for each. A defect proves
//! that a check is sensitive; a variant proves that it is specific.
//!
//! Each variant is named after the behaviour it switches on and says what it changes and
//! which specification text allows it. A variant that is itself a SHOULD-level deviation names
//! the requirements on which it may draw a warning; on every other requirement it must draw
//! nothing, and no variant may draw a failure or an error. The switch sits where the behaviour
//! changes (`state.variant(Variant::X)`), exactly like a defect's; behaviours that shape every
//! response (rate limits, extra members, headers) sit in one response layer ([`shapes`]).
//! `Config::default()` has none.

pub mod shapes;

use std::collections::BTreeSet;
use std::fmt;

macro_rules! variants {
    ($(
        $variant:ident = $name:literal, [$($warn:ident),* $(,)?], $what:literal,
        allowed_by: $allowed:literal;
    )+) => {
        /// One named variant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Variant {
            $( #[doc = $what] $variant, )+
        }

        impl Variant {
            /// Every variant, in the order of the table.
            pub const ALL: &'static [Variant] = &[ $( Variant::$variant, )+ ];

            /// The name used on the command line (`--variant NAME`).
            pub fn name(self) -> &'static str {
                match self { $( Variant::$variant => $name, )+ }
            }

            /// The requirements on which this variant may draw a warning, because it is itself
            /// a SHOULD-level deviation on them. Empty for most.
            pub fn may_warn(self) -> &'static [req::Id] {
                match self { $( Variant::$variant => &[$(req::$warn),*], )+ }
            }

            /// What the server does differently with this variant on.
            pub fn description(self) -> &'static str {
                match self { $( Variant::$variant => $what, )+ }
            }

            /// The specification text that allows the behaviour.
            pub fn allowed_by(self) -> &'static str {
                match self { $( Variant::$variant => $allowed, )+ }
            }
        }
    };
}

variants! {
    // Rate limits and unavailability: never a verdict on the target.
    RateLimitRegistration = "rate-limit-registration", [],
        "the registration endpoint answers 429 with Retry-After and RateLimit headers beyond 10 registrations a window (a minute; the self-test uses a short window)",
        allowed_by: "RFC 6585 §4 (429 Too Many Requests, Retry-After); RFC 7591 leaves abuse protection to the server";
    RateLimitToken = "rate-limit-token", [],
        "the token endpoint answers 429 with Retry-After and RateLimit headers beyond 30 requests a window",
        allowed_by: "RFC 6585 §4; OAuth 2.1 §7 (an AS may throttle its endpoints)";
    RateLimitAuthorization = "rate-limit-authorization", [],
        "the authorization endpoint answers 429 with Retry-After beyond 30 requests a window",
        allowed_by: "RFC 6585 §4";
    MetadataUnavailableOnce = "metadata-unavailable-once", [],
        "every metadata document answers its first request with 503 and Retry-After: 1, then normally",
        allowed_by: "RFC 9110 §15.6.4 (503 Service Unavailable with Retry-After)";

    // Documents and error responses: members and headers the specifications leave open.
    ExtraMembers = "extra-members", [],
        "every OAuth JSON document (metadata, PRM, registration, token and error responses) carries an extra member the client does not know",
        allowed_by: "RFC 8414 §3.2, RFC 9728 §3.2, RFC 7591 §3.2.1, RFC 6749 §5.1 (the client MUST ignore unrecognized value names)";
    NoErrorDescription = "no-error-description", [],
        "error responses, JSON and redirected, leave out error_description",
        allowed_by: "RFC 6749 §4.1.2.1, §5.2 and RFC 7591 §3.2.2: error_description is OPTIONAL";
    ErrorUri = "error-uri", [],
        "error responses, JSON and redirected, carry an error_uri",
        allowed_by: "RFC 6749 §4.1.2.1 and §5.2: error_uri is OPTIONAL";
    MetadataCacheControl = "metadata-cache-control", [],
        "metadata documents are served with Cache-Control: public, max-age=3600",
        allowed_by: "RFC 9111 (caching); RFC 8414 and RFC 9728 say nothing against it";
    ConnectionClose = "connection-close", [],
        "the server closes the connection after every response (Connection: close)",
        allowed_by: "RFC 9112 §9.6 (either side may close a connection after a response)";

    // Grants: what an authorization server keeps alive, and for how long.
    OneActiveGrant = "one-active-grant", [],
        "one active grant per user and client: approving a new authorization ends the user's earlier grant with that client, its refresh tokens and access tokens revoked and its codes not yet redeemed void",
        allowed_by: "RFC 6749 §1.4-1.5 and OAuth 2.1 §1.3 (access and refresh tokens may be revoked by the AS before they expire), RFC 6750 §3.1 (a revoked token is invalid_token), RFC 7009 §1 (ending a grant invalidates the tokens based on it)";
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Variant {
    /// The variant named `name` (as on the command line).
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name() == name)
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::parse(s).ok_or_else(|| {
            format!("unknown variant {s:?}; `reference-server --list-variants` lists them")
        })
    }
}

/// The variants a server runs with (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variants(BTreeSet<Variant>);

impl Variants {
    pub fn none() -> Self {
        Variants::default()
    }

    pub fn only(v: Variant) -> Self {
        Variants(BTreeSet::from([v]))
    }

    pub fn has(&self, v: Variant) -> bool {
        self.0.contains(&v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Variant> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Variant> for Variants {
    fn from_iter<I: IntoIterator<Item = Variant>>(iter: I) -> Self {
        Variants(iter.into_iter().collect())
    }
}

/// The table `--list-variants` prints: name, what changes, and what allows it.
pub fn table() -> String {
    let width = Variant::ALL
        .iter()
        .map(|v| v.name().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in Variant::ALL {
        out.push_str(&format!(
            "{:<width$}  {}  [{}]\n",
            v.name(),
            v.description(),
            v.allowed_by()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_parse_back_and_say_what_allows_them() {
        let names: BTreeSet<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), Variant::ALL.len());
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>(), Ok(*v));
            assert!(!v.description().is_empty());
            assert!(!v.allowed_by().is_empty());
        }
        assert!("no-such-variant".parse::<Variant>().is_err());
        assert_eq!(table().lines().count(), Variant::ALL.len());
    }
}
