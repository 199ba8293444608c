//! The report at scale, opened in a real browser: a ledger of 300,000 records (most of them
//! the same few kinds of limit, some failures) and a reconciliation of 200,000 rows go through
//! `ReportData::gather` and `write` as `deskferry-load` calls them; report.html must stay small
//! and open in headless Chromium (Debian's package, which `tests/run` installs) with its last
//! section parsed, while records.csv keeps every row. How long Chromium took is printed, not
//! asserted (shared machines).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_loader::check_log::CheckLog;
use deskferry_loader::ledger::{Entry, Ledger, Outcome};
use deskferry_loader::reconcile::{Check, Reconciliation, Verdict};
use deskferry_loader::report::ReportData;

const RECORDS: usize = 300_000;
const CHECKS: usize = 200_000;

fn chromium() -> std::path::PathBuf {
    let p = std::env::var_os("DESKFERRY_CHROMIUM")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        p.is_file(),
        "{} missing: tests/run installs Debian's chromium (or set DESKFERRY_CHROMIUM)",
        p.display()
    );
    p
}

/// The page as Chromium parsed it (`--dump-dom`), with the flags a closed network needs.
fn dump_dom(page: &Path, profile: &Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 DOM")
}

#[test]
fn a_report_of_300000_records_stays_small_and_opens_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = Dataset::generate(7, Size::Tiny);
    let reader = deskferry_tests::bench::sealed(&dataset, dir.path()).expect("bundle");
    let ledger = Ledger::open(&dir.path().join("front.ledger")).unwrap();
    let entries: Vec<Entry> = (0..RECORDS)
        .map(|i| {
            let id = format!("c{i}");
            match i % 100 {
                0 => Entry::new("comments", &id, Outcome::Failed, "b", "h")
                    .reason(&format!("HTTP 422 on message {i}"), true),
                1..=60 => Entry::new("comments", &id, Outcome::Skipped, "b", "h").reason(
                    &format!("target limit: a file of {} MB is over 25 MB", 26 + i % 7),
                    true,
                ),
                _ => Entry::new("comments", &id, Outcome::Migrated, "b", "h")
                    .target(Some(format!("msg_{i}"))),
            }
        })
        .collect();
    ledger.put(&entries, None).unwrap();
    drop(entries);
    let mut data = ReportData::gather("reconcile", "front", &reader, &ledger).unwrap();
    let mut checks = CheckLog::in_dir(dir.path());
    checks
        .extend((0..CHECKS).map(|i| Check {
            entity: "tickets".into(),
            record: format!("t{i}"),
            target_id: format!("cnv_{i}"),
            comment: Some(format!("c{i}")),
            check: "author".into(),
            verdict: if i % 1000 == 0 { Verdict::Difference } else { Verdict::Limit },
            expected: "agent@example.com".into(),
            actual: String::new(),
            note: "Front keeps no author for a note imported by the API token's teammate".into(),
        }))
        .unwrap();
    data.set_reconcile(Reconciliation { tickets: CHECKS as u64, checks, ..Default::default() });
    let out = dir.path().join("report");
    data.write(&out, &ledger).unwrap();

    let page = out.join("report.html");
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 512 * 1024, "report.html is {size} bytes for {RECORDS} records");
    let csv = std::fs::read_to_string(out.join("records.csv")).unwrap();
    assert_eq!(csv.lines().count(), RECORDS + 1, "records.csv keeps every row");
    let rec = std::fs::read_to_string(out.join("reconcile.csv")).unwrap();
    assert_eq!(rec.lines().count(), CHECKS + 1, "reconcile.csv keeps every row");

    let started = Instant::now();
    let dom = dump_dom(&page, &dir.path().join("chromium-profile"));
    eprintln!(
        "report.html: {size} bytes for {RECORDS} records and {CHECKS} checks; headless Chromium parsed it in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert!(dom.contains("Needs attention"), "failures first");
    assert!(dom.contains("HTTP 422 on message 0"), "a failure listed one by one");
    // Every limit of one shape is one row with its count.
    assert!(dom.contains("<td>180000</td>"), "the 180,000 skipped comments in one row");
    assert!(dom.contains("<td>199800</td>"), "the 199,800 limit checks in one row");
    assert!(
        dom.contains("Every record with its source and target id is in"),
        "the page parsed to its last paragraph"
    );
    let rows = dom.matches("<tr").count();
    assert!(rows < 2_000, "{rows} table rows in the page");
}
