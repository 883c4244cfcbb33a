//! `merge-reports`: the `results.json` files of the shards of one run (`--shard I/N`) put
//! back together into the reports the unsharded run writes: the same scenarios in the same
//! order with the same verdicts, the baseline judged over all of them, the requests summed,
//! and the exit code worked out again from the merged verdicts.
//!
//! Shards of different runs do not fit together, and merging them would report a run that
//! never happened: files of another harness version, target, revision, selection, strictness
//! or `--fail-on`, a shard given twice, or a missing shard are refused, naming the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::requests::{EndpointKind, Estimate};
use super::results::{Identity, ReadResults};
use super::view::RunInfo;
use super::{Requests, ScenarioRecord};
use crate::baseline::{self, Outcome};
use crate::client::ratelimit::{EndpointStats, RequestStats};

/// A merged run, ready for the report writers.
#[derive(Debug, Clone)]
pub struct Merged {
    pub records: Vec<ScenarioRecord>,
    pub info: RunInfo,
    pub identity: Identity,
}

/// `merge-reports`: reads the files, merges them, writes the reports and prints the summary.
/// Returns the merged run's exit code, or 2 with the reason when the files do not merge.
pub fn main(args: &crate::cli::MergeArgs) -> Result<u8, String> {
    let files = args
        .inputs
        .iter()
        .map(|p| super::results::read(p).map(|r| (p.clone(), r)))
        .collect::<Result<Vec<_>, String>>()?;
    // The reports name the harness that wrote them: the one that ran the shards.
    let own = super::view::harness_version();
    if let Some((path, r)) = files.iter().find(|(_, r)| r.harness_version != own) {
        return Err(format!(
            "{} was written by mcp-oauth-conformance {}; this is {own}: merge with the version that ran the shards",
            path.display(),
            r.harness_version
        ));
    }
    let parts = files.len();
    let merged = merge(files)?;
    write(&merged, args)?;
    crate::out!("{}", super::summary(&merged.records));
    if let Some(requests) = &merged.info.requests {
        crate::out!("{requests}");
    }
    crate::out!(
        "Merged {parts} results of {}: exit code {} ({})",
        merged.identity.target_id,
        merged.info.exit_code,
        super::view::exit_meaning(merged.info.exit_code)
    );
    crate::out!(
        "JUnit: {}\nResults: {}\nHTML report: {}",
        args.junit.display(),
        args.results.display(),
        args.html.display()
    );
    Ok(merged.info.exit_code)
}

/// Writes the merged reports with the writers a run uses.
fn write(merged: &Merged, args: &crate::cli::MergeArgs) -> Result<(), String> {
    for path in [&args.results, &args.junit, &args.html] {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    let json = super::results::render(&merged.records, &merged.info, &merged.identity);
    let json = serde_json::to_string_pretty(&json)
        .map_err(|e| format!("cannot render the results: {e}"))?;
    std::fs::write(&args.results, json)
        .map_err(|e| format!("cannot write {}: {e}", args.results.display()))?;
    let xml = super::junit::render(&merged.records, merged.info.strict)?;
    std::fs::write(&args.junit, xml)
        .map_err(|e| format!("cannot write {}: {e}", args.junit.display()))?;
    super::html::write(&args.html, &merged.records, &merged.info)?;
    let summary = super::markdown::Destinations::from_env(args.summary.clone());
    super::markdown::write(&summary, &merged.records, &merged.info)
}

/// Whether a record stands for a stale baseline entry rather than a scenario.
fn is_stale_entry(r: &ScenarioRecord) -> bool {
    r.area == "baseline" && r.file.is_empty()
}

/// Merges the shards' results. `files` pairs each with the path it was read from, for the
/// messages.
pub fn merge(files: Vec<(PathBuf, ReadResults)>) -> Result<Merged, String> {
    let Some((first_path, first)) = files.first() else {
        return Err("no results.json to merge".into());
    };
    let name = |p: &Path| p.display().to_string();
    for (path, r) in &files[1..] {
        let differ = |what: &str, a: &str, b: &str| {
            format!(
                "cannot merge {} and {}: they were run with different {what} ({a:?} and {b:?}), so they are not shards of one run",
                name(first_path),
                name(path)
            )
        };
        if r.harness_version != first.harness_version {
            return Err(differ(
                "harness versions",
                &first.harness_version,
                &r.harness_version,
            ));
        }
        if r.identity.target_id != first.identity.target_id {
            return Err(differ(
                "targets",
                &first.identity.target_id,
                &r.identity.target_id,
            ));
        }
        if r.info.revision != first.info.revision {
            return Err(differ(
                "MCP revisions",
                &first.info.revision,
                &r.info.revision,
            ));
        }
        if r.info.fail_on != first.info.fail_on {
            return Err(differ(
                "--fail-on",
                first.info.fail_on.as_str(),
                r.info.fail_on.as_str(),
            ));
        }
        if r.info.strict != first.info.strict {
            return Err(differ(
                "--strict",
                &first.info.strict.to_string(),
                &r.info.strict.to_string(),
            ));
        }
        let entries =
            |o: &[Outcome]| -> Vec<baseline::Entry> { o.iter().map(Outcome::entry).collect() };
        if entries(&r.identity.baseline) != entries(&first.identity.baseline) {
            return Err(format!(
                "cannot merge {} and {}: they were run with different baselines",
                name(first_path),
                name(path)
            ));
        }
    }
    check_shards(&files)?;

    let mut records: Vec<ScenarioRecord> = files
        .iter()
        .flat_map(|(_, r)| r.records.iter().filter(|r| !is_stale_entry(r)).cloned())
        .collect();
    // The order a run writes: by feature file, then line.
    records.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    let baseline = merge_baseline(files.iter().map(|(_, r)| r.identity.baseline.as_slice()));
    for o in baseline.iter().filter(|o| o.stale()) {
        records.push(baseline::stale_record(&o.entry(), &first.info.revision));
    }

    // Shards of one deployed target name the same URL; each shard of an embedded target
    // started a server of its own, on its own port: then the report names the server by what
    // the shards share.
    let target = if files
        .iter()
        .all(|(_, r)| r.info.target == first.info.target)
    {
        first.info.target.clone()
    } else {
        format!(
            "the {} ({} shards, each against a server of its own)",
            first.identity.target_id,
            files.len()
        )
    };
    let strict = first.info.strict;
    let fail_on = first.info.fail_on;
    let info = RunInfo {
        target,
        revision: first.info.revision.clone(),
        revision_reason: first.info.revision_reason.clone(),
        exit_code: super::exit_code(&records, strict, fail_on),
        strict,
        fail_on,
        requests: Some(merge_requests(
            files.iter().filter_map(|(_, r)| r.info.requests.as_ref()),
        )),
        finished: files
            .iter()
            .map(|(_, r)| r.info.finished)
            .max()
            .unwrap_or(first.info.finished),
    };
    Ok(Merged {
        records,
        info,
        identity: Identity {
            target_id: first.identity.target_id.clone(),
            shard: None,
            baseline,
        },
    })
}

/// One run's shards, each once, none missing, all of one selection; a file without a shard
/// is a whole run, which merges only with itself.
fn check_shards(files: &[(PathBuf, ReadResults)]) -> Result<(), String> {
    let name = |p: &Path| p.display().to_string();
    if files.len() == 1 && files[0].1.identity.shard.is_none() {
        return Ok(());
    }
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    let mut shape: Option<(&Path, usize, &str)> = None;
    for (path, r) in files {
        let Some(s) = &r.identity.shard else {
            return Err(format!(
                "cannot merge {}: it is a whole run (made without --shard), not a shard",
                name(path)
            ));
        };
        match shape {
            None => shape = Some((path, s.count, &s.selection)),
            Some((other, count, _)) if count != s.count => {
                return Err(format!(
                    "cannot merge {} (shard {}) with {} (one of {count} shards): they split the run differently",
                    name(path),
                    s.shard(),
                    name(other)
                ));
            }
            Some((other, _, selection)) if selection != s.selection => {
                return Err(format!(
                    "cannot merge {} with {}: their shards are parts of different selections of scenarios (other --tags, --name or features)",
                    name(path),
                    name(other)
                ));
            }
            Some(_) => {}
        }
        if let Some(other) = seen.insert(s.index, path) {
            return Err(format!(
                "cannot merge overlapping shards: {} and {} are both shard {}",
                name(other),
                name(path),
                s.shard()
            ));
        }
    }
    let count = shape.map_or(0, |(_, c, _)| c);
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "cannot merge: shard {} missing (every shard of the run is needed for its reports)",
            missing.join(", ")
        ));
    }
    // Every scenario once: the shards' records add up to the selection, with no repeats.
    let selected = files
        .first()
        .and_then(|(_, r)| r.identity.shard.as_ref())
        .map_or(0, |s| s.selected);
    let mut places = std::collections::BTreeSet::new();
    for (path, r) in files {
        for rec in r.records.iter().filter(|r| !is_stale_entry(r)) {
            if !places.insert((rec.file.as_str(), rec.line, rec.name.as_str())) {
                return Err(format!(
                    "cannot merge overlapping shards: the scenario {:?} is in {} and in another file",
                    rec.name,
                    name(path)
                ));
            }
        }
    }
    if places.len() != selected {
        return Err(format!(
            "cannot merge: the shards hold {} scenarios, but the run selected {selected}",
            places.len()
        ));
    }
    Ok(())
}

/// Each baseline entry matched when it matched in some shard, and ran when it ran in some.
fn merge_baseline<'a>(parts: impl Iterator<Item = &'a [Outcome]>) -> Vec<Outcome> {
    let mut merged: Vec<Outcome> = Vec::new();
    for part in parts {
        if merged.is_empty() {
            merged = part.to_vec();
            continue;
        }
        for (m, o) in merged.iter_mut().zip(part) {
            m.matched |= o.matched;
            m.ran |= o.ran;
        }
    }
    merged
}

/// The requests of all shards: summed by kind and by endpoint, the estimates added up.
fn merge_requests<'a>(parts: impl Iterator<Item = &'a Requests>) -> Requests {
    let mut by_kind: BTreeMap<EndpointKind, super::requests::KindCount> = EndpointKind::ALL
        .iter()
        .map(|k| (*k, Default::default()))
        .collect();
    let mut endpoints: BTreeMap<(String, String), EndpointStats> = BTreeMap::new();
    let mut estimate: Option<Estimate> = None;
    let mut every_estimate = true;
    for r in parts {
        for (kind, c) in &r.by_kind {
            let m = by_kind.entry(*kind).or_default();
            m.requests += c.requests;
            m.limited += c.limited;
            m.waited += c.waited;
        }
        for e in &r.endpoints.endpoints {
            endpoints
                .entry((e.url.clone(), e.method.clone()))
                .and_modify(|m| {
                    m.requests += e.requests;
                    m.limited += e.limited;
                    m.waited += e.waited;
                    m.paced += e.paced;
                })
                .or_insert_with(|| e.clone());
        }
        match (r.estimate, estimate.as_mut()) {
            (Some(e), Some(sum)) => {
                sum.registrations += e.registrations;
                sum.authorizations += e.authorizations;
                sum.token_requests += e.token_requests;
            }
            (Some(e), None) => estimate = Some(e),
            (None, _) => every_estimate = false,
        }
    }
    Requests {
        by_kind,
        endpoints: RequestStats {
            endpoints: endpoints.into_values().collect(),
        },
        estimate: estimate.filter(|_| every_estimate),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::tests::record;
    use super::super::{FailOn, Verdict};
    use super::*;
    use crate::run::shard::ShardInfo;

    fn part(index: usize, count: usize, records: Vec<ScenarioRecord>) -> (PathBuf, ReadResults) {
        (
            PathBuf::from(format!("shard-{index}.json")),
            ReadResults {
                info: RunInfo {
                    target: format!(
                        "the embedded reference server at http://127.0.0.1:{index}/mcp"
                    ),
                    revision: "2025-11-25".into(),
                    revision_reason: "chosen with --spec or the profile".into(),
                    exit_code: super::super::exit_code(&records, false, FailOn::All),
                    strict: false,
                    fail_on: FailOn::All,
                    requests: Some(Requests::default()),
                    finished: SystemTime::UNIX_EPOCH + Duration::from_secs(index as u64),
                },
                records,
                identity: Identity {
                    target_id: "embedded reference server, layout same-origin".into(),
                    shard: Some(ShardInfo {
                        index,
                        count,
                        selected: 3,
                        selection: "abc".into(),
                    }),
                    baseline: vec![Outcome {
                        requirement: Some("PKCE-06".into()),
                        scenario: None,
                        reason: "ticket 1".into(),
                        matched: false,
                        ran: index == 1,
                    }],
                },
                harness_version: "1".into(),
            },
        )
    }

    fn at(verdict: Verdict, id: &str, line: usize) -> ScenarioRecord {
        ScenarioRecord {
            line,
            ..record(verdict, &[id])
        }
    }

    #[test]
    fn shards_merge_in_file_order_with_the_baseline_judged_over_all() {
        let mut one = part(
            1,
            2,
            vec![
                at(Verdict::Pass, "PKCE-06", 3),
                at(Verdict::Pass, "PKCE-01", 9),
            ],
        );
        // The shard's own stale record is dropped and judged again over every shard.
        one.1.records.push(baseline::stale_record(
            &one.1.identity.baseline[0].entry(),
            "2025-11-25",
        ));
        let two = part(2, 2, vec![at(Verdict::Fail, "PKCE-02", 5)]);
        let merged = merge(vec![two.clone(), one.clone()]).expect("merges");
        let lines: Vec<usize> = merged.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 5, 9, 0]);
        assert!(is_stale_entry(&merged.records[3]));
        assert_eq!(merged.info.exit_code, 1);
        assert_eq!(
            merged.info.target,
            "the embedded reference server, layout same-origin (2 shards, each against a server of its own)"
        );
        assert_eq!(merged.identity.shard, None);

        // Shard 2 saw PKCE-06 fail (known): the entry is not stale in the whole run.
        let mut two_known = two.clone();
        two_known.1.identity.baseline[0].matched = true;
        let merged = merge(vec![one.clone(), two_known]).expect("merges");
        assert!(!merged.records.iter().any(is_stale_entry));
    }

    #[test]
    fn parts_of_different_runs_are_refused() {
        let one = part(
            1,
            2,
            vec![
                at(Verdict::Pass, "PKCE-06", 3),
                at(Verdict::Pass, "PKCE-01", 9),
            ],
        );
        let two = part(2, 2, vec![at(Verdict::Pass, "PKCE-02", 5)]);
        let refused = |files: Vec<(PathBuf, ReadResults)>| merge(files).expect_err("refused");

        let e = refused(vec![one.clone(), one.clone()]);
        assert!(
            e.contains("overlapping shards") && e.contains("shard 1/2"),
            "{e}"
        );
        let e = refused(vec![one.clone()]);
        assert!(e.contains("shard 2/2 missing"), "{e}");
        let mut other = two.clone();
        other.1.info.revision = "2025-06-18".into();
        let e = refused(vec![one.clone(), other]);
        assert!(e.contains("different MCP revisions"), "{e}");
        let mut other = two.clone();
        other.1.identity.target_id = "https://mcp.example.com/mcp".into();
        let e = refused(vec![one.clone(), other]);
        assert!(e.contains("different targets"), "{e}");
        let mut other = two.clone();
        other.1.harness_version = "2".into();
        let e = refused(vec![one.clone(), other]);
        assert!(e.contains("different harness versions"), "{e}");
        let mut other = two.clone();
        if let Some(s) = other.1.identity.shard.as_mut() {
            s.selection = "def".into();
        }
        let e = refused(vec![one.clone(), other]);
        assert!(e.contains("different selections"), "{e}");
        let mut other = two.clone();
        other.1.identity.shard = None;
        let e = refused(vec![one.clone(), other]);
        assert!(e.contains("not a shard"), "{e}");
        // The same scenario in two shards.
        let mut other = two.clone();
        other.1.records = vec![at(Verdict::Pass, "PKCE-06", 3)];
        let e = refused(vec![one.clone(), other]);
        assert!(e.contains("overlapping shards"), "{e}");
        let e = refused(Vec::new());
        assert!(e.contains("no results.json"), "{e}");
    }
}
