//! `--since OLD.dfb.json`: the parent bundle's envelope gives the cursors a delta starts from.

use std::path::Path;

use deskferry_format::{BundleMeta, Envelope, Mode};

use crate::error::ExtractError;
use crate::source::Resume;

/// Reads the parent's envelope and turns `meta`/`resume` into a delta of it.
pub fn apply(since: &Path, meta: &mut BundleMeta, resume: &mut Resume) -> Result<(), ExtractError> {
    let bytes = std::fs::read(since)
        .map_err(|source| ExtractError::Io { path: since.to_path_buf(), source })?;
    let env: Envelope = serde_json::from_slice(&bytes).map_err(|e| ExtractError::Config {
        path: since.to_path_buf(),
        message: format!("not a bundle envelope (NAME.dfb.json): {e}"),
    })?;
    if env.bundle_id == meta.bundle_id {
        return Err(ExtractError::Config {
            path: since.to_path_buf(),
            message: format!(
                "the parent bundle is also named {}; give the delta another --out name",
                env.bundle_id
            ),
        });
    }
    if env.source_platform != meta.source_platform || env.source_account != meta.source_account {
        return Err(ExtractError::Config {
            path: since.to_path_buf(),
            message: format!(
                "the parent bundle comes from {} {}, this source is {} {}",
                env.source_platform, env.source_account, meta.source_platform, meta.source_account
            ),
        });
    }
    meta.mode = Mode::Delta;
    meta.parent_bundle_id = Some(env.bundle_id.clone());
    meta.extracted_from = Some(env.created_at);
    resume.since = env.cursors.clone();
    resume.since_time = Some(env.created_at);
    Ok(())
}
