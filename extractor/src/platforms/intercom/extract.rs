//! [`IntercomSource`]: an Intercom workspace (REST API 2.14) read into a bundle with the fewest
//! requests the API allows.
//!
//! Streams (each persists its cursor after every page):
//! - `admins` (agents) and `teams` (groups), `data_attributes` (the custom attributes of
//!   contacts, companies and conversations, archived ones too, in one request): small lists,
//!   re-read in full;
//! - `contacts` (users and leads, 150 a page; their companies come embedded, a contact with more
//!   than the answer holds has them read from `/contacts/{id}/companies`); a delta searches
//!   `updated_at >` the parent's newest (`POST /contacts/search`);
//! - `companies` (60 a page, the list's largest; Intercom lists only companies with a contact
//!   attached); a delta keeps those updated since;
//! - `conversations`: the list (150 a page; a delta searches `updated_at >`) gives the ids,
//!   then `GET /conversations/{id}` each, for their parts (comments, notes, state changes and
//!   assignments), eight at a time; each file's bytes from its signed URL (the `files` bucket:
//!   Intercom's file host counts nothing against the app's budget). Intercom answers the 500
//!   most recent parts only: a conversation with more is kept with its loss declared (a
//!   warning on the ticket saying how many of its oldest parts are missing). The finished stream's cursor holds every live
//!   conversation's id, so the next delta can tell which were deleted (Intercom lists no
//!   deletions): it lists the ids again and sends a tombstone for each one gone;
//! - `tickets` (inside the `conversations` step, before its pages): every ticket searched
//!   (`POST /tickets/search`, 150 a page, parts included): a Back-office or Tracker ticket (no
//!   conversation) is sent from its row; a Customer ticket's row completes its conversation's
//!   (type, state, title, values); the ticket ids join the live ids the deletions are found
//!   from. The ticket types' attributes come with the data attributes (`GET /ticket_types`);
//! - `help_center`: collections (nested ones are sections) and articles, each with every
//!   translation (`translated_content`), from the lists alone.

use std::collections::{BTreeSet, HashMap};

use deskferry_format::model::{Ticket, TicketStatus, Tombstone};
use deskferry_format::{KbArticle, KbCategory, KbSection, Warning};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{self, Client, FILES};
use super::map::{self, File};
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, HttpError, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Conversations read whole at once.
const CONCURRENT_CONVERSATIONS: usize = 8;
/// File downloads in flight at once.
const CONCURRENT_DOWNLOADS: usize = 8;

/// Intercom as a [`Source`].
#[derive(Debug)]
pub struct IntercomSource {
    client: Client,
    account: String,
}

/// Where a stream stands: the next page (`after`, or a page number), the delta's start, and
/// the newest change seen (the next delta's start).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ListCursor {
    /// `starting_after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Next page number (lists paged by number).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub page: usize,
    /// Only records updated after this (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Newest `updated_at` seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// The live conversations' ids, comma-separated (the `conversations` stream once done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// newest change, else the beginning.
    pub fn start(resume: &Resume, stream: &str) -> ListCursor {
        if let Some(c) = resume.cursor(stream).and_then(ListCursor::parse) {
            return c;
        }
        let since = resume.since(stream).and_then(ListCursor::parse).and_then(|c| c.max);
        ListCursor { since, max: since, ..ListCursor::default() }
    }

    fn saw(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.max = Some(self.max.map_or(t, |m| m.max(t)));
        }
    }

    /// Whether a record updated at `t` belongs to this run.
    fn wants(&self, t: Option<i64>) -> bool {
        self.since.is_none_or(|s| t.is_none_or(|t| t > s))
    }
}

fn bad(cfg: &SourceConfig, message: String) -> ExtractError {
    ExtractError::Config { path: cfg.path.clone(), message }
}

impl IntercomSource {
    /// Builds the source from `source.toml`: `url` (`https://api.intercom.io`, or the EU/AU
    /// hosts), the access token (`token_env`/`token_file`), `[rate_limits] default` (the app's
    /// per-minute budget) and `files`.
    pub fn new(cfg: &SourceConfig) -> Result<IntercomSource, ExtractError> {
        if cfg.platform != "intercom" {
            return Err(bad(cfg, format!("platform is {:?}, not \"intercom\"", cfg.platform)));
        }
        let token = cfg.credentials.token()?;
        // `options.max_attachment_mb` is checked here and applied by the sink.
        cfg.max_attachment_bytes()?;
        let conf = client::http_config(cfg.url.clone(), token, &cfg.rate_limits)
            .max_in_flight(CONCURRENT_CONVERSATIONS + CONCURRENT_DOWNLOADS);
        let http = Http::new(conf).map_err(|e| bad(cfg, e.to_string()))?;
        Ok(IntercomSource { client: Client::new(http), account: cfg.account() })
    }

    /// The HTTP client (statistics).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for IntercomSource {
    fn platform(&self) -> &'static str {
        "intercom"
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        let me = self.client.get("/me").await?;
        if me.get("type").and_then(Value::as_str) != Some("admin") {
            return Err(ExtractError::Source {
                platform: "intercom",
                entity: "me".into(),
                id: client::id_of(&me).unwrap_or_default(),
                message: "the token does not act for an admin of the workspace: use an access token of the workspace's app (Developer Hub), which reads as an admin".into(),
            });
        }
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run { src: self, sink, resume, tag_names: tokio::sync::OnceCell::new() };
        tokio::try_join!(
            async {
                run.people().await?;
                run.data_attributes().await
            },
            run.contacts(),
            run.companies(),
            run.conversations(),
            run.help_center(),
        )?;
        Ok(())
    }
}

/// Companies a page of `GET /companies` holds (the list's largest page).
const COMPANIES_PER_PAGE: u64 = 60;

/// Intercom's tickets, as the conversations need them.
#[derive(Default)]
struct Tickets {
    /// Every ticket's id.
    all: BTreeSet<String>,
    /// Customer tickets (conversations) by id, as [`map::ticket_summary`] keeps them.
    customer: HashMap<String, Value>,
}

struct Run<'a> {
    src: &'a IntercomSource,
    sink: &'a Sink,
    resume: &'a Resume,
    /// The workspace's tags by id (`GET /tags`, read once, when a contact first has one):
    /// a contact's answer names its tags by id only.
    tag_names: tokio::sync::OnceCell<HashMap<String, String>>,
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

    async fn warn(&self, entity: &str, e: &ExtractError) -> Result<(), ExtractError> {
        self.send(Item::Warning(Warning::failure(entity, None, e.to_string()))).await
    }

    /// Admins and teams: one request each.
    async fn people(&self) -> Result<(), ExtractError> {
        let mut notes = map::notes();
        if !self.resume.is_done("admins") {
            let (admins, _) = client::page_of(self.client().get("/admins").await?);
            for v in admins {
                match map::admin(&v, &mut notes) {
                    Ok(u) => self.send(Item::User(u)).await?,
                    Err(e) => self.warn("users", &e).await?,
                }
            }
            self.flush(&mut notes).await?;
            self.cursor("admins", &ListCursor::default(), true).await?;
        }
        if !self.resume.is_done("teams") {
            let (teams, _) = client::page_of(self.client().get("/teams").await?);
            for v in teams {
                match map::team(&v, &mut notes) {
                    Ok(g) => self.send(Item::Group(g)).await?,
                    Err(e) => self.warn("groups", &e).await?,
                }
            }
            self.flush(&mut notes).await?;
            self.cursor("teams", &ListCursor::default(), true).await?;
        }
        Ok(())
    }

    /// Every model's data attributes in one request (archived ones too), then the ticket
    /// types' attributes not named like a conversation attribute (one request).
    async fn data_attributes(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("data_attributes") {
            return Ok(());
        }
        let mut notes = map::notes();
        let (list, _) =
            client::page_of(self.client().get("/data_attributes?include_archived=true").await?);
        let mut ticket_keys = BTreeSet::new();
        for v in list {
            match map::data_attribute(&v, &mut notes) {
                Ok(Some(f)) => {
                    if f.entity == deskferry_format::model::FieldEntity::Ticket {
                        ticket_keys.insert(f.key.clone());
                    }
                    self.send(Item::CustomField(f)).await?
                }
                Ok(None) => {}
                Err(e) => self.warn("custom_fields", &e).await?,
            }
        }
        let (types, _) = client::page_of(self.client().get("/ticket_types").await?);
        for v in types {
            for f in map::ticket_type_fields(&v, &mut ticket_keys, &mut notes) {
                self.send(Item::CustomField(f)).await?;
            }
        }
        self.flush(&mut notes).await?;
        self.cursor("data_attributes", &ListCursor::default(), true).await
    }

    /// Users and leads, 150 a page (a delta: the search for those updated since).
    async fn contacts(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("contacts") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "contacts");
        let mut notes = map::notes();
        loop {
            let (items, next) = match c.since {
                Some(s) => {
                    let q = json!({"field": "updated_at", "operator": ">", "value": s});
                    self.client().search("/contacts/search", q, c.after.as_deref()).await?
                }
                None => self.client().page("/contacts", c.after.as_deref()).await?,
            };
            for mut v in items {
                self.complete_companies(&mut v).await?;
                let tags = self.contact_tags(&v).await?;
                match map::contact(&v, &mut notes) {
                    Ok(mut u) => {
                        u.tags = tags;
                        c.saw(u.updated_at.map(|t| t.timestamp()));
                        self.send(Item::User(u)).await?
                    }
                    Err(e) => self.warn("users", &e).await?,
                }
            }
            self.flush(&mut notes).await?;
            c.after = next;
            let done = c.after.is_none();
            self.cursor("contacts", &c, done).await?;
            if done {
                return Ok(());
            }
        }
    }

    /// A contact whose answer holds only some of its companies (`has_more`) has them all read
    /// (a contact gone since keeps what the list held, with a note).
    async fn complete_companies(&self, v: &mut Value) -> Result<(), ExtractError> {
        if !v.pointer("/companies/has_more").and_then(Value::as_bool).unwrap_or(false) {
            return Ok(());
        }
        let id = client::id_of(v).unwrap_or_default();
        let path = format!("/contacts/{}/companies", client::esc(&id));
        let got = self.client().all(&path, "data").await;
        if let Some(all) = self.followup("users", &id, "its companies", got).await?
            && let Some(c) = v.get_mut("companies").and_then(Value::as_object_mut)
        {
            c.insert("data".into(), Value::Array(all));
            c.insert("has_more".into(), false.into());
        }
        Ok(())
    }

    /// A contact's tag names. Its answer lists up to 10 tags by id: names come from the
    /// workspace's tag list (read once); a contact with more (`has_more`), or with a tag made
    /// after that list was read, has its own list read (`GET /contacts/{id}/tags`). A contact
    /// gone since keeps the names known, with a note.
    async fn contact_tags(&self, v: &Value) -> Result<Vec<String>, ExtractError> {
        let ids: Vec<String> = v
            .pointer("/tags/data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(client::id_of)
            .collect();
        let more = v.pointer("/tags/has_more").and_then(Value::as_bool).unwrap_or(false)
            || v.pointer("/tags/total_count").and_then(Value::as_u64).unwrap_or(0)
                > ids.len() as u64;
        if ids.is_empty() && !more {
            return Ok(Vec::new());
        }
        let names = self
            .tag_names
            .get_or_try_init(|| async {
                let list = self.client().get("/tags").await?;
                let (items, _) = client::page_of(list);
                Ok::<_, ExtractError>(
                    items
                        .iter()
                        .filter_map(|t| Some((client::id_of(t)?, t["name"].as_str()?.to_string())))
                        .collect::<HashMap<_, _>>(),
                )
            })
            .await?;
        let known: Vec<String> = ids.iter().filter_map(|i| names.get(i).cloned()).collect();
        if !more && known.len() == ids.len() {
            return Ok(known);
        }
        let id = client::id_of(v).unwrap_or_default();
        let path = format!("/contacts/{}/tags", client::esc(&id));
        let got = self.client().get(&path).await;
        Ok(match self.followup("users", &id, "its tags", got).await? {
            Some(list) => client::page_of(list)
                .0
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect(),
            None => known,
        })
    }

    /// Companies, 60 a page (the list's largest); a delta keeps those updated since.
    async fn companies(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("companies") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "companies");
        c.page = c.page.max(1);
        let mut notes = map::notes();
        loop {
            let path = format!("/companies?per_page={COMPANIES_PER_PAGE}&page={}", c.page);
            let v = self.client().get(&path).await?;
            let pages = v.pointer("/pages/total_pages").and_then(Value::as_u64).unwrap_or(1);
            let total = v.get("total_count").and_then(Value::as_u64).unwrap_or(0);
            let (items, _) = client::page_of(v);
            // Paging stops at 10,000 companies: beyond them (or on a page shorter than the
            // count says, where the listing stopped), the scroll reads them all, from the start
            // however far the pages went.
            let due = total
                .saturating_sub((c.page as u64 - 1) * COMPANIES_PER_PAGE)
                .min(COMPANIES_PER_PAGE);
            if total > client::MAX_LISTED_COMPANIES || (items.len() as u64) < due {
                self.scroll_companies(&mut c, &mut notes).await?;
                return self.cursor("companies", &c, true).await;
            }
            self.send_companies(items, &mut c, &mut notes).await?;
            let done = c.page as u64 >= pages;
            if !done {
                c.page += 1;
            }
            self.cursor("companies", &c, done).await?;
            if done {
                return Ok(());
            }
        }
    }

    /// A page of companies (a delta keeps those updated since).
    async fn send_companies(
        &self,
        items: Vec<Value>,
        c: &mut ListCursor,
        notes: &mut Notes,
    ) -> Result<(), ExtractError> {
        for v in items {
            match map::company(&v, notes) {
                Ok(o) => {
                    let t = o.updated_at.map(|t| t.timestamp());
                    if c.wants(t) {
                        c.saw(t);
                        self.send(Item::Organization(o)).await?
                    }
                }
                Err(e) => self.warn("organizations", &e).await?,
            }
        }
        self.flush(notes).await
    }

    /// Every company through `GET /companies/scroll`, for a workspace of more than 10,000: a
    /// page names the next one's `scroll_param`, an empty page ends it. Intercom keeps one
    /// scroll open per app and cannot continue a broken one, so a failure stops the stream
    /// with what to do (a run again reads the companies from the start; rows sent twice are
    /// kept once).
    async fn scroll_companies(
        &self,
        c: &mut ListCursor,
        notes: &mut Notes,
    ) -> Result<(), ExtractError> {
        let fail = |id: &str, message: String| ExtractError::Source {
            platform: "intercom",
            entity: "organizations".into(),
            id: id.to_string(),
            message,
        };
        let mut param: Option<String> = None;
        loop {
            let path = match &param {
                None => "/companies/scroll".to_string(),
                Some(p) => format!("/companies/scroll?scroll_param={}", client::esc(p)),
            };
            let v = match self.client().get(&path).await {
                Ok(v) => v,
                Err(e) if param.is_none() && e.status() == Some(400) => {
                    return Err(fail(
                        "scroll",
                        format!(
                            "Intercom refused to open a company scroll ({e}): it keeps one open per app; another tool of this app, or a run stopped less than a minute ago, holds it. Run the extraction again in a minute (it resumes)"
                        ),
                    ));
                }
                Err(e) => {
                    return Err(fail(
                        param.as_deref().unwrap_or("scroll"),
                        format!(
                            "the company scroll broke ({e}); Intercom cannot continue a scroll. Run the extraction again in a minute: it resumes and reads the companies again from the start"
                        ),
                    ));
                }
            };
            let next = v.get("scroll_param").and_then(Value::as_str).map(str::to_string);
            let (items, _) = client::page_of(v);
            if items.is_empty() {
                return Ok(());
            }
            self.send_companies(items, c, notes).await?;
            match next {
                Some(n) => param = Some(n),
                None => {
                    return Err(fail(
                        "scroll",
                        "a page of the company scroll named no scroll_param to go on with".into(),
                    ));
                }
            }
        }
    }

    /// Conversations: the list (or a delta's search) for ids, each read whole, files fetched
    /// while the next page is read; the cursor moves past a page once its files are stored.
    async fn conversations(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("conversations") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "conversations");
        let parent_ids: Option<BTreeSet<String>> = self
            .resume
            .since("conversations")
            .and_then(ListCursor::parse)
            .and_then(|p| p.ids)
            .map(|ids| ids.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
        // A full run that starts at the beginning sees every id on the list's pages.
        let mut ids: Option<BTreeSet<String>> =
            (c.since.is_none() && c.after.is_none()).then(BTreeSet::new);
        let mut notes = map::notes();
        let tickets = self.tickets(&mut c, &mut notes).await?;
        loop {
            let (items, next) = match c.since {
                Some(s) => {
                    let q = json!({"field": "updated_at", "operator": ">", "value": s});
                    self.client().search("/conversations/search", q, c.after.as_deref()).await?
                }
                None => self.client().page("/conversations", c.after.as_deref()).await?,
            };
            let listed: Vec<(String, Option<i64>)> = items
                .iter()
                .filter_map(|v| {
                    Some((client::id_of(v)?, v.get("updated_at").and_then(Value::as_i64)))
                })
                .collect();
            if let Some(ids) = ids.as_mut() {
                ids.extend(listed.iter().map(|(i, _)| i.clone()));
            }
            let files =
                self.conversation_page(&listed, &tickets.customer, &mut c, &mut notes).await?;
            self.files(files).await?;
            c.after = next;
            if c.after.is_none() {
                break;
            }
            self.cursor("conversations", &c, false).await?;
        }
        // The live ids: for this bundle's cursor and, in a delta, the deletions.
        let mut live = match ids {
            Some(ids) => ids,
            None => self.live_ids().await?,
        };
        // A Customer ticket is a conversation; one the conversations did not hold is read as
        // a ticket (Intercom does not say whether its conversation list holds every one).
        let unlisted: Vec<String> = tickets
            .customer
            .iter()
            .filter(|(id, v)| {
                !live.contains(*id) && c.wants(v.get("updated_at").and_then(Value::as_i64))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in unlisted {
            let got = self.client().get(&format!("/tickets/{}", client::esc(&id))).await;
            if let Some(v) = self.followup("tickets", &id, "the ticket", got).await? {
                let files = self.send_ticket(&v, &mut c, &mut notes).await?;
                self.files(files).await?;
            }
        }
        live.extend(tickets.all);
        if let Some(parent) = parent_ids {
            for gone in parent.difference(&live) {
                self.send(Item::Ticket(tombstoned(gone))).await?;
                let tomb =
                    Tombstone { entity: "tickets".into(), id: gone.clone(), deleted_at: None };
                self.send(Item::Tombstone(tomb)).await?;
            }
        }
        c.after = None;
        c.ids = Some(live.into_iter().collect::<Vec<_>>().join(","));
        self.cursor("conversations", &c, true).await
    }

    /// Intercom's tickets (`POST /tickets/search`, 150 a page, every one: the ids are the
    /// delta's live ones). One that is no conversation (Back-office, Tracker) is sent whole
    /// from its row (a delta: if updated since), its files fetched, until the `tickets` step is
    /// done; a Customer ticket is a conversation, and its row (its summary: held for the whole
    /// step, one per ticket) is kept to complete the conversation's.
    async fn tickets(
        &self,
        c: &mut ListCursor,
        notes: &mut Notes,
    ) -> Result<Tickets, ExtractError> {
        let send = !self.resume.is_done("tickets");
        let mut out = Tickets::default();
        let mut after: Option<String> = None;
        loop {
            let q = json!({"field": "created_at", "operator": ">", "value": 0});
            let (items, next) =
                self.client().search("/tickets/search", q, after.as_deref()).await?;
            let mut files = Vec::new();
            for v in items {
                let Some(id) = client::id_of(&v) else { continue };
                out.all.insert(id.clone());
                let customer = v.get("category").and_then(Value::as_str) == Some("Customer")
                    || v.pointer("/ticket_type/category").and_then(Value::as_str)
                        == Some("Customer");
                if customer {
                    out.customer.insert(id, map::ticket_summary(v));
                } else if send && c.wants(v.get("updated_at").and_then(Value::as_i64)) {
                    let v = if v.get("ticket_parts").is_some() {
                        v
                    } else {
                        // A row without its parts: the ticket is read whole.
                        let got =
                            self.client().get(&format!("/tickets/{}", client::esc(&id))).await;
                        match self.followup("tickets", &id, "the ticket", got).await? {
                            Some(v) => v,
                            None => continue,
                        }
                    };
                    files.extend(self.send_ticket(&v, c, notes).await?);
                }
            }
            self.files(files).await?;
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        if send {
            self.cursor("tickets", c, true).await?;
        }
        Ok(out)
    }

    /// A ticket that is no conversation, sent (its loss of parts declared as a
    /// conversation's); its files returned.
    async fn send_ticket(
        &self,
        v: &Value,
        c: &mut ListCursor,
        notes: &mut Notes,
    ) -> Result<Vec<File>, ExtractError> {
        let id = client::id_of(v).unwrap_or_default();
        let rows = match map::ticket(v, notes) {
            Ok(rows) => rows,
            Err(e) => {
                self.warn("tickets", &e).await?;
                return Ok(Vec::new());
            }
        };
        c.saw(v.get("updated_at").and_then(Value::as_i64));
        let files = self.send_rows(&id, rows).await?;
        self.flush(notes).await?;
        Ok(files)
    }

    /// A conversation's or a ticket's rows, sent (the parts Intercom left out declared on
    /// the ticket); its files returned.
    async fn send_rows(
        &self,
        id: &str,
        rows: map::ConversationRows,
    ) -> Result<Vec<File>, ExtractError> {
        if rows.parts_left_out > 0 {
            // The record is kept; its oldest parts are not to be had through the API: the
            // loss is declared on the ticket.
            let w = Warning::note(
                "tickets",
                Some(id.to_string()),
                format!(
                    "Intercom answers the {} most recent parts of a conversation and no endpoint of API 2.14 pages the others: its {} oldest parts (after the opening message) are not in the bundle",
                    map::MAX_PARTS,
                    rows.parts_left_out
                ),
            );
            self.send(Item::Warning(w)).await?;
        }
        for w in rows.warnings {
            self.send(Item::Warning(w)).await?;
        }
        if let Some(t) = rows.ticket {
            self.send(Item::Ticket(t)).await?;
        }
        for cm in rows.comments {
            self.send(Item::Comment(cm)).await?;
        }
        Ok(rows.files)
    }

    /// Every live conversation's id (the list, 150 a page).
    async fn live_ids(&self) -> Result<BTreeSet<String>, ExtractError> {
        let mut out = BTreeSet::new();
        let mut after: Option<String> = None;
        loop {
            let (items, next) = self.client().page("/conversations", after.as_deref()).await?;
            out.extend(items.iter().filter_map(client::id_of));
            match next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// One page's conversations read whole, sent, their files returned.
    async fn conversation_page(
        &self,
        listed: &[(String, Option<i64>)],
        tickets: &HashMap<String, Value>,
        c: &mut ListCursor,
        notes: &mut Notes,
    ) -> Result<Vec<File>, ExtractError> {
        let api = self.client();
        let mut got = futures_util::stream::iter(listed.iter().cloned())
            .map(|(id, t)| async move {
                let r = api.get(&format!("/conversations/{}", client::esc(&id))).await;
                (id, t, r)
            })
            .buffered(CONCURRENT_CONVERSATIONS);
        let mut files = Vec::new();
        while let Some((id, t, r)) = got.next().await {
            let Some(v) = self.followup("tickets", &id, "the conversation", r).await? else {
                continue;
            };
            c.saw(v.get("updated_at").and_then(Value::as_i64).or(t));
            let mut rows = match map::conversation(&v, notes) {
                Ok(rows) => rows,
                Err(e) => {
                    self.warn("tickets", &e).await?;
                    continue;
                }
            };
            if let (Some(t), Some(tv)) = (rows.ticket.as_mut(), tickets.get(&id))
                && let Err(e) = map::with_ticket(t, tv, notes)
            {
                self.warn("tickets", &e).await?;
            }
            files.extend(self.send_rows(&id, rows).await?);
        }
        self.flush(notes).await?;
        Ok(files)
    }

    /// Files, a sliding window at a time.
    async fn files(&self, files: Vec<File>) -> Result<(), ExtractError> {
        let http = self.src.client.http();
        let sink = self.sink;
        let mut s = futures_util::stream::iter(files)
            .map(|f| async move { sink.attachment(http, FILES, f.row, &f.url).await })
            .buffer_unordered(CONCURRENT_DOWNLOADS);
        while let Some(r) = s.next().await {
            r?;
        }
        Ok(())
    }

    /// Help Center collections and articles with their translations (a delta: those updated
    /// since).
    async fn help_center(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("help_center") {
            return Ok(());
        }
        let mut c = ListCursor::start(self.resume, "help_center");
        let mut notes = map::notes();
        for v in self.client().all("/help_center/collections", "data").await? {
            let t = v.get("updated_at").and_then(Value::as_i64);
            if !c.wants(t) {
                continue;
            }
            c.saw(t);
            match map::collection(&v, &mut notes) {
                Ok((section, rows)) => {
                    for k in rows {
                        let item = if section {
                            Item::KbSection(KbSection(k))
                        } else {
                            Item::KbCategory(KbCategory(k))
                        };
                        self.send(item).await?;
                    }
                }
                Err(e) => self.warn("kb_categories", &e).await?,
            }
        }
        let mut files = Vec::new();
        for v in self.client().all("/articles", "data").await? {
            let t = v.get("updated_at").and_then(Value::as_i64);
            if !c.wants(t) {
                continue;
            }
            c.saw(t);
            match map::article(&v, &mut notes) {
                Ok(rows) => {
                    for k in rows {
                        files.extend(map::article_files(&k));
                        self.send(Item::KbArticle(KbArticle(k))).await?;
                    }
                }
                Err(e) => self.warn("kb_articles", &e).await?,
            }
        }
        self.flush(&mut notes).await?;
        // Article files are in the bodies (the Articles API lists none): fetched before the
        // step counts as done.
        self.files(files).await?;
        self.cursor("help_center", &c, true).await
    }

    /// A follow-up for a record already listed: a failure of that record only is a warning
    /// and the record is kept as listed (a conversation gone since is left to the next delta).
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
                let message = format!("{what}: {why}");
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

/// A conversation deleted since the parent bundle, as the delta's ticket row.
fn tombstoned(id: &str) -> Ticket {
    Ticket { status: TicketStatus::Closed, is_deleted: true, ..Ticket::blank(id) }
}
