//! Configuration: a TOML file (`--config FILE` or `LIMBPATH_CONFIG`),
//! environment variables and command-line flags.
//!
//! Precedence, per setting: flag > environment variable > file > default.
//! (clap gives a flag precedence over its environment variable; both are
//! `None` here when neither was given, and the file or the default applies.)
//! Every key is optional; an unknown key is an error naming it, so a typo is
//! not silently ignored.

use anyhow::{Context, Result, bail};
use limbpath_server::ops::{IpNet, RateLimits};
use serde::Deserialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line (for a log collector).
    Json,
}

impl LogFormat {
    fn code(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The configuration file, as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub bind: Option<SocketAddr>,
    pub session_hours: Option<u64>,
    pub session_idle_minutes: Option<u64>,
    pub care_sweep_minutes: Option<u64>,
    pub secure_cookies: Option<bool>,
    pub hsts: Option<bool>,
    pub trusted_proxies: Option<Vec<IpNet>>,
    pub metrics_token: Option<String>,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub rate_limit: RateSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub format: Option<LogFormat>,
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSection {
    pub login_per_minute: Option<u32>,
    pub login_burst: Option<u32>,
    pub api_per_second: Option<u32>,
    pub api_burst: Option<u32>,
}

/// Read and parse a configuration file; errors name the file and the key.
pub fn load_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the config file {}", path.display()))?;
    parse_file(&text).with_context(|| format!("config file {}", path.display()))
}

/// Parse configuration text: a syntax error gives its line, a wrong value the
/// dotted key (`rate_limit.login_per_minute`).
pub fn parse_file(text: &str) -> Result<FileConfig> {
    let value: toml::Value = toml::from_str(text).map_err(|e| anyhow::anyhow!("not valid TOML: {}", e.message()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message();
        if key == "." { anyhow::anyhow!("{message}") } else { anyhow::anyhow!("{key}: {message}") }
    })
}

/// The effective configuration of `limbpath serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub session_hours: u64,
    /// Minutes a browser session may go unused before it ends (0: no idle limit; API tokens never have one).
    pub session_idle_minutes: u64,
    /// Minutes between the server's own care-plan sweeps (0: none; run `POST /api/v1/care-plans/run` instead).
    pub care_sweep_minutes: u64,
    pub secure_cookies: bool,
    pub hsts: bool,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics_token: Option<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub rate_limits: RateLimits,
}

/// The longest session: 400 days (the store's limit on any token).
const MAX_SESSION_HOURS: u64 = 400 * 24;
/// The server sweeps every open episode's care plan this often by default, so that a checkpoint passed or a
/// follow-up visit missed reaches the worklist within the hour (operations policy, not a clinical number).
/// ASVS 3.3.2 (level 2): a session ends after 30 minutes without use (and 12 hours at most; `session_hours`).
const DEFAULT_SESSION_IDLE_MINUTES: u64 = 30;
/// An idle limit beyond a day is no idle limit; 0 says so plainly.
const MAX_SESSION_IDLE_MINUTES: u64 = 24 * 60;
const DEFAULT_CARE_SWEEP_MINUTES: u64 = 60;
const MAX_CARE_SWEEP_MINUTES: u64 = 24 * 60;

/// What flags and environment variables said (`None`: neither was given).
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub bind: Option<SocketAddr>,
    pub session_hours: Option<u64>,
    pub session_idle_minutes: Option<u64>,
    pub care_sweep_minutes: Option<u64>,
    pub secure_cookies: Option<bool>,
    pub hsts: Option<bool>,
    pub trusted_proxies: Option<Vec<IpNet>>,
    pub metrics_token: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub rate_login_per_minute: Option<u32>,
    pub rate_login_burst: Option<u32>,
    pub rate_api_per_second: Option<u32>,
    pub rate_api_burst: Option<u32>,
}

impl Settings {
    /// Flags and environment over the file (read when one is named) over defaults, validated.
    pub fn resolve(given: &Given) -> Result<Settings> {
        let file = match &given.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        Settings::merge(given, file)
    }

    /// Flags and environment over `file` over defaults, validated.
    pub fn merge(g: &Given, f: FileConfig) -> Result<Settings> {
        let d = RateLimits::RECOMMENDED;
        let s = Settings {
            config_file: g.config.clone(),
            database_url: g.database_url.clone().or(f.database_url).filter(|u| !u.trim().is_empty()),
            data_dir: g.data_dir.clone().or(f.data_dir).unwrap_or_else(|| PathBuf::from("data")),
            bind: g.bind.or(f.bind).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            session_hours: g.session_hours.or(f.session_hours).unwrap_or(8),
            session_idle_minutes: g
                .session_idle_minutes
                .or(f.session_idle_minutes)
                .unwrap_or(DEFAULT_SESSION_IDLE_MINUTES),
            care_sweep_minutes: g.care_sweep_minutes.or(f.care_sweep_minutes).unwrap_or(DEFAULT_CARE_SWEEP_MINUTES),
            secure_cookies: g.secure_cookies.or(f.secure_cookies).unwrap_or(false),
            hsts: g.hsts.or(f.hsts).unwrap_or(false),
            trusted_proxies: g.trusted_proxies.clone().or(f.trusted_proxies).unwrap_or_default(),
            metrics_token: g.metrics_token.clone().or(f.metrics_token).filter(|t| !t.is_empty()),
            log_format: g.log_format.or(f.log.format).unwrap_or(LogFormat::Text),
            log_level: g.log_level.clone().or(f.log.level).unwrap_or_else(|| "info".to_owned()),
            rate_limits: RateLimits {
                login_per_minute: g
                    .rate_login_per_minute
                    .or(f.rate_limit.login_per_minute)
                    .unwrap_or(d.login_per_minute),
                login_burst: g.rate_login_burst.or(f.rate_limit.login_burst).unwrap_or(d.login_burst),
                api_per_second: g.rate_api_per_second.or(f.rate_limit.api_per_second).unwrap_or(d.api_per_second),
                api_burst: g.rate_api_burst.or(f.rate_limit.api_burst).unwrap_or(d.api_burst),
            },
        };
        s.validate()?;
        Ok(s)
    }

    /// Check values that parse but make no sense; the error names the key
    /// (file key, flag and environment variable).
    pub fn validate(&self) -> Result<()> {
        if let Some(url) = &self.database_url
            && !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| url.starts_with(p))
        {
            bail!(
                "database_url (--database-url / DATABASE_URL): {:?} is neither postgres://… nor sqlite:…",
                crate::serve::redact(url)
            );
        }
        if self.data_dir.as_os_str().is_empty() {
            bail!("data_dir (--data-dir / LIMBPATH_DATA_DIR): must not be empty");
        }
        if self.care_sweep_minutes > MAX_CARE_SWEEP_MINUTES {
            bail!(
                "care_sweep_minutes (--care-sweep-minutes / LIMBPATH_CARE_SWEEP_MINUTES): {} is more than \
                 {MAX_CARE_SWEEP_MINUTES} minutes (a day); 0 turns the sweep off",
                self.care_sweep_minutes
            );
        }
        if !(1..=MAX_SESSION_HOURS).contains(&self.session_hours) {
            bail!(
                "session_hours (--session-hours / LIMBPATH_SESSION_HOURS): {} is outside 1 to {MAX_SESSION_HOURS} hours",
                self.session_hours
            );
        }
        if self.session_idle_minutes > MAX_SESSION_IDLE_MINUTES {
            bail!(
                "session_idle_minutes (--session-idle-minutes / LIMBPATH_SESSION_IDLE_MINUTES): {} is more than \
                 {MAX_SESSION_IDLE_MINUTES} minutes (a day); 0 turns the idle limit off",
                self.session_idle_minutes
            );
        }
        if !valid_log_level(&self.log_level) {
            bail!(
                "log.level (--log-level / LIMBPATH_LOG_LEVEL): {:?} is not a level (off, error, warn, info, debug, \
                 trace) or a list such as \"info,limbpath::http=warn\"",
                self.log_level
            );
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.chars().count() < 16) {
            bail!("metrics_token (--metrics-token / LIMBPATH_METRICS_TOKEN): use at least 16 random characters");
        }
        let r = self.rate_limits;
        for (rate, burst, key, flag) in [
            (
                r.login_per_minute,
                r.login_burst,
                "rate_limit.login_burst",
                "--rate-login-burst / LIMBPATH_RATE_LOGIN_BURST",
            ),
            (r.api_per_second, r.api_burst, "rate_limit.api_burst", "--rate-api-burst / LIMBPATH_RATE_API_BURST"),
        ] {
            if rate > 0 && burst == 0 {
                bail!(
                    "{key} ({flag}): must be at least 1 while its rate is on (set the rate to 0 to turn the limit off)"
                );
            }
        }
        if self.hsts && !self.secure_cookies {
            bail!(
                "hsts (--hsts / LIMBPATH_HSTS): HSTS says the site is reached over TLS only; set secure_cookies too \
                 (--secure-cookies / LIMBPATH_SECURE_COOKIES)"
            );
        }
        Ok(())
    }

    /// The settings as a TOML file, secrets redacted (the database password
    /// and the metrics token): what `limbpath config check` prints.
    pub fn render_redacted(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# limbpath: effective configuration (flag > environment > file > default)");
        match &self.config_file {
            Some(p) => {
                let _ = writeln!(out, "# config file: {}", p.display());
            }
            None => {
                let _ = writeln!(out, "# config file: none");
            }
        }
        match &self.database_url {
            Some(url) => {
                let _ = writeln!(out, "database_url = {}", quote(&crate::serve::redact(url)));
            }
            None => {
                let _ = writeln!(out, "# database_url: not set (SQLite in data_dir)");
            }
        }
        let _ = writeln!(out, "data_dir = {}", quote(&self.data_dir.display().to_string()));
        let _ = writeln!(out, "bind = {}", quote(&self.bind.to_string()));
        let _ = writeln!(out, "session_hours = {}", self.session_hours);
        let _ = writeln!(out, "session_idle_minutes = {}", self.session_idle_minutes);
        let _ = writeln!(out, "care_sweep_minutes = {}", self.care_sweep_minutes);
        let _ = writeln!(out, "secure_cookies = {}", self.secure_cookies);
        let _ = writeln!(out, "hsts = {}", self.hsts);
        let proxies: Vec<String> = self.trusted_proxies.iter().map(|p| quote(&p.to_string())).collect();
        let _ = writeln!(out, "trusted_proxies = [{}]", proxies.join(", "));
        match &self.metrics_token {
            Some(_) => {
                let _ = writeln!(out, "metrics_token = \"***\"");
            }
            None => {
                let _ = writeln!(out, "# metrics_token: not set (/metrics for the same host only)");
            }
        }
        let _ =
            writeln!(out, "\n[log]\nformat = {}\nlevel = {}", quote(self.log_format.code()), quote(&self.log_level));
        let r = self.rate_limits;
        let _ = writeln!(
            out,
            "\n[rate_limit]\nlogin_per_minute = {}\nlogin_burst = {}\napi_per_second = {}\napi_burst = {}",
            r.login_per_minute, r.login_burst, r.api_per_second, r.api_burst
        );
        out
    }
}

/// `LEVEL` or `TARGET=LEVEL`, comma-separated (a bare word that is not a
/// level would otherwise be read as a target at `trace`).
fn valid_log_level(spec: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let is_level = |l: &str| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l.trim()));
    !spec.trim().is_empty()
        && spec.split(',').all(|d| match d.split_once('=') {
            Some((target, level)) => !target.trim().is_empty() && is_level(level),
            None => is_level(d),
        })
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Send `tracing` events to standard error as text or JSON lines, filtered
/// by `level` (`info`, or per target: `info,limbpath::http=warn`).
pub fn init_logging(format: LogFormat, level: &str) -> Result<()> {
    use tracing_subscriber::prelude::*;
    let filter: tracing_subscriber::filter::Targets =
        level.parse().map_err(|e| anyhow::anyhow!("log.level {level:?}: {e}"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    let result = match format {
        LogFormat::Text => registry.with(fmt).try_init(),
        LogFormat::Json => {
            registry.with(fmt.json().flatten_event(true).with_current_span(false).with_span_list(false)).try_init()
        }
    };
    // Already set (a second server in one process): keep the first.
    let _ = result;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
database_url = "postgres://limbpath:s3cret@db.internal:5432/limbpath"
data_dir = "/var/lib/limbpath"
bind = "0.0.0.0:9000"
session_hours = 10
session_idle_minutes = 15
secure_cookies = true
hsts = true
trusted_proxies = ["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"]
metrics_token = "0123456789abcdef0123"

[log]
format = "json"
level = "info,limbpath::http=warn"

[rate_limit]
login_per_minute = 5
login_burst = 5
api_per_second = 20
api_burst = 40
"#;

    #[test]
    fn a_full_file_is_read() {
        let s = Settings::merge(&Given::default(), parse_file(FULL).unwrap()).unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.session_hours, 10);
        assert_eq!(s.session_idle_minutes, 15);
        assert!(s.secure_cookies && s.hsts);
        let proxies: Vec<String> = s.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["127.0.0.1/32", "::1/128", "10.0.0.0/8", "fd00::/8"]);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(
            s.rate_limits,
            RateLimits { login_per_minute: 5, login_burst: 5, api_per_second: 20, api_burst: 40 }
        );
        let shown = s.render_redacted();
        assert!(!shown.contains("s3cret") && !shown.contains("0123456789abcdef0123"), "{shown}");
        assert!(shown.contains("postgres://limbpath:***@db.internal:5432/limbpath"), "{shown}");
        // what is printed is itself a valid file with the same settings (secrets aside)
        let without_token: String =
            shown.lines().filter(|l| !l.starts_with("metrics_token")).map(|l| format!("{l}\n")).collect();
        let again = Settings::merge(&Given::default(), parse_file(&without_token).unwrap()).unwrap();
        assert_eq!(again.bind, s.bind);
        assert_eq!(again.rate_limits, s.rate_limits);
        assert_eq!(again.log_level, s.log_level);
        assert_eq!(again.session_idle_minutes, 15);
        assert_eq!(again.trusted_proxies, s.trusted_proxies);
    }

    #[test]
    fn flags_and_environment_win_over_the_file_over_defaults() {
        let file = || {
            parse_file(
                "session_hours = 10\nsession_idle_minutes = 20\nbind = \"0.0.0.0:9000\"\n[log]\nformat = \"json\"",
            )
            .unwrap()
        };
        let g = Given { session_hours: Some(2), ..Given::default() };
        let s = Settings::merge(&g, file()).unwrap();
        assert_eq!(s.session_hours, 2, "flag/env over file");
        assert_eq!(s.session_idle_minutes, 20, "file over default");
        let g = Given { session_idle_minutes: Some(0), ..Given::default() };
        assert_eq!(Settings::merge(&g, file()).unwrap().session_idle_minutes, 0, "flag/env over file; 0 is off");
        assert_eq!(s.bind, "0.0.0.0:9000".parse().unwrap(), "file over default");
        assert_eq!(s.log_format, LogFormat::Json);
        let s = Settings::merge(&Given::default(), FileConfig::default()).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((s.session_hours, s.log_format, s.log_level.as_str()), (8, LogFormat::Text, "info"));
        assert_eq!(s.session_idle_minutes, 30);
        assert_eq!(s.rate_limits, RateLimits::RECOMMENDED);
        assert_eq!(s.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn errors_name_the_key() {
        let err = |text: &str| {
            format!("{:#}", parse_file(text).and_then(|f| Settings::merge(&Given::default(), f)).unwrap_err())
        };
        assert!(err("sesion_hours = 3").contains("unknown field `sesion_hours`"), "{}", err("sesion_hours = 3"));
        assert!(err("[rate_limit]\nlogin_per_minute = \"ten\"").starts_with("rate_limit.login_per_minute:"));
        assert!(err("[log]\nformat = \"xml\"").starts_with("log.format:"), "{}", err("[log]\nformat = \"xml\""));
        assert!(err("bind = \"localhost\"").starts_with("bind:"));
        assert!(err("trusted_proxies = [\"10.0.0.300\"]").starts_with("trusted_proxies[0]:"));
        // a bad range: the key, the position and the entry are named
        let e = err("trusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]");
        assert!(e.starts_with("trusted_proxies[1]: \"10.0.0.0/33\": prefix length 33"), "{e}");
        let e = err("trusted_proxies = [\"fd00::/8\", \"::1\", \"fd00::/200\"]");
        assert!(e.starts_with("trusted_proxies[2]: \"fd00::/200\""), "{e}");
        let e = err("trusted_proxies = [\"10.1.0.0/8\"]");
        assert!(e.starts_with("trusted_proxies[0]: ") && e.contains("10.0.0.0/8"), "{e}");
        assert!(err("trusted_proxies = [\"proxy.internal\"]").starts_with("trusted_proxies[0]: \"proxy.internal\""));
        assert!(err("trusted_proxies = \"10.0.0.0/8\"").starts_with("trusted_proxies:"), "a list, not a string");
        assert!(err("session_hours = 0").starts_with("session_hours "));
        assert!(err("session_idle_minutes = 1441").starts_with("session_idle_minutes "));
        assert!(err("session_idle_minutes = -1").starts_with("session_idle_minutes:"));
        assert!(err("care_sweep_minutes = 1441").starts_with("care_sweep_minutes "));
        assert!(err("[log]\nlevel = \"loud\"").starts_with("log.level "));
        assert!(err("[log]\nlevel = \"info,sqlx=\"").starts_with("log.level "));
        assert!(valid_log_level("warn") && valid_log_level("info,limbpath::http=warn") && valid_log_level("DEBUG"));
        assert!(err("metrics_token = \"short\"").starts_with("metrics_token "));
        assert!(err("hsts = true").starts_with("hsts "));
        assert!(err("[rate_limit]\napi_burst = 0").starts_with("rate_limit.api_burst "));
        assert!(err("database_url = \"mysql://u:pw@h/db\"").starts_with("database_url "));
        assert!(!err("database_url = \"mysql://u:pw@h/db\"").contains("pw"));
        assert!(err("bind = ").contains("not valid TOML"));
    }
}
