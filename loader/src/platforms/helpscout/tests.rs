//! Help Scout target unit tests (pure parts: statuses, markers, references, field values,
//! threads and customers as written).

use chrono::TimeZone;
use deskferry_format::model::TicketStatus;
use serde_json::json;

use super::map::{self, By, MailboxField};

#[test]
fn statuses_markers_and_references() {
    assert_eq!(map::status(Some("closed"), TicketStatus::Open), "closed");
    assert_eq!(map::status(None, TicketStatus::OnHold), "pending");
    assert_eq!(map::status(None, TicketStatus::New), "active");
    assert_eq!(map::status(Some("whatever"), TicketStatus::Solved), "closed");
    assert_eq!(map::marker_tag("deskferry-ab12-t3"), "dfx-deskferry-ab12-t3");
    assert_eq!(map::marker_tag("X_Y.z"), "dfx-x-y-z");
    assert!(map::is_marker("dfx-1") && !map::is_marker("vip"));
    let body = format!("<p>hi</p>{}", map::reference_line("acme-c17"));
    assert_eq!(map::reference(&body).as_deref(), Some("acme-c17"));
    assert_eq!(map::reference("<p>no reference</p>"), None);
    assert_eq!(
        map::split_name(Some("Ann Lee Smith")),
        (Some("Ann".into()), Some("Lee Smith".into()))
    );
    assert_eq!(map::split_name(Some("  ")), (None, None));
}

#[test]
fn field_values_take_option_ids_numbers_and_dates() {
    let dd = MailboxField {
        id: "7".into(),
        name: "Plan".into(),
        field_type: "DROPDOWN".into(),
        options: vec![("701".into(), "Gold".into()), ("702".into(), "Silver".into())],
    };
    assert_eq!(
        map::field_value(&dd, &["silver".into()]).unwrap(),
        json!({"id": 7, "value": "702"})
    );
    assert!(map::field_value(&dd, &["Bronze".into()]).unwrap_err().contains("not an option"));
    let n = MailboxField { field_type: "NUMBER".into(), options: vec![], ..dd.clone() };
    assert_eq!(map::field_value(&n, &["12.5".into()]).unwrap()["value"], "12.5");
    assert!(map::field_value(&n, &["twelve".into()]).is_err());
    let d = MailboxField { field_type: "DATE".into(), options: vec![], ..dd };
    assert_eq!(
        map::field_value(&d, &["2024-03-01T00:00:00Z".into()]).unwrap()["value"],
        "2024-03-01"
    );
}

#[test]
fn threads_are_imported_with_their_author_time_and_files() {
    use crate::target::{AttachmentData, Author, MappedComment};
    let at = chrono::Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
    let comment = deskferry_format::model::Comment {
        id: "c1".into(),
        ticket_id: "t1".into(),
        author_id: Some("u1".into()),
        public: true,
        body_html: Some("<p>hello</p>".into()),
        body_text: None,
        channel: None,
        created_at: Some(at),
        attachment_ids: vec![],
        raw: String::new(),
    };
    let file = |n: usize| AttachmentData {
        id: "a".into(),
        file_name: format!("f{n}.bin"),
        content_type: None,
        sha256: String::new(),
        inline: false,
        bytes: vec![7u8; n].into(),
    };
    let c = MappedComment {
        comment,
        author: Author {
            target_id: Some("42".into()),
            email: None,
            name: None,
            is_agent: true,
            defaulted: false,
        },
        body_html: "<p>hello</p>".into(),
        public: true,
        created_at: Some(at),
        attachments: vec![file(3), file(20)],
        external_id: "x-c1".into(),
    };
    let (files, left) = map::attachments(&c.attachments, 10);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["data"], "BwcH");
    assert!(left[0].contains("f20.bin (20 bytes)"), "{left:?}");
    let customer = json!({ "id": 9 });
    let t = map::thread(&c, &By::User("42".into()), &customer, files, &["cc@x.test".into()], false);
    assert_eq!(t["type"], "reply");
    assert_eq!(t["user"], 42);
    assert_eq!(t["customer"], customer);
    assert_eq!(t["imported"], true);
    assert_eq!(t["createdAt"], "2024-01-02T03:04:05Z");
    assert_eq!(t["cc"], json!(["cc@x.test"]));
    assert_eq!(t["text"], "<p>hello</p>");
    let note = MappedComment { public: false, ..c.clone() };
    let n =
        map::thread(&note, &By::User("42".into()), &customer, vec![], &["cc@x.test".into()], true);
    assert_eq!(n["type"], "note");
    assert!(n.get("cc").is_none() && n.get("customer").is_none());
    assert_eq!(map::reference(n["text"].as_str().unwrap()).as_deref(), Some("x-c1"));
    let by = By::Customer(json!({ "email": "a@x.test" }));
    assert_eq!(map::thread(&c, &by, &customer, vec![], &[], false)["type"], "customer");

    // Messages beyond Help Scout's 100 threads: one private note, in order, by the user given.
    let later = MappedComment { created_at: Some(at + chrono::Duration::hours(1)), ..note };
    let t = crate::target::MappedTicket {
        ticket: deskferry_fixtures::dataset::Dataset::generate(
            1,
            deskferry_fixtures::dataset::Size::Tiny,
        )
        .tickets[0]
            .clone(),
        subject: "s".into(),
        tags: vec![],
        status: None,
        priority: None,
        group: None,
        assignee: None,
        requester: c.author.clone(),
        fields: vec![],
        note_fields: vec![],
        external_id: "x-t1".into(),
        emails: Default::default(),
    };
    let o = map::overflow_note(&t, &[c.clone(), later], "42");
    assert_eq!((o["type"].as_str(), o["user"].as_u64()), (Some("note"), Some(42)));
    assert_eq!(o["createdAt"], "2024-01-02T04:04:05Z");
    let text = o["text"].as_str().unwrap();
    assert!(
        text.contains("2 more messages")
            && text.contains("· message")
            && text.contains("· private note"),
        "{text}"
    );
    assert_eq!(map::reference(text).as_deref(), Some("x-t1-overflow"));
}

#[test]
fn customers_have_a_name_or_an_email() {
    let c = map::customer(
        Some("Ann Lee"),
        "Customer 1",
        &["a@x.test".into()],
        Some("+1"),
        Some("Acme"),
    );
    assert_eq!(c["firstName"], "Ann");
    assert_eq!(c["lastName"], "Lee");
    assert_eq!(c["organization"], "Acme");
    assert_eq!(c["emails"], json!([{ "type": "work", "value": "a@x.test" }]));
    assert_eq!(c["phones"][0]["value"], "+1");
    let nameless = map::customer(None, "Customer 1", &[], None, None);
    assert_eq!(nameless["firstName"], "Customer 1");
    assert!(
        map::customer(None, "Customer 1", &["a@x.test".into()], None, None)
            .get("firstName")
            .is_none()
    );
}
