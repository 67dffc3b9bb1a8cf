//! The patient's check-in form as the web UI receives it: an
//! `application/x-www-form-urlencoded` body → the answers (first value of
//! each name, trimmed, as the server's `FormData::text` reads them) →
//! `CheckIn::from_form_answers` → `triage` under the default programme
//! settings, for each kind of patient. Oracles: no panic; a check-in either
//! triages or is refused naming a `check_in` field; a decision's level is the
//! highest of its answers'.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limbpath_protocols::triage::{CheckIn, CheckInContext, TriageLevel, TriageRuleSet, TriageSettings, triage};

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(data).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let answer = |name: &str| pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim());
    let Ok(check_in) = CheckIn::from_form_answers(answer) else { return };
    let rules = TriageRuleSet::clinic(&TriageSettings::default()).expect("the default settings are valid");
    for (implant, frame, days) in [(true, false, Some(10)), (false, true, None), (false, false, Some(400))] {
        let context =
            CheckInContext { osseointegrated_implant: implant, external_frame: frame, days_since_surgery: days };
        match triage(&rules, &check_in, &context) {
            Ok(d) => {
                let top = d.answers.iter().map(|a| a.level).max().unwrap_or(TriageLevel::Routine);
                assert_eq!(d.level, top);
                serde_json::to_string(&d).expect("a decision serialises");
            }
            Err(e) => assert!(!e.field.is_empty()),
        }
    }
});
