//! Groove benchmark (not a test): extraction (requests per 1,000 tickets against the fewest
//! Groove's APIs allow) and load (requests per migrated ticket against the fewest), each with
//! the achieved rate against the simulator's enforced limit.
//!
//!   cargo bench -p deskferry-tests --bench groove
//!   DESKFERRY_BENCH_PART=extract (or load) runs one half only.
//!
//! Extraction: the simulated Groove holding the dataset, `GrooveSource` through the pipeline
//! (the code `deskferry-extract` drives), told the enforced limit; every request the simulator
//! answered beside `deskferry_fixtures::sim::groove::expect::source::request_floor` (target
//! 1.00), and the rate ÷ the limit (target ≥ 0.9).
//!
//! One run loads a generated bundle (DESKFERRY_BENCH_SIZE, default `tiny`) with the loader core
//! (`Loader::run`, the code `deskferry-load run` drives) into the simulated Groove prepared as
//! the kit's world prepares it (agents, mailboxes, contact and company fields), its budget 300 a
//! minute × DESKFERRY_BENCH_TIME_SCALE (default 1; Groove documents none, the facade enforces
//! this one), the loader told that limit, and prints:
//! - requests per migrated ticket by kind, and the ticket requests beside the fewest the API
//!   allows for the same content: one `POST /v1/tickets` per ticket (it carries the first
//!   message, state, tags, mailbox and assignee), one `POST …/messages` per further message or
//!   note, one upload per message with files per 25 files, one lookup of the first message's id
//!   where it has files (the create answers the ticket, not its message), and one private note
//!   per ticket with fields or CCs (Groove's tickets hold neither);
//! - the achieved rate ÷ the enforced limit (target ≥ 0.9) and the 429s it cost.

use std::time::Instant;

use anyhow::{Context, Result};
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::groove::{self, GrooveConfig, prepared, vendor::PER_MINUTE};
use deskferry_loader::ledger::{Ledger, Outcome};
use deskferry_loader::mapping::Mapping;
use deskferry_loader::platforms::groove::{GrooveOptions, GrooveTarget};
use deskferry_loader::progress::Progress;
use deskferry_loader::run::{Loader, Mode};

const SEED: u64 = 42;
const RATE_TARGET: f64 = 0.9;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn kind(method: &str, path: &str) -> &'static str {
    let p = path.trim_end_matches('/');
    match (method, p) {
        ("POST", "/v1/tickets") => "ticket: create with first message",
        ("POST", p) if p.starts_with("/v1/tickets/") && p.ends_with("/messages") => {
            "ticket: message or note"
        }
        ("POST", p) if p.starts_with("/messages/") => "ticket: upload files",
        ("GET", p) if p.starts_with("/v1/tickets/") && p.ends_with("/messages") => {
            "ticket: list messages (first id)"
        }
        ("PUT", p) if p.starts_with("/v1/tickets/") => "ticket: state",
        ("GET", "/v1/tickets") => "ticket: find after crash",
        ("POST", "/v2/graphql") => "people and companies (v2)",
        (_, p) if p.starts_with("/v1/kb") => "knowledge base",
        _ => "inventory and other",
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let size: Size = env("DESKFERRY_BENCH_SIZE", "tiny").parse()?;
    let scale: f64 = env("DESKFERRY_BENCH_TIME_SCALE", "1").parse()?;
    let part = env("DESKFERRY_BENCH_PART", "both");
    if part != "load" {
        extract(size, scale).await?;
    }
    if part != "extract" {
        load(size, scale).await?;
    }
    Ok(())
}

/// The extraction half.
async fn extract(size: Size, scale: f64) -> Result<()> {
    use deskferry_extractor::config::SourceConfig;
    use deskferry_extractor::pipeline::{self, ExtractOptions};
    use deskferry_extractor::platforms::groove::GrooveSource;
    use deskferry_extractor::progress::ProgressMode;
    use deskferry_fixtures::sim::groove::expect::source::request_floor;
    use deskferry_fixtures::sim::{Desk, Store};
    use deskferry_format::{Recipients, SigningKey, keygen};

    let dir = tempfile::tempdir()?;
    let ds = Dataset::generate(SEED, size);
    let config = GrooveConfig { per_minute: PER_MINUTE, ..GrooveConfig::default() };
    std::fs::write(dir.path().join("token"), &config.token)?;
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let desk = Desk::new(Store::from_dataset(ds.clone()));
    let sim = groove::start(desk, config, options).await.context("start")?;
    let limit = f64::from(PER_MINUTE) * scale;
    let text = format!(
        "platform = \"groove\"\nurl = \"{u}\"\n[credentials]\ntoken_file = \"token\"\n[rate_limits]\ndefault = {l}\n",
        u = sim.url(),
        l = limit as u64,
    );
    let cfg = SourceConfig::parse(&text, &dir.path().join("source.toml"))?;
    let source = GrooveSource::new(&cfg)?;
    let keys = keygen(&dir.path().join("keys"))?;
    let mut opts = ExtractOptions::new(
        dir.path().join("b.dfb"),
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
    let floor = request_floor(&ds);
    let tickets = ds.tickets.len();
    println!();
    println!(
        "deskferry Groove extraction benchmark ({size}, {tickets} tickets, simulator on 127.0.0.1; one run)"
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
        "request budget use: {rate:.1} req/min achieved ÷ {limit:.1} req/min enforced ({PER_MINUTE}/min × time_scale {scale}) = {:.3}   target ≥ {RATE_TARGET}  ({requests} requests over {window:.1} s, {throttled} answered 429)",
        rate / limit
    );
    sim.stop().await?;
    Ok(())
}

/// The load half.
async fn load(size: Size, scale: f64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dataset = Dataset::generate(SEED, size);
    let reader = deskferry_tests::bench::sealed(&dataset, dir.path())?;
    let config = GrooveConfig { per_minute: PER_MINUTE, ..GrooveConfig::default() };
    let token = config.token.clone();
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = groove::start(prepared(&dataset), config, options).await.context("start")?;
    let limit = f64::from(PER_MINUTE) * scale;
    let opts = GrooveOptions {
        per_minute: limit as u32,
        uploader_url: Some(sim.url().parse()?),
        ..GrooveOptions::default()
    };
    let target = GrooveTarget::with_options(sim.url().parse()?, token.into(), opts)?;
    let mapping = Mapping::parse("[options]\nconcurrency = 16\n", &dir.path().join("m.toml"))?;
    let ledger = Ledger::open(&dir.path().join("bench.ledger"))?;
    let progress = Progress::silent();
    let loader = Loader {
        target: &target,
        reader: &reader,
        mapping: &mapping,
        ledger: &ledger,
        progress: &progress,
    };
    let started = Instant::now();
    let summary = loader.run(Mode::Run).await?;
    let elapsed = started.elapsed().as_secs_f64();

    let entries = sim.running.log.entries();
    let (by_kind, refused) = deskferry_tests::bench::tally(&entries, kind);
    let tickets_done = ledger.entity("tickets")?;
    let comments_done = ledger.entity("comments")?;
    let ok = |o: &Outcome| matches!(o, Outcome::Migrated);
    let tickets: Vec<_> = dataset
        .tickets
        .iter()
        .filter(|t| tickets_done.get(&t.id).is_some_and(|e| ok(&e.outcome)))
        .collect();
    let mut floor = 0u64;
    for t in &tickets {
        floor += 1; // the create, with the first message
        let comments: Vec<_> = dataset
            .comments_of(&t.id)
            .iter()
            .filter(|c| comments_done.get(&c.id).is_some_and(|e| ok(&e.outcome)))
            .collect();
        for (i, c) in comments.iter().enumerate() {
            let files = c.attachment_ids.len() as u64;
            floor += u64::from(i > 0) + files.div_ceil(25) + u64::from(i == 0 && files > 0);
        }
        if !t.custom_fields.is_empty() || !t.cc_ids.is_empty() {
            floor += 1;
        }
    }
    let n = tickets.len().max(1) as f64;
    let ticket_requests: u64 =
        by_kind.iter().filter(|(k, _)| k.starts_with("ticket:")).map(|(_, v)| *v).sum();
    let all: u64 = by_kind.values().sum();

    println!();
    println!(
        "deskferry Groove load benchmark ({} bundle, simulator on 127.0.0.1, one run)",
        size.name()
    );
    println!(
        "  migrated: {} tickets; run counts {:?}; {elapsed:.1} s",
        tickets.len(),
        summary.counts
    );
    println!("  requests by kind (answered, not 429):");
    for (k, v) in &by_kind {
        println!("    {k:<34} {v:>7}   {:>6.2} per ticket", *v as f64 / n);
    }
    println!(
        "  ticket requests per migrated ticket: {:.2}   the API's floor: {:.2}   ratio {:.3}",
        ticket_requests as f64 / n,
        floor as f64 / n,
        ticket_requests as f64 / floor.max(1) as f64
    );
    println!(
        "  all requests per migrated ticket (people, companies, knowledge base, inventory): {:.2}",
        all as f64 / n
    );
    let stats = target.client().http().stats();
    let secs = stats
        .per_bucket_window
        .get("default")
        .map(|(a, b)| b.saturating_duration_since(*a).as_secs_f64())
        .unwrap_or(elapsed);
    let achieved = all as f64 / (secs / 60.0);
    println!(
        "  rate: {achieved:.0} req/min over {secs:.1} s ÷ {limit:.0}/min enforced ({PER_MINUTE}/min × time_scale {scale}, one-minute windows scaled) = {:.3}   target ≥ {RATE_TARGET}; {refused} answered 429",
        achieved / limit
    );
    sim.stop().await?;
    Ok(())
}
