//! Freshdesk target unit tests (pure parts: codes, field values, footers and their reading).

use super::map;

#[test]
fn codes_values_and_footers_round_trip() {
    assert_eq!(map::status_code(Some("Resolved")), 4);
    assert_eq!(map::status_code(Some("waiting on third party")), 7);
    assert_eq!(map::status_code(None), 2);
    assert_eq!(map::priority_code(Some("normal")), 2);
    assert_eq!(map::priority_code(Some("urgent")), 4);
    assert_eq!(map::field_value("custom_number", &["12".into()]), serde_json::json!(12));
    assert_eq!(map::field_value("custom_checkbox", &["true".into()]), serde_json::json!(true));
    assert_eq!(
        map::field_value("custom_multi_select_dropdown", &["a".into(), "b".into()]),
        serde_json::json!(["a", "b"])
    );
    let body = "<p>hi</p><p class=\"deskferry\">Migrated by deskferry: originally by Ann &lt;a@x&gt; at 2024-01-02T03:04:05Z · ticket created 2024-01-01T00:00:00Z · ref acme-c17</p>";
    assert_eq!(map::reference(body).as_deref(), Some("acme-c17"));
    assert_eq!(map::ticket_created(body).map(|t| t.timestamp()), Some(1_704_067_200));
    let p = map::placeholder("acme-t3", None);
    assert_eq!(map::reference(&p).as_deref(), Some("acme-t3-opening"));
    assert_eq!(map::marker_tag("acme-t3"), "dfx-acme-t3");
}

#[test]
fn languages_visibility_and_solution_bodies() {
    let supported: Vec<String> = ["fr", "de", "ja-JP", "pt-BR"].map(String::from).to_vec();
    assert_eq!(map::language("fr", &supported).as_deref(), Some("fr"));
    assert_eq!(map::language("fr-CA", &supported).as_deref(), Some("fr"));
    assert_eq!(map::language("ja", &supported).as_deref(), Some("ja-JP"));
    assert_eq!(map::language("pt-br", &supported).as_deref(), Some("pt-BR"));
    assert_eq!(map::language("ar", &supported), None);
    assert_eq!(map::visibility(r#"{"visibility": 2}"#), 2);
    assert_eq!(map::visibility(r#"{"visibility": 5}"#), 3);
    assert_eq!(map::visibility(r#"{"visibility": "private"}"#), 3);
    assert_eq!(map::visibility(""), 1);
    let mut k = deskferry_format::KbItem {
        id: "7".into(),
        parent_id: Some("3".into()),
        locale: Some("en-US".into()),
        translation_of: None,
        title: "Refunds".into(),
        body_html: None,
        author_id: None,
        draft: true,
        position: Some(2),
        labels: vec!["money".into()],
        created_at: None,
        updated_at: None,
        raw: r#"{"seo_data": {"meta_title": "R", "meta_keywords": null}}"#.into(),
    };
    let a = map::kb_body("kb_articles", &k, false);
    assert_eq!(a["status"], 1);
    assert_eq!(a["description"], "<p></p>");
    assert_eq!(a["tags"], serde_json::json!(["money"]));
    assert_eq!(a["seo_data"]["meta_title"], "R");
    k.raw = r#"{"visibility": "private"}"#.into();
    let f = map::kb_body("kb_sections", &k, false);
    assert_eq!((f["name"].as_str(), f["visibility"].as_u64()), (Some("Refunds"), Some(3)));
    assert!(map::kb_body("kb_sections", &k, true).get("visibility").is_none());
}
