//! `Sink`: where sources send their items. A bounded channel to the one writer thread gives
//! backpressure (memory stays flat however fast the API answers); attachments are downloaded
//! into the work directory's blob store before their row is sent.

use std::sync::Arc;

use deskferry_format::writer::BlobStore;
use deskferry_format::{Attachment, AttachmentState, Warning};
use tokio::sync::{mpsc, oneshot};

use super::downloads::{Download, DownloadsLog};
use super::writer_thread::Msg;
use crate::error::ExtractError;
use crate::http::Http;
use crate::progress::Progress;
use crate::source::Item;

/// What [`Sink::fetch`] did with an attachment.
#[derive(Debug)]
pub enum Fetched {
    /// Its row was sent (stored, too large, or failed with a warning).
    Sent,
    /// The source answered 404/410: the row, unsent, and the error.
    Gone(Box<Attachment>, String),
}

/// Where a source sends its items; clone it freely (all clones feed the same writer).
#[derive(Debug, Clone)]
pub struct Sink {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    blobs: BlobStore,
    downloads: DownloadsLog,
    progress: Progress,
    max_attachment_bytes: Option<u64>,
}

fn stopped() -> ExtractError {
    ExtractError::Stopped("the bundle writer stopped".into())
}

fn blocking_failed(e: tokio::task::JoinError) -> ExtractError {
    ExtractError::Stopped(format!("blob task failed: {e}"))
}

impl Sink {
    pub(crate) fn new(
        tx: mpsc::Sender<Msg>,
        blobs: BlobStore,
        downloads: DownloadsLog,
        progress: Progress,
        max_attachment_bytes: Option<u64>,
    ) -> Sink {
        Sink { tx, shared: Arc::new(Shared { blobs, downloads, progress, max_attachment_bytes }) }
    }

    /// Hands one item to the writer, waiting while the channel is full.
    pub async fn send(&self, item: Item) -> Result<(), ExtractError> {
        self.tx.send(Msg::Item(Box::new(item))).await.map_err(|_| stopped())
    }

    /// Asks the writer to checkpoint and stop; returns once it has.
    pub(crate) async fn finish(&self) -> Result<(), ExtractError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Msg::Finish(tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    /// Progress counters; sources may call `progress().note(stream, n)`.
    pub fn progress(&self) -> &Progress {
        &self.shared.progress
    }

    /// The work directory's blobs (for sources that store bytes they already hold).
    pub fn blobs(&self) -> &BlobStore {
        &self.shared.blobs
    }

    /// Fetches the attachment's bytes from `url` (unless this attachment id was stored by an
    /// earlier run and its blob re-hashes correctly), sets sha256/size/state=Stored, or
    /// state=Missing (404/410) / TooLarge / Failed with the error and a [`Warning`], then sends
    /// the row. Safe to call concurrently.
    pub async fn attachment(
        &self,
        http: &Http,
        bucket: &str,
        att: Attachment,
        url: &str,
    ) -> Result<(), ExtractError> {
        match self.fetch(http, bucket, att, url).await? {
            Fetched::Sent => Ok(()),
            Fetched::Gone(att, error) => self.missing(*att, error).await,
        }
    }

    /// [`Sink::attachment`], except that a file the source answers 404/410 for is handed back
    /// unsent with the error: for a source that can tell whether the file's record was deleted
    /// meanwhile ([`Sink::gone`]) or not ([`Sink::missing`]).
    pub async fn fetch(
        &self,
        http: &Http,
        bucket: &str,
        mut att: Attachment,
        url: &str,
    ) -> Result<Fetched, ExtractError> {
        let sh = &self.shared;
        if let Some(prev) = sh.downloads.get(&att.id) {
            let blobs = sh.blobs.clone();
            let sha = prev.sha256.clone();
            let verified = tokio::task::spawn_blocking(move || blobs.verify(&sha))
                .await
                .map_err(blocking_failed)??;
            if let Some(r) = verified {
                sh.progress.blob(r.size, true);
                stored(&mut att, &r.sha256, r.size);
                self.send(Item::Attachment(att)).await?;
                return Ok(Fetched::Sent);
            }
        }
        let limit = sh.max_attachment_bytes;
        if let (Some(max), Some(size)) = (limit, att.size)
            && size > 0
            && size as u64 > max
        {
            let why = too_large(size as u64, max);
            self.not_stored(att, AttachmentState::TooLarge, why).await?;
            return Ok(Fetched::Sent);
        }
        let tmp = sh.blobs.tmp_path();
        let got = http.download(bucket, url, &tmp).await;
        let d = match got {
            Ok(d) => d,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                if matches!(e.status(), Some(404 | 410)) {
                    return Ok(Fetched::Gone(Box::new(att), e.to_string()));
                }
                self.not_stored(att, AttachmentState::Failed, e.to_string()).await?;
                return Ok(Fetched::Sent);
            }
        };
        if let Some(max) = limit.filter(|m| d.size > *m) {
            let _ = tokio::fs::remove_file(&tmp).await;
            self.not_stored(att, AttachmentState::TooLarge, too_large(d.size, max)).await?;
            return Ok(Fetched::Sent);
        }
        let blobs = sh.blobs.clone();
        let (sha, size) = (d.sha256.clone(), d.size);
        let r = tokio::task::spawn_blocking(move || blobs.adopt(&tmp, &sha, size))
            .await
            .map_err(blocking_failed)??;
        sh.downloads.record(Download {
            id: att.id.clone(),
            sha256: r.sha256.clone(),
            size: r.size,
        })?;
        sh.progress.blob(r.size, false);
        stored(&mut att, &r.sha256, r.size);
        self.send(Item::Attachment(att)).await?;
        Ok(Fetched::Sent)
    }

    /// Records a file the source no longer has (404/410) while its record is still there:
    /// state Missing, a failure warning (the extraction lost it).
    pub async fn missing(&self, att: Attachment, error: String) -> Result<(), ExtractError> {
        self.not_stored(att, AttachmentState::Missing, error).await
    }

    /// Records a file whose record was deleted at the source during the export: state Missing
    /// with `why`, a note rather than a failure (the source no longer holds it; a delta's
    /// tombstone or the next full extraction says the rest).
    pub async fn gone(&self, mut att: Attachment, why: String) -> Result<(), ExtractError> {
        self.send(Item::Warning(Warning::note(
            "attachments",
            Some(att.id.clone()),
            format!("attachment gone with its record: {why}"),
        )))
        .await?;
        att.state = AttachmentState::Missing;
        att.sha256 = None;
        att.error = Some(why);
        self.send(Item::Attachment(att)).await
    }

    async fn not_stored(
        &self,
        mut att: Attachment,
        state: AttachmentState,
        error: String,
    ) -> Result<(), ExtractError> {
        self.shared.progress.failed();
        let what = match state {
            AttachmentState::Missing => "attachment missing at the source",
            AttachmentState::TooLarge => "attachment over the size limit, not downloaded",
            _ => "attachment download failed",
        };
        self.send(Item::Warning(Warning::failure(
            "attachments",
            Some(att.id.clone()),
            format!("{what}: {error}"),
        )))
        .await?;
        att.state = state;
        att.sha256 = None;
        att.error = Some(error);
        self.send(Item::Attachment(att)).await
    }
}

fn stored(att: &mut Attachment, sha256: &str, size: u64) {
    att.sha256 = Some(sha256.to_string());
    att.size = Some(size as i64);
    att.state = AttachmentState::Stored;
    att.error = None;
}

fn too_large(size: u64, max: u64) -> String {
    format!("{size} bytes, limit {max} bytes (options.max_attachment_mb)")
}
