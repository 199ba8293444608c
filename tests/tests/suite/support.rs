//! Helpers the suites that drive the binaries share: exit codes with the tool's own output,
//! `--json` results, report checks, private files.

use std::collections::BTreeMap;
use std::path::Path;

use deskferry_fixtures::demo::summary::Summary;
use deskferry_fixtures::demo::tools::Ran;
use serde_json::Value;

/// Fails with the tool's own output when it did not exit with one of `codes`.
pub fn check(ran: &Ran, what: &str, codes: &[i32]) {
    assert!(
        codes.contains(&ran.code()),
        "{what}: exit {}\n--- stdout\n{}\n--- stderr\n{}",
        ran.code(),
        ran.stdout,
        ran.stderr
    );
}

/// The last JSON object a tool printed with `--json`.
pub fn json_of(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout).unwrap_or_else(|_| {
        panic!("no JSON on stdout:\n{}\n--- stderr\n{}", ran.stdout, ran.stderr)
    })
}

/// Every row of the bundle has an outcome, nothing failed, everything migrated was read back
/// equal, and reconciliation found no difference.
pub fn assert_accounted_and_clean(report: &Path, what: &str) -> Summary {
    let s = Summary::read(report).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    let csv = std::fs::read_to_string(report.join("reconcile.csv")).unwrap_or_default();
    let bad: Vec<&str> =
        csv.lines().filter(|l| l.contains(",difference,") || l.contains(",error,")).collect();
    assert!(bad.is_empty(), "{what}: reconcile found differences:\n{}", bad.join("\n"));
    for e in &s.entities {
        assert_eq!(
            e.available,
            e.migrated + e.failed + e.skipped,
            "{what}: {} rows without an outcome: {e:?}",
            e.entity
        );
        assert_eq!(e.failed, 0, "{what}: {e:?}");
        if let Some(r) = e.reconciled {
            let records = std::fs::read_to_string(report.join("records.csv")).unwrap_or_default();
            let rows: Vec<&str> = records
                .lines()
                .filter(|l| l.starts_with(&format!("{},", e.entity)))
                .take(20)
                .collect();
            assert_eq!(
                r,
                e.migrated,
                "{what}: {} not all read back equal: {e:?}\n{}\n{csv}",
                e.entity,
                rows.join("\n")
            );
        }
    }
    assert_eq!(s.verdict("difference") + s.verdict("error"), 0, "{what}: {:?}", s.verdicts);
    s
}

/// Outcome per source id of one entity in a report's records.csv.
pub fn ledger_outcomes(dir: &Path, entity: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("records.csv")).expect("records.csv");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[0] == entity)
        .map(|r| (r[1].to_string(), r[3].to_string()))
        .collect()
}

/// Writes a 0600 file.
pub fn private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create private file");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write");
}

/// xorshift64*: seeded, repeatable choices (kill points, delays) without another dependency.
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1).max(1)
    }
}

/// A fixed clock for every extraction a test compares (the extractor's reproducible-builds
/// convention, `SOURCE_DATE_EPOCH`), recent enough that the bundle is not past its purge date.
pub fn fixed_epoch() -> String {
    let now = chrono::Utc::now().timestamp();
    (now - now % 86_400).to_string()
}

/// `deskferry-load COMMAND` of `bundle` (signed and encrypted with `identity`/`signer`) into the
/// connection file `target.toml` in `dir`, with the ledger `ledger` and the report in `report`:
/// the exit code, the last JSON object it printed, and its stderr.
pub fn load_into(
    dir: &Path,
    bundle: &Path,
    (identity, signer): (&Path, &Path),
    ledger: &str,
    command: &str,
    report: &str,
) -> (i32, Value, String) {
    let out = std::process::Command::new(deskferry_tests::workspace_bin("deskferry-load"))
        .arg(command)
        .arg("--target")
        .arg("target.toml")
        .arg("--bundle")
        .arg(bundle)
        .arg("--identity")
        .arg(identity)
        .arg("--signer")
        .arg(signer)
        .arg("--ledger")
        .arg(ledger)
        .arg("--report")
        .arg(report)
        .arg("--json")
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", fixed_epoch())
        .output()
        .expect("run deskferry-load");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok().filter(Value::is_object))
        .unwrap_or_else(|| serde_json::from_str(&stdout).unwrap_or(Value::Null));
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// The failed rows of `records.csv` in report folder `report` under `dir`, with their reasons
/// (for a failure message).
pub fn failed_rows(dir: &Path, report: &str) -> String {
    let text = std::fs::read_to_string(dir.join(report).join("records.csv")).unwrap_or_default();
    text.lines().filter(|l| l.contains(",failed,")).collect::<Vec<_>>().join("\n")
}
