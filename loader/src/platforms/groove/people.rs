//! Contacts (end users), created through v2 GraphQL with their address, name, phone and fields
//! (Groove's CRM keeps each as a custom field value) and added to their company; agents are
//! matched, never created; reading contacts and companies back.

use deskferry_format::UserKind;
use serde_json::{Value, json};

use super::load::{GrooveTarget, http, id_of, other, payload_errors};
use crate::error::WriteError;
use crate::target::{MappedUser, ReadOrganization, ReadUser, Readback, Written};

impl GrooveTarget {
    /// The contact holding `email`, if any.
    pub(super) async fn contact_by_email(
        &self,
        email: &str,
        source_id: &str,
    ) -> Result<Option<String>, WriteError> {
        let q = "query($filter: ContactFilter, $first: Int) { contacts(filter: $filter, first: $first) { nodes { id } } }";
        let d = self
            .client
            .graphql(q, json!({ "filter": { "email": email }, "first": 1 }), true)
            .await
            .map_err(http("users", source_id))?;
        Ok(d["contacts"]["nodes"].as_array().and_then(|n| n.first()).and_then(|c| id_of(&c["id"])))
    }

    /// [`crate::target::Target::write_user`].
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
                    "agent without a Groove agent of the same email: Groove's API creates no agents; their messages go to the default agent, naming them".into(),
                ),
            });
        }
        let Some(email) = u.email.clone() else {
            return Ok(Written::Skipped(
                "Groove keeps people by address: a person without one is not a contact; their messages are written as the ticket's customer's, naming them".into(),
            ));
        };
        if let Some(p) = prior {
            return Ok(Written::Limited(
                p.to_string(),
                "changed at the source since it was migrated; Groove contacts are not updated by this tool".into(),
            ));
        }
        let fields = self.fields().await?;
        let info =
            |key: &str| fields.iter().find(|f| f.category == "CONTACT_INFORMATION" && f.key == key);
        let mut lost: Vec<String> = Vec::new();
        let mut contact_info = Vec::new();
        match info("email") {
            Some(f) => contact_info.push(json!({ "customFieldId": f.id, "value": email })),
            None => {
                return Err(other(
                    "users",
                    &u.id,
                    "Groove shows no contact address field (customFields, category CONTACT_INFORMATION, key email)",
                ));
            }
        }
        for (key, value) in [("name", u.name.as_deref()), ("phone", u.phone.as_deref())] {
            if let (Some(v), Some(f)) = (value, info(key)) {
                contact_info.push(json!({ "customFieldId": f.id, "value": v }));
            }
        }
        let mut custom = Vec::new();
        for v in &u.custom_fields {
            match fields.iter().find(|f| f.category == "CONTACT" && f.key == v.key) {
                Some(f) => custom.push(json!({ "customFieldId": f.id, "value": v.value })),
                None => lost.push(format!("Groove has no contact field {:?}", v.key)),
            }
        }
        if !u.other_emails.is_empty() || !u.tags.is_empty() {
            lost.push("Groove keeps one address and no tags per contact".into());
        }
        let q = "mutation($input: ContactCreateInput!) { contactCreate(input: $input) { contact { id } errors { path message } } }";
        let input = json!({
            "contactType": "CONTACT",
            "contactInformationFields": contact_info,
            "customFields": custom,
        });
        let d = self
            .client
            .graphql(q, json!({ "input": input }), false)
            .await
            .map_err(http("users", &u.id))?;
        let p = &d["contactCreate"];
        let (id, matched) = match payload_errors(p) {
            None => (
                id_of(&p["contact"]["id"])
                    .ok_or_else(|| other("users", &u.id, "the answer names no contact id"))?,
                false,
            ),
            Some(e) if e.contains("already been taken") => {
                // Another person of the bundle with this address, one an earlier ticket
                // created, or this one created by a run whose answer was lost.
                let id = self.contact_by_email(&email, &u.id).await?.ok_or_else(|| {
                    other(
                        "users",
                        &u.id,
                        format!("Groove refused the contact ({e}) and shows none for its address"),
                    )
                })?;
                (id, true)
            }
            Some(e) => {
                return Err(other("users", &u.id, format!("Groove refused the contact: {e}")));
            }
        };
        if let Some(company) = &user.organization {
            let q = "mutation($input: CompanyAddContactsInput!) { companyAddContacts(input: $input) { company { id } errors { path message } } }";
            let d = self
                .client
                .graphql(q, json!({ "input": { "companyId": company, "contactIds": [id] } }), true)
                .await
                .map_err(http("users", &u.id))?;
            if let Some(e) = payload_errors(&d["companyAddContacts"]) {
                lost.push(format!("not added to company {company}: {e}"));
            }
        }
        if matched {
            lost.insert(
                0,
                format!("Groove keeps one contact per address: matched to contact {id}"),
            );
        }
        Ok(if lost.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, lost.join("; "))
        })
    }

    async fn node(&self, id: &str, entity: &str) -> Result<Value, WriteError> {
        let q = "query($id: ID!) { node(id: $id) { id ... on Contact { name email } ... on Company { name } } }";
        let d =
            self.client.graphql(q, json!({ "id": id }), true).await.map_err(http(entity, id))?;
        Ok(d["node"].clone())
    }

    /// [`crate::target::Target::read_user`]: a contact, else the agent an agent was matched
    /// to (its address is its id).
    pub(super) async fn read_contact(&self, id: &str) -> Result<Readback<ReadUser>, WriteError> {
        if id.contains('@') {
            let a = self.agents.lock().unwrap_or_else(|e| e.into_inner()).clone();
            return Ok(match a.iter().find(|a| a.id.eq_ignore_ascii_case(id)) {
                Some(a) => Readback::Found(ReadUser {
                    name: Some(a.name.clone()).filter(|n| !n.is_empty()),
                    emails: vec![a.email.clone()],
                }),
                None => Readback::Missing,
            });
        }
        let n = self.node(id, "users").await?;
        if n.is_null() {
            return Ok(Readback::Missing);
        }
        Ok(Readback::Found(ReadUser {
            name: n["name"].as_str().map(str::to_string),
            emails: n["email"].as_str().map(str::to_string).into_iter().collect(),
        }))
    }

    /// [`crate::target::Target::read_organization`].
    pub(super) async fn read_company(
        &self,
        id: &str,
    ) -> Result<Readback<ReadOrganization>, WriteError> {
        let n = self.node(id, "organizations").await?;
        if n.is_null() {
            return Ok(Readback::Missing);
        }
        Ok(Readback::Found(ReadOrganization { name: n["name"].as_str().map(str::to_string) }))
    }
}
