//! The vendor's XML: a small element tree read with quick-xml (each record keeps its source
//! text verbatim for `raw`), its conversion to JSON so records are read through
//! `tolerant::Notes::read` like every other platform's, and the typed views of Classic's
//! records. Every value is text in XML, so numbers and times are parsed here: one that does not
//! parse is a field of an unexpected type (left empty, noted, the record kept).
//!
//! Shapes and where they were learned (docs/platforms/kayako-classic.md): a ticket carries its
//! id and `flagtype` as attributes, its notes as `<note>` elements with attributes and the text
//! as content, its posts under `<posts>`; a ticket list holds the same tickets under
//! `<tickets>`; a custom field value is a `<field>` with attributes; one attachment with its
//! bytes comes inside `<attachments>` from the server's controller, bare `<attachment>` in a
//! public client's fixture (both are read); servers may print PHP notices before the XML.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One XML element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    /// Its name.
    pub name: String,
    /// Its attributes, in order.
    pub attrs: Vec<(String, String)>,
    /// Its text (CDATA and character data, whitespace-only runs between elements dropped).
    pub text: String,
    /// Its child elements.
    pub children: Vec<Element>,
    /// Its source text, verbatim.
    pub source: String,
}

/// What [`parse`] found.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root element.
    pub root: Element,
    /// Bytes of text before the XML that were cut off (PHP notices), 0 when none.
    pub skipped: usize,
}

fn unescape(raw: &[u8]) -> Result<String, String> {
    let s = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
    quick_xml::escape::unescape(s).map(|c| c.into_owned()).map_err(|e| e.to_string())
}

fn open(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        attrs.push((k, unescape(&a.value)?));
    }
    Ok(Element { name, attrs, ..Element::default() })
}

/// Parses an answer: text before the first `<?xml` or `<` is cut off (and counted), then one
/// element tree.
pub fn parse(answer: &str) -> Result<Document, String> {
    let start = answer
        .find("<?xml")
        .or_else(|| answer.find('<'))
        .ok_or_else(|| "the answer holds no XML".to_string())?;
    let skipped = answer[..start].trim().len();
    let doc = &answer[start..];
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut stack: Vec<(Element, usize)> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| format!("at byte {before}: {e}"))?;
        use quick_xml::events::Event;
        match ev {
            Event::Start(e) => stack.push((open(&e)?, before)),
            Event::Empty(e) => {
                let mut el = open(&e)?;
                let end = reader.buffer_position() as usize;
                el.source = doc[before..end].to_string();
                match stack.last_mut() {
                    Some((p, _)) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let (mut el, from) = stack.pop().ok_or("an end tag without a start")?;
                let end = reader.buffer_position() as usize;
                el.source = doc[from..end].to_string();
                if !el.children.is_empty() && el.text.trim().is_empty() {
                    el.text.clear();
                }
                match stack.last_mut() {
                    Some((p, _)) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some((el, _)) = stack.last_mut() {
                    el.text.push_str(&unescape(&t)?);
                }
            }
            Event::CData(c) => {
                if let Some((el, _)) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Event::GeneralRef(r) => {
                if let Some((el, _)) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    el.text.push_str(&unescape(format!("&{name};").as_bytes())?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the XML ends inside an element".into());
    }
    let root = root.ok_or("the answer holds no element")?;
    Ok(Document { root, skipped })
}

impl Element {
    /// The child elements named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The records of a list answer: children named `name` of the root, or the root itself
    /// when it is one.
    pub fn records<'a>(&'a self, name: &'a str) -> Vec<&'a Element> {
        if self.name == name { vec![self] } else { self.all(name).collect() }
    }

    /// The element as JSON: attributes and child elements as keys (a repeated child becomes a
    /// list), the text of an element with neither as a string, else under `_contents`.
    pub fn to_json(&self) -> Value {
        if self.attrs.is_empty() && self.children.is_empty() {
            return Value::String(self.text.clone());
        }
        let mut m = Map::new();
        for (k, v) in &self.attrs {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        for c in &self.children {
            let v = c.to_json();
            match m.get_mut(&c.name) {
                Some(Value::Array(a)) if self.all(&c.name).count() > 1 => a.push(v),
                Some(old) => {
                    let first = old.take();
                    *old = Value::Array(vec![first, v]);
                }
                None => {
                    m.insert(c.name.clone(), v);
                }
            }
        }
        if !self.text.trim().is_empty() {
            m.insert("_contents".into(), Value::String(self.text.clone()));
        }
        Value::Object(m)
    }
}

/// A number sent as text (`0` and empty are kept as they are; the caller decides what 0 means).
pub fn num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| {
            de::Error::invalid_type(de::Unexpected::Other("text that is not a number"), &"a number")
        }),
        Value::Number(n) => Ok(n.as_i64()),
        _ => Err(de::Error::invalid_type(de::Unexpected::Map, &"a number")),
    }
}

/// One or many elements of the same name (`<email>`, `<post>`), as a list.
pub fn many<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let v = Value::deserialize(d)?;
    let items = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a,
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        other => vec![other],
    };
    items.into_iter().map(|x| serde_json::from_value(x).map_err(de::Error::custom)).collect()
}

/// Text, however it came (a CDATA run, or `_contents` of an element with attributes).
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("_contents").and_then(Value::as_str).map(str::to_string),
        _ => None,
    })
}

macro_rules! record {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        // Fields are named after Classic's XML elements and attributes.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        pub struct $name { $($(#[$fm])* pub $f: $t,)* }
    };
}

record!(
    /// `<department>`.
    Department {
        id: String,
        #[serde(default, deserialize_with = "text")] title: Option<String>,
        #[serde(default, deserialize_with = "text")] module: Option<String>,
    }
);

record!(
    /// `<staff>`.
    Staff {
        id: String,
        #[serde(default, deserialize_with = "num")] staffgroupid: Option<i64>,
        #[serde(default, deserialize_with = "text")] fullname: Option<String>,
        #[serde(default, deserialize_with = "text")] email: Option<String>,
        #[serde(default, deserialize_with = "text")] mobilenumber: Option<String>,
        #[serde(default, deserialize_with = "num")] isenabled: Option<i64>,
        #[serde(default, deserialize_with = "text")] timezone: Option<String>,
    }
);

record!(
    /// `<staffgroup>`, `<ticketstatus>`, `<ticketpriority>`, `<tickettype>`.
    Titled {
        id: String,
        #[serde(default, deserialize_with = "text")] title: Option<String>,
        #[serde(default, deserialize_with = "num")] markasresolved: Option<i64>,
    }
);

record!(
    /// `<user>` (an end user).
    User {
        id: String,
        #[serde(default, deserialize_with = "text")] userrole: Option<String>,
        #[serde(default, deserialize_with = "num")] userorganizationid: Option<i64>,
        #[serde(default, deserialize_with = "text")] fullname: Option<String>,
        #[serde(default, deserialize_with = "many")] email: Vec<String>,
        #[serde(default, deserialize_with = "text")] phone: Option<String>,
        #[serde(default, deserialize_with = "num")] dateline: Option<i64>,
        #[serde(default, deserialize_with = "num")] isenabled: Option<i64>,
        #[serde(default, deserialize_with = "text")] timezone: Option<String>,
    }
);

record!(
    /// `<userorganization>`.
    Organization {
        id: String,
        #[serde(default, deserialize_with = "text")] name: Option<String>,
        #[serde(default, deserialize_with = "num")] dateline: Option<i64>,
        #[serde(default, deserialize_with = "num")] lastupdate: Option<i64>,
    }
);

record!(
    /// `<customfield …/>` (a definition; every field an attribute).
    FieldDef {
        customfieldid: String,
        #[serde(default)] title: Option<String>,
        #[serde(default, deserialize_with = "num")] fieldtype: Option<i64>,
        #[serde(default)] fieldname: Option<String>,
        #[serde(default, deserialize_with = "num")] isrequired: Option<i64>,
        #[serde(default)] regexpvalidate: Option<String>,
    }
);

record!(
    /// `<option …/>` of a select field.
    FieldOption {
        customfieldoptionid: String,
        #[serde(default)] optionvalue: Option<String>,
    }
);

record!(
    /// `<watcher staffid="…" name="…"/>`.
    Watcher { staffid: String }
);

record!(
    /// `<ticket id="…">` without its notes and posts (read one by one).
    Ticket {
        id: String,
        #[serde(default, deserialize_with = "text")] displayid: Option<String>,
        #[serde(default, deserialize_with = "num")] departmentid: Option<i64>,
        #[serde(default, deserialize_with = "num")] trasholddepartmentid: Option<i64>,
        #[serde(default, deserialize_with = "num")] statusid: Option<i64>,
        #[serde(default, deserialize_with = "num")] priorityid: Option<i64>,
        #[serde(default, deserialize_with = "num")] typeid: Option<i64>,
        #[serde(default, deserialize_with = "num")] userid: Option<i64>,
        #[serde(default, deserialize_with = "num")] userorganizationid: Option<i64>,
        #[serde(default, deserialize_with = "num")] ownerstaffid: Option<i64>,
        #[serde(default, deserialize_with = "text")] subject: Option<String>,
        #[serde(default, deserialize_with = "num")] creationtime: Option<i64>,
        #[serde(default, deserialize_with = "num")] lastactivity: Option<i64>,
        #[serde(default, deserialize_with = "num")] resolutiondue: Option<i64>,
        #[serde(default, deserialize_with = "text")] tags: Option<String>,
        #[serde(default, deserialize_with = "many")] watcher: Vec<Watcher>,
    }
);

record!(
    /// `<post>`.
    Post {
        id: String,
        #[serde(default, deserialize_with = "num")] dateline: Option<i64>,
        #[serde(default, deserialize_with = "num")] userid: Option<i64>,
        #[serde(default, deserialize_with = "num")] staffid: Option<i64>,
        /// 1 a staff member, 2 a user (the author when neither id is set).
        #[serde(default, deserialize_with = "num")] creator: Option<i64>,
        #[serde(default, deserialize_with = "num")] ishtml: Option<i64>,
        #[serde(default, deserialize_with = "num")] hasattachments: Option<i64>,
        #[serde(default, deserialize_with = "text")] contents: Option<String>,
    }
);

record!(
    /// `<note type="ticket" id="…" …>text</note>`.
    Note {
        id: String,
        #[serde(default, rename = "type")] kind: Option<String>,
        #[serde(default, deserialize_with = "num")] creatorstaffid: Option<i64>,
        #[serde(default, deserialize_with = "num")] notecolor: Option<i64>,
        #[serde(default, deserialize_with = "num")] creationdate: Option<i64>,
        #[serde(default, rename = "_contents")] contents: Option<String>,
    }
);

record!(
    /// `<attachment>` of a ticket (with `contents` when fetched one by one).
    Attachment {
        id: String,
        #[serde(default, deserialize_with = "num")] ticketpostid: Option<i64>,
        #[serde(default, deserialize_with = "text")] filename: Option<String>,
        #[serde(default, deserialize_with = "num")] filesize: Option<i64>,
        #[serde(default, deserialize_with = "text")] filetype: Option<String>,
    }
);

record!(
    /// `<field id="…" type="…" name="…" title="…">value</field>` of a ticket.
    FieldValue {
        id: String,
        #[serde(default, rename = "type", deserialize_with = "num")] kind: Option<i64>,
        #[serde(default)] name: Option<String>,
        #[serde(default, rename = "_contents")] contents: Option<String>,
    }
);

record!(
    /// `<kbcategory>`.
    KbCategory {
        id: String,
        #[serde(default, deserialize_with = "num")] parentkbcategoryid: Option<i64>,
        #[serde(default, deserialize_with = "text")] title: Option<String>,
        #[serde(default, deserialize_with = "num")] displayorder: Option<i64>,
    }
);

record!(
    /// `<categories><categoryid>…</categoryid></categories>` of an article.
    Categories {
        #[serde(default, deserialize_with = "many")] categoryid: Vec<String>,
    }
);

record!(
    /// `<attachments><attachment>…` of an article.
    KbFiles {
        #[serde(default, deserialize_with = "many")] attachment: Vec<Attachment>,
    }
);

record!(
    /// `<kbarticle>`.
    KbArticle {
        kbarticleid: String,
        #[serde(default, deserialize_with = "text")] contents: Option<String>,
        #[serde(default)] categories: Option<Categories>,
        #[serde(default, deserialize_with = "num")] creatorid: Option<i64>,
        #[serde(default, deserialize_with = "text")] subject: Option<String>,
        #[serde(default, deserialize_with = "num")] isedited: Option<i64>,
        #[serde(default, deserialize_with = "num")] editeddateline: Option<i64>,
        #[serde(default, deserialize_with = "num")] dateline: Option<i64>,
        #[serde(default, deserialize_with = "num")] articlestatus: Option<i64>,
        #[serde(default)] attachments: Option<KbFiles>,
    }
);
