//! Organizations, customers, teams and field definitions: created once, found again by their
//! `legacy_id` (organizations, customers) or their name and key (teams, fields).

use deskferry_extractor::platforms::kayako::client::{data, error_code, esc, id_of};
use deskferry_format::model::{FieldEntity, UserKind};
use deskferry_format::{CustomField, CustomFieldValue, Group, Organization};
use serde_json::{Map, Value, json};

use super::load::{KayakoTarget, http, other, s};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedUser, Written};

/// The role id of customers (Kayako's fixed roles: the `CUSTOMER` one).
const CUSTOMER_ROLE: u64 = 5;

impl KayakoTarget {
    /// The keys of the `resource`'s fields (`users`, `organizations`) the account has.
    async fn keys(
        &self,
        resource: &str,
        entity: &str,
        id: &str,
    ) -> Result<Vec<String>, WriteError> {
        if let Some(k) = self.field_keys.lock().unwrap_or_else(|e| e.into_inner()).get(resource) {
            return Ok(k.clone());
        }
        let list = self
            .client
            .all(&format!("/api/v1/{resource}/fields.json"))
            .await
            .map_err(http(entity, id))?;
        let keys: Vec<String> = list.iter().map(|f| s(f, "key")).collect();
        self.field_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(resource.to_string(), keys.clone());
        Ok(keys)
    }

    /// `field_values` for the fields the account has; the keys of those it lacks.
    async fn values(
        &self,
        resource: &str,
        values: &[CustomFieldValue],
        entity: &str,
        id: &str,
    ) -> Result<(Map<String, Value>, Vec<String>), WriteError> {
        if values.is_empty() {
            return Ok((Map::new(), Vec::new()));
        }
        let keys = self.keys(resource, entity, id).await?;
        let mut out = Map::new();
        let mut left = Vec::new();
        for v in values {
            let k = map::field_key(&v.key);
            if keys.contains(&k) {
                if let Some(text) = map::field_text(&v.value) {
                    out.insert(k, Value::String(text));
                }
            } else {
                left.push(v.key.clone());
            }
        }
        Ok((out, left))
    }

    /// The record of `resource` holding `legacy`, if any.
    async fn by_legacy(
        &self,
        resource: &str,
        legacy: &str,
        entity: &str,
    ) -> Result<Option<String>, WriteError> {
        let v = self
            .client
            .get(&format!("/api/v1/{resource}.json?legacy_ids={}", esc(legacy)))
            .await
            .map_err(http(entity, legacy))?;
        Ok(data(&v).as_array().and_then(|a| a.first()).and_then(id_of))
    }

    /// Creates (`POST`) or updates (`PUT` at `prior`) a record carrying `legacy_id`: a taken
    /// legacy id finds the record written before (an answer lost), which is updated. A create
    /// Kayako refuses otherwise is the inner error, for the caller to judge.
    async fn upsert(
        &self,
        resource: &str,
        entity: &str,
        source_id: &str,
        body: Value,
        prior: Option<&str>,
    ) -> Result<String, WriteError> {
        match self.try_upsert(resource, entity, source_id, body, prior).await? {
            Ok(id) => Ok(id),
            Err(e) => Err(http(entity, source_id)(e)),
        }
    }

    async fn try_upsert(
        &self,
        resource: &str,
        entity: &str,
        source_id: &str,
        mut body: Value,
        prior: Option<&str>,
    ) -> Result<Result<String, deskferry_extractor::http::HttpError>, WriteError> {
        if let Some(id) = prior {
            match self.client.put(&format!("/api/v1/{resource}/{id}.json"), body.clone()).await {
                Ok(_) => return Ok(Ok(id.to_string())),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(http(entity, source_id)(e)),
            }
        }
        body["legacy_id"] = source_id.into();
        match self.client.post(&format!("/api/v1/{resource}.json"), body.clone()).await {
            Ok(v) => id_of(data(&v))
                .map(Ok)
                .ok_or_else(|| other(entity, source_id, "no id in the answer")),
            Err(e) if not_unique(&e, "legacy_id") => {
                let id = self
                    .by_legacy(resource, source_id, entity)
                    .await?
                    .ok_or_else(|| http(entity, source_id)(e))?;
                if let Some(o) = body.as_object_mut() {
                    o.remove("legacy_id");
                }
                self.client
                    .put(&format!("/api/v1/{resource}/{id}.json"), body)
                    .await
                    .map_err(http(entity, source_id))?;
                Ok(Ok(id))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    pub(super) async fn write_org(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let (fv, left) =
            self.values("organizations", &org.custom_fields, "organizations", &org.id).await?;
        let mut body =
            json!({"name": org.name, "domains": org.domains, "tags": org.tags.join(",")});
        if !fv.is_empty() {
            body["field_values"] = Value::Object(fv);
        }
        let id = self.upsert("organizations", "organizations", &org.id, body, prior).await?;
        self.learn("organizations", &org.id, &id);
        Ok(limited(id, left, org.notes.is_some()))
    }

    pub(super) async fn write_customer(
        &self,
        u: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let user = &u.user;
        if user.kind == UserKind::Agent {
            return Ok(Written::Skipped("Kayako: staff are matched, never created".into()));
        }
        let (fv, left) = self.values("users", &user.custom_fields, "users", &user.id).await?;
        let name = user
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| user.email.clone())
            .unwrap_or_else(|| format!("Customer {}", user.id));
        let mut body = json!({
            "full_name": name,
            "role_id": CUSTOMER_ROLE,
            "is_enabled": user.active && !user.suspended,
        });
        if prior.is_none()
            && let Some(e) = &user.email
        {
            body["email"] = e.clone().into();
        }
        if let Some(o) = &u.organization {
            body["organization_id"] = map::num(o);
        }
        if let Some(l) = &user.locale {
            body["locale"] = l.clone().into();
        }
        if let Some(t) = &user.time_zone {
            body["time_zone"] = t.clone().into();
        }
        if let Some(p) = &user.phone {
            body["phone"] = p.clone().into();
        }
        if !fv.is_empty() {
            body["field_values"] = Value::Object(fv);
        }
        let id = match self.try_upsert("users", "users", &user.id, body.clone(), prior).await? {
            Ok(id) => id,
            // The address belongs to someone already (a staff member, a customer added by
            // hand): that person is the customer.
            Err(e) if prior.is_none() && user.email.is_some() && not_unique(&e, "email") => {
                let email = user.email.clone().unwrap_or_default();
                let v = self
                    .client
                    .get(&format!("/api/v1/search.json?query={}&resources=users", esc(&email)))
                    .await
                    .map_err(http("users", &user.id))?;
                let found = data(&v).as_array().into_iter().flatten().find(|x| {
                    x.get("emails")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|e| s(e, "email").eq_ignore_ascii_case(&email))
                });
                let Some(id) = found.and_then(id_of) else {
                    return Err(other(
                        "users",
                        &user.id,
                        format!("Kayako says {email} is taken, but no person holds it"),
                    ));
                };
                self.learn("users", &user.id, &id);
                let holder = found.map(|x| s(x, "full_name")).unwrap_or_default();
                return Ok(Written::Limited(
                    id,
                    format!(
                        "Kayako: {email} belongs to {holder} already (addresses are unique): that person stands for this customer, under their own name"
                    ),
                ));
            }
            Err(e) => return Err(http("users", &user.id)(e)),
        };
        let mut lost = left;
        if prior.is_none() {
            for e in &user.other_emails {
                let b = json!({"user_id": map::num(&id), "email": e, "is_primary": false, "is_validated": true});
                match self.client.post("/api/v1/identities/emails.json", b).await {
                    Ok(_) => {}
                    Err(x) if not_unique(&x, "email") => {
                        lost.push(format!("the address {e} (another person holds it)"))
                    }
                    Err(x) => return Err(http("users", &user.id)(x)),
                }
            }
        }
        self.learn("users", &user.id, &id);
        Ok(limited(id, lost, false))
    }

    pub(super) async fn write_team(
        &self,
        g: &Group,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(id) = prior {
            return Ok(Written::Matched(id.to_string()));
        }
        match self.client.post("/api/v1/teams.json", json!({"title": g.name})).await {
            Ok(v) => id_of(data(&v))
                .map(Written::Migrated)
                .ok_or_else(|| other("groups", &g.id, "no id in the answer")),
            Err(e) if not_unique(&e, "title") => {
                let list =
                    self.client.all("/api/v1/teams.json").await.map_err(http("groups", &g.id))?;
                list.iter()
                    .find(|t| s(t, "title").eq_ignore_ascii_case(&g.name))
                    .and_then(id_of)
                    .map(Written::Matched)
                    .ok_or_else(|| http("groups", &g.id)(e))
            }
            Err(e) => Err(http("groups", &g.id)(e)),
        }
    }

    pub(super) async fn write_field_def(
        &self,
        f: &CustomField,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let resource = match f.entity {
            FieldEntity::Ticket => "cases",
            FieldEntity::User => "users",
            FieldEntity::Organization => "organizations",
        };
        let key = map::field_key(&f.key);
        if let Some(p) = prior {
            return Ok(Written::Matched(p.to_string()));
        }
        let ty = map::field_type(f.kind, !f.options.is_empty());
        let mut body = json!({"title": f.title, "type": ty, "key": key});
        if matches!(ty, "SELECT" | "CHECKBOX") {
            body["options"] = f
                .options
                .iter()
                .map(|o| json!({"tag": o.value, "values": map::locale_field("en-us", &o.label)}))
                .collect();
        }
        let written = match self.client.post(&format!("/api/v1/{resource}/fields.json"), body).await
        {
            Ok(_) => Written::Migrated(key.clone()),
            // Created before (a lost answer, another run): it is there.
            Err(e) if not_unique(&e, "key") => Written::Matched(key.clone()),
            Err(e) => return Err(http("custom_fields", &f.id)(e)),
        };
        if f.entity != FieldEntity::Ticket {
            let mut k = self.field_keys.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(list) = k.get_mut(resource) {
                list.push(key);
            }
        }
        Ok(written)
    }
}

/// Whether Kayako refused a value another record holds (`FIELD_NOT_UNIQUE` on `param`).
pub(super) fn not_unique(e: &deskferry_extractor::http::HttpError, param: &str) -> bool {
    if error_code(e).as_deref() != Some("FIELD_NOT_UNIQUE") {
        return false;
    }
    let deskferry_extractor::http::HttpError::Status { body, .. } = e else { return false };
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.pointer("/errors/0/parameter").and_then(Value::as_str).map(str::to_string))
        .is_none_or(|p| p == param)
}

/// `Migrated`, or `Limited` naming what Kayako did not take.
fn limited(id: String, lost_fields: Vec<String>, had_notes: bool) -> Written {
    let mut what = Vec::new();
    if !lost_fields.is_empty() {
        what.push(format!("Kayako has no field for {}", lost_fields.join(", ")));
    }
    if had_notes {
        what.push("Kayako: an organization's notes are not loaded".to_string());
    }
    if what.is_empty() { Written::Migrated(id) } else { Written::Limited(id, what.join("; ")) }
}
