//! One folder per platform; the same file names keep the same roles everywhere
//! (docs/architecture.md, "Crates").

pub mod freshdesk;
pub mod front;
pub mod groove;
pub mod helpscout;
pub mod intercom;
pub mod kayako;
pub mod kayako_classic;
pub mod registry;
pub mod rt;
pub mod zendesk;

use deskferry_format::model::FieldKind;

/// The normalised kind of a field type as `platform` (a bundle's source platform) names it:
/// for bundles written before `custom_fields.kind` existed. `None` for a platform this build
/// does not know.
pub fn field_kind(platform: &str, field_type: &str) -> Option<FieldKind> {
    match platform {
        "zendesk" => Some(zendesk::map::field_kind(field_type)),
        "front" => Some(front::map::field_kind(field_type)),
        "freshdesk" => Some(freshdesk::map::field_kind(field_type)),
        "helpscout" => Some(helpscout::map::field_kind(field_type)),
        "kayako-classic" => Some(kayako_classic::map::field_kind(field_type)),
        "kayako" => Some(kayako::map::field_kind(field_type)),
        "intercom" => Some(intercom::map::field_kind(field_type)),
        "rt" => {
            let (base, multiple) = match field_type.strip_suffix("Multiple") {
                Some(b) => (b, true),
                None => (field_type, false),
            };
            Some(rt::map::field_kind(base, multiple))
        }
        _ => None,
    }
}
