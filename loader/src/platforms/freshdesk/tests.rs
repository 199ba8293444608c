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
