//! Generated pages for the form driver's HTML form extraction: any markup is read without a
//! panic, and a login form placed among other forms is found with every field as the page set
//! it. `PROPTEST_CASES` cases each (256 unless set; `scripts/fuzz` runs a million).

use proptest::prelude::*;
use scraper::Html;
use url::Url;

use super::super::Credentials;
use super::super::config::PageScript;
use super::super::script::Script;
use super::{FieldValue, pick_form, scripted_form};
use crate::client::redact::{Redactor, Secret};

/// Attribute values, quoted or not, with the characters HTML escapes.
fn attribute_value() -> impl Strategy<Value = String> {
    "[ -~]{0,12}"
}

/// A fragment of markup: form controls and other tags, well-formed or not.
fn fragment() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(vec![
        "form", "input", "button", "select", "option", "textarea", "label", "div", "script", "p",
        "a", "",
    ]);
    let attr = prop::sample::select(vec![
        "type", "name", "value", "action", "method", "disabled", "checked", "selected", "id",
        "href", "",
    ]);
    let kind = prop::sample::select(vec![
        "text", "password", "hidden", "submit", "checkbox", "radio", "email", "image", "button",
        "reset",
    ]);
    prop_oneof![
        (
            tag.clone(),
            prop::collection::vec((attr, attribute_value()), 0..4)
        )
            .prop_map(|(t, attrs)| {
                let a: String = attrs
                    .iter()
                    .map(|(k, v)| format!(" {k}=\"{}\"", v.replace('"', "&quot;")))
                    .collect();
                format!("<{t}{a}>")
            }),
        (tag.clone(), kind).prop_map(|(t, k)| format!("<{t} type={k} name=n{t} value=v>")),
        tag.prop_map(|t| format!("</{t}>")),
        "[ -~]{0,16}",
    ]
}

/// A field of a generated login form: a hidden field, a text field or a checked box.
#[derive(Debug, Clone)]
struct Hidden {
    name: String,
    value: String,
}

fn hidden() -> impl Strategy<Value = Hidden> {
    ("h[a-z0-9_]{0,8}", "[A-Za-z0-9 ./:_-]{0,16}").prop_map(|(name, value)| Hidden { name, value })
}

/// A complete form that is not a login form: a search box, a consent form, a language picker.
fn other_form() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                prop::sample::select(vec!["text", "hidden", "search", "checkbox", "submit"]),
                "[a-z]{1,6}",
                attribute_value(),
            ),
            0..4,
        ),
        "[A-Za-z ]{0,12}",
    )
        .prop_map(|(inputs, label)| {
            let controls: String = inputs
                .iter()
                .map(|(t, n, v)| format!(r#"<input type="{t}" name="{n}" value="{}">"#, escape(v)))
                .collect();
            format!(
                "<p>{}</p><form action=\"/x\">{controls}<button>Go</button></form>",
                escape(&label)
            )
        })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

proptest! {
    #[test]
    fn any_markup_is_read_without_a_panic(parts in prop::collection::vec(fragment(), 0..40)) {
        let html = Html::parse_document(&parts.concat());
        let _ = pick_form(&html);
        let pages = vec![PageScript {
            url: ".".into(),
            fields: [("input".to_string(), "{username}".to_string())].into_iter().collect(),
            submit: Some("button, input[type=submit]".into()),
        }];
        let credentials = Credentials {
            username: Some("alice".into()),
            password: Some(Secret::new("wonderland")),
        };
        if let Ok(script) = Script::resolve(&pages, &credentials, &Redactor::new())
            && let Some(page) = script.page_for(&Url::parse("https://as.example/login").expect("url"))
        {
            let _ = scripted_form(&html, page, &Url::parse("https://as.example/login").expect("url"));
        }
    }

    #[test]
    fn a_login_form_among_others_is_found_with_its_fields(
        before in prop::collection::vec(other_form(), 0..4),
        after in prop::collection::vec(other_form(), 0..4),
        hidden_fields in prop::collection::vec(hidden(), 0..5),
        action in "/[a-z]{0,8}",
        user_name in "u[a-z]{0,6}",
        password_name in "p[a-z]{0,6}",
    ) {
        let mut html = before.concat();
        html.push_str(&format!(r#"<form method="post" action="{}">"#, escape(&action)));
        for h in &hidden_fields {
            html.push_str(&format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                h.name,
                escape(&h.value)
            ));
        }
        html.push_str(&format!(
            r#"<input type="text" name="{user_name}"><input type="password" name="{password_name}"><button type="submit">Sign in</button></form>"#
        ));
        html.push_str(&after.concat());
        let form = pick_form(&Html::parse_document(&html));
        prop_assert!(form.is_some(), "{}", html);
        let Some(form) = form else { return Ok(()) };
        prop_assert!(form.is_login);
        for h in &hidden_fields {
            prop_assert!(
                form.fields.iter().any(|f| f.name == h.name
                    && matches!(&f.value, FieldValue::Page(v) if *v == h.value)),
                "{:?} in {}",
                h,
                html
            );
        }
        prop_assert!(form.fields.iter().any(|f| f.name == password_name
            && matches!(f.value, FieldValue::Password) && f.is_secret));
        prop_assert!(form
            .fields
            .iter()
            .any(|f| f.name == user_name && matches!(f.value, FieldValue::Username)));
    }
}
