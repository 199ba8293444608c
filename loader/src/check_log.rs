//! The reconciliation's rows, kept on disk: every check goes into a temporary SQLite file (read
//! back sorted for reconcile.csv), while memory holds only what the report page shows — counts
//! per verdict, the first differences and read errors one by one, the limits grouped by kind.
//! A reconciliation of millions of comments then costs the same memory as one of a hundred.
//! Rows are sealed with a key only the running process holds (`scratch.rs`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use crate::load_error::LoadError;
use crate::reconcile::{Check, Verdict};
use crate::report::group::{Group, Grouper};
use crate::report::html::MAX_ROWS;
use crate::scratch::{Sealer, scratch_dir};

/// Checks buffered before they are written in one transaction.
const BATCH: usize = 4096;

struct Store {
    conn: Connection,
    path: PathBuf,
    // Deleted on drop, after the connection (declared first) is closed.
    _dir: tempfile::TempDir,
}

/// Every check of a reconciliation; see the module's documentation.
#[derive(Default)]
pub struct CheckLog {
    /// Every row is sealed with a key only this process holds (`scratch.rs`).
    sealer: Sealer,
    dir: Option<PathBuf>,
    store: Option<Store>,
    buffer: Vec<Check>,
    counts: [u64; 4],
    attention: Vec<Check>,
    limits: Grouper,
}

impl std::fmt::Debug for CheckLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckLog").field("counts", &self.counts).finish()
    }
}

impl serde::Serialize for CheckLog {
    /// The counts per verdict (the rows are in reconcile.csv).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(4))?;
        for v in [Verdict::Ok, Verdict::Limit, Verdict::Difference, Verdict::Error] {
            m.serialize_entry(v.as_str(), &self.count(v))?;
        }
        m.end()
    }
}

fn slot(v: Verdict) -> usize {
    match v {
        Verdict::Ok => 0,
        Verdict::Limit => 1,
        Verdict::Difference => 2,
        Verdict::Error => 3,
    }
}

/// The order of reconcile.csv: entity, record (ids by length, then bytes), comment, check.
fn order(a: &Check, b: &Check) -> std::cmp::Ordering {
    a.entity
        .cmp(&b.entity)
        .then_with(|| deskferry_format::model::id_order(&a.record, &b.record))
        .then_with(|| a.comment.cmp(&b.comment))
        .then_with(|| a.check.cmp(&b.check))
}

impl CheckLog {
    /// A log whose file goes into `dir` (the ledger's directory); a log made with `default()`
    /// uses the system's temporary directory.
    pub fn in_dir(dir: &Path) -> CheckLog {
        CheckLog { dir: Some(dir.to_path_buf()), ..CheckLog::default() }
    }

    /// A log of `checks` in the system's temporary directory.
    pub fn of(checks: impl IntoIterator<Item = Check>) -> Result<CheckLog, LoadError> {
        let mut log = CheckLog::default();
        log.extend(checks)?;
        Ok(log)
    }

    /// Checks with this verdict.
    pub fn count(&self, v: Verdict) -> u64 {
        self.counts[slot(v)]
    }

    /// Every check.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// No check at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first [`MAX_ROWS`] differences and read errors, in the order of reconcile.csv.
    pub fn attention(&self) -> Vec<Check> {
        let mut v = self.attention.clone();
        v.sort_by(order);
        v
    }

    /// The checks a target limit explains, grouped by entity, check and the limit's words.
    pub fn limit_groups(&self) -> Vec<Group> {
        self.limits.snapshot()
    }

    /// Adds one check.
    pub fn push(&mut self, c: Check) -> Result<(), LoadError> {
        self.counts[slot(c.verdict)] += 1;
        match c.verdict {
            Verdict::Difference | Verdict::Error if self.attention.len() < MAX_ROWS => {
                self.attention.push(c.clone());
            }
            Verdict::Limit => {
                let example = match &c.comment {
                    Some(cm) => format!("{} {} comment {cm}", c.entity, c.record),
                    None => format!("{} {}", c.entity, c.record),
                };
                self.limits.add(format!("{} {}", c.entity, c.check), &c.note, || example);
            }
            _ => {}
        }
        self.buffer.push(c);
        if self.buffer.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds checks.
    pub fn extend(&mut self, checks: impl IntoIterator<Item = Check>) -> Result<(), LoadError> {
        for c in checks {
            self.push(c)?;
        }
        Ok(())
    }

    fn open(&mut self) -> Result<&mut Store, LoadError> {
        if self.store.is_none() {
            let dir = self.dir.clone().unwrap_or_else(std::env::temp_dir);
            let tmp = scratch_dir(&dir, ".deskferry-checks-")?;
            let path = tmp.path().join("checks.sqlite");
            let err = |e: rusqlite::Error| LoadError::Spool {
                path: path.clone(),
                message: e.to_string(),
            };
            let conn = Connection::open(&path).map_err(err)?;
            conn.execute_batch(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;
                 PRAGMA cache_size = -8192;
                 CREATE TABLE checks (entity TEXT NOT NULL, record BLOB NOT NULL, comment BLOB,
                                      check_name BLOB NOT NULL, row BLOB NOT NULL);",
            )
            .map_err(err)?;
            self.store = Some(Store { conn, path, _dir: tmp });
        }
        Ok(self.store.as_mut().expect("opened above"))
    }

    fn flush(&mut self) -> Result<(), LoadError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.buffer);
        let sealed: Vec<Vec<u8>> = rows
            .iter()
            .map(|c| serde_json::to_vec(c).map(|plain| self.sealer.seal(&plain)))
            .collect::<Result<_, _>>()
            .map_err(|e| LoadError::Read(e.to_string()))?;
        let store = self.open()?;
        let err = |e: rusqlite::Error| LoadError::Spool {
            path: store.path.clone(),
            message: e.to_string(),
        };
        let tx = store.conn.transaction().map_err(err)?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO checks (entity, record, comment, check_name, row) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            for (c, row) in rows.iter().zip(sealed) {
                ins.execute(params![
                    c.entity,
                    c.record.as_bytes(),
                    c.comment.as_deref().map(str::as_bytes),
                    c.check.as_bytes(),
                    row
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Every check in the order of reconcile.csv, handed to `f` one at a time.
    pub fn each(
        &mut self,
        mut f: impl FnMut(Check) -> Result<(), LoadError>,
    ) -> Result<(), LoadError> {
        self.flush()?;
        let Some(store) = &self.store else { return Ok(()) };
        let err = |e: rusqlite::Error| LoadError::Spool {
            path: store.path.clone(),
            message: e.to_string(),
        };
        // Record ids as `id_order` sorts them: by length in bytes, then bytewise (BLOBs).
        let mut st = store
            .conn
            .prepare(
                "SELECT row FROM checks
                 ORDER BY entity, length(record), record, comment, check_name",
            )
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let bytes: Vec<u8> = r.get(0).map_err(err)?;
            let plain = self.sealer.open(&bytes, &store.path)?;
            let c: Check = serde_json::from_slice(&plain).map_err(|e| LoadError::Spool {
                path: store.path.clone(),
                message: e.to_string(),
            })?;
            f(c)?;
        }
        Ok(())
    }

    /// Every check, in memory (tests and small reconciliations).
    pub fn all(&mut self) -> Result<Vec<Check>, LoadError> {
        let mut out = Vec::new();
        self.each(|c| {
            out.push(c);
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(record: &str, comment: Option<&str>, verdict: Verdict, note: &str) -> Check {
        Check {
            entity: "tickets".into(),
            record: record.into(),
            target_id: "t".into(),
            comment: comment.map(str::to_string),
            check: "author".into(),
            verdict,
            expected: String::new(),
            actual: String::new(),
            note: note.into(),
        }
    }

    #[test]
    fn keeps_every_check_on_disk_in_csv_order_and_only_a_digest_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CheckLog::in_dir(dir.path());
        for i in (0..10_000u32).rev() {
            let v = match i % 10 {
                0 => Verdict::Difference,
                1..=5 => Verdict::Limit,
                _ => Verdict::Ok,
            };
            log.push(check(
                &i.to_string(),
                Some(&format!("c{i}")),
                v,
                &format!("a note of {i} bytes"),
            ))
            .unwrap();
        }
        assert_eq!(log.len(), 10_000);
        assert_eq!((log.count(Verdict::Difference), log.count(Verdict::Limit)), (1000, 5000));
        assert_eq!(log.attention().len(), MAX_ROWS);
        let groups = log.limit_groups();
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(groups[0].count, 5000);
        let all = log.all().unwrap();
        assert_eq!(all.len(), 10_000);
        let records: Vec<u32> = all.iter().map(|c| c.record.parse().unwrap()).collect();
        assert!(records.windows(2).all(|w| w[0] < w[1]), "ids sorted as id_order sorts them");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(log);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the file goes with the log");
    }
}
