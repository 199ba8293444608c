//! The extractor's HTTP client against the simulated Zendesk over real HTTP on 127.0.0.1:
//! injected 429s, 500s and connection resets are absorbed (the simulator's request log shows
//! the retries), and attachments reached through the API host's `/attachments/token/…`
//! redirect arrive from the CDN host without credentials, byte-exact.

use std::collections::BTreeMap;

use deskferry_extractor::http::{Auth, Http, HttpConfig};
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::{self, ZendeskConfig, ZendeskSim};
use deskferry_fixtures::sim::{Desk, Fault, FaultSpec, SimOptions, Store};
use reqwest::Url;
use serde_json::Value;

const FAULTS: &str = "429=0.2,500=0.1,reset=0.05";

async fn start(seed: u64, faults: &str) -> (ZendeskSim, Dataset) {
    let faults: FaultSpec = faults.parse().expect("fault spec");
    // Time scale 10: the account budget (700 per scaled minute) is never what limits this test.
    let options = SimOptions { faults, time_scale: 10.0, seed };
    let config = ZendeskConfig { options, ..ZendeskConfig::default() };
    let sim =
        zendesk::start(Desk::new(Store::from_dataset(Dataset::generate(1, Size::Tiny))), config)
            .await
            .expect("start the simulated Zendesk");
    (sim, Dataset::generate(1, Size::Tiny))
}

fn client(sim: &ZendeskSim) -> Http {
    let auth =
        Auth::Basic { user: format!("{}/token", sim.email), password: sim.token.clone().into() };
    let cfg = HttpConfig::new(Url::parse(&sim.url()).unwrap(), auth)
        .bucket("default", 6000, 20)
        .max_in_flight(16);
    Http::new(cfg).expect("client")
}

/// 200 GETs under heavy faults all succeed with the same answers as undisturbed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_gets_survive_injected_faults() {
    let (sim, _ds) = start(11, FAULTS).await;
    let http = client(&sim);
    let paths = [
        "/api/v2/users.json",
        "/api/v2/groups.json",
        "/api/v2/organizations.json",
        "/api/v2/ticket_fields.json",
        "/api/v2/users/me.json",
        "/api/v2/tags.json",
        "/api/v2/custom_statuses.json",
        "/api/v2/help_center/locales.json",
    ];
    // All at once: the client's in-flight limit and bucket do the pacing.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200usize {
        let http = http.clone();
        tasks.spawn(
            async move { (i, http.get_json::<Value>("default", paths[i % paths.len()]).await) },
        );
    }
    let mut answers: BTreeMap<usize, Value> = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (i, r) = done.expect("task");
        let v = r.unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        let k = i % paths.len();
        match answers.get(&k) {
            Some(first) => assert_eq!(first, &v, "{} answered differently", paths[k]),
            None => {
                answers.insert(k, v);
            }
        }
    }
    assert!(answers[&4]["user"]["id"].is_number(), "{}", answers[&4]);

    let log = sim.api.log.entries();
    let stats = http.stats();
    let n429 = log.iter().filter(|e| e.fault == Some(Fault::TooManyRequests)).count();
    let n500 = log.iter().filter(|e| e.fault == Some(Fault::ServerError)).count();
    let resets = log.iter().filter(|e| e.fault == Some(Fault::Reset)).count();
    let ok = log.iter().filter(|e| e.status == 200 && e.fault.is_none()).count();
    assert!(
        n429 > 0 && n500 > 0 && resets > 0,
        "faults seen: 429 {n429}, 500 {n500}, reset {resets}"
    );
    assert_eq!(ok, 200, "exactly one good answer per request");
    assert_eq!(log.len() as u64, stats.attempts, "every attempt reached the simulator");
    assert_eq!(stats.requests, 200);
    assert_eq!(stats.retries, stats.attempts - 200);
    assert_eq!(stats.rate_limited, n429 as u64);
    assert!(log.iter().all(|e| e.had_authorization));
    sim.stop().await.unwrap();
}

/// Attachments through the API host's redirect: credentials reach the API host only, the CDN
/// (which answers 403 to any Authorization header) serves the bytes, hashes match the dataset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_redirect_to_the_cdn_drops_credentials() {
    download_all(12, FAULTS).await;
}

/// Bodies cut short (on the CDN or the API host) are fetched again from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_downloads_are_fetched_again() {
    let truncated = download_all(13, "truncate=0.3").await;
    assert!(truncated > 0, "no truncation was injected");
}

/// Downloads a dozen attachments through the API host's redirect; returns the number of
/// truncations the CDN injected.
async fn download_all(seed: u64, faults: &str) -> usize {
    let (sim, ds) = start(seed, faults).await;
    let http = client(&sim);
    let dir = tempfile::tempdir().unwrap();
    let atts: Vec<_> = ds
        .attachments
        .iter()
        .filter(|a| a.size.unwrap_or(0) > 0 && a.sha256.is_some())
        .take(12)
        .collect();
    assert!(!atts.is_empty());
    for (i, att) in atts.iter().enumerate() {
        let token = zendesk::ids::attachment_token("att", &att.id);
        let url = format!(
            "{}/attachments/token/{token}/?name={}",
            sim.url(),
            deskferry_fixtures::sim::url::encode(&att.file_name)
        );
        let dest = dir.path().join(format!("a{i}"));
        let got = http
            .download("default", &url, &dest)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", att.id));
        assert_eq!(Some(&got.sha256), att.sha256.as_ref(), "{}", att.id);
        assert_eq!(got.size as i64, att.size.unwrap());
        assert_eq!(std::fs::read(&dest).unwrap().len() as u64, got.size);
    }
    let cdn = sim.cdn.log.entries();
    assert!(cdn.len() >= atts.len());
    assert!(cdn.iter().all(|e| !e.had_authorization), "credentials leaked to the CDN host");
    let redirects = sim
        .api
        .log
        .entries()
        .into_iter()
        .filter(|e| e.path.starts_with("/attachments/token/"))
        .count();
    assert!(redirects >= atts.len());
    let truncated = cdn.iter().filter(|e| e.fault == Some(Fault::Truncate)).count();
    sim.stop().await.unwrap();
    truncated
}
