//! Login scripts (`[[login.pages]]` in the profile), shared by the `form` and `browser`
//! drivers: when a page's URL matches a script's pattern, its fields are filled with the given
//! values and its submit button is pressed. Pages no script matches get the generic treatment.

use regex::Regex;
use url::Url;

use super::Credentials;
use super::config::{PageScript, expand};
use crate::client::redact::{Redactor, Secret};

/// The profile's page scripts, with their patterns compiled and their values resolved.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pages: Vec<ScriptPage>,
}

#[derive(Debug, Clone)]
pub struct ScriptPage {
    /// The position in the profile (`login.pages[N]`), for messages.
    pub index: usize,
    pub pattern: Regex,
    /// CSS selector and the value to put there. Every value is kept as a secret: it may be a
    /// password or a one-time code.
    pub fields: Vec<(String, Secret)>,
    /// The CSS selector of the button to press; `None`: the form's first submit button.
    pub submit: Option<String>,
}

impl ScriptPage {
    /// `login.pages[N] (url ~ "PATTERN")`, for messages.
    pub fn label(&self) -> String {
        format!(
            "login.pages[{}] (url ~ {:?})",
            self.index,
            self.pattern.as_str()
        )
    }
}

impl Script {
    /// Compiles the profile's scripts; `{username}`, `{password}` and `{env:NAME}` are filled
    /// in now, so a missing environment variable, or a placeholder for credentials the profile
    /// does not configure, is a configuration error before the run. Every value is remembered
    /// as a secret of the run.
    pub fn resolve(
        pages: &[PageScript],
        credentials: &Credentials,
        secrets: &Redactor,
    ) -> Result<Script, String> {
        let lookup = |name: &str| match name {
            "username" => credentials.username.clone(),
            "password" => credentials
                .password
                .as_ref()
                .map(|p| p.expose().to_string()),
            other => other
                .strip_prefix("env:")
                .and_then(|var| std::env::var(var).ok()),
        };
        let mut out = Vec::new();
        for (index, p) in pages.iter().enumerate() {
            let pattern = Regex::new(&p.url)
                .map_err(|e| format!("login.pages[{index}]: url {:?}: {e}", p.url))?;
            let mut fields = Vec::new();
            for (selector, value) in &p.fields {
                let v = expand(value, lookup).map_err(|e| format!("login.pages[{index}]: {e}"))?;
                secrets.remember_configured(&v);
                fields.push((selector.clone(), Secret::new(v)));
            }
            out.push(ScriptPage {
                index,
                pattern,
                fields,
                submit: p.submit.clone(),
            });
        }
        Ok(Script { pages: out })
    }

    /// The first script whose pattern is found in `url`.
    pub fn page_for(&self, url: &Url) -> Option<&ScriptPage> {
        self.pages.iter().find(|p| p.pattern.is_match(url.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn scripts_resolve_placeholders_and_match_urls_in_order() {
        let pages = vec![
            PageScript {
                url: "/login".into(),
                fields: BTreeMap::from([
                    ("#user".to_string(), "{username}".to_string()),
                    ("#pass".to_string(), "{password}".to_string()),
                ]),
                submit: Some("#go".into()),
            },
            PageScript {
                url: ".".into(),
                fields: BTreeMap::new(),
                submit: Some("#approve".into()),
            },
        ];
        let secrets = Redactor::new();
        let credentials = Credentials {
            username: Some("alice".into()),
            password: Some(Secret::new("pw-for-the-script")),
        };
        let s = Script::resolve(&pages, &credentials, &secrets).expect("resolves");
        let login = s
            .page_for(&Url::parse("https://as.example/u/login?x=1").expect("url"))
            .expect("matched");
        assert_eq!(login.index, 0);
        let value = |sel: &str| {
            login
                .fields
                .iter()
                .find(|(s, _)| s == sel)
                .map(|(_, v)| v.expose().to_string())
        };
        assert_eq!(value("#pass").as_deref(), Some("pw-for-the-script"));
        assert!(secrets.scrub("pw-for-the-script").contains("[redacted]"));
        assert_eq!(value("#user").as_deref(), Some("alice"));
        let other = s
            .page_for(&Url::parse("https://as.example/consent").expect("url"))
            .expect("matched");
        assert_eq!(other.index, 1);
        assert!(other.label().contains("login.pages[1]"));

        let missing = vec![PageScript {
            url: "x".into(),
            fields: BTreeMap::from([("#otp".to_string(), "{env:NO_SUCH_OTP_VAR}".to_string())]),
            submit: None,
        }];
        let e = Script::resolve(&missing, &credentials, &secrets).expect_err("unset");
        assert!(e.contains("NO_SUCH_OTP_VAR"), "{e}");
        // A placeholder for a password the profile does not configure names the setting.
        let e = Script::resolve(&pages, &Credentials::default(), &secrets).expect_err("none");
        assert!(e.contains("password_env"), "{e}");
    }
}
