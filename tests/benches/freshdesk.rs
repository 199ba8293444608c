//! Freshdesk extraction benchmark (not a test): API requests per 1,000 tickets against the
//! fewest Freshdesk's API allows for the same data, and the achieved request rate against the
//! simulator's enforced per-minute limit.
//!
//!   cargo bench -p deskferry-tests --bench freshdesk
//!
//! One run prints:
//! - for DESKFERRY_BENCH_SIZE (default `small`): the extraction's API requests (attachment
//!   downloads, which go to the storage host, excluded) per 1,000 tickets, the floor
//!   (`deskferry_fixtures::sim::freshdesk::expect::request_floor`) per 1,000 tickets, and their
//!   ratio; the simulator runs 600× real time so no budget binds;
//! - the rate run: `tiny` on the Trial plan (50 requests a minute overall), time scale 12
//!   (600 a minute enforced), the extractor told the plan's limits: requests per minute
//!   achieved over the run ÷ the enforced limit (target ≥ 0.9), and how many answers were 429.
//!
//! Loading into Freshdesk is not measured: Freshdesk is not a target yet.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::freshdesk::FreshdeskSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::freshdesk::{self, FreshdeskConfig, Plan};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::{Recipients, SigningKey, keygen};

const RATE_TARGET: f64 = 0.9;

struct Run {
    tickets: usize,
    api: usize,
    throttled: usize,
    floor: usize,
    secs: f64,
}

async fn extract(
    size: Size,
    plan: Plan,
    time_scale: f64,
    rates: &BTreeMap<String, u32>,
) -> Result<Run> {
    let ds = Dataset::generate(42, size);
    let floor = freshdesk::expect::request_floor(&ds).requests;
    let tickets = ds.tickets.len();
    let config = FreshdeskConfig {
        plan,
        options: SimOptions { time_scale, seed: 42, ..SimOptions::default() },
        ..FreshdeskConfig::default()
    };
    let sim = freshdesk::start(Desk::new(Store::from_dataset(ds)), config).await?;
    let dir = tempfile::tempdir()?;
    let keys = keygen(&dir.path().join("keys"))?;
    let src = FreshdeskSource::from_parts(&sim.url(), sim.state.api_key.clone().into(), rates)?;
    let mut opts = ExtractOptions::new(
        dir.path().join("fd.dfb"),
        Recipients::from_file(&keys.recipient)?,
        SigningKey::from_file(&keys.sign_key)?,
    );
    opts.http = Some(src.http().clone());
    opts.progress = ProgressMode::Plain;
    let t0 = Instant::now();
    pipeline::run(&src, opts).await.context("extract")?;
    let secs = t0.elapsed().as_secs_f64();
    let log = sim.api.log.entries();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let api = log.len();
    sim.stop().await?;
    Ok(Run { tickets, api, throttled, floor, secs })
}

fn main() -> Result<()> {
    let size: Size =
        std::env::var("DESKFERRY_BENCH_SIZE").unwrap_or_else(|_| "small".into()).parse()?;
    let rt = tokio::runtime::Runtime::new()?;
    let unbound: BTreeMap<String, u32> =
        [("default", 1_000_000), ("tickets_list", 1_000_000), ("contacts_list", 1_000_000)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    let r = rt.block_on(extract(size, Plan::Enterprise, 600.0, &unbound))?;
    let per = |n: usize| n as f64 * 1000.0 / r.tickets as f64;
    println!();
    println!("deskferry Freshdesk extraction benchmark (simulator on 127.0.0.1; one run)");
    println!(
        "requests per 1000 tickets ({size}, {} tickets, attachment downloads excluded): {:.1}; the API's floor {:.1} ({} requests); ratio {:.2}",
        r.tickets,
        per(r.api),
        per(r.floor),
        r.floor,
        r.api as f64 / r.floor as f64
    );

    let scale = 12.0;
    let limit = Plan::Trial.limits().overall as f64 * scale;
    let rates: BTreeMap<String, u32> = [
        ("default", limit as u32),
        ("tickets_list", limit as u32),
        ("contacts_list", limit as u32),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let r = rt.block_on(extract(Size::Tiny, Plan::Trial, scale, &rates))?;
    let achieved = r.api as f64 / (r.secs / 60.0);
    println!(
        "rate (tiny, Trial plan 50/min × time_scale {scale} = {limit:.0}/min enforced): {achieved:.0} req/min achieved over {:.1} s ({} requests, {} answered 429) ÷ {limit:.0} = {:.3}   target ≥ {RATE_TARGET}",
        r.secs,
        r.api,
        r.throttled,
        achieved / limit
    );
    Ok(())
}
