//! Pure conversion of Freshdesk JSON into the canonical model (no I/O).
//!
//! Every function takes the record's `serde_json::Value` as Freshdesk sent it: the typed view
//! comes from [`super::wire`] through [`Notes::read`], and `raw` is the same value written back
//! compactly, so nothing the model lacks is lost.
//!
//! Choices worth knowing:
//! - a ticket's first message is its `description`: it becomes a public comment
//!   `{ticket}-description` by the requester, at the ticket's creation, through the ticket's
//!   channel, holding the ticket's `attachments`;
//! - statuses keep Freshdesk's code in `status_raw` (2 open, 3 pending, 4 resolved → solved,
//!   5 closed, 6 Waiting on Customer → pending, 7 Waiting on Third Party → on hold, other custom
//!   statuses → open); priorities 1–4 are low, normal, high, urgent;
//! - a message's channel comes from its `source` and `incoming` (an incoming reply or note came
//!   by email, an agent's by the web, 9 is a phone call);
//! - CC addresses become the users who have them (exact address first, then ignoring case);
//! - ticket custom field values keep their `cf_…` names; `null` values (unset) are left out;
//! - a file is inline when its message's HTML links `/helpdesk/attachments/{id}`;
//! - a translated solution row is `{id}@{language}` (Freshdesk shows it under its source's id);
//! - time zones and languages stay Freshdesk's names (`Eastern Time (US & Canada)`, `ja-JP`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, KbItem, Organization, Priority, Ticket, TicketStatus, Timestamp,
    User, UserKind,
};
use serde_json::{Map, Value};

use super::wire;
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// Platform name in errors and notes.
pub const PLATFORM: &str = "freshdesk";

/// Notes for Freshdesk records (see [`crate::tolerant`]).
pub fn notes() -> Notes {
    Notes::new(PLATFORM)
}

/// The record's JSON, compact.
pub fn raw(v: &Value) -> String {
    v.to_string()
}

/// Freshdesk timestamps as UTC; `None` for null or unreadable text.
pub fn ts(s: Option<&str>) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s?).ok().map(|t| t.with_timezone(&Utc))
}

fn id(n: Option<u64>) -> Option<String> {
    n.map(|n| n.to_string())
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn values(m: Option<&Map<String, Value>>) -> Vec<CustomFieldValue> {
    m.into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| CustomFieldValue { key: k.clone(), value: v.to_string() })
        .collect()
}

/// The kind of a Freshdesk field type (`custom_text`, `custom_dropdown`, …; the `custom_`
/// prefix optional).
pub fn field_kind(field_type: &str) -> FieldKind {
    match field_type.trim_start_matches("custom_") {
        "text" | "url" | "phone_number" => FieldKind::Text,
        "paragraph" => FieldKind::Textarea,
        "number" => FieldKind::Integer,
        "decimal" => FieldKind::Decimal,
        "checkbox" => FieldKind::Checkbox,
        "date" => FieldKind::Date,
        "date_time" => FieldKind::Datetime,
        "dropdown" => FieldKind::Dropdown,
        "multi_select_dropdown" => FieldKind::Multiselect,
        "lookup" => FieldKind::Lookup,
        _ => FieldKind::Other,
    }
}

/// The canonical status of a Freshdesk status code.
pub fn status(code: i64) -> TicketStatus {
    match code {
        3 | 6 => TicketStatus::Pending,
        4 => TicketStatus::Solved,
        5 => TicketStatus::Closed,
        7 => TicketStatus::OnHold,
        _ => TicketStatus::Open,
    }
}

/// The canonical priority of a Freshdesk priority code.
pub fn priority(code: i64) -> Option<Priority> {
    Some(match code {
        1 => Priority::Low,
        2 => Priority::Normal,
        3 => Priority::High,
        4 => Priority::Urgent,
        _ => return None,
    })
}

/// The channel of a ticket's `source`.
pub fn ticket_channel(source: i64) -> &'static str {
    match source {
        1 | 10 => "email",
        3 => "voice",
        7 => "chat",
        _ => "web",
    }
}

/// The channel of a conversation's `source` and `incoming`.
pub fn conversation_channel(source: i64, incoming: bool) -> Option<&'static str> {
    match (source, incoming) {
        (9, _) => Some("voice"),
        (0 | 2 | 8, true) | (8, false) => Some("email"),
        (0 | 2, false) => Some("web"),
        _ => None,
    }
}

/// The id of a ticket's description as a comment.
pub fn description_id(ticket: &str) -> String {
    format!("{ticket}-description")
}

/// The id of a solution row in another language than the account's.
pub fn translation_id(source: &str, language: &str) -> String {
    format!("{source}@{language}")
}

/// Users by email, for CC addresses.
#[derive(Debug, Default, Clone)]
pub struct Emails {
    exact: HashMap<String, String>,
    folded: HashMap<String, String>,
}

impl Emails {
    /// Knows `user`'s addresses (the first user of an address keeps it).
    pub fn add(&mut self, user: &User) {
        for e in user.email.iter().chain(&user.other_emails) {
            self.exact.entry(e.clone()).or_insert_with(|| user.id.clone());
            self.folded.entry(e.to_lowercase()).or_insert_with(|| user.id.clone());
        }
    }

    /// The user with this address.
    pub fn find(&self, email: &str) -> Option<&String> {
        self.exact.get(email).or_else(|| self.folded.get(&email.to_lowercase()))
    }
}

/// A contact.
pub fn contact(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let c: wire::Contact = notes.read("contacts", v)?;
    Ok(User {
        id: c.id.to_string(),
        kind: UserKind::EndUser,
        role_raw: Some("contact".into()),
        name: non_empty(c.name),
        email: c.email,
        other_emails: c.other_emails,
        phone: c.phone,
        organization_id: id(c.company_id),
        group_ids: Vec::new(),
        active: c.active && !c.deleted,
        suspended: c.blocked,
        is_deleted: c.deleted,
        locale: c.language,
        time_zone: c.time_zone,
        tags: c.tags,
        custom_fields: values(c.custom_fields.as_ref()),
        created_at: ts(c.created_at.as_deref()),
        updated_at: ts(c.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// An agent; `roles` names the role ids (`role_raw` is the first role's name).
pub fn agent(
    v: &Value,
    roles: &HashMap<u64, String>,
    notes: &mut Notes,
) -> Result<User, ExtractError> {
    let a: wire::Agent = notes.read("agents", v)?;
    let phone = match a.contact.phone {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(User {
        id: a.id.to_string(),
        kind: UserKind::Agent,
        role_raw: a
            .role_ids
            .first()
            .map(|r| roles.get(r).cloned().unwrap_or_else(|| r.to_string())),
        name: non_empty(a.contact.name),
        email: a.contact.email,
        other_emails: Vec::new(),
        phone,
        organization_id: None,
        group_ids: a.group_ids.iter().map(u64::to_string).collect(),
        active: a.contact.active,
        suspended: false,
        is_deleted: false,
        locale: a.contact.language,
        time_zone: a.contact.time_zone,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: ts(a.created_at.as_deref()),
        updated_at: ts(a.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// A company.
pub fn company(v: &Value, notes: &mut Notes) -> Result<Organization, ExtractError> {
    let c: wire::Company = notes.read("companies", v)?;
    Ok(Organization {
        id: c.id.to_string(),
        name: c.name.unwrap_or_default(),
        domains: c.domains,
        notes: non_empty(c.note),
        tags: Vec::new(),
        custom_fields: values(c.custom_fields.as_ref()),
        created_at: ts(c.created_at.as_deref()),
        updated_at: ts(c.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// A group.
pub fn group(v: &Value, notes: &mut Notes) -> Result<Group, ExtractError> {
    let g: wire::Group = notes.read("groups", v)?;
    Ok(Group {
        id: g.id.to_string(),
        name: g.name.unwrap_or_default(),
        kind: GroupKind::Group,
        description: g.description,
        is_deleted: false,
        created_at: ts(g.created_at.as_deref()),
        raw: raw(v),
    })
}

/// A custom field definition; `None` for Freshdesk's built-in fields (`default: true`).
pub fn field(
    v: &Value,
    entity: FieldEntity,
    notes: &mut Notes,
) -> Result<Option<CustomField>, ExtractError> {
    let f: wire::Field = notes.read("fields", v)?;
    if f.default {
        return Ok(None);
    }
    let field_type = f.field_type.unwrap_or_default();
    let kind = field_kind(&field_type);
    let options = match &f.choices {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(FieldOption { value: s.clone(), label: s.clone() }),
                Value::Object(o) => {
                    let value = o.get("value").and_then(Value::as_str)?.to_string();
                    let label =
                        o.get("label").and_then(Value::as_str).unwrap_or(&value).to_string();
                    Some(FieldOption { value, label })
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let name = f.name.unwrap_or_else(|| f.id.to_string());
    Ok(Some(CustomField {
        id: f.id.to_string(),
        entity,
        title: f.label.unwrap_or_else(|| name.clone()),
        key: name,
        multiple: Some(kind == FieldKind::Multiselect),
        kind: Some(kind),
        field_type,
        options,
        required: f.required_for_agents,
        active: true,
        raw: raw(v),
    }))
}

/// A listed ticket (`v`, with `stats`), its CC addresses resolved through `emails`.
pub fn ticket(
    v: &Value,
    emails: &Emails,
    notes: &mut Notes,
) -> Result<(Ticket, wire::Ticket), ExtractError> {
    let t: wire::Ticket = notes.read("tickets", v)?;
    let stats = t.stats.clone().unwrap_or_default();
    let ticket = Ticket {
        id: t.id.to_string(),
        number: Some(t.id.to_string()),
        subject: t.subject.clone(),
        status: t.status.map_or(TicketStatus::Open, status),
        status_raw: t.status.map(|s| s.to_string()),
        priority: t.priority.and_then(priority),
        priority_raw: t.priority.map(|p| p.to_string()),
        ticket_type: t.ticket_type.clone(),
        channel: t.source.map(|s| ticket_channel(s).to_string()),
        requester_id: id(t.requester_id),
        other_requester_ids: Vec::new(),
        submitter_id: None,
        assignee_id: id(t.responder_id),
        group_id: id(t.group_id),
        organization_id: id(t.company_id),
        cc_ids: t.cc_emails.iter().filter_map(|e| emails.find(e).cloned()).collect(),
        follower_ids: Vec::new(),
        tags: t.tags.clone(),
        custom_fields: values(t.custom_fields.as_ref()),
        created_at: ts(t.created_at.as_deref()),
        updated_at: ts(t.updated_at.as_deref()),
        solved_at: ts(stats.resolved_at.as_deref()).or(ts(stats.closed_at.as_deref())),
        due_at: ts(t.due_by.as_deref()),
        is_deleted: t.deleted,
        is_spam: t.spam,
        raw: raw(v),
    };
    Ok((ticket, t))
}

/// Whether `html` links the file `id` inline.
fn links(html: Option<&str>, id: &str) -> bool {
    html.is_some_and(|h| {
        let needle = format!("/helpdesk/attachments/{id}");
        h.match_indices(&needle)
            .any(|(i, _)| !h[i + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// Where a file belongs.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    /// Ticket.
    pub ticket_id: Option<String>,
    /// Comment.
    pub comment_id: Option<String>,
    /// Knowledge-base row.
    pub article_id: Option<String>,
}

/// A file row and the URL its bytes come from (the row is stored once they are).
pub fn attachment(
    v: &Value,
    owner: &Owner,
    html: Option<&str>,
    notes: &mut Notes,
) -> Result<(Attachment, Option<String>), ExtractError> {
    let a: wire::Attachment = notes.read("attachments", v)?;
    let id = a.id.to_string();
    Ok((
        Attachment {
            inline: links(html, &id),
            id,
            ticket_id: owner.ticket_id.clone(),
            comment_id: owner.comment_id.clone(),
            article_id: owner.article_id.clone(),
            file_name: a.name.unwrap_or_default(),
            content_type: a.content_type,
            size: a.size,
            sha256: None,
            state: AttachmentState::Stored,
            error: None,
            raw: raw(v),
        },
        a.attachment_url,
    ))
}

/// Reads a list of files of one owner; an unreadable one is left out with a note.
pub fn attachments(
    list: &[Value],
    owner: &Owner,
    html: Option<&str>,
    notes: &mut Notes,
) -> Vec<(Attachment, Option<String>)> {
    let mut out = Vec::new();
    for v in list {
        match attachment(v, owner, html, notes) {
            Ok(a) => out.push(a),
            Err(e) => notes.refused("attachments", v, &e),
        }
    }
    out
}

/// A ticket's description as its first comment.
pub fn description(ticket: &Ticket, t: &wire::Ticket, files: &[String]) -> Comment {
    let id = description_id(&ticket.id);
    Comment {
        raw: serde_json::json!({
            "ticket_id": t.id, "description": t.description, "description_text": t.description_text,
        })
        .to_string(),
        id,
        ticket_id: ticket.id.clone(),
        author_id: ticket.requester_id.clone(),
        public: true,
        body_html: t.description.clone(),
        body_text: t.description_text.clone(),
        channel: ticket.channel.clone(),
        created_at: ticket.created_at,
        attachment_ids: files.to_vec(),
    }
}

/// A conversation of `ticket` and its typed view.
pub fn conversation(
    v: &Value,
    ticket: &str,
    notes: &mut Notes,
) -> Result<(Comment, wire::Conversation), ExtractError> {
    let c: wire::Conversation = notes.read("conversations", v)?;
    let comment = Comment {
        id: c.id.to_string(),
        ticket_id: ticket.to_string(),
        author_id: id(c.user_id),
        public: !c.private,
        body_html: c.body.clone(),
        body_text: c.body_text.clone(),
        channel: c.source.and_then(|s| conversation_channel(s, c.incoming)).map(str::to_string),
        created_at: ts(c.created_at.as_deref()),
        attachment_ids: Vec::new(),
        raw: raw(v),
    };
    Ok((comment, c))
}

/// A solution category or folder in `language` (`primary`: the account's own).
pub fn folder(
    v: &Value,
    entity: &str,
    parent: Option<&str>,
    language: &str,
    primary: bool,
    notes: &mut Notes,
) -> Result<KbItem, ExtractError> {
    let f: wire::Folder = notes.read(entity, v)?;
    let source = f.id.to_string();
    Ok(KbItem {
        id: if primary { source.clone() } else { translation_id(&source, language) },
        parent_id: parent.map(str::to_string),
        locale: Some(language.to_string()),
        translation_of: (!primary).then_some(source),
        title: f.name.unwrap_or_default(),
        body_html: f.description,
        author_id: None,
        draft: false,
        position: None,
        labels: Vec::new(),
        created_at: ts(f.created_at.as_deref()),
        updated_at: ts(f.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// A solution article in `language`, in folder `folder`.
pub fn article(
    v: &Value,
    folder: &str,
    language: &str,
    primary: bool,
    notes: &mut Notes,
) -> Result<(KbItem, wire::Article), ExtractError> {
    let a: wire::Article = notes.read("articles", v)?;
    let source = a.id.to_string();
    let item = KbItem {
        id: if primary { source.clone() } else { translation_id(&source, language) },
        parent_id: Some(folder.to_string()),
        locale: Some(language.to_string()),
        translation_of: (!primary).then_some(source),
        title: a.title.clone().unwrap_or_default(),
        body_html: a.description.clone(),
        author_id: id(a.agent_id),
        draft: a.status == Some(1),
        position: None,
        labels: a.tags.clone(),
        created_at: ts(a.created_at.as_deref()),
        updated_at: ts(a.updated_at.as_deref()),
        raw: raw(v),
    };
    Ok((item, a))
}
