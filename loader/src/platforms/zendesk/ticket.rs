//! One ticket: its files uploaded first (`uploads`, one token per comment), then the ticket
//! with all its comments through the Ticket Import API, gathered with others into
//! `imports/tickets/create_many` (≤ 100 a request, a job); or, for a ticket migrated earlier
//! (a delta), a ticket update per new comment.
//!
//! The import API does not de-duplicate: a ticket whose import ended in doubt (the answer lost,
//! the job not seen to its end) is looked for by its external id before it is imported again.

use deskferry_extractor::http::{Part, Request};
use deskferry_extractor::platforms::zendesk::client::DEFAULT;
use serde_json::{Value, json};

use super::load::{ZendeskTarget, dup, http, in_doubt, num, other};
use super::map::{self, TicketRefs};
use super::people::job_outcome;
use super::read::query_escape;
use crate::error::WriteError;
use crate::target::{
    AttachmentData, MappedComment, MappedTicket, Posted, Written, post_unless_found,
};

/// Comments one ticket holds at Zendesk (the import API refuses more).
pub const MAX_COMMENTS: usize = 5_000;

/// The text a comment carries where Zendesk cannot keep its original time (a comment added
/// by a delta's update); `read.rs` reads the time back from it.
pub const ORIGINALLY: &str = "Originally posted at ";

/// The text that marks the loader's custom-field note (its external id follows).
pub const FIELDS_NOTE: &str = "deskferry-fields:";

/// One ticket of a bulk import.
pub(crate) struct ImportItem {
    source_id: String,
    external_id: String,
    body: Value,
}

/// One file name as Zendesk takes it in `uploads?filename=` (no control characters).
fn clean_name(name: &str) -> String {
    let n: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if n.trim().is_empty() { "file".into() } else { n }
}

impl ZendeskTarget {
    /// Uploads one comment's files under one token; the token (none without files).
    async fn upload_all(
        &self,
        files: &[AttachmentData],
        ticket: &str,
    ) -> Result<Vec<String>, WriteError> {
        let mut token: Option<String> = None;
        for f in files {
            let name = clean_name(&f.file_name);
            let mut path = format!("/api/v2/uploads.json?filename={}", query_escape(&name));
            if let Some(t) = &token {
                path.push_str(&format!("&token={}", query_escape(t)));
            }
            let ct = f.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
            let part = Part {
                name: "uploaded_data".into(),
                file: Some((name.clone(), ct)),
                bytes: f.bytes.clone(),
            };
            let v = self
                .send(Request::multipart(DEFAULT, &path, vec![part]))
                .await
                .map_err(http("attachments", &f.id))?;
            let t = v
                .pointer("/upload/token")
                .and_then(Value::as_str)
                .ok_or_else(|| other("tickets", ticket, "the upload answered no token"))?;
            token = Some(t.to_string());
        }
        Ok(token.into_iter().collect())
    }

    /// A user's Zendesk id: the mapped one, else the one the ledger knows.
    fn user_id(&self, mapped: Option<&str>, source: Option<&str>) -> Option<u64> {
        mapped
            .and_then(num)
            .or_else(|| source.and_then(|s| self.known("users", s)).as_deref().and_then(num))
    }

    /// The people, organization and field values of a ticket, with what a stand-in cost.
    async fn refs(
        &self,
        t: &MappedTicket,
        notes: &mut Vec<String>,
    ) -> Result<TicketRefs, WriteError> {
        let x = &t.ticket;
        let requester =
            match self.user_id(t.requester.target_id.as_deref(), x.requester_id.as_deref()) {
                Some(r) => r,
                None => {
                    notes.push("the requester is not at Zendesk; the API user stands in".into());
                    self.me().await?
                }
            };
        let many = |ids: &[String]| -> Vec<u64> {
            let mut v: Vec<u64> = ids.iter().filter_map(|i| self.user_id(None, Some(i))).collect();
            v.dedup();
            v
        };
        let (ccs, followers) = (many(&x.cc_ids), many(&x.follower_ids));
        if ccs.len() < x.cc_ids.len() || followers.len() < x.follower_ids.len() {
            notes.push("CCs or followers not at Zendesk were left out".into());
        }
        let fields = self.field_ids().await?;
        let mut custom_fields = Vec::new();
        let mut ticket_type = None;
        for (name, values) in &t.fields {
            if name.eq_ignore_ascii_case("type") || name == map::TYPE_FIELD {
                ticket_type = values
                    .first()
                    .map(|v| v.to_lowercase())
                    .filter(|v| map::TICKET_TYPES.contains(&v.as_str()));
                continue;
            }
            if let Some((id, ty)) = fields.get(&name.to_lowercase()) {
                custom_fields.push(json!({ "id": id, "value": map::field_value(ty, values) }));
            }
        }
        Ok(TicketRefs {
            requester,
            submitter: self.user_id(None, x.submitter_id.as_deref()),
            assignee: t.assignee.as_deref().and_then(num),
            organization: x
                .organization_id
                .as_deref()
                .and_then(|o| self.known("organizations", o))
                .as_deref()
                .and_then(num),
            ccs,
            followers,
            custom_fields,
            ticket_type,
        })
    }

    /// A comment's author at Zendesk; the API user where they are not there (noted).
    async fn author(&self, c: &MappedComment, notes: &mut Vec<String>) -> Result<u64, WriteError> {
        match self.user_id(c.author.target_id.as_deref(), c.comment.author_id.as_deref()) {
            Some(a) => Ok(a),
            None => {
                if !c.author.defaulted {
                    notes.push("the author is not at Zendesk; the API user stands in".into());
                }
                self.me().await
            }
        }
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_ticket_impl(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        if prior.is_none() && (t.ticket.is_deleted || t.ticket.is_spam) {
            let why = "deleted or spam at the source: Zendesk's import API creates live tickets only, so it is not loaded";
            let per = comments.iter().map(|_| Ok(Written::Skipped(why.into()))).collect();
            return Ok((Written::Skipped(why.into()), per));
        }
        // Until it joins its import batch, this ticket is one the batch waits for.
        let preparing = super::bulk::Preparing::new(&self.preparing);
        let mut notes = Vec::new();
        let refs = self.refs(t, &mut notes).await?;
        match prior {
            Some(id) => {
                drop(preparing);
                self.update(t, id, &refs, comments, notes).await
            }
            None => self.import(t, &refs, comments, notes, preparing).await,
        }
    }

    async fn import(
        &self,
        t: &MappedTicket,
        refs: &TicketRefs,
        comments: &[MappedComment],
        mut notes: Vec<String>,
        preparing: super::bulk::Preparing<'_>,
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let sid = t.ticket.id.as_str();
        if comments.len() > MAX_COMMENTS {
            return Err(WriteError::Unsupported {
                entity: "tickets".into(),
                source_id: sid.into(),
                reason: format!(
                    "{} comments; Zendesk's import API takes at most {MAX_COMMENTS} a ticket",
                    comments.len()
                ),
            });
        }
        let mut bodies = Vec::with_capacity(comments.len() + 1);
        let mut per_notes: Vec<Vec<String>> = Vec::with_capacity(comments.len());
        for c in comments {
            let mut n = Vec::new();
            let author = self.author(c, &mut n).await?;
            let uploads = self.upload_all(&c.attachments, sid).await?;
            bodies.push(map::import_comment(c, author, &uploads));
            per_notes.push(n);
        }
        if bodies.is_empty() {
            // Zendesk's ticket opens with its first comment (the description).
            let me = self.me().await?;
            bodies.push(json!({ "author_id": me, "html_body": "<p>(imported without messages)</p>", "public": true }));
            notes.push("a ticket without messages opens with a placeholder comment".into());
        }
        if !t.note_fields.is_empty() {
            let me = self.me().await?;
            let body = format!(
                "{}<p>{FIELDS_NOTE}{}</p>",
                map::fields_note(&t.note_fields),
                t.external_id
            );
            let mut n = json!({ "author_id": me, "html_body": body, "public": false });
            if let Some(at) = t.ticket.created_at.as_ref() {
                n["created_at"] = json!(map::iso(at));
            }
            bodies.push(n);
        }
        let item = ImportItem {
            source_id: sid.to_string(),
            external_id: t.external_id.clone(),
            body: map::import_ticket(t, refs, bodies),
        };
        drop(preparing);
        let id = self
            .tickets_batch
            .submit(item, &self.preparing, |items| self.flush_imports(items))
            .await
            .unwrap_or_else(|| Err(other("tickets", sid, "the bulk import gave no outcome")))?;
        let per = per_notes
            .into_iter()
            .map(|n| {
                Ok(if n.is_empty() {
                    Written::Migrated(id.clone())
                } else {
                    Written::Limited(id.clone(), n.join("; "))
                })
            })
            .collect();
        let w = if notes.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, notes.join("; "))
        };
        Ok((w, per))
    }

    fn import_path(&self, many: bool) -> String {
        let base = if many {
            "/api/v2/imports/tickets/create_many.json"
        } else {
            "/api/v2/imports/tickets.json"
        };
        if self.opts.archive_immediately {
            format!("{base}?archive_immediately=true")
        } else {
            base.to_string()
        }
    }

    /// One ticket through `imports/tickets`, looked for by its external id before any repeat.
    async fn import_one(&self, item: &ImportItem) -> Result<String, WriteError> {
        let path = self.import_path(false);
        let got = post_unless_found(
            || self.send(Request::post_json(DEFAULT, &path, json!({ "ticket": item.body }))),
            || self.find_by_external_id(&item.external_id, &item.source_id),
            http("tickets", &item.source_id),
        )
        .await?;
        match got {
            Posted::Found(id) => Ok(id),
            Posted::Answered(v) => {
                v.pointer("/ticket/id").and_then(Value::as_u64).map(|n| n.to_string()).ok_or_else(
                    || other("tickets", &item.source_id, "the import answered no ticket id"),
                )
            }
        }
    }

    /// A ticket whose bulk import ended in doubt: found by its external id, else imported alone.
    async fn recover(&self, item: &ImportItem) -> Result<String, WriteError> {
        match self.find_by_external_id(&item.external_id, &item.source_id).await? {
            Some(id) => Ok(id),
            None => self.import_one(item).await,
        }
    }

    async fn flush_imports(&self, items: Vec<ImportItem>) -> Vec<Result<String, WriteError>> {
        if items.len() == 1 {
            return vec![self.import_one(&items[0]).await];
        }
        let body = json!({ "tickets": items.iter().map(|i| i.body.clone()).collect::<Vec<_>>() });
        let answer = match self
            .send(Request::post_json(DEFAULT, &self.import_path(true), body))
            .await
        {
            Ok(a) => a,
            Err(e) if in_doubt(&e) => {
                let mut out = Vec::with_capacity(items.len());
                for i in &items {
                    out.push(self.recover(i).await);
                }
                return out;
            }
            Err(e) => {
                return items.iter().map(|i| Err(http("tickets", &i.source_id)(dup(&e)))).collect();
            }
        };
        let results = self.job(&answer).await.unwrap_or_default();
        let mut out: Vec<Option<Result<String, WriteError>>> = items.iter().map(|_| None).collect();
        for (pos, r) in results.iter().enumerate() {
            let (i, o) = job_outcome(pos, r);
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(o.map(|(id, _)| id.to_string()).map_err(|m| WriteError::Rejected {
                    entity: "tickets".into(),
                    source_id: items[i].source_id.clone(),
                    message: m,
                }));
            }
        }
        let mut done = Vec::with_capacity(items.len());
        for (i, o) in out.into_iter().enumerate() {
            done.push(match o {
                Some(o) => o,
                // The job's end was not seen: the ticket may be there.
                None => self.recover(&items[i]).await,
            });
        }
        done
    }

    /// A migrated ticket brought up to date (a delta): one update per new comment (Zendesk adds
    /// one comment an update, dated by the update; the original time heads it), the first
    /// carrying the ticket's changes, or one update without a comment. A ticket Zendesk closed
    /// cannot be updated: its changes and comments are reported, not written.
    async fn update(
        &self,
        t: &MappedTicket,
        id: &str,
        refs: &TicketRefs,
        comments: &[MappedComment],
        notes: Vec<String>,
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let sid = t.ticket.id.as_str();
        let path = format!("/api/v2/tickets/{id}.json");
        let closed = |e: &deskferry_extractor::http::HttpError| {
            e.status() == Some(422) && e.to_string().contains("closed prevents ticket update")
        };
        const CLOSED: &str =
            "the ticket is closed at Zendesk, which keeps closed tickets unchangeable; not written";
        if comments.is_empty() {
            let body = map::update_ticket(t, refs, None);
            return match self.send(Request::put_json(DEFAULT, &path, body)).await {
                Ok(_) if notes.is_empty() => Ok((Written::Migrated(id.into()), Vec::new())),
                Ok(_) => Ok((Written::Limited(id.into(), notes.join("; ")), Vec::new())),
                Err(e) if closed(&e) => {
                    Ok((Written::Limited(id.into(), format!("its changes: {CLOSED}")), Vec::new()))
                }
                Err(e) => Err(http("tickets", sid)(e)),
            };
        }
        // A ticket found after a crash (its import's answer lost, or the run killed before the
        // ledger took it) holds its comments already, with their original times, which an
        // added comment never has: those are taken as written, not added again.
        let there = self.client.ticket_comments(id).await.map_err(http("tickets", sid))?;
        let imported = |c: &MappedComment| {
            let want = c.created_at.map(|t| t.timestamp());
            want.is_some()
                && there.iter().any(|x| {
                    x.get("public").and_then(Value::as_bool) == Some(c.public)
                        && deskferry_extractor::platforms::zendesk::map::ts(
                            x.get("created_at").and_then(Value::as_str),
                        )
                        .map(|t| t.timestamp())
                            == want
                })
        };
        let mut per = Vec::with_capacity(comments.len());
        let mut ticket = Written::Migrated(id.into());
        let mut failed: Option<String> = None;
        let mut first = true;
        for c in comments {
            if imported(c) {
                per.push(Ok(Written::Matched(id.into())));
                continue;
            }
            let k = if first { 0 } else { 1 };
            first = false;
            if let Some(first) = &failed {
                per.push(Err(crate::target::after_failed(
                    &c.comment.id,
                    first,
                    "comment",
                    "Zendesk",
                )));
                continue;
            }
            let mut n = Vec::new();
            let author = self.author(c, &mut n).await?;
            let uploads = match self.upload_all(&c.attachments, sid).await {
                Ok(u) => u,
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    failed = Some(c.comment.id.clone());
                    per.push(Err(e));
                    continue;
                }
            };
            let mut body = map::import_comment(c, author, &uploads);
            if let (Some(at), Some(o)) = (c.created_at.as_ref(), body.as_object_mut()) {
                o.remove("created_at");
                let html =
                    o.get("html_body").and_then(Value::as_str).unwrap_or_default().to_string();
                o.insert(
                    "html_body".into(),
                    json!(format!("<p><em>{ORIGINALLY}{}</em></p>\n{html}", map::iso(at))),
                );
            }
            let req = if k == 0 {
                map::update_ticket(t, refs, Some(body))
            } else {
                json!({ "ticket": { "comment": body } })
            };
            // A comment has no key: an update whose answer was lost is looked for by its text
            // before it is sent again.
            let marker =
                format!("{ORIGINALLY}{}", c.created_at.as_ref().map(map::iso).unwrap_or_default());
            let got = post_unless_found(
                || self.send(Request::put_json(DEFAULT, &path, req.clone())),
                || self.comment_with(id, &marker, sid),
                http("comments", &c.comment.id),
            )
            .await;
            match got {
                Ok(_) => {
                    n.push("Zendesk dates a comment added to a migrated ticket by the update; its original time heads the comment".into());
                    per.push(Ok(Written::Limited(id.into(), n.join("; "))));
                }
                Err(WriteError::Rejected { message, .. })
                    if message.contains("closed prevents ticket update") =>
                {
                    if k == 0 {
                        ticket = Written::Limited(id.into(), format!("its changes: {CLOSED}"));
                    }
                    per.push(Err(WriteError::Unsupported {
                        entity: "comments".into(),
                        source_id: c.comment.id.clone(),
                        reason: CLOSED.into(),
                    }));
                }
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    failed = Some(c.comment.id.clone());
                    per.push(Err(e));
                }
            }
        }
        if !notes.is_empty() && matches!(ticket, Written::Migrated(_)) {
            ticket = Written::Limited(id.into(), notes.join("; "));
        }
        Ok((ticket, per))
    }

    /// The id of a comment of ticket `id` holding `marker`, if any.
    async fn comment_with(
        &self,
        id: &str,
        marker: &str,
        sid: &str,
    ) -> Result<Option<String>, WriteError> {
        let comments = self.client.ticket_comments(id).await.map_err(http("tickets", sid))?;
        Ok(comments
            .iter()
            .find(|c| {
                ["html_body", "body"]
                    .iter()
                    .any(|k| c.get(*k).and_then(Value::as_str).is_some_and(|b| b.contains(marker)))
            })
            .and_then(|c| c.get("id").and_then(Value::as_u64))
            .map(|n| n.to_string()))
    }
}
