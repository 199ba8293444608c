//! load_resume: `deskferry-load run` into the Front simulator is killed with SIGKILL at several
//! seeded-random moments and run again until it finishes; the company then holds exactly what
//! one uninterrupted run into a fresh simulator produces — every message once (counted by
//! external id in the simulator's store), every conversation and private note once — and one
//! more run sends no write request at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::front::{self, FrontConfig, FrontPlan, FrontSeed, FrontServer};
use deskferry_fixtures::sim::{SimOptions, sim_runtime};
use deskferry_format::{BundleWriter, Recipients, SigningKey, keygen};
use deskferry_tests::workspace_bin;
use serde_json::Value;
use sha2::{Digest, Sha256};

const SEED: u64 = 11;

struct World {
    dir: tempfile::TempDir,
    bundle: PathBuf,
    identity: PathBuf,
    signer: PathBuf,
    dataset: Dataset,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(&dir.path().join("keys")).unwrap();
    let dataset = Dataset::generate(SEED, Size::Tiny);
    let mut meta = dataset.bundle_meta(dataset.default_created_at());
    meta.purge_after = chrono::Utc::now() + chrono::Duration::days(10);
    let mut w = BundleWriter::create(&dir.path().join("work"), meta).unwrap();
    dataset.write_bundle(&mut w).unwrap();
    let bundle = dir.path().join("tiny.dfb");
    w.seal(
        &bundle,
        &Recipients::from_file(&keys.recipient).unwrap(),
        &SigningKey::from_file(&keys.sign_key).unwrap(),
    )
    .unwrap();
    World { bundle, identity: keys.identity, signer: keys.sign_pub, dataset, dir }
}

fn sim(rt: &tokio::runtime::Runtime, d: &Dataset) -> FrontServer {
    // Fast simulated time and a generous plan: the test is about crashes, not rate limits.
    let options = SimOptions { time_scale: 20.0, ..SimOptions::default() };
    let config = FrontConfig { plan: FrontPlan::Custom(20_000), ..FrontConfig::default() };
    let seed = FrontSeed::from_records(&d.users, &d.groups, &d.custom_fields);
    rt.block_on(front::start(&options, config, &seed, 0)).unwrap()
}

fn target_toml(dir: &Path, name: &str, server: &FrontServer) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    let text = format!(
        "platform = \"front\"\nurl = \"{}\"\n[credentials]\ntoken_env = \"DESKFERRY_TEST_FRONT_TOKEN\"\n[front]\ninbox = \"Support\"\nimport_wait_secs = 30\nburst_per_second = 100\n[rate_limits]\ndefault = 20000\n",
        server.running.url()
    );
    std::fs::write(&p, text).unwrap();
    p
}

fn command(w: &World, target: &Path, server: &FrontServer, ledger: &Path) -> Command {
    let mut c = Command::new(workspace_bin("deskferry-load"));
    c.arg("run")
        .arg("--target")
        .arg(target)
        .arg("--bundle")
        .arg(&w.bundle)
        .arg("--identity")
        .arg(&w.identity)
        .arg("--signer")
        .arg(&w.signer)
        .arg("--ledger")
        .arg(ledger)
        .arg("--report")
        .arg(ledger.with_extension("report"))
        .env("DESKFERRY_TEST_FRONT_TOKEN", server.state.token())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Runs to the end; returns the exit code (panics on 2: a fatal run).
fn run_to_end(w: &World, target: &Path, server: &FrontServer, ledger: &Path) -> i32 {
    let out = command(w, target, server, ledger).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "run failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

/// Kill moments: seeded fractions (10–90 %) of how long an uninterrupted run took. Nothing
/// about timing is asserted; the moments only spread the kills over the run.
fn delays(n: usize, full: Duration) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let h = Sha256::digest(format!("load_resume {SEED} {i}").as_bytes());
            let frac =
                0.1 + 0.8 * f64::from(u16::from_le_bytes([h[0], h[1]])) / f64::from(u16::MAX);
            full.mul_f64(frac)
        })
        .collect()
}

/// The company's content: per conversation (keyed by its messages' external ids) the number of
/// messages and comments, and every message external id with how often it occurs.
#[derive(Debug, PartialEq, Eq)]
struct Content {
    conversations: BTreeMap<String, (usize, usize)>,
    external_ids: BTreeMap<String, usize>,
}

async fn get_all(http: &reqwest::Client, token: &str, first: String) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next {
        let v: Value =
            http.get(&url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        out.extend(v["_results"].as_array().cloned().unwrap_or_default());
        next = v["_pagination"]["next"].as_str().map(str::to_string);
    }
    out
}

fn content(rt: &tokio::runtime::Runtime, server: &FrontServer) -> Content {
    server.state.flush_imports();
    let base = server.running.url();
    let token = server.state.token().to_string();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let mut c = Content { conversations: BTreeMap::new(), external_ids: BTreeMap::new() };
        for conv in get_all(&http, &token, format!("{base}/conversations?limit=100")).await {
            let id = conv["id"].as_str().unwrap().to_string();
            let msgs =
                get_all(&http, &token, format!("{base}/conversations/{id}/messages?limit=100"))
                    .await;
            let notes = get_all(&http, &token, format!("{base}/conversations/{id}/comments")).await;
            let mut ext: Vec<String> = msgs
                .iter()
                .map(|m| {
                    server.state.with_store(|s| {
                        s.message(m["id"].as_str().unwrap()).unwrap().external_id.clone()
                    })
                })
                .collect();
            for e in &ext {
                *c.external_ids.entry(e.clone()).or_default() += 1;
            }
            ext.sort();
            let key = ext.first().cloned().unwrap_or_else(|| format!("no messages {id}"));
            let dup = c.conversations.insert(key.clone(), (msgs.len(), notes.len()));
            assert!(dup.is_none(), "two conversations start with message {key}");
        }
        c
    })
}

#[test]
fn killed_runs_resume_without_duplicates_or_gaps() {
    let w = world();
    let rt = sim_runtime().unwrap();

    // Reference: one uninterrupted run into a fresh company.
    let clean = sim(&rt, &w.dataset);
    let clean_target = target_toml(w.dir.path(), "clean", &clean);
    let t0 = Instant::now();
    run_to_end(&w, &clean_target, &clean, &w.dir.path().join("clean.ledger"));
    let full = t0.elapsed();
    let want = content(&rt, &clean);
    assert!(
        want.conversations.len() >= 10,
        "the reference loaded {} conversations",
        want.conversations.len()
    );

    // The same load, killed at seeded-random moments, then finished.
    let server = sim(&rt, &w.dataset);
    let target = target_toml(w.dir.path(), "killed", &server);
    let ledger = w.dir.path().join("killed.ledger");
    let mut kills = 0;
    for d in delays(5, full) {
        let mut child = command(&w, &target, &server, &ledger).spawn().unwrap();
        let start = Instant::now();
        let mut finished = false;
        while start.elapsed() < d {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !finished {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 2, "only {kills} runs were killed before they finished");
    run_to_end(&w, &target, &server, &ledger);
    let got = content(&rt, &server);

    let dups: Vec<_> = got.external_ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "messages imported twice: {dups:?}");
    assert_eq!(
        got.external_ids.keys().collect::<Vec<_>>(),
        want.external_ids.keys().collect::<Vec<_>>(),
        "same messages"
    );
    assert_eq!(
        got.conversations, want.conversations,
        "same conversations, each with the same messages and notes"
    );

    // Done means done: another run sends no write request.
    let writes =
        |s: &FrontServer| s.running.log.entries().iter().filter(|e| e.method != "GET").count();
    let before = writes(&server);
    run_to_end(&w, &target, &server, &ledger);
    assert_eq!(writes(&server), before, "a run after success wrote to the target");

    rt.block_on(clean.running.stop()).unwrap();
    rt.block_on(server.running.stop()).unwrap();
}
