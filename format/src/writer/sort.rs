//! External sort of one table's rows by key (`model::id_order`), with bounded memory: rows are
//! buffered as JSON up to a budget, sorted, spilled as runs, and k-way merged at seal. When a key
//! appears more than once, the row appended last wins.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::error::{FormatError, io_err};
use crate::model::id_order;

/// Most runs merged at once (each holds a read buffer).
const FAN_IN: usize = 32;
/// Read buffer per run while merging.
const RUN_BUF: usize = 64 * 1024;
/// Accounted overhead per buffered row (vec slots, string headers).
const ROW_OVERHEAD: usize = 64;

/// One table's rows while the bundle is being written.
pub(crate) struct TableSorter {
    dir: PathBuf,
    rows: Vec<(String, Vec<u8>)>,
    bytes: usize,
    runs: Vec<PathBuf>,
    next_run: u64,
    appended: u64,
    /// Runs before this index were fsynced by a checkpoint.
    synced: usize,
}

/// What a checkpoint records of one table: its durable runs, in order.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct SorterState {
    /// Run file names (inside the table's run directory), oldest first.
    pub runs: Vec<String>,
    /// The number the last run was given.
    pub next_run: u64,
    /// Rows appended up to the checkpoint.
    pub appended: u64,
}

impl TableSorter {
    pub(crate) fn new(dir: PathBuf) -> TableSorter {
        TableSorter {
            dir,
            rows: Vec::new(),
            bytes: 0,
            runs: Vec::new(),
            next_run: 0,
            appended: 0,
            synced: 0,
        }
    }

    /// A sorter continuing from a checkpoint; run files of the directory that the checkpoint
    /// does not list (written after it) are deleted.
    pub(crate) fn restore(dir: PathBuf, st: &SorterState) -> Result<TableSorter, FormatError> {
        let mut listed = std::collections::BTreeSet::new();
        for name in &st.runs {
            if name.contains('/') || name.starts_with('.') {
                return Err(FormatError::Meta(format!("checkpoint names a bad run file {name:?}")));
            }
            let p = dir.join(name);
            if !p.is_file() {
                return Err(FormatError::Io {
                    path: p,
                    source: io::Error::new(io::ErrorKind::NotFound, "checkpointed run missing"),
                });
            }
            listed.insert(name.clone());
        }
        if dir.is_dir() {
            for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
                let e = e.map_err(io_err(&dir))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if !listed.contains(&name) {
                    fs::remove_file(e.path()).map_err(io_err(e.path()))?;
                }
            }
        }
        let runs: Vec<PathBuf> = st.runs.iter().map(|n| dir.join(n)).collect();
        let synced = runs.len();
        Ok(TableSorter {
            dir,
            rows: Vec::new(),
            bytes: 0,
            runs,
            next_run: st.next_run,
            appended: st.appended,
            synced,
        })
    }

    /// Spills the buffer, fsyncs every run written since the last call and the run directory;
    /// returns what a checkpoint records.
    pub(crate) fn make_durable(&mut self) -> Result<SorterState, FormatError> {
        self.spill()?;
        if self.synced < self.runs.len() {
            for p in &self.runs[self.synced..] {
                File::open(p).and_then(|f| f.sync_all()).map_err(io_err(p))?;
            }
            File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io_err(&self.dir))?;
            self.synced = self.runs.len();
        }
        let runs = self
            .runs
            .iter()
            .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .collect();
        Ok(SorterState { runs, next_run: self.next_run, appended: self.appended })
    }

    /// Bytes held in memory.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn push(&mut self, key: String, json: Vec<u8>) {
        self.bytes += key.len() + json.len() + ROW_OVERHEAD;
        self.rows.push((key, json));
        self.appended += 1;
    }

    /// Rows appended so far (before de-duplication).
    pub(crate) fn appended(&self) -> u64 {
        self.appended
    }

    /// Sorts the buffer (later duplicates win) and writes it as a run.
    pub(crate) fn spill(&mut self) -> Result<(), FormatError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let rows = sorted_unique(std::mem::take(&mut self.rows));
        self.bytes = 0;
        let path = self.new_run_path();
        let mut w = BufWriter::new(File::create(&path).map_err(io_err(&path))?);
        for (k, v) in &rows {
            write_rec(&mut w, k, v).map_err(io_err(&path))?;
        }
        w.flush().map_err(io_err(&path))?;
        self.runs.push(path);
        Ok(())
    }

    fn new_run_path(&mut self) -> PathBuf {
        self.next_run += 1;
        self.dir.join(format!("run-{:08}.bin", self.next_run))
    }

    /// Every row in key order, once per key (the last appended wins).
    /// With `keep_runs`, merged runs are not deleted (a checkpoint lists them).
    pub(crate) fn into_sorted(mut self, keep_runs: bool) -> Result<MergedRows, FormatError> {
        // Keep the in-memory tail in memory when nothing was spilled.
        if self.runs.is_empty() {
            let rows = sorted_unique(std::mem::take(&mut self.rows));
            return Ok(MergedRows { inner: Inner::Memory(rows.into_iter()) });
        }
        self.spill()?;
        // Merging consecutive runs keeps "later run wins": the merged run takes the group's place.
        while self.runs.len() > FAN_IN {
            let mut next = Vec::new();
            let runs = std::mem::take(&mut self.runs);
            for group in runs.chunks(FAN_IN) {
                if group.len() == 1 {
                    next.push(group[0].clone());
                    continue;
                }
                let path = self.new_run_path();
                let mut w = BufWriter::new(File::create(&path).map_err(io_err(&path))?);
                let mut m = Merger::open(group)?;
                while let Some((k, v)) = m.next_row()? {
                    write_rec(&mut w, &k, &v).map_err(io_err(&path))?;
                }
                w.flush().map_err(io_err(&path))?;
                // Checkpointed runs stay: a kill during seal must leave the checkpoint
                // resumable. The work directory goes after seal.
                if !keep_runs {
                    for p in group {
                        let _ = fs::remove_file(p);
                    }
                }
                next.push(path);
            }
            self.runs = next;
        }
        Ok(MergedRows { inner: Inner::Merge(Merger::open(&self.runs)?) })
    }
}

fn sorted_unique(mut rows: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    // Stable sort keeps append order among equal keys; keep the last of each group.
    rows.sort_by(|a, b| id_order(&a.0, &b.0));
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some(last) if last.0 == r.0 => *last = r,
            _ => out.push(r),
        }
    }
    out
}

fn write_rec(w: &mut impl Write, k: &str, v: &[u8]) -> io::Result<()> {
    w.write_all(&(k.len() as u32).to_le_bytes())?;
    w.write_all(k.as_bytes())?;
    w.write_all(&(v.len() as u64).to_le_bytes())?;
    w.write_all(v)
}

fn read_rec(r: &mut impl Read) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut len4 = [0u8; 4];
    match r.read_exact(&mut len4) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut k = vec![0u8; u32::from_le_bytes(len4) as usize];
    r.read_exact(&mut k)?;
    let mut len8 = [0u8; 8];
    r.read_exact(&mut len8)?;
    let mut v = vec![0u8; u64::from_le_bytes(len8) as usize];
    r.read_exact(&mut v)?;
    let k = String::from_utf8(k).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some((k, v)))
}

struct Head {
    key: String,
    val: Vec<u8>,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Head {
    // Reversed: BinaryHeap is a max-heap and we want the smallest key, oldest run first.
    fn cmp(&self, o: &Self) -> Ordering {
        id_order(&o.key, &self.key).then(o.run.cmp(&self.run))
    }
}

struct Merger {
    readers: Vec<(PathBuf, BufReader<File>)>,
    heap: BinaryHeap<Head>,
}

impl Merger {
    fn open(runs: &[PathBuf]) -> Result<Merger, FormatError> {
        let mut m = Merger { readers: Vec::new(), heap: BinaryHeap::new() };
        for (i, p) in runs.iter().enumerate() {
            let f = File::open(p).map_err(io_err(p))?;
            m.readers.push((p.clone(), BufReader::with_capacity(RUN_BUF, f)));
            m.advance(i)?;
        }
        Ok(m)
    }

    fn advance(&mut self, run: usize) -> Result<(), FormatError> {
        let (p, r) = &mut self.readers[run];
        if let Some((key, val)) = read_rec(r).map_err(io_err(p.as_path()))? {
            self.heap.push(Head { key, val, run });
        }
        Ok(())
    }

    fn next_row(&mut self) -> Result<Option<(String, Vec<u8>)>, FormatError> {
        let Some(mut best) = self.heap.pop() else { return Ok(None) };
        self.advance(best.run)?;
        // Equal keys pop oldest run first, so the last one popped is the newest.
        while self.heap.peek().is_some_and(|h| h.key == best.key) {
            let h = self.heap.pop().expect("peeked");
            self.advance(h.run)?;
            best = h;
        }
        Ok(Some((best.key, best.val)))
    }
}

enum Inner {
    Memory(std::vec::IntoIter<(String, Vec<u8>)>),
    Merge(Merger),
}

/// Rows of one table in key order, each key once.
pub(crate) struct MergedRows {
    inner: Inner,
}

impl MergedRows {
    pub(crate) fn next_row(&mut self) -> Result<Option<(String, Vec<u8>)>, FormatError> {
        match &mut self.inner {
            Inner::Memory(it) => Ok(it.next()),
            Inner::Merge(m) => m.next_row(),
        }
    }
}

/// Removes a run directory (after the table's parts are written).
pub(crate) fn remove_runs(dir: &std::path::Path) {
    let _ = fs::remove_dir_all(dir);
}
