//! A simulated Front holding `tiny` → the real extraction pipeline → a bundle, opened and fully
//! verified: every record of the dataset is there under Front's ids, field by field as Front
//! shows it (the kit's comparison, `deskferry_fixtures::sim::front::expect`), attachments by the
//! SHA-256 of their stored bytes; its requests against the floor Front's API allows; every
//! request and answer against Front's OpenAPI file; then a delta after a reply, a new
//! conversation and a trashed one.

use std::path::Path;

use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{ExtractOptions, ExtractSummary, run};
use deskferry_extractor::platforms::front::FrontSource;
use deskferry_extractor::platforms::registry::Role;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::kit::{World, WorldOptions, compare, start_world};
use deskferry_format::model::{Attachment, Comment, Ticket, Tombstone};
use deskferry_format::{
    BundleReader, Identities, KbArticle, KeygenPaths, Mode, Recipients, SignerKey, SigningKey,
    VerifyOptions, keygen,
};

fn extract(dir: &Path, keys: &KeygenPaths, name: &str, since: Option<&Path>) -> ExtractSummary {
    let cfg = SourceConfig::load(&dir.join("source.toml")).expect("source.toml");
    let src = FrontSource::new(&cfg).expect("source");
    let mut opts = ExtractOptions::new(
        dir.join(name),
        Recipients::from_file(&keys.recipient).expect("recipients"),
        SigningKey::from_file(&keys.sign_key).expect("sign key"),
    );
    opts.http = Some(src.http().clone());
    opts.progress = ProgressMode::Off;
    opts.since = since.map(Path::to_path_buf);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(run(&src, opts)).expect("extract Front")
}

fn open(path: &Path, keys: &KeygenPaths) -> BundleReader {
    BundleReader::open(
        path,
        &SignerKey::from_file(&keys.sign_pub).expect("sign.pub"),
        &Identities::from_file(&keys.identity).expect("identity"),
        &VerifyOptions::default(),
    )
    .expect("bundle verifies")
}

fn start() -> Box<dyn World> {
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    start_world("front", Role::Source, &opts).expect("a Front holding tiny")
}

#[test]
fn front_tiny_extracts_as_front_shows_it_at_the_request_floor() {
    let w = start();
    let dir = tempfile::tempdir().expect("tempdir");
    w.write_connection(dir.path(), "source").expect("connection file");
    let keys = keygen(&dir.path().join("keys")).expect("keygen");
    let summary = extract(dir.path(), &keys, "front.dfb", None);
    let requests = w.log().len();
    let reader = open(&dir.path().join("front.dfb"), &keys);

    let want = w.expected().expect("expectation");
    let c = compare(&want, &reader).expect("read the bundle");
    eprintln!("front tiny: {c}");
    for d in want.declared().iter().take(12) {
        eprintln!("  declared: {} {:?} {:?}: {}", d.table, d.id, d.field, d.why);
    }
    assert!(c.differences.is_empty(), "{c}");
    let ds = w.dataset();
    assert!(c.records > ds.tickets.len() + ds.comments.len() && c.blobs > 0, "{c}");
    assert_eq!(summary.warnings, 0, "no warnings: {summary:?}");

    // Its requests against the fewest Front's API allows (each extra one named by its path).
    let floor = w.request_floor().expect("floor");
    eprintln!(
        "front tiny: {requests} requests, {:.0} per 1,000 tickets, {:.3}× the floor {floor}",
        requests as f64 * 1000.0 / ds.tickets.len() as f64,
        requests as f64 / floor.requests as f64
    );
    // A request the plan's limit refused (429, waited out and sent again) is pacing, not a
    // request the data needed: the simulator's window is the plan's minute divided by the time
    // scale, shorter than the burst the scaled rate lets the client send.
    let entries = w.log().entries();
    let refused = entries.iter().filter(|e| e.rate_limited).count();
    let answered = requests - refused;
    eprintln!("front tiny: {answered} answered, {refused} refused by the plan's limit (429)");
    assert!(answered >= floor.requests, "fewer than the floor {floor}: the floor is wrong");
    assert!(
        answered == floor.requests,
        "{answered} requests for a floor of {floor}: {:?}",
        entries.iter().filter(|e| !e.rate_limited).map(|e| e.path.clone()).collect::<Vec<_>>()
    );

    // The knowledge base: every article in each of its locales (a translation is
    // `{id}@{locale}` of its article), and the files of each locale's content.
    let kb: Vec<KbArticle> =
        reader.records().expect("kb_articles").map(|a| a.expect("a")).collect();
    let translations = kb.iter().filter(|a| a.0.translation_of.is_some()).count();
    let ds_translations = ds.kb_articles.iter().filter(|a| a.translation_of.is_some()).count();
    assert_eq!(translations, ds_translations);
    assert!(kb.iter().all(|a| a.0.translation_of.as_ref().is_none_or(|t| a.0.id.starts_with(t))));
    let files: Vec<Attachment> =
        reader.records().expect("attachments").map(|a| a.expect("a")).collect();
    let on_articles = files.iter().filter(|a| a.article_id.is_some()).count();
    assert_eq!(on_articles, ds.attachments.iter().filter(|a| a.article_id.is_some()).count());

    // Every request and answer against Front's OpenAPI file (skipped, and said so, without it).
    if let Some(specs) = deskferry_tests::vendor_specs("front") {
        let cov = deskferry_tests::openapi_check(
            w.log(),
            &specs.join("core-api.json"),
            crate::front_sim::FRONT_OPENAPI,
        );
        assert_eq!(cov.gets, requests as u64, "{cov:?}");
    }

    // A delta after a reply, a new conversation and a trashed one holds exactly those three,
    // the reply, and the tombstone.
    let ch = w.change().expect("change");
    let before = w.log().len();
    extract(dir.path(), &keys, "delta.dfb", Some(&dir.path().join("front.dfb.json")));
    let r = open(&dir.path().join("delta.dfb"), &keys);
    assert_eq!(r.envelope().mode, Mode::Delta);
    let tickets: std::collections::BTreeSet<String> =
        r.records::<Ticket>().expect("tickets").map(|t| t.expect("ticket").id).collect();
    let three: std::collections::BTreeSet<String> =
        [&ch.answered, &ch.created, &ch.deleted].into_iter().cloned().collect();
    assert_eq!(tickets, three, "{ch:?}");
    let comments: Vec<Comment> = r.records().expect("comments").map(|c| c.expect("c")).collect();
    assert!(
        comments.iter().any(|c| c.ticket_id == ch.answered
            && c.body_text.as_deref().is_some_and(|b| b.contains(&ch.reply))),
        "the reply"
    );
    // A changed conversation comes whole (Front lists no messages "since"), so a small one.
    assert!(comments.len() < 20, "{} comments in the delta", comments.len());
    // Nothing of the knowledge base changed: its lists are read, no article again.
    assert_eq!(r.records::<KbArticle>().expect("kb_articles").count(), 0);
    let tombs: Vec<Tombstone> = r.records().expect("tombstones").map(|t| t.expect("t")).collect();
    assert_eq!(tombs.len(), 1);
    assert_eq!((tombs[0].entity.as_str(), tombs[0].id.as_str()), ("tickets", ch.deleted.as_str()));
    eprintln!(
        "front tiny delta: {} requests, {} tickets, {} comments, {} tombstone",
        w.log().len() - before,
        tickets.len(),
        comments.len(),
        tombs.len()
    );

    // A token revoked in Front's settings stops the next extraction at its first request.
    w.revoke_token().expect("revoke");
    let before = w.log().len();
    let cfg = SourceConfig::load(&dir.path().join("source.toml")).expect("source.toml");
    let src = FrontSource::new(&cfg).expect("source");
    let opts = ExtractOptions::new(
        dir.path().join("refused.dfb"),
        Recipients::from_file(&keys.recipient).expect("recipients"),
        SigningKey::from_file(&keys.sign_key).expect("sign key"),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let err = rt.block_on(run(&src, opts)).expect_err("a revoked token is refused");
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(w.log().len() - before, 1, "nothing after the refused check");
    w.stop().expect("stop");
}
