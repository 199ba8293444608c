//! Serde types of Intercom's JSON (REST API 2.x), read tolerantly ([`crate::tolerant`]): only
//! ids are required. Where each shape was learned is listed in docs/platforms/intercom.md; the
//! surprising ones are noted here.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// An id: Intercom sends most ids as text, some as numbers (`team_ids`, `admin_assignee_id`,
/// `data_attribute.id`, `author_id` of an article; older answers any of them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        Ok(Id(match Raw::deserialize(d)? {
            Raw::N(n) => n.to_string(),
            Raw::S(s) => s,
        }))
    }
}

/// An admin (a teammate).
#[derive(Debug, Clone, Deserialize)]
pub struct Admin {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Teams it belongs to (numbers in the OpenAPI examples).
    #[serde(default)]
    pub team_ids: Vec<Id>,
    /// Away.
    #[serde(default)]
    pub away_mode_enabled: bool,
    /// Whether it has a seat (an admin without one cannot be assigned conversations).
    #[serde(default)]
    pub has_inbox_seat: Option<bool>,
}

/// A team.
#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A `{type: list, data: [...], has_more}` sub-list of a contact (companies, tags).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct SubList {
    /// References (`{type, id, url}`).
    #[serde(default)]
    pub data: Vec<Ref>,
    /// More than `data` holds (read them from `url`).
    #[serde(default)]
    pub has_more: bool,
    /// How many there are.
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// A reference to a record (`{type, id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Ref {
    /// Id.
    pub id: Id,
}

/// A contact's location (its time zone where Intercom knows it).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Location {
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
}

/// A contact: a user or a lead.
#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    /// Id (24 hexadecimal digits).
    pub id: Id,
    /// `user` or `lead`.
    #[serde(default)]
    pub role: Option<String>,
    /// The id it has in the customer's own system.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Language (a locale), when Intercom saw one.
    #[serde(default)]
    pub language_override: Option<String>,
    /// Created (Unix seconds).
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated (Unix seconds).
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Custom attributes by name (values of any JSON type).
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// Companies it is attached to.
    #[serde(default)]
    pub companies: SubList,
    /// Tags.
    #[serde(default)]
    pub tags: SubList,
}

/// A company.
#[derive(Debug, Clone, Deserialize)]
pub struct Company {
    /// Intercom's id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// The id in the customer's own system.
    #[serde(default)]
    pub company_id: Option<String>,
    /// Created in the customer's system.
    #[serde(default)]
    pub remote_created_at: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// Custom attributes.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// Tags (`{type: tag.list, tags: [...]}`).
    #[serde(default)]
    pub tags: TagList,
}

/// A data attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct DataAttribute {
    /// Id (a number; standard attributes have none in some answers, and are skipped).
    pub id: Id,
    /// `contact`, `company` or `conversation`.
    #[serde(default)]
    pub model: Option<String>,
    /// Name (the key in `custom_attributes`).
    #[serde(default)]
    pub name: Option<String>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// `string`, `integer`, `float`, `boolean`, `date`, `datetime`.
    #[serde(default)]
    pub data_type: Option<String>,
    /// A list attribute's options.
    #[serde(default)]
    pub options: Vec<String>,
    /// A custom attribute (standard ones are Intercom's own fields).
    #[serde(default)]
    pub custom: bool,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
}

/// A tag on a conversation or a company.
#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `{type: tag.list, tags: [...]}`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TagList {
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// Who wrote a part: `{type: admin|user|lead|bot|team, id}`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Author {
    /// Type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Id.
    #[serde(default)]
    pub id: Option<Id>,
}

/// A file on a part (`type: upload`): no id of its own, a signed URL on another host.
#[derive(Debug, Clone, Deserialize)]
pub struct Upload {
    /// File name.
    #[serde(default)]
    pub name: Option<String>,
    /// Where its bytes are.
    pub url: String,
    /// MIME type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub filesize: Option<i64>,
}

/// The message that opened a conversation.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Source {
    /// Its id (a message id, not the conversation's).
    #[serde(default)]
    pub id: Option<Id>,
    /// `conversation`, `email`, `push`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `customer_initiated`, `admin_initiated`, `automated`…
    #[serde(default)]
    pub delivered_as: Option<String>,
    /// HTML body.
    #[serde(default)]
    pub body: Option<String>,
    /// Its author.
    #[serde(default)]
    pub author: Author,
    /// Files, read one by one (`Upload`).
    #[serde(default)]
    pub attachments: Vec<Value>,
}

/// The contacts of a conversation (`{type: contact.list, contacts: [...]}`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Contacts {
    /// References.
    #[serde(default)]
    pub contacts: Vec<Ref>,
}

/// The parts of a conversation: at most 500 (`total_count` counts them all).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Parts {
    /// Parts, read one by one.
    #[serde(default)]
    pub conversation_parts: Vec<Value>,
    /// How many parts the conversation has.
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// A conversation.
#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: Id,
    /// Title (email subject or set by an admin).
    #[serde(default)]
    pub title: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// `open`, `closed`, `snoozed`.
    #[serde(default)]
    pub state: Option<String>,
    /// `priority` or `not_priority`.
    #[serde(default)]
    pub priority: Option<String>,
    /// The assigned admin (a number in the OpenAPI examples).
    #[serde(default)]
    pub admin_assignee_id: Option<Id>,
    /// The assigned team.
    #[serde(default)]
    pub team_assignee_id: Option<Id>,
    /// Tags.
    #[serde(default)]
    pub tags: TagList,
    /// The opening message.
    #[serde(default)]
    pub source: Source,
    /// Its contacts (the first the requester, the others participants).
    #[serde(default)]
    pub contacts: Contacts,
    /// Conversation attributes.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// Parts (only in `GET /conversations/{id}`).
    #[serde(default)]
    pub conversation_parts: Option<Parts>,
}

/// An Intercom ticket (`GET /tickets/{id}`, `POST /tickets/search`).
#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    /// Id (a Customer ticket's is its conversation's).
    pub id: Id,
    /// `Customer`, `Back-office`, `Tracker`.
    #[serde(default)]
    pub category: Option<String>,
    /// Its values by attribute name (`_default_title_`, `_default_description_`, then the
    /// ticket type's own).
    #[serde(default)]
    pub ticket_attributes: Map<String, Value>,
    /// Its state: `{type: ticket_state, category, …}` in 2.14; a bare category in the
    /// answers of older versions ([`Ticket::state`]).
    #[serde(default)]
    pub ticket_state: Value,
    /// Its type.
    #[serde(default)]
    pub ticket_type: Option<TicketTypeRef>,
    /// Its contacts.
    #[serde(default)]
    pub contacts: Contacts,
    /// The assigned admin (`"0"`: nobody).
    #[serde(default)]
    pub admin_assignee_id: Option<Id>,
    /// The assigned team (`"0"`: none).
    #[serde(default)]
    pub team_assignee_id: Option<Id>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Its parts: at most 500 (`total_count` counts them all).
    #[serde(default)]
    pub ticket_parts: Option<TicketParts>,
}

impl Ticket {
    /// The state's category (`submitted`, `in_progress`, `waiting_on_customer`, `resolved`).
    pub fn state(&self) -> Option<String> {
        match &self.ticket_state {
            Value::String(s) => Some(s.clone()),
            v => v.get("category").and_then(Value::as_str).map(str::to_string),
        }
    }
}

/// A ticket's type as a ticket names it.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TicketTypeRef {
    /// Id.
    #[serde(default)]
    pub id: Option<Id>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A ticket's parts.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TicketParts {
    /// Parts, read one by one ([`Part`]).
    #[serde(default)]
    pub ticket_parts: Vec<Value>,
    /// How many parts the ticket has.
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// A ticket type's attribute (`GET /ticket_types`).
#[derive(Debug, Clone, Deserialize)]
pub struct TicketTypeAttribute {
    /// Id.
    pub id: Id,
    /// Name (the key of its values in `ticket_attributes`).
    #[serde(default)]
    pub name: Option<String>,
    /// `string`, `list`, `integer`, `decimal`, `boolean`, `datetime`, `files`.
    #[serde(default)]
    pub data_type: Option<String>,
    /// `{multiline}`, or a list's `{list_options: [{id, label}]}`.
    #[serde(default)]
    pub input_options: Value,
    /// Built in (the title, the description).
    #[serde(default)]
    pub default: bool,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
}

/// One part of a conversation (or of a ticket: `ticket_part`, the same fields).
#[derive(Debug, Clone, Deserialize)]
pub struct Part {
    /// Id.
    pub id: Id,
    /// `comment`, `note`, `assignment`, `open`, `close`, `snoozed`, …
    #[serde(default)]
    pub part_type: Option<String>,
    /// HTML body (null on most state changes).
    #[serde(default)]
    pub body: Option<String>,
    /// Created (Unix seconds; a number as text is read too, with a note: [`Time`]).
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Author.
    #[serde(default)]
    pub author: Author,
    /// Files.
    #[serde(default)]
    pub attachments: Vec<Value>,
}

/// A Help Center collection (a section is a collection with a `parent_id`).
#[derive(Debug, Clone, Deserialize)]
pub struct Collection {
    /// Id.
    pub id: Id,
    /// Name in the default locale.
    #[serde(default)]
    pub name: Option<String>,
    /// Description in the default locale.
    #[serde(default)]
    pub description: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Position.
    #[serde(default)]
    pub order: Option<i64>,
    /// The default locale.
    #[serde(default)]
    pub default_locale: Option<String>,
    /// Parent collection.
    #[serde(default)]
    pub parent_id: Option<Id>,
    /// Per locale `{name, description}` (and `type`).
    #[serde(default)]
    pub translated_content: Map<String, Value>,
}

/// The content of a collection in one locale.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct GroupContent {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// An article.
#[derive(Debug, Clone, Deserialize)]
pub struct Article {
    /// Id.
    pub id: Id,
    /// Title in the default locale.
    #[serde(default)]
    pub title: Option<String>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Author (an admin id, a number).
    #[serde(default)]
    pub author_id: Option<Id>,
    /// `published` or `draft`.
    #[serde(default)]
    pub state: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Parent collection.
    #[serde(default)]
    pub parent_id: Option<Id>,
    /// The default locale.
    #[serde(default)]
    pub default_locale: Option<String>,
    /// Per locale content (and `type`).
    #[serde(default)]
    pub translated_content: Map<String, Value>,
}

/// An article's content in one locale.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ArticleContent {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Author.
    #[serde(default)]
    pub author_id: Option<Id>,
    /// `published` or `draft`.
    #[serde(default)]
    pub state: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

/// A Unix time as a number, or (not what Intercom documents) as text holding one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Unix seconds.
    pub secs: i64,
    /// It came as text.
    pub as_text: bool,
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(secs) => Ok(Time { secs, as_text: false }),
            Raw::S(s) => s
                .trim()
                .parse()
                .map(|secs| Time { secs, as_text: true })
                .map_err(|_| serde::de::Error::custom("a time that is no number")),
        }
    }
}
