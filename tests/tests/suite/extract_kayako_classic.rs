//! Kayako Classic as a source through the binaries: the simulated Classic holding `tiny` →
//! `deskferry-extract` → a bundle equal, field by field, to the dataset as Classic shows it
//! minus its declared losses, at the API's request floor, every request signed with a salt of
//! its own; a wrong secret refused with Classic's 401 and exit 2, the secret in no output;
//! small pages (`page_size`) read across every list; the hostile XML the facade serves (a PHP
//! notice before the XML, a number written as a word) kept with warnings; a delta after a reply, a
//! new ticket and one moved to the trash.

use std::collections::BTreeSet;

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{World, WorldOptions, compare, start_world};
use deskferry_format::model::{Ticket, Tombstone};
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

fn extract_args<'a>(source: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "--source",
        source,
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

fn world() -> (tempfile::TempDir, Tools, Box<dyn World>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tools = Tools::beside_current_exe().expect("tools");
    let w = start_world("kayako-classic", Role::Source, &WorldOptions::default()).expect("world");
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
fn kayako_classic_tiny_extracts_completely_at_the_floor_with_signed_requests_and_a_delta() {
    let (dir, tools, w) = world();
    let d = dir.path();
    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("source.toml", "a.dfb", &[]));
    check(&x, "extract", &[0]);
    let log: Vec<_> = w.log().entries().into_iter().skip(before).collect();
    let c = compare(&w.expected().expect("expected"), &open(d, "a.dfb")).expect("compare");
    eprintln!("kayako-classic tiny: {c}");
    assert!(c.differences.is_empty(), "{c}");
    assert!(c.blobs > 0 && c.records > w.dataset().tickets.len(), "{c}");
    let floor = w.request_floor().expect("floor");
    eprintln!("kayako-classic tiny: {} requests, the floor {floor}", log.len());
    assert_eq!(log.len(), floor.requests, "exactly the floor: {floor}");
    // Every request signed, each with a salt of its own, all answered.
    let salts: BTreeSet<String> =
        log.iter().filter_map(|e| param(e.query.as_deref()?, "salt")).collect();
    assert_eq!(salts.len(), log.len(), "one salt per request");
    assert!(log.iter().all(|e| e.status == 200), "every signed request answered");
    assert!(log.iter().all(|e| e.query.as_deref().and_then(|q| param(q, "signature")).is_some()));

    // The hostile XML: a PHP notice before an answer, a post's creator as a word, kept.
    let r = open(d, "a.dfb");
    let warnings = &r.bundle_json().warnings;
    assert!(
        warnings.iter().any(|w| w.message.contains("before the XML")),
        "the PHP notice is cut off with a warning: {warnings:?}"
    );
    let odd: Vec<String> = w.dataset().case("unexpected_json_type").map(|c| c.id.clone()).collect();
    assert!(!odd.is_empty());
    for id in &odd {
        assert!(
            warnings.iter().any(|w| w.id.as_deref() == Some(id.as_str())
                && (w.message.contains("creator") || w.message.contains("notecolor"))),
            "comment {id}: its odd field is a warning: {warnings:?}"
        );
    }

    // A delta: newest activity first, stopping at the parent's cursor.
    let ch = w.change().expect("change");
    let before = w.log().len();
    let args = extract_args("source.toml", "d.dfb", &["--since", "a.dfb.json"]);
    check(&tool(&tools, d, "deskferry-extract", &args), "delta", &[0]);
    let delta_log: Vec<_> = w.log().entries().into_iter().skip(before).collect();
    let lists: Vec<String> = delta_log
        .iter()
        .filter_map(|e| param(e.query.as_deref()?, "e"))
        .filter(|e| e.starts_with("/Tickets/Ticket/ListAll/"))
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(lists[0].ends_with("/lastactivity/DESC"), "{lists:?}");
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
fn a_wrong_secret_is_refused_with_exit_2_and_never_printed() {
    let (dir, tools, w) = world();
    let d = dir.path();
    std::fs::write(d.join("source.token"), "not-the-secret\n").expect("token");
    let x = tool(&tools, d, "deskferry-extract", &extract_args("source.toml", "a.dfb", &[]));
    check(&x, "extract with a wrong secret", &[2]);
    let out = format!("{}{}", x.stdout, x.stderr);
    assert!(out.contains("401"), "{out}");
    assert!(!out.contains("not-the-secret") && !out.contains("signature="), "{out}");
    let log = w.log().entries();
    assert!(!log.is_empty() && log.iter().all(|e| e.status == 401), "refused, nothing more");
    w.stop().expect("stop");
}

#[test]
fn small_pages_read_every_list_across_pages() {
    let (dir, tools, w) = world();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("source.toml")).expect("source");
    std::fs::write(d.join("paged.toml"), format!("{text}\n[options]\npage_size = 3\n"))
        .expect("paged source");
    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("paged.toml", "p.dfb", &[]));
    check(&x, "extract in pages of 3", &[0]);
    let c = compare(&w.expected().expect("expected"), &open(d, "p.dfb")).expect("compare");
    assert!(c.differences.is_empty(), "{c}");
    let calls: Vec<String> = w
        .log()
        .entries()
        .into_iter()
        .skip(before)
        .filter_map(|e| param(e.query.as_deref()?, "e"))
        .collect();
    let starts: BTreeSet<String> = calls
        .iter()
        .filter(|e| e.starts_with("/Tickets/Ticket/ListAll/"))
        .filter_map(|e| e.split('/').nth(9).map(str::to_string))
        .collect();
    let tickets = w.dataset().tickets.len();
    assert_eq!(starts.len(), tickets / 3 + 1, "count/start paging: {starts:?}");
    let markers = calls.iter().filter(|e| e.starts_with("/Base/User/Filter/")).count();
    let users = w
        .dataset()
        .users
        .iter()
        .filter(|u| !u.is_deleted && u.kind == deskferry_format::model::UserKind::EndUser)
        .count();
    assert_eq!(markers, users / 3 + 1, "marker paging of users");
    w.stop().expect("stop");
}
