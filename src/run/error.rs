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
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) => 2,
            RunError::Harness(_) => 3,
        }
    }
}
