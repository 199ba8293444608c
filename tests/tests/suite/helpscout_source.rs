//! Help Scout as a source through the binaries: the simulated Help Scout holding `tiny` →
//! `deskferry-extract` → a bundle equal, field by field, to the dataset as Help Scout shows it
//! minus its declared losses (the kit's comparison), at the API's request floor; an access token
//! that expires during the run is replaced (Help Scout's tokens live 48 hours); a delta after a
//! reply, a new conversation and one moved to the trash.

use deskferry_extractor::platforms::registry::Role;
use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{WorldOptions, compare, start_world};
use deskferry_format::model::{Ticket, Tombstone};
use deskferry_format::{BundleReader, Identities, SignerKey, VerifyOptions};

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

#[test]
fn helpscout_tiny_extracts_completely_at_the_floor_and_a_delta_sees_the_trash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let w = start_world("helpscout", Role::Source, &WorldOptions::default()).expect("world");
    w.write_connection(d, "source").expect("connection file");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);

    let before = w.log().len();
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);
    let requests = w.log().len() - before;
    let c = compare(&w.expected().expect("expected"), &open(d, "a.dfb")).expect("compare");
    eprintln!("helpscout tiny: {c}");
    assert!(c.differences.is_empty(), "{c}");
    assert!(c.blobs > 0 && c.records > w.dataset().tickets.len(), "{c}");
    let floor = w.request_floor().expect("floor");
    eprintln!(
        "helpscout tiny: {requests} requests = {:.2}x the floor {floor}",
        requests as f64 / floor.requests as f64
    );
    assert!(requests >= floor.requests, "{requests} < floor {floor}");
    let tokens = w.log().entries().iter().filter(|e| e.path == "/v2/oauth2/token").count();
    assert_eq!(tokens, 1, "one token for the whole run");

    // A delta: a reply, a new conversation, one moved to the trash.
    let ch = w.change().expect("change");
    let x =
        tool(&tools, d, "deskferry-extract", &extract_args("d.dfb", &["--since", "a.dfb.json"]));
    check(&x, "delta", &[0]);
    let _ = json_of(&x);
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

/// Tokens that expire twice during the run (after the 15th and the 40th request, as if 48
/// hours had passed): the extraction asks for a new one whenever an answer says
/// 401 and finishes with everything, the secrets never on the command line or in its output.
#[test]
fn an_expired_token_is_replaced_and_the_extraction_finishes() {
    use deskferry_fixtures::dataset::{Dataset, Size};
    use deskferry_fixtures::sim::helpscout::{self, HelpScoutConfig};
    use deskferry_fixtures::sim::{Desk, SimOptions, Store, sim_runtime};

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let rt = sim_runtime().expect("runtime");
    let ds = Dataset::generate(1, Size::Tiny);
    let config = HelpScoutConfig {
        options: SimOptions { time_scale: 60.0, ..SimOptions::default() },
        ..HelpScoutConfig::default()
    };
    let sim = rt
        .block_on(helpscout::start(Desk::new(Store::from_dataset(ds.clone())), config))
        .expect("sim");
    let creds = &sim.state.credentials;
    crate::support::private(&d.join("secret"), &format!("{}\n", creds.secret()));
    crate::support::private(&d.join("docs-key"), &format!("{}\n", creds.docs_key));
    let conn = format!(
        "platform = \"helpscout\"\nurl = \"{u}\"\n[credentials]\nuser = \"{id}\"\ntoken_file = \"secret\"\n\
         [rate_limits]\ndefault = 6000\ndocs = 6000\n[options]\ndocs_url = \"{u}\"\ndocs_key_file = \"docs-key\"\n",
        u = sim.url(),
        id = creds.client_id
    );
    std::fs::write(d.join("source.toml"), conn).expect("source.toml");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    let (state, log) = (sim.state.clone(), sim.running.log.clone());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let expiring = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for at in [15, 40] {
                while log.len() < at && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                state.credentials.expire_tokens();
            }
        })
    };
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    expiring.join().expect("expiring thread");
    check(&x, "extract with expiring tokens", &[0]);
    for secret in [creds.secret(), creds.docs_key.clone()] {
        assert!(
            !x.stdout.contains(&secret) && !x.stderr.contains(&secret),
            "a secret in the output"
        );
    }
    let log = sim.running.log.entries();
    let tokens = log.iter().filter(|e| e.path == "/v2/oauth2/token").count();
    let refused = log.iter().filter(|e| e.status == 401).count();
    eprintln!("helpscout: {tokens} tokens, {refused} answers 401");
    assert!(
        tokens > 1 && refused > 0,
        "{tokens} tokens, {refused} 401s: no token expired during the run"
    );
    let r = open(d, "a.dfb");
    let got = r.records::<Ticket>().expect("tickets").count();
    assert_eq!(got, ds.tickets.iter().filter(|t| !t.is_deleted).count());
    rt.block_on(sim.stop()).expect("stop");
}

/// A chat whose embedded threads Help Scout cut short: the extraction reads that
/// conversation's threads in full (`conversations/{id}/threads`) and holds every one.
#[test]
fn a_chat_cut_short_in_the_embed_is_read_in_full() {
    use deskferry_fixtures::dataset::{Dataset, Size};
    use deskferry_fixtures::sim::helpscout::{self, HelpScoutConfig, wire};
    use deskferry_fixtures::sim::{Desk, SimOptions, Store, sim_runtime};
    use deskferry_format::model::Comment;

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let rt = sim_runtime().expect("runtime");
    let mut store = Store::from_dataset(Dataset::generate(1, Size::Tiny));
    let t = store.tickets.iter_mut().find(|t| !t.is_deleted && !t.is_spam).expect("a ticket");
    t.channel = Some("chat".into());
    let chat = t.id.clone();
    let first = store.comments.iter().find(|c| c.ticket_id == chat).cloned().expect("a comment");
    for i in 0..wire::EMBEDDED_CHAT_THREADS + 5 {
        let mut c = first.clone();
        c.id = format!("9{i:05}");
        c.attachment_ids.clear();
        c.created_at = c.created_at.map(|t| t + chrono::Duration::minutes(i as i64 + 1));
        store.comments.push(c);
    }
    store.normalize();
    let want = store.comments.iter().filter(|c| c.ticket_id == chat).count();
    let config = HelpScoutConfig {
        options: SimOptions { time_scale: 60.0, ..SimOptions::default() },
        ..HelpScoutConfig::default()
    };
    let sim = rt.block_on(helpscout::start(Desk::new(store), config)).expect("sim");
    let creds = &sim.state.credentials;
    crate::support::private(&d.join("secret"), &format!("{}\n", creds.secret()));
    let conn = format!(
        "platform = \"helpscout\"\nurl = \"{u}\"\n[credentials]\nuser = \"{id}\"\ntoken_file = \"secret\"\n\
         [rate_limits]\ndefault = 6000\n",
        u = sim.url(),
        id = creds.client_id
    );
    std::fs::write(d.join("source.toml"), conn).expect("source.toml");
    check(&tool(&tools, d, "deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    // No Docs key: the knowledge base is left out with a warning (exit 0: a note).
    let x = tool(&tools, d, "deskferry-extract", &extract_args("a.dfb", &[]));
    check(&x, "extract", &[0]);
    let comments: Vec<Comment> =
        open(d, "a.dfb").records().expect("comments").map(|c| c.expect("c")).collect();
    assert_eq!(comments.iter().filter(|c| c.ticket_id == chat).count(), want);
    let read = sim
        .running
        .log
        .entries()
        .iter()
        .filter(|e| e.path == format!("/v2/conversations/{chat}/threads"))
        .count();
    assert_eq!(read, 1, "one request for the chat's threads");
    rt.block_on(sim.stop()).expect("stop");
}
