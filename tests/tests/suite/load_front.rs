//! A `small` bundle → the simulated Front through `deskferry-load run`, then `reconcile`: zero
//! differences apart from Front's documented limits, which the report lists; a second `run`
//! changes nothing; every request the loader sent (GETs and refused ones included, multipart
//! bodies as sent) and every answer (errors included) validates against Front's OpenAPI file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::faults::{Fault, FaultSpec};
use deskferry_fixtures::sim::front::{self, FrontConfig, FrontPlan, FrontSeed, FrontServer};
use deskferry_format::{BundleWriter, Recipients, SigningKey, keygen};
use serde_json::Value;

/// Environment variable the target.toml names for the token (never in argv).
pub(crate) const TOKEN_ENV: &str = "DESKFERRY_TEST_FRONT_TOKEN";

/// A dataset's bundle with the keys to open it.
pub(crate) struct World {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) bundle: PathBuf,
    pub(crate) identity: PathBuf,
    pub(crate) signer: PathBuf,
    pub(crate) dataset: Dataset,
}

/// The bundle of dataset `seed`/`size`, written by the dataset itself (no source in between).
pub(crate) fn world(seed: u64, size: Size) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = keygen(&dir.path().join("keys")).expect("keygen");
    let dataset = Dataset::generate(seed, size);
    let mut meta = dataset.bundle_meta(dataset.default_created_at());
    meta.purge_after = chrono::Utc::now() + chrono::Duration::days(30);
    let mut w = BundleWriter::create(&dir.path().join("work"), meta).expect("writer");
    dataset.write_bundle(&mut w).expect("write bundle");
    let bundle = dir.path().join(format!("{}.dfb", size.name()));
    w.seal(
        &bundle,
        &Recipients::from_file(&keys.recipient).expect("recipient"),
        &SigningKey::from_file(&keys.sign_key).expect("sign key"),
    )
    .expect("seal");
    World { dir, bundle, identity: keys.identity, signer: keys.sign_pub, dataset }
}

/// A simulated Front prepared for `dataset` (its agents, groups and fields).
pub(crate) async fn front_for(dataset: &Dataset) -> FrontServer {
    front_with(dataset, FaultSpec::none(), FrontConfig::default().duplicate_status).await
}

/// Like [`front_for`], with injected faults and the status refusing a taken unique key (which
/// Front does not document).
async fn front_with(
    dataset: &Dataset,
    faults: FaultSpec,
    duplicate_status: reqwest::StatusCode,
) -> FrontServer {
    let config = FrontConfig {
        duplicate_status,
        plan: FrontPlan::Custom(1_000_000),
        processing_delay: Duration::from_millis(20),
        // The thousand-comment thread would take minutes under the real 5/s burst tier; the
        // benchmark runs with it.
        burst_per_second: None,
        record_exchanges: true,
        ..FrontConfig::default()
    };
    let seed = FrontSeed::from_records(&dataset.users, &dataset.groups, &dataset.custom_fields);
    let options = SimOptions { seed: dataset.seed, faults, ..SimOptions::default() };
    front::start(&options, config, &seed, 0).await.expect("start front sim")
}

/// A Front target.toml whose token comes from [`TOKEN_ENV`].
pub(crate) fn target_toml(dir: &Path, url: &str, inbox: &str) -> PathBuf {
    let p = dir.join("target.toml");
    let text = format!(
        "platform = \"front\"\nurl = \"{url}\"\n[credentials]\ntoken_env = \"{TOKEN_ENV}\"\n\
         [rate_limits]\ndefault = 1000000\n[front]\ninbox = {inbox:?}\nburst_per_second = 100000\n"
    );
    std::fs::write(&p, text).expect("write target.toml");
    p
}

/// `deskferry-load COMMAND … --json` on `w`'s bundle and ledger, the token in [`TOKEN_ENV`].
pub(crate) fn load_command(
    w: &World,
    command: &str,
    target: &Path,
    token: &str,
    report: &Path,
) -> Command {
    load_command_with(w, command, target, token, report, &w.dir.path().join("front.ledger"))
}

/// [`load_command`] with another ledger.
fn load_command_with(
    w: &World,
    command: &str,
    target: &Path,
    token: &str,
    report: &Path,
    ledger: &Path,
) -> Command {
    let mut cmd = Command::new(deskferry_tests::workspace_bin("deskferry-load"));
    cmd.arg(command)
        .arg("--target")
        .arg(target)
        .arg("--bundle")
        .arg(&w.bundle)
        .arg("--identity")
        .arg(&w.identity)
        .arg("--signer")
        .arg(&w.signer)
        .arg("--ledger")
        .arg(ledger)
        .arg("--report")
        .arg(report)
        .arg("--json")
        .env(TOKEN_ENV, token);
    cmd
}

/// Runs `deskferry-load COMMAND … --json`; returns the exit code and the JSON it printed.
fn load(w: &World, command: &str, target: &Path, token: &str, report: &Path) -> (i32, Value) {
    run_json(load_command(w, command, target, token, report), command, token)
}

/// Runs a prepared `deskferry-load … --json`; returns the exit code and the JSON it printed.
fn run_json(mut cmd: Command, command: &str, token: &str) -> (i32, Value) {
    let out = cmd.output().expect("run deskferry-load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_str(&stdout)
        .ok()
        .or_else(|| {
            stdout
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str::<Value>(l).ok().filter(Value::is_object))
        })
        .unwrap_or_else(|| panic!("{command}: no JSON on stdout:\n{stdout}\n{stderr}"));
    assert!(!stderr.contains(token), "the token leaked into the output");
    (out.status.code().unwrap_or(-1), json)
}

/// Checks everything the loader sent and Front answered on the wire (GETs, refused requests,
/// multipart bodies as sent, error answers) against Front's OpenAPI file (skipped, and said
/// so, without it); the coverage must include each kind.
fn validate_exchanges(server: &FrontServer) {
    let Some(cov) = crate::front_sim::validate(server) else { return };
    assert!(cov.gets > 0 && cov.errors > 0 && cov.multipart > 0, "{cov:?}");
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Cells of our reports never hold line breaks (ids, counts, hashes, notes).
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// GET a JSON page, again until it answers 200 (the fault test injects 500s, resets and
/// truncated bodies into the test's own reads too).
async fn get_page(http: &reqwest::Client, url: &str, token: &str) -> Value {
    for _ in 0..50 {
        if let Ok(resp) = http.get(url).bearer_auth(token).send().await
            && resp.status() == 200
            && let Ok(v) = resp.json::<Value>().await
        {
            return v;
        }
    }
    panic!("GET {url} kept failing");
}

/// How many records a Front list holds (`conversations`, `contacts`, `accounts`), every page.
async fn count_list(url: &str, token: &str, list: &str) -> usize {
    let http = reqwest::Client::new();
    let mut next = Some(format!("{url}/{list}?limit=100"));
    let mut n = 0;
    while let Some(u) = next.take() {
        let page = get_page(&http, &u, token).await;
        n += page["_results"].as_array().map(Vec::len).unwrap_or(0);
        next = page["_pagination"]["next"].as_str().map(str::to_string);
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_bundle_into_front_reconciles_apart_from_documented_limits() {
    let w = world(11, Size::Small);
    let server = front_for(&w.dataset).await;
    let inbox =
        w.dataset.groups.iter().find(|g| !g.is_deleted).map(|g| g.name.clone()).expect("a group");
    let target = target_toml(w.dir.path(), &server.running.url(), &inbox);
    let token = server.state.token().to_string();

    let report = w.dir.path().join("report-run");
    let (code, run) = load(&w, "run", &target, &token, &report);
    assert!(code == 0 || code == 1, "run failed ({code}): {run}");
    let counts = &run["run"]["counts"];
    assert!(counts["migrated"].as_u64().unwrap_or(0) > 500, "{run}");
    // Whatever was not migrated is skipped for a reason the report names (agents Front cannot
    // create, files over its size limit, the knowledge base), never failed.
    let records = read_csv(&report.join("records.csv"));
    let failed: Vec<_> = records.iter().filter(|r| r[3] == "failed").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(counts["failed"].as_u64(), Some(0), "{run}");
    // Tickets are skipped only by the default filter (deleted at the source), never by Front.
    let odd_tickets: Vec<_> = records
        .iter()
        .filter(|r| {
            r[0] == "tickets" && r[3] != "migrated" && !r[4].starts_with("deleted at the source")
        })
        .collect();
    assert!(odd_tickets.is_empty(), "{odd_tickets:?}");
    let large =
        w.dataset.case("large_attachment").next().expect("large attachment case").id.clone();
    let row = records
        .iter()
        .find(|r| r[0] == "attachments" && r[1] == large)
        .expect("large attachment row");
    assert_eq!(row[3], "skipped", "{row:?}");
    assert!(row[4].contains("limit"), "{row:?}");

    // Front gives a handle to one contact: users sharing a phone number all load, and each one
    // but the first is reported with the phone it could not get (records.csv, never silent).
    let migrated_user =
        |id: &str| records.iter().any(|r| r[0] == "users" && r[1] == id && r[3] == "migrated");
    let phones: Vec<&str> = w
        .dataset
        .users
        .iter()
        .filter(|u| u.kind == deskferry_format::UserKind::EndUser && migrated_user(&u.id))
        .filter_map(|u| u.phone.as_deref().map(str::trim).filter(|p| p.starts_with('+')))
        .collect();
    let distinct: std::collections::BTreeSet<&str> = phones.iter().copied().collect();
    let phone_lost = records
        .iter()
        .filter(|r| {
            r[0] == "users" && r[3] == "migrated" && r.join(",").contains("phone handle not added")
        })
        .count();
    assert!(phones.len() > distinct.len(), "the dataset has users sharing a phone number");
    assert_eq!(phone_lost, phones.len() - distinct.len(), "one report per phone not added");

    // One conversation per migrated ticket, no more.
    let migrated_tickets =
        records.iter().filter(|r| r[0] == "tickets" && r[3] == "migrated").count();
    assert_eq!(count_list(&server.running.url(), &token, "conversations").await, migrated_tickets);
    let counters = server.state.counters();
    assert_eq!(server.state.pending_imports(), 0);

    let report_rec = w.dir.path().join("report-reconcile");
    // Attachments read back are hashed as they stream: with no temporary directory at all,
    // reconcile still compares every byte (a temporary file would fail here).
    let mut cmd = load_command(&w, "reconcile", &target, &token, &report_rec);
    cmd.env("TMPDIR", w.dir.path().join("no-such-tmp"));
    let (code, rec) = run_json(cmd, "reconcile", &token);
    let rows = read_csv(&report_rec.join("reconcile.csv"));
    assert!(rec["totals"]["attachments_ok"].as_u64().unwrap_or(0) > 0, "{rec}");
    assert_eq!(rec["totals"]["attachments_ok"], rec["totals"]["attachments"], "{rec}");
    // Private notes carry the import time in Front and sort after every message: reconcile
    // reports that as Front's documented limit, never as a difference.
    let differences: Vec<_> =
        rows.iter().filter(|r| r[4] == "difference" || r[4] == "error").collect();
    assert!(differences.is_empty(), "reconcile found differences ({rec}):\n{differences:#?}");
    assert_eq!(rec["differences"].as_u64(), Some(0), "{rec}");
    assert!(
        rows.iter().any(|r| r[3] == "order" && r[4] == "limit"),
        "notes between messages are reported as a limit"
    );
    assert!(rec["limits"].as_u64().unwrap_or(0) > 0, "private notes take the import time: {rec}");
    assert!(code == 0 || code == 1, "{rec}");
    let html = std::fs::read_to_string(report_rec.join("report.html")).expect("report.html");
    assert!(html.contains("cannot be back-dated"), "the report lists Front's limits");

    // A second run changes nothing at the target.
    let (code, again) = load(&w, "run", &target, &token, &w.dir.path().join("report-again"));
    assert!(code == 0 || code == 1, "{again}");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "{again}");
    let after = server.state.counters();
    assert_eq!(after.imports_accepted, counters.imports_accepted, "nothing imported twice");

    validate_exchanges(&server);
    server.running.stop().await.expect("stop");
}

/// Every conversation's comments, by the marker each ends with.
async fn note_markers(url: &str, token: &str) -> (usize, Vec<String>) {
    let http = reqwest::Client::new();
    let mut next = Some(format!("{url}/conversations?limit=100"));
    let mut ids = Vec::new();
    while let Some(u) = next.take() {
        let page = get_page(&http, &u, token).await;
        ids.extend(
            page["_results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["id"].as_str().map(str::to_string)),
        );
        next = page["_pagination"]["next"].as_str().map(str::to_string);
    }
    let mut markers = Vec::new();
    for id in &ids {
        let page = get_page(&http, &format!("{url}/conversations/{id}/comments"), token).await;
        for c in page["_results"].as_array().into_iter().flatten() {
            let body = c["body"].as_str().unwrap_or_default();
            let m = body
                .rfind("[df:")
                .map(|i| body[i..].to_string())
                .unwrap_or_else(|| body.to_string());
            markers.push(m);
        }
    }
    (ids.len(), markers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_front_load_then_rerun_duplicates_nothing() {
    let w = world(5, Size::Tiny);
    let server = front_for(&w.dataset).await;
    let inbox =
        w.dataset.groups.iter().find(|g| !g.is_deleted).map(|g| g.name.clone()).expect("a group");
    let target = target_toml(w.dir.path(), &server.running.url(), &inbox);
    let token = server.state.token().to_string();
    let report = w.dir.path().join("report");

    // Kill the loader once the simulator has answered N requests (a point in the work, not a
    // time), at several points: among contacts, early tickets, inside the thousand-message thread.
    let mut kills = 0;
    for threshold in [25usize, 120, 400, 900] {
        let mut child = load_command(&w, "run", &target, &token, &report)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn deskferry-load");
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if server.running.log.len() >= threshold {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                kills += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(kills >= 3, "the loader finished before most kill points ({kills} kills)");
    let (code, run) = load(&w, "run", &target, &token, &report);
    assert!(code == 0 || code == 1, "{run}");
    assert_nothing_twice_nothing_missing(&w, &server, &target, &token, &report).await;
    server.running.stop().await.expect("stop");
}

/// After the final run: no conversation, note or message twice; reconcile finds every comment.
async fn assert_nothing_twice_nothing_missing(
    w: &World,
    server: &FrontServer,
    target: &Path,
    token: &str,
    report: &Path,
) {
    let records = read_csv(&report.join("records.csv"));
    let failed: Vec<_> = records.iter().filter(|r| r[3] == "failed" || r[3] == "pending").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let migrated_tickets =
        records.iter().filter(|r| r[0] == "tickets" && r[3] == "migrated").count();

    // No conversation twice, no note twice, no message twice.
    let (conversations, markers) = note_markers(&server.running.url(), token).await;
    assert_eq!(conversations, migrated_tickets);
    let mut seen = std::collections::BTreeSet::new();
    let twice: Vec<_> = markers.iter().filter(|m| !seen.insert(m.as_str())).collect();
    assert!(twice.is_empty(), "notes posted twice: {twice:?}");
    // Per ticket: Front holds exactly its migrated public comments as messages (plus the
    // placeholder of a ticket without any), each imported once.
    let http = reqwest::Client::new();
    let mut expected_total = 0u64;
    let mut wrong = Vec::new();
    for r in records.iter().filter(|r| r[0] == "tickets" && r[3] == "migrated") {
        let public = w
            .dataset
            .comments_of(&r[1])
            .iter()
            .filter(|c| c.public)
            .filter(|c| {
                records.iter().any(|x| x[0] == "comments" && x[1] == c.id && x[3] == "migrated")
            })
            .count() as u64;
        let want = if w.dataset.comments_of(&r[1]).iter().any(|c| c.public) { public } else { 1 };
        expected_total += want;
        let mut got = 0u64;
        let mut next =
            Some(format!("{}/conversations/{}/messages?limit=100", server.running.url(), r[2]));
        while let Some(u) = next.take() {
            let page = get_page(&http, &u, token).await;
            got += page["_results"].as_array().map(Vec::len).unwrap_or(0) as u64;
            next = page["_pagination"]["next"].as_str().map(str::to_string);
        }
        if got != want {
            wrong.push((r[1].clone(), r[2].clone(), want, got));
        }
    }
    assert!(wrong.is_empty(), "(ticket, conversation, expected, found) messages: {wrong:?}");
    assert_eq!(
        server.state.counters().imports_accepted,
        expected_total,
        "each message imported once"
    );

    // Nothing missing: reconcile finds every migrated comment.
    let rec_dir = w.dir.path().join("report-reconcile");
    let (_, rec) = load(w, "reconcile", target, token, &rec_dir);
    let rows = read_csv(&rec_dir.join("reconcile.csv"));
    let missing: Vec<_> = rows
        .iter()
        .filter(|r| {
            r[4] == "error" || r[3] == "present" || r[3] == "comment_count" && r[4] == "difference"
        })
        .collect();
    assert!(missing.is_empty(), "{rec}: {missing:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_faults_after_processing_then_rerun_duplicate_nothing() {
    // Resets and truncations come after the simulator processed the request, so the loader sees
    // a failure for a write that happened: imports are repeated (Front drops the copy), other
    // writes are not, fail, and the next run matches them instead of writing them again. Every
    // kind of write's first one is reset whatever the draws (with several writes in flight,
    // which requests the draws hit differs from run to run); the draws add more of each fault.
    let w = world(6, Size::Tiny);
    let faults = FaultSpec {
        server_error: 0.01,
        reset: 0.01,
        truncate: 0.01,
        first_write: Some(Fault::Reset),
        ..FaultSpec::none()
    };
    let server = front_with(&w.dataset, faults, FrontConfig::default().duplicate_status).await;
    let inbox =
        w.dataset.groups.iter().find(|g| !g.is_deleted).map(|g| g.name.clone()).expect("a group");
    let target = target_toml(w.dir.path(), &server.running.url(), &inbox);
    let token = server.state.token().to_string();
    let report = w.dir.path().join("report");
    let mut failed_runs = 0;
    for _ in 0..5 {
        let (code, run) = load(&w, "run", &target, &token, &report);
        assert!(code != 2, "{run}");
        if run["run"]["counts"]["failed"].as_u64() == Some(0) {
            break;
        }
        failed_runs += 1;
    }
    assert!(
        failed_runs >= 1,
        "the first run wrote everything despite a reset of every kind of write"
    );
    let log = server.running.log.entries();
    let reset: BTreeSet<_> = log
        .iter()
        .filter(|e| e.fault == Some(Fault::Reset) && e.method == "POST")
        .filter_map(|e| e.route.as_deref())
        .collect();
    for route in [
        "/contacts",
        "/accounts",
        "/inboxes/{id}/imported_messages",
        "/conversations/{id}/comments",
    ] {
        assert!(reset.contains(route), "no {route} write was reset: {reset:?}");
    }
    assert_nothing_twice_nothing_missing(&w, &server, &target, &token, &report).await;
    server.running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_load_without_the_ledger_creates_nothing_twice() {
    // A lost ledger, or a second operator with a ledger of their own: the same bundle into the
    // same Front. What Front answers for a taken contact handle or account external id is not
    // documented; this one refuses them with 400, so nothing may wait for a 409.
    let w = world(7, Size::Tiny);
    let server = front_with(&w.dataset, FaultSpec::none(), reqwest::StatusCode::BAD_REQUEST).await;
    let inbox =
        w.dataset.groups.iter().find(|g| !g.is_deleted).map(|g| g.name.clone()).expect("a group");
    let target = target_toml(w.dir.path(), &server.running.url(), &inbox);
    let token = server.state.token().to_string();
    let lost = w.dir.path().join("lost.ledger");
    let first = load_command_with(&w, "run", &target, &token, &w.dir.path().join("r1"), &lost);
    let (code, run) = run_json(first, "run", &token);
    assert!(code == 0 || code == 1, "{run}");
    let url = server.running.url();
    let people = async || {
        (count_list(&url, &token, "contacts").await, count_list(&url, &token, "accounts").await)
    };
    let before = people().await;
    assert!(before.0 > 0 && before.1 > 0, "{before:?}");

    let report = w.dir.path().join("report");
    let (code, again) = load(&w, "run", &target, &token, &report);
    assert!(code == 0 || code == 1, "{again}");
    assert_eq!(people().await, before, "no contact or account created twice");
    // Every user and organization the second run wrote was found at the target.
    let records = read_csv(&report.join("records.csv"));
    let fresh: Vec<_> = records
        .iter()
        .filter(|r| (r[0] == "users" || r[0] == "organizations") && r[3] == "migrated")
        .filter(|r| !r.join(",").contains("matched") && !r.join(",").contains("target limit"))
        .collect();
    assert!(fresh.is_empty(), "written again instead of found: {fresh:#?}");
    assert_nothing_twice_nothing_missing(&w, &server, &target, &token, &report).await;
    validate_exchanges(&server);
    server.running.stop().await.expect("stop");
}
