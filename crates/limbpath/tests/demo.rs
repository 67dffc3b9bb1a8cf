//! `limbpath demo` builds a fresh demo database every run, and never
//! overwrites a database it did not build unless told to.

use std::process::Command;

fn limbpath(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_limbpath")).args(args).output().expect("run limbpath")
}

#[test]
fn demo_rebuilds_its_own_database_and_guards_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_str().expect("utf-8");
    for _ in 0..2 {
        let o = limbpath(&["demo", "--data-dir", d, "--no-serve", "--patients", "25"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("built 25 demo patients") && err.contains("login:    demo.clinician"), "{err}");
    }

    let other = tempfile::tempdir().expect("temp dir");
    let o = limbpath(&[
        "user",
        "add",
        "--data-dir",
        other.path().to_str().expect("utf-8"),
        "--username",
        "admin",
        "--role",
        "admin",
    ]);
    assert!(o.status.success());
    let o = limbpath(&["demo", "--data-dir", other.path().to_str().expect("utf-8"), "--no-serve", "--patients", "5"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("did not build"));
}
