//! `plan`: resolves the mapping against the bundle and the live target and says what a run would
//! create, match and skip. Reads only (the ledger is consulted when it exists, never created).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use deskferry_format::{BundleReader, FieldEntity, Organization, Table, User, UserKind};
use serde::Serialize;

use crate::ledger::{Ledger, Outcome, content_hash};
use crate::load_error::LoadError;
use crate::mapping::{BundleIndex, Cast, Mapping, Resolver};
use crate::rows::Conversations;
use crate::target::{Capabilities, Inventory};

/// Per entity: what a run would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanLine {
    /// Bundle rows.
    pub available: u64,
    /// Would be created (not in the ledger yet).
    pub create: u64,
    /// Would be updated (migrated before, changed since).
    pub update: u64,
    /// Matched to something at the target, or migrated before and unchanged (no request).
    pub matched: u64,
    /// Would be skipped (filters, options, target limits).
    pub skip: u64,
}

/// One source agent and where its records go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentLine {
    /// Source user id.
    pub source_id: String,
    /// Target agent id (matched or default).
    pub target_id: Option<String>,
    /// The default agent stands in.
    pub defaulted: bool,
    /// Why.
    pub why: String,
}

/// The plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Target platform.
    pub platform: String,
    /// Per entity.
    pub entities: BTreeMap<String, PlanLine>,
    /// Agents.
    pub agents: Vec<AgentLine>,
    /// Source group id → target group id (None: the target's default).
    pub groups: BTreeMap<String, Option<String>>,
    /// Each status the bundle's tickets have (the source's word, with the canonical one in
    /// parentheses where they differ) → target status.
    pub statuses: BTreeMap<String, Option<String>>,
    /// Ticket field key → target field name, or `note` / `skip`.
    pub fields: BTreeMap<String, String>,
    /// Tickets left out by filters, by reason.
    pub filtered: BTreeMap<String, u64>,
    /// Target limits.
    pub limits: Vec<String>,
    /// What the target itself sends or triggers during the load, and how to switch it off.
    pub side_effects: Vec<String>,
    /// Problems the user should fix before running.
    pub warnings: Vec<String>,
}

fn line<'a>(p: &'a mut Plan, e: &str) -> &'a mut PlanLine {
    p.entities.entry(e.to_string()).or_default()
}

/// Computes the plan.
pub fn plan(
    reader: &BundleReader,
    index: &BundleIndex,
    mapping: &Mapping,
    inventory: &Inventory,
    caps: &Capabilities,
    platform: &str,
    ledger: Option<&Ledger>,
) -> Result<Plan, LoadError> {
    let r = Resolver::new(index, mapping, inventory, caps);
    let mut p = Plan {
        platform: platform.to_string(),
        limits: caps.limits.clone(),
        side_effects: caps.side_effects.clone(),
        ..Default::default()
    };
    if r.default_agent_missing() {
        p.warnings.push("agents.default names an agent the target does not have".into());
    }
    if r.default_agent().is_none() {
        p.warnings.push("no default agent: set [agents] default".into());
    }
    // Each record's entry by id: nothing here holds a whole entity of a large ledger.
    let get = |entity: &str, id: &str| -> Result<Option<crate::ledger::Entry>, LoadError> {
        match ledger {
            Some(l) => l.get(entity, id),
            None => Ok(None),
        }
    };
    let classify = |p: &mut Plan, entity: &str, id: &str, hash: &str| -> Result<(), LoadError> {
        let l = line(p, entity);
        match get(entity, id)? {
            Some(e) if e.outcome == Outcome::Migrated && e.content_hash == hash => l.matched += 1,
            Some(e) if e.outcome == Outcome::Migrated => l.update += 1,
            _ => l.create += 1,
        }
        Ok(())
    };
    let read = |e: deskferry_format::BundleError| LoadError::Read(e.to_string());
    // Organizations and users row by row from the bundle (they grow with the account).
    for o in reader.records::<Organization>().map_err(read)? {
        let o = o.map_err(read)?;
        classify(&mut p, "organizations", &o.id, &content_hash(&o))?;
    }
    for u in reader.records::<User>().map_err(read)? {
        let u = u.map_err(read)?;
        if u.kind == UserKind::Agent && !caps.create_agents {
            let m = r.agent_for(Some(&u));
            let l = line(&mut p, "users");
            if m.defaulted {
                l.skip += 1
            } else {
                l.matched += 1
            }
            p.agents.push(AgentLine {
                source_id: u.id.clone(),
                target_id: m.agent.map(|a| a.id),
                defaulted: m.defaulted,
                why: m.why.to_string(),
            });
        } else {
            classify(&mut p, "users", &u.id, &content_hash(&u))?;
        }
    }
    p.agents.sort_by(|a, b| deskferry_format::model::id_order(&a.source_id, &b.source_id));
    for g in index.groups_sorted() {
        let t = r.group_for(Some(&g.id)).map(|t| t.id.clone());
        let l = line(&mut p, "groups");
        if t.is_some() {
            l.matched += 1
        } else {
            l.skip += 1
        }
        p.groups.insert(g.id.clone(), t);
    }
    for (raw, word) in &index.statuses {
        let v = r.status_of(Some(raw), word);
        let key = if raw == word { raw.clone() } else { format!("{raw} ({word})") };
        if v.is_none() {
            p.warnings.push(format!("status {key}: no target status (add it under [status])"));
        }
        p.statuses.insert(key, v);
    }
    for f in index.fields.values() {
        let l = line(&mut p, "custom_fields");
        if f.entity != FieldEntity::Ticket {
            l.skip += 1;
            continue;
        }
        match r.target_field(&f.key) {
            Some(t) => {
                l.matched += 1;
                p.fields.insert(f.key.clone(), t.name.clone());
            }
            None => {
                l.skip += 1;
                let dest = if mapping.fields.get(&f.key).is_some_and(|v| v == "skip") {
                    "skip"
                } else {
                    "note"
                };
                p.fields.insert(f.key.clone(), dest.into());
            }
        }
    }
    // One ticket's conversation at a time, from a spool beside the ledger (or in the system's
    // temporary directory when there is no ledger yet: the bundle may sit on read-only media).
    let tmp = std::env::temp_dir();
    let conv = Conversations::read(reader, ledger.map(|l| l.dir()).unwrap_or(&tmp))?;
    for t in conv.tickets() {
        let t = t?;
        let cast = if mapping.filters.needs_names() { conv.names_of(&t)? } else { Cast::default() };
        if let Some(why) = mapping.filters.exclude(&t, &cast.names(index, &t)) {
            line(&mut p, "tickets").skip += 1;
            *p.filtered.entry(why).or_default() += 1;
            continue;
        }
        let l = line(&mut p, "tickets");
        let hash = content_hash(&t);
        match get("tickets", &t.id)? {
            Some(e) if e.outcome == Outcome::Migrated && e.content_hash == hash => l.matched += 1,
            Some(e) if e.outcome == Outcome::Migrated => l.update += 1,
            _ => l.create += 1,
        }
        for c in conv.comments_of(&t.id)? {
            let done = get("comments", &c.id)?
                .is_some_and(|e| matches!(e.outcome, Outcome::Migrated | Outcome::Skipped));
            let l = line(&mut p, "comments");
            if done {
                l.matched += 1
            } else {
                l.create += 1
            }
            for a in conv.attachments_of(&c)? {
                let l = line(&mut p, "attachments");
                let stored = a.state == deskferry_format::AttachmentState::Stored;
                let too_big =
                    caps.max_attachment_bytes.zip(a.size).is_some_and(|(m, s)| s as u64 > m);
                if mapping.options.skip_attachments
                    || !stored
                    || too_big
                    || (a.inline && !mapping.options.inline_images_as_attachments)
                {
                    l.skip += 1;
                } else {
                    l.create += 1;
                }
            }
        }
    }
    for (name, table) in [
        ("kb_articles", Table::KbArticles),
        ("kb_sections", Table::KbSections),
        ("kb_categories", Table::KbCategories),
    ] {
        let n = reader.row_count(table);
        if n > 0 {
            let l = line(&mut p, name);
            if caps.knowledge_base { l.create += n } else { l.skip += n }
        }
    }
    for t in Table::ALL {
        if let Some(l) = p.entities.get_mut(t.name()) {
            l.available = reader.row_count(t);
        }
    }
    Ok(p)
}

impl Plan {
    /// The plan for people.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Plan for a {} target (nothing has been written).\n", self.platform);
        let _ = writeln!(
            s,
            "{:<16} {:>9} {:>8} {:>8} {:>8} {:>8}",
            "entity", "available", "create", "update", "matched", "skip"
        );
        for (e, l) in &self.entities {
            let _ = writeln!(
                s,
                "{e:<16} {:>9} {:>8} {:>8} {:>8} {:>8}",
                l.available, l.create, l.update, l.matched, l.skip
            );
        }
        let defaulted = self.agents.iter().filter(|a| a.defaulted).count();
        let _ = writeln!(
            s,
            "\nAgents: {} matched, {} to the default agent",
            self.agents.len() - defaulted,
            defaulted
        );
        for a in self.agents.iter().filter(|a| a.defaulted) {
            let _ = writeln!(s, "  source agent {} → default agent ({})", a.source_id, a.why);
        }
        let _ = writeln!(s, "\nGroups → inboxes/queues:");
        for (g, t) in &self.groups {
            let _ = writeln!(s, "  {g} → {}", t.as_deref().unwrap_or("(target default)"));
        }
        let _ = writeln!(s, "\nStatuses:");
        for (k, v) in &self.statuses {
            let _ = writeln!(s, "  {k} → {}", v.as_deref().unwrap_or("(unmapped)"));
        }
        if !self.fields.is_empty() {
            let _ = writeln!(s, "\nTicket fields:");
            for (k, v) in &self.fields {
                let _ = writeln!(s, "  {k} → {v}");
            }
        }
        if !self.filtered.is_empty() {
            let _ = writeln!(s, "\nLeft out by filters:");
            for (k, v) in &self.filtered {
                let _ = writeln!(s, "  {v} — {k}");
            }
        }
        if !self.limits.is_empty() {
            let _ = writeln!(s, "\nTarget limits:");
            for l in &self.limits {
                let _ = writeln!(s, "  - {l}");
            }
        }
        if !self.side_effects.is_empty() {
            let _ = writeln!(
                s,
                "\nWhat the target sends or triggers during the load (switch it off first):"
            );
            for l in &self.side_effects {
                let _ = writeln!(s, "  ! {l}");
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(s, "\nWarnings:");
            for w in &self.warnings {
                let _ = writeln!(s, "  ! {w}");
            }
        }
        s
    }
}
