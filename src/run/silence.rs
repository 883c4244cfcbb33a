//! Step faults are reported by the scenario records, not by the panic hook. cucumber-rs turns a
//! step's `Err` into a panic at the step's own location (its generated code sits in
//! `src/steps/`), and the default hook would print each one. One filter, installed once when
//! the program starts and never swapped, keeps those quiet and hands every other panic (a bug)
//! to the default hook, so a real panic is never hidden, and runs that overlap (the self-test)
//! cannot restore each other's hooks.

use std::panic::PanicHookInfo;
use std::sync::Once;

/// Installs the filter; later calls do nothing.
pub fn install_step_fault_filter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_step_fault(info) {
                default(info);
            }
        }));
    });
}

/// Whether the panic is a step that ended its scenario with a fault.
fn is_step_fault(info: &PanicHookInfo<'_>) -> bool {
    info.location().is_some_and(|l| is_step_source(l.file()))
}

fn is_step_source(file: &str) -> bool {
    file.replace('\\', "/").starts_with("src/steps/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_step_modules_count_as_step_faults() {
        assert!(is_step_source("src/steps/flow.rs"));
        assert!(is_step_source("src\\steps\\pkce.rs"));
        assert!(!is_step_source("src/client/http.rs"));
        assert!(!is_step_source("src/run/execute.rs"));
        assert!(!is_step_source(
            "/root/.cargo/registry/src/cucumber-0.23.0/src/runner.rs"
        ));
    }
}
