//! Mapped records → Intercom bodies, pure: contacts, companies, data attribute types, parts and
//! how a message's files are split over parts, and the marks that let the loader's own parts be
//! told apart when a conversation is read back.

use deskferry_format::{FieldKind, Organization};
use serde_json::{Map, Value, json};

use crate::target::{AttachmentData, MappedUser};

/// The opening line of a part that carries further files of the message before it.
pub const FILES_MARK: &str = "Files of the message above";
/// The opening line of the loader's own notes (custom fields without a conversation
/// attribute, CCs not held as participants).
pub const NOTE_MARK: &str = "deskferry:";
/// The opening line of a conversation opened on an agent's behalf.
pub const ON_BEHALF_MARK: &str = "Conversation started by";

/// Intercom's data type of a field kind (`POST /data_attributes`).
pub fn data_type(kind: Option<FieldKind>) -> &'static str {
    match kind {
        Some(FieldKind::Integer) => "integer",
        Some(FieldKind::Decimal) => "float",
        Some(FieldKind::Checkbox) => "boolean",
        Some(FieldKind::Date) => "date",
        Some(FieldKind::Datetime) => "datetime",
        _ => "string",
    }
}

/// A data attribute name Intercom takes: letters, digits, `_`; at most 190 characters.
pub fn attribute_name(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .take(190)
        .collect();
    if s.is_empty() { "field".into() } else { s }
}

/// Custom attributes of a record: field key → value as text, since the attributes this tool
/// creates are `string` ones (`people.rs`, a limit in `plan`). The bundle keeps each value as JSON
/// text (`"ORD-1"` with its quotes, `42`, `true`): a text goes as the text, a number or a yes/no
/// as written, a list as its items joined with ", " (an attribute holds one value), an empty
/// value not at all; text that is not JSON as it is.
pub fn custom_attributes(values: &[deskferry_format::CustomFieldValue]) -> Value {
    let mut m = Map::new();
    for v in values {
        let value = match serde_json::from_str::<Value>(&v.value) {
            Ok(Value::Null) => continue,
            Ok(x @ Value::String(_)) => x,
            Ok(x @ (Value::Number(_) | Value::Bool(_))) => Value::String(x.to_string()),
            Ok(Value::Array(items)) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect();
                Value::String(texts.join(", "))
            }
            Ok(other) => Value::String(other.to_string()),
            Err(_) => Value::String(v.value.clone()),
        };
        m.insert(attribute_name(&v.key), value);
    }
    Value::Object(m)
}

/// The body of `POST /contacts` for an end user: a `user` with the source id as
/// `external_id`, so a re-run finds it.
pub fn contact(u: &MappedUser, external_id: &str) -> Value {
    let x = &u.user;
    let mut b = json!({"role": "user", "external_id": external_id});
    if let Some(e) = &x.email {
        b["email"] = e.clone().into();
    }
    if let Some(n) = &x.name {
        b["name"] = n.clone().into();
    }
    if let Some(p) = &x.phone {
        b["phone"] = p.clone().into();
    }
    if let Some(t) = x.created_at {
        b["signed_up_at"] = t.timestamp().into();
    }
    if !x.custom_fields.is_empty() {
        b["custom_attributes"] = custom_attributes(&x.custom_fields);
    }
    b
}

/// The body of `POST /companies` (an upsert by `company_id`, the source id).
pub fn company(o: &Organization, company_id: &str) -> Value {
    let mut b = json!({"company_id": company_id, "name": o.name});
    if let Some(t) = o.created_at {
        b["remote_created_at"] = t.timestamp().into();
    }
    if let Some(d) = o.domains.first() {
        b["website"] = format!("https://{d}").into();
    }
    if !o.custom_fields.is_empty() {
        b["custom_attributes"] = custom_attributes(&o.custom_fields);
    }
    b
}

/// A file as `attachment_files` takes it (base64).
pub fn file(a: &AttachmentData) -> Value {
    use base64::Engine;
    json!({
        "content_type": a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
        "data": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
        "name": a.file_name,
    })
}

/// A message's files in parts of at most `per_part`: the first chunk rides on the message
/// itself (unless `first_on_message` is false: the opening message of a conversation takes
/// none), the rest on parts of their own.
pub fn chunks(
    files: &[AttachmentData],
    per_part: usize,
    first_on_message: bool,
) -> (Vec<&AttachmentData>, Vec<Vec<&AttachmentData>>) {
    let per_part = per_part.clamp(1, 10);
    let all: Vec<&AttachmentData> = files.iter().collect();
    let mut parts: Vec<Vec<&AttachmentData>> = all.chunks(per_part).map(<[_]>::to_vec).collect();
    if first_on_message && !parts.is_empty() {
        let first = parts.remove(0);
        return (first, parts);
    }
    (Vec::new(), parts)
}

/// The body of a part that carries files `from..=to` of `n` of the message before it.
pub fn files_body(from: usize, to: usize, n: usize) -> String {
    format!("{FILES_MARK} ({from}–{to} of {n})")
}

/// The [`files_body`] line a part's body carries, if it is a part with a message's further
/// files (its inverse: tells the parts of one split message apart).
pub fn files_line(body: &str) -> Option<String> {
    let rest = &body[body.find(FILES_MARK)?..];
    let end = rest.find(')').map_or(rest.len(), |e| e + 1);
    Some(rest[..end].to_string())
}

/// Text for the opening of a conversation (Intercom takes no HTML there): tags dropped,
/// common entities decoded, never empty.
pub fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.is_empty() { "(no text)".into() } else { out }
}

/// A body never empty (Intercom requires one on comments and notes).
pub fn nonempty(html: &str) -> String {
    if html.trim().is_empty() { "<p>(no text)</p>".into() } else { html.to_string() }
}

/// What a ticket holds that a conversation cannot take through API 2.14 (its priority is only
/// read, a due date and followers do not exist): its priority (as the source named it), due
/// date and followers (source ids), as the loader's note names them.
pub fn unheld(t: &deskferry_format::model::Ticket) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(p) = t.priority {
        let canonical = serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_string));
        if let Some(name) = t.priority_raw.clone().or(canonical) {
            out.push(("Priority", name));
        }
    }
    if let Some(d) = t.due_at {
        out.push(("Due", d.to_rfc3339()));
    }
    if !t.follower_ids.is_empty() {
        out.push(("Followers (source ids)", t.follower_ids.join(", ")));
    }
    out
}
