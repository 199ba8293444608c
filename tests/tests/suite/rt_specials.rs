//! Tickets our datasets do not have, between two real Request Trackers, through the binaries as
//! an operator runs them (issue 11): mail from RT's own mail gateway (text and HTML
//! alternatives, a `cid:` image, a Latin-1 file with a non-ASCII name, an empty file),
//! right-to-left, CJK and emoji text, HTML tables, two requestors, multi-value custom fields, an
//! agent disabled after the fact, a rejected and a merged ticket, a 65-message thread — and the
//! target RT killed in the middle of the load.
//!
//! The target runs RT's stock scrips, as a real one does: `plan` must say what they send, and
//! the mbox shows they do.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskferry_fixtures::demo::tools::{Output, Tools, run_tool};
use deskferry_fixtures::rt::{LONG_THREAD, RtOptions, RtServer, Specials, seed_specials};
use deskferry_format::model::{Attachment, Comment, Ticket, User};
use deskferry_format::{BundleReader, Identities, Record, SignerKey, VerifyOptions};
use deskferry_loader::platforms::rt::map::parse_body;
use deskferry_tests::workspace_bin;

use crate::extract_rt::rt_world::{require_rt, start_rt};
use crate::support::{assert_accounted_and_clean, check, json_of, private};

/// What one bundle holds, by id.
struct Rows {
    users: BTreeMap<String, User>,
    tickets: Vec<Ticket>,
    comments: BTreeMap<String, Vec<Comment>>,
    attachments: BTreeMap<String, Attachment>,
}

fn rows<R: Record>(r: &BundleReader) -> Vec<R> {
    r.records::<R>().expect("table").collect::<Result<Vec<R>, _>>().expect("rows")
}

fn read(dir: &Path, bundle: &str) -> Rows {
    let r = BundleReader::open(
        &dir.join(bundle),
        &SignerKey::from_file(&dir.join("keys/sign.pub")).expect("sign.pub"),
        &Identities::from_file(&dir.join("keys/identity.txt")).expect("identity"),
        &VerifyOptions::default(),
    )
    .expect("bundle verifies");
    let mut comments: BTreeMap<String, Vec<Comment>> = BTreeMap::new();
    for c in rows::<Comment>(&r) {
        comments.entry(c.ticket_id.clone()).or_default().push(c);
    }
    for list in comments.values_mut() {
        list.sort_by_key(|c| c.id.parse::<i64>().expect("numeric id"));
    }
    Rows {
        users: rows::<User>(&r).into_iter().map(|u| (u.id.clone(), u)).collect(),
        tickets: rows::<Ticket>(&r),
        comments,
        attachments: rows::<Attachment>(&r).into_iter().map(|a| (a.id.clone(), a)).collect(),
    }
}

impl Rows {
    fn ticket(&self, subject_part: &str) -> &Ticket {
        self.tickets
            .iter()
            .find(|t| t.subject.as_deref().is_some_and(|s| s.contains(subject_part)))
            .unwrap_or_else(|| panic!("no ticket with {subject_part:?} in its subject"))
    }

    fn email(&self, user: Option<&String>) -> Option<String> {
        self.users.get(user?)?.email.clone()
    }

    fn requesters(&self, t: &Ticket) -> Vec<String> {
        let mut v: Vec<String> = t
            .requester_id
            .iter()
            .chain(&t.other_requester_ids)
            .filter_map(|id| self.email(Some(id)))
            .collect();
        v.sort();
        v
    }

    fn comments(&self, t: &Ticket) -> &[Comment] {
        self.comments.get(&t.id).map(Vec::as_slice).unwrap_or_default()
    }

    /// (file name, SHA-256, content type) of a comment's files.
    fn files(&self, c: &Comment) -> Vec<(String, Option<String>, Option<String>)> {
        let mut v: Vec<_> = c
            .attachment_ids
            .iter()
            .map(|a| {
                let a = &self.attachments[a];
                (a.file_name.clone(), a.sha256.clone(), a.content_type.clone())
            })
            .collect();
        v.sort();
        v
    }
}

/// A message's body as written, without the header line the RT loader puts first.
fn body(c: &Comment) -> String {
    let b = c.body_html.clone().or(c.body_text.clone()).unwrap_or_default();
    match parse_body(&b) {
        Some((_, rest)) => rest.to_string(),
        None => b,
    }
}

/// Message transactions on the target's copy of the long thread (0 before it exists).
fn long_thread_progress(rt: &RtServer) -> usize {
    let Ok(c) = rt.client() else { return 0 };
    let q = "/tickets?query=Subject LIKE 'long thread'&fields=id";
    let Ok(page) = c.get(q) else { return 0 };
    let id = match &page["items"][0]["id"] {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return 0,
    };
    c.get_all(&format!("/ticket/{id}/history?fields=Type"))
        .map(|h| {
            h.iter()
                .filter(|t| matches!(t["Type"].as_str(), Some("Correspond" | "Comment")))
                .count()
        })
        .unwrap_or(0)
}

fn mails_sent(rt: &RtServer) -> usize {
    let Ok(dir) = std::fs::read_dir(rt.dir().join("var")) else { return 0 };
    dir.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "mbox"))
        .map(|e| {
            let text = std::fs::read(e.path()).unwrap_or_default();
            String::from_utf8_lossy(&text).lines().filter(|l| l.starts_with("From ")).count()
        })
        .sum()
}

#[test]
fn special_tickets_survive_a_round_trip_between_two_real_rts_and_a_killed_target() {
    require_rt();
    let src = start_rt();
    let specials: Specials = seed_specials(&src).expect("seeding the special tickets");
    let mut dst = RtServer::start_with(&RtOptions::default()).expect("target RT (stock scrips)");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tools = Tools::beside_current_exe().expect("tools");
    let tool = |name: &str, args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run_tool(&tools, name, &args, d, &[], false, Output::Capture).expect("run tool")
    };
    check(&tool("deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    let connection = |name: &str, rt: &RtServer| {
        private(&d.join(format!("{name}.token")), &format!("{}\n", rt.auth_token("root").unwrap()));
        std::fs::write(
            d.join(format!("{name}.toml")),
            format!(
                "platform = \"rt\"\nurl = \"{}\"\n[credentials]\ntoken_file = \"{name}.token\"\n",
                rt.url
            ),
        )
        .unwrap();
    };
    connection("source", &src);
    connection("target", &dst);
    let extract = |source: &str, out: &str| {
        let ran = tool(
            "deskferry-extract",
            &[
                "--source",
                source,
                "--recipient",
                "keys/recipient.txt",
                "--sign-key",
                "keys/sign.key",
                "--out",
                out,
                "--progress",
                "plain",
            ],
        );
        check(&ran, &format!("deskferry-extract {source}"), &[0]);
    };
    let load_args = |cmd: &str, report: &str| -> Vec<String> {
        [
            cmd,
            "--target",
            "target.toml",
            "--bundle",
            "specials.dfb",
            "--identity",
            "keys/identity.txt",
            "--signer",
            "keys/sign.pub",
            "--ledger",
            "rt.ledger",
            "--report",
            report,
            "--mapping",
            "mapping.toml",
        ]
        .map(String::from)
        .to_vec()
    };

    extract("source.toml", "specials.dfb");
    let before = read(d, "specials.dfb");

    // plan: the written mapping is what the loader does without one, and the scrips are named.
    let mut plan = load_args("plan", "reports/plan");
    plan.retain(|a| a != "--mapping" && a != "mapping.toml");
    plan.extend(["--write-mapping".to_string(), "mapping.toml".to_string()]);
    let plan_args: Vec<&str> = plan.iter().map(String::as_str).collect();
    let planned = tool("deskferry-load", &plan_args);
    check(&planned, "plan", &[0]);
    assert!(
        planned.stdout.contains("sends or triggers") && planned.stdout.contains("scrips"),
        "{}",
        planned.stdout
    );
    let mapping = std::fs::read_to_string(d.join("mapping.toml")).unwrap();
    assert!(mapping.contains("\"rejected\" = \"rejected\""), "{mapping}");
    assert!(
        !mapping.lines().any(|l| l.starts_with("\"Products\"") || l.starts_with("\"Region\"")),
        "RT creates fields: the mapping leaves them to the loader, not to a note:\n{mapping}"
    );

    // run, with the target killed in the middle of the long thread.
    let mut args = load_args("run", "reports/run1");
    args.extend(["--max-outage".into(), "15".into()]);
    let mut child = Command::new(workspace_bin("deskferry-load"))
        .args(&args)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deskferry-load run");
    let started = Instant::now();
    while long_thread_progress(&dst) < LONG_THREAD / 3 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the load ended ({status}) before the target was killed:\n{err}");
        }
        assert!(started.elapsed() < Duration::from_secs(600), "the long thread never got going");
        std::thread::sleep(Duration::from_millis(100));
    }
    dst.kill_server();
    // Bounded: the run gives up on its own (15 s of outage, plus a last backoff); a hang fails here.
    let killed = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if killed.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("deskferry-load kept retrying a dead target for five minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "fatal, not per-record failures:\n{stderr}");
    assert!(stderr.contains("is not answering"), "the outage is shown while it lasts:\n{stderr}");
    assert!(stderr.contains("run the same command again"), "the remedy is given:\n{stderr}");
    dst.restart(Duration::from_secs(180)).expect("target RT back");

    // The rerun resumes: nothing twice, nothing missing, the thread in order.
    let args = load_args("run", "reports/run2");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut json_args = args.clone();
    json_args.push("--json");
    let rerun = tool("deskferry-load", &json_args);
    check(&rerun, "rerun", &[0]);
    assert_eq!(json_of(&rerun)["run"]["counts"]["failed"], 0, "{}", rerun.stdout);
    let mut rec = load_args("reconcile", "reports/reconcile");
    rec.push("--json".into());
    let rec: Vec<&str> = rec.iter().map(String::as_str).collect();
    check(&tool("deskferry-load", &rec), "reconcile", &[0]);
    assert_accounted_and_clean(&d.join("reports/reconcile"), "specials");
    assert!(mails_sent(&dst) > 0, "with stock scrips RT mails during a load, as plan says");

    // The target extracted again, against the source.
    extract("target.toml", "after.dfb");
    let after = read(d, "after.dfb");
    let records = std::fs::read_to_string(d.join("reports/reconcile/records.csv")).unwrap();
    for subject in ["order #7", "long thread", "close my account", "Printer jam"] {
        let (a, b) = (before.ticket(subject), after.ticket(subject));
        let what = format!("{subject:?}: ticket {} → {}", a.id, b.id);
        assert_eq!(b.subject, a.subject, "{what}");
        assert_eq!(b.status_raw, a.status_raw, "{what}: status");
        assert_eq!(b.created_at, a.created_at, "{what}: creation time, kept in the ticket");
        assert_eq!(after.requesters(b), before.requesters(a), "{what}: every requestor");
        assert_eq!(
            after.email(b.assignee_id.as_ref()),
            before.email(a.assignee_id.as_ref()),
            "{what}: owner"
        );
        let fields = |t: &Ticket| {
            t.custom_fields
                .iter()
                // The loader's own fields, and Tags (RT has no tags; it holds the migration tag).
                .filter(|f| !["Deskferry ID", "Original Created", "Tags"].contains(&f.key.as_str()))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(b), fields(a), "{what}: custom fields, every value");
        let (ca, cb) = (before.comments(a), after.comments(b));
        assert_eq!(cb.len(), ca.len(), "{what}: messages");
        for (x, y) in ca.iter().zip(cb) {
            let what = format!("{what}, message {} → {}", x.id, y.id);
            assert_eq!(y.public, x.public, "{what}");
            assert_eq!(
                after.email(y.author_id.as_ref()),
                before.email(x.author_id.as_ref()),
                "{what}: author"
            );
            assert_eq!(body(y), body(x), "{what}: body, in order");
            assert_eq!(after.files(y), before.files(x), "{what}: files (name, SHA-256, type)");
        }
        if b.raw.contains("\"Created\"")
            && !b.raw.contains(&a.created_at.unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string())
        {
            // RT set its own Created: the report must say so for this ticket.
            let row =
                records.lines().find(|l| l.starts_with(&format!("tickets,{},", a.id))).unwrap();
            assert!(row.contains("Original Created"), "{what}: {row}");
        }
    }
    assert_eq!(before.comments(before.ticket("long thread")).len(), LONG_THREAD);
    let mail = before.ticket("order #7");
    let first = &before.comments(mail)[0];
    assert!(first.body_text.is_some() && first.body_html.is_some(), "the mail had both parts");
    let row = records.lines().find(|l| l.starts_with(&format!("comments,{},", first.id))).unwrap();
    assert!(row.contains("text/plain alternative") && row.contains("Content-ID"), "{row}");
    let files = before.files(first);
    assert!(files.iter().any(|(n, ..)| n == "Bestätigung.txt"), "{files:?}");
    assert!(files.iter().any(|(n, ..)| n == "empty.bin"), "{files:?}");
    let carol = after
        .users
        .values()
        .find(|u| u.email.as_deref() == Some(&specials.disabled_agent))
        .unwrap();
    assert!(!carol.active, "the departed agent stays disabled");
    assert!(
        specials.emails.len() == 4
            && specials.rejected > 0
            && specials.merged > 0
            && specials.long > 0
            && specials.mail > 0
    );
    assert_eq!(before.requesters(mail), ["alice@example.com", "bob@example.com"], "both kept");
}
