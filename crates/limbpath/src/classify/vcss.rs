//! `limbpath classify vcss --pain 2 --varicose-veins 1 ...`: revised Venous Clinical
//! Severity Score from its ten items. Every item is required; a missing one is
//! reported by the engine (exit code 2) naming it.

use limbpath_clinical::InvalidInput;
use limbpath_clinical::venous::vcss;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pain or other discomfort, 0-3.
    #[arg(long, value_name = "0-3")]
    pub pain: Option<u8>,
    /// Varicose veins (≥3 mm, standing), 0-3.
    #[arg(long, value_name = "0-3")]
    pub varicose_veins: Option<u8>,
    /// Venous oedema, 0-3.
    #[arg(long, value_name = "0-3")]
    pub venous_oedema: Option<u8>,
    /// Skin pigmentation, 0-3.
    #[arg(long, value_name = "0-3")]
    pub skin_pigmentation: Option<u8>,
    /// Inflammation, 0-3.
    #[arg(long, value_name = "0-3")]
    pub inflammation: Option<u8>,
    /// Induration, 0-3.
    #[arg(long, value_name = "0-3")]
    pub induration: Option<u8>,
    /// Active ulcer number, 0-3 (3 = three or more).
    #[arg(long, value_name = "0-3")]
    pub active_ulcer_number: Option<u8>,
    /// Active ulcer duration, 0-3 (0 = N/A).
    #[arg(long, value_name = "0-3")]
    pub active_ulcer_duration: Option<u8>,
    /// Active ulcer size (largest), 0-3 (0 = N/A).
    #[arg(long, value_name = "0-3")]
    pub active_ulcer_size: Option<u8>,
    /// Compression therapy, 0-3.
    #[arg(long, value_name = "0-3")]
    pub compression_therapy: Option<u8>,
}

impl Args {
    pub fn run(&self) -> Result<vcss::Output, InvalidInput> {
        vcss::classify(&vcss::Input {
            pain: self.pain,
            varicose_veins: self.varicose_veins,
            venous_oedema: self.venous_oedema,
            skin_pigmentation: self.skin_pigmentation,
            inflammation: self.inflammation,
            induration: self.induration,
            active_ulcer_number: self.active_ulcer_number,
            active_ulcer_duration: self.active_ulcer_duration,
            active_ulcer_size: self.active_ulcer_size,
            compression_therapy: self.compression_therapy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FLAGS: [&str; 10] = [
        "--pain",
        "--varicose-veins",
        "--venous-oedema",
        "--skin-pigmentation",
        "--inflammation",
        "--induration",
        "--active-ulcer-number",
        "--active-ulcer-duration",
        "--active-ulcer-size",
        "--compression-therapy",
    ];

    #[test]
    fn all_ten_flags_map_to_the_engine() {
        let mut argv: Vec<String> = Vec::new();
        for (i, flag) in ALL_FLAGS.iter().enumerate() {
            argv.push((*flag).to_owned());
            argv.push((i % 4).to_string());
        }
        let out = super::super::parse_args::<Args>(&argv.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap()
            .run()
            .unwrap();
        let scores: Vec<u8> = out.items.iter().map(|i| i.score).collect();
        assert_eq!(scores, vec![0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
        assert_eq!(out.total, 13);
    }

    #[test]
    fn missing_or_out_of_range_flag_is_invalid_input() {
        let e = super::super::parse_args::<Args>(&["--pain", "2"]).unwrap().run().unwrap_err();
        assert_eq!(e.field, "varicose_veins");
        let mut argv: Vec<String> = Vec::new();
        for flag in ALL_FLAGS {
            argv.push(flag.to_owned());
            argv.push("1".to_owned());
        }
        argv[1] = "4".to_owned();
        let e = super::super::parse_args::<Args>(&argv.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap()
            .run()
            .unwrap_err();
        assert_eq!(e.field, "pain");
    }
}
