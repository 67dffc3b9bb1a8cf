//! `limbpath classify angiosome`: wound location → angiosome → source artery; direct or indirect options.

use super::vocab;
use limbpath_clinical::InvalidInput;
use limbpath_clinical::angiosome::{
    self, AngiosomeInput, AngiosomeResult, ArterialStatus, ArteryStatus, PedalArch, WoundLocation,
};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Locations: medial-heel, plantar-heel, lateral-heel, plantar-instep, lateral-plantar-midfoot, plantar-forefoot,\n\
dorsum, anterior-ankle, lateral-malleolus, dorsal-toes, plantar-toes.\n\
Example: limbpath classify angiosome --location plantar-heel --at treatable --pt untreatable --peroneal treatable --pedal-arch intact"
)]
pub struct Args {
    /// Wound location (repeatable for a wound spanning several regions).
    #[arg(long, required = true)]
    location: Vec<String>,
    /// Anterior tibial artery: patent, treatable or untreatable.
    #[arg(long, value_parser = vocab::<ArteryStatus>)]
    at: Option<ArteryStatus>,
    /// Posterior tibial artery: patent, treatable or untreatable.
    #[arg(long, value_parser = vocab::<ArteryStatus>)]
    pt: Option<ArteryStatus>,
    /// Peroneal artery: patent, treatable or untreatable.
    #[arg(long, value_parser = vocab::<ArteryStatus>)]
    peroneal: Option<ArteryStatus>,
    /// Pedal arch: intact or absent-or-diseased.
    #[arg(long, value_parser = vocab::<PedalArch>)]
    pedal_arch: Option<PedalArch>,
}

impl Args {
    pub fn run(&self) -> Result<AngiosomeResult, InvalidInput> {
        let locations = self
            .location
            .iter()
            .map(|l| WoundLocation::parse("location", &l.replace('-', "_")))
            .collect::<Result<Vec<_>, _>>()?;
        let any = self.at.is_some() || self.pt.is_some() || self.peroneal.is_some() || self.pedal_arch.is_some();
        angiosome::classify(&AngiosomeInput {
            locations,
            arteries: any.then_some(ArterialStatus {
                anterior_tibial: self.at,
                posterior_tibial: self.pt,
                peroneal: self.peroneal,
                pedal_arch: self.pedal_arch,
            }),
        })
    }
}
