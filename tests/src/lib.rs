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

/// Checks every answer in a simulated Zendesk's request log (body capture on) against
/// Zendesk's OpenAPI files with `tests/interop/zendesk_validate.py`, and that each of `ops`
/// (a path template, or `METHOD /path`) was among those validated. Skipped, and said so,
/// without the files.
///
/// # Panics
/// With the validator's report when anything fails or an operation was not validated.
pub fn zendesk_openapi_check(log: &deskferry_fixtures::sim::log::RequestLog, ops: &[&str]) {
    let Some(specs) = vendor_specs("zendesk") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("zendesk.jsonl");
    log.write_jsonl(&file).expect("write the request log");
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/interop/zendesk_validate.py"))
        .arg("--log")
        .arg(&file)
        .arg("--specs")
        .arg(specs)
        .output()
        .expect("run the validator");
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Zendesk OpenAPI validation failed:\n{report}");
    for op in ops {
        assert!(report.contains(op), "{op} was not validated:\n{report}");
    }
}

/// What [`openapi_check`] covered, from the validator's summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenApiCoverage {
    /// Requests checked (every line of the log).
    pub requests: u64,
    /// Of them, GETs.
    pub gets: u64,
    /// Of them, answered with an error (4xx, 5xx).
    pub errors: u64,
    /// Of them, with a multipart body (parsed by the validator from the bytes as sent).
    pub multipart: u64,
    /// Of them, sent against the spec on purpose and refused as they should be.
    pub refused_invalid: u64,
}

/// Checks a simulator's record of the wire (`RequestLog::write_jsonl` with body capture on)
/// against a vendor's OpenAPI file with `tests/interop/openapi_validate.py`: every request,
/// GETs and refused ones included, multipart bodies parsed from their bytes, and every answer,
/// error answers included. `args` are the vendor's (`--fix …`, `--error-shape …`).
///
/// # Panics
/// With the validator's report when anything fails, or when the log is empty.
pub fn openapi_check(
    log: &deskferry_fixtures::sim::log::RequestLog,
    spec: &std::path::Path,
    args: &[&str],
) -> OpenApiCoverage {
    let (passed, report) = openapi_report(log, spec, args);
    assert!(passed, "OpenAPI validation failed:\n{report}");
    let n = log.len();
    assert!(report.contains(&format!("validated {n} responses and {n} requests")), "{report}");
    let count = |what: &str| -> u64 {
        report
            .split(&[',', '(', ')', ';'][..])
            .find_map(|part| part.trim().strip_suffix(what).and_then(|n| n.trim().parse().ok()))
            .unwrap_or(0)
    };
    OpenApiCoverage {
        requests: n as u64,
        gets: count("GETs"),
        errors: count("answered with an error"),
        multipart: count("multipart"),
        refused_invalid: count("invalid on purpose and refused"),
    }
}

/// Every exchange of `log` validated against `spec` (the validator's `args`): whether all
/// passed, and the validator's report (a `FAIL …` line per failure, then the counts).
pub fn openapi_report(
    log: &deskferry_fixtures::sim::log::RequestLog,
    spec: &std::path::Path,
    args: &[&str],
) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("wire.jsonl");
    log.write_jsonl(&file).expect("write the request log");
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/interop/openapi_validate.py"))
        .arg("--spec")
        .arg(spec)
        .arg("--exchanges")
        .arg(&file)
        .args(args)
        .output()
        .expect("run the OpenAPI validator");
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}

/// What the benchmarks share: a dataset sealed into a verified bundle, and a simulator's
/// requests counted by kind.
pub mod bench {
    use std::collections::BTreeMap;
    use std::path::Path;

    use deskferry_fixtures::dataset::Dataset;
    use deskferry_fixtures::sim::log::LogEntry;
    use deskferry_format::{
        BundleReader, BundleWriter, Identities, Recipients, SignerKey, SigningKey, VerifyOptions,
        keygen,
    };

    /// `dataset` sealed into `dir/bench.dfb` with fresh keys under `dir/keys`, opened through
    /// the three verification tiers.
    pub fn sealed(dataset: &Dataset, dir: &Path) -> anyhow::Result<BundleReader> {
        let keys = keygen(&dir.join("keys"))?;
        let mut meta = dataset.bundle_meta(dataset.default_created_at());
        meta.purge_after = chrono::Utc::now() + chrono::Duration::days(30);
        let mut w = BundleWriter::create(&dir.join("work"), meta)?;
        dataset.write_bundle(&mut w)?;
        let bundle = dir.join("bench.dfb");
        w.seal(
            &bundle,
            &Recipients::from_file(&keys.recipient)?,
            &SigningKey::from_file(&keys.sign_key)?,
        )?;
        Ok(BundleReader::open(
            &bundle,
            &SignerKey::from_file(&keys.sign_pub)?,
            &Identities::from_file(&keys.identity)?,
            &VerifyOptions::default(),
        )?)
    }

    /// The requests of `entries` by `kind(method, path)`, and apart from them the ones refused
    /// with 429.
    pub fn tally(
        entries: &[LogEntry],
        kind: impl Fn(&str, &str) -> &'static str,
    ) -> (BTreeMap<&'static str, u64>, u64) {
        let mut by_kind = BTreeMap::new();
        let mut refused = 0u64;
        for e in entries {
            if e.rate_limited || e.status == 429 {
                refused += 1;
            } else {
                *by_kind.entry(kind(&e.method, &e.path)).or_default() += 1;
            }
        }
        (by_kind, refused)
    }
}
