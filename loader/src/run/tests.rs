//! The ledger protocol end to end on a real bundle, against the in-memory target.

use deskferry_format::Ticket;
use std::sync::atomic::Ordering;

use deskferry_fixtures::dataset::{Dataset, Size};

use super::*;
use crate::reconcile::{Verdict, reconcile};
use crate::testing::{MemoryTarget, bundle};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A fresh ledger and in-memory target with a mapping: the loader over them for any bundle.
struct Rig {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    target: MemoryTarget,
    mapping: Mapping,
    progress: Progress,
}

impl Rig {
    fn new(mapping: Mapping) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.ledger")).unwrap();
        Rig {
            _dir: dir,
            ledger,
            target: MemoryTarget::default(),
            mapping,
            progress: Progress::silent(),
        }
    }

    fn loader<'a>(&'a self, reader: &'a BundleReader) -> Loader<'a, MemoryTarget> {
        Loader {
            target: &self.target,
            reader,
            mapping: &self.mapping,
            ledger: &self.ledger,
            progress: &self.progress,
        }
    }

    fn run(&self, reader: &BundleReader, mode: Mode) -> RunSummary {
        rt().block_on(self.loader(reader).run(mode)).unwrap()
    }
}

fn count(target: &MemoryTarget) -> (usize, usize) {
    let t = target.tickets.lock().unwrap();
    (t.len(), t.values().map(|s| s.comments.len()).sum())
}

#[test]
fn rerun_after_success_writes_nothing_and_lost_answers_never_duplicate() {
    let b = bundle(3, Size::Tiny);
    let rig = Rig::new(Mapping::default());
    let (target, ledger) = (&rig.target, &rig.ledger);
    // The third ticket write and every later one reach the target but the answer is lost.
    *target.lose_answers_after.lock().unwrap() = Some(3);
    let first = rig.run(&b.reader, Mode::Run);
    assert!(first.counts.failed > 0, "lost answers are failures: {:?}", first.counts);

    *target.lose_answers_after.lock().unwrap() = None;
    let second = rig.run(&b.reader, Mode::Run);
    assert_eq!(second.counts.failed, 0, "{:?}", second.counts);

    let eligible = b.dataset.tickets.iter().filter(|t| !t.is_deleted).count();
    let comments: usize = b
        .dataset
        .tickets
        .iter()
        .filter(|t| !t.is_deleted)
        .map(|t| b.dataset.comments_of(&t.id).len())
        .sum();
    assert_eq!(count(target), (eligible, comments), "every ticket and comment exactly once");

    let before = target.writes.load(Ordering::SeqCst);
    let third = rig.run(&b.reader, Mode::Run);
    assert_eq!(
        target.writes.load(Ordering::SeqCst),
        before,
        "a re-run after success sends no writes"
    );
    assert_eq!(third.counts.migrated + third.counts.failed, 0, "{:?}", third.counts);

    let mut rec =
        rt().block_on(reconcile(target, &b.reader, &rig.mapping, ledger, &rig.progress)).unwrap();
    assert_eq!(rec.tickets as usize, eligible);
    let all = rec.checks.all().unwrap();
    let bad: Vec<_> = all.iter().filter(|c| c.verdict != Verdict::Ok).collect();
    assert!(bad.is_empty(), "{bad:#?}");
    let runs = ledger.runs().unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.ended_at.is_some()));
}

#[test]
fn a_ticket_waits_for_a_person_whose_write_failed_for_a_passing_reason() {
    let b = bundle(3, Size::Tiny);
    let rig = Rig::new(Mapping::default());
    let live: Vec<&Ticket> = b.dataset.tickets.iter().filter(|t| !t.is_deleted).collect();
    let who = live.iter().find_map(|t| t.requester_id.clone()).expect("a ticket with a requester");
    let naming = |t: &Ticket| {
        [&t.requester_id, &t.submitter_id, &t.assignee_id].into_iter().flatten().any(|p| *p == who)
            || [&t.other_requester_ids, &t.cc_ids, &t.follower_ids].iter().any(|v| v.contains(&who))
            || b.dataset.comments_of(&t.id).iter().any(|c| c.author_id.as_ref() == Some(&who))
    };
    let (waiting, others): (Vec<&&Ticket>, Vec<&&Ticket>) = live.iter().partition(|t| naming(t));
    rig.target.unreachable_users.lock().unwrap().insert(who.clone());
    let first = rig.run(&b.reader, Mode::Run);
    assert!(first.counts.failed > 0, "{:?}", first.counts);
    let tickets = rig.ledger.entity("tickets").unwrap();
    for t in &waiting {
        let e = &tickets[&t.id];
        assert_eq!(e.outcome, Outcome::Failed, "ticket {} names user {who}", t.id);
        assert!(
            e.reason.as_deref().unwrap_or("").contains(&format!("waits for user {who}")),
            "{e:?}"
        );
    }
    for t in &others {
        assert_eq!(
            tickets[&t.id].outcome,
            Outcome::Migrated,
            "ticket {} does not name {who}",
            t.id
        );
    }
    assert_eq!(count(&rig.target).0, others.len(), "no ticket went in with a stand-in");

    rig.target.unreachable_users.lock().unwrap().clear();
    let second = rig.run(&b.reader, Mode::Run);
    assert_eq!(second.counts.failed, 0, "{:?}", second.counts);
    assert_eq!(count(&rig.target).0, live.len(), "the waiting tickets went in after their person");
}

#[test]
fn demo_sample_is_deterministic_tagged_and_later_run_does_not_duplicate() {
    let b = bundle(5, Size::Tiny);
    let rig = Rig::new(Mapping::default());
    let target = &rig.target;
    let a = rig.run(&b.reader, Mode::Demo { ids: None, count: 5 });
    assert_eq!(a.selected_tickets.len(), 5);
    let again = rig.run(&b.reader, Mode::Demo { ids: None, count: 5 });
    assert_eq!(a.selected_tickets, again.selected_tickets, "same bundle, same sample");
    assert_eq!(count(target).0, 5);
    assert!(
        target
            .tickets
            .lock()
            .unwrap()
            .values()
            .all(|s| s.tags.iter().any(|t| t == "deskferry-demo"))
    );

    let named =
        rig.run(&b.reader, Mode::Demo { ids: Some(vec!["2".into(), "nope".into()]), count: 20 });
    assert_eq!(named.selected_tickets, vec!["2".to_string()]);
    assert!(named.notes.iter().any(|n| n.contains("nope")));

    rig.run(&b.reader, Mode::Run);
    let eligible = b.dataset.tickets.iter().filter(|t| !t.is_deleted).count();
    assert_eq!(
        count(target).0,
        eligible,
        "the full run adds the rest, never the demo tickets again"
    );
}

#[test]
fn filters_and_skip_attachments_are_recorded_as_deliberate_skips() {
    let b = bundle(3, Size::Tiny);
    let text = "[filters]\nstatuses = [\"open\"]\n[options]\nskip_attachments = true\n";
    let rig = Rig::new(Mapping::parse(text, std::path::Path::new("m.toml")).unwrap());
    let (target, ledger) = (&rig.target, &rig.ledger);
    rig.run(&b.reader, Mode::Run);
    let open = b
        .dataset
        .tickets
        .iter()
        .filter(|t| !t.is_deleted && t.status == deskferry_format::TicketStatus::Open)
        .count();
    assert_eq!(count(target).0, open);
    let tickets = ledger.entity("tickets").unwrap();
    assert!(
        tickets
            .values()
            .filter(|e| e.outcome == Outcome::Skipped)
            .all(|e| !e.notable && e.reason.is_some())
    );
    let atts = ledger.entity("attachments").unwrap();
    assert!(!atts.is_empty());
    assert!(atts.values().all(|e| e.outcome == Outcome::Skipped));
    assert!(
        target
            .tickets
            .lock()
            .unwrap()
            .values()
            .all(|s| s.comments.iter().all(|c| c.attachments.is_empty()))
    );

    // Without the filter, the tickets it left out are loaded (comment-less ones included).
    let all = Mapping::default();
    let loader = Loader { mapping: &all, ..rig.loader(&b.reader) };
    rt().block_on(loader.run(Mode::Run)).unwrap();
    let eligible = b.dataset.tickets.iter().filter(|t| !t.is_deleted).count();
    assert_eq!(count(target).0, eligible);
}

#[test]
fn delta_updates_changed_tickets_adds_comments_applies_tombstones_and_creates_nothing_twice() {
    let mut base = Dataset::generate(3, Size::Tiny);
    // One agent matches the target's teammate: a tombstone for it must not delete the teammate.
    let agent = base
        .users
        .iter_mut()
        .find(|u| {
            u.kind == deskferry_format::UserKind::Agent && u.active && !u.suspended && !u.is_deleted
        })
        .unwrap();
    agent.email = Some("Admin@Example.com".into());
    let agent_id = agent.id.clone();
    let first = crate::testing::bundle_of(base.clone(), "full-1", |_| {});
    let rig = Rig::new(Mapping::default());
    let (target, ledger) = (&rig.target, &rig.ledger);
    let run = |reader: &BundleReader| rig.run(reader, Mode::Run);
    run(&first.reader);
    let (tickets_before, comments_before) = count(target);

    // The delta: one ticket's subject changed, one new comment on another, one ticket deleted.
    let mut next = base.clone();
    let live: Vec<usize> =
        (0..next.tickets.len()).filter(|&i| !next.tickets[i].is_deleted).collect();
    let (changed, grown, gone) = (live[0], live[1], live[2]);
    next.tickets[changed].subject = Some("changed at the source".into());
    let mut c = next.comments_of(&next.tickets[grown].id)[0].clone();
    c.id = "99999999".into();
    c.attachment_ids.clear();
    c.created_at = next.tickets[grown].updated_at;
    next.comments.push(c);
    let gone_id = next.tickets[gone].id.clone();
    let second = crate::testing::bundle_of(next.clone(), "delta-2", |w| {
        w.append(&deskferry_format::Tombstone {
            entity: "tickets".into(),
            id: gone_id.clone(),
            deleted_at: None,
        })
        .unwrap();
        w.append(&deskferry_format::Tombstone {
            entity: "users".into(),
            id: agent_id.clone(),
            deleted_at: None,
        })
        .unwrap();
    });
    let writes = target.writes.load(Ordering::SeqCst);
    let s = run(&second.reader);
    assert_eq!(s.counts.failed, 0, "{s:?}");
    // Two tickets written (the changed one and the one with a new comment) plus one tombstone.
    assert_eq!(target.writes.load(Ordering::SeqCst) - writes, 3, "{s:?}");
    assert_eq!(
        count(target),
        (tickets_before, comments_before + 1),
        "updated in place, one comment added"
    );
    let t = target.tickets.lock().unwrap();
    assert_eq!(t.values().map(|s| s.updates).sum::<u32>(), 2);
    drop(t);
    let stone = ledger.get("tombstones", &format!("tickets:{gone_id}")).unwrap().unwrap();
    assert_eq!(stone.outcome, Outcome::Migrated);
    let kept = ledger.get("tombstones", &format!("users:{agent_id}")).unwrap().unwrap();
    assert_eq!(kept.outcome, Outcome::Skipped, "a matched teammate is never deleted");
    assert_eq!(
        ledger.get("users", &agent_id).unwrap().unwrap().target_id.as_deref(),
        Some("tea_1")
    );

    // And the delta again: nothing.
    let writes = target.writes.load(Ordering::SeqCst);
    run(&second.reader);
    assert_eq!(target.writes.load(Ordering::SeqCst), writes);
}

/// A comment whose ticket has no row in the bundle is recorded as failed with the reason, not
/// dropped; a later bundle that holds the ticket writes it.
#[test]
fn a_comment_without_its_ticket_row_fails_visibly_and_is_written_later() {
    let base = Dataset::generate(5, Size::Tiny);
    let i = base.tickets.iter().position(|t| !t.is_deleted && !t.is_spam).unwrap();
    let ticket = base.tickets[i].id.clone();
    let orphans: Vec<String> = base.comments_of(&ticket).iter().map(|c| c.id.clone()).collect();
    assert!(!orphans.is_empty());
    let mut without = base.clone();
    without.tickets.remove(i);
    let first = crate::testing::bundle_of(without, "no-row", |_| {});
    let rig = Rig::new(Mapping::default());
    let ledger = &rig.ledger;
    let run = |reader: &BundleReader| rig.run(reader, Mode::Run);
    let s = run(&first.reader);
    assert_eq!(s.counts.failed, orphans.len() as u64, "{s:?}");
    for id in &orphans {
        let e = ledger.get("comments", id).unwrap().unwrap();
        assert_eq!(e.outcome, Outcome::Failed);
        assert!(e.reason.as_deref().unwrap_or_default().contains("not in this bundle"), "{e:?}");
        assert_eq!(e.parent.as_deref(), Some(ticket.as_str()));
    }
    let full = crate::testing::bundle_of(base, "with-row", |_| {});
    let s = run(&full.reader);
    assert_eq!(s.counts.failed, 0, "{s:?}");
    for id in &orphans {
        assert_eq!(ledger.get("comments", id).unwrap().unwrap().outcome, Outcome::Migrated);
    }
}
