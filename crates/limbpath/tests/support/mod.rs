//! Helpers shared by the data-safety and fault tests: the real `limbpath`
//! binary, a server on a free port, logins, a patient's episode, and scratch
//! PostgreSQL databases on the shared server (127.0.0.1:5432).
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "data safety test password";
pub const SHARED_PG: &str = "postgres://postgres@127.0.0.1:5432";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

pub fn limbpath(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_limbpath"));
    c.args(args).env_remove("DATABASE_URL").env_remove("LIMBPATH_DATA_DIR");
    c
}

/// `limbpath user add` with [`PASSWORD`]; `db` is `["--data-dir", D]` or `["--database-url", U]`.
pub fn add_user(db: &[&str], username: &str, role: &str) {
    let mut args = vec!["user", "add", "--username", username, "--role", role, "--password-stdin"];
    args.extend_from_slice(db);
    let mut add = limbpath(&args).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("user add");
    add.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
    assert!(add.wait().expect("user add exits").success(), "user add {username}");
}

/// A running `limbpath serve`, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The server's stderr.
    pub log: tempfile::NamedTempFile,
}

impl Server {
    pub async fn start(db: &[&str]) -> Server {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        // These tests drive the server as fast as it answers, from one address: the per-address rate
        // limits (on by default for `serve`) are switched off, as for a load balancer's health checks.
        let mut args = vec!["serve", "--bind", &bind, "--rate-api-per-second", "0", "--rate-login-per-minute", "0"];
        args.extend_from_slice(db);
        let log = tempfile::NamedTempFile::new().expect("log file");
        let stderr = log.reopen().expect("log file");
        let child = limbpath(&args).stdout(Stdio::null()).stderr(stderr).spawn().expect("start limbpath serve");
        let server = Server { child, base: format!("http://127.0.0.1:{port}"), log };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client.get(format!("{}/healthz", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready at {}", server.base);
    }

    /// What the server wrote to stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// SIGTERM, and wait for the graceful exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
    }

    /// SIGKILL, mid-whatever.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn login(client: &reqwest::Client, base: &str, username: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success(), "login {username}: {}", r.status());
    let v: Value = r.json().await.expect("session");
    v["token"].as_str().expect("token").to_owned()
}

pub async fn post(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let r = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.expect("post");
    assert!(r.status().is_success(), "POST {path}: {}", r.status());
    r.json().await.expect("json")
}

/// A patient with one limb and one open episode: (patient id, episode id).
pub async fn patient_with_episode(client: &reqwest::Client, base: &str, token: &str, mrn: &str) -> (String, String) {
    let patient = post(
        client,
        base,
        token,
        "/api/v1/patients",
        json!({"mrn": mrn, "site": "Test", "family_name": "Safety", "given_name": "Data", "birth_date": "1950-01-01",
               "sex": "female", "diabetes": "type_2", "hba1c_percent": null, "ckd_stage": null, "smoking": "never",
               "bmi": null, "ambulatory_status": "independent"}),
    )
    .await;
    let limb = post(
        client,
        base,
        token,
        "/api/v1/limbs",
        json!({"patient_id": patient["id"], "side": "left", "kind": "lower", "amputation_level": null}),
    )
    .await;
    let episode = post(
        client,
        base,
        token,
        "/api/v1/episodes",
        json!({"limb_id": limb["id"], "aetiology": "clti", "status": "treatment", "opened_on": "2025-01-01", "closed_on": null}),
    )
    .await;
    (patient["id"].as_str().expect("id").to_owned(), episode["id"].as_str().expect("id").to_owned())
}

/// The same findings every time: the patient's derived columns (latest WIfI
/// stage, search rows) do not change after the first assessment.
pub fn assessment(episode: &str) -> Value {
    json!({"episode_id": episode, "assessed_on": "2025-01-02",
           "findings": {"wound_grade": 2, "ischaemia_grade": 1, "infection_grade": 1}})
}

pub fn psql(url: &str, sql: &str) {
    let out = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql]).output().expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A uniquely named database on the shared PostgreSQL, dropped when dropped.
pub struct ScratchDb {
    pub name: String,
    pub url: String,
}

impl ScratchDb {
    pub fn create(prefix: &str) -> ScratchDb {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let name = format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000);
        psql(&format!("{SHARED_PG}/test"), &format!("CREATE DATABASE {name}"));
        ScratchDb { url: format!("{SHARED_PG}/{name}"), name }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &format!("{SHARED_PG}/test"),
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
