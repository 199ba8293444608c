//! mapping.toml: agents, groups, status/priority/type values, custom fields, filters, options.
//!
//! ```toml
//! [agents]
//! default = "admin@example.com"        # target agent (email or id) for unmatched, inactive, deleted agents
//! [agents.map]                         # source agent (email or id) → target agent (email or id)
//! "old.name@acme.example" = "new.name@acme.example"
//! [groups]
//! default = "Support"                  # target inbox/queue (name or id) for tickets of unmapped groups
//! [groups.map]                         # source group (name or id) → target inbox/queue (name or id)
//! "Billing" = "Billing"
//! [status]                             # canonical or raw source status → target status
//! solved = "archived"
//! [priority]
//! [types]
//! [fields]                             # source field (key or title) → target field name, "note" or "skip"
//! [filters]                            # see filter.rs
//! [options]
//! migration_tag = "deskferry-migrated"
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::filter::Filters;
use crate::load_error::LoadError;
use crate::target::{Capabilities, Inventory};

use super::resolve::{BundleIndex, Resolver};

/// `[agents]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentMap {
    /// Target agent (email or id) standing in for unmatched, inactive and deleted agents.
    pub default: Option<String>,
    /// Explicit source agent (email or id) → target agent (email or id).
    pub map: BTreeMap<String, String>,
}

/// `[groups]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GroupMap {
    /// Target group (name or id) for tickets whose group has no match.
    pub default: Option<String>,
    /// Source group (name or id) → target group (name or id).
    pub map: BTreeMap<String, String>,
}

/// Which custom field values go into the private note.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoteMode {
    /// Values without a target field (the default: nothing is lost).
    #[default]
    Unmapped,
    /// Every value, also those written to target fields.
    All,
    /// None (values without a target field are dropped and reported).
    None,
}

/// `[options]`: the automated options.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Tag added to every migrated ticket (empty: none).
    pub migration_tag: String,
    /// Tag added to the tickets a `demo` loads.
    pub demo_tag: String,
    /// Prefix the subject with the old ticket number: `[#123] subject`.
    pub old_id_in_subject: bool,
    /// Custom field values into a private note.
    pub custom_fields_note: NoteMode,
    /// Add the source status as a tag `status:<status>`.
    pub status_as_tag: bool,
    /// Do not upload attachments (they are recorded as skipped).
    pub skip_attachments: bool,
    /// Upload inline images as attachments (else they are left out and reported).
    pub inline_images_as_attachments: bool,
    /// When a comment's author is not at the target, write their name at the top of the body.
    pub unmatched_author_name_in_body: bool,
    /// Records written at once (1..=128). Unset: what the target prefers
    /// ([`Capabilities::concurrency`]: Zendesk 100, the records one bulk request carries;
    /// others 4).
    pub concurrency: Option<usize>,
}

impl Options {
    /// Records written at once against a target with `caps`.
    pub fn concurrency_for(&self, caps: &crate::target::Capabilities) -> usize {
        self.concurrency.or(caps.concurrency).unwrap_or(DEFAULT_CONCURRENCY)
    }
}

/// Records written at once when neither the mapping nor the target says.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most records written at once that a mapping may ask for.
pub const MAX_CONCURRENCY: usize = 128;

impl Default for Options {
    fn default() -> Self {
        Options {
            migration_tag: "deskferry-migrated".into(),
            demo_tag: "deskferry-demo".into(),
            old_id_in_subject: false,
            custom_fields_note: NoteMode::Unmapped,
            status_as_tag: false,
            skip_attachments: false,
            inline_images_as_attachments: true,
            unmatched_author_name_in_body: true,
            concurrency: None,
        }
    }
}

/// A parsed mapping.toml (every section optional; an empty file is a valid mapping).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Agents.
    pub agents: AgentMap,
    /// Groups → inboxes / queues.
    pub groups: GroupMap,
    /// Status values.
    pub status: BTreeMap<String, String>,
    /// Priority values.
    pub priority: BTreeMap<String, String>,
    /// Ticket type values.
    pub types: BTreeMap<String, String>,
    /// Custom fields.
    pub fields: BTreeMap<String, String>,
    /// Which tickets to take.
    pub filters: Filters,
    /// Automated options.
    pub options: Options,
}

impl Mapping {
    /// Reads and checks mapping.toml.
    pub fn load(path: &Path) -> Result<Mapping, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::io(path, e))?;
        Mapping::parse(&text, path)
    }

    /// Parses mapping text (`path` names it in messages).
    pub fn parse(text: &str, path: &Path) -> Result<Mapping, LoadError> {
        let m: Mapping =
            toml::from_str(text).map_err(|e| LoadError::mapping(path, e.to_string()))?;
        m.filters.check().map_err(|e| LoadError::mapping(path, e))?;
        if m.options.concurrency.is_some_and(|n| n == 0 || n > MAX_CONCURRENCY) {
            return Err(LoadError::mapping(
                path,
                format!(
                    "options.concurrency must be 1..={MAX_CONCURRENCY} (or left out: the target's own)"
                ),
            ));
        }
        Ok(m)
    }
}

fn q(s: &str) -> String {
    // TOML basic string; serde_json's escaping is a subset TOML accepts.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A commented starting mapping for this bundle and target: every source agent with its match
/// (or a note that the default agent stands in), every group with its best inbox/queue,
/// statuses, custom fields, empty filters and the default options.
pub fn starting_mapping(
    index: &BundleIndex,
    inventory: &Inventory,
    caps: &Capabilities,
    platform: &str,
) -> String {
    let base = Mapping::default();
    let r = Resolver::new(index, &base, inventory, caps);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# deskferry mapping for a {platform} target — generated by `deskferry-load plan --write-mapping`."
    );
    let _ = writeln!(
        out,
        "# Edit, then run `deskferry-load plan` again to see what will be created, matched and skipped.\n"
    );
    let _ = writeln!(out, "[agents]");
    let default = inventory.agents.iter().find(|a| a.active);
    match default {
        Some(a) => {
            let _ = writeln!(out, "# Target agent for unmatched, inactive and deleted agents.");
            let _ = writeln!(out, "default = {}", q(&a.email));
        }
        None => {
            let _ = writeln!(out, "# The target has no active agent; set one here.");
            let _ = writeln!(out, "# default = \"agent@example.com\"");
        }
    }
    let _ = writeln!(out, "\n[agents.map]");
    let _ = writeln!(
        out,
        "# Source agents are matched by email, case-insensitively. Override here: \"source\" = \"target\"."
    );
    for u in &index.agents {
        let label = u.email.as_deref().unwrap_or("(no email)");
        let m = r.agent_for(Some(u));
        let note = match (&m.agent, m.defaulted) {
            (Some(a), false) => format!("matched {}", a.email),
            (_, _) => format!("→ default agent ({})", m.why),
        };
        let _ = writeln!(out, "# {} (source id {}): {}", label, u.id, note);
    }
    let _ = writeln!(out, "\n[groups]");
    if let Some(g) = inventory.groups.first() {
        let _ = writeln!(out, "default = {}", q(&g.name));
    }
    let _ = writeln!(out, "\n[groups.map]");
    for g in &index.groups_sorted() {
        let guess = inventory.groups.iter().find(|t| t.name.eq_ignore_ascii_case(&g.name));
        match guess {
            Some(t) => {
                let _ = writeln!(out, "{} = {}", q(&g.name), q(&t.name));
            }
            None => {
                let _ = writeln!(
                    out,
                    "# {} = \"…\"   # no inbox/queue of that name: tickets go to the default",
                    q(&g.name)
                );
            }
        }
    }
    let _ = writeln!(out, "\n[status]");
    let _ = writeln!(
        out,
        "# Source status (the source's own word, or a canonical one: new, open, pending, on_hold,\n\
         # solved, closed) → target status; the source's own word wins. Target statuses: {}",
        inventory.statuses.join(", ")
    );
    let _ = writeln!(out, "# The statuses of this bundle's tickets, as the loader maps them now:");
    // One line per word of the source: a word that stands for several canonical statuses (a
    // deleted Zendesk ticket was solved or closed) gets a line only when the loader maps all
    // of them alike, since one key cannot say more (TOML refuses a key twice).
    let mut by_raw: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (raw, word) in &index.statuses {
        by_raw.entry(raw.as_str()).or_default().push(word.as_str());
    }
    for (raw, words) in by_raw {
        let others: Vec<&str> = words.iter().copied().filter(|w| *w != raw).collect();
        let note = if others.is_empty() {
            String::new()
        } else {
            format!("   # canonical: {}", others.join(", "))
        };
        let targets: Vec<Option<String>> =
            words.iter().map(|w| r.status_of(Some(raw), w)).collect();
        if targets.windows(2).any(|p| p[0] != p[1]) {
            let how: Vec<String> = words
                .iter()
                .zip(&targets)
                .map(|(w, t)| format!("{w} → {}", t.as_deref().unwrap_or("none")))
                .collect();
            let _ = writeln!(
                out,
                "# {}: mapped by its canonical status ({}); a line here would map them all alike",
                q(raw),
                how.join(", ")
            );
            continue;
        }
        match &targets[0] {
            Some(v) => {
                let _ = writeln!(out, "{} = {}{note}", q(raw), q(v));
            }
            None => {
                let _ = writeln!(out, "# {} = \"…\"   # no target status found{note}", q(raw));
            }
        }
    }
    let _ = writeln!(out, "\n[priority]\n# low = \"low\"\n\n[types]\n# question = \"question\"");
    let _ = writeln!(out, "\n[fields]");
    let _ = writeln!(
        out,
        "# Source field (key or title) → target field name, \"note\" (private note) or \"skip\"."
    );
    for f in index.ticket_fields() {
        let title = f.title.replace('\n', " ");
        match r.target_field(&f.key) {
            Some(t) => {
                let _ = writeln!(out, "{} = {}", q(&f.key), q(&t.name));
            }
            // What the loader does without a line: it creates the field where the target can.
            None if caps.create_fields => {
                let _ = writeln!(
                    out,
                    "# {} = \"note\"   # {title} — no target field of that name: the loader creates one (or write \"note\" / \"skip\")",
                    q(&f.key),
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "{} = \"note\"   # {title} — no target field of that name",
                    q(&f.key),
                );
            }
        }
    }
    let o = Options::default();
    let _ = writeln!(out, "\n[filters]");
    let _ = writeln!(
        out,
        "# created_after = \"2024-01-01T00:00:00Z\"\n# created_before = \"2025-01-01T00:00:00Z\""
    );
    let _ = writeln!(
        out,
        "# tags = [\"vip\"]\n# exclude_tags = [\"test\"]\n# assignees = [\"agent@acme.example\"]"
    );
    let _ = writeln!(
        out,
        "# groups = [\"Billing\"]\n# organizations = [\"Acme\"]\n# statuses = [\"open\", \"pending\"]"
    );
    let _ = writeln!(out, "# include_deleted = false\n# exclude_spam = false");
    let _ = writeln!(out, "\n[options]");
    let _ = writeln!(out, "migration_tag = {}", q(&o.migration_tag));
    let _ = writeln!(out, "demo_tag = {}", q(&o.demo_tag));
    let _ = writeln!(out, "old_id_in_subject = {}", o.old_id_in_subject);
    let _ = writeln!(out, "custom_fields_note = \"unmapped\"   # unmapped | all | none");
    let _ = writeln!(out, "status_as_tag = {}", o.status_as_tag);
    let _ = writeln!(out, "skip_attachments = {}", o.skip_attachments);
    let _ = writeln!(out, "inline_images_as_attachments = {}", o.inline_images_as_attachments);
    let _ = writeln!(out, "unmatched_author_name_in_body = {}", o.unmatched_author_name_in_body);
    match o.concurrency {
        Some(n) => {
            let _ = writeln!(out, "concurrency = {n}");
        }
        None => {
            let _ = writeln!(
                out,
                "# concurrency = {DEFAULT_CONCURRENCY}   # records written at once; left out: the target's own (Zendesk 100, else {DEFAULT_CONCURRENCY})"
            );
        }
    }
    out
}
