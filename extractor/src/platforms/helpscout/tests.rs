//! Help Scout's JSON into the canonical model, on samples of our own in the shapes of the
//! recorded answers (docs/platforms/helpscout.md).

use std::collections::BTreeMap;

use deskferry_format::model::{FieldKind, TicketStatus, UserKind};
use serde_json::json;

use super::extract::ListCursor;
use super::map;

#[test]
fn a_conversation_with_embedded_threads_maps_to_a_ticket_its_comments_and_files() {
    let v = json!({
        "id": 501, "number": 77, "threads": 3, "type": "email", "folderId": 1,
        "status": "closed", "state": "published", "subject": "Invoice",
        "mailboxId": 12, "assignee": {"id": 4, "first": "Ann", "last": "Lee"},
        "createdBy": {"id": 90, "type": "customer"}, "primaryCustomer": {"id": 90},
        "createdAt": "2024-03-01T10:00:00Z", "closedAt": "2024-03-02T09:00:00Z",
        "userUpdatedAt": "2024-03-02T09:00:00Z", "source": {"type": "web", "via": "customer"},
        "tags": [{"id": 1, "color": "#929499", "tag": "vip customer"}],
        "customFields": [{"id": 31, "name": "Seats", "value": "12.50", "text": "12.50"},
                         {"id": 32, "name": "Plan", "value": "3201", "text": "Gold"}],
        "_embedded": {"threads": [
            {"id": 3, "type": "note", "body": "<p>internal</p>", "createdBy": {"id": 4, "type": "user"},
             "createdAt": "2024-03-02T09:00:00Z", "_embedded": {"attachments": []}},
            {"id": 2, "type": "message", "body": "<p>reply</p>", "source": {"type": "email"},
             "createdBy": {"id": 4, "type": "user"}, "createdAt": "2024-03-01T11:00:00Z",
             "_embedded": {"attachments": [{"id": 800, "filename": "a.pdf", "mimeType": "application/pdf",
                "size": 3, "_links": {"data": {"href": "https://api.helpscout.net/v2/conversations/501/attachments/800/data"}}}]}},
            {"id": 1, "type": "customer", "body": "<p>hi</p>",
             "createdBy": {"id": 90, "type": "customer", "createdAt": "2024-03-01T10:00:00Z"},
             "_embedded": {"attachments": []}}
        ]}
    });
    let types = BTreeMap::from([
        ("31".to_string(), "NUMBER".to_string()),
        ("32".to_string(), "DROPDOWN".to_string()),
    ]);
    let mut notes = map::notes();
    let (t, threads) = map::conversation(&v, &types, &mut notes).unwrap();
    assert!(notes.is_empty());
    assert_eq!((t.id.as_str(), t.number.as_deref()), ("501", Some("77")));
    assert_eq!(
        (t.status, t.status_raw.as_deref(), t.is_spam),
        (TicketStatus::Closed, Some("closed"), false)
    );
    assert_eq!(t.requester_id.as_deref(), Some("90"));
    assert_eq!(t.assignee_id.as_deref(), Some("4"));
    assert_eq!(t.group_id.as_deref(), Some("12"));
    assert_eq!(t.channel.as_deref(), Some("web"));
    assert_eq!(t.tags, ["vip customer"]);
    assert_eq!(t.custom_fields[0].value, "12.5", "a number field's value is a JSON number");
    assert_eq!(t.custom_fields[1].value, "\"3201\"", "a drop-down's value is its option id");
    assert!(t.solved_at.is_some());
    assert!(!t.raw.contains("\"threads\":["), "threads live in their comments' raw");
    // Conversation order (Help Scout lists newest first), privacy and authorship.
    let ids: Vec<&str> = threads.iter().map(|r| r.comment.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert!(threads[0].comment.public && threads[1].comment.public && !threads[2].comment.public);
    assert_eq!(
        threads[0].comment.created_at,
        map::time(Some("2024-03-01T10:00:00Z")),
        "time nested in createdBy"
    );
    assert_eq!(threads[1].comment.attachment_ids, ["800"]);
    let (a, url) = &threads[1].files[0];
    assert_eq!((a.file_name.as_str(), a.comment_id.as_deref()), ("a.pdf", Some("2")));
    assert!(url.ends_with("/attachments/800/data"));
}

#[test]
fn a_field_of_an_unexpected_type_costs_the_field_not_the_record() {
    let mut notes = map::notes();
    // `source` as a bare string where Help Scout documents an object.
    let v = json!({"id": 9, "type": "customer", "body": "x", "source": "email",
                   "createdBy": {"id": 5, "type": "customer"}, "createdAt": "2024-01-01T00:00:00Z"});
    let r = map::thread("1", &v, &mut notes).unwrap().unwrap();
    assert_eq!(r.comment.channel, None);
    assert_eq!(r.comment.body_html.as_deref(), Some("x"));
    assert!(r.comment.raw.contains("\"source\":\"email\""), "raw keeps the value");
    let w = notes.take();
    assert_eq!(w.len(), 1);
    assert!(w[0].message.contains("`source`"), "{}", w[0].message);
    // A record without an id is refused.
    assert!(map::thread("1", &json!({"type": "note"}), &mut notes).is_err());
}

#[test]
fn people_mailboxes_fields_and_docs_map_as_help_scout_keeps_them() {
    let mut n = map::notes();
    let u = map::user(
        &json!({"id": 4, "firstName": "Ann", "lastName": "van Lee", "email": "a@x.test",
        "role": "owner", "timezone": "Europe/Berlin", "type": "user"}),
        &mut n,
    )
    .unwrap();
    assert_eq!(
        (u.kind, u.name.as_deref(), u.role_raw.as_deref()),
        (UserKind::Agent, Some("Ann van Lee"), Some("owner"))
    );
    let c = map::customer(&json!({"id": 90, "firstName": "Bo", "organization": "Acme",
        "_embedded": {"emails": [{"id": 1, "value": "bo@x.test", "type": "work"}, {"id": 2, "value": "b2@x.test"}],
                      "phones": [{"id": 1, "value": "+1 555"}]}}), &mut n).unwrap();
    assert_eq!(
        (c.kind, c.email.as_deref(), c.other_emails.as_slice()),
        (UserKind::EndUser, Some("bo@x.test"), &["b2@x.test".to_string()][..])
    );
    assert_eq!((c.phone.as_deref(), c.organization_id.as_deref()), (Some("+1 555"), None));
    let f = map::field(
        &json!({"id": 32, "name": "Plan", "type": "DROPDOWN", "required": true,
        "options": [{"id": 3201, "order": 1, "label": "Gold"}]}),
        &mut n,
    )
    .unwrap();
    assert_eq!(
        (f.key.as_str(), f.kind, f.options[0].value.as_str()),
        ("32", Some(FieldKind::Dropdown), "3201")
    );
    assert_eq!(map::field_kind("NUMBER"), FieldKind::Decimal);
    let a = map::docs_item(
        "kb_articles",
        &json!({"id": "5215163545667acd25394b5c", "name": "How to",
        "text": "<p>t</p>", "status": "notpublished", "categories": ["c1"], "keywords": ["k"],
        "createdBy": 73423, "createdAt": "2013-08-21T19:34:13Z", "updatedAt": null}),
        None,
        &mut n,
    )
    .unwrap();
    assert_eq!(
        (a.parent_id.as_deref(), a.draft, a.author_id.as_deref()),
        (Some("c1"), true, Some("73423"))
    );
    assert_eq!((a.labels.as_slice(), a.updated_at), (&["k".to_string()][..], None));
    assert!(n.is_empty());
    let (s, spam) = map::status(Some("spam"));
    assert_eq!((s, spam), (TicketStatus::Closed, true));
}

#[test]
fn a_delta_starts_a_second_after_the_parents_latest_change() {
    let mut resume = crate::source::Resume::default();
    let parent = ListCursor { page: 1, since: None, max: Some("2024-03-02T09:00:00Z".into()) };
    resume.since.insert("conversations".into(), parent.to_text());
    let c = ListCursor::start(&resume, "conversations");
    assert_eq!((c.page, c.since.as_deref()), (1, Some("2024-03-02T09:00:01Z")));
    assert_eq!(
        ListCursor::start(&crate::source::Resume::default(), "conversations"),
        ListCursor { page: 1, since: None, max: None }
    );
}
