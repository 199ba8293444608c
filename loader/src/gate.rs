//! The gate every command passes first: full verification (tiers 1–3) of the bundle with the
//! pinned signer and the loader's identity. Nothing touches the target before this returns.

use std::path::Path;

use chrono::Utc;
use deskferry_format::{BundleReader, Identities, SignerKey, VerifyOptions};

use crate::load_error::LoadError;

/// Environment variable holding the passphrase of a protected identity file.
pub use deskferry_format::keys::IDENTITY_PASSPHRASE_ENV as PASSPHRASE_ENV;

/// Where the bundle and its keys are.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    /// NAME.dfb (sidecars beside it).
    pub bundle: &'a Path,
    /// The extractor's minisign public key (pinned signer).
    pub signer: &'a Path,
    /// The loader's age identity (passphrase from [`PASSPHRASE_ENV`] when protected).
    pub identity: &'a Path,
    /// Accept a bundle past its purge date.
    pub allow_expired: bool,
}

/// Verifies the bundle completely and returns the reader; any failure (including an expired
/// bundle without `allow_expired`) is [`LoadError::Bundle`] with the stable error code.
pub fn open_verified(input: &GateInput<'_>) -> Result<BundleReader, LoadError> {
    let signer = SignerKey::from_file(input.signer).map_err(|e| LoadError::Keys {
        path: input.signer.to_path_buf(),
        message: e.to_string(),
    })?;
    // Identities::from_file reads the passphrase of a protected identity from PASSPHRASE_ENV.
    let identities = Identities::from_file(input.identity).map_err(|e| LoadError::Keys {
        path: input.identity.to_path_buf(),
        message: e.to_string(),
    })?;
    let opts = VerifyOptions {
        now: Utc::now(),
        allow_expired: input.allow_expired,
        ..VerifyOptions::default()
    };
    Ok(BundleReader::open(input.bundle, &signer, &identities, &opts)?)
}
