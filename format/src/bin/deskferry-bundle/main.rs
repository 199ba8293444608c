//! deskferry-bundle: the auditor's and operator's tool (keygen, verify, inspect, export, diff, purge).
//!
//! Exit codes: 0 ok, 1 finished with problems (e.g. a file purge could not delete), 2 fatal or the
//! bundle is invalid.

mod common;
mod diff;
mod export;
mod inspect;
mod keygen;
mod progress;
mod purge;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keys, verification, inspection, export, comparison and purge of deskferry bundles.
#[derive(Parser)]
#[command(name = "deskferry-bundle", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create an age identity and recipient plus a minisign signing key pair.
    Keygen(keygen::Args),
    /// Verify a bundle: quick tier without an identity, all three tiers with one.
    Verify(verify::Args),
    /// Show a bundle's envelope, tables, schemas, date ranges, attachments and warnings.
    Inspect(inspect::Args),
    /// Write the verified plain BagIt bag under a directory.
    Export(export::Args),
    /// Records added, changed and removed between two bundles, per table.
    Diff(diff::Args),
    /// Delete bundles past their purge date and write receipts.
    Purge(purge::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Keygen(a) => keygen::run(a),
        Cmd::Verify(a) => verify::run(a),
        Cmd::Inspect(a) => inspect::run(a),
        Cmd::Export(a) => export::run(a),
        Cmd::Diff(a) => diff::run(a),
        Cmd::Purge(a) => purge::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("deskferry-bundle: error: {}", deskferry_format::chain_message(e.as_ref()));
            ExitCode::from(common::EXIT_FATAL)
        }
    }
}
