//! Serde types of Help Scout's JSON (Mailbox API 2.0 and Docs API v1), read tolerantly
//! ([`crate::tolerant`]): only ids are required. Where each shape was learned is listed in
//! docs/platforms/helpscout.md; the surprising ones are noted here.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id: Mailbox API ids are numbers, Docs ids text (24 hex digits in recorded answers).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        Ok(Id(match Raw::deserialize(d)? {
            Raw::N(n) => n.to_string(),
            Raw::S(s) => s,
        }))
    }
}

/// A reference to a person (`createdBy`, `assignee`, `primaryCustomer`, a thread's
/// `customer`): its id and whether it is a `user` or a `customer`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PersonRef {
    /// Its id.
    pub id: Option<Id>,
    /// `user` or `customer` (absent on `primaryCustomer`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The PHP client's fixture of an embedded thread nests the thread's time here.
    #[serde(default, rename = "createdAt")]
    pub created_at: Option<String>,
}

/// A user (an agent).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Id.
    pub id: Id,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// `owner`, `admin` or `user`.
    #[serde(default)]
    pub role: Option<String>,
    /// IANA time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Further emails.
    #[serde(default)]
    pub alternate_emails: Vec<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A value of a customer's sub-resource (`emails`, `phones`).
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// The value.
    #[serde(default)]
    pub value: Option<String>,
}

/// What a customer embeds.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct CustomerEmbedded {
    /// Email addresses, the first the main one.
    #[serde(default)]
    pub emails: Vec<Entry>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<Entry>,
}

/// A customer (an end user).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Id.
    pub id: Id,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// The organization's name (a text, not a record).
    #[serde(default)]
    pub organization: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Sub-resources.
    #[serde(default, rename = "_embedded")]
    pub embedded: CustomerEmbedded,
}

/// A mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mailbox {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// An option of a drop-down mailbox field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldOption {
    /// Its id (what a conversation's value holds).
    pub id: Id,
    /// Its label.
    #[serde(default)]
    pub label: Option<String>,
}

/// A mailbox field (`SINGLE_LINE`, `MULTI_LINE`, `DATE`, `NUMBER`, `DROPDOWN`).
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Required.
    #[serde(default)]
    pub required: bool,
    /// Options of a drop-down.
    #[serde(default)]
    pub options: Vec<FieldOption>,
}

/// A tag on a conversation.
#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    /// Its name.
    pub tag: String,
}

/// A custom field value on a conversation: `value` is the option id for a drop-down, `text`
/// its label.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldValue {
    /// The field's id.
    pub id: Id,
    /// The value as text.
    #[serde(default)]
    pub value: Option<Value>,
}

/// `source` of a conversation or thread.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Source {
    /// `email`, `web`, `api`, `chat`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// An attachment of a thread; its bytes come from `_links.data.href`, base64 in JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Id.
    pub id: Id,
    /// File name.
    #[serde(default)]
    pub filename: Option<String>,
    /// Content type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
}

/// What a thread embeds.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ThreadEmbedded {
    /// Its files.
    #[serde(default)]
    pub attachments: Vec<Value>,
}

/// A thread's `action` (line items: what happened).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Action {
    /// The event's text.
    #[serde(default)]
    pub text: Option<String>,
}

/// A thread of a conversation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// Id.
    pub id: Id,
    /// `customer`, `message`, `note`, `lineitem`, `chat`, `phone`, `forwardparent`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// HTML body.
    #[serde(default)]
    pub body: Option<String>,
    /// Where it came from.
    #[serde(default)]
    pub source: Option<Source>,
    /// Its author.
    #[serde(default)]
    pub created_by: Option<PersonRef>,
    /// When.
    #[serde(default)]
    pub created_at: Option<String>,
    /// A line item's event.
    #[serde(default)]
    pub action: Option<Action>,
    /// `published`, `draft`, `underreview`, `hidden`.
    #[serde(default)]
    pub state: Option<String>,
    /// Files.
    #[serde(default, rename = "_embedded")]
    pub embedded: ThreadEmbedded,
}

/// What a conversation embeds (`embed=threads`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ConversationEmbedded {
    /// Threads, newest first.
    #[serde(default)]
    pub threads: Vec<Value>,
}

/// A conversation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Id.
    pub id: Id,
    /// The number people see.
    #[serde(default)]
    pub number: Option<Id>,
    /// `active`, `pending`, `closed`, `spam`.
    #[serde(default)]
    pub status: Option<String>,
    /// `published`, `draft`, `deleted`.
    #[serde(default)]
    pub state: Option<String>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Its mailbox.
    #[serde(default)]
    pub mailbox_id: Option<Id>,
    /// Assigned user.
    #[serde(default)]
    pub assignee: Option<PersonRef>,
    /// Who opened it.
    #[serde(default)]
    pub created_by: Option<PersonRef>,
    /// The customer.
    #[serde(default)]
    pub primary_customer: Option<PersonRef>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Closed.
    #[serde(default)]
    pub closed_at: Option<String>,
    /// Last change by a user.
    #[serde(default)]
    pub user_updated_at: Option<String>,
    /// Where it came from.
    #[serde(default)]
    pub source: Option<Source>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Custom field values.
    #[serde(default)]
    pub custom_fields: Vec<FieldValue>,
    /// Threads.
    #[serde(default, rename = "_embedded")]
    pub embedded: ConversationEmbedded,
}

/// A Docs collection, category or article (the fields the three share, and the article's).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsItem {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// A collection's or category's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Position.
    #[serde(default)]
    pub order: Option<i64>,
    /// A category's collection.
    #[serde(default)]
    pub collection_id: Option<Id>,
    /// An article's categories.
    #[serde(default)]
    pub categories: Vec<Id>,
    /// An article's HTML (only on `GET articles/{id}`).
    #[serde(default)]
    pub text: Option<String>,
    /// `published` or `notpublished`.
    #[serde(default)]
    pub status: Option<String>,
    /// An article's keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The user who created it.
    #[serde(default)]
    pub created_by: Option<Id>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated (null until first changed).
    #[serde(default)]
    pub updated_at: Option<String>,
}
