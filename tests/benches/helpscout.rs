//! Help Scout extraction and load benchmark (not a test): requests per 1,000 tickets extracted
//! and per ticket loaded against the fewest the APIs allow, and how much of the simulator's
//! enforced Mailbox API budget the extractor and the loader use.
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
//! - the load: a `tiny` bundle through the loader core (`Loader::run`, the code `deskferry-load
//!   run` drives) into a simulated Help Scout prepared as an operator prepares one (users,
//!   mailboxes, mailbox fields), the loader told the plan's rate: conversation requests per
//!   migrated ticket against the floor (one create per conversation holding every thread, one
//!   trash request per deleted ticket), all requests per ticket, and the Mailbox API budget
//!   achieved (a write counts twice, as Help Scout counts it) ÷ the enforced limit (target ≥
//!   0.9), with the emails the account sent (must be 0).
//!
//! Environment: DESKFERRY_BENCH_SIZE (default `small`; tiny and small only: every file is
//! served whole), DESKFERRY_BENCH_RATE_SCALE (default 2: thirty-second windows).

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
    rt.block_on(load(scale))?;
    Ok(())
}

/// The load of a `tiny` bundle into a prepared Help Scout.
async fn load(scale: f64) -> Result<()> {
    use deskferry_loader::ledger::{Ledger, Outcome};
    use deskferry_loader::mapping::Mapping;
    use deskferry_loader::platforms::helpscout::{HelpScoutOptions, HelpScoutTarget};
    use deskferry_loader::progress::Progress;
    use deskferry_loader::run::{Loader, Mode};

    let ds = Dataset::generate(SEED, Size::Tiny);
    let dir = tempfile::tempdir()?;
    let reader = deskferry_tests::bench::sealed(&ds, dir.path())?;
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = helpscout::start(
        helpscout::prepared(&ds),
        HelpScoutConfig { options, ..HelpScoutConfig::default() },
    )
    .await?;
    let creds = &sim.state.credentials;
    let enforced = f64::from(vendor::MAILBOX_PER_MINUTE) * scale;
    let opts = HelpScoutOptions {
        per_minute: enforced as u32,
        docs_per_minute: (f64::from(vendor::DOCS_PER_TEN_MINUTES) / 10.0 * scale) as u32,
        docs: Some((sim.url().parse()?, creds.docs_key.clone().into())),
        ..HelpScoutOptions::default()
    };
    let target = HelpScoutTarget::with_options(
        sim.url().parse()?,
        creds.client_id.clone(),
        creds.secret().into(),
        opts,
    )?;
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
    let log = sim.running.log.entries();
    let mailbox: Vec<_> =
        log.iter().filter(|e| e.bucket.as_deref() == Some("mailbox") && e.status != 429).collect();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let conversation = mailbox.iter().filter(|e| e.path.starts_with("/v2/conversations")).count();
    let tickets = ledger.entity("tickets")?;
    let migrated: Vec<_> = ds
        .tickets
        .iter()
        .filter(|t| tickets.get(&t.id).is_some_and(|e| e.outcome == Outcome::Migrated))
        .collect();
    // One create per conversation with every thread in it, and one trash request per deleted
    // ticket.
    let floor: usize = migrated.iter().map(|t| 1 + usize::from(t.is_deleted)).sum();
    let n = migrated.len().max(1) as f64;
    println!(
        "load (tiny, {} tickets migrated): {:.2} conversation requests per migrated ticket; the API's floor {:.2} (one create holding every thread, one trash request per deleted ticket); ratio {:.3}; all Mailbox requests (token check, inventory, customers) {:.2} per ticket",
        migrated.len(),
        conversation as f64 / n,
        floor as f64 / n,
        conversation as f64 / floor.max(1) as f64,
        mailbox.len() as f64 / n
    );
    // Help Scout's budget counts a write twice.
    let units: usize = mailbox.iter().map(|e| if e.method == "GET" { 1 } else { 2 }).sum();
    let stats = target.client().http().stats();
    let (first, last) = *stats.per_bucket_window.get("default").context("no Mailbox requests")?;
    let span = last.saturating_duration_since(first).as_secs_f64().max(1e-9);
    let achieved = units.saturating_sub(1) as f64 * 60.0 / span;
    println!(
        "load budget use (200/min × time_scale {scale} = {enforced:.0}/min enforced, writes counted twice): {achieved:.0}/min achieved over {span:.1} s ÷ {enforced:.0} = {:.3}   target ≥ {RATE_TARGET}  ({} requests, {units} budget units, {throttled} answered 429); emails sent to customers: {}",
        achieved / enforced,
        mailbox.len(),
        sim.state.sent.count()
    );
    sim.stop().await?;
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
