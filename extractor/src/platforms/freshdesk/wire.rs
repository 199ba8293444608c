//! Serde types of Freshdesk's JSON (API v2). Only ids are required; every other field has a
//! default, and records are read through `crate::tolerant::Notes::read`, so a field of another
//! type costs that field, never the record.
//!
//! Shapes learned from recorded answers (`docs/platforms/freshdesk.md`): numbers for status,
//! priority and source; attachment sizes as `size` (older answers: `file_size`); custom field
//! values as an object keyed by field name; contact and company choices as objects, ticket
//! choices as plain values; an agent's person under `contact`; a translation under its source's
//! id.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A file of a ticket, conversation or article.
#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    /// Id.
    pub id: u64,
    /// File name.
    #[serde(default)]
    pub name: Option<String>,
    /// MIME type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Bytes (`size`; older answers say `file_size`).
    #[serde(default, alias = "file_size")]
    pub size: Option<i64>,
    /// Pre-signed storage URL (fetched without the API's credentials).
    #[serde(default)]
    pub attachment_url: Option<String>,
}

/// A ticket as listed (and, with `description` and `attachments`, as the single view shows it).
#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    /// Id (also the number people see).
    pub id: u64,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// 2 open, 3 pending, 4 resolved, 5 closed, 6+ custom.
    #[serde(default)]
    pub status: Option<i64>,
    /// 1 low, 2 medium, 3 high, 4 urgent.
    #[serde(default)]
    pub priority: Option<i64>,
    /// 1 email, 2 portal, 3 phone, 7 chat, 9 feedback widget, 10 outbound email.
    #[serde(default)]
    pub source: Option<i64>,
    /// Type.
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    /// Requester.
    #[serde(default)]
    pub requester_id: Option<u64>,
    /// Assigned agent.
    #[serde(default)]
    pub responder_id: Option<u64>,
    /// Group.
    #[serde(default)]
    pub group_id: Option<u64>,
    /// Company.
    #[serde(default)]
    pub company_id: Option<u64>,
    /// CC'd addresses.
    #[serde(default)]
    pub cc_emails: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values by field name.
    #[serde(default)]
    pub custom_fields: Option<Map<String, Value>>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Due.
    #[serde(default)]
    pub due_by: Option<String>,
    /// Marked as spam.
    #[serde(default)]
    pub spam: bool,
    /// In the trash.
    #[serde(default)]
    pub deleted: bool,
    /// With `include=stats`.
    #[serde(default)]
    pub stats: Option<Stats>,
    /// The first message, HTML (single view, or `include=description`).
    #[serde(default)]
    pub description: Option<String>,
    /// The first message, text.
    #[serde(default)]
    pub description_text: Option<String>,
    /// The first message's files (single view).
    #[serde(default)]
    pub attachments: Vec<Value>,
    /// The first ten conversations (single view with `include=conversations`).
    #[serde(default)]
    pub conversations: Option<Vec<Value>>,
}

/// `include=stats`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Stats {
    /// Resolved.
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// Closed.
    #[serde(default)]
    pub closed_at: Option<String>,
}

/// A reply, note or forward.
#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: u64,
    /// HTML.
    #[serde(default)]
    pub body: Option<String>,
    /// Text.
    #[serde(default)]
    pub body_text: Option<String>,
    /// Came from outside (the requester's email).
    #[serde(default)]
    pub incoming: bool,
    /// A private note.
    #[serde(default)]
    pub private: bool,
    /// Author.
    #[serde(default)]
    pub user_id: Option<u64>,
    /// 0 reply, 2 note, 8 forward, 9 phone.
    #[serde(default)]
    pub source: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Files.
    #[serde(default)]
    pub attachments: Vec<Value>,
}

/// A contact (customer).
#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// Further emails.
    #[serde(default)]
    pub other_emails: Vec<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Company.
    #[serde(default)]
    pub company_id: Option<u64>,
    /// Language code.
    #[serde(default)]
    pub language: Option<String>,
    /// Rails time-zone name.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values by field name.
    #[serde(default)]
    pub custom_fields: Option<Map<String, Value>>,
    /// Verified.
    #[serde(default)]
    pub active: bool,
    /// Deleted (soft).
    #[serde(default)]
    pub deleted: bool,
    /// Blocked.
    #[serde(default)]
    pub blocked: bool,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// An agent: the person is under `contact`.
#[derive(Debug, Clone, Deserialize)]
pub struct Agent {
    /// Id (the person's).
    pub id: u64,
    /// Groups.
    #[serde(default)]
    pub group_ids: Vec<u64>,
    /// Roles.
    #[serde(default)]
    pub role_ids: Vec<u64>,
    /// The person.
    #[serde(default)]
    pub contact: AgentContact,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The person of an agent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentContact {
    /// Active.
    #[serde(default)]
    pub active: bool,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone (recorded answers show numbers here too).
    #[serde(default)]
    pub phone: Option<Value>,
    /// Language.
    #[serde(default)]
    pub language: Option<String>,
    /// Rails time-zone name.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A role.
#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A company.
#[derive(Debug, Clone, Deserialize)]
pub struct Company {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
    /// Custom field values by field name.
    #[serde(default)]
    pub custom_fields: Option<Map<String, Value>>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A group.
#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A ticket, contact or company field.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    /// Id.
    pub id: u64,
    /// Name (`cf_…` on tickets).
    #[serde(default)]
    pub name: Option<String>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// `custom_text`, `custom_dropdown`, …, or `default_…`.
    #[serde(default, rename = "type")]
    pub field_type: Option<String>,
    /// One of the account's built-in fields.
    #[serde(default)]
    pub default: bool,
    /// Required of agents.
    #[serde(default)]
    pub required_for_agents: bool,
    /// Choices: plain values (tickets) or objects with `label` and `value`.
    #[serde(default)]
    pub choices: Option<Value>,
}

/// A solution category or folder.
#[derive(Debug, Clone, Deserialize)]
pub struct Folder {
    /// Id (the same in every language).
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A solution article in one language.
#[derive(Debug, Clone, Deserialize)]
pub struct Article {
    /// Id (the same in every language).
    pub id: u64,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// HTML.
    #[serde(default)]
    pub description: Option<String>,
    /// 1 draft, 2 published.
    #[serde(default)]
    pub status: Option<i64>,
    /// Author.
    #[serde(default)]
    pub agent_id: Option<u64>,
    /// Folder.
    #[serde(default)]
    pub folder_id: Option<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Files.
    #[serde(default)]
    pub attachments: Vec<Value>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `GET /api/v2/settings/helpdesk`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Settings {
    /// The account's language.
    #[serde(default)]
    pub primary_language: Option<String>,
    /// The others its solutions may be translated into.
    #[serde(default)]
    pub supported_languages: Vec<String>,
}
