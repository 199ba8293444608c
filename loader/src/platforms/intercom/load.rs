//! `IntercomTarget`: the [`Target`] for Intercom's REST API (pinned to version 2.14).
//!
//! Order (the core's): companies (`POST /companies`, an upsert by `company_id` = the source
//! id), contacts (`POST /contacts` as users with `external_id` = the source id; agents are
//! matched by email to the workspace's admins, never created: Intercom's API cannot), then per
//! ticket one conversation opened by its requester (`POST /conversations` with the original
//! `created_at`) and one `POST /conversations/{id}/reply` per further message or note, by the
//! right admin or contact with its original `created_at` and up to `attachments_per_part`
//! files; then title and conversation attributes (`PUT`), participants (CCs), tags, assignee
//! and state; the Help Center (collections, articles with their translations).
//!
//! Nothing is created twice: contacts and companies by their external ids (a taken
//! `external_id` answers 409 naming the holder), conversations through the ledger and, after a
//! crash, a search for the requester's conversation created at the ticket's time; a part whose
//! answer was lost is looked for (same author and time) before it is posted again.

use std::collections::HashMap;
use std::sync::Mutex;

use deskferry_extractor::http::{HttpError, Op};
use deskferry_extractor::platforms::intercom::client::{self as ic, Client, id_of};
use deskferry_format::{KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::options::IntercomOptions;
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::known::Known;
use crate::target::{
    AttachmentData, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadKbItem,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetField,
    TargetGroup, Written,
};

/// The Intercom target.
#[derive(Debug)]
pub struct IntercomTarget {
    pub(super) client: Client,
    pub(super) opts: IntercomOptions,
    /// Admins of the workspace (id, email), read by `inventory`.
    pub(super) admins: Mutex<Vec<TargetAgent>>,
    /// The admin standing in for unmatched agents and writing the loader's own notes.
    pub(super) default_admin: Mutex<Option<String>>,
    /// Tag name → id.
    pub(super) tags: Mutex<HashMap<String, String>>,
    /// Data attribute names known per model (`contact`, `company`).
    pub(super) attributes: Mutex<HashMap<String, Vec<String>>>,
    /// Target ids: knowledge-base items the loader hands over and this run wrote; people from
    /// the ledger ([`Target::consult`]).
    pub(super) known: Known,
}

/// The conversion of a failed request (every request serves a write: a 403 is fatal).
pub(super) fn http(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::Write)
}

/// A failure of this record that is not an HTTP answer.
pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

impl IntercomTarget {
    /// From target.toml: `url`, the access token, `[rate_limits] default`, the options.
    pub fn new(cfg: &TargetConfig) -> Result<IntercomTarget, WriteError> {
        let token =
            cfg.credentials.token().map_err(|e| other("target", "intercom", e.to_string()))?;
        let opts = IntercomOptions::from_config(cfg).map_err(|m| other("target", "intercom", m))?;
        IntercomTarget::with_options(cfg.url.clone(), token, opts)
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        token: SecretString,
        opts: IntercomOptions,
    ) -> Result<IntercomTarget, WriteError> {
        let rates = std::collections::BTreeMap::from([(ic::DEFAULT.to_string(), opts.per_minute)]);
        let h = deskferry_extractor::http::Http::new(ic::http_config(url, token, &rates))
            .map_err(http("target", "intercom"))?;
        Ok(IntercomTarget {
            client: Client::new(h),
            opts,
            admins: Mutex::new(Vec::new()),
            default_admin: Mutex::new(None),
            tags: Mutex::new(HashMap::new()),
            attributes: Mutex::new(HashMap::new()),
            known: Known::default(),
        })
    }

    /// The client (HTTP statistics for benchmarks and progress).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The target id the ledger holds for `entity`'s source record `id`.
    pub(super) fn known(&self, entity: &str, id: &str) -> Option<String> {
        self.known.get(entity, id)
    }

    /// Records a target id written in this run (children name their parents by it).
    pub(super) fn learn(&self, entity: &str, id: &str, target: &str) {
        self.known.learn(entity, id, target)
    }

    /// The default admin: the option's (an email or an id), else the token's (`/me`).
    pub(super) async fn default_admin(&self) -> Result<String, WriteError> {
        if let Some(a) = self.default_admin.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(a);
        }
        if self.admins.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            self.inventory().await?;
        }
        let admins = self.admins.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let chosen = match &self.opts.default_admin {
            Some(want) => admins
                .iter()
                .find(|a| a.id == *want || a.email.eq_ignore_ascii_case(want))
                .map(|a| a.id.clone())
                .ok_or_else(|| WriteError::Http {
                    entity: "target".into(),
                    source_id: "default_admin".into(),
                    class: deskferry_extractor::http::ErrorClass::Fatal,
                    source: Box::new(HttpError::Config(format!(
                        "default_admin {want:?} is no admin of the workspace (Intercom's admins are invited in its settings, not through the API)"
                    ))),
                })?,
            None => {
                let me = self.client.get("/me").await.map_err(http("target", "me"))?;
                id_of(&me).ok_or_else(|| other("target", "me", "no admin id in the answer"))?
            }
        };
        *self.default_admin.lock().unwrap_or_else(|e| e.into_inner()) = Some(chosen.clone());
        Ok(chosen)
    }

    /// An admin's email, for read-back.
    pub(super) fn admin_email(&self, id: &str) -> Option<String> {
        let admins = self.admins.lock().unwrap_or_else(|e| e.into_inner());
        admins.iter().find(|a| a.id == id).map(|a| a.email.clone())
    }
}

impl Target for IntercomTarget {
    fn platform(&self) -> &'static str {
        "intercom"
    }

    fn capabilities(&self) -> Capabilities {
        let n = self.opts.attachments_per_part;
        Capabilities {
            concurrency: None,
            knowledge_base: true,
            message_times: true,
            note_times: true,
            create_agents: false,
            create_groups: false,
            create_fields: false,
            max_attachment_bytes: None,
            max_attachments_per_message: Some(n),
            limits: vec![
                "Intercom: admins and teams cannot be created through the API: agents are matched to admins by email; unmatched agents' messages are written by the default admin (option default_admin, else the token's admin), reported per message".into(),
                format!("Intercom: one part takes at most 10 files (this load sends {n}, option attachments_per_part); a message with more has the rest on further parts by the same author, reported per message"),
                "Intercom: a conversation is opened by a contact with text only (no HTML, no files): the opening message's files follow on a part of the same contact, reported per ticket".into(),
                "Intercom: a ticket whose requester is an agent cannot be opened by that agent (admins are not contacts): it is opened by the first end user taking part, else by a lead contact created for the agent's address, with a first line saying so, and the agent's message follows as an admin reply; reported per ticket (option agent_requester = \"skip\" leaves such tickets out)".into(),
                "Intercom: inline images are kept as files of their part (the API places files below the text, not inside it)".into(),
                "Intercom: a private note by an end user cannot be written as that contact (contacts write comments only): it is written by the default admin and names its author, reported per message".into(),
                "Intercom: CCs become participants of the conversation (POST /conversations/{id}/customers) when they were loaded as contacts; the others are named in a note, reported per ticket".into(),
                "Intercom: ticket custom fields go into conversation attributes of the same name (created in Intercom's settings; the API of version 2.14 cannot create them); fields without one go into a private note".into(),
                "Intercom: API 2.14 cannot set a conversation's priority, and a conversation has no due date nor followers: a ticket's priority, due date and followers are named in the loader's private note on its conversation, reported per ticket".into(),
                "Intercom: there is no spam folder: spam tickets are not loaded (reported per ticket)".into(),
                "Intercom: a conversation is open, snoozed or closed: solved and closed tickets are closed, every other one stays open (snoozing needs a wake-up time the bundle lacks); state changes and assignments take the load's time".into(),
                "Intercom: a company is listed (GET /companies) only once a contact is attached to it: an organization without people is created by POST /companies and found by its company_id (the source id), but stays out of Intercom's company list until someone joins it, reported per organization".into(),
                "Intercom: contact and company custom attributes are created (as text) when the workspace lacks them; organization notes are not loaded".into(),
                "Intercom: the Help Center keeps collections (categories, and sections nested in them) and articles with their translations (translated_content); an original article or collection is in the Help Center's default language (a workspace setting), not in a locale of its own, so the bundle's locale of an original is not kept (translations keep theirs); collection names in other locales are not loaded; created and updated times take the load's time; article attachments cannot be uploaded through the API (it takes none) and are reported per file".into(),
                "Intercom: conversations have no external id: the ledger keeps a re-run from writing twice, and after a crash the requester's conversation created at the ticket's time is looked for with POST /conversations/search (Intercom's search index may lag a few minutes)".into(),
                "Intercom: a conversation is answered with its 500 newest parts only and no endpoint pages the older ones: reconcile cannot read a longer one back whole, and a run writing one again after a kill does not post again a message older than the parts answered (the killed run posted it, in order), reported per message".into(),
                "Intercom: the app's budget (10,000 requests a minute by default) is enforced in 10-second windows of a sixth each; the load keeps under it".into(),
            ],
            side_effects: vec![
                "Intercom: conversations created through the API with a contact as the author and admin replies are not emailed for conversations started this way, but workflows, assignment rules and SLA rules of the workspace run on new conversations: pause them for the load, and restore them afterwards".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let e = |what: &str| http("inventory", what);
        let admins = self.client.get("/admins").await.map_err(e("admins"))?;
        let teams = self.client.get("/teams").await.map_err(e("teams"))?;
        let attrs = self
            .client
            .get("/data_attributes?model=conversation")
            .await
            .map_err(e("conversation attributes"))?;
        let s =
            |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let agents: Vec<TargetAgent> = admins
            .get("admins")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some(TargetAgent {
                    id: id_of(a)?,
                    email: s(a, "email"),
                    name: s(a, "name"),
                    active: true,
                })
            })
            .collect();
        *self.admins.lock().unwrap_or_else(|e| e.into_inner()) = agents.clone();
        Ok(Inventory {
            agents,
            groups: teams
                .get("teams")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| Some(TargetGroup { id: id_of(t)?, name: s(t, "name") }))
                .collect(),
            ticket_fields: attrs
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| a.get("custom").and_then(Value::as_bool).unwrap_or(false))
                .filter(|a| !a.get("archived").and_then(Value::as_bool).unwrap_or(false))
                .map(|a| TargetField {
                    // The attribute's name: custom_attributes are keyed by it, and the mapping
                    // matches it against the source field's title or key.
                    id: s(a, "name"),
                    name: s(a, "name"),
                    field_type: s(a, "data_type"),
                    options: a
                        .get("options")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o.as_str().map(str::to_string))
                        .collect(),
                })
                .collect(),
            statuses: vec!["open".into(), "closed".into(), "snoozed".into()],
        })
    }

    async fn write_organization(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_company(org, prior).await
    }

    async fn write_user(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_contact(user, prior).await
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
        self.write_kb("kb_articles", item, prior).await
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
        _article: &str,
        data: &AttachmentData,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        Ok(Written::Skipped(format!(
            "Intercom: the Articles API takes no files; {} was not uploaded (attach it in Intercom's article editor)",
            data.file_name
        )))
    }

    async fn read_kb_item(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        self.read_kb(entity, target_id).await
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        let path = match entity {
            "tickets" => format!("/conversations/{target_id}"),
            "users" => format!("/contacts/{target_id}"),
            _ => {
                return Ok(Written::Skipped(format!(
                    "Intercom: deleting a single {entity} record is not done by this tool"
                )));
            }
        };
        match self.client.delete(&path).await {
            Ok(()) => Ok(Written::Migrated(target_id.to_string())),
            Err(e) if e.status() == Some(404) => Ok(Written::Matched(target_id.to_string())),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        self.find_conversation(ticket).await
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        self.read_conversation(target_id).await
    }

    async fn read_user(&self, target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        match self.client.get(&format!("/contacts/{target_id}")).await {
            Ok(c) => Ok(Readback::Found(ReadUser {
                name: c.get("name").and_then(Value::as_str).map(str::to_string),
                emails: c
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
            })),
            Err(e) if e.status() == Some(404) => {
                match self.client.get(&format!("/admins/{target_id}")).await {
                    Ok(a) => Ok(Readback::Found(ReadUser {
                        name: a.get("name").and_then(Value::as_str).map(str::to_string),
                        emails: a
                            .get("email")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .into_iter()
                            .collect(),
                    })),
                    Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
                    Err(e) => Err(http("users", target_id)(e)),
                }
            }
            Err(e) => Err(http("users", target_id)(e)),
        }
    }

    async fn read_organization(
        &self,
        target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        match self.client.get(&format!("/companies/{target_id}")).await {
            Ok(c) => Ok(Readback::Found(ReadOrganization {
                name: c.get("name").and_then(Value::as_str).map(str::to_string),
            })),
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http("organizations", target_id)(e)),
        }
    }

    fn known_ids(&self) -> Option<&Known> {
        Some(&self.known)
    }
}
