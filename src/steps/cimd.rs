//! Client ID metadata document steps: the harness serves its own documents (valid, or broken
//! on purpose) on a loopback port and uses their URLs as client IDs (CIMD-*).

use std::str::FromStr;

use cucumber::{given, then, when};
use serde_json::{Value, json};
use url::Url;

use super::flow::{AuthorizationRequest, obtain_code_for, redeem_as, send_authorization};
use super::{World, need};
use crate::checks::cimd as check;
use crate::client::cimd::{DocumentServer, MetadataDocument, Served, public_jwks};
use crate::client::params::Param;
use crate::client::registration::RegisteredClient;
use crate::verdict::{Fault, Outcome};

/// The scenario's document server, once the background started it.
#[derive(Debug, Default)]
pub struct Documents {
    scenario: Option<CimdScenario>,
}

/// The path of the scenario's main document.
const DOC: &str = "/client.json";

/// One scenario's document server and the client_id its authorization request used.
#[derive(Debug)]
pub struct CimdScenario {
    pub server: DocumentServer,
    pub client_id: String,
    /// The path the AS has to fetch for `client_id`.
    pub path: String,
}

impl CimdScenario {
    fn client(&self, redirect_uri: &Url) -> RegisteredClient {
        client_for(&self.client_id, redirect_uri)
    }
}

/// A metadata document client: its URL is its client_id; it is public (no secret).
fn client_for(client_id: &str, redirect_uri: &Url) -> RegisteredClient {
    RegisteredClient {
        client_id: client_id.to_string(),
        client_secret: None,
        redirect_uri: redirect_uri.clone(),
        token_endpoint_auth_method: "none".into(),
        application_type: None,
    }
}

fn scenario(w: &World) -> Outcome<&CimdScenario> {
    need(
        w.cimd.scenario.as_ref(),
        "a client ID metadata document server",
    )
}

/// Whether `u`'s host is a loopback name or address.
fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[given("the authorization server accepts client ID metadata documents the harness serves")]
async fn accepts_documents(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let (_, metadata) = &d.as_metadata;
        if metadata
            .members
            .get("client_id_metadata_document_supported")
            .and_then(Value::as_bool)
            != Some(true)
        {
            return Err(Fault::Skip(
                "the AS metadata does not advertise client_id_metadata_document_supported: true".into(),
            ));
        }
        if !is_loopback(&d.endpoints.authorization) {
            return Err(Fault::Skip(format!(
                "the harness serves its client ID metadata documents on 127.0.0.1, which the AS at {} cannot reach (run the harness where the AS can fetch from it)",
                d.endpoints.authorization
            )));
        }
        let server = w
            .ctx
            .document_host()
            .await
            .map_err(|e| Fault::Harness(format!("cannot start the metadata document server: {e}")))?
            .scenario();
        // The control: a valid document of its own must be accepted. Otherwise the refusals the
        // scenarios expect would prove nothing (an AS that fetches no loopback http URL, for
        // instance, refuses every document whatever it says).
        let control_id = server.url(CONTROL_DOC);
        server.serve(
            &server.path(CONTROL_DOC),
            Served::document(MetadataDocument::public_client(
                &control_id,
                &w.ctx.redirect_uri,
            )),
        );
        w.cimd.scenario = Some(CimdScenario {
            client_id: server.url(DOC),
            path: server.path(DOC),
            server,
        });
        let scope = w.flow_scope().await?;
        let req = AuthorizationRequest::new(
            client_for(&control_id, &w.ctx.redirect_uri),
            Some(w.ctx.target.to_string()),
            scope,
        );
        let control = send_authorization(w, req, |p| p).await?;
        if control.code().is_none() {
            return Err(Fault::Skip(format!(
                "the AS did not accept a valid client ID metadata document the harness serves on loopback ({}); the CIMD scenarios need that to show a refusal is about the document",
                control.describe()
            )));
        }
        w.flow.take_outcome();
        Ok(())
    })
    .await
}

/// The path of the control document every CIMD scenario starts with.
const CONTROL_DOC: &str = "/control-client.json";

/// Sends the authorization request of the scenario's client_id, stopping at `stop_at` (the
/// listed redirect URI when empty). The outcome is kept in the world.
async fn authorize(w: &mut World, stop_at: Vec<Url>, redirect_uri: Option<Url>) -> Outcome {
    let client = scenario(w)?.client(&w.ctx.redirect_uri);
    let scope = w.flow_scope().await?;
    let mut req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
    if !stop_at.is_empty() {
        req.stop_at = stop_at;
    }
    send_authorization(w, req, |p| match redirect_uri {
        Some(r) => p.tamper(Param::RedirectUri, r.as_str()),
        None => p,
    })
    .await?;
    Ok(())
}

/// Serves `what` at the scenario's document path.
fn serve(w: &World, what: Served) -> Outcome {
    let s = scenario(w)?;
    s.server.serve(&s.path, what);
    Ok(())
}

/// The valid document of the scenario's client_id.
fn valid_document(w: &World) -> Outcome<MetadataDocument> {
    Ok(MetadataDocument::public_client(
        &scenario(w)?.client_id,
        &w.ctx.redirect_uri,
    ))
}

#[when("the client requests authorization with the URL of a valid metadata document as client_id")]
async fn with_valid_document(w: &mut World) -> Outcome {
    w.step(async |w| {
        serve(w, Served::document(valid_document(w)?))?;
        authorize(w, Vec::new(), None).await
    })
    .await
}

#[then("the AS fetched the metadata document (CIMD-01)")]
async fn fetched(w: &mut World) -> Outcome {
    w.step(async |w| {
        let s = scenario(w)?;
        let f = check::cimd_01_document_fetched(s.server.fetches(&s.path).len(), &s.client_id);
        w.expect(f)
    })
    .await
}

/// How a document's `client_id` differs from the URL it is served at (CIMD-02).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIdVariant {
    TrailingSlash,
    PathCase,
    LocalhostForIp,
}

impl FromStr for ClientIdVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "a trailing slash" => ClientIdVariant::TrailingSlash,
            "a changed path case" => ClientIdVariant::PathCase,
            "localhost for the IP literal" => ClientIdVariant::LocalhostForIp,
            other => return Err(format!("unknown client_id change: {other}")),
        })
    }
}

impl ClientIdVariant {
    /// `url` changed this way, as a string (a URL parser would normalise some of it away).
    pub fn apply(self, url: &str) -> Result<String, String> {
        let changed = match self {
            ClientIdVariant::TrailingSlash => format!("{url}/"),
            ClientIdVariant::PathCase => {
                let start = url.find("://").map_or(0, |i| i + 3);
                let path = url[start..].find('/').map_or(url.len(), |i| start + i);
                let i = url[path..]
                    .find(|c: char| c.is_ascii_lowercase())
                    .map(|i| path + i)
                    .ok_or_else(|| format!("the path of {url} has no lowercase letter"))?;
                let mut s = url.to_string();
                s.replace_range(i..=i, &url[i..=i].to_ascii_uppercase());
                s
            }
            ClientIdVariant::LocalhostForIp => url.replacen("://127.0.0.1", "://localhost", 1),
        };
        if changed == url {
            return Err(format!("the change leaves {url} as it was"));
        }
        Ok(changed)
    }
}

#[when(
    regex = r"^the client requests authorization with a metadata document whose client_id has (.+)$"
)]
async fn with_mismatched_client_id(w: &mut World, variant: String) -> Outcome {
    w.step(async |w| {
        let variant = ClientIdVariant::from_str(&variant).map_err(Fault::Harness)?;
        let other = variant
            .apply(&scenario(w)?.client_id)
            .map_err(Fault::Skip)?;
        let doc = valid_document(w)?.tamper("client_id", json!(other));
        serve(w, Served::document(doc))?;
        authorize(w, Vec::new(), None).await
    })
    .await
}

#[then(regex = r"^the authorization is refused without a redirect$")]
async fn refused_without_redirect(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let id = w.judged("the document refusal", &[check::JUDGED_BY_DOCUMENT_REFUSAL])?;
        let f = check::document_refused(id, outcome);
        w.expect(f)
    })
    .await
}

/// A redirect URI the document does not list: the listed one with one more path segment.
fn unlisted_redirect_uri(listed: &Url) -> Url {
    let mut u = listed.clone();
    if let Ok(mut s) = u.path_segments_mut() {
        s.pop_if_empty().push("unlisted");
    }
    u
}

#[when("the client requests authorization with a redirect_uri its metadata document does not list")]
async fn with_unlisted_redirect(w: &mut World) -> Outcome {
    w.step(async |w| {
        serve(w, Served::document(valid_document(w)?))?;
        let listed = w.ctx.redirect_uri.clone();
        let unlisted = unlisted_redirect_uri(&listed);
        authorize(w, vec![unlisted.clone(), listed], Some(unlisted)).await
    })
    .await
}

#[then("the authorization is not redirected to the unlisted redirect_uri (CIMD-03)")]
async fn unlisted_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let unlisted = unlisted_redirect_uri(&w.ctx.redirect_uri);
        let outcome = w.flow.outcome()?;
        let f = check::cimd_03_unlisted_refused(outcome, &unlisted);
        w.expect(f)
    })
    .await
}

/// What the document URL answers instead of a valid document (CIMD-04, 05, 08, 10, 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenDocument {
    TrailingText,
    JsonArray,
    RedirectUrisString,
    NoClientId,
    Status404,
    Status500,
    SecretBasedMethod,
    ClientSecret,
    RedirectToValid,
    TwoMegabytes,
}

impl FromStr for BrokenDocument {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "JSON followed by trailing text" => BrokenDocument::TrailingText,
            "a JSON array holding the document" => BrokenDocument::JsonArray,
            "redirect_uris as a single string" => BrokenDocument::RedirectUrisString,
            "no client_id" => BrokenDocument::NoClientId,
            "404" => BrokenDocument::Status404,
            "500" => BrokenDocument::Status500,
            "token_endpoint_auth_method client_secret_basic" => BrokenDocument::SecretBasedMethod,
            "client_secret and client_secret_expires_at" => BrokenDocument::ClientSecret,
            "a 302 redirect to a valid document" => BrokenDocument::RedirectToValid,
            "a valid document padded to 2 MB" => BrokenDocument::TwoMegabytes,
            other => return Err(format!("unknown broken document: {other}")),
        })
    }
}

/// Where [`BrokenDocument::RedirectToValid`] sends the AS.
const REDIRECT_TARGET: &str = "/elsewhere.json";

impl BrokenDocument {
    /// What to serve at the document URL, given the valid document (and the path the 302
    /// names, for [`BrokenDocument::RedirectToValid`]).
    fn served(self, valid: MetadataDocument, redirect_target: String) -> Served {
        let text = |d: &MetadataDocument| d.to_value().to_string();
        match self {
            BrokenDocument::TrailingText => {
                Served::raw("application/json", format!("{} trailing", text(&valid)))
            }
            BrokenDocument::JsonArray => {
                Served::raw("application/json", json!([valid.to_value()]).to_string())
            }
            BrokenDocument::RedirectUrisString => {
                let one = valid.members()["redirect_uris"][0].clone();
                Served::document(valid.tamper("redirect_uris", one))
            }
            BrokenDocument::NoClientId => Served::document(valid.omit("client_id")),
            BrokenDocument::Status404 => Served::status(404),
            BrokenDocument::Status500 => Served::status(500),
            BrokenDocument::SecretBasedMethod => Served::document(
                valid.tamper("token_endpoint_auth_method", json!("client_secret_basic")),
            ),
            BrokenDocument::ClientSecret => Served::document(
                valid
                    .tamper("client_secret", json!("harness-shared-secret"))
                    .tamper("client_secret_expires_at", json!(0)),
            ),
            BrokenDocument::RedirectToValid => Served::Redirect(redirect_target),
            BrokenDocument::TwoMegabytes => Served::raw("application/json", padded(&text(&valid))),
        }
    }
}

/// A document's JSON with a 2 MB member first (`{"x_padding":"aaa…",…}`), written once as
/// text: built as a document, it was copied and escaped again at every fetch.
fn padded(document: &str) -> String {
    const PADDING: usize = 2_000_000;
    let members = document.strip_prefix('{').unwrap_or(document);
    let mut out = String::with_capacity(PADDING + document.len() + 16);
    out.push_str("{\"x_padding\":\"");
    out.extend(std::iter::repeat_n('a', PADDING));
    out.push_str(if members.trim_start().starts_with('}') {
        "\""
    } else {
        "\","
    });
    out.push_str(members);
    out
}

#[when(regex = r"^the client requests authorization with a metadata document that is (.+)$")]
async fn with_broken_document(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let case = BrokenDocument::from_str(&case).map_err(Fault::Harness)?;
        let valid = valid_document(w)?;
        if case == BrokenDocument::RedirectToValid {
            // The target names the document URL, so following the redirect would work.
            let server = &scenario(w)?.server;
            server.serve(
                &server.path(REDIRECT_TARGET),
                Served::document(valid.clone()),
            );
        }
        let redirect_target = scenario(w)?.server.path(REDIRECT_TARGET);
        serve(w, case.served(valid, redirect_target))?;
        authorize(w, Vec::new(), None).await
    })
    .await
}

/// How a client_id URL breaks the rules of CIMD §3 (CIMD-07).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenUrl {
    NoPath,
    Userinfo,
    DotSegment,
    Fragment,
}

impl FromStr for BrokenUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "no path" => BrokenUrl::NoPath,
            "userinfo" => BrokenUrl::Userinfo,
            "a dot segment" => BrokenUrl::DotSegment,
            "a fragment" => BrokenUrl::Fragment,
            other => return Err(format!("unknown client_id URL defect: {other}")),
        })
    }
}

impl BrokenUrl {
    /// The client_id on the scenario's documents `server`, and the whole path an AS that used
    /// it anyway would fetch (without a path: the origin's root).
    pub fn client_id(self, server: &DocumentServer) -> (String, String) {
        let origin = server.origin();
        let (scheme, authority) = origin.split_once("://").unwrap_or(("http", origin));
        let path = server.path(DOC);
        match self {
            BrokenUrl::NoPath => (origin.to_string(), "/".into()),
            BrokenUrl::Userinfo => (format!("{scheme}://harness@{authority}{path}"), path),
            BrokenUrl::DotSegment => {
                let dotted = server.path(&format!("/a/..{DOC}"));
                (format!("{origin}{dotted}"), path)
            }
            BrokenUrl::Fragment => (format!("{}#x", server.url(DOC)), path),
        }
    }
}

#[when(regex = r"^the client requests authorization with a client_id URL that has (.+)$")]
async fn with_broken_url(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let case = BrokenUrl::from_str(&case).map_err(Fault::Harness)?;
        let s = w
            .cimd
            .scenario
            .as_mut()
            .ok_or_else(|| Fault::Harness("step order: no document server".into()))?;
        let (client_id, path) = case.client_id(&s.server);
        s.client_id = client_id;
        s.path = path;
        // The document names the broken URL, so only the URL rules can refuse it.
        serve(w, Served::document(valid_document(w)?))?;
        authorize(w, Vec::new(), None).await
    })
    .await
}

#[when("the client requests authorization while the metadata document URL answers 500")]
async fn while_failing(w: &mut World) -> Outcome {
    w.step(async |w| {
        serve(w, Served::status(500))?;
        authorize(w, Vec::new(), None).await
    })
    .await
}

#[when("the metadata document is fixed and the client requests authorization again")]
async fn again_when_fixed(w: &mut World) -> Outcome {
    w.step(async |w| {
        serve(w, Served::document(valid_document(w)?))?;
        authorize(w, Vec::new(), None).await
    })
    .await
}

#[then("the fixed document is fetched again and a code is issued (CIMD-06)")]
async fn fetched_again(w: &mut World) -> Outcome {
    w.step(async |w| {
        let s = scenario(w)?;
        let fetches = s.server.fetches(&s.path).len();
        let outcome = w.flow.outcome()?;
        let f = check::cimd_06_fetched_again(outcome, fetches);
        w.expect(f)
    })
    .await
}

/// A code for the scenario's client: the S256 happy path (a failure is PKCE-02's).
async fn obtain_code(w: &mut World) -> Outcome {
    let client = scenario(w)?.client(&w.ctx.redirect_uri);
    let scope = w.flow_scope().await?;
    let mut req = AuthorizationRequest::new(client, Some(w.ctx.target.to_string()), scope);
    req.issuance = check::cimd_01_code_issued;
    obtain_code_for(w, req).await
}

#[when("the client obtains an authorization code as a metadata document client")]
async fn code_as_document_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        serve(w, Served::document(valid_document(w)?))?;
        obtain_code(w).await
    })
    .await
}

#[when("the client obtains an authorization code as a private_key_jwt metadata document client")]
async fn code_as_confidential_client(w: &mut World) -> Outcome {
    w.step(async |w| {
        let s = scenario(w)?;
        let jwks = public_jwks().map_err(Fault::Harness)?;
        s.server.serve(
            &s.server.path("/jwks.json"),
            Served::raw("application/json", jwks.to_string()),
        );
        let doc = valid_document(w)?
            .tamper("token_endpoint_auth_method", json!("private_key_jwt"))
            .tamper("jwks_uri", json!(s.server.url("/jwks.json")));
        serve(w, Served::document(doc))?;
        authorize(w, Vec::new(), None).await?;
        let outcome = w.flow.outcome()?;
        // CIMD §4.1 lets an AS accept public clients only: then there is nothing to test.
        let Some(code) = outcome.code() else {
            return Err(Fault::Skip(format!(
                "the AS did not accept a document declaring private_key_jwt ({}); it may accept public clients only",
                outcome.describe()
            )));
        };
        w.flow.use_code(code);
        Ok(())
    })
    .await
}

#[when("the client redeems the code without client authentication")]
async fn redeem_unauthenticated(w: &mut World) -> Outcome {
    w.step(async |w| {
        let client = scenario(w)?.client(&w.ctx.redirect_uri);
        redeem_as(w, &client).await.map(drop)
    })
    .await
}

#[when("another metadata document client redeems the code")]
async fn redeem_as_other(w: &mut World) -> Outcome {
    w.step(async |w| {
        let s = scenario(w)?;
        let other_id = s.server.url("/other-client.json");
        let doc = MetadataDocument::public_client(&other_id, &w.ctx.redirect_uri);
        s.server
            .serve(&s.server.path("/other-client.json"), Served::document(doc));
        let other = client_for(&other_id, &w.ctx.redirect_uri);
        redeem_as(w, &other).await.map(drop)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "http://127.0.0.1:4000/client.json";

    #[test]
    fn client_id_variants_differ_from_the_url() {
        let cases = [
            ("a trailing slash", "http://127.0.0.1:4000/client.json/"),
            ("a changed path case", "http://127.0.0.1:4000/Client.json"),
            (
                "localhost for the IP literal",
                "http://localhost:4000/client.json",
            ),
        ];
        for (name, expected) in cases {
            let v = ClientIdVariant::from_str(name).expect(name);
            assert_eq!(v.apply(U).expect(name), expected);
        }
        assert!(ClientIdVariant::PathCase.apply("http://h/").is_err());
        assert!(ClientIdVariant::from_str("a new port").is_err());
    }

    #[tokio::test]
    async fn broken_urls_and_the_paths_they_lead_to() {
        let host = std::sync::Arc::new(
            crate::client::cimd::DocumentHost::start()
                .await
                .expect("starts"),
        );
        let server = host.scenario();
        let o = server.origin().to_string();
        let (scheme_less, doc) = (o.trim_start_matches("http://"), server.path(DOC));
        assert_eq!(doc, "/c1/client.json");
        assert_eq!(
            BrokenUrl::NoPath.client_id(&server),
            (o.clone(), "/".into())
        );
        assert_eq!(
            BrokenUrl::Userinfo.client_id(&server),
            (format!("http://harness@{scheme_less}{doc}"), doc.clone())
        );
        assert_eq!(
            BrokenUrl::DotSegment.client_id(&server).0,
            format!("{o}/c1/a/../client.json")
        );
        assert_eq!(
            BrokenUrl::Fragment.client_id(&server),
            (format!("{o}{doc}#x"), doc.clone())
        );
        // The URL the AS would fetch for the dot-segment form is the document's path.
        let fetched = Url::parse(&BrokenUrl::DotSegment.client_id(&server).0).expect("url");
        assert_eq!(fetched.path(), doc);
    }

    #[test]
    fn broken_documents_are_broken_in_the_named_way() {
        let r = Url::parse("http://127.0.0.1:33418/callback").expect("url");
        let valid = MetadataDocument::public_client(U, &r);
        match BrokenDocument::TrailingText.served(valid.clone(), REDIRECT_TARGET.into()) {
            Served::Raw { body, .. } => {
                assert!(serde_json::from_slice::<Value>(&body).is_err());
            }
            other => panic!("{other:?}"),
        }
        match BrokenDocument::RedirectUrisString.served(valid.clone(), REDIRECT_TARGET.into()) {
            Served::Document { document, .. } => {
                assert_eq!(document.members()["redirect_uris"], json!(r.as_str()));
            }
            other => panic!("{other:?}"),
        }
        match BrokenDocument::TwoMegabytes.served(valid.clone(), REDIRECT_TARGET.into()) {
            Served::Raw { body, .. } => {
                assert!(body.len() > 2_000_000);
                let doc: Value =
                    serde_json::from_slice(&body).expect("the padded document is JSON");
                assert_eq!(doc["client_id"], valid.members()["client_id"]);
                assert_eq!(doc["x_padding"].as_str().map(str::len), Some(2_000_000));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            serde_json::from_str::<Value>(&padded("{}"))
                .ok()
                .map(|d| d.as_object().map(|o| o.len())),
            Some(Some(1))
        );
        assert!(BrokenDocument::from_str("HTML").is_err());
        assert_eq!(
            unlisted_redirect_uri(&r).as_str(),
            "http://127.0.0.1:33418/callback/unlisted"
        );
    }
}
