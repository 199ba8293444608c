//! `reconcile`: reads every migrated ticket back from the target and compares it with the
//! bundle — comment count and order, authors, public/private, tags, timestamps where the target
//! keeps them, attachment bytes by SHA-256 — then every migrated user (name, address; an agent
//! matched to the target's own, among its agents) and organization (name) the target holds. Differences a documented target limit explains are
//! reported as limits, not as differences.

use std::collections::{HashMap, HashSet};

use deskferry_format::{BundleReader, Comment, Timestamp};
use futures_util::StreamExt;
use serde::Serialize;

use crate::check_log::CheckLog;
use crate::ledger::{Ledger, Outcome};
use crate::load_error::LoadError;
use crate::mapping::{Mapping, Resolver};
use crate::progress::Progress;
use crate::rows::{self, Conversations};
use crate::target::{Capabilities, Inventory, ReadComment, ReadTicket, ReadUser, Readback, Target};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

/// One check of one record: a ticket (or one of its comments), a user, an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Check {
    /// The bundle table of the record checked (`tickets`, `users`, `organizations`).
    pub entity: String,
    /// Source id of the record (for a comment's checks, its ticket's).
    pub record: String,
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
#[derive(Debug, Default, Serialize)]
pub struct Reconciliation {
    /// Tickets read back.
    pub tickets: u64,
    /// Counts per entity: what was checked and what matched.
    pub totals: Totals,
    /// Every check that was not ok, plus one ok row per ticket (on disk; see [`CheckLog`]).
    pub checks: CheckLog,
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
    /// Migrated users read back (`None`: the target keeps none of its own to read).
    pub users: Option<u64>,
    /// Users found with their name and address (or what a documented limit explains).
    pub users_ok: u64,
    /// Migrated organizations read back (`None`: the target keeps none of its own to read).
    pub organizations: Option<u64>,
    /// Organizations found with their name.
    pub organizations_ok: u64,
    /// Migrated groups looked for among the target's groups (inboxes, queues).
    pub groups: u64,
    /// Groups found at the target.
    pub groups_ok: u64,
    /// Migrated knowledge-base categories read back (`None`: the target's knowledge base is
    /// not read back).
    pub kb_categories: Option<u64>,
    /// Categories found with their name and locale.
    pub kb_categories_ok: u64,
    /// Migrated sections read back (`None`: not read back).
    pub kb_sections: Option<u64>,
    /// Sections found with their name and locale.
    pub kb_sections_ok: u64,
    /// Migrated articles (and translations) read back (`None`: not read back).
    pub kb_articles: Option<u64>,
    /// Articles found with their title, locale and draft state.
    pub kb_articles_ok: u64,
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
    pub fn count(&self, v: Verdict) -> u64 {
        self.checks.count(v)
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

/// One ticket as reconcile needs it: its row (when the bundle has one), its comments the
/// ledger says were migrated, each with its migrated attachments, and the comments an earlier
/// bundle migrated onto it (by source id).
struct TicketRows {
    row: Option<deskferry_format::Ticket>,
    comments: Vec<(Comment, Vec<deskferry_format::Attachment>)>,
    earlier: Vec<String>,
}

impl TicketRows {
    fn read(
        conv: &Conversations,
        ledger: &Ledger,
        id: &str,
        has_row: bool,
    ) -> Result<TicketRows, LoadError> {
        let row = if has_row { conv.ticket(id)? } else { None };
        let migrated = |entity: &str, id: &str| -> Result<bool, LoadError> {
            Ok(ledger.get(entity, id)?.is_some_and(|e| e.outcome == Outcome::Migrated))
        };
        let mut comments = Vec::new();
        let mut in_bundle = HashSet::new();
        for c in conv.comments_of(id)? {
            in_bundle.insert(c.id.clone());
            if !migrated("comments", &c.id)? {
                continue;
            }
            let mut atts = Vec::new();
            for a in conv.attachments_of(&c)? {
                if migrated("attachments", &a.id)? {
                    atts.push(a);
                }
            }
            comments.push((c, atts));
        }
        // A delta's tickets hold the full bundle's comments too.
        let earlier = ledger
            .children("comments", id)?
            .into_iter()
            .filter(|e| e.outcome == Outcome::Migrated && !in_bundle.contains(&e.source_id))
            .map(|e| e.source_id)
            .collect();
        Ok(TicketRows { row, comments, earlier })
    }

    fn migrated(&self) -> impl Iterator<Item = (&Comment, &[deskferry_format::Attachment])> {
        self.comments.iter().map(|(c, a)| (c, a.as_slice()))
    }
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
        entity: "tickets".into(),
        record: source_id.to_string(),
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
    // opens a ticket whose first message is not public (a target that opens a ticket with a
    // public message cannot open it with a note: an Intercom Back-office ticket's description
    // into Freshdesk). Any other surplus is a difference (a duplicate).
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
            && !exp.first().is_some_and(|e| e.comment.public)
            && read.comments.iter().any(|c| c.public),
    );
    let want = exp.len() + unmatched;
    if read.comments.len() != want {
        // The placeholder may be there (a target that opens with a note needs none).
        let extra = read.comments.len().saturating_sub(want);
        let explained = extra == own_notes + placeholder || extra == own_notes;
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
    let conv = Conversations::read(reader, ledger.dir())?;
    let inventory: Inventory = target.inventory().await?;
    let caps = target.capabilities();
    let resolver = Resolver::new(&index, mapping, &inventory, &caps);
    // Every migrated ticket the bundle names: by its row, or only by comments (a delta may
    // repeat a comment whose ticket did not change; that ticket is read back for it too).
    // Read from the spool as they are checked, with their ledger entries by id: no list of a
    // large bundle's tickets is held.
    let migrated_target = |id: &str| ledger.migrated_target("tickets", id);
    let without_rows = conv.tickets_without_rows()?;
    progress.stage("reconcile", conv.ticket_count() + without_rows.len() as u64);
    let todo = conv
        .tickets()
        .map(|t| t.map(|t| (t.id, true)))
        .chain(without_rows.into_iter().map(|id| Ok((id, false))))
        .map(|r| {
            let (id, has_row) = r?;
            Ok::<_, LoadError>(migrated_target(&id)?.map(|target| (id, has_row, target)))
        });
    let agent_email: HashMap<&str, &str> =
        inventory.agents.iter().map(|a| (a.id.as_str(), a.email.as_str())).collect();
    let mut rec = Reconciliation {
        limits: caps.limits.clone(),
        checks: CheckLog::in_dir(ledger.dir()),
        ..Default::default()
    };
    let n = mapping.options.concurrency_for(&caps);
    let mut stream = futures_util::stream::iter(todo.map(|todo| {
        let (resolver, conv, agent_email, caps) = (&resolver, &conv, &agent_email, &caps);
        async move {
            // Not migrated: nothing to read back.
            let Some((sid, has_row, tid)) = todo? else {
                return Ok::<_, LoadError>(None);
            };
            let ticket = TicketRows::read(conv, ledger, &sid, has_row)?;
            let t = ticket.row.as_ref();
            let cast = conv.cast(t, ticket.comments.iter().map(|(c, _)| c), Some(ledger))?;

            let read = match target.read_ticket(&tid).await {
                Ok(r) => r,
                Err(e) => {
                    let checked = ticket.migrated().map(|(c, _)| (c.id.clone(), 0)).collect();
                    let failed = vec![Check {
                        entity: "tickets".into(),
                        record: sid.clone(),
                        target_id: tid.clone(),
                        comment: None,
                        check: "read".into(),
                        verdict: Verdict::Error,
                        expected: String::new(),
                        actual: String::new(),
                        note: crate::ledger::scrub(&e.to_string()),
                    }];
                    return Ok(Some((failed, checked, has_row)));
                }
            };
            // Tags are checked where the bundle has the ticket's row.
            let tags = t.map(|t| resolver.map_ticket(t, &cast, false).tags).unwrap_or_default();
            let exp: Vec<Expect<'_>> = ticket
                .migrated()
                .map(|(c, atts)| {
                    let a = resolver.author(c.author_id.as_deref(), &cast);
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
                        attachments: atts
                            .iter()
                            .filter_map(|x| x.sha256.clone())
                            // Images cut out of the body (data: URIs) are attachments too.
                            .chain(
                                resolver
                                    .map_comment(c, vec![], &cast)
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
            let checked: Vec<(String, usize)> =
                ticket.migrated().map(|(c, atts)| (c.id.clone(), atts.len())).collect();
            let earlier: Vec<String> =
                ticket.earlier.iter().map(|id| resolver.comment_external_id(id)).collect();
            let created = t.and_then(|t| t.created_at);
            Ok(Some((compare(&sid, &read, &earlier, &tags, created, &exp, caps), checked, has_row)))
        }
    }))
    .buffer_unordered(n);
    while let Some(r) = stream.next().await {
        progress.inc(1);
        let Some((checks, checked, row)) = r? else { continue };
        rec.tickets += 1;
        rec.totals.add(&checks, &checked, row);
        rec.checks.extend(checks)?;
    }
    progress.finish();
    reconcile_people(
        target,
        &resolver,
        &conv,
        ledger,
        &inventory,
        mapping.options.concurrency_for(&caps),
        progress,
        &mut rec,
    )
    .await?;
    reconcile_groups(&index, ledger, &inventory, &mut rec)?;
    reconcile_kb(target, reader, ledger, progress, &mut rec).await?;
    Ok(rec)
}

/// Spaces as a target keeps them (line breaks and runs of blanks become one space).
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One user's or organization's checks. Names and addresses are compared, never written into
/// the report (it holds ids, counts, times and hashes only).
fn compare_person(
    entity: &str,
    source_id: &str,
    target_id: &str,
    want_name: Option<&str>,
    want_email: Option<&str>,
    read: Readback<ReadUser>,
    limit: Option<&str>,
) -> Vec<Check> {
    let row = |check: &str, verdict, expected: &str, actual: &str, note: &str| Check {
        entity: entity.into(),
        record: source_id.into(),
        target_id: target_id.into(),
        comment: None,
        check: check.into(),
        verdict,
        expected: expected.into(),
        actual: actual.into(),
        note: note.into(),
    };
    // A difference the record's own reported target limit explains is that limit.
    let differs = |check: &str, expected: &str, actual: &str| match limit {
        Some(l) => row(check, Verdict::Limit, expected, actual, l),
        None => row(check, Verdict::Difference, expected, actual, ""),
    };
    let read = match read {
        Readback::Found(r) => r,
        Readback::Missing => return vec![differs("present", "present", "absent")],
        Readback::NotHeld => return Vec::new(),
    };
    let mut out = Vec::new();
    if let Some(want) = want_name.map(squash).filter(|n| !n.is_empty()) {
        match read.name.as_deref().map(squash) {
            Some(got) if got == want => {}
            Some(_) => out.push(differs("name", "name as in the bundle", "another name")),
            None => out.push(differs("name", "name as in the bundle", "none")),
        }
    }
    if let Some(want) = want_email.filter(|m| !m.trim().is_empty())
        && !read.emails.iter().any(|m| m.trim().eq_ignore_ascii_case(want.trim()))
    {
        let actual = if read.emails.is_empty() { "none" } else { "other addresses" };
        out.push(differs("email", "address as in the bundle", actual));
    }
    if out.is_empty() {
        out.push(row("all", Verdict::Ok, "name and address", "equal", ""));
    }
    out
}

/// Reads every migrated user and organization back whose version at the target is this
/// bundle's (the ledger's content hash). An agent the mapping matched to one of the target's
/// own agents is checked to be among them; other users (end users, and agents the
/// target created) are read and compared by name and address; organizations by name.
#[allow(clippy::too_many_arguments)]
async fn reconcile_people<T: Target>(
    target: &T,
    resolver: &Resolver<'_>,
    conv: &Conversations,
    ledger: &Ledger,
    inventory: &Inventory,
    concurrency: usize,
    progress: &Progress,
    rec: &mut Reconciliation,
) -> Result<(), LoadError> {
    let agents: HashSet<&str> = inventory.agents.iter().map(|a| a.id.as_str()).collect();
    let limit_of = |e: &crate::ledger::Entry| {
        e.reason.as_deref().filter(|r| r.starts_with("target limit:")).map(str::to_string)
    };
    for entity in ["users", "organizations"] {
        // One person at a time per task in flight, from the spool in id order, with the
        // ledger's entry by id: nothing here grows with the account.
        let (rows, count): (Box<dyn Iterator<Item = Result<Person, LoadError>> + Send + '_>, u64) =
            match entity {
                "users" => (Box::new(conv.users().map(|r| r.map(Person::User))), conv.user_count()),
                _ => (
                    Box::new(conv.organizations().map(|r| r.map(Person::Organization))),
                    conv.organization_count(),
                ),
            };
        progress.stage(&format!("reconcile {entity}"), count);
        let mut stream = futures_util::stream::iter(rows.map(|person| {
            let agents = &agents;
            let resolver = &resolver;
            async move {
                let person = person?;
                let sid = person.id();
                // The version at the target is this bundle's: a later bundle (a delta) that
                // changed the record is the one to check it against.
                let hash = person.hash();
                let Some(e) = ledger.get(entity, sid)?.filter(|e| {
                    e.outcome == Outcome::Migrated
                        && e.target_id.is_some()
                        && e.content_hash == hash
                }) else {
                    return Ok::<_, LoadError>(None);
                };
                let limit = limit_of(&e);
                let tid = e.target_id.clone().unwrap_or_default();
                let read_err = |err: crate::error::WriteError| {
                    vec![Check {
                        entity: entity.into(),
                        record: sid.into(),
                        target_id: tid.clone(),
                        comment: None,
                        check: "read".into(),
                        verdict: Verdict::Error,
                        expected: String::new(),
                        actual: String::new(),
                        note: crate::ledger::scrub(&err.to_string()),
                    }]
                };
                let user = match &person {
                    Person::User(u) => u,
                    Person::Organization(org) => {
                        let read = match target.read_organization(&tid).await {
                            Ok(Readback::Found(o)) => {
                                Readback::Found(ReadUser { name: o.name, emails: vec![] })
                            }
                            Ok(Readback::Missing) => Readback::Missing,
                            Ok(Readback::NotHeld) => Readback::NotHeld,
                            Err(err) => return Ok(Some((read_err(err), true))),
                        };
                        let held = read != Readback::NotHeld;
                        let checks = compare_person(
                            entity,
                            sid,
                            &tid,
                            Some(&org.name),
                            None,
                            read,
                            limit.as_deref(),
                        );
                        return Ok(Some((checks, held)));
                    }
                };
                let matched = user.kind == deskferry_format::UserKind::Agent
                    && resolver.map_user(user, None).matched_agent.is_some();
                if matched {
                    // One of the target's own agents: its name and address are the target's.
                    let verdict = if agents.contains(tid.as_str()) {
                        (Verdict::Ok, "found among the target's agents")
                    } else {
                        (Verdict::Difference, "not among the target's agents")
                    };
                    let row = Check {
                        entity: entity.into(),
                        record: sid.into(),
                        target_id: tid.clone(),
                        comment: None,
                        check: "agent".into(),
                        verdict: verdict.0,
                        expected: "a target agent".into(),
                        actual: verdict.1.into(),
                        note: String::new(),
                    };
                    return Ok(Some((vec![row], true)));
                }
                Ok(Some(match target.read_user(&tid).await {
                    Ok(read) => {
                        let held = read != Readback::NotHeld;
                        let checks = compare_person(
                            entity,
                            sid,
                            &tid,
                            user.name.as_deref(),
                            user.email.as_deref(),
                            read,
                            limit.as_deref(),
                        );
                        (checks, held)
                    }
                    Err(err) => (read_err(err), true),
                }))
            }
        }))
        .buffer_unordered(concurrency.max(1));
        let (mut read, mut ok) = (0u64, 0u64);
        let mut held = false;
        while let Some(r) = stream.next().await {
            progress.inc(1);
            let Some((checks, true)) = r? else {
                continue;
            };
            held = true;
            read += 1;
            if !checks.iter().any(|c| matches!(c.verdict, Verdict::Difference | Verdict::Error)) {
                ok += 1;
            }
            rec.checks.extend(checks)?;
        }
        progress.finish();
        let t = &mut rec.totals;
        if entity == "users" {
            (t.users, t.users_ok) = (held.then_some(read), ok);
        } else {
            (t.organizations, t.organizations_ok) = (held.then_some(read), ok);
        }
    }
    Ok(())
}

/// A user's or an organization's row, read back by [`reconcile_people`].
enum Person {
    User(deskferry_format::User),
    Organization(deskferry_format::Organization),
}

impl Person {
    fn id(&self) -> &str {
        match self {
            Person::User(u) => &u.id,
            Person::Organization(o) => &o.id,
        }
    }

    fn hash(&self) -> String {
        match self {
            Person::User(u) => crate::ledger::content_hash(u),
            Person::Organization(o) => crate::ledger::content_hash(o),
        }
    }
}

/// Every migrated group (a queue created, an inbox matched) is looked for among the target's
/// groups as the target lists them now (the inventory reconcile reads first): one list for all.
fn reconcile_groups(
    index: &crate::mapping::BundleIndex,
    ledger: &Ledger,
    inventory: &Inventory,
    rec: &mut Reconciliation,
) -> Result<(), LoadError> {
    let held: HashSet<&str> = inventory.groups.iter().map(|g| g.id.as_str()).collect();
    let mut todo: Vec<crate::ledger::Entry> = ledger
        .entity("groups")?
        .into_values()
        .filter(|e| e.outcome == Outcome::Migrated && e.target_id.is_some())
        .filter(|e| index.groups.contains_key(&e.source_id))
        .collect();
    todo.sort_by(|a, b| deskferry_format::model::id_order(&a.source_id, &b.source_id));
    for e in todo {
        let tid = e.target_id.clone().unwrap_or_default();
        let (verdict, actual) = if held.contains(tid.as_str()) {
            (Verdict::Ok, "found among the target's groups")
        } else {
            (Verdict::Difference, "not among the target's groups")
        };
        rec.totals.groups += 1;
        if verdict == Verdict::Ok {
            rec.totals.groups_ok += 1;
        }
        rec.checks.push(Check {
            entity: "groups".into(),
            record: e.source_id.clone(),
            target_id: tid,
            comment: None,
            check: "group".into(),
            verdict,
            expected: "a target group".into(),
            actual: actual.into(),
            note: String::new(),
        })?;
    }
    Ok(())
}

/// One knowledge-base item's checks: title (spaces squashed), locale, and an article's draft
/// state; the report holds no titles, only whether they are equal.
fn compare_kb(
    entity: &str,
    item: &deskferry_format::KbItem,
    target_id: &str,
    read: Readback<crate::target::ReadKbItem>,
) -> Vec<Check> {
    let row = |check: &str, verdict, expected: &str, actual: &str| Check {
        entity: entity.into(),
        record: item.id.clone(),
        target_id: target_id.into(),
        comment: None,
        check: check.into(),
        verdict,
        expected: expected.into(),
        actual: actual.into(),
        note: String::new(),
    };
    let read = match read {
        Readback::Found(r) => r,
        Readback::Missing => return vec![row("present", Verdict::Difference, "present", "absent")],
        Readback::NotHeld => return Vec::new(),
    };
    let mut out = Vec::new();
    if read.title.as_deref().map(squash) != Some(squash(&item.title)) {
        out.push(row("title", Verdict::Difference, "title as in the bundle", "another title"));
    }
    if let (Some(want), Some(got)) = (&item.locale, &read.locale)
        && !want.eq_ignore_ascii_case(got)
    {
        out.push(row("locale", Verdict::Difference, want, got));
    }
    if let Some(d) = read.draft
        && d != item.draft
    {
        out.push(row("draft", Verdict::Difference, &item.draft.to_string(), &d.to_string()));
    }
    if out.is_empty() {
        out.push(row("all", Verdict::Ok, "title, locale, draft", "equal"));
    }
    out
}

/// Reads every migrated knowledge-base item back whose version at the target is this
/// bundle's, where the target reads its knowledge base back ([`Target::read_kb_item`]).
async fn reconcile_kb<T: Target>(
    target: &T,
    reader: &BundleReader,
    ledger: &Ledger,
    progress: &Progress,
    rec: &mut Reconciliation,
) -> Result<(), LoadError> {
    let items = rows::kb_items(reader)?;
    // Articles' attachments that were migrated, by the article row they belong to (read row by
    // row, each with its ledger entry by id: the bundle's other attachments, those of comments,
    // are millions in a large account).
    let mut files: HashMap<String, Vec<String>> = HashMap::new();
    for a in rows::article_attachments(reader)? {
        if let (Some(article), Some(sha)) = (a.article_id.clone(), a.sha256.clone())
            && ledger.get("attachments", &a.id)?.is_some_and(|e| e.outcome == Outcome::Migrated)
        {
            files.entry(article).or_default().push(sha);
        }
    }
    // A translation's files are its article's at the target.
    let mut base_of: HashMap<&str, &str> = HashMap::new();
    for (_, k) in &items {
        if let Some(b) = &k.translation_of {
            base_of.insert(k.id.as_str(), b.as_str());
        }
    }
    let mut by_article: HashMap<String, Vec<String>> = HashMap::new();
    for (row, shas) in files {
        let base = base_of.get(row.as_str()).map_or(row.clone(), |b| b.to_string());
        by_article.entry(base).or_default().extend(shas);
    }
    for entity in ["kb_categories", "kb_sections", "kb_articles"] {
        let done = ledger.entity(entity)?;
        let todo: Vec<(&deskferry_format::KbItem, String)> = items
            .iter()
            .filter(|(e, _)| *e == entity)
            .filter_map(|(_, k)| {
                let e = done.get(&k.id)?;
                let same = crate::ledger::content_hash(k) == e.content_hash;
                (e.outcome == Outcome::Migrated && same).then_some(())?;
                Some((k, e.target_id.clone()?))
            })
            .collect();
        progress.stage(&format!("reconcile {entity}"), todo.len() as u64);
        let (mut read, mut ok, mut held) = (0u64, 0u64, false);
        for (k, tid) in todo {
            progress.inc(1);
            let checks = match target.read_kb_item(entity, &tid).await {
                Ok(Readback::NotHeld) => continue,
                Ok(r) => {
                    let want = by_article.get(&k.id).cloned().unwrap_or_default();
                    let mut checks = Vec::new();
                    if let Readback::Found(crate::target::ReadKbItem {
                        attachments: Some(got), ..
                    }) = &r
                        && k.translation_of.is_none()
                    {
                        let found = want.iter().filter(|h| got.contains(h)).count() as u64;
                        rec.totals.attachments += want.len() as u64;
                        rec.totals.attachments_ok += found;
                        if found < want.len() as u64 {
                            checks.push(Check {
                                entity: entity.into(),
                                record: k.id.clone(),
                                target_id: tid.clone(),
                                comment: None,
                                check: "attachments".into(),
                                verdict: Verdict::Difference,
                                expected: format!("{} files", want.len()),
                                actual: format!("{} missing", want.len() as u64 - found),
                                note: "SHA-256 of the bytes".into(),
                            });
                        }
                    }
                    let mut c = compare_kb(entity, k, &tid, r);
                    if !checks.is_empty() {
                        c.retain(|x| x.verdict != Verdict::Ok);
                    }
                    c.extend(checks);
                    c
                }
                Err(e) => vec![Check {
                    entity: entity.into(),
                    record: k.id.clone(),
                    target_id: tid.clone(),
                    comment: None,
                    check: "read".into(),
                    verdict: Verdict::Error,
                    expected: String::new(),
                    actual: String::new(),
                    note: crate::ledger::scrub(&e.to_string()),
                }],
            };
            held = true;
            read += 1;
            if !checks.iter().any(|c| matches!(c.verdict, Verdict::Difference | Verdict::Error)) {
                ok += 1;
            }
            rec.checks.extend(checks)?;
        }
        progress.finish();
        let t = &mut rec.totals;
        let slot = match entity {
            "kb_categories" => (&mut t.kb_categories, &mut t.kb_categories_ok),
            "kb_sections" => (&mut t.kb_sections, &mut t.kb_sections_ok),
            _ => (&mut t.kb_articles, &mut t.kb_articles_ok),
        };
        (*slot.0, *slot.1) = (held.then_some(read), ok);
    }
    Ok(())
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

#[cfg(test)]
mod people_tests {
    use super::*;

    #[test]
    fn a_migrated_group_is_looked_for_among_the_targets_groups() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.ledger")).unwrap();
        let mut index = crate::mapping::BundleIndex::default();
        for id in ["1", "2", "3"] {
            let g = deskferry_format::Group {
                id: id.into(),
                name: format!("Group {id}"),
                kind: deskferry_format::GroupKind::Group,
                description: None,
                is_deleted: false,
                created_at: None,
                raw: String::new(),
            };
            index.groups.insert(id.into(), g);
        }
        let entry = |id: &str, outcome, target: Option<&str>| {
            crate::ledger::Entry::new("groups", id, outcome, "b", "h")
                .target(target.map(str::to_string))
        };
        ledger
            .put(
                &[
                    entry("1", Outcome::Migrated, Some("q1")),
                    entry("2", Outcome::Migrated, Some("q-gone")),
                    entry("3", Outcome::Skipped, None),
                ],
                None,
            )
            .unwrap();
        let inventory = Inventory {
            groups: vec![crate::target::TargetGroup { id: "q1".into(), name: "Group 1".into() }],
            ..Inventory::default()
        };
        let mut rec = Reconciliation::default();
        reconcile_groups(&index, &ledger, &inventory, &mut rec).unwrap();
        let all = rec.checks.all().unwrap();
        let got: Vec<(&str, Verdict)> =
            all.iter().map(|c| (c.record.as_str(), c.verdict)).collect();
        assert_eq!(got, [("1", Verdict::Ok), ("2", Verdict::Difference)]);
        assert_eq!((rec.totals.groups, rec.totals.groups_ok), (2, 1));
    }

    fn found(name: Option<&str>, emails: &[&str]) -> Readback<ReadUser> {
        Readback::Found(ReadUser {
            name: name.map(str::to_string),
            emails: emails.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn verdicts(c: &[Check]) -> Vec<(&str, Verdict)> {
        c.iter().map(|c| (c.check.as_str(), c.verdict)).collect()
    }

    /// Equal up to case of the address and runs of blanks in the name; a difference a record's
    /// own reported limit explains is that limit; a record gone is a difference; a target that
    /// holds no such records gives no row.
    #[test]
    fn a_person_read_back_is_compared_by_name_and_address() {
        let p = |read, limit| {
            compare_person(
                "users",
                "7",
                "42",
                Some("Ana  María\nRuiz"),
                Some("Ana@X.org"),
                read,
                limit,
            )
        };
        let ok = p(found(Some("Ana María Ruiz"), &["ana@x.org"]), None);
        assert_eq!(verdicts(&ok), [("all", Verdict::Ok)]);
        let renamed = p(found(Some("Ana Ruiz"), &["ana@x.org", "b@x.org"]), None);
        assert_eq!(verdicts(&renamed), [("name", Verdict::Difference)]);
        assert!(!renamed[0].actual.contains("Ana"), "no personal data in the report");
        let limited = p(found(Some("Ana María Ruiz"), &[]), Some("target limit: no address"));
        assert_eq!(verdicts(&limited), [("email", Verdict::Limit)]);
        assert_eq!(limited[0].note, "target limit: no address");
        assert_eq!(verdicts(&p(Readback::Missing, None)), [("present", Verdict::Difference)]);
        assert!(p(Readback::NotHeld, None).is_empty());
    }
}
