//! Pure conversion of Zendesk JSON into the canonical model (no I/O).
//!
//! Every function takes the record's `serde_json::Value` as Zendesk sent it: the typed view
//! comes from [`super::wire`], and `raw` is the same value written back compactly (key order
//! kept), so nothing the model lacks is lost.
//!
//! Choices worth knowing:
//! - ticket custom field values are keyed by the field's id (Zendesk ticket fields have no key);
//!   user and organization values by the field's `key`; `null` values (unset) are left out;
//! - a deleted ticket keeps the status it had before deletion when the ticket events said so
//!   (`status_raw` stays `deleted`); Zendesk has no separate spam flag (marking spam deletes);
//! - Zendesk's built-in ticket fields are not custom fields and are skipped; they are known by
//!   their `type` (`subject`, `status`, `tickettype`, `priority`, …), not by `removable`, which
//!   Zendesk sets to `true` on Type and Priority (see [`SYSTEM_TICKET_FIELD_TYPES`]);
//! - every record is read through [`Notes::read`]: a field of an unexpected type is left empty
//!   and noted, the record kept (its `raw` has the value);
//! - the user's IANA time zone is preferred to Zendesk's Rails name;
//! - empty strings Zendesk uses for "nothing" (notes, descriptions, names) become `None`.

use chrono::{DateTime, Utc};
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, KbItem, Organization, Priority, Ticket, TicketStatus, Timestamp,
    User, UserKind,
};
use serde_json::Value;

use super::wire;
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// Platform name in errors.
const PLATFORM: &str = "zendesk";

fn err(entity: &str, id: &str, message: impl Into<String>) -> ExtractError {
    ExtractError::Source {
        platform: PLATFORM,
        entity: entity.to_string(),
        id: id.to_string(),
        message: message.into(),
    }
}

/// Notes for Zendesk records (see [`crate::tolerant`]).
pub fn notes() -> Notes {
    Notes::new(PLATFORM)
}

/// The `type`s of Zendesk's built-in ticket fields. Recorded answers of a real account (the
/// `ticket_fields` fixture of the public Go client nukosuke/go-zendesk, and Airbyte's recorded
/// `ticket_fields` of its test account) show `tickettype` and `priority` with
/// `removable: true` and their values under `system_field_options`, and `custom_status` (the
/// "Ticket status" field of accounts with custom statuses) besides; none of them is a custom
/// field: their values are the ticket's own columns.
pub const SYSTEM_TICKET_FIELD_TYPES: [&str; 8] = [
    "subject",
    "description",
    "status",
    "custom_status",
    "tickettype",
    "priority",
    "group",
    "assignee",
];

/// The record's JSON, compact, in Zendesk's key order.
pub fn raw(v: &Value) -> String {
    v.to_string()
}

/// Zendesk timestamps (`2024-01-02T03:04:05Z`) as UTC; `None` for null or unreadable text.
pub fn ts(s: Option<&str>) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s?).ok().map(|t| t.with_timezone(&Utc))
}

fn id(n: Option<u64>) -> Option<String> {
    n.map(|n| n.to_string())
}

fn ids(v: &[u64]) -> Vec<String> {
    v.iter().map(u64::to_string).collect()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// `(key, value)` pairs of a keyed field object (`user_fields`, `organization_fields`).
fn keyed_values(m: Option<&serde_json::Map<String, Value>>) -> Vec<CustomFieldValue> {
    m.into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| CustomFieldValue { key: k.clone(), value: v.to_string() })
        .collect()
}

/// Canonical status of a Zendesk status value; `None` for `deleted` (the caller knows more).
pub fn status(s: &str) -> Option<TicketStatus> {
    Some(match s {
        "new" => TicketStatus::New,
        "open" => TicketStatus::Open,
        "pending" => TicketStatus::Pending,
        "hold" | "on-hold" | "on_hold" => TicketStatus::OnHold,
        "solved" => TicketStatus::Solved,
        "closed" => TicketStatus::Closed,
        _ => return None,
    })
}

/// Canonical priority of a Zendesk priority value.
pub fn priority(s: &str) -> Option<Priority> {
    Some(match s {
        "low" => Priority::Low,
        "normal" => Priority::Normal,
        "high" => Priority::High,
        "urgent" => Priority::Urgent,
        _ => return None,
    })
}

/// What the user rows need besides the user JSON.
#[derive(Debug, Clone, Default)]
pub struct UserExtra {
    /// Groups from `group_memberships`, default group first.
    pub group_ids: Vec<String>,
    /// Further email addresses from the user's identities.
    pub other_emails: Vec<String>,
    /// Listed by `deleted_users`.
    pub deleted: bool,
}

/// A user.
pub fn user(v: &Value, extra: UserExtra, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::User = notes.read("users", v)?;
    let role = w.role.clone();
    let kind = match role.as_deref() {
        Some("agent" | "admin") => UserKind::Agent,
        _ => UserKind::EndUser,
    };
    Ok(User {
        id: w.id.to_string(),
        kind,
        role_raw: role,
        name: non_empty(w.name),
        email: w.email,
        other_emails: extra.other_emails,
        phone: non_empty(w.phone),
        organization_id: id(w.organization_id),
        group_ids: extra.group_ids,
        active: w.active,
        suspended: w.suspended,
        is_deleted: extra.deleted,
        locale: w.locale,
        time_zone: w.iana_time_zone.or(w.time_zone),
        tags: w.tags,
        custom_fields: keyed_values(w.user_fields.as_ref()),
        created_at: ts(w.created_at.as_deref()),
        updated_at: ts(w.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// Other email addresses of users from identities (primary ones are the user's `email`).
pub fn other_emails(identities: &[wire::Identity], user_id: u64) -> Vec<String> {
    identities
        .iter()
        .filter(|i| i.user_id == user_id && i.kind == "email" && !i.primary)
        .map(|i| i.value.clone())
        .collect()
}

/// An organization.
pub fn organization(v: &Value, notes: &mut Notes) -> Result<Organization, ExtractError> {
    let w: wire::Organization = notes.read("organizations", v)?;
    Ok(Organization {
        id: w.id.to_string(),
        name: w.name,
        domains: w.domain_names,
        notes: non_empty(w.notes),
        tags: w.tags,
        custom_fields: keyed_values(w.organization_fields.as_ref()),
        created_at: ts(w.created_at.as_deref()),
        updated_at: ts(w.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// A group.
pub fn group(v: &Value, notes: &mut Notes) -> Result<Group, ExtractError> {
    let w: wire::Group = notes.read("groups", v)?;
    Ok(Group {
        id: w.id.to_string(),
        name: w.name,
        kind: GroupKind::Group,
        description: non_empty(w.description),
        is_deleted: w.deleted,
        created_at: ts(w.created_at.as_deref()),
        raw: raw(v),
    })
}

/// A field definition; `None` for Zendesk's built-in ticket fields.
pub fn field(
    v: &Value,
    entity: FieldEntity,
    notes: &mut Notes,
) -> Result<Option<CustomField>, ExtractError> {
    let table = match entity {
        FieldEntity::Ticket => "ticket_fields",
        FieldEntity::User => "user_fields",
        FieldEntity::Organization => "organization_fields",
    };
    let w: wire::FieldDef = notes.read(table, v)?;
    if entity == FieldEntity::Ticket && SYSTEM_TICKET_FIELD_TYPES.contains(&w.field_type.as_str()) {
        return Ok(None);
    }
    let key = match entity {
        FieldEntity::Ticket => w.id.to_string(),
        _ => w.key.clone().ok_or_else(|| err(table, &w.id.to_string(), "field without key"))?,
    };
    Ok(Some(CustomField {
        id: w.id.to_string(),
        entity,
        key,
        title: w.title,
        kind: Some(field_kind(&w.field_type)),
        multiple: Some(w.field_type == "multiselect"),
        field_type: w.field_type,
        options: w
            .custom_field_options
            .into_iter()
            .map(|o| FieldOption { value: o.value, label: o.name })
            .collect(),
        required: w.required,
        active: w.active,
        raw: raw(v),
    }))
}

/// The normalised kind of a Zendesk field type (ticket drop-downs say `tagger`, user and
/// organization ones `dropdown`; `partialcreditcard` and unknown types are `Other`).
pub fn field_kind(field_type: &str) -> FieldKind {
    match field_type {
        "text" => FieldKind::Text,
        "textarea" => FieldKind::Textarea,
        "integer" => FieldKind::Integer,
        "decimal" => FieldKind::Decimal,
        "checkbox" => FieldKind::Checkbox,
        "date" => FieldKind::Date,
        "tagger" | "dropdown" => FieldKind::Dropdown,
        "multiselect" => FieldKind::Multiselect,
        "regexp" => FieldKind::Regexp,
        "lookup" => FieldKind::Lookup,
        _ => FieldKind::Other,
    }
}

/// A ticket. `solved_at` comes from its metric set; `status_before_delete` from the ticket
/// events (the `Change` of status to `deleted`).
pub fn ticket(
    v: &Value,
    solved_at: Option<&str>,
    status_before_delete: Option<&str>,
    notes: &mut Notes,
) -> Result<Ticket, ExtractError> {
    let w: wire::Ticket = notes.read("tickets", v)?;
    let raw_status = w.status.clone().unwrap_or_else(|| "open".into());
    let deleted = raw_status == "deleted";
    let st = if deleted {
        status_before_delete.and_then(status).unwrap_or(TicketStatus::Closed)
    } else {
        status(&raw_status).unwrap_or(TicketStatus::Open)
    };
    let custom_fields = w
        .custom_fields
        .iter()
        .filter(|f| !f.value.is_null())
        .map(|f| CustomFieldValue { key: f.id.to_string(), value: f.value.to_string() })
        .collect();
    Ok(Ticket {
        id: w.id.to_string(),
        // Zendesk shows the ticket id as the ticket's number ("#35436").
        number: Some(w.id.to_string()),
        subject: w.subject,
        status: st,
        status_raw: Some(raw_status),
        priority: w.priority.as_deref().and_then(priority),
        priority_raw: w.priority,
        ticket_type: w.ticket_type,
        channel: w.via.and_then(|v| v.channel),
        requester_id: id(w.requester_id),
        submitter_id: id(w.submitter_id),
        assignee_id: id(w.assignee_id),
        group_id: id(w.group_id),
        organization_id: id(w.organization_id),
        cc_ids: ids(w.email_cc_ids.as_deref().unwrap_or(&w.collaborator_ids)),
        follower_ids: ids(&w.follower_ids),
        // Zendesk has one requester.
        other_requester_ids: Vec::new(),
        tags: w.tags,
        custom_fields,
        created_at: ts(w.created_at.as_deref()),
        updated_at: ts(w.updated_at.as_deref()),
        solved_at: ts(solved_at),
        due_at: ts(w.due_at.as_deref()),
        is_deleted: deleted,
        is_spam: false,
        raw: raw(v),
    })
}

/// An attachment row (state `Failed` until the sink stores its bytes) and its download URL.
pub fn attachment(
    v: &Value,
    ticket_id: Option<&str>,
    comment_id: Option<&str>,
    article_id: Option<&str>,
    notes: &mut Notes,
) -> Result<(Attachment, Option<String>), ExtractError> {
    let w: wire::Attachment = notes.read("attachments", v)?;
    let att = Attachment {
        id: w.id.to_string(),
        ticket_id: ticket_id.map(str::to_string),
        comment_id: comment_id.map(str::to_string),
        article_id: article_id.map(str::to_string),
        file_name: w.file_name,
        content_type: w.content_type,
        size: w.size,
        sha256: None,
        inline: w.inline,
        state: if w.deleted { AttachmentState::Missing } else { AttachmentState::Failed },
        error: w.deleted.then(|| "deleted at the source".to_string()),
        raw: raw(v),
    };
    let url = if w.deleted { None } else { w.content_url };
    Ok((att, url))
}

/// A comment of `ticket_id` with its attachments (and their URLs). `fallback_time` stands in
/// for a missing `created_at` (child events may omit it; the audit has it).
#[allow(clippy::type_complexity)]
pub fn comment(
    v: &Value,
    ticket_id: &str,
    fallback_time: Option<&str>,
    notes: &mut Notes,
) -> Result<(Comment, Vec<(Attachment, Option<String>)>), ExtractError> {
    let w: wire::Comment = notes.read("comments", v)?;
    let cid = w.id.to_string();
    let mut atts = Vec::with_capacity(w.attachments.len());
    for a in &w.attachments {
        atts.push(attachment(a, Some(ticket_id), Some(&cid), None, notes)?);
    }
    let c = Comment {
        id: cid,
        ticket_id: ticket_id.to_string(),
        author_id: w.author_id.filter(|a| *a > 0).map(|a| a.to_string()),
        public: w.public,
        body_html: w.html_body,
        body_text: w.plain_body.or(w.body),
        channel: w.via.and_then(|v| v.channel),
        created_at: ts(w.created_at.as_deref().or(fallback_time)),
        attachment_ids: atts.iter().map(|(a, _)| a.id.clone()).collect(),
        raw: raw(v),
    };
    Ok((c, atts))
}

/// What one ticket event (audit) tells the extractor.
#[derive(Debug, Default)]
pub struct EventFacts<'a> {
    /// `Comment` child events, in order.
    pub comments: Vec<&'a Value>,
    /// The audit says it added a comment.
    pub comment_present: bool,
    /// The status the ticket had when this audit deleted it.
    pub deleted_from: Option<String>,
}

/// Sorts one audit's child events into comments and a deletion.
pub fn event_facts<'a>(e: &'a wire::TicketEvent, notes: &mut Notes) -> EventFacts<'a> {
    let mut f = EventFacts { comment_present: e.comment_present, ..Default::default() };
    for child in &e.child_events {
        // Child events carry their own `id`; an unreadable head costs only its odd fields.
        let Ok(c) = notes.read::<wire::ChildEvent>("ticket_events", child) else { continue };
        let kind = c.event_type.as_deref().or(c.kind.as_deref());
        match kind {
            Some("Comment" | "VoiceComment") => f.comments.push(child),
            Some("Change")
                if c.field_name.as_deref() == Some("status")
                    && c.value.as_str() == Some("deleted") =>
            {
                f.deleted_from = c.previous_value.as_str().map(str::to_string);
            }
            _ => {}
        }
    }
    f
}

/// The tokens of Zendesk attachment URLs (`…/attachments/token/{token}/…`) in an HTML body:
/// inline images that must be among the comment's attachments.
pub fn inline_tokens(html: &str) -> Vec<&str> {
    const MARK: &str = "/attachments/token/";
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(p) = rest.find(MARK) {
        let after = &rest[p + MARK.len()..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let tok = &after[..end.unwrap_or(after.len())];
        if !tok.is_empty() && !out.contains(&tok) {
            out.push(tok);
        }
        rest = after;
    }
    out
}

/// The token of one attachment URL, if it is a Zendesk token URL.
pub fn url_token(url: &str) -> Option<&str> {
    inline_tokens(url).first().copied()
}

/// A Help Center category or section row (source locale), plus its other-locale rows.
pub fn kb_container(v: &Value, kind: &str, notes: &mut Notes) -> Result<Vec<KbItem>, ExtractError> {
    let w: wire::HcItem = notes.read(kind, v)?;
    let sid = w.id.to_string();
    let parent = match kind {
        "sections" => id(w.parent_section_id.or(w.category_id)),
        _ => None,
    };
    let mut src_raw = v.clone();
    if let Some(o) = src_raw.as_object_mut() {
        o.remove("translations");
    }
    let source_locale = w.source_locale.clone().or(w.locale.clone());
    let mut rows = vec![KbItem {
        id: sid.clone(),
        parent_id: parent.clone(),
        locale: source_locale.clone(),
        translation_of: None,
        title: w.name.clone().or(w.title.clone()).unwrap_or_default(),
        body_html: non_empty(w.description.clone()),
        author_id: None,
        draft: false,
        position: w.position,
        labels: Vec::new(),
        created_at: ts(w.created_at.as_deref()),
        updated_at: ts(w.updated_at.as_deref()),
        raw: raw(&src_raw),
    }];
    for t in w.translations.iter().flatten() {
        let tr: wire::Translation = match notes.read("translations", t) {
            Ok(tr) => tr,
            Err(e) => {
                notes.refused("translations", t, &e);
                continue;
            }
        };
        if Some(&tr.locale) == source_locale.as_ref() {
            continue;
        }
        rows.push(KbItem {
            id: tr.id.to_string(),
            parent_id: parent.clone(),
            locale: Some(tr.locale),
            translation_of: Some(sid.clone()),
            title: tr.title.unwrap_or_default(),
            body_html: non_empty(tr.body),
            author_id: None,
            draft: tr.draft,
            position: w.position,
            labels: Vec::new(),
            created_at: ts(tr.created_at.as_deref()),
            updated_at: ts(tr.updated_at.as_deref()),
            raw: raw(t),
        });
    }
    Ok(rows)
}

/// An article: the source-locale row (id = article id) then one row per other locale
/// (id = translation id, `translation_of` = article id). Labels belong to the article row.
pub fn kb_article(v: &Value, notes: &mut Notes) -> Result<Vec<KbItem>, ExtractError> {
    let w: wire::HcItem = notes.read("articles", v)?;
    let aid = w.id.to_string();
    let parent = id(w.section_id);
    let author = id(w.author_id);
    let mut src_raw = v.clone();
    if let Some(o) = src_raw.as_object_mut() {
        o.remove("translations");
    }
    let source_locale = w.source_locale.clone().or(w.locale.clone());
    let mut rows = vec![KbItem {
        id: aid.clone(),
        parent_id: parent.clone(),
        locale: source_locale.clone(),
        translation_of: None,
        title: w.title.clone().or(w.name.clone()).unwrap_or_default(),
        body_html: w.body.clone(),
        author_id: author.clone(),
        draft: w.draft,
        position: w.position,
        labels: w.label_names.clone(),
        created_at: ts(w.created_at.as_deref()),
        updated_at: ts(w.updated_at.as_deref()),
        raw: raw(&src_raw),
    }];
    for t in w.translations.iter().flatten() {
        let tr: wire::Translation = match notes.read("translations", t) {
            Ok(tr) => tr,
            Err(e) => {
                notes.refused("translations", t, &e);
                continue;
            }
        };
        if Some(&tr.locale) == source_locale.as_ref() {
            continue;
        }
        rows.push(KbItem {
            id: tr.id.to_string(),
            parent_id: parent.clone(),
            locale: Some(tr.locale),
            translation_of: Some(aid.clone()),
            title: tr.title.unwrap_or_default(),
            body_html: tr.body,
            author_id: author.clone(),
            draft: tr.draft,
            position: w.position,
            labels: Vec::new(),
            created_at: ts(tr.created_at.as_deref()),
            updated_at: ts(tr.updated_at.as_deref()),
            raw: raw(t),
        });
    }
    Ok(rows)
}

/// Which kb row an article attachment belongs to: the translation of its locale, else the
/// article itself. `rows` are the article's rows from [`kb_article`].
pub fn article_row_for(rows: &[KbItem], attachment_locale: Option<&str>) -> Option<String> {
    let first = rows.first()?;
    let Some(l) = attachment_locale else { return Some(first.id.clone()) };
    rows.iter()
        .find(|r| r.locale.as_deref().is_some_and(|rl| rl.eq_ignore_ascii_case(l)))
        .or(Some(first))
        .map(|r| r.id.clone())
}
