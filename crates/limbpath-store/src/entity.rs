//! Each record type as the store sees it: its table, its parent, its columns
//! (in bind order), how it is validated into bind values and read back from a
//! row. The SQL for create/get/update/list is generated once per type from this
//! description (`Sql::build`), so every entity shares one tested code path.

// `Entity` is public (in this private module) so that callers can name what a
// read returns; its plumbing types (`Meta`, `Sql`, `Val`, `RowExt`) stay
// crate-private, which is what makes it sealed.
#![allow(private_interfaces, private_bounds)]

use crate::error::{Result, StoreError};
use crate::sql::{RowExt, Val, to_json};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::angiosome::WoundLocation;
use limbpath_record::*;
use std::sync::OnceLock;

/// The record a child belongs to.
pub(crate) struct Parent {
    /// The request field naming the parent (`limb_id`).
    pub field: &'static str,
    /// The parent's entity name (`limb`).
    pub entity: &'static str,
    pub table: &'static str,
}

pub(crate) struct Meta {
    /// Entity name for errors and audit (`wound_measurement`).
    pub entity: &'static str,
    pub table: &'static str,
    pub parent: Option<Parent>,
    /// Data columns, in the order `prepare` returns their values.
    pub columns: &'static [&'static str],
    /// List order within a parent; always ends with `id` (a total order).
    pub order: &'static [&'static str],
    /// What a write can change of the patient's search columns and rows: they
    /// are brought up to date in the same transaction.
    pub search: Search,
    /// How a patient's rows are found.
    pub by_patient: ByPatient,
}

/// How the rows of one patient are found in a table that has a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByPatient {
    /// Through an index on the table's `patient_id` (`{table}_by_patient`).
    Index,
    /// Through the patient's episodes and the table's index by episode, which
    /// every list and the care plan read anyway. Assessments have no index by
    /// patient (migration 0014): it was one more B-tree leaf written on every
    /// assessment, for reads that a patient's few episodes answer as well.
    ThroughEpisodes,
}

/// What writes of an entity can change of its patient's search columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Nothing.
    No,
    /// Only the latest WIfI stage (assessments).
    LatestStage,
    /// Any of them (patients: site and name; episodes: statuses, aetiologies).
    All,
}

impl Meta {
    /// The column holding the patient id: `id` for patients, else `patient_id`.
    pub fn owner(&self) -> &'static str {
        if self.parent.is_none() { "id" } else { "patient_id" }
    }

    /// Whether the table has a `patient_id` column besides its parent column.
    fn denormalised_patient(&self) -> bool {
        self.parent.as_ref().is_some_and(|p| p.field != "patient_id")
    }
}

/// The SQL of one entity, generated from its [`Meta`]. Only column and table
/// names from the `Meta` constants go into the text; every value is a bind.
pub(crate) struct Sql {
    pub insert: String,
    pub get: String,
    /// `get` plus the owning patient's id as `owner`.
    pub get_owned: String,
    pub update: String,
    pub version_of: String,
    pub list_first: String,
    pub list_after: String,
    /// Every child of one parent, in list order, unpaged (for the few kinds
    /// an episode has a handful of: wounds, procedures).
    pub all_of_parent: String,
    /// The selected columns, for queries written elsewhere that read rows
    /// this entity's `decode` takes.
    pub columns: String,
    pub cursor_keys: String,
    pub by_patient: String,
    pub owner_of: String,
    /// Whether the parent exists (an empty list of a missing parent is NotFound).
    pub parent_exists: String,
    /// Column list of a bulk insert (`id, version, ..., data columns`).
    pub bulk_columns: Vec<&'static str>,
}

impl Sql {
    pub fn build(m: &Meta) -> Sql {
        let t = m.table;
        let cols = m.columns;
        let mut head: Vec<&'static str> = vec!["id", "version", "created_at_ms", "updated_at_ms"];
        if let Some(p) = &m.parent {
            head.push(p.field);
        }
        let select: Vec<&str> = head.iter().copied().chain(cols.iter().copied()).collect();
        let select = select.join(", ");
        let order = m.order.join(", ");

        let mut bulk_columns = head.clone();
        if m.denormalised_patient() {
            bulk_columns.push("patient_id");
        }
        bulk_columns.extend(cols.iter().copied());

        let (insert, first_data) = match &m.parent {
            None => {
                let params: Vec<String> = (0..cols.len()).map(|i| format!("${}", i + 3)).collect();
                (
                    format!(
                        "INSERT INTO {t} (id, version, created_at_ms, updated_at_ms, {}) VALUES ($1, 1, $2, $2, {}) \
                         RETURNING id AS owner",
                        cols.join(", "),
                        params.join(", ")
                    ),
                    3,
                )
            }
            Some(p) => {
                let params: Vec<String> = (0..cols.len()).map(|i| format!("${}", i + 4)).collect();
                let (patient_col, patient_val) =
                    if m.denormalised_patient() { (", patient_id", ", p.patient_id") } else { ("", "") };
                (
                    format!(
                        "INSERT INTO {t} (id, version, created_at_ms, updated_at_ms, {pf}{patient_col}, {}) \
                         SELECT $1, 1, $2, $2, p.id{patient_val}, {} FROM {pt} p WHERE p.id = $3 \
                         RETURNING {owner} AS owner",
                        cols.join(", "),
                        params.join(", "),
                        pf = p.field,
                        pt = p.table,
                        owner = m.owner(),
                    ),
                    4,
                )
            }
        };
        debug_assert!(first_data >= 3);

        let sets: Vec<String> = cols.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 4)).collect();
        let parent_guard = match &m.parent {
            Some(p) => format!(" AND {} = ${}", p.field, cols.len() + 4),
            None => String::new(),
        };
        let update = format!(
            "UPDATE {t} SET {}, version = version + 1, updated_at_ms = $3 \
             WHERE id = $1 AND version = $2{parent_guard} RETURNING created_at_ms, {} AS owner",
            sets.join(", "),
            m.owner()
        );
        let version_of = match &m.parent {
            Some(p) => format!("SELECT version, {} AS parent FROM {t} WHERE id = $1", p.field),
            None => format!("SELECT version, id AS parent FROM {t} WHERE id = $1"),
        };
        let pf = m.parent.as_ref().map_or("id", |p| p.field);
        let after: Vec<String> = (0..m.order.len()).map(|i| format!("${}", i + 3)).collect();
        let after =
            if m.order.len() == 1 { format!("{order} > $3") } else { format!("({order}) > ({})", after.join(", ")) };
        Sql {
            insert,
            get: format!("SELECT {select} FROM {t} WHERE id = $1"),
            get_owned: format!("SELECT {select}, {} AS owner FROM {t} WHERE id = $1", m.owner()),
            update,
            version_of,
            list_first: format!("SELECT {select} FROM {t} WHERE {pf} = $1 ORDER BY {order} LIMIT $2"),
            list_after: format!("SELECT {select} FROM {t} WHERE {pf} = $1 AND {after} ORDER BY {order} LIMIT $2"),
            all_of_parent: format!("SELECT {select} FROM {t} WHERE {pf} = $1 ORDER BY {order}"),
            cursor_keys: format!("SELECT {order} FROM {t} WHERE id = $1 AND {pf} = $2"),
            by_patient: match m.by_patient {
                ByPatient::Index => format!("SELECT {select} FROM {t} WHERE {} = $1 ORDER BY {order}", m.owner()),
                ByPatient::ThroughEpisodes => {
                    debug_assert_eq!(pf, "episode_id", "{t}: only episodes' children are reached through episodes");
                    format!(
                        "SELECT {select} FROM {t} WHERE episode_id IN (SELECT id FROM episodes WHERE patient_id = $1) \
                     ORDER BY {order}"
                    )
                }
            },
            owner_of: format!("SELECT {} AS owner FROM {t} WHERE id = $1", m.owner()),
            parent_exists: format!("SELECT 1 AS found FROM {} WHERE id = $1", m.parent.as_ref().map_or(t, |p| p.table)),
            columns: select,
            bulk_columns,
        }
    }
}

/// A record type the store keeps. Public only so that callers can name what a
/// [`crate::Record`] read returns; the module is private, so it cannot be
/// implemented outside the store (its plumbing types stay crate-private).
pub trait Entity: Sized + Send + Sync + 'static {
    /// What a read returns (`Stored<Self>`, or `StoredAssessment`).
    type Out: Send;
    /// What validation computed besides the bind values (the derivation).
    type Extra: Send;

    const META: Meta;

    fn sql() -> &'static Sql;

    fn parent_id(&self) -> Option<&str>;

    /// Validate and produce the data columns' values, in `META.columns` order.
    fn prepare(&self) -> Result<(Vec<Val>, Self::Extra), InvalidInput>;

    fn decode(r: &impl RowExt) -> Result<Self::Out>;

    fn output(stored: Stored<Self>, extra: Self::Extra) -> Self::Out;

    fn out_id(out: &Self::Out) -> &str;

    /// A constraint the database reported, in this entity's terms (a taken
    /// MRN, a care team member's unknown user); `None` for the generic mapping.
    fn constraint_error(&self, _kind: sqlx::error::ErrorKind, _text: &str) -> Option<StoreError> {
        None
    }
}

macro_rules! sql_once {
    () => {
        fn sql() -> &'static Sql {
            static SQL: OnceLock<Sql> = OnceLock::new();
            SQL.get_or_init(|| Sql::build(&Self::META))
        }
    };
}

/// `output` and `out_id` for an entity whose reads return `Stored<Self>`
/// (every entity but the assessment, which adds what the engine derived).
macro_rules! plain_output {
    () => {
        fn output(stored: Stored<Self>, _: ()) -> Stored<Self> {
            stored
        }

        fn out_id(out: &Stored<Self>) -> &str {
            &out.id
        }
    };
}

/// The id, version and timestamps of a row, around its data.
fn stored<T>(r: &impl RowExt, data: T) -> Result<Stored<T>> {
    Ok(Stored {
        id: r.text("id")?,
        version: r.int("version")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
        data,
    })
}

/// A name as a search key: trimmed and lower-cased.
pub(crate) fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

pub(crate) fn wound_location(code: &str) -> Option<WoundLocation> {
    WoundLocation::ALL.iter().copied().find(|l| l.code() == code)
}

fn json_text<T: serde::Serialize>(field: &str, v: &T) -> Result<String, InvalidInput> {
    to_json(field, v).map_err(|e| match e {
        StoreError::Invalid(i) => i,
        other => InvalidInput::unrecognised(field, other, "a value that serialises as JSON"),
    })
}

// ---------------------------------------------------------------------------

impl Entity for PatientData {
    type Out = Stored<PatientData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "patient",
        table: "patients",
        parent: None,
        columns: &[
            "mrn",
            "site",
            "family_name",
            "given_name",
            "family_key",
            "given_key",
            "birth_date",
            "sex",
            "diabetes",
            "hba1c_percent",
            "ckd_stage",
            "dialysis",
            "smoking",
            "bmi",
            "ambulatory_status",
        ],
        order: &["family_key", "given_key", "id"],
        search: Search::All,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        None
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::text(&self.mrn),
                Val::text(&self.site),
                Val::text(&self.family_name),
                Val::text(&self.given_name),
                Val::Text(name_key(&self.family_name)),
                Val::Text(name_key(&self.given_name)),
                Val::date(self.birth_date),
                Val::text(self.sex.code()),
                Val::text(self.diabetes.code()),
                Val::OptFloat(self.hba1c_percent),
                Val::OptInt(self.ckd_stage.map(i64::from)),
                Val::Bool(self.dialysis),
                Val::text(self.smoking.code()),
                Val::OptFloat(self.bmi),
                Val::text(self.ambulatory_status.code()),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<PatientData>> {
        stored(
            r,
            PatientData {
                mrn: r.text("mrn")?,
                site: r.text("site")?,
                family_name: r.text("family_name")?,
                given_name: r.text("given_name")?,
                birth_date: r.date("birth_date")?,
                sex: r.code("sex", Sex::from_code)?,
                diabetes: r.code("diabetes", DiabetesStatus::from_code)?,
                hba1c_percent: r.opt_float("hba1c_percent")?,
                ckd_stage: r.opt_small("ckd_stage")?,
                dialysis: r.boolean("dialysis")?,
                smoking: r.code("smoking", SmokingStatus::from_code)?,
                bmi: r.opt_float("bmi")?,
                ambulatory_status: r.code("ambulatory_status", AmbulatoryStatus::from_code)?,
            },
        )
    }

    plain_output!();

    fn constraint_error(&self, kind: sqlx::error::ErrorKind, text: &str) -> Option<StoreError> {
        (kind == sqlx::error::ErrorKind::UniqueViolation && text.contains("mrn"))
            .then(|| StoreError::Duplicate { field: "mrn", value: format!("{} at {}", self.mrn, self.site) })
    }
}

impl Entity for LimbData {
    type Out = Stored<LimbData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "limb",
        table: "limbs",
        parent: Some(Parent { field: "patient_id", entity: "patient", table: "patients" }),
        columns: &["side", "kind", "amputation_level"],
        order: &["id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.patient_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::text(self.side.code()),
                Val::text(self.kind.code()),
                Val::opt_code(self.amputation_level.map(AmputationLevel::code)),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<LimbData>> {
        stored(
            r,
            LimbData {
                patient_id: r.text("patient_id")?,
                side: r.code("side", Side::from_code)?,
                kind: r.code("kind", LimbKind::from_code)?,
                amputation_level: r.opt_code("amputation_level", AmputationLevel::from_code)?,
            },
        )
    }

    plain_output!();
}

impl Entity for EpisodeData {
    type Out = Stored<EpisodeData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "episode",
        table: "episodes",
        parent: Some(Parent { field: "limb_id", entity: "limb", table: "limbs" }),
        columns: &["aetiology", "status", "opened_on", "closed_on", "summary"],
        order: &["opened_on", "id"],
        search: Search::All,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.limb_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::text(self.aetiology.code()),
                Val::text(self.status.code()),
                Val::date(self.opened_on),
                Val::opt_date(self.closed_on),
                Val::text(&self.summary),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<EpisodeData>> {
        stored(
            r,
            EpisodeData {
                limb_id: r.text("limb_id")?,
                aetiology: r.code("aetiology", Aetiology::from_code)?,
                status: r.code("status", EpisodeStatus::from_code)?,
                opened_on: r.date("opened_on")?,
                closed_on: r.opt_date("closed_on")?,
                summary: r.text("summary")?,
            },
        )
    }

    plain_output!();
}

/// The latest assessment of an episode as its findings only, by date then
/// id: what the care plan reads (it derives the findings again with the
/// engine), without the stored result, several KB of JSON per assessment.
pub(crate) const LATEST_ASSESSMENT_FINDINGS: &str = "SELECT id, version, created_at_ms, updated_at_ms, episode_id, \
    assessed_on, findings FROM assessments WHERE episode_id = $1 ORDER BY assessed_on DESC, id DESC LIMIT 1";

/// An assessment as stored, without its derived result (rows of
/// [`LATEST_ASSESSMENT_FINDINGS`], or of the full select).
pub(crate) fn decode_assessment_findings(r: &impl RowExt) -> Result<Stored<AssessmentData>> {
    stored(
        r,
        AssessmentData {
            episode_id: r.text("episode_id")?,
            assessed_on: r.date("assessed_on")?,
            findings: r.json("findings")?,
        },
    )
}

impl Entity for AssessmentData {
    type Out = StoredAssessment;
    type Extra = Derived;
    const META: Meta = Meta {
        entity: "assessment",
        table: "assessments",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["assessed_on", "findings", "engine_version", "result", "wifi_stage"],
        order: &["assessed_on", "id"],
        search: Search::LatestStage,
        by_patient: ByPatient::ThroughEpisodes,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, Derived), InvalidInput> {
        let derived = self.derive()?;
        Ok((
            vec![
                Val::date(self.assessed_on),
                Val::text(self.findings.text()),
                Val::text(&derived.engine_version),
                Val::text(derived.result.get()),
                Val::OptInt(derived.wifi_stage.map(i64::from)),
            ],
            derived,
        ))
    }

    fn decode(r: &impl RowExt) -> Result<StoredAssessment> {
        Ok(StoredAssessment {
            stored: decode_assessment_findings(r)?,
            derived: Derived {
                engine_version: r.text("engine_version")?,
                result: r.json("result")?,
                wifi_stage: r.opt_small("wifi_stage")?,
            },
        })
    }

    fn output(stored: Stored<Self>, derived: Derived) -> StoredAssessment {
        StoredAssessment { stored, derived }
    }

    fn out_id(out: &StoredAssessment) -> &str {
        &out.stored.id
    }
}

impl Entity for WoundData {
    type Out = Stored<WoundData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "wound",
        table: "wounds",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["location", "noted_on", "description", "healed_on"],
        order: &["noted_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::text(self.location.code()),
                Val::date(self.noted_on),
                Val::text(&self.description),
                Val::opt_date(self.healed_on),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<WoundData>> {
        stored(
            r,
            WoundData {
                episode_id: r.text("episode_id")?,
                location: r.code("location", wound_location)?,
                noted_on: r.date("noted_on")?,
                description: r.text("description")?,
                healed_on: r.opt_date("healed_on")?,
            },
        )
    }

    plain_output!();
}

impl Entity for WoundMeasurementData {
    type Out = Stored<WoundMeasurementData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "wound_measurement",
        table: "wound_measurements",
        parent: Some(Parent { field: "wound_id", entity: "wound", table: "wounds" }),
        columns: &["measured_on", "length_cm", "width_cm", "depth_cm", "area_cm2"],
        order: &["measured_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.wound_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::date(self.measured_on),
                Val::Float(self.length_cm),
                Val::Float(self.width_cm),
                Val::OptFloat(self.depth_cm),
                Val::OptFloat(self.area_cm2),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<WoundMeasurementData>> {
        stored(
            r,
            WoundMeasurementData {
                wound_id: r.text("wound_id")?,
                measured_on: r.date("measured_on")?,
                length_cm: r.float("length_cm")?,
                width_cm: r.float("width_cm")?,
                depth_cm: r.opt_float("depth_cm")?,
                area_cm2: r.opt_float("area_cm2")?,
            },
        )
    }

    plain_output!();
}

impl Entity for VascularStudyData {
    type Out = Stored<VascularStudyData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "vascular_study",
        table: "vascular_studies",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["performed_on", "kind", "pressures", "tcpo2_mmhg", "findings"],
        order: &["performed_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::date(self.performed_on),
                Val::text(self.kind.code()),
                Val::OptText(self.pressures.as_ref().map(|p| json_text("pressures", p)).transpose()?),
                Val::OptFloat(self.tcpo2_mmhg),
                Val::text(&self.findings),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<VascularStudyData>> {
        stored(
            r,
            VascularStudyData {
                episode_id: r.text("episode_id")?,
                performed_on: r.date("performed_on")?,
                kind: r.code("kind", VascularStudyKind::from_code)?,
                pressures: r.opt_json("pressures")?,
                tcpo2_mmhg: r.opt_float("tcpo2_mmhg")?,
                findings: r.text("findings")?,
            },
        )
    }

    plain_output!();
}

impl Entity for ImagingStudyData {
    type Out = Stored<ImagingStudyData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "imaging_study",
        table: "imaging_studies",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["performed_on", "modality", "findings", "arterial_segments", "dexa_t_score"],
        order: &["performed_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::date(self.performed_on),
                Val::text(self.modality.code()),
                Val::text(&self.findings),
                Val::OptText(self.arterial_segments.as_ref().map(|s| json_text("arterial_segments", s)).transpose()?),
                Val::OptFloat(self.dexa_t_score),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<ImagingStudyData>> {
        stored(
            r,
            ImagingStudyData {
                episode_id: r.text("episode_id")?,
                performed_on: r.date("performed_on")?,
                modality: r.code("modality", ImagingModality::from_code)?,
                findings: r.text("findings")?,
                arterial_segments: r.opt_json("arterial_segments")?,
                dexa_t_score: r.opt_float("dexa_t_score")?,
            },
        )
    }

    plain_output!();
}

impl Entity for ProcedureData {
    type Out = Stored<ProcedureData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "procedure",
        table: "procedures",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &[
            "performed_on",
            "kind",
            "amputation_level",
            "target_arteries",
            "angiosome_route",
            "complications",
            "notes",
        ],
        order: &["performed_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::date(self.performed_on),
                Val::text(self.kind.code()),
                Val::opt_code(self.amputation_level.map(AmputationLevel::code)),
                Val::Text(json_text("target_arteries", &self.target_arteries)?),
                Val::opt_code(self.angiosome_route.map(AngiosomeRoute::code)),
                Val::Text(json_text("complications", &self.complications)?),
                Val::text(&self.notes),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<ProcedureData>> {
        stored(
            r,
            ProcedureData {
                episode_id: r.text("episode_id")?,
                performed_on: r.date("performed_on")?,
                kind: r.code("kind", ProcedureKind::from_code)?,
                amputation_level: r.opt_code("amputation_level", AmputationLevel::from_code)?,
                target_arteries: r.json("target_arteries")?,
                angiosome_route: r.opt_code("angiosome_route", AngiosomeRoute::from_code)?,
                complications: r.json("complications")?,
                notes: r.text("notes")?,
            },
        )
    }

    plain_output!();
}

impl Entity for OutcomeEventData {
    type Out = Stored<OutcomeEventData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "outcome_event",
        table: "outcome_events",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["occurred_on", "kind", "amputation_level", "notes"],
        order: &["occurred_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::date(self.occurred_on),
                Val::text(self.kind.code()),
                Val::opt_code(self.amputation_level.map(AmputationLevel::code)),
                Val::text(&self.notes),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<OutcomeEventData>> {
        stored(
            r,
            OutcomeEventData {
                episode_id: r.text("episode_id")?,
                occurred_on: r.date("occurred_on")?,
                kind: r.code("kind", OutcomeKind::from_code)?,
                amputation_level: r.opt_code("amputation_level", AmputationLevel::from_code)?,
                notes: r.text("notes")?,
            },
        )
    }

    plain_output!();
}

impl Entity for ConsentData {
    type Out = Stored<ConsentData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "consent",
        table: "consents",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["consented_to", "consented_on", "given_to", "withdrawn_on"],
        order: &["consented_on", "id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::text(&self.consented_to),
                Val::date(self.consented_on),
                Val::text(&self.given_to),
                Val::opt_date(self.withdrawn_on),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<ConsentData>> {
        stored(
            r,
            ConsentData {
                episode_id: r.text("episode_id")?,
                consented_to: r.text("consented_to")?,
                consented_on: r.date("consented_on")?,
                given_to: r.text("given_to")?,
                withdrawn_on: r.opt_date("withdrawn_on")?,
            },
        )
    }

    plain_output!();
}

impl Entity for CareTeamMemberData {
    type Out = Stored<CareTeamMemberData>;
    type Extra = ();
    const META: Meta = Meta {
        entity: "care_team_member",
        table: "care_team_members",
        parent: Some(Parent { field: "episode_id", entity: "episode", table: "episodes" }),
        columns: &["user_id", "name", "discipline", "lead"],
        order: &["id"],
        search: Search::No,
        by_patient: ByPatient::Index,
    };
    sql_once!();

    fn parent_id(&self) -> Option<&str> {
        Some(&self.episode_id)
    }

    fn prepare(&self) -> Result<(Vec<Val>, ()), InvalidInput> {
        self.validate()?;
        Ok((
            vec![
                Val::OptText(self.user_id.clone()),
                Val::text(&self.name),
                Val::text(self.discipline.code()),
                Val::Bool(self.lead),
            ],
            (),
        ))
    }

    fn decode(r: &impl RowExt) -> Result<Stored<CareTeamMemberData>> {
        stored(
            r,
            CareTeamMemberData {
                episode_id: r.text("episode_id")?,
                user_id: r.opt_text("user_id")?,
                name: r.text("name")?,
                discipline: r.code("discipline", Discipline::from_code)?,
                lead: r.boolean("lead")?,
            },
        )
    }

    plain_output!();

    fn constraint_error(&self, kind: sqlx::error::ErrorKind, _text: &str) -> Option<StoreError> {
        match (kind, &self.user_id) {
            (sqlx::error::ErrorKind::ForeignKeyViolation, Some(u)) => {
                Some(StoreError::NotFound { entity: "user", id: u.clone(), field: Some("user_id") })
            }
            _ => None,
        }
    }
}

/// The status flag column of the patients table for an episode status.
pub(crate) fn status_column(s: EpisodeStatus) -> &'static str {
    match s {
        EpisodeStatus::Referred => "status_referred",
        EpisodeStatus::Evaluation => "status_evaluation",
        EpisodeStatus::Treatment => "status_treatment",
        EpisodeStatus::FollowUp => "status_follow_up",
        EpisodeStatus::Closed => "status_closed",
    }
}

/// The name under which [`crate::facets::REFRESH`] returns whether any of the
/// patient's episodes has this aetiology (not a stored column: the flags live
/// in the patient's search key and rows).
pub(crate) fn aetiology_column(a: Aetiology) -> &'static str {
    match a {
        Aetiology::Clti => "aetiology_clti",
        Aetiology::DiabeticFoot => "aetiology_diabetic_foot",
        Aetiology::Venous => "aetiology_venous",
        Aetiology::Trauma => "aetiology_trauma",
        Aetiology::Tumour => "aetiology_tumour",
        Aetiology::Infection => "aetiology_infection",
        Aetiology::PostAmputationOsseointegration => "aetiology_post_amputation_osseointegration",
        Aetiology::LimbLengthDiscrepancy => "aetiology_limb_length_discrepancy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_in_the_refresh_sql_match_the_vocabulary() {
        for s in EpisodeStatus::ALL {
            let term = format!(
                "{} = EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND status = '{}')",
                status_column(*s),
                s.code()
            );
            assert!(crate::facets::REFRESH.contains(&term), "{term}");
        }
    }

    #[test]
    fn aetiology_codes_in_the_refresh_sql_match_the_vocabulary() {
        for a in Aetiology::ALL {
            let term = format!(
                "EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = '{}') AS {}",
                a.code(),
                aetiology_column(*a)
            );
            assert!(crate::facets::REFRESH.contains(&term), "{term}");
        }
    }

    #[test]
    fn generated_sql_binds_parents_and_columns_in_order() {
        let s = Sql::build(&EpisodeData::META);
        assert_eq!(
            s.insert,
            "INSERT INTO episodes (id, version, created_at_ms, updated_at_ms, limb_id, patient_id, aetiology, status, \
             opened_on, closed_on, summary) SELECT $1, 1, $2, $2, p.id, p.patient_id, $4, $5, $6, $7, $8 FROM limbs p \
             WHERE p.id = $3 RETURNING patient_id AS owner"
        );
        assert!(
            s.update.ends_with(
                "WHERE id = $1 AND version = $2 AND limb_id = $9 RETURNING created_at_ms, patient_id AS owner"
            )
        );
        assert!(s.list_after.contains("(opened_on, id) > ($3, $4)"));
        let limbs = Sql::build(&LimbData::META);
        assert!(limbs.insert.contains("SELECT $1, 1, $2, $2, p.id, $4, $5, $6 FROM patients p"));
        assert!(limbs.list_after.contains("id > $3"));
        assert_eq!(limbs.bulk_columns.len(), 8);
        let patients = Sql::build(&PatientData::META);
        assert!(patients.insert.contains("VALUES ($1, 1, $2, $2, $3,"));
        assert!(patients.insert.ends_with("$17) RETURNING id AS owner"));
    }
}
