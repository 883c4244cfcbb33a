//! What a page in the browser offers, read with the page script: a login form, the approving
//! button of a consent form, or nothing; and whether pressing a button led anywhere. The
//! choice is the `form` driver's: a login form first, then an approving button that is not a
//! denying one.

use std::time::Duration;

use fantoccini::elements::ElementRef;
use serde_json::Value;
use tokio::time::{Instant, sleep};
use url::Url;

use super::POLL;
use super::session::{Op, Session, element_ref, is_transport};
use crate::client::login::LoginError;
use crate::client::login::form::{APPROVE_WORDS, DENY_WORDS, words_match};

/// How long a page without a form is given to build one with scripts.
const SETTLE: Duration = Duration::from_secs(2);

/// A generic login form.
#[derive(Debug)]
pub(super) struct LoginForm {
    pub form: ElementRef,
    pub user: Option<ElementRef>,
    pub passwords: Vec<ElementRef>,
    pub submit: Option<ElementRef>,
}

/// What a page offers.
#[derive(Debug)]
pub(super) enum Found {
    Login(LoginForm),
    /// The approving button of a consent form.
    Consent(ElementRef),
    /// The page went elsewhere by itself.
    Moved,
    /// The browser's own error page (the network error code).
    Unloadable(String),
    Nothing,
}

/// What the page at `url` offers, given a moment to build its form with scripts.
pub(super) async fn inspect(
    s: &Session,
    url: &Url,
    deadline: Instant,
) -> Result<Found, LoginError> {
    let until = (Instant::now() + SETTLE).min(deadline);
    loop {
        let info = s
            .call(Op::Inspect, Vec::new())
            .await
            .map_err(|e| s.fail("reading the page", &e))?;
        if let Some(code) = info["neterror"].as_str().filter(|c| !c.is_empty()) {
            return Ok(Found::Unloadable(code.to_string()));
        }
        if let Some(found) = pick(&info) {
            return Ok(found);
        }
        if s.current_url().await? != *url {
            return Ok(Found::Moved);
        }
        let still = info["ready"] == "complete" && info["scripts"].as_u64() == Some(0);
        if still || Instant::now() >= until {
            return Ok(Found::Nothing);
        }
        sleep(POLL).await;
    }
}

/// As the form driver: the first login form, else the first form with an approving button.
fn pick(info: &Value) -> Option<Found> {
    let forms = info["forms"].as_array()?;
    let mut consent = None;
    for f in forms {
        let Some(form) = element_ref(&f["form"]) else {
            continue;
        };
        let submits: Vec<(ElementRef, &str)> = f["submits"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|b| {
                        Some((element_ref(&b["el"])?, b["label"].as_str().unwrap_or("")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if f["login"].as_bool() == Some(true) {
            let passwords = f["passwords"]
                .as_array()
                .map(|l| l.iter().filter_map(element_ref).collect())
                .unwrap_or_default();
            return Some(Found::Login(LoginForm {
                form,
                user: element_ref(&f["user"]),
                passwords,
                submit: submits.first().map(|(e, _)| e.clone()),
            }));
        }
        if consent.is_none() {
            consent = submits
                .into_iter()
                .find(|(_, label)| {
                    words_match(label, APPROVE_WORDS) && !words_match(label, DENY_WORDS)
                })
                .map(|(e, _)| Found::Consent(e));
        }
    }
    consent
}

/// Waits until pressing a button led somewhere: another URL, a new document, or the marked
/// element gone. `false` when nothing changed within `patience`.
pub(super) async fn wait_for_change(
    s: &Session,
    before: &Url,
    token: &str,
    patience: Duration,
    deadline: Instant,
) -> Result<bool, LoginError> {
    let until = (Instant::now() + patience).min(deadline);
    loop {
        let url = s.current_url().await?;
        if url != *before {
            return Ok(true);
        }
        match s
            .call(Op::Changed, vec![Value::String(token.to_string())])
            .await
        {
            Ok(v) if v.as_bool() == Some(true) => return Ok(true),
            Ok(_) => {}
            // Asked while the page was being replaced.
            Err(e) if !is_transport(&e) => return Ok(true),
            Err(e) => return Err(s.fail("waiting for the next page", &e)),
        }
        if Instant::now() >= until {
            return Ok(Instant::now() >= deadline);
        }
        sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::login::browser::session::ELEMENT_KEY;
    use serde_json::json;

    fn el(id: &str) -> Value {
        json!({ ELEMENT_KEY: id })
    }

    #[test]
    fn a_login_form_wins_over_a_consent_form_and_deny_buttons_are_never_pressed() {
        let consent = json!({
            "form": el("f1"), "login": false, "user": null, "passwords": [],
            "submits": [
                { "el": el("deny"), "label": "decision deny Deny" },
                { "el": el("ok"), "label": "decision approve Allow" },
            ],
        });
        let login = json!({
            "form": el("f2"), "login": true, "user": el("u"), "passwords": [el("p")],
            "submits": [{ "el": el("go"), "label": "  Sign in" }],
        });
        let only_consent = json!({ "forms": [consent.clone()] });
        match pick(&only_consent) {
            Some(Found::Consent(e)) => assert_eq!(&*e, "ok"),
            other => panic!("{other:?}"),
        }
        match pick(&json!({ "forms": [consent, login] })) {
            Some(Found::Login(f)) => {
                assert_eq!(&*f.form, "f2");
                assert_eq!(f.user.as_deref(), Some("u"));
                assert_eq!(f.submit.as_deref(), Some("go"));
            }
            other => panic!("{other:?}"),
        }
        let deny_only = json!({ "forms": [{
            "form": el("f"), "login": false, "user": null, "passwords": [],
            "submits": [{ "el": el("no"), "label": "Cancel and go back" }],
        }]});
        assert!(pick(&deny_only).is_none());
        assert!(pick(&json!({ "forms": [] })).is_none());
    }
}
