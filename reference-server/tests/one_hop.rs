//! One hop from a requirement to the code that enforces it: every requirement of the catalogue
//! that binds the authorization server or the resource server, has a scenario and has a defect
//! is named (`REFRESH-04` or `req::REFRESH_04`) somewhere in the server's source other than the
//! defect table and module overviews, so that a search for the ID finds the enforcing check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reference_server::Defect;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The requirement IDs whose `binds` names the AS, the RS or the MCP-AS.
fn server_requirements() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("requirements.toml")).expect("the catalogue");
    let catalogue: toml::Table = text.parse().expect("the catalogue parses");
    catalogue
        .iter()
        .filter(|(_, entry)| {
            let binds = entry
                .get("binds")
                .and_then(toml::Value::as_str)
                .unwrap_or("");
            binds
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|party| matches!(party, "AS" | "RS" | "MCP-AS"))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Every `@ID` tag of the feature files.
fn tagged() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let dir = repo().join("features");
    for entry in std::fs::read_dir(&dir).expect("features/") {
        let path = entry.expect("a feature file").path();
        if path.extension().is_some_and(|e| e == "feature") {
            let text = std::fs::read_to_string(&path).expect("readable");
            for word in text.split_whitespace() {
                if let Some(id) = word.strip_prefix('@')
                    && req::Id::parse(id).is_some()
                {
                    out.insert(id.to_string());
                }
            }
        }
    }
    out
}

/// The server's source, without the defect table and without module overviews (`//!`).
fn source() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).expect("a source directory") {
            let path = entry.expect("a source entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "defects.rs")
            {
                let text = std::fs::read_to_string(&path).expect("readable");
                for line in text.lines().filter(|l| !l.trim_start().starts_with("//!")) {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    let mut out = String::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// Whether `id` (`REFRESH-04`) is named in `text` as `REFRESH-04` or `REFRESH_04`, not as the
/// start of a longer number.
fn names(text: &str, id: &str) -> bool {
    [id.to_string(), id.replace('-', "_")].iter().any(|form| {
        text.match_indices(form.as_str()).any(|(at, _)| {
            !text[at + form.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    })
}

#[test]
fn every_enforced_requirement_is_named_where_it_is_enforced() {
    let with_defect: BTreeSet<&str> = Defect::ALL
        .iter()
        .flat_map(|d| d.requirements().iter().map(|id| id.as_str()))
        .collect();
    let tagged = tagged();
    let source = source();
    let unnamed: Vec<String> = server_requirements()
        .into_iter()
        .filter(|id| tagged.contains(id) && with_defect.contains(id.as_str()))
        .filter(|id| !names(&source, id))
        .collect();
    assert_eq!(
        unnamed,
        Vec::<String>::new(),
        "name these where they are enforced"
    );
}

#[test]
fn an_id_is_found_in_either_spelling_and_not_as_a_prefix() {
    assert!(names("// REFRESH-04: bound", "REFRESH-04"));
    assert!(names("req::REFRESH_04", "REFRESH-04"));
    assert!(!names("// REFRESH-041", "REFRESH-04"));
    assert!(!names("// REFRESH-01..05", "REFRESH-04"));
}
