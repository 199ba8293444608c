//! A token revoked in the middle of a load stops the load (exit 2, a message that names the
//! refusal and the remedy) instead of failing every remaining record one by one: the core
//! classification (`deskferry_extractor::http::classify`) makes a 401 fatal for every target.
//!
//! Both tests drive `deskferry-load run` as a child process, wait until it has written a few
//! tickets, revoke the token the way an administrator would (Front: the token deleted in the
//! simulated company; Request Tracker: the token deleted through RT's Perl API), then check the
//! exit code, the message and the ledger's counts: a handful of tickets in flight may fail, the
//! rest are left untouched for the re-run with a new token.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use deskferry_fixtures::dataset::Size;
use serde_json::Value;

use crate::extract_rt::rt_world::start_rt;
use crate::load_front::{TOKEN_ENV, World, front_for, load_command, target_toml, world};

/// Tickets in flight when the token goes: the loader's default concurrency (4), plus one.
const IN_FLIGHT: u64 = 5;

/// Waits for `child` (at most two minutes); its exit code and the JSON it printed.
fn finish(mut child: Child) -> (i32, Value, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("deskferry-load did not stop after the token was revoked");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The report's JSON comes first; the binary's error line follows it.
    let json = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no JSON on stdout:\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// The run stopped on the refusal: exit 2, the error and the remedy on stderr, few failures.
fn assert_stopped(w: &World, code: i32, json: &Value, stderr: &str) {
    assert_eq!(code, 2, "a revoked token is fatal:\n{json}\n{stderr}");
    let error = json["error"].as_str().unwrap_or_default();
    assert!(error.contains("401"), "the error names the refusal: {error}");
    assert!(error.contains("check the token"), "the error says what to do: {error}");
    assert!(stderr.contains("check the token"), "stderr says what to do:\n{stderr}");
    let tickets = json["summary"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["entity"] == "tickets"))
        .unwrap_or_else(|| panic!("no ticket counts: {json}"));
    let (migrated, failed) = (tickets["migrated"].as_u64(), tickets["failed"].as_u64());
    let (migrated, failed) = (migrated.unwrap_or(0), failed.unwrap_or(0));
    let total = w.dataset.tickets.len() as u64;
    assert!(migrated >= 2, "the run wrote tickets before the token went: {tickets}");
    assert!(failed <= IN_FLIGHT, "only the tickets in flight fail: {tickets}");
    assert!(migrated + failed < total, "the rest is left for a re-run: {tickets}");
}

fn spawn(w: &World, target: &Path, token: &str) -> Child {
    load_command(w, "run", target, token, &w.dir.path().join("report"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start deskferry-load")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_run_stops_a_front_load() {
    let w = world(5, Size::Small);
    let server = front_for(&w.dataset).await;
    let inbox =
        w.dataset.groups.iter().find(|g| !g.is_deleted).map(|g| g.name.clone()).expect("a group");
    let target = target_toml(w.dir.path(), &server.running.url(), &inbox);
    let token = server.state.token().to_string();
    let child = spawn(&w, &target, &token);
    let imports = || {
        server
            .running
            .log
            .entries()
            .iter()
            .filter(|e| e.path.ends_with("/imported_messages"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while imports() < 20 {
        assert!(Instant::now() < deadline, "no imports after two minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.state.revoke_token();
    let (code, json, stderr) = tokio::task::spawn_blocking(move || finish(child)).await.unwrap();
    assert_stopped(&w, code, &json, &stderr);
    assert!(!stderr.contains(&token), "the token leaked");
}

#[test]
fn a_token_revoked_mid_run_stops_an_rt_load() {
    let w = world(1, Size::Tiny);
    let rt = start_rt();
    let token = rt.auth_token("root").expect("token");
    let target = w.dir.path().join("target.toml");
    let text = format!(
        "platform = \"rt\"\nurl = \"{}\"\n[credentials]\ntoken_env = \"{TOKEN_ENV}\"\n",
        rt.url
    );
    std::fs::write(&target, text).expect("target.toml");
    let mut child = spawn(&w, &target, &token);
    let root = rt.client().expect("RT client");
    // RT numbers tickets from 1, and the loader writes 4 at a time: the 7th exists once at
    // least three tickets were written completely.
    let deadline = Instant::now() + Duration::from_secs(300);
    while root.get("/ticket/7").is_err() {
        if child.try_wait().expect("wait").is_some() {
            let (code, json, stderr) = finish(child);
            panic!("deskferry-load ended ({code}) before the 7th ticket:\n{json}\n{stderr}");
        }
        assert!(Instant::now() < deadline, "no 7th ticket in RT after five minutes");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(rt.revoke_auth_tokens("root").expect("revoke") >= 1);
    let (code, json, stderr) = finish(child);
    assert_stopped(&w, code, &json, &stderr);
    assert!(!stderr.contains(&token), "the token leaked");
}
