//! Serde types of Groove's JSON (v1 REST and v2 GraphQL nodes), read tolerantly
//! ([`crate::tolerant`]): only what names a record is required. Where each shape was learned is
//! listed in docs/platforms/groove.md; the surprising ones are noted here.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id: v1 numbers (ticket numbers, message ids) may come as numbers or text.
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

/// A v1 link (`{"href": …}`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Link {
    /// The URL.
    #[serde(default)]
    pub href: Option<String>,
}

/// A v2 agent node (`agents`): global id `ag_…`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Global id.
    pub id: String,
    /// Address (v1 names agents by it).
    #[serde(default)]
    pub email: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// `OWNER`, `ADMIN` or `AGENT`.
    #[serde(default)]
    pub role: Option<String>,
    /// Times.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Times.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A v1 mailbox.
#[derive(Debug, Clone, Deserialize)]
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

/// A v1 group (a team).
#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A `{nodes: [...]}` connection inside a node.
#[derive(Debug, Clone, Deserialize)]
pub struct Nodes<T> {
    /// The nodes.
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

impl<T> Default for Nodes<T> {
    fn default() -> Nodes<T> {
        Nodes { nodes: Vec::new() }
    }
}

/// A custom field value inside a contact or company node.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldValue {
    /// The field's key.
    pub key: String,
    /// Its value as text.
    #[serde(default)]
    pub value: Option<Value>,
}

/// A node reference (`{id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct NodeRef {
    /// Global id.
    pub id: String,
}

/// A v2 contact (a customer): global id.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Global id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Address.
    #[serde(default)]
    pub email: Option<String>,
    /// Companies.
    #[serde(default)]
    pub companies: Nodes<NodeRef>,
    /// Custom field values.
    #[serde(default)]
    pub custom_field_values: Nodes<FieldValue>,
    /// Times.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Times.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A v2 company.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    /// Global id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its domain (one).
    #[serde(default)]
    pub domain: Option<String>,
    /// Custom field values.
    #[serde(default)]
    pub custom_field_values: Nodes<FieldValue>,
    /// Times.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Times.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A custom field's category (`{type}`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Category {
    /// `CONTACT`, `COMPANY`, `CONTACT_INFORMATION`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A drop-down option.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldOption {
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Value.
    #[serde(default)]
    pub value: Option<String>,
}

/// A v2 custom field definition.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomField {
    /// Global id.
    pub id: String,
    /// Key.
    #[serde(default)]
    pub key: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `SINGLE_LINE`, `MULTI_LINE`, `NUMBER`, `DATE`, `DROPDOWN`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Category.
    #[serde(default)]
    pub category: Category,
    /// Options.
    #[serde(default)]
    pub options: Nodes<FieldOption>,
}

/// A v1 ticket: named by its `number`; people by the address at the end of their link.
#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    /// Number (the id v1 paths use).
    pub number: Id,
    /// Subject.
    #[serde(default)]
    pub title: Option<String>,
    /// `unread`, `opened`, `pending`, `closed`, `spam`.
    #[serde(default)]
    pub state: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// The team's name.
    #[serde(default)]
    pub assigned_group: Option<String>,
    /// The mailbox's id.
    #[serde(default)]
    pub mailbox_id: Option<Id>,
    /// How many messages (and notes) it holds.
    #[serde(default)]
    pub message_count: Option<u64>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Links.
    #[serde(default)]
    pub links: TicketLinks,
}

/// A ticket's links.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TicketLinks {
    /// The customer.
    #[serde(default)]
    pub customer: Option<Link>,
    /// The assignee.
    #[serde(default)]
    pub assignee: Option<Link>,
}

/// A v1 message (or note): its id is the end of `href`.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// Its link.
    pub href: String,
    /// Created (the `sent_at` it was written with).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated (read to notice an odd shape; a canonical message has no update time).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// A private note.
    #[serde(default)]
    pub note: Option<bool>,
    /// HTML body.
    #[serde(default)]
    pub body: Option<String>,
    /// Text body.
    #[serde(default)]
    pub plain_text_body: Option<String>,
    /// Links.
    #[serde(default)]
    pub links: MessageLinks,
}

/// A message's links.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct MessageLinks {
    /// The author.
    #[serde(default)]
    pub author: Option<Link>,
}

/// A v1 attachment: no id; its `url` is a storage link.
#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    /// Where its bytes are.
    pub url: String,
    /// File name.
    #[serde(default)]
    pub filename: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
}

/// A knowledge-base category or article.
#[derive(Debug, Clone, Deserialize)]
pub struct KbItem {
    /// Id.
    pub id: Id,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// A category's description.
    #[serde(default)]
    pub description: Option<String>,
    /// An article's body.
    #[serde(default)]
    pub body: Option<String>,
    /// An article's category.
    #[serde(default)]
    pub category_id: Option<Id>,
    /// `draft` or `published`.
    #[serde(default)]
    pub state: Option<String>,
    /// Position.
    #[serde(default)]
    pub position: Option<i64>,
    /// An article's author.
    #[serde(default)]
    pub author_id: Option<Id>,
    /// An article's tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A v2 conversation node (the trash).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Global id.
    pub id: String,
    /// Its v1 number.
    #[serde(default)]
    pub number: Option<Id>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Times.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Times.
    #[serde(default)]
    pub updated_at: Option<String>,
}
