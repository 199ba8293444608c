//! Writes one table's sorted rows as Parquet parts: zstd, dictionary, pinned `created_by`, spec
//! names for nested types, row-group and part boundaries that depend only on the data, and
//! key-value metadata binding each part to its bundle and table.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::FORMAT_VERSION;
use crate::codec::JsonBatcher;
use crate::error::{FormatError, io_err};
use crate::schema::Table;
use crate::writer::sort::MergedRows;

/// Pinned `created_by` so the same rows give the same bytes whatever the parquet crate's version.
pub const CREATED_BY: &str = "deskferry-format 1";
/// Key-value metadata keys written into every part.
pub const KV_BUNDLE_ID: &str = "deskferry.bundle_id";
/// The part's table.
pub const KV_TABLE: &str = "deskferry.table";
/// The format version.
pub const KV_FORMAT_VERSION: &str = "deskferry.format_version";

const ROW_GROUP_ROWS: usize = 64 * 1024;
const ROW_GROUP_BYTES: usize = 64 << 20;
const BATCH_ROWS: usize = 1024;
/// A new part starts past this many rows or bytes (checked at batch boundaries).
pub const PART_MAX_ROWS: u64 = 2_000_000;
/// See [`PART_MAX_ROWS`].
pub const PART_MAX_BYTES: u64 = 1 << 30;

/// A closed part: bag path, work path, size, hash, rows.
#[derive(Debug, Clone)]
pub(crate) struct PartFile {
    pub bag_path: String,
    pub work_path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub rows: u64,
}

/// Hashes and counts what passes through.
pub(crate) struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new(), count: 0 }
    }
    pub(crate) fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The writer properties of every part of `table` (compression, dictionary, pinned creator,
/// binding to the bundle).
pub(crate) fn part_properties(bundle_id: &str, table: Table) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid level")))
        .set_dictionary_enabled(true)
        .set_created_by(CREATED_BY.to_string())
        .set_coerce_types(true)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(KV_BUNDLE_ID.to_string(), bundle_id.to_string()),
            KeyValue::new(KV_TABLE.to_string(), table.name().to_string()),
            KeyValue::new(KV_FORMAT_VERSION.to_string(), FORMAT_VERSION.to_string()),
        ]))
        .build()
}

type PartWriter = ArrowWriter<HashingWriter<BufWriter<File>>>;

struct Open {
    writer: PartWriter,
    work_path: PathBuf,
    bag_path: String,
    rows: u64,
}

/// Writes the table's rows into `dir/part-NNNNN.parquet` files.
pub(crate) fn write_parts(
    table: Table,
    bundle_id: &str,
    mut rows: MergedRows,
    dir: &Path,
    check: &dyn Fn(&[u8]) -> Result<(), String>,
    part_max_rows: u64,
) -> Result<Vec<PartFile>, FormatError> {
    let terr = |m: String| FormatError::Table { table: table.name().into(), message: m };
    let mut parts = Vec::new();
    let mut open: Option<Open> = None;
    let mut batcher = JsonBatcher::new(table, BATCH_ROWS).map_err(terr)?;
    loop {
        let row = rows.next_row()?;
        let batch = match &row {
            Some((key, json)) => {
                let rec_err = |m: String| FormatError::Record {
                    table: table.name().into(),
                    id: key.clone(),
                    message: m,
                };
                check(json).map_err(rec_err)?;
                batcher.push(json).map_err(rec_err)?
            }
            None => batcher.flush().map_err(terr)?,
        };
        if let Some(batch) = batch.filter(|b| b.num_rows() > 0) {
            if open.is_none() {
                fs::create_dir_all(dir).map_err(io_err(dir))?;
                let n = parts.len();
                let work_path = dir.join(format!("part-{n:05}.parquet"));
                let f = File::create(&work_path).map_err(io_err(&work_path))?;
                let w = HashingWriter::new(BufWriter::with_capacity(1 << 20, f));
                let writer = ArrowWriter::try_new(
                    w,
                    table.schema(),
                    Some(part_properties(bundle_id, table)),
                )
                .map_err(|e| terr(e.to_string()))?;
                let bag_path = format!("data/tables/{}/part-{n:05}.parquet", table.name());
                open = Some(Open { writer, work_path, bag_path, rows: 0 });
            }
            let o = open.as_mut().expect("opened above");
            o.writer.write(&batch).map_err(|e| terr(e.to_string()))?;
            o.rows += batch.num_rows() as u64;
            if o.rows >= part_max_rows || o.writer.bytes_written() as u64 >= PART_MAX_BYTES {
                parts.push(close(open.take().expect("open"), table)?);
            }
        }
        if row.is_none() {
            break;
        }
    }
    if let Some(o) = open.take() {
        parts.push(close(o, table)?);
    }
    Ok(parts)
}

fn close(o: Open, table: Table) -> Result<PartFile, FormatError> {
    let w = o
        .writer
        .into_inner()
        .map_err(|e| FormatError::Table { table: table.name().into(), message: e.to_string() })?;
    let (buf, sha256, size) = w.finish();
    // Not fsynced: a part lives only until the tar holds it, and an interrupted seal rebuilds
    // every part from the checkpointed runs. The bundle file itself is fsynced.
    buf.into_inner().map_err(|e| io_err(&o.work_path)(e.into_error()))?;
    Ok(PartFile { bag_path: o.bag_path, work_path: o.work_path, size, sha256, rows: o.rows })
}
