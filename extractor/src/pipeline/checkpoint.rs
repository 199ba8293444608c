//! What the pipeline keeps in the writer's checkpoint, and when it takes one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::source::StreamCursor;

/// The caller state stored in `checkpoint.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineState {
    /// Per stream, the last cursor whose items are all durable.
    pub streams: BTreeMap<String, StreamCursor>,
}

impl PipelineState {
    /// Reads the state a checkpoint returned (`None`, or something unreadable: start over).
    pub fn from_value(v: Option<serde_json::Value>) -> PipelineState {
        v.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
    }

    /// As stored.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("state serializes")
    }

    /// Envelope cursors: the finished streams' non-empty cursors.
    pub fn envelope_cursors(&self) -> BTreeMap<String, String> {
        self.streams
            .iter()
            .filter(|(_, c)| c.done && !c.cursor.is_empty())
            .map(|(k, c)| (k.clone(), c.cursor.clone()))
            .collect()
    }
}

/// When to checkpoint: on a cursor, once enough time or rows have passed since the last one
/// (each checkpoint fsyncs and writes a run per table, so not on every cursor).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Minimum time between checkpoints.
    pub every: Duration,
    /// ... unless this many rows arrived since the last one.
    pub rows: u64,
    last: Instant,
    since: u64,
}

impl Policy {
    /// A policy starting now.
    pub fn new(every: Duration, rows: u64) -> Policy {
        Policy { every, rows, last: Instant::now(), since: 0 }
    }

    /// One more row appended.
    pub fn row(&mut self) {
        self.since += 1;
    }

    /// True when a cursor arriving now should be persisted.
    pub fn due(&self) -> bool {
        self.last.elapsed() >= self.every || self.since >= self.rows
    }

    /// A checkpoint was taken.
    pub fn taken(&mut self) {
        self.last = Instant::now();
        self.since = 0;
    }
}
