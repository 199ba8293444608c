//! Single-record writes gathered into Zendesk's bulk requests.
//!
//! The loader core writes one record at a time, a few at once (`options.concurrency`). Zendesk
//! takes up to 100 users or tickets in one request (`users/create_or_update_many`,
//! `imports/tickets/create_many`), answered by a job to poll. A [`Batcher`] lets the writes in
//! flight share one request: the first write of a batch waits for the others — until the batch
//! is full, or no other write is still preparing (uploading its files: the rest already wait
//! in the batch, holding the loader's slots, so nothing more comes until it is sent), or at
//! most `linger` — then sends them all and hands each its own outcome. A batch is never larger
//! than the writes in flight, so the Zendesk target asks the core for 100 of them
//! (`Capabilities::concurrency`), unless the mapping's `options.concurrency` says fewer.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How often the first write of a batch looks whether to send it.
const TICK: Duration = Duration::from_millis(10);

/// Writes that will join a batch soon (preparing: uploading files); see [`Preparing`].
#[derive(Debug, Default)]
pub(super) struct Pending(AtomicUsize);

impl Pending {
    /// No write is preparing.
    pub(super) fn none(&self) -> bool {
        self.0.load(Ordering::SeqCst) == 0
    }
}

/// One write preparing, until dropped (it joined its batch, or failed before).
pub(super) struct Preparing<'a>(&'a Pending);

impl<'a> Preparing<'a> {
    pub(super) fn new(p: &'a Pending) -> Self {
        p.0.fetch_add(1, Ordering::SeqCst);
        Preparing(p)
    }
}

impl Drop for Preparing<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Queue<I, O> {
    items: Vec<(I, oneshot::Sender<O>)>,
    /// A write is waiting to send the queued ones.
    leader: bool,
}

/// Gathers items into batches of at most `max`.
pub(super) struct Batcher<I, O> {
    max: usize,
    linger: Duration,
    queue: Mutex<Queue<I, O>>,
}

impl<I, O> std::fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").field("max", &self.max).field("linger", &self.linger).finish()
    }
}

impl<I, O> Batcher<I, O> {
    /// Batches of at most `max` (≥ 1), each opened `linger` before it is sent.
    pub(super) fn new(max: usize, linger: Duration) -> Self {
        Batcher {
            max: max.max(1),
            linger,
            queue: Mutex::new(Queue { items: Vec::new(), leader: false }),
        }
    }

    /// Queues `item` and waits for its outcome. The item that opens a batch sends it: once it
    /// is full, or nothing more is `coming`, or after `linger`, it takes what is queued (in
    /// chunks of `max`, sent one after the other) through `flush`, which answers one outcome
    /// per item in order. `None` when `flush` gave this item no outcome.
    pub(super) async fn submit<F, Fut>(&self, item: I, coming: &Pending, flush: F) -> Option<O>
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = Vec<O>>,
    {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.items.push((item, tx));
            !std::mem::replace(&mut q.leader, true)
        };
        if lead {
            let opened = Instant::now();
            loop {
                tokio::time::sleep(TICK).await;
                let queued = self.queue.lock().unwrap_or_else(|e| e.into_inner()).items.len();
                if queued >= self.max || coming.none() || opened.elapsed() >= self.linger {
                    break;
                }
            }
            let mut taken = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                q.leader = false;
                std::mem::take(&mut q.items)
            };
            while !taken.is_empty() {
                let rest = taken.split_off(taken.len().min(self.max));
                let (items, senders): (Vec<I>, Vec<oneshot::Sender<O>>) = taken.into_iter().unzip();
                let outcomes = flush(items).await;
                for (tx, o) in senders.into_iter().zip(outcomes) {
                    let _ = tx.send(o);
                }
                taken = rest;
            }
        }
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::StreamExt;

    use super::*;

    #[test]
    fn writes_in_flight_share_one_request_and_each_gets_its_own_outcome() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let b: Batcher<u32, u32> = Batcher::new(3, Duration::from_millis(20));
        let flushes = AtomicUsize::new(0);
        let flush = |items: Vec<u32>| {
            flushes.fetch_add(1, Ordering::SeqCst);
            async move { items.into_iter().map(|i| i * 10).collect() }
        };
        let none = Pending::default();
        let got: Vec<Option<u32>> = rt.block_on(
            futures_util::stream::iter((1..=7).map(|i| b.submit(i, &none, flush)))
                .buffered(7)
                .collect(),
        );
        assert_eq!(got, (1..=7).map(|i| Some(i * 10)).collect::<Vec<_>>());
        // Seven writes in flight, at most three a request: three requests.
        assert_eq!(flushes.load(Ordering::SeqCst), 3);
        // One write alone is sent alone.
        let one = rt.block_on(b.submit(9, &none, flush));
        assert_eq!((one, flushes.load(Ordering::SeqCst)), (Some(90), 4));
        // A write still preparing (uploading) is waited for, then shares the request.
        let b: Batcher<u32, u32> = Batcher::new(3, Duration::from_millis(500));
        let coming = Pending::default();
        let late = async {
            let p = Preparing::new(&coming);
            tokio::time::sleep(Duration::from_millis(35)).await;
            drop(p);
            b.submit(2, &coming, flush).await
        };
        let early = async { b.submit(1, &coming, flush).await };
        let both = rt.block_on(async { futures_util::join!(late, early) });
        assert_eq!(both, (Some(20), Some(10)));
        assert_eq!(flushes.load(Ordering::SeqCst), 5, "one request for both");
    }
}
