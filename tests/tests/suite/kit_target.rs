//! The conformance kit's target checks that the matrix does not run, for every target the
//! registry has, each on a fresh kit world (`deskferry_fixtures::kit::start_world`: a simulator,
//! or the real Request Tracker behind the kit's proxy, whose log sees every request):
//!
//! 1. A refused bundle — every case of [`CASES`] (tampered, truncated, unsigned, another key,
//!    a blob missing, a sidecar that is a FIFO, tables that decode to more than they claim, a
//!    setuid entry, past its purge date) — makes `deskferry-load run` exit 2, naming the code
//!    once and saying nothing was written, before the target sees a single request.
//! 2. A token revoked in the middle of a load (an administrator deleting it: the simulated
//!    company forgets it; Request Tracker's tokens are deleted through its Perl API) stops the
//!    run with exit 2 and a message that names the refusal and the remedy, instead of failing
//!    every remaining record one by one: a handful of tickets in flight may fail, the rest is
//!    left for a re-run with a new token, and the token never appears in the output.
//!
//! The verdicts print as a table (`tests/run -- kit_target --nocapture`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deskferry_extractor::platforms::registry::{self, Role};
use deskferry_fixtures::bad_bundles;
use deskferry_fixtures::dataset::Size;
use deskferry_fixtures::kit::{World, WorldOptions, start_world};
use deskferry_loader::ledger::{Ledger, Outcome};
use deskferry_tests::workspace_bin;
use serde_json::Value;

use crate::load_front::world as bundle_of;
use crate::support::fixed_epoch;

/// Bad-bundle cases across the three tiers of verification; `flip_last_chunk` is the final
/// chunk's case.
pub(crate) const CASES: [&str; 17] = [
    "flip_last_chunk",
    "flip_middle_chunk",
    "truncated_at_chunk_boundary",
    "signature_missing",
    "ciphertext_edited_after_signing",
    "wrong_key",
    "payload_hash_wrong",
    "attachment_without_blob",
    "expired",
    "envelope_is_fifo",
    "bundle_is_device",
    "kb_data_page_corrupted",
    "extra_row_footer_patched",
    "dictionary_decodes_huge",
    "attachment_totals_wrong",
    "blob_unreferenced",
    "setuid_blob",
];

/// Records written at once in these loads (`options.concurrency`, set so that every target is
/// measured alike: a target's own default may be higher, Zendesk's 100).
const CONCURRENCY: u64 = 4;

/// Tickets in flight when the token goes: the loads' concurrency, plus one.
const IN_FLIGHT: u64 = CONCURRENCY + 1;

/// Tickets written before the token is revoked.
const BEFORE_REVOKING: usize = 3;

/// The dataset both the world and the bundle come from.
const SEED: u64 = 5;

/// `deskferry-load run` into the world's connection file `target.toml` (in `dir`).
fn run_command(dir: &Path, bundle: &Path, identity: &Path, signer: &Path, name: &str) -> Command {
    let mapping = dir.join("kit-mapping.toml");
    std::fs::write(&mapping, format!("[options]\nconcurrency = {CONCURRENCY}\n"))
        .expect("write the mapping");
    let mut c = Command::new(workspace_bin("deskferry-load"));
    c.arg("run")
        .arg("--mapping")
        .arg(&mapping)
        .arg("--target")
        .arg("target.toml")
        .arg("--bundle")
        .arg(bundle)
        .arg("--identity")
        .arg(identity)
        .arg("--signer")
        .arg(signer)
        .arg("--ledger")
        .arg(format!("{name}.ledger"))
        .arg("--report")
        .arg(format!("{name}-report"))
        .arg("--json")
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", fixed_epoch())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Every refused bundle: exit 2, its code named once, nothing written, no request seen.
fn refused_bundles(w: &dyn World, dir: &Path) -> String {
    let what = w.platform();
    let all = bad_bundles::generate_all(&dir.join("bad")).expect("generating broken bundles");
    for name in CASES {
        let b = all.iter().find(|b| b.name == name).unwrap_or_else(|| panic!("no case {name}"));
        let out = run_command(dir, &b.bundle, &b.identity, &b.signer_pub, name)
            .output()
            .expect("running deskferry-load");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what} {name}: exit code (stderr: {stderr})");
        assert_eq!(
            stderr.matches(b.code).count(),
            1,
            "{what} {name}: names {} once: {stderr}",
            b.code
        );
        assert!(stderr.contains("nothing was written to the target"), "{what} {name}: {stderr}");
        let seen = w.log().entries();
        assert!(
            seen.is_empty(),
            "{what} {name}: the target saw {} requests, first {:?}",
            seen.len(),
            seen.first()
        );
        assert!(!dir.join(format!("{name}-report")).exists(), "{what} {name}: a report");
    }
    format!("{} refused bundles, 0 requests", CASES.len())
}

/// Waits for `child` (at most two minutes); its exit code, the JSON it printed and stderr.
fn finish(mut child: Child) -> (i32, Value, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("deskferry-load did not stop after the token was revoked");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The report's JSON comes first; the binary's error line follows it.
    let json = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no JSON on stdout:\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// Tickets the ledger holds as migrated (0 until the loader created it).
fn migrated_tickets(path: &Path) -> usize {
    if !path.exists() {
        return 0;
    }
    Ledger::open(path)
        .and_then(|l| l.entity("tickets"))
        .map(|e| e.values().filter(|e| e.outcome == Outcome::Migrated).count())
        .unwrap_or(0)
}

/// A load of the world's dataset whose token is revoked once a few tickets were written.
fn revoked_mid_run(w: &dyn World, dir: &Path) -> String {
    let what = w.platform();
    let b = bundle_of(SEED, Size::Small);
    let mut child =
        run_command(dir, &b.bundle, &b.identity, &b.signer, "revoked").spawn().expect("spawn");
    let ledger = dir.join("revoked.ledger");
    let deadline = Instant::now() + Duration::from_secs(600);
    while migrated_tickets(&ledger) < BEFORE_REVOKING {
        if child.try_wait().expect("wait").is_some() {
            let (code, json, stderr) = finish(child);
            panic!(
                "{what}: the load ended ({code}) before {BEFORE_REVOKING} tickets:\n{json}\n{stderr}"
            );
        }
        assert!(Instant::now() < deadline, "{what}: no {BEFORE_REVOKING} tickets in ten minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    w.revoke_token().expect("revoke the token");
    let (code, json, stderr) = finish(child);
    assert_eq!(code, 2, "{what}: a revoked token is fatal:\n{json}\n{stderr}");
    let error = json["error"].as_str().unwrap_or_default();
    assert!(error.contains("401"), "{what}: the error names the refusal: {error}");
    assert!(error.contains("check the token"), "{what}: the error says what to do: {error}");
    assert!(stderr.contains("check the token"), "{what}: stderr says what to do:\n{stderr}");
    let token = std::fs::read_to_string(dir.join("target.token")).expect("token file");
    let token = token.trim();
    let stdout = json.to_string();
    assert!(!stderr.contains(token) && !stdout.contains(token), "{what}: the token leaked");
    let tickets = json["summary"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["entity"] == "tickets"))
        .unwrap_or_else(|| panic!("{what}: no ticket counts: {json}"));
    let migrated = tickets["migrated"].as_u64().unwrap_or(0);
    let failed = tickets["failed"].as_u64().unwrap_or(0);
    let total = b.dataset.tickets.len() as u64;
    assert!(migrated >= 2, "{what}: the run wrote tickets before the token went: {tickets}");
    assert!(failed <= IN_FLIGHT, "{what}: only the tickets in flight fail: {tickets}");
    assert!(migrated + failed < total, "{what}: the rest is left for a re-run: {tickets}");
    format!(
        "token revoked after {migrated} of {total} tickets: exit 2, {failed} failed in flight, the rest untouched"
    )
}

fn target_checks(target: &'static str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = WorldOptions { size: Size::Small, seed: SEED, ..WorldOptions::default() };
    let w = start_world(target, Role::Target, &opts).unwrap_or_else(|e| panic!("{target}: {e:#}"));
    w.write_connection(dir.path(), "target").expect("connection file");
    let gate = refused_bundles(w.as_ref(), dir.path());
    let revoked = revoked_mid_run(w.as_ref(), dir.path());
    w.stop().expect("stop the world");
    format!("{gate}; {revoked}")
}

#[test]
fn every_target_refuses_bad_bundles_unseen_and_stops_on_a_revoked_token() {
    let targets: Vec<&'static str> = registry::with_role(Role::Target).map(|p| p.name).collect();
    let rows: Vec<(&str, Result<String, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> =
            targets.iter().map(|&t| (t, s.spawn(move || target_checks(t)))).collect();
        handles.into_iter().map(|(t, h)| (t, h.join().map_err(crate::matrix::message))).collect()
    });
    let mut table = String::from("\nthe kit's target checks (small dataset, seed 5)\n");
    for (t, r) in &rows {
        match r {
            Ok(v) => table.push_str(&format!("  {t}: ok — {v}\n")),
            Err(e) => table.push_str(&format!("  {t}: FAILED — {e}\n")),
        }
    }
    eprintln!("{table}");
    assert!(rows.len() >= 2, "{table}");
    assert!(rows.iter().all(|(_, r)| r.is_ok()), "{table}");
}
