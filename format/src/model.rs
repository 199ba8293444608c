//! The canonical model (docs/architecture.md, "The canonical model"): one struct per bundle table,
//! every platform maps to and from it.
//!
//! Changing a field here changes the bundle format: a new `Option` field is additive (keep the
//! version, update the schema snapshot); anything else bumps `FORMAT_VERSION` (see
//! `format/CHANGELOG.md`).
//!
//! Conventions:
//! - ids are the source platform's ids as strings;
//! - timestamps are UTC (`timestamp[us, UTC]` in Arrow);
//! - `raw` is the source record's original JSON, verbatim, so nothing the model lacks is lost;
//! - custom field values are `(key, value-as-JSON)` pairs so every field type survives.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A UTC timestamp as stored in the bundle (microsecond precision).
pub type Timestamp = DateTime<Utc>;

/// One custom field value: the field's key and its value as JSON text (`"\"a\""`, `"3"`, `"[\"x\"]"`, `"null"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    /// The field's key (matches `custom_fields.key`).
    pub key: String,
    /// The value, serialized as JSON text.
    pub value: String,
}

/// One option of a drop-down, multi-select or similar field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    /// The stored value (what records carry).
    pub value: String,
    /// What people see.
    pub label: String,
}

/// Whether a person is staff or a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// Staff: agents, admins, collaborators.
    Agent,
    /// Customers, requesters, contacts.
    EndUser,
}

/// A person: agent or end user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Source id.
    pub id: String,
    /// Agent or end user.
    pub kind: UserKind,
    /// The source's role value as it was (`admin`, `agent`, `end-user`, ...).
    pub role_raw: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Primary email, as the source has it (case preserved).
    pub email: Option<String>,
    /// Further email addresses.
    pub other_emails: Vec<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Primary organization.
    pub organization_id: Option<String>,
    /// Groups (teams, queues) the user belongs to.
    pub group_ids: Vec<String>,
    /// False once deactivated or deleted at the source.
    pub active: bool,
    /// Suspended (blocked) at the source.
    pub suspended: bool,
    /// Deleted at the source (kept so authorship survives).
    pub is_deleted: bool,
    /// Locale such as `en-US`.
    pub locale: Option<String>,
    /// Time zone name.
    pub time_zone: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: Vec<CustomFieldValue>,
    /// Created at the source.
    pub created_at: Option<Timestamp>,
    /// Last updated at the source.
    pub updated_at: Option<Timestamp>,
    /// The source record's original JSON.
    pub raw: String,
}

/// A company or organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Source id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Email domains.
    pub domains: Vec<String>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: Vec<CustomFieldValue>,
    /// Created at the source.
    pub created_at: Option<Timestamp>,
    /// Last updated at the source.
    pub updated_at: Option<Timestamp>,
    /// The source record's original JSON.
    pub raw: String,
}

/// What a group is called at its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// Zendesk group and similar.
    Group,
    /// A team.
    Team,
    /// A Help Scout mailbox.
    Mailbox,
    /// A Request Tracker queue.
    Queue,
    /// A Front inbox.
    Inbox,
}

/// A group of agents: group, team, mailbox, queue or inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Source id.
    pub id: String,
    /// Name.
    pub name: String,
    /// What the source calls it.
    pub kind: GroupKind,
    /// Description.
    pub description: Option<String>,
    /// Deleted at the source (tickets may still point to it).
    pub is_deleted: bool,
    /// Created at the source.
    pub created_at: Option<Timestamp>,
    /// The source record's original JSON.
    pub raw: String,
}

/// Which records a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldEntity {
    /// Ticket fields.
    Ticket,
    /// User fields.
    User,
    /// Organization fields.
    Organization,
}

/// What kind of value a custom field holds, the same words for every platform: a target maps
/// a field by its kind and never needs to know another vendor's type names (`tagger`,
/// `Select`, `enum`, …), which stay in [`CustomField::field_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number.
    Integer,
    /// A number with a fractional part.
    Decimal,
    /// Yes or no.
    Checkbox,
    /// A calendar date.
    Date,
    /// A date and a time.
    Datetime,
    /// One value out of the field's options.
    Dropdown,
    /// Any number of values out of the field's options.
    Multiselect,
    /// Text that must match a pattern (the pattern is in `raw`).
    Regexp,
    /// A reference to another record (a user, an organization, a custom object).
    Lookup,
    /// Anything else (a credit card's last digits, a file, an IP address): kept as text.
    Other,
}

impl CustomField {
    /// Whether the field takes several values: as the source said, else by its kind.
    pub fn takes_several(&self) -> bool {
        self.multiple.unwrap_or(self.kind == Some(FieldKind::Multiselect))
    }
}

impl FieldKind {
    /// True for kinds whose values come from the field's options.
    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::Dropdown | FieldKind::Multiselect)
    }
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomField {
    /// Source id.
    pub id: String,
    /// Which records carry it.
    pub entity: FieldEntity,
    /// Key used in `custom_fields` values.
    pub key: String,
    /// Title shown to people.
    pub title: String,
    /// Type as the source names it (`text`, `tagger`, `multiselect`, `date`, `checkbox`, ...).
    pub field_type: String,
    /// The normalised kind (added in format 1 without a version change: bundles written before
    /// it have no such column and read as `None`; the loader then asks the source platform).
    #[serde(default)]
    pub kind: Option<FieldKind>,
    /// Takes several values (an RT field with `MaxValues` 0, a multi-select); the table's last
    /// column, added in format 1 without a version change: `None` in bundles written before,
    /// where a multi-select kind says it.
    #[serde(default)]
    pub multiple: Option<bool>,
    /// Options for choice fields.
    pub options: Vec<FieldOption>,
    /// Required when agents solve or save.
    pub required: bool,
    /// Active at the source.
    pub active: bool,
    /// The source record's original JSON.
    pub raw: String,
}

/// Canonical ticket status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Not yet looked at.
    New,
    /// Being worked on.
    Open,
    /// Waiting for the requester.
    Pending,
    /// Waiting for a third party.
    OnHold,
    /// Solved, may reopen.
    Solved,
    /// Closed for good.
    Closed,
}

/// Canonical ticket priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// A ticket (conversation, case) without its comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Source id.
    pub id: String,
    /// Number shown to people where it differs from the id.
    pub number: Option<String>,
    /// Subject line.
    pub subject: Option<String>,
    /// Canonical status.
    pub status: TicketStatus,
    /// The source's status value as it was.
    pub status_raw: Option<String>,
    /// Canonical priority.
    pub priority: Option<Priority>,
    /// The source's priority value as it was.
    pub priority_raw: Option<String>,
    /// Type (`question`, `incident`, ...).
    pub ticket_type: Option<String>,
    /// Channel it arrived by (`email`, `web`, `api`, ...).
    pub channel: Option<String>,
    /// Requester (user id).
    pub requester_id: Option<String>,
    /// Requesters besides `requester_id`, in the source's order (RT tickets may have several;
    /// the table's last column, added in format 1 without a version change: null in bundles
    /// written before, read as none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub other_requester_ids: Vec<String>,
    /// Submitter (user id).
    pub submitter_id: Option<String>,
    /// Assignee (user id).
    pub assignee_id: Option<String>,
    /// Group (group id).
    pub group_id: Option<String>,
    /// Organization (organization id).
    pub organization_id: Option<String>,
    /// CC'd users.
    pub cc_ids: Vec<String>,
    /// Followers.
    pub follower_ids: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: Vec<CustomFieldValue>,
    /// Created at the source.
    pub created_at: Option<Timestamp>,
    /// Last updated at the source.
    pub updated_at: Option<Timestamp>,
    /// When it was solved.
    pub solved_at: Option<Timestamp>,
    /// Due date (task tickets).
    pub due_at: Option<Timestamp>,
    /// Deleted at the source.
    pub is_deleted: bool,
    /// Marked as spam at the source.
    pub is_spam: bool,
    /// The source record's original JSON.
    pub raw: String,
}

impl Ticket {
    /// A ticket row `id` holding nothing yet: open, no people, no values, no times, not
    /// deleted. Sources fill in what they read (`Ticket { subject, ..Ticket::blank(id) }`).
    pub fn blank(id: impl Into<String>) -> Ticket {
        Ticket {
            id: id.into(),
            number: None,
            subject: None,
            status: TicketStatus::Open,
            status_raw: None,
            priority: None,
            priority_raw: None,
            ticket_type: None,
            channel: None,
            requester_id: None,
            other_requester_ids: Vec::new(),
            submitter_id: None,
            assignee_id: None,
            group_id: None,
            organization_id: None,
            cc_ids: Vec::new(),
            follower_ids: Vec::new(),
            tags: Vec::new(),
            custom_fields: Vec::new(),
            created_at: None,
            updated_at: None,
            solved_at: None,
            due_at: None,
            is_deleted: false,
            is_spam: false,
            raw: String::new(),
        }
    }
}

/// A list column added after format 1 was frozen reads back `null` from older bundles.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One message of a ticket's conversation: public reply or private note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Source id.
    pub id: String,
    /// Ticket it belongs to.
    pub ticket_id: String,
    /// Author (user id).
    pub author_id: Option<String>,
    /// False for a private (internal) note.
    pub public: bool,
    /// Body as HTML.
    pub body_html: Option<String>,
    /// Body as plain text.
    pub body_text: Option<String>,
    /// Channel (`email`, `web`, `api`, ...).
    pub channel: Option<String>,
    /// When it was written.
    pub created_at: Option<Timestamp>,
    /// Attachments, in order (attachment ids).
    pub attachment_ids: Vec<String>,
    /// The source record's original JSON.
    pub raw: String,
}

/// What happened to an attachment's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentState {
    /// Downloaded, hashed, stored as a blob.
    Stored,
    /// The source no longer has it (404, deleted, malware-blocked).
    Missing,
    /// Larger than the configured limit; not downloaded.
    TooLarge,
    /// Download failed after retries.
    Failed,
}

/// An attachment of a comment or an article; the bytes are a blob named by `sha256`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// Source id.
    pub id: String,
    /// Ticket it belongs to (ticket attachments).
    pub ticket_id: Option<String>,
    /// Comment it belongs to (ticket attachments).
    pub comment_id: Option<String>,
    /// Article it belongs to (knowledge base attachments).
    pub article_id: Option<String>,
    /// File name as the source has it (untrusted: may hold anything).
    pub file_name: String,
    /// MIME type.
    pub content_type: Option<String>,
    /// Size in bytes (of the blob when stored, else as the source says).
    pub size: Option<i64>,
    /// Lower-case hex SHA-256 of the bytes; the blob's name. Set when `state` is stored.
    pub sha256: Option<String>,
    /// An image shown inside the body rather than listed.
    pub inline: bool,
    /// What happened to the bytes.
    pub state: AttachmentState,
    /// Why it is not stored.
    pub error: Option<String>,
    /// The source record's original JSON.
    pub raw: String,
}

/// A knowledge-base item: category, section or article (the three kb tables share a shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbItem {
    /// Source id (a translation's id is unique too, e.g. `360001@fr`).
    pub id: String,
    /// Parent: category of a section, section of an article, parent of a nested item.
    pub parent_id: Option<String>,
    /// Locale of this row.
    pub locale: Option<String>,
    /// For a translation, the id of the row in the source locale.
    pub translation_of: Option<String>,
    /// Title or name.
    pub title: String,
    /// Body or description as HTML.
    pub body_html: Option<String>,
    /// Author (user id).
    pub author_id: Option<String>,
    /// Not published.
    pub draft: bool,
    /// Position among siblings.
    pub position: Option<i64>,
    /// Labels.
    pub labels: Vec<String>,
    /// Created at the source.
    pub created_at: Option<Timestamp>,
    /// Last updated at the source.
    pub updated_at: Option<Timestamp>,
    /// The source record's original JSON.
    pub raw: String,
}

/// A record deleted at the source since the parent bundle (delta bundles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    /// Table the deleted record was in.
    pub entity: String,
    /// Its source id.
    pub id: String,
    /// When the source deleted it, where known.
    pub deleted_at: Option<Timestamp>,
}

/// Compares two ids in bundle order: shorter first, then bytewise.
///
/// Numeric ids (most platforms) thus sort numerically without parsing, and any other string still
/// has one total order, the same on every machine.
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}
