//! Sealing the sample bundle and rebuilding it with one defect (decrypt, edit the tar, refresh
//! the manifests as an honest writer would, encrypt, re-sign).

use std::path::{Path, PathBuf};

use deskferry_format::*;

use super::*;

pub fn blob_bytes(i: u32) -> Vec<u8> {
    (0..(i * 1000 + 7)).map(|j| (j * 31 + i) as u8).collect()
}

/// Writes every table (rows appended out of order) and three blobs (one twice).
pub fn fill(w: &mut BundleWriter) -> Vec<BlobRef> {
    for i in (0..20).rev() {
        w.append(&user(i)).unwrap();
    }
    for i in 0..3 {
        w.append(&organization(i)).unwrap();
        w.append(&group(i)).unwrap();
        w.append(&custom_field(i)).unwrap();
        w.append(&KbCategory(kb(i))).unwrap();
        w.append(&KbSection(kb(i))).unwrap();
        w.append(&KbArticle(kb(i))).unwrap();
        w.append(&tombstone(i)).unwrap();
    }
    for i in [5, 1, 3, 2, 4, 10, 100] {
        w.append(&ticket(i)).unwrap();
        w.append(&comment(i)).unwrap();
    }
    let mut refs = Vec::new();
    for i in [1u32, 2, 3, 2] {
        refs.push(w.add_blob(&mut blob_bytes(i).as_slice()).unwrap());
    }
    for (i, r) in refs.iter().enumerate() {
        w.append(&attachment(i as u32, Some(r.sha256.clone()), AttachmentState::Stored)).unwrap();
    }
    w.append(&attachment(9, None, AttachmentState::Missing)).unwrap();
    refs
}

pub fn seal_sample(dir: &Path, k: &Keys, id: &str, name: &str) -> SealedBundle {
    let mut w = BundleWriter::create(&dir.join(format!("work-{name}")), meta(id)).unwrap();
    fill(&mut w);
    w.seal(&dir.join(format!("{name}.dfb")), &k.recipients, &k.signing).unwrap()
}

pub fn code_of(bundle: &Path, k: &Keys, opts: &VerifyOptions) -> ErrorCode {
    BundleReader::open(bundle, &k.signer, &k.identities, opts).err().expect("must fail").code
}

/// Decrypts `s`, lets `edit` change the entries, refreshes the manifests when asked, encrypts,
/// fixes the envelope (plaintext size, content id) and re-signs.
pub fn rebuilt(
    dir: &Path,
    k: &Keys,
    s: &SealedBundle,
    name: &str,
    refresh: bool,
    edit: &dyn Fn(&mut Vec<testing::RawEntry>),
) -> PathBuf {
    rebuilt_raw(dir, k, s, name, refresh, edit, &|_| {})
}

pub fn rebuilt_raw(
    dir: &Path,
    k: &Keys,
    s: &SealedBundle,
    name: &str,
    refresh: bool,
    edit: &dyn Fn(&mut Vec<testing::RawEntry>),
    raw: &dyn Fn(&mut Vec<u8>),
) -> PathBuf {
    let plain = testing::decrypt_to_vec(&s.bundle, &k.identities).unwrap();
    let mut entries = testing::parse_tar(&plain);
    edit(&mut entries);
    let mut env = s.envelope.clone();
    if refresh {
        env.content_id = testing::refresh_manifests(&mut entries, &env.bundle_id);
    }
    let mut tar = testing::build_tar(&entries, 0);
    raw(&mut tar);
    env.plaintext_size = tar.len() as u64;
    let p = dir.join(format!("{name}.dfb"));
    testing::encrypt_to_file(&p, &tar, &k.recipients).unwrap();
    resign(&p, env, &k.signing).unwrap();
    p
}

pub fn find(entries: &[testing::RawEntry], suffix: &str) -> usize {
    entries
        .iter()
        .position(|e| e.name_str().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
}
