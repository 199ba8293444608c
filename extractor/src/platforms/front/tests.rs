//! Front's records into the canonical model, on samples written after the shapes of Front's
//! OpenAPI file and its published examples (docs/platforms/front.md).

use deskferry_format::model::{FieldEntity, FieldKind, GroupKind, TicketStatus, UserKind};
use serde_json::{Value, json};

use super::map;
use crate::tolerant::Notes;

fn teammate_json(id: &str, first: &str, last: &str) -> Value {
    json!({
        "_links": {"self": format!("https://acme.api.frontapp.com/teammates/{id}")},
        "id": id, "email": "leela@planet-express.example", "username": "leela",
        "first_name": first, "last_name": last, "is_admin": true, "is_available": true,
        "is_blocked": false, "type": "user", "custom_fields": {}
    })
}

#[test]
fn a_teammate_is_an_agent_named_first_last() {
    let mut notes = Notes::new("front");
    let u = map::teammate(&mut notes, &teammate_json("tea_1", "Turanga", "Leela")).unwrap();
    assert_eq!(u.kind, UserKind::Agent);
    assert_eq!(u.name.as_deref(), Some("Turanga Leela"));
    assert_eq!(u.role_raw.as_deref(), Some("admin"));
    assert!(u.active && !u.suspended);
    // Without a name, Front's teammate is known by its email.
    let u = map::teammate(&mut notes, &teammate_json("tea_2", "", "")).unwrap();
    assert_eq!(u.name.as_deref(), Some("leela@planet-express.example"));
    assert!(notes.is_empty());
}

#[test]
fn a_contact_keeps_its_handles_and_its_account() {
    let mut notes = Notes::new("front");
    let v = json!({
        "_links": {"self": "https://acme.api.frontapp.com/contacts/crd_1"},
        "id": "crd_1", "name": "Hubert", "description": null, "avatar_url": null,
        "links": [], "groups": [], "lists": [],
        "handles": [
            {"handle": "hubert@example.org", "source": "email"},
            {"handle": "@hubert", "source": "twitter"},
            {"handle": "+15551234", "source": "phone"},
            {"handle": "Hubert@Work.example", "source": "email"}
        ],
        "custom_fields": {"VIP": true, "Tier": "gold"}, "is_private": false
    });
    let u = map::contact(&mut notes, &v, Some("acc_7")).unwrap();
    assert_eq!(u.kind, UserKind::EndUser);
    assert_eq!(u.email.as_deref(), Some("hubert@example.org"));
    assert_eq!(u.other_emails, ["Hubert@Work.example"]);
    assert_eq!(u.phone.as_deref(), Some("+15551234"));
    assert_eq!(u.organization_id.as_deref(), Some("acc_7"));
    let fields: Vec<(&str, &str)> =
        u.custom_fields.iter().map(|f| (f.key.as_str(), f.value.as_str())).collect();
    assert_eq!(fields, [("VIP", "true"), ("Tier", "\"gold\"")], "in the order Front sent them");
    assert!(u.raw.contains("@hubert"), "other handles stay in raw");
}

#[test]
fn accounts_inboxes_and_fields() {
    let mut notes = Notes::new("front");
    let a = map::account(
        &mut notes,
        &json!({"id": "acc_1", "name": "Planet Express", "description": "Delivery",
                "domains": ["planet.example"], "external_id": null, "custom_fields": {},
                "created_at": 1_500_000_000.123, "updated_at": 1_500_000_100}),
    )
    .unwrap();
    assert_eq!(a.notes.as_deref(), Some("Delivery"));
    assert_eq!(a.created_at.unwrap().timestamp_millis(), 1_500_000_000_123);
    let g = map::inbox(&mut notes, &json!({"id": "inb_1", "name": "Support", "is_private": false}))
        .unwrap();
    assert_eq!((g.kind, g.name.as_str()), (GroupKind::Inbox, "Support"));
    let f = map::custom_field(
        &mut notes,
        &json!({"id": "fld_1", "name": "Tier", "description": "", "type": "enum",
                "values": [{"value": "gold", "label": "Gold"}, {"value": 2}]}),
        FieldEntity::Ticket,
    )
    .unwrap();
    assert_eq!((f.key.as_str(), f.kind), ("Tier", Some(FieldKind::Dropdown)));
    assert_eq!(f.options[0].label, "Gold");
    assert_eq!((f.options[1].value.as_str(), f.options[1].label.as_str()), ("2", "2"));
    assert_eq!(map::field_kind("teammate"), FieldKind::Lookup);
    assert_eq!(map::field_kind("something new"), FieldKind::Other);
}

fn conversation_json(status: &str) -> Value {
    json!({
        "_links": {"self": "https://acme.api.frontapp.com/conversations/cnv_1"},
        "id": "cnv_1", "type": "conversation", "subject": "You broke my heart, Hubert.",
        "status": status, "ticket_ids": [],
        "assignee": teammate_json("tea_1", "Turanga", "Leela"),
        "recipient": {"_links": {"related": {"contact": "https://acme.api.frontapp.com/contacts/crd_9"}},
                      "name": "Hubert", "handle": "hubert@example.org", "role": "from"},
        "tags": [{"id": "tag_1", "name": "warranty"}],
        "links": [], "custom_fields": {"Tier": "gold"},
        "created_at": 1_453_770_984.123, "updated_at": 1_453_770_990.5, "is_private": false
    })
}

#[test]
fn a_conversation_is_a_ticket_in_its_inbox() {
    let mut notes = Notes::new("front");
    let t = map::conversation(&mut notes, &conversation_json("archived"), Some("inb_3")).unwrap();
    assert_eq!(t.status, TicketStatus::Solved);
    assert_eq!(t.status_raw.as_deref(), Some("archived"));
    assert_eq!(t.requester_id.as_deref(), Some("crd_9"));
    assert_eq!(t.assignee_id.as_deref(), Some("tea_1"));
    assert_eq!(t.group_id.as_deref(), Some("inb_3"));
    assert_eq!(t.tags, ["warranty"]);
    assert_eq!(t.updated_at.unwrap().timestamp_millis(), 1_453_770_990_500);
    let t = map::conversation(&mut notes, &conversation_json("deleted"), None).unwrap();
    assert!(t.is_deleted && !t.is_spam && t.status == TicketStatus::Closed);
    let t = map::conversation(&mut notes, &conversation_json("unassigned"), None).unwrap();
    assert_eq!(t.status, TicketStatus::Open);
}

#[test]
fn messages_and_comments_with_their_files() {
    let mut notes = Notes::new("front");
    let inbound = json!({
        "_links": {"related": {"conversation": "https://acme.api.frontapp.com/conversations/cnv_1"}},
        "id": "msg_1", "message_uid": "abc", "type": "email", "is_inbound": true,
        "created_at": 1_453_770_984, "blurb": "Hi", "body": "<p>Hi</p>", "text": "Hi",
        "recipients": [
            {"_links": {"related": {"contact": "https://acme.api.frontapp.com/contacts/crd_9"}},
             "name": "Hubert", "handle": "hubert@example.org", "role": "from"},
            {"_links": {"related": {"contact": null}}, "name": null, "handle": "support@acme.example", "role": "to"}
        ],
        "attachments": [{"id": "fil_1", "filename": "a.png", "url": "https://acme.api.frontapp.com/download/fil_1",
                         "content_type": "image/png", "size": 12, "metadata": {"is_inline": true}}],
        "metadata": {}
    });
    let (c, files) = map::message(&mut notes, &inbound, "cnv_1").unwrap();
    assert!(c.public);
    assert_eq!(c.author_id.as_deref(), Some("crd_9"), "an inbound message is its sender's");
    assert_eq!((c.body_html.as_deref(), c.body_text.as_deref()), (Some("<p>Hi</p>"), Some("Hi")));
    assert_eq!(c.attachment_ids, ["fil_1"]);
    assert_eq!(files[0].url, "https://acme.api.frontapp.com/download/fil_1");
    assert!(files[0].row.inline);
    assert_eq!(files[0].row.comment_id.as_deref(), Some("msg_1"));

    let mut outbound = inbound.clone();
    outbound["is_inbound"] = json!(false);
    outbound["author"] = teammate_json("tea_1", "Turanga", "Leela");
    let (c, _) = map::message(&mut notes, &outbound, "cnv_1").unwrap();
    assert_eq!(c.author_id.as_deref(), Some("tea_1"), "an outbound message is its teammate's");

    let note = json!({
        "id": "com_1", "author": teammate_json("tea_1", "Turanga", "Leela"),
        "body": "Check the *warranty*", "posted_at": 1_453_770_999.25, "attachments": [],
        "is_pinned": false
    });
    let (c, files) = map::comment(&mut notes, &note, "cnv_1").unwrap();
    assert!(!c.public && files.is_empty());
    assert_eq!(c.body_text.as_deref(), Some("Check the *warranty*"));
    assert_eq!(c.created_at.unwrap().timestamp_millis(), 1_453_770_999_250);
    assert!(notes.is_empty());
}

#[test]
fn a_field_of_an_unexpected_type_costs_the_field_not_the_record() {
    let mut notes = Notes::new("front");
    let mut v = conversation_json("assigned");
    v["tags"] = json!("warranty");
    v["created_at"] = json!("yesterday");
    let t = map::conversation(&mut notes, &v, None).unwrap();
    assert_eq!(t.id, "cnv_1");
    assert!(t.tags.is_empty() && t.created_at.is_none());
    assert_eq!(t.subject.as_deref(), Some("You broke my heart, Hubert."));
    assert!(t.raw.contains("yesterday"), "raw keeps the value as Front sent it");
    let w = notes.take();
    assert_eq!(w.len(), 2, "one warning per field: {w:?}");
    let text = format!("{w:?}");
    assert!(text.contains("tags") && text.contains("created_at") && !text.contains("yesterday"));
    // Without an id, a record is refused.
    assert!(map::conversation(&mut notes, &json!({"subject": "x"}), None).is_err());
}

#[test]
fn a_file_without_an_id_is_named_by_its_url() {
    // Front's older published message examples list files with `url` only.
    let mut notes = Notes::new("front");
    let m = json!({
        "id": "msg_2", "type": "email", "is_inbound": true, "created_at": 1_453_770_984,
        "body": "x", "recipients": [],
        "attachments": [{"filename": "attachment.jpg", "url": "https://api2.frontapp.com/download/fil_55c8c149",
                         "content_type": "image/jpeg", "size": 10000,
                         "metadata": {"is_inline": true, "cid": "123456789"}}],
        "metadata": {}
    });
    let (c, files) = map::message(&mut notes, &m, "cnv_1").unwrap();
    assert_eq!(c.attachment_ids, ["fil_55c8c149"]);
    assert!(files[0].row.inline);
    assert!(notes.is_empty());
}

#[test]
fn links_and_files_are_read_from_the_api_host_only() {
    use super::extract::api_url;
    let base = reqwest::Url::parse("https://api2.frontapp.com/").unwrap();
    let same = "https://api2.frontapp.com/download/fil_1";
    assert_eq!(api_url(&base, same), same);
    // The company's own API host names the same endpoints: read them from the configured host.
    assert_eq!(
        api_url(&base, "https://acme.api.frontapp.com/download/fil_2?x=1"),
        "https://api2.frontapp.com/download/fil_2?x=1"
    );
    assert_eq!(
        api_url(&base, "https://acme.api.frontapp.com/conversations?page_token=ab&limit=100"),
        "https://api2.frontapp.com/conversations?page_token=ab&limit=100"
    );
    // Anything else is fetched as it is (without the token).
    let other = "https://files.example.com/download/fil_3";
    assert_eq!(api_url(&base, other), other);
    let http = "http://acme.api.frontapp.com/download/fil_4";
    assert_eq!(api_url(&base, http), http);
}

#[test]
fn a_conversation_gone_during_the_export_is_kept_with_a_warning() {
    use super::extract::followup;
    use crate::http::HttpError;
    let status = |status: u16| HttpError::Status {
        method: "GET".into(),
        url: "https://api2.frontapp.com/conversations/cnv_1/messages".into(),
        status,
        body: String::new(),
    };
    let mut warnings = Vec::new();
    let r: Result<Vec<Value>, _> = Err(status(404));
    assert!(followup(&mut warnings, "cnv_1", "its messages", r).unwrap().is_none());
    let r: Result<Vec<Value>, _> = Err(status(403));
    assert!(followup(&mut warnings, "cnv_1", "its comments", r).unwrap().is_none());
    assert_eq!(warnings.len(), 2);
    assert!(warnings.iter().all(|w| w.id.as_deref() == Some("cnv_1")));
    // A refused token or an outage is not this conversation's: it stops the run.
    let r: Result<Vec<Value>, _> = Err(status(401));
    assert!(followup(&mut warnings, "cnv_1", "its messages", r).is_err());
    let r: Result<Vec<Value>, _> = Err(status(503));
    assert!(followup(&mut warnings, "cnv_1", "its messages", r).is_err());
    let ok: Result<Vec<Value>, HttpError> = Ok(vec![json!({"id": "msg_1"})]);
    assert_eq!(followup(&mut warnings, "cnv_1", "x", ok).unwrap().unwrap().len(), 1);
}

#[test]
fn a_conversations_ccs_are_the_contacts_copied_on_its_messages() {
    let r = |handle: &str, role: &str, contact: Option<&str>| {
        json!({"_links": {"related": {"contact": contact.map(|c| format!("https://acme.api.frontapp.com/contacts/{c}"))}},
               "name": null, "handle": handle, "role": role})
    };
    // Newest first, as Front lists them.
    let messages = vec![
        json!({"id": "msg_2", "recipients": [r("a@x.example", "from", Some("crd_1")),
                                             r("c@x.example", "cc", Some("crd_3")),
                                             r("b@x.example", "cc", Some("crd_2"))]}),
        json!({"id": "msg_1", "recipients": [r("a@x.example", "from", Some("crd_1")),
                                             r("b@x.example", "cc", Some("crd_2")),
                                             r("nobody@x.example", "cc", None),
                                             r("d@x.example", "bcc", Some("crd_4"))]}),
    ];
    assert_eq!(map::cc_contacts(&messages), ["crd_2", "crd_3"]);
}

#[test]
fn a_teammates_groups_are_the_inboxes_of_its_teams() {
    let mut notes = Notes::new("front");
    let inbox = |id: &str| json!({"_links": {}, "id": id, "name": "Support", "is_private": false});
    let teams = [
        json!({
            "_links": {"self": "https://acme.api.frontapp.com/teams/tim_2"},
            "id": "tim_2", "name": "Delivery",
            "inboxes": [inbox("inb_b"), inbox("inb_a")],
            "members": [teammate_json("tea_1", "Turanga", "Leela")]
        }),
        json!({
            "id": "tim_3", "name": "Billing",
            "inboxes": [inbox("inb_a")],
            "members": [teammate_json("tea_1", "Turanga", "Leela"), teammate_json("tea_2", "", "")]
        }),
        // Members of an unexpected type: the team is read without them, and that is noted.
        json!({"id": "tim_4", "name": "Odd", "inboxes": [inbox("inb_c")], "members": "tea_9"}),
        json!({"name": "no id"}),
    ];
    let groups = map::team_inboxes(&mut notes, &teams);
    assert_eq!(groups["tea_1"], ["inb_a", "inb_b"]);
    assert_eq!(groups["tea_2"], ["inb_a"]);
    assert!(!groups.contains_key("tea_9"));
    let w = notes.take();
    assert_eq!(w.len(), 2, "{w:?}");
}

#[test]
fn a_conversations_followers_are_teammates_once_each() {
    let list = [
        teammate_json("tea_2", "Philip", "Fry"),
        teammate_json("tea_1", "Turanga", "Leela"),
        teammate_json("tea_2", "Philip", "Fry"),
        json!({"name": "no id"}),
    ];
    assert_eq!(map::followers(&list), ["tea_2", "tea_1"]);
}

#[test]
fn a_knowledge_base_article_is_one_row_per_locale_with_its_files() {
    let mut notes = Notes::new("front");
    let b = "https://acme.api.frontapp.com";
    let slim = json!({
        "_links": {"self": format!("{b}/knowledge_base_articles/kba_1"), "related": {
            "knowledge_base": format!("{b}/knowledge_bases/knb_1"),
            "category": format!("{b}/knowledge_base_categories/kbc_2"),
            "content": format!("{b}/knowledge_base_articles/kba_1/content")}},
        "id": "kba_1", "slug": "/articles/1", "locales": ["en", "fr"],
        "created_at": 1622672452.363, "updated_at": 1654309308.278
    });
    let content = |locale: &str, name: &str, status: &str, files: Value| {
        json!({
            "_links": {"self": format!("{b}/knowledge_base_articles/kba_1"), "related": {
                "last_editor": format!("{b}/teammates/tea_6r55a")}},
            "id": "kba_1", "slug": "/articles/1", "name": name, "status": status,
            "keywords": ["billing"], "content": "<p>Hi</p>", "locale": locale,
            "attachments": files, "created_at": 1622672452.363, "updated_at": 1654309308.278
        })
    };
    let file = json!([{"id": "fil_3q8a7mby", "filename": "a.png", "url":
        format!("{b}/knowledge_base_articles/kba_1/download/fil_3q8a7mby"),
        "content_type": "image/png", "size": 4405, "metadata": {"is_inline": false}}]);
    // The French content's keywords are of an unexpected type: left out, and noted.
    let mut fr = content("fr", "Bonjour", "draft", json!([]));
    fr["keywords"] = json!("facturation");
    let contents = [content("en", "Hello", "published", file), fr];
    let (rows, files) = map::kb_rows(&mut notes, "kb_articles", &slim, &contents).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].id.as_str(), rows[0].translation_of.as_deref()), ("kba_1", None));
    assert_eq!(
        (rows[1].id.as_str(), rows[1].translation_of.as_deref()),
        ("kba_1@fr", Some("kba_1"))
    );
    assert_eq!(rows[0].parent_id.as_deref(), Some("kbc_2"));
    assert_eq!(rows[0].author_id.as_deref(), Some("tea_6r55a"));
    assert_eq!(rows[0].labels, ["billing"]);
    assert!(!rows[0].draft && rows[1].draft);
    assert!(rows[1].labels.is_empty());
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].row.article_id.as_deref(), Some("kba_1"));
    assert_eq!(files[0].row.id, "fil_3q8a7mby");
    assert_eq!(notes.take().len(), 1);

    // A nested category is a section of its parent; with no content it is kept as listed.
    let slim = json!({
        "_links": {"related": {"parent_category": format!("{b}/knowledge_base_categories/kbc_1")}},
        "id": "kbc_2", "slug": "/categories/2", "is_hidden": false, "locales": ["en"]
    });
    let (rows, _) = map::kb_rows(&mut notes, "kb_categories", &slim, &[]).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].parent_id.as_deref(), Some("kbc_1"));
    assert_eq!(rows[0].locale.as_deref(), Some("en"));
}
