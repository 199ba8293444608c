//! Help Scout extraction benchmark (not a test): requests per 1,000 tickets against the fewest
//! the APIs allow, and how much of the simulator's enforced Mailbox API budget the extractor
//! uses.
//!
//!   cargo bench -p deskferry-tests --bench helpscout
//!
//! One run (in process, simulator on 127.0.0.1) prints:
//! - requests per 1,000 tickets (every request the simulator answered: token, lists, each
//!   attachment's data, the Docs API) and the ratio to the floor of
//!   `deskferry_fixtures::sim::helpscout::expect::request_floor` (target 1.00);
//! - achieved Mailbox API request rate ÷ the simulator's enforced limit (200 a minute ×
//!   time_scale; target ≥ 0.9): the extractor is told the plan's rate and must keep to it
//!   without falling behind it.
//!
//! Environment: DESKFERRY_BENCH_SIZE (default `small`; tiny and small only: every file is
//! served whole), DESKFERRY_BENCH_RATE_SCALE (default 2: thirty-second windows; on a loaded machine a higher scale measures the CPU, not the pacing).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::helpscout::HelpScoutSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::helpscout::{self, HelpScoutConfig, expect, vendor};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::{Recipients, SigningKey, keygen};

const SEED: u64 = 42;
const RATE_TARGET: f64 = 0.9;

fn main() -> Result<()> {
    let size: Size =
        std::env::var("DESKFERRY_BENCH_SIZE").unwrap_or_else(|_| "small".into()).parse()?;
    let scale: f64 = std::env::var("DESKFERRY_BENCH_RATE_SCALE")
        .ok()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2.0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("helpscout-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run(&dir, size, scale))?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run(dir: &Path, size: Size, scale: f64) -> Result<()> {
    let ds = Dataset::generate(SEED, size);
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = helpscout::start(
        Desk::new(Store::from_dataset(ds.clone())),
        HelpScoutConfig { options, ..HelpScoutConfig::default() },
    )
    .await?;
    let creds = &sim.state.credentials;
    std::fs::write(dir.join("secret"), creds.secret())?;
    std::fs::write(dir.join("docs-key"), &creds.docs_key)?;
    let limit = f64::from(vendor::MAILBOX_PER_MINUTE) * scale;
    let text = format!(
        "platform = \"helpscout\"\nurl = \"{u}\"\n[credentials]\nuser = \"{id}\"\ntoken_file = \"secret\"\n\
         [rate_limits]\ndefault = {limit}\ndocs = {docs}\n[options]\ndocs_url = \"{u}\"\ndocs_key_file = \"docs-key\"\n",
        u = sim.url(),
        id = creds.client_id,
        limit = limit as u64,
        docs = (f64::from(vendor::DOCS_PER_TEN_MINUTES) / 10.0 * scale) as u64,
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml"))?;
    let source = HelpScoutSource::new(&cfg)?;
    let keys = keygen(&dir.join("keys"))?;
    let mut opts = ExtractOptions::new(
        dir.join("b.dfb"),
        Recipients::from_file(&keys.recipient)?,
        SigningKey::from_file(&keys.sign_key)?,
    );
    opts.progress = ProgressMode::Off;
    opts.http = Some(source.http().clone());
    let summary = pipeline::run(&source, opts).await?;
    let log = sim.running.log.entries();
    let requests = log.len();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let mailbox = log.iter().filter(|e| e.bucket.as_deref() == Some("mailbox")).count();
    let stats = summary.http.context("http stats")?;
    let (first, last) = *stats.per_bucket_window.get("default").context("no Mailbox requests")?;
    let window = last.saturating_duration_since(first).as_secs_f64();
    let rate = mailbox.saturating_sub(1) as f64 * 60.0 / window.max(1e-9);
    let floor = expect::request_floor(&ds);
    let tickets = ds.tickets.len();
    println!();
    println!(
        "deskferry Help Scout extraction benchmark ({size}, {tickets} tickets, simulator on 127.0.0.1; one run)"
    );
    println!(
        "requests per 1000 tickets: {:.1} ({requests} requests) vs the APIs' floor {:.1} ({} requests): ratio {:.2}   target 1.00",
        requests as f64 * 1000.0 / tickets as f64,
        floor.requests as f64 * 1000.0 / tickets as f64,
        floor.requests,
        requests as f64 / floor.requests as f64
    );
    println!("  floor: {floor}");
    println!(
        "Mailbox API budget use: {rate:.1} req/min achieved ÷ {limit:.1} req/min enforced (200/min × time_scale {scale}) = {:.3}   target ≥ {RATE_TARGET}  ({mailbox} requests over {window:.1} s, {throttled} answered 429)",
        rate / limit
    );
    sim.stop().await?;
    Ok(())
}
