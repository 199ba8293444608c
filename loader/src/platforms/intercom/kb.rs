//! The Help Center: categories become top-level collections, sections collections nested in
//! them, articles articles in their collection; an article's translation is its
//! `translated_content` in that locale (`PUT /articles/{id}`), read back under the target id
//! `{article}:{locale}`.

use deskferry_extractor::platforms::intercom::client::id_of;
use deskferry_format::KbItem;
use serde_json::{Value, json};

use super::load::{IntercomTarget, http, other};
use crate::error::WriteError;
use crate::target::{ReadKbItem, Readback, Written};

fn int(id: &str) -> Value {
    id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(id.to_string()))
}

impl IntercomTarget {
    /// The admin an article names as its author: its author's admin, else the default admin.
    async fn author_admin(&self, item: &KbItem) -> Result<String, WriteError> {
        let admins = self.admins.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(id) = item.author_id.as_deref().and_then(|a| self.known("users", a))
            && admins.iter().any(|x| x.id == id)
        {
            return Ok(id);
        }
        self.default_admin().await
    }

    /// [`crate::target::Target::write_kb_entry`].
    pub(super) async fn write_kb(
        &self,
        entity: &str,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let w = self.write_kb_inner(entity, item, prior).await?;
        if let Some(t) = w.target_id() {
            self.learn(entity, &item.id, t);
        }
        Ok(w)
    }

    async fn write_kb_inner(
        &self,
        entity: &str,
        item: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let err = || http(entity, &item.id);
        if entity != "kb_articles" {
            if item.translation_of.is_some() {
                return Ok(Written::Skipped(format!(
                    "Intercom: a collection's name in another locale ({}) is not loaded by this tool",
                    item.locale.clone().unwrap_or_default()
                )));
            }
            if let Some(id) = prior {
                return Ok(Written::Matched(id.to_string()));
            }
            let mut b = json!({"name": item.title, "description": item.body_html.clone().unwrap_or_default()});
            if entity == "kb_sections" {
                let parent = item.parent_id.as_deref().and_then(|p| self.known("kb_categories", p));
                match parent {
                    Some(p) => b["parent_id"] = p.into(),
                    None => {
                        return Err(other(entity, &item.id, "its category is not migrated (yet)"));
                    }
                }
            }
            let v = self.client.post("/help_center/collections", b).await.map_err(err())?;
            let id = id_of(&v).ok_or_else(|| other(entity, &item.id, "no id in the answer"))?;
            return Ok(Written::Migrated(id));
        }
        let author = self.author_admin(item).await?;
        let state = if item.draft { "draft" } else { "published" };
        if let Some(of) = &item.translation_of {
            let Some(target) = self.known("kb_articles", of) else {
                return Err(other(
                    entity,
                    &item.id,
                    "the article it translates is not migrated (yet)",
                ));
            };
            let target = target.split(':').next().unwrap_or_default().to_string();
            let locale = item.locale.clone().unwrap_or_else(|| "en".into());
            let b = json!({"translated_content": {"type": "article_translated_content", locale.clone(): {
                "type": "article_content", "title": item.title, "body": item.body_html.clone().unwrap_or_default(),
                "author_id": int(&author), "state": state}}});
            self.client.put(&format!("/articles/{target}"), b).await.map_err(err())?;
            return Ok(Written::Migrated(format!("{target}:{locale}")));
        }
        let mut b = json!({"title": item.title, "body": item.body_html.clone().unwrap_or_default(), "author_id": int(&author), "state": state});
        let parent = item
            .parent_id
            .as_deref()
            .and_then(|p| self.known("kb_sections", p).or_else(|| self.known("kb_categories", p)));
        if let Some(p) = parent {
            b["parent_id"] = int(&p);
            b["parent_type"] = "collection".into();
        }
        if let Some(id) = prior {
            let id = id.split(':').next().unwrap_or_default();
            match self.client.put(&format!("/articles/{id}"), b.clone()).await {
                Ok(_) => return Ok(Written::Migrated(id.to_string())),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        let v = self.client.post("/articles", b).await.map_err(err())?;
        let id = id_of(&v).ok_or_else(|| other(entity, &item.id, "no id in the answer"))?;
        Ok(Written::Limited(
            id,
            "Intercom: an article's created and updated times take the load's time".into(),
        ))
    }

    /// [`crate::target::Target::read_kb_item`].
    pub(super) async fn read_kb(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        if entity != "kb_articles" {
            return match self.client.get(&format!("/help_center/collections/{target_id}")).await {
                // A collection's own language is the Help Center's default, not one of its own.
                Ok(v) => Ok(Readback::Found(ReadKbItem {
                    title: s(&v, "name"),
                    locale: None,
                    draft: None,
                    attachments: None,
                })),
                Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
                Err(e) => Err(http(entity, target_id)(e)),
            };
        }
        let (id, locale) = match target_id.split_once(':') {
            Some((i, l)) => (i, Some(l)),
            None => (target_id, None),
        };
        match self.client.get(&format!("/articles/{id}")).await {
            Ok(v) => {
                // An original article is in the Help Center's default language (a workspace
                // setting, not the article's); a translation in its locale.
                let loc = locale.map(str::to_string);
                let content = loc
                    .as_deref()
                    .and_then(|l| v.pointer(&format!("/translated_content/{l}")))
                    .unwrap_or(&v);
                if locale.is_some() && !content.is_object() {
                    return Ok(Readback::Missing);
                }
                Ok(Readback::Found(ReadKbItem {
                    title: s(content, "title"),
                    locale: loc,
                    draft: s(content, "state").map(|x| x == "draft"),
                    attachments: if locale.is_none() { Some(Vec::new()) } else { None },
                }))
            }
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }
}
