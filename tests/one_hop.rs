//! The one-hop rule: from a requirement ID, one `grep -rnE 'PKCE[-_]06'` finds everything about
//! it. For every requirement that has a scenario, its ID appears in the feature tag (by
//! construction) and its constant (`PKCE_06`) in the check module that judges it
//! (`src/checks`); for a requirement that binds a server and has a defect, the ID also appears
//! in the reference-server code that enforces it, outside the defect table (this test, and
//! `reference-server/tests/one_hop.rs` for the server alone).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mcp_oauth_conformance::features::{self, Source};
use mcp_oauth_conformance::requirements;
use reference_server::Defect;

/// The text of every `.rs` file below `dir`, by path.
fn sources(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && let Ok(text) = std::fs::read_to_string(&p)
            {
                out.insert(p, text);
            }
        }
    }
    out
}

/// Whether `text` names `id` as `PKCE-06` or `PKCE_06`, not as part of a longer ID.
fn names(text: &str, id: &str) -> bool {
    let forms = [id.to_string(), id.replace('-', "_")];
    forms.iter().any(|form| {
        text.match_indices(form.as_str()).any(|(at, _)| {
            let after = text[at + form.len()..].chars().next();
            let before = text[..at].chars().next_back();
            !after.is_some_and(|c| c.is_ascii_alphanumeric())
                && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

#[test]
fn every_tested_requirement_is_one_grep_away_from_its_check_server_code_and_defect() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = requirements::registry().expect("the catalogue parses");
    let features = features::load(Source::Embedded).expect("the features parse");
    let mut tested: BTreeSet<String> = BTreeSet::new();
    for (_, scenario) in features::scenarios(&features) {
        tested.extend(features::ids(scenario));
    }
    let checks = sources(&root.join("src/checks"));
    let server: BTreeMap<PathBuf, String> = sources(&root.join("reference-server/src"))
        .into_iter()
        .filter(|(p, _)| !p.ends_with("defects.rs"))
        .collect();
    let mut defected: BTreeSet<&str> = BTreeSet::new();
    for d in Defect::ALL {
        for id in d.requirements() {
            defected.insert(id.as_str());
        }
    }

    let mut gaps = Vec::new();
    for id in &tested {
        let Some(r) = registry.get(id) else {
            gaps.push(format!(
                "{id}: a scenario tag that is not in requirements.toml"
            ));
            continue;
        };
        if !checks.values().any(|t| t.contains(&id.replace('-', "_"))) {
            gaps.push(format!("{id}: no check in src/checks names it"));
        }
        let binds_server = r.binds.contains("AS") || r.binds.contains("RS");
        if binds_server && defected.contains(id.as_str()) && !server.values().any(|t| names(t, id))
        {
            gaps.push(format!(
                "{id}: binds {} and has a defect, but no reference-server code outside the defect table names it",
                r.binds
            ));
        }
    }
    assert!(
        gaps.is_empty(),
        "the one-hop rule is broken:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn names_matches_whole_ids_only() {
    assert!(names("// PKCE-06 the verifier", "PKCE-06"));
    assert!(names("req::PKCE_06,", "PKCE-06"));
    assert!(!names("PKCE-061", "PKCE-06"));
    assert!(!names("XPKCE_06", "PKCE-06"));
}
