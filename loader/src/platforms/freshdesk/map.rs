//! Mapped records → Freshdesk request bodies (pure, unit-tested in `tests.rs`).
//!
//! Freshdesk sets `created_at` itself on tickets and notes: every message carries a footer with
//! its original author and time and a reference (`ref …`, the comment's external id) that finds
//! it again after a crash and pairs it in reconciliation; the description's footer also holds
//! the ticket's original creation time. A ticket carries a marker tag (`dfx-…`) that finds it.

use chrono::{DateTime, Utc};
use deskferry_format::model::FieldKind;
use serde_json::{Value, json};

use crate::target::{Author, MappedComment};

/// Freshdesk's status codes by the words the inventory offers.
pub const STATUSES: [(&str, u8); 6] = [
    ("open", 2),
    ("pending", 3),
    ("resolved", 4),
    ("closed", 5),
    ("waiting on customer", 6),
    ("waiting on third party", 7),
];

/// The status code of a target status word (open when unknown).
pub fn status_code(word: Option<&str>) -> u8 {
    let w = word.unwrap_or("open").to_ascii_lowercase();
    STATUSES.iter().find(|(s, _)| *s == w).map_or(2, |(_, c)| *c)
}

/// The priority code of a priority word (`low`, `normal`/`medium`, `high`, `urgent`, or a code).
pub fn priority_code(word: Option<&str>) -> u8 {
    match word.unwrap_or("low").to_ascii_lowercase().as_str() {
        "normal" | "medium" | "2" => 2,
        "high" | "3" => 3,
        "urgent" | "4" => 4,
        _ => 1,
    }
}

/// A ticket's `source` code for its channel (1 email, 2 portal, 3 phone, 7 chat).
pub fn source_code(channel: Option<&str>) -> u8 {
    match channel {
        Some("email") => 1,
        Some("voice" | "phone") => 3,
        Some("chat") => 7,
        _ => 2,
    }
}

/// Freshdesk's type for a custom field of this kind (a pattern field is plain text there).
pub fn field_type(kind: Option<FieldKind>) -> &'static str {
    match kind.unwrap_or(FieldKind::Text) {
        FieldKind::Textarea => "custom_paragraph",
        FieldKind::Integer => "custom_number",
        FieldKind::Decimal => "custom_decimal",
        FieldKind::Checkbox => "custom_checkbox",
        FieldKind::Date => "custom_date",
        FieldKind::Datetime => "custom_date_time",
        FieldKind::Dropdown => "custom_dropdown",
        FieldKind::Multiselect => "custom_multi_select_dropdown",
        _ => "custom_text",
    }
}

/// A field value as Freshdesk takes it for a field of `field_type` (numbers as numbers, a
/// checkbox as a boolean, a multi-select as a list).
pub fn field_value(field_type: &str, values: &[String]) -> Value {
    let one = values.first().cloned().unwrap_or_default();
    match field_type {
        "custom_number" => one.parse::<i64>().map(Value::from).unwrap_or(Value::String(one)),
        "custom_decimal" => one.parse::<f64>().map(|f| json!(f)).unwrap_or(Value::String(one)),
        "custom_checkbox" => Value::Bool(matches!(one.as_str(), "true" | "1" | "yes")),
        "custom_multi_select_dropdown" => json!(values),
        _ => Value::String(values.join(", ")),
    }
}

/// The tag that finds a ticket by its external id.
pub fn marker_tag(external_id: &str) -> String {
    format!("dfx-{external_id}")
}

fn ts(t: Option<&DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|| "unknown".into())
}

/// Text as HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn who(a: &Author) -> String {
    match (&a.name, &a.email) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (Some(n), None) => n.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => "unknown".into(),
    }
}

/// The footer of a message: its original author and time and its reference; the description's
/// also the ticket's original creation time.
pub fn footer(c: &MappedComment, ticket_created: Option<Option<&DateTime<Utc>>>) -> String {
    let created =
        ticket_created.map(|t| format!(" · ticket created {}", ts(t))).unwrap_or_default();
    format!(
        "<p class=\"deskferry\">Migrated by deskferry: originally by {} at {}{created} · ref {}</p>",
        escape(&who(&c.author)),
        ts(c.created_at.as_ref()),
        c.external_id
    )
}

/// The body of a message with its footer.
pub fn body(c: &MappedComment, ticket_created: Option<Option<&DateTime<Utc>>>) -> String {
    format!("{}{}", c.body_html, footer(c, ticket_created))
}

/// The reference a body's footer holds.
pub fn reference(body: &str) -> Option<String> {
    let at = body.rfind(" · ref ")? + " · ref ".len();
    let rest = &body[at..];
    let end = rest.find(['<', ' ', '"']).unwrap_or(rest.len());
    Some(rest[..end].to_string()).filter(|r| !r.is_empty())
}

/// The ticket's original creation time a description's footer holds.
pub fn ticket_created(body: &str) -> Option<DateTime<Utc>> {
    let at = body.rfind(" · ticket created ")? + " · ticket created ".len();
    let rest = &body[at..];
    let end = rest.find([' ', '<']).unwrap_or(rest.len());
    DateTime::parse_from_rfc3339(&rest[..end]).ok().map(|t| t.with_timezone(&Utc))
}

/// The description of a ticket that has no public message to open it.
pub fn placeholder(ticket_external_id: &str, created: Option<&DateTime<Utc>>) -> String {
    format!(
        "<p>(This ticket had no public message; its notes follow.)</p><p class=\"deskferry\">Migrated by deskferry · ticket created {} · ref {ticket_external_id}-opening</p>",
        ts(created)
    )
}

/// Freshdesk's language code for a source locale (`en-US` → `en`, `ja` → `ja-JP`, `pt-br` →
/// `pt-BR`), the first of those forms (the full one, then the language alone) the account
/// supports among `supported`; `None` when it supports none of them.
pub fn language(locale: &str, supported: &[String]) -> Option<String> {
    let l = locale.trim().replace('_', "-");
    let lower = l.to_ascii_lowercase();
    let full = match lower.as_str() {
        "en" | "en-us" => "en".to_string(),
        "ja" | "ja-jp" => "ja-JP".to_string(),
        "pt-br" => "pt-BR".to_string(),
        "pt" | "pt-pt" => "pt-PT".to_string(),
        "zh-cn" | "zh-hans" => "zh-CN".to_string(),
        "zh-tw" | "zh-hant" => "zh-TW".to_string(),
        "es-419" | "es-la" => "es-LA".to_string(),
        _ => match lower.split_once('-') {
            Some((a, b)) => format!("{a}-{}", b.to_ascii_uppercase()),
            None => lower.clone(),
        },
    };
    let bare = lower.split('-').next().unwrap_or_default().to_string();
    [full, bare]
        .into_iter()
        .find(|c| supported.iter().any(|s| s.eq_ignore_ascii_case(c)))
        .map(|c| supported.iter().find(|s| s.eq_ignore_ascii_case(&c)).cloned().unwrap_or(c))
}

/// A folder's `visibility` for a source section: Freshdesk's own number where the source is
/// Freshdesk (1 all users, 2 logged-in users, 3 agents, 4 selected companies, …), a private
/// collection (Help Scout) for agents only, else all users.
pub fn visibility(raw: &str) -> u64 {
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    match &v["visibility"] {
        // 4 and above name companies or segments the target does not have: agents only.
        Value::Number(n) => match n.as_u64() {
            Some(x @ 1..=3) => x,
            Some(_) => 3,
            None => 1,
        },
        Value::String(s) if s.eq_ignore_ascii_case("private") => 3,
        _ => 1,
    }
}

/// The body of a solution item of `entity` (`kb_categories`, `kb_sections`, `kb_articles`):
/// a category's or folder's `name` and `description`, a folder's `visibility`, an article's
/// `title`, `description` (HTML; Freshdesk needs one), `status` (1 draft, 2 published), `tags`
/// and `seo_data` where the source has them. A translation (`translated`) sends the same.
pub fn kb_body(entity: &str, k: &deskferry_format::KbItem, translated: bool) -> Value {
    let raw: Value = serde_json::from_str(&k.raw).unwrap_or(Value::Null);
    match entity {
        "kb_articles" => {
            let mut o = json!({
                "title": k.title,
                "description": k.body_html.clone().filter(|b| !b.trim().is_empty()).unwrap_or_else(|| "<p></p>".into()),
                "status": if k.draft { 1 } else { 2 },
            });
            if !k.labels.is_empty() {
                o["tags"] = json!(k.labels);
            }
            let seo = &raw["seo_data"];
            if seo.as_object().is_some_and(|m| m.values().any(|v| !v.is_null())) {
                o["seo_data"] = seo.clone();
            }
            o
        }
        _ => {
            let mut o = json!({ "name": k.title });
            if let Some(d) = k.body_html.as_deref().filter(|d| !d.trim().is_empty()) {
                o["description"] = json!(d);
            }
            if entity == "kb_sections" && !translated {
                o["visibility"] = json!(visibility(&k.raw));
            }
            o
        }
    }
}
