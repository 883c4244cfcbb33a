//! The loaded target made ready before the clock starts: the embedded reference server started
//! (or `--target` taken), the transport and the login driver built, discovery done once, the
//! revision chosen or learned, and the authorization server's hosts checked by the guard.

use std::time::{Duration, Instant};

use reference_server::RunningServer;
use url::Url;

use super::options::{LoadPlan, LoadTarget, guard_host};
use crate::client::discovery::Discovered;
use crate::client::http::Http;
use crate::client::login::{self, DriverSetup, SharedDriver};
use crate::client::mcp::Revision;
use crate::context::{Context, ContextParts, Expiry};
use crate::detect;
use crate::run::RunError;

/// A target ready for flows.
pub struct Ready {
    pub target: Url,
    pub revision: Revision,
    pub http: Http,
    pub driver: SharedDriver,
    pub discovered: std::sync::Arc<Discovered>,
    /// How long discovery took (it is done once and cached).
    pub discovery_time: Duration,
    /// What the run is against, for the report.
    pub description: String,
    embedded: Option<RunningServer>,
}

impl Ready {
    /// Stops the embedded reference server, if the run started one.
    pub async fn shutdown(self) {
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
    }
}

pub async fn prepare(plan: &LoadPlan) -> Result<Ready, RunError> {
    let (target, embedded) = match &plan.target {
        LoadTarget::Given(url) => (url.clone(), None),
        LoadTarget::Embedded { defects, layout } => {
            let server = start_embedded(defects, *layout).await?;
            let url = Url::parse(&server.urls.mcp).map_err(|e| {
                RunError::Harness(format!("the embedded reference server's URL: {e}"))
            })?;
            (url, Some(server))
        }
    };
    let description = match &plan.target {
        LoadTarget::Given(_) => target.to_string(),
        LoadTarget::Embedded { defects, .. } => {
            let names: Vec<&str> = defects.iter().map(|d| d.name()).collect();
            match names.as_slice() {
                [] => format!("the embedded reference server at {target}"),
                d => format!(
                    "the embedded reference server at {target}, with the defects {}",
                    d.join(", ")
                ),
            }
        }
    };
    let http = plan.transport.build(&target)?;
    let driver = login::build(DriverSetup {
        login: &plan.profile.login,
        credentials: plan.credentials.clone(),
        secrets: &plan.transport.secrets,
        max_steps: plan.profile.limits.max_redirects + 6,
        redirect_uri: plan.redirect_uri.clone(),
        timeout: Duration::from_secs(plan.profile.login.timeout_secs).max(plan.timeout),
        expected_logins: usize::try_from(plan.bounds.flows.unwrap_or(0)).unwrap_or(usize::MAX),
    })
    .map_err(RunError::Usage)?;

    let provisional = plan.revision.unwrap_or(detect::FALLBACK);
    let context = Context::new(ContextParts {
        target: target.clone(),
        revision: provisional,
        http: http.clone(),
        driver: driver.clone(),
        redirect_uri: plan.redirect_uri.clone(),
        second_resource: None,
        replicas: Vec::new(),
        scope_check: None,
        expiry: Expiry::of_target(Duration::ZERO),
        echo: false,
        client: plan.client.clone(),
        share_logins: false,
        // The load flows use the run's client directly; they lease none.
        concurrency: 1,
    });
    let started = Instant::now();
    let discovered = context
        .discovered()
        .await
        .map_err(|f| RunError::Harness(format!("discovery failed, so no flow can start: {f}")))?;
    let discovery_time = started.elapsed();
    // The authorization server takes most of the load: it is guarded like the target.
    for url in [
        Some(&discovered.endpoints.authorization),
        Some(&discovered.endpoints.token),
        discovered.endpoints.registration.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        guard_host(url, plan.consent)?;
    }
    let revision = match plan.revision {
        Some(r) => r,
        None => {
            let found = detect::detect(&context).await;
            eprintln!(
                "MCP revision: {} (--spec auto: {})",
                found.revision, found.reason
            );
            found.revision
        }
    };
    Ok(Ready {
        target,
        revision,
        http,
        driver,
        discovered,
        discovery_time,
        description,
        embedded,
    })
}

/// The embedded reference server as `run` starts it, with what a long run needs: no
/// registration rate limit (registrations per minute would be measured instead of the
/// server), and tokens and codes that expire within a minute, so the store sheds them as the
/// run goes on instead of filling.
async fn start_embedded(
    defects: &reference_server::Defects,
    layout: reference_server::Layout,
) -> Result<RunningServer, RunError> {
    let config = reference_server::config::Config {
        access_token_ttl: Duration::from_secs(60),
        refresh_token_ttl: Duration::from_secs(60),
        registration_rate_limit: 0,
        store_capacity: 400_000,
        defects: defects.clone(),
        layout,
        allow_loopback_http_client_ids: true,
        ..Default::default()
    };
    reference_server::start(config)
        .await
        .map_err(|e| RunError::Harness(format!("cannot start the embedded reference server: {e}")))
}
