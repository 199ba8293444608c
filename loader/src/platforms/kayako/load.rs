//! `KayakoTarget`: the [`Target`] for Kayako's API v1.
//!
//! Order (the core's): teams the account lacks (`POST /teams`), case, user and organization
//! fields (`POST /cases/fields`, `/users/fields`, `/organizations/fields`), organizations and
//! customers with their `legacy_id` (the source id), then per ticket one case opened for its
//! requester with its first message, status, priority, team, assignee, tags and field values
//! (`POST /cases`, files as `files[]`), and one `POST /cases/{id}/reply` per further message
//! (`MAIL`) or note (`NOTE`); then the Help Center (categories, sections, articles in every
//! locale, their files).
//!
//! Nothing is created twice: organizations, customers, cases and articles carry a `legacy_id`
//! (a taken one answers `FIELD_NOT_UNIQUE`, and the holder is found with `legacy_ids=`),
//! teams and fields are matched by name and key, and a post whose answer was lost is looked for
//! by the reference in its first line before it is sent again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use deskferry_extractor::http::{Http, HttpError, Op};
use deskferry_extractor::platforms::kayako::client::{self as ky, Client, data, id_of};
use deskferry_format::{CustomField, Group, KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::options::KayakoOptions;
use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::known::Known;
use crate::target::{
    AttachmentData, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadKbItem,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetField,
    TargetGroup, Written,
};

/// A staff member of the account.
#[derive(Debug, Clone)]
pub(super) struct Staff {
    pub id: String,
    pub email: String,
    pub role: String,
}

/// The Kayako target.
#[derive(Debug)]
pub struct KayakoTarget {
    pub(super) client: Client,
    pub(super) opts: KayakoOptions,
    /// The login's address.
    pub(super) login: String,
    /// Staff of the account, read by `inventory`.
    pub(super) staff: Mutex<Vec<Staff>>,
    /// The mailbox public replies go out on.
    pub(super) mailbox: Mutex<Option<String>>,
    /// Case fields of the account: (key, title).
    pub(super) case_fields: Mutex<Vec<(String, String)>>,
    /// Field keys the account has, per resource (`users`, `organizations`).
    pub(super) field_keys: Mutex<HashMap<String, Vec<String>>>,
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

pub(super) fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl KayakoTarget {
    /// From target.toml: `url`, `[credentials] email` and the password (`token_env` /
    /// `token_file`), `[rate_limits] default`, the options.
    pub fn new(cfg: &TargetConfig) -> Result<KayakoTarget, WriteError> {
        let password =
            cfg.credentials.token().map_err(|e| other("target", "kayako", e.to_string()))?;
        let email = cfg.credentials.email.clone().ok_or_else(|| {
            other("target", "kayako", "[credentials] email is required: the staff member's login (the password comes from token_env or token_file)")
        })?;
        let opts = KayakoOptions::from_config(cfg).map_err(|m| other("target", "kayako", m))?;
        KayakoTarget::with_options(cfg.url.clone(), email, password, opts)
    }

    /// With every option spelled out.
    pub fn with_options(
        url: Url,
        email: String,
        password: SecretString,
        opts: KayakoOptions,
    ) -> Result<KayakoTarget, WriteError> {
        let mut rates = BTreeMap::new();
        if let Some(n) = opts.per_minute {
            rates.insert(ky::DEFAULT.to_string(), n);
        }
        let h = Http::new(ky::http_config(url, &rates)).map_err(http("target", "kayako"))?;
        Ok(KayakoTarget {
            client: Client::new(h, email.clone(), password),
            opts,
            login: email,
            staff: Mutex::new(Vec::new()),
            mailbox: Mutex::new(None),
            case_fields: Mutex::new(Vec::new()),
            field_keys: Mutex::new(HashMap::new()),
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

    /// The login as a staff member: (id, role type).
    pub(super) async fn me(&self) -> Result<Option<Staff>, WriteError> {
        if self.staff.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            self.inventory().await?;
        }
        let staff = self.staff.lock().unwrap_or_else(|e| e.into_inner());
        Ok(staff.iter().find(|s| s.email.eq_ignore_ascii_case(&self.login)).cloned())
    }

    /// The mailbox public replies go out on: the option's, else the account's default.
    pub(super) async fn mailbox(&self) -> Result<String, WriteError> {
        if let Some(m) = self.mailbox.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(m);
        }
        let list =
            self.client.all("/api/v1/mailboxes.json").await.map_err(http("target", "mailboxes"))?;
        let chosen = match &self.opts.mailbox {
            Some(want) => list.iter().find(|m| {
                id_of(m).as_deref() == Some(want.as_str())
                    || s(m, "address").eq_ignore_ascii_case(want)
            }),
            None => list
                .iter()
                .find(|m| m.get("is_default").and_then(Value::as_bool) == Some(true))
                .or_else(|| list.first()),
        };
        let id = chosen.and_then(id_of).ok_or_else(|| WriteError::Http {
            entity: "target".into(),
            source_id: "mailbox".into(),
            class: deskferry_extractor::http::ErrorClass::Fatal,
            source: Box::new(HttpError::Config(match &self.opts.mailbox {
                Some(m) => format!("mailbox {m:?} is no mailbox of the Kayako account"),
                None => {
                    "the Kayako account has no mailbox: add one (Admin → Email) before the load"
                        .into()
                }
            })),
        })?;
        *self.mailbox.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.clone());
        Ok(id)
    }
}

impl Target for KayakoTarget {
    fn platform(&self) -> &'static str {
        "kayako"
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
            max_attachment_bytes: None,
            max_attachments_per_message: None,
            limits: vec![
                "Kayako: staff (agents, collaborators, admins) are matched by email, never created (each is a paid seat and an invitation): unmatched, disabled or deleted agents' cases and posts go to the default agent, reported per record".into(),
                "Kayako: replies and notes are written by the signed-in staff member (the API names no other author); each post begins with a line naming its original author (and their Kayako user #id), its original time and a reference; the case's opening message is the requester's own. Reported per message".into(),
                "Kayako: no time given by a client is kept: cases and posts take the load's time; the original times are in each post's first line (the case's creation time in its opening post), reported per record".into(),
                "Kayako: only agents and admins may reply to customers; a collaborator may write notes only. When the login is a collaborator, public replies are written as notes marked \"a public reply in the source\", reported per message (sign in as an agent or admin to keep them public)".into(),
                "Kayako: CCs exist only on mail Kayako sends: a ticket's CCs are listed in its opening post's first line, reported per ticket".into(),
                "Kayako: cases are assigned to enabled staff only: a ticket of a disabled, deleted or unmatched agent is assigned to the default agent, reported per ticket".into(),
                "Kayako: custom fields the account lacks are created (case, user and organization fields: text, numbers, yes/no, dates, options); a date and time is kept as text; fields the mapping sends to the note are listed in the opening post's first line".into(),
                "Kayako: the Help Center removes <script>, <iframe>, <object>, <embed> and <form> from articles: such an article is loaded without them, reported per article; items keep every locale (locale fields), and take the load's time".into(),
                "Kayako: spam tickets are not loaded (Kayako's API has no spam state for cases), reported per ticket; deleted tickets go to Kayako's trash when a delta deletes them".into(),
                "Kayako: per-minute limits are per action and unpublished: the load keeps under the connection file's [rate_limits] default (600 a minute if none) and waits Retry-After on a 429".into(),
            ],
            side_effects: vec![
                "Kayako: public replies are written on the MAIL channel of the chosen mailbox (option mailbox), and Kayako emails MAIL replies to the requester: disable the mailbox's outgoing mail (or the account's notification triggers) for the load; triggers, SLAs and monitors of the account also run on new cases: pause them for the load".into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        let e = |what: &str| http("inventory", what);
        let users = self
            .client
            .all("/api/v1/users.json?role=OWNER,ADMIN,AGENT,COLLABORATOR&include=role")
            .await
            .map_err(e("users"))?;
        let teams = self.client.all("/api/v1/teams.json").await.map_err(e("teams"))?;
        let fields =
            self.client.all("/api/v1/cases/fields.json").await.map_err(e("case fields"))?;
        let mut staff = Vec::new();
        let mut agents = Vec::new();
        for u in &users {
            let role = u.pointer("/role/type").and_then(Value::as_str).unwrap_or("CUSTOMER");
            // Kayako may ignore the role filter: customers are left out here.
            if role == "CUSTOMER" {
                continue;
            }
            let Some(id) = id_of(u) else { continue };
            let email = u
                .get("emails")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .find(|e| e.get("is_primary").and_then(Value::as_bool) == Some(true))
                        .or_else(|| a.first())
                })
                .map(|e| s(e, "email"))
                .unwrap_or_default();
            let enabled = u.get("is_enabled").and_then(Value::as_bool).unwrap_or(true);
            staff.push(Staff { id: id.clone(), email: email.clone(), role: role.to_string() });
            agents.push(TargetAgent { id, email, name: s(u, "full_name"), active: enabled });
        }
        *self.staff.lock().unwrap_or_else(|e| e.into_inner()) = staff;
        *self.case_fields.lock().unwrap_or_else(|e| e.into_inner()) =
            fields.iter().map(|f| (s(f, "key"), s(f, "title"))).collect();
        Ok(Inventory {
            agents,
            groups: teams
                .iter()
                .filter_map(|t| Some(TargetGroup { id: id_of(t)?, name: s(t, "title") }))
                .collect(),
            ticket_fields: fields
                .iter()
                .filter(|f| f.get("is_enabled").and_then(Value::as_bool).unwrap_or(true))
                .map(|f| TargetField {
                    // The key: field_values are keyed by it; the mapping matches the title.
                    id: s(f, "key"),
                    name: s(f, "title"),
                    field_type: s(f, "type"),
                    options: f
                        .get("options")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|o| s(o, "tag"))
                        .collect(),
                })
                .collect(),
            statuses: super::map::STATUSES.iter().map(|x| x.to_string()).collect(),
        })
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
        self.write_customer(user, prior).await
    }

    async fn write_group(&self, group: &Group, prior: Option<&str>) -> Result<Written, WriteError> {
        self.write_team(group, prior).await
    }

    async fn write_field(
        &self,
        field: &CustomField,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_field_def(field, prior).await
    }

    fn creates_person_fields(&self) -> bool {
        true
    }

    async fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        self.write_case(ticket, prior, new_comments).await
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
        article: &str,
        data: &AttachmentData,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_article_file(article, data, prior).await
    }

    async fn read_kb_item(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        self.read_kb(entity, target_id).await
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        if entity != "tickets" {
            return Ok(Written::Skipped(format!(
                "Kayako: deleting a single {entity} record is not done by this tool"
            )));
        }
        match self.client.delete(&format!("/api/v1/cases/{target_id}.json")).await {
            Ok(()) => Ok(Written::Migrated(target_id.to_string())),
            Err(e) if e.status() == Some(404) => Ok(Written::Matched(target_id.to_string())),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        self.find_case(&ticket.external_id, &ticket.ticket.id).await
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        self.read_case(target_id).await
    }

    async fn read_user(&self, target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        match self.client.get(&format!("/api/v1/users/{target_id}.json")).await {
            Ok(v) => {
                let u = data(&v);
                Ok(Readback::Found(ReadUser {
                    name: u.get("full_name").and_then(Value::as_str).map(str::to_string),
                    emails: u
                        .get("emails")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|e| s(e, "email"))
                        .filter(|e| !e.is_empty())
                        .collect(),
                }))
            }
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http("users", target_id)(e)),
        }
    }

    async fn read_organization(
        &self,
        target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        match self.client.get(&format!("/api/v1/organizations/{target_id}.json")).await {
            Ok(v) => Ok(Readback::Found(ReadOrganization {
                name: data(&v).get("name").and_then(Value::as_str).map(str::to_string),
            })),
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http("organizations", target_id)(e)),
        }
    }

    fn known_ids(&self) -> Option<&Known> {
        Some(&self.known)
    }
}
