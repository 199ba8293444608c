//! Every Front Core API call deskferry makes, reading and writing, over the shared [`Http`].
//!
//! Front's rate limit is per company, so every call draws from the one "default" bucket, sized
//! to the plan (50/100/200 per minute). The per-conversation burst tier answers 429 with
//! `retry-after`, which the client waits out like any other 429.
//!
//! Which POSTs may be repeated after an ambiguous failure (timeout, reset, 5xx): only the import
//! (`retry_unsafe`), because Front drops a second message with a known `external_id`. Contacts,
//! accounts and tags have unique keys, but what Front answers when one is taken is not
//! documented (the callers look records up before creating them); comments have no key at all;
//! none of them is blindly repeated. The conversation PATCH sets absolute values and is retried.

use bytes::Bytes;
use reqwest::Url;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::wire::{
    Account, AccountBody, Comment, Contact, ContactBody, Conversation, CreateComment, CustomField,
    Handle, ImportAccepted, ImportMessage, Inbox, List, Message, Tag, Teammate, UpdateConversation,
    form_fields,
};
use crate::http::{Auth, Downloaded, Http, HttpConfig, HttpError, Part, Request};

/// The rate-limit bucket every Front call uses (the company bucket).
pub const BUCKET: &str = "default";

/// A file to upload with an import or a comment.
#[derive(Debug, Clone)]
pub struct Upload {
    /// File name as Front will show it.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

/// The Front client of one company.
#[derive(Debug, Clone)]
pub struct FrontClient {
    http: Http,
}

fn path_segment(s: &str) -> String {
    // Ids and aliases (`alt:email:a@b.c`) go into the path; only escape what would break it.
    s.chars()
        .map(|c| match c {
            '/' => "%2F".to_string(),
            '?' => "%3F".to_string(),
            '#' => "%23".to_string(),
            '%' => "%25".to_string(),
            ' ' => "%20".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A 404 becomes `None`.
fn found<T>(r: Result<T, HttpError>) -> Result<Option<T>, HttpError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, HttpError> {
    serde_json::to_value(v).map_err(|e| HttpError::Config(format!("cannot encode body: {e}")))
}

impl FrontClient {
    /// A client for `base_url` with a bearer token, paced at `per_minute` (the plan's limit).
    pub fn new(base_url: Url, token: SecretString, per_minute: u32) -> Result<Self, HttpError> {
        let burst = (per_minute / 10).max(1);
        let cfg = HttpConfig::new(base_url, Auth::Bearer(token)).bucket(BUCKET, per_minute, burst);
        Ok(FrontClient { http: Http::new(cfg)? })
    }

    /// A client over an already configured [`Http`] (its "default" bucket paces Front).
    pub fn from_http(http: Http) -> Self {
        FrontClient { http }
    }

    /// The HTTP client (stats for progress and benchmarks).
    pub fn http(&self) -> &Http {
        &self.http
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        self.http.get_json(BUCKET, path).await
    }

    /// Every record of a list, following `_pagination.next`.
    pub async fn list_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, HttpError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(url) = next.take() {
            let page: List<T> = self.get(&url).await?;
            out.extend(page.results);
            next = page.pagination.and_then(|p| p.next).filter(|n| !n.is_empty());
        }
        Ok(out)
    }

    /// One page of a list (for bounded scans), with the next page's URL.
    pub async fn list_page<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(Vec<T>, Option<String>), HttpError> {
        let page: List<T> = self.get(path).await?;
        Ok((page.results, page.pagination.and_then(|p| p.next).filter(|n| !n.is_empty())))
    }

    /// `GET /teammates`.
    pub async fn teammates(&self) -> Result<Vec<Teammate>, HttpError> {
        self.list_all("teammates").await
    }

    /// `GET /inboxes`.
    pub async fn inboxes(&self) -> Result<Vec<Inbox>, HttpError> {
        self.list_all("inboxes").await
    }

    /// `GET /conversations/custom_fields`.
    pub async fn conversation_fields(&self) -> Result<Vec<CustomField>, HttpError> {
        self.list_all("conversations/custom_fields").await
    }

    /// `GET /contacts/custom_fields`.
    pub async fn contact_fields(&self) -> Result<Vec<CustomField>, HttpError> {
        self.list_all("contacts/custom_fields").await
    }

    /// `GET /accounts/custom_fields`.
    pub async fn account_fields(&self) -> Result<Vec<CustomField>, HttpError> {
        self.list_all("accounts/custom_fields").await
    }

    /// `GET /tags`.
    pub async fn tags(&self) -> Result<Vec<Tag>, HttpError> {
        self.list_all("tags").await
    }

    /// `POST /tags` (refused when the name exists).
    pub async fn create_tag(&self, name: &str) -> Result<Tag, HttpError> {
        self.http.send(Request::post_json(BUCKET, "tags", json!({"name": name}))).await?.json()
    }

    /// `GET /contacts/{id or alt:source:handle}`; `None` on 404.
    pub async fn contact(&self, id_or_alias: &str) -> Result<Option<Contact>, HttpError> {
        found(self.get(&format!("contacts/{}", path_segment(id_or_alias))).await)
    }

    /// `POST /contacts` (refused, with a status Front does not document, when a handle belongs
    /// to another contact).
    pub async fn create_contact(&self, body: &ContactBody) -> Result<Contact, HttpError> {
        self.http.send(Request::post_json(BUCKET, "contacts", to_json(body)?)).await?.json()
    }

    /// `POST /contacts/{id}/handles`: one more handle (refused when another contact has it).
    pub async fn add_contact_handle(&self, id: &str, handle: &Handle) -> Result<(), HttpError> {
        let path = format!("contacts/{}/handles", path_segment(id));
        self.http.send(Request::post_json(BUCKET, &path, to_json(handle)?)).await.map(drop)
    }

    /// `PATCH /contacts/{id}` (handles are not changed this way).
    pub async fn update_contact(&self, id: &str, body: &ContactBody) -> Result<(), HttpError> {
        let mut v = to_json(body)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("handles");
        }
        let path = format!("contacts/{}", path_segment(id));
        self.http.send(Request::patch_json(BUCKET, &path, v)).await.map(drop)
    }

    /// `DELETE /contacts/{id}`.
    pub async fn delete_contact(&self, id: &str) -> Result<(), HttpError> {
        let path = format!("contacts/{}", path_segment(id));
        self.http.send(Request::delete(BUCKET, &path)).await.map(drop)
    }

    /// `GET /accounts/{id, alt:ext_id:… or alt:domain:…}`; `None` on 404.
    pub async fn account(&self, id_or_alias: &str) -> Result<Option<Account>, HttpError> {
        found(self.get(&format!("accounts/{}", path_segment(id_or_alias))).await)
    }

    /// `POST /accounts` (refused, with a status Front does not document, when the external id
    /// exists).
    pub async fn create_account(&self, body: &AccountBody) -> Result<Account, HttpError> {
        self.http.send(Request::post_json(BUCKET, "accounts", to_json(body)?)).await?.json()
    }

    /// `PATCH /accounts/{id}` (the external id is not changed).
    pub async fn update_account(&self, id: &str, body: &AccountBody) -> Result<(), HttpError> {
        let mut v = to_json(body)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("external_id");
        }
        let path = format!("accounts/{}", path_segment(id));
        self.http.send(Request::patch_json(BUCKET, &path, v)).await.map(drop)
    }

    /// `DELETE /accounts/{id}`.
    pub async fn delete_account(&self, id: &str) -> Result<(), HttpError> {
        let path = format!("accounts/{}", path_segment(id));
        self.http.send(Request::delete(BUCKET, &path)).await.map(drop)
    }

    /// `POST /accounts/{id}/contacts` (not repeated after an ambiguous failure: Front keys it on
    /// no external id; a re-run adds the member again, which changes nothing).
    pub async fn add_account_contacts(
        &self,
        account_id: &str,
        contact_ids: &[String],
    ) -> Result<(), HttpError> {
        let path = format!("accounts/{}/contacts", path_segment(account_id));
        let req = Request::post_json(BUCKET, &path, json!({"contact_ids": contact_ids}));
        self.http.send(req).await.map(drop)
    }

    /// `POST /inboxes/{inbox}/imported_messages` → the uid to poll. JSON without files,
    /// multipart with them. Retried like a GET: Front drops a repeat with the same external id.
    pub async fn import_message(
        &self,
        inbox_id: &str,
        body: &ImportMessage,
        files: &[Upload],
    ) -> Result<ImportAccepted, HttpError> {
        let path = format!("inboxes/{}/imported_messages", path_segment(inbox_id));
        let json = to_json(body)?;
        let req = if files.is_empty() {
            Request::post_json(BUCKET, &path, json)
        } else {
            Request::multipart(BUCKET, &path, multipart(&json, files))
        };
        self.http.send(req.retry_unsafe()).await?.json()
    }

    /// `GET /messages/{id or alt:uid:…}`; `None` on 404 (an import not processed yet).
    pub async fn message(&self, id_or_alias: &str) -> Result<Option<Message>, HttpError> {
        found(self.get(&format!("messages/{}", path_segment(id_or_alias))).await)
    }

    /// `GET /conversations/{id}`; `None` on 404.
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, HttpError> {
        found(self.get(&format!("conversations/{}", path_segment(id))).await)
    }

    /// `GET /conversations/{id}/messages`, every page (Front lists newest first).
    pub async fn conversation_messages(&self, id: &str) -> Result<Vec<Message>, HttpError> {
        self.list_all(&format!("conversations/{}/messages?limit=100", path_segment(id))).await
    }

    /// `GET /conversations/{id}/comments` (oldest first).
    pub async fn conversation_comments(&self, id: &str) -> Result<Vec<Comment>, HttpError> {
        self.list_all(&format!("conversations/{}/comments", path_segment(id))).await
    }

    /// `POST /conversations/{id}/comments`. Never repeated after an ambiguous failure: a
    /// comment has no key Front dedupes on (the caller checks the conversation instead).
    pub async fn create_comment(
        &self,
        conversation_id: &str,
        body: &CreateComment,
        files: &[Upload],
    ) -> Result<Comment, HttpError> {
        let path = format!("conversations/{}/comments", path_segment(conversation_id));
        let json = to_json(body)?;
        let req = if files.is_empty() {
            Request::post_json(BUCKET, &path, json)
        } else {
            Request::multipart(BUCKET, &path, multipart(&json, files))
        };
        self.http.send(req).await?.json()
    }

    /// `PATCH /conversations/{id}` (status, custom fields). Not a POST: it sets absolute
    /// values, so repeating it after a timeout or 5xx is harmless and it is retried.
    pub async fn update_conversation(
        &self,
        id: &str,
        body: &UpdateConversation,
    ) -> Result<(), HttpError> {
        let path = format!("conversations/{}", path_segment(id));
        self.http
            .send(Request::patch_json(BUCKET, &path, to_json(body)?).retry_unsafe())
            .await
            .map(drop)
    }

    /// `POST /conversations/{id}/tags` (not repeated after an ambiguous failure; a re-run adds
    /// the tags again, which changes nothing).
    pub async fn add_conversation_tags(
        &self,
        id: &str,
        tag_ids: &[String],
    ) -> Result<(), HttpError> {
        let path = format!("conversations/{}/tags", path_segment(id));
        let req = Request::post_json(BUCKET, &path, json!({"tag_ids": tag_ids}));
        self.http.send(req).await.map(drop)
    }

    /// `DELETE /conversations/{id}` (only a conversation already in the trash).
    pub async fn delete_conversation(&self, id: &str) -> Result<(), HttpError> {
        let path = format!("conversations/{}", path_segment(id));
        self.http.send(Request::delete(BUCKET, &path)).await.map(drop)
    }

    /// One page of an inbox's conversations, newest first.
    pub async fn inbox_conversations_page(
        &self,
        inbox_id: &str,
        page_url: Option<&str>,
    ) -> Result<(Vec<Conversation>, Option<String>), HttpError> {
        let first = format!("inboxes/{}/conversations?limit=100", path_segment(inbox_id));
        self.list_page(page_url.unwrap_or(&first)).await
    }

    /// SHA-256 and size of an attachment, hashed as it streams; nothing is kept.
    pub async fn digest(&self, url: &str) -> Result<Downloaded, HttpError> {
        self.http.digest(BUCKET, url).await
    }
}

/// The multipart parts of a body with files: JSON properties flattened, files as
/// `attachments[i]`.
pub fn multipart(json: &Value, files: &[Upload]) -> Vec<Part> {
    let mut parts: Vec<Part> = form_fields(json)
        .into_iter()
        .map(|(name, value)| Part { name, file: None, bytes: Bytes::from(value) })
        .collect();
    for (i, f) in files.iter().enumerate() {
        parts.push(Part {
            name: format!("attachments[{i}]"),
            file: Some((f.file_name.clone(), f.content_type.clone())),
            bytes: f.bytes.clone(),
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_survive_as_one_path_segment() {
        assert_eq!(path_segment("alt:email:a+b@c.d"), "alt:email:a+b@c.d");
        assert_eq!(path_segment("alt:ext_id:x/y z"), "alt:ext_id:x%2Fy%20z");
    }

    #[test]
    fn multipart_puts_files_after_fields() {
        let parts = multipart(
            &json!({"body": "b", "metadata": {"is_inbound": true}}),
            &[Upload {
                file_name: "a.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: Bytes::from_static(b"%PDF"),
            }],
        );
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["body", "metadata[is_inbound]", "attachments[0]"]);
        assert_eq!(parts[2].file.as_ref().map(|f| f.0.as_str()), Some("a.pdf"));
    }
}
