//! One conversation: created with every thread that fits (`imported: true`, each with its
//! author, original time and files), its tags, field values, CCs, status and assignee; updated
//! (tags, fields, status) when it exists already and threads added one by one; moved to the
//! trash when deleted.

use std::collections::HashMap;

use deskferry_extractor::http::Request;
use deskferry_extractor::platforms::helpscout::client::DEFAULT;
use serde_json::{Map, Value, json};

use super::load::{HelpScoutTarget, http, http_into, id_of, other};
use super::map::{self, By};
use super::options::MAX_THREADS;
use crate::error::WriteError;
use crate::target::{
    MappedComment, MappedTicket, Posted, Written, after_failed, post_unless_found,
};

/// A thread ready to send and what it cost.
struct Prepared {
    body: Value,
    /// What the record lost (files over the limit, a note credited to another author).
    lost: Vec<String>,
}

impl HelpScoutTarget {
    /// The conversation's customer as a write names it: its id, else its email.
    fn customer_ref(t: &MappedTicket) -> Option<Value> {
        let r = &t.requester;
        match (&r.target_id, &r.email) {
            (Some(id), _) if !r.is_agent => Some(json!({ "id": map::num(id) })),
            (_, Some(e)) => Some(json!({ "email": e })),
            (Some(id), None) => Some(json!({ "id": map::num(id) })),
            _ => None,
        }
    }

    /// One thread of `c`, by its author (a user for replies and notes; the application's user
    /// stands in for a note by a customer).
    async fn prepare(
        &self,
        c: &MappedComment,
        customer: &Value,
        cc: &[String],
        reference: bool,
    ) -> Result<Prepared, WriteError> {
        let (files, mut lost) = map::attachments(&c.attachments, self.opts.max_attachment_bytes);
        let by = if c.author.is_agent {
            match &c.author.target_id {
                Some(u) => By::User(u.clone()),
                None => By::User(self.me().await?),
            }
        } else if c.public {
            match (&c.author.target_id, &c.author.email) {
                (Some(id), _) => By::Customer(json!({ "id": map::num(id) })),
                (None, Some(e)) => By::Customer(json!({ "email": e })),
                (None, None) => By::Customer(customer.clone()),
            }
        } else {
            lost.push(
                "Help Scout's notes are by users: this customer's note is credited to the application's user".into(),
            );
            By::User(self.me().await?)
        };
        let mut body = map::thread(c, &by, customer, files, cc, reference);
        if !c.public && !c.author.is_agent {
            let who =
                c.author.name.as_deref().or(c.author.email.as_deref()).unwrap_or("a customer");
            if let Some(t) = body["text"].as_str() {
                body["text"] = json!(format!("<p><em>Note by {who}</em></p>{t}"));
            }
        }
        Ok(Prepared { body, lost })
    }

    /// The CC addresses of a ticket (its CCs' emails, where they are at Help Scout): the
    /// bundle's, else (a delta naming a person of an earlier bundle) the customer's.
    async fn cc_of(&self, t: &MappedTicket) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in &t.ticket.cc_ids {
            let Some(target) = self.known("users", id) else { continue };
            let bundle = t.emails.get(id).cloned();
            let e = match bundle {
                Some(e) => Some(e),
                None => self.email_of(&target).await,
            };
            if let Some(e) = e
                && !out.iter().any(|x| x.eq_ignore_ascii_case(&e))
            {
                out.push(e);
            }
        }
        out
    }

    /// Field values for `mailbox`, and what could not be written.
    fn fields_for(&self, mailbox: &str, t: &MappedTicket) -> (Vec<Value>, Vec<String>) {
        let defs = self.mailbox_fields(mailbox);
        let (mut out, mut lost) = (Vec::new(), Vec::new());
        for (name, values) in &t.fields {
            match defs.iter().find(|f| f.name.eq_ignore_ascii_case(name) || f.id == *name) {
                Some(f) => match map::field_value(f, values) {
                    Ok(v) => out.push(v),
                    Err(why) => lost.push(format!("field value not written: {why}")),
                },
                None => lost.push(format!("mailbox {mailbox} has no field {name:?}")),
            }
        }
        (out, lost)
    }

    /// The tags a conversation carries: the mapping's, spam's, and the marker.
    fn tags_of(t: &MappedTicket) -> Vec<String> {
        let mut tags = t.tags.clone();
        if t.ticket.is_spam && !tags.iter().any(|x| x == "spam") {
            tags.push("spam".into());
        }
        tags.push(map::marker_tag(&t.external_id));
        tags
    }

    /// The private note holding fields without a mailbox field.
    fn fields_note(&self, t: &MappedTicket, user: &str) -> Value {
        let items: Vec<String> =
            t.note_fields.iter().map(|(k, v)| format!("<li>{k}: {v}</li>")).collect();
        let mut m = Map::new();
        m.insert("type".into(), json!("note"));
        m.insert("user".into(), map::num(user));
        m.insert(
            "text".into(),
            json!(format!(
                "<p>Fields from the source:</p><ul>{}</ul>{}",
                items.join(""),
                map::reference_line(&format!("{}-fields", t.external_id))
            )),
        );
        m.insert("imported".into(), json!(true));
        if let Some(c) = &t.ticket.created_at {
            m.insert("createdAt".into(), json!(map::time(c)));
        }
        Value::Object(m)
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_conversation(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        new: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let src = &t.ticket.id;
        let mailbox = self.mailbox_for(t).await?;
        let customer = Self::customer_ref(t).ok_or_else(|| {
            other("tickets", src, "no requester Help Scout can take (a customer, or an email)")
        })?;
        let status = map::status(t.status.as_deref(), t.ticket.status);
        let (fields, mut lost) = self.fields_for(&mailbox, t);
        if t.ticket.is_spam {
            lost.push(
                "spam: written closed with the tag spam (a conversation cannot be created as spam)"
                    .into(),
            );
        }
        let tags = Self::tags_of(t);
        let cc = self.cc_of(t).await;
        let mut outcomes: Vec<Result<Written, WriteError>> = Vec::new();
        let (id, rest) = match prior {
            Some(id) => {
                // Tags, fields and status as the bundle has them now.
                let base = format!("/v2/conversations/{id}");
                let reqs = [
                    Request::put_json(DEFAULT, &format!("{base}/tags"), json!({ "tags": tags })),
                    Request::put_json(
                        DEFAULT,
                        &format!("{base}/fields"),
                        json!({ "fields": fields }),
                    ),
                    Request::patch_json(
                        DEFAULT,
                        &base,
                        json!({ "op": "replace", "path": "/status", "value": status }),
                    ),
                ];
                for r in reqs {
                    self.send(r.retry_unsafe()).await.map_err(http("tickets", src))?;
                }
                (id.to_string(), new)
            }
            None => {
                // Help Scout holds 100 threads: beyond, the last one is a note holding the
                // text of every message that does not fit (their files are not uploaded).
                let room = MAX_THREADS - usize::from(!t.note_fields.is_empty());
                let fits = if new.len() > room { room - 1 } else { new.len() };
                let (now, later) = new.split_at(fits);
                let mut threads = Vec::new();
                let mut costs = Vec::new();
                for (i, c) in now.iter().enumerate() {
                    let p =
                        self.prepare(c, &customer, if i == 0 { &cc } else { &[] }, false).await?;
                    threads.push(p.body);
                    costs.push(p.lost);
                }
                let with_note = !t.note_fields.is_empty() && threads.len() < MAX_THREADS;
                if with_note || threads.is_empty() {
                    // A conversation needs one thread: the fields note, or a placeholder note.
                    let me = self.me().await?;
                    let mut note = self.fields_note(t, &me);
                    if !with_note {
                        note["text"] = json!(format!(
                            "<p>(This ticket had no messages at the source.)</p>{}",
                            map::reference_line(&format!("{}-opening", t.external_id))
                        ));
                    }
                    threads.push(note);
                }
                if !later.is_empty() {
                    let me = self.me().await?;
                    threads.push(map::overflow_note(t, later, &me));
                }
                let mut body = Map::new();
                body.insert("subject".into(), json!(t.subject));
                body.insert("customer".into(), customer.clone());
                body.insert("mailboxId".into(), map::num(&mailbox));
                body.insert(
                    "type".into(),
                    json!(map::conversation_type(t.ticket.channel.as_deref())),
                );
                body.insert("status".into(), json!(status));
                body.insert("imported".into(), json!(true));
                if let Some(c) = &t.ticket.created_at {
                    body.insert("createdAt".into(), json!(map::time(c)));
                }
                if status == "closed"
                    && let Some(c) = t.ticket.solved_at.or(t.ticket.updated_at)
                {
                    body.insert("closedAt".into(), json!(map::time(&c)));
                }
                // Explicitly unassigned unless assigned: else the mailbox's rules may assign it.
                body.insert(
                    "assignTo".into(),
                    t.assignee.as_deref().map(map::num).unwrap_or(Value::Null),
                );
                body.insert("tags".into(), json!(tags));
                if !fields.is_empty() {
                    body.insert("fields".into(), Value::Array(fields.clone()));
                }
                body.insert("threads".into(), Value::Array(threads));
                let body = Value::Object(body);
                let posted = post_unless_found(
                    || self.create(Request::post_json(DEFAULT, "/v2/conversations", body.clone())),
                    || self.find_by_marker(t),
                    http_into("tickets", src),
                )
                .await?;
                let (id, found) = match posted {
                    Posted::Answered(id) => (id, false),
                    Posted::Found(id) => (id, true),
                };
                for (c, cost) in now.iter().zip(costs) {
                    let tid = format!("{id}:{}", c.external_id);
                    outcomes.push(Ok(if cost.is_empty() {
                        Written::Migrated(tid)
                    } else {
                        Written::Limited(tid, cost.join("; "))
                    }));
                }
                for c in later {
                    outcomes.push(Ok(Written::Skipped(format!(
                        "Help Scout holds at most {MAX_THREADS} threads per conversation: comment {} is not a thread of its own; its author, time and text are in the conversation's last note (its files are not uploaded)",
                        c.comment.id
                    ))));
                }
                let _ = found;
                (id, &new[new.len()..])
            }
        };
        // Threads after the conversation. Those already there are not added again: a thread
        // added by an earlier, interrupted run is found by its reference line, and one written
        // with its conversation (a create whose answer was lost before the ledger took it) by
        // its original time and visibility, which an imported thread keeps.
        let (present, mut unmarked, count) = if rest.is_empty() {
            (HashMap::new(), Vec::new(), 0)
        } else {
            self.references(&id).await?
        };
        let mut failed: Option<String> = None;
        let mut held = count;
        for c in rest {
            if let Some(first) = &failed {
                outcomes.push(Err(after_failed(&c.comment.id, first, "thread", "Help Scout")));
                continue;
            }
            if let Some(tid) = present.get(&c.external_id) {
                outcomes.push(Ok(Written::Matched(tid.clone())));
                continue;
            }
            let key = (c.created_at.map(|t| t.timestamp()), c.public);
            if let Some(i) = unmarked.iter().position(|(k, _)| *k == key && key.0.is_some()) {
                let (_, tid) = unmarked.remove(i);
                outcomes.push(Ok(Written::Matched(tid)));
                continue;
            }
            if held >= MAX_THREADS {
                outcomes.push(Ok(Written::Skipped(format!(
                    "Help Scout holds at most {MAX_THREADS} threads per conversation: not added"
                ))));
                continue;
            }
            let r = self.post_thread(&id, c, &customer).await;
            match &r {
                Err(e) if e.is_fatal() => {
                    return Err(r
                        .err()
                        .unwrap_or_else(|| other("comments", &c.comment.id, "failed")));
                }
                Err(_) => failed = Some(c.comment.id.clone()),
                Ok(_) => held += 1,
            }
            outcomes.push(r);
        }
        if t.ticket.is_deleted {
            match self.send(Request::delete(DEFAULT, &format!("/v2/conversations/{id}"))).await {
                Ok(_) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(http("tickets", src)(e)),
            }
            lost.push("deleted at the source: moved to Help Scout's trash".into());
        }
        let written = if lost.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, lost.join("; "))
        };
        Ok((written, outcomes))
    }

    /// Adds one thread to conversation `id` unless it shows there already.
    async fn post_thread(
        &self,
        id: &str,
        c: &MappedComment,
        customer: &Value,
    ) -> Result<Written, WriteError> {
        let p = self.prepare(c, customer, &[], true).await?;
        let path = match p.body["type"].as_str() {
            Some("customer") => format!("/v2/conversations/{id}/customer"),
            Some("reply") => format!("/v2/conversations/{id}/reply"),
            _ => format!("/v2/conversations/{id}/notes"),
        };
        let posted = post_unless_found(
            || self.create(Request::post_json(DEFAULT, &path, p.body.clone())),
            || async {
                let (refs, _, _) = self.references(id).await?;
                Ok(refs.get(&c.external_id).cloned())
            },
            http("comments", &c.comment.id),
        )
        .await?;
        let tid = match posted {
            Posted::Answered(t) | Posted::Found(t) => t,
        };
        Ok(if p.lost.is_empty() {
            Written::Migrated(tid)
        } else {
            Written::Limited(tid, p.lost.join("; "))
        })
    }

    /// The references of a conversation's threads (reference → thread id), its threads without
    /// one ((time, public) → thread id), and how many threads it holds.
    #[allow(clippy::type_complexity)]
    pub(super) async fn references(
        &self,
        id: &str,
    ) -> Result<(HashMap<String, String>, Vec<((Option<i64>, bool), String)>, usize), WriteError>
    {
        let threads = self.threads_of(id).await?;
        let mut refs = HashMap::new();
        let mut unmarked = Vec::new();
        for t in &threads {
            let Some(tid) = id_of(&t["id"]) else { continue };
            match t["body"].as_str().and_then(map::reference) {
                Some(r) => {
                    refs.insert(r, tid);
                }
                None => {
                    let at = deskferry_extractor::platforms::helpscout::map::time(
                        t["createdAt"].as_str(),
                    )
                    .map(|t| t.timestamp());
                    unmarked.push(((at, t["type"] != "note"), tid));
                }
            }
        }
        Ok((refs, unmarked, threads.len()))
    }
}
