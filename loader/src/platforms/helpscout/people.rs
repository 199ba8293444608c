//! Customers, created once and found by email (Help Scout keeps one customer per address and
//! answers a second create with 409), and users (agents), matched, never created.

use deskferry_extractor::http::Request;
use deskferry_extractor::platforms::helpscout::client::{DEFAULT, esc};
use deskferry_format::UserKind;

use super::load::{HelpScoutTarget, http, id_of, name_of};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedUser, ReadUser, Readback, Written};

impl HelpScoutTarget {
    /// The customer holding `email` (`query=(email:"…")`), if any.
    pub(super) async fn customer_by_email(
        &self,
        email: &str,
        source_id: &str,
    ) -> Result<Option<String>, WriteError> {
        let q = format!("(email:\"{}\")", email.replace('"', ""));
        let v = self
            .client
            .get(&format!("/v2/customers?query={}", esc(&q)))
            .await
            .map_err(http("users", source_id))?;
        Ok(v["_embedded"]["customers"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|c| id_of(&c["id"])))
    }

    /// [`crate::target::Target::write_user`]: an agent is matched to the user of its email
    /// (Help Scout's API creates no users); an end user becomes a customer, or is matched to
    /// the customer holding their address.
    pub(super) async fn write_customer(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let u = &user.user;
        if u.kind == UserKind::Agent {
            return Ok(match &user.matched_agent {
                Some(t) => Written::Matched(t.clone()),
                None => Written::Skipped(
                    "agent without a Help Scout user of the same email: the API creates no users; their threads go to the default user".into(),
                ),
            });
        }
        let err = || http("users", &u.id);
        let mut emails: Vec<String> = u.email.iter().chain(&u.other_emails).cloned().collect();
        emails.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        let mut notes: Vec<String> = Vec::new();
        if !u.tags.is_empty() || !u.custom_fields.is_empty() {
            notes.push("Help Scout: customer tags and properties are not loaded".into());
        }
        let fallback = format!("Customer {}", u.id);
        let body = |emails: &[String]| {
            map::customer(
                u.name.as_deref(),
                &fallback,
                emails,
                u.phone.as_deref(),
                user.organization.as_deref(),
            )
        };
        let done = |id: String, notes: &[String]| {
            if notes.is_empty() {
                Written::Migrated(id)
            } else {
                Written::Limited(id, notes.join("; "))
            }
        };
        if let Some(id) = prior {
            // Names and organization (addresses are sub-resources, kept as first written).
            let mut b = body(&emails);
            if let Some(m) = b.as_object_mut() {
                m.remove("emails");
                m.remove("phones");
            }
            let req = Request::put_json(DEFAULT, &format!("/v2/customers/{id}"), b).retry_unsafe();
            match self.send(req).await {
                Ok(_) => return Ok(done(id.to_string(), &notes)),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        loop {
            let mut req = Request::post_json(DEFAULT, "/v2/customers", body(&emails));
            if !emails.is_empty() {
                // A create whose answer was lost is repeated: its 409 then finds it.
                req = req.retry_unsafe();
            }
            match self.create(req).await {
                Ok(id) => return Ok(done(id, &notes)),
                Err(e) if e.status() == Some(409) && !emails.is_empty() => {
                    if let Some(id) = self.customer_by_email(&emails[0], &u.id).await? {
                        // Another user of the bundle with this address (without regard to
                        // case), or this one created by a run whose answer was lost.
                        return Ok(Written::Limited(
                            id.clone(),
                            format!(
                                "Help Scout keeps one customer per address, without regard to case: matched to customer {id}, which keeps its own name"
                            ),
                        ));
                    }
                    // A further address another customer holds: left out, and created again.
                    if emails.len() > 1 {
                        emails.truncate(1);
                        notes.push(
                            "Help Scout: further emails another customer holds were not added"
                                .into(),
                        );
                        continue;
                    }
                    return Err(err()(e));
                }
                Err(e) => return Err(err()(e)),
            }
        }
    }

    /// [`crate::target::Target::read_user`]: a customer, else the user an agent was matched to.
    pub(super) async fn read_person(&self, id: &str) -> Result<Readback<ReadUser>, WriteError> {
        match self.client.get(&format!("/v2/customers/{id}")).await {
            Ok(c) => {
                let emails = c["_embedded"]["emails"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["value"].as_str().map(str::to_string))
                    .collect();
                Ok(Readback::Found(ReadUser { name: name_of(&c), emails }))
            }
            Err(e) if e.status() == Some(404) => {
                match self.client.get(&format!("/v2/users/{id}")).await {
                    Ok(u) => Ok(Readback::Found(ReadUser {
                        name: name_of(&u),
                        emails: u["email"].as_str().map(str::to_string).into_iter().collect(),
                    })),
                    Err(e) if e.status() == Some(404) => Ok(Readback::Missing),
                    Err(e) => Err(http("users", id)(e)),
                }
            }
            Err(e) => Err(http("users", id)(e)),
        }
    }
}
