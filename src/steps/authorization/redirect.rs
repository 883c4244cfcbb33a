//! Redirect URI matching at the authorization endpoint: exact matching (AUTHZ-02), another
//! port for a loopback IP (AUTHZ-03), and no redirect to a client or redirect URI that cannot
//! be trusted (AUTHZ-04).

use std::str::FromStr;

use cucumber::{given, then, when};
use serde_json::json;
use url::Url;

use super::super::flow::{
    AuthorizationRequest, obtain_code_for, request_tampered, send_authorization,
};
use super::super::{World, need};
use crate::checks::authorization as check;
use crate::client::oauth;
use crate::client::params::Param;
use crate::client::registration::{RegisteredClient, Registration};
use crate::verdict::{Fault, Outcome};

/// A visible change to the registered redirect URI (AUTHZ-02). Each keeps the port: a loopback
/// redirect URI may legitimately differ in port alone (AUTHZ-03).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectVariant {
    ExtraPathSegment,
    TrailingSlash,
    ExtraQuery,
    PathCase,
    /// `localhost` for a loopback IP literal, or `127.0.0.1` for `localhost`.
    LocalhostForIp,
    /// `https` for `http`, or `http` for `https`.
    OtherScheme,
    AnotherLoopbackHost,
}

impl FromStr for RedirectVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "an extra path segment" => RedirectVariant::ExtraPathSegment,
            "a trailing slash" => RedirectVariant::TrailingSlash,
            "an extra query parameter" => RedirectVariant::ExtraQuery,
            "a changed path case" => RedirectVariant::PathCase,
            "localhost for the IP literal" => RedirectVariant::LocalhostForIp,
            "https for http" => RedirectVariant::OtherScheme,
            "another loopback host" => RedirectVariant::AnotherLoopbackHost,
            other => return Err(format!("unknown redirect_uri change: {other}")),
        })
    }
}

impl RedirectVariant {
    /// `registered` changed this way; `Err` says why this URI has no such variant.
    pub fn apply(self, registered: &Url) -> Result<Url, String> {
        let mut u = registered.clone();
        match self {
            RedirectVariant::ExtraPathSegment => {
                u.path_segments_mut()
                    .map_err(|()| format!("{registered} has no path to extend"))?
                    .pop_if_empty()
                    .push("x");
            }
            RedirectVariant::TrailingSlash => {
                let path = format!("{}/", u.path());
                u.set_path(&path);
            }
            RedirectVariant::ExtraQuery => {
                u.query_pairs_mut().append_pair("a", "1");
            }
            RedirectVariant::PathCase => {
                let path = u.path().to_string();
                let i = path
                    .find(|c: char| c.is_ascii_alphabetic())
                    .ok_or_else(|| format!("the path of {registered} has no letter to change"))?;
                let mut changed = path.clone();
                changed.replace_range(i..=i, &swap_case(&path[i..=i]));
                u.set_path(&changed);
            }
            RedirectVariant::LocalhostForIp => {
                let host = match u.host_str() {
                    Some("127.0.0.1" | "[::1]") => "localhost",
                    Some("localhost") => "127.0.0.1",
                    _ => return Err(format!("{registered} is not a loopback redirect URI")),
                };
                u.set_host(Some(host)).map_err(|e| e.to_string())?;
            }
            RedirectVariant::OtherScheme => {
                let scheme = if u.scheme() == "http" {
                    "https"
                } else {
                    "http"
                };
                u.set_scheme(scheme)
                    .map_err(|()| format!("cannot change the scheme of {registered}"))?;
            }
            RedirectVariant::AnotherLoopbackHost => {
                let host = if u.host_str() == Some("127.0.0.2") {
                    "127.0.0.3"
                } else {
                    "127.0.0.2"
                };
                u.set_host(Some(host)).map_err(|e| e.to_string())?;
            }
        }
        // Keep the registered port even where the scheme's default would swallow it.
        if u.port_or_known_default() != registered.port_or_known_default() {
            u.set_port(registered.port_or_known_default())
                .map_err(|()| format!("cannot keep the port of {registered}"))?;
        }
        if u == *registered {
            return Err(format!("the change leaves {registered} as it was"));
        }
        Ok(u)
    }
}

fn swap_case(c: &str) -> String {
    if c.chars().all(|c| c.is_ascii_lowercase()) {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

#[when(regex = r"^the client requests authorization with redirect_uri changed by (.+)$")]
async fn with_redirect_variant(w: &mut World, variant: String) -> Outcome {
    w.step(async |w| {
        let variant = RedirectVariant::from_str(&variant).map_err(Fault::Harness)?;
        let registered = w.flow.client()?.redirect_uri.clone();
        let changed = variant.apply(&registered).map_err(Fault::Skip)?;
        let mut req = AuthorizationRequest::for_target(w).await?;
        // Stop at the variant and at the registered URI: neither is ever fetched.
        req.stop_at = vec![changed.clone(), registered];
        send_authorization(w, req, |p| p.tamper(Param::RedirectUri, changed.as_str())).await?;
        Ok(())
    })
    .await
}

#[then(
    regex = r"^the authorization is not redirected to the redirect_uri changed by (.+) \(AUTHZ-02\)$"
)]
async fn variant_refused(w: &mut World, variant: String) -> Outcome {
    w.step(async |w| {
        let variant = RedirectVariant::from_str(&variant).map_err(Fault::Harness)?;
        let changed = variant
            .apply(&w.flow.client()?.redirect_uri)
            .map_err(Fault::Harness)?;
        let outcome = w.flow.outcome()?;
        let f = check::authz_02_variant_refused(outcome, &changed);
        w.expect(f)
    })
    .await
}

#[when("the client requests authorization with client_id set to an unknown client")]
async fn with_unknown_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let unknown = format!("harness-unknown-client-{}", oauth::random_state());
        request_tampered(w, |p| p.tamper(Param::ClientId, unknown)).await
    })
    .await
}

#[when("the client requests authorization with client_id omitted")]
async fn without_client_id(w: &mut World) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.omit(Param::ClientId)).await)
        .await
}

/// The second redirect URI of the AUTHZ-04 client: the first with one more path segment.
fn second_redirect_uri(first: &Url) -> Url {
    let mut second = first.clone();
    if let Ok(mut segments) = second.path_segments_mut() {
        segments.pop_if_empty().push("second");
    }
    second
}

#[given("a client registered with two redirect URIs")]
async fn client_with_two_redirect_uris(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let Some(endpoint) = d.endpoints.registration.clone() else {
            return Err(Fault::Skip(
                "the AS metadata has no registration_endpoint: no client with two redirect URIs can be registered".into(),
            ));
        };
        let first = w.ctx.redirect_uri.clone();
        let second = second_redirect_uri(&first);
        let reg = Registration::public_client(&first)
            .tamper("redirect_uris", json!([first.as_str(), second.as_str()]));
        let resp = reg.send(&w.http, &endpoint).await?;
        // OAuth 2.1 §2.3.1: the AS MAY allow several redirect URIs, so a refusal is a skip.
        let client = RegisteredClient::from_response(&resp, &first).ok_or_else(|| {
            Fault::Skip(format!(
                "the AS did not register a client with two redirect URIs ({}); it may allow only one",
                crate::checks::describe(&resp)
            ))
        })?;
        w.authorization.client = Some(client);
        Ok(())
    })
    .await
}

/// The positive control of AUTHZ-04's missing redirect URI: the same client's request with
/// its redirect URI gets a code (PKCE-02 otherwise).
#[when("that client obtains an authorization code")]
async fn two_redirect_uris_code(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = need(
            w.authorization.client.clone(),
            "a client with two redirect URIs",
        )?;
        let scope = w.flow_scope().await?;
        let req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
        obtain_code_for(w, req).await
    })
    .await
}

#[when("that client requests authorization with redirect_uri omitted")]
async fn two_redirect_uris_without_redirect_uri(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = need(
            w.authorization.client.clone(),
            "a client with two redirect URIs",
        )?;
        let scope = w.flow_scope().await?;
        let mut req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
        // The AS might pick either registered URI: stop at both, fetch neither.
        req.stop_at = vec![
            req.client.redirect_uri.clone(),
            second_redirect_uri(&req.client.redirect_uri),
        ];
        send_authorization(w, req, |p| p.omit(Param::RedirectUri)).await?;
        Ok(())
    })
    .await
}

#[then("the authorization is not redirected to the client (AUTHZ-04)")]
async fn not_redirected(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let f = check::authz_04_not_redirected(outcome);
        w.expect(f)
    })
    .await
}

/// `uri` on `host`; `Err` when `uri` is not an http loopback URI, so has no such variant.
fn on_loopback_host(uri: &Url, host: &str) -> Result<Url, String> {
    let loopback = matches!(uri.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    if uri.scheme() != "http" || !loopback {
        return Err(format!(
            "the configured redirect URI {uri} is not an http loopback URI ([client] redirect_uri)"
        ));
    }
    let mut u = uri.clone();
    u.set_host(Some(host)).map_err(|e| e.to_string())?;
    Ok(u)
}

/// `uri` on the next port (the previous one at the top of the range).
fn on_another_port(uri: &Url) -> Result<Url, String> {
    let port = uri
        .port_or_known_default()
        .ok_or_else(|| format!("{uri} has no port"))?;
    let other = if port == u16::MAX { port - 1 } else { port + 1 };
    let mut u = uri.clone();
    u.set_port(Some(other))
        .map_err(|()| format!("cannot change the port of {uri}"))?;
    Ok(u)
}

#[given(regex = r"^a client registered with its redirect URI on (\S+)$")]
async fn client_on_loopback_host(w: &mut World, host: String) -> Outcome {
    w.step(async |w| {
        let uri = on_loopback_host(&w.ctx.redirect_uri, &host).map_err(Fault::Skip)?;
        if uri == w.ctx.redirect_uri {
            w.authorization.client = Some(w.leased_client().await?);
            return Ok(());
        }
        let d = w.ctx.discovered().await?;
        let Some(endpoint) = d.endpoints.registration.clone() else {
            return Err(Fault::Skip(format!(
                "the AS metadata has no registration_endpoint: no client with {uri} can be registered"
            )));
        };
        let resp = Registration::public_client(&uri)
            .send(&w.http, &endpoint)
            .await?;
        let client = RegisteredClient::from_response(&resp, &uri).ok_or_else(|| {
            Fault::Skip(format!(
                "the AS did not register the redirect URI {uri} ({}); see DCR-11",
                crate::checks::describe(&resp)
            ))
        })?;
        w.authorization.client = Some(client);
        Ok(())
    })
    .await
}

#[when("that client requests authorization with its redirect URI on another port")]
async fn on_other_port(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = need(
            w.authorization.client.clone(),
            "a client with a loopback redirect URI",
        )?;
        // The any-port rule is for native apps (RFC 8252 §7.3, OAuth 2.1 §8.4.2); a web
        // client's redirect URIs match exactly (OpenID Connect Registration §2).
        if client.is_web_client() {
            return Err(Fault::Skip(
                "the AS registered the client as a web client (application_type web): the any-port rule applies to native apps only (RFC 8252 §7.3)".into(),
            ));
        }
        let other = on_another_port(&client.redirect_uri).map_err(Fault::Harness)?;
        let scope = w.flow_scope().await?;
        let mut req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
        // Stop at both ports; neither is fetched.
        req.stop_at = vec![other.clone(), req.client.redirect_uri.clone()];
        send_authorization(w, req, |p| p.tamper(Param::RedirectUri, other.as_str())).await?;
        w.authorization.requested_redirect_uri = Some(other);
        Ok(())
    })
    .await
}

#[then("the code is delivered to the redirect URI on the other port (AUTHZ-03)")]
async fn delivered_to_other_port(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        if let Some(fault) = w.flow.get_refused(outcome) {
            return Err(fault);
        }
        let other = need(
            w.authorization.requested_redirect_uri.as_ref(),
            "the redirect URI sent",
        )?;
        let f = check::authz_03_port_accepted(outcome, other);
        w.expect(f)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_variants_of_the_default_redirect_uri() {
        let registered = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        let cases = [
            ("an extra path segment", "http://127.0.0.1:33418/callback/x"),
            ("a trailing slash", "http://127.0.0.1:33418/callback/"),
            (
                "an extra query parameter",
                "http://127.0.0.1:33418/callback?a=1",
            ),
            ("a changed path case", "http://127.0.0.1:33418/Callback"),
            (
                "localhost for the IP literal",
                "http://localhost:33418/callback",
            ),
            ("https for http", "https://127.0.0.1:33418/callback"),
            ("another loopback host", "http://127.0.0.2:33418/callback"),
        ];
        for (name, expected) in cases {
            let v = RedirectVariant::from_str(name).expect("a known variant");
            assert_eq!(v.apply(&registered).expect(name).as_str(), expected);
        }
        assert!(RedirectVariant::from_str("a new fragment").is_err());
    }

    #[test]
    fn redirect_variants_keep_the_port_and_say_when_they_cannot_apply() {
        let https = Url::parse("https://client.example/cb?x=1").expect("url");
        let http = RedirectVariant::OtherScheme.apply(&https).expect("http");
        assert_eq!(http.as_str(), "http://client.example:443/cb?x=1");
        let query = RedirectVariant::ExtraQuery.apply(&https).expect("query");
        assert_eq!(query.as_str(), "https://client.example/cb?x=1&a=1");
        assert!(RedirectVariant::LocalhostForIp.apply(&https).is_err());
        let root = Url::parse("http://127.0.0.1:1/").expect("url");
        assert!(RedirectVariant::PathCase.apply(&root).is_err());
    }

    #[test]
    fn the_second_redirect_uri_differs_from_the_first() {
        let first = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        assert_eq!(
            second_redirect_uri(&first).as_str(),
            "http://127.0.0.1:33418/callback/second"
        );
    }

    #[test]
    fn loopback_variants_of_the_redirect_uri() {
        let configured = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        assert_eq!(
            on_loopback_host(&configured, "[::1]")
                .expect("ipv6")
                .as_str(),
            "http://[::1]:33418/callback"
        );
        assert_eq!(
            on_another_port(&configured).expect("port").as_str(),
            "http://127.0.0.1:33419/callback"
        );
        let top = Url::parse("http://127.0.0.1:65535/cb").expect("url");
        assert_eq!(on_another_port(&top).expect("port").port(), Some(65534));
        let https = Url::parse("https://client.example/cb").expect("url");
        assert!(on_loopback_host(&https, "[::1]").is_err());
    }
}
