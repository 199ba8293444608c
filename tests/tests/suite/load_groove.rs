//! A bundle → the simulated Groove prepared as a target (the kit's world: agents for the
//! dataset's agents, mailboxes for its groups, contact and company fields for its person and
//! organization fields, as an operator prepares an account) through `deskferry-load plan`,
//! `run` and `reconcile`: companies (one without people too), contacts with their fields,
//! tickets in several mailboxes at their original times, every message and note by its own
//! author at its time, files byte for byte, tags, states; the knowledge base; all read back
//! equal apart from Groove's documented limits; nothing mailed to a customer nor notified; a
//! second `run` writes nothing.

use std::path::Path;

use deskferry_fixtures::dataset::Size;
use deskferry_fixtures::kit::World;
use deskferry_fixtures::kit::WorldOptions;
use deskferry_fixtures::sim::groove::GrooveWorld;
use deskferry_format::model::UserKind;
use serde_json::Value;

use crate::load_front::{World as Bundle, world as bundle_of};
use crate::support::{assert_accounted_and_clean, failed_rows};

fn load(b: &Bundle, dir: &Path, command: &str, report: &str) -> (i32, Value, String) {
    crate::support::load_into(
        dir,
        &b.bundle,
        (&b.identity, &b.signer),
        "groove.ledger",
        command,
        report,
    )
}

#[test]
fn a_bundle_into_groove_reconciles_mails_nobody_and_a_rerun_writes_nothing() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = GrooveWorld::start_target(&WorldOptions::default()).expect("a Groove target");
    w.write_connection(&dir, "target").expect("connection file");

    let (code, plan, err) = load(&b, &dir, "plan", "reports/plan");
    assert!(code == 0 || code == 1, "plan ({code}): {plan}\n{err}");
    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    let failed = failed_rows(&dir, "reports/run");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{failed}\n{err}");
    let (code, rec, err) = load(&b, &dir, "reconcile", "reports/run");
    assert!(code == 0 || code == 1, "reconcile ({code}): {rec}\n{err}");
    let s = assert_accounted_and_clean(&dir.join("reports/run"), "tiny → groove");
    let row = |e: &str| s.entities.iter().find(|x| x.entity == e).cloned();
    for e in ["tickets", "comments", "attachments", "users", "organizations", "kb_articles"] {
        let r = row(e).unwrap_or_else(|| panic!("no {e} row: {s:?}"));
        assert!(r.migrated > 0, "{e}: {r:?}");
    }

    // Groove mailed no customer and notified no agent.
    assert_eq!(w.sim().state.mailed(), 0, "a customer was mailed");
    assert_eq!(w.sim().state.notified(), 0, "agents were notified");

    let census = w.census().expect("census");
    let ds = &b.dataset;
    // Every live ticket is a ticket created at its own time, in more than one mailbox.
    let live: Vec<_> = ds.tickets.iter().filter(|t| !t.is_deleted).collect();
    assert_eq!(census.tickets.len(), live.len(), "one Groove ticket per live ticket");
    let times: Vec<_> = ds.tickets.iter().filter_map(|t| t.created_at).collect();
    for t in &census.tickets {
        assert!(times.contains(&t.created_at.expect("a time")), "ticket {} lost its time", t.id);
    }
    let boxes: std::collections::BTreeSet<_> =
        census.tickets.iter().filter_map(|t| t.group_id.clone()).collect();
    assert!(boxes.len() > 1, "every ticket went into one mailbox");
    // States: solved and closed tickets are closed.
    use deskferry_fixtures::sim::groove::expect;
    let want = |s: &str| live.iter().filter(|t| expect::state_for(t) == s).count();
    let held =
        |s: &str| census.tickets.iter().filter(|t| t.status_raw.as_deref() == Some(s)).count();
    assert_eq!(held("closed"), want("closed"), "closed tickets");
    // Agents were never created; agents' messages are by agents.
    let agents_before = census.users.iter().filter(|u| u.kind == UserKind::Agent).count();
    let prepared = ds
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
    assert_eq!(agents_before, prepared);
    // Messages keep their times: every comment time of a live ticket is there.
    let held_times: std::collections::BTreeSet<_> =
        census.comments.iter().filter_map(|c| c.created_at).collect();
    for c in ds.comments.iter().filter(|c| live.iter().any(|t| t.id == c.ticket_id)) {
        if let Some(t) = c.created_at {
            assert!(held_times.contains(&t), "comment {} lost its time", c.id);
        }
    }
    // Private notes stay private.
    let notes = ds
        .comments
        .iter()
        .filter(|c| !c.public && live.iter().any(|t| t.id == c.ticket_id))
        .count();
    assert!(census.comments.iter().filter(|c| !c.public).count() >= notes, "notes lost");
    // Every file of a live ticket's comments is there, byte for byte (up to Groove's limits).
    let have: Vec<&String> = census.files.values().collect();
    let per_comment =
        |cid: &str| ds.attachments.iter().filter(|a| a.comment_id.as_deref() == Some(cid)).count();
    for a in ds.attachments.iter().filter(|a| {
        a.comment_id.is_some()
            && live.iter().any(|t| Some(&t.id) == a.ticket_id.as_ref())
            && a.size.unwrap_or(0) as u64 <= 20 * 1024 * 1024
            && a.comment_id.as_deref().is_some_and(|c| per_comment(c) <= 25)
    }) {
        if let Some(sha) = &a.sha256 {
            assert!(have.contains(&sha), "file {} is missing", a.id);
        }
    }
    // Companies and the organization without members arrived; contacts belong to companies.
    for c in ds.case("organization_without_members") {
        let o = ds.organizations.iter().find(|o| o.id == c.id).expect("org");
        assert!(
            census.organizations.iter().any(|x| x.name == o.name),
            "organization {} missing",
            o.id
        );
    }
    assert!(
        census.users.iter().any(|u| u.kind == UserKind::EndUser && u.organization_id.is_some())
    );
    assert!(
        census.users.iter().any(|u| u.kind == UserKind::EndUser && !u.custom_fields.is_empty())
    );
    assert!(census.tickets.iter().any(|t| !t.tags.is_empty()));
    // The knowledge base: every article (translations as articles of their own).
    assert_eq!(census.kb_articles.len(), ds.kb_articles.len(), "articles");

    let (code, again, err) = load(&b, &dir, "run", "reports/again");
    assert!(code == 0 || code == 1, "again ({code}): {again}\n{err}");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "a re-run wrote: {again}");
    Box::new(w).stop().expect("stop");
}

/// Groove applies a ticket's customer hash to the contact holding its address: a contact the
/// account already had (and one the load made, when two people of the bundle share an address
/// up to case) keeps the name it has; the tickets name their customer by address alone.
#[test]
fn a_contact_already_in_groove_keeps_its_name_through_the_tickets_of_its_address() {
    let b = bundle_of(5, Size::Tiny);
    let dir = b.dir.path().to_path_buf();
    let w = GrooveWorld::start_target(&WorldOptions::default()).expect("a Groove target");
    w.write_connection(&dir, "target").expect("connection file");
    let ds = &b.dataset;
    let pair: Vec<&str> = ds.case("email_differs_by_case").map(|c| c.id.as_str()).collect();
    let users: Vec<_> = ds.users.iter().filter(|u| pair.contains(&u.id.as_str())).collect();
    assert_eq!(users.len(), 2, "the dataset's two people sharing an address up to case");
    // Not vacuous: one of them is the requester of a live ticket.
    assert!(
        ds.tickets
            .iter()
            .any(|t| !t.is_deleted && t.requester_id.as_deref().is_some_and(|r| pair.contains(&r)))
    );
    let address = users[0].email.clone().expect("an address").to_uppercase();
    let existing = {
        let mut r = w.desk().write();
        let id = r.new_id();
        let mut u =
            deskferry_fixtures::sim::new_user(id.clone(), UserKind::EndUser, chrono::Utc::now());
        u.email = Some(address.clone());
        u.name = Some("M. Garcia (already here)".into());
        r.put(u);
        id
    };

    let (code, run, err) = load(&b, &dir, "run", "reports/run");
    assert!(code == 0 || code == 1, "run ({code}): {run}\n{err}");
    let census = w.census().expect("census");
    let held: Vec<_> = census
        .users
        .iter()
        .filter(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&address)))
        .collect();
    assert_eq!(held.len(), 1, "one contact for the address: {held:?}");
    assert_eq!(held[0].id, existing);
    assert_eq!(
        held[0].name.as_deref(),
        Some("M. Garcia (already here)"),
        "the contact was renamed"
    );
    // Both people are reported matched to it, not silently merged.
    let records = std::fs::read_to_string(dir.join("reports/run/records.csv")).expect("records");
    for u in &users {
        let row = records
            .lines()
            .find(|l| l.starts_with(&format!("users,{},", u.id)))
            .unwrap_or_else(|| panic!("no row for {}:\n{records}", u.id));
        assert!(row.contains("one contact per address"), "{row}");
    }
    Box::new(w).stop().expect("stop");
}
