//! Mapped records → Kayako request bodies, and what a post's first line keeps (pure,
//! unit-tested in `tests.rs`).
//!
//! Kayako keeps no time a client gives and writes every reply and note as the signed-in staff
//! member (docs/platforms/kayako.md): each post therefore begins with a line of ours naming its
//! original author (and their Kayako user id, `#…`), its original time, and a reference (`ref
//! …`, the comment's external id) that finds it after a lost answer and pairs it in
//! reconciliation; the case's opening post also carries the ticket's own creation time, its
//! CCs (Kayako keeps CCs only on mail it sends) and the fields Kayako has no field for.

use chrono::{DateTime, SecondsFormat, Utc};
use deskferry_format::Timestamp;
use deskferry_format::model::{FieldKind, Priority, TicketStatus};
use serde_json::{Value, json};

/// Kayako's statuses, as the mapping names them.
pub const STATUSES: [&str; 5] = ["new", "open", "pending", "completed", "closed"];

/// An id as Kayako takes it: a number where it is one.
pub fn num(id: &str) -> Value {
    id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(id))
}

/// The status id for the mapping's word, else for the canonical status.
pub fn status_id(word: Option<&str>, canonical: TicketStatus) -> u64 {
    if let Some(w) = word {
        match w.to_ascii_lowercase().as_str() {
            "new" => return 1,
            "open" => return 2,
            "pending" | "on_hold" | "on-hold" | "hold" => return 3,
            "completed" | "solved" | "resolved" => return 4,
            "closed" => return 5,
            _ => {}
        }
    }
    match canonical {
        TicketStatus::New => 1,
        TicketStatus::Open => 2,
        TicketStatus::Pending | TicketStatus::OnHold => 3,
        TicketStatus::Solved => 4,
        TicketStatus::Closed => 5,
    }
}

/// The priority id of a canonical priority.
pub fn priority_id(p: Priority) -> u64 {
    match p {
        Priority::Low => 1,
        Priority::Normal => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

/// A field key as Kayako takes one: lower case letters, digits and `_`.
pub fn field_key(key: &str) -> String {
    let k: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if k.is_empty() { "field".into() } else { k }
}

/// Kayako's field type for a field kind (a date and time is kept as text: Kayako's `DATE`
/// holds a day).
pub fn field_type(kind: Option<FieldKind>, has_options: bool) -> &'static str {
    match kind {
        Some(FieldKind::Textarea) => "TEXTAREA",
        Some(FieldKind::Integer) => "NUMERIC",
        Some(FieldKind::Decimal) => "DECIMAL",
        Some(FieldKind::Checkbox) => "YESNO",
        Some(FieldKind::Date) => "DATE",
        Some(FieldKind::Dropdown) if has_options => "SELECT",
        Some(FieldKind::Multiselect) if has_options => "CHECKBOX",
        Some(FieldKind::Regexp) => "REGEX",
        _ => "TEXT",
    }
}

/// A time as the first line writes it.
pub fn time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What a post's first line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The original author's name.
    pub name: Option<String>,
    /// Their address.
    pub email: Option<String>,
    /// Their Kayako user id (the mapped author: a matched staff member, the default agent, a
    /// loaded customer).
    pub author: Option<String>,
    /// The original time.
    pub at: Option<Timestamp>,
    /// The ticket's creation time (the opening post only).
    pub ticket_created: Option<Timestamp>,
    /// A public reply Kayako took as a note only.
    pub was_public: bool,
    /// Further facts (CCs, fields without a Kayako field).
    pub extra: Vec<(String, String)>,
    /// The comment's external id.
    pub reference: String,
}

/// The line a post begins with.
pub fn header_line(h: &Header) -> String {
    let mut s = String::from("<p class=\"deskferry\">");
    let who = match (&h.name, &h.email) {
        (Some(n), Some(e)) => format!("{} &lt;{}&gt;", esc(n), esc(e)),
        (Some(n), None) => esc(n),
        (None, Some(e)) => format!("&lt;{}&gt;", esc(e)),
        (None, None) => "Unknown".into(),
    };
    s.push_str(&format!("From {who}"));
    if let Some(a) = &h.author {
        s.push_str(&format!(" (#{a})"));
    }
    if let Some(t) = &h.at {
        s.push_str(&format!(" · written {}", time(t)));
    }
    if let Some(t) = &h.ticket_created {
        s.push_str(&format!(" · ticket created {}", time(t)));
    }
    if h.was_public {
        s.push_str(" · a public reply in the source");
    }
    for (k, v) in &h.extra {
        s.push_str(&format!(" · {}: {}", esc(k), esc(v)));
    }
    s.push_str(&format!(" · ref {}</p>", esc(&h.reference)));
    s
}

fn between<'a>(s: &'a str, start: &str, ends: &[&str]) -> Option<&'a str> {
    let at = s.find(start)? + start.len();
    let rest = &s[at..];
    let end = ends.iter().filter_map(|e| rest.find(e)).min().unwrap_or(rest.len());
    Some(&rest[..end])
}

fn parse_time(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// What a post's first line holds (`None`: the post has no line of ours).
pub fn read_header(body: &str) -> Option<Header> {
    let start = body.find("<p class=\"deskferry\">From ")?;
    let line = &body[start..];
    let line = &line[..line.find("</p>").unwrap_or(line.len())];
    let reference = between(line, " · ref ", &[" ", "<"])?.to_string();
    let unesc = |s: &str| s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    Some(Header {
        name: None,
        email: between(line, "&lt;", &["&gt;"]).map(unesc),
        author: between(line, "(#", &[")"]).map(str::to_string),
        at: between(line, " · written ", &[" · ", "<"]).and_then(parse_time),
        ticket_created: between(line, " · ticket created ", &[" · ", "<"]).and_then(parse_time),
        was_public: line.contains(" · a public reply in the source"),
        extra: Vec::new(),
        reference,
    })
}

/// A body that is not empty (Kayako requires `contents`).
pub fn nonempty(body: &str) -> String {
    if body.trim().is_empty() { "<p>(no text)</p>".into() } else { body.to_string() }
}

/// The elements of `html` Kayako's Help Center removes (script, iframe, object, embed, form).
pub fn blocked(html: &str) -> Vec<&'static str> {
    let lower = html.to_ascii_lowercase();
    ["script", "iframe", "object", "embed", "form"]
        .into_iter()
        .filter(|t| lower.contains(&format!("<{t}")))
        .collect()
}

/// Locale fields: `[{locale, translation}]`.
pub fn locale_field(locale: &str, text: &str) -> Value {
    json!([{"locale": locale, "translation": text}])
}

/// An item's locale (the bundle's, as it is), `en-us` when it has none.
pub fn locale(l: Option<&str>) -> String {
    l.filter(|l| !l.is_empty()).unwrap_or("en-us").to_string()
}

/// A canonical field value (JSON text) as Kayako takes it: text, a list's values joined by
/// commas (`None`: no value).
pub fn field_text(json: &str) -> Option<String> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Null) => None,
        Ok(Value::String(s)) => Some(s),
        Ok(Value::Array(a)) if a.is_empty() => None,
        Ok(Value::Array(a)) => Some(
            a.iter()
                .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(","),
        ),
        Ok(v) => Some(v.to_string()),
        Err(_) => Some(json.to_string()),
    }
}

/// A file name as a multipart header carries it (a control character becomes a space).
pub fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// What renaming cost the files of a post (`""` when nothing).
pub fn renamed(files: &[crate::target::AttachmentData]) -> String {
    let names: Vec<String> = files
        .iter()
        .filter(|f| file_name(&f.file_name) != f.file_name)
        .map(|f| file_name(&f.file_name))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!("; {} uploaded with control characters as spaces", names.join(", "))
    }
}
