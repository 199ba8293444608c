//! Reading a ticket back for reconciliation, and finding a ticket or note after a crash.

use deskferry_extractor::platforms::freshdesk::client::{ATTACHMENTS, DEFAULT};
use deskferry_extractor::platforms::freshdesk::map::ts;
use serde_json::Value;

use super::load::{FreshdeskTarget, http, id_in};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedTicket, ReadComment, ReadTicket};

impl FreshdeskTarget {
    /// The ticket carrying this ticket's marker tag (search; the newest when several).
    pub(super) async fn find_by_marker(
        &self,
        t: &MappedTicket,
    ) -> Result<Option<String>, WriteError> {
        let found = self
            .client
            .tickets_tagged(&map::marker_tag(&t.external_id))
            .await
            .map_err(http("tickets", &t.ticket.id))?;
        Ok(found.iter().filter_map(id_in).max_by_key(|id| id.parse::<u64>().unwrap_or(0)))
    }

    /// The note of a ticket whose footer holds `reference`.
    pub(super) async fn find_note(
        &self,
        ticket: &str,
        reference: &str,
    ) -> Result<Option<String>, WriteError> {
        let path = format!("/api/v2/tickets/{ticket}/conversations");
        let convs = self.client.all(DEFAULT, &path).await.map_err(http("comments", reference))?;
        Ok(convs
            .iter()
            .find(|c| c["body"].as_str().and_then(map::reference).as_deref() == Some(reference))
            .and_then(id_in))
    }

    /// The references of a ticket's messages (its description's and its notes'), by reference:
    /// the target id of each.
    pub(super) async fn references(
        &self,
        ticket: &str,
    ) -> Result<std::collections::HashMap<String, String>, WriteError> {
        let t = self
            .client
            .get(DEFAULT, &format!("/api/v2/tickets/{ticket}?include=conversations"))
            .await
            .map_err(http("tickets", ticket))?;
        let mut convs = t["conversations"].as_array().cloned().unwrap_or_default();
        if convs.len() >= 10 {
            let path = format!("/api/v2/tickets/{ticket}/conversations");
            convs = self.client.all(DEFAULT, &path).await.map_err(http("tickets", ticket))?;
        }
        let mut out: std::collections::HashMap<String, String> = convs
            .iter()
            .filter_map(|c| Some((c["body"].as_str().and_then(map::reference)?, id_in(c)?)))
            .collect();
        if let Some(r) = t["description"].as_str().and_then(map::reference) {
            out.insert(r, format!("{ticket}:description"));
        }
        Ok(out)
    }

    async fn files(
        &self,
        list: &Value,
        id: &str,
    ) -> Result<Vec<(String, String, u64)>, WriteError> {
        let mut out = Vec::new();
        for a in list.as_array().into_iter().flatten() {
            let Some(url) = a["attachment_url"].as_str() else { continue };
            let d =
                self.client.http().digest(ATTACHMENTS, url).await.map_err(http("tickets", id))?;
            out.push((a["name"].as_str().unwrap_or_default().to_string(), d.sha256, d.size));
        }
        Ok(out)
    }

    /// [`crate::target::Target::read_ticket`]: the description (the first message) and every
    /// conversation, with their files' SHA-256.
    pub(super) async fn read_back(&self, id: &str) -> Result<ReadTicket, WriteError> {
        let t = self
            .client
            .get(DEFAULT, &format!("/api/v2/tickets/{id}?include=conversations"))
            .await
            .map_err(http("tickets", id))?;
        let mut convs = t["conversations"].as_array().cloned().unwrap_or_default();
        if convs.len() >= 10 {
            let path = format!("/api/v2/tickets/{id}/conversations");
            convs = self.client.all(DEFAULT, &path).await.map_err(http("tickets", id))?;
        }
        let description = t["description"].as_str().unwrap_or_default();
        let created = ts(t["created_at"].as_str());
        let author = |v: &Value| v.as_u64().map(|n| n.to_string());
        let mut comments = vec![ReadComment {
            id: format!("{id}:description"),
            external_id: map::reference(description),
            author: author(&t["requester_id"]),
            public: true,
            created_at: created,
            attachments: self.files(&t["attachments"], id).await?,
        }];
        for c in &convs {
            comments.push(ReadComment {
                id: id_in(c).unwrap_or_default(),
                external_id: c["body"].as_str().and_then(map::reference),
                author: author(&c["user_id"]),
                public: c["private"] != true,
                created_at: ts(c["created_at"].as_str()),
                attachments: self.files(&c["attachments"], id).await?,
            });
        }
        Ok(ReadTicket {
            id: id.to_string(),
            subject: t["subject"].as_str().map(str::to_string),
            tags: t["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            status: t["status"].as_u64().map(|s| s.to_string()),
            created_at: created,
            original_created_at: map::ticket_created(description),
            comments,
        })
    }
}
