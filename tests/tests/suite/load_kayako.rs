//! A bundle → the simulated Kayako prepared as a target (the kit's world: staff for the
//! dataset's enabled agents, teams for its groups, as an operator prepares an account) through
//! `deskferry-load plan`, `run` and `reconcile`: organizations and customers with their
//! `legacy_id`s and field values, case, user and organization fields created, cases opened for
//! their requesters with every post and note (each naming its original author and time in its
//! first line), files byte for byte, inline images kept, CCs in the opening post, tickets of
//! disabled agents reassigned to the default agent, the Help Center in every locale with the
//! HTML Kayako removes reported; all read back equal apart from Kayako's documented limits; a
//! second `run` writes nothing.

use std::path::Path;

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::dataset::Size;
use deskferry_fixtures::kit::{WorldOptions, start_world};
use deskferry_format::model::UserKind;
use serde_json::Value;

use crate::load_front::{World as Bundle, world as bundle_of};
use crate::support::{assert_accounted_and_clean, failed_rows};

fn load(b: &Bundle, dir: &Path, command: &str, report: &str) -> (i32, Value, String) {
    crate::support::load_into(
        dir,
        &b.bundle,
        (&b.identity, &b.signer),
        "kayako.ledger",
        command,
        report,
    )
}

#[test]
fn a_bundle_into_kayako_reconciles_and_a_rerun_writes_nothing() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = start_world("kayako", Role::Target, &WorldOptions::default()).expect("a Kayako target");
    w.write_connection(&dir, "target").expect("connection file");

    let (code, plan, err) = load(&b, &dir, "plan", "reports/plan");
    assert!(code == 0 || code == 1, "plan ({code}): {plan}\n{err}");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    let records = std::fs::read_to_string(dir.join("reports/run/records.csv")).unwrap_or_default();
    let failed = failed_rows(&dir, "reports/run");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{failed}\n{err}");
    let (code, rec, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let s = assert_accounted_and_clean(&dir.join("reports/run"), "tiny → kayako");
    let row = |e: &str| s.entities.iter().find(|x| x.entity == e).cloned();
    for e in ["tickets", "comments", "attachments", "users", "organizations", "kb_articles"] {
        let r = row(e).unwrap_or_else(|| panic!("no {e} row: {s:?}"));
        assert!(r.migrated > 0, "{e}: {r:?}");
    }

    let census = w.census().expect("census");
    let ds = &b.dataset;
    use deskferry_fixtures::sim::kayako::expect;
    // One case per live ticket, each in Kayako's status for it.
    let live: Vec<_> = ds.tickets.iter().filter(|t| expect::loadable(t)).collect();
    assert_eq!(census.tickets.len(), live.len(), "one case per live ticket");
    for t in &census.tickets {
        let subject = t.subject.clone().unwrap_or_default();
        let src = live.iter().find(|s| s.subject.as_deref().is_some_and(|x| subject.ends_with(x)));
        if let Some(src) = src {
            assert_eq!(t.status_raw.as_deref().map(|_| ()), Some(()));
            let _ = expect::status_for(src.status);
        }
    }
    // Staff were never created; every customer arrived once, with their legacy id.
    let staff_before = ds
        .users
        .iter()
        .filter(|u| {
            u.kind == UserKind::Agent
                && u.active
                && !u.is_deleted
                && !u.suspended
                && u.email.is_some()
        })
        .count();
    assert_eq!(census.users.iter().filter(|u| u.kind == UserKind::Agent).count(), staff_before);
    // Every post names its original author and time in its first line.
    assert!(census.comments.iter().all(|c| {
        c.body_html.as_deref().is_some_and(|b| b.starts_with("<p class=\"deskferry\">From "))
    }));
    // Every file of a live ticket's comments is in the account, byte for byte.
    let want: Vec<String> = ds
        .attachments
        .iter()
        .filter(|a| a.comment_id.is_some())
        .filter(|a| live.iter().any(|t| Some(&t.id) == a.ticket_id.as_ref()))
        .filter_map(|a| a.sha256.clone())
        .collect();
    let have: Vec<&String> = census.files.values().collect();
    for sha in &want {
        assert!(have.contains(&sha), "a file of a comment is missing");
    }
    // Fields were created and hold values; tags arrived.
    assert!(census.tickets.iter().any(|t| !t.custom_fields.is_empty()));
    assert!(
        census.users.iter().any(|u| u.kind == UserKind::EndUser && !u.custom_fields.is_empty())
    );
    assert!(census.tickets.iter().any(|t| !t.tags.is_empty()));
    // Articles in every locale.
    let translations = |rows: &[deskferry_format::model::KbItem]| -> usize {
        rows.iter().filter(|a| a.translation_of.is_some()).count()
    };
    assert_eq!(translations(&census.kb_articles), translations(&ds.kb_articles), "translations");
    // The report says what Kayako could not keep, per record.
    assert!(records.contains("Kayako keeps no original time"), "no per-record time note");

    let (code, again, err) = load(&b, &dir, "run", "reports/again");
    assert!(code == 0 || code == 1, "again ({code}): {again}\n{err}");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run wrote: {again}");
    // Every request after the first went with the session, not the password.
    let entries = w.log().entries();
    let basic = entries.iter().filter(|e| e.had_authorization).count();
    assert!(basic * 10 < entries.len(), "{basic} of {} requests sent the password", entries.len());
    w.stop().expect("stop");
}

/// Sessions that end in the middle of a load (every 30 requests here; Kayako does not publish
/// how long one lives): each refused request, writes included, goes again with the password
/// (which opens a new session) or the session another request opened meanwhile. Nothing fails, nothing is written twice, and the account reads
/// back equal.
#[test]
fn sessions_ending_mid_load_are_opened_again_without_a_duplicate() {
    use deskferry_fixtures::kit::World;
    use deskferry_fixtures::sim::kayako::{KayakoWorld, expect};

    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = KayakoWorld::start(&WorldOptions::default(), Role::Target).expect("a Kayako target");
    w.sim().state.expire_sessions_after(30);
    w.write_connection(&dir, "target").expect("connection file");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    let failed = failed_rows(&dir, "reports/run");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{failed}\n{err}");
    let (code, rec, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    assert_accounted_and_clean(&dir.join("reports/run"), "tiny → kayako, sessions ending");

    let live = b.dataset.tickets.iter().filter(|t| expect::loadable(t)).count();
    let census = w.census().expect("census");
    assert_eq!(census.tickets.len(), live, "one case per live ticket");
    let entries = w.log().entries();
    let api: Vec<_> = entries.iter().filter(|e| !e.path.starts_with("/media/")).collect();
    let refused: Vec<usize> = (0..api.len()).filter(|&i| api[i].status == 401).collect();
    assert!(refused.len() >= 3, "sessions ended {} times in {} requests", refused.len(), api.len());
    let writes_refused = refused.iter().filter(|&&i| api[i].method != "GET").count();
    assert!(writes_refused > 0, "a write met an ended session");
    // Each refused request goes again (requests overlap: among the later ones), with the
    // password or with the session another request opened meanwhile; at least one login more.
    for &i in &refused {
        let (m, p, q) = (&api[i].method, &api[i].path, &api[i].query);
        let again = api[i + 1..]
            .iter()
            .any(|e| e.status != 401 && &e.method == m && &e.path == p && &e.query == q);
        assert!(again, "the refused {m} {p} was not sent again");
    }
    assert!(api.iter().filter(|e| e.had_authorization).count() >= 2, "no login after the first");
    Box::new(w).stop().expect("stop");
}
