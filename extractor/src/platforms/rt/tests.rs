//! Mapping tests on REST 2 JSON as RT 5.0.3 sends it (samples taken from a running server).

use std::collections::BTreeMap;

use deskferry_format::model::{Priority, TicketStatus, UserKind};
use serde_json::{Value, json};

use super::map::{self, FieldInfo};
use super::wire::{Page, custom_field_values, num, time};

fn names() -> BTreeMap<String, i64> {
    [("alice@example.com".to_string(), 27), ("root".to_string(), 14)].into()
}

#[test]
fn ids_and_times_in_every_spelling() {
    assert_eq!(num(&json!("38")), Some(38));
    assert_eq!(num(&json!(38)), Some(38));
    assert_eq!(num(&json!(0.0)), Some(0));
    assert_eq!(num(&json!("")), None);
    let v = json!({"Due": "1970-01-01T00:00:00Z", "Created": "2020-01-02T03:04:05Z"});
    assert_eq!(time(&v, "Due"), None, "the epoch means not set");
    assert_eq!(
        time(&v, "Created").map(|t| t.to_rfc3339()),
        Some("2020-01-02T03:04:05+00:00".into())
    );
}

#[test]
fn pages_know_when_to_stop() {
    let empty: Page =
        serde_json::from_value(json!({"items": [], "page": 1, "pages": 0.0, "total": 0})).unwrap();
    assert!(!empty.has_more(100));
    let first: Page =
        serde_json::from_value(json!({"items": [{}], "page": 1, "pages": 2})).unwrap();
    assert!(first.has_more(100));
    let last: Page = serde_json::from_value(json!({"items": [{}], "page": 2, "pages": 2})).unwrap();
    assert!(!last.has_more(100));
}

#[test]
fn privileged_users_are_agents_and_pseudo_users_are_skipped() {
    let v = json!({
        "id": 27, "Name": "alice@example.com", "EmailAddress": "alice@example.com",
        "RealName": "Alice", "Privileged": 1, "Disabled": "1", "Organization": "Acme",
        "WorkPhone": "+1 555", "Created": "2026-11-21T07:26:23Z", "LastUpdated": "2026-11-21T07:26:23Z"
    });
    let u = map::user(&v).unwrap();
    assert_eq!(u.id, "27");
    assert_eq!(u.kind, UserKind::Agent);
    assert_eq!(u.email.as_deref(), Some("alice@example.com"));
    assert_eq!(u.name.as_deref(), Some("Alice"));
    assert!(!u.active);
    assert_eq!(u.organization_id.as_deref(), Some("Acme"));
    assert_eq!(u.phone.as_deref(), Some("+1 555"));
    assert_eq!(serde_json::from_str::<Value>(&u.raw).unwrap(), v);
    let end_user =
        map::user(&json!({"id": 28, "Name": "bob", "Privileged": 0, "Disabled": "0"})).unwrap();
    assert_eq!(end_user.kind, UserKind::EndUser);
    assert!(end_user.active);
    assert!(map::user(&json!({"id": 6, "Name": "Nobody"})).is_none());
}

fn ticket_sample() -> Value {
    json!({
        "id": "2", "Subject": "Two", "Status": "stalled", "Priority": "75",
        "Created": "2026-11-21T07:28:46Z", "LastUpdated": "2026-11-21T07:28:46Z",
        "Resolved": "1970-01-01T00:00:00Z", "Due": "2027-01-01T00:00:00Z",
        "Queue": {"id": 3, "type": "queue"},
        "Owner": {"id": 6, "type": "user"},
        "Creator": {"id": 14, "type": "user"},
        "Requestor": [{"id": 27, "type": "user"}],
        "Cc": [{"id": "root", "type": "user"}],
        "AdminCc": [{"id": 9, "type": "group"}],
        "CustomFields": [
            {"id": "4", "name": "Tags", "values": ["b", "a"]},
            {"id": "2", "name": "Color", "values": ["blue"]},
            {"id": "5", "name": "Empty", "values": []}
        ]
    })
}

#[test]
fn tickets_map_roles_fields_status_and_priority() {
    let info = FieldInfo::from_items(&[
        json!({"id": "2", "Name": "Color", "MaxValues": "1"}),
        json!({"id": "4", "Name": "Tags", "MaxValues": "0"}),
    ]);
    let t = map::ticket(&ticket_sample(), &info, &names()).unwrap();
    assert_eq!(t.id, "2");
    assert_eq!(t.status, TicketStatus::Pending);
    assert_eq!(t.status_raw.as_deref(), Some("stalled"));
    assert_eq!(t.priority, Some(Priority::High));
    assert_eq!(t.group_id.as_deref(), Some("3"));
    assert_eq!(t.assignee_id, None, "Nobody owns unowned tickets");
    assert_eq!(t.submitter_id.as_deref(), Some("14"));
    assert_eq!(t.requester_id.as_deref(), Some("27"));
    assert_eq!(t.cc_ids, vec!["14".to_string()], "names resolve through the user list");
    assert!(t.follower_ids.is_empty(), "groups in a role are not users");
    assert_eq!(t.solved_at, None);
    assert!(t.due_at.is_some());
    let cf: Vec<(&str, &str)> =
        t.custom_fields.iter().map(|c| (c.key.as_str(), c.value.as_str())).collect();
    assert_eq!(cf, vec![("Color", "\"blue\""), ("Tags", "[\"b\",\"a\"]")]);
    assert!(!t.is_deleted);
    let mut deleted = ticket_sample();
    deleted["Status"] = json!("deleted");
    assert!(map::ticket(&deleted, &info, &names()).unwrap().is_deleted);
}

#[test]
fn custom_field_order_does_not_depend_on_rt_hash_order() {
    let a = custom_field_values(&ticket_sample());
    let mut v = ticket_sample();
    v["CustomFields"].as_array_mut().unwrap().reverse();
    assert_eq!(a, custom_field_values(&v));
}

#[test]
fn priorities_cover_rt_numbers() {
    assert_eq!(map::priority(0), Priority::Low);
    assert_eq!(map::priority(50), Priority::Normal);
    assert_eq!(map::priority(75), Priority::High);
    assert_eq!(map::priority(100), Priority::Urgent);
}

fn parts() -> Vec<Value> {
    vec![
        json!({"id": "5", "TransactionId": "40", "ContentType": "multipart/mixed", "ContentLength": "0"}),
        json!({"id": "6", "TransactionId": "40", "ContentType": "text/plain", "ContentLength": "4",
               "Headers": "Content-Type: text/plain\nX-RT-Interface: REST"}),
        json!({"id": "7", "TransactionId": "40", "ContentType": "text/plain", "Filename": "åäö.txt", "ContentLength": "6"}),
        json!({"id": "8", "TransactionId": "40", "ContentType": "application/octet-stream", "Filename": "a.bin", "ContentLength": "4"}),
    ]
}

#[test]
fn a_message_is_its_unnamed_text_part_plus_files() {
    let p = parts();
    let refs: Vec<&Value> = p.iter().rev().collect();
    let m = map::split_parts(&refs);
    assert_eq!(m.text.map(|v| num(&v["id"])), Some(Some(6)));
    assert!(m.html.is_none());
    let files: Vec<i64> = m.files.iter().filter_map(|f| num(&f["id"])).collect();
    assert_eq!(files, vec![7, 8]);

    let txn = json!({"id": "40", "Type": "Comment", "Creator": {"id": 27, "type": "user"},
                     "Created": "2026-11-21T07:26:24Z"});
    let bodies: BTreeMap<i64, String> = [(6, "note".to_string())].into();
    let c = map::comment(&txn, "1", &m, &bodies, &names()).unwrap();
    assert!(!c.public, "RT comments are private notes");
    assert_eq!(c.author_id.as_deref(), Some("27"));
    assert_eq!(c.body_text.as_deref(), Some("note"));
    assert_eq!(c.attachment_ids, vec!["7".to_string(), "8".to_string()]);
    assert_eq!(c.channel.as_deref(), Some("rest"));
    let a = map::attachment(m.files[0], "1", &c.id).unwrap();
    assert_eq!(a.file_name, "åäö.txt");
    assert_eq!(a.size, Some(6));
    assert_eq!(map::download_path(40, 7), "Ticket/Attachment/40/7/file");
}

#[test]
fn files_without_a_body_keep_an_empty_body_part() {
    let p = [
        json!({"id": "9", "TransactionId": "47", "ContentType": "multipart/mixed"}),
        json!({"id": "10", "TransactionId": "47", "ContentType": "application/octet-stream"}),
        json!({"id": "11", "TransactionId": "47", "ContentType": "text/plain", "Filename": "z.txt", "ContentLength": "6"}),
    ];
    let refs: Vec<&Value> = p.iter().collect();
    let m = map::split_parts(&refs);
    assert_eq!(m.text.map(|v| num(&v["id"])), Some(Some(10)));
    assert_eq!(m.files.len(), 1);
}

#[test]
fn which_transactions_are_messages() {
    assert!(map::is_message(&json!({"Type": "Correspond"}), 1));
    assert!(map::is_message(&json!({"Type": "Comment"}), 0));
    assert!(map::is_message(&json!({"Type": "Create"}), 2));
    assert!(!map::is_message(&json!({"Type": "Create"}), 0), "a ticket created without content");
    assert!(!map::is_message(&json!({"Type": "Status"}), 0));
}

#[test]
fn select_fields_keep_their_options() {
    let v =
        json!({"id": "3", "Name": "Product", "Type": "Select", "MaxValues": "0", "Disabled": "0"});
    let f = map::custom_field(
        &v,
        &[json!({"Name": "a", "Description": "Alpha"}), json!({"Name": "b"})],
    )
    .unwrap();
    assert_eq!(f.key, "Product");
    assert_eq!(f.field_type, "SelectMultiple");
    assert_eq!(f.options.len(), 2);
    assert_eq!(f.options[0].label, "Alpha");
    assert_eq!(f.options[1].label, "b");
    assert!(f.active);
}
