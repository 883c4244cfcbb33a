//! OAuth request parameters, and the one way to build a wrong request: named tampering.
//!
//! A valid request comes from a typed constructor. A negative test changes it only through
//! [`Params::tamper`], [`Params::omit`] and [`Params::add`], so the code says exactly what it
//! breaks, and the transcript shows it.

use std::fmt;

use super::pkce::PkceVerifier;
use super::redact::{self, Secret};

/// A request parameter of the authorization, token, revocation or registration endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    ResponseType,
    ClientId,
    ClientSecret,
    RedirectUri,
    Scope,
    State,
    CodeChallenge,
    CodeChallengeMethod,
    Resource,
    GrantType,
    Code,
    CodeVerifier,
    RefreshToken,
    Token,
    TokenTypeHint,
    /// A parameter no endpoint defines, for "unknown parameters are ignored" checks.
    Unknown(&'static str),
}

impl Param {
    pub fn name(self) -> &'static str {
        match self {
            Param::ResponseType => "response_type",
            Param::ClientId => "client_id",
            Param::ClientSecret => "client_secret",
            Param::RedirectUri => "redirect_uri",
            Param::Scope => "scope",
            Param::State => "state",
            Param::CodeChallenge => "code_challenge",
            Param::CodeChallengeMethod => "code_challenge_method",
            Param::Resource => "resource",
            Param::GrantType => "grant_type",
            Param::Code => "code",
            Param::CodeVerifier => "code_verifier",
            Param::RefreshToken => "refresh_token",
            Param::Token => "token",
            Param::TokenTypeHint => "token_type_hint",
            Param::Unknown(n) => n,
        }
    }
}

impl Param {
    /// Whether the parameter's value is a secret: a code, a verifier, a token, a client secret,
    /// or an unknown parameter whose name says it is one.
    pub fn is_secret(self) -> bool {
        match self {
            Param::ClientSecret
            | Param::Code
            | Param::CodeVerifier
            | Param::RefreshToken
            | Param::Token => true,
            Param::Unknown(name) => redact::is_secret_name(name),
            _ => false,
        }
    }

    /// The defined parameter of a wire name (`code_verifier`); `None` for any other name.
    pub fn by_name(name: &str) -> Option<Param> {
        [
            Param::ResponseType,
            Param::ClientId,
            Param::ClientSecret,
            Param::RedirectUri,
            Param::Scope,
            Param::State,
            Param::CodeChallenge,
            Param::CodeChallengeMethod,
            Param::Resource,
            Param::GrantType,
            Param::Code,
            Param::CodeVerifier,
            Param::RefreshToken,
            Param::Token,
            Param::TokenTypeHint,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tampering step, kept so failures can say what the request was made to break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tampering {
    Replaced(Param),
    Omitted(Param),
    Added(Param),
}

impl fmt::Display for Tampering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tampering::Replaced(p) => write!(f, "{p} replaced"),
            Tampering::Omitted(p) => write!(f, "{p} omitted"),
            Tampering::Added(p) => write!(f, "{p} added"),
        }
    }
}

/// A parameter's value: text, or a secret (a code, a verifier, a token, a client secret) that
/// no `Debug` shows.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Secret(Secret),
}

impl Value {
    /// The value as it goes on the wire.
    fn expose(&self) -> &str {
        match self {
            Value::Text(t) => t,
            Value::Secret(s) => s.expose(),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(t) => fmt::Debug::fmt(t, f),
            Value::Secret(s) => fmt::Debug::fmt(s, f),
        }
    }
}

impl From<&str> for Value {
    fn from(t: &str) -> Self {
        Value::Text(t.to_string())
    }
}

impl From<String> for Value {
    fn from(t: String) -> Self {
        Value::Text(t)
    }
}

impl From<Secret> for Value {
    fn from(s: Secret) -> Self {
        Value::Secret(s)
    }
}

impl From<&Secret> for Value {
    fn from(s: &Secret) -> Self {
        Value::Secret(s.clone())
    }
}

/// A verifier is moved into the request that spends it.
impl From<PkceVerifier> for Value {
    fn from(v: PkceVerifier) -> Self {
        Value::Secret(v.to_secret())
    }
}

/// An ordered list of parameters plus the record of how it was tampered with. `Debug` shows
/// the values of secret parameters redacted.
#[derive(Clone, Default)]
pub struct Params {
    pairs: Vec<(Param, Value)>,
    tampering: Vec<Tampering>,
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pairs = f.debug_map();
        for (k, v) in &self.pairs {
            match v {
                Value::Text(t) if k.is_secret() => pairs.entry(&k.name(), &redact::redact(t)),
                v => pairs.entry(&k.name(), v),
            };
        }
        pairs.finish()?;
        if !self.tampering.is_empty() {
            write!(f, " tampered: {:?}", self.tampering)?;
        }
        Ok(())
    }
}

impl Params {
    pub fn new() -> Self {
        Params::default()
    }

    /// Sets a parameter while building a valid request (replaces an earlier value).
    pub fn set(mut self, p: Param, value: impl Into<Value>) -> Self {
        let value = value.into();
        match self.pairs.iter_mut().find(|(k, _)| *k == p) {
            Some(slot) => slot.1 = value,
            None => self.pairs.push((p, value)),
        }
        self
    }

    /// Sets a parameter only when there is a value.
    pub fn set_opt(self, p: Param, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(p, v),
            None => self,
        }
    }

    /// Replaces (or adds) a parameter with a value chosen to break the request.
    pub fn tamper(mut self, p: Param, value: impl Into<Value>) -> Self {
        self = self.set(p, value);
        self.tampering.push(Tampering::Replaced(p));
        self
    }

    /// Removes a parameter the valid request would carry.
    pub fn omit(mut self, p: Param) -> Self {
        self.pairs.retain(|(k, _)| *k != p);
        self.tampering.push(Tampering::Omitted(p));
        self
    }

    /// Adds one more occurrence of a parameter (a repeated or unknown parameter).
    pub fn add(mut self, p: Param, value: impl Into<Value>) -> Self {
        self.pairs.push((p, value.into()));
        self.tampering.push(Tampering::Added(p));
        self
    }

    /// The value of a parameter that is not a secret.
    pub fn get(&self, p: Param) -> Option<&str> {
        self.pairs.iter().find_map(|(k, v)| match v {
            Value::Text(t) if *k == p => Some(t.as_str()),
            _ => None,
        })
    }

    pub fn tampering(&self) -> &[Tampering] {
        &self.tampering
    }

    /// The pairs as they go on the wire (in a query or a form): only this library sends them.
    pub(super) fn to_pairs(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .map(|(k, v)| (k.name().to_string(), v.expose().to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_is_recorded_and_applied_in_order() {
        let p = Params::new()
            .set(Param::ResponseType, "code")
            .set(Param::CodeChallengeMethod, "S256")
            .set(Param::CodeChallenge, "abc")
            .tamper(Param::CodeChallengeMethod, "plain")
            .omit(Param::CodeChallenge)
            .add(Param::Resource, "https://a/mcp")
            .add(Param::Resource, "https://b/mcp");
        assert_eq!(
            p.to_pairs(),
            vec![
                ("response_type".to_string(), "code".to_string()),
                ("code_challenge_method".to_string(), "plain".to_string()),
                ("resource".to_string(), "https://a/mcp".to_string()),
                ("resource".to_string(), "https://b/mcp".to_string()),
            ]
        );
        assert_eq!(p.tampering().len(), 4);
        assert_eq!(
            p.tampering()[0].to_string(),
            "code_challenge_method replaced"
        );
        assert_eq!(p.get(Param::CodeChallenge), None);
    }

    #[test]
    fn debug_redacts_secret_values_and_the_wire_keeps_them() {
        let p = Params::new()
            .set(Param::GrantType, "authorization_code")
            .set(Param::Code, Secret::new("code-0123456789"))
            .set(
                Param::CodeVerifier,
                PkceVerifier::from_string("verifier-0123456789"),
            )
            .set(Param::ClientSecret, "secret-0123456789")
            .add(Param::Unknown("password"), "hunter2-0123456789");
        let shown = format!("{p:?}");
        for secret in [
            "code-0123456789",
            "verifier-0123456789",
            "secret-0123456789",
            "hunter2-0123456789",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("authorization_code"), "{shown}");
        assert_eq!(
            p.get(Param::Code),
            None,
            "a secret is not read back as text"
        );
        let wire = p.to_pairs();
        assert!(wire.contains(&(
            "code_verifier".to_string(),
            "verifier-0123456789".to_string()
        )));
        assert!(wire.contains(&("client_secret".to_string(), "secret-0123456789".to_string())));
    }
}

/// A JSON object built valid by a constructor and changed only by named tampering, which it
/// records for the report: the body of a registration, a client ID metadata document.
#[derive(Debug, Clone, Default)]
pub struct TamperedJson {
    members: serde_json::Map<String, serde_json::Value>,
    tampering: Vec<String>,
}

impl TamperedJson {
    /// The members of `valid` (an object; anything else gives an empty one).
    pub fn from_valid(valid: serde_json::Value) -> Self {
        TamperedJson {
            members: valid.as_object().cloned().unwrap_or_default(),
            tampering: Vec::new(),
        }
    }

    pub fn tamper(mut self, member: &str, value: serde_json::Value) -> Self {
        self.members.insert(member.to_string(), value);
        self.tampering.push(format!("{member} replaced"));
        self
    }

    pub fn omit(mut self, member: &str) -> Self {
        self.members.remove(member);
        self.tampering.push(format!("{member} omitted"));
        self
    }

    pub fn members(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.members
    }

    pub fn tampering(&self) -> &[String] {
        &self.tampering
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.members.clone())
    }
}

#[cfg(test)]
mod param_name_tests {
    use super::*;

    #[test]
    fn names_map_back_to_params() {
        assert_eq!(Param::by_name("code_verifier"), Some(Param::CodeVerifier));
        assert_eq!(Param::by_name("redirect_uri"), Some(Param::RedirectUri));
        assert_eq!(Param::by_name("harness_x"), None);
    }
}

#[cfg(test)]
mod tampered_json_tests {
    use super::*;

    #[test]
    fn tampering_is_named_and_recorded() {
        let j = TamperedJson::from_valid(serde_json::json!({"a": 1, "b": 2}))
            .tamper("a", serde_json::json!("x"))
            .omit("b");
        assert_eq!(j.to_value(), serde_json::json!({"a": "x"}));
        assert_eq!(j.tampering(), ["a replaced", "b omitted"]);
    }
}
