//! Intercom's mapping on JSON samples of our own, shaped after the OpenAPI files' examples and
//! recorded answers (docs/platforms/intercom.md).

use deskferry_format::model::{FieldKind, TicketStatus, UserKind};
use serde_json::json;

use super::map;

#[test]
fn a_conversation_becomes_a_ticket_its_opening_message_and_its_comments_and_notes() {
    let v = json!({
        "type": "conversation", "id": "147", "title": "Printer", "created_at": 1_700_000_000,
        "updated_at": 1_700_000_500, "state": "snoozed", "priority": "priority",
        "admin_assignee_id": 814_860, "team_assignee_id": "0",
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "1", "name": "vip"}]},
        "source": {"type": "email", "id": "403918396", "delivered_as": "customer_initiated",
            "body": "<p>Hi</p>", "author": {"type": "user", "id": "5f7f0d217289f8d2f4262080"},
            "attachments": [{"type": "upload", "name": "a.png", "url": "https://f.example/a.png",
                "content_type": "image/png", "filesize": 12}]},
        "contacts": {"type": "contact.list", "contacts": [
            {"type": "contact", "id": "5f7f0d217289f8d2f4262080"},
            {"type": "contact", "id": "5f7f0d217289f8d2f4262081"}]},
        "custom_attributes": {"seats": 12, "plan": "gold", "nothing": null},
        "conversation_parts": {"type": "conversation_part.list", "total_count": 3, "conversation_parts": [
            {"type": "conversation_part", "id": "1", "part_type": "comment", "body": "<p>Yes</p>",
             "created_at": 1_700_000_100, "author": {"type": "admin", "id": "814860"}, "attachments": []},
            {"type": "conversation_part", "id": "2", "part_type": "note", "body": "<p>Hmm</p>",
             "created_at": "1700000200", "author": {"type": "admin", "id": "814860"}, "attachments": []},
            {"type": "conversation_part", "id": "3", "part_type": "assignment", "body": null,
             "created_at": 1_700_000_300, "author": {"type": "bot", "id": "1"}, "attachments": []}
        ]}
    });
    let mut notes = map::notes();
    let rows = map::conversation(&v, &mut notes).expect("read");
    let t = rows.ticket.expect("ticket");
    assert_eq!(t.status, TicketStatus::Pending);
    assert_eq!(t.assignee_id.as_deref(), Some("814860"));
    assert_eq!(t.group_id, None, "team 0 is no team");
    assert_eq!(t.requester_id.as_deref(), Some("5f7f0d217289f8d2f4262080"));
    assert_eq!(t.cc_ids, vec!["5f7f0d217289f8d2f4262081".to_string()]);
    assert_eq!(t.tags, vec!["vip".to_string()]);
    assert_eq!(t.custom_fields.len(), 2);
    assert!(t.custom_fields.iter().any(|c| c.key == "plan" && c.value == "\"gold\""));
    // The opening message, the comment and the note; the assignment stays in the ticket's raw.
    let ids: Vec<&str> = rows.comments.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["403918396", "1", "2"]);
    assert!(!rows.comments[2].public);
    assert!(t.raw.contains("\"part_type\":\"assignment\""));
    assert!(!t.raw.contains("<p>Yes</p>"), "comments keep their own raw");
    // The note's time came as text: read, kept raw, noted.
    assert_eq!(rows.comments[2].created_at.map(|t| t.timestamp()), Some(1_700_000_200));
    assert!(rows.comments[2].raw.contains("\"created_at\":\"1700000200\""));
    let w = &rows.warnings;
    assert!(w.iter().any(|w| w.id.as_deref() == Some("2") && w.message.contains("created_at")));
    // A time that is no number at all costs the field only.
    let mut odd = v.clone();
    odd["conversation_parts"]["conversation_parts"][0]["created_at"] = json!("yesterday");
    let rows = map::conversation(&odd, &mut notes).expect("read");
    assert_eq!(rows.comments[1].created_at, None);
    assert!(notes.take().iter().any(|w| w.id.as_deref() == Some("1")));
    // Files get ids of their place on the part.
    assert_eq!(rows.files.len(), 1);
    assert_eq!(rows.files[0].row.id, "403918396-1");
    assert_eq!(rows.comments[0].attachment_ids, vec!["403918396-1".to_string()]);
    assert_eq!(rows.parts_left_out, 0);
}

#[test]
fn parts_beyond_the_answer_are_counted_from_the_statistics() {
    let v = json!({"id": "9", "statistics": {"count_conversation_parts": 700},
        "conversation_parts": {"total_count": 500, "conversation_parts": []}});
    let rows = map::conversation(&v, &mut map::notes()).expect("read");
    assert_eq!(rows.parts_left_out, 700);
}

#[test]
fn a_record_without_an_id_is_refused_and_a_field_of_another_type_costs_only_the_field() {
    let mut notes = map::notes();
    assert!(map::contact(&json!({"type": "contact", "name": "x"}), &mut notes).is_err());
    let u = map::contact(
        &json!({"id": "abc", "role": "lead", "email": "a@b.c", "updated_at": "yesterday",
                "companies": {"data": [{"id": "c1"}], "has_more": false}}),
        &mut notes,
    )
    .expect("kept");
    assert_eq!(u.kind, UserKind::EndUser);
    assert_eq!(u.role_raw.as_deref(), Some("lead"));
    assert_eq!(u.organization_id.as_deref(), Some("c1"));
    assert_eq!(u.updated_at, None);
    assert_eq!(notes.take().len(), 1);
}

#[test]
fn data_attributes_are_typed_and_standard_ones_skipped() {
    let mut notes = map::notes();
    let list = json!({"id": 7, "model": "conversation", "name": "plan", "label": "Plan",
        "data_type": "string", "options": ["gold", "silver"], "custom": true, "archived": true});
    let f = map::data_attribute(&list, &mut notes).expect("read").expect("custom");
    assert_eq!(f.kind, Some(FieldKind::Dropdown));
    assert!(!f.active);
    assert_eq!(f.options.len(), 2);
    let std = json!({"id": 1, "model": "contact", "name": "email", "data_type": "string", "custom": false});
    assert!(map::data_attribute(&std, &mut notes).expect("read").is_none());
    assert_eq!(map::field_kind("float"), FieldKind::Decimal);
}

#[test]
fn collections_and_articles_carry_every_translation() {
    let mut notes = map::notes();
    let c = json!({"id": "20", "name": "Billing", "parent_id": "10", "default_locale": "en",
        "translated_content": {"type": "group_translated_content",
            "en": {"type": "group_content", "name": "Billing"},
            "fr": {"type": "group_content", "name": "Facturation", "description": "x"}}});
    let (section, rows) = map::collection(&c, &mut notes).expect("read");
    assert!(section);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].id, "20-fr");
    assert_eq!(rows[1].translation_of.as_deref(), Some("20"));
    let a = json!({"id": "5", "title": "Reset", "state": "published", "parent_id": 20,
        "author_id": 814860, "default_locale": "en",
        "translated_content": {"type": "article_translated_content",
            "en": {"title": "Reset", "body": "<p>a</p>"},
            "de": {"title": "Zurücksetzen", "body": "<p>b</p>", "state": "draft"}}});
    let rows = map::article(&a, &mut notes).expect("read");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].parent_id.as_deref(), Some("20"));
    assert_eq!(rows[1].locale.as_deref(), Some("de"));
    assert!(rows[1].draft);
    assert_eq!(rows[1].author_id.as_deref(), Some("814860"));
    assert_eq!(map::domain("https://Example.com/about"), Some("example.com".into()));
}

#[test]
fn images_shown_in_a_body_are_found_on_intercoms_cdn_once_each_with_their_names() {
    let html = "<p>a<IMG alt=x SRC='https://downloads.intercomcdn.com/i/o/91/ab/r%C3%A9sum%C3%A9%20%231.png'>\
        <img src=\"https://downloads.intercomcdn.com/i/o/91/ab/r%C3%A9sum%C3%A9%20%231.png\">\
        <img data-src=\"https://x.example/i/o/1/no.png\" src=https://example.org/logo.png>\
        <img src=\"http://127.0.0.1:9/i/o/7/a.gif?x=1&amp;y=2\"></p>";
    let got = map::cdn_images(html);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, "résumé #1.png");
    assert_eq!(got[1], ("http://127.0.0.1:9/i/o/7/a.gif?x=1&y=2".to_string(), "a.gif".to_string()));
    // A conversation part shows one: it becomes an inline file of the part, after its listed ones.
    let mut n = map::notes();
    let v = json!({"type": "conversation", "id": "5", "created_at": 1, "updated_at": 1,
        "source": {"id": "s1", "body": "<p>x</p>", "attachments": [], "author": {"type": "admin", "id": "1"}},
        "conversation_parts": {"conversation_parts": [{"id": "p1", "part_type": "comment", "created_at": 2,
            "body": "<img src=\"https://downloads.intercomcdn.com/i/o/3/h/shot.png\">",
            "author": {"type": "admin", "id": "1"},
            "attachments": [{"type": "upload", "name": "f.pdf", "url": "https://x/f", "content_type": "application/pdf", "filesize": 3}]}],
            "total_count": 1}});
    let rows = map::conversation(&v, &mut n).expect("read");
    let part = rows.comments.iter().find(|c| c.id == "p1").expect("part");
    assert_eq!(part.attachment_ids, ["p1-1", "p1-i1"]);
    let img = rows.files.iter().find(|f| f.row.id == "p1-i1").expect("the image");
    assert!(img.row.inline && img.row.file_name == "shot.png" && img.row.content_type.is_none());
    assert_eq!(img.url, "https://downloads.intercomcdn.com/i/o/3/h/shot.png");
}

/// An article's files are in its body (the Articles API lists none): an image shown, another
/// file linked, on either of Intercom's file hosts; a link wrapping its own image counts once,
/// as shown; links elsewhere and tags that only begin with `a` or `img` are not files.
#[test]
fn an_articles_files_are_read_from_its_body_in_order() {
    let body = "<p>See <abbr title=\"https://downloads.intercomcdn.com/i/o/1/x.png\">x</abbr>\
        <a href=\"https://acme-1f.intercom-attachments-2.com/i/o/q6/14/Template+import+leads.csv?expires=1&amp;signature=s\">the template</a>\
        <a href=\"https://example.org/i/x.pdf\">elsewhere</a>\
        <a\thref='https://downloads.intercomcdn.com/i/o/2/h/26325117402647'><img src='https://downloads.intercomcdn.com/i/o/2/h/26325117402647'></a>\
        <imgx src=\"https://downloads.intercomcdn.com/i/o/3/y.png\"></p>";
    let got = map::cdn_files(body);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].name, "Template+import+leads.csv");
    assert!(!got[0].inline);
    assert!(got[0].url.ends_with("?expires=1&signature=s"), "{}", got[0].url);
    assert_eq!(got[1].name, "26325117402647");
    assert!(got[1].inline);
    let row = deskferry_format::model::KbItem {
        id: "7-de".into(),
        parent_id: None,
        locale: Some("de".into()),
        translation_of: Some("7".into()),
        title: "t".into(),
        body_html: Some(body.into()),
        author_id: None,
        draft: false,
        position: None,
        labels: vec![],
        created_at: None,
        updated_at: None,
        raw: String::new(),
    };
    let files = map::article_files(&row);
    let ids: Vec<&str> = files.iter().map(|f| f.row.id.as_str()).collect();
    assert_eq!(ids, ["7-de-f1", "7-de-f2"]);
    assert!(files.iter().all(|f| f.row.article_id.as_deref() == Some("7-de")));
    assert!(files.iter().all(|f| f.row.ticket_id.is_none() && f.row.content_type.is_none()));
    assert!(files[1].row.inline && !files[0].row.inline);
}

/// A Back-office ticket (no conversation), shaped after the 2.14 file's `getTicket` example.
fn back_office_ticket() -> serde_json::Value {
    json!({
        "type": "ticket", "id": "631", "ticket_id": "38", "category": "Back-office",
        "ticket_attributes": {"_default_title_": "Refund", "_default_description_":
            "<p>See <img src=\"https://downloads.intercomcdn.com/i/o/9/shot.png?expires=1&amp;signature=x\"></p>",
            "order": "ORD-1", "nothing": null},
        "ticket_state": {"type": "ticket_state", "id": "8537", "category": "waiting_on_customer",
            "internal_label": "Waiting", "external_label": "Waiting on you"},
        "ticket_type": {"type": "ticket_type", "id": "95", "name": "Refund request"},
        "contacts": {"type": "contact.list", "contacts": [
            {"type": "contact", "id": "6762f2f61bb69f9f2193bc59"},
            {"type": "contact", "id": "6762f2f61bb69f9f2193bc5a"}]},
        "admin_assignee_id": "0", "team_assignee_id": "5017691",
        "created_at": 1_734_537_974, "updated_at": 1_734_537_976,
        "ticket_parts": {"type": "ticket_part.list", "total_count": 3, "ticket_parts": [
            {"type": "ticket_part", "id": "185", "part_type": "ticket_state_updated_by_admin",
             "ticket_state": "submitted", "previous_ticket_state": "submitted",
             "created_at": 1_734_537_975, "author": {"type": "admin", "id": "991268047"},
             "attachments": [], "redacted": false},
            {"type": "ticket_part", "id": "186", "part_type": "note", "body": "<p>Checked</p>",
             "created_at": 1_734_537_976, "author": {"type": "admin", "id": "991268047"},
             "attachments": [], "redacted": false}]}
    })
}

#[test]
fn a_back_office_ticket_becomes_a_ticket_its_description_and_its_parts() {
    let v = back_office_ticket();
    let mut notes = map::notes();
    let rows = map::ticket(&v, &mut notes).expect("read");
    let t = rows.ticket.expect("ticket");
    assert_eq!(t.id, "631");
    assert_eq!(t.subject.as_deref(), Some("Refund"));
    assert_eq!(t.status, TicketStatus::Pending);
    assert_eq!(t.status_raw.as_deref(), Some("waiting_on_customer"));
    assert_eq!(t.ticket_type.as_deref(), Some("Refund request"));
    assert_eq!(t.assignee_id, None, "admin 0 is nobody");
    assert_eq!(t.group_id.as_deref(), Some("5017691"));
    assert_eq!(t.requester_id.as_deref(), Some("6762f2f61bb69f9f2193bc59"));
    assert_eq!(t.cc_ids, vec!["6762f2f61bb69f9f2193bc5a".to_string()]);
    // The built-in title and description are no field values; a null is none.
    let keys: Vec<&str> = t.custom_fields.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["order"]);
    // The description opens it (no author, private: a Back-office ticket), with its image.
    let ids: Vec<&str> = rows.comments.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["631-description", "186"]);
    let d = &rows.comments[0];
    assert_eq!((d.author_id.as_deref(), d.public), (None, false));
    assert_eq!(d.created_at.map(|x| x.timestamp()), Some(1_734_537_974));
    assert_eq!(d.attachment_ids, vec!["631-description-i1".to_string()]);
    assert_eq!(rows.files.len(), 1);
    assert!(rows.files[0].row.inline);
    assert_eq!(rows.comments[1].author_id.as_deref(), Some("991268047"));
    assert!(!rows.comments[1].public);
    // The state change stays in the ticket's raw; the part the answer left out is counted.
    assert!(t.raw.contains("ticket_state_updated_by_admin"));
    assert!(!t.raw.contains("<p>Checked</p>"));
    assert_eq!(rows.parts_left_out, 1);
}

#[test]
fn a_customer_tickets_conversation_takes_the_tickets_type_state_and_values() {
    let conv = json!({
        "type": "conversation", "id": "631", "title": "", "created_at": 1_734_537_974,
        "state": "open", "source": {"type": "conversation", "id": "9", "body": "<p>Hi</p>",
            "author": {"type": "user", "id": "6762f2f61bb69f9f2193bc59"}},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "6762f2f61bb69f9f2193bc59"}]},
        "custom_attributes": {}
    });
    let mut notes = map::notes();
    let mut t = map::conversation(&conv, &mut notes).expect("read").ticket.expect("ticket");
    let mut ticket = back_office_ticket();
    ticket["category"] = json!("Customer");
    // Older versions answer the state as a bare category: read, the same.
    ticket["ticket_state"] = json!("resolved");
    ticket["ticket_type"]["ticket_type_attributes"] =
        json!({"type": "list", "data": [{"id": "1"}]});
    let ticket = map::ticket_summary(ticket);
    assert!(ticket.get("ticket_parts").is_none());
    assert!(
        ticket["ticket_type"].get("ticket_type_attributes").is_none(),
        "the type is a reference"
    );
    map::with_ticket(&mut t, &ticket, &mut notes).expect("read");
    assert_eq!(t.status, TicketStatus::Solved);
    assert_eq!(t.status_raw.as_deref(), Some("resolved"));
    assert_eq!(t.ticket_type.as_deref(), Some("Refund request"));
    assert_eq!(t.subject.as_deref(), Some("Refund"));
    assert_eq!(t.custom_fields.len(), 1);
    let raw: serde_json::Value = serde_json::from_str(&t.raw).expect("json");
    assert_eq!(raw["ticket"]["ticket_type"]["name"], "Refund request");
    assert_eq!(raw["source"], serde_json::Value::Null, "the opening message keeps its own raw");
}

#[test]
fn ticket_type_attributes_are_fields_unless_a_conversation_attribute_has_the_name() {
    let attr =
        |id: &str, name: &str, data_type: &str, default: bool, options: serde_json::Value| {
            json!({"type": "ticket_type_attribute", "id": id, "name": name, "data_type": data_type,
               "input_options": options, "default": default, "archived": false})
        };
    let v = json!({"type": "ticket_type", "id": "67", "name": "Bug Report", "category": "Customer",
        "ticket_type_attributes": {"type": "list", "data": [
            attr("165", "_default_title_", "string", true, json!({"multiline": false})),
            attr("166", "_default_description_", "string", true, json!({"multiline": true})),
            attr("167", "plan", "string", false, json!({})),
            attr("168", "severity", "list", false, json!({"list_options": [
                {"id": "a1", "label": "Low"}, {"id": "a2", "label": "High"}]})),
            attr("169", "cost", "decimal", false, json!({}))]}});
    let mut known: std::collections::BTreeSet<String> = ["plan".to_string()].into();
    let mut notes = map::notes();
    let fields = map::ticket_type_fields(&v, &mut known, &mut notes);
    let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["severity", "cost"]);
    assert_eq!(fields[0].kind, Some(FieldKind::Dropdown));
    let labels: Vec<&str> = fields[0].options.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(labels, ["Low", "High"]);
    assert_eq!(fields[1].kind, Some(FieldKind::Decimal));
    // Another type naming the same attributes adds none; the schema's array name is read too.
    let again = json!({"ticket_type_attributes": {"ticket_type_attributes": [
        attr("170", "severity", "list", false, json!({})), attr("171", "region", "string", false, json!({}))]}});
    let more = map::ticket_type_fields(&again, &mut known, &mut notes);
    let keys: Vec<&str> = more.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["region"]);
}
