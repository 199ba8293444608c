//! Reading a ticket back for reconciliation, and finding one after a crash.

use std::collections::HashMap;

use deskferry_extractor::platforms::groove::client::{esc, id_from_href, person_from_href};
use deskferry_format::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::load::{GrooveTarget, http};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedTicket, ReadComment, ReadTicket};

fn time(v: &Value) -> Option<Timestamp> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl GrooveTarget {
    /// The ticket carrying this ticket's marker tag among its customer's tickets (Groove's v1
    /// list filters by customer, not by tag).
    pub(super) async fn find_by_marker(
        &self,
        t: &MappedTicket,
    ) -> Result<Option<String>, WriteError> {
        let marker = map::marker_tag(&t.external_id);
        let Some(email) = t.requester.email.clone().filter(|_| !t.requester.is_agent) else {
            // Without the requester's address, every ticket is looked through.
            return self.find_in("/v1/tickets", &marker, &t.ticket.id).await;
        };
        self.find_in(&format!("/v1/tickets?customer={}", esc(&email)), &marker, &t.ticket.id).await
    }

    async fn find_in(
        &self,
        path: &str,
        marker: &str,
        src: &str,
    ) -> Result<Option<String>, WriteError> {
        let list = self.client.all(path, "tickets").await.map_err(http("tickets", src))?;
        Ok(list
            .iter()
            .filter(|x| x["tags"].as_array().is_some_and(|a| a.iter().any(|g| g == marker)))
            .filter_map(|x| x["number"].as_u64())
            .max()
            .map(|n| n.to_string()))
    }

    /// Every message of ticket `number`, oldest first.
    async fn messages_of(&self, number: &str) -> Result<Vec<Value>, WriteError> {
        self.client
            .all(&format!("/v1/tickets/{number}/messages"), "messages")
            .await
            .map_err(http("tickets", number))
    }

    /// The references of a ticket's messages (reference → message id), and its messages
    /// without one ((time, public) → message id: the first message, written with its ticket).
    #[allow(clippy::type_complexity)]
    pub(super) async fn references(
        &self,
        number: &str,
    ) -> Result<(HashMap<String, String>, Vec<((Option<i64>, bool), String)>), WriteError> {
        let msgs = self.messages_of(number).await?;
        let mut refs = HashMap::new();
        let mut unmarked = Vec::new();
        for m in &msgs {
            let Some(id) = m["href"].as_str().and_then(id_from_href) else { continue };
            match m["body"].as_str().and_then(map::reference) {
                Some(r) => {
                    refs.insert(r, id);
                }
                None => unmarked
                    .push(((time(&m["created_at"]).map(|t| t.timestamp()), m["note"] != true), id)),
            }
        }
        Ok((refs, unmarked))
    }

    /// [`crate::target::Target::read_ticket`]: every message and note with its author's
    /// address, time and files (downloaded and hashed); tags without the marker.
    pub(super) async fn read_back(&self, number: &str) -> Result<ReadTicket, WriteError> {
        let v = self
            .client
            .get(&format!("/v1/tickets/{number}"))
            .await
            .map_err(http("tickets", number))?;
        let t = &v["ticket"];
        let mut comments = Vec::new();
        for m in self.messages_of(number).await? {
            let id = m["href"].as_str().and_then(id_from_href).unwrap_or_default();
            let mut files = Vec::new();
            for a in self.files_of(&id).await? {
                let Some(url) = a["url"].as_str() else { continue };
                let bytes = self.client.download(url).await.map_err(http("attachments", &id))?;
                files.push((
                    a["filename"].as_str().unwrap_or_default().to_string(),
                    hex::encode(Sha256::digest(&bytes)),
                    bytes.len() as u64,
                ));
            }
            comments.push(ReadComment {
                id,
                external_id: m["body"].as_str().and_then(map::reference),
                author: m["links"]["author"]["href"]
                    .as_str()
                    .and_then(person_from_href)
                    .map(|(e, _)| e),
                public: m["note"] != true,
                created_at: time(&m["created_at"]),
                attachments: files,
            });
        }
        Ok(ReadTicket {
            id: number.to_string(),
            subject: t["title"].as_str().map(str::to_string),
            tags: t["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .filter(|x| !map::is_marker(x))
                .collect(),
            status: t["state"].as_str().map(str::to_string),
            created_at: time(&t["created_at"]),
            original_created_at: None,
            comments,
        })
    }
}
