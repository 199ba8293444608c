//! Errors a target returns for one record.

use thiserror::Error;

/// Why writing one record to the target failed (the run goes on with the next record).
#[derive(Debug, Error)]
pub enum WriteError {
    /// The target refused the record (4xx other than rate limiting); retrying will not help.
    #[error("{entity} {source_id}: target refused it: {message}")]
    Rejected {
        /// Entity (`tickets`, `comments`, …).
        entity: String,
        /// Source id of the record.
        source_id: String,
        /// The target's reason (no secrets, no bodies of personal data).
        message: String,
    },
    /// The target cannot hold this record at all (a documented limit); reported as skipped.
    #[error("{entity} {source_id}: not supported by the target: {reason}")]
    Unsupported {
        /// Entity.
        entity: String,
        /// Source id of the record.
        source_id: String,
        /// The limit, in words the report shows.
        reason: String,
    },
    /// Transport failure after the HTTP client's retries; the run may stop or go on.
    #[error("{entity} {source_id}: {source}")]
    Http {
        /// Entity.
        entity: String,
        /// Source id of the record.
        source_id: String,
        /// The client's error (boxed: it is large, and every `Result` of a target carries it).
        #[source]
        source: Box<deskferry_extractor::http::HttpError>,
    },
    /// Anything else (bundle blob unreadable, unexpected target answer).
    #[error("{entity} {source_id}: {message}")]
    Other {
        /// Entity.
        entity: String,
        /// Source id of the record.
        source_id: String,
        /// What happened.
        message: String,
    },
}
