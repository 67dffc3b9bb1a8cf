//! `limbpath serve` and `limbpath user add`: the server and its accounts.

use crate::config::{Given, LogFormat, Settings};
use anyhow::{Context, Result, bail};
use limbpath_record::{Role, UserData};
use limbpath_server::ops::IpNet;
use limbpath_server::{AppState, Config, router};
use limbpath_store::Store;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where the record lives: PostgreSQL when a URL says so, else SQLite in the
/// data directory; either may come from the configuration file.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `postgres://…` (or `sqlite://…`); when absent, SQLite in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the embedded SQLite database (default `data`).
    #[arg(long, env = "LIMBPATH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML configuration file (see README, Configuration); flags and
    /// environment variables override it.
    #[arg(long = "config", env = "LIMBPATH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl DatabaseArgs {
    fn given(&self) -> Given {
        Given {
            config: self.config.clone(),
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            ..Given::default()
        }
    }

    /// The database settings after the configuration file.
    pub fn settings(&self) -> Result<Settings> {
        Settings::resolve(&self.given())
    }

    pub async fn open(&self) -> Result<Store> {
        open_store(&self.settings()?).await
    }
}

/// Open the record the settings name.
pub async fn open_store(settings: &Settings) -> Result<Store> {
    match &settings.database_url {
        Some(url) => Store::connect(url).await.with_context(|| format!("connecting to {}", redact(url))),
        None => {
            let dir = &settings.data_dir;
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            Store::open_data_dir(dir).await.with_context(|| format!("opening {}", dir.display()))
        }
    }
}

/// The lock a server holds on its SQLite database while it runs (see `crate::lock`); none for PostgreSQL.
pub async fn serving_lock(settings: &Settings) -> Result<Option<crate::lock::Held>> {
    match crate::datasafety::database_location(settings) {
        crate::datasafety::Location::SqliteFile(file) => Ok(Some(crate::lock::serving(&file).await?)),
        _ => Ok(None),
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "LIMBPATH_BIND")]
    pub bind: Option<SocketAddr>,
    /// Hours a login session lasts (default 8).
    #[arg(long, env = "LIMBPATH_SESSION_HOURS")]
    pub session_hours: Option<u64>,
    /// Minutes a browser session may go unused before it ends (default 30; 0 turns the idle limit off).
    /// API tokens keep only their own lifetime.
    #[arg(long, env = "LIMBPATH_SESSION_IDLE_MINUTES")]
    pub session_idle_minutes: Option<u64>,
    /// Minutes between the server's sweeps of every open care plan, which put missed follow-up visits and
    /// passed wound checkpoints on the worklist (default 60; 0 turns them off).
    #[arg(long, env = "LIMBPATH_CARE_SWEEP_MINUTES")]
    pub care_sweep_minutes: Option<u64>,
    /// Served over TLS or behind a TLS proxy: browser cookies are Secure and named with the __Host- prefix.
    #[arg(long, env = "LIMBPATH_SECURE_COOKIES", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub secure_cookies: Option<bool>,
    /// Send Strict-Transport-Security (the site is reached over TLS only; needs --secure-cookies).
    #[arg(long, env = "LIMBPATH_HSTS", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub hsts: Option<bool>,
    /// Reverse proxies (IP addresses or CIDR ranges such as 10.0.0.0/8, comma-separated) whose X-Forwarded-For
    /// is believed.
    #[arg(long, env = "LIMBPATH_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<IpNet>>,
    /// A bearer token that may read /metrics from another host (else same host only).
    #[arg(long, env = "LIMBPATH_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Log lines as text or json (default text), on standard error.
    #[arg(long, env = "LIMBPATH_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log level: error, warn, info (default), debug, trace, or per target (`info,limbpath::http=warn`).
    #[arg(long, env = "LIMBPATH_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Login attempts per minute per client address (default 10; 0 turns the limit off).
    #[arg(long, env = "LIMBPATH_RATE_LOGIN_PER_MINUTE")]
    pub rate_login_per_minute: Option<u32>,
    /// Login attempts at once per client address before the rate applies (default 10).
    #[arg(long, env = "LIMBPATH_RATE_LOGIN_BURST")]
    pub rate_login_burst: Option<u32>,
    /// Other requests per second per client address (default 50; 0 turns the limit off).
    #[arg(long, env = "LIMBPATH_RATE_API_PER_SECOND")]
    pub rate_api_per_second: Option<u32>,
    /// Other requests at once per client address before the rate applies (default 200).
    #[arg(long, env = "LIMBPATH_RATE_API_BURST")]
    pub rate_api_burst: Option<u32>,
}

impl ServeArgs {
    /// The effective settings: flags and environment over the configuration file over defaults.
    pub fn settings(&self) -> Result<Settings> {
        Settings::resolve(&Given {
            bind: self.bind,
            session_hours: self.session_hours,
            session_idle_minutes: self.session_idle_minutes,
            care_sweep_minutes: self.care_sweep_minutes,
            secure_cookies: self.secure_cookies,
            hsts: self.hsts,
            trusted_proxies: self.trusted_proxies.clone(),
            metrics_token: self.metrics_token.clone(),
            log_format: self.log_format,
            log_level: self.log_level.clone(),
            rate_login_per_minute: self.rate_login_per_minute,
            rate_login_burst: self.rate_login_burst,
            rate_api_per_second: self.rate_api_per_second,
            rate_api_burst: self.rate_api_burst,
            ..self.db.given()
        })
    }
}

pub async fn serve_store(store: Store, settings: &Settings, banner: Option<String>) -> Result<ExitCode> {
    let config = Config {
        session_ttl: std::time::Duration::from_secs(settings.session_hours.max(1) * 3600),
        session_idle: (settings.session_idle_minutes > 0)
            .then(|| std::time::Duration::from_secs(settings.session_idle_minutes * 60)),
        secure_cookies: settings.secure_cookies,
        export_dir: settings.data_dir.join("fhir-exports"),
        hsts: settings.hsts,
        rate_limits: settings.rate_limits,
        trusted_proxies: settings.trusted_proxies.clone(),
        metrics_token: settings.metrics_token.clone(),
        ..Config::default()
    };
    let state = Arc::new(AppState::new(store.clone(), config));
    // Read the programme's analysis tables now, so the outcomes dashboard does not wait for them.
    state.analytics.refresh(&store);
    let (stop_sweeps, stopping) = tokio::sync::watch::channel(false);
    let sweeps = (settings.care_sweep_minutes > 0).then(|| {
        let every = std::time::Duration::from_secs(settings.care_sweep_minutes * 60);
        limbpath_server::care::start_care_plan_sweeps(state.clone(), every, stopping)
    });
    let listener =
        tokio::net::TcpListener::bind(settings.bind).await.with_context(|| format!("binding {}", settings.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        target: "limbpath::serve",
        engine = store.engine(),
        address = %addr,
        version = env!("CARGO_PKG_VERSION"),
        "serving the record at http://{addr}/ (API under /api/v1/)"
    );
    if let Some(b) = banner {
        eprintln!("{b}");
    }
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await {
        tracing::error!(target: "limbpath::serve", error = %e, "the server failed");
        return Err(e).context("serving");
    }
    // A cohort read still running only reads: cancel it.
    state.analytics.stop();
    // The care-plan sweep ends after its current page, its audit entries written.
    let _ = stop_sweeps.send(true);
    if let Some(sweeps) = sweeps {
        let _ = sweeps.await;
    }
    // Every request has been answered, so every audit entry is committed
    // (a request waits for its entry); the audit writer ends with the state.
    store.close().await;
    tracing::info!(target: "limbpath::serve", "stopped: requests in flight answered, database closed");
    Ok(ExitCode::SUCCESS)
}

/// Finish in-flight requests on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let signal = tokio::select! { _ = ctrl_c => "interrupt", _ = term => "terminate" };
    tracing::info!(
        target: "limbpath::serve",
        signal,
        "shutting down: no new connections; finishing requests in flight"
    );
}

pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let settings = args.settings()?;
    crate::config::init_logging(settings.log_format, &settings.log_level)?;
    let _lock = serving_lock(&settings).await?;
    let store = open_store(&settings).await?;
    if store.count_users().await? == 0 {
        tracing::warn!(
            target: "limbpath::serve",
            "no user accounts yet; create the first admin with `limbpath user add --username NAME --role admin`"
        );
    }
    serve_store(store, &settings, None).await
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user account. The password is read from stdin with
    /// --password-stdin, or generated and printed once.
    Add(UserAddArgs),
}

#[derive(Debug, clap::Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[arg(long)]
    pub username: String,
    /// admin, clinician, coordinator, analyst or patient.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    #[arg(long)]
    pub display_name: Option<String>,
    /// For the patient role: the patient's id.
    #[arg(long)]
    pub patient_id: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_code(s).ok_or_else(|| {
        format!("`{s}` is not a role; accepted: {}", Role::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", "))
    })
}

/// A random password of 20 characters from an unambiguous alphabet (~115 bits).
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the system random number generator failed: {e}"))?;
    // 256 % 57 bias is negligible for a password (and each byte is independent).
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

pub async fn user(cmd: UserCommand) -> Result<ExitCode> {
    match cmd {
        UserCommand::Add(args) => {
            let (password, generated) = if args.password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (generate_password()?, true)
            };
            let data = UserData {
                username: args.username.clone(),
                display_name: args.display_name.clone().unwrap_or_else(|| args.username.clone()),
                role: args.role,
                patient_id: args.patient_id.clone(),
            };
            let store = args.db.open().await?;
            match store.create_user(data, &password).await {
                Ok(user) => {
                    println!("created {} user {:?} (id {})", user.data.role, user.data.username, user.id);
                    if generated {
                        println!("password (shown once; store it safely): {password}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(limbpath_store::StoreError::Invalid(e)) => {
                    eprintln!("limbpath: invalid input: {e}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => bail!("creating the user: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/limb"), "postgres://app:***@db:5432/limb");
        assert_eq!(redact("sqlite://data/limbpath.sqlite3"), "sqlite://data/limbpath.sqlite3");
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(limbpath_record::check_password("someone", &a).is_ok());
    }
}
