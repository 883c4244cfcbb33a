//! The profile's parsing and validation.

use super::*;
use crate::client::login::config::{DEFAULT_PASSWORD, DEFAULT_USERNAME};

#[test]
fn an_empty_profile_is_all_defaults() {
    let p = Profile::parse("").expect("parses");
    // No credentials but against the embedded reference server, where its test user is.
    assert_eq!(p.login.credentials(false).expect("ok"), (None, None));
    assert_eq!(
        p.login.credentials(true).expect("ok"),
        (
            Some(DEFAULT_USERNAME.to_string()),
            Some(DEFAULT_PASSWORD.to_string())
        )
    );
    assert_eq!(p.limits.max_body_bytes, 1024 * 1024);
}

#[test]
fn a_full_profile_parses() {
    let p = Profile::parse(
        r##"
target = "https://mcp.example.com/mcp"
revision = "2026-07-28"
concurrency = 4
allowed_hosts = ["mcp.example.com", "*.auth.example.com"]
[limits]
timeout_secs = 5
[login]
driver = "form"
username = "bob"
password_env = "BOB_PASSWORD"
[[login.pages]]
url = "/u/login"
fields = { "#username" = "{username}", "#password" = "{password}" }
submit = "button[type=submit]"
[[login.pages]]
url = "/consent"
submit = "button[value=accept]"
[tls]
ca_cert = "ca.pem"
[resources]
second = "https://mcp.example.com/other"
[scope_check]
tool = "delete_everything"
narrow_scope = "read"
"##,
    )
    .expect("parses");
    assert_eq!(p.concurrency, Some(4));
    assert_eq!(
        p.scope_check.expect("scope check").tool,
        "delete_everything"
    );
}

#[test]
fn the_example_profile_parses() {
    let text = include_str!("../../fixtures/targets/example.toml");
    let p = Profile::parse(text).expect("fixtures/targets/example.toml parses");
    assert_eq!(
        p.login.password_env.as_deref(),
        Some("MCP_CONFORMANCE_PASSWORD")
    );
    assert_eq!(p.login.pages.len(), 2);
}

#[test]
fn every_fixture_profile_parses_and_the_readme_sample_is_one_of_them() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/targets");
    let mut profiles = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/targets") {
        let path = entry.expect("entry").path();
        let name = path.display().to_string();
        // The reference server's clients file is not a profile.
        if path.extension().is_none_or(|e| e != "toml") || name.ends_with("-clients.toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        Profile::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        profiles += 1;
    }
    assert!(profiles >= 5, "{profiles}");
    let readme = include_str!("../../README.md");
    let sample = include_str!("../../fixtures/targets/form-login.toml");
    let body = sample
        .split_once("\n\n")
        .map(|(_, b)| b)
        .expect("a header comment");
    assert!(
        readme.contains(body),
        "the README's sample profile is fixtures/targets/form-login.toml"
    );
}

#[test]
fn mistakes_are_named() {
    let e = Profile::parse("targt = \"x\"").expect_err("unknown key");
    assert!(e.contains("unknown field"), "{e}");
    assert!(e.contains("line 1"), "{e}");
    let e = Profile::parse("target = \"not a url\"").expect_err("bad url");
    assert!(e.contains("target"), "{e}");
    let e = Profile::parse("revision = \"2024-01-01\"").expect_err("bad revision");
    assert!(e.contains("unknown MCP revision"), "{e}");
    let e = Profile::parse("[limits]\ntimeout_secs = 0").expect_err("zero timeout");
    assert!(e.contains("timeout_secs"), "{e}");
    let e = Profile::parse("[login]\npassword_env = \"NO_SUCH_VAR_FOR_TESTS\"")
        .expect("parses")
        .login
        .credentials(false)
        .expect_err("unset");
    assert!(e.contains("NO_SUCH_VAR_FOR_TESTS"), "{e}");
}

#[test]
fn a_pre_registered_client_is_read_with_its_defaults() {
    let p = Profile::parse("[client]\nclient_id = \"pre\"").expect("parses");
    let c = p.client.pre_registered().expect("ok").expect("a client");
    assert_eq!(c.client_id, "pre");
    assert!(c.client_secret.is_none());
    assert_eq!(c.token_endpoint_auth_method, "none");
    assert!(
        Profile::parse("")
            .expect("parses")
            .client
            .pre_registered()
            .expect("ok")
            .is_none()
    );
    let p = Profile::parse(
        "[client]\nclient_id = \"pre\"\nclient_secret_env = \"NO_SUCH_CLIENT_SECRET_FOR_TESTS\"",
    )
    .expect("parses");
    assert_eq!(p.client.auth_method(), "client_secret_basic");
    let e = p.client.pre_registered().expect_err("unset");
    assert!(e.contains("NO_SUCH_CLIENT_SECRET_FOR_TESTS"), "{e}");
    let p = Profile::parse(
        "[client]\nclient_id = \"pre\"\nclient_secret_env = \"X\"\ntoken_endpoint_auth_method = \"client_secret_post\"",
    )
    .expect("parses");
    assert_eq!(p.client.auth_method(), "client_secret_post");
}

#[test]
fn client_mistakes_are_named() {
    for (text, needle) in [
        ("[client]\nclient_secret = \"x\"", "client_secret"),
        (
            "[client]\nclient_secret_env = \"X\"",
            "needs client.client_id",
        ),
        (
            "[client]\nclient_id = \"a\"\ntoken_endpoint_auth_method = \"private_key_jwt\"",
            "private_key_jwt",
        ),
        (
            "[client]\nclient_id = \"a\"\ntoken_endpoint_auth_method = \"client_secret_basic\"",
            "needs client_secret_env",
        ),
        (
            "[client]\nclient_id = \"a\"\nclient_secret_env = \"X\"\ntoken_endpoint_auth_method = \"none\"",
            "takes no client_secret_env",
        ),
    ] {
        let e = Profile::parse(text).expect_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn section_mistakes_are_named() {
    for (text, needle) in [
        // The [login] section's own mistakes are tested next to it; the profile passes
        // them on.
        ("[login]\npassword = \"x\"", "password_env"),
        ("[login]\ndriver = \"robot\"", "unknown variant"),
        (
            "[[login.pages]]\nurl = \"(\"\nsubmit = \"b\"",
            "login.pages[0]: url",
        ),
        ("allowed_hosts = [\"https://x\"]", "allowed_hosts"),
        ("[client]\nregistration = \"cimd\"", "needs client_id"),
        (
            "[client]\nregistration = \"cimd\"\nclient_id = \"abc\"",
            "not an absolute URL",
        ),
        (
            "[client]\nregistration = \"dynamic\"\nclient_id = \"abc\"",
            "takes no client_id",
        ),
        ("[tls]\nca = \"x\"", "unknown field"),
    ] {
        let e = Profile::parse(text).expect_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn the_client_registration_is_inferred() {
    let p = Profile::parse("").expect("parses");
    assert_eq!(p.client.registration(), RegistrationKind::Dynamic);
    let p = Profile::parse("[client]\nclient_id = \"x\"").expect("parses");
    assert_eq!(p.client.registration(), RegistrationKind::PreRegistered);
    let p = Profile::parse(
        "[client]\nregistration = \"cimd\"\nclient_id = \"https://app.example.com/client.json\"",
    )
    .expect("parses");
    assert_eq!(p.client.registration(), RegistrationKind::Cimd);
}

#[test]
fn replicas_are_origins_and_a_bad_one_is_refused_with_the_setting_named() {
    let p =
        Profile::parse("[replicas]\nurls = [\"https://as-2.internal\", \"http://127.0.0.1:9001\"]")
            .expect("parses");
    assert_eq!(p.replicas.urls.len(), 2);
    assert!(Profile::parse("").expect("parses").replicas.urls.is_empty());
    for (text, needle) in [
        (
            "[replicas]\nurls = [\"as-2.internal\"]",
            "replicas.urls: \"as-2.internal\" is not an absolute URL",
        ),
        (
            "[replicas]\nurls = [\"https://as-2.internal/oauth2/token\"]",
            "has a path",
        ),
        (
            "[replicas]\nurls = \"https://as-2.internal\"",
            "invalid type",
        ),
        (
            "[replicas]\nurl = [\"https://as-2.internal\"]",
            "unknown field",
        ),
    ] {
        let e = Profile::parse(text).expect_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn routes_name_instances_by_a_header_and_a_bad_one_is_refused_with_the_setting_named() {
    let p = Profile::parse(
        "[replicas]\nurls = [\"https://as-2.internal\"]\nroute_header = \"X-Instance\"\nroutes = [\"a\", \"b\"]",
    )
    .expect("urls and routes combine");
    assert_eq!(p.replicas.route_header.as_deref(), Some("X-Instance"));
    assert_eq!(p.replicas.routes, ["a", "b"]);
    // The header may come from the command line instead.
    Profile::parse("[replicas]\nroutes = [\"a\"]").expect("parses");
    for (text, needle) in [
        (
            "[replicas]\nroute_header = \"X Instance\"",
            "replicas.route_header: \"X Instance\" is not a header name",
        ),
        (
            "[replicas]\nroute_header = \"Host\"",
            "replicas.route_header: \"Host\" cannot route",
        ),
        (
            "[replicas]\nroute_header = \"Transfer-Encoding\"",
            "frames the HTTP message",
        ),
        (
            "[replicas]\nroute_header = \"Authorization\"",
            "replicas.route_header: \"Authorization\" looks like a header that carries a credential",
        ),
        (
            "[replicas]\nroute_header = \"Cookie\"",
            "carries a credential",
        ),
        (
            "[replicas]\nroute_header = \"X-Auth-Token\"",
            "carries a credential",
        ),
        (
            "[replicas]\nroute_header = \"X-Instance\"\nroutes = [\"\"]",
            "replicas.routes: an empty value names no instance",
        ),
        (
            "[replicas]\nroute_header = \"X-Instance\"\nroutes = [\"a\\nb\"]",
            "replicas.routes: \"a\\nb\" is not a valid header value",
        ),
        (
            "[replicas]\nroute_header = \"X-Instance\"\nroutes = \"a\"",
            "invalid type",
        ),
    ] {
        let e = Profile::parse(text).expect_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn the_code_lifetime_is_optional_whole_seconds_and_never_zero() {
    assert_eq!(
        Profile::parse("")
            .expect("parses")
            .replicas
            .code_lifetime_secs,
        None
    );
    let p = Profile::parse("[replicas]\ncode_lifetime_secs = 60").expect("parses");
    assert_eq!(p.replicas.code_lifetime_secs, Some(60));
    for (text, needle) in [
        (
            "[replicas]\ncode_lifetime_secs = 0",
            "replicas.code_lifetime_secs must be at least 1",
        ),
        ("[replicas]\ncode_lifetime_secs = \"60\"", "invalid type"),
        ("[replicas]\ncode_lifetime_secs = -1", "invalid value"),
    ] {
        let e = Profile::parse(text).expect_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
}
