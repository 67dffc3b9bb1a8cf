//! What every derived result carries: the inputs it used, the rule that fired
//! in plain words, the source it came from with that source's status, and any
//! flag a clinician must see (a disputed cell, an ambiguous boundary, a
//! measurement that was set aside).

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// The evidence status of a table or rule, as REFERENCES.md labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EvidenceStatus {
    /// Two or more independent sources agree.
    Verified,
    /// One source only: implemented, listed for re-check before clinical release.
    SingleSource,
    /// Sources disagree; the majority value is used and the dissent is returned.
    Disputed,
    /// The agreement of every transcription that carries the table, primary not checked.
    SecondaryConsensus,
}

impl fmt::Display for EvidenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EvidenceStatus::Verified => "VERIFIED",
            EvidenceStatus::SingleSource => "SINGLE-SOURCE",
            EvidenceStatus::Disputed => "DISPUTED",
            EvidenceStatus::SecondaryConsensus => "SECONDARY CONSENSUS",
        })
    }
}

/// A cited source. Every table in this crate points at one of these statics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Stable identifier, e.g. `wifi.stage_matrix`.
    pub id: &'static str,
    /// The citation as a clinician would look it up.
    pub citation: &'static str,
    /// Where in the LimbPath reference pack the table is transcribed.
    pub reference: &'static str,
    /// Evidence status of the table as a whole.
    pub status: EvidenceStatus,
    /// Status detail as the reference prints it (e.g. which cells are disputed).
    pub status_note: &'static str,
}

/// Why a flag was raised. Serialised in SCREAMING_SNAKE_CASE so API clients can
/// switch on it; [`FlagKind::code`] gives the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlagKind {
    /// The value comes from a cell the sources disagree on.
    Disputed,
    /// Provisional: the estimate rests on a table whose status is not VERIFIED.
    Provisional,
    /// The input sits on a boundary the published table claims for two grades.
    AmbiguousBoundary,
    /// The input falls between two printed bands; the documented rule placed it.
    BetweenPrintedBands,
    /// A table value that is probably a transcription error, shipped as printed.
    Suspect,
    /// The table or rule has a single source; re-check before clinical release.
    SingleSource,
    /// Measurements disagree; the worst grade was used and the others are listed.
    DiscordantMeasurements,
    /// A measurement was set aside as unreliable.
    MeasurementExcluded,
    /// Some inputs were not provided, so the result may understate severity.
    Incomplete,
    /// A caution about how far a score can be trusted; never a verdict.
    Caution,
    /// A clinician's explicit override replaced the table's answer.
    ClinicianOverride,
    /// Something the clinician should check (an unusual combination of findings).
    Review,
    /// The value was derived by the documented between-rows rule.
    Interpolated,
    /// No verified rule exists for this input; the result says what is unknown.
    Unverified,
}

impl FlagKind {
    /// The stable code, as serialised (e.g. `DISCORDANT_MEASUREMENTS`).
    pub fn code(self) -> String {
        let debug = format!("{self:?}");
        let mut out = String::with_capacity(debug.len() + 4);
        for (i, ch) in debug.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_uppercase());
        }
        out
    }
}

/// A flag returned with a result. The message is written for the clinician.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub message: String,
}

impl Flag {
    pub fn new(kind: FlagKind, message: impl Into<String>) -> Self {
        Flag { kind, message: message.into() }
    }
}

/// A value an input had when a result was derived.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum InputValue {
    Number(f64),
    Integer(i64),
    Bool(bool),
    /// Borrowed for the static vocabulary words most inputs are.
    Text(Cow<'static, str>),
}

impl fmt::Display for InputValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputValue::Number(v) => f.write_str(&number(*v)),
            InputValue::Integer(v) => write!(f, "{v}"),
            InputValue::Bool(v) => write!(f, "{}", if *v { "yes" } else { "no" }),
            InputValue::Text(v) => f.write_str(v),
        }
    }
}

/// A measurement as a clinician writes it: at most four decimals, no
/// trailing zeros (0.5211267 → "0.5211", 24.0 → "24").
pub fn number(v: f64) -> String {
    fixed(v, 4, true)
}

/// `v` with exactly (or, with `trim`, at most) `decimals` decimals, rounded
/// half away from zero. Integer arithmetic on the scaled value: float
/// formatting with a precision falls back to slow bignum code.
pub fn fixed(v: f64, decimals: u32, trim: bool) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let scaled = (v * 10f64.powi(decimals as i32)).round();
    let mut out = if scaled.abs() < 9.0e15 {
        let scaled = scaled as i64;
        let unit = 10u64.pow(decimals);
        let (whole, frac) = (scaled.unsigned_abs() / unit, scaled.unsigned_abs() % unit);
        let sign = if scaled < 0 { "-" } else { "" };
        if decimals == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{frac:0width$}", width = decimals as usize)
        }
    } else {
        format!("{v:.*}", decimals as usize)
    };
    if trim && decimals > 0 {
        let keep = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(keep);
    }
    if out == "-0" { "0".to_owned() } else { out }
}

impl From<f64> for InputValue {
    fn from(v: f64) -> Self {
        InputValue::Number(v)
    }
}
impl From<u8> for InputValue {
    fn from(v: u8) -> Self {
        InputValue::Integer(i64::from(v))
    }
}
impl From<u32> for InputValue {
    fn from(v: u32) -> Self {
        InputValue::Integer(i64::from(v))
    }
}
impl From<bool> for InputValue {
    fn from(v: bool) -> Self {
        InputValue::Bool(v)
    }
}
impl From<&'static str> for InputValue {
    fn from(v: &'static str) -> Self {
        InputValue::Text(Cow::Borrowed(v))
    }
}
impl From<String> for InputValue {
    fn from(v: String) -> Self {
        InputValue::Text(Cow::Owned(v))
    }
}

/// One input used by a result: its field name (as in the JSON input) and value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputUsed {
    pub field: &'static str,
    pub value: InputValue,
}

/// The explanation carried by every derived result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Serialised as a JSON object in input order: `{"abi": 0.52, ...}`.
    #[serde(serialize_with = "inputs_as_object")]
    pub inputs: Vec<InputUsed>,
    /// The rule that fired, in plain words.
    pub rule: String,
    /// Serialised as the source's id; the document's `sources` map (see
    /// [`cited_sources`]) or [`crate::catalogue`] gives the citation.
    #[serde(serialize_with = "cite")]
    pub source: &'static Source,
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

thread_local! {
    static CITED: std::cell::RefCell<Option<Vec<&'static Source>>> = const { std::cell::RefCell::new(None) };
}

fn cite<S: serde::Serializer>(source: &&'static Source, s: S) -> Result<S::Ok, S::Error> {
    CITED.with(|c| {
        if let Some(list) = c.borrow_mut().as_mut()
            && !list.iter().any(|x| x.id == source.id)
        {
            list.push(source);
        }
    });
    s.serialize_str(source.id)
}

/// Run `serialise` (which serialises results on this thread) and return its
/// value with every source the serialised explanations cited, in order of
/// first citation. Used to write a document's `sources` map once instead of
/// repeating each citation in every explanation.
pub fn cited_sources<R>(serialise: impl FnOnce() -> R) -> (R, Vec<&'static Source>) {
    let outer = CITED.with(|c| c.borrow_mut().replace(Vec::new()));
    let value = serialise();
    let cited = CITED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer)).unwrap_or_default();
    (value, cited)
}

impl Explanation {
    pub fn new(source: &'static Source, rule: impl Into<String>) -> Self {
        // Most explanations record a handful of inputs: one allocation, not three.
        Explanation { inputs: Vec::with_capacity(8), rule: rule.into(), source, flags: Vec::new() }
    }

    pub fn input(mut self, field: &'static str, value: impl Into<InputValue>) -> Self {
        self.inputs.push(InputUsed { field, value: value.into() });
        self
    }

    pub fn push_input(&mut self, field: &'static str, value: impl Into<InputValue>) {
        self.inputs.push(InputUsed { field, value: value.into() });
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
}

/// One labelled line of a result, for renderers (CLI text, web UI) that do not
/// want to know every result type.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    /// What was classified, e.g. "WIfI ischaemia grade".
    pub label: &'static str,
    /// The result in clinical shorthand, e.g. "I3".
    pub result: String,
    pub explanation: &'a Explanation,
}

/// Implemented by every result: its sections, most important first.
pub trait Explain {
    fn sections(&self) -> Vec<Section<'_>>;

    /// Lines to show after the sections (e.g. what could not be computed).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Shown with every result: LimbPath suggests, clinicians decide.
pub const DECISION_SUPPORT_NOTICE: &str = "Decision support only: estimates and suggestions for a clinician, \
     who decides. Check every flagged item against the cited source.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_clinicians_write_them() {
        assert_eq!(number(0.5211267605633803), "0.5211");
        assert_eq!(number(24.0), "24");
        assert_eq!(number(0.8), "0.8");
        assert_eq!(number(-0.00001), "0");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(-1.25), "-1.25");
        assert_eq!(number(1e20), "100000000000000000000");
        assert_eq!(fixed(0.5, 2, false), "0.50");
        assert_eq!(fixed(0.87323943, 2, false), "0.87");
        assert_eq!(fixed(0.995, 2, false), "1.00");
        assert_eq!(fixed(1.41, 2, false), "1.41");
    }

    static TEST_SOURCE: Source = Source {
        id: "test.source",
        citation: "A citation",
        reference: "REFERENCES.md §0",
        status: EvidenceStatus::Verified,
        status_note: "",
    };

    #[test]
    fn explanations_cite_sources_by_id_and_the_collector_lists_them_once() {
        let e = Explanation::new(&TEST_SOURCE, "rule");
        let e = e.input("abi", 0.52).input("side", "left");
        let (json, cited) = cited_sources(|| serde_json::to_value([&e, &e]).unwrap());
        assert_eq!(json[0]["source"], "test.source");
        assert_eq!(json[0]["inputs"], serde_json::json!({"abi": 0.52, "side": "left"}));
        assert_eq!(cited.len(), 1);
        assert_eq!(cited[0].citation, "A citation");
        // outside a collection, serialising still works and records nothing
        assert_eq!(serde_json::to_value(&e).unwrap()["source"], "test.source");
        let ((), none) = cited_sources(|| ());
        assert!(none.is_empty());
    }

    #[test]
    fn flag_codes_match_their_serialisation() {
        for kind in
            [FlagKind::DiscordantMeasurements, FlagKind::Disputed, FlagKind::BetweenPrintedBands, FlagKind::Unverified]
        {
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::String(kind.code()));
        }
    }
}
