//! Progress: bars on a terminal, plain lines (one per stage and every few seconds) otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Progress display for one command.
#[derive(Debug)]
pub struct Progress {
    bars: bool,
    quiet: bool,
    current: Mutex<Option<Stage>>,
}

#[derive(Debug)]
struct Stage {
    name: String,
    total: u64,
    done: u64,
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl Progress {
    /// Bars when stderr is a terminal and `quiet` is off; plain lines otherwise.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            bars: !quiet && std::io::stderr().is_terminal(),
            quiet,
            current: Mutex::new(None),
        }
    }

    /// Nothing at all (tests).
    pub fn silent() -> Progress {
        Progress { bars: false, quiet: true, current: Mutex::new(None) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Stage>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a stage of `total` records (ends the previous one).
    pub fn stage(&self, name: &str, total: u64) {
        self.finish();
        let bar = if self.bars {
            let b = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>14} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix(name.to_string());
            Some(b)
        } else {
            if !self.quiet {
                eprintln!("{name}: {total} to do");
            }
            None
        };
        *self.lock() =
            Some(Stage { name: name.into(), total, done: 0, bar, last_line: Instant::now() });
    }

    /// `n` more records done in the current stage.
    pub fn inc(&self, n: u64) {
        let mut g = self.lock();
        let Some(s) = g.as_mut() else { return };
        s.done += n;
        if let Some(b) = &s.bar {
            b.inc(n);
        } else if !self.quiet && s.last_line.elapsed() >= Duration::from_secs(5) {
            s.last_line = Instant::now();
            eprintln!("{}: {}/{}", s.name, s.done, s.total);
        }
    }

    /// A line for people (above the bar on a terminal).
    pub fn note(&self, line: &str) {
        if self.quiet {
            return;
        }
        let g = self.lock();
        match g.as_ref().and_then(|s| s.bar.as_ref()) {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// A line that must be seen even when progress is quiet (an unreachable target).
    pub fn alert(&self, line: &str) {
        let g = self.lock();
        match g.as_ref().and_then(|s| s.bar.as_ref()) {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Ends the current stage.
    pub fn finish(&self) {
        if let Some(s) = self.lock().take() {
            match s.bar {
                Some(b) => b.finish(),
                None if !self.quiet => eprintln!("{}: {}/{} done", s.name, s.done, s.total),
                None => {}
            }
        }
    }
}

/// The HTTP client's outage policy for a command: give up after `max`, and show the retries of
/// an unreachable target and its recovery (even with `--json`: stderr, as every progress line).
pub fn outage_policy(
    progress: &std::sync::Arc<Progress>,
    max: Duration,
) -> deskferry_extractor::http::OutagePolicy {
    let progress = progress.clone();
    deskferry_extractor::http::OutagePolicy::printing(max, move |line| progress.alert(line))
}
