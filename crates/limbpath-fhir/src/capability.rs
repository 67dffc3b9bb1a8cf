//! A minimal CapabilityStatement: the resource types LimbPath serves and the
//! interactions on them, for `GET [base]/metadata`.

use crate::r4::{CapabilityInteraction, CapabilityResource, CapabilityRest, CapabilitySoftware, CapabilityStatement};

/// The resource types a LimbPath record is exported as.
pub const SERVED_TYPES: &[&str] = &[
    "Patient",
    "BodyStructure",
    "EpisodeOfCare",
    "Condition",
    "Observation",
    "Procedure",
    "QuestionnaireResponse",
    "AuditEvent",
];

/// The statement of a LimbPath FHIR endpoint: read and search on
/// [`SERVED_TYPES`], and `transaction`/`batch` bundles for import. `date` is
/// when this statement was published (FHIR `dateTime`); `software_version`
/// the LimbPath version.
pub fn capability_statement(date: &str, software_version: &str) -> CapabilityStatement {
    let interactions = |codes: &[&str]| codes.iter().map(|c| CapabilityInteraction { code: (*c).to_owned() }).collect();
    CapabilityStatement {
        status: "active".to_owned(),
        date: date.to_owned(),
        kind: "instance".to_owned(),
        software: Some(CapabilitySoftware { name: "LimbPath".to_owned(), version: Some(software_version.to_owned()) }),
        fhir_version: "4.0.1".to_owned(),
        format: vec!["json".to_owned()],
        rest: vec![CapabilityRest {
            mode: "server".to_owned(),
            resource: SERVED_TYPES
                .iter()
                .map(|t| CapabilityResource {
                    type_: (*t).to_owned(),
                    interaction: interactions(&["read", "search-type"]),
                })
                .collect(),
            interaction: interactions(&["transaction", "batch"]),
        }],
        ..CapabilityStatement::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_is_r4_json_with_every_served_type() {
        let v = serde_json::to_value(capability_statement("2026-11-21", "0.1.0")).unwrap();
        assert_eq!(v["resourceType"], "CapabilityStatement");
        assert_eq!(v["fhirVersion"], "4.0.1");
        assert_eq!(v["rest"][0]["resource"].as_array().unwrap().len(), SERVED_TYPES.len());
        assert_eq!(v["rest"][0]["interaction"][0]["code"], "transaction");
    }
}
