//! A bundle → the simulated Help Scout prepared as a target (users, mailboxes and mailbox
//! fields as an operator prepares them: its API creates none) through `deskferry-load run`,
//! then `reconcile`: customers, conversations created `imported` with every thread by its
//! author at its original time, files, tags, field values, CCs, statuses, the trash, Docs
//! collections, categories and articles, all read back equal apart from Help Scout's
//! documented limits; no email sent to any customer; a second `run` writes nothing. Then Help
//! Scout → Help Scout with a delta: the new reply is added to its conversation (found again by
//! its reference line), the new ticket created, the deleted one moved to the trash.

use std::path::Path;
use std::process::Command;

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::dataset::Size;
use deskferry_fixtures::kit::{World, WorldOptions, start_world};
use deskferry_fixtures::sim::helpscout::HelpScoutWorld;
use serde_json::Value;

use crate::load_front::{World as Bundle, world as bundle_of};
use crate::support::{assert_accounted_and_clean, fixed_epoch};

fn load_in(
    dir: &Path,
    bundle: &Path,
    b: &Bundle,
    command: &str,
    report: &str,
) -> (i32, Value, String) {
    crate::support::load_into(
        dir,
        bundle,
        (&b.identity, &b.signer),
        "helpscout.ledger",
        command,
        report,
    )
}

#[test]
fn a_bundle_into_helpscout_reconciles_sends_no_email_and_a_rerun_writes_nothing() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = HelpScoutWorld::start_target(&WorldOptions::default()).expect("a Help Scout target");
    w.write_connection(&dir, "target").expect("connection file");
    let load = |command: &str, report: &str| load_in(&dir, &b.bundle, &b, command, report);

    let (code, plan, err) = load("plan", "reports/plan");
    assert!(code == 0 || code == 1, "plan ({code}): {plan}\n{err}");
    let (code, run, err) = load("run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(
        run["run"]["counts"]["failed"],
        0,
        "{}\n{err}",
        crate::support::failed_rows(&dir, "reports/run")
    );
    let (code, rec, err) = load("reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let s = assert_accounted_and_clean(&dir.join("reports/run"), "tiny → helpscout");
    let row = |e: &str| s.entities.iter().find(|x| x.entity == e).cloned();
    for e in [
        "tickets",
        "comments",
        "attachments",
        "users",
        "kb_categories",
        "kb_sections",
        "kb_articles",
    ] {
        let r = row(e).unwrap_or_else(|| panic!("no {e} row: {s:?}"));
        assert!(r.migrated > 0, "{e}: {r:?}");
        if !matches!(e, "comments" | "attachments") {
            assert_eq!(r.reconciled, Some(r.migrated), "{e} read back: {r:?}");
        }
    }
    // Not one email went to a customer: every write was `imported`.
    assert_eq!(w.sent(), 0, "the load made Help Scout send email");

    // The account holds exactly the migrated tickets, each at its original time, with its
    // comments' times, its tags (the marker among them), its field values and its CCs.
    let census = w.census().expect("census");
    let migrated = row("tickets").map(|r| r.migrated).unwrap_or(0);
    assert_eq!(census.counts()["tickets"] as u64, migrated);
    let src_times: Vec<_> = b.dataset.tickets.iter().filter_map(|t| t.created_at).collect();
    for t in &census.tickets {
        assert!(
            src_times.contains(&t.created_at.expect("a time")),
            "ticket {} lost its time",
            t.id
        );
        assert!(t.tags.iter().any(|x| x.starts_with("dfx-")), "ticket {} has no marker", t.id);
    }
    let comment_times: Vec<_> = b.dataset.comments.iter().filter_map(|c| c.created_at).collect();
    let kept = census
        .comments
        .iter()
        .filter(|c| c.created_at.is_some_and(|t| comment_times.contains(&t)))
        .count();
    assert!(
        kept * 10 >= census.comments.len() * 9,
        "{kept} of {} comments kept their time",
        census.comments.len()
    );
    assert!(census.tickets.iter().any(|t| !t.custom_fields.is_empty()), "no field value written");
    let with_cc = b.dataset.tickets.iter().filter(|t| !t.cc_ids.is_empty()).count();
    if with_cc > 0 {
        assert!(census.tickets.iter().any(|t| !t.cc_ids.is_empty()), "no CC written");
    }
    // A ticket longer than Help Scout's 100 threads ends with a note holding the rest.
    let long = b.dataset.tickets.iter().any(|t| b.dataset.comments_of(&t.id).len() > 100);
    let overflow = census.comments.iter().any(|c| {
        !c.public
            && c.body_html.as_deref().is_some_and(|x| x.contains("threads per conversation hold"))
    });
    assert_eq!(long, overflow, "a long ticket's overflow note");
    // Customers: one per address, organizations as their text.
    assert!(!census.organizations.is_empty(), "no customer organization");
    // The whole conversation in one request: one create per ticket, no thread added later.
    let paths: Vec<String> =
        w.log().entries().iter().map(|e| format!("{} {}", e.method, e.path)).collect();
    let creates = paths.iter().filter(|p| *p == "POST /v2/conversations").count() as u64;
    assert_eq!(creates, migrated, "one create per conversation");
    assert!(
        !paths.iter().any(|p| p.starts_with("POST /v2/conversations/")),
        "a thread was posted on its own"
    );

    let (code, again, err) = load("run", "reports/again");
    assert!(code == 0 || code == 1, "again ({code}): {again}\n{err}");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run wrote: {again}");
    assert_eq!(w.sent(), 0);
    Box::new(w).stop().expect("stop");
}

fn tool(dir: &Path, name: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(deskferry_tests::workspace_bin(name))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", fixed_epoch())
        .output()
        .expect("run a tool");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Help Scout → Help Scout through the binaries, then a delta: the reply the source gained is
/// added to the migrated conversation, the new ticket created, the deleted one trashed; a
/// second delta run adds nothing.
#[test]
fn helpscout_into_helpscout_then_a_delta_adds_the_reply_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let src = start_world("helpscout", Role::Source, &WorldOptions::default()).expect("source");
    let dst = HelpScoutWorld::start_target(&WorldOptions::default()).expect("target");
    src.write_connection(dir, "source").expect("source.toml");
    dst.write_connection(dir, "target").expect("target.toml");
    deskferry_format::keygen(&dir.join("keys")).expect("keygen");
    let b = Bundle {
        dir: tempfile::tempdir().expect("tempdir"),
        bundle: dir.join("a.dfb"),
        identity: dir.join("keys/identity.txt"),
        signer: dir.join("keys/sign.pub"),
        dataset: deskferry_fixtures::dataset::Dataset::generate(1, Size::Tiny),
    };
    let extract = |out: &str, since: Option<&str>| {
        let mut args = vec![
            "--source",
            "source.toml",
            "--recipient",
            "keys/recipient.txt",
            "--sign-key",
            "keys/sign.key",
            "--out",
            out,
            "--json",
        ];
        if let Some(s) = since {
            args.extend(["--since", s]);
        }
        let (code, text) = tool(dir, "deskferry-extract", &args);
        assert_eq!(code, 0, "extract {out}: {text}");
    };
    extract("a.dfb", None);
    let (code, run, err) = load_in(dir, &dir.join("a.dfb"), &b, "run", "reports/a");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    assert_eq!(
        run["run"]["counts"]["failed"],
        0,
        "{}\n{err}",
        crate::support::failed_rows(dir, "reports/a")
    );
    load_in(dir, &dir.join("a.dfb"), &b, "reconcile", "reports/a");
    assert_accounted_and_clean(&dir.join("reports/a"), "helpscout → helpscout");

    let ch = src.change().expect("change the source");
    let before = dst.census().expect("census");
    extract("d.dfb", Some("a.dfb.json"));
    let (code, run, err) = load_in(dir, &dir.join("d.dfb"), &b, "run", "reports/d");
    assert!(code == 0 || code == 1, "delta run ({code}): {run}\n{err}");
    assert_eq!(
        run["run"]["counts"]["failed"],
        0,
        "{}\n{err}",
        crate::support::failed_rows(dir, "reports/d")
    );
    let after = dst.census().expect("census");
    let replies = |c: &deskferry_fixtures::sim::Census| {
        c.comments
            .iter()
            .filter(|x| x.body_html.as_deref().is_some_and(|b| b.contains(&ch.reply)))
            .count()
    };
    // The answered ticket's reply, and the new ticket's own.
    assert_eq!(replies(&after), replies(&before) + 2, "the reply was not added");
    assert_eq!(after.tickets.len(), before.tickets.len() + 1, "the new ticket");
    assert_eq!(
        after.tickets.iter().filter(|t| t.is_deleted).count(),
        before.tickets.iter().filter(|t| t.is_deleted).count() + 1,
        "the deleted ticket is in the trash"
    );
    let (code, rec, err) = load_in(dir, &dir.join("d.dfb"), &b, "reconcile", "reports/d");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let csv = std::fs::read_to_string(dir.join("reports/d/reconcile.csv")).unwrap_or_default();
    assert!(!csv.contains(",difference,"), "{csv}");
    let (_, again, _) = load_in(dir, &dir.join("d.dfb"), &b, "run", "reports/d2");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "the delta wrote twice: {again}");
    assert_eq!(replies(&dst.census().expect("census")), replies(&after));
    assert_eq!(dst.sent(), 0, "the load made Help Scout send email");
    src.stop().expect("stop");
    Box::new(dst).stop().expect("stop");
}
