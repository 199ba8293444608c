//! Reading migrated tickets back: the markers already on a ticket (re-runs) and whole tickets
//! with their messages and attachment bytes (reconciliation).

use std::collections::BTreeMap;

use deskferry_extractor::http::HttpError;
use deskferry_extractor::platforms::rt::wire::{num, text};
use serde_json::Value;

use super::load::{BODY_QUERY, RtTarget, http_err};
use super::map::{self, ORIGINAL_CREATED_FIELD, TAGS_FIELD, parse_body};
use crate::error::WriteError;
use deskferry_extractor::platforms::rt::map::{is_message, split_parts};
use deskferry_extractor::platforms::rt::wire::{PART_FIELDS, time};

use crate::target::{ReadComment, ReadTicket};

impl RtTarget {
    /// Encoded external ids of the messages already on ticket `id` → transaction id.
    pub(super) async fn markers(&self, id: &str) -> Result<BTreeMap<String, i64>, HttpError> {
        let items = self
            .api
            .all(
                &format!("ticket/{id}/attachments"),
                &[("query", BODY_QUERY), ("fields", "TransactionId,Content"), ("orderby", "id")],
            )
            .await?;
        let mut out = BTreeMap::new();
        for b in &items {
            let txn = num(&b["TransactionId"]).or_else(|| num(&b["TransactionId"]["id"]));
            if let (Some((ext, _)), Some(txn)) = (b["Content"].as_str().and_then(parse_body), txn) {
                out.entry(ext).or_insert(txn);
            }
        }
        Ok(out)
    }

    /// See `Target::read_ticket`: messages in order with markers, authors, and every file
    /// downloaded and hashed.
    pub(super) async fn read_back(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        let e = |e| http_err("tickets", target_id, e);
        let t = self.api.get(&format!("ticket/{target_id}"), &[]).await.map_err(e)?;
        let fields = deskferry_extractor::platforms::rt::wire::custom_field_values(&t);
        let field = |name: &str| fields.iter().find(|c| c.name == name).map(|c| c.values.clone());
        let tags: Vec<String> = field(TAGS_FIELD).unwrap_or_default();
        let original_created_at = field(ORIGINAL_CREATED_FIELD)
            .and_then(|v| v.into_iter().next())
            .and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let history = self
            .api
            .all(
                &format!("ticket/{target_id}/history"),
                &[
                    ("fields", "Type,Creator,Created"),
                    ("fields[Creator]", "Name,EmailAddress"),
                    ("orderby", "id"),
                ],
            )
            .await
            .map_err(e)?;
        let parts = self
            .api
            .all(
                &format!("ticket/{target_id}/attachments"),
                &[("fields", PART_FIELDS), ("orderby", "id")],
            )
            .await
            .map_err(e)?;
        let bodies = self
            .api
            .all(
                &format!("ticket/{target_id}/attachments"),
                &[("query", BODY_QUERY), ("fields", "Content"), ("orderby", "id")],
            )
            .await
            .map_err(e)?;
        let bodies: BTreeMap<i64, String> = bodies
            .iter()
            .filter_map(|b| Some((num(&b["id"])?, b["Content"].as_str().unwrap_or("").to_string())))
            .collect();
        let mut by_txn: BTreeMap<i64, Vec<&Value>> = BTreeMap::new();
        for p in &parts {
            if let Some(txn) = num(&p["TransactionId"]).or_else(|| num(&p["TransactionId"]["id"])) {
                by_txn.entry(txn).or_default().push(p);
            }
        }
        let mut comments = Vec::new();
        for h in &history {
            let Some(txn) = num(&h["id"]) else { continue };
            let tparts = by_txn.get(&txn).map(Vec::as_slice).unwrap_or(&[]);
            if !is_message(h, tparts.len()) {
                continue;
            }
            let msg = split_parts(tparts);
            let body =
                msg.text.or(msg.html).and_then(|p| num(&p["id"])).and_then(|p| bodies.get(&p));
            let external_id = body.and_then(|b| parse_body(b)).map(|(ext, _)| map::decode_id(&ext));
            let mut attachments = Vec::new();
            for f in &msg.files {
                let Some(pid) = num(&f["id"]) else { continue };
                // Hashed as it streams: the target's copy of an attachment never touches disk.
                let got = self.api.digest(txn, pid).await.map_err(e)?;
                attachments.push((text(f, "Filename").unwrap_or_default(), got.sha256, got.size));
            }
            // The author's address, else (a user RT keeps without one) the user's id.
            let author = match text(&h["Creator"], "EmailAddress") {
                Some(m) => Some(m),
                None => match text(&h["Creator"], "Name").or_else(|| text(&h["Creator"], "id")) {
                    Some(n) => Some(self.user_id_of(&n).await.map_err(e)?.unwrap_or(n)),
                    None => None,
                },
            };
            comments.push(ReadComment {
                id: txn.to_string(),
                external_id,
                author,
                public: h["Type"].as_str() != Some("Comment"),
                created_at: time(h, "Created"),
                attachments,
            });
        }
        Ok(ReadTicket {
            id: target_id.to_string(),
            subject: text(&t, "Subject"),
            tags,
            status: text(&t, "Status"),
            created_at: time(&t, "Created"),
            original_created_at,
            comments,
        })
    }
}
