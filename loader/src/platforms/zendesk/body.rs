//! Article bodies pointed at Zendesk: links to other migrated articles and inline images.
//!
//! A body arrives as the source wrote it: its `<a href>`s name the source's articles and its
//! `<img src>`s the source's files. A link names a source article when its URL's path has an
//! `articles` segment followed by that article's source id (alone, or before a `-` and a
//! slug, as Zendesk's `…/articles/360001-title`); it is pointed at the migrated article's
//! `html_url`. An image names a file when a segment of its URL's path is that file's source id
//! (Zendesk's `…/article_attachments/{id}/{name}`, Front's `…/download/{fil_id}`); when the
//! file is uploaded to its article it goes up `inline` and the image is pointed at the new
//! attachment's `content_url`.
//!
//! Articles are written one by one, then the articles' files: a link to an article not
//! migrated yet is rewritten when that article is (its body read back and updated, in this
//! run); an image is rewritten when its file is uploaded. What names nothing migrated (an
//! image whose bytes the bundle lacks, a link to an article the bundle lacks, or one written
//! in a form this does not recognise, such as a public help-center slug) keeps the source's
//! URL, and each article with images says so in the report.

use std::collections::HashMap;

use deskferry_extractor::http::Request;
use deskferry_extractor::platforms::zendesk::client::HELP_CENTER;
use serde_json::{Value, json};

use super::load::{ZendeskTarget, http};
use crate::error::WriteError;

/// What this run keeps of the article rows it wrote whose body needs a later rewrite.
#[derive(Debug, Default)]
pub(super) struct Bodies {
    /// Target row id (`{id}` or `{id}@{locale}`) → (locale, body as written) of rows with
    /// images or links to articles not migrated yet.
    rows: HashMap<String, (String, String)>,
    /// Target row ids written in this run (a row not among them was written by an earlier
    /// run: its body is read back when one of its files is an image).
    seen: std::collections::HashSet<String>,
    /// Source article id → target rows whose bodies link to it (it is not migrated yet).
    waiting: HashMap<String, Vec<String>>,
    /// Target article id → its `html_url`.
    urls: HashMap<String, String>,
}

/// The values of attribute `attr` of every `<tag …>` in `html`: (start, end, value).
pub fn attr_values<'h>(html: &'h str, tag: &str, attr: &str) -> Vec<(usize, usize, &'h str)> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(&open).map(|i| i + at) {
        let after = i + open.len();
        if !lower[after..].starts_with(|c: char| c.is_ascii_whitespace()) {
            at = after;
            continue;
        }
        let end = lower[after..].find('>').map_or(lower.len(), |e| e + after);
        let mut p = after;
        while let Some(j) = lower[p..end].find(attr).map(|j| j + p) {
            let before_ok = lower[..j].ends_with(|c: char| c.is_ascii_whitespace());
            let rest = lower[j + attr.len()..end].trim_start();
            if !before_ok || !rest.starts_with('=') {
                p = j + attr.len();
                continue;
            }
            let eq = end - lower[j + attr.len()..end].trim_start().len();
            let v = eq + 1 + (lower[eq + 1..end].len() - lower[eq + 1..end].trim_start().len());
            let (start, stop) = match html[v..end].chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let s = v + 1;
                    (s, html[s..end].find(q).map_or(end, |k| k + s))
                }
                _ => {
                    (v, html[v..end].find(|c: char| c.is_ascii_whitespace()).map_or(end, |k| k + v))
                }
            };
            out.push((start, stop, &html[start..stop]));
            break;
        }
        at = end;
    }
    out
}

fn path_segments(url: &str) -> impl Iterator<Item = &str> {
    url.split(['?', '#']).next().unwrap_or_default().split('/')
}

/// The source article id a link names (`…/articles/{id}` or `…/articles/{id}-slug`).
pub fn linked_article(url: &str) -> Option<&str> {
    let mut segs = path_segments(url);
    segs.find(|s| *s == "articles")?;
    let seg = segs.next()?;
    let id = seg.split('-').next().unwrap_or_default();
    (!id.is_empty()).then_some(id)
}

/// Whether an image URL names the file of source id `id` (a whole segment of its path).
pub fn names_file(url: &str, id: &str) -> bool {
    !id.is_empty() && path_segments(url).any(|s| s == id)
}

/// `html` with each (start, end) range replaced.
pub fn replace(html: &str, mut reps: Vec<(usize, usize, String)>) -> String {
    reps.sort_by_key(|r| r.0);
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for (s, e, text) in reps {
        if s < at {
            continue;
        }
        out.push_str(&html[at..s]);
        out.push_str(&text);
        at = e;
    }
    out.push_str(&html[at..]);
    out
}

/// Images a body shows.
pub fn image_count(html: &str) -> usize {
    attr_values(html, "img", "src").len()
}

impl ZendeskTarget {
    fn bodies(&self) -> std::sync::MutexGuard<'_, Bodies> {
        self.bodies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a migrated article's `html_url` (from its create's answer).
    pub(super) fn remember_url(&self, target: &str, url: String) {
        self.bodies().urls.insert(target.to_string(), url);
    }

    /// `html` with its links to migrated articles pointed at them; also the source ids of the
    /// articles it links to that are not migrated yet.
    pub(super) async fn link_articles(
        &self,
        entity: &str,
        id: &str,
        html: &str,
    ) -> Result<(String, Vec<String>), WriteError> {
        let mut reps = Vec::new();
        let mut waiting = Vec::new();
        for (s, e, url) in attr_values(html, "a", "href") {
            let Some(src) = linked_article(url) else { continue };
            match self.known("kb_articles", src) {
                Some(t) => {
                    let t = t.split('@').next().unwrap_or_default().to_string();
                    if let Some(u) = self.article_url(entity, id, &t).await? {
                        reps.push((s, e, u));
                    }
                }
                None => waiting.push(src.to_string()),
            }
        }
        Ok((replace(html, reps), waiting))
    }

    /// The `html_url` of migrated article `target` (from its create's answer, else read).
    async fn article_url(
        &self,
        entity: &str,
        id: &str,
        target: &str,
    ) -> Result<Option<String>, WriteError> {
        if let Some(u) = self.bodies().urls.get(target).cloned() {
            return Ok(Some(u));
        }
        let path = format!("/api/v2/help_center/articles/{target}.json");
        let v = self.send(Request::get(HELP_CENTER, &path)).await.map_err(http(entity, id))?;
        let u = v.pointer("/article/html_url").and_then(Value::as_str).map(str::to_string);
        if let Some(u) = &u {
            self.bodies().urls.insert(target.to_string(), u.clone());
        }
        Ok(u)
    }

    /// Notes an article row just written (`tid`, `locale`, its body as sent, the articles it
    /// links to that are not migrated yet, its `html_url` when it is a source row), then
    /// points the rows waiting for this article (`source_id`, a source row) at it.
    pub(super) async fn wrote_article(
        &self,
        source_id: Option<&str>,
        tid: &str,
        locale: &str,
        body: &str,
        waiting_on: Vec<String>,
        url: Option<String>,
    ) -> Result<(), WriteError> {
        let waiters = {
            let mut b = self.bodies();
            b.seen.insert(tid.to_string());
            if let Some(u) = url {
                b.urls.insert(tid.to_string(), u);
            }
            if image_count(body) > 0 || !waiting_on.is_empty() {
                b.rows.insert(tid.to_string(), (locale.to_string(), body.to_string()));
            }
            for w in waiting_on {
                b.waiting.entry(w).or_default().push(tid.to_string());
            }
            source_id.and_then(|s| b.waiting.remove(s)).unwrap_or_default()
        };
        for w in waiters {
            let Some((l, old)) = self.bodies().rows.get(&w).cloned() else { continue };
            let (new, _) = self.link_articles("kb_articles", &w, &old).await?;
            if new != old {
                self.put_body("kb_articles", &w, &l, &new).await?;
            }
        }
        Ok(())
    }

    /// Sends a row's new body (`PUT …/articles/{id}/translations/{locale}`) and keeps it.
    async fn put_body(
        &self,
        entity: &str,
        tid: &str,
        locale: &str,
        body: &str,
    ) -> Result<(), WriteError> {
        let aid = tid.split('@').next().unwrap_or_default();
        let path = format!("/api/v2/help_center/articles/{aid}/translations/{locale}.json");
        let req = Request::put_json(HELP_CENTER, &path, json!({"translation": {"body": body}}));
        self.send(req).await.map_err(http(entity, tid))?;
        self.bodies().rows.insert(tid.to_string(), (locale.to_string(), body.to_string()));
        Ok(())
    }

    /// The body of article row `tid` with its locale, when it may show images: this run's
    /// copy, or (a row an earlier run wrote) read back.
    pub(super) async fn body_of(
        &self,
        id: &str,
        tid: &str,
    ) -> Result<Option<(String, String)>, WriteError> {
        {
            let b = self.bodies();
            if let Some(r) = b.rows.get(tid) {
                return Ok(Some(r.clone()));
            }
            if b.seen.contains(tid) {
                return Ok(None);
            }
        }
        let (path, key) = match tid.split_once('@') {
            Some((aid, l)) => (
                format!("/api/v2/help_center/articles/{aid}/translations/{l}.json"),
                "/translation",
            ),
            None => (format!("/api/v2/help_center/articles/{tid}.json"), "/article"),
        };
        let v =
            self.send(Request::get(HELP_CENTER, &path)).await.map_err(http("attachments", id))?;
        let row = v.pointer(key);
        let body = row.and_then(|r| r.get("body")).and_then(Value::as_str).unwrap_or_default();
        let locale = row.and_then(|r| r.get("locale")).and_then(Value::as_str).unwrap_or("en-us");
        let got = (locale.to_ascii_lowercase(), body.to_string());
        let mut b = self.bodies();
        b.seen.insert(tid.to_string());
        b.rows.insert(tid.to_string(), got.clone());
        Ok(Some(got))
    }

    /// After file `file_id` of article row `tid` was uploaded (`content_url`): the row's
    /// images naming it point at the upload.
    pub(super) async fn point_images(
        &self,
        file_id: &str,
        tid: &str,
        locale: &str,
        body: &str,
        content_url: &str,
    ) -> Result<(), WriteError> {
        let reps: Vec<(usize, usize, String)> = attr_values(body, "img", "src")
            .into_iter()
            .filter(|(_, _, u)| names_file(u, file_id))
            .map(|(s, e, _)| (s, e, content_url.to_string()))
            .collect();
        if reps.is_empty() {
            return Ok(());
        }
        let new = replace(body, reps);
        self.put_body("attachments", tid, locale, &new).await
    }
}

/// Whether `body` shows an image naming file `file_id`.
pub fn shows_file(body: &str, file_id: &str) -> bool {
    attr_values(body, "img", "src").iter().any(|(_, _, u)| names_file(u, file_id))
}
