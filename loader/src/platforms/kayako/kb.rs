//! The Help Center: categories, sections in their category, articles in their section (with
//! their `legacy_id`, the source id), each translation a further locale of the same item
//! (`PUT` with its locale fields), read back under the target id `{item}:{locale}`; an
//! article's files (`POST /articles/{id}/attachments`).

use deskferry_extractor::http::Part;
use deskferry_extractor::platforms::kayako::client::{data, id_of};
use deskferry_format::KbItem;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::load::{KayakoTarget, http, other, s};
use super::map;
use super::people::not_unique;
use crate::error::WriteError;
use crate::target::{AttachmentData, ReadKbItem, Readback, Written};

fn resource(entity: &str) -> &'static str {
    match entity {
        "kb_categories" => "categories",
        "kb_sections" => "sections",
        _ => "articles",
    }
}

impl KayakoTarget {
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
        let res = resource(entity);
        let loc = map::locale(item.locale.as_deref());
        let body_key = if entity == "kb_articles" { "contents" } else { "descriptions" };
        let html = item.body_html.clone().unwrap_or_default();
        let blocked = map::blocked(&html);
        let mut lost = vec!["Kayako: a Help Center item takes the load's time".to_string()];
        if !blocked.is_empty() {
            lost.push(format!(
                "Kayako's Help Center removes {} from the body: loaded without it",
                blocked.iter().map(|t| format!("<{t}>")).collect::<Vec<_>>().join(", ")
            ));
        }
        let mut b = json!({"titles": map::locale_field(&loc, &item.title)});
        if entity == "kb_articles" || !html.is_empty() {
            b[body_key] = map::locale_field(&loc, &map::nonempty(&html));
        }
        if let Some(of) = &item.translation_of {
            let Some(target) = self.known(entity, of) else {
                return Err(other(
                    entity,
                    &item.id,
                    "the item it translates is not migrated (yet)",
                ));
            };
            let target = target.split(':').next().unwrap_or_default().to_string();
            self.client.put(&format!("/api/v1/{res}/{target}.json"), b).await.map_err(err())?;
            return Ok(Written::Limited(format!("{target}:{loc}"), lost.join("; ")));
        }
        match entity {
            "kb_sections" => {
                let Some(p) =
                    item.parent_id.as_deref().and_then(|p| self.known("kb_categories", p))
                else {
                    return Err(other(entity, &item.id, "its category is not migrated (yet)"));
                };
                b["category_id"] = map::num(&p);
                b["visibility"] = "PUBLIC".into();
            }
            "kb_articles" => {
                let parent = item.parent_id.as_deref();
                let section = match parent.and_then(|p| self.known("kb_sections", p)) {
                    Some(s) => s,
                    // An article right in a category (Kayako's articles live in sections): a
                    // section "General" of that category holds it.
                    None => match parent.and_then(|p| self.known("kb_categories", p)) {
                        Some(c) => {
                            lost.push("Kayako: an article lives in a section; one right in its category is in that category's section \"General\"".into());
                            self.general_section(&c, &loc, entity, &item.id).await?
                        }
                        None => {
                            return Err(other(
                                entity,
                                &item.id,
                                "its section is not migrated (yet)",
                            ));
                        }
                    },
                };
                b["section_id"] = map::num(&section);
                b["status"] = if item.draft { "DRAFT" } else { "PUBLISHED" }.into();
                if let Some(a) = item.author_id.as_deref().and_then(|a| self.known("users", a))
                    && self
                        .staff
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .iter()
                        .any(|x| x.id == a)
                {
                    b["author_id"] = map::num(&a);
                }
                if !item.labels.is_empty() {
                    b["tags"] = item.labels.join(",").into();
                }
            }
            _ => {}
        }
        if let Some(id) = prior {
            let id = id.split(':').next().unwrap_or_default();
            match self.client.put(&format!("/api/v1/{res}/{id}.json"), b.clone()).await {
                Ok(_) => return Ok(Written::Limited(id.to_string(), lost.join("; "))),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        if entity != "kb_categories" {
            b["legacy_id"] = item.id.clone().into();
        }
        let id = match self.client.post(&format!("/api/v1/{res}.json"), b.clone()).await {
            Ok(v) => {
                id_of(data(&v)).ok_or_else(|| other(entity, &item.id, "no id in the answer"))?
            }
            Err(e) if not_unique(&e, "legacy_id") => {
                let v = self
                    .client
                    .get(&format!("/api/v1/{res}.json?legacy_ids={}", item.id))
                    .await
                    .map_err(err())?;
                data(&v)
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(id_of)
                    .ok_or_else(|| err()(e))?
            }
            Err(e) => return Err(err()(e)),
        };
        Ok(Written::Limited(id, lost.join("; ")))
    }

    /// The section "General" of category `category` (created once; found by its legacy id).
    async fn general_section(
        &self,
        category: &str,
        locale: &str,
        entity: &str,
        id: &str,
    ) -> Result<String, WriteError> {
        let legacy = format!("deskferry-general-{category}");
        if let Some(s) = self.known("kb_general", category) {
            return Ok(s);
        }
        let b = json!({"category_id": map::num(category), "titles": map::locale_field(locale, "General"), "visibility": "PUBLIC", "legacy_id": legacy});
        let sid = match self.client.post("/api/v1/sections.json", b).await {
            Ok(v) => id_of(data(&v)).ok_or_else(|| other(entity, id, "no id in the answer"))?,
            Err(e) if not_unique(&e, "legacy_id") => {
                let v = self
                    .client
                    .get(&format!("/api/v1/sections.json?legacy_ids={legacy}"))
                    .await
                    .map_err(http(entity, id))?;
                data(&v)
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(id_of)
                    .ok_or_else(|| http(entity, id)(e))?
            }
            Err(e) => return Err(http(entity, id)(e)),
        };
        self.learn("kb_general", category, &sid);
        Ok(sid)
    }

    /// [`crate::target::Target::write_kb_attachment`].
    pub(super) async fn write_article_file(
        &self,
        article: &str,
        f: &AttachmentData,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(p) = prior {
            return Ok(Written::Matched(p.to_string()));
        }
        let article = article.split(':').next().unwrap_or_default();
        let part = Part {
            name: "files[]".into(),
            file: Some((
                map::file_name(&f.file_name),
                f.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            )),
            bytes: f.bytes.clone(),
        };
        let v = self
            .client
            .post_form(&format!("/api/v1/articles/{article}/attachments.json"), vec![part])
            .await
            .map_err(http("attachments", &f.id))?;
        let id = data(&v)
            .as_array()
            .and_then(|a| a.first())
            .and_then(id_of)
            .ok_or_else(|| other("attachments", &f.id, "no id in the answer"))?;
        Ok(Written::Migrated(id))
    }

    /// [`crate::target::Target::read_kb_item`].
    pub(super) async fn read_kb(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        let (id, locale) = match target_id.split_once(':') {
            Some((i, l)) => (i, Some(l)),
            None => (target_id, None),
        };
        let v = match self.client.get(&format!("/api/v1/{}/{id}.json", resource(entity))).await {
            Ok(v) => v,
            Err(e) if e.status() == Some(404) => return Ok(Readback::Missing),
            Err(e) => return Err(http(entity, target_id)(e)),
        };
        let d = data(&v);
        let titles: Vec<&Value> =
            d.get("titles").and_then(Value::as_array).into_iter().flatten().collect();
        // The item's own locale is its first; a translation's, the one its target id names.
        let field = match locale {
            Some(l) => titles.iter().find(|t| s(t, "locale") == l),
            None => titles.first(),
        };
        let Some(field) = field else { return Ok(Readback::Missing) };
        let attachments = if entity == "kb_articles" && locale.is_none() {
            let mut out = Vec::new();
            for a in d.get("attachments").and_then(Value::as_array).into_iter().flatten() {
                let bytes = self
                    .client
                    .download(&s(a, "url_download"))
                    .await
                    .map_err(http(entity, target_id))?;
                out.push(hex::encode(Sha256::digest(&bytes)));
            }
            Some(out)
        } else {
            None
        };
        Ok(Readback::Found(ReadKbItem {
            title: Some(s(field, "translation")),
            locale: Some(s(field, "locale")),
            draft: (entity == "kb_articles").then(|| s(d, "status") != "PUBLISHED"),
            attachments,
        }))
    }
}
