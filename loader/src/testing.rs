//! Test support: real bundles written from the fixtures' datasets, and a small in-memory target
//! that keeps records by external id the way Front and RT do (used to test the ledger protocol;
//! the real targets are tested against the simulator and the real RT server).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_format::{
    BundleReader, BundleWriter, Identities, KbItem, Organization, Recipients, SignerKey,
    SigningKey, VerifyOptions, keygen,
};

use crate::error::WriteError;
use crate::target::{
    Capabilities, Inventory, MappedComment, MappedTicket, MappedUser, ReadComment,
    ReadOrganization, ReadTicket, ReadUser, Readback, Target, TargetAgent, TargetGroup, Written,
};

/// A sealed, verified bundle of a generated dataset.
pub struct TestBundle {
    /// Keeps the files.
    pub _dir: tempfile::TempDir,
    /// The dataset in it.
    pub dataset: Dataset,
    /// The verified reader.
    pub reader: BundleReader,
}

/// Writes `Dataset::generate(seed, size)` into a bundle and opens it (all tiers).
pub fn bundle(seed: u64, size: Size) -> TestBundle {
    bundle_of(Dataset::generate(seed, size), "b", |_| {})
}

/// Writes a dataset (plus whatever `extra` appends) as bundle `id` and opens it (all tiers).
pub fn bundle_of(dataset: Dataset, id: &str, extra: impl FnOnce(&mut BundleWriter)) -> TestBundle {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(&dir.path().join("keys")).unwrap();
    let mut meta = dataset.bundle_meta(dataset.default_created_at());
    meta.bundle_id = id.to_string();
    meta.purge_after = chrono::Utc::now() + chrono::Duration::days(30);
    let mut w = BundleWriter::create(&dir.path().join("work"), meta).unwrap();
    dataset.write_bundle(&mut w).unwrap();
    extra(&mut w);
    let out = dir.path().join(format!("{id}.dfb"));
    w.seal(
        &out,
        &Recipients::from_file(&keys.recipient).unwrap(),
        &SigningKey::from_file(&keys.sign_key).unwrap(),
    )
    .unwrap();
    let reader = BundleReader::open(
        &out,
        &SignerKey::from_file(&keys.sign_pub).unwrap(),
        &Identities::from_file(&keys.identity).unwrap(),
        &VerifyOptions::default(),
    )
    .unwrap();
    TestBundle { _dir: dir, dataset, reader }
}

/// What the memory target holds for one ticket.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// External id.
    pub external_id: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Comments as a read would show them, in write order.
    pub comments: Vec<ReadComment>,
    /// How many times the ticket was updated.
    pub updates: u32,
}

/// An in-memory target: dedupes tickets and comments by external id like a careful real one.
#[derive(Debug, Default)]
pub struct MemoryTarget {
    /// Tickets by target id.
    pub tickets: Mutex<HashMap<String, Stored>>,
    /// Organizations and contacts by external key.
    pub people: Mutex<HashMap<String, String>>,
    /// Write calls of any kind.
    pub writes: AtomicUsize,
    /// After this many ticket writes, further ones reach the store but answer an error (lost answer).
    pub lose_answers_after: Mutex<Option<usize>>,
    /// Source ids of users whose write fails as an unreachable target does (a reset).
    pub unreachable_users: Mutex<HashSet<String>>,
    ticket_writes: AtomicUsize,
}

impl MemoryTarget {
    fn agents() -> Vec<TargetAgent> {
        vec![TargetAgent {
            id: "tea_1".into(),
            email: "admin@example.com".into(),
            name: "Admin".into(),
            active: true,
        }]
    }
}

impl Target for MemoryTarget {
    fn platform(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            message_times: true,
            note_times: true,
            limits: vec!["memory target: none".into()],
            ..Default::default()
        }
    }

    async fn inventory(&self) -> Result<Inventory, WriteError> {
        Ok(Inventory {
            agents: MemoryTarget::agents(),
            groups: vec![TargetGroup { id: "inb_1".into(), name: "Support".into() }],
            ticket_fields: vec![],
            statuses: vec!["open".into(), "archived".into()],
        })
    }

    async fn write_organization(
        &self,
        org: &Organization,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut p = self.people.lock().unwrap();
        let n = p.len();
        let id = p.entry(format!("org:{}", org.id)).or_insert_with(|| format!("acc_{n}")).clone();
        Ok(Written::Migrated(id))
    }

    async fn write_user(
        &self,
        user: &MappedUser,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        if self.unreachable_users.lock().unwrap().contains(&user.user.id) {
            let reset = deskferry_extractor::http::HttpError::Transport {
                method: "POST".into(),
                url: "http://memory/users".into(),
                message: "connection reset".into(),
            };
            return Err(WriteError::http(
                "users",
                &user.user.id,
                reset,
                deskferry_extractor::http::Op::Write,
            ));
        }
        let mut p = self.people.lock().unwrap();
        let n = p.len();
        let id =
            p.entry(format!("user:{}", user.user.id)).or_insert_with(|| format!("crd_{n}")).clone();
        Ok(Written::Migrated(id))
    }

    async fn write_ticket(
        &self,
        ticket: &MappedTicket,
        prior: Option<&str>,
        new_comments: &[MappedComment],
    ) -> Result<(Written, Vec<Result<Written, WriteError>>), WriteError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let n = self.ticket_writes.fetch_add(1, Ordering::SeqCst);
        let mut store = self.tickets.lock().unwrap();
        let id = match prior {
            Some(p) => p.to_string(),
            None => {
                // A careful target never creates a second record for one external id.
                match store.iter().find(|(_, s)| s.external_id == ticket.external_id) {
                    Some((id, _)) => id.clone(),
                    None => format!("cnv_{}", store.len()),
                }
            }
        };
        let s = store.entry(id.clone()).or_insert_with(|| Stored {
            external_id: ticket.external_id.clone(),
            ..Default::default()
        });
        if prior.is_some() {
            s.updates += 1;
        }
        s.tags = ticket.tags.clone();
        let mut out = Vec::new();
        for c in new_comments {
            if !s.comments.iter().any(|r| r.external_id.as_deref() == Some(c.external_id.as_str()))
            {
                let attachments = c
                    .attachments
                    .iter()
                    .map(|a| {
                        (
                            a.file_name.clone(),
                            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&a.bytes)),
                            a.bytes.len() as u64,
                        )
                    })
                    .collect();
                s.comments.push(ReadComment {
                    id: format!("{id}/{}", c.external_id),
                    external_id: Some(c.external_id.clone()),
                    author: if c.author.is_agent {
                        MemoryTarget::agents()
                            .into_iter()
                            .find(|a| Some(&a.id) == c.author.target_id.as_ref())
                            .map(|a| a.email)
                    } else {
                        c.author.email.clone()
                    },
                    public: c.public,
                    created_at: c.created_at,
                    attachments,
                });
            }
            out.push(Ok(Written::Migrated(format!("{id}/{}", c.external_id))));
        }
        if self.lose_answers_after.lock().unwrap().is_some_and(|k| n >= k) {
            return Err(WriteError::Other {
                entity: "tickets".into(),
                source_id: ticket.ticket.id.clone(),
                message: "connection reset".into(),
            });
        }
        Ok((Written::Migrated(id), out))
    }

    async fn write_kb_item(
        &self,
        _item: &KbItem,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        Err(WriteError::Unsupported {
            entity: "kb".into(),
            source_id: String::new(),
            reason: "no kb".into(),
        })
    }

    async fn apply_tombstone(&self, _entity: &str, target_id: &str) -> Result<Written, WriteError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(Written::Migrated(target_id.to_string()))
    }

    async fn find_ticket(&self, ticket: &MappedTicket) -> Result<Option<String>, WriteError> {
        let store = self.tickets.lock().unwrap();
        Ok(store
            .iter()
            .find(|(_, s)| s.external_id == ticket.external_id)
            .map(|(id, _)| id.clone()))
    }

    async fn read_user(&self, _target_id: &str) -> Result<Readback<ReadUser>, WriteError> {
        Ok(Readback::NotHeld)
    }

    async fn read_organization(
        &self,
        _target_id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        Ok(Readback::NotHeld)
    }

    async fn read_ticket(&self, target_id: &str) -> Result<ReadTicket, WriteError> {
        let store = self.tickets.lock().unwrap();
        let s = store.get(target_id).cloned().unwrap_or_default();
        Ok(ReadTicket {
            id: target_id.to_string(),
            subject: None,
            tags: s.tags.clone(),
            status: None,
            comments: s.comments.clone(),
            ..Default::default()
        })
    }
}
