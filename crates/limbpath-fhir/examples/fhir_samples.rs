//! Writes FHIR samples for the external validators (tools/fhir-validate/run.sh):
//! `DIR/valid/` holds what LimbPath exports (transaction, collection and
//! searchset bundles of demo patients, NDJSON, AuditEvents, an
//! OperationOutcome, a CapabilityStatement, CarePlan/Task/ServiceRequest);
//! `DIR/invalid/` holds the same kind of output with one deliberate defect
//! each, which every validator must reject.
//!
//! Usage: cargo run -p limbpath-fhir --example fhir_samples -- DIR

use limbpath_fhir::r4::{CarePlan, Reference, Resource, ServiceRequest, Task};
use limbpath_fhir::{
    AuditRecord, AuditServer, BundleKind, audit_event, bundle, capability_statement, export_patient, import_bundle,
    ndjson,
};
use limbpath_record::{AssessmentData, PatientRecord, Role, Stored, StoredAssessment};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const SEED: u64 = 20_261_121;
const BASE: &str = "https://clinic.example/fhir";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("serialisable")
}

/// Demo patient 0 with one more assessment that has GLASS findings (the
/// demo cohort records GLASS on imaging studies, not in assessments).
fn with_glass(mut record: PatientRecord) -> PatientRecord {
    let first = record.assessments[0].stored.clone();
    let data = AssessmentData {
        findings: json!({"side": "right", "glass": {"fp_grade": 3, "fp_severe_calcification": false,
            "ip_grade": 2, "ip_severe_calcification": true, "im_descriptors": {"target_crosses_ankle": false}}})
        .into(),
        ..first.data.clone()
    };
    let derived = data.derive().expect("valid GLASS findings");
    let mut id = first.id.clone();
    id.replace_range(34..36, "ff");
    record.assessments.push(StoredAssessment { stored: Stored { id, data, ..first }, derived });
    record
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: fhir_samples DIR"));
    let valid = dir.join("valid");
    let invalid = dir.join("invalid");
    for d in [&valid, &invalid] {
        std::fs::create_dir_all(d).expect("create the sample directories");
    }

    let cohort: Vec<PatientRecord> = limbpath_demo::cohort(SEED, 40).collect();
    for (i, r) in cohort.iter().take(30).enumerate() {
        let kind = if i % 3 == 2 { BundleKind::Collection } else { BundleKind::Transaction };
        let b = bundle(kind, export_patient(r).expect("export"), BASE);
        write(
            &valid,
            &format!(
                "patient-{i:02}-{}.json",
                if kind == BundleKind::Collection { "collection" } else { "transaction" }
            ),
            &json_text(&b),
        );
    }
    let glass = with_glass(cohort[0].clone());
    write(
        &valid,
        "patient-00-with-glass-transaction.json",
        &json_text(&bundle(BundleKind::Transaction, export_patient(&glass).expect("export"), BASE)),
    );
    let lines: String = cohort[30..].iter().map(|r| ndjson(&export_patient(r).expect("export"))).collect();
    write(&valid, "patients-30-39.ndjson", &lines);
    let searchset: Vec<Resource> = cohort[..5]
        .iter()
        .map(|r| export_patient(r).expect("export").into_iter().next().expect("the patient"))
        .collect();
    write(&valid, "patients-searchset.json", &json_text(&bundle(BundleKind::Searchset, searchset, BASE)));

    // Audit events: each action kind and outcome.
    let server = AuditServer { name: "limbpath@clinic.example", base_url: BASE };
    let patient = cohort[0].patient.as_ref().expect("patient").id.clone();
    let wound = cohort[0].wounds[0].id.clone();
    let mut audit = String::new();
    for (n, (action, outcome, detail)) in [
        ("read", "ok", ""),
        ("read_record", "ok", ""),
        ("create", "ok", ""),
        ("update", "conflict", "version 2 expected, 3 found"),
        ("search", "ok", "aetiology=clti&wifi_stage=4"),
        ("list", "denied", ""),
        ("login", "ok", ""),
        ("logout", "ok", ""),
        ("read", "error", "database unavailable"),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = AuditRecord {
            id: n as i64 + 1,
            at_ms: 1_730_709_300_000 + n as i64 * 60_000,
            user_id: Some("0192f650-0000-7000-8000-000000000001"),
            username: Some("dr.lindqvist"),
            role: Some(Role::Clinician),
            action,
            entity: (!matches!(action, "login" | "logout")).then_some("wound"),
            entity_id: (!matches!(action, "login" | "logout")).then_some(wound.as_str()),
            patient_id: (!matches!(action, "login" | "logout")).then_some(patient.as_str()),
            remote_addr: Some("192.0.2.7"),
            outcome,
            detail,
        };
        audit.push_str(&serde_json::to_string(&audit_event(&entry, &server).expect("audit")).expect("json"));
        audit.push('\n');
    }
    write(&valid, "audit-events.ndjson", &audit);

    let refused =
        import_bundle(r#"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"x"}]}"#, "samples")
            .expect_err("an entry without a resource is refused");
    write(&valid, "operation-outcome.json", &json_text(&refused.operation_outcome()));
    write(
        &valid,
        "capability-statement.json",
        &json_text(&capability_statement("2026-11-21", env!("CARGO_PKG_VERSION"))),
    );
    let subject = Reference::to("Patient", &patient);
    let plan = CarePlan {
        id: Some("plan-1".into()),
        status: "active".into(),
        intent: "plan".into(),
        title: Some("Limb salvage pathway".into()),
        subject: subject.clone(),
        ..CarePlan::default()
    };
    let task = Task {
        id: Some("task-1".into()),
        status: "requested".into(),
        intent: "order".into(),
        description: Some("Repeat toe pressures in 2 weeks".into()),
        for_: Some(subject.clone()),
        ..Task::default()
    };
    let order = ServiceRequest {
        id: Some("order-1".into()),
        status: "active".into(),
        intent: "order".into(),
        subject,
        ..ServiceRequest::default()
    };
    let workflow = [Resource::CarePlan(plan), Resource::Task(task), Resource::ServiceRequest(order)];
    write(&valid, "workflow.ndjson", &ndjson(&workflow));

    // Invalid: real output with one defect each.
    let resources: Vec<Value> =
        export_patient(&cohort[0]).expect("export").iter().map(|r| serde_json::to_value(r).expect("json")).collect();
    let observation = resources.iter().find(|r| r["resourceType"] == "Observation").expect("an observation").clone();
    // (a missing `status` is not a schema error: a primitive may be sent as `_status` alone)
    let mut no_code = observation.clone();
    no_code.as_object_mut().expect("object").remove("code");
    write(&invalid, "observation-missing-code.json", &json_text(&no_code));
    let mut not_a_number = resources
        .iter()
        .find(|r| r["resourceType"] == "Observation" && r.get("valueQuantity").is_some())
        .expect("a quantity")
        .clone();
    not_a_number["valueQuantity"]["value"] = json!("7.5 %");
    write(&invalid, "observation-value-not-a-number.json", &json_text(&not_a_number));
    let mut unknown = resources[0].clone();
    unknown["colour"] = json!("blue");
    write(&invalid, "patient-unknown-element.json", &json_text(&unknown));
    let mut kind = resources[0].clone();
    kind["resourceType"] = json!("Patiently");
    write(&invalid, "unknown-resource-type.json", &json_text(&kind));
    let mut b =
        serde_json::to_value(bundle(BundleKind::Transaction, export_patient(&cohort[1]).expect("export"), BASE))
            .expect("json");
    b["entry"][2]["resource"] = json!("Observation/not-inline");
    write(&invalid, "bundle-entry-resource-not-an-object.json", &json_text(&b));
    let conditions: Vec<&Value> = resources.iter().filter(|r| r["resourceType"] == "Condition").collect();
    let mut lines: Vec<String> = conditions.iter().map(|c| c.to_string()).collect();
    let mut no_subject = conditions[0].clone();
    no_subject.as_object_mut().expect("object").remove("subject");
    lines.push(no_subject.to_string());
    write(&invalid, "conditions-one-without-subject.ndjson", &(lines.join("\n") + "\n"));

    println!("wrote {} and {}", valid.display(), invalid.display());
}
