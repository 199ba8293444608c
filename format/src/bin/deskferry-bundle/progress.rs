//! Progress on a terminal for long work (verifying and exporting a large bundle): one bar on
//! stderr, only when stderr is a terminal, so scripts and `--json` output see nothing of it.

use std::io::IsTerminal;
use std::sync::Mutex;

use deskferry_format::{Progress, Stage};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar on stderr when it is a terminal, else nothing.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar when stderr is a terminal.
    pub fn on_terminal() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg:>18} [{bar:40}] {percent:>3}% {bytes_per_sec:>12} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Bar(Some(bar))
    }

    /// What verification reports, drawn on this bar (a new stage restarts it).
    pub fn verification(&self) -> Progress {
        let Some(bar) = self.0.clone() else { return Progress::none() };
        let stage = Mutex::new(None::<Stage>);
        Progress::to(move |s, done, total| {
            let mut cur = stage.lock().unwrap_or_else(|p| p.into_inner());
            if *cur != Some(s) {
                *cur = Some(s);
                bar.reset();
                bar.set_length(total);
                bar.set_message(s.label());
            }
            bar.set_position(done);
        })
    }

    /// Starts a stage of the command's own (`export`), of `total` units.
    pub fn stage(&self, label: &'static str, total: u64) {
        if let Some(bar) = &self.0 {
            bar.reset();
            bar.set_length(total);
            bar.set_message(label);
        }
    }

    /// `n` more units done.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
