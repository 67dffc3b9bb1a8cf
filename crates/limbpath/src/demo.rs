//! `limbpath demo`: a fresh database with a deterministic synthetic cohort,
//! a demo clinician account, and the server.

use crate::serve::{ServeArgs, generate_password, serve_store};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use limbpath_record::{PatientRecord, Role, UserData};
use std::io::IsTerminal;
use std::process::ExitCode;

/// The default cohort seed: the same cohort on every machine.
pub const DEFAULT_SEED: u64 = 20_261_121;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Synthetic patients to generate (up to 1,000,000).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub patients: u64,
    /// Cohort seed (record i depends only on the seed and i).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Build the database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Overwrite a database in the data directory that the demo did not build
    /// (a demo-built database is always rebuilt).
    #[arg(long)]
    pub replace: bool,
}

const BATCH: u64 = 500;

/// Marks a data directory whose database `limbpath demo` built (disposable).
const DEMO_MARKER: &str = "LIMBPATH_DEMO_DATABASE";

pub async fn run(args: DemoArgs) -> Result<ExitCode> {
    let settings = args.serve.settings()?;
    if !args.no_serve {
        crate::config::init_logging(settings.log_format, &settings.log_level)?;
    }
    // Before the old demo database is removed: a restore into this directory is not under way.
    let _lock = crate::serve::serving_lock(&settings).await?;
    if settings.database_url.is_none() {
        let file = settings.data_dir.join(limbpath_store::SQLITE_FILE_NAME);
        let marker = settings.data_dir.join(DEMO_MARKER);
        if file.exists() {
            // A database the demo built is disposable and rebuilt; any other needs --replace.
            if !args.replace && !marker.exists() {
                bail!(
                    "{} holds a database that `limbpath demo` did not build; pass --replace to overwrite it, or --data-dir for another directory",
                    file.display()
                );
            }
            for suffix in ["", "-wal", "-shm"] {
                let p = settings.data_dir.join(format!("{}{suffix}", limbpath_store::SQLITE_FILE_NAME));
                if p.exists() {
                    std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
                }
            }
        }
    }
    let store = crate::serve::open_store(&settings).await?;
    if settings.database_url.is_none() {
        let marker = settings.data_dir.join(DEMO_MARKER);
        std::fs::write(
            &marker,
            "This directory holds a synthetic demo database built by `limbpath demo`; it is rebuilt on every run.\n",
        )
        .with_context(|| format!("writing {}", marker.display()))?;
    }
    if store.count_patients().await? > 0 {
        bail!("the database already holds patients; the demo needs an empty database");
    }

    let progress =
        if std::io::stderr().is_terminal() { ProgressBar::new(args.patients) } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} building demo [{elapsed_precise}] {wide_bar} {pos}/{len} patients {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    // Generate the next batch (on every core) while the current one is written.
    let seed = args.seed;
    let generate = move |from: u64, to: u64| -> Result<Vec<PatientRecord>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let per = (to - from).div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let parts: Vec<_> = (0..threads)
                .map(|t| (from + t * per, (from + (t + 1) * per).min(to)))
                .filter(|(a, b)| a < b)
                .map(|(a, b)| {
                    s.spawn(move || (a..b).map(|i| limbpath_demo::try_patient_record(seed, i)).collect::<Vec<_>>())
                })
                .collect();
            let mut out = Vec::with_capacity((to - from) as usize);
            for part in parts {
                let records = part.join().map_err(|_| anyhow::anyhow!("a demo generator thread panicked"))?;
                for r in records {
                    out.push(r.map_err(|e| anyhow::anyhow!("generating demo patient: {e}"))?);
                }
            }
            Ok(out)
        })
    };
    let mut next = Some(tokio::task::spawn_blocking(move || generate(0, BATCH.min(args.patients))));
    let mut from = 0;
    while let Some(handle) = next.take() {
        let batch = handle.await.context("generating demo patients")??;
        let to = from + batch.len() as u64;
        if to < args.patients {
            let end = (to + BATCH).min(args.patients);
            next = Some(tokio::task::spawn_blocking(move || generate(to, end)));
        }
        store.insert_patient_records(&batch).await.context("storing demo patients")?;
        progress.set_position(to);
        from = to;
    }
    progress.finish_and_clear();
    store.analyze().await.ok();
    let elapsed = started.elapsed();
    eprintln!(
        "limbpath: built {} demo patients (seed {}) in {:.1} s ({:.0} patients/s)",
        args.patients,
        args.seed,
        elapsed.as_secs_f64(),
        args.patients as f64 / elapsed.as_secs_f64().max(1e-9)
    );

    let password = generate_password()?;
    let clinician = UserData {
        username: "demo.clinician".into(),
        display_name: "Demo Clinician".into(),
        role: Role::Clinician,
        patient_id: None,
    };
    store.create_user(clinician, &password).await.context("creating the demo clinician")?;
    let banner = format!(
        "\n  LimbPath demo: {} synthetic patients (no real patient data)\n  URL:      http://{}/\n  login:    demo.clinician\n  password: {password}\n",
        args.patients, settings.bind
    );
    if args.no_serve {
        eprintln!("{banner}");
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    serve_store(store, &settings, Some(banner)).await
}
