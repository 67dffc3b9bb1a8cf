//! `limbpath import FILE|DIR…`: FHIR R4 Bundles (`*.json`) and NDJSON
//! (`*.ndjson`) into the store, SQLite in --data-dir or --database-url.
//!
//! A Bundle is one transaction (all or nothing). An NDJSON file named on the
//! command line is read in chunks that end before a `Patient` line (a
//! patient's resources follow its Patient line, as `limbpath-fhir`'s NDJSON
//! and a per-patient export write them), each chunk one transaction;
//! references between chunks are not resolved, so such a file whose resources
//! are grouped by type needs `--whole-files`.
//!
//! The NDJSON files of a directory are one unit (a Bulk Data `$export`
//! folder: one file per type, every resource referring to its Patient in
//! `Patient.ndjson`): a first pass indexes every line by the patient it
//! belongs to (`subject`/`patient` reference, or the Patient's own id),
//! keeping only each line's place in its file; the lines are then read back
//! patient by patient, each patient's Patient line first, in chunks of whole
//! patients (at least `--chunk` resources), each one transaction. Lines that
//! name no patient of the folder come last. With `--whole-files` the whole
//! folder is one transaction. Memory holds the index (24 bytes per line plus
//! each patient's id, so about 1 GB for 40 million lines) and one chunk,
//! whatever the order of the files; each line is read twice.
//!
//! Parsing runs on a blocking thread one chunk ahead of the writer.
//! Re-importing the same data changes nothing (import keys, `--source`).
//! Invalid input is reported per resource with its file and location, as an
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
    /// once it holds this many; in a directory, before the next patient).
    #[arg(long, default_value_t = 5_000)]
    pub chunk: usize,
    /// Read each NDJSON file whole as one transaction (for files grouped by
    /// resource type, whose references cross the whole file); a directory's
    /// NDJSON files together as one transaction.
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
    /// For a chunk of a folder: the file and line of each of its lines.
    origins: Option<Origins>,
    bytes: u64,
    result: Result<Import, ImportError>,
}

/// Where each line of a folder's chunk came from: (file index, line number).
struct Origins {
    files: std::sync::Arc<Vec<PathBuf>>,
    lines: Vec<(u32, u32)>,
}

impl Parsed {
    /// The file and the location in it of an issue at `location` of this unit.
    fn at(&self, location: &str) -> (String, String) {
        if let Some(o) = &self.origins
            && let Some(rest) = location.strip_prefix("ndjson[line ")
            && let Some((n, tail)) = rest.split_once(']')
            && let Ok(n) = n.parse::<usize>()
            && let Some(&(f, line)) = n.checked_sub(1).and_then(|i| o.lines.get(i))
            && let Some(file) = o.files.get(f as usize)
        {
            return (file.display().to_string(), format!("ndjson[line {line}]{tail}"));
        }
        (self.file.display().to_string(), file_location(location, self.line_offset))
    }
}

/// What to read: one file, or a directory's NDJSON files as one unit.
enum Input {
    File(PathBuf),
    Folder(PathBuf, Vec<PathBuf>),
}

impl Input {
    fn paths(&self) -> Vec<&Path> {
        match self {
            Input::File(f) => vec![f.as_path()],
            Input::Folder(_, files) => files.iter().map(PathBuf::as_path).collect(),
        }
    }
}

fn inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && matches!(f.extension().and_then(|x| x.to_str()), Some("json" | "ndjson")))
                .collect();
            found.sort();
            let (ndjson, bundles): (Vec<PathBuf>, Vec<PathBuf>) = found.into_iter().partition(|f| is_ndjson(f));
            out.extend(bundles.into_iter().map(Input::File));
            if !ndjson.is_empty() {
                out.push(Input::Folder(p.clone(), ndjson));
            }
        } else if p.is_file() {
            out.push(Input::File(p.clone()));
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

/// What the folder index reads of a line: its type, id and patient reference.
#[derive(serde::Deserialize)]
struct LineHead {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
    id: Option<String>,
    subject: Option<RefHead>,
    patient: Option<RefHead>,
}

#[derive(serde::Deserialize)]
struct RefHead {
    reference: Option<String>,
}

/// The patient a line belongs to: a Patient's own id, else the `Patient/<id>`
/// its `subject` or `patient` names. `None` for anything else (shared
/// resources, lines that are not JSON: the import reports those).
fn patient_of(line: &str) -> Option<String> {
    let head: LineHead = serde_json::from_str(line).ok()?;
    if head.resource_type.as_deref() == Some("Patient") {
        return head.id;
    }
    let reference = head.subject.or(head.patient)?.reference?;
    let id = reference.strip_prefix("Patient/")?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
}

/// A line's place: file index, line number, byte offset and length.
#[derive(Clone, Copy)]
struct Loc {
    file: u32,
    line: u32,
    offset: u64,
    len: u32,
}

/// The lines of a folder grouped by patient: patients in the order their
/// Patient line (else first reference) was met, each Patient line first.
struct FolderIndex {
    order: Vec<Vec<Loc>>,
    shared: Vec<Loc>,
}

fn index_folder(files: &[PathBuf]) -> Result<FolderIndex> {
    let mut by_patient: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut order: Vec<Vec<Loc>> = Vec::new();
    let mut shared = Vec::new();
    for (fi, path) in files.iter().enumerate() {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut reader = BufReader::with_capacity(1 << 20, f);
        let (mut offset, mut line_no, mut line) = (0u64, 0u32, String::new());
        loop {
            line.clear();
            let n = reader.read_line(&mut line).with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let loc = Loc {
                file: u32::try_from(fi).unwrap_or(u32::MAX),
                line: line_no,
                offset,
                len: u32::try_from(n).context("an NDJSON line over 4 GiB")?,
            };
            offset += n as u64;
            if line.trim().is_empty() {
                continue;
            }
            match patient_of(&line) {
                Some(p) => {
                    let i = *by_patient.entry(p).or_insert_with(|| {
                        order.push(Vec::new());
                        order.len() - 1
                    });
                    if is_patient_line(&line) {
                        order[i].insert(0, loc);
                    } else {
                        order[i].push(loc);
                    }
                }
                None => shared.push(loc),
            }
        }
    }
    Ok(FolderIndex { order, shared })
}

/// Read a folder as chunks of whole patients (see the module docs).
fn produce_folder(
    dir: &Path,
    files: &[PathBuf],
    (source, chunk): (&str, usize),
    send: &dyn Fn(Result<Parsed>) -> bool,
) -> Result<bool> {
    use std::io::{Seek, SeekFrom};
    let index = index_folder(files)?;
    let names = std::sync::Arc::new(files.to_vec());
    let mut open: Vec<std::fs::File> = Vec::with_capacity(files.len());
    for f in files {
        open.push(std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?);
    }
    let mut text = String::new();
    let mut lines: Vec<(u32, u32)> = Vec::new();
    let mut buf = Vec::new();
    let flush = |text: &mut String, lines: &mut Vec<(u32, u32)>| {
        if text.is_empty() {
            return true;
        }
        let result = import_ndjson(text, source);
        let origins = Some(Origins { files: names.clone(), lines: std::mem::take(lines) });
        let unit = Parsed { file: dir.to_path_buf(), line_offset: 0, origins, bytes: text.len() as u64, result };
        text.clear();
        send(Ok(unit))
    };
    let groups = index.order.iter().map(Vec::as_slice).chain(index.shared.chunks(chunk.max(1)));
    for group in groups {
        if lines.len() >= chunk && !flush(&mut text, &mut lines) {
            return Ok(false);
        }
        for loc in group {
            let f = &mut open[loc.file as usize];
            buf.resize(loc.len as usize, 0);
            f.seek(SeekFrom::Start(loc.offset))
                .and_then(|_| f.read_exact(&mut buf))
                .with_context(|| format!("reading {}", names[loc.file as usize].display()))?;
            text.push_str(std::str::from_utf8(&buf).context("an NDJSON line that is not UTF-8")?);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            lines.push((loc.file, loc.line));
        }
    }
    Ok(flush(&mut text, &mut lines))
}

/// Read, chunk and parse every input, sending each unit to the writer.
fn produce(inputs: Vec<Input>, args: (String, usize, bool), tx: tokio::sync::mpsc::Sender<Result<Parsed>>) {
    let (source, chunk, whole) = args;
    let send = |p: Result<Parsed>| tx.blocking_send(p).is_ok();
    for input in inputs {
        let file = match input {
            Input::File(f) => f,
            Input::Folder(dir, files) => {
                let chunk = if whole { usize::MAX } else { chunk };
                match produce_folder(&dir, &files, (&source, chunk), &send) {
                    Ok(true) => continue,
                    Ok(false) => return,
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                }
            }
        };
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
            let unit = Parsed { file, line_offset: 0, origins: None, bytes: text.len() as u64, result };
            if !send(Ok(unit)) {
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
                let unit =
                    Parsed { file: file.clone(), line_offset: start, origins: None, bytes: text.len() as u64, result };
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

/// An issue as an OperationOutcome would say it: `FILE: <kind> at LOCATION: problem`, the value, what is accepted.
fn describe(unit: &Parsed, kind: &str, i: &limbpath_fhir::Issue) -> String {
    let (file, at) = unit.at(&i.location);
    let mut s = format!("{file}: {kind} at {at}: {}", i.problem);
    if !i.value.is_empty() {
        s.push_str(&format!(" (got {:?})", i.value));
    }
    if !i.expected.is_empty() {
        s.push_str(&format!("; expected {}", i.expected));
    }
    s
}

pub async fn run(args: Args) -> Result<ExitCode> {
    let inputs = inputs(&args.paths)?;
    let total_bytes: u64 =
        inputs.iter().flat_map(Input::paths).filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let store = args.db.open().await?;
    let progress = if std::io::stderr().is_terminal() { ProgressBar::new(total_bytes) } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let n_files: usize = inputs.iter().map(|i| i.paths().len()).sum();
    let producer = tokio::task::spawn_blocking({
        let a = (args.source.clone(), args.chunk.max(1), args.whole_files);
        move || produce(inputs, a, tx)
    });
    let started = Instant::now();
    let (mut resources, mut stored, mut again, mut record_rows) = (0u64, 0u64, 0u64, 0u64);
    let (mut created, mut linked, mut incomplete, mut refused_units) = (0u64, 0u64, 0u64, 0u64);
    while let Some(unit) = rx.recv().await {
        let unit = unit?;
        progress.inc(unit.bytes);
        match &unit.result {
            Ok(import) => {
                for w in &import.warnings {
                    progress.suspend(|| eprintln!("{}", describe(&unit, "warning", w)));
                }
                match store.import_fhir(import).await {
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
                        eprintln!("{}", describe(&unit, kind, i));
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
    fn lines_belong_to_the_patient_they_name() {
        assert_eq!(patient_of(r#"{"resourceType":"Patient","id":"p1"}"#).as_deref(), Some("p1"));
        let obs = r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p1"}}"#;
        assert_eq!(patient_of(obs).as_deref(), Some("p1"));
        let body = r#"{"resourceType":"BodyStructure","id":"b","patient":{"reference":"Patient/p2"}}"#;
        assert_eq!(patient_of(body).as_deref(), Some("p2"));
        for shared in [
            r#"{"resourceType":"Practitioner","id":"x"}"#,
            r#"{"resourceType":"Observation","subject":{"reference":"Group/g"}}"#,
            r#"{"resourceType":"Observation","subject":{"reference":"Patient/"}}"#,
            "{not json",
        ] {
            assert_eq!(patient_of(shared), None, "{shared}");
        }
    }

    #[test]
    fn a_folder_is_indexed_by_patient_whatever_the_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let obs = |id: &str, p: &str| {
            format!(r#"{{"resourceType":"Observation","id":"{id}","subject":{{"reference":"Patient/{p}"}}}}"#)
        };
        std::fs::write(dir.path().join("A.ndjson"), format!("{}\n\n{}\n", obs("o2", "b"), obs("o1", "a"))).unwrap();
        std::fs::write(
            dir.path().join("Patient.ndjson"),
            "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"b\"}\n{\"resourceType\":\"Practitioner\"}\n",
        )
        .unwrap();
        let files = vec![dir.path().join("A.ndjson"), dir.path().join("Patient.ndjson")];
        let index = index_folder(&files).unwrap();
        let places = |locs: &[Loc]| locs.iter().map(|l| (l.file, l.line)).collect::<Vec<_>>();
        // b was met first (A.ndjson line 1); each Patient line comes first in its group
        assert_eq!(
            index.order.iter().map(|g| places(g)).collect::<Vec<_>>(),
            vec![vec![(1, 2), (0, 1)], vec![(1, 1), (0, 3)]]
        );
        assert_eq!(places(&index.shared), vec![(1, 3)]);
    }

    #[test]
    fn patient_lines_are_recognised() {
        assert!(is_patient_line(r#"{"resourceType":"Patient","id":"x"}"#));
        assert!(!is_patient_line(r#"{"resourceType":"Observation","subject":{"reference":"Patient/x"}}"#));
    }
}
