//! Resolution on a generated dataset's rows (agents by email, defaults, groups, fields, options).

use std::collections::HashMap;

use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_format::UserKind;

use super::*;
use crate::mapping::Mapping;
use crate::target::{Capabilities, Inventory, TargetAgent, TargetField, TargetGroup};

fn index(d: &Dataset) -> BundleIndex {
    BundleIndex {
        agents: d.users.iter().filter(|u| u.kind == UserKind::Agent).cloned().collect(),
        groups: d.groups.iter().map(|g| (g.id.clone(), g.clone())).collect(),
        fields: d.custom_fields.iter().map(|f| (f.key.clone(), f.clone())).collect(),
        source: "dataset:x".into(),
        statuses: d
            .tickets
            .iter()
            .map(|t| {
                let word = crate::filter::status_word(t.status).to_string();
                (t.status_raw.clone().unwrap_or_else(|| word.clone()), word)
            })
            .collect(),
    }
}

#[test]
fn agents_match_by_email_case_insensitively_and_the_rest_default() {
    let d = Dataset::generate(1, Size::Tiny);
    let idx = index(&d);
    let active = d
        .users
        .iter()
        .find(|u| {
            u.kind == UserKind::Agent
                && u.active
                && !u.suspended
                && !u.is_deleted
                && u.email.is_some()
        })
        .unwrap();
    let gone = d
        .users
        .iter()
        .find(|u| u.kind == UserKind::Agent && (u.is_deleted || !u.active))
        .expect("dataset has a deleted/inactive agent");
    let inv = Inventory {
        agents: vec![
            TargetAgent {
                id: "tea_def".into(),
                email: "Default@Target.example".into(),
                name: "D".into(),
                active: true,
            },
            TargetAgent {
                id: "tea_a".into(),
                email: active.email.as_ref().unwrap().to_uppercase(),
                name: "A".into(),
                active: true,
            },
        ],
        groups: vec![TargetGroup { id: "inb_1".into(), name: d.groups[0].name.to_lowercase() }],
        ticket_fields: vec![],
        statuses: vec!["open".into(), "archived".into()],
    };
    let text = "[agents]\ndefault = \"default@target.example\"\n";
    let m = Mapping::parse(text, std::path::Path::new("m")).unwrap();
    let caps = Capabilities::default();
    let r = Resolver::new(&idx, &m, &inv, &caps);
    let hit = r.agent_for(Some(active));
    assert_eq!(hit.agent.unwrap().id, "tea_a");
    assert!(!hit.defaulted);
    let miss = r.agent_for(Some(gone));
    assert!(miss.defaulted);
    assert_eq!(miss.agent.unwrap().id, "tea_def");
    // An explicit override wins over the email match.
    let text = format!(
        "[agents]\ndefault = \"tea_a\"\n[agents.map]\n{:?} = \"tea_def\"\n",
        active.email.as_ref().unwrap()
    );
    let m2 = Mapping::parse(&text, std::path::Path::new("m")).unwrap();
    let r2 = Resolver::new(&idx, &m2, &inv, &caps);
    assert_eq!(r2.agent_for(Some(active)).agent.unwrap().id, "tea_def");
    // Groups by name, case-insensitively; statuses by synonym.
    assert_eq!(r.group_for(Some(&d.groups[0].id)).unwrap().id, "inb_1");
    assert_eq!(r.auto_status("solved").as_deref(), Some("archived"));
    assert_eq!(r.auto_status("pending").as_deref(), Some("open"));
}

#[test]
fn tickets_get_options_fields_and_notes() {
    let d = Dataset::generate(1, Size::Tiny);
    let idx = index(&d);
    let t = d
        .tickets
        .iter()
        .find(|t| !t.custom_fields.is_empty() && t.custom_fields.iter().any(|c| c.value != "null"))
        .expect("a ticket with field values");
    let cf = t.custom_fields.iter().find(|c| c.value != "null").unwrap();
    let def = d.custom_fields.iter().find(|f| f.key == cf.key).unwrap();
    let inv = Inventory {
        agents: vec![TargetAgent {
            id: "tea_1".into(),
            email: "a@x".into(),
            name: "A".into(),
            active: true,
        }],
        groups: vec![],
        ticket_fields: vec![TargetField {
            id: "fld_1".into(),
            name: def.title.to_uppercase(),
            field_type: "string".into(),
            options: vec![],
        }],
        statuses: vec![],
    };
    let text = "[options]\nold_id_in_subject = true\nstatus_as_tag = true\nmigration_tag = \"moved\"\ncustom_fields_note = \"all\"\n";
    let m = Mapping::parse(text, std::path::Path::new("m")).unwrap();
    let caps = Capabilities::default();
    let r = Resolver::new(&idx, &m, &inv, &caps);
    let mt = r.map_ticket(t, &Cast::of(&d.users), true);
    assert!(mt.subject.starts_with(&format!("[#{}] ", t.number.as_deref().unwrap_or(&t.id))));
    assert!(mt.tags.contains(&"moved".to_string()));
    assert!(mt.tags.contains(&"deskferry-demo".to_string()));
    assert!(mt.tags.iter().any(|x| x.starts_with("status:")));
    assert!(mt.fields.iter().any(|(n, _)| n == &def.title.to_uppercase()), "{:?}", mt.fields);
    assert!(
        mt.note_fields.iter().any(|(n, _)| n == &def.title),
        "all mode also notes mapped fields"
    );
    assert_eq!(mt.external_id, r.ticket_external_id(&t.id));
    assert_ne!(r.ticket_external_id("1"), r.comment_external_id("1"));
}

#[test]
fn defaulted_author_name_is_escaped_into_the_body() {
    let d = Dataset::generate(1, Size::Tiny);
    let idx = index(&d);
    let mut cast = Cast::of(&d.users);
    let c = d
        .comments
        .iter()
        .find(|c| c.author_id.as_ref().is_some_and(|a| cast.users[a].kind == UserKind::Agent))
        .unwrap();
    let author = c.author_id.clone().unwrap();
    cast.users.get_mut(&author).unwrap().name = Some("<b>Mallory</b>".into());
    cast.users.get_mut(&author).unwrap().email = Some("nobody@nowhere.example".into());
    let inv = Inventory {
        agents: vec![TargetAgent {
            id: "tea_1".into(),
            email: "a@x".into(),
            name: "A".into(),
            active: true,
        }],
        ..Default::default()
    };
    let m = Mapping::default();
    let caps = Capabilities::default();
    let r = Resolver::new(&idx, &m, &inv, &caps);
    let mc = r.map_comment(c, vec![], &cast);
    assert!(mc.author.defaulted);
    assert_eq!(mc.author.target_id.as_deref(), Some("tea_1"));
    assert!(
        mc.body_html
            .starts_with("<p><em>Originally written by &lt;b&gt;Mallory&lt;/b&gt;</em></p>"),
        "{}",
        &mc.body_html[..80.min(mc.body_html.len())]
    );
}

#[test]
fn starting_mapping_parses_back() {
    let d = Dataset::generate(1, Size::Tiny);
    let mut idx = index(&d);
    // One word of the source for several canonical statuses (Zendesk's deleted tickets were
    // solved or closed; `small` has both): one key at most, never twice.
    for (raw, word) in
        [("deleted", "solved"), ("deleted", "closed"), ("held", "open"), ("held", "solved")]
    {
        idx.statuses.insert((raw.into(), word.into()));
    }
    let inv = Inventory {
        agents: vec![TargetAgent {
            id: "tea_1".into(),
            email: "a@x".into(),
            name: "A".into(),
            active: true,
        }],
        groups: vec![TargetGroup { id: "inb_1".into(), name: d.groups[0].name.clone() }],
        ticket_fields: vec![],
        statuses: vec!["open".into(), "archived".into()],
    };
    let text = crate::mapping::starting_mapping(&idx, &inv, &Capabilities::default(), "front");
    let m = Mapping::parse(&text, std::path::Path::new("generated")).unwrap();
    assert_eq!(m.agents.default.as_deref(), Some("a@x"));
    assert_eq!(m.status.get("solved").map(String::as_str), Some("archived"));
    // Mapped alike: one line. Mapped differently: a comment, the loader decides per ticket.
    assert_eq!(m.status.get("deleted").map(String::as_str), Some("archived"));
    assert_eq!(m.status.get("held"), None, "{text}");
    assert!(
        text.contains(
            "# \"held\": mapped by its canonical status (open → open, solved → archived)"
        ),
        "{text}"
    );
    assert!(!m.fields.is_empty());
}

#[test]
fn field_values_keep_each_value_of_a_multi_value_field() {
    assert_eq!(field_values("\"red\""), vec!["red"]);
    assert_eq!(field_values("[\"a, b\",\"c\"]"), vec!["a, b", "c"], "never joined");
    assert_eq!(field_values("[\"a\",null,3]"), vec!["a", "3"]);
    assert_eq!(field_values("null"), Vec::<String>::new());
    assert_eq!(field_values("3"), vec!["3"]);
    assert_eq!(field_values("not json"), vec!["not json"]);
}

/// An RT-like target: its own statuses (rejected among them), fields it can create.
fn rt_like(d: &Dataset) -> (Inventory, Capabilities) {
    let inv = Inventory {
        agents: vec![TargetAgent {
            id: "12".into(),
            email: "a@x".into(),
            name: "A".into(),
            active: true,
        }],
        groups: vec![TargetGroup { id: "1".into(), name: d.groups[0].name.clone() }],
        ticket_fields: vec![],
        statuses: ["new", "open", "stalled", "resolved", "rejected", "deleted"]
            .map(String::from)
            .into(),
    };
    (inv, Capabilities { create_fields: true, ..Default::default() })
}

#[test]
fn the_sources_own_status_wins_and_a_same_named_target_status_is_kept() {
    let d = Dataset::generate(1, Size::Tiny);
    let mut idx = index(&d);
    let mut t = d.tickets[0].clone();
    t.status = deskferry_format::TicketStatus::Closed;
    t.status_raw = Some("rejected".into());
    idx.statuses.insert(("rejected".into(), "closed".into()));
    let (inv, caps) = rt_like(&d);
    let none = Mapping::default();
    let r = Resolver::new(&idx, &none, &inv, &caps);
    assert_eq!(r.status_for(&t).as_deref(), Some("rejected"), "RT's rejected into RT");
    t.status_raw = Some("closed".into());
    assert_eq!(r.status_for(&t).as_deref(), Some("resolved"), "no such status: canonical");
    // The mapping's entry for the raw status beats its entry for the canonical one.
    t.status_raw = Some("rejected".into());
    let m = Mapping::parse(
        "[status]\nclosed = \"resolved\"\nrejected = \"stalled\"\n",
        std::path::Path::new("m"),
    )
    .unwrap();
    let r = Resolver::new(&idx, &m, &inv, &caps);
    assert_eq!(r.status_for(&t).as_deref(), Some("stalled"));
}

#[test]
fn the_written_mapping_does_what_the_loader_does_without_one() {
    let d = Dataset::generate(1, Size::Tiny);
    let mut idx = index(&d);
    idx.statuses.insert(("rejected".into(), "closed".into()));
    let (inv, caps) = rt_like(&d);
    let text = crate::mapping::starting_mapping(&idx, &inv, &caps, "rt");
    let written = Mapping::parse(&text, std::path::Path::new("generated")).unwrap();
    let none = Mapping::default();
    let (a, b) =
        (Resolver::new(&idx, &written, &inv, &caps), Resolver::new(&idx, &none, &inv, &caps));
    let mut rejected = d.tickets[0].clone();
    rejected.status = deskferry_format::TicketStatus::Closed;
    rejected.status_raw = Some("rejected".into());
    for t in d.tickets.iter().chain([&rejected]) {
        assert_eq!(a.status_for(t), b.status_for(t), "ticket {} ({:?})", t.id, t.status_raw);
    }
    assert_eq!(written.status.get("rejected").map(String::as_str), Some("rejected"), "{text}");
    for f in idx.ticket_fields() {
        assert!(
            !a.field_is_note_or_skip(&f.key),
            "{}: a target that creates fields gets it created, not noted\n{text}",
            f.key
        );
    }
}

#[test]
fn a_multi_value_field_reaches_the_target_field_as_separate_values() {
    let d = Dataset::generate(1, Size::Tiny);
    let mut idx = index(&d);
    let mut def = d.custom_fields[0].clone();
    def.key = "products".into();
    def.title = "Products".into();
    idx.fields.insert(def.key.clone(), def);
    let mut t = d.tickets[0].clone();
    t.custom_fields = vec![deskferry_format::CustomFieldValue {
        key: "products".into(),
        value: "[\"Alpha\",\"Beta, with comma\"]".into(),
    }];
    let (mut inv, caps) = rt_like(&d);
    inv.ticket_fields.push(TargetField {
        id: "7".into(),
        name: "Products".into(),
        field_type: "SelectMultiple".into(),
        options: vec!["Alpha".into(), "Beta, with comma".into()],
    });
    let m = Mapping::default();
    let r = Resolver::new(&idx, &m, &inv, &caps);
    let mt = r.map_ticket(&t, &Cast::of(&d.users), false);
    assert_eq!(
        mt.fields,
        vec![("Products".to_string(), vec!["Alpha".to_string(), "Beta, with comma".to_string()])]
    );
}

#[test]
fn a_delta_names_people_only_the_ledger_knows_and_they_keep_their_place() {
    // A delta holds only the people who changed: the unchanged customer who replies, and the
    // unchanged agent the ticket is assigned to, are in the ledger (loaded earlier), not in the
    // bundle. Neither may turn into the default agent.
    let d = Dataset::generate(1, Size::Tiny);
    let mut idx = index(&d);
    let customer = d.users.iter().find(|u| u.kind == UserKind::EndUser).unwrap().id.clone();
    let agent = d.users.iter().find(|u| u.kind == UserKind::Agent).unwrap().id.clone();
    idx.agents.retain(|u| u.id != agent);
    let mut cast = Cast::of(d.users.iter().filter(|u| u.id != customer && u.id != agent));
    let inv = Inventory {
        agents: vec![
            TargetAgent {
                id: "tea_def".into(),
                email: "default@target.example".into(),
                name: "D".into(),
                active: true,
            },
            TargetAgent {
                id: "tea_7".into(),
                email: "seven@target.example".into(),
                name: "Seven".into(),
                active: true,
            },
        ],
        ..Inventory::default()
    };
    let m = Mapping::parse("[agents]\ndefault = \"tea_def\"\n", std::path::Path::new("m")).unwrap();
    let caps = Capabilities::default();
    let r = Resolver::new(&idx, &m, &inv, &caps);
    let loaded: HashMap<String, String> =
        [(customer.clone(), "crd_42".to_string()), (agent.clone(), "tea_7".to_string())].into();
    cast.loaded = loaded;

    let c = r.author(Some(&customer), &cast);
    assert_eq!((c.target_id.as_deref(), c.is_agent, c.defaulted), (Some("crd_42"), false, false));
    let a = r.author(Some(&agent), &cast);
    assert_eq!((a.target_id.as_deref(), a.is_agent, a.defaulted), (Some("tea_7"), true, false));
    assert_eq!(a.email.as_deref(), Some("seven@target.example"));
    // Nobody knows this one: the default agent stands in, as before.
    let n = r.author(Some("no-such-user"), &cast);
    assert_eq!((n.target_id.as_deref(), n.defaulted), (Some("tea_def"), true));

    let mut t = d.tickets[0].clone();
    t.assignee_id = Some(agent.clone());
    t.requester_id = Some(customer.clone());
    let mapped = r.map_ticket(&t, &cast, false);
    assert_eq!(mapped.assignee.as_deref(), Some("tea_7"));
    assert_eq!(mapped.requester.target_id.as_deref(), Some("crd_42"));
}
