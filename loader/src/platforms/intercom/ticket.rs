//! One conversation: opened by its requester with the original `created_at`, then each
//! further message or note as a part by the right admin or contact at its original time, the
//! files of a message spread over parts of at most `attachments_per_part`, then title and
//! conversation attributes, participants, tags, assignment and state.

use deskferry_extractor::platforms::intercom::client::{conflict_id, id_of};
use serde_json::{Value, json};

use super::load::{IntercomTarget, http, other};
use super::map;
use super::options::AgentRequester;
use crate::error::WriteError;
use crate::target::{
    AttachmentData, MappedComment, MappedTicket, Posted, Written, after_failed, post_unless_found,
};

/// Who writes a part.
#[derive(Debug, Clone)]
enum Writer {
    /// An admin, by id.
    Admin(String),
    /// A contact, by Intercom id.
    Contact(String),
    /// A contact known only by email.
    Email(String),
}

/// A comment or note part of a conversation.
#[derive(Debug, Clone)]
struct Part {
    at: Option<i64>,
    author: String,
    id: String,
    /// For a part that carries a message's further files, its `(from–to of n)` line.
    files: Option<String>,
    /// Taken by a message of this run (found there, or posted): two messages of the same
    /// author at the same second each take their own part, in order.
    taken: bool,
}

impl Part {
    /// Written by `who` (any author when unknown: a contact named by email) at `at`.
    fn by(&self, at: Option<i64>, who: Option<&str>) -> bool {
        self.at == at && who.is_none_or(|w| self.author == w)
    }
}

/// What a conversation holds: read when a ticket is written again, and kept up to date with
/// every part this run posts into it. Parts are told apart by author, time and, for a part
/// carrying a message's further files, its `(from–to of n)` line: every part of a split message
/// has the same author and time, so author and time alone would take one for another.
#[derive(Debug, Default)]
pub(super) struct Held {
    /// Comment and note parts, in order.
    parts: Vec<Part>,
    /// The opening message: (created_at, author id).
    source: Option<(Option<i64>, String)>,
    /// The loader's own note is there.
    note: bool,
    /// State, admin and team assignee.
    state: Option<String>,
    admin: Option<String>,
    team: Option<String>,
    /// Parts Intercom did not answer: it answers a conversation's 500 newest, and no endpoint
    /// of 2.14 pages the older ones (the count minus the parts answered).
    hidden: usize,
    /// Parts answered (of any kind).
    answered: usize,
    /// The time of the oldest part answered (any kind), when some were not answered.
    oldest: Option<i64>,
}

impl Held {
    fn read(v: &Value) -> Held {
        let author = |p: &Value| {
            p.pointer("/author/id")
                .and_then(|x| {
                    x.as_str().map(str::to_string).or_else(|| x.as_i64().map(|n| n.to_string()))
                })
                .unwrap_or_default()
        };
        let num = |x: Option<&Value>| {
            x.and_then(|x| {
                x.as_i64().map(|n| n.to_string()).or_else(|| x.as_str().map(str::to_string))
            })
        };
        let mut h = Held {
            source: v
                .get("source")
                .map(|s| (v.get("created_at").and_then(Value::as_i64), author(s))),
            state: v.get("state").and_then(Value::as_str).map(str::to_string),
            admin: num(v.get("admin_assignee_id")),
            team: num(v.get("team_assignee_id")),
            ..Held::default()
        };
        let answered = parts(v);
        let count = [
            v.pointer("/conversation_parts/total_count"),
            v.pointer("/statistics/count_conversation_parts"),
        ]
        .into_iter()
        .filter_map(|x| x.and_then(Value::as_u64))
        .max()
        .unwrap_or(0) as usize;
        h.answered = answered.len();
        h.hidden = count.saturating_sub(answered.len());
        if h.hidden > 0 {
            h.oldest =
                answered.iter().filter_map(|p| p.get("created_at").and_then(Value::as_i64)).min();
        }
        for p in answered {
            let kind = p.get("part_type").and_then(Value::as_str).unwrap_or_default();
            if kind != "comment" && kind != "note" {
                continue;
            }
            let body = p.get("body").and_then(Value::as_str).unwrap_or_default();
            if body.trim_start_matches("<p>").starts_with(map::NOTE_MARK) {
                h.note = true;
                continue;
            }
            h.parts.push(Part {
                at: p.get("created_at").and_then(Value::as_i64),
                author: author(p),
                id: id_of(p).unwrap_or_default(),
                files: map::files_line(body),
                taken: false,
            });
        }
        h
    }
}

impl IntercomTarget {
    /// The stand-in contact of a ticket whose requester is an agent: the first end user taking
    /// part, else a CC loaded as a contact, else a lead created for the agent's address.
    async fn stand_in(
        &self,
        t: &MappedTicket,
        comments: &[MappedComment],
    ) -> Result<(String, String), WriteError> {
        if let Some(c) =
            comments.iter().find(|c| !c.author.is_agent && c.author.target_id.is_some())
        {
            let id = c.author.target_id.clone().unwrap_or_default();
            return Ok((id, "the first end user taking part".into()));
        }
        if let Some(id) = t.ticket.cc_ids.iter().find_map(|cc| self.known("users", cc)) {
            return Ok((id, "a CC of the ticket".into()));
        }
        let r = &t.requester;
        let mut body = json!({"role": "lead", "name": format!("{} (agent)", r.name.clone().unwrap_or_else(|| "Agent".into()))});
        if let Some(e) = &r.email {
            body["email"] = e.clone().into();
        }
        let id = match self.client.post("/contacts", body).await {
            Ok(v) => {
                id_of(&v).ok_or_else(|| other("tickets", &t.ticket.id, "no id in the answer"))?
            }
            Err(e) => conflict_id(&e).ok_or_else(|| http("tickets", &t.ticket.id)(e))?,
        };
        Ok((id, "a lead contact created for the agent's address (Intercom needs a contact to hold a conversation)".into()))
    }

    /// The writer of comment `c`, and what its mapping cost.
    async fn writer(
        &self,
        c: &MappedComment,
    ) -> Result<(Writer, bool, Option<String>), WriteError> {
        let a = &c.author;
        if a.is_agent || !c.public {
            let (id, lost) = match (&a.target_id, a.is_agent) {
                (Some(id), true) if !a.defaulted => (id.clone(), None),
                (Some(id), true) => (
                    id.clone(),
                    Some(
                        "written by the default admin (the agent has no Intercom admin)"
                            .to_string(),
                    ),
                ),
                (_, true) => (
                    self.default_admin().await?,
                    Some(
                        "written by the default admin (the agent has no Intercom admin)"
                            .to_string(),
                    ),
                ),
                (_, false) => (
                    self.default_admin().await?,
                    Some(format!(
                        "a private note by an end user ({}): written by the default admin",
                        a.name.clone().or(a.email.clone()).unwrap_or_default()
                    )),
                ),
            };
            return Ok((Writer::Admin(id), c.public, lost));
        }
        match (&a.target_id, &a.email) {
            (Some(id), _) => Ok((Writer::Contact(id.clone()), true, None)),
            (None, Some(e)) => Ok((Writer::Email(e.clone()), true, None)),
            (None, None) => Ok((
                Writer::Admin(self.default_admin().await?),
                false,
                Some("its author was not loaded as a contact: written as a note by the default admin".into()),
            )),
        }
    }

    /// The body of one reply.
    fn reply_body(
        w: &Writer,
        public: bool,
        body: &str,
        at: Option<i64>,
        files: &[&AttachmentData],
    ) -> Value {
        let mut b = match w {
            Writer::Admin(id) => {
                json!({"type": "admin", "admin_id": id, "message_type": if public { "comment" } else { "note" }, "body": map::nonempty(body)})
            }
            Writer::Contact(id) => {
                json!({"type": "user", "intercom_user_id": id, "message_type": "comment", "body": map::nonempty(body)})
            }
            Writer::Email(e) => {
                json!({"type": "user", "email": e, "message_type": "comment", "body": map::nonempty(body)})
            }
        };
        if let Some(t) = at {
            b["created_at"] = t.into();
        }
        if !files.is_empty() {
            b["attachment_files"] = files.iter().map(|f| map::file(f)).collect();
        }
        b
    }

    /// Posts one reply; after an answer lost, the conversation is read for it before it is
    /// sent again: a part of the same author, time and files line as the one posted, beyond
    /// those `held` knew of. The new part's id, and `held` knows it.
    async fn reply(
        &self,
        conv: &str,
        comment_id: &str,
        body: Value,
        held: &mut Held,
    ) -> Result<String, WriteError> {
        let path = format!("/conversations/{conv}/reply");
        let at = body.get("created_at").and_then(Value::as_i64);
        let who = body
            .get("admin_id")
            .or_else(|| body.get("intercom_user_id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let files = body.get("body").and_then(Value::as_str).and_then(map::files_line);
        let same = |p: &Part| p.by(at, who.as_deref()) && p.files == files;
        let known = held.parts.iter().filter(|p| same(p)).count();
        let posted = post_unless_found(
            || self.client.post(&path, body.clone()),
            || async {
                if at.is_none() {
                    return Ok(None);
                }
                let v = self
                    .client
                    .get(&format!("/conversations/{conv}"))
                    .await
                    .map_err(http("comments", comment_id))?;
                let now = Held::read(&v);
                let matching: Vec<&Part> = now.parts.iter().filter(|p| same(p)).collect();
                Ok(matching.last().filter(|_| matching.len() > known).map(|p| p.id.clone()))
            },
            http("comments", comment_id),
        )
        .await?;
        let id = match posted {
            Posted::Found(id) => id,
            Posted::Answered(v) => parts(&v)
                .last()
                .and_then(|p| id_of(p))
                .ok_or_else(|| other("comments", comment_id, "no part in the answer"))?,
        };
        held.parts.push(Part {
            at,
            author: who.unwrap_or_default(),
            id: id.clone(),
            files,
            taken: true,
        });
        Ok(id)
    }

    /// Writes comment `c` (and its further files) into `conv`.
    async fn write_comment(
        &self,
        conv: &str,
        c: &MappedComment,
        skip_body: bool,
        held: &mut Held,
    ) -> Result<Written, WriteError> {
        let (w, public, lost) = self.writer(c).await?;
        let at = c.created_at.map(|t| t.timestamp());
        // Parts of this message the conversation holds already (a run stopped midway): the
        // same author at the same time, with the same files line. They are not posted again.
        let who = match &w {
            Writer::Admin(id) | Writer::Contact(id) => Some(id.clone()),
            Writer::Email(_) => None,
        };
        let have = |held: &mut Held, files: Option<&str>| {
            let p = held
                .parts
                .iter_mut()
                .find(|p| !p.taken && p.by(at, who.as_deref()) && p.files.as_deref() == files)?;
            p.taken = true;
            Some(p.id.clone())
        };
        // A part not among those answered, when Intercom left older parts out: the loader
        // posts a conversation's messages in order, so one no newer than the oldest part
        // answered was posted by a run that stopped, and is among those not shown. Posting it
        // again would duplicate it; it is reported instead.
        let unseen = held.hidden > 0 && at.is_some_and(|a| held.oldest.is_some_and(|o| a <= o));
        let n = c.attachments.len();
        let (first, rest) = map::chunks(&c.attachments, self.opts.attachments_per_part, !skip_body);
        let mut notes: Vec<String> = lost.into_iter().collect();
        let mut id = None;
        let mut left_alone = false;
        if !skip_body {
            id = match have(held, None) {
                Some(found) => Some(found),
                None if unseen => {
                    left_alone = true;
                    None
                }
                None => {
                    let b = Self::reply_body(&w, public, &c.body_html, at, &first);
                    Some(self.reply(conv, &c.comment.id, b, held).await?)
                }
            };
        }
        let mut from = first.len() + 1;
        for chunk in &rest {
            let to = from + chunk.len() - 1;
            let line = map::files_body(from, to, n);
            let part = match have(held, Some(&line)) {
                Some(found) => found,
                None if unseen => {
                    left_alone = true;
                    from = to + 1;
                    continue;
                }
                None => {
                    let b = Self::reply_body(&w, public, &format!("<p>{line}</p>"), at, chunk);
                    self.reply(conv, &c.comment.id, b, held).await?
                }
            };
            id.get_or_insert(part);
            from = to + 1;
        }
        if left_alone {
            notes.push(format!(
                "not posted again: a run that stopped posted it (in order), and it is no newer than the {} newest of the conversation's {} parts, all Intercom answers; check it there",
                held.answered,
                held.answered + held.hidden
            ));
        }
        if !rest.is_empty() {
            notes.push(if skip_body {
                format!("Intercom opens a conversation without files: its {n} files follow on {} part(s) of the same author", rest.len())
            } else {
                format!("{n} files split over {} parts (at most {} a part)", rest.len() + 1, self.opts.attachments_per_part)
            });
        }
        if c.attachments.iter().any(|a| a.inline) {
            notes.push("inline images kept as files of the part".into());
        }
        let id = id.unwrap_or_else(|| conv.to_string());
        Ok(if notes.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, format!("Intercom: {}", notes.join("; ")))
        })
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_conversation(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let sid = &t.ticket.id;
        if t.ticket.is_spam && prior.is_none() {
            // Intercom has no spam folder: loading one would make it an ordinary conversation.
            let why = "Intercom: no spam folder; a spam ticket is not loaded".to_string();
            return Ok((
                Written::Skipped(why.clone()),
                comments.iter().map(|_| Ok(Written::Skipped(why.clone()))).collect(),
            ));
        }
        let mut limits: Vec<String> = Vec::new();
        let mut results: Vec<Result<Written, WriteError>> = Vec::new();
        let mut rest: &[MappedComment] = comments;
        let mut held = Held::default();
        let conv = match prior {
            Some(id) => {
                let v = self
                    .client
                    .get(&format!("/conversations/{id}"))
                    .await
                    .map_err(http("tickets", sid))?;
                held = Held::read(&v);
                // The opening message, when the run that opened the conversation stopped
                // before the ledger had it: its files may still be missing.
                if let (Some(first), Some((at, who))) = (comments.first(), &held.source) {
                    let same = first.public
                        && first.created_at.map(|t| t.timestamp()) == *at
                        && first.author.target_id.as_deref() == Some(who.as_str());
                    if same {
                        let r = if first.attachments.is_empty() {
                            Ok(Written::Matched(id.to_string()))
                        } else {
                            self.write_comment(id, first, true, &mut held).await
                        };
                        results.push(r);
                        rest = &comments[1..];
                    }
                }
                id.to_string()
            }
            None => {
                // Who opens it, and with which message.
                let (contact, opening_is_first) = if t.requester.is_agent {
                    if self.opts.agent_requester == AgentRequester::Skip {
                        let why = "Intercom: the requester is an agent, and agent_requester = \"skip\" leaves such tickets out".to_string();
                        return Ok((
                            Written::Skipped(why.clone()),
                            comments.iter().map(|_| Ok(Written::Skipped(why.clone()))).collect(),
                        ));
                    }
                    let (id, who) = self.stand_in(t, comments).await?;
                    limits.push(format!("the requester is an agent ({}): opened by {who}, with a first line saying so; the agent's message follows as an admin reply", t.requester.email.clone().unwrap_or_default()));
                    (id, false)
                } else {
                    let id = match &t.requester.target_id {
                        Some(id) => id.clone(),
                        None => {
                            return Err(other(
                                "tickets",
                                sid,
                                "its requester was not loaded as a contact",
                            ));
                        }
                    };
                    let first_is_theirs = comments.first().is_some_and(|c| {
                        c.public
                            && !c.author.is_agent
                            && c.author.target_id.as_deref() == Some(id.as_str())
                    });
                    (id, first_is_theirs)
                };
                let created =
                    t.ticket.created_at.or_else(|| comments.first().and_then(|c| c.created_at));
                let body = if opening_is_first {
                    map::plain(&comments[0].body_html)
                } else {
                    let who =
                        t.requester.name.clone().or(t.requester.email.clone()).unwrap_or_default();
                    if !t.requester.is_agent {
                        limits.push("its first message is not the requester's: opened with a first line saying so".into());
                    }
                    format!(
                        "{} {who} (migrated by deskferry); the messages follow.",
                        map::ON_BEHALF_MARK
                    )
                };
                let mut b = json!({"from": {"type": "user", "id": contact}, "body": body});
                if let Some(c) = created {
                    b["created_at"] = c.timestamp().into();
                }
                let v =
                    self.client.post("/conversations", b).await.map_err(http("tickets", sid))?;
                let conv = v
                    .get("conversation_id")
                    .and_then(|x| {
                        x.as_str().map(str::to_string).or_else(|| x.as_i64().map(|n| n.to_string()))
                    })
                    .ok_or_else(|| other("tickets", sid, "no conversation_id in the answer"))?;
                if opening_is_first {
                    let first = &comments[0];
                    let r = if first.attachments.is_empty() {
                        Ok(Written::Migrated(id_of(&v).unwrap_or_else(|| conv.clone())))
                    } else {
                        self.write_comment(&conv, first, true, &mut held).await
                    };
                    results.push(r);
                    rest = &comments[1..];
                }
                conv
            }
        };
        // Further messages, in order; once one fails the later ones wait for the next run.
        let mut failed: Option<String> = None;
        for c in rest {
            if let Some(first) = &failed {
                results.push(Err(after_failed(&c.comment.id, first, "message", "Intercom")));
                continue;
            }
            let r = self.write_comment(&conv, c, false, &mut held).await;
            if let Err(e) = &r {
                if e.is_fatal() {
                    return Err(r.unwrap_err());
                }
                failed = Some(c.comment.id.clone());
            }
            results.push(r);
        }
        limits.extend(self.finish(&conv, t, &held).await?);
        let w = if limits.is_empty() {
            Written::Migrated(conv)
        } else {
            Written::Limited(conv, format!("Intercom: {}", limits.join("; ")))
        };
        Ok((w, results))
    }

    /// Title and attributes, participants, the loader's note, tags, assignment and state of a
    /// new conversation; what it cost.
    async fn finish(
        &self,
        conv: &str,
        t: &MappedTicket,
        held: &Held,
    ) -> Result<Vec<String>, WriteError> {
        let sid = &t.ticket.id;
        let e = || http("tickets", sid);
        let mut limits = Vec::new();
        let mut attrs = serde_json::Map::new();
        for (name, values) in &t.fields {
            attrs.insert(name.clone(), Value::String(values.join(", ")));
        }
        let mut body = json!({"title": t.subject});
        if !attrs.is_empty() {
            body["custom_attributes"] = Value::Object(attrs);
        }
        self.client.put(&format!("/conversations/{conv}"), body).await.map_err(e())?;
        let admin = self.default_admin().await?;
        // CCs: participants where loaded as contacts, else named in the note.
        let mut unnamed = Vec::new();
        for cc in &t.ticket.cc_ids {
            match self.known("users", cc) {
                Some(id) => {
                    self.client
                        .post_idempotent(
                            &format!("/conversations/{conv}/customers"),
                            json!({"admin_id": admin, "customer": {"intercom_user_id": id}}),
                        )
                        .await
                        .map_err(e())?;
                }
                None => unnamed.push(cc.clone()),
            }
        }
        let mut lines: Vec<String> =
            t.note_fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        // What API 2.14 cannot set on a conversation: named in the note.
        let unheld = map::unheld(&t.ticket);
        if !unheld.is_empty() {
            let what: Vec<&str> = unheld.iter().map(|(k, _)| *k).collect();
            limits.push(format!(
                "{} (API 2.14 sets none on a conversation) named in a private note",
                what.join(", ").to_lowercase()
            ));
            lines.extend(unheld.iter().map(|(k, v)| format!("{k}: {v}")));
        }
        if !unnamed.is_empty() {
            lines.push(format!("CC (not loaded as contacts; source ids): {}", unnamed.join(", ")));
            limits.push(format!(
                "{} CC(s) not loaded as contacts are named in a note",
                unnamed.len()
            ));
        }
        if !t.note_fields.is_empty() {
            limits.push(format!(
                "{} custom field(s) without a conversation attribute are in a private note",
                t.note_fields.len()
            ));
        }
        if !lines.is_empty() && !held.note {
            let html = format!(
                "<p>{} fields of the original ticket</p><p>{}</p>",
                map::NOTE_MARK,
                lines.iter().map(|l| html_escape(l)).collect::<Vec<_>>().join("<br>")
            );
            self.client
                .post(&format!("/conversations/{conv}/reply"), json!({"type": "admin", "admin_id": admin, "message_type": "note", "body": html}))
                .await
                .map_err(e())?;
        }
        for name in &t.tags {
            let id = self.tag(name, "tickets", sid).await?;
            self.client
                .post_idempotent(
                    &format!("/conversations/{conv}/tags"),
                    json!({"id": id, "admin_id": admin}),
                )
                .await
                .map_err(e())?;
        }
        if let Some(a) = t.assignee.as_ref().filter(|a| held.admin.as_ref() != Some(*a)) {
            self.client
                .post(&format!("/conversations/{conv}/parts"), json!({"message_type": "assignment", "type": "admin", "admin_id": admin, "assignee_id": a}))
                .await
                .map_err(e())?;
        }
        if let Some(g) = t.group.as_ref().filter(|g| held.team.as_ref() != Some(*g)) {
            self.client
                .post(&format!("/conversations/{conv}/parts"), json!({"message_type": "assignment", "type": "team", "admin_id": admin, "assignee_id": g}))
                .await
                .map_err(e())?;
        }
        if t.status.as_deref() == Some("closed") && held.state.as_deref() != Some("closed") {
            self.client
                .post(
                    &format!("/conversations/{conv}/parts"),
                    json!({"message_type": "close", "type": "admin", "admin_id": admin}),
                )
                .await
                .map_err(e())?;
        }
        Ok(limits)
    }

    /// The id of tag `name`, created when new (`POST /tags` finds or creates by name); an
    /// error is the record `entity` `sid`'s.
    pub(super) async fn tag(
        &self,
        name: &str,
        entity: &str,
        sid: &str,
    ) -> Result<String, WriteError> {
        if let Some(id) = self.tags.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned() {
            return Ok(id);
        }
        let v = self
            .client
            .post_idempotent("/tags", json!({"name": name}))
            .await
            .map_err(http(entity, sid))?;
        let id = id_of(&v).ok_or_else(|| other(entity, sid, "no tag id in the answer"))?;
        self.tags.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), id.clone());
        Ok(id)
    }
}

/// The parts of a conversation answer.
pub(super) fn parts(v: &Value) -> Vec<&Value> {
    v.pointer("/conversation_parts/conversation_parts")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
