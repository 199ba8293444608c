//! [`FreshdeskSource`]: Freshdesk read into a bundle with the fewest requests its API allows.
//!
//! Streams:
//! - `users` (contacts in their three states, agents, roles for the agents' role names),
//!   `organizations`, `groups`, `custom_fields`: small lists, read in full on every run (a
//!   delta needs them to resolve its tickets' people and CC addresses; Freshdesk has no delta
//!   for agents, companies or groups);
//! - `tickets`, `deleted_tickets`, `spam_tickets`: the three ticket lists, `updated_since` the
//!   stream's cursor, oldest update first, 100 a page with `include=stats`; every ticket's single
//!   view with `include=conversations` (its description, the description's files, which no list
//!   shows, and the first ten conversations), the conversations list only for tickets with ten
//!   or more; files downloaded as their ticket is read (their URLs are pre-signed and expire).
//!   At page 300, where Freshdesk stops, the list starts again from the last update seen. A
//!   stream's cursor after its last page is the newest update seen plus a second (the filter
//!   includes its bound), where the next delta starts; in a delta, a deleted ticket is a
//!   tombstone too;
//! - `solutions`: the account's languages, then categories, their folders and the folders'
//!   articles in every language, each language's rows under the source row's id.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use deskferry_format::model::{FieldEntity, Tombstone};
use deskferry_format::{KbArticle, KbCategory, KbSection, Warning};
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Url;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{self, ATTACHMENTS, CONTACTS_LIST, Client, DEFAULT, PAGE_CAP, TICKETS_LIST};
use super::map::{self, Emails, Owner};
use super::wire;
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, HttpError, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Tickets read at once (each its single view, conversation pages and files).
const CONCURRENT_TICKETS: usize = 6;

/// Where the ticket lists start without a cursor (Freshdesk shows 30 days without one).
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Freshdesk as a [`Source`].
#[derive(Debug, Clone)]
pub struct FreshdeskSource {
    client: Client,
    account: String,
}

impl FreshdeskSource {
    /// Builds the source from `source.toml` (the API key as the token; `[rate_limits]`
    /// overrides `default`, `tickets_list`, `contacts_list`, `attachments` per minute).
    pub fn new(cfg: &SourceConfig) -> Result<FreshdeskSource, ExtractError> {
        if cfg.platform != "freshdesk" {
            return Err(ExtractError::Config {
                path: cfg.path.clone(),
                message: format!("platform is {:?}, not \"freshdesk\"", cfg.platform),
            });
        }
        let key = cfg.credentials.token()?;
        let http = Http::new(client::http_config(cfg.url.clone(), key, &cfg.rate_limits))?;
        Ok(FreshdeskSource { client: Client::new(http), account: cfg.account() })
    }

    /// Builds the source from its parts (tests, benchmarks): base URL, API key and per-bucket
    /// rate overrides.
    pub fn from_parts(
        base_url: &str,
        key: SecretString,
        rates: &std::collections::BTreeMap<String, u32>,
    ) -> Result<FreshdeskSource, ExtractError> {
        let url = Url::parse(base_url).map_err(|e| ExtractError::Config {
            path: "freshdesk".into(),
            message: format!("bad base URL: {e}"),
        })?;
        let account = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "unknown".into(),
        };
        let http = Http::new(client::http_config(url, key, rates))?;
        Ok(FreshdeskSource { client: Client::new(http), account })
    }

    /// The HTTP client (statistics, tests).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for FreshdeskSource {
    fn platform(&self) -> &'static str {
        "freshdesk"
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        self.client.me().await?;
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run { client: &self.client, sink, resume, emails: Mutex::default() };
        run.people().await?;
        tokio::try_join!(run.tickets(), run.solutions())?;
        Ok(())
    }
}

struct Run<'a> {
    client: &'a Client,
    sink: &'a Sink,
    resume: &'a Resume,
    emails: Mutex<Emails>,
}

/// A ticket stream's resume position.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TicketsCursor {
    /// `updated_since` of the current slice.
    since: String,
    /// The next page to read.
    page: u32,
    /// The newest update seen so far.
    #[serde(default)]
    newest: Option<String>,
}

/// The three ticket lists: stream name and `filter`.
const TICKET_LISTS: [(&str, Option<&str>); 3] =
    [("tickets", None), ("deleted_tickets", Some("deleted")), ("spam_tickets", Some("spam"))];

impl Run<'_> {
    async fn send(&self, item: Item) -> Result<(), ExtractError> {
        self.sink.send(item).await
    }

    async fn flush(&self, notes: &mut Notes) -> Result<(), ExtractError> {
        for w in notes.take() {
            self.send(Item::Warning(w)).await?;
        }
        Ok(())
    }

    async fn done(&self, stream: &str, cursor: String) -> Result<(), ExtractError> {
        self.send(Item::Cursor { stream: stream.into(), cursor, done: true }).await
    }

    async fn warn(
        &self,
        entity: &str,
        id: Option<String>,
        e: &ExtractError,
    ) -> Result<(), ExtractError> {
        self.send(Item::Warning(Warning::failure(entity, id, e.to_string()))).await
    }

    /// A follow-up read of a record already listed: a failure of that record only (404, 403,
    /// an unreadable answer) is a warning and `None`, the record kept as listed.
    async fn followup<T>(
        &self,
        entity: &str,
        id: &str,
        r: Result<T, HttpError>,
    ) -> Result<Option<T>, ExtractError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.class(Op::Read) == ErrorClass::Record => {
                let w = Warning::note(entity, Some(id.to_string()), format!("{e}; kept as listed"));
                self.send(Item::Warning(w)).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// People, companies, groups and field definitions (small; read in full every run).
    async fn people(&self) -> Result<(), ExtractError> {
        let mut notes = map::notes();
        let roles: HashMap<u64, String> = self
            .client
            .get(DEFAULT, "/api/v2/roles")
            .await?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| notes.read::<wire::Role>("roles", v).ok())
            .map(|r| (r.id, r.name.unwrap_or_default()))
            .collect();
        let mut users = Vec::new();
        for v in self.client.all(DEFAULT, "/api/v2/agents").await? {
            users.push(map::agent(&v, &roles, &mut notes).map_err(|e| (v, e)));
        }
        for state in ["", "?state=deleted", "?state=blocked"] {
            for v in self.client.all(CONTACTS_LIST, &format!("/api/v2/contacts{state}")).await? {
                users.push(map::contact(&v, &mut notes).map_err(|e| (v, e)));
            }
        }
        for u in users {
            match u {
                Ok(u) => {
                    self.emails.lock().unwrap_or_else(|e| e.into_inner()).add(&u);
                    self.send(Item::User(u)).await?;
                }
                Err((v, e)) => notes.refused("users", &v, &e),
            }
        }
        self.flush(&mut notes).await?;
        self.done("users", String::new()).await?;

        for v in self.client.all(DEFAULT, "/api/v2/companies").await? {
            match map::company(&v, &mut notes) {
                Ok(o) => self.send(Item::Organization(o)).await?,
                Err(e) => notes.refused("organizations", &v, &e),
            }
        }
        self.flush(&mut notes).await?;
        self.done("organizations", String::new()).await?;
        for v in self.client.all(DEFAULT, "/api/v2/groups").await? {
            match map::group(&v, &mut notes) {
                Ok(g) => self.send(Item::Group(g)).await?,
                Err(e) => notes.refused("groups", &v, &e),
            }
        }
        self.flush(&mut notes).await?;
        self.done("groups", String::new()).await?;
        for (path, entity) in [
            ("/api/v2/ticket_fields", FieldEntity::Ticket),
            ("/api/v2/contact_fields", FieldEntity::User),
            ("/api/v2/company_fields", FieldEntity::Organization),
        ] {
            let list = self.client.get(DEFAULT, path).await?;
            for v in list.as_array().into_iter().flatten() {
                match map::field(v, entity, &mut notes) {
                    Ok(Some(f)) => self.send(Item::CustomField(f)).await?,
                    Ok(None) => {}
                    Err(e) => notes.refused("custom_fields", v, &e),
                }
            }
        }
        self.flush(&mut notes).await?;
        self.done("custom_fields", String::new()).await
    }

    async fn tickets(&self) -> Result<(), ExtractError> {
        for (stream, filter) in TICKET_LISTS {
            if !self.resume.is_done(stream) {
                self.ticket_list(stream, filter).await?;
            }
        }
        Ok(())
    }

    async fn ticket_list(&self, stream: &str, filter: Option<&str>) -> Result<(), ExtractError> {
        let mut cur = match self.resume.cursor(stream).and_then(|c| serde_json::from_str(c).ok()) {
            Some(c) => c,
            None => TicketsCursor {
                since: self.resume.since(stream).unwrap_or(EPOCH).to_string(),
                page: 1,
                newest: None,
            },
        };
        loop {
            let url = client::tickets_url(filter, &cur.since, cur.page);
            let page = self.client.page(TICKETS_LIST, &url).await?;
            let emails = self.emails.lock().unwrap_or_else(|e| e.into_inner()).clone();
            for v in &page.items {
                if let Some(u) = v.get("updated_at").and_then(Value::as_str)
                    && cur.newest.as_deref().is_none_or(|n| map::ts(Some(u)) > map::ts(Some(n)))
                {
                    cur.newest = Some(u.to_string());
                }
            }
            let delta = self.resume.is_delta() && filter == Some("deleted");
            let emails = &emails;
            stream::iter(page.items.clone())
                .map(|v| async move { self.one_ticket(&v, emails, delta).await })
                .buffered(CONCURRENT_TICKETS)
                .try_collect::<Vec<()>>()
                .await?;
            if page.next.is_none() {
                break;
            }
            if cur.page >= PAGE_CAP {
                // Freshdesk serves 300 pages: the next slice starts at the newest update seen
                // (tickets at that very second come again; the writer keeps one row each).
                cur.since = cur.newest.clone().unwrap_or(cur.since);
                cur.page = 1;
            } else {
                cur.page += 1;
            }
            let text = serde_json::to_string(&cur).unwrap_or_default();
            self.send(Item::Cursor { stream: stream.into(), cursor: text, done: false }).await?;
        }
        // The next delta starts a second after the newest update seen: `updated_since` includes
        // its bound and Freshdesk's times are whole seconds.
        let next = match cur.newest.as_deref().and_then(|n| map::ts(Some(n))) {
            Some(t) => (t + chrono::Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            None => cur.since,
        };
        self.done(stream, next).await
    }

    /// One listed ticket: its single view, conversations and files.
    async fn one_ticket(
        &self,
        v: &Value,
        emails: &Emails,
        tombstone: bool,
    ) -> Result<(), ExtractError> {
        let mut notes = map::notes();
        let (ticket, listed) = match map::ticket(v, emails, &mut notes) {
            Ok(t) => t,
            Err(e) => {
                notes.refused("tickets", v, &e);
                return self.flush(&mut notes).await;
            }
        };
        let id = ticket.id.clone();
        let single = self.followup("tickets", &id, self.client.ticket(&id).await).await?;
        let mut comments = Vec::new();
        let mut files = Vec::new();
        if let Some(single) = single {
            let view: wire::Ticket = match notes.read("tickets", &single) {
                Ok(t) => t,
                Err(_) => listed.clone(),
            };
            let owner = Owner {
                ticket_id: Some(id.clone()),
                comment_id: Some(map::description_id(&id)),
                article_id: None,
            };
            let own = map::attachments(
                &view.attachments,
                &owner,
                view.description.as_deref(),
                &mut notes,
            );
            let ids: Vec<String> = own.iter().map(|(a, _)| a.id.clone()).collect();
            comments.push(map::description(&ticket, &view, &ids));
            files.extend(own);
            let mut convs = view.conversations.clone().unwrap_or_default();
            if convs.len() >= 10 {
                let path = format!("/api/v2/tickets/{id}/conversations");
                if let Some(all) =
                    self.followup("comments", &id, self.client.all(DEFAULT, &path).await).await?
                {
                    convs = all;
                }
            }
            for c in &convs {
                match map::conversation(c, &id, &mut notes) {
                    Ok((mut comment, wc)) => {
                        let owner = Owner {
                            ticket_id: Some(id.clone()),
                            comment_id: Some(comment.id.clone()),
                            article_id: None,
                        };
                        let own = map::attachments(
                            &wc.attachments,
                            &owner,
                            wc.body.as_deref(),
                            &mut notes,
                        );
                        comment.attachment_ids = own.iter().map(|(a, _)| a.id.clone()).collect();
                        comments.push(comment);
                        files.extend(own);
                    }
                    Err(e) => notes.refused("comments", c, &e),
                }
            }
        }
        self.flush(&mut notes).await?;
        let deleted = (tombstone && ticket.is_deleted).then(|| Tombstone {
            entity: "tickets".into(),
            id: id.clone(),
            deleted_at: ticket.updated_at,
        });
        self.send(Item::Ticket(ticket)).await?;
        for c in comments {
            self.send(Item::Comment(c)).await?;
        }
        self.files(files).await?;
        if let Some(t) = deleted {
            self.send(Item::Tombstone(t)).await?;
        }
        Ok(())
    }

    /// Downloads files (storage URLs, no credentials) and sends their rows.
    async fn files(
        &self,
        files: Vec<(deskferry_format::model::Attachment, Option<String>)>,
    ) -> Result<(), ExtractError> {
        for (att, url) in files {
            match url {
                Some(u) => self.sink.attachment(self.client.http(), ATTACHMENTS, att, &u).await?,
                None => {
                    let e = ExtractError::Source {
                        platform: map::PLATFORM,
                        entity: "attachments".into(),
                        id: att.id.clone(),
                        message: "no attachment_url".into(),
                    };
                    self.warn("attachments", Some(att.id.clone()), &e).await?;
                }
            }
        }
        Ok(())
    }

    /// Solutions in every language (read in full; Freshdesk has no delta for them).
    async fn solutions(&self) -> Result<(), ExtractError> {
        if self.resume.is_done("solutions") {
            return Ok(());
        }
        let mut notes = map::notes();
        let settings = self.client.get(DEFAULT, "/api/v2/settings/helpdesk").await?;
        let settings: wire::Settings = notes.read("settings", &settings).unwrap_or_default();
        let primary = settings.primary_language.clone().unwrap_or_else(|| "en".into());
        let mut langs: Vec<(String, bool)> = vec![(primary.clone(), true)];
        let others: BTreeSet<String> =
            settings.supported_languages.into_iter().filter(|l| *l != primary).collect();
        langs.extend(others.into_iter().map(|l| (l, false)));
        let suffix = |l: &str, p: bool| if p { String::new() } else { format!("/{l}") };

        let mut categories = Vec::new();
        for (lang, primary) in &langs {
            let list = self
                .client
                .get(DEFAULT, &format!("/api/v2/solutions/categories{}", suffix(lang, *primary)))
                .await?;
            for v in list.as_array().into_iter().flatten() {
                match map::folder(v, "categories", None, lang, *primary, &mut notes) {
                    Ok(k) => {
                        if *primary {
                            categories.push(k.id.clone());
                        }
                        self.send(Item::KbCategory(KbCategory(k))).await?;
                    }
                    Err(e) => notes.refused("kb_categories", v, &e),
                }
            }
        }
        let mut folders = Vec::new();
        for cat in &categories {
            for (lang, primary) in &langs {
                let path =
                    format!("/api/v2/solutions/categories/{cat}/folders{}", suffix(lang, *primary));
                let list = match self
                    .followup("kb_categories", cat, self.client.get(DEFAULT, &path).await)
                    .await?
                {
                    Some(l) => l,
                    None => continue,
                };
                for v in list.as_array().into_iter().flatten() {
                    match map::folder(v, "folders", Some(cat), lang, *primary, &mut notes) {
                        Ok(k) => {
                            if *primary {
                                folders.push(k.id.clone());
                            }
                            self.send(Item::KbSection(KbSection(k))).await?;
                        }
                        Err(e) => notes.refused("kb_sections", v, &e),
                    }
                }
            }
        }
        for folder in &folders {
            for (lang, primary) in &langs {
                let path = format!(
                    "/api/v2/solutions/folders/{folder}/articles{}",
                    suffix(lang, *primary)
                );
                let list = match self
                    .followup("kb_sections", folder, self.client.all(DEFAULT, &path).await)
                    .await?
                {
                    Some(l) => l,
                    None => continue,
                };
                let mut files = Vec::new();
                for v in &list {
                    match map::article(v, folder, lang, *primary, &mut notes) {
                        Ok((k, a)) => {
                            let owner =
                                Owner { article_id: Some(k.id.clone()), ..Owner::default() };
                            files.extend(map::attachments(
                                &a.attachments,
                                &owner,
                                a.description.as_deref(),
                                &mut notes,
                            ));
                            self.send(Item::KbArticle(KbArticle(k))).await?;
                        }
                        Err(e) => notes.refused("kb_articles", v, &e),
                    }
                }
                self.flush(&mut notes).await?;
                self.files(files).await?;
            }
        }
        self.flush(&mut notes).await?;
        self.done("solutions", String::new()).await
    }
}
