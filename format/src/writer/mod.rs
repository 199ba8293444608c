//! `BundleWriter`: a work directory where rows are sorted into Parquet parts and attachment bytes
//! become content-addressed blobs; `seal()` turns it into `NAME.dfb` + sidecars.

mod bag;
mod blobs;
mod minisig;
mod parts;
mod resume;
mod seal;
mod sort;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{FormatError, io_err};
use crate::keys::{Recipients, SigningKey};
use crate::meta::{BundleMeta, Envelope, Warning};
use crate::schema::{Record, Table};
use sort::TableSorter;

pub use blobs::BlobStore;
pub use resume::CHECKPOINT_FILE;

pub(crate) use parts::part_properties;
pub use parts::{
    CREATED_BY, KV_BUNDLE_ID, KV_FORMAT_VERSION, KV_TABLE, PART_MAX_BYTES, PART_MAX_ROWS,
};
pub(crate) use seal::{ENTRY_MODE, encryptor};
pub use seal::{envelope_path, resign, sign_file, signature_path, tar_header};

/// Marks a directory as a BundleWriter work directory (so `create` may clear it).
const MARKER: &str = ".deskferry-work";
/// Default memory budget for buffered rows, over all tables.
pub const DEFAULT_MEMORY_BUDGET: usize = 32 << 20;

/// A stored blob: its SHA-256 (lower-case hex, also its name) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// What `seal` wrote.
#[derive(Debug, Clone)]
pub struct SealedBundle {
    /// `NAME.dfb`.
    pub bundle: PathBuf,
    /// `NAME.dfb.minisig`.
    pub signature: PathBuf,
    /// `NAME.dfb.json`.
    pub envelope_path: PathBuf,
    /// The envelope written.
    pub envelope: Envelope,
    /// SHA-256 of tagmanifest-sha256.txt.
    pub content_id: String,
    /// Distinct blobs in the bundle.
    pub blobs: u64,
    /// Their total size.
    pub blob_bytes: u64,
    /// Warnings in bundle.json (sorted, de-duplicated).
    pub warnings: u64,
    /// Of those, records kept with a note ([`Warning::kept`]): no failure.
    pub notes: u64,
}

/// Writes one bundle: append rows and blobs in any order, then `seal`.
pub struct BundleWriter {
    work: PathBuf,
    meta: BundleMeta,
    tables: BTreeMap<Table, TableSorter>,
    budget: usize,
    buffered: usize,
    warnings: Vec<Warning>,
    part_max_rows: u64,
    /// Made by `open`: runs are kept until the work directory goes (a checkpoint may list them).
    checkpointed: bool,
    blobs: BlobStore,
}

impl BundleWriter {
    /// Creates (or, if it exists and is an earlier work directory or empty, clears) a work directory.
    pub fn create(work_dir: &Path, meta: BundleMeta) -> Result<BundleWriter, FormatError> {
        meta.validate().map_err(FormatError::Meta)?;
        if work_dir.exists() {
            let mut entries = fs::read_dir(work_dir).map_err(io_err(work_dir))?;
            let empty = entries.next().is_none();
            if !empty && !work_dir.join(MARKER).exists() {
                return Err(FormatError::Meta(format!(
                    "{} exists and is not a deskferry work directory; refusing to clear it",
                    work_dir.display()
                )));
            }
            fs::remove_dir_all(work_dir).map_err(io_err(work_dir))?;
        }
        for d in ["", "runs", "tmp", "blobs/sha256", "tables"] {
            let p = work_dir.join(d);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        let marker = work_dir.join(MARKER);
        fs::write(&marker, b"deskferry bundle work directory; removed after seal\n")
            .map_err(io_err(&marker))?;
        Ok(BundleWriter::create_unchecked(work_dir, meta))
    }

    /// The writer's fields for a work directory that is already laid out.
    fn create_unchecked(work_dir: &Path, meta: BundleMeta) -> BundleWriter {
        BundleWriter {
            work: work_dir.to_path_buf(),
            meta,
            tables: BTreeMap::new(),
            budget: DEFAULT_MEMORY_BUDGET,
            buffered: 0,
            warnings: Vec::new(),
            part_max_rows: parts::PART_MAX_ROWS,
            checkpointed: false,
            blobs: BlobStore::new(work_dir),
        }
    }

    /// Resumes the work directory's checkpoint if it belongs to `meta.bundle_id` (rows appended
    /// after that checkpoint are discarded; blobs are kept), else starts fresh like
    /// [`BundleWriter::create`]. Returns the state saved by the last [`BundleWriter::checkpoint`]
    /// (`None` on a fresh start; `Some(Null)` when the earlier run was stopped before a checkpoint
    /// of its own). The checkpoint's `created_at` and `purge_after` win over
    /// `meta`'s, so the same command run again gives the same content id.
    pub fn open(
        work_dir: &Path,
        meta: BundleMeta,
    ) -> Result<(BundleWriter, Option<serde_json::Value>), FormatError> {
        resume::open(work_dir, meta)
    }

    /// Spills every buffered row, fsyncs the runs, then atomically writes `checkpoint.json`
    /// holding `state`: after a kill, [`BundleWriter::open`] continues from exactly here.
    pub fn checkpoint(&mut self, state: &serde_json::Value) -> Result<(), FormatError> {
        resume::checkpoint(self, state)
    }

    /// The bundle's metadata, to change before seal (cursors, window).
    pub fn meta_mut(&mut self) -> &mut BundleMeta {
        &mut self.meta
    }

    /// The blob store, for download tasks running beside the writer.
    pub fn blobs(&self) -> BlobStore {
        self.blobs.clone()
    }

    /// The work directory.
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// Sets the memory budget for buffered rows (bytes, over all tables); past it rows spill to disk.
    pub fn with_memory_budget(mut self, bytes: usize) -> BundleWriter {
        self.budget = bytes.max(1);
        self
    }

    /// Starts a new Parquet part past this many rows (default [`PART_MAX_ROWS`]; checked at batch
    /// boundaries of 1024 rows). For tests and tuning; part boundaries still depend only on the data.
    pub fn with_part_max_rows(mut self, rows: u64) -> BundleWriter {
        self.part_max_rows = rows.max(1);
        self
    }

    /// The bundle's metadata.
    pub fn meta(&self) -> &BundleMeta {
        &self.meta
    }

    /// Appends one row to its table, in any order; rows are sorted by key (`model::id_order`) at
    /// seal with bounded memory. Same key twice: the later row wins.
    pub fn append<R: Record>(&mut self, row: &R) -> Result<(), FormatError> {
        let key = row.key();
        let json = serde_json::to_vec(row).map_err(|e| FormatError::Record {
            table: R::TABLE.name().into(),
            id: key.clone(),
            message: e.to_string(),
        })?;
        let work = self.work.clone();
        let sorter = self
            .tables
            .entry(R::TABLE)
            .or_insert_with(|| TableSorter::new(work.join("runs").join(R::TABLE.name())));
        let before = sorter.buffered_bytes();
        sorter.push(key, json);
        self.buffered += sorter.buffered_bytes() - before;
        if self.buffered > self.budget {
            self.spill_largest()?;
        }
        Ok(())
    }

    fn spill_largest(&mut self) -> Result<(), FormatError> {
        while self.buffered > self.budget / 2 {
            let Some(s) = self.tables.values_mut().max_by_key(|s| s.buffered_bytes()) else {
                break;
            };
            let b = s.buffered_bytes();
            if b == 0 {
                break;
            }
            s.spill()?;
            self.buffered -= b;
        }
        Ok(())
    }

    /// Rows appended to a table so far (duplicates counted).
    pub fn appended(&self, table: Table) -> u64 {
        self.tables.get(&table).map_or(0, TableSorter::appended)
    }

    /// Stores bytes as a content-addressed blob (once per content); returns its hash and size.
    pub fn add_blob(&mut self, bytes: &mut dyn Read) -> Result<BlobRef, FormatError> {
        // Once a checkpoint exists, one may soon name this blob's row: store it durably.
        self.blobs.put_with(bytes, self.checkpointed)
    }

    /// True when a blob with this hash is stored.
    pub fn has_blob(&self, sha256: &str) -> bool {
        self.blobs.contains(sha256)
    }

    /// Records a warning (a record that could not be fetched) in bundle.json.
    pub fn warn(&mut self, w: Warning) {
        self.warnings.push(w);
    }

    /// Writes `out` (NAME.dfb), then NAME.dfb.json, then NAME.dfb.minisig (last), atomically;
    /// removes the work directory. Refuses to overwrite an existing bundle.
    pub fn seal(
        self,
        out: &Path,
        recipients: &Recipients,
        signer: &SigningKey,
    ) -> Result<SealedBundle, FormatError> {
        seal::seal(self, out, recipients, signer)
    }
}
