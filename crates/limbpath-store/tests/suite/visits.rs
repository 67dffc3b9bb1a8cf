//! The patient between visits in the store: check-ins with their decision,
//! alerts grouped per (patient, kind) in the recording transaction,
//! acknowledgement, programme settings and instructions, plans and logs.

use super::fixtures::*;
use super::harness::TestDb;
use limbpath_protocols::alerts::{AlertKey, AlertKind, AlertSignal};
use limbpath_protocols::lengthening::DistractionLogEntry;
use limbpath_protocols::oi_rehab::LoadLogEntry;
use limbpath_protocols::triage::TriageLevel;
use limbpath_store::*;
use serde_json::json;
use time::macros::date;

fn signal(pid: &str, rule: &str, level: TriageLevel, at_ms: i64) -> AlertSignal {
    AlertSignal {
        key: AlertKey { patient_id: pid.to_owned(), kind: AlertKind::CheckInRule { rule_id: rule.to_owned() } },
        level,
        at_ms,
        summary: format!("{rule} at {at_ms}"),
    }
}

fn check_in(pid: &str, at_ms: i64, signals: Vec<AlertSignal>) -> NewCheckIn {
    NewCheckIn {
        patient_id: pid.to_owned(),
        at_ms,
        submitted_by: "user-1".into(),
        answers: json!({"chills": true}),
        decision: json!({"level": "contact_team_immediately"}),
        level: TriageLevel::ContactTeamImmediately,
        rule_set_version: "1+settings.default".into(),
        signals,
    }
}

#[tokio::test]
async fn ten_identical_check_ins_make_one_alert_counted_ten_times() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("MRN-V1", "Grant", "Ann")).await.unwrap();
    let other = s.create_patient(patient("MRN-V2", "Hale", "Bo")).await.unwrap();
    for i in 0..10 {
        let sig = signal(&p.id, "oi.chills", TriageLevel::ContactTeamImmediately, 1_000 + i);
        let (c, alerts) = s.record_check_in(check_in(&p.id, 1_000 + i, vec![sig])).await.unwrap();
        assert_eq!(c.level, "contact_team_immediately");
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].count, u32::try_from(i + 1).unwrap());
    }
    // Another rule and another patient open their own alerts.
    s.record_check_in(check_in(&p.id, 2_000, vec![signal(&p.id, "oi.fever", TriageLevel::ContactTeamToday, 2_000)]))
        .await
        .unwrap();
    s.raise_alerts(&other.id, &[signal(&other.id, "oi.chills", TriageLevel::ContactTeamImmediately, 500)])
        .await
        .unwrap();
    let mine = s.open_alerts(&AlertQuery { patient_id: Some(p.id.clone()), limit: 50 }).await.unwrap();
    assert_eq!(mine.len(), 2);
    let chills = mine.iter().find(|a| a.kind == AlertKind::CheckInRule { rule_id: "oi.chills".into() }).unwrap();
    assert_eq!((chills.count, chills.first_seen_ms, chills.last_seen_ms), (10, 1_000, 1_009));
    assert_eq!(chills.latest_summary, "oi.chills at 1009");
    assert_eq!(s.list_check_ins(&p.id, 100).await.unwrap().len(), 11);

    // The worklist: urgent before today, oldest first.
    let all = s.open_alerts(&AlertQuery { patient_id: None, limit: 50 }).await.unwrap();
    let order: Vec<(String, TriageLevel)> = all.iter().map(|a| (a.patient_id.clone(), a.level)).collect();
    assert_eq!(
        order,
        vec![
            (other.id.clone(), TriageLevel::ContactTeamImmediately),
            (p.id.clone(), TriageLevel::ContactTeamImmediately),
            (p.id.clone(), TriageLevel::ContactTeamToday)
        ]
    );

    // Acknowledged once: the first acknowledgement stands; a repeat after it is counted as such.
    let a = s.acknowledge_alert(&chills.id, "nurse", 5_000).await.unwrap();
    assert_eq!((a.acknowledged_at_ms, a.acknowledged_by.as_deref()), (Some(5_000), Some("nurse")));
    let again = s.acknowledge_alert(&chills.id, "doctor", 6_000).await.unwrap();
    assert_eq!((again.acknowledged_at_ms, again.acknowledged_by.as_deref()), (Some(5_000), Some("nurse")));
    let (_, joined) = s
        .record_check_in(check_in(
            &p.id,
            7_000,
            vec![signal(&p.id, "oi.chills", TriageLevel::ContactTeamImmediately, 7_000)],
        ))
        .await
        .unwrap();
    assert_eq!((joined[0].count, joined[0].repeats_since_acknowledgement), (11, 1));
    assert_eq!(joined[0].acknowledged_by.as_deref(), Some("nurse"));
    // Acknowledged alerts sort after unacknowledged ones.
    let all = s.open_alerts(&AlertQuery { patient_id: None, limit: 50 }).await.unwrap();
    assert_eq!(all.last().unwrap().id, chills.id);
}

#[tokio::test]
async fn a_check_in_for_no_patient_or_with_a_routine_signal_writes_nothing() {
    let db = TestDb::new().await;
    let s = &db.store;
    let missing = unknown_id();
    match s.record_check_in(check_in(&missing, 1, vec![])).await {
        Err(StoreError::NotFound { field: Some("patient_id"), .. }) => {}
        other => panic!("expected NotFound patient_id, got {other:?}"),
    }
    let p = s.create_patient(patient("MRN-V3", "Ives", "Cy")).await.unwrap();
    let bad = signal(&p.id, "x", TriageLevel::Routine, 1);
    match s.record_check_in(check_in(&p.id, 1, vec![bad])).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field, "signals[0].level"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let foreign = signal(&unknown_id(), "x", TriageLevel::ContactTeamToday, 1);
    assert!(matches!(s.raise_alerts(&p.id, &[foreign]).await, Err(StoreError::Invalid(_))));
    assert!(s.list_check_ins(&p.id, 10).await.unwrap().is_empty());
    assert!(s.open_alerts(&AlertQuery { patient_id: None, limit: 10 }).await.unwrap().is_empty());
    assert!(matches!(s.get_alert(&unknown_id()).await, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
async fn plans_logs_settings_and_instructions_round_trip() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("MRN-V4", "Jones", "Di")).await.unwrap();
    let input = json!({"surgery_date": "2025-03-03", "body_weight_kg": 80.0});
    let oi = s.create_plan(&p.id, PlanProtocol::OiRehab, &input, &json!({"rehab": 1}), "clin", 10).await.unwrap();
    let later = s.create_plan(&p.id, PlanProtocol::OiRehab, &input, &json!({"rehab": 2}), "clin", 20).await.unwrap();
    let len = s.create_plan(&p.id, PlanProtocol::Lengthening, &json!({"x": 1}), &json!({}), "clin", 30).await.unwrap();
    assert_eq!(s.get_plan(&oi.id).await.unwrap(), oi);
    assert_eq!(s.latest_plan(&p.id, PlanProtocol::OiRehab).await.unwrap().unwrap().id, later.id);
    assert_eq!(s.latest_plan(&p.id, PlanProtocol::Lengthening).await.unwrap().unwrap().id, len.id);
    assert!(matches!(
        s.create_plan(&unknown_id(), PlanProtocol::OiRehab, &input, &json!({}), "clin", 1).await,
        Err(StoreError::NotFound { field: Some("patient_id"), .. })
    ));

    let e = LoadLogEntry { date: date!(2025 - 03 - 04), load_kg: 5.0, pain_nrs: Some(3) };
    s.add_load_entry(&oi, &e, "pat", 40).await.unwrap();
    s.add_load_entry(&oi, &LoadLogEntry { date: date!(2025 - 03 - 05), load_kg: 9.5, pain_nrs: None }, "pat", 41)
        .await
        .unwrap();
    let log = s.load_log(&oi.id).await.unwrap();
    assert_eq!(log.iter().map(|l| l.entry()).collect::<Vec<_>>()[0], e);
    assert_eq!((log.len(), log[1].pain_nrs, log[1].load_kg), (2, None, 9.5));
    assert!(
        matches!(s.add_load_entry(&len, &e, "pat", 1).await, Err(StoreError::Invalid(_))),
        "not a lengthening plan"
    );

    let d = DistractionLogEntry { date: date!(2025 - 01 - 13), turns: 4 };
    s.add_distraction_entry(&len, &d, "pat", 50).await.unwrap();
    assert_eq!(s.distraction_log(&len.id).await.unwrap()[0].entry(), d);
    assert!(matches!(s.add_distraction_entry(&oi, &d, "pat", 1).await, Err(StoreError::Invalid(_))));

    assert!(s.programme_setting("escalation_policy").await.unwrap().is_none());
    s.put_programme_setting("escalation_policy", &json!({"version": "a"}), Some("admin"), 1).await.unwrap();
    s.put_programme_setting("escalation_policy", &json!({"version": "b"}), Some("admin"), 2).await.unwrap();
    let got = s.programme_setting("escalation_policy").await.unwrap().unwrap();
    assert_eq!((got.value["version"].as_str(), got.updated_at_ms), (Some("b"), 2));

    s.put_instructions("oi_rehab", "Wash daily.", Some("clin"), 1).await.unwrap();
    s.put_instructions("oi_rehab", "Wash daily with water.", Some("clin"), 2).await.unwrap();
    s.put_instructions("general", "Call if unsure.", None, 3).await.unwrap();
    let all = s.instructions().await.unwrap();
    assert_eq!(
        all.iter().map(|i| (i.protocol.as_str(), i.text.as_str())).collect::<Vec<_>>(),
        vec![("general", "Call if unsure."), ("oi_rehab", "Wash daily with water.")]
    );
    match s.put_instructions("dental", "x", None, 1).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field, "protocol"),
        other => panic!("{other:?}"),
    }
}
