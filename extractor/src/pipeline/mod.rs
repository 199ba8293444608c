//! Records through a bounded channel to one bundle writer, checkpoint and resume, attachment
//! downloads, delta (`--since`).
//!
//! - [`Sink`] (sink.rs): what a source sends into; bounded channel, attachment downloads;
//! - writer_thread.rs: the one thread owning the `BundleWriter`, checkpointing on cursors;
//! - [`checkpoint`]: the state kept in the checkpoint and when one is taken;
//! - [`downloads`]: attachment id → blob, so a resumed run re-hashes instead of downloading;
//! - [`delta`]: `--since OLD.dfb.json`;
//! - [`run`]: the whole extraction, from the permissions check to the sealed bundle.

pub mod checkpoint;
pub mod delta;
pub mod downloads;
mod sink;
#[cfg(test)]
mod tests;
mod writer_thread;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use deskferry_format::{
    BundleMeta, BundleWriter, Envelope, Recipients, SigningKey, envelope_path, signature_path,
};
use tokio::sync::mpsc;

pub use sink::{Fetched, Sink};

use crate::error::ExtractError;
use crate::http::{Http, HttpStats};
use crate::progress::{Progress, ProgressMode};
use crate::source::{Resume, Source};
use checkpoint::{PipelineState, Policy};
use downloads::{DOWNLOADS_FILE, DownloadsLog};

/// Items waiting for the writer at most (each is one record; the writer's memory budget bounds
/// the rest).
const CHANNEL_CAPACITY: usize = 512;
/// Default time between checkpoints.
/// (Each checkpoint writes a run per table that received rows, merged at seal: not too often.)
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(15);
/// Rows after which a checkpoint is taken at the next cursor, however little time passed.
const CHECKPOINT_ROWS: u64 = 200_000;
/// Memory budget of the bundle writer's sort buffers.
pub const DEFAULT_MEMORY_BUDGET: usize = 64 << 20;

/// How to run one extraction.
pub struct ExtractOptions {
    /// `NAME.dfb`; NAME is the bundle id.
    pub out: PathBuf,
    /// Work directory (default `NAME.dfb.work` beside `out`).
    pub work: Option<PathBuf>,
    /// Who can decrypt the bundle.
    pub recipients: Recipients,
    /// The extractor's signing key.
    pub signer: SigningKey,
    /// `OLD.dfb.json` of the parent bundle, for a delta.
    pub since: Option<PathBuf>,
    /// The binary prints a JSON summary (the library only records it).
    pub json: bool,
    /// Attachments larger than this are not downloaded (state too_large).
    pub max_attachment_bytes: Option<u64>,
    /// The source's HTTP client, for progress and the summary's request counters.
    pub http: Option<Http>,
    /// How progress is shown.
    pub progress: ProgressMode,
    /// Minimum time between checkpoints.
    pub checkpoint_every: Duration,
    /// Memory budget of the writer's sort buffers.
    pub memory_budget: usize,
    /// A fixed creation time (the binary passes `SOURCE_DATE_EPOCH`); else the checkpoint's,
    /// else now.
    pub created_at: Option<DateTime<Utc>>,
}

impl ExtractOptions {
    /// Options with the defaults: work dir beside `out`, full extraction, progress on stderr.
    pub fn new(out: PathBuf, recipients: Recipients, signer: SigningKey) -> ExtractOptions {
        ExtractOptions {
            out,
            work: None,
            recipients,
            signer,
            since: None,
            json: false,
            max_attachment_bytes: None,
            http: None,
            progress: ProgressMode::Auto,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            created_at: None,
        }
    }
}

/// What one extraction produced.
#[derive(Debug, Clone)]
pub struct ExtractSummary {
    /// `NAME.dfb`.
    pub bundle: PathBuf,
    /// The bundle's content id.
    pub content_id: String,
    /// Rows per table (tables with rows).
    pub rows: BTreeMap<String, u64>,
    /// Distinct blobs.
    pub blobs: u64,
    /// Their total size.
    pub blob_bytes: u64,
    /// Warnings in bundle.json (a record kept with a field left empty, a record gone at the
    /// source during the export, a record or file that could not be fetched).
    pub warnings: u64,
    /// Of those, records kept with a note: a field read as empty (raw keeps it), a follow-up
    /// found gone. No failure: they do not make the exit code 1.
    pub notes: u64,
    /// Attachments not stored in this run (failed, missing, too large).
    pub failed_attachments: u64,
    /// Attachments reused from an interrupted run's blobs.
    pub reused_blobs: u64,
    /// The HTTP client's counters (when `ExtractOptions::http` was given).
    pub http: Option<HttpStats>,
    /// This run continued an interrupted one.
    pub resumed: bool,
    /// Wall time of this run.
    pub elapsed: Duration,
}

impl ExtractSummary {
    /// The summary as JSON (what `--json` prints).
    pub fn to_json(&self) -> serde_json::Value {
        let http = self.http.as_ref().map(|h| {
            serde_json::json!({
                "requests": h.requests,
                "attempts": h.attempts,
                "retries": h.retries,
                "rate_limited": h.rate_limited,
                "waited_secs": h.waited.as_secs_f64(),
                "bytes_in": h.bytes_in,
                "per_bucket": h.per_bucket,
            })
        });
        serde_json::json!({
            "bundle": self.bundle,
            "content_id": self.content_id,
            "rows": self.rows,
            "blobs": self.blobs,
            "blob_bytes": self.blob_bytes,
            "warnings": self.warnings,
            "notes": self.notes,
            "failed_attachments": self.failed_attachments,
            "reused_blobs": self.reused_blobs,
            "http": http,
            "resumed": self.resumed,
            "elapsed_secs": self.elapsed.as_secs_f64(),
        })
    }
}

/// The bundle id for `out`: the file name without `.dfb`.
pub fn bundle_id_of(out: &Path) -> Result<String, ExtractError> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let id = name.strip_suffix(".dfb").unwrap_or(&name).to_string();
    if !deskferry_format::meta::valid_bundle_id(&id) {
        return Err(ExtractError::Config {
            path: out.to_path_buf(),
            message: "--out must be NAME.dfb with NAME made of letters, digits, '.', '_' or '-'"
                .into(),
        });
    }
    Ok(id)
}

/// The default work directory: `NAME.dfb.work` beside `out`.
pub fn default_work_dir(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".work");
    PathBuf::from(s)
}

/// `SOURCE_DATE_EPOCH` (seconds), the reproducible-builds convention for a fixed clock.
pub fn source_date_epoch() -> Result<Option<DateTime<Utc>>, ExtractError> {
    let Some(v) = std::env::var_os("SOURCE_DATE_EPOCH") else { return Ok(None) };
    let v = v.to_string_lossy();
    let bad = || ExtractError::Config {
        path: PathBuf::from("SOURCE_DATE_EPOCH"),
        message: format!("{v:?} is not a number of seconds since 1970"),
    };
    let secs: i64 = v.trim().parse().map_err(|_| bad())?;
    Utc.timestamp_opt(secs, 0).single().map(Some).ok_or_else(bad)
}

fn now_seconds() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    Utc.timestamp_opt(now, 0).single().unwrap_or_else(Utc::now)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExtractError + '_ {
    move |source| ExtractError::Io { path: path.to_path_buf(), source }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ExtractError> + Send + 'static,
) -> Result<T, ExtractError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ExtractError::Stopped(format!("blocking task failed: {e}")))?
}

/// What is on disk before a run starts.
enum Outputs {
    /// Nothing of this bundle yet (or only a work directory).
    Clear,
    /// A finished bundle whose work directory was not removed yet (killed right after seal).
    Sealed(Box<Envelope>),
}

fn inspect_outputs(out: &Path, work: &Path) -> Result<Outputs, ExtractError> {
    let sig = signature_path(out);
    let env = envelope_path(out);
    let work_started = work.join(deskferry_format::writer::CHECKPOINT_FILE).exists();
    if sig.exists() {
        if !looks_like_work_dir(work) {
            return Err(deskferry_format::FormatError::Exists(out.to_path_buf()).into());
        }
        // The signature is written last by seal: the bundle is complete.
        let bytes = std::fs::read(&env).map_err(io_err(&env))?;
        let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
            ExtractError::Config { path: env.clone(), message: format!("unreadable envelope: {e}") }
        })?;
        return Ok(Outputs::Sealed(Box::new(envelope)));
    }
    for p in [out, env.as_path()] {
        if p.exists() {
            if !work_started {
                return Err(deskferry_format::FormatError::Exists(p.to_path_buf()).into());
            }
            // Left by a seal that was interrupted before the signature: written again.
            std::fs::remove_file(p).map_err(io_err(p))?;
        }
    }
    Ok(Outputs::Clear)
}

/// True for a directory holding only what a bundle work directory holds (seal may have removed
/// part of it, marker included, before it was killed).
fn looks_like_work_dir(work: &Path) -> bool {
    const KNOWN: [&str; 8] = [
        ".deskferry-work",
        "checkpoint.json",
        "checkpoint.json.tmp",
        DOWNLOADS_FILE,
        "runs",
        "tmp",
        "blobs",
        "tables",
    ];
    let Ok(entries) = std::fs::read_dir(work) else { return false };
    entries
        .into_iter()
        .all(|e| e.is_ok_and(|e| KNOWN.contains(&e.file_name().to_string_lossy().as_ref())))
}

/// Runs one extraction: permissions check, resume or start the work directory, stream the
/// source into the writer, seal, remove the work directory.
pub async fn run<S: Source>(
    source: &S,
    opts: ExtractOptions,
) -> Result<ExtractSummary, ExtractError> {
    let started = Instant::now();
    let bundle_id = bundle_id_of(&opts.out)?;
    let work = opts.work.clone().unwrap_or_else(|| default_work_dir(&opts.out));
    if let Outputs::Sealed(envelope) = inspect_outputs(&opts.out, &work)? {
        std::fs::remove_dir_all(&work).map_err(io_err(&work))?;
        return Ok(ExtractSummary {
            bundle: opts.out.clone(),
            content_id: envelope.content_id,
            rows: envelope.row_counts,
            blobs: 0,
            blob_bytes: 0,
            warnings: 0,
            notes: 0,
            failed_attachments: 0,
            reused_blobs: 0,
            http: None,
            resumed: true,
            elapsed: started.elapsed(),
        });
    }
    source.check().await?;

    let epoch = opts.created_at;
    let created = epoch.unwrap_or_else(now_seconds);
    let mut meta = BundleMeta::new(bundle_id, source.platform(), source.account(), created);
    meta.tool_version = concat!("deskferry-extract ", env!("CARGO_PKG_VERSION")).to_string();
    let mut resume = Resume::default();
    if let Some(since) = &opts.since {
        delta::apply(since, &mut meta, &mut resume)?;
    }
    let work2 = work.clone();
    let (mut writer, state) = blocking(move || Ok(BundleWriter::open(&work2, meta)?)).await?;
    if let Some(t) = epoch {
        // A fixed clock wins over the checkpoint's.
        let m = writer.meta_mut();
        m.created_at = t;
        m.purge_after = t + chrono::Duration::days(10);
    }
    let resumed = state.is_some();
    let state = PipelineState::from_value(state);
    resume.streams = state.streams.clone();
    let writer = writer.with_memory_budget(opts.memory_budget);

    let progress = Progress::new();
    if let Some(http) = &opts.http {
        progress.attach_http(http);
    }
    let mut display = progress.display(opts.progress);
    let downloads = DownloadsLog::open(&work.join(DOWNLOADS_FILE))?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let blobs = writer.blobs();
    let policy = Policy::new(opts.checkpoint_every, CHECKPOINT_ROWS);
    let handle = writer_thread::spawn(writer, rx, state, policy, progress.clone());
    let sink = Sink::new(tx, blobs, downloads, progress.clone(), opts.max_attachment_bytes);

    let extracted = source.extract(&sink, &resume).await;
    // Whatever happened, let the writer persist what it has (a rerun resumes from there).
    let _ = sink.finish().await;
    drop(sink);
    let joined = blocking(move || {
        handle
            .join()
            .unwrap_or_else(|_| Err(ExtractError::Stopped("bundle writer panicked".into())))
    })
    .await;
    let (mut writer, state) = match (extracted, joined) {
        (Ok(()), Ok(f)) => f,
        // The writer's own error explains a source that stopped because the channel closed.
        (Err(ExtractError::Stopped(_)), Err(we)) => return Err(we),
        (Err(e), _) => return Err(e),
        (Ok(()), Err(we)) => return Err(we),
    };
    writer.meta_mut().cursors = state.envelope_cursors();

    let out = opts.out.clone();
    let ExtractOptions { recipients, signer, .. } = opts;
    let sealed = blocking(move || Ok(writer.seal(&out, &recipients, &signer)?)).await?;
    display.stop();
    let snap = progress.snapshot();
    Ok(ExtractSummary {
        bundle: sealed.bundle,
        content_id: sealed.content_id,
        rows: sealed.envelope.row_counts,
        blobs: sealed.blobs,
        blob_bytes: sealed.blob_bytes,
        warnings: sealed.warnings,
        notes: sealed.notes,
        failed_attachments: snap.failed,
        reused_blobs: snap.reused,
        http: snap.http,
        resumed,
        elapsed: started.elapsed(),
    })
}
