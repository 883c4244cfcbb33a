//! A parser for `WWW-Authenticate` (RFC 9110 §11.6.1 and §11.2; RFC 6750 §3).
//!
//! One header value can hold several challenges, and a response can carry several header
//! fields. Scheme and parameter names are case-insensitive; parameter values are a token or a
//! quoted string. Repeated parameters are kept, because PRM-02 must be able to see them.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme as sent (compare with [`Challenge::is`]).
    pub scheme: String,
    /// A token68 credential, when the challenge carries one instead of parameters.
    pub token68: Option<String>,
    /// Parameters in order, names lower-cased, duplicates kept.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Whether this challenge uses `scheme` (case-insensitive).
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The first value of a parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parameter names that appear more than once, in order of their first repetition
    /// (linear in the number of parameters: a hostile challenge may carry thousands).
    pub fn repeated_params(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut reported = std::collections::HashSet::new();
        let mut repeated = Vec::new();
        for (k, _) in &self.params {
            if !seen.insert(k.as_str()) && reported.insert(k.as_str()) {
                repeated.push(k.clone());
            }
        }
        repeated
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.scheme)?;
        if let Some(t) = &self.token68 {
            write!(f, " {t}")?;
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(
                f,
                "{sep}{k}=\"{}\"",
                v.replace('\\', "\\\\").replace('"', "\\\"")
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed WWW-Authenticate at byte {at}: {reason}")]
pub struct ParseError {
    pub at: usize,
    pub reason: &'static str,
}

/// Parses every challenge in the given header values.
pub fn parse_all<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Challenge>, ParseError> {
    let mut out = Vec::new();
    for v in values {
        out.extend(parse(v)?);
    }
    Ok(out)
}

/// Parses one header value.
pub fn parse(input: &str) -> Result<Vec<Challenge>, ParseError> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        p.skip_list_separators();
        if p.at_end() {
            break;
        }
        let scheme = p.token().ok_or(p.error("expected an auth-scheme"))?;
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let had_space = p.skip_spaces();
        if had_space && !p.at_end() && p.peek() != Some(b',') {
            // Either a token68 or the first auth-param.
            if let Some(t68) = p.try_token68() {
                challenge.token68 = Some(t68);
            } else {
                p.params_into(&mut challenge)?;
            }
        }
        // Further parameters of this challenge follow commas, until a new scheme starts.
        loop {
            let save = p.i;
            p.skip_ows();
            if p.peek() != Some(b',') {
                p.i = save;
                break;
            }
            p.skip_list_separators();
            if p.at_end() {
                break;
            }
            if challenge.token68.is_none() && p.looks_like_param() {
                p.params_into(&mut challenge)?;
            } else {
                break;
            }
        }
        p.skip_ows();
        challenges.push(challenge);
        if !p.at_end() && p.peek() != Some(b',') && !p.looks_like_token_start() {
            return Err(p.error("unexpected character"));
        }
    }
    Ok(challenges)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError { at: self.i, reason }
    }
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_spaces(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i > start
    }
    fn skip_ows(&mut self) {
        self.skip_spaces();
    }
    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }
    fn looks_like_token_start(&self) -> bool {
        self.peek().is_some_and(is_tchar)
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    /// A token followed by `=` (with optional whitespace) and then not the end of an item.
    fn looks_like_param(&mut self) -> bool {
        let save = self.i;
        let ok = self.token().is_some()
            && {
                self.skip_ows();
                self.peek() == Some(b'=')
            }
            && {
                self.i += 1;
                self.skip_ows();
                // `name=` followed by `,` or the end is a token68 ending in `=`, not a parameter.
                !self.at_end() && self.peek() != Some(b',') && self.peek() != Some(b'=')
            };
        self.i = save;
        ok
    }
    fn try_token68(&mut self) -> Option<String> {
        let save = self.i;
        while self.peek().is_some_and(is_token68_char) {
            self.i += 1;
        }
        if self.i == save {
            return None;
        }
        while self.peek() == Some(b'=') {
            self.i += 1;
        }
        let end = self.i;
        self.skip_ows();
        if self.at_end() || self.peek() == Some(b',') {
            // A lone `name=value` is a parameter; a token68 has no '=' inside.
            let text = &self.s[save..end];
            let inner_eq = text
                .iter()
                .position(|&c| c == b'=')
                .is_some_and(|p| text[p..].iter().any(|&c| c != b'='));
            if !inner_eq {
                self.i = end;
                return Some(String::from_utf8_lossy(text).into_owned());
            }
        }
        self.i = save;
        None
    }
    fn params_into(&mut self, c: &mut Challenge) -> Result<(), ParseError> {
        let name = self
            .token()
            .ok_or(self.error("expected a parameter name"))?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(self.error("expected '=' after a parameter name"));
        }
        self.i += 1;
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            // RFC 9110 wants a token here; servers also send values such as `mcp:read`
            // unquoted, so anything up to whitespace or a comma is taken.
            self.bare_value()
                .ok_or(self.error("expected a token or a quoted string"))?
        };
        c.params.push((name.to_ascii_lowercase(), value));
        Ok(())
    }
    fn bare_value(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_graphic() && c != b',' && c != b'"')
        {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn quoted(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c) => {
                            out.push(c);
                            self.i += 1;
                        }
                        None => return Err(self.error("unterminated escape")),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Challenge {
        let mut v = parse(s).expect("parses");
        assert_eq!(v.len(), 1, "{s}: {v:?}");
        v.remove(0)
    }

    #[test]
    fn rfc6750_examples() {
        let c = one(r#"Bearer realm="example""#);
        assert!(c.is("bearer"));
        assert_eq!(c.param("realm"), Some("example"));

        let c = one(
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
        );
        assert_eq!(c.param("error"), Some("invalid_token"));
        assert_eq!(
            c.param("error_description"),
            Some("The access token expired")
        );
        assert_eq!(c.params.len(), 3);
    }

    #[test]
    fn quoting_escapes_and_commas_inside_quotes() {
        let c = one(r#"Bearer error_description="a, \"quoted\" b\\c", scope="read write""#);
        assert_eq!(c.param("error_description"), Some(r#"a, "quoted" b\c"#));
        assert_eq!(c.param("scope"), Some("read write"));
    }

    #[test]
    fn token_values_and_whitespace_around_equals() {
        let c = one("Bearer error = invalid_token ,  scope=mcp:read");
        assert_eq!(c.param("error"), Some("invalid_token"));
        assert_eq!(c.param("scope"), Some("mcp:read"));
    }

    #[test]
    fn several_challenges_in_one_value() {
        let v = parse(
            r#"Basic realm="simple", Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp", scope="a b", Newauth"#,
        )
        .expect("parses");
        assert_eq!(v.len(), 3);
        assert!(v[0].is("Basic"));
        assert_eq!(v[0].param("realm"), Some("simple"));
        assert!(v[1].is("Bearer"));
        assert_eq!(
            v[1].param("resource_metadata"),
            Some("https://h/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(v[1].param("scope"), Some("a b"));
        assert!(v[2].is("newauth"));
        assert!(v[2].params.is_empty());
    }

    #[test]
    fn several_header_fields() {
        let v = parse_all([r#"Basic realm="x""#, r#"Bearer realm="y""#]).expect("parses");
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].param("realm"), Some("y"));
    }

    #[test]
    fn case_of_scheme_and_names_is_ignored() {
        let c = one(r#"BEARER Realm="r", ERROR="invalid_token""#);
        assert!(c.is("Bearer"));
        assert_eq!(c.param("realm"), Some("r"));
        assert_eq!(c.param("error"), Some("invalid_token"));
    }

    #[test]
    fn token68_and_bare_schemes() {
        let c = one("Negotiate abc123+/==");
        assert_eq!(c.token68.as_deref(), Some("abc123+/=="));
        let c = one("Bearer");
        assert!(c.params.is_empty() && c.token68.is_none());
        let v = parse("Bearer, Basic realm=\"r\"").expect("parses");
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn repeated_params_are_kept_and_reported() {
        let c = one(r#"Bearer realm="a", realm="b", scope="s""#);
        assert_eq!(c.repeated_params(), vec!["realm".to_string()]);
        assert_eq!(c.param("realm"), Some("a"));
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        assert!(parse(r#"Bearer realm="unterminated"#).is_err());
        assert!(parse(r#"Bearer realm="x" junk"x""#).is_err());
        // `name=` with no value is read as a token68 (which may end in '='), not a parameter.
        assert_eq!(one("Bearer realm=").token68.as_deref(), Some("realm="));
        assert!(parse("").expect("empty parses").is_empty());
    }
}
