//! Reports in `--report DIR`: summary.csv, records.csv, reconcile.csv and a self-contained
//! report.html (no external assets; every bundle-derived string escaped).

pub mod csv;
pub mod digest;
pub mod group;
pub mod html;

pub use digest::RecordDigest;

use std::path::Path;

use arrow::array::{Array, AsArray};

use deskferry_format::{BundleReader, Table};
use serde::Serialize;

use crate::ledger::{Ledger, RunCounts, RunRow};
use crate::load_error::LoadError;
use crate::reconcile::Reconciliation;

/// One line of summary.csv (read back by the demo and the suite).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SummaryRow {
    /// Bundle table name.
    pub entity: String,
    /// Rows in the bundle.
    pub available: u64,
    /// Migrated (created, updated or matched).
    pub migrated: u64,
    /// Failed (or left pending by an interrupted run).
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Read back from the target and found equal (reconcile reports; tickets, comments and
    /// attachments only).
    pub reconciled: Option<u64>,
}

/// Everything the reports show.
#[derive(Debug, Default, Serialize)]
pub struct ReportData {
    /// `plan`, `demo`, `run`, `reconcile`.
    pub command: String,
    /// Target platform.
    pub platform: String,
    /// Bundle id.
    pub bundle_id: String,
    /// Content id.
    pub content_id: String,
    /// When the report was written (RFC 3339).
    pub generated_at: String,
    /// Per entity.
    pub summary: Vec<SummaryRow>,
    /// The ledger's records as the page shows them (records.csv lists every one, read from
    /// the ledger as it is written).
    pub records: RecordDigest,
    /// This run's counts.
    pub counts: Option<RunCounts>,
    /// Reconciliation, when run.
    pub reconcile: Option<Reconciliation>,
    /// The target's documented limits.
    pub limits: Vec<String>,
    /// What the target sends or triggers during a load, and how to switch it off.
    pub side_effects: Vec<String>,
    /// Notes for people.
    pub notes: Vec<String>,
    /// Every run recorded in the ledger, oldest first.
    pub runs: Vec<RunRow>,
}

/// Entities in report order.
pub const ENTITIES: [&str; 11] = [
    "organizations",
    "users",
    "groups",
    "custom_fields",
    "tickets",
    "comments",
    "attachments",
    "kb_categories",
    "kb_sections",
    "kb_articles",
    "tombstones",
];

impl ReportData {
    /// Summary and records from the ledger (records of this bundle's ids), counts from the bundle.
    pub fn gather(
        command: &str,
        platform: &str,
        reader: &BundleReader,
        ledger: &Ledger,
    ) -> Result<ReportData, LoadError> {
        let mut digest = digest::DigestBuilder::default();
        ledger.each(|e| {
            digest.add(e);
            Ok(())
        })?;
        let mut summary = Vec::new();
        for name in ENTITIES {
            let table = Table::from_name(name);
            let available = table.map(|t| reader.row_count(t)).unwrap_or(0);
            // Counted over this bundle's records only: a ledger that also loaded an earlier
            // (full) bundle holds more than a delta names, and the columns must add up.
            let c = match table {
                Some(t) => ledger.count_among(name, bundle_ids(reader, t)?)?,
                None => Default::default(),
            };
            summary.push(SummaryRow {
                entity: name.to_string(),
                available,
                migrated: c.migrated,
                failed: c.failed,
                skipped: c.skipped,
                reconciled: None,
            });
        }
        Ok(ReportData {
            command: command.to_string(),
            platform: platform.to_string(),
            bundle_id: reader.envelope().bundle_id.clone(),
            content_id: reader.content_id().to_string(),
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            summary,
            records: digest.finish(),
            runs: ledger.runs()?,
            ..Default::default()
        })
    }

    /// Exit code: 0 all migrated (or deliberately skipped), 1 some failed, pending, or skipped for
    /// a reason the user must see, or reconciliation found differences.
    pub fn exit_code(&self) -> i32 {
        let bad = self.records.bad;
        let diff = self.reconcile.as_ref().is_some_and(|r| {
            r.count(crate::reconcile::Verdict::Difference)
                + r.count(crate::reconcile::Verdict::Error)
                > 0
        });
        i32::from(bad || diff)
    }

    /// Attaches a reconciliation and fills the summary's `reconciled` column from it.
    pub fn set_reconcile(&mut self, rec: Reconciliation) {
        let t = rec.totals;
        for row in &mut self.summary {
            row.reconciled = match row.entity.as_str() {
                "tickets" => Some(t.tickets_ok),
                "comments" => Some(t.comments_ok),
                "attachments" => Some(t.attachments_ok),
                "users" => t.users.map(|_| t.users_ok),
                "organizations" => t.organizations.map(|_| t.organizations_ok),
                "groups" => Some(t.groups_ok),
                "kb_categories" => t.kb_categories.map(|_| t.kb_categories_ok),
                "kb_sections" => t.kb_sections.map(|_| t.kb_sections_ok),
                "kb_articles" => t.kb_articles.map(|_| t.kb_articles_ok),
                _ => None,
            };
        }
        self.reconcile = Some(rec);
    }

    /// Writes the four files into `dir` (created if needed); records.csv is read from `ledger`
    /// row by row.
    pub fn write(&mut self, dir: &Path, ledger: &Ledger) -> Result<(), LoadError> {
        std::fs::create_dir_all(dir).map_err(|e| LoadError::io(dir, e))?;
        csv::write_summary(&dir.join("summary.csv"), &self.summary)?;
        csv::write_records(&dir.join("records.csv"), ledger)?;
        csv::write_reconcile(&dir.join("reconcile.csv"), self.reconcile.as_mut())?;
        let html = html::render(self);
        let p = dir.join("report.html");
        std::fs::write(&p, html).map_err(|e| LoadError::io(&p, e))
    }
}

/// The ids of one table of the bundle as the ledger keys them (only the id columns are
/// decoded): the id, and for tombstones `entity:id`.
fn bundle_ids(
    reader: &BundleReader,
    table: Table,
) -> Result<impl Iterator<Item = Result<Vec<String>, LoadError>> + '_, LoadError> {
    Ok(reader.batches(table)?.map(move |batch| {
        let batch = batch?;
        let Some(col) = batch.column_by_name("id") else { return Ok(Vec::new()) };
        let col = col.as_string::<i32>();
        let entity = match table {
            Table::Tombstones => batch.column_by_name("entity").map(|c| c.as_string::<i32>()),
            _ => None,
        };
        Ok((0..col.len())
            .filter(|&i| col.is_valid(i))
            .map(|i| match entity {
                Some(e) => format!("{}:{}", e.value(i), col.value(i)),
                None => col.value(i).to_string(),
            })
            .collect())
    }))
}

#[cfg(test)]
mod tests {
    use deskferry_fixtures::dataset::Size;

    use super::*;
    use crate::ledger::{Entry, Outcome};

    #[test]
    fn summary_counts_only_the_records_this_bundle_names() {
        let b = crate::testing::bundle(1, Size::Tiny);
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.ledger")).unwrap();
        let t = &b.dataset.tickets[0].id;
        ledger
            .put(
                &[
                    Entry::new("tickets", t, Outcome::Migrated, "b", "h1"),
                    // Loaded from an earlier bundle; this one does not name it.
                    Entry::new("tickets", "no-such-ticket", Outcome::Failed, "older", "h2"),
                ],
                None,
            )
            .unwrap();
        let mut d = ReportData::gather("run", "front", &b.reader, &ledger).unwrap();
        let row = d.summary.iter().find(|r| r.entity == "tickets").unwrap();
        assert_eq!(row.available, b.dataset.tickets.len() as u64);
        assert_eq!((row.migrated, row.failed, row.skipped), (1, 0, 0));
        assert_eq!(d.records.total, 2, "the digest covers the whole ledger");
        assert_eq!(d.records.failed_count, 1);
        d.write(dir.path(), &ledger).unwrap();
        let csv = std::fs::read_to_string(dir.path().join("records.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3, "records.csv still lists the whole ledger: {csv}");
    }
}
