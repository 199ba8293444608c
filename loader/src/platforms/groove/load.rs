//! `GrooveTarget`: the [`Target`] for Groove's v1 REST API, its v2 GraphQL API (companies,
//! contacts and their fields, which v1 cannot create) and its uploader.
//!
//! Order (the core's): companies (`companyCreate`, name and domain and fields as Groove's CRM
//! keeps them: custom field values), contacts (`contactCreate` with their address, name, phone
//! and fields, then `companyAddContacts`; agents are matched by email to Groove's agents, never
//! created: its API cannot), mailboxes matched to groups by name or the mapping's groups map
//! (the API creates none; several mailboxes in one load), then per ticket one `POST
//! /v1/tickets` holding its first message (`from` its author, `sent_at` its time, `note` when
//! private, `state`, `tags` with a marker, `mailbox`, `assignee`), one `POST
//! /v1/tickets/{number}/messages` per further message or note (`author`, `sent_at`, `note`),
//! one upload per message with files, and one private note with the fields and CCs Groove's
//! tickets cannot hold; the knowledge base (categories, articles).
//!
//! Nothing is sent to customers or agents: every write says `send_copy_to_customer: false` and
//! a ticket `skip_notifications: true`. Nothing is created twice: the ledger; a ticket's marker
//! tag (found among its customer's tickets after a crash); a message's reference line (looked
//! for before it is posted again, [`crate::target::post_unless_found`]); a contact's address
//! (a taken one is found and matched); a company's name.

use std::collections::HashMap;
use std::sync::Mutex;

use deskferry_extractor::http::{HttpError, Op};
use deskferry_extractor::platforms::groove::client::{self as gc, Client};
use deskferry_format::{KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::map;
use super::options::{GrooveOptions, MAX_FILES};
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::known::Known;
use crate::target::{
    AttachmentData, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadKbItem,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetGroup, Written,
};

/// A v2 custom field: (id, key, category type).
#[derive(Debug, Clone)]
pub(super) struct Field {
    pub id: String,
    pub key: String,
    pub category: String,
}

/// The Groove target.
#[derive(Debug)]
pub struct GrooveTarget {
    pub(super) client: Client,
    pub(super) opts: GrooveOptions,
    /// Agents (id = address), read by `inventory`.
    pub(super) agents: Mutex<Vec<TargetAgent>>,
    /// Mailboxes: (id, name, address).
    pub(super) mailboxes: Mutex<Vec<(String, String, String)>>,
    /// v2 custom fields, read once.
    pub(super) fields: tokio::sync::Mutex<Option<Vec<Field>>>,
    /// Companies by lower-case name, read once.
    pub(super) companies: tokio::sync::Mutex<Option<HashMap<String, String>>>,
    /// The knowledge base, found once.
    pub(super) kb: tokio::sync::Mutex<Option<String>>,
    /// Target ids: knowledge-base items the loader hands over ([`Target::remember`]) and this
    /// run wrote; people from the ledger ([`Target::consult`]).
    pub(super) known: Known,
}

/// The conversion of a failed request (every request serves a write: a 403 is fatal).
pub(super) fn http(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::Write)
}

/// The conversion of a failed write into the mailbox every ticket goes into.
pub(super) fn http_into(entity: &str, id: &str) -> impl FnOnce(HttpError) -> WriteError + use<> {
    let (entity, id) = (entity.to_string(), id.to_string());
    move |e| WriteError::http(&entity, &id, e, Op::WriteInto)
}

/// A failure of this record that is not an HTTP answer.
pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

/// An id as Groove sends it (a number or a string).
pub(super) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A GraphQL payload's `errors` as one message, when there are any.
pub(super) fn payload_errors(p: &Value) -> Option<String> {
    let e = p.get("errors")?.as_array()?;
    if e.is_empty() {
        return None;
    }
    Some(
        e.iter()
            .map(|x| {
                let path: Vec<String> = x["path"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()))
                    .collect();
                format!("{}: {}", path.join("."), x["message"].as_str().unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

impl GrooveTarget {
    /// From target.toml: `url`, the API token, `[rate_limits] default`, the options.
    pub fn new(cfg: &TargetConfig) -> Result<GrooveTarget, WriteError> {
        let token =
            cfg.credentials.token().map_err(|e| other("target", "groove", e.to_string()))?;
        let opts = GrooveOptions::from_config(cfg).map_err(|m| other("target", "groove", m))?;
        GrooveTarget::with_options(cfg.url.clone(), token, opts)
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        token: SecretString,
        opts: GrooveOptions,
    ) -> Result<GrooveTarget, WriteError> {
        let uploader = match &opts.uploader_url {
            Some(u) => u.clone(),
            None => {
                Url::parse(gc::UPLOADER).map_err(|e| other("target", "groove", e.to_string()))?
            }
        };
        let rates = std::collections::BTreeMap::from([(gc::DEFAULT.to_string(), opts.per_minute)]);
        let client = Client::new(url, uploader, token, &rates).map_err(http("target", "groove"))?;
        Ok(GrooveTarget {
            client,
            opts,
            agents: Mutex::new(Vec::new()),
            mailboxes: Mutex::new(Vec::new()),
            fields: tokio::sync::Mutex::new(None),
            companies: tokio::sync::Mutex::new(None),
            kb: tokio::sync::Mutex::new(None),
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

    /// Records a target id written in this run.
    pub(super) fn learn(&self, entity: &str, id: &str, target: &str) {
        self.known.learn(entity, id, target)
    }

    /// The v2 custom fields (contact information, contact and company fields), read once.
    pub(super) async fn fields(&self) -> Result<Vec<Field>, WriteError> {
        let mut g = self.fields.lock().await;
        if let Some(f) = g.as_ref() {
            return Ok(f.clone());
        }
        let q = "query($first: Int, $after: String) { customFields(first: $first, after: $after) { nodes { id key name type category { type } } pageInfo { hasNextPage endCursor } } }";
        let mut out = Vec::new();
        let mut after = Value::Null;
        loop {
            let d = self
                .client
                .graphql(q, json!({ "first": 100, "after": after }), true)
                .await
                .map_err(http("inventory", "customFields"))?;
            let c = &d["customFields"];
            for n in c["nodes"].as_array().into_iter().flatten() {
                if let (Some(id), Some(key)) = (id_of(&n["id"]), n["key"].as_str()) {
                    out.push(Field {
                        id,
                        key: key.to_string(),
                        category: n["category"]["type"].as_str().unwrap_or_default().to_string(),
                    });
                }
            }
            if c["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = c["pageInfo"]["endCursor"].clone();
        }
        *g = Some(out.clone());
        Ok(out)
    }

    /// The mailbox a ticket goes into: its group's (mapped), else the account's first.
    pub(super) async fn mailbox_for(
        &self,
        t: &MappedTicket,
    ) -> Result<(String, String), WriteError> {
        let mut boxes = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if boxes.is_empty() {
            self.read_mailboxes().await?;
            boxes = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        }
        t.group
            .as_deref()
            .and_then(|g| {
                boxes.iter().find(|(id, name, _)| id == g || name.eq_ignore_ascii_case(g))
            })
            .or_else(|| boxes.first())
            .map(|(id, _, email)| (id.clone(), email.clone()))
            .ok_or_else(|| WriteError::Unsupported {
                entity: "tickets".into(),
                source_id: t.ticket.id.clone(),
                reason: "the Groove account has no mailbox (the API creates none): create one"
                    .into(),
            })
    }

    async fn read_mailboxes(&self) -> Result<(), WriteError> {
        let v = self.client.get("/v1/mailboxes").await.map_err(http("inventory", "mailboxes"))?;
        let boxes: Vec<(String, String, String)> = v["mailboxes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some((
                    id_of(&m["id"])?,
                    m["name"].as_str().unwrap_or_default().to_string(),
                    m["email"].as_str().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        *self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()) = boxes;
        Ok(())
    }

    /// The default agent's address: the first active agent (the mapping's default agent comes
    /// with the author where the core resolved one).
    pub(super) async fn default_agent(&self) -> Result<Option<String>, WriteError> {
        if self.agents.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            self.inventory().await?;
        }
        let a = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        Ok(a.iter().find(|a| a.active).map(|a| a.id.clone()))
    }

    /// The companies of the account by lower-case name (read once, then kept current).
    pub(super) async fn company_named(&self, name: &str) -> Result<Option<String>, WriteError> {
        let mut g = self.companies.lock().await;
        if g.is_none() {
            let q = "query($first: Int, $after: String) { companies(first: $first, after: $after) { nodes { id name } pageInfo { hasNextPage endCursor } } }";
            let mut all = HashMap::new();
            let mut after = Value::Null;
            loop {
                let d = self
                    .client
                    .graphql(q, json!({ "first": 100, "after": after }), true)
                    .await
                    .map_err(http("organizations", "companies"))?;
                let c = &d["companies"];
                for n in c["nodes"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(nm)) = (id_of(&n["id"]), n["name"].as_str()) {
                        all.entry(nm.to_lowercase()).or_insert(id);
                    }
                }
                if c["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = c["pageInfo"]["endCursor"].clone();
            }
            *g = Some(all);
        }
        Ok(g.as_ref().and_then(|m| m.get(&name.to_lowercase()).cloned()))
    }

    async fn write_company(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(p) = prior {
            return Ok(Written::Limited(
                p.to_string(),
                "changed at the source since it was migrated; Groove companies are not updated by this tool".into(),
            ));
        }
        let mut lost = Vec::new();
        if !org.tags.is_empty() || org.notes.is_some() {
            lost.push("Groove companies keep no tags or notes".to_string());
        }
        if org.domains.len() > 1 {
            lost.push("Groove keeps one domain per company: the first".into());
        }
        if let Some(id) = self.company_named(&org.name).await? {
            self.learn("organizations", &org.id, &id);
            return Ok(Written::Matched(id));
        }
        let fields = self.fields().await?;
        let sys = |key: &str| {
            fields
                .iter()
                .find(|f| {
                    f.category == "COMPANY" && f.key == key && f.id.starts_with("cf_company_")
                })
                .or_else(|| fields.iter().find(|f| f.category == "COMPANY" && f.key == key))
        };
        let mut values = Vec::new();
        match sys("name") {
            Some(f) => values.push(json!({ "customFieldId": f.id, "value": org.name })),
            None => {
                return Err(other(
                    "organizations",
                    &org.id,
                    "Groove shows no company name field (customFields, category COMPANY, key name)",
                ));
            }
        }
        if let (Some(d), Some(f)) = (org.domains.first(), sys("domain")) {
            values.push(json!({ "customFieldId": f.id, "value": d }));
        }
        for v in &org.custom_fields {
            match fields.iter().find(|f| {
                f.category == "COMPANY"
                    && f.key == v.key
                    && !matches!(v.key.as_str(), "name" | "domain")
            }) {
                Some(f) => values.push(json!({ "customFieldId": f.id, "value": v.value })),
                None => lost.push(format!("Groove has no company field {:?}", v.key)),
            }
        }
        let q = "mutation($input: CompanyCreateInput!) { companyCreate(input: $input) { company { id name } errors { path message } } }";
        let d = self
            .client
            .graphql(q, json!({ "input": { "customFields": values } }), false)
            .await
            .map_err(http("organizations", &org.id))?;
        let p = &d["companyCreate"];
        if let Some(e) = payload_errors(p) {
            return Err(other(
                "organizations",
                &org.id,
                format!("Groove refused the company: {e}"),
            ));
        }
        let id = id_of(&p["company"]["id"])
            .ok_or_else(|| other("organizations", &org.id, "the answer names no company id"))?;
        if let Some(m) = self.companies.lock().await.as_mut() {
            m.insert(org.name.to_lowercase(), id.clone());
        }
        self.learn("organizations", &org.id, &id);
        Ok(if lost.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, lost.join("; "))
        })
    }
}

impl Target for GrooveTarget {
    fn platform(&self) -> &'static str {
        "groove"
    }

    fn capabilities(&self) -> Capabilities {
        let mb = self.opts.max_attachment_bytes / (1024 * 1024);
        Capabilities {
            concurrency: None,
            knowledge_base: true,
            message_times: true,
            note_times: true,
            create_agents: false,
            create_groups: false,
            create_fields: false,
            max_attachment_bytes: Some(self.opts.max_attachment_bytes),
            max_attachments_per_message: Some(MAX_FILES),
            limits: vec![
                "Groove: agents cannot be created through the API: they are matched by email; the default agent writes an unmatched agent's messages, which begin with a line naming their real author (reported per message)".into(),
                "Groove: mailboxes cannot be created through the API: groups go to the mailbox of the same name or the one the mapping's groups map names (several mailboxes in one load), else to the account's first mailbox".into(),
                "Groove: a message can only be by an agent or a customer with an address: a message by a person without an address is written as the ticket's customer's and begins with a line naming its real author (reported per message), never credited to the assignee".into(),
                "Groove: tickets keep no custom fields through the API: a ticket's field values, and its CC addresses (Groove's v1 API takes none), go into one private note on the ticket".into(),
                "Groove: contacts and companies are created through the v2 GraphQL API with their custom fields where the account has a field of the same key (contact and company fields are created in Groove's settings, not by this tool); values without one are reported per record; a person's other addresses, tags, locale and time zone are not kept".into(),
                "Groove: one contact per address: a person whose address a contact holds already is matched to it (reported per person)".into(),
                "Groove: companies keep one domain and no tags or notes (reported per organization); a company of the same name is matched, not created again".into(),
                format!("Groove: a file may be {mb} MB at most and a message takes {MAX_FILES} files; larger files are not uploaded (named in the message's row), more files go into follow-up notes"),
                "Groove: statuses are unread, opened, pending, closed and spam; new becomes unread, open opened, on-hold pending, solved closed".into(),
                "Groove: a ticket deleted at the source is not loaded (Groove's v1 API deletes no ticket; reported per ticket)".into(),
                "Groove: priority, ticket type, due dates and followers are not loaded".into(),
                "Groove: no external id on tickets or messages: the ledger, a marker tag dfx-… on each ticket (left out when read back) and a reference line on messages added after their ticket keep a re-run from writing twice".into(),
                "Groove knowledge base: categories are one level (a section becomes a category of its own), an article has one language (other locales become articles of their own), articles are created as drafts (Groove's API has no publish call: publish them in Groove; reported per article; the draft flag is not compared when read back), article files are not uploaded (Groove's API takes no knowledge-base file; reported per file), images embedded as data: URIs stay in the article's text as they are (reported per article)".into(),
                "Groove documents no rate limit: the load keeps to [rate_limits] default (60 a minute unless set) and waits on a 429 as long as Retry-After says".into(),
            ],
            side_effects: vec![
                "Groove: every ticket is written with send_copy_to_customer: false and skip_notifications: true, and every message with send_copy_to_customer: false, so Groove mails no customer and notifies no agent for them; Groove's rules (automations) may still match new tickets: pause them for the load. Whether a reply written by an agent through the v1 API is ever mailed regardless is not documented: try one ticket into a mailbox whose forwarding address is not live first".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let v = self.client.get("/v1/agents").await.map_err(http("inventory", "agents"))?;
        let agents: Vec<TargetAgent> = v["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let email = a["email"].as_str().filter(|e| !e.is_empty())?.to_string();
                let name = format!(
                    "{} {}",
                    a["first_name"].as_str().unwrap_or_default(),
                    a["last_name"].as_str().unwrap_or_default()
                );
                Some(TargetAgent {
                    id: email.clone(),
                    email,
                    name: name.trim().to_string(),
                    active: true,
                })
            })
            .collect();
        *self.agents.lock().unwrap_or_else(|e| e.into_inner()) = agents.clone();
        self.read_mailboxes().await?;
        let groups = self
            .mailboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, name, _)| TargetGroup { id: id.clone(), name: name.clone() })
            .collect();
        Ok(Inventory {
            agents,
            groups,
            ticket_fields: Vec::new(),
            statuses: map::STATES.iter().map(|s| s.to_string()).collect(),
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
            "Groove's API takes no knowledge-base file: {} is not uploaded (it stays a link in the article's text where it was one)",
            data.file_name
        )))
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        if entity != "tickets" {
            return Ok(Written::Skipped(format!(
                "Groove: deleting a single {entity} record is not done by this tool"
            )));
        }
        // Groove's v1 API deletes no ticket: it is closed.
        let path = format!("/v1/tickets/{target_id}/state");
        match self.client.put(&path, json!({ "state": "closed" })).await {
            Ok(_) => Ok(Written::Limited(
                target_id.to_string(),
                "deleted at the source: closed in Groove (its v1 API deletes no ticket)".into(),
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
        self.read_contact(target_id).await
    }

    async fn read_organization(
        &self,
        target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        self.read_company(target_id).await
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
}
