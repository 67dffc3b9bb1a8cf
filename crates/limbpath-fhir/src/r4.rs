//! Hand-written FHIR R4 (4.0.1) resources and datatypes: only the elements
//! LimbPath reads or writes. JSON names are FHIR's (camelCase); a choice
//! element `value[x]` is one optional field per type used (`value_quantity`,
//! `value_string`, …). Elements not modelled here are ignored when a resource
//! is read into these types; the importer keeps every resource's original JSON
//! beside what it maps, so nothing a sender wrote is lost.
//!
//! Every field is optional or defaulted when reading, so a resource that is
//! valid FHIR but sparse never fails to parse; what LimbPath requires is
//! checked by the importer, with the element's location.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

// ---------------------------------------------------------------------------
// Datatypes
// ---------------------------------------------------------------------------

/// A code from a code system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// Codes (possibly from several systems) and/or text for one concept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    /// Whether any coding has this system and code.
    pub fn has(&self, system: &str, code: &str) -> bool {
        self.coding.iter().any(|c| c.system.as_deref() == Some(system) && c.code.as_deref() == Some(code))
    }

    /// The first code of a system.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        self.coding.iter().find(|c| c.system.as_deref() == Some(system)).and_then(|c| c.code.as_deref())
    }
}

/// A business identifier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identifier {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigner: Option<Box<Reference>>,
}

/// A reference to another resource (literal `reference` and/or a display).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    /// A relative literal reference `Type/id`.
    pub fn to(resource_type: &str, id: &str) -> Reference {
        Reference { reference: Some(format!("{resource_type}/{id}")), ..Reference::default() }
    }
}

/// A time range; either end may be open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// A measured amount, with its unit (UCUM `code` under `system`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quantity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// An extension: `url` names it; one `value[x]` or nested extensions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_boolean: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_decimal: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_instant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_coding: Option<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_reference: Option<Reference>,
}

impl Extension {
    pub(crate) fn new(url: &str) -> Extension {
        Extension { url: url.to_owned(), ..Extension::default() }
    }
}

/// Resource metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<Coding>,
}

/// A person's name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanName {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
}

/// A postal address (kept as sent; LimbPath maps none of it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A text note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub text: String,
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

/// Common resource elements, repeated in every resource struct (serde has no
/// struct inheritance without `flatten`, which is slow and loses field paths).
macro_rules! resource {
    (
        $(#[$doc:meta])*
        pub struct $name:ident { $($(#[$fattr:meta])* pub $field:ident : $ty:ty,)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Serialised as `"resourceType": "<type>"`; nothing to set.
            #[serde(rename = "resourceType", skip_deserializing)]
            pub resource_type: ResourceType<$name>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub id: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub meta: Option<Meta>,
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub extension: Vec<Extension>,
            /// Extensions that change the meaning of the resource. The importer
            /// does not map a resource that carries one it does not know.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub modifier_extension: Vec<Extension>,
            $($(#[$fattr])* pub $field: $ty,)*
        }

        impl Named for $name {
            const NAME: &'static str = stringify!($name);
        }
    };
}

/// The `resourceType` member every resource struct writes first: it
/// serialises as the type's name and holds nothing.
pub struct ResourceType<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Default for ResourceType<T> {
    fn default() -> Self {
        ResourceType(std::marker::PhantomData)
    }
}
impl<T> Clone for ResourceType<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ResourceType<T> {}
impl<T> PartialEq for ResourceType<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T: Named> std::fmt::Debug for ResourceType<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(T::NAME)
    }
}
impl<T: Named> Serialize for ResourceType<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(T::NAME)
    }
}

/// A resource struct's FHIR type name.
pub trait Named {
    const NAME: &'static str;
}

resource! {
    /// A patient: demographics and the site's MRN.
    pub struct Patient {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub active: Option<bool>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub name: Vec<HumanName>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub gender: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub birth_date: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub deceased_boolean: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub deceased_date_time: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub address: Vec<Address>,
    }
}

resource! {
    /// An anatomical structure: LimbPath exports each limb as one.
    pub struct BodyStructure {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub active: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub location: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub location_qualifier: Vec<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        pub patient: Reference,
    }
}

/// A diagnosis of an episode of care.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpisodeDiagnosis {
    pub condition: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<i64>,
}

resource! {
    /// An episode of care: one limb-threatening problem from referral to outcome.
    pub struct EpisodeOfCare {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        pub status: String,
        #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
        pub type_: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub diagnosis: Vec<EpisodeDiagnosis>,
        pub patient: Reference,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
    }
}

resource! {
    /// A problem, diagnosis or wound.
    pub struct Condition {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub clinical_status: Option<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub verification_status: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub body_site: Vec<CodeableConcept>,
        pub subject: Reference,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub onset_date_time: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub abatement_date_time: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recorded_date: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
    }
}

/// A component of an observation (a panel part or a sub-result).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationComponent {
    pub code: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_boolean: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_absent_reason: Option<CodeableConcept>,
}

resource! {
    /// A measurement, finding or derived classification.
    pub struct Observation {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        pub status: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        pub code: CodeableConcept,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub focus: Vec<Reference>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub effective_date_time: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub effective_period: Option<Period>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub issued: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub value_quantity: Option<Quantity>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub value_codeable_concept: Option<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub value_string: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub value_boolean: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub value_integer: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub data_absent_reason: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub interpretation: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub body_site: Option<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub method: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub has_member: Vec<Reference>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub derived_from: Vec<Reference>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub component: Vec<ObservationComponent>,
    }
}

resource! {
    /// A procedure performed on the patient.
    pub struct Procedure {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        pub subject: Reference,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub performed_date_time: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub performed_period: Option<Period>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub body_site: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub complication: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
    }
}

/// An activity of a care plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarePlanActivity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub progress: Vec<Annotation>,
}

resource! {
    /// A plan of care (the pathway layer will use it).
    pub struct CarePlan {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        pub status: String,
        pub intent: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        pub subject: Reference,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub addresses: Vec<Reference>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub activity: Vec<CarePlanActivity>,
    }
}

resource! {
    /// A task (a worklist item).
    pub struct Task {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        pub status: String,
        pub intent: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub priority: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub focus: Option<Reference>,
        #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
        pub for_: Option<Reference>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub authored_on: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub execution_period: Option<Period>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub owner: Option<Reference>,
    }
}

resource! {
    /// An order or referral (a request for a study or a procedure).
    pub struct ServiceRequest {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        pub status: String,
        pub intent: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        pub subject: Reference,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub authored_on: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub body_site: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
    }
}

/// One answer of a questionnaire response item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionnaireAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_boolean: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_decimal: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_coding: Option<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
}

/// One item (question or group) of a questionnaire response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionnaireItem {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub link_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer: Vec<QuestionnaireAnswer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<QuestionnaireItem>,
}

resource! {
    /// Answers to a form: LimbPath exports an assessment's bedside findings as one.
    pub struct QuestionnaireResponse {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub identifier: Option<Identifier>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub questionnaire: Option<String>,
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub authored: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub item: Vec<QuestionnaireItem>,
    }
}

/// A network address of an audit agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditNetwork {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// Who took part in an audited event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditAgent {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub requestor: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<AuditNetwork>,
}

/// Who recorded an audited event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub observer: Reference,
    #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
    pub type_: Vec<Coding>,
}

/// What an audited event touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<Reference>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The query (base64) of a search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

resource! {
    /// A security-relevant event (the audit trail, in the IHE BALP shape).
    pub struct AuditEvent {
        #[serde(rename = "type")]
        pub type_: Coding,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub subtype: Vec<Coding>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub action: Option<String>,
        pub recorded: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub outcome: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub outcome_desc: Option<String>,
        pub agent: Vec<AuditAgent>,
        pub source: AuditSource,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub entity: Vec<AuditEntity>,
    }
}

/// One problem reported in an operation outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcomeIssue {
    /// fatal | error | warning | information
    pub severity: String,
    /// The FHIR issue type (`structure`, `required`, `value`, …).
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// FHIRPath-like locations of the problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

resource! {
    /// The outcome of an operation: errors and warnings with their locations.
    pub struct OperationOutcome {
        pub issue: Vec<OperationOutcomeIssue>,
    }
}

/// What the server implements for one resource type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityResource {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interaction: Vec<CapabilityInteraction>,
}

/// One interaction (`read`, `search-type`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityInteraction {
    pub code: String,
}

/// The REST side of a capability statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityRest {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<CapabilityResource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interaction: Vec<CapabilityInteraction>,
}

/// The software of a capability statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilitySoftware {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

resource! {
    /// What a FHIR server supports (minimal: resources and interactions).
    pub struct CapabilityStatement {
        pub status: String,
        pub date: String,
        pub kind: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub software: Option<CapabilitySoftware>,
        pub fhir_version: String,
        pub format: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub rest: Vec<CapabilityRest>,
    }
}

/// How an entry of a transaction or batch is to be processed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleRequest {
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_none_exist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_match: Option<String>,
}

/// The result of processing an entry (transaction/batch responses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleResponse {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Box<Resource>>,
}

/// Why an entry is in a search result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSearch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// A link of a bundle (`self`, `next`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleLink {
    pub relation: String,
    pub url: String,
}

/// One entry of a bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<BundleSearch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<BundleRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<BundleResponse>,
}

/// What a bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleType {
    Document,
    Message,
    Transaction,
    TransactionResponse,
    Batch,
    BatchResponse,
    History,
    Searchset,
    Collection,
}

resource! {
    /// A container of resources: transaction, batch, search result or collection.
    pub struct Bundle {
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<BundleType>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub timestamp: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub total: Option<u32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub link: Vec<BundleLink>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub entry: Vec<BundleEntry>,
    }
}

/// Any resource. Serialised with its `resourceType`; a resource type not
/// modelled here is kept as its original JSON (`Other`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Resource {
    Patient(Patient),
    BodyStructure(BodyStructure),
    EpisodeOfCare(EpisodeOfCare),
    Condition(Condition),
    Observation(Observation),
    Procedure(Procedure),
    CarePlan(CarePlan),
    Task(Task),
    ServiceRequest(ServiceRequest),
    QuestionnaireResponse(QuestionnaireResponse),
    AuditEvent(AuditEvent),
    OperationOutcome(OperationOutcome),
    CapabilityStatement(CapabilityStatement),
    Bundle(Box<Bundle>),
    /// Any other resource type, exactly as it was read (it includes its own
    /// `resourceType`).
    Other(RawJson),
}

/// A resource's original JSON text, kept exactly as it was read.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Wrap JSON text (checked to be one JSON value).
    pub fn from_string(json: String) -> Result<RawJson, serde_json::Error> {
        RawValue::from_string(json).map(RawJson)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Resource {
    /// The FHIR resource type name.
    pub fn resource_type(&self) -> &str {
        match self {
            Resource::Patient(_) => "Patient",
            Resource::BodyStructure(_) => "BodyStructure",
            Resource::EpisodeOfCare(_) => "EpisodeOfCare",
            Resource::Condition(_) => "Condition",
            Resource::Observation(_) => "Observation",
            Resource::Procedure(_) => "Procedure",
            Resource::CarePlan(_) => "CarePlan",
            Resource::Task(_) => "Task",
            Resource::ServiceRequest(_) => "ServiceRequest",
            Resource::QuestionnaireResponse(_) => "QuestionnaireResponse",
            Resource::AuditEvent(_) => "AuditEvent",
            Resource::OperationOutcome(_) => "OperationOutcome",
            Resource::CapabilityStatement(_) => "CapabilityStatement",
            Resource::Bundle(_) => "Bundle",
            Resource::Other(raw) => {
                serde_json::from_str::<TypeOnly<'_>>(raw.get()).map(|t| t.resource_type).unwrap_or("")
            }
        }
    }

    /// The resource's logical id, if any.
    pub fn id(&self) -> Option<&str> {
        match self {
            Resource::Patient(r) => r.id.as_deref(),
            Resource::BodyStructure(r) => r.id.as_deref(),
            Resource::EpisodeOfCare(r) => r.id.as_deref(),
            Resource::Condition(r) => r.id.as_deref(),
            Resource::Observation(r) => r.id.as_deref(),
            Resource::Procedure(r) => r.id.as_deref(),
            Resource::CarePlan(r) => r.id.as_deref(),
            Resource::Task(r) => r.id.as_deref(),
            Resource::ServiceRequest(r) => r.id.as_deref(),
            Resource::QuestionnaireResponse(r) => r.id.as_deref(),
            Resource::AuditEvent(r) => r.id.as_deref(),
            Resource::OperationOutcome(r) => r.id.as_deref(),
            Resource::CapabilityStatement(r) => r.id.as_deref(),
            Resource::Bundle(r) => r.id.as_deref(),
            Resource::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: &'a str,
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let kind = serde_json::from_str::<TypeOnly<'_>>(raw.get()).map_err(D::Error::custom)?.resource_type;
        fn typed<T: for<'a> Deserialize<'a>, E: serde::de::Error>(raw: &RawValue) -> Result<T, E> {
            serde_json::from_str(raw.get()).map_err(E::custom)
        }
        Ok(match kind {
            "Patient" => Resource::Patient(typed(&raw)?),
            "BodyStructure" => Resource::BodyStructure(typed(&raw)?),
            "EpisodeOfCare" => Resource::EpisodeOfCare(typed(&raw)?),
            "Condition" => Resource::Condition(typed(&raw)?),
            "Observation" => Resource::Observation(typed(&raw)?),
            "Procedure" => Resource::Procedure(typed(&raw)?),
            "CarePlan" => Resource::CarePlan(typed(&raw)?),
            "Task" => Resource::Task(typed(&raw)?),
            "ServiceRequest" => Resource::ServiceRequest(typed(&raw)?),
            "QuestionnaireResponse" => Resource::QuestionnaireResponse(typed(&raw)?),
            "AuditEvent" => Resource::AuditEvent(typed(&raw)?),
            "OperationOutcome" => Resource::OperationOutcome(typed(&raw)?),
            "CapabilityStatement" => Resource::CapabilityStatement(typed(&raw)?),
            "Bundle" => Resource::Bundle(Box::new(typed(&raw)?)),
            _ => Resource::Other(RawJson(raw)),
        })
    }
}
