//! The pipeline with a small deterministic source: a run stopped part-way (the source fails)
//! resumes from its checkpoint and seals the same content id as an uninterrupted run;
//! attachments are fetched over real HTTP on 127.0.0.1 (a 404 becomes state=missing with a
//! warning) and reused after a resume; `--since` makes a delta that names its parent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use deskferry_format::{
    Attachment, AttachmentState, BundleReader, Identities, Mode, Recipients, SignerKey, SigningKey,
    Table, User, UserKind, VerifyOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::http::{Auth, HttpConfig};
use crate::source::Item;

const USERS: usize = 240;
const PAGE: usize = 20;
const ATTACHMENTS: usize = 6;

fn blob(i: usize) -> Vec<u8> {
    (0..(3000 + i * 517)).map(|j| (j * 7 + i * 13) as u8).collect()
}

/// A file server on 127.0.0.1: `/a/<i>` answers blob(i), anything else 404; counts requests.
async fn serve_files() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let body = path
                    .strip_prefix("/a/")
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|i| *i < 100)
                    .map(blob);
                let resp = match &body {
                    Some(b) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        b.len()
                    ),
                    None => {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_string()
                    }
                };
                let _ = s.write_all(resp.as_bytes()).await;
                if let Some(b) = body {
                    let _ = s.write_all(&b).await;
                }
                let _ = s.shutdown().await;
            });
        }
    });
    (url, hits)
}

/// Users in pages with a cursor after each page, attachments (the last one 404s), and a
/// failure after `fail_after` items when set.
struct ToySource {
    http: Http,
    base: String,
    fail_after: Option<usize>,
    /// Users from this id on have another name (the "changed" records of the delta test).
    changed_from: usize,
    /// Stop after the attachment rows were sent but before their cursor.
    fail_before_attachment_cursor: bool,
}

fn user(i: usize, changed: bool) -> User {
    let mut u = User {
        id: i.to_string(),
        kind: UserKind::EndUser,
        role_raw: None,
        name: Some(format!("User {i}")),
        email: None,
        other_emails: Vec::new(),
        phone: None,
        organization_id: None,
        group_ids: Vec::new(),
        active: true,
        suspended: false,
        is_deleted: false,
        locale: None,
        time_zone: None,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: "{}".into(),
    };
    if changed {
        u.name = Some(format!("User {i} (renamed)"));
    }
    u
}

impl Source for ToySource {
    fn platform(&self) -> &'static str {
        "toy"
    }
    fn account(&self) -> String {
        "toy.example".into()
    }
    async fn check(&self) -> Result<(), ExtractError> {
        Ok(())
    }
    async fn extract(&self, sink: &Sink, resume: &Resume) -> Result<(), ExtractError> {
        let mut sent = 0usize;
        let fail = |sent: usize| {
            if self.fail_after.is_some_and(|f| sent >= f) {
                return Err(ExtractError::Stopped("toy failure".into()));
            }
            Ok(())
        };
        // Attachments first, concurrently, then their cursor.
        if !resume.is_done("attachments") && !resume.is_delta() {
            let futs = (0..ATTACHMENTS).map(|i| {
                let att = Attachment {
                    id: format!("att-{i}"),
                    ticket_id: None,
                    comment_id: None,
                    article_id: None,
                    file_name: format!("f{i}.bin"),
                    content_type: None,
                    size: None,
                    sha256: None,
                    inline: false,
                    state: AttachmentState::Failed,
                    error: None,
                    raw: "{}".into(),
                };
                let n = if i == ATTACHMENTS - 1 { 404 } else { i };
                let url = format!("{}/a/{n}", self.base);
                async move { sink.attachment(&self.http, "default", att, &url).await }
            });
            for r in futures_util::future::join_all(futs).await {
                r?;
            }
            if self.fail_before_attachment_cursor {
                return Err(ExtractError::Stopped("toy failure".into()));
            }
            sink.send(Item::Cursor {
                stream: "attachments".into(),
                cursor: String::new(),
                done: true,
            })
            .await?;
        }
        let start: usize = match resume.cursor("users").or(resume.since("users")) {
            Some(c) => c.parse().unwrap(),
            None => 0,
        };
        let end = if resume.is_delta() { USERS + 10 } else { USERS };
        let mut i = start;
        while i < end {
            for j in i..(i + PAGE).min(end) {
                fail(sent)?;
                sink.send(Item::User(user(j, j >= self.changed_from))).await?;
                sent += 1;
            }
            i = (i + PAGE).min(end);
            sink.send(Item::Cursor {
                stream: "users".into(),
                cursor: i.to_string(),
                done: i >= end,
            })
            .await?;
        }
        Ok(())
    }
}

struct World {
    dir: tempfile::TempDir,
    keys: deskferry_format::KeygenPaths,
    base: String,
    hits: Arc<AtomicUsize>,
    now: chrono::DateTime<Utc>,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let keys = deskferry_format::keygen(&dir.path().join("keys")).unwrap();
        let (base, hits) = serve_files().await;
        let now = Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap();
        World { dir, keys, base, hits, now }
    }

    fn source(&self, fail_after: Option<usize>) -> ToySource {
        let cfg = HttpConfig::new(self.base.parse().unwrap(), Auth::None).max_retries(1);
        ToySource {
            http: Http::new(cfg).unwrap(),
            base: self.base.clone(),
            fail_after,
            changed_from: usize::MAX,
            fail_before_attachment_cursor: false,
        }
    }

    /// Options writing `<sub>/<name>.dfb` (same name in two folders: comparable content ids).
    fn opts(&self, sub: &str, name: &str) -> ExtractOptions {
        let folder = self.dir.path().join(sub);
        std::fs::create_dir_all(&folder).unwrap();
        let mut o = ExtractOptions::new(
            folder.join(format!("{name}.dfb")),
            Recipients::from_file(&self.keys.recipient).unwrap(),
            SigningKey::from_file(&self.keys.sign_key).unwrap(),
        );
        o.progress = ProgressMode::Off;
        o.checkpoint_every = Duration::ZERO;
        o.created_at = Some(self.now);
        o.memory_budget = 16 * 1024;
        o
    }

    fn read(&self, bundle: &Path) -> BundleReader {
        BundleReader::open(
            bundle,
            &SignerKey::from_file(&self.keys.sign_pub).unwrap(),
            &Identities::from_file(&self.keys.identity).unwrap(),
            &VerifyOptions::default(),
        )
        .unwrap()
    }
}

fn work_of(o: &ExtractOptions) -> PathBuf {
    default_work_dir(&o.out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_resumes_and_seals_the_same_content_id() {
    let w = World::new().await;
    let whole = run(&w.source(None), w.opts("a", "whole")).await.unwrap();
    assert!(!whole.resumed);
    assert_eq!(whole.rows.get("users"), Some(&(USERS as u64)));
    assert_eq!(whole.blobs, (ATTACHMENTS - 1) as u64);
    assert_eq!(whole.failed_attachments, 1);
    assert_eq!(whole.warnings, 1, "the 404 is a warning");
    let r = w.read(&whole.bundle);
    let atts: Vec<Attachment> = r.records::<Attachment>().unwrap().map(Result::unwrap).collect();
    let missing: Vec<&Attachment> =
        atts.iter().filter(|a| a.state == AttachmentState::Missing).collect();
    assert_eq!(missing.len(), 1);
    assert!(missing[0].error.as_deref().unwrap().contains("404"), "{:?}", missing[0].error);
    for a in atts.iter().filter(|a| a.state == AttachmentState::Stored) {
        let i: usize = a.id.trim_start_matches("att-").parse().unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut r.open_blob(a.sha256.as_deref().unwrap()).unwrap(),
            &mut bytes,
        )
        .unwrap();
        assert_eq!(bytes, blob(i));
    }
    assert_eq!(r.envelope().cursors.get("users").map(String::as_str), Some("240"));
    assert!(!r.envelope().cursors.contains_key("attachments"), "empty cursors stay out");
    assert!(!work_of(&w.opts("a", "whole")).exists(), "work directory removed");

    // Fails after 130 users: attachments and 6 pages are checkpointed.
    let hits_before = w.hits.load(Ordering::SeqCst);
    let err = run(&w.source(Some(130)), w.opts("b", "whole")).await.unwrap_err();
    assert!(matches!(err, ExtractError::Stopped(_)), "{err}");
    assert!(work_of(&w.opts("b", "whole")).join("checkpoint.json").exists());
    let fetched = w.hits.load(Ordering::SeqCst) - hits_before;
    let again = run(&w.source(None), w.opts("b", "whole")).await.unwrap();
    assert!(again.resumed);
    assert_eq!(again.content_id, whole.content_id);
    assert_eq!(w.hits.load(Ordering::SeqCst) - hits_before, fetched, "no attachment fetched twice");

    // The same command once more: the bundle exists, refused.
    assert!(run(&w.source(None), w.opts("b", "whole")).await.is_err());

    // A delta from the first bundle: only users from its cursor on, parent named.
    let mut o = w.opts("a", "delta");
    o.since = Some(deskferry_format::envelope_path(&whole.bundle));
    let mut src = w.source(None);
    src.changed_from = USERS;
    let delta = run(&src, o).await.unwrap();
    let r = w.read(&delta.bundle);
    assert_eq!(r.envelope().mode, Mode::Delta);
    assert_eq!(r.envelope().parent_bundle_id.as_deref(), Some("whole"));
    assert_eq!(r.row_count(Table::Users), 10);
    assert_eq!(r.envelope().cursors.get("users").map(String::as_str), Some("250"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_is_fetched_again_on_resume() {
    let w = World::new().await;
    let whole = run(&w.source(None), w.opts("a", "x")).await.unwrap();
    let o = w.opts("b", "x");
    let work = work_of(&o);
    let mut src = w.source(None);
    src.fail_before_attachment_cursor = true;
    run(&src, w.opts("b", "x")).await.unwrap_err();
    // Damage one downloaded blob while the run is stopped.
    let log = std::fs::read_to_string(work.join(downloads::DOWNLOADS_FILE)).unwrap();
    let first: downloads::Download = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let p = work.join("blobs/sha256").join(&first.sha256[..2]).join(&first.sha256);
    std::fs::write(&p, b"damaged").unwrap();
    let hits = w.hits.load(Ordering::SeqCst);
    let again = run(&w.source(None), o).await.unwrap();
    // The damaged blob and the one that 404s (never stored, so asked again).
    assert_eq!(w.hits.load(Ordering::SeqCst) - hits, 2, "intact blobs are reused");
    assert_eq!(again.content_id, whole.content_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_a_kill_during_seal_finishes_or_cleans_up() {
    let w = World::new().await;
    // Killed after NAME.dfb was renamed into place but before the signature: written again.
    let o = w.opts("a", "s");
    let (out, work) = (o.out.clone(), work_of(&o));
    run(&w.source(Some(50)), o).await.unwrap_err();
    std::fs::write(&out, b"half a bundle").unwrap();
    let first = run(&w.source(None), w.opts("a", "s")).await.unwrap();
    assert!(first.resumed);
    assert!(!work.exists());

    // Killed after the signature, before the work directory was removed: only cleaned up.
    std::fs::create_dir_all(work.join("runs")).unwrap();
    std::fs::write(work.join("checkpoint.json"), b"{}").unwrap();
    let again = run(&w.source(None), w.opts("a", "s")).await.unwrap();
    assert_eq!(again.content_id, first.content_id);
    assert!(!work.exists());

    // A finished bundle beside a directory that is not a work directory: refused, nothing removed.
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("notes.txt"), b"mine").unwrap();
    assert!(run(&w.source(None), w.opts("a", "s")).await.is_err());
    assert!(work.join("notes.txt").exists());
}
