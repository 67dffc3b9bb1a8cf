//! What every derived pathway result carries: the rule in words, the inputs it
//! read, each condition as it was evaluated, the programme settings it used,
//! its source with that source's status, and the flags a clinician must see.
//!
//! These types are owned and round-trip through JSON (unlike the engine's
//! `Explanation`, which cites `'static` sources), because care tasks, rule sets
//! and templates are stored and edited as JSON by the server.

use serde::{Deserialize, Serialize};

/// Where a rule, checkpoint or template item comes from, as a clinician would
/// look it up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSource {
    /// The citation, e.g. "Conte MS et al. Global Vascular Guidelines, rec. 6.11".
    pub citation: String,
    /// Where in the reference pack it is transcribed ("REFERENCES.md §2.3"), or
    /// "not in the reference pack" for programme policy.
    pub reference: String,
    pub status: SourceStatus,
    /// Status detail (what is single-source, unrecorded, disputed, …).
    #[serde(default)]
    pub note: String,
    /// Ids of the engine sources (`limbpath_clinical::catalogue()`) for the
    /// classifications the condition reads, e.g. `wifi.foot_infection`.
    #[serde(default)]
    pub criteria_sources: Vec<String>,
}

/// The evidence status of a source: the reference pack's labels, plus
/// `PROGRAMME_POLICY` for what the programme decided and the pack does not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceStatus {
    /// Two or more independent sources agree (REFERENCES.md legend).
    Verified,
    /// One source only: re-check before clinical release.
    SingleSource,
    /// Sources disagree; the majority value is used.
    Disputed,
    /// The agreement of every transcription that carries the table.
    SecondaryConsensus,
    /// The programme's own decision (an action, a timing, a threshold) that the
    /// reference pack does not give. Never presented as a clinical fact.
    ProgrammePolicy,
}

/// Why a flag was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlagKind {
    /// A number or timing is a programme setting, not from the reference pack.
    ProgrammeSetting,
    /// A programme setting still has its shipped default: the programme has not set it.
    ShippedDefault,
    /// The action is programme policy, not a recommendation of the reference pack.
    ProgrammePolicy,
    /// Part of the rule is not recorded in the reference pack (e.g. GVG 6.10's exceptions).
    Unverified,
    /// The source is single-source: re-check before clinical release.
    SingleSource,
    /// Something the clinician must confirm before acting.
    Review,
    /// An input was missing, so the result may understate urgency.
    Incomplete,
    /// A wound checkpoint was judged on a measurement taken after the checkpoint day.
    MeasuredLate,
    /// A classification used comes from a DISPUTED cell.
    Disputed,
    /// A flag the clinical engine raised on a classification the rule read.
    Classification,
}

/// A flag returned with a result, worded for the clinician.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    pub kind: FlagKind,
    pub message: String,
}

impl Flag {
    pub fn new(kind: FlagKind, message: impl Into<String>) -> Self {
        Flag { kind, message: message.into() }
    }
}

/// One input a result read: where it came from (a dotted path into the
/// snapshot, the assessment result or the findings) and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputUsed {
    pub field: String,
    pub value: serde_json::Value,
}

/// A programme setting a result used, with its value and whether the
/// programme has set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingUsed {
    /// The setting's field in `ProgrammeSettings`, e.g. `hba1c_target_percent`.
    pub name: String,
    pub value: serde_json::Value,
    pub origin: crate::settings::SettingOrigin,
    /// Always "programme setting, not from the reference pack".
    pub note: String,
}

/// The rationale of a task, advice, checkpoint, follow-up item or triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rationale {
    /// The rule, in words.
    pub rule: String,
    pub inputs: Vec<InputUsed>,
    /// Each condition as evaluated, in words ("foot infection fI2 ≥ fI2: yes").
    pub because: Vec<String>,
    pub settings: Vec<SettingUsed>,
    pub source: RuleSource,
    pub flags: Vec<Flag>,
}

impl Rationale {
    pub(crate) fn new(rule: impl Into<String>, source: RuleSource) -> Self {
        Rationale {
            rule: rule.into(),
            inputs: Vec::new(),
            because: Vec::new(),
            settings: Vec::new(),
            source,
            flags: Vec::new(),
        }
    }

    pub(crate) fn input(&mut self, field: impl Into<String>, value: impl Serialize) {
        let field = field.into();
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if !self.inputs.iter().any(|i| i.field == field && i.value == value) {
            self.inputs.push(InputUsed { field, value });
        }
    }

    pub(crate) fn flag(&mut self, flag: Flag) {
        if !self.flags.contains(&flag) {
            self.flags.push(flag);
        }
    }

    /// Record a programme setting used, with one flag saying it is a
    /// programme setting (and, if so, still the shipped default).
    pub(crate) fn setting(&mut self, used: SettingUsed) {
        if self.settings.iter().any(|s| s.name == used.name) {
            return;
        }
        let shipped = used.origin == crate::settings::SettingOrigin::ShippedDefault;
        self.flag(Flag::new(
            if shipped { FlagKind::ShippedDefault } else { FlagKind::ProgrammeSetting },
            format!(
                "{} = {}: {}{}",
                used.name,
                used.value,
                crate::settings::PROGRAMME_SETTING_NOTE,
                if shipped { "; the shipped default, not yet set by the programme" } else { "" }
            ),
        ));
        self.settings.push(used);
    }

    /// Merge what another evaluation recorded (inputs, conditions, settings, flags).
    pub(crate) fn absorb(&mut self, other: Rationale) {
        for i in other.inputs {
            self.input(i.field, i.value);
        }
        self.because.extend(other.because);
        for s in other.settings {
            self.setting(s);
        }
        for f in other.flags {
            self.flag(f);
        }
    }
}
