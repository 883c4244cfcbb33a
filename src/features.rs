//! Feature files: embedded in the binary, or read from `--features DIR`; parsed, outlines
//! expanded, and filtered by tags and name before a run.

use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::gherkin::{Feature, GherkinEnv, Scenario};
use cucumber::tag::Ext as _;
use include_dir::{Dir, include_dir};
use regex::Regex;

use crate::requirements::{self, Severity};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/features");

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("cannot read feature directory {path}: {source}")]
    ReadDir {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("no .feature files in {0}")]
    Empty(String),
}

/// Where features come from.
pub enum Source<'a> {
    Embedded,
    Dir(&'a Path),
}

/// Reads, parses and expands every `.feature` file, sorted by path. The embedded ones are
/// parsed once per process (the self-test runs the suite hundreds of times) and copied.
pub fn load(source: Source<'_>) -> Result<Vec<Feature>, FeatureError> {
    match source {
        Source::Embedded => EMBEDDED_PARSED
            .clone()
            .map_err(|(path, message)| FeatureError::Parse { path, message }),
        Source::Dir(dir) => parse(read_dir(dir)?),
    }
}

static EMBEDDED_PARSED: std::sync::LazyLock<Result<Vec<Feature>, (String, String)>> =
    std::sync::LazyLock::new(|| {
        embedded_texts().and_then(parse).map_err(|e| match e {
            FeatureError::Parse { path, message } => (path, message),
            other => ("features".into(), other.to_string()),
        })
    });

fn embedded_texts() -> Result<Vec<(PathBuf, String)>, FeatureError> {
    let mut texts = Vec::new();
    for f in EMBEDDED.files() {
        if f.path().extension().is_some_and(|e| e == "feature") {
            let text = f.contents_utf8().ok_or_else(|| FeatureError::Parse {
                path: f.path().display().to_string(),
                message: "not UTF-8".into(),
            })?;
            texts.push((Path::new("features").join(f.path()), text.to_string()));
        }
    }
    Ok(texts)
}

fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>, FeatureError> {
    let mut texts = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| FeatureError::ReadDir {
        path: dir.display().to_string(),
        source,
    })?;
    for e in entries {
        let e = e.map_err(|source| FeatureError::ReadDir {
            path: dir.display().to_string(),
            source,
        })?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "feature") {
            let text = std::fs::read_to_string(&p).map_err(|source| FeatureError::ReadDir {
                path: p.display().to_string(),
                source,
            })?;
            texts.push((p, text));
        }
    }
    if texts.is_empty() {
        return Err(FeatureError::Empty(dir.display().to_string()));
    }
    Ok(texts)
}

fn parse(mut texts: Vec<(PathBuf, String)>) -> Result<Vec<Feature>, FeatureError> {
    texts.sort_by(|a, b| a.0.cmp(&b.0));
    texts
        .into_iter()
        .map(|(path, text)| {
            let mut f =
                Feature::parse(&text, GherkinEnv::default()).map_err(|e| FeatureError::Parse {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            f.path = Some(path.clone());
            f.expand_examples().map_err(|e| FeatureError::Parse {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Keeps the scenarios that match both filters (when given). Features left empty are dropped.
pub fn filter(
    features: Vec<Feature>,
    tags: Option<&TagOperation>,
    name: Option<&Regex>,
) -> Vec<Feature> {
    let keep = |f: &Feature, s: &Scenario| {
        tags.is_none_or(|t| t.eval(f.tags.iter().chain(s.tags.iter())))
            && name.is_none_or(|re| re.is_match(&s.name))
    };
    features
        .into_iter()
        .filter_map(|mut f| {
            let snapshot = f.clone();
            f.scenarios.retain(|s| keep(&snapshot, s));
            for r in &mut f.rules {
                r.scenarios.retain(|s| keep(&snapshot, s));
            }
            f.rules.retain(|r| !r.scenarios.is_empty());
            (!f.scenarios.is_empty() || !f.rules.is_empty()).then_some(f)
        })
        .collect()
}

/// Splits off the scenarios `keep` refuses, returning them with their features.
pub fn split_off(
    features: Vec<Feature>,
    keep: impl Fn(&Scenario) -> bool,
) -> (Vec<Feature>, Vec<(Feature, Scenario)>) {
    let mut removed = Vec::new();
    let kept = features
        .into_iter()
        .filter_map(|mut f| {
            let (stay, go): (Vec<Scenario>, Vec<Scenario>) =
                f.scenarios.drain(..).partition(|s| keep(s));
            f.scenarios = stay;
            let mut gone = go;
            for r in &mut f.rules {
                let (stay, go_r): (Vec<Scenario>, Vec<Scenario>) =
                    r.scenarios.drain(..).partition(|s| keep(s));
                r.scenarios = stay;
                gone.extend(go_r);
            }
            removed.extend(gone.into_iter().map(|s| (f.clone(), s)));
            f.rules.retain(|r| !r.scenarios.is_empty());
            (!f.scenarios.is_empty() || !f.rules.is_empty()).then_some(f)
        })
        .collect();
    (kept, removed)
}

/// Every scenario of the features, with its feature.
pub fn scenarios(features: &[Feature]) -> Vec<(&Feature, &Scenario)> {
    features
        .iter()
        .flat_map(|f| {
            f.scenarios
                .iter()
                .chain(f.rules.iter().flat_map(|r| r.scenarios.iter()))
                .map(move |s| (f, s))
        })
        .collect()
}

/// The area of a feature: its file name without extension (`pkce`).
pub fn area(feature: &Feature) -> String {
    feature
        .path
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| feature.name.clone())
}

/// The requirement IDs a scenario's tags name.
pub fn ids(scenario: &Scenario) -> Vec<String> {
    scenario
        .tags
        .iter()
        .map(|t| t.trim_start_matches('@').to_string())
        .filter(|t| requirements::is_id(t))
        .collect()
}

/// The level tag (`@must` / `@should`).
pub fn severity(scenario: &Scenario) -> Option<Severity> {
    scenario
        .tags
        .iter()
        .find_map(|t| match t.trim_start_matches('@') {
            "must" => Some(Severity::Must),
            "should" => Some(Severity::Should),
            "info" => Some(Severity::Info),
            _ => None,
        })
}

/// Problems with scenario metadata: unknown IDs, IDs missing from the name, a level tag that
/// does not match the requirements' severity.
pub fn lint(features: &[Feature]) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(registry) = requirements::registry() else {
        return vec!["the requirement registry does not parse".into()];
    };
    for (f, s) in scenarios(features) {
        let at = format!("{}: {:?}", area(f), s.name);
        let ids = ids(s);
        if ids.is_empty() {
            problems.push(format!("{at}: no requirement ID tag"));
        }
        for id in &ids {
            match registry.get(id) {
                None => problems.push(format!("{at}: {id} is not in requirements.toml")),
                Some(_) if !s.name.contains(id.as_str()) => {
                    problems.push(format!("{at}: the name does not carry {id}"))
                }
                Some(_) => {}
            }
        }
        let strongest = ids
            .iter()
            .filter_map(|i| registry.get(i))
            .map(|r| r.severity)
            .min();
        match (severity(s), strongest) {
            (None, _) => problems.push(format!("{at}: no @must, @should or @info tag")),
            (Some(tag), Some(req)) if tag != req => problems.push(format!(
                "{at}: tagged @{} but its strongest requirement is {req}",
                tag.tag()
            )),
            _ => {}
        }
    }
    // Requirements no scenario cites are `coverage`'s business.
    problems
}

/// The step of scenarios that may share one login (catalogue section 17).
pub const SHARED_LOGIN_STEP: &str =
    "the client holds tokens for the MCP server from a login shared with read-only scenarios";

/// About how many authorizations the scenarios of `features` take: for each scenario, the most
/// its requirements' login kinds need (catalogue section 17). With `shared`, the scenarios that
/// take [`SHARED_LOGIN_STEP`] count once between them. The manual driver tells the user this
/// number before the run.
pub fn logins_needed(features: &[Feature], shared: bool) -> usize {
    let all = scenarios(features);
    let sharing = |s: &Scenario| shared && s.steps.iter().any(|st| st.value == SHARED_LOGIN_STEP);
    let own: usize = all
        .iter()
        .filter(|(_, s)| !sharing(s))
        .map(|(_, s)| {
            ids(s)
                .iter()
                .filter_map(|id| crate::requirements::get(id))
                .flat_map(|r| r.logins())
                .map(|l| l.authorizations())
                .max()
                .unwrap_or(0)
        })
        .sum();
    own + usize::from(all.iter().any(|(_, s)| sharing(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_features_parse_and_pass_the_lint() {
        let features = load(Source::Embedded).expect("embedded features parse");
        assert!(scenarios(&features).len() >= 50, "at least 50 scenarios");
        let problems = lint(&features);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn filters_by_tag_and_name() {
        let features = load(Source::Embedded).expect("parse");
        let tags: TagOperation = "@PKCE-03".parse().expect("tag expression");
        let only = filter(features.clone(), Some(&tags), None);
        assert_eq!(scenarios(&only).len(), 3);
        let re = Regex::new("^CODE-08 ").expect("regex");
        assert_eq!(scenarios(&filter(features, None, Some(&re))).len(), 1);
    }

    #[test]
    fn split_off_keeps_and_returns_by_predicate() {
        let features = load(Source::Embedded).expect("parse");
        let total = scenarios(&features).len();
        let (kept, removed) = split_off(features, |s| !s.name.starts_with("PKCE-"));
        assert_eq!(removed.len(), 20);
        assert!(removed.iter().all(|(_, s)| s.name.starts_with("PKCE-")));
        assert_eq!(scenarios(&kept).len() + removed.len(), total);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        assert!(load(Source::Dir(Path::new("/nonexistent/features"))).is_err());
    }
}
