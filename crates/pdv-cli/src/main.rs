//! `pdv`: pdvault's server and command-line tool.
//!
//! This is the composition root: it resolves the configuration (flags, environment, `pdv.toml`,
//! defaults; see `config`), sets up the log, picks the store backend from the database URL, loads
//! the policy and the master key, and hands them to the service and the web layer. No other
//! crate names a concrete backend.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use pdv_core::Policy;
use pdv_core::policy::LoadedPolicy;
use pdv_crypto::{CryptoError, MASTER_KEY_ENV, MasterKey};
use pdv_service::{SystemClock, Vault};
use pdv_store::Store;
use pdv_store_postgres::PostgresStore;
use pdv_store_sqlite::SqliteStore;
use pdv_web::tls::TlsConfig;

mod accounts;
mod acts;
mod backup;
mod bench;
mod config;
mod deadline;
mod export;
mod incidents;
mod register;
mod requests;
mod retention;
mod rkn;

use config::{Config, Flags, LogFormat, Sources};

#[derive(Debug, Parser)]
#[command(
    name = "pdv",
    version,
    about = "pdvault — учёт и защита персональных данных по 152-ФЗ"
)]
struct Cli {
    /// Configuration file [env: PDV_CONFIG] [default: pdv.toml in the working directory, if
    /// there is one]. Every knob, with its variable and default: docs/configuration.md.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format: text or json [env: PDV_LOG_FORMAT; file: log.format] [default: text].
    #[arg(long, global = true, value_name = "text|json")]
    log_format: Option<String>,
    /// Log filter, e.g. debug or info,sqlx=warn [env: PDV_LOG; file: log.level]
    /// [default: info,sqlx=warn].
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
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
    /// The request journal: what is due or overdue, and an export of the journal as CSV.
    #[command(subcommand)]
    Requests(requests::RequestsCommand),
    /// The register of incidents (ст. 21 ч. 3.1): register, what is due (exit 3 when a notice is
    /// overdue), show, draft notices to Roskomnadzor, record steps.
    #[command(subcommand)]
    Incidents(incidents::IncidentsCommand),
    /// Benchmarks: `destroy` measures destruction on SQLite against a plain baseline.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Destruction acts (Приказ РКН № 179): list, show, print as HTML.
    #[command(subcommand)]
    Acts(acts::ActsCommand),
    /// Retention: what the rules will do to whom and why (`plan`), doing it (`run`), and deleting
    /// the rows destroyed subjects left behind (`sweep`).
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Exports for other uses: a depersonalised dataset for statistics (`depersonalised`).
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Write a backup: the data archive and, to a separate file, the key archive.
    Backup(backup::Backup),
    /// Restore a backup into this database (an empty one, or any with --replace).
    Restore(backup::Restore),
    /// Print the API's OpenAPI 3.1 document (regenerate the committed copy with
    /// `pdv openapi > openapi.json`).
    Openapi,
    /// The effective configuration: show where each value comes from, or check it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The due date of a legal deadline (D1–D14) on the production calendar.
    Deadline(deadline::DeadlineArgs),
    /// The notice of processing to Roskomnadzor (ст. 22): its text from the policy and whether
    /// the filed one is current (`notice`), recording a filing (`filed`).
    #[command(subcommand)]
    Rkn(rkn::RknCommand),
    /// The register of processors and recipients: what each may receive, what a processor's
    /// contract lacks (ст. 6 ч. 3), whether a party abroad may receive data today (ст. 12); exit 3
    /// when a party cannot receive data.
    Register(register::RegisterArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration as a pdv.toml, each value with its source (flag,
    /// variable, file:line or default); passwords are hidden.
    Show(Serve),
    /// Check the configuration, the policy, the master key and the TLS files without starting
    /// anything; exit 1 on any error.
    Check(Serve),
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

// Flags carry no defaults and read no variables themselves: a flag left out falls back to the
// variable, then the configuration file, then the default, all resolved in `config`.

#[derive(Debug, Args)]
struct Common {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DATABASE [env: PDV_DATABASE_URL;
    /// file: database.url] [default: sqlite://pdvault.db].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Master key file, ignored when PDV_MASTER_KEY is set [env: PDV_KEY_FILE; file: keys.file]
    /// [default: pdvault.key].
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// The operator's policy file [env: PDV_POLICY; file: policy.file]
    /// [default: policies/lider.toml].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct Migrate {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DATABASE [env: PDV_DATABASE_URL;
    /// file: database.url] [default: sqlite://pdvault.db].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Args)]
struct Serve {
    #[command(flatten)]
    common: Common,
    /// Address to listen on [env: PDV_LISTEN; file: server.listen] [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDRESS:PORT")]
    listen: Option<String>,
    /// Demo mode: create the key if there is none and load demo data into an empty database
    /// [env: PDV_DEMO; file: demo.enabled].
    #[arg(long)]
    demo: bool,
    /// Where --demo writes the demo accounts' passwords and API key, mode 0600
    /// [env: PDV_DEMO_CREDENTIALS; file: demo.credentials_file] [default: pdvault-demo.env].
    #[arg(long, value_name = "FILE")]
    demo_credentials: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key) [env: PDV_TLS_CERT; file:
    /// tls.cert_file].
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert [env: PDV_TLS_KEY; file: tls.key_file].
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
}

impl Cli {
    /// The knobs given on the command line, whichever subcommand carries them.
    fn flags(&self) -> Flags {
        let mut flags = Flags {
            config: self.config.clone(),
            log_format: self.log_format.clone(),
            log_level: self.log_level.clone(),
            ..Flags::default()
        };
        let common = match &self.command {
            Command::Init(common) => Some(common),
            Command::Demo(demo) => Some(&demo.common),
            Command::Backup(cmd) => Some(&cmd.common),
            Command::Requests(cmd) => Some(cmd.common()),
            Command::Incidents(cmd) => Some(cmd.common()),
            Command::Retention(cmd) => Some(cmd.common()),
            Command::Acts(cmd) => Some(cmd.common()),
            Command::Rkn(cmd) => Some(cmd.common()),
            Command::Register(args) => Some(&args.common),
            Command::Export(cmd) => Some(cmd.common()),
            Command::Restore(cmd) => Some(&cmd.common),
            Command::Audit(AuditCommand::Verify { common, .. }) => Some(common),
            Command::Users(cmd) => Some(match cmd {
                UsersCommand::Add { common, .. }
                | UsersCommand::List { common, .. }
                | UsersCommand::Disable { common, .. }
                | UsersCommand::Enable { common, .. }
                | UsersCommand::Unlock { common, .. }
                | UsersCommand::Passwd { common, .. } => common,
            }),
            Command::Keys(cmd) => Some(match cmd {
                KeysCommand::Create { common, .. }
                | KeysCommand::List { common, .. }
                | KeysCommand::Revoke { common, .. } => common,
            }),
            Command::Serve(serve)
            | Command::Config(ConfigCommand::Show(serve) | ConfigCommand::Check(serve)) => {
                flags.listen = serve.listen.clone();
                flags.demo = serve.demo.then_some(true);
                flags.demo_credentials = serve.demo_credentials.clone();
                flags.tls_cert = serve.tls_cert.clone();
                flags.tls_key = serve.tls_key.clone();
                Some(&serve.common)
            }
            Command::Migrate(m) => {
                flags.database_url = m.database_url.clone();
                None
            }
            Command::Deadline(cmd) => {
                flags.policy = cmd.policy.clone();
                flags.calendar_files =
                    (!cmd.calendar.is_empty()).then(|| config::PathList(cmd.calendar.clone()));
                None
            }
            Command::Policy(_) | Command::Openapi | Command::Bench(_) => None,
        };
        if let Some(common) = common {
            flags.database_url = common.database_url.clone();
            flags.key_file = common.key_file.clone();
            flags.policy = common.policy.clone();
        }
        flags
    }
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
    let env = |name: &str| std::env::var(name).ok();
    let config = match Config::load(Sources {
        flags: cli.flags(),
        env: &env,
        default_file: PathBuf::from(config::DEFAULT_FILE),
    }) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("ошибка в настройках:\n{errors}");
            // `pdv config check` reports a bad configuration as its finding, like `policy check`.
            let checking = matches!(cli.command, Command::Config(ConfigCommand::Check(_)));
            return ExitCode::from(if checking { 1 } else { 2 });
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ошибка: не удалось запустить среду выполнения: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(cli.command, &config));
    // Connections still open when the shutdown grace period ran out end here, and a blocking
    // task (a password hash) may not hold the exit for long.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ошибка: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The log goes to stderr, as text for people or as one JSON object per line for collectors.
/// Either way it holds no personal data: the HTTP layer logs route templates, never URIs,
/// headers or bodies (see `pdv_web`).
fn init_logging(config: &Config) {
    // The filter was checked when the configuration was loaded.
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level.value)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: in journald or a log collector they are escape-code noise.
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match config.log_format.value {
        LogFormat::Text => log.init(),
        LogFormat::Json => log
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

async fn run(command: Command, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(_) => init(config).await,
        Command::Serve(_) => run_server(config).await,
        Command::Migrate(_) => migrate(&config.database_url.value).await,
        Command::Policy(PolicyCommand::Check { files }) => Ok(check_policies(&files)),
        Command::Audit(AuditCommand::Verify { json, .. }) => verify(config, json).await,
        Command::Demo(demo) => {
            let vault = open_vault(config, false).await?;
            let summary = vault.load_demo(demo.subjects).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Users(cmd) => accounts::users(cmd, config).await,
        Command::Keys(cmd) => accounts::keys(cmd, config).await,
        Command::Backup(cmd) => backup::backup(cmd, config).await,
        Command::Requests(cmd) => requests::run(cmd, config).await,
        Command::Incidents(cmd) => incidents::run(cmd, config).await,
        Command::Retention(cmd) => retention::run(cmd, config).await,
        Command::Acts(cmd) => acts::run(cmd, config).await,
        Command::Rkn(cmd) => rkn::run(cmd, config).await,
        Command::Register(args) => register::run(args, config).await,
        Command::Bench(cmd) => bench::run(cmd).await,
        Command::Export(cmd) => export::run(cmd, config).await,
        Command::Restore(cmd) => backup::restore(cmd, config).await,
        Command::Openapi => {
            // Already ends with a newline, so that the redirected file is byte for byte the
            // committed one.
            print!("{}", pdv_web::openapi::to_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Show(_)) => {
            print!(
                "{}",
                config.show(std::env::var_os(MASTER_KEY_ENV).is_some())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check(_)) => Ok(check_config(config).await),
        Command::Deadline(cmd) => deadline::run(cmd, config),
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

/// The URL with its password (in the user part or a `password=` parameter) replaced by `***`,
/// for messages, logs and `pdv config show`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    // The last `@` ends the user part: a password may itself contain `@`.
    let address = match address.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => address.to_string(),
    };
    match query {
        None => format!("{scheme}://{address}"),
        Some(query) => {
            let query = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect::<Vec<_>>()
                .join("&");
            format!("{scheme}://{address}?{query}")
        }
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
fn master_key(config: &Config, create: bool) -> anyhow::Result<MasterKey> {
    let key_file = &config.key_file.value;
    if let Ok(encoded) = std::env::var(MASTER_KEY_ENV) {
        return MasterKey::from_encoded(&encoded)
            .with_context(|| format!("переменная {MASTER_KEY_ENV} содержит не ключ pdvault"));
    }
    match MasterKey::read_file(key_file) {
        Ok(key) => Ok(key),
        Err(CryptoError::KeyFileMissing(_)) if create => {
            let key = MasterKey::generate();
            key.write_new_file(key_file)
                .with_context(|| format!("не удалось создать файл ключа {}", key_file.display()))?;
            eprintln!(
                "создан мастер-ключ {} (ключ {}): храните его отдельно от базы",
                key_file.display(),
                key.key_id()
            );
            Ok(key)
        }
        Err(CryptoError::KeyFileMissing(path)) => bail!(
            "файл мастер-ключа {} не найден: создайте его командой `pdv init` или задайте переменную {MASTER_KEY_ENV}",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("мастер-ключ {}", key_file.display())),
    }
}

async fn open_vault(config: &Config, create_key: bool) -> anyhow::Result<Vault> {
    open_vault_with(config, create_key, false).await
}

/// Opens the vault; `show_warnings` prints every policy warning. The server and `init` show
/// them; short administrative commands keep quiet about them so that their own output is not
/// buried (`pdv policy check` prints them on demand).
async fn open_vault_with(
    config: &Config,
    create_key: bool,
    show_warnings: bool,
) -> anyhow::Result<Vault> {
    let policy = load_policy(&config.policy.value)?;
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
    // The journal's deadlines count on the same calendar as `pdv deadline`, with the years the
    // operator loaded from files.
    let (calendar, _) = deadline::load_calendar(config)?;
    let key = master_key(config, create_key)?;
    let store = open_store(&config.database_url.value).await?;
    Ok(
        Vault::open(store, Arc::new(policy), &key, Arc::new(SystemClock))
            .await?
            .with_auth_settings(config.auth_settings())
            .with_calendar(calendar)
            .with_act_settings(config.act_settings())
            .with_sweep_settings(config.sweep_settings()),
    )
}

async fn init(config: &Config) -> anyhow::Result<ExitCode> {
    let key_file = &config.key_file.value;
    if std::env::var(MASTER_KEY_ENV).is_err() && key_file.exists() {
        bail!(
            "файл ключа {} уже существует; ключ не перезаписывается (иначе данные станут нечитаемыми)",
            key_file.display()
        );
    }
    let vault = open_vault_with(config, true, true).await?;
    println!(
        "готово: база {} ({}), политика {} версии {}",
        redacted(&config.database_url.value),
        vault.store().backend(),
        config.policy.value.display(),
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

async fn verify(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
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

async fn run_server(config: &Config) -> anyhow::Result<ExitCode> {
    // A policy with an error — a store declared outside Russia (ст. 18 ч. 5) above all — stops the
    // server before it reads a key or opens the database: nothing is recorded in a foreign store.
    load_policy(&config.policy.value).context("pdv serve не запущен")?;
    // A bad certificate or key stops the server before it touches the database.
    let tls = config
        .tls_files()
        .map(|(cert, key)| TlsConfig::from_pem_files(cert, key))
        .transpose()?;
    let demo = config.demo.value;
    // The background sweeper below sweeps continuously, so the scheduler's runs leave it to it.
    let vault = open_vault_with(config, demo, true).await?;
    let sweep = pdv_service::SweepSettings {
        in_background: true,
        ..vault.sweep_settings()
    };
    let vault = Arc::new(vault.with_sweep_settings(sweep));
    // A decree loaded since the last start moves the open deadlines counted on the old data.
    for (number, old, new) in vault
        .recompute_deadlines(&pdv_service::Actor::new("system"))
        .await?
    {
        tracing::info!(%number, %old, %new, "deadline recomputed on the current calendar");
    }
    if demo && vault.store().meta("demo_loaded").await?.is_none() {
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
    if demo {
        accounts::demo_credentials(&vault, &config.demo_credentials.value).await?;
    }
    let listen = &config.listen.value;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("не удалось занять адрес {listen}"))?;
    let p = &vault.policy().policy;
    eprintln!(
        "pdvault слушает {}://{} — оператор «{}», политика версии {}, база {}",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?,
        p.operator.short_name,
        p.policy.version,
        redacted(&config.database_url.value)
    );
    let settings = config.web_settings();
    // The retention scheduler. Stopping it at shutdown at any point is safe: a run loses at most
    // the batch in flight, which rolls back whole, and the next run finishes the job.
    let scheduler = config.retention_interval().map(|every| {
        tokio::spawn(retention_scheduler(
            vault.clone(),
            every,
            config.retention_batch(),
        ))
    });
    // The sweep of destroyed subjects' leftover rows, in the background for as long as the server
    // runs. Stopping it at any point is safe: a sweep transaction rolls back whole and the queue
    // keeps what it did not take.
    let sweeper = tokio::spawn(sweeper(vault.clone()));
    let served = match &tls {
        Some(tls) => pdv_web::serve_tls(listener, tls, vault, &settings, shutdown_signal()).await,
        None => pdv_web::serve_with(listener, vault, &settings, shutdown_signal()).await,
    };
    if let Some(task) = scheduler {
        task.abort();
    }
    sweeper.abort();
    served.context("сервер остановился с ошибкой")?;
    eprintln!("pdvault остановлен");
    Ok(ExitCode::SUCCESS)
}

/// Runs the retention rules shortly after the start and then every `every`. A failed run is
/// logged and retried at the next tick: the server keeps serving.
async fn retention_scheduler(vault: Arc<Vault>, every: Duration, batch: u32) {
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(5), every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match vault
            .retention_run("retention scheduler", batch, &mut |_| {})
            .await
        {
            Ok(r) => tracing::info!(
                subjects_checked = r.subjects_checked,
                subjects_destroyed = r.subjects_destroyed,
                categories_destroyed = r.categories_destroyed,
                records_destroyed = r.records_destroyed,
                records_depersonalised = r.records_depersonalised,
                held = r.held,
                swept_subjects = r.swept.subjects,
                problems = r.problems.len(),
                acts = ?r.acts,
                "retention run finished"
            ),
            Err(e) => {
                tracing::error!(error = %e, "retention run failed; retrying at the next interval")
            }
        }
    }
}

/// How long the background sweep waits when nothing is queued before it looks again: a subject
/// destroyed by another process (`pdv retention run` from cron) has its rows swept within this.
const SWEEP_IDLE: Duration = Duration::from_secs(10);

/// Sweeps the rows destroyed subjects left behind, in the configured batches paced to the
/// configured share of the writer (see `pdv_service` `sweep.rs`), then waits [`SWEEP_IDLE`] and looks again. A
/// failure is logged and retried after the wait: the server keeps serving, and unswept rows are
/// unreadable and invisible meanwhile.
async fn sweeper(vault: Arc<Vault>) {
    loop {
        match vault.sweep_shredded("sweeper", &mut |_| {}).await {
            Ok(r) if r.subjects > 0 => tracing::info!(
                subjects = r.subjects,
                rows = r.rows,
                batches = r.batches,
                "destroyed subjects' leftover rows swept"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sweep failed; retrying shortly"),
        }
        tokio::time::sleep(SWEEP_IDLE).await;
    }
}

/// `pdv config check`: everything `pdv serve` reads before it starts, without starting. The
/// database is not opened: opening creates and migrates it, which a check must not do.
async fn check_config(config: &Config) -> ExitCode {
    let mut failed = false;
    let mut report = |what: &str, outcome: anyhow::Result<String>| match outcome {
        Ok(found) => println!("{what}: {found}"),
        Err(e) => {
            failed = true;
            println!("{what}: ОШИБКА: {e:#}");
        }
    };
    report(
        "файл настроек",
        Ok(match &config.file {
            Some(file) => format!("{} — принят", file.path.display()),
            None => "нет, действуют переменные окружения и значения по умолчанию".into(),
        }),
    );
    report(
        "политика",
        load_policy(&config.policy.value).map(|loaded| {
            let p = &loaded.policy;
            format!(
                "{} — «{}» версии {}, предупреждений {}",
                config.policy.value.display(),
                p.operator.short_name,
                p.policy.version,
                loaded.warnings.len()
            )
        }),
    );
    report(
        "производственный календарь",
        deadline::check_calendar(config),
    );
    report(
        "мастер-ключ",
        master_key(config, false).map(|key| {
            let from = if std::env::var_os(MASTER_KEY_ENV).is_some() {
                format!("переменная {MASTER_KEY_ENV}")
            } else {
                format!("файл {}", config.key_file.value.display())
            };
            format!("{from} — ключ {} прочитан", key.key_id())
        }),
    );
    report(
        "база данных",
        backend_of(&config.database_url.value).map(|backend| {
            format!(
                "{} ({}) — адрес принят, соединение не проверялось",
                redacted(&config.database_url.value),
                match backend {
                    Backend::Sqlite => "SQLite",
                    Backend::Postgres => "PostgreSQL",
                }
            )
        }),
    );
    report(
        "TLS",
        match config.tls_files() {
            None => Ok("не настроен: сервер говорит по HTTP (TLS завершает прокси)".into()),
            Some((cert, key)) => TlsConfig::from_pem_files(cert, key)
                .map(|_| {
                    format!(
                        "сертификат {} и ключ {} приняты",
                        cert.display(),
                        key.display()
                    )
                })
                .map_err(anyhow::Error::from),
        },
    );
    if failed {
        println!("в настройках есть ошибки");
        ExitCode::FAILURE
    } else {
        println!("настройки в порядке");
        ExitCode::SUCCESS
    }
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
