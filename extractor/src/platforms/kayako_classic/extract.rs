//! [`KayakoClassicSource`]: Kayako Classic's v4 REST API read into a bundle with the fewest
//! requests the API allows.
//!
//! Streams (each persists its cursor as it goes):
//! - `people`: staff groups, staff, departments, users (1,000 a request by id marker), user
//!   organizations and ticket custom field definitions (with each select's options): re-read
//!   in full every run, Classic has no "changed since" for them;
//! - `tickets`: every department's tickets (the trash, department 0, included) in one list
//!   (departments comma-joined), 1,000 a request with their posts and notes, by ticket id;
//!   per ticket one request for its custom field values, and, when a post has files, one for
//!   the file list and one per file (bytes as base64 in XML). The cursor is the next ticket's
//!   position, saved after every ticket;
//! - `kb`: knowledge-base categories and articles (1,000 a request, articles whole), one
//!   request per article file.
//!
//! Delta: Classic has no incremental export. From the parent's cursor (the latest
//! `lastactivity` seen) the same list is read newest activity first and stops at the first
//! ticket not changed since; a ticket found in the trash becomes a tombstone, and of a changed
//! ticket only the posts and notes written since are sent. People and fields are re-read;
//! articles not edited since are skipped.

use std::collections::BTreeMap;

use base64::Engine;
use deskferry_format::model::{Attachment, AttachmentState, CustomFieldValue, Tombstone};
use deskferry_format::{KbArticle, KbCategory, KbSection, Warning};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::client::{Client, PAGE};
use super::map::{self, Lookups, PLATFORM};
use super::wire::{self, Element};
use crate::config::SourceConfig;
use crate::error::ExtractError;
use crate::http::{ErrorClass, Http, Op};
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};
use crate::tolerant::Notes;

/// Tickets whose follow-ups run at once.
const CONCURRENT_TICKETS: usize = 8;

/// Kayako Classic as a [`Source`].
#[derive(Debug)]
pub struct KayakoClassicSource {
    client: Client,
    account: String,
    max_attachment_bytes: Option<u64>,
    /// Records a list request asks for (`[options] page_size`, at most 1,000).
    page: usize,
}

/// Where the ticket stream stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TicketCursor {
    /// Position of the next ticket in the list.
    pub start: usize,
    /// A delta: tickets active after this (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Latest `lastactivity` seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

impl TicketCursor {
    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn start(resume: &Resume, stream: &str) -> TicketCursor {
        let parse = |s: &str| serde_json::from_str::<TicketCursor>(s).ok();
        if let Some(c) = resume.cursor(stream).and_then(parse) {
            return c;
        }
        let since = resume.since(stream).and_then(parse).and_then(|c| c.max);
        TicketCursor { start: 0, since, max: since }
    }

    fn saw(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.max = Some(self.max.map_or(t, |m| m.max(t)));
        }
    }
}

fn bad(cfg: &SourceConfig, message: String) -> ExtractError {
    ExtractError::Config { path: cfg.path.clone(), message }
}

fn unreadable(entity: &str, id: &str, message: String) -> ExtractError {
    ExtractError::Source { platform: PLATFORM, entity: entity.into(), id: id.into(), message }
}

impl KayakoClassicSource {
    /// Builds the source from `source.toml`: `url` is the API's entry point
    /// (`https://host/api/index.php`), `credentials.user` the REST API key, the token
    /// (`token_env`/`token_file`) its secret key.
    pub fn new(cfg: &SourceConfig) -> Result<KayakoClassicSource, ExtractError> {
        if cfg.platform != PLATFORM {
            return Err(bad(cfg, format!("platform is {:?}, not \"{PLATFORM}\"", cfg.platform)));
        }
        let key = cfg.credentials.user.clone().ok_or_else(|| {
            bad(cfg, "Kayako Classic needs credentials.user: the REST API key (Admin CP > REST API); its secret key goes in token_env or token_file".into())
        })?;
        let secret = cfg.credentials.token()?;
        let client = Client::new(cfg.url.clone(), key, secret, &cfg.rate_limits)?;
        let page = match cfg.options.get("page_size") {
            None => PAGE,
            Some(v) => v
                .as_integer()
                .filter(|n| (1..=PAGE as i64).contains(n))
                .map(|n| n as usize)
                .ok_or_else(|| bad(cfg, format!("options.page_size must be 1 to {PAGE}")))?,
        };
        Ok(KayakoClassicSource {
            client,
            account: cfg.account(),
            max_attachment_bytes: cfg.max_attachment_bytes()?,
            page,
        })
    }

    /// The HTTP client (statistics).
    pub fn http(&self) -> &Http {
        self.client.http()
    }
}

impl Source for KayakoClassicSource {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        // A signed request everything else needs: a refused signature is a 401 (fatal).
        let run = Run { src: self, sink: None };
        run.doc("/Base/Department").await.map(|_| ())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let run = Run { src: self, sink: Some(sink) };
        let people = !resume.is_done("people");
        let (departments, lookups, fields) = run.setup(people).await?;
        if people {
            run.send(Item::Cursor { stream: "people".into(), cursor: String::new(), done: true })
                .await?;
        }
        let tickets = async {
            if resume.is_done("tickets") {
                return Ok(());
            }
            run.tickets(&departments, &lookups, &fields, TicketCursor::start(resume, "tickets"))
                .await
        };
        let kb = async {
            if resume.is_done("kb") {
                return Ok(());
            }
            run.kb(TicketCursor::start(resume, "kb")).await
        };
        tokio::try_join!(tickets, kb)?;
        Ok(())
    }
}

struct Run<'a> {
    src: &'a KayakoClassicSource,
    sink: Option<&'a Sink>,
}

/// What one ticket became: its items in order, and its latest activity.
type Done = (Vec<Item>, Option<i64>);

impl Run<'_> {
    fn client(&self) -> &Client {
        &self.src.client
    }

    async fn send(&self, item: Item) -> Result<(), ExtractError> {
        match self.sink {
            Some(s) => s.send(item).await,
            None => Ok(()),
        }
    }

    async fn flush(&self, notes: &mut Notes) -> Result<(), ExtractError> {
        for w in notes.take() {
            self.send(Item::Warning(w)).await?;
        }
        Ok(())
    }

    /// A controller's answer as an element tree. Text printed before the XML (PHP notices)
    /// is cut off with a warning; an answer that is not XML fails the request.
    async fn doc(&self, e: &str) -> Result<Element, ExtractError> {
        let text = self.client().get(e).await?;
        let (root, w) = parse(e, &text)?;
        if let Some(w) = w {
            self.send(Item::Warning(w)).await?;
        }
        Ok(root)
    }

    /// Reads the lookups, and (when `send`) sends people, groups and fields.
    async fn setup(
        &self,
        send: bool,
    ) -> Result<(Vec<String>, Lookups, Vec<deskferry_format::model::CustomField>), ExtractError>
    {
        let mut notes = map::notes();
        let mut l = Lookups::default();
        let titled = |root: &Element, name: &str, notes: &mut Notes| {
            let mut out = BTreeMap::new();
            for el in root.records(name) {
                if let Ok(t) = map::read::<wire::Titled>(notes, name, el) {
                    out.insert(t.id, (t.title.unwrap_or_default(), t.markasresolved == Some(1)));
                }
            }
            out
        };
        l.statuses = titled(&self.doc("/Tickets/TicketStatus").await?, "ticketstatus", &mut notes);
        let first = |m: BTreeMap<String, (String, bool)>| -> BTreeMap<String, String> {
            m.into_iter().map(|(k, v)| (k, v.0)).collect()
        };
        l.priorities = first(titled(
            &self.doc("/Tickets/TicketPriority").await?,
            "ticketpriority",
            &mut notes,
        ));
        l.types = first(titled(&self.doc("/Tickets/TicketType").await?, "tickettype", &mut notes));
        let root = self.doc("/Base/Department").await?;
        let mut departments = Vec::new();
        for el in root.records("department") {
            match map::read::<wire::Department>(&mut notes, "groups", el) {
                Ok(d) => {
                    departments.push(d.id.clone());
                    if send {
                        self.send(Item::Group(map::department(d, &el.source))).await?;
                    }
                }
                Err(e) => notes.refused("groups", &el.to_json(), &e),
            }
        }
        // The fields (needed by every ticket's values).
        let mut fields = Vec::new();
        let root = self.doc("/Base/CustomField").await?;
        for el in root.records("customfield") {
            let f = match map::read::<wire::FieldDef>(&mut notes, "custom_fields", el) {
                Ok(f) => f,
                Err(e) => {
                    notes.refused("custom_fields", &el.to_json(), &e);
                    continue;
                }
            };
            let t = f.fieldtype.unwrap_or(0);
            let mut options = Vec::new();
            if matches!(t, 4..=7 | 9) {
                let e = format!("/Base/CustomField/ListOptions/{}", f.customfieldid);
                for o in self.doc(&e).await?.records("option") {
                    if let Ok(o) = map::read::<wire::FieldOption>(&mut notes, "custom_fields", o) {
                        options.push(o);
                    }
                }
            }
            fields.push(map::field(f, options, &el.source));
        }
        if send {
            for f in &fields {
                self.send(Item::CustomField(f.clone())).await?;
            }
            let root = self.doc("/Base/StaffGroup").await?;
            l.staff_groups = first(titled(&root, "staffgroup", &mut notes));
            for el in self.doc("/Base/Staff").await?.records("staff") {
                match map::read::<wire::Staff>(&mut notes, "users", el) {
                    Ok(s) => {
                        self.send(Item::User(map::staff(s, &l.staff_groups, &el.source))).await?
                    }
                    Err(e) => notes.refused("users", &el.to_json(), &e),
                }
            }
            let mut marker: u64 = 1;
            loop {
                let root =
                    self.doc(&format!("/Base/User/Filter/{marker}/{}", self.src.page)).await?;
                let users = root.records("user");
                let n = users.len();
                for el in users {
                    match map::read::<wire::User>(&mut notes, "users", el) {
                        Ok(u) => {
                            if let Ok(id) = u.id.parse::<u64>() {
                                marker = marker.max(id + 1);
                            }
                            self.send(Item::User(map::user(u, &el.source))).await?;
                        }
                        Err(e) => notes.refused("users", &el.to_json(), &e),
                    }
                }
                if n < self.src.page {
                    break;
                }
            }
            for el in self.doc("/Base/UserOrganization").await?.records("userorganization") {
                match map::read::<wire::Organization>(&mut notes, "organizations", el) {
                    Ok(o) => {
                        self.send(Item::Organization(map::organization(o, &el.source))).await?
                    }
                    Err(e) => notes.refused("organizations", &el.to_json(), &e),
                }
            }
        }
        self.flush(&mut notes).await?;
        Ok((departments, l, fields))
    }

    async fn tickets(
        &self,
        departments: &[String],
        l: &Lookups,
        fields: &[deskferry_format::model::CustomField],
        mut c: TicketCursor,
    ) -> Result<(), ExtractError> {
        // Every department and the trash (0), in one list.
        let mut ids = departments.to_vec();
        ids.push("0".into());
        let ids = ids.join(",");
        let (sort, order) =
            if c.since.is_some() { ("lastactivity", "DESC") } else { ("ticketid", "ASC") };
        loop {
            let e = format!(
                "/Tickets/Ticket/ListAll/{ids}/-1/-1/-1/{}/{}/{sort}/{order}",
                self.src.page, c.start
            );
            let root = self.doc(&e).await?;
            let list: Vec<Element> = root.records("ticket").into_iter().cloned().collect();
            let n = list.len();
            let since = c.since;
            let mut reached = false;
            let mut work = Vec::new();
            for el in list {
                let activity =
                    el.child("lastactivity").and_then(|x| x.text.trim().parse::<i64>().ok());
                if let (Some(s), Some(a)) = (since, activity)
                    && a <= s
                {
                    reached = true;
                    break;
                }
                work.push(el);
            }
            let mut done = futures_util::stream::iter(work)
                .map(|el| self.ticket(el, l, fields, since))
                .buffered(CONCURRENT_TICKETS);
            while let Some(r) = done.next().await {
                let (items, activity) = r?;
                for item in items {
                    self.send(item).await?;
                }
                c.saw(activity);
                c.start += 1;
                self.send(Item::Cursor { stream: "tickets".into(), cursor: c.text(), done: false })
                    .await?;
            }
            if reached || n < self.src.page {
                break;
            }
        }
        c.start = 0;
        self.send(Item::Cursor { stream: "tickets".into(), cursor: c.text(), done: true }).await
    }

    /// One listed ticket with its follow-ups.
    async fn ticket(
        &self,
        el: Element,
        l: &Lookups,
        fields: &[deskferry_format::model::CustomField],
        since: Option<i64>,
    ) -> Result<Done, ExtractError> {
        let mut notes = map::notes();
        let mut items = Vec::new();
        let t: wire::Ticket = match map::read(&mut notes, "tickets", &el) {
            Ok(t) => t,
            Err(e) => {
                notes.refused("tickets", &el.to_json(), &e);
                items.extend(notes.take().into_iter().map(Item::Warning));
                return Ok((items, None));
            }
        };
        let activity = t.lastactivity;
        let mut ticket = map::ticket(t, l, &el.source);
        let tid = ticket.id.clone();
        let recent = |at: Option<deskferry_format::model::Timestamp>| {
            since.is_none_or(|s| at.is_none_or(|a| a.timestamp() > s))
        };
        // Values of the ticket's custom fields.
        let got = self
            .followup_doc("tickets", &tid, &format!("/Tickets/TicketCustomField/{tid}"))
            .await?;
        let (root, w) = got;
        items.extend(w.into_iter().map(Item::Warning));
        if let Some(root) = root {
            for group in root.records("group") {
                for f in group.all("field") {
                    let Ok(v) = map::read::<wire::FieldValue>(&mut notes, "tickets", f) else {
                        continue;
                    };
                    let Some(def) = fields.iter().find(|d| d.id == v.id) else { continue };
                    if let Some(value) = map::field_value(def, v.contents.as_deref().unwrap_or(""))
                    {
                        ticket.custom_fields.push(CustomFieldValue { key: def.key.clone(), value });
                    }
                }
            }
        }
        let mut comments = Vec::new();
        for n in el.all("note") {
            match map::read::<wire::Note>(&mut notes, "comments", n) {
                Ok(w) if w.kind.as_deref().is_none_or(|k| k == "ticket") => {
                    comments.push(map::note(w, &tid, &n.source))
                }
                Ok(_) => {}
                Err(e) => notes.refused("comments", &n.to_json(), &e),
            }
        }
        let mut has_files = false;
        for p in el.child("posts").map(|p| p.all("post").collect::<Vec<_>>()).unwrap_or_default() {
            match map::read::<wire::Post>(&mut notes, "comments", p) {
                Ok(w) => {
                    has_files |= w.hasattachments == Some(1);
                    comments.push(map::post(w, &tid, &p.source));
                }
                Err(e) => notes.refused("comments", &p.to_json(), &e),
            }
        }
        comments.retain(|c| recent(c.created_at) || since.is_none());
        let mut files = Vec::new();
        if has_files {
            let e = format!("/Tickets/TicketAttachment/ListAll/{tid}");
            let (root, w) = self.followup_doc("tickets", &tid, &e).await?;
            items.extend(w.into_iter().map(Item::Warning));
            for a in root.iter().flat_map(|r| r.records("attachment")) {
                match map::read::<wire::Attachment>(&mut notes, "attachments", a) {
                    Ok(w) => {
                        let att = map::attachment(w, Some(&tid), None, &a.source);
                        if let Some(c) =
                            comments.iter_mut().find(|c| Some(&c.id) == att.comment_id.as_ref())
                        {
                            c.attachment_ids.push(att.id.clone());
                            files.push(att);
                        }
                    }
                    Err(e) => notes.refused("attachments", &a.to_json(), &e),
                }
            }
        }
        if ticket.is_deleted && since.is_some() {
            items.push(Item::Tombstone(Tombstone {
                entity: "tickets".into(),
                id: tid.clone(),
                deleted_at: ticket.updated_at,
            }));
        }
        items.push(Item::Ticket(ticket));
        items.extend(comments.into_iter().map(Item::Comment));
        for att in files {
            let e = format!("/Tickets/TicketAttachment/{tid}/{}", att.id);
            items.extend(self.file(att, &e).await?);
        }
        items.extend(notes.take().into_iter().map(Item::Warning));
        Ok((items, activity))
    }

    /// A follow-up of a record already listed: one that fails for that record only is a
    /// warning (the record is kept as listed).
    async fn followup_doc(
        &self,
        entity: &str,
        id: &str,
        e: &str,
    ) -> Result<(Option<Element>, Vec<Warning>), ExtractError> {
        let got = self.client().get(e).await;
        let text = match got {
            Ok(t) => t,
            Err(err) if err.class(Op::Read) == ErrorClass::Record => {
                let w =
                    Warning::note(entity, Some(id.into()), format!("{e}: {err}; kept as listed"));
                return Ok((None, vec![w]));
            }
            Err(err) => return Err(err.into()),
        };
        match parse(e, &text) {
            Ok((root, w)) => Ok((Some(root), w.into_iter().collect())),
            Err(err) => {
                Ok((None, vec![Warning::failure(entity, Some(id.into()), err.to_string())]))
            }
        }
    }

    /// One file: its bytes come base64-encoded in XML; decoded, stored and hashed. A file the
    /// server cannot give is kept as a row with its state and a warning.
    async fn file(&self, mut att: Attachment, e: &str) -> Result<Vec<Item>, ExtractError> {
        if let (Some(max), Some(size)) = (self.src.max_attachment_bytes, att.size)
            && size > 0
            && size as u64 > max
        {
            let why = format!("{size} bytes, limit {max} bytes (options.max_attachment_mb)");
            return Ok(not_stored(att, AttachmentState::TooLarge, why));
        }
        let got = self.client().get(e).await;
        let text = match got {
            Ok(t) => t,
            Err(err) if err.class(Op::Read) == ErrorClass::Record => {
                let state = if matches!(err.status(), Some(404 | 410)) {
                    AttachmentState::Missing
                } else {
                    AttachmentState::Failed
                };
                return Ok(not_stored(att, state, err.to_string()));
            }
            Err(err) => return Err(err.into()),
        };
        let contents = match parse(e, &text) {
            Ok((root, _)) => find(&root, "contents").map(|c| c.text.clone()),
            Err(err) => return Ok(not_stored(att, AttachmentState::Failed, err.to_string())),
        };
        let Some(contents) = contents else {
            return Ok(not_stored(
                att,
                AttachmentState::Failed,
                "the answer holds no contents".into(),
            ));
        };
        let cleaned: String = contents.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = match base64::engine::general_purpose::STANDARD.decode(cleaned) {
            Ok(b) => b,
            Err(err) => {
                let why = format!("the contents are not base64: {err}");
                return Ok(not_stored(att, AttachmentState::Failed, why));
            }
        };
        let Some(sink) = self.sink else { return Ok(Vec::new()) };
        let blobs = sink.blobs().clone();
        let r = tokio::task::spawn_blocking(move || blobs.put(&mut bytes.as_slice()))
            .await
            .map_err(|e| ExtractError::Stopped(format!("blob task failed: {e}")))??;
        sink.progress().blob(r.size, false);
        att.sha256 = Some(r.sha256);
        att.size = Some(r.size as i64);
        att.state = AttachmentState::Stored;
        att.error = None;
        Ok(vec![Item::Attachment(att)])
    }

    async fn kb(&self, mut c: TicketCursor) -> Result<(), ExtractError> {
        let mut notes = map::notes();
        let mut start = 0;
        loop {
            let root = self
                .doc(&format!("/Knowledgebase/Category/ListAll/{}/{start}", self.src.page))
                .await?;
            let list = root.records("kbcategory");
            let n = list.len();
            for el in list {
                match map::read::<wire::KbCategory>(&mut notes, "kb_categories", el) {
                    Ok(k) => match map::kb_category(k, &el.source) {
                        (true, k) => self.send(Item::KbCategory(KbCategory(k))).await?,
                        (false, k) => self.send(Item::KbSection(KbSection(k))).await?,
                    },
                    Err(e) => notes.refused("kb_categories", &el.to_json(), &e),
                }
            }
            start += n;
            if n < self.src.page {
                break;
            }
        }
        let mut start = 0;
        loop {
            let root = self
                .doc(&format!("/Knowledgebase/Article/ListAll/{}/{start}", self.src.page))
                .await?;
            let list = root.records("kbarticle");
            let n = list.len();
            for el in list {
                let a = match map::read::<wire::KbArticle>(&mut notes, "kb_articles", el) {
                    Ok(a) => a,
                    Err(e) => {
                        notes.refused("kb_articles", &el.to_json(), &e);
                        continue;
                    }
                };
                let files = a.attachments.clone().map(|f| f.attachment).unwrap_or_default();
                let k = map::kb_article(a, &el.source);
                let t = k.updated_at.map(|t| t.timestamp());
                if c.since.is_some_and(|s| t.is_some_and(|t| t <= s)) {
                    continue;
                }
                c.saw(t);
                let aid = k.id.clone();
                self.send(Item::KbArticle(KbArticle(k))).await?;
                for f in files {
                    let att = map::attachment(f, None, Some(&aid), "");
                    let e = format!("/Knowledgebase/Attachment/{aid}/{}", att.id);
                    for item in self.file(att, &e).await? {
                        self.send(item).await?;
                    }
                }
            }
            start += n;
            if n < self.src.page {
                break;
            }
        }
        self.flush(&mut notes).await?;
        c.start = 0;
        self.send(Item::Cursor { stream: "kb".into(), cursor: c.text(), done: true }).await
    }
}

/// The first descendant named `name`.
fn find<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    if el.name == name {
        return Some(el);
    }
    el.children.iter().find_map(|c| find(c, name))
}

fn not_stored(mut att: Attachment, state: AttachmentState, error: String) -> Vec<Item> {
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

/// An answer parsed; text before the XML is cut off with a warning naming the request.
pub fn parse(e: &str, text: &str) -> Result<(Element, Option<Warning>), ExtractError> {
    let controller: String = e.split('/').take(3).collect::<Vec<_>>().join("/");
    let doc = wire::parse(text)
        .map_err(|m| unreadable("answer", &controller, format!("{e}: not XML: {m}")))?;
    let w = (doc.skipped > 0).then(|| {
        Warning::note(
            "answer",
            None,
            format!(
                "{controller}: {} bytes of text before the XML (a PHP notice?) were cut off",
                doc.skipped
            ),
        )
    });
    Ok((doc.root, w))
}
