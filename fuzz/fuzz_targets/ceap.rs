//! The CEAP parser (`limbpath_clinical::venous::ceap`): any text a clinician
//! or an imported record may carry. Oracles: no panic; whatever parses
//! normalises to a string that parses to the same classification, and
//! normalising is idempotent; `classify` agrees with `parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limbpath_clinical::venous::ceap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = ceap::parse(text);
    if let Ok(c) = &parsed {
        let canonical = c.to_string();
        assert_eq!(ceap::parse(&canonical).as_ref(), Ok(c), "canonical {canonical:?} of {text:?}");
        assert_eq!(ceap::normalise(text).as_deref(), Ok(canonical.as_str()));
        assert_eq!(ceap::normalise(&canonical).as_deref(), Ok(canonical.as_str()));
    } else {
        assert!(ceap::normalise(text).is_err());
    }
    let classified = ceap::classify(&ceap::Input { ceap: text.to_owned() });
    assert_eq!(classified.is_ok(), parsed.is_ok());
    if let Ok(out) = classified {
        serde_json::to_string(&out).expect("a CEAP result serialises");
    }
});
