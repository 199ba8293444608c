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

/// Name of the ticket custom field that holds each migrated ticket's original creation time
/// (ISO 8601, UTC), since REST 2 cannot set a ticket's `Created`; the RT extractor reads it back.
pub use deskferry_extractor::platforms::rt::map::ORIGINAL_CREATED_FIELD;

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

/// A time as the "Original Created" field holds it: ISO 8601 in UTC, to the second, so it reads
/// the same in every user's time zone.
pub fn iso_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
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

/// The name to post for a file: printable ASCII as is, anything else as one RFC 2047 encoded
/// word, which RT decodes on correspondence and comments (RT 5.0.3 fails on raw non-Latin-1
/// names, garbles Latin-1 ones, and refuses "0" and "" as Perl-false). "0", and names that
/// would themselves read as encoded words, are encoded too, so RT decodes them back to what
/// they were; "" becomes `unnamed` (see [`name_loss`]).
pub fn file_name(name: &str) -> String {
    let name = if name.is_empty() { "unnamed" } else { name };
    let plain = name.bytes().all(|b| (0x20..0x7f).contains(&b));
    if plain && name != "0" && !name.contains("=?") {
        name.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", B64.encode(name.as_bytes()))
    }
}

/// What RT does not keep of a file name, if anything: it drops CR and LF, keeps only what
/// follows the last `/`, and cuts names at 255 bytes; REST 2 refuses an empty name.
pub fn name_loss(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some(
            "a file without a name is posted as \"unnamed\" (REST 2 refuses empty names)".into(),
        );
    }
    let flat: String = name.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let base = flat.rsplit('/').next().unwrap_or("");
    (base != name || name.len() > 255).then(|| {
        format!(
            "file name {name:?} is stored differently (RT drops line breaks, keeps what follows the last '/', cuts at 255 bytes)"
        )
    })
}

/// The MIME type to post: text parts get the charset that keeps their bytes. RT converts text
/// parts to UTF-8 and serves the original bytes back only through the charset it recorded; left
/// to guess, it takes arbitrary bytes for UTF-16 and loses some. UTF-8 text is declared UTF-8;
/// anything else ISO-8859-1, which maps every byte to a character and back.
pub fn file_type(a: &AttachmentData) -> String {
    let ct = a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
    let bare = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !bare.starts_with("text/") {
        return ct;
    }
    let charset = if std::str::from_utf8(&a.bytes).is_ok() { "utf-8" } else { "iso-8859-1" };
    format!("{bare}; charset={charset}")
}

/// REST 2's `Attachments` list. An empty file's content is a lone line break: base64 for zero
/// bytes that REST 2 accepts (it refuses an empty `FileContent` as Perl-false).
pub fn attachments(files: &[AttachmentData]) -> Vec<Value> {
    files
        .iter()
        .map(|a| {
            let content = if a.bytes.is_empty() { "\n".to_string() } else { B64.encode(&a.bytes) };
            json!({
                "FileName": file_name(&a.file_name),
                "FileType": file_type(a),
                "FileContent": content,
            })
        })
        .collect()
}

/// The JSON of a correspondence or comment.
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

/// What RT cannot keep of one message as posted by [`message`], in words for the report.
pub fn message_losses(c: &MappedComment) -> Vec<String> {
    let mut out = Vec::new();
    let text = c.comment.body_text.as_deref().is_some_and(|t| !t.trim().is_empty());
    if c.comment.body_html.is_some() && text {
        out.push(
            "RT keeps one body per message: the HTML body was posted, its text/plain alternative was not"
                .to_string(),
        );
    }
    if c.comment.body_html.as_deref().is_some_and(|h| h.to_ascii_lowercase().contains("cid:")) {
        out.push(
            "REST 2 cannot give a file a Content-ID: images the HTML shows through cid: links are attached to the message but do not show in place"
                .to_string(),
        );
    }
    out.extend(c.attachments.iter().filter_map(|a| name_loss(&a.file_name)));
    out
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
