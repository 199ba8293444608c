//! The one HTTP client every platform uses (stub; being written).

use thiserror::Error;

/// Why a request failed (stub).
#[derive(Debug, Error)]
pub enum HttpError {
    /// Placeholder.
    #[error("{0}")]
    Other(String),
}
