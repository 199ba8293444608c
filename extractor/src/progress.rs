//! Progress: counters shared by the pipeline and the sources, shown as indicatif bars on a
//! terminal or as a plain line every few seconds otherwise (always on stderr; stdout is left
//! for the `--json` summary).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::http::{Http, HttpStats};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, else plain lines.
    Auto,
    /// Plain lines every few seconds.
    Plain,
    /// Nothing.
    Off,
}

/// Counters of one extraction; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: Mutex<BTreeMap<String, u64>>,
    noted: Mutex<BTreeMap<String, u64>>,
    blob_bytes: AtomicU64,
    blobs: AtomicU64,
    reused: AtomicU64,
    failed: AtomicU64,
    http: Mutex<Option<Http>>,
}

/// What the counters say now.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Rows handed to the writer, per table.
    pub rows: BTreeMap<String, u64>,
    /// Records the sources reported reading, per stream.
    pub noted: BTreeMap<String, u64>,
    /// Attachment bytes downloaded (or reused).
    pub blob_bytes: u64,
    /// Attachments stored.
    pub blobs: u64,
    /// Attachments reused from an earlier run after re-hashing.
    pub reused: u64,
    /// Attachments that could not be stored (failed, missing, too large).
    pub failed: u64,
    /// The HTTP client's counters, when one is attached.
    pub http: Option<HttpStats>,
}

impl Progress {
    /// Fresh counters.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// A source read `n` more records of `stream` (shown beside the rows written).
    pub fn note(&self, stream: &str, n: u64) {
        *self.inner.noted.lock().expect("progress lock").entry(stream.to_string()).or_default() +=
            n;
    }

    /// The writer took one more row of `table`.
    pub fn row(&self, table: &str) {
        let mut rows = self.inner.rows.lock().expect("progress lock");
        match rows.get_mut(table) {
            Some(n) => *n += 1,
            None => {
                rows.insert(table.to_string(), 1);
            }
        }
    }

    /// An attachment was stored (`reused`: from an earlier run's blob).
    pub fn blob(&self, bytes: u64, reused: bool) {
        self.inner.blobs.fetch_add(1, Ordering::Relaxed);
        self.inner.blob_bytes.fetch_add(bytes, Ordering::Relaxed);
        if reused {
            self.inner.reused.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An attachment could not be stored.
    pub fn failed(&self) {
        self.inner.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Shows this client's requests and rate-limit waits too.
    pub fn attach_http(&self, http: &Http) {
        *self.inner.http.lock().expect("progress lock") = Some(http.clone());
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            rows: self.inner.rows.lock().expect("progress lock").clone(),
            noted: self.inner.noted.lock().expect("progress lock").clone(),
            blob_bytes: self.inner.blob_bytes.load(Ordering::Relaxed),
            blobs: self.inner.blobs.load(Ordering::Relaxed),
            reused: self.inner.reused.load(Ordering::Relaxed),
            failed: self.inner.failed.load(Ordering::Relaxed),
            http: self.inner.http.lock().expect("progress lock").as_ref().map(Http::stats),
        }
    }

    /// Starts showing progress on stderr until the returned handle is stopped or dropped.
    pub fn display(&self, mode: ProgressMode) -> Display {
        let stop = Arc::new(AtomicBool::new(false));
        let bars = match mode {
            ProgressMode::Off => return Display { stop, thread: None },
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Plain => false,
        };
        let progress = self.clone();
        let flag = stop.clone();
        let thread =
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || {
                    if bars { draw_bars(&progress, &flag) } else { plain_lines(&progress, &flag) }
                })
                .ok();
        Display { stop, thread }
    }
}

/// The running display; stopping it draws the last state.
#[derive(Debug)]
pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Display {
    /// Stops the display (and waits for its last draw).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Human-readable bytes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// One status line: requests, bytes, blobs, and the rate-limit wait since the last line.
fn status_line(s: &Snapshot, last_wait: &mut Duration) -> String {
    let mut line = format!("attachments {} ({})", s.blobs, human_bytes(s.blob_bytes));
    if s.failed > 0 {
        line.push_str(&format!(", {} not stored", s.failed));
    }
    if let Some(h) = &s.http {
        let wait = h.waited.saturating_sub(*last_wait);
        *last_wait = h.waited;
        line.push_str(&format!(
            " · requests {} ({} retried, {} rate-limited) · {} received · waiting {:.1}s",
            h.requests,
            h.retries,
            h.rate_limited,
            human_bytes(h.bytes_in),
            wait.as_secs_f64()
        ));
    }
    line
}

fn plain_lines(p: &Progress, stop: &AtomicBool) {
    let started = Instant::now();
    let mut last_wait = Duration::ZERO;
    let every = Duration::from_secs(5);
    let mut next = started + every;
    loop {
        let done = stop.load(Ordering::Relaxed);
        if done || Instant::now() >= next {
            let s = p.snapshot();
            let rows: Vec<String> = s.rows.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprintln!(
                "extract {:>5}s: {} · {}",
                started.elapsed().as_secs(),
                if rows.is_empty() { "no rows yet".to_string() } else { rows.join(" ") },
                status_line(&s, &mut last_wait)
            );
            next = Instant::now() + every;
        }
        if done {
            return;
        }
        std::thread::park_timeout(Duration::from_millis(250));
    }
}

fn draw_bars(p: &Progress, stop: &AtomicBool) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(5));
    let style = ProgressStyle::with_template("{spinner} {prefix:>16} {pos:>9} rows")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let status = multi.add(ProgressBar::new_spinner());
    status.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    let mut last_wait = Duration::ZERO;
    loop {
        let done = stop.load(Ordering::Relaxed);
        let s = p.snapshot();
        for (table, n) in &s.rows {
            let bar = bars.entry(table.clone()).or_insert_with(|| {
                let b = multi.insert_before(&status, ProgressBar::new_spinner());
                b.set_style(style.clone());
                b.set_prefix(table.clone());
                b
            });
            bar.set_position(*n);
            bar.tick();
        }
        status.set_message(status_line(&s, &mut last_wait));
        status.tick();
        if done {
            for b in bars.values() {
                b.finish();
            }
            status.finish();
            return;
        }
        std::thread::park_timeout(Duration::from_millis(200));
    }
}
