//! The CSV reports (RFC 4180 quoting by the csv crate).

use std::path::Path;

use crate::ledger::Ledger;
use crate::load_error::LoadError;
use crate::reconcile::Reconciliation;

use super::SummaryRow;

fn err(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::io(path, std::io::Error::other(e.to_string()))
}

fn writer(path: &Path) -> Result<csv::Writer<std::fs::File>, LoadError> {
    csv::Writer::from_path(path).map_err(|e| err(path, e))
}

/// Cells starting with `=`, `+`, `-`, `@` are formulas to spreadsheet programs; bundle content
/// is untrusted, so such cells get a leading apostrophe.
pub fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// summary.csv: entity, available, migrated, failed, skipped, reconciled (empty unless the
/// report is a reconciliation's, and then only for tickets, comments and attachments).
pub fn write_summary(path: &Path, rows: &[SummaryRow]) -> Result<(), LoadError> {
    let mut w = writer(path)?;
    w.write_record(["entity", "available", "migrated", "failed", "skipped", "reconciled"])
        .map_err(|e| err(path, e))?;
    for r in rows {
        w.write_record([
            r.entity.clone(),
            r.available.to_string(),
            r.migrated.to_string(),
            r.failed.to_string(),
            r.skipped.to_string(),
            r.reconciled.map(|n| n.to_string()).unwrap_or_default(),
        ])
        .map_err(|e| err(path, e))?;
    }
    w.flush().map_err(|e| err(path, e))
}

/// records.csv: entity, source id, target id, outcome, reason; every record of the ledger,
/// read from its cursor one at a time.
pub fn write_records(path: &Path, ledger: &Ledger) -> Result<(), LoadError> {
    let mut w = writer(path)?;
    w.write_record(["entity", "source_id", "target_id", "outcome", "reason"])
        .map_err(|e| err(path, e))?;
    ledger.each(|r| {
        w.write_record([
            cell(&r.entity),
            cell(&r.source_id),
            cell(r.target_id.as_deref().unwrap_or("")),
            r.outcome.as_str().to_string(),
            cell(r.reason.as_deref().unwrap_or("")),
        ])
        .map_err(|e| err(path, e))
    })?;
    w.flush().map_err(|e| err(path, e))
}

/// reconcile.csv: record (the source id of a ticket, user or organization), target id, comment,
/// check, verdict, expected, actual, note, entity (the bundle table of the record).
pub fn write_reconcile(path: &Path, rec: Option<&mut Reconciliation>) -> Result<(), LoadError> {
    let mut w = writer(path)?;
    w.write_record([
        "record",
        "target_id",
        "comment",
        "check",
        "verdict",
        "expected",
        "actual",
        "note",
        "entity",
    ])
    .map_err(|e| err(path, e))?;
    if let Some(rec) = rec {
        rec.checks.each(|c| {
            w.write_record([
                cell(&c.record),
                cell(&c.target_id),
                cell(c.comment.as_deref().unwrap_or("")),
                c.check.clone(),
                c.verdict.as_str().to_string(),
                cell(&c.expected),
                cell(&c.actual),
                cell(&c.note),
                c.entity.clone(),
            ])
            .map_err(|e| err(path, e))
        })?;
    }
    w.flush().map_err(|e| err(path, e))
}
