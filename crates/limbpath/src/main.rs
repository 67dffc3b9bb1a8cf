//! `limbpath`: the one binary. Subcommands call into the engine crates; this
//! crate owns only argument parsing, reading input and writing output.

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

mod analytics;
mod assess;
mod classify;
mod config;
mod datasafety;
mod demo;
mod import;
mod lock;
mod output;
mod protocol;
mod report;
mod serve;

use output::Format;

// The engine builds many small strings for its explanations; mimalloc makes a
// full assessment about 18 % faster than the system allocator (BENCHMARKS.md).
// The `system-allocator` feature (off by default) leaves glibc's malloc in place for heap profilers.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// LimbPath: limb salvage programme software. Every result is decision
/// support for a clinician, with its inputs, rule, source and flags.
#[derive(Debug, Parser)]
#[command(name = "limbpath", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute one classification from command-line findings.
    Classify {
        /// Write the stable JSON envelope (schema in README.md) instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        classification: classify::Classification,
    },
    /// Triage a patient's check-in: contact the team immediately / today / routine, and what to do now.
    Triage {
        /// Write the JSON envelope (`limbpath.triage/1`) instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        args: protocol::TriageArgs,
    },
    /// A between-visits protocol plan: osseointegration rehabilitation or limb lengthening.
    Protocol {
        /// Write the JSON envelope (`limbpath.protocol.<name>/1`) instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        protocol: protocol::Protocol,
    },
    /// Every applicable classification for one limb's findings (JSON in).
    Assess(assess::Args),
    /// Build a fresh database with a synthetic cohort and a demo clinician, then serve it.
    Demo(demo::DemoArgs),
    /// Import FHIR R4 Bundles (`*.json`) and NDJSON (`*.ndjson`) into the record; idempotent.
    Import(import::Args),
    /// Serve the record and its JSON API (SQLite in --data-dir, or PostgreSQL via --database-url).
    Serve(serve::ServeArgs),
    /// Write a consistent copy of the SQLite database while the server runs, checked, with a summary.
    Backup(datasafety::BackupArgs),
    /// Check a backup and install it as a data directory's database (atomically; --force to replace one).
    Restore(datasafety::RestoreArgs),
    /// Move a whole SQLite programme into an empty PostgreSQL database, verified table by table.
    Migrate(datasafety::MigrateArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(serve::UserCommand),
    /// The server's configuration (file, environment, flags).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Survival analytics on a CSV cohort (Kaplan-Meier, log-rank, cumulative incidence, Cox).
    Analytics(analytics::Args),
    /// Write the self-contained programme outcomes report (HTML, no patient identifiers).
    Report(report::Args),
    /// The sources every classification cites, with their evidence status.
    Sources {
        /// Write JSON (`{"schema", "engine_version", "sources": {id: source}}`).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective settings (secrets
    /// redacted); exit 2 naming the bad key.
    Check(serve::ServeArgs),
}

/// The command line, with negative numbers accepted as values in every
/// `classify` subcommand (so `--abi -1` reaches the engine and is rejected
/// there with the field named, rather than misread as a flag).
fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("classify", |classify| {
            let names: Vec<String> = classify.get_subcommands().map(|s| s.get_name().to_owned()).collect();
            names.iter().fold(classify, |c, name| c.mut_subcommand(name, |s| s.allow_negative_numbers(true)))
        })
        .mut_subcommand("triage", |t| t.allow_negative_numbers(true))
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("limbpath: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Print a result, or report invalid input (exit 2) naming the field.
fn print_or_invalid(out: std::result::Result<String, limbpath_clinical::InvalidInput>) -> Result<ExitCode> {
    match out {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(invalid) => {
            eprintln!("limbpath: invalid input: {invalid}");
            Ok(ExitCode::from(2))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Exit codes: 0 success, 2 invalid input (message on stderr), 1 anything else.
fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Classify { json, classification } => {
            let format = if json { Format::Json } else { Format::Text };
            match classification.run(format) {
                Ok(text) => {
                    print!("{text}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(invalid) => {
                    eprintln!("limbpath: invalid input: {invalid}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Triage { json, args } => print_or_invalid(args.run(if json { Format::Json } else { Format::Text })),
        Command::Protocol { json, protocol } => {
            print_or_invalid(protocol.run(if json { Format::Json } else { Format::Text }))
        }
        Command::Assess(args) => assess::run(args),
        Command::Analytics(args) => analytics::run(args),
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
        Command::Import(args) => runtime()?.block_on(import::run(args)),
        Command::Report(args) => runtime()?.block_on(report::run(args)),
        Command::Serve(args) => runtime()?.block_on(serve::serve(args)),
        Command::Backup(args) => runtime()?.block_on(datasafety::backup(args)),
        Command::Restore(args) => runtime()?.block_on(datasafety::restore(args)),
        Command::Migrate(args) => runtime()?.block_on(datasafety::migrate(args)),
        Command::User(cmd) => runtime()?.block_on(serve::user(cmd)),
        Command::Config(ConfigCommand::Check(args)) => match args.settings() {
            Ok(settings) => {
                print!("{}", settings.render_redacted());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("limbpath: configuration error: {e:#}");
                Ok(ExitCode::from(2))
            }
        },
        Command::Sources { json } => {
            print!("{}", output::render_sources(if json { Format::Json } else { Format::Text }));
            Ok(ExitCode::SUCCESS)
        }
    }
}
