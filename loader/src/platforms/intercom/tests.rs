//! Unit tests of the Intercom target's pure parts.

use bytes::Bytes;

use super::map;
use crate::target::AttachmentData;

fn file(n: usize) -> AttachmentData {
    AttachmentData {
        id: n.to_string(),
        file_name: format!("f{n}.png"),
        content_type: Some("image/png".into()),
        sha256: String::new(),
        inline: false,
        bytes: Bytes::from(vec![n as u8; 3]),
    }
}

#[test]
fn files_beyond_a_part_go_to_further_parts() {
    let files: Vec<AttachmentData> = (0..12).map(file).collect();
    let (first, rest) = map::chunks(&files, 5, true);
    assert_eq!(first.len(), 5);
    assert_eq!(rest.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 2]);
    // The opening message of a conversation takes none: every file goes to a part of its own.
    let (first, rest) = map::chunks(&files, 5, false);
    assert!(first.is_empty());
    assert_eq!(rest.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 5, 2]);
    // A part never takes more than ten, whatever the option says.
    let (first, _) = map::chunks(&files, 50, true);
    assert_eq!(first.len(), 10);
    assert!(map::files_body(6, 10, 12).starts_with(map::FILES_MARK));
    // The line is read back from a part's HTML body, and only from a files part.
    let line = map::files_body(6, 10, 12);
    assert_eq!(map::files_line(&format!("<p>{line}</p>")), Some(line));
    assert_ne!(
        map::files_line(&format!("<p>{}</p>", map::files_body(11, 12, 12))),
        map::files_line("<p>x</p>")
    );
    assert_eq!(map::files_line("<p>Hello (again)</p>"), None);
}

#[test]
fn the_opening_is_plain_text_and_attribute_names_are_intercoms() {
    assert_eq!(map::plain("<p>Hello &amp; <b>welcome</b></p>"), "Hello & welcome");
    assert_eq!(map::plain("<p></p>"), "(no text)");
    assert_eq!(map::attribute_name("Order #"), "Order__");
    assert_eq!(map::data_type(Some(deskferry_format::FieldKind::Integer)), "integer");
    assert_eq!(map::data_type(Some(deskferry_format::FieldKind::Dropdown)), "string");
}

mod attributes {
    use deskferry_format::CustomFieldValue;
    use serde_json::json;

    fn v(key: &str, value: &str) -> CustomFieldValue {
        CustomFieldValue { key: key.into(), value: value.into() }
    }

    #[test]
    fn values_go_as_text_not_as_json_text() {
        let got = super::map::custom_attributes(&[
            v("order", "\"ORD-1\""),
            v("seats", "42"),
            v("vip", "true"),
            v("tags list", "[\"a\",\"b\"]"),
            v("gone", "null"),
            v("odd", "not json"),
        ]);
        assert_eq!(
            got,
            json!({"order": "ORD-1", "seats": "42", "vip": "true", "tags_list": "a, b", "odd": "not json"})
        );
    }
}

#[test]
fn what_a_conversation_cannot_hold_is_named_for_the_note() {
    let ds =
        deskferry_fixtures::dataset::Dataset::generate(1, deskferry_fixtures::dataset::Size::Tiny);
    let mut t = ds.tickets[0].clone();
    (t.priority, t.priority_raw, t.due_at, t.follower_ids) = (None, None, None, Vec::new());
    assert!(map::unheld(&t).is_empty());
    t.priority = Some(deskferry_format::model::Priority::Urgent);
    t.due_at = chrono::DateTime::from_timestamp(1_700_000_000, 0);
    t.follower_ids = vec!["7".into(), "9".into()];
    let got = map::unheld(&t);
    assert_eq!(
        got,
        vec![
            ("Priority", "urgent".to_string()),
            ("Due", "2023-11-14T22:13:20+00:00".to_string()),
            ("Followers (source ids)", "7, 9".to_string()),
        ]
    );
    // The source's own name wins.
    t.priority_raw = Some("P1".into());
    assert_eq!(map::unheld(&t)[0], ("Priority", "P1".to_string()));
}
