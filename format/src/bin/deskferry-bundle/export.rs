//! `export BUNDLE --to DIR`: the plain bag on disk, after full verification, for DuckDB,
//! pyarrow or a BagIt validator. What lands there is the plaintext of personal data, so it is
//! readable by its owner only (files 0600, directories 0700), whatever the umask.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::common::{
    EXIT_FATAL, EXIT_OK, IdentityArgs, SignerArgs, error_json, open_verified, print_json,
    report_error,
};
use crate::progress::Bar;

/// Mode of every exported file: the owner reads and writes, nobody else anything.
const PRIVATE_FILE: u32 = 0o600;
/// Mode of every directory export creates.
const PRIVATE_DIR: u32 = 0o700;

/// Arguments of `export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bundle (`NAME.dfb`).
    bundle: PathBuf,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    ids: IdentityArgs,
    /// Directory the bag is written into (created 0700 if missing; existing files are never
    /// overwritten). The bag's files are 0600 and its directories 0700.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Machine-readable summary on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `export`.
pub fn run(a: Args) -> Result<u8> {
    let bar = Bar::on_terminal();
    let reader = match open_verified(&a.bundle, &a.signer, &a.ids, &bar)? {
        Ok(r) => r,
        Err(e) => {
            if a.json {
                print_json(&error_json(&a.bundle, &e))?;
            }
            report_error(&a.bundle, &e);
            return Ok(EXIT_FATAL);
        }
    };
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(&a.to)
        .with_context(|| format!("creating {}", a.to.display()))?;
    let to = a.to.canonicalize().with_context(|| format!("resolving {}", a.to.display()))?;
    // The bag lands in DIR/<bundle id>/, as `age -d | tar x` would unpack it.
    let top = safe_relative(&reader.envelope().bundle_id)?;
    make_dirs(&to, &top)?;
    let root = to.join(&top);
    let mut files = 0u64;
    let mut bytes = 0u64;
    bar.stage("export", reader.entries().iter().map(|e| e.size).sum());
    for entry in reader.entries() {
        let rel = safe_relative(&entry.path)?;
        let dest = root.join(&rel);
        if let Some(parent) = rel.parent() {
            make_dirs(&root, parent)?;
        }
        // create_new: an existing file (or a symlink planted there) is never written through.
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE)
            .open(&dest)
            .with_context(|| format!("creating {} (refusing to overwrite)", dest.display()))?;
        let n = reader
            .copy_entry(&entry.path, &mut out)
            .map_err(|e| anyhow::anyhow!("{}: {} ({})", e.code.as_str(), e.detail, entry.path))?;
        out.flush()?;
        out.sync_all().with_context(|| format!("syncing {}", dest.display()))?;
        files += 1;
        bytes += n;
        bar.inc(n);
    }
    bar.finish();
    if a.json {
        print_json(&serde_json::json!({
            "bundle": a.bundle.display().to_string(),
            "bag": root.display().to_string(),
            "files": files,
            "bytes": bytes,
            "content_id": reader.content_id(),
            "file_mode": format!("{PRIVATE_FILE:o}"),
            "dir_mode": format!("{PRIVATE_DIR:o}"),
        }))?;
    } else {
        println!("exported {files} files ({bytes} bytes) to {}", root.display());
        println!(
            "readable by you only (files 0600, directories 0700): it is plaintext personal data"
        );
        println!("check with: cd {} && sha256sum -c manifest-sha256.txt", root.display());
    }
    Ok(EXIT_OK)
}

/// An entry name as a relative path of plain components, or an error.
///
/// The reader already refuses such names (B027/B028); checking again costs nothing and keeps this
/// command safe on its own.
fn safe_relative(name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.contains('\0') || name.contains('\\') {
        bail!("refusing entry name {name:?}");
    }
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            _ => bail!("refusing entry name outside the target directory: {name:?}"),
        }
    }
    if out.as_os_str().is_empty() {
        bail!("refusing empty entry name");
    }
    Ok(out)
}

/// Creates `rel`'s directories under `root`, refusing to pass through anything but real
/// directories (a symlink inside DIR could otherwise lead outside it).
fn make_dirs(root: &Path, rel: &Path) -> Result<()> {
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => bail!("{} exists and is not a directory; refusing", cur.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DirBuilder::new()
                .mode(PRIVATE_DIR)
                .create(&cur)
                .with_context(|| format!("creating {}", cur.display()))?,
            Err(e) => return Err(e).with_context(|| format!("checking {}", cur.display())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "", "a\\b", "a\0b", "./", ".."] {
            assert!(safe_relative(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            safe_relative("data/tables/x.parquet").unwrap(),
            PathBuf::from("data/tables/x.parquet")
        );
    }

    #[test]
    fn directories_are_never_followed_through_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("data")).unwrap();
        assert!(make_dirs(d.path(), Path::new("data/tables")).is_err());
        assert!(!outside.path().join("tables").exists());
        make_dirs(d.path(), Path::new("bag/data/tables")).unwrap();
        assert!(d.path().join("bag/data/tables").is_dir());
    }
}
