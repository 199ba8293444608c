//! `FrontSource`: a Front company through the Core API into a bundle.
//!
//! Streams, in order (each restartable; see [`crate::Resume`]):
//! - `directory`: teams (`GET /teams`, then each `GET /teams/{id}` for its inboxes and
//!   members: a teammate's groups are the inboxes of its teams), teammates, inboxes, the custom
//!   field definitions of contacts, accounts and conversations, accounts with their members
//!   (`GET /accounts/{id}/contacts`: a contact does not name its account), contacts; small,
//!   sent whole, one cursor when done;
//! - `conversations`: the company's conversations in every status (`q[statuses][]` assigned,
//!   unassigned, archived and trashed; Front lists them most recently updated first), 100 a
//!   page, each with its messages (100 a page), comments and followers (`GET
//!   /conversations/{id}/followers`: a conversation does not name them), then their files through
//!   [`Sink::attachment`] from Front's own host (the only host that gets the token); a cursor
//!   after every page. Which inbox holds a conversation is not in the conversation: a full run
//!   reads each inbox's list (100 a page) first, a delta asks each changed conversation
//!   (`GET /conversations/{id}/inboxes`).
//!
//! - `knowledge_base`: each knowledge base's categories and articles (100 a page), each in
//!   every locale it lists (`…/content`, then `…/locales/{locale}/content` per other locale),
//!   an article's files through [`Sink::attachment`]; one cursor when done: the newest
//!   `updated_at` seen. A delta reads the lists and asks only for what changed after it.
//!
//! Delta (`--since`): the parent's `conversations` cursor is the newest `updated_at` it saw;
//! the list is read until a conversation updated at or before it, and each trashed one comes
//! with its tombstone. A conversation's `updated_at` moves with every message, comment and
//! status change, so replies, new conversations and deletions are all found.

use std::collections::BTreeMap;

use deskferry_format::model::{FieldEntity, Tombstone};
use deskferry_format::{KbArticle, KbCategory, KbSection, Warning};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{BUCKET, FrontClient};
use super::map;
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, HttpError, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

const PLATFORM: &str = "front";

/// Requests per minute when the source file states none: Front's smallest plan.
pub const DEFAULT_PER_MINUTE: u32 = 50;

/// The statuses a full list asks for: every conversation but none twice (spam shows in the
/// trash, as `deleted`).
pub const ALL_STATUSES: &str =
    "q[statuses][]=assigned&q[statuses][]=unassigned&q[statuses][]=archived&q[statuses][]=trashed";

/// Conversations read at once (their messages, comments and files).
const CONCURRENT: usize = 6;

/// Where the conversation stream stands (the opaque `Item::Cursor` text).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ConvCursor {
    /// The next page to read (`_pagination.next`); `None` before the first.
    next: Option<String>,
    /// The newest `updated_at` seen (the next delta starts after it).
    newest: f64,
    /// The list reached what the parent had (a delta): nothing more to read.
    #[serde(default)]
    reached: bool,
}

/// One conversation read whole.
struct Read {
    ticket: Value,
    messages: Vec<Value>,
    comments: Vec<Value>,
    followers: Vec<Value>,
    inbox: Option<String>,
    warnings: Vec<Warning>,
}

/// Reads a Front company through the Core API.
#[derive(Debug, Clone)]
pub struct FrontSource {
    client: FrontClient,
    account: String,
}

impl FrontSource {
    /// From a `source.toml` with `platform = "front"`: `url` (`https://api2.frontapp.com`),
    /// an API token from `[credentials]`, `[rate_limits] default` the plan's requests per
    /// minute (50 when not stated).
    pub fn new(cfg: &SourceConfig) -> Result<FrontSource, ExtractError> {
        let token = cfg.credentials.token()?;
        let per_minute = cfg.rate_limit(BUCKET).unwrap_or(DEFAULT_PER_MINUTE);
        let client = FrontClient::new(cfg.url.clone(), token, per_minute)?;
        Ok(FrontSource::with_client(client))
    }

    /// A source over an already configured client.
    pub fn with_client(client: FrontClient) -> FrontSource {
        let base = client.http().base_url();
        let mut account = base.host_str().unwrap_or("front").to_string();
        if let Some(p) = base.port() {
            account.push_str(&format!(":{p}"));
        }
        FrontSource { client, account }
    }

    /// The HTTP client (stats for the summary).
    pub fn http(&self) -> &Http {
        self.client.http()
    }

    fn err(&self, entity: &str, id: impl ToString, message: impl Into<String>) -> ExtractError {
        ExtractError::Source {
            platform: PLATFORM,
            entity: entity.to_string(),
            id: id.to_string(),
            message: message.into(),
        }
    }

    /// One page of a list; `_pagination.next` on the API's host ([`api_url`]).
    async fn try_page(&self, url: &str) -> Result<(Vec<Value>, Option<String>), HttpError> {
        let (items, next) = self.client.list_page::<Value>(url).await?;
        let base = self.client.http().base_url();
        Ok((items, next.map(|n| api_url(base, &n))))
    }

    /// Every page of a list.
    async fn try_all(&self, url: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut next = Some(url.to_string());
        while let Some(u) = next.take() {
            let (items, n) = self.try_page(&u).await?;
            out.extend(items);
            next = n;
        }
        Ok(out)
    }

    async fn page(&self, url: &str) -> Result<(Vec<Value>, Option<String>), ExtractError> {
        Ok(self.try_page(url).await?)
    }

    async fn all(&self, url: &str) -> Result<Vec<Value>, ExtractError> {
        Ok(self.try_all(url).await?)
    }

    async fn flush(&self, sink: &Sink, notes: &mut Notes) -> Result<(), ExtractError> {
        for w in notes.take() {
            sink.send(Item::Warning(w)).await?;
        }
        Ok(())
    }

    /// Teammates, inboxes (listed once by the caller), field definitions, accounts and
    /// contacts.
    async fn directory(&self, sink: &Sink, inboxes: &[Value]) -> Result<(), ExtractError> {
        let mut notes = Notes::new(PLATFORM);
        // Teams first: they say which inboxes each teammate works (the list names no members).
        let mut teams = Vec::new();
        for t in self.all("teams").await? {
            let Some(id) = t["id"].as_str() else { continue };
            let path = format!("teams/{id}");
            teams.push(self.client.http().get_json::<Value>(BUCKET, &path).await?);
        }
        let groups = map::team_inboxes(&mut notes, &teams);
        for v in self.all("teammates").await? {
            match map::teammate(&mut notes, &v) {
                Ok(mut u) => {
                    u.group_ids = groups.get(&u.id).cloned().unwrap_or_default();
                    sink.send(Item::User(u)).await?
                }
                Err(e) => notes.refused("users", &v, &e),
            }
        }
        for v in inboxes {
            match map::inbox(&mut notes, v) {
                Ok(g) => sink.send(Item::Group(g)).await?,
                Err(e) => notes.refused("groups", v, &e),
            }
        }
        for (path, entity) in [
            ("contacts/custom_fields", FieldEntity::User),
            ("accounts/custom_fields", FieldEntity::Organization),
            ("conversations/custom_fields", FieldEntity::Ticket),
        ] {
            for v in self.all(path).await? {
                match map::custom_field(&mut notes, &v, entity) {
                    Ok(f) => sink.send(Item::CustomField(f)).await?,
                    Err(e) => notes.refused("custom_fields", &v, &e),
                }
            }
        }
        let mut members = Vec::new();
        for v in self.all("accounts?limit=100").await? {
            let org = match map::account(&mut notes, &v) {
                Ok(o) => o,
                Err(e) => {
                    notes.refused("organizations", &v, &e);
                    continue;
                }
            };
            let path = format!("accounts/{}/contacts?limit=100", org.id);
            for c in self.all(&path).await? {
                if let Some(id) = c["id"].as_str() {
                    members.push((id.to_string(), org.id.clone()));
                }
            }
            sink.send(Item::Organization(org)).await?;
        }
        let members = map::memberships(members);
        for v in self.all("contacts?limit=100").await? {
            let account = v["id"].as_str().and_then(|id| members.get(id)).map(String::as_str);
            match map::contact(&mut notes, &v, account) {
                Ok(u) => sink.send(Item::User(u)).await?,
                Err(e) => notes.refused("users", &v, &e),
            }
        }
        self.flush(sink, &mut notes).await?;
        sink.send(Item::Cursor { stream: "directory".into(), cursor: String::new(), done: true })
            .await
    }

    /// A knowledge-base record's content in each of its locales, the default one first (the
    /// one `…/content` answers); a follow-up that fails for this record only is a warning and
    /// that locale is left out (without any, the record is kept as listed).
    async fn kb_contents(
        &self,
        kind: &str,
        table: &str,
        slim: &Value,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<Value>, ExtractError> {
        let Some(id) = slim["id"].as_str() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        let path = format!("{kind}/{id}/content");
        let r = self.client.http().get_json::<Value>(BUCKET, &path).await;
        let first = followup_of(warnings, table, id, "its content", "record", r)?;
        let default = first.as_ref().and_then(|c| c["locale"].as_str()).map(str::to_string);
        out.extend(first);
        for l in slim["locales"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if Some(l) == default.as_deref() {
                continue;
            }
            let path = format!("{kind}/{id}/locales/{l}/content");
            let r = self.client.http().get_json::<Value>(BUCKET, &path).await;
            let what = format!("its content in {l}");
            out.extend(followup_of(warnings, table, id, &what, "record", r)?);
        }
        Ok(out)
    }

    /// The knowledge bases: categories (top-level ones as kb categories, nested ones as kb
    /// sections) and articles in every locale, with the articles' files. In a delta, only the
    /// records updated after the parent's newest.
    async fn knowledge_base(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        const S: &str = "knowledge_base";
        let since = match resume.since(S) {
            Some(s) => Some(
                s.parse::<f64>()
                    .map_err(|e| self.err(S, "since", format!("parent cursor {s:?}: {e}")))?,
            ),
            None => None,
        };
        let mut newest = since.unwrap_or(0.0);
        let changed = |v: &Value, newest: &mut f64| {
            let updated = v["updated_at"].as_f64().or(v["created_at"].as_f64()).unwrap_or(0.0);
            *newest = newest.max(updated);
            since.is_none_or(|s| updated > s)
        };
        let http = self.client.http();
        let base = http.base_url().clone();
        for kb in self.all("knowledge_bases").await? {
            let Some(kid) = kb["id"].as_str() else { continue };
            let path = format!("knowledge_bases/{kid}/categories?limit=100");
            for c in self.all(&path).await? {
                if !changed(&c, &mut newest) {
                    continue;
                }
                let mut notes = Notes::new(PLATFORM);
                let mut warnings = Vec::new();
                let contents = self
                    .kb_contents("knowledge_base_categories", "kb_categories", &c, &mut warnings)
                    .await?;
                match map::kb_rows(&mut notes, "kb_categories", &c, &contents) {
                    Ok((rows, _)) => {
                        for row in rows {
                            sink.send(if row.parent_id.is_some() {
                                Item::KbSection(KbSection(row))
                            } else {
                                Item::KbCategory(KbCategory(row))
                            })
                            .await?;
                        }
                    }
                    Err(e) => notes.refused("kb_categories", &c, &e),
                }
                for w in warnings {
                    sink.send(Item::Warning(w)).await?;
                }
                self.flush(sink, &mut notes).await?;
            }
            let path = format!("knowledge_bases/{kid}/articles?limit=100");
            for a in self.all(&path).await? {
                if !changed(&a, &mut newest) {
                    continue;
                }
                let mut notes = Notes::new(PLATFORM);
                let mut warnings = Vec::new();
                let contents = self
                    .kb_contents("knowledge_base_articles", "kb_articles", &a, &mut warnings)
                    .await?;
                let files = match map::kb_rows(&mut notes, "kb_articles", &a, &contents) {
                    Ok((rows, files)) => {
                        for row in rows {
                            sink.send(Item::KbArticle(KbArticle(row))).await?;
                        }
                        files
                    }
                    Err(e) => {
                        notes.refused("kb_articles", &a, &e);
                        Vec::new()
                    }
                };
                for w in warnings {
                    sink.send(Item::Warning(w)).await?;
                }
                self.flush(sink, &mut notes).await?;
                for f in files {
                    sink.attachment(http, BUCKET, f.row, &api_url(&base, &f.url)).await?;
                }
            }
        }
        sink.send(Item::Cursor { stream: S.into(), cursor: format!("{newest:.3}"), done: true })
            .await
    }

    /// Conversation id → the inbox listing it (the first, in inbox order).
    async fn inbox_of(&self, inboxes: &[Value]) -> Result<BTreeMap<String, String>, ExtractError> {
        let mut out = BTreeMap::new();
        for i in inboxes {
            let Some(inbox) = i["id"].as_str() else { continue };
            let path = format!("inboxes/{inbox}/conversations?{ALL_STATUSES}&limit=100");
            for c in self.all(&path).await? {
                if let Some(id) = c["id"].as_str() {
                    out.entry(id.to_string()).or_insert_with(|| inbox.to_string());
                }
            }
        }
        Ok(out)
    }

    /// One conversation's messages (every page), comments and, when `ask_inbox`, its inbox.
    /// A follow-up that fails for this conversation only (404, 410, 403, an unreadable answer:
    /// the shared classification's `Record` class) is a warning and the conversation is kept
    /// as listed; anything else stops the run.
    async fn read(&self, ticket: Value, ask_inbox: bool) -> Result<Read, ExtractError> {
        let id = ticket["id"].as_str().unwrap_or_default().to_string();
        let mut read = Read {
            ticket,
            messages: Vec::new(),
            comments: Vec::new(),
            followers: Vec::new(),
            inbox: None,
            warnings: Vec::new(),
        };
        let path = format!("conversations/{id}/messages?limit=100");
        if let Some(m) =
            followup(&mut read.warnings, &id, "its messages", self.try_all(&path).await)?
        {
            read.messages = m;
        }
        let path = format!("conversations/{id}/comments");
        if let Some(c) =
            followup(&mut read.warnings, &id, "its comments", self.try_all(&path).await)?
        {
            read.comments = c;
        }
        let path = format!("conversations/{id}/followers");
        if let Some(f) =
            followup(&mut read.warnings, &id, "its followers", self.try_all(&path).await)?
        {
            read.followers = f;
        }
        if ask_inbox {
            let path = format!("conversations/{id}/inboxes");
            let r = self.try_all(&path).await;
            if let Some(i) = followup(&mut read.warnings, &id, "its inboxes", r)? {
                read.inbox = i.first().and_then(|i| i["id"].as_str()).map(str::to_string);
            }
        }
        Ok(read)
    }

    /// Sends one conversation: the ticket, its messages oldest first, its comments, its files,
    /// and in a delta the tombstone of a trashed one.
    async fn send(
        &self,
        sink: &Sink,
        r: Read,
        inboxes: &BTreeMap<String, String>,
        delta: bool,
    ) -> Result<(), ExtractError> {
        let mut notes = Notes::new(PLATFORM);
        let id = r.ticket["id"].as_str().unwrap_or_default().to_string();
        let inbox = r.inbox.as_deref().or(inboxes.get(&id).map(String::as_str));
        let t = match map::conversation(&mut notes, &r.ticket, inbox) {
            Ok(mut t) => {
                t.cc_ids = map::cc_contacts(&r.messages);
                t.follower_ids = map::followers(&r.followers);
                t
            }
            Err(e) => {
                notes.refused("tickets", &r.ticket, &e);
                return self.flush(sink, &mut notes).await;
            }
        };
        let trashed = t.is_deleted.then(|| t.updated_at.or(t.created_at));
        sink.send(Item::Ticket(t)).await?;
        for w in r.warnings {
            sink.send(Item::Warning(w)).await?;
        }
        let mut files = Vec::new();
        // Front lists messages newest first; the bundle keeps them in conversation order.
        for v in r.messages.iter().rev() {
            match map::message(&mut notes, v, &id) {
                Ok((c, f)) => {
                    sink.send(Item::Comment(c)).await?;
                    files.extend(f);
                }
                Err(e) => notes.refused("comments", v, &e),
            }
        }
        for v in &r.comments {
            match map::comment(&mut notes, v, &id) {
                Ok((c, f)) => {
                    sink.send(Item::Comment(c)).await?;
                    files.extend(f);
                }
                Err(e) => notes.refused("comments", v, &e),
            }
        }
        self.flush(sink, &mut notes).await?;
        let http = self.client.http();
        let base = http.base_url().clone();
        stream::iter(files)
            .map(|f| {
                let url = api_url(&base, &f.url);
                async move { sink.attachment(http, BUCKET, f.row, &url).await }
            })
            .buffer_unordered(4)
            .try_collect::<Vec<()>>()
            .await?;
        if delta && let Some(at) = trashed {
            let t = Tombstone { entity: "tickets".into(), id, deleted_at: at };
            sink.send(Item::Tombstone(t)).await?;
        }
        Ok(())
    }

    async fn conversations(
        &self,
        sink: &Sink,
        resume: &Resume,
        inbox_list: &[Value],
    ) -> Result<(), ExtractError> {
        let mut cur = match resume.cursor("conversations") {
            Some(c) => serde_json::from_str::<ConvCursor>(c).map_err(|e| {
                self.err("conversations", "cursor", format!("unreadable cursor: {e}"))
            })?,
            None => ConvCursor::default(),
        };
        let since = match resume.since("conversations") {
            Some(s) => Some(s.parse::<f64>().map_err(|e| {
                self.err("conversations", "since", format!("parent cursor {s:?}: {e}"))
            })?),
            None => None,
        };
        let delta = since.is_some();
        // A full run learns every conversation's inbox from the inboxes' lists; a delta asks
        // each changed conversation (fewer requests for a few changes).
        let inboxes =
            if delta || cur.reached { BTreeMap::new() } else { self.inbox_of(inbox_list).await? };
        let first = format!("conversations?{ALL_STATUSES}&limit=100");
        let mut url = match (&cur.next, cur.reached) {
            (_, true) => None,
            (Some(n), _) => Some(n.clone()),
            (None, _) => Some(first),
        };
        while let Some(page_url) = url.take() {
            let (items, next) = self.page(&page_url).await?;
            let mut keep = Vec::new();
            for v in items {
                let updated = v["updated_at"].as_f64().or(v["created_at"].as_f64()).unwrap_or(0.0);
                if since.is_some_and(|s| updated <= s) {
                    cur.reached = true;
                    break;
                }
                cur.newest = cur.newest.max(updated);
                keep.push(v);
            }
            let reads: Vec<Read> = stream::iter(keep)
                .map(|v| self.read(v, delta))
                .buffered(CONCURRENT)
                .try_collect()
                .await?;
            for r in reads {
                self.send(sink, r, &inboxes, delta).await?;
            }
            cur.next = next.clone();
            if cur.reached {
                cur.next = None;
            }
            let text = serde_json::to_string(&cur).unwrap_or_default();
            sink.send(Item::Cursor { stream: "conversations".into(), cursor: text, done: false })
                .await?;
            url = if cur.reached { None } else { next };
        }
        // The next delta starts after the newest conversation seen (the parent's own when this
        // delta saw none newer).
        let newest = since.map_or(cur.newest, |s| cur.newest.max(s));
        sink.send(Item::Cursor {
            stream: "conversations".into(),
            cursor: format!("{newest:.3}"),
            done: true,
        })
        .await
    }
}

/// A follow-up read of conversation `id`: `Ok(None)` with a warning when it failed for that
/// conversation only (gone since it was listed, forbidden, unreadable).
pub(super) fn followup<T>(
    warnings: &mut Vec<Warning>,
    id: &str,
    what: &str,
    r: Result<T, HttpError>,
) -> Result<Option<T>, ExtractError> {
    followup_of(warnings, "tickets", id, what, "conversation", r)
}

/// A follow-up read of record `id` of `entity` (a `noun`): `Ok(None)` with a warning when it
/// failed for that record only.
pub(super) fn followup_of<T>(
    warnings: &mut Vec<Warning>,
    entity: &str,
    id: &str,
    what: &str,
    noun: &str,
    r: Result<T, HttpError>,
) -> Result<Option<T>, ExtractError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class(Op::Read) == ErrorClass::Record => {
            let gone = matches!(e.status(), Some(404 | 410));
            let why = if gone { "gone since it was listed".to_string() } else { e.to_string() };
            let message = format!("{what}: {why}; the {noun} is kept as listed");
            warnings.push(if gone {
                Warning::note(entity, Some(id.to_string()), message)
            } else {
                Warning::failure(entity, Some(id.to_string()), message)
            });
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A URL Front answered (a `_pagination.next` link, a file's download URL) as one the token
/// may go to: as it is when it is on the API's host; Front's newer answers name the company's
/// own API host (`yourCompany.api.frontapp.com`) while the source file may name
/// `api2.frontapp.com`, so a URL on another `https://…frontapp.com` host is read from the
/// API's host, same path and query. Any other URL is returned as it is, and never gets the
/// token (the HTTP client sends credentials to the base URL's origin only).
pub fn api_url(base: &reqwest::Url, url: &str) -> String {
    let Ok(u) = reqwest::Url::parse(url) else { return url.to_string() };
    if u.origin() == base.origin() {
        return url.to_string();
    }
    let front = u.host_str().is_some_and(|h| h == "frontapp.com" || h.ends_with(".frontapp.com"));
    if front && u.scheme() == "https" {
        let mut b = base.clone();
        let prefix = base.path().trim_end_matches('/');
        b.set_path(&format!("{prefix}{}", u.path()));
        b.set_query(u.query());
        return b.to_string();
    }
    url.to_string()
}

impl Source for FrontSource {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        // The token's company; a refused token stops here (401, fatal).
        let me: Value = self.client.http().get_json(BUCKET, "me").await?;
        if me["id"].as_str().is_none_or(str::is_empty) {
            return Err(self.err("me", "company", "Front's /me answered without a company id"));
        }
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        // Both streams need the inboxes: listed once (unpaged).
        let inboxes = if resume.is_done("directory") && resume.is_done("conversations") {
            Vec::new()
        } else {
            self.all("inboxes").await?
        };
        if !resume.is_done("directory") {
            self.directory(sink, &inboxes).await?;
        }
        if !resume.is_done("knowledge_base") {
            self.knowledge_base(sink, resume).await?;
        }
        if !resume.is_done("conversations") {
            self.conversations(sink, resume, &inboxes).await?;
        }
        Ok(())
    }
}
