//! A resource kept as another system sent it, in one line of words: what it
//! is and its value, for the patient page's list of what came with the
//! patient. Read from the JSON as sent; nothing is mapped or inferred.

use serde_json::Value;

/// What a kept resource says, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceText {
    /// What it is: its code's (or type's) text, else the first coding's
    /// display, else the first coding as `system|code`.
    pub what: Option<String>,
    /// Its value: a quantity with its unit, a coded value's text, a string,
    /// yes/no, or a number; for a Condition its clinical status.
    pub value: Option<String>,
}

fn concept_text(c: &Value) -> Option<String> {
    let c = if c.is_array() { c.get(0)? } else { c };
    let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(t) = c.get("text").and_then(text) {
        return Some(t);
    }
    let codings = c.get("coding")?.as_array()?;
    if let Some(d) = codings.iter().find_map(|x| x.get("display").and_then(text)) {
        return Some(d);
    }
    let first = codings.first()?;
    let code = first.get("code")?.as_str()?;
    Some(format!("{}|{code}", first.get("system").and_then(Value::as_str).unwrap_or("")))
}

/// A number as sent, at most four decimals (for reading, not for calculation).
fn number(v: &Value) -> Option<String> {
    if let Some(i) = v.as_i64() {
        return Some(i.to_string());
    }
    let f = v.as_f64()?;
    let s = format!("{f:.4}");
    Some(s.trim_end_matches('0').trim_end_matches('.').to_owned())
}

fn value_text(r: &Value) -> Option<String> {
    if let Some(q) = r.get("valueQuantity") {
        let n = number(q.get("value")?)?;
        let unit = q.get("unit").or_else(|| q.get("code")).and_then(Value::as_str);
        return Some(match unit {
            Some(u) if !u.is_empty() => format!("{n} {u}"),
            _ => n,
        });
    }
    if let Some(c) = r.get("valueCodeableConcept") {
        return concept_text(c);
    }
    if let Some(s) = r.get("valueString").and_then(Value::as_str) {
        return Some(s.to_owned());
    }
    if let Some(b) = r.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if b { "yes" } else { "no" }.to_owned());
    }
    if let Some(i) = r.get("valueInteger") {
        return number(i);
    }
    // a Condition: its clinical status code (`active`, `resolved`, …)
    let status = r.get("clinicalStatus")?.get("coding")?.as_array()?.first()?.get("code")?.as_str()?;
    Some(status.to_owned())
}

/// What a kept resource's JSON says, as text; empty when it is not JSON or
/// names nothing LimbPath can show.
pub fn describe(json: &str) -> ResourceText {
    let Ok(r) = serde_json::from_str::<Value>(json) else { return ResourceText::default() };
    let what = ["code", "vaccineCode", "medicationCodeableConcept", "type", "category"]
        .iter()
        .find_map(|k| r.get(*k).and_then(concept_text));
    ResourceText { what, value: value_text(&r) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observation_is_its_code_text_and_its_quantity() {
        let t = describe(
            r#"{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"4548-4",
            "display":"Hemoglobin A1c/Hemoglobin.total in Blood"}],"text":"Hemoglobin A1c"},
            "valueQuantity":{"value":7.552115334622128,"unit":"%"}}"#,
        );
        assert_eq!(t.what.as_deref(), Some("Hemoglobin A1c"));
        assert_eq!(t.value.as_deref(), Some("7.5521 %"));
    }

    #[test]
    fn a_condition_is_its_display_and_clinical_status() {
        let t = describe(
            r#"{"resourceType":"Condition","clinicalStatus":{"coding":[{"code":"active"}]},
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"368581000119106",
            "display":"Neuropathy due to type 2 diabetes mellitus (disorder)"}]}}"#,
        );
        assert_eq!(t.what.as_deref(), Some("Neuropathy due to type 2 diabetes mellitus (disorder)"));
        assert_eq!(t.value.as_deref(), Some("active"));
    }

    #[test]
    fn without_words_the_code_without_json_nothing() {
        let t = describe(r#"{"code":{"coding":[{"system":"s","code":"c"}]},"valueBoolean":false}"#);
        assert_eq!((t.what.as_deref(), t.value.as_deref()), (Some("s|c"), Some("no")));
        assert_eq!(describe("not json"), ResourceText::default());
    }
}
