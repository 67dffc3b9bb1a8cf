//! `limbpath classify ceap <CEAP-STRING>`: parse, validate and normalise a CEAP 2020 string.

use limbpath_clinical::InvalidInput;
use limbpath_clinical::venous::ceap;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CEAP 2020 string, e.g. `C4b,6r,S,Es,Ad,Pr,o` (quote it, or give its parts as separate words).
    #[arg(value_name = "CEAP-STRING", required = true, num_args = 1..)]
    pub ceap: Vec<String>,
}

impl Args {
    pub fn run(&self) -> Result<ceap::Output, InvalidInput> {
        ceap::classify(&ceap::Input { ceap: self.ceap.join(" ") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_quoted_string_or_separate_words() {
        let quoted = super::super::parse_args::<Args>(&["C4b,6r,Es,Ad,Pr,o"]).unwrap();
        assert_eq!(quoted.run().unwrap().normalised, "C4b,6r Es Ad Pr,o");
        let words = super::super::parse_args::<Args>(&["C2,4aS", "Ep", "As,p", "Pr"]).unwrap();
        assert_eq!(words.run().unwrap().normalised, "C2,4aS Ep As,p Pr");
        assert!(super::super::parse_args::<Args>(&[]).is_err());
        let e = super::super::parse_args::<Args>(&["C9"]).unwrap().run().unwrap_err();
        assert_eq!(e.field, "ceap");
    }
}
