//! Groove as a source through the binaries: the simulated Groove holding `tiny` →
//! `deskferry-extract` → a bundle equal, field by field, to the dataset as Groove shows it
//! minus its declared losses, at the APIs' request floor; v1 lists read page by page (50, the
//! most v1 gives); the message the facade sends with an undocumented `updated_at` kept raw
//! with a warning; a delta after a reply, a new ticket and one moved to the trash.

use std::collections::BTreeSet;

use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{World, WorldOptions, compare};
use deskferry_fixtures::sim::groove::GrooveWorld;
use deskferry_format::model::{Comment, Ticket, Tombstone};
use deskferry_format::{BundleReader, Identities, SignerKey, VerifyOptions};

use crate::support::{check, fixed_epoch};

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

fn world(size: &str) -> (tempfile::TempDir, Tools, Box<dyn World>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tools = Tools::beside_current_exe().expect("tools");
    let opts = WorldOptions { size: size.parse().expect("size"), ..WorldOptions::default() };
    let w: Box<dyn World> = Box::new(GrooveWorld::start_source(&opts).expect("world"));
    w.write_connection(dir.path(), "source").expect("connection file");
    let keys = tool(&tools, dir.path(), "deskferry-bundle", &["keygen", "--out-dir", "keys"]);
    check(&keys, "keygen", &[0]);
    (dir, tools, w)
}

/// The value of `key` in a logged query string.
fn param(query: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn groove_tiny_extracts_completely_at_the_floor_keeps_odd_shapes_and_takes_a_delta() {
    let (dir, tools, w) = world("tiny");
    let d = dir.path();
    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);
    let log: Vec<_> = w.log().entries().into_iter().skip(before).collect();
    let r = open(d, "a.dfb");
    let c = compare(&w.expected().expect("expected"), &r).expect("compare");
    eprintln!("groove tiny: {c}");
    assert!(c.differences.is_empty(), "{c}");
    assert!(c.blobs > 0 && c.records > w.dataset().tickets.len(), "{c}");
    let floor = w.request_floor().expect("floor");
    eprintln!("groove tiny: {} requests, the floor {floor}", log.len());
    assert_eq!(log.len(), floor.requests, "exactly the floor: {floor}");
    assert!(log.iter().all(|e| e.status == 200), "every request answered");

    // The message sent with `updated_at` as Unix seconds: kept whole, raw verbatim, a warning.
    let odd: Vec<String> = w.dataset().case("unexpected_json_type").map(|c| c.id.clone()).collect();
    assert!(!odd.is_empty());
    let warnings = &r.bundle_json().warnings;
    let comments: Vec<Comment> =
        r.records().expect("comments").map(|c| c.expect("comment")).collect();
    for id in &odd {
        let c = comments.iter().find(|c| &c.id == id).expect("the odd message is kept");
        assert!(c.created_at.is_some() && c.raw.contains("\"updated_at\":1"), "{}", c.raw);
        assert!(
            warnings
                .iter()
                .any(|w| w.id.as_deref() == Some(id.as_str()) && w.message.contains("updated_at")),
            "message {id}: a warning names the field: {warnings:?}"
        );
    }

    // A delta: the list re-read, only changed tickets followed, the trash from v2.
    let ch = w.change().expect("change");
    let before = w.log().len();
    let x =
        tool(&tools, d, "deskferry-extract", &extract_args("d.dfb", &["--since", "a.dfb.json"]));
    check(&x, "delta", &[0]);
    let delta_log: Vec<_> = w.log().entries().into_iter().skip(before).collect();
    let followed: BTreeSet<String> = delta_log
        .iter()
        .filter_map(|e| e.path.strip_prefix("/v1/tickets/")?.strip_suffix("/messages"))
        .map(str::to_string)
        .collect();
    let want_followed: BTreeSet<String> =
        [&ch.answered, &ch.created].into_iter().cloned().collect();
    assert_eq!(followed, want_followed, "only the changed tickets' messages are read");
    let r = open(d, "d.dfb");
    let tickets: BTreeSet<String> =
        r.records::<Ticket>().expect("tickets").map(|t| t.expect("ticket").id).collect();
    let want: BTreeSet<String> =
        [&ch.answered, &ch.created, &ch.deleted].into_iter().cloned().collect();
    assert_eq!(tickets, want);
    let tombs: Vec<Tombstone> =
        r.records::<Tombstone>().expect("tombstones").map(|t| t.expect("tombstone")).collect();
    assert!(tombs.iter().any(|t| t.entity == "tickets" && t.id == ch.deleted), "{tombs:?}");
    w.stop().expect("stop");
}

#[test]
fn groove_small_reads_every_v1_list_across_pages_of_50() {
    let (dir, tools, w) = world("small");
    let d = dir.path();
    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);
    let c = compare(&w.expected().expect("expected"), &open(d, "a.dfb")).expect("compare");
    assert!(c.differences.is_empty(), "{c}");
    let pages: BTreeSet<usize> = w
        .log()
        .entries()
        .into_iter()
        .skip(before)
        .filter(|e| e.path == "/v1/tickets")
        .filter_map(|e| param(e.query.as_deref()?, "page")?.parse().ok())
        .collect();
    let live = w.dataset().tickets.iter().filter(|t| !t.is_deleted).count();
    assert!(live > 50, "small holds more than one page of tickets ({live})");
    assert_eq!(pages, (1..=live.div_ceil(50)).collect(), "every page once");
    w.stop().expect("stop");
}
