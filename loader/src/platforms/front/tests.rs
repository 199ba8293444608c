//! `FrontTarget` against the simulated Front (real HTTP on 127.0.0.1): threading, read-back,
//! crash re-runs without duplicates, oversized attachments, placeholder and status handling,
//! contacts and accounts.

use std::time::Duration;

use bytes::Bytes;
use deskferry_fixtures::sim::SimOptions;
use deskferry_fixtures::sim::front::{self, FrontConfig, FrontPlan, FrontSeed, FrontServer};
use deskferry_format::{Comment, Organization, Ticket, User, UserKind};
use sha2::{Digest, Sha256};

use super::{FrontOptions, FrontTarget};
use crate::target::{
    AttachmentData, Author, MappedComment, MappedTicket, MappedUser, ReadUser, Readback, Target,
    Written,
};

async fn sim(max_attachment_bytes: usize) -> FrontServer {
    sim_with(FrontConfig { max_attachment_bytes, ..FrontConfig::default() }).await
}

/// A simulated Front with `config`, fast and without limits.
async fn sim_with(config: FrontConfig) -> FrontServer {
    let config = FrontConfig {
        plan: FrontPlan::Custom(100_000),
        processing_delay: Duration::from_millis(30),
        burst_per_second: None,
        ..config
    };
    let options = SimOptions { seed: 3, ..SimOptions::default() };
    front::start(&options, config, &FrontSeed::minimal(), 0).await.expect("start front sim")
}

fn target(server: &FrontServer, max: u64) -> FrontTarget {
    let mut o = FrontOptions::new("Support");
    o.per_minute = 100_000;
    o.max_attachment_bytes = max;
    o.import_wait = Duration::from_secs(60);
    let url = server.running.url().parse().unwrap();
    FrontTarget::with_options(url, server.state.token().to_string().into(), o).unwrap()
}

fn ts(s: &str) -> deskferry_format::Timestamp {
    s.parse().unwrap()
}

fn ticket(id: &str, status: &str) -> MappedTicket {
    MappedTicket {
        ticket: Ticket {
            subject: Some(format!("Ticket {id}")),
            requester_id: Some("100".into()),
            created_at: Some(ts("2021-03-04T05:06:07Z")),
            raw: "{}".into(),
            ..Ticket::blank(id)
        },
        subject: format!("Ticket {id}"),
        tags: vec!["two words".into(), "migrated".into()],
        status: Some(status.into()),
        priority: None,
        group: None,
        assignee: None,
        requester: requester(),
        fields: vec![("Priority".into(), vec!["high".into()])],
        note_fields: vec![],
        external_id: format!("test-t{id}"),
        emails: Default::default(),
    }
}

fn requester() -> Author {
    Author {
        target_id: None,
        email: Some("cust@example.org".into()),
        name: Some("Cüstomer".into()),
        is_agent: false,
        defaulted: false,
    }
}

fn agent() -> Author {
    Author {
        target_id: None,
        email: Some("agent@example.com".into()),
        name: None,
        is_agent: true,
        defaulted: false,
    }
}

fn file(id: &str, bytes: &[u8]) -> AttachmentData {
    AttachmentData {
        id: id.into(),
        file_name: format!("{id} réport.pdf"),
        content_type: Some("application/pdf".into()),
        sha256: hex::encode(Sha256::digest(bytes)),
        inline: false,
        bytes: Bytes::copy_from_slice(bytes),
    }
}

fn comment(
    id: &str,
    public: bool,
    author: Author,
    at: &str,
    files: Vec<AttachmentData>,
) -> MappedComment {
    MappedComment {
        comment: Comment {
            id: id.into(),
            ticket_id: "1".into(),
            author_id: Some("100".into()),
            public,
            body_html: Some(format!("<p>comment {id}</p>")),
            body_text: None,
            channel: None,
            created_at: Some(ts(at)),
            attachment_ids: files.iter().map(|f| f.id.clone()).collect(),
            raw: "{}".into(),
        },
        author,
        body_html: format!("<p>comment {id}</p>"),
        public,
        created_at: Some(ts(at)),
        attachments: files,
        external_id: format!("test-c{id}"),
    }
}

/// Resolves agent authors to the seeded teammate, as the mapping would.
async fn with_teammate(t: &FrontTarget, mut cs: Vec<MappedComment>) -> Vec<MappedComment> {
    let inv = t.inventory().await.unwrap();
    let id = inv.agents.iter().find(|a| a.email == "agent@example.com").unwrap().id.clone();
    for c in &mut cs {
        if c.author.is_agent {
            c.author.target_id = Some(id.clone());
        }
    }
    cs
}

fn ok_ids(outcomes: &[Result<Written, crate::error::WriteError>]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Ok(Written::Migrated(id) | Written::Matched(id)) => id.clone(),
            other => panic!("unexpected outcome {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_ticket_threads_into_one_conversation_and_reads_back() {
    let server = sim(25_000_000).await;
    let t = target(&server, 25_000_000);
    let pdf = b"%PDF-1.4 \x00\xff bytes".to_vec();
    let cs = with_teammate(
        &t,
        vec![
            comment("1", true, requester(), "2021-03-04T05:06:07Z", vec![file("a1", &pdf)]),
            comment("2", false, agent(), "2021-03-04T06:00:00Z", vec![file("a2", b"note file")]),
            comment("3", true, agent(), "2021-03-04T07:00:00Z", vec![]),
        ],
    )
    .await;
    let mt = ticket("1", "open");
    let (w, outcomes) = t.write_ticket(&mt, None, &cs).await.unwrap();
    let Written::Migrated(cnv) = w else { panic!("{w:?}") };
    assert!(cnv.starts_with("cnv_"));
    let ids = ok_ids(&outcomes);
    assert!(
        ids[0].starts_with("alt:uid:")
            && ids[1].starts_with("com_")
            && ids[2].starts_with("alt:uid:")
    );

    let read = t.read_ticket(&cnv).await.unwrap();
    assert_eq!(read.subject.as_deref(), Some("Ticket 1"));
    assert_eq!(read.status.as_deref(), Some("unassigned"), "open, nobody assigned");
    assert!(
        read.tags.contains(&"two words".to_string()) && read.tags.contains(&"migrated".to_string())
    );
    let got: Vec<(String, bool, Option<String>)> =
        read.comments.iter().map(|c| (c.id.clone(), c.public, c.author.clone())).collect();
    assert_eq!(
        got,
        vec![
            (ids[0].clone(), true, Some("cust@example.org".into())),
            (ids[2].clone(), true, Some("agent@example.com".into())),
            (ids[1].clone(), false, Some("agent@example.com".into())),
        ],
        "messages by time, then the note (Front dates it at import)"
    );
    assert_eq!(read.comments[0].created_at, Some(ts("2021-03-04T05:06:07Z")));
    assert_eq!(read.comments[2].external_id.as_deref(), Some("test-c2"));
    assert_eq!(
        read.comments[0].attachments,
        vec![("a1 réport.pdf".to_string(), cs[0].attachments[0].sha256.clone(), pdf.len() as u64)]
    );
    assert_eq!(read.comments[2].attachments[0].1, cs[1].attachments[0].sha256);
    let conv = t.client().conversation(&cnv).await.unwrap().unwrap();
    assert_eq!(conv.custom_fields["Priority"], "high");
    server.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_rerun_after_a_crash_or_without_the_ledger_creates_nothing_twice() {
    let server = sim(25_000_000).await;
    let first = target(&server, 25_000_000);
    let cs = with_teammate(
        &first,
        vec![
            comment("1", true, requester(), "2021-03-04T05:06:07Z", vec![]),
            comment("2", false, agent(), "2021-03-04T06:00:00Z", vec![]),
            comment("3", true, agent(), "2021-03-04T07:00:00Z", vec![]),
        ],
    )
    .await;
    let mut mt = ticket("1", "archived");
    mt.note_fields = vec![("Region".into(), "EMEA".into())];
    // The crash: the first attempt wrote everything, the ledger kept nothing.
    let (w, written) = first.write_ticket(&mt, None, &cs).await.unwrap();
    let Written::Migrated(cnv) = w else { panic!() };
    let before = server.state.counters();

    // A new process: the core asks find_ticket, then writes with what it found.
    let again = target(&server, 25_000_000);
    let found = again.find_ticket(&mt).await.unwrap();
    assert_eq!(found.as_deref(), Some(cnv.as_str()));
    let (w, outcomes) = again.write_ticket(&mt, found.as_deref(), &cs).await.unwrap();
    assert_eq!(w, Written::Migrated(cnv.clone()));
    assert!(matches!(outcomes[1], Ok(Written::Matched(_))), "{:?}", outcomes[1]);

    // And when find_ticket finds nothing (a renamed subject), the re-import still threads.
    let third = target(&server, 25_000_000);
    let mut renamed = mt.clone();
    renamed.subject = "Something else".into();
    assert_eq!(third.find_ticket(&renamed).await.unwrap(), None);
    let (w, _) = third.write_ticket(&renamed, None, &cs).await.unwrap();
    assert_eq!(w, Written::Migrated(cnv.clone()));

    // Another operator, or the ledger lost: no prior id and no crash recovery asked. The imports
    // find the conversation; its notes are found before any is posted.
    let fourth = target(&server, 25_000_000);
    let (w, outcomes) = fourth.write_ticket(&mt, None, &cs).await.unwrap();
    assert_eq!(w, Written::Migrated(cnv.clone()));
    assert!(matches!(outcomes[1], Ok(Written::Matched(_))), "{:?}", outcomes[1]);
    assert_eq!(ok_ids(&outcomes)[1], ok_ids(&written)[1], "the same note");

    let after = server.state.counters();
    assert_eq!(after.imports_accepted, before.imports_accepted, "no message imported twice");
    assert_eq!(after.imports_deduplicated, before.imports_deduplicated + 6);
    let read = again.read_ticket(&cnv).await.unwrap();
    let notes: Vec<Option<&str>> =
        read.comments.iter().filter(|c| !c.public).map(|c| c.external_id.as_deref()).collect();
    assert_eq!(notes, [Some("test-t1-fields"), Some("test-c2")], "no note twice");
    assert_eq!(read.comments.len(), 4, "{:?}", read.comments);
    let all: Vec<serde_json::Value> = again.client().list_all("conversations").await.unwrap();
    assert_eq!(all.len(), 1);
    server.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_oversized_attachment_is_named_not_uploaded() {
    let server = sim(1_000).await;
    let t = target(&server, 1_000);
    let cs = vec![comment(
        "1",
        true,
        requester(),
        "2021-03-04T05:06:07Z",
        vec![file("big", &[7u8; 1_001]), file("ok", b"small")],
    )];
    let (w, outcomes) = t.write_ticket(&ticket("9", "archived"), None, &cs).await.unwrap();
    let Written::Migrated(cnv) = w else { panic!() };
    assert!(outcomes[0].is_ok());
    let read = t.read_ticket(&cnv).await.unwrap();
    let names: Vec<&str> = read.comments[0].attachments.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(names, ["ok réport.pdf"]);
    let uid = read.comments[0].id.clone();
    let body = server.state.with_store(|s| s.message(&uid).unwrap().body.clone());
    assert!(body.contains("big réport.pdf (1001 bytes)"), "{body}");
    server.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_notes_only_ticket_gets_a_placeholder_and_spam_is_trashed() {
    let server = sim(25_000_000).await;
    let t = target(&server, 25_000_000);
    let cs =
        with_teammate(&t, vec![comment("5", false, agent(), "2021-03-04T06:00:00Z", vec![])]).await;
    let (w, outcomes) = t.write_ticket(&ticket("2", "spam"), None, &cs).await.unwrap();
    let Written::Migrated(cnv) = w else { panic!() };
    assert!(outcomes[0].is_ok());
    let read = t.read_ticket(&cnv).await.unwrap();
    assert_eq!(read.status.as_deref(), Some("deleted"), "Front shows spam as deleted");
    assert_eq!(read.comments.len(), 2);
    assert_eq!(read.comments[0].external_id.as_deref(), Some("test-t2-open"));
    assert_eq!(read.comments[1].external_id.as_deref(), Some("test-c5"));
    assert_eq!(t.apply_tombstone("tickets", &cnv).await.unwrap(), Written::Migrated(cnv.clone()));
    server.running.stop().await.unwrap();
}

fn user(id: &str, email: Option<&str>, org: Option<String>) -> MappedUser {
    MappedUser {
        user: User {
            id: id.into(),
            kind: UserKind::EndUser,
            role_raw: None,
            name: Some(format!("User {id}")),
            email: email.map(str::to_string),
            other_emails: vec![],
            phone: None,
            organization_id: None,
            group_ids: vec![],
            active: true,
            suspended: false,
            is_deleted: false,
            locale: None,
            time_zone: None,
            tags: vec![],
            custom_fields: vec![],
            created_at: None,
            updated_at: None,
            raw: "{}".into(),
        },
        organization: org,
        matched_agent: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_contacts_and_accounts_are_created_once() {
    let server = sim(25_000_000).await;
    let t = target(&server, 25_000_000);
    let org =
        Organization { name: "Acme".into(), domains: vec!["acme.test".into()], ..org("1001") };
    let Written::Migrated(acc) = t.write_organization(&org, None).await.unwrap() else { panic!() };
    // A crash before the ledger kept the id: the external id finds it (by `alt:ext_id:`, the
    // alias Front documents; the simulator refuses any other spelling).
    assert_eq!(t.write_organization(&org, None).await.unwrap(), Written::Matched(acc.clone()));
    assert_eq!(
        t.write_organization(&org, Some(&acc)).await.unwrap(),
        Written::Migrated(acc.clone())
    );

    let Written::Migrated(c1) =
        t.write_user(&user("1", Some("Cust@Example.org"), Some(acc.clone())), None).await.unwrap()
    else {
        panic!()
    };
    // Same address in another case, another person: the contact is shared and keeps its own
    // name (reported with the user).
    match t.write_user(&user("2", Some("cust@example.org"), None), None).await.unwrap() {
        Written::Limited(c, why) => {
            assert_eq!(c, c1);
            assert!(why.contains("shares contact"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    let read = t.read_user(&c1).await.unwrap();
    assert_eq!(
        read,
        Readback::Found(ReadUser {
            name: Some("User 1".into()),
            emails: vec!["Cust@Example.org".into()]
        })
    );
    // The same person again without the ledger (a lost ledger): found and matched.
    assert_eq!(
        t.write_user(&user("1", Some("cust@example.org"), Some(acc.clone())), None).await.unwrap(),
        Written::Matched(c1.clone())
    );
    let Written::Migrated(c3) = t.write_user(&user("3", None, None), None).await.unwrap() else {
        panic!()
    };
    assert_ne!(c1, c3);
    let mut a = user("4", Some("agent@example.com"), None);
    a.user.kind = UserKind::Agent;
    assert!(matches!(t.write_user(&a, None).await.unwrap(), Written::Skipped(_)));
    a.matched_agent = Some("tea_x".into());
    assert_eq!(t.write_user(&a, None).await.unwrap(), Written::Matched("tea_x".into()));
    let members: Vec<serde_json::Value> =
        t.client().list_all(&format!("accounts/{acc}/contacts")).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["id"], c1.as_str());
    let contacts: Vec<serde_json::Value> = t.client().list_all("contacts").await.unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(t.apply_tombstone("users", &c3).await.unwrap(), Written::Migrated(c3.clone()));
    assert_eq!(t.apply_tombstone("users", &c3).await.unwrap(), Written::Matched(c3));
    server.running.stop().await.unwrap();
}

fn org(id: &str) -> Organization {
    Organization {
        id: id.into(),
        name: format!("Org {id}"),
        domains: vec![],
        notes: None,
        tags: vec![],
        custom_fields: vec![],
        created_at: None,
        updated_at: None,
        raw: "{}".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_duplicates_are_found_whatever_status_front_refuses_them_with() {
    // Front documents no answer for a taken handle or external id: the loader must find the
    // existing record before creating, not wait for a 409.
    for status in [400u16, 422, 409] {
        let config = FrontConfig {
            duplicate_status: reqwest::StatusCode::from_u16(status).unwrap(),
            ..FrontConfig::default()
        };
        let server = sim_with(config).await;
        let (first, second) = (target(&server, 1_000), target(&server, 1_000));
        let Written::Migrated(acc) = first.write_organization(&org("7"), None).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(
            second.write_organization(&org("7"), None).await.unwrap(),
            Written::Matched(acc.clone()),
            "{status}"
        );
        let u = user("1", Some("a@example.org"), Some(acc.clone()));
        let Written::Migrated(c) = first.write_user(&u, None).await.unwrap() else { panic!() };
        assert_eq!(second.write_user(&u, None).await.unwrap(), Written::Matched(c), "{status}");
        let contacts: Vec<serde_json::Value> = second.client().list_all("contacts").await.unwrap();
        let accounts: Vec<serde_json::Value> = second.client().list_all("accounts").await.unwrap();
        assert_eq!((contacts.len(), accounts.len()), (1, 1), "{status}");
        let refused = server.running.log.entries().iter().filter(|e| e.status == status).count();
        assert_eq!(refused, 0, "{status}: nothing was sent that Front had to refuse");
        // Users are written concurrently: two addresses differing only by case race for one
        // handle, and whichever loses finds the winner's contact.
        let (a, b) =
            (user("2", Some("Twin@Example.org"), None), user("3", Some("twin@example.org"), None));
        let (wa, wb) = tokio::join!(first.write_user(&a, None), second.write_user(&b, None));
        let ids: std::collections::BTreeSet<String> =
            [wa.unwrap(), wb.unwrap()].iter().map(|w| w.target_id().unwrap().to_string()).collect();
        assert_eq!(ids.len(), 1, "{status}: one contact for both");
        server.running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_handles_another_contact_holds_are_reported_per_user() {
    let server = sim(1_000).await;
    let t = target(&server, 1_000);
    let mut first = user("1", Some("first@example.org"), None);
    first.user.phone = Some("+1 555 0100".into());
    let Written::Migrated(owner) = t.write_user(&first, None).await.unwrap() else { panic!() };

    // The same phone on someone else: the contact is created without it, and the record says so.
    let mut second = user("2", Some("second@example.org"), None);
    second.user.phone = Some("+1 555 0100".into());
    second.user.other_emails = vec!["FIRST@example.org".into(), "second.alt@example.org".into()];
    let w = t.write_user(&second, None).await.unwrap();
    let Written::Limited(c2, what) = &w else { panic!("{w:?}") };
    assert!(what.contains("phone handle not added") && what.contains(&owner), "{what}");
    assert!(what.contains("secondary email handle not added"), "{what}");
    assert!(!what.contains("555"), "no personal data in the report: {what}");
    let got = t.client().contact(c2).await.unwrap().unwrap();
    let handles: Vec<&str> = got.handles.iter().map(|h| h.handle.as_str()).collect();
    assert_eq!(handles, ["second@example.org", "second.alt@example.org"]);

    // A re-run without the ledger says the same, and changes nothing.
    assert_eq!(t.write_user(&second, None).await.unwrap(), w);

    // A contact found by its email gets the phone no one else has; one without a country code is
    // not sent, and said so.
    let mut third = user("3", Some("third@example.org"), None);
    let Written::Migrated(c3) = t.write_user(&third, None).await.unwrap() else { panic!() };
    third.user.phone = Some("+44 20 7946 0000".into());
    assert_eq!(t.write_user(&third, None).await.unwrap(), Written::Matched(c3.clone()));
    let got = t.client().contact("alt:phone:+44 20 7946 0000").await.unwrap().unwrap();
    assert_eq!(got.id, c3);
    third.user.phone = Some("020 7946 0000".into());
    let w = t.write_user(&third, Some(&c3)).await.unwrap();
    assert!(
        matches!(&w, Written::Limited(id, what) if *id == c3 && what.contains("country code")),
        "{w:?}"
    );
    server.running.stop().await.unwrap();
}
