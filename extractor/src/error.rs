//! Errors of the extractor library (the binary wraps them with anyhow).

use std::path::PathBuf;

use thiserror::Error;

use crate::http::HttpError;

/// Why an extraction stopped.
#[derive(Debug, Error)]
pub enum ExtractError {
    /// The source file is unreadable or wrong.
    #[error("{path}: {message}")]
    Config {
        /// The source file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An API call failed after retries.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The source answered something that cannot be read.
    #[error("{platform} {entity} {id}: {message}")]
    Source {
        /// Platform.
        platform: &'static str,
        /// Entity (stream) being read.
        entity: String,
        /// Record id or page cursor.
        id: String,
        /// What was wrong.
        message: String,
    },
    /// The bundle writer failed.
    #[error(transparent)]
    Format(#[from] deskferry_format::FormatError),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The writer stopped (its error is reported separately) or the run was interrupted.
    #[error("extraction stopped: {0}")]
    Stopped(String),
}
