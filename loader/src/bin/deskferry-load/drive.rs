//! Builds the target named in target.toml and runs one command against it.

use std::path::PathBuf;

use anyhow::Context;
use deskferry_format::BundleReader;
use deskferry_loader::config::TargetConfig;
use deskferry_loader::ledger::Ledger;
use deskferry_loader::mapping::{Mapping, starting_mapping};
use deskferry_loader::progress::Progress;
use deskferry_loader::report::ReportData;
use deskferry_loader::run::{Loader, Mode};
use deskferry_loader::{Target, demo, plan, reconcile, rows};

use crate::Common;

/// The command, without the common arguments.
#[derive(Debug)]
pub enum What {
    /// plan.
    Plan {
        /// --write-mapping.
        write_mapping: Option<PathBuf>,
    },
    /// demo.
    Demo {
        /// --ids.
        ids: Option<String>,
        /// --count.
        count: usize,
    },
    /// run.
    Run,
    /// reconcile.
    Reconcile,
}

/// One verified command, ready to meet its target.
pub struct Job {
    /// What to do.
    pub command: What,
    /// Common arguments.
    pub common: Common,
    /// target.toml.
    pub cfg: TargetConfig,
    /// mapping.toml.
    pub mapping: Mapping,
    /// The verified bundle.
    pub reader: BundleReader,
    /// Progress display (shared with the HTTP client's outage reports).
    pub progress: std::sync::Arc<Progress>,
}

/// Builds the target and runs the job.
pub async fn dispatch(job: Job) -> anyhow::Result<u8> {
    let cfg = job.cfg.clone();
    deskferry_loader::platforms::with_target(&cfg, job)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("connecting to the {} target", cfg.platform))?
}

impl deskferry_loader::platforms::UseTarget for Job {
    type Output = anyhow::Result<u8>;

    async fn with<T: Target + 'static>(self, target: T) -> Self::Output {
        drive(target, self).await
    }
}

async fn drive<T: Target>(target: T, job: Job) -> anyhow::Result<u8> {
    let Job { command, common, cfg, mapping, reader, progress } = job;
    let progress = &*progress;
    let platform = cfg.platform.clone();
    match command {
        What::Plan { write_mapping } => {
            let index = rows::index(&reader)?;
            let inventory = target.inventory().await?;
            let caps = target.capabilities();
            let ledger =
                if common.ledger.exists() { Some(Ledger::open(&common.ledger)?) } else { None };
            let p = plan::plan(
                &reader,
                &index,
                &mapping,
                &inventory,
                &caps,
                &platform,
                ledger.as_ref(),
            )?;
            if let Some(path) = write_mapping {
                let text = starting_mapping(&index, &inventory, &caps, &platform);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("starting mapping written to {}", path.display());
            }
            if common.json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print!("{}", p.to_text());
            }
            Ok(0)
        }
        What::Demo { .. } | What::Run => {
            let mode = match command {
                What::Demo { ids, count } => {
                    Mode::Demo { ids: ids.as_deref().map(demo::parse_ids), count }
                }
                _ => Mode::Run,
            };
            let ledger = Ledger::open(&common.ledger)?;
            let loader = Loader {
                target: &target,
                reader: &reader,
                mapping: &mapping,
                ledger: &ledger,
                progress,
            };
            let result = loader.run(mode.clone()).await;
            let mut data = ReportData::gather(mode.command(), &platform, &reader, &ledger)?;
            let caps = target.capabilities();
            data.limits = caps.limits;
            data.side_effects = caps.side_effects;
            let (summary, fatal) = match result {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e)),
            };
            if let Some(s) = &summary {
                data.counts = Some(s.counts.clone());
                data.notes = s.notes.clone();
            }
            if let Some(dir) = &common.report {
                data.write(dir, &ledger)?;
            }
            let code = if fatal.is_some() { 2 } else { data.exit_code() as u8 };
            if common.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "ok": fatal.is_none(),
                        "exit_code": code,
                        "run": summary,
                        "summary": data.summary,
                        "error": fatal.as_ref().map(|e| e.to_string()),
                    }))?
                );
            } else if let Some(s) = &summary {
                eprintln!(
                    "{}: {} migrated, {} unchanged, {} skipped, {} failed",
                    mode.command(),
                    s.counts.migrated,
                    s.counts.unchanged,
                    s.counts.skipped,
                    s.counts.failed
                );
                for n in &s.notes {
                    eprintln!("  note: {n}");
                }
            }
            if let Some(e) = fatal {
                return Err(e.into());
            }
            Ok(code)
        }
        What::Reconcile => {
            let ledger = Ledger::open(&common.ledger)?;
            let rec = reconcile::reconcile(&target, &reader, &mapping, &ledger, progress).await?;
            let mut data = ReportData::gather("reconcile", &platform, &reader, &ledger)?;
            let caps = target.capabilities();
            data.limits = caps.limits;
            data.side_effects = caps.side_effects;
            let counts = [
                rec.count(reconcile::Verdict::Ok),
                rec.count(reconcile::Verdict::Limit),
                rec.count(reconcile::Verdict::Difference),
                rec.count(reconcile::Verdict::Error),
            ];
            let totals = rec.totals;
            data.set_reconcile(rec);
            if let Some(dir) = &common.report {
                data.write(dir, &ledger)?;
            }
            let code = data.exit_code() as u8;
            if common.json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "exit_code": code, "ok_checks": counts[0], "limits": counts[1], "differences": counts[2], "errors": counts[3], "totals": totals})
                );
            } else {
                eprintln!(
                    "reconcile: {} ok, {} explained by target limits, {} differences, {} unreadable",
                    counts[0], counts[1], counts[2], counts[3]
                );
                eprintln!(
                    "  matched: tickets {}/{}, comments {}/{}, attachments {}/{}",
                    totals.tickets_ok,
                    totals.tickets,
                    totals.comments_ok,
                    totals.comments,
                    totals.attachments_ok,
                    totals.attachments
                );
            }
            Ok(code)
        }
    }
}
