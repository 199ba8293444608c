//! One case: opened for its requester with the first message (`POST /cases`: `MAIL` when it is
//! public, `NOTE` when private), status, priority, team, assignee, tags, field values and the
//! message's files; then each further message (`MAIL`) or note (`NOTE`) as
//! `POST /cases/{id}/reply`, each beginning with the line that keeps its author, time and
//! reference (`map::header_line`).

use deskferry_extractor::http::Part;
use deskferry_extractor::platforms::kayako::client::{data, id_of};
use serde_json::{Value, json};

use super::load::{KayakoTarget, Staff, http, other};
use super::map::{self, Header};
use super::people::not_unique;
use crate::error::WriteError;
use crate::target::{
    AttachmentData, MappedComment, MappedTicket, Posted, Written, after_failed, post_unless_found,
};

/// A JSON body as a multipart form with `files[]`.
fn form(body: &Value, files: &[AttachmentData]) -> Vec<Part> {
    let mut parts = Vec::new();
    if let Some(o) = body.as_object() {
        for (k, v) in o {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            parts.push(Part { name: k.clone(), file: None, bytes: text.into_bytes().into() });
        }
    }
    for f in files {
        parts.push(Part {
            name: "files[]".into(),
            file: Some((
                map::file_name(&f.file_name),
                f.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            )),
            bytes: f.bytes.clone(),
        });
    }
    parts
}

impl KayakoTarget {
    /// The first line of comment `c`, and what its writing costs.
    fn header(
        &self,
        c: &MappedComment,
        me: &Staff,
        opening_by_requester: bool,
    ) -> (Header, String) {
        let a = &c.author;
        let h = Header {
            name: a.name.clone(),
            email: a.email.clone(),
            author: a.target_id.clone(),
            at: c.created_at,
            reference: c.external_id.clone(),
            ..Header::default()
        };
        let mut lost =
            vec!["Kayako keeps no original time: it is in the post's first line".to_string()];
        if !opening_by_requester && a.target_id.as_deref() != Some(me.id.as_str()) {
            lost.push(format!(
                "written by the signed-in staff member ({}); the original author is named in the first line",
                me.email
            ));
        }
        if a.defaulted {
            lost.push(
                "its agent is not at Kayako (or disabled): the default agent stands in".into(),
            );
        }
        (h, lost.join("; "))
    }

    /// Posts one reply or note (looked for by its reference before it is sent again after an
    /// answer lost); the new post's id.
    async fn reply(
        &self,
        case: &str,
        comment_id: &str,
        reference: &str,
        body: Value,
        files: &[AttachmentData],
    ) -> Result<String, WriteError> {
        let path = format!("/api/v1/cases/{case}/reply.json");
        let posted = post_unless_found(
            || async {
                if files.is_empty() {
                    self.client.post(&path, body.clone()).await
                } else {
                    self.client.post_form(&path, form(&body, files)).await
                }
            },
            || async {
                let held = self.held(case).await.map_err(http("comments", comment_id))?;
                Ok(held.into_iter().find(|(r, _)| r == reference).map(|(_, id)| id))
            },
            http("comments", comment_id),
        )
        .await?;
        match posted {
            Posted::Found(id) => Ok(id),
            Posted::Answered(v) => id_of(data(&v))
                .ok_or_else(|| other("comments", comment_id, "no post in the answer")),
        }
    }

    /// The references of the posts a case holds: (reference, post id).
    pub(super) async fn held(
        &self,
        case: &str,
    ) -> Result<Vec<(String, String)>, deskferry_extractor::http::HttpError> {
        let posts = self.posts(case).await?;
        Ok(posts
            .iter()
            .filter_map(|p| {
                let body =
                    p.pointer("/original/body_html").and_then(Value::as_str).unwrap_or_default();
                let h = map::read_header(body)?;
                Some((h.reference, id_of(p).unwrap_or_default()))
            })
            .collect())
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_case(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let tid = &t.ticket.id;
        if t.ticket.is_spam {
            let why =
                "Kayako: a spam ticket is not loaded (Kayako's API has no spam state for cases)";
            return Ok((
                Written::Skipped(why.into()),
                comments.iter().map(|_| Ok(Written::Skipped(why.into()))).collect(),
            ));
        }
        let me = self.me().await?.ok_or_else(|| {
            other(
                "tickets",
                tid,
                format!("the login {} is no staff member of the Kayako account", self.login),
            )
        })?;
        let mailbox = self.mailbox().await?;
        let collaborator = me.role == "COLLABORATOR";
        let mut lost: Vec<String> = Vec::new();
        let mut outcomes: Vec<Result<Written, WriteError>> = Vec::new();
        let mut rest: &[MappedComment] = comments;
        let mut held: Vec<(String, String)> = Vec::new();

        let case = match prior {
            Some(id) => {
                held = self.held(id).await.map_err(http("tickets", tid))?;
                let b = self.case_fields(t, &mut lost, &me);
                self.client
                    .put(&format!("/api/v1/cases/{id}.json"), b)
                    .await
                    .map_err(http("tickets", tid))?;
                id.to_string()
            }
            None => {
                let (first, tail) = match comments.split_first() {
                    Some((f, tail)) => (Some(f), tail),
                    None => (None, comments),
                };
                rest = tail;
                let mut b = self.case_fields(t, &mut lost, &me);
                let requester = match &t.requester.target_id {
                    Some(r) => r.clone(),
                    None => {
                        lost.push(format!(
                            "its requester ({}) is not at Kayako: the signed-in staff member stands in",
                            t.requester.email.clone().or(t.requester.name.clone()).unwrap_or_default()
                        ));
                        me.id.clone()
                    }
                };
                let public = first.is_none_or(|c| c.public);
                let mut h = match first {
                    Some(c) => self.header(c, &me, c.public).0,
                    None => Header {
                        reference: format!("{}-opening", t.external_id),
                        ..Header::default()
                    },
                };
                h.ticket_created = t.ticket.created_at;
                if !t.ticket.cc_ids.is_empty() {
                    let ccs: Vec<String> = t
                        .ticket
                        .cc_ids
                        .iter()
                        .map(|c| {
                            self.known("users", c)
                                .map(|k| format!("#{k}"))
                                .unwrap_or_else(|| format!("source user {c}"))
                        })
                        .collect();
                    h.extra.push(("CC".into(), ccs.join(", ")));
                    lost.push("CCs are listed in the opening post (Kayako keeps CCs only on mail it sends)".into());
                }
                for (k, v) in &t.note_fields {
                    h.extra.push((k.clone(), v.clone()));
                }
                let body = first.map(|c| c.body_html.as_str()).unwrap_or("");
                b["subject"] = t.subject.clone().into();
                b["contents"] = format!("{}{}", map::header_line(&h), map::nonempty(body)).into();
                b["html"] = true.into();
                b["requester_id"] = map::num(&requester);
                b["channel"] = if public { "MAIL" } else { "NOTE" }.into();
                if public {
                    b["channel_id"] = map::num(&mailbox);
                }
                b["legacy_id"] = t.external_id.clone().into();
                let files: &[AttachmentData] =
                    first.map(|c| c.attachments.as_slice()).unwrap_or(&[]);
                let sent = if files.is_empty() {
                    self.client.post("/api/v1/cases.json", b).await
                } else {
                    self.client.post_form("/api/v1/cases.json", form(&b, files)).await
                };
                let id = match sent {
                    Ok(v) => id_of(data(&v))
                        .ok_or_else(|| other("tickets", tid, "no id in the answer"))?,
                    // Created before (the answer lost): found by its legacy id.
                    Err(e) if not_unique(&e, "legacy_id") => {
                        let id = self
                            .find_case(&t.external_id, tid)
                            .await?
                            .ok_or_else(|| http("tickets", tid)(e))?;
                        held = self.held(&id).await.map_err(http("tickets", tid))?;
                        id
                    }
                    Err(e) => return Err(http("tickets", tid)(e)),
                };
                if let Some(c) = first {
                    let (_, mut why) = self.header(c, &me, c.public);
                    why.push_str(&map::renamed(&c.attachments));
                    outcomes.push(Ok(Written::Limited(format!("{id}#opening"), why)));
                }
                id
            }
        };

        let mut failed: Option<(String, &'static str)> = None;
        for c in rest {
            if let Some((first, kind)) = &failed {
                outcomes.push(Err(after_failed(&c.comment.id, first, kind, "Kayako")));
                continue;
            }
            if let Some((_, id)) = held.iter().find(|(r, _)| *r == c.external_id) {
                outcomes.push(Ok(Written::Matched(id.clone())));
                continue;
            }
            let (mut h, mut why) = self.header(c, &me, false);
            let public = c.public && !collaborator;
            if c.public && collaborator {
                h.was_public = true;
                why.push_str("; written as a note: the signed-in staff member is a collaborator, and Kayako lets collaborators write notes only");
            }
            let mut b = json!({
                "contents": format!("{}{}", map::header_line(&h), map::nonempty(&c.body_html)),
                "html": true,
                "channel": if public { "MAIL" } else { "NOTE" },
            });
            if public {
                b["channel_id"] = map::num(&mailbox);
            }
            why.push_str(&map::renamed(&c.attachments));
            match self.reply(&case, &c.comment.id, &c.external_id, b, &c.attachments).await {
                Ok(id) => outcomes.push(Ok(Written::Limited(id, why))),
                Err(e) => {
                    if e.is_fatal() {
                        return Err(e);
                    }
                    failed =
                        Some((c.comment.id.clone(), if c.public { "message" } else { "note" }));
                    outcomes.push(Err(e));
                }
            }
        }
        lost.insert(
            0,
            "Kayako sets a case's creation time: the original is in its opening post".into(),
        );
        Ok((Written::Limited(case, lost.join("; ")), outcomes))
    }

    /// Status, priority, team, assignee, tags and field values of a case.
    fn case_fields(&self, t: &MappedTicket, lost: &mut Vec<String>, me: &Staff) -> Value {
        let mut b = json!({"status_id": map::status_id(t.status.as_deref(), t.ticket.status), "tags": t.tags.join(",")});
        if let Some(p) = t.ticket.priority {
            b["priority_id"] = map::priority_id(p).into();
        }
        if let Some(g) = &t.group {
            b["assigned_team_id"] = map::num(g);
        }
        if let Some(a) = &t.assignee {
            b["assigned_agent_id"] = map::num(a);
            if let Some(src) = &t.ticket.assignee_id
                && self.known("users", src).as_deref() != Some(a.as_str())
            {
                lost.push(format!(
                    "assigned to the default agent #{a}: its agent (source user {src}) is disabled, deleted or not at Kayako"
                ));
            }
        }
        let _ = me;
        if !t.fields.is_empty() {
            let known = self.case_fields.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let mut fv = serde_json::Map::new();
            for (k, v) in &t.fields {
                // The mapping names a field by its id (the key) or its title.
                let key = known
                    .iter()
                    .find(|(key, title)| key == k || title.eq_ignore_ascii_case(k))
                    .map(|(key, _)| key.clone())
                    .unwrap_or_else(|| map::field_key(k));
                fv.insert(key, Value::String(v.join(",")));
            }
            b["field_values"] = Value::Object(fv);
        }
        b
    }
}
