//! Tests of the form driver: choosing and filling forms, scripted pages, and what it says when
//! it cannot go on.

use super::super::config::PageScript;
use super::super::script::Script;
use super::*;
use std::collections::BTreeMap;

fn page(html: &str) -> Html {
    Html::parse_document(html)
}

/// A field's value as sent, with placeholders for the configured user.
fn sent(f: &Field) -> String {
    match &f.value {
        FieldValue::Username => "{username}".into(),
        FieldValue::Password => "{password}".into(),
        FieldValue::Page(v) => v.clone(),
        FieldValue::Scripted(v) => v.expose().to_string(),
    }
}

#[test]
fn login_forms_get_username_password_and_hidden_fields() {
    let f = pick_form(&page(
        r#"<form method="post" action="/login"><input type="hidden" name="csrf" value="t1">
        <label>Email <input name="email" type="email"></label><input type="password" name="pw">
        <button type="submit" name="op" value="signin">Sign in</button></form>"#,
    ))
    .expect("a form");
    assert!(f.is_login && f.method_post);
    assert_eq!(f.action.as_deref(), Some("/login"));
    let roles: Vec<(String, String)> = f
        .fields
        .iter()
        .map(|x| (x.name.clone(), format!("{:?}", x.value)))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("csrf".into(), "Page(\"t1\")".into()),
            ("email".into(), "Username".into()),
            ("pw".into(), "Password".into()),
            ("op".into(), "Page(\"signin\")".into()),
        ]
    );
}

#[test]
fn consent_picks_the_approving_button_not_the_denying_one() {
    let f = pick_form(&page(
        r#"<form method="post" action="/consent"><input type="hidden" name="tx" value="9">
        <button name="decision" value="deny">Deny</button>
        <button name="decision" value="approve">Allow access</button></form>"#,
    ))
    .expect("a form");
    assert!(!f.is_login);
    let last = f.fields.last().expect("the button");
    assert_eq!(
        (last.name.as_str(), sent(last).as_str()),
        ("decision", "approve")
    );
    assert!(pick_form(&page("<p>Something went wrong</p>")).is_none());
}

#[test]
fn the_driver_never_visits_a_redirect_uris_origin_nor_leaves_the_machine_of_a_local_as() {
    let u = |s: &str| Url::parse(s).expect("url");
    let stop = [u("http://127.0.0.1:4001/callback")];
    let local_as = u("http://127.0.0.1:4000/oauth2/authorize?x=1");
    assert!(may_follow(
        &local_as,
        &u("http://127.0.0.1:4000/login"),
        &stop
    ));
    assert!(!may_follow(
        &local_as,
        &u("http://127.0.0.1:4001/callback"),
        &stop
    ));
    assert!(!may_follow(
        &local_as,
        &u("http://127.0.0.1:4001/elsewhere"),
        &stop
    ));
    // A login service on another origin of this machine.
    assert!(may_follow(
        &local_as,
        &u("http://localhost:4000/login"),
        &stop
    ));
    assert!(may_follow(
        &local_as,
        &u("http://127.0.0.1:4002/login"),
        &stop
    ));
    assert!(!may_follow(
        &local_as,
        &u("https://idp.example/login"),
        &stop
    ));
    assert!(!may_follow(&local_as, &u("file:///etc/passwd"), &stop));
    let remote_as = u("https://as.example/authorize");
    let stop = [u("http://127.0.0.1:4001/callback")];
    assert!(may_follow(
        &remote_as,
        &u("https://as.example/login"),
        &stop
    ));
    assert!(may_follow(
        &remote_as,
        &u("https://idp.example/login"),
        &stop
    ));
    assert!(!may_follow(
        &remote_as,
        &u("http://idp.example/login"),
        &stop
    ));
    assert!(!may_follow(
        &remote_as,
        &u("https://127.0.0.1:4001/callback"),
        &stop
    ));
    assert!(!may_follow(
        &remote_as,
        &u("https://localhost/callback"),
        &stop
    ));
}

#[test]
fn redirect_uri_comparison_ignores_the_query_only() {
    let r = Url::parse("http://127.0.0.1:4000/callback").expect("url");
    assert!(is_redirect_uri(
        &Url::parse("http://127.0.0.1:4000/callback?code=x").expect("url"),
        &r
    ));
    assert!(!is_redirect_uri(
        &Url::parse("http://127.0.0.1:4001/callback?code=x").expect("url"),
        &r
    ));
    assert!(!is_redirect_uri(
        &Url::parse("http://127.0.0.1:4000/other").expect("url"),
        &r
    ));
}

fn script(fields: &[(&str, &str)], submit: Option<&str>) -> Script {
    Script::resolve(
        &[PageScript {
            url: "login".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            submit: submit.map(str::to_string),
        }],
        &crate::client::login::Credentials {
            username: Some("alice".into()),
            password: Some(Secret::new("wonderland")),
        },
        &crate::client::redact::Redactor::new(),
    )
    .expect("resolves")
}

const TWO_FORMS: &str = r#"<form action="/search"><input name="q" value="s"><button>Go</button></form>
    <form method="post" action="/u/login"><input type="hidden" name="state" value="st">
    <input id="who" name="identifier"><input id="otp" name="otp">
    <input type="checkbox" name="remember" value="1">
    <button name="action" value="default" id="next">Continue</button></form>"#;

#[test]
fn a_scripted_page_fills_its_selectors_in_the_form_of_its_button() {
    let s = script(&[("#who", "{username}"), ("#otp", "123456")], Some("#next"));
    let url = Url::parse("https://as.example/u/login").expect("url");
    let page_script = s.page_for(&url).expect("matched");
    let f = scripted_form(&page(TWO_FORMS), page_script, &url).expect("a form");
    assert_eq!(f.action.as_deref(), Some("/u/login"));
    assert!(f.method_post && !f.is_login);
    let pairs: Vec<(String, String)> = f.fields.iter().map(|x| (x.name.clone(), sent(x))).collect();
    assert_eq!(
        pairs,
        vec![
            ("state".to_string(), "st".to_string()),
            ("identifier".to_string(), "alice".to_string()),
            ("otp".to_string(), "123456".to_string()),
            ("action".to_string(), "default".to_string()),
        ]
    );
    // A script's values print redacted.
    assert!(!format!("{f:?}").contains("123456"), "{f:?}");
}

#[test]
fn a_script_that_does_not_fit_the_page_says_which_selector_failed() {
    let url = Url::parse("https://as.example/u/login").expect("url");
    let s = script(&[("#nope", "x")], None);
    let e = scripted_form(&page(TWO_FORMS), s.page_for(&url).expect("m"), &url)
        .expect_err("no such field");
    assert!(e.to_string().contains("\"#nope\" matches nothing"), "{e}");
    assert!(e.to_string().contains("login.pages[0]"), "{e}");
    let s = script(&[("button", "x")], None);
    let e = scripted_form(&page(TWO_FORMS), s.page_for(&url).expect("m"), &url)
        .expect_err("not a field");
    assert!(e.to_string().contains("not a named input"), "{e}");
}

#[test]
fn a_login_stuck_after_a_submission_names_the_driver_what_it_saw_and_when_the_browser_helps() {
    let at = |s: &str| Url::parse(s).expect("url");
    let sub = |scripts| Submitted {
        page: at("http://127.0.0.1:1/oauth2/authorize?client_id=c"),
        method: "POST".into(),
        action: at("http://127.0.0.1:1/oauth2/authorize"),
        page_runs_scripts: scripts,
    };
    let refused =
        stuck_after_submission(&sub(false), &sub(false).action, "answered 405", true).to_string();
    for said in [
        "form driver",
        "POST",
        "answered 405",
        "use the browser driver",
    ] {
        assert!(refused.contains(said), "{said:?}: {refused}");
    }
    let error_page = at("http://127.0.0.1:1/oauth2/error");
    let lost = stuck_after_submission(&sub(false), &error_page, "answered 500", false).to_string();
    assert!(
        lost.contains("ended at http://127.0.0.1:1/oauth2/error"),
        "{lost}"
    );
    assert!(!lost.contains("browser driver"), "{lost}");
    let scripted = stuck_after_submission(&sub(true), &error_page, "answered 500", false);
    assert!(scripted.to_string().contains("use the browser driver"));
}

#[test]
fn a_page_built_by_javascript_is_recognised() {
    assert!(built_by_script(&page(
        r#"<div id="app"></div><script src="/login.js"></script>"#
    )));
    assert!(!built_by_script(&page(
        r#"<p>Error: invalid redirect_uri</p>"#
    )));
    assert!(!built_by_script(&page(
        r#"<form><input type="password" name="p"></form><script></script>"#
    )));
}
