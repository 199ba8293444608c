//! Mapped records → Help Scout request bodies (pure, unit-tested in `tests.rs`).
//!
//! Help Scout keeps a thread's original `createdAt` and author when the write is `imported`
//! (which also keeps it from mailing the customer), so threads written with their conversation
//! carry nothing of ours. A thread added later (a delta's reply) cannot be told from another by
//! any key of Help Scout's: it ends with a reference line (`ref …`, the comment's external id)
//! that finds it after a lost answer and pairs it in reconciliation. A conversation carries a
//! marker tag (`dfx-…`) that finds it after a crash; reading back leaves it out.

use base64::Engine;
use chrono::SecondsFormat;
use deskferry_format::Timestamp;
use deskferry_format::model::TicketStatus;
use serde_json::{Map, Value, json};

use crate::target::{AttachmentData, MappedComment};

/// The statuses a conversation can be created with (Help Scout's words).
pub const STATUSES: [&str; 3] = ["active", "pending", "closed"];

/// An id as Help Scout takes it: a number where it is one.
pub fn num(id: &str) -> Value {
    id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(id))
}

/// A time as Help Scout takes it (`2012-10-10T12:00:00Z`).
pub fn time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The tag that finds a conversation by its external id (Help Scout keeps tags lower case).
pub fn marker_tag(external_id: &str) -> String {
    let s: String = external_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("dfx-{s}")
}

/// Whether a tag is one of the loader's markers (left out when read back).
pub fn is_marker(tag: &str) -> bool {
    tag.starts_with("dfx-")
}

/// Help Scout's status for the mapping's word, else for the canonical status: new and open are
/// active, pending and on-hold pending, solved and closed closed (spam is written closed).
pub fn status(word: Option<&str>, canonical: TicketStatus) -> &'static str {
    if let Some(w) = word {
        match w.to_ascii_lowercase().as_str() {
            "active" | "open" | "new" => return "active",
            "pending" | "on_hold" | "on-hold" | "hold" => return "pending",
            "closed" | "solved" | "resolved" | "spam" => return "closed",
            _ => {}
        }
    }
    match canonical {
        TicketStatus::New | TicketStatus::Open => "active",
        TicketStatus::Pending | TicketStatus::OnHold => "pending",
        TicketStatus::Solved | TicketStatus::Closed => "closed",
    }
}

/// The conversation type of a channel (`email`, `chat` or `phone`).
pub fn conversation_type(channel: Option<&str>) -> &'static str {
    match channel {
        Some("chat") => "chat",
        Some("phone" | "voice") => "phone",
        _ => "email",
    }
}

/// A person's name as Help Scout keeps it: the first word, and the rest.
pub fn split_name(name: Option<&str>) -> (Option<String>, Option<String>) {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => (None, None),
        Some(n) => match n.split_once(' ') {
            Some((f, l)) => (Some(f.to_string()), Some(l.trim().to_string())),
            None => (Some(n.to_string()), None),
        },
    }
}

/// The reference line a thread added after its conversation ends with.
pub fn reference_line(external_id: &str) -> String {
    format!("<p class=\"deskferry\">Migrated by deskferry · ref {external_id}</p>")
}

/// The reference a body's reference line holds.
pub fn reference(body: &str) -> Option<String> {
    let at = body.rfind(" · ref ")? + " · ref ".len();
    let rest = &body[at..];
    let end = rest.find(['<', ' ', '"']).unwrap_or(rest.len());
    Some(rest[..end].to_string()).filter(|r| !r.is_empty())
}

/// Files as a thread takes them (`fileName`, `mimeType`, base64 `data`), each at most `max`
/// bytes; the names and sizes of those left out.
pub fn attachments(files: &[AttachmentData], max: u64) -> (Vec<Value>, Vec<String>) {
    let (mut out, mut left) = (Vec::new(), Vec::new());
    for a in files {
        let n = a.bytes.len() as u64;
        if n > max {
            left.push(format!(
                "{} ({n} bytes) not uploaded: over Help Scout's {} MB per file",
                a.file_name,
                max / (1024 * 1024)
            ));
            continue;
        }
        out.push(json!({
            "fileName": a.file_name,
            "mimeType": a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            "data": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
        }));
    }
    (out, left)
}

/// Who a thread is by, as the write names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    /// A customer (a public message from the requester's side): id, else email.
    Customer(Value),
    /// A user (a reply or a note): the user id.
    User(String),
}

/// A thread of a write: `customer` (by a customer), `reply` (by a user) or `note` (private, by a
/// user), `imported` with its original `createdAt`; `customer` names the conversation's
/// customer a reply goes to; `reference` adds the reference line.
pub fn thread(
    c: &MappedComment,
    by: &By,
    customer: &Value,
    files: Vec<Value>,
    cc: &[String],
    reference: bool,
) -> Value {
    let mut m = Map::new();
    let kind = match (c.public, by) {
        (false, _) => "note",
        (true, By::Customer(_)) => "customer",
        (true, By::User(_)) => "reply",
    };
    m.insert("type".into(), json!(kind));
    match by {
        By::Customer(who) => {
            m.insert("customer".into(), who.clone());
        }
        By::User(u) => {
            m.insert("user".into(), num(u));
            if kind == "reply" {
                m.insert("customer".into(), customer.clone());
            }
        }
    }
    let mut text =
        if c.body_html.trim().is_empty() { "<p></p>".to_string() } else { c.body_html.clone() };
    if reference {
        text.push_str(&reference_line(&c.external_id));
    }
    m.insert("text".into(), json!(text));
    m.insert("imported".into(), json!(true));
    if let Some(t) = &c.created_at {
        m.insert("createdAt".into(), json!(time(t)));
    }
    if !cc.is_empty() && kind != "note" {
        m.insert("cc".into(), json!(cc));
    }
    if !files.is_empty() {
        m.insert("attachments".into(), Value::Array(files));
    }
    Value::Object(m)
}

/// A mailbox field as the target reads it: id, name, type and options (id, label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxField {
    /// Field id.
    pub id: String,
    /// Name shown.
    pub name: String,
    /// `SINGLE_LINE`, `MULTI_LINE`, `NUMBER`, `DATE`, `DROPDOWN`.
    pub field_type: String,
    /// Options: (id, label).
    pub options: Vec<(String, String)>,
}

/// The value a field of this definition takes (`{id, value}`): a drop-down's option id found by
/// its label (or id), a number as text, a date as `YYYY-MM-DD`; `Err` names why it cannot.
pub fn field_value(f: &MailboxField, values: &[String]) -> Result<Value, String> {
    let joined = values.join(", ");
    let value = match f.field_type.as_str() {
        "DROPDOWN" => {
            let v = values.first().cloned().unwrap_or_default();
            match f.options.iter().find(|(id, label)| label.eq_ignore_ascii_case(&v) || *id == v) {
                Some((id, _)) => id.clone(),
                None => return Err(format!("{:?} is not an option of field {}", v, f.name)),
            }
        }
        "NUMBER" => {
            let v = values.first().cloned().unwrap_or_default();
            if v.trim().parse::<f64>().is_err() {
                return Err(format!("{v:?} is not a number (field {})", f.name));
            }
            v.trim().to_string()
        }
        "DATE" => values.first().map(|v| v.chars().take(10).collect()).unwrap_or_default(),
        _ => joined,
    };
    Ok(json!({ "id": num(&f.id), "value": value }))
}

/// A customer as `POST /v2/customers` takes it: names, `organization` (a name), emails and a
/// phone.
pub fn customer(
    name: Option<&str>,
    fallback: &str,
    emails: &[String],
    phone: Option<&str>,
    organization: Option<&str>,
) -> Value {
    let (first, last) = split_name(name);
    let first = first.or_else(|| emails.is_empty().then(|| fallback.to_string()));
    let mut m = Map::new();
    if let Some(f) = first {
        m.insert("firstName".into(), json!(f));
    }
    if let Some(l) = last {
        m.insert("lastName".into(), json!(l));
    }
    if let Some(o) = organization {
        m.insert("organization".into(), json!(o));
    }
    if !emails.is_empty() {
        let e: Vec<Value> = emails.iter().map(|e| json!({ "type": "work", "value": e })).collect();
        m.insert("emails".into(), Value::Array(e));
    }
    if let Some(p) = phone {
        m.insert("phones".into(), json!([{ "type": "work", "value": p }]));
    }
    Value::Object(m)
}

/// A Docs item body: a collection (`siteId`, `name`, `description`, `visibility`), a category
/// (`collectionId`, `name`, `description`) or an article (`collectionId`, `categories`, `name`,
/// `text`, `status`, `keywords`).
pub fn docs_body(
    entity: &str,
    k: &deskferry_format::KbItem,
    site: Option<&str>,
    collection: Option<&str>,
    category: Option<&str>,
) -> Value {
    match entity {
        "kb_categories" => json!({
            "siteId": site,
            "name": k.title,
            "description": k.body_html,
            "visibility": "public",
            "order": k.position,
        }),
        "kb_sections" => json!({
            "collectionId": collection,
            "name": k.title,
            "description": k.body_html,
            "order": k.position,
        }),
        _ => json!({
            "collectionId": collection,
            "categories": category.into_iter().collect::<Vec<_>>(),
            "name": k.title,
            "text": k.body_html.clone().unwrap_or_default(),
            "status": if k.draft { "notpublished" } else { "published" },
            "keywords": k.labels,
        }),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The private note that ends a conversation holding more messages than Help Scout's 100
/// threads: each further message's author, time, visibility and text, in order, by `user`,
/// dated at the last of them, with the reference `{ticket}-overflow`.
pub fn overflow_note(t: &crate::target::MappedTicket, rest: &[MappedComment], user: &str) -> Value {
    let mut text = format!(
        "<p>This ticket had {} more messages than Help Scout's {} threads per conversation hold; here they are, in order:</p>",
        rest.len(),
        super::options::MAX_THREADS
    );
    for c in rest {
        let who = c.author.name.as_deref().or(c.author.email.as_deref()).unwrap_or("unknown");
        let when = c.created_at.as_ref().map(time).unwrap_or_else(|| "unknown".into());
        let kind = if c.public { "message" } else { "private note" };
        text.push_str(&format!(
            "<hr><p><strong>{} · {when} · {kind}</strong></p>{}",
            escape(who),
            c.body_html
        ));
    }
    text.push_str(&reference_line(&format!("{}-overflow", t.external_id)));
    let mut m = Map::new();
    m.insert("type".into(), json!("note"));
    m.insert("user".into(), num(user));
    m.insert("text".into(), json!(text));
    m.insert("imported".into(), json!(true));
    if let Some(at) = rest.iter().filter_map(|c| c.created_at.as_ref()).max() {
        m.insert("createdAt".into(), json!(time(at)));
    }
    Value::Object(m)
}
