//! Each classification the engine derived, as an Observation: the headline
//! result as the value, its parts as components, the rule that fired and any
//! flag as notes, the cited source as `method`, and `derivedFrom` its inputs.
//!
//! The engine's result is stored as JSON (`limbpath_record::Derived::result`);
//! the table below names, per classification, where in that JSON the headline
//! and the parts are (JSON Pointers). The table is data: a test checks every
//! pointer against real engine output for every classification.

use crate::codes::{self, CS_CLASSIFICATION, CS_ENGINE_SOURCE, EXT_ENGINE_VERSION, UCUM};
use crate::r4::{Annotation, CodeableConcept, Coding, Extension, Observation, ObservationComponent, Quantity};
use serde_json::Value;

/// A part of a classification: a LimbPath component code, its words, where
/// its value is, and its UCUM unit when it is a measured number.
pub(crate) struct Part {
    pub code: &'static str,
    pub display: &'static str,
    pub pointer: &'static str,
    pub unit: Option<&'static str>,
}

/// One classification of the engine's `Assessment`.
pub(crate) struct Classification {
    /// The member of the engine's result (`wifi`, `glass`, …).
    pub key: &'static str,
    pub display: &'static str,
    pub value: Part,
    /// Where the explanation of the headline result is.
    pub explanation: &'static str,
    pub components: &'static [Part],
}

const fn part(code: &'static str, display: &'static str, pointer: &'static str) -> Part {
    Part { code, display, pointer, unit: None }
}

const fn measured(code: &'static str, display: &'static str, pointer: &'static str, unit: &'static str) -> Part {
    Part { code, display, pointer, unit: Some(unit) }
}

/// Every classification of `limbpath_clinical::assess::Assessment` except
/// `perfusion`, which is per leg (see [`perfusion_legs`]).
pub(crate) const CLASSIFICATIONS: &[Classification] = &[
    Classification {
        key: "wifi",
        display: "SVS WIfI clinical stage",
        value: part("wifi", "WIfI clinical stage", "/stage/stage"),
        explanation: "/stage/explanation",
        components: &[
            part("wifi.wound", "WIfI wound grade", "/wound/grade"),
            part("wifi.ischaemia", "WIfI ischaemia grade", "/ischaemia/grade"),
            part("wifi.foot-infection", "WIfI foot infection grade", "/infection/grade"),
            part("wifi.code", "WIfI code", "/code"),
            part("wifi.amputation-risk", "Estimated 1-year amputation risk", "/stage/amputation_risk"),
            part(
                "wifi.revascularisation-benefit",
                "Benefit of revascularisation",
                "/revascularisation_benefit/benefit",
            ),
            part("wifi.disputed", "Stage from a disputed cell", "/stage/disputed"),
        ],
    },
    Classification {
        key: "infection",
        display: "IWGDF/IDSA infection grade",
        value: part("infection", "IWGDF/IDSA infection grade", "/iwgdf/grade"),
        explanation: "/iwgdf/explanation",
        components: &[
            part("infection.wifi-grade", "WIfI foot infection grade", "/grade"),
            part("infection.severity", "IWGDF/IDSA severity", "/iwgdf/name"),
            part("infection.osteomyelitis", "Osteomyelitis", "/iwgdf/osteomyelitis"),
        ],
    },
    Classification {
        key: "angiosome",
        display: "Angiosome source arteries of the wound",
        value: part("angiosome", "Source arteries", "/source_arteries"),
        explanation: "/explanation",
        components: &[],
    },
    Classification {
        key: "glass",
        display: "GLASS stage",
        value: part("glass", "GLASS stage", "/stage/stage"),
        explanation: "/stage/explanation",
        components: &[
            part("glass.fp", "GLASS femoropopliteal grade", "/fp/grade"),
            part("glass.ip", "GLASS infrapopliteal grade", "/ip/grade"),
            part("glass.display", "GLASS stage as written", "/stage/display"),
        ],
    },
    Classification {
        key: "rutherford",
        display: "Rutherford category",
        value: part("rutherford", "Rutherford category", "/rutherford/category"),
        explanation: "/rutherford/explanation",
        components: &[
            part("rutherford.grade", "Rutherford grade", "/rutherford/grade"),
            part("rutherford.fontaine", "Fontaine stage", "/fontaine/stage"),
        ],
    },
    Classification {
        key: "ceap",
        display: "CEAP classification",
        value: part("ceap", "CEAP", "/normalised"),
        explanation: "/explanation",
        components: &[
            part("ceap.highest-class", "Highest clinical class", "/highest_class"),
            part("ceap.symptomatic", "Symptomatic", "/symptomatic"),
        ],
    },
    Classification {
        key: "vcss",
        display: "Revised Venous Clinical Severity Score",
        value: part("vcss", "rVCSS total", "/total"),
        explanation: "/explanation",
        components: &[],
    },
    Classification {
        key: "mess",
        display: "Mangled Extremity Severity Score",
        value: part("mess", "MESS total", "/total"),
        explanation: "/explanation",
        components: &[part("mess.threshold", "Johansen threshold", "/johansen_threshold")],
    },
    Classification {
        key: "wagner",
        display: "Wagner grade",
        value: part("wagner", "Wagner grade", "/grade"),
        explanation: "/explanation",
        components: &[],
    },
    Classification {
        key: "texas",
        display: "University of Texas wound classification",
        value: part("texas", "Texas class", "/class"),
        explanation: "/explanation",
        components: &[part("texas.grade", "Texas grade", "/grade"), part("texas.stage", "Texas stage", "/stage")],
    },
    Classification {
        key: "sinbad",
        display: "SINBAD score",
        value: part("sinbad", "SINBAD total", "/total"),
        explanation: "/explanation",
        components: &[],
    },
    Classification {
        key: "msts",
        display: "MSTS functional score",
        value: part("msts", "MSTS total", "/total"),
        explanation: "/explanation",
        components: &[
            measured("msts.percentage", "MSTS percentage", "/percentage", codes::UNIT_PERCENT),
            part("msts.max", "MSTS maximum", "/max_total"),
        ],
    },
    Classification {
        key: "paley",
        display: "Paley multiplier: limb-length discrepancy at maturity",
        value: measured("paley", "LLD at maturity", "/lld_at_maturity/value_cm", codes::UNIT_CM),
        explanation: "/lld_at_maturity/explanation",
        components: &[
            part("paley.multiplier", "Paley multiplier", "/multiplier/value"),
            measured("paley.growth-remaining", "Growth remaining", "/growth_remaining/value_cm", codes::UNIT_CM),
            measured("paley.length-at-maturity", "Length at maturity", "/length_at_maturity/value_cm", codes::UNIT_CM),
        ],
    },
    Classification {
        key: "oi_candidacy",
        display: "Osseointegration candidacy",
        value: part("oi_candidacy", "Decision", "/decision"),
        explanation: "/explanation",
        components: &[],
    },
];

/// A JSON value as an observation value: integer, quantity, text or yes/no.
/// Arrays of text are joined with ", ". `None` for absent/null/empty values.
pub(crate) enum Val {
    Integer(i64),
    Quantity(Quantity),
    Text(String),
    Bool(bool),
}

pub(crate) fn val(v: Option<&Value>, unit: Option<&str>) -> Option<Val> {
    match v? {
        Value::Number(n) => match n.as_i64().filter(|i| i32::try_from(*i).is_ok() && unit.is_none()) {
            Some(i) => Some(Val::Integer(i)),
            None => Some(Val::Quantity(Quantity {
                value: n.as_f64(),
                unit: unit.map(str::to_owned),
                system: unit.map(|_| UCUM.to_owned()),
                code: unit.map(str::to_owned),
                comparator: None,
            })),
        },
        Value::String(s) if !s.is_empty() => Some(Val::Text(s.clone())),
        Value::Bool(b) => Some(Val::Bool(*b)),
        Value::Array(a) => {
            let words: Vec<&str> = a.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).collect();
            (!words.is_empty() && words.len() == a.len()).then(|| Val::Text(words.join(", ")))
        }
        _ => None,
    }
}

pub(crate) fn classification_code(code: &str, display: &str) -> CodeableConcept {
    CodeableConcept {
        coding: vec![Coding {
            system: Some(CS_CLASSIFICATION.to_owned()),
            code: Some(code.to_owned()),
            display: Some(display.to_owned()),
            version: None,
        }],
        text: Some(display.to_owned()),
        ..Default::default()
    }
}

pub(crate) fn component(code: CodeableConcept, v: Val) -> ObservationComponent {
    let mut c = ObservationComponent { code, ..Default::default() };
    match v {
        Val::Integer(i) => c.value_integer = Some(i),
        Val::Quantity(q) => c.value_quantity = Some(q),
        Val::Text(t) => c.value_string = Some(t),
        Val::Bool(b) => c.value_boolean = Some(b),
    }
    c
}

pub(crate) fn set_value(o: &mut Observation, v: Val) {
    match v {
        Val::Integer(i) => o.value_integer = Some(i),
        Val::Quantity(q) => o.value_quantity = Some(q),
        Val::Text(t) => o.value_string = Some(t),
        Val::Bool(b) => o.value_boolean = Some(b),
    }
}

/// The explanation at `pointer` as the observation's method (the cited
/// source), notes (the rule, every flag) and the engine version.
pub(crate) fn explain(o: &mut Observation, explanation: Option<&Value>, engine_version: &str) {
    let mut ext = Extension::new(EXT_ENGINE_VERSION);
    ext.value_string = Some(engine_version.to_owned());
    o.extension.push(ext);
    let Some(e) = explanation else { return };
    if let Some(id) = e.get("source").and_then(Value::as_str) {
        let citation = limbpath_clinical::source(id).map(|s| format!("{} [{}; {}]", s.citation, s.reference, s.status));
        o.method = Some(CodeableConcept {
            coding: vec![Coding {
                system: Some(CS_ENGINE_SOURCE.to_owned()),
                code: Some(id.to_owned()),
                display: citation.clone(),
                version: None,
            }],
            text: citation,
            ..Default::default()
        });
    }
    if let Some(rule) = e.get("rule").and_then(Value::as_str).filter(|r| !r.is_empty()) {
        o.note.push(Annotation { text: format!("Rule: {rule}") });
    }
    for f in e.get("flags").and_then(Value::as_array).into_iter().flatten() {
        let kind = f.get("kind").and_then(Value::as_str).unwrap_or("FLAG");
        let message = f.get("message").and_then(Value::as_str).unwrap_or("");
        o.note.push(Annotation { text: format!("{kind}: {message}") });
    }
}

/// One leg of a perfusion result (`/legs/N`): its side and its ABI and TBI
/// parts, each with value, category and explanation.
pub(crate) struct LegIndex<'a> {
    pub side: &'a str,
    /// `abi` or `tbi`.
    pub index: &'static str,
    pub value: Option<&'a Value>,
    pub category: Option<&'a Value>,
    pub ankle_pressure: Option<&'a Value>,
    pub brachial_pressure: Option<&'a Value>,
    pub explanation: Option<&'a Value>,
}

/// The per-leg indices of an engine perfusion result (serialised
/// `limbpath_clinical::perfusion::PerfusionResult`).
pub(crate) fn perfusion_legs(perfusion: &Value) -> Vec<LegIndex<'_>> {
    let mut out = Vec::new();
    for leg in perfusion.get("legs").and_then(Value::as_array).into_iter().flatten() {
        let Some(side) = leg.get("side").and_then(Value::as_str) else { continue };
        if let Some(abi) = leg.get("abi").filter(|v| !v.is_null()) {
            out.push(LegIndex {
                side,
                index: "abi",
                value: abi.get("abi"),
                category: abi.get("category"),
                ankle_pressure: abi.get("ankle_pressure_mmhg"),
                brachial_pressure: abi.get("brachial_pressure_mmhg"),
                explanation: abi.get("explanation"),
            });
        }
        if let Some(tbi) = leg.get("tbi").filter(|v| !v.is_null()) {
            out.push(LegIndex {
                side,
                index: "tbi",
                value: tbi.get("tbi"),
                category: tbi.get("category"),
                ankle_pressure: None,
                brachial_pressure: None,
                explanation: tbi.get("explanation"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn component_codes_are_unique_and_prefixed_by_their_classification() {
        let mut seen = HashSet::new();
        for c in CLASSIFICATIONS {
            assert_eq!(c.value.code, c.key);
            assert!(seen.insert(c.value.code));
            for p in c.components {
                assert!(p.code.starts_with(&format!("{}.", c.value.code)), "{}", p.code);
                assert!(seen.insert(p.code), "{} twice", p.code);
            }
        }
    }

    #[test]
    fn values_take_the_json_type() {
        assert!(matches!(val(Some(&serde_json::json!(3)), None), Some(Val::Integer(3))));
        assert!(
            matches!(val(Some(&serde_json::json!(3)), Some("cm")), Some(Val::Quantity(q)) if q.code.as_deref() == Some("cm"))
        );
        assert!(matches!(val(Some(&serde_json::json!(0.5)), None), Some(Val::Quantity(q)) if q.unit.is_none()));
        assert!(matches!(val(Some(&serde_json::json!(["a", "b"])), None), Some(Val::Text(t)) if t == "a, b"));
        assert!(val(Some(&serde_json::json!("")), None).is_none());
        assert!(val(Some(&serde_json::json!(null)), None).is_none());
        assert!(val(None, None).is_none());
    }
}
