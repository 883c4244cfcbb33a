//! Why a run could not start or finish.

/// Usage errors (the command line, the profile, the baseline, a report path) exit 2; a
/// harness that cannot do its job (an unreachable target, a server that will not start) 3.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Harness(String),
}

impl RunError {
    /// The same error with every secret `secrets` knows scrubbed from its message.
    pub fn scrubbed(self, secrets: &crate::client::redact::Redactor) -> RunError {
        match self {
            RunError::Usage(m) => RunError::Usage(secrets.text(&m)),
            RunError::Harness(m) => RunError::Harness(secrets.text(&m)),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) => 2,
            RunError::Harness(_) => 3,
        }
    }
}
