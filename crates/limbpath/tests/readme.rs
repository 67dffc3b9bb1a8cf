//! README.md's command lines still work: every stateless `$ limbpath …` line
//! (classify, assess, sources; not serve, demo or user, which need a database
//! or run until stopped, nor lines that redirect to files) runs from the
//! repository root and exits 0, and `--json` lines print a JSON envelope.

use std::path::Path;
use std::process::Command;

#[test]
fn every_readme_command_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("$ limbpath "))
        .map(|c| c.split(" #").next().unwrap_or(c).trim())
        .filter(|c| !c.contains('>') && !c.contains('|'))
        .filter(|c| ["classify ", "assess ", "sources", "triage ", "protocol "].iter().any(|p| c.starts_with(p)))
        .collect();
    assert!(commands.len() >= 20, "README shows the commands ({} found)", commands.len());
    for command in commands {
        let args: Vec<&str> = command.split_whitespace().collect();
        let out = Command::new(env!("CARGO_BIN_EXE_limbpath")).args(&args).current_dir(&root).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "`limbpath {command}`: {}", String::from_utf8_lossy(&out.stderr));
        if args.contains(&"--json") {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            assert!(v["schema"].as_str().is_some_and(|s| s.starts_with("limbpath.")), "`{command}`");
        }
    }
}

#[test]
fn readme_opens_with_the_run_and_test_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let first_block: Vec<&str> = readme.lines().skip_while(|l| !l.starts_with("```sh")).skip(1).take(2).collect();
    assert!(first_block[0].starts_with("cargo run --release -- "), "{first_block:?}");
    assert!(first_block[1].starts_with("cargo test --workspace"), "{first_block:?}");
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    assert!(ci.contains("cargo test --workspace"), ".ci/run runs README's test command");
}
