//! One ticket: created with its first public message as the description (files as
//! `attachments[]`), then one note per further message, in order; updated (status, priority,
//! routing, tags, fields) when it exists already, and sent to the trash when deleted.

use bytes::Bytes;
use deskferry_extractor::http::{HttpError, Part};
use deskferry_extractor::platforms::freshdesk::client::DEFAULT;
use serde_json::{Map, Value, json};

use super::load::{FreshdeskTarget, http, id_in, other};
use super::map;
use crate::error::WriteError;
use crate::target::{
    MappedComment, MappedTicket, Posted, Written, after_failed, post_unless_found,
};

/// A ticket or note body: JSON fields and files.
struct Body {
    json: Map<String, Value>,
    files: Vec<Part>,
}

impl Body {
    /// The form Freshdesk takes files in: each field a part (`k[]` for lists, `k[sub]` for
    /// objects), each file an `attachments[]` part.
    fn parts(&self) -> Vec<Part> {
        let text = |name: String, v: &Value| Part {
            name,
            file: None,
            bytes: Bytes::from(match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        };
        let mut out = Vec::new();
        for (k, v) in &self.json {
            match v {
                Value::Null => {}
                Value::Array(a) => out.extend(a.iter().map(|x| text(format!("{k}[]"), x))),
                Value::Object(o) => {
                    for (sub, x) in o {
                        match x {
                            Value::Array(a) => {
                                out.extend(a.iter().map(|y| text(format!("{k}[{sub}][]"), y)))
                            }
                            Value::Null => {}
                            _ => out.push(text(format!("{k}[{sub}]"), x)),
                        }
                    }
                }
                _ => out.push(text(k.clone(), v)),
            }
        }
        out.extend(self.files.iter().cloned());
        out
    }
}

fn num(id: &str) -> Value {
    id.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(id))
}

impl FreshdeskTarget {
    /// The files of a message within Freshdesk's cap, and what was left out.
    fn files_of(&self, c: &MappedComment) -> (Vec<Part>, Vec<String>) {
        let mut total = 0u64;
        let (mut parts, mut left) = (Vec::new(), Vec::new());
        for a in &c.attachments {
            let n = a.bytes.len() as u64;
            if total + n > self.opts.max_attachments_bytes {
                left.push(format!(
                    "{} ({n} bytes) not uploaded: over Freshdesk's 20 MB per message",
                    a.file_name
                ));
                continue;
            }
            total += n;
            // A line break in a file name cannot travel in a multipart header.
            let name: String =
                a.file_name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            if name != a.file_name {
                left.push(format!("{name} (uploaded with its control characters as spaces)"));
            }
            parts.push(Part {
                name: "attachments[]".into(),
                file: Some((
                    name,
                    a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                )),
                bytes: a.bytes.clone(),
            });
        }
        (parts, left)
    }

    /// The ticket's properties as Freshdesk takes them.
    async fn ticket_fields(&self, t: &MappedTicket) -> Result<Map<String, Value>, WriteError> {
        let mut j = Map::new();
        j.insert("subject".into(), json!(t.subject));
        j.insert("status".into(), json!(map::status_code(t.status.as_deref())));
        j.insert("priority".into(), json!(map::priority_code(t.priority.as_deref())));
        if let Some(g) = &t.group {
            j.insert("group_id".into(), num(g));
        }
        if let Some(a) = &t.assignee {
            j.insert("responder_id".into(), num(a));
        }
        let mut tags = t.tags.clone();
        tags.push(map::marker_tag(&t.external_id));
        j.insert("tags".into(), json!(tags));
        let mut custom = Map::new();
        for (label, values) in &t.fields {
            if label.eq_ignore_ascii_case("type") {
                j.insert("type".into(), json!(values.first()));
                continue;
            }
            if let Some((name, ty)) = self.field(label).await? {
                custom.insert(name, map::field_value(&ty, values));
            }
        }
        if !custom.is_empty() {
            j.insert("custom_fields".into(), Value::Object(custom));
        }
        Ok(j)
    }

    async fn send(&self, bucket: &str, path: &str, body: &Body) -> Result<Value, HttpError> {
        if body.files.is_empty() {
            self.client.post(bucket, path, Value::Object(body.json.clone())).await
        } else {
            self.client.post_form(bucket, path, body.parts()).await
        }
    }

    /// Posts one note (public or private, by its author) unless the ticket shows it already.
    async fn post_note(&self, ticket_id: &str, c: &MappedComment) -> Result<Written, WriteError> {
        let (files, left) = self.files_of(c);
        let mut json = Map::new();
        json.insert("body".into(), json!(map::body(c, None)));
        json.insert("private".into(), json!(!c.public));
        json.insert("incoming".into(), json!(!c.author.is_agent));
        if let Some(u) = &c.author.target_id {
            json.insert("user_id".into(), num(u));
        }
        let body = Body { json, files };
        let path = format!("/api/v2/tickets/{ticket_id}/notes");
        let posted = post_unless_found(
            || self.send(DEFAULT, &path, &body),
            || self.find_note(ticket_id, &c.external_id),
            http("comments", &c.comment.id),
        )
        .await?;
        let id = match posted {
            Posted::Answered(v) => {
                id_in(&v).ok_or_else(|| other("comments", &c.comment.id, "no id in the answer"))?
            }
            Posted::Found(id) => id,
        };
        Ok(Written::Limited(id, limited_note(&left)))
    }

    /// [`crate::target::Target::write_ticket`].
    pub(super) async fn write_whole_ticket(
        &self,
        t: &MappedTicket,
        prior: Option<&str>,
        new: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        let src = &t.ticket.id;
        let fields = self.ticket_fields(t).await?;
        let mut outcomes: Vec<Result<Written, WriteError>> = Vec::new();
        // What of the ticket's people was carried, and what is named in a private note.
        let (mut carried, mut uncarried): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for (what, ids) in [
            ("further requester", &t.ticket.other_requester_ids),
            ("follower", &t.ticket.follower_ids),
        ] {
            for id in ids {
                let who =
                    self.email_of(t, id).await?.unwrap_or_else(|| format!("source user {id}"));
                uncarried.push(format!("{what} {who}"));
            }
        }
        let mut rest = new;
        // Whether the ticket was there before this call (then its notes are looked at first).
        let mut existed = prior.is_some();
        let (id, written) = match prior {
            Some(id) => {
                let path = format!("/api/v2/tickets/{id}");
                match self.client.put(DEFAULT, &path, Value::Object(fields)).await {
                    Ok(_) => (id.to_string(), Written::Migrated(id.to_string())),
                    Err(e) => return Err(http("tickets", src)(e)),
                }
            }
            None => {
                let mut json = fields;
                let opening = new.first().filter(|c| c.public);
                let (files, left) = match opening {
                    Some(c) => self.files_of(c),
                    None => (Vec::new(), Vec::new()),
                };
                let description = match opening {
                    Some(c) => map::body(c, Some(t.ticket.created_at.as_ref())),
                    None => map::placeholder(&t.external_id, t.ticket.created_at.as_ref()),
                };
                json.insert("description".into(), json!(description));
                // CCs by email (Freshdesk takes them on a new ticket only).
                let mut ccs = Vec::new();
                for c in &t.ticket.cc_ids {
                    match self.email_of(t, c).await? {
                        Some(e) if !ccs.contains(&e) => ccs.push(e),
                        Some(_) => {}
                        None => uncarried.push(format!("CC {c} (no email at Freshdesk)")),
                    }
                }
                if !ccs.is_empty() {
                    json.insert("cc_emails".into(), json!(ccs));
                    carried.push(format!(
                        "CCs {} set as cc_emails (Freshdesk mails them its CC notification of a new ticket where that notification is on)",
                        ccs.join(", ")
                    ));
                }
                json.insert("source".into(), json!(map::source_code(t.ticket.channel.as_deref())));
                match (&t.requester.target_id, &t.requester.email) {
                    (Some(r), _) => json.insert("requester_id".into(), num(r)),
                    (None, Some(e)) => json.insert("email".into(), json!(e)),
                    (None, None) => {
                        return Err(other(
                            "tickets",
                            src,
                            "no requester Freshdesk can take (a contact, or an email)",
                        ));
                    }
                };
                let body = Body { json, files };
                let posted = post_unless_found(
                    || self.send(DEFAULT, "/api/v2/tickets", &body),
                    || self.find_by_marker(t),
                    http("tickets", src),
                )
                .await?;
                let id = match posted {
                    Posted::Answered(v) => {
                        id_in(&v).ok_or_else(|| other("tickets", src, "no id in the answer"))?
                    }
                    Posted::Found(id) => {
                        existed = true;
                        id
                    }
                };
                if let Some(c) = opening {
                    outcomes.push(Ok(Written::Limited(
                        format!("{id}:description"),
                        limited_note(&left),
                    )));
                    let _ = c;
                    rest = &new[1..];
                }
                let when = t.ticket.created_at.map(|c| c.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                let why = format!(
                    "Freshdesk set the ticket's created_at to the load's time; the original ({}) heads its description",
                    when.unwrap_or_else(|| "unknown".into())
                );
                let mut why = why;
                if !carried.is_empty() {
                    why.push_str(&format!("; {}", carried.join("; ")));
                }
                if !uncarried.is_empty() {
                    why.push_str(&format!(
                        "; Freshdesk's API keeps one requester and no followers: {} named in a private note",
                        uncarried.join(", ")
                    ));
                }
                (id.clone(), Written::Limited(id, why))
            }
        };
        // A ticket that was there already may hold notes an earlier, interrupted run posted (the
        // ledger never heard of them): their references are read once and not posted again.
        let present = if existed { self.references(&id).await? } else { Default::default() };
        let mut failed: Option<String> = None;
        for c in rest {
            if let Some(first) = &failed {
                outcomes.push(Err(after_failed(&c.comment.id, first, "note", "Freshdesk")));
                continue;
            }
            if let Some(conv) = present.get(&c.external_id) {
                outcomes.push(Ok(Written::Matched(conv.clone())));
                continue;
            }
            let r = self.post_note(&id, c).await;
            if let Err(e) = &r {
                if e.is_fatal() {
                    return Err(r
                        .err()
                        .unwrap_or_else(|| other("comments", &c.comment.id, "failed")));
                }
                failed = Some(c.comment.id.clone());
            }
            outcomes.push(r);
        }
        let fields_ref = format!("{}-fields", t.external_id);
        if prior.is_none()
            && (!t.note_fields.is_empty() || !uncarried.is_empty())
            && !present.contains_key(&fields_ref)
        {
            let mut text: Vec<String> = t
                .note_fields
                .iter()
                .map(|(k, v)| format!("<li>{}: {}</li>", map::escape(k), map::escape(v)))
                .collect();
            text.extend(uncarried.iter().map(|p| format!("<li>{}</li>", map::escape(p))));
            let body = json!({
                "body": format!("<p>From the source:</p><ul>{}</ul><p class=\"deskferry\">Migrated by deskferry · ref {fields_ref}</p>", text.join("")),
                "private": true,
            });
            self.client
                .post(DEFAULT, &format!("/api/v2/tickets/{id}/notes"), body)
                .await
                .map_err(http("tickets", src))?;
        }
        if t.ticket.is_deleted {
            match self.client.delete(DEFAULT, &format!("/api/v2/tickets/{id}")).await {
                Ok(()) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(http("tickets", src)(e)),
            }
        }
        Ok((written, outcomes))
    }
}

fn limited_note(left: &[String]) -> String {
    let mut s = "Freshdesk stamps messages with the time they are written; the original author and time are in its footer".to_string();
    if !left.is_empty() {
        s.push_str(&format!("; files: {}", left.join(", ")));
    }
    s
}
