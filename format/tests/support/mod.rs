//! Sample rows for every table: unicode, empty lists, nulls, µs timestamps, custom fields.
#![allow(dead_code, unused_imports, clippy::manual_is_multiple_of)]

use chrono::{DateTime, TimeZone, Utc};
use deskferry_format::*;

mod rebuild;
pub use rebuild::*;

pub fn ts(s: i64, us: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(s, us * 1000).unwrap()
}

pub fn cf(k: &str, v: &str) -> CustomFieldValue {
    CustomFieldValue { key: k.into(), value: v.into() }
}

pub fn user(i: u32) -> User {
    User {
        id: i.to_string(),
        kind: if i % 2 == 0 { UserKind::Agent } else { UserKind::EndUser },
        role_raw: (i % 3 == 0).then(|| "end-user".into()),
        name: Some(format!("Zoë \u{202e}שלום\u{202c} 🚀 {i}")),
        email: if i % 4 == 0 { None } else { Some(format!("User{i}@Example.com")) },
        other_emails: if i % 2 == 0 { vec![] } else { vec!["a@b.c".into(), "ü@ß.de".into()] },
        phone: None,
        organization_id: Some("7".into()),
        group_ids: vec![],
        active: i % 5 != 0,
        suspended: i % 7 == 0,
        is_deleted: false,
        locale: Some("de-DE".into()),
        time_zone: None,
        tags: vec!["vip tag".into(), "".into()],
        custom_fields: vec![
            cf("plan", "\"gold\""),
            cf("seats", "3"),
            cf("multi", "[\"x\",\"y\"]"),
            cf("none", "null"),
        ],
        created_at: Some(ts(1_600_000_000 + i64::from(i), 123_456)),
        updated_at: None,
        raw: format!("{{\"id\":{i},\"name\":\"Zoë\\n\"}}"),
    }
}

pub fn organization(i: u32) -> Organization {
    Organization {
        id: i.to_string(),
        name: format!("Org «{i}»"),
        domains: vec![],
        notes: None,
        tags: vec!["t".into()],
        custom_fields: vec![],
        created_at: None,
        updated_at: Some(ts(0, 1)),
        raw: "{}".into(),
    }
}

pub fn group(i: u32) -> Group {
    Group {
        id: i.to_string(),
        name: "Support 日本".into(),
        kind: GroupKind::Queue,
        description: None,
        is_deleted: i == 2,
        created_at: Some(ts(1_700_000_000, 999_999)),
        raw: "{}".into(),
    }
}

pub fn custom_field(i: u32) -> CustomField {
    CustomField {
        id: i.to_string(),
        entity: FieldEntity::Ticket,
        key: format!("f{i}"),
        title: "Färbe".into(),
        field_type: "tagger".into(),
        kind: Some(FieldKind::Dropdown),
        multiple: None,
        options: if i % 2 == 0 {
            vec![]
        } else {
            vec![
                FieldOption { value: "a".into(), label: "Ä".into() },
                FieldOption { value: "b".into(), label: "".into() },
            ]
        },
        required: false,
        active: true,
        raw: "{\"x\":[1,2]}".into(),
    }
}

pub fn ticket(i: u32) -> Ticket {
    Ticket {
        id: i.to_string(),
        number: Some(format!("#{i}")),
        subject: if i % 3 == 0 {
            None
        } else {
            Some(format!("Help ✉ <script>alert({i})</script>"))
        },
        status: TicketStatus::OnHold,
        status_raw: Some("hold".into()),
        priority: if i % 2 == 0 { None } else { Some(Priority::Urgent) },
        priority_raw: None,
        ticket_type: None,
        channel: Some("email".into()),
        requester_id: Some("1".into()),
        submitter_id: None,
        assignee_id: None,
        group_id: Some("2".into()),
        organization_id: None,
        cc_ids: vec!["3".into(), "4".into()],
        follower_ids: vec![],
        other_requester_ids: vec![],
        tags: vec![],
        custom_fields: vec![cf("k", "{\"nested\":true}")],
        created_at: Some(ts(1_650_000_000, 42)),
        updated_at: Some(ts(1_650_000_001, 0)),
        solved_at: None,
        due_at: Some(ts(-86_400, 500_000)),
        is_deleted: false,
        is_spam: i % 11 == 0,
        raw: "{}".into(),
    }
}

pub fn comment(i: u32) -> Comment {
    Comment {
        id: i.to_string(),
        ticket_id: (i / 3).to_string(),
        author_id: None,
        public: i % 2 == 0,
        body_html: Some("<p>مرحبا</p>".into()),
        body_text: Some(String::new()),
        channel: None,
        created_at: Some(ts(1_650_000_000, 1)),
        attachment_ids: if i % 2 == 0 { vec![] } else { vec![format!("a{i}")] },
        raw: "{}".into(),
    }
}

pub fn attachment(i: u32, sha: Option<String>, state: AttachmentState) -> Attachment {
    Attachment {
        id: format!("a{i}"),
        ticket_id: Some("1".into()),
        comment_id: Some(i.to_string()),
        article_id: None,
        file_name: "../../etc/passwd ☃.pdf".into(),
        content_type: Some("application/pdf".into()),
        size: Some(i64::from(i) * 10),
        sha256: sha,
        inline: false,
        state,
        error: None,
        raw: "{}".into(),
    }
}

pub fn kb(i: u32) -> KbItem {
    KbItem {
        id: format!("{i}@fr"),
        parent_id: None,
        locale: Some("fr".into()),
        translation_of: Some(i.to_string()),
        title: "Écrire".into(),
        body_html: None,
        author_id: None,
        draft: true,
        position: Some(-3),
        labels: vec!["l1".into()],
        created_at: None,
        updated_at: None,
        raw: "{}".into(),
    }
}

pub fn tombstone(i: u32) -> Tombstone {
    Tombstone {
        entity: "tickets".into(),
        id: i.to_string(),
        deleted_at: (i % 2 == 0).then(|| ts(1_700_000_000, 7)),
    }
}

pub fn meta(id: &str) -> BundleMeta {
    let mut m = BundleMeta::new(id, "dataset", "acme.example", ts(1_790_000_000, 0));
    m.purge_after = ts(4_000_000_000, 0);
    m.tool_version = "deskferry-format test".into();
    m.cursors.insert("tickets".into(), "cursor-1".into());
    m
}

/// Keys of one test: a fresh keygen in a temporary directory, loaded.
pub struct Keys {
    pub _dir: tempfile::TempDir,
    pub paths: KeygenPaths,
    pub recipients: Recipients,
    pub identities: Identities,
    pub signing: SigningKey,
    pub signer: SignerKey,
}

/// Generates and loads a key set.
pub fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let paths = keygen(&dir.path().join("k")).unwrap();
    Keys {
        recipients: Recipients::from_file(&paths.recipient).unwrap(),
        identities: Identities::from_file(&paths.identity).unwrap(),
        signing: SigningKey::from_file(&paths.sign_key).unwrap(),
        signer: SignerKey::from_file(&paths.sign_pub).unwrap(),
        paths,
        _dir: dir,
    }
}
