//! Tier 3 over the tables and blobs: every Parquet footer bound to this bundle and table with the
//! table's schema, every page header within the limits, every row decoded and counted against
//! bundle.json, and the attachment rows and blobs matching each other and bundle.json's totals.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use arrow::array::{Array, AsArray};
use parquet::arrow::ProjectionMask;

use super::{BundleReader, Progress, Stage, decode, pages};
use crate::FORMAT_VERSION;
use crate::codec;
use crate::error::{BundleError, ErrorCode as C, berr};
use crate::schema::Table;
use crate::writer::{KV_BUNDLE_ID, KV_FORMAT_VERSION, KV_TABLE};

/// What tier 3's decode pass measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyStats {
    /// Rows decoded over every table.
    pub rows_decoded: u64,
    /// Bytes those rows take when materialized (strings repeated per row).
    pub decoded_bytes: u64,
    /// Time spent reading page headers and decoding every row.
    pub decode_time: std::time::Duration,
}

impl BundleReader {
    /// Every Parquet footer (binding to bundle and table, schema, row counts), every page
    /// header, every row decoded and counted.
    pub(super) fn check_tables(&mut self, progress: &Progress) -> Result<(), BundleError> {
        let mut decoded = BTreeMap::new();
        let mut stats = VerifyStats::default();
        for table in Table::ALL {
            let mut rows = 0u64;
            let mut metas = Vec::new();
            for &i in self.parts.get(&table).map(Vec::as_slice).unwrap_or(&[]) {
                let path = &self.entries[i].path;
                let b = self.builder(i)?;
                let fm = b.metadata().file_metadata();
                let kv: HashMap<&str, &str> = fm
                    .key_value_metadata()
                    .map(|v| {
                        v.iter()
                            .filter_map(|kv| Some((kv.key.as_str(), kv.value.as_deref()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                let fv = FORMAT_VERSION.to_string();
                for (k, want) in [
                    (KV_BUNDLE_ID, self.quick.envelope.bundle_id.as_str()),
                    (KV_TABLE, table.name()),
                    (KV_FORMAT_VERSION, fv.as_str()),
                ] {
                    if kv.get(k).copied() != Some(want) {
                        return berr(
                            C::B047,
                            format!("{path}: {k} is {:?}, expected {want:?}", kv.get(k)),
                        );
                    }
                }
                if !codec::schema_matches(table, b.schema()) {
                    return berr(
                        C::B043,
                        format!("{path}: schema differs from the {table} table's"),
                    );
                }
                rows += u64::try_from(fm.num_rows()).map_err(|_| {
                    BundleError::new(C::B043, format!("{path}: negative row count"))
                })?;
                metas.push((i, b.metadata().clone(), b.schema().clone()));
            }
            if rows != self.row_count(table) {
                return berr(
                    C::B044,
                    format!(
                        "{table}: {rows} rows in its parts' footers, bundle.json says {}",
                        self.row_count(table)
                    ),
                );
            }
            decoded.insert(table, metas);
        }
        // Footers first (cheap, and the usual damage), then every page and row.
        let start = Instant::now();
        let total: u64 = Table::ALL.iter().map(|&t| self.row_count(t)).sum();
        let mut done = 0u64;
        progress.tell(Stage::Rows, 0, total);
        for (table, metas) in decoded {
            let mut rows = 0u64;
            for (i, meta, schema) in metas {
                let path = &self.entries[i].path;
                let slice = self.slice(i);
                pages::check(&slice, &meta, path)?;
                let d = decode::part(&slice, meta, &schema, path)?;
                rows += d.rows;
                stats.decoded_bytes += d.bytes;
                done += d.rows;
                progress.tell(Stage::Rows, done, total);
            }
            if rows != self.row_count(table) {
                return berr(
                    C::B044,
                    format!(
                        "{table}: {rows} rows decoded from its parts, bundle.json and the footers say {}",
                        self.row_count(table)
                    ),
                );
            }
            stats.rows_decoded += rows;
        }
        stats.decode_time = start.elapsed();
        self.stats = stats;
        Ok(())
    }

    /// Every attachment row with state=stored has its blob, bundle.json's blob count and bytes
    /// are the bag's, and every blob has a stored row naming it.
    pub(super) fn check_attachment_blobs(
        &self,
        blobs: &BTreeMap<String, u64>,
    ) -> Result<(), BundleError> {
        let mut referenced: HashSet<String> = HashSet::new();
        for &i in self.parts.get(&Table::Attachments).map(Vec::as_slice).unwrap_or(&[]) {
            let path = &self.entries[i].path;
            let b = self.builder(i)?;
            let mask = ProjectionMask::columns(b.parquet_schema(), ["id", "sha256", "state"]);
            let reader = b
                .with_projection(mask)
                .build()
                .map_err(|e| BundleError::new(C::B043, format!("{path}: {e}")))?;
            for batch in reader {
                let batch = batch.map_err(|e| BundleError::new(C::B043, format!("{path}: {e}")))?;
                let col = |n: &str| {
                    batch.column_by_name(n).and_then(|c| c.as_string_opt::<i32>().cloned())
                };
                let (Some(id), Some(sha), Some(state)) = (col("id"), col("sha256"), col("state"))
                else {
                    return berr(C::B043, format!("{path}: attachments columns missing"));
                };
                for r in 0..batch.num_rows() {
                    if state.value(r) != "stored" {
                        continue;
                    }
                    let h = (!sha.is_null(r)).then(|| sha.value(r).to_ascii_lowercase());
                    match h {
                        Some(h) if blobs.contains_key(&h) => {
                            referenced.insert(h);
                        }
                        _ => {
                            return berr(
                                C::B046,
                                format!(
                                    "attachment {} is stored but its blob is absent",
                                    id.value(r)
                                ),
                            );
                        }
                    }
                }
            }
        }
        let bj = &self.bundle_json;
        let bytes: u64 = blobs.values().sum();
        if (bj.attachment_blobs, bj.attachment_bytes) != (blobs.len() as u64, bytes) {
            return berr(
                C::B050,
                format!(
                    "bundle.json claims {} blobs of {} bytes, the bag holds {} of {bytes}",
                    bj.attachment_blobs,
                    bj.attachment_bytes,
                    blobs.len()
                ),
            );
        }
        if let Some(h) = blobs.keys().find(|h| !referenced.contains(*h)) {
            return berr(
                C::B051,
                format!(
                    "data/blobs/sha256/{}/{h} is in the bag but no stored attachment row names it",
                    &h[..2]
                ),
            );
        }
        Ok(())
    }
}
