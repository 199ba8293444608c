//! load_gate: a bundle past its purge date is refused before the target sees a request, and
//! loads with `--allow-expired`; a valid bundle through the same command and simulator is the
//! control that shows requests would be seen. Every other refusal (tampered, truncated,
//! unsigned, another key, …) is checked on every target by the kit (`kit_target`).

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, SubsecRound, Utc};
use deskferry_fixtures::bad_bundles::sample::{sample_meta, write_sample};
use deskferry_fixtures::bad_bundles::{self, BadBundle};
use deskferry_fixtures::sim::front::{self, FrontConfig, FrontSeed, FrontServer};
use deskferry_fixtures::sim::{SimOptions, sim_runtime};
use deskferry_format::{
    KeygenPaths, Recipients, SigningKey, envelope_path, keygen, signature_path,
};
use deskferry_tests::workspace_bin;

fn target_toml(dir: &Path, server: &FrontServer) -> PathBuf {
    let p = dir.join("target.toml");
    let text = format!(
        "platform = \"front\"\nurl = \"{}\"\n[credentials]\ntoken_env = \"DESKFERRY_TEST_FRONT_TOKEN\"\n[front]\ninbox = \"Support\"\nimport_wait_secs = 20\n",
        server.running.url()
    );
    std::fs::write(&p, text).unwrap();
    p
}

/// A simulated Front with a minimal company, on `rt`.
fn minimal_front(rt: &tokio::runtime::Runtime) -> FrontServer {
    rt.block_on(front::start(
        &SimOptions::default(),
        FrontConfig::default(),
        &FrontSeed::minimal(),
        0,
    ))
    .unwrap()
}

/// Runs `deskferry-load run` on one bundle; returns the exit code and stderr.
fn load(b: &BadBundle, target: &Path, server: &FrontServer, work: &Path) -> (i32, String) {
    load_with(b, target, server, work, &[])
}

fn load_with(
    b: &BadBundle,
    target: &Path,
    server: &FrontServer,
    work: &Path,
    extra: &[&str],
) -> (i32, String) {
    let out = Command::new(workspace_bin("deskferry-load"))
        .arg("run")
        .args(extra)
        .arg("--target")
        .arg(target)
        .arg("--bundle")
        .arg(&b.bundle)
        .arg("--identity")
        .arg(&b.identity)
        .arg("--signer")
        .arg(&b.signer_pub)
        .arg("--ledger")
        .arg(work.join(format!("{}.ledger", b.name)))
        .arg("--report")
        .arg(work.join(format!("{}-report", b.name)))
        .env("DESKFERRY_TEST_FRONT_TOKEN", server.state.token())
        .output()
        .expect("running deskferry-load");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_expired_bundle_loads_only_when_the_operator_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let expired = bad_bundles::generate("expired", &tmp.path().join("bad")).expect("expired case");
    let expired = expired.first().expect("the expired case");
    let valid = bad_bundles::generate_valid(&tmp.path().join("valid")).expect("the valid control");
    let rt = sim_runtime().unwrap();
    let server = minimal_front(&rt);
    let target = target_toml(tmp.path(), &server);

    // Refused as it is: exit 2 before any request (the kit checks every case on every target).
    let (code, stderr) = load(expired, &target, &server, tmp.path());
    assert_eq!(code, 2, "expired: {stderr}");
    assert!(stderr.contains(expired.code), "expired: {stderr}");
    assert!(server.running.log.is_empty(), "an expired bundle reached the target");

    // Control: the untouched bundle through the same command reaches the target and writes.
    let (code, stderr) = load(&valid, &target, &server, tmp.path());
    assert_ne!(code, 2, "the valid bundle loads: {stderr}");
    let writes = server.running.log.entries().into_iter().filter(|e| e.method != "GET").count();
    assert!(writes > 0, "the control wrote nothing: the test could not see writes");

    // An expired bundle loads when the operator says so.
    let before = server.running.log.len();
    let (code, stderr) = load_with(expired, &target, &server, tmp.path(), &["--allow-expired"]);
    assert_ne!(code, 2, "--allow-expired: {stderr}");
    assert!(server.running.log.len() > before, "--allow-expired reached the target");
    rt.block_on(server.running.stop()).unwrap();
}

/// A valid bundle of the sample account created `hours_ago`, as a `BadBundle` for `load_with`
/// (named "shared", so every load of these goes to one ledger, shared.ledger).
fn sample_bundle(dir: &Path, keys: &KeygenPaths, id: &str, hours_ago: i64) -> BadBundle {
    let created = Utc::now().trunc_subsecs(0) - Duration::hours(hours_ago);
    let bundle = dir.join(format!("{id}.dfb"));
    write_sample(
        &dir.join(format!("work-{id}")),
        &bundle,
        sample_meta(id, created),
        &Recipients::from_file(&keys.recipient).unwrap(),
        &SigningKey::from_file(&keys.sign_key).unwrap(),
        0,
    )
    .unwrap();
    BadBundle {
        code: "",
        name: "shared",
        description: "a valid bundle",
        bundle,
        signer_pub: keys.sign_pub.clone(),
        identity: keys.identity.clone(),
        now: Utc::now(),
    }
}

#[test]
fn an_older_bundle_of_the_same_account_is_refused_unless_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keygen(&tmp.path().join("keys")).unwrap();
    let new = sample_bundle(tmp.path(), &keys, "acme-new", 1);
    let mut old = sample_bundle(tmp.path(), &keys, "acme-old", 3);
    // Renamed, as a replay would be: the name says nothing, the signed envelope does.
    let renamed = tmp.path().join("acme-latest.dfb");
    for (from, to) in [
        (old.bundle.clone(), renamed.clone()),
        (signature_path(&old.bundle), signature_path(&renamed)),
        (envelope_path(&old.bundle), envelope_path(&renamed)),
    ] {
        std::fs::rename(from, to).unwrap();
    }
    old.bundle = renamed;
    let rt = sim_runtime().unwrap();
    let server = minimal_front(&rt);
    let target = target_toml(tmp.path(), &server);
    let (code, stderr) = load_with(&new, &target, &server, tmp.path(), &[]);
    assert_ne!(code, 2, "the newer bundle loads: {stderr}");
    let before = server.running.log.len();
    assert!(before > 0, "the newer bundle reached the target");

    let (code, stderr) = load_with(&old, &target, &server, tmp.path(), &[]);
    assert_eq!(code, 2, "an older bundle is refused: {stderr}");
    for part in ["acme-old", "is older than bundle acme-new", "--allow-older-bundle"] {
        assert!(stderr.contains(part), "the refusal says why ({part}): {stderr}");
    }
    assert!(stderr.contains("nothing was written to the target"), "{stderr}");
    assert_eq!(server.running.log.len(), before, "the refused bundle sent no request");

    let (code, stderr) = load_with(&old, &target, &server, tmp.path(), &["--allow-older-bundle"]);
    assert_ne!(code, 2, "loaded when asked for: {stderr}");
    assert!(stderr.contains("--allow-older-bundle"), "and says it was asked for: {stderr}");
    assert!(server.running.log.len() > before, "it reached the target");
    rt.block_on(server.running.stop()).unwrap();
}
