//! Support for tools and tests that build deliberately broken bundles (the per-code generator):
//! decrypt a bundle's plaintext tar into memory, take it apart and put it back together with any
//! names and entry types, encrypt it again, and re-sign (`crate::resign`). Never used by the
//! reader or writer themselves.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

pub mod parts;

use crate::error::{FormatError, io_err};
use crate::keys::{Identities, Recipients};

/// One raw tar entry: full name (including the `<bundle_id>/` directory), type flag, bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Full name as stored (may be anything: absolute, `..`, NUL, non-UTF-8 when built by hand).
    pub name: Vec<u8>,
    /// ustar type flag: b'0' regular, b'2' symlink, b'1' hard link, b'3' char device, b'5' dir, b'x' PAX ...
    pub kind: u8,
    /// Link target for links (ustar linkname field).
    pub link: Vec<u8>,
    /// Permission bits (the writer's are 0o644).
    pub mode: u32,
    /// Contents.
    pub data: Vec<u8>,
}

impl RawEntry {
    /// A regular file.
    pub fn file(name: impl Into<Vec<u8>>, data: impl Into<Vec<u8>>) -> RawEntry {
        RawEntry { name: name.into(), kind: b'0', link: Vec::new(), mode: 0o644, data: data.into() }
    }
    /// The name as text (lossy).
    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Decrypts a whole bundle into memory (for small test bundles only).
pub fn decrypt_to_vec(bundle: &Path, identities: &Identities) -> Result<Vec<u8>, FormatError> {
    let f = fs::File::open(bundle).map_err(io_err(bundle))?;
    let d = age::Decryptor::new(std::io::BufReader::new(f))
        .map_err(|e| FormatError::Encrypt(e.to_string()))?;
    let mut r = d.decrypt(identities.iter()).map_err(|e| FormatError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(io_err(bundle))?;
    Ok(out)
}

/// Encrypts `plaintext` to `recipients` as `out` (replacing it).
pub fn encrypt_to_file(
    out: &Path,
    plaintext: &[u8],
    recipients: &Recipients,
) -> Result<(), FormatError> {
    let enc = crate::writer::encryptor(recipients)?;
    let f = fs::File::create(out).map_err(io_err(out))?;
    let mut w = enc.wrap_output(f).map_err(io_err(out))?;
    w.write_all(plaintext).map_err(io_err(out))?;
    w.finish().map_err(io_err(out))?.sync_all().map_err(io_err(out))?;
    Ok(())
}

fn field(h: &[u8]) -> Vec<u8> {
    h.iter().copied().take_while(|&b| b != 0).collect()
}

/// Splits a ustar archive into its entries (expects well-formed input: our own tars).
pub fn parse_tar(tar: &[u8]) -> Vec<RawEntry> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() {
        let h = &tar[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let name = field(&h[..100]);
        let prefix = field(&h[345..500]);
        let full = if prefix.is_empty() { name } else { [prefix, b"/".to_vec(), name].concat() };
        let size_txt = String::from_utf8_lossy(&field(&h[124..136])).trim().to_string();
        let size = usize::from_str_radix(&size_txt, 8).unwrap_or(0);
        let data = tar[at + 512..at + 512 + size].to_vec();
        let mode_txt = String::from_utf8_lossy(&field(&h[100..108])).trim().to_string();
        let mode = u32::from_str_radix(&mode_txt, 8).unwrap_or(0);
        out.push(RawEntry { name: full, kind: h[156], link: field(&h[157..257]), mode, data });
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// Builds a ustar archive from entries, writing names verbatim (split into prefix/name at a `/`
/// when longer than 100 bytes). Ends with two zero blocks.
pub fn build_tar(entries: &[RawEntry], mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; 512];
        let (prefix, name): (&[u8], &[u8]) = if e.name.len() <= 100 {
            (&[], &e.name)
        } else {
            let split =
                e.name[..e.name.len().min(156)].iter().rposition(|&b| b == b'/').unwrap_or(0);
            (&e.name[..split], &e.name[(split + 1).min(e.name.len())..])
        };
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name[..n]);
        let p = prefix.len().min(155);
        h[345..345 + p].copy_from_slice(&prefix[..p]);
        h[100..108].copy_from_slice(format!("{:07o}\0", e.mode).as_bytes());
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", e.data.len()).as_bytes());
        h[136..148].copy_from_slice(format!("{mtime:011o}\0").as_bytes());
        h[156] = e.kind;
        let l = e.link.len().min(100);
        h[157..157 + l].copy_from_slice(&e.link[..l]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn sha_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}

/// Recomputes Payload-Oxum, manifest-sha256.txt and tagmanifest-sha256.txt from the entries
/// under `<bundle_id>/` (after an edit), as an honest writer would have; returns the new content id.
pub fn refresh_manifests(entries: &mut [RawEntry], bundle_id: &str) -> String {
    let top = format!("{bundle_id}/");
    let rel = |e: &RawEntry| e.name_str().strip_prefix(&top).map(str::to_string);
    let mut payload: Vec<(String, String, u64)> = entries
        .iter()
        .filter_map(|e| {
            rel(e)
                .filter(|p| p.starts_with("data/"))
                .map(|p| (p, sha_hex(&e.data), e.data.len() as u64))
        })
        .collect();
    payload.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let manifest: String = payload.iter().map(|(p, h, _)| format!("{h}  {p}\n")).collect();
    let oxum =
        format!("Payload-Oxum: {}.{}", payload.iter().map(|p| p.2).sum::<u64>(), payload.len());
    for e in entries.iter_mut() {
        match rel(e).as_deref() {
            Some("manifest-sha256.txt") => e.data = manifest.clone().into_bytes(),
            Some("bag-info.txt") => {
                let text = String::from_utf8_lossy(&e.data).into_owned();
                let lines: Vec<String> =
                    text.lines()
                        .map(|l| {
                            if l.starts_with("Payload-Oxum:") {
                                oxum.clone()
                            } else {
                                l.to_string()
                            }
                        })
                        .collect();
                e.data = (lines.join("\n") + "\n").into_bytes();
            }
            _ => {}
        }
    }
    let mut tm = String::new();
    for name in ["bag-info.txt", "bagit.txt", "bundle.json", "manifest-sha256.txt"] {
        if let Some(e) = entries.iter().find(|e| rel(e).as_deref() == Some(name)) {
            tm.push_str(&format!("{}  {name}\n", sha_hex(&e.data)));
        }
    }
    for e in entries.iter_mut() {
        if rel(e).as_deref() == Some("tagmanifest-sha256.txt") {
            e.data = tm.clone().into_bytes();
        }
    }
    sha_hex(tm.as_bytes())
}
