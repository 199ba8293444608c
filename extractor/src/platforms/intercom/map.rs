//! Pure conversion of Intercom's JSON into the canonical model; every record read with
//! [`Notes::read`], `raw` verbatim.
//!
//! Ids: admins, teams, companies, conversations, parts and Help Center records keep Intercom's
//! ids; contacts their 24-digit ids. A file has no id at Intercom: it is `{part id}-{n}` (its
//! place on the part, 1-based). A translation of a collection or an article is a row of its
//! own, `{id}-{locale}`, `translation_of` the original.

use chrono::{DateTime, Utc};
use deskferry_format::Warning;
use deskferry_format::model::{
    Attachment, AttachmentState, Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind,
    FieldOption, Group, GroupKind, KbItem, Organization, Priority, Ticket, TicketStatus, Timestamp,
    User, UserKind,
};
use serde_json::{Map, Value};

use super::wire;
use crate::error::ExtractError;
use crate::tolerant::Notes;

/// Notes for Intercom's records.
pub fn notes() -> Notes {
    Notes::new("intercom")
}

/// Most parts `GET /conversations/{id}` returns: "the 500 most recent" (Intercom's
/// documentation); no endpoint of API 2.14 pages the older ones.
pub const MAX_PARTS: usize = 500;

/// The canonical kind of a data attribute's `data_type` (a `string` with `options` is a list:
/// [`attribute_kind`]).
pub fn field_kind(data_type: &str) -> FieldKind {
    match data_type {
        "string" => FieldKind::Text,
        "integer" => FieldKind::Integer,
        "float" | "decimal" => FieldKind::Decimal,
        "boolean" => FieldKind::Checkbox,
        "date" => FieldKind::Date,
        "datetime" => FieldKind::Datetime,
        _ => FieldKind::Other,
    }
}

/// The kind of a data attribute: a list attribute (options) is a drop-down.
pub fn attribute_kind(data_type: &str, has_options: bool) -> FieldKind {
    match field_kind(data_type) {
        FieldKind::Text if has_options => FieldKind::Dropdown,
        k => k,
    }
}

/// A Unix time as Intercom sends it (0 is "never").
pub fn time(t: Option<i64>) -> Option<Timestamp> {
    t.filter(|t| *t > 0).and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
}

fn raw(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn some(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// An id that names nobody (`0`, empty) is none.
fn id_of(i: Option<wire::Id>) -> Option<String> {
    i.map(|i| i.0).filter(|i| !i.is_empty() && i != "0")
}

/// Custom attribute values as JSON text (nulls left out).
pub fn attributes(m: &Map<String, Value>) -> Vec<CustomFieldValue> {
    m.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| CustomFieldValue { key: k.clone(), value: v.to_string() })
        .collect()
}

fn person(id: String, kind: UserKind) -> User {
    User {
        id,
        kind,
        role_raw: None,
        name: None,
        email: None,
        other_emails: Vec::new(),
        phone: None,
        organization_id: None,
        group_ids: Vec::new(),
        active: true,
        suspended: false,
        is_deleted: false,
        locale: None,
        time_zone: None,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: String::new(),
    }
}

/// An admin (an agent); its teams are its groups.
pub fn admin(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::Admin = notes.read("users", v)?;
    let mut u = person(w.id.0, UserKind::Agent);
    u.name = some(w.name);
    u.email = some(w.email);
    u.group_ids = w.team_ids.into_iter().map(|t| t.0).collect();
    u.raw = raw(v);
    Ok(u)
}

/// A team.
pub fn team(v: &Value, notes: &mut Notes) -> Result<Group, ExtractError> {
    let w: wire::Team = notes.read("groups", v)?;
    Ok(Group {
        id: w.id.0,
        name: w.name.unwrap_or_default(),
        kind: GroupKind::Team,
        description: None,
        is_deleted: false,
        created_at: None,
        raw: raw(v),
    })
}

/// A contact (a user or a lead: `role_raw`); its first company is its organization (all of
/// them, and `has_more`, stay in `raw`).
pub fn contact(v: &Value, notes: &mut Notes) -> Result<User, ExtractError> {
    let w: wire::Contact = notes.read("users", v)?;
    let mut u = person(w.id.0, UserKind::EndUser);
    u.role_raw = some(w.role);
    u.name = some(w.name);
    u.email = some(w.email);
    u.phone = some(w.phone);
    u.locale = some(w.language_override);
    u.organization_id = w.companies.data.first().map(|c| c.id.0.clone());
    u.custom_fields = attributes(&w.custom_attributes);
    u.created_at = time(w.created_at);
    u.updated_at = time(w.updated_at);
    u.raw = raw(v);
    Ok(u)
}

/// A company's domain from its website (`https://example.com/…` → `example.com`).
pub fn domain(website: &str) -> Option<String> {
    let s = website.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let host = s.split(['/', '?', '#']).next().unwrap_or_default();
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A company.
pub fn company(v: &Value, notes: &mut Notes) -> Result<Organization, ExtractError> {
    let w: wire::Company = notes.read("organizations", v)?;
    Ok(Organization {
        id: w.id.0,
        name: w.name.unwrap_or_default(),
        domains: w.website.as_deref().and_then(domain).into_iter().collect(),
        notes: None,
        tags: w.tags.tags.into_iter().filter_map(|t| t.name).collect(),
        custom_fields: attributes(&w.custom_attributes),
        created_at: time(w.created_at),
        updated_at: time(w.updated_at),
        raw: raw(v),
    })
}

/// A custom data attribute as a field definition (`None` for a standard attribute, or one of a
/// model that holds no records the bundle has).
pub fn data_attribute(v: &Value, notes: &mut Notes) -> Result<Option<CustomField>, ExtractError> {
    let w: wire::DataAttribute = notes.read("custom_fields", v)?;
    let entity = match w.model.as_deref() {
        Some("contact") => FieldEntity::User,
        Some("company") => FieldEntity::Organization,
        Some("conversation") => FieldEntity::Ticket,
        _ => return Ok(None),
    };
    if !w.custom {
        return Ok(None);
    }
    let data_type = w.data_type.unwrap_or_else(|| "string".into());
    let key = w.name.unwrap_or_default();
    Ok(Some(CustomField {
        id: w.id.0,
        entity,
        title: w.label.filter(|l| !l.is_empty()).unwrap_or_else(|| key.clone()),
        key,
        kind: Some(attribute_kind(&data_type, !w.options.is_empty())),
        field_type: data_type,
        multiple: None,
        options: w
            .options
            .into_iter()
            .map(|o| FieldOption { value: o.clone(), label: o })
            .collect(),
        required: false,
        active: !w.archived,
        raw: raw(v),
    }))
}

/// A conversation's state as canonical status (`snoozed` waits like pending).
pub fn status(state: Option<&str>) -> TicketStatus {
    match state {
        Some("closed") => TicketStatus::Closed,
        Some("snoozed") => TicketStatus::Pending,
        _ => TicketStatus::Open,
    }
}

/// A file of a part and where its bytes are.
#[derive(Debug, Clone)]
pub struct File {
    /// The row.
    pub row: Attachment,
    /// Its URL (Intercom's signed download URL, on another host).
    pub url: String,
}

/// What one conversation becomes.
#[derive(Debug, Default)]
pub struct ConversationRows {
    /// The ticket (`raw`: the conversation without the parts that became comments).
    pub ticket: Option<Ticket>,
    /// The opening message and every comment or note.
    pub comments: Vec<Comment>,
    /// Their files.
    pub files: Vec<File>,
    /// Parts the answer left out (`total_count` beyond the parts it holds).
    pub parts_left_out: usize,
    /// Values read in a shape Intercom does not document (kept, noted).
    pub warnings: Vec<Warning>,
}

/// A part author's id, as the bundle names people: an admin's or a contact's id (a bot, a
/// team or an unknown author is nobody; `raw` keeps it).
fn author_id(a: &wire::Author) -> Option<String> {
    match a.kind.as_deref() {
        Some("admin" | "user" | "lead" | "contact") => id_of(a.id.clone()),
        _ => None,
    }
}

/// A file an HTML body shows or links from Intercom's CDN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnFile {
    /// Its URL as the body has it (`&amp;` unescaped).
    pub url: String,
    /// The last segment of its path, percent-decoded.
    pub name: String,
    /// Shown (`<img src>`) rather than only linked (`<a href>`).
    pub inline: bool,
}

/// The files `html` shows (`<img src>`) or links (`<a href>`) from Intercom's CDN: a path that
/// starts with `/i/o/`, as on `downloads.intercomcdn.com` and the newer
/// `*.intercom-attachments-N.com`, whatever the host. In the order the body has them, each
/// URL once; one both linked and shown counts as shown (an image wrapped in its own link).
pub fn cdn_files(html: &str) -> Vec<CdnFile> {
    let lower = html.to_ascii_lowercase();
    let mut out: Vec<CdnFile> = Vec::new();
    let mut pos = 0;
    while let Some(rel) = lower[pos..].find('<') {
        let start = pos + rel;
        let end = lower[start..].find('>').map_or(html.len(), |e| start + e);
        pos = end.max(start + 1);
        let tag = &lower[start + 1..end];
        let (attr, inline) =
            if tag.starts_with("img") && !tag[3..].starts_with(char::is_alphanumeric) {
                ("src", true)
            } else if tag.starts_with('a') && tag[1..].starts_with(char::is_whitespace) {
                ("href", false)
            } else {
                continue;
            };
        let Some(link) = attribute(&html[start..end], &lower[start..end], attr) else { continue };
        let link = link.replace("&amp;", "&");
        let Ok(url) = reqwest::Url::parse(&link) else { continue };
        if !url.path().starts_with("/i/o/") {
            continue;
        }
        if let Some(seen) = out.iter_mut().find(|f| f.url == link) {
            seen.inline |= inline;
            continue;
        }
        let name = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("file");
        out.push(CdnFile { url: link, name: percent_decoded(name), inline });
    }
    out
}

/// The images a message's body shows from Intercom's CDN ([`cdn_files`] shown, not only
/// linked): Intercom keeps an image pasted into a message there, not among the part's
/// `attachments`. (URL, file name) in the order the body shows them, each once.
pub fn cdn_images(html: &str) -> Vec<(String, String)> {
    cdn_files(html).into_iter().filter(|f| f.inline).map(|f| (f.url, f.name)).collect()
}

/// The files of article row `row` (an original or a translation): the Articles API lists none,
/// a file added in Intercom's article editor is in the body ([`cdn_files`]). `{row}-f{n}` in
/// the body's order, an image inline; the answer does not give their type.
pub fn article_files(row: &KbItem) -> Vec<File> {
    let body = row.body_html.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for (n, f) in cdn_files(body).into_iter().enumerate() {
        let key = if f.inline { "src" } else { "href" };
        let raw = raw(&serde_json::json!({ key: f.url }));
        let row = Attachment {
            article_id: Some(row.id.clone()),
            file_name: f.name,
            inline: f.inline,
            raw,
            ..file_to_fetch(format!("{}-f{}", row.id, n + 1))
        };
        out.push(File { row, url: f.url });
    }
    out
}

/// The value of attribute `name` in one tag (`lower` is the tag in lower case).
fn attribute<'a>(tag: &'a str, lower: &str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(rel) = lower[from..].find(name) {
        let at = from + rel;
        from = at + name.len();
        let before = lower[..at].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let rest = lower[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let value_at = lower.len() - rest.trim_start().len();
        let value = &tag[value_at..];
        return match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next(),
            _ => value.split(|c: char| c.is_whitespace() || c == '>').next(),
        };
    }
    None
}

/// A URL path segment with its `%XX` escapes decoded (an invalid one kept as written).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A message's files: those listed in its `attachments` (`{comment}-{n}`), then the images its
/// body shows from Intercom's CDN (`{comment}-i{n}`, inline; their type is not in the answer).
fn files_of(
    ticket: &str,
    comment: &str,
    list: &[Value],
    body: Option<&str>,
    notes: &mut Notes,
) -> (Vec<String>, Vec<File>) {
    let (mut ids, mut out) = listed_files(ticket, comment, list, notes);
    for (n, (url, name)) in cdn_images(body.unwrap_or("")).into_iter().enumerate() {
        let id = format!("{comment}-i{}", n + 1);
        ids.push(id.clone());
        let raw = raw(&serde_json::json!({ "src": url }));
        let row =
            Attachment { file_name: name, inline: true, raw, ..file_row(ticket, comment, id) };
        out.push(File { row, url });
    }
    (ids, out)
}

/// A file of message `comment` of conversation `ticket`, to be downloaded; no name, type or
/// size yet, not inline.
fn file_row(ticket: &str, comment: &str, id: String) -> Attachment {
    Attachment {
        ticket_id: Some(ticket.to_string()),
        comment_id: Some(comment.to_string()),
        ..file_to_fetch(id)
    }
}

/// A file `id` to be downloaded, of no record yet; no name, type or size, not inline.
fn file_to_fetch(id: String) -> Attachment {
    Attachment {
        id,
        ticket_id: None,
        comment_id: None,
        article_id: None,
        file_name: String::new(),
        content_type: None,
        size: None,
        sha256: None,
        inline: false,
        state: AttachmentState::Stored,
        error: None,
        raw: String::new(),
    }
}

fn listed_files(
    ticket: &str,
    comment: &str,
    list: &[Value],
    notes: &mut Notes,
) -> (Vec<String>, Vec<File>) {
    let mut ids = Vec::new();
    let mut out = Vec::new();
    for (n, av) in list.iter().enumerate() {
        match notes.read::<wire::Upload>("attachments", av) {
            Ok(u) => {
                let id = format!("{comment}-{}", n + 1);
                ids.push(id.clone());
                let row = Attachment {
                    file_name: u.name.unwrap_or_default(),
                    content_type: u.content_type,
                    size: u.filesize,
                    raw: raw(av),
                    ..file_row(ticket, comment, id)
                };
                out.push(File { row, url: u.url });
            }
            Err(e) => notes.refused("attachments", av, &e),
        }
    }
    (ids, out)
}

/// A conversation's or a ticket's parts: each comment or note, and each state change or
/// assignment with a body or files, as a comment of `id` (with its files) into `out`; the
/// others are returned, for the ticket's `raw`.
fn parts_of(id: &str, list: &[Value], notes: &mut Notes, out: &mut ConversationRows) -> Vec<Value> {
    let mut kept_in_ticket = Vec::new();
    for pv in list {
        let p: wire::Part = match notes.read("comments", pv) {
            Ok(p) => p,
            Err(e) => {
                notes.refused("comments", pv, &e);
                continue;
            }
        };
        let kind = p.part_type.as_deref().unwrap_or("comment");
        let body = some(p.body.clone());
        let is_message = matches!(kind, "comment" | "note");
        if !is_message && body.is_none() && p.attachments.is_empty() {
            kept_in_ticket.push(pv.clone());
            continue;
        }
        if p.created_at.is_some_and(|t| t.as_text) {
            // Kept: the number is read from the text; `raw` has it as sent.
            out.warnings.push(Warning::note(
                "comments",
                Some(p.id.0.clone()),
                "field `created_at` holds a number as text where intercom documents an integer; read as that number, the record is kept and its raw JSON has the value".into(),
            ));
        }
        let (att_ids, files) = files_of(id, &p.id.0, &p.attachments, body.as_deref(), notes);
        out.files.extend(files);
        out.comments.push(Comment {
            id: p.id.0.clone(),
            ticket_id: id.to_string(),
            author_id: author_id(&p.author),
            public: kind == "comment",
            body_html: body,
            body_text: None,
            channel: None,
            created_at: time(p.created_at.map(|t| t.secs)),
            attachment_ids: att_ids,
            raw: raw(pv),
        });
    }
    kept_in_ticket
}

/// A conversation read whole (`GET /conversations/{id}`): the ticket, the opening message and
/// each comment or note as comments (a state change or an assignment with a body is a private
/// comment; one without stays in the ticket's `raw`), their files.
pub fn conversation(v: &Value, notes: &mut Notes) -> Result<ConversationRows, ExtractError> {
    let w: wire::Conversation = notes.read("tickets", v)?;
    let id = w.id.0.clone();
    let mut contacts = w.contacts.contacts.iter().map(|c| c.id.0.clone());
    let requester_id = contacts.next();
    let cc_ids: Vec<String> = contacts.collect();
    let priority = match w.priority.as_deref() {
        Some("priority") => Some(Priority::High),
        _ => None,
    };
    let mut out = ConversationRows::default();
    // The opening message.
    let src = &w.source;
    let src_id = id_of(src.id.clone()).unwrap_or_else(|| format!("{id}-source"));
    let (att_ids, files) = files_of(&id, &src_id, &src.attachments, src.body.as_deref(), notes);
    out.files.extend(files);
    out.comments.push(Comment {
        id: src_id,
        ticket_id: id.clone(),
        author_id: author_id(&src.author),
        public: true,
        body_html: some(src.body.clone()),
        body_text: None,
        channel: None,
        created_at: time(w.created_at),
        attachment_ids: att_ids,
        raw: raw(v.get("source").unwrap_or(&Value::Null)),
    });
    // Every part.
    let parts = w.conversation_parts.clone().unwrap_or_default();
    let kept_in_ticket = parts_of(&id, &parts.conversation_parts, notes, &mut out);
    // Intercom answers the 500 most recent parts; `total_count` and the statistics' count
    // say how many there are.
    let counted = v.pointer("/statistics/count_conversation_parts").and_then(Value::as_u64);
    let total = parts.total_count.unwrap_or(0).max(counted.unwrap_or(0)) as usize;
    out.parts_left_out = total.saturating_sub(parts.conversation_parts.len());
    let mut raw_v = v.clone();
    if let Some(o) = raw_v.as_object_mut() {
        o.remove("source");
        if let Some(p) = o.get_mut("conversation_parts").and_then(Value::as_object_mut) {
            p.insert("conversation_parts".into(), Value::Array(kept_in_ticket));
        }
    }
    out.ticket = Some(Ticket {
        subject: some(w.title),
        status: status(w.state.as_deref()),
        status_raw: w.state,
        priority,
        priority_raw: w.priority,
        channel: some(src.kind.clone()),
        requester_id,
        submitter_id: author_id(&src.author),
        assignee_id: id_of(w.admin_assignee_id),
        group_id: id_of(w.team_assignee_id),
        cc_ids,
        tags: w.tags.tags.into_iter().filter_map(|t| t.name).collect(),
        custom_fields: attributes(&w.custom_attributes),
        created_at: time(w.created_at),
        updated_at: time(w.updated_at),
        raw: raw(&raw_v),
        ..Ticket::blank(id.as_str())
    });
    Ok(out)
}

/// A translated-content map's locales other than `default` (and its `type`), in order.
/// The built-in ticket attributes: the title and the description.
const TITLE: &str = "_default_title_";
const DESCRIPTION: &str = "_default_description_";

/// A ticket state's category as canonical status.
pub fn ticket_status(category: Option<&str>) -> TicketStatus {
    match category {
        Some("submitted") => TicketStatus::New,
        Some("waiting_on_customer") => TicketStatus::Pending,
        Some("resolved") => TicketStatus::Solved,
        _ => TicketStatus::Open,
    }
}

/// A ticket's own values: its attributes but the built-in title and description.
fn ticket_values(m: &Map<String, Value>) -> Vec<CustomFieldValue> {
    let mut values = attributes(m);
    values.retain(|v| v.key != TITLE && v.key != DESCRIPTION);
    values
}

fn text_attribute(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty())
}

/// A ticket without its parts that became comments, for a `raw`.
fn ticket_raw(v: &Value, kept: Vec<Value>) -> Value {
    let mut out = v.clone();
    if let Some(p) = out.get_mut("ticket_parts").and_then(Value::as_object_mut) {
        p.insert("ticket_parts".into(), Value::Array(kept));
    }
    out
}

/// What a Customer ticket's conversation takes from its search row, kept while the
/// conversations are read: the row without its parts (the conversation's are the messages)
/// and with its type as a reference (`{type, id, name, category}`: the type's attributes are
/// the field definitions', read once), so that holding every Customer ticket of a workspace
/// costs its values, not its type's definition again and again.
pub fn ticket_summary(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("ticket_parts");
        if let Some(Value::Object(t)) = o.get_mut("ticket_type") {
            t.retain(|k, _| matches!(k.as_str(), "type" | "id" | "name" | "category"));
        }
    }
    v
}

/// A conversation that is an Intercom ticket (a Customer ticket: its id is the
/// conversation's) takes the ticket's type, state, title and values; its `raw` gains the
/// ticket ([`ticket_summary`]: no parts, the type as a reference) under `ticket`.
pub fn with_ticket(t: &mut Ticket, v: &Value, notes: &mut Notes) -> Result<(), ExtractError> {
    let w: wire::Ticket = notes.read("tickets", v)?;
    let state = w.state();
    t.status = ticket_status(state.as_deref());
    t.status_raw = state;
    t.ticket_type = w.ticket_type.and_then(|x| x.name);
    if let Some(title) = text_attribute(&w.ticket_attributes, TITLE) {
        t.subject = Some(title);
    }
    t.custom_fields = ticket_values(&w.ticket_attributes);
    let mut conv: Value = serde_json::from_str(&t.raw).unwrap_or(Value::Null);
    if let Some(o) = conv.as_object_mut() {
        o.insert("ticket".into(), ticket_raw(v, Vec::new()));
    }
    t.raw = raw(&conv);
    Ok(())
}

/// An Intercom ticket that is no conversation (Back-office, Tracker: `GET /tickets/{id}` or a
/// row of `POST /tickets/search`, parts included): the ticket; its description as the opening
/// message (`{id}-description`, at the ticket's time; the answer names no author; public only
/// on a Customer ticket), with the images it shows; each part as a conversation's.
pub fn ticket(v: &Value, notes: &mut Notes) -> Result<ConversationRows, ExtractError> {
    let w: wire::Ticket = notes.read("tickets", v)?;
    let id = w.id.0.clone();
    let mut out = ConversationRows::default();
    let mut contacts = w.contacts.contacts.iter().map(|c| c.id.0.clone());
    let requester_id = contacts.next();
    let cc_ids: Vec<String> = contacts.collect();
    let description = text_attribute(&w.ticket_attributes, DESCRIPTION);
    if description.is_some() {
        let cid = format!("{id}-description");
        let (att_ids, files) = files_of(&id, &cid, &[], description.as_deref(), notes);
        out.files.extend(files);
        out.comments.push(Comment {
            id: cid,
            ticket_id: id.clone(),
            author_id: None,
            public: w.category.as_deref() == Some("Customer"),
            body_html: description,
            body_text: None,
            channel: None,
            created_at: time(w.created_at),
            attachment_ids: att_ids,
            raw: raw(&serde_json::json!({ DESCRIPTION: v.pointer("/ticket_attributes/_default_description_") })),
        });
    }
    let parts = w.ticket_parts.clone().unwrap_or_default();
    let kept = parts_of(&id, &parts.ticket_parts, notes, &mut out);
    let total = parts.total_count.unwrap_or(0) as usize;
    out.parts_left_out = total.saturating_sub(parts.ticket_parts.len());
    let state = w.state();
    out.ticket = Some(Ticket {
        subject: text_attribute(&w.ticket_attributes, TITLE),
        status: ticket_status(state.as_deref()),
        status_raw: state,
        ticket_type: w.ticket_type.and_then(|x| x.name),
        requester_id,
        assignee_id: id_of(w.admin_assignee_id),
        group_id: id_of(w.team_assignee_id),
        cc_ids,
        custom_fields: ticket_values(&w.ticket_attributes),
        created_at: time(w.created_at),
        updated_at: time(w.updated_at),
        raw: raw(&ticket_raw(v, kept)),
        ..Ticket::blank(id.as_str())
    });
    Ok(out)
}

/// A ticket type's attributes as ticket field definitions: those not built in, nor named in
/// `known` (a conversation attribute, or another type's attribute, of that name: one field
/// holds its values). A `list` attribute's options are its `list_options`' labels.
pub fn ticket_type_fields(
    v: &Value,
    known: &mut std::collections::BTreeSet<String>,
    notes: &mut Notes,
) -> Vec<CustomField> {
    // `{type: list, data: [...]}` in the 2.14 file's examples; its schema names the array
    // `ticket_type_attributes`.
    let list = v
        .pointer("/ticket_type_attributes/data")
        .or_else(|| v.pointer("/ticket_type_attributes/ticket_type_attributes"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for av in &list {
        let a: wire::TicketTypeAttribute = match notes.read("custom_fields", av) {
            Ok(a) => a,
            Err(e) => {
                notes.refused("custom_fields", av, &e);
                continue;
            }
        };
        let Some(key) = a.name.filter(|n| !n.is_empty()) else { continue };
        if a.default || key == TITLE || key == DESCRIPTION || !known.insert(key.clone()) {
            continue;
        }
        let data_type = a.data_type.unwrap_or_else(|| "string".into());
        let options: Vec<FieldOption> = a
            .input_options
            .get("list_options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("label").and_then(Value::as_str))
            .map(|l| FieldOption { value: l.to_string(), label: l.to_string() })
            .collect();
        let kind = match data_type.as_str() {
            "list" => FieldKind::Dropdown,
            "files" => FieldKind::Other,
            t => field_kind(t),
        };
        out.push(CustomField {
            id: format!("ticket_type_attribute-{}", a.id.0),
            entity: FieldEntity::Ticket,
            title: key.clone(),
            key,
            field_type: data_type,
            kind: Some(kind),
            multiple: None,
            options,
            required: false,
            active: !a.archived,
            raw: raw(av),
        });
    }
    out
}

fn other_locales<'a>(
    tc: &'a Map<String, Value>,
    default: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    tc.iter().filter(move |(l, c)| l.as_str() != "type" && l.as_str() != default && c.is_object())
}

/// A collection and its translations: a category (top level) or a section (nested); `true`
/// when it is a section.
pub fn collection(v: &Value, notes: &mut Notes) -> Result<(bool, Vec<KbItem>), ExtractError> {
    let w: wire::Collection = notes.read("kb_categories", v)?;
    let section = id_of(w.parent_id.clone()).is_some();
    let table = if section { "kb_sections" } else { "kb_categories" };
    let locale = w.default_locale.clone().unwrap_or_else(|| "en".into());
    let item = KbItem {
        id: w.id.0.clone(),
        parent_id: id_of(w.parent_id.clone()),
        locale: Some(locale.clone()),
        translation_of: None,
        title: w.name.clone().unwrap_or_default(),
        body_html: some(w.description.clone()),
        author_id: None,
        draft: false,
        position: w.order,
        labels: Vec::new(),
        created_at: time(w.created_at),
        updated_at: time(w.updated_at),
        raw: raw(v),
    };
    let mut rows = vec![item.clone()];
    for (l, c) in other_locales(&w.translated_content, &locale) {
        let Ok(t) = notes.read::<wire::GroupContent>(table, c) else { continue };
        rows.push(KbItem {
            id: format!("{}-{l}", item.id),
            locale: Some(l.clone()),
            translation_of: Some(item.id.clone()),
            title: t.name.unwrap_or_default(),
            body_html: some(t.description),
            raw: raw(c),
            ..item.clone()
        });
    }
    Ok((section, rows))
}

/// An article and its translations.
pub fn article(v: &Value, notes: &mut Notes) -> Result<Vec<KbItem>, ExtractError> {
    let w: wire::Article = notes.read("kb_articles", v)?;
    let locale = w.default_locale.clone().unwrap_or_else(|| "en".into());
    let item = KbItem {
        id: w.id.0.clone(),
        parent_id: id_of(w.parent_id.clone()),
        locale: Some(locale.clone()),
        translation_of: None,
        title: w.title.clone().unwrap_or_default(),
        body_html: some(w.body.clone()),
        author_id: id_of(w.author_id.clone()),
        draft: w.state.as_deref() == Some("draft"),
        position: None,
        labels: Vec::new(),
        created_at: time(w.created_at),
        updated_at: time(w.updated_at),
        raw: raw(v),
    };
    let mut rows = vec![item.clone()];
    for (l, c) in other_locales(&w.translated_content, &locale) {
        let Ok(t) = notes.read::<wire::ArticleContent>("kb_articles", c) else { continue };
        rows.push(KbItem {
            id: format!("{}-{l}", item.id),
            locale: Some(l.clone()),
            translation_of: Some(item.id.clone()),
            title: t.title.unwrap_or_default(),
            body_html: some(t.body),
            author_id: id_of(t.author_id).or(item.author_id.clone()),
            draft: t.state.as_deref() == Some("draft"),
            created_at: time(t.created_at),
            updated_at: time(t.updated_at),
            raw: raw(c),
            ..item.clone()
        });
    }
    Ok(rows)
}
