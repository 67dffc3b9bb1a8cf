//! CEAP 2020 (Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352;
//! REFERENCES.md §5.1, VERIFIED): parse, validate and normalise a CEAP string.
//!
//! # Accepted input
//!
//! Four sections in the order C, E, A, P. Each section letter appears once;
//! tokens after a section letter continue that section (`C4b,6r` = C4b and C6r,
//! `Ep,s` = Ep and Es, `As,p` = As and Ap, `Pr,o` = Pr and Po). Tokens are
//! separated by commas and/or whitespace (any run of them is one separator).
//! Only the C section is required (basic CEAP may give only C); the absent
//! sections are listed in `absent_sections` and in the rule text.
//!
//! - **C**: `C0 C1 C2 C2r C3 C4a C4b C4c C5 C6 C6r`. `C4` without a subclass is
//!   accepted with a [`FlagKind::Review`] flag (the 2020 subclass a/b/c is not
//!   given). The symptom status `S` (symptomatic) or `A` (asymptomatic) follows
//!   the last class, glued (`C2,4aS`, `C6rA`) or as its own token
//!   (`C4b,6r,S`); it may be given once, and no class may follow it. No status
//!   is accepted with a [`FlagKind::Incomplete`] flag.
//! - **E**: `Ep Es Esi Ese Ec En` (continuations `p s si se c n`).
//! - **A**: `As Ad Ap An` (continuations `s d p n`), then optionally the 2020
//!   segment abbreviations, after a colon (`Ad:CFV,FV`) or as plain tokens
//!   (`Ad CFV FV`): superficial Tel Ret GSVa GSVb SSV AASV NSV; deep IVC CIV IIV
//!   EIV PELV CFV DFV FV POPV TIBV PRV ATV PTV MUSV GAV SOV; perforator TPV CPV.
//!   Every segment must belong to a listed system.
//! - **P**: `Pr Po Pn` (continuations `r o n`; `Pr,o` = both).
//!
//! # Rules chosen for ambiguities
//!
//! - Section letters and codes are case-insensitive (`c2 ep as pr`, `AD`, `gsva`).
//! - Symptom status vs subclass: after `4`, a lower-case `a` is the subclass
//!   C4a; an upper-case `A` that ends the token is the status (C4 without
//!   subclass, asymptomatic, which also raises the C4 Review flag, whose message
//!   says so); an upper-case `A` followed by more letters (`C4AS`) is the
//!   subclass. `r`/`R` after 2 or 6 and `b`, `c` after 4 are always subclasses.
//! - A lone `S` or `A` token is the symptom status only inside the C section. A
//!   lone upper-case `S`/`A` after the C section is rejected as out of order; a
//!   lone lower-case `s` in E or A continues that section (`Ep,s` = Ep and Es;
//!   `Ad,s` = Ad and As).
//! - Redundant or contradictory combinations are rejected (Inconsistent): `C0`
//!   with any other class; C2 with C2r; C6 with C6r; C4 with C4a/b/c; `En` with
//!   another E; `Es` with its subclasses Esi/Ese; `An` with As/Ad/Ap; `Pn` with
//!   Pr/Po; `S` with `A`; a segment whose system is not listed.
//! - Structural problems (unknown token, code given twice, section given twice,
//!   sections out of order, status not at the end of C, a colon not followed by
//!   segments, a segment outside the A section) are `Unrecognised`. A string
//!   with no C section is `Missing` (or `Unrecognised` as out of order if a C
//!   section comes later).
//! - `highest_class` is the highest C number (0-6); the subclasses and the `r`
//!   modifier are in `clinical`.
//!
//! # Canonical format (`normalised`)
//!
//! Sections separated by single spaces, absent sections omitted:
//! - C: the classes in ascending table order (C0, C1, C2, C2r, C3, C4, C4a, C4b,
//!   C4c, C5, C6, C6r), the first with its `C`, the others without, joined by
//!   commas, the status letter `S`/`A` appended to the last class: `C4b,6rS`.
//! - E: `E` + the codes in the order p, s, si, se, c, n joined by commas: `Ep,si`.
//! - A: `A` + the systems in the order s, d, p, n joined by commas, then, if any
//!   segments, a colon and the segments in the §5.1 table order joined by
//!   commas: `As,d:GSVa,CFV,FV`.
//! - P: `P` + r, o, n joined by commas: `Pr,o`.
//!
//! Example: `C4b,6r,S,Es,Ad,Pr,o` normalises to `C4b,6rS Es Ad Pr,o`.
//! Normalising a normalised string returns it unchanged.
//!
//! Parsing borrows the input (no token is copied); the parsed [`Ceap`] is a
//! `Copy` value of bit sets. Only the output and the error text allocate.

use crate::error::{InvalidInput, Problem, Result};
use crate::explain::{EvidenceStatus, Explain, Explanation, FlagKind, Section, Source};
use serde::{Serialize, Serializer};
use std::fmt;

// source: Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020) | status: VERIFIED
pub static CEAP_SOURCE: Source = Source {
    id: "venous.ceap",
    citation: "Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020)",
    reference: "REFERENCES.md §5.1",
    status: EvidenceStatus::Verified,
    status_note: "",
};

/// The input field every CEAP error names.
const FIELD: &str = "ceap";

const ACCEPT_FORMAT: &str = "sections C, E, A, P in that order, each section letter once, tokens \
     separated by commas or spaces, e.g. C4b,6rS Es Ad:CFV,FV Pr,o";
const ACCEPT_C: &str = "clinical classes C0, C1, C2, C2r, C3, C4a, C4b, C4c, C5, C6, C6r (C4 without \
     a subclass is accepted with a review flag); classes after the first are written without the C \
     (C2,4a); S (symptomatic) or A (asymptomatic) after the last class (C2,4aS or C2,4a,S)";
const ACCEPT_E: &str = "aetiology Ep (primary), Es (secondary), Esi (secondary, intravenous), \
     Ese (secondary, extravenous), Ec (congenital), En (no cause identified); further codes \
     without the E (Ep,s)";
const ACCEPT_A: &str = "anatomy As (superficial), Ad (deep), Ap (perforator), An (no venous anatomic \
     location identified); further systems without the A (As,p); then optionally segments after a \
     colon (Ad:CFV,FV): superficial Tel, Ret, GSVa, GSVb, SSV, AASV, NSV; deep IVC, CIV, IIV, EIV, \
     PELV, CFV, DFV, FV, POPV, TIBV, PRV, ATV, PTV, MUSV, GAV, SOV; perforator TPV, CPV";
const ACCEPT_P: &str = "pathophysiology Pr (reflux), Po (obstruction), Pr,o (both), Pn (none identified)";

/// A CEAP section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CeapSection {
    C,
    E,
    A,
    P,
}

impl CeapSection {
    pub const ALL: [CeapSection; 4] = [CeapSection::C, CeapSection::E, CeapSection::A, CeapSection::P];

    pub const fn code(self) -> &'static str {
        match self {
            CeapSection::C => "C",
            CeapSection::E => "E",
            CeapSection::A => "A",
            CeapSection::P => "P",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            CeapSection::C => "clinical",
            CeapSection::E => "aetiology",
            CeapSection::A => "anatomy",
            CeapSection::P => "pathophysiology",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    fn accepted(self) -> &'static str {
        match self {
            CeapSection::C => ACCEPT_C,
            CeapSection::E => ACCEPT_E,
            CeapSection::A => ACCEPT_A,
            CeapSection::P => ACCEPT_P,
        }
    }
}

/// Serialise a CEAP vocabulary value as its published code (`"C4b"`, `"Esi"`,
/// `"GSVa"`), and display it the same way.
macro_rules! code_serialised {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    )*};
}
code_serialised!(CeapSection, ClinicalClass, Aetiology, AnatomySystem, AnatomySegment, Pathophysiology);

/// CEAP 2020 clinical class. The declaration order is the ascending order used
/// in the canonical string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClinicalClass {
    C0,
    C1,
    C2,
    C2r,
    C3,
    /// C4 without the 2020 subclass: accepted with a Review flag.
    C4,
    C4a,
    C4b,
    C4c,
    C5,
    C6,
    C6r,
}

impl ClinicalClass {
    pub const ALL: [ClinicalClass; 12] = [
        ClinicalClass::C0,
        ClinicalClass::C1,
        ClinicalClass::C2,
        ClinicalClass::C2r,
        ClinicalClass::C3,
        ClinicalClass::C4,
        ClinicalClass::C4a,
        ClinicalClass::C4b,
        ClinicalClass::C4c,
        ClinicalClass::C5,
        ClinicalClass::C6,
        ClinicalClass::C6r,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            ClinicalClass::C0 => "C0",
            ClinicalClass::C1 => "C1",
            ClinicalClass::C2 => "C2",
            ClinicalClass::C2r => "C2r",
            ClinicalClass::C3 => "C3",
            ClinicalClass::C4 => "C4",
            ClinicalClass::C4a => "C4a",
            ClinicalClass::C4b => "C4b",
            ClinicalClass::C4c => "C4c",
            ClinicalClass::C5 => "C5",
            ClinicalClass::C6 => "C6",
            ClinicalClass::C6r => "C6r",
        }
    }

    /// The code without its `C`, as written after the first class (`4b`).
    pub const fn short(self) -> &'static str {
        match self {
            ClinicalClass::C0 => "0",
            ClinicalClass::C1 => "1",
            ClinicalClass::C2 => "2",
            ClinicalClass::C2r => "2r",
            ClinicalClass::C3 => "3",
            ClinicalClass::C4 => "4",
            ClinicalClass::C4a => "4a",
            ClinicalClass::C4b => "4b",
            ClinicalClass::C4c => "4c",
            ClinicalClass::C5 => "5",
            ClinicalClass::C6 => "6",
            ClinicalClass::C6r => "6r",
        }
    }

    /// The C number, 0-6.
    pub const fn number(self) -> u8 {
        match self {
            ClinicalClass::C0 => 0,
            ClinicalClass::C1 => 1,
            ClinicalClass::C2 | ClinicalClass::C2r => 2,
            ClinicalClass::C3 => 3,
            ClinicalClass::C4 | ClinicalClass::C4a | ClinicalClass::C4b | ClinicalClass::C4c => 4,
            ClinicalClass::C5 => 5,
            ClinicalClass::C6 | ClinicalClass::C6r => 6,
        }
    }

    // source: Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020) | status: VERIFIED
    pub const fn definition(self) -> &'static str {
        match self {
            ClinicalClass::C0 => "no visible or palpable signs of venous disease",
            ClinicalClass::C1 => "telangiectasias or reticular veins",
            ClinicalClass::C2 => "varicose veins",
            ClinicalClass::C2r => "recurrent varicose veins",
            ClinicalClass::C3 => "oedema",
            ClinicalClass::C4 => {
                "changes in skin and subcutaneous tissue secondary to chronic venous disease (subclass not given)"
            }
            ClinicalClass::C4a => "pigmentation or eczema",
            ClinicalClass::C4b => "lipodermatosclerosis or atrophie blanche",
            ClinicalClass::C4c => "corona phlebectatica",
            ClinicalClass::C5 => "healed venous ulcer",
            ClinicalClass::C6 => "active venous ulcer",
            ClinicalClass::C6r => "recurrent active venous ulcer",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// CEAP 2020 aetiology (E).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Aetiology {
    Ep,
    Es,
    Esi,
    Ese,
    Ec,
    En,
}

impl Aetiology {
    pub const ALL: [Aetiology; 6] =
        [Aetiology::Ep, Aetiology::Es, Aetiology::Esi, Aetiology::Ese, Aetiology::Ec, Aetiology::En];

    pub const fn code(self) -> &'static str {
        match self {
            Aetiology::Ep => "Ep",
            Aetiology::Es => "Es",
            Aetiology::Esi => "Esi",
            Aetiology::Ese => "Ese",
            Aetiology::Ec => "Ec",
            Aetiology::En => "En",
        }
    }

    /// The code without its `E`.
    pub const fn short(self) -> &'static str {
        match self {
            Aetiology::Ep => "p",
            Aetiology::Es => "s",
            Aetiology::Esi => "si",
            Aetiology::Ese => "se",
            Aetiology::Ec => "c",
            Aetiology::En => "n",
        }
    }

    // source: Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020) | status: VERIFIED
    pub const fn definition(self) -> &'static str {
        match self {
            Aetiology::Ep => "primary",
            Aetiology::Es => "secondary",
            Aetiology::Esi => "secondary, intravenous",
            Aetiology::Ese => "secondary, extravenous",
            Aetiology::Ec => "congenital",
            Aetiology::En => "no cause identified",
        }
    }

    fn from_short(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.short().eq_ignore_ascii_case(s))
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// CEAP 2020 anatomical system (A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnatomySystem {
    As,
    Ad,
    Ap,
    An,
}

impl AnatomySystem {
    pub const ALL: [AnatomySystem; 4] = [AnatomySystem::As, AnatomySystem::Ad, AnatomySystem::Ap, AnatomySystem::An];

    pub const fn code(self) -> &'static str {
        match self {
            AnatomySystem::As => "As",
            AnatomySystem::Ad => "Ad",
            AnatomySystem::Ap => "Ap",
            AnatomySystem::An => "An",
        }
    }

    /// The code without its `A`.
    pub const fn short(self) -> &'static str {
        match self {
            AnatomySystem::As => "s",
            AnatomySystem::Ad => "d",
            AnatomySystem::Ap => "p",
            AnatomySystem::An => "n",
        }
    }

    // source: Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020) | status: VERIFIED
    pub const fn definition(self) -> &'static str {
        match self {
            AnatomySystem::As => "superficial",
            AnatomySystem::Ad => "deep",
            AnatomySystem::Ap => "perforator",
            AnatomySystem::An => "no venous anatomic location identified",
        }
    }

    fn from_short(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.short().eq_ignore_ascii_case(s))
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// CEAP 2020 anatomical segment abbreviation (replacing the 1-18 numbers).
/// Declaration order is the §5.1 table order, used in the canonical string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnatomySegment {
    Tel,
    Ret,
    GsvA,
    GsvB,
    Ssv,
    Aasv,
    Nsv,
    Ivc,
    Civ,
    Iiv,
    Eiv,
    Pelv,
    Cfv,
    Dfv,
    Fv,
    Popv,
    Tibv,
    Prv,
    Atv,
    Ptv,
    Musv,
    Gav,
    Sov,
    Tpv,
    Cpv,
}

impl AnatomySegment {
    pub const ALL: [AnatomySegment; 25] = [
        AnatomySegment::Tel,
        AnatomySegment::Ret,
        AnatomySegment::GsvA,
        AnatomySegment::GsvB,
        AnatomySegment::Ssv,
        AnatomySegment::Aasv,
        AnatomySegment::Nsv,
        AnatomySegment::Ivc,
        AnatomySegment::Civ,
        AnatomySegment::Iiv,
        AnatomySegment::Eiv,
        AnatomySegment::Pelv,
        AnatomySegment::Cfv,
        AnatomySegment::Dfv,
        AnatomySegment::Fv,
        AnatomySegment::Popv,
        AnatomySegment::Tibv,
        AnatomySegment::Prv,
        AnatomySegment::Atv,
        AnatomySegment::Ptv,
        AnatomySegment::Musv,
        AnatomySegment::Gav,
        AnatomySegment::Sov,
        AnatomySegment::Tpv,
        AnatomySegment::Cpv,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            AnatomySegment::Tel => "Tel",
            AnatomySegment::Ret => "Ret",
            AnatomySegment::GsvA => "GSVa",
            AnatomySegment::GsvB => "GSVb",
            AnatomySegment::Ssv => "SSV",
            AnatomySegment::Aasv => "AASV",
            AnatomySegment::Nsv => "NSV",
            AnatomySegment::Ivc => "IVC",
            AnatomySegment::Civ => "CIV",
            AnatomySegment::Iiv => "IIV",
            AnatomySegment::Eiv => "EIV",
            AnatomySegment::Pelv => "PELV",
            AnatomySegment::Cfv => "CFV",
            AnatomySegment::Dfv => "DFV",
            AnatomySegment::Fv => "FV",
            AnatomySegment::Popv => "POPV",
            AnatomySegment::Tibv => "TIBV",
            AnatomySegment::Prv => "PRV",
            AnatomySegment::Atv => "ATV",
            AnatomySegment::Ptv => "PTV",
            AnatomySegment::Musv => "MUSV",
            AnatomySegment::Gav => "GAV",
            AnatomySegment::Sov => "SOV",
            AnatomySegment::Tpv => "TPV",
            AnatomySegment::Cpv => "CPV",
        }
    }

    // source: Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020) | status: VERIFIED
    /// The system the segment belongs to (REFERENCES §5.1 lists each segment
    /// under exactly one of As, Ad, Ap).
    pub const fn system(self) -> AnatomySystem {
        match self {
            AnatomySegment::Tel
            | AnatomySegment::Ret
            | AnatomySegment::GsvA
            | AnatomySegment::GsvB
            | AnatomySegment::Ssv
            | AnatomySegment::Aasv
            | AnatomySegment::Nsv => AnatomySystem::As,
            AnatomySegment::Ivc
            | AnatomySegment::Civ
            | AnatomySegment::Iiv
            | AnatomySegment::Eiv
            | AnatomySegment::Pelv
            | AnatomySegment::Cfv
            | AnatomySegment::Dfv
            | AnatomySegment::Fv
            | AnatomySegment::Popv
            | AnatomySegment::Tibv
            | AnatomySegment::Prv
            | AnatomySegment::Atv
            | AnatomySegment::Ptv
            | AnatomySegment::Musv
            | AnatomySegment::Gav
            | AnatomySegment::Sov => AnatomySystem::Ad,
            AnatomySegment::Tpv | AnatomySegment::Cpv => AnatomySystem::Ap,
        }
    }

    fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code().eq_ignore_ascii_case(s))
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// CEAP 2020 pathophysiology (P).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pathophysiology {
    Pr,
    Po,
    Pn,
}

impl Pathophysiology {
    pub const ALL: [Pathophysiology; 3] = [Pathophysiology::Pr, Pathophysiology::Po, Pathophysiology::Pn];

    pub const fn code(self) -> &'static str {
        match self {
            Pathophysiology::Pr => "Pr",
            Pathophysiology::Po => "Po",
            Pathophysiology::Pn => "Pn",
        }
    }

    /// The code without its `P`.
    pub const fn short(self) -> &'static str {
        match self {
            Pathophysiology::Pr => "r",
            Pathophysiology::Po => "o",
            Pathophysiology::Pn => "n",
        }
    }

    // source: Lurie F et al., J Vasc Surg Venous Lymphat Disord 2020;8:342-352 (CEAP 2020) | status: VERIFIED
    pub const fn definition(self) -> &'static str {
        match self {
            Pathophysiology::Pr => "reflux",
            Pathophysiology::Po => "obstruction",
            Pathophysiology::Pn => "none identified",
        }
    }

    fn from_short(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.short().eq_ignore_ascii_case(s))
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A parsed, validated CEAP classification. `Display` writes the canonical
/// string (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceap {
    classes: u16,
    symptomatic: Option<bool>,
    aetiology: u8,
    anatomy: u8,
    segments: u32,
    pathophysiology: u8,
}

impl Ceap {
    /// Nothing parsed yet (not a valid classification: never returned).
    const EMPTY: Ceap =
        Ceap { classes: 0, symptomatic: None, aetiology: 0, anatomy: 0, segments: 0, pathophysiology: 0 };

    /// Clinical classes in ascending order.
    pub fn clinical(&self) -> impl Iterator<Item = ClinicalClass> + use<> {
        let bits = self.classes;
        ClinicalClass::ALL.into_iter().filter(move |c| bits & c.bit() != 0)
    }

    /// The highest C number present (0-6).
    pub fn highest_class(&self) -> u8 {
        self.clinical().fold(0, |m, c| m.max(c.number()))
    }

    /// `Some(true)` for S, `Some(false)` for A, `None` when not given.
    pub fn symptomatic(&self) -> Option<bool> {
        self.symptomatic
    }

    pub fn aetiology(&self) -> impl Iterator<Item = Aetiology> + use<> {
        let bits = self.aetiology;
        Aetiology::ALL.into_iter().filter(move |c| bits & c.bit() != 0)
    }

    pub fn anatomy(&self) -> impl Iterator<Item = AnatomySystem> + use<> {
        let bits = self.anatomy;
        AnatomySystem::ALL.into_iter().filter(move |c| bits & c.bit() != 0)
    }

    pub fn anatomy_segments(&self) -> impl Iterator<Item = AnatomySegment> + use<> {
        let bits = self.segments;
        AnatomySegment::ALL.into_iter().filter(move |c| bits & c.bit() != 0)
    }

    pub fn pathophysiology(&self) -> impl Iterator<Item = Pathophysiology> + use<> {
        let bits = self.pathophysiology;
        Pathophysiology::ALL.into_iter().filter(move |c| bits & c.bit() != 0)
    }

    /// Whether a section was given (C always is in a parsed value).
    pub fn has_section(&self, section: CeapSection) -> bool {
        match section {
            CeapSection::C => self.classes != 0,
            CeapSection::E => self.aetiology != 0,
            CeapSection::A => self.anatomy != 0,
            CeapSection::P => self.pathophysiology != 0,
        }
    }

    fn has_class(&self, c: ClinicalClass) -> bool {
        self.classes & c.bit() != 0
    }
    fn has_e(&self, e: Aetiology) -> bool {
        self.aetiology & e.bit() != 0
    }
    fn has_a(&self, a: AnatomySystem) -> bool {
        self.anatomy & a.bit() != 0
    }
    fn has_p(&self, p: Pathophysiology) -> bool {
        self.pathophysiology & p.bit() != 0
    }
}

/// Write `first_code` then `,short` for the rest.
fn write_list<T: Copy>(
    f: &mut fmt::Formatter<'_>,
    items: impl Iterator<Item = T>,
    first: impl Fn(T) -> &'static str,
    rest: impl Fn(T) -> &'static str,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i == 0 {
            f.write_str(first(item))?;
        } else {
            f.write_str(",")?;
            f.write_str(rest(item))?;
        }
    }
    Ok(())
}

impl fmt::Display for Ceap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, self.clinical(), ClinicalClass::code, ClinicalClass::short)?;
        match self.symptomatic {
            Some(true) => f.write_str("S")?,
            Some(false) => f.write_str("A")?,
            None => {}
        }
        if self.has_section(CeapSection::E) {
            f.write_str(" ")?;
            write_list(f, self.aetiology(), Aetiology::code, Aetiology::short)?;
        }
        if self.has_section(CeapSection::A) {
            f.write_str(" ")?;
            write_list(f, self.anatomy(), AnatomySystem::code, AnatomySystem::short)?;
            if self.segments != 0 {
                f.write_str(":")?;
                write_list(f, self.anatomy_segments(), AnatomySegment::code, AnatomySegment::code)?;
            }
        }
        if self.has_section(CeapSection::P) {
            f.write_str(" ")?;
            write_list(f, self.pathophysiology(), Pathophysiology::code, Pathophysiology::short)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Tokeniser: borrowed slices, no allocation.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    Colon,
}

#[derive(Debug, Clone, Copy)]
struct Tokens<'a> {
    rest: &'a str,
}

fn is_separator(c: char) -> bool {
    c == ',' || c.is_whitespace()
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let s = self.rest.trim_start_matches(is_separator);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        if let Some(after) = s.strip_prefix(':') {
            self.rest = after;
            return Some(Tok::Colon);
        }
        // `find` returns a char boundary, so the split cannot fail.
        let end = s.find(|c: char| is_separator(c) || c == ':').unwrap_or(s.len());
        let (word, rest) = s.split_at_checked(end).unwrap_or((s, ""));
        self.rest = rest;
        Some(Tok::Word(word))
    }
}

/// A token that opens the C section: `C`/`c` followed by a digit.
fn is_c_start(word: &str) -> bool {
    matches!(word.as_bytes(), [b'c' | b'C', d, ..] if d.is_ascii_digit())
}

/// The section a token opens, by its first letter, and the rest of the token.
fn section_start(word: &str) -> Option<(CeapSection, &str)> {
    let section = match word.as_bytes().first()?.to_ascii_uppercase() {
        b'C' => CeapSection::C,
        b'E' => CeapSection::E,
        b'A' => CeapSection::A,
        b'P' => CeapSection::P,
        _ => return None,
    };
    // The first byte is ASCII, so byte 1 is a char boundary.
    Some((section, word.get(1..)?))
}

/// One clinical class written without its C, with an optional glued S/A:
/// `4b`, `6rS`, `2`, `4aA`. See the module doc for the C4a / C4A rule.
fn parse_class(body: &str) -> Option<(ClinicalClass, Option<bool>)> {
    let (&digit, rest) = body.as_bytes().split_first()?;
    let (class, rest) = match digit {
        b'0' => (ClinicalClass::C0, rest),
        b'1' => (ClinicalClass::C1, rest),
        b'2' => match rest {
            [b'r' | b'R', tail @ ..] => (ClinicalClass::C2r, tail),
            _ => (ClinicalClass::C2, rest),
        },
        b'3' => (ClinicalClass::C3, rest),
        b'4' => match rest {
            [b'a', tail @ ..] => (ClinicalClass::C4a, tail),
            [b'A', tail @ ..] if !tail.is_empty() => (ClinicalClass::C4a, tail),
            [b'b' | b'B', tail @ ..] => (ClinicalClass::C4b, tail),
            [b'c' | b'C', tail @ ..] => (ClinicalClass::C4c, tail),
            _ => (ClinicalClass::C4, rest),
        },
        b'5' => (ClinicalClass::C5, rest),
        b'6' => match rest {
            [b'r' | b'R', tail @ ..] => (ClinicalClass::C6r, tail),
            _ => (ClinicalClass::C6, rest),
        },
        _ => return None,
    };
    let status = match rest {
        [] => None,
        [b's' | b'S'] => Some(true),
        [b'a' | b'A'] => Some(false),
        _ => return None,
    };
    Some((class, status))
}

fn unrecognised(value: &str, accepted: impl Into<String>) -> InvalidInput {
    InvalidInput::unrecognised(FIELD, value, accepted)
}

fn inconsistent(value: impl ToString, why: impl Into<String>) -> InvalidInput {
    InvalidInput::inconsistent(FIELD, value, why)
}

struct Parser<'a> {
    input: &'a str,
    tokens: Tokens<'a>,
    ceap: Ceap,
    section: Option<CeapSection>,
    seen: u8,
    /// S or A was given: no further class may follow.
    status_closed: bool,
    /// In the A section, segments have started: no further system letters.
    segment_mode: bool,
    /// A colon was read and no segment has followed it yet.
    colon_open: bool,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Parser {
            input,
            tokens: Tokens { rest: input },
            ceap: Ceap::EMPTY,
            section: None,
            seen: 0,
            status_closed: false,
            segment_mode: false,
            colon_open: false,
        }
    }

    fn run(mut self) -> Result<Ceap> {
        while let Some(tok) = self.tokens.next() {
            self.token(tok)?;
        }
        self.finish()
    }

    fn token(&mut self, tok: Tok<'a>) -> Result<()> {
        let word = match tok {
            Tok::Colon => {
                if self.section == Some(CeapSection::A) && !self.segment_mode {
                    self.segment_mode = true;
                    self.colon_open = true;
                    return Ok(());
                }
                return Err(unrecognised(
                    ":",
                    format!("a colon only introduces the segments after the A systems (Ad:CFV,FV); {ACCEPT_FORMAT}"),
                ));
            }
            Tok::Word(w) => w,
        };

        if self.colon_open {
            return match AnatomySegment::from_code(word) {
                Some(segment) => self.add_segment(segment, word),
                None => {
                    Err(unrecognised(word, format!("a colon in the A section is followed by segments: {ACCEPT_A}")))
                }
            };
        }

        // 1. The symptom status as its own token.
        if word == "S" || word == "A" || (self.section == Some(CeapSection::C) && (word == "s" || word == "a")) {
            return self.status(word.eq_ignore_ascii_case("s"), word);
        }

        // 2. A continuation of the current section.
        match self.section {
            Some(CeapSection::C) if word.as_bytes().first().is_some_and(u8::is_ascii_digit) => {
                return self.class_token(word, word);
            }
            Some(CeapSection::E) => {
                if let Some(e) = Aetiology::from_short(word) {
                    return self.add_e(e, word);
                }
            }
            Some(CeapSection::A) if !self.segment_mode => {
                if let Some(a) = AnatomySystem::from_short(word) {
                    return self.add_a(a, word);
                }
            }
            Some(CeapSection::P) => {
                if let Some(p) = Pathophysiology::from_short(word) {
                    return self.add_p(p, word);
                }
            }
            _ => {}
        }

        // 3. An anatomical segment.
        if let Some(segment) = AnatomySegment::from_code(word) {
            if self.section == Some(CeapSection::A) {
                self.segment_mode = true;
                return self.add_segment(segment, word);
            }
            return Err(unrecognised(
                word,
                format!(
                    "anatomical segments are listed in the A section after their system, e.g. {}:{}",
                    segment.system(),
                    segment
                ),
            ));
        }

        // 4. A new section.
        if let Some((section, body)) = section_start(word) {
            return self.start_section(section, body, word);
        }

        // 5. Nothing we know.
        Err(self.unknown(word))
    }

    fn unknown(&self, word: &str) -> InvalidInput {
        match self.section {
            None => {
                unrecognised(word, format!("a CEAP string starting with the C section; {ACCEPT_FORMAT}; {ACCEPT_C}"))
            }
            Some(section) => unrecognised(
                word,
                format!(
                    "in the {} section: {}; or the next section; {ACCEPT_FORMAT}",
                    section.name(),
                    section.accepted()
                ),
            ),
        }
    }

    fn status(&mut self, symptomatic: bool, word: &str) -> Result<()> {
        match self.section {
            Some(CeapSection::C) => {}
            None => return Err(self.no_c_section()),
            Some(section) => {
                return Err(unrecognised(
                    word,
                    format!(
                        "the symptom status S or A follows the last clinical class (C2,4aS or C2,4a,S), \
                         not the {} section; {ACCEPT_FORMAT}",
                        section.name()
                    ),
                ));
            }
        }
        match self.ceap.symptomatic {
            None => {
                self.ceap.symptomatic = Some(symptomatic);
                self.status_closed = true;
                Ok(())
            }
            Some(previous) if previous == symptomatic => {
                Err(unrecognised(word, "the symptom status S or A is given once, after the last clinical class"))
            }
            Some(_) => Err(inconsistent("S with A", "a limb is either symptomatic (S) or asymptomatic (A), not both")),
        }
    }

    /// A clinical class token; `body` is the class without its C.
    fn class_token(&mut self, body: &str, word: &str) -> Result<()> {
        let Some((class, status)) = parse_class(body) else {
            return Err(unrecognised(word, format!("{ACCEPT_C}; {ACCEPT_FORMAT}")));
        };
        if self.status_closed {
            return Err(unrecognised(
                word,
                "the symptom status S or A follows the last clinical class: write the classes first (C2,4aS)",
            ));
        }
        if self.ceap.has_class(class) {
            return Err(unrecognised(word, format!("{class} is given twice; each class is listed once")));
        }
        self.ceap.classes |= class.bit();
        if let Some(symptomatic) = status {
            self.status(symptomatic, word)?;
        }
        Ok(())
    }

    fn add_e(&mut self, e: Aetiology, word: &str) -> Result<()> {
        if self.ceap.has_e(e) {
            return Err(unrecognised(word, format!("{e} is given twice; each code is listed once")));
        }
        self.ceap.aetiology |= e.bit();
        Ok(())
    }

    fn add_a(&mut self, a: AnatomySystem, word: &str) -> Result<()> {
        if self.ceap.has_a(a) {
            return Err(unrecognised(word, format!("{a} is given twice; each code is listed once")));
        }
        self.ceap.anatomy |= a.bit();
        Ok(())
    }

    fn add_p(&mut self, p: Pathophysiology, word: &str) -> Result<()> {
        if self.ceap.has_p(p) {
            return Err(unrecognised(word, format!("{p} is given twice; each code is listed once")));
        }
        self.ceap.pathophysiology |= p.bit();
        Ok(())
    }

    fn add_segment(&mut self, segment: AnatomySegment, word: &str) -> Result<()> {
        self.colon_open = false;
        if self.ceap.segments & segment.bit() != 0 {
            return Err(unrecognised(word, format!("{segment} is given twice; each segment is listed once")));
        }
        self.ceap.segments |= segment.bit();
        Ok(())
    }

    /// The string does not start with a C section: out of order if one comes
    /// later, missing otherwise.
    fn no_c_section(&self) -> InvalidInput {
        let mut rest = self.tokens;
        if rest.any(|t| matches!(t, Tok::Word(w) if is_c_start(w))) {
            unrecognised(self.input, format!("the C section comes first; {ACCEPT_FORMAT}"))
        } else {
            InvalidInput::new(
                FIELD,
                Some(self.input.to_owned()),
                Problem::Missing,
                format!("the C (clinical) section is required; {ACCEPT_FORMAT}; {ACCEPT_C}"),
            )
        }
    }

    fn start_section(&mut self, section: CeapSection, body: &str, word: &str) -> Result<()> {
        match self.section {
            None if section != CeapSection::C => return Err(self.no_c_section()),
            Some(_) if self.seen & section.bit() != 0 => {
                return Err(unrecognised(
                    word,
                    format!(
                        "the {} section is given twice; further {} codes follow the first without the letter \
                         (e.g. C2,4a  Ep,s  As,p  Pr,o); {ACCEPT_FORMAT}",
                        section.code(),
                        section.name()
                    ),
                ));
            }
            Some(current) if section < current => {
                return Err(unrecognised(
                    word,
                    format!(
                        "sections out of order: {} cannot follow {}; {ACCEPT_FORMAT}",
                        section.code(),
                        current.code()
                    ),
                ));
            }
            _ => {}
        }
        let accepted = format!("{}; {ACCEPT_FORMAT}", section.accepted());
        let accepted = accepted.as_str();
        match section {
            CeapSection::C => {
                let (class, status) = parse_class(body).ok_or_else(|| unrecognised(word, accepted))?;
                self.enter(section);
                self.ceap.classes |= class.bit();
                if let Some(symptomatic) = status {
                    self.status(symptomatic, word)?;
                }
                Ok(())
            }
            CeapSection::E => {
                let e = Aetiology::from_short(body).ok_or_else(|| unrecognised(word, accepted))?;
                self.enter(section);
                self.add_e(e, word)
            }
            CeapSection::A => {
                let a = AnatomySystem::from_short(body).ok_or_else(|| unrecognised(word, accepted))?;
                self.enter(section);
                self.add_a(a, word)
            }
            CeapSection::P => {
                let p = Pathophysiology::from_short(body).ok_or_else(|| unrecognised(word, accepted))?;
                self.enter(section);
                self.add_p(p, word)
            }
        }
    }

    fn enter(&mut self, section: CeapSection) {
        self.section = Some(section);
        self.seen |= section.bit();
        self.segment_mode = false;
    }

    fn finish(self) -> Result<Ceap> {
        if self.colon_open {
            return Err(unrecognised(":", format!("a colon in the A section is followed by segments: {ACCEPT_A}")));
        }
        if self.section.is_none() {
            return Err(InvalidInput::missing(FIELD, format!("a CEAP string; {ACCEPT_FORMAT}; {ACCEPT_C}")));
        }
        check_consistency(&self.ceap)?;
        Ok(self.ceap)
    }
}

/// Combinations CEAP 2020 does not allow (or that are redundant).
fn check_consistency(c: &Ceap) -> Result<()> {
    use ClinicalClass as K;
    if c.has_class(K::C0) && c.classes != K::C0.bit() {
        let other = c.clinical().find(|k| *k != K::C0).unwrap_or(K::C0);
        return Err(inconsistent(
            format!("C0 with {other}"),
            "C0 (no visible or palpable signs of venous disease) cannot be combined with another clinical class",
        ));
    }
    for (plain, recurrent) in [(K::C2, K::C2r), (K::C6, K::C6r)] {
        if c.has_class(plain) && c.has_class(recurrent) {
            return Err(inconsistent(
                format!("{plain} with {recurrent}"),
                format!("give either {plain} or {recurrent} ({}), not both", recurrent.definition()),
            ));
        }
    }
    if c.has_class(K::C4)
        && let Some(sub) = [K::C4a, K::C4b, K::C4c].into_iter().find(|k| c.has_class(*k))
    {
        return Err(inconsistent(
            format!("C4 with {sub}"),
            "give C4 either with its 2020 subclasses (C4a, C4b, C4c) or without, not both",
        ));
    }
    if c.has_e(Aetiology::En) && c.aetiology != Aetiology::En.bit() {
        let other = c.aetiology().find(|e| *e != Aetiology::En).unwrap_or(Aetiology::En);
        return Err(inconsistent(
            format!("En with {other}"),
            "En (no cause identified) cannot be combined with another aetiology",
        ));
    }
    if c.has_e(Aetiology::Es)
        && let Some(sub) = [Aetiology::Esi, Aetiology::Ese].into_iter().find(|e| c.has_e(*e))
    {
        return Err(inconsistent(
            format!("Es with {sub}"),
            "give Es (secondary) or its 2020 subclasses Esi/Ese, not both",
        ));
    }
    if c.has_a(AnatomySystem::An) && c.anatomy != AnatomySystem::An.bit() {
        let other = c.anatomy().find(|a| *a != AnatomySystem::An).unwrap_or(AnatomySystem::An);
        return Err(inconsistent(
            format!("An with {other}"),
            "An (no venous anatomic location identified) cannot be combined with As, Ad or Ap",
        ));
    }
    if c.has_p(Pathophysiology::Pn) && c.pathophysiology != Pathophysiology::Pn.bit() {
        let other = c.pathophysiology().find(|p| *p != Pathophysiology::Pn).unwrap_or(Pathophysiology::Pn);
        return Err(inconsistent(
            format!("Pn with {other}"),
            "Pn (no venous pathophysiology identified) cannot be combined with Pr or Po",
        ));
    }
    if let Some(segment) = c.anatomy_segments().find(|s| !c.has_a(s.system())) {
        let system = segment.system();
        return Err(inconsistent(
            segment,
            format!(
                "{segment} is a {} ({system}) segment but {system} is not listed in the A section; add {system} or remove {segment}",
                system.definition()
            ),
        ));
    }
    Ok(())
}

/// Parse and validate a CEAP string. Never panics; allocates only for an error.
pub fn parse(text: &str) -> Result<Ceap> {
    Parser::new(text).run()
}

/// The canonical form of a CEAP string (see the module doc).
pub fn normalise(text: &str) -> Result<String> {
    parse(text).map(|c| c.to_string())
}

// ---------------------------------------------------------------------------
// Engine entry point.

/// Input: one CEAP string.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// A full or basic CEAP string, e.g. `C4b,6r,S,Es,Ad,Pr,o`.
    pub ceap: String,
}

/// The parsed classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Canonical string, e.g. `C4b,6rS Es Ad Pr,o`.
    pub normalised: String,
    /// Clinical classes in ascending order (`["C4b", "C6r"]`).
    pub clinical: Vec<ClinicalClass>,
    /// Highest C number, 0-6.
    pub highest_class: u8,
    /// S = true, A = false, null when not given.
    pub symptomatic: Option<bool>,
    /// Aetiology codes (`["Es"]`).
    pub aetiology: Vec<Aetiology>,
    /// Anatomical systems (`["Ad"]`).
    pub anatomy: Vec<AnatomySystem>,
    /// Anatomical segment abbreviations in §5.1 order (`["CFV", "FV"]`).
    pub anatomy_segments: Vec<AnatomySegment>,
    /// Pathophysiology codes (`["Pr", "Po"]`).
    pub pathophysiology: Vec<Pathophysiology>,
    /// Sections not given (`["E", "A", "P"]` for a basic C-only string).
    pub absent_sections: Vec<CeapSection>,
    pub explanation: Explanation,
}

fn join_defined<T: fmt::Display>(items: impl Iterator<Item = T>, definition: impl Fn(&T) -> &'static str) -> String {
    let parts: Vec<String> = items.map(|i| format!("{i} ({})", definition(&i))).collect();
    parts.join(", ")
}

/// Classify one CEAP string.
pub fn classify(input: &Input) -> Result<Output> {
    let ceap = parse(&input.ceap)?;
    let normalised = ceap.to_string();
    let absent_sections: Vec<CeapSection> = CeapSection::ALL.into_iter().filter(|s| !ceap.has_section(*s)).collect();

    let symptom_text = match ceap.symptomatic() {
        Some(true) => "S (symptomatic)",
        Some(false) => "A (asymptomatic)",
        None => "symptom status not given",
    };
    let mut rule = format!(
        "CEAP 2020 read section by section: clinical {}; {symptom_text}; highest clinical class C{}",
        join_defined(ceap.clinical(), |c| c.definition()),
        ceap.highest_class()
    );
    if ceap.has_section(CeapSection::E) {
        rule.push_str("; aetiology ");
        rule.push_str(&join_defined(ceap.aetiology(), |e| e.definition()));
    }
    if ceap.has_section(CeapSection::A) {
        rule.push_str("; anatomy ");
        rule.push_str(&join_defined(ceap.anatomy(), |a| a.definition()));
        if ceap.segments != 0 {
            let segments: Vec<&str> = ceap.anatomy_segments().map(AnatomySegment::code).collect();
            rule.push_str(", segments ");
            rule.push_str(&segments.join(", "));
        }
    }
    if ceap.has_section(CeapSection::P) {
        rule.push_str("; pathophysiology ");
        rule.push_str(&join_defined(ceap.pathophysiology(), |p| p.definition()));
    }
    if !absent_sections.is_empty() {
        let absent: Vec<String> = absent_sections.iter().map(|s| format!("{} ({})", s.code(), s.name())).collect();
        rule.push_str("; sections not given: ");
        rule.push_str(&absent.join(", "));
    }
    rule.push_str(&format!("; normalised form {normalised}"));

    let mut explanation = Explanation::new(&CEAP_SOURCE, rule).input("ceap", input.ceap.clone());
    if ceap.has_class(ClinicalClass::C4) {
        explanation.push_flag(
            FlagKind::Review,
            "C4 is given without its 2020 subclass (C4a pigmentation or eczema, C4b lipodermatosclerosis \
             or atrophie blanche, C4c corona phlebectatica); record the subclass. An upper-case A directly \
             after C4 (C4A) is read as the status asymptomatic, not as C4a.",
        );
    }
    if ceap.symptomatic().is_none() {
        explanation.push_flag(
            FlagKind::Incomplete,
            "Symptom status was not given: CEAP 2020 suffixes the clinical classes with S (symptomatic) \
             or A (asymptomatic).",
        );
    }

    Ok(Output {
        clinical: ceap.clinical().collect(),
        highest_class: ceap.highest_class(),
        symptomatic: ceap.symptomatic(),
        aetiology: ceap.aetiology().collect(),
        anatomy: ceap.anatomy().collect(),
        anatomy_segments: ceap.anatomy_segments().collect(),
        pathophysiology: ceap.pathophysiology().collect(),
        absent_sections,
        normalised,
        explanation,
    })
}

impl Explain for Output {
    fn sections(&self) -> Vec<Section<'_>> {
        vec![Section {
            label: "CEAP 2020",
            result: format!("{} (highest clinical class C{})", self.normalised, self.highest_class),
            explanation: &self.explanation,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AnatomySegment as Seg;
    use ClinicalClass as K;
    use proptest::prelude::*;

    fn ok(text: &str) -> Output {
        match classify(&Input { ceap: text.to_owned() }) {
            Ok(out) => out,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    fn err(text: &str) -> InvalidInput {
        match parse(text) {
            Ok(c) => panic!("{text:?} should be rejected, parsed as {c}"),
            Err(e) => {
                assert_eq!(e.field, "ceap", "{text:?}");
                e
            }
        }
    }

    fn norm(text: &str) -> String {
        normalise(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    // ---- clinical classes -------------------------------------------------

    #[test]
    fn every_clinical_class() {
        let cases: [(&str, ClinicalClass, u8); 12] = [
            ("C0", K::C0, 0),
            ("C1", K::C1, 1),
            ("C2", K::C2, 2),
            ("C2r", K::C2r, 2),
            ("C3", K::C3, 3),
            ("C4", K::C4, 4),
            ("C4a", K::C4a, 4),
            ("C4b", K::C4b, 4),
            ("C4c", K::C4c, 4),
            ("C5", K::C5, 5),
            ("C6", K::C6, 6),
            ("C6r", K::C6r, 6),
        ];
        for (code, class, number) in cases {
            let out = ok(&format!("{code}S"));
            assert_eq!(out.clinical, vec![class], "{code}");
            assert_eq!(out.highest_class, number, "{code}");
            assert_eq!(out.symptomatic, Some(true), "{code}");
            assert_eq!(out.normalised, format!("{code}S"));
            assert_eq!(class.code(), code);
            assert_eq!(class.number(), number);
            assert_eq!(out.absent_sections, vec![CeapSection::E, CeapSection::A, CeapSection::P]);
            assert!(out.explanation.rule.contains(class.definition()), "{}", out.explanation.rule);
            assert_eq!(out.explanation.has_flag(FlagKind::Review), class == K::C4, "{code}");
            assert!(!out.explanation.has_flag(FlagKind::Incomplete), "{code}");
            // Lower case and asymptomatic too.
            let lower = ok(&format!("{}A", code.to_ascii_lowercase()));
            assert_eq!(lower.clinical, vec![class]);
            assert_eq!(lower.symptomatic, Some(false));
        }
        assert_eq!(ClinicalClass::ALL.len(), 12);
    }

    #[test]
    fn class_definitions_are_the_reference_wording() {
        assert_eq!(K::C0.definition(), "no visible or palpable signs of venous disease");
        assert_eq!(K::C1.definition(), "telangiectasias or reticular veins");
        assert_eq!(K::C2r.definition(), "recurrent varicose veins");
        assert_eq!(K::C4a.definition(), "pigmentation or eczema");
        assert_eq!(K::C4b.definition(), "lipodermatosclerosis or atrophie blanche");
        assert_eq!(K::C4c.definition(), "corona phlebectatica");
        assert_eq!(K::C5.definition(), "healed venous ulcer");
        assert_eq!(K::C6.definition(), "active venous ulcer");
        assert_eq!(K::C6r.definition(), "recurrent active venous ulcer");
    }

    #[test]
    fn classes_are_sorted_ascending_and_highest_is_the_c_number() {
        let out = ok("C6r,2,4c,4a,1S");
        assert_eq!(out.clinical, vec![K::C1, K::C2, K::C4a, K::C4c, K::C6r]);
        assert_eq!(out.highest_class, 6);
        assert_eq!(out.normalised, "C1,2,4a,4c,6rS");
        assert_eq!(ok("C4a,4b,4c,3A").highest_class, 4);
        assert_eq!(ok("C5,6S").clinical, vec![K::C5, K::C6]);
    }

    #[test]
    fn c4_without_subclass_is_accepted_with_a_review_flag() {
        let out = ok("C4S Ep");
        assert_eq!(out.clinical, vec![K::C4]);
        let review: Vec<_> = out.explanation.flags.iter().filter(|f| f.kind == FlagKind::Review).collect();
        assert_eq!(review.len(), 1);
        assert!(review[0].message.contains("subclass"), "{}", review[0].message);
        assert!(!ok("C4aS").explanation.has_flag(FlagKind::Review));
    }

    #[test]
    fn c4a_versus_c4_asymptomatic() {
        // Lower-case a after 4 is the subclass.
        let p = parse("C4a").unwrap();
        assert_eq!(p.clinical().collect::<Vec<_>>(), vec![K::C4a]);
        assert_eq!(p.symptomatic(), None);
        // Upper-case A ending the token is the status.
        let p = parse("C4A").unwrap();
        assert_eq!(p.clinical().collect::<Vec<_>>(), vec![K::C4]);
        assert_eq!(p.symptomatic(), Some(false));
        assert!(ok("C4A").explanation.flags.iter().any(|f| f.kind == FlagKind::Review && f.message.contains("C4A")));
        // Upper-case A followed by a status letter is the subclass.
        let p = parse("C4AS").unwrap();
        assert_eq!(p.clinical().collect::<Vec<_>>(), vec![K::C4a]);
        assert_eq!(p.symptomatic(), Some(true));
        let p = parse("C4aA").unwrap();
        assert_eq!((p.clinical().collect::<Vec<_>>(), p.symptomatic()), (vec![K::C4a], Some(false)));
        assert_eq!(norm("C4B,6R,S"), "C4b,6rS");
        assert_eq!(norm("c4c,2R,a"), "C2r,4cA");
    }

    // ---- the issue example and S/A forms -------------------------------------

    #[test]
    fn issue_example() {
        let out = ok("C4b,6r,Es,Ad,Pr,o");
        assert_eq!(out.clinical, vec![K::C4b, K::C6r]);
        assert_eq!(out.highest_class, 6);
        assert_eq!(out.symptomatic, None);
        assert_eq!(out.aetiology, vec![Aetiology::Es]);
        assert_eq!(out.anatomy, vec![AnatomySystem::Ad]);
        assert!(out.anatomy_segments.is_empty());
        assert_eq!(out.pathophysiology, vec![Pathophysiology::Pr, Pathophysiology::Po]);
        assert_eq!(out.normalised, "C4b,6r Es Ad Pr,o");
        assert!(out.absent_sections.is_empty());
        assert!(out.explanation.has_flag(FlagKind::Incomplete));
        assert!(!out.explanation.has_flag(FlagKind::Review));
        assert_eq!(out.explanation.inputs.len(), 1);
        assert_eq!(out.explanation.inputs[0].field, "ceap");
        assert_eq!(out.explanation.source.id, "venous.ceap");
        assert_eq!(out.explanation.source.status, EvidenceStatus::Verified);
        assert_eq!(norm("C4b,6r Es Ad Pr,o"), "C4b,6r Es Ad Pr,o");
    }

    #[test]
    fn symptom_status_in_the_usual_places() {
        let cases: [(&str, &str); 12] = [
            ("C2,4aS", "C2,4aS"),
            ("C6rA", "C6rA"),
            ("C4b,6r,S,Es,Ad,Pr,o", "C4b,6rS Es Ad Pr,o"),
            ("C4b,6rS,Es,Ad,Pr,o", "C4b,6rS Es Ad Pr,o"),
            ("C4b 6r S Es Ad Pr o", "C4b,6rS Es Ad Pr,o"),
            ("C4b, 6r, S, Es, Ad, Pr, o", "C4b,6rS Es Ad Pr,o"),
            ("C2 s Ep", "C2S Ep"),
            ("C2,a", "C2A"),
            ("C2s", "C2S"),
            ("C2rA Ep As Pr", "C2rA Ep As Pr"),
            ("C0S", "C0S"),
            ("C0 A An Pn", "C0A An Pn"),
        ];
        for (input, expected) in cases {
            assert_eq!(norm(input), expected, "{input}");
            assert!(!ok(input).explanation.has_flag(FlagKind::Incomplete), "{input}");
        }
        assert_eq!(parse("C2,4aS").unwrap().symptomatic(), Some(true));
        assert_eq!(parse("C6rA").unwrap().symptomatic(), Some(false));
        let flags = ok("C2").explanation.flags;
        assert!(flags.iter().any(|f| f.kind == FlagKind::Incomplete && f.message.contains("Symptom status")));
    }

    #[test]
    fn separators_and_case() {
        for input in [
            "C2,4a,S,Ep,As,Pr",
            "C2 4a S Ep As Pr",
            "C2, 4a, S, Ep, As, Pr",
            "  C2,,4a S\tEp\nAs  Pr ,",
            "c2,4a,s,ep,as,pr",
            "C2,4AS,EP,AS,PR",
            "C2,4aS EP AS PR",
        ] {
            assert_eq!(norm(input), "C2,4aS Ep As Pr", "{input:?}");
        }
        assert_eq!(norm("C4B,6R,ES,AD,PR,O"), "C4b,6r Es Ad Pr,o");
    }

    #[test]
    fn missing_sections_are_listed() {
        let out = ok("C3S");
        assert_eq!(out.absent_sections, vec![CeapSection::E, CeapSection::A, CeapSection::P]);
        assert!(out.explanation.rule.contains("sections not given: E (aetiology), A (anatomy), P (pathophysiology)"));
        let out = ok("C3S Ep Pr");
        assert_eq!(out.absent_sections, vec![CeapSection::A]);
        assert!(out.explanation.rule.contains("sections not given: A (anatomy)"), "{}", out.explanation.rule);
        assert!(!ok("C3S Ep As Pr").explanation.rule.contains("not given"));
    }

    // ---- E, A, P -----------------------------------------------------------

    #[test]
    fn every_aetiology_token() {
        let cases = [
            ("Ep", Aetiology::Ep, "primary"),
            ("Es", Aetiology::Es, "secondary"),
            ("Esi", Aetiology::Esi, "secondary, intravenous"),
            ("Ese", Aetiology::Ese, "secondary, extravenous"),
            ("Ec", Aetiology::Ec, "congenital"),
            ("En", Aetiology::En, "no cause identified"),
        ];
        for (code, e, definition) in cases {
            let out = ok(&format!("C2S {code}"));
            assert_eq!(out.aetiology, vec![e]);
            assert_eq!(out.normalised, format!("C2S {code}"));
            assert_eq!(e.definition(), definition);
            assert_eq!(ok(&format!("C2S {}", code.to_uppercase())).aetiology, vec![e]);
        }
        assert_eq!(norm("C2S Ec,si,p,se"), "C2S Ep,si,se,c");
        assert_eq!(ok("C2S Ep,s").aetiology, vec![Aetiology::Ep, Aetiology::Es]);
        assert_eq!(ok("C2S Es,c").aetiology, vec![Aetiology::Es, Aetiology::Ec]);
    }

    #[test]
    fn every_anatomy_token() {
        let cases = [
            ("As", AnatomySystem::As, "superficial"),
            ("Ad", AnatomySystem::Ad, "deep"),
            ("Ap", AnatomySystem::Ap, "perforator"),
            ("An", AnatomySystem::An, "no venous anatomic location identified"),
        ];
        for (code, a, definition) in cases {
            let out = ok(&format!("C2S Ep {code}"));
            assert_eq!(out.anatomy, vec![a]);
            assert_eq!(out.normalised, format!("C2S Ep {code}"));
            assert_eq!(a.definition(), definition);
        }
        assert_eq!(ok("C2S Ep As,p").anatomy, vec![AnatomySystem::As, AnatomySystem::Ap]);
        assert_eq!(norm("C2S Ep Ap,d,s"), "C2S Ep As,d,p");
        assert_eq!(norm("C2S Ep As,P"), "C2S Ep As,p");
    }

    #[test]
    fn every_anatomical_segment_with_its_system() {
        let superficial = [Seg::Tel, Seg::Ret, Seg::GsvA, Seg::GsvB, Seg::Ssv, Seg::Aasv, Seg::Nsv];
        let deep = [
            Seg::Ivc,
            Seg::Civ,
            Seg::Iiv,
            Seg::Eiv,
            Seg::Pelv,
            Seg::Cfv,
            Seg::Dfv,
            Seg::Fv,
            Seg::Popv,
            Seg::Tibv,
            Seg::Prv,
            Seg::Atv,
            Seg::Ptv,
            Seg::Musv,
            Seg::Gav,
            Seg::Sov,
        ];
        let perforator = [Seg::Tpv, Seg::Cpv];
        assert_eq!(superficial.len() + deep.len() + perforator.len(), AnatomySegment::ALL.len());
        let codes: Vec<&str> = AnatomySegment::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(
            codes.join(" "),
            "Tel Ret GSVa GSVb SSV AASV NSV IVC CIV IIV EIV PELV CFV DFV FV POPV TIBV PRV ATV PTV MUSV GAV SOV TPV CPV"
        );
        for (system, segments) in [
            (AnatomySystem::As, &superficial[..]),
            (AnatomySystem::Ad, &deep[..]),
            (AnatomySystem::Ap, &perforator[..]),
        ] {
            for &seg in segments {
                assert_eq!(seg.system(), system, "{seg}");
                let text = format!("C2S Ep {system}:{seg} Pr");
                let out = ok(&text);
                assert_eq!(out.anatomy_segments, vec![seg]);
                assert_eq!(out.normalised, text);
                // Without the colon and in lower case.
                assert_eq!(
                    norm(&format!("C2S Ep {system} {}", seg.code().to_lowercase())),
                    format!("C2S Ep {system}:{seg}")
                );
                // Under the wrong system: Inconsistent, naming the segment.
                let wrong = if system == AnatomySystem::Ad { "As" } else { "Ad" };
                let e = err(&format!("C2S Ep {wrong}:{seg}"));
                assert_eq!(e.problem, Problem::Inconsistent, "{seg}");
                assert_eq!(e.value.as_deref(), Some(seg.code()));
                assert!(e.accepted.contains(system.code()), "{}", e.accepted);
            }
        }
    }

    #[test]
    fn segments_are_sorted_and_written_after_a_colon() {
        let out = ok("C2,6S Ep Ad,s FV CFV gsva Pr,o");
        assert_eq!(out.anatomy, vec![AnatomySystem::As, AnatomySystem::Ad]);
        assert_eq!(out.anatomy_segments, vec![Seg::GsvA, Seg::Cfv, Seg::Fv]);
        assert_eq!(out.normalised, "C2,6S Ep As,d:GSVa,CFV,FV Pr,o");
        assert_eq!(norm("C2,6S Ep As,d:GSVa,CFV,FV Pr,o"), "C2,6S Ep As,d:GSVa,CFV,FV Pr,o");
        assert_eq!(norm("C2S Ep Ad : CFV , FV"), "C2S Ep Ad:CFV,FV");
        assert!(out.explanation.rule.contains("segments GSVa, CFV, FV"), "{}", out.explanation.rule);
        let e = err("C2S Ep An:CFV");
        assert_eq!(e.problem, Problem::Inconsistent);
        assert_eq!(e.value.as_deref(), Some("CFV"));
    }

    #[test]
    fn every_pathophysiology_token() {
        let cases = [
            ("Pr", vec![Pathophysiology::Pr]),
            ("Po", vec![Pathophysiology::Po]),
            ("Pn", vec![Pathophysiology::Pn]),
            ("Pr,o", vec![Pathophysiology::Pr, Pathophysiology::Po]),
        ];
        for (code, expected) in cases {
            let out = ok(&format!("C2S Ep As {code}"));
            assert_eq!(out.pathophysiology, expected);
            assert_eq!(out.normalised, format!("C2S Ep As {code}"));
        }
        assert_eq!(norm("C2S Ep As Po,r"), "C2S Ep As Pr,o");
        assert_eq!(norm("C2S Ep As Po r"), "C2S Ep As Pr,o");
        assert_eq!(norm("C2S Ep As PR,O"), "C2S Ep As Pr,o");
        assert_eq!(Pathophysiology::Pr.definition(), "reflux");
        assert_eq!(Pathophysiology::Po.definition(), "obstruction");
        assert_eq!(Pathophysiology::Pn.definition(), "none identified");
    }

    #[test]
    fn basic_ceap_with_only_some_sections() {
        assert_eq!(norm("C2S Pr"), "C2S Pr");
        assert_eq!(norm("C2S As"), "C2S As");
        assert_eq!(ok("C2S Pr").absent_sections, vec![CeapSection::E, CeapSection::A]);
    }

    // ---- errors -------------------------------------------------------------

    #[test]
    fn unknown_class_lists_the_accepted_classes() {
        for input in ["C9", "C9S Ep", "C7", "C10", "C4d", "C2x", "C", "C-1", "C2,9", "C2,4aX", "C２"] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
            for class in ["C0", "C1", "C2", "C2r", "C3", "C4a", "C4b", "C4c", "C5", "C6", "C6r"] {
                assert!(e.accepted.contains(class), "{input}: {}", e.accepted);
            }
        }
        let e = err("C9");
        assert_eq!(e.value.as_deref(), Some("C9"));
        let shown = e.to_string();
        assert!(shown.contains("\"C9\" is not recognised") && shown.contains("C4a, C4b, C4c"), "{shown}");
        assert_eq!(err("C2,9").value.as_deref(), Some("9"));
    }

    #[test]
    fn empty_string_is_missing() {
        for input in ["", "   ", " , ,\t\n"] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Missing, "{input:?}");
            assert_eq!(e.value, None);
            assert!(e.accepted.contains("C4a"), "{}", e.accepted);
        }
    }

    #[test]
    fn missing_c_section() {
        for input in ["Ep As Pr", "Es", "Pr,o", "S", "A"] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Missing, "{input}");
            assert_eq!(e.value.as_deref(), Some(input));
            assert!(e.accepted.contains("C (clinical) section is required"), "{}", e.accepted);
        }
        // Something that is not a section at all.
        assert_eq!(err("hello").problem, Problem::Unrecognised);
        assert_eq!(err("2 Ep").problem, Problem::Unrecognised);
    }

    #[test]
    fn sections_out_of_order() {
        for (input, token) in [("C2 As Ep", "Ep"), ("C2 Pr Ad", "Ad"), ("C2 Pr Ep", "Ep"), ("C2 Ep Pr As", "As")] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
            assert_eq!(e.value.as_deref(), Some(token), "{input}");
            assert!(e.accepted.contains("out of order"), "{}", e.accepted);
        }
        // C after another section.
        let e = err("Ep C2 As");
        assert_eq!(e.problem, Problem::Unrecognised);
        assert!(e.accepted.contains("C section comes first"), "{}", e.accepted);
        // The status after another section.
        for input in ["C2 Ep S", "C2 Ep As Pr A", "C2 Ep As,S"] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
            assert!(e.accepted.contains("follows the last clinical class"), "{}", e.accepted);
        }
        // A class after the status.
        let e = err("C2S,4a");
        assert_eq!(e.problem, Problem::Unrecognised);
        assert_eq!(e.value.as_deref(), Some("4a"));
    }

    #[test]
    fn duplicated_sections() {
        for (input, token) in [
            ("C2 C3", "C3"),
            ("C2S Ep Es", "Es"),
            ("C2S Ep As Ad", "Ad"),
            ("C2S Ep As Pr Po", "Po"),
            ("C2S Ep As Pr Ep", "Ep"),
        ] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
            assert_eq!(e.value.as_deref(), Some(token), "{input}");
            assert!(e.accepted.contains("given twice"), "{input}: {}", e.accepted);
        }
        // The same code twice within a section.
        for input in ["C2,2", "C2S Ep,p", "C2S Ep As,s", "C2S Ep As Pr,r", "C2S Ep Ad:CFV,CFV", "C2S,S"] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
        }
    }

    #[test]
    fn unknown_tokens() {
        for (input, token) in [
            ("C2S Ep Xy", "Xy"),
            ("C2S Ex", "Ex"),
            ("C2S Ep Az", "Az"),
            ("C2S Ep As Pz", "Pz"),
            ("C2S Ep As Pro", "Pro"),
            ("C2S Ep As Pr x", "x"),
            ("C2S (Ep)", "(Ep)"),
            ("C2S Ép", "Ép"),
            ("C2S Ep Ad:CFV,s", "s"),
            ("C2S Ep As Pr,o 😀", "😀"),
        ] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
            assert_eq!(e.value.as_deref(), Some(token), "{input}");
            assert!(e.accepted.contains("C, E, A, P in that order"), "{input}: {}", e.accepted);
        }
        // Section-specific vocabularies are listed.
        assert!(err("C2S Ex").accepted.contains("Esi (secondary, intravenous)"));
        assert!(err("C2S Ep Az").accepted.contains("An (no venous anatomic location identified)"));
        assert!(err("C2S Ep As Pz").accepted.contains("Pr,o (both)"));
    }

    #[test]
    fn colon_and_segment_placement() {
        for input in ["C2S:Ep", "C2S Ep:As", "C2S Ep Ad:", "C2S Ep Ad: Pr", "C2S Ep Ad::CFV", "C2S Ep Ad:CFV:FV", ":C2"]
        {
            let e = err(input);
            assert_eq!(e.problem, Problem::Unrecognised, "{input}");
        }
        let e = err("C2S Ep CFV");
        assert_eq!(e.problem, Problem::Unrecognised);
        assert_eq!(e.value.as_deref(), Some("CFV"));
        assert!(e.accepted.contains("Ad:CFV"), "{}", e.accepted);
    }

    #[test]
    fn contradictory_combinations_are_inconsistent() {
        for (input, value) in [
            ("C2S Ep An,s", "An with As"),
            ("C2S Ep As,n", "An with As"),
            ("C2S Ep Ad,n", "An with Ad"),
            ("C2S Ep Ap n", "An with Ap"),
            ("C2S En,p", "En with Ep"),
            ("C2S Ep,n", "En with Ep"),
            ("C2S Es,n", "En with Es"),
            ("C2S Ep As Pn,r", "Pn with Pr"),
            ("C2S Ep As Pr,n", "Pn with Pr"),
            ("C2S Ep As Po n", "Pn with Po"),
            ("C0,2S", "C0 with C2"),
            ("C6,0", "C0 with C6"),
            ("C2,2rS", "C2 with C2r"),
            ("C6r,6A", "C6 with C6r"),
            ("C4,4aS", "C4 with C4a"),
            ("C2S Es,si", "Es with Esi"),
            ("C2S Es,se", "Es with Ese"),
            ("C2S,A", "S with A"),
            ("C2A S", "S with A"),
        ] {
            let e = err(input);
            assert_eq!(e.problem, Problem::Inconsistent, "{input}");
            assert_eq!(e.value.as_deref(), Some(value), "{input}");
            assert!(!e.accepted.is_empty());
        }
        assert!(err("C0,2S").accepted.contains("C0"));
        // The segment named when its system is missing.
        let e = err("C2S Ep As:GSVa,TPV");
        assert_eq!(e.problem, Problem::Inconsistent);
        assert_eq!(e.value.as_deref(), Some("TPV"));
        assert!(e.accepted.contains("perforator (Ap)"), "{}", e.accepted);
        // Allowed combinations.
        assert!(parse("C2S Esi,se").is_ok());
        assert!(parse("C4a,4b,4cS").is_ok());
        assert!(parse("C2r,6rS").is_ok());
        assert!(parse("C0S En An Pn").is_ok());
    }

    // ---- normalisation, serialisation, explanation ----------------------------

    #[test]
    fn normalise_is_idempotent_on_examples() {
        for input in [
            "C4b,6r,Es,Ad,Pr,o",
            "C4b,6r,S,Es,Ad,Pr,o",
            "c2, 4a S ep as,p pr",
            "C2,4aS,EP,AS,P,PR",
            "C4A",
            "C4 Ep",
            "C1,2r,3,4a,4b,4c,5,6rA Ep,si,se,c As,d,p:Tel,Ret,GSVa,GSVb,SSV,AASV,NSV,IVC,CIV,IIV,EIV,PELV,CFV,DFV,FV,POPV,TIBV,PRV,ATV,PTV,MUSV,GAV,SOV,TPV,CPV Pr,o",
        ] {
            let once = norm(input);
            assert_eq!(norm(&once), once, "{input}");
            assert_eq!(parse(&once), parse(input));
        }
    }

    #[test]
    fn json_shape() {
        let out = ok("C4b,6rS Es Ad:CFV,FV Pr,o");
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["normalised"], "C4b,6rS Es Ad:CFV,FV Pr,o");
        assert_eq!(v["clinical"], serde_json::json!(["C4b", "C6r"]));
        assert_eq!(v["highest_class"], 6);
        assert_eq!(v["symptomatic"], true);
        assert_eq!(v["aetiology"], serde_json::json!(["Es"]));
        assert_eq!(v["anatomy"], serde_json::json!(["Ad"]));
        assert_eq!(v["anatomy_segments"], serde_json::json!(["CFV", "FV"]));
        assert_eq!(v["pathophysiology"], serde_json::json!(["Pr", "Po"]));
        assert_eq!(v["absent_sections"], serde_json::json!([]));
        assert_eq!(v["explanation"]["source"], "venous.ceap");
        assert_eq!(v["explanation"]["inputs"]["ceap"], "C4b,6rS Es Ad:CFV,FV Pr,o");
        assert_eq!(v["explanation"]["flags"], serde_json::json!([]));
        let basic = serde_json::to_value(ok("C2")).unwrap();
        assert_eq!(basic["symptomatic"], serde_json::Value::Null);
        assert_eq!(basic["absent_sections"], serde_json::json!(["E", "A", "P"]));
        assert_eq!(basic["explanation"]["flags"][0]["kind"], "INCOMPLETE");
    }

    #[test]
    fn input_json() {
        let input: Input = serde_json::from_str(r#"{"ceap": "C4b,6r,Es,Ad,Pr,o"}"#).unwrap();
        assert_eq!(classify(&input).unwrap().normalised, "C4b,6r Es Ad Pr,o");
        assert!(serde_json::from_str::<Input>(r#"{"ceap": "C2", "side": "left"}"#).is_err());
        assert!(serde_json::from_str::<Input>(r#"{}"#).is_err());
    }

    #[test]
    fn explain_sections() {
        let out = ok("C4b,6rS Es Ad Pr,o");
        let sections = out.sections();
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].label, "CEAP 2020");
        assert_eq!(sections[0].result, "C4b,6rS Es Ad Pr,o (highest clinical class C6)");
        let rule = &out.explanation.rule;
        assert!(
            rule.contains(
                "clinical C4b (lipodermatosclerosis or atrophie blanche), C6r (recurrent active venous ulcer)"
            ),
            "{rule}"
        );
        assert!(rule.contains("S (symptomatic)") && rule.contains("aetiology Es (secondary)"), "{rule}");
        assert!(
            rule.contains("anatomy Ad (deep)") && rule.contains("pathophysiology Pr (reflux), Po (obstruction)"),
            "{rule}"
        );
    }

    // ---- property tests -------------------------------------------------------

    /// Bits of a valid C section.
    fn arb_classes() -> impl Strategy<Value = u16> {
        prop_oneof![
            1 => Just(K::C0.bit()),
            9 => (any::<bool>(), 0u8..3, any::<bool>(), 0u8..9, any::<bool>(), 0u8..3)
                .prop_map(|(c1, c2, c3, c4, c5, c6)| {
                    let mut bits = 0u16;
                    if c1 { bits |= K::C1.bit(); }
                    bits |= match c2 { 1 => K::C2.bit(), 2 => K::C2r.bit(), _ => 0 };
                    if c3 { bits |= K::C3.bit(); }
                    bits |= match c4 {
                        0 => 0,
                        1 => K::C4.bit(),
                        m => {
                            let m = m - 1;
                            (if m & 1 != 0 { K::C4a.bit() } else { 0 })
                                | (if m & 2 != 0 { K::C4b.bit() } else { 0 })
                                | (if m & 4 != 0 { K::C4c.bit() } else { 0 })
                        }
                    };
                    if c5 { bits |= K::C5.bit(); }
                    bits |= match c6 { 1 => K::C6.bit(), 2 => K::C6r.bit(), _ => 0 };
                    bits
                })
                .prop_filter("at least one class", |b| *b != 0),
        ]
    }

    fn arb_aetiology() -> impl Strategy<Value = u8> {
        use Aetiology as E;
        prop_oneof![
            Just(0u8),
            Just(E::En.bit()),
            (any::<bool>(), 0u8..5, any::<bool>())
                .prop_map(|(p, s, c)| {
                    (if p { E::Ep.bit() } else { 0 })
                        | match s {
                            1 => E::Es.bit(),
                            2 => E::Esi.bit(),
                            3 => E::Ese.bit(),
                            4 => E::Esi.bit() | E::Ese.bit(),
                            _ => 0,
                        }
                        | (if c { E::Ec.bit() } else { 0 })
                })
                .prop_filter("non-empty", |b| *b != 0),
        ]
    }

    fn arb_anatomy() -> impl Strategy<Value = (u8, u32)> {
        prop_oneof![
            Just((0u8, 0u32)),
            Just((AnatomySystem::An.bit(), 0u32)),
            (1u8..8, any::<u32>()).prop_map(|(systems, seg_bits)| {
                let segments = AnatomySegment::ALL
                    .into_iter()
                    .filter(|s| seg_bits & s.bit() != 0 && systems & s.system().bit() != 0)
                    .fold(0u32, |acc, s| acc | s.bit());
                (systems, segments)
            }),
        ]
    }

    fn arb_pathophysiology() -> impl Strategy<Value = u8> {
        use Pathophysiology as P;
        prop_oneof![Just(0u8), Just(P::Pn.bit()), Just(P::Pr.bit()), Just(P::Po.bit()), Just(P::Pr.bit() | P::Po.bit())]
    }

    fn arb_ceap() -> impl Strategy<Value = Ceap> {
        (arb_classes(), prop::option::of(any::<bool>()), arb_aetiology(), arb_anatomy(), arb_pathophysiology())
            .prop_map(|(classes, symptomatic, aetiology, (anatomy, segments), pathophysiology)| Ceap {
                classes,
                symptomatic,
                aetiology,
                anatomy,
                segments,
                pathophysiology,
            })
    }

    /// Write `c` the way a person might: random separators, case of section
    /// letters and segments, status glued or separate, colon or not.
    fn messy(c: &Ceap, choice: &[u8]) -> String {
        let mut k = 0usize;
        let mut pick = |n: u8| -> u8 {
            let v = choice.get(k).copied().unwrap_or(0);
            k += 1;
            v % n
        };
        let sep = |v: u8| [",", " ", ", ", " ,  ", "\t"][usize::from(v)];
        let mut s = String::new();
        let classes: Vec<ClinicalClass> = c.clinical().collect();
        for (i, class) in classes.iter().enumerate() {
            if i == 0 {
                s.push_str(if pick(2) == 0 { "C" } else { "c" });
            } else {
                s.push_str(sep(pick(5)));
            }
            s.push_str(class.short());
        }
        if let Some(sym) = c.symptomatic() {
            // Glued, or a separate token; separate lower case only as its own token.
            if pick(2) == 0 {
                s.push_str(if sym { "S" } else { "A" });
            } else {
                s.push_str(sep(pick(5)));
                let letter = if sym { "S" } else { "A" };
                s.push_str(&if pick(2) == 0 { letter.to_owned() } else { letter.to_lowercase() });
            }
        }
        let section = |s: &mut String, letter: &str, shorts: Vec<&'static str>, pick: &mut dyn FnMut(u8) -> u8| {
            for (i, short) in shorts.iter().enumerate() {
                if i == 0 {
                    s.push_str(sep(pick(4) + 1));
                    s.push_str(&if pick(2) == 0 { letter.to_owned() } else { letter.to_lowercase() });
                } else {
                    s.push_str(sep(pick(5)));
                }
                s.push_str(short);
            }
        };
        section(&mut s, "E", c.aetiology().map(Aetiology::short).collect(), &mut pick);
        section(&mut s, "A", c.anatomy().map(AnatomySystem::short).collect(), &mut pick);
        let colon = pick(2) == 0;
        for (i, seg) in c.anatomy_segments().enumerate() {
            if i == 0 && colon {
                s.push(':');
            } else {
                s.push_str(sep(pick(5)));
            }
            s.push_str(&if pick(2) == 0 { seg.code().to_owned() } else { seg.code().to_uppercase() });
        }
        section(&mut s, "P", c.pathophysiology().map(Pathophysiology::short).collect(), &mut pick);
        s
    }

    const TOKENS: &[&str] = &[
        "C2", "C4a", "C4b", "6r", "4c", "C0", "C9", "C4", "S", "A", "s", "a", "Ep", "Es", "Esi", "Ese", "Ec", "En",
        "p", "si", "c", "n", "As", "Ad", "Ap", "An", "d", "CFV", "GSVa", "TPV", "FV", ":", "Pr", "Po", "Pn", "r", "o",
        "C6rA", "C2,4aS", "é", "😀", "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn never_panics_on_arbitrary_strings(text in any::<String>()) {
            if let Ok(c) = parse(&text) {
                let once = c.to_string();
                prop_assert_eq!(parse(&once), Ok(c));
            }
        }

        #[test]
        fn accepted_strings_normalise_idempotently(
            tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..12),
            seps in prop::collection::vec(prop::sample::select(&[",", " ", ", ", ":", "\u{a0}", ""][..]), 12),
        ) {
            let mut text = String::new();
            for (t, s) in tokens.iter().zip(seps.iter()) {
                text.push_str(t);
                text.push_str(s);
            }
            match normalise(&text) {
                Ok(once) => {
                    prop_assert_eq!(normalise(&once), Ok(once.clone()));
                    prop_assert_eq!(parse(&once), parse(&text));
                }
                Err(e) => prop_assert_eq!(e.field.as_str(), "ceap"),
            }
        }

        #[test]
        fn generated_ceap_round_trips(c in arb_ceap(), choice in prop::collection::vec(any::<u8>(), 80)) {
            let canonical = c.to_string();
            prop_assert_eq!(parse(&canonical), Ok(c), "canonical {}", canonical);
            prop_assert_eq!(normalise(&canonical), Ok(canonical.clone()));
            let written = messy(&c, &choice);
            prop_assert_eq!(parse(&written), Ok(c), "messy {:?}", written);
            prop_assert_eq!(normalise(&written), Ok(canonical));
        }
    }
}
