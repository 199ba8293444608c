//! Unit tests of the model → REST 2 mapping (headers, markers, file names, values).

use chrono::{TimeZone, Utc};
use deskferry_format::model::Comment;

use super::map::{
    body, decode_id, encode_id, file_name, message, message_losses, name_loss, parse_body,
};
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
fn file_names_rest2_accepts_and_rt_decodes_back() {
    assert_eq!(file_name("report.pdf"), "report.pdf");
    assert_eq!(file_name(""), "unnamed");
    assert_eq!(file_name("0"), "=?UTF-8?B?MA==?=", "Perl-false \"0\" goes encoded");
    assert_eq!(file_name("åäö.txt"), "=?UTF-8?B?w6XDpMO2LnR4dA==?=");
    assert_eq!(
        file_name("a\nb"),
        "=?UTF-8?B?YQpi?=",
        "control characters never reach a header raw"
    );
    assert_eq!(
        file_name("=?UTF-8?B?MA==?="),
        "=?UTF-8?B?PT9VVEYtOD9CP01BPT0/PQ==?=",
        "a name that reads as an encoded word is encoded, so RT decodes it to itself"
    );
    assert_eq!(name_loss("åäö.txt"), None);
    assert_eq!(name_loss("0"), None);
    assert!(name_loss("").unwrap().contains("unnamed"));
    assert!(name_loss("dir/x.txt").unwrap().contains("last '/'"));
    assert!(name_loss(&"x".repeat(256)).is_some());
}

fn file(name: &str, content_type: Option<&str>, bytes: &'static [u8]) -> AttachmentData {
    AttachmentData {
        id: name.into(),
        file_name: name.into(),
        content_type: content_type.map(String::from),
        sha256: String::new(),
        inline: false,
        bytes: bytes.into(),
    }
}

#[test]
fn empty_files_are_posted_and_text_files_keep_their_bytes() {
    let mut c = comment(None, Some("hi"));
    c.attachments = vec![
        file("a.bin", None, b"\x00\x01"),
        file("empty.txt", Some("text/plain"), b""),
        file("latin1.txt", Some("text/plain"), b"caf\xe9\n"),
        file("utf8.html", Some("text/html; charset=windows-1252"), "é".as_bytes()),
    ];
    let m = message(&c, None);
    let list = m["Attachments"].as_array().unwrap();
    assert_eq!(list.len(), 4, "every file is posted, the empty one too");
    assert_eq!(list[0]["FileName"], "a.bin");
    assert_eq!(list[0]["FileType"], "application/octet-stream");
    assert_eq!(list[0]["FileContent"], "AAE=");
    assert_eq!(list[1]["FileContent"], "\n", "zero bytes, in a form REST 2 takes");
    assert_eq!(list[1]["FileType"], "text/plain; charset=utf-8");
    assert_eq!(list[2]["FileType"], "text/plain; charset=iso-8859-1");
    assert_eq!(list[3]["FileType"], "text/html; charset=utf-8");
}

#[test]
fn what_rt_cannot_keep_of_a_message_is_named() {
    let plain = comment(None, Some("just text"));
    assert!(message_losses(&plain).is_empty());
    let both = comment(Some("<p>x <img src=\"CID:img1@x\"></p>"), Some("x"));
    let losses = message_losses(&both);
    assert_eq!(losses.len(), 2, "{losses:?}");
    assert!(losses[0].contains("text/plain alternative"));
    assert!(losses[1].contains("Content-ID"));
    let mut named = comment(Some("<p>x</p>"), None);
    named.attachments = vec![file("", None, b"x")];
    assert!(message_losses(&named)[0].contains("unnamed"));
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

/// RT refuses an all-digit custom field name (it takes it for an id): Zendesk's ticket fields,
/// whose key is their numeric id, are named by their title.
#[test]
fn field_names_are_titles_unless_rt_refuses_them() {
    use super::directory::field_name;
    let ds = blank_field();
    let named = |key: &str, title: &str| {
        field_name(&deskferry_format::CustomField {
            key: key.into(),
            title: title.into(),
            ..ds.clone()
        })
    };
    assert_eq!(named("3001", "Ticket text"), "Ticket text");
    assert_eq!(named("3001", " Priority level "), "Priority level");
    assert_eq!(named("user_text", "  "), "user_text");
    assert_eq!(named("3001", "42"), "Field 3001");
    assert_eq!(named("Severity", "Severity"), "Severity");
}

fn blank_field() -> deskferry_format::CustomField {
    deskferry_format::CustomField {
        id: "1".into(),
        entity: deskferry_format::FieldEntity::Ticket,
        key: String::new(),
        title: String::new(),
        field_type: "text".into(),
        kind: None,
        multiple: None,
        options: vec![],
        required: false,
        active: true,
        raw: "{}".into(),
    }
}
