//! Follow-up schedule templates (editable, versioned data) and the dated
//! follow-up they give after a procedure.
//!
//! Shipped templates ([`shipped_templates`]):
//! - **After revascularisation**: clinical review with ABI/toe pressure and
//!   arterial duplex at 1, 3, 6 and 12 months. The reference pack gives no
//!   surveillance intervals: these are programme settings, flagged, with no
//!   citation claimed.
//! - **After osseointegration** (the treating institute's clinic protocol,
//!   REFERENCES.md §12.5–12.7, SINGLE-SOURCE): skin sutures removed partially
//!   at 3 weeks and completely at 4 weeks; component check and tightening
//!   every 3 months; no excessive physical activity for the first 12 months.
//!   The protocol gives no end to the 3-monthly checks: the schedule runs to
//!   24 months, a programme setting. The physiotherapy durations (§12.6–12.7)
//!   are "typical values, not deadlines", so no dates are derived from them.
//! - **During lengthening**: regular radiographs. The interval (every 2 weeks)
//!   and the span (to 12 weeks) are programme settings: the reference pack
//!   (§11) gives the distraction rate and latency but no radiograph interval.
//!
//! Months are calendar months; a day the month lacks becomes its last day
//! (31 January + 1 month = 28 or 29 February).

use crate::rationale::{Flag, FlagKind, Rationale, RuleSource, SourceStatus};
use crate::rules::Priority;
use crate::settings::ProgrammeSettings;
use crate::task::{CareTaskData, TaskKey, TaskStatus};
use crate::{check_code, days_between};
use limbpath_clinical::InvalidInput;
use limbpath_record::{Date, Discipline, Id, ProcedureData, ProcedureKind, Validate, check_id, check_text};
use serde::{Deserialize, Serialize};

/// A time after the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offset {
    Days(u32),
    Weeks(u32),
    /// Calendar months.
    Months(u32),
}

impl Offset {
    /// The date this long after `from`; `None` past the calendar's end.
    pub fn after(self, from: Date) -> Option<Date> {
        match self {
            Offset::Days(d) => crate::add_days(from, i64::from(d)),
            Offset::Weeks(w) => crate::add_days(from, i64::from(w) * 7),
            Offset::Months(m) => {
                let index = i64::from(from.year()) * 12 + i64::from(u8::from(from.month())) - 1 + i64::from(m);
                let year = i32::try_from(index.div_euclid(12)).ok()?;
                let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
                let day = from.day().min(month.length(year));
                Date::from_calendar_date(year, month, day).ok()
            }
        }
    }

    /// In words: "1 week", "3 months".
    pub fn words(self) -> String {
        let plural = |n: u32, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
        match self {
            Offset::Days(n) => plural(n, "day"),
            Offset::Weeks(n) => plural(n, "week"),
            Offset::Months(n) => plural(n, "month"),
        }
    }

    /// Roughly in days, for validation bounds only.
    fn approx_days(self) -> u64 {
        match self {
            Offset::Days(d) => u64::from(d),
            Offset::Weeks(w) => u64::from(w) * 7,
            Offset::Months(m) => u64::from(m) * 31,
        }
    }
}

/// When a template item falls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Timing {
    /// A visit at each of these offsets.
    At { at: Vec<Offset> },
    /// A visit at `first`, then every `every`, up to and including `until`.
    Every { first: Offset, every: Offset, until: Offset },
    /// A restriction from the procedure date until `until` (not a visit).
    Restriction { until: Offset },
}

/// One item of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateItem {
    /// Stable id within the template (follow-up keys use it).
    pub id: String,
    pub description: String,
    pub discipline: Discipline,
    pub timing: Timing,
    pub source: RuleSource,
    #[serde(default)]
    pub flags: Vec<Flag>,
}

/// A versioned follow-up schedule template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpTemplate {
    pub id: String,
    pub version: String,
    pub title: String,
    /// The procedures it follows.
    pub applies_to: Vec<ProcedureKind>,
    pub items: Vec<TemplateItem>,
}

// Engineering bounds (not clinical): a template spanning more than 10 years,
// or one item with more than 200 visits, is a typo.
const MAX_SPAN_DAYS: u64 = 3660;
const MAX_VISITS_PER_ITEM: usize = 200;

impl FollowUpTemplate {
    /// Check the template, naming the field (`template.items[2].timing.every`).
    pub fn validate(&self) -> Result<(), InvalidInput> {
        check_code("template.id", &self.id)?;
        check_text("template.version", &self.version, 64, true)?;
        check_text("template.title", &self.title, 500, true)?;
        if self.applies_to.is_empty() {
            return Err(InvalidInput::missing("template.applies_to", "one or more procedure kinds"));
        }
        let mut ids: Vec<&str> = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            let at = format!("template.items[{i}]");
            check_code(&format!("{at}.id"), &item.id)?;
            if ids.contains(&item.id.as_str()) {
                return Err(InvalidInput::inconsistent(format!("{at}.id"), &item.id, "an item id used once"));
            }
            ids.push(&item.id);
            check_text(&format!("{at}.description"), &item.description, 1000, true)?;
            check_text(&format!("{at}.source.citation"), &item.source.citation, 1000, true)?;
            check_text(&format!("{at}.source.reference"), &item.source.reference, 500, true)?;
            let span = |field: String, o: Offset| {
                if o.approx_days() > MAX_SPAN_DAYS {
                    Err(InvalidInput::out_of_range(field, o.words(), "at most 10 years after the procedure"))
                } else {
                    Ok(())
                }
            };
            match &item.timing {
                Timing::At { at: offsets } => {
                    if offsets.is_empty() {
                        return Err(InvalidInput::missing(format!("{at}.timing.at"), "one or more offsets"));
                    }
                    for (j, o) in offsets.iter().enumerate() {
                        span(format!("{at}.timing.at[{j}]"), *o)?;
                    }
                }
                Timing::Every { first, every, until } => {
                    span(format!("{at}.timing.first"), *first)?;
                    span(format!("{at}.timing.until"), *until)?;
                    span(format!("{at}.timing.every"), *every)?;
                    if every.approx_days() == 0 {
                        return Err(InvalidInput::out_of_range(
                            format!("{at}.timing.every"),
                            every.words(),
                            "an interval of at least 1 day",
                        ));
                    }
                    if first.approx_days() > until.approx_days() {
                        return Err(InvalidInput::inconsistent(
                            format!("{at}.timing.until"),
                            until.words(),
                            format!("an end on or after the first visit ({})", first.words()),
                        ));
                    }
                }
                Timing::Restriction { until } => span(format!("{at}.timing.until"), *until)?,
            }
        }
        Ok(())
    }
}

/// Identifies one dated follow-up item: completed visits point at it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpKey {
    pub procedure_id: Id,
    pub template_id: String,
    pub item_id: String,
    /// 1 for the first visit of the item, 2 for the second, …
    pub occurrence: u32,
}

/// A visit, or a restriction with its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FollowUpWhen {
    Visit { due_on: Date },
    Restriction { from: Date, until: Date },
}

/// One dated follow-up item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpItem {
    pub key: FollowUpKey,
    pub template_version: String,
    pub description: String,
    pub discipline: Discipline,
    pub when: FollowUpWhen,
    pub rationale: Rationale,
}

/// The dated follow-up for a procedure.
pub fn schedule(
    procedure_id: &str,
    procedure: &ProcedureData,
    template: &FollowUpTemplate,
) -> Result<Vec<FollowUpItem>, InvalidInput> {
    template.validate()?;
    check_id("procedure_id", procedure_id)?;
    procedure.validate().map_err(|e| e.within("procedure"))?;
    if !template.applies_to.contains(&procedure.kind) {
        return Err(InvalidInput::inconsistent(
            "procedure.kind",
            procedure.kind,
            format!(
                "a procedure template {} follows: {}",
                template.id,
                template.applies_to.iter().map(|k| k.code()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let on = procedure.performed_on;
    let date = |field: String, o: Offset| {
        o.after(on).ok_or_else(|| InvalidInput::out_of_range(field, on, "a procedure date the schedule can follow"))
    };
    let mut out = Vec::new();
    for (i, item) in template.items.iter().enumerate() {
        let field = format!("template.items[{i}].timing");
        let mut push = |occurrence: u32, when: FollowUpWhen, words: String| {
            let mut rationale = Rationale::new(
                format!("{}: {words} after {} on {on}", item.description, procedure.kind),
                item.source.clone(),
            );
            rationale.input("procedure.kind", procedure.kind);
            rationale.input("procedure.performed_on", on);
            for f in &item.flags {
                rationale.flag(f.clone());
            }
            out.push(FollowUpItem {
                key: FollowUpKey {
                    procedure_id: procedure_id.to_owned(),
                    template_id: template.id.clone(),
                    item_id: item.id.clone(),
                    occurrence,
                },
                template_version: template.version.clone(),
                description: item.description.clone(),
                discipline: item.discipline,
                when,
                rationale,
            });
        };
        match &item.timing {
            Timing::At { at } => {
                for (j, o) in at.iter().enumerate() {
                    let due_on = date(format!("{field}.at[{j}]"), *o)?;
                    push(j as u32 + 1, FollowUpWhen::Visit { due_on }, o.words());
                }
            }
            Timing::Every { first, every, until } => {
                let end = date(format!("{field}.until"), *until)?;
                let mut due_on = date(format!("{field}.first"), *first)?;
                let mut n = 0u32;
                while due_on <= end && (n as usize) < MAX_VISITS_PER_ITEM {
                    n += 1;
                    push(n, FollowUpWhen::Visit { due_on }, format!("visit {n}, every {}", every.words()));
                    // Months are counted from the procedure, not chained, so 31 Jan → 30 Apr → 31 Jul.
                    due_on = match (first, every) {
                        (Offset::Months(f), Offset::Months(e)) => {
                            date(format!("{field}.every"), Offset::Months(f + e * n))?
                        }
                        _ => match every.after(due_on) {
                            Some(d) => d,
                            None => break,
                        },
                    };
                }
            }
            Timing::Restriction { until } => {
                let until_date = date(format!("{field}.until"), *until)?;
                push(1, FollowUpWhen::Restriction { from: on, until: until_date }, format!("for {}", until.words()));
            }
        }
    }
    Ok(out)
}

/// A follow-up visit that took place, recorded against its item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletedVisit {
    pub key: FollowUpKey,
    pub completed_on: Date,
}

/// Where a follow-up item stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpState {
    /// A visit was recorded against it.
    Done,
    /// A visit due today or later, or a restriction not yet started.
    Upcoming,
    /// Past its due date, within the programme's grace days.
    Overdue,
    /// Past its due date by more than the grace days, with no visit.
    Missed,
    /// A restriction not yet over (today within its period).
    RestrictionActive,
    /// A restriction whose period has ended.
    RestrictionEnded,
}

/// One item's state today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUpStatus {
    pub key: FollowUpKey,
    pub state: FollowUpState,
    pub when: FollowUpWhen,
    pub completed_on: Option<Date>,
    /// Days past the due date (overdue or missed), or past the grace days when
    /// done late.
    pub days_late: Option<i64>,
    pub rationale: Rationale,
}

/// Which follow-up items are done, upcoming, overdue or missed today. A visit
/// counts for the item its key names (the earliest, if several); a visit done
/// after the grace days is done, flagged late. Visits whose key names none of
/// `items` are ignored, so a caller may pass all of a patient's visits.
pub fn follow_up_status(
    items: &[FollowUpItem],
    visits: &[CompletedVisit],
    today: Date,
    settings: &ProgrammeSettings,
) -> Result<Vec<FollowUpStatus>, InvalidInput> {
    settings.validate()?;
    crate::check_today(today)?;
    let grace = settings.follow_up_grace_days;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut r = item.rationale.clone();
        r.setting(grace.used("follow_up_grace_days"));
        let visit = visits.iter().filter(|v| v.key == item.key).map(|v| v.completed_on).min();
        let (state, days_late) = match item.when {
            FollowUpWhen::Restriction { from, until } => {
                let active = today >= from && today <= until;
                r.because.push(format!(
                    "restriction from {from} until {until}: {}",
                    if active {
                        "in force today"
                    } else if today < from {
                        "not started"
                    } else {
                        "ended"
                    }
                ));
                let state = if today > until {
                    FollowUpState::RestrictionEnded
                } else if today < from {
                    FollowUpState::Upcoming
                } else {
                    FollowUpState::RestrictionActive
                };
                (state, None)
            }
            FollowUpWhen::Visit { due_on } => {
                let late_after = crate::add_days(due_on, i64::from(grace.value)).unwrap_or(due_on);
                if let Some(done) = visit {
                    let late = days_between(late_after, done);
                    r.input("visit.completed_on", done);
                    r.because.push(format!("visit recorded on {done} (due {due_on})"));
                    if late > 0 {
                        r.flag(Flag::new(
                            FlagKind::Review,
                            format!("done {late} days after the grace period ended ({late_after})"),
                        ));
                    }
                    (FollowUpState::Done, (late > 0).then_some(late))
                } else if today <= due_on {
                    r.because.push(format!("due {due_on}, no visit yet: upcoming"));
                    (FollowUpState::Upcoming, None)
                } else {
                    let late = days_between(due_on, today);
                    let missed = today > late_after;
                    r.because.push(format!(
                        "due {due_on}, no visit by {today} ({late} days late; grace {} days, programme setting): {}",
                        grace.value,
                        if missed { "missed" } else { "overdue" }
                    ));
                    (if missed { FollowUpState::Missed } else { FollowUpState::Overdue }, Some(late))
                }
            }
        };
        out.push(FollowUpStatus {
            key: item.key.clone(),
            state,
            when: item.when,
            completed_on: visit,
            days_late,
            rationale: r,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Missed follow-up → a coordinator task.
// ---------------------------------------------------------------------------

/// The rule that turns a missed follow-up visit into a coordinator task. The
/// key of each task it makes is `follow_up.missed.<16 hex digits>`: a
/// deterministic digest (FNV-1a, 64 bits) of the item's [`FollowUpKey`]
/// (procedure, template, item, occurrence), which does not fit a rule id
/// whole; the task's rationale carries the key in full.
pub const MISSED_FOLLOW_UP_RULE: &str = "follow_up.missed";

/// The task key's rule id for one follow-up item.
pub fn missed_follow_up_rule_id(key: &FollowUpKey) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let occurrence = key.occurrence.to_string();
    for part in [key.procedure_id.as_str(), key.template_id.as_str(), key.item_id.as_str(), occurrence.as_str()] {
        // each part ends with a byte no part contains, so ("ab", "c") and ("a", "bc") differ
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{MISSED_FOLLOW_UP_RULE}.{h:016x}")
}

fn missed_rule_source() -> RuleSource {
    RuleSource {
        citation: "LimbPath programme policy: a follow-up visit missed beyond the grace days is rebooked by the \
                   care coordinator"
            .to_owned(),
        reference: "not in the reference pack".to_owned(),
        status: SourceStatus::ProgrammePolicy,
        note: "the follow-up item's own source is in the rationale's inputs and conditions".to_owned(),
        criteria_sources: Vec::new(),
    }
}

/// The coordinator tasks for today's missed follow-up visits of an episode:
/// one per item [`follow_up_status`] calls [`FollowUpState::Missed`] whose
/// task key is not among `existing` (a task in any state, so a rebooked or
/// cancelled one is never recreated; a visit recorded later makes the item
/// done, and no new task). The task is due on the visit's own due date (so it
/// is overdue on the worklist at once), created as of that date, urgent
/// (programme policy), for care coordination; its rationale is the item's
/// (template, source, grace days) plus this rule.
pub fn missed_follow_up_tasks(
    episode_id: &str,
    items: &[FollowUpItem],
    visits: &[CompletedVisit],
    existing: &[TaskKey],
    today: Date,
    settings: &ProgrammeSettings,
) -> Result<Vec<CareTaskData>, InvalidInput> {
    check_id("episode_id", episode_id)?;
    let statuses = follow_up_status(items, visits, today, settings)?;
    let mut out = Vec::new();
    for (item, status) in items.iter().zip(statuses) {
        let (FollowUpState::Missed, FollowUpWhen::Visit { due_on }) = (status.state, item.when) else {
            continue;
        };
        let key =
            TaskKey { rule_id: missed_follow_up_rule_id(&item.key), episode_id: episode_id.to_owned(), wound_id: None };
        if existing.contains(&key) {
            continue;
        }
        let mut rationale = Rationale::new(
            format!(
                "A follow-up visit past its due date by more than the grace days, with no visit recorded, is a \
                 coordinator task to rebook it ({MISSED_FOLLOW_UP_RULE})"
            ),
            missed_rule_source(),
        );
        rationale.input("follow_up.key", &item.key);
        rationale.input("follow_up.template_version", &item.template_version);
        rationale.input("follow_up.due_on", due_on);
        rationale.input("today", today);
        rationale.because.push(format!("follow-up item: {}", item.rationale.rule));
        rationale.because.push(format!(
            "the item's source: {} ({}, {:?})",
            item.rationale.source.citation, item.rationale.source.reference, item.rationale.source.status
        ));
        rationale.absorb(status.rationale);
        rationale.flag(Flag::new(
            FlagKind::ProgrammePolicy,
            "rebooking a missed follow-up as an urgent coordinator task is programme policy",
        ));
        out.push(CareTaskData {
            key,
            title: format!("Missed follow-up: {} (due {due_on}); rebook it", item.description),
            discipline: Discipline::CareCoordination,
            priority: Priority::Urgent,
            created_on: due_on,
            due_on,
            ruleset_id: format!("follow-up template {}", item.key.template_id),
            ruleset_version: item.template_version.clone(),
            rationale,
            status: TaskStatus::Open,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Shipped templates.
// ---------------------------------------------------------------------------

fn programme_interval(what: &str) -> RuleSource {
    RuleSource {
        citation: format!("LimbPath programme setting: {what}"),
        reference: "not in the reference pack".to_owned(),
        status: SourceStatus::ProgrammePolicy,
        note: "REFERENCES.md gives no such interval; no citation is claimed. Edit the template to the programme's \
               own schedule"
            .to_owned(),
        criteria_sources: Vec::new(),
    }
}

fn programme_flag(what: &str) -> Flag {
    Flag::new(
        FlagKind::ProgrammeSetting,
        format!("{what}: {} (shipped default template)", crate::settings::PROGRAMME_SETTING_NOTE),
    )
}

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.5–12.7 | status: SINGLE-SOURCE
fn oi_protocol(section: &str, words: &str) -> RuleSource {
    RuleSource {
        citation: format!(
            "Clinic protocol as published by the treating institute (osseointegration patient information): {words}"
        ),
        reference: format!("REFERENCES.md {section}"),
        status: SourceStatus::SingleSource,
        note: "single source; re-check before clinical release".to_owned(),
        criteria_sources: vec!["osseointegration.clinic_protocol".to_owned()],
    }
}

fn oi_flag() -> Flag {
    Flag::new(FlagKind::SingleSource, "the osseointegration clinic protocol is single-source (REFERENCES.md §12)")
}

/// Id of the shipped after-revascularisation template.
pub const AFTER_REVASCULARISATION: &str = "after_revascularisation";
/// Id of the shipped after-osseointegration template.
pub const AFTER_OSSEOINTEGRATION: &str = "after_osseointegration";
/// Id of the shipped during-lengthening template.
pub const DURING_LENGTHENING: &str = "during_lengthening";

/// The templates LimbPath ships (version 1 each).
pub fn shipped_templates() -> Vec<FollowUpTemplate> {
    use ProcedureKind::*;
    let revascularisation: Vec<ProcedureKind> =
        ProcedureKind::ALL.iter().copied().filter(|k| k.is_revascularisation()).collect();
    vec![
        FollowUpTemplate {
            id: AFTER_REVASCULARISATION.to_owned(),
            version: "1".to_owned(),
            title: "After revascularisation: surveillance".to_owned(),
            applies_to: revascularisation,
            items: vec![TemplateItem {
                id: "review_abi_toe_duplex".to_owned(),
                description: "Clinical review with ABI/toe pressure and arterial duplex".to_owned(),
                discipline: Discipline::VascularSurgery,
                // programme setting, not from the reference pack: no surveillance interval in REFERENCES.md.
                timing: Timing::At {
                    at: vec![Offset::Months(1), Offset::Months(3), Offset::Months(6), Offset::Months(12)],
                },
                source: programme_interval("surveillance review at 1, 3, 6 and 12 months after revascularisation"),
                flags: vec![programme_flag("the surveillance intervals")],
            }],
        },
        FollowUpTemplate {
            id: AFTER_OSSEOINTEGRATION.to_owned(),
            version: "1".to_owned(),
            title: "After osseointegration (clinic protocol)".to_owned(),
            applies_to: vec![OsseointegrationImplantStandard, OsseointegrationImplantCustom],
            items: vec![
                TemplateItem {
                    id: "sutures_partial".to_owned(),
                    description: "Remove skin sutures partially".to_owned(),
                    discipline: Discipline::Orthopaedics,
                    timing: Timing::At { at: vec![Offset::Weeks(3)] },
                    source: oi_protocol("§12.5", "skin sutures usually removed partially at 3 weeks"),
                    flags: vec![oi_flag()],
                },
                TemplateItem {
                    id: "sutures_complete".to_owned(),
                    description: "Remove the remaining skin sutures".to_owned(),
                    discipline: Discipline::Orthopaedics,
                    timing: Timing::At { at: vec![Offset::Weeks(4)] },
                    source: oi_protocol("§12.5", "skin sutures usually removed completely at 4 weeks"),
                    flags: vec![oi_flag()],
                },
                TemplateItem {
                    id: "component_check".to_owned(),
                    description: "Check and tighten the prosthetic components".to_owned(),
                    discipline: Discipline::Prosthetics,
                    // every 3 months: §12.7; until 24 months: programme setting, not from the reference pack
                    timing: Timing::Every {
                        first: Offset::Months(3),
                        every: Offset::Months(3),
                        until: Offset::Months(24),
                    },
                    source: oi_protocol("§12.7", "component tightening every 3 months"),
                    flags: vec![
                        oi_flag(),
                        programme_flag("the protocol gives no end to the 3-monthly checks; scheduling to 24 months"),
                    ],
                },
                TemplateItem {
                    id: "activity_restriction".to_owned(),
                    description: "No excessive physical activity".to_owned(),
                    discipline: Discipline::Rehabilitation,
                    timing: Timing::Restriction { until: Offset::Months(12) },
                    source: oi_protocol("§12.7", "no excessive physical activity for the first 12 months"),
                    flags: vec![oi_flag()],
                },
            ],
        },
        FollowUpTemplate {
            id: DURING_LENGTHENING.to_owned(),
            version: "1".to_owned(),
            title: "During lengthening: radiographic monitoring".to_owned(),
            applies_to: vec![LengtheningExternalFrame, LengtheningInternalNail],
            items: vec![TemplateItem {
                id: "radiograph".to_owned(),
                description: "Radiograph of the lengthening segment".to_owned(),
                discipline: Discipline::Orthopaedics,
                // programme setting, not from the reference pack: §11 gives rate and latency, no radiograph interval.
                timing: Timing::Every { first: Offset::Weeks(2), every: Offset::Weeks(2), until: Offset::Weeks(12) },
                source: programme_interval("radiographs every 2 weeks for 12 weeks during lengthening"),
                flags: vec![programme_flag("the radiograph interval and span")],
            }],
        },
    ]
}

/// A shipped template by id.
pub fn shipped_template(id: &str) -> Option<FollowUpTemplate> {
    shipped_templates().into_iter().find(|t| t.id == id)
}

// ---------------------------------------------------------------------------
// A programme's edit of a shipped template.
// ---------------------------------------------------------------------------

/// Who edited a template for the programme, when, why, and the programme's
/// revision of it (1 for its first edit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeEdit {
    pub edited_by: String,
    pub edited_on: Date,
    /// The editor's reason or source for the change, in their words.
    pub reason: String,
    pub revision: u32,
}

/// The words every item a programme changed carries instead of a citation.
pub const EDITED_BY_THE_PROGRAMME: &str = "Edited by the programme";

fn edited_source(edit: &ProgrammeEdit, shipped: Option<&TemplateItem>) -> RuleSource {
    RuleSource {
        citation: format!("{EDITED_BY_THE_PROGRAMME}: {}", edit.reason.trim()),
        reference: format!("not in the reference pack; edited by {} on {}", edit.edited_by.trim(), edit.edited_on),
        status: SourceStatus::ProgrammePolicy,
        note: match shipped {
            Some(item) => format!(
                "replaces the shipped item, whose source was: {} ({}, {:?})",
                item.source.citation, item.source.reference, item.source.status
            ),
            None => "an item the programme added; the shipped template has no such item".to_owned(),
        },
        criteria_sources: Vec::new(),
    }
}

/// The programme's version of a shipped template from the editor's document.
///
/// The edited document must be a valid template with the shipped template's
/// id. An item equal to the shipped item of the same id in what it schedules
/// (description, discipline, timing), in a template for the same procedures,
/// keeps the shipped source and flags, so a shipped interval keeps its
/// citation; every other item's source is replaced
/// by "Edited by the programme: <reason>" (programme policy, with the editor
/// and date), whatever source the document claims, and it is flagged as a
/// programme setting. The version is `<shipped version>+programme.<revision>`.
pub fn programme_template(
    shipped: &FollowUpTemplate,
    edited: &FollowUpTemplate,
    edit: &ProgrammeEdit,
) -> Result<FollowUpTemplate, InvalidInput> {
    check_text("edited_by", &edit.edited_by, 200, true)?;
    check_text("reason", &edit.reason, 2000, true)?;
    if edit.revision == 0 {
        return Err(InvalidInput::out_of_range("revision", edit.revision, "a revision of 1 or more"));
    }
    if edited.id != shipped.id {
        return Err(InvalidInput::inconsistent(
            "template.id",
            &edited.id,
            format!("the edited template's id {}", shipped.id),
        ));
    }
    let mut out = edited.clone();
    out.version = format!("{}+programme.{}", shipped.version, edit.revision);
    // A shipped source speaks for the procedures it was written for: applied to others, no item keeps it.
    let same_procedures = edited.applies_to.len() == shipped.applies_to.len()
        && edited.applies_to.iter().all(|k| shipped.applies_to.contains(k));
    for item in &mut out.items {
        let original = shipped.items.iter().find(|s| s.id == item.id);
        match original {
            Some(s)
                if same_procedures
                    && s.description == item.description
                    && s.discipline == item.discipline
                    && s.timing == item.timing =>
            {
                item.source = s.source.clone();
                item.flags = s.flags.clone();
            }
            _ => {
                item.source = edited_source(edit, original);
                item.flags = vec![Flag::new(
                    FlagKind::ProgrammeSetting,
                    format!(
                        "{EDITED_BY_THE_PROGRAMME} ({} on {}): a programme setting, not from the reference pack",
                        edit.edited_by.trim(),
                        edit.edited_on
                    ),
                )];
            }
        }
    }
    out.validate()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const PROC: &str = "0192f0c5-3b1e-7c2a-9f00-00000000b001";

    fn procedure(kind: ProcedureKind, on: Date) -> ProcedureData {
        ProcedureData {
            episode_id: "0192f0c5-3b1e-7c2a-9f00-00000000e001".into(),
            performed_on: on,
            kind,
            amputation_level: None,
            target_arteries: vec![],
            angiosome_route: None,
            complications: vec![],
            notes: String::new(),
        }
    }

    fn visits(items: &[FollowUpItem]) -> Vec<Date> {
        items
            .iter()
            .filter_map(|i| match i.when {
                FollowUpWhen::Visit { due_on } => Some(due_on),
                FollowUpWhen::Restriction { .. } => None,
            })
            .collect()
    }

    #[test]
    fn shipped_templates_are_valid_and_round_trip_as_json() {
        for t in shipped_templates() {
            t.validate().unwrap();
            let back: FollowUpTemplate = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
            assert_eq!(back, t);
        }
        let v = serde_json::to_value(shipped_template(AFTER_OSSEOINTEGRATION).unwrap()).unwrap();
        assert_eq!(
            v["items"][2]["timing"],
            serde_json::json!({"kind": "every", "first": {"months": 3}, "every": {"months": 3}, "until": {"months": 24}})
        );
    }

    // REFERENCES.md §12.5: sutures partially at 3 weeks, completely at 4 weeks (SINGLE-SOURCE).
    // REFERENCES.md §12.7: component tightening every 3 months; no excessive activity for 12 months.
    #[test]
    fn osseointegration_follow_up_follows_the_clinic_protocol() {
        let t = shipped_template(AFTER_OSSEOINTEGRATION).unwrap();
        let items =
            schedule(PROC, &procedure(ProcedureKind::OsseointegrationImplantStandard, date!(2026 - 01 - 31)), &t)
                .unwrap();
        let due = |id: &str| -> Vec<Date> {
            visits(&items.iter().filter(|i| i.key.item_id == id).cloned().collect::<Vec<_>>())
        };
        assert_eq!(due("sutures_partial"), vec![date!(2026 - 02 - 21)]); // 31 Jan + 21 days
        assert_eq!(due("sutures_complete"), vec![date!(2026 - 02 - 28)]); // 31 Jan + 28 days
        // calendar months from the procedure, clamped to the month's end: 30 Apr, 31 Jul, 31 Oct, 31 Jan, …
        let checks = due("component_check");
        assert_eq!(checks.len(), 8);
        assert_eq!(&checks[..3], &[date!(2026 - 04 - 30), date!(2026 - 07 - 31), date!(2026 - 10 - 31)]);
        assert_eq!(checks[7], date!(2028 - 01 - 31));
        let restriction = items.iter().find(|i| i.key.item_id == "activity_restriction").unwrap();
        assert_eq!(
            restriction.when,
            FollowUpWhen::Restriction { from: date!(2026 - 01 - 31), until: date!(2027 - 01 - 31) }
        );
        assert_eq!(restriction.rationale.source.reference, "REFERENCES.md §12.7");
        assert!(restriction.rationale.flags.iter().any(|f| f.kind == FlagKind::SingleSource));
        let partial = items.iter().find(|i| i.key.item_id == "sutures_partial").unwrap();
        assert_eq!(partial.rationale.source.status, SourceStatus::SingleSource);
    }

    #[test]
    fn revascularisation_and_lengthening_intervals_are_flagged_programme_settings() {
        let t = shipped_template(AFTER_REVASCULARISATION).unwrap();
        let items = schedule(PROC, &procedure(ProcedureKind::Bypass, date!(2026 - 03 - 15)), &t).unwrap();
        assert_eq!(
            visits(&items),
            vec![date!(2026 - 04 - 15), date!(2026 - 06 - 15), date!(2026 - 09 - 15), date!(2027 - 03 - 15)]
        );
        assert!(items.iter().all(|i| i.rationale.source.status == SourceStatus::ProgrammePolicy
            && i.rationale.flags.iter().any(|f| f.kind == FlagKind::ProgrammeSetting)));
        let t = shipped_template(DURING_LENGTHENING).unwrap();
        let items =
            schedule(PROC, &procedure(ProcedureKind::LengtheningInternalNail, date!(2026 - 03 - 02)), &t).unwrap();
        let v = visits(&items);
        assert_eq!(v.len(), 6); // weeks 2, 4, …, 12
        assert_eq!((v[0], v[5]), (date!(2026 - 03 - 16), date!(2026 - 05 - 25)));
        // a template does not follow a procedure it was not made for
        let e = schedule(PROC, &procedure(ProcedureKind::Debridement, date!(2026 - 03 - 02)), &t).unwrap_err();
        assert_eq!(e.field, "procedure.kind");
    }

    #[test]
    fn missed_and_overdue_visits_against_the_grace_days() {
        let t = shipped_template(AFTER_REVASCULARISATION).unwrap();
        let items = schedule(PROC, &procedure(ProcedureKind::Pta, date!(2026 - 03 - 15)), &t).unwrap();
        // due 15 Apr, 15 Jun, 15 Sep, 15 Mar; grace 7 days (shipped default)
        let done = vec![CompletedVisit { key: items[0].key.clone(), completed_on: date!(2026 - 04 - 30) }];
        let s = follow_up_status(&items, &done, date!(2026 - 06 - 22), &ProgrammeSettings::shipped()).unwrap();
        assert_eq!(s[0].state, FollowUpState::Done);
        assert_eq!(s[0].days_late, Some(8)); // grace ended 22 Apr; done 30 Apr
        assert_eq!(s[1].state, FollowUpState::Overdue); // 7 days late, within grace
        assert_eq!(s[1].days_late, Some(7));
        assert_eq!(s[2].state, FollowUpState::Upcoming);
        let s = follow_up_status(&items, &done, date!(2026 - 06 - 23), &ProgrammeSettings::shipped()).unwrap();
        assert_eq!(s[1].state, FollowUpState::Missed);
        assert!(s[1].rationale.flags.iter().any(|f| f.kind == FlagKind::ShippedDefault));
        // due today is upcoming, not overdue
        let s = follow_up_status(&items, &[], date!(2026 - 04 - 15), &ProgrammeSettings::shipped()).unwrap();
        assert_eq!(s[0].state, FollowUpState::Upcoming);
    }

    #[test]
    fn a_missed_visit_becomes_one_overdue_coordinator_task_with_its_rule_and_source() {
        const EPISODE: &str = "0192f0c5-3b1e-7c2a-9f00-00000000e001";
        let t = shipped_template(AFTER_REVASCULARISATION).unwrap();
        let items = schedule(PROC, &procedure(ProcedureKind::Pta, date!(2026 - 03 - 15)), &t).unwrap();
        let settings = ProgrammeSettings::shipped();
        // due 15 Apr, grace 7 days: overdue until 22 Apr, missed from 23 Apr
        let on = |today| missed_follow_up_tasks(EPISODE, &items, &[], &[], today, &settings).unwrap();
        assert!(on(date!(2026 - 04 - 22)).is_empty(), "within the grace days: overdue, no task yet");
        let tasks = on(date!(2026 - 04 - 23));
        assert_eq!(tasks.len(), 1);
        let task = &tasks[0];
        assert_eq!(task.key.rule_id, missed_follow_up_rule_id(&items[0].key));
        assert!(task.key.rule_id.starts_with("follow_up.missed.") && task.key.rule_id.len() == 33);
        assert_eq!((task.created_on, task.due_on), (date!(2026 - 04 - 15), date!(2026 - 04 - 15)));
        assert_eq!((task.discipline, task.priority), (Discipline::CareCoordination, Priority::Urgent));
        assert_eq!(task.ruleset_version, t.version);
        task.validate().unwrap();
        let r = &task.rationale;
        assert_eq!(r.source.status, SourceStatus::ProgrammePolicy);
        assert!(r.inputs.iter().any(|i| i.field == "follow_up.key"));
        assert!(r.settings.iter().any(|s| s.name == "follow_up_grace_days"));
        assert!(r.because.iter().any(|b| b.contains(&items[0].rationale.source.citation)));
        assert!(r.flags.iter().any(|f| f.kind == FlagKind::ProgrammePolicy));
        // months later every missed visit has its own task, each key once
        let later = on(date!(2026 - 10 - 01));
        assert_eq!(later.len(), 3);
        let mut keys: Vec<_> = later.iter().map(|t| t.key.rule_id.clone()).collect();
        keys.dedup();
        assert_eq!(keys.len(), 3);
        // a task already made (in any state) is not made again
        let existing: Vec<TaskKey> = later.iter().take(2).map(|t| t.key.clone()).collect();
        let again = missed_follow_up_tasks(EPISODE, &items, &[], &existing, date!(2026 - 10 - 01), &settings).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].key, later[2].key);
        // a recorded visit, even late, means nothing is missed
        let visits: Vec<CompletedVisit> =
            items.iter().map(|i| CompletedVisit { key: i.key.clone(), completed_on: date!(2026 - 09 - 30) }).collect();
        assert!(
            missed_follow_up_tasks(EPISODE, &items, &visits, &[], date!(2026 - 10 - 01), &settings).unwrap().is_empty()
        );
        // the digest separates every part of the key
        let mut other = items[0].key.clone();
        other.occurrence = 2;
        assert_ne!(missed_follow_up_rule_id(&other), missed_follow_up_rule_id(&items[0].key));
        let (mut a, mut b) = (items[0].key.clone(), items[0].key.clone());
        (a.template_id, a.item_id) = ("ab".into(), "c".into());
        (b.template_id, b.item_id) = ("a".into(), "bc".into());
        assert_ne!(missed_follow_up_rule_id(&a), missed_follow_up_rule_id(&b));
        // restrictions are never missed
        let oi = shipped_template(AFTER_OSSEOINTEGRATION).unwrap();
        let oi_items =
            schedule(PROC, &procedure(ProcedureKind::OsseointegrationImplantCustom, date!(2026 - 01 - 10)), &oi)
                .unwrap();
        let oi_tasks = missed_follow_up_tasks(EPISODE, &oi_items, &[], &[], date!(2028 - 06 - 01), &settings).unwrap();
        assert_eq!(oi_tasks.len(), oi_items.len() - 1, "every visit, not the activity restriction");
        // bad input names the field
        let e = missed_follow_up_tasks("nope", &items, &[], &[], date!(2026 - 10 - 01), &settings).unwrap_err();
        assert_eq!(e.field, "episode_id");
    }

    #[test]
    fn restrictions_are_active_then_ended_never_missed() {
        let t = shipped_template(AFTER_OSSEOINTEGRATION).unwrap();
        let items = schedule(PROC, &procedure(ProcedureKind::OsseointegrationImplantCustom, date!(2026 - 01 - 10)), &t)
            .unwrap();
        let state = |today| {
            follow_up_status(&items, &[], today, &ProgrammeSettings::shipped())
                .unwrap()
                .into_iter()
                .find(|s| s.key.item_id == "activity_restriction")
                .unwrap()
                .state
        };
        assert_eq!(state(date!(2026 - 06 - 01)), FollowUpState::RestrictionActive);
        assert_eq!(state(date!(2027 - 01 - 10)), FollowUpState::RestrictionActive);
        assert_eq!(state(date!(2027 - 01 - 11)), FollowUpState::RestrictionEnded);
    }

    #[test]
    fn bad_templates_name_the_field() {
        let mut t = shipped_template(DURING_LENGTHENING).unwrap();
        t.items[0].timing = Timing::Every { first: Offset::Weeks(2), every: Offset::Days(0), until: Offset::Weeks(12) };
        assert_eq!(t.validate().unwrap_err().field, "template.items[0].timing.every");
        t.items[0].timing =
            Timing::Every { first: Offset::Weeks(20), every: Offset::Weeks(2), until: Offset::Weeks(12) };
        assert_eq!(t.validate().unwrap_err().field, "template.items[0].timing.until");
        t.items[0].timing = Timing::At { at: vec![Offset::Months(500)] };
        assert_eq!(t.validate().unwrap_err().field, "template.items[0].timing.at[0]");
        t.applies_to.clear();
        assert_eq!(t.validate().unwrap_err().field, "template.applies_to");
    }

    #[test]
    fn month_offsets_clamp_to_the_end_of_the_month() {
        assert_eq!(Offset::Months(1).after(date!(2026 - 01 - 31)), Some(date!(2026 - 02 - 28)));
        assert_eq!(Offset::Months(1).after(date!(2028 - 01 - 31)), Some(date!(2028 - 02 - 29)));
        assert_eq!(Offset::Months(12).after(date!(2026 - 12 - 15)), Some(date!(2027 - 12 - 15)));
        assert_eq!(Offset::Months(2).after(date!(2026 - 11 - 30)), Some(date!(2027 - 01 - 30)));
        assert_eq!(Offset::Months(1).after(date!(9999 - 12 - 01)), None);
    }

    fn edit() -> ProgrammeEdit {
        ProgrammeEdit {
            edited_by: "Dr Admin".into(),
            edited_on: date!(2026 - 11 - 01),
            reason: "Local surveillance protocol v2 (vascular MDT 2026-10)".into(),
            revision: 1,
        }
    }

    #[test]
    fn programme_edit_moves_the_schedule_and_says_edited_by_the_programme() {
        let shipped = shipped_template(AFTER_REVASCULARISATION).unwrap();
        let mut doc = shipped.clone();
        doc.items[0].timing = Timing::At { at: vec![Offset::Weeks(6), Offset::Months(6)] };
        doc.items[0].source.citation = "A guideline the editor names".into();
        let t = programme_template(&shipped, &doc, &edit()).unwrap();
        assert_eq!(t.version, "1+programme.1");
        assert!(t.items[0].source.citation.starts_with("Edited by the programme: Local surveillance"));
        assert_eq!(t.items[0].source.status, SourceStatus::ProgrammePolicy);
        assert!(t.items[0].source.reference.contains("Dr Admin on 2026-11-01"));
        let items = schedule(PROC, &procedure(ProcedureKind::Bypass, date!(2026 - 01 - 10)), &t).unwrap();
        assert_eq!(visits(&items), vec![date!(2026 - 02 - 21), date!(2026 - 07 - 10)]);
        assert!(items[0].rationale.source.citation.starts_with(EDITED_BY_THE_PROGRAMME));
        assert_eq!(items[0].template_version, "1+programme.1");
    }

    #[test]
    fn an_unchanged_item_keeps_its_shipped_source_whatever_the_document_claims() {
        let shipped = shipped_template(AFTER_OSSEOINTEGRATION).unwrap();
        let mut doc = shipped.clone();
        doc.items[0].source.citation = "made up".into();
        doc.items[2].timing =
            Timing::Every { first: Offset::Months(3), every: Offset::Months(3), until: Offset::Months(36) };
        let t = programme_template(&shipped, &doc, &edit()).unwrap();
        assert_eq!(t.items[0].source, shipped.items[0].source);
        assert_eq!(t.items[1].source, shipped.items[1].source);
        assert!(t.items[2].source.citation.starts_with(EDITED_BY_THE_PROGRAMME));
        assert!(t.items[2].source.note.contains("REFERENCES.md §12.7"));
        // Applied to other procedures, no item keeps the clinic protocol's citation.
        let mut doc = shipped.clone();
        doc.applies_to.push(ProcedureKind::LengtheningExternalFrame);
        let t = programme_template(&shipped, &doc, &edit()).unwrap();
        assert!(t.items.iter().all(|i| i.source.citation.starts_with(EDITED_BY_THE_PROGRAMME)));
    }

    #[test]
    fn an_invalid_edit_is_refused_naming_the_field() {
        let shipped = shipped_template(DURING_LENGTHENING).unwrap();
        let mut doc = shipped.clone();
        doc.items[0].timing =
            Timing::Every { first: Offset::Weeks(2), every: Offset::Days(0), until: Offset::Weeks(12) };
        assert_eq!(programme_template(&shipped, &doc, &edit()).unwrap_err().field, "template.items[0].timing.every");
        let mut doc = shipped.clone();
        doc.id = "other".into();
        assert_eq!(programme_template(&shipped, &doc, &edit()).unwrap_err().field, "template.id");
        let mut e = edit();
        e.reason = " ".into();
        assert_eq!(programme_template(&shipped, &shipped, &e).unwrap_err().field, "reason");
    }
}
