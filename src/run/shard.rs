//! `--shard I/N`: one deterministic part of the selected scenarios (or of a fleet's targets),
//! so that CI jobs can split a run and `merge-reports` can put it back together.
//!
//! The partition is round-robin over the selected scenarios sorted by feature file, line and
//! name: the scenario at position `k` (from 0) belongs to shard `k mod N + 1`. Every scenario
//! is in exactly one shard, the shards differ in size by at most one, and each shard takes
//! scenarios from every feature file, so that slow areas do not all land in one job.

use std::fmt;
use std::str::FromStr;

use cucumber::gherkin::{Feature, Scenario};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most shards a run may be split into.
pub const MAX_SHARDS: usize = 1000;

/// Shard `index` of `count`, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the item at `position` (from 0) of the sorted list belongs to this shard.
    pub fn takes(self, position: usize) -> bool {
        position % self.count + 1 == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("--shard {s:?}: expected I/N with 1 <= I <= N <= {MAX_SHARDS}, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard's results say about the run it is a part of, so that a merge can check that
/// its parts fit together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: usize,
    pub count: usize,
    /// How many scenarios the whole selection has (every shard together).
    pub selected: usize,
    /// A SHA-256 over the whole selection (file, line and name of every selected scenario), the
    /// same in every shard of one run.
    pub selection: String,
}

impl ShardInfo {
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.index,
            count: self.count,
        }
    }
}

/// A scenario's place in the partition.
type Key = (String, usize, String);

fn key(feature: &Feature, scenario: &Scenario) -> Key {
    (
        feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        scenario.position.line,
        scenario.name.clone(),
    )
}

/// Keeps this shard's part of the selected scenarios. Features left empty are dropped; a
/// shard may be empty when there are fewer scenarios than shards.
pub fn select(features: Vec<Feature>, shard: Shard) -> (Vec<Feature>, ShardInfo) {
    let mut keys: Vec<Key> = crate::features::scenarios(&features)
        .into_iter()
        .map(|(f, s)| key(f, s))
        .collect();
    keys.sort();
    let mut digest = Sha256::new();
    for (file, line, name) in &keys {
        digest.update(format!("{file}\t{line}\t{name}\n"));
    }
    let info = ShardInfo {
        index: shard.index,
        count: shard.count,
        selected: keys.len(),
        selection: digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    let mine: std::collections::BTreeSet<Key> = keys
        .into_iter()
        .enumerate()
        .filter(|(k, _)| shard.takes(*k))
        .map(|(_, key)| key)
        .collect();
    let kept = features
        .into_iter()
        .filter_map(|mut f| {
            let snapshot = f.clone();
            f.scenarios.retain(|s| mine.contains(&key(&snapshot, s)));
            for r in &mut f.rules {
                r.scenarios.retain(|s| mine.contains(&key(&snapshot, s)));
            }
            f.rules.retain(|r| !r.scenarios.is_empty());
            (!f.scenarios.is_empty() || !f.rules.is_empty()).then_some(f)
        })
        .collect();
    (kept, info)
}

/// [`select`] when a shard is given; else every scenario.
pub fn select_opt(
    features: Vec<Feature>,
    shard: Option<Shard>,
) -> (Vec<Feature>, Option<ShardInfo>) {
    match shard {
        Some(s) => {
            let (kept, info) = select(features, s);
            (kept, Some(info))
        }
        None => (features, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{self, Source};

    #[test]
    fn shards_are_checked() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for bad in [
            "0/4", "5/4", "1/0", "4", "a/b", "1/2/3", "-1/4", "", "1/1001",
        ] {
            let e = bad.parse::<Shard>().expect_err(bad);
            assert!(e.contains("expected I/N"), "{e}");
        }
        assert_eq!(Shard { index: 3, count: 4 }.to_string(), "3/4");
    }

    #[test]
    fn every_scenario_is_in_exactly_one_shard() {
        let all = features::load(Source::Embedded).expect("the embedded features");
        let names = |fs: &[Feature]| -> Vec<Key> {
            features::scenarios(fs)
                .into_iter()
                .map(|(f, s)| key(f, s))
                .collect()
        };
        let mut everything = names(&all);
        everything.sort();
        let mut seen: Vec<Key> = Vec::new();
        let mut selections = std::collections::BTreeSet::new();
        for index in 1..=4 {
            let (part, info) = select(all.clone(), Shard { index, count: 4 });
            let part = names(&part);
            // Balanced: the shards differ by at most one scenario.
            assert!(
                part.len().abs_diff(everything.len() / 4) <= 1,
                "{}",
                part.len()
            );
            assert_eq!(info.selected, everything.len());
            selections.insert(info.selection);
            // The same shard again is the same part.
            let (again, _) = select(all.clone(), Shard { index, count: 4 });
            assert_eq!(names(&again), part);
            seen.extend(part);
        }
        assert_eq!(selections.len(), 1, "one selection for every shard");
        seen.sort();
        assert_eq!(
            seen, everything,
            "a partition: no scenario lost, none twice"
        );
        // More shards than scenarios: the last shards are empty, not an error.
        let one = features::filter(
            all,
            None,
            Some(&regex::Regex::new("^PKCE-06 ").expect("re")),
        );
        let n = features::scenarios(&one).len();
        let (empty, info) = select(
            one,
            Shard {
                index: n + 1,
                count: n + 1,
            },
        );
        assert!(empty.is_empty());
        assert_eq!(info.selected, n);
    }
}
