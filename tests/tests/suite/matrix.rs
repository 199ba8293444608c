//! The any-to-any matrix: every source the registry has × every target it has, each started as a
//! kit world (`deskferry_fixtures::kit::start_world`, the same as `deskferry-sim serve --role`),
//! driven through the binaries a user runs: extract → verify → load run → reconcile → run again.
//!
//! Every direction must account for every row, read back what it migrated equal, and write
//! nothing on the second run; a target with a vendor OpenAPI file has its whole wire checked
//! against it. A platform that gains a side in the registry joins the matrix
//! (`every_direction_of_the_registry_is_in_the_matrix` fails until it has its test here).

use std::path::Path;

use deskferry_extractor::platforms::registry::{self, Role};
use deskferry_fixtures::demo::tools::{Output, Ran, Tools, run_tool};
use deskferry_fixtures::kit::{WorldOptions, start_world};

use crate::support::{assert_accounted_and_clean, check, json_of};

/// The directions with a test below, as `source→target`.
const DIRECTIONS: &[(&str, &str)] =
    &[("zendesk", "front"), ("zendesk", "rt"), ("rt", "front"), ("rt", "rt")];

#[test]
fn every_direction_of_the_registry_is_in_the_matrix() {
    for s in registry::with_role(Role::Source) {
        for t in registry::with_role(Role::Target) {
            assert!(
                DIRECTIONS.contains(&(s.name, t.name)),
                "{} → {} is in the registry but not in the matrix (tests/tests/suite/matrix.rs)",
                s.name,
                t.name
            );
        }
    }
}

/// A target's OpenAPI file (in its `vendor_specs` folder) and the validator's arguments.
fn wire_spec(target: &str) -> Option<(&'static str, &'static [&'static str])> {
    match target {
        "front" => Some(("core-api.json", crate::front_sim::FRONT_OPENAPI)),
        _ => None,
    }
}

fn tool(tools: &Tools, dir: &Path, name: &str, args: &[&str]) -> Ran {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run_tool(tools, name, &args, dir, &[], false, Output::Capture).expect("run tool")
}

/// One direction on the tiny dataset, through the binaries.
fn direction(source: &str, target: &str) {
    let what = format!("{source} → {target}");
    let opts = WorldOptions { record_wire: true, ..WorldOptions::default() };
    let src = start_world(source, Role::Source, &opts).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    let dst = start_world(target, Role::Target, &opts).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    src.write_connection(d, "source").expect("source.toml");
    dst.write_connection(d, "target").expect("target.toml");
    let tools = Tools::beside_current_exe().expect("tools");
    let t = |name: &str, args: &[&str]| tool(&tools, d, name, args);

    check(&t("deskferry-bundle", &["keygen", "--out-dir", "keys"]), "keygen", &[0]);
    let extract = t(
        "deskferry-extract",
        &[
            "--source",
            "source.toml",
            "--recipient",
            "keys/recipient.txt",
            "--sign-key",
            "keys/sign.key",
            "--out",
            "b.dfb",
        ],
    );
    // A source may note what it kept with a remark (exit 1 only for a lost record).
    check(&extract, &format!("{what}: deskferry-extract"), &[0]);
    check(
        &t(
            "deskferry-bundle",
            &["verify", "b.dfb", "--signer", "keys/sign.pub", "--identity", "keys/identity.txt"],
        ),
        &format!("{what}: full verify"),
        &[0],
    );
    let load = |cmd: &str, report: &str| {
        let ran = t(
            "deskferry-load",
            &[
                cmd,
                "--target",
                "target.toml",
                "--bundle",
                "b.dfb",
                "--identity",
                "keys/identity.txt",
                "--signer",
                "keys/sign.pub",
                "--ledger",
                "target.ledger",
                "--report",
                report,
                "--json",
            ],
        );
        // Exit 1 without a failed record: a record skipped for a reason the user must see
        // (a file over the target's limit, a knowledge base the target has not).
        check(&ran, &format!("{what}: deskferry-load {cmd}"), &[0, 1]);
        json_of(&ran)
    };
    load("plan", "reports/first");
    let run = load("run", "reports/first");
    assert_eq!(run["run"]["counts"]["failed"], 0, "{what}: {run}");
    load("reconcile", "reports/first");
    let s = assert_accounted_and_clean(&d.join("reports/first"), &what);
    let tickets = s.entities.iter().find(|e| e.entity == "tickets").expect("tickets row");
    assert!(tickets.migrated > 0, "{what}: no ticket migrated: {s:?}");
    let comments = s.entities.iter().find(|e| e.entity == "comments").expect("comments row");
    assert!(comments.migrated > 0, "{what}: no comment migrated: {s:?}");

    let again = load("run", "reports/again");
    assert_eq!(again["run"]["counts"]["migrated"], 0, "{what}: a re-run wrote again: {again}");
    assert_eq!(again["run"]["counts"]["failed"], 0, "{what}: {again}");

    // What the loader sent and the target answered, on the wire, against the vendor's OpenAPI
    // file where it publishes one (skipped, and said so, without the file).
    if let (Some(log), Some(args)) = (dst.log(), wire_spec(target))
        && let Some(specs) = deskferry_tests::vendor_specs(target)
    {
        let cov = deskferry_tests::openapi_check(log, &specs.join(args.0), args.1);
        assert!(cov.gets > 0 && cov.requests > cov.gets, "{what}: {cov:?}");
    }

    src.stop().expect("stop the source");
    dst.stop().expect("stop the target");
}

#[test]
fn zendesk_to_front() {
    direction("zendesk", "front");
}

#[test]
fn zendesk_to_rt() {
    direction("zendesk", "rt");
}

#[test]
fn rt_to_front() {
    direction("rt", "front");
}

#[test]
fn rt_to_rt() {
    direction("rt", "rt");
}
