//! Contacts and accounts: found before they are created, never created twice.
//!
//! Both are looked up by the aliases Front documents (dev.frontapp.com/docs/resource-aliases-1:
//! `alt:{source}:{handle}` for contacts, `alt:ext_id:` and `alt:domain:` for accounts; a lookup
//! answers 404 when nothing holds the alias) before anything is created. What Front answers
//! when a create meets a taken handle or external id could not be established: its OpenAPI file
//! declares only the 201 for `POST /contacts` and `POST /accounts` (in every version published
//! in frontapp/front-api-specs), its older documentation (frontapp/api-documentation) says only
//! that a handle belongs to one contact, and the public clients' tests and recordings looked at
//! (balena-io-modules/front-sdk, phusion/frontapp) never meet the case. So no decision here
//! waits for a particular status: a create that fails in any way short of fatal is followed by
//! one more lookup (another writer may have created the record in between, users being written
//! concurrently, or the failure hid a create that happened), and only then is the record failed.

use deskferry_extractor::http::{ErrorClass, HttpError, Op};
use deskferry_extractor::platforms::front::wire::Handle;
use deskferry_format::{Organization, UserKind};

use super::load::{FrontTarget, http};
use super::map;
use crate::error::WriteError;
use crate::target::{MappedUser, Written};

/// A failed create after which the record may exist all the same: refused (a key taken by
/// another writer in between) or unanswered (the create may have happened). Only a fatal
/// failure rules a second look out.
fn may_exist_after(e: &HttpError) -> bool {
    e.class(Op::Write) != ErrorClass::Fatal
}

/// Where a user's secondary handles stand at the target.
struct Sorted {
    /// Held by no contact: to be added.
    free: Vec<Handle>,
    /// Why the others were not added (held by another contact, or not takeable at all).
    lost: Vec<String>,
}

impl FrontTarget {
    /// [`crate::target::Target::write_organization`].
    pub(super) async fn write_account(
        &self,
        org: &Organization,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let meta = self.meta().await?;
        let body = map::account(org, &meta.account_fields);
        let err = || http("organizations", &org.id);
        if let Some(id) = prior {
            match self.client.update_account(id, &body).await {
                Ok(()) => return Ok(Written::Migrated(id.to_string())),
                Err(e) if e.status() == Some(404) => {} // deleted at the target: create again
                Err(e) => return Err(err()(e)),
            }
        }
        let alias = map::account_alias(org);
        if let Some(a) = self.client.account(&alias).await.map_err(err())? {
            self.client.update_account(&a.id, &body).await.map_err(err())?;
            return Ok(Written::Matched(a.id));
        }
        match self.client.create_account(&body).await {
            Ok(a) => Ok(Written::Migrated(a.id)),
            Err(e) if may_exist_after(&e) => {
                match self.client.account(&alias).await.map_err(err())? {
                    Some(a) => {
                        self.client.update_account(&a.id, &body).await.map_err(err())?;
                        Ok(Written::Matched(a.id))
                    }
                    None => Err(err()(e)),
                }
            }
            Err(e) => Err(err()(e)),
        }
    }

    /// Sorts `handles` by who holds them at the target; `contact` is the user's own contact.
    async fn sort_handles(
        &self,
        handles: &map::ContactHandles,
        contact: Option<&str>,
        user: &str,
    ) -> Result<Sorted, WriteError> {
        let mut sorted = Sorted { free: Vec::new(), lost: handles.refused.clone() };
        for h in &handles.extra {
            let owner =
                self.client.contact(&map::handle_alias(h)).await.map_err(http("users", user))?;
            match owner {
                None => sorted.free.push(h.clone()),
                Some(o) if Some(o.id.as_str()) == contact => {}
                Some(o) => sorted.lost.push(map::handle_taken(h, &o.id)),
            }
        }
        Ok(sorted)
    }

    /// Adds `free` handles to an existing contact; one another writer took in between is lost,
    /// and said so in `lost`.
    async fn add_handles(
        &self,
        contact: &str,
        free: &[Handle],
        lost: &mut Vec<String>,
        user: &str,
    ) -> Result<(), WriteError> {
        let err = || http("users", user);
        for h in free {
            let Err(e) = self.client.add_contact_handle(contact, h).await else { continue };
            if !may_exist_after(&e) {
                return Err(err()(e));
            }
            match self.client.contact(&map::handle_alias(h)).await.map_err(err())? {
                Some(o) if o.id == contact => {}
                Some(o) => lost.push(map::handle_taken(h, &o.id)),
                None => return Err(err()(e)),
            }
        }
        Ok(())
    }

    /// [`crate::target::Target::write_user`]: agents are matched to teammates (Front cannot
    /// create them); an end user's contact is found by its primary handle, or created.
    pub(super) async fn write_contact(
        &self,
        user: &MappedUser,
        prior: Option<&str>,
    ) -> Result<Written, WriteError> {
        let id = user.user.id.as_str();
        if user.user.kind == UserKind::Agent {
            return Ok(match &user.matched_agent {
                Some(t) => Written::Matched(t.clone()),
                None => Written::Skipped(
                    "agent without a Front teammate: Front cannot create teammates through the API (invite them, or their messages go to the default agent)".into(),
                ),
            });
        }
        let meta = self.meta().await?;
        let err = || http("users", id);
        let handles = map::contact_handles(user);
        let body = map::contact(user, &meta.contact_fields, Vec::new());
        let mut existing = None;
        let mut matched = false;
        if let Some(p) = prior {
            match self.client.update_contact(p, &body).await {
                Ok(()) => existing = Some(p.to_string()),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(err()(e)),
            }
        }
        let primary = map::handle_alias(&handles.primary);
        // The contact holding the primary handle is this user's (a re-run, a lost ledger, an
        // address differing only by case); a second round follows a create that failed.
        let mut second_round = false;
        let mut shared = None;
        let (contact, lost) = loop {
            if existing.is_none()
                && let Some(c) = self.client.contact(&primary).await.map_err(err())?
            {
                // A contact that holds the address under another name is someone else's (an
                // address differing only by case, or a contact the target had): it keeps its
                // own name and fields, and this user shares it.
                let name = user.user.name.as_deref().filter(|n| !n.is_empty());
                if c.name.is_some() && name.is_some() && c.name.as_deref() != name {
                    shared = Some(format!(
                        "Front keeps one contact per address, without regard to case: this user shares contact {} with its own name and fields",
                        c.id
                    ));
                } else {
                    self.client.update_contact(&c.id, &body).await.map_err(err())?;
                }
                existing = Some(c.id);
                matched = true;
            }
            let Sorted { free, mut lost } =
                self.sort_handles(&handles, existing.as_deref(), id).await?;
            if let Some(c) = existing {
                self.add_handles(&c, &free, &mut lost, id).await?;
                break (c, lost);
            }
            let mut all = vec![handles.primary.clone()];
            all.extend(free);
            match self.client.create_contact(&map::contact(user, &meta.contact_fields, all)).await {
                Ok(c) => break (c.id, lost),
                Err(e) if !second_round && may_exist_after(&e) => second_round = true,
                Err(e) => return Err(err()(e)),
            }
        };
        if let Some(account) = &user.organization {
            self.client
                .add_account_contacts(account, std::slice::from_ref(&contact))
                .await
                .map_err(err())?;
        }
        let mut lost = lost;
        lost.extend(shared);
        Ok(if !lost.is_empty() {
            Written::Limited(contact, lost.join("; "))
        } else if matched {
            Written::Matched(contact)
        } else {
            Written::Migrated(contact)
        })
    }
}
