//! Kayako Classic extraction benchmark (not a test): requests per 1,000 tickets extracted
//! against the fewest the v4 REST API allows, and how much of the simulator's enforced request
//! budget the extractor uses.
//!
//!   cargo bench -p deskferry-tests --bench kayako_classic
//!
//! One run (in process, simulator on 127.0.0.1) prints:
//! - requests per 1,000 tickets (every request the simulator answered: the check, lookups,
//!   lists, each ticket's custom field values and file list, each file) and the ratio to the
//!   floor of `deskferry_fixtures::sim::kayako_classic::expect::request_floor` (target 1.00);
//! - the achieved request rate ÷ the simulator's enforced limit (its web front's 600 a minute
//!   × time_scale; Classic itself documents none; target ≥ 0.9): the extractor is told the
//!   server's rate and must keep to it without falling behind it.
//!
//! Environment: DESKFERRY_BENCH_SIZE (default `small`; tiny and small only: every file is
//! served whole, base64 in XML), DESKFERRY_BENCH_RATE_SCALE (default 2).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::kayako_classic::KayakoClassicSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::kayako_classic::{self, ClassicConfig, expect, vendor};
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
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kayako-classic-bench");
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
    let sim = kayako_classic::start(
        Desk::new(Store::from_dataset(ds.clone())),
        ClassicConfig { options, ..ClassicConfig::default() },
    )
    .await?;
    let creds = &sim.state.credentials;
    std::fs::write(dir.join("secret"), creds.secret())?;
    let limit = f64::from(vendor::PER_MINUTE) * scale;
    let text = format!(
        "platform = \"kayako-classic\"\nurl = \"{u}\"\n[credentials]\nuser = \"{key}\"\ntoken_file = \"secret\"\n\
         [rate_limits]\ndefault = {limit}\n",
        u = sim.url(),
        key = creds.api_key,
        limit = limit as u64,
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml"))?;
    let source = KayakoClassicSource::new(&cfg)?;
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
    let stats = summary.http.context("http stats")?;
    let (first, last) = *stats.per_bucket_window.get("default").context("no requests")?;
    let window = last.saturating_duration_since(first).as_secs_f64();
    let rate = requests.saturating_sub(1) as f64 * 60.0 / window.max(1e-9);
    let floor = expect::request_floor(&ds);
    let tickets = ds.tickets.len();
    println!();
    println!(
        "deskferry Kayako Classic extraction benchmark ({size}, {tickets} tickets, simulator on 127.0.0.1; one run)"
    );
    println!(
        "requests per 1000 tickets: {:.1} ({requests} requests) vs the API's floor {:.1} ({} requests): ratio {:.2}   target 1.00",
        requests as f64 * 1000.0 / tickets as f64,
        floor.requests as f64 * 1000.0 / tickets as f64,
        floor.requests,
        requests as f64 / floor.requests as f64
    );
    println!("  floor: {floor}");
    println!(
        "request budget use: {rate:.1} req/min achieved ÷ {limit:.1} req/min enforced (600/min × time_scale {scale}) = {:.3}   target ≥ {RATE_TARGET}  ({requests} requests over {window:.1} s, {throttled} answered 429)",
        rate / limit
    );
    sim.stop().await?;
    Ok(())
}
