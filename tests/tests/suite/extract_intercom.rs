//! Intercom as a source through the binaries: the simulated Intercom holding `tiny` →
//! `deskferry-extract` → a bundle equal, field by field, to the dataset as Intercom shows it
//! minus its declared losses (the kit's comparison), at the API's request floor; a delta after
//! a reply, a new conversation and a deletion (Intercom lists no deletions: the delta compares
//! the live ids with the parent's); a conversation longer than the 500 parts Intercom returns
//! has its loss declared; records of unexpected shapes are kept raw with a warning.

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{WorldOptions, compare, start_world};
use deskferry_format::model::{Comment, Ticket, Tombstone};
use deskferry_format::{BundleReader, Identities, SignerKey, VerifyOptions};
use serde_json::Value;

use crate::support::{check, fixed_epoch, json_of};

fn tool(tools: &Tools, dir: &std::path::Path, name: &str, args: &[&str]) -> Ran {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let epoch = fixed_epoch();
    let env = [("SOURCE_DATE_EPOCH", epoch.as_str())];
    run_tool(tools, name, &args, dir, &env, false, Output::Capture).expect("run")
}

fn open(dir: &std::path::Path, bundle: &str) -> BundleReader {
    let signer = SignerKey::from_file(&dir.join("keys/sign.pub")).expect("signer");
    let ids = Identities::from_file(&dir.join("keys/identity.txt")).expect("identity");
    BundleReader::open(&dir.join(bundle), &signer, &ids, &VerifyOptions::default()).expect("open")
}

fn extract_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "--source",
        "source.toml",
        "--recipient",
        "keys/recipient.txt",
        "--sign-key",
        "keys/sign.key",
        "--out",
        out,
        "--json",
    ];
    a.extend(extra);
    a
}

/// The warnings a bundle holds (its `bundle.json`).
fn warnings(dir: &std::path::Path, bundle: &str) -> Vec<Value> {
    let w = open(dir, bundle).bundle_json().warnings.clone();
    w.iter().map(|w| serde_json::to_value(w).expect("json")).collect()
}

#[test]
fn intercom_tiny_extracts_completely_at_the_floor_and_a_delta_sees_the_deletion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let w = start_world("intercom", Role::Source, &WorldOptions::default()).expect("world");
    w.write_connection(d, "source").expect("connection file");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);

    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    if x.status.code() != Some(0) {
        eprintln!("warnings: {:#?}", warnings(d, "a.dfb"));
    }
    check(&x, "extract", &[0]);
    let requests = w.log().len() - before;
    let c = compare(&w.expected().expect("expected"), &open(d, "a.dfb")).expect("compare");
    eprintln!("intercom tiny: {c}");
    assert!(c.differences.is_empty(), "{c}");
    assert!(c.blobs > 0 && c.records > w.dataset().tickets.len(), "{c}");
    let floor = w.request_floor().expect("floor");
    eprintln!(
        "intercom tiny: {requests} requests = {:.2}x the floor {floor}",
        requests as f64 / floor.requests as f64
    );
    assert!(requests >= floor.requests, "{requests} < floor {floor}");
    assert!(
        requests as f64 <= floor.requests as f64 * 1.05,
        "{requests} requests, more than 5 % over the floor {floor}"
    );
    // The odd part (its `created_at` as text) is kept, read as the number, with a warning.
    let odd: Vec<String> = w.dataset().case("unexpected_json_type").map(|c| c.id.clone()).collect();
    let ws = warnings(d, "a.dfb");
    for id in &odd {
        assert!(
            ws.iter().any(|x| x["id"].as_str() == Some(id.as_str())
                && x["message"].as_str().is_some_and(|m| m.contains("created_at"))),
            "no warning for comment {id}: {ws:?}"
        );
    }
    let comments: Vec<Comment> =
        open(d, "a.dfb").records().expect("comments").map(|c| c.expect("comment")).collect();
    for id in &odd {
        let c = comments.iter().find(|c| &c.id == id).expect("the odd comment kept");
        assert!(c.raw.contains("\"created_at\":\""), "raw kept verbatim: {}", c.raw);
        let want = w.dataset().comments.iter().find(|x| &x.id == id).and_then(|x| x.created_at);
        assert_eq!(c.created_at, want, "the time read from the text");
    }

    // Images pasted into a message: Intercom keeps them in the body only (its CDN's `/i/o/`
    // links), not among the part's attachments. Each is extracted from the body, inline, with
    // its bytes (the comparison above checks every field and the stored bytes).
    let files: Vec<deskferry_format::model::Attachment> =
        open(d, "a.dfb").records().expect("attachments").map(|a| a.expect("a")).collect();
    let shown: Vec<_> = files.iter().filter(|a| a.inline && a.comment_id.is_some()).collect();
    assert!(!shown.is_empty(), "no image shown in a body was extracted");
    for a in &shown {
        let c = comments.iter().find(|c| Some(&c.id) == a.comment_id.as_ref()).expect("its part");
        let body = c.body_html.as_deref().unwrap_or("");
        assert!(body.contains("/i/o/") && c.attachment_ids.contains(&a.id), "{}: {body}", a.id);
        assert!(a.sha256.is_some() && a.raw.contains("/i/o/"), "{a:?}");
    }

    // An article's files: the Articles API lists none; each is in its row's body, an image
    // shown and another file linked, and is extracted from there with its bytes.
    let of_articles: Vec<_> = files.iter().filter(|a| a.article_id.is_some()).collect();
    let in_dataset = w.dataset().attachments.iter().filter(|a| a.article_id.is_some()).count();
    assert_eq!(of_articles.len(), in_dataset, "every article file of the dataset");
    assert!(of_articles.iter().any(|a| a.inline) && of_articles.iter().any(|a| !a.inline));
    for a in &of_articles {
        assert!(a.sha256.is_some() && a.raw.contains("/i/o/"), "{a:?}");
    }

    // The thousand-comment thread: Intercom answers its 500 most recent parts; the conversation
    // is kept with the loss declared on it, the opening message and the newest 500 parts in the
    // bundle, the oldest missing.
    let ds = w.dataset();
    let long = ds
        .tickets
        .iter()
        .filter(|t| !t.is_deleted)
        .find(|t| ds.comments_of(&t.id).len() > 501)
        .expect("the dataset's long thread");
    let all = ds.comments_of(&long.id);
    let held: Vec<&Comment> = comments.iter().filter(|c| c.ticket_id == long.id).collect();
    assert_eq!(held.len(), 501, "the opening message and the 500 most recent parts");
    assert!(held.iter().any(|c| c.id == all[0].id), "the opening message");
    assert!(held.iter().any(|c| c.id == all[all.len() - 1].id), "the newest part");
    assert!(!held.iter().any(|c| c.id == all[1].id), "the oldest part is not answered");
    let missing = all.len() - 501;
    assert!(
        ws.iter().any(|x| x["entity"] == "tickets"
            && x["id"].as_str() == Some(long.id.as_str())
            && x["message"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("its {missing} oldest parts")))),
        "no warning declaring the parts of {} beyond 500: {ws:?}",
        long.id
    );

    // A delta: a reply, a new conversation, a deletion.
    let ch = w.change().expect("change");
    let before = w.log().len();
    let x =
        tool(&tools, d, "deskferry-extract", &extract_args("d.dfb", &["--since", "a.dfb.json"]));
    check(&x, "delta", &[0]);
    let _ = json_of(&x);
    eprintln!("intercom tiny delta: {} requests", w.log().len() - before);
    let r = open(d, "d.dfb");
    let tickets: std::collections::BTreeSet<String> =
        r.records::<Ticket>().expect("tickets").map(|t| t.expect("ticket").id).collect();
    let want: std::collections::BTreeSet<String> =
        [&ch.answered, &ch.created, &ch.deleted].into_iter().cloned().collect();
    assert_eq!(tickets, want);
    let tombs: Vec<Tombstone> = r.records().expect("tombstones").map(|t| t.expect("t")).collect();
    assert!(tombs.iter().any(|t| t.entity == "tickets" && t.id == ch.deleted), "{tombs:?}");
    let searched = w.log().entries()[before..]
        .iter()
        .filter(|e| e.path == "/conversations/search" || e.path == "/contacts/search")
        .count();
    assert_eq!(searched, 2, "a delta searches contacts and conversations by updated_at");
    w.stop().expect("stop");
}

/// A workspace with more companies than `GET /companies` pages through (Intercom: 10,000; here
/// the facade stops at 1): the source notices the listing stopped short of its `total_count`
/// and reads every company through `GET /companies/scroll`, checked against the OpenAPI file.
#[test]
fn companies_past_the_listing_limit_are_read_through_the_scroll() {
    use deskferry_fixtures::dataset::{Dataset, Size};
    use deskferry_fixtures::sim::intercom::{self, IntercomConfig};
    use deskferry_fixtures::sim::{Desk, SimOptions, Store};
    use deskferry_format::model::{Organization, UserKind};

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let ds = Dataset::generate(1, Size::Tiny);
    let want: std::collections::BTreeSet<String> = ds
        .users
        .iter()
        .filter(|u| u.kind == UserKind::EndUser)
        .filter_map(|u| u.organization_id.clone())
        .collect();
    assert!(want.len() > 2, "the dataset's companies with contacts: {want:?}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = IntercomConfig { max_listed_companies: 1, ..IntercomConfig::default() };
    let token = config.token.clone();
    let sim = rt
        .block_on(intercom::start(
            Desk::new(Store::from_dataset(ds.clone())),
            config,
            SimOptions::default(),
        ))
        .expect("sim");
    sim.api.log.set_capture_bodies(true);
    std::fs::write(d.join("source.token"), format!("{token}\n")).expect("token");
    std::fs::write(
        d.join("source.toml"),
        format!(
            "platform = \"intercom\"\nurl = \"{}\"\n[credentials]\ntoken_file = \"source.token\"\n",
            sim.url()
        ),
    )
    .expect("source.toml");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);

    let got: std::collections::BTreeSet<String> = open(d, "a.dfb")
        .records::<Organization>()
        .expect("organizations")
        .map(|o| o.expect("organization").id)
        .collect();
    assert_eq!(got, want, "every company with a contact, through the scroll");
    let entries = sim.api.log.entries();
    let scrolls = entries.iter().filter(|e| e.path == "/companies/scroll").count();
    assert!(scrolls >= 2, "{scrolls} scroll requests (a page, then the empty end)");
    let checked = deskferry_fixtures::sim::RequestLog::new();
    checked.set_capture_bodies(true);
    for e in entries.into_iter().filter(|e| e.path.starts_with("/companies")) {
        checked.push(e);
    }
    crate::load_intercom::intercom_openapi_check(&checked);
    rt.block_on(sim.stop()).expect("stop");
}
