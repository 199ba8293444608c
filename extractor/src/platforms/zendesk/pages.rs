//! Paging machinery shared by the Zendesk streams: a prefetching pager and the cursors the
//! streams persist.
//!
//! Why prefetch: the incremental budget (10/min) is the bottleneck of a Zendesk export, so the
//! next page is requested while the current one is mapped and its attachments download; at most
//! one page waits in memory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client::Client;
use super::wire;
use crate::error::ExtractError;

/// How to find the next page's URL in a page.
#[derive(Debug, Clone, Copy)]
pub enum Paging {
    /// Cursor-based exports: `after_url` until `end_of_stream`.
    CursorExport,
    /// Time-based exports: `next_page` until `end_of_stream`.
    TimeExport,
    /// Plain lists: `links.next` while `meta.has_more` (or offset `next_page`).
    List,
}

impl Paging {
    /// The next page's URL, `None` after the last page.
    pub fn next(self, page: &Value) -> Option<String> {
        let end = page.get("end_of_stream").and_then(Value::as_bool).unwrap_or(false);
        match self {
            Paging::CursorExport if end => None,
            Paging::CursorExport => {
                page.get("after_url").and_then(Value::as_str).map(str::to_string)
            }
            Paging::TimeExport if end => None,
            Paging::TimeExport => page.get("next_page").and_then(Value::as_str).map(str::to_string),
            Paging::List => wire::ListPaging::deserialize(page).ok()?.next().map(str::to_string),
        }
    }
}

/// Pages fetched one ahead of the consumer by a background task; dropping it stops the task.
pub struct Prefetch {
    rx: mpsc::Receiver<Result<Value, ExtractError>>,
    task: JoinHandle<()>,
}

impl Prefetch {
    /// Starts fetching at `first` from `bucket`.
    pub fn start(client: &Client, bucket: &'static str, first: String, paging: Paging) -> Prefetch {
        let (tx, rx) = mpsc::channel(1);
        let client = client.clone();
        let task = tokio::spawn(async move {
            let mut url = first;
            loop {
                let page = client.get(bucket, &url).await.map_err(ExtractError::from);
                let next = page.as_ref().ok().and_then(|p| paging.next(p));
                let failed = page.is_err();
                if tx.send(page).await.is_err() || failed {
                    return;
                }
                match next {
                    Some(n) => url = n,
                    None => return,
                }
            }
        });
        Prefetch { rx, task }
    }

    /// The next page, `None` after the last.
    pub async fn next(&mut self) -> Option<Result<Value, ExtractError>> {
        self.rx.recv().await
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `tickets` stream's position: ticket events (comments) first, then the ticket export.
///
/// While in progress it carries the status each deleted ticket had before deletion (learnt from
/// the events, needed for the ticket rows); the finished cursor drops it, so the envelope only
/// holds the two resume points a delta starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketsCursor {
    /// `start_time` of the next ticket events page.
    #[serde(default)]
    pub events_from: i64,
    /// The events phase is finished.
    #[serde(default)]
    pub events_done: bool,
    /// `after_cursor` of the ticket export (none: from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tickets: Option<String>,
    /// Deleted ticket id → status before deletion.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deleted: BTreeMap<String, String>,
}

impl TicketsCursor {
    /// Reads a cursor written by [`TicketsCursor::to_text`].
    pub fn parse(text: &str) -> Result<TicketsCursor, ExtractError> {
        serde_json::from_str(text).map_err(|e| ExtractError::Source {
            platform: "zendesk",
            entity: "tickets".into(),
            id: "cursor".into(),
            message: format!("unreadable cursor: {e}"),
        })
    }

    /// The cursor as stored.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Where a delta starts: both resume points, the events phase to be run again.
    pub fn for_delta(parent: &TicketsCursor) -> TicketsCursor {
        TicketsCursor {
            events_from: parent.events_from,
            events_done: false,
            tickets: parent.tickets.clone(),
            deleted: BTreeMap::new(),
        }
    }
}

/// The `start_time` of a time-based export's next page (from its `next_page` URL), else the
/// page's `end_time` (the boundary second repeats; rows are de-duplicated by id downstream).
pub fn next_start_time(page: &Value) -> Option<i64> {
    let from_url = page.get("next_page").and_then(Value::as_str).and_then(|u| {
        let q = u.split_once('?')?.1;
        q.split('&').find_map(|kv| kv.strip_prefix("start_time=")?.parse::<i64>().ok())
    });
    from_url.or_else(|| page.get("end_time").and_then(Value::as_i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paging_styles_find_the_next_page() {
        let cur = json!({ "after_url": "u2", "end_of_stream": false });
        assert_eq!(Paging::CursorExport.next(&cur).as_deref(), Some("u2"));
        let end = json!({ "after_url": "u2", "end_of_stream": true });
        assert_eq!(Paging::CursorExport.next(&end), None);
        let t = json!({ "next_page": "https://x/api?start_time=17&per_page=1000", "end_time": 16, "end_of_stream": false });
        assert_eq!(
            Paging::TimeExport.next(&t).as_deref(),
            Some("https://x/api?start_time=17&per_page=1000")
        );
        assert_eq!(next_start_time(&t), Some(17));
        assert_eq!(next_start_time(&json!({ "next_page": null, "end_time": 99 })), Some(99));
        let l = json!({ "meta": { "has_more": true }, "links": { "next": "n" } });
        assert_eq!(Paging::List.next(&l).as_deref(), Some("n"));
    }

    #[test]
    fn tickets_cursor_round_trips_and_drops_deleted_for_delta() {
        let mut c = TicketsCursor {
            events_from: 5,
            events_done: true,
            tickets: Some("abc=".into()),
            ..Default::default()
        };
        c.deleted.insert("7".into(), "open".into());
        let back = TicketsCursor::parse(&c.to_text()).unwrap();
        assert_eq!(back, c);
        let d = TicketsCursor::for_delta(&back);
        assert!(!d.events_done && d.deleted.is_empty());
        assert_eq!((d.events_from, d.tickets.as_deref()), (5, Some("abc=")));
        assert!(TicketsCursor::parse("nope").is_err());
    }
}
