//! The ledger: one SQLite file recording which source record became which target record.
//!
//! It holds ids, hashes, outcomes and reasons only — never names, emails or bodies (reasons
//! pass through [`scrub`]). A write is preceded by a `pending` row committed to disk, so after a
//! crash the next run knows the target may hold the record already and asks the target
//! (`Target::find_ticket`) before writing again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::load_error::LoadError;

mod bundles;
pub use bundles::LoadedBundle;

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A write was about to be sent; whether it reached the target is unknown.
    Pending,
    /// Written (created, updated or matched to an existing target record).
    Migrated,
    /// Deliberately not written (filter, mapping, target limit); see the reason.
    Skipped,
    /// The target refused it or the request failed; see the reason.
    Failed,
}

impl Outcome {
    /// The word stored in the ledger and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Migrated => "migrated",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Outcome {
        match s {
            "migrated" => Outcome::Migrated,
            "skipped" => Outcome::Skipped,
            "failed" => Outcome::Failed,
            _ => Outcome::Pending,
        }
    }
}

/// One record's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Bundle table name (`tickets`, `comments`, …).
    pub entity: String,
    /// Source id.
    pub source_id: String,
    /// Target id, once known.
    pub target_id: Option<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// Why skipped or failed (no personal data).
    pub reason: Option<String>,
    /// A skip the user must look at (target limit, missing bytes), as opposed to one they asked
    /// for (filters, options); only these and failures make the exit code 1.
    pub notable: bool,
    /// Bundle that last touched the record.
    pub bundle_id: String,
    /// SHA-256 of the row's canonical JSON when it was last written.
    pub content_hash: String,
    /// The record it belongs to (a comment's ticket id), so a later bundle's reconciliation
    /// knows which comments an earlier bundle put on a ticket.
    pub parent: Option<String>,
}

impl Entry {
    /// A new entry.
    pub fn new(
        entity: &str,
        source_id: &str,
        outcome: Outcome,
        bundle_id: &str,
        hash: &str,
    ) -> Entry {
        Entry {
            entity: entity.to_string(),
            source_id: source_id.to_string(),
            target_id: None,
            outcome,
            reason: None,
            notable: false,
            bundle_id: bundle_id.to_string(),
            content_hash: hash.to_string(),
            parent: None,
        }
    }

    /// With the record it belongs to.
    pub fn parent(mut self, parent: &str) -> Entry {
        self.parent = Some(parent.to_string());
        self
    }

    /// With a target id.
    pub fn target(mut self, id: Option<String>) -> Entry {
        self.target_id = id;
        self
    }

    /// With a reason (scrubbed); `notable` per [`Entry::notable`].
    pub fn reason(mut self, reason: &str, notable: bool) -> Entry {
        self.reason = Some(scrub(reason));
        self.notable = notable;
        self
    }
}

/// Counts of one run, per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    /// Records migrated by this run.
    pub migrated: u64,
    /// Records already migrated and unchanged (no request sent).
    pub unchanged: u64,
    /// Records skipped.
    pub skipped: u64,
    /// Records failed.
    pub failed: u64,
}

/// One run of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    /// Run number.
    pub id: i64,
    /// `run`, `demo`, …
    pub command: String,
    /// Bundle id.
    pub bundle_id: String,
    /// Content id of the bundle.
    pub content_id: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End, when it finished.
    pub ended_at: Option<String>,
    /// Counts, when it finished.
    pub counts: Option<RunCounts>,
}

/// Records of one entity by outcome (pending counts as failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Migrated.
    pub migrated: u64,
    /// Skipped.
    pub skipped: u64,
    /// Failed or pending.
    pub failed: u64,
}

/// The SQLite ledger (safe to share between tasks; each call is one short transaction).
pub struct Ledger {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    entity       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    target_id    TEXT,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    notable      INTEGER NOT NULL DEFAULT 0,
    bundle_id    TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    run_id       INTEGER,
    updated_at   TEXT NOT NULL,
    parent       TEXT,
    PRIMARY KEY (entity, source_id)
);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    command     TEXT NOT NULL,
    bundle_id   TEXT NOT NULL,
    content_id  TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    migrated    INTEGER,
    unchanged   INTEGER,
    skipped     INTEGER,
    failed      INTEGER
);
CREATE TABLE IF NOT EXISTS ledger_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO ledger_info (key, value) VALUES ('schema_version', '1');
";

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// SHA-256 (lower hex) of a row's canonical JSON (serde field order, no whitespace).
pub fn content_hash<T: Serialize>(row: &T) -> String {
    let bytes = serde_json::to_vec(row).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Keeps personal data out of reasons: words with `@` become `[email]`, `<`…`>` markup is cut,
/// length is capped at 300 characters.
pub fn scrub(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(300));
    let mut in_tag = false;
    for word in reason.split_inclusive(char::is_whitespace) {
        if word.contains('@') {
            out.push_str("[email]");
            if word.ends_with(char::is_whitespace) {
                out.push(' ');
            }
            continue;
        }
        for c in word.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag && !c.is_control() => out.push(c),
                _ => {}
            }
        }
    }
    if out.chars().count() > 300 {
        out = out.chars().take(299).collect::<String>() + "…";
    }
    out
}

/// Puts the ledger in WAL mode. SQLite answers "database is locked" to the switch without
/// waiting when another connection has the file open at that moment (two processes opening a
/// new ledger at once), so the switch is tried again for as long as the busy timeout.
fn wal_mode(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mode: rusqlite::Result<String> =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0));
        match mode {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

impl Ledger {
    /// Opens (or creates) the ledger file; the file is made readable by its owner only.
    pub fn open(path: &Path) -> Result<Ledger, LoadError> {
        let err = |e: rusqlite::Error| LoadError::Ledger {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        // First of all: another process opening the same ledger at this moment (a report, a
        // watcher) holds a lock for a few milliseconds; wait for it rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(err)?;
        // WAL: a killed process loses nothing it committed; NORMAL sync is durable against
        // process death, and an OS crash only loses the newest rows, which the pending/find
        // protocol recovers from.
        wal_mode(&conn).map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        // Reports count over temporary tables of a bundle's ids: on disk, not in memory.
        conn.pragma_update(None, "temp_store", "FILE").map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.execute_batch(bundles::SCHEMA).map_err(err)?;
        // Ledgers written before `parent` existed gain the column (empty for their rows).
        let has_parent = conn
            .prepare("SELECT 1 FROM pragma_table_info('records') WHERE name = 'parent'")
            .and_then(|mut st| st.exists([]))
            .map_err(err)?;
        if !has_parent {
            conn.execute_batch("ALTER TABLE records ADD COLUMN parent TEXT").map_err(err)?;
        }
        // A ticket's comments by their parent (reconcile reads them one ticket at a time).
        conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS records_by_parent ON records (entity, parent)",
        )
        .map_err(err)?;
        Ok(Ledger { conn: Mutex::new(conn), path: path.to_path_buf() })
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the ledger is in (scratch files of a command go there).
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn err(&self, e: rusqlite::Error) -> LoadError {
        LoadError::Ledger { path: self.path.clone(), message: e.to_string() }
    }

    /// One record's entry.
    pub fn get(&self, entity: &str, source_id: &str) -> Result<Option<Entry>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare_cached(
                "SELECT entity, source_id, target_id, outcome, reason, notable, bundle_id, content_hash, parent
                 FROM records WHERE entity = ?1 AND source_id = ?2",
            )
            .map_err(|e| self.err(e))?;
        st.query_row(params![entity, source_id], row_to_entry).optional().map_err(|e| self.err(e))
    }

    /// The target id of one record, when it is migrated.
    pub fn migrated_target(
        &self,
        entity: &str,
        source_id: &str,
    ) -> Result<Option<String>, LoadError> {
        Ok(self
            .get(entity, source_id)?
            .filter(|e| e.outcome == Outcome::Migrated)
            .and_then(|e| e.target_id))
    }

    /// Every entry of one entity whose parent is `parent` (a ticket's comments), in source id
    /// order.
    pub fn children(&self, entity: &str, parent: &str) -> Result<Vec<Entry>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare_cached(
                "SELECT entity, source_id, target_id, outcome, reason, notable, bundle_id, content_hash, parent
                 FROM records WHERE entity = ?1 AND parent = ?2 ORDER BY length(source_id), source_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st.query_map(params![entity, parent], row_to_entry).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Every entry of one entity, by source id.
    pub fn entity(&self, entity: &str) -> Result<HashMap<String, Entry>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT entity, source_id, target_id, outcome, reason, notable, bundle_id, content_hash, parent
                 FROM records WHERE entity = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = st.query_map(params![entity], row_to_entry).map_err(|e| self.err(e))?;
        let mut out = HashMap::new();
        for r in rows {
            let e = r.map_err(|e| self.err(e))?;
            out.insert(e.source_id.clone(), e);
        }
        Ok(out)
    }

    /// Every entry, ordered by entity then source id (reports).
    pub fn all(&self) -> Result<Vec<Entry>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT entity, source_id, target_id, outcome, reason, notable, bundle_id, content_hash, parent
                 FROM records ORDER BY entity, length(source_id), source_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], row_to_entry).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Every entry in the order of [`Ledger::all`], handed to `f` one at a time from a cursor,
    /// so that a report over millions of records holds none of them.
    pub fn each(&self, mut f: impl FnMut(Entry) -> Result<(), LoadError>) -> Result<(), LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT entity, source_id, target_id, outcome, reason, notable, bundle_id, content_hash, parent
                 FROM records ORDER BY entity, length(source_id), source_id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            f(row_to_entry(r).map_err(|e| self.err(e))?)?;
        }
        Ok(())
    }

    /// Outcomes of one entity's records among `ids` (the ids a bundle names), counted by
    /// SQLite over a temporary table of the ids rather than over sets held in memory.
    /// `ids` yields them in chunks (a table's batches).
    pub fn count_among<I>(&self, entity: &str, ids: I) -> Result<OutcomeCounts, LoadError>
    where
        I: IntoIterator<Item = Result<Vec<String>, LoadError>>,
    {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS among (id TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM among;",
        )
        .map_err(|e| self.err(e))?;
        {
            let mut ins = tx
                .prepare("INSERT OR IGNORE INTO among (id) VALUES (?1)")
                .map_err(|e| self.err(e))?;
            for chunk in ids {
                for id in chunk? {
                    ins.execute(params![id]).map_err(|e| self.err(e))?;
                }
            }
        }
        let mut out = OutcomeCounts::default();
        {
            let mut st = tx
                .prepare(
                    "SELECT r.outcome, count(*) FROM records r JOIN among a ON a.id = r.source_id
                     WHERE r.entity = ?1 GROUP BY r.outcome",
                )
                .map_err(|e| self.err(e))?;
            let mut rows = st.query(params![entity]).map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                let outcome: String = r.get(0).map_err(|e| self.err(e))?;
                let n: i64 = r.get(1).map_err(|e| self.err(e))?;
                let n = n.max(0) as u64;
                match Outcome::parse(&outcome) {
                    Outcome::Migrated => out.migrated += n,
                    Outcome::Skipped => out.skipped += n,
                    Outcome::Failed | Outcome::Pending => out.failed += n,
                }
            }
        }
        tx.execute_batch("DELETE FROM among;").map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Writes entries in one transaction (durable when it returns). A `pending` entry keeps
    /// the target id already known for the record.
    pub fn put(&self, entries: &[Entry], run_id: Option<i64>) -> Result<(), LoadError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO records (entity, source_id, target_id, outcome, reason, notable,
                                          bundle_id, content_hash, run_id, updated_at, parent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (entity, source_id) DO UPDATE SET
                        target_id = COALESCE(excluded.target_id, records.target_id),
                        parent = COALESCE(excluded.parent, records.parent),
                        outcome = excluded.outcome,
                        reason = excluded.reason,
                        notable = excluded.notable,
                        bundle_id = excluded.bundle_id,
                        content_hash = CASE WHEN excluded.outcome = 'pending'
                                            THEN records.content_hash ELSE excluded.content_hash END,
                        run_id = excluded.run_id,
                        updated_at = excluded.updated_at",
                )
                .map_err(|e| self.err(e))?;
            let t = now();
            for e in entries {
                st.execute(params![
                    e.entity,
                    e.source_id,
                    e.target_id,
                    e.outcome.as_str(),
                    e.reason.as_deref().map(scrub),
                    e.notable as i64,
                    e.bundle_id,
                    e.content_hash,
                    run_id,
                    t,
                    e.parent
                ])
                .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Records the start of a run; returns its number.
    pub fn start_run(
        &self,
        command: &str,
        bundle_id: &str,
        content_id: &str,
    ) -> Result<i64, LoadError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO runs (command, bundle_id, content_id, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![command, bundle_id, content_id, now()],
        )
        .map_err(|e| self.err(e))?;
        Ok(conn.last_insert_rowid())
    }

    /// Records the end of a run and its counts.
    pub fn end_run(&self, run_id: i64, counts: &RunCounts) -> Result<(), LoadError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE runs SET ended_at = ?2, migrated = ?3, unchanged = ?4, skipped = ?5, failed = ?6
             WHERE id = ?1",
            params![
                run_id,
                now(),
                counts.migrated as i64,
                counts.unchanged as i64,
                counts.skipped as i64,
                counts.failed as i64
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRow>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT id, command, bundle_id, content_id, started_at, ended_at,
                        migrated, unchanged, skipped, failed FROM runs ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let ended: Option<String> = r.get(5)?;
                let m: Option<i64> = r.get(6)?;
                let counts = match (&ended, m) {
                    (Some(_), Some(m)) => Some(RunCounts {
                        migrated: m as u64,
                        unchanged: r.get::<_, Option<i64>>(7)?.unwrap_or(0) as u64,
                        skipped: r.get::<_, Option<i64>>(8)?.unwrap_or(0) as u64,
                        failed: r.get::<_, Option<i64>>(9)?.unwrap_or(0) as u64,
                    }),
                    _ => None,
                };
                Ok(RunRow {
                    id: r.get(0)?,
                    command: r.get(1)?,
                    bundle_id: r.get(2)?,
                    content_id: r.get(3)?,
                    started_at: r.get(4)?,
                    ended_at: ended,
                    counts,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let outcome: String = r.get(3)?;
    Ok(Entry {
        entity: r.get(0)?,
        source_id: r.get(1)?,
        target_id: r.get(2)?,
        outcome: Outcome::parse(&outcome),
        reason: r.get(4)?,
        notable: r.get::<_, i64>(5)? != 0,
        bundle_id: r.get(6)?,
        content_hash: r.get(7)?,
        parent: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader (`deskferry-load report`, a watcher) opening the ledger while a load opens it
    /// waits its turn instead of failing either side with "database is locked".
    #[test]
    fn ledgers_opened_at_once_wait_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..40 {
            let p = dir.path().join(format!("{round}.ledger"));
            let opened: Vec<Result<Ledger, LoadError>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4).map(|_| s.spawn(|| Ledger::open(&p))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for o in opened {
                if let Err(e) = o {
                    panic!("round {round}: {e}");
                }
            }
        }
    }

    #[test]
    fn pending_keeps_target_id_and_hash_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ledger");
        {
            let l = Ledger::open(&p).unwrap();
            let run = l.start_run("run", "b1", "c1").unwrap();
            l.put(
                &[Entry::new("tickets", "7", Outcome::Migrated, "b1", "h1")
                    .target(Some("cnv_1".into()))],
                Some(run),
            )
            .unwrap();
            // A later pending write (delta) must not forget the target id nor the old hash.
            l.put(&[Entry::new("tickets", "7", Outcome::Pending, "b2", "h2")], Some(run)).unwrap();
            l.end_run(run, &RunCounts { migrated: 1, ..Default::default() }).unwrap();
        }
        let l = Ledger::open(&p).unwrap();
        let e = l.get("tickets", "7").unwrap().unwrap();
        assert_eq!(e.outcome, Outcome::Pending);
        assert_eq!(e.target_id.as_deref(), Some("cnv_1"));
        assert_eq!(e.content_hash, "h1");
        assert_eq!(e.bundle_id, "b2");
        let runs = l.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].counts.as_ref().unwrap().migrated, 1);
        assert!(l.get("tickets", "8").unwrap().is_none());
        assert_eq!(l.entity("tickets").unwrap().len(), 1);
    }

    #[test]
    fn a_ledger_from_before_parent_gains_the_column_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.ledger");
        // The schema as it was before comments recorded their ticket.
        let old = SCHEMA.replace("    parent       TEXT,\n", "");
        assert!(!old.contains("parent"));
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&old).unwrap();
        conn.execute(
            "INSERT INTO records (entity, source_id, target_id, outcome, bundle_id, content_hash, updated_at)
             VALUES ('comments', '7', 'com_1', 'migrated', 'full', 'h', 'now')",
            [],
        )
        .unwrap();
        drop(conn);
        let l = Ledger::open(&path).unwrap();
        let e = l.get("comments", "7").unwrap().unwrap();
        assert_eq!((e.outcome, e.parent), (Outcome::Migrated, None));
        l.put(&[Entry::new("comments", "8", Outcome::Migrated, "d", "h").parent("3")], None)
            .unwrap();
        // A later write without a parent keeps the one recorded.
        l.put(&[Entry::new("comments", "8", Outcome::Pending, "d", "h")], None).unwrap();
        assert_eq!(l.get("comments", "8").unwrap().unwrap().parent.as_deref(), Some("3"));
        drop(l);
        // Opening again does not add the column twice.
        Ledger::open(&path).unwrap();
    }

    #[test]
    fn reasons_never_hold_emails_or_markup() {
        let s = scrub("contact Jane.Doe@example.com refused: <p>hello</p> \u{7}x");
        assert!(!s.contains('@'), "{s}");
        assert!(!s.contains("<p>"), "{s}");
        assert!(s.contains("[email]"));
        assert!(scrub(&"a".repeat(1000)).chars().count() <= 300);
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("l")).unwrap();
        l.put(
            &[Entry::new("users", "1", Outcome::Failed, "b", "h").reason("x@y.z bad", true)],
            None,
        )
        .unwrap();
        let raw = std::fs::read(dir.path().join("l")).unwrap_or_default();
        let wal = std::fs::read(dir.path().join("l-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(!bytes.windows(5).any(|w| w == b"x@y.z"));
        }
    }

    #[test]
    fn content_hash_is_stable_and_sensitive() {
        #[derive(Serialize)]
        struct R {
            a: u32,
            b: &'static str,
        }
        assert_eq!(content_hash(&R { a: 1, b: "x" }), content_hash(&R { a: 1, b: "x" }));
        assert_ne!(content_hash(&R { a: 1, b: "x" }), content_hash(&R { a: 2, b: "x" }));
    }
}
