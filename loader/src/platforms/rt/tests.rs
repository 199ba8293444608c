//! Unit tests of the model → REST 2 mapping (headers, markers, file names, values).

use chrono::{TimeZone, Utc};
use deskferry_format::model::Comment;

use super::map::{body, cf_values, decode_id, encode_id, file_name, message, parse_body};
use crate::target::{AttachmentData, Author, MappedComment};

fn comment(html: Option<&str>, text: Option<&str>) -> MappedComment {
    MappedComment {
        comment: Comment {
            id: "75".into(),
            ticket_id: "1".into(),
            author_id: Some("27".into()),
            public: true,
            body_html: html.map(String::from),
            body_text: text.map(String::from),
            channel: None,
            created_at: Some(Utc.with_ymd_and_hms(2024, 3, 9, 3, 5, 42).unwrap()),
            attachment_ids: Vec::new(),
            raw: String::new(),
        },
        author: Author {
            target_id: None,
            email: Some("a&b@example.com".into()),
            name: Some("Zoë <Z>".into()),
            is_agent: false,
            defaulted: false,
        },
        body_html: html.unwrap_or("").to_string(),
        public: true,
        created_at: Some(Utc.with_ymd_and_hms(2024, 3, 9, 3, 5, 42).unwrap()),
        attachments: Vec::new(),
        external_id: "b1:comment:75 \"x\"]".into(),
    }
}

#[test]
fn the_header_keeps_time_and_marker_and_strips_back_to_the_body() {
    let c = comment(Some("<p>Grüße</p>"), Some("Grüße"));
    let (posted, ct) = body(&c, None);
    assert_eq!(ct, "text/html", "HTML stays HTML");
    assert!(posted.contains("written 2024-03-09 03:05:42 UTC"));
    let (ext, rest) = parse_body(&posted).unwrap();
    assert_eq!(ext, encode_id(&c.external_id));
    assert_eq!(rest, "<p>Grüße</p>");

    let t = comment(None, Some("line one\n\nline two"));
    let (posted, ct) = body(&t, Some(&t.author));
    assert_eq!(ct, "text/plain", "plain text stays plain text");
    assert!(posted.starts_with("[deskferry b1:comment:75%20%22x%22%5D] written 2024-03-09 03:05:42 UTC by Zoë <Z> <a&b@example.com>\n\n"));
    assert_eq!(parse_body(&posted).unwrap().1, "line one\n\nline two");
}

#[test]
fn an_unknown_author_is_escaped_in_html() {
    let c = comment(Some("<p>x</p>"), None);
    let (posted, _) = body(&c, Some(&c.author));
    assert!(posted.contains("by Zoë &lt;Z&gt; &lt;a&amp;b@example.com&gt;"), "{posted}");
    assert!(parse_body("no header here").is_none());
}

#[test]
fn markers_use_a_quote_free_alphabet() {
    assert_eq!(encode_id("bundle-1:ticket:42"), "bundle-1:ticket:42");
    assert_eq!(encode_id("a'b\"c]d e"), "a%27b%22c%5Dd%20e");
    for id in ["plain:1", "ümlaut ] \"q\" 100%", "%zz", "%"] {
        assert_eq!(decode_id(&encode_id(id)), id);
    }
    assert_eq!(decode_id("%zz%"), "%zz%", "not an escape: kept");
}

#[test]
fn file_names_rest2_accepts() {
    assert_eq!(file_name("report.pdf"), "report.pdf");
    assert_eq!(file_name(""), "unnamed");
    assert_eq!(file_name("0"), "0_");
    assert_eq!(file_name("åäö.txt"), "=?UTF-8?B?w6XDpMO2LnR4dA==?=");
    assert_eq!(
        file_name("a\nb"),
        "=?UTF-8?B?YQpi?=",
        "control characters never reach a header raw"
    );
}

#[test]
fn empty_files_are_left_out_of_the_message() {
    let mut c = comment(None, Some("hi"));
    let file = |name: &str, bytes: &'static [u8]| AttachmentData {
        id: name.into(),
        file_name: name.into(),
        content_type: None,
        sha256: String::new(),
        inline: false,
        bytes: bytes.into(),
    };
    c.attachments = vec![file("a.bin", b"\x00\x01"), file("empty.txt", b"")];
    let m = message(&c, None);
    let list = m["Attachments"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["FileName"], "a.bin");
    assert_eq!(list[0]["FileType"], "application/octet-stream");
    assert_eq!(list[0]["FileContent"], "AAE=");
}

#[test]
fn custom_field_values_from_json_text() {
    assert_eq!(cf_values("\"red\""), vec!["red"]);
    assert_eq!(cf_values("[\"a\",\"b\"]"), vec!["a", "b"]);
    assert_eq!(cf_values("null"), Vec::<String>::new());
    assert_eq!(cf_values("3"), vec!["3"]);
    assert_eq!(cf_values("not json"), vec!["not json"]);
}

/// RT custom field types come from the normalised kind, whatever vendor named the type.
#[test]
fn rt_field_types_follow_the_kind_not_the_source_type_name() {
    use deskferry_format::model::FieldKind;

    use super::directory::rt_type;
    assert_eq!(rt_type(FieldKind::Dropdown), ("Select", false));
    assert_eq!(rt_type(FieldKind::Multiselect), ("Select", true));
    assert_eq!(rt_type(FieldKind::Textarea), ("Text", false));
    assert_eq!(rt_type(FieldKind::Date), ("Date", false));
    assert_eq!(rt_type(FieldKind::Datetime), ("DateTime", false));
    for k in [FieldKind::Text, FieldKind::Integer, FieldKind::Checkbox, FieldKind::Regexp] {
        assert_eq!(rt_type(k), ("Freeform", false), "{k:?}");
    }
}
