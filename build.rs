//! The feature files are embedded in the binary: a new, removed or changed file rebuilds it.

fn main() {
    println!("cargo:rerun-if-changed=features");
    println!("cargo:rerun-if-changed=requirements.toml");
}
