//! Organizations, users, groups, field definitions, knowledge base and tombstones.

use std::collections::{BTreeMap, HashMap, HashSet};

use deskferry_extractor::http::ErrorClass;
use deskferry_format::{CustomFieldValue, FieldEntity, User, UserKind};
use futures_util::StreamExt;

use crate::error::WriteError;
use crate::ledger::{Entry, Outcome, content_hash};
use crate::load_error::LoadError;
use crate::mapping::BundleIndex;
use crate::rows::{self, Conversations};
use crate::target::{Target, Written};

use super::{
    Ctx, Tally, entry_for_error, entry_for_written, is_fatal, migrated_targets, unchanged,
};

/// How many of `ids` the spool holds (a sample's people: a few).
fn present(
    ids: &HashSet<String>,
    held: impl Fn(&str) -> Result<bool, LoadError>,
) -> Result<u64, LoadError> {
    let mut n = 0;
    for id in ids {
        n += u64::from(held(id)?);
    }
    Ok(n)
}

/// User and organization fields that a run finds at the target for the first time (the operator
/// created one the key could not, or an earlier try failed). People holding values of such a
/// field are written again although they did not change: their values could not be placed
/// before, and an unchanged record is otherwise never sent twice.
#[derive(Debug, Default)]
pub(super) struct FreshFields(HashSet<(FieldEntity, String)>);

impl FreshFields {
    fn add(&mut self, entity: FieldEntity, key: &str) {
        self.0.insert((entity, key.to_string()));
    }

    /// Whether a record of `entity` holds a value of a fresh field.
    fn holds(&self, entity: FieldEntity, values: &[CustomFieldValue]) -> bool {
        !self.0.is_empty() && values.iter().any(|v| self.0.contains(&(entity, v.key.clone())))
    }
}

impl<T: Target> Ctx<'_, T> {
    pub(super) async fn organizations(
        &self,
        conv: &Conversations,
        only: &Option<HashSet<String>>,
        fresh: &FreshFields,
        tally: &mut Tally,
    ) -> Result<(), LoadError> {
        if tally.fatal.is_some() {
            return Ok(());
        }
        let count = match only {
            None => conv.organization_count(),
            Some(ids) => present(ids, |id| conv.organization(id).map(|o| o.is_some()))?,
        };
        self.l.progress.stage("organizations", count);
        let n = self.l.mapping.options.concurrency_for(&self.caps);
        // One organization at a time per task in flight, from the spool in id order, with its
        // ledger entry by id: nothing here grows with the account.
        let rows = conv.organizations().filter(|o| {
            o.as_ref().map_or(true, |o| only.as_ref().is_none_or(|s| s.contains(&o.id)))
        });
        let results = futures_util::stream::iter(rows.map(|o| async move {
            let o = o?;
            let p = self.l.ledger.get("organizations", &o.id)?;
            let hash = content_hash(&o);
            if unchanged(p.as_ref(), &hash)
                && !fresh.holds(FieldEntity::Organization, &o.custom_fields)
            {
                return Ok::<_, LoadError>(None);
            }
            let prior = p.as_ref().and_then(|e| e.target_id.clone());
            let write = self.l.target.write_organization(&o, prior.as_deref());
            self.ledgered("organizations", &o.id, &hash, write).await.map(Some)
        }))
        .buffer_unordered(n);
        self.tally_results(results, tally).await
    }

    pub(super) async fn users(
        &self,
        conv: &Conversations,
        only: &Option<HashSet<String>>,
        fresh: &FreshFields,
        tally: &mut Tally,
    ) -> Result<(), LoadError> {
        if tally.fatal.is_some() {
            return Ok(());
        }
        let count = match only {
            None => conv.user_count(),
            Some(ids) => present(ids, |id| conv.user(id).map(|u| u.is_some()))?,
        };
        self.l.progress.stage("users", count);
        let n = self.l.mapping.options.concurrency_for(&self.caps);
        let ledger = self.l.ledger;
        let rows = conv.users().filter(|u| {
            u.as_ref().map_or(true, |u| only.as_ref().is_none_or(|s| s.contains(&u.id)))
        });
        let results = futures_util::stream::iter(rows.map(|u| async move {
            let u: User = u?;
            let hash = content_hash(&u);
            let p = ledger.get("users", &u.id)?;
            if unchanged(p.as_ref(), &hash) && !fresh.holds(FieldEntity::User, &u.custom_fields) {
                return Ok::<_, LoadError>(None);
            }
            if u.kind == UserKind::Agent && !self.caps.create_agents {
                // Agents are matched, never created: no request.
                let m = self.resolver.agent_for(Some(&u));
                let e = if m.defaulted {
                    Entry::new("users", &u.id, Outcome::Skipped, &self.bundle_id, &hash)
                        .target(m.agent.map(|a| a.id))
                        .reason(
                            &format!(
                                "agent not at the target ({}); the default agent stands in",
                                m.why
                            ),
                            false,
                        )
                } else {
                    Entry::new("users", &u.id, Outcome::Migrated, &self.bundle_id, &hash)
                        .target(m.agent.map(|a| a.id))
                        .reason(&format!("agent {}", m.why), false)
                };
                self.put(std::slice::from_ref(&e))?;
                return Ok(Some((e, None)));
            }
            let prior = p.and_then(|e| e.target_id);
            let organization = match &u.organization_id {
                Some(o) => ledger.migrated_target("organizations", o)?,
                None => None,
            };
            let mapped = self.resolver.map_user(&u, organization);
            let write = self.l.target.write_user(&mapped, prior.as_deref());
            self.ledgered("users", &u.id, &hash, write).await.map(Some)
        }))
        .buffer_unordered(n);
        self.tally_results(results, tally).await
    }

    /// The write protocol for one record: commit a `pending` entry, call the target, commit the
    /// outcome. Returns the entry and the target's error (the caller decides if it is fatal).
    async fn ledgered(
        &self,
        entity: &str,
        id: &str,
        hash: &str,
        write: impl std::future::Future<Output = Result<Written, WriteError>>,
    ) -> Result<(Entry, Option<WriteError>), LoadError> {
        self.put(&[Entry::new(entity, id, Outcome::Pending, &self.bundle_id, hash)])?;
        let e = match write.await {
            Ok(w) => (entry_for_written(entity, id, &self.bundle_id, hash, &w), None),
            Err(err) => {
                if entity == "users" && err.class() == ErrorClass::Retryable {
                    self.waiting.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string());
                }
                (entry_for_error(entity, id, &self.bundle_id, hash, &err), Some(err))
            }
        };
        self.put(std::slice::from_ref(&e.0))?;
        Ok(e)
    }

    /// Counts the outcomes of concurrent writes (`None`: unchanged since the last run) and stops
    /// at the first fatal error (credentials refused).
    async fn tally_results(
        &self,
        results: impl futures_util::Stream<
            Item = Result<Option<(Entry, Option<WriteError>)>, LoadError>,
        >,
        tally: &mut Tally,
    ) -> Result<(), LoadError> {
        let mut results = std::pin::pin!(results);
        while let Some(r) = results.next().await {
            self.l.progress.inc(1);
            match r? {
                None => tally.add(Outcome::Migrated, false),
                Some((e, err)) => {
                    tally.add(e.outcome, true);
                    if let Some(err) = err.filter(is_fatal) {
                        tally.fatal = Some(LoadError::from(err));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Groups and ticket field definitions: matched to what the target has; where the target
    /// can create them (`create_groups` / `create_fields`), the unmatched ones are created.
    /// Returns true when something was created (the caller then re-reads the inventory), and
    /// the user and organization fields that exist at the target from this run on.
    pub(super) async fn groups_and_fields(
        &self,
        index: &BundleIndex,
        tally: &mut Tally,
    ) -> Result<(bool, FreshFields), LoadError> {
        let mut created = false;
        let mut fresh = FreshFields::default();
        let prev_g = self.l.ledger.entity("groups")?;
        for g in index.groups_sorted() {
            let hash = content_hash(g);
            let prior = prev_g.get(&g.id);
            let groups_map = &self.l.mapping.groups.map;
            let exact = self.resolver.group_for(Some(&g.id)).filter(|t| {
                t.name.eq_ignore_ascii_case(&g.name)
                    || groups_map.contains_key(&g.id)
                    || groups_map.contains_key(&g.name)
            });
            let e = match exact.or_else(|| {
                if self.caps.create_groups { None } else { self.resolver.group_for(Some(&g.id)) }
            }) {
                None if self.caps.create_groups && !g.is_deleted => {
                    if unchanged(prior, &hash) {
                        tally.add(Outcome::Migrated, false);
                        continue;
                    }
                    let p = prior.and_then(|p| p.target_id.as_deref());
                    match self.l.target.write_group(g, p).await {
                        Ok(w) => {
                            created |= matches!(w, Written::Migrated(_) | Written::Limited(..));
                            entry_for_written("groups", &g.id, &self.bundle_id, &hash, &w)
                        }
                        Err(err) => entry_for_error("groups", &g.id, &self.bundle_id, &hash, &err),
                    }
                }
                Some(t) => Entry::new("groups", &g.id, Outcome::Migrated, &self.bundle_id, &hash)
                    .target(Some(t.id.clone()))
                    .reason("matched an existing inbox/queue", false),
                None => Entry::new("groups", &g.id, Outcome::Skipped, &self.bundle_id, &hash)
                    .reason("no inbox/queue of this name and no [groups] default; the target's default applies", false),
            };
            let same = prev_g.get(&g.id).is_some_and(|p| {
                p.outcome == e.outcome && p.target_id == e.target_id && p.content_hash == hash
            });
            tally.add(e.outcome, !same);
            if !same {
                self.put(std::slice::from_ref(&e))?;
            }
        }
        let prev_f = self.l.ledger.entity("custom_fields")?;
        let mut fields: Vec<_> = index.fields.values().collect();
        fields.sort_by(|a, b| deskferry_format::model::id_order(&a.id, &b.id));
        for f in fields {
            let hash = content_hash(f);
            let prior = prev_f.get(&f.id);
            let e = match (f.entity, self.resolver.target_field(&f.key)) {
                (FieldEntity::Ticket, Some(t)) => Entry::new("custom_fields", &f.id, Outcome::Migrated, &self.bundle_id, &hash)
                    .target(Some(t.id.clone()))
                    .reason("matched an existing target field", false),
                (FieldEntity::Ticket, None) if self.caps.create_fields && !self.resolver.field_is_note_or_skip(&f.key) => {
                    if unchanged(prior, &hash) {
                        tally.add(Outcome::Migrated, false);
                        continue;
                    }
                    let p = prior.and_then(|p| p.target_id.as_deref());
                    match self.l.target.write_field(f, p).await {
                        Ok(w) => {
                            created |= matches!(w, Written::Migrated(_) | Written::Limited(..));
                            entry_for_written("custom_fields", &f.id, &self.bundle_id, &hash, &w)
                        }
                        Err(err) => entry_for_error("custom_fields", &f.id, &self.bundle_id, &hash, &err),
                    }
                }
                (FieldEntity::Ticket, None) => Entry::new("custom_fields", &f.id, Outcome::Skipped, &self.bundle_id, &hash)
                    .reason("no target field; values go into a private note per options.custom_fields_note", false),
                // User and organization fields, where the target creates them.
                _ if self.l.target.creates_person_fields() => {
                    if unchanged(prior, &hash) {
                        tally.add(Outcome::Migrated, false);
                        continue;
                    }
                    let p = prior.and_then(|p| p.target_id.as_deref());
                    match self.l.target.write_field(f, p).await {
                        Ok(w) => entry_for_written("custom_fields", &f.id, &self.bundle_id, &hash, &w),
                        Err(err) => entry_for_error("custom_fields", &f.id, &self.bundle_id, &hash, &err),
                    }
                }
                _ => Entry::new("custom_fields", &f.id, Outcome::Skipped, &self.bundle_id, &hash)
                    .reason("user/organization field definition not created; values are sent with the record", false),
            };
            let same = prev_f.get(&f.id).is_some_and(|p| {
                p.outcome == e.outcome && p.target_id == e.target_id && p.content_hash == hash
            });
            if f.entity != FieldEntity::Ticket
                && e.outcome == Outcome::Migrated
                && prior.is_some_and(|p| p.outcome != Outcome::Migrated)
            {
                fresh.add(f.entity, &f.key);
            }
            tally.add(e.outcome, !same);
            if !same {
                self.put(std::slice::from_ref(&e))?;
            }
        }
        Ok((created, fresh))
    }

    pub(super) async fn knowledge_base(&self, tally: &mut Tally) -> Result<(), LoadError> {
        let items = rows::kb_items(self.l.reader)?;
        if items.is_empty() {
            return Ok(());
        }
        let mut prev: BTreeMap<&str, HashMap<String, Entry>> = BTreeMap::new();
        for e in ["kb_categories", "kb_sections", "kb_articles"] {
            prev.insert(e, self.l.ledger.entity(e)?);
        }
        if !self.caps.knowledge_base {
            const WHY: &str = "the target has no knowledge base this tool loads";
            let mut entries = Vec::new();
            // Articles' attachments go with them, so every row of the bundle has an outcome.
            for a in rows::article_attachments(self.l.reader)? {
                let hash = content_hash(&a);
                let same = self
                    .l
                    .ledger
                    .get("attachments", &a.id)?
                    .is_some_and(|p| p.outcome == Outcome::Skipped && p.content_hash == hash);
                tally.add(Outcome::Skipped, !same);
                if !same {
                    entries.push(
                        Entry::new("attachments", &a.id, Outcome::Skipped, &self.bundle_id, &hash)
                            .reason(WHY, false),
                    );
                }
            }
            for (entity, k) in &items {
                let hash = content_hash(k);
                let same = prev[entity]
                    .get(&k.id)
                    .is_some_and(|p| p.outcome == Outcome::Skipped && p.content_hash == hash);
                tally.add(Outcome::Skipped, !same);
                if !same {
                    entries.push(
                        Entry::new(entity, &k.id, Outcome::Skipped, &self.bundle_id, &hash)
                            .reason(WHY, false),
                    );
                }
            }
            return self.put(&entries);
        }
        self.l.progress.stage("knowledge base", items.len() as u64);
        // Targets that name parents by their ids learn those the ledger holds (authors they
        // look up: `Target::consult`).
        for e in ["kb_categories", "kb_sections", "kb_articles"] {
            self.l.target.remember(e, &migrated_targets(self.l.ledger, e)?);
        }
        // Sequential: parents must exist before children.
        for (entity, k) in &items {
            self.l.progress.inc(1);
            let hash = content_hash(k);
            let p = prev[entity].get(&k.id);
            if unchanged(p, &hash) {
                tally.add(Outcome::Migrated, false);
                continue;
            }
            let prior = p.and_then(|e| e.target_id.clone());
            self.put(&[Entry::new(entity, &k.id, Outcome::Pending, &self.bundle_id, &hash)])?;
            let (e, err) = match self.l.target.write_kb_entry(entity, k, prior.as_deref()).await {
                Ok(w) => (entry_for_written(entity, &k.id, &self.bundle_id, &hash, &w), None),
                Err(err) => {
                    (entry_for_error(entity, &k.id, &self.bundle_id, &hash, &err), Some(err))
                }
            };
            self.put(std::slice::from_ref(&e))?;
            tally.add(e.outcome, true);
            if let Some(err) = err.filter(is_fatal) {
                tally.fatal = Some(LoadError::from(err));
                break;
            }
        }
        if tally.fatal.is_none() {
            self.article_attachments(tally).await?;
        }
        Ok(())
    }

    /// Articles' attachments, onto their migrated article (after the articles).
    async fn article_attachments(&self, tally: &mut Tally) -> Result<(), LoadError> {
        let articles = migrated_targets(self.l.ledger, "kb_articles")?;
        let article_rows = self.l.ledger.entity("kb_articles")?;
        let b = self.bundle_id.as_str();
        for a in rows::article_attachments(self.l.reader)? {
            let Some(article) = a.article_id.as_deref() else { continue };
            let hash = content_hash(&a);
            let prev = self.l.ledger.get("attachments", &a.id)?;
            let p = prev.as_ref();
            if unchanged(p, &hash) {
                tally.add(Outcome::Migrated, false);
                continue;
            }
            let Some(target) = articles.get(article) else {
                // The target skipped the article row (a locale it does not hold): its files go
                // with it, skipped for the same reason.
                if let Some(e) = article_rows.get(article).filter(|e| e.outcome == Outcome::Skipped)
                {
                    let why = format!(
                        "its article row {article} was not loaded: {}",
                        e.reason.as_deref().unwrap_or("skipped")
                    );
                    let same =
                        p.is_some_and(|x| x.outcome == Outcome::Skipped && x.content_hash == hash);
                    tally.add(Outcome::Skipped, !same);
                    if !same {
                        self.put(&[Entry::new("attachments", &a.id, Outcome::Skipped, b, &hash)
                            .reason(&why, true)])?;
                    }
                    continue;
                }
                // Failed, not skipped: a later run that migrates the article uploads it.
                let e = Entry::new("attachments", &a.id, Outcome::Failed, b, &hash).reason(
                    "its article is not migrated (yet); the run that migrates it uploads this",
                    true,
                );
                tally.add(Outcome::Failed, true);
                self.put(&[e])?;
                continue;
            };
            let data = match self.attachment(&a) {
                Ok(d) => d,
                Err((why, notable)) => {
                    let e = Entry::new("attachments", &a.id, Outcome::Skipped, b, &hash)
                        .reason(&why, notable);
                    tally.add(Outcome::Skipped, true);
                    self.put(&[e])?;
                    continue;
                }
            };
            let prior = p.and_then(|e| e.target_id.clone());
            self.put(&[Entry::new("attachments", &a.id, Outcome::Pending, b, &hash)])?;
            let (e, err) =
                match self.l.target.write_kb_attachment(target, &data, prior.as_deref()).await {
                    Ok(w) => (entry_for_written("attachments", &a.id, b, &hash, &w), None),
                    Err(err) => (entry_for_error("attachments", &a.id, b, &hash, &err), Some(err)),
                };
            self.put(std::slice::from_ref(&e))?;
            tally.add(e.outcome, true);
            if let Some(err) = err.filter(is_fatal) {
                tally.fatal = Some(LoadError::from(err));
                break;
            }
        }
        Ok(())
    }

    pub(super) async fn tombstones(&self, tally: &mut Tally) -> Result<(), LoadError> {
        if tally.fatal.is_some() {
            return Ok(());
        }
        let stones = rows::tombstones(self.l.reader)?;
        if stones.is_empty() {
            return Ok(());
        }
        let prev = self.l.ledger.entity("tombstones")?;
        self.l.progress.stage("tombstones", stones.len() as u64);
        for s in &stones {
            self.l.progress.inc(1);
            let key = format!("{}:{}", s.entity, s.id);
            let hash = content_hash(s);
            if prev
                .get(&key)
                .is_some_and(|e| matches!(e.outcome, Outcome::Migrated | Outcome::Skipped))
            {
                tally.add(Outcome::Migrated, false);
                continue;
            }
            let prev = self.l.ledger.get(&s.entity, &s.id)?;
            let why_not = match &prev {
                Some(e) if e.outcome == Outcome::Migrated && e.target_id.is_some() => {
                    // Only what this tool created is deleted: a matched agent, inbox or an
                    // existing record found at the target is not ours to remove.
                    e.reason.is_some().then_some(
                        "the target record was matched, not created by this tool; left in place",
                    )
                }
                _ => Some("the record was never migrated"),
            };
            if let Some(why) = why_not {
                let e = Entry::new("tombstones", &key, Outcome::Skipped, &self.bundle_id, &hash)
                    .reason(why, false);
                self.put(&[e])?;
                tally.add(Outcome::Skipped, true);
                continue;
            }
            let tid = prev.and_then(|e| e.target_id).unwrap_or_default();
            self.put(&[Entry::new("tombstones", &key, Outcome::Pending, &self.bundle_id, &hash)])?;
            let e = match self.l.target.apply_tombstone(&s.entity, &tid).await {
                Ok(w) => entry_for_written("tombstones", &key, &self.bundle_id, &hash, &w),
                Err(err) => entry_for_error("tombstones", &key, &self.bundle_id, &hash, &err),
            };
            tally.add(e.outcome, true);
            self.put(&[e])?;
        }
        Ok(())
    }
}
