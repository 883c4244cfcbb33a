//! The token endpoint's negatives: CODE-*, PKCE-06..09, TOK-*, REFRESH-*, RES-06, RFC 7009.

mod common;

use common::*;
use reference_server::Config;
use reqwest::StatusCode;
use serde_json::Value;

struct Ctx {
    s: Session,
}

async fn ctx() -> Ctx {
    Ctx {
        s: logged_in(Config::default()).await,
    }
}

impl Ctx {
    async fn code(&self) -> String {
        code_for(
            &self.s.http,
            &self.s.ep,
            &AuthRequest::new(&self.s.client.client_id, &self.s.server.urls.mcp),
        )
        .await
    }
    async fn token(
        &self,
        form: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        token_request(&self.s.http, &self.s.ep, form).await
    }
    async fn mcp_status(&self, access: &str) -> StatusCode {
        mcp_post(
            &self.s.http,
            &self.s.server.urls.mcp,
            Some(access),
            None,
            initialize_body(),
        )
        .await
        .status()
    }
    async fn token_owned(
        &self,
        form: &[(&str, String)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.token(&f).await
    }
    fn cid(&self) -> &str {
        &self.s.client.client_id
    }
}

fn assert_error(r: &(StatusCode, reqwest::header::HeaderMap, Value), codes: &[&str], why: &str) {
    assert!(r.0.is_client_error(), "{why}: {}", r.0);
    assert!(
        codes.contains(&r.2["error"].as_str().unwrap_or("")),
        "{why}: {}",
        r.2
    );
    assert_eq!(r.1["cache-control"], "no-store", "{why}");
}

#[tokio::test]
async fn code_02_03_replay_is_refused_and_revokes_the_first_tokens() {
    let c = ctx().await;
    let code = c.code().await;
    let first = exchange(&c.s.http, &c.s.ep, &c.s.client, &code, &c.s.server.urls.mcp).await;
    assert_eq!(first.0, StatusCode::OK);
    let access = first.2["access_token"].as_str().unwrap();
    let refresh = first.2["refresh_token"].as_str().unwrap();
    assert_eq!(c.mcp_status(access).await, StatusCode::OK);
    let replay = exchange(&c.s.http, &c.s.ep, &c.s.client, &code, &c.s.server.urls.mcp).await;
    assert_error(&replay, &["invalid_grant"], "replay");
    assert_eq!(
        c.mcp_status(access).await,
        StatusCode::UNAUTHORIZED,
        "CODE-03 access"
    );
    let r = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", c.cid()),
        ])
        .await;
    assert_error(&r, &["invalid_grant"], "CODE-03 refresh");
}

#[tokio::test]
async fn code_04_a_replay_with_a_wrong_verifier_revokes_nothing() {
    let c = ctx().await;
    let code = c.code().await;
    let first = exchange(&c.s.http, &c.s.ep, &c.s.client, &code, &c.s.server.urls.mcp).await;
    let access = first.2["access_token"].as_str().unwrap();
    let wrong = "x".repeat(43);
    let r = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &wrong),
            ("client_id", c.cid()),
        ])
        .await;
    assert_error(&r, &["invalid_grant"], "bad replay");
    assert_eq!(c.mcp_status(access).await, StatusCode::OK);
}

#[tokio::test]
async fn code_05_06_07_08_09_10_bindings_and_parameters() {
    let c = ctx().await;
    let other = register_public(&c.s.http, &c.s.ep).await;
    let code = c.code().await;
    let r = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("client_id", &other.client_id),
        ])
        .await;
    assert_error(&r, &["invalid_grant"], "CODE-05");
    let r = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("client_id", c.cid()),
            ("redirect_uri", "http://127.0.0.1:49152/other"),
        ])
        .await;
    assert_error(&r, &["invalid_grant"], "CODE-06");
    let r = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("code_verifier", VERIFIER),
            ("client_id", c.cid()),
        ])
        .await;
    assert_error(&r, &["invalid_grant"], "CODE-08");
    let r = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_error(
        &r,
        &["invalid_request", "invalid_client", "invalid_grant"],
        "CODE-09",
    );
    // CODE-06 (same URI accepted) and CODE-10 (unknown parameter ignored).
    let r = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("client_id", c.cid()),
            ("redirect_uri", REDIRECT),
            ("harness_x", "1"),
        ])
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
}

#[tokio::test]
async fn pkce_06_to_09_verifier_checks() {
    let c = ctx().await;
    let code = c.code().await;
    let t = |v: String| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("client_id", c.cid().to_string()),
            ("code_verifier", v),
        ]
    };
    assert_error(
        &c.token_owned(&t("y".repeat(43))).await,
        &["invalid_grant"],
        "PKCE-06",
    );
    for bad in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(43)),
    ] {
        assert_error(
            &c.token_owned(&t(bad.clone())).await,
            &["invalid_request", "invalid_grant"],
            &format!("PKCE-08 {bad}"),
        );
    }
    assert_error(
        &c.token_owned(&t(challenge(VERIFIER))).await,
        &["invalid_grant"],
        "PKCE-09",
    );
    let mut no_verifier = t(String::new());
    no_verifier.pop();
    assert_error(
        &c.token_owned(&no_verifier).await,
        &["invalid_request", "invalid_grant"],
        "PKCE-07",
    );
    // A failed attempt does not burn the code.
    let ok = c.token_owned(&t(VERIFIER.to_string())).await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.2);
}

#[tokio::test]
async fn expired_codes_are_invalid_grant() {
    let s = logged_in(Config {
        code_ttl: std::time::Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let code = code_for(
        &s.http,
        &s.ep,
        &AuthRequest::new(&s.client.client_id, &s.server.urls.mcp),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = exchange(&s.http, &s.ep, &s.client, &code, &s.server.urls.mcp).await;
    assert_error(&r, &["invalid_grant"], "expired");
}

#[tokio::test]
async fn tok_01_to_11_request_shape_and_client_authentication() {
    let c = ctx().await;
    assert_error(
        &c.token(&[("client_id", c.cid())]).await,
        &["invalid_request"],
        "TOK-02",
    );
    assert_error(
        &c.token(&[("grant_type", ""), ("client_id", c.cid())]).await,
        &["invalid_request"],
        "TOK-05",
    );
    for g in ["password", "foo"] {
        assert_error(
            &c.token(&[("grant_type", g), ("client_id", c.cid())]).await,
            &["unsupported_grant_type"],
            g,
        );
    }
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("grant_type", "refresh_token"),
            ("client_id", c.cid()),
        ])
        .await,
        &["invalid_request"],
        "TOK-04",
    );
    assert_error(
        &c.token(&[("grant_type", "client_credentials"), ("client_id", c.cid())])
            .await,
        &["unauthorized_client", "invalid_client"],
        "TOK-09",
    );

    let basic = register_confidential(
        &c.s.http,
        &c.s.ep,
        "client_secret_basic",
        &["client_credentials"],
    )
    .await;
    let resp =
        c.s.http
            .post(&c.s.ep.token)
            .basic_auth(&basic.client_id, Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "TOK-06");
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let resp =
        c.s.http
            .post(&c.s.ep.token)
            .basic_auth(&basic.client_id, basic.secret.as_deref())
            .form(&[("grant_type", "client_credentials"), ("client_secret", "x")])
            .send()
            .await
            .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request",
        "TOK-07"
    );
    let resp =
        c.s.http
            .post(&c.s.ep.token)
            .basic_auth(&basic.client_id, basic.secret.as_deref())
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", &c.s.server.urls.mcp),
            ])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cc: Value = resp.json().await.unwrap();
    assert!(cc.get("refresh_token").is_none());
    assert_eq!(
        c.mcp_status(cc["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    let post = register_confidential(
        &c.s.http,
        &c.s.ep,
        "client_secret_post",
        &["client_credentials"],
    )
    .await;
    let r = c
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &post.client_id),
            ("client_secret", post.secret.as_deref().unwrap()),
        ])
        .await;
    assert_eq!(r.0, StatusCode::OK, "TOK-08");
    let r = c
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &post.client_id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_error(&r, &["invalid_client"], "TOK-08 wrong secret");

    let resp = c.s.http.get(&c.s.ep.token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "TOK-11");
    let resp =
        c.s.http
            .post(&c.s.ep.token)
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn refresh_01_to_10_rotation_reuse_binding_and_scope() {
    let c = Ctx {
        s: logged_in_with_scope(Config::default(), Some("mcp:read")).await,
    };
    let rt1 = c.s.refresh_token().to_string();
    let r2 = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", c.cid()),
        ])
        .await;
    assert_eq!(r2.0, StatusCode::OK);
    assert_eq!(r2.1["cache-control"], "no-store", "REFRESH-09");
    let rt2 = r2.2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2, "REFRESH-01");
    assert_eq!(r2.2["scope"], "mcp:read", "REFRESH-06");
    let other = register_public(&c.s.http, &c.s.ep).await;
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", &other.client_id),
        ])
        .await,
        &["invalid_grant"],
        "REFRESH-04",
    );
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", c.cid()),
            ("scope", "mcp:read mcp:write"),
        ])
        .await,
        &["invalid_scope"],
        "REFRESH-05",
    );
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", c.cid()),
            ("resource", &c.s.server.urls.mcp_alt),
        ])
        .await,
        &["invalid_target"],
        "REFRESH-07",
    );
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up"),
            ("client_id", c.cid()),
        ])
        .await,
        &["invalid_grant"],
        "REFRESH-10",
    );
    let access2 = r2.2["access_token"].as_str().unwrap().to_string();
    assert_eq!(c.mcp_status(&access2).await, StatusCode::OK);
    // REFRESH-02 / REFRESH-03: reuse of the replaced token kills the whole grant.
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", c.cid()),
        ])
        .await,
        &["invalid_grant"],
        "REFRESH-02",
    );
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", c.cid()),
        ])
        .await,
        &["invalid_grant"],
        "REFRESH-03",
    );
    assert_eq!(c.mcp_status(&access2).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn res_06_resource_must_match_the_authorization() {
    let c = ctx().await;
    let code = c.code().await;
    let r = exchange(
        &c.s.http,
        &c.s.ep,
        &c.s.client,
        &code,
        &c.s.server.urls.mcp_alt,
    )
    .await;
    assert_error(&r, &["invalid_target"], "RES-06");
    let r = exchange(&c.s.http, &c.s.ep, &c.s.client, &code, "mcp.example.com").await;
    assert_error(&r, &["invalid_target"], "RES-03");
}

#[tokio::test]
async fn rfc7009_revocation_kills_the_grant() {
    let c = ctx().await;
    let resp =
        c.s.http
            .post(&c.s.ep.revoke)
            .form(&[("token", c.s.refresh_token()), ("client_id", c.cid())])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        c.mcp_status(c.s.access_token()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_error(
        &c.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", c.s.refresh_token()),
            ("client_id", c.cid()),
        ])
        .await,
        &["invalid_grant"],
        "revoked",
    );
}
