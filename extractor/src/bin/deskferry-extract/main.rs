//! deskferry-extract: reads Zendesk or Request Tracker into a bundle (docs/architecture.md,
//! "Extraction").

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::http::Http;
use deskferry_extractor::pipeline::{self, ExtractOptions, ExtractSummary};
use deskferry_extractor::platforms::registry;
use deskferry_extractor::progress::{ProgressMode, human_bytes};
use deskferry_extractor::source::Source;
use deskferry_format::{Recipients, SigningKey};

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match run(args) {
        // Records kept with a note are no failure; anything else left out is.
        Ok(summary) if summary.warnings > summary.notes || summary.failed_attachments > 0 => {
            ExitCode::from(1)
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deskferry-extract: error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

fn run(args: cli::Args) -> anyhow::Result<ExtractSummary> {
    deskferry_extractor::http::set_process_policy(
        deskferry_extractor::http::OutagePolicy::printing(
            Duration::from_secs(args.max_outage),
            |line| eprintln!("{line}"),
        ),
    );
    let cfg = SourceConfig::load(&args.source)?;
    let recipients = Recipients::from_files(&args.recipients).context("--recipient")?;
    let signer = SigningKey::from_file(&args.sign_key).context("--sign-key")?;
    if !(args.checkpoint_secs.is_finite() && args.checkpoint_secs >= 0.0) {
        bail!("--checkpoint-secs must be a non-negative number");
    }
    let mut opts = ExtractOptions::new(args.out.clone(), recipients, signer);
    opts.work = args.work.clone();
    opts.since = args.since.clone();
    opts.json = args.json;
    opts.created_at = pipeline::source_date_epoch()?;
    opts.max_attachment_bytes = cfg.max_attachment_bytes()?;
    opts.checkpoint_every = Duration::from_secs_f64(args.checkpoint_secs);
    opts.progress = match args.progress.as_str() {
        "plain" => ProgressMode::Plain,
        "off" => ProgressMode::Off,
        _ => ProgressMode::Auto,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = rt.block_on(registry::with_source(&cfg, Extract(opts)))??;
    report(&summary, args.json);
    Ok(summary)
}

/// The extraction of whichever source the file names, its HTTP client attached to the
/// progress display.
struct Extract(ExtractOptions);

impl registry::UseSource for Extract {
    type Output = anyhow::Result<ExtractSummary>;

    async fn with<S: Source + 'static>(self, source: S, http: Http) -> Self::Output {
        let mut opts = self.0;
        opts.http = Some(http);
        Ok(pipeline::run(&source, opts).await?)
    }
}

/// The error and its causes on one line (see [`deskferry_format::chain_message`]).
fn message(e: &anyhow::Error) -> String {
    deskferry_format::chain_message(e.as_ref())
}

fn report(s: &ExtractSummary, json: bool) {
    if json {
        println!("{}", s.to_json());
        return;
    }
    let rows: Vec<String> = s.rows.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!(
        "deskferry-extract: wrote {} (content id {}){}",
        s.bundle.display(),
        s.content_id,
        if s.resumed { ", resumed" } else { "" }
    );
    eprintln!("  rows: {}", rows.join(", "));
    eprintln!("  attachments: {} blobs, {}", s.blobs, human_bytes(s.blob_bytes));
    if let Some(h) = &s.http {
        eprintln!(
            "  requests: {} ({} retries, {} rate-limited, {:.1}s waiting)",
            h.requests,
            h.retries,
            h.rate_limited,
            h.waited.as_secs_f64()
        );
    }
    if s.warnings > 0 {
        eprintln!(
            "  warnings: {} (records kept with a field of an unexpected type left empty, records \
             gone at the source during the export, records or files that could not be fetched; \
             each is listed in bundle.json's warnings)",
            s.warnings
        );
    }
    eprintln!("  elapsed: {:.1}s", s.elapsed.as_secs_f64());
}
