//! `inspect BUNDLE`: what a bundle holds, after full verification.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use arrow::array::{Array, TimestampMicrosecondArray};
use arrow::datatypes::SchemaRef;
use chrono::{DateTime, SecondsFormat, Utc};
use deskferry_format::{BundleReader, Table};

use crate::common::{
    EXIT_FATAL, EXIT_OK, IdentityArgs, SignerArgs, error_json, open_verified, print_json,
    report_error,
};

/// Arguments of `inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (`NAME.dfb`).
    bundle: PathBuf,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    ids: IdentityArgs,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

/// One table as `inspect` shows it.
struct TableView {
    table: Table,
    rows: u64,
    schema: SchemaRef,
    /// Column the date range is taken from, when the table has one.
    date_column: Option<&'static str>,
    min: Option<DateTime<Utc>>,
    max: Option<DateTime<Utc>>,
}

/// Runs `inspect`.
pub fn run(a: Args) -> Result<u8> {
    let reader =
        match open_verified(&a.bundle, &a.signer, &a.ids, &crate::progress::Bar::on_terminal())? {
            Ok(r) => r,
            Err(e) => {
                if a.json {
                    print_json(&error_json(&a.bundle, &e))?;
                }
                report_error(&a.bundle, &e);
                return Ok(EXIT_FATAL);
            }
        };
    let mut tables = Vec::new();
    for table in Table::ALL {
        tables.push(view(&reader, table)?);
    }
    if a.json {
        print_json(&to_json(&a, &reader, &tables)?)?;
    } else {
        print_text(&a, &reader, &tables);
    }
    Ok(EXIT_OK)
}

/// Scans one table's batches for its date range; the schema is the one actually stored.
fn view(reader: &BundleReader, table: Table) -> Result<TableView> {
    let date_column = if table == Table::Tombstones { "deleted_at" } else { "created_at" };
    let date_column = table.schema().column_with_name(date_column).map(|_| date_column);
    let mut v = TableView {
        table,
        rows: reader.row_count(table),
        schema: table.schema(),
        date_column,
        min: None,
        max: None,
    };
    if v.rows == 0 {
        return Ok(v);
    }
    let mut first = true;
    for batch in reader.batches(table).map_err(|e| anyhow!("{}: {}", e.code.as_str(), e.detail))? {
        let batch = batch.map_err(|e| anyhow!("{}: {}", e.code.as_str(), e.detail))?;
        if first {
            v.schema = batch.schema();
            first = false;
        }
        let Some(col) = date_column.and_then(|c| batch.column_by_name(c)) else { continue };
        let Some(ts) = col.as_any().downcast_ref::<TimestampMicrosecondArray>() else { continue };
        for micros in ts.iter().flatten() {
            let Some(t) = DateTime::from_timestamp_micros(micros) else { continue };
            v.min = Some(v.min.map_or(t, |m| m.min(t)));
            v.max = Some(v.max.map_or(t, |m| m.max(t)));
        }
    }
    Ok(v)
}

fn schema_json(schema: &SchemaRef) -> serde_json::Value {
    schema
        .fields()
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name(),
                "type": f.data_type().to_string(),
                "nullable": f.is_nullable(),
            })
        })
        .collect()
}

fn to_json(a: &Args, r: &BundleReader, tables: &[TableView]) -> Result<serde_json::Value> {
    let bj = r.bundle_json();
    let tables: Vec<_> = tables
        .iter()
        .map(|t| {
            serde_json::json!({
                "table": t.table.name(),
                "rows": t.rows,
                "date_column": t.date_column,
                "min": t.min,
                "max": t.max,
                "schema": schema_json(&t.schema),
            })
        })
        .collect();
    Ok(serde_json::json!({
        "bundle": a.bundle.display().to_string(),
        "valid": true,
        "envelope": serde_json::to_value(r.envelope())?,
        "signer_key_id": r.envelope().signer_key_id,
        "content_id": r.content_id(),
        "purge_after": r.envelope().purge_after,
        "tables": tables,
        "attachments": { "blobs": bj.attachment_blobs, "bytes": bj.attachment_bytes },
        "warnings": serde_json::to_value(&bj.warnings)?,
    }))
}

fn print_text(a: &Args, r: &BundleReader, tables: &[TableView]) {
    let env = r.envelope();
    let bj = r.bundle_json();
    println!("{}: VALID (full verification)", a.bundle.display());
    println!("bundle id:       {}", env.bundle_id);
    println!("content id:      {}", r.content_id());
    println!("format version:  {}", env.format_version);
    println!("source:          {} {}", env.source_platform, env.source_account);
    println!(
        "mode:            {}",
        serde_json::to_value(env.mode)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    );
    if let Some(p) = &env.parent_bundle_id {
        println!("parent bundle:   {p}");
    }
    println!("created at:      {}", env.created_at.to_rfc3339_opts(SecondsFormat::Secs, true));
    println!("purge after:     {}", env.purge_after.to_rfc3339_opts(SecondsFormat::Secs, true));
    println!("signer key id:   {}", env.signer_key_id);
    println!("ciphertext:      {} bytes, sha256 {}", env.ciphertext_size, env.ciphertext_sha256);
    for (k, v) in &env.cursors {
        println!("cursor {k}: {v}");
    }
    println!("attachments:     {} blobs, {} bytes", bj.attachment_blobs, bj.attachment_bytes);
    println!();
    println!("{:<15} {:>10}  {:<25} {:<25}", "table", "rows", "first", "last");
    for t in tables {
        let d = |x: Option<DateTime<Utc>>| {
            x.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_else(|| "-".into())
        };
        println!("{:<15} {:>10}  {:<25} {:<25}", t.table.name(), t.rows, d(t.min), d(t.max));
    }
    for t in tables.iter().filter(|t| t.rows > 0) {
        println!();
        println!("schema of {}:", t.table.name());
        for f in t.schema.fields() {
            let null = if f.is_nullable() { "" } else { " not null" };
            println!("  {:<18} {}{null}", f.name(), f.data_type());
        }
    }
    println!();
    if bj.warnings.is_empty() {
        println!("warnings: none");
    } else {
        println!("warnings ({}):", bj.warnings.len());
        for w in &bj.warnings {
            println!("  {} {}: {}", w.entity, w.id.as_deref().unwrap_or("-"), w.message);
        }
    }
}
