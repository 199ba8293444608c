//! Request Tracker 5 REST 2 JSON, as the server sends it.
//!
//! REST 2 is loosely typed: ids come as numbers or numeric strings depending on the endpoint,
//! most scalars are strings (`"Priority": "50"`, `"Disabled": "0"`), unset dates are the epoch
//! (`"1970-01-01T00:00:00Z"`), and references are objects `{"id": …, "type": "user", "_url": …}`
//! whose `id` is a user's *name* unless the request asked for `fields[Role]=id`. Records are
//! therefore kept as [`serde_json::Value`] (the bundle's `raw` keeps them verbatim) and read
//! through the helpers here, which accept every spelling the server uses.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// One page of a REST 2 collection (`/tickets`, `/users`, `/ticket/N/history`, …).
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    /// The records of this page.
    #[serde(default)]
    pub items: Vec<Value>,
    /// 1-based page number.
    #[serde(default)]
    pub page: Value,
    /// Number of pages (`0.0` when empty; `null` when the user may not see every record).
    #[serde(default)]
    pub pages: Value,
    /// Number of records in the whole collection, when known.
    #[serde(default)]
    pub total: Value,
}

impl Page {
    /// True when a later page may hold more records.
    pub fn has_more(&self, per_page: usize) -> bool {
        match (num(&self.page), num(&self.pages)) {
            (Some(p), Some(n)) => p < n,
            // Without a page count, a full page means "maybe more".
            _ => self.items.len() >= per_page,
        }
    }
}

/// A record's `raw` column: RT's JSON with every value as RT sent it, the keys of each object
/// sorted and a `CustomFields` list by field id. RT (Perl) writes an object's keys, and builds
/// that list, in a random order per process, so the order RT happened to use carries nothing and would make two extractions of the same RT differ (the
/// same content id for the same data is a promise of the bundle).
pub fn raw(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                let field = |(k, v): (&String, &Value)| {
                    let mut v = sorted(v);
                    // RT builds this list from a hash as well (see custom_field_values).
                    if let ("CustomFields", Value::Array(list)) = (k.as_str(), &mut v) {
                        list.sort_by_key(|cf| num(&cf["id"]));
                    }
                    (k.clone(), v)
                };
                Value::Object(pairs.into_iter().map(field).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// An integer that REST 2 sends as a number, a float (`0.0`) or a numeric string.
pub fn num(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `v[key]` as text; `None` when absent, null or empty.
pub fn text(v: &Value, key: &str) -> Option<String> {
    match &v[key] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `v[key]` as a flag (`1`, `"1"`, `true`); RT's `Disabled` is `"2"` for internal records,
/// which also counts as set.
pub fn flag(v: &Value, key: &str) -> bool {
    match &v[key] {
        Value::Bool(b) => *b,
        other => num(other).is_some_and(|n| n != 0),
    }
}

/// A REST 2 time (`2024-01-31T12:00:00Z`); RT's "not set" (the epoch) is `None`.
pub fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = v[key].as_str()?;
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    (t.timestamp() != 0).then_some(t)
}

/// The numeric id of a reference object (`{"id": 27, "type": "user"}`), when it is one of
/// `kind` and its id is numeric (requests ask for `fields[Role]=id` to get numbers).
pub fn ref_num(v: &Value, kind: &str) -> Option<i64> {
    if v.is_object() && v["type"].as_str().is_some_and(|t| t != kind) {
        return None;
    }
    num(&v["id"])
}

/// The `id` of a reference object as text (a user name, or a number).
pub fn ref_text(v: &Value) -> Option<String> {
    match &v["id"] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The user names RT never shows as people: `Nobody` owns unowned tickets, `RT_System` acts for
/// RT itself.
pub const PSEUDO_USERS: [&str; 2] = ["Nobody", "RT_System"];

/// One value of a record's `CustomFields` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfValues {
    /// RT custom field id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Values, in RT's order.
    pub values: Vec<String>,
}

/// A record's `CustomFields` (`[{"id": "2", "name": "Color", "values": ["red"]}]`).
pub fn custom_field_values(v: &Value) -> Vec<CfValues> {
    let mut out: Vec<CfValues> = v["CustomFields"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|cf| {
                    Some(CfValues {
                        id: num(&cf["id"])?,
                        name: cf["name"].as_str().unwrap_or("").to_string(),
                        values: cf["values"]
                            .as_array()
                            .map(|vals| {
                                vals.iter()
                                    .map(|x| match x {
                                        Value::String(s) => s.clone(),
                                        // Image/Binary fields give an object; keep its file name.
                                        Value::Object(o) => o
                                            .get("filename")
                                            .and_then(Value::as_str)
                                            .unwrap_or("")
                                            .to_string(),
                                        other => other.to_string(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    // RT builds this list from a hash: its order changes from call to call.
    out.sort_by_key(|c| c.id);
    out
}

/// The fields asked for on every ticket page: everything the model needs, roles as numeric ids.
pub const TICKET_FIELDS: &str = "Subject,Status,Queue,Owner,Creator,Created,LastUpdated,\
LastUpdatedBy,Resolved,Due,Starts,Started,Told,Priority,InitialPriority,FinalPriority,Type,\
TimeEstimated,TimeWorked,TimeLeft,EffectiveId,Requestor,Cc,AdminCc,CustomFields";

/// The fields asked for on transaction (history) pages.
pub const TXN_FIELDS: &str =
    "Type,Creator,Created,ObjectType,ObjectId,Field,OldValue,NewValue,Data,TimeTaken";

/// The fields asked for on attachment (MIME part) pages, without `Content`.
pub const PART_FIELDS: &str = "TransactionId,MessageId,Subject,Filename,ContentType,ContentEncoding,Headers,Created,ContentLength";

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// Two answers RT gave for the same ticket in two processes: keys and the CustomFields list
    /// in another order, the same values. Their raw columns are equal; a list elsewhere keeps
    /// its order.
    #[test]
    fn raw_is_the_same_whatever_order_rt_used() {
        let a = json!({"id": 5, "Requestor": [{"id": "b"}, {"id": "a"}], "CustomFields": [
            {"id": "9", "name": "Multi", "values": ["x", "y"]}, {"id": "3", "name": "Text", "values": []}]});
        let b = json!({"CustomFields": [{"values": [], "name": "Text", "id": "3"},
            {"values": ["x", "y"], "id": "9", "name": "Multi"}], "Requestor": [{"id": "b"}, {"id": "a"}], "id": 5});
        assert_eq!(super::raw(&a), super::raw(&b));
        assert_eq!(
            super::raw(&a),
            r#"{"CustomFields":[{"id":"3","name":"Text","values":[]},{"id":"9","name":"Multi","values":["x","y"]}],"Requestor":[{"id":"b"},{"id":"a"}],"id":5}"#
        );
    }
}
