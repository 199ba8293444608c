//! Solutions (Freshdesk's knowledge base): categories, folders (a folder under a folder is a
//! subfolder), articles with their status (draft / published), tags and SEO data, and each of
//! them in another language the account supports (`POST /api/v2/solutions/{kind}/{id}/{lang}`,
//! the translation keeping its source's id). Freshdesk keeps no external id and takes no
//! `created_at` or position: parents are named by the target ids the ledger holds
//! (`Target::remember`), an item whose create's answer was lost is found by its name among its
//! parent's children, and a translation Freshdesk has already is answered 409 and matched; a
//! changed item (a delta) is updated in place (`PUT`, in its language). Article files are not taken (the API's article fields have none): reported per file.

use deskferry_extractor::platforms::freshdesk::client::DEFAULT;
use deskferry_format::KbItem;
use serde_json::json;

use super::load::{FreshdeskTarget, http, id_in, other};
use super::map;
use crate::error::WriteError;
use crate::target::{AttachmentData, ReadKbItem, Readback, Written};

/// The folder an article the source keeps in a category without a folder goes into.
pub(super) const GENERAL_FOLDER: &str = "General";

/// The solutions path word of a knowledge-base table.
pub(super) fn kind_path(entity: &str) -> &'static str {
    match entity {
        "kb_categories" => "categories",
        "kb_sections" => "folders",
        _ => "articles",
    }
}

impl FreshdeskTarget {
    /// The account's primary language and the others it supports (read once).
    async fn languages(&self) -> Result<(String, Vec<String>), WriteError> {
        if let Some(l) = self.languages.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(l);
        }
        let v = self
            .client
            .get(DEFAULT, "/api/v2/settings/helpdesk")
            .await
            .map_err(http("kb", "settings/helpdesk"))?;
        let primary = v["primary_language"].as_str().unwrap_or("en").to_string();
        let others: Vec<String> = v["supported_languages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        let l = (primary, others);
        *self.languages.lock().unwrap_or_else(|e| e.into_inner()) = Some(l.clone());
        Ok(l)
    }

    /// A source item's target id of `entity` the ledger or this run knows.
    pub(super) fn known(&self, entity: &str, source_id: &str) -> Option<String> {
        self.known.get(entity, source_id)
    }

    pub(super) fn learn(&self, entity: &str, source_id: &str, target_id: &str) {
        self.known.learn(entity, source_id, target_id)
    }

    /// [`crate::target::Target::write_kb_entry`] for a row of `entity`.
    pub(super) async fn write_kb(
        &self,
        entity: &str,
        k: &KbItem,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let kind = kind_path(entity);
        let err = || http(entity, &k.id);
        if let Some(p) = prior {
            // Changed at the source since it was migrated (a delta): updated in place, in its
            // language; one Freshdesk no longer has is created again below.
            let path = match p.split_once('@') {
                Some((b, l)) => format!("/api/v2/solutions/{kind}/{b}/{l}"),
                None => format!("/api/v2/solutions/{kind}/{p}"),
            };
            let mut body = map::kb_body(entity, k, k.translation_of.is_some());
            if let Some(a) = self.author_agent(k).filter(|_| entity == "kb_articles") {
                body["agent_id"] = a;
            }
            match self.client.put(DEFAULT, &path, body).await {
                Ok(_) => {
                    self.learn(entity, &k.id, p);
                    return Ok(Written::Migrated(p.to_string()));
                }
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        if let Some(base) = &k.translation_of {
            let Some(b) = self.known(entity, base) else {
                return Err(other(
                    entity,
                    &k.id,
                    format!("its source-language row {base} is not at Freshdesk yet"),
                ));
            };
            let b = b.split('@').next().unwrap_or_default().to_string();
            let (primary, others) = self.languages().await?;
            let locale = k.locale.clone().unwrap_or_default();
            let Some(lang) = map::language(&locale, &others).filter(|l| *l != primary) else {
                return Ok(Written::Skipped(format!(
                    "Freshdesk: the account does not support the language {locale} (primary {primary}, others: {}); this translation is not loaded: add the language in Admin → Helpdesk settings and load again",
                    if others.is_empty() { "none".to_string() } else { others.join(", ") }
                )));
            };
            let path = format!("/api/v2/solutions/{kind}/{b}/{lang}");
            let tid = format!("{b}@{lang}");
            let mut body = map::kb_body(entity, k, true);
            if let Some(a) = self.author_agent(k).filter(|_| entity == "kb_articles") {
                body["agent_id"] = a;
            }
            return match self.client.post(DEFAULT, &path, body).await {
                Ok(_) => {
                    self.learn(entity, &k.id, &tid);
                    Ok(Written::Migrated(tid))
                }
                // Freshdesk has it in that language already (an earlier run whose answer was
                // lost): that one.
                Err(e) if e.status() == Some(409) => {
                    self.learn(entity, &k.id, &tid);
                    Ok(Written::Matched(tid))
                }
                Err(e) => Err(err()(e)),
            };
        }
        let parent = k.parent_id.as_deref().unwrap_or_default();
        let mut notes: Vec<String> = Vec::new();
        let (path, list) = match entity {
            "kb_categories" => {
                ("/api/v2/solutions/categories".to_string(), "/api/v2/solutions/categories".into())
            }
            "kb_sections" => match self.known("kb_categories", parent) {
                Some(c) => {
                    let p = format!("/api/v2/solutions/categories/{c}/folders");
                    (p.clone(), p)
                }
                None => match self.known("kb_sections", parent) {
                    Some(f) => (
                        format!("/api/v2/solutions/folders/{f}/subfolders"),
                        format!("/api/v2/solutions/folders/{f}/subfolders"),
                    ),
                    None => {
                        return Err(other(
                            entity,
                            &k.id,
                            format!("its parent {parent} is not at Freshdesk"),
                        ));
                    }
                },
            },
            _ => {
                let folder = match self.known("kb_sections", parent) {
                    Some(f) => f,
                    // Freshdesk keeps articles in folders only; a source that keeps them in a
                    // category (Help Scout's uncategorized Docs articles) gets the category's
                    // folder "General".
                    None => match self.known("kb_categories", parent) {
                        Some(c) => {
                            notes.push(format!(
                                "Freshdesk keeps articles in folders only: this article of category {parent}, in no folder at the source, is in that category's folder \"{GENERAL_FOLDER}\""
                            ));
                            self.general_folder(entity, k, &c).await?
                        }
                        None => {
                            return Err(other(
                                entity,
                                &k.id,
                                format!("its folder {parent} is not at Freshdesk"),
                            ));
                        }
                    },
                };
                let p = format!("/api/v2/solutions/folders/{folder}/articles");
                (p.clone(), p)
            }
        };
        let mut body = map::kb_body(entity, k, false);
        if entity == "kb_articles" {
            match self.author_agent(k) {
                Some(a) => body["agent_id"] = a,
                None if k.author_id.is_some() => notes.push(format!(
                    "its author {} is no agent at Freshdesk: the API key's agent is named as the author",
                    k.author_id.as_deref().unwrap_or_default()
                )),
                None => {}
            }
        }
        let id = match self.existing(entity, &list, k).await? {
            Some(id) => id,
            None => match self.client.post(DEFAULT, &path, body).await {
                Ok(v) => id_in(&v).ok_or_else(|| other(entity, &k.id, "no id in the answer"))?,
                Err(e) => match e.status() {
                    // A sibling of that name came in between: that one.
                    Some(409) => match self.existing(entity, &list, k).await? {
                        Some(id) => id,
                        None => return Err(err()(e)),
                    },
                    _ => return Err(err()(e)),
                },
            },
        };
        self.learn(entity, &k.id, &id);
        Ok(if notes.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, notes.join("; "))
        })
    }

    /// The Freshdesk agent an article's author is (`agent_id`), where the author is one.
    fn author_agent(&self, k: &KbItem) -> Option<serde_json::Value> {
        let t = self.known("users", k.author_id.as_deref()?)?;
        let agents = self.agent_ids.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .contains(&t)
            .then(|| t.parse::<u64>().map(serde_json::Value::from).unwrap_or(json!(t)))
    }

    /// The folder [`GENERAL_FOLDER`] of category `category`, created the first time an
    /// article needs it.
    async fn general_folder(
        &self,
        entity: &str,
        k: &KbItem,
        category: &str,
    ) -> Result<String, WriteError> {
        let path = format!("/api/v2/solutions/categories/{category}/folders");
        let folders = self.client.all(DEFAULT, &path).await.map_err(http(entity, &k.id))?;
        if let Some(id) =
            folders.iter().find(|f| f["name"].as_str() == Some(GENERAL_FOLDER)).and_then(id_in)
        {
            return Ok(id);
        }
        let body = json!({ "name": GENERAL_FOLDER, "visibility": 1 });
        let v = self.client.post(DEFAULT, &path, body).await.map_err(http(entity, &k.id))?;
        id_in(&v).ok_or_else(|| other(entity, &k.id, "the new folder's answer has no id"))
    }

    /// The item of `k`'s name already among the children `list` shows, unless another source
    /// item of the same name took it.
    async fn existing(
        &self,
        entity: &str,
        list: &str,
        k: &KbItem,
    ) -> Result<Option<String>, WriteError> {
        let items = match self.client.all(DEFAULT, list).await {
            Ok(items) => items,
            // A parent without children of that kind yet (subfolders) may answer 404.
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(http(entity, &k.id)(e)),
        };
        let taken: std::collections::HashSet<String> =
            self.known.targets_of(|e| e.starts_with("kb_")).into_iter().collect();
        let key = if entity == "kb_articles" { "title" } else { "name" };
        Ok(items
            .iter()
            .filter(|x| id_in(x).is_some_and(|id| !taken.contains(&id)))
            .find(|x| x[key].as_str().is_some_and(|n| n.trim() == k.title.trim()))
            .and_then(id_in))
    }

    /// [`crate::target::Target::write_kb_attachment`]: Freshdesk's article fields take no
    /// files, so none is uploaded; each is reported by name.
    pub(super) fn article_file(&self, article: &str, data: &AttachmentData) -> Written {
        Written::Skipped(format!(
            "Freshdesk: solution articles take no files through the API: {} ({} bytes) is not on article {article}; links to it in the body keep pointing at the source",
            data.file_name,
            data.bytes.len()
        ))
    }

    /// [`crate::target::Target::read_kb_item`]: a category, folder or article (target id `N`),
    /// or one of them in another language (`N@lang`).
    pub(super) async fn read_kb(
        &self,
        entity: &str,
        tid: &str,
    ) -> Result<Readback<ReadKbItem>, WriteError> {
        let kind = kind_path(entity);
        let path = match tid.split_once('@') {
            Some((b, l)) => format!("/api/v2/solutions/{kind}/{b}/{l}"),
            None => format!("/api/v2/solutions/{kind}/{tid}"),
        };
        match self.client.get(DEFAULT, &path).await {
            Ok(v) => Ok(Readback::Found(ReadKbItem {
                title: v["title"].as_str().or_else(|| v["name"].as_str()).map(str::to_string),
                locale: None,
                draft: (entity == "kb_articles").then(|| v["status"].as_u64() == Some(1)),
                attachments: None,
            })),
            Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
            Err(e) => Err(http(entity, tid)(e)),
        }
    }
}
