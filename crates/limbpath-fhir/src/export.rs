//! A patient's LimbPath record → FHIR R4 resources.
//!
//! | LimbPath | FHIR |
//! |---|---|
//! | patient | Patient (MRN identifier per site) + risk-factor Observations (HbA1c, BMI, smoking: LOINC; diabetes status, CKD stage, dialysis, ambulatory status when recorded: LimbPath codes) + a diabetes Condition (SNOMED CT type 1/2) |
//! | limb | BodyStructure (limb kind, laterality, current amputation level) |
//! | episode | EpisodeOfCare (aetiology as type, LimbPath status, limb) + its problem as a Condition (bodySite with laterality) |
//! | wound | Condition (foot-map location + laterality, noted → onset, healed → abatement) |
//! | wound measurement | Observation LOINC 72287-6 wound size panel, components length/width/depth/area |
//! | vascular study | Observation panel (`hasMember` the pressures, each with laterality) + derived ABI/TBI Observations per leg (`derivedFrom` the pressures) |
//! | imaging study | Observation (modality as method, findings, DEXA T-score, arterial segments) |
//! | assessment | QuestionnaireResponse (the findings, losslessly) + one Observation per classification the engine derived (`derivedFrom` the response) |
//! | procedure | Procedure (target arteries with laterality, amputation level, angiosome route) |
//! | outcome event | Observation (outcome kind, date, amputation level) |
//!
//! Every resource's id is the LimbPath record id (a UUID), or for a resource
//! derived from a record, that id plus a suffix (`<uuid>-abi-left`); every
//! resource also carries `identifier = {RECORD_ID_SYSTEM, id}`, its version
//! in `meta.versionId`, its last change in `meta.lastUpdated` and its
//! creation in the `record-created` extension. References are relative
//! (`Patient/<uuid>`). Consents and care-team members are not exported.

use crate::classify::{self, CLASSIFICATIONS};
use crate::codes::{self, *};
use crate::findings;
use crate::issue::{ExportError, Issue, IssueKind};
use crate::r4::*;
use crate::when;
use limbpath_record::{
    AmputationLevel, DiabetesStatus, EpisodeStatus, Id, LimbData, PatientData, PatientRecord, Side, SmokingStatus,
    Stored,
};
use serde_json::Value;
use std::collections::HashMap;

/// What kind of bundle to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// A set of resources (`fullUrl` = server base + `Type/id`).
    Collection,
    /// All-or-nothing create-or-replace on a receiving server: each entry is
    /// `PUT Type/id`, so sending it twice changes nothing.
    Transaction,
    /// As `Transaction`, processed entry by entry.
    Batch,
    /// A search result (`search.mode = match`), with `total`.
    Searchset,
}

/// Every FHIR resource of one patient's record, in a stable order (patient,
/// risk factors, limbs, episodes, wounds, measurements, studies, assessments,
/// procedures, outcomes; each in record order).
pub fn export_patient(record: &PatientRecord) -> Result<Vec<Resource>, ExportError> {
    let Some(patient) = &record.patient else {
        return Err(ExportError(Issue::error(
            IssueKind::Required,
            "patient",
            "",
            "a record without its patient cannot be exported",
            "a record with a patient",
        )));
    };
    let mut x = Exporter { record, patient, out: Vec::new(), limbs: HashMap::new(), episodes: HashMap::new() };
    x.patient()?;
    x.limbs()?;
    x.episodes()?;
    x.wounds()?;
    x.vascular_studies()?;
    x.imaging_studies()?;
    x.assessments()?;
    x.procedures()?;
    x.outcome_events()?;
    Ok(x.out)
}

/// A bundle of resources. `base_url` is the FHIR base the `fullUrl`s are
/// under (the serving LimbPath's, e.g. `https://clinic.example/fhir`).
pub fn bundle(kind: BundleKind, resources: Vec<Resource>, base_url: &str) -> Bundle {
    let base = base_url.trim_end_matches('/');
    let total = resources.len();
    let entry = resources
        .into_iter()
        .map(|r| {
            let path = format!("{}/{}", r.resource_type(), r.id().unwrap_or_default());
            BundleEntry {
                full_url: Some(format!("{base}/{path}")),
                request: matches!(kind, BundleKind::Transaction | BundleKind::Batch).then(|| BundleRequest {
                    method: "PUT".to_owned(),
                    url: path,
                    ..Default::default()
                }),
                search: (kind == BundleKind::Searchset)
                    .then(|| BundleSearch { mode: Some("match".to_owned()), score: None }),
                resource: Some(r),
                response: None,
            }
        })
        .collect();
    Bundle {
        type_: Some(match kind {
            BundleKind::Collection => BundleType::Collection,
            BundleKind::Transaction => BundleType::Transaction,
            BundleKind::Batch => BundleType::Batch,
            BundleKind::Searchset => BundleType::Searchset,
        }),
        total: (kind == BundleKind::Searchset).then(|| u32::try_from(total).unwrap_or(u32::MAX)),
        entry,
        ..Bundle::default()
    }
}

/// One resource per line (FHIR Bulk Data NDJSON), each line ending in `\n`.
pub fn ndjson(resources: &[Resource]) -> String {
    let mut out = String::new();
    for r in resources {
        // Serialising these types cannot fail: no map has non-string keys.
        out.push_str(&serde_json::to_string(r).unwrap_or_default());
        out.push('\n');
    }
    out
}

struct Exporter<'a> {
    record: &'a PatientRecord,
    patient: &'a Stored<PatientData>,
    out: Vec<Resource>,
    /// limb id → limb
    limbs: HashMap<&'a str, &'a Stored<LimbData>>,
    /// episode id → its limb
    episodes: HashMap<&'a str, &'a Stored<LimbData>>,
}

fn err(location: String, value: impl std::fmt::Display, problem: &str, expected: &str) -> ExportError {
    ExportError(Issue::error(IssueKind::BusinessRule, location, value, problem, expected))
}

fn record_id(id: &str) -> Identifier {
    Identifier { system: Some(RECORD_ID_SYSTEM.to_owned()), value: Some(id.to_owned()), ..Default::default() }
}

/// Percent-encode a site name into the MRN identifier system (RFC 3986
/// unreserved characters stay; everything else is `%XX` of its UTF-8 bytes).
pub(crate) fn mrn_system(site: &str) -> String {
    let mut out = String::from(MRN_SYSTEM_PREFIX);
    for b in site.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// SNOMED CT left or right.
fn side_code(side: Side) -> &'static Code {
    match side {
        Side::Left => &SCT_LEFT,
        Side::Right => &SCT_RIGHT,
    }
}

fn laterality(side: Side) -> Extension {
    let mut e = Extension::new(EXT_LATERALITY);
    e.value_codeable_concept = Some(side_code(side).concept());
    e
}

/// A bodySite: codings, laterality (when known) and words.
fn body_site(coding: Vec<Coding>, side: Option<Side>, text: &str) -> CodeableConcept {
    let text = match side {
        Some(s) => format!("{} {text}", s.code()),
        None => text.to_owned(),
    };
    CodeableConcept { extension: side.map(laterality).into_iter().collect(), coding, text: Some(text) }
}

fn episode_ext(episode_id: &str) -> Extension {
    let mut e = Extension::new(EXT_EPISODE);
    e.value_reference = Some(Reference::to("EpisodeOfCare", episode_id));
    e
}

fn coded_ext(url: &str, system: &str, code: &str) -> Extension {
    let mut e = Extension::new(url);
    e.value_codeable_concept = Some(limbpath_concept(system, code));
    e
}

fn quantity(value: f64, unit: &str) -> Quantity {
    Quantity {
        value: Some(value),
        unit: Some(unit.to_owned()),
        system: Some(UCUM.to_owned()),
        code: Some(unit.to_owned()),
        comparator: None,
    }
}

fn notes(text: &str) -> Vec<Annotation> {
    if text.trim().is_empty() { Vec::new() } else { vec![Annotation { text: text.to_owned() }] }
}

fn observation(id: String, code: CodeableConcept, patient: &str) -> Observation {
    Observation {
        identifier: vec![record_id(&id)],
        id: Some(id),
        status: "final".to_owned(),
        code,
        subject: Some(Reference::to("Patient", patient)),
        ..Observation::default()
    }
}

impl<'a> Exporter<'a> {
    fn pid(&self) -> &'a str {
        &self.patient.id
    }

    /// `meta` and the `record-created` extension of a stored record.
    fn stamp<T>(&self, s: &Stored<T>, location: &str) -> Result<(Meta, Extension), ExportError> {
        let instant = |ms: i64, field: &str| {
            when::instant(ms).ok_or_else(|| {
                err(format!("{location}.{field}"), ms, "a timestamp FHIR cannot express", "a time in the years 1-9999")
            })
        };
        let meta = Meta {
            version_id: Some(s.version.to_string()),
            last_updated: Some(instant(s.updated_at_ms, "updated_at_ms")?),
            ..Meta::default()
        };
        let mut created = Extension::new(EXT_RECORD_CREATED);
        created.value_instant = Some(instant(s.created_at_ms, "created_at_ms")?);
        Ok((meta, created))
    }

    /// An observation of a stored record: its id, meta, creation and (for
    /// episode-scoped records) episode extension.
    fn record_observation<T>(
        &self,
        s: &Stored<T>,
        at: &str,
        code: &Code,
        episode_id: Option<&str>,
    ) -> Result<Observation, ExportError> {
        let (meta, created) = self.stamp(s, at)?;
        let mut o = observation(s.id.clone(), code.concept(), self.pid());
        o.meta = Some(meta);
        o.extension = vec![created];
        o.extension.extend(episode_id.map(episode_ext));
        Ok(o)
    }

    fn episode_limb(&self, episode_id: &Id, location: String) -> Result<&'a Stored<LimbData>, ExportError> {
        self.episodes.get(episode_id.as_str()).copied().ok_or_else(|| {
            err(location, episode_id, "no episode with this id in the record", "the id of one of the record's episodes")
        })
    }

    fn patient(&mut self) -> Result<(), ExportError> {
        let p = self.patient;
        let d = &p.data;
        let (meta, created) = self.stamp(p, "patient")?;
        let mrn = Identifier {
            use_: Some("usual".to_owned()),
            type_: Some(IDENTIFIER_TYPE_MR.concept()),
            system: Some(mrn_system(&d.site)),
            value: Some(d.mrn.clone()),
            assigner: Some(Box::new(Reference { display: Some(d.site.clone()), ..Reference::default() })),
        };
        self.out.push(Resource::Patient(Patient {
            id: Some(p.id.clone()),
            meta: Some(meta.clone()),
            extension: vec![created.clone()],
            identifier: vec![record_id(&p.id), mrn],
            name: vec![HumanName {
                use_: Some("official".to_owned()),
                family: Some(d.family_name.clone()),
                given: vec![d.given_name.clone()],
                text: None,
            }],
            gender: Some(d.sex.code().to_owned()),
            birth_date: Some(when::date(d.birth_date)),
            ..Patient::default()
        }));

        // Risk factors: one observation each, stamped like the patient.
        let pid = self.pid();
        let risk = |suffix: &str, code: CodeableConcept, category: Option<&Code>, fill: &dyn Fn(&mut Observation)| {
            let mut o = observation(format!("{pid}-{suffix}"), code, pid);
            o.meta = Some(meta.clone());
            o.extension = vec![created.clone()];
            o.category = category.map(Code::concept).into_iter().collect();
            fill(&mut o);
            Resource::Observation(o)
        };
        let mut out = Vec::new();
        let diabetes_snomed = match d.diabetes {
            DiabetesStatus::Type1 => Some(&SCT_DIABETES_TYPE_1),
            DiabetesStatus::Type2 => Some(&SCT_DIABETES_TYPE_2),
            DiabetesStatus::None | DiabetesStatus::Other => None,
        };
        let mut status = limbpath_concept(CS_DIABETES_STATUS, d.diabetes.code());
        status.coding.extend(diabetes_snomed.map(Code::coding));
        out.push(risk("diabetes-status", OBS_DIABETES_STATUS.concept(), None, &|o| {
            o.value_codeable_concept = Some(status.clone())
        }));
        if let Some(v) = d.hba1c_percent {
            out.push(risk("hba1c", LOINC_HBA1C.concept(), Some(&CAT_LABORATORY), &|o| {
                o.value_quantity = Some(quantity(v, UNIT_PERCENT))
            }));
        }
        if let Some(v) = d.ckd_stage {
            out.push(risk("ckd-stage", OBS_CKD_STAGE.concept(), None, &|o| o.value_integer = Some(i64::from(v))));
        }
        out.push(risk("dialysis", OBS_DIALYSIS.concept(), None, &|o| o.value_boolean = Some(d.dialysis)));
        let mut smoking = limbpath_concept(CS_SMOKING_STATUS, d.smoking.code());
        let smoking_snomed = match d.smoking {
            SmokingStatus::Never => Some(&SCT_NEVER_SMOKED),
            SmokingStatus::Former => Some(&SCT_EX_SMOKER),
            SmokingStatus::Current => Some(&SCT_SMOKER),
            SmokingStatus::Unknown => None,
        };
        smoking.coding.splice(0..0, smoking_snomed.map(Code::coding));
        out.push(risk("smoking", LOINC_SMOKING_STATUS.concept(), Some(&CAT_SOCIAL_HISTORY), &|o| {
            o.value_codeable_concept = Some(smoking.clone())
        }));
        if let Some(v) = d.bmi {
            out.push(risk("bmi", LOINC_BMI.concept(), Some(&CAT_VITAL_SIGNS), &|o| {
                o.value_quantity = Some(quantity(v, UNIT_KG_M2))
            }));
        }
        // "Not recorded" is the absence of a fact, so it is not sent as one: no
        // Observation, and an import reads the absence back as not recorded.
        if d.ambulatory_status.is_recorded() {
            out.push(risk("ambulatory-status", OBS_AMBULATORY_STATUS.concept(), None, &|o| {
                o.value_codeable_concept = Some(limbpath_concept(CS_AMBULATORY_STATUS, d.ambulatory_status.code()))
            }));
        }
        if let Some(code) = diabetes_snomed {
            let id = format!("{pid}-diabetes");
            out.push(Resource::Condition(Condition {
                identifier: vec![record_id(&id)],
                id: Some(id),
                meta: Some(meta.clone()),
                extension: vec![created.clone()],
                clinical_status: Some(CLINICAL_ACTIVE.concept()),
                code: Some(code.concept()),
                subject: Reference::to("Patient", pid),
                ..Condition::default()
            }));
        }
        self.out.extend(out);
        Ok(())
    }

    fn limbs(&mut self) -> Result<(), ExportError> {
        for (i, l) in self.record.limbs.iter().enumerate() {
            let at = format!("limbs[{i}]");
            if l.data.patient_id != self.patient.id {
                return Err(err(
                    format!("{at}.patient_id"),
                    &l.data.patient_id,
                    "not this record's patient",
                    "the patient's id",
                ));
            }
            let (meta, created) = self.stamp(l, &at)?;
            let mut extension = vec![created];
            extension.extend(level_ext(l.data.amputation_level));
            let kind = l.data.kind.code();
            self.out.push(Resource::BodyStructure(BodyStructure {
                id: Some(l.id.clone()),
                meta: Some(meta),
                extension,
                identifier: vec![record_id(&l.id)],
                location: Some(limbpath_concept(CS_LIMB, kind)),
                location_qualifier: vec![side_code(l.data.side).concept()],
                description: Some(format!("{} {kind} limb", l.data.side.code())),
                patient: Reference::to("Patient", self.pid()),
                ..BodyStructure::default()
            }));
            self.limbs.insert(&l.id, l);
        }
        Ok(())
    }

    fn episodes(&mut self) -> Result<(), ExportError> {
        for (i, e) in self.record.episodes.iter().enumerate() {
            let at = format!("episodes[{i}]");
            let limb = *self.limbs.get(e.data.limb_id.as_str()).ok_or_else(|| {
                err(
                    format!("{at}.limb_id"),
                    &e.data.limb_id,
                    "no limb with this id in the record",
                    "one of the record's limbs",
                )
            })?;
            self.episodes.insert(&e.id, limb);
            let (meta, created) = self.stamp(e, &at)?;
            let mut extension = vec![created.clone()];
            let mut limb_ext = Extension::new(EXT_LIMB);
            limb_ext.value_reference = Some(Reference::to("BodyStructure", &limb.id));
            extension.push(limb_ext);
            extension.push(coded_ext(EXT_EPISODE_STATUS, CS_EPISODE_STATUS, e.data.status.code()));
            if !e.data.summary.is_empty() {
                let mut s = Extension::new(EXT_EPISODE_SUMMARY);
                s.value_string = Some(e.data.summary.clone());
                extension.push(s);
            }
            let problem_id = format!("{}-problem", e.id);
            let mut diagnosis =
                vec![EpisodeDiagnosis { condition: Reference::to("Condition", &problem_id), rank: Some(1) }];
            diagnosis.extend(
                self.record
                    .wounds
                    .iter()
                    .filter(|w| w.data.episode_id == e.id)
                    .map(|w| EpisodeDiagnosis { condition: Reference::to("Condition", &w.id), rank: None }),
            );
            let aetiology = limbpath_concept(CS_AETIOLOGY, e.data.aetiology.code());
            self.out.push(Resource::EpisodeOfCare(EpisodeOfCare {
                id: Some(e.id.clone()),
                meta: Some(meta.clone()),
                extension,
                identifier: vec![record_id(&e.id)],
                status: match e.data.status {
                    EpisodeStatus::Referred => "waitlist",
                    EpisodeStatus::Evaluation | EpisodeStatus::Treatment | EpisodeStatus::FollowUp => "active",
                    EpisodeStatus::Closed => "finished",
                }
                .to_owned(),
                type_: vec![aetiology.clone()],
                diagnosis,
                patient: Reference::to("Patient", self.pid()),
                period: Some(Period {
                    start: Some(when::date(e.data.opened_on)),
                    end: e.data.closed_on.map(when::date),
                }),
                ..EpisodeOfCare::default()
            }));
            // The episode's problem, as a Condition on the limb. CLTI also
            // carries the verified, wider SNOMED CT PAD code.
            let mut code = aetiology;
            if e.data.aetiology == limbpath_record::Aetiology::Clti {
                code.coding.push(SCT_PAD.coding());
            }
            let closed = e.data.status == EpisodeStatus::Closed;
            self.out.push(Resource::Condition(Condition {
                identifier: vec![record_id(&problem_id)],
                id: Some(problem_id),
                meta: Some(meta),
                extension: vec![created, episode_ext(&e.id)],
                clinical_status: Some(if closed { CLINICAL_RESOLVED } else { CLINICAL_ACTIVE }.concept()),
                code: Some(code),
                body_site: vec![body_site(
                    vec![limbpath(CS_LIMB, limb.data.kind.code())],
                    Some(limb.data.side),
                    &format!("{} limb", limb.data.kind.code()),
                )],
                subject: Reference::to("Patient", self.pid()),
                onset_date_time: Some(when::date(e.data.opened_on)),
                abatement_date_time: e.data.closed_on.filter(|_| closed).map(when::date),
                ..Condition::default()
            }));
        }
        Ok(())
    }

    fn wounds(&mut self) -> Result<(), ExportError> {
        let mut wound_site = HashMap::new();
        for (i, w) in self.record.wounds.iter().enumerate() {
            let at = format!("wounds[{i}]");
            let limb = self.episode_limb(&w.data.episode_id, format!("{at}.episode_id"))?;
            let (meta, created) = self.stamp(w, &at)?;
            let location = w.data.location.code();
            let site = body_site(
                vec![limbpath(CS_WOUND_LOCATION, location)],
                Some(limb.data.side),
                &location.replace('_', " "),
            );
            wound_site.insert(w.id.as_str(), site.clone());
            self.out.push(Resource::Condition(Condition {
                id: Some(w.id.clone()),
                meta: Some(meta),
                extension: vec![created, episode_ext(&w.data.episode_id)],
                identifier: vec![record_id(&w.id)],
                clinical_status: Some(
                    if w.data.healed_on.is_some() { CLINICAL_RESOLVED } else { CLINICAL_ACTIVE }.concept(),
                ),
                code: Some(OBS_WOUND.concept()),
                body_site: vec![site],
                subject: Reference::to("Patient", self.pid()),
                onset_date_time: Some(when::date(w.data.noted_on)),
                abatement_date_time: w.data.healed_on.map(when::date),
                note: notes(&w.data.description),
                ..Condition::default()
            }));
        }
        for (i, m) in self.record.wound_measurements.iter().enumerate() {
            let at = format!("wound_measurements[{i}]");
            let site = wound_site.get(m.data.wound_id.as_str()).ok_or_else(|| {
                err(
                    format!("{at}.wound_id"),
                    &m.data.wound_id,
                    "no wound with this id in the record",
                    "one of the record's wounds",
                )
            })?;
            let mut o = self.record_observation(m, &at, &LOINC_WOUND_SIZE_PANEL, None)?;
            o.category = vec![CAT_EXAM.concept()];
            o.focus = vec![Reference::to("Condition", &m.data.wound_id)];
            o.effective_date_time = Some(when::date(m.data.measured_on));
            o.body_site = Some(site.clone());
            let comp = |code: &Code, v: f64, unit: &str| ObservationComponent {
                code: code.concept(),
                value_quantity: Some(quantity(v, unit)),
                ..Default::default()
            };
            o.component.push(comp(&LOINC_WOUND_LENGTH, m.data.length_cm, UNIT_CM));
            o.component.push(comp(&LOINC_WOUND_WIDTH, m.data.width_cm, UNIT_CM));
            o.component.extend(m.data.depth_cm.map(|v| comp(&LOINC_WOUND_DEPTH, v, UNIT_CM)));
            o.component.extend(m.data.area_cm2.map(|v| comp(&LOINC_WOUND_AREA, v, UNIT_CM2)));
            self.out.push(Resource::Observation(o));
        }
        Ok(())
    }

    fn vascular_studies(&mut self) -> Result<(), ExportError> {
        for (i, s) in self.record.vascular_studies.iter().enumerate() {
            let at = format!("vascular_studies[{i}]");
            self.episode_limb(&s.data.episode_id, format!("{at}.episode_id"))?;
            let (meta, created) = self.stamp(s, &at)?;
            let effective = when::date(s.data.performed_on);
            let pid = self.pid();
            let member = |suffix: &str, code: &Code, value: f64, site: Option<(Option<&Code>, Side, &str)>| {
                let mut o = observation(format!("{}-{suffix}", s.id), code.concept(), pid);
                o.meta = Some(meta.clone());
                o.extension = vec![created.clone()];
                o.category = vec![CAT_EXAM.concept()];
                o.effective_date_time = Some(effective.clone());
                o.value_quantity = Some(quantity(value, UNIT_MMHG));
                o.body_site =
                    site.map(|(c, side, text)| body_site(c.map(Code::coding).into_iter().collect(), Some(side), text));
                o
            };
            let mut members = Vec::new();
            if let Some(p) = &s.data.pressures {
                for (side, v) in [(Side::Left, p.brachial_left_mmhg), (Side::Right, p.brachial_right_mmhg)] {
                    if let Some(v) = v {
                        let sfx = format!("brachial-{}", side.code());
                        members.push(member(&sfx, &OBS_BRACHIAL_PRESSURE, v, Some((None, side, "brachial artery"))));
                    }
                }
                for (side, leg) in [(Side::Left, &p.left), (Side::Right, &p.right)] {
                    let Some(leg) = leg else { continue };
                    let s = side.code();
                    let sites = [
                        (
                            "dp",
                            &OBS_DORSALIS_PEDIS_PRESSURE,
                            leg.dorsalis_pedis_mmhg,
                            Some(&SCT_DORSALIS_PEDIS),
                            "dorsalis pedis artery",
                        ),
                        (
                            "pt",
                            &OBS_POSTERIOR_TIBIAL_PRESSURE,
                            leg.posterior_tibial_mmhg,
                            Some(&SCT_POSTERIOR_TIBIAL),
                            "posterior tibial artery",
                        ),
                        ("toe", &OBS_TOE_PRESSURE, leg.toe_pressure_mmhg, None, "toe"),
                    ];
                    for (sfx, code, v, sct, text) in sites {
                        if let Some(v) = v {
                            members.push(member(&format!("{sfx}-{s}"), code, v, Some((sct, side, text))));
                        }
                    }
                }
            }
            if let Some(v) = s.data.tcpo2_mmhg {
                members.push(member("tcpo2", &OBS_TCPO2, v, None));
            }
            let mut panel = self.record_observation(s, &at, &OBS_VASCULAR_STUDY, Some(&s.data.episode_id))?;
            panel.category = vec![CAT_EXAM.concept()];
            panel.method = Some(limbpath_concept(CS_VASCULAR_STUDY_KIND, s.data.kind.code()));
            panel.effective_date_time = Some(effective.clone());
            panel.note = notes(&s.data.findings);
            panel.has_member =
                members.iter().map(|m| Reference::to("Observation", m.id.as_deref().unwrap_or_default())).collect();

            // Derived per-leg ABI and TBI, from the pressures they were computed from.
            let mut derived = Vec::new();
            if let Some(p) = &s.data.pressures {
                let result = limbpath_clinical::perfusion::classify(p).map_err(|e| {
                    err(
                        format!("{at}.pressures.{}", e.field),
                        e.value.as_deref().unwrap_or(""),
                        "the engine refuses these pressures",
                        &e.accepted,
                    )
                })?;
                let json = serde_json::to_value(&result).unwrap_or(Value::Null);
                for leg in classify::perfusion_legs(&json) {
                    let inputs: Vec<Reference> = members
                        .iter()
                        .filter_map(|m| m.id.as_deref())
                        .filter(|id| {
                            let Some(tail) = id.strip_prefix(s.id.as_str()).and_then(|t| t.strip_prefix('-')) else {
                                return false;
                            };
                            tail.starts_with("brachial-")
                                || tail == format!("dp-{}", leg.side)
                                || tail == format!("pt-{}", leg.side)
                                || (leg.index == "tbi" && tail == format!("toe-{}", leg.side))
                        })
                        .map(|id| Reference::to("Observation", id))
                        .collect();
                    let mut o = self.leg_index(&s.id, &leg, &effective, "")?;
                    o.meta = Some(meta.clone());
                    o.extension.insert(0, created.clone());
                    o.derived_from = inputs;
                    derived.push(o);
                }
            }
            self.out.push(Resource::Observation(panel));
            self.out.extend(members.into_iter().map(Resource::Observation));
            self.out.extend(derived.into_iter().map(Resource::Observation));
        }
        Ok(())
    }

    /// An ABI or TBI observation of one leg, from the engine's perfusion JSON.
    fn leg_index(
        &self,
        parent: &str,
        leg: &classify::LegIndex<'_>,
        effective: &str,
        engine_version: &str,
    ) -> Result<Observation, ExportError> {
        let side = Side::from_code(leg.side);
        let code = if leg.index == "abi" { &OBS_ABI } else { &OBS_TBI };
        let mut o = observation(format!("{parent}-{}-{}", leg.index, leg.side), code.concept(), self.pid());
        o.category = vec![CAT_EXAM.concept()];
        o.effective_date_time = Some(effective.to_owned());
        o.body_site = Some(body_site(vec![limbpath(CS_LIMB, "lower")], side, "lower limb"));
        if let Some(v) = classify::val(leg.value, Some(UNIT_RATIO)) {
            classify::set_value(&mut o, v);
        }
        for (code, v, unit) in [
            (&OBS_INDEX_CATEGORY, leg.category, None),
            (&OBS_ANKLE_PRESSURE_USED, leg.ankle_pressure, Some(UNIT_MMHG)),
            (&OBS_BRACHIAL_PRESSURE_USED, leg.brachial_pressure, Some(UNIT_MMHG)),
        ] {
            if let Some(v) = classify::val(v, unit) {
                o.component.push(classify::component(code.concept(), v));
            }
        }
        let version = if engine_version.is_empty() { limbpath_clinical::ENGINE_VERSION } else { engine_version };
        classify::explain(&mut o, leg.explanation, version);
        Ok(o)
    }

    fn imaging_studies(&mut self) -> Result<(), ExportError> {
        for (i, s) in self.record.imaging_studies.iter().enumerate() {
            let at = format!("imaging_studies[{i}]");
            self.episode_limb(&s.data.episode_id, format!("{at}.episode_id"))?;
            let mut o = self.record_observation(s, &at, &OBS_IMAGING_STUDY, Some(&s.data.episode_id))?;
            if let Some(segments) = &s.data.arterial_segments {
                let mut e = Extension::new(EXT_ARTERIAL_SEGMENTS);
                e.value_string = Some(segments.to_string());
                o.extension.push(e);
            }
            o.category = vec![CAT_IMAGING.concept()];
            o.method = Some(limbpath_concept(CS_IMAGING_MODALITY, s.data.modality.code()));
            o.effective_date_time = Some(when::date(s.data.performed_on));
            o.note = notes(&s.data.findings);
            if let Some(t) = s.data.dexa_t_score {
                o.component.push(ObservationComponent {
                    code: OBS_DEXA_T_SCORE.concept(),
                    value_quantity: Some(Quantity {
                        value: Some(t),
                        unit: Some("SD".to_owned()),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
            self.out.push(Resource::Observation(o));
        }
        Ok(())
    }

    fn assessments(&mut self) -> Result<(), ExportError> {
        for (i, a) in self.record.assessments.iter().enumerate() {
            let at = format!("assessments[{i}]");
            let s = &a.stored;
            let limb = self.episode_limb(&s.data.episode_id, format!("{at}.episode_id"))?;
            let (meta, created) = self.stamp(s, &at)?;
            let authored = when::date(s.data.assessed_on);
            self.out.push(Resource::QuestionnaireResponse(QuestionnaireResponse {
                id: Some(s.id.clone()),
                meta: Some(meta.clone()),
                extension: vec![created.clone(), episode_ext(&s.data.episode_id)],
                identifier: Some(record_id(&s.id)),
                questionnaire: Some(ASSESSMENT_QUESTIONNAIRE.to_owned()),
                status: "completed".to_owned(),
                subject: Some(Reference::to("Patient", self.pid())),
                authored: Some(authored.clone()),
                item: findings::to_items(&s.data.findings.value()),
                ..QuestionnaireResponse::default()
            }));
            let result = &a.derived.result_value();
            let version = &a.derived.engine_version;
            let side = result.get("side").and_then(Value::as_str).and_then(Side::from_code).or(Some(limb.data.side));
            let input = vec![Reference::to("QuestionnaireResponse", &s.id)];
            let mut derived = Vec::new();
            for c in CLASSIFICATIONS {
                let Some(r) = result.get(c.key).filter(|v| !v.is_null()) else { continue };
                let mut o = observation(
                    format!("{}-{}", s.id, c.key.replace('_', "-")),
                    classify::classification_code(c.value.code, c.display),
                    self.pid(),
                );
                o.category = vec![CAT_SURVEY.concept()];
                o.effective_date_time = Some(authored.clone());
                if matches!(
                    c.key,
                    "wifi" | "angiosome" | "glass" | "rutherford" | "wagner" | "texas" | "sinbad" | "infection"
                ) {
                    o.body_site = Some(body_site(vec![limbpath(CS_LIMB, limb.data.kind.code())], side, "limb"));
                }
                if let Some(v) = classify::val(r.pointer(c.value.pointer), c.value.unit) {
                    classify::set_value(&mut o, v);
                }
                for p in c.components {
                    if let Some(v) = classify::val(r.pointer(p.pointer), p.unit) {
                        o.component.push(classify::component(classify::classification_code(p.code, p.display), v));
                    }
                }
                classify::explain(&mut o, r.pointer(c.explanation), version);
                derived.push(o);
            }
            if let Some(perfusion) = result.get("perfusion") {
                for leg in classify::perfusion_legs(perfusion) {
                    derived.push(self.leg_index(&s.id, &leg, &authored, version)?);
                }
            }
            for mut o in derived {
                o.meta = Some(meta.clone());
                o.extension.splice(0..0, [created.clone(), episode_ext(&s.data.episode_id)]);
                o.derived_from = input.clone();
                self.out.push(Resource::Observation(o));
            }
        }
        Ok(())
    }

    fn procedures(&mut self) -> Result<(), ExportError> {
        for (i, p) in self.record.procedures.iter().enumerate() {
            let at = format!("procedures[{i}]");
            let limb = self.episode_limb(&p.data.episode_id, format!("{at}.episode_id"))?;
            let (meta, created) = self.stamp(p, &at)?;
            let mut extension = vec![created, episode_ext(&p.data.episode_id)];
            extension.extend(level_ext(p.data.amputation_level));
            if let Some(route) = p.data.angiosome_route {
                extension.push(coded_ext(EXT_ANGIOSOME_ROUTE, CS_ANGIOSOME_ROUTE, route.code()));
            }
            let body_site_list = p
                .data
                .target_arteries
                .iter()
                .map(|a| {
                    let mut coding: Vec<Coding> =
                        codes::target_artery_snomed(*a).map(Code::coding).into_iter().collect();
                    coding.push(limbpath(CS_TARGET_ARTERY, a.code()));
                    body_site(coding, Some(limb.data.side), &format!("{} artery", a.code().replace('_', " ")))
                })
                .collect();
            self.out.push(Resource::Procedure(Procedure {
                id: Some(p.id.clone()),
                meta: Some(meta),
                extension,
                identifier: vec![record_id(&p.id)],
                status: "completed".to_owned(),
                code: Some(limbpath_concept(CS_PROCEDURE_KIND, p.data.kind.code())),
                subject: Reference::to("Patient", self.pid()),
                performed_date_time: Some(when::date(p.data.performed_on)),
                body_site: body_site_list,
                complication: p
                    .data
                    .complications
                    .iter()
                    .map(|c| CodeableConcept { text: Some(c.clone()), ..Default::default() })
                    .collect(),
                note: notes(&p.data.notes),
                ..Procedure::default()
            }));
        }
        Ok(())
    }

    fn outcome_events(&mut self) -> Result<(), ExportError> {
        for (i, e) in self.record.outcome_events.iter().enumerate() {
            let at = format!("outcome_events[{i}]");
            self.episode_limb(&e.data.episode_id, format!("{at}.episode_id"))?;
            let mut o = self.record_observation(e, &at, &OBS_OUTCOME_EVENT, Some(&e.data.episode_id))?;
            o.extension.extend(level_ext(e.data.amputation_level));
            o.value_codeable_concept = Some(limbpath_concept(CS_OUTCOME_KIND, e.data.kind.code()));
            o.effective_date_time = Some(when::date(e.data.occurred_on));
            o.note = notes(&e.data.notes);
            self.out.push(Resource::Observation(o));
        }
        Ok(())
    }
}

fn level_ext(level: Option<AmputationLevel>) -> Option<Extension> {
    level.map(|l| coded_ext(EXT_AMPUTATION_LEVEL, CS_AMPUTATION_LEVEL, l.code()))
}
