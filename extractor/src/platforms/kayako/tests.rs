//! Kayako's JSON → the canonical model, on samples written after the shapes in
//! docs/platforms/kayako.md, including a field of an unexpected type.

use serde_json::json;

use super::map;
use deskferry_format::model::{FieldEntity, FieldKind, TicketStatus, UserKind};

#[test]
fn a_person_a_case_and_a_post_read_as_kayako_writes_them() {
    let mut n = map::notes();
    let keys = [("7".to_string(), "tier".to_string())].into_iter().collect();
    let u = json!({"id": 12, "full_name": "Ann", "role": {"id": 3, "type": "AGENT", "resource_type": "role"},
        "teams": [{"id": 2, "resource_type": "team"}], "is_enabled": false,
        "emails": [{"email": "b@x.org", "is_primary": false}, {"email": "a@x.org", "is_primary": true}],
        "custom_fields": [{"field": {"id": 7}, "value": "gold"}], "created_at": "2016-06-23T14:14:35+00:00"});
    let u = map::user(&u, &keys, &mut n).unwrap();
    assert_eq!(
        (u.kind, u.role_raw.as_deref(), u.email.as_deref()),
        (UserKind::Agent, Some("AGENT"), Some("a@x.org"))
    );
    assert_eq!(u.other_emails, ["b@x.org"]);
    assert!(!u.active);
    assert_eq!(u.custom_fields[0].key, "tier");
    let c = json!({"id": 5, "subject": "S", "status": {"id": 4, "label": "Completed", "type": "COMPLETED"},
        "priority": {"label": "High"}, "state": "TRASH", "requester": {"id": 12}, "tags": [{"name": "x"}]});
    let t = map::case(&c, &keys, &mut n).unwrap();
    assert_eq!((t.status, t.is_deleted, t.tags.len()), (TicketStatus::Solved, true, 1));
    let p = json!({"id": 9, "creator": {"id": 12}, "source_channel": {"type": "NOTE"},
        "original": {"resource_type": "note", "body_html": "<b>hi</b>", "body_text": "hi"},
        "attachments": [{"id": 3, "name": "a.png", "type": "image/png", "size": 4, "content_id": "c1", "url": "http://x/media/3/url?sig=1"}]});
    let (c, atts) = map::post(&p, "5", &mut n).unwrap();
    assert!(!c.public);
    assert_eq!(c.body_html.as_deref(), Some("<b>hi</b>"));
    assert_eq!(atts[0].0.comment_id.as_deref(), Some("9"));
    assert!(atts[0].0.inline);
    assert!(n.is_empty());
}

#[test]
fn a_field_of_an_unexpected_type_is_left_out_and_the_record_kept() {
    let mut n = map::notes();
    let v = json!({"id": 1, "title": "Tier", "type": "SELECT", "key": "tier", "is_enabled": "yes",
        "options": [{"tag": "gold", "values": [{"locale": "en-us", "translation": "Gold"}]}]});
    let f = map::field(&v, FieldEntity::Ticket, &mut n).unwrap();
    assert_eq!((f.kind, f.active), (Some(FieldKind::Dropdown), true));
    assert_eq!(f.options[0].label, "Gold");
    assert_eq!(n.take().len(), 1, "one note for is_enabled");
    assert!(map::user(&json!({"full_name": "no id"}), &Default::default(), &mut n).is_err());
}

#[test]
fn a_help_center_item_is_one_row_a_locale() {
    let mut n = map::notes();
    let v = json!({"id": 40, "section": {"id": 4}, "status": "PUBLISHED",
        "titles": [{"id": 40, "locale": "en-us", "translation": "One"}, {"id": 41, "locale": "de", "translation": "Eins"}],
        "contents": [{"locale": "en-us", "translation": "<p>1</p>"}, {"locale": "de", "translation": "<p>eins</p>"}]});
    let rows = map::help_item(&v, "kb_articles", &mut n).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[1].id.as_str(), rows[1].translation_of.as_deref()), ("41", Some("40")));
    assert_eq!(rows[1].body_html.as_deref(), Some("<p>eins</p>"));
    assert_eq!(rows[0].parent_id.as_deref(), Some("4"));
}
