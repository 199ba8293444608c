//! What a failed request means for the run: the one classification every source and target
//! uses, so that a new platform cannot get it wrong in its own way.
//!
//! - [`ErrorClass::Retryable`]: the server or the network is in trouble (429, 408, 5xx, resets,
//!   timeouts, truncated bodies). The client retries these itself; one that is still failing
//!   after the client's budget says the target is unreachable, not that the record is bad.
//! - [`ErrorClass::Fatal`]: every further request would fail the same way, so the run stops at
//!   once (exit 2) instead of failing each record in turn: credentials refused or revoked (401),
//!   a write forbidden (403), something every record is written into is gone (a deleted inbox
//!   answering 404 to an import), a server that has not answered for longer than the client's
//!   outage policy, a local file that cannot be written, a bad client setup.
//! - [`ErrorClass::Record`]: only this record is concerned: the server refused it (400, 409,
//!   413, 422, …), or it is gone (404, 410), or its answer could not be read.

use super::HttpError;

/// What a failed request means for the run (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Worth another attempt later (429, 408, 5xx, resets, timeouts).
    Retryable,
    /// Stops the whole run (401, 403 on a write, a deleted container, local I/O).
    Fatal,
    /// Concerns this one record only (422 and the like, 404 of the record itself).
    Record,
}

/// What the failed request was doing; the same status means different things for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A read (a source's export and follow-ups, a target's inventory or read-back). A 403 here
    /// is one record the token may not see.
    Read,
    /// A write of one record (or a read a target makes to write one). A 403 here means the
    /// token may not write at all.
    Write,
    /// A write into a container every record of the run goes into (a Front inbox): its 404 or
    /// 410 means the container is gone, which no later record survives either.
    WriteInto,
}

/// The class of an HTTP status for a request doing `op`.
pub fn status_class(status: u16, op: Op) -> ErrorClass {
    match status {
        408 | 429 | 500..=599 => ErrorClass::Retryable,
        401 => ErrorClass::Fatal,
        403 if op != Op::Read => ErrorClass::Fatal,
        404 | 410 if op == Op::WriteInto => ErrorClass::Fatal,
        _ => ErrorClass::Record,
    }
}

/// The class of a failed request doing `op`.
pub fn classify(e: &HttpError, op: Op) -> ErrorClass {
    match e {
        HttpError::Status { status, .. } => status_class(*status, op),
        HttpError::Transport { .. } => ErrorClass::Retryable,
        HttpError::Decode { .. } | HttpError::Redirect { .. } => ErrorClass::Record,
        // The client already retried for as long as the outage policy allows.
        HttpError::Io { .. } | HttpError::Config(_) | HttpError::Unreachable { .. } => {
            ErrorClass::Fatal
        }
    }
}

impl HttpError {
    /// What this failure means for the run when the request was doing `op`.
    pub fn class(&self, op: Op) -> ErrorClass {
        classify(self, op)
    }

    /// A write that failed this way may have been carried out all the same (the answer was lost
    /// on the way back, or the server failed midway): look at the target before writing again.
    pub fn in_doubt(&self) -> bool {
        self.class(Op::Write) == ErrorClass::Retryable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> HttpError {
        HttpError::Status {
            method: "POST".into(),
            url: "http://h/x".into(),
            status: s,
            body: "".into(),
        }
    }

    #[test]
    fn server_trouble_is_retryable_whatever_the_request_did() {
        for s in [408, 429, 500, 502, 503, 504] {
            for op in [Op::Read, Op::Write, Op::WriteInto] {
                assert_eq!(status(s).class(op), ErrorClass::Retryable, "{s} {op:?}");
            }
        }
        let reset = HttpError::Transport {
            method: "GET".into(),
            url: "http://h/x".into(),
            message: "connection reset".into(),
        };
        assert_eq!(reset.class(Op::Write), ErrorClass::Retryable);
    }

    #[test]
    fn a_write_is_in_doubt_only_when_its_answer_may_have_been_lost() {
        for s in [429, 500, 502, 503] {
            assert!(status(s).in_doubt(), "{s}");
        }
        let reset = HttpError::Transport {
            method: "POST".into(),
            url: "http://h/x".into(),
            message: "connection closed before message completed".into(),
        };
        assert!(reset.in_doubt());
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!status(s).in_doubt(), "{s}: the server said what it did");
        }
        let decode = HttpError::Decode { url: "http://h/x".into(), message: "eof".into() };
        assert!(!decode.in_doubt(), "a whole answer that does not parse was still an answer");
    }

    #[test]
    fn refused_credentials_stop_the_run_and_a_forbidden_write_too() {
        for op in [Op::Read, Op::Write, Op::WriteInto] {
            assert_eq!(status(401).class(op), ErrorClass::Fatal, "{op:?}");
        }
        assert_eq!(status(403).class(Op::Write), ErrorClass::Fatal);
        assert_eq!(status(403).class(Op::WriteInto), ErrorClass::Fatal);
        // A record the token may not read is that record's problem.
        assert_eq!(status(403).class(Op::Read), ErrorClass::Record);
    }

    #[test]
    fn a_gone_container_is_fatal_a_gone_record_is_not() {
        assert_eq!(status(404).class(Op::WriteInto), ErrorClass::Fatal);
        assert_eq!(status(410).class(Op::WriteInto), ErrorClass::Fatal);
        assert_eq!(status(404).class(Op::Write), ErrorClass::Record);
        assert_eq!(status(404).class(Op::Read), ErrorClass::Record);
    }

    #[test]
    fn a_refused_record_concerns_that_record_only() {
        for s in [400, 409, 413, 415, 422] {
            assert_eq!(status(s).class(Op::Write), ErrorClass::Record, "{s}");
        }
        let decode = HttpError::Decode { url: "http://h/x".into(), message: "eof".into() };
        assert_eq!(decode.class(Op::Read), ErrorClass::Record);
        let io = HttpError::Io { path: "/tmp/x".into(), message: "disk full".into() };
        assert_eq!(io.class(Op::Read), ErrorClass::Fatal);
        let gone = HttpError::Unreachable {
            server: "http://h".into(),
            down_for: std::time::Duration::from_secs(300),
            last: "cannot connect".into(),
        };
        assert_eq!(
            gone.class(Op::Write),
            ErrorClass::Fatal,
            "an outage past the limit stops the run"
        );
    }
}
