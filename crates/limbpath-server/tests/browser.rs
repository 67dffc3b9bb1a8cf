//! The web UI in a real browser: headless Chromium driven through
//! chromedriver (fantoccini) against the real server on a free port with a
//! fresh SQLite database. Screenshots of the key pages are saved to
//! `<target>/screenshots/`.
//!
//! These tests FAIL, never skip, when chromedriver or Chromium is missing:
//! `.ci/run` installs Debian's `chromium` and `chromium-driver`.

#[path = "../../limbpath-store/tests/suite/harness.rs"]
#[allow(dead_code)]
mod harness;

const ENGINE: harness::Engine = harness::Engine::Sqlite;

use fantoccini::{Client, ClientBuilder, Locator};
use harness::TestDb;
use limbpath_record::{Role, UserData};
use limbpath_server::{AppState, Config, router};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";

struct Server {
    db: TestDb,
    base: String,
}

async fn start_server() -> Server {
    start_server_with(Config::default()).await
}

async fn start_server_with(config: Config) -> Server {
    let db = TestDb::new().await;
    let state = Arc::new(AppState::new(db.store.clone(), config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let addr = listener.local_addr().expect("local addr");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Server { db, base: format!("http://{addr}") }
}

impl Server {
    async fn user(&self, username: &str, role: Role) {
        let data =
            UserData { username: username.into(), display_name: format!("{username} (test)"), role, patient_id: None };
        self.db.store.create_user(data, PASSWORD).await.expect("create user");
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// chromedriver on a free port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.is_file())
}

async fn browser() -> (Client, Driver) {
    let driver_bin = find_program(&["chromedriver"]).unwrap_or_else(|| {
        panic!(
            "chromedriver is required for the browser tests and was not found on PATH. \
             Install it with `apt-get install -y chromium chromium-driver` (.ci/run does); these tests fail rather than skip."
        )
    });
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
        .unwrap_or_else(|| panic!("Chromium is required for the browser tests: `apt-get install -y chromium`"));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().unwrap().port()
    };
    let child = Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_bin.display()));
    let profile = tempfile::tempdir().expect("a profile directory");
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}"), _profile: profile };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1280,1800",
                     format!("--user-data-dir={}", driver._profile.path().display())]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start headless Chromium through chromedriver: {e}"));
    (client, driver)
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("..").join("screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshots directory");
    dir
}

async fn shot(c: &Client, name: &str) {
    // Fit the window to the page so the screenshot shows all of it.
    let h = c
        .execute("return Math.min(document.documentElement.scrollHeight, 6000);", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(1800) as u32;
    let _ = c.set_window_size(1280, h.max(900)).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

async fn fill(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("no control #{id}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn set_value(c: &Client, id: &str, value: &str) {
    c.execute("document.getElementById(arguments[0]).value = arguments[1];", vec![id.into(), value.into()])
        .await
        .unwrap_or_else(|e| panic!("set #{id}: {e}"));
}

async fn select(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("no select #{id}: {e}"));
    e.select_by_value(value).await.unwrap_or_else(|e| panic!("select {value} in #{id}: {e}"));
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}")).click().await.unwrap();
}

/// Click something that loads a new page, and wait until it has loaded.
async fn navigate(c: &Client, css: &str) {
    c.execute("window.__limbpathOldPage = true;", vec![]).await.unwrap();
    click(c, css).await;
    for _ in 0..200 {
        let done = c
            .execute("return !window.__limbpathOldPage && document.readyState === 'complete';", vec![])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("clicking {css} did not load a page within 5 s");
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}")).text().await.unwrap()
}

async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    }
}

/// The browser is at `want`; otherwise fail with the form's errors.
async fn expect_path(c: &Client, want: &str) {
    let now = path(c).await;
    if now != want {
        let summary = match c.find(Locator::Css("#error-summary")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => c.source().await.unwrap_or_default(),
        };
        panic!("expected to be at {want}, at {now}: {summary}");
    }
}

async fn login(c: &Client, s: &Server, username: &str) {
    c.goto(&s.url("/login")).await.unwrap();
    fill(c, "username", username).await;
    fill(c, "password", PASSWORD).await;
    navigate(c, "form[action='/login'] button[type=submit]").await;
}

fn days_ago(n: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let day = now.div_euclid(86_400) - n;
    time::Date::from_julian_day(2_440_588 + day as i32).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_works_through_a_patient_in_a_real_browser() {
    let s = start_server().await;
    s.user("clin", Role::Clinician).await;
    s.user("coord", Role::Coordinator).await;
    let (c, _driver) = browser().await;

    // Not logged in: the login page.
    c.goto(&s.url("/patients")).await.unwrap();
    assert_eq!(path(&c).await, "/login");
    shot(&c, "01-login").await;
    login(&c, &s, "clin").await;
    assert_eq!(path(&c).await, "/patients");
    assert!(text(&c, "nav[aria-label=Main]").await.contains("New patient"));
    assert!(!text(&c, "header").await.contains("Audit trail"), "a clinician sees no admin links");

    // Create a patient.
    navigate(&c, "a[href='/patients/new']").await;
    fill(&c, "f-family_name", "Okafor").await;
    fill(&c, "f-given_name", "Grace").await;
    fill(&c, "f-mrn", "MRN-9001").await;
    fill(&c, "f-site", "St Elsewhere").await;
    set_value(&c, "f-birth_date", "1953-06-14").await;
    select(&c, "f-sex", "female").await;
    select(&c, "f-diabetes", "type_2").await;
    fill(&c, "f-hba1c_percent", "8.1").await;
    fill(&c, "f-ckd_stage", "3").await;
    select(&c, "f-smoking", "former").await;
    fill(&c, "f-bmi", "29.4").await;
    select(&c, "f-ambulatory_status", "with_aid").await;
    navigate(&c, "form.record-form button[type=submit]").await;
    let patient_path = path(&c).await;
    assert!(patient_path.starts_with("/patients/"), "{patient_path}");
    let pid = patient_path.trim_start_matches("/patients/").to_owned();
    assert!(text(&c, "h1").await.contains("Okafor, Grace"));

    // A limb and an episode.
    navigate(&c, "a[href$='/limbs/new']").await;
    select(&c, "f-side", "left").await;
    select(&c, "f-kind", "lower").await;
    navigate(&c, "form.record-form button[type=submit]").await;
    navigate(&c, "a[href$='/episodes/new']").await;
    select(&c, "f-aetiology", "clti").await;
    select(&c, "f-status", "treatment").await;
    set_value(&c, "f-opened_on", &days_ago(35)).await;
    navigate(&c, "form.record-form button[type=submit]").await;
    expect_path(&c, &patient_path).await;
    assert!(text(&c, ".episode h3").await.contains("CLTI"));

    // An assessment, marking the wound on the foot map by clicking it.
    navigate(&c, "a[href$='/assessments/new']").await;
    fill(&c, "f-pressures-brachial_left_mmhg", "138").await;
    fill(&c, "f-pressures-brachial_right_mmhg", "142").await;
    fill(&c, "f-pressures-left-dorsalis_pedis_mmhg", "74").await;
    fill(&c, "f-pressures-left-posterior_tibial_mmhg", "62").await;
    fill(&c, "f-pressures-left-toe_pressure_mmhg", "24").await;
    select(&c, "f-wound-ulcer", "deep").await;
    click(&c, "#f-infection-local_swelling_or_induration").await;
    fill(&c, "f-infection-erythema_cm", "1.5").await;
    click(&c, "#f-infection-local_warmth").await;
    fill(&c, "f-infection-sirs-temperature_c", "37.4").await;
    fill(&c, "f-infection-sirs-heart_rate_bpm", "88").await;
    select(&c, "f-arteries-anterior_tibial", "treatable").await;
    select(&c, "f-arteries-posterior_tibial", "treatable").await;
    select(&c, "f-arteries-peroneal", "patent").await;
    select(&c, "f-arteries-pedal_arch", "intact").await;
    let dorsum = c.find(Locator::Css("#map-dorsal-dorsum")).await.unwrap();
    assert!(!c.find(Locator::Id("loc-dorsum")).await.unwrap().is_selected().await.unwrap());
    dorsum.click().await.unwrap();
    assert!(
        c.find(Locator::Id("loc-dorsum")).await.unwrap().is_selected().await.unwrap(),
        "the map click ticks the box"
    );
    assert_eq!(dorsum.attr("aria-checked").await.unwrap().as_deref(), Some("true"));
    // The regions are keyboard-operable: Space on a focused region toggles it.
    let heel = c.find(Locator::Css("#map-plantar-plantar_heel")).await.unwrap();
    assert_eq!(heel.attr("tabindex").await.unwrap().as_deref(), Some("0"));
    heel.send_keys(" ").await.unwrap();
    assert!(c.find(Locator::Id("loc-plantar_heel")).await.unwrap().is_selected().await.unwrap());
    heel.send_keys("\u{E007}").await.unwrap(); // Enter toggles it back off
    assert!(!c.find(Locator::Id("loc-plantar_heel")).await.unwrap().is_selected().await.unwrap());
    shot(&c, "03-assessment-form").await;
    navigate(&c, "form.assessment-form button[type=submit]").await;
    if !path(&c).await.starts_with("/assessments/") {
        let errs = c.find(Locator::Css("#error-summary")).await.ok();
        let t = match errs {
            Some(e) => e.text().await.unwrap_or_default(),
            None => String::new(),
        };
        panic!("the assessment was not saved: {} {t}", path(&c).await);
    }
    // W2 (deep ulcer) I3 (toe pressure 24 < 30) fI1 (local signs, erythema ≤ 2 cm) → stage 4 (REFERENCES.md §1).
    assert_eq!(text(&c, "#wifi-stage").await, "Clinical stage 4");
    assert!(text(&c, ".cls-wifi h3").await.contains("W2 I3 fI1"));
    assert_eq!(text(&c, "#amputation-risk").await, "high");
    // Dorsum → dorsalis pedis angiosome → anterior tibial (REFERENCES.md §8); AT revascularisation is direct.
    assert_eq!(text(&c, "#angiosome-target").await, "anterior tibial");
    let options = text(&c, "table.options").await;
    assert!(options.contains("anterior tibial treatable direct"), "{options}");
    assert!(text(&c, ".decision-support").await.contains("Decision support — for the clinician's judgement"));
    shot(&c, "04-assessment-result").await;

    // An impossible pressure: the error at the field, the input kept, nothing stored.
    c.goto(&s.url(&patient_path)).await.unwrap();
    navigate(&c, "a[href$='/assessments/new']").await;
    fill(&c, "f-pressures-brachial_left_mmhg", "138").await;
    fill(&c, "f-pressures-left-dorsalis_pedis_mmhg", "400").await;
    navigate(&c, "form.assessment-form button[type=submit]").await;
    let error = text(&c, "#f-pressures-left-dorsalis_pedis_mmhg-error").await;
    assert!(error.contains("out of range") && error.contains("400"), "{error}");
    let kept = c.find(Locator::Id("f-pressures-left-dorsalis_pedis_mmhg")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("400"));
    assert_eq!(
        c.find(Locator::Id("f-pressures-left-dorsalis_pedis_mmhg"))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    assert!(text(&c, "#error-summary").await.contains("Nothing was saved"));
    let record = s.db.store.get_patient_record(&pid).await.unwrap();
    assert_eq!(record.assessments.len(), 1, "the invalid assessment stored nothing");
    shot(&c, "05-assessment-field-error").await;

    // A wound and two measurements four weeks apart: the chart and the checkpoint.
    c.goto(&s.url(&patient_path)).await.unwrap();
    navigate(&c, "a[href$='/wounds/new']").await;
    select(&c, "f-location", "dorsum").await;
    set_value(&c, "f-noted_on", &days_ago(30)).await;
    fill(&c, "f-description", "Dorsal ulcer over the 2nd metatarsal head").await;
    navigate(&c, "form.record-form button[type=submit]").await;
    for (ago, l, w) in [(28, "4", "3"), (0, "2.5", "2")] {
        navigate(&c, "a[href$='/measurements/new']").await;
        set_value(&c, "f-measured_on", &days_ago(ago)).await;
        fill(&c, "f-length_cm", l).await;
        fill(&c, "f-width_cm", w).await;
        navigate(&c, "form.record-form button[type=submit]").await;
        expect_path(&c, &patient_path).await;
    }
    let chart = c.find(Locator::Css(".wound svg.chart")).await.expect("the wound's chart");
    assert_eq!(chart.find_all(Locator::Css("circle")).await.unwrap().len(), 2);
    assert!(chart.html(false).await.unwrap().contains("≥50 % by day 28"));
    // 12 cm² → 5 cm² = 58.3 % by day 28: met.
    assert!(text(&c, ".measurements").await.contains("58.3 %"));
    assert!(text(&c, ".cp-status").await.contains(": met"));
    assert!(text(&c, ".timeline").await.contains("W2 I3 fI1 → WIfI stage 4"));
    shot(&c, "06-patient-page").await;

    // The printable summary.
    navigate(&c, "a[href$='/summary']").await;
    assert!(text(&c, ".summary h1").await.contains("Okafor"));
    shot(&c, "07-summary").await;

    // The patient list finds her by name prefix and by stage.
    c.goto(&s.url("/patients?q=oka&wifi_stage=4")).await.unwrap();
    assert!(text(&c, "table.list").await.contains("Okafor, Grace"));
    shot(&c, "02-patient-list").await;

    // Log out: back to the login page, and the session is gone.
    navigate(&c, "header form[action='/logout'] button").await;
    assert_eq!(path(&c).await, "/login?out=1");
    assert!(text(&c, ".notice").await.contains("logged out"));
    c.goto(&s.url(&patient_path)).await.unwrap();
    assert_eq!(path(&c).await, "/login");

    // A coordinator is refused an admin page.
    login(&c, &s, "coord").await;
    c.goto(&s.url("/admin/audit")).await.unwrap();
    assert_eq!(text(&c, "h1").await, "You do not have access to this page");
    shot(&c, "08-coordinator-refused").await;
    c.goto(&s.url("/admin/users")).await.unwrap();
    assert_eq!(text(&c, "h1").await, "You do not have access to this page");
    navigate(&c, "header form[action='/logout'] button").await;

    c.close().await.unwrap();
}

/// What a browser cannot easily show: status codes, headers, CSRF refusals,
/// expired sessions, and the audit entries.
#[tokio::test(flavor = "multi_thread")]
async fn pages_are_protected_and_audited() {
    let s = start_server().await;
    s.user("clin", Role::Clinician).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // An expired or unknown session: redirect to the login page with a message.
    let r = http.get(s.url("/patients")).header("Cookie", "limbpath_session=deadbeef").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?expired=1");
    let r = http.get(s.url("/login?expired=1")).send().await.unwrap();
    let h = r.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cookie = h["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body = r.text().await.unwrap();
    assert!(body.contains("Your session has expired"));
    assert!(!body.contains("<script>") && !body.contains("style="), "no inline scripts or styles");

    // Login without the form's CSRF token is refused; with it, it succeeds.
    let r = http
        .post(s.url("/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", &cookie)
        .body("username=clin&password=correct+horse+battery+staple")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let token = body.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = http
        .post(s.url("/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", &cookie)
        .body(format!("_csrf={token}&username=clin&password=correct+horse+battery+staple"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    // A form posted without (or with a wrong) CSRF token: 403, nothing stored.
    let before = s.db.store.count_patients().await.unwrap();
    for csrf in ["", "_csrf=0000&"] {
        let r = http
            .post(s.url("/patients/new"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", &session)
            .body(format!("{csrf}family_name=X&given_name=Y&mrn=M1&site=S&birth_date=1950-01-01&sex=male&diabetes=none&smoking=never&ambulatory_status=independent"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    assert_eq!(s.db.store.count_patients().await.unwrap(), before);
    // Logout needs the token too.
    let r = http.post(s.url("/logout")).header("Cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Pages are audited like the API: the search above and the denials are in the trail.
    let page = http.get(s.url("/patients?q=x")).header("Cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let trail = s.db.store.list_audit(None, 500).await.unwrap();
    let actions: Vec<(String, String)> = trail
        .items
        .iter()
        .map(|e| {
            let v = serde_json::to_value(e).unwrap();
            (v["action"].as_str().unwrap_or("").to_owned(), v["outcome"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert!(actions.contains(&("search".into(), "ok".into())), "{actions:?}");
    assert!(actions.contains(&("denied".into(), "denied".into())), "{actions:?}");
    assert!(actions.contains(&("login".into(), "ok".into())), "{actions:?}");

    // Static files are served from the binary with their types.
    let css = http.get(s.url("/static/app.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = http.get(s.url("/static/app.js")).send().await.unwrap();
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
}

/// The coordinator's day (issue 5): the worklist as the home page, open a
/// task, complete it, see the care-plan board update; a cancel needs a reason
/// (shown in place); the plan completes when every task is done or
/// cancelled; a referrer's form and the referrals queue.
#[tokio::test(flavor = "multi_thread")]
async fn a_coordinators_day_in_a_real_browser() {
    use limbpath_record::*;
    let s = start_server().await;
    s.user("coord", Role::Coordinator).await;
    let store = &s.db.store;
    let today = time::Date::parse(&days_ago(0), &time::format_description::well_known::Iso8601::DATE).unwrap();
    let p = store
        .create_patient(PatientData {
            mrn: "CARE-9001".into(),
            site: "St Elsewhere".into(),
            family_name: "Okafor".into(),
            given_name: "Grace".into(),
            birth_date: time::macros::date!(1953 - 06 - 14),
            sex: Sex::Female,
            diabetes: DiabetesStatus::Type2,
            hba1c_percent: Some(8.4),
            ckd_stage: None,
            dialysis: false,
            smoking: SmokingStatus::Current,
            bmi: None,
            ambulatory_status: AmbulatoryStatus::Independent,
        })
        .await
        .unwrap();
    let l = store
        .create_limb(LimbData {
            patient_id: p.id.clone(),
            side: Side::Left,
            kind: LimbKind::Lower,
            amputation_level: None,
        })
        .await
        .unwrap();
    let e = store
        .create_episode(EpisodeData {
            limb_id: l.id.clone(),
            aetiology: Aetiology::Clti,
            status: EpisodeStatus::Treatment,
            opened_on: today,
            closed_on: None,
            summary: String::new(),
        })
        .await
        .unwrap();
    let rules = limbpath_server::care::rules();
    let (ruleset, settings) = (rules.ruleset(), rules.settings());
    let run = store.run_care_plan(&e.id, ruleset, settings, today).await.unwrap();
    let n = run.created.len();
    assert_eq!(n, 2, "HbA1c above target and a current smoker: {:?}", run.created);

    let (c, _driver) = browser().await;
    login(&c, &s, "coord").await;
    assert_eq!(path(&c).await, "/worklist", "a coordinator lands on the worklist");
    assert_eq!(c.find_all(Locator::Css("#worklist tbody tr")).await.unwrap().len(), n);
    assert!(text(&c, "#worklist").await.contains("Okafor, Grace"));
    shot(&c, "20-coordinator-worklist").await;

    // Open a task and complete it: the board shows it completed.
    navigate(&c, "#worklist a.task-link").await;
    assert!(path(&c).await.starts_with("/care-tasks/"));
    assert!(text(&c, "main").await.to_lowercase().contains("source"), "the task says why, with its source");
    shot(&c, "21-care-task").await;
    navigate(&c, "#complete-task").await;
    expect_path(&c, &format!("/episodes/{}/care-plan", e.id)).await;
    let progress = text(&c, "#plan-progress").await;
    assert!(progress.contains("1 open, 0 assigned, 1 completed"), "{progress}");
    assert!(text(&c, "#column-completed").await.contains("done"));
    shot(&c, "22-care-plan-after-completion").await;

    // Cancel the other: without a reason the form says so in place; with one it is cancelled.
    navigate(&c, "#column-open a").await;
    navigate(&c, "#cancel-form button[type=submit]").await;
    assert!(text(&c, "#reason-error").await.contains("reason"), "the missing reason is named");
    shot(&c, "23-cancel-needs-a-reason").await;
    fill(&c, "reason", "Patient declined cessation support today").await;
    navigate(&c, "#cancel-form button[type=submit]").await;
    expect_path(&c, &format!("/episodes/{}/care-plan", e.id)).await;
    let progress = text(&c, "#plan-progress").await;
    assert!(progress.contains("Plan complete"), "{progress}");
    assert_eq!(
        c.find(Locator::Id("plan-progress")).await.unwrap().attr("data-complete").await.unwrap().as_deref(),
        Some("true")
    );
    shot(&c, "24-care-plan-complete").await;
    c.goto(&s.url("/worklist")).await.unwrap();
    assert!(text(&c, "#worklist-empty").await.contains("No open tasks"));

    // A referrer's form (their token in the address), then the coordinator's queue.
    let (_, token) = store.create_referrer("Dr Mbeki", "District Hospital", 4_102_444_800_000).await.unwrap();
    navigate(&c, "header form[action='/logout'] button").await;
    c.goto(&s.url(&format!("/refer/{token}"))).await.unwrap();
    fill(&c, "patient_reference", "TM-14").await;
    select(&c, "wound_grade", "3").await;
    select(&c, "ischaemia_grade", "2").await;
    select(&c, "infection_grade", "2").await;
    select(&c, "wet_gangrene", "yes").await;
    fill(&c, "summary", "Told she needs an above-knee amputation").await;
    navigate(&c, "form[action^='/refer/'] button[type=submit]").await;
    assert!(text(&c, "main").await.contains("emergency"), "wet gangrene is triaged as an emergency");
    shot(&c, "25-referrer-form").await;
    login(&c, &s, "coord").await;
    c.goto(&s.url("/referrals")).await.unwrap();
    assert!(text(&c, "main").await.contains("TM-14"));
    shot(&c, "26-referrals-queue").await;

    c.close().await.unwrap();
}

/// The care pages over plain HTTP: the coordinator's home, CSRF and stale
/// versions on task forms, roles, and the referrer's form.
#[tokio::test(flavor = "multi_thread")]
async fn care_pages_check_roles_csrf_and_versions() {
    use limbpath_record::*;
    let s = start_server().await;
    let store = &s.db.store;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let session = |role: Role, name: &'static str| async move {
        let u = store
            .create_user(
                UserData { username: name.into(), display_name: name.into(), role, patient_id: None },
                PASSWORD,
            )
            .await
            .unwrap();
        let t = store.create_session(&u.id, Duration::from_secs(3600)).await.unwrap().token;
        (format!("limbpath_session={t}"), limbpath_server::web::csrf_token(&t))
    };
    let (coord, coord_csrf) = session(Role::Coordinator, "coord").await;
    let (clin, _) = session(Role::Clinician, "clin").await;
    let (analyst, _) = session(Role::Analyst, "analyst").await;
    let get = |path: &str, cookie: &str| http.get(s.url(path)).header("Cookie", cookie).send();
    let r = get("/", &coord).await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/worklist"));
    let r = get("/", &clin).await.unwrap();
    assert_eq!(r.headers()["location"], "/patients");
    assert_eq!(get("/worklist", &analyst).await.unwrap().status(), 403);
    assert_eq!(get("/referrals", &analyst).await.unwrap().status(), 403);

    let p = store
        .create_patient(PatientData {
            mrn: "W-1".into(),
            site: "S".into(),
            family_name: "Web".into(),
            given_name: "Care".into(),
            birth_date: time::macros::date!(1950 - 01 - 01),
            sex: Sex::Male,
            diabetes: DiabetesStatus::Type2,
            hba1c_percent: Some(9.0),
            ckd_stage: None,
            dialysis: false,
            smoking: SmokingStatus::Current,
            bmi: None,
            ambulatory_status: AmbulatoryStatus::Independent,
        })
        .await
        .unwrap();
    let l = store
        .create_limb(LimbData {
            patient_id: p.id.clone(),
            side: Side::Right,
            kind: LimbKind::Lower,
            amputation_level: None,
        })
        .await
        .unwrap();
    let today = time::Date::parse(&days_ago(0), &time::format_description::well_known::Iso8601::DATE).unwrap();
    let e = store
        .create_episode(EpisodeData {
            limb_id: l.id,
            aetiology: Aetiology::Clti,
            status: EpisodeStatus::Evaluation,
            opened_on: today,
            closed_on: None,
            summary: String::new(),
        })
        .await
        .unwrap();
    let rules = limbpath_server::care::rules();
    let (ruleset, settings) = (rules.ruleset(), rules.settings());
    let tasks = store.run_care_plan(&e.id, ruleset, settings, today).await.unwrap().created;
    let (a, b) = (&tasks[0], &tasks[1]);
    assert_eq!(get(&format!("/episodes/{}/care-plan", e.id), &analyst).await.unwrap().status(), 403);
    assert_eq!(get(&format!("/episodes/{}/care-plan", e.id), &coord).await.unwrap().status(), 200);

    let post = |path: String, body: String| {
        http.post(s.url(&path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", &coord)
            .body(body)
            .send()
    };
    // No CSRF token: refused, nothing changes.
    let r = post(format!("/care-tasks/{}/complete", a.id), "version=1".into()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(store.get_care_task(&a.id).await.unwrap().record.data.status, limbpath_pathway::TaskStatus::Open);
    // With it: assigned to the coordinator and completed, back to the board.
    let r = post(format!("/care-tasks/{}/complete", a.id), format!("_csrf={coord_csrf}&version=1")).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, format!("/episodes/{}/care-plan", e.id).as_str())
    );
    let done = store.get_care_task(&a.id).await.unwrap().record;
    assert!(
        matches!(&done.data.status, limbpath_pathway::TaskStatus::Completed { assignee, .. } if assignee == "coord"),
        "{:?}",
        done.data.status
    );
    // A stale version: 412, the task is shown as it is now, nothing changes.
    let r = post(format!("/care-tasks/{}/cancel", b.id), format!("_csrf={coord_csrf}&version=9&reason=duplicate"))
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    assert!(r.text().await.unwrap().contains("Someone changed this task"));
    assert_eq!(store.get_care_task(&b.id).await.unwrap().record.version, 1);

    // The referrer's form: an unknown token is 401; the form's token is required; a submission is triaged.
    assert_eq!(http.get(s.url(&format!("/refer/{}", "ab".repeat(32)))).send().await.unwrap().status(), 401);
    let (_, token) = store.create_referrer("Dr R", "Elsewhere", 4_102_444_800_000).await.unwrap();
    assert_eq!(http.get(s.url(&format!("/refer/{token}"))).send().await.unwrap().status(), 200);
    let form = "patient_reference=AB&summary=Advised+amputation&wound_grade=2&ischaemia_grade=1&infection_grade=3&wet_gangrene=no";
    let refer = |body: String| {
        http.post(s.url(&format!("/refer/{token}")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    assert_eq!(refer(form.to_owned()).await.unwrap().status(), 403);
    assert!(store.list_referrals(None, None, 10).await.unwrap().items.is_empty());
    let csrf = limbpath_server::web::csrf_token(&token);
    assert_eq!(refer(format!("_csrf={csrf}&{form}")).await.unwrap().status(), 303);
    let stored = store.list_referrals(None, None, 10).await.unwrap().items;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].urgency, limbpath_pathway::Priority::Emergency, "fI3 → emergency");
    // A missing summary is named in place.
    let r = refer(format!("_csrf={csrf}&patient_reference=AB&summary=")).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"summary-error\""));
}
/// A screenshot at a phone's size (390 × 844 CSS px), the full page tall.
async fn phone_shot(c: &Client, name: &str) {
    let h = c
        .execute("return Math.min(document.documentElement.scrollHeight, 6000);", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(844) as u32;
    let _ = c.set_window_size(390, h.max(844)).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
    let _ = c.set_window_size(390, 844).await;
}

/// A patient with an osseointegrated implant and their own account; returns the patient id.
async fn oi_patient(s: &Server) -> String {
    use limbpath_record::*;
    let st = &s.db.store;
    let p: PatientData = serde_json::from_value(serde_json::json!({
        "mrn": "OI-1", "site": "North", "family_name": "Osei", "given_name": "Ama", "birth_date": "1970-05-02",
        "sex": "female", "diabetes": "none", "hba1c_percent": null, "ckd_stage": null, "dialysis": false,
        "smoking": "never", "bmi": 24.0, "ambulatory_status": "independent"}))
    .unwrap();
    let p = st.create_patient(p).await.unwrap();
    let l: LimbData = serde_json::from_value(
        serde_json::json!({"patient_id": p.id, "side": "left", "kind": "lower", "amputation_level": "transfemoral"}),
    )
    .unwrap();
    let l = st.create_limb(l).await.unwrap();
    let e: EpisodeData = serde_json::from_value(serde_json::json!({"limb_id": l.id, "aetiology": "trauma", "status": "follow_up", "opened_on": "2025-01-10", "closed_on": null})).unwrap();
    let e = st.create_episode(e).await.unwrap();
    let pr: ProcedureData = serde_json::from_value(serde_json::json!({"episode_id": e.id, "performed_on": "2025-01-20", "kind": "osseointegration_implant_standard", "amputation_level": null, "target_arteries": [], "angiosome_route": null})).unwrap();
    st.create_procedure(pr).await.unwrap();
    let data = UserData {
        username: "ama".into(),
        display_name: "Ama Osei".into(),
        role: Role::Patient,
        patient_id: Some(p.id.clone()),
    };
    st.create_user(data, PASSWORD).await.unwrap();
    // An osseointegration plan from three days ago (the test programme's rates, not from the reference pack).
    let input = serde_json::json!({"surgery_date": days_ago(3), "body_weight_kg": 80.0, "amputation_level": "transfemoral",
        "bone": {"dexa_t_score": null, "clinician_category": "normal"}, "clinician_kg_per_day": null,
        "phase_one_start_day": null, "gait_training_started_on": null, "final_prosthesis_fitted_on": null, "through_day": null});
    let settings = serde_json::json!({"rehab": {"version": "test-1", "loading_rates": {"normal_kg_per_day": 5.0,
        "osteopenia_kg_per_day": 2.5, "osteoporosis_kg_per_day": 1.0}, "t_score_bands": null},
        "loading_log": {"version": "default", "over_target_tolerance_kg": 0.0, "under_target_tolerance_kg": 0.0,
        "pain_nrs_flag_at_or_above": null, "deviation_level": "contact_team_today"}});
    st.create_plan(&p.id, limbpath_store::PlanProtocol::OiRehab, &input, &settings, "test", 0).await.unwrap();
    p.id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_checks_in_on_a_phone_and_the_care_team_acknowledges_the_alert() {
    let s = start_server().await;
    s.user("clin", Role::Clinician).await;
    let pid = oi_patient(&s).await;
    let (c, _driver) = browser().await;
    // The care team writes the programme's instructions for osseointegration patients.
    login(&c, &s, "clin").await;
    c.goto(&s.url("/programme/instructions")).await.unwrap();
    fill(&c, "ins-oi_rehab", "Wash the skin around the implant daily with water.").await;
    navigate(&c, "form:has(#ins-oi_rehab) button[type=submit]").await;
    expect_path(&c, "/programme/instructions?saved=oi_rehab").await;
    navigate(&c, "header form[action='/logout'] button").await;

    c.set_window_size(390, 844).await.unwrap();

    // The patient, on a phone: their own check-in page, no horizontal scrolling.
    login(&c, &s, "ama").await;
    c.goto(&s.url("/check-in")).await.unwrap();
    assert_eq!(path(&c).await, "/check-in");
    assert!(text(&c, "#instructions").await.contains("Wash the skin around the implant"));
    let appointments = text(&c, "#appointments").await;
    assert!(appointments.contains("your team confirms the exact day and time"), "{appointments}");
    assert!(
        appointments.contains("Remove skin sutures partially") && appointments.contains("Missed"),
        "{appointments}"
    );
    let width = c.execute("return document.documentElement.scrollWidth;", vec![]).await.unwrap().as_u64().unwrap();
    assert!(width <= 390, "the page fits a 390 px screen (scroll width {width})");
    let tile_h = c
        .execute("return document.querySelector('label.tile').getBoundingClientRect().height;", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(tile_h >= 44.0, "touch targets at least 44 px tall ({tile_h})");
    phone_shot(&c, "visits-1-patient-check-in-phone").await;

    // Day 3 of the plan: 15 kg (5 kg on day 1, +5 kg/day); the patient logs a session.
    let plan = text(&c, "#my-plan").await;
    assert!(plan.contains("Today (day 3): load 15 kg, 2 sessions of 20 minutes"), "{plan}");
    fill(&c, "load-kg", "15").await;
    fill(&c, "load-pain", "2").await;
    navigate(&c, "form.log-form button[type=submit]").await;
    let logged = text(&c, "#log-result").await;
    assert!(logged.contains("Logged 15 kg on"), "{logged}");

    // 39 °C and chills: told at once to contact the team now.
    fill(&c, "q-temperature_c", "39").await;
    click(&c, "label[for='q-chills-yes']").await;
    click(&c, "label[for='q-reduced_mobility-no']").await;
    navigate(&c, "form.check-in button[type=submit]").await;
    let result = text(&c, "#check-in-result").await;
    assert!(result.contains("Urgent — contact the team now"), "{result}");
    assert!(result.contains("Contact the osseointegration team immediately"), "{result}");
    assert!(result.contains("a temperature of 39 °C"), "{result}");
    phone_shot(&c, "visits-2-patient-check-in-result-phone").await;

    // Another patient's page is not the patient's to see.
    c.goto(&s.url("/alerts")).await.unwrap();
    assert!(text(&c, "main").await.contains("not the team's worklist"));
    navigate(&c, "header form[action='/logout'] button").await;

    // The care team: the alert on the worklist, acknowledged with the form (CSRF).
    c.set_window_size(1280, 900).await.unwrap();
    login(&c, &s, "clin").await;
    c.goto(&s.url("/alerts")).await.unwrap();
    let table = text(&c, "table.alerts").await;
    assert!(table.contains("Osei, Ama"), "{table}");
    assert!(table.contains("Urgent — contact the team now"), "{table}");
    assert!(table.contains("Awaiting acknowledgement"), "{table}");
    // 39 °C and chills are two red flags (§12.8): two alerts, each to acknowledge.
    const ACKNOWLEDGE: &str = "table.alerts tr.level-urgent form[action$='/acknowledge']";
    const CLOSE: &str = "table.alerts tr.level-urgent form.close-alert";
    let forms = c.find_all(Locator::Css(ACKNOWLEDGE)).await.unwrap().len();
    assert_eq!(forms, 2);
    assert_eq!(c.find_all(Locator::Css(CLOSE)).await.unwrap().len(), 0, "nothing to close before acknowledgement");
    shot(&c, "visits-3-care-team-alerts").await;
    navigate(&c, &format!("{ACKNOWLEDGE} button[type=submit]")).await;
    expect_path(&c, "/alerts?acknowledged=1").await;
    let table = text(&c, "table.alerts").await;
    assert!(table.contains("Acknowledged"), "{table}");
    let left = c.find_all(Locator::Css(ACKNOWLEDGE)).await.unwrap().len();
    assert_eq!(left, 1, "one acknowledged, one left");
    shot(&c, "visits-4-care-team-alert-acknowledged").await;

    // The acknowledged alert is closed with a resolution note; the other stays open.
    let note = c.find(Locator::Css(&format!("{CLOSE} textarea[name=note]"))).await.unwrap();
    note.send_keys("Phoned: afebrile on paracetamol, wound review tomorrow").await.unwrap();
    navigate(&c, &format!("{CLOSE} button[type=submit]")).await;
    expect_path(&c, "/alerts?closed=1").await;
    assert!(text(&c, "p.notice").await.contains("Alert closed."));
    assert_eq!(c.find_all(Locator::Css(CLOSE)).await.unwrap().len(), 0, "the closed alert leaves the open list");
    assert_eq!(c.find_all(Locator::Css(ACKNOWLEDGE)).await.unwrap().len(), 1, "the other still awaits");

    // The patient page's header shows the flags.
    c.goto(&s.url(&format!("/patients/{pid}"))).await.unwrap();
    let flags = text(&c, ".patient-flags").await;
    assert!(flags.contains("Osseointegrated implant"), "{flags}");
    assert!(flags.contains("Open urgent alert"), "{flags}");
    shot(&c, "visits-5-patient-page-flags").await;
    c.close().await.unwrap();
}

/// Issue 7: the programme outcomes dashboard on a small demo cohort: the
/// charts are server-rendered SVG, the choices re-render them, and an analyst
/// lands on it while a patient account is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_outcomes_dashboard_shows_its_charts() {
    // The dashboard does not wait for the cohort's first read: it shows the
    // read's progress and the browser looks again by itself (`Refresh`).
    let s = start_server_with(Config { dashboard_first_read_wait: Duration::ZERO, ..Config::default() }).await;
    let records: Vec<limbpath_record::PatientRecord> = limbpath_demo::cohort(20_261_121, 150).collect();
    s.db.store.insert_patient_records(&records).await.unwrap();
    s.user("analyst", Role::Analyst).await;
    let (c, _driver) = browser().await;
    login(&c, &s, "analyst").await;
    expect_path(&c, "/analytics").await;
    assert_eq!(text(&c, "h1").await, "Programme outcomes");
    let status = text(&c, "[role=status]").await;
    assert!(status.contains("The analysis table is being read from the database"), "{status}");
    shot(&c, "analytics-reading").await;
    // Within the 5-second refresh (and some slack) the charts replace the progress note.
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#km svg.outcome-chart"))
        .await
        .expect("the page refreshed itself into the dashboard");
    for css in [
        "#km svg.outcome-chart polyline.curve",
        "#km svg.outcome-chart polygon.ci-band",
        "#km table.at-risk",
        "#cif svg.outcome-chart polyline.curve",
        "#cox svg.forest-plot rect",
        "#benchmark svg.funnel-plot circle.site",
    ] {
        c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css} is not on the dashboard: {e}"));
    }
    let stages = c.find_all(Locator::Css("#km svg.outcome-chart polyline.curve")).await.unwrap();
    assert!(stages.len() >= 3, "one curve per WIfI stage, {} found", stages.len());
    assert!(text(&c, "#benchmark").await.contains("not in the LimbPath reference pack (UNVERIFIED)"));
    shot(&c, "analytics-dashboard").await;

    // Another outcome and stratum, through the form.
    select(&c, "outcome", "limb_salvage").await;
    select(&c, "stratify", "site").await;
    navigate(&c, "form.analytics-form button[type=submit]").await;
    assert!(path(&c).await.contains("outcome=limb_salvage"));
    assert!(text(&c, "#km h2").await.starts_with("Limb salvage"), "{}", text(&c, "#km h2").await);
    c.find(Locator::Css("#km svg.outcome-chart polyline.curve")).await.expect("a curve per site");

    // A patient account may not see programme aggregates.
    let pid = records[0].patient.as_ref().unwrap().id.clone();
    let data = UserData {
        username: "pat".into(),
        display_name: "Pat (test)".into(),
        role: Role::Patient,
        patient_id: Some(pid),
    };
    s.db.store.create_user(data, PASSWORD).await.unwrap();
    c.delete_all_cookies().await.unwrap();
    login(&c, &s, "pat").await;
    c.goto(&s.url("/analytics")).await.unwrap();
    assert_eq!(text(&c, "h1").await, "You do not have access to this page");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_changes_their_own_password_in_a_real_browser() {
    const NEW_PASSWORD: &str = "violet lantern over the harbour";
    let s = start_server().await;
    s.user("coord", Role::Coordinator).await;
    let (c, _driver) = browser().await;
    login(&c, &s, "coord").await;
    expect_path(&c, "/worklist").await;

    // From the header link, next to "Log out".
    navigate(&c, "header .who a[href='/account/password']").await;
    expect_path(&c, "/account/password").await;
    assert_eq!(text(&c, "h1").await, "Change password");
    for (id, autocomplete) in [
        ("f-current_password", "current-password"),
        ("f-new_password", "new-password"),
        ("f-new_password_repeat", "new-password"),
    ] {
        let control = c.find(Locator::Id(id)).await.unwrap();
        assert_eq!(control.attr("type").await.unwrap().as_deref(), Some("password"), "{id}");
        assert_eq!(control.attr("autocomplete").await.unwrap().as_deref(), Some(autocomplete), "{id}");
        let label = c.find(Locator::Css(&format!("label[for='{id}']"))).await;
        assert!(label.is_ok(), "#{id} has a label");
    }

    // A mistyped repeat: the error is at the repeat control, nothing typed comes back.
    fill(&c, "f-current_password", PASSWORD).await;
    fill(&c, "f-new_password", NEW_PASSWORD).await;
    fill(&c, "f-new_password_repeat", "violet lantern over the harbor").await;
    navigate(&c, "form[action='/account/password'] button[type=submit]").await;
    expect_path(&c, "/account/password").await;
    let error = text(&c, "#field-new_password_repeat .error").await;
    assert!(error.contains("not the same as the new password"), "{error}");
    assert!(text(&c, "#error-summary").await.contains("not the same"));
    assert_eq!(
        c.find(Locator::Id("f-new_password_repeat")).await.unwrap().attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    for id in ["f-current_password", "f-new_password", "f-new_password_repeat"] {
        let value = c.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap();
        assert_eq!(value.as_deref(), Some(""), "#{id} is empty again");
    }
    shot(&c, "change-password").await;

    // A wrong current password: the error is at that control.
    fill(&c, "f-current_password", "not my password at all").await;
    fill(&c, "f-new_password", NEW_PASSWORD).await;
    fill(&c, "f-new_password_repeat", NEW_PASSWORD).await;
    navigate(&c, "form[action='/account/password'] button[type=submit]").await;
    expect_path(&c, "/account/password").await;
    let error = text(&c, "#field-current_password .error").await;
    assert!(error.contains("not your current password"), "{error}");

    // Correctly: every session ends, so the login page says why.
    fill(&c, "f-current_password", PASSWORD).await;
    fill(&c, "f-new_password", NEW_PASSWORD).await;
    fill(&c, "f-new_password_repeat", NEW_PASSWORD).await;
    navigate(&c, "form[action='/account/password'] button[type=submit]").await;
    expect_path(&c, "/login?password_changed=1").await;
    let notice = text(&c, "p.notice").await;
    assert!(notice.contains("Your password has been changed"), "{notice}");
    c.goto(&s.url("/worklist")).await.unwrap();
    assert!(path(&c).await.starts_with("/login"), "the old session has ended");

    // The old password no longer logs in; the new one does.
    login(&c, &s, "coord").await;
    assert!(text(&c, "p.error").await.contains("wrong password"));
    fill(&c, "username", "coord").await;
    fill(&c, "password", NEW_PASSWORD).await;
    navigate(&c, "form[action='/login'] button[type=submit]").await;
    expect_path(&c, "/worklist").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_edits_a_patient_in_a_real_browser() {
    let s = start_server().await;
    s.user("clin", Role::Clinician).await;
    // As an EHR import leaves them: nobody has said how the patient walks.
    let stored =
        s.db.store
            .create_patient(limbpath_record::PatientData {
                mrn: "MRN-7301".into(),
                site: "St Elsewhere".into(),
                family_name: "Mbeki".into(),
                given_name: "Thandi".into(),
                birth_date: time::macros::date!(1949 - 11 - 02),
                sex: limbpath_record::Sex::Female,
                diabetes: limbpath_record::DiabetesStatus::Type2,
                hba1c_percent: Some(7.9),
                ckd_stage: Some(3),
                dialysis: false,
                smoking: limbpath_record::SmokingStatus::Former,
                bmi: Some(27.5),
                ambulatory_status: limbpath_record::AmbulatoryStatus::NotRecorded,
            })
            .await
            .unwrap();
    let pid = stored.id.clone();
    let (patient_path, edit_path) = (format!("/patients/{pid}"), format!("/patients/{pid}/edit"));
    let (c, _driver) = browser().await;
    login(&c, &s, "clin").await;

    // "To complete" leads to the form; so does the header's "Edit patient".
    c.goto(&s.url(&patient_path)).await.unwrap();
    assert!(text(&c, ".patient-head .to-complete").await.contains("to complete"));
    navigate(&c, ".patient-head .to-complete a").await;
    expect_path(&c, &edit_path).await;
    c.goto(&s.url(&patient_path)).await.unwrap();
    navigate(&c, ".patient-head a.button[href$='/edit']").await;
    expect_path(&c, &edit_path).await;
    let value = |id: &'static str| {
        let c = c.clone();
        async move { c.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap().unwrap_or_default() }
    };
    assert_eq!(value("f-hba1c_percent").await, "7.9", "the form shows what is stored");
    assert_eq!(value("f-family_name").await, "Mbeki");
    assert_eq!(value("f-ambulatory_status").await, "not_recorded", "kept until corrected");

    // An HbA1c no assay reports: the error at that field, nothing changed.
    fill(&c, "f-hba1c_percent", "42").await;
    select(&c, "f-ambulatory_status", "with_aid").await;
    navigate(&c, "form.record-form button[type=submit]").await;
    let error = text(&c, "#f-hba1c_percent-error").await;
    assert!(error.contains("HbA1c") && error.contains("42") && error.contains("out of range"), "{error}");
    assert!(text(&c, "#error-summary").await.contains("Nothing was saved"));
    assert_eq!(value("f-hba1c_percent").await, "42", "the input is kept to correct");
    shot(&c, "patient-edit").await;
    let now = s.db.store.get_patient(&pid).await.unwrap();
    assert_eq!(
        (now.version, now.data.hba1c_percent, now.data.ambulatory_status.code()),
        (1, Some(7.9), "not_recorded")
    );

    // Corrected, with a real ambulatory status: saved, and the patient page shows it.
    fill(&c, "f-hba1c_percent", "8.4").await;
    assert_eq!(value("f-ambulatory_status").await, "with_aid", "the choice was kept");
    navigate(&c, "form.record-form button[type=submit]").await;
    expect_path(&c, &patient_path).await;
    let head = text(&c, ".patient-head").await;
    assert!(head.contains("with aid") && head.contains("8.4 %") && !head.contains("to complete"), "{head}");

    // Someone else saves while the form is open: the save is refused, theirs kept and shown.
    navigate(&c, ".patient-head a.button[href$='/edit']").await;
    let mut theirs = s.db.store.get_patient(&pid).await.unwrap();
    theirs.data.bmi = Some(31.0);
    s.db.store.update_patient(&pid, theirs.version, theirs.data).await.unwrap();
    fill(&c, "f-bmi", "22").await;
    navigate(&c, "form.record-form button[type=submit]").await;
    let notice = text(&c, "#changed-meanwhile").await;
    assert!(notice.contains("changed by someone else since you opened the form"), "{notice}");
    assert_eq!(value("f-bmi").await, "31.0", "the current value is shown");
    shot(&c, "patient-edit-conflict").await;
    assert_eq!(s.db.store.get_patient(&pid).await.unwrap().data.bmi, Some(31.0), "nothing overwritten");
}
