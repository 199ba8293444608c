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
use deskferry_fixtures::dataset::Dataset;
use deskferry_format::model::{Attachment, AttachmentState, Comment};

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
    let _ = odd_shapes_kept(w.dataset(), &open(d, "a.dfb"));

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

/// What the facade serves off the documented shapes, kept: a post whose `creator` is a bare id
/// (author read, a note naming the field, `raw` as sent), and the files of an article deleted
/// between the list and its files (recorded missing with a note: the extraction exits 0).
/// Returns how many such files there were.
fn odd_shapes_kept(ds: &Dataset, r: &BundleReader) -> usize {
    let warnings = &r.bundle_json().warnings;
    let comments: Vec<Comment> = r.records().expect("comments").map(|c| c.expect("c")).collect();
    let odd: Vec<&str> = ds.case("unexpected_json_type").map(|c| c.id.as_str()).collect();
    assert!(!odd.is_empty());
    for id in odd {
        let want = ds.comments.iter().find(|c| c.id == id).expect("in the dataset");
        let c = comments.iter().find(|c| c.id == id).expect("the odd post is kept");
        assert_eq!(c.author_id, want.author_id, "post {id}: its author read from the bare id");
        assert!(c.raw.contains("\"creator\":"), "{}", c.raw);
        assert!(
            warnings.iter().any(|w| w.id.as_deref() == Some(id) && w.message.contains("`creator`")),
            "post {id}: a note names the field: {warnings:?}"
        );
    }
    let gone: Vec<&str> = ds.case("vanishes_during_export").map(|c| c.id.as_str()).collect();
    let files: Vec<Attachment> = r.records().expect("attachments").map(|a| a.expect("a")).collect();
    let of_gone = |a: &Attachment| {
        a.article_id.as_deref().is_some_and(|x| {
            gone.contains(&x)
                || ds.kb_articles.iter().any(|k| {
                    k.id == x && k.translation_of.as_deref().is_some_and(|o| gone.contains(&o))
                })
        })
    };
    let lost: Vec<&Attachment> = files.iter().filter(|a| of_gone(a)).collect();
    let want = ds.attachments.iter().filter(|a| of_gone(a));
    assert_eq!(lost.len(), want.count(), "every file of the deleted article is recorded");
    let n = lost.len();
    for a in lost {
        assert_eq!(a.state, AttachmentState::Missing, "{a:?}");
        assert!(
            warnings.iter().any(|w| w.id.as_deref() == Some(a.id.as_str())
                && w.message.contains("deleted during the export")),
            "file {}: a note says why: {warnings:?}",
            a.id
        );
    }
    n
}

/// A session that ends in the middle of an extraction (Kayako does not publish how long one
/// lives; the facade ends each after 12 requests here): the refused request goes again with the
/// password (which opens a new session) or a session opened meanwhile, and nothing is lost or
/// read twice. Seed 5: its deleted article has a file (seed 1's has none), so the gone-file path
/// is taken too.
#[test]
fn a_session_ending_mid_extraction_is_opened_again_and_nothing_is_lost() {
    use deskferry_fixtures::kit::World;
    use deskferry_fixtures::sim::kayako::KayakoWorld;

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let opts = WorldOptions { seed: 5, ..WorldOptions::default() };
    let w = KayakoWorld::start(&opts, Role::Source).expect("world");
    w.sim().state.expire_sessions_after(12);
    w.write_connection(d, "source").expect("connection file");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);
    let c = compare(&w.expected().expect("expected"), &open(d, "a.dfb")).expect("compare");
    assert!(c.differences.is_empty(), "{c}");
    assert!(odd_shapes_kept(w.dataset(), &open(d, "a.dfb")) > 0, "seed 5's deleted article's file");

    let run = w.log().entries();
    let api: Vec<_> = run.iter().filter(|e| !e.path.starts_with("/media/")).collect();
    let refused: Vec<usize> = (0..api.len()).filter(|&i| api[i].status == 401).collect();
    assert!(refused.len() >= 2, "sessions ended {} times in {} requests", refused.len(), api.len());
    for &i in &refused {
        assert!(!api[i].had_authorization, "a session's request was refused, not the password");
        // Requests may overlap: the retry is among the later ones, with the password or with
        // the session another request opened meanwhile. It is answered, not necessarily 200:
        // the deleted article's own read answers 404.
        let (p, q) = (&api[i].path, &api[i].query);
        let again = api[i + 1..].iter().any(|e| e.status != 401 && &e.path == p && &e.query == q);
        assert!(again, "the refused {p} was not sent again");
    }
    let logins = api.iter().filter(|e| e.had_authorization).count();
    assert!(logins >= 2, "{logins} logins for {} ended sessions", refused.len());
    let floor = w.request_floor().expect("floor");
    assert!(run.len() - refused.len() >= floor.requests, "{} requests, {floor}", run.len());
    Box::new(w).stop().expect("stop");
}
