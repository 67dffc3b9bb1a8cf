//! Running `limbpath serve` for real (issue 9), on SQLite and PostgreSQL:
//! `config check`, the password policy of `user add`, logs that never carry
//! patient identifiers or secrets, and a graceful shutdown on SIGTERM.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_limbpath");
const ADMIN_PASSWORD: &str = "Quartz-lantern-harbour-77";

fn run(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for var in ["DATABASE_URL", "LIMBPATH_CONFIG", "LIMBPATH_DATA_DIR", "LIMBPATH_BIND", "LIMBPATH_SESSION_HOURS"] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    let mut child = cmd.spawn().expect("spawn limbpath");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------------
// limbpath config check
// ---------------------------------------------------------------------------

#[test]
fn config_check_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("limbpath.toml");
    std::fs::write(
        &file,
        "database_url = \"postgres://limbpath:TopSecretPw@db:5432/limbpath\"\nbind = \"0.0.0.0:9000\"\n\
         session_hours = 10\nsession_idle_minutes = 20\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\
         metrics_token = \"scrape-0123456789abcdef\"\n[log]\nformat = \"json\"\n\
         [rate_limit]\nlogin_per_minute = 5\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = run(&["config", "check", "--config", f], &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "database_url = \"postgres://limbpath:***@db:5432/limbpath\"",
        "bind = \"0.0.0.0:9000\"",
        "session_hours = 10",
        "session_idle_minutes = 20",
        "trusted_proxies = [\"10.0.0.0/8\", \"::1/128\"]",
        "metrics_token = \"***\"",
        "format = \"json\"",
        "login_per_minute = 5",
        "api_per_second = 50",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} missing from\n{out}");
    }
    assert!(!out.contains("TopSecretPw") && !out.contains("scrape-0123456789abcdef"), "{out}");

    // the environment beats the file, a flag beats the environment; LIMBPATH_CONFIG names the file
    let o = run(&["config", "check"], &[("LIMBPATH_CONFIG", f), ("LIMBPATH_SESSION_HOURS", "3")], None);
    assert!(text(&o.stdout).lines().any(|l| l == "session_hours = 3"), "{}", text(&o.stdout));
    let o = run(
        &["config", "check", "--session-hours", "2"],
        &[("LIMBPATH_CONFIG", f), ("LIMBPATH_SESSION_HOURS", "3")],
        None,
    );
    assert!(text(&o.stdout).lines().any(|l| l == "session_hours = 2"));
    assert!(text(&o.stdout).lines().any(|l| l == "bind = \"0.0.0.0:9000\""), "the file still applies");
    let o = run(
        &["config", "check", "--session-idle-minutes", "0"],
        &[("LIMBPATH_CONFIG", f), ("LIMBPATH_SESSION_IDLE_MINUTES", "5")],
        None,
    );
    assert!(text(&o.stdout).lines().any(|l| l == "session_idle_minutes = 0"), "{}", text(&o.stdout));
    let o = run(&["config", "check"], &[("LIMBPATH_CONFIG", f), ("LIMBPATH_SESSION_IDLE_MINUTES", "5")], None);
    assert!(text(&o.stdout).lines().any(|l| l == "session_idle_minutes = 5"), "{}", text(&o.stdout));
}

#[test]
fn config_check_names_the_bad_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for (content, key) in [
        ("[rate_limit]\napi_per_second = \"lots\"\n", "rate_limit.api_per_second"),
        ("session_hourz = 4\n", "session_hourz"),
        ("[log]\nformat = \"xml\"\n", "log.format"),
        ("session_hours = 0\n", "session_hours"),
        ("session_idle_minutes = 5000\n", "session_idle_minutes"),
        ("trusted_proxies = [\"10.0.0.0/33\"]\n", "trusted_proxies[0]"),
        ("bind = \"127.0.0.1\"\n", "bind"),
        ("database_url = \"mysql://u:SecretPw@h/db\"\n", "database_url"),
    ] {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, content).unwrap();
        let o = run(&["config", "check", "--config", file.to_str().unwrap()], &[], None);
        assert_eq!(o.status.code(), Some(2), "{content}");
        let err = text(&o.stderr);
        assert!(err.starts_with("limbpath: configuration error: "), "{err}");
        assert!(err.contains(key), "{key} not named in {err}");
        assert!(!err.contains("SecretPw"), "{err}");
    }
    let o = run(&["config", "check", "--config", "/nonexistent/limbpath.toml"], &[], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent/limbpath.toml"));
}

#[test]
fn user_add_applies_the_password_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for weak in ["too short", "Password1234", "my name is ward.sister ok", "zzzzzzzzzzzzzzzz"] {
        let o = run(
            &["user", "add", "--data-dir", d, "--username", "ward.sister", "--role", "clinician", "--password-stdin"],
            &[],
            Some(&format!("{weak}\n")),
        );
        assert_eq!(o.status.code(), Some(2), "{weak}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(err.contains("password") && !err.contains(weak), "{err}");
    }
    let o = run(
        &["user", "add", "--data-dir", d, "--username", "ward.sister", "--role", "clinician", "--password-stdin"],
        &[],
        Some("seven lower case words are quite fine\n"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

// ---------------------------------------------------------------------------
// A running server
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

/// A fresh database: a data directory, or a PostgreSQL database dropped afterwards.
struct Db {
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

fn pg_admin_url() -> String {
    std::env::var("LIMBPATH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

impl Db {
    fn new(engine: Engine) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let pg = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => {
                use sqlx::Connection;
                let admin = pg_admin_url();
                let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
                let name = format!("limbpath_ops_{}_{nanos}", std::process::id());
                block_on(async {
                    let mut c = sqlx::PgConnection::connect(&admin)
                        .await
                        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin}: {e}"));
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
                    let _ = c.close().await;
                });
                let (root, _) = admin.rsplit_once('/').unwrap();
                Some((format!("{root}/{name}"), name))
            }
        };
        Db { dir, pg }
    }

    fn args(&self) -> Vec<String> {
        match &self.pg {
            Some((url, _)) => vec!["--database-url".into(), url.clone()],
            None => vec!["--data-dir".into(), self.dir.path().display().to_string()],
        }
    }

    fn store(&self) -> limbpath_store::Store {
        block_on(async {
            match &self.pg {
                Some((url, _)) => limbpath_store::Store::connect(url).await.unwrap(),
                None => limbpath_store::Store::open_data_dir(self.dir.path()).await.unwrap(),
            }
        })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((_, name)) = self.pg.take() {
            use sqlx::Connection;
            let _ = std::thread::spawn(move || {
                block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                    }
                })
            })
            .join();
        }
    }
}

struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// An admin account, then `limbpath serve` with JSON logs captured from stderr.
    fn start(db: &Db) -> Server {
        let mut args: Vec<String> = ["user", "add", "--username", "admin", "--role", "admin", "--password-stdin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(db.args());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&refs, &[], Some(&format!("{ADMIN_PASSWORD}\n")));
        assert_eq!(o.status.code(), Some(0), "user add: {}", text(&o.stderr));

        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--log-format", "json"])
            .args(db.args())
            .env_remove("DATABASE_URL")
            .env_remove("LIMBPATH_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn limbpath serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let s = Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while s.request("GET", "/healthz", None, None).0 != 200 {
            assert!(Instant::now() < deadline, "the server did not start: {}", s.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// One HTTP/1.1 request on a new connection; (status, headers, body).
    fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, String, String) {
        let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) else { return (0, String::new(), String::new()) };
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        if c.write_all(req.as_bytes()).is_err() {
            return (0, String::new(), String::new());
        }
        let mut raw = Vec::new();
        let _ = c.read_to_end(&mut raw);
        parse_response(&raw)
    }

    fn login(&self, username: &str, password: &str) -> (u16, String, String) {
        self.request("POST", "/api/v1/session", None, Some(&json!({"username": username, "password": password})))
    }

    fn terminate(&self) {
        let ok = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill -TERM");
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(needle) {
            assert!(Instant::now() < deadline, "{needle:?} never logged: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn parse_response(raw: &[u8]) -> (u16, String, String) {
    let text = text(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn patient(mrn: &str, family: &str, given: &str) -> Value {
    json!({
        "mrn": mrn, "site": "Ops Site", "family_name": family, "given_name": given,
        "birth_date": "1949-02-17", "sex": "female", "diabetes": "type_2", "hba1c_percent": 8.1,
        "ckd_stage": 2, "dialysis": false, "smoking": "never", "bmi": 26.0, "ambulatory_status": "independent"
    })
}

fn logs_never_carry_patient_identifiers_or_secrets(engine: Engine) {
    let db = Db::new(engine);
    let mut s = Server::start(&db);
    let (family, given, mrn) = ("Zebulonquist", "Philomenadora", "MRN-ZQ-48151623");
    let wrong_password = "Wrong-Horsefeathers-991";

    let (st, head, body) = s.login("admin", ADMIN_PASSWORD);
    assert_eq!(st, 201, "{body}");
    let token = json_body(&body)["token"].as_str().unwrap().to_owned();
    let cookie = head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap().to_owned();
    assert_eq!(s.login("admin", wrong_password).0, 401);

    let (st, _, body) = s.request("POST", "/api/v1/patients", Some(&token), Some(&patient(mrn, family, given)));
    assert_eq!(st, 201, "{body}");
    let pid = json_body(&body)["id"].as_str().unwrap().to_owned();
    let (st, _, body) = s.request("GET", &format!("/api/v1/patients?q={family}&limit=5"), Some(&token), None);
    assert_eq!(st, 200);
    assert!(body.contains(&pid), "the search finds the patient: {body}");
    assert_eq!(s.request("GET", &format!("/api/v1/patients?q={mrn}"), Some(&token), None).0, 200);
    assert_eq!(s.request("GET", &format!("/api/v1/patients/{pid}"), Some(&token), None).0, 200);
    assert_eq!(s.request("GET", &format!("/api/v1/patients/{pid}/record"), Some(&token), None).0, 200);
    assert_eq!(s.request("GET", "/api/v1/patients/01J0000000000000000000NOPE", Some(&token), None).0, 404);
    // a conflicting duplicate MRN and an invalid body: error paths log too
    let dup = s.request("POST", "/api/v1/patients", Some(&token), Some(&patient(mrn, family, given))).0;
    assert!(dup == 409 || dup == 201, "{dup}");
    let bad = json!({"mrn": mrn, "family_name": family});
    assert_eq!(s.request("POST", "/api/v1/patients", Some(&token), Some(&bad)).0, 422);
    assert_eq!(s.request("DELETE", "/api/v1/session", Some(&token), None).0, 204);

    s.terminate();
    assert_eq!(s.wait_exit(), Some(0));
    let log = s.log();

    // one JSON object per line: startup, a line per request by route template, shutdown
    let lines: Vec<Value> = log.lines().map(json_body).collect();
    assert!(lines.iter().any(|l| l["message"].as_str().is_some_and(|m| m.starts_with("serving the record"))));
    assert!(lines.iter().any(|l| l["message"].as_str().is_some_and(|m| m.starts_with("shutting down"))));
    assert!(lines.iter().any(|l| l["message"].as_str().is_some_and(|m| m.starts_with("stopped"))));
    let requests: Vec<&Value> = lines.iter().filter(|l| l["target"] == "limbpath::http").collect();
    let routed = |route: &str, method: &str, status: u64| {
        requests.iter().any(|l| l["route"] == route && l["method"] == method && l["status"] == status)
    };
    assert!(routed("/api/v1/patients/{id}", "GET", 200), "{log}");
    assert!(routed("/api/v1/patients", "GET", 200), "{log}");
    assert!(routed("/api/v1/patients", "POST", 201), "{log}");
    assert!(routed("/api/v1/session", "POST", 401), "{log}");
    assert!(routed("/api/v1/patients/{id}/record", "GET", 200), "{log}");
    for l in &requests {
        assert_eq!(l["request_id"].as_str().map(str::len), Some(16), "{l}");
        assert!(l["latency_ms"].as_f64().is_some(), "{l}");
    }

    // nothing that identifies the patient, nothing secret
    let cookie_value = cookie.split_once("limbpath_session=").unwrap().1.split(';').next().unwrap();
    for secret in
        [family, given, mrn, &pid, ADMIN_PASSWORD, wrong_password, &token, cookie_value, "q=", "limbpath_session"]
    {
        assert!(!log.contains(secret), "{secret:?} appears in the log:\n{log}");
        assert!(!log.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} (any case) in the log");
    }
}

#[test]
fn sqlite_logs_never_carry_patient_identifiers_or_secrets() {
    logs_never_carry_patient_identifiers_or_secrets(Engine::Sqlite);
}

#[test]
fn postgres_logs_never_carry_patient_identifiers_or_secrets() {
    logs_never_carry_patient_identifiers_or_secrets(Engine::Postgres);
}

fn sigterm_finishes_the_request_in_flight(engine: Engine) {
    let db = Db::new(engine);
    let mut s = Server::start(&db);
    let (st, _, body) = s.login("admin", ADMIN_PASSWORD);
    assert_eq!(st, 201);
    let token = json_body(&body)["token"].as_str().unwrap().to_owned();

    // A request in flight: headers and half of the body sent, the rest after SIGTERM.
    let payload = patient("MRN-SHUTDOWN-1", "Inflight", "Ada").to_string();
    let (first, rest) = payload.split_at(payload.len() / 2);
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        c,
        "POST /api/v1/patients HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        payload.len()
    )
    .unwrap();
    c.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    s.terminate();
    s.wait_for_log("shutting down");
    // new connections are refused while the request is still in flight
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(s.child.try_wait().unwrap().is_none(), "the server waits for the request in flight");

    // the request completes with success
    c.write_all(rest.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let (status, _, body) = parse_response(&raw);
    assert_eq!(status, 201, "{body}");
    let id = json_body(&body)["id"].as_str().unwrap().to_owned();

    // and the process exits 0
    assert_eq!(s.wait_exit(), Some(0), "{}", s.log());

    // the patient and the request's audit entry are in the database
    let store = db.store();
    let trail = block_on(store.list_audit(None, 100)).unwrap();
    assert!(
        trail.items.iter().any(|e| e.entry.action == "create"
            && e.entry.entity.as_deref() == Some("patient")
            && e.entry.entity_id.as_deref() == Some(&id)
            && e.entry.outcome == limbpath_store::AuditOutcome::Ok),
        "no audit entry for the request in flight"
    );
    assert_eq!(block_on(store.count_patients()).unwrap(), 1);
    block_on(store.close());
}

#[test]
fn sqlite_sigterm_finishes_the_request_in_flight() {
    sigterm_finishes_the_request_in_flight(Engine::Sqlite);
}

#[test]
fn postgres_sigterm_finishes_the_request_in_flight() {
    sigterm_finishes_the_request_in_flight(Engine::Postgres);
}
