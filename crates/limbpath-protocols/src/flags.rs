//! What the record says about a patient, for everywhere the patient appears:
//! flags (osseointegrated implant, external frame, open high-priority alert)
//! and the check-in context the triage needs.
//!
//! Rules chosen:
//! - **Osseointegrated implant**: a procedure of kind
//!   `osseointegration_implant_standard` or `_custom` performed on or before the
//!   day, with no `implant_removal` outcome event in the same episode on or
//!   after it (an `implant_removal` there is taken to be this implant, and the
//!   rationale says so). The flag's wording is §12.7's: before dental or other
//!   surgery the dentist or surgeon must be told about the implant
//!   (prophylactic antibiotics *may* be needed). The reference does not say
//!   antibiotics are always given, and the flag does not either.
//! - **External frame**: a `lengthening_external_frame` procedure performed on
//!   or before the day, in an episode that is not closed. The record has no
//!   frame-removal event, so the frame is assumed in place while its episode is
//!   open, and the flag says so.
//! - **Open high-priority alert**: every open alert of the patient at "contact
//!   the team immediately", acknowledged or not.
//! - **Days since surgery**: from the latest such procedure still in place.

use crate::alerts::GroupedAlert;
use crate::rationale::{Basis, Rationale, Reasoned};
use crate::sources::OI_FOLLOW_UP_SOURCE;
use crate::triage::CheckInContext;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::explain::FlagKind;
use limbpath_record::{Date, EpisodeStatus, OutcomeKind, PatientRecord, ProcedureKind};
use serde::Serialize;

type Result<T> = std::result::Result<T, InvalidInput>;

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.7 | status: SINGLE-SOURCE
/// §12.7, as the flag shows it.
pub const OI_DENTAL_OR_OTHER_SURGERY: &str = "Osseointegrated implant: before dental or other surgery, the dentist \
     or surgeon must be told about the implant (prophylactic antibiotics may be needed).";

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientFlagKind {
    OsseointegratedImplant,
    ExternalFrame,
    OpenHighPriorityAlert,
}

/// A flag shown wherever the patient appears.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientFlag {
    pub kind: PatientFlagKind,
    pub text: String,
    pub rationale: Rationale,
}

/// A procedure still in place on the day.
struct InPlace {
    index: usize,
    kind: ProcedureKind,
    performed_on: Date,
    note: Option<String>,
}

fn is_oi(kind: ProcedureKind) -> bool {
    matches!(kind, ProcedureKind::OsseointegrationImplantStandard | ProcedureKind::OsseointegrationImplantCustom)
}

fn in_place(record: &PatientRecord, on: Date) -> Vec<InPlace> {
    let mut out = Vec::new();
    for (index, p) in record.procedures.iter().enumerate() {
        let d = &p.data;
        if d.performed_on > on {
            continue;
        }
        if is_oi(d.kind) {
            let removed = record.outcome_events.iter().any(|e| {
                e.data.episode_id == d.episode_id
                    && e.data.kind == OutcomeKind::ImplantRemoval
                    && e.data.occurred_on >= d.performed_on
                    && e.data.occurred_on <= on
            });
            if !removed {
                out.push(InPlace { index, kind: d.kind, performed_on: d.performed_on, note: None });
            }
        } else if d.kind == ProcedureKind::LengtheningExternalFrame {
            let episode = record.episodes.iter().find(|e| e.id == d.episode_id);
            let open = episode
                .is_none_or(|e| e.data.status != EpisodeStatus::Closed || e.data.closed_on.is_some_and(|c| c > on));
            if open {
                let note = match episode {
                    Some(_) => "the record has no frame-removal event: the frame is assumed in place while its \
                                episode is open"
                        .to_owned(),
                    None => "the frame's episode is not in the record, and the record has no frame-removal event: \
                             the frame is assumed in place"
                        .to_owned(),
                };
                out.push(InPlace { index, kind: d.kind, performed_on: d.performed_on, note: Some(note) });
            }
        }
    }
    out
}

fn entry(p: &InPlace) -> String {
    format!("procedures[{}] ({}, {})", p.index, p.kind.code(), p.performed_on)
}

/// The check-in context the record gives on `on`.
pub fn check_in_context(record: &PatientRecord, on: Date) -> Result<Reasoned<CheckInContext>> {
    check_day(on)?;
    let items = in_place(record, on);
    let oi: Vec<&InPlace> = items.iter().filter(|p| is_oi(p.kind)).collect();
    let frames: Vec<&InPlace> = items.iter().filter(|p| !is_oi(p.kind)).collect();
    let latest = items.iter().map(|p| p.performed_on).max();
    let days_since_surgery = latest.and_then(|d| u32::try_from((on - d).whole_days()).ok());
    let context = CheckInContext {
        osseointegrated_implant: !oi.is_empty(),
        external_frame: !frames.is_empty(),
        days_since_surgery,
    };
    let mut rationale = Rationale::new(
        Basis::record(format!("procedures and outcome events on {on}")),
        format!(
            "osseointegrated implant: {}; external frame: {}; days since surgery: {}",
            if oi.is_empty() {
                "none in place".to_owned()
            } else {
                oi.iter().map(|p| entry(p)).collect::<Vec<_>>().join(", ")
            },
            if frames.is_empty() {
                "none in place".to_owned()
            } else {
                frames.iter().map(|p| entry(p)).collect::<Vec<_>>().join(", ")
            },
            days_since_surgery.map_or("unknown (no such procedure)".to_owned(), |d| d.to_string())
        ),
    )
    .input("on", on.to_string());
    for p in &items {
        rationale.push_basis(Basis::record(entry(p)));
        if let Some(n) = &p.note {
            rationale.push_flag(FlagKind::Review, n.clone());
        }
    }
    Ok(Reasoned { value: context, rationale })
}

fn check_day(on: Date) -> Result<()> {
    if on.year() < 1900 || on.year() > 2200 {
        return Err(InvalidInput::out_of_range("on", on, "a date from 1900-01-01 to 2200-12-31"));
    }
    Ok(())
}

/// The flags to show wherever the patient appears, on `on`, given the
/// patient's open alerts.
pub fn patient_flags(record: &PatientRecord, open_alerts: &[GroupedAlert], on: Date) -> Result<Vec<PatientFlag>> {
    check_day(on)?;
    let patient_id = record
        .patient
        .as_ref()
        .map(|p| p.id.as_str())
        .ok_or_else(|| InvalidInput::missing("record.patient", "the patient the record belongs to"))?;
    let items = in_place(record, on);
    let mut flags = Vec::new();
    if let Some(p) = items.iter().filter(|p| is_oi(p.kind)).max_by_key(|p| p.performed_on) {
        let mut rationale = Rationale::new(
            Basis::reference(&OI_FOLLOW_UP_SOURCE),
            format!(
                "osseointegrated implant in place ({}): §12.7 \"before dental or other surgery, the dentist or \
                 surgeon must be told about the implant (prophylactic antibiotics may be needed)\"",
                entry(p)
            ),
        )
        .also(Basis::record(entry(p)))
        .flag(FlagKind::SingleSource, "clinic osseointegration protocol: single source");
        for q in items.iter().filter(|q| is_oi(q.kind) && q.index != p.index) {
            rationale.push_basis(Basis::record(entry(q)));
        }
        flags.push(PatientFlag {
            kind: PatientFlagKind::OsseointegratedImplant,
            text: OI_DENTAL_OR_OTHER_SURGERY.to_owned(),
            rationale,
        });
    }
    if let Some(p) = items.iter().filter(|p| !is_oi(p.kind)).max_by_key(|p| p.performed_on) {
        let mut rationale = Rationale::new(
            Basis::record(entry(p)),
            format!("external lengthening frame fitted on {} ({})", p.performed_on, entry(p)),
        );
        if let Some(n) = &p.note {
            rationale.push_flag(FlagKind::Review, n.clone());
        }
        flags.push(PatientFlag {
            kind: PatientFlagKind::ExternalFrame,
            text: format!("External frame (lengthening, fitted {}).", p.performed_on),
            rationale,
        });
    }
    for a in open_alerts.iter().filter(|a| a.key.patient_id == patient_id && a.is_high_priority()) {
        let ack = match a.acknowledged_at_ms {
            Some(t) => format!("acknowledged at {t} ms"),
            None => "not acknowledged".to_owned(),
        };
        flags.push(PatientFlag {
            kind: PatientFlagKind::OpenHighPriorityAlert,
            text: format!(
                "Open alert, contact the team immediately: {} ({} time(s), {ack}).",
                a.latest_summary, a.count
            ),
            rationale: Rationale::new(
                Basis::record(format!("open alert {:?}", a.key.kind)),
                format!(
                    "open alert at contact_team_immediately: {} signal(s) from {} to {} ms, {ack}",
                    a.count, a.first_seen_ms, a.last_seen_ms
                ),
            ),
        });
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertKey, AlertKind};
    use crate::triage::TriageLevel;
    use limbpath_record::{
        AmbulatoryStatus, DiabetesStatus, EpisodeData, OutcomeEventData, PatientData, ProcedureData, Sex,
        SmokingStatus, Stored,
    };
    use proptest::prelude::*;
    use time::macros::date;

    const PATIENT: &str = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6f";
    const EPISODE: &str = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e70";
    const OTHER_EPISODE: &str = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e71";

    fn stored<T>(id: &str, data: T) -> Stored<T> {
        Stored { id: id.into(), version: 1, created_at_ms: 0, updated_at_ms: 0, data }
    }

    fn procedure(episode: &str, kind: ProcedureKind, on: Date) -> Stored<ProcedureData> {
        stored(
            "p",
            ProcedureData {
                episode_id: episode.into(),
                performed_on: on,
                kind,
                amputation_level: None,
                target_arteries: vec![],
                angiosome_route: None,
                complications: vec![],
                notes: String::new(),
            },
        )
    }

    fn episode(id: &str, status: EpisodeStatus, closed_on: Option<Date>) -> Stored<EpisodeData> {
        stored(
            id,
            EpisodeData {
                limb_id: PATIENT.into(),
                aetiology: limbpath_record::Aetiology::PostAmputationOsseointegration,
                status,
                opened_on: date!(2024 - 01 - 01),
                closed_on,
                summary: String::new(),
            },
        )
    }

    fn record() -> PatientRecord {
        PatientRecord {
            patient: Some(stored(
                PATIENT,
                PatientData {
                    mrn: "MRN-1".into(),
                    site: "Site".into(),
                    family_name: "Doe".into(),
                    given_name: "Jo".into(),
                    birth_date: date!(1970 - 01 - 01),
                    sex: Sex::Female,
                    diabetes: DiabetesStatus::None,
                    hba1c_percent: None,
                    ckd_stage: None,
                    dialysis: false,
                    smoking: SmokingStatus::Never,
                    bmi: None,
                    ambulatory_status: AmbulatoryStatus::WithAid,
                },
            )),
            episodes: vec![episode(EPISODE, EpisodeStatus::FollowUp, None)],
            procedures: vec![procedure(EPISODE, ProcedureKind::OsseointegrationImplantStandard, date!(2025 - 03 - 03))],
            ..PatientRecord::default()
        }
    }

    fn alert(patient: &str, level: TriageLevel) -> GroupedAlert {
        GroupedAlert {
            key: AlertKey {
                patient_id: patient.into(),
                kind: AlertKind::CheckInRule { rule_id: "oi.temperature_above_38_5".into() },
            },
            level,
            count: 3,
            first_seen_ms: 1,
            last_seen_ms: 2,
            latest_summary: "a temperature of 39 °C".into(),
            acknowledged_at_ms: None,
            repeats_since_acknowledgement: 0,
        }
    }

    #[test]
    fn an_implant_gives_the_dental_or_other_surgery_flag_in_the_references_words() {
        let flags = patient_flags(&record(), &[], date!(2025 - 03 - 13)).unwrap();
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].kind, PatientFlagKind::OsseointegratedImplant);
        // §12.7: the dentist or surgeon must be told; antibiotics "may be needed", not "are given".
        assert_eq!(
            flags[0].text,
            "Osseointegrated implant: before dental or other surgery, the dentist or surgeon must be told about the \
             implant (prophylactic antibiotics may be needed)."
        );
        assert!(flags[0].rationale.source_ids().contains(&"protocols.oi_clinic.follow_up".to_owned()));
        // Before the operation there is no implant.
        assert!(patient_flags(&record(), &[], date!(2025 - 03 - 02)).unwrap().is_empty());
    }

    #[test]
    fn an_implant_removal_in_the_same_episode_ends_the_flag() {
        let mut r = record();
        r.outcome_events.push(stored(
            "o",
            OutcomeEventData {
                episode_id: EPISODE.into(),
                occurred_on: date!(2025 - 06 - 01),
                kind: OutcomeKind::ImplantRemoval,
                amputation_level: None,
                notes: String::new(),
            },
        ));
        assert_eq!(patient_flags(&r, &[], date!(2025 - 05 - 31)).unwrap().len(), 1);
        assert!(patient_flags(&r, &[], date!(2025 - 06 - 01)).unwrap().is_empty());
        // A removal in another episode does not.
        r.outcome_events[0].data.episode_id = OTHER_EPISODE.into();
        assert_eq!(patient_flags(&r, &[], date!(2025 - 06 - 01)).unwrap().len(), 1);
    }

    #[test]
    fn an_external_frame_is_assumed_in_place_while_its_episode_is_open() {
        let mut r = record();
        r.procedures = vec![procedure(OTHER_EPISODE, ProcedureKind::LengtheningExternalFrame, date!(2025 - 01 - 06))];
        r.episodes.push(episode(OTHER_EPISODE, EpisodeStatus::Treatment, None));
        let flags = patient_flags(&r, &[], date!(2025 - 02 - 01)).unwrap();
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].kind, PatientFlagKind::ExternalFrame);
        assert_eq!(flags[0].text, "External frame (lengthening, fitted 2025-01-06).");
        assert!(flags[0].rationale.has_flag(FlagKind::Review), "removal is not recorded");
        r.episodes[1] = episode(OTHER_EPISODE, EpisodeStatus::Closed, Some(date!(2025 - 06 - 01)));
        assert_eq!(patient_flags(&r, &[], date!(2025 - 05 - 31)).unwrap().len(), 1);
        assert!(patient_flags(&r, &[], date!(2025 - 06 - 02)).unwrap().is_empty());
        // An internal nail is not a frame.
        r.procedures[0].data.kind = ProcedureKind::LengtheningInternalNail;
        r.episodes[1] = episode(OTHER_EPISODE, EpisodeStatus::Treatment, None);
        assert!(patient_flags(&r, &[], date!(2025 - 02 - 01)).unwrap().is_empty());
    }

    #[test]
    fn open_high_priority_alerts_of_this_patient_are_flagged() {
        let other = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5eff";
        let alerts = vec![
            alert(PATIENT, TriageLevel::ContactTeamImmediately),
            alert(PATIENT, TriageLevel::ContactTeamToday),
            alert(other, TriageLevel::ContactTeamImmediately),
        ];
        let flags = patient_flags(&record(), &alerts, date!(2025 - 03 - 13)).unwrap();
        let open: Vec<&PatientFlag> =
            flags.iter().filter(|f| f.kind == PatientFlagKind::OpenHighPriorityAlert).collect();
        assert_eq!(open.len(), 1);
        assert_eq!(
            open[0].text,
            "Open alert, contact the team immediately: a temperature of 39 °C (3 time(s), not acknowledged)."
        );
    }

    #[test]
    fn the_check_in_context_comes_from_the_record() {
        let c = check_in_context(&record(), date!(2025 - 03 - 13)).unwrap();
        assert_eq!(
            c.value,
            CheckInContext { osseointegrated_implant: true, external_frame: false, days_since_surgery: Some(10) }
        );
        assert!(c.rationale.source_ids().iter().any(|s| s.starts_with("record:procedures[0]")));
        let empty = PatientRecord::default();
        let c = check_in_context(&empty, date!(2025 - 03 - 13)).unwrap();
        assert_eq!(c.value, CheckInContext::default());
        assert_eq!(patient_flags(&empty, &[], date!(2025 - 03 - 13)).unwrap_err().field, "record.patient");
        assert_eq!(check_in_context(&empty, date!(1800 - 01 - 01)).unwrap_err().field, "on");
    }

    proptest! {
        #[test]
        fn no_record_panics(
            procs in proptest::collection::vec((0usize..4, 0i64..400, any::<bool>()), 0..6),
            removals in proptest::collection::vec((any::<bool>(), 0i64..400), 0..3),
            closed in proptest::option::of(0i64..400),
            on in 0i64..500,
        ) {
            let base = date!(2025 - 01 - 01);
            let kinds = [
                ProcedureKind::OsseointegrationImplantStandard,
                ProcedureKind::OsseointegrationImplantCustom,
                ProcedureKind::LengtheningExternalFrame,
                ProcedureKind::Debridement,
            ];
            let mut r = record();
            r.procedures = procs.iter().map(|(k, d, same)| procedure(if *same { EPISODE } else { OTHER_EPISODE }, kinds[*k], base + time::Duration::days(*d))).collect();
            r.outcome_events = removals.iter().map(|(same, d)| stored("o", OutcomeEventData {
                episode_id: if *same { EPISODE.into() } else { OTHER_EPISODE.into() },
                occurred_on: base + time::Duration::days(*d),
                kind: OutcomeKind::ImplantRemoval,
                amputation_level: None,
                notes: String::new(),
            })).collect();
            if let Some(c) = closed {
                r.episodes = vec![episode(EPISODE, EpisodeStatus::Closed, Some(base + time::Duration::days(c)))];
            }
            let day = base + time::Duration::days(on);
            let flags = patient_flags(&r, &[], day).unwrap();
            let ctx = check_in_context(&r, day).unwrap().value;
            prop_assert_eq!(ctx.osseointegrated_implant, flags.iter().any(|f| f.kind == PatientFlagKind::OsseointegratedImplant));
            prop_assert_eq!(ctx.external_frame, flags.iter().any(|f| f.kind == PatientFlagKind::ExternalFrame));
            let _ = serde_json::to_string(&flags).unwrap();
        }
    }
}
