//! Unit tests on XML samples of our own (shaped after recorded answers).

use super::client::{hmac_sha256, signature};
use super::map;
use super::wire::{self, Ticket};

#[test]
fn hmac_matches_rfc_4231_test_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex::encode(mac),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(signature(b"Jefe", "what do ya want for nothing?").len(), 44);
}

const TICKETS: &str = r#"<br />
<b>Notice</b>: something on line <b>1</b><br />
<?xml version="1.0" encoding="UTF-8"?>
<tickets>
  <ticket id="7" flagtype="0">
    <displayid><![CDATA[ABC-123]]></displayid>
    <departmentid>2</departmentid>
    <statusid>1</statusid>
    <userid>9</userid>
    <subject><![CDATA[Printer & toner]]></subject>
    <creationtime>1700000000</creationtime>
    <lastactivity>not a time</lastactivity>
    <tags>vip customer</tags>
    <watcher staffid="3" name="A"/>
    <note type="ticket" id="11" ticketid="7" creatorstaffid="3" creationdate="1700000100">Private &amp; text</note>
    <posts>
      <post><id>12</id><dateline>1700000000</dateline><userid>9</userid><staffid>0</staffid><ishtml>1</ishtml><contents><![CDATA[<p>Hi</p>]]></contents></post>
      <post><id>13</id><dateline>1700000200</dateline><userid>0</userid><staffid>3</staffid><ishtml>0</ishtml><contents><![CDATA[Reply]]></contents></post>
    </posts>
  </ticket>
</tickets>"#;

#[test]
fn a_ticket_list_with_a_php_notice_and_an_odd_field_is_read_with_warnings() {
    let doc = wire::parse(TICKETS).unwrap();
    assert!(doc.skipped > 0, "the notice is cut off and counted");
    let el = doc.root.records("ticket")[0];
    assert!(el.source.starts_with("<ticket id=\"7\"") && el.source.ends_with("</ticket>"));
    let mut notes = map::notes();
    let t: Ticket = map::read(&mut notes, "tickets", el).unwrap();
    let warnings = notes.take();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("lastactivity"), "{warnings:?}");
    let t = map::ticket(t, &map::Lookups::default(), &el.source);
    assert_eq!(t.tags, ["vip", "customer"], "Classic's tags are one space-separated line");
    assert_eq!(t.subject.as_deref(), Some("Printer & toner"));
    assert_eq!(t.updated_at, None);
    assert_eq!(t.follower_ids, ["3"]);
    assert!(t.raw.contains("<posts>"), "raw is the record's XML verbatim");
    let note: wire::Note = map::read(&mut notes, "comments", el.child("note").unwrap()).unwrap();
    assert_eq!(map::note(note, "7", "").body_text.as_deref(), Some("Private & text"));
    let posts: Vec<_> = el.child("posts").unwrap().all("post").collect();
    let p: wire::Post = map::read(&mut notes, "comments", posts[1]).unwrap();
    let c = map::post(p, "7", "");
    assert_eq!((c.author_id.as_deref(), c.body_text.as_deref()), (Some("3"), Some("Reply")));
}

#[test]
fn field_values_and_statuses_map_by_classic_words() {
    use deskferry_format::model::{FieldKind, TicketStatus};
    assert_eq!(map::field_kind("6"), FieldKind::Dropdown);
    assert_eq!(map::field_kind("11"), FieldKind::Other);
    assert_eq!(map::status("Spam", true), (TicketStatus::Closed, true));
    assert_eq!(map::status("Waiting for parts", true), (TicketStatus::Closed, false));
    let xml = r#"<customfields><customfield customfieldid="5" title="Plan" fieldtype="6" fieldname="plan" isrequired="0"/></customfields>"#;
    let doc = wire::parse(xml).unwrap();
    let mut notes = map::notes();
    let def: wire::FieldDef =
        map::read(&mut notes, "custom_fields", doc.root.records("customfield")[0]).unwrap();
    let opt =
        wire::FieldOption { customfieldoptionid: "501".into(), optionvalue: Some("Gold".into()) };
    let f = map::field(def, vec![opt], "");
    assert_eq!(map::field_value(&f, "Gold").as_deref(), Some("\"501\""));
    assert_eq!(map::field_value(&f, "Silver"), None);
}
