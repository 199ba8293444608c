//! Serde types of the Zendesk Support and Help Center JSON the extractor reads.
//!
//! Records are read twice from one `serde_json::Value`: once into these typed structs (only the
//! fields the model needs; unknown fields are ignored) and once re-serialized as the row's `raw`,
//! so nothing Zendesk sent is lost. Page envelopes keep their records as `Value` for that reason.
//!
//! The typed read is tolerant ([`crate::tolerant::Notes::read`]): only ids are required, every
//! other field has a default, and a field of a type these structs do not expect is read as
//! empty and noted. Recorded answers of real accounts show such fields: `via` of a child event
//! of the incremental ticket events is a string (`"Web form"`, with `via_reference_id`) in the
//! answer pasted in the public Java client aladingg/zendesk-java-client (`ChildEvent.java`,
//! whose `TicketEvent.via` is a `String`), an object in Airbyte's recorded `ticket_comments`.

use serde::Deserialize;
use serde_json::Value;

/// `via` of tickets and comments: the channel a record arrived by.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Via {
    /// `email`, `web`, `api`, `voice`, `chat`, …
    #[serde(default)]
    pub channel: Option<String>,
}

/// One entry of a ticket's `custom_fields`.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldValue {
    /// Ticket field id.
    pub id: u64,
    /// Any JSON value; `null` when unset.
    #[serde(default)]
    pub value: Value,
}

/// A ticket as the incremental export sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    /// Ticket id (also the number people see).
    pub id: u64,
    /// Subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// `new`, `open`, `pending`, `hold`, `solved`, `closed`, or `deleted` (export only).
    #[serde(default)]
    pub status: Option<String>,
    /// `low`, `normal`, `high`, `urgent` or null.
    #[serde(default)]
    pub priority: Option<String>,
    /// `problem`, `incident`, `question`, `task` or null.
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    /// Channel.
    #[serde(default)]
    pub via: Option<Via>,
    /// Requester.
    #[serde(default)]
    pub requester_id: Option<u64>,
    /// Submitter.
    #[serde(default)]
    pub submitter_id: Option<u64>,
    /// Assignee.
    #[serde(default)]
    pub assignee_id: Option<u64>,
    /// Group.
    #[serde(default)]
    pub group_id: Option<u64>,
    /// Organization.
    #[serde(default)]
    pub organization_id: Option<u64>,
    /// CC'd users (newer accounts; `collaborator_ids` on older ones).
    #[serde(default)]
    pub email_cc_ids: Option<Vec<u64>>,
    /// CC'd users on accounts without email CCs.
    #[serde(default)]
    pub collaborator_ids: Vec<u64>,
    /// Followers.
    #[serde(default)]
    pub follower_ids: Vec<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values.
    #[serde(default)]
    pub custom_fields: Vec<FieldValue>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Due date of task tickets.
    #[serde(default)]
    pub due_at: Option<String>,
    /// Unix seconds the export row was generated (export only).
    #[serde(default)]
    pub generated_timestamp: Option<i64>,
}

/// A ticket metric set (`include=metric_sets` side-load): where `solved_at` lives.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricSet {
    /// The ticket it describes.
    pub ticket_id: u64,
    /// Last time the ticket was solved.
    #[serde(default)]
    pub solved_at: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent`, `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Primary organization.
    #[serde(default)]
    pub organization_id: Option<u64>,
    /// False once deleted.
    #[serde(default = "yes")]
    pub active: bool,
    /// Suspended.
    #[serde(default)]
    pub suspended: bool,
    /// Locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// Zendesk's own (Rails) time zone name.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// IANA time zone name (preferred: portable).
    #[serde(default)]
    pub iana_time_zone: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values keyed by field key (insertion order kept).
    #[serde(default)]
    pub user_fields: Option<serde_json::Map<String, Value>>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn yes() -> bool {
    true
}

/// A user identity (`include=identities` side-load or `users/{id}/identities`).
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    /// Owner.
    pub user_id: u64,
    /// `email`, `phone_number`, `twitter`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The address or number.
    #[serde(default)]
    pub value: String,
    /// The user's primary identity of its type.
    #[serde(default)]
    pub primary: bool,
}

/// A row of `deleted_users`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeletedUser {
    /// User id.
    pub id: u64,
}

/// A row of `group_memberships`.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupMembership {
    /// Agent.
    pub user_id: u64,
    /// Group.
    pub group_id: u64,
    /// The agent's default group.
    #[serde(default)]
    pub default: bool,
}

/// An organization.
#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    /// Organization id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Email domains.
    #[serde(default)]
    pub domain_names: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values keyed by field key.
    #[serde(default)]
    pub organization_fields: Option<serde_json::Map<String, Value>>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Set on rows of deleted organizations in the export.
    #[serde(default)]
    pub deleted_at: Option<String>,
}

/// A group.
#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    /// Group id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Deleted (tickets may still point to it).
    #[serde(default)]
    pub deleted: bool,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One option of a drop-down or multi-select field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldOption {
    /// Label.
    #[serde(default)]
    pub name: String,
    /// Stored value (tag).
    #[serde(default)]
    pub value: String,
}

/// A ticket, user or organization field definition.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldDef {
    /// Field id.
    pub id: u64,
    /// `text`, `tagger`, `dropdown`, `multiselect`, … (system ticket fields: `subject`,
    /// `tickettype`, …; see `map::SYSTEM_TICKET_FIELD_TYPES`).
    #[serde(rename = "type", default)]
    pub field_type: String,
    /// Key (user and organization fields only).
    #[serde(default)]
    pub key: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Active.
    #[serde(default = "yes")]
    pub active: bool,
    /// Required (ticket fields).
    #[serde(default)]
    pub required: bool,
    /// Options of choice fields.
    #[serde(default)]
    pub custom_field_options: Vec<FieldOption>,
}

/// An attachment of a comment (or of an article: same core fields plus `locale`).
#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    /// Attachment id.
    pub id: u64,
    /// File name (untrusted).
    #[serde(default)]
    pub file_name: String,
    /// Where the bytes are (often another host).
    #[serde(default)]
    pub content_url: Option<String>,
    /// MIME type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Shown inside the body.
    #[serde(default)]
    pub inline: bool,
    /// Deleted (redacted) at the source: bytes gone.
    #[serde(default)]
    pub deleted: bool,
    /// Article attachments: the translation's locale they belong to.
    #[serde(default)]
    pub locale: Option<String>,
    /// Article attachments: the article.
    #[serde(default)]
    pub article_id: Option<u64>,
}

/// A comment (`tickets/{id}/comments` or a `Comment` child event).
#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Author.
    #[serde(default)]
    pub author_id: Option<i64>,
    /// Plain text body.
    #[serde(default)]
    pub body: Option<String>,
    /// HTML body.
    #[serde(default)]
    pub html_body: Option<String>,
    /// Plain text body without formatting.
    #[serde(default)]
    pub plain_body: Option<String>,
    /// False for internal notes.
    #[serde(default = "yes")]
    pub public: bool,
    /// Listed (and, where asked for, inline) attachments.
    #[serde(default)]
    pub attachments: Vec<Value>,
    /// Channel.
    #[serde(default)]
    pub via: Option<Via>,
    /// Written at.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One row of `incremental/ticket_events` (an audit).
#[derive(Debug, Clone, Deserialize)]
pub struct TicketEvent {
    /// Audit id.
    pub id: u64,
    /// Ticket.
    pub ticket_id: u64,
    /// Unix seconds.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// Audit time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The audit added a comment.
    #[serde(default)]
    pub comment_present: bool,
    /// What changed; `Comment` events carry the comment with `include=comment_events`.
    #[serde(default)]
    pub child_events: Vec<Value>,
}

/// The typed head of a child event.
#[derive(Debug, Clone, Deserialize)]
pub struct ChildEvent {
    /// `Comment`, `Create`, `Change`, …
    #[serde(rename = "event_type", default)]
    pub event_type: Option<String>,
    /// Same as `event_type` on most rows.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Changed field (`status`, …).
    #[serde(default)]
    pub field_name: Option<String>,
    /// New value.
    #[serde(default)]
    pub value: Value,
    /// Previous value.
    #[serde(default)]
    pub previous_value: Value,
}

/// A cursor-based incremental export page (tickets, users).
#[derive(Debug, Clone, Deserialize)]
pub struct CursorExportPage {
    /// Cursor of the next page (persist it).
    #[serde(default)]
    pub after_cursor: Option<String>,
    /// URL of the next page.
    #[serde(default)]
    pub after_url: Option<String>,
    /// No more pages right now.
    #[serde(default)]
    pub end_of_stream: bool,
}

/// A time-based incremental export page (organizations, ticket events, articles).
#[derive(Debug, Clone, Deserialize)]
pub struct TimeExportPage {
    /// URL of the next page; null at the end.
    #[serde(default)]
    pub next_page: Option<String>,
    /// Time of the last row; the next `start_time`.
    #[serde(default)]
    pub end_time: Option<i64>,
    /// No more pages right now.
    #[serde(default)]
    pub end_of_stream: bool,
}

/// Paging keys of a plain list (cursor `meta`/`links`, or offset `next_page`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListPaging {
    /// Cursor paging.
    #[serde(default)]
    pub meta: Option<ListMeta>,
    /// Cursor paging links.
    #[serde(default)]
    pub links: Option<ListLinks>,
    /// Offset paging.
    #[serde(default)]
    pub next_page: Option<String>,
}

/// `meta` of a cursor-paged list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListMeta {
    /// More pages follow.
    #[serde(default)]
    pub has_more: bool,
    /// Cursor of the next page.
    #[serde(default)]
    pub after_cursor: Option<String>,
}

/// `links` of a cursor-paged list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListLinks {
    /// Next page URL.
    #[serde(default)]
    pub next: Option<String>,
}

impl ListPaging {
    /// The next page's URL, if any.
    pub fn next(&self) -> Option<&str> {
        if let Some(m) = &self.meta {
            if !m.has_more {
                return None;
            }
            return self.links.as_ref().and_then(|l| l.next.as_deref());
        }
        self.next_page.as_deref()
    }
}

/// `help_center/locales`.
#[derive(Debug, Clone, Deserialize)]
pub struct Locales {
    /// Every locale the help center has.
    #[serde(default)]
    pub locales: Vec<String>,
    /// The default one.
    #[serde(default)]
    pub default_locale: Option<String>,
}

/// A Help Center category, section or article (source-locale view).
#[derive(Debug, Clone, Deserialize)]
pub struct HcItem {
    /// Id.
    pub id: u64,
    /// Category and section name.
    #[serde(default)]
    pub name: Option<String>,
    /// Article title.
    #[serde(default)]
    pub title: Option<String>,
    /// Category and section description.
    #[serde(default)]
    pub description: Option<String>,
    /// Article body (HTML).
    #[serde(default)]
    pub body: Option<String>,
    /// Locale of this view.
    #[serde(default)]
    pub locale: Option<String>,
    /// The item's source locale.
    #[serde(default)]
    pub source_locale: Option<String>,
    /// Section of an article.
    #[serde(default)]
    pub section_id: Option<u64>,
    /// Category of a section.
    #[serde(default)]
    pub category_id: Option<u64>,
    /// Parent of a nested section.
    #[serde(default)]
    pub parent_section_id: Option<u64>,
    /// Article author.
    #[serde(default)]
    pub author_id: Option<u64>,
    /// Article draft.
    #[serde(default)]
    pub draft: bool,
    /// Position among siblings.
    #[serde(default)]
    pub position: Option<i64>,
    /// Article labels.
    #[serde(default)]
    pub label_names: Vec<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Embedded translations (`include=translations`).
    #[serde(default)]
    pub translations: Option<Vec<Value>>,
}

/// A Help Center translation.
#[derive(Debug, Clone, Deserialize)]
pub struct Translation {
    /// Translation id.
    pub id: u64,
    /// The category, section or article.
    #[serde(default)]
    pub source_id: Option<u64>,
    /// Locale.
    pub locale: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Body (HTML).
    #[serde(default)]
    pub body: Option<String>,
    /// Not published.
    #[serde(default)]
    pub draft: bool,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Last editor.
    #[serde(default)]
    pub updated_by_id: Option<u64>,
}
