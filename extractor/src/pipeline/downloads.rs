//! `downloads.jsonl` in the work directory: which attachment id became which blob, so a resumed
//! run reuses a blob (after re-hashing it) instead of downloading it again.
//!
//! One JSON line per stored attachment, appended with a single write; a line cut short by a kill
//! is ignored on load.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::ExtractError;

/// File name inside the work directory.
pub const DOWNLOADS_FILE: &str = "downloads.jsonl";

/// One stored attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// Attachment id.
    pub id: String,
    /// Lower-case hex SHA-256 of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The log, loaded and open for appending; cheap to clone.
#[derive(Debug, Clone)]
pub struct DownloadsLog {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    known: HashMap<String, Download>,
    file: File,
}

impl DownloadsLog {
    /// Loads `path` (if present) and opens it for appending.
    pub fn open(path: &Path) -> Result<DownloadsLog, ExtractError> {
        let io = |source| ExtractError::Io { path: path.to_path_buf(), source };
        let mut known = HashMap::new();
        match File::open(path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.map_err(io)?;
                    if let Ok(d) = serde_json::from_str::<Download>(&line) {
                        known.insert(d.id.clone(), d);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
        // A kill may have cut the last line short: start ours on a line of its own.
        if file.metadata().map_err(io)?.len() > 0 {
            file.write_all(b"\n").map_err(io)?;
        }
        Ok(DownloadsLog {
            inner: Arc::new(Mutex::new(Inner { path: path.to_path_buf(), known, file })),
        })
    }

    /// What an earlier run stored for this attachment id.
    pub fn get(&self, id: &str) -> Option<Download> {
        self.inner.lock().expect("downloads lock").known.get(id).cloned()
    }

    /// Records a stored attachment (written through to the file; no fsync: the blob it names is
    /// re-hashed before reuse, so a lost line costs only a download).
    pub fn record(&self, d: Download) -> Result<(), ExtractError> {
        let mut g = self.inner.lock().expect("downloads lock");
        let mut line = serde_json::to_vec(&d).expect("download serializes");
        line.push(b'\n');
        let Inner { path, file, known } = &mut *g;
        file.write_all(&line).map_err(|source| ExtractError::Io { path: path.clone(), source })?;
        known.insert(d.id.clone(), d);
        Ok(())
    }

    /// Number of attachments known.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("downloads lock").known.len()
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_line_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(DOWNLOADS_FILE);
        let log = DownloadsLog::open(&p).unwrap();
        log.record(Download { id: "1".into(), sha256: "a".repeat(64), size: 3 }).unwrap();
        drop(log);
        // A kill in the middle of the second line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"id":"2","sha2"#).unwrap();
        drop(f);
        let log = DownloadsLog::open(&p).unwrap();
        assert_eq!(log.len(), 1);
        log.record(Download { id: "3".into(), sha256: "b".repeat(64), size: 4 }).unwrap();
        drop(log);
        let log = DownloadsLog::open(&p).unwrap();
        assert_eq!(log.get("3").unwrap().size, 4);
        assert_eq!(log.get("1").unwrap().sha256, "a".repeat(64));
        assert!(log.get("2").is_none());
    }
}
