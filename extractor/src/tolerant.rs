//! Tolerant reading of vendor JSON: every platform's `wire.rs` types are read through
//! [`Notes::read`], so an answer that does not match what the vendor documents costs a field,
//! never a record.
//!
//! Real services send what their documentation does not promise (a `via` that is a string
//! instead of an object, a number as text, a list where one value was expected). When the typed
//! view of a record cannot be read, the offending field is left out and the record read again;
//! the record keeps its `raw` JSON verbatim, the field comes out empty, and a note names the
//! record and the field (it becomes a warning in `bundle.json`). Only a record whose own
//! required fields (its id) are missing or unreadable is refused.
//!
//! Notes never quote the value that did not fit: it may be personal data, and `raw` has it.

use deskferry_format::Warning;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::error::ExtractError;

/// How many fields one record may lose before it is refused (a record that wrong is not the
/// record type the caller thinks it is).
const MAX_REPAIRS: usize = 16;

/// Collects what tolerant reads had to leave out, as warnings for `bundle.json`.
#[derive(Debug, Default)]
pub struct Notes {
    platform: &'static str,
    list: Vec<Warning>,
}

impl Notes {
    /// Notes of one platform's records (`platform` names it in errors).
    pub fn new(platform: &'static str) -> Notes {
        Notes { platform, list: Vec::new() }
    }

    /// Reads the typed view `T` of one record of `entity`; a field of an unexpected type (or an
    /// element of a list that cannot be read) is left out and noted. Fails only when the record
    /// itself cannot be read (not an object, its id missing or unreadable).
    pub fn read<T: DeserializeOwned>(
        &mut self,
        entity: &str,
        v: &Value,
    ) -> Result<T, ExtractError> {
        let mut current: Option<Value> = None;
        let mut dropped = Vec::new();
        // The first complaint is the one to report: later ones follow from its repair.
        let mut first: Option<String> = None;
        loop {
            let value = current.as_ref().unwrap_or(v);
            let err = match serde_path_to_error::deserialize::<_, T>(value) {
                Ok(t) => {
                    let id = record_id(v);
                    for (path, found, expected) in dropped {
                        self.list.push(Warning::note(
                            entity,
                            id.clone(),
                            format!(
                                "field `{path}` holds {found} where {} documents {expected}; \
                                 read as empty, the record is kept and its raw JSON has the value",
                                self.platform
                            ),
                        ));
                    }
                    return Ok(t);
                }
                Err(e) => e,
            };
            let path: Vec<Segment> = err.path().iter().cloned().collect();
            let message = err.inner().to_string();
            let first = first.get_or_insert_with(|| match path.is_empty() {
                true => without_values(&message),
                false => format!("field `{}`: {}", display(&path), without_values(&message)),
            });
            // A field missing at the top is one of the record's own required fields.
            let repairable = !path.is_empty() && dropped.len() < MAX_REPAIRS;
            let mut next = value.clone();
            let found = repairable.then(|| remove_at(&mut next, &path)).flatten();
            let Some(found) = found else {
                return Err(ExtractError::Source {
                    platform: self.platform,
                    entity: entity.to_string(),
                    id: record_id(v).unwrap_or_else(|| "?".into()),
                    message: format!("unreadable record: {first}"),
                });
            };
            dropped.push((display(&path), found, expected(&message)));
            current = Some(next);
        }
    }

    /// Notes a part of a record that could not be read at all (a translation without a
    /// locale, an attachment without an id); `e` is what [`Notes::read`] said.
    pub fn refused(&mut self, entity: &str, v: &Value, e: &ExtractError) {
        self.list.push(Warning::failure(entity, record_id(v), format!("left out: {e}")));
    }

    /// Notes a field of record `id` read in a shape the vendor does not document but the
    /// mapping understood (nothing lost; `raw` has it as sent).
    pub fn note(&mut self, entity: &str, id: &str, message: &str) {
        self.list.push(Warning::note(entity, Some(id.to_string()), message.to_string()));
    }

    /// The notes so far, emptied.
    pub fn take(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.list)
    }

    /// True when nothing had to be left out.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The record's `id` as text, when it has one.
fn record_id(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Removes what `path` points to (a map entry, or a list element); returns the JSON type it had.
fn remove_at(v: &mut Value, path: &[Segment]) -> Option<&'static str> {
    let (last, parents) = path.split_last()?;
    let mut at = v;
    for seg in parents {
        at = match seg {
            Segment::Map { key } => at.get_mut(key.as_str())?,
            Segment::Seq { index } => at.get_mut(*index)?,
            _ => return None,
        };
    }
    let removed = match last {
        Segment::Map { key } => at.as_object_mut()?.shift_remove(key.as_str())?,
        Segment::Seq { index } => {
            let list = at.as_array_mut()?;
            (*index < list.len()).then(|| list.remove(*index))?
        }
        _ => return None,
    };
    Some(json_type(&removed))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Enum { variant } => out.push_str(&format!("::{variant}")),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// What serde expected, from its message (`invalid type: string "…", expected struct Via`).
fn expected(message: &str) -> String {
    match message.rsplit_once("expected ") {
        Some((_, e)) => e.trim_end_matches('.').to_string(),
        None if message.starts_with("missing field") => {
            format!("an entry with {}", message.trim_start_matches("missing "))
        }
        None => "another type".into(),
    }
}

/// A serde message without the value it quotes (`invalid type: string "secret"` → `invalid
/// type: string`).
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            quoted = !quoted;
            if quoted {
                out.push_str("\"…");
            } else {
                out.push('"');
            }
            continue;
        }
        if !quoted {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    struct Via {
        #[serde(default)]
        channel: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Rec {
        id: u64,
        #[serde(default)]
        via: Option<Via>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        public: Option<bool>,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        id: u64,
    }

    #[test]
    fn a_field_of_an_unexpected_type_is_left_empty_and_noted_without_its_value() {
        let mut notes = Notes::new("zendesk");
        let v = json!({"id": 7, "via": "Web form", "public": true, "tags": ["a"]});
        let r: Rec = notes.read("comments", &v).unwrap();
        assert_eq!((r.id, r.public, r.tags.as_slice()), (7, Some(true), &["a".to_string()][..]));
        assert!(r.via.is_none());
        let w = notes.take();
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].entity.as_str(), w[0].id.as_deref()), ("comments", Some("7")));
        assert!(w[0].message.contains("`via` holds a string"), "{}", w[0].message);
        assert!(w[0].message.contains("struct Via"), "{}", w[0].message);
        assert!(!w[0].message.contains("Web form"), "the value stays out: {}", w[0].message);
        assert!(notes.is_empty());
        // The documented shape reads as before, without a note.
        let ok: Rec = notes.read("comments", &json!({"id": 1, "via": {"channel": "web"}})).unwrap();
        assert_eq!(ok.via.and_then(|v| v.channel).as_deref(), Some("web"));
        assert!(notes.is_empty());
    }

    #[test]
    fn several_bad_fields_and_bad_list_elements_each_cost_only_themselves() {
        let mut notes = Notes::new("zendesk");
        let v = json!({"id": 8, "via": 3, "tags": ["a", 5, "b"], "public": "yes",
                       "items": [{"id": 1}, {"name": "no id"}, {"id": 3}]});
        let r: Rec = notes.read("tickets", &v).unwrap();
        assert_eq!(r.tags, ["a", "b"]);
        assert_eq!(r.public, None);
        assert_eq!(r.items.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 3]);
        let paths: Vec<String> = notes.take().into_iter().map(|w| w.message).collect();
        assert_eq!(paths.len(), 4, "{paths:?}");
        assert!(paths.iter().any(|m| m.contains("`tags[1]` holds a number")), "{paths:?}");
        assert!(paths.iter().any(|m| m.contains("`items[1]` holds an object")), "{paths:?}");
    }

    #[test]
    fn a_record_without_its_own_id_is_refused_naming_no_value() {
        let mut notes = Notes::new("zendesk");
        let e = notes.read::<Rec>("tickets", &json!({"via": {"channel": "secret@example.com"}}));
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("missing field `id`"), "{msg}");
        let e = notes.read::<Rec>("tickets", &json!({"id": "secret-text"}));
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("tickets secret-text") && msg.contains("\"…\""), "{msg}");
        assert!(notes.is_empty());
    }
}
