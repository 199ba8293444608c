//! Tests: bundle_codes — every broken bundle from the fixtures generator is refused with exactly
//! the code it was built for, through the library and through `deskferry-bundle verify`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use deskferry_fixtures::bad_bundles::{self, BadBundle};
use deskferry_format::{
    BundleReader, ErrorCode, Identities, SignerKey, Table, VerifyOptions, verify_quick,
};

/// The broken bundles, generated once per test process under target/tmp.
fn broken() -> &'static (Vec<BadBundle>, BadBundle) {
    static SET: OnceLock<(Vec<BadBundle>, BadBundle)> = OnceLock::new();
    SET.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale(tmp);
        let dir = tmp.join(format!("bundle_codes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let all = bad_bundles::generate_all(&dir.join("bad")).expect("generating broken bundles");
        let valid =
            bad_bundles::generate_valid(&dir.join("valid")).expect("generating the valid control");
        (all, valid)
    })
}

/// Removes the generated sets of earlier test processes that are gone (a static never drops).
fn remove_stale(tmp: &Path) {
    let Ok(rd) = std::fs::read_dir(tmp) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("bundle_codes-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The `deskferry-bundle` binary (`tests/run` builds every binary before the suite).
pub fn bundle_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("DESKFERRY_BUNDLE_BIN") {
        Some(p) => PathBuf::from(p),
        None => deskferry_tests::workspace_bin("deskferry-bundle"),
    })
}

fn opts(b: &BadBundle) -> VerifyOptions {
    VerifyOptions { now: b.now, allow_expired: false, ..Default::default() }
}

fn keys(b: &BadBundle) -> (SignerKey, Identities) {
    (SignerKey::from_file(&b.signer_pub).unwrap(), Identities::from_file(&b.identity).unwrap())
}

#[test]
fn the_valid_control_bundle_opens_and_has_rows() {
    let (_, valid) = broken();
    let (signer, ids) = keys(valid);
    verify_quick(&valid.bundle, &signer, &opts(valid)).expect("quick tier");
    let r = BundleReader::open(&valid.bundle, &signer, &ids, &opts(valid)).expect("all tiers");
    for t in Table::ALL {
        assert!(r.row_count(t) > 0, "the sample has rows in every table, {t} has none");
    }
}

#[test]
fn at_least_25_distinct_codes_are_covered() {
    let codes: BTreeSet<&str> = bad_bundles::catalogue().map(|(_, c)| c).collect();
    assert!(codes.len() >= 25, "only {} codes: {codes:?}", codes.len());
    for c in &codes {
        assert!(ErrorCode::from_str_code(c).is_some(), "{c} is not a code of the format crate");
    }
}

#[test]
fn every_broken_bundle_is_refused_with_its_exact_code() {
    let (all, _) = broken();
    assert_eq!(all.len(), bad_bundles::catalogue().count());
    let mut wrong = Vec::new();
    for b in all {
        let (signer, ids) = keys(b);
        let expected = ErrorCode::from_str_code(b.code).expect("known code");
        // `open` returns a reader only when all tiers passed: an Err means no row was handed out.
        match BundleReader::open(&b.bundle, &signer, &ids, &opts(b)) {
            Ok(r) => wrong.push(format!(
                "{} ({}): opened, {} tickets readable",
                b.name,
                b.code,
                r.row_count(Table::Tickets)
            )),
            Err(e) if e.code == expected => {}
            Err(e) => {
                wrong.push(format!("{} expected {}, got {} ({})", b.name, b.code, e.code, e.detail))
            }
        }
        let quick = verify_quick(&b.bundle, &signer, &opts(b));
        match (expected.tier(), quick) {
            (1, Err(e)) if e.code == expected => {}
            (1, other) => wrong.push(format!(
                "{}: quick tier gave {:?}, expected {}",
                b.name,
                other.map(|_| "ok"),
                b.code
            )),
            (_, Ok(_)) => {}
            (_, Err(e)) => wrong.push(format!(
                "{}: quick tier must pass (signed honestly) but gave {} ({})",
                b.name, e.code, e.detail
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
}

#[test]
fn expired_bundle_opens_with_allow_expired() {
    let (all, _) = broken();
    let b = all.iter().find(|b| b.name == "expired").unwrap();
    let (signer, ids) = keys(b);
    let o = VerifyOptions { now: b.now, allow_expired: true, ..Default::default() };
    BundleReader::open(&b.bundle, &signer, &ids, &o).expect("expired but otherwise valid");
}

fn run_verify(b: &BadBundle, identity: bool) -> (i32, String, String) {
    let mut c = Command::new(bundle_bin());
    c.arg("verify").arg(&b.bundle).arg("--signer").arg(&b.signer_pub);
    c.arg("--now").arg(b.now.to_rfc3339());
    if identity {
        c.arg("--identity").arg(&b.identity);
    }
    let out = c.output().expect("running deskferry-bundle");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_binary_exits_2_and_prints_the_code() {
    let (all, valid) = broken();
    let (code, out, err) = run_verify(valid, true);
    assert_eq!(code, 0, "valid bundle: {out}{err}");
    assert!(out.contains("VALID"), "{out}");
    for name in [
        "signature_missing",
        "other_signer",
        "flip_middle_chunk",
        "truncated_off_chunk_boundary",
        "path_traversal",
        "attachment_without_blob",
        "table_from_other_bundle",
        "envelope_is_fifo",
        "bundle_is_device",
        "setuid_blob",
        "kb_data_page_corrupted",
        "extra_row_footer_patched",
        "dictionary_decodes_huge",
        "attachment_totals_wrong",
        "blob_unreferenced",
    ] {
        let b = all.iter().find(|b| b.name == name).unwrap();
        let (code, out, err) = run_verify(b, true);
        assert_eq!(code, 2, "{name}: exit {code}\n{out}{err}");
        assert!(err.contains(b.code), "{name}: expected {} in stderr:\n{err}", b.code);
        assert!(err.contains("remedy:"), "{name}: no remedy printed:\n{err}");
    }
    // Quick tier without an identity: a tier-1 case fails, a deeper one passes tier 1.
    let sig = all.iter().find(|b| b.name == "signature_garbled").unwrap();
    let (code, _, err) = run_verify(sig, false);
    assert_eq!((code, err.contains("B002_signature_invalid")), (2, true), "{err}");
    let deep = all.iter().find(|b| b.name == "row_count_wrong").unwrap();
    let (code, out, err) = run_verify(deep, false);
    assert_eq!(code, 0, "quick tier of a re-signed bundle passes: {out}{err}");
}

#[test]
fn verify_binary_json_names_the_code() {
    let (all, _) = broken();
    let b = all.iter().find(|b| b.name == "payload_oxum_wrong").unwrap();
    let out = Command::new(bundle_bin())
        .arg("verify")
        .arg(&b.bundle)
        .arg("--signer")
        .arg(&b.signer_pub)
        .arg("--identity")
        .arg(&b.identity)
        .arg("--json")
        .arg("--now")
        .arg(b.now.to_rfc3339())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["valid"], false);
    assert_eq!(v["code"], b.code);
}

/// Runs `deskferry-bundle verify` (quick tier, no secret) and kills it after `limit`: a check
/// that reads a device or waits on a FIFO must fail here rather than hang the suite.
fn verify_quick_bounded(b: &BadBundle, limit: std::time::Duration) -> (Option<i32>, String) {
    let mut child = Command::new(bundle_bin())
        .arg("verify")
        .arg(&b.bundle)
        .arg("--signer")
        .arg(&b.signer_pub)
        .arg("--now")
        .arg(b.now.to_rfc3339())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running deskferry-bundle");
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for deskferry-bundle") {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, format!("still running after {limit:?}: killed"));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn sidecars_that_are_devices_or_fifos_are_refused_promptly_without_a_secret() {
    let (all, _) = broken();
    let cases: Vec<&BadBundle> =
        all.iter().filter(|b| b.code == "B013_not_a_regular_file").collect();
    assert_eq!(cases.len(), 4, "signature, envelope (device and FIFO) and bundle cases");
    for b in cases {
        let (code, err) = verify_quick_bounded(b, std::time::Duration::from_secs(20));
        assert_eq!(code, Some(2), "{}: {err}", b.name);
        assert!(err.contains("B013_not_a_regular_file"), "{}: {err}", b.name);
        assert!(err.contains("not a regular file"), "{}: the message says why: {err}", b.name);
    }
}
