//! `FrontTarget`: the [`Target`] for Front's Core API.
//!
//! Per ticket: each public comment is one `POST /inboxes/{inbox}/imported_messages` (original
//! `created_at`, author as sender, `metadata.thread_ref` = the ticket's external id, the
//! comment's external id, files as multipart), sent in order; then the last import's uid is
//! polled (imports are asynchronous) until Front shows it, which names the conversation; then
//! each private comment is one `POST /conversations/{id}/comments`; then, only if needed, one
//! `PATCH /conversations/{id}` (spam/deleted, custom fields). The minimum Front allows is one
//! request per message and note plus one to learn the conversation id (plus one to list the
//! notes already there, next paragraph).
//!
//! Nothing is created twice, with or without the ledger: a repeated import is dropped by Front
//! (same `external_id`) and threads into the same conversation (same `thread_ref`), so
//! re-running a ticket never duplicates a message. Comments have no key: before a ticket's
//! notes are posted, the conversation's comments are listed once and those whose marker is
//! present are matched, not posted again, because a conversation found by its imports may hold
//! them even when the ledger knows nothing of it (lost, or another operator's). That listing is
//! the one request per ticket with notes beyond the minimum below.
//!
//! Contacts and accounts: `people.rs`.

use std::collections::HashMap;

use deskferry_extractor::http::{HttpError, Op};
use deskferry_extractor::platforms::front::FrontClient;
use deskferry_extractor::platforms::front::wire::CustomField;
use deskferry_format::{KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::map;
use super::options::FrontOptions;
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::target::{
    Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadOrganization, ReadTicket,
    ReadUser, Readback, Target, TargetAgent, TargetField, TargetGroup, Written,
};

#[derive(Debug, Default)]
pub(super) struct Meta {
    pub(super) teammates: HashMap<String, String>,
    pub(super) conversation_fields: Vec<CustomField>,
    pub(super) contact_fields: Vec<CustomField>,
    pub(super) account_fields: Vec<CustomField>,
}

/// The Front target.
#[derive(Debug)]
pub struct FrontTarget {
    pub(super) client: FrontClient,
    pub(super) opts: FrontOptions,
    pub(super) inbox_id: OnceCell<String>,
    pub(super) meta: OnceCell<Meta>,
    pub(super) tags: tokio::sync::Mutex<Option<HashMap<String, String>>>,
}

/// The conversion of a failed request, by the core classification; every Front request serves
/// a write (a 403 means the token may not write: fatal).
pub(super) fn http(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::Write)
}

/// Like [`http`], for imports into the run's inbox: a 404 there means the inbox was deleted,
/// which stops the run instead of failing every ticket.
pub(super) fn http_into(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::WriteInto)
}

pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

impl FrontTarget {
    /// From target.toml: `url`, the token, `[rate_limits] default` (the plan's per-minute
    /// limit), and the `[front]` options [`FrontOptions::from_config`] reads.
    pub fn new(cfg: &TargetConfig) -> Result<FrontTarget, WriteError> {
        let opts = FrontOptions::from_config(cfg).map_err(|m| other("target", "front", m))?;
        let token = cfg.credentials.token().map_err(|e| other("target", "front", e.to_string()))?;
        FrontTarget::with_options(cfg.url.clone(), token, opts)
    }

    /// Without a config file: base URL, token and inbox (id or name), default options.
    pub fn from_parts(
        url: Url,
        token: SecretString,
        inbox: &str,
    ) -> Result<FrontTarget, WriteError> {
        FrontTarget::with_options(url, token, FrontOptions::new(inbox))
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        token: SecretString,
        opts: FrontOptions,
    ) -> Result<FrontTarget, WriteError> {
        // A small burst: Front counts fixed windows, and saved-up tokens spent at once would
        // also crowd one conversation's burst tier.
        let burst = (opts.per_minute / 60).clamp(1, 10);
        let cfg = deskferry_extractor::http::HttpConfig::new(
            url,
            deskferry_extractor::http::Auth::Bearer(token),
        )
        .bucket(deskferry_extractor::platforms::front::client::BUCKET, opts.per_minute, burst)
        .max_in_flight(opts.max_in_flight);
        let h = deskferry_extractor::http::Http::new(cfg).map_err(http("target", "front"))?;
        Ok(FrontTarget {
            client: FrontClient::from_http(h),
            opts,
            inbox_id: OnceCell::new(),
            meta: OnceCell::new(),
            tags: tokio::sync::Mutex::new(None),
        })
    }

    /// The client (HTTP statistics for benchmarks and progress).
    pub fn client(&self) -> &FrontClient {
        &self.client
    }

    /// The options in force.
    pub fn options(&self) -> &FrontOptions {
        &self.opts
    }

    /// The run's inbox id (a name is resolved once).
    pub async fn inbox_id(&self) -> Result<&str, WriteError> {
        self.inbox_id
            .get_or_try_init(|| async {
                if self.opts.inbox.starts_with("inb_") {
                    return Ok(self.opts.inbox.clone());
                }
                let inboxes =
                    self.client.inboxes().await.map_err(http("inboxes", &self.opts.inbox))?;
                inboxes
                    .iter()
                    .find(|i| {
                        i.id == self.opts.inbox || i.name.eq_ignore_ascii_case(&self.opts.inbox)
                    })
                    .map(|i| i.id.clone())
                    .ok_or_else(|| {
                        other(
                            "inboxes",
                            &self.opts.inbox,
                            "no such inbox in Front (inboxes must exist; one per run)",
                        )
                    })
            })
            .await
            .map(String::as_str)
    }

    pub(super) async fn meta(&self) -> Result<&Meta, WriteError> {
        self.meta
            .get_or_try_init(|| async {
                let e = |what: &str| http("inventory", what);
                let teammates = self.client.teammates().await.map_err(e("teammates"))?;
                Ok(Meta {
                    teammates: teammates.into_iter().map(|t| (t.id, t.email)).collect(),
                    conversation_fields: self
                        .client
                        .conversation_fields()
                        .await
                        .map_err(e("conversation fields"))?,
                    contact_fields: self
                        .client
                        .contact_fields()
                        .await
                        .map_err(e("contact fields"))?,
                    account_fields: self
                        .client
                        .account_fields()
                        .await
                        .map_err(e("account fields"))?,
                })
            })
            .await
    }
}

impl Target for FrontTarget {
    fn platform(&self) -> &'static str {
        "front"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            concurrency: None,
            knowledge_base: false,
            message_times: true,
            note_times: false,
            create_agents: false,
            create_groups: false,
            create_fields: false,
            max_attachment_bytes: Some(self.opts.max_attachment_bytes),
            max_attachments_per_message: None,
            limits: vec![
                "Front: private notes become comments, which cannot be back-dated: they carry the import time and sort after the messages; their original author and time head the note".into(),
                "Front: comments are listed in the order they were posted, so once a ticket's note fails, its later notes wait for the next run, which posts them in order".into(),
                "Front: comments can only be authored by teammates; a note by anyone else is posted as the API token's owner and names the original author".into(),
                "Front: teammates cannot be created through the API; unmatched agents' messages are credited to the default agent".into(),
                "Front: custom field definitions cannot be created through the API; values go to existing fields by name, the rest into a private note".into(),
                "Front: one inbox per run; every conversation is imported into the configured inbox".into(),
                format!("Front: attachments over {} bytes are refused (not uploaded; the message names them)", self.opts.max_attachment_bytes),
                "Front: attachment file names with control characters (line breaks) are uploaded with those replaced by spaces".into(),
                "Front: imports are asynchronous; a conversation is read back only after Front shows it (bounded wait, then reported as failed)".into(),
                "Front: a conversation can only be created by importing a message; a ticket without public messages gets a placeholder message first".into(),
                "Front: status is archived/open plus spam/deleted; spam reads back as deleted; pending/on-hold/solved become archived or open per the mapping".into(),
                "Front: messages keep no external id that can be read back; they are matched by order".into(),
                "Front: user tags and organization tags have no place in Front and are not loaded".into(),
                "Front: a contact handle belongs to one contact: a user's secondary email or phone that another contact already has is not added to it, and a phone without a country code (+…) is not added at all (both reported per user)".into(),
                "Front: a contact handle belongs to one contact, without regard to case: a user whose address another contact of another name holds (an address differing only by case) shares that contact, which keeps its own name and fields (reported per user)".into(),
                "Front: a conversation's first message comes from one contact: a ticket's CCs and further requesters are not loaded".into(),
                "Front: the knowledge base is not loaded by this tool".into(),
            ],
            side_effects: vec![
                "Front: messages are imported, never sent, so no mail reaches customers; imports skip Front's rules (should_skip_rules); private notes are comments, which notify teammates who are mentioned or who follow the conversation as any comment does (the loader mentions no one)".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let e = |what: &str| http("inventory", what);
        let teammates = self.client.teammates().await.map_err(e("teammates"))?;
        let inboxes = self.client.inboxes().await.map_err(e("inboxes"))?;
        let fields = self.client.conversation_fields().await.map_err(e("conversation fields"))?;
        Ok(Inventory {
            agents: teammates
                .iter()
                .map(|t| TargetAgent {
                    id: t.id.clone(),
                    email: t.email.clone(),
                    name: t.display_name(),
                    active: !t.is_blocked,
                })
                .collect(),
            groups: inboxes.into_iter().map(|i| TargetGroup { id: i.id, name: i.name }).collect(),
            ticket_fields: fields
                .into_iter()
                .map(|f| TargetField {
                    options: f
                        .values
                        .iter()
                        .map(|v| {
                            v.value
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.value.to_string())
                        })
                        .collect(),
                    id: f.id,
                    name: f.name,
                    field_type: f.kind,
                })
                .collect(),
            statuses: map::STATUSES.iter().map(|s| s.to_string()).collect(),
        })
    }

    async fn write_organization(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_account(org, prior).await
    }

    async fn write_user(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_contact(user, prior).await
    }

    async fn write_kb_item(
        &self,
        _item: &KbItem,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        Ok(Written::Skipped("the knowledge base is not loaded into Front by this tool".into()))
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        let gone = |r: Result<(), HttpError>| match r {
            Ok(()) => Ok(Written::Migrated(target_id.to_string())),
            Err(e) if e.status() == Some(404) => Ok(Written::Matched(target_id.to_string())),
            Err(e) => Err(http(entity, target_id)(e)),
        };
        match entity {
            // Into the trash, where Front keeps it recoverable (deleting for good is a second,
            // manual step).
            "tickets" => {
                let u = deskferry_extractor::platforms::front::wire::UpdateConversation {
                    status: Some("deleted".into()),
                    custom_fields: None,
                };
                gone(self.client.update_conversation(target_id, &u).await)
            }
            "users" if target_id.starts_with("crd_") => {
                gone(self.client.delete_contact(target_id).await)
            }
            "organizations" => gone(self.client.delete_account(target_id).await),
            _ => Ok(Written::Skipped(format!(
                "Front cannot delete a single {entity} record through the API"
            ))),
        }
    }
    async fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        self.write_conversation(ticket, prior, new_comments).await
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        self.find_conversation(ticket).await
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        self.read_conversation(target_id).await
    }

    async fn read_user(&self, target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        let found = self.client.contact(target_id).await.map_err(http("users", target_id))?;
        Ok(match found {
            Some(c) => Readback::Found(ReadUser {
                name: c.name,
                emails: c
                    .handles
                    .into_iter()
                    .filter(|h| h.source == "email")
                    .map(|h| h.handle)
                    .collect(),
            }),
            None => Readback::Missing,
        })
    }

    async fn read_organization(
        &self,
        target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        let found =
            self.client.account(target_id).await.map_err(http("organizations", target_id))?;
        Ok(match found {
            Some(a) => Readback::Found(ReadOrganization { name: Some(a.name) }),
            None => Readback::Missing,
        })
    }
}
