//! Errors a target returns for one record, and the one conversion of an HTTP failure into
//! them (by the core classification, [`deskferry_extractor::http::classify`]).

use deskferry_extractor::http::{ErrorClass, HttpError, Op};
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
    /// A failure that is not this record's fault: the target unreachable after the HTTP
    /// client's retries ([`ErrorClass::Retryable`]), or one that stops the run
    /// ([`ErrorClass::Fatal`]: credentials refused or revoked, writes forbidden, the inbox gone).
    #[error("{entity} {source_id}: {source}{hint}", hint = fatal_hint(*class))]
    Http {
        /// Entity.
        entity: String,
        /// Source id of the record.
        source_id: String,
        /// What it means for the run (never [`ErrorClass::Record`]: those are `Rejected`).
        class: ErrorClass,
        /// The client's error (boxed: it is large, and every `Result` of a target carries it).
        #[source]
        source: Box<HttpError>,
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

fn fatal_hint(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Fatal => {
            " (the target refuses this run's requests: check the token, its rights and the inbox or queue in target.toml, then run the same command again; the ledger resumes)"
        }
        _ => "",
    }
}

impl WriteError {
    /// The one conversion of a failed request into a record's error: a record-level failure
    /// (422, 404 of the record, …) is `Rejected`; the rest keeps its class (fatal, or retryable
    /// after the client's own retries) so the run can decide to stop.
    pub fn http(entity: &str, source_id: &str, e: HttpError, op: Op) -> WriteError {
        match e.class(op) {
            ErrorClass::Record => WriteError::Rejected {
                entity: entity.into(),
                source_id: source_id.into(),
                message: e.to_string(),
            },
            class => WriteError::Http {
                entity: entity.into(),
                source_id: source_id.into(),
                class,
                source: Box::new(e),
            },
        }
    }

    /// What the failure means for the run: `Fatal` stops it, `Retryable` (the target
    /// unreachable) stops it after a streak, the rest concern one record.
    pub fn class(&self) -> ErrorClass {
        match self {
            WriteError::Http { class, .. } => *class,
            _ => ErrorClass::Record,
        }
    }

    /// True when every further request would fail the same way.
    pub fn is_fatal(&self) -> bool {
        self.class() == ErrorClass::Fatal
    }
}

#[cfg(test)]
mod tests {
    use deskferry_extractor::http::{ErrorClass, HttpError, Op};

    use super::WriteError;

    fn status(s: u16) -> HttpError {
        HttpError::Status {
            method: "POST".into(),
            url: "http://t/x".into(),
            status: s,
            body: "".into(),
        }
    }

    #[test]
    fn a_refused_token_is_fatal_for_every_target_a_refused_record_is_not() {
        let e = WriteError::http("tickets", "7", status(401), Op::Write);
        assert!(e.is_fatal());
        assert!(e.to_string().contains("check the token"), "{e}");
        let e = WriteError::http("tickets", "7", status(403), Op::Write);
        assert!(e.is_fatal());
        let e = WriteError::http("tickets", "7", status(422), Op::Write);
        assert!(matches!(e, WriteError::Rejected { .. }) && !e.is_fatal(), "{e:?}");
        assert_eq!(e.class(), ErrorClass::Record);
    }

    #[test]
    fn a_deleted_inbox_is_fatal_an_unreachable_target_is_retryable() {
        assert!(WriteError::http("comments", "1", status(404), Op::WriteInto).is_fatal());
        let e = WriteError::http("comments", "1", status(404), Op::Write);
        assert!(matches!(e, WriteError::Rejected { .. }));
        let e = WriteError::http("comments", "1", status(503), Op::Write);
        assert_eq!(e.class(), ErrorClass::Retryable);
        assert!(!e.is_fatal());
    }
}
