//! `reconcile`: reads every migrated ticket back from the target and compares it with the
//! bundle — comment count and order, authors, public/private, tags, timestamps where the target
//! keeps them, attachment bytes by SHA-256. Differences a documented target limit explains are
//! reported as limits, not as differences.

use std::collections::{HashMap, HashSet};

use deskferry_format::{BundleReader, Comment, Timestamp};
use futures_util::StreamExt;
use serde::Serialize;

use crate::ledger::{Ledger, Outcome};
use crate::load_error::LoadError;
use crate::mapping::{Mapping, Resolver};
use crate::progress::Progress;
use crate::rows::{self, Conversations};
use crate::run::migrated_targets;
use crate::target::{Capabilities, Inventory, ReadComment, ReadTicket, Target};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Equal.
    Ok,
    /// Not equal, and no documented limit explains it.
    Difference,
    /// Not equal because of a documented target limit.
    Limit,
    /// The ticket could not be read back.
    Error,
}

impl Verdict {
    /// The word in reconcile.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Difference => "difference",
            Verdict::Limit => "limit",
            Verdict::Error => "error",
        }
    }
}

/// One check of one ticket (or of one of its comments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Source ticket id.
    pub ticket: String,
    /// Target ticket id.
    pub target_id: String,
    /// Source comment id, when the check is about a comment.
    pub comment: Option<String>,
    /// What was compared (`comment_count`, `order`, `author`, `public`, `tags`, `created_at`, `attachments`, `read`).
    pub check: String,
    /// Outcome.
    pub verdict: Verdict,
    /// Expected (from the bundle; ids, counts, times and hashes only).
    pub expected: String,
    /// Found at the target.
    pub actual: String,
    /// The limit or error, when not ok.
    pub note: String,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reconciliation {
    /// Tickets read back.
    pub tickets: u64,
    /// Counts per entity: what was checked and what matched.
    pub totals: Totals,
    /// Every check that was not ok, plus one ok row per ticket.
    pub checks: Vec<Check>,
    /// The target's documented limits.
    pub limits: Vec<String>,
}

/// How many tickets, comments and attachments were checked, and how many matched (equal, or
/// different only as a documented target limit explains).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Tickets read back.
    pub tickets: u64,
    /// Tickets with no difference and no read error.
    pub tickets_ok: u64,
    /// Migrated comments of those tickets checked.
    pub comments: u64,
    /// Comments found with the right visibility, author, time and attachments.
    pub comments_ok: u64,
    /// Migrated attachments checked (SHA-256 of the bytes at the target).
    pub attachments: u64,
    /// Attachments whose bytes were found at the target.
    pub attachments_ok: u64,
}

impl Totals {
    /// Adds one ticket's checks; `row` when the bundle has the ticket's row (not only some of
    /// its comments), which is what the ticket counts are about.
    fn add(&mut self, checks: &[Check], comments: &[(String, usize)], row: bool) {
        let bad = |c: &Check| matches!(c.verdict, Verdict::Difference | Verdict::Error);
        let unreadable = checks.iter().any(|c| c.verdict == Verdict::Error);
        if row {
            self.tickets += 1;
            if !checks.iter().any(bad) {
                self.tickets_ok += 1;
            }
        }
        for (id, atts) in comments {
            let mine: Vec<&Check> =
                checks.iter().filter(|c| c.comment.as_deref() == Some(id)).collect();
            self.comments += 1;
            self.attachments += *atts as u64;
            if unreadable {
                continue;
            }
            if !mine.iter().any(|c| bad(c)) {
                self.comments_ok += 1;
            }
            if !mine.iter().any(|c| bad(c) && (c.check == "attachments" || c.check == "present")) {
                self.attachments_ok += *atts as u64;
            }
        }
    }
}

impl Reconciliation {
    /// Number of checks with this verdict.
    pub fn count(&self, v: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == v).count()
    }
}

fn fmt_time(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

struct Expect<'a> {
    comment: &'a Comment,
    external_id: String,
    author: Option<String>,
    /// The author's target id, which a target shows for a user it keeps without an address.
    author_id: Option<String>,
    attachments: Vec<String>,
}

/// Compares one ticket read back with what the bundle and ledger expect. `earlier` holds the
/// external ids of the comments an earlier bundle put on this ticket (before a delta): they are
/// that bundle's to check. Those the target shows with their external id are set aside here;
/// the others (targets that keep none for messages) are allowed as surplus, and the bundle's
/// comments pair with read-back comments by external id, else by visibility and time, else by
/// position.
fn compare(
    source_id: &str,
    read: &ReadTicket,
    earlier: &[String],
    expected_tags: &[String],
    created: Option<Timestamp>,
    exp: &[Expect<'_>],
    caps: &Capabilities,
) -> Vec<Check> {
    let is_earlier =
        |c: &ReadComment| c.external_id.as_deref().is_some_and(|x| earlier.iter().any(|e| e == x));
    let kept: Vec<ReadComment> = read.comments.iter().filter(|c| !is_earlier(c)).cloned().collect();
    // Earlier comments the target shows without an external id.
    let unmatched = earlier.len().saturating_sub(read.comments.len() - kept.len());
    let read = &ReadTicket { comments: kept, ..read.clone() };
    let mut out = Vec::new();
    let row = |comment: Option<&str>,
               check: &str,
               verdict,
               expected: String,
               actual: String,
               note: &str| Check {
        ticket: source_id.to_string(),
        target_id: read.id.clone(),
        comment: comment.map(str::to_string),
        check: check.to_string(),
        verdict,
        expected,
        actual,
        note: note.to_string(),
    };
    // Match comments: by external id where the target keeps it, else by position among the
    // comments without one.
    let mut by_ext: HashMap<&str, usize> = HashMap::new();
    for (i, c) in read.comments.iter().enumerate() {
        if let Some(e) = &c.external_id {
            by_ext.insert(e.as_str(), i);
        }
    }
    // Comments without an external id pair with an unpaired one of the same visibility: the
    // first with the same time (the target kept it), else the next in order.
    let mut free: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
    for (i, c) in read.comments.iter().enumerate() {
        if c.external_id.as_deref().is_none_or(|x| !exp.iter().any(|e| e.external_id == x)) {
            free[c.public as usize].push(i);
        }
    }
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    for (k, e) in exp.iter().enumerate() {
        let hit = by_ext.get(e.external_id.as_str()).copied().or_else(|| {
            let list = &mut free[e.comment.public as usize];
            let want = e.comment.created_at.map(|t| t.timestamp());
            let same_time = list.iter().position(|&i| {
                want.is_some() && read.comments[i].created_at.map(|t| t.timestamp()) == want
            });
            match same_time {
                Some(p) => Some(list.remove(p)),
                None if !list.is_empty() => Some(list.remove(0)),
                None => None,
            }
        });
        pairs.push((k, hit));
    }
    // The loader's own additions are explainable one by one: notes whose marker is an external
    // id the bundle does not expect (the custom-field note), and the placeholder message that
    // opens a ticket with no public message. Any other surplus is a difference (a duplicate).
    let own_notes = read
        .comments
        .iter()
        .filter(|c| {
            !c.public
                && c.external_id.as_deref().is_some_and(|x| !exp.iter().any(|e| e.external_id == x))
        })
        .count();
    let placeholder = usize::from(
        unmatched == 0
            && !exp.iter().any(|e| e.comment.public)
            && read.comments.iter().any(|c| c.public),
    );
    let want = exp.len() + unmatched;
    if read.comments.len() != want {
        let explained = read.comments.len() == want + own_notes + placeholder;
        let (verdict, note) = if read.comments.len() > want && explained {
            (
                Verdict::Limit,
                "the target holds the loader's own additions: the custom-field note, or the placeholder that opens a ticket without public messages",
            )
        } else if read.comments.len() > want {
            (Verdict::Difference, "more messages at the target than migrated (a duplicate?)")
        } else {
            (Verdict::Difference, "messages missing at the target")
        };
        out.push(row(
            None,
            "comment_count",
            verdict,
            want.to_string(),
            read.comments.len().to_string(),
            note,
        ));
    }
    // Order: the matched target positions must increase along the bundle's order — among
    // messages, among notes, and across both unless notes cannot be back-dated (then they sort
    // after the messages, a documented limit).
    let increasing = |public: Option<bool>| {
        let pos: Vec<usize> = pairs
            .iter()
            .filter(|(k, _)| public.is_none_or(|p| exp[*k].comment.public == p))
            .filter_map(|(_, h)| *h)
            .collect();
        pos.windows(2).all(|w| w[0] < w[1])
    };
    if !increasing(Some(true)) || !increasing(Some(false)) {
        out.push(row(
            None,
            "order",
            Verdict::Difference,
            "bundle order".into(),
            "different order".into(),
            "",
        ));
    } else if !increasing(None) {
        let (verdict, note) = if caps.note_times {
            (Verdict::Difference, "")
        } else {
            (
                Verdict::Limit,
                "private notes cannot be back-dated at the target and sort after the messages",
            )
        };
        out.push(row(
            None,
            "order",
            verdict,
            "bundle order".into(),
            "notes after messages".into(),
            note,
        ));
    }
    for (k, hit) in pairs {
        let e = &exp[k];
        let cid = Some(e.comment.id.as_str());
        let Some(i) = hit else {
            out.push(row(
                cid,
                "present",
                Verdict::Difference,
                "present".into(),
                "absent".into(),
                "not found at the target",
            ));
            continue;
        };
        let r: &ReadComment = &read.comments[i];
        if r.public != e.comment.public {
            out.push(row(
                cid,
                "public",
                Verdict::Difference,
                e.comment.public.to_string(),
                r.public.to_string(),
                "",
            ));
        }
        if let Some(want) = &e.author {
            let got = r.author.clone().unwrap_or_default();
            if !got.eq_ignore_ascii_case(want) && e.author_id.as_deref() != Some(got.as_str()) {
                out.push(row(
                    cid,
                    "author",
                    Verdict::Difference,
                    "author as mapped".into(),
                    "other author".into(),
                    "",
                ));
            }
        }
        let keeps = if e.comment.public { caps.message_times } else { caps.note_times };
        let want_t = e.comment.created_at.map(|t| t.timestamp());
        let got_t = r.created_at.map(|t| t.timestamp());
        if want_t.is_some() && want_t != got_t {
            let (verdict, note) = if keeps {
                (Verdict::Difference, "")
            } else if e.comment.public {
                (Verdict::Limit, "the target cannot set the time of messages")
            } else {
                (
                    Verdict::Limit,
                    "the target cannot set the time of private notes (they take the import time)",
                )
            };
            out.push(row(
                cid,
                "created_at",
                verdict,
                fmt_time(e.comment.created_at),
                fmt_time(r.created_at),
                note,
            ));
        }
        let mut want: Vec<&str> = e.attachments.iter().map(String::as_str).collect();
        let mut got: Vec<&str> = r.attachments.iter().map(|(_, h, _)| h.as_str()).collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            out.push(row(
                cid,
                "attachments",
                Verdict::Difference,
                want.join(" "),
                got.join(" "),
                "SHA-256 of the bytes",
            ));
        }
    }
    // The ticket's own creation time, where the bundle has the row and the target reports one:
    // a target that cannot set it passes only if it keeps the original elsewhere.
    if let (Some(want), Some(got)) = (created, read.created_at)
        && want.timestamp() != got.timestamp()
    {
        let kept = read.original_created_at.is_some_and(|o| o.timestamp() == want.timestamp());
        let (verdict, note) = if kept {
            (
                Verdict::Limit,
                "the target sets a ticket's creation time itself; the original is kept in the ticket",
            )
        } else {
            (Verdict::Difference, "creation time not kept")
        };
        out.push(row(None, "created_at", verdict, fmt_time(Some(want)), fmt_time(Some(got)), note));
    }
    let missing: Vec<&String> =
        expected_tags.iter().filter(|t| !read.tags.iter().any(|x| x == *t)).collect();
    if !missing.is_empty() {
        out.push(row(
            None,
            "tags",
            Verdict::Difference,
            format!("{} tags", expected_tags.len()),
            format!("{} missing", missing.len()),
            "",
        ));
    }
    if out.is_empty() {
        out.push(row(
            None,
            "all",
            Verdict::Ok,
            format!("{} comments", exp.len()),
            format!("{} comments", read.comments.len()),
            "",
        ));
    }
    out
}

/// Reads every migrated ticket back and compares it.
pub async fn reconcile<T: Target>(
    target: &T,
    reader: &BundleReader,
    mapping: &Mapping,
    ledger: &Ledger,
    progress: &Progress,
) -> Result<Reconciliation, LoadError> {
    let index = rows::index(reader)?;
    let conv = Conversations::read(reader)?;
    let inventory: Inventory = target.inventory().await?;
    let caps = target.capabilities();
    let resolver = Resolver::new(&index, mapping, &inventory, &caps);
    let tickets = ledger.entity("tickets")?;
    let comments = ledger.entity("comments")?;
    let atts = ledger.entity("attachments")?;
    let users = migrated_targets(ledger, "users")?;
    // Comments an earlier bundle migrated onto each ticket (a delta's tickets hold the full
    // bundle's comments too): external ids by ticket.
    let in_bundle: HashSet<&str> =
        conv.comments.values().flatten().map(|c| c.id.as_str()).collect();
    let mut earlier: HashMap<&str, Vec<String>> = HashMap::new();
    for e in comments.values() {
        if e.outcome == Outcome::Migrated
            && !in_bundle.contains(e.source_id.as_str())
            && let Some(p) = e.parent.as_deref()
        {
            earlier.entry(p).or_default().push(resolver.comment_external_id(&e.source_id));
        }
    }
    // Every migrated ticket the bundle names: by its row, or only by comments (a delta may
    // repeat a comment whose ticket did not change; that ticket is read back for it too).
    let migrated_target = |id: &str| {
        tickets.get(id).filter(|e| e.outcome == Outcome::Migrated).and_then(|e| e.target_id.clone())
    };
    let mut todo: Vec<(&str, Option<&deskferry_format::Ticket>, String)> = conv
        .tickets
        .iter()
        .filter_map(|t| migrated_target(&t.id).map(|id| (t.id.as_str(), Some(t), id)))
        .collect();
    let with_rows: HashSet<&str> = conv.tickets.iter().map(|t| t.id.as_str()).collect();
    for tid in conv.comments.keys().filter(|k| !with_rows.contains(k.as_str())) {
        if let Some(id) = migrated_target(tid) {
            todo.push((tid.as_str(), None, id));
        }
    }
    todo.sort_by(|a, b| deskferry_format::model::id_order(a.0, b.0));
    progress.stage("reconcile", todo.len() as u64);
    let agent_email: HashMap<&str, &str> =
        inventory.agents.iter().map(|a| (a.id.as_str(), a.email.as_str())).collect();
    let mut rec = Reconciliation { limits: caps.limits.clone(), ..Default::default() };
    let n = mapping.options.concurrency;
    let mut stream = futures_util::stream::iter(todo.into_iter().map(|(sid, t, tid)| {
        let (resolver, conv, comments, atts, users, agent_email, caps, earlier) =
            (&resolver, &conv, &comments, &atts, &users, &agent_email, &caps, &earlier);
        async move {
            let read = match target.read_ticket(&tid).await {
                Ok(r) => r,
                Err(e) => {
                    let checked = conv
                        .comments_of(sid)
                        .iter()
                        .filter(|c| {
                            comments.get(&c.id).is_some_and(|e| e.outcome == Outcome::Migrated)
                        })
                        .map(|c| (c.id.clone(), 0))
                        .collect();
                    let failed = vec![Check {
                        ticket: sid.to_string(),
                        target_id: tid.clone(),
                        comment: None,
                        check: "read".into(),
                        verdict: Verdict::Error,
                        expected: String::new(),
                        actual: String::new(),
                        note: crate::ledger::scrub(&e.to_string()),
                    }];
                    return (failed, checked, t.is_some());
                }
            };
            // Tags are checked where the bundle has the ticket's row.
            let tags = t.map(|t| resolver.map_ticket(t, users, false).tags).unwrap_or_default();
            let exp: Vec<Expect<'_>> = conv
                .comments_of(sid)
                .iter()
                .filter(|c| comments.get(&c.id).is_some_and(|e| e.outcome == Outcome::Migrated))
                .map(|c| {
                    let a = resolver.author(c.author_id.as_deref(), users);
                    let author = if a.is_agent {
                        a.target_id
                            .as_deref()
                            .and_then(|i| agent_email.get(i).map(|s| s.to_string()))
                    } else {
                        a.email.clone()
                    };
                    Expect {
                        comment: c,
                        external_id: resolver.comment_external_id(&c.id),
                        author,
                        author_id: a.target_id.clone(),
                        attachments: conv
                            .attachments_of(&c.id)
                            .iter()
                            .filter(|x| {
                                atts.get(&x.id).is_some_and(|e| e.outcome == Outcome::Migrated)
                            })
                            .filter_map(|x| x.sha256.clone())
                            // Images cut out of the body (data: URIs) are attachments too.
                            .chain(
                                resolver
                                    .map_comment(c, vec![], users)
                                    .attachments
                                    .into_iter()
                                    .map(|a| a.sha256),
                            )
                            .collect(),
                    }
                })
                .collect();
            // Attachments counted are the bundle's rows (images cut out of a body are checked
            // with them but are not rows of their own).
            let checked: Vec<(String, usize)> = exp
                .iter()
                .map(|e| {
                    let rows = conv
                        .attachments_of(&e.comment.id)
                        .iter()
                        .filter(|x| atts.get(&x.id).is_some_and(|e| e.outcome == Outcome::Migrated))
                        .count();
                    (e.comment.id.clone(), rows)
                })
                .collect();
            let earlier = earlier.get(sid).map(Vec::as_slice).unwrap_or_default();
            let created = t.and_then(|t| t.created_at);
            (compare(sid, &read, earlier, &tags, created, &exp, caps), checked, t.is_some())
        }
    }))
    .buffer_unordered(n);
    while let Some((checks, checked, row)) = stream.next().await {
        progress.inc(1);
        rec.tickets += 1;
        rec.totals.add(&checks, &checked, row);
        rec.checks.extend(checks);
    }
    progress.finish();
    rec.checks.sort_by(|a, b| {
        deskferry_format::model::id_order(&a.ticket, &b.ticket)
            .then_with(|| a.comment.cmp(&b.comment))
            .then_with(|| a.check.cmp(&b.check))
    });
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use deskferry_fixtures::dataset::{Dataset, Size};

    use super::*;

    fn at(minute: u32) -> Option<Timestamp> {
        Some(chrono::Utc.with_ymd_and_hms(2025, 3, 1, 10, minute, 0).unwrap())
    }

    fn read(public: bool, minute: u32, external_id: Option<&str>) -> ReadComment {
        ReadComment {
            id: format!("msg_{minute}"),
            external_id: external_id.map(str::to_string),
            author: Some("a@example.com".into()),
            public,
            created_at: at(minute),
            attachments: vec![],
        }
    }

    /// A delta's new message on a ticket whose earlier messages the target shows without an
    /// external id (Front): the earlier ones are set aside, the new one pairs by its time; one
    /// message more than the ledger accounts for is a difference.
    #[test]
    fn earlier_bundles_comments_are_set_aside_and_a_surplus_is_still_caught() {
        let ds = Dataset::generate(1, Size::Tiny);
        let mut c = ds.comments[0].clone();
        c.public = true;
        c.created_at = at(30);
        let exp = [Expect {
            comment: &c,
            external_id: "x-c9".into(),
            author: Some("A@example.com".into()),
            author_id: None,
            attachments: vec![],
        }];
        let earlier = ["x-c1".to_string(), "x-c2".to_string(), "x-c3".to_string()];
        let caps = Capabilities { message_times: true, note_times: false, ..Default::default() };
        // Two earlier messages without an external id, an earlier note with its marker, the
        // delta's message (no external id either) last.
        let mut ticket = ReadTicket {
            id: "cnv_1".into(),
            comments: vec![
                read(true, 1, None),
                read(true, 2, None),
                read(false, 3, Some("x-c3")),
                read(true, 30, None),
            ],
            ..Default::default()
        };
        let checks = compare("9", &ticket, &earlier, &[], None, &exp, &caps);
        assert!(checks.iter().all(|c| c.verdict == Verdict::Ok), "{checks:#?}");

        ticket.comments.push(read(true, 31, None));
        let checks = compare("9", &ticket, &earlier, &[], None, &exp, &caps);
        assert!(
            checks.iter().any(|c| c.check == "comment_count" && c.verdict == Verdict::Difference),
            "{checks:#?}"
        );
    }

    /// A target that sets its own creation time passes only if it keeps the original in the
    /// ticket; one that keeps neither is a difference.
    #[test]
    fn a_ticket_creation_time_is_kept_or_kept_in_the_ticket() {
        let caps = Capabilities::default();
        let mut t = ReadTicket { id: "7".into(), created_at: at(59), ..Default::default() };
        let checks = compare("7", &t, &[], &[], at(1), &[], &caps);
        let c = checks.iter().find(|c| c.check == "created_at").expect("checked");
        assert_eq!(c.verdict, Verdict::Difference, "{checks:#?}");
        t.original_created_at = at(1);
        let checks = compare("7", &t, &[], &[], at(1), &[], &caps);
        let c = checks.iter().find(|c| c.check == "created_at").expect("checked");
        assert_eq!(c.verdict, Verdict::Limit, "{checks:#?}");
        t.created_at = at(1);
        let checks = compare("7", &t, &[], &[], at(1), &[], &caps);
        assert!(checks.iter().all(|c| c.verdict == Verdict::Ok), "{checks:#?}");
    }
}
