//! The profile's `[login]` section: which driver completes login and consent, the user it logs
//! in as, and each driver's settings (`[[login.pages]]` scripts, `[login.manual]`,
//! `[login.browser]`, the `command`). It sits next to the drivers that read it; the profile
//! (`crate::config`) holds it as its `login` table.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The reference server's test user: the login of the embedded reference server, and of a
/// profile that says it targets a reference server (`[login] reference_server = true`) and
/// names no other. Never sent anywhere else.
pub const DEFAULT_USERNAME: &str = "alice";
pub const DEFAULT_PASSWORD: &str = "wonderland";

/// Which login driver completes login and consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// HTML forms over HTTP: generic, or scripted per page with `[[login.pages]]`.
    #[default]
    Form,
    /// A person: the authorization URL is printed, the redirect is caught on the loopback
    /// redirect URI or pasted on stdin.
    Manual,
    /// A program of the user's: it gets the authorization URL and prints the final redirect URL.
    Command,
    /// A real headless Chromium driven through WebDriver (chromedriver), for JavaScript pages.
    Browser,
}

impl DriverKind {
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Form => "form",
            DriverKind::Manual => "manual",
            DriverKind::Command => "command",
            DriverKind::Browser => "browser",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Login {
    /// `form` (default), `manual`, `command` or `browser`.
    pub driver: DriverKind,
    /// The test user; without it, the reference server's where that is the target.
    pub username: Option<String>,
    /// The profile targets a reference server started separately: its test user is the
    /// default login.
    pub reference_server: bool,
    /// Never allowed: secrets are not written in profiles (its presence is kept only to say
    /// so clearly; the value itself is never stored).
    password: Option<IgnoredAny>,
    /// The environment variable that holds the password.
    pub password_env: Option<String>,
    /// How long one login may take with the manual, command and browser drivers.
    pub timeout_secs: u64,
    /// `form` and `browser`: scripts for known pages, tried in order; a page no script matches
    /// gets the generic treatment (fill username and password, approve consent).
    pub pages: Vec<PageScript>,
    /// `command`: the program and its arguments; the authorization URL is appended.
    pub command: Vec<String>,
    /// `manual`: settings.
    pub manual: Manual,
    /// `browser`: settings.
    pub browser: Browser,
}

impl Default for Login {
    fn default() -> Self {
        Login {
            driver: DriverKind::Form,
            username: None,
            reference_server: false,
            password: None,
            password_env: None,
            timeout_secs: 300,
            pages: Vec::new(),
            command: Vec::new(),
            manual: Manual::default(),
            browser: Browser::default(),
        }
    }
}

/// One page of a login script: when the page's URL matches `url`, fill `fields` and press
/// `submit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageScript {
    /// A regular expression searched for in the page's URL.
    pub url: String,
    /// CSS selector → value. Values may hold `{username}`, `{password}` and `{env:NAME}`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The CSS selector of the button to press. Default: the form's first submit button.
    pub submit: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Manual {
    /// Listen on the redirect URI (it must be loopback http) for the browser's redirect, as
    /// well as reading a pasted redirect URL from stdin.
    pub listen: bool,
}

impl Default for Manual {
    fn default() -> Self {
        Manual { listen: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Browser {
    /// The Chromium (or Chrome) executable.
    pub chrome: PathBuf,
    /// The chromedriver executable (its version must match the browser's).
    pub chromedriver: PathBuf,
    /// Run without a window (default true).
    pub headless: bool,
    /// More command-line arguments for the browser.
    pub args: Vec<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            chrome: PathBuf::from("/usr/bin/chromium"),
            chromedriver: PathBuf::from("/usr/bin/chromedriver"),
            headless: true,
            args: Vec::new(),
        }
    }
}

impl Login {
    /// The username and password to log in with: the configured ones, else the reference
    /// server's test user when the run targets a reference server (`reference_server`: the
    /// embedded one, or the profile says so), else none. The caller wraps the password in a
    /// `Secret` at once.
    pub fn credentials(
        &self,
        reference_server: bool,
    ) -> Result<(Option<String>, Option<String>), String> {
        let reference_server = reference_server || self.reference_server;
        let password = match &self.password_env {
            Some(var) => Some(
                std::env::var(var)
                    .map_err(|_| format!("login.password_env names {var}, which is not set"))?,
            ),
            None => reference_server.then(|| DEFAULT_PASSWORD.to_string()),
        };
        let username = self
            .username
            .clone()
            .or_else(|| reference_server.then(|| DEFAULT_USERNAME.to_string()));
        Ok((username, password))
    }

    /// The checks serde cannot make: errors name the field as the profile writes it.
    pub fn validate(&self) -> Result<(), String> {
        if self.password.is_some() {
            return Err("login.password: secrets are never written in a profile; put the password in an environment variable and name it with password_env".into());
        }
        if self.timeout_secs == 0 {
            return Err("login.timeout_secs must be at least 1".into());
        }
        let driver = self.driver.name();
        match self.driver {
            DriverKind::Command if self.command.is_empty() => {
                return Err("login.command: the command driver needs the program to run, e.g. command = [\"./login.sh\"]".into());
            }
            DriverKind::Command => {}
            _ if !self.command.is_empty() => {
                return Err(format!(
                    "login.command is for driver = \"command\" (the driver is {driver:?})"
                ));
            }
            _ => {}
        }
        if !self.pages.is_empty() && !matches!(self.driver, DriverKind::Form | DriverKind::Browser)
        {
            return Err(format!(
                "login.pages are for the form and browser drivers (the driver is {driver:?})"
            ));
        }
        for (i, page) in self.pages.iter().enumerate() {
            page.validate()
                .map_err(|e| format!("login.pages[{i}]: {e}"))?;
        }
        Ok(())
    }
}

impl PageScript {
    fn validate(&self) -> Result<(), String> {
        regex::Regex::new(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        let selectors = self.fields.keys().chain(self.submit.as_ref());
        for s in selectors {
            scraper::Selector::parse(s)
                .map_err(|e| format!("{s:?} is not a CSS selector ({e})"))?;
        }
        if self.fields.is_empty() && self.submit.is_none() {
            return Err("give fields, submit or both".into());
        }
        for value in self.fields.values() {
            check_placeholders(value)?;
        }
        Ok(())
    }
}

/// A field value's placeholders: `{username}`, `{password}`, `{env:NAME}`; `{{` and `}}` are
/// literal braces.
fn check_placeholders(value: &str) -> Result<(), String> {
    expand(value, |_| Some(String::new())).map(drop)
}

/// Replaces the placeholders of `value`; `lookup` gets `username`, `password` or `env:NAME`.
pub fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("{{") {
            out.push('{');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("}}") {
            out.push('}');
            rest = t;
        } else if let Some(t) = tail.strip_prefix('{') {
            let Some(end) = t.find('}') else {
                return Err(format!("{value:?}: an unclosed {{"));
            };
            let name = &t[..end];
            let known = name == "username"
                || name == "password"
                || name.strip_prefix("env:").is_some_and(|v| !v.is_empty());
            if !known {
                return Err(format!(
                    "{value:?}: unknown placeholder {{{name}}} (use {{username}}, {{password}} or {{env:NAME}})"
                ));
            }
            out.push_str(
                &lookup(name).ok_or_else(|| match name.strip_prefix("env:") {
                    Some(var) => {
                        format!("{value:?} names the environment variable {var}, which is not set")
                    }
                    None if name == "password" => format!(
                        "{value:?} uses {{password}}, and the profile configures no password: set [login] password_env"
                    ),
                    None if name == "username" => format!(
                        "{value:?} uses {{username}}, and the profile configures no username: set [login] username"
                    ),
                    None => format!("{value:?}: {{{name}}} has no value"),
                })?,
            );
            rest = &t[end + 1..];
        } else {
            return Err(format!(
                "{value:?}: a lone }} (write }}}} for a literal one)"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[login]` section of a profile text, validated.
    fn parse(text: &str) -> Result<Login, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Section {
            #[serde(default)]
            login: Login,
        }
        let s: Section = toml::from_str(text).map_err(|e| e.message().to_string())?;
        s.login.validate()?;
        Ok(s.login)
    }

    #[test]
    fn an_empty_section_is_the_form_driver_with_no_credentials() {
        let l = parse("").expect("parses");
        assert_eq!(l.driver, DriverKind::Form);
        assert_eq!(l.credentials(false).expect("ok"), (None, None));
        assert_eq!(l.timeout_secs, 300);
        assert!(l.manual.listen);
        assert!(l.browser.headless);
    }

    #[test]
    fn the_reference_servers_user_is_the_default_only_where_the_run_targets_it() {
        let reference = (
            Some(DEFAULT_USERNAME.to_string()),
            Some(DEFAULT_PASSWORD.to_string()),
        );
        // The embedded reference server.
        assert_eq!(
            parse("").expect("parses").credentials(true).expect("ok"),
            reference
        );
        // A profile that says it targets one.
        let l = parse("[login]\nreference_server = true").expect("parses");
        assert_eq!(l.credentials(false).expect("ok"), reference);
        // Elsewhere, only what the profile names.
        let l = parse("[login]\nusername = \"bob\"").expect("parses");
        assert_eq!(
            l.credentials(false).expect("ok"),
            (Some("bob".to_string()), None)
        );
        let l = parse("[login]\nusername = \"bob\"\nreference_server = true").expect("parses");
        assert_eq!(
            l.credentials(false).expect("ok"),
            (Some("bob".to_string()), Some(DEFAULT_PASSWORD.to_string()))
        );
    }

    #[test]
    fn every_driver_parses_with_its_settings() {
        let l = parse(
            "[login]\ndriver = \"browser\"\n[login.browser]\nchrome = \"/opt/c\"\nheadless = false\nargs = [\"--x\"]\n[[login.pages]]\nurl = \"/login\"\nsubmit = \"#go\"",
        )
        .expect("parses");
        assert_eq!(l.driver.name(), "browser");
        assert_eq!(l.browser.chrome, PathBuf::from("/opt/c"));
        assert!(!l.browser.headless);
        assert_eq!(l.pages.len(), 1);
        let l = parse("[login]\ndriver = \"command\"\ncommand = [\"./login.sh\", \"-v\"]")
            .expect("parses");
        assert_eq!(l.command, ["./login.sh", "-v"]);
        let l =
            parse("[login]\ndriver = \"manual\"\n[login.manual]\nlisten = false").expect("parses");
        assert!(!l.manual.listen);
    }

    #[test]
    fn a_password_in_the_profile_is_refused_and_never_kept() {
        let text = "[login]\npassword = \"hunter2-in-the-profile\"";
        let e = parse(text).expect_err("refused");
        assert!(e.contains("password_env"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let s: toml::Table = toml::from_str(text).expect("toml");
        let login: Login = s["login"].clone().try_into().expect("deserializes");
        assert!(!format!("{login:?}").contains("hunter2"));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("[login]\npassword = \"x\"", "password_env"),
            ("[login]\ndriver = \"robot\"", "unknown variant"),
            ("[login]\ndriver = \"command\"", "login.command"),
            ("[login]\ncommand = [\"x\"]", "driver = \"command\""),
            ("[login]\ntimeout_secs = 0", "timeout_secs"),
            (
                "[login]\ndriver = \"manual\"\n[[login.pages]]\nurl = \"x\"\nsubmit = \"b\"",
                "form and browser",
            ),
            (
                "[[login.pages]]\nurl = \"(\"\nsubmit = \"b\"",
                "login.pages[0]: url",
            ),
            (
                "[[login.pages]]\nurl = \"x\"\nsubmit = \"[[\"",
                "CSS selector",
            ),
            ("[[login.pages]]\nurl = \"x\"", "fields, submit"),
            (
                "[[login.pages]]\nurl = \"x\"\nfields = { \"#u\" = \"{user}\" }",
                "unknown placeholder",
            ),
            ("[[login.pages]]\nurl = \"x\"\nfolds = 1", "unknown field"),
            ("[login.browser]\nchromium = \"x\"", "unknown field"),
            ("[login.manual]\nlisten = \"yes\"", "invalid type"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
        let e = parse("[login]\npassword_env = \"NO_SUCH_VAR_FOR_TESTS\"")
            .expect("parses")
            .credentials(true)
            .expect_err("unset");
        assert!(e.contains("NO_SUCH_VAR_FOR_TESTS"), "{e}");
    }

    #[test]
    fn placeholders_expand_and_braces_escape() {
        let lookup = |name: &str| match name {
            "username" => Some("alice".to_string()),
            "password" => Some("pw".to_string()),
            "env:OTP" => Some("123456".to_string()),
            _ => None,
        };
        assert_eq!(
            expand("{username}:{password}", lookup).expect("ok"),
            "alice:pw"
        );
        assert_eq!(expand("{{x}} {env:OTP}", lookup).expect("ok"), "{x} 123456");
        assert!(
            expand("{env:MISSING}", lookup)
                .expect_err("unset")
                .contains("MISSING")
        );
        assert!(expand("a}b", lookup).is_err());
        assert!(expand("{username", lookup).is_err());
    }
}
