//! `HelpScoutTarget`: the [`Target`] for Help Scout's Mailbox API 2.0 and Docs API.
//!
//! Order (the core's): organizations (Help Scout keeps none: an organization's name becomes its
//! customers' `organization` text), customers (created, or found by email: Help Scout keeps one
//! customer per address and answers a second with 409), users matched by email (the API
//! creates none; the default user stands in), mailboxes matched to groups by name, the
//! `[helpscout] mailboxes` map or `default_mailbox` (the API creates none), then per ticket one
//! `POST /v2/conversations` with `imported: true` holding every thread (customer threads by the
//! customer, replies by their user, notes private, each with its original `createdAt` and its
//! files base64-encoded), its tags, field values, CCs, status and assignee; threads that come
//! later (a delta) are added one by one; a deleted ticket goes to the trash. The fewest requests
//! Help Scout allows: one per customer and one per conversation.
//!
//! Nothing is created twice: the ledger remembers what was written, a conversation carries a
//! marker tag (`dfx-…`, left out when read back) that finds it after a crash, a thread added
//! later ends with a reference line that finds it when its answer was lost
//! ([`crate::target::post_unless_found`]), and a customer whose create was lost is found by the
//! 409 of the next one.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use deskferry_extractor::http::{HttpError, Op, Request};
use deskferry_extractor::platforms::helpscout::client::{self as hc, Client, DEFAULT};
use deskferry_format::{KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::map::{self, MailboxField};
use super::options::{HelpScoutOptions, MAX_THREADS};
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::known::Known;
use crate::target::{
    AttachmentData, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadKbItem,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetField,
    TargetGroup, Written,
};

/// The Help Scout target.
#[derive(Debug)]
pub struct HelpScoutTarget {
    pub(super) client: Client,
    pub(super) opts: HelpScoutOptions,
    /// Mailboxes: (id, name), as the inventory read them.
    pub(super) mailboxes: Mutex<Vec<(String, String)>>,
    /// Each mailbox's fields.
    pub(super) fields: Mutex<HashMap<String, Vec<MailboxField>>>,
    /// Email of each Help Scout user (agent) id (CCs are addresses).
    pub(super) emails: Mutex<HashMap<String, String>>,
    /// Target ids: knowledge-base items the loader hands over ([`Target::remember`]) and this
    /// run wrote; people from the ledger ([`Target::consult`]).
    pub(super) known: Known,
    /// Docs lists read once per run: list path → (id, name) of each item.
    pub(super) docs_lists: tokio::sync::Mutex<HashMap<String, Vec<(String, String)>>>,
    /// Docs items of this run or an earlier one (never matched to another source item).
    pub(super) docs_taken: Mutex<HashSet<String>>,
    /// The user the token acts for (notes with no user of their own).
    pub(super) me: tokio::sync::Mutex<Option<String>>,
}

/// The conversion of a failed request (every request serves a write: a 403 means the
/// application may not write, fatal).
pub(super) fn http(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::Write)
}

/// The conversion of a failed write into a mailbox every conversation needs: its 404 (the
/// mailbox deleted) stops the run.
pub(super) fn http_into(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::WriteInto)
}

pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

/// An id as Help Scout sends it (a number, or a Docs id as text).
pub(super) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The new record's id in a create's answer: `Resource-ID`, else the end of `Location`.
pub(super) fn created_id(r: &deskferry_extractor::http::Response) -> Option<String> {
    if let Some(id) = r.header("resource-id").filter(|s| !s.is_empty()) {
        return Some(id.to_string());
    }
    let loc = r.header("location")?;
    let last = loc.trim_end_matches('/').rsplit('/').next()?;
    Some(last.split('?').next().unwrap_or(last).to_string()).filter(|s| !s.is_empty())
}

/// A person's name from Help Scout's first and last.
pub(super) fn name_of(v: &Value) -> Option<String> {
    let first = v["firstName"].as_str().or(v["first"].as_str()).unwrap_or_default();
    let last = v["lastName"].as_str().or(v["last"].as_str()).unwrap_or_default();
    let n = format!("{first} {last}").trim().to_string();
    (!n.is_empty()).then_some(n)
}

impl HelpScoutTarget {
    /// From target.toml: `url` (the Mailbox API), `credentials.user` the OAuth application's App
    /// ID and its secret as the token, `[rate_limits] default` / `docs`, the `[helpscout]`
    /// options.
    pub fn new(cfg: &TargetConfig) -> Result<HelpScoutTarget, WriteError> {
        let bad = |m: String| other("target", "helpscout", m);
        let client_id = cfg.credentials.user.clone().ok_or_else(|| {
            bad("Help Scout needs credentials.user: the OAuth application's App ID; its secret goes in token_env or token_file".into())
        })?;
        let secret = cfg.credentials.token().map_err(|e| bad(e.to_string()))?;
        let opts = HelpScoutOptions::from_config(cfg).map_err(bad)?;
        HelpScoutTarget::with_options(cfg.url.clone(), client_id, secret, opts)
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        client_id: String,
        secret: SecretString,
        opts: HelpScoutOptions,
    ) -> Result<HelpScoutTarget, WriteError> {
        // Help Scout counts a write twice in its per-minute budget, and a load is nearly all
        // writes: requests go at half the plan's rate so the budget is spent, not overrun.
        let rates = std::collections::BTreeMap::from([
            (DEFAULT.to_string(), (opts.per_minute / 2).max(1)),
            (hc::DOCS.to_string(), opts.docs_per_minute),
        ]);
        let client = Client::new(url, client_id, secret, opts.docs.clone(), &rates)
            .map_err(http("target", "helpscout"))?;
        Ok(HelpScoutTarget {
            client,
            opts,
            mailboxes: Mutex::new(Vec::new()),
            fields: Mutex::new(HashMap::new()),
            emails: Mutex::new(HashMap::new()),
            known: Known::default(),
            docs_lists: tokio::sync::Mutex::new(HashMap::new()),
            docs_taken: Mutex::new(HashSet::new()),
            me: tokio::sync::Mutex::new(None),
        })
    }

    /// The client (HTTP statistics for benchmarks and progress).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends a Mailbox API request.
    pub(super) async fn send(
        &self,
        req: Request,
    ) -> Result<deskferry_extractor::http::Response, HttpError> {
        self.client.send(req).await
    }

    /// A create (`POST`): the new record's id.
    pub(super) async fn create(&self, req: Request) -> Result<String, HttpError> {
        let url = req.url.clone();
        let r = self.send(req).await?;
        created_id(&r).ok_or_else(|| HttpError::Decode {
            url,
            message: "the create's answer names no Resource-ID or Location".into(),
        })
    }

    /// Every record of a Mailbox list (`_embedded.{key}`, page after page).
    pub(super) async fn all(&self, path: &str, key: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let v = self.client.get(&hc::paged(path, page)).await?;
            if let Some(items) = v["_embedded"][key].as_array() {
                out.extend(items.iter().cloned());
            }
            let pages = v["page"]["totalPages"].as_u64().unwrap_or(1) as usize;
            if page >= pages {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// The target id the ledger holds for a source record.
    pub(super) fn known(&self, entity: &str, id: &str) -> Option<String> {
        self.known.get(entity, id)
    }

    pub(super) fn learn(&self, entity: &str, id: &str, target: &str) {
        self.known.learn(entity, id, target)
    }

    /// Reads the mailboxes and their fields into the caches.
    async fn read_mailboxes(&self) -> Result<Vec<(String, String)>, WriteError> {
        let list =
            self.all("/v2/mailboxes", "mailboxes").await.map_err(http("inventory", "mailboxes"))?;
        let boxes: Vec<(String, String)> = list
            .iter()
            .filter_map(|m| {
                Some((id_of(&m["id"])?, m["name"].as_str().unwrap_or_default().to_string()))
            })
            .collect();
        let mut fields = HashMap::new();
        for (id, _) in &boxes {
            let path = format!("/v2/mailboxes/{id}/fields");
            let list = self.all(&path, "fields").await.map_err(http("inventory", &path))?;
            let defs: Vec<MailboxField> = list
                .iter()
                .filter_map(|f| {
                    Some(MailboxField {
                        id: id_of(&f["id"])?,
                        name: f["name"].as_str().unwrap_or_default().to_string(),
                        field_type: f["type"].as_str().unwrap_or_default().to_string(),
                        options: f["options"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|o| {
                                Some((
                                    id_of(&o["id"])?,
                                    o["label"].as_str().unwrap_or_default().to_string(),
                                ))
                            })
                            .collect(),
                    })
                })
                .collect();
            fields.insert(id.clone(), defs);
        }
        *self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()) = boxes.clone();
        *self.fields.lock().unwrap_or_else(|e| e.into_inner()) = fields;
        Ok(boxes)
    }

    /// The mailbox of a ticket: its group's (a mailbox id), else `default_mailbox`, else the
    /// account's first mailbox.
    pub(super) async fn mailbox_for(&self, t: &MappedTicket) -> Result<String, WriteError> {
        let mut boxes = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if boxes.is_empty() {
            boxes = self.read_mailboxes().await?;
        }
        let by_key = |k: &str| {
            boxes
                .iter()
                .find(|(id, name)| id == k || name.eq_ignore_ascii_case(k))
                .map(|(id, _)| id.clone())
        };
        t.group
            .as_deref()
            .and_then(by_key)
            .or_else(|| self.opts.default_mailbox.as_deref().and_then(by_key))
            .or_else(|| boxes.first().map(|(id, _)| id.clone()))
            .ok_or_else(|| {
                WriteError::Unsupported {
                    entity: "tickets".into(),
                    source_id: t.ticket.id.clone(),
                    reason: "the Help Scout account has no mailbox (the API creates none): create one, or name it in [helpscout] default_mailbox".into(),
                }
            })
    }

    /// A mailbox's fields.
    pub(super) fn mailbox_fields(&self, mailbox: &str) -> Vec<MailboxField> {
        self.fields
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(mailbox)
            .cloned()
            .unwrap_or_default()
    }

    /// The user the token acts for.
    pub(super) async fn me(&self) -> Result<String, WriteError> {
        let mut g = self.me.lock().await;
        if let Some(id) = g.as_ref() {
            return Ok(id.clone());
        }
        let v = self.client.me().await.map_err(http("users", "me"))?;
        let id = id_of(&v["id"]).ok_or_else(|| other("users", "me", "no id in users/me"))?;
        *g = Some(id.clone());
        Ok(id)
    }

    /// The address of a user (agent) id, else of a customer id, read from Help Scout.
    pub(super) async fn email_of(&self, target_id: &str) -> Option<String> {
        let known = self.emails.lock().unwrap_or_else(|e| e.into_inner()).get(target_id).cloned();
        if known.is_some() {
            return known;
        }
        // Not kept: that would grow with the account's people.
        let c = self.client.get(&format!("/v2/customers/{target_id}")).await.ok()?;
        Some(c["_embedded"]["emails"].as_array()?.first()?["value"].as_str()?.to_string())
    }
}

impl Target for HelpScoutTarget {
    fn platform(&self) -> &'static str {
        "helpscout"
    }

    fn capabilities(&self) -> Capabilities {
        let mb = self.opts.max_attachment_bytes / (1024 * 1024);
        Capabilities {
            concurrency: None,
            knowledge_base: self.client.has_docs(),
            message_times: true,
            note_times: true,
            create_agents: false,
            create_groups: false,
            create_fields: false,
            max_attachment_bytes: Some(self.opts.max_attachment_bytes),
            max_attachments_per_message: None,
            limits: vec![
                "Help Scout: users (agents) cannot be created through the API: they are matched by email, and the default user stands in for the rest (their threads name the original author when the mapping asks)".into(),
                "Help Scout: mailboxes cannot be created through the API: groups are matched to mailboxes by name, by [helpscout] mailboxes, or go to [helpscout] default_mailbox (else the account's first mailbox)".into(),
                "Help Scout: mailbox fields cannot be created through the API: values go to the conversation's mailbox field of the same name (a drop-down's by its option label); a field the mailbox lacks, or a value it refuses, is left out (reported per ticket) or goes into the fields note".into(),
                "Help Scout: one customer per email address: a user whose address a customer holds already is matched to that customer, which keeps its own name (reported per user)".into(),
                "Help Scout: organizations are not records: an organization's name becomes its customers' organization text; its domains, notes, tags and fields are not kept (reported per organization)".into(),
                format!("Help Scout: a file may be {mb} MB at most; larger files are not uploaded (named in the message's row)"),
                format!("Help Scout: a conversation holds at most {MAX_THREADS} threads: the messages beyond are not threads of their own; their authors, times and texts make up the conversation's last note, their files are not uploaded (reported per message)"),
                "Help Scout: statuses are active, pending and closed; new and open become active, on-hold pending, solved closed; spam is written closed with the tag spam (reported per ticket)".into(),
                "Help Scout: a deleted ticket is written and moved to the trash (reported per ticket)".into(),
                "Help Scout: a conversation has one customer: further requesters and followers are not loaded; CCs become the first thread's cc addresses".into(),
                "Help Scout: customer tags and custom field values (customer properties) and priority, ticket type and due dates are not loaded".into(),
                "Help Scout: no external id on conversations or threads: the ledger, a marker tag dfx-… on each conversation (left out when read back) and a reference line on threads added after their conversation keep a re-run from writing twice".into(),
                "Help Scout: a note must be by a user: a private note by a customer is credited to the application's user and names its author".into(),
                "Help Scout Docs: collections, categories and articles are created (in [helpscout] docs_site, else the account's first site); Docs has no translations (an article's other locales become articles of their own beside it; a collection's or category's other names are not loaded), an item changed after its first load is not updated, an article's name must be unique in its collection (a second article of a taken name is refused, reported per article), and article files are not uploaded (they stay links in the article's text; reported per file)".into(),
                "Help Scout: a write counts twice in the per-minute budget: the load sends requests at half the plan's rate".into(),
            ],
            side_effects: vec![
                "Help Scout: every conversation and thread is written with imported: true, which sends no email or notification to customers or users and no auto-reply; the mailbox's automatic workflows may still match imported conversations: pause them (Manage → Workflows) for the load and resume them afterwards".into(),
                "Help Scout Docs: published articles are public on the Docs site as soon as they are written: hide the site (or load into a site not yet public) until the load is checked".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let users = self.all("/v2/users", "users").await.map_err(http("inventory", "users"))?;
        let agents: Vec<TargetAgent> = users
            .iter()
            .filter_map(|u| {
                Some(TargetAgent {
                    id: id_of(&u["id"])?,
                    email: u["email"].as_str().unwrap_or_default().to_string(),
                    name: name_of(u).unwrap_or_default(),
                    active: true,
                })
            })
            .collect();
        {
            let mut e = self.emails.lock().unwrap_or_else(|e| e.into_inner());
            for a in &agents {
                e.insert(a.id.clone(), a.email.clone());
            }
        }
        let boxes = self.read_mailboxes().await?;
        let mut groups: Vec<TargetGroup> = boxes
            .iter()
            .map(|(id, name)| TargetGroup { id: id.clone(), name: name.clone() })
            .collect();
        // An operator's map shows as further names of the mailbox it names, so the core matches
        // the source group by that name.
        for (group, mailbox) in &self.opts.mailboxes {
            let Some((id, _)) =
                boxes.iter().find(|(id, name)| id == mailbox || name.eq_ignore_ascii_case(mailbox))
            else {
                return Err(WriteError::Unsupported {
                    entity: "groups".into(),
                    source_id: group.clone(),
                    reason: format!(
                        "[helpscout] mailboxes names {mailbox:?}, which is no mailbox of this account"
                    ),
                });
            };
            groups.push(TargetGroup { id: id.clone(), name: group.clone() });
        }
        let mut ticket_fields: Vec<TargetField> = Vec::new();
        for (id, _) in &boxes {
            for f in self.mailbox_fields(id) {
                if ticket_fields.iter().any(|x| x.name.eq_ignore_ascii_case(&f.name)) {
                    continue;
                }
                ticket_fields.push(TargetField {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    field_type: f.field_type.to_ascii_lowercase(),
                    options: f.options.iter().map(|(_, l)| l.clone()).collect(),
                });
            }
        }
        Ok(Inventory {
            agents,
            groups,
            ticket_fields,
            statuses: map::STATUSES.iter().map(|s| s.to_string()).collect(),
        })
    }

    async fn write_organization(
        &self,
        org: &Organization,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        // Help Scout keeps an organization only as its customers' `organization` text: the name
        // is its id at the target.
        let lost = !org.domains.is_empty()
            || org.notes.is_some()
            || !org.tags.is_empty()
            || !org.custom_fields.is_empty();
        Ok(if lost {
            Written::Limited(
                org.name.clone(),
                "Help Scout keeps an organization only as its customers' organization text: its domains, notes, tags and fields are not kept".into(),
            )
        } else {
            Written::Migrated(org.name.clone())
        })
    }

    async fn write_user(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_customer(user, prior).await
    }

    async fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        self.write_conversation(ticket, prior, new_comments).await
    }

    async fn write_kb_item(
        &self,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_docs("kb_articles", item, prior).await
    }

    async fn write_kb_entry(
        &self,
        entity: &str,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_docs(entity, item, prior).await
    }

    async fn write_kb_attachment(
        &self,
        article: &str,
        data: &AttachmentData,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_docs_file(article, data, prior).await
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        if entity != "tickets" {
            return Ok(Written::Skipped(format!(
                "Help Scout: deleting a single {entity} record is not done by this tool"
            )));
        }
        let path = format!("/v2/conversations/{target_id}");
        match self.send(Request::delete(DEFAULT, &path)).await {
            Ok(_) => Ok(Written::Limited(
                target_id.to_string(),
                "moved to Help Scout's trash (emptied by Help Scout after 30 days)".into(),
            )),
            Err(e) if e.status() == Some(404) => Ok(Written::Matched(target_id.to_string())),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        self.find_by_marker(ticket).await
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        self.read_back(target_id).await
    }

    async fn read_user(&self, target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        self.read_person(target_id).await
    }

    async fn read_organization(
        &self,
        _target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        // A customer's `organization` is a name, not a record of its own.
        Ok(Readback::NotHeld)
    }

    async fn read_kb_item(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        self.read_docs(entity, target_id).await
    }

    fn remember(&self, entity: &str, targets: &HashMap<String, String>) {
        self.known.remember(entity, targets);
        if entity.starts_with("kb_") {
            let mut taken = self.docs_taken.lock().unwrap_or_else(|e| e.into_inner());
            taken.extend(targets.values().map(|t| t.split('@').next().unwrap_or(t).to_string()));
        }
    }

    fn known_ids(&self) -> Option<&Known> {
        Some(&self.known)
    }
}
