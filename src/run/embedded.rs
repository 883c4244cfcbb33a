//! The embedded reference server a run starts when no target is given: its defects,
//! variants and layout, and what its variants ask of the run (a client registered beforehand,
//! another host to allow).

use std::time::Duration;

use url::Url;

/// How the embedded reference server is started.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedServer {
    pub defects: reference_server::Defects,
    pub variants: reference_server::Variants,
    pub layout: reference_server::Layout,
    /// The window of the rate-limit variants (the server's default when `None`).
    pub rate_limit_window: Option<Duration>,
}

impl EmbeddedServer {
    /// The hosts besides the target's that the embedded server's variants send the run to, as
    /// a profile's `allowed_hosts` would list them.
    pub fn other_hosts(&self) -> Vec<&'static str> {
        if self
            .variants
            .has(reference_server::Variant::LoginOtherOrigin)
        {
            vec![reference_server::Variant::OTHER_LOGIN_HOST]
        } else {
            Vec::new()
        }
    }

    /// Whether a variant leaves the run no way to register a client, so that the embedded
    /// server is started with one registered beforehand.
    pub fn needs_preregistered_client(&self) -> bool {
        self.variants.iter().any(|v| v.needs_preregistered_client())
    }

    /// "the embedded reference server at URL", with its defects and variants.
    pub fn describe(&self, url: &Url) -> String {
        let mut out = format!("the embedded reference server at {url}");
        let defects: Vec<&str> = self.defects.iter().map(|d| d.name()).collect();
        let variants: Vec<&str> = self.variants.iter().map(|v| v.name()).collect();
        if !defects.is_empty() {
            out.push_str(&format!(", with the defects {}", defects.join(", ")));
        }
        if !variants.is_empty() {
            out.push_str(&format!(", with the variants {}", variants.join(", ")));
        }
        if self.needs_preregistered_client() {
            out.push_str(" and a client registered beforehand");
        }
        out
    }
}
