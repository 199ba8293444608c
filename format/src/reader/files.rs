//! Opening NAME.dfb and its sidecars: regular files only, and never more read than the limit.
//!
//! A path that is a device or a FIFO would make even the quick tier, which needs no secret, read
//! forever (`/dev/zero`) or block (a FIFO nobody writes to). So the file is opened without
//! blocking, checked with `fstat` on the open descriptor (what was checked is what is read), and
//! read through a `take` of the limit + 1 bytes.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{BundleError, ErrorCode as C, berr};

/// What a non-regular file is, for the message.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading if it is a regular file (symlinks to one are followed); `missing` is
/// the code for an absent file.
pub(crate) fn open_regular(path: &Path, missing: C) -> Result<File, BundleError> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for regular files.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return berr(missing, format!("{} is absent", path.display()));
        }
        Err(e) => return berr(C::B012, format!("{}: {e}", path.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| BundleError::new(C::B012, format!("{}: {e}", path.display())))?;
    if !meta.file_type().is_file() {
        return berr(
            C::B013,
            format!(
                "{} is {}, not a regular file; refusing to read it",
                path.display(),
                kind_of(meta.file_type())
            ),
        );
    }
    Ok(file)
}

/// Reads a whole regular file of at most `limit` bytes (`too_big` past it).
pub(crate) fn read_regular(
    path: &Path,
    limit: u64,
    missing: C,
    too_big: C,
) -> Result<Vec<u8>, BundleError> {
    let file = open_regular(path, missing)?;
    let mut out = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| BundleError::new(C::B012, format!("{}: {e}", path.display())))?;
    if out.len() as u64 > limit {
        return berr(too_big, format!("{} is larger than {limit} bytes", path.display()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_regular_files_and_links_to_them_read() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"0123456789").unwrap();
        std::os::unix::fs::symlink(&f, d.path().join("link")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.path().join("zero")).unwrap();
        assert_eq!(read_regular(&f, 10, C::B004, C::B005).unwrap(), b"0123456789");
        assert_eq!(read_regular(&d.path().join("link"), 10, C::B004, C::B005).unwrap().len(), 10);
        assert_eq!(read_regular(&f, 9, C::B004, C::B005).unwrap_err().code, C::B005);
        assert_eq!(
            read_regular(&d.path().join("none"), 9, C::B004, C::B005).unwrap_err().code,
            C::B004
        );
        let e = read_regular(&d.path().join("zero"), 9, C::B004, C::B005).unwrap_err();
        assert_eq!(e.code, C::B013, "{e}");
        assert!(e.detail.contains("character device"), "{e}");
        assert_eq!(open_regular(d.path(), C::B012).unwrap_err().code, C::B013);
    }
}
