//! The simulated Front Core API: every endpoint over real HTTP on 127.0.0.1, and the simulator's
//! record of the wire (every request, GETs and refused ones included, multipart bodies as sent,
//! and every answer, errors included) checked against Front's OpenAPI file
//! (`front/core-api.json` in the folder `deskferry_tests::vendor_specs` finds; skipped, and said
//! so, without it) by `tests/interop/openapi_validate.py` (openapi-core).

use std::time::Duration;

use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::front::{
    self, FrontConfig, FrontPlan, FrontSeed, FrontServer, SeedTeammate,
};
use deskferry_fixtures::sim::log::EXPECT_HEADER;
use deskferry_tests::{OpenApiCoverage, openapi_check};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// One answer as the test sees it.
struct Ans {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
    json: Value,
}

impl Ans {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client of the simulated Front; the simulator's request log is what gets validated.
struct Rec {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rec {
    fn new(server: &FrontServer) -> Self {
        Rec {
            http: reqwest::Client::new(),
            base: server.running.url(),
            token: server.state.token().to_string(),
        }
    }

    /// `path` may be absolute (a `_pagination.next` link) or start with `/`.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) }
    }

    async fn finish(resp: reqwest::Response) -> Ans {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("read body").to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ans { status, headers, bytes, json }
    }

    /// A request; `note` says why it is sent, and one starting `invalid:` marks a request the
    /// spec refuses, sent on purpose (the validator then requires the spec to refuse it and
    /// the simulator to answer with an error).
    async fn call(&self, method: Method, path: &str, body: Option<Value>, note: &str) -> Ans {
        let mut rb = self.http.request(method, self.url(path)).bearer_auth(&self.token);
        if note.starts_with("invalid:") {
            rb = rb.header(EXPECT_HEADER, "invalid");
        }
        if let Some(b) = &body {
            rb = rb.json(b);
        }
        Rec::finish(rb.send().await.expect("send")).await
    }

    async fn get(&self, path: &str) -> Ans {
        self.call(Method::GET, path, None, "").await
    }

    /// Sends `form` (the validator reads its fields and files from the bytes as sent).
    async fn multipart(&self, path: &str, form: Form) -> Ans {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("send");
        Rec::finish(resp).await
    }

    /// Follows `_pagination.next` to the end, returning every result.
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(p) = next {
            let a = self.get(&p).await;
            assert_eq!(a.status, 200, "{p}: {}", a.json);
            out.extend(a.json["_results"].as_array().cloned().unwrap_or_default());
            next = a.json["_pagination"]["next"].as_str().map(str::to_string);
        }
        out
    }
}

/// The validator's arguments for Front: the spec defects it corrects, Front's error body.
pub(crate) const FRONT_OPENAPI: &[&str] =
    &["--fix", "nullable-ref", "--fix", "null-described", "--error-shape", "front"];

/// Checks the simulator's record of the wire against Front's OpenAPI file; `None` (said so)
/// without the file.
pub(crate) fn validate(server: &FrontServer) -> Option<OpenApiCoverage> {
    let specs = deskferry_tests::vendor_specs("front")?;
    Some(openapi_check(&server.running.log, &specs.join("core-api.json"), FRONT_OPENAPI))
}

fn seed() -> FrontSeed {
    let mut s = FrontSeed::minimal();
    s.teammates.push(SeedTeammate {
        email: "Gone@Example.com".into(),
        name: "Suspended Sue".into(),
        is_admin: false,
        is_blocked: true,
    });
    s
}

async fn start(config: FrontConfig, time_scale: f64) -> FrontServer {
    let options = SimOptions { time_scale, seed: 7, ..SimOptions::default() };
    let config = FrontConfig { record_exchanges: true, ..config };
    front::start(&options, config, &seed(), 0).await.expect("start front sim")
}

fn import_body(external_id: &str, thread: &str, inbound: bool, created_at: i64) -> Value {
    json!({
        "sender": {"handle": "customer@example.org", "name": "Ünïcode Cüstomer"},
        "to": ["support@example.com"],
        "cc": ["boss@example.org"],
        "subject": "Printer on fire 🔥",
        "body": "<p>Help <b>now</b></p>",
        "body_format": "html",
        "external_id": external_id,
        "created_at": created_at,
        "type": "email",
        "tags": ["vip", "two words"],
        "metadata": {"thread_ref": thread, "is_inbound": inbound, "is_archived": false},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_as_the_spec_says() {
    // A long delay plus flush_imports makes "not visible yet" deterministic without timing.
    let config = FrontConfig {
        plan: FrontPlan::Custom(100_000),
        processing_delay: Duration::from_secs(3600),
        burst_per_second: None,
        max_attachment_bytes: 1_000,
        record_exchanges: true,
        ..FrontConfig::default()
    };
    let server = start(config, 1.0).await;
    let c = Rec::new(&server);

    // Auth and unknown routes.
    let a = c.http.get(c.url("/teammates")).header(EXPECT_HEADER, "invalid").send().await.unwrap();
    assert_eq!(a.status(), 401);
    let a = c.call(Method::GET, "/no/such/route", None, "invalid: no such operation").await;
    assert_eq!((a.status, a.json["_error"]["status"].as_u64()), (404, Some(404)));

    // Teammates: read-only, seeded, alias lookup case-insensitive.
    let tm = c.get("/teammates").await;
    assert_eq!(tm.status, 200);
    let teammates = tm.json["_results"].as_array().unwrap().clone();
    assert_eq!(teammates.len(), 3);
    let admin_id = teammates[0]["id"].as_str().unwrap().to_string();
    let agent_id = teammates[1]["id"].as_str().unwrap().to_string();
    assert!(admin_id.starts_with("tea_"));
    assert_eq!(teammates[2]["is_blocked"], true);
    let a = c.get(&format!("/teammates/{admin_id}")).await;
    assert_eq!(a.json["email"], "admin@example.com");
    let a = c.get("/teammates/alt:email:AGENT@example.com").await;
    assert_eq!(a.json["id"], agent_id.as_str());
    assert_eq!(c.get("/teammates/tea_nope").await.status, 404);
    assert_eq!(
        c.call(
            Method::POST,
            "/teammates",
            Some(json!({"email": "x@y.z"})),
            "invalid: no such operation"
        )
        .await
        .status,
        405
    );

    // Custom field definitions: list-only, pre-seeded.
    for (path, name) in [
        ("/contacts/custom_fields", "Plan"),
        ("/accounts/custom_fields", "Tier"),
        ("/conversations/custom_fields", "Priority"),
    ] {
        let a = c.get(path).await;
        assert_eq!(a.json["_results"][0]["name"], name, "{path}");
    }

    // Inboxes.
    let a = c.get("/inboxes").await;
    let inbox_id = a.json["_results"][0]["id"].as_str().unwrap().to_string();
    assert!(inbox_id.starts_with("inb_"));
    let a = c
        .call(
            Method::POST,
            "/inboxes",
            Some(json!({"name": "Billing", "teammate_ids": [agent_id], "is_public": true})),
            "",
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let billing_id = a.json["id"].as_str().unwrap().to_string();
    assert_eq!(c.get(&format!("/inboxes/{billing_id}")).await.json["name"], "Billing");

    // Tags.
    let a = c
        .call(Method::POST, "/tags", Some(json!({"name": "escalated", "highlight": "red"})), "")
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let tag_id = a.json["id"].as_str().unwrap().to_string();
    assert!(tag_id.starts_with("tag_"));
    assert_eq!(
        c.call(Method::POST, "/tags", Some(json!({"name": "escalated"})), "duplicate").await.status,
        409
    );
    assert_eq!(c.get(&format!("/tags/{tag_id}")).await.json["name"], "escalated");

    // Contacts: handles unique, emails compared without case; custom fields must exist.
    let a = c
        .call(Method::POST, "/contacts", Some(json!({"name": "Cüstomer", "handles": [{"handle": "customer@example.org", "source": "email"}], "custom_fields": {"Plan": "pro"}})), "")
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let contact_id = a.json["id"].as_str().unwrap().to_string();
    let a = c
        .call(
            Method::POST,
            "/contacts",
            Some(json!({"handles": [{"handle": "+15550100", "source": "phone"}]})),
            "no name",
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let phone_contact = a.json["id"].as_str().unwrap().to_string();
    let a = c
        .call(
            Method::POST,
            "/contacts",
            Some(json!({"handles": [{"handle": "CUSTOMER@example.org", "source": "email"}]})),
            "case twin",
        )
        .await;
    assert_eq!(a.status, 409);
    assert_eq!(
        c.call(Method::POST, "/contacts", Some(json!({"name": "x"})), "invalid: no handles")
            .await
            .status,
        400
    );
    let all = c.all("/contacts?limit=1").await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        c.get("/contacts/alt:email:Customer@Example.org").await.json["id"],
        contact_id.as_str()
    );
    assert_eq!(c.get("/contacts/alt:phone:+15550100").await.json["id"], phone_contact.as_str());
    // One more handle for a contact; one another contact holds is refused.
    let handles = format!("/contacts/{contact_id}/handles");
    let a = c
        .call(Method::POST, &handles, Some(json!({"handle": "+15550199", "source": "phone"})), "")
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(c.get("/contacts/alt:phone:+15550199").await.json["id"], contact_id.as_str());
    let a = c
        .call(
            Method::POST,
            &handles,
            Some(json!({"handle": "+15550100", "source": "phone"})),
            "held by another",
        )
        .await;
    assert_eq!(a.status, 409);
    let a = c
        .call(
            Method::PATCH,
            &format!("/contacts/{contact_id}"),
            Some(json!({"description": "VIP", "custom_fields": {"Plan": "enterprise"}})),
            "",
        )
        .await;
    assert_eq!(a.status, 204);
    let a = c
        .call(
            Method::PATCH,
            &format!("/contacts/{contact_id}"),
            Some(json!({"custom_fields": {"Nope": 1}})),
            "unknown field",
        )
        .await;
    assert_eq!(a.status, 400);
    let a = c.get(&format!("/contacts/{contact_id}")).await;
    assert_eq!(
        (a.json["description"].as_str(), a.json["custom_fields"]["Plan"].as_str()),
        (Some("VIP"), Some("enterprise"))
    );

    // Accounts.
    let a = c.call(Method::POST, "/accounts", Some(json!({"name": "Acme", "domains": ["acme.test"], "external_id": "org-1", "custom_fields": {"Tier": "gold"}})), "").await;
    assert_eq!(a.status, 201, "{}", a.json);
    let account_id = a.json["id"].as_str().unwrap().to_string();
    assert!(account_id.starts_with("acc_"));
    assert_eq!(
        c.call(
            Method::POST,
            "/accounts",
            Some(json!({"name": "Acme 2", "external_id": "org-1"})),
            "dup external_id"
        )
        .await
        .status,
        409
    );
    // Front documents `alt:ext_id:` and `alt:domain:` for accounts; nothing else resolves.
    assert_eq!(c.get("/accounts/alt:ext_id:org-1").await.json["id"], account_id.as_str());
    assert_eq!(c.get("/accounts/alt:domain:ACME.test").await.json["id"], account_id.as_str());
    assert_eq!(c.get("/accounts/alt:external_id:org-1").await.status, 404);
    assert_eq!(c.get("/contacts/alt:mail:customer@example.org").await.status, 404);
    let a = c
        .call(
            Method::PATCH,
            &format!("/accounts/{account_id}"),
            Some(json!({"description": "Roadrunner supplies"})),
            "",
        )
        .await;
    assert_eq!((a.status, a.json["description"].as_str()), (200, Some("Roadrunner supplies")));
    let a = c
        .call(
            Method::POST,
            &format!("/accounts/{account_id}/contacts"),
            Some(json!({"contact_ids": [contact_id, "alt:phone:+15550100"]})),
            "",
        )
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(c.all(&format!("/accounts/{account_id}/contacts")).await.len(), 2);
    assert_eq!(c.all("/accounts").await.len(), 1);
    assert_eq!(c.get(&format!("/accounts/{account_id}")).await.json["external_id"], "org-1");

    // Import, inbound, JSON: accepted, invisible until processed.
    let a = c
        .call(
            Method::POST,
            &format!("/inboxes/{inbox_id}/imported_messages"),
            Some(import_body("src-1", "ticket-1", true, 1_500_000_000)),
            "json import",
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.json);
    assert_eq!(a.json["status"], "accepted");
    let uid1 = a.json["message_uid"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(&format!("/messages/alt:uid:{uid1}")).await.status,
        404,
        "visible before processing"
    );
    assert_eq!(c.all("/conversations").await.len(), 0);

    // Outbound reply with an attachment, multipart, same thread, credited to a teammate.
    let file = b"%PDF-1.4 fake \x00\xff bytes".to_vec();
    let form = Form::new()
        .text("sender[handle]", "agent@example.com")
        .text("sender[author_id]", "alt:email:agent@example.com")
        .text("to[0]", "customer@example.org")
        .text("body", "Fixed. See attached.")
        .text("external_id", "src-2")
        .text("created_at", "1500000600")
        .text("metadata[thread_ref]", "ticket-1")
        .text("metadata[is_inbound]", "false")
        .text("metadata[is_archived]", "true")
        .part(
            "attachments[0]",
            Part::bytes(file.clone())
                .file_name("répört (1).pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let a = c.multipart(&format!("/inboxes/{inbox_id}/imported_messages"), form).await;
    assert_eq!(a.status, 202, "{}", a.json);
    let uid2 = a.json["message_uid"].as_str().unwrap().to_string();

    // Same external_id again: 202 with the first uid, nothing new.
    let a = c
        .call(
            Method::POST,
            &format!("/inboxes/{inbox_id}/imported_messages"),
            Some(import_body("src-1", "other-thread", true, 1_600_000_000)),
            "dedupe",
        )
        .await;
    assert_eq!((a.status, a.json["message_uid"].as_str()), (202, Some(uid1.as_str())));

    // Refusals at the door.
    let mut bad = import_body("src-x", "t", true, 1);
    bad["metadata"].as_object_mut().unwrap().remove("is_inbound");
    assert_eq!(
        c.call(
            Method::POST,
            &format!("/inboxes/{inbox_id}/imported_messages"),
            Some(bad),
            "invalid: no is_inbound"
        )
        .await
        .status,
        400
    );
    let mut bad = import_body("src-y", "t", true, 1);
    bad["created_at"] = json!("2017-07-14T02:40:00Z");
    assert_eq!(
        c.call(
            Method::POST,
            &format!("/inboxes/{inbox_id}/imported_messages"),
            Some(bad),
            "invalid: created_at as text"
        )
        .await
        .status,
        400
    );
    assert_eq!(
        c.call(
            Method::POST,
            "/inboxes/inb_nope/imported_messages",
            Some(import_body("src-z", "t", true, 1)),
            "unknown inbox"
        )
        .await
        .status,
        404
    );
    let big = Form::new()
        .text("sender[handle]", "customer@example.org")
        .text("to[0]", "support@example.com")
        .text("body", "big")
        .text("external_id", "src-big")
        .text("created_at", "1500000000")
        .text("metadata[is_inbound]", "true")
        .part("attachments[0]", Part::bytes(vec![7u8; 1_001]).file_name("big.bin"));
    assert_eq!(
        c.multipart(&format!("/inboxes/{inbox_id}/imported_messages"), big).await.status,
        413
    );

    let counters = server.state.counters();
    assert_eq!(
        (counters.imports_accepted, counters.imports_deduplicated, counters.imports_processed),
        (2, 1, 0)
    );
    server.state.flush_imports();

    // Now visible: one conversation with both messages, created_at honoured.
    let m1 = c.get(&format!("/messages/alt:uid:{uid1}")).await;
    assert_eq!(m1.status, 200, "{}", m1.json);
    assert_eq!(m1.json["created_at"], 1_500_000_000);
    assert!(m1.json.get("author").is_none());
    let conv_id = m1.json["_links"]["related"]["conversation"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(conv_id.starts_with("cnv_"));
    let m2 = c.get(&format!("/messages/alt:uid:{uid2}")).await;
    assert_eq!(m2.json["author"]["id"], agent_id.as_str());
    assert_eq!(m2.json["is_inbound"], false);
    let att = m2.json["attachments"][0].clone();
    assert_eq!(
        (att["filename"].as_str(), att["size"].as_u64()),
        (Some("répört (1).pdf"), Some(file.len() as u64))
    );
    let msg2_id = m2.json["id"].as_str().unwrap().to_string();
    assert_eq!(c.get(&format!("/messages/{msg2_id}")).await.json["message_uid"], uid2.as_str());
    let convs = c.all("/conversations?limit=1").await;
    assert_eq!(convs.len(), 1);
    let conv = c.get(&format!("/conversations/{conv_id}")).await;
    assert_eq!(conv.json["status"], "archived", "the last import archived it");
    assert_eq!(conv.json["subject"], "Printer on fire 🔥");
    let tag_names: Vec<&str> =
        conv.json["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(tag_names, ["vip", "two words"]);
    let msgs = c.all(&format!("/conversations/{conv_id}/messages?limit=1")).await;
    let times: Vec<i64> = msgs.iter().filter_map(|m| m["created_at"].as_i64()).collect();
    assert_eq!(times, [1_500_000_600, 1_500_000_000], "newest first");
    assert_eq!(c.all(&format!("/inboxes/{inbox_id}/conversations")).await.len(), 1);
    assert_eq!(
        c.get(&format!("/conversations/{conv_id}/inboxes")).await.json["_results"][0]["id"],
        inbox_id.as_str()
    );

    // Attachment bytes come back unchanged.
    let fil = att["id"].as_str().unwrap().to_string();
    let d = c.get(&format!("/download/{fil}")).await;
    assert_eq!(
        (d.status, d.bytes.as_slice(), d.header("content-type")),
        (200, file.as_slice(), Some("application/pdf"))
    );
    assert_eq!(c.get(&format!("/messages/{msg2_id}/download/{fil}")).await.bytes, file);

    // Threading by conversation_id.
    let mut body = import_body("src-3", "ignored-ref", true, 1_500_001_000);
    body["conversation_id"] = json!(conv_id);
    body["assignee_id"] = json!(admin_id);
    body["metadata"]["is_archived"] = json!(false);
    let a = c
        .call(
            Method::POST,
            &format!("/inboxes/{inbox_id}/imported_messages"),
            Some(body),
            "conversation_id",
        )
        .await;
    assert_eq!(a.status, 202);
    server.state.flush_imports();
    assert_eq!(c.all(&format!("/conversations/{conv_id}/messages")).await.len(), 3);
    let conv = c.get(&format!("/conversations/{conv_id}")).await;
    assert_eq!(
        (conv.json["status"].as_str(), conv.json["assignee"]["id"].as_str()),
        (Some("assigned"), Some(admin_id.as_str()))
    );

    // Comments: JSON and multipart; dated now, author by alias or the token owner.
    let a = c.call(Method::POST, &format!("/conversations/{conv_id}/comments"), Some(json!({"author_id": "alt:email:agent@example.com", "body": "Internal: **check** warranty"})), "").await;
    assert_eq!(a.status, 201, "{}", a.json);
    assert_eq!(a.json["author"]["id"], agent_id.as_str());
    assert!(a.json["posted_at"].as_f64().unwrap() > 1_700_000_000.0);
    let com_id = a.json["id"].as_str().unwrap().to_string();
    assert!(com_id.starts_with("com_"));
    let note = b"note bytes".to_vec();
    let form = Form::new().text("body", "with file").part(
        "attachments[]",
        Part::bytes(note.clone()).file_name("note.txt").mime_str("text/plain").unwrap(),
    );
    let a = c.multipart(&format!("/conversations/{conv_id}/comments"), form).await;
    assert_eq!(a.status, 201, "{}", a.json);
    assert_eq!(a.json["author"]["id"], admin_id.as_str(), "token owner");
    let com2 = a.json["id"].as_str().unwrap().to_string();
    let note_fil = a.json["attachments"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(c.get(&format!("/download/{note_fil}")).await.bytes, note);
    assert_eq!(c.get(&format!("/comments/{com2}/download/{note_fil}")).await.bytes, note);
    assert_eq!(c.get(&format!("/comments/{com_id}/download/{note_fil}")).await.status, 404);
    assert_eq!(
        c.get(&format!("/conversations/{conv_id}/comments")).await.json["_results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.get(&format!("/comments/{com_id}")).await.json["body"],
        "Internal: **check** warranty"
    );
    assert_eq!(
        c.call(
            Method::POST,
            &format!("/conversations/{conv_id}/comments"),
            Some(json!({"author_id": "alt:email:nobody@x.y", "body": "x"})),
            "unknown author"
        )
        .await
        .status,
        400
    );

    // Conversation state.
    let path = format!("/conversations/{conv_id}");
    assert_eq!(c.call(Method::DELETE, &path, None, "not in trash").await.status, 400);
    for (patch, shown) in [
        (json!({"status": "open", "assignee_id": null}), "unassigned"),
        (json!({"assignee_id": agent_id}), "assigned"),
        (json!({"status": "archived"}), "archived"),
        (json!({"status": "spam"}), "deleted"),
        (json!({"status": "deleted", "custom_fields": {"Priority": "high"}}), "deleted"),
    ] {
        let a = c.call(Method::PATCH, &path, Some(patch.clone()), "").await;
        assert_eq!(a.status, 204, "{patch}");
        assert_eq!(c.get(&path).await.json["status"], shown, "{patch}");
    }
    assert_eq!(
        c.call(
            Method::PATCH,
            &path,
            Some(json!({"status": "closed"})),
            "invalid: status not in the enum"
        )
        .await
        .status,
        400
    );
    assert_eq!(
        c.call(
            Method::PUT,
            &format!("{path}/assignee"),
            Some(json!({"assignee_id": admin_id})),
            ""
        )
        .await
        .status,
        204
    );
    assert_eq!(
        c.call(Method::POST, &format!("{path}/tags"), Some(json!({"tag_ids": [tag_id]})), "")
            .await
            .status,
        204
    );
    assert_eq!(c.get(&path).await.json["tags"].as_array().unwrap().len(), 3);
    assert_eq!(
        c.call(Method::DELETE, &format!("{path}/tags"), Some(json!({"tag_ids": [tag_id]})), "")
            .await
            .status,
        204
    );
    let conv = c.get(&path).await;
    assert_eq!(conv.json["tags"].as_array().unwrap().len(), 2);
    assert_eq!(conv.json["custom_fields"]["Priority"], "high");
    assert_eq!(conv.json["assignee"]["id"], admin_id.as_str());
    assert_eq!(c.all("/tags").await.len(), 3);

    // Inbound sender became a contact only if unknown (it was created above).
    assert_eq!(c.all("/contacts").await.len(), 2);

    // Deletes free what they held (rollback helpers rely on it).
    assert_eq!(c.call(Method::DELETE, &format!("/tags/{tag_id}"), None, "").await.status, 204);
    assert_eq!(c.get(&format!("/tags/{tag_id}")).await.status, 404);
    assert_eq!(c.all("/tags").await.len(), 2);
    assert_eq!(
        c.call(Method::DELETE, &format!("/contacts/{phone_contact}"), None, "").await.status,
        204
    );
    assert_eq!(c.get("/contacts/alt:phone:+15550100").await.status, 404);
    let again = c
        .call(
            Method::POST,
            "/contacts",
            Some(json!({"handles": [{"handle": "+15550100", "source": "phone"}]})),
            "handle reused",
        )
        .await;
    assert_eq!(again.status, 201);
    assert_ne!(again.json["id"], phone_contact.as_str());
    assert_eq!(c.call(Method::DELETE, "/accounts/alt:ext_id:org-1", None, "").await.status, 204);
    assert_eq!(c.get(&format!("/accounts/{account_id}")).await.status, 404);
    assert!(c.all("/accounts").await.is_empty());

    // Trash, then delete for good.
    assert_eq!(c.call(Method::DELETE, &path, None, "").await.status, 204);
    assert_eq!(c.get(&path).await.status, 404);
    assert_eq!(c.get(&format!("/messages/alt:uid:{uid1}")).await.status, 404);
    assert!(c.all("/conversations").await.is_empty());

    // The wire as the simulator saw it: every request (the unauthenticated one, the refused
    // ones, every GET) and every answer; the three multipart bodies parsed from their bytes.
    if let Some(cov) = validate(&server) {
        assert_eq!(cov.multipart, 3, "{cov:?}");
        assert_eq!(cov.refused_invalid, 7, "every request sent against the spec: {cov:?}");
        assert!(cov.gets > 40 && cov.errors > 15, "{cov:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_become_visible_after_the_processing_delay() {
    let config =
        FrontConfig { processing_delay: Duration::from_millis(200), ..FrontConfig::default() };
    let server = start(config, 1.0).await;
    let c = Rec::new(&server);
    let inbox = c.get("/inboxes").await.json["_results"][0]["id"].as_str().unwrap().to_string();
    let a = c
        .call(
            Method::POST,
            &format!("/inboxes/{inbox}/imported_messages"),
            Some(import_body("e-1", "t", true, 1_400_000_000)),
            "",
        )
        .await;
    let uid = a.json["message_uid"].as_str().unwrap().to_string();
    // Poll as a loader would; the deadline only guards against a hang.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let found = loop {
        let a = c.get(&format!("/messages/alt:uid:{uid}")).await;
        if a.status == 200 {
            break a;
        }
        assert_eq!(a.status, 404);
        assert!(std::time::Instant::now() < deadline, "import never became visible");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(found.json["created_at"], 1_400_000_000);
    validate(&server);
}

/// The first 429 among `tries` reads of the teammates.
async fn first_refusal(c: &Rec, tries: usize) -> Option<Ans> {
    for _ in 0..tries {
        let a = c.get("/teammates").await;
        if a.status == 429 {
            return Some(a);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_limit_answers_429_with_front_headers() {
    let config = FrontConfig { plan: FrontPlan::Custom(3), ..FrontConfig::default() };
    let server = start(config, 1.0).await;
    let c = Rec::new(&server);
    let first = c.get("/teammates").await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("2"));
    let reset: i64 = first.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= chrono::Utc::now().timestamp() - 1);
    // A window boundary can fall between requests; ten requests still must meet a refusal.
    let refused = first_refusal(&c, 10).await.expect("no 429 under a limit of 3 per minute");
    assert!(refused.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(refused.json["_error"]["status"], 429);
    assert!(server.running.log.count_rate_limited() >= 1);
    validate(&server);
}

/// Under a time scale the window is shorter than a second (600 ms at 100): the reset keeps its
/// milliseconds, or a client that waits for it once `remaining` is 0 would wait whole seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaled_window_announces_its_reset_in_milliseconds() {
    let config = FrontConfig { plan: FrontPlan::Custom(3), ..FrontConfig::default() };
    let server = start(config, 100.0).await;
    let c = Rec::new(&server);
    let before = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    let first = c.get("/teammates").await;
    let text = first.header("x-ratelimit-reset").unwrap().to_string();
    assert!(text.contains('.'), "{text}: a scaled reset has milliseconds");
    let reset: f64 = text.parse().unwrap();
    assert!(reset > before && reset <= before + 0.61, "reset {reset} against {before}");
    let refused = first_refusal(&c, 20).await.expect("no 429 under a limit of 3 per scaled minute");
    let wait: f64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0.0 && wait <= 0.6, "retry-after {wait} s in a 600 ms window");
    validate(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_tier_limits_comments_per_conversation() {
    // time_scale 0.001 stretches the one-second burst window to 1,000 s: no timing involved.
    let config = FrontConfig {
        plan: FrontPlan::Custom(10_000),
        burst_per_second: Some(2),
        ..FrontConfig::default()
    };
    let server = start(config, 0.001).await;
    let c = Rec::new(&server);
    let inbox = c.get("/inboxes").await.json["_results"][0]["id"].as_str().unwrap().to_string();
    for (i, thread) in ["a", "b"].iter().enumerate() {
        let a = c
            .call(
                Method::POST,
                &format!("/inboxes/{inbox}/imported_messages"),
                Some(import_body(&format!("b-{i}"), thread, true, 1_400_000_000)),
                "",
            )
            .await;
        assert_eq!(a.status, 202);
    }
    server.state.flush_imports();
    let convs = c.all("/conversations").await;
    assert_eq!(convs.len(), 2, "two thread_refs, two conversations");
    let (one, two) = (
        convs[0]["id"].as_str().unwrap().to_string(),
        convs[1]["id"].as_str().unwrap().to_string(),
    );
    for _ in 0..2 {
        assert_eq!(
            c.call(
                Method::POST,
                &format!("/conversations/{one}/comments"),
                Some(json!({"body": "x"})),
                ""
            )
            .await
            .status,
            201
        );
    }
    let a = c
        .call(
            Method::POST,
            &format!("/conversations/{one}/comments"),
            Some(json!({"body": "x"})),
            "burst",
        )
        .await;
    assert_eq!((a.status, a.header("x-front-tier")), (429, Some("2")));
    assert!(a.header("retry-after").is_some());
    assert_ne!(a.header("x-ratelimit-remaining"), Some("0"), "the company bucket still has room");
    assert_eq!(
        c.call(
            Method::POST,
            &format!("/conversations/{two}/comments"),
            Some(json!({"body": "x"})),
            ""
        )
        .await
        .status,
        201
    );
    assert_eq!(server.state.counters().burst_limited, 1);
    validate(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_and_requests_give_the_same_bytes() {
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let config =
            FrontConfig { processing_delay: Duration::from_secs(3600), ..FrontConfig::default() };
        let server = start(config, 1.0).await;
        let c = Rec::new(&server);
        let inbox = c.get("/inboxes").await.json["_results"][0]["id"].as_str().unwrap().to_string();
        c.call(
            Method::POST,
            "/contacts",
            Some(json!({"handles": [{"handle": "customer@example.org", "source": "email"}]})),
            "",
        )
        .await;
        for i in 0..3 {
            c.call(
                Method::POST,
                &format!("/inboxes/{inbox}/imported_messages"),
                Some(import_body(&format!("d-{i}"), "t", true, 1_400_000_000 + i)),
                "",
            )
            .await;
        }
        server.state.flush_imports();
        let convs = c.get("/conversations").await;
        let id = convs.json["_results"][0]["id"].as_str().unwrap().to_string();
        let msgs = c.get(&format!("/conversations/{id}/messages")).await;
        // Tags carry wall-clock creation times; everything else here derives from the requests.
        let text = format!("{id}\n{}", String::from_utf8_lossy(&msgs.bytes));
        bodies.push(text.replace(&c.base, "BASE"));
    }
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_decides_who_and_what_pre_exists() {
    use deskferry_fixtures::dataset::{Dataset, Size};
    use deskferry_format::model::UserKind;
    let ds = Dataset::generate(1, Size::Tiny);
    let seed = FrontSeed::from_records(&ds.users, &ds.groups, &ds.custom_fields);
    let options = SimOptions { seed: 1, ..SimOptions::default() };
    let config = FrontConfig { record_exchanges: true, ..FrontConfig::default() };
    let server = front::start(&options, config, &seed, 0).await.expect("start");
    let c = Rec::new(&server);

    let agents: Vec<_> = ds.users.iter().filter(|u| u.kind == UserKind::Agent).collect();
    let expected: Vec<&str> = agents
        .iter()
        .filter(|u| u.active && !u.is_deleted && u.email.as_deref().is_some_and(|e| !e.is_empty()))
        .filter_map(|u| u.email.as_deref())
        .collect();
    let teammates = c.get("/teammates").await.json["_results"].as_array().unwrap().clone();
    let mut got: Vec<&str> = teammates.iter().filter_map(|t| t["email"].as_str()).collect();
    let mut want = expected.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "active agents with email become teammates");
    let case = |name: &str| {
        ds.case(name)
            .next()
            .map(|c| c.id.clone())
            .unwrap_or_else(|| panic!("tiny lacks case {name}"))
    };
    let suspended = ds.user(&case("suspended_agent")).unwrap();
    let deleted = ds.user(&case("deleted_agent")).unwrap();
    let shown = |email: &Option<String>| {
        teammates.iter().find(|t| t["email"].as_str() == email.as_deref()).cloned()
    };
    assert_eq!(
        shown(&suspended.email).map(|t| t["is_blocked"].clone()),
        Some(json!(true)),
        "suspended agent is blocked"
    );
    assert!(shown(&deleted.email).is_none(), "deleted agent does not exist in Front");
    assert_eq!(teammates[0]["is_blocked"], false, "the token owner can write comments");

    let inboxes = c.get("/inboxes").await.json["_results"].as_array().unwrap().len();
    assert_eq!(inboxes, ds.groups.iter().filter(|g| !g.is_deleted).count().max(1));
    let ticket_fields = ds
        .custom_fields
        .iter()
        .filter(|f| f.active && f.entity == deskferry_format::model::FieldEntity::Ticket)
        .count();
    assert_eq!(
        c.get("/conversations/custom_fields").await.json["_results"].as_array().unwrap().len(),
        ticket_fields
    );
    c.get("/contacts/custom_fields").await;
    c.get("/accounts/custom_fields").await;
    assert!(c.all("/conversations").await.is_empty(), "a load target starts without conversations");
    validate(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_speak_front_errors() {
    let options = SimOptions { faults: "500=1".parse().unwrap(), seed: 3, ..SimOptions::default() };
    let config = FrontConfig { record_exchanges: true, ..FrontConfig::default() };
    let server = front::start(&options, config, &FrontSeed::minimal(), 0).await.expect("start");
    let c = Rec::new(&server);
    let a = c.get("/teammates").await;
    assert_eq!((a.status, a.json["_error"]["status"].as_u64()), (500, Some(500)));
    assert_eq!(server.running.log.len(), 1);
    validate(&server);
}

/// One file as compared: its name and the SHA-256 of its bytes.
type File = (String, String);

/// One message or comment as compared, whichever side it was read from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    /// Unix seconds (messages; comments are dated by `posted_at`, compared the same way).
    at: i64,
    /// Messages: received from an end user.
    inbound: bool,
    /// The teammate's email, when a teammate wrote it.
    author: Option<String>,
    body: String,
    files: Vec<File>,
}

/// One conversation as compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Conv {
    subject: String,
    created_ms: i64,
    status: String,
    /// Oldest first.
    messages: Vec<Entry>,
    /// Oldest first.
    comments: Vec<Entry>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// What a Front holding `ds` must show for each ticket, worked out from the dataset alone:
/// public comments are messages (inbound unless an agent wrote them), private ones comments.
fn expected_conversations(ds: &deskferry_fixtures::dataset::Dataset) -> Vec<Conv> {
    use deskferry_format::model::{TicketStatus, UserKind};
    use std::io::Read;
    let mut out: Vec<Conv> = ds
        .tickets
        .iter()
        .map(|t| {
            let status = if t.is_deleted || t.is_spam {
                "deleted"
            } else if matches!(t.status, TicketStatus::Solved | TicketStatus::Closed) {
                "archived"
            } else if t.assignee_id.is_some() {
                "assigned"
            } else {
                "unassigned"
            };
            let (mut messages, mut comments) = (Vec::new(), Vec::new());
            for c in ds.comments_of(&t.id) {
                let author = c.author_id.as_deref().and_then(|a| ds.user(a));
                let agent = author.filter(|u| u.kind == UserKind::Agent);
                let files = c
                    .attachment_ids
                    .iter()
                    .map(|a| {
                        let a = ds.attachment(a).expect("attachment row");
                        let mut bytes = Vec::new();
                        ds.attachment_bytes(a).read_to_end(&mut bytes).unwrap();
                        (a.file_name.clone(), sha256_hex(&bytes))
                    })
                    .collect();
                let at = c.created_at.map_or(0, |t| t.timestamp());
                let author = agent.map(|u| u.email.clone().unwrap_or_default());
                if c.public {
                    let body = c.body_html.clone().unwrap_or_else(|| {
                        let t = c.body_text.clone().unwrap_or_default();
                        t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
                    });
                    messages.push(Entry { at, inbound: agent.is_none(), author, body, files });
                } else {
                    let body = c.body_text.clone().unwrap_or_default();
                    comments.push(Entry { at, inbound: false, author, body, files });
                }
            }
            Conv {
                subject: t.subject.clone().unwrap_or_default(),
                created_ms: t.created_at.map_or(0, |c| c.timestamp_millis()),
                status: status.into(),
                messages,
                comments,
            }
        })
        .collect();
    out.sort();
    out
}

/// Reads one message or comment as the test compares it, downloading its files.
async fn entry(c: &Rec, v: &Value, is_message: bool) -> Entry {
    let mut files = Vec::new();
    for a in v["attachments"].as_array().unwrap() {
        let d = c.get(a["url"].as_str().unwrap()).await;
        assert_eq!(d.status, 200, "{a}");
        assert_eq!(d.bytes.len() as u64, a["size"].as_u64().unwrap(), "{a}");
        files.push((a["filename"].as_str().unwrap().to_string(), sha256_hex(&d.bytes)));
    }
    let at = if is_message {
        v["created_at"].as_i64().unwrap()
    } else {
        v["posted_at"].as_f64().unwrap().floor() as i64
    };
    Entry {
        at,
        inbound: is_message && v["is_inbound"].as_bool().unwrap(),
        author: v["author"]["email"].as_str().map(str::to_string),
        body: v["body"].as_str().unwrap().to_string(),
        files,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_holding_a_dataset_serves_all_of_it_as_front_does() {
    use deskferry_fixtures::dataset::{Dataset, Size};
    use deskferry_fixtures::sim::{Desk, Store};
    use deskferry_format::model::UserKind;
    let ds = Dataset::generate(1, Size::Tiny);
    let desk = Desk::new(Store::from_dataset(ds.clone()));
    let options = SimOptions { seed: 1, ..SimOptions::default() };
    let config = FrontConfig {
        plan: FrontPlan::Custom(1_000_000),
        record_exchanges: true,
        ..FrontConfig::default()
    };
    let server = front::start_on(&options, config, desk, 0).await.expect("start");
    let c = Rec::new(&server);

    // Every conversation, paged, with every message (newest first, paged) and comment.
    let listed = c.all("/conversations?limit=7").await;
    assert_eq!(listed.len(), ds.tickets.len(), "every ticket is a conversation");
    let mut got = Vec::new();
    for conv in &listed {
        let id = conv["id"].as_str().unwrap();
        assert!(id.starts_with("cnv_"), "{id}");
        let mut messages = Vec::new();
        for m in c.all(&format!("/conversations/{id}/messages?limit=3")).await {
            assert_eq!(
                m["_links"]["related"]["conversation"].as_str().unwrap().rsplit('/').next(),
                Some(id)
            );
            assert_eq!(m.get("author").is_none(), m["is_inbound"] == true, "{m}");
            messages.push(entry(&c, &m, true).await);
        }
        messages.reverse();
        let times: Vec<i64> = messages.iter().map(|m| m.at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{id}: newest first, as Front lists");
        let a = c.get(&format!("/conversations/{id}/comments")).await;
        let mut comments = Vec::new();
        for n in a.json["_results"].as_array().unwrap() {
            comments.push(entry(&c, n, false).await);
        }
        got.push(Conv {
            subject: conv["subject"].as_str().unwrap().to_string(),
            created_ms: (conv["created_at"].as_f64().unwrap() * 1000.0).round() as i64,
            status: conv["status"].as_str().unwrap().to_string(),
            messages,
            comments,
        });
    }
    got.sort();
    // Comments are posted at the dataset's times; only whole seconds are compared.
    let want = expected_conversations(&ds);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    let files: usize =
        got.iter().flat_map(|c| c.messages.iter().chain(&c.comments)).map(|e| e.files.len()).sum();
    assert_eq!(files, ds.attachments.iter().filter(|a| a.comment_id.is_some()).count());
    assert!(
        files > 0 && got.iter().any(|c| !c.comments.is_empty()),
        "the dataset has files and notes"
    );
    assert!(got.iter().any(|c| c.status == "deleted"), "deleted and spam tickets are in the trash");

    // Each inbox lists its group's conversations.
    let mut in_inboxes = 0;
    for i in c.get("/inboxes").await.json["_results"].as_array().unwrap() {
        in_inboxes += c
            .all(&format!("/inboxes/{}/conversations?limit=5", i["id"].as_str().unwrap()))
            .await
            .len();
    }
    let live_groups: Vec<&str> =
        ds.groups.iter().filter(|g| !g.is_deleted).map(|g| g.id.as_str()).collect();
    let in_live = ds
        .tickets
        .iter()
        .filter(|t| t.group_id.as_deref().is_some_and(|g| live_groups.contains(&g)))
        .count();
    assert_eq!(in_inboxes, in_live);

    // Contacts are the live end users, with their handles; accounts the organizations.
    let mut got: Vec<(Option<String>, Vec<String>)> = c
        .all("/contacts?limit=9")
        .await
        .iter()
        .map(|v| {
            let handles = v["handles"].as_array().unwrap();
            (
                v["name"].as_str().map(str::to_string),
                handles
                    .iter()
                    .map(|h| {
                        format!(
                            "{}:{}",
                            h["source"].as_str().unwrap(),
                            h["handle"].as_str().unwrap()
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let mut want: Vec<(Option<String>, Vec<String>)> = ds
        .users
        .iter()
        .filter(|u| u.kind == UserKind::EndUser && !u.is_deleted)
        .map(|u| {
            let mut h: Vec<String> = u
                .email
                .iter()
                .chain(&u.other_emails)
                .filter(|e| !e.is_empty())
                .map(|e| format!("email:{e}"))
                .collect();
            h.extend(u.phone.iter().filter(|p| !p.is_empty()).map(|p| format!("phone:{p}")));
            (u.name.clone(), h)
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let mut got: Vec<(String, Value, Value)> = c
        .all("/accounts?limit=2")
        .await
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["domains"].clone(),
                a["description"].clone(),
            )
        })
        .collect();
    let mut want: Vec<(String, Value, Value)> = ds
        .organizations
        .iter()
        .map(|o| (o.name.clone(), json!(o.domains), json!(o.notes)))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    let teammates = c.get("/teammates").await.json["_results"].as_array().unwrap().len();
    let agents = ds
        .users
        .iter()
        .filter(|u| {
            u.kind == UserKind::Agent
                && u.active
                && !u.is_deleted
                && u.email.as_deref().is_some_and(|e| !e.is_empty())
        })
        .count();
    assert_eq!(teammates, agents);
    c.get("/tags").await;
    c.get("/conversations/custom_fields").await;
    validate(&server);
}
