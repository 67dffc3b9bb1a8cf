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
