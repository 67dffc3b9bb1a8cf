//! Angiosome-guided targeting: a wound location, from a fixed vocabulary of
//! foot and ankle regions, maps to its angiosome(s) and their source
//! arteries; given which tibial arteries are patent or treatable, each
//! revascularisation option is direct (restores in-line flow to the wound's
//! source artery) or indirect (relies on collaterals and the pedal arch).
//!
//! Rules (REFERENCES.md §8, tables/angiosomes.json):
//! - The heel has dual supply: a plantar heel wound is direct for both the
//!   posterior tibial and the peroneal artery.
//! - A wound spanning several regions returns every candidate source artery
//!   (no verified rule exists for choosing among them; flagged `Unverified`).
//! - Toe regions are in the vocabulary, because toe wounds are common, but
//!   toe-level angiosome assignment is UNVERIFIED: no angiosome is assigned
//!   and no option is called direct or indirect for them.
//! - GVG 6.38 (weak recommendation): consider angiosome-guided
//!   revascularisation with significant wounds, especially midfoot/hindfoot.

use crate::error::{InvalidInput, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use serde::{Deserialize, Serialize};

// source: Attinger CE et al., Plast Reconstr Surg 2006;117(7 Suppl):261S-293S; Taylor & Palmer 1987 | status: VERIFIED (fine borders partly single-source)
pub static ANGIOSOME_SOURCE: Source = Source {
    id: "angiosome.foot_ankle",
    citation: "Attinger CE et al. Angiosomes of the foot and ankle. Plast Reconstr Surg 2006;117(7 Suppl):261S-293S; Taylor GI & Palmer JH. Br J Plast Surg 1987;40:113; GVG 2019 rec. 6.38 (PMC8365864)",
    reference: "REFERENCES.md §8, tables/angiosomes.json",
    status: EvidenceStatus::Verified,
    status_note: "six angiosomes and source arteries verified; fine borders partly single-source; toe-level and multi-angiosome rules unverified",
};

/// A source artery of the foot and ankle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Artery {
    AnteriorTibial,
    PosteriorTibial,
    Peroneal,
}

impl Artery {
    pub const ALL: [Artery; 3] = [Artery::AnteriorTibial, Artery::PosteriorTibial, Artery::Peroneal];
    pub fn label(self) -> &'static str {
        match self {
            Artery::AnteriorTibial => "anterior tibial",
            Artery::PosteriorTibial => "posterior tibial",
            Artery::Peroneal => "peroneal",
        }
    }
}

/// The six foot and ankle angiosomes, plus the anterior ankle territory of the
/// anterior tibial artery itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Angiosome {
    PtMedialCalcaneal,
    PtMedialPlantar,
    PtLateralPlantar,
    AtDorsalisPedis,
    PerLateralCalcaneal,
    PerAnteriorPerforating,
    /// Supplied by the anterior tibial artery itself; not one of the six.
    AtProper,
}

/// One angiosome: source artery, branch and territory as the reference prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AngiosomeInfo {
    pub angiosome: Angiosome,
    pub source_artery: Artery,
    pub branch: &'static str,
    pub territory: &'static str,
}

// source: Attinger CE et al., Plast Reconstr Surg 2006;117(7 Suppl):261S-293S; Taylor & Palmer 1987 | status: VERIFIED (fine borders partly single-source)
pub const ANGIOSOMES: [AngiosomeInfo; 7] = [
    AngiosomeInfo {
        angiosome: Angiosome::PtMedialCalcaneal,
        source_artery: Artery::PosteriorTibial,
        branch: "medial calcaneal artery",
        territory: "medial and plantar heel",
    },
    AngiosomeInfo {
        angiosome: Angiosome::PtMedialPlantar,
        source_artery: Artery::PosteriorTibial,
        branch: "medial plantar artery",
        territory: "plantar instep (medial plantar midfoot)",
    },
    AngiosomeInfo {
        angiosome: Angiosome::PtLateralPlantar,
        source_artery: Artery::PosteriorTibial,
        branch: "lateral plantar artery",
        territory: "lateral plantar midfoot and the plantar forefoot",
    },
    AngiosomeInfo {
        angiosome: Angiosome::AtDorsalisPedis,
        source_artery: Artery::AnteriorTibial,
        branch: "dorsalis pedis artery",
        territory: "dorsum of the foot",
    },
    AngiosomeInfo {
        angiosome: Angiosome::PerLateralCalcaneal,
        source_artery: Artery::Peroneal,
        branch: "lateral calcaneal artery",
        territory: "lateral and plantar heel",
    },
    AngiosomeInfo {
        angiosome: Angiosome::PerAnteriorPerforating,
        source_artery: Artery::Peroneal,
        branch: "anterior perforating branch",
        territory: "anterolateral ankle / lateral malleolus",
    },
    AngiosomeInfo {
        angiosome: Angiosome::AtProper,
        source_artery: Artery::AnteriorTibial,
        branch: "anterior tibial artery itself",
        territory: "anterior ankle",
    },
];

/// A wound location: the fixed vocabulary of foot and ankle regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WoundLocation {
    MedialHeel,
    PlantarHeel,
    LateralHeel,
    PlantarInstep,
    LateralPlantarMidfoot,
    PlantarForefoot,
    Dorsum,
    AnteriorAnkle,
    LateralMalleolus,
    DorsalToes,
    PlantarToes,
}

impl WoundLocation {
    pub const ALL: [WoundLocation; 11] = [
        WoundLocation::MedialHeel,
        WoundLocation::PlantarHeel,
        WoundLocation::LateralHeel,
        WoundLocation::PlantarInstep,
        WoundLocation::LateralPlantarMidfoot,
        WoundLocation::PlantarForefoot,
        WoundLocation::Dorsum,
        WoundLocation::AnteriorAnkle,
        WoundLocation::LateralMalleolus,
        WoundLocation::DorsalToes,
        WoundLocation::PlantarToes,
    ];

    /// The code used in JSON and on the command line.
    pub fn code(self) -> &'static str {
        match self {
            WoundLocation::MedialHeel => "medial_heel",
            WoundLocation::PlantarHeel => "plantar_heel",
            WoundLocation::LateralHeel => "lateral_heel",
            WoundLocation::PlantarInstep => "plantar_instep",
            WoundLocation::LateralPlantarMidfoot => "lateral_plantar_midfoot",
            WoundLocation::PlantarForefoot => "plantar_forefoot",
            WoundLocation::Dorsum => "dorsum",
            WoundLocation::AnteriorAnkle => "anterior_ankle",
            WoundLocation::LateralMalleolus => "lateral_malleolus",
            WoundLocation::DorsalToes => "dorsal_toes",
            WoundLocation::PlantarToes => "plantar_toes",
        }
    }

    /// The region as the reference names it.
    pub fn label(self) -> &'static str {
        match self {
            WoundLocation::MedialHeel => "medial heel",
            WoundLocation::PlantarHeel => "plantar heel",
            WoundLocation::LateralHeel => "lateral heel",
            WoundLocation::PlantarInstep => "plantar instep (medial plantar midfoot)",
            WoundLocation::LateralPlantarMidfoot => "lateral plantar midfoot",
            WoundLocation::PlantarForefoot => "plantar forefoot",
            WoundLocation::Dorsum => "dorsum of foot",
            WoundLocation::AnteriorAnkle => "anterior ankle",
            WoundLocation::LateralMalleolus => "lateral malleolus / anterolateral ankle",
            WoundLocation::DorsalToes => "dorsal toes",
            WoundLocation::PlantarToes => "plantar toes",
        }
    }

    pub fn parse(field: &str, text: &str) -> Result<WoundLocation> {
        WoundLocation::ALL
            .into_iter()
            .find(|l| l.code() == text)
            .ok_or_else(|| InvalidInput::unrecognised(field, text, vocabulary()))
    }
}

/// The accepted wound-location codes, for error messages and help.
pub fn vocabulary() -> String {
    let codes: Vec<&str> = WoundLocation::ALL.iter().map(|l| l.code()).collect();
    format!("one of {}", codes.join(", "))
}

// Wound location → angiosome(s). Toes: empty (toe-level mapping UNVERIFIED).
// source: tables/angiosomes.json wound_location_lookup (Attinger 2006) | status: VERIFIED; toes UNVERIFIED (not encoded)
pub fn angiosomes_of(location: WoundLocation) -> &'static [Angiosome] {
    match location {
        WoundLocation::MedialHeel => &[Angiosome::PtMedialCalcaneal],
        WoundLocation::PlantarHeel => &[Angiosome::PtMedialCalcaneal, Angiosome::PerLateralCalcaneal],
        WoundLocation::LateralHeel => &[Angiosome::PerLateralCalcaneal],
        WoundLocation::PlantarInstep => &[Angiosome::PtMedialPlantar],
        WoundLocation::LateralPlantarMidfoot => &[Angiosome::PtLateralPlantar],
        WoundLocation::PlantarForefoot => &[Angiosome::PtLateralPlantar],
        WoundLocation::Dorsum => &[Angiosome::AtDorsalisPedis],
        WoundLocation::AnteriorAnkle => &[Angiosome::AtProper],
        WoundLocation::LateralMalleolus => &[Angiosome::PerAnteriorPerforating],
        WoundLocation::DorsalToes | WoundLocation::PlantarToes => &[],
    }
}

pub fn info(angiosome: Angiosome) -> &'static AngiosomeInfo {
    // Every variant has a row; the fallback is never reached (tested).
    ANGIOSOMES.iter().find(|a| a.angiosome == angiosome).unwrap_or(&ANGIOSOMES[0])
}

/// Source arteries of a location, in a stable order.
pub fn source_arteries(location: WoundLocation) -> Vec<Artery> {
    let mut out: Vec<Artery> = angiosomes_of(location).iter().map(|a| info(*a).source_artery).collect();
    out.sort();
    out.dedup();
    out
}

/// What can be done with a tibial artery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArteryStatus {
    /// In-line flow to the foot already.
    Patent,
    /// Diseased but revascularisable.
    Treatable,
    /// Not revascularisable.
    Untreatable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PedalArch {
    Intact,
    AbsentOrDiseased,
}

/// Status of each tibial artery and of the pedal arch.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArterialStatus {
    pub anterior_tibial: Option<ArteryStatus>,
    pub posterior_tibial: Option<ArteryStatus>,
    pub peroneal: Option<ArteryStatus>,
    pub pedal_arch: Option<PedalArch>,
}

impl ArterialStatus {
    fn of(&self, artery: Artery) -> Option<ArteryStatus> {
        match artery {
            Artery::AnteriorTibial => self.anterior_tibial,
            Artery::PosteriorTibial => self.posterior_tibial,
            Artery::Peroneal => self.peroneal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AngiosomeInput {
    /// One or more wound locations (a wound may span several regions).
    pub locations: Vec<WoundLocation>,
    /// Optional: which arteries are patent or treatable.
    pub arteries: Option<ArterialStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Restores in-line flow to a source artery of the wound's angiosome.
    Direct,
    /// Treats another artery; relies on collaterals and the pedal arch.
    Indirect,
    /// No verified angiosome for the location (toes): not classifiable.
    Undetermined,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevascularisationOption {
    pub artery: Artery,
    pub status: ArteryStatus,
    pub route: Route,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocationMapping {
    pub location: WoundLocation,
    pub angiosomes: Vec<AngiosomeInfo>,
    pub source_arteries: Vec<Artery>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AngiosomeResult {
    pub locations: Vec<LocationMapping>,
    /// Union of the source arteries of every mapped location.
    pub source_arteries: Vec<Artery>,
    pub options: Vec<RevascularisationOption>,
    pub explanation: Explanation,
}

/// Map wound locations to angiosomes and classify revascularisation options.
pub fn classify(input: &AngiosomeInput) -> Result<AngiosomeResult> {
    if input.locations.is_empty() {
        return Err(InvalidInput::missing("locations", vocabulary()));
    }
    let mut locations: Vec<WoundLocation> = Vec::with_capacity(input.locations.len());
    for l in &input.locations {
        if !locations.contains(l) {
            locations.push(*l);
        }
    }
    let mappings: Vec<LocationMapping> = locations
        .iter()
        .map(|l| LocationMapping {
            location: *l,
            angiosomes: angiosomes_of(*l).iter().map(|a| *info(*a)).collect(),
            source_arteries: source_arteries(*l),
        })
        .collect();
    let mut sources: Vec<Artery> = mappings.iter().flat_map(|m| m.source_arteries.iter().copied()).collect();
    sources.sort();
    sources.dedup();
    let unmapped: Vec<&str> = mappings.iter().filter(|m| m.angiosomes.is_empty()).map(|m| m.location.label()).collect();

    let described: Vec<String> = mappings
        .iter()
        .map(|m| {
            if m.angiosomes.is_empty() {
                format!("{} → no verified angiosome", m.location.label())
            } else {
                let a: Vec<String> =
                    m.angiosomes.iter().map(|a| format!("{} ({})", a.branch, a.source_artery.label())).collect();
                format!("{} → {}", m.location.label(), a.join(" + "))
            }
        })
        .collect();
    let source_names: Vec<&str> = sources.iter().map(|a| a.label()).collect();
    let rule = if sources.is_empty() {
        format!("{}; direct and indirect cannot be told apart without a verified angiosome", described.join("; "))
    } else {
        format!(
            "{}; revascularising the {} is direct, any other tibial artery is indirect",
            described.join("; "),
            source_names.join(" or ")
        )
    };
    let mut e = Explanation::new(&ANGIOSOME_SOURCE, rule);
    let codes: Vec<&str> = locations.iter().map(|l| l.code()).collect();
    e.push_input("locations", codes.join(", "));
    if !unmapped.is_empty() {
        e.push_flag(
            FlagKind::Unverified,
            format!("toe-level angiosome mapping is unverified: no angiosome assigned for {}", unmapped.join(", ")),
        );
    }
    let mapped_count = mappings.iter().filter(|m| !m.angiosomes.is_empty()).count();
    if sources.len() > 1 && mapped_count > 1 {
        e.push_flag(
            FlagKind::Unverified,
            "the wound spans several angiosomes: no verified rule chooses among them, so every candidate source artery is returned",
        );
    }
    if locations.contains(&WoundLocation::PlantarHeel) {
        e.push_flag(
            FlagKind::Review,
            "plantar heel: dual supply, direct for both the posterior tibial and the peroneal artery",
        );
    }
    e.push_flag(
        FlagKind::Caution,
        "GVG 6.38 is a weak recommendation: consider angiosome-guided revascularisation with significant wounds, especially midfoot or hindfoot",
    );

    let mut options = Vec::new();
    if let Some(status) = &input.arteries {
        for artery in Artery::ALL {
            if let Some(s) = status.of(artery) {
                e.push_input(
                    match artery {
                        Artery::AnteriorTibial => "arteries.anterior_tibial",
                        Artery::PosteriorTibial => "arteries.posterior_tibial",
                        Artery::Peroneal => "arteries.peroneal",
                    },
                    format!("{s:?}").to_lowercase(),
                );
            }
        }
        if let Some(arch) = status.pedal_arch {
            e.push_input(
                "arteries.pedal_arch",
                if arch == PedalArch::Intact { "intact" } else { "absent_or_diseased" },
            );
        }
        for artery in Artery::ALL {
            let Some(s) = status.of(artery) else { continue };
            if s == ArteryStatus::Untreatable {
                continue;
            }
            let route = if sources.is_empty() {
                Route::Undetermined
            } else if sources.contains(&artery) {
                Route::Direct
            } else {
                Route::Indirect
            };
            let note = match (route, s) {
                (Route::Direct, ArteryStatus::Patent) => {
                    "in-line flow to the wound's angiosome is already present".to_owned()
                }
                (Route::Direct, _) => "direct: restores in-line flow to the wound's source artery".to_owned(),
                (Route::Indirect, _) => match status.pedal_arch {
                    Some(PedalArch::Intact) => {
                        "indirect: relies on collaterals through an intact pedal arch".to_owned()
                    }
                    Some(PedalArch::AbsentOrDiseased) => {
                        "indirect, and the pedal arch is absent or diseased: collateral supply to the wound is doubtful"
                            .to_owned()
                    }
                    None => "indirect: relies on collaterals; pedal arch not assessed".to_owned(),
                },
                (Route::Undetermined, _) => "no verified angiosome for this location".to_owned(),
            };
            options.push(RevascularisationOption { artery, status: s, route, note });
        }
        let direct_possible = options.iter().any(|o| o.route == Route::Direct);
        if !sources.is_empty() && !direct_possible {
            e.push_flag(
                FlagKind::Review,
                format!(
                    "no direct option: the {} is not patent or treatable (or not assessed)",
                    source_names.join(" / ")
                ),
            );
        }
    }
    Ok(AngiosomeResult { locations: mappings, source_arteries: sources, options, explanation: e })
}

impl Explain for AngiosomeResult {
    fn sections(&self) -> Vec<Section<'_>> {
        let sources: Vec<&str> = self.source_arteries.iter().map(|a| a.label()).collect();
        let mut result = if sources.is_empty() {
            "no verified source artery".to_owned()
        } else {
            format!("source: {}", sources.join(" + "))
        };
        if !self.options.is_empty() {
            let opts: Vec<String> = self
                .options
                .iter()
                .map(|o| format!("{} {}", o.artery.label(), format!("{:?}", o.route).to_lowercase()))
                .collect();
            result.push_str(&format!("; options: {}", opts.join(", ")));
        }
        vec![Section { label: "Angiosome target", result, explanation: &self.explanation }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arteries(at: Option<ArteryStatus>, pt: Option<ArteryStatus>, per: Option<ArteryStatus>) -> ArterialStatus {
        ArterialStatus { anterior_tibial: at, posterior_tibial: pt, peroneal: per, pedal_arch: Some(PedalArch::Intact) }
    }

    /// Every region of the vocabulary against REFERENCES.md §8 / tables/angiosomes.json.
    #[test]
    fn every_region_maps_to_its_published_source_arteries() {
        use Artery::*;
        let expected: [(WoundLocation, &[Artery]); 11] = [
            (WoundLocation::MedialHeel, &[PosteriorTibial]),
            (WoundLocation::PlantarHeel, &[PosteriorTibial, Peroneal]),
            (WoundLocation::LateralHeel, &[Peroneal]),
            (WoundLocation::PlantarInstep, &[PosteriorTibial]),
            (WoundLocation::LateralPlantarMidfoot, &[PosteriorTibial]),
            (WoundLocation::PlantarForefoot, &[PosteriorTibial]),
            (WoundLocation::Dorsum, &[AnteriorTibial]),
            (WoundLocation::AnteriorAnkle, &[AnteriorTibial]),
            (WoundLocation::LateralMalleolus, &[Peroneal]),
            (WoundLocation::DorsalToes, &[]),
            (WoundLocation::PlantarToes, &[]),
        ];
        for (location, arteries) in expected {
            assert_eq!(source_arteries(location), arteries, "{location:?}");
        }
    }

    #[test]
    fn lookup_equals_the_vendored_reference_json() {
        let json: serde_json::Value = serde_json::from_str(include_str!("../reference/angiosomes.json")).unwrap();
        let rows = json["wound_location_lookup"].as_array().unwrap();
        assert_eq!(rows.len(), 9);
        for row in rows {
            let location = WoundLocation::ALL
                .into_iter()
                .find(|l| l.label() == row["location"].as_str().unwrap())
                .unwrap_or_else(|| panic!("location {} in vocabulary", row["location"]));
            let ids: Vec<String> = angiosomes_of(location)
                .iter()
                .map(|a| serde_json::to_value(a).unwrap().as_str().unwrap().to_owned())
                .collect();
            let expected: Vec<String> =
                row["angiosomes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            assert_eq!(ids, expected, "{location:?}");
            let arteries: Vec<&str> = source_arteries(location).iter().map(|a| a.label()).collect();
            let mut expected: Vec<&str> =
                row["direct_source_arteries"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            expected.sort();
            let mut ours = arteries.clone();
            ours.sort();
            assert_eq!(ours, expected);
        }
        // the six angiosomes and their parent arteries
        for a in json["angiosomes"].as_array().unwrap() {
            let id: Angiosome = serde_json::from_value(a["id"].clone()).unwrap();
            let ours = info(id);
            assert_eq!(ours.angiosome, id);
            assert!(a["parent_artery"].as_str().unwrap().starts_with(ours.source_artery.label()));
        }
    }

    #[test]
    fn every_angiosome_has_an_info_row() {
        for a in [
            Angiosome::PtMedialCalcaneal,
            Angiosome::PtMedialPlantar,
            Angiosome::PtLateralPlantar,
            Angiosome::AtDorsalisPedis,
            Angiosome::PerLateralCalcaneal,
            Angiosome::PerAnteriorPerforating,
            Angiosome::AtProper,
        ] {
            assert_eq!(info(a).angiosome, a);
        }
    }

    #[test]
    fn dorsal_wound_with_treatable_at_is_direct_and_pt_indirect() {
        let r = classify(&AngiosomeInput {
            locations: vec![WoundLocation::Dorsum],
            arteries: Some(arteries(
                Some(ArteryStatus::Treatable),
                Some(ArteryStatus::Treatable),
                Some(ArteryStatus::Untreatable),
            )),
        })
        .unwrap();
        assert_eq!(r.options.len(), 2);
        assert_eq!((r.options[0].artery, r.options[0].route), (Artery::AnteriorTibial, Route::Direct));
        assert_eq!((r.options[1].artery, r.options[1].route), (Artery::PosteriorTibial, Route::Indirect));
    }

    #[test]
    fn plantar_heel_is_direct_for_pt_and_peroneal() {
        let r = classify(&AngiosomeInput {
            locations: vec![WoundLocation::PlantarHeel],
            arteries: Some(arteries(
                Some(ArteryStatus::Treatable),
                Some(ArteryStatus::Treatable),
                Some(ArteryStatus::Treatable),
            )),
        })
        .unwrap();
        let routes: Vec<(Artery, Route)> = r.options.iter().map(|o| (o.artery, o.route)).collect();
        assert_eq!(
            routes,
            vec![
                (Artery::AnteriorTibial, Route::Indirect),
                (Artery::PosteriorTibial, Route::Direct),
                (Artery::Peroneal, Route::Direct)
            ]
        );
    }

    #[test]
    fn no_direct_option_is_flagged_and_absent_arch_noted() {
        let mut a = arteries(Some(ArteryStatus::Treatable), Some(ArteryStatus::Untreatable), None);
        a.pedal_arch = Some(PedalArch::AbsentOrDiseased);
        let r = classify(&AngiosomeInput { locations: vec![WoundLocation::MedialHeel], arteries: Some(a) }).unwrap();
        assert!(r.explanation.flags.iter().any(|f| f.message.starts_with("no direct option")));
        assert!(r.options[0].note.contains("pedal arch is absent"));
    }

    #[test]
    fn toes_are_unmapped_and_flagged() {
        let r = classify(&AngiosomeInput {
            locations: vec![WoundLocation::DorsalToes],
            arteries: Some(arteries(Some(ArteryStatus::Treatable), None, None)),
        })
        .unwrap();
        assert!(r.source_arteries.is_empty());
        assert_eq!(r.options[0].route, Route::Undetermined);
        assert!(r.explanation.has_flag(FlagKind::Unverified));
    }

    #[test]
    fn multi_region_wound_returns_every_candidate() {
        let r = classify(&AngiosomeInput {
            locations: vec![WoundLocation::Dorsum, WoundLocation::LateralHeel],
            arteries: None,
        })
        .unwrap();
        assert_eq!(r.source_arteries, vec![Artery::AnteriorTibial, Artery::Peroneal]);
        assert!(r.explanation.has_flag(FlagKind::Unverified));
    }

    #[test]
    fn unknown_region_and_empty_list_are_errors() {
        let e = WoundLocation::parse("locations", "knee").unwrap_err();
        assert_eq!(e.field, "locations");
        assert!(e.accepted.contains("plantar_heel"));
        assert!(classify(&AngiosomeInput { locations: vec![], arteries: None }).is_err());
        assert!(serde_json::from_str::<AngiosomeInput>(r#"{"locations":["shin"]}"#).is_err());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errors(s in ".*") {
            match WoundLocation::parse("locations", &s) {
                Ok(l) => prop_assert_eq!(l.code(), s.as_str()),
                Err(e) => prop_assert_eq!(e.field.as_str(), "locations"),
            }
        }

        #[test]
        fn any_combination_never_panics(locs in prop::collection::vec(0usize..11, 0..5), at in 0u8..4, pt in 0u8..4, per in 0u8..4) {
            let st = |v: u8| match v { 0 => None, 1 => Some(ArteryStatus::Patent), 2 => Some(ArteryStatus::Treatable), _ => Some(ArteryStatus::Untreatable) };
            let input = AngiosomeInput {
                locations: locs.iter().map(|i| WoundLocation::ALL[*i]).collect(),
                arteries: Some(ArterialStatus { anterior_tibial: st(at), posterior_tibial: st(pt), peroneal: st(per), pedal_arch: None }),
            };
            if let Ok(r) = classify(&input) {
                for o in &r.options {
                    prop_assert_eq!(o.route == Route::Direct, r.source_arteries.contains(&o.artery));
                }
            } else {
                prop_assert!(locs.is_empty());
            }
        }
    }
}
