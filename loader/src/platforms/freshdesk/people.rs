//! Companies, contacts, groups and ticket fields: created once, and matched to what holds the
//! same email or name already (Freshdesk answers a taken one with 409 `duplicate_value` and the
//! holder's id in `additional_info`).

use deskferry_extractor::platforms::freshdesk::client::{DEFAULT, duplicate_of};
use deskferry_format::model::CustomFieldValue;
use deskferry_format::{CustomField, FieldEntity, Group, Organization, UserKind};
use serde_json::{Map, Value, json};

use super::load::{FreshdeskTarget, http, id_in, other};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedTicket, MappedUser, Written};

impl FreshdeskTarget {
    /// [`crate::target::Target::write_organization`].
    pub(super) async fn write_company(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let mut lost: Vec<String> = Vec::new();
        // Freshdesk's companies have no tags: they are listed in the company's note.
        let note = if org.tags.is_empty() {
            org.notes.clone()
        } else {
            lost.push(format!(
                "Freshdesk companies have no tags: {} listed in the company's note",
                org.tags.join(", ")
            ));
            let tags = format!("Tags (from the source): {}", org.tags.join(", "));
            Some(match org.notes.as_deref().filter(|n| !n.trim().is_empty()) {
                Some(n) => format!("{n}\n\n{tags}"),
                None => tags,
            })
        };
        let mut body = json!({ "name": org.name, "domains": org.domains, "note": note });
        let (values, missing) =
            self.person_values(FieldEntity::Organization, &org.id, &org.custom_fields).await?;
        if !values.is_empty() {
            body["custom_fields"] = Value::Object(values);
        }
        if !missing.is_empty() {
            lost.push(later(&missing));
        }
        let err = || http("organizations", &org.id);
        if let Some(id) = prior {
            match self.client.put(DEFAULT, &format!("/api/v2/companies/{id}"), body.clone()).await {
                Ok(_) => {
                    return Ok(if lost.is_empty() {
                        Written::Migrated(id.to_string())
                    } else {
                        Written::Limited(id.to_string(), format!("Freshdesk: {}", lost.join("; ")))
                    });
                }
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        match self.client.post(DEFAULT, "/api/v2/companies", body).await {
            Ok(v) => {
                let id = id_in(&v)
                    .ok_or_else(|| other("organizations", &org.id, "no id in the answer"))?;
                Ok(if lost.is_empty() {
                    Written::Migrated(id)
                } else {
                    Written::Limited(id, format!("Freshdesk: {}", lost.join("; ")))
                })
            }
            Err(e) => match duplicate_of(&e, "company_id") {
                Some(id) => Ok(Written::Matched(id)),
                None => Err(err()(e)),
            },
        }
    }

    /// [`crate::target::Target::write_user`]: agents are matched (never created); an end user
    /// becomes a contact, or is matched to the contact or agent holding their address.
    pub(super) async fn write_contact(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let u = &user.user;
        if u.kind == UserKind::Agent {
            return Ok(match &user.matched_agent {
                Some(t) => Written::Matched(t.clone()),
                None => Written::Skipped(
                    "agent without a Freshdesk agent of the same email: this tool does not create agents (each takes a seat); their messages go to the default agent".into(),
                ),
            });
        }
        let err = || http("users", &u.id);
        let name = u
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| u.email.clone())
            .unwrap_or_else(|| format!("User {}", u.id));
        let mut body = json!({ "name": name, "tags": u.tags });
        let mut notes = Vec::new();
        if let Some(e) = &u.email {
            body["email"] = json!(e);
        }
        if !u.other_emails.is_empty() {
            body["other_emails"] = json!(u.other_emails);
        }
        if let Some(p) = &u.phone {
            body["phone"] = json!(p);
        }
        if u.email.is_none() && u.phone.is_none() {
            body["unique_external_id"] = json!(format!("deskferry-{}", u.id));
            notes.push(format!(
                "Freshdesk: no email or phone; unique_external_id deskferry-{}",
                u.id
            ));
        }
        if let Some(o) = &user.organization {
            body["company_id"] = o.parse::<u64>().map(Value::from).unwrap_or(json!(o));
        }
        let (values, missing) =
            self.person_values(FieldEntity::User, &u.id, &u.custom_fields).await?;
        if !values.is_empty() {
            body["custom_fields"] = Value::Object(values);
        }
        if !missing.is_empty() {
            notes.push(format!("Freshdesk: {}", later(&missing)));
        }

        if let Some(id) = prior {
            let mut update = body.clone();
            if let Some(m) = update.as_object_mut() {
                m.remove("unique_external_id");
            }
            match self.client.put(DEFAULT, &format!("/api/v2/contacts/{id}"), update).await {
                Ok(_) => {
                    return Ok(if notes.is_empty() {
                        Written::Migrated(id.to_string())
                    } else {
                        Written::Limited(id.to_string(), notes.join("; "))
                    });
                }
                Err(e) if e.status() == Some(404) => {}
                Err(e) => match duplicate_of(&e, "user_id") {
                    Some(_) => return Ok(Written::Matched(id.to_string())),
                    None => return Err(err()(e)),
                },
            }
        }
        loop {
            match self.client.post(DEFAULT, "/api/v2/contacts", body.clone()).await {
                Ok(v) => {
                    let id =
                        id_in(&v).ok_or_else(|| other("users", &u.id, "no id in the answer"))?;
                    return Ok(if notes.is_empty() {
                        Written::Migrated(id)
                    } else {
                        Written::Limited(id, notes.join("; "))
                    });
                }
                Err(e) => {
                    let Some(holder) = duplicate_of(&e, "user_id") else { return Err(err()(e)) };
                    // A further address someone holds is left out and the create tried again;
                    // then a taken primary address is this user's: matched to its holder.
                    if let Some(m) = body.as_object_mut()
                        && m.remove("other_emails").is_some()
                    {
                        notes.push(
                            "Freshdesk: further emails another contact holds were not added".into(),
                        );
                        continue;
                    }
                    return Ok(Written::Limited(
                        holder.clone(),
                        format!(
                            "Freshdesk keeps one contact per address, without regard to case: matched to {holder}, which keeps its own name and fields"
                        ),
                    ));
                }
            }
        }
    }

    /// [`crate::target::Target::write_group`].
    pub(super) async fn create_group(
        &self,
        g: &Group,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(p) = prior {
            return Ok(Written::Matched(p.to_string()));
        }
        let body = json!({ "name": g.name, "description": g.description });
        match self.client.post(DEFAULT, "/api/v2/groups", body).await {
            Ok(v) => Ok(Written::Migrated(
                id_in(&v).ok_or_else(|| other("groups", &g.id, "no id in the answer"))?,
            )),
            Err(e) => match duplicate_of(&e, "group_id") {
                Some(id) => Ok(Written::Matched(id)),
                None => Err(http("groups", &g.id)(e)),
            },
        }
    }

    /// [`crate::target::Target::write_field`]: a custom ticket field of the source's title and
    /// kind (a pattern field is a text field); one of that label already is matched.
    pub(super) async fn create_field(
        &self,
        f: &CustomField,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if f.entity != FieldEntity::Ticket {
            return self.person_field(f).await;
        }
        if let Some(p) = prior {
            return Ok(Written::Matched(p.to_string()));
        }
        let ty = map::field_type(f.kind);
        let mut body = json!({ "label": f.title, "label_for_customers": f.title, "type": ty, "required_for_agents": false });
        if f.kind.is_some_and(|k| k.has_options()) {
            let choices: Vec<Value> = f
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| json!({ "value": o.value, "position": i + 1 }))
                .collect();
            body["choices"] = json!(choices);
        }
        let existing = |list: Vec<Value>| {
            list.iter()
                .find(|x| x["label"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(&f.title)))
                .and_then(id_in)
        };
        match self.client.post(DEFAULT, "/api/v2/admin/ticket_fields", body).await {
            Ok(v) => {
                let id = id_in(&v)
                    .ok_or_else(|| other("custom_fields", &f.id, "no id in the answer"))?;
                self.read_fields().await?;
                Ok(if f.kind == Some(deskferry_format::model::FieldKind::Regexp) {
                    Written::Limited(id, "Freshdesk has no pattern field: a text field".into())
                } else {
                    Written::Migrated(id)
                })
            }
            Err(e) if e.status() == Some(400) || e.status() == Some(409) => {
                match existing(self.read_fields().await?) {
                    Some(id) => Ok(Written::Matched(id)),
                    None => Err(http("custom_fields", &f.id)(e)),
                }
            }
            // A key without the admin API: the values go where an unmatched field's go.
            Err(e) if e.status() == Some(403) => Ok(Written::Skipped(format!(
                "Freshdesk did not let this key create ticket fields (HTTP 403): the values of \"{}\" go into each ticket's custom-field note (for a field, create a ticket field labelled \"{}\" of type {ty} before the tickets are loaded)",
                f.title, f.title
            ))),
            Err(e) => Err(http("custom_fields", &f.id)(e)),
        }
    }
}

/// The list and admin paths of an entity's field definitions.
fn person_paths(entity: FieldEntity) -> (&'static str, &'static str, &'static str) {
    match entity {
        FieldEntity::User => ("/api/v2/contact_fields", "/api/v2/admin/contact_fields", "contact"),
        _ => ("/api/v2/company_fields", "/api/v2/admin/company_fields", "company"),
    }
}

/// A field key as Freshdesk would name a field labelled so (lower case, `_` for the rest).
fn snake(s: &str) -> String {
    s.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect()
}

impl FreshdeskTarget {
    /// Reads an entity's field definitions: (id, name, label, type) of each custom one.
    async fn person_defs(
        &self,
        entity: FieldEntity,
        id: &str,
    ) -> Result<Vec<(String, String, String, String)>, WriteError> {
        let (list, _, _) = person_paths(entity);
        let defs = self.client.get(DEFAULT, list).await.map_err(http("custom_fields", id))?;
        Ok(defs
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["default"] != true)
            .filter_map(|d| {
                let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                Some((id_in(d)?, s("name"), s("label"), s("type")))
            })
            .collect())
    }

    fn cache_person(&self, entity: FieldEntity, key: &str, name: &str, ty: &str) {
        self.person_fields
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((format!("{entity:?}"), key.to_string()), (name.to_string(), ty.to_string()));
    }

    /// [`crate::target::Target::write_field`] for a contact or company field: the account's
    /// field of the same label, else a new one (`POST /api/v2/admin/{contact,company}_fields`);
    /// where the key may not create one, the operator creates it (reported).
    async fn person_field(&self, f: &CustomField) -> Result<Written, WriteError> {
        let (_, admin, what) = person_paths(f.entity);
        let found = |defs: &[(String, String, String, String)]| {
            defs.iter()
                .find(|(_, _, label, _)| label.trim().eq_ignore_ascii_case(f.title.trim()))
                .cloned()
        };
        if let Some((id, name, _, ty)) = found(&self.person_defs(f.entity, &f.id).await?) {
            self.cache_person(f.entity, &f.key, &name, &ty);
            return Ok(Written::Matched(id));
        }
        let ty = map::field_type(f.kind);
        let mut body = json!({ "label": f.title, "label_for_customers": f.title, "type": ty });
        if f.kind.is_some_and(|k| k.has_options()) {
            let choices: Vec<Value> = f
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| json!({ "value": o.value, "position": i + 1 }))
                .collect();
            body["choices"] = json!(choices);
        }
        match self.client.post(DEFAULT, admin, body).await {
            Ok(v) => {
                let id = id_in(&v)
                    .ok_or_else(|| other("custom_fields", &f.id, "no id in the answer"))?;
                let name =
                    v["name"].as_str().map(str::to_string).unwrap_or_else(|| snake(&f.title));
                self.cache_person(f.entity, &f.key, &name, ty);
                Ok(if f.kind == Some(deskferry_format::model::FieldKind::Regexp) {
                    Written::Limited(id, "Freshdesk has no pattern field: a text field".into())
                } else {
                    Written::Migrated(id)
                })
            }
            Err(e) if matches!(e.status(), Some(400 | 409)) => {
                match found(&self.person_defs(f.entity, &f.id).await?) {
                    Some((id, name, _, ty)) => {
                        self.cache_person(f.entity, &f.key, &name, &ty);
                        Ok(Written::Matched(id))
                    }
                    None => Err(http("custom_fields", &f.id)(e)),
                }
            }
            // A plan or role without the admin API: the operator creates the field. Failed, not
            // skipped: the next run looks for it again, and then writes the people holding its
            // values (the core rewrites them once a person field exists).
            Err(e) if matches!(e.status(), Some(403 | 404)) => Err(WriteError::Rejected {
                entity: "custom_fields".into(),
                source_id: f.id.clone(),
                message: format!(
                    "Freshdesk did not let this key create {what} fields (HTTP {}): create a {what} field labelled \"{}\" of type {ty} and load again; its values are loaded by that run",
                    e.status().unwrap_or_default(),
                    f.title
                ),
            }),
            Err(e) => Err(http("custom_fields", &f.id)(e)),
        }
    }

    /// The `custom_fields` of a contact or company write for a record's values, and what could
    /// not be placed (no field of that key at Freshdesk), in words.
    pub(super) async fn person_values(
        &self,
        entity: FieldEntity,
        id: &str,
        values: &[CustomFieldValue],
    ) -> Result<(Map<String, Value>, Vec<CustomFieldValue>), WriteError> {
        let mut out = Map::new();
        let mut missing = Vec::new();
        if values.is_empty() {
            return Ok((out, missing));
        }
        let e = format!("{entity:?}");
        let cached = |key: &str| {
            self.person_fields
                .lock()
                .unwrap_or_else(|x| x.into_inner())
                .get(&(e.clone(), key.to_string()))
                .cloned()
        };
        if values.iter().any(|v| cached(&v.key).is_none()) {
            // Fields written by an earlier run (or prepared by the operator): by their name,
            // as Freshdesk derives it from a label, or by a label equal to the key.
            for (_, name, label, ty) in self.person_defs(entity, id).await? {
                for v in values.iter().filter(|v| cached(&v.key).is_none()) {
                    if name == snake(&v.key) || label.eq_ignore_ascii_case(&v.key) {
                        self.cache_person(entity, &v.key, &name, &ty);
                    }
                }
            }
        }
        // Keys no field answers to are remembered as such: the definitions are read once.
        for v in values.iter().filter(|v| cached(&v.key).is_none()) {
            self.cache_person(entity, &v.key, "", "");
        }
        for v in values {
            let Some((name, ty)) = cached(&v.key).filter(|(n, _)| !n.is_empty()) else {
                missing.push(v.clone());
                continue;
            };
            let parsed: Value = serde_json::from_str(&v.value).unwrap_or(json!(v.value));
            let list: Vec<String> = match &parsed {
                Value::Null => continue,
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            out.insert(name, map::field_value(&ty, &list));
        }
        Ok((out, missing))
    }
}

impl FreshdeskTarget {
    /// The email of a person ticket `t` names (a CC or follower): the bundle's, else (a delta
    /// naming a person of an earlier bundle) read from the contact or agent the ledger names.
    pub(super) async fn email_of(
        &self,
        t: &MappedTicket,
        source_id: &str,
    ) -> Result<Option<String>, WriteError> {
        if let Some(e) = t.emails.get(source_id) {
            return Ok(Some(e.clone()));
        }
        let Some(tid) = self.known("users", source_id) else { return Ok(None) };
        let email = match self.client.get(DEFAULT, &format!("/api/v2/contacts/{tid}")).await {
            Ok(c) => c["email"].as_str().map(str::to_string),
            Err(e) if e.status() == Some(404) => {
                match self.client.get(DEFAULT, &format!("/api/v2/agents/{tid}")).await {
                    Ok(a) => a["contact"]["email"].as_str().map(str::to_string),
                    Err(e) if e.status() == Some(404) => None,
                    Err(e) => return Err(http("users", source_id)(e)),
                }
            }
            Err(e) => return Err(http("users", source_id)(e)),
        };
        Ok(email)
    }
}

/// The report's words for values of fields Freshdesk does not have (their field rows say why).
fn later(values: &[CustomFieldValue]) -> String {
    let keys: Vec<&str> = values.iter().map(|v| v.key.as_str()).collect();
    format!(
        "values of {} not loaded: Freshdesk has no such field yet (its field row says why); the run after it exists sets them",
        keys.join(", ")
    )
}
