//! Backup, restore and moving to PostgreSQL, end to end with the real binary:
//! - `limbpath backup` while `limbpath serve` keeps writing assessments gives
//!   a copy that `limbpath restore` installs, which passes the integrity check
//!   and holds every row acknowledged before the backup started; every row of
//!   every table of the copy (the audit trail included) is, byte for byte, a
//!   row of the source (a consistent point of it);
//! - `limbpath migrate` moves a demo programme into a fresh PostgreSQL
//!   database, which then serves the same patient record, the same sessions,
//!   and takes new writes (identity sequences moved on);
//! - `limbpath restore --force` refuses, changing nothing, while a server runs
//!   on the data directory, and goes ahead once it has stopped (or was killed);
//!   a server started during a restore waits for it.

mod support;

use limbpath_store::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

/// `b` is a sub-multiset of `a` (both sorted).
fn contained(small: &[u128], big: &[u128]) -> bool {
    let mut j = 0;
    for x in small {
        while j < big.len() && big[j] < *x {
            j += 1;
        }
        if j == big.len() || big[j] != *x {
            return false;
        }
        j += 1;
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_while_serving_restores_every_acknowledged_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("live");
    let data_s = data.to_str().expect("utf-8").to_owned();
    add_user(&["--data-dir", &data_s], "writer", "clinician");
    let server = Server::start(&["--data-dir", &data_s]).await;
    let client = reqwest::Client::new();
    let token = login(&client, &server.base, "writer").await;
    let (patient, episode) = patient_with_episode(&client, &server.base, &token, "BACKUP-1").await;

    // Writers: assessments, and reads of the patient (audited), as fast as they go.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..3 {
        let (client, base, token, episode, patient) =
            (client.clone(), server.base.clone(), token.clone(), episode.clone(), patient.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .post(format!("{base}/api/v1/assessments"))
                    .bearer_auth(&token)
                    .json(&assessment(&episode))
                    .send()
                    .await
                    .expect("the server answers");
                assert_eq!(r.status(), reqwest::StatusCode::CREATED, "assessment during the backup");
                let v: Value = r.json().await.expect("created");
                acknowledged.lock().expect("lock").push(v["id"].as_str().expect("id").to_owned());
                let r = client
                    .get(format!("{base}/api/v1/patients/{patient}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("read");
                assert!(r.status().is_success());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_backup: Vec<String> = acknowledged.lock().expect("lock").clone();
    assert!(before_backup.len() > 10, "the writers got going ({} writes)", before_backup.len());

    let backup = dir.path().join("backup.sqlite3");
    let out = limbpath(&["backup", "--data-dir", &data_s, "--out", backup.to_str().expect("utf-8")])
        .output()
        .expect("limbpath backup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "backup failed: {}{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("integrity check ok") && stdout.contains("assessments"), "summary: {stdout}");
    // Writes went on during and after the backup.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let all_acknowledged = acknowledged.lock().expect("lock").clone();
    server.stop();

    // A second backup to the same name is refused; a restore over a database needs --force.
    let again = limbpath(&["backup", "--data-dir", &data_s, "--out", backup.to_str().expect("utf-8")])
        .output()
        .expect("limbpath backup");
    assert!(!again.status.success(), "a backup never overwrites a file");
    let refused =
        limbpath(&["restore", backup.to_str().expect("utf-8"), "--data-dir", &data_s]).output().expect("restore");
    assert_eq!(refused.status.code(), Some(2), "restore over an existing database without --force");

    let restored_dir = dir.path().join("restored");
    let out =
        limbpath(&["restore", backup.to_str().expect("utf-8"), "--data-dir", restored_dir.to_str().expect("utf-8")])
            .output()
            .expect("limbpath restore");
    assert!(out.status.success(), "restore failed: {}", String::from_utf8_lossy(&out.stderr));

    let source = Store::open_data_dir(&data).await.expect("source");
    let restored = Store::open_data_dir(&restored_dir).await.expect("restored");
    assert!(restored.integrity_check().await.expect("check").is_empty(), "the restored database is sound");
    for id in &before_backup {
        restored
            .get_assessment(id)
            .await
            .unwrap_or_else(|e| panic!("assessment {id} acknowledged before the backup is missing: {e}"));
    }
    let src: BTreeMap<String, Vec<u128>> = source.row_fingerprints().await.expect("source rows");
    let dst: BTreeMap<String, Vec<u128>> = restored.row_fingerprints().await.expect("restored rows");
    assert_eq!(src.keys().collect::<Vec<_>>(), dst.keys().collect::<Vec<_>>(), "the same tables");
    for (table, rows) in &dst {
        assert!(contained(rows, &src[table]), "a row of {table} in the backup is not a row of the source");
    }
    // The audit trail came along: every audit row up to the backup, the reads and writes included.
    assert!(dst["audit"].len() >= 2 * before_backup.len(), "audit rows in the backup: {}", dst["audit"].len());
    assert!(dst["assessments"].len() >= before_backup.len());
    assert!(
        src["assessments"].len() == all_acknowledged.len() && dst["assessments"].len() < all_acknowledged.len(),
        "the backup is a point in time: {} in it, {} acknowledged in all",
        dst["assessments"].len(),
        all_acknowledged.len()
    );
    source.close().await;
    restored.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_programme_moves_to_postgres_and_serves_the_same_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_s = dir.path().join("demo").to_str().expect("utf-8").to_owned();
    let out = limbpath(&["demo", "--no-serve", "--patients", "60", "--data-dir", &data_s]).output().expect("demo");
    assert!(out.status.success(), "demo: {}", String::from_utf8_lossy(&out.stderr));
    add_user(&["--data-dir", &data_s], "mover", "clinician");

    let client = reqwest::Client::new();
    let server = Server::start(&["--data-dir", &data_s]).await;
    let token = login(&client, &server.base, "mover").await;
    let get = |base: String, path: String, token: String| {
        let client = client.clone();
        async move {
            let r = client.get(format!("{base}{path}")).bearer_auth(&token).send().await.expect("get");
            assert!(r.status().is_success(), "GET {path}: {}", r.status());
            r.json::<Value>().await.expect("json")
        }
    };
    let page = get(server.base.clone(), "/api/v1/patients?q=a&limit=5".into(), token.clone()).await;
    let patient = page["items"][0]["id"].as_str().expect("a demo patient").to_owned();
    // Activity beyond the demo: a new assessment (care tasks, audit rows).
    let record = get(server.base.clone(), format!("/api/v1/patients/{patient}/record"), token.clone()).await;
    let episode = record["episodes"][0]["id"].as_str().expect("an episode").to_owned();
    post(&client, &server.base, &token, "/api/v1/assessments", assessment(&episode)).await;
    let on_sqlite = get(server.base.clone(), format!("/api/v1/patients/{patient}/record"), token.clone()).await;
    let summary_sqlite = get(server.base.clone(), format!("/api/v1/patients/{patient}"), token.clone()).await;
    server.stop();

    let db = ScratchDb::create("limbpath_migrate_test");
    let out = limbpath(&["migrate", "--from-data-dir", &data_s, "--to", &db.url]).output().expect("migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "migrate: {}{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("verified: row counts and content checksums equal"), "{stdout}");
    assert!(stdout.contains("audit") && stdout.contains("patients"), "{stdout}");
    // A second run finds the target not empty and changes nothing.
    let again = limbpath(&["migrate", "--from-data-dir", &data_s, "--to", &db.url]).output().expect("migrate");
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));

    // Both databases digest the same, table by table.
    let sqlite = Store::open_data_dir(dir.path().join("demo")).await.expect("sqlite");
    let pg = Store::connect(&db.url).await.expect("postgres");
    assert_eq!(sqlite.table_digests().await.expect("sqlite"), pg.table_digests().await.expect("pg"));
    let audit_rows = pg.count_audit().await.expect("count");
    sqlite.close().await;
    pg.close().await;

    let server = Server::start(&["--database-url", &db.url]).await;
    // The session made on SQLite is valid on PostgreSQL: sessions moved too.
    let on_postgres = get(server.base.clone(), format!("/api/v1/patients/{patient}/record"), token.clone()).await;
    assert_eq!(on_sqlite, on_postgres, "the record reads back identical from PostgreSQL");
    let summary_pg = get(server.base.clone(), format!("/api/v1/patients/{patient}"), token.clone()).await;
    assert_eq!(summary_sqlite, summary_pg);
    // New writes work: the audit trail's identity continues after the copied ids.
    let fresh = login(&client, &server.base, "mover").await;
    post(&client, &server.base, &fresh, "/api/v1/assessments", assessment(&episode)).await;
    server.stop();
    let pg = Store::connect(&db.url).await.expect("postgres");
    assert!(pg.count_audit().await.expect("count") > audit_rows, "new audit rows on PostgreSQL");
    pg.close().await;
}

/// The status of `GET /api/v1/patients/{id}`.
async fn patient_status(base: &str, token: &str, id: &str) -> reqwest::StatusCode {
    let r = reqwest::Client::new().get(format!("{base}/api/v1/patients/{id}")).bearer_auth(token).send().await;
    r.expect("the server answers").status()
}

/// The names in a directory, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_force_is_refused_while_a_server_runs_on_the_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("live");
    let data_s = data.to_str().expect("utf-8").to_owned();
    let backup = dir.path().join("backup.sqlite3");
    let backup_s = backup.to_str().expect("utf-8").to_owned();
    add_user(&["--data-dir", &data_s], "keeper", "clinician");
    let server = Server::start(&["--data-dir", &data_s]).await;
    let client = reqwest::Client::new();
    let token = login(&client, &server.base, "keeper").await;
    let (in_backup, _) = patient_with_episode(&client, &server.base, &token, "RESTORE-1").await;
    let out = limbpath(&["backup", "--data-dir", &data_s, "--out", &backup_s]).output().expect("limbpath backup");
    assert!(out.status.success(), "backup while serving: {}", String::from_utf8_lossy(&out.stderr));
    let (after_backup, _) = patient_with_episode(&client, &server.base, &token, "RESTORE-2").await;

    // While the server runs: refused, with the directory named and what to do; nothing changed.
    let before = listing(&data);
    let database = std::fs::read(data.join("limbpath.sqlite3")).expect("database file");
    let out = limbpath(&["restore", &backup_s, "--data-dir", &data_s, "--force"]).output().expect("restore");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "refused: {stderr}");
    assert!(stderr.contains(&format!("a LimbPath server is running on {data_s}")), "{stderr}");
    assert!(stderr.contains("stop it") && stderr.contains("Nothing was changed"), "{stderr}");
    assert_eq!(listing(&data), before, "no file moved aside, no partial copy");
    assert!(!before.iter().any(|n| n.contains("before-restore")), "{before:?}");
    assert_eq!(std::fs::read(data.join("limbpath.sqlite3")).expect("database file"), database);
    assert_eq!(patient_status(&server.base, &token, &after_backup).await, reqwest::StatusCode::OK);

    // Stopped: the restore goes ahead, and the server started again serves the backup.
    server.stop();
    let out = limbpath(&["restore", &backup_s, "--data-dir", &data_s, "--force"]).output().expect("restore");
    assert!(out.status.success(), "restore after stop: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("moved the previous database aside"));
    let server = Server::start(&["--data-dir", &data_s]).await;
    let token = login(&client, &server.base, "keeper").await;
    assert_eq!(patient_status(&server.base, &token, &in_backup).await, reqwest::StatusCode::OK);
    assert_eq!(patient_status(&server.base, &token, &after_backup).await, reqwest::StatusCode::NOT_FOUND);

    // A killed server leaves no lock behind: the operating system releases it with the process.
    server.kill();
    let out = limbpath(&["restore", &backup_s, "--data-dir", &data_s, "--force"]).output().expect("restore");
    assert!(out.status.success(), "restore after SIGKILL: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_started_during_a_restore_waits_for_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("live");
    let data_s = data.to_str().expect("utf-8").to_owned();
    std::fs::create_dir_all(&data).expect("data dir");
    // What `limbpath restore` holds while it replaces the database (crates/limbpath/src/lock.rs).
    let lock = std::fs::File::create(data.join("limbpath.sqlite3.lock")).expect("lock file");
    lock.lock().expect("exclusive lock");
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = limbpath(&["serve", "--bind", &bind, "--data-dir", &data_s])
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().expect("log file"))
        .spawn()
        .expect("start limbpath serve");
    let healthz = format!("http://{bind}/healthz");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(log.path()).unwrap_or_default().contains("waiting") {
        assert!(std::time::Instant::now() < deadline, "the server never said it waits");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(client.get(&healthz).send().await.is_err(), "not listening while the restore runs");
    assert!(!data.join("limbpath.sqlite3").exists(), "no database created under the restore");
    drop(lock);
    let mut ready = false;
    while !ready && std::time::Instant::now() < deadline {
        ready = client.get(&healthz).send().await.is_ok_and(|r| r.status().is_success());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "the server starts once the restore is done: {}", std::fs::read_to_string(log.path()).unwrap());
}
