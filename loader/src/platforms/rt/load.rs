//! `RtTarget`: writes mapped records into a Request Tracker 5 through REST 2.
//!
//! - Users are created (agents privileged) unless matched by email; RT has no organizations, so
//!   an organization's name becomes its members' `Organization` attribute.
//! - Queues come from the mapping (the loader core maps groups to existing queues; unmapped
//!   tickets go to `General`).
//! - A ticket is created without content, as its submitter where the loader can log in as them;
//!   then every message is a `correspond` (public) or `comment` (private) post, in order, each
//!   with its files. Only that path runs RT's own MIME processing (`_RecordNote`): REST 2's
//!   ticket create stores the first message's file names RFC 2047-encoded and converts text
//!   files to UTF-8 without recording their charset, so their bytes come back changed.
//! - RT records the *authenticated* user as a transaction's creator and REST 2 has no other
//!   way to set it. Users this loader creates (marked in their `Comments`) get a password
//!   derived from the API token and the user name (REST 2 sets passwords only on create; a
//!   later run derives the same one), and messages are posted as them (a disabled user is
//!   enabled for the duration of the post); any other author's messages are posted as the API
//!   user with the author named in the header line.
//! - REST 2 cannot date a transaction: the original time is in the header line of each message
//!   (see `map.rs`). Since Debian's 5.0.3+dfsg-3~deb12u7 it also drops `Created` from a ticket
//!   create: it is still sent (older RTs keep it), the original time goes into the ticket custom
//!   field "Original Created", and a ticket whose `Created` RT did not keep says so in the report.
//!   `Resolved` is set.
//! - Once a message of a ticket fails, the ticket's later messages wait (failed, to be posted by
//!   the next run): RT orders messages by when they are posted, so posting them past the gap
//!   would put the failed one after them on the rerun.
//! - Idempotency: the ticket's external id is in the ticket custom field "Deskferry ID" (set in
//!   the create request itself); every message carries its external id in its header line, and
//!   before posting on a ticket that exists the loader reads the ticket's bodies back and skips
//!   what is there. Message posts are never retried blindly.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use deskferry_extractor::http::HttpError;
use deskferry_extractor::platforms::rt::client::RtClient;
use deskferry_extractor::platforms::rt::wire::{num, text, time};
use deskferry_format::{KbItem, Organization};
use reqwest::Url;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::map::{self, TAGS_FIELD, encode_id, iso_time, rt_time};
use crate::error::WriteError;
use crate::target::{
    Author, Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, Posted,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, Written, after_failed,
    post_unless_found,
};

pub(super) const BODY_QUERY: &str = r#"[{"field":"Filename","operator":"IS","value":"NULL"},{"field":"ContentType","operator":"LIKE","value":"text/"}]"#;
pub(super) const TICKET_CF_QUERY: &str =
    r#"[{"field":"LookupType","value":"RT::Queue-RT::Ticket"}]"#;

/// A user the loader may post as.
#[derive(Clone)]
pub(super) struct Login {
    pub(super) client: RtClient,
    pub(super) disabled: bool,
}

/// Ticket custom fields the loader itself relies on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Setup {
    pub(super) external_id: i64,
    pub(super) original_created: i64,
}

/// Loads into Request Tracker 5.
pub struct RtTarget {
    pub(super) url: Url,
    pub(super) api: RtClient,
    /// The API token: the users this loader creates get passwords derived from it.
    pub(super) token: SecretString,
    pub(super) setup: tokio::sync::Mutex<Option<Setup>>,
    pub(super) tags_field: tokio::sync::Mutex<Option<i64>>,
    pub(super) logins: Mutex<HashMap<String, Option<Login>>>,
    /// Target user id → RT user name (role members are given by name).
    pub(super) user_names: Mutex<HashMap<String, String>>,
    /// Source organization id → name (organizations live on users in RT).
    pub(super) orgs: Mutex<HashMap<String, String>>,
    /// Source user id → target user id, as written in this run (CCs, followers).
    pub(super) users: Mutex<HashMap<String, String>>,
    /// Lower-cased email → the id of the user this loader created with it (or none).
    pub(super) by_email: Mutex<HashMap<String, Option<String>>>,
    /// Queues this loader created disabled (deleted groups): enabled while a ticket is created.
    pub(super) disabled_queues: Mutex<std::collections::HashSet<String>>,
    /// One lock per disabled user or queue the loader enables for a moment (`user/ID`,
    /// `queue/ID`): tickets are written concurrently, and one ticket's "disable again" must not
    /// land in the middle of another's post as the same user.
    pub(super) holds: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

/// Every RT request serves a write, so a 403 means the token may not write: fatal, like a 401.
pub(super) fn http_err(entity: &str, id: &str, e: HttpError) -> WriteError {
    WriteError::http(entity, id, e, deskferry_extractor::http::Op::Write)
}

pub(super) fn other(entity: &str, id: &str, message: impl Into<String>) -> WriteError {
    WriteError::Other { entity: entity.into(), source_id: id.into(), message: message.into() }
}

impl RtTarget {
    /// A target for the RT at `url` with an auth token of a superuser (creates users, queues
    /// and custom fields, sets users' passwords).
    pub fn from_parts(url: Url, token: SecretString) -> Result<RtTarget, WriteError> {
        let api =
            RtClient::with_token(&url, token.clone()).map_err(|e| http_err("target", "rt", e))?;
        Ok(RtTarget::with_client(url, api, token))
    }

    /// From `target.toml` (`platform = "rt"`, `url`, `[credentials]` with the token).
    pub fn new(cfg: &crate::config::TargetConfig) -> Result<RtTarget, WriteError> {
        use secrecy::ExposeSecret;
        let token = cfg.credentials.token().map_err(|e| other("target", "rt", e.to_string()))?;
        let value = SecretString::from(format!("token {}", token.expose_secret()));
        let auth = deskferry_extractor::http::Auth::Header { name: "Authorization".into(), value };
        let api = RtClient::new(&cfg.url, auth, &cfg.rate_limits)
            .map_err(|e| http_err("target", "rt", e))?;
        Ok(RtTarget::with_client(cfg.url.clone(), api, token))
    }

    fn with_client(url: Url, api: RtClient, token: SecretString) -> RtTarget {
        RtTarget {
            url,
            api,
            token,
            setup: tokio::sync::Mutex::new(None),
            tags_field: tokio::sync::Mutex::new(None),
            logins: Mutex::new(HashMap::new()),
            user_names: Mutex::new(HashMap::new()),
            orgs: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            by_email: Mutex::new(HashMap::new()),
            disabled_queues: Mutex::new(std::collections::HashSet::new()),
            holds: Mutex::new(HashMap::new()),
        }
    }

    /// Holds the lock of `key` (`user/ID`, `queue/ID`) for as long as the guard lives.
    pub(super) async fn hold(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .holds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// The API user's client (reads for reconciliation and tests).
    pub fn client(&self) -> &RtClient {
        &self.api
    }

    /// The ticket holding external id `ext`, if any (deleted tickets are invisible to search).
    async fn find_by_external_id(&self, ext: &str) -> Result<Option<String>, WriteError> {
        let setup = self.setup().await?;
        let query = format!("CF.{{{}}} = '{}'", setup.external_id, encode_id(ext));
        let page = self
            .api
            .page("tickets", &[("query", &query), ("orderby", "id")], 1)
            .await
            .map_err(|e| http_err("tickets", ext, e))?;
        Ok(page.items.first().and_then(|t| num(&t["id"])).map(|n| n.to_string()))
    }

    /// Creates the ticket without content, as its submitter (else its requester) where the
    /// loader can post as them.
    async fn create_ticket(&self, t: &MappedTicket, setup: Setup) -> Result<String, WriteError> {
        let sid = t.ticket.id.as_str();
        let e = |e| http_err("tickets", sid, e);
        let mut body = Map::new();
        body.insert("Queue".into(), json!(t.group.clone().unwrap_or_else(|| "General".into())));
        body.insert("Subject".into(), json!(t.subject.replace(['\r', '\n'], " ")));
        body.insert("Requestor".into(), json!(self.requestors(t).await.map_err(e)?));
        let mut cc = Vec::new();
        let mut admin_cc = Vec::new();
        for (ids, out) in [(&t.ticket.cc_ids, &mut cc), (&t.ticket.follower_ids, &mut admin_cc)] {
            for src in ids {
                if let Some(target) = self.target_user(src)
                    && let Some(name) = self.user_name(&target).await.map_err(e)?
                {
                    out.push(name);
                }
            }
        }
        body.insert("Cc".into(), json!(cc));
        body.insert("AdminCc".into(), json!(admin_cc));
        if let Some(a) = &t.assignee {
            body.insert("Owner".into(), json!(a));
        }
        body.insert("Status".into(), json!("new"));
        // Kept by RTs before Debian's 5.0.3+dfsg-3~deb12u7, dropped silently by later ones
        // (checked after the create).
        if let Some(c) = &t.ticket.created_at {
            body.insert("Created".into(), json!(rt_time(c)));
        }
        if let Some(d) = &t.ticket.due_at {
            body.insert("Due".into(), json!(rt_time(d)));
        }
        if let Some(p) = t.priority.as_deref().and_then(|p| p.parse::<i64>().ok()) {
            body.insert("Priority".into(), json!(p));
        }
        body.insert("CustomFields".into(), Value::Object(self.field_values(t, setup).await?));
        // RT does not let a disabled user own a ticket (a departed agent), nor a disabled queue
        // (a deleted group) take one: both are enabled for the moment of the create.
        let mut enable = Vec::new();
        if let Some(a) = &t.assignee
            && self.is_disabled(a).await.map_err(e)?
        {
            enable.push(format!("user/{a}"));
        }
        if let Some(q) = &t.group
            && self.disabled_queues.lock().unwrap_or_else(|e| e.into_inner()).contains(q)
        {
            enable.push(format!("queue/{q}"));
        }
        let creator = self.creator(t);
        let created =
            self.post_as(&creator, "ticket", &enable, |_| Value::Object(body.clone())).await;
        let (resp, _) = created.map_err(e)?;
        RtClient::created_id(&resp)
            .map(|n| n.to_string())
            .ok_or_else(|| other("tickets", sid, "no id"))
    }

    /// Every requestor of a ticket, by RT user name: the requester, then the others.
    async fn requestors(&self, t: &MappedTicket) -> Result<Vec<String>, HttpError> {
        let mut out = Vec::new();
        if let Some(r) = &t.requester.target_id {
            out.extend(self.user_name(r).await?);
        } else if let Some(email) = &t.requester.email {
            out.push(email.clone());
        }
        for src in &t.ticket.other_requester_ids {
            if let Some(target) = self.target_user(src)
                && let Some(name) = self.user_name(&target).await?
                && !out.contains(&name)
            {
                out.push(name);
            }
        }
        Ok(out)
    }

    /// The target user id this run wrote for a source user (CCs, followers, the submitter).
    fn target_user(&self, source_id: &str) -> Option<String> {
        self.users.lock().unwrap_or_else(|e| e.into_inner()).get(source_id).cloned()
    }

    /// Who creates the ticket: its submitter, else its requester (RT's `Creator`, which the
    /// extractor reads back as the submitter).
    fn creator(&self, t: &MappedTicket) -> Author {
        let submitter = t.ticket.submitter_id.as_deref().and_then(|s| self.target_user(s));
        match submitter {
            Some(id) if t.ticket.submitter_id != t.ticket.requester_id => Author {
                target_id: Some(id),
                email: None,
                name: None,
                is_agent: false,
                defaulted: false,
            },
            _ => t.requester.clone(),
        }
    }

    /// What RT did not keep of a ticket just created: its creation time, which REST 2 drops
    /// from the create request since Debian's 5.0.3+dfsg-3~deb12u7, and followers RT refused
    /// as AdminCc (it takes only users with the WatchAsAdminCc right, and says nothing).
    async fn created_losses(&self, id: &str, t: &MappedTicket) -> Result<Vec<String>, HttpError> {
        let mut out = Vec::new();
        let v = self.api.get(&format!("ticket/{id}"), &[]).await?;
        if let Some(want) = t.ticket.created_at {
            let got = time(&v, "Created");
            if got.map(|g| g.timestamp()) != Some(want.timestamp()) {
                out.push(format!(
                    "RT set the ticket's Created to {} (REST 2 drops Created on create); the original, {}, is in the ticket custom field \"{}\" and in the first message's header line",
                    got.map(|g| iso_time(&g)).unwrap_or_else(|| "nothing".into()),
                    iso_time(&want),
                    map::ORIGINAL_CREATED_FIELD,
                ));
            }
        }
        let kept: Vec<String> = v["AdminCc"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str().map(str::to_lowercase))
            .collect();
        for src in &t.ticket.follower_ids {
            if let Some(target) = self.target_user(src)
                && let Some(name) = self.user_name(&target).await?
                && !kept.contains(&name.to_lowercase())
            {
                out.push(format!(
                    "RT refused follower {src} ({name}) as AdminCc: RT takes only users with the WatchAsAdminCc right (grant it to Privileged users before the load to keep followers)"
                ));
            }
        }
        Ok(out)
    }

    async fn field_values(
        &self,
        t: &MappedTicket,
        setup: Setup,
    ) -> Result<Map<String, Value>, WriteError> {
        let mut cfs = Map::new();
        cfs.insert(setup.external_id.to_string(), json!(encode_id(&t.external_id)));
        if let Some(c) = &t.ticket.created_at {
            cfs.insert(setup.original_created.to_string(), json!(iso_time(c)));
        }
        for (field, values) in &t.fields {
            cfs.insert(field.clone(), json!(values));
        }
        if !t.tags.is_empty() {
            // Tags go into the "Tags" field, together with any values the mapping sends to the
            // same field (by name or id): one list, or one would overwrite the other.
            let tags = self.tags_field().await?;
            let mut all: Vec<String> = Vec::new();
            for key in [TAGS_FIELD.to_string(), tags.to_string()] {
                if let Some(Value::Array(vals)) = cfs.remove(&key) {
                    all.extend(vals.into_iter().filter_map(|v| v.as_str().map(str::to_string)));
                }
            }
            for t in &t.tags {
                if !all.contains(t) {
                    all.push(t.clone());
                }
            }
            cfs.insert(tags.to_string(), json!(all));
        }
        Ok(cfs)
    }

    /// Posts one message unless its marker is on the ticket already.
    async fn write_comment(
        &self,
        ticket: &str,
        c: &MappedComment,
        present: &BTreeMap<String, i64>,
    ) -> Result<Written, WriteError> {
        let sid = c.comment.id.as_str();
        if let Some(txn) = present.get(&encode_id(&c.external_id)) {
            return Ok(Written::Matched(txn.to_string()));
        }
        let kind = if c.public { "correspond" } else { "comment" };
        let posted = post_unless_found(
            || async {
                self.post_as(&c.author, &format!("ticket/{ticket}/{kind}"), &[], |as_author| {
                    Value::Object(map::message(c, (!as_author).then_some(&c.author)))
                })
                .await
            },
            // RT may hold it already: its marker says so.
            || async {
                let now = self.markers(ticket).await.map_err(|e| http_err("comments", sid, e))?;
                Ok(now.get(&encode_id(&c.external_id)).map(i64::to_string))
            },
            |e| http_err("comments", sid, e),
        )
        .await?;
        let txn = match posted {
            Posted::Answered((resp, _)) => RtClient::created_id(&resp)
                .ok_or_else(|| other("comments", sid, "no transaction id"))?
                .to_string(),
            Posted::Found(txn) => txn,
        };
        Ok(Self::comment_written(c, txn))
    }

    /// A message RT holds as transaction `txn`, with what it could not keep of it.
    fn comment_written(c: &MappedComment, txn: String) -> Written {
        let losses = map::message_losses(c);
        if losses.is_empty() {
            Written::Migrated(txn)
        } else {
            Written::Limited(txn, losses.join("; "))
        }
    }

    async fn finish_ticket(&self, id: &str, t: &MappedTicket) -> Result<(), HttpError> {
        let status = t.status.clone().unwrap_or_else(|| map::default_status(&t.ticket).to_string());
        self.api.put(&format!("ticket/{id}"), json!({ "Status": status })).await?;
        if let (Some(at), "resolved") = (&t.ticket.solved_at, status.as_str()) {
            self.api.put(&format!("ticket/{id}"), json!({ "Resolved": rt_time(at) })).await?;
        }
        Ok(())
    }
}

impl Target for RtTarget {
    fn platform(&self) -> &'static str {
        "rt"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            concurrency: None,
            knowledge_base: false,
            message_times: false,
            note_times: false,
            create_agents: true,
            create_groups: true,
            create_fields: true,
            max_attachment_bytes: None,
            max_attachments_per_message: None,
            limits: vec![
                "RT dates every transaction when it is posted and REST 2 cannot set another date: \
                 each message starts with a header line holding its original time"
                    .into(),
                "REST 2 drops a ticket's Created on create since Debian's RT 5.0.3+dfsg-3~deb12u7 \
                 (older RTs keep it): the ticket then shows the load time as Created, the original \
                 is in the ticket custom field \"Original Created\" (ISO 8601, UTC) and the first \
                 message's header line, and the report says so for each such ticket; Resolved is \
                 set"
                    .into(),
                "RT records the authenticated user as a message's author: messages are posted as \
                 their authors when deskferry created them (their password is derived from the \
                 API token), otherwise as the API user with the author named in the header line"
                    .into(),
                "RT keeps one body per message: of a message with HTML and a text/plain \
                 alternative only the HTML is posted (reported per message)"
                    .into(),
                "REST 2 cannot give a file a Content-ID: inline images that the HTML shows \
                 through cid: links are attached to their message but do not show in place \
                 (reported per message)"
                    .into(),
                "a file without a name is posted as \"unnamed\"; RT drops CR/LF from file names, \
                 keeps what follows the last '/' and cuts them at 255 bytes (reported per message)"
                    .into(),
                "RT's $MaxAttachmentSize (10 MiB unless configured) caps attachments".into(),
                "custom fields are named by their title: RT refuses all-digit names (Zendesk's \
                 ticket fields have their id as key)"
                    .into(),
                "RT compares user names and addresses without regard to case: a user whose \
                 address differs from another's only by case gets a name of its own and, where \
                 RT refuses the address, none (reported per user)"
                    .into(),
                "RT takes a follower as AdminCc only when the user has the WatchAsAdminCc right \
                 (no one has it in a stock RT) and refuses others silently: grant it (globally or \
                 on the queues) before the load to keep followers; each follower RT refused is \
                 reported with its ticket"
                    .into(),
                "RT has no organizations (the name goes into users' Organization attribute) and \
                 no tags (they go into a ticket custom field \"Tags\")"
                    .into(),
                "the ticket custom field \"Deskferry ID\" holds each ticket's external id (re-runs \
                 find tickets by it)"
                    .into(),
                "RT's default lifecycle has no pending/on-hold or solved/closed distinction \
                 (stalled, resolved; a source RT's rejected stays rejected)"
                    .into(),
                "a ticket is created without content and every message is posted after it, in \
                 order; once a message fails, the ticket's later messages wait for the next run"
                    .into(),
                "RT hides deleted tickets from every search: a ticket deleted at the source is \
                 found again only through the ledger's target id, not by its external id"
                    .into(),
            ],
            side_effects: vec![
                "RT runs its scrips on every ticket created and every message posted: a stock RT \
                 mails an autoreply to each ticket's requestors on create, and mails requestors, \
                 Ccs, AdminCcs and owners on each reply and comment (REST 2 offers no way to \
                 switch scrips off or to squelch a transaction's mail). Before the load, disable \
                 the notification scrips (Admin → Global → Scrips, and each queue's Scrips), or \
                 stop RT from sending for the load's duration (for example Set($MailCommand, \
                 'testfile') in RT_SiteConfig.pm), and restore them afterwards"
                    .into(),
                "scrips that change tickets run too (a stock RT opens a resolved ticket on a reply \
                 and sets Starts on create); the loader sets each ticket's final status and \
                 Resolved after its messages, so they do not change the end state"
                    .into(),
            ],
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        self.read_inventory().await
    }

    async fn write_organization(
        &self,
        org: &Organization,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.orgs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(org.id.clone(), org.name.clone());
        // RT keeps an organization only as its members' Organization attribute: the name is
        // its id at the target.
        Ok(Written::Migrated(org.name.clone()))
    }

    async fn write_user(
        &self,
        mu: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.write_user_impl(mu, prior).await
    }

    async fn write_group(
        &self,
        group: &deskferry_format::Group,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.ensure_queue(group).await
    }

    async fn write_field(
        &self,
        field: &deskferry_format::CustomField,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.ensure_field(field).await
    }

    async fn write_ticket(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let sid = t.ticket.id.as_str();
        let e = |e| http_err("tickets", sid, e);
        let setup = self.setup().await?;
        let mut existing = None;
        if let Some(p) = prior
            && self.api.get_opt(&format!("ticket/{p}")).await.map_err(e)?.is_some()
        {
            existing = Some(p.to_string());
        }
        if existing.is_none() {
            existing = self.find_by_external_id(&t.external_id).await?;
        }
        let mut limits: Vec<String> = Vec::new();
        let (id, present) = match existing {
            Some(id) => {
                let mut body = Map::new();
                body.insert("Subject".into(), json!(t.subject.replace(['\r', '\n'], " ")));
                body.insert("Requestor".into(), json!(self.requestors(t).await.map_err(e)?));
                if let Some(g) = &t.group {
                    body.insert("Queue".into(), json!(g));
                }
                if let Some(a) = &t.assignee {
                    body.insert("Owner".into(), json!(a));
                }
                body.insert(
                    "CustomFields".into(),
                    Value::Object(self.field_values(t, setup).await?),
                );
                self.api.put(&format!("ticket/{id}"), Value::Object(body)).await.map_err(e)?;
                let present = self.markers(&id).await.map_err(e)?;
                (id, present)
            }
            None => {
                let id = self.create_ticket(t, setup).await?;
                (id, BTreeMap::new())
            }
        };
        // A ticket new to the ledger (created now, or by a run that crashed before recording
        // it) is checked for what RT did not keep of it.
        if prior != Some(id.as_str()) {
            limits.extend(self.created_losses(&id, t).await.map_err(e)?);
        }
        let mut results = Vec::with_capacity(new_comments.len());
        let mut failed: Option<&str> = None;
        for c in new_comments {
            if let Some(first) = failed {
                results.push(Err(after_failed(&c.comment.id, first, "message", "RT")));
                continue;
            }
            let r = self.write_comment(&id, c, &present).await;
            if r.is_err() {
                failed = Some(c.comment.id.as_str());
            }
            results.push(r);
        }
        if !t.note_fields.is_empty() {
            let ext = format!("{}:fields", t.external_id);
            if !present.contains_key(&encode_id(&ext)) {
                let mut note = new_comments.first().cloned().unwrap_or_else(|| placeholder(t));
                note.external_id = ext;
                note.public = false;
                note.attachments.clear();
                note.comment.body_html = None;
                note.comment.body_text = Some(map::fields_note(&t.note_fields));
                note.created_at = t.ticket.created_at;
                let body = Value::Object(map::message(&note, None));
                self.api.post(&format!("ticket/{id}/comment"), body, false).await.map_err(e)?;
            }
        }
        self.finish_ticket(&id, t).await.map_err(e)?;
        let written = if prior == Some(id.as_str()) {
            Written::Matched(id)
        } else if !limits.is_empty() {
            Written::Limited(id, limits.join("; "))
        } else {
            Written::Migrated(id)
        };
        Ok((written, results))
    }

    async fn write_kb_item(
        &self,
        item: &KbItem,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        Err(WriteError::Unsupported {
            entity: "kb_articles".into(),
            source_id: item.id.clone(),
            reason: "this loader does not write RT articles".into(),
        })
    }

    async fn apply_tombstone(&self, entity: &str, target_id: &str) -> Result<Written, WriteError> {
        let e = |e| http_err(entity, target_id, e);
        match entity {
            "tickets" => {
                self.api
                    .put(&format!("ticket/{target_id}"), json!({ "Status": "deleted" }))
                    .await
                    .map_err(e)?;
                Ok(Written::Migrated(target_id.to_string()))
            }
            "users" => {
                self.api
                    .put(&format!("user/{target_id}"), json!({ "Disabled": 1 }))
                    .await
                    .map_err(e)?;
                Ok(Written::Migrated(target_id.to_string()))
            }
            _ => Err(WriteError::Unsupported {
                entity: entity.into(),
                source_id: target_id.into(),
                reason: "RT cannot delete this kind of record".into(),
            }),
        }
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        self.find_by_external_id(&ticket.external_id).await
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        self.read_back(target_id).await
    }

    async fn read_user(&self, target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        let v = self
            .api
            .get_opt(&format!("user/{target_id}"))
            .await
            .map_err(|e| http_err("users", target_id, e))?;
        Ok(match v {
            Some(v) => Readback::Found(ReadUser {
                name: text(&v, "RealName"),
                emails: text(&v, "EmailAddress").into_iter().collect(),
            }),
            None => Readback::Missing,
        })
    }

    /// RT has no organizations: their names live on users (`Organization`).
    async fn read_organization(
        &self,
        _target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        Ok(Readback::NotHeld)
    }
}

/// A stand-in comment for the custom-fields note of a ticket without messages.
fn placeholder(t: &MappedTicket) -> MappedComment {
    MappedComment {
        comment: deskferry_format::Comment {
            id: format!("{}:fields", t.ticket.id),
            ticket_id: t.ticket.id.clone(),
            author_id: None,
            public: false,
            body_html: None,
            body_text: None,
            channel: None,
            created_at: t.ticket.created_at,
            attachment_ids: Vec::new(),
            raw: String::new(),
        },
        author: Author {
            target_id: None,
            email: None,
            name: None,
            is_agent: true,
            defaulted: true,
        },
        body_html: String::new(),
        public: false,
        created_at: t.ticket.created_at,
        attachments: Vec::new(),
        external_id: String::new(),
    }
}
