//! Front extraction benchmark (not a test): requests per 1,000 tickets against the floor
//! Front's API allows for the same data, and the achieved request rate ÷ the simulator's
//! enforced company limit.
//!
//!   cargo bench -p deskferry-tests --bench extract_front
//!
//! One run against the simulated Front on 127.0.0.1 holding a seeded dataset (the whole
//! extraction through the real pipeline: every conversation with its messages, comments and
//! files) prints:
//! - requests per 1,000 tickets, counted by the simulator (file downloads included: they draw
//!   from the same company limit), beside the floor for the same data
//!   (`deskferry_fixtures::sim::front::expect::request_floor`: every list at 100 a page, each
//!   team once, one comment list and one follower list per conversation, each knowledge-base
//!   category and article once per locale, one download per file; target: ratio ≤ 1.05);
//! - achieved rate ÷ enforced limit: requests answered per minute over the extraction's
//!   window ÷ the plan's 100 per minute × `time_scale` (target ≥ 0.9), and the 429s.
//!
//! The simulator serves the first 4 KiB of each file (sizes say so too), so the run measures
//! the API's pacing, not the disk.
//!
//! Environment: DESKFERRY_BENCH_SIZE (default `small`; `tiny`, `medium`), DESKFERRY_BENCH_SCALE
//! (time scale, default 30: the 100-per-minute plan becomes 3,000 per minute),
//! DESKFERRY_BENCH_DIR (work files; default cargo's target tmp dir).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::front::FrontSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::front::{self, FRONT_PLAN, FrontConfig, FrontState};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::{Recipients, SigningKey, keygen};

const SEED: u64 = 42;
const FLOOR_RATIO_LIMIT: f64 = 1.05;
const RATE_TARGET: f64 = 0.9;
/// Bytes served per attachment (see the module doc).
const FILE_BYTES: i64 = 4096;

fn small_files(mut store: Store) -> Store {
    for a in &mut store.attachments {
        a.size = a.size.map(|n| n.min(FILE_BYTES));
    }
    let full = store.bytes.clone();
    store.bytes = std::sync::Arc::new(move |a| Box::new(full(a).take(FILE_BYTES as u64)));
    store
}

fn main() -> Result<()> {
    let dir = std::env::var_os("DESKFERRY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("extract-front-bench"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let size: Size =
        std::env::var("DESKFERRY_BENCH_SIZE").unwrap_or_else(|_| "small".into()).parse()?;
    let scale: f64 =
        std::env::var("DESKFERRY_BENCH_SCALE").ok().map(|s| s.parse()).transpose()?.unwrap_or(30.0);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run(&dir, size, scale))?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run(dir: &Path, size: Size, scale: f64) -> Result<()> {
    let ds = Dataset::generate(SEED, size);
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let token = "front-bench-token".to_string();
    let config = FrontConfig { token: token.clone(), plan: FRONT_PLAN, ..FrontConfig::default() };
    let desk = Desk::new(small_files(Store::from_dataset(ds.clone())));
    let server = front::start_on(&options, config, desk, 0).await?;
    // The floor, over the same dataset (the same seed gives the same Front ids).
    let fresh = FrontState::on_desk(
        &options,
        FrontConfig::default(),
        Desk::new(small_files(Store::from_dataset(ds.clone()))),
    );
    let floor = fresh.with_store(|look| front::expect::request_floor(&ds, look));

    let limit = f64::from(FRONT_PLAN.per_minute()) * scale.round().max(1.0);
    let text = format!(
        "platform = \"front\"\nurl = \"{}\"\n[credentials]\ntoken = \"{token}\"\n[rate_limits]\ndefault = {}\n",
        server.running.url(),
        limit as u64
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml"))?;
    let source = FrontSource::new(&cfg)?;
    let keys = keygen(&dir.join("keys"))?;
    let mut opts = ExtractOptions::new(
        dir.join("front.dfb"),
        Recipients::from_file(&keys.recipient)?,
        SigningKey::from_file(&keys.sign_key)?,
    );
    opts.progress = ProgressMode::Off;
    opts.http = Some(source.http().clone());
    let started = Instant::now();
    let summary = pipeline::run(&source, opts).await?;
    let secs = started.elapsed().as_secs_f64();

    let log = server.running.log.entries();
    let answered = log.iter().filter(|e| e.status < 400 && e.fault.is_none()).count();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let stats = summary.http.context("http stats")?;
    let (first, last) = *stats.per_bucket_window.get("default").context("no requests")?;
    let window = last.saturating_duration_since(first).as_secs_f64();
    let rate = answered.saturating_sub(1) as f64 * 60.0 / window.max(1e-9);
    let tickets = ds.tickets.len();
    let per_1000 = |n: usize| n as f64 * 1000.0 / tickets as f64;
    server.running.stop().await?;

    println!();
    println!("deskferry Front extraction benchmark (simulator on 127.0.0.1; one run)");
    println!(
        "requests per 1000 tickets ({size}, {tickets} tickets, {} rows, file downloads included): {:.1}   floor {:.1}   ratio {:.3}   target ≤ {FLOOR_RATIO_LIMIT}",
        summary.rows.values().sum::<u64>(),
        per_1000(answered),
        per_1000(floor.requests),
        answered as f64 / floor.requests as f64
    );
    println!("  ours: {answered} requests answered; the floor: {floor}");
    println!(
        "company limit use: {rate:.1} req/min achieved ÷ {limit:.0} req/min enforced ({} per minute × time_scale {scale}) = {:.3}   target ≥ {RATE_TARGET}  ({answered} requests over {window:.1} s, {throttled} answered 429; whole run {secs:.1} s)",
        FRONT_PLAN.per_minute(),
        rate / limit
    );
    Ok(())
}
