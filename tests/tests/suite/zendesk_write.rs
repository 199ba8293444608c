//! The simulated Zendesk's write side over real HTTP: what a target writes through Zendesk's API
//! (users, organizations, groups, field definitions, uploads, the Ticket Import API and its
//! bulk jobs) lands as canonical records in the account's `Desk`, and the read side (the very
//! endpoints the extractor uses) shows it with the times, authors and files it was given. Every
//! answer is validated against Zendesk's OpenAPI file (skipped, and said so, without it).

use std::time::Duration;

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::sim::zendesk::{self, ZendeskConfig, ZendeskSim};
use deskferry_fixtures::sim::{Desk, SimOptions, Store};
use deskferry_format::model::{Comment, Ticket};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn start(desk: Desk, bulk_user_import: bool) -> ZendeskSim {
    let options = SimOptions { time_scale: 60.0, ..SimOptions::default() };
    let config = ZendeskConfig { options, bulk_user_import, ..ZendeskConfig::default() };
    let sim = zendesk::start(desk, config).await.expect("start the simulated Zendesk");
    sim.api.log.set_capture_bodies(true);
    sim
}

struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    fn new(sim: &ZendeskSim) -> Api {
        Api { http: reqwest::Client::new(), base: sim.url(), auth: sim.basic_auth() }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = rb.header("authorization", &self.auth).send().await.expect("send");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self.send(self.http.get(format!("{}{path}", self.base))).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    async fn upload(&self, name: &str, bytes: &[u8], token: Option<&str>) -> (u16, Value) {
        let mut url = format!("{}/api/v2/uploads?filename={name}", self.base);
        if let Some(t) = token {
            url.push_str(&format!("&token={t}"));
        }
        let rb = self.http.post(url).header("content-type", "image/png").body(bytes.to_vec());
        self.send(rb).await
    }

    /// Polls a job until it completes.
    async fn job(&self, started: &Value) -> Value {
        assert_eq!(started["job_status"]["status"], "queued", "{started}");
        let id = started["job_status"]["id"].as_str().expect("job id");
        for _ in 0..50 {
            let j = self.get(&format!("/api/v2/job_statuses/{id}")).await;
            if j["job_status"]["status"] == "completed" {
                return j["job_status"].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {id} never completed");
    }
}

fn tiny_desk() -> (Dataset, Desk) {
    let ds = Dataset::generate(1, Size::Tiny);
    let desk = Desk::new(Store::from_dataset(ds.clone()));
    (ds, desk)
}

/// A ticket imported with history keeps its times, authors, tags, field values and files; the
/// read endpoints and the account's census show it as given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_ticket_keeps_its_history_and_files() {
    let (ds, desk) = tiny_desk();
    let sim = start(desk.clone(), false).await;
    let api = Api::new(&sim);
    let agent = ds.users.iter().find(|u| u.role_raw.as_deref() == Some("agent")).expect("agent");
    let customer =
        ds.users.iter().find(|u| u.role_raw.as_deref() == Some("end-user")).expect("end user");
    let field = ds.custom_fields.iter().find(|f| f.field_type == "text").expect("a text field");

    // Two files under one token, the second added to the first's token.
    let (a, b) = (b"first file".to_vec(), vec![7u8; 70_000]);
    let (s, up) = api.upload("one.png", &a, None).await;
    assert_eq!(s, 201, "{up}");
    let token = up["upload"]["token"].as_str().expect("token").to_string();
    assert_eq!(token.len(), 25);
    let (s, up2) = api.upload("two.png", &b, Some(&token)).await;
    assert_eq!(s, 201, "{up2}");
    assert_eq!(up2["upload"]["attachments"].as_array().map(Vec::len), Some(2), "{up2}");

    let body = json!({ "ticket": {
        "external_id": "kit:ticket:1",
        "subject": "Imported with history",
        "requester_id": customer.id.parse::<u64>().unwrap(),
        "assignee_id": agent.id,
        "status": "solved",
        "priority": "high",
        "tags": ["imported", "vip"],
        "custom_fields": [{ "id": field.id.parse::<u64>().unwrap(), "value": "ABC-1" }, { "id": 1, "value": "ignored" }],
        "created_at": "2019-03-01T10:00:00Z",
        "updated_at": "2019-03-02T12:00:00Z",
        "solved_at": "2019-03-02T11:00:00Z",
        "comments": [
            { "author_id": customer.id, "value": "It broke.", "created_at": "2019-03-01T10:00:00Z" },
            { "author_id": agent.id, "html_body": "<p>Fixed, see the <b>files</b>.</p>", "public": false,
              "created_at": "2019-03-02T11:00:00Z", "uploads": [token] },
        ],
    }});
    let (s, t) = api.post("/api/v2/imports/tickets", body.clone()).await;
    assert_eq!(s, 201, "{t}");
    let id = t["ticket"]["id"].as_u64().expect("id");
    assert_eq!(t["ticket"]["created_at"], "2019-03-01T10:00:00Z");
    assert_eq!(t["ticket"]["updated_at"], "2019-03-02T12:00:00Z");
    assert_eq!(t["ticket"]["external_id"], "kit:ticket:1");
    assert_eq!(t["ticket"]["status"], "solved");

    let comments = api.get(&format!("/api/v2/tickets/{id}/comments")).await;
    let list = comments["comments"].as_array().expect("comments");
    assert_eq!(list.len(), 2, "{comments}");
    assert_eq!(list[0]["author_id"].to_string(), customer.id);
    assert_eq!(list[0]["created_at"], "2019-03-01T10:00:00Z");
    assert_eq!(list[1]["public"], false);
    assert_eq!(list[1]["created_at"], "2019-03-02T11:00:00Z");
    let files = list[1]["attachments"].as_array().expect("attachments");
    assert_eq!(files.len(), 2, "both files of the token: {}", list[1]);
    for (f, want) in files.iter().zip([&a, &b]) {
        let url = f["content_url"].as_str().expect("content_url");
        let bytes = reqwest::get(url).await.expect("download").bytes().await.expect("bytes");
        assert_eq!(Sha256::digest(&bytes), Sha256::digest(want), "{url}");
    }
    let found = api.get("/api/v2/tickets?external_id=kit:ticket:1").await;
    assert_eq!(found["tickets"][0]["id"].as_u64(), Some(id), "{found}");

    // In canonical form, as a census or an extraction sees it.
    {
        let r = desk.read();
        let t: &Ticket = r.store.tickets.iter().find(|t| t.id == id.to_string()).expect("ticket");
        assert_eq!(t.tags, ["imported", "vip"]);
        assert_eq!(t.custom_fields.len(), 1, "{:?}", t.custom_fields);
        assert_eq!(t.custom_fields[0].key, field.key);
        assert_eq!(t.solved_at.map(|s| s.to_rfc3339()), Some("2019-03-02T11:00:00+00:00".into()));
        let cs: Vec<&Comment> = r.store.comments.iter().filter(|c| c.ticket_id == t.id).collect();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[1].author_id.as_deref(), Some(agent.id.as_str()));
        assert_eq!(cs[1].attachment_ids.len(), 2);
    }
    let census = desk.census().counts();
    assert_eq!(census["tickets"], ds.tickets.len() + 1, "{census:?}");

    // A used token attaches nothing the second time (Zendesk ignores it; only a read-back
    // tells), and what the API refuses is refused with Zendesk's 422.
    let mut again = body.clone();
    again["ticket"]["external_id"] = json!("kit:ticket:2");
    let (s, t2) = api.post("/api/v2/imports/tickets", again).await;
    assert_eq!(s, 201, "{t2}");
    let id2 = t2["ticket"]["id"].as_u64().unwrap();
    let c2 = api.get(&format!("/api/v2/tickets/{id2}/comments")).await;
    assert_eq!(c2["comments"][1]["attachments"], json!([]), "{c2}");
    let mut bad = body.clone();
    bad["ticket"]["requester_id"] = json!(987_654_321);
    let (s, e) = api.post("/api/v2/imports/tickets", bad).await;
    assert_eq!((s, e["error"].as_str()), (422, Some("RecordInvalid")), "{e}");
    assert!(e["details"]["requester"].is_array(), "{e}");
    let mut bad = body.clone();
    bad["ticket"]["comments"][0]["author_id"] = json!(987_654_321);
    let (s, e) = api.post("/api/v2/imports/tickets", bad).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        desk.census().counts()["tickets"],
        ds.tickets.len() + 2,
        "nothing of a refused import"
    );

    // The export shows the imported ticket with its own times.
    let export = api.get("/api/v2/incremental/tickets/cursor?start_time=0").await;
    let exported = export["tickets"].as_array().unwrap().iter().find(|t| t["id"] == json!(id));
    assert_eq!(exported.map(|t| t["created_at"].clone()), Some(json!("2019-03-01T10:00:00Z")));

    deskferry_tests::zendesk_openapi_check(
        &sim.api.log,
        &[
            "POST /api/v2/imports/tickets",
            "POST /api/v2/uploads",
            "/api/v2/tickets/{ticket_id}/comments",
        ],
    );
    sim.stop().await.unwrap();
}

/// Bulk endpoints answer a queued job; its results, once completed, say what each record became.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_are_jobs_with_a_result_per_record() {
    let (ds, desk) = tiny_desk();
    let sim = start(desk.clone(), false).await;
    let api = Api::new(&sim);
    let known = ds.users.iter().find(|u| u.email.is_some()).expect("a user with email");
    let users = json!({ "users": [
        { "name": "New Person", "email": "new.person@example.com", "external_id": "kit:user:1" },
        { "name": "Renamed", "email": known.email.clone().unwrap().to_uppercase() },
    ]});
    // Off until Zendesk switches it on for the account.
    let (s, e) = api.post("/api/v2/users/create_or_update_many", users.clone()).await;
    assert_eq!(s, 403, "{e}");
    sim.stop().await.unwrap();

    let sim = start(desk.clone(), true).await;
    let api = Api::new(&sim);
    let (s, started) = api.post("/api/v2/users/create_or_update_many", users).await;
    assert_eq!(s, 200, "{started}");
    let job = api.job(&started).await;
    let results = job["results"].as_array().expect("results");
    // Created `{id, index}`, updated `{action, id, status, success}`.
    assert_eq!(
        (&results[0]["index"], &results[1]["status"]),
        (&json!(0), &json!("Updated")),
        "{job}"
    );
    assert_eq!(results[1]["id"].to_string(), known.id, "matched by email, case-insensitively");
    let renamed = api.get(&format!("/api/v2/users/{}", known.id)).await;
    assert_eq!(renamed["user"]["name"], "Renamed");

    let taken = ds.organizations[0].name.clone();
    let orgs = json!({ "organizations": [
        { "name": "Kit Org", "external_id": "kit:org:1", "domain_names": ["kit.example"] },
        { "name": taken.to_lowercase() },
    ]});
    let (s, started) = api.post("/api/v2/organizations/create_many", orgs).await;
    assert_eq!(s, 200, "{started}");
    let job = api.job(&started).await;
    assert!(job["results"][0]["id"].is_u64(), "{job}");
    assert_eq!(job["results"][1]["success"], false, "a taken name: {job}");
    assert!(job["results"][1]["details"].as_str().unwrap_or("").contains("already been taken"));
    let found = api.get("/api/v2/organizations/search?external_id=KIT:ORG:1").await;
    assert_eq!(found["count"], 1, "{found}");

    let requester = ds.users.iter().find(|u| u.role_raw.as_deref() == Some("end-user")).unwrap();
    let many: Vec<Value> = (0..3)
        .map(|i| json!({ "subject": format!("bulk {i}"), "requester_id": requester.id, "external_id": format!("kit:bulk:{i}"),
            "comments": [{ "author_id": requester.id, "value": "hello", "created_at": "2020-01-01T00:00:00Z" }] }))
        .chain([json!({ "subject": "no requester" })])
        .collect();
    let (s, started) =
        api.post("/api/v2/imports/tickets/create_many", json!({ "tickets": many })).await;
    assert_eq!(s, 200, "{started}");
    let job = api.job(&started).await;
    let ok = job["results"].as_array().unwrap().iter().filter(|r| r["id"].is_u64()).count();
    assert_eq!(ok, 3, "{job}");
    assert_eq!(job["results"][3]["success"], false, "{job}");
    let too_many: Vec<Value> = (0..101).map(|_| json!({ "subject": "x" })).collect();
    let (s, e) =
        api.post("/api/v2/imports/tickets/create_many", json!({ "tickets": too_many })).await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(desk.census().counts()["tickets"], ds.tickets.len() + 3);

    deskferry_tests::zendesk_openapi_check(
        &sim.api.log,
        &["POST /api/v2/users/create_or_update_many", "/api/v2/job_statuses/{job_status_id}"],
    );
    sim.stop().await.unwrap();
}

/// Users and organizations are created once and then found again (by external id, by email);
/// groups and field definitions are created and listed like seeded ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_and_structure_are_created_once_then_updated() {
    let desk = Desk::empty();
    let sim = start(desk.clone(), false).await;
    let api = Api::new(&sim);
    let user = json!({ "user": { "name": "Ada", "email": "ada@example.com", "external_id": "kit:u:1", "role": "agent" } });
    let (s, u) = api.post("/api/v2/users/create_or_update", user.clone()).await;
    assert_eq!(s, 201, "{u}");
    let (s, u2) = api.post("/api/v2/users/create_or_update", user).await;
    assert_eq!((s, &u2["user"]["id"]), (200, &u["user"]["id"]), "the same user again");
    let (s, e) = api
        .post("/api/v2/users/create_or_update", json!({ "user": { "email": "x@example.com" } }))
        .await;
    assert_eq!(s, 422, "a new user needs a name: {e}");

    let org = json!({ "organization": { "name": "Acme", "external_id": "kit:o:1" } });
    let (s, o) = api.post("/api/v2/organizations", org.clone()).await;
    assert_eq!(s, 201, "{o}");
    let (s, e) =
        api.post("/api/v2/organizations", json!({ "organization": { "name": "ACME" } })).await;
    assert_eq!((s, e["error"].as_str()), (422, Some("RecordInvalid")), "{e}");
    let (s, o2) = api
        .post(
            "/api/v2/organizations/create_or_update",
            json!({ "organization": { "external_id": "kit:o:1", "notes": "n" } }),
        )
        .await;
    assert_eq!((s, &o2["organization"]["id"]), (200, &o["organization"]["id"]), "{o2}");

    let (s, g) = api
        .post(
            "/api/v2/groups",
            json!({ "group": { "name": "Support", "description": "first line" } }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let (s, f) = api
        .post(
            "/api/v2/ticket_fields",
            json!({ "ticket_field": { "type": "tagger", "title": "Product",
            "custom_field_options": [{ "name": "Widget", "value": "widget" }] } }),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    let fields = api.get("/api/v2/ticket_fields").await;
    assert!(
        fields["ticket_fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == f["ticket_field"]["id"])
    );
    let uf = json!({ "user_field": { "type": "text", "title": "Badge", "key": "badge" } });
    let (s, _) = api.post("/api/v2/user_fields", uf.clone()).await;
    assert_eq!(s, 201);
    let (s, e) = api.post("/api/v2/user_fields", uf).await;
    assert_eq!(s, 422, "a key is unique: {e}");

    let c = desk.census().counts();
    assert_eq!(
        (c["users"], c["organizations"], c["groups"], c["custom_fields"]),
        (1, 1, 1, 2),
        "{c:?}"
    );
    deskferry_tests::zendesk_openapi_check(
        &sim.api.log,
        &[
            "POST /api/v2/users/create_or_update",
            "POST /api/v2/organizations",
            "POST /api/v2/groups",
            "POST /api/v2/ticket_fields",
        ],
    );
    sim.stop().await.unwrap();
}

/// Help Center: categories, sections, articles, translations and article attachments are
/// created as Zendesk creates them and read back in every locale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_center_is_written_in_every_locale() {
    let (ds, desk) = tiny_desk();
    let sim = start(desk.clone(), false).await;
    let api = Api::new(&sim);
    let before = desk.census().counts();
    let author = ds.users.iter().find(|u| u.role_raw.as_deref() == Some("agent")).expect("agent");

    let (s, c) = api
        .post(
            "/api/v2/help_center/categories",
            json!({ "category": { "name": "Kit guides", "locale": "en-us", "position": 3 } }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["category"]["id"].as_u64().unwrap();
    let (s, sec) = api
        .post(
            &format!("/api/v2/help_center/categories/{cid}/sections"),
            json!({ "section": { "name": "Setup", "locale": "en-us" } }),
        )
        .await;
    assert_eq!(s, 201, "{sec}");
    assert_eq!(sec["section"]["category_id"].as_u64(), Some(cid));
    let sid = sec["section"]["id"].as_u64().unwrap();
    let article = json!({ "article": { "title": "Install", "body": "<p>Run it.</p>", "locale": "en-us",
        "author_id": author.id, "permission_group_id": 1, "user_segment_id": null, "label_names": ["setup"], "draft": true } });
    let (s, e) = api
        .post(
            &format!("/api/v2/help_center/sections/{sid}/articles"),
            json!({ "article": { "title": "No group" } }),
        )
        .await;
    assert_eq!(s, 422, "an article needs a permission group: {e}");
    let (s, a) = api.post(&format!("/api/v2/help_center/sections/{sid}/articles"), article).await;
    assert_eq!(s, 201, "{a}");
    let aid = a["article"]["id"].as_u64().unwrap();
    assert_eq!(
        (a["article"]["draft"].as_bool(), a["article"]["author_id"].to_string()),
        (Some(true), author.id.clone())
    );

    let tr = json!({ "translation": { "locale": "de", "title": "Installieren", "body": "<p>Ausführen.</p>" } });
    let (s, t) =
        api.post(&format!("/api/v2/help_center/articles/{aid}/translations"), tr.clone()).await;
    assert_eq!(s, 201, "{t}");
    let (s, e) = api.post(&format!("/api/v2/help_center/articles/{aid}/translations"), tr).await;
    assert_eq!(s, 422, "one translation a locale: {e}");
    let list = api.get(&format!("/api/v2/help_center/articles/{aid}/translations")).await;
    let locales: Vec<&str> = list["translations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["locale"].as_str())
        .collect();
    assert_eq!(locales, ["en-us", "de"], "{list}");

    let png = vec![0x89u8, b'P', b'N', b'G', 1, 2, 3];
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("shot.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("inline", "true");
    let (s, att) = api
        .send(
            api.http
                .post(format!("{}/api/v2/help_center/articles/{aid}/attachments", api.base))
                .multipart(form),
        )
        .await;
    assert_eq!(s, 201, "{att}");
    assert_eq!(att["article_attachment"]["inline"], true);
    let listed = api.get(&format!("/api/v2/help_center/articles/{aid}/attachments")).await;
    let url =
        listed["article_attachments"][0]["content_url"].as_str().expect("content_url").to_string();
    let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), png.as_slice());

    let after = desk.census().counts();
    assert_eq!(after["kb_categories"], before["kb_categories"] + 1);
    assert_eq!(after["kb_sections"], before["kb_sections"] + 1);
    assert_eq!(after["kb_articles"], before["kb_articles"] + 2, "the article and its translation");
    deskferry_tests::zendesk_openapi_check(
        &sim.api.log,
        &[
            "POST /api/v2/help_center/categories",
            "POST /api/v2/help_center/sections/{section_id}/articles",
            "POST /api/v2/help_center/articles/{article_id}/translations",
        ],
    );
    sim.stop().await.unwrap();
}
