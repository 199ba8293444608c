//! Loader memory benchmark (not a test): the peak resident memory of `deskferry-load run` and
//! `deskferry-load reconcile` (the binaries, as an operator runs them) loading a generated
//! bundle into a simulated target (Front unless told), against the limit of issue 21: at most
//! 256 MiB, and `large` at most 1.2 × `medium` (memory must not grow with the bundle).
//!
//!   cargo build --release --bins && cargo bench -p deskferry-tests --bench memory
//!   cargo build --bins && cargo test -p deskferry-tests --bench memory   # the dev build
//!
//! Peak resident memory is the kernel's high-water mark of the child (`VmHWM` in
//! `/proc/PID/status`), read every 5 ms until it exits (Linux). The simulator runs in this
//! process and is not counted. The target's rate limit is lifted (time scale 1,000) so the run
//! measures the loader, not the waiting; the wall times printed are of this machine.
//!
//! Environment: DESKFERRY_BENCH_SIZES (default `medium,large`; `large` is 500,000 tickets and
//! takes a long while), DESKFERRY_BENCH_TARGET (a target platform of the registry, default
//! `front`), DESKFERRY_BENCH_DIR (work files; default a temporary directory).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::kit::{WorldOptions, start_world};

const SEED: u64 = 42;
const LIMIT_MIB: f64 = 256.0;
const GROWTH_LIMIT: f64 = 1.2;

/// A finished child: its exit code, its peak resident memory in bytes, its wall time.
struct Ran {
    code: i32,
    peak: u64,
    secs: f64,
    stderr: String,
}

/// The kernel's high-water mark of a process's resident memory (`VmHWM`), in bytes.
fn high_water(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `cmd`, reading its high-water mark every few milliseconds until it ends (the mark
/// only grows, and the last reading is taken moments before the exit).
fn run_measured(mut cmd: Command) -> Result<Ran> {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().context("spawn")?;
    let pid = child.id();
    let mut stderr = child.stderr.take().context("stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(hwm) = high_water(pid) {
            peak = peak.max(hwm);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Ok(Ran {
        code: status.code().unwrap_or(-1),
        peak,
        secs: started.elapsed().as_secs_f64(),
        stderr: reader.join().unwrap_or_default(),
    })
}

fn bin(name: &str) -> PathBuf {
    deskferry_tests::workspace_bin(name)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// Loads `size` into a fresh simulated `target` and reconciles; the two peaks in bytes.
fn measure(size: Size, target: &str, root: &Path) -> Result<(u64, u64)> {
    let dir = root.join(format!("{target}-{}", size.name()));
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    let dataset = Dataset::generate(SEED, size);
    let tickets = dataset.tickets.len();
    let comments = dataset.comments.len();
    deskferry_tests::bench::sealed(&dataset, &dir).context("sealing the bundle")?;
    drop(dataset);
    println!(
        "{}: {tickets} tickets, {comments} comments; bundle {:.0} MiB, sealed in {:.0} s",
        size.name(),
        mib(std::fs::metadata(dir.join("bench.dfb"))?.len()),
        t.elapsed().as_secs_f64()
    );
    let opts = WorldOptions { size, seed: SEED, time_scale: 1000.0, ..Default::default() };
    let world = start_world(target, Role::Target, &opts)?;
    let conn = world.write_connection(&dir, target)?;
    // As many tickets in flight as the loader allows: the memory bound must hold at the
    // highest concurrency (and Front's asynchronous imports are waited for in parallel).
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, "[options]\nconcurrency = 64\n")?;
    let mut peaks = Vec::new();
    for cmd in ["run", "reconcile"] {
        let report = dir.join(format!("report-{cmd}"));
        let mut c = Command::new(bin("deskferry-load"));
        c.arg(cmd)
            .arg("--target")
            .arg(&conn)
            .arg("--bundle")
            .arg(dir.join("bench.dfb"))
            .arg("--identity")
            .arg(dir.join("keys/identity.txt"))
            .arg("--signer")
            .arg(dir.join("keys/sign.pub"))
            .arg("--mapping")
            .arg(&mapping)
            .arg("--ledger")
            .arg(dir.join(format!("{target}.ledger")))
            .arg("--report")
            .arg(&report)
            .arg("--json")
            .current_dir(&dir);
        let ran = run_measured(c)?;
        // 1: records the target's limits cost something (Front keeps no author for some
        // notes, other targets have limits of their own); anything else is a failed load,
        // not a measurement.
        if ran.code != 0 && ran.code != 1 {
            bail!("deskferry-load {cmd} on {} exited {}: {}", size.name(), ran.code, ran.stderr);
        }
        println!(
            "{} into {target}: deskferry-load {cmd:<9} peak RSS {:>7.1} MiB  ({:.2} of {LIMIT_MIB} MiB)  wall {:>6.0} s  exit {}",
            size.name(),
            mib(ran.peak),
            mib(ran.peak) / LIMIT_MIB,
            ran.secs,
            ran.code
        );
        peaks.push(ran.peak);
    }
    world.stop()?;
    Ok((peaks[0], peaks[1]))
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let sizes: Vec<Size> = std::env::var("DESKFERRY_BENCH_SIZES")
        .unwrap_or_else(|_| "medium,large".into())
        .split(',')
        .map(|s| s.trim().parse().map_err(|e| anyhow::anyhow!("DESKFERRY_BENCH_SIZES: {e:?}")))
        .collect::<Result<_>>()?;
    let tmp;
    let root = match std::env::var_os("DESKFERRY_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let target = std::env::var("DESKFERRY_BENCH_TARGET").unwrap_or_else(|_| "front".into());
    let mut results = Vec::new();
    for size in sizes {
        let (run, rec) = measure(size, &target, &root)?;
        results.push((size, run, rec));
    }
    if let (Some(m), Some(l)) =
        (results.iter().find(|r| r.0 == Size::Medium), results.iter().find(|r| r.0 == Size::Large))
    {
        for (what, a, b) in [("run", m.1, l.1), ("reconcile", m.2, l.2)] {
            println!(
                "large ÷ medium, {what}: {:.2} (limit {GROWTH_LIMIT})",
                b as f64 / a.max(1) as f64
            );
        }
    }
    Ok(())
}
