//! Kayako as a source through the binaries: the simulated Kayako holding `tiny` →
//! `deskferry-extract` → a bundle equal, field by field, to the dataset as Kayako shows it minus
//! its declared losses (the kit's comparison), at the API's request floor, with one password
//! login for the whole run (every later request on the session, files by their pre-signed
//! URLs); a delta after a reply, a new case and one moved to the trash.

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{WorldOptions, compare, start_world};
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

#[test]
fn kayako_tiny_extracts_completely_at_the_floor_on_one_session_and_a_delta_sees_the_trash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let w = start_world("kayako", Role::Source, &WorldOptions::default()).expect("world");
    w.write_connection(d, "source").expect("connection file");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);

    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);
    let entries = w.log().entries();
    let run = &entries[before..];
    let requests = run.len();
    let c = compare(&w.expected().expect("expected"), &open(d, "a.dfb")).expect("compare");
    eprintln!("kayako tiny: {c}");
    assert!(c.differences.is_empty(), "{c}");
    assert!(c.blobs > 0 && c.records > w.dataset().tickets.len(), "{c}");
    let floor = w.request_floor().expect("floor");
    eprintln!(
        "kayako tiny: {requests} requests = {:.2}x the floor {floor}",
        requests as f64 / floor.requests as f64
    );
    assert!(requests >= floor.requests, "{requests} < floor {floor}");
    // The password went once (the first request); files go by their pre-signed URLs.
    let logins = run.iter().filter(|e| e.had_authorization).count();
    assert_eq!(logins, 1, "one login for the whole run");
    assert!(run.iter().any(|e| e.path.starts_with("/media/")), "files by their URLs");

    // A delta: a reply, a new case, one moved to the trash.
    let ch = w.change().expect("change");
    let x =
        tool(&tools, d, "deskferry-extract", &extract_args("d.dfb", &["--since", "a.dfb.json"]));
    check(&x, "delta", &[0]);
    let r = open(d, "d.dfb");
    let tickets: std::collections::BTreeSet<String> =
        r.records::<Ticket>().expect("tickets").map(|t| t.expect("ticket").id).collect();
    let want: std::collections::BTreeSet<String> =
        [&ch.answered, &ch.created, &ch.deleted].into_iter().cloned().collect();
    assert_eq!(tickets, want);
    let tombs: Vec<Tombstone> = r.records().expect("tombstones").map(|t| t.expect("t")).collect();
    assert!(tombs.iter().any(|t| t.entity == "tickets" && t.id == ch.deleted), "{tombs:?}");
    w.stop().expect("stop");
}
