//! Authorization endpoint steps: requests valid and tampered, and the endpoint's answers
//! (AUTHZ-*), including the requests and the refusal other areas' scenarios share. Redirect
//! URI matching is in [`redirect`].

mod redirect;

use cucumber::{then, when};
use serde_json::Value;
use url::Url;

use super::flow::{
    AuthorizationRequest, authorization_url_for, request_tampered, send_authorization,
};
use super::{OAuthErrorCode, World, need};
use crate::checks::authorization::{self as check, response};
use crate::client::http::Response;
use crate::client::login::AuthorizationOutcome;
use crate::client::oauth;
use crate::client::params::Param;
use crate::client::pkce::PkceVerifier;
use crate::client::registration::RegisteredClient;
use crate::verdict::{Fault, Outcome};

/// What the authorization scenarios keep beside the flow: a client of their own, answers of
/// the endpoint itself, and what a tampered request sent.
#[derive(Debug, Default)]
pub struct Probes {
    /// A client registered for one scenario: on another loopback host (AUTHZ-03), or with two
    /// redirect URIs (AUTHZ-04).
    client: Option<RegisteredClient>,
    /// An earlier authorization outcome to compare the last one with (AUTHZ-08).
    compared: Option<AuthorizationOutcome>,
    /// Direct answers of the authorization endpoint, each with what was sent.
    endpoint_responses: Vec<(String, Response)>,
    /// The redirect URI a tampered request used (AUTHZ-03).
    requested_redirect_uri: Option<Url>,
}

#[when("the client requests authorization with code_challenge and code_challenge_method omitted")]
async fn without_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        request_tampered(w, |p| {
            p.omit(Param::CodeChallenge)
                .omit(Param::CodeChallengeMethod)
        })
        .await
    })
    .await
}

#[when(expr = "the client requests authorization with code_challenge_method set to {string}")]
async fn with_method(w: &mut World, method: String) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.tamper(Param::CodeChallengeMethod, method)).await)
        .await
}

#[then(expr = "the authorization is refused with \"{oauth_error}\" and no code")]
async fn authorization_refused(w: &mut World, error: OAuthErrorCode) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let id = w.judged(
            "the authorization refusal",
            check::AUTHORIZATION_REFUSAL_JUDGES,
        )?;
        let f = check::refused_with(id, outcome, error.as_str());
        w.expect(f)
    })
    .await
}

/// A legal `state` (`1*VSCHAR`, OAuth 2.1 Appendix A.5) of 64 characters, built to expose
/// any decoding or encoding slip: `%`, `+` (a space once decoded too often), `~`, a space, the
/// query delimiters, already-encoded triplets, then random characters so it stays unique.
fn url_sensitive_state() -> String {
    const SENSITIVE: &str = "%+~ &=#?/%2B%20%25;:@!$,*()";
    let random = format!("{}{}", oauth::random_state(), oauth::random_state());
    let mut state = SENSITIVE.to_string();
    state.extend(random.chars().take(64 - SENSITIVE.len()));
    state
}

#[when("the client requests authorization with a 64-character state containing %, + and ~")]
async fn with_sensitive_state(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.state = url_sensitive_state();
        send_authorization(w, req, |p| p).await?;
        Ok(())
    })
    .await
}

#[when(
    regex = r#"^the client requests authorization with code_challenge_method set to "([^"]+)" and a 64-character state containing %, \+ and ~$"#
)]
async fn with_method_and_sensitive_state(w: &mut World, method: String) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.state = url_sensitive_state();
        send_authorization(w, req, |p| p.tamper(Param::CodeChallengeMethod, method)).await?;
        Ok(())
    })
    .await
}

/// The authorization outcome, which must be an error redirect; anything else leaves the error
/// response unchecked, and the scenario is skipped with the reason.
fn error_redirect(w: &World) -> Outcome<&AuthorizationOutcome> {
    let outcome = w.flow.outcome()?;
    match outcome {
        AuthorizationOutcome::Redirect { .. } if outcome.error().is_some() => Ok(outcome),
        AuthorizationOutcome::Redirect { .. } => Err(Fault::Skip(
            "the AS did not refuse the request (see PKCE-03), so there is no error response to check".into(),
        )),
        AuthorizationOutcome::Page { .. } => Err(Fault::Skip(format!(
            "the AS refused the request with a page, not an error redirect ({}), so there is no error response to check",
            outcome.describe()
        ))),
    }
}

#[then("the code comes back with the request's state, byte-exact (AUTHZ-11)")]
async fn code_with_state(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let state = w.flow.state()?;
        let f = response::authz_11_code_with_state(outcome, state);
        w.expect(f)
    })
    .await
}

#[then("the error comes back with the request's state, byte-exact (AUTHZ-11)")]
async fn error_with_state(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = error_redirect(w)?;
        let state = w.flow.state()?;
        let f = response::authz_11_state_echoed(outcome, state);
        w.expect(f)
    })
    .await
}

/// The metadata issuer, and whether the metadata advertises `iss` in authorization responses
/// (RFC 9207 §3: only a JSON `true` does; an absent member means false).
async fn issuer_and_iss_support(w: &World) -> Outcome<(String, bool)> {
    let d = w.ctx.discovered().await?;
    let (_, metadata) = &d.as_metadata;
    let advertised = metadata
        .members
        .get("authorization_response_iss_parameter_supported")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((d.endpoints.issuer.clone(), advertised))
}

// When the AS neither advertises iss nor sends it, both AUTHZ-14 scenarios pass: RFC 9207 is
// optional, and there is nothing to compare.
#[then(
    "the code comes back with iss equal to the metadata issuer, when iss is sent or advertised (AUTHZ-14)"
)]
async fn code_with_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (issuer, advertised) = issuer_and_iss_support(w).await?;
        let outcome = w.flow.outcome()?;
        let f = response::authz_14_iss(outcome, &issuer, advertised);
        w.expect(f)
    })
    .await
}

#[then(
    "the error comes back with iss equal to the metadata issuer, when iss is sent or advertised (AUTHZ-14)"
)]
async fn error_with_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (issuer, advertised) = issuer_and_iss_support(w).await?;
        let outcome = error_redirect(w)?;
        let f = response::authz_14_iss(outcome, &issuer, advertised);
        w.expect(f)
    })
    .await
}

// AUTHZ-01: GET.

#[when("the client sends a valid authorization request by GET")]
async fn valid_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        let (url, _) = authorization_url_for(w, &mut req, |p| p).await?;
        let resp = oauth::authorization_first_response(&w.http, &url).await?;
        w.authorization
            .endpoint_responses
            .push(("a valid GET".into(), resp));
        Ok(())
    })
    .await
}

#[then("the authorization endpoint answers with a page or a redirect (AUTHZ-01)")]
async fn answers_get(w: &mut World) -> Outcome {
    w.step(async |w| {
        let (_, resp) = need(
            w.authorization.endpoint_responses.last(),
            "a GET of the authorization endpoint",
        )?;
        let f = check::authz_01_get_supported(resp);
        w.expect(f)
    })
    .await
}

// AUTHZ-03: a loopback IP redirect URI on another port.

// AUTHZ-05, AUTHZ-06: response_type.

#[when("the client requests authorization with response_type omitted")]
async fn without_response_type(w: &mut World) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.omit(Param::ResponseType)).await)
        .await
}

#[when(expr = "the client requests authorization with response_type set to {string}")]
async fn with_response_type(w: &mut World, value: String) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.tamper(Param::ResponseType, value)).await)
        .await
}

#[then("the implicit grant is refused with \"unsupported_response_type\" and no token (AUTHZ-06)")]
async fn implicit_refused(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let f = check::authz_06_implicit_refused(outcome);
        w.expect(f)
    })
    .await
}

// AUTHZ-07, AUTHZ-08, AUTHZ-09: parameter syntax.

/// The authorization parameters the syntax scenarios name.
fn named_param(name: &str) -> Outcome<Param> {
    match name {
        "state" => Ok(Param::State),
        "code_challenge" => Ok(Param::CodeChallenge),
        "scope" => Ok(Param::Scope),
        other => Err(Fault::Harness(format!(
            "no authorization parameter {other:?} in the steps"
        ))),
    }
}

#[when(regex = r"^the client requests authorization with (state|code_challenge) sent twice$")]
async fn sent_twice(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let param = named_param(&name)?;
        // A second value as valid as the first: only the repetition is wrong.
        let second = match param {
            Param::CodeChallenge => PkceVerifier::random().challenge().as_str().to_string(),
            _ => oauth::random_state(),
        };
        request_tampered(w, |p| p.add(param, second)).await
    })
    .await
}

#[when(
    regex = r"^the client requests authorization once with (scope|code_challenge) omitted and once with (?:scope|code_challenge) empty$"
)]
async fn omitted_then_empty(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let param = named_param(&name)?;
        request_tampered(w, |p| p.omit(param)).await?;
        w.authorization.compared = w.flow.take_outcome();
        request_tampered(w, |p| p.tamper(param, "")).await
    })
    .await
}

#[then(regex = r"^both requests end the same way for (scope|code_challenge) \(AUTHZ-08\)$")]
async fn same_way(w: &mut World, name: String) -> Outcome {
    w.step(async |w| {
        let omitted = need(w.authorization.compared.as_ref(), "the request without it")?;
        let empty = w.flow.outcome()?;
        let f = check::authz_08_same_outcome(&name, omitted, empty);
        w.expect(f)
    })
    .await
}

const UNKNOWN_PARAMETER: &str = "harness_x";

#[when("the client requests authorization with the unknown parameter harness_x=1 added")]
async fn with_unknown_parameter(w: &mut World) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.add(Param::Unknown(UNKNOWN_PARAMETER), "1")).await)
        .await
}

#[then("the code comes back, the unknown parameter ignored (AUTHZ-09)")]
async fn unknown_ignored(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        if let Some(fault) = w.flow.get_refused(outcome) {
            return Err(fault);
        }
        let f = check::authz_09_unknown_ignored(outcome, UNKNOWN_PARAMETER);
        w.expect(f)
    })
    .await
}

// AUTHZ-10: no CORS.

#[when(expr = "a script on {string} sends a valid authorization request and its CORS preflight")]
async fn cross_origin(w: &mut World, origin: String) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        let (url, _) = authorization_url_for(w, &mut req, |p| p).await?;
        for (what, preflight) in [("a cross-origin GET", false), ("the CORS preflight", true)] {
            let resp = oauth::cross_origin_request(&w.http, &url, &origin, preflight).await?;
            w.authorization.endpoint_responses.push((what.into(), resp));
        }
        Ok(())
    })
    .await
}

#[then("neither answer carries Access-Control-Allow-Origin (AUTHZ-10)")]
async fn no_cors(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = w
            .authorization
            .endpoint_responses
            .iter()
            .flat_map(|(what, resp)| check::authz_10_no_cors(what, resp))
            .collect();
        w.expect(f)
    })
    .await
}

// AUTHZ-12, AUTHZ-15, AUTHZ-16: the success response and the login.

#[then("the success response has one code, state and iss at most once, and no error (AUTHZ-12)")]
async fn success_shape(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let f = response::authz_12_success_shape(outcome);
        w.expect(f)
    })
    .await
}

#[then("the authorization response does not reveal the code challenge (AUTHZ-15)")]
async fn challenge_hidden(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let challenge = w.flow.verifier()?.challenge();
        let f = response::authz_15_challenge_hidden(outcome, challenge.as_str());
        w.expect(f)
    })
    .await
}

#[then("the request that carried the user's credentials was not answered with 307 (AUTHZ-16)")]
async fn no_307(w: &mut World) -> Outcome {
    w.step(async |w| {
        let f = response::authz_16_no_307_after_credentials(w.flow.login_steps()).ok_or_else(|| {
            Fault::Skip(if w.flow.login_steps().is_empty() {
                "the login driver cannot show the requests behind a login (only the form driver records them), so how the credential POST was answered cannot be checked".into()
            } else {
                "the login driver submitted no credentials (no login form was shown), so there was no credential POST to check".into()
            })
        })?;
        w.expect(f)
    })
    .await
}

// AUTHZ-18: the error response's syntax.

#[then("the error uses a defined code and allowed characters (AUTHZ-18)")]
async fn error_syntax(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = error_redirect(w)?;
        let f = response::authz_18_error_syntax(outcome);
        w.expect(f)
    })
    .await
}

// SCOPE-08: a scope the AS cannot know.

// AUTHZ-20: iss sent in every authorization response (2026-07-28).

#[then("the code comes back with iss (AUTHZ-20)")]
async fn code_carries_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let f = response::authz_20_iss_sent(outcome);
        w.expect(f)
    })
    .await
}

#[then("the error comes back with iss (AUTHZ-20)")]
async fn error_carries_iss(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = error_redirect(w)?;
        let f = response::authz_20_iss_sent(outcome);
        w.expect(f)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_sensitive_state_is_64_legal_characters() {
        let s = url_sensitive_state();
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| (0x20..=0x7e).contains(&b)), "1*VSCHAR");
        assert!(s.contains('%') && s.contains('+') && s.contains('~'));
        assert_ne!(s, url_sensitive_state(), "random after the fixed part");
    }
}
