//! The `Source` trait each platform implements, and the items it sends to the bundle writer.

use std::collections::BTreeMap;
use std::future::Future;

use deskferry_format::{
    Attachment, Comment, CustomField, Group, KbArticle, KbCategory, KbSection, Organization,
    Ticket, Tombstone, User, Warning,
};
use serde::{Deserialize, Serialize};

use crate::error::ExtractError;
use crate::pipeline::Sink;

/// One thing a source hands to the writer, in the order it was read.
#[derive(Debug, Clone)]
pub enum Item {
    /// A user (agent or end user).
    User(User),
    /// An organization.
    Organization(Organization),
    /// A group, queue, inbox or team.
    Group(Group),
    /// A custom field definition.
    CustomField(CustomField),
    /// A ticket.
    Ticket(Ticket),
    /// A comment or note.
    Comment(Comment),
    /// An attachment row; use [`Sink::attachment`] so the bytes are fetched and stored first.
    Attachment(Attachment),
    /// A knowledge-base category.
    KbCategory(KbCategory),
    /// A knowledge-base section.
    KbSection(KbSection),
    /// A knowledge-base article (one row per locale).
    KbArticle(KbArticle),
    /// A record deleted at the source (delta bundles).
    Tombstone(Tombstone),
    /// Something that could not be read and is recorded in bundle.json.
    Warning(Warning),
    /// Every item sent before this one belongs to `stream` up to `cursor`. The pipeline persists
    /// it only once those items are durable in the work directory; after a kill the source is
    /// restarted from here. With `done`, the stream is finished and `cursor` (when not empty) is
    /// what a later `--since` delta starts from; it goes into the envelope's `cursors`.
    Cursor {
        /// Stream name (`tickets`, `ticket_events`, `users`, …), stable across versions.
        stream: String,
        /// Opaque resume position; empty means "from the start".
        cursor: String,
        /// The stream is complete.
        done: bool,
    },
}

/// Where one stream stands in the checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCursor {
    /// Opaque resume position (what the source last sent in `Item::Cursor`).
    pub cursor: String,
    /// The stream finished.
    pub done: bool,
}

/// What the source starts from: the checkpoint of an interrupted run and, for a delta, the
/// parent bundle's cursors.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Per stream, from the checkpoint (empty on a fresh run).
    pub streams: BTreeMap<String, StreamCursor>,
    /// The parent bundle's envelope `cursors` (empty unless `--since`).
    pub since: BTreeMap<String, String>,
    /// The parent bundle's `created_at` (unless `--since`: None).
    pub since_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Resume {
    /// The position to restart `stream` from, if an earlier run got somewhere.
    pub fn cursor(&self, stream: &str) -> Option<&str> {
        self.streams.get(stream).map(|s| s.cursor.as_str()).filter(|c| !c.is_empty())
    }

    /// True when an earlier run finished `stream`.
    pub fn is_done(&self, stream: &str) -> bool {
        self.streams.get(stream).is_some_and(|s| s.done)
    }

    /// The parent bundle's cursor for `stream` (delta runs).
    pub fn since(&self, stream: &str) -> Option<&str> {
        self.since.get(stream).map(String::as_str).filter(|c| !c.is_empty())
    }

    /// True for a delta run.
    pub fn is_delta(&self) -> bool {
        self.since_time.is_some() || !self.since.is_empty()
    }
}

/// A helpdesk that can be read into a bundle.
pub trait Source: Send + Sync {
    /// Platform name as written in the envelope (`zendesk`, `rt`, …).
    fn platform(&self) -> &'static str;
    /// The account, without personal data (`acme.zendesk.com`, `rt.example.org`).
    fn account(&self) -> String;
    /// Cheap permissions check before anything is written (one or two requests).
    fn check(&self) -> impl Future<Output = Result<(), ExtractError>> + Send;
    /// Reads everything (or, for a delta, what changed) into `sink`, restarting each stream from
    /// `resume`. Streams may run concurrently; each sends its own `Item::Cursor`s.
    fn extract(
        &self,
        sink: &Sink,
        resume: &Resume,
    ) -> impl Future<Output = Result<(), ExtractError>> + Send;
}
