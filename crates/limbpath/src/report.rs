//! `limbpath report --out report.html`: the self-contained programme report
//! (inline CSS and SVG, no external assets, no scripts, no patient
//! identifiers), streamed from SQLite or PostgreSQL page by page.

use crate::serve::DatabaseArgs;
use anyhow::{Context, Result, bail};
use limbpath_analytics::outcomes::IndexDate;
use limbpath_store::{AuditEntry, AuditOutcome};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the HTML report.
    #[arg(long)]
    pub out: PathBuf,
    /// Time zero: `episode_start` or `index_procedure` (the first arterial revascularisation).
    #[arg(long, default_value = "episode_start")]
    pub index: String,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

pub async fn run(args: Args) -> Result<ExitCode> {
    let Some(index) = IndexDate::from_code(&args.index) else {
        eprintln!("limbpath: invalid input: index = {:?}; accepted: episode_start, index_procedure", args.index);
        return Ok(ExitCode::from(2));
    };
    if args.db.database_url.is_none() && !args.db.data_dir.join(limbpath_store::SQLITE_FILE_NAME).exists() {
        bail!("no database in {} (give --data-dir or --database-url)", args.db.data_dir.display());
    }
    let store = args.db.open().await?;
    let start = Instant::now();
    let built = limbpath_server::analytics::build_table(&store, index).await.context("reading the cohort")?;
    let now = time::OffsetDateTime::now_utc();
    let generated = format!("{} {:02}:{:02} UTC", now.date(), now.hour(), now.minute());
    let html = limbpath_server::web::analytics::report_document(&built.table, &generated, built.took.as_secs_f64());
    std::fs::write(&args.out, &html).with_context(|| format!("writing {}", args.out.display()))?;
    // An aggregate read of the whole record: audited, without a patient.
    store
        .append_audit(&AuditEntry {
            at_ms: limbpath_server::app::now_ms(),
            user_id: None,
            username: Some("limbpath-cli".to_owned()),
            role: None,
            action: "report".to_owned(),
            entity: Some("analytics".to_owned()),
            entity_id: None,
            patient_id: None,
            remote_addr: None,
            outcome: AuditOutcome::Ok,
            detail: format!("programme report, index={}, {} episodes", index.code(), built.table.episodes_read()),
        })
        .await
        .context("writing the audit entry")?;
    store.close().await;
    eprintln!(
        "limbpath: wrote {} ({} bytes): {} episodes read in {:.1} s, report in {:.1} s",
        args.out.display(),
        html.len(),
        built.table.episodes_read(),
        built.took.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
