//! Docs: collections (the bundle's knowledge-base categories, in the site), categories (its
//! sections, in their collection) and articles (in their category, or directly in a collection
//! when the source kept them in no section). Docs keeps no external id and has no
//! translations (an article's other locales become articles of their own): parents are named by the target ids the ledger holds
//! ([`crate::target::Target::remember`]), and an item whose create's answer was lost is found
//! among its parent's items by its name. A category's target id is `category@collection`
//! (an article names both).

use deskferry_extractor::http::Request;
use deskferry_extractor::platforms::helpscout::client::DOCS;
use deskferry_format::KbItem;
use serde_json::Value;

use super::load::{HelpScoutTarget, created_id, http, id_of, other};
use super::map;
use crate::error::WriteError;
use crate::target::{AttachmentData, ReadKbItem, Readback, Written};

impl HelpScoutTarget {
    /// Every item of a Docs list (`{key: {page, pages, items}}`), read once per run.
    async fn docs_list(&self, path: &str, key: &str) -> Result<Vec<(String, String)>, WriteError> {
        let mut lists = self.docs_lists.lock().await;
        if let Some(l) = lists.get(path) {
            return Ok(l.clone());
        }
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let v = self
                .client
                .docs(&format!("{path}{sep}page={page}&pageSize=100"))
                .await
                .map_err(http("kb", path))?;
            for i in v[key]["items"].as_array().into_iter().flatten() {
                if let Some(id) = id_of(&i["id"]) {
                    out.push((id, i["name"].as_str().unwrap_or_default().to_string()));
                }
            }
            if page >= v[key]["pages"].as_u64().unwrap_or(1) as usize {
                break;
            }
            page += 1;
        }
        lists.insert(path.to_string(), out.clone());
        Ok(out)
    }

    /// The Docs site collections go into: `[helpscout] docs_site`, else the account's first.
    async fn site(&self, id: &str) -> Result<String, WriteError> {
        if let Some(s) = &self.opts.docs_site {
            return Ok(s.clone());
        }
        self.docs_list("/v1/sites", "sites").await?.first().map(|(id, _)| id.clone()).ok_or_else(
            || {
                other(
                    "kb_categories",
                    id,
                    "the Docs API shows no site: create one, or name it in [helpscout] docs_site",
                )
            },
        )
    }

    /// [`crate::target::Target::write_kb_entry`].
    pub(super) async fn write_docs(
        &self,
        entity: &str,
        k: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        // Docs has no translations: an article's other locales become articles of their own
        // beside it (their own title and text); a collection's or category's are not loaded.
        let translated = k.translation_of.is_some();
        if translated && entity != "kb_articles" {
            return Ok(Written::Skipped(
                "Help Scout Docs has no translations: this locale's name is not loaded".into(),
            ));
        }
        if let Some(p) = prior {
            return Ok(Written::Limited(
                p.to_string(),
                "changed at the source since it was migrated; Docs items are not updated by this tool".into(),
            ));
        }
        let parent = k.parent_id.as_deref().unwrap_or_default();
        let missing = |what: &str| {
            other(entity, &k.id, format!("its {what} {parent} is not in Help Scout Docs"))
        };
        let (list, key, path, body, suffix) = match entity {
            "kb_categories" => {
                let site = self.site(&k.id).await?;
                (
                    "/v1/collections".to_string(),
                    "collections",
                    "/v1/collections",
                    map::docs_body(entity, k, Some(&site), None, None),
                    None,
                )
            }
            "kb_sections" => {
                let coll =
                    self.known("kb_categories", parent).ok_or_else(|| missing("collection"))?;
                (
                    format!("/v1/collections/{coll}/categories"),
                    "categories",
                    "/v1/categories",
                    map::docs_body(entity, k, None, Some(&coll), None),
                    Some(coll),
                )
            }
            _ => {
                let (cat, coll) = match self.known("kb_sections", parent) {
                    Some(t) => {
                        let (cat, coll) = t.split_once('@').unwrap_or((t.as_str(), ""));
                        (Some(cat.to_string()), coll.to_string())
                    }
                    None => (
                        None,
                        self.known("kb_categories", parent).ok_or_else(|| missing("category"))?,
                    ),
                };
                let list = match &cat {
                    Some(c) => format!("/v1/categories/{c}/articles"),
                    None => format!("/v1/collections/{coll}/articles"),
                };
                (
                    list,
                    "articles",
                    "/v1/articles",
                    map::docs_body(entity, k, None, Some(&coll), cat.as_deref()),
                    None,
                )
            }
        };
        let existing = {
            let items = self.docs_list(&list, key).await?;
            let taken = self.docs_taken.lock().unwrap_or_else(|e| e.into_inner());
            items
                .iter()
                .find(|(id, name)| name == &k.title && !taken.contains(id))
                .map(|(id, _)| id.clone())
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let r = self
                    .client
                    .docs_send(Request::post_json(DOCS, path, body))
                    .await
                    .map_err(http(entity, &k.id))?;
                let id = created_id(&r)
                    .or_else(|| {
                        let v: Value = r.json().ok()?;
                        v.as_object()?.values().find_map(|x| id_of(&x["id"]))
                    })
                    .ok_or_else(|| other(entity, &k.id, "the create's answer names no id"))?;
                if let Some(l) = self.docs_lists.lock().await.get_mut(&list) {
                    l.push((id.clone(), k.title.clone()));
                }
                id
            }
        };
        self.docs_taken.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone());
        let tid = match suffix {
            Some(coll) => format!("{id}@{coll}"),
            None => id,
        };
        self.learn(entity, &k.id, &tid);
        Ok(if translated {
            Written::Limited(
                tid,
                format!(
                    "Help Scout Docs has no translations: this {} version is an article of its own beside the original",
                    k.locale.as_deref().unwrap_or("other locale's")
                ),
            )
        } else {
            Written::Migrated(tid)
        })
    }

    /// [`crate::target::Target::write_kb_attachment`].
    pub(super) async fn write_docs_file(
        &self,
        _article: &str,
        _data: &AttachmentData,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        Ok(Written::Skipped(
            "Help Scout Docs: article files are not uploaded by this tool (they stay links in the article's text)".into(),
        ))
    }

    /// [`crate::target::Target::read_kb_item`].
    pub(super) async fn read_docs(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        let id = target_id.split('@').next().unwrap_or(target_id);
        let (path, key) = match entity {
            "kb_categories" => (format!("/v1/collections/{id}"), "collection"),
            "kb_sections" => (format!("/v1/categories/{id}"), "category"),
            _ => (format!("/v1/articles/{id}"), "article"),
        };
        match self.client.docs(&path).await {
            Ok(v) => {
                let item = &v[key];
                Ok(Readback::Found(ReadKbItem {
                    title: item["name"].as_str().map(str::to_string),
                    locale: None,
                    draft: (key == "article").then(|| item["status"] == "notpublished"),
                    attachments: None,
                }))
            }
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }
}
