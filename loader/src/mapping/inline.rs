//! Inline images embedded in a body as `data:` URIs: with `options.inline_images_as_attachments`
//! they become attachments (the bytes survive, hashed like every attachment) and the `<img>`
//! tag becomes a short text naming the file, so no target silently drops them.

use base64::Engine as _;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::target::AttachmentData;

/// Largest data URI decoded (larger ones stay in the body untouched).
pub const MAX_INLINE_BYTES: usize = 25_000_000;

fn ext(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        _ => "bin",
    }
}

/// Finds `<img … src="data:<mime>;base64,…" …>` tags; returns the body with each decoded one
/// replaced by `[image: inline-N.ext]` and the images as attachments (ids `<comment>#inline-N`).
pub fn extract_data_images(html: &str, comment_id: &str) -> (String, Vec<AttachmentData>) {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut images = Vec::new();
    let mut pos = 0;
    while let Some(rel) = lower[pos..].find("<img") {
        let start = pos + rel;
        let Some(end_rel) = lower[start..].find('>') else { break };
        let end = start + end_rel + 1;
        let tag = &html[start..end];
        match decode_src(tag) {
            Some((mime, bytes)) => {
                let n = images.len() + 1;
                let name = format!("inline-{n}.{}", ext(&mime));
                out.push_str(&html[pos..start]);
                out.push_str(&format!("[image: {name}]"));
                images.push(AttachmentData {
                    id: format!("{comment_id}#inline-{n}"),
                    file_name: name,
                    content_type: Some(mime),
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    inline: true,
                    bytes: Bytes::from(bytes),
                });
            }
            None => out.push_str(&html[pos..end]),
        }
        pos = end;
    }
    out.push_str(&html[pos..]);
    (out, images)
}

/// The decoded `data:` URI of an `<img>` tag's `src`, if it is one.
fn decode_src(tag: &str) -> Option<(String, Vec<u8>)> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find("src=")? + 4;
    let quote = tag[at..].chars().next()?;
    let value = if quote == '"' || quote == '\'' {
        let rest = &tag[at + 1..];
        &rest[..rest.find(quote)?]
    } else {
        let rest = &tag[at..];
        &rest[..rest.find(|c: char| c.is_whitespace() || c == '>').unwrap_or(rest.len())]
    };
    let v = value.trim();
    if !v.get(..5)?.eq_ignore_ascii_case("data:") {
        return None;
    }
    let comma = v.find(',')?;
    let meta = &v[5..comma];
    let mime = meta.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !meta.to_ascii_lowercase().split(';').any(|p| p.trim() == "base64") {
        return None;
    }
    let payload: String = v[comma + 1..].chars().filter(|c| !c.is_whitespace()).collect();
    if payload.len() / 4 * 3 > MAX_INLINE_BYTES {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(payload.as_bytes()).ok()?;
    Some((if mime.is_empty() { "application/octet-stream".into() } else { mime }, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_images_become_attachments_and_other_images_stay() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG fake");
        let html = format!(
            "<p>a</p><IMG alt=x SRC='data:image/png;base64,{png}'><img src=\"https://x/y.png\"><img src=\"data:text/plain,hi\">é"
        );
        let (body, imgs) = extract_data_images(&html, "c1");
        assert_eq!(imgs.len(), 1);
        assert_eq!(&imgs[0].bytes[..], b"\x89PNG fake");
        assert_eq!(imgs[0].file_name, "inline-1.png");
        assert_eq!(imgs[0].id, "c1#inline-1");
        assert!(
            body.starts_with("<p>a</p>[image: inline-1.png]<img src=\"https://x/y.png\">"),
            "{body}"
        );
        assert!(body.ends_with("<img src=\"data:text/plain,hi\">é"));
        let (same, none) = extract_data_images("<p>no images</p><img", "c");
        assert!(none.is_empty());
        assert_eq!(same, "<p>no images</p><img");
    }
}
