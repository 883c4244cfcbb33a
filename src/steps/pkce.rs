//! PKCE steps: challenges and verifiers left out or broken on purpose, at the authorization
//! and the token endpoint (PKCE-*).

use std::str::FromStr;

use cucumber::{given, then, when};

use super::World;
use super::flow::{
    AuthorizationRequest, obtain_code_for, redeem, request_tampered, send_authorization,
};
use crate::checks::pkce as check;
use crate::client::params::Param;
use crate::client::pkce::PkceVerifier;
use crate::verdict::{Fault, Outcome};

/// The verifier tamperings of PKCE-06, -08 and -09.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierCase {
    /// A well-formed verifier that is not the one the challenge was made from.
    DifferentValid,
    Chars42,
    Chars129,
    IllegalCharacter,
    TheChallenge,
}

impl FromStr for VerifierCase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "a different valid verifier" => VerifierCase::DifferentValid,
            "42 characters" => VerifierCase::Chars42,
            "129 characters" => VerifierCase::Chars129,
            "43 characters including \"!\"" => VerifierCase::IllegalCharacter,
            "the code_challenge" => VerifierCase::TheChallenge,
            other => return Err(format!("unknown code_verifier case: {other}")),
        })
    }
}

impl VerifierCase {
    fn value(self, real: &PkceVerifier) -> String {
        match self {
            VerifierCase::DifferentValid => PkceVerifier::random().secret().to_string(),
            VerifierCase::Chars42 => "a".repeat(42),
            VerifierCase::Chars129 => "a".repeat(129),
            VerifierCase::IllegalCharacter => format!("{}!", "a".repeat(42)),
            VerifierCase::TheChallenge => real.challenge().as_str().to_string(),
        }
    }
}

#[when(regex = r"^the client redeems the code with code_verifier set to (.+)$")]
async fn redeem_with_verifier(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let case = VerifierCase::from_str(&case).map_err(Fault::Harness)?;
        let value = case.value(w.flow.verifier()?);
        redeem(w, false, |p| p.tamper(Param::CodeVerifier, value))
            .await
            .map(drop)
    })
    .await
}

/// PKCE-08: the challenge is made from a verifier that breaks the RFC 7636 grammar, so that
/// only the grammar check can refuse its redemption (the S256 comparison would succeed).
#[when(regex = r"^the client obtains an authorization code for a code_verifier of (.+)$")]
async fn code_for_malformed_verifier(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let case = VerifierCase::from_str(&case).map_err(Fault::Harness)?;
        if matches!(
            case,
            VerifierCase::DifferentValid | VerifierCase::TheChallenge
        ) {
            return Err(Fault::Harness(format!(
                "{case:?} is not a malformed verifier (a feature file and the steps disagree)"
            )));
        }
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.verifier = Some(PkceVerifier::from_string(
            case.value(&PkceVerifier::random()),
        ));
        obtain_code_for(w, req).await
    })
    .await
}

#[when("the client redeems the code issued without a challenge with a code_verifier")]
async fn redeem_unchallenged_code(w: &mut World) -> Outcome {
    w.step(async |w| {
        let outcome = w.flow.outcome()?;
        let Some(code) = outcome.code() else {
            return Err(Fault::Skip(
                "the AS issued no code without a challenge (PKCE-01 holds), so there is no downgrade to try".into(),
            ));
        };
        w.flow.use_code(code);
        redeem(w, false, |p| p).await.map(drop)
    })
    .await
}

#[given("the authorization server does not advertise plain")]
async fn plain_not_advertised(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        if d.endpoints.code_challenge_methods.iter().any(|m| m == "plain") {
            return Err(Fault::Skip(
                "code_challenge_methods_supported lists plain: the AS may accept it (RFC 7636 §4.2)".into(),
            ));
        }
        Ok(())
    })
    .await
}

#[when("the client requests authorization with code_challenge_method omitted")]
async fn without_method(w: &mut World) -> Outcome {
    w.step(async |w| request_tampered(w, |p| p.omit(Param::CodeChallengeMethod)).await)
        .await
}

/// The malformed challenges of PKCE-05 (OAuth 2.1 Appendix A.18: 43 to 128 unreserved
/// characters).
fn malformed_challenge(case: &str) -> Result<String, String> {
    let base = PkceVerifier::random().challenge().as_str().to_string();
    Ok(match case {
        "42 characters" => "a".repeat(42),
        "129 characters" => "a".repeat(129),
        "43 characters including \"+\"" => format!("{}+", &base[..42]),
        "43 characters including \"/\"" => format!("{}/", &base[..42]),
        "43 characters including \"=\"" => format!("{}=", &base[..42]),
        other => return Err(format!("unknown code_challenge case: {other}")),
    })
}

#[when(regex = r"^the client requests authorization with a code_challenge of (.+)$")]
async fn with_malformed_challenge(w: &mut World, case: String) -> Outcome {
    w.step(async |w| {
        let challenge = malformed_challenge(&case).map_err(Fault::Harness)?;
        request_tampered(w, |p| p.tamper(Param::CodeChallenge, challenge)).await
    })
    .await
}

#[when(
    "the client requests authorization with code_challenge_method plain and the verifier as code_challenge"
)]
async fn with_plain_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        let verifier = PkceVerifier::random().secret().to_string();
        req.verifier = Some(PkceVerifier::from_string(verifier.clone()));
        send_authorization(w, req, |p| {
            p.tamper(Param::CodeChallengeMethod, "plain")
                .tamper(Param::CodeChallenge, verifier)
        })
        .await
        .map(drop)
    })
    .await
}

#[then("the authorization is refused, or plain is advertised (PKCE-11)")]
async fn pkce_11(w: &mut World) -> Outcome {
    w.step(async |w| {
        let d = w.ctx.discovered().await?;
        let outcome = w.flow.outcome()?;
        let f = check::pkce_11_accepted_is_advertised(
            outcome,
            "plain",
            &d.endpoints.code_challenge_methods,
        );
        w.expect(f)
    })
    .await
}
