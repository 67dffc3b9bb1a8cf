//! MSTS functional score after limb-sparing tumour surgery (Enneking WF et al.,
//! Clin Orthop Relat Res 1993;286:241-6): six domains scored 0-5, total /30 and
//! the percentage total/30 × 100.
//!
//! Rules chosen (REFERENCES.md §10, §14 item 5):
//! - The lower-limb form takes pain, function, emotional acceptance, supports,
//!   walking and gait; the upper-limb form pain, function, emotional acceptance,
//!   hand positioning, manual dexterity and lifting ability. A domain of the
//!   other limb's form is rejected (`Inconsistent`), a missing domain of the
//!   chosen form is `Missing`.
//! - The per-level descriptor wording is UNVERIFIED, so no descriptor text is
//!   shipped: only the numeric scores, with a `Review` flag saying so.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use crate::limits;
use serde::{Deserialize, Serialize};

pub static MSTS_SOURCE: Source = Source {
    id: "tumour.msts",
    citation: "Enneking WF et al., Clin Orthop Relat Res 1993;286:241-6 (MSTS)",
    reference: "REFERENCES.md §10",
    status: EvidenceStatus::Verified,
    status_note: "domains/scale VERIFIED; level descriptors UNVERIFIED (not shipped)",
};

// source: Enneking WF et al., Clin Orthop Relat Res 1993;286:241-6 (MSTS) | status: domains/scale VERIFIED; level descriptors UNVERIFIED
pub const LOWER_LIMB_DOMAINS: [&str; 6] = ["pain", "function", "emotional_acceptance", "supports", "walking", "gait"];
// source: Enneking WF et al., Clin Orthop Relat Res 1993;286:241-6 (MSTS) | status: domains/scale VERIFIED; level descriptors UNVERIFIED
pub const UPPER_LIMB_DOMAINS: [&str; 6] =
    ["pain", "function", "emotional_acceptance", "hand_positioning", "manual_dexterity", "lifting_ability"];
// source: Enneking WF et al., Clin Orthop Relat Res 1993;286:241-6 (MSTS) | status: domains/scale VERIFIED
pub const DOMAIN_MIN: u8 = 0;
pub const DOMAIN_MAX: u8 = 5;
pub const MAX_TOTAL: u8 = 30;

const UNVERIFIED_DESCRIPTORS: &str = "The per-level descriptor wording of the MSTS form is \
     UNVERIFIED (REFERENCES.md §10, §14 item 5), so none is shown: only the numeric scores 0-5. \
     Assign each level from the original Enneking 1993 form or a licensed copy.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limb {
    Lower,
    Upper,
}

impl Limb {
    pub fn as_str(self) -> &'static str {
        match self {
            Limb::Lower => "lower",
            Limb::Upper => "upper",
        }
    }

    /// The six domains of this limb's form.
    pub fn domains(self) -> &'static [&'static str; 6] {
        match self {
            Limb::Lower => &LOWER_LIMB_DOMAINS,
            Limb::Upper => &UPPER_LIMB_DOMAINS,
        }
    }
}

/// MSTS input: the limb, and the six domain scores of that limb's form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MstsInput {
    pub limb: Limb,
    #[serde(default)]
    pub pain: Option<u8>,
    #[serde(default)]
    pub function: Option<u8>,
    #[serde(default)]
    pub emotional_acceptance: Option<u8>,
    /// Lower limb only.
    #[serde(default)]
    pub supports: Option<u8>,
    /// Lower limb only.
    #[serde(default)]
    pub walking: Option<u8>,
    /// Lower limb only.
    #[serde(default)]
    pub gait: Option<u8>,
    /// Upper limb only.
    #[serde(default)]
    pub hand_positioning: Option<u8>,
    /// Upper limb only.
    #[serde(default)]
    pub manual_dexterity: Option<u8>,
    /// Upper limb only.
    #[serde(default)]
    pub lifting_ability: Option<u8>,
}

impl MstsInput {
    /// Every domain field with its value, in form order (shared, lower, upper).
    fn fields(&self) -> [(&'static str, Option<u8>); 9] {
        [
            ("pain", self.pain),
            ("function", self.function),
            ("emotional_acceptance", self.emotional_acceptance),
            ("supports", self.supports),
            ("walking", self.walking),
            ("gait", self.gait),
            ("hand_positioning", self.hand_positioning),
            ("manual_dexterity", self.manual_dexterity),
            ("lifting_ability", self.lifting_ability),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DomainScore {
    pub domain: &'static str,
    pub score: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MstsOutput {
    pub limb: Limb,
    /// The six domains of the form, in form order.
    pub domains: Vec<DomainScore>,
    /// 0 to 30.
    pub total: u8,
    pub max_total: u8,
    /// total / 30 × 100.
    pub percentage: f64,
    pub explanation: Explanation,
}

impl Explain for MstsOutput {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![Section {
            label: "MSTS functional score",
            result: format!(
                "{}/{} ({:.1} %), {} limb",
                self.total,
                self.max_total,
                self.percentage,
                self.limb.as_str()
            ),
            explanation: &self.explanation,
        }]
    }
}

/// MSTS total and percentage.
pub fn classify(input: &MstsInput) -> Result<MstsOutput> {
    let form = input.limb.domains();
    let fields = input.fields();
    // A domain of the other limb's form.
    for (name, value) in fields {
        if let (Some(v), false) = (value, form.contains(&name)) {
            return Err(InvalidInput::inconsistent(
                name,
                v,
                format!("{name} is not on the {} limb form, which takes {}", input.limb.as_str(), form.join(", ")),
            ));
        }
    }
    let mut domains = Vec::with_capacity(form.len());
    for name in form {
        let value = fields.iter().find(|(n, _)| n == name).and_then(|(_, v)| *v);
        let accepted = format!(
            "a whole number from {DOMAIN_MIN} to {DOMAIN_MAX} (required on the {} limb form)",
            input.limb.as_str()
        );
        let score = limits::require(name, value, &accepted)?;
        let score = limits::check_grade(name, score, DOMAIN_MIN, DOMAIN_MAX)?;
        domains.push(DomainScore { domain: name, score });
    }
    let total: u8 = domains.iter().map(|d| d.score).sum();
    let percentage = f64::from(total) / f64::from(MAX_TOTAL) * 100.0;

    let parts: Vec<String> = domains.iter().map(|d| format!("{} {}", d.domain, d.score)).collect();
    let mut explanation = Explanation::new(
        &MSTS_SOURCE,
        format!(
            "{} limb form: {} = {total}/{MAX_TOTAL}; {total}/{MAX_TOTAL} × 100 = {percentage:.1} %",
            input.limb.as_str(),
            parts.join(" + ")
        ),
    )
    .input("limb", input.limb.as_str());
    for d in &domains {
        explanation.push_input(d.domain, d.score);
    }
    explanation.push_flag(FlagKind::Unverified, UNVERIFIED_DESCRIPTORS);
    Ok(MstsOutput { limb: input.limb, domains, total, max_total: MAX_TOTAL, percentage, explanation })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use proptest::prelude::*;

    fn lower(s: [u8; 6]) -> MstsInput {
        MstsInput {
            limb: Limb::Lower,
            pain: Some(s[0]),
            function: Some(s[1]),
            emotional_acceptance: Some(s[2]),
            supports: Some(s[3]),
            walking: Some(s[4]),
            gait: Some(s[5]),
            hand_positioning: None,
            manual_dexterity: None,
            lifting_ability: None,
        }
    }

    fn upper(s: [u8; 6]) -> MstsInput {
        MstsInput {
            limb: Limb::Upper,
            pain: Some(s[0]),
            function: Some(s[1]),
            emotional_acceptance: Some(s[2]),
            supports: None,
            walking: None,
            gait: None,
            hand_positioning: Some(s[3]),
            manual_dexterity: Some(s[4]),
            lifting_ability: Some(s[5]),
        }
    }

    #[test]
    fn lower_limb_total_and_percentage() {
        let out = classify(&lower([4, 3, 5, 2, 3, 4])).unwrap();
        assert_eq!(out.total, 21);
        assert_eq!(out.max_total, 30);
        assert_eq!(out.percentage, 70.0);
        let names: Vec<&str> = out.domains.iter().map(|d| d.domain).collect();
        assert_eq!(names, ["pain", "function", "emotional_acceptance", "supports", "walking", "gait"]);
        assert_eq!(out.domains[3], DomainScore { domain: "supports", score: 2 });
        assert!(out.explanation.rule.contains("= 21/30"));
        assert!(out.explanation.rule.contains("70.0 %"));
        assert_eq!(out.explanation.inputs.len(), 7);
    }

    #[test]
    fn upper_limb_total_and_percentage() {
        let out = classify(&upper([5, 5, 5, 5, 5, 5])).unwrap();
        assert_eq!(out.total, 30);
        assert_eq!(out.percentage, 100.0);
        let names: Vec<&str> = out.domains.iter().map(|d| d.domain).collect();
        assert_eq!(
            names,
            ["pain", "function", "emotional_acceptance", "hand_positioning", "manual_dexterity", "lifting_ability"]
        );
        let out = classify(&upper([0; 6])).unwrap();
        assert_eq!(out.total, 0);
        assert_eq!(out.percentage, 0.0);
        let out = classify(&upper([1, 0, 0, 0, 0, 0])).unwrap();
        assert_eq!(out.percentage, 1.0 / 30.0 * 100.0);
    }

    #[test]
    fn each_domain_accepts_0_and_5_and_rejects_6() {
        for limb in [Limb::Lower, Limb::Upper] {
            for k in 0..6 {
                for (v, ok) in [(0u8, true), (5, true), (6, false), (255, false)] {
                    let mut s = [3u8; 6];
                    s[k] = v;
                    let input = if limb == Limb::Lower { lower(s) } else { upper(s) };
                    let r = classify(&input);
                    if ok {
                        assert_eq!(r.unwrap().total, 15 + v);
                    } else {
                        let e = r.unwrap_err();
                        assert_eq!(e.field, limb.domains()[k]);
                        assert_eq!(e.problem, Problem::OutOfRange);
                    }
                }
            }
        }
    }

    #[test]
    fn other_limb_domains_are_rejected() {
        let mut i = lower([3; 6]);
        i.hand_positioning = Some(2);
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("hand_positioning", Problem::Inconsistent));
        assert!(e.accepted.contains("lower limb form"));
        for field in ["supports", "walking", "gait"] {
            let mut i = upper([3; 6]);
            match field {
                "supports" => i.supports = Some(0),
                "walking" => i.walking = Some(0),
                _ => i.gait = Some(0),
            }
            let e = classify(&i).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem), (field, Problem::Inconsistent));
        }
    }

    #[test]
    fn missing_domains_are_named() {
        let mut i = lower([3; 6]);
        i.walking = None;
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("walking", Problem::Missing));
        let mut i = upper([3; 6]);
        i.pain = None;
        let e = classify(&i).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem), ("pain", Problem::Missing));
    }

    #[test]
    fn descriptors_are_not_shipped_and_flagged() {
        let out = classify(&lower([3; 6])).unwrap();
        assert_eq!(out.explanation.flags.len(), 1);
        assert_eq!(out.explanation.flags[0].kind, FlagKind::Unverified);
        assert!(out.explanation.flags[0].message.contains("UNVERIFIED"));
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["domains"][0], serde_json::json!({"domain": "pain", "score": 3}));
    }

    #[test]
    fn json_shape() {
        let i: MstsInput = serde_json::from_str(
            r#"{"limb":"upper","pain":4,"function":3,"emotional_acceptance":5,
                "hand_positioning":4,"manual_dexterity":3,"lifting_ability":2}"#,
        )
        .unwrap();
        let v = serde_json::to_value(classify(&i).unwrap()).unwrap();
        assert_eq!(v["limb"], "upper");
        assert_eq!(v["total"], 21);
        assert_eq!(v["percentage"], 70.0);
        assert!(serde_json::from_str::<MstsInput>(r#"{"limb":"lower","stairs":3}"#).is_err());
        assert!(serde_json::from_str::<MstsInput>(r#"{"limb":"arm"}"#).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_percentage_is_total_over_30(
            upper_limb in any::<bool>(),
            v in proptest::collection::vec(proptest::option::of(any::<u8>()), 9),
        ) {
            let input = MstsInput {
                limb: if upper_limb { Limb::Upper } else { Limb::Lower },
                pain: v[0], function: v[1], emotional_acceptance: v[2],
                supports: v[3], walking: v[4], gait: v[5],
                hand_positioning: v[6], manual_dexterity: v[7], lifting_ability: v[8],
            };
            let (own, other) = if upper_limb { ([0, 1, 2, 6, 7, 8], [3, 4, 5]) } else { ([0, 1, 2, 3, 4, 5], [6, 7, 8]) };
            let valid = own.iter().all(|&k| v[k].is_some_and(|s| s <= 5)) && other.iter().all(|&k| v[k].is_none());
            match classify(&input) {
                Ok(out) => {
                    prop_assert!(valid);
                    prop_assert!(out.total <= 30);
                    prop_assert_eq!(out.percentage, f64::from(out.total) / 30.0 * 100.0);
                    prop_assert_eq!(u32::from(out.total), own.iter().map(|&k| u32::from(v[k].unwrap_or(0))).sum::<u32>());
                }
                Err(e) => {
                    prop_assert!(!valid);
                    prop_assert!(!e.field.is_empty());
                }
            }
        }

        #[test]
        fn valid_scores_always_ok(s in proptest::array::uniform6(0u8..=5), upper_limb in any::<bool>()) {
            let out = classify(&if upper_limb { upper(s) } else { lower(s) }).unwrap();
            let total: u8 = s.iter().sum();
            prop_assert_eq!(out.total, total);
            prop_assert_eq!(out.percentage, f64::from(total) / 30.0 * 100.0);
        }

        #[test]
        fn json_with_random_strings_never_panics(s in ".{0,12}", n in any::<i64>()) {
            let v = serde_json::json!({"limb": s, "pain": n, "function": n, "emotional_acceptance": n,
                "supports": n, "walking": n, "gait": n});
            if let Ok(i) = serde_json::from_value::<MstsInput>(v) { let _ = classify(&i); }
            let _ = serde_json::from_str::<MstsInput>(&s);
        }
    }
}
