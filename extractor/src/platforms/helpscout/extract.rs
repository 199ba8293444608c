//! [`HelpScoutSource`]: Help Scout's Mailbox API 2.0 and Docs API read into a bundle with the
//! fewest requests the APIs allow.
//!
//! Streams (each persists its cursor after every page):
//! - `users` (agents) and `groups` (mailboxes, with every mailbox's fields as the ticket
//!   fields): small lists, re-read in full;
//! - `customers` (end users, sub-resources embedded) and `conversations` (every status, threads
//!   embedded: 25 conversations with all their threads a request), both oldest change first
//!   from `modifiedSince`; each attachment's bytes are one request more (Help Scout sends them
//!   base64-encoded in JSON, decoded here and stored as bytes);
//! - `docs`: collections, their categories and their article lists, then each article (lists
//!   hold ArticleRefs without the text).
//!
//! Delta: from the parent's cursors (the latest change seen), `modifiedSince` one second later.
//! Help Scout has no deletion list; a conversation moved to the trash since comes back with
//! `state: deleted` and becomes a tombstone (docs/platforms/helpscout.md says how sure that is).

use std::collections::BTreeMap;

use base64::Engine;
use chrono::Duration;
use deskferry_format::model::{Attachment, AttachmentState, Tombstone};
use deskferry_format::{KbArticle, KbCategory, KbSection, Warning};
use reqwest::Url;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{self, Client, DOCS_PAGE};
use super::map::{self, ThreadRows};
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, HttpError, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Attachment downloads in flight per page.
const CONCURRENT_DOWNLOADS: usize = 12;

/// Help Scout (Mailbox + Docs) as a [`Source`].
#[derive(Debug)]
pub struct HelpScoutSource {
    client: Client,
    account: String,
    max_attachment_bytes: Option<u64>,
}

/// Where a paged stream stands: the next page of the list from `since`, and the latest
/// change seen (the next delta's start).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ListCursor {
    /// Next page to read (1-based).
    pub page: usize,
    /// `modifiedSince` of the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Latest `modifiedAt`/`updatedAt` seen.
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

    /// Where a stream starts: where a killed run stopped, else (a delta) one second after the
    /// parent's latest change, else the beginning.
    pub fn start(resume: &Resume, stream: &str) -> ListCursor {
        if let Some(c) = resume.cursor(stream).and_then(ListCursor::parse) {
            return c;
        }
        let since = resume
            .since(stream)
            .and_then(ListCursor::parse)
            .and_then(|c| c.max)
            .and_then(|m| map::time(Some(&m)))
            .map(|t| (t + Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        ListCursor { page: 1, since, max: None }
    }

    fn saw(&mut self, t: Option<deskferry_format::model::Timestamp>) {
        let Some(t) = t else { return };
        let newer = self.max.as_deref().and_then(|m| map::time(Some(m))).is_none_or(|m| t > m);
        if newer {
            self.max = Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
    }
}

fn bad(cfg: &SourceConfig, message: String) -> ExtractError {
    ExtractError::Config { path: cfg.path.clone(), message }
}

/// The Docs API key: `[options] docs_key_env` (an environment variable), else `docs_key_file`
/// (first line, relative to the source file); `None` when neither is set.
fn docs_key(cfg: &SourceConfig) -> Result<Option<SecretString>, ExtractError> {
    let dir = cfg.path.parent().unwrap_or(std::path::Path::new("."));
    super::client::docs_key(&cfg.options, dir).map_err(|m| bad(cfg, m))
}

impl HelpScoutSource {
    /// Builds the source from `source.toml`: `credentials.user` is the OAuth application's id,
    /// the token (`token_env`/`token_file`) its secret; `[options] docs_url` (default
    /// `https://docsapi.helpscout.net`) and `docs_key_env`/`docs_key_file` for the Docs API.
    pub fn new(cfg: &SourceConfig) -> Result<HelpScoutSource, ExtractError> {
        if cfg.platform != "helpscout" {
            return Err(bad(cfg, format!("platform is {:?}, not \"helpscout\"", cfg.platform)));
        }
        let client_id = cfg.credentials.user.clone().ok_or_else(|| {
            bad(cfg, "Help Scout needs credentials.user: the OAuth application's id (App ID); its secret goes in token_env or token_file".into())
        })?;
        let secret = cfg.credentials.token()?;
        let docs_url = match cfg.options.get("docs_url") {
            None => Url::parse("https://docsapi.helpscout.net").expect("a valid URL"),
            Some(v) => v
                .as_str()
                .and_then(|s| Url::parse(s).ok())
                .ok_or_else(|| bad(cfg, "options.docs_url must be an http(s) URL".into()))?,
        };
        let docs = docs_key(cfg)?.map(|k| (docs_url, k));
        let client = Client::new(cfg.url.clone(), client_id, secret, docs, &cfg.rate_limits)?;
        Ok(HelpScoutSource {
            client,
            account: cfg.account(),
            max_attachment_bytes: cfg.max_attachment_bytes()?,
        })
    }

    /// The Mailbox API's HTTP client (statistics).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for HelpScoutSource {
    fn platform(&self) -> &'static str {
        "helpscout"
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        let me = self.client.me().await?;
        let role = me["role"].as_str().unwrap_or("unknown");
        if !matches!(role, "owner" | "admin") {
            return Err(ExtractError::Source {
                platform: "helpscout",
                entity: "users/me".into(),
                id: me["id"].to_string(),
                message: format!(
                    "the application acts for a {role:?}, not an owner or admin: it sees only that user's mailboxes; create the app as an account owner or admin"
                ),
            });
        }
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run {
            src: self,
            sink,
            resume,
            sent_people: Default::default(),
            named: Default::default(),
        };
        let tickets = async {
            let fields = run.groups().await?;
            run.conversations(&fields).await
        };
        tokio::try_join!(tickets, run.users(), run.customers(), run.docs())?;
        run.named_customers().await
    }
}

struct Run<'a> {
    src: &'a HelpScoutSource,
    sink: &'a Sink,
    resume: &'a Resume,
    /// People this extraction sent (users and customers).
    sent_people: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Customers a delta's conversations name (their customer, their threads' authors).
    named: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// The array of a HAL page's `_embedded.{key}` (absent when empty) and its page count.
fn hal(page: &mut Value, key: &str) -> (Vec<Value>, usize) {
    let items = match page.get_mut("_embedded").and_then(|e| e.get_mut(key)).map(Value::take) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let pages = page.pointer("/page/totalPages").and_then(Value::as_u64).unwrap_or(1) as usize;
    (items, pages)
}

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

    async fn warn(
        &self,
        entity: &str,
        id: Option<String>,
        e: &ExtractError,
    ) -> Result<(), ExtractError> {
        self.send(Item::Warning(Warning::failure(entity, id, e.to_string()))).await
    }

    fn sent(&self, id: &str) {
        self.sent_people.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string());
    }

    /// In a delta: the customers its conversations name that did not change (so the customer
    /// list from `since` left them out), one request each. One gone since is a warning.
    async fn named_customers(&self) -> Result<(), ExtractError> {
        let todo: Vec<String> = {
            let sent = self.sent_people.lock().unwrap_or_else(|e| e.into_inner());
            let named = self.named.lock().unwrap_or_else(|e| e.into_inner());
            named.iter().filter(|id| !sent.contains(*id)).cloned().collect()
        };
        let mut notes = map::notes();
        for id in todo {
            match self.client().get(&format!("/v2/customers/{id}")).await {
                Ok(v) => match map::customer(&v, &mut notes) {
                    Ok(u) => self.send(Item::User(u)).await?,
                    Err(e) => self.warn("users", Some(id), &e).await?,
                },
                Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                    self.warn("users", Some(id), &ExtractError::from(e)).await?
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.flush(&mut notes).await
    }

    /// Every record of a small HAL list.
    async fn all(&self, path: &str, key: &str) -> Result<Vec<Value>, ExtractError> {
        let mut out = Vec::new();
        let mut n = 1;
        loop {
            let mut page = self.client().get(&client::paged(path, n)).await?;
            let (items, pages) = hal(&mut page, key);
            out.extend(items);
            if n >= pages {
                return Ok(out);
            }
            n += 1;
        }
    }

    /// Mailboxes (groups) and their fields (ticket fields, the same field in several mailboxes
    /// once); returns each field's type for reading conversation values.
    async fn groups(&self) -> Result<BTreeMap<String, String>, ExtractError> {
        let mut notes = map::notes();
        let mut types = BTreeMap::new();
        for v in self.all("/v2/mailboxes", "mailboxes").await? {
            let g = match map::mailbox(&v, &mut notes) {
                Ok(g) => g,
                Err(e) => {
                    self.warn("groups", None, &e).await?;
                    continue;
                }
            };
            let path = format!("/v2/mailboxes/{}/fields", g.id);
            let fields = self.all(&path, "fields").await?;
            self.send(Item::Group(g)).await?;
            for f in fields {
                match map::field(&f, &mut notes) {
                    Ok(f) if types.contains_key(&f.id) => {}
                    Ok(f) => {
                        types.insert(f.id.clone(), f.field_type.clone());
                        self.send(Item::CustomField(f)).await?;
                    }
                    Err(e) => self.warn("custom_fields", None, &e).await?,
                }
            }
        }
        self.flush(&mut notes).await?;
        self.cursor("groups", &ListCursor::default(), true).await?;
        Ok(types)
    }

    /// Users (agents): one short list.
    async fn users(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("users") {
            return Ok(());
        }
        let mut notes = map::notes();
        for v in self.all("/v2/users", "users").await? {
            match map::user(&v, &mut notes) {
                Ok(u) => {
                    self.sent(&u.id);
                    self.send(Item::User(u)).await?
                }
                Err(e) => self.warn("users", None, &e).await?,
            }
        }
        self.flush(&mut notes).await?;
        self.cursor("users", &ListCursor::default(), true).await
    }

    /// Customers (end users), oldest change first.
    async fn customers(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("customers") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "customers");
        let path = client::customers_path(c.since.as_deref());
        let mut notes = map::notes();
        loop {
            let mut page = self.client().get(&client::paged(&path, c.page)).await?;
            let (items, pages) = hal(&mut page, "customers");
            for v in items {
                match map::customer(&v, &mut notes) {
                    Ok(u) => {
                        c.saw(u.updated_at);
                        self.sent(&u.id);
                        self.send(Item::User(u)).await?;
                    }
                    Err(e) => self.warn("users", None, &e).await?,
                }
            }
            self.flush(&mut notes).await?;
            let done = c.page >= pages;
            if !done {
                c.page += 1;
            }
            self.cursor("customers", &c, done).await?;
            if done {
                return Ok(());
            }
        }
    }

    /// Conversations with their threads and files, 25 a request, oldest change first. Three
    /// things overlap so the budget, not the round trips, sets the pace: the next page is asked
    /// for, this page's records go to the writer, and the previous page's files come in. A
    /// page's cursor moves past it only once its files are stored.
    async fn conversations(&self, fields: &BTreeMap<String, String>) -> Result<(), ExtractError> {
        if self.resume.is_done("conversations") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "conversations");
        let path = client::conversations_path(c.since.as_deref());
        let mut notes = map::notes();
        let mut page = self.client().get(&client::paged(&path, c.page)).await?;
        let mut pending: Vec<(Attachment, String)> = Vec::new();
        loop {
            let (items, pages) = hal(&mut page, "conversations");
            let done = c.page >= pages;
            let next_url = (!done).then(|| client::paged(&path, c.page + 1));
            let api = self.client();
            let next = async move {
                match next_url {
                    Some(u) => Some(api.get(&u).await),
                    None => None,
                }
            };
            let records = self.conversation_page(items, fields, &mut c, &mut notes);
            let previous = self.files(std::mem::take(&mut pending));
            let (next, files, previous) = tokio::join!(next, records, previous);
            previous?;
            pending = files?;
            // The previous page is complete; this one is not until its files are stored.
            self.cursor("conversations", &c, false).await?;
            match next {
                Some(p) => {
                    page = p?;
                    c.page += 1;
                }
                None => {
                    self.files(std::mem::take(&mut pending)).await?;
                    return self.cursor("conversations", &c, true).await;
                }
            }
        }
    }

    /// One page's conversations, threads and notes sent to the writer; returns its files.
    async fn conversation_page(
        &self,
        items: Vec<Value>,
        fields: &BTreeMap<String, String>,
        c: &mut ListCursor,
        notes: &mut Notes,
    ) -> Result<Vec<(Attachment, String)>, ExtractError> {
        let mut files = Vec::new();
        for mut v in items {
            self.complete_threads(&mut v).await?;
            let (t, threads) = match map::conversation(&v, fields, notes) {
                Ok(x) => x,
                Err(e) => {
                    let id = v.get("id").map(|i| i.to_string());
                    self.warn("tickets", id, &e).await?;
                    continue;
                }
            };
            c.saw(t.updated_at);
            if t.is_deleted {
                let at = t.updated_at;
                let id = t.id.clone();
                self.send(Item::Ticket(t)).await?;
                let tomb = Tombstone { entity: "tickets".into(), id, deleted_at: at };
                self.send(Item::Tombstone(tomb)).await?;
                continue;
            }
            if c.since.is_some() {
                // A delta carries the people its conversations name, changed or not, so a
                // target credits each thread to its author.
                let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
                named.extend(t.requester_id.iter().cloned());
                named.extend(threads.iter().filter_map(|r| r.comment.author_id.clone()));
            }
            self.send(Item::Ticket(t)).await?;
            for ThreadRows { comment, files: f } in threads {
                self.send(Item::Comment(comment)).await?;
                files.extend(f);
            }
        }
        self.flush(notes).await?;
        Ok(files)
    }

    /// Help Scout documents that embedded chat threads can be cut short: a conversation
    /// embedding fewer threads than its `threads` count has them all read from
    /// `conversations/{id}/threads` instead (a conversation deleted since keeps what was
    /// embedded, with a warning).
    async fn complete_threads(&self, v: &mut Value) -> Result<(), ExtractError> {
        let embedded =
            v.pointer("/_embedded/threads").and_then(Value::as_array).map_or(0, Vec::len);
        let count = v.get("threads").and_then(Value::as_u64).unwrap_or(0) as usize;
        if embedded >= count {
            return Ok(());
        }
        let id = v.get("id").map(|i| i.to_string()).unwrap_or_default();
        let path = format!("/v2/conversations/{}/threads", client::esc(&id));
        let got = match self.all(&path, "threads").await {
            Ok(t) => Ok(t),
            Err(ExtractError::Http(e)) => Err(e),
            Err(e) => return Err(e),
        };
        if let Some(threads) = self.followup("tickets", &id, "its threads", got).await?
            && let Some(e) = v.get_mut("_embedded").and_then(Value::as_object_mut)
        {
            e.insert("threads".into(), Value::Array(threads));
        }
        Ok(())
    }

    /// Files, a sliding window of them at a time (a large one does not hold up the others).
    async fn files(&self, files: Vec<(Attachment, String)>) -> Result<(), ExtractError> {
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut queue = files.into_iter();
        loop {
            while running.len() < CONCURRENT_DOWNLOADS {
                match queue.next() {
                    Some((a, url)) => running.push(self.file(a, url)),
                    None => break,
                }
            }
            match futures_util::StreamExt::next(&mut running).await {
                Some(r) => r?,
                None => return Ok(()),
            }
        }
    }

    /// One attachment: its bytes come base64-encoded in JSON (`{"data": …}`); decoded, stored
    /// and hashed. A file the source no longer has, or cannot give, is kept as a row with its
    /// state and a warning.
    async fn file(&self, mut att: Attachment, url: String) -> Result<(), ExtractError> {
        if let (Some(max), Some(size)) = (self.src.max_attachment_bytes, att.size)
            && size > 0
            && size as u64 > max
        {
            let why = format!("{size} bytes, limit {max} bytes (options.max_attachment_mb)");
            return self.not_stored(att, AttachmentState::TooLarge, why).await;
        }
        let got = self.client().get(&url).await;
        let v = match got {
            Ok(v) => v,
            Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                let state = if matches!(e.status(), Some(404 | 410)) {
                    AttachmentState::Missing
                } else {
                    AttachmentState::Failed
                };
                return self.not_stored(att, state, e.to_string()).await;
            }
            Err(e) => return Err(e.into()),
        };
        let bytes = match v
            .get("data")
            .and_then(Value::as_str)
            .map(|d| base64::engine::general_purpose::STANDARD.decode(d.trim()))
        {
            Some(Ok(b)) => b,
            Some(Err(e)) => {
                let why = format!("the data answer is not base64: {e}");
                return self.not_stored(att, AttachmentState::Failed, why).await;
            }
            None => {
                let why = "the data answer holds no `data`".to_string();
                return self.not_stored(att, AttachmentState::Failed, why).await;
            }
        };
        let blobs = self.sink.blobs().clone();
        let r = tokio::task::spawn_blocking(move || blobs.put(&mut bytes.as_slice()))
            .await
            .map_err(|e| ExtractError::Stopped(format!("blob task failed: {e}")))??;
        self.sink.progress().blob(r.size, false);
        att.sha256 = Some(r.sha256);
        att.size = Some(r.size as i64);
        att.state = AttachmentState::Stored;
        att.error = None;
        self.send(Item::Attachment(att)).await
    }

    async fn not_stored(
        &self,
        mut att: Attachment,
        state: AttachmentState,
        error: String,
    ) -> Result<(), ExtractError> {
        self.sink.progress().failed();
        let w = Warning::failure(
            "attachments",
            Some(att.id.clone()),
            format!("attachment not stored: {error}"),
        );
        self.send(Item::Warning(w)).await?;
        att.state = state;
        att.sha256 = None;
        att.error = Some(error);
        self.send(Item::Attachment(att)).await
    }

    /// Every record of a Docs list (`{key: {page, pages, items}}`).
    async fn docs_all(&self, path: &str, key: &str) -> Result<Vec<Value>, ExtractError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut n = 1;
        loop {
            let mut page =
                self.client().docs(&format!("{path}{sep}page={n}&pageSize={DOCS_PAGE}")).await?;
            let list = page.get_mut(key).map(Value::take).unwrap_or_default();
            if let Some(Value::Array(items)) = list.get("items").cloned() {
                out.extend(items);
            }
            let pages = list.get("pages").and_then(Value::as_u64).unwrap_or(1) as usize;
            if n >= pages {
                return Ok(out);
            }
            n += 1;
        }
    }

    /// The Docs knowledge base: collections, categories, articles (each fetched whole).
    async fn docs(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("docs") {
            return Ok(());
        }
        if !self.client().has_docs() {
            let w = Warning::note(
                "kb_articles",
                None,
                "no Docs API key configured (options.docs_key_env or docs_key_file): the knowledge base was not extracted".into(),
            );
            self.send(Item::Warning(w)).await?;
            return self.cursor("docs", &ListCursor::default(), true).await;
        }
        let mut c = ListCursor::start(self.resume, "docs");
        let since = c.since.as_deref().and_then(|s| map::time(Some(s)));
        let changed = |v: &Value| {
            since.is_none_or(|s| {
                let t = v
                    .get("updatedAt")
                    .and_then(Value::as_str)
                    .or(v.get("createdAt").and_then(Value::as_str));
                map::time(t).is_none_or(|t| t >= s)
            })
        };
        let mut notes = map::notes();
        for col in self.docs_all("/v1/collections", "collections").await? {
            let id = col.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            if changed(&col) {
                match map::docs_item("kb_categories", &col, None, &mut notes) {
                    Ok(k) => {
                        c.saw(k.updated_at.or(k.created_at));
                        self.send(Item::KbCategory(KbCategory(k))).await?;
                    }
                    Err(e) => self.warn("kb_categories", None, &e).await?,
                }
            }
            let path = format!("/v1/collections/{}/categories", client::esc(&id));
            for cat in self.docs_all(&path, "categories").await? {
                if !changed(&cat) {
                    continue;
                }
                match map::docs_item("kb_sections", &cat, None, &mut notes) {
                    Ok(k) => {
                        c.saw(k.updated_at.or(k.created_at));
                        self.send(Item::KbSection(KbSection(k))).await?;
                    }
                    Err(e) => self.warn("kb_sections", None, &e).await?,
                }
            }
            let path = format!("/v1/collections/{}/articles?status=all", client::esc(&id));
            for r in self.docs_all(&path, "articles").await? {
                if !changed(&r) {
                    continue;
                }
                let aid = r.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                let got = self.client().docs(&format!("/v1/articles/{}", client::esc(&aid))).await;
                let full = self.followup("kb_articles", &aid, "the whole article", got).await?;
                let v = full.as_ref().and_then(|f| f.get("article")).unwrap_or(&r);
                // Kept as listed when its follow-up fails: in its collection.
                match map::docs_item("kb_articles", v, Some(id.clone()), &mut notes) {
                    Ok(k) => {
                        c.saw(k.updated_at.or(k.created_at));
                        self.send(Item::KbArticle(KbArticle(k))).await?;
                    }
                    Err(e) => self.warn("kb_articles", Some(aid), &e).await?,
                }
            }
            self.flush(&mut notes).await?;
        }
        c.page = 1;
        self.cursor("docs", &c, true).await
    }

    /// A follow-up for a record already listed: a failure of that record only is a warning
    /// and the record is kept as listed.
    async fn followup<T>(
        &self,
        entity: &str,
        id: &str,
        what: &str,
        r: Result<T, HttpError>,
    ) -> Result<Option<T>, ExtractError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                let gone = matches!(e.status(), Some(404 | 410));
                let why = if gone {
                    "gone at the source since it was listed".to_string()
                } else {
                    e.to_string()
                };
                let message = format!("{what}: {why}; kept as listed");
                let w = if gone {
                    Warning::note(entity, Some(id.to_string()), message)
                } else {
                    Warning::failure(entity, Some(id.to_string()), message)
                };
                self.send(Item::Warning(w)).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}
