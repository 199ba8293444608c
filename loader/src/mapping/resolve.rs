//! Applies a [`Mapping`] to bundle rows against the target's [`Inventory`]: agents by email
//! (case-insensitively, overrides first, the default agent for the rest), groups to inboxes /
//! queues, status / priority / type values, custom fields to target fields or a private note,
//! and the automated options. Pure: no I/O, no target calls.

use std::collections::HashMap;

use deskferry_format::{
    Comment, CustomField, FieldEntity, Group, Organization, Ticket, User, UserKind,
};
use sha2::{Digest, Sha256};

use crate::filter::{TicketNames, status_word};
use crate::target::{
    AttachmentData, Author, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser,
    TargetAgent, TargetField, TargetGroup,
};

use super::file::{Mapping, NoteMode};

/// The bundle's small tables, indexed. Tickets, comments and attachments stream separately,
/// and so do users and organizations, which grow with the account (100,000 people take a
/// few hundred MB with their `raw`): a piece of work gathers the few it names into a
/// [`Cast`] first (`rows.rs`).
#[derive(Debug, Clone, Default)]
pub struct BundleIndex {
    /// The source's agents (users of kind agent), in id order: few, and every mapping names them.
    pub agents: Vec<User>,
    /// Groups by id.
    pub groups: HashMap<String, Group>,
    /// Custom field definitions by key.
    pub fields: HashMap<String, CustomField>,
    /// `platform:account` of the source, for external ids.
    pub source: String,
    /// The statuses the bundle's tickets have: (the source's own word, or the canonical word
    /// when the source gave none; canonical word), each pair once.
    pub statuses: std::collections::BTreeSet<(String, String)>,
}

impl BundleIndex {
    /// Groups in id order.
    pub fn groups_sorted(&self) -> Vec<&Group> {
        let mut v: Vec<&Group> = self.groups.values().collect();
        v.sort_by(|a, b| deskferry_format::model::id_order(&a.id, &b.id));
        v
    }

    /// Ticket field definitions in id order.
    pub fn ticket_fields(&self) -> Vec<&CustomField> {
        let mut v: Vec<&CustomField> =
            self.fields.values().filter(|f| f.entity == FieldEntity::Ticket).collect();
        v.sort_by(|a, b| deskferry_format::model::id_order(&a.id, &b.id));
        v
    }
}

/// The people one piece of work names (a ticket's requester, assignee, CCs, comment authors,
/// its organization): their rows from the bundle and the target ids of those the ledger holds
/// as migrated. Gathered before the work (`Conversations::cast`), so that no command holds
/// every person of a large bundle and resolving stays free of I/O.
#[derive(Debug, Clone, Default)]
pub struct Cast {
    /// The bundle's rows of the users named, by id (absent: not in this bundle).
    pub users: HashMap<String, User>,
    /// The bundle's rows of the organizations named, by id.
    pub organizations: HashMap<String, Organization>,
    /// Source user id → target id, for the users named that are migrated (this bundle's or an
    /// earlier one's: a delta names people it does not hold).
    pub loaded: HashMap<String, String>,
}

impl Cast {
    /// A cast of these users, none of them migrated (tests and plans).
    pub fn of<'u>(users: impl IntoIterator<Item = &'u User>) -> Cast {
        Cast {
            users: users.into_iter().map(|u| (u.id.clone(), u.clone())).collect(),
            ..Cast::default()
        }
    }

    /// Names a filter needs for one ticket.
    pub fn names<'a>(&'a self, index: &'a BundleIndex, t: &Ticket) -> TicketNames<'a> {
        TicketNames {
            assignee_email: t
                .assignee_id
                .as_ref()
                .and_then(|i| self.users.get(i))
                .and_then(|u| u.email.as_deref()),
            group_name: t
                .group_id
                .as_ref()
                .and_then(|i| index.groups.get(i))
                .map(|g| g.name.as_str()),
            organization_name: t
                .organization_id
                .as_ref()
                .and_then(|i| self.organizations.get(i))
                .map(|o| o.name.as_str()),
        }
    }
}

/// How a source user maps to a target agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMatch {
    /// The target agent (the matched one, or the default agent).
    pub agent: Option<TargetAgent>,
    /// The default agent stands in.
    pub defaulted: bool,
    /// Why (for plan output; no personal data).
    pub why: &'static str,
}

/// The mapping applied against one target.
#[derive(Debug)]
pub struct Resolver<'a> {
    index: &'a BundleIndex,
    mapping: &'a Mapping,
    inventory: &'a Inventory,
    caps: &'a Capabilities,
    by_email: HashMap<String, usize>,
    by_id: HashMap<&'a str, usize>,
    default_agent: Option<usize>,
    ext_prefix: String,
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The values of a custom field value (JSON text): each element of an array on its own, any
/// other value as one; none for null or an empty array.
pub fn field_values(json: &str) -> Vec<String> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Null) => Vec::new(),
        Ok(serde_json::Value::String(s)) => vec![s],
        Ok(serde_json::Value::Array(a)) => a
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Ok(v) => vec![v.to_string()],
        Err(_) => vec![json.to_string()],
    }
}

/// Turns a custom field value (JSON text) into one string for a note or a single-value field;
/// `None` for null.
pub fn field_value_text(json: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Null) => None,
        Ok(serde_json::Value::String(s)) => Some(s),
        Ok(serde_json::Value::Array(a)) => {
            if a.is_empty() {
                return None;
            }
            Some(
                a.iter()
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        }
        Ok(v) => Some(v.to_string()),
        Err(_) => Some(json.to_string()),
    }
}

fn push_tag(tags: &mut Vec<String>, t: &str) {
    if !t.is_empty() && !tags.iter().any(|x| x == t) {
        tags.push(t.to_string());
    }
}

impl<'a> Resolver<'a> {
    /// Prepares the lookups.
    pub fn new(
        index: &'a BundleIndex,
        mapping: &'a Mapping,
        inventory: &'a Inventory,
        caps: &'a Capabilities,
    ) -> Resolver<'a> {
        let mut by_email = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, a) in inventory.agents.iter().enumerate() {
            by_email.entry(a.email.to_lowercase()).or_insert(i);
            by_id.insert(a.id.as_str(), i);
        }
        let find = |key: &str| {
            by_id.get(key).copied().or_else(|| by_email.get(&key.to_lowercase()).copied())
        };
        let default_agent = match &mapping.agents.default {
            Some(d) => find(d),
            None => inventory.agents.iter().position(|a| a.active),
        };
        let ext_prefix = {
            let h = hex::encode(Sha256::digest(index.source.as_bytes()));
            format!("deskferry-{}", &h[..10])
        };
        Resolver { index, mapping, inventory, caps, by_email, by_id, default_agent, ext_prefix }
    }

    fn agent_by_key(&self, key: &str) -> Option<&'a TargetAgent> {
        let i = self
            .by_id
            .get(key)
            .copied()
            .or_else(|| self.by_email.get(&key.to_lowercase()).copied())?;
        self.inventory.agents.get(i)
    }

    /// The default agent, if the mapping names one that exists (or the target has an active one).
    pub fn default_agent(&self) -> Option<&'a TargetAgent> {
        self.default_agent.and_then(|i| self.inventory.agents.get(i))
    }

    /// The mapping names a default agent that the target does not have.
    pub fn default_agent_missing(&self) -> bool {
        self.mapping.agents.default.is_some() && self.default_agent.is_none()
    }

    /// The target agent for a source user's row (agents only; end users get `agent: None`;
    /// `None`, a user the bundle does not hold, gets the default agent).
    pub fn agent_for(&self, user: Option<&User>) -> AgentMatch {
        let fallback =
            |why| AgentMatch { agent: self.default_agent().cloned(), defaulted: true, why };
        let Some(u) = user else {
            return fallback("unknown user");
        };
        if u.kind != UserKind::Agent {
            return AgentMatch { agent: None, defaulted: false, why: "end user" };
        }
        let over = self.mapping.agents.map.get(&u.id).or_else(|| {
            let e = u.email.as_deref()?.to_lowercase();
            self.mapping.agents.map.iter().find(|(k, _)| k.to_lowercase() == e).map(|(_, v)| v)
        });
        if let Some(target) = over {
            return match self.agent_by_key(target) {
                Some(a) if a.active => {
                    AgentMatch { agent: Some(a.clone()), defaulted: false, why: "mapped" }
                }
                Some(_) => fallback("mapped agent is inactive at the target"),
                None => fallback("mapped agent not at the target"),
            };
        }
        if u.is_deleted {
            return fallback("deleted at the source");
        }
        if !u.active || u.suspended {
            return fallback("inactive at the source");
        }
        let Some(email) = u.email.as_deref() else { return fallback("no email") };
        match self.by_email.get(&email.to_lowercase()).and_then(|&i| self.inventory.agents.get(i)) {
            Some(a) if a.active => {
                AgentMatch { agent: Some(a.clone()), defaulted: false, why: "matched by email" }
            }
            Some(_) => fallback("inactive at the target"),
            None => fallback("no target agent with that email"),
        }
    }

    /// An agent the default agent would stand in for, but whom a target that creates agents
    /// holds itself (migrated, disabled where the source had them inactive or deleted): their
    /// records stay theirs.
    fn own_agent(
        &self,
        m: &AgentMatch,
        user_id: &str,
        loaded: &HashMap<String, String>,
    ) -> Option<String> {
        (m.defaulted && self.caps.create_agents).then(|| loaded.get(user_id).cloned()).flatten()
    }

    /// A person this bundle names but does not hold, whom an earlier bundle's load migrated: a
    /// delta carries only the people who changed, so the reply of an unchanged customer, or a
    /// ticket assigned to an unchanged agent, names someone only the ledger knows (`loaded`:
    /// source id → target id). The target's agents say whether that target id is an agent's;
    /// otherwise it is a customer's, known by its target id alone (the ledger keeps no names
    /// nor addresses).
    fn earlier(&self, user_id: &str, loaded: &HashMap<String, String>) -> Option<Author> {
        let target = loaded.get(user_id)?;
        Some(match self.inventory.agents.iter().find(|a| &a.id == target) {
            Some(a) => Author {
                target_id: Some(a.id.clone()),
                email: Some(a.email.clone()),
                name: Some(a.name.clone()),
                is_agent: true,
                defaulted: false,
            },
            None => Author {
                target_id: Some(target.clone()),
                email: None,
                name: None,
                is_agent: false,
                defaulted: false,
            },
        })
    }

    /// Who wrote something: the user's target id from the cast's `loaded` (users already
    /// migrated) or the matched agent.
    pub fn author(&self, user_id: Option<&str>, cast: &Cast) -> Author {
        let loaded = &cast.loaded;
        let u = user_id.and_then(|i| cast.users.get(i));
        let email = u.and_then(|u| u.email.clone());
        let name = u.and_then(|u| u.name.clone());
        match u {
            Some(u) if u.kind == UserKind::Agent => {
                let m = self.agent_for(Some(u));
                if let Some(own) = self.own_agent(&m, &u.id, loaded) {
                    return Author {
                        target_id: Some(own),
                        email,
                        name,
                        is_agent: true,
                        defaulted: false,
                    };
                }
                Author {
                    target_id: m.agent.map(|a| a.id),
                    email,
                    name,
                    is_agent: true,
                    defaulted: m.defaulted,
                }
            }
            Some(u) => Author {
                target_id: loaded.get(&u.id).cloned(),
                email,
                name,
                is_agent: false,
                defaulted: false,
            },
            None => {
                if let Some(a) = user_id.and_then(|i| self.earlier(i, loaded)) {
                    return a;
                }
                // An author neither the bundle nor the ledger knows: the default agent speaks
                // for them.
                let d = self.default_agent();
                Author {
                    target_id: d.map(|a| a.id.clone()),
                    email: None,
                    name: None,
                    is_agent: true,
                    defaulted: true,
                }
            }
        }
    }

    /// A user with its organization's target id (`organization`: the ledger's, when its
    /// organization is migrated) and, for agents, the matched target agent.
    pub fn map_user(&self, user: &User, organization: Option<String>) -> MappedUser {
        let matched_agent = if user.kind == UserKind::Agent {
            let m = self.agent_for(Some(user));
            if m.defaulted { None } else { m.agent.map(|a| a.id) }
        } else {
            None
        };
        MappedUser { user: user.clone(), organization, matched_agent }
    }

    fn target_group_by_key(&self, key: &str) -> Option<&'a TargetGroup> {
        self.inventory
            .groups
            .iter()
            .find(|g| g.id == key)
            .or_else(|| self.inventory.groups.iter().find(|g| g.name.eq_ignore_ascii_case(key)))
    }

    /// The target group for a source group id: mapped, else same name, else the default.
    pub fn group_for(&self, group_id: Option<&str>) -> Option<&'a TargetGroup> {
        let g = group_id.and_then(|i| self.index.groups.get(i));
        if let Some(g) = g {
            let over =
                self.mapping.groups.map.get(&g.id).or_else(|| self.mapping.groups.map.get(&g.name));
            if let Some(t) = over.and_then(|k| self.target_group_by_key(k)) {
                return Some(t);
            }
            if let Some(t) = self.target_group_by_key(&g.name) {
                return Some(t);
            }
        }
        self.mapping.groups.default.as_deref().and_then(|k| self.target_group_by_key(k))
    }

    /// The target status for a canonical status word when the mapping does not say.
    pub fn auto_status(&self, word: &str) -> Option<String> {
        let candidates: &[&str] = match word {
            "new" => &["new", "open"],
            "open" => &["open"],
            "pending" => &["pending", "stalled", "open"],
            "on_hold" => &["on_hold", "on-hold", "hold", "stalled", "open"],
            "solved" => &["solved", "resolved", "archived", "closed"],
            "closed" => &["closed", "resolved", "archived"],
            _ => &[],
        };
        candidates.iter().find_map(|c| {
            self.inventory.statuses.iter().find(|s| s.eq_ignore_ascii_case(c)).cloned()
        })
    }

    /// The target status of a ticket.
    pub fn status_for(&self, t: &Ticket) -> Option<String> {
        self.status_of(t.status_raw.as_deref(), status_word(t.status))
    }

    /// The target status for a source status (`raw`, the source's own word) whose canonical
    /// word is `word`. The more specific wins: the mapping's entry for the raw status, then its
    /// entry for the canonical one; without either, a target status of the raw status's own
    /// name (an RT's `rejected` into an RT), then the canonical word's best match.
    pub fn status_of(&self, raw: Option<&str>, word: &str) -> Option<String> {
        let raw = raw.filter(|r| !r.is_empty());
        raw.and_then(|r| self.mapping.status.get(r))
            .or_else(|| self.mapping.status.get(word))
            .cloned()
            .or_else(|| {
                let r = raw?;
                self.inventory.statuses.iter().find(|s| s.eq_ignore_ascii_case(r)).cloned()
            })
            .or_else(|| self.auto_status(word))
    }

    /// The target field a source field key goes to (`None`: private note or skipped).
    pub fn target_field(&self, key: &str) -> Option<&'a TargetField> {
        let def = self.index.fields.get(key);
        let title = def.map(|d| d.title.as_str()).unwrap_or(key);
        let chosen = self.mapping.fields.get(key).or_else(|| self.mapping.fields.get(title));
        let name = match chosen.map(String::as_str) {
            Some("note") | Some("skip") => return None,
            Some(n) => n,
            None => title,
        };
        let fields = &self.inventory.ticket_fields;
        fields.iter().find(|f| f.id == name || f.name.eq_ignore_ascii_case(name)).or_else(|| {
            if chosen.is_none() {
                fields.iter().find(|f| f.name.eq_ignore_ascii_case(key))
            } else {
                None
            }
        })
    }

    /// The mapping sends this field's values into the private note or skips them.
    pub fn field_is_note_or_skip(&self, key: &str) -> bool {
        let title = self.index.fields.get(key).map(|d| d.title.as_str()).unwrap_or(key);
        matches!(
            self.mapping
                .fields
                .get(key)
                .or_else(|| self.mapping.fields.get(title))
                .map(String::as_str),
            Some("skip") | Some("note")
        )
    }

    fn field_skipped(&self, key: &str) -> bool {
        let title = self.index.fields.get(key).map(|d| d.title.as_str()).unwrap_or(key);
        matches!(
            self.mapping
                .fields
                .get(key)
                .or_else(|| self.mapping.fields.get(title))
                .map(String::as_str),
            Some("skip")
        )
    }

    /// External id of a ticket (stable per source account and ticket id).
    pub fn ticket_external_id(&self, ticket_id: &str) -> String {
        format!("{}-t{}", self.ext_prefix, ticket_id)
    }

    /// External id of a comment.
    pub fn comment_external_id(&self, comment_id: &str) -> String {
        format!("{}-c{}", self.ext_prefix, comment_id)
    }

    /// A ticket ready to write; `cast` holds the people it names (`Conversations::cast`).
    pub fn map_ticket(&self, t: &Ticket, cast: &Cast, demo: bool) -> MappedTicket {
        let loaded_users = &cast.loaded;
        let o = &self.mapping.options;
        let base = t
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "(no subject)".into());
        let subject = if o.old_id_in_subject {
            format!("[#{}] {}", t.number.as_deref().unwrap_or(&t.id), base)
        } else {
            base
        };
        let mut tags = Vec::new();
        for x in &t.tags {
            push_tag(&mut tags, x);
        }
        if o.status_as_tag {
            push_tag(&mut tags, &format!("status:{}", status_word(t.status)));
        }
        push_tag(&mut tags, &o.migration_tag);
        if demo {
            push_tag(&mut tags, &o.demo_tag);
        }
        let mut fields = Vec::new();
        let mut note_fields = Vec::new();
        if let Some(ty) = &t.ticket_type {
            let v = self.mapping.types.get(ty).cloned().unwrap_or_else(|| ty.clone());
            match self.inventory.ticket_fields.iter().find(|f| f.name.eq_ignore_ascii_case("type"))
            {
                Some(f) => fields.push((f.name.clone(), vec![v])),
                None if o.custom_fields_note != NoteMode::None => {
                    note_fields.push(("Type".to_string(), v))
                }
                None => {}
            }
        }
        for cf in &t.custom_fields {
            let Some(value) = field_value_text(&cf.value) else { continue };
            if self.field_skipped(&cf.key) {
                continue;
            }
            let title = self
                .index
                .fields
                .get(&cf.key)
                .map(|d| d.title.clone())
                .unwrap_or_else(|| cf.key.clone());
            let target = self.target_field(&cf.key);
            if let Some(f) = target {
                let values = field_values(&cf.value)
                    .into_iter()
                    .map(|v| self.option_label(&cf.key, f, v))
                    .collect();
                fields.push((f.name.clone(), values));
            }
            let to_note = match o.custom_fields_note {
                NoteMode::All => true,
                NoteMode::Unmapped => target.is_none(),
                NoteMode::None => false,
            };
            if to_note {
                note_fields.push((title, value));
            }
        }
        let priority = t.priority.map(|p| {
            let w = match p {
                deskferry_format::Priority::Low => "low",
                deskferry_format::Priority::Normal => "normal",
                deskferry_format::Priority::High => "high",
                deskferry_format::Priority::Urgent => "urgent",
            };
            self.mapping
                .priority
                .get(w)
                .or_else(|| t.priority_raw.as_ref().and_then(|r| self.mapping.priority.get(r)))
                .cloned()
                .unwrap_or_else(|| w.to_string())
        });
        let assignee = t.assignee_id.as_ref().and_then(|a| {
            let row = cast.users.get(a);
            if row.is_none()
                && let Some(e) = self.earlier(a, loaded_users).filter(|e| e.is_agent)
            {
                return e.target_id;
            }
            let m = self.agent_for(row);
            self.own_agent(&m, a, loaded_users).or(m.agent.map(|x| x.id))
        });
        MappedTicket {
            ticket: t.clone(),
            subject,
            tags,
            status: self.status_for(t),
            priority,
            group: self.group_for(t.group_id.as_deref()).map(|g| g.id.clone()),
            assignee,
            requester: self.author(t.requester_id.as_deref(), cast),
            fields,
            note_fields,
            external_id: self.ticket_external_id(&t.id),
            emails: cast
                .users
                .values()
                .filter_map(|u| u.email.as_ref().map(|e| (u.id.clone(), e.clone())))
                .collect(),
        }
    }

    /// An enum target field that lists labels rather than stored values gets the label.
    fn option_label(&self, key: &str, f: &TargetField, value: String) -> String {
        if f.options.is_empty() || f.options.contains(&value) {
            return value;
        }
        self.index
            .fields
            .get(key)
            .and_then(|d| d.options.iter().find(|o| o.value == value))
            .filter(|o| f.options.contains(&o.label))
            .map(|o| o.label.clone())
            .unwrap_or(value)
    }

    /// A comment ready to write, with its attachments already chosen and read.
    pub fn map_comment(
        &self,
        c: &Comment,
        mut attachments: Vec<AttachmentData>,
        cast: &Cast,
    ) -> MappedComment {
        let author = self.author(c.author_id.as_deref(), cast);
        let mut body = match (&c.body_html, &c.body_text) {
            (Some(h), _) if !h.trim().is_empty() => h.clone(),
            (_, Some(t)) => format!("<p>{}</p>", html_escape(t).replace('\n', "<br>")),
            _ => String::new(),
        };
        if author.defaulted && self.mapping.options.unmatched_author_name_in_body {
            let who =
                author.name.as_deref().or(author.email.as_deref()).unwrap_or("an unknown author");
            body = format!("<p><em>Originally written by {}</em></p>\n{}", html_escape(who), body);
        }
        let o = &self.mapping.options;
        if o.inline_images_as_attachments && !o.skip_attachments {
            let (rewritten, images) = super::inline::extract_data_images(&body, &c.id);
            body = rewritten;
            attachments.extend(images);
        }
        MappedComment {
            comment: c.clone(),
            author,
            body_html: body,
            public: c.public,
            created_at: c.created_at,
            attachments,
            external_id: self.comment_external_id(&c.id),
        }
    }

    /// The target's capabilities this resolver was built with.
    pub fn capabilities(&self) -> &Capabilities {
        self.caps
    }
}

#[cfg(test)]
mod tests;
