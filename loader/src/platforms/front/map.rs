//! Pure conversion from mapped records to Front request bodies (no I/O), and the small parsers
//! the read-back needs.
//!
//! Choices worth knowing:
//! - every message of a ticket carries `metadata.thread_ref` = the ticket's external id, so Front
//!   threads them into one conversation even across a crash and a re-run;
//! - a public comment by an agent is an outbound message credited to the teammate
//!   (`sender.author_id`); one by an end user is inbound from the user's handle;
//! - a private comment is a Front comment, which cannot be back-dated: its body starts with the
//!   original author and time, and ends with a marker `[df:EXTERNAL_ID]` by which a re-run finds
//!   it (Front keeps no external id on comments);
//! - users without an email address get a custom handle `deskferry:user:ID`, used both on the
//!   contact and as the sender of their messages.

use std::collections::HashMap;

use deskferry_extractor::platforms::front::Upload;
use deskferry_extractor::platforms::front::wire::{
    AccountBody, ContactBody, CreateComment, CustomField, Handle, ImportMessage, ImportMetadata,
    ImportSender, UpdateConversation,
};
use deskferry_format::{CustomFieldValue, Organization, Timestamp};
use serde_json::{Map, Value};

use crate::target::{AttachmentData, Author, MappedComment, MappedTicket, MappedUser};

/// What the conversion needs to know about the target.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// The handle inbound messages are addressed to (the inbox's address).
    pub address: &'a str,
    /// Teammate id → email (outbound messages are sent from the teammate's address).
    pub teammates: &'a HashMap<String, String>,
    /// Largest file Front accepts.
    pub max_attachment_bytes: u64,
}

/// Status values this target accepts in the mapping (Front's own words).
pub const STATUSES: [&str; 4] = ["archived", "open", "deleted", "spam"];

/// The threading key of a ticket's messages.
pub fn thread_ref(ticket: &MappedTicket) -> String {
    ticket.external_id.clone()
}

/// External id of the placeholder message that opens a ticket without public messages.
pub fn stub_external_id(ticket: &MappedTicket) -> String {
    format!("{}-open", ticket.external_id)
}

/// External id (marker) of the private note holding custom fields Front has no field for.
pub fn fields_note_external_id(ticket: &MappedTicket) -> String {
    format!("{}-fields", ticket.external_id)
}

/// The custom handle of a user without an email address.
pub fn custom_handle(user_id: &str) -> String {
    format!("deskferry:user:{user_id}")
}

/// The marker a body ends with.
pub fn marker(external_id: &str) -> String {
    format!("[df:{external_id}]")
}

/// The external id in a body's marker, if it has one (the last one wins).
pub fn parse_marker(body: &str) -> Option<String> {
    let start = body.rfind("[df:")? + 4;
    let end = body[start..].find(']')? + start;
    let id = &body[start..end];
    (!id.is_empty()).then(|| id.to_string())
}

/// Unix seconds (Front's `created_at`); none → `fallback`.
pub fn unix(t: Option<Timestamp>, fallback: Option<Timestamp>) -> i64 {
    t.or(fallback).map(|t| t.timestamp()).unwrap_or(0)
}

/// Front's fractional Unix seconds as a timestamp (millisecond precision).
pub fn timestamp(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() {
        return None;
    }
    chrono::DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
}

/// The handle a ticket's requester is reached at (the `to` of outbound messages).
pub fn requester_handle(ticket: &MappedTicket) -> String {
    ticket
        .requester
        .email
        .clone()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| ticket.ticket.requester_id.as_deref().map(custom_handle))
        .unwrap_or_else(|| "unknown-requester@deskferry.invalid".to_string())
}

fn author_handle(author: &Author, source_user: Option<&str>) -> String {
    author
        .email
        .clone()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| source_user.map(custom_handle))
        .unwrap_or_else(|| "unknown-author@deskferry.invalid".to_string())
}

/// Attachments Front takes, and those it refuses as (attachment id, reason).
pub fn split_attachments(
    files: &[AttachmentData],
    max: u64,
) -> (Vec<&AttachmentData>, Vec<(String, String)>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for f in files {
        if f.bytes.len() as u64 > max {
            refused.push((
                f.id.clone(),
                format!(
                    "{} bytes is over Front's limit of {max} bytes per attachment",
                    f.bytes.len()
                ),
            ));
        } else {
            ok.push(f);
        }
    }
    (ok, refused)
}

/// A file name a multipart header can carry: control characters (line breaks, tabs) become
/// spaces, an empty name becomes `attachment`.
pub fn upload_name(name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.trim().is_empty() { "attachment".into() } else { clean }
}

/// Files to upload.
pub fn uploads(files: &[&AttachmentData]) -> Vec<Upload> {
    files
        .iter()
        .map(|f| Upload {
            file_name: upload_name(&f.file_name),
            content_type: f
                .content_type
                .clone()
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes: f.bytes.clone(),
        })
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn refused_names(files: &[AttachmentData], refused: &[(String, String)]) -> Vec<String> {
    refused
        .iter()
        .filter_map(|(id, _)| files.iter().find(|f| &f.id == id))
        .map(|f| format!("{} ({} bytes)", f.file_name, f.bytes.len()))
        .collect()
}

/// The import body of a public comment; `first` carries the ticket's assignee and tags.
pub fn import_message(
    ticket: &MappedTicket,
    c: &MappedComment,
    first: bool,
    refused: &[(String, String)],
    ctx: &Ctx<'_>,
) -> ImportMessage {
    let inbound = !c.author.is_agent;
    let sender = if inbound {
        ImportSender {
            handle: author_handle(&c.author, c.comment.author_id.as_deref()),
            name: c.author.name.clone().filter(|n| !n.is_empty()),
            author_id: None,
        }
    } else {
        let teammate_email = c.author.target_id.as_ref().and_then(|t| ctx.teammates.get(t));
        ImportSender {
            handle: teammate_email
                .cloned()
                .unwrap_or_else(|| author_handle(&c.author, c.comment.author_id.as_deref())),
            name: None,
            author_id: c.author.target_id.clone(),
        }
    };
    let to = if inbound { vec![ctx.address.to_string()] } else { vec![requester_handle(ticket)] };
    let mut body = c.body_html.clone();
    let names = refused_names(&c.attachments, refused);
    if !names.is_empty() {
        body.push_str(&format!(
            "\n<p><em>Not imported (over Front's attachment size limit): {}</em></p>",
            html_escape(&names.join(", "))
        ));
    }
    ImportMessage {
        sender,
        to,
        cc: Vec::new(),
        subject: Some(ticket.subject.clone()),
        body,
        body_format: "html".into(),
        external_id: c.external_id.clone(),
        created_at: unix(c.created_at, ticket.ticket.created_at),
        kind: "email".into(),
        assignee_id: if first { ticket.assignee.clone() } else { None },
        tags: if first { ticket.tags.clone() } else { Vec::new() },
        metadata: metadata(ticket, inbound),
    }
}

fn metadata(ticket: &MappedTicket, inbound: bool) -> ImportMetadata {
    ImportMetadata {
        thread_ref: Some(thread_ref(ticket)),
        is_inbound: inbound,
        // Every message states the same: Front re-derives open/archived from each import.
        is_archived: status(ticket) != "open",
        should_skip_rules: true,
    }
}

/// The placeholder that opens a conversation for a ticket with no public message (Front
/// creates conversations only by importing a message): inbound from the requester, at the
/// ticket's creation time, carrying assignee and tags.
pub fn stub_message(ticket: &MappedTicket, ctx: &Ctx<'_>) -> ImportMessage {
    let ext = stub_external_id(ticket);
    ImportMessage {
        sender: ImportSender {
            handle: requester_handle(ticket),
            name: ticket.requester.name.clone().filter(|n| !n.is_empty()),
            author_id: None,
        },
        to: vec![ctx.address.to_string()],
        cc: Vec::new(),
        subject: Some(ticket.subject.clone()),
        body: format!(
            "<p><em>This ticket had no public messages; its private notes follow.</em> {}</p>",
            html_escape(&marker(&ext))
        ),
        body_format: "html".into(),
        external_id: ext,
        created_at: unix(ticket.ticket.created_at, None),
        kind: "email".into(),
        assignee_id: ticket.assignee.clone(),
        tags: ticket.tags.clone(),
        metadata: metadata(ticket, true),
    }
}

/// Front's status for a ticket: the mapped value, else the bundle's spam/deleted flags, else
/// archived (Front's import default).
pub fn status(ticket: &MappedTicket) -> &str {
    match ticket.status.as_deref() {
        Some(s) if STATUSES.contains(&s) => s,
        _ if ticket.ticket.is_spam => "spam",
        _ if ticket.ticket.is_deleted => "deleted",
        _ => "archived",
    }
}

/// Decodes common HTML to plain text for a markdown comment: block ends become line breaks,
/// tags go, the usual entities are decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let tag = after[1..gt].trim().to_ascii_lowercase();
        let name: String =
            tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if matches!(
            name.as_str(),
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "blockquote" | "pre"
        ) && !out.ends_with('\n')
            && !out.is_empty()
        {
            out.push('\n');
        }
        rest = &after[gt + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.trim().to_string()
}

fn who(author: &Author) -> String {
    match (&author.name, &author.email) {
        (Some(n), Some(e)) if !n.is_empty() => format!("{n} <{e}>"),
        (Some(n), None) if !n.is_empty() => n.clone(),
        (_, Some(e)) => e.clone(),
        _ => "unknown author".into(),
    }
}

/// The comment body of a private note: original author and time first (Front dates comments
/// at the API call), the text, refused attachments, the marker last.
pub fn note(c: &MappedComment, refused: &[(String, String)]) -> CreateComment {
    let when = c
        .created_at
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "an unknown time".into());
    let mut body =
        format!("_Private note by {} at {when}_\n\n{}", who(&c.author), html_to_text(&c.body_html));
    let names = refused_names(&c.attachments, refused);
    if !names.is_empty() {
        body.push_str(&format!(
            "\n\n_Not imported (over Front's attachment size limit): {}_",
            names.join(", ")
        ));
    }
    body.push_str(&format!("\n\n{}", marker(&c.external_id)));
    CreateComment {
        // Only a teammate can author a comment; anyone else's note goes out as the token owner.
        author_id: if c.author.is_agent { c.author.target_id.clone() } else { None },
        body,
    }
}

/// The private note listing custom fields Front has no definition for, if there are any.
pub fn fields_note(ticket: &MappedTicket) -> Option<CreateComment> {
    if ticket.note_fields.is_empty() {
        return None;
    }
    let mut body = String::from("_Custom fields of the original ticket_\n");
    for (title, value) in &ticket.note_fields {
        body.push_str(&format!("\n- **{title}**: {value}"));
    }
    body.push_str(&format!("\n\n{}", marker(&fields_note_external_id(ticket))));
    Some(CreateComment { author_id: None, body })
}

/// A value as Front's field type wants it; `raw` may be JSON text (`"\"a\""`, `3`) or plain.
pub fn field_value(kind: &str, raw: &str) -> Value {
    let parsed = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.into()));
    let text = match &parsed {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match kind {
        "number" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::String(text)),
        "boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" | "" => Value::Bool(false),
            _ => Value::String(text),
        },
        _ => Value::String(text),
    }
}

/// Custom field values keyed by existing Front field names; pairs without a definition come
/// back as (key, text) for a description or note.
pub fn custom_fields(
    values: &[(String, String)],
    defs: &[CustomField],
) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut known = Map::new();
    let mut unknown = Vec::new();
    for (key, raw) in values {
        match defs.iter().find(|d| d.id == *key || d.name.eq_ignore_ascii_case(key)) {
            Some(d) => {
                known.insert(d.name.clone(), field_value(&d.kind, raw));
            }
            None => {
                let text = match field_value("string", raw) {
                    Value::String(s) => s,
                    v => v.to_string(),
                };
                unknown.push((key.clone(), text));
            }
        }
    }
    (known, unknown)
}

fn pairs(values: &[CustomFieldValue]) -> Vec<(String, String)> {
    values.iter().map(|v| (v.key.clone(), v.value.clone())).collect()
}

fn with_unknown(description: Option<String>, unknown: &[(String, String)]) -> Option<String> {
    let mut text = description.unwrap_or_default();
    for (k, v) in unknown.iter().filter(|(_, v)| !v.is_empty()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("{k}: {v}"));
    }
    (!text.is_empty()).then_some(text)
}

/// A user's handles as Front takes them: the primary one (the contact is found by it), the
/// secondary ones to add when no other contact holds them, and why any other could not be
/// given to Front at all (worded without the value, which is personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactHandles {
    /// The email, else the custom handle `deskferry:user:ID`.
    pub primary: Handle,
    /// Further emails and the phone, in the bundle's order, without repeats.
    pub extra: Vec<Handle>,
    /// What Front cannot take, one sentence each.
    pub refused: Vec<String>,
}

/// The handles of an end user.
pub fn contact_handles(u: &MappedUser) -> ContactHandles {
    let user = &u.user;
    let primary = match user.email.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(e) => Handle { handle: e.to_string(), source: "email".into() },
        None => Handle { handle: custom_handle(&user.id), source: "custom".into() },
    };
    let mut extra: Vec<Handle> = Vec::new();
    for e in user.other_emails.iter().filter(|e| !e.trim().is_empty()) {
        let known = std::iter::once(&primary)
            .chain(&extra)
            .any(|h| h.source == "email" && h.handle.eq_ignore_ascii_case(e));
        if !known {
            extra.push(Handle { handle: e.clone(), source: "email".into() });
        }
    }
    let mut refused = Vec::new();
    match user.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        // Front's spec: a phone handle carries its country code after a plus sign.
        Some(p) if p.starts_with('+') => {
            extra.push(Handle { handle: p.to_string(), source: "phone".into() })
        }
        Some(_) => refused.push(
            "phone not added: Front takes phone handles only with a country code (+…), and this one has none".into(),
        ),
        None => {}
    }
    ContactHandles { primary, extra, refused }
}

/// The alias a contact holding `h` is looked up by: `alt:{source}:{handle}`.
pub fn handle_alias(h: &Handle) -> String {
    format!("alt:{}:{}", h.source, h.handle)
}

/// Why a secondary handle was not added: another contact already has it.
pub fn handle_taken(h: &Handle, owner: &str) -> String {
    let what = if h.source == "phone" { "phone" } else { "secondary email" };
    format!(
        "{what} handle not added: Front gives a handle to one contact only, and contact {owner} already has it"
    )
}

/// The contact for an end user with `handles` (the primary first).
pub fn contact(u: &MappedUser, defs: &[CustomField], handles: Vec<Handle>) -> ContactBody {
    let user = &u.user;
    let (known, unknown) = custom_fields(&pairs(&user.custom_fields), defs);
    ContactBody {
        name: user.name.clone().filter(|n| !n.is_empty()),
        description: with_unknown(None, &unknown),
        handles,
        list_names: Vec::new(),
        custom_fields: known,
    }
}

/// External id of an organization's account.
pub fn account_external_id(org: &Organization) -> String {
    format!("deskferry-org-{}", org.id)
}

/// The alias an organization's account is looked up by: its external id, as `alt:ext_id:`,
/// the spelling Front documents for accounts (dev.frontapp.com/docs/resource-aliases-1; the
/// other is `alt:domain:`).
pub fn account_alias(org: &Organization) -> String {
    format!("alt:ext_id:{}", account_external_id(org))
}

/// The account for an organization.
pub fn account(org: &Organization, defs: &[CustomField]) -> AccountBody {
    let (known, unknown) = custom_fields(&pairs(&org.custom_fields), defs);
    AccountBody {
        name: if org.name.trim().is_empty() {
            format!("Organization {}", org.id)
        } else {
            org.name.clone()
        },
        description: with_unknown(org.notes.clone().filter(|n| !n.is_empty()), &unknown),
        domains: org.domains.clone(),
        external_id: Some(account_external_id(org)),
        custom_fields: known,
    }
}

/// The conversation update after import: spam/deleted (imports can only archive or open) and
/// custom fields with a Front definition. `with_status` also sends archived/open (on updates).
pub fn conversation_update(
    ticket: &MappedTicket,
    defs: &[CustomField],
    with_status: bool,
) -> UpdateConversation {
    let st = status(ticket);
    // Front's fields hold one value: a multi-value field's values are joined.
    let joined: Vec<(String, String)> =
        ticket.fields.iter().map(|(k, v)| (k.clone(), v.join(", "))).collect();
    let (known, _) = custom_fields(&joined, defs);
    UpdateConversation {
        status: (with_status || matches!(st, "deleted" | "spam")).then(|| st.to_string()),
        custom_fields: (!known.is_empty()).then_some(known),
    }
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
