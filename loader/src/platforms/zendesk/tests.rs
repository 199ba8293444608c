//! Unit tests of the model → Zendesk conversion (pure; JSON compared as Zendesk would receive
//! it) and of reading Zendesk's job results.

use deskferry_format::{
    Comment, CustomField, CustomFieldValue, FieldEntity, FieldKind, FieldOption, KbItem, Ticket,
    TicketStatus, User, UserKind,
};
use serde_json::json;

use super::map::{self, TicketRefs};
use super::people::job_outcome;
use crate::target::{Author, MappedComment, MappedTicket, MappedUser};

fn ticket(status: &str) -> MappedTicket {
    let t = Ticket {
        id: "42".into(),
        number: Some("42".into()),
        subject: Some("Printer on fire".into()),
        status: TicketStatus::Solved,
        status_raw: None,
        priority: None,
        priority_raw: None,
        ticket_type: None,
        channel: None,
        requester_id: Some("100".into()),
        submitter_id: None,
        assignee_id: None,
        group_id: None,
        organization_id: None,
        cc_ids: vec![],
        follower_ids: vec![],
        other_requester_ids: vec![],
        tags: vec![],
        custom_fields: vec![],
        created_at: Some("1969-12-31T23:00:00Z".parse().unwrap()),
        updated_at: Some("2020-01-03T00:00:00Z".parse().unwrap()),
        solved_at: Some("2020-01-02T12:00:00Z".parse().unwrap()),
        due_at: None,
        is_deleted: false,
        is_spam: false,
        raw: "{}".into(),
    };
    MappedTicket {
        ticket: t,
        subject: "Printer on fire".into(),
        tags: vec!["vip".into(), "migrated".into()],
        status: Some(status.into()),
        priority: Some("high".into()),
        group: Some("77".into()),
        assignee: Some("5".into()),
        requester: Author {
            target_id: Some("9".into()),
            email: None,
            name: None,
            is_agent: false,
            defaulted: false,
        },
        fields: vec![],
        note_fields: vec![],
        external_id: "deskferry-abc-t42".into(),
        emails: Default::default(),
    }
}

fn comment() -> MappedComment {
    let c = Comment {
        id: "7".into(),
        ticket_id: "42".into(),
        author_id: Some("5".into()),
        public: false,
        body_html: Some("<p>x</p>".into()),
        body_text: None,
        channel: None,
        created_at: Some("2020-01-02T03:04:05Z".parse().unwrap()),
        attachment_ids: vec![],
        raw: "{}".into(),
    };
    MappedComment {
        comment: c.clone(),
        author: Author {
            target_id: Some("5".into()),
            email: None,
            name: None,
            is_agent: true,
            defaulted: false,
        },
        body_html: "<p>x</p>".into(),
        public: false,
        created_at: c.created_at,
        attachments: vec![],
        external_id: "deskferry-abc-c7".into(),
    }
}

#[test]
fn an_import_keeps_times_people_and_visibility_and_clamps_before_1970() {
    let refs = TicketRefs {
        requester: 9,
        assignee: Some(5),
        ccs: vec![11, 12],
        followers: vec![13],
        custom_fields: vec![json!({ "id": 3, "value": "b" })],
        ticket_type: Some("incident".into()),
        ..TicketRefs::default()
    };
    let c = map::import_comment(&comment(), 5, &["tok".into()]);
    assert_eq!(
        c,
        json!({ "author_id": 5, "html_body": "<p>x</p>", "public": false,
                "created_at": "2020-01-02T03:04:05Z", "uploads": ["tok"] })
    );
    let b = map::import_ticket(&ticket("solved"), &refs, vec![c]);
    assert_eq!(b["created_at"], "1970-01-01T00:00:00Z", "Zendesk takes no time before 1970");
    assert_eq!(b["updated_at"], "2020-01-03T00:00:00Z");
    assert_eq!(b["solved_at"], "2020-01-02T12:00:00Z");
    assert_eq!(b["external_id"], "deskferry-abc-t42");
    assert_eq!(
        (b["requester_id"].clone(), b["assignee_id"].clone(), b["group_id"].clone()),
        (json!(9), json!(5), json!(77))
    );
    assert_eq!(b["collaborator_ids"], json!([11, 12]));
    assert_eq!(b["followers"], json!([{ "user_id": 13 }]));
    assert_eq!(b["type"], "incident");
    assert_eq!(b["tags"], json!(["vip", "migrated"]));
    // A ticket that is not solved has no solved time.
    let open = map::import_ticket(&ticket("open"), &refs, vec![]);
    assert!(open.get("solved_at").is_none());
}

#[test]
fn field_definitions_take_the_kind_and_values_the_fields_type() {
    let f = CustomField {
        id: "1".into(),
        entity: FieldEntity::Ticket,
        key: "region".into(),
        title: "Region".into(),
        field_type: "dropdown".into(),
        kind: Some(FieldKind::Dropdown),
        multiple: None,
        options: vec![FieldOption { value: "north east".into(), label: "North-East".into() }],
        required: true,
        active: true,
        raw: "{}".into(),
    };
    let b = map::field(&f).expect("a dropdown has a Zendesk type");
    assert_eq!(b["type"], "tagger");
    assert_eq!(b["custom_field_options"], json!([{ "name": "North-East", "value": "north_east" }]));
    let lookup = CustomField { kind: Some(FieldKind::Lookup), ..f.clone() };
    assert!(map::field(&lookup).is_none(), "lookup fields are not created");
    assert_eq!(map::field_value("checkbox", &["true".into()]), json!(true));
    assert_eq!(map::field_value("multiselect", &["a b".into(), "c".into()]), json!(["a_b", "c"]));
    assert_eq!(map::field_value("integer", &["12".into()]), json!(12));
    assert_eq!(map::field_value("text", &["x".into()]), json!("x"));
}

fn user(email: Option<&str>, kind: UserKind) -> MappedUser {
    MappedUser {
        user: User {
            id: "100".into(),
            kind,
            role_raw: None,
            name: Some("Cüstomer\nTwo".into()),
            email: email.map(str::to_string),
            other_emails: vec![],
            phone: None,
            organization_id: None,
            group_ids: vec![],
            active: true,
            suspended: false,
            is_deleted: true,
            locale: None,
            time_zone: None,
            tags: vec![],
            custom_fields: vec![CustomFieldValue { key: "plan".into(), value: "\"pro\"".into() }],
            created_at: Some("2020-01-01T00:00:00Z".parse().unwrap()),
            updated_at: None,
            raw: "{}".into(),
        },
        organization: Some("55".into()),
        matched_agent: None,
    }
}

#[test]
fn users_are_created_verified_silently_and_a_shared_address_renames_no_one() {
    let b = map::user(&user(Some(" A@x.org "), UserKind::Agent), false);
    assert_eq!(b["email"], "A@x.org");
    assert_eq!(b["role"], "agent");
    assert_eq!(b["name"], "Cüstomer Two");
    assert_eq!((b["verified"].clone(), b["skip_verify_email"].clone()), (json!(true), json!(true)));
    assert_eq!(b["suspended"], true, "deleted at the source: cannot sign in");
    assert_eq!(b["organization_id"], 55);
    assert_eq!(b["user_fields"], json!({ "plan": "pro" }));
    assert_eq!(b["external_id"], "deskferry-u100-1577836800");
    let shared = map::user(&user(Some("a@x.org"), UserKind::EndUser), true);
    assert_eq!(shared, json!({ "email": "a@x.org" }));
}

#[test]
fn job_results_in_zendesks_three_shapes() {
    // The shapes of JobStatusResultObject in Zendesk's Support OpenAPI file.
    assert_eq!(job_outcome(0, &json!({ "id": 5, "index": 3 })), (3, Ok((5, true))));
    assert_eq!(
        job_outcome(
            1,
            &json!({ "action": "update", "id": 6, "status": "Updated", "success": true })
        ),
        (1, Ok((6, false)))
    );
    let (i, o) = job_outcome(
        2,
        &json!({ "action": "create", "id": null, "index": 4, "success": false, "error": "RecordInvalid", "details": "Name: cannot be blank" }),
    );
    assert_eq!(i, 4);
    assert!(o.unwrap_err().contains("cannot be blank"));
}

#[test]
fn help_center_bodies_carry_locale_author_group_and_draft() {
    let k = KbItem {
        id: "9".into(),
        parent_id: Some("8".into()),
        locale: Some("EN-US".into()),
        translation_of: None,
        title: "Install".into(),
        body_html: Some("<p>Run it</p>".into()),
        author_id: Some("5".into()),
        draft: true,
        position: Some(2),
        labels: vec!["setup".into()],
        created_at: None,
        updated_at: None,
        raw: "{}".into(),
    };
    let a = map::kb_body("kb_articles", &k, Some(5), Some(77));
    assert_eq!(
        a,
        json!({ "article": { "locale": "en-us", "position": 2, "title": "Install", "body": "<p>Run it</p>",
            "draft": true, "author_id": 5, "permission_group_id": 77, "user_segment_id": null,
            "label_names": ["setup"] } })
    );
    let c = map::kb_body("kb_categories", &k, None, None);
    assert_eq!(c["category"]["name"], "Install");
    assert_eq!(c["category"]["description"], "<p>Run it</p>");
    let t = map::kb_translation(&KbItem { locale: Some("de".into()), ..k });
    assert_eq!(t["translation"]["locale"], "de");
}

#[test]
fn article_bodies_name_articles_and_files_by_their_source_ids() {
    use super::body::{attr_values, image_count, linked_article, names_file, replace, shows_file};
    let html = "<p><IMG class=x SRC='https://a.zendesk.com/hc/article_attachments/77/a.png'>\
                <img src=https://f.example/knowledge_base_articles/kba_1/download/fil_9 alt=y>\
                <a title=\"src=no\" href=\"https://a.zendesk.com/hc/en-us/articles/360001-How-to\">x</a>\
                <a href='/hc/fr/articles/42'>y</a><abbr href='/articles/7'>z</abbr></p>";
    let imgs = attr_values(html, "img", "src");
    assert_eq!(imgs.len(), 2);
    assert_eq!(image_count(html), 2);
    assert!(names_file(imgs[0].2, "77") && !names_file(imgs[0].2, "7"));
    assert!(shows_file(html, "fil_9") && !shows_file(html, "fil_"));
    let links: Vec<Option<&str>> =
        attr_values(html, "a", "href").into_iter().map(|(_, _, u)| linked_article(u)).collect();
    assert_eq!(links, [Some("360001"), Some("42")]);
    assert_eq!(linked_article("https://x/articles"), None);
    let (s, e, _) = attr_values(html, "a", "href")[1];
    let out = replace(html, vec![(s, e, "https://z/hc/fr/articles/9".into())]);
    assert!(out.contains("href='https://z/hc/fr/articles/9'") && out.contains("360001"));
}
