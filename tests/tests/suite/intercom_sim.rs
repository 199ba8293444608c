//! The simulated Intercom's read side and refusals, every exchange checked against Intercom's
//! OpenAPI file (2.14) as a load's are in `load_intercom.rs`: the lists a load does not read
//! (contacts by cursor, companies, tags, collections, articles), the searches, `/me`, and the
//! refusals (401, an unknown version, 404, 409, 400, 429), each in Intercom's error envelope.

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::intercom::{self, IntercomConfig, prepared};
use serde_json::{Value, json};

async fn call(
    c: &reqwest::Client,
    url: &str,
    token: &str,
    version: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = c
        .request(method, format!("{url}{path}"))
        .bearer_auth(token)
        .header("Intercom-Version", version);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("send");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[test]
fn the_facades_reads_and_refusals_are_intercoms_wire() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ds = Dataset::generate(2, Size::Tiny);
        // Seven requests a 10-second window, so the budget is met within the test.
        let config =
            IntercomConfig { per_minute: 42, max_parts: None, ..IntercomConfig::default() };
        let token = config.token.clone();
        let sim = intercom::start(prepared(&ds), config, SimOptions::default()).await.unwrap();
        sim.api.log.set_capture_bodies(true);
        let (url, c) = (sim.url(), reqwest::Client::new());
        let get = |p: &'static str| (reqwest::Method::GET, p.to_string(), None::<Value>);
        let post = |p: &'static str, b: Value| (reqwest::Method::POST, p.to_string(), Some(b));
        let mut seen = Vec::new();
        let steps = vec![
            get("/me"),
            get("/admins"),
            get("/teams"),
            post(
                "/contacts",
                json!({"role": "user", "external_id": "e1", "email": "a@example.com", "name": "A"}),
            ),
            post(
                "/contacts",
                json!({"role": "user", "external_id": "e2", "email": "b@example.com"}),
            ),
            post("/contacts", json!({"role": "user", "external_id": "e1"})),
            post("/contacts", json!({"role": "user", "custom_attributes": {"unknown": "x"}})),
        ];
        for (m, p, b) in steps {
            seen.push(call(&c, &url, &token, "2.14", m, &p, b).await);
        }
        assert_eq!(
            seen.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![200, 200, 200, 200, 200, 409, 400]
        );
        // The window is spent: the next answers 429, then the budget comes back.
        let (s, v) = call(&c, &url, &token, "2.14", reqwest::Method::GET, "/tags", None).await;
        assert_eq!((s, v["type"].as_str()), (429, Some("error.list")));
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        let contact = seen[3].1["id"].as_str().unwrap().to_string();
        let (s, page) =
            call(&c, &url, &token, "2.14", reqwest::Method::GET, "/contacts?per_page=1", None)
                .await;
        assert_eq!(s, 200);
        let next = page["pages"]["next"]["starting_after"].as_str().unwrap().to_string();
        let (s, _) = call(
            &c,
            &url,
            &token,
            "2.16",
            reqwest::Method::GET,
            &format!("/contacts?per_page=1&starting_after={next}"),
            None,
        )
        .await;
        assert_eq!(s, 200);
        let (s, v) = call(
            &c,
            &url,
            &token,
            "2.14",
            reqwest::Method::POST,
            "/contacts/search",
            Some(json!({"query": {"field": "email", "operator": "=", "value": "a@example.com"}})),
        )
        .await;
        assert_eq!((s, v["data"][0]["id"].as_str()), (200, Some(contact.as_str())));
        let (s, co) = call(
            &c,
            &url,
            &token,
            "2.14",
            reqwest::Method::POST,
            "/companies",
            Some(json!({"company_id": "c1", "name": "Acme"})),
        )
        .await;
        assert_eq!(s, 200);
        call(
            &c,
            &url,
            &token,
            "2.14",
            reqwest::Method::POST,
            &format!("/contacts/{contact}/companies"),
            Some(json!({"id": co["id"]})),
        )
        .await;
        let (s, v) = call(&c, &url, &token, "2.14", reqwest::Method::GET, "/companies", None).await;
        assert_eq!((s, v["data"].as_array().map(Vec::len)), (200, Some(1)));
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        let (s, _) = call(
            &c,
            &url,
            &token,
            "2.14",
            reqwest::Method::GET,
            "/contacts/000000000000000000000fff",
            None,
        )
        .await;
        assert_eq!(s, 404);
        let (s, v) = call(&c, &url, &token, "0.9", reqwest::Method::GET, "/admins", None).await;
        assert_eq!((s, v["errors"][0]["code"].as_str()), (400, Some("intercom_version_invalid")));
        let (s, _) = call(&c, &url, "wrong", "2.14", reqwest::Method::GET, "/admins", None).await;
        assert_eq!(s, 401);
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        for p in [
            "/tags",
            "/data_attributes?model=contact",
            "/help_center/collections",
            "/articles",
            "/conversations",
        ] {
            let (s, _) = call(&c, &url, &token, "2.14", reqwest::Method::GET, p, None).await;
            assert_eq!(s, 200, "{p}");
        }
        let (s, _) = call(
            &c,
            &url,
            &token,
            "2.14",
            reqwest::Method::POST,
            "/conversations/search",
            Some(json!({"query": {"field": "state", "operator": "=", "value": "open"}})),
        )
        .await;
        assert_eq!(s, 200);
        crate::load_intercom::intercom_openapi_check(&sim.api.log);
        sim.stop().await.unwrap();
    });
}

/// Every exchange of an extraction (`deskferry-extract` on the simulated Intercom holding
/// `tiny`, then a delta after a reply, a new conversation and a deletion) checked against the
/// OpenAPI file: the lists, `/me`, each conversation read whole (the one with more than 500
/// parts cut to the 500 most recent), the searches by `updated_at`. The conversation whose part
/// sends `created_at` as text (the dataset's `unexpected_json_type` case, which real answers do
/// and the spec forbids) is left out of the check.
#[test]
fn the_sources_reads_are_intercoms_wire() {
    use deskferry_extractor::platforms::registry::Role;
    use deskferry_fixtures::demo::tools::{Output, Tools, run_tool};
    use deskferry_fixtures::kit::{WorldOptions, start_world};
    use deskferry_fixtures::sim::log::RequestLog;

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    let w = start_world("intercom", Role::Source, &opts).expect("world");
    w.write_connection(d, "source").expect("connection file");
    let epoch = crate::support::fixed_epoch();
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env = [("SOURCE_DATE_EPOCH", epoch.as_str())];
        run_tool(&tools, "deskferry-extract", &args, d, &env, false, Output::Capture).expect("run")
    };
    let keygen = run_tool(
        &tools,
        "deskferry-bundle",
        &["keygen".into(), "--out-dir".into(), "keys".into()],
        d,
        &[],
        false,
        Output::Capture,
    )
    .expect("keygen");
    crate::support::check(&keygen, "keygen", &[0]);
    let base = [
        "--source",
        "source.toml",
        "--recipient",
        "keys/recipient.txt",
        "--sign-key",
        "keys/sign.key",
        "--json",
        "--out",
    ];
    let full: Vec<&str> = base.iter().copied().chain(["a.dfb"]).collect();
    crate::support::check(&run(&full), "extract", &[0]);
    w.change().expect("change");
    let delta: Vec<&str> = base.iter().copied().chain(["d.dfb", "--since", "a.dfb.json"]).collect();
    crate::support::check(&run(&delta), "delta", &[0]);

    let odd: Vec<String> = {
        let ds = w.dataset();
        ds.case("unexpected_json_type")
            .filter_map(|c| ds.comments.iter().find(|x| x.id == c.id))
            .map(|c| format!("/conversations/{}", c.ticket_id))
            .collect()
    };
    // A ticket read whole (what the source does with a Customer ticket the conversation list
    // did not hold), and a Back-office ticket, which is no conversation.
    let back_office = w
        .dataset()
        .tickets
        .iter()
        .find(|t| !t.is_deleted && t.ticket_type.as_deref() == Some("task"))
        .map(|t| t.id.clone())
        .expect("a Back-office ticket in the dataset");
    let conn = std::fs::read_to_string(d.join("source.toml")).expect("connection file");
    let url = conn.lines().find_map(|l| l.strip_prefix("url = \"")).expect("url");
    let url = url.trim_end_matches('"').to_string();
    let token = std::fs::read_to_string(d.join("source.token")).expect("token");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let (tok, get) = (token.trim(), reqwest::Method::GET);
        let p = format!("/tickets/{back_office}");
        let (s, v) = call(&c, &url, tok, "2.14", get.clone(), &p, None).await;
        assert_eq!((s, v["category"].as_str()), (200, Some("Back-office")));
        let p = format!("/conversations/{back_office}");
        let (s, _) = call(&c, &url, tok, "2.14", get, &p, None).await;
        assert_eq!(s, 404, "a Back-office ticket is no conversation");
    });
    let checked = RequestLog::new();
    checked.set_capture_bodies(true);
    let entries = w.log().entries();
    let paths: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    for p in ["/me", "/admins", "/teams", "/data_attributes", "/contacts", "/companies"] {
        assert!(paths.contains(p), "the extraction never read {p}");
    }
    for p in ["/conversations", "/conversations/search", "/contacts/search", "/articles"] {
        assert!(paths.contains(p), "the extraction never read {p}");
    }
    for p in ["/ticket_types", "/tickets/search"] {
        assert!(paths.contains(p), "the extraction never read {p}");
    }
    let long = entries.iter().find(|e| {
        let v: Value =
            e.body.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
        let parts = v.pointer("/conversation_parts/conversation_parts").and_then(Value::as_array);
        let counted = v.pointer("/statistics/count_conversation_parts").and_then(Value::as_u64);
        parts.is_some_and(|p| p.len() == 500) && counted.is_some_and(|n| n > 500)
    });
    assert!(long.is_some(), "no conversation answered with more parts than it holds");
    for e in entries.into_iter().filter(|e| !odd.contains(&e.path)) {
        checked.push(e);
    }
    crate::load_intercom::intercom_openapi_check(&checked);
    w.stop().expect("stop");
}
