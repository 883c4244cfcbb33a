//! Request parameters of the authorization and token endpoints (O21 §3.1, §3.2):
//! an empty value counts as absent (AUTHZ-08, TOK-05), a repeated one is an error (AUTHZ-07, TOK-04).

use std::collections::BTreeMap;

/// Parameters decoded from a query string or an `application/x-www-form-urlencoded` body.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: BTreeMap<String, Vec<String>>,
}

/// A parameter that was sent more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub String);

impl Params {
    pub fn parse(encoded: &[u8]) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(encoded) {
            // AUTHZ-08 / TOK-05: a parameter without a value is treated as omitted.
            if v.is_empty() {
                continue;
            }
            values
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        Params { values }
    }

    /// The single value of `name`, or `None` when absent; `Err` when it was sent more than once.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        match self.values.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([v]) => Ok(Some(v.as_str())),
            Some(_) => Err(Repeated(name.to_string())),
        }
    }

    /// Every value of a parameter that may legitimately repeat (`resource`, RFC 8707 §2).
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first parameter, other than those in `may_repeat`, that was sent more than once.
    pub fn first_repeated(&self, may_repeat: &[&str]) -> Option<Repeated> {
        self.values
            .iter()
            .find(|(k, v)| v.len() > 1 && !may_repeat.contains(&k.as_str()))
            .map(|(k, _)| Repeated(k.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_absent() {
        let p = Params::parse(b"code_challenge=&state=x");
        assert_eq!(p.one("code_challenge"), Ok(None));
        assert_eq!(p.one("state"), Ok(Some("x")));
    }

    #[test]
    fn repeated_values_are_reported() {
        let p = Params::parse(b"state=a&state=b&resource=r1&resource=r2");
        assert_eq!(p.one("state"), Err(Repeated("state".into())));
        assert_eq!(
            p.first_repeated(&["resource"]),
            Some(Repeated("state".into()))
        );
        assert_eq!(p.all("resource").len(), 2);
    }

    #[test]
    fn values_are_percent_decoded() {
        let p = Params::parse(b"state=a%2Bb+c%25");
        assert_eq!(p.one("state"), Ok(Some("a+b c%")));
    }
}
