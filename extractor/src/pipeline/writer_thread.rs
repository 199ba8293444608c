//! The one thread that owns the `BundleWriter` (sync code): it appends items in the order they
//! arrive and checkpoints on cursors, so a persisted cursor never runs ahead of its records.

use std::thread::JoinHandle;

use deskferry_format::{BundleWriter, Record};
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::{PipelineState, Policy};
use crate::error::ExtractError;
use crate::progress::Progress;
use crate::source::{Item, StreamCursor};

/// What travels through the channel.
#[derive(Debug)]
pub(crate) enum Msg {
    /// One item from a source.
    Item(Box<Item>),
    /// No more items: checkpoint and hand the writer back; answered once that is done.
    Finish(oneshot::Sender<()>),
}

/// The writer and the state of its last checkpoint, once the thread has finished.
pub(crate) type Finished = (BundleWriter, PipelineState);

/// Starts the writer thread.
pub(crate) fn spawn(
    writer: BundleWriter,
    rx: mpsc::Receiver<Msg>,
    state: PipelineState,
    policy: Policy,
    progress: Progress,
) -> JoinHandle<Result<Finished, ExtractError>> {
    std::thread::Builder::new()
        .name("bundle-writer".into())
        .spawn(move || run(writer, rx, state, policy, progress))
        .expect("spawn the bundle writer thread")
}

fn append<R: Record>(
    w: &mut BundleWriter,
    p: &mut Policy,
    progress: &Progress,
    r: &R,
) -> Result<(), ExtractError> {
    w.append(r)?;
    p.row();
    progress.row(R::TABLE.name());
    Ok(())
}

fn run(
    mut w: BundleWriter,
    mut rx: mpsc::Receiver<Msg>,
    mut state: PipelineState,
    mut policy: Policy,
    progress: Progress,
) -> Result<Finished, ExtractError> {
    while let Some(msg) = rx.blocking_recv() {
        let item = match msg {
            Msg::Item(item) => *item,
            Msg::Finish(done) => {
                w.checkpoint(&state.to_value())?;
                let _ = done.send(());
                return Ok((w, state));
            }
        };
        let p = &mut policy;
        let pr = &progress;
        match item {
            Item::User(r) => append(&mut w, p, pr, &r)?,
            Item::Organization(r) => append(&mut w, p, pr, &r)?,
            Item::Group(r) => append(&mut w, p, pr, &r)?,
            Item::CustomField(r) => append(&mut w, p, pr, &r)?,
            Item::Ticket(r) => append(&mut w, p, pr, &r)?,
            Item::Comment(r) => append(&mut w, p, pr, &r)?,
            Item::Attachment(r) => append(&mut w, p, pr, &r)?,
            Item::KbCategory(r) => append(&mut w, p, pr, &r)?,
            Item::KbSection(r) => append(&mut w, p, pr, &r)?,
            Item::KbArticle(r) => append(&mut w, p, pr, &r)?,
            Item::Tombstone(r) => append(&mut w, p, pr, &r)?,
            Item::Warning(warning) => w.warn(warning),
            Item::Cursor { stream, cursor, done } => {
                // Every item before this one has been appended above; a checkpoint taken now
                // makes them durable together with this cursor.
                state.streams.insert(stream, StreamCursor { cursor, done });
                if policy.due() {
                    w.checkpoint(&state.to_value())?;
                    policy.taken();
                }
            }
        }
    }
    // Every sender is gone without Finish: the run was abandoned; keep what is durable.
    Err(ExtractError::Stopped("the pipeline was dropped before it finished".into()))
}
