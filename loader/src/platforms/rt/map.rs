//! Mapped records → REST 2 JSON for Request Tracker 5 (pure; no I/O).
//!
//! Every message the loader posts starts with one header line that (a) keeps the original time,
//! which REST 2 cannot set on a transaction, (b) names the original author when the message
//! could not be posted as that author, and (c) carries the record's external id, so a re-run
//! after a crash finds what is already there by reading the ticket's bodies back:
//!
//! ```text
//! text/plain:  [deskferry EXTID] written 2024-01-31 12:00:00 UTC by Name <email>\n\n<body>
//! text/html:   <p data-deskferry="EXTID">[deskferry] written 2024-01-31 12:00:00 UTC …</p>\n<body>
//! ```
//!
//! The external id is percent-encoded to `[A-Za-z0-9._:@/-]`, so it needs no further escaping
//! in either form, nor inside TicketSQL quotes (the ticket's own id lives in a custom field).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use deskferry_format::model::{Ticket, TicketStatus, Timestamp};
use serde_json::{Map, Value, json};

use crate::target::{AttachmentData, Author, MappedComment};

/// Name of the ticket custom field that holds each migrated ticket's external id.
pub const EXTERNAL_ID_FIELD: &str = "Deskferry ID";

/// Name of the ticket custom field that holds tags (RT has no tags); created when needed.
pub const TAGS_FIELD: &str = "Tags";

/// Marker on users the loader created (RT's `Comments` attribute), so a later run knows it may
/// reset their password to post as them.
pub const USER_MARKER: &str = "Created by deskferry";

/// The external id in the only alphabet the markers use.
pub fn encode_id(ext: &str) -> String {
    let mut out = String::new();
    for b in ext.bytes() {
        if b.is_ascii_alphanumeric() || b"._:@/-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The external id back from its marker form (inverse of [`encode_id`]).
pub fn decode_id(marker: &str) -> String {
    let b = marker.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A time as RT takes it on input (`YYYY-MM-DD HH:MM:SS`, UTC).
pub fn rt_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The words of the header after the marker: original time and, when the author could not be
/// kept, who wrote it.
fn origin(when: Option<&Timestamp>, author: Option<&Author>) -> String {
    let mut s = String::new();
    match when {
        Some(t) => s.push_str(&format!("written {} UTC", rt_time(t))),
        None => s.push_str("written at an unknown time"),
    }
    if let Some(a) = author {
        let name = a.name.clone().unwrap_or_default();
        match (&a.email, name.is_empty()) {
            (Some(e), false) => s.push_str(&format!(" by {name} <{e}>")),
            (Some(e), true) => s.push_str(&format!(" by <{e}>")),
            (None, false) => s.push_str(&format!(" by {name}")),
            (None, true) => {}
        }
    }
    s
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The body to post and its content type: the header line, then the comment's own body (plain
/// text stays plain text; HTML stays HTML). `by` names the author when not posting as them.
pub fn body(c: &MappedComment, by: Option<&Author>) -> (String, &'static str) {
    let ext = encode_id(&c.external_id);
    let words = origin(c.created_at.as_ref(), by);
    if c.comment.body_html.is_some() {
        let head = format!("<p data-deskferry=\"{ext}\">[deskferry] {}</p>\n", escape_html(&words));
        (format!("{head}{}", c.body_html), "text/html")
    } else {
        let text = c.comment.body_text.as_deref().unwrap_or("");
        (format!("[deskferry {ext}] {words}\n\n{text}"), "text/plain")
    }
}

/// A body as posted, split into the encoded external id of its header and the original body.
pub fn parse_body(content: &str) -> Option<(String, &str)> {
    if let Some(rest) = content.strip_prefix("[deskferry ") {
        let (ext, after) = rest.split_once(']')?;
        let body = after.split_once("\n\n").map_or("", |(_, b)| b);
        return Some((ext.to_string(), body));
    }
    if let Some(rest) = content.strip_prefix("<p data-deskferry=\"") {
        let (ext, after) = rest.split_once('"')?;
        let body = after.split_once("</p>\n").map_or("", |(_, b)| b);
        return Some((ext.to_string(), body));
    }
    None
}

/// A file name REST 2 accepts and RT stores unchanged where possible: printable ASCII as is,
/// anything else as one RFC 2047 encoded word (RT 5.0.3 fails on raw non-Latin-1 names and
/// garbles Latin-1 ones); names REST 2 rejects ("" and "0") become `unnamed` / `0_`.
pub fn file_name(name: &str) -> String {
    let name = match name {
        "" => "unnamed",
        "0" => "0_",
        n => n,
    };
    if name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        name.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", B64.encode(name.as_bytes()))
    }
}

/// Why a file cannot be posted at all, if it cannot.
pub fn unpostable(a: &AttachmentData) -> Option<&'static str> {
    a.bytes.is_empty().then_some("REST 2 rejects empty attachments")
}

/// REST 2's `Attachments` list for the files that can be posted.
pub fn attachments(files: &[AttachmentData]) -> Vec<Value> {
    files
        .iter()
        .filter(|a| unpostable(a).is_none())
        .map(|a| {
            json!({
                "FileName": file_name(&a.file_name),
                "FileType": a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                "FileContent": B64.encode(&a.bytes),
            })
        })
        .collect()
}

/// The JSON of a correspondence or comment (or the message part of a ticket create).
pub fn message(c: &MappedComment, by: Option<&Author>) -> Map<String, Value> {
    let (content, ctype) = body(c, by);
    let mut m = Map::new();
    m.insert("Content".into(), json!(content));
    m.insert("ContentType".into(), json!(ctype));
    let files = attachments(&c.attachments);
    if !files.is_empty() {
        m.insert("Attachments".into(), Value::Array(files));
    }
    m
}

/// The private note holding custom fields the target has no field for.
pub fn fields_note(fields: &[(String, String)]) -> String {
    let mut s = String::from("Custom fields of the original ticket:\n");
    for (k, v) in fields {
        s.push_str(&format!("{k}: {v}\n"));
    }
    s
}

/// RT's status (default lifecycle) for a canonical ticket when the mapping gave none.
pub fn default_status(t: &Ticket) -> &'static str {
    if t.is_deleted {
        return "deleted";
    }
    match t.status {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending | TicketStatus::OnHold => "stalled",
        TicketStatus::Solved | TicketStatus::Closed => "resolved",
    }
}

/// The values RT holds for a mapped custom field value: JSON arrays are several values, a JSON
/// string one, `null` none, anything else its text.
pub fn cf_values(value: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Null) => Vec::new(),
        Ok(Value::String(s)) => vec![s],
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Ok(other) => vec![other.to_string()],
        Err(_) => vec![value.to_string()],
    }
}
