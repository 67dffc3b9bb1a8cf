//! An assessment's bedside findings (JSON in the `limbpath assess` input
//! schema) ⇄ QuestionnaireResponse items, losslessly.
//!
//! Each JSON member becomes an item whose `linkId` is its JSON Pointer
//! (`/wound/ulcer`, `/wound_locations/0`) and whose `text` is its key.
//! Scalars are answers (`valueBoolean`, `valueInteger` for 32-bit integers,
//! `valueDecimal` for other numbers, `valueString`); objects and arrays are
//! items with children, marked with the [`EXT_JSON_TYPE`] extension, as are
//! `null`, the empty string (FHIR strings cannot be empty) and integers
//! outside FHIR's 32-bit range (kept as text, so no digit is lost).

use crate::codes::EXT_JSON_TYPE;
use crate::issue::{Issue, IssueKind};
use crate::r4::{Extension, QuestionnaireAnswer, QuestionnaireItem};
use serde_json::{Map, Number, Value};

/// The linkId of a root that is not a JSON object.
const ROOT: &str = "$";

fn typed(link: String, text: Option<String>, kind: &str) -> QuestionnaireItem {
    let mut ext = Extension::new(EXT_JSON_TYPE);
    ext.value_code = Some(kind.to_owned());
    QuestionnaireItem { extension: vec![ext], link_id: link, text, ..QuestionnaireItem::default() }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn item(link: String, text: Option<String>, v: &Value) -> QuestionnaireItem {
    let answer = |a: QuestionnaireAnswer| QuestionnaireItem {
        link_id: link.clone(),
        text: text.clone(),
        answer: vec![a],
        ..QuestionnaireItem::default()
    };
    match v {
        Value::Null => typed(link, text, "null"),
        Value::Bool(b) => answer(QuestionnaireAnswer { value_boolean: Some(*b), ..Default::default() }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().filter(|i| i32::try_from(*i).is_ok()) {
                answer(QuestionnaireAnswer { value_integer: Some(i), ..Default::default() })
            } else if n.is_f64() {
                answer(QuestionnaireAnswer { value_decimal: n.as_f64(), ..Default::default() })
            } else {
                let mut it = typed(link.clone(), text.clone(), "integer");
                it.answer = vec![QuestionnaireAnswer { value_string: Some(n.to_string()), ..Default::default() }];
                it
            }
        }
        Value::String(s) if s.is_empty() => typed(link, text, "empty-string"),
        Value::String(s) => answer(QuestionnaireAnswer { value_string: Some(s.clone()), ..Default::default() }),
        Value::Array(a) => {
            let mut it = typed(link.clone(), text, "array");
            it.item = a.iter().enumerate().map(|(i, x)| item(format!("{link}/{i}"), None, x)).collect();
            it
        }
        Value::Object(o) => {
            let mut it = typed(link.clone(), text, "object");
            it.item = o.iter().map(|(k, x)| item(format!("{link}/{}", escape(k)), Some(k.clone()), x)).collect();
            it
        }
    }
}

/// The items of a findings document.
pub(crate) fn to_items(findings: &Value) -> Vec<QuestionnaireItem> {
    match findings {
        Value::Object(o) => o.iter().map(|(k, v)| item(format!("/{}", escape(k)), Some(k.clone()), v)).collect(),
        other => vec![item(ROOT.to_owned(), None, other)],
    }
}

fn json_type(it: &QuestionnaireItem) -> Option<&str> {
    it.extension.iter().find(|e| e.url == EXT_JSON_TYPE).and_then(|e| e.value_code.as_deref())
}

/// The key a child item stands for: the last JSON Pointer segment after its
/// parent's linkId.
fn key_of(parent: &str, child: &str, at: &str) -> Result<String, Issue> {
    let bad = || {
        Issue::error(
            IssueKind::Value,
            format!("{at}.linkId"),
            child,
            "a findings item's linkId is not its parent's linkId plus one JSON Pointer segment",
            format!("{parent}/<key>"),
        )
    };
    let rest = child.strip_prefix(parent).and_then(|r| r.strip_prefix('/')).ok_or_else(bad)?;
    if rest.contains('/') {
        return Err(bad());
    }
    Ok(rest.replace("~1", "/").replace("~0", "~"))
}

fn value_of(it: &QuestionnaireItem, at: &str) -> Result<Value, Issue> {
    let children = |kind: &str| -> Result<Vec<(String, Value)>, Issue> {
        if !it.answer.is_empty() {
            return Err(Issue::error(
                IssueKind::Structure,
                format!("{at}.answer"),
                it.answer.len(),
                format!("a findings item of JSON type {kind} has answers"),
                "child items only",
            ));
        }
        it.item
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let here = format!("{at}.item[{i}]");
                Ok((key_of(&it.link_id, &c.link_id, &here)?, value_of(c, &here)?))
            })
            .collect()
    };
    match json_type(it) {
        Some("null") => Ok(Value::Null),
        Some("empty-string") => Ok(Value::String(String::new())),
        Some("array") => {
            let kids = children("array")?;
            for (i, (k, _)) in kids.iter().enumerate() {
                if *k != i.to_string() {
                    return Err(Issue::error(
                        IssueKind::Value,
                        format!("{at}.item[{i}].linkId"),
                        k,
                        "array findings items are out of order",
                        format!("{}/{i}", it.link_id),
                    ));
                }
            }
            Ok(Value::Array(kids.into_iter().map(|(_, v)| v).collect()))
        }
        Some("object") => Ok(Value::Object(children("object")?.into_iter().collect::<Map<_, _>>())),
        Some("integer") => {
            let text = it.answer.first().and_then(|a| a.value_string.as_deref()).unwrap_or("");
            text.parse::<Number>().ok().filter(|n| !n.is_f64()).map(Value::Number).ok_or_else(|| {
                Issue::error(
                    IssueKind::Value,
                    format!("{at}.answer[0].valueString"),
                    text,
                    "not a whole number",
                    "the digits of an integer",
                )
            })
        }
        Some(other) => Err(Issue::error(
            IssueKind::Value,
            format!("{at}.extension"),
            other,
            "unknown JSON type of a findings item",
            "object, array, null, empty-string or integer",
        )),
        None => {
            let [a] = it.answer.as_slice() else {
                return Err(Issue::error(
                    IssueKind::Structure,
                    format!("{at}.answer"),
                    it.answer.len(),
                    "a findings item without a JSON type must have exactly one answer",
                    "one answer",
                ));
            };
            let v = match (a.value_boolean, a.value_integer, a.value_decimal, &a.value_string) {
                (Some(b), None, None, None) => Value::Bool(b),
                (None, Some(i), None, None) => Value::Number(i.into()),
                (None, None, Some(d), None) => Number::from_f64(d).map(Value::Number).unwrap_or(Value::Null),
                (None, None, None, Some(s)) => Value::String(s.clone()),
                _ => {
                    return Err(Issue::error(
                        IssueKind::Structure,
                        format!("{at}.answer[0]"),
                        "",
                        "a findings answer must have exactly one of valueBoolean, valueInteger, valueDecimal, valueString",
                        "one value",
                    ));
                }
            };
            Ok(v)
        }
    }
}

/// The findings document of a QuestionnaireResponse's items; `at` is the
/// location of the resource (`Bundle.entry[4].resource`).
pub(crate) fn from_items(items: &[QuestionnaireItem], at: &str) -> Result<Value, Issue> {
    if let [only] = items
        && only.link_id == ROOT
    {
        return value_of(only, &format!("{at}.item[0]"));
    }
    let mut out = Map::new();
    for (i, it) in items.iter().enumerate() {
        let here = format!("{at}.item[{i}]");
        let key = key_of("", &it.link_id, &here)?;
        out.insert(key, value_of(it, &here)?);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        // through JSON text, as it travels
        let text = serde_json::to_string(&to_items(v)).unwrap();
        let items: Vec<QuestionnaireItem> = serde_json::from_str(&text).unwrap();
        from_items(&items, "QR").unwrap()
    }

    #[test]
    fn example_findings_survive_and_read_as_fhir_items() {
        let f = json!({
            "side": "left", "diabetes": true, "pressures": {"brachial_left_mmhg": 138, "left": {"toe_pressure_mmhg": 24.5}},
            "wound_locations": ["dorsum", "plantar_toes"], "sirs": {}, "note": "", "x/y~z": null, "big": 12345678901u64
        });
        assert_eq!(round_trip(&f), f);
        let items = to_items(&f);
        let side = items.iter().find(|i| i.link_id == "/side").unwrap();
        assert_eq!(side.answer[0].value_string.as_deref(), Some("left"));
        let toe = &items.iter().find(|i| i.link_id == "/pressures").unwrap().item;
        assert_eq!(toe[1].link_id, "/pressures/left");
        assert_eq!(toe[1].item[0].answer[0].value_decimal, Some(24.5));
        assert_eq!(toe[0].answer[0].value_integer, Some(138));
        assert!(items.iter().any(|i| i.link_id == "/x~1y~0z" && i.text.as_deref() == Some("x/y~z")));
    }

    #[test]
    fn a_non_object_root_survives() {
        for v in [json!(3), json!([1, "a"]), json!(null), json!("")] {
            assert_eq!(round_trip(&v), v);
        }
    }

    #[test]
    fn tampered_items_are_errors_with_their_location() {
        let mut items = to_items(&json!({"a": [1, 2]}));
        items[0].item[1].link_id = "/a/5".into();
        let e = from_items(&items, "Bundle.entry[2].resource").unwrap_err();
        assert_eq!(e.location, "Bundle.entry[2].resource.item[0].item[1].linkId");
        let mut items = to_items(&json!({"a": 1}));
        items[0].answer.clear();
        let e = from_items(&items, "R").unwrap_err();
        assert_eq!(e.location, "R.item[0].answer");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| Value::Number(i.into())),
            any::<u64>().prop_map(|i| Value::Number(i.into())),
            (-1e9f64..1e9).prop_map(|f| Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_survives_the_round_trip(v in arb_json()) {
            prop_assert_eq!(round_trip(&v), v);
        }
    }
}
