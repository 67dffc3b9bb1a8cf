//! `limbpath classify <classification>`: one classification from flags.
//! Each subcommand lives in its own file and maps its flags onto the engine's
//! input struct; rendering is shared (see `output.rs`).

use crate::output::{Format, render};
use clap::Subcommand;
use limbpath_clinical::InvalidInput;

mod abi;
mod angiosome;
mod ceap;
mod glass;
mod iwgdf;
mod mess;
mod msts;
mod oi_candidacy;
mod paley;
mod rutherford;
mod sinbad;
mod texas;
mod vcss;
mod wagner;
mod wifi;

#[derive(Debug, Subcommand)]
pub enum Classification {
    /// SVS WIfI: wound, ischaemia and foot-infection grades, clinical stage, amputation risk and revascularisation benefit.
    Wifi(wifi::Args),
    /// Ankle-brachial index per leg from DP/PT and both brachial pressures; ABI and TBI categories.
    Abi(abi::Args),
    /// GLASS: femoropopliteal and infrapopliteal grades, calcification and IM modifiers, stage I-III.
    Glass(glass::Args),
    /// Rutherford category 0-6 and Fontaine stage I-IV, with the approximate mapping between them.
    Rutherford(rutherford::Args),
    /// Angiosome of a wound location, its source arteries, and which revascularisations are direct or indirect.
    Angiosome(angiosome::Args),
    /// CEAP 2020: parse, validate and normalise a CEAP string such as `C4b,6r,S,Es,Ad,Pr,o`.
    Ceap(ceap::Args),
    /// Revised Venous Clinical Severity Score from its ten items.
    Vcss(vcss::Args),
    /// Mangled Extremity Severity Score (Johansen 1990) with its four components.
    Mess(mess::Args),
    /// IWGDF/IDSA diabetic foot infection grade 1-4 with the (O) osteomyelitis suffix.
    Iwgdf(iwgdf::Args),
    /// Meggitt-Wagner diabetic foot ulcer grade 0-5.
    Wagner(wagner::Args),
    /// University of Texas diabetic wound grade 0-3 x stage A-D.
    Texas(texas::Args),
    /// SINBAD diabetic foot ulcer score 0-6.
    Sinbad(sinbad::Args),
    /// MSTS functional score for a lower or upper limb after tumour surgery.
    Msts(msts::Args),
    /// Paley multiplier: limb-length discrepancy and length at skeletal maturity.
    Paley(paley::Args),
    /// Osseointegration candidacy from the clinic protocol: eligible, not eligible or needs review.
    #[command(name = "oi-candidacy")]
    OiCandidacy(oi_candidacy::Args),
}

impl Classification {
    pub fn run(&self, format: Format) -> Result<String, InvalidInput> {
        Ok(match self {
            Classification::Wifi(a) => render("classify.wifi", &a.run()?, format),
            Classification::Abi(a) => render("classify.abi", &a.run()?, format),
            Classification::Glass(a) => render("classify.glass", &a.run()?, format),
            Classification::Rutherford(a) => render("classify.rutherford", &a.run()?, format),
            Classification::Angiosome(a) => render("classify.angiosome", &a.run()?, format),
            Classification::Ceap(a) => render("classify.ceap", &a.run()?, format),
            Classification::Vcss(a) => render("classify.vcss", &a.run()?, format),
            Classification::Mess(a) => render("classify.mess", &a.run()?, format),
            Classification::Iwgdf(a) => render("classify.iwgdf", &a.run()?, format),
            Classification::Wagner(a) => render("classify.wagner", &a.run()?, format),
            Classification::Texas(a) => render("classify.texas", &a.run()?, format),
            Classification::Sinbad(a) => render("classify.sinbad", &a.run()?, format),
            Classification::Msts(a) => render("classify.msts", &a.run()?, format),
            Classification::Paley(a) => render("classify.paley", &a.run()?, format),
            Classification::OiCandidacy(a) => render("classify.oi-candidacy", &a.run()?, format),
        })
    }
}

/// Parse a command-line word into an engine vocabulary (the engine's serde
/// names, with `-` accepted for `_`), so the CLI and the JSON API accept the
/// same words.
pub fn vocab<T: serde::de::DeserializeOwned>(word: &str) -> Result<T, String> {
    let code = word.trim().replace('-', "_");
    serde_json::from_value(serde_json::Value::String(code)).map_err(|e| {
        // serde's message lists the expected variants: keep that part.
        let msg = e.to_string();
        match msg.find("expected") {
            Some(i) => format!("`{word}` is not recognised; {}", &msg[i..]),
            None => format!("`{word}` is not recognised"),
        }
    })
}

/// Parse one subcommand's flags as the real command line does (negative
/// numbers allowed), for the subcommands' unit tests. `argv` excludes the
/// subcommand name.
#[cfg(test)]
pub(crate) fn parse_args<A: clap::Args + clap::FromArgMatches>(argv: &[&str]) -> Result<A, clap::Error> {
    let command = A::augment_args(clap::Command::new("limbpath-test").allow_negative_numbers(true));
    let matches = command.try_get_matches_from(std::iter::once("limbpath-test").chain(argv.iter().copied()))?;
    A::from_arg_matches(&matches)
}
