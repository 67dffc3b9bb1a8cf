//! `limbpath report`: a self-contained programme report from a demo database:
//! inline CSS and SVG, no external assets or scripts, no patient identifiers.

use std::process::Command;

fn limbpath(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_limbpath")).args(args).output().expect("run limbpath")
}

#[test]
fn the_report_is_self_contained_and_de_identified() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_str().expect("utf-8");
    let o = limbpath(&["demo", "--data-dir", d, "--no-serve", "--patients", "120"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("report.html");
    let o = limbpath(&["report", "--data-dir", d, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("episodes read"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.ends_with("</html>"));
    assert!(html.contains("<style>") && !html.contains("<link") && !html.contains("<script"));
    assert!(!html.contains("src=") && !html.contains("href=\"http"), "no external assets");
    for chart in ["outcome-chart", "ci-band", "at-risk", "forest-plot", "funnel-plot"] {
        assert!(html.contains(chart), "{chart} missing");
    }
    assert!(html.contains("published stage-specific rates: not in the LimbPath reference pack (UNVERIFIED)"));
    assert!(html.contains("LimbPath operational definition"));
    // No patient identifiers: demo MRNs start DEMO-; ids are UUIDs.
    assert!(!html.contains("DEMO-"), "an MRN in the report");
    let uuid = regex_free_uuid(&html);
    assert!(uuid.is_none(), "a record id in the report: {uuid:?}");

    let o = limbpath(&["report", "--data-dir", d, "--out", out.to_str().unwrap(), "--index", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("index"));
}

/// The first 36-character hyphenated hex run (a UUID), if any.
fn regex_free_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(36)).find_map(|i| {
        let w = &b[i..i + 36];
        let ok = w.iter().enumerate().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
        ok.then(|| String::from_utf8_lossy(w).into_owned())
    })
}
