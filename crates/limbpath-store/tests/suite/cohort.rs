//! The analysis cohort (issue 7): streamed in pages, equal to what the
//! records say, on both engines.

use super::fixtures::*;
use super::harness::TestDb;
use limbpath_analytics::outcomes::{DatedOutcome, DatedProcedure, EpisodeHistory};
use limbpath_analytics::programme::CohortEpisode;
use limbpath_record::*;
use std::collections::BTreeMap;
use time::macros::date;

#[tokio::test]
async fn an_episode_reads_back_with_its_dated_history() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("MRN-C1", "Cohort", "Ann")).await.unwrap();
    let l = s.create_limb(limb(&p.id)).await.unwrap();
    let e = s.create_episode(episode(&l.id, EpisodeStatus::Treatment)).await.unwrap();
    s.create_assessment(assessment(&e.id, date!(2025 - 01 - 12), 3)).await.unwrap();
    s.create_imaging_study(imaging_study(&e.id)).await.unwrap();
    s.create_procedure(procedure(&e.id)).await.unwrap();
    s.create_outcome_event(OutcomeEventData {
        occurred_on: date!(2025 - 04 - 01),
        kind: OutcomeKind::MajorAmputation,
        amputation_level: Some(AmputationLevel::Transtibial),
        ..outcome_event(&e.id)
    })
    .await
    .unwrap();
    let w = s.create_wound(wound(&e.id)).await.unwrap();
    s.create_wound_measurement(measurement(&w.id, date!(2025 - 05 - 10), 2.0, 1.0, None)).await.unwrap();
    // another patient, whose death is recorded
    let p2 = s.create_patient(PatientData { dialysis: true, ckd_stage: Some(5), ..patient("MRN-C2", "Cohort", "Bo") });
    let p2 = p2.await.unwrap();
    let l2 = s.create_limb(limb(&p2.id)).await.unwrap();
    let e2 = s.create_episode(episode(&l2.id, EpisodeStatus::Closed)).await.unwrap();
    s.create_outcome_event(OutcomeEventData {
        occurred_on: date!(2025 - 02 - 01),
        kind: OutcomeKind::Death,
        amputation_level: None,
        ..outcome_event(&e2.id)
    })
    .await
    .unwrap();

    let page = s.analysis_cohort_page(None, 10).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next_cursor, None);
    let by_site_dialysis: BTreeMap<bool, &CohortEpisode> = page.items.iter().map(|c| (c.dialysis, c)).collect();
    let a = by_site_dialysis[&false];
    assert_eq!(a.site, "St Elsewhere");
    assert!(a.diabetes);
    assert_eq!(a.birth_date, date!(1950 - 03 - 14));
    assert_eq!(a.aetiology, Aetiology::Clti);
    let h = &a.history;
    assert_eq!(h.opened_on, date!(2025 - 01 - 10));
    assert_eq!(h.last_entry_on, date!(2025 - 05 - 10), "the wound measurement is the last entry");
    assert_eq!(h.wifi_stages, vec![(date!(2025 - 01 - 12), 3)]);
    assert_eq!(h.glass_stages, vec![(date!(2025 - 01 - 13), 2)], "fp 2, ip 1 is GLASS II");
    assert_eq!(h.procedures.len(), 1);
    assert_eq!(h.procedures[0].kind, ProcedureKind::Pta);
    assert_eq!(h.outcomes[0].kind, OutcomeKind::MajorAmputation);
    assert_eq!(h.patient_death_on, None);
    let b = by_site_dialysis[&true];
    assert_eq!(b.history.patient_death_on, Some(date!(2025 - 02 - 01)));
    assert_eq!(b.history.last_entry_on, date!(2025 - 06 - 30), "the closing date");
    // page by page gives the same episodes
    let first = s.analysis_cohort_page(None, 1).await.unwrap();
    assert!(first.next_cursor.is_some());
    let second = s.analysis_cohort_page(first.next_cursor.as_deref(), 1).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_ne!(first.items[0], second.items[0]);
    let third = s.analysis_cohort_page(second.next_cursor.as_deref(), 1).await.unwrap();
    assert!(third.items.is_empty() && third.next_cursor.is_none());
}

/// What the cohort must hold for one episode, computed from the record in memory.
fn expected(r: &PatientRecord, episode: &Stored<EpisodeData>) -> CohortEpisode {
    let p = &r.patient.as_ref().unwrap().data;
    let id = &episode.id;
    let mut h = EpisodeHistory {
        opened_on: episode.data.opened_on,
        last_entry_on: episode.data.closed_on.unwrap_or(episode.data.opened_on).max(episode.data.opened_on),
        patient_death_on: r
            .outcome_events
            .iter()
            .filter(|o| o.data.kind == OutcomeKind::Death)
            .map(|o| o.data.occurred_on)
            .min(),
        procedures: Vec::new(),
        outcomes: Vec::new(),
        wifi_stages: Vec::new(),
        glass_stages: Vec::new(),
    };
    let mut see = |d: Date| h.last_entry_on = h.last_entry_on.max(d);
    for o in r.outcome_events.iter().filter(|o| &o.data.episode_id == id) {
        see(o.data.occurred_on);
    }
    for x in r.procedures.iter().filter(|x| &x.data.episode_id == id) {
        see(x.data.performed_on);
    }
    for a in r.assessments.iter().filter(|a| &a.stored.data.episode_id == id) {
        see(a.stored.data.assessed_on);
    }
    for i in r.imaging_studies.iter().filter(|i| &i.data.episode_id == id) {
        see(i.data.performed_on);
    }
    for v in r.vascular_studies.iter().filter(|v| &v.data.episode_id == id) {
        see(v.data.performed_on);
    }
    for w in r.wounds.iter().filter(|w| &w.data.episode_id == id) {
        see(w.data.noted_on);
        if let Some(d) = w.data.healed_on {
            see(d);
        }
        for m in r.wound_measurements.iter().filter(|m| m.data.wound_id == w.id) {
            see(m.data.measured_on);
        }
    }
    h.outcomes = r
        .outcome_events
        .iter()
        .filter(|o| &o.data.episode_id == id)
        .map(|o| DatedOutcome { on: o.data.occurred_on, kind: o.data.kind, amputation_level: o.data.amputation_level })
        .collect();
    h.procedures = r
        .procedures
        .iter()
        .filter(|x| &x.data.episode_id == id)
        .map(|x| DatedProcedure {
            on: x.data.performed_on,
            kind: x.data.kind,
            amputation_level: x.data.amputation_level,
        })
        .collect();
    h.wifi_stages = r
        .assessments
        .iter()
        .filter(|a| &a.stored.data.episode_id == id)
        .filter_map(|a| a.derived.wifi_stage.map(|s| (a.stored.data.assessed_on, s)))
        .collect();
    h.glass_stages = r
        .imaging_studies
        .iter()
        .filter(|i| &i.data.episode_id == id)
        .filter_map(|i| {
            let input: limbpath_clinical::glass::GlassInput =
                serde_json::from_value(i.data.arterial_segments.clone()?).ok()?;
            let stage = limbpath_clinical::glass::classify(&input).ok()?.stage.stage;
            use limbpath_clinical::glass::GlassStage::*;
            match stage {
                I => Some(1),
                II => Some(2),
                III => Some(3),
                NotApplicable => None,
            }
            .map(|s| (i.data.performed_on, s))
        })
        .collect();
    CohortEpisode {
        history: h,
        birth_date: p.birth_date,
        site: p.site.clone(),
        aetiology: episode.data.aetiology,
        diabetes: p.diabetes != DiabetesStatus::None,
        dialysis: p.dialysis,
    }
}

/// Sort the order-free parts so two histories compare as sets.
fn normalised(mut c: CohortEpisode) -> CohortEpisode {
    let h = &mut c.history;
    h.outcomes.sort_by_key(|o| (o.on, o.kind.code()));
    h.procedures.sort_by_key(|p| (p.on, p.kind.code()));
    h.wifi_stages.sort();
    h.glass_stages.sort();
    c
}

#[tokio::test]
async fn the_demo_cohort_streams_in_pages_equal_to_its_records() {
    let db = TestDb::new().await;
    let s = &db.store;
    let records: Vec<PatientRecord> = limbpath_demo::cohort(20_261_121, 40).collect();
    s.insert_patient_records(&records).await.unwrap();
    let mut want: BTreeMap<String, CohortEpisode> = BTreeMap::new();
    for r in &records {
        for e in &r.episodes {
            want.insert(e.id.clone(), normalised(expected(r, e)));
        }
    }
    // small pages: many page boundaries
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s.analysis_cohort_page(cursor.as_deref(), 7).await.unwrap();
        assert!(page.items.len() <= 7);
        got.extend(page.items.into_iter().map(normalised));
        pages += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert!(pages > 3, "{pages} pages");
    let want: Vec<CohortEpisode> = want.into_values().collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "episode {i} in id order");
    }
    assert!(
        want.iter().any(|c| !c.history.outcomes.is_empty()) && want.iter().any(|c| !c.history.glass_stages.is_empty())
    );
    // the streaming helper visits every episode once
    let mut n = 0;
    let read = s.for_each_cohort_episode(|_| n += 1).await.unwrap();
    assert_eq!((read, n), (want.len() as u64, want.len()));
}
