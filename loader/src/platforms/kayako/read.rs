//! Reading back: a case with every post (their first lines give the original author, time and
//! reference) and the bytes of its files, hashed; a case found again by its `legacy_id` after a
//! crash.

use chrono::{DateTime, Utc};
use deskferry_extractor::http::HttpError;
use deskferry_extractor::platforms::kayako::client::{data, esc, id_of};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::load::{KayakoTarget, http, s};
use super::map;
use crate::error::WriteError;
use crate::target::{ReadComment, ReadTicket};

fn time(v: &Value, k: &str) -> Option<deskferry_format::Timestamp> {
    v.get(k)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl KayakoTarget {
    /// Every post of a case, oldest first (pages of 100 by `after_id`), with the original
    /// message or note and its creator side-loaded.
    pub(super) async fn posts(&self, case: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path =
                format!("/api/v1/cases/{case}/posts.json?include=case_message,note,user&limit=100");
            if let Some(a) = &after {
                path.push_str(&format!("&after_id={a}"));
            }
            let v = self.client.get(&path).await?;
            let page = data(&v).as_array().cloned().unwrap_or_default();
            let last = page.last().and_then(id_of);
            let n = page.len();
            out.extend(page);
            if n == 0 || v.get("next_url").is_none_or(Value::is_null) {
                return Ok(out);
            }
            after = last;
        }
    }

    /// [`crate::target::Target::find_ticket`]: the case carrying `external_id` as its
    /// `legacy_id`.
    pub(super) async fn find_case(
        &self,
        external_id: &str,
        source_id: &str,
    ) -> Result<Option<String>, WriteError> {
        let v = self
            .client
            .get(&format!("/api/v1/cases.json?legacy_ids={}", esc(external_id)))
            .await
            .map_err(http("tickets", source_id))?;
        Ok(data(&v)
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c.get("state").and_then(Value::as_str) != Some("TRASH"))
            .and_then(id_of))
    }

    /// [`crate::target::Target::read_ticket`].
    pub(super) async fn read_case(&self, id: &str) -> Result<ReadTicket, WriteError> {
        let err = || http("tickets", id);
        let v = self.client.get(&format!("/api/v1/cases/{id}.json")).await.map_err(err())?;
        let c = data(&v);
        let posts = self.posts(id).await.map_err(err())?;
        let mut comments = Vec::new();
        let mut original_created_at = None;
        for p in &posts {
            let original = p.get("original").unwrap_or(&Value::Null);
            let body = original.get("body_html").and_then(Value::as_str).unwrap_or_default();
            let h = map::read_header(body);
            if let Some(t) = h.as_ref().and_then(|h| h.ticket_created) {
                original_created_at = Some(t);
            }
            let creator_email = p
                .pointer("/creator/emails/0/email")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| p.get("creator").and_then(id_of));
            // The author the first line names (their Kayako id, else their address); a post
            // without one is its creator's.
            let author =
                h.as_ref().and_then(|h| h.author.clone().or(h.email.clone())).or(creator_email);
            let public = p.pointer("/source_channel/type").and_then(Value::as_str) != Some("NOTE");
            let mut attachments = Vec::new();
            for a in p.get("attachments").and_then(Value::as_array).into_iter().flatten() {
                let url = s(a, "url_download");
                let bytes = self.client.download(&url).await.map_err(err())?;
                attachments.push((
                    s(a, "name"),
                    hex::encode(Sha256::digest(&bytes)),
                    bytes.len() as u64,
                ));
            }
            comments.push(ReadComment {
                id: id_of(p).unwrap_or_default(),
                external_id: h.as_ref().map(|h| h.reference.clone()),
                author,
                public,
                created_at: time(p, "created_at"),
                attachments,
            });
        }
        Ok(ReadTicket {
            id: id.to_string(),
            subject: c.get("subject").and_then(Value::as_str).map(str::to_string),
            tags: c
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| s(t, "name"))
                .collect(),
            status: c.pointer("/status/type").and_then(Value::as_str).map(str::to_ascii_lowercase),
            created_at: time(c, "created_at"),
            original_created_at,
            comments,
        })
    }
}
