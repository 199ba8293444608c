//! The `Target` trait each target platform implements, and the mapped records the loader core
//! hands it. The core owns the ledger, the mapping, filters, ordering and reports; a target only
//! turns one mapped record into API calls and reads records back for reconciliation.

use std::future::Future;

use bytes::Bytes;
use deskferry_extractor::http::HttpError;
use deskferry_format::{
    Comment, CustomField, Group, KbItem, Organization, Ticket, Timestamp, User,
};

use crate::error::WriteError;

/// Attempts at a message whose write ended in doubt ([`HttpError::in_doubt`]); see
/// [`post_unless_found`].
pub const IN_DOUBT_ATTEMPTS: usize = 3;

/// What [`post_unless_found`] came to.
#[derive(Debug)]
pub enum Posted<R> {
    /// The target answered the post.
    Answered(R),
    /// A post ended in doubt and the record was found at the target after all (its id there).
    Found(String),
}

/// Posts a record that has no key the target de-duplicates on (a message, a note), at most
/// [`IN_DOUBT_ATTEMPTS`] times. Before each further attempt after a post that ended in doubt
/// (the answer lost, the server failed midway) the target is read for the record (`find`, by
/// its marker), so a record that did arrive is taken as written and never posted twice. Where
/// the target orders messages by when they were posted, this also keeps a flaky connection from
/// reordering a conversation. Any other failure, or the last one, goes through `to_err`.
pub async fn post_unless_found<R, P, F>(
    post: impl Fn() -> P,
    find: impl Fn() -> F,
    to_err: impl FnOnce(HttpError) -> WriteError,
) -> Result<Posted<R>, WriteError>
where
    P: Future<Output = Result<R, HttpError>>,
    F: Future<Output = Result<Option<String>, WriteError>>,
{
    let mut attempt = 1;
    loop {
        match post().await {
            Ok(r) => return Ok(Posted::Answered(r)),
            Err(e) if e.in_doubt() && attempt < IN_DOUBT_ATTEMPTS => {
                attempt += 1;
                if let Some(id) = find().await? {
                    return Ok(Posted::Found(id));
                }
            }
            Err(e) => return Err(to_err(e)),
        }
    }
}

/// The outcome of a message left unposted because an earlier `kind` (message, note) of its
/// ticket failed, on a target that orders them by when they are posted (`target` names it):
/// the next run posts both, in order.
pub fn after_failed(comment_id: &str, first: &str, kind: &str, target: &str) -> WriteError {
    WriteError::Other {
        entity: "comments".into(),
        source_id: comment_id.into(),
        message: format!(
            "not posted: {kind} {first} of this ticket failed before it, and {target} orders {kind}s by when they are posted (the next run posts both, in order)"
        ),
    }
}

/// What a target can and cannot do; every `false` / limit is listed in the report.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// Records the target prefers written at once when the mapping does not say
    /// (`options.concurrency`): a target that gathers writes into bulk requests wants as many
    /// in flight as one request carries. `None`: the loader's default (4).
    pub concurrency: Option<usize>,
    /// Has a knowledge base this tool loads.
    pub knowledge_base: bool,
    /// Keeps the original time of public messages.
    pub message_times: bool,
    /// Keeps the original time of private notes.
    pub note_times: bool,
    /// Can create agents (else unmatched agents go to the default agent).
    pub create_agents: bool,
    /// Can create groups / inboxes / queues (else they must pre-exist and be mapped).
    pub create_groups: bool,
    /// Can create custom field definitions (else unmapped fields go into a private note).
    pub create_fields: bool,
    /// Largest attachment the target accepts, in bytes.
    pub max_attachment_bytes: Option<u64>,
    /// Most attachments on one message (more are split over several messages).
    pub max_attachments_per_message: Option<usize>,
    /// Every documented limit in words, shown in plan output and report.html.
    pub limits: Vec<String>,
    /// What the target itself sends or triggers while records are written (mail to customers,
    /// automations), each with how to switch it off, shown by `plan` and in the reports.
    pub side_effects: Vec<String>,
}

/// An agent that exists at the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAgent {
    /// Target id.
    pub id: String,
    /// Email (matched case-insensitively).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Can be assigned / author messages.
    pub active: bool,
}

/// A group / inbox / queue / team that exists at the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    /// Target id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A custom field definition that exists at the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetField {
    /// Target id.
    pub id: String,
    /// Name as shown (mapping matches source field titles or keys against it).
    pub name: String,
    /// Target type (`string`, `enum`, `boolean`, …).
    pub field_type: String,
    /// Allowed values for enums.
    pub options: Vec<String>,
}

/// The live target, read once by `plan` and by `run` before writing.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Agents / teammates.
    pub agents: Vec<TargetAgent>,
    /// Groups / inboxes / queues.
    pub groups: Vec<TargetGroup>,
    /// Ticket (conversation) custom fields.
    pub ticket_fields: Vec<TargetField>,
    /// Status values the target accepts (its own words).
    pub statuses: Vec<String>,
}

/// Who wrote a message, resolved by the mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Target id when the author exists at the target (agent matched, or user already loaded).
    pub target_id: Option<String>,
    /// Email as in the bundle, if any.
    pub email: Option<String>,
    /// Name as in the bundle, if any.
    pub name: Option<String>,
    /// Agent (else end user / contact).
    pub is_agent: bool,
    /// The source author could not be matched and the default agent stands in.
    pub defaulted: bool,
}

/// A user after mapping.
#[derive(Debug, Clone)]
pub struct MappedUser {
    /// The bundle row.
    pub user: User,
    /// Target organization id (already loaded), if any.
    pub organization: Option<String>,
    /// For agents: the matched target agent (agents are matched, never created, unless the
    /// target can create them).
    pub matched_agent: Option<String>,
}

/// A ticket after mapping, with target ids resolved.
#[derive(Debug, Clone)]
pub struct MappedTicket {
    /// The bundle row (subject, times, raw).
    pub ticket: Ticket,
    /// Subject to write (old id prefix applied when the mapping asks).
    pub subject: String,
    /// Tags to write (bundle tags, status-as-tag, the migration tag, the demo tag).
    pub tags: Vec<String>,
    /// Target status value.
    pub status: Option<String>,
    /// Target priority value.
    pub priority: Option<String>,
    /// Target group / inbox / queue id.
    pub group: Option<String>,
    /// Assignee (target agent id).
    pub assignee: Option<String>,
    /// Requester.
    pub requester: Author,
    /// Custom field values the target has fields for: (target field id or name, values) — one
    /// value for a single-value field, each value of a multi-value one on its own (a target
    /// whose fields hold one value joins them).
    pub fields: Vec<(String, Vec<String>)>,
    /// Custom fields without a target field, as (title, value), written into a private note.
    pub note_fields: Vec<(String, String)>,
    /// Stable external id to give the target where it keeps one (dedupe on re-run).
    pub external_id: String,
    /// The bundle's address of each person the ticket and its comments name (source user id →
    /// address), for targets that name CCs and followers by address: carried with the ticket,
    /// so that no target keeps every person's address.
    pub emails: std::collections::HashMap<String, String>,
}

/// One attachment's bytes, read from the bundle (hash already checked by the reader).
#[derive(Debug, Clone)]
pub struct AttachmentData {
    /// Source attachment id.
    pub id: String,
    /// File name as in the bundle (targets sanitize what they must, and say so).
    pub file_name: String,
    /// MIME type.
    pub content_type: Option<String>,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Inline image in the source.
    pub inline: bool,
    /// The bytes.
    pub bytes: Bytes,
}

/// A comment after mapping.
#[derive(Debug, Clone)]
pub struct MappedComment {
    /// The bundle row.
    pub comment: Comment,
    /// Author.
    pub author: Author,
    /// Body to write (HTML; the unmatched author's name prepended when the mapping asks).
    pub body_html: String,
    /// Public reply (else private note).
    pub public: bool,
    /// Original time.
    pub created_at: Option<Timestamp>,
    /// Attachments to upload (empty when the mapping skips attachments).
    pub attachments: Vec<AttachmentData>,
    /// Stable external id (dedupe on re-run).
    pub external_id: String,
}

/// What happened to one record at the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Created or updated; the target id.
    Migrated(String),
    /// Already there (matched agent, external id found); the target id.
    Matched(String),
    /// Deliberately not written; the reason is reported.
    Skipped(String),
    /// Created or updated, but a target limit cost this record something (the original time
    /// kept elsewhere, a part the target cannot hold); the target id and what was lost or
    /// changed, reported with the record.
    Limited(String, String),
}

impl Written {
    /// The target id, unless the record was skipped.
    pub fn target_id(&self) -> Option<&str> {
        match self {
            Written::Migrated(id) | Written::Matched(id) | Written::Limited(id, _) => Some(id),
            Written::Skipped(_) => None,
        }
    }
}

/// A comment as read back from the target.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadComment {
    /// Target id.
    pub id: String,
    /// External id if the target keeps it.
    pub external_id: Option<String>,
    /// Author's email (or target id when the target has no email for it).
    pub author: Option<String>,
    /// Public (else private note).
    pub public: bool,
    /// Time the target reports.
    pub created_at: Option<Timestamp>,
    /// Attachments: (file name, SHA-256 of the downloaded bytes, size).
    pub attachments: Vec<(String, String, u64)>,
}

/// A person as read back from the target, for reconciliation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadUser {
    /// Name, where the target keeps one.
    pub name: Option<String>,
    /// Every email address the target holds for them.
    pub emails: Vec<String>,
}

/// An organization as read back from the target, for reconciliation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOrganization {
    /// Name.
    pub name: Option<String>,
}

/// A knowledge-base item (category, section, article or one of their translations) as read
/// back from the target, for reconciliation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadKbItem {
    /// Title (an article's) or name (a category's, a section's).
    pub title: Option<String>,
    /// Locale of this row.
    pub locale: Option<String>,
    /// Not published (articles).
    pub draft: Option<bool>,
    /// An article's attachments, every locale's (SHA-256 of the bytes at the target); `None`
    /// where they are not read (categories, sections, translations).
    pub attachments: Option<Vec<String>>,
}

/// What a target answers when asked for a record to compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Readback<T> {
    /// The record as the target holds it.
    Found(T),
    /// The target has no such record (any more).
    Missing,
    /// The target keeps no record of this kind of its own (Request Tracker's organizations
    /// live on users), so there is nothing to read.
    NotHeld,
}

/// A ticket as read back from the target, for reconciliation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadTicket {
    /// Target id.
    pub id: String,
    /// Subject.
    pub subject: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Status in the target's words.
    pub status: Option<String>,
    /// Creation time the target reports for the ticket itself.
    pub created_at: Option<Timestamp>,
    /// The original creation time as the target keeps it elsewhere (a field, a header line),
    /// where it cannot set its own.
    pub original_created_at: Option<Timestamp>,
    /// Messages and notes in the target's order.
    pub comments: Vec<ReadComment>,
}

/// A target helpdesk. Every write must be safe to repeat after a crash: the core records an
/// intent in the ledger before calling `write_*`, and on a re-run asks `find_*` whether the
/// earlier attempt reached the target before writing again.
pub trait Target: Send + Sync {
    /// Platform name (`front`, `rt`).
    fn platform(&self) -> &'static str;
    /// Limits and abilities.
    fn capabilities(&self) -> Capabilities;
    /// Reads agents, groups, fields and statuses (plan and run).
    fn inventory(&self) -> impl Future<Output = Result<Inventory, WriteError>> + Send;

    /// Creates or updates an organization; `prior` is the target id from the ledger.
    fn write_organization(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send;
    /// Creates or updates a user (contact); agents are matched per the mapping.
    fn write_user(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send;
    /// Creates a group / queue the mapping did not match to an existing one (only called when
    /// `capabilities().create_groups`); the default says the target cannot.
    fn write_group(
        &self,
        group: &Group,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send {
        let _ = (group, prior);
        async { Ok(Written::Skipped("the target's groups cannot be created by this tool".into())) }
    }
    /// Creates a ticket custom field definition the target lacks (only called when
    /// `capabilities().create_fields`); the default says the target cannot.
    fn write_field(
        &self,
        field: &CustomField,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send {
        let _ = (field, prior);
        async { Ok(Written::Skipped("the target's fields cannot be created by this tool".into())) }
    }
    /// Whether [`Target::write_field`] also creates user and organization field definitions
    /// (with their options) the target lacks; the default says it does not, and their values
    /// are sent with the records.
    fn creates_person_fields(&self) -> bool {
        false
    }
    /// Creates or updates a ticket together with the comments not yet migrated (in order);
    /// targets that create a conversation by importing its first message need them together.
    /// Returns the ticket's outcome and one outcome per comment given, in order.
    fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> impl Future<Output = Result<(Written, Vec<Result<Written, WriteError>>), WriteError>> + Send;
    /// A knowledge-base item (only when `capabilities().knowledge_base`).
    fn write_kb_item(
        &self,
        item: &KbItem,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send;
    /// Applies a tombstone to a migrated record (delete, or close and tag where the target
    /// cannot delete); `entity` is the bundle table name.
    fn apply_tombstone(
        &self,
        entity: &str,
        target_id: &str,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send;

    /// After a crash between a write and its ledger commit: the ticket created for this
    /// external id, if the earlier attempt reached the target.
    fn find_ticket(
        &self,
        ticket: &MappedTicket,
    ) -> impl Future<Output = Result<Option<String>, WriteError>> + Send;

    /// Reads a migrated ticket back, comments and attachment bytes included (hashed, not kept).
    fn read_ticket(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<ReadTicket, WriteError>> + Send;

    /// Reads a migrated user (an end user, or an agent the target created) back.
    fn read_user(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<Readback<ReadUser>, WriteError>> + Send;

    /// Reads a migrated organization back.
    fn read_organization(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<Readback<ReadOrganization>, WriteError>> + Send;

    /// Reads a migrated knowledge-base item (`entity`: `kb_categories`, `kb_sections`,
    /// `kb_articles`) back; the default says the target's knowledge base is not read back.
    fn read_kb_item(
        &self,
        entity: &str,
        target_id: &str,
    ) -> impl Future<Output = Result<Readback<ReadKbItem>, WriteError>> + Send {
        let _ = (entity, target_id);
        async { Ok(Readback::NotHeld) }
    }

    /// A knowledge-base item of the bundle table `entity` (`kb_categories`, `kb_sections`,
    /// `kb_articles`), for targets whose calls differ by kind; the default is
    /// [`Target::write_kb_item`].
    fn write_kb_entry(
        &self,
        entity: &str,
        item: &KbItem,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send {
        let _ = entity;
        self.write_kb_item(item, prior)
    }

    /// Uploads an attachment of a migrated article (`article`: its target id, only when
    /// `capabilities().knowledge_base`); the default says the target takes none.
    fn write_kb_attachment(
        &self,
        article: &str,
        data: &AttachmentData,
        prior: Option<&str>,
    ) -> impl Future<Output = Result<Written, WriteError>> + Send {
        let _ = (article, data, prior);
        async {
            Ok(Written::Skipped(
                "the target's knowledge base takes no attachments through this tool".into(),
            ))
        }
    }

    /// The target ids this target must name records by (a ticket's CCs, an article's author or
    /// section), for targets that cannot find them by a key of their own: the loader fills it
    /// through [`Target::remember`] and [`Target::consult`].
    fn known_ids(&self) -> Option<&crate::known::Known> {
        None
    }

    /// Told before the knowledge base is written: the target ids the ledger holds for `entity`
    /// (`kb_categories`, `kb_sections`, `kb_articles`: source id → target id).
    fn remember(&self, entity: &str, targets: &std::collections::HashMap<String, String>) {
        if let Some(k) = self.known_ids() {
            k.remember(entity, targets);
        }
    }

    /// Told before anything is written: where the target ids of the people the ledger holds as
    /// migrated are found one at a time. People are never handed over as a map: it would grow
    /// with the account ([`crate::known`]).
    fn consult(&self, people: &crate::known::People) {
        if let Some(k) = self.known_ids() {
            k.consult(people.clone());
        }
    }
}

#[cfg(test)]
mod in_doubt_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn status(s: u16) -> HttpError {
        HttpError::Status {
            method: "POST".into(),
            url: "http://t/x".into(),
            status: s,
            body: "".into(),
        }
    }

    fn to_err(e: HttpError) -> WriteError {
        WriteError::http("comments", "7", e, deskferry_extractor::http::Op::Write)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_post_in_doubt_is_looked_for_before_it_is_sent_again() {
        let (posts, finds) = (AtomicUsize::new(0), AtomicUsize::new(0));
        // The first answer is lost, but the message arrived: found, never posted twice.
        let got = rt().block_on(post_unless_found(
            || async {
                posts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(status(502))
            },
            || async {
                finds.fetch_add(1, Ordering::SeqCst);
                Ok(Some("txn-9".to_string()))
            },
            to_err,
        ));
        assert!(matches!(got, Ok(Posted::Found(ref id)) if id == "txn-9"), "{got:?}");
        assert_eq!((posts.load(Ordering::SeqCst), finds.load(Ordering::SeqCst)), (1, 1));

        // Never arrived: posted again, at most IN_DOUBT_ATTEMPTS times in all.
        let (posts, finds) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let got = rt().block_on(post_unless_found(
            || async {
                posts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(status(500))
            },
            || async {
                finds.fetch_add(1, Ordering::SeqCst);
                Ok(None)
            },
            to_err,
        ));
        assert!(got.is_err());
        assert_eq!(posts.load(Ordering::SeqCst), IN_DOUBT_ATTEMPTS);
        assert_eq!(finds.load(Ordering::SeqCst), IN_DOUBT_ATTEMPTS - 1);
    }

    #[test]
    fn a_refused_post_is_not_looked_for_nor_sent_again() {
        let (posts, finds) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let got = rt().block_on(post_unless_found(
            || async {
                posts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(status(422))
            },
            || async {
                finds.fetch_add(1, Ordering::SeqCst);
                Ok(None)
            },
            to_err,
        ));
        assert!(got.is_err());
        assert_eq!((posts.load(Ordering::SeqCst), finds.load(Ordering::SeqCst)), (1, 0));
    }
}
