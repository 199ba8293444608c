//! Reading a conversation back for reconciliation, and finding one after a crash.

use base64::Engine;
use deskferry_extractor::platforms::helpscout::client::esc;
use deskferry_extractor::platforms::helpscout::map::time;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::load::{HelpScoutTarget, http, id_of};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedTicket, ReadComment, ReadTicket};

/// Thread types that are messages or notes (line items record actions).
const MESSAGES: [&str; 6] = ["customer", "message", "reply", "note", "chat", "phone"];

impl HelpScoutTarget {
    /// The conversation carrying this ticket's marker tag (every status; the newest when
    /// several).
    pub(super) async fn find_by_marker(
        &self,
        t: &MappedTicket,
    ) -> Result<Option<String>, WriteError> {
        let path =
            format!("/v2/conversations?status=all&tag={}", esc(&map::marker_tag(&t.external_id)));
        let found =
            self.all(&path, "conversations").await.map_err(http("tickets", &t.ticket.id))?;
        Ok(found
            .iter()
            .filter_map(|c| id_of(&c["id"]))
            .max_by_key(|id| id.parse::<u64>().unwrap_or(0)))
    }

    /// A conversation (with its threads embedded).
    async fn conversation(&self, id: &str) -> Result<Value, WriteError> {
        self.client
            .get(&format!("/v2/conversations/{id}?embed=threads"))
            .await
            .map_err(http("tickets", id))
    }

    /// The messages and notes of a conversation, oldest first: the embedded ones, or every
    /// page of its threads when it embeds fewer than it holds.
    pub(super) async fn threads_of(&self, id: &str) -> Result<Vec<Value>, WriteError> {
        let c = self.conversation(id).await?;
        self.threads_in(id, &c).await
    }

    async fn threads_in(&self, id: &str, c: &Value) -> Result<Vec<Value>, WriteError> {
        let mut threads = c["_embedded"]["threads"].as_array().cloned().unwrap_or_default();
        if (threads.len() as u64) < c["threads"].as_u64().unwrap_or(0) {
            let path = format!("/v2/conversations/{id}/threads");
            threads = self.all(&path, "threads").await.map_err(http("tickets", id))?;
        }
        // Help Scout lists threads newest first.
        threads.reverse();
        threads.retain(|t| t["type"].as_str().is_some_and(|k| MESSAGES.contains(&k)));
        Ok(threads)
    }

    /// The files of a thread: (name, SHA-256 of the bytes, size).
    async fn files(&self, id: &str, t: &Value) -> Result<Vec<(String, String, u64)>, WriteError> {
        let mut out = Vec::new();
        for a in t["_embedded"]["attachments"].as_array().into_iter().flatten() {
            let Some(aid) = id_of(&a["id"]) else { continue };
            let link = a["_links"]["data"]["href"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("/v2/conversations/{id}/attachments/{aid}/data"));
            let v = self.client.get(&link).await.map_err(http("attachments", &aid))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v["data"].as_str().unwrap_or_default())
                .map_err(|e| {
                    super::load::other("attachments", &aid, format!("data is not base64: {e}"))
                })?;
            out.push((
                a["filename"].as_str().unwrap_or_default().to_string(),
                hex::encode(Sha256::digest(&bytes)),
                bytes.len() as u64,
            ));
        }
        Ok(out)
    }

    /// [`crate::target::Target::read_ticket`]: every message and note with its author's
    /// address, time and files; tags without the marker.
    pub(super) async fn read_back(&self, id: &str) -> Result<ReadTicket, WriteError> {
        let c = self.conversation(id).await?;
        let threads = self.threads_in(id, &c).await?;
        let mut comments = Vec::new();
        for t in &threads {
            let by = &t["createdBy"];
            let author = by["email"]
                .as_str()
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .or_else(|| id_of(&by["id"]));
            comments.push(ReadComment {
                id: id_of(&t["id"]).unwrap_or_default(),
                external_id: t["body"].as_str().and_then(map::reference),
                author,
                public: t["type"] != "note",
                created_at: time(t["createdAt"].as_str()),
                attachments: self.files(id, t).await?,
            });
        }
        Ok(ReadTicket {
            id: id.to_string(),
            subject: c["subject"].as_str().map(str::to_string),
            tags: c["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["tag"].as_str().map(str::to_string))
                .filter(|x| !map::is_marker(x))
                .collect(),
            status: c["status"].as_str().map(str::to_string),
            created_at: time(c["createdAt"].as_str()),
            original_created_at: None,
            comments,
        })
    }
}
