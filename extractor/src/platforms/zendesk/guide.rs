//! The `help_center` stream: Guide categories, sections and articles in every locale (one row
//! per translation, embedded with `include=translations`; asked per item only where a list did
//! not embed them), and every article's attachments.
//!
//! Cursor: empty until categories and sections are out (they are few and re-read after a
//! kill), then the URL of the next articles page.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

use deskferry_format::{KbArticle, KbCategory, KbSection};

use super::client::{self, HELP_CENTER};
use super::extract::{Run, take_array};
use super::map;
use super::pages::{Paging, Prefetch};
use super::wire;
use crate::error::ExtractError;
use crate::source::Item;

const S: &str = "help_center";

/// Articles whose attachment lists are fetched at once.
const CONCURRENT_ARTICLES: usize = 4;

/// Reads the Help Center into `run`'s sink.
pub(super) async fn run(r: &Run<'_>) -> Result<(), ExtractError> {
    if r.resume.is_done(S) {
        return Ok(());
    }
    let next = match r.resume.cursor(S) {
        Some(url) => url.to_string(),
        None => {
            if !containers(r).await? {
                // No Help Center on this account.
                return r.cursor(S, String::new(), true).await;
            }
            let first = client::help_center_url("articles");
            r.cursor(S, first.clone(), false).await?;
            first
        }
    };
    let mut pages = Prefetch::start(r.client, HELP_CENTER, next, Paging::List);
    while let Some(page) = pages.next().await {
        let mut page = page?;
        let mut owners = Vec::new();
        let mut articles = take_array(&mut page, "articles");
        let mut notes = map::notes();
        for v in &mut articles {
            ensure_translations(r, "articles", v).await?;
            match map::kb_article(v, &mut notes) {
                Ok(rows) => {
                    for row in &rows {
                        r.send(Item::KbArticle(KbArticle(row.clone()))).await?;
                    }
                    owners.push((rows[0].id.clone(), rows));
                }
                Err(e) => r.warn("kb_articles", None, e.to_string()).await?,
            }
        }
        r.flush(&mut notes).await?;
        r.sink.progress().note("kb_articles", articles.len() as u64);
        stream::iter(owners)
            .map(|(id, rows)| article_attachments(r, id, rows))
            .buffer_unordered(CONCURRENT_ARTICLES)
            .try_for_each(|()| async { Ok(()) })
            .await?;
        match Paging::List.next(&page) {
            Some(n) => r.cursor(S, n, false).await?,
            None => r.cursor(S, String::new(), true).await?,
        }
    }
    Ok(())
}

/// Categories then sections; false when the account has no Help Center (404).
async fn containers(r: &Run<'_>) -> Result<bool, ExtractError> {
    for kind in ["categories", "sections"] {
        let mut pages =
            Prefetch::start(r.client, HELP_CENTER, client::help_center_url(kind), Paging::List);
        while let Some(page) = pages.next().await {
            let mut page = match page {
                Ok(p) => p,
                Err(ExtractError::Http(e)) if e.status() == Some(404) && kind == "categories" => {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            let mut notes = map::notes();
            for mut v in take_array(&mut page, kind) {
                ensure_translations(r, kind, &mut v).await?;
                match map::kb_container(&v, kind, &mut notes) {
                    Ok(rows) => {
                        for row in rows {
                            let item = if kind == "categories" {
                                Item::KbCategory(KbCategory(row))
                            } else {
                                Item::KbSection(KbSection(row))
                            };
                            r.send(item).await?;
                        }
                    }
                    Err(e) => r.warn(&format!("kb_{kind}"), None, e.to_string()).await?,
                }
            }
            r.flush(&mut notes).await?;
        }
    }
    Ok(true)
}

/// Embeds the item's translations when the list did not (`include=translations` not honoured,
/// or the item deleted before the list's side-load was made): one request per item then. An
/// item deleted since it was listed answers 404 here: a warning, the item kept as listed.
async fn ensure_translations(r: &Run<'_>, kind: &str, v: &mut Value) -> Result<(), ExtractError> {
    if v.get("translations").is_some() {
        return Ok(());
    }
    let Some(id) = v.get("id").and_then(Value::as_u64) else { return Ok(()) };
    let path = format!("/api/v2/help_center/{kind}/{id}/translations.json");
    let got = r.client.list_all(HELP_CENTER, &path, "translations").await;
    let list = r.followup(&format!("kb_{kind}"), &id.to_string(), "its translations", got).await?;
    v["translations"] = Value::Array(list.unwrap_or_default());
    Ok(())
}

/// One article's attachments, each tied to the row of its locale.
async fn article_attachments(
    r: &Run<'_>,
    article_id: String,
    rows: Vec<deskferry_format::model::KbItem>,
) -> Result<(), ExtractError> {
    let got = r.client.article_attachments(&article_id).await;
    let Some(list) = r.followup("kb_articles", &article_id, "its attachments", got).await? else {
        return Ok(());
    };
    let mut atts = Vec::with_capacity(list.len());
    let mut notes = map::notes();
    for v in &list {
        let w: wire::Attachment = match notes.read("attachments", v) {
            Ok(w) => w,
            Err(e) => {
                notes.refused("attachments", v, &e);
                continue;
            }
        };
        let row = map::article_row_for(&rows, w.locale.as_deref());
        match map::attachment(v, None, None, row.as_deref(), &mut notes) {
            Ok(a) => atts.push(a),
            Err(e) => notes.refused("attachments", v, &e),
        }
    }
    r.flush(&mut notes).await?;
    r.attachments(atts).await
}
