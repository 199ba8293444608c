//! Zendesk extraction benchmark (not a test): requests per 1,000 tickets, how much of the
//! simulator's enforced budget the extractor uses, and peak memory across dataset sizes.
//!
//!   cargo bench -p deskferry-tests --bench extract
//!
//! One run prints:
//! - API requests per 1,000 tickets for `medium` (attachment downloads excluded; target ≤ 15),
//!   counted by the simulator, beside what a per-ticket approach would need on the same data
//!   (ticket list, one comments call per ticket and page, one identities call per user, …);
//! - achieved request rate of the incremental exports ÷ the simulator's enforced limit
//!   (10 per minute divided by `time_scale`; target ≥ 0.9), measured in the same run;
//! - peak RSS (VmHWM) of the extraction for `medium` and `large` (target: large ≤ 1.5 × medium).
//!   Each extraction runs in its own child process (this binary re-executed with `--extract`)
//!   against a simulator in another child (`--serve`), so the dataset's memory is not counted.
//!   Every attachment is downloaded, hashed and stored, but the simulator serves only the first
//!   4 KiB of each file (sizes say so too): the tens of GB of `large` would measure the disk, not
//!   the extractor, whose downloads stream through a fixed buffer whatever the size.
//!
//! Environment: DESKFERRY_BENCH_SIZES (default `medium,large`), DESKFERRY_BENCH_RATE_SCALE
//! (time scale of the rate run, default 6: 10-second windows, so Zendesk's whole-second
//! `ratelimit-reset` is not coarser than the window), DESKFERRY_BENCH_RSS_SCALE (default 600),
//! DESKFERRY_BENCH_RATE_SIZE (dataset of the requests/rate run, default `medium`),
//! DESKFERRY_BENCH_DIR (work files; default cargo's target tmp dir).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{self, ExtractOptions};
use deskferry_extractor::platforms::zendesk::ZendeskSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::{self, ZendeskConfig, ZendeskSim};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::{Recipients, SigningKey, keygen};

const SEED: u64 = 42;
const REQUESTS_LIMIT: f64 = 15.0;
const RATE_TARGET: f64 = 0.9;
const RSS_RATIO_LIMIT: f64 = 1.5;
/// Zendesk's incremental export budget per (unscaled) minute.
const INCREMENTAL_PER_MINUTE: f64 = 10.0;

fn env_f64(name: &str, default: f64) -> Result<f64> {
    Ok(std::env::var(name).ok().map(|s| s.parse()).transpose()?.unwrap_or(default))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => return child_serve(&args[2], args[3].parse()?),
        Some("--extract") => return child_extract(&args[2..]),
        _ => {}
    }
    let base = std::env::var_os("DESKFERRY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("extract-bench"));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)?;
    let rate_scale = env_f64("DESKFERRY_BENCH_RATE_SCALE", 6.0)?;
    let rss_scale = env_f64("DESKFERRY_BENCH_RSS_SCALE", 600.0)?;
    let sizes: Vec<Size> = std::env::var("DESKFERRY_BENCH_SIZES")
        .unwrap_or_else(|_| "medium,large".into())
        .split(',')
        .map(|s| s.trim().parse::<Size>())
        .collect::<Result<_, _>>()?;

    let rate_size: Size =
        std::env::var("DESKFERRY_BENCH_RATE_SIZE").unwrap_or_else(|_| "medium".into()).parse()?;
    let rt = tokio::runtime::Runtime::new()?;
    let req = rt.block_on(requests_run(&base.join("rate"), rate_size, rate_scale))?;
    let mut rss = Vec::new();
    for size in &sizes {
        rss.push((*size, rss_run(&base.join(size.name()), *size, rss_scale)?));
    }
    let _ = std::fs::remove_dir_all(&base);

    println!();
    println!("deskferry Zendesk extraction benchmark (simulator on 127.0.0.1; one run)");
    println!(
        "requests per 1000 tickets ({}, {} tickets, attachment downloads excluded): {:.2}   target ≤ {REQUESTS_LIMIT}  ratio {:.2}",
        rate_size,
        req.tickets,
        req.per_1000,
        req.per_1000 / REQUESTS_LIMIT
    );
    println!(
        "  ours: {} API requests ({} incremental exports, {} other Support, {} Help Center); per-ticket approach: {} requests = {:.1} per 1000 tickets ({:.0}× ours)",
        req.api,
        req.incremental,
        req.api - req.incremental - req.help_center,
        req.help_center,
        req.per_ticket,
        req.per_ticket as f64 * 1000.0 / req.tickets as f64,
        req.per_ticket as f64 / req.api.max(1) as f64
    );
    println!(
        "incremental budget use: {:.1} req/min achieved ÷ {:.1} req/min enforced (10/min × time_scale {rate_scale}) = {:.3}   target ≥ {RATE_TARGET}  ({} requests over {:.1} s, {} answered 429)",
        req.rate,
        req.limit,
        req.rate / req.limit,
        req.incremental,
        req.window_secs,
        req.throttled
    );
    for (size, r) in &rss {
        println!(
            "peak RSS {:<6}: {:>8.1} MiB  ({} tickets, {} rows, {:.1} s, time_scale {rss_scale})",
            size.name(),
            r.vm_hwm_kib as f64 / 1024.0,
            r.tickets,
            r.rows,
            r.secs
        );
    }
    let get = |s: Size| rss.iter().find(|(z, _)| *z == s).map(|(_, r)| r.vm_hwm_kib as f64);
    if let (Some(m), Some(l)) = (get(Size::Medium), get(Size::Large)) {
        println!("peak RSS large ÷ medium: {:.2}   target ≤ {RSS_RATIO_LIMIT}", l / m);
    }
    Ok(())
}

struct RequestsRun {
    tickets: usize,
    api: usize,
    incremental: usize,
    help_center: usize,
    throttled: usize,
    per_1000: f64,
    per_ticket: usize,
    rate: f64,
    limit: f64,
    window_secs: f64,
}

/// What a per-ticket extractor would send for the same data: the ticket list, one comments
/// call per ticket (and per 100 comments), one identities call per user, the user and
/// organization lists, deleted tickets, and the same small lists and Help Center calls as ours.
fn per_ticket_requests(ds: &Dataset, shared: usize) -> usize {
    let pages = |n: usize| n.div_ceil(100).max(1);
    let comments: usize = ds.tickets.iter().map(|t| pages(ds.comments_of(&t.id).len())).sum();
    pages(ds.tickets.len())
        + comments
        + pages(ds.users.len())
        + ds.users.len()
        + pages(ds.organizations.len())
        + shared
}

/// Medium in-process: the simulator's log counts the API requests; the client's counters give
/// the incremental window.
async fn requests_run(dir: &Path, size: Size, scale: f64) -> Result<RequestsRun> {
    std::fs::create_dir_all(dir)?;
    let ds = Dataset::generate(SEED, size);
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let sim = zendesk::start(
        Desk::new(small_files(Store::from_dataset(ds.clone()))),
        ZendeskConfig { options, ..Default::default() },
    )
    .await?;
    let source = source(&sim.url(), &sim.email, &sim.token, scale, dir)?;
    let summary = extract(&source, dir, size.name()).await?;
    let log = sim.api.log.entries();
    let ok = |e: &&deskferry_fixtures::sim::LogEntry| e.status < 400 && e.fault.is_none();
    let api = log.iter().filter(ok).count();
    let incremental =
        log.iter().filter(ok).filter(|e| e.bucket.as_deref() == Some("incremental")).count();
    let help_center =
        log.iter().filter(ok).filter(|e| e.path.starts_with("/api/v2/help_center/")).count();
    let throttled = log.iter().filter(|e| e.status == 429).count();
    let stats = summary.http.context("http stats")?;
    let (first, last) =
        *stats.per_bucket_window.get("incremental").context("no incremental requests")?;
    let window_secs = last.saturating_duration_since(first).as_secs_f64();
    let rate = (incremental.saturating_sub(1)) as f64 * 60.0 / window_secs.max(1e-9);
    let shared = api - incremental;
    let tickets = ds.tickets.len();
    let r = RequestsRun {
        tickets,
        api,
        incremental,
        help_center,
        throttled,
        per_1000: api as f64 * 1000.0 / tickets as f64,
        per_ticket: per_ticket_requests(&ds, shared),
        rate,
        limit: INCREMENTAL_PER_MINUTE * scale,
        window_secs,
    };
    sim.stop().await?;
    Ok(r)
}

fn source(url: &str, email: &str, token: &str, scale: f64, dir: &Path) -> Result<ZendeskSource> {
    let s = scale.max(1.0);
    let text = format!(
        "platform = \"zendesk\"\nurl = \"{url}\"\n[credentials]\nemail = \"{email}\"\ntoken = \"{token}\"\n\
         [rate_limits]\ndefault = {}\nincremental = {}\nhelp_center = {}\nattachments = 1000000\n",
        (700.0 * s) as u64,
        (INCREMENTAL_PER_MINUTE * s) as u64,
        (700.0 * s) as u64
    );
    let cfg = SourceConfig::parse(&text, &dir.join("source.toml"))?;
    Ok(ZendeskSource::new(&cfg)?)
}

async fn extract(
    source: &ZendeskSource,
    dir: &Path,
    name: &str,
) -> Result<deskferry_extractor::pipeline::ExtractSummary> {
    let keys = keygen(&dir.join("keys"))?;
    let recipients = Recipients::from_file(&keys.recipient)?;
    let signer = SigningKey::from_file(&keys.sign_key)?;
    let mut opts = ExtractOptions::new(dir.join(format!("{name}.dfb")), recipients, signer);
    opts.progress = ProgressMode::Off;
    opts.http = Some(source.http().clone());
    Ok(pipeline::run(source, opts).await?)
}

/// Bytes served per attachment in the benchmark (see the module doc).
const FILE_BYTES: i64 = 4096;

/// The store with every attachment cut to its first [`FILE_BYTES`] bytes.
fn small_files(mut store: Store) -> Store {
    for a in &mut store.attachments {
        a.size = a.size.map(|n| n.min(FILE_BYTES));
    }
    let full = store.bytes.clone();
    store.bytes = std::sync::Arc::new(move |a| Box::new(full(a).take(FILE_BYTES as u64)));
    store
}

struct RssRun {
    vm_hwm_kib: u64,
    tickets: u64,
    rows: u64,
    secs: f64,
}

/// Serve child + extract child; returns the extract child's VmHWM.
fn rss_run(dir: &Path, size: Size, scale: f64) -> Result<RssRun> {
    std::fs::create_dir_all(dir)?;
    let exe = std::env::current_exe()?;
    let mut serve = Command::new(&exe)
        .args(["--serve", size.name(), &scale.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(serve.stdout.take().context("serve stdout")?).read_line(&mut line)?;
    let parts: Vec<&str> = line.split_whitespace().collect();
    if parts.len() != 3 {
        bail!("serve child said {line:?}");
    }
    let started = Instant::now();
    let out = Command::new(&exe)
        .args(["--extract", parts[0], parts[1], parts[2], &scale.to_string()])
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    drop(serve.stdin.take());
    let _ = serve.wait();
    if !out.status.success() {
        bail!("extract child failed: {}", String::from_utf8_lossy(&out.stdout));
    }
    let text = String::from_utf8(out.stdout)?;
    let mut kv = BTreeMap::new();
    for l in text.lines() {
        if let Some((k, v)) = l.split_once('=') {
            kv.insert(k.to_string(), v.trim().to_string());
        }
    }
    let num = |k: &str| -> Result<u64> {
        Ok(kv.get(k).with_context(|| format!("{k} in {text}"))?.parse()?)
    };
    Ok(RssRun {
        vm_hwm_kib: num("vm_hwm_kib")?,
        tickets: num("tickets")?,
        rows: num("rows")?,
        secs,
    })
}

/// `--serve SIZE SCALE`: generates the dataset, serves it, prints `URL EMAIL TOKEN`, and runs
/// until its stdin closes.
fn child_serve(size: &str, scale: f64) -> Result<()> {
    let size: Size = size.parse()?;
    let rt = tokio::runtime::Runtime::new()?;
    let ds = Dataset::generate(SEED, size);
    let options = SimOptions { time_scale: scale, seed: SEED, ..SimOptions::default() };
    let store = small_files(Store::from_dataset(ds));
    let sim: ZendeskSim = rt.block_on(zendesk::start(
        Desk::new(store),
        ZendeskConfig { options, ..Default::default() },
    ))?;
    println!("{} {} {}", sim.url(), sim.email, sim.token);
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    rt.block_on(sim.stop())?;
    Ok(())
}

/// `--extract URL EMAIL TOKEN SCALE DIR`: one extraction; prints `key=value` lines.
fn child_extract(args: &[String]) -> Result<()> {
    let [url, email, token, scale, dir] = args else {
        bail!("--extract URL EMAIL TOKEN SCALE DIR")
    };
    let dir = PathBuf::from(dir);
    let rt = tokio::runtime::Runtime::new()?;
    let summary = rt.block_on(async {
        let source = source(url, email, token, scale.parse()?, &dir)?;
        extract(&source, &dir, "rss").await
    })?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("VmHWM")?;
    println!("vm_hwm_kib={hwm}");
    println!("tickets={}", summary.rows.get("tickets").copied().unwrap_or(0));
    println!("rows={}", summary.rows.values().sum::<u64>());
    Ok(())
}
