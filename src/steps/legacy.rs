//! Steps for the rules of MCP 2025-03-26 alone: the authorization base URL, its metadata and
//! its default endpoints, a route to a client ID, and token lifetimes (LEG-*).

use cucumber::{given, then, when};
use url::Url;

use super::{World, need};
use crate::checks::legacy as check;
use crate::client::http::{Request, Response};
use crate::client::oauth;
use crate::client::params::{Param, Params};
use crate::client::registration::Registration;
use crate::verdict::{Fault, Outcome};

/// What the 2025-03-26 probes found.
#[derive(Debug, Default)]
pub struct Probes {
    /// The answer at the authorization base URL's metadata location (LEG-01).
    metadata: Option<Response>,
    /// URLs probed, with their answers (LEG-01, LEG-02).
    probes: Vec<(Url, Response)>,
    /// The default /register's answer (LEG-04).
    registration: Option<Response>,
}

const WK_AS: &str = "/.well-known/oauth-authorization-server";

/// The authorization base URL: the MCP server URL with its path discarded (MCP 2025-03-26
/// "Authorization Base URL").
pub fn base_url(mcp: &Url) -> Url {
    let mut u = mcp.clone();
    u.set_path("/");
    u.set_query(None);
    u.set_fragment(None);
    u
}

/// `path` (starting with `/`) at the authorization base URL.
fn at_base(mcp: &Url, path: &str) -> Outcome<Url> {
    base_url(mcp)
        .join(path)
        .map_err(|e| Fault::Harness(format!("cannot build {path}: {e}")))
}

/// A GET with the discovery header 2025-03-26 clients SHOULD send.
async fn get_metadata(w: &World, url: &Url) -> Outcome<Response> {
    let req = Request::get(url.clone())
        .header("accept", "application/json")
        .header("mcp-protocol-version", "2025-03-26");
    Ok(w.http.send(req).await?)
}

/// Where a server that put its metadata in the wrong place would most likely have put it: the
/// RFC 8414 path-inserted URL of the MCP URL taken as an issuer, and the suffix appended to it.
fn misplaced_candidates(mcp: &Url) -> Outcome<Vec<Url>> {
    let path = mcp.path().trim_end_matches('/');
    if path.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![
        at_base(mcp, &format!("{WK_AS}{path}"))?,
        at_base(mcp, &format!("{path}{WK_AS}"))?,
    ])
}

#[when("the client fetches AS metadata from the authorization base URL")]
async fn fetch_base_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let root = at_base(&w.ctx.target, WK_AS)?;
        let resp = get_metadata(w, &root).await?;
        if resp.status.as_u16() == 404 {
            for u in misplaced_candidates(&w.ctx.target)? {
                let r = get_metadata(w, &u).await?;
                w.legacy.probes.push((u, r));
            }
        }
        w.legacy.metadata = Some(resp);
        Ok(())
    })
    .await
}

#[then("the metadata is served there, or the server has none anywhere (LEG-01)")]
async fn metadata_location(w: &mut World) -> Outcome {
    w.step(async |w| {
        let root = at_base(&w.ctx.target, WK_AS)?;
        let f = check::leg_01_metadata_location(
            need(w.legacy.metadata.as_ref(), "the metadata response")?,
            &root,
            &w.legacy.probes,
        );
        w.expect(f)
    })
    .await
}

#[given("the server publishes no metadata at the authorization base URL")]
async fn no_base_metadata(w: &mut World) -> Outcome {
    w.step(async |w| {
        let root = at_base(&w.ctx.target, WK_AS)?;
        let resp = get_metadata(w, &root).await?;
        if resp.status.as_u16() != 404 {
            return Err(Fault::Skip(format!(
                "{root} answered {} rather than 404: the default endpoints are required only of a server without metadata",
                resp.status.as_u16()
            )));
        }
        Ok(())
    })
    .await
}

#[when("the client probes the default /authorize and /token endpoints")]
async fn probe_defaults(w: &mut World) -> Outcome {
    w.step(async |w| {
        // Deliberately incomplete requests: only whether an endpoint answers matters here.
        let probe = Params::new()
            .set(Param::ResponseType, "code")
            .set(Param::ClientId, "harness-probe");
        let authorize = oauth::authorization_url(&at_base(&w.ctx.target, "/authorize")?, &probe);
        let a = w.http.send(Request::get(authorize)).await?;
        let redemption = Params::new()
            .set(Param::GrantType, "authorization_code")
            .set(Param::Code, "harness-bogus-code");
        let t = oauth::post_form_without_client_auth(
            &w.http,
            &at_base(&w.ctx.target, "/token")?,
            &redemption,
        )
        .await?;
        w.legacy.probes = vec![
            (at_base(&w.ctx.target, "/authorize")?, a),
            (at_base(&w.ctx.target, "/token")?, t),
        ];
        Ok(())
    })
    .await
}

#[then("both default endpoints answer (LEG-02)")]
async fn defaults_answer(w: &mut World) -> Outcome {
    w.step(async |w| {
        let [(_, a), (_, t)] = w.legacy.probes.as_slice() else {
            return Err(Fault::Harness(
                "step order: the default endpoints were not probed".into(),
            ));
        };
        let f = check::leg_02_default_endpoints(a, t);
        w.expect(f)
    })
    .await
}

#[when("the client looks for a way to obtain a client ID")]
async fn look_for_registration(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        if d.endpoints.registration.is_some() {
            return Ok(());
        }
        let register = at_base(&w.ctx.target, "/register")?;
        let resp = Registration::public_client(&w.ctx.redirect_uri)
            .send(&w.http, &register)
            .await?;
        w.legacy.registration = Some(resp);
        Ok(())
    })
    .await
}

#[then("a registration endpoint is advertised, or the default /register registers (LEG-04)")]
async fn registration_offered(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let f = check::leg_04_registration_offered(
            d.endpoints.registration.is_some(),
            w.legacy.registration.as_ref(),
        );
        w.expect(f)
    })
    .await
}

#[then(
    "every token response limits the token's lifetime and the refresh rotated the refresh token (LEG-07)"
)]
async fn limited_and_rotated(w: &mut World) -> Outcome {
    w.step(async |w| {
        let issued = need(
            w.flow.token_responses().first(),
            "the code redemption's response",
        )?;
        let old = w.refresh.replaced()?;
        let f =
            check::leg_07_limited_and_rotated(issued, old.expose(), w.flow.last_token_response()?);
        w.expect(f)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_discards_the_path() {
        let mcp = Url::parse("https://api.example.com/v1/mcp?x=1").expect("url");
        assert_eq!(base_url(&mcp).as_str(), "https://api.example.com/");
        let wk = at_base(&mcp, WK_AS).expect("url");
        assert_eq!(
            wk.as_str(),
            "https://api.example.com/.well-known/oauth-authorization-server"
        );
        let other: Vec<String> = misplaced_candidates(&mcp)
            .expect("urls")
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            other,
            [
                "https://api.example.com/.well-known/oauth-authorization-server/v1/mcp",
                "https://api.example.com/v1/mcp/.well-known/oauth-authorization-server",
            ]
        );
    }
}
