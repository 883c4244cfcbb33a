//! One constant per requirement ID of the catalogue (`[PKCE-06]` becomes `PKCE_06`), so that a
//! misspelt ID does not compile. The catalogue's table headers are the IDs; nothing else of it
//! is read here (the runner parses the whole catalogue at run time).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let catalogue = manifest.join("../requirements.toml");
    println!("cargo:rerun-if-changed={}", catalogue.display());
    let text = match std::fs::read_to_string(&catalogue) {
        Ok(t) => t,
        Err(e) => {
            println!("cargo:warning=cannot read {}: {e}", catalogue.display());
            std::process::exit(1);
        }
    };
    let mut ids: Vec<&str> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
            continue;
        };
        let well_formed = id.split_once('-').is_some_and(|(area, num)| {
            !area.is_empty()
                && area.bytes().all(|b| b.is_ascii_uppercase())
                && !num.is_empty()
                && num.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_formed {
            println!(
                "cargo:warning=requirements.toml line {}: [{id}] is not an ID of the form AREA-NN",
                n + 1
            );
            std::process::exit(1);
        }
        if ids.contains(&id) {
            println!(
                "cargo:warning=requirements.toml line {}: [{id}] appears twice",
                n + 1
            );
            std::process::exit(1);
        }
        ids.push(id);
    }
    let mut out = String::new();
    for id in &ids {
        let name = id.replace('-', "_");
        let _ = writeln!(
            out,
            "#[doc = \"`{id}` in `requirements.toml`.\"]\npub const {name}: Id = Id(\"{id}\");"
        );
    }
    let _ = writeln!(
        out,
        "/// Every ID, in catalogue order.\npub const ALL: &[Id] = &["
    );
    for id in &ids {
        let _ = writeln!(out, "    {},", id.replace('-', "_"));
    }
    let _ = writeln!(out, "];");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("ids.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
        std::process::exit(1);
    }
}
