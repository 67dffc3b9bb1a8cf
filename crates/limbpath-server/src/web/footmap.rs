//! The foot and ankle map: four SVG views (plantar, dorsal, medial, lateral)
//! whose regions are the engine's wound-location vocabulary, shaded by the
//! source artery of their angiosome (`limbpath_clinical::angiosome`).
//!
//! The form's real controls are checkboxes, one per location, so the map
//! works without JavaScript and with a keyboard; `app.js` makes each region
//! focusable (role checkbox) and toggles its checkbox on click, Enter or Space.
//! Pure: the same marked set gives the same markup.

use super::html::Markup;
use crate::{html, markup};
use limbpath_clinical::angiosome::{self, Artery, WoundLocation};

/// The shading of a region: which source arteries supply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supply {
    PosteriorTibial,
    AnteriorTibial,
    Peroneal,
    /// Posterior tibial and peroneal (the heel's dual supply).
    Dual,
    /// No angiosome assigned (toes: toe-level mapping is UNVERIFIED).
    Unassigned,
}

impl Supply {
    pub fn of(location: WoundLocation) -> Supply {
        match angiosome::source_arteries(location).as_slice() {
            [Artery::PosteriorTibial] => Supply::PosteriorTibial,
            [Artery::AnteriorTibial] => Supply::AnteriorTibial,
            [Artery::Peroneal] => Supply::Peroneal,
            [] => Supply::Unassigned,
            _ => Supply::Dual,
        }
    }

    /// CSS class (the colours live in app.css, with a print-safe pattern).
    pub fn class(self) -> &'static str {
        match self {
            Supply::PosteriorTibial => "sup-pt",
            Supply::AnteriorTibial => "sup-at",
            Supply::Peroneal => "sup-per",
            Supply::Dual => "sup-dual",
            Supply::Unassigned => "sup-none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Supply::PosteriorTibial => "posterior tibial",
            Supply::AnteriorTibial => "anterior tibial",
            Supply::Peroneal => "peroneal",
            Supply::Dual => "posterior tibial and peroneal (dual supply)",
            Supply::Unassigned => "no angiosome assigned (toe level: UNVERIFIED)",
        }
    }

    /// Fill colour (an SVG presentation attribute, so it works under the CSP).
    fn fill(self) -> &'static str {
        match self {
            Supply::PosteriorTibial => "#bfdbfe",
            Supply::AnteriorTibial => "#bbf7d0",
            Supply::Peroneal => "#fde68a",
            Supply::Dual => "#e9d5ff",
            Supply::Unassigned => "#e5e7eb",
        }
    }
}

/// A region of one view: a location and its shape (an SVG path).
struct Region {
    location: WoundLocation,
    path: &'static str,
}

struct View {
    id: &'static str,
    title: &'static str,
    view_box: &'static str,
    outline: &'static str,
    /// Orientation labels: (x, y, text).
    labels: &'static [(u32, u32, &'static str)],
    regions: &'static [Region],
}

use WoundLocation as L;

const VIEWS: [View; 4] = [
    View {
        id: "plantar",
        title: "Plantar (sole)",
        view_box: "0 0 160 270",
        outline: "M50 14 C70 4 112 6 126 22 C140 40 138 80 134 118 C130 160 128 190 124 226 C120 252 100 262 80 262 C58 262 40 250 38 226 C34 190 30 160 28 118 C24 80 26 32 50 14 Z",
        labels: &[(6, 140, "medial"), (118, 140, "lateral")],
        regions: &[
            Region { location: L::PlantarToes, path: "M44 22 C64 10 110 10 124 26 L128 56 L34 56 Z" },
            Region { location: L::PlantarForefoot, path: "M34 60 L128 60 L130 112 L32 112 Z" },
            Region { location: L::PlantarInstep, path: "M32 116 L78 116 L78 184 L36 184 Z" },
            Region { location: L::LateralPlantarMidfoot, path: "M82 116 L130 116 L126 184 L82 184 Z" },
            Region {
                location: L::PlantarHeel,
                path: "M38 188 L124 188 C122 240 108 256 80 256 C54 256 40 240 38 188 Z",
            },
        ],
    },
    View {
        id: "dorsal",
        title: "Dorsal (top)",
        view_box: "0 0 160 270",
        outline: "M50 14 C70 4 112 6 126 22 C140 40 138 80 134 118 C130 160 124 190 116 214 L112 262 L50 262 L46 214 C36 190 30 160 28 118 C24 80 26 32 50 14 Z",
        labels: &[(6, 140, "medial"), (118, 140, "lateral")],
        regions: &[
            Region { location: L::DorsalToes, path: "M44 22 C64 10 110 10 124 26 L128 56 L34 56 Z" },
            Region { location: L::Dorsum, path: "M34 60 L128 60 L130 120 L122 196 L42 196 L30 120 Z" },
            Region { location: L::AnteriorAnkle, path: "M46 200 L118 200 L112 256 L52 256 Z" },
        ],
    },
    View {
        id: "medial",
        title: "Medial (inner side)",
        view_box: "0 0 270 170",
        outline: "M170 8 L232 8 L236 92 C252 104 256 128 246 150 C238 162 220 164 200 162 L40 162 C18 162 8 150 10 136 C14 118 40 108 70 100 C110 88 140 80 168 70 Z",
        labels: &[(10, 100, "toes"), (226, 22, "leg")],
        regions: &[
            Region { location: L::Dorsum, path: "M72 102 C110 90 140 82 170 74 L178 112 L74 118 Z" },
            Region { location: L::PlantarInstep, path: "M76 122 L180 116 L190 158 L60 158 Z" },
            Region {
                location: L::MedialHeel,
                path: "M196 100 L236 96 C250 110 252 130 244 148 C236 158 220 160 200 158 Z",
            },
        ],
    },
    View {
        id: "lateral",
        title: "Lateral (outer side)",
        view_box: "0 0 270 170",
        outline: "M38 8 L100 8 L102 70 C130 80 160 88 200 100 C230 108 256 118 260 136 C262 150 252 162 230 162 L70 162 C50 164 32 162 24 150 C14 128 18 104 34 92 Z",
        labels: &[(232, 100, "toes"), (8, 22, "leg")],
        regions: &[
            Region { location: L::LateralMalleolus, path: "M40 34 L98 34 L100 84 L42 90 Z" },
            Region {
                location: L::LateralHeel,
                path: "M34 96 L70 96 L70 158 C50 160 34 158 26 148 C18 130 22 108 34 96 Z",
            },
            Region { location: L::LateralPlantarMidfoot, path: "M76 124 L200 112 L214 158 L76 158 Z" },
        ],
    },
];

/// The map: the four views, the legend and one labelled checkbox per
/// location (`name="wound_locations"`), `marked` checked.
pub fn foot_map(marked: &[WoundLocation]) -> Markup {
    let mut m = Markup::new();
    html!(m, "<div class=\"footmap\" data-footmap>");
    for view in &VIEWS {
        html!(
            m,
            "<figure class=\"footview\"><svg viewBox=\"{}\" role=\"group\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><path d=\"{}\" fill=\"#f8fafc\" stroke=\"#475569\" stroke-width=\"2\"/>",
            view.view_box,
            format!("{} view of the foot", view.title),
            view.outline
        );
        for r in view.regions {
            let supply = Supply::of(r.location);
            let is_marked = marked.contains(&r.location);
            html!(
                m,
                "<path class=\"region {}{}\" id=\"{}\" data-location=\"{}\" d=\"{}\" fill=\"{}\" stroke=\"#334155\" stroke-width=\"1.2\"><title>{}</title></path>",
                supply.class(),
                if is_marked { " marked" } else { "" },
                format!("map-{}-{}", view.id, r.location.code()),
                r.location.code(),
                r.path,
                supply.fill(),
                format!("{}: {}", r.location.label(), supply.label())
            );
        }
        for (x, y, text) in view.labels {
            html!(m, "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#334155\">{}</text>", *x, *y, *text);
        }
        html!(m, "</svg><figcaption>{}</figcaption></figure>", view.title);
    }
    html!(m, "</div>");
    // Legend.
    html!(m, "<ul class=\"legend\" aria-label=\"Shading: source artery of the angiosome\">");
    for s in [Supply::PosteriorTibial, Supply::AnteriorTibial, Supply::Peroneal, Supply::Dual, Supply::Unassigned] {
        html!(m, "<li><span class=\"swatch {}\"></span>{}</li>", s.class(), s.label());
    }
    html!(m, "<li><span class=\"swatch marked\"></span>marked wound</li></ul>");
    // The real controls.
    html!(
        m,
        "<fieldset class=\"locations\" id=\"field-wound_locations\"><legend>Wound locations (tick each region with a wound, or click it on the map)</legend><div class=\"checks\">"
    );
    for loc in WoundLocation::ALL {
        let supply = Supply::of(loc);
        html!(
            m,
            "<label class=\"check\"><input type=\"checkbox\" name=\"wound_locations\" value=\"{}\" id=\"{}\"{}> {} <span class=\"muted\">({})</span></label>",
            loc.code(),
            format!("loc-{}", loc.code()),
            if marked.contains(&loc) { markup!(" checked") } else { Markup::new() },
            loc.label(),
            supply.label()
        );
    }
    html!(m, "</div></fieldset>");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_location_is_on_the_map_and_has_a_checkbox() {
        let s = foot_map(&[]).into_string();
        for loc in WoundLocation::ALL {
            assert!(s.contains(&format!("data-location=\"{}\"", loc.code())), "{loc:?} missing from the map");
            assert_eq!(s.matches(&format!("id=\"loc-{}\"", loc.code())).count(), 1);
        }
        assert_eq!(s.matches("<svg").count(), 4);
        assert!(!s.contains(" checked"));
    }

    #[test]
    fn shading_follows_the_angiosome_source_artery() {
        // REFERENCES.md §8 via the engine: heel dual supply, dorsum AT, lateral malleolus peroneal, toes unassigned.
        assert_eq!(Supply::of(L::PlantarHeel), Supply::Dual);
        assert_eq!(Supply::of(L::MedialHeel), Supply::PosteriorTibial);
        assert_eq!(Supply::of(L::Dorsum), Supply::AnteriorTibial);
        assert_eq!(Supply::of(L::AnteriorAnkle), Supply::AnteriorTibial);
        assert_eq!(Supply::of(L::LateralMalleolus), Supply::Peroneal);
        assert_eq!(Supply::of(L::LateralHeel), Supply::Peroneal);
        assert_eq!(Supply::of(L::PlantarForefoot), Supply::PosteriorTibial);
        assert_eq!(Supply::of(L::DorsalToes), Supply::Unassigned);
    }

    #[test]
    fn marked_locations_are_checked_and_shown() {
        let s = foot_map(&[L::Dorsum]).into_string();
        assert!(s.contains("id=\"loc-dorsum\" checked"));
        assert!(s.contains("class=\"region sup-at marked\" id=\"map-dorsal-dorsum\""));
        assert!(!s.contains("id=\"loc-plantar_heel\" checked"));
    }
}
