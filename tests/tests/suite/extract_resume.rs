//! Kill and rerun: `deskferry-extract` against the simulated Zendesk (tiny dataset) is killed
//! with SIGKILL at several seeded-random moments (after a number of requests seen in the
//! simulator's log, or after a share of an uninterrupted run's duration) and the same command is
//! run again until it finishes; the bundle has the same content id as an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::{self, Plan, ZendeskConfig, ZendeskSim};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::{
    BundleReader, Identities, KeygenPaths, SignerKey, Table, VerifyOptions, keygen,
};

use crate::support::{Rng, fixed_epoch};

async fn start_sim() -> ZendeskSim {
    let store = Store::from_dataset(Dataset::generate(1, Size::Tiny));
    // Rate-limit windows scaled 60×: Zendesk's 10 incremental requests a minute become 10 a second.
    let options = SimOptions { time_scale: 60.0, seed: 1, ..SimOptions::default() };
    let config = ZendeskConfig { options, plan: Plan::Enterprise, ..ZendeskConfig::default() };
    zendesk::start(Desk::new(store), config).await.expect("start the simulated Zendesk")
}

/// source.toml for the simulator, 0600, with the client's buckets matching the scaled limits.
fn write_source(dir: &Path, sim: &ZendeskSim) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let text = format!(
        "platform = \"zendesk\"\nurl = \"{}\"\ncdn_url = \"{}\"\n\n[credentials]\nemail = \"{}\"\ntoken = \"{}\"\n\n[rate_limits]\ndefault = 42000\nincremental = 600\nhelp_center = 42000\nattachments = 60000\n",
        sim.url(),
        sim.cdn_url(),
        sim.email,
        sim.token
    );
    let path = dir.join("source.toml");
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    path
}

struct Job {
    source: PathBuf,
    keys: KeygenPaths,
    out: PathBuf,
    epoch: String,
}

impl Job {
    fn command(&self) -> Command {
        let mut c = Command::new(deskferry_tests::workspace_bin("deskferry-extract"));
        c.arg("--source")
            .arg(&self.source)
            .arg("--recipient")
            .arg(&self.keys.recipient)
            .arg("--sign-key")
            .arg(&self.keys.sign_key)
            .arg("--out")
            .arg(&self.out)
            .args(["--json", "--progress", "plain", "--checkpoint-secs", "0"])
            .env("SOURCE_DATE_EPOCH", &self.epoch)
            .env_remove("ZENDESK_API_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn spawn(&self) -> Child {
        self.command().spawn().expect("start deskferry-extract")
    }
}

/// Waits for the child without blocking the runtime the simulator runs on.
async fn wait(mut child: Child) -> Output {
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn finished_ok(o: &Output) -> serde_json::Value {
    let code = o.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "deskferry-extract failed ({:?}):\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let line = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("--json summary: {e}: {line}"))
}

/// When to kill one attempt.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// After this many more requests reached the simulator (API host and CDN).
    Requests(usize),
    /// After this long.
    After(Duration),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_extraction_finishes_with_the_same_content_id() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(&dir.path().join("keys")).unwrap();
    let source = write_source(dir.path(), &sim);
    let epoch = fixed_epoch();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();

    // Uninterrupted reference run.
    let reference = Job {
        source: source.clone(),
        keys: keys.clone(),
        out: dir.path().join("a/tiny.dfb"),
        epoch: epoch.clone(),
    };
    let seen = || sim.api.log.len() + sim.cdn.log.len();
    let before = seen();
    let t0 = Instant::now();
    let out = wait(reference.spawn()).await;
    let took = t0.elapsed();
    let want = finished_ok(&out);
    let requests = seen() - before;
    assert!(requests > 10, "the reference run made {requests} requests");
    assert_eq!(want["resumed"], false);

    // The same command, killed again and again.
    let job = Job { out: dir.path().join("b/tiny.dfb"), ..reference };
    let mut rng = Rng(0x5EED_0004_u64 ^ 0x9E37_79B9_7F4A_7C15);
    let r = requests as u64;
    let mut plan = vec![KillAt::Requests(rng.range(r / 4, r / 2) as usize)];
    // Later attempts resume and have less left to do: earlier kills.
    for _ in 0..4 {
        plan.push(if rng.next().is_multiple_of(2) {
            KillAt::Requests(rng.range(1, (r / 8).max(2)) as usize)
        } else {
            let ms = took.as_millis() as u64;
            KillAt::After(Duration::from_millis(rng.range(ms / 20, ms / 4)))
        });
    }
    let mut kills = Vec::new();
    let mut attempts = 0;
    let got = loop {
        attempts += 1;
        assert!(attempts < 30, "still not finished after {attempts} attempts");
        let mut child = job.spawn();
        if let Some(at) = plan.get(attempts - 1).copied() {
            let start = Instant::now();
            let base = seen();
            let mut exited = false;
            loop {
                if child.try_wait().unwrap().is_some() {
                    exited = true;
                    break;
                }
                let due = match at {
                    KillAt::Requests(n) => seen() - base >= n,
                    KillAt::After(d) => start.elapsed() >= d,
                };
                if due {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if !exited {
                child.kill().unwrap(); // SIGKILL
                let o = wait(child).await;
                if o.status.code().is_some() {
                    // It exited on its own just before the signal.
                    break finished_ok(&o);
                }
                kills.push(at);
                continue;
            }
        }
        let o = wait(child).await;
        break finished_ok(&o);
    };
    eprintln!(
        "extract_resume: {requests} requests uninterrupted; killed {} times: {kills:?}; last attempt: {got}",
        kills.len()
    );
    assert!(!kills.is_empty(), "the first attempt is always killed mid-way");
    assert_eq!(got["resumed"], true, "the last attempt continued a checkpoint");
    assert_eq!(got["content_id"], want["content_id"], "same content id as the uninterrupted run");
    assert!(!dir.path().join("b/tiny.dfb.work").exists(), "work directory removed");
    assert!(!dir.path().join("a/tiny.dfb.work").exists());

    // Both bundles verify and hold the same rows.
    let signer = SignerKey::from_file(&keys.sign_pub).unwrap();
    let ids = Identities::from_file(&keys.identity).unwrap();
    let a = BundleReader::open(
        &dir.path().join("a/tiny.dfb"),
        &signer,
        &ids,
        &VerifyOptions::default(),
    )
    .unwrap();
    let b = BundleReader::open(
        &dir.path().join("b/tiny.dfb"),
        &signer,
        &ids,
        &VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(a.content_id(), b.content_id());
    assert!(a.row_count(Table::Tickets) > 0 && a.row_count(Table::Comments) > 0);
    for t in Table::ALL {
        assert_eq!(a.row_count(t), b.row_count(t), "{}", t.name());
    }
    sim.stop().await.unwrap();
}
