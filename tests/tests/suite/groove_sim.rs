//! The simulated Groove's read side and refusals beyond what a load uses (`load_groove.rs`):
//! customers and groups by page with `meta.pagination`, tickets filtered by customer, state and
//! mailbox, a message by id, knowledge-base lists, v2 contacts, companies and nodes, the token
//! in the query, and the refusals (401, 404, 422 with `errors`, GraphQL errors with HTTP 200).

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::groove::{self, GrooveConfig, prepared};
use serde_json::{Value, json};

async fn call(
    c: &reqwest::Client,
    url: &str,
    token: &str,
    m: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = c.request(m, format!("{url}{path}")).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("send");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[test]
fn the_facades_reads_and_refusals_are_grooves_wire() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ds = Dataset::generate(2, Size::Tiny);
        let config = GrooveConfig::default();
        let token = config.token.clone();
        let sim = groove::start(prepared(&ds), config, SimOptions::default()).await.unwrap();
        let (url, c) = (sim.url(), reqwest::Client::new());
        let get = |p: String| {
            let (c, url, token) = (c.clone(), url.clone(), token.clone());
            async move { call(&c, &url, &token, reqwest::Method::GET, &p, None).await }
        };
        let post = |p: &'static str, b: Value| {
            let (c, url, token) = (c.clone(), url.clone(), token.clone());
            async move { call(&c, &url, &token, reqwest::Method::POST, p, Some(b)).await }
        };
        // Agents and mailboxes as the operator prepared them.
        let (s, agents) = get("/v1/agents".into()).await;
        assert_eq!(s, 200);
        let agent = agents["agents"][0]["email"].as_str().unwrap().to_string();
        let (_, boxes) = get("/v1/mailboxes".into()).await;
        let boxes = boxes["mailboxes"].as_array().unwrap().clone();
        assert!(boxes.len() > 1);
        // Three tickets from three customers into two mailboxes.
        for (i, m) in [0usize, 1, 1].iter().enumerate() {
            let (s, t) = post(
                "/v1/tickets",
                json!({ "body": "x", "from": format!("c{i}@example.com"), "to": boxes[*m]["email"],
                        "state": if i == 2 { "closed" } else { "opened" }, "skip_notifications": true }),
            )
            .await;
            assert_eq!(s, 201, "{t}");
            assert_eq!(t["ticket"]["mailbox_id"], boxes[*m]["id"]);
        }
        let (_, page) = get("/v1/customers?per_page=2".into()).await;
        let p = &page["meta"]["pagination"];
        assert_eq!((p["current_page"].as_u64(), p["total_pages"].as_u64(), p["total_count"].as_u64()), (Some(1), Some(2), Some(3)));
        assert!(p["next_page"].as_str().unwrap().contains("page=2"));
        assert!(p["prev_page"].is_null());
        let (_, last) = get("/v1/customers?per_page=2&page=2".into()).await;
        assert_eq!(last["customers"].as_array().unwrap().len(), 1);
        assert!(last["meta"]["pagination"]["next_page"].is_null());
        let (_, by) = get("/v1/tickets?customer=c1%40example.com".into()).await;
        assert_eq!(by["tickets"].as_array().unwrap().len(), 1);
        let (_, closed) = get("/v1/tickets?state=closed".into()).await;
        assert_eq!(closed["tickets"].as_array().unwrap().len(), 1);
        let mb = boxes[1]["id"].as_str().unwrap();
        let (_, inbox) = get(format!("/v1/tickets?mailbox={mb}")).await;
        assert_eq!(inbox["tickets"].as_array().unwrap().len(), 2);
        let n = by["tickets"][0]["number"].as_u64().unwrap();
        let (_, msgs) = get(format!("/v1/tickets/{n}/messages")).await;
        let href = msgs["messages"][0]["href"].as_str().unwrap();
        let id = href.rsplit('/').next().unwrap();
        let (s, m) = get(format!("/v1/messages/{id}")).await;
        assert_eq!((s, m["message"]["note"].as_bool()), (200, Some(false)));
        let (s, st) = get(format!("/v1/tickets/{n}/state")).await;
        assert_eq!((s, st["state"].as_str()), (200, Some("opened")));
        // Groups (teams) are created and listed apart from mailboxes.
        let (s, _) = post("/v1/groups", json!({ "name": "Tier 2" })).await;
        assert_eq!(s, 201);
        let (s, again) = post("/v1/groups", json!({ "name": "Tier 2" })).await;
        assert_eq!(s, 422, "{again}");
        let (_, groups) = get("/v1/groups".into()).await;
        assert_eq!(groups["groups"].as_array().unwrap().len(), 1);
        // The knowledge base.
        let (_, kbs) = get("/v1/kb".into()).await;
        let kb = kbs["knowledge_bases"][0]["id"].as_str().unwrap().to_string();
        let (s, cat) = call(&c, &url, &token, reqwest::Method::POST, &format!("/v1/kb/{kb}/categories"), Some(json!({ "title": "Billing" }))).await;
        assert_eq!(s, 201);
        let cid = cat["category"]["id"].as_str().unwrap().to_string();
        let (s, art) = call(&c, &url, &token, reqwest::Method::POST, &format!("/v1/kb/{kb}/articles"), Some(json!({ "title": "Refunds", "body": "<p>b</p>", "category_id": cid }))).await;
        assert_eq!(s, 201);
        assert_eq!(art["article"]["state"], "draft");
        let (s, _) = call(&c, &url, &token, reqwest::Method::POST, &format!("/v1/kb/{kb}/articles"), Some(json!({ "title": "x", "category_id": "nope" }))).await;
        assert_eq!(s, 422);
        let (_, arts) = get(format!("/v1/kb/{kb}/articles?category_id={cid}")).await;
        assert_eq!(arts["articles"].as_array().unwrap().len(), 1);
        // v2: contacts by address, companies, nodes, request errors with HTTP 200.
        let q = "query($filter: ContactFilter) { contacts(filter: $filter) { nodes { id } } }";
        let (_, v) = post("/v2/graphql", json!({ "query": q, "variables": { "filter": { "email": "c0@example.com" } } })).await;
        let contact = v["data"]["contacts"]["nodes"][0]["id"].as_str().unwrap().to_string();
        let q = "query($id: ID!) { node(id: $id) { id } }";
        let (_, v) = post("/v2/graphql", json!({ "query": q, "variables": { "id": contact } })).await;
        assert_eq!(v["data"]["node"]["email"], "c0@example.com");
        let (s, v) = post("/v2/graphql", json!({ "query": "{ nothing" })).await;
        assert_eq!(s, 200);
        assert!(v["errors"][0]["message"].is_string(), "{v}");
        // Refusals.
        let (s, v) = get("/v1/tickets/424242".into()).await;
        assert_eq!((s, v["errors"].as_str()), (404, Some("Resource not found")));
        let (s, v) = post("/v1/tickets", json!({ "body": "x", "from": agent, "to": agent })).await;
        assert_eq!(s, 422, "{v}");
        let (s, _) = call(&c, &url, "wrong", reqwest::Method::GET, "/v1/agents", None).await;
        assert_eq!(s, 401);
        let q = reqwest::get(format!("{url}/v1/agents?access_token={token}")).await.unwrap();
        assert_eq!(q.status().as_u16(), 200);
        sim.stop().await.unwrap();
    });
}
