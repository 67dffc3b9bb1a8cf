//! Alerts: grouping repeated identical signals into one open alert, and the
//! escalation state of an alert at a given time. Pure functions: the store
//! keeps the alerts, the server passes `now`.
//!
//! Rules chosen:
//! - **Key.** An alert is identified by [`AlertKey`]: the patient and what
//!   raised it ([`AlertKind`]: a triage rule id, a loading-log deviation kind,
//!   or a distraction drift direction). A signal whose key matches an open
//!   alert joins it (count + 1, first and last seen widened, level the most
//!   urgent seen) instead of opening another; ten identical check-ins give one
//!   alert with count 10.
//! - **Acknowledged alerts stay open** until the team closes them (outside
//!   this crate); a repeat after acknowledgement still joins the alert and is
//!   counted in `repeats_since_acknowledgement`, so the team sees it recurred.
//! - **Escalation** is measured from the time the alert was first raised. Each
//!   step of the programme's [`EscalationPolicy`] for the alert's level is
//!   reached when its minutes have passed without acknowledgement. Nothing
//!   escalates after acknowledgement. The minutes and recipients are a
//!   programme setting: the reference pack gives none, and there is no default.
//! - Times are milliseconds since the Unix epoch, UTC (as the record's
//!   `created_at_ms`).

use crate::rationale::{Basis, Rationale};
use crate::triage::{TriageDecision, TriageLevel, check_version};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::explain::FlagKind;
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, InvalidInput>;

/// What raised an alert.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertKind {
    /// A check-in triage rule (e.g. `oi.temperature_above_38_5`).
    CheckInRule { rule_id: String },
    /// A deviation of the osseointegration loading log from the plan.
    LoadingDeviation { deviation: String },
    /// Distraction drift past the programme's tolerance (`behind` / `ahead`).
    DistractionDrift { direction: String },
}

/// Identifies an alert: repeated signals with the same key group into one.
/// (Serialised flat: `{"patient_id", "kind", "rule_id"}`; serde cannot deny
/// unknown fields on a flattened struct.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertKey {
    pub patient_id: String,
    #[serde(flatten)]
    pub kind: AlertKind,
}

/// One occurrence of something that should alert the team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSignal {
    pub key: AlertKey,
    /// Contact today or immediately (routine is never an alert).
    pub level: TriageLevel,
    pub at_ms: i64,
    /// One line for the team, e.g. "a temperature of 39 °C".
    pub summary: String,
}

/// An open alert: one or more identical signals grouped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupedAlert {
    pub key: AlertKey,
    /// The most urgent level any of its signals had.
    pub level: TriageLevel,
    /// How many signals it groups.
    pub count: u32,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// The summary of the latest signal.
    pub latest_summary: String,
    pub acknowledged_at_ms: Option<i64>,
    /// Signals that arrived after the acknowledgement.
    pub repeats_since_acknowledgement: u32,
}

impl GroupedAlert {
    /// High priority: a level of "contact the team immediately".
    pub fn is_high_priority(&self) -> bool {
        self.level == TriageLevel::ContactTeamImmediately
    }
}

fn check_signal(i: usize, s: &AlertSignal) -> Result<()> {
    if s.level == TriageLevel::Routine {
        return Err(InvalidInput::out_of_range(
            format!("signals[{i}].level"),
            "routine",
            "contact_team_today or contact_team_immediately: routine answers raise no alert",
        ));
    }
    if s.key.patient_id.trim().is_empty() {
        return Err(InvalidInput::missing(format!("signals[{i}].key.patient_id"), "the patient's id"));
    }
    Ok(())
}

/// Add `signals` to the open alerts: a signal whose key matches an open alert
/// joins it, any other opens a new alert. Returns the open alerts, existing
/// ones first in their order, new ones in order of first signal.
pub fn group(open: Vec<GroupedAlert>, signals: &[AlertSignal]) -> Result<Vec<GroupedAlert>> {
    for (i, s) in signals.iter().enumerate() {
        check_signal(i, s)?;
    }
    for (i, a) in open.iter().enumerate() {
        if open[..i].iter().any(|b| b.key == a.key) {
            return Err(InvalidInput::inconsistent(
                format!("open[{i}].key"),
                format!("{:?}", a.key),
                "one open alert per key: the open alerts given contain this key twice",
            ));
        }
    }
    let mut alerts = open;
    for s in signals {
        match alerts.iter_mut().find(|a| a.key == s.key) {
            Some(a) => {
                a.count = a.count.saturating_add(1);
                a.level = a.level.max(s.level);
                a.first_seen_ms = a.first_seen_ms.min(s.at_ms);
                if s.at_ms >= a.last_seen_ms {
                    a.last_seen_ms = s.at_ms;
                    a.latest_summary = s.summary.clone();
                }
                if a.acknowledged_at_ms.is_some_and(|ack| s.at_ms > ack) {
                    a.repeats_since_acknowledgement = a.repeats_since_acknowledgement.saturating_add(1);
                }
            }
            None => alerts.push(GroupedAlert {
                key: s.key.clone(),
                level: s.level,
                count: 1,
                first_seen_ms: s.at_ms,
                last_seen_ms: s.at_ms,
                latest_summary: s.summary.clone(),
                acknowledged_at_ms: None,
                repeats_since_acknowledgement: 0,
            }),
        }
    }
    Ok(alerts)
}

/// The alert signals of a triaged check-in: one per rule that fired above
/// routine, keyed by patient and rule id.
pub fn check_in_signals(patient_id: &str, decision: &TriageDecision, at_ms: i64) -> Vec<AlertSignal> {
    let mut out = Vec::new();
    for a in &decision.answers {
        for f in a.fired.iter().filter(|f| f.level > TriageLevel::Routine) {
            out.push(AlertSignal {
                key: AlertKey {
                    patient_id: patient_id.to_owned(),
                    kind: AlertKind::CheckInRule { rule_id: f.id.to_owned() },
                },
                level: f.level,
                at_ms,
                summary: a.reported_as.clone().unwrap_or_else(|| a.answer.to_owned()),
            });
        }
    }
    out
}

/// One step of an escalation: after `after_minutes` without acknowledgement,
/// notify `notify` (a role or rota, e.g. "on-call osseointegration surgeon").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub after_minutes: u32,
    pub notify: String,
}

/// The programme's escalation policy: steps per level, in increasing minutes.
/// A programme setting (the reference pack gives no response times); there is
/// deliberately no default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    pub version: String,
    pub contact_team_immediately: Vec<EscalationStep>,
    pub contact_team_today: Vec<EscalationStep>,
}

impl EscalationPolicy {
    /// Check the policy, naming the field (`policy.<level>[i].<field>`).
    pub fn validate(&self) -> Result<()> {
        check_version("policy.version", &self.version)?;
        for (name, steps) in [
            ("contact_team_immediately", &self.contact_team_immediately),
            ("contact_team_today", &self.contact_team_today),
        ] {
            for (i, s) in steps.iter().enumerate() {
                if s.notify.trim().is_empty() || s.notify.chars().count() > 256 {
                    return Err(InvalidInput::out_of_range(
                        format!("policy.{name}[{i}].notify"),
                        format!("{} characters", s.notify.chars().count()),
                        "who to notify: 1 to 256 characters",
                    ));
                }
                if i > 0 && s.after_minutes <= steps[i - 1].after_minutes {
                    return Err(InvalidInput::inconsistent(
                        format!("policy.{name}[{i}].after_minutes"),
                        s.after_minutes,
                        format!(
                            "steps in strictly increasing minutes (the step before is at {} minutes)",
                            steps[i - 1].after_minutes
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn steps(&self, level: TriageLevel) -> &[EscalationStep] {
        match level {
            TriageLevel::ContactTeamImmediately => &self.contact_team_immediately,
            TriageLevel::ContactTeamToday => &self.contact_team_today,
            TriageLevel::Routine => &[],
        }
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStatus {
    /// Not acknowledged, no step reached yet.
    AwaitingAcknowledgement,
    /// Not acknowledged, at least one step reached.
    Escalated,
    /// Acknowledged: no further escalation.
    Acknowledged,
}

/// A step that has been reached, with when it fell due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReached {
    /// 0-based index in the policy's steps for the level.
    pub step: usize,
    pub notify: String,
    pub due_at_ms: i64,
}

/// The escalation state of an alert at `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationState {
    pub status: EscalationStatus,
    /// Whole minutes from raised to now.
    pub minutes_since_raised: i64,
    /// Steps reached before the acknowledgement (or before now, if none).
    pub steps_reached: Vec<StepReached>,
    /// The next step not yet reached, when the alert is not acknowledged.
    pub next_step: Option<StepReached>,
    pub rationale: Rationale,
}

const MS_PER_MINUTE: i128 = 60_000;

fn due_at(raised_at_ms: i64, after_minutes: u32) -> i64 {
    let due = i128::from(raised_at_ms) + i128::from(after_minutes) * MS_PER_MINUTE;
    i64::try_from(due).unwrap_or(i64::MAX)
}

/// The escalation state of an alert of `level`, raised at `raised_at_ms`,
/// acknowledged at `acknowledged_at_ms` (if it was), at `now_ms`.
pub fn escalation_state(
    level: TriageLevel,
    raised_at_ms: i64,
    acknowledged_at_ms: Option<i64>,
    now_ms: i64,
    policy: &EscalationPolicy,
) -> Result<EscalationState> {
    policy.validate()?;
    if now_ms < raised_at_ms {
        return Err(InvalidInput::inconsistent(
            "now_ms",
            now_ms,
            format!("now must not be before the alert was raised ({raised_at_ms})"),
        ));
    }
    if let Some(ack) = acknowledged_at_ms {
        if ack < raised_at_ms {
            return Err(InvalidInput::inconsistent(
                "acknowledged_at_ms",
                ack,
                format!("an acknowledgement must not be before the alert was raised ({raised_at_ms})"),
            ));
        }
        if ack > now_ms {
            return Err(InvalidInput::inconsistent(
                "acknowledged_at_ms",
                ack,
                format!("an acknowledgement must not be after now ({now_ms})"),
            ));
        }
    }
    let steps = policy.steps(level);
    let until = acknowledged_at_ms.unwrap_or(now_ms);
    let mut steps_reached = Vec::new();
    let mut next_step = None;
    for (i, s) in steps.iter().enumerate() {
        let due = due_at(raised_at_ms, s.after_minutes);
        let step = StepReached { step: i, notify: s.notify.clone(), due_at_ms: due };
        // Reached when its time has come before the acknowledgement (an
        // acknowledgement at the very minute a step falls due stops it).
        if due < until || (acknowledged_at_ms.is_none() && due == now_ms) {
            steps_reached.push(step);
        } else if acknowledged_at_ms.is_none() && next_step.is_none() {
            next_step = Some(step);
        }
    }
    let status = match (acknowledged_at_ms, steps_reached.is_empty()) {
        (Some(_), _) => EscalationStatus::Acknowledged,
        (None, true) => EscalationStatus::AwaitingAcknowledgement,
        (None, false) => EscalationStatus::Escalated,
    };
    let minutes_since_raised =
        i64::try_from((i128::from(now_ms) - i128::from(raised_at_ms)) / MS_PER_MINUTE).unwrap_or(i64::MAX);
    let plan: Vec<String> = steps.iter().map(|s| format!("{} min → {}", s.after_minutes, s.notify)).collect();
    let rule = format!(
        "{} alert raised {minutes_since_raised} min ago; policy {} for this level: {}; {}",
        level.as_str(),
        policy.version,
        if plan.is_empty() { "no escalation steps".to_owned() } else { plan.join(", ") },
        match (status, acknowledged_at_ms) {
            (EscalationStatus::Acknowledged, Some(ack)) => format!(
                "acknowledged {} min after it was raised, with {} step(s) reached before -> no further escalation",
                (i128::from(ack) - i128::from(raised_at_ms)) / MS_PER_MINUTE,
                steps_reached.len()
            ),
            (EscalationStatus::Escalated, _) => format!("not acknowledged; {} step(s) reached", steps_reached.len()),
            _ => "not acknowledged; no step reached yet".to_owned(),
        }
    );
    let mut rationale = Rationale::new(Basis::setting("escalation_policy", &policy.version), rule)
        .input("level", level.as_str())
        .input("raised_at_ms", raised_at_ms.to_string())
        .input("acknowledged_at_ms", acknowledged_at_ms.map_or("not acknowledged".to_owned(), |a| a.to_string()))
        .input("now_ms", now_ms.to_string());
    if steps.is_empty() && level != TriageLevel::Routine {
        rationale.push_flag(
            FlagKind::Review,
            format!("the escalation policy has no steps for {}: this alert never escalates", level.as_str()),
        );
    }
    Ok(EscalationState { status, minutes_since_raised, steps_reached, next_step, rationale })
}

/// [`escalation_state`] of a grouped alert (raised when first seen).
pub fn alert_escalation(alert: &GroupedAlert, now_ms: i64, policy: &EscalationPolicy) -> Result<EscalationState> {
    escalation_state(alert.level, alert.first_seen_ms, alert.acknowledged_at_ms, now_ms, policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::{CheckIn, CheckInContext, TriageRuleSet, TriageSettings, triage};
    use proptest::prelude::*;

    const PATIENT: &str = "0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6f";
    const T0: i64 = 1_700_000_000_000;
    const MIN: i64 = 60_000;

    fn fever_check_in() -> TriageDecision {
        let set = TriageRuleSet::clinic(&TriageSettings::default()).unwrap();
        let ctx = CheckInContext { osseointegrated_implant: true, external_frame: false, days_since_surgery: Some(5) };
        triage(&set, &CheckIn { temperature_c: Some(39.0), ..CheckIn::default() }, &ctx).unwrap()
    }

    fn policy() -> EscalationPolicy {
        EscalationPolicy {
            version: "test-1".into(),
            contact_team_immediately: vec![
                EscalationStep { after_minutes: 15, notify: "osseointegration nurse on call".into() },
                EscalationStep { after_minutes: 60, notify: "orthopaedic surgeon on call".into() },
            ],
            contact_team_today: vec![EscalationStep { after_minutes: 480, notify: "care coordinator".into() }],
        }
    }

    #[test]
    fn ten_identical_check_ins_group_into_one_alert() {
        let decision = fever_check_in();
        let mut signals = Vec::new();
        for i in 0..10 {
            signals.extend(check_in_signals(PATIENT, &decision, T0 + i * 30 * MIN));
        }
        assert_eq!(signals.len(), 10);
        let alerts = group(Vec::new(), &signals).unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.count, 10);
        assert_eq!(a.first_seen_ms, T0);
        assert_eq!(a.last_seen_ms, T0 + 9 * 30 * MIN);
        assert_eq!(a.level, TriageLevel::ContactTeamImmediately);
        assert_eq!(a.key.kind, AlertKind::CheckInRule { rule_id: "oi.temperature_above_38_5".into() });
        assert_eq!(a.latest_summary, "a temperature of 39 °C");
        assert!(a.is_high_priority());
        // Grouping further signals into the open alert keeps one alert.
        let again = group(alerts, &signals[..3]).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].count, 13);
    }

    #[test]
    fn different_rules_or_patients_are_different_alerts() {
        let s = |patient: &str, rule: &str, at: i64| AlertSignal {
            key: AlertKey { patient_id: patient.into(), kind: AlertKind::CheckInRule { rule_id: rule.into() } },
            level: TriageLevel::ContactTeamToday,
            at_ms: at,
            summary: rule.into(),
        };
        let alerts =
            group(Vec::new(), &[s("a", "r1", T0), s("a", "r2", T0), s("b", "r1", T0), s("a", "r1", T0 + MIN)]).unwrap();
        assert_eq!(alerts.iter().map(|a| a.count).collect::<Vec<_>>(), vec![2, 1, 1]);
        // An out-of-order signal widens first seen and keeps the latest summary.
        let late = AlertSignal { summary: "earlier".into(), ..s("a", "r2", T0 - MIN) };
        let alerts = group(alerts, &[late]).unwrap();
        assert_eq!(alerts[1].first_seen_ms, T0 - MIN);
        assert_eq!(alerts[1].last_seen_ms, T0);
        assert_eq!(alerts[1].latest_summary, "r2");
        // The level is the most urgent seen.
        let urgent = AlertSignal { level: TriageLevel::ContactTeamImmediately, ..s("b", "r1", T0 + MIN) };
        assert_eq!(group(alerts, &[urgent]).unwrap()[2].level, TriageLevel::ContactTeamImmediately);
    }

    #[test]
    fn repeats_after_acknowledgement_join_the_alert_and_are_counted() {
        let decision = fever_check_in();
        let mut alerts = group(Vec::new(), &check_in_signals(PATIENT, &decision, T0)).unwrap();
        alerts[0].acknowledged_at_ms = Some(T0 + 5 * MIN);
        let alerts = group(alerts, &check_in_signals(PATIENT, &decision, T0 + 10 * MIN)).unwrap();
        assert_eq!((alerts.len(), alerts[0].count, alerts[0].repeats_since_acknowledgement), (1, 2, 1));
    }

    #[test]
    fn routine_signals_and_duplicate_open_alerts_are_refused() {
        let decision = fever_check_in();
        let mut s = check_in_signals(PATIENT, &decision, T0);
        s[0].level = TriageLevel::Routine;
        assert_eq!(group(Vec::new(), &s).unwrap_err().field, "signals[0].level");
        s[0].level = TriageLevel::ContactTeamToday;
        s[0].key.patient_id = " ".into();
        assert_eq!(group(Vec::new(), &s).unwrap_err().field, "signals[0].key.patient_id");
        let one = group(Vec::new(), &check_in_signals(PATIENT, &decision, T0)).unwrap();
        let twice = vec![one[0].clone(), one[0].clone()];
        assert_eq!(group(twice, &[]).unwrap_err().field, "open[1].key");
        // A routine check-in raises no signal at all.
        let set = TriageRuleSet::clinic(&TriageSettings::default()).unwrap();
        let ctx = CheckInContext { osseointegrated_implant: true, ..CheckInContext::default() };
        let calm = triage(&set, &CheckIn { temperature_c: Some(37.0), ..CheckIn::default() }, &ctx).unwrap();
        assert!(check_in_signals(PATIENT, &calm, T0).is_empty());
    }

    #[test]
    fn escalation_steps_fall_due_by_minutes_without_acknowledgement() {
        let p = policy();
        let at = |minutes: i64, ack: Option<i64>| {
            escalation_state(TriageLevel::ContactTeamImmediately, T0, ack.map(|m| T0 + m * MIN), T0 + minutes * MIN, &p)
                .unwrap()
        };
        let s = at(10, None);
        assert_eq!(s.status, EscalationStatus::AwaitingAcknowledgement);
        assert_eq!(s.minutes_since_raised, 10);
        assert!(s.steps_reached.is_empty());
        assert_eq!(s.next_step.as_ref().map(|n| (n.step, n.due_at_ms)), Some((0, T0 + 15 * MIN)));
        // Due exactly now: reached.
        let s = at(15, None);
        assert_eq!(s.status, EscalationStatus::Escalated);
        assert_eq!(s.steps_reached.len(), 1);
        assert_eq!(s.next_step.as_ref().map(|n| n.notify.as_str()), Some("orthopaedic surgeon on call"));
        let s = at(61, None);
        assert_eq!(s.steps_reached.len(), 2);
        assert!(s.next_step.is_none());
        // Acknowledged at 20 min: the 15-minute step had been reached, the 60 never is.
        let s = at(120, Some(20));
        assert_eq!(s.status, EscalationStatus::Acknowledged);
        assert_eq!(s.steps_reached.iter().map(|r| r.step).collect::<Vec<_>>(), vec![0]);
        assert!(s.next_step.is_none());
        assert!(s.rationale.rule.contains("acknowledged 20 min after"), "{}", s.rationale.rule);
        // Acknowledged at the very minute a step falls due: that step is not reached.
        assert!(at(30, Some(15)).steps_reached.is_empty());
        // A "today" alert follows its own steps.
        let s = escalation_state(TriageLevel::ContactTeamToday, T0, None, T0 + 479 * MIN, &p).unwrap();
        assert_eq!(s.status, EscalationStatus::AwaitingAcknowledgement);
        let s = escalation_state(TriageLevel::ContactTeamToday, T0, None, T0 + 480 * MIN, &p).unwrap();
        assert_eq!(s.steps_reached[0].notify, "care coordinator");
        assert_eq!(s.rationale.source_ids(), vec!["programme_setting:escalation_policy".to_owned()]);
    }

    #[test]
    fn escalation_of_a_grouped_alert_counts_from_first_seen() {
        let decision = fever_check_in();
        let signals: Vec<AlertSignal> =
            (0..3).flat_map(|i| check_in_signals(PATIENT, &decision, T0 + i * 10 * MIN)).collect();
        let alerts = group(Vec::new(), &signals).unwrap();
        let s = alert_escalation(&alerts[0], T0 + 20 * MIN, &policy()).unwrap();
        assert_eq!(s.minutes_since_raised, 20);
        assert_eq!(s.steps_reached.len(), 1);
    }

    #[test]
    fn escalation_errors_name_the_field() {
        let p = policy();
        let lvl = TriageLevel::ContactTeamImmediately;
        assert_eq!(escalation_state(lvl, T0, None, T0 - 1, &p).unwrap_err().field, "now_ms");
        assert_eq!(escalation_state(lvl, T0, Some(T0 - 1), T0, &p).unwrap_err().field, "acknowledged_at_ms");
        assert_eq!(escalation_state(lvl, T0, Some(T0 + 2), T0 + 1, &p).unwrap_err().field, "acknowledged_at_ms");
        let mut bad = policy();
        bad.contact_team_immediately[1].after_minutes = 15;
        assert_eq!(
            escalation_state(lvl, T0, None, T0, &bad).unwrap_err().field,
            "policy.contact_team_immediately[1].after_minutes"
        );
        let mut bad = policy();
        bad.contact_team_today[0].notify = String::new();
        assert_eq!(escalation_state(lvl, T0, None, T0, &bad).unwrap_err().field, "policy.contact_team_today[0].notify");
        let empty = EscalationPolicy { contact_team_immediately: vec![], ..policy() };
        assert!(escalation_state(lvl, T0, None, T0, &empty).unwrap().rationale.has_flag(FlagKind::Review));
    }

    #[test]
    fn json_shapes() {
        let decision = fever_check_in();
        let alerts = group(Vec::new(), &check_in_signals(PATIENT, &decision, T0)).unwrap();
        let v = serde_json::to_value(&alerts[0]).unwrap();
        assert_eq!(v["key"]["patient_id"], PATIENT);
        assert_eq!(v["key"]["kind"], "check_in_rule");
        assert_eq!(v["key"]["rule_id"], "oi.temperature_above_38_5");
        assert_eq!(v["level"], "contact_team_immediately");
        let back: GroupedAlert = serde_json::from_value(v).unwrap();
        assert_eq!(back, alerts[0]);
        let p: EscalationPolicy = serde_json::from_value(serde_json::to_value(policy()).unwrap()).unwrap();
        assert_eq!(p, policy());
        let s = serde_json::to_value(escalation_state(TriageLevel::ContactTeamImmediately, T0, None, T0, &p).unwrap())
            .unwrap();
        assert_eq!(s["status"], "awaiting_acknowledgement");
    }

    proptest! {
        #[test]
        fn no_times_panic(
            raised in any::<i64>(),
            ack in proptest::option::of(any::<i64>()),
            now in any::<i64>(),
            minutes in proptest::collection::vec(any::<u32>(), 0..4),
            at in proptest::collection::vec(any::<i64>(), 0..12),
        ) {
            let steps: Vec<EscalationStep> =
                minutes.iter().map(|m| EscalationStep { after_minutes: *m, notify: "x".into() }).collect();
            let p = EscalationPolicy { version: "p".into(), contact_team_immediately: steps.clone(), contact_team_today: steps };
            if let Ok(s) = escalation_state(TriageLevel::ContactTeamImmediately, raised, ack, now, &p) {
                prop_assert!(now >= raised);
                prop_assert_eq!(s.status == EscalationStatus::Acknowledged, ack.is_some());
                let _ = serde_json::to_string(&s).unwrap();
            }
            let signals: Vec<AlertSignal> = at.iter().map(|t| AlertSignal {
                key: AlertKey { patient_id: "p".into(), kind: AlertKind::DistractionDrift { direction: "behind".into() } },
                level: TriageLevel::ContactTeamToday,
                at_ms: *t,
                summary: String::new(),
            }).collect();
            let alerts = group(Vec::new(), &signals).unwrap();
            prop_assert_eq!(alerts.len(), usize::from(!at.is_empty()));
            if let Some(a) = alerts.first() {
                prop_assert_eq!(a.count as usize, at.len());
                prop_assert!(a.first_seen_ms <= a.last_seen_ms);
            }
        }
    }
}
