//! `FreshdeskTarget`: the [`Target`] for Freshdesk's API v2.
//!
//! Order (the core's): companies, contacts (agents are matched by email to the account's
//! agents, the default agent standing in for the rest), groups and ticket fields (created where
//! missing), then per ticket one `POST /api/v2/tickets` (its first public message as the
//! description, its files as `attachments[]`) and one `POST /tickets/{id}/notes` per further
//! message, public or private, by its author, in order; a deleted ticket goes to the trash.
//! The fewest requests Freshdesk allows: one per ticket and one per further message.
//!
//! Nothing is created twice: Freshdesk has no external id on tickets or notes, so the ledger
//! remembers what was written, a ticket carries a marker tag (`dfx-…`) that finds it after a
//! crash (`search/tickets`), and a note whose answer was lost is looked for by the reference in
//! its footer before it is posted again ([`crate::target::post_unless_found`]). Contacts,
//! companies and groups that exist already (a taken email or name, 409 `duplicate_value`) are
//! matched to the holder Freshdesk names.

use std::collections::HashMap;
use std::sync::Mutex;

use deskferry_extractor::http::{HttpError, Op};
use deskferry_extractor::platforms::freshdesk::client::{
    self as fc, CONTACTS_LIST, Client, DEFAULT, TICKETS_LIST,
};
use deskferry_format::{CustomField, Group, KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::map;
use super::options::FreshdeskOptions;
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::known::Known;
use crate::target::{
    AttachmentData, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadKbItem,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetField,
    TargetGroup, Written,
};

/// The Freshdesk target.
#[derive(Debug)]
pub struct FreshdeskTarget {
    pub(super) client: Client,
    pub(super) opts: FreshdeskOptions,
    /// Ticket fields by label (lower case): (name, type).
    pub(super) fields: Mutex<HashMap<String, (String, String)>>,
    /// Contact and company fields by (entity, source key): (name, type).
    pub(super) person_fields: Mutex<HashMap<(String, String), (String, String)>>,
    /// Target ids: knowledge-base items the loader hands over ([`Target::remember`]) and this
    /// run wrote; people from the ledger ([`Target::consult`]).
    pub(super) known: Known,
    /// The account's primary language and the others it supports, once read.
    pub(super) languages: Mutex<Option<(String, Vec<String>)>>,
    /// The account's agents' ids (an article's `agent_id` must name one).
    pub(super) agent_ids: Mutex<std::collections::HashSet<String>>,
}

/// The conversion of a failed request, by the core classification (every request serves a
/// write: a 403 means the key may not write, fatal).
pub(super) fn http(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::Write)
}

pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

/// The record's id in a Freshdesk answer.
pub(super) fn id_in(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_u64).map(|n| n.to_string())
}

impl FreshdeskTarget {
    /// From target.toml: `url`, the API key as the token, `[rate_limits] default` (the plan's
    /// per-minute limit).
    pub fn new(cfg: &TargetConfig) -> Result<FreshdeskTarget, WriteError> {
        let key =
            cfg.credentials.token().map_err(|e| other("target", "freshdesk", e.to_string()))?;
        FreshdeskTarget::with_options(cfg.url.clone(), key, FreshdeskOptions::from_config(cfg))
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        key: SecretString,
        opts: FreshdeskOptions,
    ) -> Result<FreshdeskTarget, WriteError> {
        let rates = std::collections::BTreeMap::from([
            (fc::DEFAULT.to_string(), opts.per_minute),
            (TICKETS_LIST.to_string(), opts.per_minute),
            (CONTACTS_LIST.to_string(), opts.per_minute),
        ]);
        // Every write draws from the one overall budget: Freshdesk counts ticket writes in it
        // too, so a bucket of their own would let the two together overrun it.
        let cfg = fc::http_config(url, key, &rates);
        let h = deskferry_extractor::http::Http::new(cfg).map_err(http("target", "freshdesk"))?;
        Ok(FreshdeskTarget {
            client: Client::new(h),
            opts,
            fields: Mutex::new(HashMap::new()),
            person_fields: Mutex::new(HashMap::new()),
            known: Known::default(),
            languages: Mutex::new(None),
            agent_ids: Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// The client (HTTP statistics for benchmarks and progress).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads the ticket fields into the label → (name, type) cache.
    pub(super) async fn read_fields(&self) -> Result<Vec<Value>, WriteError> {
        let list = self
            .client
            .get(DEFAULT, "/api/v2/ticket_fields")
            .await
            .map_err(http("inventory", "ticket fields"))?;
        let list = list.as_array().cloned().unwrap_or_default();
        let mut cache = self.fields.lock().unwrap_or_else(|e| e.into_inner());
        for f in &list {
            let (Some(label), Some(name)) =
                (f.get("label").and_then(Value::as_str), f.get("name").and_then(Value::as_str))
            else {
                continue;
            };
            let ty = f.get("type").and_then(Value::as_str).unwrap_or_default();
            cache.insert(label.to_lowercase(), (name.to_string(), ty.to_string()));
        }
        Ok(list)
    }

    /// The field a label names: (name, type), reading the fields again once when unknown.
    pub(super) async fn field(&self, label: &str) -> Result<Option<(String, String)>, WriteError> {
        let known = self
            .fields
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&label.to_lowercase())
            .cloned();
        if known.is_some() {
            return Ok(known);
        }
        self.read_fields().await?;
        Ok(self
            .fields
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&label.to_lowercase())
            .cloned())
    }
}

impl Target for FreshdeskTarget {
    fn platform(&self) -> &'static str {
        "freshdesk"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            concurrency: None,
            knowledge_base: true,
            message_times: false,
            note_times: false,
            create_agents: false,
            create_groups: true,
            create_fields: true,
            max_attachment_bytes: Some(self.opts.max_attachments_bytes),
            max_attachments_per_message: None,
            limits: vec![
                "Freshdesk: a ticket's and a note's created_at cannot be given through the API: they take the load's time; each message's footer holds its original author and time, the description's also the ticket's creation time (reported per record)".into(),
                "Freshdesk: messages after the first are notes (public or private, by their author, `incoming` for a customer's), never replies, which would mail the requester; they are ordered by when they are posted, so once one fails, the ticket's later ones wait for the next run".into(),
                format!("Freshdesk: the files of one ticket or note may total {} bytes at most; files beyond are not uploaded (reported per message)", self.opts.max_attachments_bytes),
                "Freshdesk: agents cannot be created by this tool (each takes a paid seat): unmatched agents' messages are credited to the default agent and name the original author".into(),
                "Freshdesk: one contact per email address, without regard to case: a user whose address another contact or agent holds is matched to it (reported per user)".into(),
                "Freshdesk: a line break in a file name cannot be sent: uploaded with control characters as spaces (reported per message)".into(),
                "Freshdesk: a contact needs an email, phone, or unique external id: a user with none gets unique_external_id deskferry-{source id}".into(),
                "Freshdesk: contact and company field definitions are created (POST /api/v2/admin/contact_fields, /company_fields) or matched by label, before the people; where the key may not create them (403), the operator creates them (a failed row per field names label and type) and values of a field that is not there are named per record: the run after the field exists writes them; a ticket field the key may not create keeps its values in the custom-field note".into(),
                "Freshdesk: companies have no tags: a company's tags are listed in its note (reported per company)".into(),
                "Freshdesk: a ticket has one requester and the API sets no followers: further requesters and followers are named in a private note on the ticket (reported per ticket); CCs are set as the new ticket's cc_emails".into(),
                "Freshdesk: statuses are Open, Pending, Resolved, Closed and the account's custom ones; on-hold maps to open unless the mapping names \"waiting on third party\"".into(),
                "Freshdesk: no external id on tickets or notes: the ledger and a marker tag dfx-… on each ticket keep a re-run from writing twice (search finds a ticket after a crash; Freshdesk's search index may lag a few minutes)".into(),
                "Freshdesk solutions: categories, folders (visibility kept where the source has one, else all users) and articles (draft or published, tags, SEO data) in the account's primary language, each translation in a language the account supports; a translation in a language it does not support is not loaded (reported per row: add the language and load again)".into(),
                "Freshdesk solutions: no external id, no created_at, no position through the API: items take the load's time and are listed in the order they are written; an article's author is its author's Freshdesk agent (agent_id), the API key's agent where the author is no agent there (reported per article); an article the source keeps in a category without a folder goes into that category's folder \"General\" (reported)".into(),
                "Freshdesk solutions: article files cannot be attached through the API: they are not uploaded (reported per file); a changed item (a delta) is updated in place".into(),
            ],
            side_effects: vec![
                "Freshdesk: creating a ticket runs the account's ticket-creation automations and may send the requester the \"new ticket\" notification; adding notes runs the ticket-update automations: switch off Admin → Email Notifications (requester and agent notifications) and the automations for the load, and restore them afterwards. Notes notify no one unless named; the loader names no one".into(),
                "Freshdesk: a ticket created with CCs (cc_emails) mails them Freshdesk's CC notification of a new ticket where Admin → Email Notifications → CC notifications are on: switch them off for the load (each such ticket's row names its CCs)".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let e = |what: &str| http("inventory", what);
        let agents = self.client.all(DEFAULT, "/api/v2/agents").await.map_err(e("agents"))?;
        self.agent_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(agents.iter().filter_map(id_in));
        let groups = self.client.all(DEFAULT, "/api/v2/groups").await.map_err(e("groups"))?;
        let fields = self.read_fields().await?;
        let str_of =
            |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Inventory {
            agents: agents
                .iter()
                .filter_map(|a| {
                    Some(TargetAgent {
                        id: id_in(a)?,
                        email: str_of(&a["contact"], "email"),
                        name: str_of(&a["contact"], "name"),
                        active: a["contact"]["active"].as_bool().unwrap_or(true),
                    })
                })
                .collect(),
            groups: groups
                .iter()
                .filter_map(|g| Some(TargetGroup { id: id_in(g)?, name: str_of(g, "name") }))
                .collect(),
            ticket_fields: fields
                .iter()
                .filter(|f| f["default"] != true || f["name"] == "ticket_type")
                .filter_map(|f| {
                    let options = match f.get("choices") {
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(|c| c.as_str().or_else(|| c.get("value")?.as_str()))
                            .map(str::to_string)
                            .collect(),
                        _ => Vec::new(),
                    };
                    Some(TargetField {
                        id: id_in(f)?,
                        name: str_of(f, "label"),
                        field_type: str_of(f, "type"),
                        options,
                    })
                })
                .collect(),
            statuses: map::STATUSES.iter().map(|(s, _)| s.to_string()).collect(),
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

    async fn write_group(&self, group: &Group, prior: Option<&str>) -> Result<Written, WriteError> {
        self.create_group(group, prior).await
    }

    async fn write_field(
        &self,
        field: &CustomField,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.create_field(field, prior).await
    }

    async fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        self.write_whole_ticket(ticket, prior, new_comments).await
    }

    async fn write_kb_item(
        &self,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        // The core names the table (`write_kb_entry`); without it, the row's kind is unknown.
        let _ = prior;
        Err(other("kb", &item.id, "a knowledge-base row is written through write_kb_entry"))
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
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        Ok(self.article_file(article, data))
    }

    async fn read_kb_item(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        self.read_kb(entity, target_id).await
    }

    fn known_ids(&self) -> Option<&Known> {
        Some(&self.known)
    }

    fn creates_person_fields(&self) -> bool {
        true
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        let path = match entity {
            "tickets" => format!("/api/v2/tickets/{target_id}"),
            "users" => format!("/api/v2/contacts/{target_id}"),
            _ => {
                return Ok(Written::Skipped(format!(
                    "Freshdesk: deleting a single {entity} record is not done by this tool"
                )));
            }
        };
        match self.client.delete(DEFAULT, &path).await {
            Ok(()) => Ok(Written::Migrated(target_id.to_string())),
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
        match self.client.get(DEFAULT, &format!("/api/v2/contacts/{target_id}")).await {
            Ok(c) => {
                let mut emails: Vec<String> =
                    c["email"].as_str().map(str::to_string).into_iter().collect();
                emails.extend(
                    c["other_emails"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.as_str().map(str::to_string)),
                );
                Ok(Readback::Found(ReadUser {
                    name: c["name"].as_str().map(str::to_string),
                    emails,
                }))
            }
            Err(e) if e.status() == Some(404) => {
                // An agent the user was matched to.
                match self.client.get(DEFAULT, &format!("/api/v2/agents/{target_id}")).await {
                    Ok(a) => Ok(Readback::Found(ReadUser {
                        name: a["contact"]["name"].as_str().map(str::to_string),
                        emails: a["contact"]["email"]
                            .as_str()
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
        match self.client.get(DEFAULT, &format!("/api/v2/companies/{target_id}")).await {
            Ok(c) => Ok(Readback::Found(ReadOrganization {
                name: c["name"].as_str().map(str::to_string),
            })),
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http("organizations", target_id)(e)),
        }
    }
}
