//! Live progress on a terminal: a bar on stderr with the finished scenarios counted by
//! verdict. It is shown only when stdout and stderr are both terminals; the line of each
//! finished scenario still goes to stdout, printed above the bar. Anywhere else (a pipe, a
//! file, CI) nothing changes: one line per finished scenario. A manual login hides the bar
//! while it waits, so that its prompts stay readable.

use std::io::IsTerminal as _;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{Totals, Verdict};

/// The bar of the run in progress, and how many logins hide it now.
struct Shown {
    bar: ProgressBar,
    totals: Totals,
    hidden: usize,
}

static CURRENT: Mutex<Option<Shown>> = Mutex::new(None);

/// The bar while it exists; dropped, it clears the bar.
pub struct Progress {
    _private: (),
}

impl Progress {
    /// Starts a bar for `scenarios` scenarios when the output is a terminal (and none is
    /// already shown); otherwise does nothing.
    pub fn start(scenarios: usize) -> Option<Progress> {
        if !(std::io::stdout().is_terminal() && std::io::stderr().is_terminal()) {
            return None;
        }
        let mut current = CURRENT.lock().ok()?;
        if current.is_some() {
            return None;
        }
        let bar =
            ProgressBar::with_draw_target(Some(scenarios as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed}  {msg}") {
            bar.set_style(style);
        }
        bar.set_message(message(&Totals::default()));
        *current = Some(Shown {
            bar,
            totals: Totals::default(),
            hidden: 0,
        });
        Some(Progress { _private: () })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Ok(mut current) = CURRENT.lock()
            && let Some(shown) = current.take()
        {
            shown.bar.finish_and_clear();
        }
    }
}

/// Prints a finished scenario's line on stdout, above the bar when one is shown, and counts
/// its verdict.
pub fn finished(verdict: Verdict, line: &str) {
    let Ok(mut current) = CURRENT.lock() else {
        crate::out!("{line}");
        return;
    };
    match current.as_mut() {
        Some(shown) => {
            shown.totals.add(verdict);
            shown.bar.suspend(|| crate::out!("{line}"));
            shown.bar.inc(1);
            shown.bar.set_message(message(&shown.totals));
        }
        None => crate::out!("{line}"),
    }
}

/// Hides the bar until the guard is dropped (a manual login's prompts are on screen).
pub fn hide() -> Hidden {
    if let Ok(mut current) = CURRENT.lock()
        && let Some(shown) = current.as_mut()
    {
        shown.hidden += 1;
        if shown.hidden == 1 {
            shown.bar.set_draw_target(ProgressDrawTarget::hidden());
        }
    }
    Hidden { _private: () }
}

/// While it lives, the bar stays hidden.
pub struct Hidden {
    _private: (),
}

impl Drop for Hidden {
    fn drop(&mut self) {
        if let Ok(mut current) = CURRENT.lock()
            && let Some(shown) = current.as_mut()
        {
            shown.hidden = shown.hidden.saturating_sub(1);
            if shown.hidden == 0 {
                shown.bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
    }
}

/// The bar's message: the finished scenarios by verdict, worst first, verdicts not seen left
/// out.
pub fn message(t: &Totals) -> String {
    let counts = [
        (t.error, Verdict::Error),
        (t.fail, Verdict::Fail),
        (t.known, Verdict::Known),
        (t.warn, Verdict::Warn),
        (t.skip, Verdict::Skip),
        (t.info, Verdict::Info),
        (t.pass, Verdict::Pass),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, v)| format!("{n} {}", v.label().to_lowercase()))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_counts_each_verdict_seen_worst_first() {
        assert_eq!(message(&Totals::default()), "");
        let t = Totals {
            pass: 12,
            fail: 2,
            warn: 1,
            ..Totals::default()
        };
        assert_eq!(message(&t), "2 fail, 1 warn, 12 pass");
        let mut u = Totals::default();
        for v in [Verdict::Pass, Verdict::Error, Verdict::Pass, Verdict::Known] {
            u.add(v);
        }
        assert_eq!(message(&u), "1 error, 1 known, 2 pass");
    }

    #[test]
    fn without_a_terminal_no_bar_is_started() {
        // Tests run with their output captured: not a terminal.
        if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
            return;
        }
        assert!(Progress::start(3).is_none());
        let _hidden = hide();
        assert!(CURRENT.lock().map(|c| c.is_none()).unwrap_or(false));
    }
}
