//! The loader's scratch files: the conversation spool (`rows.rs`) and the reconciliation's rows
//! (`check_log.rs`) hold the bundle's decrypted content on disk while a command runs. Every
//! row is sealed (ChaCha20-Poly1305) with a key that exists only in the process's memory, so a
//! scratch file left behind by a killed process is unreadable; and such leftovers are removed
//! by the next command that finds them (their process gone).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::load_error::LoadError;

/// Seals and opens the rows of one scratch file.
pub(crate) struct Sealer {
    cipher: ChaCha20Poly1305,
    next: AtomicU64,
}

impl Default for Sealer {
    fn default() -> Self {
        let key: [u8; 32] = rand::random();
        Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)), next: AtomicU64::new(0) }
    }
}

impl Sealer {
    /// `plain` sealed: a 12-byte nonce (a counter: never repeated under one key), then the
    /// ciphertext with its tag.
    pub(crate) fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plain)
                .expect("ChaCha20-Poly1305 seals any length a row has"),
        );
        out
    }

    /// The row `sealed` held, or an error naming the scratch file.
    pub(crate) fn open(&self, sealed: &[u8], path: &Path) -> Result<Vec<u8>, LoadError> {
        let bad = || LoadError::Spool {
            path: path.to_path_buf(),
            message: "a scratch row does not open with this process's key (the file was changed)"
                .into(),
        };
        if sealed.len() < 12 {
            return Err(bad());
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), body).map_err(|_| bad())
    }
}

/// A new scratch directory `prefix{pid}-…` in `dir` (0700), after removing the ones of that
/// prefix whose process is gone.
pub(crate) fn scratch_dir(dir: &Path, prefix: &str) -> Result<tempfile::TempDir, LoadError> {
    sweep(dir, prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(dir)
        .map_err(|e| LoadError::io(dir, e))
}

/// Removes `prefix{pid}-…` directories of processes no longer running (Linux: `/proc`).
fn sweep(dir: &Path, prefix: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let path: PathBuf = e.path();
        if !Path::new(&format!("/proc/{pid}")).exists() && path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_open_only_with_their_process_key_and_leftovers_of_dead_processes_go() {
        let s = Sealer::default();
        let sealed = s.seal(b"a customer's words");
        assert!(!sealed.windows(8).any(|w| w == b"customer"), "nothing readable on disk");
        assert_eq!(s.open(&sealed, Path::new("x")).unwrap(), b"a customer's words");
        assert_ne!(s.seal(b"same"), s.seal(b"same"), "a new nonce every row");
        let other = Sealer::default();
        assert!(other.open(&sealed, Path::new("x")).is_err(), "another process cannot read it");

        let dir = tempfile::tempdir().unwrap();
        // A process id no Linux system hands out (above pid_max's ceiling).
        let dead = dir.path().join(".deskferry-spool-4194305-abc");
        std::fs::create_dir(&dead).unwrap();
        let live = scratch_dir(dir.path(), ".deskferry-spool-").unwrap();
        assert!(!dead.exists(), "a dead process's scratch is removed");
        let again = scratch_dir(dir.path(), ".deskferry-spool-").unwrap();
        assert!(live.path().exists() && again.path().exists(), "a live process's scratch stays");
    }
}
