//! One ticket: created with its first message (`POST /v1/tickets`: its author, `sent_at`,
//! `note`, state, tags with the marker, mailbox, assignee; nothing mailed or notified), every
//! later message and note by its author with its `sent_at`, files through the uploader (one
//! request per message, 25 files each), and one private note with what Groove's tickets cannot
//! hold (fields, CCs).

use deskferry_extractor::platforms::groove::client::{esc, id_from_href};
use serde_json::{Map, Value, json};

use super::load::{GrooveTarget, http, http_into, other};
use super::map::{self, As};
use super::options::MAX_FILES;
use crate::error::WriteError;
use crate::target::{
    MappedComment, MappedTicket, Posted, Written, after_failed, post_unless_found,
};

fn outcome(id: String, lost: Vec<String>) -> Written {
    if lost.is_empty() { Written::Migrated(id) } else { Written::Limited(id, lost.join("; ")) }
}

impl GrooveTarget {
    /// The ticket's customer: its requester's address, else the first person with an address
    /// who wrote in it; with how Groove is to be told of them ([`map::party`]).
    fn customer_of(t: &MappedTicket, new: &[MappedComment]) -> Option<(String, Value)> {
        let r = &t.requester;
        if !r.is_agent
            && let Some(e) = &r.email
        {
            return Some((e.clone(), map::party(r)));
        }
        new.iter()
            .map(|c| &c.author)
            .find(|a| !a.is_agent && a.email.is_some())
            .map(|a| (a.email.clone().unwrap_or_default(), map::party(a)))
    }

    /// Who `c` is written as.
    async fn as_of(&self, c: &MappedComment, customer: &str) -> Result<As, WriteError> {
        let d = self.default_agent().await?;
        map::author_as(&c.author, d.as_deref(), customer).ok_or_else(|| {
            other(
                "comments",
                &c.comment.id,
                "no Groove agent can write it: the account has no agent",
            )
        })
    }

    /// The CC addresses of a ticket (its CCs' addresses, where they are at Groove): the
    /// bundle's, else (a delta naming a person of an earlier bundle) the contact's.
    async fn cc_of(&self, t: &MappedTicket) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in &t.ticket.cc_ids {
            let Some(target) = self.known("users", id) else { continue };
            let e = match t.emails.get(id).cloned() {
                Some(e) => Some(e),
                None => match self.read_contact(&target).await {
                    Ok(crate::target::Readback::Found(u)) => u.emails.first().cloned(),
                    _ => None,
                },
            };
            if let Some(e) = e
                && !out.iter().any(|x| x.eq_ignore_ascii_case(&e))
            {
                out.push(e);
            }
        }
        out
    }

    /// Uploads `c`'s files to message `message`, 25 a request: what could not be uploaded.
    async fn upload_files(
        &self,
        message: &str,
        c: &MappedComment,
    ) -> Result<Vec<String>, WriteError> {
        let mut lost = Vec::new();
        let max = self.opts.max_attachment_bytes;
        let mut files = Vec::new();
        for a in &c.attachments {
            let n = a.bytes.len() as u64;
            if n > max {
                lost.push(format!(
                    "{} ({n} bytes) not uploaded: over Groove's {} MB per file",
                    a.file_name,
                    max / (1024 * 1024)
                ));
                continue;
            }
            let ct = a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
            let name = map::clean_name(&a.file_name);
            if name != a.file_name {
                lost.push(format!(
                    "{name:?} was named {:?} (control characters replaced)",
                    a.file_name
                ));
            }
            files.push((name, ct, a.bytes.clone()));
        }
        for chunk in files.chunks(MAX_FILES) {
            let results = self
                .client
                .upload(message, chunk)
                .await
                .map_err(http("attachments", &c.comment.id))?;
            for r in results {
                if r["success"] == false {
                    let why: Vec<String> = r["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.as_str().map(str::to_string))
                        .collect();
                    lost.push(format!(
                        "{} not uploaded: Groove answered {}",
                        r["filename"].as_str().unwrap_or("a file"),
                        why.join(", ")
                    ));
                }
            }
        }
        Ok(lost)
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_conversation(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        new: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let src = &t.ticket.id;
        if t.ticket.is_deleted && prior.is_none() {
            let why = "deleted at the source: not loaded (Groove's v1 API deletes no ticket)";
            let each = new.iter().map(|_| Ok(Written::Skipped(why.into()))).collect();
            return Ok((Written::Skipped(why.into()), each));
        }
        let (mailbox, mailbox_email) = self.mailbox_for(t).await?;
        let mut lost: Vec<String> = Vec::new();
        let (customer, customer_party) = match Self::customer_of(t, new) {
            Some(c) => c,
            None => {
                // Groove's tickets need a customer's address: one that can never be delivered
                // (the reserved .invalid domain) stands in, named and reported.
                lost.push("neither its requester nor anyone who wrote in it has an address: its customer is a stand-in address at deskferry.invalid".into());
                let email = map::stand_in(src);
                let party = json!({ "email": email, "name": t.requester.name });
                (email, party)
            }
        };
        let state = map::state(t.status.as_deref(), t.ticket.status, t.ticket.is_spam);
        let mut outcomes: Vec<Result<Written, WriteError>> = Vec::new();
        let mut fresh = false;
        let (number, rest) = match prior {
            Some(n) => {
                let path = format!("/v1/tickets/{n}/state");
                self.client
                    .put(&path, json!({ "state": state }))
                    .await
                    .map_err(http("tickets", src))?;
                (n.to_string(), new)
            }
            None => {
                let first = new.first();
                let mut body = Map::new();
                let mut first_lost = Vec::new();
                match first {
                    Some(c) => {
                        let who = self.as_of(c, &customer).await?;
                        if who.named.is_some() {
                            first_lost.push(
                                "its author is not held by Groove: written as another, naming them"
                                    .to_string(),
                            );
                        }
                        body.insert(
                            "body".into(),
                            json!(map::body(c, who.named.as_deref(), false)),
                        );
                        if who.agent {
                            body.insert("from".into(), json!(who.email));
                            body.insert("to".into(), customer_party.clone());
                        } else {
                            body.insert(
                                "from".into(),
                                match who.named {
                                    Some(_) => customer_party.clone(),
                                    None => map::party(&c.author),
                                },
                            );
                            body.insert("to".into(), json!(mailbox_email));
                        }
                        body.insert("note".into(), json!(!c.public));
                        if let Some(at) = c.created_at.or(t.ticket.created_at) {
                            body.insert("sent_at".into(), json!(map::sent_at(&at)));
                        }
                    }
                    None => {
                        let d = self.default_agent().await?.ok_or_else(|| {
                            other("tickets", src, "the Groove account has no agent")
                        })?;
                        body.insert(
                            "body".into(),
                            json!(format!(
                                "<p>(This ticket had no messages at the source.)</p>{}",
                                map::reference_line(&format!("{}-opening", t.external_id))
                            )),
                        );
                        body.insert("from".into(), json!(d));
                        body.insert("to".into(), customer_party.clone());
                        body.insert("note".into(), json!(true));
                        if let Some(at) = t.ticket.created_at {
                            body.insert("sent_at".into(), json!(map::sent_at(&at)));
                        }
                    }
                }
                body.insert("subject".into(), json!(t.subject));
                body.insert("mailbox".into(), json!(mailbox));
                body.insert("state".into(), json!(state));
                let mut tags = t.tags.clone();
                tags.push(map::marker_tag(&t.external_id));
                body.insert("tags".into(), json!(tags));
                if let Some(a) = &t.assignee {
                    body.insert("assignee".into(), json!(a));
                }
                body.insert("send_copy_to_customer".into(), json!(false));
                body.insert("skip_notifications".into(), json!(true));
                let body = Value::Object(body);
                let posted = post_unless_found(
                    || async {
                        let v = self.client.post("/v1/tickets", body.clone()).await?;
                        v["ticket"]["number"].as_u64().map(|n| n.to_string()).ok_or_else(|| {
                            deskferry_extractor::http::HttpError::Decode {
                                url: "/v1/tickets".into(),
                                message: "the answer names no ticket number".into(),
                            }
                        })
                    },
                    || self.find_by_marker(t),
                    http_into("tickets", src),
                )
                .await?;
                let (n, found) = match posted {
                    Posted::Answered(n) => (n, false),
                    Posted::Found(n) => (n, true),
                };
                if let Some(c) = first {
                    let mut r = Ok(());
                    if !c.attachments.is_empty() {
                        // The create's answer is the ticket: its first message's id is on the
                        // first page of its messages.
                        let m = self
                            .client
                            .get(&format!("/v1/tickets/{n}/messages?page=1&per_page=1"))
                            .await
                            .map_err(http("comments", &c.comment.id));
                        r = match m {
                            Ok(v) => match v["messages"][0]["href"].as_str().and_then(id_from_href)
                            {
                                // A ticket found after a lost answer may hold its files already.
                                Some(mid)
                                    if !found
                                        || self
                                            .files_of(&mid)
                                            .await
                                            .map(|f| f.is_empty())
                                            .unwrap_or(true) =>
                                {
                                    match self.upload_files(&mid, c).await {
                                        Ok(l) => {
                                            first_lost.extend(l);
                                            Ok(())
                                        }
                                        Err(e) => Err(e),
                                    }
                                }
                                Some(_) => Ok(()),
                                None => Err(other(
                                    "comments",
                                    &c.comment.id,
                                    "the ticket shows no first message",
                                )),
                            },
                            Err(e) => Err(e),
                        };
                    }
                    outcomes.push(match r {
                        Ok(()) => Ok(outcome(format!("{n}:{}", c.external_id), first_lost)),
                        Err(e) if e.is_fatal() => return Err(e),
                        Err(e) => Err(e),
                    });
                }
                // What the ticket cannot hold, in one private note.
                let cc = self.cc_of(t).await;
                if let Some(note) = map::extras_note(t, &cc) {
                    let d = self.default_agent().await?.unwrap_or_default();
                    let mut b = json!({ "body": note, "author": d, "note": true, "send_copy_to_customer": false });
                    if let Some(at) = t.ticket.created_at {
                        b["sent_at"] = json!(map::sent_at(&at));
                    }
                    let path = format!("/v1/tickets/{n}/messages");
                    let key = format!("{}-extras", t.external_id);
                    post_unless_found(
                        || async { self.client.post(&path, b.clone()).await.map(|_| key.clone()) },
                        || async { Ok(self.references(&n).await?.0.get(&key).cloned()) },
                        http("tickets", src),
                    )
                    .await?;
                    if !cc.is_empty() {
                        lost.push("CC addresses are in the ticket's private note (Groove's v1 API takes no CCs)".into());
                    }
                }
                fresh = !found;
                (n, if new.is_empty() { new } else { &new[1..] })
            }
        };
        // Messages after the first. Those already there (an earlier, interrupted run) are found
        // by their reference line.
        // A ticket found after a crash (or one whose ledger entry was lost) holds its first
        // message without a reference line: it is found by its time and visibility, which
        // Groove keeps.
        // A ticket this call created holds nothing else yet: nothing to look for.
        let (present, mut unmarked) = if rest.is_empty() || fresh {
            (std::collections::HashMap::new(), Vec::new())
        } else {
            self.references(&number).await?
        };
        let mut failed: Option<String> = None;
        for c in rest {
            if let Some(first) = &failed {
                outcomes.push(Err(after_failed(&c.comment.id, first, "message", "Groove")));
                continue;
            }
            let key = (c.created_at.map(|t| t.timestamp()), c.public);
            let there = match present.get(&c.external_id) {
                Some(mid) => Some(mid.clone()),
                None => unmarked
                    .iter()
                    .position(|(k, _)| *k == key && key.0.is_some())
                    .map(|i| unmarked.remove(i).1),
            };
            if let Some(mid) = there {
                // Its files, unless the interrupted run uploaded them.
                let r = if c.attachments.is_empty() || !self.files_of(&mid).await?.is_empty() {
                    Ok(Written::Matched(mid))
                } else {
                    self.upload_files(&mid, c).await.map(|lost| outcome(mid, lost))
                };
                if let Err(e) = &r
                    && e.is_fatal()
                {
                    return Err(r
                        .err()
                        .unwrap_or_else(|| other("comments", &c.comment.id, "failed")));
                }
                outcomes.push(r);
                continue;
            }
            let r = self.post_message(&number, c, &customer).await;
            match &r {
                Err(e) if e.is_fatal() => {
                    return Err(r
                        .err()
                        .unwrap_or_else(|| other("comments", &c.comment.id, "failed")));
                }
                Err(_) => failed = Some(c.comment.id.clone()),
                Ok(_) => {}
            }
            outcomes.push(r);
        }
        Ok((outcome(number, lost), outcomes))
    }

    /// Adds message `c` to ticket `number` unless it shows there already, then its files.
    async fn post_message(
        &self,
        number: &str,
        c: &MappedComment,
        customer: &str,
    ) -> Result<Written, WriteError> {
        let who = self.as_of(c, customer).await?;
        let mut lost = Vec::new();
        if who.named.is_some() {
            lost.push(
                "its author is not held by Groove: written as another, naming them".to_string(),
            );
        }
        let mut b = json!({
            "body": map::body(c, who.named.as_deref(), true),
            "author": who.email,
            "note": !c.public,
            "send_copy_to_customer": false,
        });
        if let Some(at) = c.created_at {
            b["sent_at"] = json!(map::sent_at(&at));
        }
        let path = format!("/v1/tickets/{number}/messages");
        let posted = post_unless_found(
            || async {
                let v = self.client.post(&path, b.clone()).await?;
                v["message"]["href"].as_str().and_then(id_from_href).ok_or_else(|| {
                    deskferry_extractor::http::HttpError::Decode {
                        url: path.clone(),
                        message: "the answer names no message".into(),
                    }
                })
            },
            || async { Ok(self.references(number).await?.0.get(&c.external_id).cloned()) },
            http("comments", &c.comment.id),
        )
        .await?;
        let (mid, found) = match posted {
            Posted::Answered(m) => (m, false),
            Posted::Found(m) => (m, true),
        };
        if !c.attachments.is_empty() && (!found || self.files_of(&mid).await?.is_empty()) {
            lost.extend(self.upload_files(&mid, c).await?);
        }
        Ok(outcome(mid, lost))
    }

    /// The files Groove lists for message `id`.
    pub(super) async fn files_of(&self, id: &str) -> Result<Vec<Value>, WriteError> {
        let v = self
            .client
            .get(&format!("/v1/attachments?message={}", esc(id)))
            .await
            .map_err(http("attachments", id))?;
        Ok(v["attachments"].as_array().cloned().unwrap_or_default())
    }
}
