//! Hostile input against the HTTP API and the web UI (issue 9): injection
//! strings in every text field and query parameter, path traversal, oversize
//! and deeply nested bodies, bad UTF-8, wrong content types, forged, tampered
//! and expired credentials and CSRF tokens, another patient's ids and ids of
//! the wrong kind. Every hostile request is answered 4xx (never 5xx, never
//! 2xx for a write), stores nothing (row counts of the patient-data tables
//! before and after), and leaks nothing (no SQL, no stack trace, no internal
//! path, no other patient's data in the answer).

use super::{Server, chart, patient_body};
use limbpath_record::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every table that holds patient data or credentials (the audit trail is
/// counted separately: hostile requests are expected to add to it).
const PATIENT_TABLES: &[&str] = &[
    "patients",
    "patient_search",
    "limbs",
    "episodes",
    "assessments",
    "wounds",
    "wound_measurements",
    "vascular_studies",
    "imaging_studies",
    "procedures",
    "outcome_events",
    "consents",
    "care_team_members",
    "care_tasks",
    "follow_up_visits",
    "referrers",
    "referrals",
    "check_ins",
    "alerts",
    "programme_settings",
    "programme_instructions",
    "protocol_plans",
    "oi_load_log",
    "distraction_log",
    "fhir_patients",
    "fhir_resources",
    "users",
    "sessions",
];

async fn rows(s: &Server) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in PATIENT_TABLES {
        out.push((*t, crate::harness::count(&s.db.store, t).await));
    }
    out
}

/// SQL injection attempts, as text a user could type.
const SQL: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE patients; --",
    "\" OR \"\"=\"",
    "1); DELETE FROM audit; --",
    "Robert'); DROP TABLE users;--",
    "%' UNION SELECT username, role FROM users --",
    "'; SELECT pg_sleep(5); --",
    "\\'; --",
];

/// HTML and script injection attempts.
const HTML: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    "<a href=\"javascript:alert(3)\">x</a>",
    "&lt;b&gt; &amp; {{7*7}} ${7*7}",
];

fn evil() -> impl Iterator<Item = &'static str> {
    SQL.iter().chain(HTML).copied()
}

/// HTML escaping as the pages must do it (an independent oracle, not the server's own function).
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// What must never appear in an answer: traces of SQL engines and queries,
/// panics and stack traces, internal paths, and the data of `secrets`
/// (another patient's). Text the client itself sent (`sent`) is removed first:
/// echoing a client's own input back, escaped, is not a leak.
fn assert_clean(what: &str, body: &str, sent: &[&str], secrets: &[&str]) {
    let mut text = body.to_owned();
    let mut sent = sent.to_vec();
    sent.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in sent {
        for form in [s.to_string(), escaped(s), Value::from(s).to_string().trim_matches('"').to_owned()] {
            if !form.is_empty() {
                text = text.replace(&form, "");
            }
        }
    }
    let lower = text.to_lowercase().replace("<select", "<choice");
    for needle in [
        "sqlx",
        "sqlite",
        "postgres",
        "syntax error",
        "select *",
        "select count",
        "select id",
        "select u.",
        "select p.",
        " from patients",
        " from users",
        " from sessions",
        "insert into",
        "delete from",
        "drop table",
        "where p.",
        "where s.",
        "constraint",
        "database error",
        "panicked",
        "backtrace",
        "stack trace",
        ".rs:",
        "/src/",
        "/work/",
        "/home/",
        "/root/",
        "/usr/",
        "/etc/",
        "root:x:",
        "thread '",
    ] {
        assert!(!lower.contains(needle), "{what}: the answer leaks {needle:?}: {body}");
    }
    for s in secrets {
        assert!(!body.contains(s), "{what}: the answer leaks another patient's data {s:?}: {body}");
    }
}

/// A hostile request's answer: a 4xx, clean.
fn assert_refused(what: &str, status: u16, body: &str, sent: &[&str], secrets: &[&str]) {
    assert!((400..500).contains(&status), "{what}: expected a 4xx, got {status}: {body}");
    assert_clean(what, body, sent, secrets);
}

/// One request written by hand on a fresh connection (for what an HTTP
/// client would normalise or refuse to send: `..` segments, raw bytes in
/// headers). Returns the status and the body.
async fn raw(s: &Server, request: &[u8]) -> (u16, String) {
    let addr = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

fn get_request(path: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra_headers}\r\n").into_bytes()
}

/// A GET as the web UI's browser sends it (the session cookie).
async fn page(s: &Server, token: &str, path: &str) -> (StatusCode, String) {
    let r = s.http.get(s.url(path)).header("cookie", format!("limbpath_session={token}")).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A form POST as the web UI's browser sends it (cookie, url-encoded body).
async fn form_post(s: &Server, token: &str, path: &str, body: impl Into<reqwest::Body>) -> (StatusCode, String) {
    let r = s
        .http
        .post(s.url(path))
        .header("cookie", format!("limbpath_session={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn injection_strings_are_stored_verbatim_returned_verbatim_in_json_and_escaped_in_pages() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (other, _, _) = chart(&s, &clin, "MRN-OTHER-77", "Kowalski").await;
    let mut stored = Vec::new();
    for (i, text) in evil().enumerate() {
        // Every text field of a patient, a consent and a care-team member carries the string.
        let mut body = patient_body(&format!("MRN-{i}-{text}"), text);
        body["given_name"] = json!(text);
        body["site"] = json!(format!("Site {text}"));
        let (st, p) = s.post(&clin, "/api/v1/patients", body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{text}: {p}");
        for field in ["mrn", "site", "family_name", "given_name"] {
            assert_eq!(p[field], body[field], "{text}: {field} comes back verbatim");
        }
        let pid = p["id"].as_str().unwrap().to_owned();
        let (st, l) = s
            .post(
                &clin,
                "/api/v1/limbs",
                json!({"patient_id": pid, "side": "right", "kind": "lower", "amputation_level": null}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{l}");
        let (st, e) = s
            .post(&clin, "/api/v1/episodes", json!({"limb_id": l["id"], "aetiology": "clti", "status": "treatment", "opened_on": "2025-01-10", "closed_on": null}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{e}");
        let consent = json!({"episode_id": e["id"], "consented_to": text, "consented_on": "2025-01-15", "given_to": text, "withdrawn_on": null});
        let (st, c) = s.post(&clin, "/api/v1/consents", consent).await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        assert_eq!((c["consented_to"].as_str(), c["given_to"].as_str()), (Some(text), Some(text)));
        let member = json!({"episode_id": e["id"], "user_id": null, "name": text, "discipline": "care_coordination", "lead": false});
        let (st, m) = s.post(&clin, "/api/v1/care-team-members", member).await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        assert_eq!(m["name"], text);
        // Read back through the JSON API: verbatim.
        let (_, read) = s.get(&clin, &format!("/api/v1/patients/{pid}")).await;
        assert_eq!((read["family_name"].as_str(), read["given_name"].as_str()), (Some(text), Some(text)));
        let (_, record) = s.get(&clin, &format!("/api/v1/patients/{pid}/record")).await;
        assert!(record.to_string().contains(&Value::from(text).to_string()), "{text}: {record}");
        stored.push((pid, text));
    }
    // The database still has every table and every row: nothing was executed.
    assert_eq!(s.patients().await, 1 + evil().count() as i64);
    assert!(crate::harness::count(&s.db.store, "users").await >= 1);

    // Pages show the text escaped, never as markup.
    for (pid, text) in &stored {
        for path in [format!("/patients/{pid}"), format!("/patients/{pid}/summary")] {
            let (st, html) = page(&s, &clin, &path).await;
            assert_eq!(st, StatusCode::OK, "{path}");
            if text.contains(['<', '>', '"', '\'']) {
                assert!(!html.contains(text), "{path}: {text:?} appears unescaped");
            }
            assert!(html.contains(&escaped(text)), "{path}: {text:?} not shown escaped");
        }
    }
    let (st, list) = page(&s, &clin, "/patients").await;
    assert_eq!(st, StatusCode::OK);
    for (_, text) in &stored {
        if text.contains('<') {
            assert!(!list.contains(text), "patient list shows {text:?} unescaped");
        }
    }

    // Searches with injection strings: no error, no leak, only literal matches.
    for text in evil() {
        for param in ["q", "site"] {
            let url = reqwest::Url::parse_with_params(&s.url("/api/v1/patients"), &[(param, text)]).unwrap();
            let r = s.http.get(url).bearer_auth(&clin).send().await.unwrap();
            let st = r.status();
            let body: Value = r.json().await.unwrap();
            assert_eq!(st, StatusCode::OK, "{param}={text}: {body}");
            for item in body["items"].as_array().unwrap() {
                assert_ne!(item["id"], other.as_str(), "{param}={text} matched a patient it does not name: {body}");
            }
            assert_clean(&format!("search {param}={text}"), &body.to_string(), &[text], &[]);
            // The web list echoes the query into its search box, escaped.
            let url = reqwest::Url::parse_with_params(&s.url("/patients"), &[(param, text)]).unwrap();
            let r = s.http.get(url).header("cookie", format!("limbpath_session={clin}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "web {param}={text}");
            let html = r.text().await.unwrap();
            if text.contains('<') {
                assert!(!html.contains(text), "web search echoes {text:?} unescaped");
            }
        }
        // The other filters and the cursor refuse unknown values with a 4xx naming the field.
        for param in ["episode_status", "aetiology", "cursor", "wifi_stage", "limit"] {
            let url = reqwest::Url::parse_with_params(&s.url("/api/v1/patients"), &[(param, text)]).unwrap();
            let r = s.http.get(url).bearer_auth(&clin).send().await.unwrap();
            let st = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert_refused(&format!("search {param}={text}"), st, &body, &[text], &[]);
        }
        // FHIR searches: a 4xx naming the parameter, or an empty/own searchset; never an error or a leak.
        for (path, param) in [
            ("/fhir/Patient", "_id"),
            ("/fhir/Condition", "patient"),
            ("/fhir/Observation", "code"),
            ("/fhir/Observation", "date"),
            ("/fhir/Procedure", "_count"),
            ("/fhir/Observation", "_page_token"),
            ("/fhir/Patient", "_page_token"),
            ("/fhir/Condition", "_include"),
            ("/fhir/$export", "_since"),
            ("/fhir/Patient", text),
        ] {
            let url = reqwest::Url::parse_with_params(&s.url(path), &[(param, text)]).unwrap();
            let r = s.http.get(url).bearer_auth(&clin).send().await.unwrap();
            let st = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert!(st == 200 || (400..500).contains(&st), "{path}?{param}={text}: {st} {body}");
            assert_clean(&format!("{path}?{param}={text}"), &body, &[text], &["Kowalski", "MRN-OTHER-77"]);
        }
        // Injection strings as path ids and page cursors.
        let enc = utf8_percent(text);
        for path in [
            format!("/api/v1/patients/{enc}"),
            format!("/api/v1/patients/{enc}/record"),
            format!("/api/v1/patients/{enc}/limbs"),
            format!("/api/v1/episodes/{enc}/assessments"),
            format!("/api/v1/patients/{other}/limbs?cursor={enc}"),
        ] {
            let r = s.http.get(s.url(&path)).bearer_auth(&clin).send().await.unwrap();
            let st = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert_refused(&path, st, &body, &[text], &["Kowalski", "MRN-OTHER-77"]);
        }
    }
    assert_eq!(s.patients().await, 1 + evil().count() as i64, "still every patient");
}

/// Percent-encode every byte outside the unreserved set (for path segments).
fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn web_forms_show_rejected_input_escaped_and_store_nothing() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let csrf = limbpath_server::web::csrf_token(&clin);
    let before = rows(&s).await;
    for text in HTML {
        // A new-patient form with a bad date: re-shown with the input kept, escaped.
        let body = form(&[
            ("_csrf", &csrf),
            ("mrn", text),
            ("site", text),
            ("family_name", text),
            ("given_name", text),
            ("birth_date", "not a date"),
            ("sex", text),
        ]);
        let (st, html) = form_post(&s, &clin, "/patients/new", body).await;
        assert_refused(&format!("new patient {text}"), st.as_u16(), &html, &[text], &[]);
        assert!(!html.contains(text), "{text:?} re-shown unescaped");
        assert!(html.contains(&escaped(text)), "{text:?} not kept in the form");
    }
    assert_eq!(rows(&s).await, before, "nothing stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn path_traversal_is_refused_on_static_assets_exports_and_ids() {
    let s = Server::start().await;
    let admin = s.user("admin", Role::Admin, None).await;
    let auth = format!("Authorization: Bearer {admin}\r\n");
    for path in [
        "/static/../../etc/passwd",
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/..%5c..%5cetc%5cpasswd",
        "/static/....//....//etc/passwd",
        "/static/%252e%252e/etc/passwd",
        "/static/app.css/../../../etc/passwd",
        "/static/%c0%ae%c0%ae/etc/passwd",
        "/../../../../etc/passwd",
        "/assets/../../etc/passwd",
        "/assets/..%2f..%2fetc%2fpasswd",
        "/api/v1/patients/..%2f..%2f..%2fetc%2fpasswd",
        "/api/v1/patients/../../../etc/passwd",
        "/fhir/Patient/..%2f..%2fetc%2fpasswd",
        "/fhir/$export-status/..%2f..%2f..%2fetc",
        "/fhir/$export-file/..%2f..%2f..%2fetc/passwd",
        "/fhir/$export-file/0123456789abcdef0123456789abcdef/..%2f..%2f..%2fetc%2fpasswd",
        "/fhir/$export-file/0123456789abcdef0123456789abcdef/..%2f..%2f..%2f..%2fetc%2fpasswd.ndjson",
        "/fhir/$export-file/0123456789abcdef0123456789abcdef/%2e%2e.ndjson",
    ] {
        let (status, body) = raw(&s, &get_request(path, &auth)).await;
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
        // Echoing the client's own path (or its tail, as an id) back is not a leak.
        let mut sent = vec![path, decoded.as_str()];
        sent.extend(decoded.match_indices('/').map(|(i, _)| &decoded[i + 1..]).filter(|t| t.len() > 3));
        assert_refused(path, status, &body, &sent, &[]);
        assert!(!body.contains("root:"), "{path} served a system file");
    }
    // The real assets are still served.
    let (status, _) = raw(&s, &get_request("/static/app.css", "")).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_deeply_nested_and_non_utf8_bodies_are_refused_and_store_nothing() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, lid, eid) = chart(&s, &clin, "MRN-N", "Nakata").await;
    let patient = s.user("pat", Role::Patient, Some(&pid)).await;
    let before = rows(&s).await;
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(100_000);
    let deep_findings = format!(
        "{{\"episode_id\": \"{eid}\", \"assessed_on\": \"2025-01-12\", \"findings\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let balanced = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let huge = format!("{{\"mrn\": \"{}\"}}", "x".repeat(3 << 20));
    let bad_utf8: Vec<u8> = [b"{\"mrn\": \"".as_slice(), &[0xff, 0xfe, 0xc3, 0x28], b"\", \"site\": \"x\"}"].concat();
    let overlong: Vec<u8> = [b"{\"mrn\": \"".as_slice(), &[0xc0, 0xaf, 0xed, 0xa0, 0x80], b"\"}"].concat();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("100k [", deep_array.clone().into_bytes()),
        ("100k {", deep_object.into_bytes()),
        ("100k [ in findings", deep_findings.into_bytes()),
        ("balanced nesting", balanced.into_bytes()),
        ("3 MiB", huge.into_bytes()),
        ("bad UTF-8", bad_utf8.clone()),
        ("overlong and surrogate UTF-8", overlong),
        ("NUL bytes", b"{\"mrn\": \"a\0b\"}\0".to_vec()),
        ("empty", Vec::new()),
        ("a UTF-16 BOM", [&[0xff, 0xfe][..], "{\"mrn\":1}".as_bytes()].concat()),
    ];
    let endpoints = [
        "/api/v1/patients".to_owned(),
        "/api/v1/limbs".to_owned(),
        "/api/v1/assessments".to_owned(),
        format!("/api/v1/episodes/{eid}/follow-up-visits"),
        format!("/api/v1/patients/{pid}/oi-plans"),
        "/api/v1/session".to_owned(),
        "/fhir".to_owned(),
        "/fhir/Patient".to_owned(),
    ];
    for (what, body) in &bodies {
        for path in &endpoints {
            let r = s
                .http
                .post(s.url(path))
                .bearer_auth(&clin)
                .header(
                    "content-type",
                    if path.starts_with("/fhir") { "application/fhir+json" } else { "application/json" },
                )
                .body(body.clone())
                .send()
                .await;
            let Ok(r) = r else { continue }; // the server may close the connection on an oversize body
            let st = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            assert_refused(&format!("{what} to {path}"), st, &text, &[], &[]);
        }
        // The patient's own check-in, in JSON and as the web form.
        let r = s
            .http
            .post(s.url(&format!("/api/v1/patients/{pid}/check-ins")))
            .bearer_auth(&patient)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        if let Ok(r) = r {
            let st = r.status().as_u16();
            assert_refused(&format!("{what} check-in"), st, &r.text().await.unwrap_or_default(), &[], &[]);
        }
    }
    // Updates too.
    let r = s
        .http
        .put(s.url(&format!("/api/v1/limbs/{lid}")))
        .bearer_auth(&clin)
        .header("if-match", "\"1\"")
        .header("content-type", "application/json")
        .body(deep_array)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    assert_refused("100k [ update", st, &r.text().await.unwrap(), &[], &[]);
    // Bad UTF-8 in form fields (percent-encoded and raw), with a valid CSRF token.
    let csrf = limbpath_server::web::csrf_token(&patient);
    let csrf_c = limbpath_server::web::csrf_token(&clin);
    for body in [
        format!("_csrf={csrf}&free_text=%FF%FE%C3%28&pain_nrs=2").into_bytes(),
        [format!("_csrf={csrf}&pain_nrs=2&free_text=").as_bytes(), &[0xff, 0xfe, 0xc3, 0x28]].concat(),
    ] {
        let (st, html) = form_post(&s, &patient, "/check-in", body).await;
        assert_refused("bad UTF-8 check-in form", st.as_u16(), &html, &[], &[]);
    }
    for body in
        [format!("_csrf={csrf_c}&mrn=M%FF&site=S&family_name=F%C3%28&given_name=G&birth_date=1950-01-01&sex=male")
            .into_bytes()]
    {
        let (st, html) = form_post(&s, &clin, "/patients/new", body).await;
        assert_refused("bad UTF-8 patient form", st.as_u16(), &html, &[], &[]);
    }
    // A form body over the limit.
    let (st, html) =
        form_post(&s, &patient, "/check-in", format!("_csrf={csrf}&free_text={}", "a".repeat(3 << 20))).await;
    assert_refused("3 MiB form", st.as_u16(), &html, &[], &[]);
    assert_eq!(rows(&s).await, before, "nothing stored by any hostile body");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bytes_in_headers_are_refused() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, _, _) = chart(&s, &clin, "MRN-H", "Haddad").await;
    let before = rows(&s).await;
    let path = format!("/api/v1/patients/{pid}");
    let audit_before = s.audit_rows().await;
    for header in [
        b"Authorization: Bearer \xff\xfe\xfd\r\n".to_vec(),
        [b"Authorization: Bearer ".as_slice(), clin.as_bytes(), b"\xff\r\n"].concat(),
        b"Cookie: limbpath_session=\xc3\x28\xa0\xa1\r\n".to_vec(),
        b"Authorization: \xe2\x82\r\n".to_vec(),
        [b"Authorization: Bearer ".as_slice(), clin.as_bytes(), b"\r\nIf-Match: \"\xff\"\r\n"].concat(),
    ] {
        let request =
            [format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n").as_bytes(), &header, b"\r\n"]
                .concat();
        let (status, body) = raw(&s, &request).await;
        let readable = String::from_utf8_lossy(&header).into_owned();
        if header.starts_with(b"Authorization: Bearer ") && header.windows(9).any(|w| w == b"If-Match:") {
            // The credential is good: the read is allowed; If-Match does not matter to a GET.
            assert_eq!(status, 200, "{readable}");
            continue;
        }
        assert_refused(&readable, status, &body, &[], &["Haddad", "MRN-H"]);
    }
    assert!(s.audit_rows().await > audit_before, "refused credentials are audited");
    // A write with bad bytes in If-Match.
    let request = [
        format!("PUT {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {clin}\r\nContent-Type: application/json\r\nIf-Match: \"").as_bytes(),
        b"\xff\xfe\"\r\n",
        format!("Content-Length: {}\r\n\r\n", patient_body("MRN-H", "Changed").to_string().len()).as_bytes(),
        patient_body("MRN-H", "Changed").to_string().as_bytes(),
    ]
    .concat();
    let (status, body) = raw(&s, &request).await;
    assert_refused("bad If-Match", status, &body, &[], &[]);
    assert_eq!(rows(&s).await, before);
    let (_, p) = s.get(&clin, &path).await;
    assert_eq!(p["family_name"], "Haddad");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_content_types_are_415_and_store_nothing() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, _, eid) = chart(&s, &clin, "MRN-C", "Costa").await;
    let patient = s.user("pat", Role::Patient, Some(&pid)).await;
    let before = rows(&s).await;
    let json_body = patient_body("MRN-C2", "Costa").to_string();
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"mrn\"\r\n\r\nMRN-C3\r\n--XyZ--\r\n";
    let cases: Vec<(&str, String)> = vec![
        ("text/plain", json_body.clone()),
        ("multipart/form-data; boundary=XyZ", multipart.to_owned()),
        ("application/x-www-form-urlencoded", "mrn=MRN-C4&site=S".to_owned()),
        ("application/xml", "<patient><mrn>MRN-C5</mrn></patient>".to_owned()),
        ("application/jsonp", json_body.clone()),
        ("text/html; charset=utf-8", json_body.clone()),
        ("", json_body.clone()),
    ];
    for (ct, body) in &cases {
        for (token, path, payload) in [
            (&clin, "/api/v1/patients".to_owned(), body.clone()),
            (
                &clin,
                "/api/v1/assessments".to_owned(),
                if body == &json_body {
                    json!({"episode_id": eid, "assessed_on": "2025-01-12", "findings": {"wound_grade": 1}}).to_string()
                } else {
                    body.clone()
                },
            ),
            (
                &patient,
                format!("/api/v1/patients/{pid}/check-ins"),
                if body == &json_body { "{\"chills\": true}".to_owned() } else { body.clone() },
            ),
            (
                &clin,
                "/api/v1/session".to_owned(),
                "{\"username\": \"clin\", \"password\": \"correct horse battery staple\"}".to_owned(),
            ),
        ] {
            let mut rq = s.http.post(s.url(&path)).bearer_auth(token).body(payload);
            if !ct.is_empty() {
                rq = rq.header("content-type", *ct);
            }
            let r = rq.send().await.unwrap();
            let st = r.status();
            let text = r.text().await.unwrap();
            assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?} to {path}: {text}");
            assert_clean(&format!("{ct} to {path}"), &text, &[], &[]);
        }
    }
    // JSON posted to a web form has no CSRF token: refused.
    let r = s
        .http
        .post(s.url("/patients/new"))
        .header("cookie", format!("limbpath_session={clin}"))
        .header("content-type", "application/json")
        .body(json_body.clone())
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    assert_refused("JSON to a web form", st, &r.text().await.unwrap(), &[], &[]);
    assert_eq!(rows(&s).await, before, "nothing stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_tampered_expired_and_ended_credentials_and_csrf_tokens_are_refused_and_audited() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, _, _) = chart(&s, &clin, "MRN-S", "Sato").await;
    let other = s.user("clin2", Role::Clinician, None).await;
    let ended = s.user("clin3", Role::Clinician, None).await;
    let expired = s.user("clin4", Role::Clinician, None).await;
    let r = s.http.delete(s.url("/api/v1/session")).bearer_auth(&ended).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let n = crate::harness::execute_raw(
        &s.db.store,
        "UPDATE sessions SET expires_at_ms = 1 WHERE user_id = (SELECT id FROM users WHERE username = 'clin4')",
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let mut tampered = clin.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let forged: Vec<String> = vec![
        tampered.clone(),
        clin[..clin.len() - 1].to_owned(),
        format!("{clin}0"),
        clin.to_uppercase() + "X",
        "0".repeat(clin.len()),
        "f".repeat(64),
        "x".repeat(100_000),
        "' OR '1'='1".to_owned(),
        ended.clone(),
        expired.clone(),
        "null".to_owned(),
    ];
    let before = rows(&s).await;
    let read = format!("/api/v1/patients/{pid}");
    for token in &forged {
        let shown = &token[..token.len().min(40)];
        let audit_before = s.audit_rows().await;
        // Bearer on the API.
        let r = s.http.get(s.url(&read)).bearer_auth(token).send().await;
        if let Ok(r) = r {
            let st = r.status();
            let text = r.text().await.unwrap();
            if token.len() < 8000 {
                assert_eq!(st, StatusCode::UNAUTHORIZED, "{shown}: {text}");
            }
            assert_refused(shown, st.as_u16(), &text, &[token], &["Sato", "MRN-S"]);
        }
        let (st, p) = s.post(token, "/api/v1/patients", patient_body("MRN-S2", "Forged")).await;
        assert!(st.is_client_error(), "{shown}: {st} {p}");
        // Cookie on the API and the web UI (which redirects to the login page).
        let r = s.http.get(s.url(&read)).header("cookie", format!("limbpath_session={token}")).send().await;
        if let Ok(r) = r {
            assert!(r.status().is_client_error(), "{shown} cookie");
        }
        let r = no_redirects()
            .post(s.url("/patients/new"))
            .header("cookie", format!("limbpath_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("_csrf", &limbpath_server::web::csrf_token(token)), ("mrn", "MRN-S3")]))
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{shown} web");
            assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
        }
        if token.len() < 8000 {
            assert!(s.audit_rows().await >= audit_before + 3, "{shown}: refused credentials are audited");
        }
    }
    // A valid session with a missing, wrong, forged or another session's CSRF token.
    for csrf in [
        String::new(),
        "0".repeat(64),
        limbpath_server::web::csrf_token(&other),
        limbpath_server::web::csrf_token(&tampered),
        limbpath_server::web::csrf_token(&clin)[..63].to_owned(),
        limbpath_server::web::csrf_token(&clin).to_uppercase(),
        format!("{} ", limbpath_server::web::csrf_token(&clin)),
    ] {
        let audit_before = s.audit_rows().await;
        let body = form(&[
            ("_csrf", &csrf),
            ("mrn", "MRN-CSRF"),
            ("site", "S"),
            ("family_name", "Forged"),
            ("given_name", "G"),
            ("birth_date", "1950-01-01"),
            ("sex", "male"),
        ]);
        let (st, html) = form_post(&s, &clin, "/patients/new", body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert_clean("csrf", &html, &[], &["Sato"]);
        let (st, _) = form_post(&s, &clin, "/logout", form(&[("_csrf", &csrf)])).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "logout with csrf {csrf:?}");
        assert_eq!(s.audit_rows().await, audit_before + 2, "csrf {csrf:?} refusals are audited");
    }
    // The login form's own CSRF (pre-login cookie) cannot be forged either.
    let r = no_redirects()
        .post(s.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", &"0".repeat(64)), ("username", "clin"), ("password", super::PASSWORD)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("limbpath_session=")));
    assert_eq!(rows(&s).await, before, "nothing stored, no session created");
    // The real session still works.
    assert_eq!(s.get(&clin, &read).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_account_gets_nothing_of_another_patient_and_each_try_is_audited() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (me_id, my_limb, my_episode) = chart(&s, &clin, "MRN-ME", "Mine").await;
    let (other, other_limb, other_episode) = chart(&s, &clin, "MRN-THEIRS-55", "Theirs").await;
    let (st, w) = s
        .post(&clin, "/api/v1/wounds", json!({"episode_id": other_episode, "location": "plantar_heel", "noted_on": "2025-01-12", "healed_on": null}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let other_wound = w["id"].as_str().unwrap().to_owned();
    let (st, a) = s
        .post(
            &clin,
            "/api/v1/assessments",
            json!({"episode_id": other_episode, "assessed_on": "2025-01-12", "findings": {"wound_grade": 1}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let other_assessment = a["id"].as_str().unwrap().to_owned();
    let me = s.user("pat", Role::Patient, Some(&me_id)).await;
    let secrets = ["Theirs", "MRN-THEIRS-55"];
    let before = rows(&s).await;

    let reads = [
        format!("/api/v1/patients/{other}"),
        format!("/api/v1/patients/{other}/record"),
        format!("/api/v1/patients/{other}/limbs"),
        format!("/api/v1/limbs/{other_limb}"),
        format!("/api/v1/limbs/{other_limb}/episodes"),
        format!("/api/v1/episodes/{other_episode}"),
        format!("/api/v1/episodes/{other_episode}/wounds"),
        format!("/api/v1/wounds/{other_wound}"),
        format!("/api/v1/wounds/{other_wound}/wound-measurements"),
        format!("/api/v1/assessments/{other_assessment}"),
        format!("/api/v1/patients/{other}/check-ins"),
        format!("/api/v1/patients/{other}/alerts"),
        format!("/api/v1/patients/{other}/flags"),
        format!("/api/v1/audit?patient={other}"),
        "/api/v1/patients?q=Theirs".to_owned(),
        format!("/api/v1/episodes/{other_episode}/care-plan"),
        format!("/api/v1/episodes/{other_episode}/follow-ups"),
        format!("/fhir/Patient/{other}"),
        format!("/fhir/Patient/{other}/$everything"),
        format!("/fhir/Condition?patient={other}"),
    ];
    for path in &reads {
        let audit_before = s.audit_rows().await;
        let r = s.http.get(s.url(path)).bearer_auth(&me).send().await.unwrap();
        let st = r.status();
        let text = r.text().await.unwrap();
        assert!(matches!(st.as_u16(), 403 | 404), "{path}: {st} {text}");
        assert_clean(path, &text, &[], &secrets);
        assert!(s.audit_rows().await > audit_before, "{path}: the refusal is audited");
    }
    // Web pages.
    for path in [
        format!("/patients/{other}"),
        format!("/patients/{other}/summary"),
        format!("/assessments/{other_assessment}"),
        format!("/episodes/{other_episode}/assessments/new"),
        format!("/episodes/{other_episode}/care-plan"),
    ] {
        let audit_before = s.audit_rows().await;
        let (st, html) = page(&s, &me, &path).await;
        assert!(matches!(st.as_u16(), 403 | 404), "{path}: {st}");
        assert_clean(&path, &html, &[], &secrets);
        assert!(s.audit_rows().await > audit_before, "{path}: the refusal is audited");
    }
    // Writes naming the other patient's records.
    let writes: Vec<(String, Value)> = vec![
        (format!("/api/v1/patients/{other}/check-ins"), json!({"chills": true})),
        (format!("/api/v1/patients/{other}/oi-plans"), json!({})),
        (
            "/api/v1/limbs".to_owned(),
            json!({"patient_id": other, "side": "left", "kind": "lower", "amputation_level": null}),
        ),
        (
            "/api/v1/wounds".to_owned(),
            json!({"episode_id": other_episode, "location": "plantar_heel", "noted_on": "2025-01-12", "healed_on": null}),
        ),
        (
            "/api/v1/assessments".to_owned(),
            json!({"episode_id": my_episode, "assessed_on": "2025-01-12", "findings": {"wound_grade": 1}}),
        ),
        (format!("/api/v1/episodes/{other_episode}/care-plan/run"), json!({})),
        (format!("/api/v1/episodes/{other_episode}/follow-up-visits"), json!({"visited_on": "2025-02-01"})),
    ];
    for (path, body) in &writes {
        let audit_before = s.audit_rows().await;
        let (st, p) = s.post(&me, path, body.clone()).await;
        assert!(matches!(st.as_u16(), 403 | 404), "{path}: {st} {p}");
        assert_clean(path, &p.to_string(), &[], &secrets);
        assert!(s.audit_rows().await > audit_before, "{path}: the refusal is audited");
    }
    let (st, _) = s
        .put(
            &me,
            &format!("/api/v1/limbs/{other_limb}"),
            1,
            json!({"patient_id": me_id, "side": "left", "kind": "lower", "amputation_level": null}),
        )
        .await;
    assert!(matches!(st.as_u16(), 403 | 404), "PUT another's limb: {st}");
    let (st, _) = s
        .put(
            &me,
            &format!("/api/v1/limbs/{my_limb}"),
            1,
            json!({"patient_id": other, "side": "left", "kind": "lower", "amputation_level": null}),
        )
        .await;
    assert!(matches!(st.as_u16(), 403 | 404), "move my limb to another patient: {st}");
    // The web check-in form, posted with the other patient's id in the path or body.
    let csrf = limbpath_server::web::csrf_token(&me);
    let (st, html) =
        form_post(&s, &me, "/check-in", form(&[("_csrf", &csrf), ("chills", "yes"), ("patient_id", &other)])).await;
    assert!(st.is_success(), "my own check-in works: {st}");
    assert_clean("check-in", &html, &[], &secrets);
    let after = rows(&s).await;
    let changed: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).map(|(b, a)| (b.0, b.1, a.1)).collect();
    // Exactly my own check-in (and its alert) were stored, for me.
    assert!(changed.iter().all(|(t, _, _)| matches!(*t, "check_ins" | "alerts")), "{changed:?}");
    let (_, theirs) = s.get(&clin, &format!("/api/v1/patients/{other}/check-ins")).await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0), "{theirs}");
    let trail = s.db.store.audit_for_patient(&other, None, 500).await.unwrap();
    let denied = trail.items.iter().filter(|e| e.entry.username.as_deref() == Some("pat")).count();
    assert!(denied >= 10, "the other patient's audit trail names the attempts: {denied}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_of_the_wrong_kind_or_shape_are_4xx_and_store_nothing() {
    let s = Server::start().await;
    let clin = s.user("clin", Role::Clinician, None).await;
    let (pid, lid, eid) = chart(&s, &clin, "MRN-K", "Kind").await;
    let (st, w) = s
        .post(
            &clin,
            "/api/v1/wounds",
            json!({"episode_id": eid, "location": "plantar_heel", "noted_on": "2025-01-12", "healed_on": null}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let wid = w["id"].as_str().unwrap().to_owned();
    let before = rows(&s).await;
    // Reads and lists under the wrong kind of id.
    for path in [
        format!("/api/v1/limbs/{wid}"),
        format!("/api/v1/limbs/{wid}/episodes"),
        format!("/api/v1/patients/{lid}"),
        format!("/api/v1/patients/{eid}/record"),
        format!("/api/v1/episodes/{pid}/wounds"),
        format!("/api/v1/wounds/{eid}/wound-measurements"),
        format!("/api/v1/assessments/{wid}"),
        format!("/api/v1/patients/{wid}/check-ins"),
        format!("/api/v1/patients/{lid}/flags"),
        format!("/api/v1/episodes/{wid}/care-plan"),
        format!("/api/v1/care-tasks/{pid}"),
        format!("/api/v1/referrals/{pid}"),
        format!("/api/v1/oi-plans/{pid}"),
        format!("/fhir/Patient/{lid}"),
        format!("/patients/{lid}"),
        format!("/assessments/{wid}"),
        format!("/episodes/{lid}/care-plan"),
    ] {
        let r = s
            .http
            .get(s.url(&path))
            .bearer_auth(&clin)
            .header("cookie", format!("limbpath_session={clin}"))
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        assert_refused(&path, st, &r.text().await.unwrap(), &[], &[]);
    }
    // Writes naming the wrong kind of parent: 422 naming the field.
    for (path, body, field) in [
        (
            "/api/v1/episodes",
            json!({"limb_id": wid, "aetiology": "clti", "status": "treatment", "opened_on": "2025-01-10", "closed_on": null}),
            "limb_id",
        ),
        (
            "/api/v1/limbs",
            json!({"patient_id": lid, "side": "left", "kind": "lower", "amputation_level": null}),
            "patient_id",
        ),
        (
            "/api/v1/wounds",
            json!({"episode_id": lid, "location": "plantar_heel", "noted_on": "2025-01-12", "healed_on": null}),
            "episode_id",
        ),
        (
            "/api/v1/wound-measurements",
            json!({"wound_id": eid, "measured_on": "2025-01-12", "length_cm": 1.0, "width_cm": 1.0, "depth_cm": null, "area_cm2": null}),
            "wound_id",
        ),
        (
            "/api/v1/assessments",
            json!({"episode_id": pid, "assessed_on": "2025-01-12", "findings": {"wound_grade": 1}}),
            "episode_id",
        ),
    ] {
        let (st, p) = s.post(&clin, path, body).await;
        assert_eq!((st, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{path}: {p}");
        assert_clean(path, &p.to_string(), &[], &[]);
    }
    for (path, body) in [
        (format!("/api/v1/patients/{wid}/check-ins"), json!({"chills": true})),
        (format!("/api/v1/episodes/{lid}/care-plan/run"), json!({})),
        (format!("/api/v1/episodes/{pid}/follow-up-visits"), json!({"visited_on": "2025-02-01"})),
        (format!("/api/v1/care-tasks/{eid}/complete"), json!({})),
        (format!("/api/v1/alerts/{pid}/acknowledge"), json!({})),
        (format!("/api/v1/referrals/{eid}/decision"), json!({"decision": "accepted"})),
        (format!("/api/v1/oi-plans/{pid}/log"), json!({})),
        (format!("/api/v1/lengthening-plans/{lid}/log"), json!({})),
        (format!("/api/v1/patients/{lid}/oi-plans"), json!({})),
    ] {
        let (st, p) = s.post(&clin, &path, body).await;
        assert_refused(&path, st.as_u16(), &p.to_string(), &[], &[]);
    }
    // Unreadable query parameters are problems naming the parameter, like every other API error.
    for path in [
        format!("/api/v1/patients/{pid}/limbs?limit=abc"),
        format!("/api/v1/episodes/{eid}/wounds?limit=-1"),
        "/api/v1/patients?wifi_stage=%27%20OR%201%3D1".to_owned(),
        "/api/v1/care-tasks?limit=1e9".to_owned(),
        format!("/api/v1/patients/{pid}/check-ins?limit=ten"),
    ] {
        let r = s.http.get(s.url(&path)).bearer_auth(&clin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{path}");
        let p: Value = r.json().await.unwrap();
        assert!(p["field"].is_string(), "{path}: {p}");
    }
    let (st, p) = s
        .put(
            &clin,
            &format!("/api/v1/limbs/{wid}"),
            1,
            json!({"patient_id": pid, "side": "left", "kind": "lower", "amputation_level": null}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{p}");
    // Ids of no kind at all: empty-ish, too long, control characters, not UUIDs.
    let long = "a".repeat(20_000);
    for id in [
        "%20",
        "0",
        "-1",
        "00000000-0000-0000-0000-000000000000",
        "%00",
        "%0d%0aSet-Cookie:%20x=y",
        long.as_str(),
        "%F0%9F%92%A9",
        "%FF",
    ] {
        for path in
            [format!("/api/v1/patients/{id}"), format!("/api/v1/limbs/{id}/episodes"), format!("/patients/{id}")]
        {
            let r = s
                .http
                .get(s.url(&path))
                .bearer_auth(&clin)
                .header("cookie", format!("limbpath_session={clin}"))
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            assert!(r.headers().get("x").is_none());
            let text = r.text().await.unwrap();
            assert_refused(&path[..path.len().min(60)], st, &text, &[id], &[]);
        }
    }
    assert_eq!(rows(&s).await, before, "nothing stored");
}
