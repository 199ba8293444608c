//! Intercom extraction and load benchmark (not a test): requests per 1,000 tickets extracted and
//! per migrated ticket loaded, against the fewest Intercom's API allows, and the achieved rates
//! against the simulator's enforced limit.
//!
//!   cargo bench -p deskferry-tests --bench intercom
//!
//! The extraction (`pipeline::run` with the Intercom source, the code `deskferry-extract` drives)
//! reads the simulated Intercom holding the same dataset, the app's budget
//! DESKFERRY_BENCH_EXTRACT_PER_MINUTE (default 120, small enough that a tiny dataset's reads
//! span several 10-second windows) × the time scale, the source told that limit; it prints the
//! requests per 1,000 tickets beside the API's floor (`expect::source::request_floor`) and the
//! achieved rate ÷ the enforced limit (target ≥ 0.9, 429s counted). File downloads go to the
//! file host, outside the budget, and are not counted. DESKFERRY_BENCH_PART=extract or `load`
//! runs one half only.
//!
//! One run loads a generated bundle (DESKFERRY_BENCH_SIZE, default `tiny`) with the loader core
//! (`Loader::run`, the code `deskferry-load run` drives) into the simulated Intercom prepared as
//! the kit's world prepares it (admins, teams, conversation attributes), the app's budget 600 a
//! minute × DESKFERRY_BENCH_TIME_SCALE (default 1: 600 a minute in 10-second windows, which
//! binds; at higher scales the dataset's thousand-reply thread, posted in order, one reply
//! after the other's answer, outlasts the budget and the rate measures that thread's latency),
//! the loader told that limit, and prints:
//! - requests per migrated ticket by kind, and the ticket requests beside the fewest the API
//!   allows for the same content: one `POST /conversations` per ticket, one reply per further
//!   message or note, one further part per ten files beyond a part's (and one per ten files of
//!   an opening message, which takes none), one `PUT` per ticket for its title (the create takes
//!   none), one request per tag applied, per assignment and per close, one note per
//!   conversation holding what it has no place for (the loader's note);
//! - the achieved rate ÷ the enforced limit (target ≥ 0.9) and the 429s it cost.

use std::time::Instant;

use anyhow::{Context, Result};
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::intercom::IntercomSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::intercom::{self, IntercomConfig, WORLD_PER_MINUTE, prepared};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::{Recipients, SigningKey, keygen};
use deskferry_loader::ledger::{Ledger, Outcome};
use deskferry_loader::mapping::Mapping;
use deskferry_loader::platforms::intercom::{IntercomOptions, IntercomTarget};
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
        ("POST", "/conversations") => "ticket: open conversation",
        ("POST", p) if p.ends_with("/reply") => "ticket: reply or note",
        ("PUT", p) if p.starts_with("/conversations/") => "ticket: title and attributes",
        ("POST", p) if p.starts_with("/conversations/") && p.ends_with("/tags") => "ticket: tag",
        ("POST", p) if p.ends_with("/parts") => "ticket: assign or close",
        ("POST", p) if p.ends_with("/customers") => "ticket: participant (CC)",
        ("GET", p) if p.starts_with("/conversations/") => "ticket: look for a part",
        ("POST", "/conversations/search") => "ticket: find after crash",
        (_, "/tags") => "tags (once per name)",
        (_, p) if p.starts_with("/contacts") && p.ends_with("/companies") => "users: company",
        (_, p) if p.starts_with("/contacts") => "users: contacts",
        (_, p) if p.starts_with("/companies") => "organizations: companies",
        (_, p) if p.starts_with("/data_attributes") => "custom attributes",
        (_, p) if p.starts_with("/articles") || p.starts_with("/help_center") => "help center",
        _ => "inventory and other",
    }
}

/// The extraction: requests per 1,000 tickets vs the floor, rate ÷ limit.
async fn extraction(dir: &std::path::Path, dataset: &Dataset, scale: f64) -> Result<()> {
    let per_minute: f64 = env("DESKFERRY_BENCH_EXTRACT_PER_MINUTE", "120").parse()?;
    let config = IntercomConfig { per_minute: per_minute as u32, ..IntercomConfig::default() };
    std::fs::write(dir.join("token"), format!("{}\n", config.token))?;
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let desk = Desk::new(Store::from_dataset(dataset.clone()));
    let sim = intercom::start(desk, config, options).await.context("start the source")?;
    let limit = per_minute * scale;
    let text = format!(
        "platform = \"intercom\"\nurl = \"{}\"\n[credentials]\ntoken_file = \"token\"\n[rate_limits]\ndefault = {}\n",
        sim.url(),
        limit as u64
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml"))?;
    let source = IntercomSource::new(&cfg)?;
    let keys = keygen(&dir.join("keys"))?;
    let mut opts = ExtractOptions::new(
        dir.join("b.dfb"),
        Recipients::from_file(&keys.recipient)?,
        SigningKey::from_file(&keys.sign_key)?,
    );
    opts.progress = ProgressMode::Off;
    opts.http = Some(source.http().clone());
    let started = Instant::now();
    let summary = pipeline::run(&source, opts).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let log = sim.api.log.entries();
    let requests = log.len();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let stats = summary.http.context("http stats")?;
    let (first, last) = *stats.per_bucket_window.get("default").context("no API requests")?;
    let window = last.saturating_duration_since(first).as_secs_f64();
    let rate = requests.saturating_sub(1) as f64 * 60.0 / window.max(1e-9);
    let floor = intercom::expect::source::request_floor(dataset);
    let tickets = dataset.tickets.len();
    println!();
    println!(
        "deskferry Intercom extraction benchmark ({tickets} tickets, simulator on 127.0.0.1; one run, {elapsed:.1} s)"
    );
    println!(
        "  requests per 1000 tickets: {:.1} ({requests} requests) vs the API's floor {:.1} ({} requests): ratio {:.2}   target 1.00",
        requests as f64 * 1000.0 / tickets.max(1) as f64,
        floor.requests as f64 * 1000.0 / tickets.max(1) as f64,
        floor.requests,
        requests as f64 / floor.requests.max(1) as f64
    );
    println!("  floor: {floor}");
    println!(
        "  rate: {rate:.1} req/min achieved ÷ {limit:.1} req/min enforced ({per_minute}/min × time_scale {scale}, 10-second windows) = {:.3}   target ≥ {RATE_TARGET}  ({requests} requests over {window:.1} s, {throttled} answered 429; {} files downloaded outside the budget)",
        rate / limit,
        sim.files.log.len()
    );
    sim.stop().await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let size: Size = env("DESKFERRY_BENCH_SIZE", "tiny").parse()?;
    let scale: f64 = env("DESKFERRY_BENCH_TIME_SCALE", "1").parse()?;
    let dir = tempfile::tempdir()?;
    let dataset = Dataset::generate(SEED, size);
    // DESKFERRY_BENCH_PART: `extract`, `load`, or both (the default).
    let part = env("DESKFERRY_BENCH_PART", "both");
    if part != "load" {
        let xdir = tempfile::tempdir()?;
        extraction(xdir.path(), &dataset, scale).await?;
    }
    if part == "extract" {
        return Ok(());
    }
    let reader = deskferry_tests::bench::sealed(&dataset, dir.path())?;
    // Every part read back, as the loader expects (real Intercom answers the 500 most recent).
    let config = IntercomConfig {
        per_minute: WORLD_PER_MINUTE,
        max_parts: None,
        ..IntercomConfig::default()
    };
    let token = config.token.clone();
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = intercom::start(prepared(&dataset), config, options).await.context("start")?;
    let limit = f64::from(WORLD_PER_MINUTE) * scale;
    let opts = IntercomOptions { per_minute: limit as u32, ..IntercomOptions::default() };
    let per_part = opts.attachments_per_part;
    let target = IntercomTarget::with_options(sim.url().parse()?, token.into(), opts)?;
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

    let entries = sim.api.log.entries();
    let (by_kind, refused) = deskferry_tests::bench::tally(&entries, kind);
    let tickets_done = ledger.entity("tickets")?;
    let comments_done = ledger.entity("comments")?;
    let ok = |o: &Outcome| *o == Outcome::Migrated;
    let tickets: Vec<_> = dataset
        .tickets
        .iter()
        .filter(|t| tickets_done.get(&t.id).is_some_and(|e| ok(&e.outcome)))
        .collect();
    let census = sim.state.desk.census();
    let mut floor = 0u64;
    for t in &tickets {
        floor += 2; // open, title
        let comments: Vec<_> = dataset
            .comments_of(&t.id)
            .iter()
            .filter(|c| comments_done.get(&c.id).is_some_and(|e| ok(&e.outcome)))
            .collect();
        for (i, c) in comments.iter().enumerate() {
            let files = c.attachment_ids.len() as u64;
            floor +=
                if i == 0 { files.div_ceil(10) } else { 1 + files.saturating_sub(10).div_ceil(10) };
        }
        floor += t.tags.len() as u64;
    }
    // The loader's note (fields without an attribute, CCs not loaded, the priority, due date
    // and followers a conversation cannot hold), one per conversation that has one.
    let mark = deskferry_loader::platforms::intercom::map::NOTE_MARK;
    floor += census
        .comments
        .iter()
        .filter(|c| c.body_html.as_deref().is_some_and(|b| b.contains(mark)))
        .count() as u64;
    // Assignments and closes as the workspace shows them (one request each).
    floor += census.tickets.iter().filter(|t| t.assignee_id.is_some()).count() as u64;
    floor += census.tickets.iter().filter(|t| t.group_id.is_some()).count() as u64;
    floor += census.tickets.iter().filter(|t| t.solved_at.is_some()).count() as u64;
    let n = tickets.len().max(1) as f64;
    let ticket_requests: u64 =
        by_kind.iter().filter(|(k, _)| k.starts_with("ticket:")).map(|(_, v)| *v).sum();
    let all: u64 = by_kind.values().sum();

    println!();
    println!(
        "deskferry Intercom load benchmark ({} bundle, simulator on 127.0.0.1, one run)",
        size.name()
    );
    println!(
        "  migrated: {} tickets; run counts {:?}; {elapsed:.1} s",
        tickets.len(),
        summary.counts
    );
    println!("  requests by kind (answered, not 429):");
    for (k, v) in &by_kind {
        println!("    {k:<30} {v:>7}   {:>6.2} per ticket", *v as f64 / n);
    }
    println!(
        "  ticket requests per migrated ticket: {:.2}   the API's floor: {:.2} (at {per_part} files a part sent; the floor counts 10)   ratio {:.3}",
        ticket_requests as f64 / n,
        floor as f64 / n,
        ticket_requests as f64 / floor.max(1) as f64
    );
    println!(
        "  all requests per migrated ticket (people, attributes, help center, inventory): {:.2}",
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
        "  rate: {achieved:.0} req/min over {secs:.1} s ÷ {limit:.0}/min enforced (600/min × time_scale {scale}, 10-second windows scaled) = {:.3}   target ≥ {RATE_TARGET}; {refused} answered 429",
        achieved / limit
    );
    sim.stop().await?;
    Ok(())
}
