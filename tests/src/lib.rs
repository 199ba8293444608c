//! End-to-end tests across the deskferry crates; tests/run runs the whole suite.
//!
//! Shared helpers of the suite live here.

use std::path::PathBuf;

/// A workspace binary (`deskferry-bundle`, `deskferry-sim`, …) from the same target directory
/// as the running test binary. `tests/run` builds every binary before the suite runs; tests
/// never run cargo themselves (a nested build would resolve features differently and rebuild
/// the world). `DESKFERRY_BIN_DIR` points elsewhere if needed.
///
/// # Panics
/// When the binary is missing, with the command that builds it.
pub fn workspace_bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("DESKFERRY_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            // target/debug/deps/suite-HASH → target/debug
            let exe = std::env::current_exe().expect("current test executable");
            exe.parent().and_then(|p| p.parent()).expect("target directory").to_path_buf()
        }
    };
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} missing: build the workspace's binaries first (cargo build --workspace --bins; tests/run does)",
        bin.display()
    );
    bin
}

/// The repository's root (the folder holding `Cargo.toml` of the workspace).
pub fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// The Python of the interop checks: `DESKFERRY_PYTHON`, else `.venv/bin/python` in the
/// repository (`tests/run` makes it).
///
/// # Panics
/// When neither exists, with the command that makes it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DESKFERRY_PYTHON") {
        return PathBuf::from(p);
    }
    let p = repo_root().join(".venv/bin/python");
    assert!(p.exists(), "python venv missing: run tests/run (or set DESKFERRY_PYTHON)");
    p
}

/// The folder of one vendor's OpenAPI files (`zendesk`, `front`, …), or `None` when they are
/// not there: the OpenAPI checks then print that they were skipped and why.
///
/// The files are not part of the repository (one of them has no licence): they are found in
/// `$DESKFERRY_SPECS/<vendor>` (a relative `DESKFERRY_SPECS` is taken from the repository
/// root), by default `../shared/specs/<vendor>` beside the repository. With
/// `DESKFERRY_REQUIRE_SPECS=1` (as `.ci/run` sets it) a missing folder fails the test instead.
///
/// # Panics
/// When the folder is missing and `DESKFERRY_REQUIRE_SPECS=1`.
pub fn vendor_specs(vendor: &str) -> Option<PathBuf> {
    let root = repo_root();
    let base = match std::env::var_os("DESKFERRY_SPECS") {
        Some(d) => root.join(d),
        None => root.join("../shared/specs"),
    };
    let dir = base.join(vendor);
    if dir.is_dir() {
        return Some(dir);
    }
    let why = format!(
        "{vendor}'s OpenAPI files are not in {} (set DESKFERRY_SPECS to the folder that holds \
         {vendor}/; by default ../shared/specs beside the repository)",
        dir.display()
    );
    if std::env::var("DESKFERRY_REQUIRE_SPECS").is_ok_and(|v| v == "1") {
        panic!("DESKFERRY_REQUIRE_SPECS=1 and {why}");
    }
    // Straight to stderr, not through eprintln!: the test harness captures that for passing
    // tests, and a skip must show in every run's output.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: OpenAPI check: {why}");
    None
}
