//! [`GrooveSource`]: Groove's v1 REST API and v2 GraphQL read into a bundle, each for what it
//! serves best (docs/platforms/groove.md, "As a source").
//!
//! Streams (each persists its cursor after every page):
//! - `people`: agents (v2 `agents`, v1 names them by address only), mailboxes and teams (v1),
//!   contact and company field definitions, companies and contacts (v2: v1 has no companies,
//!   no field definitions and no customers without an address): re-read in full every run,
//!   since every ticket and message names its people by address;
//! - `tickets`: v1 `/v1/tickets` by page (50, the most v1 gives), then for each ticket its
//!   messages and notes (`/v1/tickets/{number}/messages`), each message's files
//!   (`/v1/attachments?message=`, one request a message: v1 says nowhere else whether a message
//!   has any) and their bytes through their storage URLs; several tickets at a time so the
//!   budget, not the round trips, sets the pace;
//! - `kb`: knowledge bases, their categories and articles (v1);
//! - `deleted` (deltas only): v2 `conversations(filter: {state: DELETED})`, the trash.
//!
//! Delta: v1 has no `updated_after` filter (its list takes `page`, `per_page` and the
//! customer, assignee, state, mailbox and folder filters), so the ticket list is re-read and
//! only tickets updated after the parent's latest change are followed into their messages; a
//! ticket moved to the trash since comes from v2 with `state: DELETED` and becomes a tombstone.

use std::collections::BTreeSet;

use deskferry_format::model::{Attachment, AttachmentState, Ticket, TicketStatus, Tombstone};
use deskferry_format::{KbArticle, KbCategory, Warning};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{self, Client};
use super::map::{self, People};
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Tickets followed into their messages and files at once.
const CONCURRENT_TICKETS: usize = 8;
/// Nodes a GraphQL page asks for (Groove's connections give at most 100 here).
const NODES: u64 = 100;

/// Groove (v1 + v2) as a [`Source`].
#[derive(Debug)]
pub struct GrooveSource {
    client: Client,
    account: String,
    max_attachment_bytes: Option<u64>,
}

/// Where a paged stream stands: the next page, the delta's start and the latest change seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ListCursor {
    /// Next page to read (1-based).
    pub page: usize,
    /// Only records updated after this (a delta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Latest `updated_at` seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

impl ListCursor {
    /// Reads a cursor's text.
    pub fn parse(text: &str) -> Option<ListCursor> {
        serde_json::from_str(text).ok()
    }

    /// The text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Where a stream starts: where a killed run stopped, else (a delta) after the parent's
    /// latest change, else the beginning.
    pub fn start(resume: &Resume, stream: &str) -> ListCursor {
        if let Some(c) = resume.cursor(stream).and_then(ListCursor::parse) {
            return c;
        }
        let since = resume
            .since(stream)
            .and_then(ListCursor::parse)
            .and_then(|c| c.max)
            .and_then(|m| map::time(Some(&m)))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        ListCursor { page: 1, since, max: None }
    }

    fn saw(&mut self, t: Option<deskferry_format::model::Timestamp>) {
        let Some(t) = t else { return };
        let newer = self.max.as_deref().and_then(|m| map::time(Some(m))).is_none_or(|m| t > m);
        if newer {
            self.max = Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
    }

    /// Whether a record updated at `t` belongs in this run.
    fn wants(&self, t: Option<deskferry_format::model::Timestamp>) -> bool {
        match (self.since.as_deref().and_then(|s| map::time(Some(s))), t) {
            (Some(s), Some(t)) => t > s,
            _ => true,
        }
    }
}

fn bad(cfg: &SourceConfig, message: String) -> ExtractError {
    ExtractError::Config { path: cfg.path.clone(), message }
}

impl GrooveSource {
    /// Builds the source from `source.toml`: the API token in `token_env`/`token_file`.
    pub fn new(cfg: &SourceConfig) -> Result<GrooveSource, ExtractError> {
        if cfg.platform != "groove" {
            return Err(bad(cfg, format!("platform is {:?}, not \"groove\"", cfg.platform)));
        }
        let token = cfg.credentials.token()?;
        let client = Client::new(cfg.url.clone(), cfg.url.clone(), token, &cfg.rate_limits)?;
        Ok(GrooveSource {
            client,
            account: cfg.account(),
            max_attachment_bytes: cfg.max_attachment_bytes()?,
        })
    }

    /// The API's HTTP client (statistics).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for GrooveSource {
    fn platform(&self) -> &'static str {
        "groove"
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        self.client.get("/v1/mailboxes").await?;
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run { src: self, sink, resume };
        let people = run.people().await?;
        tokio::try_join!(run.tickets(&people), run.kb(), run.deleted())?;
        Ok(())
    }
}

struct Run<'a> {
    src: &'a GrooveSource,
    sink: &'a Sink,
    resume: &'a Resume,
}

const AGENTS: &str = "query Agents($first: Int, $after: String) { agents(first: $first, after: $after) { nodes { id email name role createdAt updatedAt } pageInfo { hasNextPage endCursor } } }";
const FIELDS: &str = "query Fields($first: Int, $after: String) { customFields(first: $first, after: $after) { nodes { id key name type category { type } options { nodes { label value } } } pageInfo { hasNextPage endCursor } } }";
const COMPANIES: &str = "query Companies($first: Int, $after: String) { companies(first: $first, after: $after) { nodes { id name domain createdAt updatedAt customFieldValues { nodes { key value } } } pageInfo { hasNextPage endCursor } } }";
const CONTACTS: &str = "query Contacts($first: Int, $after: String) { contacts(first: $first, after: $after) { nodes { id name email createdAt updatedAt companies { nodes { id } } customFieldValues { nodes { key value } } } pageInfo { hasNextPage endCursor } } }";
const TRASH: &str = "query Trash($first: Int, $after: String, $filter: ConversationFilter) { conversations(first: $first, after: $after, filter: $filter) { nodes { id number state createdAt updatedAt } pageInfo { hasNextPage endCursor } } }";

impl Run<'_> {
    fn client(&self) -> &Client {
        &self.src.client
    }

    async fn send(&self, item: Item) -> Result<(), ExtractError> {
        self.sink.send(item).await
    }

    async fn cursor(&self, stream: &str, c: &ListCursor, done: bool) -> Result<(), ExtractError> {
        self.send(Item::Cursor { stream: stream.into(), cursor: c.to_text(), done }).await
    }

    async fn flush(&self, notes: &mut Notes) -> Result<(), ExtractError> {
        for w in notes.take() {
            self.send(Item::Warning(w)).await?;
        }
        Ok(())
    }

    async fn warn(&self, entity: &str, e: &ExtractError) -> Result<(), ExtractError> {
        self.send(Item::Warning(Warning::failure(entity, None, e.to_string()))).await
    }

    /// Every node of a v2 connection `root`.
    async fn nodes(
        &self,
        query: &str,
        root: &str,
        extra: Value,
    ) -> Result<Vec<Value>, ExtractError> {
        let mut out = Vec::new();
        let mut after = Value::Null;
        loop {
            let mut vars = json!({ "first": NODES, "after": after });
            if let (Some(v), Some(e)) = (vars.as_object_mut(), extra.as_object()) {
                v.extend(e.clone());
            }
            let data = self.client().graphql(query, vars, true).await?;
            let conn = &data[root];
            if let Some(n) = conn["nodes"].as_array() {
                out.extend(n.iter().cloned());
            }
            let info = &conn["pageInfo"];
            match (info["hasNextPage"].as_bool(), info["endCursor"].as_str()) {
                (Some(true), Some(c)) => after = json!(c),
                _ => return Ok(out),
            }
        }
    }

    /// People, groups, field definitions and companies; returns who each address is.
    async fn people(&self) -> Result<People, ExtractError> {
        let send = !self.resume.is_done("people");
        let mut notes = map::notes();
        let mut people = People::default();
        let mut items = Vec::new();
        for v in self.nodes(AGENTS, "agents", json!({})).await? {
            match map::agent(&v, &mut notes) {
                Ok(u) => {
                    if let Some(e) = &u.email {
                        // One person an address: the first listed keeps it.
                        people.agents.entry(e.to_ascii_lowercase()).or_insert(u.id.clone());
                    }
                    items.push(Item::User(u));
                }
                Err(e) => self.warn("users", &e).await?,
            }
        }
        let boxes = self.client().get("/v1/mailboxes").await?;
        for v in boxes["mailboxes"].as_array().into_iter().flatten() {
            match map::mailbox(v, &mut notes) {
                Ok(g) => items.push(Item::Group(g)),
                Err(e) => self.warn("groups", &e).await?,
            }
        }
        for v in self.client().all("/v1/groups", "groups").await? {
            match map::team(&v, &mut notes) {
                Ok(g) => {
                    people.teams.insert(g.name.clone(), g.id.clone());
                    items.push(Item::Group(g));
                }
                Err(e) => self.warn("groups", &e).await?,
            }
        }
        for v in self.nodes(FIELDS, "customFields", json!({})).await? {
            match map::custom_field(&v, &mut notes) {
                Ok(Some(f)) => items.push(Item::CustomField(f)),
                Ok(None) => {}
                Err(e) => self.warn("custom_fields", &e).await?,
            }
        }
        for v in self.nodes(COMPANIES, "companies", json!({})).await? {
            match map::company(&v, &mut notes) {
                Ok(o) => items.push(Item::Organization(o)),
                Err(e) => self.warn("organizations", &e).await?,
            }
        }
        for v in self.nodes(CONTACTS, "contacts", json!({})).await? {
            match map::contact(&v, &mut notes) {
                Ok(u) => {
                    if let Some(e) = &u.email {
                        people.customers.entry(e.to_ascii_lowercase()).or_insert(u.id.clone());
                    }
                    items.push(Item::User(u));
                }
                Err(e) => self.warn("users", &e).await?,
            }
        }
        if send {
            for i in items {
                self.send(i).await?;
            }
            self.flush(&mut notes).await?;
            self.cursor("people", &ListCursor::default(), true).await?;
        }
        Ok(people)
    }

    /// Tickets by page, each with its messages and files; a page's cursor moves past it once
    /// all of it is sent.
    async fn tickets(&self, people: &People) -> Result<(), ExtractError> {
        if self.resume.is_done("tickets") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "tickets");
        loop {
            let (list, more) = self.client().page("/v1/tickets", "tickets", c.page).await?;
            let mut notes = map::notes();
            let mut todo = Vec::new();
            for v in list {
                match map::ticket(&v, people, &mut notes) {
                    Ok(t) => {
                        c.saw(t.updated_at);
                        if c.wants(t.updated_at) {
                            todo.push(t);
                        }
                    }
                    Err(e) => self.warn("tickets", &e).await?,
                }
            }
            self.flush(&mut notes).await?;
            let mut done =
                futures_util::stream::iter(todo.into_iter().map(|t| self.ticket(t, people)))
                    .buffered(CONCURRENT_TICKETS);
            while let Some(items) = done.next().await {
                for i in items? {
                    self.send(i).await?;
                }
            }
            let last = !more;
            if !last {
                c.page += 1;
            }
            self.cursor("tickets", &c, last).await?;
            if last {
                return Ok(());
            }
        }
    }

    /// One ticket's records: the ticket, its messages and notes, their files with bytes.
    async fn ticket(&self, t: Ticket, people: &People) -> Result<Vec<Item>, ExtractError> {
        let mut notes = map::notes();
        let path = format!("/v1/tickets/{}/messages", client::esc(&t.id));
        let got = match self.client().all(&path, "messages").await {
            Ok(m) => m,
            Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                let w = Warning::failure(
                    "tickets",
                    Some(t.id.clone()),
                    format!("its messages: {e}; the ticket is kept without them"),
                );
                return Ok(vec![Item::Warning(w), Item::Ticket(t)]);
            }
            Err(e) => return Err(e.into()),
        };
        let mut comments = Vec::new();
        for v in &got {
            match map::message(v, &t.id, people, &mut notes) {
                Ok(c) => comments.push(c),
                Err(e) => notes.refused("comments", v, &e),
            }
        }
        let mut files = Vec::new();
        for c in &mut comments {
            let path = format!("/v1/attachments?message={}", client::esc(&c.id));
            let list = match self.client().get(&path).await {
                Ok(v) => v,
                Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                    let w = Warning::failure(
                        "comments",
                        Some(c.id.clone()),
                        format!("its attachments: {e}"),
                    );
                    files.push(Err(w));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            for (n, v) in list["attachments"].as_array().into_iter().flatten().enumerate() {
                match map::attachment(v, &t.id, &c.id, n, &mut notes) {
                    Ok((a, url)) => {
                        c.attachment_ids.push(a.id.clone());
                        files.push(Ok((a, url)));
                    }
                    Err(e) => notes.refused("attachments", v, &e),
                }
            }
        }
        let mut items = vec![Item::Ticket(t)];
        items.extend(comments.into_iter().map(Item::Comment));
        for f in files {
            match f {
                Ok((a, url)) => items.extend(self.file(a, &url).await?),
                Err(w) => items.push(Item::Warning(w)),
            }
        }
        items.extend(notes.take().into_iter().map(Item::Warning));
        Ok(items)
    }

    /// One file's bytes through its storage URL, stored and hashed; one that cannot be had
    /// is kept as a row with its state and a warning.
    async fn file(&self, mut att: Attachment, url: &str) -> Result<Vec<Item>, ExtractError> {
        if let (Some(max), Some(size)) = (self.src.max_attachment_bytes, att.size)
            && size > 0
            && size as u64 > max
        {
            let why = format!("{size} bytes, limit {max} bytes (options.max_attachment_mb)");
            return Ok(self.not_stored(att, AttachmentState::TooLarge, why));
        }
        let bytes = match self.client().download(url).await {
            Ok(b) => b,
            Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                let state = if matches!(e.status(), Some(404 | 410)) {
                    AttachmentState::Missing
                } else {
                    AttachmentState::Failed
                };
                return Ok(self.not_stored(att, state, e.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        let blobs = self.sink.blobs().clone();
        let r = tokio::task::spawn_blocking(move || blobs.put(&mut bytes.as_ref()))
            .await
            .map_err(|e| ExtractError::Stopped(format!("blob task failed: {e}")))??;
        self.sink.progress().blob(r.size, false);
        att.sha256 = Some(r.sha256);
        att.size = Some(r.size as i64);
        att.state = AttachmentState::Stored;
        att.error = None;
        Ok(vec![Item::Attachment(att)])
    }

    fn not_stored(&self, mut att: Attachment, state: AttachmentState, error: String) -> Vec<Item> {
        self.sink.progress().failed();
        let w = Warning::failure(
            "attachments",
            Some(att.id.clone()),
            format!("attachment not stored: {error}"),
        );
        att.state = state;
        att.sha256 = None;
        att.error = Some(error);
        vec![Item::Warning(w), Item::Attachment(att)]
    }

    /// The knowledge bases' categories and articles.
    async fn kb(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("kb") {
            return Ok(());
        }
        let mut notes = map::notes();
        let kbs = self.client().get("/v1/kb").await?;
        for kb in kbs["knowledge_bases"].as_array().into_iter().flatten() {
            let Some(id) =
                kb["id"].as_str().map(str::to_string).or(kb["id"].as_u64().map(|n| n.to_string()))
            else {
                continue;
            };
            let base = format!("/v1/kb/{}", client::esc(&id));
            for v in self.client().all(&format!("{base}/categories"), "categories").await? {
                match map::kb_item(&v, false, &mut notes) {
                    Ok(k) => self.send(Item::KbCategory(KbCategory(k))).await?,
                    Err(e) => self.warn("kb_categories", &e).await?,
                }
            }
            for v in self.client().all(&format!("{base}/articles"), "articles").await? {
                match map::kb_item(&v, true, &mut notes) {
                    Ok(k) => self.send(Item::KbArticle(KbArticle(k))).await?,
                    Err(e) => self.warn("kb_articles", &e).await?,
                }
            }
        }
        self.flush(&mut notes).await?;
        self.cursor("kb", &ListCursor::default(), true).await
    }

    /// A delta's deletions: conversations in the trash changed since the parent.
    async fn deleted(&self) -> Result<(), ExtractError> {
        let c = ListCursor::start(self.resume, "tickets");
        let Some(since) = c.since.as_deref().and_then(|s| map::time(Some(s))) else {
            return Ok(());
        };
        if self.resume.is_done("deleted") {
            return Ok(());
        }
        let filter = json!({ "filter": { "state": "DELETED" } });
        let mut seen = BTreeSet::new();
        for v in self.nodes(TRASH, "conversations", filter).await? {
            let Some(id) = v["number"]
                .as_u64()
                .map(|n| n.to_string())
                .or(v["number"].as_str().map(str::to_string))
            else {
                continue;
            };
            let at = map::time(v["updatedAt"].as_str());
            if at.is_some_and(|t| t <= since) || !seen.insert(id.clone()) {
                continue;
            }
            let t = Ticket {
                status: TicketStatus::Closed,
                status_raw: Some("deleted".into()),
                created_at: map::time(v["createdAt"].as_str()),
                updated_at: at,
                is_deleted: true,
                raw: serde_json::to_string(&v).unwrap_or_default(),
                ..Ticket::blank(id.as_str())
            };
            self.send(Item::Ticket(t)).await?;
            let tomb = Tombstone { entity: "tickets".into(), id, deleted_at: at };
            self.send(Item::Tombstone(tomb)).await?;
        }
        self.cursor("deleted", &ListCursor::default(), true).await
    }
}
