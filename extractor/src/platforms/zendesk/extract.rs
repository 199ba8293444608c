//! [`ZendeskSource`]: Zendesk Support and Guide read into a bundle with the fewest requests the
//! API allows.
//!
//! Streams (each persists its own cursor after every page):
//! - `groups`, `custom_fields`: small lists, re-read in full;
//! - `users`: cursor-based incremental export with the `identities` side-load (further emails),
//!   joined with `group_memberships` and `deleted_users` (read first, small);
//! - `organizations`: time-based incremental export;
//! - `tickets`: first the incremental ticket events with comment events (every comment, note and
//!   attachment, 1000 audits per request; the comments endpoint is asked per ticket only when an
//!   audit lacks its comment or a body shows an inline image that is not listed), then the
//!   cursor-based ticket export (archived and deleted tickets included) with the `metric_sets`
//!   side-load (`solved_at`);
//! - `help_center`: categories, sections and articles with their translations embedded, and
//!   each article's attachments ([`super::guide`]).
//!
//! The incremental exports share one small budget, so they run one after another while the
//! lists and the Help Center (other budgets) run beside them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use deskferry_format::Warning;
use deskferry_format::model::{Attachment, AttachmentState, FieldEntity, Tombstone};
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::client::{self, ATTACHMENTS, Client, DEFAULT, INCREMENTAL};
use super::map::{self, UserExtra};
use super::pages::{Paging, Prefetch, TicketsCursor, next_start_time};
use super::wire;
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, HttpError, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Attachment downloads in flight per page.
const CONCURRENT_DOWNLOADS: usize = 6;

/// Zendesk Support + Guide as a [`Source`].
#[derive(Debug, Clone)]
pub struct ZendeskSource {
    client: Client,
    account: String,
}

impl ZendeskSource {
    /// Builds the source from `source.toml` (`credentials.email` + API token; `[rate_limits]`
    /// overrides `default`, `incremental`, `help_center`, `attachments` per minute).
    pub fn new(cfg: &SourceConfig) -> Result<ZendeskSource, ExtractError> {
        let bad = |message: String| ExtractError::Config { path: cfg.path.clone(), message };
        if cfg.platform != "zendesk" {
            return Err(bad(format!("platform is {:?}, not \"zendesk\"", cfg.platform)));
        }
        let email = cfg.credentials.email.clone().or_else(|| cfg.credentials.user.clone());
        let email = email.ok_or_else(|| {
            bad("Zendesk needs credentials.email (the agent the API token belongs to)".into())
        })?;
        let token = cfg.credentials.token()?;
        let http =
            Http::new(client::http_config(cfg.url.clone(), &email, token, &cfg.rate_limits))?;
        Ok(ZendeskSource { client: Client::new(http), account: cfg.account() })
    }

    /// Builds the source from its parts (tests, benchmarks): base URL, agent email, API token
    /// and per-bucket rate overrides (requests per minute).
    pub fn from_parts(
        base_url: &str,
        email: &str,
        token: SecretString,
        rates: &BTreeMap<String, u32>,
    ) -> Result<ZendeskSource, ExtractError> {
        let url = Url::parse(base_url).map_err(|e| ExtractError::Config {
            path: "zendesk".into(),
            message: format!("bad base URL: {e}"),
        })?;
        let account = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "unknown".into(),
        };
        let http = Http::new(client::http_config(url, email, token, rates))?;
        Ok(ZendeskSource { client: Client::new(http), account })
    }

    /// The HTTP client (statistics, tests).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for ZendeskSource {
    fn platform(&self) -> &'static str {
        "zendesk"
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        let me = self.client.me().await?;
        let role = me["user"]["role"].as_str().unwrap_or("unknown").to_string();
        if role != "admin" {
            return Err(ExtractError::Source {
                platform: "zendesk",
                entity: "users/me".into(),
                id: me["user"]["id"].to_string(),
                message: format!(
                    "the API token's user is {role:?}, not an admin: incremental exports and deleted records need an admin token"
                ),
            });
        }
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run { client: &self.client, sink, resume, seen: Mutex::default() };
        tokio::try_join!(run.lists(), run.incremental(), super::guide::run(&run))?;
        Ok(())
    }
}

/// One extraction: what every stream needs.
pub(super) struct Run<'a> {
    pub(super) client: &'a Client,
    pub(super) sink: &'a Sink,
    pub(super) resume: &'a Resume,
    /// What this run has sent of the people its tickets refer to (see [`Run::references`]).
    pub(super) seen: Mutex<Seen>,
}

/// Users and organizations sent by this run, and what a user row needs besides the user.
#[derive(Default)]
pub(super) struct Seen {
    users: BTreeSet<String>,
    organizations: BTreeSet<String>,
    groups: BTreeMap<u64, Vec<(bool, String)>>,
    deleted: BTreeSet<u64>,
}

/// The users and organizations records refer to.
#[derive(Default)]
struct Refs {
    users: BTreeSet<String>,
    organizations: BTreeSet<String>,
}

impl Refs {
    fn user(&mut self, id: Option<&String>) {
        self.users.extend(id.cloned());
    }

    fn ticket(&mut self, t: &deskferry_format::model::Ticket) {
        for id in [&t.requester_id, &t.submitter_id, &t.assignee_id] {
            self.user(id.as_ref());
        }
        self.users.extend(t.cc_ids.iter().chain(&t.follower_ids).cloned());
        self.organizations.extend(t.organization_id.clone());
    }
}

/// Takes the array `key` out of a page (the page keeps its paging keys).
pub(super) fn take_array(page: &mut Value, key: &str) -> Vec<Value> {
    match page.get_mut(key).map(Value::take) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

impl Run<'_> {
    pub(super) async fn send(&self, item: Item) -> Result<(), ExtractError> {
        self.sink.send(item).await
    }

    pub(super) async fn cursor(
        &self,
        stream: &str,
        cursor: String,
        done: bool,
    ) -> Result<(), ExtractError> {
        self.send(Item::Cursor { stream: stream.into(), cursor, done }).await
    }

    /// Sends what tolerant reads left out (see [`crate::tolerant`]) as warnings.
    pub(super) async fn flush(&self, notes: &mut Notes) -> Result<(), ExtractError> {
        for w in notes.take() {
            self.send(Item::Warning(w)).await?;
        }
        Ok(())
    }

    /// A follow-up read (the details of a record already listed) whose record may have been
    /// deleted in between: a failure that concerns that record only (404, 410, 403, an
    /// unreadable answer) is a warning and `None`; the run goes on. Anything else stops it.
    pub(super) async fn followup<T>(
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

    /// Records one record that could not be read and carries on.
    pub(super) async fn warn(
        &self,
        entity: &str,
        id: Option<String>,
        message: String,
    ) -> Result<(), ExtractError> {
        self.send(Item::Warning(Warning::failure(entity, id, message))).await
    }

    fn delta(&self) -> bool {
        self.resume.is_delta()
    }

    fn seen_mut(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn saw_user(&self, id: &str) {
        self.seen_mut().users.insert(id.to_string());
    }

    /// The users of a page (the export's or `show_many`'s) with their side-loaded identities,
    /// group memberships and deletion; an unreadable one as (id, error).
    fn users_of_page(
        &self,
        page: &mut Value,
        notes: &mut Notes,
    ) -> Vec<Result<deskferry_format::model::User, (String, ExtractError)>> {
        let mut emails: BTreeMap<u64, Vec<wire::Identity>> = BTreeMap::new();
        for v in take_array(page, "identities") {
            match notes.read::<wire::Identity>("identities", &v) {
                Ok(i) => emails.entry(i.user_id).or_default().push(i),
                Err(e) => notes.refused("identities", &v, &e),
            }
        }
        let seen = self.seen_mut();
        take_array(page, "users")
            .iter()
            .map(|v| {
                let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
                let extra = UserExtra {
                    group_ids: seen
                        .groups
                        .get(&id)
                        .map(|g| g.iter().map(|x| x.1.clone()).collect())
                        .unwrap_or_default(),
                    other_emails: emails
                        .get(&id)
                        .map(|i| map::other_emails(i, id))
                        .unwrap_or_default(),
                    deleted: seen.deleted.contains(&id),
                };
                map::user(v, extra, notes).map_err(|e| (id.to_string(), e))
            })
            .collect()
    }

    /// A delta holds only what changed, yet its tickets and comments refer to people who did
    /// not: those users and organizations are fetched by id (100 per request) and sent too, so
    /// the loader resolves every author, requester and organization from the bundle itself. A
    /// row sent twice after a resume is harmless: the writer keeps the last.
    async fn references(&self, mut refs: Refs) -> Result<(), ExtractError> {
        if !self.delta() {
            return Ok(());
        }
        let users: Vec<String> = {
            let seen = self.seen_mut();
            refs.users.iter().filter(|u| !seen.users.contains(*u)).cloned().collect()
        };
        let mut notes = map::notes();
        for chunk in users.chunks(100) {
            let mut page = self.client.users_by_id(chunk).await?;
            for u in self.users_of_page(&mut page, &mut notes) {
                match u {
                    Ok(u) => {
                        refs.organizations.extend(u.organization_id.clone());
                        self.saw_user(&u.id);
                        self.send(Item::User(u)).await?;
                    }
                    Err((id, e)) => self.warn("users", Some(id), e.to_string()).await?,
                }
            }
        }
        let orgs: Vec<String> = {
            let seen = self.seen_mut();
            refs.organizations
                .iter()
                .filter(|o| !seen.organizations.contains(*o))
                .cloned()
                .collect()
        };
        for chunk in orgs.chunks(100) {
            let mut page = self.client.organizations_by_id(chunk).await?;
            for v in take_array(&mut page, "organizations") {
                match map::organization(&v, &mut notes) {
                    Ok(o) => {
                        self.seen_mut().organizations.insert(o.id.clone());
                        self.send(Item::Organization(o)).await?;
                    }
                    Err(e) => self.warn("organizations", None, e.to_string()).await?,
                }
            }
        }
        self.flush(&mut notes).await
    }

    /// Downloads and sends a page's attachments, a few at a time.
    pub(super) async fn attachments(
        &self,
        atts: Vec<(Attachment, Option<String>)>,
    ) -> Result<(), ExtractError> {
        stream::iter(atts)
            .map(|(a, url)| self.attachment(a, url))
            .buffer_unordered(CONCURRENT_DOWNLOADS)
            .try_for_each(|()| async { Ok(()) })
            .await
    }

    async fn attachment(&self, mut a: Attachment, url: Option<String>) -> Result<(), ExtractError> {
        if let Some(url) = url {
            return self.sink.attachment(self.client.http(), ATTACHMENTS, a, &url).await;
        }
        if a.state != AttachmentState::Missing {
            a.state = AttachmentState::Failed;
            a.error = Some("no content_url".into());
        }
        let why = a.error.clone().unwrap_or_default();
        self.warn("attachments", Some(a.id.clone()), format!("attachment not downloaded: {why}"))
            .await?;
        self.send(Item::Attachment(a)).await
    }

    /// Groups and field definitions: small, no delta feed, re-read in full.
    async fn lists(&self) -> Result<(), ExtractError> {
        if !self.resume.is_done("groups") {
            let groups = self.client.list_all(DEFAULT, "/api/v2/groups.json", "groups").await?;
            let mut notes = map::notes();
            for v in &groups {
                match map::group(v, &mut notes) {
                    Ok(g) => self.send(Item::Group(g)).await?,
                    Err(e) => self.warn("groups", None, e.to_string()).await?,
                }
            }
            self.flush(&mut notes).await?;
            self.sink.progress().note("groups", groups.len() as u64);
            self.cursor("groups", String::new(), true).await?;
        }
        if !self.resume.is_done("custom_fields") {
            let kinds = [
                ("/api/v2/ticket_fields.json", "ticket_fields", FieldEntity::Ticket),
                ("/api/v2/user_fields.json", "user_fields", FieldEntity::User),
                (
                    "/api/v2/organization_fields.json",
                    "organization_fields",
                    FieldEntity::Organization,
                ),
            ];
            let mut notes = map::notes();
            for (path, key, entity) in kinds {
                for v in self.client.list_all(DEFAULT, path, key).await? {
                    match map::field(&v, entity, &mut notes) {
                        Ok(Some(f)) => self.send(Item::CustomField(f)).await?,
                        Ok(None) => {}
                        Err(e) => self.warn("custom_fields", None, e.to_string()).await?,
                    }
                }
            }
            self.flush(&mut notes).await?;
            self.cursor("custom_fields", String::new(), true).await?;
        }
        Ok(())
    }

    /// The incremental exports, one after another (they share the 10/min budget).
    async fn incremental(&self) -> Result<(), ExtractError> {
        self.users().await?;
        self.organizations().await?;
        self.tickets().await
    }

    async fn users(&self) -> Result<(), ExtractError> {
        const S: &str = "users";
        if self.resume.is_done(S) {
            return Ok(());
        }
        let mut groups: BTreeMap<u64, Vec<(bool, String)>> = BTreeMap::new();
        let mut notes = map::notes();
        for v in self
            .client
            .list_all(DEFAULT, "/api/v2/group_memberships.json", "group_memberships")
            .await?
        {
            match notes.read::<wire::GroupMembership>("group_memberships", &v) {
                Ok(m) => {
                    groups.entry(m.user_id).or_default().push((!m.default, m.group_id.to_string()))
                }
                Err(e) => notes.refused("group_memberships", &v, &e),
            }
        }
        for v in groups.values_mut() {
            // Default group first; the rest in Zendesk's order (the sort is stable).
            v.sort_by_key(|(not_default, _)| *not_default);
        }
        let deleted: BTreeSet<u64> = self
            .client
            .list_all(DEFAULT, "/api/v2/deleted_users.json", "deleted_users")
            .await?
            .iter()
            .filter_map(|v| v.get("id").and_then(Value::as_u64))
            .collect();
        {
            let mut seen = self.seen_mut();
            seen.groups = groups;
            seen.deleted = deleted;
        }
        let mut position = self.resume.cursor(S).or(self.resume.since(S)).map(str::to_string);
        let first = client::users_export_url(position.as_deref());
        let mut pages = Prefetch::start(self.client, INCREMENTAL, first, Paging::CursorExport);
        while let Some(page) = pages.next().await {
            let mut page = page?;
            let users = self.users_of_page(&mut page, &mut notes);
            self.sink.progress().note(S, users.len() as u64);
            for u in users {
                match u {
                    Ok(u) => {
                        if self.delta() && u.is_deleted {
                            self.tombstone("users", &u.id, u.updated_at).await?;
                        }
                        self.saw_user(&u.id);
                        self.send(Item::User(u)).await?;
                    }
                    Err((id, e)) => self.warn(S, Some(id), e.to_string()).await?,
                }
            }
            self.flush(&mut notes).await?;
            if let Some(c) = page.get("after_cursor").and_then(Value::as_str) {
                position = Some(c.to_string());
            }
            let done = Paging::CursorExport.next(&page).is_none();
            self.cursor(S, position.clone().unwrap_or_default(), done).await?;
        }
        Ok(())
    }

    async fn tombstone(
        &self,
        entity: &str,
        id: &str,
        at: Option<deskferry_format::model::Timestamp>,
    ) -> Result<(), ExtractError> {
        let t = Tombstone { entity: entity.into(), id: id.into(), deleted_at: at };
        self.send(Item::Tombstone(t)).await
    }

    async fn organizations(&self) -> Result<(), ExtractError> {
        const S: &str = "organizations";
        if self.resume.is_done(S) {
            return Ok(());
        }
        let start = self.resume.cursor(S).or(self.resume.since(S));
        let mut from = start.and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
        let first = client::organizations_export_url(from);
        let mut pages = Prefetch::start(self.client, INCREMENTAL, first, Paging::TimeExport);
        while let Some(page) = pages.next().await {
            let mut page = page?;
            let orgs = take_array(&mut page, "organizations");
            let mut notes = map::notes();
            for v in &orgs {
                match map::organization(v, &mut notes) {
                    Ok(o) => {
                        let gone = v.get("deleted_at").and_then(Value::as_str);
                        if self.delta() && gone.is_some() {
                            self.tombstone(S, &o.id, map::ts(gone)).await?;
                        }
                        self.seen_mut().organizations.insert(o.id.clone());
                        self.send(Item::Organization(o)).await?;
                    }
                    Err(e) => self.warn(S, None, e.to_string()).await?,
                }
            }
            self.flush(&mut notes).await?;
            self.sink.progress().note(S, orgs.len() as u64);
            from = next_start_time(&page).unwrap_or(from);
            let done = Paging::TimeExport.next(&page).is_none();
            self.cursor(S, from.to_string(), done).await?;
        }
        Ok(())
    }

    async fn tickets(&self) -> Result<(), ExtractError> {
        const S: &str = "tickets";
        if self.resume.is_done(S) {
            return Ok(());
        }
        let mut st = match (self.resume.cursor(S), self.resume.since(S)) {
            (Some(c), _) => TicketsCursor::parse(c)?,
            (None, Some(parent)) => TicketsCursor::for_delta(&TicketsCursor::parse(parent)?),
            (None, None) => TicketsCursor::default(),
        };
        if !st.events_done {
            self.ticket_events(&mut st).await?;
        }
        self.ticket_export(&mut st).await
    }

    /// Comments, notes and their attachments from the ticket events; remembers deletions.
    async fn ticket_events(&self, st: &mut TicketsCursor) -> Result<(), ExtractError> {
        let first = client::ticket_events_url(st.events_from);
        let mut pages = Prefetch::start(self.client, INCREMENTAL, first, Paging::TimeExport);
        // Audits of the previous page's last second: the next page repeats them.
        let mut boundary: (i64, BTreeSet<u64>) = (i64::MIN, BTreeSet::new());
        while let Some(page) = pages.next().await {
            let mut page = page?;
            let end_time = page.get("end_time").and_then(Value::as_i64).unwrap_or(i64::MIN);
            let mut next_boundary = (end_time, BTreeSet::new());
            let mut atts = Vec::new();
            let mut fallback = BTreeSet::new();
            let mut comments = 0u64;
            let mut refs = Refs::default();
            let mut notes = map::notes();
            for v in take_array(&mut page, "ticket_events") {
                let e: wire::TicketEvent = match notes.read("ticket_events", &v) {
                    Ok(e) => e,
                    Err(err) => {
                        self.warn("comments", None, err.to_string()).await?;
                        continue;
                    }
                };
                if e.timestamp == Some(boundary.0) && boundary.1.contains(&e.id) {
                    continue;
                }
                if e.timestamp == Some(end_time) {
                    next_boundary.1.insert(e.id);
                }
                let facts = map::event_facts(&e, &mut notes);
                let tid = e.ticket_id.to_string();
                if let Some(prev) = facts.deleted_from {
                    st.deleted.insert(tid.clone(), prev);
                }
                if facts.comment_present && facts.comments.is_empty() {
                    fallback.insert(e.ticket_id);
                }
                for c in facts.comments {
                    let made = map::comment(c, &tid, e.created_at.as_deref(), &mut notes);
                    let (comment, catts) = match made {
                        Ok(x) => x,
                        Err(err) => {
                            self.warn("comments", Some(tid.clone()), err.to_string()).await?;
                            continue;
                        }
                    };
                    if unlisted_inline_image(&comment, &catts) {
                        fallback.insert(e.ticket_id);
                    }
                    comments += 1;
                    refs.user(comment.author_id.as_ref());
                    self.send(Item::Comment(comment)).await?;
                    atts.extend(catts);
                }
            }
            self.flush(&mut notes).await?;
            // The fallback's rows replace the events' (one row per attachment id per page, so
            // concurrent downloads cannot reorder two versions of one row).
            let mut again = Vec::new();
            for t in fallback {
                again.extend(self.comments_of_ticket(&t.to_string()).await?);
            }
            let replaced: BTreeSet<String> = again.iter().map(|(a, _)| a.id.clone()).collect();
            atts.retain(|(a, _)| !replaced.contains(&a.id));
            atts.extend(again);
            self.attachments(atts).await?;
            self.references(refs).await?;
            self.sink.progress().note("comments", comments);
            boundary = next_boundary;
            st.events_from = next_start_time(&page).unwrap_or(st.events_from);
            st.events_done = Paging::TimeExport.next(&page).is_none();
            self.cursor("tickets", st.to_text(), false).await?;
        }
        Ok(())
    }

    /// The per-ticket fallback: sends every comment of one ticket (with inline images) and
    /// returns their attachments for the caller to download.
    async fn comments_of_ticket(
        &self,
        ticket_id: &str,
    ) -> Result<Vec<(Attachment, Option<String>)>, ExtractError> {
        // Deleted tickets answer 404 here; their events already gave what exists.
        let r = self.client.ticket_comments(ticket_id).await;
        let what = "its comments (asked for inline images the events left out)";
        let Some(list) = self.followup("comments", ticket_id, what, r).await? else {
            return Ok(Vec::new());
        };
        let mut atts = Vec::new();
        let mut notes = map::notes();
        for v in &list {
            match map::comment(v, ticket_id, None, &mut notes) {
                Ok((c, a)) => {
                    self.send(Item::Comment(c)).await?;
                    atts.extend(a);
                }
                Err(e) => self.warn("comments", Some(ticket_id.into()), e.to_string()).await?,
            }
        }
        self.flush(&mut notes).await?;
        Ok(atts)
    }

    /// Tickets (archived and deleted included) from the cursor-based export.
    async fn ticket_export(&self, st: &mut TicketsCursor) -> Result<(), ExtractError> {
        let first = client::tickets_export_url(st.tickets.as_deref());
        let mut pages = Prefetch::start(self.client, INCREMENTAL, first, Paging::CursorExport);
        while let Some(page) = pages.next().await {
            let mut page = page?;
            let mut solved: BTreeMap<u64, String> = BTreeMap::new();
            let mut notes = map::notes();
            for m in take_array(&mut page, "metric_sets") {
                if let Ok(m) = notes.read::<wire::MetricSet>("metric_sets", &m)
                    && let Some(s) = m.solved_at
                {
                    solved.insert(m.ticket_id, s);
                }
            }
            let tickets = take_array(&mut page, "tickets");
            let mut refs = Refs::default();
            for v in &tickets {
                let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
                let before = st.deleted.get(&id.to_string()).map(String::as_str);
                match map::ticket(v, solved.get(&id).map(String::as_str), before, &mut notes) {
                    Ok(t) => {
                        if self.delta() && t.is_deleted {
                            self.tombstone("tickets", &t.id, t.updated_at).await?;
                        }
                        refs.ticket(&t);
                        self.send(Item::Ticket(t)).await?;
                    }
                    Err(e) => self.warn("tickets", Some(id.to_string()), e.to_string()).await?,
                }
            }
            self.flush(&mut notes).await?;
            self.references(refs).await?;
            self.sink.progress().note("tickets", tickets.len() as u64);
            if let Some(c) = page.get("after_cursor").and_then(Value::as_str) {
                st.tickets = Some(c.to_string());
            }
            if Paging::CursorExport.next(&page).is_none() {
                let done = TicketsCursor { deleted: BTreeMap::new(), ..st.clone() };
                self.cursor("tickets", done.to_text(), true).await?;
            } else {
                self.cursor("tickets", st.to_text(), false).await?;
            }
        }
        Ok(())
    }
}

/// True when the body shows a Zendesk attachment (`/attachments/token/…`) that is not among the
/// comment's attachments: the event left an inline image out.
fn unlisted_inline_image(
    c: &deskferry_format::model::Comment,
    atts: &[(Attachment, Option<String>)],
) -> bool {
    let Some(html) = c.body_html.as_deref() else { return false };
    let wanted = map::inline_tokens(html);
    if wanted.is_empty() {
        return false;
    }
    let listed: BTreeSet<&str> =
        atts.iter().filter_map(|(_, u)| u.as_deref().and_then(map::url_token)).collect();
    wanted.iter().any(|t| !listed.contains(t))
}
