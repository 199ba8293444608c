//! Front's records as the canonical model: pure conversions, each record read tolerantly
//! ([`Notes::read`]) from the JSON Front answered, which stays verbatim in `raw`.
//!
//! What Front shows, and so what a bundle from Front holds:
//! - teammates are agents (`role_raw` `admin` or `teammate` from `is_admin`, `suspended` from
//!   `is_blocked`; the name is "first last", the email when Front has none); contacts are end
//!   users (the first email handle is `email`, later ones `other_emails`, the first phone handle
//!   `phone`; other handles stay in `raw`), a contact's account (`GET /accounts/{id}/contacts`)
//!   its organization; accounts are organizations, inboxes groups (kind `inbox`);
//! - custom field definitions of contacts, accounts and conversations: values are keyed by the
//!   field's *name*, so `key` is the name; `kind` from Front's type ([`field_kind`]);
//! - a conversation is a ticket: `archived` is solved, `assigned`/`unassigned` open, `deleted`
//!   (trash, and spam, which the status enum cannot tell apart) closed and deleted; the
//!   requester is the contact of its main recipient, its CCs the contacts copied on its
//!   messages ([`cc_contacts`]), its group the inbox that lists it;
//! - messages are public comments (inbound: authored by the sender's contact; outbound: by the
//!   teammate `author`), with the HTML `body` and the `text`; comments are private notes with
//!   their markdown body as text; files are attachments (`metadata.is_inline`);
//! - the knowledge base ([`kb_rows`]): a top-level category is a kb category, a nested one a kb
//!   section, an article a kb article; each record's content in its default locale is the
//!   source row (its Front id), its content in another locale a translation (`{id}@{locale}`);
//!   an article's files are attachments of the row of their locale.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, KbItem, Organization, Ticket, TicketStatus, User, UserKind,
};
use serde_json::{Map, Value};

use super::wire::{self, link_id};
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// The normalised kind of a Front custom field type (`string`, `boolean`, `datetime`,
/// `number`, `enum`, `teammate`, `inbox`).
pub fn field_kind(front_type: &str) -> FieldKind {
    match front_type {
        "string" => FieldKind::Text,
        "boolean" => FieldKind::Checkbox,
        "datetime" => FieldKind::Datetime,
        "number" => FieldKind::Decimal,
        "enum" => FieldKind::Dropdown,
        "teammate" | "inbox" => FieldKind::Lookup,
        _ => FieldKind::Other,
    }
}

/// A Front time (Unix seconds with up to three decimals) as a timestamp, to the millisecond.
pub fn time(secs: Option<f64>) -> Option<DateTime<Utc>> {
    let s = secs?;
    DateTime::from_timestamp_millis((s * 1000.0).round() as i64)
}

fn raw(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Custom field values keyed by field name, as canonical values (the name is the key).
pub fn field_values(values: &Map<String, Value>) -> Vec<CustomFieldValue> {
    values.iter().map(|(k, v)| CustomFieldValue { key: k.clone(), value: v.to_string() }).collect()
}

/// A teammate as an agent.
pub fn teammate(notes: &mut Notes, v: &Value) -> Result<User, ExtractError> {
    let t: wire::Teammate = notes.read("users", v)?;
    Ok(User {
        id: t.id.clone(),
        kind: UserKind::Agent,
        role_raw: Some(if t.is_admin { "admin" } else { "teammate" }.into()),
        name: Some(t.display_name()),
        email: (!t.email.is_empty()).then(|| t.email.clone()),
        other_emails: Vec::new(),
        phone: None,
        organization_id: None,
        group_ids: Vec::new(),
        active: true,
        suspended: t.is_blocked,
        is_deleted: false,
        locale: None,
        time_zone: None,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: raw(v),
    })
}

/// A contact as an end user; `account` is the account listing it as a member.
pub fn contact(notes: &mut Notes, v: &Value, account: Option<&str>) -> Result<User, ExtractError> {
    let c: wire::Contact = notes.read("users", v)?;
    let emails: Vec<String> =
        c.handles.iter().filter(|h| h.source == "email").map(|h| h.handle.clone()).collect();
    let phone = c.handles.iter().find(|h| h.source == "phone").map(|h| h.handle.clone());
    Ok(User {
        id: c.id.clone(),
        kind: UserKind::EndUser,
        role_raw: None,
        name: c.name.clone(),
        email: emails.first().cloned(),
        other_emails: emails.iter().skip(1).cloned().collect(),
        phone,
        organization_id: account.map(str::to_string),
        group_ids: Vec::new(),
        active: true,
        suspended: false,
        is_deleted: false,
        locale: None,
        time_zone: None,
        tags: Vec::new(),
        custom_fields: field_values(&c.custom_fields),
        created_at: None,
        updated_at: None,
        raw: raw(v),
    })
}

/// An account as an organization.
pub fn account(notes: &mut Notes, v: &Value) -> Result<Organization, ExtractError> {
    let a: wire::Account = notes.read("organizations", v)?;
    Ok(Organization {
        id: a.id.clone(),
        name: a.name.clone(),
        domains: a.domains.clone(),
        notes: a.description.clone(),
        tags: Vec::new(),
        custom_fields: field_values(&a.custom_fields),
        created_at: time(a.created_at),
        updated_at: time(a.updated_at),
        raw: raw(v),
    })
}

/// An inbox as a group.
pub fn inbox(notes: &mut Notes, v: &Value) -> Result<Group, ExtractError> {
    let i: wire::Inbox = notes.read("groups", v)?;
    Ok(Group {
        id: i.id,
        name: i.name,
        kind: GroupKind::Inbox,
        description: None,
        is_deleted: false,
        created_at: None,
        raw: raw(v),
    })
}

/// A custom field definition of `entity` (Front has no multi-valued field type).
pub fn custom_field(
    notes: &mut Notes,
    v: &Value,
    entity: FieldEntity,
) -> Result<CustomField, ExtractError> {
    let f: wire::CustomField = notes.read("custom_fields", v)?;
    let options = f
        .values
        .iter()
        .map(|o| {
            let value = match &o.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            FieldOption { label: o.label.clone().unwrap_or_else(|| value.clone()), value }
        })
        .collect();
    Ok(CustomField {
        id: f.id.clone(),
        entity,
        key: f.name.clone(),
        title: f.name.clone(),
        field_type: f.kind.clone(),
        kind: Some(field_kind(&f.kind)),
        multiple: Some(false),
        options,
        required: false,
        active: true,
        raw: raw(v),
    })
}

/// The canonical status of a Front conversation status.
pub fn status(front: &str) -> TicketStatus {
    match front {
        "archived" => TicketStatus::Solved,
        "deleted" => TicketStatus::Closed,
        _ => TicketStatus::Open,
    }
}

/// A conversation as a ticket; `inbox` is the inbox that lists it.
pub fn conversation(
    notes: &mut Notes,
    v: &Value,
    inbox: Option<&str>,
) -> Result<Ticket, ExtractError> {
    let c: wire::Conversation = notes.read("tickets", v)?;
    let front_status = c.status.clone().unwrap_or_default();
    let requester =
        c.recipient.as_ref().and_then(|r| r.links.related.contact.as_deref()).and_then(link_id);
    Ok(Ticket {
        id: c.id.clone(),
        number: None,
        subject: c.subject.clone(),
        status: status(&front_status),
        status_raw: c.status.clone(),
        priority: None,
        priority_raw: None,
        ticket_type: None,
        channel: None,
        requester_id: requester,
        other_requester_ids: Vec::new(),
        submitter_id: None,
        assignee_id: c.assignee.as_ref().map(|a| a.id.clone()),
        group_id: inbox.map(str::to_string),
        organization_id: None,
        cc_ids: Vec::new(),
        follower_ids: Vec::new(),
        tags: c.tags.iter().map(|t| t.name.clone()).collect(),
        custom_fields: field_values(&c.custom_fields),
        created_at: time(c.created_at),
        updated_at: time(c.updated_at),
        solved_at: None,
        due_at: None,
        is_deleted: front_status == "deleted",
        is_spam: false,
        raw: raw(v),
    })
}

/// A file of a message or comment, to be downloaded from `url`.
pub struct File {
    /// The row (state set by the download).
    pub row: Attachment,
    /// Where Front serves the bytes (its own host; the token is needed).
    pub url: String,
}

/// Whose files: a message or comment of a ticket, or an article row.
struct Owner<'a> {
    ticket: Option<&'a str>,
    comment: Option<&'a str>,
    article: Option<&'a str>,
}

impl Owner<'_> {
    fn id(&self) -> &str {
        self.comment.or(self.article).unwrap_or_default()
    }
}

fn files(notes: &mut Notes, v: &Value, owner: Owner<'_>) -> Result<Vec<File>, ExtractError> {
    let mut out = Vec::new();
    for a in v["attachments"].as_array().into_iter().flatten() {
        let f: wire::Attachment = match notes.read("attachments", a) {
            Ok(f) => f,
            Err(e) => {
                notes.refused("attachments", a, &e);
                continue;
            }
        };
        // Front's older published examples list a message's files without an `id` (only
        // `url`, `…/download/fil_…`); today's OpenAPI file requires it. Either names the file.
        let from_url = link_id(&f.url).filter(|i| i.starts_with("fil_"));
        let Some(id) = f.id.clone().filter(|i| !i.is_empty()).or(from_url) else {
            notes.refused(
                "attachments",
                a,
                &ExtractError::Source {
                    platform: "front",
                    entity: "attachments".into(),
                    id: owner.id().to_string(),
                    message: "a file without an id or a download URL naming one".into(),
                },
            );
            continue;
        };
        out.push(File {
            row: Attachment {
                id,
                ticket_id: owner.ticket.map(str::to_string),
                comment_id: owner.comment.map(str::to_string),
                article_id: owner.article.map(str::to_string),
                file_name: f.filename.clone(),
                content_type: f.content_type.clone(),
                size: f.size.map(|s| s as i64),
                sha256: None,
                inline: f.metadata.is_inline,
                state: AttachmentState::Failed,
                error: None,
                raw: raw(a),
            },
            url: f.url.clone(),
        });
    }
    Ok(out)
}

/// A message of conversation `ticket` as a public comment, with its files.
pub fn message(
    notes: &mut Notes,
    v: &Value,
    ticket: &str,
) -> Result<(Comment, Vec<File>), ExtractError> {
    let m: wire::Message = notes.read("comments", v)?;
    let author = if m.is_inbound {
        m.sender().and_then(|r| r.links.related.contact.as_deref()).and_then(link_id)
    } else {
        m.author.as_ref().map(|a| a.id.clone())
    };
    let owner = Owner { ticket: Some(ticket), comment: Some(&m.id), article: None };
    let files = files(notes, v, owner)?;
    let c = Comment {
        id: m.id.clone(),
        ticket_id: ticket.to_string(),
        author_id: author,
        public: true,
        body_html: m.body.clone(),
        body_text: m.text.clone(),
        channel: m.kind.clone(),
        created_at: time(m.created_at),
        attachment_ids: files.iter().map(|f| f.row.id.clone()).collect(),
        raw: raw(v),
    };
    Ok((c, files))
}

/// A comment of conversation `ticket` as a private note, with its files.
pub fn comment(
    notes: &mut Notes,
    v: &Value,
    ticket: &str,
) -> Result<(Comment, Vec<File>), ExtractError> {
    let n: wire::Comment = notes.read("comments", v)?;
    let owner = Owner { ticket: Some(ticket), comment: Some(&n.id), article: None };
    let files = files(notes, v, owner)?;
    let c = Comment {
        id: n.id.clone(),
        ticket_id: ticket.to_string(),
        author_id: n.author.as_ref().map(|a| a.id.clone()),
        public: false,
        body_html: None,
        body_text: Some(n.body.clone()),
        channel: None,
        created_at: time(n.posted_at),
        attachment_ids: files.iter().map(|f| f.row.id.clone()).collect(),
        raw: raw(v),
    };
    Ok((c, files))
}

/// The contacts copied on a conversation's messages (`cc` recipients that are contacts), in
/// the order they first appear, oldest message first (`messages` as Front lists them, newest
/// first). A conversation has no CC list of its own; its messages do.
pub fn cc_contacts(messages: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in messages.iter().rev() {
        for r in m["recipients"].as_array().into_iter().flatten() {
            if r["role"].as_str() != Some("cc") {
                continue;
            }
            let id = r["_links"]["related"]["contact"].as_str().and_then(link_id);
            if let Some(id) = id.filter(|i| !out.contains(i)) {
                out.push(id);
            }
        }
    }
    out
}

/// Which account lists each contact (the first one, in list order).
pub fn memberships(pairs: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (contact, account) in pairs {
        out.entry(contact).or_insert(account);
    }
    out
}

/// Teammate id → the inboxes it works, from the teams (`GET /teams/{id}` answers, in list
/// order): a team's members work each of its inboxes. A team is no group of its own in the
/// bundle (its inboxes are), so a teammate's groups are its teams' inboxes, once each, in the
/// order the teams name them. A team that cannot be read is noted and left out.
pub fn team_inboxes(notes: &mut Notes, teams: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in teams {
        let t: wire::Team = match notes.read("groups", v) {
            Ok(t) => t,
            Err(e) => {
                notes.refused("groups", v, &e);
                continue;
            }
        };
        for m in &t.members {
            let groups = out.entry(m.id.clone()).or_default();
            for i in &t.inboxes {
                if !groups.contains(&i.id) {
                    groups.push(i.id.clone());
                }
            }
        }
    }
    // A teammate's inboxes in inbox id order (Front's lists are in no documented order).
    for groups in out.values_mut() {
        groups.sort_by(|a, b| deskferry_format::model::id_order(a, b));
    }
    out
}

/// The teammates following a conversation (`GET /conversations/{id}/followers`), once each.
pub fn followers(list: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in list.iter().filter_map(|t| t["id"].as_str()) {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// A knowledge-base category or article (`slim`, as its list shows it) and its content in each
/// locale (`contents`, the default locale first: the source row; each other locale a
/// translation `{id}@{locale}`), with the files of each locale's content. Its parent is the
/// category's parent category, or the article's category; an article's author is its last
/// editor. Without any content (every follow-up failed) the record is kept as listed: its id,
/// parent and times, no title.
pub fn kb_rows(
    notes: &mut Notes,
    table: &str,
    slim: &Value,
    contents: &[Value],
) -> Result<(Vec<KbItem>, Vec<File>), ExtractError> {
    let s: wire::KbSlim = notes.read(table, slim)?;
    let article = table == "kb_articles";
    let parent = if article {
        s.links.related.category.as_deref().and_then(link_id)
    } else {
        s.links.related.parent_category.as_deref().and_then(link_id)
    };
    let mut rows = Vec::new();
    let mut out_files = Vec::new();
    for v in contents {
        let c: wire::KbContent = match notes.read(table, v) {
            Ok(c) => c,
            Err(e) => {
                notes.refused(table, v, &e);
                continue;
            }
        };
        let id = match (rows.is_empty(), &c.locale) {
            (true, _) => s.id.clone(),
            (false, Some(l)) => format!("{}@{l}", s.id),
            (false, None) => continue,
        };
        if rows.iter().any(|r: &KbItem| r.id == id) {
            continue;
        }
        if article {
            let owner = Owner { ticket: None, comment: None, article: Some(&id) };
            out_files.extend(files(notes, v, owner)?);
        }
        rows.push(KbItem {
            translation_of: (id != s.id).then(|| s.id.clone()),
            id,
            parent_id: parent.clone(),
            locale: c.locale.clone(),
            title: c.name.clone().unwrap_or_default(),
            body_html: if article { c.content.clone() } else { c.description.clone() },
            author_id: c.links.related.last_editor.as_deref().and_then(link_id),
            draft: c.status.as_deref() == Some("draft"),
            position: None,
            labels: c.keywords.clone(),
            created_at: time(c.created_at.or(s.created_at)),
            updated_at: time(c.updated_at.or(s.updated_at)),
            raw: raw(v),
        });
    }
    if rows.is_empty() {
        rows.push(KbItem {
            id: s.id.clone(),
            parent_id: parent,
            locale: s.locales.first().cloned(),
            translation_of: None,
            title: String::new(),
            body_html: None,
            author_id: None,
            draft: false,
            position: None,
            labels: Vec::new(),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
            raw: raw(slim),
        });
    }
    Ok((rows, out_files))
}
