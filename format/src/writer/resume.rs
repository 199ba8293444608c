//! Checkpoint and resume of a work directory.
//!
//! A checkpoint makes every row appended so far durable (buffers spilled as runs, runs and their
//! directories fsynced) and then replaces `checkpoint.json` atomically (temp file, fsync, rename,
//! directory fsync). `checkpoint.json` lists each table's runs, so runs written after it (by a
//! process that was then killed) are recognised and deleted on resume; blobs are kept, since
//! their names are their hashes.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sort::{SorterState, TableSorter};
use super::{BundleWriter, MARKER};
use crate::error::{FormatError, io_err};
use crate::meta::{BundleMeta, Warning};
use crate::schema::Table;

/// The checkpoint's file name inside the work directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
const CHECKPOINT_VERSION: u32 = 1;

#[derive(Deserialize)]
struct Checkpoint {
    version: u32,
    meta: BundleMeta,
    tables: BTreeMap<String, SorterState>,
    warnings: Vec<Warning>,
    state: serde_json::Value,
}

/// `Checkpoint` as written: borrowed, so a checkpoint never copies the warnings or the state
/// (a run where every attachment failed holds one warning per attachment).
#[derive(Serialize)]
struct CheckpointRef<'a> {
    version: u32,
    meta: &'a BundleMeta,
    tables: &'a BTreeMap<String, SorterState>,
    warnings: &'a [Warning],
    state: &'a serde_json::Value,
}

pub(super) fn open(
    work: &Path,
    mut meta: BundleMeta,
) -> Result<(BundleWriter, Option<serde_json::Value>), FormatError> {
    meta.validate().map_err(FormatError::Meta)?;
    if let Some(cp) = read_checkpoint(work)?
        && cp.version == CHECKPOINT_VERSION
        && cp.meta.bundle_id == meta.bundle_id
    {
        meta.created_at = cp.meta.created_at;
        meta.purge_after = cp.meta.purge_after;
        meta.validate().map_err(FormatError::Meta)?;
        let mut w = resume(work, meta, &cp)?;
        w.warnings = cp.warnings;
        // Null when the run was killed before its first checkpoint of its own.
        return Ok((w, Some(cp.state)));
    }
    let mut w = BundleWriter::create(work, meta)?;
    w.checkpointed = true;
    // An empty checkpoint at once: a run killed before its first real checkpoint still keeps
    // its blobs, and the directory is known to belong to this bundle.
    checkpoint(&mut w, &serde_json::Value::Null)?;
    Ok((w, None))
}

fn read_checkpoint(work: &Path) -> Result<Option<Checkpoint>, FormatError> {
    if !work.join(MARKER).is_file() {
        return Ok(None);
    }
    let path = work.join(CHECKPOINT_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    // Written by rename, so never half a file; anything unreadable is from another version and
    // the work directory starts over.
    Ok(serde_json::from_slice(&bytes).ok())
}

fn resume(work: &Path, meta: BundleMeta, cp: &Checkpoint) -> Result<BundleWriter, FormatError> {
    // Partial downloads and parts of an interrupted seal are rebuilt from scratch.
    for d in ["tmp", "tables"] {
        let p = work.join(d);
        if p.exists() {
            fs::remove_dir_all(&p).map_err(io_err(&p))?;
        }
        fs::create_dir_all(&p).map_err(io_err(&p))?;
    }
    for d in ["runs", "blobs/sha256"] {
        let p = work.join(d);
        fs::create_dir_all(&p).map_err(io_err(&p))?;
    }
    let mut tables = BTreeMap::new();
    let runs = work.join("runs");
    for e in fs::read_dir(&runs).map_err(io_err(&runs))? {
        let e = e.map_err(io_err(&runs))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !cp.tables.contains_key(&name) {
            fs::remove_dir_all(e.path()).map_err(io_err(e.path()))?;
        }
    }
    for (name, st) in &cp.tables {
        let table = Table::from_name(name)
            .ok_or_else(|| FormatError::Meta(format!("checkpoint names unknown table {name:?}")))?;
        let sorter = TableSorter::restore(runs.join(name), st)?;
        tables.insert(table, sorter);
    }
    let mut w = BundleWriter::create_unchecked(work, meta);
    w.tables = tables;
    w.checkpointed = true;
    // Re-hash every stored blob: a damaged one is removed, so a row after the checkpoint fetches
    // it again; a checkpointed row naming it makes seal stop with a remedy rather than produce a
    // bundle every reader refuses (B045).
    let store = w.blobs();
    for sha in store.list()? {
        store.verify(&sha)?;
    }
    Ok(w)
}

pub(super) fn checkpoint(
    w: &mut BundleWriter,
    state: &serde_json::Value,
) -> Result<(), FormatError> {
    let mut tables = BTreeMap::new();
    for (t, s) in w.tables.iter_mut() {
        tables.insert(t.name().to_string(), s.make_durable()?);
    }
    w.buffered = 0;
    w.checkpointed = true;
    let cp = CheckpointRef {
        version: CHECKPOINT_VERSION,
        meta: &w.meta,
        tables: &tables,
        warnings: &w.warnings,
        state,
    };
    let path = w.work.join(CHECKPOINT_FILE);
    let tmp = w.work.join("checkpoint.json.tmp");
    let mut f = BufWriter::new(File::create(&tmp).map_err(io_err(&tmp))?);
    serde_json::to_writer(&mut f, &cp).map_err(|e| match e.io_error_kind() {
        Some(_) => io_err(&tmp)(std::io::Error::other(e.to_string())),
        None => FormatError::Meta(e.to_string()),
    })?;
    let f = f.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
    f.sync_all().map_err(io_err(&tmp))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    File::open(&w.work).and_then(|d| d.sync_all()).map_err(io_err(&w.work))?;
    Ok(())
}
