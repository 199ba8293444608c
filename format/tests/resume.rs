//! Checkpoint and resume of the bundle writer: a writer dropped without sealing (as a killed
//! process leaves it) is opened again, continues from its last checkpoint, and seals the same
//! content id as a writer that was never interrupted.

mod support;

use std::fs;
use std::path::Path;

use deskferry_format::writer::BlobStore;
use deskferry_format::*;
use serde_json::json;
use support::*;

fn blob_bytes(i: u32) -> Vec<u8> {
    (0..(i * 700 + 13)).map(|j| (j * 17 + i) as u8).collect()
}

fn warning(id: &str) -> Warning {
    Warning::failure("attachments", Some(id.into()), "HTTP 500".into())
}

/// Users `range`, and for each `i` in `blobs` a blob and a stored attachment row.
fn feed(w: &mut BundleWriter, users: std::ops::Range<u32>, blobs: &[u32]) {
    for i in users {
        w.append(&user(i)).unwrap();
        w.append(&ticket(i)).unwrap();
    }
    let store: BlobStore = w.blobs();
    for &i in blobs {
        let r = store.put(&mut blob_bytes(i).as_slice()).unwrap();
        w.append(&attachment(i, Some(r.sha256), AttachmentState::Stored)).unwrap();
    }
}

fn run_files(work: &Path) -> usize {
    let mut n = 0;
    for t in fs::read_dir(work.join("runs")).unwrap() {
        n += fs::read_dir(t.unwrap().path()).unwrap().count();
    }
    n
}

#[test]
fn a_dropped_writer_resumes_from_its_checkpoint_and_seals_the_same_content_id() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();

    // Uninterrupted: everything once, warnings in one order.
    let (mut w, state) = BundleWriter::open(&dir.path().join("work-a"), meta("res-1")).unwrap();
    assert!(state.is_none());
    feed(&mut w, 0..60, &[1, 2, 3]);
    w.warn(warning("7"));
    w.warn(warning("3"));
    let a = w.seal(&dir.path().join("a.dfb"), &k.recipients, &k.signing).unwrap();

    // Interrupted: a small memory budget so rows spill before and after the checkpoint.
    let work = dir.path().join("work-b");
    let (w, _) = BundleWriter::open(&work, meta("res-1")).unwrap();
    let mut w = w.with_memory_budget(4000);
    feed(&mut w, 0..35, &[1]);
    w.warn(warning("3"));
    w.checkpoint(&json!({"users": 35})).unwrap();
    let runs_at_checkpoint = run_files(&work);
    feed(&mut w, 35..50, &[2]);
    w.warn(warning("9"));
    assert!(run_files(&work) > runs_at_checkpoint, "rows spilled after the checkpoint");
    let blob2 = w.blobs().put(&mut blob_bytes(2).as_slice()).unwrap();
    drop(w); // killed: no seal, no checkpoint

    // Opened again with a later clock: the checkpoint's created_at wins.
    let mut later = meta("res-1");
    later.created_at += chrono::Duration::hours(3);
    later.purge_after += chrono::Duration::hours(3);
    let (mut w, state) = BundleWriter::open(&work, later).unwrap();
    assert_eq!(state, Some(json!({"users": 35})));
    assert_eq!(w.meta().created_at, meta("res-1").created_at);
    assert_eq!(w.appended(Table::Users), 35, "rows after the checkpoint are gone");
    assert_eq!(run_files(&work), runs_at_checkpoint, "their runs are deleted");
    // The blob downloaded after the checkpoint is kept and re-hashes correctly.
    assert_eq!(w.blobs().verify(&blob2.sha256).unwrap(), Some(blob2.clone()));

    // The source restarts from its cursor: some rows come twice, warnings in another order.
    feed(&mut w, 30..60, &[2, 3]);
    w.warn(warning("7"));
    w.warn(warning("3"));
    w.checkpoint(&json!({"users": 60})).unwrap();
    let b = w.seal(&dir.path().join("b.dfb"), &k.recipients, &k.signing).unwrap();
    assert!(!work.exists(), "work directory removed after seal");

    assert_eq!(b.content_id, a.content_id);
    assert_eq!(b.blobs, 3);
    assert_eq!(b.warnings, 2, "warnings de-duplicated");
    let r =
        BundleReader::open(&b.bundle, &k.signer, &k.identities, &VerifyOptions::default()).unwrap();
    assert_eq!(r.row_count(Table::Users), 60);
    assert_eq!(r.row_count(Table::Attachments), 3);
    let ids: Vec<String> = r.bundle_json().warnings.iter().map(|w| w.id.clone().unwrap()).collect();
    assert_eq!(ids, ["3", "7"], "sorted");
}

#[test]
fn open_starts_over_for_another_bundle_id_and_keeps_blobs_for_the_same_one() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let (mut w, _) = BundleWriter::open(&work, meta("one")).unwrap();
    feed(&mut w, 0..5, &[4]);
    let sha = w.blobs().put(&mut blob_bytes(4).as_slice()).unwrap().sha256;
    drop(w); // killed before any checkpoint of its own

    // Same bundle: nothing checkpointed but the blob is still there.
    let (w, state) = BundleWriter::open(&work, meta("one")).unwrap();
    assert_eq!(state, Some(serde_json::Value::Null), "resumed, with no state of the caller's");
    assert_eq!(w.appended(Table::Users), 0);
    assert!(w.has_blob(&sha));
    drop(w);

    // Another bundle id: a fresh directory.
    let (w, state) = BundleWriter::open(&work, meta("two")).unwrap();
    assert!(state.is_none());
    assert!(!w.has_blob(&sha));

    // Never clears a directory that is not a work directory.
    let foreign = dir.path().join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("keep.txt"), b"x").unwrap();
    assert!(BundleWriter::open(&foreign, meta("one")).is_err());
    assert!(foreign.join("keep.txt").exists());
}

#[test]
fn verify_removes_a_corrupt_blob_and_adopt_takes_a_downloaded_file() {
    let dir = tempfile::tempdir().unwrap();
    let (w, _) = BundleWriter::open(&dir.path().join("work"), meta("blobs")).unwrap();
    let store = w.blobs();

    // A download: written at tmp_path by the caller, who hashed it, then adopted.
    let bytes = blob_bytes(5);
    let tmp = store.tmp_path();
    assert_ne!(tmp, store.tmp_path(), "temp names are unique");
    fs::write(&tmp, &bytes).unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let r = store.adopt(&tmp, &sha, bytes.len() as u64).unwrap();
    assert!(!tmp.exists());
    assert_eq!(store.verify(&sha).unwrap(), Some(r.clone()));
    // The same content again is dropped, not stored twice.
    let tmp2 = store.tmp_path();
    fs::write(&tmp2, &bytes).unwrap();
    assert_eq!(store.adopt(&tmp2, &sha, bytes.len() as u64).unwrap(), r);
    assert!(!tmp2.exists());
    // A wrong size is refused.
    let tmp3 = store.tmp_path();
    fs::write(&tmp3, &bytes).unwrap();
    assert!(store.adopt(&tmp3, &sha, 1).is_err());

    // Corrupt the stored blob: verify says so and removes it.
    fs::write(store.path(&sha), b"not the bytes").unwrap();
    assert_eq!(store.verify(&sha).unwrap(), None);
    assert!(!store.contains(&sha));
    assert_eq!(store.verify(&"0".repeat(64)).unwrap(), None);
}

#[test]
fn a_blob_damaged_on_disk_is_dropped_on_resume_and_seal_names_the_remedy() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let (mut w, _) = BundleWriter::open(&work, meta("dmg")).unwrap();
    feed(&mut w, 0..5, &[1, 2]);
    w.checkpoint(&json!({"at": 1})).unwrap();
    let store = w.blobs();
    let names = store.list().unwrap();
    assert_eq!(names.len(), 2);
    drop(w);
    let damaged = store.path(&names[0]);
    let mut bytes = fs::read(&damaged).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&damaged, bytes).unwrap();
    let (w, _) = BundleWriter::open(&work, meta("dmg")).unwrap();
    assert_eq!(w.blobs().list().unwrap(), names[1..].to_vec(), "the damaged blob is gone");
    let err = w
        .seal(&dir.path().join("dmg.dfb"), &k.recipients, &k.signing)
        .expect_err("a checkpointed row whose blob was damaged stops seal");
    let text = err.to_string();
    assert!(text.contains(&names[0]), "{text}");
    assert!(text.contains("remove the work"), "{text}");
    assert!(!dir.path().join("dmg.dfb").exists());
}
