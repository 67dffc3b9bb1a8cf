//! Every code system, code, identifier system and extension URL LimbPath's
//! FHIR mapping uses, in one place, each with its source and status.
//!
//! Rules:
//! - A SNOMED CT or LOINC code is used only when it was found, with the same
//!   meaning, in at least two independent public sources (or in the shared
//!   sample data and one other source). Status `Verified` names them.
//! - Everything else is a LimbPath code in a LimbPath CodeSystem under
//!   [`CANONICAL_BASE`]; its code is the record's own vocabulary code
//!   (`clti`, `transtibial`, …) so it is stable and readable. Status `LimbPath`.
//! - HL7/FHIR/DICOM infrastructure codes (observation categories, audit
//!   codes, UCUM units) cite the specification or profile that fixes them.
//!
//! LOINC 41979-6 is *not* an ankle-brachial index code (it is "Calories burned
//! in 24 hour Calculated"); public code exists that labels it "Ankle-brachial
//! index Panel". It is kept here only as [`MISLABELLED_ABI_CODE`] so tests can
//! assert it is never emitted, and never mapped as an ABI on import.

use crate::r4::{CodeableConcept, Coding};
use serde::Serialize;

/// How far a code has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CodeStatus {
    /// Found with the same meaning in two or more independent sources.
    Verified,
    /// Fixed by the FHIR/HL7/DICOM/UCUM specification or profile cited.
    Specification,
    /// Defined by LimbPath in its own CodeSystem (no external meaning claimed).
    LimbPath,
    /// Must never be emitted (kept only for a negative test).
    Forbidden,
}

/// A code with its system, display, source and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Code {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
    /// Where the code was checked (URL or document).
    pub source: &'static str,
    pub status: CodeStatus,
}

impl Code {
    /// As a FHIR Coding.
    pub fn coding(&self) -> Coding {
        Coding {
            system: Some(self.system.to_owned()),
            code: Some(self.code.to_owned()),
            display: Some(self.display.to_owned()),
            version: None,
        }
    }

    /// As a CodeableConcept with this coding and the display as text.
    pub fn concept(&self) -> CodeableConcept {
        CodeableConcept { coding: vec![self.coding()], text: Some(self.display.to_owned()), ..Default::default() }
    }

    /// Whether a CodeableConcept carries this code.
    pub fn is_in(&self, concept: &CodeableConcept) -> bool {
        concept.has(self.system, self.code)
    }
}

macro_rules! base {
    () => {
        "https://limbpath.example/fhir"
    };
}

/// The one canonical base of every LimbPath URL: identifier systems
/// (`/identifier/…`), code systems (`/CodeSystem/…`), extensions
/// (`/StructureDefinition/…`) and the assessment questionnaire
/// (`/Questionnaire/…`). A deployment that publishes its own definitions
/// changes this one line.
pub const CANONICAL_BASE: &str = base!();

// ---------------------------------------------------------------------------
// Identifier systems
// ---------------------------------------------------------------------------

/// Identifier system of every LimbPath record id (UUIDs, unique across record
/// kinds); exported resources carry `identifier = {RECORD_ID_SYSTEM, id}`.
/// Derived resources (per-leg indices, risk-factor observations) use the id of
/// their record plus a suffix (`<uuid>-abi-left`).
pub const RECORD_ID_SYSTEM: &str = concat!(base!(), "/identifier/record-id");
/// Prefix of the MRN identifier system; the site name follows, percent-encoded
/// (`…/identifier/mrn/Harbourview%20Clinic`), so an MRN is unique per site and
/// the site survives a round trip. `assigner.display` carries the site as text.
pub const MRN_SYSTEM_PREFIX: &str = concat!(base!(), "/identifier/mrn/");
/// Identifier system of LimbPath user accounts (AuditEvent agents).
pub const USER_ID_SYSTEM: &str = concat!(base!(), "/identifier/user-id");

// ---------------------------------------------------------------------------
// LimbPath code systems (status: LimbPath). Codes are the record's vocabulary codes.
// ---------------------------------------------------------------------------

/// Episode aetiology (`limbpath_record::Aetiology` codes).
pub const CS_AETIOLOGY: &str = concat!(base!(), "/CodeSystem/aetiology");
/// Episode status (`limbpath_record::EpisodeStatus` codes).
pub const CS_EPISODE_STATUS: &str = concat!(base!(), "/CodeSystem/episode-status");
/// Limb kind (`lower`, `upper`: `limbpath_record::LimbKind`).
pub const CS_LIMB: &str = concat!(base!(), "/CodeSystem/limb");
/// Amputation level (`limbpath_record::AmputationLevel` codes).
pub const CS_AMPUTATION_LEVEL: &str = concat!(base!(), "/CodeSystem/amputation-level");
/// Foot-map wound location (`limbpath_clinical::angiosome::WoundLocation` codes).
pub const CS_WOUND_LOCATION: &str = concat!(base!(), "/CodeSystem/wound-location");
/// Procedure kind (`limbpath_record::ProcedureKind` codes).
pub const CS_PROCEDURE_KIND: &str = concat!(base!(), "/CodeSystem/procedure-kind");
/// Target artery (`limbpath_record::TargetArtery` codes), used beside SNOMED CT
/// where a verified SNOMED code exists and alone where not.
pub const CS_TARGET_ARTERY: &str = concat!(base!(), "/CodeSystem/target-artery");
/// Angiosome route of a revascularisation (`direct`, `indirect`).
pub const CS_ANGIOSOME_ROUTE: &str = concat!(base!(), "/CodeSystem/angiosome-route");
/// Outcome event kind (`limbpath_record::OutcomeKind` codes).
pub const CS_OUTCOME_KIND: &str = concat!(base!(), "/CodeSystem/outcome-kind");
/// Imaging modality (`limbpath_record::ImagingModality` codes).
pub const CS_IMAGING_MODALITY: &str = concat!(base!(), "/CodeSystem/imaging-modality");
/// Vascular study kind (`limbpath_record::VascularStudyKind` codes).
pub const CS_VASCULAR_STUDY_KIND: &str = concat!(base!(), "/CodeSystem/vascular-study-kind");
/// Diabetes status (`limbpath_record::DiabetesStatus` codes).
pub const CS_DIABETES_STATUS: &str = concat!(base!(), "/CodeSystem/diabetes-status");
/// Smoking status (`limbpath_record::SmokingStatus` codes), beside SNOMED CT.
pub const CS_SMOKING_STATUS: &str = concat!(base!(), "/CodeSystem/smoking-status");
/// Ambulatory status (`limbpath_record::AmbulatoryStatus` codes).
pub const CS_AMBULATORY_STATUS: &str = concat!(base!(), "/CodeSystem/ambulatory-status");
/// LimbPath observation and condition codes (the `OBS_*` constants below).
pub const CS_OBSERVATION: &str = concat!(base!(), "/CodeSystem/observation");
/// Engine classifications and their components (`wifi`, `wifi.wound`, …).
pub const CS_CLASSIFICATION: &str = concat!(base!(), "/CodeSystem/classification");
/// The engine's cited sources, by id (`limbpath_clinical::catalogue()`).
pub const CS_ENGINE_SOURCE: &str = concat!(base!(), "/CodeSystem/engine-source");
/// Audit actions without a FHIR REST interaction (`login`, `export`, …).
pub const CS_AUDIT_ACTION: &str = concat!(base!(), "/CodeSystem/audit-action");
/// LimbPath user roles (`limbpath_record::Role` codes).
pub const CS_ROLE: &str = concat!(base!(), "/CodeSystem/role");

/// The questionnaire an assessment's bedside findings answer (the
/// `limbpath assess` input schema).
pub const ASSESSMENT_QUESTIONNAIRE: &str = concat!(base!(), "/Questionnaire/limb-assessment");

// ---------------------------------------------------------------------------
// LimbPath extensions (status: LimbPath)
// ---------------------------------------------------------------------------

/// valueReference(EpisodeOfCare): the episode a resource belongs to.
pub const EXT_EPISODE: &str = concat!(base!(), "/StructureDefinition/episode");
/// valueReference(BodyStructure): the limb an episode is about.
pub const EXT_LIMB: &str = concat!(base!(), "/StructureDefinition/limb");
/// valueInstant: when the LimbPath record was created (`meta.lastUpdated` is
/// its last change, `meta.versionId` its version).
pub const EXT_RECORD_CREATED: &str = concat!(base!(), "/StructureDefinition/record-created");
/// valueCodeableConcept (CS_EPISODE_STATUS): the episode's LimbPath status
/// (FHIR's EpisodeOfCare.status is coarser).
pub const EXT_EPISODE_STATUS: &str = concat!(base!(), "/StructureDefinition/episode-status");
/// valueString: the episode's free-text summary.
pub const EXT_EPISODE_SUMMARY: &str = concat!(base!(), "/StructureDefinition/episode-summary");
/// valueCodeableConcept (CS_AMPUTATION_LEVEL): a limb's current level or a
/// procedure's / outcome's level.
pub const EXT_AMPUTATION_LEVEL: &str = concat!(base!(), "/StructureDefinition/amputation-level");
/// valueCodeableConcept (CS_ANGIOSOME_ROUTE).
pub const EXT_ANGIOSOME_ROUTE: &str = concat!(base!(), "/StructureDefinition/angiosome-route");
/// valueString: an imaging study's arterial segments (GLASS input) as JSON text.
pub const EXT_ARTERIAL_SEGMENTS: &str = concat!(base!(), "/StructureDefinition/arterial-segments");
/// valueString: the engine version that derived a classification.
pub const EXT_ENGINE_VERSION: &str = concat!(base!(), "/StructureDefinition/engine-version");
/// valueCode on a questionnaire item: the JSON type of a finding that has no
/// answer value (`object`, `array`, `null`, `empty-string`).
pub const EXT_JSON_TYPE: &str = concat!(base!(), "/StructureDefinition/json-type");

// ---------------------------------------------------------------------------
// External code systems and extensions
// ---------------------------------------------------------------------------

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";

// source: mCODE STU4 (HL7, R4) https://hl7.org/fhir/us/mcode/StructureDefinition-mcode-laterality-qualifier.html
//   context: Observation.bodySite, Procedure.bodySite, Condition.bodySite, CodeableConcept | status: Specification
/// valueCodeableConcept (SNOMED CT left/right): laterality of a bodySite.
pub const EXT_LATERALITY: &str = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier";
// source: FHIR Extensions Pack https://hl7.org/fhir/extensions/StructureDefinition-observation-structureLaterality.html | status: Specification
/// Also read on import (another way senders state laterality).
pub const EXT_STRUCTURE_LATERALITY: &str = "http://hl7.org/fhir/StructureDefinition/observation-structureLaterality";

pub const CS_OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const CS_CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub const CS_CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
pub const CS_IDENTIFIER_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

const SAMPLES: &str = "/work/shared/fhir-samples (Synthea R4 bundles, smart-on-fhir/generated-sample-data)";
const R4_OBS_CATEGORY: &str = "http://hl7.org/fhir/R4/codesystem-observation-category.html";
const WOUND_IG: &str = "HL7 Lower Extremity Skin Wound Assessment IG, Observation-woundsize-example \
     (https://build.fhir.org/ig/HL7/fhir-skin-wound-ig/Observation-woundsize-example.html); eHealth Denmark \
     LOINC supplement (https://build.fhir.org/ig/fut-infrastructure/implementation-guide/CodeSystem-ehealth.sundhed.dk-loinc.org-supplement.html)";
const LATERALITY_SRC: &str = "HL7 Europe Base ValueSet siteLaterality-eu \
     (https://build.fhir.org/ig/hl7-eu/base/ValueSet-siteLaterality-eu.html); HL7 Laboratory Report IG \
     laterality-uv-lab (https://hl7.org/fhir/uv/lab-report/2024Sep/ValueSet-laterality-uv-lab.html)";
const CID_12109: &str = "DICOM PS3.16 CID 12109 Lower Extremity Artery \
     (https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_12109.html, as transcribed in \
     bvdh/dicom-terminology-in-fhir) and an independent anatomic-concept table (dicom3tools/PixelMed \
     DisplayableAnatomicConcept or EUCAIM LookupBodyPartForImaging)";
const BALP: &str = "IHE ITI Basic Audit Log Patterns (BALP) profiles IHE.BasicAudit.PatientRead/PatientCreate/\
     PatientUpdate/PatientQuery (https://profiles.ihe.net/ITI/BALP/, IHE/ITI.BasicAudit input/fsh)";

macro_rules! code {
    ($(#[$doc:meta])* $name:ident = $system:expr, $code:literal, $display:literal, $status:ident, $source:expr) => {
        $(#[$doc])*
        pub const $name: Code =
            Code { system: $system, code: $code, display: $display, source: $source, status: CodeStatus::$status };
    };
}

// --- LOINC ---------------------------------------------------------------

// source: HL7 Skin Wound IG example + eHealth DK LOINC supplement (WOUND_IG) | status: VERIFIED
code!(LOINC_WOUND_SIZE_PANEL = LOINC, "72287-6", "Wound size panel", Verified, WOUND_IG);
// source: WOUND_IG | status: VERIFIED
code!(LOINC_WOUND_LENGTH = LOINC, "39126-8", "Length of Wound", Verified, WOUND_IG);
// source: WOUND_IG | status: VERIFIED
code!(LOINC_WOUND_WIDTH = LOINC, "39125-0", "Width of Wound", Verified, WOUND_IG);
// source: WOUND_IG | status: VERIFIED
code!(LOINC_WOUND_DEPTH = LOINC, "39127-6", "Depth of Wound", Verified, WOUND_IG);
// source: WOUND_IG | status: VERIFIED
code!(LOINC_WOUND_AREA = LOINC, "89260-4", "Area of wound", Verified, WOUND_IG);
// source: Synthea samples (37 observations, unit %) and public HbA1c code lists | status: VERIFIED
code!(
    LOINC_HBA1C = LOINC,
    "4548-4",
    "Hemoglobin A1c/Hemoglobin.total in Blood",
    Verified,
    "/work/shared/fhir-samples (Synthea); public HbA1c code lists (4548-4 with 4549-2, 17856-6)"
);
// source: Synthea samples (40 observations, kg/m2); Ronin ValueSet "Body Mass Index (39156-5)" | status: VERIFIED
code!(LOINC_BMI = LOINC, "39156-5", "Body mass index (BMI) [Ratio]", Verified, SAMPLES);
// source: Synthea samples (40 observations, "Tobacco smoking status NHIS"); public SMART app docs | status: VERIFIED
code!(LOINC_SMOKING_STATUS = LOINC, "72166-2", "Tobacco smoking status", Verified, SAMPLES);
// source: HL7 Physical Activity IG (FSH ValueSet: $loinc#41979-6 "Calories burned in 24 hour Calculated");
//   mislabelled "Ankle-brachial index Panel" in public PHP code | status: FORBIDDEN (never emit, never map as ABI)
code!(
    /// Not an ABI code: "Calories burned in 24 hour Calculated". Never emitted.
    MISLABELLED_ABI_CODE = LOINC,
    "41979-6",
    "Calories burned in 24 hour Calculated",
    Forbidden,
    "HL7 Physical Activity IG ValueSet (physical-activity measures); issue 8 warning"
);

// --- SNOMED CT -----------------------------------------------------------

// source: LATERALITY_SRC | status: VERIFIED
code!(SCT_LEFT = SNOMED, "7771000", "Left", Verified, LATERALITY_SRC);
// source: LATERALITY_SRC | status: VERIFIED
code!(SCT_RIGHT = SNOMED, "24028007", "Right", Verified, LATERALITY_SRC);
// source: Synthea samples (display "Diabetes"), Czech FHIR example "Diabetes mellitus type 2 (disorder)",
//   public code tables (E11 ↔ 44054006) | status: VERIFIED
code!(
    SCT_DIABETES_TYPE_2 = SNOMED,
    "44054006",
    "Diabetes mellitus type 2",
    Verified,
    "Synthea samples; public FHIR examples and code tables (E11 ↔ 44054006)"
);
// source: public FHIR example JSON "Diabetes mellitus type 1"; public code tables (E10 ↔ 46635009) | status: VERIFIED
code!(
    SCT_DIABETES_TYPE_1 = SNOMED,
    "46635009",
    "Diabetes mellitus type 1",
    Verified,
    "public FHIR examples and code tables (E10 ↔ 46635009)"
);
// source: /work/shared/fhir-samples/README.md and all five sample bundles | status: VERIFIED
code!(
    SCT_DIABETIC_NEUROPATHY_T2 = SNOMED,
    "368581000119106",
    "Neuropathy due to type 2 diabetes mellitus",
    Verified,
    "/work/shared/fhir-samples/README.md and the five sample bundles"
);
// source: HL7 CREDS IG ValueSet PeripheralArterialOcclusiveDisease
//   (https://hl7.org/fhir/us/registry-protocols/ValueSet-PeripheralArterialOcclusiveDisease.html);
//   German MII FSH "Peripheral arterial occlusive disease (disorder)" | status: VERIFIED
code!(
    /// Sent as a second, *wider* coding on CLTI episode conditions (CLTI is the
    /// end stage of PAD); the LimbPath aetiology code stays the primary one.
    SCT_PAD = SNOMED,
    "399957001",
    "Peripheral arterial occlusive disease",
    Verified,
    "HL7 CREDS IG ValueSet PeripheralArterialOcclusiveDisease; MII German FSH profiles"
);
// source: Synthea samples ("Never smoker", 40 obs); public smoking-status tables "Never smoked tobacco" | status: VERIFIED
code!(SCT_NEVER_SMOKED = SNOMED, "266919005", "Never smoked tobacco", Verified, SAMPLES);
// source: C-CDA examples (8517006 "Former smoker"/"Ex-smoker"); Dutch FHIR code "Ex-roker" | status: VERIFIED
code!(SCT_EX_SMOKER = SNOMED, "8517006", "Ex-smoker", Verified, "C-CDA smoking status examples; Dutch FHIR code");
// source: public smoking-status tables (77176002 "Smoker"); ISiK Raucherstatus profile | status: VERIFIED
code!(SCT_SMOKER = SNOMED, "77176002", "Smoker", Verified, "public smoking-status value sets; ISiK profile");

// Arteries: DICOM CID 12109 + an independent table each | status: VERIFIED.
// Not used: plantar arterial arch 83018002 (CID 12109 only: single source), aorta and
// tibioperoneal trunk (not checked): LimbPath codes only.
code!(SCT_COMMON_ILIAC = SNOMED, "73634005", "Common iliac artery", Verified, CID_12109);
code!(SCT_EXTERNAL_ILIAC = SNOMED, "113269004", "External iliac artery", Verified, CID_12109);
code!(SCT_COMMON_FEMORAL = SNOMED, "181347005", "Common femoral artery", Verified, CID_12109);
code!(SCT_PROFUNDA_FEMORIS = SNOMED, "31677005", "Profunda femoris artery", Verified, CID_12109);
code!(SCT_SUPERFICIAL_FEMORAL = SNOMED, "181349008", "Superficial femoral artery", Verified, CID_12109);
code!(SCT_POPLITEAL = SNOMED, "43899006", "Popliteal artery", Verified, CID_12109);
code!(SCT_ANTERIOR_TIBIAL = SNOMED, "68053000", "Anterior tibial artery", Verified, CID_12109);
code!(SCT_POSTERIOR_TIBIAL = SNOMED, "13363002", "Posterior tibial artery", Verified, CID_12109);
code!(SCT_PERONEAL = SNOMED, "8821006", "Peroneal artery", Verified, CID_12109);
code!(SCT_DORSALIS_PEDIS = SNOMED, "86547008", "Dorsalis pedis artery", Verified, CID_12109);

// --- HL7 / FHIR infrastructure ---------------------------------------------

// source: FHIR R4 observation-category code system (R4_OBS_CATEGORY); samples use vital-signs, laboratory, survey | status: Specification
code!(CAT_EXAM = CS_OBSERVATION_CATEGORY, "exam", "Exam", Specification, R4_OBS_CATEGORY);
code!(CAT_SURVEY = CS_OBSERVATION_CATEGORY, "survey", "Survey", Specification, R4_OBS_CATEGORY);
code!(CAT_LABORATORY = CS_OBSERVATION_CATEGORY, "laboratory", "Laboratory", Specification, R4_OBS_CATEGORY);
code!(CAT_VITAL_SIGNS = CS_OBSERVATION_CATEGORY, "vital-signs", "Vital Signs", Specification, R4_OBS_CATEGORY);
code!(CAT_IMAGING = CS_OBSERVATION_CATEGORY, "imaging", "Imaging", Specification, R4_OBS_CATEGORY);
code!(CAT_SOCIAL_HISTORY = CS_OBSERVATION_CATEGORY, "social-history", "Social History", Specification, R4_OBS_CATEGORY);
// source: http://hl7.org/fhir/R4/codesystem-condition-clinical.html; samples use "active" | status: Specification
code!(
    CLINICAL_ACTIVE = CS_CONDITION_CLINICAL,
    "active",
    "Active",
    Specification,
    "http://hl7.org/fhir/R4/codesystem-condition-clinical.html"
);
code!(
    CLINICAL_RESOLVED = CS_CONDITION_CLINICAL,
    "resolved",
    "Resolved",
    Specification,
    "http://hl7.org/fhir/R4/codesystem-condition-clinical.html"
);
// source: HL7 v2 table 0203; samples use MR for the hospital MRN | status: Specification
code!(
    IDENTIFIER_TYPE_MR = CS_IDENTIFIER_TYPE,
    "MR",
    "Medical record number",
    Specification,
    "HL7 v2 table 0203 (http://terminology.hl7.org/CodeSystem/v2-0203); Synthea samples"
);

// source: UCUM; mm[Hg], %, kg/m2 in the Synthea samples; cm, cm2 in WOUND_IG | status: Specification
pub const UNIT_MMHG: &str = "mm[Hg]";
pub const UNIT_CM: &str = "cm";
pub const UNIT_CM2: &str = "cm2";
pub const UNIT_PERCENT: &str = "%";
pub const UNIT_KG_M2: &str = "kg/m2";
/// UCUM unity, for ratios (ABI, TBI).
pub const UNIT_RATIO: &str = "1";

// --- Audit (IHE BALP) ------------------------------------------------------------

code!(
    AUDIT_TYPE_REST = "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "rest",
    "Restful Operation",
    Specification,
    BALP
);
code!(
    AUDIT_TYPE_APPLICATION_ACTIVITY = "http://dicom.nema.org/resources/ontology/DCM",
    "110100",
    "Application Activity",
    Specification,
    BALP
);
code!(INTERACTION_READ = "http://hl7.org/fhir/restful-interaction", "read", "read", Specification, BALP);
code!(INTERACTION_CREATE = "http://hl7.org/fhir/restful-interaction", "create", "create", Specification, BALP);
code!(INTERACTION_UPDATE = "http://hl7.org/fhir/restful-interaction", "update", "update", Specification, BALP);
code!(
    INTERACTION_SEARCH_TYPE = "http://hl7.org/fhir/restful-interaction",
    "search-type",
    "search-type",
    Specification,
    BALP
);
code!(
    AGENT_SOURCE_ROLE = "http://dicom.nema.org/resources/ontology/DCM",
    "110153",
    "Source Role ID",
    Specification,
    BALP
);
code!(
    AGENT_DESTINATION_ROLE = "http://dicom.nema.org/resources/ontology/DCM",
    "110152",
    "Destination Role ID",
    Specification,
    BALP
);
code!(
    AGENT_INFORMATION_RECIPIENT = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
    "IRCP",
    "information recipient",
    Specification,
    BALP
);
code!(
    AGENT_AUTHOR = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
    "AUT",
    "author",
    Specification,
    BALP
);
code!(
    ENTITY_TYPE_PERSON = "http://terminology.hl7.org/CodeSystem/audit-entity-type",
    "1",
    "Person",
    Specification,
    BALP
);
code!(
    ENTITY_TYPE_SYSTEM_OBJECT = "http://terminology.hl7.org/CodeSystem/audit-entity-type",
    "2",
    "System Object",
    Specification,
    BALP
);
code!(ENTITY_ROLE_PATIENT = "http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient", Specification, BALP);
code!(
    ENTITY_ROLE_DOMAIN_RESOURCE = "http://terminology.hl7.org/CodeSystem/object-role",
    "4",
    "Domain Resource",
    Specification,
    BALP
);
code!(ENTITY_ROLE_QUERY = "http://terminology.hl7.org/CodeSystem/object-role", "24", "Query", Specification, BALP);
code!(
    SOURCE_TYPE_APPLICATION_SERVER = "http://terminology.hl7.org/CodeSystem/security-source-type",
    "4",
    "Application Server",
    Specification,
    BALP
);

// --- LimbPath observation codes (status: LimbPath) ------------------------------------

const LP: &str = "LimbPath CodeSystem (defined here; no external meaning claimed)";

code!(
    /// Systolic pressure at the brachial artery (laterality in bodySite).
    OBS_BRACHIAL_PRESSURE = CS_OBSERVATION, "brachial-pressure", "Brachial systolic pressure", LimbPath, LP
);
code!(
    OBS_DORSALIS_PEDIS_PRESSURE = CS_OBSERVATION,
    "dorsalis-pedis-pressure",
    "Dorsalis pedis systolic pressure",
    LimbPath,
    LP
);
code!(
    OBS_POSTERIOR_TIBIAL_PRESSURE = CS_OBSERVATION,
    "posterior-tibial-pressure",
    "Posterior tibial systolic pressure",
    LimbPath,
    LP
);
code!(OBS_TOE_PRESSURE = CS_OBSERVATION, "toe-pressure", "Toe systolic pressure", LimbPath, LP);
code!(OBS_TCPO2 = CS_OBSERVATION, "tcpo2", "Transcutaneous oxygen pressure", LimbPath, LP);
code!(
    /// No LOINC ABI code could be verified (and 41979-6 is not one).
    OBS_ABI = CS_OBSERVATION, "abi", "Ankle-brachial index", LimbPath, LP
);
code!(OBS_TBI = CS_OBSERVATION, "tbi", "Toe-brachial index", LimbPath, LP);
code!(OBS_INDEX_CATEGORY = CS_OBSERVATION, "index-category", "Guideline category of the index", LimbPath, LP);
code!(
    OBS_ANKLE_PRESSURE_USED = CS_OBSERVATION,
    "ankle-pressure-used",
    "Ankle pressure used (higher of DP/PT)",
    LimbPath,
    LP
);
code!(
    OBS_BRACHIAL_PRESSURE_USED = CS_OBSERVATION,
    "brachial-pressure-used",
    "Brachial pressure used (higher arm)",
    LimbPath,
    LP
);
code!(OBS_VASCULAR_STUDY = CS_OBSERVATION, "vascular-study", "Non-invasive vascular study", LimbPath, LP);
code!(OBS_IMAGING_STUDY = CS_OBSERVATION, "imaging-study", "Imaging study", LimbPath, LP);
code!(OBS_DEXA_T_SCORE = CS_OBSERVATION, "dexa-t-score", "DEXA T-score", LimbPath, LP);
code!(OBS_OUTCOME_EVENT = CS_OBSERVATION, "outcome-event", "Limb-salvage outcome event", LimbPath, LP);
code!(
    /// A wound on the foot map (a Condition).
    OBS_WOUND = CS_OBSERVATION, "wound", "Wound", LimbPath, LP
);
code!(OBS_DIABETES_STATUS = CS_OBSERVATION, "diabetes-status", "Diabetes status", LimbPath, LP);
code!(OBS_CKD_STAGE = CS_OBSERVATION, "ckd-stage", "Chronic kidney disease stage (1-5)", LimbPath, LP);
code!(OBS_DIALYSIS = CS_OBSERVATION, "dialysis", "On dialysis", LimbPath, LP);
code!(OBS_AMBULATORY_STATUS = CS_OBSERVATION, "ambulatory-status", "Ambulatory status", LimbPath, LP);

/// Every code constant above that a test or a reviewer should see (LimbPath
/// system URLs are not listed: they are all under [`CANONICAL_BASE`]).
pub const ALL: &[&Code] = &[
    &LOINC_WOUND_SIZE_PANEL,
    &LOINC_WOUND_LENGTH,
    &LOINC_WOUND_WIDTH,
    &LOINC_WOUND_DEPTH,
    &LOINC_WOUND_AREA,
    &LOINC_HBA1C,
    &LOINC_BMI,
    &LOINC_SMOKING_STATUS,
    &MISLABELLED_ABI_CODE,
    &SCT_LEFT,
    &SCT_RIGHT,
    &SCT_DIABETES_TYPE_2,
    &SCT_DIABETES_TYPE_1,
    &SCT_DIABETIC_NEUROPATHY_T2,
    &SCT_PAD,
    &SCT_NEVER_SMOKED,
    &SCT_EX_SMOKER,
    &SCT_SMOKER,
    &SCT_COMMON_ILIAC,
    &SCT_EXTERNAL_ILIAC,
    &SCT_COMMON_FEMORAL,
    &SCT_PROFUNDA_FEMORIS,
    &SCT_SUPERFICIAL_FEMORAL,
    &SCT_POPLITEAL,
    &SCT_ANTERIOR_TIBIAL,
    &SCT_POSTERIOR_TIBIAL,
    &SCT_PERONEAL,
    &SCT_DORSALIS_PEDIS,
    &CAT_EXAM,
    &CAT_SURVEY,
    &CAT_LABORATORY,
    &CAT_VITAL_SIGNS,
    &CAT_IMAGING,
    &CAT_SOCIAL_HISTORY,
    &CLINICAL_ACTIVE,
    &CLINICAL_RESOLVED,
    &IDENTIFIER_TYPE_MR,
    &AUDIT_TYPE_REST,
    &AUDIT_TYPE_APPLICATION_ACTIVITY,
    &INTERACTION_READ,
    &INTERACTION_CREATE,
    &INTERACTION_UPDATE,
    &INTERACTION_SEARCH_TYPE,
    &AGENT_SOURCE_ROLE,
    &AGENT_DESTINATION_ROLE,
    &AGENT_INFORMATION_RECIPIENT,
    &AGENT_AUTHOR,
    &ENTITY_TYPE_PERSON,
    &ENTITY_TYPE_SYSTEM_OBJECT,
    &ENTITY_ROLE_PATIENT,
    &ENTITY_ROLE_DOMAIN_RESOURCE,
    &ENTITY_ROLE_QUERY,
    &SOURCE_TYPE_APPLICATION_SERVER,
    &OBS_BRACHIAL_PRESSURE,
    &OBS_DORSALIS_PEDIS_PRESSURE,
    &OBS_POSTERIOR_TIBIAL_PRESSURE,
    &OBS_TOE_PRESSURE,
    &OBS_TCPO2,
    &OBS_ABI,
    &OBS_TBI,
    &OBS_INDEX_CATEGORY,
    &OBS_ANKLE_PRESSURE_USED,
    &OBS_BRACHIAL_PRESSURE_USED,
    &OBS_VASCULAR_STUDY,
    &OBS_IMAGING_STUDY,
    &OBS_DEXA_T_SCORE,
    &OBS_OUTCOME_EVENT,
    &OBS_WOUND,
    &OBS_DIABETES_STATUS,
    &OBS_CKD_STAGE,
    &OBS_DIALYSIS,
    &OBS_AMBULATORY_STATUS,
];

/// A LimbPath vocabulary code as a coding in a LimbPath code system; the
/// display is the code in words (`major_amputation` → "major amputation").
pub fn limbpath(system: &str, code: &str) -> Coding {
    Coding {
        system: Some(system.to_owned()),
        code: Some(code.to_owned()),
        display: Some(code.replace('_', " ")),
        version: None,
    }
}

/// [`limbpath`] as a CodeableConcept.
pub fn limbpath_concept(system: &str, code: &str) -> CodeableConcept {
    let coding = limbpath(system, code);
    CodeableConcept { text: coding.display.clone(), coding: vec![coding], ..Default::default() }
}

/// The verified SNOMED CT code of a target artery, where there is one.
pub fn target_artery_snomed(artery: limbpath_record::TargetArtery) -> Option<&'static Code> {
    use limbpath_record::TargetArtery as A;
    match artery {
        A::CommonIliac => Some(&SCT_COMMON_ILIAC),
        A::ExternalIliac => Some(&SCT_EXTERNAL_ILIAC),
        A::CommonFemoral => Some(&SCT_COMMON_FEMORAL),
        A::ProfundaFemoris => Some(&SCT_PROFUNDA_FEMORIS),
        A::SuperficialFemoral => Some(&SCT_SUPERFICIAL_FEMORAL),
        A::Popliteal => Some(&SCT_POPLITEAL),
        A::AnteriorTibial => Some(&SCT_ANTERIOR_TIBIAL),
        A::PosteriorTibial => Some(&SCT_POSTERIOR_TIBIAL),
        A::Peroneal => Some(&SCT_PERONEAL),
        A::DorsalisPedis => Some(&SCT_DORSALIS_PEDIS),
        // Aorta, tibioperoneal trunk: not checked; plantar arch: single source only.
        A::Aorta | A::TibioperonealTrunk | A::PlantarArch => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_names_its_source_and_no_code_is_listed_twice() {
        let mut seen = HashSet::new();
        for c in ALL {
            assert!(!c.source.trim().is_empty(), "{} has no source", c.code);
            assert!(!c.display.is_empty(), "{} has no display", c.code);
            assert!(seen.insert((c.system, c.code)), "{}|{} listed twice", c.system, c.code);
        }
    }

    #[test]
    fn external_codes_are_verified_and_limbpath_codes_live_under_the_canonical_base() {
        for c in ALL {
            match c.status {
                CodeStatus::LimbPath => assert!(c.system.starts_with(CANONICAL_BASE), "{}", c.code),
                CodeStatus::Verified => assert!(c.system == LOINC || c.system == SNOMED, "{}", c.code),
                CodeStatus::Specification => assert!(!c.system.starts_with(CANONICAL_BASE), "{}", c.code),
                CodeStatus::Forbidden => assert_eq!(c.code, "41979-6"),
            }
        }
    }

    #[test]
    fn the_abi_is_not_coded_with_the_calories_code() {
        assert_ne!(OBS_ABI.code, MISLABELLED_ABI_CODE.code);
        assert_ne!(OBS_ABI.system, LOINC, "no LOINC ABI code was verified: the ABI stays a LimbPath code");
        // the only place 41979-6 appears is the forbidden constant
        let uses: Vec<_> = ALL.iter().filter(|c| c.code == "41979-6").collect();
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].status, CodeStatus::Forbidden);
    }

    #[test]
    fn wound_panel_codes_are_the_ones_the_issue_names() {
        // independent of the table: the codes as printed in issue 8 and the HL7 wound IG example
        let expected = [
            ("72287-6", "panel"),
            ("39126-8", "length"),
            ("39125-0", "width"),
            ("39127-6", "depth"),
            ("89260-4", "area"),
        ];
        let actual = [
            (LOINC_WOUND_SIZE_PANEL.code, "panel"),
            (LOINC_WOUND_LENGTH.code, "length"),
            (LOINC_WOUND_WIDTH.code, "width"),
            (LOINC_WOUND_DEPTH.code, "depth"),
            (LOINC_WOUND_AREA.code, "area"),
        ];
        assert_eq!(expected, actual);
    }

    #[test]
    fn canonical_urls_share_one_base() {
        for url in [RECORD_ID_SYSTEM, MRN_SYSTEM_PREFIX, CS_AETIOLOGY, EXT_EPISODE, ASSESSMENT_QUESTIONNAIRE] {
            assert!(url.starts_with("https://limbpath.example/fhir/"), "{url}");
        }
    }

    #[test]
    fn only_checked_arteries_get_a_snomed_code() {
        use limbpath_record::TargetArtery as A;
        assert_eq!(target_artery_snomed(A::Popliteal).map(|c| c.code), Some("43899006"));
        assert_eq!(target_artery_snomed(A::PosteriorTibial).map(|c| c.code), Some("13363002"));
        assert!(target_artery_snomed(A::PlantarArch).is_none());
        assert!(target_artery_snomed(A::Aorta).is_none());
        let coded = A::ALL.iter().filter(|a| target_artery_snomed(**a).is_some()).count();
        assert_eq!(coded, 10);
    }
}
