//! Companies, contacts, groups and ticket fields: created once, and matched to what holds the
//! same email or name already (Freshdesk answers a taken one with 409 `duplicate_value` and the
//! holder's id in `additional_info`).

use deskferry_extractor::platforms::freshdesk::client::{DEFAULT, duplicate_of};
use deskferry_format::{CustomField, FieldEntity, Group, Organization, UserKind};
use serde_json::{Value, json};

use super::load::{FreshdeskTarget, http, id_in, other};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedUser, Written};

impl FreshdeskTarget {
    /// [`crate::target::Target::write_organization`].
    pub(super) async fn write_company(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let body = json!({ "name": org.name, "domains": org.domains, "note": org.notes });
        let err = || http("organizations", &org.id);
        if let Some(id) = prior {
            match self.client.put(DEFAULT, &format!("/api/v2/companies/{id}"), body.clone()).await {
                Ok(_) => return Ok(Written::Migrated(id.to_string())),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        let lost = (!org.tags.is_empty() || !org.custom_fields.is_empty())
            .then(|| "Freshdesk: company tags and custom field values are not loaded".to_string());
        match self.client.post(DEFAULT, "/api/v2/companies", body).await {
            Ok(v) => {
                let id = id_in(&v)
                    .ok_or_else(|| other("organizations", &org.id, "no id in the answer"))?;
                Ok(match lost {
                    Some(l) => Written::Limited(id, l),
                    None => Written::Migrated(id),
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
        if !u.custom_fields.is_empty() {
            notes.push("Freshdesk: contact custom field values are not loaded".into());
        }
        if let Some(id) = prior {
            let mut update = body.clone();
            if let Some(m) = update.as_object_mut() {
                m.remove("unique_external_id");
            }
            match self.client.put(DEFAULT, &format!("/api/v2/contacts/{id}"), update).await {
                Ok(_) => return Ok(Written::Migrated(id.to_string())),
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
            return Ok(Written::Skipped(
                "Freshdesk: only ticket field definitions are created".into(),
            ));
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
            Err(e) => Err(http("custom_fields", &f.id)(e)),
        }
    }
}
