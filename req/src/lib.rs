//! Requirement IDs as a type: one constant per entry of the catalogue (`requirements.toml`),
//! generated at build time, so that `req::PKCE_06` names a requirement that exists and a typo
//! does not compile. The runner's checks, the reference server's defect table and the
//! self-test all speak in these.

use std::fmt;

/// A requirement ID of the catalogue, such as `PKCE-06`. Only the generated constants and
/// [`Id::parse`] make one, so every `Id` names an entry of the catalogue.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(&'static str);

impl Id {
    /// The ID as the catalogue writes it (`PKCE-06`).
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The catalogue's ID for `text` (`PKCE-06`), if there is one.
    pub fn parse(text: &str) -> Option<Id> {
        ALL.iter().copied().find(|id| id.0 == text)
    }

    /// The area: the part before the dash (`PKCE`).
    pub fn area(self) -> &'static str {
        self.0.split_once('-').map_or(self.0, |(area, _)| area)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

include!(concat!(env!("OUT_DIR"), "/ids.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_print_and_name_their_area() {
        assert_eq!(PKCE_06.as_str(), "PKCE-06");
        assert_eq!(Id::parse("PKCE-06"), Some(PKCE_06));
        assert_eq!(Id::parse("PKCE-6"), None);
        assert_eq!(Id::parse("NOPE-01"), None);
        assert_eq!(PKCE_06.area(), "PKCE");
        assert_eq!(REFRESH_04.to_string(), "REFRESH-04");
        assert!(ALL.contains(&AUTHZ_20));
        let mut sorted = ALL.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len(), "every ID is listed once");
    }
}
