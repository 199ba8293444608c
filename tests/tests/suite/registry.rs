//! The platform registry is the one list: the README's table and `deskferry-sim platforms` are
//! it, and every connection file is checked against it.

use std::process::Command;

use deskferry_extractor::platforms::registry::{self, Role};
use deskferry_tests::workspace_bin;

#[test]
fn the_readme_table_and_deskferry_sim_platforms_are_the_registry() {
    let readme = std::fs::read_to_string(deskferry_tests::repo_root().join("README.md")).unwrap();
    let table = registry::markdown_table();
    assert!(
        readme.contains(table.trim_end()),
        "README.md's platform table differs from the registry; replace it with:\n{table}"
    );
    let out = Command::new(workspace_bin("deskferry-sim")).arg("platforms").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), table);
    // Every platform that can play a role is one the binaries open.
    assert_eq!(
        registry::names(Role::Source),
        "zendesk, front, rt, freshdesk, helpscout, kayako, kayako-classic, intercom or groove"
    );
    assert_eq!(
        registry::names(Role::Target),
        "zendesk, front, rt, freshdesk, helpscout, kayako, intercom or groove"
    );
}
