//! Which bundles the ledger has loaded, so an older one is not replayed by accident.
//!
//! Every bundle is validly signed, so a signature cannot tell a fresh bundle from an old one
//! copied back (or renamed): loading it again would write older versions of records over newer
//! ones. The ledger therefore remembers, per source account, the bundles `run` and `demo` were
//! started with (ids, hashes and times only), and a bundle created before the newest of them is
//! refused unless the operator says it is meant.

use chrono::{DateTime, SecondsFormat, Utc};
use deskferry_format::Envelope;
use rusqlite::{OptionalExtension, params};

use super::Ledger;
use crate::load_error::LoadError;

/// A bundle the ledger has loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedBundle {
    /// Bundle id.
    pub bundle_id: String,
    /// Content id.
    pub content_id: String,
    /// Source platform.
    pub source_platform: String,
    /// Source account.
    pub source_account: String,
    /// When the bundle was created (from its signed envelope).
    pub created_at: DateTime<Utc>,
}

impl LoadedBundle {
    /// The bundle an envelope describes.
    pub fn of(env: &Envelope) -> LoadedBundle {
        LoadedBundle {
            bundle_id: env.bundle_id.clone(),
            content_id: env.content_id.clone(),
            source_platform: env.source_platform.clone(),
            source_account: env.source_account.clone(),
            created_at: env.created_at,
        }
    }
}

/// The table, created on open (a ledger from before it simply has no history yet).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bundles (
    content_id      TEXT PRIMARY KEY,
    bundle_id       TEXT NOT NULL,
    source_platform TEXT NOT NULL,
    source_account  TEXT NOT NULL,
    created_at_us   INTEGER NOT NULL,
    first_loaded_at TEXT NOT NULL
);
";

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Ledger {
    /// The most recently created bundle loaded from this source account, if any.
    pub fn newest_loaded(
        &self,
        platform: &str,
        account: &str,
    ) -> Result<Option<LoadedBundle>, LoadError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT bundle_id, content_id, source_platform, source_account, created_at_us
             FROM bundles WHERE source_platform = ?1 AND source_account = ?2
             ORDER BY created_at_us DESC, bundle_id DESC LIMIT 1",
            params![platform, account],
            |r| {
                let us: i64 = r.get(4)?;
                Ok(LoadedBundle {
                    bundle_id: r.get(0)?,
                    content_id: r.get(1)?,
                    source_platform: r.get(2)?,
                    source_account: r.get(3)?,
                    created_at: DateTime::from_timestamp_micros(us).unwrap_or_default(),
                })
            },
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Admits `bundle` for loading and records it. A bundle created before the newest one
    /// already loaded from the same source account is refused ([`LoadError::OlderBundle`])
    /// unless `allow_older`; then the newer one is returned so the caller can say so.
    pub fn admit(
        &self,
        bundle: &LoadedBundle,
        allow_older: bool,
    ) -> Result<Option<LoadedBundle>, LoadError> {
        let newest = self.newest_loaded(&bundle.source_platform, &bundle.source_account)?;
        let older = newest.filter(|n| n.created_at > bundle.created_at);
        if let Some(n) = &older
            && !allow_older
        {
            return Err(LoadError::OlderBundle {
                bundle_id: bundle.bundle_id.clone(),
                created_at: rfc3339(&bundle.created_at),
                newer_id: n.bundle_id.clone(),
                newer_created_at: rfc3339(&n.created_at),
                account: format!("{} {}", bundle.source_platform, bundle.source_account),
            });
        }
        let conn = self.lock();
        conn.execute(
            "INSERT OR IGNORE INTO bundles (content_id, bundle_id, source_platform, source_account,
                                            created_at_us, first_loaded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                bundle.content_id,
                bundle.bundle_id,
                bundle.source_platform,
                bundle.source_account,
                bundle.created_at.timestamp_micros(),
                super::now()
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(older)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(id: &str, account: &str, day: u32) -> LoadedBundle {
        LoadedBundle {
            bundle_id: id.into(),
            content_id: format!("cid-{id}"),
            source_platform: "zendesk".into(),
            source_account: account.into(),
            created_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, day, 8, 0, 0).unwrap(),
        }
    }

    #[test]
    fn an_older_bundle_of_the_same_account_needs_the_flag_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        let (old, new) = (bundle("acme-1", "acme", 1), bundle("acme-2", "acme", 5));
        {
            let l = Ledger::open(&path).unwrap();
            assert_eq!(l.admit(&old, false).unwrap(), None, "nothing loaded yet");
            assert_eq!(l.admit(&new, false).unwrap(), None, "a newer one is fine");
            assert_eq!(l.admit(&new, false).unwrap(), None, "the same one again (re-run) too");
        }
        let l = Ledger::open(&path).unwrap();
        let e = l.admit(&old, false).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, LoadError::OlderBundle { .. }), "{text}");
        for part in ["acme-1", "2026-11-01T08:00:00Z", "acme-2", "2026-11-05T08:00:00Z"] {
            assert!(text.contains(part), "{part} missing: {text}");
        }
        assert!(text.contains("--allow-older-bundle"), "{text}");
        assert_eq!(l.admit(&old, true).unwrap(), Some(new.clone()), "allowed, and says by what");
        // Another account has its own history.
        assert_eq!(l.admit(&bundle("other-1", "other", 1), false).unwrap(), None);
        assert_eq!(l.newest_loaded("zendesk", "acme").unwrap(), Some(new));
    }

    #[test]
    fn a_ledger_from_before_the_bundles_table_gains_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(super::super::SCHEMA).unwrap();
        drop(conn);
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.admit(&bundle("a", "acme", 3), false).unwrap(), None);
    }
}
