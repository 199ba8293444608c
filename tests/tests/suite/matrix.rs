//! The any-to-any matrix and the kit's checks on it: every source the registry has × every
//! target it has, each started as a kit world (`deskferry_fixtures::kit::start_world`, the same
//! as `deskferry-sim serve --role`), driven through the binaries a user runs. A platform that
//! gains a side in the registry joins it without new test code.
//!
//! Per source (once): an uninterrupted extraction, compared field by field with the dataset as
//! the platform shows it minus the losses it declares (`World::expected`, attachments by
//! SHA-256), its requests per 1,000 tickets against the API's floor (`World::request_floor`); then
//! the same extraction under injected faults ([`SOURCE_FAULTS`]: 429s, 500s, resets, slow and
//! truncated answers), killed with SIGKILL at seeded moments and rerun until it finishes, which
//! must hold every record of the uninterrupted one unchanged (`deskferry-bundle diff`); full
//! verification of the bundle; a delta round (`World::change`: a reply, a new ticket, a
//! deletion, then `deskferry-extract --since`) whose bundle holds exactly those tickets and the
//! tombstone.
//!
//! Per direction: `plan`; `run`; then `reconcile` with every
//! row accounted for, nothing failed, everything migrated read back equal (users, organizations
//! where the target holds them, groups), no difference; a further `run` that writes nothing; a
//! target with a vendor OpenAPI file has its whole wire (faulted answers included) checked
//! against it. Each target's recovery is tested in one direction (target number `j` from source
//! number `j mod sources`, so every target gets one and the sources take turns): there `run` goes
//! under injected faults ([`FAULTS`]), killed with SIGKILL at seeded points of its progress (the
//! ledger's growth, the same for a simulator and the real Request Tracker) and rerun until
//! nothing failed, before the faults go off. The recovery is the target's and the ledger's, not
//! the source's, so running it in all directions would cost the suite minutes for nothing new.
//!
//! The matrix with its verdicts and figures is printed (`tests/run -- matrix --nocapture`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deskferry_extractor::platforms::registry::{self, Role};
use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{World, WorldOptions, compare, start_world};
use deskferry_fixtures::sim::FaultSpec;
use deskferry_format::model::{Comment, Ticket, Tombstone};
use deskferry_format::{BundleReader, Identities, Mode, SignerKey, VerifyOptions};
use serde_json::Value;

use crate::support::{Rng, assert_accounted_and_clean, check, fixed_epoch, json_of};

/// What the worlds inject while the extraction and the load are killed and rerun (a simulator
/// through its layer, the real Request Tracker through the proxy in front of it).
const FAULTS: FaultSpec = FaultSpec {
    too_many_requests: 0.02,
    server_error: 0.02,
    reset: 0.02,
    slow: 0.01,
    truncate: 0.02,
    first_write: None,
};

/// What a source injects while its extraction is killed and rerun: three times the load's rate,
/// since a small extraction sends few requests (Zendesk's `tiny` about 25 a run, and a killed run
/// fewer) and must still meet some. The client's 8 retries make a request that fails them all
/// a one-in-a-million event even so.
const SOURCE_FAULTS: FaultSpec = FaultSpec {
    too_many_requests: 0.06,
    server_error: 0.06,
    reset: 0.06,
    slow: 0.02,
    truncate: 0.06,
    first_write: None,
};

/// The faults the world injected from request number `from` on.
fn injected(world: &dyn World, from: usize) -> usize {
    world.log().entries().iter().skip(from).filter(|e| e.fault.is_some()).count()
}

/// One cell of the matrix.
struct Cell {
    source: &'static str,
    target: &'static str,
    verdict: Result<String, String>,
}

/// A target's OpenAPI file (in its `vendor_specs` folder) and the validator's arguments.
fn wire_spec(target: &str) -> Option<(&'static str, &'static [&'static str])> {
    match target {
        "front" => Some(("core-api.json", crate::front_sim::FRONT_OPENAPI)),
        "intercom" => Some(("api.intercom.io.2.14.yaml", crate::load_intercom::INTERCOM_OPENAPI)),
        _ => None,
    }
}

/// What every load into Zendesk sends, each checked against Zendesk's OpenAPI files.
const ZENDESK_LOAD_OPS: &[&str] = &[
    "POST /api/v2/users/create_or_update_many",
    "POST /api/v2/imports/tickets/create_many",
    "/api/v2/job_statuses/{job_status_id}",
    "POST /api/v2/uploads",
];

struct Bench {
    tools: Tools,
    dir: PathBuf,
    epoch: String,
}

impl Bench {
    fn tool(&self, name: &str, args: &[&str]) -> Ran {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run_tool(&self.tools, name, &args, &self.dir, &[], false, Output::Capture).expect("run")
    }

    fn command(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(self.tools.path(name));
        c.args(args)
            .current_dir(&self.dir)
            .env("SOURCE_DATE_EPOCH", &self.epoch)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Opens a bundle of the bench, verified.
    fn open(&self, bundle: &str) -> BundleReader {
        let signer = SignerKey::from_file(&self.dir.join("keys/sign.pub")).expect("signer");
        let ids = Identities::from_file(&self.dir.join("keys/identity.txt")).expect("identity");
        BundleReader::open(&self.dir.join(bundle), &signer, &ids, &VerifyOptions::default())
            .unwrap_or_else(|e| panic!("{bundle}: {e}"))
    }

    fn extract_args(out: &str) -> Vec<&str> {
        vec![
            "--source",
            "source.toml",
            "--recipient",
            "keys/recipient.txt",
            "--sign-key",
            "keys/sign.key",
            "--out",
            out,
            "--json",
            "--progress",
            "plain",
            "--checkpoint-secs",
            "0",
        ]
    }

    fn load_args<'a>(cmd: &'a str, target: &'a str, report: &'a str) -> Vec<String> {
        [
            cmd,
            "--target",
            &format!("{target}.toml"),
            "--bundle",
            "a/b.dfb",
            "--identity",
            "keys/identity.txt",
            "--signer",
            "keys/sign.pub",
            "--ledger",
            &format!("{target}.ledger"),
            "--report",
            report,
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

/// Waits for `child`, killing it with SIGKILL once `due()` says so. `Some(output)` when it
/// ended on its own, `None` when it was killed.
fn kill_when(mut child: Child, due: impl Fn() -> bool) -> Option<std::process::Output> {
    loop {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        if due() {
            child.kill().expect("SIGKILL");
            let o = child.wait_with_output().expect("reap");
            // It may have ended on its own just before the signal.
            return o.status.code().is_some().then_some(o);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn summary(what: &str, o: &std::process::Output, codes: &[i32]) -> Value {
    let code = o.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{what}: exit {code}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{what}: --json: {e}: {out}"))
}

/// The source's checks; leaves `a/b.dfb` (the uninterrupted extraction) for the targets.
fn source_checks(b: &Bench, src: &dyn World, rng: &mut Rng) -> String {
    let source = src.platform();
    check(&b.tool("deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    std::fs::create_dir_all(b.dir.join("a")).unwrap();
    std::fs::create_dir_all(b.dir.join("k")).unwrap();
    let t0 = Instant::now();
    let before = src.log().len();
    let a = b.command("deskferry-extract", &Bench::extract_args("a/b.dfb")).output().unwrap();
    let took = t0.elapsed();
    // A source may note what it kept with a remark (exit 1 only for a lost record).
    let want = summary(&format!("{source}: deskferry-extract"), &a, &[0]);
    let requests = src.log().len() - before;
    let tickets = src.dataset().tickets.len().max(1);
    // Every field of every record as the dataset has it, but for what the platform declares.
    let expected = src.expected().unwrap_or_else(|e| panic!("{source}: its expectation: {e:#}"));
    let same = compare(&expected, &b.open("a/b.dfb")).expect("read the bundle");
    assert!(
        same.differences.is_empty(),
        "{source}: the extraction differs from the dataset: {same}"
    );
    let floor = src.request_floor().unwrap_or_else(|| panic!("{source}: no request floor"));
    assert!(
        requests >= floor.requests,
        "{source}: {requests} requests, fewer than the API's floor {floor}: the floor is wrong"
    );

    // The same extraction under faults, killed at seeded moments and rerun until it finishes.
    let from = src.log().len();
    src.set_faults(SOURCE_FAULTS);
    let ms = took.as_millis() as u64;
    let mut kills = 0;
    let got = loop {
        let child =
            b.command("deskferry-extract", &Bench::extract_args("k/b.dfb")).spawn().unwrap();
        let at = match kills {
            0 => Some(rng.range(ms / 10, ms / 2)),
            1 | 2 => Some(rng.range(ms / 20, ms / 4)),
            _ => None,
        };
        let start = Instant::now();
        let ended = match at {
            Some(at) => kill_when(child, || start.elapsed() >= Duration::from_millis(at)),
            None => Some(child.wait_with_output().unwrap()),
        };
        match ended {
            Some(o) => break summary(&format!("{source}: rerun extraction"), &o, &[0]),
            None => kills += 1,
        }
        assert!(kills < 10);
    };
    src.set_faults(FaultSpec::none());
    let faults = injected(src, from);
    assert!(kills > 0, "{source}: the extraction ended before the first kill point");
    assert!(faults > 0, "{source}: no fault was injected");
    // Every record of every table the same as the uninterrupted run's (attachments by their
    // SHA-256). The envelope may differ where a source's delta cursor is the clock's time the
    // stream started (Request Tracker), not a position the source gives.
    let diff = b.tool(
        "deskferry-bundle",
        &[
            "diff",
            "a/b.dfb",
            "k/b.dfb",
            "--signer",
            "keys/sign.pub",
            "--identity",
            "keys/identity.txt",
            "--json",
        ],
    );
    check(&diff, &format!("{source}: bundle diff"), &[0]);
    let diff = json_of(&diff);
    let tables = diff["tables"].as_object().expect("tables");
    assert!(tables.len() >= 10, "{source}: {diff}");
    for (table, d) in tables {
        for kind in ["added", "changed", "removed"] {
            assert!(
                d[kind].as_array().is_some_and(Vec::is_empty),
                "{source}: an extraction killed {kills} times and rerun differs from an uninterrupted one in {table}: {kind} {}",
                d[kind]
            );
        }
    }
    let same_id = got["content_id"] == want["content_id"];
    check(
        &b.tool(
            "deskferry-bundle",
            &["verify", "a/b.dfb", "--signer", "keys/sign.pub", "--identity", "keys/identity.txt"],
        ),
        &format!("{source}: full verify"),
        &[0],
    );
    let delta = delta_round(b, src);
    format!(
        "extract {:.1}s, equal to the dataset: {same}; {requests} requests ({:.0} per 1,000 tickets) = {:.2}× the API's floor of {floor}; under {faults} faults killed {kills}× then every record the same (resumed: {}; content id {}); {delta}",
        took.as_secs_f64(),
        requests as f64 * 1000.0 / tickets as f64,
        requests as f64 / floor.requests.max(1) as f64,
        got["resumed"],
        if same_id { "the same" } else { "differs, every table equal" }
    )
}

/// The source changes as an account does (a reply, a new ticket, a deletion); a delta from
/// the full bundle holds exactly the three tickets, the reply, and the deletion's tombstone.
fn delta_round(b: &Bench, src: &dyn World) -> String {
    let source = src.platform();
    let ch = src.change().unwrap_or_else(|e| panic!("{source}: changing the source: {e:#}"));
    std::fs::create_dir_all(b.dir.join("d")).unwrap();
    let mut args = Bench::extract_args("d/delta.dfb");
    args.extend(["--since", "a/b.dfb.json"]);
    let before = src.log().len();
    let o = b.command("deskferry-extract", &args).output().unwrap();
    summary(&format!("{source}: delta extraction"), &o, &[0]);
    let requests = src.log().len() - before;
    let r = b.open("d/delta.dfb");
    assert_eq!(r.envelope().mode, Mode::Delta, "{source}");
    let tickets: BTreeSet<String> =
        r.records::<Ticket>().expect("tickets").map(|t| t.expect("ticket").id).collect();
    let want: BTreeSet<String> =
        [&ch.answered, &ch.created, &ch.deleted].into_iter().cloned().collect();
    assert_eq!(tickets, want, "{source}: the delta's tickets ({ch:?})");
    let comments: Vec<Comment> =
        r.records().expect("comments").map(|c| c.expect("comment")).collect();
    let reply = |t: &str| {
        comments.iter().any(|c| {
            c.ticket_id == t
                && [&c.body_text, &c.body_html]
                    .iter()
                    .any(|b| b.as_deref().is_some_and(|b| b.contains(&ch.reply)))
        })
    };
    assert!(reply(&ch.answered), "{source}: no reply on {} in the delta", ch.answered);
    assert!(!comments.is_empty() && comments.len() < 20, "{source}: {} comments", comments.len());
    let tombs: Vec<(String, String)> = r
        .records::<Tombstone>()
        .expect("tombstones")
        .map(|t| t.expect("tombstone"))
        .map(|t| (t.entity, t.id))
        .collect();
    assert!(
        tombs.contains(&("tickets".to_string(), ch.deleted.clone())),
        "{source}: no tombstone for ticket {}: {tombs:?}",
        ch.deleted
    );
    format!(
        "delta after a reply, a new ticket and a deletion: those 3 tickets, {} comments, {} tombstone(s), {requests} requests",
        comments.len(),
        tombs.len()
    )
}

fn ledger_bytes(dir: &Path, target: &str) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(format!("{target}.ledger{s}"))).ok())
        .map(|m| m.len())
        .sum()
}

/// One direction's checks on a fresh target world.
fn target_checks(
    b: &Bench,
    source: &str,
    target: &'static str,
    faulted: bool,
    rng: &mut Rng,
) -> String {
    let what = format!("{source} → {target}");
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    let dst = start_world(target, Role::Target, &opts).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    dst.write_connection(&b.dir, target).expect("target connection file");
    let load = |cmd: &str, report: &str| {
        let args = Bench::load_args(cmd, target, report);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran = b.tool("deskferry-load", &args);
        // Exit 1 without a failed record: a record skipped for a reason the user must see
        // (a file over the target's limit, a knowledge base the target has not).
        check(&ran, &format!("{what}: deskferry-load {cmd}"), &[0, 1]);
        json_of(&ran)
    };
    load("plan", &format!("reports/{target}"));

    // The direction that tests the target's recovery: `run` under faults, killed at seeded
    // points of its progress, then run until nothing failed (a request the target processed
    // whose answer was lost may fail its record once). The others run once, clean.
    let from = dst.log().len();
    let mut kills = 0;
    let mut reruns = 0;
    let t0 = Instant::now();
    let run = if faulted {
        dst.set_faults(FAULTS);
        for attempt in 0..3 {
            let base = ledger_bytes(&b.dir, target);
            let grow =
                if attempt == 0 { rng.range(24_000, 160_000) } else { rng.range(8_000, 48_000) };
            let args = Bench::load_args("run", target, &format!("reports/{target}"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let child = b.command("deskferry-load", &args).spawn().unwrap();
            match kill_when(child, || ledger_bytes(&b.dir, target) >= base + grow) {
                Some(_) => break,
                None => kills += 1,
            }
        }
        assert!(kills > 0, "{what}: the load ended before the first kill point");
        loop {
            let run = load("run", &format!("reports/{target}"));
            reruns += 1;
            if run["run"]["counts"]["failed"] == 0 || reruns == 4 {
                break run;
            }
        }
    } else {
        reruns = 1;
        load("run", &format!("reports/{target}"))
    };
    dst.set_faults(FaultSpec::none());
    let faults = injected(dst.as_ref(), from);
    let took = t0.elapsed();
    // The failed records with their reasons, so that a red run says why.
    assert_eq!(
        run["run"]["counts"]["failed"],
        0,
        "{what}: failed after {reruns} runs:\n{}\n{run}",
        crate::support::failed_rows(&b.dir, &format!("reports/{target}"))
    );
    assert!(!faulted || faults > 0, "{what}: no fault was injected");
    load("reconcile", &format!("reports/{target}"));
    let s = assert_accounted_and_clean(&b.dir.join(format!("reports/{target}")), &what);
    let count = |entity: &str| s.entities.iter().find(|e| e.entity == entity).map(|e| e.migrated);
    assert!(count("tickets").unwrap_or(0) > 0, "{what}: no ticket migrated: {s:?}");
    assert!(count("comments").unwrap_or(0) > 0, "{what}: no comment migrated: {s:?}");

    // Where the world can tell (a simulator on the shared account), the account holds exactly
    // the tickets migrated into it, in canonical form.
    let census = dst.census().map(|c| c.counts());
    if let Some(c) = &census {
        assert_eq!(
            Some(c["tickets"] as u64),
            count("tickets"),
            "{what}: the target's census: {c:?}"
        );
    }
    let again = load("run", &format!("reports/{target}-again"));
    assert_eq!(again["run"]["counts"]["migrated"], 0, "{what}: a re-run wrote again: {again}");
    assert_eq!(again["run"]["counts"]["failed"], 0, "{what}: {again}");

    // What the loader sent and the target answered, on the wire, against the vendor's OpenAPI
    // file where it publishes one (skipped, and said so, without the file).
    let mut wire = String::from("no vendor OpenAPI file");
    if let Some(args) = wire_spec(target)
        && let Some(specs) = deskferry_tests::vendor_specs(target)
    {
        let cov = deskferry_tests::openapi_check(dst.log(), &specs.join(args.0), args.1);
        assert!(cov.gets > 0 && cov.requests > cov.gets, "{what}: {cov:?}");
        wire = format!("{} requests valid against the spec", cov.requests);
    }
    if target == "zendesk" && deskferry_tests::vendor_specs(target).is_some() {
        // Zendesk's two files (Support, Help Center), through its own validator.
        deskferry_tests::zendesk_openapi_check(dst.log(), ZENDESK_LOAD_OPS);
        wire = format!("{} answers valid against Zendesk's OpenAPI files", dst.log().len());
    }
    dst.stop().expect("stop the target");
    // Users and organizations are read back where the target holds them as records.
    let reconciled =
        |entity: &str| s.entities.iter().find(|e| e.entity == entity).and_then(|e| e.reconciled);
    let users = reconciled("users");
    assert!(users.unwrap_or(0) > 0, "{what}: no user read back: {s:?}");
    let groups = reconciled("groups").unwrap_or(0);
    assert!(groups > 0, "{what}: no group read back: {s:?}");
    let people = match reconciled("organizations") {
        Some(n) => format!("{} users, {n} organizations, {groups} groups", users.unwrap_or(0)),
        None => format!(
            "{} users, {groups} groups (organizations are not records there)",
            users.unwrap_or(0)
        ),
    };
    let how = if faulted {
        format!("load under {faults} faults killed {kills}×, {reruns} run(s) to finish")
    } else {
        "load without faults".to_string()
    };
    format!(
        "{how}, {:.1}s; {} tickets, {} comments, {} attachments, {people} read back equal; re-run wrote 0; {wire}",
        took.as_secs_f64(),
        count("tickets").unwrap_or(0),
        count("comments").unwrap_or(0),
        count("attachments").unwrap_or(0),
    )
}

/// Whether `name` is in the comma-separated list of `var` (everything when it is not set): a
/// developer narrows the matrix to the directions at hand; `tests/run` and CI never set it.
fn chosen(var: &str, name: &str) -> bool {
    std::env::var(var).map_or(true, |v| v.split(',').any(|n| n.trim() == name))
}

/// A panic's message.
pub(crate) fn message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// A source's verdict and its row of the matrix.
type Row = (Result<String, String>, Vec<Cell>);

/// Every source with its checks, then each target in turn from its bundle.
fn source_row(source: &'static str, index: usize, sources: usize, seed: u64) -> Row {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    let src = match start_world(source, Role::Source, &opts) {
        Ok(w) => w,
        Err(e) => return (Err(format!("{e:#}")), Vec::new()),
    };
    src.write_connection(dir.path(), "source").expect("source connection file");
    let b = Bench {
        tools: Tools::beside_current_exe().expect("tools"),
        dir: dir.path().to_path_buf(),
        epoch: fixed_epoch(),
    };
    let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
    let src_verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        source_checks(&b, src.as_ref(), &mut rng)
    }))
    .map_err(message);
    let mut cells = Vec::new();
    for (j, t) in registry::with_role(Role::Target).enumerate() {
        if !chosen("DESKFERRY_MATRIX_TARGETS", t.name) {
            continue;
        }
        let faulted = j % sources == index;
        let verdict = match &src_verdict {
            Err(_) => Err("no bundle: the source failed".into()),
            Ok(_) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                target_checks(&b, source, t.name, faulted, &mut rng)
            }))
            .map_err(message),
        };
        cells.push(Cell { source, target: t.name, verdict });
    }
    src.stop().expect("stop the source");
    (src_verdict, cells)
}

#[test]
fn every_source_into_every_target_through_the_binaries() {
    let sources: Vec<&'static str> = registry::with_role(Role::Source).map(|p| p.name).collect();
    let every = sources.len();
    let sources: Vec<&'static str> =
        sources.into_iter().filter(|s| chosen("DESKFERRY_MATRIX_SOURCES", s)).collect();
    // One thread per source; each source's targets in turn (each a fresh world).
    let rows: Vec<(&str, Row)> = std::thread::scope(|s| {
        let handles: Vec<_> = sources
            .iter()
            .enumerate()
            .map(|(i, &src)| {
                let i = registry::with_role(Role::Source).position(|p| p.name == src).unwrap_or(i);
                (src, s.spawn(move || source_row(src, i, every, 0x5EED_0013 + i as u64)))
            })
            .collect();
        handles.into_iter().map(|(src, h)| (src, h.join().expect("source thread"))).collect()
    });
    let mut table = String::from("\nthe matrix (tiny dataset, seed 1)\n");
    let mut bad = 0;
    for (source, (verdict, cells)) in &rows {
        match verdict {
            Ok(v) => table.push_str(&format!("source {source}: ok — {v}\n")),
            Err(e) => {
                bad += 1;
                table.push_str(&format!("source {source}: FAILED — {e}\n"));
            }
        }
        for c in cells {
            match &c.verdict {
                Ok(v) => table.push_str(&format!("  {} → {}: clean — {v}\n", c.source, c.target)),
                Err(e) => {
                    bad += 1;
                    table.push_str(&format!("  {} → {}: FAILED — {e}\n", c.source, c.target));
                }
            }
        }
    }
    eprintln!("{table}");
    let directions: usize = rows.iter().map(|(_, (_, c))| c.len()).sum();
    let filtered = ["DESKFERRY_MATRIX_SOURCES", "DESKFERRY_MATRIX_TARGETS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if filtered {
        eprintln!(
            "the matrix was narrowed by DESKFERRY_MATRIX_SOURCES/_TARGETS: {directions} directions"
        );
    } else {
        assert!(directions >= 4, "{table}");
    }
    assert_eq!(bad, 0, "{table}");
}
