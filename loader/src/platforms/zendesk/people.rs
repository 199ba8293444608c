//! Users, agents, organizations, groups and ticket field definitions, and the bulk jobs that
//! carry users and organizations.
//!
//! Users go through `users/create_or_update_many` (matched by email without regard to case,
//! or by external id: a repeat updates rather than duplicates), organizations new to the
//! account through `organizations/create_many` and known ones through
//! `organizations/create_or_update` (Zendesk has no bulk create-or-update for them, and matches
//! them by id or external id, never by name). A bulk request answers a job
//! (`JobStatusObject`), polled at `job_statuses/{id}` until `completed`; its `results` say
//! per record what became of it (a created one `{id, index}`, an updated one
//! `{action, id, status, success}`, a failed one `{index, error, details}`), the three shapes of
//! `JobStatusResultObject` in Zendesk's Support OpenAPI file.

use std::time::{Duration, Instant};

use deskferry_extractor::http::Request;
use deskferry_extractor::platforms::zendesk::client::DEFAULT;
use deskferry_format::{CustomField, Group, Organization};
use serde_json::{Value, json};

use super::load::{ZendeskTarget, dup, http, other};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedUser, Written};

/// One user of a bulk request.
pub(crate) struct UserItem {
    source_id: String,
    body: Value,
}

/// One organization of a bulk request.
pub(crate) struct OrgItem {
    source_id: String,
    body: Value,
}

/// A job result's record index (its `index`, else its place in the list) and outcome:
/// `Ok((id, created))` or the error and details Zendesk gave.
pub(super) fn job_outcome(pos: usize, r: &Value) -> (usize, Result<(u64, bool), String>) {
    let index = r.get("index").and_then(Value::as_u64).map_or(pos, |i| i as usize);
    let failed =
        r.get("success").and_then(Value::as_bool) == Some(false) || r.get("error").is_some();
    match r.get("id").and_then(Value::as_u64) {
        Some(id) if !failed => {
            let updated = r.get("status").and_then(Value::as_str) == Some("Updated")
                || r.get("action").and_then(Value::as_str) == Some("update");
            (index, Ok((id, !updated)))
        }
        _ => {
            let error = r.get("error").and_then(Value::as_str).unwrap_or("failed");
            let details = match r.get("details") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            (index, Err(format!("{error}: {details}")))
        }
    }
}

impl ZendeskTarget {
    /// Waits for the job a bulk request answered; its results, or why there are none (polling
    /// failed, Zendesk reports the job failed or killed, or it did not finish in time): then
    /// the caller looks for each record, which may or may not have been written.
    pub(super) async fn job(&self, answer: &Value) -> Result<Vec<Value>, String> {
        let mut js = answer.get("job_status").cloned().unwrap_or(Value::Null);
        let deadline = Instant::now() + self.opts.job_wait;
        let mut pause = Duration::from_millis(50);
        loop {
            match js.get("status").and_then(Value::as_str) {
                Some("completed") => {
                    return Ok(js
                        .get("results")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default());
                }
                Some(s @ ("failed" | "killed")) => {
                    let msg = js.get("message").and_then(Value::as_str).unwrap_or_default();
                    return Err(format!("Zendesk's job {s}: {msg}"));
                }
                _ => {}
            }
            let Some(id) = js.get("id").and_then(Value::as_str).map(str::to_string) else {
                return Err("the bulk request answered no job".into());
            };
            if Instant::now() + pause > deadline {
                return Err(format!(
                    "job {id} did not complete within {} s",
                    self.opts.job_wait.as_secs()
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            let path = format!("/api/v2/job_statuses/{id}.json");
            js = self
                .send(Request::get(DEFAULT, &path))
                .await
                .map_err(|e| e.to_string())?
                .get("job_status")
                .cloned()
                .unwrap_or(Value::Null);
        }
    }

    /// [`crate::target::Target::write_user`]: an agent matched to one of the account's is not
    /// written; everyone else is created or updated (agents as agents).
    pub(super) async fn write_person(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let sid = user.user.id.as_str();
        if let Some(agent) = &user.matched_agent {
            return Ok(Written::Matched(agent.clone()));
        }
        // Zendesk matches addresses without regard to case: the second user of an address
        // would rename the first. It waits for the first's write, is sent with the address
        // only, and shares that user.
        let (mut wait, mut done) = (None, None);
        if let Some(e) = user.user.email.as_deref().map(|e| e.trim().to_lowercase())
            && !e.is_empty()
        {
            let mut a = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
            match a.get(&e) {
                Some((owner, rx)) if owner != sid => wait = Some(rx.clone()),
                Some(_) => {}
                None => {
                    let (tx, rx) = tokio::sync::watch::channel(false);
                    a.insert(e, (sid.to_string(), rx));
                    done = Some(tx);
                }
            }
        }
        let shared = wait.is_some();
        if let Some(mut rx) = wait {
            let _ = rx.wait_for(|finished| *finished).await;
        }
        let item = UserItem { source_id: sid.to_string(), body: map::user(user, shared) };
        let written = if self.bulk_users_off() {
            self.user_single(&item).await
        } else {
            self.users_batch
                .submit(item, &self.at_once, |items| self.flush_users(items))
                .await
                .unwrap_or_else(|| Err(other("users", sid, "the bulk request gave no outcome")))
        };
        if let Some(tx) = done {
            let _ = tx.send(true);
        }
        let (id, created) = written?;
        Ok(if shared {
            Written::Limited(
                id,
                "Zendesk keeps one user per address, without regard to case: this user shares the user of that address, who keeps their own name".into(),
            )
        } else if created || prior.is_some() {
            Written::Migrated(id)
        } else {
            Written::Matched(id)
        })
    }

    /// One user through `users/create_or_update` (201 created, 200 updated).
    async fn user_single(&self, item: &UserItem) -> Result<(String, bool), WriteError> {
        let req = Request::post_json(
            DEFAULT,
            "/api/v2/users/create_or_update.json",
            json!({ "user": item.body }),
        )
        .retry_unsafe();
        let r = self.client.http().send(req).await.map_err(http("users", &item.source_id))?;
        let v: Value = r.json().map_err(http("users", &item.source_id))?;
        let id = v
            .pointer("/user/id")
            .and_then(Value::as_u64)
            .ok_or_else(|| other("users", &item.source_id, "the answer has no user id"))?;
        Ok((id.to_string(), r.status == 201))
    }

    async fn flush_users(&self, items: Vec<UserItem>) -> Vec<Result<(String, bool), WriteError>> {
        if items.len() > 1 && !self.bulk_users_off() {
            let body = json!({ "users": items.iter().map(|i| i.body.clone()).collect::<Vec<_>>() });
            let req = Request::post_json(DEFAULT, "/api/v2/users/create_or_update_many.json", body)
                .retry_unsafe();
            match self.send(req).await {
                Ok(answer) => return self.user_results(&items, &answer).await,
                // The bulk import is off for this account: one request per user from now on.
                Err(e) if e.status() == Some(403) => self.set_bulk_users_off(),
                Err(e) => {
                    return items
                        .iter()
                        .map(|i| Err(http("users", &i.source_id)(dup(&e))))
                        .collect();
                }
            }
        }
        futures_util::future::join_all(items.iter().map(|i| self.user_single(i))).await
    }

    async fn user_results(
        &self,
        items: &[UserItem],
        answer: &Value,
    ) -> Vec<Result<(String, bool), WriteError>> {
        let results = match self.job(answer).await {
            Ok(r) => r,
            // Upserts are safe to repeat: each user alone.
            Err(_) => {
                return futures_util::future::join_all(items.iter().map(|i| self.user_single(i)))
                    .await;
            }
        };
        let mut out: Vec<Option<Result<(String, bool), WriteError>>> =
            items.iter().map(|_| None).collect();
        for (pos, r) in results.iter().enumerate() {
            let (i, o) = job_outcome(pos, r);
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(match o {
                    Ok((id, created)) => Ok((id.to_string(), created)),
                    Err(m) => Err(WriteError::Rejected {
                        entity: "users".into(),
                        source_id: items[i].source_id.clone(),
                        message: m,
                    }),
                });
            }
        }
        let mut done = Vec::with_capacity(items.len());
        for (i, o) in out.into_iter().enumerate() {
            done.push(match o {
                Some(o) => o,
                None => self.user_single(&items[i]).await,
            });
        }
        done
    }

    /// [`crate::target::Target::write_organization`].
    pub(super) async fn write_org(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let sid = org.id.as_str();
        if let Some(id) = prior {
            let id = self.org_upsert(sid, map::organization(org, Some(id))).await?;
            self.learn("organizations", sid, &id);
            return Ok(Written::Migrated(id));
        }
        let item = OrgItem { source_id: sid.to_string(), body: map::organization(org, None) };
        let w = self
            .orgs_batch
            .submit(item, &self.at_once, |items| self.flush_orgs(items))
            .await
            .unwrap_or_else(|| {
                Err(other("organizations", sid, "the bulk request gave no outcome"))
            });
        let w = match w {
            Ok(id) => Written::Migrated(id),
            // Taken: its external id (an earlier attempt whose answer was lost) or its name (an
            // organization the account had): that one is brought up to date.
            Err(WriteError::Rejected { .. }) => self.org_existing(org).await?,
            Err(e) => return Err(e),
        };
        if let Some(id) = w.target_id() {
            self.learn("organizations", sid, id);
        }
        Ok(w)
    }

    async fn org_upsert(&self, sid: &str, body: Value) -> Result<String, WriteError> {
        let req = Request::post_json(
            DEFAULT,
            "/api/v2/organizations/create_or_update.json",
            json!({ "organization": body }),
        )
        .retry_unsafe();
        let v = self.send(req).await.map_err(http("organizations", sid))?;
        v.pointer("/organization/id")
            .and_then(Value::as_u64)
            .map(|n| n.to_string())
            .ok_or_else(|| other("organizations", sid, "the answer has no organization id"))
    }

    /// An organization whose create was refused: the one of its external id, else of its name.
    async fn org_existing(&self, org: &Organization) -> Result<Written, WriteError> {
        let sid = org.id.as_str();
        match self.org_upsert(sid, map::organization(org, None)).await {
            Ok(id) => Ok(Written::Matched(id)),
            Err(WriteError::Rejected { .. }) => {
                let path = format!(
                    "/api/v2/organizations/search.json?name={}",
                    super::read::query_escape(org.name.trim())
                );
                let v = self
                    .send(Request::get(DEFAULT, &path))
                    .await
                    .map_err(http("organizations", sid))?;
                let Some(id) = v.pointer("/organizations/0/id").and_then(Value::as_u64) else {
                    return Err(other(
                        "organizations",
                        sid,
                        "Zendesk refused the organization and has none of its external id or name",
                    ));
                };
                let id =
                    self.org_upsert(sid, map::organization(org, Some(&id.to_string()))).await?;
                Ok(Written::Matched(id))
            }
            Err(e) => Err(e),
        }
    }

    async fn flush_orgs(&self, items: Vec<OrgItem>) -> Vec<Result<String, WriteError>> {
        if items.len() == 1 {
            return vec![self.org_upsert(&items[0].source_id, items[0].body.clone()).await];
        }
        let body =
            json!({ "organizations": items.iter().map(|i| i.body.clone()).collect::<Vec<_>>() });
        let req = Request::post_json(DEFAULT, "/api/v2/organizations/create_many.json", body);
        let answer = match self.send(req).await {
            Ok(a) => a,
            Err(e) => {
                // Create-or-update by external id is safe to repeat: each alone.
                if super::load::in_doubt(&e) {
                    return futures_util::future::join_all(
                        items.iter().map(|i| self.org_upsert(&i.source_id, i.body.clone())),
                    )
                    .await;
                }
                return items
                    .iter()
                    .map(|i| Err(http("organizations", &i.source_id)(dup(&e))))
                    .collect();
            }
        };
        // A job whose end is not seen leaves every record to the one-by-one upsert below.
        let results: Vec<Value> = self.job(&answer).await.unwrap_or_default();
        let mut out: Vec<Option<Result<String, WriteError>>> = items.iter().map(|_| None).collect();
        for (pos, r) in results.iter().enumerate() {
            let (i, o) = job_outcome(pos, r);
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(o.map(|(id, _)| id.to_string()).map_err(|m| WriteError::Rejected {
                    entity: "organizations".into(),
                    source_id: items[i].source_id.clone(),
                    message: m,
                }));
            }
        }
        let mut done = Vec::with_capacity(items.len());
        for (i, o) in out.into_iter().enumerate() {
            done.push(match o {
                Some(o) => o,
                None => self.org_upsert(&items[i].source_id, items[i].body.clone()).await,
            });
        }
        done
    }

    /// [`crate::target::Target::write_group`]: the account's group of that name, else a new one.
    pub(super) async fn write_group_impl(
        &self,
        g: &Group,
        _prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let err = || http("groups", &g.id);
        let groups =
            self.client.list_all(DEFAULT, "/api/v2/groups.json", "groups").await.map_err(err())?;
        if let Some(id) = groups
            .iter()
            .filter(|x| !x.get("deleted").and_then(Value::as_bool).unwrap_or(false))
            .find(|x| {
                x.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(&g.name))
            })
            .and_then(|x| x.get("id").and_then(Value::as_u64))
        {
            return Ok(Written::Matched(id.to_string()));
        }
        let mut body = json!({ "name": g.name });
        if let Some(d) = &g.description {
            body["description"] = json!(d);
        }
        let v = self
            .send(Request::post_json(DEFAULT, "/api/v2/groups.json", json!({ "group": body })))
            .await
            .map_err(err())?;
        v.pointer("/group/id")
            .and_then(Value::as_u64)
            .map(|n| Written::Migrated(n.to_string()))
            .ok_or_else(|| other("groups", &g.id, "the answer has no group id"))
    }

    /// [`crate::target::Target::write_field`]: a ticket field of the same title, else a new one
    /// of the kind's Zendesk type, with its options.
    pub(super) async fn write_field_impl(
        &self,
        f: &CustomField,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        if let Some(p) = prior {
            return Ok(Written::Migrated(p.to_string()));
        }
        if f.entity != deskferry_format::FieldEntity::Ticket {
            return self.write_person_field(f).await;
        }
        if let Some((id, _)) = self.field_ids().await?.get(&f.title.to_lowercase()) {
            return Ok(Written::Matched(id.to_string()));
        }
        let Some(body) = map::field(f) else {
            return Ok(Written::Skipped(format!(
                "Zendesk has no field type for a {:?} field; its values go into the custom-field note",
                f.kind
            )));
        };
        let v = self
            .send(Request::post_json(
                DEFAULT,
                "/api/v2/ticket_fields.json",
                json!({ "ticket_field": body }),
            ))
            .await
            .map_err(http("custom_fields", &f.id))?;
        *self.fields.lock().await = None;
        v.pointer("/ticket_field/id")
            .and_then(Value::as_u64)
            .map(|n| Written::Migrated(n.to_string()))
            .ok_or_else(|| other("custom_fields", &f.id, "the answer has no field id"))
    }

    /// A user or organization field: the account's field of the same key, else a new one.
    async fn write_person_field(&self, f: &CustomField) -> Result<Written, WriteError> {
        let (list, key) = match f.entity {
            deskferry_format::FieldEntity::User => ("user_fields", "user_field"),
            _ => ("organization_fields", "organization_field"),
        };
        let err = || http("custom_fields", &f.id);
        let want = map::person_field_key(&f.key);
        let path = format!("/api/v2/{list}.json");
        let defs = self.client.list_all(DEFAULT, &path, list).await.map_err(err())?;
        if let Some(id) = defs
            .iter()
            .find(|d| d.get("key").and_then(Value::as_str) == Some(want.as_str()))
            .and_then(|d| d.get("id").and_then(Value::as_u64))
        {
            return Ok(Written::Matched(id.to_string()));
        }
        let Some(body) = map::person_field(f) else {
            return Ok(Written::Skipped(format!(
                "Zendesk has no field type for a {:?} field; its values are not loaded",
                f.kind
            )));
        };
        let v = self
            .send(Request::post_json(DEFAULT, &path, json!({ key: body })))
            .await
            .map_err(err())?;
        v.get(key)
            .and_then(|d| d.get("id"))
            .and_then(Value::as_u64)
            .map(|n| Written::Migrated(n.to_string()))
            .ok_or_else(|| other("custom_fields", &f.id, "the answer has no field id"))
    }
}
