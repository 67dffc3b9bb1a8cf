//! # limbpath-record
//!
//! The limb-centred record, as plain data with validation. A patient has
//! limbs; a limb has episodes (one limb-threatening problem from referral to
//! outcome); an episode collects assessments, wounds with dated measurements,
//! vascular and imaging studies, procedures, outcome events, consent records
//! and its care team.
//!
//! Invariants:
//! - Pure: no I/O, no clock, no id generation. The store assigns ids (UUIDv7
//!   text), versions and timestamps.
//! - Every `*Data` struct is what a client sends to create or replace a
//!   record: unknown JSON fields are rejected, and [`Validate::validate`]
//!   returns an [`InvalidInput`] naming the field before anything is stored.
//!   Vocabularies reuse the clinical engine's (wound locations, arteries).
//! - Assessments keep the findings exactly as sent (JSON) beside what the
//!   engine derived and the engine version, so they can be re-derived later.

use limbpath_clinical::InvalidInput;
use limbpath_clinical::angiosome::WoundLocation;
use limbpath_clinical::limits::{self, Plausible};
use serde::{Deserialize, Serialize};

pub use time::Date;

mod vocab;
pub use vocab::*;

/// A record id: a UUID in its hyphenated text form (the store uses UUIDv7, so
/// ids sort by creation time as text on SQLite and PostgreSQL alike).
pub type Id = String;

/// Validation of what a client sends, before anything is stored.
pub trait Validate {
    fn validate(&self) -> Result<(), InvalidInput>;
}

/// A stored record: the data as sent, plus what the store assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored<T> {
    pub id: Id,
    /// Increases by one on every change; sent back as the ETag and checked
    /// against `If-Match` on update (optimistic concurrency).
    pub version: i64,
    /// Milliseconds since the Unix epoch, UTC.
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    #[serde(flatten)]
    pub data: T,
}

/// Check a UUID in text form (any version), naming the field.
pub fn check_id(field: &str, id: &str) -> Result<(), InvalidInput> {
    let b = id.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::unrecognised(field, id, "a UUID, e.g. 0192f0c5-3b1e-7c2a-9f00-1a2b3c4d5e6f"))
    }
}

/// Check a free-text field: trimmed length within `1..=max` (or `0..=max` when optional).
pub fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), InvalidInput> {
    let len = text.trim().chars().count();
    if required && len == 0 {
        return Err(InvalidInput::missing(field, format!("non-empty text of at most {max} characters")));
    }
    if text.chars().count() > max {
        return Err(InvalidInput::out_of_range(
            field,
            format!("{} characters", text.chars().count()),
            format!("at most {max} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(InvalidInput::unrecognised(field, text.escape_debug(), "text without control characters"));
    }
    Ok(())
}

fn check_opt_num(field: &str, v: Option<f64>, p: Plausible) -> Result<(), InvalidInput> {
    p.check_opt(field, v).map(|_| ())
}

/// Dates in the record must not precede 1900 (a plausibility bound, not clinical).
fn check_date(field: &str, d: Date) -> Result<(), InvalidInput> {
    if d.year() < 1900 || d.year() > 2200 {
        return Err(InvalidInput::out_of_range(field, d, "a date from 1900-01-01 to 2200-12-31"));
    }
    Ok(())
}

fn check_order(field: &str, start: Date, end: Option<Date>, start_field: &str) -> Result<(), InvalidInput> {
    if let Some(end) = end {
        check_date(field, end)?;
        if end < start {
            return Err(InvalidInput::inconsistent(
                field,
                end,
                format!("it must not be before {start_field} ({start})"),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Patient
// ---------------------------------------------------------------------------

/// Demographics, the site identifier and the risk factors a limb salvage
/// programme decides on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientData {
    /// The site's medical record number; unique within `site`.
    pub mrn: String,
    /// The site (hospital or clinic) that issued the MRN.
    pub site: String,
    pub family_name: String,
    pub given_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    pub diabetes: DiabetesStatus,
    /// Latest HbA1c, % (NGSP/DCCT).
    pub hba1c_percent: Option<f64>,
    /// CKD stage 1–5, if known.
    pub ckd_stage: Option<u8>,
    #[serde(default)]
    pub dialysis: bool,
    pub smoking: SmokingStatus,
    pub bmi: Option<f64>,
    pub ambulatory_status: AmbulatoryStatus,
}

// HbA1c 3–20 %: an assay's reportable range (engineering bound, not a target).
const HBA1C_PERCENT: Plausible = Plausible { min: 3.0, max: 20.0, unit: "%" };

impl Validate for PatientData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_text("mrn", &self.mrn, 64, true)?;
        check_text("site", &self.site, 128, true)?;
        check_text("family_name", &self.family_name, 128, true)?;
        check_text("given_name", &self.given_name, 128, true)?;
        check_date("birth_date", self.birth_date)?;
        check_opt_num("hba1c_percent", self.hba1c_percent, HBA1C_PERCENT)?;
        if let Some(s) = self.ckd_stage {
            limits::check_grade("ckd_stage", s, 1, 5)?;
        }
        check_opt_num("bmi", self.bmi, limits::BMI)?;
        if self.dialysis && self.ckd_stage.is_some_and(|s| s < 5) {
            return Err(InvalidInput::inconsistent(
                "ckd_stage",
                self.ckd_stage.unwrap_or(0),
                "dialysis implies CKD stage 5",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Limb and episode
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimbData {
    pub patient_id: Id,
    pub side: Side,
    pub kind: LimbKind,
    /// Current amputation level, if the limb has been amputated.
    pub amputation_level: Option<AmputationLevel>,
}

impl Validate for LimbData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("patient_id", &self.patient_id)?;
        if let Some(level) = self.amputation_level
            && level.limb_kind() != self.kind
        {
            return Err(InvalidInput::inconsistent(
                "amputation_level",
                level.code(),
                format!("an amputation level of a {} limb", self.kind.code()),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeData {
    pub limb_id: Id,
    pub aetiology: Aetiology,
    pub status: EpisodeStatus,
    pub opened_on: Date,
    pub closed_on: Option<Date>,
    /// Free-text summary of the referral or problem.
    #[serde(default)]
    pub summary: String,
}

impl Validate for EpisodeData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("limb_id", &self.limb_id)?;
        check_date("opened_on", self.opened_on)?;
        check_order("closed_on", self.opened_on, self.closed_on, "opened_on")?;
        check_text("summary", &self.summary, 4000, false)?;
        match (self.status, self.closed_on) {
            (EpisodeStatus::Closed, None) => {
                Err(InvalidInput::missing("closed_on", "the date a closed episode closed"))
            }
            (s, Some(d)) if s != EpisodeStatus::Closed => {
                Err(InvalidInput::inconsistent("closed_on", d, "only a closed episode has closed_on"))
            }
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// Assessment
// ---------------------------------------------------------------------------

/// An assessment as sent: the bedside findings (the engine's `assess` input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentData {
    pub episode_id: Id,
    pub assessed_on: Date,
    /// Findings in the `limbpath assess` input schema, kept exactly as sent.
    pub findings: Findings,
}

/// An assessment's findings as the JSON text that was sent: validated as JSON
/// when read, stored, read back and answered as that text, and parsed into the
/// engine's typed input only where the engine reads it. Building them into a
/// `serde_json::Value` tree and writing it out again cost more server time per
/// assessment than the engine's classification (BENCHMARKS.md, "Findings kept
/// as text").
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Findings(Box<serde_json::value::RawValue>);

impl Findings {
    /// Findings from stored or received text; an error when it is not JSON.
    pub fn from_text(text: String) -> Result<Findings, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Findings)
    }

    /// The findings as JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The findings as the engine's input. An error names the field as
    /// `findings.<path>` (`findings.ischaemia.abi`).
    pub fn input(&self) -> Result<limbpath_clinical::assess::AssessmentInput, InvalidInput> {
        serde_json::from_str(self.text()).map_err(|plain| {
            // Read again, tracking where it failed (slower: only for the error).
            let de = &mut serde_json::Deserializer::from_str(self.text());
            let (path, e) = match serde_path_to_error::deserialize::<_, limbpath_clinical::assess::AssessmentInput>(de)
            {
                Err(e) => (e.path().to_string(), e.into_inner()),
                Ok(_) => (".".to_owned(), plain),
            };
            let field = match path.as_str() {
                "." => "findings".to_owned(),
                p if p.starts_with('[') => format!("findings{p}"),
                p => format!("findings.{p}"),
            };
            // The position is within the findings, not the request: left out.
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) if e.line() > 0 => message[..at].to_owned(),
                _ => message,
            };
            InvalidInput::unrecognised(field, message, "findings in the `limbpath assess` input schema (README)")
        })
    }

    /// The findings as a JSON tree, for reading their fields.
    pub fn value(&self) -> serde_json::Value {
        // Valid JSON (checked when made), within serde_json's recursion limit
        // (the same limit checked it).
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl From<serde_json::Value> for Findings {
    fn from(value: serde_json::Value) -> Findings {
        // A Value always writes out as JSON.
        Findings(serde_json::value::to_raw_value(&value).expect("a JSON value serialises"))
    }
}

impl PartialEq for Findings {
    /// The same JSON text.
    fn eq(&self, other: &Findings) -> bool {
        self.text() == other.text()
    }
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// What the store keeps beside the findings: the engine's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Derived {
    pub engine_version: String,
    /// The engine's `Assessment` as JSON text (sources cited by id), kept as
    /// the engine wrote it: stored, read back and answered without being
    /// built into a tree and written out again (about 7 KB per assessment).
    /// [`Derived::result_value`] parses it where fields are read.
    pub result: Box<serde_json::value::RawValue>,
    /// Denormalised for search and lists: the WIfI clinical stage (1–5).
    pub wifi_stage: Option<u8>,
}

impl Derived {
    /// The result as a JSON tree, for reading its fields.
    pub fn result_value(&self) -> serde_json::Value {
        // A RawValue holds valid JSON; the engine's result nests far less deep
        // than serde_json's recursion limit.
        serde_json::from_str(self.result.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for Derived {
    /// The same engine version, stage and result text.
    fn eq(&self, other: &Derived) -> bool {
        self.engine_version == other.engine_version
            && self.wifi_stage == other.wifi_stage
            && self.result.get() == other.result.get()
    }
}

impl AssessmentData {
    /// Validate the findings through the engine and derive every
    /// classification. Errors name the field as `findings.<path>`.
    pub fn derive(&self) -> Result<Derived, InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_date("assessed_on", self.assessed_on)?;
        let input = self.findings.input()?;
        let result = limbpath_clinical::assess::assess(&input).map_err(|e| e.within("findings"))?;
        let wifi_stage = result.wifi.as_ref().map(|w| w.stage.stage);
        let result = serde_json::value::to_raw_value(&result)
            .map_err(|e| InvalidInput::unrecognised("findings", e, "findings the engine can serialise"))?;
        Ok(Derived { engine_version: limbpath_clinical::ENGINE_VERSION.to_owned(), result, wifi_stage })
    }
}

// ---------------------------------------------------------------------------
// Wounds and measurements
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WoundData {
    pub episode_id: Id,
    /// Location on the foot map (the engine's angiosome vocabulary).
    pub location: WoundLocation,
    pub noted_on: Date,
    #[serde(default)]
    pub description: String,
    pub healed_on: Option<Date>,
}

impl Validate for WoundData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_date("noted_on", self.noted_on)?;
        check_order("healed_on", self.noted_on, self.healed_on, "noted_on")?;
        check_text("description", &self.description, 4000, false)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WoundMeasurementData {
    pub wound_id: Id,
    pub measured_on: Date,
    pub length_cm: f64,
    pub width_cm: f64,
    pub depth_cm: Option<f64>,
    /// Measured area (planimetry or photo); when absent, length × width is used.
    pub area_cm2: Option<f64>,
}

impl Validate for WoundMeasurementData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("wound_id", &self.wound_id)?;
        check_date("measured_on", self.measured_on)?;
        limits::LENGTH_CM.check("length_cm", self.length_cm)?;
        limits::LENGTH_CM.check("width_cm", self.width_cm)?;
        check_opt_num("depth_cm", self.depth_cm, limits::LENGTH_CM)?;
        check_opt_num("area_cm2", self.area_cm2, limits::AREA_CM2)
    }
}

impl WoundMeasurementData {
    /// The area used for trajectories: measured, or length × width.
    pub fn area(&self) -> f64 {
        self.area_cm2.unwrap_or(self.length_cm * self.width_cm)
    }
}

/// Percent area reduction from the baseline (first) measurement:
/// `(baseline − current) / baseline × 100`. `None` when the baseline area is 0.
/// Negative when the wound grew.
pub fn percent_area_reduction(baseline_cm2: f64, current_cm2: f64) -> Option<f64> {
    (baseline_cm2 > 0.0).then(|| (baseline_cm2 - current_cm2) / baseline_cm2 * 100.0)
}

// ---------------------------------------------------------------------------
// Vascular and imaging studies
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VascularStudyData {
    pub episode_id: Id,
    pub performed_on: Date,
    pub kind: VascularStudyKind,
    /// Brachial, ankle and toe pressures (ABI/TBI are derived from them).
    pub pressures: Option<limbpath_clinical::perfusion::PressureSet>,
    pub tcpo2_mmhg: Option<f64>,
    /// Duplex or venous ultrasound findings, free text.
    #[serde(default)]
    pub findings: String,
}

impl Validate for VascularStudyData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_date("performed_on", self.performed_on)?;
        if let Some(p) = &self.pressures {
            limbpath_clinical::perfusion::classify(p).map_err(|e| e.within("pressures"))?;
        }
        check_opt_num("tcpo2_mmhg", self.tcpo2_mmhg, limits::TCPO2_MMHG)?;
        check_text("findings", &self.findings, 8000, false)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagingStudyData {
    pub episode_id: Id,
    pub performed_on: Date,
    pub modality: ImagingModality,
    #[serde(default)]
    pub findings: String,
    /// Arterial segment findings (angiography, CT/MR angiography, duplex):
    /// the engine's GLASS input, which feeds the GLASS stage.
    pub arterial_segments: Option<serde_json::Value>,
    /// DEXA T-score (SD), which feeds the osseointegration protocol.
    pub dexa_t_score: Option<f64>,
}

// T-score −10 to +10 SD: the reportable range of a DEXA scanner (engineering bound).
const T_SCORE: Plausible = Plausible { min: -10.0, max: 10.0, unit: "SD" };

impl Validate for ImagingStudyData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_date("performed_on", self.performed_on)?;
        check_text("findings", &self.findings, 8000, false)?;
        if let Some(segments) = &self.arterial_segments {
            let input: limbpath_clinical::glass::GlassInput =
                serde_json::from_value(segments.clone()).map_err(|e| {
                    InvalidInput::unrecognised(
                        "arterial_segments",
                        e,
                        "the GLASS input of `limbpath classify glass` (README)",
                    )
                })?;
            limbpath_clinical::glass::classify(&input).map_err(|e| e.within("arterial_segments"))?;
        }
        check_opt_num("dexa_t_score", self.dexa_t_score, T_SCORE)?;
        if self.dexa_t_score.is_some() && self.modality != ImagingModality::Dexa {
            return Err(InvalidInput::inconsistent(
                "dexa_t_score",
                self.modality.code(),
                "a T-score only with modality dexa",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Procedures and outcome events
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureData {
    pub episode_id: Id,
    pub performed_on: Date,
    pub kind: ProcedureKind,
    /// Required for minor and major amputations.
    pub amputation_level: Option<AmputationLevel>,
    #[serde(default)]
    pub target_arteries: Vec<TargetArtery>,
    /// For revascularisation: direct or indirect for the wound's angiosome.
    pub angiosome_route: Option<AngiosomeRoute>,
    #[serde(default)]
    pub complications: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

impl Validate for ProcedureData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_date("performed_on", self.performed_on)?;
        check_text("notes", &self.notes, 8000, false)?;
        for c in &self.complications {
            check_text("complications", c, 500, true)?;
        }
        match (self.kind.amputation(), self.amputation_level) {
            (Some(_), None) => {
                return Err(InvalidInput::missing("amputation_level", "the level of the amputation"));
            }
            (Some(major), Some(level)) if level.is_major() != major => {
                return Err(InvalidInput::inconsistent(
                    "amputation_level",
                    level.code(),
                    if major {
                        "a major amputation level (above the ankle)"
                    } else {
                        "a minor amputation level (at or below the ankle)"
                    },
                ));
            }
            (None, Some(level)) => {
                return Err(InvalidInput::inconsistent(
                    "amputation_level",
                    level.code(),
                    "a level only for an amputation",
                ));
            }
            _ => {}
        }
        if self.angiosome_route.is_some() && !self.kind.is_revascularisation() {
            return Err(InvalidInput::inconsistent(
                "angiosome_route",
                self.kind.code(),
                "a route only for a revascularisation",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeEventData {
    pub episode_id: Id,
    pub occurred_on: Date,
    pub kind: OutcomeKind,
    /// Required for minor and major amputation events.
    pub amputation_level: Option<AmputationLevel>,
    #[serde(default)]
    pub notes: String,
}

impl Validate for OutcomeEventData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_date("occurred_on", self.occurred_on)?;
        check_text("notes", &self.notes, 8000, false)?;
        let needs_level = matches!(self.kind, OutcomeKind::MinorAmputation | OutcomeKind::MajorAmputation);
        match (needs_level, self.amputation_level) {
            (true, None) => Err(InvalidInput::missing("amputation_level", "the level of the amputation")),
            (true, Some(level)) if level.is_major() != (self.kind == OutcomeKind::MajorAmputation) => {
                Err(InvalidInput::inconsistent("amputation_level", level.code(), "a level matching minor or major"))
            }
            (false, Some(level)) => Err(InvalidInput::inconsistent(
                "amputation_level",
                level.code(),
                "a level only for an amputation event",
            )),
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// Consent and care team
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentData {
    pub episode_id: Id,
    /// What was consented to, in words (e.g. "left transtibial amputation").
    pub consented_to: String,
    pub consented_on: Date,
    /// The clinician the consent was given to.
    pub given_to: String,
    pub withdrawn_on: Option<Date>,
}

impl Validate for ConsentData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        check_text("consented_to", &self.consented_to, 1000, true)?;
        check_date("consented_on", self.consented_on)?;
        check_text("given_to", &self.given_to, 256, true)?;
        check_order("withdrawn_on", self.consented_on, self.withdrawn_on, "consented_on")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareTeamMemberData {
    pub episode_id: Id,
    /// The member's user account, when they have one.
    pub user_id: Option<Id>,
    pub name: String,
    pub discipline: Discipline,
    /// Leads the team (the care coordinator, usually).
    #[serde(default)]
    pub lead: bool,
}

impl Validate for CareTeamMemberData {
    fn validate(&self) -> Result<(), InvalidInput> {
        check_id("episode_id", &self.episode_id)?;
        if let Some(u) = &self.user_id {
            check_id("user_id", u)?;
        }
        check_text("name", &self.name, 256, true)
    }
}

// ---------------------------------------------------------------------------
// Users and roles
// ---------------------------------------------------------------------------

/// A user account as an admin creates it (the password is hashed by the store
/// layer and never stored or returned in clear).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserData {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// For the patient role: the patient whose record this user may read.
    pub patient_id: Option<Id>,
}

impl Validate for UserData {
    fn validate(&self) -> Result<(), InvalidInput> {
        let ok = !self.username.is_empty()
            && self.username.len() <= 64
            && self.username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !ok {
            return Err(InvalidInput::unrecognised(
                "username",
                &self.username,
                "1-64 characters: letters, digits, '.', '_', '-', '@'",
            ));
        }
        check_text("display_name", &self.display_name, 128, true)?;
        match (self.role, &self.patient_id) {
            (Role::Patient, None) => {
                Err(InvalidInput::missing("patient_id", "the patient a patient account belongs to"))
            }
            (Role::Patient, Some(p)) => check_id("patient_id", p),
            (_, Some(p)) => Err(InvalidInput::inconsistent("patient_id", p, "a patient_id only for the patient role")),
            (_, None) => Ok(()),
        }
    }
}

/// The password policy (OWASP ASVS 4.0.3 V2.1, level 2): 12 to 256
/// characters (2.1.1, 2.1.2), any characters and no composition rules (2.1.4,
/// 2.1.9), not one repeated character, not containing the username (for
/// usernames of 3 or more characters; shorter ones must not equal it), and not
/// on the committed list of common passwords `common-passwords.txt` (2.1.7),
/// compared without regard to case. The message never repeats the password.
pub fn check_password(username: &str, password: &str) -> Result<(), InvalidInput> {
    let n = password.chars().count();
    if !(12..=256).contains(&n) {
        return Err(InvalidInput::out_of_range("password", format!("{n} characters"), "12 to 256 characters"));
    }
    let refuse = |accepted: &str| Err(InvalidInput::inconsistent("password", "(not shown)", accepted));
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return refuse("a password that is not one repeated character");
    }
    let lower = password.to_lowercase();
    let user = username.to_lowercase();
    let contains_user = if user.chars().count() >= 3 { lower.contains(&user) } else { lower == user };
    if contains_user {
        return refuse("a password that does not contain the username");
    }
    if is_common_password(&lower) {
        return refuse("a password that is not on the list of common passwords: choose a longer, personal passphrase");
    }
    Ok(())
}

const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// Whether `lower` (already lower-case) is on the committed list of common passwords.
fn is_common_password(lower: &str) -> bool {
    COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).any(|l| l == lower)
}

// ---------------------------------------------------------------------------
// Whole records
// ---------------------------------------------------------------------------

/// An assessment as stored: the findings as sent and what the engine derived.
/// (Not `Deserialize`: its derived result is raw JSON text, which serde
/// cannot read beside a flattened field.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAssessment {
    #[serde(flatten)]
    pub stored: Stored<AssessmentData>,
    pub derived: Derived,
}

/// A patient's whole record with ids already assigned: what bulk loading (the
/// demo cohort, FHIR import) inserts in one transaction, and what export reads.
/// Children refer to their parents by id (limb → patient, episode → limb, …).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct PatientRecord {
    pub patient: Option<Stored<PatientData>>,
    pub limbs: Vec<Stored<LimbData>>,
    pub episodes: Vec<Stored<EpisodeData>>,
    pub assessments: Vec<StoredAssessment>,
    pub wounds: Vec<Stored<WoundData>>,
    pub wound_measurements: Vec<Stored<WoundMeasurementData>>,
    pub vascular_studies: Vec<Stored<VascularStudyData>>,
    pub imaging_studies: Vec<Stored<ImagingStudyData>>,
    pub procedures: Vec<Stored<ProcedureData>>,
    pub outcome_events: Vec<Stored<OutcomeEventData>>,
    pub consents: Vec<Stored<ConsentData>>,
    pub care_team: Vec<Stored<CareTeamMemberData>>,
}

#[cfg(test)]
mod tests;
