//! Help Center (Guide): categories, sections (nested ones under their parent section),
//! articles in their section with their author, draft state, position and labels, a
//! translation of any of them into another locale, and article attachments (multipart `file`,
//! `inline`). Help Center keeps no external id and takes no `created_at`: parents are named by
//! the target ids the ledger holds (`Target::remember`), and every record takes the time it is
//! written.

use deskferry_extractor::http::{Part, Request};
use deskferry_extractor::platforms::zendesk::client::HELP_CENTER;
use deskferry_format::KbItem;
use serde_json::Value;

use super::load::{ZendeskTarget, http, num, other};
use super::map;
use crate::error::WriteError;
use crate::target::{AttachmentData, Written};

/// The section an article the source keeps directly in a category goes into (Zendesk keeps
/// articles in sections only).
pub(super) const GENERAL_SECTION: &str = "General";

/// The Help Center path word of a knowledge-base table.
pub(super) fn kind_path(entity: &str) -> &'static str {
    match entity {
        "kb_categories" => "categories",
        "kb_sections" => "sections",
        _ => "articles",
    }
}

impl ZendeskTarget {
    /// [`crate::target::Target::write_kb_item`] for a row of `entity`.
    pub(super) async fn write_kb(
        &self,
        entity: &str,
        k: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let kind = kind_path(entity);
        // An article's links to migrated articles point at them (`body.rs`).
        let mut linked = k.clone();
        let mut waiting_on = Vec::new();
        if entity == "kb_articles"
            && let Some(html) = &k.body_html
        {
            let (html, waiting) = self.link_articles(entity, &k.id, html).await?;
            (linked.body_html, waiting_on) = (Some(html), waiting);
        }
        let k = &linked;
        if let Some(p) = prior {
            // A changed item (a delta, or a re-migration with new text): updated in place.
            let w = self.update_kb(entity, k, p).await?;
            if entity == "kb_articles" {
                self.after_article(k, p, waiting_on, None).await?;
            }
            return Ok(w);
        }
        let err = || http(entity, &k.id);
        let mut placed = None;
        let (path, body, key) = if let Some(base) = &k.translation_of {
            let Some(b) = self.known(entity, base) else {
                return Err(other(
                    entity,
                    &k.id,
                    format!("its source-locale row {base} is not at Zendesk yet"),
                ));
            };
            let b = b.split('@').next().unwrap_or_default().to_string();
            (
                format!("/api/v2/help_center/{kind}/{b}/translations.json"),
                map::kb_translation(k),
                "translation",
            )
        } else {
            match entity {
                "kb_categories" => (
                    "/api/v2/help_center/categories.json".to_string(),
                    map::kb_body(entity, k, None, None),
                    "category",
                ),
                "kb_sections" => {
                    let parent = k.parent_id.as_deref().unwrap_or_default();
                    let mut body = map::kb_body(entity, k, None, None);
                    let category = match self.known("kb_categories", parent) {
                        Some(c) => c,
                        None => {
                            // Nested under a section: created in that section's category.
                            let Some(ps) = self.known("kb_sections", parent) else {
                                return Err(other(
                                    entity,
                                    &k.id,
                                    format!("its parent {parent} is not at Zendesk"),
                                ));
                            };
                            let v = self
                                .send(Request::get(
                                    HELP_CENTER,
                                    &format!("/api/v2/help_center/sections/{ps}.json"),
                                ))
                                .await
                                .map_err(err())?;
                            body["section"]["parent_section_id"] =
                                Value::from(num(&ps).unwrap_or_default());
                            v.pointer("/section/category_id")
                                .and_then(Value::as_u64)
                                .map(|n| n.to_string())
                                .ok_or_else(|| {
                                    other(entity, &k.id, "its parent section has no category")
                                })?
                        }
                    };
                    (
                        format!("/api/v2/help_center/categories/{category}/sections.json"),
                        body,
                        "section",
                    )
                }
                _ => {
                    let parent = k.parent_id.as_deref().unwrap_or_default();
                    let section = match self.known("kb_sections", parent) {
                        Some(s) => s,
                        // Zendesk keeps articles in sections only; a source that keeps them in a
                        // category (Help Scout's uncategorized Docs articles) gets the category's
                        // own section.
                        None => match self.known("kb_categories", parent) {
                            Some(category) => {
                                placed = Some(format!(
                                    "Zendesk keeps articles in sections only: this article of category {parent}, in no section at the source, is in that category's section \"{GENERAL_SECTION}\""
                                ));
                                self.general_section(entity, k, &category).await?
                            }
                            None => {
                                return Err(other(
                                    entity,
                                    &k.id,
                                    format!("its section {parent} is not at Zendesk"),
                                ));
                            }
                        },
                    };
                    let Some(group) = self.opts.permission_group_id else {
                        return Err(WriteError::Unsupported {
                            entity: entity.into(),
                            source_id: k.id.clone(),
                            reason: "Zendesk needs a permission group for every article: set [zendesk] permission_group_id".into(),
                        });
                    };
                    let author = match k
                        .author_id
                        .as_deref()
                        .and_then(|a| self.known("users", a))
                        .as_deref()
                        .and_then(num)
                    {
                        Some(a) => a,
                        None => self.me().await?,
                    };
                    (
                        format!("/api/v2/help_center/sections/{section}/articles.json"),
                        map::kb_body(entity, k, Some(author), Some(group)),
                        "article",
                    )
                }
            }
        };
        // Help Center keeps no external id: an item whose create's answer was lost (or a run
        // killed before the ledger took it) is found among its parent's children by its name,
        // and a translation by its locale (Zendesk refuses a second one with 422).
        let id = match self.existing(&path, key, k).await? {
            Some(id) => id,
            None => match self.send(Request::post_json(HELP_CENTER, &path, body)).await {
                Ok(v) => {
                    let url = v.pointer(&format!("/{key}/html_url")).and_then(Value::as_str);
                    let url = url.filter(|_| key == "article").map(str::to_string);
                    let id = v
                        .get(key)
                        .and_then(|r| r.get("id"))
                        .and_then(Value::as_u64)
                        .ok_or_else(|| other(entity, &k.id, "the answer has no id"))?;
                    if let Some(u) = url {
                        self.after_article_url(id, u);
                    }
                    id
                }
                Err(e) if key == "translation" && e.status() == Some(422) => 0,
                Err(e) => return Err(err()(e)),
            },
        };
        let tid = match &k.translation_of {
            Some(base) => {
                let b = self.known(entity, base).unwrap_or_default();
                let b = b.split('@').next().unwrap_or_default().to_string();
                format!("{b}@{}", k.locale.clone().unwrap_or_default().to_ascii_lowercase())
            }
            None => id.to_string(),
        };
        self.learn(entity, &k.id, &tid);
        if entity == "kb_articles" {
            self.after_article(k, &tid, waiting_on, None).await?;
        }
        let images = k.body_html.as_deref().map_or(0, super::body::image_count);
        let placed = match (placed, images) {
            (p, 0) => p,
            (p, n) => {
                let note = format!(
                    "its body shows {n} image(s): each whose file the bundle holds is pointed at Zendesk's copy when that file is uploaded, any other keeps the source's URL"
                );
                Some(p.map_or(note.clone(), |p| format!("{p}; {note}")))
            }
        };
        Ok(match placed {
            Some(why) => Written::Limited(tid, why),
            None => Written::Migrated(tid),
        })
    }

    /// A migrated item changed at the source: its translation in its locale takes the new
    /// title, body and draft state (`PUT …/{kind}/{id}/translations/{locale}`, the same call
    /// for a source-locale row and a translation), and an article's labels and position go to
    /// the article (`PUT /api/v2/help_center/articles/{id}`). A move to another parent or a new
    /// author is not sent (docs/platforms/zendesk.md says so).
    async fn update_kb(
        &self,
        entity: &str,
        k: &KbItem,
        prior: &str,
    ) -> Result<Written, WriteError> {
        let kind = kind_path(entity);
        let (id, locale) = match prior.split_once('@') {
            Some((id, l)) => (id.to_string(), l.to_string()),
            None => (
                prior.to_string(),
                k.locale.clone().unwrap_or_else(|| "en-us".into()).to_ascii_lowercase(),
            ),
        };
        let mut body = map::kb_translation(k);
        if let Some(o) = body["translation"].as_object_mut() {
            // The locale is in the path; a category or section has no draft state.
            o.remove("locale");
            if entity != "kb_articles" {
                o.remove("draft");
            }
        }
        let path = format!("/api/v2/help_center/{kind}/{id}/translations/{locale}.json");
        self.send(Request::put_json(HELP_CENTER, &path, body))
            .await
            .map_err(http(entity, &k.id))?;
        if entity == "kb_articles" && k.translation_of.is_none() {
            let mut article = serde_json::json!({ "label_names": k.labels });
            if let Some(p) = k.position {
                article["position"] = Value::from(p);
            }
            let path = format!("/api/v2/help_center/articles/{id}.json");
            let body = serde_json::json!({ "article": article });
            self.send(Request::put_json(HELP_CENTER, &path, body))
                .await
                .map_err(http(entity, &k.id))?;
        }
        Ok(Written::Migrated(prior.to_string()))
    }

    /// Notes an article row written as `tid` for later rewrites (`body.rs`).
    async fn after_article(
        &self,
        k: &KbItem,
        tid: &str,
        waiting_on: Vec<String>,
        url: Option<String>,
    ) -> Result<(), WriteError> {
        let locale = match tid.split_once('@') {
            Some((_, l)) => l.to_string(),
            None => k.locale.clone().unwrap_or_else(|| "en-us".into()).to_ascii_lowercase(),
        };
        let body = k.body_html.clone().unwrap_or_default();
        let source = k.translation_of.is_none().then_some(k.id.as_str());
        self.wrote_article(source, tid, &locale, &body, waiting_on, url).await
    }

    fn after_article_url(&self, id: u64, url: String) {
        self.remember_url(&id.to_string(), url);
    }

    /// The section [`GENERAL_SECTION`] of Help Center category `category`, created the first
    /// time an article needs it.
    async fn general_section(
        &self,
        entity: &str,
        k: &KbItem,
        category: &str,
    ) -> Result<String, WriteError> {
        let path = format!("/api/v2/help_center/categories/{category}/sections.json");
        let sections = self
            .client
            .list_all(HELP_CENTER, &path, "sections")
            .await
            .map_err(http(entity, &k.id))?;
        let found = sections
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(GENERAL_SECTION));
        let id = match found.and_then(|s| s.get("id")).and_then(Value::as_u64) {
            Some(id) => id,
            None => {
                let locale =
                    k.locale.clone().unwrap_or_else(|| "en-us".into()).to_ascii_lowercase();
                let body =
                    serde_json::json!({ "section": { "name": GENERAL_SECTION, "locale": locale } });
                self.send(Request::post_json(HELP_CENTER, &path, body))
                    .await
                    .map_err(http(entity, &k.id))?
                    .pointer("/section/id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| other(entity, &k.id, "the new section's answer has no id"))?
            }
        };
        Ok(id.to_string())
    }

    /// The item of `k`'s name (a translation: of its locale) already among the children a
    /// create to `path` would add to.
    async fn existing(&self, path: &str, key: &str, k: &KbItem) -> Result<Option<u64>, WriteError> {
        let (list, name_key) = match key {
            "category" => ("categories", "name"),
            "section" => ("sections", "name"),
            "article" => ("articles", "title"),
            _ => ("translations", "title"),
        };
        let items =
            self.client.list_all(HELP_CENTER, path, list).await.map_err(http("kb", &k.id))?;
        let locale = k.locale.clone().unwrap_or_default().to_ascii_lowercase();
        // Another source item of the same name took that one already.
        let taken: std::collections::HashSet<String> =
            self.known.targets_of(|e| e.starts_with("kb_")).into_iter().collect();
        Ok(items
            .iter()
            .filter(|x| {
                key == "translation"
                    || x.get("id")
                        .and_then(Value::as_u64)
                        .is_none_or(|n| !taken.contains(&n.to_string()))
            })
            .find(|x| {
                let same_locale = x
                    .get("locale")
                    .or_else(|| x.get("source_locale"))
                    .and_then(Value::as_str)
                    .is_none_or(|l| l.eq_ignore_ascii_case(&locale));
                if key == "translation" {
                    return x
                        .get("locale")
                        .and_then(Value::as_str)
                        .is_some_and(|l| l.eq_ignore_ascii_case(&locale));
                }
                same_locale && x.get(name_key).and_then(Value::as_str) == Some(k.title.as_str())
            })
            .map(|x| x.get("id").and_then(Value::as_u64).unwrap_or_default()))
    }

    /// [`crate::target::Target::write_kb_attachment`]: the file on its article (of any locale).
    pub(super) async fn write_article_attachment(
        &self,
        article: &str,
        data: &AttachmentData,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(p) = prior {
            return Ok(Written::Migrated(p.to_string()));
        }
        let aid = article.split('@').next().unwrap_or_default();
        let ct = data.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
        // An image the body shows goes up inline, and the body points at it (`body.rs`).
        let body =
            if ct.starts_with("image/") { self.body_of(&data.id, article).await? } else { None };
        let shown = body.as_ref().filter(|(_, b)| super::body::shows_file(b, &data.id));
        let parts = vec![
            Part {
                name: "inline".into(),
                file: None,
                bytes: (data.inline || shown.is_some()).to_string().into_bytes().into(),
            },
            Part {
                name: "file".into(),
                file: Some((data.file_name.clone(), ct)),
                bytes: data.bytes.clone(),
            },
        ];
        let path = format!("/api/v2/help_center/articles/{aid}/attachments.json");
        let v = self
            .send(Request::multipart(HELP_CENTER, &path, parts))
            .await
            .map_err(http("attachments", &data.id))?;
        let id = v
            .pointer("/article_attachment/id")
            .and_then(Value::as_u64)
            .ok_or_else(|| other("attachments", &data.id, "the answer has no attachment id"))?;
        if let Some((locale, b)) = shown {
            let url = v.pointer("/article_attachment/content_url").and_then(Value::as_str);
            let url =
                url.ok_or_else(|| other("attachments", &data.id, "the answer has no content_url"))?;
            self.point_images(&data.id, article, locale, b, url).await?;
        }
        Ok(Written::Migrated(id.to_string()))
    }
}
