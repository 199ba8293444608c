//! Reading back: a ticket with its comments and the hashes of its files, users,
//! organizations, the knowledge base; and the ticket an interrupted run may have imported,
//! found by its external id.

use deskferry_extractor::http::Request;
use deskferry_extractor::platforms::zendesk::client::{ATTACHMENTS, DEFAULT, HELP_CENTER};
use deskferry_extractor::platforms::zendesk::map::ts;
use serde_json::Value;

use super::load::{ZendeskTarget, http, other};
use super::ticket::{FIELDS_NOTE, ORIGINALLY};
use crate::error::WriteError;
use crate::target::{ReadComment, ReadKbItem, ReadOrganization, ReadTicket, ReadUser, Readback};

/// Percent-encodes a query value.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The original time a comment added by a delta carries in its first line.
fn original_time(body: &str) -> Option<deskferry_format::Timestamp> {
    let at = body.find(ORIGINALLY)? + ORIGINALLY.len();
    let end =
        body[at..].find(|c: char| c == '<' || c.is_whitespace()).map_or(body.len(), |e| at + e);
    ts(Some(&body[at..end]))
}

/// The loader's custom-field note marker (the ticket's external id).
fn note_marker(body: &str) -> Option<String> {
    let at = body.find(FIELDS_NOTE)? + FIELDS_NOTE.len();
    let end =
        body[at..].find(|c: char| c == '<' || c.is_whitespace()).map_or(body.len(), |e| at + e);
    Some(format!("{FIELDS_NOTE}{}", &body[at..end]))
}

impl ZendeskTarget {
    /// [`crate::target::Target::find_ticket`]: the list by external id, then search, which
    /// also finds archived tickets (the list leaves them out).
    pub(super) async fn find_by_external_id(
        &self,
        external_id: &str,
        sid: &str,
    ) -> Result<Option<String>, WriteError> {
        let e = || http("tickets", sid);
        let path = format!("/api/v2/tickets.json?external_id={}", query_escape(external_id));
        let v = self.send(Request::get(DEFAULT, &path)).await.map_err(e())?;
        if let Some(id) = v.pointer("/tickets/0/id").and_then(Value::as_u64) {
            return Ok(Some(id.to_string()));
        }
        let q = format!("type:ticket external_id:\"{external_id}\"");
        let path = format!("/api/v2/search.json?query={}", query_escape(&q));
        let v = self.send(Request::get(DEFAULT, &path)).await.map_err(e())?;
        Ok(v.get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| text(r, "result_type").is_none_or(|t| t == "ticket"))
            .and_then(|r| r.get("id").and_then(Value::as_u64))
            .map(|n| n.to_string()))
    }

    /// [`crate::target::Target::read_ticket`].
    pub(super) async fn read_ticket_impl(&self, id: &str) -> Result<ReadTicket, WriteError> {
        let e = || http("tickets", id);
        let v = self
            .send(Request::get(DEFAULT, &format!("/api/v2/tickets/{id}.json")))
            .await
            .map_err(e())?;
        let t = v.get("ticket").ok_or_else(|| other("tickets", id, "no ticket in the answer"))?;
        let comments = self.client.ticket_comments(id).await.map_err(e())?;
        let mut out = Vec::with_capacity(comments.len());
        for c in &comments {
            let body = text(c, "html_body").or_else(|| text(c, "body")).unwrap_or_default();
            let mut files = Vec::new();
            for a in c.get("attachments").and_then(Value::as_array).into_iter().flatten() {
                let Some(url) = text(a, "content_url") else { continue };
                // Hashed as it streams: the target's copy never touches disk.
                let d = self.client.http().digest(ATTACHMENTS, url).await.map_err(e())?;
                files.push((
                    text(a, "file_name").unwrap_or_default().to_string(),
                    d.sha256,
                    d.size,
                ));
            }
            out.push(ReadComment {
                id: c.get("id").and_then(Value::as_u64).unwrap_or_default().to_string(),
                external_id: note_marker(body),
                author: c.get("author_id").and_then(Value::as_i64).map(|a| a.to_string()),
                public: c.get("public").and_then(Value::as_bool).unwrap_or(true),
                created_at: original_time(body).or_else(|| ts(text(c, "created_at"))),
                attachments: files,
            });
        }
        Ok(ReadTicket {
            id: id.to_string(),
            subject: text(t, "subject").map(str::to_string),
            tags: t
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            status: text(t, "status").map(str::to_string),
            created_at: ts(text(t, "created_at")),
            original_created_at: None,
            comments: out,
        })
    }

    async fn get_opt(
        &self,
        bucket: &str,
        path: &str,
        entity: &str,
        id: &str,
    ) -> Result<Option<Value>, WriteError> {
        match self.send(Request::get(bucket, path)).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(http(entity, id)(e)),
        }
    }

    /// [`crate::target::Target::read_user`].
    pub(super) async fn read_user_impl(&self, id: &str) -> Result<Readback<ReadUser>, WriteError> {
        let path = format!("/api/v2/users/{id}.json");
        Ok(match self.get_opt(DEFAULT, &path, "users", id).await? {
            Some(v) => Readback::Found(ReadUser {
                name: v.pointer("/user/name").and_then(Value::as_str).map(str::to_string),
                emails: v
                    .pointer("/user/email")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
            }),
            None => Readback::Missing,
        })
    }

    /// [`crate::target::Target::read_organization`].
    pub(super) async fn read_org_impl(
        &self,
        id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        let path = format!("/api/v2/organizations/{id}.json");
        Ok(match self.get_opt(DEFAULT, &path, "organizations", id).await? {
            Some(v) => Readback::Found(ReadOrganization {
                name: v.pointer("/organization/name").and_then(Value::as_str).map(str::to_string),
            }),
            None => Readback::Missing,
        })
    }

    /// [`crate::target::Target::read_kb_item`]: a category, section or article (target id
    /// `N`), or one of its translations (`N@locale`).
    pub(super) async fn read_kb(
        &self,
        entity: &str,
        tid: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        let kind = super::kb::kind_path(entity);
        let (base, locale) = match tid.split_once('@') {
            Some((b, l)) => (b, Some(l)),
            None => (tid, None),
        };
        let key = match entity {
            "kb_categories" => "category",
            "kb_sections" => "section",
            _ => "article",
        };
        match locale {
            None => {
                let path = format!("/api/v2/help_center/{kind}/{base}.json");
                Ok(match self.get_opt(HELP_CENTER, &path, entity, tid).await? {
                    Some(v) => {
                        let r = v.get(key).cloned().unwrap_or(Value::Null);
                        let attachments = if entity == "kb_articles" {
                            let mut shas = Vec::new();
                            let list = self
                                .client
                                .article_attachments(base)
                                .await
                                .map_err(http(entity, tid))?;
                            for a in list {
                                let Some(url) = text(&a, "content_url") else { continue };
                                let d = self
                                    .client
                                    .http()
                                    .digest(ATTACHMENTS, url)
                                    .await
                                    .map_err(http(entity, tid))?;
                                shas.push(d.sha256);
                            }
                            Some(shas)
                        } else {
                            None
                        };
                        Readback::Found(ReadKbItem {
                            attachments,
                            title: text(&r, "title")
                                .or_else(|| text(&r, "name"))
                                .map(str::to_string),
                            locale: text(&r, "source_locale")
                                .or_else(|| text(&r, "locale"))
                                .map(str::to_string),
                            draft: (entity == "kb_articles")
                                .then(|| r.get("draft").and_then(Value::as_bool).unwrap_or(false)),
                        })
                    }
                    None => Readback::Missing,
                })
            }
            Some(l) => {
                let path = format!("/api/v2/help_center/{kind}/{base}/translations.json");
                let Some(v) = self.get_opt(HELP_CENTER, &path, entity, tid).await? else {
                    return Ok(Readback::Missing);
                };
                let found = v
                    .get("translations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|t| text(t, "locale").is_some_and(|x| x.eq_ignore_ascii_case(l)))
                    .cloned();
                Ok(match found {
                    Some(t) => Readback::Found(ReadKbItem {
                        attachments: None,
                        title: text(&t, "title").map(str::to_string),
                        locale: text(&t, "locale").map(str::to_string),
                        draft: (entity == "kb_articles")
                            .then(|| t.get("draft").and_then(Value::as_bool).unwrap_or(false)),
                    }),
                    None => Readback::Missing,
                })
            }
        }
    }
}
