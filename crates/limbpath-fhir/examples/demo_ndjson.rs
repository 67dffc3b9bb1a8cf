//! Writes the demo cohort as FHIR NDJSON, one patient's resources after its
//! Patient line (what `limbpath import` chunks by): the generated set of the
//! import benchmark (bench/fhir_import.sh).
//!
//! Usage: cargo run --release -p limbpath-fhir --example demo_ndjson -- PATIENTS FILE

use limbpath_fhir::{export_patient, exportable, ndjson};
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).expect("usage: demo_ndjson PATIENTS FILE");
    let path = args.next().expect("usage: demo_ndjson PATIENTS FILE");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the output file"));
    let mut resources = 0usize;
    for r in limbpath_demo::cohort(20_261_121, n) {
        let exported = export_patient(&exportable(&r)).expect("export");
        resources += exported.len();
        out.write_all(ndjson(&exported).as_bytes()).expect("write");
    }
    out.flush().expect("flush");
    eprintln!("{n} patients, {resources} resources -> {path}");
}
