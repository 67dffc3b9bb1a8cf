//! Programme analytics over HTTP (issue 7): the aggregate endpoints, the role
//! matrix, the audit entries without a patient, and the de-identified CSV.

use super::Server;
use limbpath_record::{PatientRecord, Role};
use limbpath_store::AuditOutcome;
use reqwest::StatusCode;

async fn demo(s: &Server, n: u64) -> Vec<PatientRecord> {
    let records: Vec<PatientRecord> = limbpath_demo::cohort(20_261_121, n).collect();
    s.db.store.insert_patient_records(&records).await.unwrap();
    records
}

async fn analytics_audit(s: &Server) -> Vec<limbpath_store::StoredAuditEntry> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.db.store.list_audit(cursor.as_deref(), 100).await.unwrap();
        out.extend(page.items.into_iter().filter(|e| e.entry.entity.as_deref() == Some("analytics")));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_reads_programme_aggregates_and_each_read_is_audited() {
    let s = Server::start().await;
    let records = demo(&s, 80).await;
    let episodes: usize = records.iter().map(|r| r.episodes.len()).sum();
    let majors = records
        .iter()
        .flat_map(|r| &r.outcome_events)
        .filter(|o| o.data.kind == limbpath_record::OutcomeKind::MajorAmputation)
        .count();
    let analyst = s.user("ana", Role::Analyst, None).await;

    let (st, km) = s.get(&analyst, "/api/v1/analytics/km?outcome=limb_salvage&stratify=wifi_stage").await;
    assert_eq!(st, StatusCode::OK, "{km}");
    assert_eq!(km["episodes_read"], episodes as u64);
    assert_eq!(km["n_episodes"], episodes as u64, "from episode start nothing is excluded");
    assert_eq!(km["outcome"]["code"], "limb_salvage");
    assert!(km["outcome"]["source"].as_str().unwrap().contains("LimbPath operational definition"));
    assert!(km["definitions_version"].as_str().unwrap().starts_with("limbpath-outcomes-"));
    let curves = km["result"].as_array().unwrap();
    assert!(curves.len() >= 2, "{km}");
    let n: u64 = curves.iter().map(|c| c["n_subjects"].as_u64().unwrap()).sum();
    assert_eq!(n, episodes as u64);
    let events: u64 = curves.iter().map(|c| c["n_events"].as_u64().unwrap()).sum();
    // Each major amputation event is in one episode; an episode counts its first only.
    assert!(events > 0 && events as usize <= majors, "{events} of {majors}");
    assert!(curves[0]["at_times"].as_array().unwrap().len() == 5);

    let (st, lr) =
        s.get(&analyst, "/api/v1/analytics/logrank?outcome=amputation_free_survival&stratify=aetiology").await;
    assert_eq!(st, StatusCode::OK, "{lr}");
    assert!(lr["result"]["p_value"].as_f64().is_some());

    let (st, cif) = s.get(&analyst, "/api/v1/analytics/cif?outcome=major_amputation").await;
    assert_eq!(st, StatusCode::OK, "{cif}");
    assert_eq!(cif["result"][0]["n_events_of_interest"], events);

    let (st, cox) =
        s.get(&analyst, "/api/v1/analytics/cox?outcome=amputation_free_survival&covariates=age,diabetes").await;
    assert_eq!(st, StatusCode::OK, "{cox}");
    let names: Vec<&str> = cox["result"]["model"]["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["age (per 10 years)", "diabetes"]);

    let (st, b) = s.get(&analyst, "/api/v1/analytics/benchmark").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        b["published_rates_note"],
        "published stage-specific rates: not in the LimbPath reference pack (UNVERIFIED) — expected counts use this programme's pooled rates"
    );
    assert!(b["control_limits"].as_str().unwrap().contains("exact Poisson"));
    assert_eq!(b["stages"].as_array().unwrap().len(), 5);

    let (st, d) = s.get(&analyst, "/api/v1/analytics/definitions").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["outcomes"].as_array().unwrap().len(), 8);

    // A wrong choice names the field.
    let (st, p) = s.get(&analyst, "/api/v1/analytics/km?outcome=limb_loss").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "outcome");
    let (st, p) = s.get(&analyst, "/api/v1/analytics/cox?covariates=age,shoe_size").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "covariates");

    // Every read is audited as an aggregate read: entity analytics, no patient.
    let audit = analytics_audit(&s).await;
    let ok: Vec<_> = audit.iter().filter(|e| e.entry.outcome == AuditOutcome::Ok).collect();
    assert_eq!(ok.len(), 6, "{audit:?}");
    assert!(audit.iter().all(|e| e.entry.patient_id.is_none() && e.entry.entity_id.is_none()));
    assert!(ok.iter().any(|e| e.entry.action == "km" && e.entry.detail.contains("outcome=limb_salvage")));
    assert_eq!(audit.iter().filter(|e| e.entry.outcome == AuditOutcome::Invalid).count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_account_is_refused_and_the_refusal_audited() {
    let s = Server::start().await;
    let records = demo(&s, 3).await;
    let pid = records[0].patient.as_ref().unwrap().id.clone();
    let patient = s.user("pat", Role::Patient, Some(&pid)).await;
    for path in ["/api/v1/analytics/km", "/api/v1/analytics/cohort.csv", "/api/v1/analytics/benchmark"] {
        let (st, _) = s.get(&patient, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
    }
    let r = s.http.get(s.url("/api/v1/analytics/km")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let denied = analytics_audit(&s).await;
    assert_eq!(denied.iter().filter(|e| e.entry.outcome == AuditOutcome::Denied).count(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cohort_csv_is_de_identified() {
    let s = Server::start().await;
    let records = demo(&s, 30).await;
    let episodes: usize = records.iter().map(|r| r.episodes.len()).sum();
    let clinician = s.user("clin", Role::Clinician, None).await;
    let r = s.http.get(s.url("/api/v1/analytics/cohort.csv")).bearer_auth(&clinician).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), episodes + 1);
    assert!(lines[0].starts_with("index_year,age_years,diabetes,dialysis,wifi_stage,glass_stage,aetiology,site,"));
    for rec in &records {
        let p = &rec.patient.as_ref().unwrap();
        assert!(!body.contains(&p.data.mrn), "an MRN in the export");
        assert!(!body.contains(&p.data.family_name), "a family name in the export");
        assert!(!body.contains(&p.id), "a patient id in the export");
        assert!(!body.contains(&p.data.birth_date.to_string()), "a birth date in the export");
    }
    let audit = analytics_audit(&s).await;
    assert!(audit.iter().any(|e| e.entry.action == "export" && e.entry.detail.contains("de-identified")));
}

/// The analysis tables are read by a background task: a request that finds
/// none waits (or, with a limit, sees the read's progress); one read serves
/// both index dates; a stale table answers at once while a new read runs.
#[tokio::test(flavor = "multi_thread")]
async fn the_analysis_table_is_read_in_the_background_and_answered_stale_while_read_again() {
    use limbpath_analytics::outcomes::IndexDate;
    use limbpath_server::analytics::{Lookup, TableCache};
    use std::sync::Arc;
    use std::time::Duration;

    let s = Server::start().await;
    let first: usize = demo(&s, 40).await.iter().map(|r| r.episodes.len()).sum();
    let store = &s.db.store;

    // No table yet and no time to wait: the read has started and is reported, not awaited.
    let cache = Arc::new(TableCache::default());
    match cache.lookup(store, IndexDate::EpisodeStart, Some(Duration::ZERO)).await.unwrap() {
        Lookup::Reading(p) => assert!(p.episodes_read <= first as u64),
        Lookup::Ready(_) => panic!("a read cannot have ended before it was polled"),
    }
    assert!(cache.progress().is_some(), "one read is running");
    // Waiting without a limit gives the table; the same read gave the other index date's.
    let a = cache.get(store, IndexDate::EpisodeStart).await.unwrap();
    assert_eq!(a.table.episodes_read(), first as u64);
    let Lookup::Ready(b) = cache.lookup(store, IndexDate::IndexProcedure, Some(Duration::ZERO)).await.unwrap() else {
        panic!("both index dates come from one read");
    };
    assert_eq!((b.at_ms, b.table.episodes_read()), (a.at_ms, a.table.episodes_read()));
    assert!(cache.progress().is_none(), "a fresh table starts no read");

    // Records added later: a fresh table still answers (and is not read again) ...
    let more = limbpath_demo::cohort(20_261_121, 60).skip(40).collect::<Vec<_>>();
    let added: usize = more.iter().map(|r| r.episodes.len()).sum();
    store.insert_patient_records(&more).await.unwrap();
    let again = cache.get(store, IndexDate::EpisodeStart).await.unwrap();
    assert_eq!(again.at_ms, a.at_ms);

    // ... while a stale one answers at once and a read starts behind it.
    let stale = Arc::new(TableCache::with_ttl(Duration::from_millis(500)));
    let old = stale.get(store, IndexDate::EpisodeStart).await.unwrap();
    assert_eq!(old.table.episodes_read(), (first + added) as u64);
    store.insert_patient_records(&limbpath_demo::cohort(20_261_121, 70).skip(60).collect::<Vec<_>>()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let Lookup::Ready(answered) = stale.lookup(store, IndexDate::EpisodeStart, Some(Duration::ZERO)).await.unwrap()
    else {
        panic!("a stale table answers");
    };
    assert_eq!(answered.at_ms, old.at_ms, "the stale table, at once");
    let mut newer = answered;
    for _ in 0..200 {
        if stale.progress().is_none() {
            newer = stale.get(store, IndexDate::EpisodeStart).await.unwrap();
            if newer.table.episodes_read() > old.table.episodes_read() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        newer.table.episodes_read() > old.table.episodes_read(),
        "the read started behind the stale answer saw the records added since"
    );
}
