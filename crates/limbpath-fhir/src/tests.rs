//! Whole-crate tests: round trips, the Synthea samples, errors with their
//! locations, and no panic on any input.

use super::*;
use crate::classify::CLASSIFICATIONS;
use crate::codes::*;
use crate::r4::Resource;
use limbpath_record::{AmbulatoryStatus, AssessmentData, Date, DiabetesStatus, SmokingStatus, Validate};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

const SEED: u64 = 20_261_121;

fn exported_json(record: &PatientRecord, kind: BundleKind) -> String {
    let resources = export_patient(record).expect("export");
    serde_json::to_string(&bundle(kind, resources, "https://clinic.example/fhir")).unwrap()
}

fn reimported(record: &PatientRecord, kind: BundleKind) -> PatientRecord {
    let imported = import_bundle(&exported_json(record, kind), "https://clinic.example/fhir").expect("import");
    assert_eq!(imported.patients.len(), 1);
    imported.patients[0].record.clone().expect("a LimbPath record")
}

// ---------------------------------------------------------------------------
// Round trip
// ---------------------------------------------------------------------------

#[test]
fn demo_records_survive_export_and_import_exactly() {
    let mut assessments = 0;
    for (i, record) in limbpath_demo::cohort(SEED, 60).enumerate() {
        let back = reimported(&record, if i % 2 == 0 { BundleKind::Transaction } else { BundleKind::Collection });
        assert_eq!(back, exportable(&record), "patient {i}");
        assessments += record.assessments.len();
    }
    assert!(assessments > 60, "the sample must exercise assessments");
}

#[test]
fn an_ambulatory_status_not_recorded_is_not_exported_and_reads_back_as_not_recorded() {
    for (i, mut record) in limbpath_demo::cohort(SEED, 4).enumerate() {
        record.patient.as_mut().unwrap().data.ambulatory_status = AmbulatoryStatus::NotRecorded;
        let text = exported_json(&record, BundleKind::Transaction);
        assert!(!text.contains("ambulatory-status\""), "patient {i}: no Observation states it");
        assert!(!text.contains("not_recorded"), "patient {i}: \"not recorded\" is not a fact to send");
        let back = reimported(&record, BundleKind::Transaction);
        assert_eq!(back, exportable(&record), "patient {i}");
    }
}

#[test]
fn the_round_trip_also_holds_through_ndjson() {
    for record in limbpath_demo::cohort(7, 10) {
        let text = ndjson(&export_patient(&record).unwrap());
        let imported = import_ndjson(&text, "limbpath-test").unwrap();
        assert_eq!(imported.patients[0].record.as_ref(), Some(&exportable(&record)));
    }
}

#[test]
fn same_means_ids_versions_timestamps_and_fields() {
    // A change to any of these must break equality, or the round-trip test proves nothing.
    let record = limbpath_demo::patient_record(SEED, 3);
    let back = reimported(&record, BundleKind::Transaction);
    let mut changed = back.clone();
    changed.wounds[0].version += 1;
    assert_ne!(changed, exportable(&record));
    let mut changed = back.clone();
    changed.episodes[0].created_at_ms += 1;
    assert_ne!(changed, exportable(&record));
    let mut changed = back;
    changed.limbs[0].id.push('x');
    assert_ne!(changed, exportable(&record));
}

#[test]
fn every_exported_resource_reads_back_as_the_same_resource() {
    for record in limbpath_demo::cohort(SEED, 20) {
        for r in export_patient(&record).unwrap() {
            let text = serde_json::to_string(&r).unwrap();
            let back: Resource = serde_json::from_str(&text).unwrap();
            assert_eq!(back, r, "{text}");
            assert!(!matches!(back, Resource::Other(_)), "{}", r.resource_type());
        }
    }
}

#[test]
fn ids_are_the_limbpath_ids_and_unique() {
    let record = limbpath_demo::patient_record(SEED, 0);
    let resources = export_patient(&record).unwrap();
    let mut seen = HashSet::new();
    for r in &resources {
        let id = r.id().unwrap();
        assert!(id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'), "{id}");
        assert!(seen.insert((r.resource_type().to_owned(), id.to_owned())), "{id} twice");
    }
    let patient = record.patient.as_ref().unwrap();
    assert!(seen.contains(&("Patient".to_owned(), patient.id.clone())));
    for w in &record.wounds {
        assert!(seen.contains(&("Condition".to_owned(), w.id.clone())));
    }
    for m in &record.wound_measurements {
        assert!(seen.contains(&("Observation".to_owned(), m.id.clone())));
    }
}

// ---------------------------------------------------------------------------
// What the export says
// ---------------------------------------------------------------------------

fn all_codings(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            if let (Some(Value::String(s)), Some(Value::String(c))) = (o.get("system"), o.get("code")) {
                out.push((s.clone(), c.clone()));
            }
            o.values().for_each(|x| all_codings(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| all_codings(x, out)),
        _ => {}
    }
}

#[test]
fn the_calories_code_41979_6_is_never_used_for_an_abi() {
    let mut codings = Vec::new();
    let mut abi_seen = 0;
    for record in limbpath_demo::cohort(SEED, 40) {
        let text = exported_json(&record, BundleKind::Collection);
        assert!(!text.contains("41979-6"), "41979-6 is 'Calories burned in 24 hour', not an ABI");
        all_codings(&serde_json::from_str(&text).unwrap(), &mut codings);
        abi_seen += text.matches("\"code\":\"abi\"").count();
    }
    assert!(abi_seen > 0, "the sample must contain ABI observations");
    // every LOINC code emitted is one of the verified constants
    let verified: HashSet<&str> =
        codes::ALL.iter().filter(|c| c.system == LOINC && c.status == CodeStatus::Verified).map(|c| c.code).collect();
    for (s, c) in &codings {
        if s == LOINC {
            assert!(verified.contains(c.as_str()), "unverified LOINC {c}");
        }
    }
    // and an incoming 41979-6 observation is not taken for an ABI
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": {"resourceType": "Patient", "id": "p1"}},
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "41979-6", "display": "Ankle-brachial index Panel"}]},
            "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}, "valueQuantity": {"value": 0.6, "unit": "1"}}}
    ]});
    let imported = import_bundle(&bundle.to_string(), "test").unwrap();
    assert!(imported.patients[0].measurements.is_empty());
    assert_eq!(imported.patients[0].unmapped.len(), 1);
}

#[test]
fn every_snomed_code_emitted_is_a_verified_constant() {
    let verified: HashSet<&str> =
        codes::ALL.iter().filter(|c| c.system == SNOMED && c.status == CodeStatus::Verified).map(|c| c.code).collect();
    let mut codings = Vec::new();
    for record in limbpath_demo::cohort(SEED, 40) {
        all_codings(&serde_json::from_str(&exported_json(&record, BundleKind::Collection)).unwrap(), &mut codings);
    }
    let snomed: HashSet<&str> = codings.iter().filter(|(s, _)| s == SNOMED).map(|(_, c)| c.as_str()).collect();
    assert!(snomed.contains("24028007") && snomed.contains("7771000"), "laterality is coded");
    for c in snomed {
        assert!(verified.contains(c), "unverified SNOMED CT {c}");
    }
}

fn find<'a>(resources: &'a [Value], ty: &str, id: &str) -> &'a Value {
    resources.iter().find(|r| r["resourceType"] == ty && r["id"] == id).unwrap_or_else(|| panic!("{ty}/{id}"))
}

#[test]
fn wounds_and_their_sizes_carry_location_laterality_and_the_loinc_panel() {
    let record = limbpath_demo::patient_record(SEED, 0);
    let resources: Vec<Value> =
        export_patient(&record).unwrap().iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    let m = &record.wound_measurements[0];
    let obs = find(&resources, "Observation", &m.id);
    assert_eq!(obs["code"]["coding"][0]["code"], "72287-6");
    let comp = |code: &str| {
        obs["component"].as_array().unwrap().iter().find(|c| c["code"]["coding"][0]["code"] == code).cloned()
    };
    assert_eq!(comp("39126-8").unwrap()["valueQuantity"]["value"], json!(m.data.length_cm));
    assert_eq!(comp("39125-0").unwrap()["valueQuantity"]["value"], json!(m.data.width_cm));
    assert_eq!(comp("39125-0").unwrap()["valueQuantity"]["code"], "cm");
    assert_eq!(comp("39127-6").map(|c| c["valueQuantity"]["value"].clone()), m.data.depth_cm.map(|d| json!(d)));
    assert_eq!(comp("89260-4").is_some(), m.data.area_cm2.is_some());
    assert_eq!(obs["focus"][0]["reference"], format!("Condition/{}", m.data.wound_id));
    // the limb of patient 0 is the right leg (demo record, read above in the issue notes)
    let lat = &obs["bodySite"]["extension"][0];
    assert_eq!(lat["url"], EXT_LATERALITY);
    assert_eq!(lat["valueCodeableConcept"]["coding"][0]["code"], "24028007");
}

#[test]
fn derived_observations_point_at_their_inputs() {
    let record = limbpath_demo::patient_record(SEED, 0);
    let resources: Vec<Value> =
        export_patient(&record).unwrap().iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    // a vascular study's left ABI comes from both brachial pressures and the left ankle pressures only
    let study = &record.vascular_studies[0];
    let abi = find(&resources, "Observation", &format!("{}-abi-left", study.id));
    let from: BTreeMap<String, ()> = abi["derivedFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reference"].as_str().unwrap().to_owned(), ()))
        .collect();
    let expect: BTreeMap<String, ()> = ["brachial-left", "brachial-right", "dp-left", "pt-left"]
        .iter()
        .map(|s| (format!("Observation/{}-{s}", study.id), ()))
        .collect();
    assert_eq!(from, expect);
    // 90 / 170 (left ankle DP over right brachial, from the demo study's pressures)
    let p = study.data.pressures.as_ref().unwrap();
    let ankle = p
        .left
        .as_ref()
        .unwrap()
        .dorsalis_pedis_mmhg
        .unwrap()
        .max(p.left.as_ref().unwrap().posterior_tibial_mmhg.unwrap());
    let brachial = p.brachial_left_mmhg.unwrap().max(p.brachial_right_mmhg.unwrap());
    assert_eq!(abi["valueQuantity"]["value"].as_f64().unwrap(), ankle / brachial);
    // a WIfI observation derives from the assessment's findings
    let a = record.assessments.iter().find(|a| a.derived.wifi_stage.is_some()).unwrap();
    let wifi = find(&resources, "Observation", &format!("{}-wifi", a.stored.id));
    assert_eq!(wifi["derivedFrom"][0]["reference"], format!("QuestionnaireResponse/{}", a.stored.id));
    assert_eq!(wifi["valueInteger"], json!(a.derived.wifi_stage.unwrap()));
    assert!(wifi["method"]["coding"][0]["code"].as_str().unwrap().starts_with("wifi."));
    assert!(wifi["note"][0]["text"].as_str().unwrap().starts_with("Rule: "));
}

fn glass_assessment_result() -> Value {
    let data = AssessmentData {
        episode_id: "0192f7ca-4000-7d80-abbb-f9550b841159".into(),
        assessed_on: Date::from_calendar_date(2025, time::Month::January, 2).unwrap(),
        findings: json!({"glass": {"fp_grade": 3, "fp_severe_calcification": false, "ip_grade": 2, "ip_severe_calcification": true}}).into(),
    };
    data.derive().unwrap().result_value()
}

#[test]
fn every_classification_pointer_finds_real_engine_output() {
    let mut results: Vec<Value> = limbpath_demo::cohort(SEED, 300)
        .flat_map(|r| r.assessments.into_iter().map(|a| a.derived.result_value()))
        .collect();
    results.push(glass_assessment_result());
    for c in CLASSIFICATIONS {
        let found: Vec<&Value> = results.iter().filter_map(|r| r.get(c.key)).collect();
        assert!(!found.is_empty(), "no {} in the sample", c.key);
        for r in &found {
            assert!(r.pointer(c.value.pointer).is_some_and(|v| !v.is_null()), "{}{}", c.key, c.value.pointer);
            assert!(r.pointer(c.explanation).and_then(|e| e.get("rule")).is_some(), "{}{}", c.key, c.explanation);
        }
        for p in c.components {
            assert!(found.iter().any(|r| r.pointer(p.pointer).is_some_and(|v| !v.is_null())), "{}{}", c.key, p.pointer);
        }
    }
}

#[test]
fn bundle_kinds_have_their_fhir_shape() {
    let record = limbpath_demo::patient_record(SEED, 1);
    let resources = export_patient(&record).unwrap();
    let n = resources.len();
    let t =
        serde_json::to_value(bundle(BundleKind::Transaction, resources.clone(), "https://x.example/fhir/")).unwrap();
    assert_eq!(t["resourceType"], "Bundle");
    assert_eq!(t["type"], "transaction");
    let pid = &record.patient.as_ref().unwrap().id;
    assert_eq!(t["entry"][0]["request"], json!({"method": "PUT", "url": format!("Patient/{pid}")}));
    assert_eq!(t["entry"][0]["fullUrl"], format!("https://x.example/fhir/Patient/{pid}"));
    let s = serde_json::to_value(bundle(BundleKind::Searchset, resources, "https://x.example/fhir")).unwrap();
    assert_eq!(s["total"], json!(n));
    assert_eq!(s["entry"][0]["search"]["mode"], "match");
    assert!(s["entry"][0].get("request").is_none());
}

#[test]
fn a_record_that_contradicts_itself_is_refused_with_the_field() {
    let mut record = limbpath_demo::patient_record(SEED, 0);
    record.wounds[1].data.episode_id = "0192f7ca-0000-7000-8000-000000000000".into();
    let e = export_patient(&record).unwrap_err();
    assert_eq!(e.0.location, "wounds[1].episode_id");
    let mut record = limbpath_demo::patient_record(SEED, 0);
    record.patient = None;
    assert_eq!(export_patient(&record).unwrap_err().0.location, "patient");
}

// ---------------------------------------------------------------------------
// The Synthea samples
// ---------------------------------------------------------------------------

fn synthea_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/synthea")
}

fn synthea(name: &str) -> String {
    std::fs::read_to_string(synthea_dir().join(name)).unwrap()
}

/// (file, Condition count, Observation count, entries): counted independently
/// with Python's json module when the samples were added.
const SAMPLES: [(&str, usize, usize, usize); 5] = [
    ("Almeda_Conn_67e13ece-8aed-46fa-ab6c-673137d5460e.json", 17, 233, 485),
    ("Dirk_Kuhlman_1e503533-b8c2-42cb-a6d5-bbd7d70d07ad.json", 18, 266, 419),
    ("Emery_Purdy_298c62e6-b204-4a14-8e21-73d5be0ce22e.json", 11, 190, 303),
    ("Morris_Lockman_cd9e9826-aea1-4682-adc0-c1d97633bf31.json", 9, 149, 237),
    ("Renato_Dare_f07e9b1d-9cc7-465e-8abc-94e84793d1fb.json", 10, 118, 218),
];

#[test]
fn the_vendored_samples_equal_the_shared_ones() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fhir-samples");
    if !shared.is_dir() {
        eprintln!("note: {} not found; using the vendored samples only", shared.display());
        return;
    }
    for (name, ..) in SAMPLES {
        assert_eq!(
            std::fs::read(shared.join(name)).unwrap(),
            synthea(name).into_bytes(),
            "{name} differs from shared/"
        );
    }
}

#[test]
fn each_synthea_sample_imports_with_its_diabetes_and_neuropathy() {
    for (name, conditions, observations, entries) in SAMPLES {
        let text = synthea(name);
        let imported = import_bundle(&text, "synthea").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(imported.patients.len(), 1, "{name}");
        assert_eq!(imported.resource_count(), entries, "{name}: every resource accounted for once");
        let p = &imported.patients[0];
        assert!(p.record.is_none(), "not a LimbPath export");
        assert_eq!(p.conditions.len(), conditions, "{name}");
        let neuropathy: Vec<_> = p
            .conditions
            .iter()
            .filter(|c| c.codes.iter().any(|x| x.code.as_deref() == Some("368581000119106")))
            .collect();
        assert_eq!(neuropathy.len(), 1, "{name}");
        assert_eq!(neuropathy[0].known, Some(KnownCondition::DiabeticNeuropathyType2));
        assert!(p.conditions.iter().any(|c| c.known == Some(KnownCondition::DiabetesType2)), "{name}");
        // observations: mapped + unmapped = all of them
        let unmapped_obs = p.unmapped.iter().filter(|r| r.resource_type == "Observation").count();
        assert_eq!(p.measurements.len() + unmapped_obs, observations, "{name}");
        // the mapped ones are exactly the HbA1c, BMI and smoking observations (counted here from the JSON)
        let v: Value = serde_json::from_str(&text).unwrap();
        let expected_mapped = v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Observation")
            .filter(|e| {
                matches!(e["resource"]["code"]["coding"][0]["code"].as_str(), Some("4548-4" | "39156-5" | "72166-2"))
            })
            .count();
        assert_eq!(p.measurements.len(), expected_mapped, "{name}");
        assert_eq!(p.facts.diabetes, Some(DiabetesStatus::Type2), "{name}");
        assert_eq!(p.facts.smoking, Some(SmokingStatus::Never), "{name}");
        assert!(p.facts.hba1c_percent.is_some() && p.facts.bmi.is_some(), "{name}");
        // Synthea never says how the patient walks: a LimbPath patient whose
        // ambulatory status is not recorded (never a guessed status)
        assert_eq!(p.facts.ambulatory_status, None, "{name}");
        let data = p.facts.patient_data().unwrap_or_else(|m| panic!("{name}: {m}"));
        assert_eq!(data.ambulatory_status, AmbulatoryStatus::NotRecorded, "{name}");
        assert_eq!(data.diabetes, DiabetesStatus::Type2, "{name}");
        data.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(imported.shared.len(), 4, "{name}: two organizations, two practitioners");
        assert!(imported.warnings.is_empty(), "{name}: {:?}", imported.warnings);
    }
}

#[test]
fn synthea_facts_take_the_latest_measurement() {
    let text = synthea(SAMPLES[4].0);
    let p = &import_bundle(&text, "synthea").unwrap().patients[0];
    let latest =
        p.measurements.iter().filter(|m| m.kind == MeasurementKind::Hba1c).max_by_key(|m| m.effective).unwrap();
    assert_eq!(MeasuredValue::Number(p.facts.hba1c_percent.unwrap()), latest.value);
    assert_eq!(p.facts.mrn.as_deref(), Some("f07e9b1d-9cc7-465e-8abc-94e84793d1fb"));
    assert_eq!(p.facts.site.as_deref(), Some("http://hospital.smarthealthit.org"));
    assert_eq!(p.facts.family_name.as_deref(), Some("Dare"));
    assert_eq!(p.facts.birth_date, Some(Date::from_calendar_date(1976, time::Month::June, 14).unwrap()));
}

#[test]
fn urn_uuid_references_are_rewritten_to_the_resources_they_name() {
    let text = synthea(SAMPLES[3].0);
    let imported = import_bundle(&text, "synthea").unwrap();
    let p = &imported.patients[0];
    let pid = p.resource.id.as_deref().unwrap();
    for r in p.unmapped.iter().chain(imported.shared.iter()) {
        assert!(
            !r.json.contains("\"reference\": \"urn:") && !r.json.contains("\"reference\":\"urn:"),
            "{}",
            r.location
        );
        let v: Value = serde_json::from_str(&r.json).expect("still JSON");
        if r.resource_type == "Encounter" {
            assert_eq!(v["subject"]["reference"], format!("Patient/{pid}"));
        }
    }
    // everything but the references is as sent
    fn restore_references(got: &mut Value, sent: &Value) {
        match (got, sent) {
            (Value::Object(g), Value::Object(s)) => {
                for (k, v) in g.iter_mut() {
                    match (k.as_str(), s.get(k)) {
                        ("reference", Some(orig)) => *v = orig.clone(),
                        (_, Some(orig)) => restore_references(v, orig),
                        _ => {}
                    }
                }
            }
            (Value::Array(g), Value::Array(s)) => g.iter_mut().zip(s).for_each(|(a, b)| restore_references(a, b)),
            _ => {}
        }
    }
    let original: Value = serde_json::from_str(&text).unwrap();
    let mut rewritten = 0;
    for r in p.unmapped.iter().chain(imported.shared.iter()) {
        let sent = original["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["id"] == r.id.as_deref().unwrap())
            .unwrap();
        let mut got: Value = serde_json::from_str(&r.json).unwrap();
        rewritten += usize::from(got != sent["resource"]);
        restore_references(&mut got, &sent["resource"]);
        assert_eq!(got, sent["resource"], "{}", r.location);
    }
    assert!(rewritten > 100, "{rewritten}");
}

#[test]
fn keys_are_deterministic_unique_and_name_the_source() {
    let text = synthea(SAMPLES[4].0);
    let keys = |src: &str| -> Vec<String> {
        let i = import_bundle(&text, src).unwrap();
        let p = &i.patients[0];
        std::iter::once(&p.resource)
            .chain(p.unmapped.iter())
            .chain(p.conditions.iter().map(|c| &c.source))
            .chain(p.measurements.iter().map(|m| &m.source))
            .chain(i.shared.iter())
            .map(|r| r.key.to_string())
            .collect()
    };
    let a = keys("synthea");
    assert_eq!(a, keys("synthea"));
    assert_eq!(a.iter().collect::<HashSet<_>>().len(), a.len());
    assert!(a[0].starts_with("synthea|Patient/"));
    assert_ne!(a, keys("other-site"));
    // without an id, the first identifier; without either, the content
    let b = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Organization", "identifier": [{"system": "urn:s", "value": "v1"}]}},
        {"resource": {"resourceType": "Organization", "name": "x"}}]});
    let i = import_bundle(&b.to_string(), "s").unwrap();
    assert_eq!(i.shared[0].key.as_str(), "s|Organization?identifier=urn:s|v1");
    assert!(i.shared[1].key.as_str().starts_with("s|Organization#fnv1a64:"));
}

#[test]
fn a_foreign_wound_panel_and_pressures_are_measurements_with_their_side() {
    let b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": {"resourceType": "Patient", "gender": "female",
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "urn:oid:1.2.3", "value": "A-17", "assigner": {"display": "St Elsewhere"}}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222", "resource": {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72287-6"}]},
            "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}, "effectiveDateTime": "2025-03-01T10:00:00+01:00",
            "bodySite": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/observation-structureLaterality",
                "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "7771000"}]}}]},
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "39126-8"}]}, "valueQuantity": {"value": 4, "system": "http://unitsofmeasure.org", "code": "cm"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "39125-0"}]}, "valueQuantity": {"value": 2.5, "system": "http://unitsofmeasure.org", "code": "cm"}}]},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": OBS_TOE_PRESSURE.system, "code": OBS_TOE_PRESSURE.code}]},
            "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
            "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "24028007"}]},
            "valueQuantity": {"value": 35, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
         "request": {"method": "POST", "url": "Observation"}}
    ]});
    let i = import_bundle(&b.to_string(), "st-elsewhere").unwrap();
    let p = &i.patients[0];
    assert_eq!(p.facts.site.as_deref(), Some("St Elsewhere"));
    assert_eq!(p.facts.mrn.as_deref(), Some("A-17"));
    let wound = &p.measurements[0];
    assert_eq!(wound.kind, MeasurementKind::WoundSize);
    assert_eq!(wound.value, MeasuredValue::WoundSize { length_cm: 4.0, width_cm: 2.5, depth_cm: None, area_cm2: None });
    assert_eq!(wound.side, Some(limbpath_record::Side::Left));
    assert_eq!(wound.effective, Some(Date::from_calendar_date(2025, time::Month::March, 1).unwrap()));
    assert_eq!(wound.source.key.as_str(), "st-elsewhere|Observation#urn:uuid:22222222-2222-4222-8222-222222222222");
    let toe = &p.measurements[1];
    assert_eq!(
        (toe.kind, toe.side, &toe.value),
        (MeasurementKind::ToePressure, Some(limbpath_record::Side::Right), &MeasuredValue::Number(35.0))
    );
}

// ---------------------------------------------------------------------------
// Errors: all of them, each where it is
// ---------------------------------------------------------------------------

fn errors(text: &str) -> Vec<Issue> {
    import_bundle(text, "test").expect_err("must be refused").errors
}

fn patient_entry() -> Value {
    json!({"fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000000a", "resource": {"resourceType": "Patient", "id": "pa"}})
}

fn obs(code: Value) -> Value {
    json!({"resource": {"resourceType": "Observation", "status": "final", "code": code,
        "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000000a"}}})
}

#[test]
fn a_missing_element_is_named_with_its_location() {
    let code = json!({"coding": [{"system": "http://loinc.org", "code": "8302-2"}]});
    let mut entries = vec![patient_entry(), obs(code.clone()), obs(code.clone()), obs(code)];
    entries[3]["resource"].as_object_mut().unwrap().remove("code");
    let e = errors(&json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string());
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].location, "Bundle.entry[3].resource.code");
    assert_eq!(e[0].kind, IssueKind::Required);
}

#[test]
fn every_error_is_reported_not_only_the_first() {
    let good = json!({"coding": [{"system": "http://loinc.org", "code": "8302-2"}]});
    let mut bad_type = obs(good.clone());
    bad_type["resource"]["status"] = json!(5);
    let mut dangling = obs(good.clone());
    dangling["resource"]["subject"]["reference"] = json!("urn:uuid:99999999-0000-4000-8000-000000000000");
    let wound = obs(json!({"coding": [{"system": "http://loinc.org", "code": "72287-6"}]}));
    let mut wound_mm = wound.clone();
    wound_mm["resource"]["component"] = json!([{"code": {"coding": [{"system": "http://loinc.org", "code": "39126-8"}]},
        "valueQuantity": {"value": 40, "system": "http://unitsofmeasure.org", "code": "mm"}}]);
    let entries = vec![patient_entry(), bad_type, obs(good), dangling, wound_mm, json!({"fullUrl": "x"})];
    let e = errors(&json!({"resourceType": "Bundle", "type": "collection", "entry": entries}).to_string());
    let at: Vec<&str> = e.iter().map(|i| i.location.as_str()).collect();
    assert!(at.contains(&"Bundle.entry[1].resource.status"), "{at:?}");
    assert!(at.contains(&"Bundle.entry[3].resource.subject.reference"), "{at:?}");
    assert!(at.contains(&"Bundle.entry[4].resource.component[0].valueQuantity"), "{at:?}");
    assert!(at.contains(&"Bundle.entry[5].resource"), "{at:?}");
    let oo = import_bundle(
        &json!({"resourceType": "Bundle", "type": "collection", "entry": [patient_entry(), json!({})]}).to_string(),
        "t",
    )
    .unwrap_err()
    .operation_outcome();
    let v = serde_json::to_value(&oo).unwrap();
    assert_eq!(v["resourceType"], "OperationOutcome");
    assert_eq!(v["issue"][0]["severity"], "error");
    assert_eq!(v["issue"][0]["code"], "required");
    assert_eq!(v["issue"][0]["expression"][0], "Bundle.entry[1].resource");
}

#[test]
fn the_bundle_itself_must_be_one_limbpath_can_import() {
    assert_eq!(errors("{not json")[0].location, "Bundle");
    assert_eq!(errors(r#"{"resourceType":"Patient"}"#)[0].location, "Bundle.resourceType");
    let e = errors(r#"{"resourceType":"Bundle","type":"document","entry":[]}"#);
    assert_eq!((e[0].location.as_str(), e[0].kind), ("Bundle.type", IssueKind::NotSupported));
    let e = errors(
        &json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/1"}}]})
        .to_string(),
    );
    assert_eq!(e[0].location, "Bundle.entry[0].request.method");
    let e = errors(
        &json!({"resourceType": "Bundle", "type": "collection", "entry": [patient_entry(), patient_entry()]})
            .to_string(),
    );
    assert!(e.iter().any(|i| i.kind == IssueKind::Duplicate && i.location == "Bundle.entry[1].fullUrl"), "{e:?}");
    assert_eq!(
        import_bundle(r#"{"resourceType":"Bundle","type":"collection"}"#, "").unwrap_err().errors[0].location,
        "source"
    );
}

#[test]
fn a_tampered_limbpath_export_is_refused_where_it_was_changed() {
    let record = limbpath_demo::patient_record(SEED, 0);
    let mut b: Value = serde_json::from_str(&exported_json(&record, BundleKind::Transaction)).unwrap();
    let entries = b["entry"].as_array_mut().unwrap();
    let k = entries.iter().position(|e| e["resource"]["code"]["coding"][0]["code"] == "72287-6").unwrap();
    // a wound 900 cm long is beyond LimbPath's plausible range
    entries[k]["resource"]["component"][0]["valueQuantity"]["value"] = json!(900.0);
    let e = errors(&b.to_string());
    assert_eq!(e[0].location, format!("Bundle.entry[{k}].resource.component[0].valueQuantity"));
    assert_eq!(e[0].kind, IssueKind::BusinessRule);
}

#[test]
fn ndjson_errors_name_the_line() {
    let text = "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\nnot json\n{\"id\":\"x\"}\n";
    let e = import_ndjson(text, "t").unwrap_err().errors;
    assert_eq!(e[0].location, "ndjson[line 3]");
    assert_eq!(e[1].location, "ndjson[line 4].resourceType");
}

// ---------------------------------------------------------------------------
// No panic, whatever comes in
// ---------------------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("Patient".to_owned()),
            Just("Observation".to_owned()),
            Just("urn:uuid:00000000-0000-4000-8000-00000000000a".to_owned()),
            Just("Patient/pa".to_owned()),
            ".{0,10}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("resourceType".to_owned()),
                    Just("entry".to_owned()),
                    Just("resource".to_owned()),
                    Just("subject".to_owned()),
                    Just("reference".to_owned()),
                    Just("code".to_owned()),
                    Just("type".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON Pointer of a document.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            o.iter().for_each(|(k, x)| pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_panics_the_importer(v in arb_json(), text in ".{0,64}") {
        let _ = import_bundle(&v.to_string(), "p");
        let _ = import_ndjson(&v.to_string(), "p");
        let _ = import_bundle(&text, "p");
        let _ = import_ndjson(&text, "p");
        let wrapped = json!({"resourceType": "Bundle", "type": "transaction", "entry": [patient_entry(), {"resource": v}]});
        let _ = import_bundle(&wrapped.to_string(), "p");
    }

    #[test]
    fn a_limbpath_export_with_any_element_replaced_never_panics(pick in any::<prop::sample::Index>(), v in arb_json()) {
        let record = limbpath_demo::patient_record(SEED, 0);
        let mut doc: Value = serde_json::from_str(&exported_json(&record, BundleKind::Transaction)).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let at = pick.get(&all).clone();
        if let Some(slot) = doc.pointer_mut(&at) {
            *slot = v;
        }
        match import_bundle(&doc.to_string(), "p") {
            Ok(i) => prop_assert!(i.resource_count() > 0 || i.patients.is_empty()),
            Err(e) => prop_assert!(!e.errors.is_empty()),
        }
    }
}
