//! `purge DIR [--now TIME]`: deletes bundles past their purge date, with their sidecars, and
//! leaves a receipt per bundle that holds ids, dates and file hashes only (no personal data).
//!
//! The envelope is read without checking the signature: purging needs no key, and the worst an
//! edited envelope can do is make a bundle go early, which is what purge is for.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::common::{EXIT_OK, EXIT_PROBLEMS, parse_time, print_json};

/// Arguments of `purge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory holding `NAME.dfb`, `NAME.dfb.minisig` and `NAME.dfb.json` files.
    dir: PathBuf,
    /// Purge as if it were this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<DateTime<Utc>>,
    /// List what would be purged without deleting anything.
    #[arg(long)]
    dry_run: bool,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

/// What happened to one envelope found in DIR.
struct Outcome {
    envelope: PathBuf,
    action: &'static str,
    receipt: Option<PathBuf>,
    problem: Option<String>,
    purge_after: Option<DateTime<Utc>>,
}

/// Runs `purge`; exit 1 when some bundle could not be handled.
pub fn run(a: Args) -> Result<u8> {
    let now = a.now.unwrap_or_else(Utc::now);
    let mut envelopes: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .with_context(|| format!("reading {}", a.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".dfb.json"))
        })
        .collect();
    envelopes.sort();
    let mut outcomes = Vec::new();
    for env in envelopes {
        outcomes.push(match purge_one(&env, now, a.dry_run) {
            Ok(o) => o,
            Err(e) => Outcome {
                envelope: env,
                action: "error",
                receipt: None,
                problem: Some(format!("{e:#}")),
                purge_after: None,
            },
        });
    }
    let problems = outcomes.iter().filter(|o| o.problem.is_some()).count();
    if a.json {
        let list: Vec<_> = outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "envelope": o.envelope.display().to_string(),
                    "action": o.action,
                    "purge_after": o.purge_after,
                    "receipt": o.receipt.as_ref().map(|p| p.display().to_string()),
                    "problem": o.problem,
                })
            })
            .collect();
        print_json(&serde_json::json!({ "now": now, "bundles": list, "problems": problems }))?;
    } else {
        for o in &outcomes {
            let when = o.purge_after.map(|t| t.to_rfc3339()).unwrap_or_else(|| "?".into());
            match (&o.problem, &o.receipt) {
                (Some(p), _) => println!("PROBLEM {}: {p}", o.envelope.display()),
                (None, Some(r)) => println!(
                    "purged  {} (purge after {when}); receipt {}",
                    o.envelope.display(),
                    r.display()
                ),
                (None, None) => {
                    println!("{:<7} {} (purge after {when})", o.action, o.envelope.display())
                }
            }
        }
        println!("{} envelope(s), {} problem(s)", outcomes.len(), problems);
    }
    Ok(if problems > 0 { EXIT_PROBLEMS } else { EXIT_OK })
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str> {
    v.get(name).and_then(|x| x.as_str()).ok_or_else(|| anyhow!("envelope lacks {name}"))
}

fn purge_one(env_path: &Path, now: DateTime<Utc>, dry_run: bool) -> Result<Outcome> {
    let text = std::fs::read_to_string(env_path).context("reading envelope")?;
    let v: serde_json::Value = serde_json::from_str(&text).context("envelope is not JSON")?;
    let purge_after = DateTime::parse_from_rfc3339(field(&v, "purge_after")?)
        .context("purge_after is not RFC 3339")?
        .with_timezone(&Utc);
    let mut out = Outcome {
        envelope: env_path.to_path_buf(),
        action: "kept",
        receipt: None,
        problem: None,
        purge_after: Some(purge_after),
    };
    if now <= purge_after {
        return Ok(out);
    }
    if dry_run {
        out.action = "would purge";
        return Ok(out);
    }
    let name = env_path.file_name().and_then(|n| n.to_str()).expect("filtered on a UTF-8 name");
    let stem = name.strip_suffix(".json").expect("filtered on .dfb.json");
    let dir = env_path.parent().unwrap_or(Path::new("."));
    let base = stem.strip_suffix(".dfb").unwrap_or(stem);
    let receipt_path = dir.join(format!("{base}.purge-receipt.json"));
    // The bundle first (it holds the personal data), the envelope last (it names the bundle).
    let files = [dir.join(stem), dir.join(format!("{stem}.minisig")), env_path.to_path_buf()];
    let mut listed = Vec::new();
    let mut failures = Vec::new();
    for f in &files {
        let fname = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        match hash_file(f) {
            Ok((size, sha)) => match std::fs::remove_file(f) {
                Ok(()) => listed.push(serde_json::json!({ "name": fname, "size": size, "sha256": sha, "deleted": true })),
                Err(e) => failures.push(format!("deleting {fname}: {e}")),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                listed.push(serde_json::json!({ "name": fname, "deleted": false, "absent": true }))
            }
            Err(e) => failures.push(format!("reading {fname}: {e}")),
        }
    }
    sync_dir(dir);
    let receipt = serde_json::json!({
        "receipt": "deskferry purge receipt",
        "receipt_version": 1,
        "bundle_id": field(&v, "bundle_id")?,
        "content_id": field(&v, "content_id")?,
        "format_version": v.get("format_version"),
        "created_at": field(&v, "created_at")?,
        "purge_after": purge_after.to_rfc3339_opts(SecondsFormat::Secs, true),
        "purged_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "files": listed,
        "complete": failures.is_empty(),
        "tool": concat!("deskferry-bundle ", env!("CARGO_PKG_VERSION")),
    });
    write_receipt(&receipt_path, &receipt)?;
    out.action = "purged";
    out.receipt = Some(receipt_path);
    if !failures.is_empty() {
        out.problem = Some(failures.join("; "));
    }
    Ok(out)
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}

fn write_receipt(path: &Path, v: &serde_json::Value) -> Result<()> {
    let mut f =
        OpenOptions::new().write(true).create_new(true).open(path).with_context(|| {
            format!("creating receipt {} (refusing to overwrite)", path.display())
        })?;
    serde_json::to_writer_pretty(&mut f, v)?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

fn sync_dir(dir: &Path) {
    // Best effort: the deletions should survive a crash, but a failure here changes nothing.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
