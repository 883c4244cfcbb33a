//! The defect matrix: what the self-test found, as Markdown.

use super::{COLLATERAL_LIMIT, NEVER_FIRES, NO_DEFECT, RunRecords, Selftest, Totals, Verdict};

impl Selftest {
    /// The defect matrix, in Markdown.
    pub fn matrix(&self) -> String {
        let mut out = String::from("# Defect matrix\n\n");
        out.push_str(
            "Written by `mcp-oauth-conformance selftest`. The suite ran against the embedded \
             reference server once without defects and once per defect. A defect is **caught** \
             when a scenario carrying one of its requirement IDs fails on that requirement (a \
             warning counts for a SHOULD). **Collateral** failures are the other scenarios that \
             failed; **could not run** counts scenarios whose preconditions broke (errors, not \
             failures).\n\n",
        );
        out.push_str(&format!("MCP revision: {}\n\n", self.revision));
        match &self.clean.outcome {
            Ok(records) => {
                out.push_str(&format!(
                    "**Clean run: {}.** {}.\n\n",
                    if self.clean_passed() { "PASS" } else { "FAIL" },
                    Totals::of(records)
                ));
                if !self.clean_passed() {
                    for r in records.iter().filter(|r| {
                        !matches!(r.verdict, Verdict::Pass | Verdict::Info | Verdict::Skip)
                    }) {
                        out.push_str(&format!("- {} {}\n", r.verdict, r.name));
                    }
                    out.push('\n');
                }
            }
            Err(e) => out.push_str(&format!("**Clean run: could not run.** {e}\n\n")),
        }
        let caught = self.defects.iter().filter(|d| d.caught()).count();
        out.push_str(&format!(
            "**Defects caught: {caught} of {}.**\n\n",
            self.defects.len()
        ));
        out.push_str(
            "| defect | requirements | caught | catching scenarios | collateral | could not run | why the collateral |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for d in &self.defects {
            let Some(defect) = d.defect else { continue };
            let catching: Vec<String> = d
                .catching()
                .iter()
                .map(|r| {
                    if d.fails_on_defect(r) {
                        r.name.clone()
                    } else {
                        format!("{} (warning)", r.name)
                    }
                })
                .collect();
            let (caught, catching) = match &d.outcome {
                Err(e) => ("**ERROR**", format!("could not run: {e}")),
                Ok(_) if catching.is_empty() => ("**NO**", "—".to_string()),
                Ok(_) => ("yes", catching.join("<br>")),
            };
            let collateral = d.collateral().len();
            let mut why = match defect.collateral() {
                Some(w) => w.to_string(),
                None if collateral > COLLATERAL_LIMIT => "**no reason given**".into(),
                None => String::new(),
            };
            if let Some(reason) = defect.because() {
                why = format!(
                    "run under MCP {}, layout {}: {reason}. {why}",
                    defect.revision().unwrap_or(&self.revision.to_string()),
                    defect.layout().unwrap_or_default().name()
                );
            }
            out.push_str(&format!(
                "| `{}` | {} | {caught} | {} | {collateral} | {} | {} |\n",
                defect.name(),
                defect.requirement_list(", "),
                cell(&catching),
                d.errors(),
                cell(&why)
            ));
        }
        let with_collateral: Vec<&RunRecords> = self
            .defects
            .iter()
            .filter(|d| !d.collateral().is_empty())
            .collect();
        if !with_collateral.is_empty() {
            out.push_str("\n## Collateral failures\n\n");
            for d in with_collateral {
                let Some(defect) = d.defect else { continue };
                out.push_str(&format!("- `{}`:", defect.name()));
                for r in d.collateral() {
                    let on = r.violated.as_deref().unwrap_or("?");
                    out.push_str(&format!(" {} (on {on});", r.name));
                }
                out.push('\n');
            }
        }
        out.push_str("\n## MUST scenarios without a defect\n\n");
        if self.uncovered.is_empty() && NO_DEFECT.is_empty() {
            out.push_str("None: every `@must` scenario carries the requirement of a defect.\n");
        }
        for s in &self.uncovered {
            out.push_str(&format!(
                "- **{s}**: no defect carries its requirements, and no reason is given\n"
            ));
        }
        for (id, why) in NO_DEFECT {
            out.push_str(&format!("- {id}: {why}\n"));
        }
        if !self.never_warned.is_empty() {
            out.push_str("\n## SHOULD and info scenarios no defect made fire\n\n");
            out.push_str(
                "Each needs a defect that makes it warn (or report info) on its own requirement, or a reason in `NEVER_FIRES`.\n\n",
            );
            for s in &self.never_warned {
                out.push_str(&format!("- {s}\n"));
            }
        }
        if !NEVER_FIRES.is_empty() {
            out.push_str("\n## SHOULD and info scenarios no defect can make fire\n\n");
            for (id, why) in NEVER_FIRES {
                out.push_str(&format!("- {id}: {why}\n"));
            }
        }
        if !self.never_failed.is_empty() {
            out.push_str("\n## MUST scenarios no defect made fail\n\n");
            out.push_str("Each needs a defect that makes it fail, or its check cannot fail.\n\n");
            for s in &self.never_failed {
                out.push_str(&format!("- {s}\n"));
            }
        }
        out
    }
}

/// A Markdown table cell: no pipes or line breaks from the text itself.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
