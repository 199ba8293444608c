//! Reading the verified bundle's tables into the shapes the loader works with.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};

use crate::scratch::{Sealer, scratch_dir};

use deskferry_extractor::platforms::field_kind;
use deskferry_format::model::id_order;
use deskferry_format::{
    Attachment, BundleReader, Comment, CustomField, Group, KbArticle, KbCategory, KbItem,
    KbSection, Organization, Record, Ticket, Tombstone, User,
};

use crate::load_error::LoadError;
use crate::mapping::BundleIndex;

/// Every row of one table.
pub fn all<R: Record>(reader: &BundleReader) -> Result<Vec<R>, LoadError> {
    reader
        .records::<R>()
        .map_err(|e| LoadError::Read(e.to_string()))?
        .map(|r| r.map_err(|e| LoadError::Read(e.to_string())))
        .collect()
}

/// The small tables, indexed.
pub fn index(reader: &BundleReader) -> Result<BundleIndex, LoadError> {
    let env = reader.envelope();
    Ok(BundleIndex {
        users: all::<User>(reader)?.into_iter().map(|u| (u.id.clone(), u)).collect(),
        groups: all::<Group>(reader)?.into_iter().map(|g| (g.id.clone(), g)).collect(),
        organizations: all::<Organization>(reader)?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect(),
        fields: all::<CustomField>(reader)?
            .into_iter()
            .map(|mut f| {
                // Bundles written before `custom_fields.kind` existed: the source platform's
                // own mapping of its type names says what the field holds.
                if f.kind.is_none() {
                    f.kind = field_kind(&env.source_platform, &f.field_type);
                }
                (f.key.clone(), f)
            })
            .collect(),
        source: format!("{}:{}", env.source_platform, env.source_account),
        statuses: statuses(reader)?,
    })
}

/// The (source status, canonical word) pairs of the bundle's tickets, read row by row.
fn statuses(
    reader: &BundleReader,
) -> Result<std::collections::BTreeSet<(String, String)>, LoadError> {
    let mut out = std::collections::BTreeSet::new();
    for t in reader.records::<Ticket>().map_err(|e| LoadError::Read(e.to_string()))? {
        let t = t.map_err(|e| LoadError::Read(e.to_string()))?;
        let word = crate::filter::status_word(t.status).to_string();
        out.insert((t.status_raw.unwrap_or_else(|| word.clone()), word));
    }
    Ok(out)
}

/// Tickets with their comments (conversation order) and each comment's attachments, spooled
/// from the bundle into a temporary SQLite file so that a run holds one ticket's conversation
/// at a time, whatever the bundle's size.
///
/// Why a spool rather than a change of the bundle's order: the bundle's tables are sorted by
/// id (format v1), so a ticket's comments are spread over the whole comments table. Sorting
/// them by ticket inside the bundle would change the format (and need an upgrade of every
/// saved bundle); an index into the bundle would still decrypt the whole stream for each
/// seek. One pass over the three tables into a file beside the ledger costs their decoded
/// size on disk, once per command, and works for every bundle ever written. The file is
/// deleted when the command ends (and is never a record of what was moved: the ledger is); its
/// rows are sealed with a key only the running process holds, so one left by a killed process
/// cannot be read, and the next command removes it (`scratch.rs`).
pub struct Conversations {
    conn: Mutex<Connection>,
    path: PathBuf,
    tickets: u64,
    /// Every row is sealed with a key only this process holds (`scratch.rs`).
    sealer: Sealer,
    // Deleted on drop, after the connection (declared first) is closed.
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Conversations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversations").field("path", &self.path).finish()
    }
}

/// Tickets read from the spool at once while iterating.
const TICKET_CHUNK: i64 = 256;

const SPOOL_SCHEMA: &str = "
CREATE TABLE tickets (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE comments (ticket_id TEXT NOT NULL, id TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE attachments (comment_id TEXT NOT NULL, id TEXT NOT NULL, row BLOB NOT NULL);
";

const SPOOL_INDEXES: &str = "
CREATE INDEX tickets_by_id ON tickets (id);
CREATE INDEX comments_by_ticket ON comments (ticket_id);
CREATE INDEX attachments_by_comment ON attachments (comment_id);
";

impl Conversations {
    /// Spools tickets, comments and attachments into a temporary file inside `dir` (the
    /// ledger's directory: the operator's working space, not the system's temporary one).
    pub fn read(reader: &BundleReader, dir: &Path) -> Result<Conversations, LoadError> {
        let tmp = scratch_dir(dir, ".deskferry-spool-")?;
        let sealer = Sealer::default();
        let path = tmp.path().join("conversations.sqlite");
        let err =
            |e: rusqlite::Error| LoadError::Spool { path: path.clone(), message: e.to_string() };
        let mut conn = Connection::open(&path).map_err(err)?;
        // A scratch file: nothing in it must survive a crash.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;
             PRAGMA cache_size = -16384;",
        )
        .map_err(err)?;
        conn.execute_batch(SPOOL_SCHEMA).map_err(err)?;
        let tx = conn.transaction().map_err(err)?;
        let mut tickets = 0u64;
        {
            let mut ins =
                tx.prepare("INSERT INTO tickets (id, row) VALUES (?1, ?2)").map_err(err)?;
            for t in reader.records::<Ticket>().map_err(|e| LoadError::Read(e.to_string()))? {
                let t = t.map_err(|e| LoadError::Read(e.to_string()))?;
                ins.execute(params![t.id, encode(&t, &sealer)?]).map_err(err)?;
                tickets += 1;
            }
            let mut ins = tx
                .prepare("INSERT INTO comments (ticket_id, id, row) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            for c in reader.records::<Comment>().map_err(|e| LoadError::Read(e.to_string()))? {
                let c = c.map_err(|e| LoadError::Read(e.to_string()))?;
                ins.execute(params![c.ticket_id, c.id, encode(&c, &sealer)?]).map_err(err)?;
            }
            let mut ins = tx
                .prepare("INSERT INTO attachments (comment_id, id, row) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            for a in reader.records::<Attachment>().map_err(|e| LoadError::Read(e.to_string()))? {
                let a = a.map_err(|e| LoadError::Read(e.to_string()))?;
                if let Some(c) = &a.comment_id {
                    ins.execute(params![c, a.id, encode(&a, &sealer)?]).map_err(err)?;
                }
            }
        }
        tx.execute_batch(SPOOL_INDEXES).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Conversations { conn: Mutex::new(conn), path, tickets, sealer, _dir: tmp })
    }

    fn err(&self, e: rusqlite::Error) -> LoadError {
        LoadError::Spool { path: self.path.clone(), message: e.to_string() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rows<R: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Vec<R>, LoadError> {
        let conn = self.lock();
        let mut st = conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let mut rows = st.query(params![key]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let bytes: Vec<u8> = r.get(0).map_err(|e| self.err(e))?;
            out.push(decode(&bytes, &self.sealer, &self.path)?);
        }
        Ok(out)
    }

    /// Tickets in the bundle.
    pub fn ticket_count(&self) -> u64 {
        self.tickets
    }

    /// Every ticket in id order, a few hundred read at a time.
    pub fn tickets(&self) -> TicketRows<'_> {
        TicketRows { conv: self, after: 0, buf: std::collections::VecDeque::new(), done: false }
    }

    /// One ticket by id.
    pub fn ticket(&self, id: &str) -> Result<Option<Ticket>, LoadError> {
        Ok(self.rows("SELECT row FROM tickets WHERE id = ?1 ORDER BY seq", id)?.into_iter().next())
    }

    /// A ticket's comments, ordered by time then id (empty when it has none).
    pub fn comments_of(&self, ticket_id: &str) -> Result<Vec<Comment>, LoadError> {
        let mut list: Vec<Comment> =
            self.rows("SELECT row FROM comments WHERE ticket_id = ?1", ticket_id)?;
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| id_order(&a.id, &b.id)));
        Ok(list)
    }

    /// A comment's attachments, in the comment's `attachment_ids` order where given; rows it
    /// does not list go last, by id.
    pub fn attachments_of(&self, c: &Comment) -> Result<Vec<Attachment>, LoadError> {
        let mut v: Vec<Attachment> =
            self.rows("SELECT row FROM attachments WHERE comment_id = ?1", &c.id)?;
        let pos = |id: &str| c.attachment_ids.iter().position(|x| x == id).unwrap_or(usize::MAX);
        v.sort_by(|x, y| pos(&x.id).cmp(&pos(&y.id)).then_with(|| id_order(&x.id, &y.id)));
        Ok(v)
    }

    /// Ids of tickets that have comments in the bundle but no row (a delta that repeats an
    /// unchanged ticket's comment, or a damaged extraction), in id order.
    pub fn tickets_without_rows(&self) -> Result<Vec<String>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT DISTINCT ticket_id FROM comments
                 WHERE ticket_id NOT IN (SELECT id FROM tickets)",
            )
            .map_err(|e| self.err(e))?;
        let mut ids = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        ids.sort_by(|a, b| id_order(a, b));
        Ok(ids)
    }

    fn chunk(&self, after: i64) -> Result<Vec<(i64, Ticket)>, LoadError> {
        let conn = self.lock();
        let mut st = conn
            .prepare_cached("SELECT seq, row FROM tickets WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query(params![after, TICKET_CHUNK]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let seq: i64 = r.get(0).map_err(|e| self.err(e))?;
            let bytes: Vec<u8> = r.get(1).map_err(|e| self.err(e))?;
            out.push((seq, decode(&bytes, &self.sealer, &self.path)?));
        }
        Ok(out)
    }
}

/// The spool's tickets, in id order.
pub struct TicketRows<'a> {
    conv: &'a Conversations,
    after: i64,
    buf: std::collections::VecDeque<Ticket>,
    done: bool,
}

impl Iterator for TicketRows<'_> {
    type Item = Result<Ticket, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            match self.conv.chunk(self.after) {
                Ok(chunk) => {
                    self.done = (chunk.len() as i64) < TICKET_CHUNK;
                    if let Some((seq, _)) = chunk.last() {
                        self.after = *seq;
                    }
                    self.buf.extend(chunk.into_iter().map(|(_, t)| t));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buf.pop_front().map(Ok)
    }
}

fn encode<R: serde::Serialize>(row: &R, sealer: &Sealer) -> Result<Vec<u8>, LoadError> {
    let plain =
        serde_json::to_vec(row).map_err(|e| LoadError::Read(format!("spooling a row: {e}")))?;
    Ok(sealer.seal(&plain))
}

fn decode<R: serde::de::DeserializeOwned>(
    bytes: &[u8],
    sealer: &Sealer,
    path: &Path,
) -> Result<R, LoadError> {
    serde_json::from_slice(&sealer.open(bytes, path)?)
        .map_err(|e| LoadError::Spool { path: path.to_path_buf(), message: e.to_string() })
}

/// Knowledge-base rows in load order: categories, sections, articles (source locale first).
pub fn kb_items(reader: &BundleReader) -> Result<Vec<(&'static str, KbItem)>, LoadError> {
    let mut out: Vec<(&'static str, KbItem)> = Vec::new();
    out.extend(all::<KbCategory>(reader)?.into_iter().map(|k| ("kb_categories", k.0)));
    out.extend(all::<KbSection>(reader)?.into_iter().map(|k| ("kb_sections", k.0)));
    let mut arts: Vec<KbItem> = all::<KbArticle>(reader)?.into_iter().map(|k| k.0).collect();
    arts.sort_by_key(|a| a.translation_of.is_some());
    out.extend(arts.into_iter().map(|a| ("kb_articles", a)));
    Ok(out)
}

/// The attachments of knowledge-base articles (the bundle's other attachments, those of
/// comments, are not held: they come with their ticket from [`Conversations`]).
pub fn article_attachments(reader: &BundleReader) -> Result<Vec<Attachment>, LoadError> {
    let mut out = Vec::new();
    for a in reader.records::<Attachment>().map_err(|e| LoadError::Read(e.to_string()))? {
        let a = a.map_err(|e| LoadError::Read(e.to_string()))?;
        if a.article_id.is_some() {
            out.push(a);
        }
    }
    Ok(out)
}

/// Tombstones (delta bundles).
pub fn tombstones(reader: &BundleReader) -> Result<Vec<Tombstone>, LoadError> {
    all::<Tombstone>(reader)
}

#[cfg(test)]
mod tests {
    use deskferry_fixtures::dataset::Size;

    use super::*;

    #[test]
    fn the_spool_gives_each_ticket_its_conversation_in_order_and_is_removed_after() {
        // Small: more tickets than one chunk of the iteration.
        let b = crate::testing::bundle(3, Size::Small);
        let dir = tempfile::tempdir().unwrap();
        let conv = Conversations::read(&b.reader, dir.path()).unwrap();
        let ds = &b.dataset;
        assert!(ds.tickets.len() as i64 > TICKET_CHUNK, "{}", ds.tickets.len());
        assert_eq!(conv.ticket_count(), ds.tickets.len() as u64);
        let ids: Vec<String> = conv.tickets().map(|t| t.unwrap().id).collect();
        let mut want: Vec<String> = ds.tickets.iter().map(|t| t.id.clone()).collect();
        want.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, want, "every ticket once, in id order, across chunks");
        let mut comments = 0;
        for t in &ds.tickets {
            assert_eq!(conv.ticket(&t.id).unwrap().as_ref(), Some(t));
            let got = conv.comments_of(&t.id).unwrap();
            comments += got.len();
            assert!(got.windows(2).all(|w| w[0].created_at <= w[1].created_at), "{}", t.id);
            for c in &got {
                let atts = conv.attachments_of(c).unwrap();
                let listed: Vec<&String> =
                    atts.iter().map(|a| &a.id).filter(|id| c.attachment_ids.contains(id)).collect();
                let order: Vec<&String> =
                    c.attachment_ids.iter().filter(|id| listed.contains(id)).collect();
                assert_eq!(listed, order, "attachments in the comment's order");
            }
        }
        assert_eq!(comments, ds.comments.len());
        assert!(conv.tickets_without_rows().unwrap().is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the spool is there");
        drop(conv);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "and gone after");
    }
}
