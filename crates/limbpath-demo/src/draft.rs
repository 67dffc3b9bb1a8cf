//! An episode as planned, then cut at the patient's death or the data cut-off
//! and turned into stored records.
//!
//! Planners push items with day numbers; anything after the episode's limit
//! (death or `AS_OF`) is dropped, so nothing is dated after death or after the
//! cut-off. `finish` then decides the status from what is left, closes the
//! episode on its last item plus a follow-up tail (or on the death), records
//! the death, validates every item and stores it with ids and timestamps.

use crate::ids::{Ids, date, ms};
use crate::rng::Rng;
use crate::{AS_OF_JD, Fail, ctx};
use limbpath_clinical::angiosome::WoundLocation;
use limbpath_clinical::perfusion::PressureSet;
use limbpath_record::{
    Aetiology, AmputationLevel, AngiosomeRoute, AssessmentData, CareTeamMemberData, ConsentData, Derived, Discipline,
    EpisodeData, EpisodeStatus, Id, ImagingModality, ImagingStudyData, OutcomeEventData, OutcomeKind, PatientRecord,
    ProcedureData, ProcedureKind, Stored, StoredAssessment, TargetArtery, Validate, VascularStudyData,
    VascularStudyKind, WoundData, WoundMeasurementData,
};

pub(crate) struct MeasurementDraft {
    pub day: i32,
    pub length: f64,
    pub width: f64,
    pub depth: Option<f64>,
    pub area: Option<f64>,
}

pub(crate) struct WoundDraft {
    pub location: WoundLocation,
    pub noted: i32,
    pub description: String,
    pub healed: Option<i32>,
    /// No measurement or healing after this day (the foot was amputated).
    pub end: i32,
    pub measurements: Vec<MeasurementDraft>,
}

pub(crate) struct VascularDraft {
    pub day: i32,
    pub kind: VascularStudyKind,
    pub pressures: Option<PressureSet>,
    pub tcpo2: Option<f64>,
    pub findings: String,
}

pub(crate) struct ImagingDraft {
    pub day: i32,
    pub modality: ImagingModality,
    pub findings: String,
    pub segments: Option<serde_json::Value>,
    pub t_score: Option<f64>,
}

pub(crate) struct ProcedureDraft {
    pub day: i32,
    pub kind: ProcedureKind,
    pub level: Option<AmputationLevel>,
    pub targets: Vec<TargetArtery>,
    pub route: Option<AngiosomeRoute>,
    pub complications: Vec<String>,
    pub notes: String,
}

impl ProcedureDraft {
    pub(crate) fn new(day: i32, kind: ProcedureKind, notes: impl Into<String>) -> ProcedureDraft {
        ProcedureDraft {
            day,
            kind,
            level: None,
            targets: Vec::new(),
            route: None,
            complications: Vec::new(),
            notes: notes.into(),
        }
    }
}

struct OutcomeDraft {
    day: i32,
    kind: OutcomeKind,
    level: Option<AmputationLevel>,
    notes: String,
}

struct ConsentDraft {
    day: i32,
    to: String,
    given_to: String,
    withdrawn: Option<i32>,
}

struct TeamDraft {
    day: i32,
    discipline: Discipline,
    name: &'static str,
    lead: bool,
}

/// What an episode's planner produces.
pub(crate) struct Draft {
    pub aetiology: Aetiology,
    pub opened: i32,
    opened_ms: i64,
    /// Last day anything may happen: the patient's death or the data cut-off.
    pub limit: i32,
    pub episode_id: Id,
    pub summary: String,
    /// Follow-up after the last planned item: the episode closes then, if
    /// that is before the cut-off.
    pub tail: i32,
    /// The last day of anything planned, kept or not.
    planned_last: i32,
    /// A death the planner caused (e.g. after a major amputation).
    pub died: Option<i32>,
    /// Something was planned after the cut-off (a booked procedure…).
    pub booked: bool,
    pub assessments: Vec<(AssessmentData, Derived)>,
    pub wounds: Vec<WoundDraft>,
    pub vascular: Vec<VascularDraft>,
    pub imaging: Vec<ImagingDraft>,
    pub procedures: Vec<ProcedureDraft>,
    outcomes: Vec<OutcomeDraft>,
    consents: Vec<ConsentDraft>,
    team: Vec<TeamDraft>,
}

/// How an episode ended.
pub(crate) struct Ended {
    pub closed_on: Option<i32>,
    pub death: Option<i32>,
    /// Amputations (day, level) that happened.
    pub amputations: Vec<(i32, AmputationLevel)>,
    /// Last day anything in the episode is dated.
    pub last_day: i32,
    /// An osseointegrated implant was inserted.
    pub implant: bool,
}

impl Draft {
    pub(crate) fn new(aetiology: Aetiology, opened: i32, opened_ms: i64, limit: i32, episode_id: Id) -> Draft {
        Draft {
            aetiology,
            opened,
            opened_ms,
            limit,
            episode_id,
            summary: String::new(),
            tail: 30,
            planned_last: opened,
            died: None,
            booked: false,
            assessments: Vec::new(),
            wounds: Vec::new(),
            vascular: Vec::new(),
            imaging: Vec::new(),
            procedures: Vec::new(),
            outcomes: Vec::new(),
            consents: Vec::new(),
            team: Vec::new(),
        }
    }

    /// Whether `day` can still be recorded; a later day marks something booked.
    pub(crate) fn keeps(&mut self, day: i32) -> bool {
        self.planned_last = self.planned_last.max(day);
        if day > self.limit {
            if day > AS_OF_JD && self.limit == AS_OF_JD {
                self.booked = true;
            }
            false
        } else {
            true
        }
    }

    /// Record an assessment and derive it through the engine; `None` when it
    /// falls after the limit.
    pub(crate) fn assess(&mut self, day: i32, findings: serde_json::Value) -> Result<Option<&Derived>, Fail> {
        if !self.keeps(day) {
            return Ok(None);
        }
        let data = AssessmentData {
            episode_id: self.episode_id.clone(),
            assessed_on: date("assessed_on", day).map_err(ctx("assessment"))?,
            findings: findings.into(),
        };
        let derived = data.derive().map_err(ctx("assessment"))?;
        self.assessments.push((data, derived));
        Ok(self.assessments.last().map(|(_, d)| d))
    }

    pub(crate) fn wound(&mut self, w: WoundDraft) {
        let seen = w.measurements.iter().map(|m| m.day).chain(w.healed).filter(|d| *d <= w.end).max();
        if let Some(d) = seen {
            self.planned_last = self.planned_last.max(d);
        }
        if self.keeps(w.noted) {
            self.wounds.push(w);
        }
    }

    pub(crate) fn vascular(&mut self, v: VascularDraft) {
        if self.keeps(v.day) {
            self.vascular.push(v);
        }
    }

    pub(crate) fn imaging(&mut self, i: ImagingDraft) {
        if self.keeps(i.day) {
            self.imaging.push(i);
        }
    }

    /// A procedure; returns whether it happened (before the limit).
    pub(crate) fn procedure(&mut self, p: ProcedureDraft) -> bool {
        if self.keeps(p.day) {
            self.procedures.push(p);
            true
        } else {
            false
        }
    }

    pub(crate) fn outcome(&mut self, day: i32, kind: OutcomeKind, notes: impl Into<String>) {
        if self.keeps(day) {
            self.outcomes.push(OutcomeDraft { day, kind, level: None, notes: notes.into() });
        }
    }

    /// An amputation: the procedure and its outcome event, same day and level.
    /// A major amputation also ends every wound of the foot.
    pub(crate) fn amputation(&mut self, day: i32, level: AmputationLevel, notes: impl Into<String>) -> bool {
        let major = level.is_major();
        let notes = notes.into();
        let kind = if major { ProcedureKind::MajorAmputation } else { ProcedureKind::MinorAmputation };
        let mut p = ProcedureDraft::new(day, kind, notes.clone());
        p.level = Some(level);
        if !self.procedure(p) {
            return false;
        }
        let kind = if major { OutcomeKind::MajorAmputation } else { OutcomeKind::MinorAmputation };
        self.outcomes.push(OutcomeDraft { day, kind, level: Some(level), notes });
        if major {
            for w in &mut self.wounds {
                w.end = w.end.min(day);
            }
        }
        true
    }

    /// Consent on `day` to `to`, given to `given_to`.
    pub(crate) fn consent(&mut self, day: i32, to: impl Into<String>, given_to: &str, withdrawn: Option<i32>) {
        if self.keeps(day) {
            self.consents.push(ConsentDraft { day, to: to.into(), given_to: given_to.to_owned(), withdrawn });
        }
    }

    /// Add a care-team member of `discipline` (once per discipline) joining on
    /// `day`; returns their name.
    pub(crate) fn member(&mut self, rng: &mut Rng, discipline: Discipline, day: i32) -> &'static str {
        if let Some(m) = self.team.iter().find(|m| m.discipline == discipline) {
            return m.name;
        }
        let names = crate::names::clinicians(discipline);
        let name = if names.is_empty() { "Dr A. Clinician" } else { rng.pick(names) };
        // Someone who would join after the limit does not join (the name is
        // still returned for a consent that will be dropped with it).
        let day = day.max(self.opened);
        if day <= self.limit {
            let lead = discipline == Discipline::CareCoordination;
            self.team.push(TeamDraft { day, discipline, name, lead });
        }
        name
    }

    /// The planner's death (perioperative): nothing is recorded after it.
    pub(crate) fn die(&mut self, day: i32) {
        if day <= self.limit {
            self.died = Some(day);
            self.limit = day;
        }
    }

    /// Cut at the limit, close or keep open, validate and store.
    pub(crate) fn finish(
        mut self,
        rec: &mut PatientRecord,
        ids: &mut Ids,
        rng: &mut Rng,
        limb_id: &Id,
        patient_death: Option<i32>,
    ) -> Result<Ended, Fail> {
        let limit = self.limit;
        let l = limit;
        self.assessments.retain(|(a, _)| a.assessed_on.to_julian_day() <= l);
        self.vascular.retain(|v| v.day <= l);
        self.imaging.retain(|i| i.day <= l);
        self.procedures.retain(|p| p.day <= l);
        self.outcomes.retain(|o| o.day <= l);
        self.consents.retain(|c| c.day <= l);
        self.team.retain(|t| t.day <= l);
        for w in &mut self.wounds {
            let end = w.end.min(l);
            w.measurements.retain(|m| m.day <= end);
            if w.healed.is_some_and(|h| h > end) {
                w.healed = None;
            }
        }
        // A wound needs two measurements to show a trajectory; one seen only
        // once before the cut-off is left out.
        self.wounds.retain(|w| w.noted <= l && w.measurements.len() >= 2);
        for w in &self.wounds {
            if let Some(h) = w.healed {
                self.outcomes.push(OutcomeDraft {
                    day: h,
                    kind: OutcomeKind::WoundHealed,
                    level: None,
                    notes: format!("{} healed", w.location.label()),
                });
            }
        }
        for c in &mut self.consents {
            if c.withdrawn.is_some_and(|w| w > l) {
                c.withdrawn = None;
            }
        }

        // The last day anything happened.
        let mut last = self.opened;
        let mut see = |d: i32| last = last.max(d);
        self.assessments.iter().for_each(|(a, _)| see(a.assessed_on.to_julian_day()));
        self.vascular.iter().for_each(|v| see(v.day));
        self.imaging.iter().for_each(|i| see(i.day));
        self.procedures.iter().for_each(|p| see(p.day));
        self.outcomes.iter().for_each(|o| see(o.day));
        self.consents.iter().for_each(|c| see(c.withdrawn.unwrap_or(c.day)));
        self.team.iter().for_each(|t| see(t.day));
        for w in &self.wounds {
            see(w.noted);
            w.measurements.iter().for_each(|m| see(m.day));
            if let Some(h) = w.healed {
                see(h);
            }
        }
        let close = (self.planned_last + self.tail).max(last);

        // Death ends the episode if it comes before the natural close.
        let death = self.died.or(patient_death.filter(|d| *d <= close && *d <= AS_OF_JD && *d >= self.opened));
        let (status, closed_on) = if let Some(d) = death {
            self.outcomes.push(OutcomeDraft { day: d, kind: OutcomeKind::Death, level: None, notes: String::new() });
            last = last.max(d);
            (EpisodeStatus::Closed, Some(d))
        } else if close <= AS_OF_JD {
            last = close;
            (EpisodeStatus::Closed, Some(close))
        } else {
            (self.open_status(), None)
        };

        let amputations: Vec<(i32, AmputationLevel)> =
            self.procedures.iter().filter_map(|p| p.level.map(|l| (p.day, l))).collect();

        let implant = self.procedures.iter().any(|p| {
            matches!(
                p.kind,
                ProcedureKind::OsseointegrationImplantStandard | ProcedureKind::OsseointegrationImplantCustom
            )
        });
        self.store(rec, ids, rng, limb_id, status, closed_on, last)?;
        Ok(Ended { closed_on, death, amputations, last_day: last, implant })
    }

    fn open_status(&self) -> EpisodeStatus {
        let treated = self.procedures.iter().map(|p| p.day).max();
        match treated {
            _ if self.assessments.is_empty() => EpisodeStatus::Referred,
            None if self.booked || AS_OF_JD - self.opened < 90 => EpisodeStatus::Evaluation,
            None => EpisodeStatus::FollowUp,
            Some(d) if self.booked || AS_OF_JD - d < 90 => EpisodeStatus::Treatment,
            Some(_) => EpisodeStatus::FollowUp,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn store(
        mut self,
        rec: &mut PatientRecord,
        ids: &mut Ids,
        rng: &mut Rng,
        limb_id: &Id,
        status: EpisodeStatus,
        closed_on: Option<i32>,
        last: i32,
    ) -> Result<(), Fail> {
        let eid = self.episode_id.clone();
        let mut stamp = |day: i32| ms(day, rng.days(8 * 60, 18 * 60 - 1));

        let episode_created = self.opened_ms;
        let episode = EpisodeData {
            limb_id: limb_id.clone(),
            aetiology: self.aetiology,
            status,
            opened_on: date("opened_on", self.opened).map_err(ctx("episode"))?,
            closed_on: closed_on.map(|d| date("closed_on", d)).transpose().map_err(ctx("episode"))?,
            summary: std::mem::take(&mut self.summary),
        };
        episode.validate().map_err(ctx("episode"))?;
        let updated = if last > self.opened { stamp(last) } else { episode_created };
        rec.episodes.push(Stored {
            id: eid.clone(),
            version: 1,
            created_at_ms: episode_created,
            updated_at_ms: updated.max(episode_created),
            data: episode,
        });

        self.assessments.sort_by_key(|(a, _)| a.assessed_on);
        for (data, derived) in self.assessments {
            let t = stamp(data.assessed_on.to_julian_day());
            let stored = Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: t, data };
            rec.assessments.push(StoredAssessment { stored, derived });
        }

        self.wounds.sort_by_key(|w| w.noted);
        for w in self.wounds {
            let created = stamp(w.noted);
            let wid = ids.next(created);
            let last_seen = w.healed.or(w.measurements.last().map(|m| m.day)).unwrap_or(w.noted);
            let updated = if last_seen > w.noted { stamp(last_seen) } else { created };
            let data = WoundData {
                episode_id: eid.clone(),
                location: w.location,
                noted_on: date("noted_on", w.noted).map_err(ctx("wound"))?,
                description: w.description,
                healed_on: w.healed.map(|d| date("healed_on", d)).transpose().map_err(ctx("wound"))?,
            };
            data.validate().map_err(ctx("wound"))?;
            rec.wounds.push(Stored {
                id: wid.clone(),
                version: 1,
                created_at_ms: created,
                updated_at_ms: updated,
                data,
            });
            for m in w.measurements {
                let t = stamp(m.day);
                let data = WoundMeasurementData {
                    wound_id: wid.clone(),
                    measured_on: date("measured_on", m.day).map_err(ctx("wound measurement"))?,
                    length_cm: m.length,
                    width_cm: m.width,
                    depth_cm: m.depth,
                    area_cm2: m.area,
                };
                data.validate().map_err(ctx("wound measurement"))?;
                rec.wound_measurements.push(Stored {
                    id: ids.next(t),
                    version: 1,
                    created_at_ms: t,
                    updated_at_ms: t,
                    data,
                });
            }
        }

        self.vascular.sort_by_key(|v| v.day);
        for v in self.vascular {
            let t = stamp(v.day);
            let data = VascularStudyData {
                episode_id: eid.clone(),
                performed_on: date("performed_on", v.day).map_err(ctx("vascular study"))?,
                kind: v.kind,
                pressures: v.pressures,
                tcpo2_mmhg: v.tcpo2,
                findings: v.findings,
            };
            data.validate().map_err(ctx("vascular study"))?;
            rec.vascular_studies.push(Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: t, data });
        }

        self.imaging.sort_by_key(|i| i.day);
        for i in self.imaging {
            let t = stamp(i.day);
            let data = ImagingStudyData {
                episode_id: eid.clone(),
                performed_on: date("performed_on", i.day).map_err(ctx("imaging study"))?,
                modality: i.modality,
                findings: i.findings,
                arterial_segments: i.segments,
                dexa_t_score: i.t_score,
            };
            data.validate().map_err(ctx("imaging study"))?;
            rec.imaging_studies.push(Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: t, data });
        }

        self.procedures.sort_by_key(|p| p.day);
        for p in self.procedures {
            let t = stamp(p.day);
            let data = ProcedureData {
                episode_id: eid.clone(),
                performed_on: date("performed_on", p.day).map_err(ctx("procedure"))?,
                kind: p.kind,
                amputation_level: p.level,
                target_arteries: p.targets,
                angiosome_route: p.route,
                complications: p.complications,
                notes: p.notes,
            };
            data.validate().map_err(ctx("procedure"))?;
            rec.procedures.push(Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: t, data });
        }

        self.outcomes.sort_by_key(|o| o.day);
        for o in self.outcomes {
            let t = stamp(o.day);
            let data = OutcomeEventData {
                episode_id: eid.clone(),
                occurred_on: date("occurred_on", o.day).map_err(ctx("outcome event"))?,
                kind: o.kind,
                amputation_level: o.level,
                notes: o.notes,
            };
            data.validate().map_err(ctx("outcome event"))?;
            rec.outcome_events.push(Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: t, data });
        }

        self.consents.sort_by_key(|c| c.day);
        for c in self.consents {
            let t = stamp(c.day);
            let updated = c.withdrawn.map_or(t, |w| stamp(w).max(t));
            let data = ConsentData {
                episode_id: eid.clone(),
                consented_to: c.to,
                consented_on: date("consented_on", c.day).map_err(ctx("consent"))?,
                given_to: c.given_to.to_owned(),
                withdrawn_on: c.withdrawn.map(|d| date("withdrawn_on", d)).transpose().map_err(ctx("consent"))?,
            };
            data.validate().map_err(ctx("consent"))?;
            rec.consents.push(Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: updated, data });
        }

        self.team.sort_by_key(|m| m.day);
        for m in self.team {
            let t = if m.day == self.opened { episode_created } else { stamp(m.day) };
            let data = CareTeamMemberData {
                episode_id: eid.clone(),
                user_id: None,
                name: m.name.to_owned(),
                discipline: m.discipline,
                lead: m.lead,
            };
            data.validate().map_err(ctx("care team member"))?;
            rec.care_team.push(Stored { id: ids.next(t), version: 1, created_at_ms: t, updated_at_ms: t, data });
        }
        Ok(())
    }
}
