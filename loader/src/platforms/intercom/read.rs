//! Reading a conversation back for reconciliation (files downloaded and hashed), and finding
//! one after a crash.

use deskferry_extractor::platforms::intercom::client::id_of;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::load::{IntercomTarget, http};
use super::map;
use super::ticket::parts;
use crate::error::WriteError;
use crate::target::{MappedTicket, ReadComment, ReadTicket};

fn starts(body: &str, mark: &str) -> bool {
    body.trim_start_matches("<p>").trim_start().starts_with(mark)
}

impl IntercomTarget {
    async fn files(&self, v: &Value, id: &str) -> Result<Vec<(String, String, u64)>, WriteError> {
        let mut out = Vec::new();
        for a in v.get("attachments").and_then(Value::as_array).into_iter().flatten() {
            let (Some(name), Some(url)) =
                (a.get("name").and_then(Value::as_str), a.get("url").and_then(Value::as_str))
            else {
                continue;
            };
            let bytes = self.client.download(url).await.map_err(http("tickets", id))?;
            out.push((name.to_string(), hex::encode(Sha256::digest(&bytes)), bytes.len() as u64));
        }
        Ok(out)
    }

    fn author(&self, v: &Value) -> Option<String> {
        let a = v.get("author")?;
        a.get("email").and_then(Value::as_str).map(str::to_string).or_else(|| {
            let id = id_of(a)?;
            self.admin_email(&id).or(Some(id))
        })
    }

    /// [`crate::target::Target::read_ticket`]: the opening message and every comment and note;
    /// a part carrying further files of a message is read as part of it, the loader's own
    /// opening line (on an agent's behalf) is left out, its notes carry an external id of
    /// their own.
    pub(super) async fn read_conversation(&self, id: &str) -> Result<ReadTicket, WriteError> {
        let v =
            self.client.get(&format!("/conversations/{id}")).await.map_err(http("tickets", id))?;
        let time = |x: &Value| {
            x.get("created_at")
                .and_then(Value::as_i64)
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        };
        let mut comments: Vec<ReadComment> = Vec::new();
        if let Some(src) = v.get("source") {
            let body = src.get("body").and_then(Value::as_str).unwrap_or_default();
            if !starts(body, map::ON_BEHALF_MARK) {
                comments.push(ReadComment {
                    id: src.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
                    external_id: None,
                    author: self.author(src),
                    public: true,
                    created_at: time(&v),
                    attachments: self.files(src, id).await?,
                });
            }
        }
        for p in parts(&v) {
            let kind = p.get("part_type").and_then(Value::as_str).unwrap_or_default();
            if kind != "comment" && kind != "note" {
                continue;
            }
            let body = p.get("body").and_then(Value::as_str).unwrap_or_default();
            let files = self.files(p, id).await?;
            if starts(body, map::FILES_MARK)
                && let Some(last) = comments.last_mut()
            {
                last.attachments.extend(files);
                continue;
            }
            comments.push(ReadComment {
                id: id_of(p).unwrap_or_default(),
                external_id: starts(body, map::NOTE_MARK).then(|| "deskferry-note".to_string()),
                author: self.author(p),
                public: kind == "comment",
                created_at: time(p),
                attachments: files,
            });
        }
        Ok(ReadTicket {
            id: id.to_string(),
            subject: v.get("title").and_then(Value::as_str).map(str::to_string),
            tags: v
                .pointer("/tags/tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
                .collect(),
            status: v.get("state").and_then(Value::as_str).map(str::to_string),
            created_at: time(&v),
            original_created_at: None,
            comments,
        })
    }

    /// [`crate::target::Target::find_ticket`]: the conversation of the requester (when loaded)
    /// created at the ticket's time.
    pub(super) async fn find_conversation(
        &self,
        t: &MappedTicket,
    ) -> Result<Option<String>, WriteError> {
        let Some(at) = t.ticket.created_at else { return Ok(None) };
        let mut rules = vec![
            json!({"field": "created_at", "operator": "=", "value": at.timestamp().to_string()}),
        ];
        if !t.requester.is_agent
            && let Some(c) = &t.requester.target_id
        {
            rules.push(json!({"field": "contact_ids", "operator": "=", "value": c}));
        }
        let body =
            json!({"query": {"operator": "AND", "value": rules}, "pagination": {"per_page": 5}});
        let v = self
            .client
            .post_idempotent("/conversations/search", body)
            .await
            .map_err(http("tickets", &t.ticket.id))?;
        Ok(v.get("conversations").and_then(Value::as_array).and_then(|a| a.first()).and_then(id_of))
    }
}
