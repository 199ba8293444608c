//! One folder per target platform; the same file names keep the same roles everywhere. Which
//! platforms exist is the extractor's registry (`deskferry_extractor::platforms::registry`);
//! [`with_target`] is the one place that turns a target file's platform into a `Target`.

pub mod freshdesk;
pub mod front;
pub mod groove;
pub mod helpscout;
pub mod intercom;
pub mod kayako;
pub mod rt;
pub mod zendesk;

use std::future::Future;

use deskferry_extractor::platforms::registry::{self, Role};

use crate::config::TargetConfig;
use crate::error::WriteError;
use crate::target::Target;

/// Something to do with a target, whatever its platform (the loader's dispatch).
pub trait UseTarget {
    /// What it gives.
    type Output;
    /// Does it with `target`.
    fn with<T: Target + 'static>(self, target: T) -> impl Future<Output = Self::Output>;
}

/// Connects to the target a target file names and hands it to `u`.
pub async fn with_target<U: UseTarget>(cfg: &TargetConfig, u: U) -> Result<U::Output, WriteError> {
    match cfg.platform.as_str() {
        "front" => Ok(u.with(front::FrontTarget::new(cfg)?).await),
        "freshdesk" => Ok(u.with(freshdesk::FreshdeskTarget::new(cfg)?).await),
        "helpscout" => Ok(u.with(helpscout::HelpScoutTarget::new(cfg)?).await),
        "intercom" => Ok(u.with(intercom::IntercomTarget::new(cfg)?).await),
        "groove" => Ok(u.with(groove::GrooveTarget::new(cfg)?).await),
        "kayako" => Ok(u.with(kayako::KayakoTarget::new(cfg)?).await),
        "rt" => Ok(u.with(rt::RtTarget::new(cfg)?).await),
        "zendesk" => Ok(u.with(zendesk::ZendeskTarget::new(cfg)?).await),
        other => Err(WriteError::Other {
            entity: "target".into(),
            source_id: other.into(),
            message: registry::side(other, Role::Target).err().unwrap_or_else(|| {
                format!("platform {other:?} is listed as a target but this build cannot open it")
            }),
        }),
    }
}
