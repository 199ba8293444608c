//! Queues, ticket custom fields and the target's inventory (agents, queues, fields, statuses).

use deskferry_extractor::http::HttpError;
use deskferry_extractor::platforms::rt::client::RtClient;
use deskferry_extractor::platforms::rt::wire::{num, text};
use deskferry_format::model::FieldKind;
use serde_json::json;

use super::load::{RtTarget, Setup, TICKET_CF_QUERY, http_err, other};
use super::map::{EXTERNAL_ID_FIELD, ORIGINAL_CREATED_FIELD, TAGS_FIELD};
use crate::error::WriteError;
use crate::target::{Inventory, TargetAgent, TargetField, TargetGroup, Written};

impl RtTarget {
    /// The queue for a group: an existing queue of the same name (case-insensitive, as RT
    /// compares them), else a new one. (The `Target` trait has no group step yet; the loader
    /// core maps groups to existing queues, and this creates the missing ones first.)
    pub async fn ensure_queue(&self, g: &deskferry_format::Group) -> Result<Written, WriteError> {
        let e = |e| http_err("groups", &g.id, e);
        let name = g.name.replace(['\r', '\n'], " ");
        let queues = self
            .api
            .all("queues/all", &[("fields", "Name,Disabled"), ("find_disabled_rows", "1")])
            .await
            .map_err(e)?;
        if let Some(q) =
            queues.iter().find(|q| text(q, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&name)))
        {
            let id = num(&q["id"]).ok_or_else(|| other("groups", &g.id, "queue without id"))?;
            if text(q, "Disabled").is_some_and(|d| d != "0") {
                self.disabled_queues
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.to_string());
            }
            return Ok(Written::Matched(id.to_string()));
        }
        let mut body = json!({ "Name": name });
        if let Some(d) = &g.description {
            body["Description"] = json!(d);
        }
        let resp = self.api.post("queue", body, false).await.map_err(e)?;
        let id = RtClient::created_id(&resp).ok_or_else(|| other("groups", &g.id, "no id"))?;
        if g.is_deleted {
            self.api.put(&format!("queue/{id}"), json!({ "Disabled": 1 })).await.map_err(e)?;
            self.disabled_queues.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string());
        }
        Ok(Written::Migrated(id.to_string()))
    }

    /// A global ticket custom field for a field definition ([`field_name`]): an existing one of
    /// the same name (as RT compares names: without regard to case),
    /// else a new one of the same kind ([`rt_type`]: by the normalised kind, never by the
    /// source's own type names), with the options of a choice field.
    pub async fn ensure_field(
        &self,
        f: &deskferry_format::CustomField,
    ) -> Result<Written, WriteError> {
        let e = |e| http_err("custom_fields", &f.id, e);
        let name = field_name(f);
        let existing = self
            .api
            .all(
                "customfields",
                &[("query", TICKET_CF_QUERY), ("fields", "Name"), ("find_disabled_rows", "1")],
            )
            .await
            .map_err(e)?;
        if let Some(id) = existing
            .iter()
            .find(|x| x["Name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&name)))
            .and_then(|x| num(&x["id"]))
        {
            return Ok(Written::Matched(id.to_string()));
        }
        let (kind, multiple) = rt_type(f.kind.unwrap_or(FieldKind::Text));
        // A free-text field may take several values too (RT's FreeformMultiple).
        let multiple = multiple || f.takes_several();
        let body = json!({
            "Name": name,
            "Description": f.title,
            "Type": kind,
            "MaxValues": if multiple { 0 } else { 1 },
            "LookupType": "RT::Queue-RT::Ticket",
            "Queue": 0,
        });
        let resp = self.api.post("customfield", body, false).await.map_err(e)?;
        let id =
            RtClient::created_id(&resp).ok_or_else(|| other("custom_fields", &f.id, "no id"))?;
        for (i, o) in f.options.iter().enumerate() {
            self.api
                .post(
                    &format!("customfield/{id}/value"),
                    json!({ "Name": o.value, "Description": o.label, "SortOrder": i }),
                    false,
                )
                .await
                .map_err(e)?;
        }
        // An inactive field stays enabled: RT refuses values for disabled fields, and the
        // tickets still carry them.
        Ok(Written::Migrated(id.to_string()))
    }

    /// Id of the global ticket custom field `name`, created (multi-value when `multiple`) when
    /// missing.
    pub(super) async fn ticket_field(&self, name: &str, multiple: bool) -> Result<i64, HttpError> {
        let items = self
            .api
            .all("customfields", &[("query", TICKET_CF_QUERY), ("fields", "Name,Disabled")])
            .await?;
        if let Some(id) =
            items.iter().find(|f| f["Name"].as_str() == Some(name)).and_then(|f| num(&f["id"]))
        {
            return Ok(id);
        }
        let body = json!({
            "Name": name,
            "Description": "deskferry",
            "Type": "Freeform",
            "MaxValues": if multiple { 0 } else { 1 },
            "LookupType": "RT::Queue-RT::Ticket",
            "Queue": 0,
        });
        let resp = self.api.post("customfield", body, false).await?;
        RtClient::created_id(&resp).ok_or_else(|| HttpError::Decode {
            url: "customfield".into(),
            message: "no id in the answer".into(),
        })
    }

    pub(super) async fn setup(&self) -> Result<Setup, WriteError> {
        let mut guard = self.setup.lock().await;
        if let Some(s) = *guard {
            return Ok(s);
        }
        let external_id = self
            .ticket_field(EXTERNAL_ID_FIELD, false)
            .await
            .map_err(|e| http_err("custom_fields", EXTERNAL_ID_FIELD, e))?;
        let original_created = self
            .ticket_field(ORIGINAL_CREATED_FIELD, false)
            .await
            .map_err(|e| http_err("custom_fields", ORIGINAL_CREATED_FIELD, e))?;
        let s = Setup { external_id, original_created };
        *guard = Some(s);
        Ok(s)
    }

    pub(super) async fn tags_field(&self) -> Result<i64, WriteError> {
        let mut guard = self.tags_field.lock().await;
        if let Some(id) = *guard {
            return Ok(id);
        }
        let id = self
            .ticket_field(TAGS_FIELD, true)
            .await
            .map_err(|e| http_err("custom_fields", TAGS_FIELD, e))?;
        *guard = Some(id);
        Ok(id)
    }

    /// Agents (privileged users), queues, ticket fields and the default lifecycle's statuses.
    pub(super) async fn read_inventory(&self) -> Result<Inventory, WriteError> {
        let e = |e| http_err("inventory", "rt", e);
        let users =
            self.api.all("users", &[("fields", "id,Name"), ("orderby", "id")]).await.map_err(e)?;
        let mut agents = Vec::new();
        for u in &users {
            let Some(id) = num(&u["id"]) else { continue };
            if id == 1 || id == 6 {
                continue;
            }
            let Some(v) = self.api.get_opt(&format!("user/{id}")).await.map_err(e)? else {
                continue;
            };
            if num(&v["Privileged"]) == Some(1) {
                agents.push(TargetAgent {
                    id: id.to_string(),
                    email: text(&v, "EmailAddress").unwrap_or_default(),
                    name: text(&v, "RealName").or_else(|| text(&v, "Name")).unwrap_or_default(),
                    active: v["Disabled"].as_str().unwrap_or("0") == "0",
                });
            }
        }
        let queues = self
            .api
            .all("queues/all", &[("fields", "Name"), ("orderby", "id")])
            .await
            .map_err(e)?;
        let groups = queues
            .iter()
            .filter_map(|q| {
                Some(TargetGroup { id: num(&q["id"])?.to_string(), name: text(q, "Name")? })
            })
            .filter(|g| !g.name.starts_with("___Approvals"))
            .collect();
        let fields = self
            .api
            .all(
                "customfields",
                &[("query", TICKET_CF_QUERY), ("fields", "Name,Type,MaxValues"), ("orderby", "id")],
            )
            .await
            .map_err(e)?;
        let mut ticket_fields = Vec::new();
        for f in &fields {
            let Some(id) = num(&f["id"]) else { continue };
            let kind = text(f, "Type").unwrap_or_default();
            let options = if kind == "Select" {
                self.api
                    .all(&format!("customfield/{id}/values"), &[("fields", "Name")])
                    .await
                    .map_err(e)?
                    .iter()
                    .filter_map(|o| text(o, "name").or_else(|| text(o, "Name")))
                    .collect()
            } else {
                Vec::new()
            };
            ticket_fields.push(TargetField {
                id: id.to_string(),
                name: text(f, "Name").unwrap_or_default(),
                field_type: kind,
                options,
            });
        }
        Ok(Inventory {
            agents,
            groups,
            ticket_fields,
            statuses: ["new", "open", "stalled", "resolved", "rejected", "deleted"]
                .map(String::from)
                .into(),
        })
    }
}

/// The RT custom field `Type` and "takes several values" for a normalised kind. RT has no
/// number, checkbox or pattern types: those values are kept as free-form text (RT refuses a
/// pattern it cannot check, so a `regexp` field's pattern is not carried over).
/// The name of a field definition's RT custom field: its title, which is what the mapping and
/// reconciliation find a target field by, unless RT refuses it as a name (empty, or all digits:
/// RT takes those for ids); then its key, else `Field KEY`. Zendesk's ticket fields have only a
/// numeric id for a key.
pub(super) fn field_name(f: &deskferry_format::CustomField) -> String {
    let usable = |s: &str| !s.trim().is_empty() && !s.trim().chars().all(|c| c.is_ascii_digit());
    if usable(&f.title) {
        f.title.trim().to_string()
    } else if usable(&f.key) {
        f.key.trim().to_string()
    } else {
        format!("Field {}", f.key.trim())
    }
}

pub(super) fn rt_type(kind: FieldKind) -> (&'static str, bool) {
    match kind {
        FieldKind::Textarea => ("Text", false),
        FieldKind::Date => ("Date", false),
        FieldKind::Datetime => ("DateTime", false),
        FieldKind::Dropdown => ("Select", false),
        FieldKind::Multiselect => ("Select", true),
        FieldKind::Text
        | FieldKind::Integer
        | FieldKind::Decimal
        | FieldKind::Checkbox
        | FieldKind::Regexp
        | FieldKind::Lookup
        | FieldKind::Other => ("Freeform", false),
    }
}
