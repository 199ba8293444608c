//! [`KayakoSource`]: Kayako's API v1 read into a bundle with the fewest requests it allows.
//!
//! Streams, one after the other (each persists its cursor):
//! - `teams`, `fields` (case, user and organization fields), `users` (staff and customers, their
//!   role side-loaded with `include=role`), `organizations`, `help_center` (categories,
//!   sections, articles; every locale of an item in its locale fields, files by their URLs):
//!   re-read in full, pages of 100;
//! - `cases`: the case list, newest change first, pages of 100; per case one request for its
//!   posts (pages of 100 by `after_id`, the message or note side-loaded with
//!   `include=case_message,note`), each file one request more (its pre-signed `url`).
//!
//! Delta: from the parent's `cases` cursor (the latest `updated_at` seen): the list is read until
//! a case older than that; a case in the trash becomes a tombstone. Kayako has no deletion list:
//! a case purged from the trash is not seen (docs/platforms/kayako.md).

use std::collections::HashMap;

use deskferry_format::model::{FieldEntity, Timestamp, Tombstone};
use deskferry_format::{KbArticle, KbCategory, KbSection, Warning};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{self, Client, MAX_LIMIT, data};
use super::map::{self, FieldKeys};
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::Http;
use crate::pipeline::{Fetched, Sink};
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Cases whose posts are read at once.
const CONCURRENT_CASES: usize = 8;

/// Kayako (API v1) as a [`Source`].
#[derive(Debug)]
pub struct KayakoSource {
    client: Client,
    account: String,
}

/// Where the `cases` stream stands: the next offset of the list, and the latest change seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CaseCursor {
    /// Next offset to read.
    pub offset: usize,
    /// A delta reads cases changed after this (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Latest `updated_at` seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

impl CaseCursor {
    fn parse(text: &str) -> Option<CaseCursor> {
        serde_json::from_str(text).ok()
    }
    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    fn saw(&mut self, t: Option<Timestamp>) {
        let Some(t) = t else { return };
        if self.max.as_deref().and_then(|m| map::time(Some(m))).is_none_or(|m| t > m) {
            self.max = Some(t.to_rfc3339());
        }
    }
}

impl KayakoSource {
    /// From `source.toml`: `url`, `[credentials] email` and the password (`token_env` /
    /// `token_file`), `[rate_limits] default`.
    pub fn new(cfg: &SourceConfig) -> Result<KayakoSource, ExtractError> {
        let bad = |m: &str| ExtractError::Config { path: cfg.path.clone(), message: m.into() };
        if cfg.platform != "kayako" {
            return Err(bad("platform is not \"kayako\""));
        }
        let email = cfg.credentials.email.clone().ok_or_else(|| {
            bad("Kayako needs credentials.email: a staff member's login (the password goes in token_env or token_file)")
        })?;
        let password = cfg.credentials.token()?;
        let http = Http::new(client::http_config(cfg.url.clone(), &cfg.rate_limits))?;
        Ok(KayakoSource { client: Client::new(http, email, password), account: cfg.account() })
    }

    /// The HTTP client (statistics).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for KayakoSource {
    fn platform(&self) -> &'static str {
        "kayako"
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        // One request: staff may list cases; a customer's login is refused.
        match self.client.get("/api/v1/cases.json?limit=1").await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(403) => Err(ExtractError::Source {
                platform: "kayako",
                entity: "cases".into(),
                id: String::new(),
                message: "the login may not list cases: sign in as an administrator".into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run { src: self, sink, resume };
        run.teams().await?;
        let keys = run.fields().await?;
        run.users(&keys).await?;
        run.organizations(&keys).await?;
        run.cases(&keys).await?;
        run.help_center().await
    }
}

struct Run<'a> {
    src: &'a KayakoSource,
    sink: &'a Sink,
    resume: &'a Resume,
}

/// Field keys by id, per entity.
struct Keys {
    tickets: FieldKeys,
    users: FieldKeys,
    organizations: FieldKeys,
}

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

    /// A record that could not be read: a warning, the rest goes on.
    async fn refused(&self, entity: &str, v: &Value, e: ExtractError) -> Result<(), ExtractError> {
        let id = v.get("id").map(|i| i.to_string().trim_matches('"').to_string());
        self.send(Item::Warning(Warning::failure(entity, id, e.to_string()))).await
    }

    async fn teams(&self) -> Result<(), ExtractError> {
        let mut n = map::notes();
        for v in self.src.client.all("/api/v1/teams.json").await? {
            match map::team(&v, &mut n) {
                Ok(g) => self.send(Item::Group(g)).await?,
                Err(e) => self.refused("groups", &v, e).await?,
            }
        }
        self.flush(&mut n).await?;
        self.done("teams", String::new()).await
    }

    async fn fields(&self) -> Result<Keys, ExtractError> {
        let mut n = map::notes();
        let mut keys =
            Keys { tickets: HashMap::new(), users: HashMap::new(), organizations: HashMap::new() };
        for (path, entity) in [
            ("/api/v1/cases/fields.json", FieldEntity::Ticket),
            ("/api/v1/users/fields.json", FieldEntity::User),
            ("/api/v1/organizations/fields.json", FieldEntity::Organization),
        ] {
            for v in self.src.client.all(path).await? {
                match map::field(&v, entity, &mut n) {
                    Ok(f) => {
                        let k = match entity {
                            FieldEntity::Ticket => &mut keys.tickets,
                            FieldEntity::User => &mut keys.users,
                            FieldEntity::Organization => &mut keys.organizations,
                        };
                        k.insert(f.id.clone(), f.key.clone());
                        self.send(Item::CustomField(f)).await?;
                    }
                    Err(e) => self.refused("custom_fields", &v, e).await?,
                }
            }
        }
        self.flush(&mut n).await?;
        self.done("fields", String::new()).await?;
        Ok(keys)
    }

    async fn users(&self, keys: &Keys) -> Result<(), ExtractError> {
        let mut n = map::notes();
        for v in self.src.client.all("/api/v1/users.json?include=role").await? {
            match map::user(&v, &keys.users, &mut n) {
                Ok(u) => self.send(Item::User(u)).await?,
                Err(e) => self.refused("users", &v, e).await?,
            }
        }
        self.flush(&mut n).await?;
        self.done("users", String::new()).await
    }

    async fn organizations(&self, keys: &Keys) -> Result<(), ExtractError> {
        let mut n = map::notes();
        for v in self.src.client.all("/api/v1/organizations.json").await? {
            match map::organization(&v, &keys.organizations, &mut n) {
                Ok(o) => self.send(Item::Organization(o)).await?,
                Err(e) => self.refused("organizations", &v, e).await?,
            }
        }
        self.flush(&mut n).await?;
        self.done("organizations", String::new()).await
    }

    /// Every post of case `id` (pages of 100 by `after_id`).
    async fn posts(&self, id: &str) -> Result<Vec<Value>, ExtractError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!(
                "/api/v1/cases/{id}/posts.json?include=case_message,note&limit={MAX_LIMIT}"
            );
            if let Some(a) = &after {
                path.push_str(&format!("&after_id={a}"));
            }
            let v = self.src.client.get(&path).await?;
            let page = data(&v).as_array().cloned().unwrap_or_default();
            let last = page.last().and_then(client::id_of);
            let more = v.get("next_url").is_some_and(|u| !u.is_null()) && !page.is_empty();
            out.extend(page);
            if !more {
                return Ok(out);
            }
            after = last;
        }
    }

    /// One case: the ticket, its posts and their files.
    async fn one_case(&self, v: &Value, keys: &Keys) -> Result<(), ExtractError> {
        let mut n = map::notes();
        let t = match map::case(v, &keys.tickets, &mut n) {
            Ok(t) => t,
            Err(e) => return self.refused("tickets", v, e).await,
        };
        let posts = match self.posts(&t.id).await {
            Ok(p) => p,
            // Gone between the list and its posts: kept as listed, without posts.
            Err(ExtractError::Http(e)) if e.status() == Some(404) => {
                let why = "the case vanished between the list and its posts; kept as listed";
                self.send(Item::Warning(Warning::note(
                    "tickets",
                    Some(t.id.clone()),
                    why.to_string(),
                )))
                .await?;
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let tid = t.id.clone();
        self.send(Item::Ticket(t)).await?;
        for p in &posts {
            match map::post(p, &tid, &mut n) {
                Ok((c, atts)) => {
                    self.send(Item::Comment(c)).await?;
                    for (a, url) in atts {
                        self.sink.attachment(self.src.http(), client::DEFAULT, a, &url).await?;
                    }
                }
                Err(e) => self.refused("comments", p, e).await?,
            }
        }
        self.flush(&mut n).await
    }

    async fn cases(&self, keys: &Keys) -> Result<(), ExtractError> {
        if self.resume.is_done("cases") {
            return Ok(());
        }
        let mut c = match self.resume.cursor("cases").and_then(CaseCursor::parse) {
            Some(c) => c,
            None => CaseCursor {
                offset: 0,
                since: self.resume.since("cases").and_then(CaseCursor::parse).and_then(|p| p.max),
                max: None,
            },
        };
        let since = c.since.as_deref().and_then(|s| map::time(Some(s)));
        loop {
            let v = self
                .src
                .client
                .get(&format!("/api/v1/cases.json?offset={}&limit={MAX_LIMIT}", c.offset))
                .await?;
            let page = data(&v).as_array().cloned().unwrap_or_default();
            let n = page.len();
            let mut older = false;
            let mut todo = Vec::new();
            for case in &page {
                let updated = map::time(case.get("updated_at").and_then(Value::as_str));
                if let (Some(s), Some(u)) = (since, updated)
                    && u <= s
                {
                    older = true;
                    break;
                }
                c.saw(updated);
                if since.is_some() && case.get("state").and_then(Value::as_str) == Some("TRASH") {
                    // Moved to the trash since: the case as it is now, and its tombstone.
                    let mut n = map::notes();
                    match map::case(case, &keys.tickets, &mut n) {
                        Ok(t) => self.send(Item::Ticket(t)).await?,
                        Err(e) => self.refused("tickets", case, e).await?,
                    }
                    self.flush(&mut n).await?;
                    let id = client::id_of(case).unwrap_or_default();
                    self.send(Item::Tombstone(Tombstone {
                        entity: "tickets".into(),
                        id,
                        deleted_at: updated,
                    }))
                    .await?;
                    continue;
                }
                todo.push(case.clone());
            }
            let results: Vec<Result<(), ExtractError>> = futures_util::stream::iter(
                todo.into_iter().map(|case| async move { self.one_case(&case, keys).await }),
            )
            .buffer_unordered(CONCURRENT_CASES)
            .collect()
            .await;
            for r in results {
                r?;
            }
            c.offset += n;
            let more = v.get("next_url").is_some_and(|u| !u.is_null()) && n > 0 && !older;
            if !more {
                let end =
                    CaseCursor { offset: 0, since: None, max: c.max.clone().or(c.since.clone()) };
                return self.done("cases", end.text()).await;
            }
            self.send(Item::Cursor { stream: "cases".into(), cursor: c.text(), done: false })
                .await?;
        }
    }

    /// An article's files. A file the account no longer has sends us to ask for the article
    /// (one request): gone too, it was deleted during the export (kept as listed, its files
    /// recorded as gone, both noted); still there, the file is missing (a failure).
    async fn article_files(&self, v: &Value, id: &str, n: &mut Notes) -> Result<(), ExtractError> {
        let mut gone = Vec::new();
        for (a, url) in map::article_files(v, id, n) {
            if let Fetched::Gone(a, e) =
                self.sink.fetch(self.src.http(), client::DEFAULT, a, &url).await?
            {
                gone.push((*a, e));
            }
        }
        if gone.is_empty() {
            return Ok(());
        }
        let deleted = match self.src.client.get(&format!("/api/v1/articles/{id}.json")).await {
            Ok(_) => false,
            Err(e) if e.status() == Some(404) => true,
            Err(e) => return Err(e.into()),
        };
        if deleted {
            let why = "the article was deleted during the export; kept as listed";
            self.send(Item::Warning(Warning::note(
                "kb_articles",
                Some(id.to_string()),
                why.into(),
            )))
            .await?;
        }
        for (a, e) in gone {
            match deleted {
                true => {
                    self.sink
                        .gone(a, format!("its article was deleted during the export ({e})"))
                        .await?
                }
                false => self.sink.missing(a, e).await?,
            }
        }
        Ok(())
    }

    async fn help_center(&self) -> Result<(), ExtractError> {
        let mut n = map::notes();
        for (path, entity) in [
            ("/api/v1/categories.json", "kb_categories"),
            ("/api/v1/sections.json", "kb_sections"),
            ("/api/v1/articles.json", "kb_articles"),
        ] {
            for v in self.src.client.all(path).await? {
                let rows = match map::help_item(&v, entity, &mut n) {
                    Ok(r) => r,
                    Err(e) => {
                        self.refused(entity, &v, e).await?;
                        continue;
                    }
                };
                let id = rows.first().map(|r| r.id.clone()).unwrap_or_default();
                for r in rows {
                    self.send(match entity {
                        "kb_categories" => Item::KbCategory(KbCategory(r)),
                        "kb_sections" => Item::KbSection(KbSection(r)),
                        _ => Item::KbArticle(KbArticle(r)),
                    })
                    .await?;
                }
                if entity == "kb_articles" {
                    self.article_files(&v, &id, &mut n).await?;
                }
            }
        }
        self.flush(&mut n).await?;
        self.done("help_center", String::new()).await
    }
}
