//! Outcome definitions of the limb salvage programme, as versioned data: from
//! one episode's dated history (procedures, outcome events, assessments,
//! imaging), a time zero and, per outcome, a time to event or to censoring.
//!
//! The unit of analysis is the **episode** (one limb-threatening problem of
//! one limb, from referral to outcome): one row per episode, so a patient with
//! two limbs treated contributes two rows.
//!
//! - **Index date** ([`IndexDate`]): the episode's `opened_on`, or the
//!   *index procedure*: the first arterial revascularisation of the episode
//!   (a procedure whose kind is `pta`, `stent_bare`, `stent_drug_eluting`,
//!   `atherectomy`, `bypass`, `thrombolysis` or `thrombectomy`, i.e.
//!   [`ProcedureKind::is_revascularisation`]), the earliest by date. An
//!   episode without one has no index procedure and is excluded from an
//!   index-procedure analysis ([`Exclusion::NoIndexProcedure`]).
//! - **Last follow-up**: the last dated entry of the episode (its opening and
//!   closing dates, assessments, wounds noted or healed, wound measurements,
//!   vascular and imaging studies, procedures, outcome events), or the
//!   patient's death when that is recorded within the episode's span.
//! - Stages (WIfI, GLASS) for time zero: the latest staged assessment or
//!   imaging study at or before it, else the first within
//!   [`BASELINE_WINDOW_DAYS`] after it (the baseline work-up after referral).
//! - Events dated before the index date are history, not outcomes; an episode
//!   whose limb was already amputated above the ankle, or whose patient was
//!   already dead, before the index date is excluded
//!   ([`Exclusion::OutcomeBeforeIndex`]). Events on the index date count at
//!   day 0.
//!
//! No outcome definition here is taken from a source in the LimbPath
//! reference pack (`shared/clinical/REFERENCES.md` cites the Global Vascular
//! Guidelines for GLASS and WIfI, not for outcome end points): every one is
//! labelled "LimbPath operational definition". Change a definition only with
//! a new [`OUTCOME_DEFINITIONS_VERSION`]; every result names the version.

use limbpath_record::{AmputationLevel, Date, OutcomeKind, ProcedureKind};
use serde::Serialize;

/// The version of the outcome definitions below. Every analysis reports it.
pub const OUTCOME_DEFINITIONS_VERSION: &str = "limbpath-outcomes-1 (2026-11-21)";

/// Where every definition here comes from.
pub const OPERATIONAL_SOURCE: &str = "LimbPath operational definition (no outcome definition in the LimbPath \
     reference pack, shared/clinical/REFERENCES.md)";

/// Time zero of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexDate {
    /// The date the episode opened (referral).
    EpisodeStart,
    /// The first arterial revascularisation of the episode.
    IndexProcedure,
}

impl IndexDate {
    pub const ALL: [IndexDate; 2] = [IndexDate::EpisodeStart, IndexDate::IndexProcedure];

    pub fn code(self) -> &'static str {
        match self {
            IndexDate::EpisodeStart => "episode_start",
            IndexDate::IndexProcedure => "index_procedure",
        }
    }

    pub fn from_code(code: &str) -> Option<IndexDate> {
        IndexDate::ALL.into_iter().find(|i| i.code() == code)
    }

    /// The definition in words.
    pub fn definition(self) -> &'static str {
        match self {
            IndexDate::EpisodeStart => "the date the episode opened (opened_on)",
            IndexDate::IndexProcedure => {
                "the first arterial revascularisation of the episode (procedure kind pta, stent_bare, \
                 stent_drug_eluting, atherectomy, bypass, thrombolysis or thrombectomy), earliest by date; \
                 episodes without one are excluded"
            }
        }
    }
}

/// The outcomes a limb salvage programme reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    MajorAmputation,
    MinorAmputation,
    Death,
    AmputationFreeSurvival,
    Male,
    FreedomFromReintervention,
    WoundHealing,
    LimbSalvage,
}

/// One outcome's definition, as data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutcomeDefinition {
    pub outcome: Outcome,
    /// The code used in query strings and JSON.
    pub code: &'static str,
    /// The name in the clinic's words.
    pub name: &'static str,
    /// What counts as the event (code 1).
    pub event: &'static str,
    /// What competes with it (code 2 in a cumulative incidence analysis;
    /// censored at its date in a Kaplan-Meier analysis); empty when nothing does.
    pub competing: &'static str,
    /// How the curve is read: survival (freedom from the event) or incidence.
    pub reported_as: Reported,
    pub source: &'static str,
}

/// Whether the outcome is shown as a survival (event-free) curve or as a
/// cumulative incidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reported {
    /// S(t): the proportion still free of the event.
    Survival,
    /// 1 - S(t) or the Aalen-Johansen F(t): the proportion with the event.
    Incidence,
}

const MAJOR: &str = "a major amputation (above the ankle: transtibial, knee disarticulation, transfemoral, hip \
     disarticulation or hemipelvectomy; for an upper limb above the wrist; Syme counts as minor), recorded as an \
     outcome event major_amputation or a procedure major_amputation, whichever is dated first";

/// The definitions, version [`OUTCOME_DEFINITIONS_VERSION`].
pub const OUTCOME_DEFINITIONS: [OutcomeDefinition; 8] = [
    OutcomeDefinition {
        outcome: Outcome::MajorAmputation,
        code: "major_amputation",
        name: "Major amputation",
        event: MAJOR,
        competing: "death (of any cause, recorded within the episode's follow-up)",
        reported_as: Reported::Incidence,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::MinorAmputation,
        code: "minor_amputation",
        name: "Minor amputation",
        event: "a minor amputation (at or below the ankle: toe, ray, transmetatarsal, Lisfranc, Chopart, Syme; \
             digit or partial hand), recorded as an outcome event minor_amputation or a procedure \
             minor_amputation, whichever is dated first",
        competing: "major amputation or death, whichever is first",
        reported_as: Reported::Incidence,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::Death,
        code: "death",
        name: "Death",
        event: "death of any cause (outcome event death, in this episode or in another of the patient's \
             episodes when dated within this episode's follow-up)",
        competing: "",
        reported_as: Reported::Incidence,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::AmputationFreeSurvival,
        code: "amputation_free_survival",
        name: "Amputation-free survival",
        event: "major amputation (as defined for major_amputation) or death, whichever is first",
        competing: "",
        reported_as: Reported::Survival,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::Male,
        code: "male",
        name: "Freedom from MALE (major adverse limb event)",
        event: "major amputation, or a major reintervention: a procedure bypass, thrombectomy or thrombolysis \
             dated after the index procedure (the record has no separate code for graft revision; an outcome \
             event reintervention does not say whether it was major and is not counted)",
        competing: "death (censors)",
        reported_as: Reported::Survival,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::FreedomFromReintervention,
        code: "freedom_from_reintervention",
        name: "Freedom from reintervention",
        event: "an outcome event reintervention, or an arterial revascularisation procedure dated after the \
             episode's first revascularisation (the index procedure)",
        competing: "major amputation or death (censor)",
        reported_as: Reported::Survival,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::WoundHealing,
        code: "wound_healing",
        name: "Wound healing",
        event: "the first outcome event wound_healed",
        competing: "major amputation or death, whichever is first",
        reported_as: Reported::Incidence,
        source: OPERATIONAL_SOURCE,
    },
    OutcomeDefinition {
        outcome: Outcome::LimbSalvage,
        code: "limb_salvage",
        name: "Limb salvage (freedom from major amputation)",
        event: MAJOR,
        competing: "death (censors)",
        reported_as: Reported::Survival,
        source: OPERATIONAL_SOURCE,
    },
];

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::MajorAmputation,
        Outcome::MinorAmputation,
        Outcome::Death,
        Outcome::AmputationFreeSurvival,
        Outcome::Male,
        Outcome::FreedomFromReintervention,
        Outcome::WoundHealing,
        Outcome::LimbSalvage,
    ];

    pub fn definition(self) -> &'static OutcomeDefinition {
        &OUTCOME_DEFINITIONS[self as usize]
    }

    pub fn code(self) -> &'static str {
        self.definition().code
    }

    pub fn from_code(code: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == code)
    }
}

/// A procedure of the episode, as the analysis needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DatedProcedure {
    pub on: Date,
    pub kind: ProcedureKind,
    pub amputation_level: Option<AmputationLevel>,
}

/// An outcome event of the episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DatedOutcome {
    pub on: Date,
    pub kind: OutcomeKind,
    pub amputation_level: Option<AmputationLevel>,
}

/// One episode's dated history, as the store reads it (dates only: no names,
/// no identifiers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeHistory {
    pub opened_on: Date,
    /// The last dated entry of the episode (see the module docs); at least `opened_on`.
    pub last_entry_on: Date,
    /// The earliest death recorded anywhere in the patient's record.
    pub patient_death_on: Option<Date>,
    pub procedures: Vec<DatedProcedure>,
    pub outcomes: Vec<DatedOutcome>,
    /// (assessed_on, WIfI clinical stage 1-5) of assessments that have a stage.
    pub wifi_stages: Vec<(Date, u8)>,
    /// (performed_on, GLASS stage 1-3) of imaging studies with arterial segments
    /// whose stage is not "not applicable".
    pub glass_stages: Vec<(Date, u8)>,
}

/// Why an episode is not in an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Index procedure asked for, and the episode has no revascularisation.
    NoIndexProcedure,
    /// A major amputation or death is dated before the index date.
    OutcomeBeforeIndex,
}

impl Exclusion {
    pub fn words(self) -> &'static str {
        match self {
            Exclusion::NoIndexProcedure => "no arterial revascularisation in the episode (no index procedure)",
            Exclusion::OutcomeBeforeIndex => "major amputation or death dated before the index date",
        }
    }
}

/// The time to an outcome: days from the index date and the event code
/// (0 censored, 1 the event, 2 a competing event).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimeToEvent {
    pub days: f64,
    pub event: u8,
}

/// Days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    (to - from).whole_days()
}

fn first<T>(items: impl Iterator<Item = T>, date: impl Fn(&T) -> Date) -> Option<Date> {
    items.map(|x| date(&x)).min()
}

impl EpisodeHistory {
    /// The index procedure: the earliest arterial revascularisation.
    pub fn index_procedure(&self) -> Option<&DatedProcedure> {
        self.procedures.iter().filter(|p| p.kind.is_revascularisation()).min_by_key(|p| p.on)
    }

    /// The index date, or why there is none.
    pub fn index_date(&self, index: IndexDate) -> Result<Date, Exclusion> {
        let date = match index {
            IndexDate::EpisodeStart => self.opened_on,
            IndexDate::IndexProcedure => self.index_procedure().ok_or(Exclusion::NoIndexProcedure)?.on,
        };
        let before = |d: Option<Date>| d.is_some_and(|d| d < date);
        if before(self.all_major_amputation()) || before(self.death_on()) {
            return Err(Exclusion::OutcomeBeforeIndex);
        }
        Ok(date)
    }

    fn all_major_amputation(&self) -> Option<Date> {
        let events = first(self.outcomes.iter().filter(|o| o.kind == OutcomeKind::MajorAmputation), |o| o.on);
        let procs = first(self.procedures.iter().filter(|p| p.kind == ProcedureKind::MajorAmputation), |p| p.on);
        events.into_iter().chain(procs).min()
    }

    /// Death within the episode's span (recorded here or elsewhere).
    fn death_on(&self) -> Option<Date> {
        let here = first(self.outcomes.iter().filter(|o| o.kind == OutcomeKind::Death), |o| o.on);
        let elsewhere = self.patient_death_on.filter(|&d| d >= self.opened_on && d <= self.last_entry_on);
        here.into_iter().chain(elsewhere).min()
    }

    /// Last follow-up: the last dated entry, or the death if later.
    pub fn last_follow_up(&self) -> Date {
        self.death_on().map_or(self.last_entry_on, |d| d.max(self.last_entry_on))
    }

    /// The WIfI stage for time zero `on`: the latest staged assessment at or
    /// before it, else the first within [`BASELINE_WINDOW_DAYS`] after it.
    pub fn wifi_stage_at(&self, on: Date) -> Option<u8> {
        stage_for(&self.wifi_stages, on)
    }

    /// The GLASS stage for time zero `on`, by the same rule as the WIfI stage.
    pub fn glass_stage_at(&self, on: Date) -> Option<u8> {
        stage_for(&self.glass_stages, on)
    }

    /// The time from the index date to `outcome`, per its definition.
    pub fn time_to(&self, outcome: Outcome, index: IndexDate) -> Result<TimeToEvent, Exclusion> {
        let zero = self.index_date(index)?;
        let on_or_after = |d: Option<Date>| d.filter(|&d| d >= zero);
        let major = on_or_after(self.all_major_amputation());
        let death = on_or_after(self.death_on());
        let minor = on_or_after(
            first(self.outcomes.iter().filter(|o| o.kind == OutcomeKind::MinorAmputation), |o| o.on)
                .into_iter()
                .chain(first(self.procedures.iter().filter(|p| p.kind == ProcedureKind::MinorAmputation), |p| p.on))
                .filter(|&d| d >= zero)
                .min(),
        );
        let first_revasc = self.index_procedure().map(|p| p.on);
        let revasc_after = |major_only: bool| {
            first_revasc.and_then(|i| {
                self.procedures
                    .iter()
                    .filter(|p| p.on > i && p.on >= zero)
                    .filter(|p| {
                        if major_only {
                            matches!(
                                p.kind,
                                ProcedureKind::Bypass | ProcedureKind::Thrombectomy | ProcedureKind::Thrombolysis
                            )
                        } else {
                            p.kind.is_revascularisation()
                        }
                    })
                    .map(|p| p.on)
                    .min()
            })
        };
        let reintervention_event =
            self.outcomes.iter().filter(|o| o.kind == OutcomeKind::Reintervention && o.on >= zero).map(|o| o.on).min();
        let healed =
            self.outcomes.iter().filter(|o| o.kind == OutcomeKind::WoundHealed && o.on >= zero).map(|o| o.on).min();
        let min2 = |a: Option<Date>, b: Option<Date>| a.into_iter().chain(b).min();

        let (event, competing) = match outcome {
            Outcome::MajorAmputation | Outcome::LimbSalvage => (major, death),
            Outcome::MinorAmputation => (minor, min2(major, death)),
            Outcome::Death => (death, None),
            Outcome::AmputationFreeSurvival => (min2(major, death), None),
            Outcome::Male => (min2(major, revasc_after(true)), death),
            Outcome::FreedomFromReintervention => (min2(reintervention_event, revasc_after(false)), min2(major, death)),
            Outcome::WoundHealing => (healed, min2(major, death)),
        };
        let end = self.last_follow_up().max(zero);
        let r = match (event, competing) {
            // An event and a competing event on the same day: the event of interest counts.
            (Some(e), Some(c)) if c < e => TimeToEvent { days: days_between(zero, c) as f64, event: 2 },
            (Some(e), _) => TimeToEvent { days: days_between(zero, e) as f64, event: 1 },
            (None, Some(c)) => TimeToEvent { days: days_between(zero, c) as f64, event: 2 },
            (None, None) => TimeToEvent { days: days_between(zero, end) as f64, event: 0 },
        };
        Ok(r)
    }
}

/// How long after time zero a baseline staging may come when none precedes
/// it: the episode's work-up (assessment, then imaging) follows referral by
/// days, so from the episode start most episodes have no stage at or before
/// it. 30 days is the first reporting horizon ([`crate::STANDARD_HORIZONS`]);
/// a LimbPath operational choice, not a clinical threshold.
pub const BASELINE_WINDOW_DAYS: i64 = 30;

fn stage_for(stages: &[(Date, u8)], on: Date) -> Option<u8> {
    let before = stages.iter().filter(|(d, _)| *d <= on).max_by_key(|(d, _)| *d);
    let after = || {
        stages.iter().filter(|(d, _)| *d > on && days_between(on, *d) <= BASELINE_WINDOW_DAYS).min_by_key(|(d, _)| *d)
    };
    before.or_else(after).map(|(_, s)| *s)
}

/// For a Kaplan-Meier, log-rank or Cox analysis: competing events are
/// censored at their date (code 2 becomes 0).
pub fn binary_event(t: TimeToEvent) -> u8 {
    if t.event == 1 { 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limbpath_record::{AmputationLevel as L, OutcomeKind as O, ProcedureKind as P};

    fn d(s: &str) -> Date {
        let f = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(s, f).unwrap()
    }

    fn history() -> EpisodeHistory {
        EpisodeHistory {
            opened_on: d("2024-01-01"),
            last_entry_on: d("2024-12-31"),
            patient_death_on: None,
            procedures: vec![],
            outcomes: vec![],
            wifi_stages: vec![],
            glass_stages: vec![],
        }
    }

    fn proc_(on: &str, kind: P, level: Option<L>) -> DatedProcedure {
        DatedProcedure { on: d(on), kind, amputation_level: level }
    }

    fn event(on: &str, kind: O, level: Option<L>) -> DatedOutcome {
        DatedOutcome { on: d(on), kind, amputation_level: level }
    }

    fn t(days: f64, event: u8) -> Result<TimeToEvent, Exclusion> {
        Ok(TimeToEvent { days, event })
    }

    #[test]
    fn definitions_are_in_outcome_order_and_say_their_source() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(OUTCOME_DEFINITIONS[i].outcome, *o);
            assert_eq!(Outcome::from_code(o.code()), Some(*o));
            assert!(o.definition().source.contains("LimbPath operational definition"));
        }
        assert_eq!(IndexDate::from_code("index_procedure"), Some(IndexDate::IndexProcedure));
    }

    #[test]
    fn no_event_is_censored_at_the_last_entry() {
        let h = history();
        for o in Outcome::ALL {
            assert_eq!(h.time_to(o, IndexDate::EpisodeStart), t(365.0, 0), "{o:?}");
        }
        assert_eq!(h.time_to(Outcome::Death, IndexDate::IndexProcedure), Err(Exclusion::NoIndexProcedure));
    }

    #[test]
    fn major_amputation_with_death_competing() {
        let mut h = history();
        h.procedures.push(proc_("2024-02-01", P::Bypass, None));
        h.procedures.push(proc_("2024-06-01", P::MajorAmputation, Some(L::Transtibial)));
        h.outcomes.push(event("2024-06-01", O::MajorAmputation, Some(L::Transtibial)));
        h.outcomes.push(event("2024-09-01", O::Death, None));
        // 2024 is a leap year: Jan 1 -> Jun 1 = 152 days, Feb 1 -> Jun 1 = 121 days.
        assert_eq!(h.time_to(Outcome::MajorAmputation, IndexDate::EpisodeStart), t(152.0, 1));
        assert_eq!(h.time_to(Outcome::MajorAmputation, IndexDate::IndexProcedure), t(121.0, 1));
        assert_eq!(h.time_to(Outcome::LimbSalvage, IndexDate::IndexProcedure), t(121.0, 1));
        assert_eq!(h.time_to(Outcome::AmputationFreeSurvival, IndexDate::IndexProcedure), t(121.0, 1));
        assert_eq!(h.time_to(Outcome::Death, IndexDate::IndexProcedure), t(213.0, 1));
        assert_eq!(h.time_to(Outcome::Male, IndexDate::IndexProcedure), t(121.0, 1));
        // death first: a competing event for major amputation
        let mut h = history();
        h.outcomes.push(event("2024-03-01", O::Death, None));
        assert_eq!(h.time_to(Outcome::MajorAmputation, IndexDate::EpisodeStart), t(60.0, 2));
        assert_eq!(h.time_to(Outcome::AmputationFreeSurvival, IndexDate::EpisodeStart), t(60.0, 1));
        assert_eq!(binary_event(TimeToEvent { days: 60.0, event: 2 }), 0);
    }

    #[test]
    fn a_procedure_alone_counts_as_the_amputation() {
        let mut h = history();
        h.procedures.push(proc_("2024-01-11", P::MinorAmputation, Some(L::Toe)));
        assert_eq!(h.time_to(Outcome::MinorAmputation, IndexDate::EpisodeStart), t(10.0, 1));
        assert_eq!(h.time_to(Outcome::MajorAmputation, IndexDate::EpisodeStart), t(365.0, 0));
        // minor after a major amputation: the major amputation competes
        let mut h = history();
        h.outcomes.push(event("2024-01-21", O::MajorAmputation, Some(L::Transfemoral)));
        h.outcomes.push(event("2024-03-01", O::MinorAmputation, Some(L::Ray)));
        assert_eq!(h.time_to(Outcome::MinorAmputation, IndexDate::EpisodeStart), t(20.0, 2));
    }

    #[test]
    fn death_elsewhere_counts_only_within_follow_up() {
        let mut h = history();
        h.patient_death_on = Some(d("2024-04-10"));
        assert_eq!(h.time_to(Outcome::Death, IndexDate::EpisodeStart), t(100.0, 1));
        h.patient_death_on = Some(d("2025-06-01"));
        assert_eq!(h.time_to(Outcome::Death, IndexDate::EpisodeStart), t(365.0, 0));
    }

    #[test]
    fn male_counts_major_reinterventions_only() {
        let mut h = history();
        h.procedures.push(proc_("2024-01-05", P::Pta, None));
        h.procedures.push(proc_("2024-03-05", P::Pta, None));
        h.procedures.push(proc_("2024-05-05", P::Thrombolysis, None));
        h.outcomes.push(event("2024-02-05", O::Reintervention, None));
        // Index 2024-01-05. Reintervention event at day 31 (Feb 5).
        assert_eq!(h.time_to(Outcome::FreedomFromReintervention, IndexDate::IndexProcedure), t(31.0, 1));
        // MALE: thrombolysis 2024-05-05 = day 121; the PTA does not count.
        assert_eq!(h.time_to(Outcome::Male, IndexDate::IndexProcedure), t(121.0, 1));
        // Without the reintervention event, the second PTA (day 60) is the reintervention.
        h.outcomes.clear();
        assert_eq!(h.time_to(Outcome::FreedomFromReintervention, IndexDate::IndexProcedure), t(60.0, 1));
        // From episode start (Jan 1): the same PTA, day 64; the index PTA itself is not a reintervention.
        assert_eq!(h.time_to(Outcome::FreedomFromReintervention, IndexDate::EpisodeStart), t(64.0, 1));
    }

    #[test]
    fn wound_healing_competes_with_amputation_and_death() {
        let mut h = history();
        h.outcomes.push(event("2024-03-01", O::WoundHealed, None));
        assert_eq!(h.time_to(Outcome::WoundHealing, IndexDate::EpisodeStart), t(60.0, 1));
        let mut h = history();
        h.outcomes.push(event("2024-02-01", O::MajorAmputation, Some(L::KneeDisarticulation)));
        h.outcomes.push(event("2024-03-01", O::WoundHealed, None));
        assert_eq!(h.time_to(Outcome::WoundHealing, IndexDate::EpisodeStart), t(31.0, 2));
    }

    #[test]
    fn an_amputation_before_the_index_procedure_excludes_the_episode() {
        let mut h = history();
        h.outcomes.push(event("2024-01-10", O::MajorAmputation, Some(L::Transtibial)));
        h.procedures.push(proc_("2024-02-01", P::Pta, None));
        assert_eq!(h.time_to(Outcome::LimbSalvage, IndexDate::IndexProcedure), Err(Exclusion::OutcomeBeforeIndex));
        // a minor amputation before the index procedure is history, not an outcome
        let mut h = history();
        h.outcomes.push(event("2024-01-10", O::MinorAmputation, Some(L::Toe)));
        h.procedures.push(proc_("2024-02-01", P::Pta, None));
        assert_eq!(h.time_to(Outcome::MinorAmputation, IndexDate::IndexProcedure), t(334.0, 0));
    }

    #[test]
    fn stages_are_the_latest_at_or_before_the_index() {
        let mut h = history();
        h.wifi_stages = vec![(d("2024-01-01"), 2), (d("2024-02-01"), 4), (d("2024-06-01"), 1)];
        h.glass_stages = vec![(d("2024-01-20"), 3)];
        assert_eq!(h.wifi_stage_at(d("2024-03-01")), Some(4));
        assert_eq!(h.wifi_stage_at(d("2024-01-01")), Some(2));
        assert_eq!(h.glass_stage_at(d("2024-01-20")), Some(3));
        // none at or before: the first within 30 days after (the baseline work-up)
        assert_eq!(h.glass_stage_at(d("2024-01-01")), Some(3));
        assert_eq!(h.glass_stage_at(d("2023-12-20")), None, "31 days before the imaging");
        assert_eq!(h.glass_stage_at(d("2023-12-21")), Some(3), "30 days before");
    }

    #[test]
    fn last_follow_up_includes_a_later_death_in_the_episode() {
        let mut h = history();
        h.outcomes.push(event("2025-02-01", O::Death, None));
        assert_eq!(h.last_follow_up(), d("2025-02-01"));
        assert_eq!(h.time_to(Outcome::AmputationFreeSurvival, IndexDate::EpisodeStart), t(397.0, 1));
    }
}
