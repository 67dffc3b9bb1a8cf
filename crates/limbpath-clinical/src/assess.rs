//! A full assessment: one limb's findings in, every applicable
//! classification out.
//!
//! Each section of the input is optional; a classification is computed when
//! its inputs are present. When WIfI is only partly described (say a wound and
//! an infection but no perfusion), it is listed under `not_computed` with what
//! is missing, never guessed. Any invalid value rejects the whole assessment
//! with the field's dotted path, so nothing half-derived is returned.
//!
//! Cross-feeding (documented, explicit in the rationale):
//! - With `side` and `pressures`, and no ischaemia grade or measurements, the
//!   WIfI ischaemia grade is derived from that leg's ABI, ankle pressure (the
//!   higher of DP/PT) and toe pressure.
//! - `diabetes: true` is passed to the ischaemia grading (toe pressure or
//!   TcPO2 expected).
//! - Infection findings give the IWGDF/IDSA grade even when WIfI cannot be
//!   computed.

use crate::angiosome::{self, AngiosomeInput, AngiosomeResult, ArterialStatus, WoundLocation};
use crate::diabetic_foot::{self, SinbadInput, SinbadOutput, TexasInput, TexasOutput, WagnerInput, WagnerOutput};
use crate::error::{InvalidInput, Result};
use crate::explain::{Explain, Section};
use crate::glass::{self, GlassInput, GlassOutput};
use crate::infection::{self, InfectionFindings, InfectionResult};
use crate::limb_length;
use crate::osseointegration;
use crate::perfusion::{self, PerfusionResult, PressureSet, Side};
use crate::rutherford::{self, RutherfordInput, RutherfordOutput};
use crate::trauma::{self, MessInput, MessOutput};
use crate::tumour::{self, MstsInput, MstsOutput};
use crate::venous::{ceap, vcss};
use crate::wifi::{self, IschaemiaMeasurements, WifiInput, WifiResult, WoundFindings};
use serde::{Deserialize, Serialize};

/// One limb's findings. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// Which leg these findings describe; selects the leg in `pressures`.
    pub side: Option<Side>,
    #[serde(default)]
    pub diabetes: bool,
    /// Brachial, ankle and toe pressures for the ABI/TBI.
    pub pressures: Option<PressureSet>,
    pub wound_grade: Option<u8>,
    pub wound: Option<WoundFindings>,
    pub ischaemia_grade: Option<u8>,
    pub ischaemia: Option<IschaemiaMeasurements>,
    pub infection_grade: Option<u8>,
    pub infection: Option<InfectionFindings>,
    #[serde(default)]
    pub stage5_unsalvageable: bool,
    /// Wound locations on the foot map.
    #[serde(default)]
    pub wound_locations: Vec<WoundLocation>,
    pub arteries: Option<ArterialStatus>,
    pub glass: Option<GlassInput>,
    pub rutherford: Option<RutherfordInput>,
    /// CEAP 2020 string.
    pub ceap: Option<String>,
    pub vcss: Option<vcss::Input>,
    pub mess: Option<MessInput>,
    pub wagner: Option<WagnerInput>,
    pub texas: Option<TexasInput>,
    pub sinbad: Option<SinbadInput>,
    pub msts: Option<MstsInput>,
    pub paley: Option<limb_length::Input>,
    pub oi_candidacy: Option<osseointegration::Input>,
}

/// A classification that could not be computed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotComputed {
    pub classification: &'static str,
    pub reason: String,
}

/// Every classification computed for one limb.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub engine_version: &'static str,
    pub side: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wifi: Option<WifiResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perfusion: Option<PerfusionResult>,
    /// Infection findings graded on their own: present only when WIfI was not
    /// graded from them (otherwise see `wifi.infection_detail`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infection: Option<InfectionResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub angiosome: Option<AngiosomeResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glass: Option<GlassOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rutherford: Option<RutherfordOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceap: Option<ceap::Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcss: Option<vcss::Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mess: Option<MessOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wagner: Option<WagnerOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub texas: Option<TexasOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sinbad: Option<SinbadOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msts: Option<MstsOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paley: Option<limb_length::Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oi_candidacy: Option<osseointegration::Output>,
    pub not_computed: Vec<NotComputed>,
}

fn section<I, O>(name: &str, input: Option<&I>, f: impl FnOnce(&I) -> Result<O>) -> Result<Option<O>> {
    input.map(|i| f(i).map_err(|e| e.within(name))).transpose()
}

/// Ischaemia measurements from the pressures of the assessed leg, if the
/// input gives pressures and a side but no ischaemia grade or measurements.
fn ischaemia_from_pressures(
    input: &AssessmentInput,
    perfusion: Option<&PerfusionResult>,
) -> Option<IschaemiaMeasurements> {
    let side = input.side?;
    let perfusion = perfusion?;
    let leg = perfusion.legs.iter().find(|l| l.side == side)?;
    let raw =
        input.pressures.as_ref().and_then(|p| if side == Side::Left { p.left.as_ref() } else { p.right.as_ref() })?;
    let abi = leg.abi.as_ref();
    let m = IschaemiaMeasurements {
        abi: abi.map(|a| a.abi),
        ankle_pressure_mmhg: abi.map(|a| a.ankle_pressure_mmhg),
        toe_pressure_mmhg: raw.toe_pressure_mmhg,
        tcpo2_mmhg: None,
        non_compressible: false,
        diabetes: input.diabetes,
    };
    (m.abi.is_some() || m.toe_pressure_mmhg.is_some()).then_some(m)
}

/// Assess one limb.
pub fn assess(input: &AssessmentInput) -> Result<Assessment> {
    let mut not_computed = Vec::new();

    let perfusion = section("pressures", input.pressures.as_ref(), perfusion::classify)?;
    if let (Some(side), Some(p)) = (input.side, perfusion.as_ref())
        && !p.legs.iter().any(|l| l.side == side)
    {
        return Err(InvalidInput::missing(
            format!("pressures.{}", side.label()),
            format!("pressures for the {} leg, the side being assessed", side.label()),
        ));
    }

    // WIfI: the three components, each as a grade or findings.
    let derived_ischaemia = if input.ischaemia.is_none() && input.ischaemia_grade.is_none() {
        ischaemia_from_pressures(input, perfusion.as_ref())
    } else {
        None
    };
    let ischaemia = match (&input.ischaemia, derived_ischaemia) {
        (Some(m), _) => Some(IschaemiaMeasurements { diabetes: m.diabetes || input.diabetes, ..m.clone() }),
        (None, derived) => derived,
    };
    let derived_from_pressures = input.ischaemia.is_none() && ischaemia.is_some();
    let has_wound = input.wound.is_some() || input.wound_grade.is_some();
    let has_ischaemia = ischaemia.is_some() || input.ischaemia_grade.is_some();
    let has_infection = input.infection.is_some() || input.infection_grade.is_some();
    // Measurements that cannot grade ischaemia (an ABI over 1.40 with no toe
    // pressure or TcPO2) make WIfI incomplete, not the input invalid.
    let ungradable = match ischaemia.as_ref().map(wifi::ischaemia_grade) {
        Some(Err(e)) if e.problem == crate::error::Problem::Missing => Some(e),
        Some(Err(e)) => {
            return Err(if derived_from_pressures {
                e.within("derived_from_pressures.ischaemia")
            } else {
                e.within("ischaemia")
            });
        }
        _ => None,
    };
    if let Some(e) = &ungradable {
        not_computed.push(NotComputed {
            classification: "wifi",
            reason: format!("the ischaemia grade cannot be derived: {} is needed ({})", e.field, e.accepted),
        });
    }
    let wifi = if ungradable.is_some() {
        None
    } else if has_wound && has_ischaemia && has_infection {
        let mut r = wifi::classify(&WifiInput {
            wound_grade: input.wound_grade,
            wound: input.wound.clone(),
            ischaemia_grade: input.ischaemia_grade,
            ischaemia,
            infection_grade: input.infection_grade,
            infection: input.infection.clone(),
            stage5_unsalvageable: input.stage5_unsalvageable,
        })
        .map_err(|e| {
            if derived_from_pressures && e.field.starts_with("ischaemia.") {
                e.within("derived_from_pressures")
            } else {
                e
            }
        })?;
        if derived_from_pressures {
            let side = input.side.map_or("", Side::label);
            r.ischaemia.explanation.push_input("derived_from", format!("pressures.{side}"));
        }
        Some(r)
    } else {
        // Every value given is validated even though WIfI cannot be completed:
        // an impossible ABI is an error, not a silently ignored field.
        for (field, grade, findings_given) in [
            ("wound_grade", input.wound_grade, input.wound.is_some()),
            ("ischaemia_grade", input.ischaemia_grade, input.ischaemia.is_some()),
            ("infection_grade", input.infection_grade, input.infection.is_some()),
        ] {
            if let Some(g) = grade {
                crate::limits::check_grade(field, g, 0, 3)?;
                if findings_given {
                    return Err(InvalidInput::inconsistent(
                        field,
                        "given twice",
                        format!("give either {field} or its findings, not both"),
                    ));
                }
            }
        }
        if let (Some(m), None) = (input.ischaemia.as_ref(), &ungradable) {
            wifi::ischaemia_grade(m).map_err(|e| e.within("ischaemia"))?;
        }
        if (has_wound || has_ischaemia || has_infection || input.stage5_unsalvageable) && ungradable.is_none() {
            let mut missing = Vec::new();
            if !has_wound {
                missing.push("wound (wound_grade or wound findings)");
            }
            if !has_ischaemia {
                missing.push("ischaemia (ischaemia_grade, ischaemia measurements, or side with pressures)");
            }
            if !has_infection {
                missing.push("infection (infection_grade or infection findings)");
            }
            not_computed
                .push(NotComputed { classification: "wifi", reason: format!("missing {}", missing.join(", ")) });
        }
        None
    };

    // When WIfI was graded from the infection findings, the IWGDF grade is in
    // wifi.infection_detail; otherwise it is reported here on its own.
    let infection = if wifi.as_ref().is_some_and(|w| w.infection_detail.is_some()) {
        None
    } else {
        section("infection", input.infection.as_ref(), infection::classify)?
    };

    let angiosome = if input.wound_locations.is_empty() {
        if input.arteries.is_some() {
            not_computed.push(NotComputed {
                classification: "angiosome",
                reason: "arteries given without wound_locations".to_owned(),
            });
        }
        None
    } else {
        Some(
            angiosome::classify(&AngiosomeInput {
                locations: input.wound_locations.clone(),
                arteries: input.arteries.clone(),
            })
            .map_err(|e| {
                if e.field == "locations" { InvalidInput { field: "wound_locations".to_owned(), ..e } } else { e }
            })?,
        )
    };

    let ceap = input
        .ceap
        .as_ref()
        .map(|text| {
            ceap::classify(&ceap::Input { ceap: text.clone() })
                .map_err(|e| InvalidInput { field: "ceap".to_owned(), ..e })
        })
        .transpose()?;

    Ok(Assessment {
        engine_version: crate::ENGINE_VERSION,
        side: input.side,
        wifi,
        perfusion,
        infection,
        angiosome,
        glass: section("glass", input.glass.as_ref(), glass::classify)?,
        rutherford: section("rutherford", input.rutherford.as_ref(), rutherford::classify)?,
        ceap,
        vcss: section("vcss", input.vcss.as_ref(), vcss::classify)?,
        mess: section("mess", input.mess.as_ref(), trauma::classify)?,
        wagner: section("wagner", input.wagner.as_ref(), diabetic_foot::classify_wagner)?,
        texas: section("texas", input.texas.as_ref(), diabetic_foot::classify_texas)?,
        sinbad: section("sinbad", input.sinbad.as_ref(), diabetic_foot::classify_sinbad)?,
        msts: section("msts", input.msts.as_ref(), tumour::classify)?,
        paley: section("paley", input.paley.as_ref(), limb_length::classify)?,
        oi_candidacy: section("oi_candidacy", input.oi_candidacy.as_ref(), osseointegration::classify)?,
        not_computed,
    })
}

impl Explain for Assessment {
    fn sections(&self) -> Vec<Section<'_>> {
        fn add<'a>(out: &mut Vec<Section<'a>>, r: Option<&'a dyn Explain>) {
            if let Some(r) = r {
                out.extend(r.sections());
            }
        }
        let mut out = Vec::new();
        add(&mut out, self.wifi.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.infection.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.perfusion.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.rutherford.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.glass.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.angiosome.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.wagner.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.texas.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.sinbad.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.ceap.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.vcss.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.mess.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.msts.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.paley.as_ref().map(|r| r as &dyn Explain));
        add(&mut out, self.oi_candidacy.as_ref().map(|r| r as &dyn Explain));
        out
    }

    fn notes(&self) -> Vec<String> {
        self.not_computed.iter().map(|n| format!("not computed: {}: {}", n.classification, n.reason)).collect()
    }
}
