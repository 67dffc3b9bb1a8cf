//! Nothing acknowledged is lost on a crash: a `limbpath serve` process
//! writing assessments is killed with SIGKILL mid-stream; after a restart the
//! SQLite database passes its integrity check and holds every write that was
//! acknowledged (plus at most the one request that was in flight).

use limbpath_store::Store;
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "crash test password 1";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn limbpath(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_limbpath"));
    c.args(args);
    c
}

fn start(data_dir: &str, port: u16) -> Child {
    let bind = format!("127.0.0.1:{port}");
    // Written to as fast as it answers from one address: no per-address rate limit.
    limbpath(&["serve", "--data-dir", data_dir, "--bind", &bind, "--rate-api-per-second", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start limbpath serve")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready at {base}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_stream_loses_no_acknowledged_assessment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path").to_owned();

    let mut add = limbpath(&[
        "user",
        "add",
        "--data-dir",
        &data_dir,
        "--username",
        "writer",
        "--role",
        "clinician",
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("user add");
    add.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
    assert!(add.wait().expect("user add exits").success());

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&data_dir, port);
    let client = reqwest::Client::new();
    wait_ready(&client, &base).await;

    let login: Value = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "writer", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    let token = login["token"].as_str().expect("token").to_owned();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
    let patient: Value = post(
        "/api/v1/patients",
        json!({"mrn": "CRASH-1", "site": "Test", "family_name": "Crash", "given_name": "Test", "birth_date": "1950-01-01",
               "sex": "female", "diabetes": "type_2", "hba1c_percent": null, "ckd_stage": null, "smoking": "never",
               "bmi": null, "ambulatory_status": "independent"}),
    )
    .await
    .expect("patient")
    .json()
    .await
    .expect("patient json");
    let limb: Value = post(
        "/api/v1/limbs",
        json!({"patient_id": patient["id"], "side": "left", "kind": "lower", "amputation_level": null}),
    )
    .await
    .expect("limb")
    .json()
    .await
    .expect("limb json");
    let episode: Value = post(
        "/api/v1/episodes",
        json!({"limb_id": limb["id"], "aetiology": "clti", "status": "treatment", "opened_on": "2025-01-01", "closed_on": null}),
    )
    .await
    .expect("episode")
    .json()
    .await
    .expect("episode json");

    // Write assessments as fast as one client can; kill the server after a while.
    let mut acknowledged: Vec<String> = Vec::new();
    let kill_at = Instant::now() + Duration::from_millis(1500);
    let mut killed = false;
    for i in 0..100_000u32 {
        if !killed && Instant::now() >= kill_at {
            server.kill().expect("SIGKILL the server");
            killed = true;
        }
        let body = json!({"episode_id": episode["id"], "assessed_on": "2025-01-02",
                          "findings": {"wound_grade": i % 4, "ischaemia_grade": (i / 4) % 4, "infection_grade": (i / 16) % 4}});
        match post("/api/v1/assessments", body).await {
            Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                let v: Value = r.json().await.expect("created assessment");
                acknowledged.push(v["id"].as_str().expect("id").to_owned());
            }
            Ok(r) => panic!("unexpected status {} before the kill", r.status()),
            Err(_) => break, // the server is gone
        }
    }
    assert!(killed, "the server was killed mid-stream");
    let _ = server.wait();
    assert!(acknowledged.len() > 10, "the writer got going before the kill ({} writes)", acknowledged.len());

    // Reopen the database as a restarted server would.
    let store = Store::open_data_dir(dir.path()).await.expect("reopen after the crash");
    let problems = store.integrity_check().await.expect("integrity check runs");
    assert!(problems.is_empty() || problems == ["ok"], "integrity check: {problems:?}");
    for id in &acknowledged {
        store.get_assessment(id).await.unwrap_or_else(|e| panic!("acknowledged assessment {id} lost: {e}"));
    }
    let stored = store.list_assessments(episode["id"].as_str().expect("episode id"), None, 500).await.expect("list");
    let mut total = stored.items.len();
    let mut cursor = stored.next_cursor;
    while let Some(c) = cursor {
        let page =
            store.list_assessments(episode["id"].as_str().expect("episode id"), Some(&c), 500).await.expect("list");
        total += page.items.len();
        cursor = page.next_cursor;
    }
    assert!(
        total == acknowledged.len() || total == acknowledged.len() + 1,
        "stored {total} assessments for {} acknowledged (one in-flight write may have committed unacknowledged)",
        acknowledged.len()
    );

    // And the restarted server serves them.
    let port = free_port();
    let mut again = start(&data_dir, port);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client, &base).await;
    let _ = again.kill();
    let _ = again.wait();
}
