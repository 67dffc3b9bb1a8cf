//! Revised Venous Clinical Severity Score (rVCSS; Vasquez MA et al., J Vasc Surg
//! 2010;52:1387-96; REFERENCES.md §5.2, partly VERIFIED).
//!
//! Ten items, each scored 0-3 by the clinician, total 0-30. Every item is
//! required: a missing item is an error naming it, never a silent 0.
//!
//! Rules chosen:
//! - The numeric model (10 items x 0-3, total /30) is VERIFIED and always
//!   returned.
//! - Each item's chosen level comes back with its descriptor only where
//!   REFERENCES marks the wording VERIFIED. The UNVERIFIED cells (induration
//!   level 1; active ulcer size levels 1-3 in the revised form; all compression
//!   therapy wording) return no descriptor and a [`FlagKind::Unverified`] flag
//!   saying the wording is unverified. The original-2000 ulcer-size wording is
//!   not shown.
//! - Active ulcer number level 3: the source prints ">3"; REFERENCES directs
//!   reading it as ">=3". The descriptor is "≥3" and an
//!   [`FlagKind::AmbiguousBoundary`] flag says so.
//! - A total >= 8 "has been used to mean severe" (secondary source): returned as
//!   a [`FlagKind::Caution`] note on the total, never as a verdict or a field.
//! - Active ulcer number 0 with ulcer duration or size above 0 (or a number
//!   above 0 with duration 0 = N/A) is scored as given, with a
//!   [`FlagKind::Review`] flag.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use crate::limits;
use serde::Serialize;

// source: Vasquez MA et al., J Vasc Surg 2010;52:1387-96 (rVCSS) via richtlijnendatabase.nl | status: partly VERIFIED; induration level 1, ulcer size, compression wording UNVERIFIED
pub static VCSS_SOURCE: Source = Source {
    id: "venous.vcss",
    citation: "Vasquez MA et al., J Vasc Surg 2010;52:1387-96 (revised VCSS) via richtlijnendatabase.nl",
    reference: "REFERENCES.md §5.2",
    // Closest status: the verified part (numeric model and most descriptors) has two
    // agreeing secondary sources; the unverified cells are listed in the note and
    // flagged per result.
    status: EvidenceStatus::Verified,
    status_note: "partly VERIFIED; induration level 1, ulcer size, compression wording UNVERIFIED",
};

/// Lowest and highest score of one item.
const ITEM_MIN: u8 = 0;
const ITEM_MAX: u8 = 3;
/// Highest possible total (10 items x 3).
pub const MAX_TOTAL: u8 = 30;

// source: Vasquez MA et al., J Vasc Surg 2010;52:1387-96 (rVCSS) via richtlijnendatabase.nl | status: partly VERIFIED; induration level 1, ulcer size, compression wording UNVERIFIED
// "VCSS ≥8 has been used to mean 'severe' (secondary)": a usage note, not a cut-off.
const SEVERE_USAGE_NOTE_FROM: u8 = 8;

const ACCEPTED_SCORE: &str = "a whole number from 0 to 3 (revised VCSS item score)";

/// The ten rVCSS items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Pain,
    VaricoseVeins,
    VenousOedema,
    SkinPigmentation,
    Inflammation,
    Induration,
    ActiveUlcerNumber,
    ActiveUlcerDuration,
    ActiveUlcerSize,
    CompressionTherapy,
}

impl Item {
    pub const ALL: [Item; 10] = [
        Item::Pain,
        Item::VaricoseVeins,
        Item::VenousOedema,
        Item::SkinPigmentation,
        Item::Inflammation,
        Item::Induration,
        Item::ActiveUlcerNumber,
        Item::ActiveUlcerDuration,
        Item::ActiveUlcerSize,
        Item::CompressionTherapy,
    ];

    /// The JSON input field (and CLI flag, in kebab case).
    pub const fn field(self) -> &'static str {
        match self {
            Item::Pain => "pain",
            Item::VaricoseVeins => "varicose_veins",
            Item::VenousOedema => "venous_oedema",
            Item::SkinPigmentation => "skin_pigmentation",
            Item::Inflammation => "inflammation",
            Item::Induration => "induration",
            Item::ActiveUlcerNumber => "active_ulcer_number",
            Item::ActiveUlcerDuration => "active_ulcer_duration",
            Item::ActiveUlcerSize => "active_ulcer_size",
            Item::CompressionTherapy => "compression_therapy",
        }
    }

    // source: Vasquez MA et al., J Vasc Surg 2010;52:1387-96 (rVCSS) via richtlijnendatabase.nl | status: partly VERIFIED; induration level 1, ulcer size, compression wording UNVERIFIED
    /// The item's name as REFERENCES §5.2 prints it.
    pub const fn label(self) -> &'static str {
        match self {
            Item::Pain => "Pain or other discomfort",
            Item::VaricoseVeins => "Varicose veins (≥3 mm, standing)",
            Item::VenousOedema => "Venous oedema",
            Item::SkinPigmentation => "Skin pigmentation",
            Item::Inflammation => "Inflammation",
            Item::Induration => "Induration",
            Item::ActiveUlcerNumber => "Active ulcer number",
            Item::ActiveUlcerDuration => "Active ulcer duration",
            Item::ActiveUlcerSize => "Active ulcer size (largest)",
            Item::CompressionTherapy => "Compression therapy",
        }
    }
}

/// One cell of the descriptor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// Wording REFERENCES marks VERIFIED: shipped.
    Verified(&'static str),
    /// Wording REFERENCES marks UNVERIFIED: not shipped, flagged.
    Unverified,
}

use Cell::{Unverified as U, Verified as V};

// source: Vasquez MA et al., J Vasc Surg 2010;52:1387-96 (rVCSS) via richtlijnendatabase.nl | status: partly VERIFIED; induration level 1, ulcer size, compression wording UNVERIFIED
// Every cell of REFERENCES §5.2, levels 0, 1, 2, 3, in Item::ALL order. No default cell.
const DESCRIPTORS: [(Item, [Cell; 4]); 10] = [
    (
        Item::Pain,
        [
            V("none"),
            V("occasional, not restricting daily activity"),
            V("daily, interfering with but not preventing activities"),
            V("daily, limits most activities"),
        ],
    ),
    (
        Item::VaricoseVeins,
        [
            V("none"),
            V("few, scattered (incl. corona phlebectatica)"),
            V("confined to calf or thigh"),
            V("involves calf and thigh"),
        ],
    ),
    (Item::VenousOedema, [V("none"), V("foot and ankle"), V("above ankle, below knee"), V("to knee and above")]),
    (
        Item::SkinPigmentation,
        [V("none or focal"), V("perimalleolar"), V("diffuse, lower third of calf"), V("wider, above lower third")],
    ),
    (
        Item::Inflammation,
        [V("none"), V("perimalleolar"), V("diffuse, lower third of calf"), V("wider, above lower third")],
    ),
    // Level 1 UNVERIFIED (by parallel, probably perimalleolar): not shipped.
    (Item::Induration, [V("none"), U, V("diffuse, lower third of calf"), V("wider, above lower third")]),
    // Level 3: the source prints ">3"; REFERENCES: treat as ≥3 (flagged).
    (Item::ActiveUlcerNumber, [V("0"), V("1"), V("2"), V("≥3")]),
    (Item::ActiveUlcerDuration, [V("N/A"), V("<3 months"), V(">3 months but <1 year"), V("not healed >1 year")]),
    // Levels 1-3 UNVERIFIED in the revised form (only the original 2000 VCSS wording is known): not shipped.
    (Item::ActiveUlcerSize, [V("N/A"), U, U, U]),
    // Compression wording verified only in outline; exact revised wording UNVERIFIED: not shipped.
    (Item::CompressionTherapy, [U, U, U, U]),
];

fn cell(item: Item, level: u8) -> Option<Cell> {
    DESCRIPTORS.iter().find(|(i, _)| *i == item).and_then(|(_, cells)| cells.get(usize::from(level)).copied())
}

/// Input: the ten item scores, each 0-3. All are required.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub pain: Option<u8>,
    pub varicose_veins: Option<u8>,
    pub venous_oedema: Option<u8>,
    pub skin_pigmentation: Option<u8>,
    pub inflammation: Option<u8>,
    pub induration: Option<u8>,
    pub active_ulcer_number: Option<u8>,
    pub active_ulcer_duration: Option<u8>,
    pub active_ulcer_size: Option<u8>,
    pub compression_therapy: Option<u8>,
}

impl Input {
    /// The score given for one item.
    pub fn get(&self, item: Item) -> Option<u8> {
        match item {
            Item::Pain => self.pain,
            Item::VaricoseVeins => self.varicose_veins,
            Item::VenousOedema => self.venous_oedema,
            Item::SkinPigmentation => self.skin_pigmentation,
            Item::Inflammation => self.inflammation,
            Item::Induration => self.induration,
            Item::ActiveUlcerNumber => self.active_ulcer_number,
            Item::ActiveUlcerDuration => self.active_ulcer_duration,
            Item::ActiveUlcerSize => self.active_ulcer_size,
            Item::CompressionTherapy => self.compression_therapy,
        }
    }
}

/// One item's score and, where verified, the wording of its level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemScore {
    pub item: Item,
    pub label: &'static str,
    pub score: u8,
    /// The level's descriptor; null where REFERENCES marks the wording UNVERIFIED
    /// (an Unverified flag in `explanation` says so).
    pub descriptor: Option<&'static str>,
    pub explanation: Explanation,
}

/// The rVCSS result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Sum of the ten item scores, 0-30.
    pub total: u8,
    /// The ten items in the published order.
    pub items: Vec<ItemScore>,
    pub explanation: Explanation,
}

fn score_item(item: Item, score: u8) -> ItemScore {
    let field = item.field();
    let mut explanation = Explanation::new(&VCSS_SOURCE, String::new()).input(field, score);
    let descriptor = match cell(item, score) {
        Some(Cell::Verified(text)) => {
            explanation.rule = format!("{} level {score}: \"{text}\"", item.label());
            Some(text)
        }
        // `score` is checked to be 0-3 before this is called, so every level has a cell.
        Some(Cell::Unverified) | None => {
            explanation.rule = format!("{} level {score} (descriptor withheld: wording unverified)", item.label());
            explanation.push_flag(
                FlagKind::Unverified,
                format!(
                    "The revised-VCSS wording for {} level {score} is UNVERIFIED (REFERENCES §5.2, open item 6), \
                     so no descriptor is shown; the score {score} counts in the total. Check the level \
                     against Vasquez 2010.",
                    item.label().to_lowercase()
                ),
            );
            None
        }
    };
    if item == Item::ActiveUlcerNumber && score == ITEM_MAX {
        explanation.push_flag(
            FlagKind::AmbiguousBoundary,
            "The source prints \">3\" for active ulcer number level 3; REFERENCES §5.2 reads it as ≥3 \
             (three or more active ulcers), which LimbPath uses.",
        );
    }
    ItemScore { item, label: item.label(), score, descriptor, explanation }
}

/// Score the ten items. Every item is required and must be 0-3.
pub fn classify(input: &Input) -> Result<Output> {
    let mut scores = [0u8; 10];
    for (slot, item) in scores.iter_mut().zip(Item::ALL) {
        let field = item.field();
        let score = input.get(item).ok_or_else(|| InvalidInput::missing(field, ACCEPTED_SCORE))?;
        *slot = limits::check_grade(field, score, ITEM_MIN, ITEM_MAX)?;
    }
    let items: Vec<ItemScore> =
        Item::ALL.into_iter().zip(scores).map(|(item, score)| score_item(item, score)).collect();
    // Ten scores of at most 3: the sum is at most 30 and cannot overflow.
    let total: u8 = items.iter().fold(0u8, |sum, i| sum.saturating_add(i.score));

    let sum_text: Vec<String> = items.iter().map(|i| i.score.to_string()).collect();
    let rule = format!(
        "sum of the ten item scores ({}) = {total} of {MAX_TOTAL}; each item is scored 0-3",
        sum_text.join(" + ")
    );
    let mut explanation = Explanation::new(&VCSS_SOURCE, rule);
    for i in &items {
        explanation.push_input(i.item.field(), i.score);
    }
    if total >= SEVERE_USAGE_NOTE_FROM {
        explanation.push_flag(
            FlagKind::Caution,
            format!(
                "A total of {SEVERE_USAGE_NOTE_FROM} or more has been used to mean \"severe\" (secondary source, \
                 REFERENCES §5.2). This is a usage note, not a validated cut-off and not a verdict."
            ),
        );
    }
    let [_, _, _, _, _, _, number, duration, size, _] = scores;
    if number == 0 && (duration > 0 || size > 0) {
        explanation.push_flag(
            FlagKind::Review,
            "Active ulcer number is 0 but active ulcer duration or size is scored above 0 (N/A); check the \
             ulcer items. Scored as given.",
        );
    } else if number > 0 && duration == 0 {
        explanation.push_flag(
            FlagKind::Review,
            "Active ulcer number is above 0 but active ulcer duration is 0 (N/A); check the ulcer items. \
             Scored as given.",
        );
    }
    Ok(Output { total, items, explanation })
}

impl Explain for Output {
    fn sections(&self) -> Vec<Section<'_>> {
        let mut sections = vec![Section {
            label: "Revised VCSS total",
            result: format!("{}/{MAX_TOTAL}", self.total),
            explanation: &self.explanation,
        }];
        for i in &self.items {
            sections.push(Section {
                label: i.label,
                result: match i.descriptor {
                    Some(d) => format!("{} ({d})", i.score),
                    None => format!("{} (wording unverified)", i.score),
                },
                explanation: &i.explanation,
            });
        }
        sections
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use proptest::prelude::*;

    fn all(score: u8) -> Input {
        let mut input = Input::default();
        for item in Item::ALL {
            set(&mut input, item, Some(score));
        }
        input
    }

    fn set(input: &mut Input, item: Item, value: Option<u8>) {
        let slot = match item {
            Item::Pain => &mut input.pain,
            Item::VaricoseVeins => &mut input.varicose_veins,
            Item::VenousOedema => &mut input.venous_oedema,
            Item::SkinPigmentation => &mut input.skin_pigmentation,
            Item::Inflammation => &mut input.inflammation,
            Item::Induration => &mut input.induration,
            Item::ActiveUlcerNumber => &mut input.active_ulcer_number,
            Item::ActiveUlcerDuration => &mut input.active_ulcer_duration,
            Item::ActiveUlcerSize => &mut input.active_ulcer_size,
            Item::CompressionTherapy => &mut input.compression_therapy,
        };
        *slot = value;
    }

    fn item(out: &Output, item: Item) -> &ItemScore {
        out.items.iter().find(|i| i.item == item).unwrap()
    }

    /// Every cell of REFERENCES §5.2 as the engine must return it (None = withheld, UNVERIFIED).
    const EXPECTED: [(Item, [Option<&str>; 4]); 10] = [
        (
            Item::Pain,
            [
                Some("none"),
                Some("occasional, not restricting daily activity"),
                Some("daily, interfering with but not preventing activities"),
                Some("daily, limits most activities"),
            ],
        ),
        (
            Item::VaricoseVeins,
            [
                Some("none"),
                Some("few, scattered (incl. corona phlebectatica)"),
                Some("confined to calf or thigh"),
                Some("involves calf and thigh"),
            ],
        ),
        (
            Item::VenousOedema,
            [Some("none"), Some("foot and ankle"), Some("above ankle, below knee"), Some("to knee and above")],
        ),
        (
            Item::SkinPigmentation,
            [
                Some("none or focal"),
                Some("perimalleolar"),
                Some("diffuse, lower third of calf"),
                Some("wider, above lower third"),
            ],
        ),
        (
            Item::Inflammation,
            [
                Some("none"),
                Some("perimalleolar"),
                Some("diffuse, lower third of calf"),
                Some("wider, above lower third"),
            ],
        ),
        (
            Item::Induration,
            [Some("none"), None, Some("diffuse, lower third of calf"), Some("wider, above lower third")],
        ),
        (Item::ActiveUlcerNumber, [Some("0"), Some("1"), Some("2"), Some("≥3")]),
        (
            Item::ActiveUlcerDuration,
            [Some("N/A"), Some("<3 months"), Some(">3 months but <1 year"), Some("not healed >1 year")],
        ),
        (Item::ActiveUlcerSize, [Some("N/A"), None, None, None]),
        (Item::CompressionTherapy, [None, None, None, None]),
    ];

    #[test]
    fn every_cell_descriptor_or_withheld() {
        for (it, cells) in EXPECTED {
            for (level, expected) in (0u8..).zip(cells) {
                let mut input = all(0);
                set(&mut input, it, Some(level));
                let out = classify(&input).unwrap();
                let got = item(&out, it);
                assert_eq!(got.score, level);
                assert_eq!(got.descriptor, expected, "{it:?} level {level}");
                let provisional = got.explanation.flags.iter().filter(|f| f.kind == FlagKind::Unverified).count();
                assert_eq!(provisional, usize::from(expected.is_none()), "{it:?} level {level}");
                if let Some(text) = expected {
                    assert!(got.explanation.rule.contains(text));
                } else {
                    let flag = got.explanation.flags.iter().find(|f| f.kind == FlagKind::Unverified).unwrap();
                    assert!(flag.message.contains("UNVERIFIED"), "{}", flag.message);
                    assert!(got.explanation.rule.contains("wording unverified"));
                }
            }
        }
    }

    #[test]
    fn descriptor_table_lists_every_item_in_order() {
        let items: Vec<Item> = DESCRIPTORS.iter().map(|(i, _)| *i).collect();
        assert_eq!(items, Item::ALL.to_vec());
        assert_eq!(cell(Item::Pain, 4), None);
        // The original-2000 ulcer-size wording is not shipped anywhere.
        for (_, cells) in DESCRIPTORS {
            for c in cells {
                if let Cell::Verified(t) = c {
                    assert!(!t.contains("cm"), "{t}");
                }
            }
        }
    }

    #[test]
    fn each_item_at_0_and_3() {
        let zero = classify(&all(0)).unwrap();
        assert_eq!(zero.total, 0);
        assert_eq!(zero.items.len(), 10);
        assert!(zero.items.iter().all(|i| i.score == 0));
        for it in Item::ALL {
            let mut input = all(0);
            set(&mut input, it, Some(3));
            let out = classify(&input).unwrap();
            assert_eq!(out.total, 3, "{it:?}");
            assert_eq!(item(&out, it).score, 3);
            assert_eq!(out.items.iter().filter(|i| i.score == 0).count(), 9);
            assert_eq!(item(&out, it).label, it.label());
        }
        let max = classify(&all(3)).unwrap();
        assert_eq!(max.total, 30);
        assert_eq!(
            max.explanation.rule,
            "sum of the ten item scores (3 + 3 + 3 + 3 + 3 + 3 + 3 + 3 + 3 + 3) = 30 of 30; each item is scored 0-3"
        );
    }

    #[test]
    fn total_is_the_sum() {
        let input = Input {
            pain: Some(2),
            varicose_veins: Some(1),
            venous_oedema: Some(2),
            skin_pigmentation: Some(1),
            inflammation: Some(0),
            induration: Some(2),
            active_ulcer_number: Some(1),
            active_ulcer_duration: Some(2),
            active_ulcer_size: Some(1),
            compression_therapy: Some(3),
        };
        let out = classify(&input).unwrap();
        assert_eq!(out.total, 15);
        assert_eq!(out.explanation.inputs.len(), 10);
        assert_eq!(out.explanation.inputs[0].field, "pain");
        assert_eq!(out.explanation.inputs[9].field, "compression_therapy");
        assert_eq!(out.explanation.source.id, "venous.vcss");
    }

    #[test]
    fn severe_usage_note_is_a_caution_on_both_sides_of_8() {
        let mut seven = all(0);
        seven.pain = Some(3);
        seven.varicose_veins = Some(3);
        seven.venous_oedema = Some(1);
        let out = classify(&seven).unwrap();
        assert_eq!(out.total, 7);
        assert!(!out.explanation.has_flag(FlagKind::Caution));
        let mut eight = seven.clone();
        eight.venous_oedema = Some(2);
        let out = classify(&eight).unwrap();
        assert_eq!(out.total, 8);
        let caution: Vec<_> = out.explanation.flags.iter().filter(|f| f.kind == FlagKind::Caution).collect();
        assert_eq!(caution.len(), 1);
        assert!(caution[0].message.contains("not a verdict"), "{}", caution[0].message);
        assert!(caution[0].message.contains("8 or more"));
        // No verdict field in the JSON.
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v.as_object().unwrap().keys().cloned().collect::<Vec<_>>(), vec!["explanation", "items", "total"]);
    }

    #[test]
    fn missing_item_is_an_error_naming_it() {
        for it in Item::ALL {
            let mut input = all(1);
            set(&mut input, it, None);
            let e = classify(&input).unwrap_err();
            assert_eq!(e.problem, Problem::Missing, "{it:?}");
            assert_eq!(e.field, it.field());
            assert_eq!(e.value, None);
            assert!(e.accepted.contains("0 to 3"), "{}", e.accepted);
        }
        let e = classify(&Input::default()).unwrap_err();
        assert_eq!(e.field, "pain");
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_item() {
        for it in Item::ALL {
            for bad in [4u8, 255] {
                let mut input = all(0);
                set(&mut input, it, Some(bad));
                let e = classify(&input).unwrap_err();
                assert_eq!(e.problem, Problem::OutOfRange, "{it:?}");
                assert_eq!(e.field, it.field());
                assert_eq!(e.value, Some(bad.to_string()));
            }
        }
    }

    #[test]
    fn ulcer_number_3_carries_the_printed_gt3_flag() {
        let mut input = all(1);
        input.active_ulcer_number = Some(3);
        let out = classify(&input).unwrap();
        let number = item(&out, Item::ActiveUlcerNumber);
        assert_eq!(number.descriptor, Some("≥3"));
        assert!(number.explanation.has_flag(FlagKind::AmbiguousBoundary));
        input.active_ulcer_number = Some(2);
        let out = classify(&input).unwrap();
        assert!(!item(&out, Item::ActiveUlcerNumber).explanation.has_flag(FlagKind::AmbiguousBoundary));
    }

    #[test]
    fn ulcer_items_that_disagree_are_flagged_for_review() {
        let mut input = all(0);
        input.active_ulcer_size = Some(1);
        assert!(classify(&input).unwrap().explanation.has_flag(FlagKind::Review));
        let mut input = all(0);
        input.active_ulcer_number = Some(1);
        assert!(classify(&input).unwrap().explanation.has_flag(FlagKind::Review));
        input.active_ulcer_duration = Some(1);
        input.active_ulcer_size = Some(1);
        assert!(!classify(&input).unwrap().explanation.has_flag(FlagKind::Review));
        assert!(!classify(&all(0)).unwrap().explanation.has_flag(FlagKind::Review));
    }

    #[test]
    fn source_status_as_references_states_it() {
        assert_eq!(
            VCSS_SOURCE.status_note,
            "partly VERIFIED; induration level 1, ulcer size, compression wording UNVERIFIED"
        );
        assert_eq!(VCSS_SOURCE.reference, "REFERENCES.md §5.2");
    }

    #[test]
    fn json_input_and_output() {
        let input: Input = serde_json::from_str(
            r#"{"pain": 2, "varicose_veins": 1, "venous_oedema": 1, "skin_pigmentation": 0, "inflammation": 0,
                "induration": 1, "active_ulcer_number": 0, "active_ulcer_duration": 0, "active_ulcer_size": 0,
                "compression_therapy": 2}"#,
        )
        .unwrap();
        let out = classify(&input).unwrap();
        assert_eq!(out.total, 7);
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["total"], 7);
        assert_eq!(v["items"][0]["item"], "pain");
        assert_eq!(v["items"][0]["label"], "Pain or other discomfort");
        assert_eq!(v["items"][0]["descriptor"], "daily, interfering with but not preventing activities");
        assert_eq!(v["items"][5]["item"], "induration");
        assert_eq!(v["items"][5]["descriptor"], serde_json::Value::Null);
        assert_eq!(v["items"][5]["explanation"]["flags"][0]["kind"], "UNVERIFIED");
        assert!(serde_json::from_str::<Input>(r#"{"pain": 1, "itch": 2}"#).is_err());
        // A missing item deserialises and is then refused by the engine, naming it.
        let partial: Input = serde_json::from_str(r#"{"pain": 1}"#).unwrap();
        assert_eq!(classify(&partial).unwrap_err().field, "varicose_veins");
    }

    #[test]
    fn explain_sections() {
        let out = classify(&all(1)).unwrap();
        let sections = out.sections();
        assert_eq!(sections.len(), 11);
        assert_eq!(sections[0].label, "Revised VCSS total");
        assert_eq!(sections[0].result, "10/30");
        assert_eq!(sections[1].result, "1 (occasional, not restricting daily activity)");
        assert_eq!(sections[6].result, "1 (wording unverified)");
    }

    fn arb_input() -> impl Strategy<Value = Input> {
        prop::collection::vec(prop::option::of(any::<u8>()), 10).prop_map(|v| {
            let mut input = Input::default();
            for (it, value) in Item::ALL.into_iter().zip(v) {
                set(&mut input, it, value);
            }
            input
        })
    }

    proptest! {
        #[test]
        fn total_is_the_sum_for_every_valid_input(scores in prop::collection::vec(0u8..=3, 10)) {
            let mut input = Input::default();
            for (it, s) in Item::ALL.into_iter().zip(scores.iter()) {
                set(&mut input, it, Some(*s));
            }
            let out = classify(&input).unwrap();
            let sum: u32 = scores.iter().map(|s| u32::from(*s)).sum();
            prop_assert_eq!(u32::from(out.total), sum);
            prop_assert!(out.total <= MAX_TOTAL);
            prop_assert_eq!(out.explanation.has_flag(FlagKind::Caution), sum >= 8);
            for (i, s) in out.items.iter().zip(scores.iter()) {
                prop_assert_eq!(i.score, *s);
            }
        }

        #[test]
        fn any_item_above_3_is_an_error(
            scores in prop::collection::vec(0u8..=3, 10),
            which in 0usize..10,
            bad in 4u8..=255,
        ) {
            let mut input = Input::default();
            for (it, s) in Item::ALL.into_iter().zip(scores.iter()) {
                set(&mut input, it, Some(*s));
            }
            let it = Item::ALL[which];
            set(&mut input, it, Some(bad));
            let e = classify(&input).unwrap_err();
            prop_assert_eq!(e.problem, Problem::OutOfRange);
            prop_assert_eq!(e.field, it.field());
        }

        #[test]
        fn arbitrary_input_is_ok_exactly_when_complete_and_in_range(input in arb_input()) {
            let valid = Item::ALL.into_iter().all(|it| input.get(it).is_some_and(|s| s <= 3));
            prop_assert_eq!(classify(&input).is_ok(), valid);
        }
    }
}
