//! `run` and `demo`: writes the bundle into the target in dependency order (groups and field
//! definitions, organizations, users, tickets with comments and attachments, knowledge base,
//! tombstones), driven by the ledger so that a re-run resumes, changes nothing after success,
//! updates what a delta changed and never creates anything twice.
//!
//! The protocol per record: skip it when the ledger says migrated with the same content hash;
//! otherwise commit a `pending` entry, call the target, commit the outcome. A record found
//! `pending` or `failed` without a target id on a later run may have reached the target before
//! the crash, so tickets go through `Target::find_ticket` first (organizations, users and
//! knowledge-base items are written by external id or matched by the target, which makes a
//! repeat harmless).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use deskferry_format::{Attachment, BundleReader, Comment};
use serde::Serialize;

use crate::demo;
use crate::error::WriteError;
use crate::known::People;
use crate::ledger::{Entry, Ledger, Outcome, RunCounts, content_hash};
use crate::load_error::LoadError;
use crate::mapping::{BundleIndex, Cast, Mapping, Resolver};
use crate::progress::Progress;
use crate::rows::{self, Conversations};
use crate::target::{Capabilities, Inventory, Target, Written};

/// What to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Everything the filters take.
    Run,
    /// A sample: the named ticket ids, or `count` tickets chosen from the content id.
    Demo {
        /// `--ids`.
        ids: Option<Vec<String>>,
        /// `--count`.
        count: usize,
    },
}

impl Mode {
    /// The command name recorded in the ledger.
    pub fn command(&self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::Demo { .. } => "demo",
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// Ledger run number.
    pub run_id: i64,
    /// Counts of this run's actions.
    pub counts: RunCounts,
    /// How many tickets this run took (after filters / sampling).
    pub selected: u64,
    /// The ids of the tickets a demo took (a run takes every ticket the filters let in: their
    /// ids are not listed, a large bundle holds millions).
    pub selected_tickets: Vec<String>,
    /// The target's documented limits.
    pub limits: Vec<String>,
    /// Notes for people (no personal data).
    pub notes: Vec<String>,
}

/// Everything a run needs, borrowed.
pub struct Loader<'a, T: Target> {
    /// The target.
    pub target: &'a T,
    /// The verified bundle.
    pub reader: &'a BundleReader,
    /// The mapping.
    pub mapping: &'a Mapping,
    /// The ledger.
    pub ledger: &'a Ledger,
    /// Progress display.
    pub progress: &'a Progress,
}

struct Ctx<'a, T: Target> {
    l: &'a Loader<'a, T>,
    bundle_id: String,
    run_id: i64,
    caps: Capabilities,
    resolver: Resolver<'a>,
    demo: bool,
    /// Users whose write failed in this run for a reason that passes (the target unreachable,
    /// an answer lost): a ticket that names one waits for the next run rather than go in with
    /// a stand-in, which the target would keep for good (an author it cannot change later, an
    /// address the target then makes a user of its own).
    waiting: Arc<Mutex<HashSet<String>>>,
}

#[derive(Default)]
struct Tally {
    counts: RunCounts,
    fatal: Option<LoadError>,
}

impl Tally {
    fn add(&mut self, o: Outcome, changed: bool) {
        match (o, changed) {
            (_, false) => self.counts.unchanged += 1,
            (Outcome::Migrated, true) => self.counts.migrated += 1,
            (Outcome::Skipped, true) => self.counts.skipped += 1,
            (Outcome::Failed | Outcome::Pending, true) => self.counts.failed += 1,
        }
    }
}

/// Failures the core classifies as fatal (credentials refused or revoked, writes forbidden,
/// the inbox gone) stop the run: every further request would fail too.
fn is_fatal(e: &WriteError) -> bool {
    e.is_fatal()
}

fn entry_for_error(entity: &str, id: &str, bundle: &str, hash: &str, e: &WriteError) -> Entry {
    match e {
        WriteError::Unsupported { reason, .. } => {
            Entry::new(entity, id, Outcome::Skipped, bundle, hash)
                .reason(&format!("target limit: {reason}"), true)
        }
        other => {
            Entry::new(entity, id, Outcome::Failed, bundle, hash).reason(&other.to_string(), true)
        }
    }
}

fn entry_for_written(entity: &str, id: &str, bundle: &str, hash: &str, w: &Written) -> Entry {
    match w {
        Written::Migrated(t) => {
            Entry::new(entity, id, Outcome::Migrated, bundle, hash).target(Some(t.clone()))
        }
        Written::Matched(t) => Entry::new(entity, id, Outcome::Migrated, bundle, hash)
            .target(Some(t.clone()))
            .reason("matched an existing target record", false),
        Written::Skipped(r) => {
            Entry::new(entity, id, Outcome::Skipped, bundle, hash).reason(r, true)
        }
        Written::Limited(t, what) => Entry::new(entity, id, Outcome::Migrated, bundle, hash)
            .target(Some(t.clone()))
            .reason(&format!("target limit: {what}"), true),
    }
}

fn unchanged(prev: Option<&Entry>, hash: &str) -> bool {
    prev.is_some_and(|e| {
        matches!(e.outcome, Outcome::Migrated | Outcome::Skipped) && e.content_hash == hash
    })
}

/// Hash of a ticket's comment with its attachment rows (a changed attachment changes the comment).
fn comment_hash(c: &Comment, atts: &[Attachment]) -> String {
    content_hash(&(c, atts))
}

impl<'a, T: Target> Loader<'a, T> {
    /// Runs the load; per-record failures land in the ledger, only fatal problems are `Err`.
    pub async fn run(&self, mode: Mode) -> Result<RunSummary, LoadError> {
        let env = self.reader.envelope();
        let bundle_id = env.bundle_id.clone();
        self.progress.note("reading the bundle");
        let index = rows::index(self.reader)?;
        let conv = Conversations::read(self.reader, self.ledger.dir())?;
        self.progress.note("reading the target's agents, groups and fields");
        let inventory: Inventory = self.target.inventory().await?;
        let caps = self.target.capabilities();
        // A target that names people by their ids finds them in the ledger, one at a time.
        let people = People::open(self.ledger.path())?;
        self.target.consult(&people);
        let run_id = self.ledger.start_run(mode.command(), &bundle_id, self.reader.content_id())?;
        let caps_for_resolver = caps.clone();
        let ctx = Ctx {
            l: self,
            bundle_id,
            run_id,
            caps,
            resolver: Resolver::new(&index, self.mapping, &inventory, &caps_for_resolver),
            demo: matches!(mode, Mode::Demo { .. }),
            waiting: Arc::default(),
        };
        let index = &index;
        let mut tally = Tally::default();
        let mut summary =
            RunSummary { run_id, limits: ctx.caps.limits.clone(), ..Default::default() };
        if ctx.resolver.default_agent().is_none() {
            summary.notes.push(
                "no default agent: unmatched agents' records may be refused by the target".into(),
            );
        }

        let selected = ctx.select(&conv, index, &mode, &mut tally, &mut summary)?;
        let (org_ids, user_ids) = needed_people(&selected, &conv)?;
        // Field definitions before the people: a target keeps a user's or an organization's
        // field values only for fields it has (Zendesk drops the others without a word).
        let (created, fresh) = if mode == Mode::Run {
            ctx.groups_and_fields(index, &mut tally).await?
        } else {
            Default::default()
        };
        ctx.organizations(&conv, &org_ids, &fresh, &mut tally).await?;
        ctx.users(&conv, &user_ids, &fresh, &mut tally).await?;
        // Agents, queues and fields this run created exist only now: tickets must be resolved
        // against the target as it is after those steps, not as it was before them.
        let refreshed: Inventory;
        let ctx2;
        let ctx = if tally.fatal.is_none() && (created || ctx.caps.create_agents) {
            self.progress.note("re-reading the target's agents, groups and fields");
            refreshed = self.target.inventory().await?;
            ctx2 = Ctx {
                l: self,
                bundle_id: ctx.bundle_id.clone(),
                run_id,
                caps: ctx.caps.clone(),
                resolver: Resolver::new(index, self.mapping, &refreshed, &caps_for_resolver),
                demo: ctx.demo,
                waiting: ctx.waiting.clone(),
            };
            &ctx2
        } else {
            &ctx
        };
        if tally.fatal.is_none() {
            ctx.tickets(&selected, &conv, index, &mut tally).await?;
        }
        if tally.fatal.is_none() && mode == Mode::Run {
            ctx.knowledge_base(&mut tally).await?;
            ctx.tombstones(&mut tally).await?;
        }
        self.progress.finish();
        if tally.fatal.is_none() {
            tally.fatal = people.failure();
        }
        self.ledger.end_run(run_id, &tally.counts)?;
        summary.counts = tally.counts;
        summary.selected = selected.count();
        if let Selection::Ids(ids) = selected {
            summary.selected_tickets = ids;
        }
        match tally.fatal {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}

/// The tickets a run takes.
enum Selection {
    /// Every ticket the filters let in (`count` of them): read again from the spool as they are
    /// written, so that no list of a large bundle's ids is held.
    Filtered {
        /// How many.
        count: u64,
    },
    /// A demo's tickets, by id.
    Ids(Vec<String>),
}

impl Selection {
    fn count(&self) -> u64 {
        match self {
            Selection::Filtered { count } => *count,
            Selection::Ids(ids) => ids.len() as u64,
        }
    }
}

/// Organization ids and user ids a sample needs (`None`: every one).
type Needed = (Option<HashSet<String>>, Option<HashSet<String>>);

/// Organizations and users the selected tickets need (all of them for a full run).
fn needed_people(selected: &Selection, conv: &Conversations) -> Result<Needed, LoadError> {
    let Selection::Ids(selected) = selected else {
        return Ok((None, None));
    };
    let mut users: HashSet<String> = HashSet::new();
    let mut orgs: HashSet<String> = HashSet::new();
    for id in selected {
        let Some(t) = conv.ticket(id)? else { continue };
        users.extend(rows::people_named(&t).cloned());
        orgs.extend(t.organization_id.iter().cloned());
        for c in conv.comments_of(&t.id)? {
            users.extend(c.author_id.iter().cloned());
        }
    }
    for u in &users {
        if let Some(o) = conv.user(u)?.and_then(|u| u.organization_id) {
            orgs.insert(o);
        }
    }
    Ok((Some(orgs), Some(users)))
}

impl<'a, T: Target> Ctx<'a, T> {
    fn put(&self, entries: &[Entry]) -> Result<(), LoadError> {
        self.l.ledger.put(entries, Some(self.run_id))
    }

    /// Comments whose ticket has no row in the bundle (a delta that repeats an unchanged
    /// ticket's comment, or a damaged extraction) cannot be written without the ticket. Those
    /// not migrated earlier are recorded as failed (exit 1; retried with a bundle that holds
    /// the ticket), never dropped in silence.
    fn orphans(&self, conv: &Conversations, tally: &mut Tally) -> Result<Vec<Entry>, LoadError> {
        let mut out = Vec::new();
        for ticket in conv.tickets_without_rows()? {
            for c in conv.comments_of(&ticket)? {
                let prev = self.l.ledger.get("comments", &c.id)?;
                if prev.is_some_and(|e| e.outcome == Outcome::Migrated) {
                    continue;
                }
                tally.add(Outcome::Failed, true);
                out.push(
                    Entry::new("comments", &c.id, Outcome::Failed, &self.bundle_id, &content_hash(&c))
                        .reason(
                            "its ticket is not in this bundle, so it cannot be written; extract a bundle that holds the ticket",
                            true,
                        )
                        .parent(&ticket),
                );
            }
        }
        Ok(out)
    }

    /// The tickets this run takes, by id (the rows stay in the spool). Tickets a filter leaves
    /// out are recorded as skipped, with their comments and attachments, as they are met.
    fn select(
        &self,
        conv: &Conversations,
        index: &BundleIndex,
        mode: &Mode,
        tally: &mut Tally,
        summary: &mut RunSummary,
    ) -> Result<Selection, LoadError> {
        // A run reads its tickets again from the spool; a demo keeps its best ranked few.
        let mut count = 0u64;
        let mut sampler = match mode {
            Mode::Demo { ids: None, count } => {
                Some(demo::Sampler::new(self.l.reader.content_id(), *count))
            }
            _ => None,
        };
        let mut skipped = Vec::new();
        for t in conv.tickets() {
            let t = t?;
            match self.excluded(conv, index, &t)? {
                None => {
                    count += 1;
                    if let Some(s) = sampler.as_mut() {
                        s.offer(&t.id);
                    }
                }
                Some(why) => {
                    let hash = content_hash(&t);
                    let p = self.l.ledger.get("tickets", &t.id)?;
                    // A ticket migrated earlier and now filtered out stays as it is at the target.
                    if p.as_ref().is_some_and(|e| e.outcome == Outcome::Migrated) {
                        continue;
                    }
                    if *mode == Mode::Run {
                        let same = p.as_ref().is_some_and(|e| {
                            e.outcome == Outcome::Skipped
                                && e.reason.as_deref() == Some(why.as_str())
                        });
                        tally.add(Outcome::Skipped, !same);
                        if !same {
                            skipped.push(
                                Entry::new(
                                    "tickets",
                                    &t.id,
                                    Outcome::Skipped,
                                    &self.bundle_id,
                                    &hash,
                                )
                                .reason(&why, false),
                            );
                            // Its comments and attachments go with it, so that every row of the
                            // bundle has an outcome and the report's columns add up.
                            let why = format!("its ticket is skipped: {why}");
                            for c in conv.comments_of(&t.id)? {
                                let child = |entity: &str, id: &str, hash: String| {
                                    Entry::new(entity, id, Outcome::Skipped, &self.bundle_id, &hash)
                                        .reason(&why, false)
                                };
                                skipped
                                    .push(child("comments", &c.id, content_hash(&c)).parent(&t.id));
                                tally.add(Outcome::Skipped, true);
                                for a in conv.attachments_of(&c)? {
                                    skipped.push(child("attachments", &a.id, content_hash(&a)));
                                    tally.add(Outcome::Skipped, true);
                                }
                            }
                            // Written as they come, so that a filter leaving out most of a large
                            // bundle holds no more than a batch of entries.
                            if skipped.len() >= 1024 {
                                self.put(&std::mem::take(&mut skipped))?;
                            }
                        }
                    }
                }
            }
        }
        if *mode == Mode::Run {
            skipped.extend(self.orphans(conv, tally)?);
        }
        self.put(&skipped)?;
        Ok(Selection::Ids(match mode {
            Mode::Run => return Ok(Selection::Filtered { count }),
            Mode::Demo { ids: Some(ids), .. } => {
                let mut found = Vec::new();
                for id in ids {
                    match conv.ticket(id)? {
                        Some(t) if !found.contains(&t.id) => found.push(t.id),
                        Some(_) => {}
                        None => {
                            summary.notes.push(format!("demo: ticket id {id} is not in the bundle"))
                        }
                    }
                }
                found.sort_by(|a, b| deskferry_format::model::id_order(a, b));
                found
            }
            Mode::Demo { ids: None, .. } => sampler.map(demo::Sampler::finish).unwrap_or_default(),
        }))
    }

    /// Why the mapping's filters leave a ticket out (`None`: it is taken).
    fn excluded(
        &self,
        conv: &Conversations,
        index: &BundleIndex,
        t: &deskferry_format::Ticket,
    ) -> Result<Option<String>, LoadError> {
        let filters = &self.l.mapping.filters;
        let cast = if filters.needs_names() { conv.names_of(t)? } else { Cast::default() };
        Ok(filters.exclude(t, &cast.names(index, t)))
    }
}

/// Source id → target id of every migrated record of an entity.
pub fn migrated_targets(
    ledger: &Ledger,
    entity: &str,
) -> Result<HashMap<String, String>, LoadError> {
    Ok(ledger
        .entity(entity)?
        .into_values()
        .filter(|e| e.outcome == Outcome::Migrated)
        .filter_map(|e| e.target_id.map(|t| (e.source_id, t)))
        .collect())
}

mod records;
#[cfg(test)]
mod tests;
mod tickets;
