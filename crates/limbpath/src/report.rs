//! `limbpath report --out report.html`: the self-contained programme report
//! (inline CSS and SVG, no external assets, no scripts, no patient
//! identifiers), streamed from SQLite or PostgreSQL page by page.

use crate::serve::DatabaseArgs;
use anyhow::{Context, Result, bail};
use limbpath_analytics::outcomes::IndexDate;
use limbpath_analytics::programme::PublishedStageRate;
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
    /// Published stage-specific 1-year major amputation rates to compare with, as JSON:
    /// `[{"wifi_stage": 1-5, "one_year_major_amputation": 0-1, "source": "citation"}]`. LimbPath ships
    /// none (its reference pack has no such rates); without this file expected counts use the
    /// programme's own pooled rates only, and the report says so.
    #[arg(long)]
    pub published_rates: Option<PathBuf>,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

pub async fn run(args: Args) -> Result<ExitCode> {
    let Some(index) = IndexDate::from_code(&args.index) else {
        eprintln!("limbpath: invalid input: index = {:?}; accepted: episode_start, index_procedure", args.index);
        return Ok(ExitCode::from(2));
    };
    let settings = args.db.settings()?;
    if settings.database_url.is_none() && !settings.data_dir.join(limbpath_store::SQLITE_FILE_NAME).exists() {
        bail!("no database in {} (give --data-dir or --database-url)", settings.data_dir.display());
    }
    let published = match &args.published_rates {
        None => Vec::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            match parse_published(&text) {
                Ok(p) => p,
                Err(why) => {
                    eprintln!("limbpath: invalid input: published_rates: {why}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
    };
    let store = crate::serve::open_store(&settings).await?;
    let start = Instant::now();
    let built = limbpath_server::analytics::build_table(&store, index).await.context("reading the cohort")?;
    let now = time::OffsetDateTime::now_utc();
    let generated = format!("{} {:02}:{:02} UTC", now.date(), now.hour(), now.minute());
    let html = limbpath_server::web::analytics::report_document(
        &built.table,
        &generated,
        built.took.as_secs_f64(),
        &published,
    );
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

/// A programme's published-rates table, checked: stages 1-5 once each, rates 0-1, a source each.
fn parse_published(text: &str) -> std::result::Result<Vec<PublishedStageRate>, String> {
    let rates: Vec<PublishedStageRate> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    for (i, r) in rates.iter().enumerate() {
        if !(1..=5).contains(&r.wifi_stage) || rates[..i].iter().any(|o| o.wifi_stage == r.wifi_stage) {
            return Err(format!("[{i}].wifi_stage = {}: each stage 1-5 at most once", r.wifi_stage));
        }
        if !(0.0..=1.0).contains(&r.one_year_major_amputation) {
            return Err(format!("[{i}].one_year_major_amputation = {}: a proportion 0-1", r.one_year_major_amputation));
        }
        if r.source.trim().is_empty() {
            return Err(format!("[{i}].source: the citation of the rate is required"));
        }
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::parse_published;

    #[test]
    fn published_rates_need_a_stage_a_proportion_and_a_source() {
        let ok = parse_published(r#"[{"wifi_stage": 4, "one_year_major_amputation": 0.2, "source": "a series"}]"#);
        assert_eq!(ok.unwrap()[0].wifi_stage, 4);
        assert!(parse_published(r#"[{"wifi_stage": 6, "one_year_major_amputation": 0.2, "source": "x"}]"#).is_err());
        assert!(parse_published(r#"[{"wifi_stage": 1, "one_year_major_amputation": 1.5, "source": "x"}]"#).is_err());
        assert!(parse_published(r#"[{"wifi_stage": 1, "one_year_major_amputation": 0.1, "source": " "}]"#).is_err());
    }
}
