//! Freshdesk unit tests on JSON samples of our own, written after the shapes listed in
//! `docs/platforms/freshdesk.md`.

use std::collections::HashMap;

use deskferry_format::model::{FieldEntity, FieldKind, Priority, TicketStatus, UserKind};
use serde_json::json;

use super::client::{next_link, tickets_url};
use super::map::{self, Emails, Owner};

#[test]
fn a_ticket_reads_with_codes_cc_users_and_named_custom_fields() {
    let mut notes = map::notes();
    let mut emails = Emails::default();
    let cc =
        map::contact(&json!({"id": 7, "email": "Ann@Example.com", "active": true}), &mut notes)
            .unwrap();
    emails.add(&cc);
    let v = json!({
        "id": 42, "subject": "Printer", "status": 7, "priority": 2, "source": 1, "type": "Question",
        "requester_id": 7, "responder_id": 3, "group_id": null, "company_id": 5,
        "cc_emails": ["ann@example.com", "nobody@example.com"], "tags": ["vip customer"],
        "custom_fields": {"cf_order": "A-1", "cf_unset": null},
        "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-03T03:04:05Z",
        "due_by": null, "spam": false, "deleted": true,
        "stats": {"resolved_at": null, "closed_at": "2024-01-03T00:00:00Z"}
    });
    let (t, _) = map::ticket(&v, &emails, &mut notes).unwrap();
    assert_eq!(t.number.as_deref(), Some("42"));
    assert_eq!((t.status, t.status_raw.as_deref()), (TicketStatus::OnHold, Some("7")));
    assert_eq!(t.priority, Some(Priority::Normal));
    assert_eq!(t.channel.as_deref(), Some("email"));
    assert_eq!(t.cc_ids, ["7"], "an address is found ignoring case; an unknown one is left out");
    assert_eq!(t.custom_fields.len(), 1);
    assert_eq!(t.custom_fields[0].key, "cf_order");
    assert!(t.is_deleted && !t.is_spam);
    assert!(t.solved_at.is_some(), "closed_at when there is no resolved_at");
    assert!(notes.is_empty());
}

#[test]
fn a_conversation_whose_source_is_text_keeps_everything_but_its_channel() {
    let mut notes = map::notes();
    let v = json!({
        "id": 9, "body": "<div>hi <img src=\"https://acme.freshdesk.com/helpdesk/attachments/55\"></div>",
        "body_text": "hi", "incoming": true, "private": true, "user_id": 7, "source": "2",
        "created_at": "2024-01-02T03:04:05Z",
        "attachments": [
            {"id": 55, "name": "a.png", "content_type": "image/png", "size": 3, "attachment_url": "https://s3/x"},
            {"id": 551, "name": "b.txt", "file_size": 4, "attachment_url": "https://s3/y"},
            {"name": "no id"}
        ]
    });
    let (c, w) = map::conversation(&v, "42", &mut notes).unwrap();
    assert!(!c.public, "a private note");
    assert_eq!(c.channel, None, "the source that came as text");
    assert_eq!(c.author_id.as_deref(), Some("7"));
    let notes_text = format!("{:?}", notes.take());
    assert!(notes_text.contains("source"), "{notes_text}");
    let owner =
        Owner { ticket_id: Some("42".into()), comment_id: Some("9".into()), article_id: None };
    let files = map::attachments(&w.attachments, &owner, w.body.as_deref(), &mut notes);
    assert_eq!(files.len(), 2, "the file without an id is left out, with a note");
    assert!(files[0].0.inline && !files[1].0.inline, "55 is linked, 551 is not (no prefix match)");
    assert_eq!(files[1].0.size, Some(4), "older answers say file_size");
    assert_eq!(notes.take().len(), 1);
}

#[test]
fn people_fields_and_paging_read_as_freshdesk_sends_them() {
    let mut notes = map::notes();
    let roles = HashMap::from([(2, "Administrator".to_string())]);
    let a = map::agent(
        &json!({"id": 1, "role_ids": [2], "group_ids": [8], "contact": {"active": true, "email": "r@x", "name": "R", "phone": 5678}}),
        &roles,
        &mut notes,
    )
    .unwrap();
    assert_eq!(
        (a.kind, a.role_raw.as_deref(), a.phone.as_deref()),
        (UserKind::Agent, Some("Administrator"), Some("5678"))
    );
    assert_eq!(a.group_ids, ["8"]);
    let c = map::contact(
        &json!({"id": 2, "active": true, "deleted": true, "time_zone": "Brisbane"}),
        &mut notes,
    )
    .unwrap();
    assert!(c.is_deleted && !c.active);
    assert_eq!(c.time_zone.as_deref(), Some("Brisbane"));

    let plain = json!({"id": 3, "name": "cf_tier", "label": "Tier", "type": "custom_dropdown", "default": false, "choices": ["gold", "silver"]});
    let f = map::field(&plain, FieldEntity::Ticket, &mut notes).unwrap().unwrap();
    assert_eq!(
        (f.kind, f.options.len(), f.options[0].label.as_str()),
        (Some(FieldKind::Dropdown), 2, "gold")
    );
    let objects = json!({"id": 4, "name": "plan", "label": "Plan", "type": "custom_dropdown", "choices": [{"id": 1, "label": "Gold", "value": "gold"}]});
    let f = map::field(&objects, FieldEntity::User, &mut notes).unwrap().unwrap();
    assert_eq!((f.options[0].value.as_str(), f.options[0].label.as_str()), ("gold", "Gold"));
    let builtin = json!({"id": 5, "name": "subject", "type": "default_subject", "default": true});
    assert!(map::field(&builtin, FieldEntity::Ticket, &mut notes).unwrap().is_none());
    assert_eq!(map::field_kind("custom_multi_select_dropdown"), FieldKind::Multiselect);
    assert_eq!(map::field_kind("custom_encrypted_text"), FieldKind::Other);

    let link = "<https://acme.freshdesk.com/api/v2/tickets?page=2&per_page=100>; rel=\"next\"";
    assert_eq!(
        next_link(link).as_deref(),
        Some("https://acme.freshdesk.com/api/v2/tickets?page=2&per_page=100")
    );
    assert_eq!(next_link("<https://x/a?page=1>; rel=\"prev\""), None);
    let url = tickets_url(Some("deleted"), "2024-01-01T00:00:00Z", 3);
    assert!(
        url.contains("updated_since=2024-01-01T00%3A00%3A00Z")
            && url.contains("filter=deleted")
            && url.contains("page=3")
    );
}

#[test]
fn a_record_without_an_id_is_refused() {
    let mut notes = map::notes();
    assert!(map::contact(&json!({"name": "nobody"}), &mut notes).is_err());
    assert!(map::ticket(&json!({"id": "x"}), &Emails::default(), &mut notes).is_err());
}
