//! The knowledge base: categories (the bundle's categories, and its sections, flattened: Groove
//! has one level) and articles (in their category), created as drafts in the account's
//! knowledge base (`[options] knowledge_base`, else its first). Groove keeps no external id: an
//! item whose create's answer was lost is found among the knowledge base's items by its title.

use deskferry_format::KbItem;
use serde_json::{Value, json};

use super::load::{GrooveTarget, http, id_of, other};
use crate::error::WriteError;
use crate::target::{ReadKbItem, Readback, Written};

impl GrooveTarget {
    /// The knowledge base items go into.
    async fn knowledge_base(&self, entity: &str, id: &str) -> Result<String, WriteError> {
        let mut g = self.kb.lock().await;
        if let Some(k) = g.as_ref() {
            return Ok(k.clone());
        }
        let v = self.client.get("/v1/kb").await.map_err(http(entity, id))?;
        let list = v["knowledge_bases"].as_array().cloned().unwrap_or_default();
        let want = self.opts.knowledge_base.as_deref();
        let found = list
            .iter()
            .find(|k| {
                want.is_none_or(|w| {
                    id_of(&k["id"]).as_deref() == Some(w)
                        || k["title"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(w))
                })
            })
            .and_then(|k| id_of(&k["id"]))
            .ok_or_else(|| {
                other(entity, id, "the Groove account has no such knowledge base (the API creates none): create one, or name it in [options] knowledge_base")
            })?;
        *g = Some(found.clone());
        Ok(found)
    }

    /// The id of the item titled `title` in list `path`, if any.
    async fn titled(
        &self,
        path: &str,
        key: &str,
        title: &str,
        entity: &str,
    ) -> Result<Option<String>, WriteError> {
        let list = self.client.all(path, key).await.map_err(http(entity, path))?;
        Ok(list.iter().find(|x| x["title"].as_str() == Some(title)).and_then(|x| id_of(&x["id"])))
    }

    /// [`crate::target::Target::write_kb_entry`].
    pub(super) async fn write_kb(
        &self,
        entity: &str,
        k: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(p) = prior {
            return Ok(Written::Limited(
                p.to_string(),
                "changed at the source since it was migrated; Groove knowledge-base items are not updated by this tool".into(),
            ));
        }
        let mut lost: Vec<String> = Vec::new();
        if k.translation_of.is_some() {
            if entity != "kb_articles" {
                return Ok(Written::Skipped(
                    "Groove's knowledge base has one language: this locale's name of a category is not loaded".into(),
                ));
            }
            lost.push(format!(
                "Groove's knowledge base has one language: this {} version is an article of its own",
                k.locale.as_deref().unwrap_or("other locale's")
            ));
        }
        let kb = self.knowledge_base(entity, &k.id).await?;
        let (path, key, body) = match entity {
            "kb_categories" | "kb_sections" => {
                if entity == "kb_sections" {
                    lost.push(
                        "Groove's categories have one level: this section is a category of its own"
                            .into(),
                    );
                }
                let mut b = json!({ "title": k.title });
                if let Some(d) = &k.body_html {
                    b["description"] = json!(d);
                }
                if let Some(p) = k.position {
                    b["position"] = json!(p);
                }
                (format!("/v1/kb/{kb}/categories"), "categories", b)
            }
            _ => {
                let parent = k.parent_id.as_deref().unwrap_or_default();
                let category = self
                    .known("kb_sections", parent)
                    .or_else(|| self.known("kb_categories", parent));
                if category.is_none() && !parent.is_empty() {
                    return Err(other(
                        entity,
                        &k.id,
                        format!("its section or category {parent} is not in Groove"),
                    ));
                }
                let body = k.body_html.clone().unwrap_or_default();
                if body.contains("src=\"data:") || body.contains("src='data:") {
                    lost.push("images embedded as data: URIs stay in the text as they are (Groove's API takes no knowledge-base file)".into());
                }
                if !k.draft {
                    lost.push("created as a draft (Groove's API has no publish call): publish it in Groove".into());
                }
                let mut b = json!({ "title": k.title, "body": body, "tags": k.labels });
                if let Some(c) = category {
                    b["category_id"] = Value::String(c);
                }
                (format!("/v1/kb/{kb}/articles"), "articles", b)
            }
        };
        let singular = if key == "categories" { "category" } else { "article" };
        let id = match self.titled(&path, key, &k.title, entity).await? {
            // Created by a run whose answer was lost (titles are unique in practice: reported).
            Some(id) if self.known_targets(entity).iter().all(|t| t != &id) => id,
            _ => {
                let v = self.client.post(&path, body).await.map_err(http(entity, &k.id))?;
                id_of(&v[singular]["id"])
                    .ok_or_else(|| other(entity, &k.id, "the answer names no id"))?
            }
        };
        self.learn(entity, &k.id, &id);
        Ok(if lost.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, lost.join("; "))
        })
    }

    fn known_targets(&self, entity: &str) -> Vec<String> {
        self.known.targets_of(|e| {
            e == entity || ["kb_categories", "kb_sections", "kb_articles"].contains(&e)
        })
    }

    /// [`crate::target::Target::read_kb_item`]: title (the draft flag is not compared: Groove's
    /// API creates every article as a draft).
    pub(super) async fn read_kb(
        &self,
        entity: &str,
        target_id: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        let kb = self.knowledge_base(entity, target_id).await?;
        let (path, key) = match entity {
            "kb_articles" => (format!("/v1/kb/{kb}/articles/{target_id}"), "article"),
            _ => (format!("/v1/kb/{kb}/categories/{target_id}"), "category"),
        };
        match self.client.get(&path).await {
            Ok(v) => Ok(Readback::Found(ReadKbItem {
                title: v[key]["title"].as_str().map(str::to_string),
                locale: None,
                draft: None,
                attachments: None,
            })),
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http(entity, target_id)(e)),
        }
    }
}
