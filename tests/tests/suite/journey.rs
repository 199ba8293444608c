//! The whole journey through the binaries, as a user runs it:
//!
//! - `deskferry-sim demo --dataset tiny` (what `cargo demo` runs): simulated Zendesk →
//!   `deskferry-extract` → `deskferry-bundle verify` → `deskferry-load plan/run/reconcile` into a
//!   simulated Front; every row of the bundle accounted for, reconciliation clean, nothing left
//!   running afterwards;
//! - a delta round on the same journey: records change at the source, `deskferry-extract
//!   --since`, `deskferry-load run` of the delta with the same ledger, reconcile clean;
//! - Request Tracker → bundle → Request Tracker with the real server, and a delta round there.

use std::path::Path;
use std::process::Command;

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::demo::journey::{Journey, JourneyOptions, paths};
use deskferry_fixtures::demo::summary::Summary;
use deskferry_fixtures::demo::tools::{Output, Tools, run_tool};
use deskferry_format::model::id_order;
use serde_json::Value;

use crate::extract_rt::rt_world::{extracted, start_rt, world};
use crate::support::{assert_accounted_and_clean, check, json_of, ledger_outcomes, private};

fn port_of(toml: &str) -> u16 {
    let url = toml
        .lines()
        .find_map(|l| l.strip_prefix("url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("url line");
    reqwest::Url::parse(url).expect("url").port().expect("port")
}

#[test]
fn demo_journey_on_tiny_accounts_for_every_row_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(deskferry_tests::workspace_bin("deskferry-sim"))
        .args(["demo", "--dataset", "tiny", "--seed", "3", "--time-scale", "60", "--json"])
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("run deskferry-sim demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "demo failed:\n{stderr}\n{stdout}");
    let result: Value = serde_json::from_str(&stdout).expect("the demo's JSON");
    assert_eq!(result["clean"], true, "{result}");

    // Each step ran as its own command, printed before it ran, in the order of the journey.
    let steps = [
        "$ deskferry-bundle keygen --out-dir extractor-keys",
        "$ deskferry-extract --source source.toml",
        "$ deskferry-bundle verify bundles/zendesk-tiny.dfb --signer extractor-keys/sign.pub\n",
        "--identity auditor-keys/identity.txt",
        "$ deskferry-load plan",
        "$ deskferry-load run",
        "$ deskferry-load reconcile",
        "== 7. result",
    ];
    let mut at = 0;
    for s in steps {
        let i = stderr[at..].find(s).unwrap_or_else(|| panic!("{s:?} missing or out of order"));
        at += i + s.len();
    }
    // tiny carries the vendor-shape cases (a comment event whose `via` is a string, an article
    // deleted during the export): the extraction keeps those records and notes each in
    // bundle.json; notes are no failure, so it finishes with 0.
    assert_eq!(result["exit_codes"]["extract"], 0, "{result}");
    assert_eq!(result["exit_codes"]["verify_full"], 0, "{result}");

    // The table the demo printed is the reconcile report's, and it adds up.
    let summary = assert_accounted_and_clean(&dir.path().join("reports/reconcile"), "demo");
    let tickets = summary.entities.iter().find(|e| e.entity == "tickets").expect("tickets");
    assert!(tickets.migrated >= 15, "{tickets:?}");
    assert_eq!(serde_json::to_value(&summary.entities).unwrap(), result["entities"]);

    // The files it names exist; key and token files are the owner's alone; no token in the output.
    for k in ["bundle", "signature", "envelope", "ledger"] {
        let p = result[k].as_str().expect(k);
        assert!(Path::new(p).is_file(), "{k}: {p}");
    }
    assert!(dir.path().join("reports/reconcile/report.html").is_file());
    use std::os::unix::fs::PermissionsExt;
    for f in [
        "extractor-keys/sign.key",
        "loader-keys/identity.txt",
        "auditor-keys/identity.txt",
        "zendesk.token",
        "front.token",
    ] {
        let mode = std::fs::metadata(dir.path().join(f)).expect(f).permissions().mode();
        assert_eq!(mode & 0o077, 0, "{f} is readable by others ({mode:o})");
    }
    for f in ["zendesk.token", "front.token"] {
        let token = std::fs::read_to_string(dir.path().join(f)).expect(f);
        assert!(!stderr.contains(token.trim()) && !stdout.contains(token.trim()), "{f} leaked");
    }

    // Run again into the same directory: refused before anything starts, with the remedy.
    let again = Command::new(deskferry_tests::workspace_bin("deskferry-sim"))
        .args(["demo", "--dataset", "tiny", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run deskferry-sim demo again");
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("already holds a demo") && err.contains("--dir"), "{err}");

    // Nothing left running: both simulators' ports refuse connections.
    for f in [paths::SOURCE, paths::TARGET] {
        let port = port_of(&std::fs::read_to_string(dir.path().join(f)).expect(f));
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{f}: something still listens on port {port}"
        );
    }
}

/// A later state of the source: one ticket answered (a public reply and a private note), one
/// renamed, one deleted, one new ticket with a message, one user renamed.
struct Changes {
    /// Who wrote the new public reply (the answered ticket's first author; unchanged, so the
    /// delta bundle does not hold them).
    reply_author: Option<String>,
    answered: String,
    renamed: String,
    deleted: String,
    created: String,
}

fn change(ds: &Dataset) -> (Dataset, Changes) {
    let mut next = ds.clone();
    let later = ds.snapshot_at() + chrono::Duration::days(2);
    let live: Vec<usize> = (0..next.tickets.len())
        .filter(|&i| !next.tickets[i].is_deleted && !next.tickets[i].is_spam)
        .filter(|&i| !next.comments_of(&next.tickets[i].id).is_empty())
        .collect();
    let (answered, renamed, deleted) = (live[1], live[2], live[3]);
    next.tickets[answered].updated_at = Some(later + chrono::Duration::hours(1));
    let answered_id = next.tickets[answered].id.clone();
    let template = next.comments_of(&answered_id)[0].clone();
    // Private notes are written by agents (end users cannot write them).
    let agent = next
        .users
        .iter()
        .find(|u| {
            u.kind == deskferry_format::UserKind::Agent
                && u.active
                && !u.suspended
                && !u.is_deleted
                && u.email.is_some()
        })
        .map(|u| u.id.clone())
        .expect("an active agent");
    for (k, public) in [(1, true), (2, false)] {
        let mut c = template.clone();
        c.id = format!("9999999{k}");
        c.public = public;
        if !public {
            c.author_id = Some(agent.clone());
        }
        c.created_at = Some(later + chrono::Duration::minutes(k));
        c.attachment_ids.clear();
        c.body_html = Some(format!("<p>Following up ({k}).</p>"));
        c.body_text = Some(format!("Following up ({k})."));
        next.comments.push(c);
    }
    next.tickets[renamed].subject = Some("Renamed at the source".into());
    next.tickets[renamed].updated_at = Some(later);
    next.tickets[deleted].is_deleted = true;
    next.tickets[deleted].updated_at = Some(later);
    // A new ticket: the answered one's requester, one public message.
    let mut t = next.tickets[answered].clone();
    let max = next.tickets.iter().filter_map(|t| t.id.parse::<u64>().ok()).max().unwrap_or(0);
    t.id = (max + 1).to_string();
    t.subject = Some("New at the source".into());
    t.created_at = Some(later);
    t.updated_at = Some(later + chrono::Duration::minutes(5));
    t.solved_at = None;
    let mut c = template.clone();
    c.id = "99999993".into();
    c.ticket_id = t.id.clone();
    c.public = true;
    c.created_at = Some(later);
    c.attachment_ids.clear();
    c.body_html = Some("<p>A new question.</p>".into());
    c.body_text = Some("A new question.".into());
    next.comments.push(c);
    let created = t.id.clone();
    next.tickets.push(t);
    next.comments.sort_by(|a, b| id_order(&a.ticket_id, &b.ticket_id));
    let user = next.users.len() - 1;
    next.users[user].name = Some("Renamed Person".into());
    next.users[user].updated_at = Some(later);
    let changes = Changes {
        reply_author: template.author_id.clone(),
        answered: answered_id,
        renamed: next.tickets[renamed].id.clone(),
        deleted: next.tickets[deleted].id.clone(),
        created,
    };
    (next, changes)
}

#[test]
fn zendesk_to_front_delta_round_reconciles_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tools = Tools::beside_current_exe().expect("tools");
    let opts = JourneyOptions {
        dataset: Size::Tiny,
        seed: 4,
        dir: dir.path().to_path_buf(),
        time_scale: 60.0,
        echo: false,
        output: Output::Capture,
    };
    let mut j = Journey::start(opts, tools).expect("journey");
    // tiny's vendor-shape cases (an odd `via`, an article deleted during the export) are notes
    // in bundle.json; the records are kept, and notes are no failure.
    check(&j.extract("full", None).unwrap(), "extract full", &[0]);
    check(&j.load("run", "full", &["--report", "reports/full"]).unwrap(), "run full", &[0, 1]);
    check(&j.load("reconcile", "full", &["--report", "reports/full"]).unwrap(), "rec", &[0, 1]);
    assert_accounted_and_clean(&dir.path().join("reports/full"), "full");
    let imports_before = j.front().state.counters().imports_accepted;

    // Later, at the source.
    let (next, ch) = change(&j.dataset);
    j.change_source(next).expect("change the source");
    let x = j.extract("delta", Some("full")).unwrap();
    // The Help Center is read again in a delta, and with it the deleted article's note.
    check(&x, "extract delta", &[0]);
    check(&j.verify("delta", true).unwrap(), "verify delta", &[0]);
    let env: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bundles/delta.dfb.json")).expect("envelope"),
    )
    .expect("envelope JSON");
    assert_eq!(env["mode"], "delta", "{env}");
    assert_eq!(env["parent_bundle_id"], "full", "{env}");

    let run = j.load("run", "delta", &["--report", "reports/delta", "--json"]).unwrap();
    check(&run, "run delta", &[0, 1]);
    let run = json_of(&run);
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}");
    // Only what changed was written: the answered ticket's two comments, the new ticket and its
    // message, the renamed ticket, the deleted ticket's tombstone, the renamed user.
    let migrated = run["run"]["counts"]["migrated"].as_u64().unwrap_or(0);
    assert!((5..=12).contains(&migrated), "{migrated} written by the delta: {run}");
    assert_eq!(
        j.front().state.counters().imports_accepted - imports_before,
        2,
        "one import for the new reply, one for the new ticket's message"
    );
    // The new reply is its customer's at Front, not the default agent's (whether the delta
    // carries that customer or only the ledger knows them).
    let author = ch.reply_author.as_deref().expect("the reply has an author");
    let address = j.dataset.users.iter().find(|u| u.id == author).and_then(|u| u.email.clone());
    {
        let desk = j.front().state.desk().clone();
        let r = desk.read();
        let reply = r
            .store
            .comments
            .iter()
            .find(|c| c.body_text.as_deref().is_some_and(|b| b.contains("Following up (1)")))
            .expect("the new reply at Front");
        let who = reply.author_id.as_deref().and_then(|a| r.store.users.iter().find(|u| u.id == a));
        let who = who.expect("the reply has an author at Front");
        assert_eq!(who.kind, deskferry_format::UserKind::EndUser, "{who:?}");
        assert!(
            who.email.as_deref().map(str::to_lowercase) == address.map(|a| a.to_lowercase()),
            "the reply is the customer's: {who:?}"
        );
    }
    let rec = j.load("reconcile", "delta", &["--report", "reports/delta", "--json"]).unwrap();
    check(&rec, "reconcile delta", &[0, 1]);
    assert_accounted_and_clean(&dir.path().join("reports/delta"), "delta");
    let tickets = ledger_outcomes(&dir.path().join("reports/delta"), "tickets");
    for id in [&ch.answered, &ch.renamed, &ch.created] {
        assert_eq!(tickets.get(id).map(String::as_str), Some("migrated"), "ticket {id}");
    }
    let comments = ledger_outcomes(&dir.path().join("reports/delta"), "comments");
    for id in ["99999991", "99999992", "99999993"] {
        assert_eq!(comments.get(id).map(String::as_str), Some("migrated"), "comment {id}");
    }
    let stones = ledger_outcomes(&dir.path().join("reports/delta"), "tombstones");
    assert_eq!(
        stones.get(&format!("tickets:{}", ch.deleted)).map(String::as_str),
        Some("migrated"),
        "{stones:?}"
    );
    // The full bundle still reconciles: the delta's comments are known to the ledger.
    let again = j.load("reconcile", "full", &["--report", "reports/full-again"]).unwrap();
    check(&again, "reconcile full after delta", &[0, 1]);
    let full = Summary::read(&dir.path().join("reports/full-again")).unwrap();
    assert_eq!(full.verdict("difference") + full.verdict("error"), 0, "{:?}", full.verdicts);
    // And the delta again writes nothing.
    let twice = j.load("run", "delta", &["--report", "reports/delta2", "--json"]).unwrap();
    assert_eq!(json_of(&twice)["run"]["counts"]["migrated"], 0);
    j.stop().expect("stop");
}

#[test]
fn rt_to_rt_through_the_binaries_with_a_delta_round() {
    // The shared bundle of the seeded RT is made before this test changes that RT.
    let _ = extracted();
    let w = world();
    let rt2 = start_rt();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let tool = |name: &str, args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run_tool(&tools, name, &args, d, &[], false, Output::Capture).expect("run tool")
    };
    check(&tool("deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    private(&d.join("source.token"), &format!("{}\n", w.token));
    std::fs::write(
        d.join("source.toml"),
        format!(
            "platform = \"rt\"\nurl = \"{}\"\n[credentials]\ntoken_file = \"source.token\"\n",
            w.rt.url
        ),
    )
    .unwrap();
    let token2 = rt2.auth_token("root").expect("token");
    private(&d.join("target.token"), &format!("{token2}\n"));
    std::fs::write(
        d.join("target.toml"),
        format!(
            "platform = \"rt\"\nurl = \"{}\"\n[credentials]\ntoken_file = \"target.token\"\n",
            rt2.url
        ),
    )
    .unwrap();
    let extract = |out: &str, since: Option<&str>| {
        let mut a = vec![
            "--source",
            "source.toml",
            "--recipient",
            "keys/recipient.txt",
            "--sign-key",
            "keys/sign.key",
            "--out",
            out,
        ];
        if let Some(s) = since {
            a.extend(["--since", s]);
        }
        let ran = tool("deskferry-extract", &a);
        check(&ran, "deskferry-extract", &[0]);
    };
    let load = |cmd: &str, bundle: &str, report: &str| {
        let ran = tool(
            "deskferry-load",
            &[
                cmd,
                "--target",
                "target.toml",
                "--bundle",
                bundle,
                "--identity",
                "keys/identity.txt",
                "--signer",
                "keys/sign.pub",
                "--ledger",
                "rt.ledger",
                "--report",
                report,
                "--json",
            ],
        );
        check(&ran, &format!("deskferry-load {cmd} {bundle}"), &[0, 1]);
        json_of(&ran)
    };

    extract("rt-full.dfb", None);
    check(
        &tool("deskferry-bundle", &["verify", "rt-full.dfb", "--signer", "keys/sign.pub"]),
        "quick verify",
        &[0],
    );
    let run = load("run", "rt-full.dfb", "reports/full");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}");
    load("reconcile", "rt-full.dfb", "reports/full");
    let full = assert_accounted_and_clean(&d.join("reports/full"), "rt full");
    assert!(full.entities.iter().any(|e| e.entity == "tickets" && e.migrated >= 15), "{full:?}");
    // The empty RT had none of the queues: the run created them.
    let groups = ledger_outcomes(&d.join("reports/full"), "groups");
    assert!(groups.values().any(|o| o == "migrated"), "{groups:?}");
    let again = load("run", "rt-full.dfb", "reports/again");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run writes nothing: {again}");

    // Later, at the source RT: a reply on a migrated ticket and a new ticket.
    let client = w.rt.client().expect("RT client");
    let (src, rt_id) =
        w.ds.tickets
            .iter()
            .filter(|t| !t.is_deleted && !t.is_spam)
            .find_map(|t| w.map.tickets.get(&t.id).map(|id| (t.id.clone(), *id)))
            .expect("a live seeded ticket");
    client
        .post(
            &format!("/ticket/{rt_id}/correspond"),
            &serde_json::json!({"Content": "Following up after the migration.", "ContentType": "text/plain"}),
        )
        .unwrap_or_else(|e| panic!("reply on RT ticket {rt_id} ({src}): {e}"));
    let created = client
        .post(
            "/ticket",
            &serde_json::json!({
                "Queue": "General",
                "Subject": "New at the source",
                "Requestor": "new.requester@example.com",
                "Content": "A new question.",
                "ContentType": "text/plain",
            }),
        )
        .expect("create an RT ticket");
    let new_id = created.body["id"].as_i64().or_else(|| created.body["id"].as_str()?.parse().ok());
    let new_id = new_id.expect("new ticket id").to_string();

    extract("rt-delta.dfb", Some("rt-full.dfb.json"));
    let run = load("run", "rt-delta.dfb", "reports/delta");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{run}");
    load("reconcile", "rt-delta.dfb", "reports/delta");
    assert_accounted_and_clean(&d.join("reports/delta"), "rt delta");
    let tickets = ledger_outcomes(&d.join("reports/delta"), "tickets");
    let src_rt = rt_id.to_string();
    for id in [&src_rt, &new_id] {
        assert_eq!(
            tickets.get(id).map(String::as_str),
            Some("migrated"),
            "ticket {id}: {tickets:?}"
        );
    }
    load("reconcile", "rt-full.dfb", "reports/full-again");
    let full = Summary::read(&d.join("reports/full-again")).unwrap();
    assert_eq!(full.verdict("difference") + full.verdict("error"), 0, "{:?}", full.verdicts);
    rt2.stop().expect("stop RT");
}
