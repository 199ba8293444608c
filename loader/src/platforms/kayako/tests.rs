//! The Kayako target's pure parts: first lines written and read back, statuses, field types,
//! blocked HTML, options.

use chrono::TimeZone;
use deskferry_format::model::{FieldKind, TicketStatus};

use super::map::{self, Header};

#[test]
fn a_first_line_keeps_author_time_and_reference_and_reads_back() {
    let at = chrono::Utc.with_ymd_and_hms(2023, 4, 5, 6, 7, 8).unwrap();
    let h = Header {
        name: Some("Ann <& Co>".into()),
        email: Some("ann@example.org".into()),
        author: Some("1042".into()),
        at: Some(at),
        ticket_created: Some(at),
        was_public: true,
        extra: vec![("CC".into(), "#7, source user 9".into())],
        reference: "deskferry-abc-c12".into(),
    };
    let line = map::header_line(&h);
    assert!(line.contains("Ann &lt;&amp; Co&gt; &lt;ann@example.org&gt;"), "{line}");
    let body = format!("{line}<p>Hello</p>");
    let back = map::read_header(&body).expect("a first line");
    assert_eq!(back.author.as_deref(), Some("1042"));
    assert_eq!(back.at, Some(at));
    assert_eq!(back.ticket_created, Some(at));
    assert!(back.was_public);
    assert_eq!(back.reference, "deskferry-abc-c12");
    assert!(map::read_header("<p>no line of ours</p>").is_none());
}

#[test]
fn statuses_field_types_and_blocked_html_are_kayakos() {
    assert_eq!(map::status_id(None, TicketStatus::OnHold), 3);
    assert_eq!(map::status_id(Some("solved"), TicketStatus::Open), 4);
    assert_eq!(map::status_id(Some("closed"), TicketStatus::Open), 5);
    assert_eq!(map::field_type(Some(FieldKind::Multiselect), true), "CHECKBOX");
    assert_eq!(map::field_type(Some(FieldKind::Dropdown), false), "TEXT");
    assert_eq!(map::field_type(Some(FieldKind::Datetime), false), "TEXT");
    assert_eq!(map::field_key("Order No."), "order_no_");
    assert_eq!(map::blocked("<p>x</p><SCRIPT>1</SCRIPT><iframe/>"), ["script", "iframe"]);
    assert!(map::blocked("<p>fine</p>").is_empty());
    assert_eq!(map::locale(None), "en-us");
    assert_eq!(map::locale(Some("de")), "de");
}
