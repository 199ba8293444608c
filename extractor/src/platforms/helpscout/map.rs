//! Pure conversion of Help Scout's JSON into the canonical model; every record read with
//! [`Notes::read`], `raw` verbatim.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, KbItem, Ticket, TicketStatus, Timestamp, User, UserKind,
};
use serde_json::Value;

use super::wire;
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// Notes for Help Scout's records.
pub fn notes() -> Notes {
    Notes::new("helpscout")
}

/// The canonical kind of a mailbox field type.
pub fn field_kind(field_type: &str) -> FieldKind {
    match field_type {
        "SINGLE_LINE" => FieldKind::Text,
        "MULTI_LINE" => FieldKind::Textarea,
        "NUMBER" => FieldKind::Decimal,
        "DATE" => FieldKind::Date,
        "DROPDOWN" => FieldKind::Dropdown,
        _ => FieldKind::Other,
    }
}

/// A time as Help Scout writes it.
pub fn time(s: Option<&str>) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s?).ok().map(|t| t.with_timezone(&Utc))
}

fn raw(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A person's name from Help Scout's two parts.
pub fn name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    match (first.filter(|s| !s.is_empty()), last.filter(|s| !s.is_empty())) {
        (None, None) => first.or(last).map(str::to_string),
        (Some(f), None) => Some(f.to_string()),
        (None, Some(l)) => Some(l.to_string()),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
    }
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

/// A user (an agent).
pub fn user(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::User = notes.read("users", v)?;
    let mut u = person(w.id.0, UserKind::Agent);
    u.role_raw = w.role;
    u.name = name(w.first_name.as_deref(), w.last_name.as_deref());
    u.email = w.email;
    u.other_emails = w.alternate_emails;
    u.phone = w.phone;
    u.time_zone = w.timezone;
    u.created_at = time(w.created_at.as_deref());
    u.updated_at = time(w.updated_at.as_deref());
    u.raw = raw(v);
    Ok(u)
}

/// A customer (an end user). Its `organization` is a name only, kept in `raw`.
pub fn customer(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::Customer = notes.read("users", v)?;
    let mut u = person(w.id.0, UserKind::EndUser);
    u.name = name(w.first_name.as_deref(), w.last_name.as_deref());
    let mut emails = w.embedded.emails.into_iter().filter_map(|e| e.value);
    u.email = emails.next();
    u.other_emails = emails.collect();
    u.phone = w.embedded.phones.into_iter().find_map(|p| p.value);
    u.created_at = time(w.created_at.as_deref());
    u.updated_at = time(w.updated_at.as_deref());
    u.raw = raw(v);
    Ok(u)
}

/// A mailbox.
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

/// A mailbox field (a ticket field keyed by its id; a drop-down's option values are the
/// option ids conversations hold).
pub fn field(v: &Value, notes: &mut Notes) -> Result<CustomField, ExtractError> {
    let w: wire::Field = notes.read("custom_fields", v)?;
    let field_type = w.kind.unwrap_or_default();
    Ok(CustomField {
        key: w.id.0.clone(),
        id: w.id.0,
        entity: FieldEntity::Ticket,
        title: w.name.unwrap_or_default(),
        kind: Some(field_kind(&field_type)),
        field_type,
        multiple: None,
        options: w
            .options
            .into_iter()
            .map(|o| FieldOption { value: o.id.0, label: o.label.unwrap_or_default() })
            .collect(),
        required: w.required,
        active: true,
        raw: raw(v),
    })
}

/// A custom field value as JSON text: a number field's as a number, any other's as text.
pub fn field_value(field_type: Option<&str>, value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if field_type == Some("NUMBER")
        && let Ok(n) = serde_json::from_str::<serde_json::Number>(text.trim())
    {
        return Some(n.to_string());
    }
    serde_json::to_string(&text).ok()
}

/// Help Scout's status as canonical status and spam flag.
pub fn status(s: Option<&str>) -> (TicketStatus, bool) {
    match s {
        Some("pending") => (TicketStatus::Pending, false),
        Some("closed") => (TicketStatus::Closed, false),
        Some("spam") => (TicketStatus::Closed, true),
        _ => (TicketStatus::Open, false),
    }
}

/// One thread's comment and the files it holds, each with the path of its data.
pub struct ThreadRows {
    /// The comment.
    pub comment: Comment,
    /// Its files and where their bytes are.
    pub files: Vec<(Attachment, String)>,
}

/// A conversation with its embedded threads; `fields` gives each field id's type.
pub fn conversation(
    v: &Value,
    fields: &BTreeMap<String, String>,
    notes: &mut Notes,
) -> Result<(Ticket, Vec<ThreadRows>), ExtractError> {
    let w: wire::Conversation = notes.read("tickets", v)?;
    let (status, is_spam) = status(w.status.as_deref());
    let id = w.id.0.clone();
    let custom_fields = w
        .custom_fields
        .iter()
        .filter_map(|f| {
            let value = field_value(fields.get(&f.id.0).map(String::as_str), f.value.as_ref()?)?;
            Some(CustomFieldValue { key: f.id.0.clone(), value })
        })
        .collect();
    let pid = |p: &Option<wire::PersonRef>| p.as_ref().and_then(|p| p.id.clone()).map(|i| i.0);
    let t = Ticket {
        id: id.clone(),
        number: w.number.map(|n| n.0),
        subject: w.subject,
        status,
        status_raw: w.status,
        priority: None,
        priority_raw: None,
        ticket_type: None,
        channel: w.source.and_then(|s| s.kind),
        requester_id: pid(&w.primary_customer),
        other_requester_ids: Vec::new(),
        submitter_id: pid(&w.created_by),
        assignee_id: pid(&w.assignee),
        group_id: w.mailbox_id.map(|m| m.0),
        organization_id: None,
        cc_ids: Vec::new(),
        follower_ids: Vec::new(),
        tags: w.tags.into_iter().map(|t| t.tag).collect(),
        custom_fields,
        created_at: time(w.created_at.as_deref()),
        updated_at: time(w.user_updated_at.as_deref()),
        solved_at: time(w.closed_at.as_deref()),
        due_at: None,
        is_deleted: w.state.as_deref() == Some("deleted"),
        is_spam,
        raw: String::new(),
    };
    let mut threads = Vec::new();
    for tv in &w.embedded.threads {
        match thread(&id, tv, notes) {
            Ok(Some(t)) => threads.push(t),
            Ok(None) => {}
            Err(e) => notes.refused("comments", tv, &e),
        }
    }
    // Help Scout lists threads newest first; the bundle keeps conversation order.
    threads.reverse();
    let mut raw_v = v.clone();
    if let Some(e) = raw_v.get_mut("_embedded").and_then(Value::as_object_mut) {
        // Each thread is kept in its comment's raw.
        e.remove("threads");
    }
    Ok((Ticket { raw: raw(&raw_v), ..t }, threads))
}

/// A thread as a comment (a note is private; a line item, a system event, is kept as a
/// private comment holding the event's text); drafts and threads held for review are not
/// part of the conversation yet (`None`).
pub fn thread(
    ticket: &str,
    v: &Value,
    notes: &mut Notes,
) -> Result<Option<ThreadRows>, ExtractError> {
    let w: wire::Thread = notes.read("comments", v)?;
    if matches!(w.state.as_deref(), Some("draft" | "underreview" | "hidden")) {
        return Ok(None);
    }
    let kind = w.kind.as_deref().unwrap_or("customer");
    let public = !matches!(kind, "note" | "lineitem");
    let id = w.id.0.clone();
    let mut files = Vec::new();
    for av in &w.embedded.attachments {
        match notes.read::<wire::Attachment>("attachments", av) {
            Ok(a) => {
                let data = av
                    .pointer("/_links/data/href")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!("/v2/conversations/{ticket}/attachments/{}/data", a.id.0)
                    });
                files.push((
                    Attachment {
                        id: a.id.0,
                        ticket_id: Some(ticket.to_string()),
                        comment_id: Some(id.clone()),
                        article_id: None,
                        file_name: a.filename.unwrap_or_default(),
                        content_type: a.mime_type,
                        size: a.size,
                        sha256: None,
                        inline: false,
                        state: AttachmentState::Stored,
                        error: None,
                        raw: raw(av),
                    },
                    data,
                ));
            }
            Err(e) => notes.refused("attachments", av, &e),
        }
    }
    let by = w.created_by.as_ref();
    let created = w.created_at.as_deref().or(by.and_then(|b| b.created_at.as_deref()));
    let (body_html, body_text) = match (kind, w.body) {
        ("lineitem", None) => (None, w.action.and_then(|a| a.text)),
        (_, b) => (b, None),
    };
    let mut raw_v = v.clone();
    if let Some(e) = raw_v.get_mut("_embedded").and_then(Value::as_object_mut) {
        e.remove("attachments");
    }
    Ok(Some(ThreadRows {
        comment: Comment {
            id,
            ticket_id: ticket.to_string(),
            author_id: by.and_then(|b| b.id.clone()).map(|i| i.0),
            public,
            body_html,
            body_text,
            channel: w.source.and_then(|s| s.kind),
            created_at: time(created),
            attachment_ids: files.iter().map(|(a, _)| a.id.clone()).collect(),
            raw: raw(&raw_v),
        },
        files,
    }))
}

/// A Docs collection, category or article as a knowledge-base row (`parent` for an article
/// listed before its categories are known).
pub fn docs_item(
    table: &str,
    v: &Value,
    parent: Option<String>,
    notes: &mut Notes,
) -> Result<KbItem, ExtractError> {
    let w: wire::DocsItem = notes.read(table, v)?;
    let parent_id = match table {
        "kb_sections" => w.collection_id.map(|c| c.0),
        "kb_articles" => w.categories.first().map(|c| c.0.clone()).or(parent),
        _ => None,
    };
    let article = table == "kb_articles";
    Ok(KbItem {
        id: w.id.0,
        parent_id,
        locale: None,
        translation_of: None,
        title: w.name.unwrap_or_default(),
        body_html: if article { w.text } else { w.description },
        author_id: w.created_by.map(|c| c.0),
        draft: w.status.as_deref() == Some("notpublished"),
        position: if article { None } else { w.order },
        labels: w.keywords,
        created_at: time(w.created_at.as_deref()),
        updated_at: time(w.updated_at.as_deref()),
        raw: raw(v),
    })
}
