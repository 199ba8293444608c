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
