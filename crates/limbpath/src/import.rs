//! `limbpath import FILE|DIR…`: FHIR R4 Bundles (`*.json`) and NDJSON
//! (`*.ndjson`) into the store, SQLite in --data-dir or --database-url.
//!
//! A Bundle is one transaction (all or nothing). An NDJSON file is read in
//! chunks that end before a `Patient` line (a patient's resources follow its
//! Patient line, as `limbpath-fhir`'s NDJSON and a per-patient export write
//! them), each chunk one transaction; references between chunks are not
//! resolved, so a file whose resources are grouped by type (a Bulk Data
//! export's `Condition.ndjson`) must be imported with `--whole-files`.
//! Parsing runs on a blocking thread one chunk ahead of the writer.
//! Re-importing the same data changes nothing (import keys, `--source`).
//! Invalid input is reported per resource with its location, as an
//! OperationOutcome would (`FILE: error at Bundle.entry[3].resource.code: …`),
//! stores nothing of that Bundle or chunk, and makes the exit code 2.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use limbpath_fhir::{Import, ImportError, import_bundle, import_ndjson};
use limbpath_store::PatientOutcome;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files (`*.json` Bundles, `*.ndjson`) or directories of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The sending system: it qualifies every import key, so the same data
    /// from the same source is imported once.
    #[arg(long, default_value = "import")]
    pub source: String,
    /// Resources per NDJSON transaction (a chunk ends before a Patient line
    /// once it holds this many).
    #[arg(long, default_value_t = 5_000)]
    pub chunk: usize,
    /// Read each NDJSON file whole as one transaction (for files grouped by
    /// resource type, whose references cross the whole file).
    #[arg(long)]
    pub whole_files: bool,
    #[command(flatten)]
    pub db: crate::serve::DatabaseArgs,
}

/// One unit of work: a Bundle or an NDJSON chunk, parsed.
struct Parsed {
    file: PathBuf,
    /// The line number the chunk starts at, minus one (NDJSON).
    line_offset: usize,
    bytes: u64,
    result: Result<Import, ImportError>,
}

fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && matches!(f.extension().and_then(|x| x.to_str()), Some("json" | "ndjson")))
                .collect();
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            anyhow::bail!("{}: no such file or directory", p.display());
        }
    }
    Ok(out)
}

fn is_ndjson(p: &Path) -> bool {
    p.extension().and_then(|x| x.to_str()) == Some("ndjson")
}

/// Whether an NDJSON line is a Patient resource (cheap: the type is near the start).
fn is_patient_line(line: &str) -> bool {
    let head = &line[..line.len().min(64)];
    head.contains("\"resourceType\":\"Patient\"") || head.contains("\"resourceType\": \"Patient\"")
}

/// Read, chunk and parse every file, sending each unit to the writer.
fn produce(files: Vec<PathBuf>, args: (String, usize, bool), tx: tokio::sync::mpsc::Sender<Result<Parsed>>) {
    let (source, chunk, whole) = args;
    let send = |p: Result<Parsed>| tx.blocking_send(p).is_ok();
    for file in files {
        let open = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()));
        let f = match open {
            Ok(f) => f,
            Err(e) => {
                send(Err(e));
                return;
            }
        };
        if !is_ndjson(&file) || whole {
            let mut text = String::new();
            if let Err(e) = BufReader::new(f).read_to_string(&mut text) {
                send(Err(anyhow::anyhow!("reading {}: {e}", file.display())));
                return;
            }
            let result = if is_ndjson(&file) { import_ndjson(&text, &source) } else { import_bundle(&text, &source) };
            if !send(Ok(Parsed { file, line_offset: 0, bytes: text.len() as u64, result })) {
                return;
            }
            continue;
        }
        let mut reader = BufReader::with_capacity(1 << 20, f);
        let (mut text, mut lines, mut start, mut line_no) = (String::new(), 0usize, 0usize, 0usize);
        let mut line = String::new();
        loop {
            line.clear();
            let n = match reader.read_line(&mut line) {
                Ok(n) => n,
                Err(e) => {
                    send(Err(anyhow::anyhow!("reading {}: {e}", file.display())));
                    return;
                }
            };
            let flush = n == 0 || (lines >= chunk && is_patient_line(&line));
            if flush && !text.is_empty() {
                let result = import_ndjson(&text, &source);
                let unit = Parsed { file: file.clone(), line_offset: start, bytes: text.len() as u64, result };
                if !send(Ok(unit)) {
                    return;
                }
                text.clear();
                lines = 0;
                start = line_no;
            }
            if n == 0 {
                break;
            }
            line_no += 1;
            lines += 1;
            text.push_str(&line);
        }
    }
}

/// `ndjson[line 4]…` of a chunk, as the line of the file.
fn file_location(location: &str, offset: usize) -> String {
    if let Some(rest) = location.strip_prefix("ndjson[line ")
        && let Some((n, tail)) = rest.split_once(']')
        && let Ok(n) = n.parse::<usize>()
    {
        return format!("ndjson[line {}]{tail}", n + offset);
    }
    location.to_owned()
}

/// An issue as an OperationOutcome would say it: location, problem, value, what is accepted.
fn describe(i: &limbpath_fhir::Issue, offset: usize) -> String {
    let mut s = format!("{}: {}", file_location(&i.location, offset), i.problem);
    if !i.value.is_empty() {
        s.push_str(&format!(" (got {:?})", i.value));
    }
    if !i.expected.is_empty() {
        s.push_str(&format!("; expected {}", i.expected));
    }
    s
}

pub async fn run(args: Args) -> Result<ExitCode> {
    let files = files(&args.paths)?;
    let total_bytes: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let store = args.db.open().await?;
    let progress = if std::io::stderr().is_terminal() { ProgressBar::new(total_bytes) } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let n_files = files.len();
    let producer = tokio::task::spawn_blocking({
        let a = (args.source.clone(), args.chunk.max(1), args.whole_files);
        move || produce(files, a, tx)
    });
    let started = Instant::now();
    let (mut resources, mut stored, mut again, mut record_rows) = (0u64, 0u64, 0u64, 0u64);
    let (mut created, mut linked, mut incomplete, mut refused_units) = (0u64, 0u64, 0u64, 0u64);
    while let Some(unit) = rx.recv().await {
        let unit = unit?;
        progress.inc(unit.bytes);
        match unit.result {
            Ok(import) => {
                for w in &import.warnings {
                    progress
                        .suspend(|| eprintln!("{}: warning at {}", unit.file.display(), describe(w, unit.line_offset)));
                }
                match store.import_fhir(&import).await {
                    Ok(s) => {
                        resources += s.resources;
                        stored += s.stored;
                        again += s.already_imported;
                        record_rows += s.record_rows;
                        for p in &s.patients {
                            match p.outcome {
                                PatientOutcome::Created => created += 1,
                                PatientOutcome::Linked => linked += 1,
                                PatientOutcome::Incomplete { .. } => incomplete += 1,
                                PatientOutcome::AlreadyImported => {}
                            }
                        }
                    }
                    Err(limbpath_store::StoreError::Invalid(e)) => {
                        refused_units += 1;
                        progress.suspend(|| {
                            eprintln!("{}: error at {}: {e} (nothing of it was stored)", unit.file.display(), e.field)
                        });
                    }
                    Err(e @ limbpath_store::StoreError::Duplicate { .. }) => {
                        refused_units += 1;
                        progress
                            .suspend(|| eprintln!("{}: error: {e} (nothing of it was stored)", unit.file.display()));
                    }
                    Err(e) => return Err(e).with_context(|| format!("storing {}", unit.file.display())),
                }
            }
            Err(refused) => {
                refused_units += 1;
                progress.suspend(|| {
                    for i in refused.errors.iter().chain(&refused.warnings) {
                        let kind = if refused.errors.contains(i) { "error" } else { "warning" };
                        eprintln!("{}: {kind} at {}", unit.file.display(), describe(i, unit.line_offset));
                    }
                    eprintln!("{}: {} error(s); nothing of it was stored", unit.file.display(), refused.errors.len());
                });
            }
        }
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        progress.set_message(format!("{resources} resources ({:.0}/s)", resources as f64 / secs));
    }
    producer.await.context("the reader thread")?;
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "limbpath: imported {n_files} file(s) into {}: {resources} resources in {secs:.1} s ({:.0} resources/s); {stored} stored, {again} already imported; {record_rows} record rows; patients: {created} created, {linked} linked, {incomplete} kept without every fact a LimbPath patient needs",
        store.engine(),
        resources as f64 / secs.max(1e-9)
    );
    if refused_units > 0 {
        eprintln!("limbpath: {refused_units} bundle(s) or chunk(s) refused (see above); exit 2");
    }
    store.close().await;
    Ok(if refused_units > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_locations_become_file_lines() {
        assert_eq!(file_location("ndjson[line 4].subject.reference", 100), "ndjson[line 104].subject.reference");
        assert_eq!(file_location("Bundle.entry[2].resource", 100), "Bundle.entry[2].resource");
    }

    #[test]
    fn patient_lines_are_recognised() {
        assert!(is_patient_line(r#"{"resourceType":"Patient","id":"x"}"#));
        assert!(!is_patient_line(r#"{"resourceType":"Observation","subject":{"reference":"Patient/x"}}"#));
    }
}
