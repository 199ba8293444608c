//! The simulated Zendesk (Support + Guide) over real HTTP on 127.0.0.1: every endpoint checked
//! against Zendesk's OpenAPI files by `tests/interop/zendesk_validate.py`, the `serve` command
//! driven with plain curl, rate limits, repeatable faults and the credential-refusing CDN.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::{self, Plan, ZendeskConfig, ZendeskSim};
use deskferry_fixtures::sim::{Desk, Fault, FaultSpec, SimOptions, Store};
use serde_json::Value;
use sha2::{Digest, Sha256};

async fn start(options: SimOptions, plan: Plan) -> ZendeskSim {
    let store = Store::from_dataset(Dataset::generate(1, Size::Tiny));
    let config = ZendeskConfig { options, plan, ..ZendeskConfig::default() };
    zendesk::start(Desk::new(store), config).await.expect("start the simulated Zendesk")
}

/// A client that waits out 429s (the incremental budget is 10 per scaled minute).
struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
}

struct Ans {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
    json: Value,
}

impl Client {
    fn new(sim: &ZendeskSim) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Client { http, base: sim.url(), auth: sim.basic_auth() }
    }

    async fn raw(&self, url: &str, auth: Option<&str>) -> Ans {
        let url =
            if url.starts_with("http") { url.to_string() } else { format!("{}{url}", self.base) };
        for _ in 0..50 {
            let mut rb = self.http.get(&url);
            if let Some(a) = auth {
                rb = rb.header("authorization", a);
            }
            let resp = rb.send().await.expect("send");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.expect("body").to_vec();
            if status == 429 {
                // Whole seconds at real time, milliseconds under a time scale.
                let secs: f64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                continue;
            }
            let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Ans { status, headers, bytes, json };
        }
        panic!("{url}: still throttled after 50 tries");
    }

    async fn get(&self, url: &str) -> Ans {
        let a = self.raw(url, Some(&self.auth.clone())).await;
        assert_eq!(a.status, 200, "{url}: {}", a.json);
        a
    }
}

fn ids(v: &Value, key: &str) -> Vec<u64> {
    v[key].as_array().unwrap_or(&vec![]).iter().map(|x| x["id"].as_u64().unwrap()).collect()
}

/// Walks every endpoint the facade serves, then validates every logged answer against the specs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_conforms_to_zendesks_openapi() {
    let sim =
        start(SimOptions { time_scale: 60.0, ..SimOptions::default() }, Plan::Enterprise).await;
    sim.api.log.set_capture_bodies(true);
    let c = Client::new(&sim);
    let ds = Dataset::generate(1, Size::Tiny);

    // Incremental tickets, cursor-based, small pages with every side-load.
    let mut seen = Vec::new();
    let mut url = "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=7&include=users,groups,organizations,comment_count".to_string();
    loop {
        let a = c.get(&url).await;
        seen.extend(a.json["tickets"].as_array().unwrap().iter().cloned());
        assert!(
            a.json["users"].is_array()
                && a.json["groups"].is_array()
                && a.json["organizations"].is_array()
        );
        if a.json["end_of_stream"].as_bool().unwrap() {
            break;
        }
        url = a.json["after_url"].as_str().unwrap().to_string();
    }
    assert_eq!(
        seen.len(),
        ds.tickets.len(),
        "the export holds every ticket, deleted and archived ones too"
    );
    let statuses: Vec<&str> = seen.iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"deleted"), "deleted and spam tickets show status deleted");
    let deleted_case = ds.case("deleted_ticket").next().unwrap().id.parse::<u64>().unwrap();
    let t = seen.iter().find(|t| t["id"] == deleted_case).unwrap();
    assert_eq!(t["status"], "deleted");
    let gone = c.raw(&format!("/api/v2/tickets/{deleted_case}.json"), Some(&c.auth)).await;
    assert_eq!((gone.status, gone.json["error"].as_str()), (404, Some("RecordNotFound")));
    let live = c.get("/api/v2/tickets.json?per_page=100").await;
    let listed = ids(&live.json, "tickets");
    assert!(!listed.contains(&deleted_case));
    let archived: Vec<u64> = seen
        .iter()
        .filter(|t| t["status"] == "closed" && !listed.contains(&t["id"].as_u64().unwrap()))
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert!(!archived.is_empty(), "tiny has tickets closed long enough ago to be archived");
    c.get(&format!("/api/v2/tickets/{}", archived[0])).await;
    c.get("/api/v2/tickets?page%5Bsize%5D=5").await;
    c.get("/api/v2/incremental/tickets/cursor?start_time=0&exclude_deleted=true").await;

    // Users and organizations.
    let users = c.get("/api/v2/incremental/users/cursor.json?start_time=0&per_page=1000").await;
    assert_eq!(users.json["users"].as_array().unwrap().len(), ds.users.len());
    assert!(users.json["end_of_stream"].as_bool().unwrap());
    let mut url = "/api/v2/incremental/organizations.json?start_time=0&per_page=2".to_string();
    let mut orgs = std::collections::BTreeSet::new();
    loop {
        let a = c.get(&url).await;
        orgs.extend(ids(&a.json, "organizations"));
        match a.json["next_page"].as_str() {
            Some(n) if !a.json["end_of_stream"].as_bool().unwrap() => url = n.to_string(),
            _ => break,
        }
    }
    assert_eq!(orgs.len(), ds.organizations.len());
    let uid = ds.users[0].id.clone();
    c.get(&format!("/api/v2/users/{uid}.json")).await;
    let with_phone =
        ds.users.iter().find(|u| u.phone.is_some() || !u.other_emails.is_empty()).unwrap();
    let idents = c.get(&format!("/api/v2/users/{}/identities", with_phone.id)).await;
    let want = usize::from(with_phone.email.is_some())
        + with_phone.other_emails.len()
        + usize::from(with_phone.phone.is_some());
    assert_eq!(idents.json["identities"].as_array().unwrap().len(), want);
    let deleted_users = c.get("/api/v2/deleted_users").await;
    assert_eq!(deleted_users.json["count"], ds.users.iter().filter(|u| u.is_deleted).count());
    c.get("/api/v2/group_memberships?per_page=100").await;
    c.get("/api/v2/users?page%5Bsize%5D=10").await;
    c.get("/api/v2/organizations").await;
    c.get(&format!("/api/v2/organizations/{}", ds.organizations[0].id)).await;
    // By id, as a delta fetches the people its tickets refer to.
    let ids: Vec<&str> = ds.users.iter().take(3).map(|u| u.id.as_str()).collect();
    let many = c
        .get(&format!(
            "/api/v2/users/show_many.json?ids={}&include=identities&include_deleted=true",
            ids.join(",")
        ))
        .await;
    assert_eq!(many.json["users"].as_array().unwrap().len(), 3);
    let org_ids: Vec<&str> = ds.organizations.iter().take(2).map(|o| o.id.as_str()).collect();
    let orgs_many =
        c.get(&format!("/api/v2/organizations/show_many?ids={}", org_ids.join(","))).await;
    assert_eq!(orgs_many.json["organizations"].as_array().unwrap().len(), 2);
    c.get("/api/v2/groups").await;
    c.get("/api/v2/groups?exclude_deleted=true").await;
    c.get(&format!("/api/v2/groups/{}", ds.groups[0].id)).await;
    c.get("/api/v2/ticket_fields.json").await;
    // Every ticket's form and custom status exist.
    let forms = c.get("/api/v2/ticket_forms").await;
    let statuses = c.get("/api/v2/custom_statuses").await;
    let form_ids: Vec<&serde_json::Value> =
        forms.json["ticket_forms"].as_array().unwrap().iter().map(|f| &f["id"]).collect();
    let status_ids: Vec<&serde_json::Value> =
        statuses.json["custom_statuses"].as_array().unwrap().iter().map(|s| &s["id"]).collect();
    let export = c.get("/api/v2/incremental/tickets/cursor?start_time=0").await;
    for t in export.json["tickets"].as_array().unwrap() {
        assert!(form_ids.contains(&&t["ticket_form_id"]), "ticket {} form", t["id"]);
        if t["status"] != "deleted" {
            assert!(status_ids.contains(&&t["custom_status_id"]), "ticket {} status", t["id"]);
        }
    }
    c.get("/api/v2/user_fields").await;
    c.get("/api/v2/organization_fields").await;
    c.get("/api/v2/tags").await;
    c.get("/api/v2/deleted_tickets.json").await;

    // Ticket events with comment events: every comment of the dataset arrives exactly once.
    let mut comments = 0usize;
    let mut url =
        "/api/v2/incremental/ticket_events.json?start_time=0&include=comment_events&per_page=300"
            .to_string();
    let mut event_ids = std::collections::BTreeSet::new();
    loop {
        let a = c.get(&url).await;
        for e in a.json["ticket_events"].as_array().unwrap() {
            if event_ids.insert(e["id"].as_u64().unwrap()) {
                comments += e["child_events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|ce| ce["type"] == "Comment")
                    .count();
            }
        }
        if a.json["end_of_stream"].as_bool().unwrap() {
            break;
        }
        url = a.json["next_page"].as_str().unwrap().to_string();
    }
    assert_eq!(comments, ds.comments.len());
    c.get("/api/v2/incremental/ticket_events?start_time=0&per_page=5").await;

    // Per-ticket comments, cursor paging through the thousand-comment thread.
    let long = ds.case("thousand_comment_thread").next().unwrap().id.clone();
    let mut url = format!(
        "/api/v2/tickets/{long}/comments.json?page%5Bsize%5D=100&include_inline_images=true"
    );
    let mut n = 0;
    loop {
        let a = c.get(&url).await;
        n += a.json["comments"].as_array().unwrap().len();
        match a.json["links"]["next"].as_str() {
            Some(next) if a.json["meta"]["has_more"].as_bool().unwrap() => url = next.to_string(),
            _ => break,
        }
    }
    assert_eq!(n, ds.comments_of(&long).len());
    let with_att = ds.comments.iter().find(|cm| !cm.attachment_ids.is_empty()).unwrap();
    c.get(&format!(
        "/api/v2/tickets/{}/comments?include=users&sort_order=desc",
        with_att.ticket_id
    ))
    .await;
    c.get(&format!("/api/v2/attachments/{}", with_att.attachment_ids[0])).await;

    // Help Center.
    let locales = c.get("/api/v2/help_center/locales.json").await;
    let locale =
        locales.json["locales"].as_array().unwrap().last().unwrap().as_str().unwrap().to_string();
    c.get("/api/v2/help_center/categories.json").await;
    c.get("/api/v2/help_center/sections").await;
    let arts = c.get("/api/v2/help_center/articles.json").await;
    c.get(&format!("/api/v2/help_center/{locale}/articles.json")).await;
    c.get(&format!("/api/v2/help_center/{locale}/categories")).await;
    c.get(&format!("/api/v2/help_center/{locale}/sections")).await;
    let cat = ds.kb_categories[0].id.clone();
    let sec = ds.kb_sections[0].id.clone();
    c.get(&format!("/api/v2/help_center/categories/{cat}")).await;
    c.get(&format!("/api/v2/help_center/categories/{cat}/sections")).await;
    c.get(&format!("/api/v2/help_center/categories/{cat}/translations")).await;
    c.get(&format!("/api/v2/help_center/sections/{sec}")).await;
    c.get(&format!("/api/v2/help_center/sections/{sec}/articles")).await;
    c.get(&format!("/api/v2/help_center/sections/{sec}/translations")).await;
    let several = ds.case("article_several_locales").next().unwrap().id.clone();
    // The case may name a translation row; Zendesk addresses the source article.
    let several = ds.kb_article(&several).and_then(|a| a.translation_of.clone()).unwrap_or(several);
    let tr = c.get(&format!("/api/v2/help_center/articles/{several}/translations")).await;
    assert!(tr.json["translations"].as_array().unwrap().len() >= 2);
    c.get(&format!("/api/v2/help_center/articles/{several}.json")).await;
    let with_kb_att = ds.case("article_attachment").next().unwrap().id.clone();
    let art_id = ds
        .attachment(&with_kb_att)
        .and_then(|a| a.article_id.clone())
        .unwrap_or(with_kb_att.clone());
    let aa = c.get(&format!("/api/v2/help_center/articles/{art_id}/attachments")).await;
    let first =
        aa.json["article_attachments"][0]["id"].as_u64().expect("article has an attachment");
    c.get(&format!("/api/v2/help_center/articles/attachments/{first}")).await;
    c.get("/api/v2/help_center/incremental/articles.json?start_time=0").await;
    assert!(!arts.json["articles"].as_array().unwrap().is_empty());

    // Errors in Zendesk's shape.
    let unauth = c.raw("/api/v2/tickets.json", None).await;
    assert_eq!(
        (unauth.status, unauth.json["error"].as_str()),
        (401, Some("Couldn't authenticate you"))
    );
    let bad = c.raw("/api/v2/tickets.json", Some("Basic d3Jvbmc6d3Jvbmc=")).await;
    assert_eq!(bad.status, 401);
    let bearer = c.raw("/api/v2/groups", Some(&format!("Bearer {}", sim.token))).await;
    assert_eq!(bearer.status, 200);
    let missing = c.raw("/api/v2/incremental/tickets/cursor", Some(&c.auth)).await;
    assert_eq!(missing.status, 400);
    let nf = c.raw("/api/v2/users/999999999", Some(&c.auth)).await;
    assert_eq!(nf.status, 404);

    // Every answer against the specs (skipped, and said so, without them).
    deskferry_tests::zendesk_openapi_check(
        &sim.api.log,
        &[
            "/api/v2/incremental/tickets/cursor",
            "/api/v2/incremental/users/cursor",
            "/api/v2/incremental/organizations",
            "/api/v2/incremental/ticket_events",
            "/api/v2/tickets/{ticket_id}/comments",
            "/api/v2/deleted_users",
            "/api/v2/users/{user_id}/identities",
            "/api/v2/group_memberships",
            "/api/v2/users/show_many",
            "/api/v2/organizations/show_many",
            "/api/v2/ticket_forms",
            "/api/v2/custom_statuses",
            "/api/v2/help_center/articles/{article_id}/translations",
            "/api/v2/help_center/incremental/articles",
        ],
    );
    sim.stop().await.unwrap();
}

/// The `deskferry-sim` binary next to this test binary.
fn sim_binary() -> PathBuf {
    deskferry_tests::workspace_bin("deskferry-sim")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Served {
    child: Child,
    url: String,
    email: String,
    token: String,
}

fn serve_tiny(config: &Path, port: u16, cdn_port: u16) -> Served {
    let _ = std::fs::remove_file(config);
    let child = Command::new(sim_binary())
        .args(["serve", "--platform", "zendesk", "--dataset", "tiny", "--seed", "1"])
        .args(["--port", &port.to_string(), "--cdn-port", &cdn_port.to_string(), "--write-config"])
        .arg(config)
        .stdout(Stdio::null())
        .spawn()
        .expect("start deskferry-sim serve");
    // The file appears once the server listens.
    let mut text = String::new();
    for _ in 0..600 {
        if let Ok(t) = std::fs::read_to_string(config)
            && t.contains("token_env")
        {
            text = t;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!text.is_empty(), "serve wrote no connection file");
    let field = |k: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{k} = \"")).map(|v| v.trim_end_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("{k} missing in:\n{text}"))
    };
    Served { child, url: field("url"), email: field("email"), token: field("token") }
}

fn stop(mut s: Served) {
    let status = Command::new("kill").args(["-TERM", &s.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = s.child.wait().unwrap();
    assert!(exit.success(), "serve did not stop cleanly on SIGTERM: {exit}");
}

fn curl(url: &str, user: Option<&str>, headers: bool) -> Vec<u8> {
    let mut cmd = Command::new("/usr/bin/curl");
    cmd.args(["-s", "--max-time", "60"]);
    if headers {
        cmd.arg("-i");
    }
    if let Some(u) = user {
        // The token is a simulator secret; pass it on stdin's config, not argv.
        cmd.args(["--config", "-"]).stdin(Stdio::piped());
        let mut child = cmd.arg(url).stdout(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "user = \"{u}\"").unwrap();
        return child.wait_with_output().unwrap().stdout;
    }
    cmd.arg(url).output().unwrap().stdout
}

/// `deskferry-sim serve` + plain curl: Zendesk-shaped JSON, the same bytes on a second run.
#[test]
fn serve_then_curl_gives_zendesk_json_and_the_same_bytes_twice() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("zendesk.toml");
    let (port, cdn_port) = (free_port(), free_port());
    let export = |s: &Served| {
        curl(
            &format!("{}/api/v2/incremental/tickets/cursor.json?start_time=0&include=users", s.url),
            Some(&format!("{}/token:{}", s.email, s.token)),
            false,
        )
    };

    let first = serve_tiny(&config, port, cdn_port);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&config).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the connection file holds a token");
    let a = export(&first);
    let unauth = curl(&format!("{}/api/v2/tickets.json", first.url), None, true);
    stop(first);

    let json: Value = serde_json::from_slice(&a).expect("JSON");
    let tickets = json["tickets"].as_array().unwrap();
    assert!(!tickets.is_empty());
    for key in ["after_cursor", "after_url", "before_cursor", "end_of_stream", "users"] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    for t in tickets {
        assert!(
            t["id"].is_u64()
                && t["generated_timestamp"].is_i64()
                && t["via"]["channel"].is_string()
        );
        let s = t["status"].as_str().unwrap();
        assert!(
            ["new", "open", "pending", "hold", "solved", "closed", "deleted"].contains(&s),
            "{s}"
        );
        assert!(t["custom_fields"].as_array().unwrap().iter().all(|f| f["id"].is_u64()));
    }
    let unauth = String::from_utf8_lossy(&unauth);
    assert!(unauth.starts_with("HTTP/1.1 401"), "{unauth}");

    let second = serve_tiny(&config, port, cdn_port);
    let b = export(&second);
    stop(second);
    assert!(a == b, "same seed, same port: the export must be byte-identical");
}

/// The incremental budget (10 per minute) answers 429 with Zendesk's headers.
#[tokio::test]
async fn incremental_budget_answers_429_with_retry_after() {
    let sim = start(SimOptions::default(), Plan::Team).await;
    let c = Client::new(&sim);
    let http = reqwest::Client::new();
    let url = format!("{}/api/v2/incremental/users/cursor?start_time=0", sim.url());
    let mut ok = 0;
    let mut limited = None;
    for _ in 0..30 {
        let r = http.get(&url).header("authorization", &c.auth).send().await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        for h in [
            "x-rate-limit",
            "x-rate-limit-remaining",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
        ] {
            assert!(r.headers().contains_key(h), "{h} missing on a 200");
        }
        ok += 1;
    }
    let r = limited.expect("the 10-per-minute incremental budget must run out within 30 calls");
    assert!(ok <= 10, "{ok} incremental calls admitted in one window");
    let h = r.headers();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(h["x-rate-limit"], "10");
    assert_eq!(h["x-rate-limit-remaining"], "0");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "APIRateLimitExceeded");
    // Other endpoints draw from the plan's budget (team: 200) and still answer.
    let groups = c.raw("/api/v2/groups", Some(&c.auth)).await;
    assert_eq!(groups.status, 200);
    assert_eq!(groups.headers["x-rate-limit"], "200");
    assert!(sim.api.log.count_rate_limited() >= 1);
    assert!(
        sim.api
            .log
            .entries()
            .iter()
            .any(|e| e.rate_limited && e.bucket.as_deref() == Some("incremental"))
    );
    sim.stop().await.unwrap();
}

/// What a sequential client sees, request by request: status, or the transport error.
async fn outcomes(faults: &str, seed: u64) -> (Vec<String>, usize) {
    let options = SimOptions { faults: faults.parse().unwrap(), seed, time_scale: 1000.0 };
    let sim = start(options, Plan::HighVolume).await;
    let c = Client::new(&sim);
    let mut seen = Vec::new();
    for _ in 0..40 {
        let r = c
            .http
            .get(format!("{}/api/v2/groups", sim.url()))
            .header("authorization", &c.auth)
            .send()
            .await;
        let o = match r {
            Err(_) => "error".to_string(),
            Ok(r) => {
                let s = r.status().as_u16();
                match r.bytes().await {
                    Ok(b) if serde_json::from_slice::<Value>(&b).is_ok() => s.to_string(),
                    _ => format!("{s}-broken"),
                }
            }
        };
        seen.push(o);
    }
    let faults_logged = sim.api.log.entries().iter().filter(|e| e.fault.is_some()).count();
    sim.stop().await.unwrap();
    (seen, faults_logged)
}

/// Same seed, same faults, request for request; another seed, another sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_repeat_for_the_same_seed() {
    let spec = "429=0.15,500=0.15,reset=0.1,slow=0.05,truncate=0.1";
    let (a, na) = outcomes(spec, 5).await;
    let (b, nb) = outcomes(spec, 5).await;
    let (c, _) = outcomes(spec, 6).await;
    assert_eq!(a, b, "the same seed must give the same faults");
    assert_eq!(na, nb);
    assert_ne!(a, c, "another seed gives another sequence");
    for want in ["200", "429", "500", "error", "200-broken"] {
        assert!(a.iter().any(|o| o == want), "no {want} in {a:?}");
    }
    // The log agrees with what the client saw.
    let fault: FaultSpec = spec.parse().unwrap();
    let expected: usize = (0..40).filter(|&i| fault.decide(5, i).is_some()).count();
    assert_eq!(na, expected);
    for (i, o) in a.iter().enumerate() {
        let want = match fault.decide(5, i as u64) {
            None | Some(Fault::Slow) => "200",
            Some(Fault::TooManyRequests) => "429",
            Some(Fault::ServerError) => "500",
            Some(Fault::Reset) => "error",
            Some(Fault::Truncate) => "200-broken",
        };
        assert_eq!(o, want, "request {i}");
    }
}

/// Attachment bytes come from the CDN host, which refuses the API credentials.
#[tokio::test]
async fn cdn_serves_attachments_and_refuses_authorization() {
    let sim = start(SimOptions::default(), Plan::Enterprise).await;
    let c = Client::new(&sim);
    let ds = Dataset::generate(1, Size::Tiny);
    let att =
        ds.attachments.iter().find(|a| a.comment_id.is_some() && a.size.unwrap_or(0) > 0).unwrap();
    let meta = c.get(&format!("/api/v2/attachments/{}", att.id)).await;
    let content_url = meta.json["attachment"]["content_url"].as_str().unwrap().to_string();
    assert!(content_url.starts_with(&sim.cdn_url()), "{content_url} is not on the CDN host");

    let refused = c.raw(&content_url, Some(&c.auth)).await;
    assert_eq!(refused.status, 403);
    let refused_bearer = c.raw(&content_url, Some("Bearer anything")).await;
    assert_eq!(refused_bearer.status, 403);

    let got = c.raw(&content_url, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(hex::encode(Sha256::digest(&got.bytes)), att.sha256.clone().unwrap());
    assert_eq!(got.bytes.len() as i64, att.size.unwrap());

    // The API host's /attachments/token/... redirects there, as Zendesk redirects to storage.
    let token_path = content_url.trim_start_matches(&sim.cdn_url()).to_string();
    let redirect = c.raw(&format!("{}{token_path}", sim.url()), None).await;
    assert_eq!(redirect.status, 302);
    assert!(redirect.headers["location"].to_str().unwrap().starts_with(&sim.cdn_url()));
    assert_eq!(
        sim.cdn.log.entries().iter().filter(|e| e.status == 403 && e.had_authorization).count(),
        2
    );
    sim.stop().await.unwrap();
}

/// Two simulators over the same dataset answer every endpoint with the same bytes (once the
/// differing port numbers are set aside).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_dataset_same_bytes_everywhere() {
    let opts = || SimOptions { time_scale: 60.0, ..SimOptions::default() };
    let a = start(opts(), Plan::HighVolume).await;
    let b = start(opts(), Plan::HighVolume).await;
    let (ca, cb) = (Client::new(&a), Client::new(&b));
    let ds = Dataset::generate(1, Size::Tiny);
    let paths = [
        "/api/v2/incremental/tickets/cursor?start_time=0&include=users,groups,organizations"
            .to_string(),
        "/api/v2/incremental/ticket_events?start_time=0&include=comment_events".to_string(),
        "/api/v2/incremental/users/cursor?start_time=0".to_string(),
        "/api/v2/ticket_fields".to_string(),
        "/api/v2/tags".to_string(),
        format!("/api/v2/tickets/{}/comments?include_inline_images=true", ds.tickets[0].id),
        "/api/v2/help_center/articles".to_string(),
    ];
    for p in &paths {
        let x = String::from_utf8(ca.get(p).await.bytes).unwrap();
        let y = String::from_utf8(cb.get(p).await.bytes).unwrap();
        let norm =
            |s: &str, sim: &ZendeskSim| s.replace(&sim.url(), "API").replace(&sim.cdn_url(), "CDN");
        assert_eq!(norm(&x, &a), norm(&y, &b), "{p}");
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
