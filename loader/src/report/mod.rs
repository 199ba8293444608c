//! Reports in `--report DIR`: summary.csv, records.csv, reconcile.csv and a self-contained
//! report.html (no external assets; every bundle-derived string escaped).

pub mod csv;
pub mod html;

use std::path::Path;

use deskferry_format::{BundleReader, Table};
use serde::Serialize;

use crate::ledger::{Entry, Ledger, Outcome, RunCounts, RunRow};
use crate::load_error::LoadError;
use crate::reconcile::Reconciliation;

/// One line of summary.csv.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
}

/// Everything the reports show.
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Per record (from the ledger).
    pub records: Vec<Entry>,
    /// This run's counts.
    pub counts: Option<RunCounts>,
    /// Reconciliation, when run.
    pub reconcile: Option<Reconciliation>,
    /// The target's documented limits.
    pub limits: Vec<String>,
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
        let records = ledger.all()?;
        let mut summary = Vec::new();
        for name in ENTITIES {
            let available = Table::from_name(name).map(|t| reader.row_count(t)).unwrap_or(0);
            let mut row = SummaryRow { entity: name.to_string(), available, ..Default::default() };
            for e in records.iter().filter(|e| e.entity == name) {
                match e.outcome {
                    Outcome::Migrated => row.migrated += 1,
                    Outcome::Skipped => row.skipped += 1,
                    Outcome::Failed | Outcome::Pending => row.failed += 1,
                }
            }
            summary.push(row);
        }
        Ok(ReportData {
            command: command.to_string(),
            platform: platform.to_string(),
            bundle_id: reader.envelope().bundle_id.clone(),
            content_id: reader.content_id().to_string(),
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            summary,
            records,
            runs: ledger.runs()?,
            ..Default::default()
        })
    }

    /// Exit code: 0 all migrated (or deliberately skipped), 1 some failed, pending, or skipped for
    /// a reason the user must see, or reconciliation found differences.
    pub fn exit_code(&self) -> i32 {
        let bad = self.records.iter().any(|e| {
            matches!(e.outcome, Outcome::Failed | Outcome::Pending)
                || (e.outcome == Outcome::Skipped && e.notable)
        });
        let diff = self.reconcile.as_ref().is_some_and(|r| {
            r.checks.iter().any(|c| {
                matches!(
                    c.verdict,
                    crate::reconcile::Verdict::Difference | crate::reconcile::Verdict::Error
                )
            })
        });
        i32::from(bad || diff)
    }

    /// Writes the four files into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<(), LoadError> {
        std::fs::create_dir_all(dir).map_err(|e| LoadError::io(dir, e))?;
        csv::write_summary(&dir.join("summary.csv"), &self.summary)?;
        csv::write_records(&dir.join("records.csv"), &self.records)?;
        csv::write_reconcile(&dir.join("reconcile.csv"), self.reconcile.as_ref())?;
        let html = html::render(self);
        let p = dir.join("report.html");
        std::fs::write(&p, html).map_err(|e| LoadError::io(&p, e))
    }
}
