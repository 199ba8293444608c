//! The target ids a target knows for source records it must name by id (a ticket's CCs, an
//! article's author or section): what this run learned while writing, the maps the loader hands
//! over for the knowledge base, and people looked up in the ledger one at a time.
//!
//! People are the part of an account that grows with it (100,000 users in `large`), so they are
//! never held in a map: once the loader lets a target [`Known::consult`] the ledger, a person
//! written in this run is not kept either (the loader records it in the ledger before any record
//! that names it is written: people are their own stages, before tickets and articles).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::LoadError;
use crate::ledger::Ledger;

/// The entities looked up in the ledger rather than held.
pub const PEOPLE: [&str; 2] = ["users", "organizations"];

/// A target's knowledge of target ids, safe to share between tasks.
#[derive(Debug, Default)]
pub struct Known {
    learned: Mutex<HashMap<String, HashMap<String, String>>>,
    people: OnceLock<People>,
}

/// A read-only handle on the ledger for people's target ids (its own connection, so that a
/// lookup does not wait behind the loader's writes). Clones share it.
#[derive(Debug, Clone)]
pub struct People(Arc<PeopleInner>);

#[derive(Debug)]
struct PeopleInner {
    ledger: Ledger,
    /// The first lookup that failed (the loader ends the run with it: a person not found for
    /// that reason would otherwise be left out of a record as if absent).
    failed: Mutex<Option<String>>,
}

impl People {
    /// Opens the ledger at `path` (the one the loader is writing) for lookups.
    pub fn open(path: &Path) -> Result<People, LoadError> {
        let ledger = Ledger::open(path)?;
        Ok(People(Arc::new(PeopleInner { ledger, failed: Mutex::new(None) })))
    }

    /// The target id of the record of `entity` the ledger holds as migrated.
    pub fn target_of(&self, entity: &str, id: &str) -> Option<String> {
        match self.0.ledger.migrated_target(entity, id) {
            Ok(t) => t,
            Err(e) => {
                let mut failed = self.0.failed.lock().unwrap_or_else(PoisonError::into_inner);
                failed.get_or_insert_with(|| format!("looking up {entity} {id}: {e}"));
                None
            }
        }
    }

    /// The first lookup that failed, as the error that ends the run.
    pub fn failure(&self) -> Option<LoadError> {
        let failed = self.0.failed.lock().unwrap_or_else(PoisonError::into_inner);
        failed.as_ref().map(|message| LoadError::Ledger {
            path: self.0.ledger.path().to_path_buf(),
            message: message.clone(),
        })
    }
}

impl Known {
    /// The target id of `entity`'s source record `id`: learned in this run, handed over, or (for
    /// people) the ledger's.
    pub fn get(&self, entity: &str, id: &str) -> Option<String> {
        let learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = learned.get(entity).and_then(|m| m.get(id)) {
            return Some(t.clone());
        }
        drop(learned);
        match self.people.get() {
            Some(people) if PEOPLE.contains(&entity) => people.target_of(entity, id),
            _ => None,
        }
    }

    /// Records a target id written in this run (a person only until the ledger is consulted).
    pub fn learn(&self, entity: &str, id: &str, target: &str) {
        if self.people.get().is_some() && PEOPLE.contains(&entity) {
            return;
        }
        let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        learned.entry(entity.to_string()).or_default().insert(id.to_string(), target.to_string());
    }

    /// Takes the target ids the loader hands over for `entity` (source id → target id).
    pub fn remember(&self, entity: &str, targets: &HashMap<String, String>) {
        let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        let m = learned.entry(entity.to_string()).or_default();
        m.extend(targets.iter().map(|(s, t)| (s.clone(), t.clone())));
    }

    /// From now on, people are found in `people` and no longer kept.
    pub fn consult(&self, people: People) {
        let _ = self.people.set(people);
        let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        for e in PEOPLE {
            learned.remove(e);
        }
    }

    /// Every target id known for the entities `keep` takes (a knowledge base's items, to tell
    /// them from others of the same title; never people, who are not held).
    pub fn targets_of(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        learned.iter().filter(|(e, _)| keep(e)).flat_map(|(_, m)| m.values().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Entry, Outcome};

    #[test]
    fn people_come_from_the_ledger_once_consulted_and_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ledger");
        let ledger = Ledger::open(&path).unwrap();
        let known = Known::default();
        known.learn("users", "u1", "T1");
        known.learn("kb_sections", "s1", "S1");
        assert_eq!(known.get("users", "u1").as_deref(), Some("T1"), "kept before consulting");

        known.consult(People::open(&path).unwrap());
        assert_eq!(known.get("users", "u1"), None, "the ledger does not hold u1");
        ledger
            .put(
                &[
                    Entry::new("users", "u1", Outcome::Migrated, "b", "h")
                        .target(Some("T1".into())),
                    Entry::new("users", "u2", Outcome::Failed, "b", "h").target(Some("T2".into())),
                    Entry::new("organizations", "o1", Outcome::Migrated, "b", "h")
                        .target(Some("O1".into())),
                ],
                None,
            )
            .unwrap();
        assert_eq!(known.get("users", "u1").as_deref(), Some("T1"));
        assert_eq!(known.get("users", "u2"), None, "only migrated people");
        assert_eq!(known.get("organizations", "o1").as_deref(), Some("O1"));
        known.learn("users", "u3", "T3");
        assert_eq!(known.get("users", "u3"), None, "a person learned now is the ledger's to keep");
        assert_eq!(known.get("kb_sections", "s1").as_deref(), Some("S1"), "structure is kept");
        known.remember("kb_articles", &HashMap::from([("a1".to_string(), "A1".to_string())]));
        let mut all = known.targets_of(|e| e.starts_with("kb_"));
        all.sort();
        assert_eq!(all, ["A1", "S1"]);
    }
}
