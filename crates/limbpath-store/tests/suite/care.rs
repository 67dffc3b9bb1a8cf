//! Coordinated care storage (issue 5): care plans run over stored episodes,
//! task transitions, the worklist, follow-up visits, referrers and referrals.

use super::fixtures::*;
use super::harness::{TestDb, count, execute_raw};
use limbpath_pathway::rules::rule_ids;
use limbpath_pathway::{
    CareRules, Priority, ProgrammeSettings, ReviewDecision, ReviewDecisionData, TaskState, TaskStatus,
    shipped_rule_set, triage_referral,
};
use limbpath_record::*;
use limbpath_store::*;
use serde_json::json;
use std::collections::BTreeSet;
use time::macros::date;

async fn chain(s: &Store, mrn: &str, family: &str) -> (String, String) {
    let p = s.create_patient(patient(mrn, family, "Test")).await.unwrap();
    let l = s.create_limb(limb(&p.id)).await.unwrap();
    let e = s.create_episode(episode(&l.id, EpisodeStatus::Treatment)).await.unwrap();
    (p.id, e.id)
}

async fn run(s: &Store, episode: &str, today: Date) -> CarePlanRun {
    s.run_care_plan(episode, &shipped_rule_set(), &ProgrammeSettings::shipped(), today).await.unwrap()
}

fn rules_of(tasks: &[Stored<limbpath_pathway::CareTaskData>]) -> BTreeSet<String> {
    tasks.iter().map(|t| t.data.key.rule_id.clone()).collect()
}

/// W2 I3 fI2 with a recorded open wound, HbA1c 8.1 (fixture) above the 7.0 target.
async fn w2_i3_fi2(s: &Store, episode: &str, on: Date) -> String {
    s.create_assessment(AssessmentData {
        episode_id: episode.into(),
        assessed_on: on,
        findings: json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 2}).into(),
    })
    .await
    .unwrap();
    s.create_wound(wound(episode)).await.unwrap().id
}

#[tokio::test]
async fn a_plan_run_creates_its_tasks_once_and_never_reopens_finished_ones() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, eid) = chain(s, "CARE-1", "Plan").await;
    w2_i3_fi2(s, &eid, date!(2025 - 01 - 12)).await;

    let first = run(s, &eid, date!(2025 - 01 - 12)).await;
    assert_eq!(first.patient_id, pid);
    let created = rules_of(&first.created);
    for rule in [rule_ids::INFECTIOUS_DISEASE_REVIEW, rule_ids::VASCULAR_IMAGING, rule_ids::ENDOCRINOLOGY] {
        assert!(created.contains(rule), "{rule} in {created:?}");
    }
    assert!(!created.contains(rule_ids::SMOKING_CESSATION), "the fixture patient is a former smoker");
    assert!(!created.contains(rule_ids::EMERGENCY_ADMISSION), "fI2 without SIRS is not an emergency");
    let id_review = first.created.iter().find(|t| t.data.key.rule_id == rule_ids::INFECTIOUS_DISEASE_REVIEW).unwrap();
    assert_eq!(id_review.data.due_on, date!(2025 - 01 - 12), "same day");
    assert_eq!(id_review.data.priority, Priority::Urgent);
    let stored = s.care_tasks_of_episode(&eid).await.unwrap();
    assert_eq!(stored.len(), first.created.len());
    assert_eq!(rules_of(&stored), created);

    // The same day again, and after a new assessment: nothing new.
    assert!(run(s, &eid, date!(2025 - 01 - 12)).await.created.is_empty());
    s.create_assessment(AssessmentData {
        episode_id: eid.clone(),
        assessed_on: date!(2025 - 01 - 14),
        findings: json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 2}).into(),
    })
    .await
    .unwrap();
    let again = run(s, &eid, date!(2025 - 01 - 14)).await;
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(again.diff.covered.len(), stored.len());
    assert_eq!(count(s, "care_tasks").await, stored.len() as i64);

    // Finish every task (complete one, cancel the rest); a re-run recreates none of them.
    let done = s.get_care_task(&stored[0].id).await.unwrap().record;
    let assigned = done.data.assign("Nurse Ada", date!(2025 - 01 - 14)).unwrap();
    let a = s.update_care_task_status(&done.id, 1, &assigned.status).await.unwrap();
    assert_eq!(a.version, 2);
    let completed = a.data.complete(date!(2025 - 01 - 15)).unwrap();
    let c = s.update_care_task_status(&done.id, 2, &completed.status).await.unwrap();
    assert_eq!(c.data.status.state(), TaskState::Completed);
    assert_eq!(s.get_care_task(&done.id).await.unwrap().record, c);
    for t in &stored[1..] {
        let cancelled = t.data.cancel("handled elsewhere", date!(2025 - 01 - 15)).unwrap();
        s.update_care_task_status(&t.id, t.version, &cancelled.status).await.unwrap();
    }
    let tasks = s.care_tasks_of_episode(&eid).await.unwrap();
    assert!(limbpath_pathway::plan_progress(tasks.iter().map(|t| &t.data)).complete);
    let after = run(s, &eid, date!(2025 - 01 - 20)).await;
    assert!(after.created.is_empty());
    assert!(after.diff.covered.iter().all(|c| matches!(c.state, TaskState::Completed | TaskState::Cancelled)));
    assert_eq!(count(s, "care_tasks").await, stored.len() as i64);
}

#[tokio::test]
async fn concurrent_runs_insert_each_task_once_and_the_key_is_unique_in_the_database() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, eid) = chain(s, "CARE-2", "Race").await;
    w2_i3_fi2(s, &eid, date!(2025 - 01 - 12)).await;
    let day = date!(2025 - 01 - 12);
    let (a, b, c) = tokio::join!(run(s, &eid, day), run(s, &eid, day), run(s, &eid, day));
    // Whichever run read the episode before any insert plans every task; the others plan what they did not see.
    let planned = [&a, &b, &c].iter().map(|r| r.diff.create.len()).max().unwrap();
    assert!(planned >= 3, "{planned}");
    assert_eq!(a.created.len() + b.created.len() + c.created.len(), planned, "each key inserted by exactly one run");
    assert_eq!(count(s, "care_tasks").await, planned as i64);
    // The index itself refuses a second row with the same key.
    let dup = execute_raw(
        s,
        &format!(
            "INSERT INTO care_tasks (id, version, created_at_ms, updated_at_ms, episode_id, patient_id, rule_id, \
             wound_key, ruleset_id, ruleset_version, title, discipline, priority, created_on, due_on, state, rationale) \
             SELECT '{}', 1, 0, 0, episode_id, patient_id, rule_id, wound_key, ruleset_id, ruleset_version, title, \
             discipline, priority, created_on, due_on, 'open', rationale FROM care_tasks WHERE rule_id = '{}'",
            unknown_id(),
            rule_ids::ENDOCRINOLOGY
        ),
    )
    .await;
    assert!(dup.is_err(), "{dup:?}");
}

#[tokio::test]
async fn a_wound_that_misses_its_4_week_checkpoint_gets_a_reevaluation_task_and_one_that_meets_it_does_not() {
    let db = TestDb::new().await;
    let s = &db.store;
    // GVG 6.9 (REFERENCES.md §2.3): ≥50 % area reduction by day 28 from the baseline measurement.
    let mut outcome = Vec::new();
    for (mrn, day_28_area) in [("CARE-MISS", 8.0), ("CARE-MEET", 4.0)] {
        let (_, eid) = chain(s, mrn, "Wound").await;
        let wid = w2_i3_fi2(s, &eid, date!(2025 - 01 - 12)).await;
        s.create_wound_measurement(measurement(&wid, date!(2025 - 01 - 12), 4.0, 2.5, Some(10.0))).await.unwrap();
        let before = run(s, &eid, date!(2025 - 01 - 12)).await;
        assert!(!rules_of(&before.created).contains(rule_ids::WEEK_4_MISSED), "not yet due on day 0");
        s.create_wound_measurement(measurement(&wid, date!(2025 - 02 - 09), 3.0, 2.0, Some(day_28_area)))
            .await
            .unwrap();
        let at = run(s, &eid, date!(2025 - 02 - 10)).await;
        let task = at.created.iter().find(|t| t.data.key.rule_id == rule_ids::WEEK_4_MISSED).cloned();
        let trajectory = at.diff.wounds.iter().find(|w| w.wound_id == wid).unwrap();
        outcome.push((task, trajectory.checkpoint("area_50_by_week_4").unwrap().status, wid));
    }
    let (missed_task, missed_status, missed_wound) = &outcome[0];
    let task = missed_task.as_ref().expect("a 20 % reduction at day 28 misses GVG 6.9's 50 %");
    assert_eq!(task.data.key.wound_id.as_deref(), Some(missed_wound.as_str()));
    assert_eq!(task.data.discipline, Discipline::CareCoordination);
    assert!(task.data.title.contains("Re-evaluate perfusion, infection and offloading"));
    assert_eq!(
        task.data.rationale.source.reference,
        "not in the reference pack; the criterion is from REFERENCES.md §2.3 (GVG 6.9: ≥50 % area reduction within 4 weeks)"
    );
    assert_eq!(*missed_status, limbpath_pathway::CheckpointStatus::Missed);
    let (met_task, met_status, _) = &outcome[1];
    assert!(met_task.is_none(), "a 60 % reduction meets the checkpoint");
    assert_eq!(*met_status, limbpath_pathway::CheckpointStatus::Met);
}

#[tokio::test]
async fn a_closed_episode_gets_no_plan_and_stale_transitions_change_nothing() {
    let db = TestDb::new().await;
    let s = &db.store;
    let p = s.create_patient(patient("CARE-3", "Closed", "Case")).await.unwrap();
    let l = s.create_limb(limb(&p.id)).await.unwrap();
    let closed = s.create_episode(episode(&l.id, EpisodeStatus::Closed)).await.unwrap();
    let e = s
        .run_care_plan(&closed.id, &shipped_rule_set(), &ProgrammeSettings::shipped(), date!(2025 - 07 - 01))
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.field == "episode.status"), "{e:?}");
    let e = s
        .run_care_plan(&unknown_id(), &shipped_rule_set(), &ProgrammeSettings::shipped(), date!(2025 - 07 - 01))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "episode", .. }), "{e:?}");

    let (_, eid) = chain(s, "CARE-4", "Stale").await;
    w2_i3_fi2(s, &eid, date!(2025 - 01 - 12)).await;
    let t = run(s, &eid, date!(2025 - 01 - 12)).await.created.remove(0);
    let a = t.data.assign("A", date!(2025 - 01 - 12)).unwrap();
    s.update_care_task_status(&t.id, 1, &a.status).await.unwrap();
    let e = s.update_care_task_status(&t.id, 1, &TaskStatus::Open).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { current: 2, .. }), "{e:?}");
    assert_eq!(s.get_care_task(&t.id).await.unwrap().record.data.status.state(), TaskState::Assigned);
    let e = s.get_care_task(&unknown_id()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "care_task", .. }), "{e:?}");
}

fn shipped_rules() -> std::sync::Arc<CareRules> {
    std::sync::Arc::new(CareRules::new(shipped_rule_set(), ProgrammeSettings::shipped()).unwrap())
}

/// The creation's audit entry as a server would give it (who, from where).
fn creation(entity: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 1_736_640_000_000,
        user_id: Some("u-1".into()),
        username: Some("dr.wound".into()),
        role: Some(Role::Clinician),
        action: "create".into(),
        entity: Some(entity.into()),
        entity_id: None,
        patient_id: None,
        remote_addr: Some("192.0.2.7".into()),
        outcome: AuditOutcome::Ok,
        detail: String::new(),
    }
}

/// The patient's trail, oldest first, as (action, entity, entity id, outcome, detail).
async fn trail(s: &Store, patient: &str) -> Vec<(String, String, String, AuditOutcome, String)> {
    let page = s.audit_for_patient(patient, None, 100).await.unwrap();
    let mut out: Vec<_> = page
        .items
        .into_iter()
        .map(|e| {
            assert_eq!(
                (e.entry.username.as_deref(), e.entry.remote_addr.as_deref()),
                (Some("dr.wound"), Some("192.0.2.7"))
            );
            let e = e.entry;
            (e.action, e.entity.unwrap_or_default(), e.entity_id.unwrap_or_default(), e.outcome, e.detail)
        })
        .collect();
    out.reverse();
    out
}

/// A record created with its care plan: the plan runs over the episode as the
/// new record leaves it, a record kind that does not feed the plan and a
/// closed episode leave it unrun, and a plan that fails keeps the record and
/// stores none of its tasks. The creation and the plan are audited with what
/// they stored (the record's id, the episode, the tasks created or the error);
/// an entry the trail refuses stores nothing.
#[tokio::test]
async fn a_record_created_with_its_care_plan_is_planned_over_and_kept_when_the_plan_fails() {
    let db = TestDb::new().await;
    let s = &db.store;
    let rules = shipped_rules();
    let day = date!(2025 - 01 - 12);
    let (pid, eid) = chain(s, "CARE-WITH-1", "Planned").await;
    let findings = json!({"wound_grade": 2, "ischaemia_grade": 3, "infection_grade": 2});
    let data = AssessmentData { episode_id: eid.clone(), assessed_on: day, findings: findings.clone().into() };
    let (a, plan) = s.create_owned_and_run_care_plan(data, &rules, day, creation("assessment")).await.unwrap();
    assert_eq!(a.owner, pid);
    let PlanAfter::Ran { episode_id, run: ran } = plan else { panic!("{plan:?}") };
    assert_eq!((episode_id.as_str(), ran.patient_id.as_str()), (eid.as_str(), pid.as_str()));
    let aid = a.record.stored.id.clone();
    let n = ran.created.len();
    assert_eq!(
        trail(s, &pid).await,
        [
            ("create".into(), "assessment".into(), aid.clone(), AuditOutcome::Ok, String::new()),
            (
                RUN_CARE_PLAN.into(),
                "care_task".into(),
                eid.clone(),
                AuditOutcome::Ok,
                format!("{n} tasks created after assessment {aid}")
            ),
        ]
    );
    let created = rules_of(&ran.created);
    for rule in [rule_ids::INFECTIOUS_DISEASE_REVIEW, rule_ids::VASCULAR_IMAGING, rule_ids::ENDOCRINOLOGY] {
        assert!(created.contains(rule), "the plan read the new assessment: {rule} in {created:?}");
    }
    let stored = s.care_tasks_of_episode(&eid).await.unwrap();
    assert_eq!(rules_of(&stored), created, "what it reports is what it stored");
    assert_eq!(stored.len(), ran.created.len());
    assert_eq!(ran.diff.create.len(), ran.created.len());

    // The same findings again: every key exists, nothing new.
    let data = AssessmentData { episode_id: eid.clone(), assessed_on: day, findings: findings.clone().into() };
    let (_, plan) = s.create_owned_and_run_care_plan(data, &rules, day, creation("assessment")).await.unwrap();
    assert!(matches!(&plan, PlanAfter::Ran { run, .. } if run.created.is_empty()), "{plan:?}");
    // A wound feeds the plan; a vascular study does not (its creation alone is audited).
    let (w, plan) = s.create_owned_and_run_care_plan(wound(&eid), &rules, day, creation("wound")).await.unwrap();
    assert!(matches!(plan, PlanAfter::Ran { .. }), "{plan:?}");
    let before = trail(s, &pid).await.len();
    let (v, plan) =
        s.create_owned_and_run_care_plan(vascular_study(&eid), &rules, day, creation("vascular_study")).await.unwrap();
    assert!(matches!(plan, PlanAfter::NotRun), "{plan:?}");
    let after = trail(s, &pid).await;
    assert_eq!(after.len(), before + 1);
    assert_eq!(after.last().map(|e| (e.1.as_str(), e.2.as_str())), Some(("vascular_study", v.record.id.as_str())));
    let m = measurement(&w.record.id, day, 2.0, 1.0, None);
    let (_, plan) = s.create_owned_and_run_care_plan(m, &rules, day, creation("wound_measurement")).await.unwrap();
    assert!(matches!(&plan, PlanAfter::Ran { episode_id, .. } if *episode_id == eid), "{plan:?}");

    // An entry the trail refuses: nothing is stored, neither the record nor its entry.
    let (assessments, entries) = (count(s, "assessments").await, count(s, "audit").await);
    let data = AssessmentData { episode_id: eid.clone(), assessed_on: day, findings: findings.clone().into() };
    let bad = AuditEntry { action: "Create!".into(), ..creation("assessment") };
    let e = s.create_owned_and_run_care_plan(data, &rules, day, bad).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.field == "action"), "{e:?}");
    assert_eq!((count(s, "assessments").await, count(s, "audit").await), (assessments, entries));

    // A closed episode: the record is stored, the rules are not evaluated.
    let l = s.create_limb(limb(&pid)).await.unwrap();
    let closed = s.create_episode(episode(&l.id, EpisodeStatus::Closed)).await.unwrap();
    let data = AssessmentData { episode_id: closed.id.clone(), assessed_on: day, findings: findings.clone().into() };
    let entries = count(s, "audit").await;
    let (a, plan) = s.create_owned_and_run_care_plan(data, &rules, day, creation("assessment")).await.unwrap();
    assert!(matches!(&plan, PlanAfter::EpisodeClosed { episode_id } if *episode_id == closed.id), "{plan:?}");
    assert_eq!(s.get_assessment(&a.record.stored.id).await.unwrap(), a.record);
    assert_eq!(count(s, "audit").await, entries + 1, "the creation only");

    // A plan that cannot read its episode (a task row no decoder accepts) fails alone.
    let (_, broken) = chain(s, "CARE-WITH-2", "Broken").await;
    w2_i3_fi2(s, &broken, day).await;
    let first = run(s, &broken, day).await.created;
    execute_raw(s, &format!("UPDATE care_tasks SET discipline = 'astrology' WHERE id = '{}'", first[0].id))
        .await
        .unwrap();
    let tasks_before = count(s, "care_tasks").await;
    let data = AssessmentData { episode_id: broken.clone(), assessed_on: day, findings: findings.into() };
    let (a, plan) = s.create_owned_and_run_care_plan(data, &rules, day, creation("assessment")).await.unwrap();
    let PlanAfter::Failed { episode_id, error } = plan else { panic!("{plan:?}") };
    assert_eq!(episode_id.as_deref(), Some(broken.as_str()));
    assert!(error.to_string().contains("discipline"), "{error}");
    assert_eq!(s.get_assessment(&a.record.stored.id).await.unwrap(), a.record, "the record is kept");
    assert_eq!(count(s, "care_tasks").await, tasks_before);
    let trail = trail(s, &a.owner).await;
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[0].2, a.record.stored.id);
    let (action, entity, episode, outcome, detail) = &trail[1];
    assert_eq!(
        (action.as_str(), entity.as_str(), episode, *outcome),
        (RUN_CARE_PLAN, "care_task", &broken, AuditOutcome::Error)
    );
    assert_eq!(*detail, error.to_string());
}

/// The snapshot the rules read holds exactly the episode's own rows: the same
/// as picking them out of the whole patient record (which it used to read), with
/// the latest assessment by date, then id, whatever order they were written in.
#[tokio::test]
async fn an_episode_snapshot_is_the_episode_s_part_of_the_patient_record() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, eid) = chain(s, "SNAP-1", "Snapshot").await;
    let other_limb = s.create_limb(LimbData { side: Side::Right, ..limb(&pid) }).await.unwrap();
    let other = s.create_episode(episode(&other_limb.id, EpisodeStatus::Treatment)).await.unwrap();
    for (on, stage) in [(date!(2025 - 01 - 10), 3), (date!(2025 - 03 - 01), 1), (date!(2025 - 02 - 01), 4)] {
        s.create_assessment(assessment(&eid, on, stage)).await.unwrap();
    }
    // Same date as the latest: the later id (UUIDv7, time-ordered) is the latest.
    let tie = s.create_assessment(assessment(&eid, date!(2025 - 03 - 01), 2)).await.unwrap();
    s.create_assessment(assessment(&other.id, date!(2025 - 06 - 01), 4)).await.unwrap();
    for e in [&eid, &other.id] {
        let w = s.create_wound(wound(e)).await.unwrap();
        s.create_wound_measurement(measurement(&w.id, date!(2025 - 02 - 01), 3.0, 2.0, None)).await.unwrap();
        s.create_wound_measurement(measurement(&w.id, date!(2025 - 01 - 15), 4.0, 2.0, Some(7.5))).await.unwrap();
        s.create_procedure(procedure(e)).await.unwrap();
    }
    s.create_wound(wound(&eid)).await.unwrap();
    run(s, &eid, date!(2025 - 03 - 02)).await;
    run(s, &other.id, date!(2025 - 06 - 02)).await;

    let (owner, snap) = s.episode_snapshot(&eid).await.unwrap();
    assert_eq!(owner, pid);
    let record = s.get_patient_record(&pid).await.unwrap();
    assert_eq!(snap.patient, record.patient.unwrap().data);
    assert_eq!(&snap.episode, record.episodes.iter().find(|e| e.id == eid).unwrap());
    let latest = snap.latest_assessment.expect("the episode has assessments");
    assert_eq!(latest.id, tie.stored.id);
    let expected = record
        .assessments
        .iter()
        .filter(|a| a.stored.data.episode_id == eid)
        .max_by(|a, b| (a.stored.data.assessed_on, &a.stored.id).cmp(&(b.stored.data.assessed_on, &b.stored.id)))
        .unwrap();
    assert_eq!(latest, expected.stored);
    let wounds: Vec<_> = record.wounds.iter().filter(|w| w.data.episode_id == eid).cloned().collect();
    assert_eq!(wounds.len(), 2);
    assert_eq!(snap.wounds, wounds);
    let measurements: Vec<_> =
        record.wound_measurements.iter().filter(|m| wounds.iter().any(|w| w.id == m.data.wound_id)).cloned().collect();
    assert_eq!(measurements.len(), 2);
    assert_eq!(snap.wound_measurements, measurements);
    let procedures: Vec<_> = record.procedures.iter().filter(|p| p.data.episode_id == eid).cloned().collect();
    assert_eq!(procedures.len(), 1);
    assert_eq!(snap.procedures, procedures);
    assert!(!snap.tasks.is_empty());
    assert!(snap.tasks.iter().all(|t| t.data.key.episode_id == eid));
    assert_eq!(snap.tasks, s.care_tasks_of_episode(&eid).await.unwrap());

    let e = s.episode_snapshot(&unknown_id()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "episode", .. }), "{e:?}");
}

#[tokio::test]
async fn the_worklist_lists_open_tasks_across_patients_by_due_date_with_filters_and_pages() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, e1) = chain(s, "WL-1", "Adams").await;
    w2_i3_fi2(s, &e1, date!(2025 - 01 - 12)).await;
    run(s, &e1, date!(2025 - 01 - 12)).await;
    let (_, e2) = chain(s, "WL-2", "Baker").await;
    w2_i3_fi2(s, &e2, date!(2025 - 01 - 20)).await;
    run(s, &e2, date!(2025 - 01 - 20)).await;
    let total = count(s, "care_tasks").await as usize;

    let all = s
        .worklist(&WorklistQuery { today: Some(date!(2025 - 01 - 20)), limit: 100, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(all.items.len(), total);
    assert!(all.next_cursor.is_none());
    let keys: Vec<_> = all.items.iter().map(|i| (i.task.data.due_on, i.task.id.clone())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "by due date then id");
    assert!(all.items[0].overdue, "patient 1's same-day task is overdue on the 20th");
    assert_eq!(all.items[0].patient_name, "Adams, Test");
    assert!(all.items.iter().any(|i| !i.overdue));

    // Pages of one visit every task once, in the same order.
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.worklist(&WorklistQuery { cursor: cursor.clone(), limit: 1, ..Default::default() }).await.unwrap();
        walked.extend(page.items.iter().map(|i| i.task.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(walked, keys.iter().map(|k| k.1.clone()).collect::<Vec<_>>());

    // Filters: discipline; assignee; finished tasks leave the list.
    let id = s
        .worklist(&WorklistQuery { discipline: Some(Discipline::InfectiousDisease), limit: 50, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(id.items.len(), 2);
    assert!(id.items.iter().all(|i| i.task.data.discipline == Discipline::InfectiousDisease));
    let t = &id.items[0].task;
    let a = t.data.assign("Dr Id", date!(2025 - 01 - 20)).unwrap();
    s.update_care_task_status(&t.id, t.version, &a.status).await.unwrap();
    let mine =
        s.worklist(&WorklistQuery { assignee: Some("Dr Id".into()), limit: 50, ..Default::default() }).await.unwrap();
    assert_eq!(mine.items.len(), 1);
    assert_eq!(mine.items[0].task.id, t.id);
    let done = a.complete(date!(2025 - 01 - 21)).unwrap();
    s.update_care_task_status(&t.id, 2, &done.status).await.unwrap();
    let left = s.worklist(&WorklistQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(left.items.len(), total - 1);
    let e =
        s.worklist(&WorklistQuery { cursor: Some("nope".into()), limit: 10, ..Default::default() }).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.field == "cursor"), "{e:?}");
}

#[tokio::test]
async fn the_patient_list_finds_patients_with_overdue_tasks_with_every_other_filter() {
    let db = TestDb::new().await;
    let s = &db.store;
    // Four patients with a plan made on 12 January (the same-day ID review is
    // due that day, vascular imaging later), one without a plan.
    let mut plans = Vec::new();
    for (i, family) in ["Able", "Baker", "Carter", "Dixon"].iter().enumerate() {
        let (pid, eid) = chain(s, &format!("OVD-{i}"), family).await;
        w2_i3_fi2(s, &eid, date!(2025 - 01 - 12)).await;
        let run = run(s, &eid, date!(2025 - 01 - 12)).await;
        plans.push((pid, eid, run.created));
    }
    let (quiet, _) = chain(s, "OVD-9", "Easton").await;
    let ids = |v: Page<PatientSummary>| v.items.into_iter().map(|x| x.patient.id).collect::<Vec<_>>();
    let all_ids: Vec<String> = plans.iter().map(|p| p.0.clone()).collect();
    let overdue = |on: Date| PatientQuery { overdue_on: Some(on), limit: 50, ..Default::default() };
    let earliest = plans[0].2.iter().map(|t| t.data.due_on).min().unwrap();
    assert_eq!(earliest, date!(2025 - 01 - 12));

    // Due today is not overdue; tomorrow it is, for every patient with a plan.
    assert!(ids(s.search_patients(&overdue(earliest)).await.unwrap()).is_empty());
    let tomorrow = date!(2025 - 01 - 13);
    assert_eq!(ids(s.search_patients(&overdue(tomorrow)).await.unwrap()), all_ids, "name order");
    // paged one by one, each once, in order
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.search_patients(&PatientQuery { cursor, limit: 1, ..overdue(tomorrow) }).await.unwrap();
        paged.extend(page.items.into_iter().map(|x| x.patient.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(paged, all_ids);
    assert!(!paged.contains(&quiet));

    // Finishing a patient's overdue tasks takes them off; a far-future task
    // is not overdue yet.
    for t in plans[1].2.iter().filter(|t| t.data.due_on < tomorrow) {
        let done = t.data.assign("Nurse A", tomorrow).unwrap().complete(tomorrow).unwrap();
        s.update_care_task_status(&t.id, t.version, &done.status).await.unwrap();
    }
    for t in plans[2].2.iter().filter(|t| t.data.due_on < tomorrow) {
        let cancelled = t.data.cancel("done elsewhere", tomorrow).unwrap();
        s.update_care_task_status(&t.id, t.version, &cancelled.status).await.unwrap();
    }
    // an assigned task is still open work
    let assign = plans[3].2.iter().find(|t| t.data.due_on < tomorrow).unwrap();
    let assigned = assign.data.assign("Nurse B", tomorrow).unwrap();
    s.update_care_task_status(&assign.id, assign.version, &assigned.status).await.unwrap();
    let want = vec![plans[0].0.clone(), plans[3].0.clone()];
    assert_eq!(ids(s.search_patients(&overdue(tomorrow)).await.unwrap()), want);

    // with the other filters: name prefix, exact MRN, site, status, stage, aetiology
    let with = |q: PatientQuery| async move { ids(s.search_patients(&q).await.unwrap()) };
    assert_eq!(with(PatientQuery { text: Some("dix".into()), ..overdue(tomorrow) }).await, vec![plans[3].0.clone()]);
    assert_eq!(with(PatientQuery { text: Some("OVD-0".into()), ..overdue(tomorrow) }).await, vec![plans[0].0.clone()]);
    assert!(with(PatientQuery { text: Some("OVD-1".into()), ..overdue(tomorrow) }).await.is_empty());
    assert!(with(PatientQuery { text: Some("OVD-9".into()), ..overdue(tomorrow) }).await.is_empty());
    let treatment = Some(EpisodeStatus::Treatment);
    assert_eq!(with(PatientQuery { episode_status: treatment, ..overdue(tomorrow) }).await, want);
    assert!(with(PatientQuery { episode_status: Some(EpisodeStatus::Referred), ..overdue(tomorrow) }).await.is_empty());
    let stage = s.search_patients(&overdue(tomorrow)).await.unwrap().items[0].latest_wifi_stage;
    assert!(stage.is_some());
    assert_eq!(with(PatientQuery { wifi_stage: stage, ..overdue(tomorrow) }).await, want);
    assert_eq!(with(PatientQuery { aetiology: Some(Aetiology::Clti), ..overdue(tomorrow) }).await, want);
    assert!(with(PatientQuery { aetiology: Some(Aetiology::Venous), ..overdue(tomorrow) }).await.is_empty());
    let site = s.get_patient(&plans[0].0).await.unwrap().data.site;
    assert_eq!(with(PatientQuery { site: Some(site), ..overdue(tomorrow) }).await, want);
    assert!(with(PatientQuery { site: Some("Elsewhere".into()), ..overdue(tomorrow) }).await.is_empty());
}

#[tokio::test]
async fn follow_up_visits_are_recorded_against_a_procedure_of_the_episode() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, eid) = chain(s, "FU-1", "Follow").await;
    let pr = s.create_procedure(procedure(&eid)).await.unwrap();
    let key = limbpath_pathway::FollowUpKey {
        procedure_id: pr.id.clone(),
        template_id: "after_revascularisation".into(),
        item_id: "clinical_review".into(),
        occurrence: 1,
    };
    s.record_follow_up_visit(&eid, &key, date!(2025 - 02 - 20), "Nurse Ada").await.unwrap();
    let visits = s.follow_up_visits(&eid).await.unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].key, key);
    assert_eq!(visits[0].completed_on, date!(2025 - 02 - 20));
    // A procedure of another episode is refused, naming the field.
    let (_, other) = chain(s, "FU-2", "Other").await;
    let e = s.record_follow_up_visit(&other, &key, date!(2025 - 02 - 20), "Nurse Ada").await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { field: Some("key.procedure_id"), .. }), "{e:?}");
    assert!(s.follow_up_visits(&other).await.unwrap().is_empty());
}

/// 2100-01-01T00:00:00Z.
const FAR_FUTURE_MS: i64 = 4_102_444_800_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn referrer_tokens_expire_and_can_be_revoked() {
    let db = TestDb::new().await;
    let s = &db.store;
    let now = now_ms();
    let (r, token) = s.create_referrer("Dr Soon", "Hospital C", now + 60_000).await.unwrap();
    assert_eq!(r.expires_at_ms, Some(now + 60_000));
    assert_eq!(s.referrer_by_token(&token, now).await.unwrap().unwrap().id, r.id);
    // at the expiry instant and after it, the token reaches nothing
    assert!(s.referrer_by_token(&token, now + 60_000).await.unwrap().is_none());
    assert!(s.referrer_by_token(&token, now + 86_400_000).await.unwrap().is_none());
    // an expiry in the past is refused, naming the field
    let e = s.create_referrer("Dr Late", "Hospital C", now - 1).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.field == "expires_at_ms"), "{e:?}");

    // revoked: reaches nothing from then on, even before its expiry; the first revocation stands
    let (other, other_token) = s.create_referrer("Dr Other", "Hospital D", FAR_FUTURE_MS).await.unwrap();
    let revoked = s.revoke_referrer(&r.id, now + 1_000).await.unwrap();
    assert_eq!((revoked.active, revoked.revoked_at_ms), (false, Some(now + 1_000)));
    assert!(s.referrer_by_token(&token, now).await.unwrap().is_none());
    assert_eq!(s.revoke_referrer(&r.id, now + 5_000).await.unwrap().revoked_at_ms, Some(now + 1_000));
    assert_eq!(s.referrer_by_token(&other_token, now).await.unwrap().unwrap().id, other.id, "others unaffected");
    let listed = s.list_referrers(10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|x| x.id == r.id && !x.active));
    let e = s.revoke_referrer(&unknown_id(), now).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { entity: "referrer", .. }), "{e:?}");
}

#[tokio::test]
async fn referrers_reach_only_their_referrals_and_a_decision_is_recorded_once() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (r1, token1) = s.create_referrer("Dr One", "Hospital A", FAR_FUTURE_MS).await.unwrap();
    let (r2, token2) = s.create_referrer("Dr Two", "Hospital B", FAR_FUTURE_MS).await.unwrap();
    assert_eq!(token1.len(), 64);
    let now = now_ms();
    assert_eq!(s.referrer_by_token(&token1, now).await.unwrap().unwrap().id, r1.id);
    assert_eq!(s.referrer_by_token(&token2, now).await.unwrap().unwrap().id, r2.id);
    assert!(s.referrer_by_token(&"0".repeat(64), now).await.unwrap().is_none());
    assert!(s.referrer_by_token("not a token", now).await.unwrap().is_none());
    // Only the hash is stored.
    assert_eq!(count(s, "referrers").await, 2);
    let leaked = execute_raw(s, &format!("UPDATE referrers SET name = name WHERE token_hash = '{token1}'")).await;
    assert_eq!(leaked.unwrap(), 0, "the token itself is not in the table");

    let submission = |wet: Option<bool>| ReferralSubmission {
        patient_reference: "JD-77".into(),
        age_years: Some(71),
        summary: "Told to have a below-knee amputation".into(),
        findings: json!({"wound_grade": 3, "ischaemia_grade": 2, "infection_grade": 1}),
        wet_gangrene: wet,
        question: "Is limb salvage possible?".into(),
    };
    let settings = ProgrammeSettings::shipped();
    let new = |referrer: &str, wet| {
        let sub = submission(wet);
        let triage = triage_referral(&sub.findings(), &settings).unwrap();
        NewReferral { referrer_id: referrer.to_owned(), submission: sub, triage }
    };
    let wet = s.create_referral(new(&r1.id, Some(true))).await.unwrap();
    assert_eq!(wet.urgency, Priority::Emergency, "wet gangrene → emergency (programme triage policy)");
    assert_eq!(wet.respond_by_ms - wet.created_at_ms, i64::from(wet.respond_within_hours) * 3_600_000);
    let dry = s.create_referral(new(&r1.id, Some(false))).await.unwrap();
    let other = s.create_referral(new(&r2.id, Some(false))).await.unwrap();
    assert_eq!(s.get_referral(&wet.id).await.unwrap(), wet);

    let mine = s.list_referrals(Some(&r1.id), None, 50).await.unwrap();
    let ids: BTreeSet<_> = mine.items.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, BTreeSet::from([wet.id.clone(), dry.id.clone()]));
    let queue = s.list_referrals(None, None, 50).await.unwrap();
    assert_eq!(queue.items.len(), 3);
    assert_eq!(queue.items[0].id, wet.id, "the emergency's response target comes first");
    // Another referrer's referral is not a cursor into mine.
    assert!(s.list_referrals(Some(&r1.id), Some(&other.id), 50).await.is_err());

    let decision = ReviewDecisionData {
        decision: ReviewDecision::LimbSalvageAttempt,
        reasons: "Inflow reconstructable; debride and revascularise".into(),
        decided_on: date!(2025 - 03 - 02),
        decided_by: "MDT".into(),
    };
    let e = s.decide_referral(&dry.id, 7, &decision).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { current: 1, .. }), "{e:?}");
    let decided = s.decide_referral(&dry.id, 1, &decision).await.unwrap();
    assert_eq!(decided.status, ReferralStatus::Decided);
    assert_eq!(decided.decision.as_ref(), Some(&decision));
    assert_eq!(decided.version, 2);
    let e = s.decide_referral(&dry.id, 2, &decision).await.unwrap_err();
    assert!(matches!(e, StoreError::Duplicate { field: "decision", .. }), "{e:?}");
    let blank = ReviewDecisionData { reasons: " ".into(), ..decision };
    let e = s.decide_referral(&wet.id, 1, &blank).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.field == "reasons"), "{e:?}");
}

// ---------------------------------------------------------------------------
// Programme-edited follow-up templates
// ---------------------------------------------------------------------------

fn due_dates(items: &[limbpath_pathway::FollowUpItem]) -> Vec<Date> {
    items
        .iter()
        .filter_map(|i| match i.when {
            limbpath_pathway::follow_up::FollowUpWhen::Visit { due_on } => Some(due_on),
            limbpath_pathway::follow_up::FollowUpWhen::Restriction { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn a_programme_edit_changes_the_computed_schedule_and_a_reset_restores_the_shipped_one() {
    use limbpath_pathway::follow_up::{AFTER_REVASCULARISATION, Offset, Timing};
    let db = TestDb::new().await;
    let s = &db.store;
    let (_, eid) = chain(s, "TPL-1", "Template").await;
    s.create_procedure(procedure(&eid)).await.unwrap(); // PTA on 2025-01-20
    let (_, _, shipped_items) = s.follow_up_items(&eid).await.unwrap();
    assert_eq!(
        due_dates(&shipped_items),
        vec![date!(2025 - 02 - 20), date!(2025 - 04 - 20), date!(2025 - 07 - 20), date!(2026 - 01 - 20)]
    );
    let before = s.programme_template(AFTER_REVASCULARISATION).await.unwrap();
    assert_eq!((before.version, before.edited.is_none()), (0, true));

    let mut doc = before.shipped.clone();
    doc.items[0].timing = Timing::At { at: vec![Offset::Weeks(6), Offset::Months(6)] };
    let edited = s.put_programme_template(&doc, 0, "Dr Admin", "Vascular MDT protocol 2026", now_ms()).await.unwrap();
    assert_eq!(edited.version, 1);
    assert_eq!(edited.edited_by.as_deref(), Some("Dr Admin"));
    assert_eq!(edited.reason.as_deref(), Some("Vascular MDT protocol 2026"));
    let (_, _, items) = s.follow_up_items(&eid).await.unwrap();
    assert_eq!(due_dates(&items), vec![date!(2025 - 03 - 03), date!(2025 - 07 - 20)]);
    assert!(items[0].rationale.source.citation.starts_with("Edited by the programme: Vascular MDT protocol 2026"));
    assert_eq!(items[0].template_version, "1+programme.1");

    // The missed-follow-up rule runs on the edited schedule.
    let (_, snapshot, _) = s.follow_up_items(&eid).await.unwrap();
    let existing: Vec<_> = snapshot.tasks.iter().map(|t| t.data.key.clone()).collect();
    let missed = limbpath_pathway::missed_follow_up_tasks(
        &eid,
        &items,
        &[],
        &existing,
        date!(2025 - 04 - 30),
        &ProgrammeSettings::shipped(),
    )
    .unwrap();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].due_on, date!(2025 - 03 - 03));

    // A stale version is a conflict and changes nothing.
    let e = s.put_programme_template(&before.shipped, 0, "Dr Other", "stale", now_ms()).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { current: 1, .. }), "{e:?}");
    let e = s.reset_programme_template(AFTER_REVASCULARISATION, 7, "Dr Admin", now_ms()).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { current: 1, .. }), "{e:?}");

    let reset = s.reset_programme_template(AFTER_REVASCULARISATION, 1, "Dr Admin", now_ms()).await.unwrap();
    assert_eq!((reset.version, reset.edited.is_none()), (2, true));
    let (_, _, items) = s.follow_up_items(&eid).await.unwrap();
    assert_eq!(items, shipped_items);
    // An edit made against the version before the reset is refused.
    let e = s.put_programme_template(&doc, 1, "Dr Admin", "again", now_ms()).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { current: 2, .. }), "{e:?}");
}

#[tokio::test]
async fn an_invalid_template_edit_is_refused_naming_the_field_and_nothing_is_stored() {
    use limbpath_pathway::follow_up::{DURING_LENGTHENING, Offset, Timing};
    let db = TestDb::new().await;
    let s = &db.store;
    let shipped = s.programme_template(DURING_LENGTHENING).await.unwrap().shipped;
    let mut doc = shipped.clone();
    doc.items[0].timing = Timing::Every { first: Offset::Weeks(12), every: Offset::Weeks(2), until: Offset::Weeks(2) };
    let e = s.put_programme_template(&doc, 0, "Dr Admin", "typo", now_ms()).await.unwrap_err();
    assert_eq!(invalid(e), "template.items[0].timing.until");
    let e = s.put_programme_template(&shipped, 0, "Dr Admin", "  ", now_ms()).await.unwrap_err();
    assert_eq!(invalid(e), "reason");
    let mut unknown = shipped.clone();
    unknown.id = "my_own_template".into();
    let e = s.put_programme_template(&unknown, 0, "Dr Admin", "new", now_ms()).await.unwrap_err();
    assert_eq!(invalid(e), "template.id");
    assert_eq!(count(s, "follow_up_templates").await, 0);
    assert_eq!(s.follow_up_templates().await.unwrap(), limbpath_pathway::shipped_templates());
}

fn invalid(e: StoreError) -> String {
    match e {
        StoreError::Invalid(i) => i.field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// The care plan reads one assessment, the episode's latest (by date, then id), however many the patient has;
/// a record can be read without its assessments (what a check-in and the flags read), the rest unchanged.
#[tokio::test]
async fn the_plan_reads_only_its_episodes_latest_assessment_and_a_record_reads_without_assessments() {
    let db = TestDb::new().await;
    let s = &db.store;
    let (pid, eid) = chain(s, "CARE-LATEST", "Latest").await;
    let limb_id = s.get_episode(&eid).await.unwrap().data.limb_id;
    let other = s.create_episode(episode(&limb_id, EpisodeStatus::Evaluation)).await.unwrap().id;
    let assess = |episode: &str, on: Date, wound_grade: u8| {
        let data = AssessmentData {
            episode_id: episode.to_owned(),
            assessed_on: on,
            findings: json!({"wound_grade": wound_grade, "ischaemia_grade": 1, "infection_grade": 0}).into(),
        };
        async move { s.create_assessment(data).await.unwrap().stored.id }
    };
    assert!(s.episode_snapshot(&eid).await.unwrap().1.latest_assessment.is_none(), "no assessment yet");
    assess(&eid, date!(2025 - 01 - 10), 1).await;
    // Two on the same, latest day: the greater id is the latest (the record's list order).
    let a = assess(&eid, date!(2025 - 01 - 20), 2).await;
    let b = assess(&eid, date!(2025 - 01 - 20), 3).await;
    let latest = a.max(b);
    assess(&eid, date!(2025 - 01 - 15), 1).await;
    // Another episode's assessment, later still, is not this episode's.
    assess(&other, date!(2025 - 02 - 01), 0).await;

    let (owner, snapshot) = s.episode_snapshot(&eid).await.unwrap();
    assert_eq!(owner, pid);
    let used = snapshot.latest_assessment.expect("the latest assessment");
    assert_eq!(used.id, latest);
    assert_eq!(snapshot.episode.id, eid);
    let (_, other_snapshot) = s.episode_snapshot(&other).await.unwrap();
    assert_eq!(other_snapshot.latest_assessment.unwrap().data.assessed_on, date!(2025 - 02 - 01));

    let whole = s.get_patient_record(&pid).await.unwrap();
    assert_eq!(whole.assessments.len(), 5);
    let without = s.get_patient_record_without_assessments(&pid).await.unwrap();
    assert!(without.assessments.is_empty());
    assert_eq!(PatientRecord { assessments: Vec::new(), ..whole }, without, "everything else is the same");
    assert!(matches!(
        s.get_patient_record_without_assessments("0190d4f6-0000-7000-8000-000000000000").await,
        Err(StoreError::NotFound { entity: "patient", .. })
    ));
}
