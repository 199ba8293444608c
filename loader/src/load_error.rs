//! Errors that stop a loader command (per-record failures are `WriteError`s in the ledger).

use std::path::PathBuf;

use deskferry_format::BundleError;
use thiserror::Error;

use crate::error::WriteError;

/// Why a command stopped; every variant is fatal (exit code 2).
#[derive(Debug, Error)]
pub enum LoadError {
    /// The bundle failed verification (or is expired): nothing was written to the target.
    ///
    /// Not a `#[source]`: the message already holds the code and the detail, and a binary that
    /// prints the error chain would print them twice.
    #[error("bundle refused ({code}): {detail}", code = .0.code.as_str(), detail = .0.detail)]
    Bundle(BundleError),
    /// A key or identity file could not be read.
    #[error("{path}: {message}")]
    Keys {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// target.toml is unreadable or wrong.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// mapping.toml is unreadable or wrong.
    #[error("{path}: {message}")]
    Mapping {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The ledger could not be opened or written.
    #[error("ledger {path}: {message}")]
    Ledger {
        /// The ledger file.
        path: PathBuf,
        /// SQLite's message.
        message: String,
    },
    /// The temporary spool of the bundle's conversations (beside the ledger) could not be
    /// written or read: usually a full disk.
    #[error(
        "spool {path}: {message} (the bundle's tickets, comments and attachments are spooled beside the ledger while a command runs: free space there, or put the ledger on a larger disk)"
    )]
    Spool {
        /// The spool file.
        path: PathBuf,
        /// SQLite's (or the decoder's) message.
        message: String,
    },
    /// The target failed in a way that stops the run (inventory unreadable, authentication).
    #[error("target: {0}")]
    Target(Box<WriteError>),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bundle was created before one already loaded from the same source account: loading
    /// it would write older versions of records over newer ones.
    #[error(
        "bundle {bundle_id} (created {created_at}) is older than bundle {newer_id} (created {newer_created_at}), already loaded from {account} with this ledger: loading it would write older versions of records over newer ones (an old bundle copied back or renamed is exactly this); if that is what you mean, pass --allow-older-bundle"
    )]
    OlderBundle {
        /// The bundle refused.
        bundle_id: String,
        /// Its creation time.
        created_at: String,
        /// The newest bundle loaded from that account.
        newer_id: String,
        /// Its creation time.
        newer_created_at: String,
        /// Platform and account.
        account: String,
    },
    /// The bundle passed verification but a table could not be decoded while loading.
    #[error("reading the bundle: {0}")]
    Read(String),
}

impl From<WriteError> for LoadError {
    fn from(e: WriteError) -> Self {
        LoadError::Target(Box::new(e))
    }
}

impl From<BundleError> for LoadError {
    fn from(e: BundleError) -> LoadError {
        LoadError::Bundle(e)
    }
}

impl LoadError {
    /// A config error about `path`.
    pub fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> LoadError {
        LoadError::Config { path: path.into(), message: message.into() }
    }

    /// A mapping error about `path`.
    pub fn mapping(path: impl Into<PathBuf>, message: impl Into<String>) -> LoadError {
        LoadError::Mapping { path: path.into(), message: message.into() }
    }

    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> LoadError {
        LoadError::Io { path: path.into(), source }
    }
}
