//! `mcp-oauth-conformance login URL`: one authorization with the profile's login driver, and
//! where it ended. For trying a login script before a run, and as the program of the
//! `command` driver.

use std::time::Duration;

use url::Url;

use crate::cli::LoginArgs;
use crate::client::http::Limits;
use crate::client::login::{self, AuthorizationOutcome, Credentials, DriverSetup, LoginError};
use crate::client::redact::redact_url;
use crate::config::{Profile, parse_http_url};
use crate::run::RunError;

/// Runs the authorization; returns the line to print: the redirect URL, or `page WHAT` when
/// the authorization server showed a page it did not let the driver past (what the command
/// driver expects of its program). What it prints, and its errors, are scrubbed of every
/// secret the login saw (but `--reveal` prints the redirect URL whole, as asked).
pub async fn run(args: &LoginArgs) -> Result<String, RunError> {
    let profile = match &args.config {
        Some(p) => Profile::load(p).map_err(|e| RunError::Usage(e.to_string()))?,
        None => Profile::default(),
    };
    let url = parse_http_url("AUTHORIZATION_URL", &args.url).map_err(RunError::Usage)?;
    // Where to stop: the request's own redirect URI, else the profile's.
    let redirect_uri = match url.query_pairs().find(|(k, _)| k == "redirect_uri") {
        Some((_, v)) => Url::parse(&v).map_err(|e| {
            RunError::Usage(format!(
                "the authorization URL's redirect_uri {v:?} is not a URL ({e})"
            ))
        })?,
        None => parse_http_url("client.redirect_uri", &profile.client.redirect_uri)
            .map_err(RunError::Usage)?,
    };
    let limits = Limits {
        timeout: profile.timeout(),
        max_body_bytes: profile.limits.max_body_bytes,
        max_redirects: profile.limits.max_redirects,
    };
    let max_steps = limits.max_redirects + 6;
    let http = crate::run::transport(&profile, args.ca_cert.as_deref(), limits, false, &url)?;
    let secrets = http.secrets().clone();
    let credentials = Credentials::of(&profile.login, args.reference_server, &secrets)
        .map_err(RunError::Usage)?;
    let driver = login::build(DriverSetup {
        login: &profile.login,
        credentials,
        secrets: &secrets,
        max_steps,
        redirect_uri: redirect_uri.clone(),
        timeout: Duration::from_secs(profile.login.timeout_secs),
        expected_logins: 1,
    })
    .map_err(RunError::Usage)?;
    let outcome = driver
        .authorize(&http, url, &redirect_uri)
        .await
        .map_err(|e| match e {
            LoginError::NotConfigured(m) => RunError::Usage(secrets.text(&m)),
            e => RunError::Harness(secrets.text(&format!("the login did not finish: {e}"))),
        })?;
    match outcome {
        AuthorizationOutcome::Redirect { location, .. } if args.reveal => Ok(location.to_string()),
        AuthorizationOutcome::Redirect { location, .. } => {
            Ok(secrets.text(&redact_url(location.as_str())))
        }
        // The command driver's answer for "the server showed a page and did not redirect".
        page @ AuthorizationOutcome::Page { .. } => {
            Ok(secrets.text(&format!("page {}", page.describe())))
        }
    }
}
