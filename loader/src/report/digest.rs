//! What the report shows of the ledger's records, gathered in one pass over a cursor: the
//! failed and pending records one by one up to a bound, the skipped ones grouped by kind, and
//! whether anything must make the exit code 1. The ledger may hold millions of records; the
//! digest holds at most [`MAX_ROWS`] of them and one line per kind of skip.

use crate::ledger::{Entry, Outcome};

use super::group::{Group, Grouper};
use super::html::MAX_ROWS;

/// The ledger's records as the report needs them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RecordDigest {
    /// Every record in the ledger.
    pub total: u64,
    /// The first [`MAX_ROWS`] failed or pending records (ledger order).
    pub failed: Vec<Entry>,
    /// Failed or pending records in all.
    pub failed_count: u64,
    /// Skipped records by entity (marked when the skip is notable) and reason.
    pub skipped: Vec<Group>,
    /// Some record failed, is pending, or was skipped for a reason the user must see.
    pub bad: bool,
}

/// Builds a [`RecordDigest`] one entry at a time.
#[derive(Debug, Default)]
pub struct DigestBuilder {
    d: RecordDigest,
    skipped: Grouper,
}

impl DigestBuilder {
    /// Counts one ledger entry.
    pub fn add(&mut self, e: Entry) {
        self.d.total += 1;
        match e.outcome {
            Outcome::Failed | Outcome::Pending => {
                self.d.bad = true;
                self.d.failed_count += 1;
                if self.d.failed.len() < MAX_ROWS {
                    self.d.failed.push(e);
                }
            }
            Outcome::Skipped => {
                self.d.bad |= e.notable;
                let kind =
                    if e.notable { format!("{} (look at it)", e.entity) } else { e.entity.clone() };
                let id = e.source_id;
                self.skipped.add(kind, e.reason.as_deref().unwrap_or(""), || id);
            }
            Outcome::Migrated => {}
        }
    }

    /// The digest.
    pub fn finish(mut self) -> RecordDigest {
        self.d.skipped = self.skipped.finish();
        self.d
    }
}

impl RecordDigest {
    /// The digest of `entries` (tests, and callers holding a few entries).
    pub fn of(entries: impl IntoIterator<Item = Entry>) -> RecordDigest {
        let mut b = DigestBuilder::default();
        for e in entries {
            b.add(e);
        }
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_bounded_number_of_failures_and_one_group_per_kind_of_skip() {
        let entries = (0..(MAX_ROWS as u64 + 20)).map(|i| {
            Entry::new("comments", &i.to_string(), Outcome::Failed, "b", "h")
                .reason("refused", true)
        });
        let skips = (0..1000u64).map(|i| {
            Entry::new("attachments", &format!("a{i}"), Outcome::Skipped, "b", "h")
                .reason(&format!("{i} bytes is over the target's limit"), true)
        });
        let ok = Entry::new("tickets", "1", Outcome::Migrated, "b", "h");
        let d = RecordDigest::of(entries.chain(skips).chain([ok]));
        assert_eq!(d.total, MAX_ROWS as u64 + 20 + 1000 + 1);
        assert_eq!((d.failed.len(), d.failed_count), (MAX_ROWS, MAX_ROWS as u64 + 20));
        assert_eq!(d.skipped.len(), 1);
        assert_eq!(d.skipped[0].count, 1000);
        assert_eq!(d.skipped[0].kind, "attachments (look at it)");
        assert!(d.bad);
        let quiet =
            RecordDigest::of([Entry::new("tickets", "1", Outcome::Skipped, "b", "h")
                .reason("filtered out", false)]);
        assert!(!quiet.bad, "a deliberate skip is not a failure");
    }
}
