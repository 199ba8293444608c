//! Mapped records → Zendesk request bodies (pure, unit-tested in `tests.rs`).
//!
//! Shapes: `UserInput`/`UserRequest`, `OrganizationObject`, `GroupObject`, `TicketFieldObject`
//! with `custom_field_options`, `TicketImportInput` (comments with `author_id`, `html_body`,
//! `public`, `created_at`, `uploads`), `TicketUpdateInput` of Zendesk's Support OpenAPI file;
//! `CategoryObject`, `SectionObject`, `ArticleObject`, `TranslationObject` of its Help Center
//! file.

use chrono::SecondsFormat;
use deskferry_format::{CustomField, FieldKind, KbItem, Organization, Timestamp, User, UserKind};
use serde_json::{Map, Value, json};

use crate::target::{MappedComment, MappedTicket, MappedUser, TargetField};

/// Zendesk's ticket statuses, in its own words.
pub const STATUSES: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];

/// Zendesk's ticket types (the built-in "Type" field).
pub const TICKET_TYPES: [&str; 4] = ["question", "incident", "problem", "task"];

/// The id the inventory gives the built-in "Type" field (its values go to the ticket's `type`).
pub const TYPE_FIELD: &str = "type";

/// ISO 8601 in UTC, seconds, as Zendesk writes times. Zendesk refuses times before 1970 (the
/// import API rounds them up); the loader clamps them itself so the time it wrote is known.
pub fn iso(t: &Timestamp) -> String {
    let t = if t.timestamp() < 0 { chrono::DateTime::UNIX_EPOCH } else { *t };
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A user's external id: its source id and creation second, stable across runs and unlikely to
/// meet another source account's (two accounts consolidated into one Zendesk).
pub fn user_external_id(u: &User) -> String {
    format!("deskferry-u{}-{}", u.id, u.created_at.map(|t| t.timestamp()).unwrap_or(0))
}

/// An organization's external id (as [`user_external_id`]).
pub fn org_external_id(o: &Organization) -> String {
    format!("deskferry-o{}-{}", o.id, o.created_at.map(|t| t.timestamp()).unwrap_or(0))
}

/// Zendesk's role for a user: agents are created as agents (they need a seat).
pub fn role(u: &User) -> &'static str {
    match (u.kind, u.role_raw.as_deref()) {
        (UserKind::Agent, Some("admin")) => "admin",
        (UserKind::Agent, _) => "agent",
        _ => "end-user",
    }
}

/// The body of `users/create_or_update(_many)` for one user. Created verified and without the
/// verification mail (`skip_verify_email`); a user with a taken address (`shared`) is sent
/// with the address only, so the user who holds it keeps their name.
pub fn user(m: &MappedUser, shared: bool) -> Value {
    let u = &m.user;
    let mut o = Map::new();
    if let Some(e) = u.email.as_deref().filter(|e| !e.trim().is_empty()) {
        o.insert("email".into(), json!(e.trim()));
    }
    if shared {
        return Value::Object(o);
    }
    o.insert("external_id".into(), json!(user_external_id(u)));
    let name = u
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| u.email.clone())
        .unwrap_or_else(|| format!("User {}", u.id));
    o.insert("name".into(), json!(name.replace(['\r', '\n'], " ")));
    o.insert("role".into(), json!(role(u)));
    o.insert("verified".into(), json!(true));
    o.insert("skip_verify_email".into(), json!(true));
    if let Some(p) = u.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        o.insert("phone".into(), json!(p));
    }
    if let Some(l) = &u.locale {
        o.insert("locale".into(), json!(l));
    }
    if let Some(z) = &u.time_zone {
        o.insert("time_zone".into(), json!(z));
    }
    if !u.tags.is_empty() {
        o.insert("tags".into(), json!(u.tags));
    }
    if let Some(org) = m.organization.as_deref().and_then(|x| x.parse::<u64>().ok()) {
        o.insert("organization_id".into(), json!(org));
    }
    // An inactive, suspended or deleted person stays unable to sign in.
    if u.suspended || u.is_deleted || !u.active {
        o.insert("suspended".into(), json!(true));
    }
    if !u.custom_fields.is_empty() {
        let f: Map<String, Value> = u
            .custom_fields
            .iter()
            .map(|c| {
                (person_field_key(&c.key), serde_json::from_str(&c.value).unwrap_or(json!(c.value)))
            })
            .collect();
        o.insert("user_fields".into(), Value::Object(f));
    }
    Value::Object(o)
}

/// The body of an organization write (`id` set to update that one).
pub fn organization(org: &Organization, id: Option<&str>) -> Value {
    let mut o = Map::new();
    if let Some(n) = id.and_then(|i| i.parse::<u64>().ok()) {
        o.insert("id".into(), json!(n));
    }
    o.insert("external_id".into(), json!(org_external_id(org)));
    o.insert("name".into(), json!(org.name.trim()));
    if !org.domains.is_empty() {
        o.insert("domain_names".into(), json!(org.domains));
    }
    if let Some(n) = &org.notes {
        o.insert("notes".into(), json!(n));
    }
    if !org.tags.is_empty() {
        o.insert("tags".into(), json!(org.tags));
    }
    if !org.custom_fields.is_empty() {
        let f: Map<String, Value> = org
            .custom_fields
            .iter()
            .map(|c| {
                (person_field_key(&c.key), serde_json::from_str(&c.value).unwrap_or(json!(c.value)))
            })
            .collect();
        o.insert("organization_fields".into(), Value::Object(f));
    }
    Value::Object(o)
}

/// Zendesk's field `type` for a canonical kind (`None`: Zendesk has no such field type).
pub fn field_type(kind: FieldKind) -> Option<&'static str> {
    Some(match kind {
        FieldKind::Text => "text",
        FieldKind::Textarea => "textarea",
        FieldKind::Integer => "integer",
        FieldKind::Decimal => "decimal",
        FieldKind::Checkbox => "checkbox",
        FieldKind::Date => "date",
        FieldKind::Dropdown => "tagger",
        FieldKind::Multiselect => "multiselect",
        FieldKind::Regexp => "regexp",
        // A date and time has no Zendesk type: a text field keeps it as written.
        FieldKind::Datetime => "text",
        _ => return None,
    })
}

/// A field definition's body; `None` when Zendesk has no type for its kind (lookup fields
/// name records of another kind of Zendesk object).
pub fn field(f: &CustomField) -> Option<Value> {
    let kind = f.kind.unwrap_or(FieldKind::Text);
    let ty = field_type(kind)?;
    let mut o = Map::new();
    o.insert("type".into(), json!(ty));
    o.insert("title".into(), json!(f.title));
    o.insert("active".into(), json!(f.active));
    o.insert("required".into(), json!(false));
    if matches!(kind, FieldKind::Dropdown | FieldKind::Multiselect) {
        let options: Vec<Value> = f
            .options
            .iter()
            .map(|x| {
                let label = if x.label.trim().is_empty() { &x.value } else { &x.label };
                json!({ "name": label, "value": tag_value(&x.value) })
            })
            .collect();
        o.insert("custom_field_options".into(), json!(options));
    }
    Some(Value::Object(o))
}

/// A user or organization field's key as Zendesk takes it (lower-case letters, digits and
/// underscores, starting with a letter); values are sent under the same key.
pub fn person_field_key(k: &str) -> String {
    let mut s: String = k
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert_str(0, "f_");
    }
    s
}

/// A user or organization field definition's body (`dropdown` where tickets say `tagger`).
pub fn person_field(f: &CustomField) -> Option<Value> {
    let mut b = field(f)?;
    if b["type"] == "tagger" {
        b["type"] = json!("dropdown");
    }
    b["key"] = json!(person_field_key(&f.key));
    Some(b)
}

/// An option's value as Zendesk stores it: a tag (no spaces).
pub fn tag_value(v: &str) -> String {
    v.trim().replace(char::is_whitespace, "_")
}

/// One custom field value in Zendesk's JSON for a field of `field_type`.
pub fn field_value(field_type: &str, values: &[String]) -> Value {
    match field_type {
        "checkbox" => json!(values.first().is_some_and(|v| v == "true" || v == "1")),
        "multiselect" => json!(values.iter().map(|v| tag_value(v)).collect::<Vec<_>>()),
        "tagger" | "dropdown" => json!(values.first().map(|v| tag_value(v))),
        "integer" => values
            .first()
            .and_then(|v| v.parse::<i64>().ok())
            .map_or_else(|| json!(values.first()), |n| json!(n)),
        _ => json!(values.join(", ")),
    }
}

/// The custom-field note: the values that have no Zendesk field, as one private comment.
pub fn fields_note(fields: &[(String, String)]) -> String {
    let mut s = String::from("<p><strong>Fields from the source</strong></p><ul>");
    for (k, v) in fields {
        s.push_str(&format!("<li>{}: {}</li>", html_escape(k), html_escape(v)));
    }
    s.push_str("</ul>");
    s
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One comment of an import: its author (a Zendesk user id), body, visibility, time, files.
pub fn import_comment(c: &MappedComment, author: u64, uploads: &[String]) -> Value {
    let mut o = Map::new();
    o.insert("author_id".into(), json!(author));
    let body =
        if c.body_html.trim().is_empty() { "<p></p>".to_string() } else { c.body_html.clone() };
    o.insert("html_body".into(), json!(body));
    o.insert("public".into(), json!(c.public));
    if let Some(t) = &c.created_at {
        o.insert("created_at".into(), json!(iso(t)));
    }
    if !uploads.is_empty() {
        o.insert("uploads".into(), json!(uploads));
    }
    Value::Object(o)
}

/// People and values a ticket names, resolved to Zendesk ids by the caller.
#[derive(Debug, Clone, Default)]
pub struct TicketRefs {
    /// Requester (a user of the account).
    pub requester: u64,
    /// Submitter, when known at the target.
    pub submitter: Option<u64>,
    /// Assignee.
    pub assignee: Option<u64>,
    /// Organization.
    pub organization: Option<u64>,
    /// CCs.
    pub ccs: Vec<u64>,
    /// Followers.
    pub followers: Vec<u64>,
    /// Custom fields (`{id, value}`).
    pub custom_fields: Vec<Value>,
    /// The ticket's type (`question`, …).
    pub ticket_type: Option<String>,
}

/// The body of one ticket for the Ticket Import API.
pub fn import_ticket(t: &MappedTicket, refs: &TicketRefs, comments: Vec<Value>) -> Value {
    let mut o = Map::new();
    o.insert("external_id".into(), json!(t.external_id));
    o.insert("subject".into(), json!(t.subject));
    o.insert("requester_id".into(), json!(refs.requester));
    if let Some(s) = refs.submitter {
        o.insert("submitter_id".into(), json!(s));
    }
    if let Some(a) = refs.assignee {
        o.insert("assignee_id".into(), json!(a));
    }
    if let Some(g) = t.group.as_deref().and_then(|g| g.parse::<u64>().ok()) {
        o.insert("group_id".into(), json!(g));
    }
    if let Some(org) = refs.organization {
        o.insert("organization_id".into(), json!(org));
    }
    if let Some(s) = &t.status {
        o.insert("status".into(), json!(s));
    }
    if let Some(p) = &t.priority {
        o.insert("priority".into(), json!(p));
    }
    if let Some(ty) = &refs.ticket_type {
        o.insert("type".into(), json!(ty));
    }
    o.insert("tags".into(), json!(t.tags));
    if !refs.ccs.is_empty() {
        o.insert("collaborator_ids".into(), json!(refs.ccs));
    }
    if !refs.followers.is_empty() {
        let f: Vec<Value> = refs.followers.iter().map(|u| json!({ "user_id": u })).collect();
        o.insert("followers".into(), json!(f));
    }
    if !refs.custom_fields.is_empty() {
        o.insert("custom_fields".into(), json!(refs.custom_fields));
    }
    let x = &t.ticket;
    for (key, at) in [("created_at", &x.created_at), ("updated_at", &x.updated_at)] {
        if let Some(at) = at {
            o.insert(key.into(), json!(iso(at)));
        }
    }
    if let Some(at) = &x.solved_at
        && matches!(t.status.as_deref(), Some("solved" | "closed"))
    {
        o.insert("solved_at".into(), json!(iso(at)));
    }
    if let Some(at) = &x.due_at {
        o.insert("due_at".into(), json!(iso(at)));
    }
    o.insert("comments".into(), Value::Array(comments));
    Value::Object(o)
}

/// The body of a ticket update that brings a migrated ticket up to date (a delta): status,
/// priority, subject, tags, assignee, group, fields; with `comment` when one is added.
pub fn update_ticket(t: &MappedTicket, refs: &TicketRefs, comment: Option<Value>) -> Value {
    let mut o = Map::new();
    o.insert("subject".into(), json!(t.subject));
    if let Some(s) = &t.status {
        o.insert("status".into(), json!(s));
    }
    if let Some(p) = &t.priority {
        o.insert("priority".into(), json!(p));
    }
    o.insert("tags".into(), json!(t.tags));
    if let Some(a) = refs.assignee {
        o.insert("assignee_id".into(), json!(a));
    }
    if let Some(g) = t.group.as_deref().and_then(|g| g.parse::<u64>().ok()) {
        o.insert("group_id".into(), json!(g));
    }
    if !refs.custom_fields.is_empty() {
        o.insert("custom_fields".into(), json!(refs.custom_fields));
    }
    if let Some(c) = comment {
        o.insert("comment".into(), c);
    }
    json!({ "ticket": Value::Object(o) })
}

/// Help Center: the body creating a category, section or article (`kind`), in its locale.
pub fn kb_body(
    kind: &str,
    k: &KbItem,
    author: Option<u64>,
    permission_group: Option<u64>,
) -> Value {
    let locale = k.locale.clone().unwrap_or_else(|| "en-us".into()).to_ascii_lowercase();
    let mut o = Map::new();
    o.insert("locale".into(), json!(locale));
    if let Some(p) = k.position {
        o.insert("position".into(), json!(p));
    }
    match kind {
        "kb_articles" => {
            o.insert("title".into(), json!(k.title));
            o.insert("body".into(), json!(k.body_html.clone().unwrap_or_default()));
            o.insert("draft".into(), json!(k.draft));
            if let Some(a) = author {
                o.insert("author_id".into(), json!(a));
            }
            o.insert("permission_group_id".into(), json!(permission_group));
            o.insert("user_segment_id".into(), Value::Null);
            if !k.labels.is_empty() {
                o.insert("label_names".into(), json!(k.labels));
            }
            json!({ "article": Value::Object(o) })
        }
        _ => {
            o.insert("name".into(), json!(k.title));
            if let Some(d) = &k.body_html {
                o.insert("description".into(), json!(d));
            }
            let key = if kind == "kb_categories" { "category" } else { "section" };
            json!({ key: Value::Object(o) })
        }
    }
}

/// A translation's body.
pub fn kb_translation(k: &KbItem) -> Value {
    let locale = k.locale.clone().unwrap_or_else(|| "en-us".into()).to_ascii_lowercase();
    json!({ "translation": {
        "locale": locale,
        "title": k.title,
        "body": k.body_html.clone().unwrap_or_default(),
        "draft": k.draft,
    } })
}

/// Zendesk's type names of the inventory's ticket fields.
pub fn inventory_field(id: u64, title: &str, ty: &str, options: Vec<String>) -> TargetField {
    TargetField { id: id.to_string(), name: title.to_string(), field_type: ty.to_string(), options }
}
