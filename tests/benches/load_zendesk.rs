//! Zendesk load benchmark (not a test): how many requests the loader spends per migrated ticket
//! against the fewest Zendesk's bulk endpoints allow, and how much of the simulator's enforced
//! rate limit it uses.
//!
//!   cargo bench -p deskferry-tests --bench load_zendesk
//!
//! One run loads a generated bundle (default `small`) into the simulated Zendesk prepared as a
//! target (the kit's account: the admin, the bulk user import on) with the loader core
//! (`Loader::run`, the code `deskferry-load run` drives) and prints:
//! - requests per migrated ticket, by kind (counted by the simulator), beside the fewest the
//!   API allows for the same tickets: one upload per file, one `imports/tickets/create_many` per
//!   100 tickets and one poll of its job. People, the Help Center and the inventory are listed
//!   apart;
//! - the achieved request rate ÷ the simulator's enforced plan limit (the plan's per-minute
//!   limit with windows divided by `time_scale`; target ≥ 0.9), and the 429s it cost.
//!
//! Environment: DESKFERRY_BENCH_SIZE (default `small`), DESKFERRY_BENCH_TIME_SCALE (default 10),
//! DESKFERRY_BENCH_PLAN (`team` (default), `growth`, `professional`, `enterprise`,
//! `high_volume`), DESKFERRY_BENCH_CONCURRENCY (writes in flight, default 100, the Zendesk target's own: a bulk request
//! carries at most that many records), DESKFERRY_BENCH_DIR (work files).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::{self, Plan, ZendeskConfig};
use deskferry_fixtures::sim::{Desk, SimOptions};
use deskferry_loader::ledger::{Ledger, Outcome};
use deskferry_loader::mapping::Mapping;
use deskferry_loader::platforms::zendesk::{ZendeskOptions, ZendeskTarget};
use deskferry_loader::progress::Progress;
use deskferry_loader::run::{Loader, Mode};

const SEED: u64 = 42;
const RATE_TARGET: f64 = 0.9;
const BULK: u64 = 100;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// What one request was for, from its method and path.
fn kind(method: &str, path: &str) -> &'static str {
    let p = path.trim_end_matches(".json");
    match (method, p) {
        ("POST", "/api/v2/uploads") => "ticket: upload a file",
        ("POST", "/api/v2/imports/tickets/create_many") => "ticket: bulk import",
        ("POST", "/api/v2/imports/tickets") => "ticket: single import",
        ("GET", p) if p.starts_with("/api/v2/job_statuses/") => "job polls (people and tickets)",
        ("GET", "/api/v2/tickets") | ("GET", "/api/v2/search") => "ticket: find after doubt",
        (_, p) if p.starts_with("/api/v2/users/create_or_update") => "users: bulk upsert",
        (_, p) if p.starts_with("/api/v2/organizations/create") => "organizations",
        (_, p) if p.starts_with("/api/v2/help_center/") => "help center",
        _ => "inventory, groups, fields",
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let size: Size = env("DESKFERRY_BENCH_SIZE", "small").parse()?;
    let time_scale: f64 = env("DESKFERRY_BENCH_TIME_SCALE", "10").parse()?;
    let plan: Plan = env("DESKFERRY_BENCH_PLAN", "team").parse().map_err(anyhow::Error::msg)?;
    let concurrency: usize = env("DESKFERRY_BENCH_CONCURRENCY", "100").parse()?;
    let base = std::env::var_os("DESKFERRY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base)?;
    let dir = tempfile::tempdir_in(&base)?;

    // The bundle.
    let dataset = Dataset::generate(SEED, size);
    let reader = deskferry_tests::bench::sealed(&dataset, dir.path())?;

    // Zendesk prepared as a target: the admin who owns the token, the bulk user import on.
    let config = ZendeskConfig {
        plan,
        bulk_user_import: true,
        options: SimOptions { time_scale, seed: SEED, ..SimOptions::default() },
        ..ZendeskConfig::default()
    };
    let desk = Desk::empty();
    {
        let mut r = desk.write();
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let mut admin =
            deskferry_fixtures::sim::new_user(r.new_id(), deskferry_format::UserKind::Agent, now);
        admin.role_raw = Some("admin".into());
        admin.name = Some("Admin".into());
        admin.email = Some(config.email.clone());
        r.put(admin);
    }
    let email = config.email.clone();
    let token = config.token.clone();
    let sim = zendesk::start(desk, config).await.context("start the Zendesk simulator")?;
    let enforced_per_minute = f64::from(plan.per_minute()) * time_scale;

    // The loader, told the plan's limit scaled the same way (`[rate_limits] default`).
    let mut opts = ZendeskOptions::new(&email);
    opts.per_minute = enforced_per_minute.round() as u32;
    opts.help_center_per_minute = opts.per_minute;
    opts.max_in_flight = concurrency;
    opts.permission_group_id = Some(zendesk::world_permission_group());
    let target = ZendeskTarget::with_options(sim.url().parse()?, token.into(), opts)?;
    let mapping = Mapping::parse(
        &format!("[options]\nconcurrency = {concurrency}\n"),
        &dir.path().join("mapping.toml"),
    )?;
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
    let elapsed = started.elapsed();

    // What was sent, by kind (the simulator's log; 429s listed apart).
    let entries = sim.api.log.entries();
    let (by_kind, refused) = deskferry_tests::bench::tally(&entries, kind);
    let stats = target.client().http().stats();
    let get = |k: &str| by_kind.get(k).copied().unwrap_or(0);

    // The fewest requests the bulk endpoints allow for the same tickets: each file uploaded
    // once, one bulk import per 100 tickets and one poll of its job.
    let ticket_rows = ledger.entity("tickets")?;
    let att_rows = ledger.entity("attachments")?;
    let migrated = |o: &Outcome| *o == Outcome::Migrated;
    let tickets = ticket_rows.values().filter(|e| migrated(&e.outcome)).count() as u64;
    let files = dataset
        .attachments
        .iter()
        .filter(|a| a.article_id.is_none())
        .filter(|a| att_rows.get(&a.id).is_some_and(|e| migrated(&e.outcome)))
        .count() as u64;
    // Images cut out of bodies (data: URIs) are uploaded too: count the uploads the content
    // needs as those the loader made (each file once; a repeat would show as more uploads
    // than files plus images, which the ratio then shows).
    let uploads = get("ticket: upload a file");
    let n = tickets.max(1) as f64;
    let bulk_floor = tickets.div_ceil(BULK) * 2;
    let floor = uploads.max(files) + bulk_floor;
    // Job polls of the ticket imports: those not answering the people's bulk requests.
    let people_jobs = get("users: bulk upsert") + get("organizations");
    let ticket_polls = get("job polls (people and tickets)").saturating_sub(people_jobs);
    let ticket_requests = uploads
        + get("ticket: bulk import")
        + get("ticket: single import")
        + get("ticket: find after doubt")
        + ticket_polls;
    let all: u64 = by_kind.values().sum();

    println!(
        "Zendesk load benchmark: {} bundle, plan {} ({} per minute), time_scale {time_scale}, concurrency {concurrency}",
        size.name(),
        plan.name(),
        plan.per_minute()
    );
    println!(
        "  migrated: {tickets} tickets, {files} files on their comments; run counts {:?}",
        summary.counts
    );
    println!("  elapsed: {:.1} s", elapsed.as_secs_f64());
    println!();
    println!("  requests by kind (answered, not 429):");
    for (k, v) in &by_kind {
        println!("    {k:<32} {v:>7}   {:>6.3} per ticket", *v as f64 / n);
    }
    println!();
    println!(
        "  ticket requests per migrated ticket: {:.3}   fewest the bulk endpoints allow: {:.3} (each file uploaded once, one create_many per {BULK} tickets and one poll of its job)   ratio {:.2}",
        ticket_requests as f64 / n,
        floor as f64 / n,
        ticket_requests as f64 / floor.max(1) as f64
    );
    println!(
        "  without files: {:.3} import requests per ticket against {:.3} (bulk requests carry at most the {concurrency} writes in flight)",
        (ticket_requests - uploads) as f64 / n,
        bulk_floor as f64 / n
    );
    println!(
        "  all requests per migrated ticket (people, Help Center, inventory included): {:.3}",
        all as f64 / n
    );

    // Rate: answered requests over the span the client was sending, against the enforced limit.
    let span = stats
        .per_bucket_window
        .get("default")
        .map(|(a, b)| b.saturating_duration_since(*a))
        .unwrap_or(elapsed)
        .max(Duration::from_millis(1));
    let account = all - get("help center");
    let achieved = account as f64 / span.as_secs_f64() * 60.0;
    let ratio = achieved / enforced_per_minute;
    println!();
    println!(
        "  achieved rate (account budget, Help Center apart): {achieved:.0} requests per minute over {:.1} s; enforced limit {enforced_per_minute:.0} per minute ({} × time_scale {time_scale}); ratio {ratio:.3} (target ≥ {RATE_TARGET}) {}",
        span.as_secs_f64(),
        plan.per_minute(),
        if ratio >= RATE_TARGET { "OK" } else { "BELOW TARGET" }
    );
    println!(
        "  429 answers: {refused} (the client's retries: {}, waited {:.1} s)",
        stats.retries,
        stats.waited.as_secs_f64()
    );
    sim.stop().await?;
    Ok(())
}
