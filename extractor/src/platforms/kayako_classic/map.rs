//! Pure conversion of Kayako Classic's records (read from XML, [`super::wire`]) to the
//! canonical model. `raw` is each record's XML verbatim.

use std::collections::BTreeMap;

use chrono::TimeZone;
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, FieldEntity, FieldKind, FieldOption, Group,
    GroupKind, KbItem, Organization, Priority, Ticket, TicketStatus, Timestamp, User, UserKind,
};
use serde_json::Value;

use super::wire;
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// The platform name in notes and envelopes.
pub const PLATFORM: &str = "kayako-classic";

/// Notes of this platform's records.
pub fn notes() -> Notes {
    Notes::new(PLATFORM)
}

/// Unix seconds as a time; 0 and none are no time.
pub fn time(secs: Option<i64>) -> Option<Timestamp> {
    secs.filter(|s| *s > 0).and_then(|s| chrono::Utc.timestamp_opt(s, 0).single())
}

/// An id sent as a number; 0 and none are no id.
pub fn id(n: Option<i64>) -> Option<String> {
    n.filter(|n| *n > 0).map(|n| n.to_string())
}

fn some(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Reads the typed view of one record element.
pub fn read<T: serde::de::DeserializeOwned>(
    notes: &mut Notes,
    entity: &str,
    el: &wire::Element,
) -> Result<T, ExtractError> {
    notes.read(entity, &el.to_json())
}

/// The normalised kind of a Classic field type (its number as text): 1 text, 2 text area,
/// 3 password, 4 check boxes, 5 radio buttons, 6 select, 7 multi-select, 8 custom, 9 linked
/// select, 10 date, 11 file.
pub fn field_kind(field_type: &str) -> FieldKind {
    match field_type.trim() {
        "1" | "3" => FieldKind::Text,
        "2" => FieldKind::Textarea,
        "4" | "7" => FieldKind::Multiselect,
        "5" | "6" | "9" => FieldKind::Dropdown,
        "10" => FieldKind::Date,
        _ => FieldKind::Other,
    }
}

/// A department as a group.
pub fn department(d: wire::Department, raw: &str) -> Group {
    Group {
        id: d.id,
        name: some(d.title).unwrap_or_default(),
        kind: GroupKind::Group,
        description: None,
        is_deleted: false,
        created_at: None,
        raw: raw.to_string(),
    }
}

/// A staff member as an agent; `groups` are the staff groups' titles by id.
pub fn staff(s: wire::Staff, groups: &BTreeMap<String, String>, raw: &str) -> User {
    User {
        id: s.id,
        kind: UserKind::Agent,
        role_raw: id(s.staffgroupid).and_then(|g| groups.get(&g).cloned()),
        name: some(s.fullname),
        email: some(s.email),
        other_emails: Vec::new(),
        phone: some(s.mobilenumber),
        organization_id: None,
        group_ids: Vec::new(),
        active: s.isenabled != Some(0),
        suspended: false,
        is_deleted: false,
        locale: None,
        time_zone: some(s.timezone),
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: raw.to_string(),
    }
}

/// A user (an end user): the first address is the main one.
pub fn user(u: wire::User, raw: &str) -> User {
    let mut emails = u.email.into_iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    User {
        id: u.id,
        kind: UserKind::EndUser,
        role_raw: some(u.userrole),
        name: some(u.fullname),
        email: emails.next(),
        other_emails: emails.collect(),
        phone: some(u.phone),
        organization_id: id(u.userorganizationid),
        group_ids: Vec::new(),
        active: u.isenabled != Some(0),
        suspended: false,
        is_deleted: false,
        locale: None,
        time_zone: some(u.timezone),
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: time(u.dateline),
        updated_at: None,
        raw: raw.to_string(),
    }
}

/// A user organization.
pub fn organization(o: wire::Organization, raw: &str) -> Organization {
    Organization {
        id: o.id,
        name: some(o.name).unwrap_or_default(),
        domains: Vec::new(),
        notes: None,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: time(o.dateline),
        updated_at: time(o.lastupdate),
        raw: raw.to_string(),
    }
}

/// A ticket field definition with its options (a select's option values are their ids).
pub fn field(f: wire::FieldDef, options: Vec<wire::FieldOption>, raw: &str) -> CustomField {
    let t = f.fieldtype.map(|t| t.to_string()).unwrap_or_default();
    let regexp = some(f.regexpvalidate);
    let mut kind = field_kind(&t);
    if kind == FieldKind::Text && t == "1" && regexp.is_some() {
        kind = FieldKind::Regexp;
    }
    let options = if kind.has_options() {
        options
            .into_iter()
            .map(|o| FieldOption {
                value: o.customfieldoptionid,
                label: o.optionvalue.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    CustomField {
        id: f.customfieldid.clone(),
        entity: FieldEntity::Ticket,
        key: some(f.fieldname).unwrap_or(f.customfieldid),
        title: some(f.title).unwrap_or_default(),
        field_type: t,
        kind: Some(kind),
        multiple: None,
        options,
        required: f.isrequired == Some(1),
        active: true,
        raw: raw.to_string(),
    }
}

/// A ticket's value of field `f` as canonical JSON text, from the text Classic shows (a
/// select's option title, a multi-select's titles joined by `, `, a date `MM/DD/YYYY`).
/// `None` for an empty value or one that names no option.
pub fn field_value(f: &CustomField, text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let option = |label: &str| f.options.iter().find(|o| o.label == label).map(|o| &o.value);
    let v = match f.kind? {
        FieldKind::Dropdown => Value::String(option(text)?.clone()),
        FieldKind::Multiselect => Value::Array(
            text.split(", ")
                .map(|l| option(l).map(|v| Value::String(v.clone())))
                .collect::<Option<Vec<_>>>()?,
        ),
        FieldKind::Date => {
            let d = chrono::NaiveDate::parse_from_str(text, "%m/%d/%Y").ok()?;
            Value::String(d.format("%Y-%m-%d").to_string())
        }
        _ => Value::String(text.to_string()),
    };
    Some(v.to_string())
}

/// A status title and whether it marks a ticket resolved, as a canonical status and the spam
/// flag (titles are the install's own: known words first, else resolved means closed).
pub fn status(title: &str, resolved: bool) -> (TicketStatus, bool) {
    match title.trim().to_ascii_lowercase().as_str() {
        "new" => (TicketStatus::New, false),
        "open" => (TicketStatus::Open, false),
        "pending" | "in progress" | "awaiting reply" => (TicketStatus::Pending, false),
        "on hold" => (TicketStatus::OnHold, false),
        "resolved" | "solved" => (TicketStatus::Solved, false),
        "closed" => (TicketStatus::Closed, false),
        "spam" => (TicketStatus::Closed, true),
        _ if resolved => (TicketStatus::Closed, false),
        _ => (TicketStatus::Open, false),
    }
}

/// A priority title as a canonical priority (Classic's Emergency and Critical are urgent).
pub fn priority(title: &str) -> Option<Priority> {
    Some(match title.trim().to_ascii_lowercase().as_str() {
        "low" => Priority::Low,
        "normal" | "medium" => Priority::Normal,
        "high" => Priority::High,
        "urgent" | "emergency" | "critical" => Priority::Urgent,
        _ => return None,
    })
}

/// The account's lookups a ticket names by id.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// Status id → (title, marks resolved).
    pub statuses: BTreeMap<String, (String, bool)>,
    /// Priority id → title.
    pub priorities: BTreeMap<String, String>,
    /// Type id → title.
    pub types: BTreeMap<String, String>,
    /// Staff group id → title.
    pub staff_groups: BTreeMap<String, String>,
}

/// A ticket (its custom field values are added by the caller).
pub fn ticket(t: wire::Ticket, l: &Lookups, raw: &str) -> Ticket {
    let deleted = t.departmentid == Some(0);
    let (status_raw, resolved) =
        id(t.statusid).and_then(|s| l.statuses.get(&s).cloned()).unwrap_or_default();
    let (status, is_spam) = status(&status_raw, resolved);
    let priority_raw = id(t.priorityid).and_then(|p| l.priorities.get(&p).cloned());
    let group = if deleted { t.trasholddepartmentid } else { t.departmentid };
    Ticket {
        id: t.id,
        number: some(t.displayid),
        subject: some(t.subject),
        status,
        status_raw: Some(status_raw).filter(|s| !s.is_empty()),
        priority: priority_raw.as_deref().and_then(priority),
        priority_raw,
        ticket_type: id(t.typeid).and_then(|x| l.types.get(&x).cloned()),
        channel: None,
        requester_id: id(t.userid),
        other_requester_ids: Vec::new(),
        submitter_id: None,
        assignee_id: id(t.ownerstaffid),
        group_id: id(group),
        organization_id: id(t.userorganizationid),
        cc_ids: Vec::new(),
        follower_ids: t.watcher.into_iter().map(|w| w.staffid).collect(),
        // Classic keeps tags as one line separated by spaces.
        tags: t.tags.unwrap_or_default().split_whitespace().map(str::to_string).collect(),
        custom_fields: Vec::new(),
        created_at: time(t.creationtime),
        updated_at: time(t.lastactivity),
        solved_at: None,
        due_at: time(t.resolutiondue),
        is_deleted: deleted,
        is_spam,
        raw: raw.to_string(),
    }
}

/// A post (public): its author is its staff member, else its user.
pub fn post(p: wire::Post, ticket: &str, raw: &str) -> Comment {
    let body = p.contents.unwrap_or_default();
    let html = p.ishtml == Some(1);
    Comment {
        id: p.id,
        ticket_id: ticket.to_string(),
        author_id: id(p.staffid).or(id(p.userid)),
        public: true,
        body_html: html.then(|| body.clone()),
        body_text: (!html).then_some(body),
        channel: None,
        created_at: time(p.dateline),
        attachment_ids: Vec::new(),
        raw: raw.to_string(),
    }
}

/// A ticket note (staff only: private).
pub fn note(n: wire::Note, ticket: &str, raw: &str) -> Comment {
    Comment {
        id: n.id,
        ticket_id: ticket.to_string(),
        author_id: id(n.creatorstaffid),
        public: false,
        body_html: None,
        body_text: Some(n.contents.unwrap_or_default()),
        channel: None,
        created_at: time(n.creationdate),
        attachment_ids: Vec::new(),
        raw: raw.to_string(),
    }
}

/// An attachment row (its bytes are fetched by the caller).
pub fn attachment(
    a: wire::Attachment,
    ticket: Option<&str>,
    article: Option<&str>,
    raw: &str,
) -> Attachment {
    Attachment {
        id: a.id,
        ticket_id: ticket.map(str::to_string),
        comment_id: id(a.ticketpostid).filter(|_| ticket.is_some()),
        article_id: article.map(str::to_string),
        file_name: some(a.filename).unwrap_or_else(|| "attachment".into()),
        content_type: some(a.filetype),
        size: a.filesize,
        sha256: None,
        inline: false,
        state: AttachmentState::Stored,
        error: None,
        raw: raw.to_string(),
    }
}

/// A knowledge-base category: a top-level one (a category), or a child (a section).
pub fn kb_category(c: wire::KbCategory, raw: &str) -> (bool, KbItem) {
    let parent = id(c.parentkbcategoryid);
    let item = KbItem {
        id: c.id,
        parent_id: parent.clone(),
        locale: None,
        translation_of: None,
        title: some(c.title).unwrap_or_default(),
        body_html: None,
        author_id: None,
        draft: false,
        position: c.displayorder,
        labels: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: raw.to_string(),
    };
    (parent.is_none(), item)
}

/// A knowledge-base article (status 2 is a draft).
pub fn kb_article(a: wire::KbArticle, raw: &str) -> KbItem {
    let created = time(a.dateline);
    let edited = if a.isedited == Some(1) { time(a.editeddateline) } else { None };
    KbItem {
        id: a.kbarticleid,
        parent_id: a
            .categories
            .and_then(|c| c.categoryid.into_iter().find(|x| x.trim() != "0" && !x.is_empty())),
        locale: None,
        translation_of: None,
        title: some(a.subject).unwrap_or_default(),
        body_html: a.contents,
        author_id: id(a.creatorid),
        draft: a.articlestatus == Some(2),
        position: None,
        labels: Vec::new(),
        created_at: created,
        updated_at: edited.or(created),
        raw: raw.to_string(),
    }
}
