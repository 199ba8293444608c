//! `verify BUNDLE --signer sign.pub [--identity FILE]`: tier 1 alone, or all three tiers.

use std::path::PathBuf;

use anyhow::Result;
use deskferry_format::{BundleReader, VerifyOptions, verify_quick};

use crate::common::{
    EXIT_FATAL, EXIT_OK, IdentityArgs, SignerArgs, error_json, print_json, report_error,
};
use crate::progress::Bar;

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (`NAME.dfb`; its `.minisig` and `.json` sidecars sit next to it).
    bundle: PathBuf,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    ids: IdentityArgs,
    /// Machine-readable output on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `verify`; exit 0 when valid, 2 when not.
pub fn run(a: Args) -> Result<u8> {
    let key = a.signer.signer_key()?;
    let bar = Bar::on_terminal();
    let opts = VerifyOptions { progress: bar.verification(), ..a.signer.options() };
    let full = a.ids.given();
    let outcome = if full {
        let identities = a.ids.identities()?;
        BundleReader::open(&a.bundle, &key, &identities, &opts).map(|r| {
            serde_json::json!({
                "bundle_id": r.envelope().bundle_id,
                "content_id": r.content_id(),
                "signer_key_id": r.envelope().signer_key_id,
                "purge_after": r.envelope().purge_after,
                "row_counts": r.envelope().row_counts,
                "entries": r.entries().len(),
                "rows_decoded": r.verify_stats().rows_decoded,
            })
        })
    } else {
        verify_quick(&a.bundle, &key, &opts).map(|q| {
            serde_json::json!({
                "bundle_id": q.envelope.bundle_id,
                "content_id": q.envelope.content_id,
                "signer_key_id": q.signer_key_id,
                "purge_after": q.envelope.purge_after,
                "row_counts": q.envelope.row_counts,
            })
        })
    };
    bar.finish();
    let tier = if full { "full" } else { "quick" };
    match outcome {
        Ok(mut info) => {
            if a.json {
                info["bundle"] = a.bundle.display().to_string().into();
                info["valid"] = true.into();
                info["tier"] = tier.into();
                print_json(&info)?;
            } else {
                println!(
                    "{}: VALID ({tier} verification{})",
                    a.bundle.display(),
                    if full {
                        ": signature, structure, every hash, every row decoded and counted, attachments and blobs"
                    } else {
                        ", signature and ciphertext hash only; add --identity for the full check"
                    }
                );
                println!("  bundle id:   {}", info["bundle_id"].as_str().unwrap_or(""));
                println!("  content id:  {}", info["content_id"].as_str().unwrap_or(""));
                println!("  signer:      {}", info["signer_key_id"].as_str().unwrap_or(""));
                println!("  purge after: {}", info["purge_after"].as_str().unwrap_or(""));
                if let Some(n) = info["rows_decoded"].as_u64() {
                    println!("  rows:        {n} decoded");
                }
            }
            Ok(EXIT_OK)
        }
        Err(e) => {
            if a.json {
                let mut v = error_json(&a.bundle, &e);
                v["tier_run"] = tier.into();
                print_json(&v)?;
            }
            // The code also goes to stderr in JSON mode so a person watching a script sees it.
            report_error(&a.bundle, &e);
            Ok(EXIT_FATAL)
        }
    }
}
