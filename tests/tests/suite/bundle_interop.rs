//! Tests: bundle_interop — a bundle from our writer checked with stock tools only (age, tar,
//! sha256sum, minisign, bagit-python, pyarrow, DuckDB), and the `deskferry-bundle` subcommands
//! (keygen, inspect, export, diff, purge) on real bundles.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use deskferry_fixtures::bad_bundles::sample::{sample_meta, write_sample};
use deskferry_format::{KeygenPaths, Recipients, SealedBundle, SigningKey, keygen};

use super::bundle_codes::bundle_bin;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The interop venv's python; a missing venv fails the test (it is never skipped).
fn python() -> PathBuf {
    let p = std::env::var_os("DESKFERRY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(p.exists(), "python venv missing: run tests/run (looked for {})", p.display());
    p
}

fn interop(script: &str) -> PathBuf {
    workspace().join("tests/interop").join(script)
}

struct Sample {
    _dir: tempfile::TempDir,
    root: PathBuf,
    keys: KeygenPaths,
    sealed: SealedBundle,
}

fn sample_at(created_at: DateTime<Utc>, bundle_id: &str, variant: u32) -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let keys = keygen(&root.join("keys")).unwrap();
    let sealed = bundle_with(&root, &keys, created_at, bundle_id, variant);
    Sample { _dir: dir, root, keys, sealed }
}

fn bundle_with(
    root: &Path,
    keys: &KeygenPaths,
    created_at: DateTime<Utc>,
    bundle_id: &str,
    variant: u32,
) -> SealedBundle {
    let recipients = Recipients::from_file(&keys.recipient).unwrap();
    let signer = SigningKey::from_file(&keys.sign_key).unwrap();
    let out_dir = root.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    write_sample(
        &root.join(format!("work-{bundle_id}")),
        &out_dir.join(format!("{bundle_id}.dfb")),
        sample_meta(bundle_id, created_at),
        &recipients,
        &signer,
        variant,
    )
    .unwrap()
}

fn fresh() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0) - Duration::hours(1)
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn cli(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bundle_bin()).args(args).output().expect("running deskferry-bundle")
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn stock_tools_decrypt_check_and_read_our_bundle() {
    let s = sample_at(fresh(), "interop-1", 0);
    let out = Command::new("bash")
        .arg(interop("check_bundle.sh"))
        .arg(&s.sealed.bundle)
        .arg(&s.keys.identity)
        .arg(&s.keys.sign_pub)
        .arg(s.root.join("unpacked"))
        .env("DESKFERRY_PYTHON", python())
        .output()
        .unwrap();
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Signature and comment signature verified"), "{text}");
    assert!(text.contains("ALL STOCK-TOOL CHECKS PASSED"), "{text}");
    // The summary JSON from check_bag.py names every table with rows.
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["bagit_valid"], true);
    assert_eq!(v["tables"]["tickets"]["rows"], 3);
    assert_eq!(v["tables"]["tickets"]["duckdb_types"]["tags"], "VARCHAR[]");
    assert_eq!(v["tables"]["tickets"]["duckdb_types"]["created_at"], "TIMESTAMP WITH TIME ZONE");
}

#[test]
fn stock_tools_notice_tampering() {
    let s = sample_at(fresh(), "interop-2", 0);
    // minisign refuses a flipped ciphertext byte.
    let tampered = s.root.join("tampered.dfb");
    let mut bytes = std::fs::read(&s.sealed.bundle).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 1;
    std::fs::write(&tampered, bytes).unwrap();
    std::fs::copy(&s.sealed.signature, s.root.join("tampered.dfb.minisig")).unwrap();
    let pk = std::fs::read_to_string(&s.keys.sign_pub).unwrap().lines().nth(1).unwrap().to_string();
    let st = Command::new("minisign")
        .args([
            "-Vm".as_ref(),
            tampered.as_os_str(),
            "-P".as_ref(),
            pk.as_ref() as &std::ffi::OsStr,
        ])
        .output()
        .unwrap();
    assert!(!st.status.success(), "minisign accepted a tampered bundle");
    // sha256sum -c and bagit notice a payload file changed after unpacking.
    let unpack = s.root.join("u");
    std::fs::create_dir_all(&unpack).unwrap();
    let st = Command::new("bash")
        .arg("-o")
        .arg("pipefail")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | tar -x -C '{}' -f -",
            s.keys.identity.display(),
            s.sealed.bundle.display(),
            unpack.display()
        ))
        .status()
        .unwrap();
    assert!(st.success());
    let bag = unpack.join("interop-2");
    let part = bag.join("data/tables/tickets/part-00000.parquet");
    let mut p = std::fs::read(&part).unwrap();
    p[10] ^= 1;
    std::fs::write(&part, p).unwrap();
    let st = Command::new("sha256sum")
        .args(["--quiet", "-c", "manifest-sha256.txt"])
        .current_dir(&bag)
        .output()
        .unwrap();
    assert!(!st.status.success(), "sha256sum -c missed the change");
    let st = Command::new(python()).arg(interop("check_bag.py")).arg(&bag).output().unwrap();
    assert!(!st.status.success(), "bagit validation missed the change: {}", show(&st));
}

#[test]
fn cli_keygen_writes_usable_keys() {
    let dir = tempfile::tempdir().unwrap();
    let kd = dir.path().join("k");
    let o = cli(&[os("keygen"), os("--out-dir"), kd.as_os_str()]);
    assert!(o.status.success(), "{}", show(&o));
    for (f, mode) in
        [("identity.txt", 0o600), ("sign.key", 0o600), ("recipient.txt", 0), ("sign.pub", 0)]
    {
        let m = std::fs::metadata(kd.join(f)).unwrap().permissions().mode() & 0o777;
        if mode != 0 {
            assert_eq!(m, mode, "{f} mode {m:o}");
        }
    }
    let id = std::fs::read_to_string(kd.join("identity.txt")).unwrap();
    let rcpt = std::fs::read_to_string(kd.join("recipient.txt")).unwrap();
    assert!(id.contains(&format!("# public key: {}", rcpt.trim())), "{id}");
    // Stock age round trip with the generated pair.
    let st = Command::new("bash")
        .arg("-o")
        .arg("pipefail")
        .arg("-c")
        .arg(format!(
            "echo grüezi | age -R '{0}/recipient.txt' | age -d -i '{0}/identity.txt'",
            kd.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&st.stdout).trim(), "grüezi", "{}", show(&st));
    // A second keygen into the same directory refuses to overwrite.
    let o = cli(&[os("keygen"), os("--out-dir"), kd.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
}

#[test]
fn cli_inspect_reports_tables_dates_and_attachments() {
    let s = sample_at(fresh(), "inspect-1", 0);
    let o = cli(&[
        os("inspect"),
        s.sealed.bundle.as_os_str(),
        os("--signer"),
        s.keys.sign_pub.as_os_str(),
        os("--identity"),
        s.keys.identity.as_os_str(),
        os("--json"),
    ]);
    assert!(o.status.success(), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["envelope"]["bundle_id"], "inspect-1");
    assert_eq!(v["signer_key_id"], v["envelope"]["signer_key_id"]);
    assert_eq!(v["attachments"]["blobs"], 2);
    let tickets = v["tables"].as_array().unwrap().iter().find(|t| t["table"] == "tickets").unwrap();
    assert_eq!(tickets["rows"], 3);
    assert_eq!(tickets["min"], "2026-03-04T10:15:30Z");
    assert_eq!(tickets["max"], "2026-03-06T10:15:30Z");
    assert!(tickets["schema"].as_array().unwrap().iter().any(|f| f["name"] == "tags"));
    assert_eq!(v["warnings"][0]["id"], "804");
    // Text mode works too and names the purge date.
    let o = cli(&[
        os("inspect"),
        s.sealed.bundle.as_os_str(),
        os("--signer"),
        s.keys.sign_pub.as_os_str(),
        os("--identity"),
        s.keys.identity.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("purge after:") && text.contains("tickets"),
        "{}",
        show(&o)
    );
}

#[test]
fn cli_export_writes_a_bag_stock_tools_accept_and_never_overwrites() {
    let s = sample_at(fresh(), "export-1", 0);
    let to = s.root.join("exported");
    let args = [
        os("export"),
        s.sealed.bundle.as_os_str(),
        os("--signer"),
        s.keys.sign_pub.as_os_str(),
        os("--identity"),
        s.keys.identity.as_os_str(),
        os("--to"),
        to.as_os_str(),
    ];
    // Under the usual umask 022, the plaintext bag is still readable by its owner only.
    let o = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(bundle_bin())
        .args(args)
        .output()
        .expect("running deskferry-bundle export");
    assert!(o.status.success(), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("readable by you only"), "{}", show(&o));
    let bag = to.join("export-1");
    assert_private(&to);
    let st = Command::new("sha256sum")
        .args(["--quiet", "-c", "manifest-sha256.txt"])
        .current_dir(&bag)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", show(&st));
    let st = Command::new(python()).arg(interop("check_bag.py")).arg(&bag).output().unwrap();
    assert!(st.status.success(), "{}", show(&st));
    // Again into the same directory: refused, and the files are untouched.
    let before = std::fs::read(bag.join("bundle.json")).unwrap();
    let o = cli(&args);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to overwrite"), "{}", show(&o));
    assert_eq!(std::fs::read(bag.join("bundle.json")).unwrap(), before);
}

/// Every directory under `dir` (itself included) is 0700 and every file 0600.
fn assert_private(dir: &Path) {
    let m = std::fs::metadata(dir).unwrap().permissions().mode() & 0o7777;
    assert_eq!(m, 0o700, "{}: mode {m:o}", dir.display());
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            assert_private(&e.path());
        } else {
            let m = e.metadata().unwrap().permissions().mode() & 0o7777;
            assert_eq!(m, 0o600, "{}: mode {m:o}", e.path().display());
        }
    }
}

#[test]
fn cli_diff_lists_added_changed_removed_by_id() {
    let s = sample_at(fresh(), "diff-old", 0);
    let new = bundle_with(&s.root, &s.keys, fresh(), "diff-new", 1);
    let o = cli(&[
        os("diff"),
        s.sealed.bundle.as_os_str(),
        new.bundle.as_os_str(),
        os("--signer"),
        s.keys.sign_pub.as_os_str(),
        os("--identity"),
        s.keys.identity.as_os_str(),
        os("--json"),
    ]);
    assert!(o.status.success(), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = &v["tables"]["tickets"];
    assert_eq!(t["added"], serde_json::json!(["41"]), "{v}");
    assert_eq!(t["removed"], serde_json::json!(["40"]), "{v}");
    assert_eq!(t["changed"], serde_json::json!(["5"]), "{v}");
    assert_eq!(t["unchanged"], 1);
    let u = &v["tables"]["users"];
    assert_eq!(
        (
            u["added"].as_array().unwrap().len(),
            u["changed"].as_array().unwrap().len(),
            u["unchanged"].as_u64()
        ),
        (0, 0, Some(3))
    );
}

#[test]
fn cli_purge_deletes_expired_bundles_and_leaves_a_receipt_without_personal_data() {
    let s = sample_at(Utc::now().trunc_subsecs(0) - Duration::days(30), "purge-old", 0);
    let keep = bundle_with(&s.root, &s.keys, fresh(), "purge-new", 0);
    let dir = s.root.join("out");
    let old_sha = {
        use std::io::Read;
        let mut b = Vec::new();
        std::fs::File::open(&s.sealed.bundle).unwrap().read_to_end(&mut b).unwrap();
        b
    };
    let o = cli(&[os("purge"), dir.as_os_str(), os("--json")]);
    assert!(o.status.success(), "{}", show(&o));
    for p in [&s.sealed.bundle, &s.sealed.signature, &s.sealed.envelope_path] {
        assert!(!p.exists(), "{} survived the purge", p.display());
    }
    for p in [&keep.bundle, &keep.signature, &keep.envelope_path] {
        assert!(p.exists(), "{} was purged too early", p.display());
    }
    let receipt_path = dir.join("purge-old.purge-receipt.json");
    let text = std::fs::read_to_string(&receipt_path).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["bundle_id"], "purge-old");
    assert_eq!(r["content_id"], s.sealed.content_id.as_str());
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["name"], "purge-old.dfb");
    assert_eq!(files[0]["sha256"], hex_sha(&old_sha));
    for personal in ["Zürich", "Bäckerei", "zoe@", "Bestellung", "Grüße"] {
        assert!(!text.contains(personal), "receipt holds {personal:?}:\n{text}");
    }
    // --now in the future purges the other one as well.
    let o = cli(&[os("purge"), dir.as_os_str(), os("--now"), os("2099-01-01T00:00:00Z")]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(!keep.bundle.exists());
    assert!(dir.join("purge-new.purge-receipt.json").exists());
}

fn hex_sha(b: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn cli_verifies_a_passphrase_bundle_with_the_passphrase_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(&dir.path().join("keys")).unwrap();
    let recipients = Recipients::passphrase("grüne Kuh 42".to_string().into());
    let signer = SigningKey::from_file(&keys.sign_key).unwrap();
    let out = dir.path().join("pass-1.dfb");
    write_sample(
        &dir.path().join("work"),
        &out,
        sample_meta("pass-1", fresh()),
        &recipients,
        &signer,
        0,
    )
    .unwrap();
    let run = |pass: &str| {
        Command::new(bundle_bin())
            .arg("verify")
            .arg(&out)
            .arg("--signer")
            .arg(&keys.sign_pub)
            .arg("--passphrase")
            .env("DESKFERRY_PASSPHRASE", pass)
            .output()
            .unwrap()
    };
    let ok = run("grüne Kuh 42");
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("full verification"), "{}", show(&ok));
    let bad = run("wrong");
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("B020_no_matching_identity"),
        "{}",
        show(&bad)
    );
}
