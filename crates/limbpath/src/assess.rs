//! `limbpath assess`: one limb's findings in (JSON), every applicable
//! classification out. `--batch` reads and writes JSON lines, in parallel,
//! in input order, with a progress bar when stderr is a terminal.

use crate::output::{Envelope, Format, envelope, render};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use limbpath_clinical::InvalidInput;
use limbpath_clinical::assess::{Assessment, AssessmentInput, assess};
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "The input schema and an example are in README.md (\"limbpath assess\").\n\
Exit status: 0 all findings valid, 2 invalid input (details on stderr, and per line in --batch output).")]
pub struct Args {
    /// Findings file (JSON; JSON lines with --batch), or - for standard input.
    #[arg(long, short, value_name = "FILE|-")]
    input: PathBuf,
    /// Read JSON lines, one limb's findings per line; write one JSON result per line.
    #[arg(long)]
    batch: bool,
    /// Write the JSON envelope instead of text (always on with --batch).
    #[arg(long)]
    json: bool,
    /// Worker threads for --batch (default: available cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// An input problem as written to stderr and to --batch error lines.
#[derive(Debug, Serialize)]
struct InputProblem {
    /// The field, as a dotted path in the input; empty when the JSON itself is malformed.
    field: String,
    value: Option<String>,
    problem: String,
    message: String,
}

impl From<InvalidInput> for InputProblem {
    fn from(e: InvalidInput) -> Self {
        InputProblem {
            message: e.to_string(),
            field: e.field,
            value: e.value,
            problem: serde_json::to_value(e.problem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        }
    }
}

/// Parse and assess one JSON document, naming the field that was wrong.
fn assess_text(text: &str) -> Result<Assessment, InputProblem> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let input: AssessmentInput = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let problem = if inner.is_syntax() || inner.is_eof() { "malformed_json" } else { "invalid_json_value" };
        InputProblem {
            field: if path == "." { String::new() } else { path.clone() },
            value: None,
            problem: problem.to_owned(),
            message: if path == "." { inner.to_string() } else { format!("{path}: {inner}") },
        }
    })?;
    assess(&input).map_err(InputProblem::from)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = if args.json || args.batch { Format::Json } else { Format::Text };
    if args.batch {
        return run_batch(&args);
    }
    let mut text = String::new();
    open(&args.input)?.read_to_string(&mut text).with_context(|| format!("reading {}", args.input.display()))?;
    match assess_text(&text) {
        Ok(a) => {
            print!("{}", render("assess", &a, format));
            Ok(ExitCode::SUCCESS)
        }
        Err(p) => {
            eprintln!("limbpath: invalid input: {}", p.message);
            Ok(ExitCode::from(2))
        }
    }
}

fn open(path: &PathBuf) -> Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?))
    }
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    schema: &'static str,
    line: u64,
    error: &'a InputProblem,
}

#[derive(Serialize)]
struct ResultLine<'a, T: Serialize> {
    line: u64,
    #[serde(flatten)]
    envelope: crate::output::Envelope<'a, T>,
}

/// Assess one line into its output JSON; returns whether it was valid.
fn line_out(line_no: u64, text: &str, out: &mut Vec<u8>) -> bool {
    let ok = match assess_text(text) {
        Ok(a) => {
            let _ = serde_json::to_writer(
                &mut *out,
                &ResultLine { line: line_no, envelope: Envelope { with_sources: false, ..envelope("assess", &a) } },
            );
            true
        }
        Err(p) => {
            let _ = serde_json::to_writer(
                &mut *out,
                &ErrorLine { schema: "limbpath.assess.error/1", line: line_no, error: &p },
            );
            false
        }
    };
    out.push(b'\n');
    ok
}

const CHUNK_LINES: usize = 8192;

fn run_batch(args: &Args) -> Result<ExitCode> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let (reader, total_bytes): (Box<dyn BufRead>, Option<u64>) = if args.input.as_os_str() == "-" {
        (Box::new(BufReader::with_capacity(1 << 20, io::stdin().lock())), None)
    } else {
        let f = File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 20, f)), len)
    };
    let progress = progress_bar(total_bytes);
    let stdout = io::stdout();
    let mut writer = BufWriter::with_capacity(1 << 20, stdout.lock());

    let mut lines = reader.lines();
    let (mut line_no, mut valid, mut invalid) = (0u64, 0u64, 0u64);
    loop {
        // Read a chunk of non-empty lines with their line numbers.
        let mut chunk: Vec<(u64, String)> = Vec::with_capacity(CHUNK_LINES);
        let mut bytes = 0u64;
        for line in lines.by_ref() {
            let line = line.context("reading input")?;
            line_no += 1;
            bytes += line.len() as u64 + 1;
            if !line.trim().is_empty() {
                chunk.push((line_no, line));
                if chunk.len() == CHUNK_LINES {
                    break;
                }
            }
        }
        if chunk.is_empty() {
            break;
        }
        // Assess the chunk on `threads` workers; each returns its bytes in order.
        let per = chunk.len().div_ceil(threads);
        let results: Vec<(Vec<u8>, u64, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .chunks(per)
                .map(|part| {
                    s.spawn(move || {
                        let mut out = Vec::with_capacity(part.len() * 4096);
                        let (mut ok, mut bad) = (0u64, 0u64);
                        for (n, text) in part {
                            if line_out(*n, text, &mut out) { ok += 1 } else { bad += 1 }
                        }
                        (out, ok, bad)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| (Vec::new(), 0, 0))).collect()
        });
        for (bytes_out, ok, bad) in results {
            writer.write_all(&bytes_out).context("writing output")?;
            valid += ok;
            invalid += bad;
        }
        progress.inc(bytes);
        progress.set_message(format!("{} assessed, {} invalid", valid, invalid));
    }
    writer.flush().context("writing output")?;
    progress.finish_and_clear();
    eprintln!("limbpath: {} findings assessed, {} invalid", valid + invalid, invalid);
    Ok(if invalid > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn progress_bar(total_bytes: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = match total_bytes {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb
}
