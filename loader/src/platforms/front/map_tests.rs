//! Unit tests of the model → Front conversion (pure; JSON compared as Front would receive it).

use std::collections::HashMap;

use bytes::Bytes;
use deskferry_format::{Comment, Organization, Ticket, TicketStatus, User, UserKind};
use serde_json::json;

use super::*;

fn ticket() -> MappedTicket {
    let t = Ticket {
        number: Some("42".into()),
        subject: Some("Printer on fire".into()),
        status: TicketStatus::Solved,
        requester_id: Some("100".into()),
        created_at: Some("2020-01-02T03:04:05Z".parse().unwrap()),
        raw: "{}".into(),
        ..Ticket::blank("42")
    };
    MappedTicket {
        ticket: t,
        subject: "Printer on fire".into(),
        tags: vec!["vip".into(), "migrated".into()],
        status: Some("archived".into()),
        priority: None,
        group: None,
        assignee: Some("tea_2".into()),
        requester: Author {
            target_id: Some("crd_1".into()),
            email: Some("cust@example.org".into()),
            name: Some("Cüstomer".into()),
            is_agent: false,
            defaulted: false,
        },
        fields: vec![("Priority".into(), vec!["high".into()])],
        note_fields: vec![("Region".into(), "EMEA".into())],
        external_id: "zd1-t42".into(),
        emails: Default::default(),
    }
}

fn comment(public: bool, agent: bool) -> MappedComment {
    let c = Comment {
        id: "7".into(),
        ticket_id: "42".into(),
        author_id: Some(if agent { "5" } else { "100" }.into()),
        public,
        body_html: Some("<p>x</p>".into()),
        body_text: None,
        channel: None,
        created_at: Some("2020-01-02T03:04:05Z".parse().unwrap()),
        attachment_ids: vec![],
        raw: "{}".into(),
    };
    MappedComment {
        comment: c.clone(),
        author: if agent {
            Author {
                target_id: Some("tea_2".into()),
                email: Some("old-agent@source.example".into()),
                name: Some("Sam Agent".into()),
                is_agent: true,
                defaulted: false,
            }
        } else {
            Author {
                target_id: Some("crd_1".into()),
                email: Some("cust@example.org".into()),
                name: Some("Cüstomer".into()),
                is_agent: false,
                defaulted: false,
            }
        },
        body_html: "<p>Help <b>now</b> &amp; then</p><p>second</p>".into(),
        public,
        created_at: c.created_at,
        attachments: vec![],
        external_id: "zd1-c7".into(),
    }
}

fn teammates() -> HashMap<String, String> {
    HashMap::from([("tea_2".to_string(), "agent@example.com".to_string())])
}

fn ctx(t: &HashMap<String, String>) -> Ctx<'_> {
    Ctx { address: "support@front.example", teammates: t, max_attachment_bytes: 10 }
}

#[test]
fn inbound_first_message_carries_thread_tags_assignee_and_time() {
    let tm = teammates();
    let v = serde_json::to_value(import_message(
        &ticket(),
        &comment(true, false),
        true,
        &[],
        &ctx(&tm),
    ))
    .unwrap();
    assert_eq!(v["sender"], json!({"handle": "cust@example.org", "name": "Cüstomer"}));
    assert_eq!(v["to"], json!(["support@front.example"]));
    assert_eq!(v["created_at"], 1_577_934_245);
    assert_eq!(v["external_id"], "zd1-c7");
    assert_eq!(v["body_format"], "html");
    assert_eq!(v["tags"], json!(["vip", "migrated"]));
    assert_eq!(v["assignee_id"], "tea_2");
    assert_eq!(
        v["metadata"],
        json!({"thread_ref": "zd1-t42", "is_inbound": true, "is_archived": true, "should_skip_rules": true})
    );
}

#[test]
fn agent_reply_is_outbound_from_the_teammate_to_the_requester() {
    let tm = teammates();
    let v = serde_json::to_value(import_message(
        &ticket(),
        &comment(true, true),
        false,
        &[],
        &ctx(&tm),
    ))
    .unwrap();
    assert_eq!(v["sender"], json!({"handle": "agent@example.com", "author_id": "tea_2"}));
    assert_eq!(v["to"], json!(["cust@example.org"]));
    assert_eq!(v["metadata"]["is_inbound"], false);
    assert!(v.get("tags").is_none() && v.get("assignee_id").is_none(), "only the first import");
}

#[test]
fn open_tickets_are_not_archived_and_spam_needs_a_patch() {
    let mut t = ticket();
    t.status = Some("open".into());
    let tm = teammates();
    let m = import_message(&t, &comment(true, false), true, &[], &ctx(&tm));
    assert!(!m.metadata.is_archived);
    assert!(conversation_update(&t, &[], false).status.is_none());
    t.status = None;
    t.ticket.is_spam = true;
    assert_eq!(conversation_update(&t, &[], false).status.as_deref(), Some("spam"));
    assert!(stub_message(&t, &ctx(&tm)).metadata.is_archived);
}

#[test]
fn oversized_attachments_are_refused_and_named_in_the_body() {
    let mut c = comment(true, false);
    let file = |id: &str, n: usize| AttachmentData {
        id: id.into(),
        file_name: format!("{id}.bin"),
        content_type: None,
        sha256: String::new(),
        inline: false,
        bytes: Bytes::from(vec![0u8; n]),
    };
    c.attachments = vec![file("a", 10), file("b", 11)];
    let (ok, refused) = split_attachments(&c.attachments, 10);
    assert_eq!(ok.len(), 1);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, "b");
    let up = uploads(&ok);
    assert_eq!(
        (up[0].file_name.as_str(), up[0].content_type.as_str()),
        ("a.bin", "application/octet-stream")
    );
    let tm = teammates();
    let m = import_message(&ticket(), &c, true, &refused, &ctx(&tm));
    assert!(m.body.contains("b.bin (11 bytes)"), "{}", m.body);
    let n = note(&c, &refused);
    assert!(n.body.contains("b.bin (11 bytes)"));
}

#[test]
fn notes_name_author_and_time_and_end_with_a_marker() {
    let c = comment(false, true);
    let n = note(&c, &[]);
    assert_eq!(n.author_id.as_deref(), Some("tea_2"));
    assert!(n.body.starts_with(
        "_Private note by Sam Agent <old-agent@source.example> at 2020-01-02 03:04:05 UTC_"
    ));
    assert!(n.body.contains("Help now & then\nsecond"), "{}", n.body);
    assert_eq!(parse_marker(&n.body).as_deref(), Some("zd1-c7"));
    let by_user = note(&comment(false, false), &[]);
    assert_eq!(by_user.author_id, None, "only teammates author comments");
    assert_eq!(parse_marker("no marker here"), None);
    assert_eq!(parse_marker("[df:]"), None);
}

#[test]
fn fields_go_to_front_fields_by_name_typed_and_the_rest_into_a_note() {
    let defs: Vec<CustomField> = serde_json::from_value(json!([
        {"id": "fld_1", "name": "Priority", "type": "enum", "values": [{"value": "high", "label": "High"}]},
        {"id": "fld_2", "name": "Seats", "type": "number"},
        {"id": "fld_3", "name": "VIP", "type": "boolean"},
    ]))
    .unwrap();
    let mut t = ticket();
    t.fields.push(("fld_2".into(), vec!["12".into()]));
    t.fields.push(("vip".into(), vec!["true".into()]));
    let u = conversation_update(&t, &defs, false);
    assert_eq!(
        serde_json::to_value(&u).unwrap(),
        json!({"custom_fields": {"Priority": "high", "Seats": 12.0, "VIP": true}})
    );
    let n = fields_note(&t).unwrap();
    assert!(n.body.contains("**Region**: EMEA"));
    assert_eq!(parse_marker(&n.body).as_deref(), Some("zd1-t42-fields"));
    assert_eq!(field_value("string", "[\"a\",\"b\"]"), json!("a, b"));
}

fn user(email: Option<&str>) -> MappedUser {
    MappedUser {
        user: User {
            id: "100".into(),
            kind: UserKind::EndUser,
            role_raw: None,
            name: Some("Cüstomer".into()),
            email: email.map(str::to_string),
            other_emails: vec!["Other@Example.org".into()],
            phone: Some("+15550100".into()),
            organization_id: None,
            group_ids: vec![],
            active: true,
            suspended: false,
            is_deleted: false,
            locale: None,
            time_zone: None,
            tags: vec![],
            custom_fields: vec![CustomFieldValue { key: "plan".into(), value: "\"pro\"".into() }],
            created_at: None,
            updated_at: None,
            raw: "{}".into(),
        },
        organization: None,
        matched_agent: None,
    }
}

#[test]
fn contacts_get_email_or_a_custom_handle() {
    let defs: Vec<CustomField> =
        serde_json::from_value(json!([{"id": "fld_9", "name": "Plan", "type": "string"}])).unwrap();
    let u = user(Some("cust@example.org"));
    let h = contact_handles(&u);
    assert_eq!(handle_alias(&h.primary), "alt:email:cust@example.org");
    let mut all = vec![h.primary.clone()];
    all.extend(h.extra.clone());
    let v = serde_json::to_value(contact(&u, &defs, all)).unwrap();
    assert_eq!(
        v["handles"],
        json!([{"handle": "cust@example.org", "source": "email"},
               {"handle": "Other@Example.org", "source": "email"},
               {"handle": "+15550100", "source": "phone"}])
    );
    assert_eq!(v["custom_fields"], json!({"Plan": "pro"}));
    assert!(v.get("description").is_none());
    assert!(h.refused.is_empty());
    let bare = contact_handles(&user(None));
    assert_eq!(
        bare.primary,
        Handle { handle: "deskferry:user:100".into(), source: "custom".into() }
    );
    assert_eq!(handle_alias(&bare.primary), "alt:custom:deskferry:user:100");
    assert_eq!(contact(&user(None), &[], vec![]).description.as_deref(), Some("plan: pro"));
}

#[test]
fn handles_front_cannot_take_are_named_without_their_value() {
    let mut u = user(Some("cust@example.org"));
    u.user.other_emails = vec!["CUST@example.org".into(), "b@x.y".into(), "B@X.Y".into()];
    u.user.phone = Some("555 0100".into());
    let h = contact_handles(&u);
    assert_eq!(h.extra, vec![Handle { handle: "b@x.y".into(), source: "email".into() }]);
    assert_eq!(h.refused.len(), 1);
    assert!(h.refused[0].contains("country code") && !h.refused[0].contains("555"), "{h:?}");
    let taken =
        handle_taken(&Handle { handle: "+15550100".into(), source: "phone".into() }, "crd_7");
    assert!(taken.starts_with("phone handle not added") && taken.contains("crd_7"), "{taken}");
    assert!(!taken.contains("5550100"));
}

#[test]
fn accounts_carry_an_external_id_and_notes() {
    let org = Organization {
        id: "1001".into(),
        name: "Acme".into(),
        domains: vec!["acme.test".into()],
        notes: Some("Roadrunner supplies".into()),
        tags: vec![],
        custom_fields: vec![],
        created_at: None,
        updated_at: None,
        raw: "{}".into(),
    };
    let v = serde_json::to_value(account(&org, &[])).unwrap();
    assert_eq!(
        v,
        json!({"name": "Acme", "description": "Roadrunner supplies", "domains": ["acme.test"], "external_id": "deskferry-org-1001"})
    );
    // The spelling Front documents for an account's external id.
    assert_eq!(account_alias(&org), "alt:ext_id:deskferry-org-1001");
}

#[test]
fn html_to_text_drops_tags_and_decodes_entities() {
    assert_eq!(html_to_text("<p>a&lt;b&gt;</p><script>x</script><br/>c&nbsp;d"), "a<b>\nx\nc d");
    assert_eq!(html_to_text("plain"), "plain");
    assert_eq!(html_to_text("broken <b"), "broken <b");
}

#[test]
fn front_times_round_trip_to_the_millisecond() {
    let t = timestamp(1_698_943_401.378).unwrap();
    assert_eq!(t.timestamp_millis(), 1_698_943_401_378);
    assert_eq!(unix(None, Some(t)), 1_698_943_401);
    assert!(timestamp(f64::NAN).is_none());
}

#[test]
fn upload_names_lose_control_characters_only() {
    assert_eq!(upload_name("evil\r\nname.txt"), "evil  name.txt");
    assert_eq!(upload_name("../../etc/passwd"), "../../etc/passwd");
    assert_eq!(upload_name("\u{202e}fdp.exe"), "\u{202e}fdp.exe");
    assert_eq!(upload_name("\n"), "attachment");
}
