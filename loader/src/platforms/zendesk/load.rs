//! `ZendeskTarget`: the [`Target`] for Zendesk Support (the Ticket Import API) and Guide.
//!
//! - People: users and agents through `users/create_or_update_many` (≤ 100 a request, a job
//!   polled; matched by email, without regard to case, or by external id), one by one through
//!   `users/create_or_update` where the account has the bulk import off (403); new
//!   organizations through `organizations/create_many` (a job), known ones through
//!   `organizations/create_or_update`; groups and ticket field definitions (with their
//!   options) created where the account lacks them (`people.rs`).
//! - Tickets: attachments uploaded first (`uploads`, one token per comment), then the ticket
//!   with every comment through `imports/tickets/create_many` (≤ 100 a request, a job), with
//!   its original times, authors, visibility, tags, CCs, followers and field values, and its
//!   external id; a delta's new comments on a migrated ticket are ticket updates (`ticket.rs`).
//! - Help Center: categories, sections, articles, their translations and article attachments
//!   (`kb.rs`).
//! - Reading back: tickets with their comments and attachment bytes, users, organizations and
//!   the knowledge base (`read.rs`).
//!
//! Nothing is created twice: users and organizations are matched by external id and email,
//! a ticket whose write ended in doubt is looked for by its external id (the list endpoint,
//! then search, which also finds archived tickets) before it is imported again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use deskferry_extractor::http::{ErrorClass, HttpError, Op, Request};
use deskferry_extractor::platforms::zendesk::client::{self, Client, DEFAULT, HELP_CENTER};
use deskferry_format::{CustomField, Group, KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::bulk::{Batcher, Pending};
use super::map;
use super::options::{BULK_LIMIT, ZendeskOptions};
use super::people::{OrgItem, UserItem};
use super::ticket::ImportItem;
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::known::Known;
use crate::target::{
    AttachmentData, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadKbItem,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetGroup, Written,
};

/// The Zendesk target.
pub struct ZendeskTarget {
    pub(super) client: Client,
    pub(super) opts: ZendeskOptions,
    /// The API token's user (the stand-in author where a person is not at the target).
    pub(super) me: OnceCell<u64>,
    /// Ticket fields by title: (id, type).
    pub(super) fields: tokio::sync::Mutex<Option<HashMap<String, (u64, String)>>>,
    pub(super) users_batch: Batcher<UserItem, Result<(String, bool), WriteError>>,
    pub(super) orgs_batch: Batcher<OrgItem, Result<String, WriteError>>,
    pub(super) tickets_batch: Batcher<ImportItem, Result<String, WriteError>>,
    /// Tickets uploading their files, which will join the import batch soon.
    pub(super) preparing: Pending,
    /// Nothing prepares before joining a people batch (they come all at once).
    pub(super) at_once: Pending,
    /// The account answered 403 to the bulk user import: users go one by one.
    pub(super) bulk_users_off: AtomicBool,
    /// Lower-cased addresses → the source user that holds it in this run, and whether that
    /// user's write is done (a user sharing the address waits for it).
    pub(super) addresses: Mutex<HashMap<String, (String, tokio::sync::watch::Receiver<bool>)>>,
    /// Target ids: knowledge-base items the loader hands over ([`Target::remember`]) and this
    /// run wrote; people from the ledger ([`Target::consult`]).
    pub(super) known: Known,
    /// Article bodies waiting for a rewrite (links, inline images).
    pub(super) bodies: Mutex<super::body::Bodies>,
}

impl std::fmt::Debug for ZendeskTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZendeskTarget").field("opts", &self.opts).finish_non_exhaustive()
    }
}

/// The conversion of a failed request, by the core classification (every request serves a
/// write, so a 403 is fatal: the token may not write).
pub(super) fn http(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::Write)
}

pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

/// The same failure again, for each record of a bulk request that failed as a whole.
pub(super) fn dup(e: &HttpError) -> HttpError {
    match e {
        HttpError::Status { method, url, status, body } => HttpError::Status {
            method: method.clone(),
            url: url.clone(),
            status: *status,
            body: body.clone(),
        },
        HttpError::Transport { method, url, message } => HttpError::Transport {
            method: method.clone(),
            url: url.clone(),
            message: message.clone(),
        },
        HttpError::Decode { url, message } => {
            HttpError::Decode { url: url.clone(), message: message.clone() }
        }
        HttpError::Redirect { url, message } => {
            HttpError::Redirect { url: url.clone(), message: message.clone() }
        }
        HttpError::Io { path, message } => {
            HttpError::Io { path: path.clone(), message: message.clone() }
        }
        HttpError::Config(m) => HttpError::Config(m.clone()),
        HttpError::Unreachable { server, down_for, last } => HttpError::Unreachable {
            server: server.clone(),
            down_for: *down_for,
            last: last.clone(),
        },
    }
}

/// A numeric Zendesk id from a target id.
pub(super) fn num(id: &str) -> Option<u64> {
    id.parse().ok()
}

impl ZendeskTarget {
    /// From target.toml: `url`, `[credentials] email` and the token, `[rate_limits]`, and the
    /// `[zendesk]` options [`ZendeskOptions::from_config`] reads.
    pub fn new(cfg: &TargetConfig) -> Result<ZendeskTarget, WriteError> {
        let opts = ZendeskOptions::from_config(cfg).map_err(|m| other("target", "zendesk", m))?;
        let token =
            cfg.credentials.token().map_err(|e| other("target", "zendesk", e.to_string()))?;
        ZendeskTarget::with_options(cfg.url.clone(), token, opts)
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        token: SecretString,
        opts: ZendeskOptions,
    ) -> Result<ZendeskTarget, WriteError> {
        let rates = [
            (DEFAULT.to_string(), opts.per_minute),
            (HELP_CENTER.to_string(), opts.help_center_per_minute),
        ]
        .into_iter()
        .collect();
        let cfg =
            client::http_config(url, &opts.email, token, &rates).max_in_flight(opts.max_in_flight);
        let h = deskferry_extractor::http::Http::new(cfg).map_err(http("target", "zendesk"))?;
        Ok(ZendeskTarget {
            client: Client::new(h),
            users_batch: Batcher::new(BULK_LIMIT, opts.linger),
            orgs_batch: Batcher::new(BULK_LIMIT, opts.linger),
            tickets_batch: Batcher::new(BULK_LIMIT, opts.linger),
            bulk_users_off: AtomicBool::new(!opts.bulk_user_import),
            preparing: Pending::default(),
            at_once: Pending::default(),
            opts,
            me: OnceCell::new(),
            fields: tokio::sync::Mutex::new(None),
            addresses: Mutex::new(HashMap::new()),
            known: Known::default(),
            bodies: Mutex::new(super::body::Bodies::default()),
        })
    }

    /// The client (HTTP statistics for benchmarks and progress).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The options in force.
    pub fn options(&self) -> &ZendeskOptions {
        &self.opts
    }

    /// Sends one request and reads its JSON answer.
    pub(super) async fn send(&self, req: Request) -> Result<Value, HttpError> {
        let r = self.client.http().send(req).await?;
        if r.body.is_empty() { Ok(Value::Null) } else { r.json() }
    }

    /// The API token's user id.
    pub(super) async fn me(&self) -> Result<u64, WriteError> {
        self.me
            .get_or_try_init(|| async {
                let v = self.client.me().await.map_err(http("users", "me"))?;
                v.pointer("/user/id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| other("users", "me", "users/me answered without an id"))
            })
            .await
            .copied()
    }

    /// What the loader knows is at the target for a source record of `entity`.
    pub(super) fn known(&self, entity: &str, id: &str) -> Option<String> {
        self.known.get(entity, id)
    }

    pub(super) fn learn(&self, entity: &str, id: &str, target: &str) {
        self.known.learn(entity, id, target)
    }

    /// Ticket fields by title (read once, re-read after a field is created).
    pub(super) async fn field_ids(&self) -> Result<HashMap<String, (u64, String)>, WriteError> {
        let mut g = self.fields.lock().await;
        if g.is_none() {
            let defs = self
                .client
                .list_all(DEFAULT, "/api/v2/ticket_fields.json", "ticket_fields")
                .await
                .map_err(http("inventory", "ticket fields"))?;
            let mut m = HashMap::new();
            for d in defs {
                let (Some(id), Some(title), Some(ty)) = (
                    d.get("id").and_then(Value::as_u64),
                    d.get("title").and_then(Value::as_str),
                    d.get("type").and_then(Value::as_str),
                ) else {
                    continue;
                };
                m.insert(title.to_lowercase(), (id, ty.to_string()));
            }
            *g = Some(m);
        }
        Ok(g.clone().unwrap_or_default())
    }

    pub(super) fn bulk_users_off(&self) -> bool {
        self.bulk_users_off.load(Ordering::SeqCst)
    }

    pub(super) fn set_bulk_users_off(&self) {
        self.bulk_users_off.store(true, Ordering::SeqCst);
    }
}

/// Whether a failed request leaves the record possibly written (its answer lost).
pub(super) fn in_doubt(e: &HttpError) -> bool {
    e.class(Op::Write) == ErrorClass::Retryable
}

impl Target for ZendeskTarget {
    fn platform(&self) -> &'static str {
        "zendesk"
    }

    fn capabilities(&self) -> Capabilities {
        let mb = self.opts.max_attachment_bytes / (1024 * 1024);
        Capabilities {
            // One bulk request carries up to 100 records, and the core writes that many at
            // once unless the mapping says fewer.
            concurrency: Some(BULK_LIMIT),
            knowledge_base: true,
            message_times: true,
            note_times: true,
            create_agents: true,
            create_groups: true,
            create_fields: true,
            max_attachment_bytes: Some(self.opts.max_attachment_bytes),
            max_attachments_per_message: None,
            limits: vec![
                "Zendesk: tickets go in through the Ticket Import API, which keeps their times and every comment's author, visibility and time; a ticket holds at most 5,000 comments (a longer one is refused, reported per ticket)".into(),
                "Zendesk: a closed ticket cannot be updated after its import: a delta's new comments or changes on a ticket closed at the target are reported per record (target limit), never written".into(),
                "Zendesk: a comment added to a migrated ticket by a delta is a ticket update, which takes the time of the update: its original time heads the comment".into(),
                "Zendesk: deleted and spam tickets of the source are not imported (the import API creates live tickets only); reported per ticket".into(),
                format!("Zendesk: attachments over {mb} MB are refused by uploads (not uploaded; reported per file)"),
                "Zendesk: users are matched by email without regard to case: a user whose address another user of this load holds shares that user, who keeps their own name (reported per user)".into(),
                "Zendesk: the bulk user import (users/create_or_update_many) answers 403 until Zendesk support switches it on for the account; users then go one request each".into(),
                "Zendesk: writes are gathered into bulk requests of up to 100 records; the loader keeps 100 records in flight for Zendesk (a lower options.concurrency makes the requests smaller)".into(),
                "Zendesk: agents the target lacks are created as agents (each takes a seat)".into(),
                "Zendesk: user and organization field keys take lower-case letters, digits and underscores only: a source key is written with every other character as _ (and f_ before a leading digit)".into(),
                "Zendesk: lookup fields are not created (they name records of another Zendesk object); their values go into the custom-field note".into(),
                "Zendesk Guide: categories, sections and articles take the time they are written (Help Center takes no created_at); an article's author must be a user of the account".into(),
                "Zendesk Guide: article attachments are uploaded to their article; an image in an article's body that names one of its files (by the file's source id in its URL) goes up inline and the body points at Zendesk's copy, a link naming a migrated article (…/articles/{source id}) points at that article; any other image or link keeps the source's URL, and each article with images says so in the report".into(),
                "Zendesk Guide: an item changed at the source (a delta) is updated in place: its title, text and draft state through its translation in its locale, an article's labels and position on the article; a move to another parent or a new author is not applied".into(),
                "Zendesk Guide: articles live in sections only; an article the source keeps directly in a category (no section) goes into that category's section \"General\", created when needed (reported per article)".into(),
                "Zendesk Guide: articles are published under the permission group of [zendesk] permission_group_id, visible to everyone (no user segment)".into(),
            ],
            side_effects: vec![
                "Zendesk: imported tickets run no triggers or automations and send no notifications or CC mail (the Ticket Import API); users are created verified with skip_verify_email, so no verification mail; Zendesk may still send its welcome mail to new agents".into(),
                "Zendesk: a delta's new comments and changes on migrated tickets are ticket updates, which DO run the account's triggers (mail to requesters and CCs on public comments): deactivate the notification triggers (Admin Center → Objects and rules → Triggers) before loading a delta, and reactivate them afterwards".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let e = |what: &str| http("inventory", what);
        let mut agents = Vec::new();
        for role in ["admin", "agent"] {
            let path = format!("/api/v2/users.json?role={role}");
            for u in self.client.list_all(DEFAULT, &path, "users").await.map_err(e("agents"))? {
                let (Some(id), Some(email)) =
                    (u.get("id").and_then(Value::as_u64), u.get("email").and_then(Value::as_str))
                else {
                    continue;
                };
                agents.push(TargetAgent {
                    id: id.to_string(),
                    email: email.to_string(),
                    name: u.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                    active: u.get("active").and_then(Value::as_bool).unwrap_or(true)
                        && !u.get("suspended").and_then(Value::as_bool).unwrap_or(false),
                });
            }
        }
        // The token's user first: the default agent unless the mapping names another.
        if let Ok(me) = self.me().await
            && let Some(p) = agents.iter().position(|a| a.id == me.to_string())
        {
            let a = agents.remove(p);
            agents.insert(0, a);
        }
        let groups = self
            .client
            .list_all(DEFAULT, "/api/v2/groups.json", "groups")
            .await
            .map_err(e("groups"))?
            .into_iter()
            .filter(|g| !g.get("deleted").and_then(Value::as_bool).unwrap_or(false))
            .filter_map(|g| {
                Some(TargetGroup {
                    id: g.get("id")?.as_u64()?.to_string(),
                    name: g.get("name")?.as_str()?.to_string(),
                })
            })
            .collect();
        *self.fields.lock().await = None;
        let defs = self
            .client
            .list_all(DEFAULT, "/api/v2/ticket_fields.json", "ticket_fields")
            .await
            .map_err(e("ticket fields"))?;
        let mut ticket_fields = vec![map::inventory_field(
            0,
            "Type",
            map::TYPE_FIELD,
            map::TICKET_TYPES.iter().map(|s| s.to_string()).collect(),
        )];
        ticket_fields[0].id = map::TYPE_FIELD.into();
        for d in defs {
            let ty = d.get("type").and_then(Value::as_str).unwrap_or_default();
            if deskferry_extractor::platforms::zendesk::map::SYSTEM_TICKET_FIELD_TYPES.contains(&ty)
            {
                continue;
            }
            let (Some(id), Some(title)) =
                (d.get("id").and_then(Value::as_u64), d.get("title").and_then(Value::as_str))
            else {
                continue;
            };
            let options = d
                .get("custom_field_options")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            ticket_fields.push(map::inventory_field(id, title, ty, options));
        }
        Ok(Inventory {
            agents,
            groups,
            ticket_fields,
            statuses: map::STATUSES.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn known_ids(&self) -> Option<&Known> {
        Some(&self.known)
    }

    async fn write_organization(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_org(org, prior).await
    }

    async fn write_user(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let w = self.write_person(user, prior).await?;
        if let Some(t) = w.target_id() {
            self.learn("users", &user.user.id, t);
        }
        Ok(w)
    }

    async fn write_group(&self, group: &Group, prior: Option<&str>) -> Result<Written, WriteError> {
        self.write_group_impl(group, prior).await
    }

    fn creates_person_fields(&self) -> bool {
        true
    }

    async fn write_field(
        &self,
        field: &CustomField,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_field_impl(field, prior).await
    }

    async fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        self.write_ticket_impl(ticket, prior, new_comments).await
    }

    async fn write_kb_item(
        &self,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        // Without its table: a row without a parent is a category, one whose parent is a
        // known category a section, any other an article.
        let entity = match item.parent_id.as_deref() {
            None => "kb_categories",
            Some(p) if self.known("kb_categories", p).is_some() => "kb_sections",
            Some(_) => "kb_articles",
        };
        self.write_kb(entity, item, prior).await
    }

    async fn write_kb_entry(
        &self,
        entity: &str,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_kb(entity, item, prior).await
    }

    async fn write_kb_attachment(
        &self,
        article: &str,
        data: &AttachmentData,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_article_attachment(article, data, prior).await
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        let path = match entity {
            "tickets" => format!("/api/v2/tickets/{target_id}.json"),
            "users" => format!("/api/v2/users/{target_id}.json"),
            "organizations" => format!("/api/v2/organizations/{target_id}.json"),
            _ => {
                return Ok(Written::Skipped(format!(
                    "a deleted {entity} record is not deleted at Zendesk by this tool"
                )));
            }
        };
        match self.client.http().send(Request::delete(DEFAULT, &path)).await {
            Ok(_) => Ok(Written::Migrated(target_id.to_string())),
            // Gone already (deleted by hand, or by an earlier attempt whose answer was lost).
            Err(e) if e.status() == Some(404) => Ok(Written::Matched(target_id.to_string())),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        self.find_by_external_id(&ticket.external_id, &ticket.ticket.id).await
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        self.read_ticket_impl(target_id).await
    }

    async fn read_user(&self, target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        self.read_user_impl(target_id).await
    }

    async fn read_organization(
        &self,
        target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        self.read_org_impl(target_id).await
    }

    async fn read_kb_item(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        self.read_kb(entity, target_id).await
    }
}
