//! `pdv`: pdvault's server and command-line tool.
//!
//! This is the composition root: it reads configuration from flags and environment, picks the
//! store backend from the database URL, loads the policy and the master key, and hands them to
//! the service and the web layer. No other crate names a concrete backend.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use pdv_core::Policy;
use pdv_core::policy::LoadedPolicy;
use pdv_crypto::{CryptoError, MASTER_KEY_ENV, MasterKey};
use pdv_service::{SystemClock, Vault};
use pdv_store::Store;
use pdv_store_postgres::PostgresStore;
use pdv_store_sqlite::SqliteStore;

mod accounts;
mod backup;

#[derive(Debug, Parser)]
#[command(
    name = "pdv",
    version,
    about = "pdvault — учёт и защита персональных данных по 152-ФЗ"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the master key file and the database.
    Init(Common),
    /// Run the HTTP API.
    Serve(Serve),
    /// Apply pending database migrations and exit (the server also applies them on start).
    Migrate(Migrate),
    /// Work with policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Load demo subjects, consents and data for the policy's operator.
    Demo(Demo),
    /// Staff accounts: add, list, disable, enable, unlock, set a password.
    #[command(subcommand)]
    Users(UsersCommand),
    /// API keys for integrations: create, list, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write a backup: the data archive and, to a separate file, the key archive.
    Backup(backup::Backup),
    /// Restore a backup into this database (an empty one, or any with --replace).
    Restore(backup::Restore),
    /// Print the API's OpenAPI 3.1 document (regenerate the committed copy with
    /// `pdv openapi > openapi.json`).
    Openapi,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a staff account; without --password-stdin a password is generated and printed once.
    Add {
        #[command(flatten)]
        common: Common,
        /// Login: lowercase Latin letters, digits, `.`, `_`, `-`.
        #[arg(long)]
        login: String,
        /// Full name of the employee.
        #[arg(long)]
        name: String,
        /// administrator, responsible_person, agent or auditor.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List staff accounts.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[command(flatten)]
        common: Common,
        login: String,
    },
    /// Enable a disabled account.
    Enable {
        #[command(flatten)]
        common: Common,
        login: String,
    },
    /// Clear a lock-out after failed logins.
    Unlock {
        #[command(flatten)]
        common: Common,
        login: String,
    },
    /// Set a new password (generated and printed once without --password-stdin).
    Passwd {
        #[command(flatten)]
        common: Common,
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Issue an API key limited to purposes (and optionally categories), or a monitoring key
    /// for Prometheus; the secret is printed once.
    Create {
        #[command(flatten)]
        common: Common,
        /// Whose key it is, e.g. "Служба доставки" or "Prometheus".
        #[arg(long)]
        name: String,
        /// `integration` (needs --purposes) or `monitoring` (reads /metrics only, no purposes).
        #[arg(long, default_value = "integration")]
        role: String,
        /// Comma-separated purpose ids of the policy; required for `integration`.
        #[arg(long, value_delimiter = ',')]
        purposes: Vec<String>,
        /// Comma-separated category ids to limit the key to.
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
        /// Last day the key works, YYYY-MM-DD.
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// List API keys, revoked ones included.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key at once.
    Revoke {
        #[command(flatten)]
        common: Common,
        /// The key's id (as `pdv keys list` shows it).
        id: String,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DATABASE.
    #[arg(long, env = "PDV_DATABASE_URL", default_value = "sqlite://pdvault.db")]
    database_url: String,
    /// Master key file (ignored when PDV_MASTER_KEY is set).
    #[arg(long, env = "PDV_KEY_FILE", default_value = "pdvault.key")]
    key_file: PathBuf,
    /// The operator's policy file.
    #[arg(long, env = "PDV_POLICY", default_value = "policies/lider.toml")]
    policy: PathBuf,
}

#[derive(Debug, Args)]
struct Migrate {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DATABASE.
    #[arg(long, env = "PDV_DATABASE_URL", default_value = "sqlite://pdvault.db")]
    database_url: String,
}

#[derive(Debug, Args)]
struct Serve {
    #[command(flatten)]
    common: Common,
    /// Address to listen on.
    #[arg(long, env = "PDV_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Demo mode: create the key if there is none and load demo data into an empty database.
    #[arg(long, env = "PDV_DEMO")]
    demo: bool,
    /// Where --demo writes the demo accounts' passwords and API key (mode 0600).
    #[arg(long, env = "PDV_DEMO_CREDENTIALS", default_value = "pdvault-demo.env")]
    demo_credentials: PathBuf,
}

#[derive(Debug, Args)]
struct Demo {
    #[command(flatten)]
    common: Common,
    /// How many subjects to create.
    #[arg(long, default_value_t = 20)]
    subjects: usize,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Check policy files; exits non-zero on any error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the audit chain; exit code 0 only when it is intact.
    Verify {
        #[command(flatten)]
        common: Common,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PDV_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ошибка: не удалось запустить среду выполнения: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ошибка: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(common) => init(&common).await,
        Command::Serve(serve) => run_server(serve).await,
        Command::Migrate(m) => migrate(&m.database_url).await,
        Command::Policy(PolicyCommand::Check { files }) => Ok(check_policies(&files)),
        Command::Audit(AuditCommand::Verify { common, json }) => verify(&common, json).await,
        Command::Demo(demo) => {
            let vault = open_vault(&demo.common, false).await?;
            let summary = vault.load_demo(demo.subjects).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Users(cmd) => accounts::users(cmd).await,
        Command::Backup(cmd) => backup::backup(cmd).await,
        Command::Restore(cmd) => backup::restore(cmd).await,
        Command::Keys(cmd) => accounts::keys(cmd).await,
        Command::Openapi => {
            // Already ends with a newline, so that the redirected file is byte for byte the
            // committed one.
            print!("{}", pdv_web::openapi::to_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The database backends, told apart by the URL's scheme.
enum Backend {
    Sqlite,
    Postgres,
}

fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        // The URL may carry a password, so only its scheme is repeated.
        let scheme = url.split(':').next().unwrap_or("");
        bail!(
            "неизвестная схема адреса базы данных «{scheme}:»: ожидается sqlite://ФАЙЛ или postgres://ПОЛЬЗОВАТЕЛЬ@ХОСТ:ПОРТ/БАЗА"
        )
    }
}

/// The URL without a password, for messages and logs.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

/// Opens the store named by the URL, applying pending migrations.
async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match backend_of(url)? {
        Backend::Sqlite => Arc::new(
            SqliteStore::open(url)
                .await
                .with_context(|| format!("база данных {url}"))?,
        ),
        Backend::Postgres => Arc::new(
            PostgresStore::open(url)
                .await
                .context("база данных PostgreSQL")?,
        ),
    })
}

async fn migrate(url: &str) -> anyhow::Result<ExitCode> {
    let versions = match backend_of(url)? {
        Backend::Sqlite => {
            SqliteStore::open(url)
                .await
                .with_context(|| format!("база данных {url}"))?;
            pdv_store_sqlite::migration_versions()
        }
        Backend::Postgres => {
            pdv_store_postgres::migrate(url)
                .await
                .context("база данных PostgreSQL")?;
            pdv_store_postgres::migration_versions()
        }
    };
    println!(
        "схема базы данных актуальна: версия {}",
        versions.last().copied().unwrap_or(0)
    );
    Ok(ExitCode::SUCCESS)
}

fn load_policy(path: &Path) -> anyhow::Result<LoadedPolicy> {
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("не удалось прочитать файл политики {}", path.display()))?;
    let name = path.display().to_string();
    match Policy::from_toml(&name, &source) {
        Ok(loaded) => Ok(loaded),
        Err(errors) => bail!("политика не принята:\n{errors}"),
    }
}

/// The master key from PDV_MASTER_KEY or the key file; `create` makes a new file when neither exists.
fn master_key(common: &Common, create: bool) -> anyhow::Result<MasterKey> {
    if let Ok(encoded) = std::env::var(MASTER_KEY_ENV) {
        return MasterKey::from_encoded(&encoded)
            .with_context(|| format!("переменная {MASTER_KEY_ENV} содержит не ключ pdvault"));
    }
    match MasterKey::read_file(&common.key_file) {
        Ok(key) => Ok(key),
        Err(CryptoError::KeyFileMissing(_)) if create => {
            let key = MasterKey::generate();
            key.write_new_file(&common.key_file).with_context(|| {
                format!(
                    "не удалось создать файл ключа {}",
                    common.key_file.display()
                )
            })?;
            eprintln!(
                "создан мастер-ключ {} (ключ {}): храните его отдельно от базы",
                common.key_file.display(),
                key.key_id()
            );
            Ok(key)
        }
        Err(CryptoError::KeyFileMissing(path)) => bail!(
            "файл мастер-ключа {} не найден: создайте его командой `pdv init` или задайте переменную {MASTER_KEY_ENV}",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("мастер-ключ {}", common.key_file.display())),
    }
}

async fn open_vault(common: &Common, create_key: bool) -> anyhow::Result<Vault> {
    open_vault_with(common, create_key, false).await
}

/// Opens the vault; `show_warnings` prints every policy warning. The server and `init` show
/// them; short administrative commands keep quiet about them so that their own output is not
/// buried (`pdv policy check` prints them on demand).
async fn open_vault_with(
    common: &Common,
    create_key: bool,
    show_warnings: bool,
) -> anyhow::Result<Vault> {
    let policy = load_policy(&common.policy)?;
    if show_warnings {
        for w in &policy.warnings {
            tracing::warn!("{}", w.render(&policy.file, &policy.source).trim_end());
        }
    } else if !policy.warnings.is_empty() {
        tracing::debug!(
            warnings = policy.warnings.len(),
            "policy has warnings; see `pdv policy check`"
        );
    }
    let key = master_key(common, create_key)?;
    let store = open_store(&common.database_url).await?;
    Ok(Vault::open(store, Arc::new(policy), &key, Arc::new(SystemClock)).await?)
}

async fn init(common: &Common) -> anyhow::Result<ExitCode> {
    if std::env::var(MASTER_KEY_ENV).is_err() && common.key_file.exists() {
        bail!(
            "файл ключа {} уже существует; ключ не перезаписывается (иначе данные станут нечитаемыми)",
            common.key_file.display()
        );
    }
    let vault = open_vault_with(common, true, true).await?;
    println!(
        "готово: база {} ({}), политика {} версии {}",
        redacted(&common.database_url),
        vault.store().backend(),
        common.policy.display(),
        vault.policy().policy.policy.version
    );
    println!("дальше: pdv serve   (или pdv demo, чтобы загрузить демонстрационные данные)");
    Ok(ExitCode::SUCCESS)
}

fn check_policies(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for path in files {
        let name = path.display().to_string();
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{name}: не удалось прочитать: {e}");
                failed = true;
                continue;
            }
        };
        match Policy::from_toml(&name, &source) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    eprint!("{}", w.render(&name, &source));
                }
                let p = &loaded.policy;
                println!(
                    "{name}: политика «{}» версии {} принята: целей {}, категорий {}, правил хранения {}, предупреждений {}",
                    p.operator.short_name,
                    p.policy.version,
                    p.purposes.len(),
                    p.categories.len(),
                    p.retention.len(),
                    loaded.warnings.len()
                );
            }
            Err(errors) => {
                eprintln!("{errors}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn verify(common: &Common, json: bool) -> anyhow::Result<ExitCode> {
    let vault = open_vault(common, false).await?;
    let report = vault.verify_audit().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.intact {
        println!("журнал аудита цел: событий {}", report.events);
    } else {
        println!(
            "журнал аудита НАРУШЕН: первое недостоверное событие № {}; {}",
            report.first_bad_seq.unwrap_or(0),
            report.problem.as_deref().unwrap_or("")
        );
    }
    Ok(if report.intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_server(serve: Serve) -> anyhow::Result<ExitCode> {
    let vault = Arc::new(open_vault_with(&serve.common, serve.demo, true).await?);
    if serve.demo && vault.store().meta("demo_loaded").await?.is_none() {
        let summary = vault.load_demo(20).await?;
        let mut tx = vault.store().begin().await?;
        tx.set_meta("demo_loaded", "1").await?;
        tx.commit().await?;
        tracing::info!(
            subjects = summary.subjects,
            consents = summary.consents,
            records = summary.records,
            "demo data loaded"
        );
    }
    if serve.demo {
        accounts::demo_credentials(&vault, &serve.demo_credentials).await?;
    }
    let listener = tokio::net::TcpListener::bind(&serve.listen)
        .await
        .with_context(|| format!("не удалось занять адрес {}", serve.listen))?;
    let p = &vault.policy().policy;
    eprintln!(
        "pdvault слушает http://{} — оператор «{}», политика версии {}, база {}",
        listener.local_addr()?,
        p.operator.short_name,
        p.policy.version,
        redacted(&serve.common.database_url)
    );
    pdv_web::serve(listener, vault, shutdown_signal())
        .await
        .context("сервер остановился с ошибкой")?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
