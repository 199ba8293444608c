//! Pure conversion of Groove's JSON into the canonical model; every record read with
//! [`Notes::read`], `raw` verbatim.
//!
//! Ids: v2 global ids lose their prefix (`ag_12` → `12`, `c_`, `co_`, `cf_`, `cnv_`); a ticket's
//! id is its v1 `number` (v1 names a ticket by nothing else); a message's id is the end of its
//! `href`; an attachment, which has no id in v1, is `{message}-{position}`. People are named by
//! address in v1 links: [`People`] turns an address into the person's id.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, KbItem, Organization, Priority, Ticket, TicketStatus, Timestamp,
    User, UserKind,
};
use serde_json::Value;

use super::client::{id_from_href, person_from_href};
use super::wire;
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// Notes for Groove's records.
pub fn notes() -> Notes {
    Notes::new("groove")
}

/// A time as Groove writes it.
pub fn time(s: Option<&str>) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s?).ok().map(|t| t.with_timezone(&Utc))
}

fn raw(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A global id without its prefix (`ag_12` → `12`).
pub fn local(id: &str) -> String {
    match id.split_once('_') {
        Some((p, rest)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()) => {
            rest.to_string()
        }
        _ => id.to_string(),
    }
}

/// The canonical kind of a custom field type.
pub fn field_kind(t: &str) -> FieldKind {
    match t {
        "SINGLE_LINE" => FieldKind::Text,
        "MULTI_LINE" => FieldKind::Textarea,
        "NUMBER" => FieldKind::Decimal,
        "DATE" => FieldKind::Date,
        "DROPDOWN" => FieldKind::Dropdown,
        _ => FieldKind::Other,
    }
}

/// The canonical status of a v1 state (`unread` new, `opened` open, `pending`, `closed`;
/// `spam` is closed and flagged).
pub fn status(state: &str) -> TicketStatus {
    match state {
        "unread" => TicketStatus::New,
        "opened" => TicketStatus::Open,
        "pending" => TicketStatus::Pending,
        _ => TicketStatus::Closed,
    }
}

/// The canonical priority of Groove's word.
pub fn priority(s: &str) -> Option<Priority> {
    match s.to_ascii_lowercase().as_str() {
        "low" => Some(Priority::Low),
        "normal" | "medium" => Some(Priority::Normal),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
}

/// The canonical role of a v2 AgentRole.
pub fn role(r: &str) -> String {
    r.to_ascii_lowercase()
}

fn person(id: String, kind: UserKind) -> User {
    User {
        id,
        kind,
        role_raw: None,
        name: None,
        email: None,
        other_emails: Vec::new(),
        phone: None,
        organization_id: None,
        group_ids: Vec::new(),
        active: true,
        suspended: false,
        is_deleted: false,
        locale: None,
        time_zone: None,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: String::new(),
    }
}

fn values(v: wire::Nodes<wire::FieldValue>) -> Vec<CustomFieldValue> {
    v.nodes
        .into_iter()
        .filter_map(|f| {
            let value = match f.value? {
                Value::String(s) => s,
                Value::Null => return None,
                other => other.to_string(),
            };
            Some(CustomFieldValue { key: f.key, value })
        })
        .collect()
}

/// An agent (v2 node).
pub fn agent(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::Agent = notes.read("users", v)?;
    let mut u = person(local(&w.id), UserKind::Agent);
    u.role_raw = w.role.as_deref().map(role);
    u.name = w.name.filter(|s| !s.is_empty());
    u.email = w.email;
    u.created_at = time(w.created_at.as_deref());
    u.updated_at = time(w.updated_at.as_deref());
    u.raw = raw(v);
    Ok(u)
}

/// A customer (v2 contact): its first company is its organization.
pub fn contact(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::Contact = notes.read("users", v)?;
    let mut u = person(local(&w.id), UserKind::EndUser);
    u.name = w.name.filter(|s| !s.is_empty());
    u.email = w.email;
    u.organization_id = w.companies.nodes.first().map(|c| local(&c.id));
    u.custom_fields = values(w.custom_field_values);
    u.created_at = time(w.created_at.as_deref());
    u.updated_at = time(w.updated_at.as_deref());
    u.raw = raw(v);
    Ok(u)
}

/// A company (v2).
pub fn company(v: &Value, notes: &mut Notes) -> Result<Organization, ExtractError> {
    let w: wire::Company = notes.read("organizations", v)?;
    Ok(Organization {
        id: local(&w.id),
        name: w.name.unwrap_or_default(),
        domains: w.domain.into_iter().filter(|d| !d.is_empty()).collect(),
        notes: None,
        tags: Vec::new(),
        custom_fields: values(w.custom_field_values),
        created_at: time(w.created_at.as_deref()),
        updated_at: time(w.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// A custom field definition (v2); `None` for the built-in contact-information fields and a
/// company's name and domain, which are the records' own fields.
pub fn custom_field(v: &Value, notes: &mut Notes) -> Result<Option<CustomField>, ExtractError> {
    let w: wire::CustomField = notes.read("custom_fields", v)?;
    let key = w.key.clone().unwrap_or_else(|| local(&w.id));
    let entity = match w.category.kind.as_deref() {
        Some("CONTACT_INFORMATION") => return Ok(None),
        Some("COMPANY") if matches!(key.as_str(), "name" | "domain") => return Ok(None),
        Some("COMPANY") => FieldEntity::Organization,
        _ => FieldEntity::User,
    };
    let t = w.kind.unwrap_or_else(|| "SINGLE_LINE".into());
    Ok(Some(CustomField {
        id: local(&w.id),
        entity,
        key,
        title: w.name.unwrap_or_default(),
        kind: Some(field_kind(&t)),
        field_type: t,
        multiple: None,
        options: w
            .options
            .nodes
            .into_iter()
            .map(|o| {
                let value = o.value.or(o.label.clone()).unwrap_or_default();
                FieldOption { label: o.label.unwrap_or_else(|| value.clone()), value }
            })
            .collect(),
        required: false,
        active: true,
        raw: raw(v),
    }))
}

/// A mailbox (a group of kind mailbox).
pub fn mailbox(v: &Value, notes: &mut Notes) -> Result<Group, ExtractError> {
    let w: wire::Mailbox = notes.read("groups", v)?;
    Ok(Group {
        id: w.id.0,
        name: w.name.unwrap_or_default(),
        kind: GroupKind::Mailbox,
        description: None,
        is_deleted: false,
        created_at: time(w.created_at.as_deref()),
        raw: raw(v),
    })
}

/// A v1 group (a team).
pub fn team(v: &Value, notes: &mut Notes) -> Result<Group, ExtractError> {
    let w: wire::Group = notes.read("groups", v)?;
    Ok(Group {
        id: w.id.0,
        name: w.name.unwrap_or_default(),
        kind: GroupKind::Team,
        description: w.description,
        is_deleted: false,
        created_at: None,
        raw: raw(v),
    })
}

/// Addresses → ids of agents and customers, and team names → group ids.
#[derive(Debug, Default, Clone)]
pub struct People {
    /// Lower-cased address → agent id.
    pub agents: HashMap<String, String>,
    /// Lower-cased address → customer id.
    pub customers: HashMap<String, String>,
    /// Team name → group id.
    pub teams: HashMap<String, String>,
}

impl People {
    /// The id of the person at the end of a v1 link, agents by the agents' list.
    pub fn of(&self, link: Option<&wire::Link>) -> Option<String> {
        let (email, agent) = person_from_href(link?.href.as_deref()?)?;
        let e = email.to_ascii_lowercase();
        if agent {
            self.agents.get(&e).or_else(|| self.customers.get(&e)).cloned()
        } else {
            self.customers.get(&e).or_else(|| self.agents.get(&e)).cloned()
        }
    }
}

/// A v1 ticket.
pub fn ticket(v: &Value, people: &People, notes: &mut Notes) -> Result<Ticket, ExtractError> {
    let w: wire::Ticket = notes.read("tickets", v)?;
    let state = w.state.clone().unwrap_or_else(|| "opened".into());
    let group_id = w
        .mailbox_id
        .map(|m| m.0)
        .or_else(|| w.assigned_group.as_ref().and_then(|g| people.teams.get(g).cloned()));
    Ok(Ticket {
        id: w.number.0,
        number: None,
        subject: w.title,
        status: status(&state),
        is_spam: state == "spam",
        status_raw: Some(state),
        priority: w.priority.as_deref().and_then(priority),
        priority_raw: w.priority,
        ticket_type: None,
        channel: None,
        requester_id: people.of(w.links.customer.as_ref()),
        other_requester_ids: Vec::new(),
        submitter_id: None,
        assignee_id: people.of(w.links.assignee.as_ref()),
        group_id,
        organization_id: None,
        cc_ids: Vec::new(),
        follower_ids: Vec::new(),
        tags: w.tags,
        custom_fields: Vec::new(),
        created_at: time(w.created_at.as_deref()),
        updated_at: time(w.updated_at.as_deref()),
        solved_at: None,
        due_at: None,
        is_deleted: false,
        raw: raw(v),
    })
}

/// The message count a v1 ticket declares.
pub fn message_count(v: &Value) -> Option<u64> {
    v.get("message_count").and_then(Value::as_u64)
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// A v1 message or note of ticket `ticket`.
pub fn message(
    v: &Value,
    ticket: &str,
    people: &People,
    notes: &mut Notes,
) -> Result<Comment, ExtractError> {
    // A v1 message has no `id` field: its id is the end of its `href`, given to the tolerant
    // read so its notes name the message (`raw` stays as sent).
    let href = v.get("href").and_then(Value::as_str).unwrap_or_default();
    let id = id_from_href(href).ok_or_else(|| ExtractError::Source {
        platform: "groove",
        entity: "comments".into(),
        id: href.to_string(),
        message: "a message whose href names no id".into(),
    })?;
    let mut named = v.clone();
    if let Some(o) = named.as_object_mut() {
        o.insert("id".into(), Value::String(id.clone()));
    }
    let w: wire::Message = notes.read("comments", &named)?;
    Ok(Comment {
        id,
        ticket_id: ticket.to_string(),
        author_id: people.of(w.links.author.as_ref()),
        public: !w.note.unwrap_or(false),
        body_html: nonempty(w.body),
        body_text: nonempty(w.plain_text_body),
        channel: None,
        created_at: time(w.created_at.as_deref()),
        attachment_ids: Vec::new(),
        raw: raw(v),
    })
}

/// The `n`th (0-based) file of message `comment`, its bytes still to fetch: (row, URL).
pub fn attachment(
    v: &Value,
    ticket: &str,
    comment: &str,
    n: usize,
    notes: &mut Notes,
) -> Result<(Attachment, String), ExtractError> {
    let w: wire::Attachment = notes.read("attachments", v)?;
    let a = Attachment {
        id: format!("{comment}-{n}"),
        ticket_id: Some(ticket.to_string()),
        comment_id: Some(comment.to_string()),
        article_id: None,
        file_name: w.filename.unwrap_or_else(|| format!("attachment-{n}")),
        content_type: None,
        size: w.size,
        sha256: None,
        inline: false,
        state: AttachmentState::Failed,
        error: None,
        raw: raw(v),
    };
    Ok((a, w.url))
}

/// A knowledge-base category (`article: false`) or article.
pub fn kb_item(v: &Value, article: bool, notes: &mut Notes) -> Result<KbItem, ExtractError> {
    let entity = if article { "kb_articles" } else { "kb_categories" };
    let w: wire::KbItem = notes.read(entity, v)?;
    Ok(KbItem {
        id: w.id.0,
        parent_id: w.category_id.map(|c| c.0),
        locale: None,
        translation_of: None,
        title: w.title.unwrap_or_default(),
        body_html: if article { w.body } else { w.description },
        author_id: w.author_id.map(|a| a.0),
        draft: w.state.as_deref() == Some("draft"),
        position: w.position,
        labels: w.tags,
        created_at: time(w.created_at.as_deref()),
        updated_at: time(w.updated_at.as_deref()),
        raw: raw(v),
    })
}
