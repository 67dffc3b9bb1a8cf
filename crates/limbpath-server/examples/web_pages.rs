//! Server time of the web UI's patient list and patient page, measured over
//! real HTTP on 127.0.0.1 against the real router (session, audit and all).
//!
//! ```sh
//! # on the demo database (built by `limbpath demo --patients 1000000`):
//! cargo run --release -p limbpath-server --example web_pages -- --url sqlite://data/limbpath.sqlite3
//! # or on a fresh throwaway database with N synthetic patients:
//! cargo run --release -p limbpath-server --example web_pages -- --fresh 2000
//! ```
//!
//! It needs a staff account in the database (the demo has `demo.clinician`);
//! it opens one session for it, which it deletes at the end. Every request is
//! audited, as in production. Times are client-side round trips on loopback,
//! so they are an upper bound on server time.

use limbpath_record::{Role, UserData};
use limbpath_server::{AppState, Config, router};
use limbpath_store::{PatientQuery, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{label:<44} n={:<4} median {:>6.2} ms  p95 {:>6.2} ms  max {:>6.2} ms",
        times.len(),
        p(0.5),
        p(0.95),
        ms(*times.last().unwrap())
    );
}

#[tokio::main]
async fn main() {
    let iterations: usize = arg("--iterations").and_then(|v| v.parse().ok()).unwrap_or(100);
    let _dir;
    let store = if let Some(n) = arg("--fresh").and_then(|v| v.parse::<u64>().ok()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_data_dir(dir.path()).await.expect("open store");
        let records: Vec<_> = limbpath_demo::cohort(7, n).collect();
        for chunk in records.chunks(1000) {
            store.insert_patient_records(chunk).await.expect("load cohort");
        }
        store.analyze().await.expect("analyze");
        let user = UserData {
            username: "bench.clinician".into(),
            display_name: "Bench".into(),
            role: Role::Clinician,
            patient_id: None,
        };
        store.create_user(user, "bench password 123").await.expect("user");
        _dir = Some(dir);
        store
    } else {
        _dir = None;
        let url = arg("--url").unwrap_or_else(|| "sqlite://data/limbpath.sqlite3".into());
        Store::connect(&url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"))
    };
    let users = store.list_users(None, 500).await.expect("users");
    let user = users
        .items
        .iter()
        .find(|u| matches!(u.data.role, Role::Clinician | Role::Coordinator | Role::Admin))
        .expect("a staff account in the database");
    let session = store.create_session(&user.id, Duration::from_secs(3600)).await.expect("session");
    let state = Arc::new(AppState::new(store.clone(), Config::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cookie = format!("limbpath_session={}", session.token);
    let get = |path: String| {
        let http = http.clone();
        let cookie = cookie.clone();
        async move {
            let t = Instant::now();
            let r = http.get(format!("http://{addr}{path}")).header("Cookie", cookie).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_eq!(status, 200, "{path}: {body}");
            (t.elapsed(), body)
        }
    };
    // Patients to open: the first pages of a few searches.
    let mut ids = Vec::new();
    for q in ["a", "m", "s", "w"] {
        let page = store
            .search_patients(&PatientQuery { text: Some(q.into()), limit: 50, ..PatientQuery::default() })
            .await
            .unwrap();
        ids.extend(page.items.into_iter().map(|p| p.patient.id));
    }
    assert!(!ids.is_empty(), "no patients in the database");
    let _ = get("/patients".into()).await; // warm up

    let lists = [
        ("/patients (first page)", "/patients".to_owned()),
        ("/patients?q=smi", "/patients?q=smi".to_owned()),
        ("/patients?episode_status=referred", "/patients?episode_status=referred".to_owned()),
        (
            "/patients?wifi_stage=4&episode_status=treatment",
            "/patients?wifi_stage=4&episode_status=treatment".to_owned(),
        ),
        // Aetiology as a facet: a common one with a stage, and an intersection no patient is in.
        ("/patients?aetiology=clti&wifi_stage=3", "/patients?aetiology=clti&wifi_stage=3".to_owned()),
        ("/patients?aetiology=venous&wifi_stage=3", "/patients?aetiology=venous&wifi_stage=3".to_owned()),
        ("/patients?overdue_tasks=true", "/patients?overdue_tasks=true".to_owned()),
    ];
    for (label, path) in lists {
        let mut times = Vec::new();
        for _ in 0..iterations {
            times.push(get(path.clone()).await.0);
        }
        report(label, times);
    }
    // Walk the list by its next-page links.
    let mut times = Vec::new();
    let mut path = "/patients".to_owned();
    for _ in 0..iterations.min(100) {
        let (t, body) = get(path.clone()).await;
        times.push(t);
        match body.split("rel=\"next\" class=\"button\" href=\"").nth(1).and_then(|s| s.split('"').next()) {
            Some(next) => path = next.replace("&amp;", "&"),
            None => break,
        }
    }
    report("/patients next-page walk", times);
    let mut times = Vec::new();
    for i in 0..iterations {
        times.push(get(format!("/patients/{}", ids[i % ids.len()])).await.0);
    }
    report("/patients/{id} (patient page)", times);
    let mut times = Vec::new();
    for i in 0..iterations {
        times.push(get(format!("/patients/{}/summary", ids[i % ids.len()])).await.0);
    }
    report("/patients/{id}/summary", times);
    let _ = store.delete_session(&session.token).await;
}
