//! Command-line arguments of deskferry-extract.

use std::path::PathBuf;

use clap::Parser;

/// Reads a helpdesk through its API into a signed, encrypted deskferry bundle.
///
/// Kill it at any moment and run the same command again: it resumes from the work directory's
/// checkpoint and produces the same content id. Exit status: 0 done, 1 done but some records
/// (attachments) could not be fetched (listed in bundle.json's warnings), 2 failed.
#[derive(Parser, Debug)]
#[command(name = "deskferry-extract", version)]
pub struct Args {
    /// The source file (platform, URL, where the credentials come from).
    #[arg(long, value_name = "source.toml")]
    pub source: PathBuf,
    /// A recipients file (age or SSH public keys); repeat for the loader and each auditor.
    #[arg(long = "recipient", value_name = "FILE", required = true)]
    pub recipients: Vec<PathBuf>,
    /// The extractor's minisign secret key (unencrypted, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub sign_key: PathBuf,
    /// The bundle to write: NAME.dfb (NAME becomes the bundle id); NAME.dfb.json and
    /// NAME.dfb.minisig are written beside it.
    #[arg(long, value_name = "NAME.dfb")]
    pub out: PathBuf,
    /// Work directory (staged rows, downloaded attachments, checkpoint); default NAME.dfb.work.
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Extract only what changed since this bundle (its plaintext envelope NAME.dfb.json).
    #[arg(long, value_name = "OLD.dfb.json")]
    pub since: Option<PathBuf>,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Give up (exit 2; run the same command again to resume) once the source has not answered
    /// for this many seconds; until then every request is retried and the outage is shown.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub max_outage: u64,
    /// Progress display on stderr: auto (bars on a terminal), plain, off.
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "off"])]
    pub progress: String,
    /// Minimum seconds between checkpoints (tests use short ones).
    #[arg(long, default_value_t = 15.0, hide = true)]
    pub checkpoint_secs: f64,
}
