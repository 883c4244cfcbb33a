//! The fleet file (`run --fleet fleet.toml`): the targets of one invocation, each with its
//! profile or the embedded reference server, and the options that differ between them.
//!
//! ```toml
//! [[target]]
//! name = "staging"                     # the directory of its reports; unique
//! profile = "targets/staging.toml"     # relative to the fleet file
//! spec = "2025-11-25"
//! tags = "not @RS-06"
//!
//! [[target]]
//! name = "reference-split"
//! embedded = true                      # the embedded reference server
//! layout = "split"
//! defects = ["pkce-verifier-unchecked"]
//! ```
//!
//! The file is checked whole before any target runs: an unknown key, a duplicate name, a
//! missing file or a value that does not parse is a usage error naming the target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum as _;
use cucumber::gherkin::tagexpr::TagOperation;
use regex::Regex;
use serde::Deserialize;

use crate::cli::SpecChoice;
use crate::report::FailOn;

/// A fleet file, checked.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// In the file's order.
    pub targets: Vec<FleetTarget>,
}

/// One target of the fleet, with paths resolved against the fleet file's directory.
#[derive(Debug, Clone)]
pub struct FleetTarget {
    pub name: String,
    pub kind: TargetKind,
    pub spec: Option<SpecChoice>,
    pub tags: Option<TagOperation>,
    pub name_filter: Option<Regex>,
    pub baseline: Option<PathBuf>,
    pub fail_on: Option<FailOn>,
    pub strict: Option<bool>,
    pub concurrency: Option<u16>,
    pub timeout: Option<u64>,
    pub max_wait: Option<u64>,
    pub ca_cert: Option<PathBuf>,
}

/// What a fleet target is tested against.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// A deployed server: its profile, and a URL that overrides the profile's `target`.
    Deployed {
        profile: Option<PathBuf>,
        url: Option<String>,
    },
    /// The embedded reference server, started for this target (a profile may still set
    /// limits and concurrency).
    Embedded {
        profile: Option<PathBuf>,
        layout: reference_server::Layout,
        defects: Vec<reference_server::Defect>,
        variants: Vec<reference_server::Variant>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    target: Vec<TargetToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetToml {
    name: String,
    profile: Option<PathBuf>,
    url: Option<String>,
    #[serde(default)]
    embedded: bool,
    layout: Option<String>,
    #[serde(default)]
    defects: Vec<String>,
    #[serde(default)]
    variants: Vec<String>,
    spec: Option<String>,
    tags: Option<String>,
    name_filter: Option<String>,
    baseline: Option<PathBuf>,
    fail_on: Option<String>,
    strict: Option<bool>,
    concurrency: Option<u16>,
    timeout: Option<u64>,
    max_wait: Option<u64>,
    ca_cert: Option<PathBuf>,
}

/// The most targets one fleet file may list.
const MAX_TARGETS: usize = 1000;

impl Fleet {
    pub fn load(path: &Path) -> Result<Fleet, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the fleet file {}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Fleet::parse(&text, dir).map_err(|e| format!("fleet file {}: {e}", path.display()))
    }

    /// Parses and checks a fleet file whose relative paths are relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Fleet, String> {
        let file: FileToml = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.target.is_empty() {
            return Err("no [[target]]: a fleet names at least one target".into());
        }
        if file.target.len() > MAX_TARGETS {
            return Err(format!("more than {MAX_TARGETS} targets"));
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut targets = Vec::new();
        for (i, t) in file.target.into_iter().enumerate() {
            let at = format!("target {} ({:?})", i + 1, t.name);
            check_name(&t.name).map_err(|e| format!("{at}: {e}"))?;
            // Names are directories: two that differ only in case collide on some disks.
            if let Some(first) = seen.insert(t.name.to_lowercase(), i + 1) {
                return Err(format!(
                    "{at}: the name is already used by target {first}; each target needs its own name (it names its reports' directory)"
                ));
            }
            targets.push(target(t, dir).map_err(|e| format!("{at}: {e}"))?);
        }
        Ok(Fleet { targets })
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("a name is 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit (it names a directory)".into())
    }
}

/// A path of the fleet file, relative to its directory, that must name an existing file.
fn existing(dir: &Path, key: &str, path: &Path) -> Result<PathBuf, String> {
    let full = dir.join(path);
    if full.is_file() {
        Ok(full)
    } else {
        Err(format!("{key} {}: no such file", full.display()))
    }
}

fn target(t: TargetToml, dir: &Path) -> Result<FleetTarget, String> {
    let profile = t
        .profile
        .as_deref()
        .map(|p| existing(dir, "profile", p))
        .transpose()?;
    let kind = if t.embedded {
        if t.url.is_some() {
            return Err("`url` and `embedded = true` do not go together".into());
        }
        let layout = match &t.layout {
            Some(l) => reference_server::Layout::from_str(l, false).map_err(|_| {
                format!(
                    "layout {l:?}: expected one of same-origin, split, issuer-path, oidc-only, legacy-2025-03-26"
                )
            })?,
            None => reference_server::Layout::default(),
        };
        TargetKind::Embedded {
            profile,
            layout,
            defects: t
                .defects
                .iter()
                .map(|d| d.parse::<reference_server::Defect>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("defects: {e}"))?,
            variants: t
                .variants
                .iter()
                .map(|v| v.parse::<reference_server::Variant>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("variants: {e}"))?,
        }
    } else {
        for (key, given) in [
            ("layout", t.layout.is_some()),
            ("defects", !t.defects.is_empty()),
            ("variants", !t.variants.is_empty()),
        ] {
            if given {
                return Err(format!(
                    "`{key}` applies to the embedded reference server: add `embedded = true`"
                ));
            }
        }
        if profile.is_none() && t.url.is_none() {
            return Err(
                "give a `profile` (or a `url`), or `embedded = true` for the embedded reference server"
                    .into(),
            );
        }
        TargetKind::Deployed {
            profile,
            url: t.url,
        }
    };
    let spec = t
        .spec
        .as_deref()
        .map(|s| s.parse::<SpecChoice>().map_err(|e| format!("spec: {e}")))
        .transpose()?;
    let tags = t
        .tags
        .as_deref()
        .map(|s| {
            s.parse::<TagOperation>()
                .map_err(|e| format!("tags {s:?}: not a tag expression: {e}"))
        })
        .transpose()?;
    let name_filter = t
        .name_filter
        .as_deref()
        .map(|s| Regex::new(s).map_err(|e| format!("name_filter: {e}")))
        .transpose()?;
    let fail_on = t.fail_on.as_deref().map(str::parse::<FailOn>).transpose()?;
    if t.concurrency == Some(0) {
        return Err("concurrency must be at least 1".into());
    }
    if t.timeout.is_some_and(|s| s == 0 || s > 3600) {
        return Err("timeout must be 1 to 3600 seconds".into());
    }
    Ok(FleetTarget {
        name: t.name,
        kind,
        spec,
        tags,
        name_filter,
        baseline: t
            .baseline
            .as_deref()
            .map(|p| existing(dir, "baseline", p))
            .transpose()?,
        fail_on,
        strict: t.strict,
        concurrency: t.concurrency,
        timeout: t.timeout,
        max_wait: t.max_wait,
        ca_cert: t
            .ca_cert
            .as_deref()
            .map(|p| existing(dir, "ca_cert", p))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("fleet-file-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        std::fs::write(d.join("p.toml"), "").expect("profile");
        d
    }

    #[test]
    fn a_fleet_file_parses_with_paths_relative_to_it() {
        let d = dir();
        let f = Fleet::parse(
            r#"
            [[target]]
            name = "staging"
            profile = "p.toml"
            spec = "2025-11-25"
            tags = "not @RS-06"
            fail_on = "security"

            [[target]]
            name = "ref.split"
            embedded = true
            layout = "split"
            defects = ["code-reusable"]
            "#,
            &d,
        )
        .expect("parses");
        assert_eq!(f.targets.len(), 2);
        assert!(matches!(
            &f.targets[0].kind,
            TargetKind::Deployed { profile: Some(p), url: None } if *p == d.join("p.toml")
        ));
        assert_eq!(f.targets[0].fail_on, Some(FailOn::Security));
        assert!(matches!(
            &f.targets[1].kind,
            TargetKind::Embedded { layout: reference_server::Layout::Split, defects, .. }
                if defects == &[reference_server::Defect::CodeReusable]
        ));
    }

    #[test]
    fn bad_fleet_files_are_refused_with_the_reason() {
        let d = dir();
        for (text, says) in [
            ("", "no [[target]]"),
            (
                "[[target]]\nname = \"a\"\nembedded = true\ncolour = 1\n",
                "unknown field `colour`",
            ),
            ("targets = []\n", "unknown field `targets`"),
            (
                "[[target]]\nname = \"a\"\nembedded = true\n[[target]]\nname = \"A\"\nembedded = true\n",
                "already used by target 1",
            ),
            (
                "[[target]]\nname = \"a\"\nprofile = \"missing.toml\"\n",
                "no such file",
            ),
            (
                "[[target]]\nname = \"../up\"\nembedded = true\n",
                "names a directory",
            ),
            ("[[target]]\nname = \"a\"\n", "give a `profile`"),
            (
                "[[target]]\nname = \"a\"\nprofile = \"p.toml\"\nlayout = \"split\"\n",
                "add `embedded = true`",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\nlayout = \"sideways\"\n",
                "layout \"sideways\"",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\ndefects = [\"no-such\"]\n",
                "defects",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\nspec = \"1999-01-01\"\n",
                "spec",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\ntags = \"@a and and\"\n",
                "not a tag expression",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\nfail_on = \"hygiene\"\n",
                "fail_on",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\nurl = \"http://127.0.0.1:9/mcp\"\n",
                "do not go together",
            ),
            (
                "[[target]]\nname = \"a\"\nembedded = true\nbaseline = \"none.toml\"\n",
                "baseline",
            ),
        ] {
            let e = Fleet::parse(text, &d).expect_err(text);
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
