//! Companies and contacts: created once, found again by their external ids (`company_id` is an
//! upsert key; a taken contact `external_id` or email answers 409 naming the holder), and the
//! contact and company data attributes their custom attributes need.

use deskferry_extractor::platforms::intercom::client::{conflict_id, id_of};
use deskferry_format::{Organization, UserKind};
use serde_json::{Value, json};

use super::load::{IntercomTarget, http, other};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedUser, Written};

impl IntercomTarget {
    /// Creates the data attributes of `model` (`contact`, `company`) that `values` name and the
    /// workspace lacks, as text attributes.
    async fn ensure_attributes(
        &self,
        model: &str,
        values: &[deskferry_format::CustomFieldValue],
        entity: &str,
        id: &str,
    ) -> Result<(), WriteError> {
        if values.is_empty() {
            return Ok(());
        }
        let known = self.attributes.lock().unwrap_or_else(|e| e.into_inner()).get(model).cloned();
        let mut known = match known {
            Some(k) => k,
            None => {
                let v = self
                    .client
                    .get(&format!("/data_attributes?model={model}"))
                    .await
                    .map_err(http(entity, id))?;
                v.get("data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            }
        };
        for v in values {
            let name = map::attribute_name(&v.key);
            if known.contains(&name) {
                continue;
            }
            let body = json!({"name": name, "model": model, "data_type": "string", "description": format!("Loaded by deskferry from {}", v.key)});
            match self.client.post("/data_attributes", body).await {
                Ok(_) => {}
                // Taken meanwhile (another run, or the answer lost): it exists.
                Err(e) if e.status() == Some(400) => {}
                Err(e) => return Err(http(entity, id)(e)),
            }
            known.push(name);
        }
        self.attributes.lock().unwrap_or_else(|e| e.into_inner()).insert(model.to_string(), known);
        Ok(())
    }

    /// [`crate::target::Target::write_organization`]: `POST /companies` with the source id as
    /// `company_id` (an upsert: repeating it is harmless).
    pub(super) async fn write_company(
        &self,
        org: &Organization,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        self.ensure_attributes("company", &org.custom_fields, "organizations", &org.id).await?;
        let body = map::company(org, &org.id);
        let v = self
            .client
            .post_idempotent("/companies", body)
            .await
            .map_err(http("organizations", &org.id))?;
        let id = id_of(&v).ok_or_else(|| other("organizations", &org.id, "no id in the answer"))?;
        // Tags: `POST /tags` with the company tags it (creating the tag when new); tagging
        // twice is harmless.
        for name in &org.tags {
            self.client
                .post_idempotent("/tags", json!({"name": name, "companies": [{"id": id}]}))
                .await
                .map_err(http("organizations", &org.id))?;
        }
        let users = v.get("user_count").and_then(Value::as_u64).unwrap_or(0);
        let mut lost = Vec::new();
        if users == 0 {
            lost.push("Intercom lists a company only once a contact is attached to it: created and found by its company_id (the source id), listed when someone joins it");
        }
        if org.notes.is_some() {
            lost.push("its notes are not loaded (Intercom's API writes no company notes)");
        }
        Ok(if lost.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, format!("Intercom: {}", lost.join("; ")))
        })
    }

    /// [`crate::target::Target::write_user`]: agents are matched to admins (never created); an
    /// end user becomes a contact (a user) with the source id as `external_id`, attached to
    /// its company.
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
                    "agent without an Intercom admin of the same email: Intercom's API cannot create admins; their messages are written by the default admin".into(),
                ),
            });
        }
        self.ensure_attributes("contact", &u.custom_fields, "users", &u.id).await?;
        let body = map::contact(user, &u.id);
        let err = || http("users", &u.id);
        let id = match prior {
            Some(id) => match self.client.put(&format!("/contacts/{id}"), body.clone()).await {
                Ok(_) => Some(id.to_string()),
                Err(e) if e.status() == Some(404) => None,
                Err(e) => return Err(err()(e)),
            },
            None => None,
        };
        let (id, matched) = match id {
            Some(id) => (id, false),
            None => match self.client.post("/contacts", body.clone()).await {
                Ok(v) => {
                    (id_of(&v).ok_or_else(|| other("users", &u.id, "no id in the answer"))?, false)
                }
                Err(e) => match conflict_id(&e) {
                    // Ours from an earlier run whose answer was lost (its external_id is this
                    // user's id): updated and kept. Another contact holding the address: taken
                    // as it is, and reported.
                    Some(id) => {
                        let held =
                            self.client.get(&format!("/contacts/{id}")).await.map_err(err())?;
                        let ours =
                            held.get("external_id").and_then(Value::as_str) == Some(u.id.as_str());
                        if ours {
                            let mut b = body.clone();
                            if let Some(o) = b.as_object_mut() {
                                o.remove("external_id");
                            }
                            self.client.put(&format!("/contacts/{id}"), b).await.map_err(err())?;
                        }
                        (id, !ours)
                    }
                    None => return Err(err()(e)),
                },
            },
        };
        if let Some(company) = &user.organization {
            self.client
                .post_idempotent(&format!("/contacts/{id}/companies"), json!({"id": company}))
                .await
                .map_err(err())?;
        }
        if matched {
            let tags = if u.tags.is_empty() { "" } else { " and tags (its own are not added)" };
            return Ok(Written::Limited(
                id,
                format!(
                    "Intercom: one user contact per email address (and per external_id): matched to the contact holding it, whose name{tags} it keeps"
                ),
            ));
        }
        // Tags: attaching one a contact has is harmless, so a re-run or a lost answer adds
        // nothing twice.
        for name in &u.tags {
            let tag = self.tag(name, "users", &u.id).await?;
            self.client
                .post_idempotent(&format!("/contacts/{id}/tags"), json!({"id": tag}))
                .await
                .map_err(err())?;
        }
        Ok(Written::Migrated(id))
    }
}
