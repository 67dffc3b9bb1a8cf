//! Forms: field definitions rendered with their labels, the user's input and
//! any error in place; posted values turned into the record's JSON (named by
//! dotted path, the same path the store's `InvalidInput::field` names), and
//! the record forms for patients, limbs, episodes, wounds, measurements,
//! vascular studies, procedures and outcome events.
//!
//! A save either stores the whole record or nothing: the store validates
//! before writing, and an invalid value comes back naming its field, which is
//! shown next to that field with the input kept.

use super::html::{Markup, words};
use super::{Web, check_csrf, csrf_field, page, page_error, redirect, session};
use crate::access::{Action, Family};
use crate::app::{AppState, Audit, RemoteAddr, authorise, scope, store_problem};
use crate::problem::Problem;
use crate::{html, markup};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use limbpath_clinical::angiosome::WoundLocation;
use limbpath_record::*;
use limbpath_store::{AuditOutcome, Owned, PlanAfter, RecordKind, StoreError};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Posted form fields, in order (a name may repeat: checkbox groups), and
/// whether some name or value was not UTF-8 once decoded (`true`: the form
/// is refused whole by [`super::check_csrf`], never stored with replacement
/// characters in place of what was typed).
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>, pub bool);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        let pairs = form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        FormData(pairs, !decodes_as_utf8(body))
    }
    /// Some name or value was not UTF-8: nothing in the form can be trusted to be what was typed.
    pub fn undecodable(&self) -> bool {
        self.1
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("").trim()
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.to_owned()));
    }
}

/// Whether every name and value of an `application/x-www-form-urlencoded`
/// body is UTF-8 once `+` and percent escapes are decoded.
fn decodes_as_utf8(body: &[u8]) -> bool {
    body.split(|b| *b == b'&').all(|pair| {
        let spaced: Vec<u8> = pair.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        percent_encoding::percent_decode(&spaced).decode_utf8().is_ok()
    })
}

/// What a control is.
#[derive(Debug, Clone)]
pub enum Kind {
    Date,
    /// A decimal number with its unit.
    Number(&'static str),
    /// A whole number.
    Integer,
    Text,
    TextArea,
    /// One of a vocabulary (codes); `optional` adds "not recorded".
    Select {
        options: Vec<(&'static str, String)>,
        optional: bool,
    },
    Checkbox,
    /// Several of a vocabulary.
    Multi(Vec<(&'static str, String)>),
    /// One item per line.
    Lines,
    /// A password, with its `autocomplete` token (`current-password`,
    /// `new-password`); what was typed is never sent back in the page.
    Password(&'static str),
}

/// One control.
#[derive(Debug, Clone)]
pub struct Field {
    /// The dotted JSON path, also the control's name.
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub hint: &'static str,
    /// Select codes offered only when they are the value already there (the
    /// record's own, e.g. an imported patient's ambulatory status "not
    /// recorded"), so an edit can keep them but nobody chooses them anew.
    pub only_as_current: &'static [&'static str],
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: Kind) -> Field {
        Field { name, label, kind, required: false, hint: "", only_as_current: &[] }
    }
    pub fn only_as_current(mut self, codes: &'static [&'static str]) -> Field {
        self.only_as_current = codes;
        self
    }
    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }
    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = hint;
        self
    }
}

/// Options from a record vocabulary, labelled in words.
pub fn options(codes: impl IntoIterator<Item = &'static str>) -> Vec<(&'static str, String)> {
    codes.into_iter().map(|c| (c, words(c))).collect()
}

/// An error to show: the control it belongs to (if any) and what to fix.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The control id of a field name.
pub fn control_id(name: &str) -> String {
    format!("f-{}", name.replace(['.', '[', ']'], "-"))
}

/// Render one control with its label, hint, the user's value and its error.
pub fn control(f: &Field, values: &FormData, errors: &[FieldError]) -> Markup {
    let id = control_id(f.name);
    let error = errors.iter().find(|e| e.field == f.name);
    let value = match f.kind {
        Kind::Password(_) => "",
        _ => values.get(f.name).unwrap_or(""),
    };
    let mut m = Markup::new();
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = match (error.is_some(), !f.hint.is_empty()) {
        (true, true) => format!("{err_id} {hint_id}"),
        (true, false) => err_id.clone(),
        (false, true) => hint_id.clone(),
        (false, false) => String::new(),
    };
    let aria = if described.is_empty() { Markup::new() } else { markup!(" aria-describedby=\"{}\"", described) };
    let invalid = if error.is_some() { markup!(" aria-invalid=\"true\"") } else { Markup::new() };
    let req = if f.required { markup!(" required") } else { Markup::new() };
    let req_mark = if f.required { markup!(" <span class=\"req\">(required)</span>") } else { Markup::new() };
    let class = if error.is_some() { "field has-error" } else { "field" };
    let hint = if f.hint.is_empty() {
        Markup::new()
    } else {
        markup!("<span class=\"hint\" id=\"{}\">{}</span>", hint_id, f.hint)
    };
    let err = match error {
        Some(e) => markup!("<span class=\"error\" id=\"{}\"><strong>Error:</strong> {}</span>", err_id, e.message),
        None => Markup::new(),
    };
    match &f.kind {
        Kind::Checkbox => {
            let checked = if !value.is_empty() { markup!(" checked") } else { Markup::new() };
            html!(
                m,
                "<div class=\"{}\" id=\"field-{}\"><label class=\"check\"><input type=\"checkbox\" id=\"{}\" name=\"{}\" value=\"on\"{}{}{}> {}</label>{}{}</div>",
                class,
                f.name,
                id,
                f.name,
                checked,
                aria,
                invalid,
                f.label,
                hint,
                err
            );
        }
        Kind::Multi(opts) => {
            let chosen = values.all(f.name);
            html!(
                m,
                "<fieldset class=\"{}\" id=\"field-{}\"{}><legend>{}</legend>{}{}<div class=\"checks\">",
                class,
                f.name,
                aria,
                f.label,
                hint,
                err
            );
            for (code, label) in opts {
                let cid = format!("{id}-{code}");
                let checked = if chosen.contains(code) { markup!(" checked") } else { Markup::new() };
                html!(
                    m,
                    "<label class=\"check\" for=\"{}\"><input type=\"checkbox\" id=\"{}\" name=\"{}\" value=\"{}\"{}> {}</label>",
                    cid,
                    cid,
                    f.name,
                    *code,
                    checked,
                    label
                );
            }
            html!(m, "</div></fieldset>");
        }
        _ => {
            html!(
                m,
                "<div class=\"{}\" id=\"field-{}\"><label for=\"{}\">{}{}</label>{}{}",
                class,
                f.name,
                id,
                f.label,
                req_mark,
                hint,
                err
            );
            match &f.kind {
                Kind::Select { options, optional } => {
                    html!(m, "<select id=\"{}\" name=\"{}\"{}{}{}>", id, f.name, req, aria, invalid);
                    if *optional || value.is_empty() {
                        html!(m, "<option value=\"\">{}</option>", if *optional { "not recorded" } else { "choose…" });
                    }
                    if let Some(current) = f.only_as_current.iter().find(|c| **c == value) {
                        html!(m, "<option value=\"{}\" selected>{}</option>", *current, words(current));
                    }
                    for (code, label) in options {
                        let sel = if value == *code { markup!(" selected") } else { Markup::new() };
                        html!(m, "<option value=\"{}\"{}>{}</option>", *code, sel, label);
                    }
                    html!(m, "</select>");
                }
                Kind::TextArea | Kind::Lines => {
                    html!(
                        m,
                        "<textarea id=\"{}\" name=\"{}\" rows=\"3\"{}{}{}>{}</textarea>",
                        id,
                        f.name,
                        req,
                        aria,
                        invalid,
                        value
                    );
                }
                other => {
                    let (ty, extra) = match other {
                        Kind::Date => ("date", Markup::new()),
                        Kind::Number(unit) => ("text", markup!(" inputmode=\"decimal\" data-unit=\"{}\"", *unit)),
                        Kind::Integer => ("text", markup!(" inputmode=\"numeric\"")),
                        Kind::Password(autocomplete) => ("password", markup!(" autocomplete=\"{}\"", *autocomplete)),
                        _ => ("text", Markup::new()),
                    };
                    html!(
                        m,
                        "<input type=\"{}\" id=\"{}\" name=\"{}\" value=\"{}\"{}{}{}{}>",
                        ty,
                        id,
                        f.name,
                        value,
                        extra,
                        req,
                        aria,
                        invalid
                    );
                    if let Kind::Number(unit) = other
                        && !unit.is_empty()
                    {
                        html!(m, "<span class=\"unit\">{}</span>", *unit);
                    }
                }
            }
            html!(m, "</div>");
        }
    }
    m
}

/// A summary of the errors at the top of a form, each linking to its field.
pub fn error_summary(errors: &[FieldError]) -> Markup {
    if errors.is_empty() {
        return Markup::new();
    }
    let mut m = markup!(
        "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\"><h2>Nothing was saved. Please correct:</h2><ul>"
    );
    for e in errors {
        html!(m, "<li><a href=\"{}\">{}</a></li>", format!("#field-{}", e.field), e.message);
    }
    html!(m, "</ul></div>");
    m
}

/// Put `value` at a dotted path in a JSON object.
pub fn insert_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut node = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return;
        }
        let entry = node.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        node = next;
    }
}

/// The JSON a form describes, or the errors of values that are not even the
/// right kind (a number that is not a number, a required field left empty).
pub fn to_json(fields: &[Field], values: &FormData) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for f in fields {
        let raw = values.text(f.name);
        if f.required && raw.is_empty() && !matches!(f.kind, Kind::Checkbox | Kind::Multi(_)) {
            errors.push(FieldError { field: f.name.to_owned(), message: format!("Enter {}", f.label.to_lowercase()) });
            continue;
        }
        let value = match &f.kind {
            Kind::Date | Kind::Select { .. } if raw.is_empty() => None,
            Kind::Date | Kind::Select { .. } => Some(Value::String(raw.to_owned())),
            Kind::Text | Kind::TextArea | Kind::Password(_) => Some(Value::String(raw.to_owned())),
            Kind::Number(unit) if !raw.is_empty() => match raw.replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() => serde_json::Number::from_f64(v).map(Value::Number),
                _ => {
                    errors.push(FieldError {
                        field: f.name.to_owned(),
                        message: format!("{}: \"{raw}\" is not a number; enter a number in {unit}", f.label),
                    });
                    None
                }
            },
            Kind::Integer if !raw.is_empty() => match raw.parse::<i64>() {
                Ok(v) => Some(Value::from(v)),
                Err(_) => {
                    errors.push(FieldError {
                        field: f.name.to_owned(),
                        message: format!("{}: \"{raw}\" is not a whole number", f.label),
                    });
                    None
                }
            },
            Kind::Number(_) | Kind::Integer => None,
            Kind::Checkbox => Some(Value::Bool(!raw.is_empty())),
            Kind::Multi(_) => {
                Some(Value::Array(values.all(f.name).into_iter().map(|v| Value::String(v.to_owned())).collect()))
            }
            Kind::Lines => Some(Value::Array(
                raw.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| Value::String(l.to_owned())).collect(),
            )),
        };
        if let Some(v) = value {
            insert_path(&mut out, f.name, v);
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Deserialise a record from form JSON, naming the field that did not fit.
pub fn from_json<T: serde::de::DeserializeOwned>(json: Map<String, Value>) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(Value::Object(json)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        vec![FieldError { field: if path == "." { String::new() } else { path }, message: inner }]
    })
}

/// The error of a failed save, placed at its field (the store names it as a
/// dotted path). `aliases` maps store paths to the form's control names.
pub fn invalid_to_error(e: &limbpath_clinical::InvalidInput, fields: &[Field], aliases: &[(&str, &str)]) -> FieldError {
    let mut field = e.field.clone();
    if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == field) {
        field = (*to).to_owned();
    }
    // The longest control name that the error's path starts with.
    if !fields.iter().any(|f| f.name == field) {
        field = fields
            .iter()
            .filter(|f| field.starts_with(f.name))
            .max_by_key(|f| f.name.len())
            .map(|f| f.name.to_owned())
            .unwrap_or(field);
    }
    let label = fields.iter().find(|f| f.name == field).map_or(e.field.as_str(), |f| f.label);
    let value = e.value.as_deref().map(|v| format!(" \"{v}\"")).unwrap_or_default();
    let problem = match e.problem {
        limbpath_clinical::Problem::Missing => "is required".to_owned(),
        limbpath_clinical::Problem::NotANumber => "is not a number".to_owned(),
        limbpath_clinical::Problem::OutOfRange => "is out of range".to_owned(),
        limbpath_clinical::Problem::Unrecognised => "is not recognised".to_owned(),
        limbpath_clinical::Problem::Inconsistent => "does not fit the other values".to_owned(),
    };
    FieldError { field, message: format!("{label}{value} {problem}; enter {}", e.accepted) }
}

// ---------------------------------------------------------------------------
// The record forms
// ---------------------------------------------------------------------------

/// A record form: what it creates, under which parent, with which fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Patient,
    Limb,
    Episode,
    Wound,
    Measurement,
    VascularStudy,
    Procedure,
    Outcome,
}

impl Form {
    fn title(self) -> &'static str {
        match self {
            Form::Patient => "New patient",
            Form::Limb => "New limb",
            Form::Episode => "New episode",
            Form::Wound => "New wound",
            Form::Measurement => "New wound measurement",
            Form::VascularStudy => "New vascular study",
            Form::Procedure => "New procedure",
            Form::Outcome => "New outcome event",
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Form::Patient => RecordKind::Patient.entity(),
            Form::Limb => RecordKind::Limb.entity(),
            Form::Episode => RecordKind::Episode.entity(),
            Form::Wound => RecordKind::Wound.entity(),
            Form::Measurement => RecordKind::WoundMeasurement.entity(),
            Form::VascularStudy => RecordKind::VascularStudy.entity(),
            Form::Procedure => RecordKind::Procedure.entity(),
            Form::Outcome => RecordKind::OutcomeEvent.entity(),
        }
    }

    /// The parent's kind and the field naming it.
    fn parent(self) -> Option<(RecordKind, &'static str)> {
        match self {
            Form::Patient => None,
            Form::Limb => Some((RecordKind::Patient, "patient_id")),
            Form::Episode => Some((RecordKind::Limb, "limb_id")),
            Form::Wound | Form::VascularStudy | Form::Procedure | Form::Outcome => {
                Some((RecordKind::Episode, "episode_id"))
            }
            Form::Measurement => Some((RecordKind::Wound, "wound_id")),
        }
    }

    fn fields(self) -> Vec<Field> {
        use Kind::*;
        let sel = |codes: Vec<&'static str>| Select { options: options(codes), optional: false };
        let opt = |codes: Vec<&'static str>| Select { options: options(codes), optional: true };
        macro_rules! codes {
            ($t:ty) => {
                <$t>::ALL.iter().map(|v| v.code()).collect::<Vec<_>>()
            };
        }
        match self {
            Form::Patient => vec![
                Field::new("family_name", "Family name", Text).required(),
                Field::new("given_name", "Given name", Text).required(),
                Field::new("mrn", "MRN", Text).required().hint("the site's medical record number"),
                Field::new("site", "Site", Text).required().hint("the hospital or clinic that issued the MRN"),
                Field::new("birth_date", "Date of birth", Date).required(),
                Field::new("sex", "Sex", sel(codes!(Sex))).required(),
                Field::new("diabetes", "Diabetes", sel(codes!(DiabetesStatus))).required(),
                Field::new("hba1c_percent", "HbA1c", Number("%")),
                Field::new("ckd_stage", "CKD stage", Integer).hint("1 to 5, if known"),
                Field::new("dialysis", "On dialysis", Checkbox),
                Field::new("smoking", "Smoking", sel(codes!(SmokingStatus))).required(),
                Field::new("bmi", "BMI", Number("kg/m²")),
                Field::new(
                    "ambulatory_status",
                    "Ambulatory status",
                    sel(AmbulatoryStatus::RECORDED.iter().map(|v| v.code()).collect()),
                )
                .required()
                .only_as_current(&["not_recorded"]),
            ],
            Form::Limb => vec![
                Field::new("side", "Side", sel(codes!(Side))).required(),
                Field::new("kind", "Limb", sel(codes!(LimbKind))).required(),
                Field::new("amputation_level", "Current amputation level", opt(codes!(AmputationLevel))),
            ],
            Form::Episode => vec![
                Field::new("aetiology", "Aetiology", sel(codes!(Aetiology))).required(),
                Field::new("status", "Status", sel(codes!(EpisodeStatus))).required(),
                Field::new("opened_on", "Opened on", Date).required(),
                Field::new("closed_on", "Closed on", Date).hint("only for a closed episode"),
                Field::new("summary", "Summary", TextArea),
            ],
            Form::Wound => vec![
                Field::new(
                    "location",
                    "Location",
                    Select {
                        options: WoundLocation::ALL.iter().map(|l| (l.code(), l.label().to_owned())).collect(),
                        optional: false,
                    },
                )
                .required(),
                Field::new("noted_on", "Noted on", Date).required(),
                Field::new("description", "Description", TextArea),
                Field::new("healed_on", "Healed on", Date),
            ],
            Form::Measurement => vec![
                Field::new("measured_on", "Measured on", Date).required(),
                Field::new("length_cm", "Length", Number("cm")).required(),
                Field::new("width_cm", "Width", Number("cm")).required(),
                Field::new("depth_cm", "Depth", Number("cm")),
                Field::new("area_cm2", "Measured area", Number("cm²"))
                    .hint("planimetry or photo; if empty, length × width is used"),
            ],
            Form::VascularStudy => vec![
                Field::new("performed_on", "Performed on", Date).required(),
                Field::new("kind", "Study", sel(codes!(VascularStudyKind))).required(),
                Field::new("pressures.brachial_left_mmhg", "Brachial pressure, left arm", Number("mmHg")),
                Field::new("pressures.brachial_right_mmhg", "Brachial pressure, right arm", Number("mmHg")),
                Field::new("pressures.left.dorsalis_pedis_mmhg", "Left dorsalis pedis", Number("mmHg")),
                Field::new("pressures.left.posterior_tibial_mmhg", "Left posterior tibial", Number("mmHg")),
                Field::new("pressures.left.toe_pressure_mmhg", "Left toe pressure", Number("mmHg")),
                Field::new("pressures.right.dorsalis_pedis_mmhg", "Right dorsalis pedis", Number("mmHg")),
                Field::new("pressures.right.posterior_tibial_mmhg", "Right posterior tibial", Number("mmHg")),
                Field::new("pressures.right.toe_pressure_mmhg", "Right toe pressure", Number("mmHg")),
                Field::new("tcpo2_mmhg", "TcPO2", Number("mmHg")),
                Field::new("findings", "Findings", TextArea),
            ],
            Form::Procedure => vec![
                Field::new("performed_on", "Performed on", Date).required(),
                Field::new("kind", "Procedure", sel(codes!(ProcedureKind))).required(),
                Field::new("amputation_level", "Amputation level", opt(codes!(AmputationLevel)))
                    .hint("for amputations only"),
                Field::new("target_arteries", "Target arteries", Multi(options(codes!(TargetArtery)))),
                Field::new("angiosome_route", "Angiosome route", opt(codes!(AngiosomeRoute)))
                    .hint("for revascularisation only"),
                Field::new("complications", "Complications", Lines).hint("one per line"),
                Field::new("notes", "Notes", TextArea),
            ],
            Form::Outcome => vec![
                Field::new("occurred_on", "Occurred on", Date).required(),
                Field::new("kind", "Event", sel(codes!(OutcomeKind))).required(),
                Field::new("amputation_level", "Amputation level", opt(codes!(AmputationLevel)))
                    .hint("for amputation events only"),
                Field::new("notes", "Notes", TextArea),
            ],
        }
    }

    fn path(self) -> &'static str {
        match self {
            Form::Patient => "/patients/new",
            Form::Limb => "/patients/{id}/limbs/new",
            Form::Episode => "/limbs/{id}/episodes/new",
            Form::Wound => "/episodes/{id}/wounds/new",
            Form::Measurement => "/wounds/{id}/measurements/new",
            Form::VascularStudy => "/episodes/{id}/vascular-studies/new",
            Form::Procedure => "/episodes/{id}/procedures/new",
            Form::Outcome => "/episodes/{id}/outcome-events/new",
        }
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    let mut r = Router::new();
    for form in [
        Form::Patient,
        Form::Limb,
        Form::Episode,
        Form::Wound,
        Form::Measurement,
        Form::VascularStudy,
        Form::Procedure,
        Form::Outcome,
    ] {
        if form == Form::Patient {
            r = r.route(
                form.path(),
                get(move |State(s): State<Arc<AppState>>, a: RemoteAddr, h: HeaderMap| async move {
                    show(&s, &a, &h, form, None).await
                })
                .post(
                    move |State(s): State<Arc<AppState>>, a: RemoteAddr, h: HeaderMap, body: Bytes| async move {
                        save(&s, &a, &h, form, None, &body).await
                    },
                ),
            );
        } else {
            r = r.route(
                form.path(),
                get(move |State(s): State<Arc<AppState>>, a: RemoteAddr, h: HeaderMap, Path(id): Path<String>| async move {
                    show(&s, &a, &h, form, Some(id)).await
                })
                .post(
                    move |State(s): State<Arc<AppState>>,
                          a: RemoteAddr,
                          h: HeaderMap,
                          Path(id): Path<String>,
                          body: Bytes| async move { save(&s, &a, &h, form, Some(id), &body).await },
                ),
            );
        }
    }
    r.route("/patients/{id}/edit", get(edit_patient_form).post(edit_patient_save))
}

// ---------------------------------------------------------------------------
// Editing a patient
// ---------------------------------------------------------------------------

/// The hidden field carrying the version the edit form was loaded at: the
/// save is `update_patient(id, version, ..)`, so a change someone else saved
/// meanwhile is never overwritten (the API's `If-Match`, in a form).
const VERSION_FIELD: &str = "_version";

/// What a clinician reads when their save came after someone else's.
const CHANGED_MEANWHILE: &str =
    "This patient was changed by someone else since you opened the form; review the current values and save again";

/// A stored patient as the edit form's values: the same names and text a
/// clinician would type, so what is shown is what a save sends back.
fn patient_values(p: &PatientData) -> FormData {
    let mut values = FormData::default();
    let Ok(Value::Object(json)) = serde_json::to_value(p) else { return values };
    for f in Form::Patient.fields() {
        match json.get(f.name) {
            Some(Value::String(v)) => values.set(f.name, v),
            Some(Value::Number(n)) => values.set(f.name, &n.to_string()),
            // An unticked checkbox sends nothing.
            Some(Value::Bool(true)) => values.set(f.name, "on"),
            _ => {}
        }
    }
    values
}

/// The edit form's page: the patient's name in the header, the version in a
/// hidden field, `notice` above the form.
fn edit_page(web: &Web, id: &str, version: i64, notice: Markup, values: &FormData, errors: &[FieldError]) -> Response {
    let header = markup!(
        "<p class=\"crumbs\"><a href=\"{}\">{}, {}</a> · MRN {}</p>",
        format!("/patients/{id}"),
        values.text("family_name"),
        values.text("given_name"),
        values.text("mrn")
    );
    let hidden = markup!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", VERSION_FIELD, version);
    record_form_page(
        web,
        "Edit patient",
        &Form::Patient.fields(),
        &format!("/patients/{id}/edit"),
        header,
        notice,
        hidden,
        values,
        errors,
    )
}

/// Read the patient to edit, with the read audited as the API's is; a
/// failure is answered as a page (and audited).
async fn patient_to_edit(
    state: &AppState,
    web: &Web,
    audit: &Audit<'_>,
    id: &str,
) -> Result<(i64, FormData), Response> {
    match state.store.get_owned::<PatientData>(id).await {
        Ok(Owned { owner, record }) => {
            web.audit(state, "read", "patient")
                .record(Some(id), Some(&owner), AuditOutcome::Ok, "edit form")
                .await
                .map_err(|p| page_error(web, p))?;
            Ok((record.version, patient_values(&record.data)))
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(Some(id), None, outcome, &p.detail).await.map_err(|p| page_error(web, p))?;
            Err(page_error(web, p))
        }
    }
}

/// `GET /patients/{id}/edit`: the patient form with the current values, for
/// the roles that may change patient records.
async fn edit_patient_form(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let web = match session(&state, &headers, &addr, "patient").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "form", "patient");
    if let Err(p) = authorise(&audit, &web.caller, Family::PatientRecord, Action::Write, Some(&id)).await {
        return page_error(&web, p);
    }
    match patient_to_edit(&state, &web, &audit, &id).await {
        Ok((version, values)) => edit_page(&web, &id, version, Markup::new(), &values, &[]),
        Err(r) => r,
    }
}

/// `POST /patients/{id}/edit`: the API's update (`PUT /api/v1/patients/{id}`
/// with `If-Match`), audited the same way: the whole record or nothing; an
/// invalid value is shown at its control; a save against a stale version is
/// refused and the form shows what is stored now.
async fn edit_patient_save(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let web = match session(&state, &headers, &addr, "patient").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let values = FormData::parse(&body);
    if let Err(r) = check_csrf(&state, &web, &values).await {
        return r;
    }
    let audit = web.audit(&state, "update", "patient");
    if let Err(p) = authorise(&audit, &web.caller, Family::PatientRecord, Action::Write, Some(&id)).await {
        return page_error(&web, p);
    }
    let owner = match state.store.owner_patient_id(RecordKind::Patient, &id).await {
        Ok(o) => o,
        Err(e) => {
            let (p, outcome) = store_problem(e);
            if let Err(p) = audit.record(Some(&id), None, outcome, &p.detail).await {
                return page_error(&web, p);
            }
            return page_error(&web, p);
        }
    };
    // The version is the form's own hidden field: without it there is no way
    // to tell whether this edit would overwrite someone else's.
    let Some(version) = values.get(VERSION_FIELD).and_then(|v| v.trim().parse::<i64>().ok()) else {
        let p = Problem::malformed("the form's version is missing: reload the form and save again", None);
        if let Err(p) = audit.record(Some(&id), Some(&owner), AuditOutcome::Invalid, &p.detail).await {
            return page_error(&web, p);
        }
        return page_error(&web, p);
    };
    let fields = Form::Patient.fields();
    let data = to_json(&fields, &values).and_then(from_json::<PatientData>);
    let failed = match data {
        Err(errors) => Saved::Invalid(errors),
        Ok(data) => match state.store.update_patient(&id, version, data).await {
            Ok(_) => {
                if let Err(p) = audit.record(Some(&id), Some(&owner), AuditOutcome::Ok, "web form").await {
                    return page_error(&web, p);
                }
                return redirect(&format!("/patients/{id}"));
            }
            Err(StoreError::VersionConflict { entity, id: vid, current }) => {
                let detail = format!("{entity} {vid} was changed by someone else: it is now at version {current}");
                if let Err(p) = audit.record(Some(&id), Some(&owner), AuditOutcome::Conflict, &detail).await {
                    return page_error(&web, p);
                }
                let (version, current) = match patient_to_edit(&state, &web, &audit, &id).await {
                    Ok(v) => v,
                    Err(r) => return r,
                };
                let notice = markup!(
                    "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"changed-meanwhile\"><h2>{}</h2><p>Nothing was saved. The form now shows the values stored now.</p></div>",
                    CHANGED_MEANWHILE
                );
                let mut r = edit_page(&web, &id, version, notice, &current, &[]);
                *r.status_mut() = StatusCode::CONFLICT;
                return r;
            }
            Err(e) => store_failure(e, &fields, &[]),
        },
    };
    match failed {
        Saved::Invalid(errors) => {
            let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            if let Err(p) = audit.record(Some(&id), Some(&owner), AuditOutcome::Invalid, &detail).await {
                return page_error(&web, p);
            }
            edit_page(&web, &id, version, Markup::new(), &values, &errors)
        }
        Saved::Failed(p, outcome) => {
            if let Err(p) = audit.record(Some(&id), Some(&owner), outcome, &p.detail).await {
                return page_error(&web, p);
            }
            // A duplicate MRN is a field error too.
            if p.status == 409
                && let Some(field) = p.field.clone()
            {
                let errors = vec![FieldError { field, message: format!("{}; enter another", p.detail) }];
                return edit_page(&web, &id, version, Markup::new(), &values, &errors);
            }
            page_error(&web, p)
        }
    }
}

/// Authorise a write under a parent, scoped and audited; the owning patient.
pub(crate) async fn parent_owner(
    state: &AppState,
    web: &Web,
    audit: &Audit<'_>,
    kind: RecordKind,
    id: &str,
) -> Result<String, Response> {
    authorise(audit, &web.caller, Family::PatientRecord, Action::Write, Some(id))
        .await
        .map_err(|p| page_error(web, p))?;
    let owner = match state.store.owner_patient_id(kind, id).await {
        Ok(o) => o,
        Err(e) => {
            let (p, outcome) = store_problem(e);
            audit.record(Some(id), None, outcome, &p.detail).await.map_err(|p| page_error(web, p))?;
            return Err(page_error(web, p));
        }
    };
    scope(audit, &web.caller, &owner, id).await.map_err(|p| page_error(web, p))?;
    Ok(owner)
}

/// The patient a form is for (its header), read and audited.
async fn patient_header(state: &AppState, web: &Web, owner: &str) -> Result<Markup, Response> {
    let audit = web.audit(state, "read", "patient");
    match state.store.get_owned::<PatientData>(owner).await {
        Ok(Owned { record: p, .. }) => {
            audit
                .record(Some(owner), Some(owner), AuditOutcome::Ok, "form header")
                .await
                .map_err(|p| page_error(web, p))?;
            Ok(markup!(
                "<p class=\"crumbs\"><a href=\"{}\">{}, {}</a> · MRN {} · born {}</p>",
                format!("/patients/{owner}"),
                p.data.family_name,
                p.data.given_name,
                p.data.mrn,
                p.data.birth_date
            ))
        }
        Err(e) => Err(page_error(web, store_problem(e).0)),
    }
}

fn form_page(
    web: &Web,
    form: Form,
    action: &str,
    header: Markup,
    values: &FormData,
    errors: &[FieldError],
) -> Response {
    record_form_page(web, form.title(), &form.fields(), action, header, Markup::new(), Markup::new(), values, errors)
}

/// A record form's page: `header` (the patient it is for), the title, an
/// error summary or `notice` (an edit that came too late), then the form with
/// its CSRF token, any `hidden` inputs (an edit's version) and every control
/// with its value and error in place.
#[allow(clippy::too_many_arguments)]
fn record_form_page(
    web: &Web,
    title: &str,
    fields: &[Field],
    action: &str,
    header: Markup,
    notice: Markup,
    hidden: Markup,
    values: &FormData,
    errors: &[FieldError],
) -> Response {
    let mut body = markup!("{}<h1>{}</h1>{}{}", header, title, notice, error_summary(errors));
    // Errors that belong to no control (rare: a rule across fields).
    html!(
        body,
        "<form method=\"post\" action=\"{}\" class=\"card record-form\" novalidate>{}{}<div class=\"grid\">",
        action,
        csrf_field(&web.csrf),
        hidden
    );
    for f in fields {
        body.push(control(f, values, errors));
    }
    html!(body, "</div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Save</button></div></form>");
    let mut r = page(Some(web), title, body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn action_path(form: Form, parent: Option<&str>) -> String {
    match parent {
        Some(id) => form.path().replace("{id}", id),
        None => form.path().to_owned(),
    }
}

async fn show(
    state: &AppState,
    addr: &RemoteAddr,
    headers: &HeaderMap,
    form: Form,
    parent: Option<String>,
) -> Response {
    let web = match session(state, headers, addr, form.entity()).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(state, "form", form.entity());
    let header = match (&parent, form.parent()) {
        (Some(id), Some((kind, _))) => {
            let owner = match parent_owner(state, &web, &audit, kind, id).await {
                Ok(o) => o,
                Err(r) => return r,
            };
            match patient_header(state, &web, &owner).await {
                Ok(h) => h,
                Err(r) => return r,
            }
        }
        _ => {
            if let Err(p) = authorise(&audit, &web.caller, Family::PatientRecord, Action::Write, None).await {
                return page_error(&web, p);
            }
            Markup::new()
        }
    };
    let mut values = FormData::default();
    for f in form.fields() {
        if matches!(f.kind, Kind::Date) && f.required {
            values.set(f.name, &super::pages::today().to_string());
        }
    }
    form_page(&web, form, &action_path(form, parent.as_deref()), header, &values, &[])
}

async fn save(
    state: &AppState,
    addr: &RemoteAddr,
    headers: &HeaderMap,
    form: Form,
    parent: Option<String>,
    body: &[u8],
) -> Response {
    let web = match session(state, headers, addr, form.entity()).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let values = FormData::parse(body);
    if let Err(r) = check_csrf(state, &web, &values).await {
        return r;
    }
    let audit = web.audit(state, "create", form.entity());
    let (header, owner) = match (&parent, form.parent()) {
        (Some(id), Some((kind, _))) => {
            let owner = match parent_owner(state, &web, &audit, kind, id).await {
                Ok(o) => o,
                Err(r) => return r,
            };
            match patient_header(state, &web, &owner).await {
                Ok(h) => (h, Some(owner)),
                Err(r) => return r,
            }
        }
        _ => {
            if let Err(p) = authorise(&audit, &web.caller, Family::PatientRecord, Action::Write, None).await {
                return page_error(&web, p);
            }
            (Markup::new(), None)
        }
    };
    let fields = form.fields();
    let action = action_path(form, parent.as_deref());
    let mut json = match to_json(&fields, &values) {
        Ok(j) => j,
        Err(errors) => return invalid(&web, &audit, form, &action, header, &values, errors).await,
    };
    if let (Some(id), Some((_, field))) = (&parent, form.parent()) {
        json.insert(field.to_owned(), Value::String(id.clone()));
    }
    let result = match form {
        Form::Patient => create::<PatientData>(state, &audit, RecordKind::Patient, json, &fields).await,
        Form::Limb => create::<LimbData>(state, &audit, RecordKind::Limb, json, &fields).await,
        Form::Episode => create::<EpisodeData>(state, &audit, RecordKind::Episode, json, &fields).await,
        Form::Wound => create::<WoundData>(state, &audit, RecordKind::Wound, json, &fields).await,
        Form::Measurement => {
            create::<WoundMeasurementData>(state, &audit, RecordKind::WoundMeasurement, json, &fields).await
        }
        Form::VascularStudy => {
            create::<VascularStudyData>(state, &audit, RecordKind::VascularStudy, json, &fields).await
        }
        Form::Procedure => create::<ProcedureData>(state, &audit, RecordKind::Procedure, json, &fields).await,
        Form::Outcome => create::<OutcomeEventData>(state, &audit, RecordKind::OutcomeEvent, json, &fields).await,
    };
    match result {
        Ok((id, record_owner, kind, plan)) => {
            // The care plan followed the record (issue 5).
            crate::care::tasks_created(kind, &id, plan);
            let to = match form {
                Form::Patient => format!("/patients/{id}"),
                _ => format!("/patients/{}", owner.unwrap_or(record_owner)),
            };
            redirect(&to)
        }
        Err(Saved::Invalid(errors)) => invalid(&web, &audit, form, &action, header, &values, errors).await,
        Err(Saved::Failed(p, outcome)) => {
            if let Err(p) = audit.record(None, None, outcome, &p.detail).await {
                return page_error(&web, p);
            }
            // A duplicate MRN is a field error too.
            if p.status == 409
                && let Some(field) = p.field.clone()
            {
                let errors = vec![FieldError { field, message: format!("{}; enter another", p.detail) }];
                return form_page(&web, form, &action, header, &values, &errors);
            }
            page_error(&web, p)
        }
    }
}

async fn invalid(
    web: &Web,
    audit: &Audit<'_>,
    form: Form,
    action: &str,
    header: Markup,
    values: &FormData,
    errors: Vec<FieldError>,
) -> Response {
    let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
    if let Err(p) = audit.record(None, None, AuditOutcome::Invalid, &detail).await {
        return page_error(web, p);
    }
    form_page(web, form, action, header, values, &errors)
}

/// Why a save did not happen.
pub(crate) enum Saved {
    Invalid(Vec<FieldError>),
    Failed(Problem, AuditOutcome),
}

/// Create the record a form describes, with its audit entry (its episode's
/// care plan runs with it): its id, its owner, its kind and what became of
/// the plan.
async fn create<D>(
    state: &AppState,
    audit: &Audit<'_>,
    kind: RecordKind,
    json: Map<String, Value>,
    fields: &[Field],
) -> Result<(String, String, RecordKind, PlanAfter), Saved>
where
    D: limbpath_store::Record + serde::de::DeserializeOwned,
    D::Out: crate::app::Versioned,
{
    let data: D = from_json(json).map_err(Saved::Invalid)?;
    let entry = audit.entry(None, None, AuditOutcome::Ok, "web form");
    match state.store.create_owned_and_run_care_plan(data, &crate::care::rules(), crate::care::today(), entry).await {
        Ok((Owned { owner, record }, plan)) => Ok((crate::app::Versioned::id(&record).to_owned(), owner, kind, plan)),
        Err(e) => Err(store_failure(e, fields, &[])),
    }
}

pub(crate) fn store_failure(e: StoreError, fields: &[Field], aliases: &[(&str, &str)]) -> Saved {
    match e {
        StoreError::Invalid(e) => Saved::Invalid(vec![invalid_to_error(&e, fields, aliases)]),
        other => {
            let (p, outcome) = store_problem(other);
            Saved::Failed(p, outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), false)
    }

    #[test]
    fn a_form_that_is_not_utf8_once_decoded_is_marked_undecodable() {
        assert!(!FormData::parse(b"a=caf%C3%A9&b=x+y&c=%F0%9F%92%A9&d=").undecodable());
        assert_eq!(FormData::parse(b"a=caf%C3%A9").text("a"), "caf\u{e9}");
        for bad in [&b"a=%FF"[..], b"a=%C3%28", b"%FE=1", b"a=\xff\xfe", b"a=ok&b=%ED%A0%80", b"a=%C0%AF"] {
            assert!(FormData::parse(bad).undecodable(), "{bad:?}");
        }
    }

    #[test]
    fn dotted_names_build_nested_json_and_bad_numbers_are_field_errors() {
        let fields = vec![
            Field::new("pressures.left.dorsalis_pedis_mmhg", "Left DP", Kind::Number("mmHg")),
            Field::new("pressures.brachial_left_mmhg", "Brachial", Kind::Number("mmHg")),
            Field::new("flag", "Flag", Kind::Checkbox),
            Field::new("many", "Many", Kind::Multi(options(["a", "b"]))),
        ];
        let json = to_json(
            &fields,
            &form(&[("pressures.left.dorsalis_pedis_mmhg", "74"), ("many", "a"), ("many", "b"), ("flag", "on")]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(json),
            serde_json::json!({"pressures": {"left": {"dorsalis_pedis_mmhg": 74.0}}, "flag": true, "many": ["a", "b"]})
        );
        let errors = to_json(&fields, &form(&[("pressures.brachial_left_mmhg", "high")])).unwrap_err();
        assert_eq!(errors[0].field, "pressures.brachial_left_mmhg");
        assert!(errors[0].message.contains("not a number"));
    }

    #[test]
    fn ambulatory_status_not_recorded_is_offered_only_as_the_current_value() {
        let fields = Form::Patient.fields();
        let f = fields.iter().find(|f| f.name == "ambulatory_status").unwrap();
        let new = control(f, &form(&[]), &[]).into_string();
        assert!(new.contains("value=\"with_aid\"") && !new.contains("not_recorded"), "{new}");
        let imported = control(f, &form(&[("ambulatory_status", "not_recorded")]), &[]).into_string();
        assert!(imported.contains("<option value=\"not_recorded\" selected>not recorded</option>"), "{imported}");
        assert!(imported.contains("value=\"bedbound\""), "a real status can be chosen instead");
        let chosen = control(f, &form(&[("ambulatory_status", "wheelchair")]), &[]).into_string();
        assert!(chosen.contains("value=\"wheelchair\" selected") && !chosen.contains("not_recorded"), "{chosen}");
    }

    #[test]
    fn store_errors_land_on_their_control() {
        let fields =
            vec![Field::new("pressures.left.dorsalis_pedis_mmhg", "Left dorsalis pedis", Kind::Number("mmHg"))];
        let e = limbpath_clinical::InvalidInput::out_of_range(
            "pressures.left.dorsalis_pedis_mmhg",
            400,
            "a number from 0 to 300 mmHg",
        );
        let fe = invalid_to_error(&e, &fields, &[]);
        assert_eq!(fe.field, "pressures.left.dorsalis_pedis_mmhg");
        assert_eq!(fe.message, "Left dorsalis pedis \"400\" is out of range; enter a number from 0 to 300 mmHg");
        // A deeper path lands on its nearest control; an alias is followed.
        let e = limbpath_clinical::InvalidInput::out_of_range("pressures.left.dorsalis_pedis_mmhg.x", 1, "x");
        assert_eq!(invalid_to_error(&e, &fields, &[]).field, "pressures.left.dorsalis_pedis_mmhg");
        let e = limbpath_clinical::InvalidInput::out_of_range("ischaemia.abi", 9, "0 to 3");
        let fe = invalid_to_error(&e, &fields, &[("ischaemia.abi", "pressures.left.dorsalis_pedis_mmhg")]);
        assert_eq!(fe.field, "pressures.left.dorsalis_pedis_mmhg");
    }

    #[test]
    fn controls_keep_input_show_errors_and_escape() {
        let f = Field::new("family_name", "Family name", Kind::Text).required();
        let errors = vec![FieldError { field: "family_name".into(), message: "Enter <x>".into() }];
        let html = control(&f, &form(&[("family_name", "O'Brien <b>")]), &errors).into_string();
        assert!(html.contains("value=\"O&#39;Brien &lt;b&gt;\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("Enter &lt;x&gt;"));
        assert!(html.contains("<label for=\"f-family_name\">Family name"));
    }
}
