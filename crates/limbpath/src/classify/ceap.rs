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
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn one_quoted_string_or_separate_words() {
        let quoted = Cli::try_parse_from(["ceap", "C4b,6r,Es,Ad,Pr,o"]).unwrap();
        assert_eq!(quoted.args.run().unwrap().normalised, "C4b,6r Es Ad Pr,o");
        let words = Cli::try_parse_from(["ceap", "C2,4aS", "Ep", "As,p", "Pr"]).unwrap();
        assert_eq!(words.args.run().unwrap().normalised, "C2,4aS Ep As,p Pr");
        assert!(Cli::try_parse_from(["ceap"]).is_err());
        let e = Cli::try_parse_from(["ceap", "C9"]).unwrap().args.run().unwrap_err();
        assert_eq!(e.field, "ceap");
    }
}
