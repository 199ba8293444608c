//! Kayako extraction and load benchmark (not a test): requests per 1,000 tickets extracted and
//! per migrated ticket loaded, each against the fewest Kayako's API allows, and the achieved
//! rate of each against the simulator's enforced limit.
//!
//!   cargo bench -p deskferry-tests --bench kayako
//!
//! One run loads a generated bundle (DESKFERRY_BENCH_SIZE, default `tiny`) with the loader core
//! (`Loader::run`, the code `deskferry-load run` drives) into the simulated Kayako prepared as
//! the kit's world prepares it (staff, teams), the account's budget 600 a minute ×
//! DESKFERRY_BENCH_TIME_SCALE (default 1), the loader told that limit, and prints:
//! - requests per migrated ticket by kind, and the ticket requests beside the fewest the API
//!   allows for the same content: one `POST /cases` per ticket (its first message, files,
//!   status, priority, team, assignee, tags and field values ride on it) and one
//!   `POST /cases/{id}/reply` per further message or note (its files ride on it);
//! - the achieved rate ÷ the enforced limit (target ≥ 0.9) and the 429s it cost;
//! - for the extraction of the same dataset from the simulated Kayako holding it (the
//!   extractor told the same limit): requests per 1,000 tickets against the floor
//!   (`expect::request_floor`: the lists at 100 a page, one posts request per case, one request
//!   per file) and the achieved rate ÷ the limit.

use std::time::Instant;

use anyhow::{Context, Result};
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::kayako::KayakoSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::kayako::expect;
use deskferry_fixtures::sim::kayako::{self, KayakoConfig, WORLD_PER_MINUTE, prepared};
use deskferry_fixtures::sim::{Desk, Store};
use deskferry_format::{Recipients, SigningKey, keygen};
use deskferry_loader::ledger::{Ledger, Outcome};
use deskferry_loader::mapping::Mapping;
use deskferry_loader::platforms::kayako::{KayakoOptions, KayakoTarget};
use deskferry_loader::progress::Progress;
use deskferry_loader::run::{Loader, Mode};

const SEED: u64 = 42;
const RATE_TARGET: f64 = 0.9;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn kind(method: &str, path: &str) -> &'static str {
    let p = path.trim_end_matches('/').trim_end_matches(".json");
    let p = p.strip_prefix("/api/v1").unwrap_or(p);
    match (method, p) {
        ("POST", "/cases") => "ticket: open case",
        ("POST", p) if p.ends_with("/reply") => "ticket: reply or note",
        ("PUT", p) if p.starts_with("/cases/") => "ticket: update case",
        ("GET", p) if p.starts_with("/cases/") && p.ends_with("/posts") => {
            "ticket: look for a post"
        }
        ("GET", "/cases") => "ticket: find after crash",
        (_, p)
            if p.starts_with("/users/fields")
                || p.starts_with("/cases/fields")
                || p.starts_with("/organizations/fields") =>
        {
            "fields"
        }
        (_, p)
            if p.starts_with("/users")
                || p.starts_with("/identities")
                || p.starts_with("/search") =>
        {
            "users: customers"
        }
        (_, p) if p.starts_with("/organizations") => "organizations",
        (_, p) if p.starts_with("/teams") => "teams",
        (_, p)
            if p.starts_with("/articles")
                || p.starts_with("/sections")
                || p.starts_with("/categories")
                || p.starts_with("/media") =>
        {
            "help center"
        }
        _ => "inventory and other",
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let size: Size = env("DESKFERRY_BENCH_SIZE", "tiny").parse()?;
    let scale: f64 = env("DESKFERRY_BENCH_TIME_SCALE", "1").parse()?;
    let dir = tempfile::tempdir()?;
    let dataset = Dataset::generate(SEED, size);
    let reader = deskferry_tests::bench::sealed(&dataset, dir.path())?;
    let desk = prepared(&dataset);
    let email = kayako::login(&desk).context("a login")?;
    let config = KayakoConfig {
        per_minute: WORLD_PER_MINUTE,
        email: email.clone(),
        ..KayakoConfig::default()
    };
    let password = config.password.clone();
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = kayako::start(desk, config, options).await.context("start")?;
    let limit = f64::from(WORLD_PER_MINUTE) * scale;
    let opts = KayakoOptions { per_minute: Some(limit as u32), ..KayakoOptions::default() };
    let target = KayakoTarget::with_options(sim.url().parse()?, email, password.into(), opts)?;
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
    let mut floor = 0u64;
    for t in &tickets {
        let comments = dataset
            .comments_of(&t.id)
            .iter()
            .filter(|c| comments_done.get(&c.id).is_some_and(|e| ok(&e.outcome)))
            .count() as u64;
        floor += 1 + comments.saturating_sub(1);
    }
    let n = tickets.len().max(1) as f64;
    let ticket_requests: u64 =
        by_kind.iter().filter(|(k, _)| k.starts_with("ticket:")).map(|(_, v)| *v).sum();
    let all: u64 = by_kind.values().sum();

    println!();
    println!(
        "deskferry Kayako load benchmark ({} bundle, simulator on 127.0.0.1, one run)",
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
        "  ticket requests per migrated ticket: {:.2}   the API's floor: {:.2}   ratio {:.3}",
        ticket_requests as f64 / n,
        floor as f64 / n,
        ticket_requests as f64 / floor.max(1) as f64
    );
    println!(
        "  all requests per migrated ticket (people, fields, help center, inventory): {:.2}",
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
        "  rate: {achieved:.0} req/min over {secs:.1} s ÷ {limit:.0}/min enforced (600/min × time_scale {scale}) = {:.3}   target ≥ {RATE_TARGET}; {refused} answered 429",
        achieved / limit
    );
    sim.stop().await?;
    extract(dir.path(), &dataset, scale).await
}

async fn extract(dir: &std::path::Path, ds: &Dataset, scale: f64) -> Result<()> {
    let desk = Desk::new(Store::from_dataset(ds.clone()));
    let email = kayako::login(&desk).context("a login")?;
    let config = KayakoConfig {
        per_minute: WORLD_PER_MINUTE,
        email: email.clone(),
        ..KayakoConfig::default()
    };
    std::fs::write(dir.join("password"), &config.password)?;
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = kayako::start(desk, config, options).await.context("start")?;
    let limit = f64::from(WORLD_PER_MINUTE) * scale;
    let text = format!(
        "platform = \"kayako\"\nurl = \"{}\"\n[credentials]\nemail = \"{email}\"\ntoken_file = \"password\"\n[rate_limits]\ndefault = {}\n",
        sim.url(),
        limit as u64
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml"))?;
    let source = KayakoSource::new(&cfg)?;
    let keys = keygen(&dir.join("extract-keys"))?;
    let mut opts = ExtractOptions::new(
        dir.join("x.dfb"),
        Recipients::from_file(&keys.recipient)?,
        SigningKey::from_file(&keys.sign_key)?,
    );
    opts.progress = ProgressMode::Off;
    opts.http = Some(source.http().clone());
    let summary = pipeline::run(&source, opts).await?;
    let log = sim.api.log.entries();
    let requests = log.len();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let stats = summary.http.context("http stats")?;
    let (first, last) = *stats.per_bucket_window.get("default").context("no requests")?;
    let window = last.saturating_duration_since(first).as_secs_f64();
    let rate = requests.saturating_sub(1) as f64 * 60.0 / window.max(1e-9);
    let floor = expect::request_floor(ds);
    let tickets = ds.tickets.len();
    println!();
    println!(
        "deskferry Kayako extraction benchmark ({tickets} tickets, simulator on 127.0.0.1; one run)"
    );
    println!(
        "  requests per 1000 tickets: {:.1} ({requests} requests) vs the API's floor {:.1} ({} requests): ratio {:.2}   target 1.00",
        requests as f64 * 1000.0 / tickets as f64,
        floor.requests as f64 * 1000.0 / tickets as f64,
        floor.requests,
        requests as f64 / floor.requests as f64
    );
    println!("  floor: {floor}");
    println!(
        "  rate: {rate:.1} req/min achieved ÷ {limit:.1} req/min enforced (600/min × time_scale {scale}) = {:.3}   target ≥ {RATE_TARGET}  ({requests} requests over {window:.1} s, {throttled} answered 429)",
        rate / limit
    );
    sim.stop().await?;
    Ok(())
}
