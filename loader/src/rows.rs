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

use crate::ledger::Ledger;
use crate::load_error::LoadError;
use crate::mapping::{BundleIndex, Cast};

/// Every row of one table.
pub fn all<R: Record>(reader: &BundleReader) -> Result<Vec<R>, LoadError> {
    reader
        .records::<R>()
        .map_err(|e| LoadError::Read(e.to_string()))?
        .map(|r| r.map_err(|e| LoadError::Read(e.to_string())))
        .collect()
}

/// The small tables, indexed (of the users, only the agents: the rest stay in the spool).
pub fn index(reader: &BundleReader) -> Result<BundleIndex, LoadError> {
    let env = reader.envelope();
    let mut agents = Vec::new();
    for u in reader.records::<User>().map_err(|e| LoadError::Read(e.to_string()))? {
        let u = u.map_err(|e| LoadError::Read(e.to_string()))?;
        if u.kind == deskferry_format::UserKind::Agent {
            agents.push(u);
        }
    }
    Ok(BundleIndex {
        agents,
        groups: all::<Group>(reader)?.into_iter().map(|g| (g.id.clone(), g)).collect(),
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

/// Tickets with their comments (conversation order) and each comment's attachments, and the
/// people they name (users and organizations, by id), spooled from the bundle into a temporary
/// SQLite file so that a run holds one ticket's conversation and cast at a time, whatever the
/// bundle's size.
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
    users: u64,
    organizations: u64,
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

/// Rows read from the spool at once while iterating a table.
const CHUNK: i64 = 256;

const SPOOL_SCHEMA: &str = "
CREATE TABLE tickets (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE comments (ticket_id TEXT NOT NULL, id TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE attachments (comment_id TEXT NOT NULL, id TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE users (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE organizations (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, row BLOB NOT NULL);
";

const SPOOL_INDEXES: &str = "
CREATE INDEX tickets_by_id ON tickets (id);
CREATE INDEX comments_by_ticket ON comments (ticket_id);
CREATE INDEX attachments_by_comment ON attachments (comment_id);
CREATE INDEX users_by_id ON users (id);
CREATE INDEX organizations_by_id ON organizations (id);
";

/// The spool's tables read in id order (the bundle's order, kept by `seq`).
#[derive(Debug, Clone, Copy)]
enum Table {
    Tickets,
    Users,
    Organizations,
}

impl Table {
    fn chunk_sql(self) -> &'static str {
        match self {
            Table::Tickets => "SELECT seq, row FROM tickets WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            Table::Users => "SELECT seq, row FROM users WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            Table::Organizations => {
                "SELECT seq, row FROM organizations WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            }
        }
    }
}

/// The users a ticket names: requesters, submitter, assignee, CCs and followers (the authors
/// of its comments come with the comments).
pub fn people_named(t: &Ticket) -> impl Iterator<Item = &String> {
    [&t.requester_id, &t.submitter_id, &t.assignee_id]
        .into_iter()
        .flatten()
        .chain(&t.other_requester_ids)
        .chain(&t.cc_ids)
        .chain(&t.follower_ids)
}

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
        let (mut tickets, mut users, mut organizations) = (0u64, 0u64, 0u64);
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
            let mut ins = tx.prepare("INSERT INTO users (id, row) VALUES (?1, ?2)").map_err(err)?;
            for u in reader.records::<User>().map_err(|e| LoadError::Read(e.to_string()))? {
                let u = u.map_err(|e| LoadError::Read(e.to_string()))?;
                ins.execute(params![u.id, encode(&u, &sealer)?]).map_err(err)?;
                users += 1;
            }
            let mut ins =
                tx.prepare("INSERT INTO organizations (id, row) VALUES (?1, ?2)").map_err(err)?;
            for o in reader.records::<Organization>().map_err(|e| LoadError::Read(e.to_string()))? {
                let o = o.map_err(|e| LoadError::Read(e.to_string()))?;
                ins.execute(params![o.id, encode(&o, &sealer)?]).map_err(err)?;
                organizations += 1;
            }
        }
        tx.execute_batch(SPOOL_INDEXES).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Conversations {
            conn: Mutex::new(conn),
            path,
            tickets,
            users,
            organizations,
            sealer,
            _dir: tmp,
        })
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

    /// Users in the bundle.
    pub fn user_count(&self) -> u64 {
        self.users
    }

    /// Organizations in the bundle.
    pub fn organization_count(&self) -> u64 {
        self.organizations
    }

    /// Every ticket in id order, a few hundred read at a time.
    pub fn tickets(&self) -> SpoolRows<'_, Ticket> {
        SpoolRows::new(self, Table::Tickets)
    }

    /// Every user in id order, a few hundred read at a time.
    pub fn users(&self) -> SpoolRows<'_, User> {
        SpoolRows::new(self, Table::Users)
    }

    /// Every organization in id order, a few hundred read at a time.
    pub fn organizations(&self) -> SpoolRows<'_, Organization> {
        SpoolRows::new(self, Table::Organizations)
    }

    /// One user by id.
    pub fn user(&self, id: &str) -> Result<Option<User>, LoadError> {
        Ok(self.rows("SELECT row FROM users WHERE id = ?1 ORDER BY seq", id)?.into_iter().next())
    }

    /// One organization by id.
    pub fn organization(&self, id: &str) -> Result<Option<Organization>, LoadError> {
        Ok(self
            .rows("SELECT row FROM organizations WHERE id = ?1 ORDER BY seq", id)?
            .into_iter()
            .next())
    }

    /// What a filter needs to name a ticket: its assignee's and its organization's rows.
    pub fn names_of(&self, t: &Ticket) -> Result<Cast, LoadError> {
        let mut cast = Cast::default();
        if let Some(a) = &t.assignee_id
            && let Some(u) = self.user(a)?
        {
            cast.users.insert(a.clone(), u);
        }
        self.add_organization(&mut cast, t)?;
        Ok(cast)
    }

    /// The ticket's organization's row, when the bundle holds it.
    fn add_organization(&self, cast: &mut Cast, t: &Ticket) -> Result<(), LoadError> {
        if let Some(o) = &t.organization_id
            && let Some(row) = self.organization(o)?
        {
            cast.organizations.insert(o.clone(), row);
        }
        Ok(())
    }

    /// The people a ticket (when the bundle holds its row) and these comments name, with the
    /// ticket's organization; with `ledger`, the target ids of those it holds as migrated.
    pub fn cast<'c>(
        &self,
        t: Option<&Ticket>,
        comments: impl IntoIterator<Item = &'c Comment>,
        ledger: Option<&Ledger>,
    ) -> Result<Cast, LoadError> {
        let mut cast = Cast::default();
        let authors = comments.into_iter().filter_map(|c| c.author_id.as_ref());
        for id in t.into_iter().flat_map(people_named).chain(authors) {
            if cast.users.contains_key(id) || cast.loaded.contains_key(id) {
                continue;
            }
            if let Some(u) = self.user(id)? {
                cast.users.insert(id.clone(), u);
            }
            let target = match ledger {
                Some(l) => l.migrated_target("users", id)?,
                None => None,
            };
            if let Some(target) = target {
                cast.loaded.insert(id.clone(), target);
            }
        }
        if let Some(t) = t {
            self.add_organization(&mut cast, t)?;
        }
        Ok(cast)
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

    fn chunk<R: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        after: i64,
    ) -> Result<Vec<(i64, R)>, LoadError> {
        let conn = self.lock();
        let mut st = conn.prepare_cached(table.chunk_sql()).map_err(|e| self.err(e))?;
        let mut rows = st.query(params![after, CHUNK]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let seq: i64 = r.get(0).map_err(|e| self.err(e))?;
            let bytes: Vec<u8> = r.get(1).map_err(|e| self.err(e))?;
            out.push((seq, decode(&bytes, &self.sealer, &self.path)?));
        }
        Ok(out)
    }
}

/// One of the spool's tables, in id order.
pub struct SpoolRows<'a, R> {
    conv: &'a Conversations,
    table: Table,
    after: i64,
    buf: std::collections::VecDeque<R>,
    done: bool,
}

impl<'a, R> SpoolRows<'a, R> {
    fn new(conv: &'a Conversations, table: Table) -> Self {
        SpoolRows { conv, table, after: 0, buf: std::collections::VecDeque::new(), done: false }
    }
}

impl<R: serde::de::DeserializeOwned> Iterator for SpoolRows<'_, R> {
    type Item = Result<R, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            match self.conv.chunk(self.table, self.after) {
                Ok(chunk) => {
                    self.done = (chunk.len() as i64) < CHUNK;
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
    fn the_spool_gives_each_ticket_its_conversation_and_cast_in_order_and_is_removed_after() {
        // Small: more tickets than one chunk of the iteration.
        let b = crate::testing::bundle(3, Size::Small);
        let dir = tempfile::tempdir().unwrap();
        let conv = Conversations::read(&b.reader, dir.path()).unwrap();
        let ds = &b.dataset;
        assert!(ds.tickets.len() as i64 > CHUNK, "{}", ds.tickets.len());
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

        // The people: every row once, in id order, and each by id.
        assert_eq!(conv.user_count(), ds.users.len() as u64);
        let ids: Vec<String> = conv.users().map(|u| u.unwrap().id).collect();
        let mut want: Vec<String> = ds.users.iter().map(|u| u.id.clone()).collect();
        want.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, want);
        assert_eq!(conv.organization_count(), ds.organizations.len() as u64);
        assert_eq!(conv.organizations().count(), ds.organizations.len());
        for o in &ds.organizations {
            assert_eq!(conv.organization(&o.id).unwrap().as_ref(), Some(o));
        }
        assert_eq!(conv.user("no-such-user").unwrap(), None);

        // A ticket's cast: the people it and its comments name, with the ledger's target ids.
        let t = ds
            .tickets
            .iter()
            .find(|t| t.requester_id.is_some() && !conv.comments_of(&t.id).unwrap().is_empty())
            .unwrap();
        let comments = conv.comments_of(&t.id).unwrap();
        let requester = t.requester_id.clone().unwrap();
        let ledger_dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&ledger_dir.path().join("l.ledger")).unwrap();
        ledger
            .put(
                &[crate::ledger::Entry::new(
                    "users",
                    &requester,
                    crate::ledger::Outcome::Migrated,
                    "b",
                    "h",
                )
                .target(Some("crd_1".into()))],
                None,
            )
            .unwrap();
        let cast = conv.cast(Some(t), &comments, Some(&ledger)).unwrap();
        let mut named: Vec<&String> = people_named(t)
            .chain(comments.iter().filter_map(|c| c.author_id.as_ref()))
            .filter(|id| ds.users.iter().any(|u| &u.id == *id))
            .collect();
        named.sort();
        named.dedup();
        let mut got: Vec<&String> = cast.users.keys().collect();
        got.sort();
        assert_eq!(got, named, "every person named, nobody else");
        assert_eq!(cast.loaded.get(&requester).map(String::as_str), Some("crd_1"));
        assert_eq!(cast.loaded.len(), 1, "only the migrated ones have a target id");
        assert_eq!(
            cast.organizations.keys().collect::<Vec<_>>(),
            t.organization_id
                .iter()
                .filter(|o| conv.organization(o).unwrap().is_some())
                .collect::<Vec<_>>()
        );

        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the spool is there");
        drop(conv);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "and gone after");
    }
}
