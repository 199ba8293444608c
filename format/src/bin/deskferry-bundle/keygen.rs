//! `keygen --out-dir DIR`: an age identity and recipient, and a minisign key pair.

use std::path::PathBuf;

use anyhow::{Context, Result};
use deskferry_format::SignerKey;

use crate::common::{EXIT_OK, print_json};

/// Arguments of `keygen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write identity.txt, recipient.txt, sign.key and sign.pub into (created if
    /// missing; existing key files are never overwritten).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Print the written paths as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `keygen`.
pub fn run(a: Args) -> Result<u8> {
    std::fs::create_dir_all(&a.out_dir)
        .with_context(|| format!("creating {}", a.out_dir.display()))?;
    let paths = deskferry_format::keygen(&a.out_dir).context("generating keys")?;
    let recipient = std::fs::read_to_string(&paths.recipient)
        .with_context(|| format!("reading back {}", paths.recipient.display()))?;
    let recipient = recipient
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("age1"))
        .unwrap_or_default()
        .to_string();
    let key_id = SignerKey::from_file(&paths.sign_pub).context("reading back sign.pub")?.key_id();
    if a.json {
        print_json(&serde_json::json!({
            "identity": paths.identity,
            "recipient_file": paths.recipient,
            "recipient": recipient,
            "sign_key": paths.sign_key,
            "sign_pub": paths.sign_pub,
            "signer_key_id": key_id,
        }))?;
    } else {
        println!("identity (secret, 0600): {}", paths.identity.display());
        println!("recipient:               {}  ({recipient})", paths.recipient.display());
        println!("signing key (0600):      {}", paths.sign_key.display());
        println!("signer public key:       {}  (key id {key_id})", paths.sign_pub.display());
    }
    Ok(EXIT_OK)
}
