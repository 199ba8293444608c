//! Groove's pure mapping: ids, people by address, tolerant reads.

use serde_json::json;

use super::map::{self, People};
use deskferry_format::model::TicketStatus;

fn people() -> People {
    let mut p = People::default();
    p.agents.insert("ann@example.com".into(), "7".into());
    p.customers.insert("bo@example.com".into(), "100".into());
    p.teams.insert("Billing".into(), "3".into());
    p
}

#[test]
fn global_ids_lose_their_prefix_only() {
    assert_eq!(map::local("ag_12"), "12");
    assert_eq!(map::local("cnv_0042"), "0042");
    assert_eq!(map::local("12"), "12");
    assert_eq!(map::local("A_b"), "A_b");
}

#[test]
fn a_ticket_is_its_number_and_names_people_by_address() {
    let v = json!({
        "number": 17, "title": "Hi", "state": "spam", "tags": ["a"], "priority": "High",
        "assigned_group": "Billing", "mailbox_id": null,
        "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-03T03:04:05Z",
        "links": {
            "customer": { "href": "http://x/v1/customers/BO%40example.com" },
            "assignee": { "href": "http://x/v1/agents/ann@example.com" }
        }
    });
    let mut notes = map::notes();
    let t = map::ticket(&v, &people(), &mut notes).expect("ticket");
    assert_eq!(t.id, "17");
    assert_eq!((t.status, t.is_spam), (TicketStatus::Closed, true));
    assert_eq!(t.requester_id.as_deref(), Some("100"));
    assert_eq!(t.assignee_id.as_deref(), Some("7"));
    assert_eq!(t.group_id.as_deref(), Some("3"));
    assert!(notes.is_empty());
}

#[test]
fn an_odd_field_is_left_out_with_a_note_naming_the_message() {
    let v = json!({
        "href": "http://x/v1/messages/555", "created_at": 1700000000, "note": true,
        "body": "<p>x</p>", "plain_text_body": "x",
        "links": { "author": { "href": "http://x/v1/customers/nobody@example.com" } }
    });
    let mut notes = map::notes();
    let c = map::message(&v, "17", &people(), &mut notes).expect("kept");
    assert_eq!((c.id.as_str(), c.public, c.created_at), ("555", false, None));
    assert_eq!(c.author_id, None, "an address nobody holds names nobody");
    assert!(c.raw.contains("1700000000"));
    let w = notes.take();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].id.as_deref(), Some("555"));
    assert!(w[0].message.contains("created_at"), "{}", w[0].message);
}

#[test]
fn a_message_without_an_href_is_refused() {
    let mut notes = map::notes();
    assert!(map::message(&json!({ "body": "x" }), "1", &people(), &mut notes).is_err());
}
