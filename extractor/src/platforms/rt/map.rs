//! REST 2 records → the canonical model (pure; no I/O).
//!
//! How RT's concepts land in the model:
//! - users: `Privileged` users are agents, the rest end users; `Disabled` users are inactive;
//!   RT's `Organization` is a free-text attribute, so organizations are made from the distinct
//!   names (id = name);
//! - queues are groups of kind `queue`; a disabled queue is `is_deleted` (RT never deletes one);
//! - ticket custom fields keep RT's name as `key` and `title`; a value is a JSON string for a
//!   single-value field and a JSON array for a multi-value one (`MaxValues` 0);
//! - a ticket deskferry migrated into RT has its original creation time in the custom field
//!   "Original Created" (REST 2 cannot set `Created`): that is its `created_at`;
//! - statuses of the default lifecycle: `new`, `open`, `stalled` (→ pending), `resolved`
//!   (→ solved), `rejected` (→ closed), `deleted` (→ closed with `is_deleted`); any other
//!   lifecycle's status is `open` with `status_raw` kept;
//! - priorities are numbers (RT 5 shows 0 Low, 50 Medium, 100 High): < 25 low, < 63 normal,
//!   < 88 high, else urgent; RT cannot tell "no priority" from 0, so 0 is low;
//! - `Create` transactions that carry a message, `Correspond` and `Comment` transactions become
//!   comments (correspondence public, comments private); the first unnamed `text/plain` and
//!   `text/html` MIME parts are the body, every other leaf part is an attachment.

use std::collections::BTreeMap;

use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, Organization, Priority, Ticket, TicketStatus, User, UserKind,
};
use serde_json::Value;

use super::wire::{self, CfValues, custom_field_values, flag, num, ref_num, text, time};

/// What ticket mapping needs to know about the account's custom fields, by RT id.
#[derive(Debug, Clone, Default)]
pub struct FieldInfo {
    /// RT custom field id → (name, takes several values).
    pub fields: BTreeMap<i64, (String, bool)>,
}

impl FieldInfo {
    /// From `/customfields` items.
    pub fn from_items(items: &[Value]) -> FieldInfo {
        let mut fields = BTreeMap::new();
        for v in items {
            if let Some(id) = num(&v["id"]) {
                let name = text(v, "Name").unwrap_or_else(|| format!("cf-{id}"));
                fields.insert(id, (name, num(&v["MaxValues"]) == Some(0)));
            }
        }
        FieldInfo { fields }
    }
}

/// A user from `GET /user/{id}`; `None` for RT's pseudo users.
pub fn user(v: &Value) -> Option<User> {
    let id = num(&v["id"])?;
    let name = text(v, "Name").unwrap_or_default();
    if super::wire::PSEUDO_USERS.contains(&name.as_str()) {
        return None;
    }
    let privileged = flag(v, "Privileged");
    let phone =
        ["WorkPhone", "MobilePhone", "HomePhone", "PagerPhone"].iter().find_map(|k| text(v, k));
    Some(User {
        id: id.to_string(),
        kind: if privileged { UserKind::Agent } else { UserKind::EndUser },
        role_raw: Some(if privileged { "privileged" } else { "unprivileged" }.to_string()),
        name: text(v, "RealName").or(Some(name)),
        email: text(v, "EmailAddress"),
        other_emails: Vec::new(),
        phone,
        organization_id: text(v, "Organization"),
        group_ids: Vec::new(),
        active: !flag(v, "Disabled"),
        suspended: false,
        is_deleted: false,
        locale: text(v, "Lang"),
        time_zone: text(v, "Timezone"),
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: time(v, "Created"),
        updated_at: time(v, "LastUpdated"),
        raw: wire::raw(v),
    })
}

/// An organization made from the name in users' `Organization` attribute.
pub fn organization(name: &str) -> Organization {
    Organization {
        id: name.to_string(),
        name: name.to_string(),
        domains: Vec::new(),
        notes: None,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: serde_json::json!({ "Organization": name }).to_string(),
    }
}

/// A queue from `/queues/all` (asked with `fields=Name,Description,Created,Disabled,…`);
/// `None` for RT's internal approvals queue.
pub fn group(v: &Value) -> Option<Group> {
    let id = num(&v["id"])?;
    let name = text(v, "Name").unwrap_or_else(|| format!("queue-{id}"));
    if name.starts_with("___Approvals") {
        return None;
    }
    Some(Group {
        id: id.to_string(),
        name,
        kind: GroupKind::Queue,
        description: text(v, "Description"),
        is_deleted: flag(v, "Disabled"),
        created_at: time(v, "Created"),
        raw: wire::raw(v),
    })
}

/// A ticket custom field from `/customfields`, with the `values` of a select field.
pub fn custom_field(v: &Value, values: &[Value]) -> Option<CustomField> {
    let id = num(&v["id"])?;
    let name = text(v, "Name").unwrap_or_else(|| format!("cf-{id}"));
    let kind = text(v, "Type").unwrap_or_else(|| "Freeform".into());
    let multiple = num(&v["MaxValues"]) == Some(0);
    let options = values
        .iter()
        .filter_map(|o| {
            // Value records say `Name`, the values list `name`.
            let value = text(o, "Name").or_else(|| text(o, "name"))?;
            let label = text(o, "Description").unwrap_or_else(|| value.clone());
            Some(FieldOption { value, label })
        })
        .collect();
    Some(CustomField {
        id: id.to_string(),
        entity: FieldEntity::Ticket,
        key: name.clone(),
        title: name,
        kind: Some(field_kind(&kind, multiple)),
        multiple: Some(multiple),
        field_type: if multiple { format!("{kind}Multiple") } else { kind },
        options,
        required: text(v, "Pattern").is_some_and(|p| p.contains("(?#Mandatory)")),
        active: !flag(v, "Disabled"),
        raw: wire::raw(v),
    })
}

/// The normalised kind of an RT custom field `Type` (`multiple`: `MaxValues` 0). A free-form
/// field that takes several values stays text (its values have no options to choose from).
pub fn field_kind(rt_type: &str, multiple: bool) -> FieldKind {
    match rt_type {
        "Freeform" => FieldKind::Text,
        "Text" | "Wikitext" | "HTML" => FieldKind::Textarea,
        "Select" | "Combobox" | "Autocomplete" if multiple => FieldKind::Multiselect,
        "Select" | "Combobox" | "Autocomplete" => FieldKind::Dropdown,
        "Date" => FieldKind::Date,
        "DateTime" => FieldKind::Datetime,
        _ => FieldKind::Other,
    }
}

/// Canonical status, `is_deleted`, for an RT status.
pub fn status(raw: &str) -> (TicketStatus, bool) {
    match raw {
        "new" => (TicketStatus::New, false),
        "open" => (TicketStatus::Open, false),
        "stalled" => (TicketStatus::Pending, false),
        "resolved" => (TicketStatus::Solved, false),
        "rejected" => (TicketStatus::Closed, false),
        "deleted" => (TicketStatus::Closed, true),
        _ => (TicketStatus::Open, false),
    }
}

/// Canonical priority for RT's number.
pub fn priority(n: i64) -> Priority {
    match n {
        i64::MIN..25 => Priority::Low,
        25..63 => Priority::Normal,
        63..88 => Priority::High,
        _ => Priority::Urgent,
    }
}

/// A custom field's values as the model's JSON text.
fn cf_json(values: &[String], multiple: bool) -> String {
    if multiple || values.len() > 1 {
        serde_json::to_string(values).unwrap_or_default()
    } else {
        serde_json::to_string(&values[0]).unwrap_or_default()
    }
}

/// The users of a role list (`"Cc": [{"id": 27, "type": "user"}]`), as model ids.
fn role(v: &Value, names: &BTreeMap<String, i64>) -> Vec<String> {
    v.as_array()
        .map(|list| list.iter().filter_map(|r| user_ref(r, names)).collect())
        .unwrap_or_default()
}

/// A user reference as a model id: numeric ids directly, names through `names`; RT's pseudo
/// users (Nobody, RT_System) are no one.
pub fn user_ref(r: &Value, names: &BTreeMap<String, i64>) -> Option<String> {
    if r.is_object() && r["type"].as_str().is_some_and(|t| t != "user") {
        return None;
    }
    let id = match &r["id"] {
        Value::String(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                if super::wire::PSEUDO_USERS.contains(&s.as_str()) {
                    return None;
                }
                *names.get(s)?
            }
        },
        other => num(other)?,
    };
    // RT_System is 1 and Nobody 6 in every RT database.
    (id != 1 && id != 6).then(|| id.to_string())
}

/// A ticket from a `/tickets` page (asked with [`super::wire::TICKET_FIELDS`]) or from
/// `GET /ticket/{id}`; `names` resolves references that carry user names.
pub fn ticket(v: &Value, fields: &FieldInfo, names: &BTreeMap<String, i64>) -> Option<Ticket> {
    let id = num(&v["id"])?;
    let status_raw = text(v, "Status").unwrap_or_else(|| "new".into());
    let (status, is_deleted) = status(&status_raw);
    let prio = num(&v["Priority"]);
    let mut custom_fields: Vec<CustomFieldValue> = custom_field_values(v)
        .into_iter()
        .filter(|c| !c.values.is_empty())
        .map(|CfValues { id, name, values }| {
            let (key, multiple) = fields.fields.get(&id).cloned().unwrap_or((name, false));
            CustomFieldValue { value: cf_json(&values, multiple), key }
        })
        .collect();
    custom_fields.sort_by(|a, b| a.key.cmp(&b.key));
    let requesters = role(&v["Requestor"], names);
    Some(Ticket {
        id: id.to_string(),
        number: None,
        subject: text(v, "Subject"),
        status,
        status_raw: Some(status_raw.clone()),
        priority: prio.map(priority),
        priority_raw: prio.map(|p| p.to_string()),
        ticket_type: None,
        channel: None,
        requester_id: requesters.first().cloned(),
        other_requester_ids: requesters.iter().skip(1).cloned().collect(),
        submitter_id: user_ref(&v["Creator"], names),
        assignee_id: user_ref(&v["Owner"], names),
        group_id: ref_num(&v["Queue"], "queue").map(|q| q.to_string()),
        organization_id: None,
        cc_ids: role(&v["Cc"], names),
        follower_ids: role(&v["AdminCc"], names),
        tags: Vec::new(),
        custom_fields,
        created_at: original_created(v).or_else(|| time(v, "Created")),
        updated_at: time(v, "LastUpdated"),
        solved_at: if status_raw == "resolved" { time(v, "Resolved") } else { None },
        due_at: time(v, "Due"),
        is_deleted,
        is_spam: false,
        raw: wire::raw(v),
    })
}

/// The ticket custom field in which deskferry's RT loader keeps a migrated ticket's original
/// creation time, because REST 2 cannot set `Created` (see the loader's `platforms/rt`).
pub const ORIGINAL_CREATED_FIELD: &str = "Original Created";

/// A migrated ticket's original creation time from [`ORIGINAL_CREATED_FIELD`] (RFC 3339); RT's
/// own `Created` (the load time) stays in `raw`.
fn original_created(v: &Value) -> Option<deskferry_format::model::Timestamp> {
    let c = custom_field_values(v).into_iter().find(|c| c.name == ORIGINAL_CREATED_FIELD)?;
    let t = chrono::DateTime::parse_from_rfc3339(c.values.first()?).ok()?;
    Some(t.with_timezone(&chrono::Utc))
}

/// The MIME parts of one transaction, split into body and files.
#[derive(Debug, Clone, Default)]
pub struct Message<'a> {
    /// The unnamed `text/plain` part.
    pub text: Option<&'a Value>,
    /// The unnamed `text/html` part.
    pub html: Option<&'a Value>,
    /// Every other leaf part, in part order.
    pub files: Vec<&'a Value>,
}

/// Splits a transaction's parts (any order) into body and files.
pub fn split_parts<'a>(parts: &[&'a Value]) -> Message<'a> {
    let mut sorted: Vec<&Value> = parts.to_vec();
    sorted.sort_by_key(|p| num(&p["id"]).unwrap_or(0));
    let mut m = Message::default();
    for p in sorted {
        let ct = p["ContentType"].as_str().unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("multipart/") {
            continue;
        }
        let named = text(p, "Filename").is_some();
        let first = m.text.is_none() && m.html.is_none() && m.files.is_empty();
        let empty = num(&p["ContentLength"]).unwrap_or(0) == 0;
        if !named && first && empty && !ct.starts_with("text/") {
            // A message without a body but with files: RT keeps an empty unnamed first part
            // (typed application/octet-stream); it is the (empty) body, not a file.
            m.text = Some(p);
        } else if !named && ct == "text/plain" && m.text.is_none() && m.html.is_none() {
            m.text = Some(p);
        } else if !named && ct == "text/html" && m.html.is_none() && m.text.is_none() {
            m.html = Some(p);
        } else if !named && ct == "text/html" && m.html.is_none() && m.files.is_empty() {
            // multipart/alternative: text first, then HTML.
            m.html = Some(p);
        } else {
            m.files.push(p);
        }
    }
    m
}

/// True when a transaction is a message: correspondence, comment, or a creation with content.
pub fn is_message(txn: &Value, parts: usize) -> bool {
    match txn["Type"].as_str() {
        Some("Correspond" | "Comment") => true,
        Some("Create") => parts > 0,
        _ => false,
    }
}

/// A comment from a history item and its parts; `bodies` maps part id → decoded text.
pub fn comment(
    txn: &Value,
    ticket_id: &str,
    msg: &Message<'_>,
    bodies: &BTreeMap<i64, String>,
    names: &BTreeMap<String, i64>,
) -> Option<Comment> {
    let id = num(&txn["id"])?;
    let body = |p: Option<&Value>| {
        p.and_then(|p| num(&p["id"])).map(|pid| bodies.get(&pid).cloned().unwrap_or_default())
    };
    // The channel RT recorded (`X-RT-Interface: REST`, `Email`, `Web`, `CLI`).
    let channel = msg
        .text
        .or(msg.html)
        .or(msg.files.first().copied())
        .and_then(|p| header(p, "X-RT-Interface"))
        .map(|c| c.to_ascii_lowercase());
    Some(Comment {
        id: id.to_string(),
        ticket_id: ticket_id.to_string(),
        author_id: user_ref(&txn["Creator"], names),
        public: txn["Type"].as_str() != Some("Comment"),
        body_html: body(msg.html),
        body_text: body(msg.text),
        channel,
        created_at: time(txn, "Created"),
        attachment_ids: msg
            .files
            .iter()
            .filter_map(|p| num(&p["id"]))
            .map(|n| n.to_string())
            .collect(),
        raw: wire::raw(txn),
    })
}

/// One header of a part's `Headers` text (first match, case-insensitive name).
pub fn header(part: &Value, name: &str) -> Option<String> {
    part["Headers"].as_str()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// An attachment row (bytes not yet fetched) for a file part of comment `comment_id`.
pub fn attachment(part: &Value, ticket_id: &str, comment_id: &str) -> Option<Attachment> {
    let id = num(&part["id"])?;
    Some(Attachment {
        id: id.to_string(),
        ticket_id: Some(ticket_id.to_string()),
        comment_id: Some(comment_id.to_string()),
        article_id: None,
        file_name: text(part, "Filename").unwrap_or_default(),
        content_type: text(part, "ContentType"),
        size: num(&part["ContentLength"]),
        sha256: None,
        // A part with a Content-ID is what the HTML shows in place (`cid:`); RT marks nearly
        // every part `Content-Disposition: inline`, so that header says nothing.
        inline: header(part, "Content-ID").is_some(),
        state: AttachmentState::Failed,
        error: None,
        raw: wire::raw(part),
    })
}

/// The path (under the base URL) that serves a part's original bytes.
///
/// REST 2 only offers a part base64-encoded inside JSON; RT's own download URL (the one its web
/// UI links to, which accepts the same `Authorization: token`) serves the bytes as stored
/// (`OriginalContent`), so the shared downloader can stream and hash them.
pub fn download_path(transaction: i64, part: i64) -> String {
    format!("Ticket/Attachment/{transaction}/{part}/file")
}
