//! The figures of a load run: counts, latency histograms per step (HdrHistogram, in
//! microseconds), errors by kind and violations by requirement, as text and as JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::flow::{FlowResult, Step};
use crate::client::mcp::Revision;
use crate::requirements::Severity;
use crate::verdict::Violation;

/// The longest latency a histogram tells apart (longer ones count as this).
const HIGHEST_MICROS: u64 = 3_600_000_000;
/// How many failing flows are reported with their transcript.
const EXAMPLES: usize = 3;

/// Percentiles of one step, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// A flow that found a violation: what it found and its redacted transcript.
#[derive(Debug, Clone)]
pub struct Example {
    pub violations: Vec<Violation>,
    pub transcript: String,
}

/// Everything counted during a run.
pub struct Stats {
    pub flows: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Flows that found a violation of a requirement.
    pub with_violations: u64,
    /// Flows that stopped on an error (and found no violation before).
    pub with_errors: u64,
    /// Flows still running when the run stopped waiting for them.
    pub unfinished: u64,
    /// Arrivals of the open model that found every slot busy (not flows).
    pub dropped: u64,
    pub replayed: u64,
    pub double_redemptions: u64,
    steps: BTreeMap<Step, Histogram<u64>>,
    flow_times: Histogram<u64>,
    /// `step: kind` → how many, and the first one's detail.
    pub errors: BTreeMap<String, (u64, String)>,
    /// Requirement ID → how many flows violated it.
    pub violations: BTreeMap<String, u64>,
    /// Violations of MUST requirements (they fail the run).
    pub must_violations: u64,
    pub examples: Vec<Example>,
}

/// Three significant figures from 1 µs to an hour.
fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
        .map_err(|e| format!("cannot make a latency histogram: {e:?}"))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, HIGHEST_MICROS)
}

impl Stats {
    pub fn new() -> Result<Stats, String> {
        Ok(Stats {
            flows: 0,
            succeeded: 0,
            failed: 0,
            with_violations: 0,
            with_errors: 0,
            unfinished: 0,
            dropped: 0,
            replayed: 0,
            double_redemptions: 0,
            steps: Step::ALL
                .iter()
                .map(|s| histogram().map(|h| (*s, h)))
                .collect::<Result<_, _>>()?,
            flow_times: histogram()?,
            errors: BTreeMap::new(),
            violations: BTreeMap::new(),
            must_violations: 0,
            examples: Vec::new(),
        })
    }

    /// Counts one step's time outside any flow (discovery, done once).
    pub fn record_step(&mut self, step: Step, d: Duration) {
        if let Some(h) = self.steps.get_mut(&step) {
            h.saturating_record(micros(d));
        }
    }

    /// Counts one finished flow.
    pub fn record(&mut self, r: FlowResult, revision: Revision) {
        self.flows += 1;
        for (step, d) in &r.timings {
            self.record_step(*step, *d);
        }
        self.flow_times.saturating_record(micros(r.total));
        self.replayed += u64::from(r.replayed);
        self.double_redemptions += u64::from(r.double_redemption);
        if r.succeeded() {
            self.succeeded += 1;
            return;
        }
        self.failed += 1;
        if let Some(e) = &r.error {
            let key = format!("{}: {}", e.step.name(), e.kind);
            let entry = self.errors.entry(key).or_insert((0, e.detail.clone()));
            entry.0 += 1;
        }
        if r.violations.is_empty() {
            self.with_errors += 1;
            return;
        }
        self.with_violations += 1;
        let mut ids: Vec<&str> = r
            .violations
            .iter()
            .map(|v| v.requirement.as_str())
            .collect();
        ids.dedup();
        for id in ids {
            *self.violations.entry(id.to_string()).or_insert(0) += 1;
        }
        if r.violations
            .iter()
            .any(|v| v.severity_in(revision) == Severity::Must)
        {
            self.must_violations += 1;
        }
        if self.examples.len() < EXAMPLES {
            let transcript = r
                .transcript
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            self.examples.push(Example {
                violations: r.violations,
                transcript,
            });
        }
    }

    /// Counts flows that had not finished when the run stopped waiting: failures.
    pub fn record_unfinished(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        self.flows += n;
        self.failed += n;
        self.with_errors += n;
        self.unfinished += n;
        let entry = self
            .errors
            .entry("flow: unfinished when the run stopped".into())
            .or_insert((
                0,
                "still waiting for an answer when the run's time was up".into(),
            ));
        entry.0 += n;
    }

    /// A step's percentiles; `None` when it never ran.
    pub fn step(&self, step: Step) -> Option<Percentiles> {
        self.steps.get(&step).and_then(percentiles)
    }

    /// The percentiles of whole flows.
    pub fn flow(&self) -> Option<Percentiles> {
        percentiles(&self.flow_times)
    }
}

fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    if h.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    // Each is at most the next: the histogram's quantiles are monotone, and capped by its max.
    let max = h.max();
    let p99 = h.value_at_quantile(0.99).min(max);
    let p95 = h.value_at_quantile(0.95).min(p99);
    let p50 = h.value_at_quantile(0.50).min(p95);
    Some(Percentiles {
        count: h.len(),
        p50: ms(p50),
        p95: ms(p95),
        p99: ms(p99),
        max: ms(max),
        mean: h.mean() / 1000.0,
    })
}

/// A finished run's figures, with what it was run against.
pub struct Summary<'a> {
    pub stats: &'a Stats,
    pub target: &'a str,
    pub revision: Revision,
    pub plan: &'a str,
    pub elapsed: Duration,
    pub exit_code: u8,
}

impl Summary<'_> {
    pub fn flows_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.stats.flows as f64 / secs
        } else {
            0.0
        }
    }

    pub fn text(&self) -> String {
        let s = self.stats;
        let mut out = format!(
            "Load: {} flows in {:.2} s, {:.1} flows/s, against {} (MCP {})\n",
            s.flows,
            self.elapsed.as_secs_f64(),
            self.flows_per_second(),
            self.target,
            self.revision
        );
        out += &format!(
            "  {} succeeded, {} failed ({} with a violation, {} with an error{})\n",
            s.succeeded,
            s.failed,
            s.with_violations,
            s.with_errors,
            if s.unfinished > 0 {
                format!(", {} unfinished", s.unfinished)
            } else {
                String::new()
            }
        );
        out += &format!(
            "  the code replayed concurrently with its redemption in {} of {} flows; double redemptions: {}\n",
            s.replayed, s.flows, s.double_redemptions
        );
        if s.dropped > 0 {
            out += &format!(
                "  {} arrivals dropped: every slot was busy (not counted as flows)\n",
                s.dropped
            );
        }
        out += &format!(
            "\n  {:<10} {:>8} {:>9} {:>9} {:>9} {:>9}  (ms)\n",
            "step", "count", "p50", "p95", "p99", "max"
        );
        let rows = Step::ALL
            .iter()
            .filter_map(|st| s.step(*st).map(|p| (st.name(), p)))
            .chain(s.flow().map(|p| ("flow", p)));
        for (name, p) in rows {
            out += &format!(
                "  {name:<10} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
                p.count, p.p50, p.p95, p.p99, p.max
            );
        }
        if !s.errors.is_empty() {
            out += "\nErrors by kind:\n";
            for (kind, (n, detail)) in &s.errors {
                out += &format!("  {n:>8}  {kind}  (first: {detail})\n");
            }
        }
        if !s.violations.is_empty() {
            out += "\nViolations (flows):\n";
            for (id, n) in &s.violations {
                let what = if id == req::CODE_02.as_str() && s.double_redemptions > 0 {
                    format!(" ({} double redemptions of a code)", s.double_redemptions)
                } else {
                    String::new()
                };
                out += &format!("  {n:>8}  {id}{what}\n");
            }
            for (i, ex) in s.examples.iter().enumerate() {
                out += &format!("\nFAIL, flow example {}:\n", i + 1);
                for v in &ex.violations {
                    out += &format!("{v}\n");
                }
                out += &format!("Transcript (redacted):\n{}\n", ex.transcript);
            }
        }
        out
    }

    pub fn json(&self) -> Value {
        let s = self.stats;
        let step = |p: Percentiles| {
            json!({
                "count": p.count,
                "p50_ms": p.p50,
                "p95_ms": p.p95,
                "p99_ms": p.p99,
                "max_ms": p.max,
                "mean_ms": p.mean,
            })
        };
        let steps: serde_json::Map<String, Value> = Step::ALL
            .iter()
            .filter_map(|st| s.step(*st).map(|p| (st.name().to_string(), step(p))))
            .collect();
        let errors: serde_json::Map<String, Value> = s
            .errors
            .iter()
            .map(|(k, (n, detail))| (k.clone(), json!({"count": n, "first": detail})))
            .collect();
        let failures: Vec<Value> = s
            .examples
            .iter()
            .map(|ex| {
                json!({
                    "violations": ex.violations.iter().map(|v| json!({
                        "requirement": v.requirement.as_str(),
                        "expected": v.expected,
                        "actual": v.actual,
                    })).collect::<Vec<_>>(),
                    "transcript": ex.transcript,
                })
            })
            .collect();
        json!({
            "target": self.target,
            "revision": self.revision.as_str(),
            "plan": self.plan,
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "flows": s.flows,
            "succeeded": s.succeeded,
            "failed": s.failed,
            "with_violations": s.with_violations,
            "with_errors": s.with_errors,
            "unfinished": s.unfinished,
            "dropped_arrivals": s.dropped,
            "replayed": s.replayed,
            "double_redemptions": s.double_redemptions,
            "flows_per_second": self.flows_per_second(),
            "steps": steps,
            "flow": s.flow().map(step),
            "errors": errors,
            "violations": s.violations,
            "failures": failures,
            "exit_code": self.exit_code,
        })
    }
}
