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
//! - the load: the same `tiny` bundle through the loader core (`Loader::run`, the code
//!   `deskferry-load run` drives) into a simulated Freshdesk on the Growth plan (200 a minute
//!   overall, 80 ticket writes) at time scale 6 (1,200 a minute enforced, which binds), the loader told those limits: API requests per
//!   migrated ticket beside the fewest Freshdesk allows (one create per ticket, one note per
//!   further message, one private note naming a ticket's followers and further requesters),
//!   and the achieved rate ÷ the enforced overall limit.

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
use deskferry_loader::ledger::{Ledger, Outcome};
use deskferry_loader::mapping::Mapping;
use deskferry_loader::platforms::freshdesk::{FreshdeskOptions, FreshdeskTarget};
use deskferry_loader::progress::Progress;
use deskferry_loader::run::{Loader, Mode};

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
    let stats = src.http().stats();
    // The span the client was sending to the account (not the storage host's downloads).
    let secs = stats
        .per_bucket_window
        .get("default")
        .map(|(a, b)| b.saturating_duration_since(*a).as_secs_f64())
        .unwrap_or_else(|| t0.elapsed().as_secs_f64());
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
    let achieved = (r.api - r.throttled) as f64 / (r.secs / 60.0);
    println!(
        "rate (tiny, Trial plan 50/min × time_scale {scale} = {limit:.0}/min enforced): {achieved:.0} req/min achieved over {:.1} s ({} requests, {} answered 429) ÷ {limit:.0} = {:.3}   target ≥ {RATE_TARGET}",
        r.secs,
        r.api,
        r.throttled,
        achieved / limit
    );
    rt.block_on(load())?;
    Ok(())
}

async fn load() -> Result<()> {
    let dataset = Dataset::generate(42, Size::Tiny);
    let dir = tempfile::tempdir()?;
    let reader = deskferry_tests::bench::sealed(&dataset, dir.path())?;
    let scale = 6.0;
    let plan = Plan::Growth;
    let limits = plan.limits();
    let config = FreshdeskConfig {
        plan,
        options: SimOptions { time_scale: scale, seed: 42, ..SimOptions::default() },
        ..FreshdeskConfig::default()
    };
    // Prepared as an operator prepares it: the agents exist.
    let desk = Desk::empty();
    {
        let mut r = desk.write();
        for a in dataset.users.iter().filter(|u| {
            u.kind == deskferry_format::model::UserKind::Agent
                && u.active
                && !u.is_deleted
                && !u.suspended
        }) {
            let mut u = a.clone();
            u.id = r.new_id();
            u.group_ids.clear();
            r.put(u);
        }
    }
    let sim = freshdesk::start(desk, config).await?;
    let enforced = limits.overall as f64 * scale;
    let opts = FreshdeskOptions { per_minute: enforced as u32, ..FreshdeskOptions::default() };
    let target =
        FreshdeskTarget::with_options(sim.url().parse()?, sim.state.api_key.clone().into(), opts)?;
    let mapping = Mapping::parse("[options]\nconcurrency = 8\n", &dir.path().join("mapping.toml"))?;
    let ledger = Ledger::open(&dir.path().join("bench.ledger"))?;
    let progress = Progress::silent();
    let loader = Loader {
        target: &target,
        reader: &reader,
        mapping: &mapping,
        ledger: &ledger,
        progress: &progress,
    };
    loader.run(Mode::Run).await?;
    let log = sim.api.log.entries();
    let answered: Vec<_> = log.iter().filter(|e| e.status != 429).collect();
    let throttled = log.len() - answered.len();

    let ticket_requests = answered
        .iter()
        .filter(|e| e.path.starts_with("/api/v2/tickets") || e.path.starts_with("/api/v2/search"))
        .count();
    let tickets = ledger.entity("tickets")?;
    let comments = ledger.entity("comments")?;
    let done = |o: &Outcome| matches!(o, Outcome::Migrated);
    let migrated: Vec<_> = dataset
        .tickets
        .iter()
        .filter(|t| tickets.get(&t.id).is_some_and(|e| done(&e.outcome)))
        .collect();
    let mut floor = 0usize;
    for t in &migrated {
        let cs: Vec<_> = dataset
            .comments_of(&t.id)
            .iter()
            .filter(|c| comments.get(&c.id).is_some_and(|e| done(&e.outcome)))
            .collect();
        // One create (the first public message is its description), one note per other message.
        floor += 1 + cs.len() - usize::from(cs.first().is_some_and(|c| c.public));
        floor += usize::from(t.is_deleted);
        // Further requesters and followers, which Freshdesk's API cannot hold, are named in one
        // private note.
        floor += usize::from(!t.follower_ids.is_empty() || !t.other_requester_ids.is_empty());
    }
    let n = migrated.len().max(1) as f64;
    println!(
        "load (tiny, {} tickets migrated): {:.2} ticket requests per migrated ticket; the API's floor {:.2} (a create per ticket, a note per further message, a note naming followers); ratio {:.3}; all requests (people, groups, fields, inventory) {:.2} per ticket",
        migrated.len(),
        ticket_requests as f64 / n,
        floor as f64 / n,
        ticket_requests as f64 / floor.max(1) as f64,
        answered.len() as f64 / n
    );
    let stats = target.client().http().stats();
    let span = stats
        .per_bucket_window
        .values()
        .fold(None::<(Instant, Instant)>, |acc, (a, b)| match acc {
            None => Some((*a, *b)),
            Some((x, y)) => Some((x.min(*a), y.max(*b))),
        })
        .map(|(a, b)| b.saturating_duration_since(a).as_secs_f64())
        .unwrap_or(1.0);
    let achieved = answered.len() as f64 / (span / 60.0);
    println!(
        "load rate (Growth plan 200/min × time_scale {scale} = {enforced:.0}/min enforced): {achieved:.0} req/min achieved over {span:.1} s ÷ {enforced:.0} = {:.3}   target ≥ {RATE_TARGET}  ({throttled} answered 429)",
        achieved / enforced
    );
    sim.stop().await?;
    Ok(())
}
