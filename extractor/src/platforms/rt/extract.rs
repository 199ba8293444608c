//! `RtSource`: Request Tracker 5 through REST 2 into a bundle.
//!
//! Streams, in order (each restartable; see [`crate::Resume`]):
//! - `users` (with organizations made from users' `Organization` names), `groups` (queues),
//!   `custom_fields` (ticket fields): small, sent whole, one cursor when done;
//! - `tickets`: keyset pages (`id > N`, ordered by id) of full ticket records (roles and custom
//!   fields included through `fields=`), and per ticket its history, its MIME parts' metadata
//!   and its message bodies (three paged requests), then the files through
//!   [`Sink::attachment`]; a cursor after every ticket. REST 2 never lists deleted tickets, so a
//!   full run also asks for each id missing between the listed ones (and a few past the last).
//!
//! Delta (`--since`): tickets with `LastUpdated` at or after the parent's `tickets` cursor, which
//! is the time the parent's ticket stream started, less a margin for clock skew; then, since
//! ticket searches never list deleted tickets, the tickets whose status changed to `deleted`
//! since (a transaction search), each with its tombstone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use deskferry_format::Warning;
use deskferry_format::model::Tombstone;
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Url;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{BUCKET, RtClient};
use super::map::{self, FieldInfo};
use super::wire::{PART_FIELDS, TICKET_FIELDS, TXN_FIELDS, num};
use crate::error::ExtractError;
use crate::http::Http;
use crate::pipeline::Sink;
use crate::source::{Item, Resume, Source};

const PLATFORM: &str = "rt";

/// Ids probed past the last listed ticket before deciding there are no (deleted) tickets left.
const PROBE_PAST_END: i64 = 10;

/// Slack subtracted from the stream's start time for the next delta (clock skew between here
/// and RT, transactions in flight while the page was read).
const DELTA_MARGIN_SECS: i64 = 300;

/// Parts of a ticket that are message bodies (unnamed text parts), fetched with their content.
const BODY_QUERY: &str = r#"[{"field":"Filename","operator":"IS","value":"NULL"},{"field":"ContentType","operator":"LIKE","value":"text/"}]"#;

/// Ticket custom fields only.
const TICKET_CF_QUERY: &str = r#"[{"field":"LookupType","value":"RT::Queue-RT::Ticket"}]"#;

/// Where the ticket stream stands (the opaque `Item::Cursor` text).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TicketCursor {
    /// Every ticket with an id up to this one is in the bundle.
    after: i64,
    /// When the stream first started (kept across restarts; the next delta starts here).
    start: DateTime<Utc>,
    /// A delta's second pass: every deletion up to this transaction id is in the bundle (see
    /// `RtSource::deleted_since`).
    #[serde(default)]
    deleted_after: i64,
}

/// Reads a Request Tracker 5 through REST 2.
#[derive(Debug, Clone)]
pub struct RtSource {
    client: RtClient,
    account: String,
}

impl RtSource {
    /// A source for the RT at `url` (its web base, e.g. `https://rt.example.org/`) with an auth
    /// token of a user who can see every queue, ticket and user (a superuser for a full export).
    pub fn from_parts(url: Url, token: SecretString) -> Result<RtSource, ExtractError> {
        let client = RtClient::with_token(&url, token)?;
        Ok(RtSource::with_client(client))
    }

    /// From a `source.toml` with `platform = "rt"`: `url` and an auth token from `[credentials]`
    /// (`rate_limits.default` overrides the pacing).
    pub fn new(cfg: &crate::config::SourceConfig) -> Result<RtSource, ExtractError> {
        use secrecy::ExposeSecret;
        let token = cfg.credentials.token()?;
        let value = SecretString::from(format!("token {}", token.expose_secret()));
        let auth = crate::http::Auth::Header { name: "Authorization".into(), value };
        let client = RtClient::new(&cfg.url, auth, &cfg.rate_limits)?;
        Ok(RtSource::with_client(client))
    }

    fn with_client(client: RtClient) -> RtSource {
        let base = client.http().base_url();
        let mut account = base.host_str().unwrap_or("rt").to_string();
        if let Some(p) = base.port() {
            account.push_str(&format!(":{p}"));
        }
        let path = base.path().trim_end_matches('/');
        account.push_str(path);
        RtSource { client, account }
    }

    /// The HTTP client (stats for the summary).
    pub fn http(&self) -> &Http {
        self.client.http()
    }

    /// The REST 2 client.
    pub fn client(&self) -> &RtClient {
        &self.client
    }

    fn err(&self, entity: &str, id: impl ToString, message: impl Into<String>) -> ExtractError {
        ExtractError::Source {
            platform: PLATFORM,
            entity: entity.to_string(),
            id: id.to_string(),
            message: message.into(),
        }
    }

    /// Every user's `(id, Name)`, disabled ones included.
    async fn user_list(&self) -> Result<Vec<(i64, String)>, ExtractError> {
        let items = self
            .client
            .all("users", &[("fields", "id,Name"), ("find_disabled_rows", "1"), ("orderby", "id")])
            .await?;
        let mut out: Vec<(i64, String)> = items
            .iter()
            .filter_map(|u| Some((num(&u["id"])?, u["Name"].as_str().unwrap_or("").to_string())))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn users(&self, sink: &Sink, list: &[(i64, String)]) -> Result<(), ExtractError> {
        let ids: Vec<i64> = list.iter().map(|(id, _)| *id).collect();
        let client = &self.client;
        let fetched: Vec<Option<Value>> = stream::iter(ids)
            .map(|id| async move { client.get_opt(&format!("user/{id}")).await })
            .buffered(4)
            .try_collect()
            .await?;
        let mut orgs = BTreeSet::new();
        for v in fetched.into_iter().flatten() {
            if let Some(u) = map::user(&v) {
                if let Some(o) = &u.organization_id {
                    orgs.insert(o.clone());
                }
                sink.send(Item::User(u)).await?;
            }
        }
        for o in orgs {
            sink.send(Item::Organization(map::organization(&o))).await?;
        }
        done(sink, "users", String::new()).await
    }

    async fn groups(&self, sink: &Sink) -> Result<(), ExtractError> {
        let items = self
            .client
            .all(
                "queues/all",
                &[
                    ("fields", "Name,Description,CorrespondAddress,CommentAddress,Lifecycle,SortOrder,Created,LastUpdated,Disabled"),
                    ("find_disabled_rows", "1"),
                    ("orderby", "id"),
                ],
            )
            .await?;
        for v in &items {
            if let Some(g) = map::group(v) {
                sink.send(Item::Group(g)).await?;
            }
        }
        done(sink, "groups", String::new()).await
    }

    async fn field_items(&self) -> Result<Vec<Value>, ExtractError> {
        Ok(self
            .client
            .all(
                "customfields",
                &[
                    ("query", TICKET_CF_QUERY),
                    ("fields", "Name,Description,Type,MaxValues,LookupType,Disabled,Pattern,EntryHint,SortOrder,Created,LastUpdated"),
                    ("find_disabled_rows", "1"),
                    ("orderby", "id"),
                ],
            )
            .await?)
    }

    async fn custom_fields(&self, sink: &Sink, items: &[Value]) -> Result<(), ExtractError> {
        for v in items {
            let Some(id) = num(&v["id"]) else { continue };
            let kind = v["Type"].as_str().unwrap_or("");
            let mut values = Vec::new();
            if matches!(kind, "Select" | "Combobox" | "Autocomplete") {
                // The list gives only id and name; each value's record has its description
                // (the label people see).
                let list = self.client.all(&format!("customfield/{id}/values"), &[]).await?;
                for v in &list {
                    let Some(vid) = num(&v["id"]) else { continue };
                    let full =
                        self.client.get_opt(&format!("customfield/{id}/value/{vid}")).await?;
                    values.push(full.unwrap_or_else(|| v.clone()));
                }
            }
            if let Some(f) = map::custom_field(v, &values) {
                sink.send(Item::CustomField(f)).await?;
            }
        }
        done(sink, "custom_fields", String::new()).await
    }

    async fn tickets(
        &self,
        sink: &Sink,
        resume: &Resume,
        info: &FieldInfo,
        names: &BTreeMap<String, i64>,
    ) -> Result<(), ExtractError> {
        let mut cur = match resume.cursor("tickets") {
            Some(c) => serde_json::from_str::<TicketCursor>(c)
                .map_err(|e| self.err("tickets", "cursor", format!("unreadable cursor: {e}")))?,
            None => TicketCursor { after: 0, start: Utc::now(), deleted_after: 0 },
        };
        let since = resume.since("tickets").map(str::to_string);
        // The parent's cursor as RT's SQL writes a time.
        let since_time = match &since {
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| self.err("tickets", "since", format!("parent cursor {s:?}: {e}")))?
                    .with_timezone(&Utc)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
            ),
            None => None,
        };
        let since_sql =
            since_time.as_ref().map(|t| format!(" AND LastUpdated >= '{t}'")).unwrap_or_default();
        // Deleted tickets are invisible to searches; a full run asks for the missing ids.
        let probe = since.is_none();
        let role_ids = [
            ("fields[Owner]", "id"),
            ("fields[Creator]", "id"),
            ("fields[Requestor]", "id"),
            ("fields[Cc]", "id"),
            ("fields[AdminCc]", "id"),
            ("fields[Queue]", "id"),
            ("fields[LastUpdatedBy]", "id"),
        ];
        loop {
            let query = format!("id > {}{since_sql}", cur.after);
            let mut q: Vec<(&str, &str)> = vec![
                ("query", &query),
                ("fields", TICKET_FIELDS),
                ("orderby", "id"),
                ("order", "ASC"),
            ];
            q.extend(role_ids);
            let page = self.client.page("tickets", &q, 1).await?;
            if page.items.is_empty() {
                break;
            }
            for v in &page.items {
                let id = num(&v["id"])
                    .ok_or_else(|| self.err("tickets", "page", "ticket without id"))?;
                if id <= cur.after {
                    return Err(self.err("tickets", id, "RT returned tickets out of order"));
                }
                if probe {
                    for gap in cur.after + 1..id {
                        self.probe(sink, gap, info, names).await?;
                    }
                }
                self.ticket(sink, v, info, names).await?;
                cur.after = id;
                let text = serde_json::to_string(&cur).unwrap_or_default();
                sink.send(Item::Cursor { stream: "tickets".into(), cursor: text, done: false })
                    .await?;
            }
        }
        if probe {
            let mut misses = 0;
            let mut id = cur.after + 1;
            while misses < PROBE_PAST_END {
                if self.probe(sink, id, info, names).await? {
                    misses = 0;
                    cur.after = id;
                    let text = serde_json::to_string(&cur).unwrap_or_default();
                    sink.send(Item::Cursor { stream: "tickets".into(), cursor: text, done: false })
                        .await?;
                } else {
                    misses += 1;
                }
                id += 1;
            }
        }
        if let Some(t) = &since_time {
            self.deleted_since(sink, &mut cur, t, info, names).await?;
        }
        let next = cur.start - chrono::Duration::seconds(DELTA_MARGIN_SECS);
        done(sink, "tickets", next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).await
    }

    /// A delta's second pass: the tickets deleted since the parent, each with its tombstone.
    /// REST 2's ticket searches never list a deleted ticket (not even for `Status = 'deleted'`),
    /// so the deletions are found among the transactions: a status change to `deleted` since the
    /// parent's cursor. A ticket restored since is no longer deleted and came with the first
    /// pass.
    async fn deleted_since(
        &self,
        sink: &Sink,
        cur: &mut TicketCursor,
        since: &str,
        info: &FieldInfo,
        names: &BTreeMap<String, i64>,
    ) -> Result<(), ExtractError> {
        loop {
            let query = format!(
                "ObjectType = 'RT::Ticket' AND Type = 'Status' AND NewValue = 'deleted' AND id > {} AND Created >= '{since}'",
                cur.deleted_after
            );
            let q = [
                ("query", query.as_str()),
                ("fields", "ObjectId,Created"),
                ("orderby", "id"),
                ("order", "ASC"),
            ];
            let page = self.client.page("transactions", &q, 1).await?;
            if page.items.is_empty() {
                return Ok(());
            }
            for txn in &page.items {
                let id = num(&txn["id"])
                    .ok_or_else(|| self.err("tickets", "deletions", "transaction without id"))?;
                if id <= cur.deleted_after {
                    return Err(self.err("tickets", id, "RT returned transactions out of order"));
                }
                if let Some(ticket) = num(&txn["ObjectId"]) {
                    // As the full run's probe reads a deleted ticket: the ticket itself, then its
                    // history and files; gone since (shredded): the tombstone alone.
                    let full = self.client.get_opt(&format!("ticket/{ticket}")).await?;
                    let still =
                        full.as_ref().is_none_or(|f| f["Status"].as_str() == Some("deleted"));
                    if still {
                        if let Some(full) = &full {
                            self.ticket(sink, full, info, names).await?;
                        }
                        let t = Tombstone {
                            entity: "tickets".into(),
                            id: ticket.to_string(),
                            deleted_at: super::wire::time(txn, "Created"),
                        };
                        sink.send(Item::Tombstone(t)).await?;
                    }
                }
                cur.deleted_after = id;
                let text = serde_json::to_string(&*cur).unwrap_or_default();
                sink.send(Item::Cursor { stream: "tickets".into(), cursor: text, done: false })
                    .await?;
            }
        }
    }

    /// Asks for ticket `id` directly; extracts it when it is a deleted ticket (searches never
    /// list those). True when it was one.
    async fn probe(
        &self,
        sink: &Sink,
        id: i64,
        info: &FieldInfo,
        names: &BTreeMap<String, i64>,
    ) -> Result<bool, ExtractError> {
        let v = match self.client.get_opt(&format!("ticket/{id}")).await {
            Ok(Some(v)) => v,
            Ok(None) => return Ok(false),
            // 403: a ticket this user may not see; nothing to extract.
            Err(e) if e.status() == Some(403) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        // Merged tickets answer with the ticket they were merged into; reminders are tickets
        // of another type.
        let deleted = v["Status"].as_str() == Some("deleted");
        let is_ticket = v["Type"].as_str().is_none_or(|t| t == "ticket");
        if num(&v["id"]) != Some(id) || !deleted || !is_ticket {
            return Ok(false);
        }
        self.ticket(sink, &v, info, names).await?;
        Ok(true)
    }

    /// One ticket with its messages and their files.
    async fn ticket(
        &self,
        sink: &Sink,
        v: &Value,
        info: &FieldInfo,
        names: &BTreeMap<String, i64>,
    ) -> Result<(), ExtractError> {
        let t = map::ticket(v, info, names)
            .ok_or_else(|| self.err("tickets", "?", "ticket without id"))?;
        let tid = t.id.clone();
        let history = self
            .client
            .all(
                &format!("ticket/{tid}/history"),
                &[("fields", TXN_FIELDS), ("fields[Creator]", "id"), ("orderby", "id")],
            )
            .await?;
        let parts = self
            .client
            .all(
                &format!("ticket/{tid}/attachments"),
                &[("fields", PART_FIELDS), ("orderby", "id")],
            )
            .await?;
        let body_items = self
            .client
            .all(
                &format!("ticket/{tid}/attachments"),
                &[("query", BODY_QUERY), ("fields", "Content"), ("orderby", "id")],
            )
            .await?;
        let bodies: BTreeMap<i64, String> = body_items
            .iter()
            .filter_map(|b| Some((num(&b["id"])?, b["Content"].as_str().unwrap_or("").to_string())))
            .collect();
        let mut by_txn: BTreeMap<i64, Vec<&Value>> = BTreeMap::new();
        for p in &parts {
            let txn = num(&p["TransactionId"]).or_else(|| num(&p["TransactionId"]["id"]));
            match txn {
                Some(txn) => by_txn.entry(txn).or_default().push(p),
                None => {
                    sink.send(Item::Warning(Warning::failure(
                        "attachments",
                        num(&p["id"]).map(|n| n.to_string()),
                        format!("ticket {tid}: MIME part without a transaction; skipped"),
                    )))
                    .await?
                }
            }
        }
        sink.send(Item::Ticket(t)).await?;

        let mut txns: Vec<&Value> = history.iter().collect();
        txns.sort_by_key(|h| num(&h["id"]).unwrap_or(0));
        let mut files = Vec::new();
        for h in txns {
            let Some(txn_id) = num(&h["id"]) else { continue };
            let tparts = by_txn.get(&txn_id).map(Vec::as_slice).unwrap_or(&[]);
            if !map::is_message(h, tparts.len()) {
                continue;
            }
            let msg = map::split_parts(tparts);
            let c = map::comment(h, &tid, &msg, &bodies, names)
                .ok_or_else(|| self.err("comments", txn_id, "transaction without id"))?;
            for f in &msg.files {
                if let (Some(a), Some(pid)) = (map::attachment(f, &tid, &c.id), num(&f["id"])) {
                    let url = self.client.http().url(&map::download_path(txn_id, pid))?;
                    files.push((a, url.to_string()));
                }
            }
            sink.send(Item::Comment(c)).await?;
        }
        let http = self.client.http();
        stream::iter(files)
            .map(|(a, url)| async move { sink.attachment(http, BUCKET, a, &url).await })
            .buffer_unordered(3)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

async fn done(sink: &Sink, stream: &str, cursor: String) -> Result<(), ExtractError> {
    sink.send(Item::Cursor { stream: stream.into(), cursor, done: true }).await
}

impl Source for RtSource {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    async fn check(&self) -> Result<(), ExtractError> {
        let about = self.client.get("rt", &[]).await?;
        let version = about["Version"].as_str().unwrap_or("");
        if !version.starts_with('5') {
            return Err(self.err(
                "rt",
                "version",
                format!("expected Request Tracker 5, found {version:?}"),
            ));
        }
        // Searching tickets needs more than a valid token.
        self.client.page("tickets", &[("query", "id < 0")], 1).await?;
        Ok(())
    }

    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let list = self.user_list().await?;
        let names: BTreeMap<String, i64> = list.iter().map(|(id, n)| (n.clone(), *id)).collect();
        if !resume.is_done("users") {
            self.users(sink, &list).await?;
        }
        if !resume.is_done("groups") {
            self.groups(sink).await?;
        }
        let cf_items = self.field_items().await?;
        let info = FieldInfo::from_items(&cf_items);
        if !resume.is_done("custom_fields") {
            self.custom_fields(sink, &cf_items).await?;
        }
        if !resume.is_done("tickets") {
            self.tickets(sink, resume, &info, &names).await?;
        }
        Ok(())
    }
}
