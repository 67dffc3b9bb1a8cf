//! `limbpath serve` and `limbpath user add`: the server and its accounts.

use anyhow::{Context, Result, bail};
use limbpath_record::{Role, UserData};
use limbpath_server::{AppState, Config, router};
use limbpath_store::Store;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where the record lives: PostgreSQL when a URL says so, else SQLite in the data directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `postgres://…` (or `sqlite://…`); when absent, SQLite in --data-dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "LIMBPATH_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl DatabaseArgs {
    pub async fn open(&self) -> Result<Store> {
        match &self.database_url {
            Some(url) => Store::connect(url).await.with_context(|| format!("connecting to {}", redact(url))),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                Store::open_data_dir(&self.data_dir)
                    .await
                    .with_context(|| format!("opening {}", self.data_dir.display()))
            }
        }
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
    /// Address to listen on.
    #[arg(long, env = "LIMBPATH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Hours a login session lasts.
    #[arg(long, env = "LIMBPATH_SESSION_HOURS", default_value_t = 8)]
    pub session_hours: u64,
    /// Mark session cookies Secure (when served over TLS or behind a TLS proxy).
    #[arg(long, env = "LIMBPATH_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

pub async fn serve_store(store: Store, args: &ServeArgs, banner: Option<String>) -> Result<ExitCode> {
    let config = Config {
        session_ttl: std::time::Duration::from_secs(args.session_hours.max(1) * 3600),
        secure_cookies: args.secure_cookies,
        export_dir: args.db.data_dir.join("fhir-exports"),
        ..Config::default()
    };
    let state = Arc::new(AppState::new(store.clone(), config));
    let listener = tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    eprintln!("limbpath: serving the {} record at http://{addr}/ (API under /api/v1/)", store.engine());
    if let Some(b) = banner {
        eprintln!("{b}");
    }
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("serving")?;
    store.close().await;
    eprintln!("limbpath: stopped");
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
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    if store.count_users().await? == 0 {
        eprintln!(
            "limbpath: no user accounts yet; create the first admin with `limbpath user add --username NAME --role admin`"
        );
    }
    serve_store(store, &args, None).await
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
