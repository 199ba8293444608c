//! Unit tests of the pure mapping.

use deskferry_format::model::TicketStatus;

use super::map::{self, As};
use crate::target::Author;

fn author(agent: bool, target: Option<&str>, email: Option<&str>, defaulted: bool) -> Author {
    Author {
        target_id: target.map(str::to_string),
        email: email.map(str::to_string),
        name: Some("Pat <Doe>".into()),
        is_agent: agent,
        defaulted,
    }
}

#[test]
fn states_follow_the_mapping_then_the_canonical_status() {
    assert_eq!(map::state(None, TicketStatus::New, false), "unread");
    assert_eq!(map::state(None, TicketStatus::OnHold, false), "pending");
    assert_eq!(map::state(None, TicketStatus::Solved, false), "closed");
    assert_eq!(map::state(Some("opened"), TicketStatus::Closed, false), "opened");
    assert_eq!(map::state(None, TicketStatus::Open, true), "spam");
}

#[test]
fn an_author_groove_cannot_hold_is_named_never_silently_credited() {
    let a = author(true, Some("a@x.org"), Some("a@x.org"), false);
    assert_eq!(
        map::author_as(&a, Some("d@x.org"), "c@x.org"),
        Some(As { email: "a@x.org".into(), agent: true, named: None })
    );
    // An unmatched agent: the default agent writes, naming them (escaped).
    let a = author(true, Some("d@x.org"), Some("gone@x.org"), true);
    let w = map::author_as(&a, Some("d@x.org"), "c@x.org").unwrap();
    assert_eq!(w.email, "d@x.org");
    assert!(w.named.unwrap().contains("Pat &lt;Doe&gt;"));
    // A person without an address: the ticket's customer, naming them.
    let a = author(false, None, None, false);
    let w = map::author_as(&a, Some("d@x.org"), "c@x.org").unwrap();
    assert_eq!((w.email.as_str(), w.agent), ("c@x.org", false));
    assert!(w.named.is_some());
    // No agent at all: nobody can write an agent's message.
    let a = author(true, None, None, true);
    assert_eq!(map::author_as(&a, None, "c@x.org"), None);
}

#[test]
fn references_and_markers_round_trip() {
    let line = map::reference_line("dfx:7:9");
    assert_eq!(map::reference(&format!("<p>hi</p>{line}")).as_deref(), Some("dfx:7:9"));
    assert!(map::is_marker(&map::marker_tag("Zendesk:7")));
    assert_eq!(map::marker_tag("Zendesk:7"), "dfx-zendesk-7");
}

#[test]
fn a_customer_already_a_contact_is_named_by_address_alone() {
    // A hash would rename the contact holding the address (two people sharing it up to case).
    let known = author(false, Some("c_7"), Some("maria.garcia@example.com"), false);
    assert_eq!(map::party(&known), serde_json::json!("maria.garcia@example.com"));
    let new = author(false, None, Some("pat@x.org"), false);
    assert_eq!(map::party(&new), serde_json::json!({ "email": "pat@x.org", "name": "Pat <Doe>" }));
}
