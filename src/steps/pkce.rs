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
use crate::client::pkce::{MalformedChallenge, MalformedVerifier, PkceChallenge, PkceVerifier};
use crate::verdict::{Fault, Outcome};

/// The verifier tamperings of PKCE-06, -08 and -09, as the feature files name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "verifier_case",
    regex = r#"a different valid verifier|the code_challenge|42 characters|129 characters|43 characters including "!""#
)]
pub enum VerifierCase {
    /// A well-formed verifier that is not the one the challenge was made from (PKCE-06).
    DifferentValid,
    /// The S256 challenge sent as the verifier (PKCE-09).
    TheChallenge,
    Malformed(MalformedVerifier),
}

impl FromStr for VerifierCase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "a different valid verifier" => VerifierCase::DifferentValid,
            "the code_challenge" => VerifierCase::TheChallenge,
            other => VerifierCase::Malformed(malformed_verifier(other)?),
        })
    }
}

impl VerifierCase {
    /// The verifier to send instead of `real`.
    fn verifier(self, real: &PkceVerifier) -> PkceVerifier {
        match self {
            VerifierCase::DifferentValid => PkceVerifier::random(),
            VerifierCase::TheChallenge => PkceVerifier::from_challenge(&real.challenge()),
            VerifierCase::Malformed(how) => PkceVerifier::malformed(how),
        }
    }
}

/// A verifier that breaks the RFC 7636 grammar (PKCE-08), as the feature files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "malformed_verifier",
    regex = r#"42 characters|129 characters|43 characters including "!""#
)]
pub struct MalformedVerifierCase(MalformedVerifier);

impl FromStr for MalformedVerifierCase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        malformed_verifier(s).map(MalformedVerifierCase)
    }
}

fn malformed_verifier(s: &str) -> Result<MalformedVerifier, String> {
    Ok(match s {
        "42 characters" => MalformedVerifier::TooShort,
        "129 characters" => MalformedVerifier::TooLong,
        "43 characters including \"!\"" => MalformedVerifier::IllegalCharacter,
        other => return Err(format!("unknown code_verifier case: {other}")),
    })
}

/// The malformed challenges of PKCE-05 (OAuth 2.1 Appendix A.18: 43 to 128 unreserved
/// characters), as the feature files name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "challenge_case",
    regex = r#"42 characters|129 characters|43 characters including "[+/=]""#
)]
pub struct ChallengeCase(MalformedChallenge);

impl FromStr for ChallengeCase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ChallengeCase(match s {
            "42 characters" => MalformedChallenge::TooShort,
            "129 characters" => MalformedChallenge::TooLong,
            "43 characters including \"+\"" => MalformedChallenge::Plus,
            "43 characters including \"/\"" => MalformedChallenge::Slash,
            "43 characters including \"=\"" => MalformedChallenge::Padding,
            other => return Err(format!("unknown code_challenge case: {other}")),
        }))
    }
}

#[when(expr = "the client redeems the code with code_verifier set to {verifier_case}")]
async fn redeem_with_verifier(w: &mut World, case: VerifierCase) -> Outcome {
    w.step(async |w| {
        let verifier = case.verifier(w.flow.verifier()?);
        redeem(w, false, |p| p.tamper(Param::CodeVerifier, verifier))
            .await
            .map(drop)
    })
    .await
}

/// PKCE-08: the challenge is made from a verifier that breaks the RFC 7636 grammar, so that
/// only the grammar check can refuse its redemption (the S256 comparison would succeed).
#[when(
    expr = "the client obtains an authorization code for a code_verifier of {malformed_verifier}"
)]
async fn code_for_malformed_verifier(w: &mut World, case: MalformedVerifierCase) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        req.verifier = Some(PkceVerifier::malformed(case.0));
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

#[when(expr = "the client requests authorization with a code_challenge of {challenge_case}")]
async fn with_malformed_challenge(w: &mut World, case: ChallengeCase) -> Outcome {
    w.step(async |w| {
        let challenge = PkceChallenge::malformed(case.0);
        request_tampered(w, |p| p.tamper(Param::CodeChallenge, challenge.as_str())).await
    })
    .await
}

#[when(
    "the client requests authorization with code_challenge_method plain and the verifier as code_challenge"
)]
async fn with_plain_challenge(w: &mut World) -> Outcome {
    w.step(async |w| {
        let mut req = AuthorizationRequest::for_target(w).await?;
        let verifier = PkceVerifier::random();
        let plain = verifier.plain_challenge();
        req.verifier = Some(verifier);
        send_authorization(w, req, |p| {
            p.tamper(Param::CodeChallengeMethod, "plain")
                .tamper(Param::CodeChallenge, plain.as_str())
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

#[cfg(test)]
mod tests {
    use cucumber::Parameter as _;

    use super::*;

    /// Every case a feature file names matches its parameter's regex and parses.
    #[test]
    fn the_cases_of_the_feature_files_parse() {
        let matches = |regex: &str, s: &str| {
            regex::Regex::new(&format!("^(?:{regex})$"))
                .expect("regex")
                .is_match(s)
        };
        for case in [
            "a different valid verifier",
            "the code_challenge",
            "42 characters",
            "129 characters",
            "43 characters including \"!\"",
        ] {
            assert!(matches(VerifierCase::REGEX, case), "{case}");
            assert!(VerifierCase::from_str(case).is_ok(), "{case}");
        }
        assert!(!matches(MalformedVerifierCase::REGEX, "the code_challenge"));
        for case in ["+", "/", "="] {
            let case = format!("43 characters including \"{case}\"");
            assert!(matches(ChallengeCase::REGEX, &case), "{case}");
            assert!(ChallengeCase::from_str(&case).is_ok(), "{case}");
        }
        assert!(!matches(
            ChallengeCase::REGEX,
            "43 characters including \"!\""
        ));
    }
}
