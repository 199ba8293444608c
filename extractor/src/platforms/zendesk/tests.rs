//! Unit tests of the Zendesk mapping on JSON samples shaped like Zendesk's answers (no I/O).

use deskferry_format::model::{AttachmentState, FieldEntity, Priority, TicketStatus, UserKind};
use serde_json::{Value, json};

use super::map::{self, UserExtra};
use super::wire;

fn ticket_sample() -> Value {
    json!({
        "url": "https://acme.zendesk.com/api/v2/tickets/35436.json",
        "id": 35436,
        "external_id": null,
        "via": { "channel": "email", "source": { "from": {}, "to": {}, "rel": null } },
        "created_at": "2024-03-01T10:00:00Z",
        "updated_at": "2024-03-02T11:30:05Z",
        "generated_timestamp": 1709379005,
        "type": "incident",
        "subject": "Printer on fire ✨",
        "priority": "high",
        "status": "hold",
        "requester_id": 20978392,
        "submitter_id": 76872,
        "assignee_id": 235323,
        "organization_id": 509974,
        "group_id": 98738,
        "collaborator_ids": [35334, 234],
        "follower_ids": [235323],
        "email_cc_ids": [35334],
        "due_at": null,
        "tags": ["enterprise", "vip customer"],
        "custom_fields": [
            { "id": 27642, "value": "745" },
            { "id": 27648, "value": null },
            { "id": 27650, "value": ["ios", "web"] },
            { "id": 27651, "value": false },
            { "id": 27652, "value": 12.5 }
        ]
    })
}

#[test]
fn ticket_maps_every_field_and_keeps_raw_in_order() {
    let v = ticket_sample();
    let t = map::ticket(&v, Some("2024-03-02T09:00:00Z"), None, &mut map::notes()).unwrap();
    assert_eq!(t.id, "35436");
    assert_eq!(t.number.as_deref(), Some("35436"), "the number people see is the id");
    assert_eq!(t.subject.as_deref(), Some("Printer on fire ✨"));
    assert_eq!((t.status, t.status_raw.as_deref()), (TicketStatus::OnHold, Some("hold")));
    assert_eq!((t.priority, t.priority_raw.as_deref()), (Some(Priority::High), Some("high")));
    assert_eq!(t.ticket_type.as_deref(), Some("incident"));
    assert_eq!(t.channel.as_deref(), Some("email"));
    assert_eq!(t.requester_id.as_deref(), Some("20978392"));
    assert_eq!(t.submitter_id.as_deref(), Some("76872"));
    assert_eq!(t.assignee_id.as_deref(), Some("235323"));
    assert_eq!(t.group_id.as_deref(), Some("98738"));
    assert_eq!(t.organization_id.as_deref(), Some("509974"));
    // email_cc_ids wins over the legacy collaborator list when present.
    assert_eq!(t.cc_ids, vec!["35334"]);
    assert_eq!(t.follower_ids, vec!["235323"]);
    assert_eq!(t.tags, vec!["enterprise", "vip customer"]);
    let cf: Vec<(&str, &str)> =
        t.custom_fields.iter().map(|c| (c.key.as_str(), c.value.as_str())).collect();
    assert_eq!(
        cf,
        vec![
            ("27642", "\"745\""),
            ("27650", "[\"ios\",\"web\"]"),
            ("27651", "false"),
            ("27652", "12.5")
        ]
    );
    assert_eq!(t.created_at.unwrap().to_rfc3339(), "2024-03-01T10:00:00+00:00");
    assert_eq!(t.updated_at.unwrap().to_rfc3339(), "2024-03-02T11:30:05+00:00");
    assert_eq!(t.solved_at.unwrap().to_rfc3339(), "2024-03-02T09:00:00+00:00");
    assert_eq!(t.due_at, None);
    assert!(!t.is_deleted && !t.is_spam);
    // raw is the record as sent: same members, same order.
    assert!(t.raw.starts_with(
        "{\"url\":\"https://acme.zendesk.com/api/v2/tickets/35436.json\",\"id\":35436,"
    ));
    assert_eq!(serde_json::from_str::<Value>(&t.raw).unwrap(), v);
}

#[test]
fn deleted_ticket_keeps_its_status_before_deletion() {
    let mut v = ticket_sample();
    v["status"] = "deleted".into();
    v["email_cc_ids"] = Value::Null;
    let t = map::ticket(&v, None, Some("pending"), &mut map::notes()).unwrap();
    assert!(t.is_deleted);
    assert_eq!((t.status, t.status_raw.as_deref()), (TicketStatus::Pending, Some("deleted")));
    // Without email CCs the collaborators are the CCs.
    assert_eq!(t.cc_ids, vec!["35334", "234"]);
    let unknown = map::ticket(&v, None, None, &mut map::notes()).unwrap();
    assert_eq!(unknown.status, TicketStatus::Closed);
    assert_eq!(unknown.solved_at, None);
}

#[test]
fn ticket_without_id_is_an_error_naming_the_entity() {
    let e = map::ticket(&json!({ "subject": "x" }), None, None, &mut map::notes())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("zendesk tickets ?:"), "{e}");
}

#[test]
fn user_takes_identities_memberships_and_custom_fields() {
    let v = json!({
        "id": 1234, "url": "https://acme.zendesk.com/api/v2/users/1234.json",
        "name": "Zoë 🌸 Park", "email": "zoe@example.com",
        "created_at": "2024-01-21T00:00:00Z", "updated_at": "2024-02-01T00:00:00Z",
        "time_zone": "Tokyo", "iana_time_zone": "Asia/Tokyo", "phone": "",
        "locale": "ja", "organization_id": 1001, "role": "admin", "active": true,
        "suspended": true, "tags": ["a b"],
        "user_fields": { "user_text": "ORD-1", "user_checkbox": true, "user_date": null }
    });
    let idents: Vec<wire::Identity> = serde_json::from_value(json!([
        { "user_id": 1234, "type": "email", "value": "zoe@example.com", "primary": true },
        { "user_id": 1234, "type": "email", "value": "zoe.alt@example.com", "primary": false },
        { "user_id": 1234, "type": "phone_number", "value": "+1 555", "primary": false },
        { "user_id": 9, "type": "email", "value": "other@example.com", "primary": false }
    ]))
    .unwrap();
    let extra = UserExtra {
        group_ids: vec!["2001".into(), "2003".into()],
        other_emails: map::other_emails(&idents, 1234),
        deleted: false,
    };
    let u = map::user(&v, extra, &mut map::notes()).unwrap();
    assert_eq!(u.kind, UserKind::Agent);
    assert_eq!(u.role_raw.as_deref(), Some("admin"));
    assert_eq!(u.name.as_deref(), Some("Zoë 🌸 Park"));
    assert_eq!(u.other_emails, vec!["zoe.alt@example.com"]);
    assert_eq!(u.phone, None);
    assert_eq!(u.organization_id.as_deref(), Some("1001"));
    assert_eq!(u.group_ids, vec!["2001", "2003"]);
    assert!(u.active && u.suspended && !u.is_deleted);
    assert_eq!(u.time_zone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(u.locale.as_deref(), Some("ja"));
    let cf: Vec<(&str, &str)> =
        u.custom_fields.iter().map(|c| (c.key.as_str(), c.value.as_str())).collect();
    assert_eq!(cf, vec![("user_text", "\"ORD-1\""), ("user_checkbox", "true")]);

    let end_user = map::user(
        &json!({ "id": 5, "role": "end-user", "active": false, "email": null, "time_zone": "UTC" }),
        UserExtra { deleted: true, ..Default::default() },
        &mut map::notes(),
    )
    .unwrap();
    assert_eq!(end_user.kind, UserKind::EndUser);
    assert!(!end_user.active && end_user.is_deleted);
    assert_eq!((end_user.email, end_user.time_zone.as_deref()), (None, Some("UTC")));
}

#[test]
fn organization_and_group_map_empty_text_to_none() {
    let o = map::organization(&json!({
        "id": 1001, "name": "Acme ✓", "domain_names": ["acme.example"], "notes": "",
        "tags": [], "organization_fields": { "organization_integer": 7, "organization_text": null },
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-05T00:00:00Z"
    }), &mut map::notes())
    .unwrap();
    assert_eq!((o.id.as_str(), o.name.as_str(), o.notes), ("1001", "Acme ✓", None));
    assert_eq!(o.domains, vec!["acme.example"]);
    assert_eq!(o.custom_fields.len(), 1);
    assert_eq!(o.custom_fields[0].value, "7");
    let g = map::group(
        &json!({ "id": 2004, "name": "Tier 2", "description": "", "deleted": true,
        "created_at": "2024-01-03T00:00:00Z" }),
        &mut map::notes(),
    )
    .unwrap();
    assert!(g.is_deleted);
    assert_eq!(g.description, None);
}

#[test]
fn fields_skip_system_ticket_fields_and_key_by_id_or_key() {
    let system = json!({ "id": 100, "type": "subject", "title": "Subject", "removable": false });
    assert!(map::field(&system, FieldEntity::Ticket, &mut map::notes()).unwrap().is_none());
    let tagger = json!({ "id": 3007, "type": "tagger", "title": "Ticket dropdown", "active": true,
        "required": true, "removable": true,
        "custom_field_options": [{ "id": 1, "name": "Gold", "raw_name": "Gold", "value": "ticket_gold" }] });
    let f = map::field(&tagger, FieldEntity::Ticket, &mut map::notes()).unwrap().unwrap();
    assert_eq!((f.key.as_str(), f.field_type.as_str(), f.required), ("3007", "tagger", true));
    assert_eq!((f.options[0].value.as_str(), f.options[0].label.as_str()), ("ticket_gold", "Gold"));
    let uf = json!({ "id": 3010, "type": "text", "key": "user_text", "title": "User text", "active": false });
    let f = map::field(&uf, FieldEntity::User, &mut map::notes()).unwrap().unwrap();
    assert_eq!((f.key.as_str(), f.active, f.entity), ("user_text", false, FieldEntity::User));
    assert!(
        map::field(&json!({ "id": 1, "type": "text" }), FieldEntity::User, &mut map::notes())
            .is_err()
    );
}

fn audit_sample() -> Value {
    json!({
        "id": 2251799813685249u64, "ticket_id": 7, "timestamp": 1709287200,
        "created_at": "2024-03-01T10:00:00Z", "updater_id": 1234, "via": "Mail",
        "event_type": "Audit", "comment_present": true, "comment_public": false,
        "child_events": [
            { "id": 10000001, "type": "Comment", "author_id": 1234, "body": "Note",
              "html_body": "<p>Note <img src=\"https://acme.zendesk.com/attachments/token/AbC123/?name=a.png\"></p>",
              "plain_body": "Note", "public": false,
              "attachments": [
                { "id": 50000002, "file_name": "a.png", "content_url": "https://cdn.example/attachments/token/AbC123/?name=a.png",
                  "content_type": "image/png", "size": 68, "inline": true, "deleted": false },
                { "id": 50000003, "file_name": "../../etc/passwd", "content_url": "https://cdn.example/x",
                  "content_type": "text/plain", "size": 0, "inline": false, "deleted": true }
              ],
              "via": { "channel": "web" }, "event_type": "Comment" },
            { "id": 4503599627370497u64, "type": "Create", "field_name": "status", "value": "new", "event_type": "Create" },
            { "id": 4503599627370498u64, "type": "Change", "field_name": "status", "value": "deleted",
              "previous_value": "open", "event_type": "Change" }
        ]
    })
}

#[test]
fn ticket_events_yield_comments_and_deletions() {
    let v = audit_sample();
    let e: wire::TicketEvent = map::notes().read("ticket_events", &v).unwrap();
    let facts = map::event_facts(&e, &mut map::notes());
    assert!(facts.comment_present);
    assert_eq!(facts.comments.len(), 1);
    assert_eq!(facts.deleted_from.as_deref(), Some("open"));
    let (c, atts) =
        map::comment(facts.comments[0], "7", e.created_at.as_deref(), &mut map::notes()).unwrap();
    assert_eq!((c.id.as_str(), c.ticket_id.as_str()), ("10000001", "7"));
    assert_eq!(c.author_id.as_deref(), Some("1234"));
    assert!(!c.public);
    assert_eq!(c.body_text.as_deref(), Some("Note"));
    assert_eq!(c.channel.as_deref(), Some("web"));
    // The child event has no created_at; the audit's time stands in.
    assert_eq!(c.created_at.unwrap().to_rfc3339(), "2024-03-01T10:00:00+00:00");
    assert_eq!(c.attachment_ids, vec!["50000002", "50000003"]);
    let (a, url) = &atts[0];
    assert!(a.inline);
    assert_eq!((a.ticket_id.as_deref(), a.comment_id.as_deref()), (Some("7"), Some("10000001")));
    assert_eq!(url.as_deref(), Some("https://cdn.example/attachments/token/AbC123/?name=a.png"));
    let (gone, url) = &atts[1];
    assert_eq!((gone.state, url.as_deref()), (AttachmentState::Missing, None));
    assert_eq!(gone.file_name, "../../etc/passwd");
    // Inline image URLs in the body name their tokens.
    let html = c.body_html.as_deref().unwrap();
    assert_eq!(map::inline_tokens(html), vec!["AbC123"]);
    assert_eq!(map::url_token(url_of(&atts[0])), Some("AbC123"));
}

fn url_of(a: &(deskferry_format::model::Attachment, Option<String>)) -> &str {
    a.1.as_deref().unwrap_or_default()
}

#[test]
fn system_authors_are_none() {
    let (c, _) = map::comment(
        &json!({ "id": 1, "author_id": -1, "public": true }),
        "1",
        None,
        &mut map::notes(),
    )
    .unwrap();
    assert_eq!((c.author_id, c.created_at), (None, None));
}

#[test]
fn articles_give_one_row_per_locale_and_attachments_find_theirs() {
    let v = json!({
        "id": 9001, "author_id": 100005, "draft": false, "position": 0, "section_id": 8001,
        "created_at": "2024-02-01T00:00:00Z", "updated_at": "2024-03-01T00:00:00Z",
        "title": "How to reset your password", "source_locale": "en-us", "locale": "en-us",
        "label_names": ["billing"], "body": "<h2>Reset</h2>",
        "translations": [
            { "id": 77, "source_id": 9001, "source_type": "Article", "locale": "en-us",
              "title": "How to reset your password", "body": "<h2>Reset</h2>", "draft": false },
            { "id": 9002, "source_id": 9001, "source_type": "Article", "locale": "fr",
              "title": "Comment réinitialiser", "body": "<p>Cliquez</p>", "draft": true,
              "created_at": "2024-02-03T00:00:00Z", "updated_at": "2024-02-04T00:00:00Z" }
        ]
    });
    let rows = map::kb_article(&v, &mut map::notes()).unwrap();
    assert_eq!(rows.len(), 2);
    let (src, fr) = (&rows[0], &rows[1]);
    assert_eq!(
        (src.id.as_str(), src.locale.as_deref(), src.translation_of.as_deref()),
        ("9001", Some("en-us"), None)
    );
    assert_eq!(
        (src.parent_id.as_deref(), src.author_id.as_deref()),
        (Some("8001"), Some("100005"))
    );
    assert_eq!(src.labels, vec!["billing"]);
    assert!(!src.raw.contains("translations"), "translations live in their own rows");
    assert_eq!(
        (fr.id.as_str(), fr.locale.as_deref(), fr.translation_of.as_deref()),
        ("9002", Some("fr"), Some("9001"))
    );
    assert_eq!(
        (fr.title.as_str(), fr.draft, fr.position),
        ("Comment réinitialiser", true, Some(0))
    );
    assert!(fr.labels.is_empty());
    assert_eq!(fr.author_id.as_deref(), Some("100005"));
    assert_eq!(map::article_row_for(&rows, Some("FR")).as_deref(), Some("9002"));
    assert_eq!(map::article_row_for(&rows, Some("de")).as_deref(), Some("9001"));
    assert_eq!(map::article_row_for(&rows, None).as_deref(), Some("9001"));
}

#[test]
fn sections_hang_under_their_category_or_parent_section() {
    let s = map::kb_container(
        &json!({ "id": 8001, "name": "Basics", "description": "", "category_id": 7001,
                 "parent_section_id": null, "locale": "en-us", "source_locale": "en-us", "position": 2 }),
        "sections", &mut map::notes(),
    )
    .unwrap();
    assert_eq!(
        (s[0].parent_id.as_deref(), s[0].body_html.as_deref(), s[0].position),
        (Some("7001"), None, Some(2))
    );
    let nested = map::kb_container(
        &json!({ "id": 8002, "name": "Deep", "category_id": 7001, "parent_section_id": 8001 }),
        "sections",
        &mut map::notes(),
    )
    .unwrap();
    assert_eq!(nested[0].parent_id.as_deref(), Some("8001"));
    let c = map::kb_container(
        &json!({ "id": 7001, "name": "Getting started",
        "description": "<p>About</p>", "locale": "en-us" }),
        "categories",
        &mut map::notes(),
    )
    .unwrap();
    assert_eq!(
        (c[0].parent_id.as_deref(), c[0].body_html.as_deref()),
        (None, Some("<p>About</p>"))
    );
}

#[test]
fn list_paging_follows_cursor_and_offset_styles() {
    let cursor: wire::ListPaging = serde_json::from_value(json!({
        "meta": { "has_more": true, "after_cursor": "x" }, "links": { "next": "https://n" } }))
    .unwrap();
    assert_eq!(cursor.next(), Some("https://n"));
    let last: wire::ListPaging = serde_json::from_value(json!({
        "meta": { "has_more": false }, "links": { "next": "https://n" } }))
    .unwrap();
    assert_eq!(last.next(), None);
    let offset: wire::ListPaging =
        serde_json::from_value(json!({ "next_page": "https://p2" })).unwrap();
    assert_eq!(offset.next(), Some("https://p2"));
}

/// Shapes of a real account's `ticket_fields` (learned from the recorded fixture of the public
/// Go client nukosuke/go-zendesk and Airbyte's recorded records; written anew here): Type and
/// Priority say `removable: true` and list their values under `system_field_options`.
#[test]
fn system_fields_are_known_by_type_even_when_zendesk_says_removable() {
    let mut notes = map::notes();
    for (ty, removable) in [
        ("tickettype", true),
        ("priority", true),
        ("status", false),
        ("custom_status", false),
        ("group", false),
    ] {
        let v = json!({ "id": 360000001, "type": ty, "title": "System", "active": true,
            "removable": removable, "sub_type_id": 0,
            "system_field_options": [{ "name": "Low", "value": "low" }] });
        assert!(map::field(&v, FieldEntity::Ticket, &mut notes).unwrap().is_none(), "{ty}");
    }
    // A custom field titled like a system one stays a custom field.
    let custom = json!({ "id": 360000009, "type": "tagger", "title": "Priority", "removable": true,
        "custom_field_options": [{ "id": 1, "name": "P1", "value": "p1" }] });
    let f = map::field(&custom, FieldEntity::Ticket, &mut notes).unwrap().unwrap();
    assert_eq!((f.title.as_str(), f.field_type.as_str()), ("Priority", "tagger"));
    assert!(notes.is_empty());
}

/// A `Comment` child event whose `via` is a string, as child events of the incremental ticket
/// events carry it (`"via": "Web form"` with `via_reference_id`, the answer pasted in the public
/// Java client aladingg/zendesk-java-client): the comment is kept, its channel empty, a note
/// says why, and `raw` keeps the string.
#[test]
fn a_comment_event_whose_via_is_a_string_is_kept_with_a_note() {
    let v = json!({
        "id": 2251799813685250u64, "ticket_id": 7, "timestamp": 1709287200,
        "created_at": "2024-03-01T10:00:00Z", "via": "Web form", "event_type": "Audit",
        "child_events": [
            { "id": 10000009, "via": "Web form", "via_reference_id": null, "type": "Comment",
              "author_id": 1234, "body": "Hello", "html_body": "<p>Hello</p>",
              "plain_body": "Hello", "public": true, "attachments": [], "audit_id": 2251799813685250u64,
              "created_at": "2024-03-01T10:00:00Z", "event_type": "Comment" }
        ]
    });
    let mut notes = map::notes();
    let e: wire::TicketEvent = notes.read("ticket_events", &v).unwrap();
    let facts = map::event_facts(&e, &mut notes);
    assert_eq!(facts.comments.len(), 1);
    let (c, _) = map::comment(facts.comments[0], "7", None, &mut notes).unwrap();
    assert_eq!((c.id.as_str(), c.public, c.channel.as_deref()), ("10000009", true, None));
    assert_eq!(c.body_text.as_deref(), Some("Hello"));
    assert!(c.raw.contains(r#""via":"Web form""#), "{}", c.raw);
    let w = notes.take();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].entity.as_str(), w[0].id.as_deref()), ("comments", Some("10000009")));
    assert!(w[0].message.contains("`via` holds a string"), "{}", w[0].message);
}

/// Any field of an unexpected type costs that field only (a ticket whose `tags` holds a number,
/// whose `due_at` is a number, whose `custom_fields` has an entry without id).
#[test]
fn a_ticket_with_fields_of_unexpected_types_is_kept() {
    let mut v = ticket_sample();
    v["tags"] = json!(["enterprise", 7]);
    v["due_at"] = json!(1709287200);
    v["custom_fields"] = json!([{ "value": "no id" }, { "id": 27642, "value": "745" }]);
    let mut notes = map::notes();
    let t = map::ticket(&v, None, None, &mut notes).unwrap();
    assert_eq!(t.tags, ["enterprise"]);
    assert_eq!(t.due_at, None);
    assert_eq!(t.custom_fields.len(), 1);
    assert_eq!(notes.take().len(), 3);
}
