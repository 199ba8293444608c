//! Pure conversion of Kayako's JSON into the canonical model; every record read with
//! [`Notes::read`], `raw` verbatim.

use std::collections::HashMap;

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

/// Notes for Kayako's records.
pub fn notes() -> Notes {
    Notes::new("kayako")
}

/// The canonical kind of a Kayako field type.
pub fn field_kind(field_type: &str) -> FieldKind {
    match field_type.to_ascii_uppercase().as_str() {
        "TEXT" => FieldKind::Text,
        "TEXTAREA" => FieldKind::Textarea,
        "NUMERIC" => FieldKind::Integer,
        "DECIMAL" => FieldKind::Decimal,
        "YESNO" => FieldKind::Checkbox,
        "DATE" => FieldKind::Date,
        "SELECT" | "RADIO" | "CASCADINGSELECT" => FieldKind::Dropdown,
        "CHECKBOX" => FieldKind::Multiselect,
        "REGEX" => FieldKind::Regexp,
        _ => FieldKind::Other,
    }
}

/// A time as Kayako writes it.
pub fn time(s: Option<&str>) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s?).ok().map(|t| t.with_timezone(&Utc))
}

fn raw(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Field id → key, per entity (a record's `custom_fields` name their field by id).
pub type FieldKeys = HashMap<String, String>;

fn values(list: &[wire::FieldValue], keys: &FieldKeys) -> Vec<CustomFieldValue> {
    list.iter()
        .filter_map(|v| {
            let key = keys.get(&v.field.id.0)?.clone();
            Some(CustomFieldValue { key, value: v.value.clone()? })
        })
        .collect()
}

/// A team.
pub fn team(v: &Value, n: &mut Notes) -> Result<Group, ExtractError> {
    let t: wire::Team = n.read("groups", v)?;
    Ok(Group {
        id: t.id.0,
        name: t.title.unwrap_or_default(),
        kind: GroupKind::Team,
        description: None,
        is_deleted: false,
        created_at: time(t.created_at.as_deref()),
        raw: raw(v),
    })
}

/// A field definition of `entity`.
pub fn field(v: &Value, entity: FieldEntity, n: &mut Notes) -> Result<CustomField, ExtractError> {
    let f: wire::Field = n.read("custom_fields", v)?;
    let ty = f.kind.unwrap_or_else(|| "TEXT".into());
    Ok(CustomField {
        id: f.id.0.clone(),
        entity,
        key: f.key.unwrap_or(f.id.0),
        title: f.title.unwrap_or_default(),
        kind: Some(field_kind(&ty)),
        field_type: ty,
        multiple: None,
        options: f
            .options
            .iter()
            .filter_map(|o| {
                let value = o.tag.clone()?;
                let label = o
                    .values
                    .first()
                    .and_then(|l| l.translation.clone())
                    .unwrap_or_else(|| value.clone());
                Some(FieldOption { value, label })
            })
            .collect(),
        required: f.is_required_for_agents.unwrap_or(false),
        active: f.is_enabled.unwrap_or(true),
        raw: raw(v),
    })
}

/// A person: staff are agents (`role_raw` their role type), customers end users.
pub fn user(v: &Value, keys: &FieldKeys, n: &mut Notes) -> Result<User, ExtractError> {
    let u: wire::User = n.read("users", v)?;
    let role = u.role.and_then(|r| r.kind).unwrap_or_else(|| "CUSTOMER".into());
    let staff = role != "CUSTOMER";
    let mut emails: Vec<&wire::Email> = u.emails.iter().filter(|e| e.email.is_some()).collect();
    emails.sort_by_key(|e| !e.is_primary.unwrap_or(false));
    let mut addresses = emails.iter().filter_map(|e| e.email.clone());
    Ok(User {
        id: u.id.0,
        kind: if staff { UserKind::Agent } else { UserKind::EndUser },
        role_raw: staff.then_some(role),
        name: u.full_name.filter(|n| !n.is_empty()),
        email: addresses.next(),
        other_emails: addresses.collect(),
        phone: u.phones.first().and_then(|p| p.number.clone()),
        organization_id: u.organization.map(|o| o.id.0),
        group_ids: u.teams.into_iter().map(|t| t.id.0).collect(),
        active: u.is_enabled.unwrap_or(true),
        suspended: false,
        is_deleted: false,
        locale: u.locale,
        time_zone: u.time_zone,
        tags: Vec::new(),
        custom_fields: values(&u.custom_fields, keys),
        created_at: time(u.created_at.as_deref()),
        updated_at: time(u.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// An organization.
pub fn organization(
    v: &Value,
    keys: &FieldKeys,
    n: &mut Notes,
) -> Result<Organization, ExtractError> {
    let o: wire::Organization = n.read("organizations", v)?;
    Ok(Organization {
        id: o.id.0,
        name: o.name.unwrap_or_default(),
        domains: o.domains.into_iter().filter_map(|d| d.domain).collect(),
        notes: None,
        tags: o.tags.into_iter().filter_map(|t| t.name).collect(),
        custom_fields: values(&o.custom_fields, keys),
        created_at: time(o.created_at.as_deref()),
        updated_at: time(o.updated_at.as_deref()),
        raw: raw(v),
    })
}

/// The canonical status of a Kayako status type.
pub fn status(kind: Option<&str>) -> TicketStatus {
    match kind.unwrap_or("OPEN") {
        "NEW" => TicketStatus::New,
        "PENDING" => TicketStatus::Pending,
        "COMPLETED" => TicketStatus::Solved,
        "CLOSED" => TicketStatus::Closed,
        _ => TicketStatus::Open,
    }
}

/// The canonical priority of a Kayako priority label.
pub fn priority(label: &str) -> Option<Priority> {
    Some(match label.to_ascii_lowercase().as_str() {
        "low" => Priority::Low,
        "normal" => Priority::Normal,
        "high" => Priority::High,
        "urgent" => Priority::Urgent,
        _ => return None,
    })
}

/// A case (`state: TRASH` is a deleted ticket).
pub fn case(v: &Value, keys: &FieldKeys, n: &mut Notes) -> Result<Ticket, ExtractError> {
    let c: wire::Case = n.read("tickets", v)?;
    let status_kind = c.status.as_ref().and_then(|s| s.kind.clone());
    let priority_label = c.priority.as_ref().and_then(|p| p.label.clone());
    Ok(Ticket {
        id: c.id.0,
        number: None,
        subject: c.subject,
        status: status(status_kind.as_deref()),
        status_raw: status_kind,
        priority: priority_label.as_deref().and_then(priority),
        priority_raw: priority_label,
        ticket_type: c.case_type.and_then(|t| t.label),
        channel: None,
        requester_id: c.requester.map(|r| r.id.0),
        other_requester_ids: Vec::new(),
        submitter_id: c.creator.map(|r| r.id.0),
        assignee_id: c.assigned_agent.map(|r| r.id.0),
        group_id: c.assigned_team.map(|r| r.id.0),
        organization_id: None,
        cc_ids: Vec::new(),
        follower_ids: Vec::new(),
        tags: c.tags.into_iter().filter_map(|t| t.name).collect(),
        custom_fields: values(&c.custom_fields, keys),
        created_at: time(c.created_at.as_deref()),
        updated_at: time(c.updated_at.as_deref()),
        solved_at: None,
        due_at: None,
        is_deleted: c.state.as_deref() == Some("TRASH"),
        is_spam: false,
        raw: raw(v),
    })
}

/// A post of case `ticket`, and its attachments with the URL each downloads from.
pub fn post(
    v: &Value,
    ticket: &str,
    n: &mut Notes,
) -> Result<(Comment, Vec<(Attachment, String)>), ExtractError> {
    let p: wire::Post = n.read("comments", v)?;
    let original = p.original.unwrap_or_default();
    let public = p.source_channel.and_then(|c| c.kind).as_deref() != Some("NOTE")
        && original.resource_type.as_deref() != Some("note");
    let mut atts = Vec::new();
    for av in &p.attachments {
        let a: wire::Attachment = match n.read("attachments", av) {
            Ok(a) => a,
            Err(e) => {
                n.refused("attachments", av, &e);
                continue;
            }
        };
        let url = a.url.clone().or(a.url_download.clone()).unwrap_or_default();
        atts.push((
            Attachment {
                id: a.id.0,
                ticket_id: Some(ticket.to_string()),
                comment_id: Some(p.id.0.clone()),
                article_id: None,
                file_name: a.name.unwrap_or_default(),
                content_type: a.content_type,
                size: a.size,
                sha256: None,
                inline: a.content_id.is_some(),
                state: AttachmentState::Stored,
                error: None,
                raw: raw(av),
            },
            url,
        ));
    }
    if p.creator.as_ref().is_some_and(|c| c.bare) {
        // Kept: the author is read from the bare id; `raw` has it as sent.
        n.note(
            "comments",
            &p.id.0,
            "field `creator` holds a bare id where kayako documents a reference \
             `{id, resource_type}`; read as that id, the record is kept and its raw JSON has the value",
        );
    }
    Ok((
        Comment {
            id: p.id.0,
            ticket_id: ticket.to_string(),
            author_id: p.creator.map(|c| c.id.0),
            public,
            body_html: original.body_html,
            body_text: original.body_text.or(p.contents),
            channel: None,
            created_at: time(p.created_at.as_deref()),
            attachment_ids: atts.iter().map(|(a, _)| a.id.clone()).collect(),
            raw: raw(v),
        },
        atts,
    ))
}

/// A Help Center item in every locale: the first locale field is the item, each further one
/// a translation row (its id the locale field's).
pub fn help_item(v: &Value, entity: &str, n: &mut Notes) -> Result<Vec<KbItem>, ExtractError> {
    let h: wire::HelpItem = n.read(entity, v)?;
    let bodies = if entity == "kb_articles" { &h.contents } else { &h.descriptions };
    let parent = match entity {
        "kb_sections" => h.category.as_ref().map(|c| c.id.0.clone()),
        "kb_articles" => h.section.as_ref().map(|c| c.id.0.clone()),
        _ => None,
    };
    let mut out: Vec<KbItem> = Vec::new();
    for (i, t) in h.titles.iter().enumerate() {
        let locale = t.locale.clone();
        let body = bodies.iter().find(|b| b.locale == locale).and_then(|b| b.translation.clone());
        // A translation's id is its locale field's (its title's), else `{item}@{locale}`.
        let id = if i == 0 {
            h.id.0.clone()
        } else {
            t.id.clone()
                .map(|x| x.0)
                .unwrap_or_else(|| format!("{}@{}", h.id.0, locale.clone().unwrap_or_default()))
        };
        out.push(KbItem {
            id,
            parent_id: parent.clone(),
            locale,
            translation_of: (i > 0).then(|| h.id.0.clone()),
            title: t.translation.clone().unwrap_or_default(),
            body_html: body.filter(|b| !b.is_empty()),
            author_id: h.author.as_ref().map(|a| a.id.0.clone()),
            draft: h.status.as_deref().is_some_and(|s| s != "PUBLISHED"),
            position: h.display_order,
            labels: h.tags.iter().filter_map(|t| t.name.clone()).collect(),
            created_at: time(t.created_at.as_deref()).or(time(h.created_at.as_deref())),
            updated_at: time(t.updated_at.as_deref()).or(time(h.updated_at.as_deref())),
            raw: raw(v),
        });
    }
    if out.is_empty() {
        out.push(KbItem {
            id: h.id.0.clone(),
            parent_id: parent,
            locale: None,
            translation_of: None,
            title: String::new(),
            body_html: None,
            author_id: h.author.map(|a| a.id.0),
            draft: h.status.as_deref().is_some_and(|s| s != "PUBLISHED"),
            position: h.display_order,
            labels: Vec::new(),
            created_at: time(h.created_at.as_deref()),
            updated_at: time(h.updated_at.as_deref()),
            raw: raw(v),
        });
    }
    Ok(out)
}

/// The attachments of a Help Center article, with the URL each downloads from.
pub fn article_files(v: &Value, article: &str, n: &mut Notes) -> Vec<(Attachment, String)> {
    let list = v.get("attachments").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for a in &list {
        let w: wire::Attachment = match n.read("attachments", a) {
            Ok(w) => w,
            Err(e) => {
                n.refused("attachments", a, &e);
                continue;
            }
        };
        let url = w.url.clone().or(w.url_download.clone()).unwrap_or_default();
        out.push((
            Attachment {
                id: w.id.0,
                ticket_id: None,
                comment_id: None,
                article_id: Some(article.to_string()),
                file_name: w.name.unwrap_or_default(),
                content_type: w.content_type,
                size: w.size,
                sha256: None,
                inline: w.content_id.is_some(),
                state: AttachmentState::Stored,
                error: None,
                raw: raw(a),
            },
            url,
        ));
    }
    out
}
