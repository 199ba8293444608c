//! Freshdesk as a source: the simulated Freshdesk holding `tiny`, extracted through the real
//! pipeline, compared field by field with the dataset as Freshdesk shows it minus its declared
//! losses; its requests against the API's floor; a delta after a reply, a new ticket and a
//! deletion. (The matrix runs the same world through the binaries, with faults and kills.)

use deskferry_extractor::config::SourceConfig;
use deskferry_extractor::pipeline::{ExtractOptions, run};
use deskferry_extractor::platforms::freshdesk::FreshdeskSource;
use deskferry_extractor::platforms::registry::Role;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::kit::{WorldOptions, compare, start_world};
use deskferry_format::model::{Comment, Ticket, Tombstone};
use deskferry_format::{
    BundleReader, Identities, Recipients, SignerKey, SigningKey, VerifyOptions, keygen,
};

#[test]
fn freshdesk_tiny_extracts_whole_at_near_the_floor_and_deltas() {
    let world = start_world("freshdesk", Role::Source, &WorldOptions::default()).expect("world");
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = world.write_connection(dir.path(), "source").expect("connection");
    let cfg = SourceConfig::load(&conn).expect("the connection file");
    let keys = keygen(&dir.path().join("keys")).expect("keygen");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let extract = |name: &str, since: Option<std::path::PathBuf>| {
        let src = FreshdeskSource::new(&cfg).expect("source");
        let out = dir.path().join(name);
        let mut opts = ExtractOptions::new(
            out.clone(),
            Recipients::from_file(&keys.recipient).expect("recipients"),
            SigningKey::from_file(&keys.sign_key).expect("sign key"),
        );
        opts.http = Some(src.http().clone());
        opts.progress = ProgressMode::Plain;
        opts.since = since;
        let before = world.log().len();
        let summary = rt.block_on(run(&src, opts)).expect("extract");
        let reader = BundleReader::open(
            &out,
            &SignerKey::from_file(&keys.sign_pub).expect("sign.pub"),
            &Identities::from_file(&keys.identity).expect("identity"),
            &VerifyOptions::default(),
        )
        .expect("the bundle verifies");
        (summary, reader, world.log().len() - before)
    };

    let (summary, full, requests) = extract("full.dfb", None);
    assert_eq!(summary.failed_attachments, 0, "{summary:?}");
    let want = world.expected().expect("expectation");
    let same = compare(&want, &full).expect("compare");
    assert!(same.differences.is_empty(), "the extraction differs from the dataset: {same}");
    let floor = world.request_floor().expect("floor");
    assert!(requests >= floor.requests, "{requests} requests, below the floor {floor}");
    eprintln!(
        "freshdesk tiny: {same}; {requests} requests = {:.2}× the floor of {floor}",
        requests as f64 / floor.requests as f64
    );

    let ch = world.change().expect("change");
    let (_, delta, requests) = extract("delta.dfb", Some(dir.path().join("full.dfb.json")));
    let tickets: std::collections::BTreeSet<String> =
        delta.records::<Ticket>().unwrap().map(|t| t.unwrap().id).collect();
    let expected: std::collections::BTreeSet<String> =
        [&ch.answered, &ch.created, &ch.deleted].into_iter().cloned().collect();
    assert_eq!(tickets, expected, "the delta's tickets");
    let comments: Vec<Comment> = delta.records().unwrap().map(|c| c.unwrap()).collect();
    assert!(comments.iter().any(|c| c.ticket_id == ch.answered
        && c.body_text.as_deref().is_some_and(|b| b.contains(&ch.reply))));
    let tombs: Vec<Tombstone> = delta.records().unwrap().map(|t| t.unwrap()).collect();
    assert!(tombs.iter().any(|t| t.entity == "tickets" && t.id == ch.deleted), "{tombs:?}");
    eprintln!(
        "freshdesk delta: {} comments, {} tombstones, {requests} requests",
        comments.len(),
        tombs.len()
    );
    Box::new(world).stop().expect("stop");
}
