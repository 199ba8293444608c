//! Users: creating them, and acting as them (RT records the authenticated user as a message's
//! author, so messages are posted as their authors wherever the loader can log in as them).

use secrecy::SecretString;

use deskferry_extractor::http::HttpError;
use deskferry_extractor::platforms::rt::client::RtClient;
use deskferry_extractor::platforms::rt::wire::{num, text};
use serde_json::{Map, Value, json};

use super::load::{Login, RtTarget, http_err, other};
use super::map::{USER_MARKER, encode_id};
use crate::error::WriteError;
use crate::target::{Author, MappedUser, Written};

/// The password of a user this loader created: derived from the API token and the user's
/// name, so a later run (after a crash) can post as that user again without storing anything.
/// REST 2 can set a password only when it creates the user. Knowing one password reveals nothing
/// of the token (SHA-256), and whoever has the token is an RT superuser anyway.
fn derived_password(token: &SecretString, name: &str) -> SecretString {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"deskferry rt user password\0");
    h.update(token.expose_secret().as_bytes());
    h.update(b"\0");
    h.update(name.as_bytes());
    SecretString::from(format!("df-{}", hex::encode(h.finalize())))
}

/// What a user loses when RT holds another user's name but for case (the report keeps no
/// names or addresses).
const NAME_TAKEN: &str = "RT has a user of this name already (RT compares names without regard to case): created under the name with the source id appended";
/// What a user loses when RT refuses its address as another user's but for case.
const ADDRESS_REFUSED: &str =
    "RT refused the address (another user has it but for case): created without an address";

impl RtTarget {
    /// RT user name of a target user id (role members are given by name).
    pub(super) async fn user_name(&self, id: &str) -> Result<Option<String>, HttpError> {
        if let Some(n) = self.user_names.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(Some(n.clone()));
        }
        let Some(v) = self.api.get_opt(&format!("user/{id}")).await? else { return Ok(None) };
        let name = text(&v, "Name");
        if let Some(n) = &name {
            self.user_names
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.to_string(), n.clone());
        }
        Ok(name)
    }

    /// Target user id of the RT user named `name` (a message's Creator is given by name).
    pub(super) async fn user_id_of(&self, name: &str) -> Result<Option<String>, HttpError> {
        let known = self
            .user_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.clone());
        if known.is_some() {
            return Ok(known);
        }
        let Some(v) = self.api.get_opt(&format!("user/{}", encode_id(name))).await? else {
            return Ok(None);
        };
        let Some(id) = num(&v["id"]).map(|n| n.to_string()) else { return Ok(None) };
        self.user_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), name.to_string());
        Ok(Some(id))
    }

    /// A client acting as target user `id`, when the loader created that user.
    pub(super) async fn login(&self, id: &str) -> Result<Option<Login>, HttpError> {
        if let Some(l) = self.logins.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(l.clone());
        }
        let login = match self.api.get_opt(&format!("user/{id}")).await? {
            Some(v) if v["Comments"].as_str().is_some_and(|c| c.contains(USER_MARKER)) => {
                let name = text(&v, "Name").unwrap_or_default();
                let client = RtClient::with_password(
                    &self.url,
                    &name,
                    derived_password(&self.token, &name),
                )?;
                Some(Login { client, disabled: v["Disabled"].as_str().unwrap_or("0") != "0" })
            }
            _ => None,
        };
        self.logins.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), login.clone());
        Ok(login)
    }

    /// Whether target user `id` is disabled (a departed agent who still owns tickets).
    pub(super) async fn is_disabled(&self, id: &str) -> Result<bool, HttpError> {
        if let Some(Some(l)) = self.logins.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(l.disabled);
        }
        let v = self.api.get_opt(&format!("user/{id}")).await?;
        Ok(v.is_some_and(|v| v["Disabled"].as_str().unwrap_or("0") != "0"))
    }

    /// The id of the enabled user with this email address, when this loader created it.
    pub(super) async fn own_user_by_email(&self, email: &str) -> Result<Option<String>, HttpError> {
        let key = email.to_lowercase();
        if let Some(hit) = self.by_email.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(hit.clone());
        }
        let q = json!([{ "field": "EmailAddress", "value": email }]).to_string();
        let found = self.api.page("users", &[("query", &q), ("fields", "id,Comments")], 1).await?;
        // Enabled users only (disabled ones are not listed without `find_disabled_rows`): the
        // mapping sends inactive and deleted agents' messages to the default agent on purpose.
        let hit = found
            .items
            .iter()
            .find(|v| v["Comments"].as_str().is_some_and(|c| c.contains(USER_MARKER)))
            .and_then(|v| num(&v["id"]))
            .map(|n| n.to_string());
        self.by_email.lock().unwrap_or_else(|e| e.into_inner()).insert(key, hit.clone());
        Ok(hit)
    }

    /// Runs one post as `author` when possible, else as the API user; returns the answer and
    /// whether it was posted as the author. RT refuses disabled users and queues, so a disabled
    /// author, and the disabled users and queues in `enable` (a new ticket's departed owner, a
    /// deleted group's queue), are enabled for the moment of the post — under one lock each,
    /// taken in a fixed order, because tickets are written concurrently.
    pub(super) async fn post_as(
        &self,
        author: &Author,
        path: &str,
        enable: &[String],
        body: impl Fn(bool) -> Value,
    ) -> Result<(deskferry_extractor::http::Response, bool), HttpError> {
        let target_id = if !author.defaulted {
            author.target_id.clone()
        } else {
            // The mapping found no target agent: the author may still be a user this loader
            // created (an agent the mapping could not match before it existed); else the
            // default agent stands in.
            let own = match &author.email {
                Some(email) => self.own_user_by_email(email).await?,
                None => None,
            };
            own.or_else(|| author.target_id.clone())
        };
        let login = match &target_id {
            Some(id) => self.login(id).await?.map(|l| (id.clone(), l)),
            None => None,
        };
        let mut keys: Vec<String> = enable.to_vec();
        if let Some((id, l)) = &login
            && l.disabled
        {
            keys.push(format!("user/{id}"));
        }
        keys.sort();
        keys.dedup();
        let mut holds = Vec::with_capacity(keys.len());
        for k in &keys {
            holds.push(self.hold(k).await);
        }
        for k in &keys {
            self.api.put(k, json!({ "Disabled": 0 })).await?;
        }
        let res = match &login {
            Some((id, l)) => match l.client.post(path, body(true), false).await {
                Ok(r) => Ok((r, true)),
                // The author lacks the right (real RTs rarely let customers comment), or its
                // password is not the one derived from this token (created with another
                // token): post as the API user instead, naming the author.
                Err(e) if matches!(e.status(), Some(401 | 403)) => {
                    self.logins.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), None);
                    self.api.post(path, body(false), false).await.map(|r| (r, false))
                }
                Err(e) => Err(e),
            },
            None => self.api.post(path, body(false), false).await.map(|r| (r, false)),
        };
        for k in &keys {
            self.api.put(k, json!({ "Disabled": 1 })).await?;
        }
        drop(holds);
        res
    }

    /// Disables target user `id` when the source user is inactive, deleted or suspended.
    async fn disable_if_departed(
        &self,
        u: &deskferry_format::User,
        id: &str,
    ) -> Result<(), HttpError> {
        if departed(u) {
            self.api.put(&format!("user/{id}"), json!({ "Disabled": 1 })).await?;
        }
        Ok(())
    }

    /// See `Target::write_user`: matched agent, an earlier run's user, a user with the same
    /// email address, else a new one (privileged for agents, disabled when inactive).
    pub(super) async fn write_user_impl(
        &self,
        mu: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let u = &mu.user;
        let sid = u.id.as_str();
        let e = |e| http_err("users", sid, e);
        let remember = |target: &str| {
            self.users
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(u.id.clone(), target.to_string());
        };
        if let Some(agent) = &mu.matched_agent {
            remember(agent);
            return Ok(Written::Matched(agent.clone()));
        }
        let org = mu.organization.clone().or_else(|| {
            let id = u.organization_id.as_ref()?;
            self.orgs.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
        });
        let mut attrs = Map::new();
        if let Some(n) = &u.name {
            attrs.insert("RealName".into(), json!(n.replace(['\r', '\n'], " ")));
        }
        if let Some(o) = &org {
            attrs.insert("Organization".into(), json!(o));
        }
        if let Some(p) = &u.phone {
            attrs.insert("WorkPhone".into(), json!(p));
        }
        // An earlier run created it: bring it up to date.
        if let Some(id) = prior
            && self.api.get_opt(&format!("user/{id}")).await.map_err(e)?.is_some()
        {
            self.api.put(&format!("user/{id}"), Value::Object(attrs)).await.map_err(e)?;
            remember(id);
            return Ok(Written::Migrated(id.to_string()));
        }
        // Someone with this address exists already (RT compares addresses ignoring case).
        let email = u.email.clone().filter(|m| !m.is_empty());
        if let Some(m) = &email {
            let q = json!([{ "field": "EmailAddress", "value": m }]).to_string();
            let found = self
                .api
                .page(
                    "users",
                    &[("query", &q), ("fields", "id,Comments"), ("find_disabled_rows", "1")],
                    1,
                )
                .await
                .map_err(e)?;
            let comment = format!("{USER_MARKER} (source user {sid})");
            if let Some(v) = found.items.first() {
                let id = num(&v["id"]).map(|n| n.to_string()).unwrap_or_default();
                let note = v["Comments"].as_str().unwrap_or_default();
                if note == comment {
                    // This very user, created by an earlier run that did not record it (and
                    // that may have stopped before disabling it).
                    self.disable_if_departed(u, &id).await.map_err(e)?;
                    remember(&id);
                    return Ok(Written::Migrated(id));
                }
                if !note.contains(USER_MARKER) {
                    // Someone the target had: matched by address.
                    remember(&id);
                    return Ok(Written::Matched(id));
                }
                // Another source user this tool created holds the address but for case (RT's
                // search ignores case): this one gets a user of its own below.
            }
        }
        let comment = format!("{USER_MARKER} (source user {sid})");
        let mut name = email.clone().unwrap_or_else(|| format!("user-{sid}"));
        for candidate in [name.clone(), format!("{name}-{}", encode_id(sid))] {
            name = candidate;
            match self.api.get_opt(&format!("user/{}", encode_id(&name))).await.map_err(e)? {
                // This very user, created by an earlier attempt that crashed before the ledger
                // knew (users without an address are found by name only).
                Some(v) if v["Comments"].as_str() == Some(comment.as_str()) => {
                    let id = num(&v["id"]).ok_or_else(|| other("users", sid, "user without id"))?;
                    let id = id.to_string();
                    self.disable_if_departed(u, &id).await.map_err(e)?;
                    remember(&id);
                    // Created without the address RT refused (see below): still say so.
                    if email.is_some() && text(&v, "EmailAddress").is_none() {
                        return Ok(Written::Limited(id, ADDRESS_REFUSED.into()));
                    }
                    return Ok(Written::Migrated(id));
                }
                Some(_) => continue,
                None => break,
            }
        }
        let mut body = attrs.clone();
        body.insert("Comments".into(), json!(comment));
        if u.kind == deskferry_format::UserKind::Agent {
            body.insert("Privileged".into(), json!(1));
        }
        if let Some(m) = &email {
            body.insert("EmailAddress".into(), json!(m));
        }
        // RT compares names and addresses without regard to case, and its searches on SQLite
        // with it: an address equal to another user's but for case is found only when RT
        // refuses it. Such a user gets a name of its own and, if RT still refuses it, no
        // address; the report says so.
        let mut kept: Vec<String> = Vec::new();
        let pw = loop {
            let pw = derived_password(&self.token, &name);
            body.insert("Name".into(), json!(name));
            {
                use secrecy::ExposeSecret;
                body.insert("Password".into(), json!(pw.expose_secret()));
            }
            let err = match self.api.post("user", Value::Object(body.clone()), false).await {
                Ok(_) => break pw,
                Err(err) if err.status() == Some(400) => err,
                Err(err) => return Err(e(err)),
            };
            let suffixed = format!("{}-{}", email.as_deref().unwrap_or(&name), encode_id(sid));
            if err.to_string().contains("Name in use") && name != suffixed {
                kept.push(NAME_TAKEN.to_string());
                name = suffixed;
            } else if email.is_some() && body.contains_key("EmailAddress") {
                kept.push(ADDRESS_REFUSED.to_string());
                body.remove("EmailAddress");
            } else {
                return Err(e(err));
            }
        };
        let v = self
            .api
            .get_opt(&format!("user/{}", encode_id(&name)))
            .await
            .map_err(e)?
            .ok_or_else(|| other("users", sid, "created user not found"))?;
        let id = num(&v["id"]).ok_or_else(|| other("users", sid, "user without id"))?.to_string();
        let disabled = departed(u);
        self.disable_if_departed(u, &id).await.map_err(e)?;
        let client = RtClient::with_password(&self.url, &name, pw).map_err(e)?;
        self.logins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Some(Login { client, disabled }));
        self.user_names.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), name);
        remember(&id);
        Ok(if kept.is_empty() {
            Written::Migrated(id)
        } else {
            Written::Limited(id, kept.join("; "))
        })
    }
}

/// A source user RT keeps disabled: inactive, deleted or suspended.
fn departed(u: &deskferry_format::User) -> bool {
    !u.active || u.is_deleted || u.suspended
}
