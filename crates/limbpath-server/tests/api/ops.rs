//! Running it for real (issue 9) over HTTP: probes, metrics and who may read
//! them, HSTS, rate limits behind a trusted proxy, session fixation and
//! expiry, and the password policy where accounts are created.

use super::*;
use limbpath_server::ops::RateLimits;
use std::time::Duration;

async fn start_with(config: Config) -> Server {
    let db = crate::harness::TestDb::new().await;
    let state = Arc::new(AppState::new(db.store.clone(), config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let addr = listener.local_addr().expect("local addr");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Server { db, base: format!("http://{addr}"), http }
}

fn is_problem(r: &reqwest::Response) -> bool {
    r.headers()["content-type"] == "application/problem+json"
}

#[tokio::test(flavor = "multi_thread")]
async fn liveness_readiness_and_an_unreachable_database() {
    let s = start_with(Config::default()).await;
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!((r.status(), r.text().await.unwrap()), (StatusCode::OK, "ok".to_owned()));
    let r = s.http.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!((r.status(), r.text().await.unwrap()), (StatusCode::OK, "ready".to_owned()));

    // the database goes away: not ready (problem+json), but still alive
    s.db.store.close().await;
    let r = s.http.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(is_problem(&r));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problems/unavailable");
    assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_route_templates_for_the_same_host_only() {
    let config = Config { metrics_token: Some("scrape-token-0123456789".into()), ..Config::default() };
    let s = start_with(config).await;
    let admin = s.user("admin", Role::Admin, None).await;
    let (pid, _, _) = chart(&s, &admin, "MRN-MET-1", "Metricsworth").await;
    for _ in 0..2 {
        assert_eq!(s.get(&admin, &format!("/api/v1/patients/{pid}")).await.0, StatusCode::OK);
    }
    assert_eq!(s.get(&admin, "/api/v1/patients?q=Metricsworth").await.0, StatusCode::OK);

    let r = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    assert!(
        text.contains(r#"limbpath_http_requests_total{route="/api/v1/patients/{id}",method="GET",status="200"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"limbpath_http_requests_total{route="/api/v1/patients",method="POST",status="201"} 1"#));
    assert!(text.contains(
        r#"limbpath_http_request_duration_seconds_bucket{route="/api/v1/patients/{id}",method="GET",le="+Inf"} 2"#
    ));
    assert!(
        text.contains(r#"limbpath_http_request_duration_seconds_count{route="/api/v1/patients/{id}",method="GET"} 2"#)
    );
    let engine = s.db.store.engine();
    assert!(text.contains(&format!("limbpath_db_pool_connections{{engine=\"{engine}\"")), "{text}");
    assert!(text.contains(&format!("limbpath_db_pool_idle_connections{{engine=\"{engine}\"")), "{text}");
    assert!(text.contains("\nlimbpath_audit_backlog 0\n"), "{text}");
    assert!(text.contains(r#"limbpath_http_rate_limited_total{bucket="login"} 0"#));
    // never a concrete id, name, MRN or query string
    for secret in [pid.as_str(), "Metricsworth", "MRN-MET-1", "q="] {
        assert!(!text.contains(secret), "{secret} in metrics");
    }
    // every sample line is `name{labels} number` or `name number`
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }

    // through a reverse proxy on the same host (forwarding headers): refused, unless with the token
    let r = s.http.get(s.url("/metrics")).header("X-Forwarded-For", "203.0.113.7").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(is_problem(&r));
    let r = s
        .http
        .get(s.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.7")
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s.http.get(s.url("/metrics")).header("Forwarded", "for=203.0.113.7").bearer_auth("wrong").send().await;
    assert_eq!(r.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn hsts_only_behind_tls_and_every_response_has_a_request_id() {
    let plain = start_with(Config::default()).await;
    let r = plain.http.get(plain.url("/healthz")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    assert_eq!(r.headers()["x-request-id"].len(), 16);

    let tls = start_with(Config { hsts: true, ..Config::default() }).await;
    for path in ["/healthz", "/login", "/api/v1/patients", "/no/such/page"] {
        let r = tls.http.get(tls.url(path)).send().await.unwrap();
        assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_are_rate_limited_per_client_address_behind_a_trusted_proxy() {
    let config = Config {
        rate_limits: RateLimits { login_per_minute: 2, login_burst: 3, ..RateLimits::OFF },
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Config::default()
    };
    let s = start_with(config).await;
    let data =
        UserData { username: "nurse".into(), display_name: "Nurse".into(), role: Role::Clinician, patient_id: None };
    s.db.store.create_user(data, PASSWORD).await.unwrap();
    let login = |from: &'static str| {
        s.http
            .post(s.url("/api/v1/session"))
            .header("X-Forwarded-For", from)
            .json(&json!({"username": "nurse", "password": PASSWORD}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(login("198.51.100.20").await.unwrap().status(), StatusCode::CREATED);
    }
    let r = login("198.51.100.20").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(is_problem(&r));
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problems/rate-limited");
    // another client behind the same proxy has its own bucket
    assert_eq!(login("198.51.100.21").await.unwrap().status(), StatusCode::CREATED);
    // a client cannot escape its bucket by writing its own X-Forwarded-For before the proxy's
    assert_eq!(login("10.9.9.9, 198.51.100.20").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // the audit trail records the forwarded client address
    let trail = s.db.store.list_audit(None, 50).await.unwrap();
    assert!(trail.items.iter().any(|e| e.entry.remote_addr.as_deref() == Some("198.51.100.21")));
    // the probes are never limited
    for _ in 0..10 {
        assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn api_requests_are_rate_limited_with_retry_after() {
    let config =
        Config { rate_limits: RateLimits { api_per_second: 1, api_burst: 5, ..RateLimits::OFF }, ..Config::default() };
    let s = start_with(config).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..20 {
        let r = s.http.get(s.url("/api/v1/patients")).send().await.unwrap();
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    // the burst passes (to authentication), then the rate of 1 per second applies
    assert!(statuses.len() >= 6 && statuses[..5] == [StatusCode::UNAUTHORIZED; 5], "{statuses:?}");
    let r = limited.expect("rate limited within 20 requests");
    assert!(is_problem(&r));
    assert_eq!(r.headers()["retry-after"], "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.http.get(s.url("/api/v1/patients")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let text = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"limbpath_http_rate_limited_total{bucket="api"} 1"#), "{text}");
}

/// `POST /api/v1/session` for `username` with [`PASSWORD`].
async fn api_login_response(s: &Server, username: &str) -> reqwest::Response {
    let body = json!({"username": username, "password": PASSWORD});
    s.http.post(s.url("/api/v1/session")).json(&body).send().await.unwrap()
}

async fn api_login(s: &Server, username: &str) -> String {
    let r = api_login_response(s, username).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// The value of `name` in the response's Set-Cookie headers.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| v.to_owned())
    })
}

/// A server with one clinician account, `surgeon`.
async fn start_with_surgeon(config: Config) -> Server {
    let s = start_with(config).await;
    let data =
        UserData { username: "surgeon".into(), display_name: "S".into(), role: Role::Clinician, patient_id: None };
    s.db.store.create_user(data, PASSWORD).await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn login_issues_a_new_session_and_never_promotes_a_planted_cookie() {
    let s = start_with_surgeon(Config::default()).await;
    let r = s.http.get(s.url("/login")).send().await.unwrap();
    let nonce = set_cookie(&r, "limbpath_login").expect("pre-login cookie");
    // an attacker planted a session cookie of their choosing before the login
    let planted = "ab".repeat(32);
    let r = web_login(&s, &format!("limbpath_login={nonce}; limbpath_session={planted}"), &nonce, "surgeon").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let issued = set_cookie(&r, "limbpath_session").expect("a session cookie is issued at login");
    assert_eq!(issued.len(), 64);
    assert_ne!(issued, planted);
    assert_ne!(issued, nonce);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    // the new token is a session; neither the planted cookie nor the pre-login nonce is
    assert_eq!(s.get(&issued, "/api/v1/patients").await.0, StatusCode::OK);
    assert_eq!(s.get(&planted, "/api/v1/patients").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get(&nonce, "/api/v1/patients").await.0, StatusCode::UNAUTHORIZED);
    // two logins, two different sessions (the API too)
    let a = api_login(&s, "surgeon").await;
    let b = api_login(&s, "surgeon").await;
    assert_ne!(a, b);
    assert_ne!(a, issued);
}

/// The whole Set-Cookie line that sets `name`.
fn set_cookie_line(r: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&prefix))
        .map(str::to_owned)
}

/// The login form posted for `username` with [`PASSWORD`] and the CSRF token of the pre-login `nonce`,
/// sending the `Cookie` header `cookies`.
async fn web_login(s: &Server, cookies: &str, nonce: &str, username: &str) -> reqwest::Response {
    let csrf = limbpath_server::web::csrf_token(nonce);
    s.http
        .post(s.url("/login"))
        .header("Cookie", cookies)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}&username={username}&password={}", PASSWORD.replace(' ', "+")))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn over_plain_http_cookies_keep_their_unprefixed_names() {
    let s = start_with_surgeon(Config::default()).await;
    let r = s.http.get(s.url("/login")).send().await.unwrap();
    let line = set_cookie_line(&r, "limbpath_login").expect("pre-login cookie");
    assert!(line.contains("; Path=/login;") && !line.contains("Secure"), "{line}");
    let nonce = set_cookie(&r, "limbpath_login").unwrap();
    let r = web_login(&s, &format!("limbpath_login={nonce}"), &nonce, "surgeon").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let line = set_cookie_line(&r, "limbpath_session").expect("session cookie");
    assert!(line.contains("; Path=/;") && !line.contains("Secure") && !line.contains("__Host-"), "{line}");
    let token = set_cookie(&r, "limbpath_session").unwrap();
    let page = |cookie: String| s.http.get(s.url("/patients")).header("Cookie", cookie).send();
    assert_eq!(page(format!("limbpath_session={token}")).await.unwrap().status(), StatusCode::OK);
    // the prefixed name is not this mode's: no session
    let r = page(format!("__Host-limbpath_session={token}")).await.unwrap();
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let doc: Value = s.http.get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["session"]["name"], "limbpath_session");
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_tls_cookies_are_host_prefixed_and_a_login_round_trips() {
    // "Behind TLS" is the operator's `secure_cookies` (which `hsts` requires), as in production behind the proxy.
    let s = start_with_surgeon(Config { secure_cookies: true, hsts: true, ..Config::default() }).await;
    let host_prefixed = |line: &str| {
        line.starts_with("__Host-")
            && line.contains("; Secure")
            && line.contains("; Path=/;")
            && line.contains("HttpOnly")
            && line.contains("SameSite=Strict")
            && !line.to_ascii_lowercase().contains("domain=")
    };

    // the login form's pre-login cookie
    let r = s.http.get(s.url("/login")).send().await.unwrap();
    assert!(set_cookie_line(&r, "limbpath_login").is_none(), "no unprefixed cookie over TLS");
    let line = set_cookie_line(&r, "__Host-limbpath_login").expect("prefixed pre-login cookie");
    assert!(host_prefixed(&line), "{line}");
    let nonce = set_cookie(&r, "__Host-limbpath_login").unwrap();

    // the same nonce under the unprefixed name is no login cookie: the form is refused
    let r = web_login(&s, &format!("limbpath_login={nonce}"), &nonce, "surgeon").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie_line(&r, "__Host-limbpath_session").is_none());

    // the web login round trip
    let r = web_login(&s, &format!("__Host-limbpath_login={nonce}"), &nonce, "surgeon").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie_line(&r, "limbpath_session").is_none());
    let line = set_cookie_line(&r, "__Host-limbpath_session").expect("prefixed session cookie");
    assert!(host_prefixed(&line) && line.contains("Max-Age=28800"), "{line}");
    let token = set_cookie(&r, "__Host-limbpath_session").unwrap();
    assert_eq!(token.len(), 64);
    let page = |path: &str, cookie: String| s.http.get(s.url(path)).header("Cookie", cookie).send();
    let r = page("/patients", format!("__Host-limbpath_session={token}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    // the unprefixed name with a valid token is not accepted over TLS (a planted cookie would be)
    let r = page("/patients", format!("limbpath_session={token}")).await.unwrap();
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let r = page("/api/v1/patients", format!("limbpath_session={token}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = page("/api/v1/patients", format!("__Host-limbpath_session={token}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // logout clears the prefixed cookie with the attributes a browser needs to accept the deletion
    let r = s
        .http
        .post(s.url("/logout"))
        .header("Cookie", format!("__Host-limbpath_session={token}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={}", limbpath_server::web::csrf_token(&token)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let line = set_cookie_line(&r, "__Host-limbpath_session").expect("cleared at logout");
    assert!(host_prefixed(&line) && line.starts_with("__Host-limbpath_session=;") && line.contains("Max-Age=0"));
    let r = page("/patients", format!("__Host-limbpath_session={token}")).await.unwrap();
    assert_eq!(r.headers()["location"], "/login?expired=1");

    // the API login sets the same cookie, which the API then accepts
    let r = api_login_response(&s, "surgeon").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let line = set_cookie_line(&r, "__Host-limbpath_session").expect("API login sets the prefixed cookie");
    assert!(host_prefixed(&line), "{line}");
    let api = set_cookie(&r, "__Host-limbpath_session").unwrap();
    let r = page("/api/v1/patients", format!("__Host-limbpath_session={api}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s.http.delete(s.url("/api/v1/session")).header("Cookie", format!("__Host-limbpath_session={api}")).send();
    let r = r.await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let line = set_cookie_line(&r, "__Host-limbpath_session").expect("cleared at API logout");
    assert!(host_prefixed(&line) && line.contains("Max-Age=0"), "{line}");
    let doc: Value = s.http.get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["session"]["name"], "__Host-limbpath_session");
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_expire_on_the_server() {
    let s = start_with(Config { session_ttl: Duration::from_secs(1), ..Config::default() }).await;
    let data =
        UserData { username: "coord".into(), display_name: "C".into(), role: Role::Coordinator, patient_id: None };
    s.db.store.create_user(data, PASSWORD).await.unwrap();
    let r = s
        .http
        .post(s.url("/api/v1/session"))
        .json(&json!({"username": "coord", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=1"));
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(s.get(&token, "/api/v1/patients").await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // the server refuses it, whatever the browser still holds
    assert_eq!(s.get(&token, "/api/v1/patients").await.0, StatusCode::UNAUTHORIZED);
    let r = s.http.get(s.url("/patients")).header("Cookie", format!("limbpath_session={token}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?expired=1");
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_browser_sessions_are_refused_but_api_tokens_are_not() {
    // the default: 30 minutes idle (ASVS 3.3.2)
    let s = start_with(Config::default()).await;
    assert_eq!(Config::default().session_idle, Some(Duration::from_secs(30 * 60)));
    let data =
        UserData { username: "coord".into(), display_name: "C".into(), role: Role::Coordinator, patient_id: None };
    let user = s.db.store.create_user(data, PASSWORD).await.unwrap();
    let kept = api_login(&s, "coord").await;
    let idle = api_login(&s, "coord").await;
    let script = s.db.store.create_api_token(&user.id, "nightly", Duration::from_secs(86400)).await.unwrap().token;
    for t in [&kept, &idle, &script] {
        assert_eq!(s.get(t, "/api/v1/patients").await.0, StatusCode::OK);
    }
    // The clock is moved by moving last use back: 29 minutes for one session, 31 for the other,
    // and a week for the API token (the hashes are the tokens' SHA-256; the store keeps no token).
    let age = |minutes: i64, kind: &str| {
        format!("UPDATE sessions SET last_seen_at_ms = last_seen_at_ms - {} WHERE kind = '{kind}'", minutes * 60_000)
    };
    crate::harness::execute_raw(&s.db.store, &age(29, "session")).await.unwrap();
    crate::harness::execute_raw(&s.db.store, &age(7 * 24 * 60, "api_token")).await.unwrap();
    assert_eq!(s.get(&kept, "/api/v1/patients").await.0, StatusCode::OK, "used within 30 minutes: kept");
    // `kept` was just used (and so moved forward); `idle` was not
    crate::harness::execute_raw(&s.db.store, &age(2, "session")).await.unwrap();
    assert_eq!(s.get(&kept, "/api/v1/patients").await.0, StatusCode::OK);
    assert_eq!(s.get(&idle, "/api/v1/patients").await.0, StatusCode::UNAUTHORIZED, "31 minutes idle");
    // the browser lands on the login page, as with an expired session, and loses the cookie
    let r = s.http.get(s.url("/patients")).header("Cookie", format!("limbpath_session={idle}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?expired=1");
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "{:?}", r.headers());
    // an integration's token is not idle-limited
    assert_eq!(s.get(&script, "/api/v1/patients").await.0, StatusCode::OK);

    // 0 minutes in the configuration is no idle limit
    let s = start_with(Config { session_idle: None, ..Config::default() }).await;
    let data =
        UserData { username: "coord".into(), display_name: "C".into(), role: Role::Coordinator, patient_id: None };
    s.db.store.create_user(data, PASSWORD).await.unwrap();
    let token = api_login(&s, "coord").await;
    crate::harness::execute_raw(&s.db.store, &age(6 * 60, "session")).await.unwrap();
    assert_eq!(s.get(&token, "/api/v1/patients").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_passwords_are_refused_where_accounts_are_created() {
    let s = start_with(Config::default()).await;
    let admin = s.user("admin", Role::Admin, None).await;
    for (username, password) in [
        ("ward.nurse", "short pass"),              // 10 characters
        ("ward.nurse", "Password1234"),            // on the common-password list
        ("ward.nurse", "hello ward.nurse friend"), // contains the username
        ("ward.nurse", "zzzzzzzzzzzzzzzz"),        // one repeated character
    ] {
        let body = json!({"username": username, "display_name": "W", "role": "clinician", "patient_id": null, "password": password});
        let (st, p) = s.post(&admin, "/api/v1/users", body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{password}: {p}");
        assert_eq!(p["field"], "password");
        assert!(!p.to_string().contains(password), "the password is not echoed: {p}");
    }
    // long, lower-case, with spaces: accepted (no composition rules)
    let body = json!({"username": "ward.nurse", "display_name": "W", "role": "clinician", "patient_id": null,
                      "password": "plain lower case words are fine"});
    assert_eq!(s.post(&admin, "/api/v1/users", body).await.0, StatusCode::CREATED);
}
