//! An unreachable server: how long the client keeps retrying, and what it tells people meanwhile.
//!
//! One request's retries are bounded, but a server that is down for good would otherwise make
//! every request of a run retry in turn: a killed target kept a load retrying silently for more
//! than ten minutes. So the client tracks one outage per connection: it starts with the first
//! attempt that fails below HTTP or with a 5xx (429/503 throttling is not an outage) and ends with
//! the next answer of any status. While it lasts, each retry is reported to the observer; once it
//! has lasted [`OutagePolicy::max`], every request fails at once with
//! [`HttpError::Unreachable`](super::HttpError::Unreachable), which the binaries treat as fatal
//! (exit 2, "run the same command again when it is back": both sides resume).

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long to keep retrying an unreachable server by default.
pub const DEFAULT_MAX_OUTAGE: Duration = Duration::from_secs(300);

/// Something people should see while a run waits for a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpEvent {
    /// An attempt failed; the request is retried after `retry_in`.
    Retrying {
        /// The server (scheme, host, port).
        server: String,
        /// What failed (`cannot connect`, `HTTP 502`, …).
        what: String,
        /// Wait before the next attempt.
        retry_in: Duration,
        /// How long the server has been failing.
        down_for: Duration,
        /// When the client gives up if it stays so.
        gives_up_in: Duration,
    },
    /// The server answers again.
    Recovered {
        /// The server (scheme, host, port).
        server: String,
        /// How long it had been failing.
        down_for: Duration,
    },
}

impl fmt::Display for HttpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpEvent::Retrying { server, what, retry_in, down_for, gives_up_in } => write!(
                f,
                "{server} is not answering ({what}) for {}s: retrying in {:.1}s, giving up in {}s",
                down_for.as_secs(),
                retry_in.as_secs_f64(),
                gives_up_in.as_secs()
            ),
            HttpEvent::Recovered { server, down_for } => {
                write!(f, "{server} answers again after {}s", down_for.as_secs())
            }
        }
    }
}

/// Receives [`HttpEvent`]s (the binaries print them).
pub type Observer = Arc<dyn Fn(&HttpEvent) + Send + Sync>;

/// How long an outage may last, and who hears about it.
#[derive(Clone)]
pub struct OutagePolicy {
    /// Longest outage before every request fails.
    pub max: Duration,
    /// Told about retries and recoveries.
    pub observer: Option<Observer>,
}

impl OutagePolicy {
    /// Gives up after `max`; shows each event as a line through `print`, retries at most one
    /// line every five seconds (many requests retry at once), recoveries always.
    pub fn printing(max: Duration, print: impl Fn(&str) + Send + Sync + 'static) -> OutagePolicy {
        let last: Mutex<Option<Instant>> = Mutex::new(None);
        let observer = move |e: &HttpEvent| {
            if let HttpEvent::Retrying { .. } = e {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
                    return;
                }
                *last = Some(Instant::now());
            }
            print(&e.to_string());
        };
        OutagePolicy { max, observer: Some(Arc::new(observer)) }
    }
}

impl Default for OutagePolicy {
    fn default() -> Self {
        OutagePolicy { max: DEFAULT_MAX_OUTAGE, observer: None }
    }
}

impl fmt::Debug for OutagePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutagePolicy")
            .field("max", &self.max)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

static PROCESS_POLICY: RwLock<Option<OutagePolicy>> = RwLock::new(None);

/// Sets the policy every [`HttpConfig`](super::HttpConfig) made after this call starts with (the
/// binaries call it once, from their command line).
pub fn set_process_policy(policy: OutagePolicy) {
    *PROCESS_POLICY.write().unwrap_or_else(|e| e.into_inner()) = Some(policy);
}

/// The policy new configs start with.
pub(crate) fn process_policy() -> OutagePolicy {
    PROCESS_POLICY.read().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()
}

/// The outage of one client, shared by its clones.
#[derive(Debug)]
pub(crate) struct OutageWatch {
    policy: OutagePolicy,
    server: String,
    state: Mutex<Option<Down>>,
}

#[derive(Debug, Clone)]
struct Down {
    since: Instant,
    last: String,
}

/// Why a request was not even tried: the outage outlasted the policy.
#[derive(Debug, Clone)]
pub(crate) struct GaveUp {
    pub(crate) down_for: Duration,
    pub(crate) last: String,
}

impl OutageWatch {
    pub(crate) fn new(policy: OutagePolicy, server: String) -> OutageWatch {
        OutageWatch { policy, server, state: Mutex::new(None) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Down>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some` once the current outage has lasted the policy's maximum.
    pub(crate) fn gave_up(&self) -> Option<GaveUp> {
        let g = self.lock();
        let d = g.as_ref()?;
        let down_for = d.since.elapsed();
        (down_for >= self.policy.max).then(|| GaveUp { down_for, last: d.last.clone() })
    }

    /// An attempt failed with `what`; the caller will retry after `retry_in`.
    pub(crate) fn failed(&self, what: &str, retry_in: Duration) {
        let down_for = {
            let mut g = self.lock();
            let d = g.get_or_insert_with(|| Down { since: Instant::now(), last: String::new() });
            d.last = what.to_string();
            d.since.elapsed()
        };
        if let Some(o) = &self.policy.observer {
            o(&HttpEvent::Retrying {
                server: self.server.clone(),
                what: what.to_string(),
                retry_in,
                down_for,
                gives_up_in: self.policy.max.saturating_sub(down_for),
            });
        }
    }

    /// The server answered (any status).
    pub(crate) fn answered(&self) {
        // Cheap when there is no outage: one uncontended lock.
        let was = self.lock().take();
        if let (Some(d), Some(o)) = (was, &self.policy.observer) {
            o(&HttpEvent::Recovered { server: self.server.clone(), down_for: d.since.elapsed() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_reported_and_bounded_and_ends_with_an_answer() {
        let seen: Arc<Mutex<Vec<HttpEvent>>> = Arc::default();
        let sink = seen.clone();
        let policy = OutagePolicy {
            max: Duration::from_millis(50),
            observer: Some(Arc::new(move |e: &HttpEvent| sink.lock().unwrap().push(e.clone()))),
        };
        let w = OutageWatch::new(policy, "http://127.0.0.1:9".into());
        assert!(w.gave_up().is_none());
        w.failed("cannot connect", Duration::from_millis(10));
        assert!(w.gave_up().is_none(), "not yet");
        std::thread::sleep(Duration::from_millis(60));
        let g = w.gave_up().expect("past the maximum");
        assert_eq!(g.last, "cannot connect");
        assert!(g.down_for >= Duration::from_millis(50));
        w.answered();
        assert!(w.gave_up().is_none(), "an answer ends the outage");
        let seen = seen.lock().unwrap();
        assert!(matches!(&seen[0], HttpEvent::Retrying { what, .. } if what == "cannot connect"));
        assert!(matches!(&seen[1], HttpEvent::Recovered { .. }));
        assert!(seen[0].to_string().contains("giving up in"));
    }
}
