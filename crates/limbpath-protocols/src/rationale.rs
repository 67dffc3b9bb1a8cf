//! What every result of this crate carries: the inputs used, the rule that
//! fired in words, what the rule rests on (a cited source from the reference
//! pack, a programme setting, or a fact from the patient record) and the flags
//! a clinician must see.
//!
//! The clinical engine's [`Explanation`](limbpath_clinical::Explanation) cites
//! exactly one [`Source`]; rules here often rest on a source *and* a programme
//! setting (for example a plan whose structure is the clinic protocol's and
//! whose rate of increase the programme chose), so a [`Rationale`] lists every
//! [`Basis`].

use limbpath_clinical::explain::{Flag, FlagKind, InputUsed, InputValue, Source};
use serde::Serialize;

/// The label every programme setting carries in every output, so nobody
/// mistakes a number the programme chose for one from the reference pack.
pub const PROGRAMME_SETTING: &str = "programme setting, not from the reference pack";

/// What a rule or a number rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// A source in the reference pack (REFERENCES.md), cited by id.
    Reference {
        #[serde(rename = "source_id", serialize_with = "source_id")]
        source: &'static Source,
    },
    /// A value the programme chose where the reference pack is silent.
    ProgrammeSetting {
        /// The setting's dotted name, e.g. `triage.minor_bleeding`.
        setting: &'static str,
        /// The value in force, as text.
        value: String,
        /// Always [`PROGRAMME_SETTING`].
        label: &'static str,
    },
    /// A fact read from the patient's record (or an open alert).
    Record {
        /// Which entry, e.g. `procedures[2]` (kind osseointegration_implant_standard, 2024-03-01).
        entry: String,
    },
}

fn source_id<S: serde::Serializer>(source: &&'static Source, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(source.id)
}

impl Basis {
    /// A reference-pack source.
    pub fn reference(source: &'static Source) -> Self {
        Basis::Reference { source }
    }

    /// A programme setting with its value.
    pub fn setting(setting: &'static str, value: impl ToString) -> Self {
        Basis::ProgrammeSetting { setting, value: value.to_string(), label: PROGRAMME_SETTING }
    }

    /// A record entry.
    pub fn record(entry: impl Into<String>) -> Self {
        Basis::Record { entry: entry.into() }
    }

    /// The source id (reference), `programme_setting:<name>` or `record:<entry>`.
    pub fn id(&self) -> String {
        match self {
            Basis::Reference { source } => source.id.to_owned(),
            Basis::ProgrammeSetting { setting, .. } => format!("programme_setting:{setting}"),
            Basis::Record { entry } => format!("record:{entry}"),
        }
    }
}

/// The rationale carried by every derived result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rationale {
    /// Serialised as a JSON object in input order: `{"check_in.temperature_c": 39, ...}`.
    #[serde(serialize_with = "inputs_as_object")]
    pub inputs: Vec<InputUsed>,
    /// The rule that fired, in plain words.
    pub rule: String,
    /// What the rule rests on; never empty.
    pub basis: Vec<Basis>,
    pub flags: Vec<Flag>,
}

fn inputs_as_object<S: serde::Serializer>(inputs: &[InputUsed], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(inputs.len()))?;
    for i in inputs {
        map.serialize_entry(i.field, &i.value)?;
    }
    map.end()
}

impl Rationale {
    /// A rationale resting on `basis`.
    pub fn new(basis: Basis, rule: impl Into<String>) -> Self {
        Rationale { inputs: Vec::new(), rule: rule.into(), basis: vec![basis], flags: Vec::new() }
    }

    pub fn input(mut self, field: &'static str, value: impl Into<InputValue>) -> Self {
        self.inputs.push(InputUsed { field, value: value.into() });
        self
    }

    pub fn push_input(&mut self, field: &'static str, value: impl Into<InputValue>) {
        self.inputs.push(InputUsed { field, value: value.into() });
    }

    /// Add a basis unless it is already listed.
    pub fn also(mut self, basis: Basis) -> Self {
        self.push_basis(basis);
        self
    }

    /// Add a basis unless it is already listed.
    pub fn push_basis(&mut self, basis: Basis) {
        if !self.basis.contains(&basis) {
            self.basis.push(basis);
        }
    }

    pub fn flag(mut self, kind: FlagKind, message: impl Into<String>) -> Self {
        self.flags.push(Flag::new(kind, message));
        self
    }

    pub fn push_flag(&mut self, kind: FlagKind, message: impl Into<String>) {
        self.flags.push(Flag::new(kind, message));
    }

    pub fn has_flag(&self, kind: FlagKind) -> bool {
        self.flags.iter().any(|f| f.kind == kind)
    }

    /// The ids of every basis, in order (see [`Basis::id`]).
    pub fn source_ids(&self) -> Vec<String> {
        self.basis.iter().map(Basis::id).collect()
    }

    /// The reference-pack sources among the bases.
    pub fn sources(&self) -> impl Iterator<Item = &'static Source> + '_ {
        self.basis.iter().filter_map(|b| match b {
            Basis::Reference { source } => Some(*source),
            _ => None,
        })
    }
}

/// A derived value with its rationale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reasoned<T> {
    pub value: T,
    pub rationale: Rationale,
}
