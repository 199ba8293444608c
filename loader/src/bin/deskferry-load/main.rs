//! deskferry-load: verifies a bundle completely, then plans, demos, runs or reconciles a load into
//! a target helpdesk. Exit codes: 0 everything migrated, 1 some records failed or were skipped
//! for a reason to look at (or reconciliation found differences), 2 fatal (nothing or not
//! everything could be attempted; a bundle that fails verification writes nothing at all).

mod drive;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use deskferry_loader::LoadError;
use deskferry_loader::config::TargetConfig;
use deskferry_loader::gate::{GateInput, open_verified};
use deskferry_loader::ledger::{Ledger, LoadedBundle};
use deskferry_loader::mapping::Mapping;

/// Loads a deskferry bundle into a target helpdesk.
#[derive(Parser, Debug)]
#[command(name = "deskferry-load", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Resolve the mapping against the bundle and the live target; write nothing.
    Plan {
        #[command(flatten)]
        common: Common,
        /// Write a commented starting mapping to this file (refuses to overwrite).
        #[arg(long)]
        write_mapping: Option<PathBuf>,
    },
    /// Load a deterministic sample of tickets exactly as a full run would.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Ticket ids to load instead of the seeded sample (comma separated).
        #[arg(long)]
        ids: Option<String>,
        /// Size of the seeded sample.
        #[arg(long, default_value_t = deskferry_loader::demo::DEFAULT_COUNT)]
        count: usize,
    },
    /// Load everything (resumes after a crash; changes nothing when run again after success).
    Run {
        #[command(flatten)]
        common: Common,
    },
    /// Read every migrated ticket back from the target and compare it with the bundle.
    Reconcile {
        #[command(flatten)]
        common: Common,
    },
}

/// Arguments every command takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// target.toml (platform, url, credentials from an environment variable or a file).
    #[arg(long)]
    pub target: PathBuf,
    /// The bundle, NAME.dfb (NAME.dfb.json and NAME.dfb.minisig beside it).
    #[arg(long)]
    pub bundle: PathBuf,
    /// The loader's age identity (passphrase from DESKFERRY_IDENTITY_PASSPHRASE when protected).
    #[arg(long)]
    pub identity: PathBuf,
    /// The extractor's minisign public key (the pinned signer).
    #[arg(long)]
    pub signer: PathBuf,
    /// mapping.toml (default: an empty mapping, i.e. all defaults).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// The ledger (SQLite; created on first use).
    #[arg(long)]
    pub ledger: PathBuf,
    /// Directory for summary.csv, records.csv, reconcile.csv and report.html.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Accept a bundle past its purge date.
    #[arg(long)]
    pub allow_expired: bool,
    /// run/demo: load a bundle created before one this ledger already loaded from the same
    /// source account (it writes older versions of records over newer ones).
    #[arg(long)]
    pub allow_older_bundle: bool,
    /// Print a JSON result on stdout (progress lines still go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Give up (exit 2; run the same command again to resume) once the target has not answered
    /// for this many seconds; until then every request is retried and the outage is shown.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub max_outage: u64,
}

/// A command stopped before the target was contacted, so nothing was written there.
#[derive(Debug)]
struct BeforeTarget(LoadError);

impl std::fmt::Display for BeforeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BeforeTarget {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

fn fail(e: &anyhow::Error, json: bool) -> ExitCode {
    let before = e.downcast_ref::<BeforeTarget>();
    let load = before.map(|b| &b.0).or_else(|| e.downcast_ref::<LoadError>());
    let code = load.and_then(|l| match l {
        LoadError::Bundle(b) => Some(b.code.as_str()),
        _ => None,
    });
    let message = deskferry_format::chain_message(e.as_ref());
    if json {
        println!("{}", serde_json::json!({ "ok": false, "code": code, "error": message }));
    }
    eprintln!("deskferry-load: {message}");
    if let Some(LoadError::Bundle(b)) = load {
        eprintln!("  remedy: {}", b.code.remedy());
    }
    // Only what failed before the first request may say so; a failure during a run may not.
    if before.is_some() {
        eprintln!("  nothing was written to the target.");
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let common = match &cli.command {
        Command::Plan { common, .. }
        | Command::Demo { common, .. }
        | Command::Run { common }
        | Command::Reconcile { common } => common.clone(),
    };
    match real_main(cli, &common) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e, common.json),
    }
}

fn real_main(cli: Cli, common: &Common) -> anyhow::Result<u8> {
    // Local files first (cheap, no network), then the full verification; the target is only
    // contacted after the bundle passed every tier.
    let cfg = TargetConfig::load(&common.target)?;
    let mapping = match &common.mapping {
        Some(p) => Mapping::load(p)?,
        None => Mapping::default(),
    };
    if let Command::Plan { write_mapping: Some(p), .. } = &cli.command
        && p.exists()
    {
        anyhow::bail!("{} exists; not overwriting it", p.display());
    }
    let reader = open_verified(&GateInput {
        bundle: &common.bundle,
        signer: &common.signer,
        identity: &common.identity,
        allow_expired: common.allow_expired,
    })
    .map_err(BeforeTarget)?;
    if !common.json {
        eprintln!(
            "bundle {} verified (content id {})",
            reader.envelope().bundle_id,
            reader.content_id()
        );
    }
    // A validly signed old bundle (copied back, renamed) would write old records over new ones.
    if matches!(cli.command, Command::Run { .. } | Command::Demo { .. }) {
        let ledger = Ledger::open(&common.ledger).map_err(BeforeTarget)?;
        let bundle = LoadedBundle::of(reader.envelope());
        if let Some(newer) =
            ledger.admit(&bundle, common.allow_older_bundle).map_err(BeforeTarget)?
        {
            eprintln!(
                "note: loading {} although {} (created {}) was loaded from the same account before (--allow-older-bundle)",
                bundle.bundle_id,
                newer.bundle_id,
                newer.created_at.to_rfc3339()
            );
        }
    }
    let progress = std::sync::Arc::new(deskferry_loader::progress::Progress::new(common.json));
    deskferry_extractor::http::set_process_policy(deskferry_loader::progress::outage_policy(
        &progress,
        std::time::Duration::from_secs(common.max_outage),
    ));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let job = drive::Job {
        command: cli.command.into(),
        common: common.clone(),
        cfg,
        mapping,
        reader,
        progress,
    };
    rt.block_on(drive::dispatch(job))
}

impl From<Command> for drive::What {
    fn from(c: Command) -> Self {
        match c {
            Command::Plan { write_mapping, .. } => drive::What::Plan { write_mapping },
            Command::Demo { ids, count, .. } => drive::What::Demo { ids, count },
            Command::Run { .. } => drive::What::Run,
            Command::Reconcile { .. } => drive::What::Reconcile,
        }
    }
}
