//! The configuration: every knob of `pdv`, where it can be set, and which setting wins.
//!
//! A knob can come from a command-line flag, an environment variable, the configuration file
//! (`pdv.toml`, TOML) or the built-in default, and the first of these that is present wins. The
//! file is the one named by `--config` or `PDV_CONFIG` (then it must exist), otherwise `pdv.toml`
//! in the working directory if there is one. [`KNOBS`] lists every knob once, with its file key,
//! variable, flag and default; `pdv config show` prints from it and a test holds
//! `docs/configuration.md` to it, so the documentation cannot forget one.
//!
//! Mistakes are errors, never ignored: an unknown key or a value of the wrong type in the file is
//! reported with the file, line and column (like `pdv policy check` does for policies), a bad
//! variable or flag with its name. Every mistake found is reported at once. Each value remembers
//! where it came from, for `pdv config show` and for the messages.
//!
//! Relative paths are taken from the working directory, whichever source they come from, so a
//! path means the same in a flag and in the file.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pdv_core::auth::LockoutRule;
use pdv_core::policy::Diagnostic;
use pdv_service::AuthSettings;
use pdv_web::ratelimit::ProxyNetwork;
use pdv_web::{LoginRateLimit, RateLimitSettings, WebSettings};
use serde::Deserialize;
use toml::Spanned;

/// The configuration file looked for in the working directory when none is named.
pub(crate) const DEFAULT_FILE: &str = "pdv.toml";

/// The variable that names the configuration file.
pub(crate) const CONFIG_ENV: &str = "PDV_CONFIG";

/// One setting that can be changed: its key in the file (`section.name`), its environment
/// variable, its command-line flag if it has one, its default as written in the file, and what
/// it means.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Knob {
    pub key: &'static str,
    pub env: &'static str,
    pub flag: Option<&'static str>,
    /// `None`: unset unless configured.
    pub default: Option<&'static str>,
    pub about: &'static str,
}

macro_rules! knobs {
    ($($name:ident: $key:literal, $env:literal, $flag:expr, $default:expr, $about:literal;)*) => {
        $(const $name: Knob = Knob {
            key: $key,
            env: $env,
            flag: $flag,
            default: $default,
            about: $about,
        };)*
        /// Every knob, in the order of the file's sections; the tests hold
        /// [`Config::entries`] and the documentation to it.
        #[cfg(test)]
        pub(crate) const KNOBS: &[Knob] = &[$($name),*];
    };
}

knobs! {
    DATABASE_URL: "database.url", "PDV_DATABASE_URL", Some("--database-url"), Some("sqlite://pdvault.db"),
        "адрес базы данных: sqlite://ФАЙЛ или postgres://ПОЛЬЗОВАТЕЛЬ[:ПАРОЛЬ]@ХОСТ:ПОРТ/БАЗА";
    KEY_FILE: "keys.file", "PDV_KEY_FILE", Some("--key-file"), Some("pdvault.key"),
        "файл мастер-ключа (режим 0600); не читается, если задана переменная PDV_MASTER_KEY";
    POLICY_FILE: "policy.file", "PDV_POLICY", Some("--policy"), Some("policies/lider.toml"),
        "файл политики оператора";
    CALENDAR_FILES: "calendar.files", "PDV_CALENDAR_FILES", Some("--calendar"), None,
        "файлы производственного календаря на годы, которых нет в pdvault или которые они уточняют (постановление о переносе выходных), по году на файл (в файле — массив строк, в переменной — через запятую)";
    LISTEN: "server.listen", "PDV_LISTEN", Some("--listen"), Some("127.0.0.1:8080"),
        "адрес и порт, на которых `pdv serve` принимает соединения";
    REQUEST_TIMEOUT: "server.request_timeout_secs", "PDV_REQUEST_TIMEOUT_SECS", None, Some("30"),
        "сколько секунд может длиться запрос; дольше — ответ 503 (от 1 до 3600)";
    MAX_BODY: "server.max_body_bytes", "PDV_MAX_BODY_BYTES", None, Some("65536"),
        "наибольший размер тела запроса в байтах; больше — ответ 413 (от 1024 до 67108864)";
    SHUTDOWN_GRACE: "server.shutdown_grace_secs", "PDV_SHUTDOWN_GRACE_SECS", None, Some("30"),
        "сколько секунд после SIGTERM ждать завершения начатых запросов (от 0 до 3600)";
    TLS_CERT: "tls.cert_file", "PDV_TLS_CERT", Some("--tls-cert"), None,
        "сертификат TLS в PEM (сначала сертификат сервера, затем промежуточные); вместе с tls.key_file включает HTTPS";
    TLS_KEY: "tls.key_file", "PDV_TLS_KEY", Some("--tls-key"), None,
        "закрытый ключ TLS в PEM (PKCS#8, PKCS#1 или SEC1)";
    LOG_FORMAT: "log.format", "PDV_LOG_FORMAT", Some("--log-format"), Some("text"),
        "формат журнала в stderr: text (для человека) или json (по объекту на строку)";
    LOG_LEVEL: "log.level", "PDV_LOG", Some("--log-level"), Some("info,sqlx=warn"),
        "подробность журнала: error, warn, info, debug, trace, можно по модулям (синтаксис EnvFilter)";
    SESSION_LIFETIME: "auth.session_lifetime_mins", "PDV_SESSION_LIFETIME_MINS", None, Some("480"),
        "срок сессии сотрудника после входа, в минутах (от 1 до 10080)";
    SLOW_AFTER: "auth.slow_after", "PDV_LOGIN_SLOW_AFTER", None, Some("2"),
        "после скольких неудачных входов подряд ответы замедляются (от 0 до 100)";
    SLOW_STEP: "auth.slow_step_ms", "PDV_LOGIN_SLOW_STEP_MS", None, Some("1000"),
        "на сколько миллисекунд замедляется каждая следующая неудача (от 0 до 10000)";
    LOCK_AFTER: "auth.lock_after", "PDV_LOGIN_LOCK_AFTER", None, Some("5"),
        "после скольких неудачных входов подряд учётная запись блокируется (от 1 до 100)";
    LOCK_MINS: "auth.lock_mins", "PDV_LOGIN_LOCK_MINS", None, Some("15"),
        "на сколько минут блокируется учётная запись (от 1 до 10080)";
    LOGIN_RATE: "limits.login_per_minute", "PDV_LOGIN_RATE_PER_MINUTE", None, Some("10"),
        "сколько неудачных входов в минуту допускается с одного адреса; сверх — ответ 429 (от 1 до 10000)";
    LOGIN_BURST: "limits.login_burst", "PDV_LOGIN_RATE_BURST", None, Some("10"),
        "сколько неудачных входов подряд допускается с одного адреса, прежде чем действует поминутный предел (от 1 до 10000)";
    TRUSTED_PROXIES: "limits.trusted_proxies", "PDV_TRUSTED_PROXIES", None, Some("127.0.0.0/8, ::1"),
        "обратные прокси, чьему заголовку X-Forwarded-For верить при определении адреса клиента: адреса и сети через запятую (в файле — массив строк)";
    RETENTION_INTERVAL: "retention.interval_mins", "PDV_RETENTION_INTERVAL_MINS", None, Some("60"),
        "как часто `pdv serve` выполняет правила хранения (уничтожает то, чей срок истёк, с актом), в минутах; 0 — не выполнять (тогда запускайте `pdv retention run` по расписанию); от 0 до 10080";
    RETENTION_BATCH: "retention.batch", "PDV_RETENTION_BATCH", None, Some("500"),
        "сколько субъектов обрабатывается в одной транзакции при выполнении правил хранения (от 1 до 100000)";
    SWEEP_BATCH: "retention.sweep_batch", "PDV_RETENTION_SWEEP_BATCH", None, Some("50"),
        "у скольких уничтоженных субъектов зачистка удаляет оставшиеся строки в одной транзакции (от 1 до 10000)";
    SWEEP_PAUSE: "retention.sweep_pause_ms", "PDV_RETENTION_SWEEP_PAUSE_MS", None, Some("5"),
        "наименьшая пауза между транзакциями зачистки в миллисекундах (от 0 до 10000)";
    SWEEP_SHARE: "retention.sweep_share_permille", "PDV_RETENTION_SWEEP_SHARE_PERMILLE", None, Some("5"),
        "какую долю времени записи в базу может занимать фоновая работа — зачистка и выполнение правил хранения внутри `pdv serve`, в тысячных: после транзакции длиной t она ждёт t × (1000 − доля) / доля, так что лишь эта доля команд ждёт её; 1000 — без ограничения, только пауза (от 1 до 1000)";
    ACTS_SYSTEM: "acts.system", "PDV_ACTS_SYSTEM", None, Some("pdvault"),
        "наименование информационной системы персональных данных для актов об уничтожении (Приказ РКН № 179)";
    ACTS_SIGNATORIES: "acts.signatories", "PDV_ACTS_SIGNATORIES", None, None,
        "лица, уничтожающие персональные данные и подписывающие акты: «ФИО, должность» (в файле — массив строк, в переменной — через точку с запятой)";
    DEMO: "demo.enabled", "PDV_DEMO", Some("--demo"), Some("false"),
        "демонстрационный режим `pdv serve`: создать ключ, загрузить демо-данные и учётные записи";
    DEMO_CREDENTIALS: "demo.credentials_file", "PDV_DEMO_CREDENTIALS", Some("--demo-credentials"), Some("pdvault-demo.env"),
        "куда демонстрационный режим записывает пароли и API-ключ (режим 0600)";
}

/// Values given on the command line; `None` where the flag was not used.
#[derive(Debug, Default, Clone)]
pub(crate) struct Flags {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub key_file: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub calendar_files: Option<PathList>,
    pub listen: Option<String>,
    pub demo: Option<bool>,
    pub demo_credentials: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Flag(&'static str),
    Env(&'static str),
    /// The configuration file; the byte range of the value in it.
    File(Range<usize>),
    Default,
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// The log's format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// How the configuration file was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileChoice {
    Flag,
    Env,
    /// `pdv.toml` found in the working directory.
    WorkingDirectory,
}

/// The configuration file that was read.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    pub path: PathBuf,
    pub chosen_by: FileChoice,
    source: String,
}

impl ConfigFile {
    fn line(&self, span: &Range<usize>) -> usize {
        Diagnostic::error(Some(span.clone()), "")
            .line_col(&self.source)
            .map_or(0, |(line, _)| line)
    }
}

/// The effective configuration of one run of `pdv`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub file: Option<ConfigFile>,
    pub database_url: Setting<String>,
    pub key_file: Setting<PathBuf>,
    pub policy: Setting<PathBuf>,
    pub calendar_files: Option<Setting<PathList>>,
    pub listen: Setting<String>,
    pub request_timeout_secs: Setting<u64>,
    pub max_body_bytes: Setting<u64>,
    pub shutdown_grace_secs: Setting<u64>,
    pub tls_cert: Option<Setting<PathBuf>>,
    pub tls_key: Option<Setting<PathBuf>>,
    pub log_format: Setting<LogFormat>,
    pub log_level: Setting<String>,
    pub session_lifetime_mins: Setting<u64>,
    pub slow_after: Setting<u64>,
    pub slow_step_ms: Setting<u64>,
    pub lock_after: Setting<u64>,
    pub lock_mins: Setting<u64>,
    pub login_per_minute: Setting<u64>,
    pub login_burst: Setting<u64>,
    pub trusted_proxies: Setting<ProxyList>,
    pub retention_interval_mins: Setting<u64>,
    pub retention_batch: Setting<u64>,
    pub sweep_batch: Setting<u64>,
    pub sweep_pause_ms: Setting<u64>,
    pub sweep_share_permille: Setting<u64>,
    pub acts_system: Setting<String>,
    pub acts_signatories: Option<Setting<SignatoryList>>,
    pub demo: Setting<bool>,
    pub demo_credentials: Setting<PathBuf>,
}

/// Everything wrong with the configuration, each message ready to print.
#[derive(Debug)]
pub(crate) struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(e.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// The file's shape. Every value is `Spanned` so that a value that parses but is out of range is
// still reported at its line.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    database: DatabaseSection,
    #[serde(default)]
    keys: KeysSection,
    #[serde(default)]
    policy: PolicySection,
    #[serde(default)]
    calendar: CalendarSection,
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    retention: RetentionSection,
    #[serde(default)]
    acts: ActsSection,
    #[serde(default)]
    demo: DemoSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionSection {
    interval_mins: Option<Spanned<u64>>,
    batch: Option<Spanned<u64>>,
    sweep_batch: Option<Spanned<u64>>,
    sweep_pause_ms: Option<Spanned<u64>>,
    sweep_share_permille: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActsSection {
    system: Option<Spanned<String>>,
    signatories: Option<Spanned<SignatoryList>>,
}

/// The people who sign destruction acts, each «ФИО, должность»: a TOML array of strings, or one
/// string in a variable with the people separated by semicolons (names and positions may hold
/// commas only after the first one, which separates the two).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct SignatoryList(pub Vec<String>);

impl SignatoryList {
    fn signatories(&self) -> Result<Vec<pdv_service::acts::Signatory>, String> {
        self.0
            .iter()
            .map(|entry| match entry.split_once(',') {
                Some((name, position)) if !name.trim().is_empty() && !position.trim().is_empty() => {
                    Ok(pdv_service::acts::Signatory {
                        name: name.trim().to_string(),
                        position: position.trim().to_string(),
                    })
                }
                _ => Err(format!(
                    "«{entry}»: ожидается «ФИО, должность», например «Иванова Анна Сергеевна, ответственный за обработку ПДн»"
                )),
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    login_per_minute: Option<Spanned<u64>>,
    login_burst: Option<Spanned<u64>>,
    trusted_proxies: Option<Spanned<ProxyList>>,
}

/// Trusted proxies as written: a TOML array of strings, or one comma-separated string in a
/// variable. Each entry is parsed (and its mistake reported) when the configuration is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct ProxyList(pub Vec<String>);

impl ProxyList {
    fn networks(&self) -> Result<Vec<ProxyNetwork>, String> {
        self.0
            .iter()
            .map(|entry| ProxyNetwork::from_str(entry.trim()))
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysSection {
    file: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySection {
    file: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarSection {
    files: Option<Spanned<PathList>>,
}

/// Calendar files as written: a TOML array of strings, or one comma-separated string in a
/// variable; the flag is repeated, one file each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct PathList(pub Vec<PathBuf>);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<Spanned<String>>,
    request_timeout_secs: Option<Spanned<u64>>,
    max_body_bytes: Option<Spanned<u64>>,
    shutdown_grace_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert_file: Option<Spanned<PathBuf>>,
    key_file: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    format: Option<Spanned<LogFormat>>,
    level: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    session_lifetime_mins: Option<Spanned<u64>>,
    slow_after: Option<Spanned<u64>>,
    slow_step_ms: Option<Spanned<u64>>,
    lock_after: Option<Spanned<u64>>,
    lock_mins: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSection {
    enabled: Option<Spanned<bool>>,
    credentials_file: Option<Spanned<PathBuf>>,
}

/// A type a knob can hold: how it is read from a variable or flag, and how it is written back
/// in TOML for `pdv config show`.
trait KnobValue: Sized + Clone + Default {
    fn parse_text(text: &str) -> Result<Self, String>;
    fn to_toml(&self) -> String;
}

impl KnobValue for String {
    fn parse_text(text: &str) -> Result<String, String> {
        Ok(text.to_string())
    }
    fn to_toml(&self) -> String {
        toml_string(self)
    }
}

impl KnobValue for PathBuf {
    fn parse_text(text: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(text))
    }
    fn to_toml(&self) -> String {
        toml_string(&self.display().to_string())
    }
}

impl KnobValue for u64 {
    fn parse_text(text: &str) -> Result<u64, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("ожидается целое неотрицательное число, указано «{text}»"))
    }
    fn to_toml(&self) -> String {
        self.to_string()
    }
}

impl KnobValue for bool {
    fn parse_text(text: &str) -> Result<bool, String> {
        // The spellings clap accepted for `PDV_DEMO` before the configuration file existed.
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            _ => Err(format!("ожидается true или false, указано «{text}»")),
        }
    }
    fn to_toml(&self) -> String {
        self.to_string()
    }
}

impl KnobValue for ProxyList {
    fn parse_text(text: &str) -> Result<ProxyList, String> {
        Ok(ProxyList(
            text.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ))
    }
    fn to_toml(&self) -> String {
        toml::Value::Array(
            self.0
                .iter()
                .map(|s| toml::Value::String(s.clone()))
                .collect(),
        )
        .to_string()
    }
}

impl KnobValue for SignatoryList {
    fn parse_text(text: &str) -> Result<SignatoryList, String> {
        Ok(SignatoryList(
            text.split(';')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ))
    }
    fn to_toml(&self) -> String {
        toml::Value::Array(
            self.0
                .iter()
                .map(|s| toml::Value::String(s.clone()))
                .collect(),
        )
        .to_string()
    }
}

impl KnobValue for PathList {
    fn parse_text(text: &str) -> Result<PathList, String> {
        Ok(PathList(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
        ))
    }
    fn to_toml(&self) -> String {
        toml::Value::Array(
            self.0
                .iter()
                .map(|p| toml::Value::String(p.display().to_string()))
                .collect(),
        )
        .to_string()
    }
}

impl KnobValue for LogFormat {
    fn parse_text(text: &str) -> Result<LogFormat, String> {
        match text.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("ожидается text или json, указано «{text}»")),
        }
    }
    fn to_toml(&self) -> String {
        match self {
            LogFormat::Text => "\"text\"".into(),
            LogFormat::Json => "\"json\"".into(),
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The places a configuration is read from; the environment is passed in so that tests need
/// not change the process's own.
pub(crate) struct Sources<'a> {
    pub flags: Flags,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The file used when none is named (`pdv.toml`, relative to the working directory).
    pub default_file: PathBuf,
}

/// Collects values and every error found on the way.
struct Resolver<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: Option<&'a ConfigFile>,
    errors: Vec<String>,
}

impl Resolver<'_> {
    /// The flag's value, else the variable's, else the file's; `None` when none is set.
    fn pick<T: KnobValue>(
        &mut self,
        knob: Knob,
        flag: Option<T>,
        file: Option<Spanned<T>>,
    ) -> Option<Setting<T>> {
        if let Some(value) = flag {
            return Some(Setting {
                value,
                origin: Origin::Flag(knob.flag.unwrap_or(knob.key)),
            });
        }
        // An empty variable counts as unset, as clap treated it before, so that
        // `Environment=PDV_TLS_CERT=` in a unit can switch a setting back off.
        if let Some(text) = (self.env)(knob.env).filter(|v| !v.is_empty()) {
            return match T::parse_text(&text) {
                Ok(value) => Some(Setting {
                    value,
                    origin: Origin::Env(knob.env),
                }),
                Err(e) => {
                    self.errors
                        .push(format!("переменная окружения {}: {e}", knob.env));
                    None
                }
            };
        }
        file.map(|spanned| Setting {
            origin: Origin::File(spanned.span()),
            value: spanned.into_inner(),
        })
    }

    /// Like [`Resolver::pick`], falling back to the knob's default.
    fn pick_or<T: KnobValue>(
        &mut self,
        knob: Knob,
        flag: Option<T>,
        file: Option<Spanned<T>>,
    ) -> Setting<T> {
        if let Some(setting) = self.pick(knob, flag, file) {
            return setting;
        }
        // The defaults are written as text once, in the table, so that the documentation and
        // `config show` print exactly what is used; a test parses every one of them.
        let value = T::parse_text(knob.default.unwrap_or("")).unwrap_or_else(|e| {
            self.errors.push(format!(
                "внутренняя ошибка: значение по умолчанию {} не разобрано: {e}",
                knob.key
            ));
            T::default()
        });
        Setting {
            value,
            origin: Origin::Default,
        }
    }

    /// A flag given as text (so that its mistakes read like the variable's).
    fn parse_flag<T: KnobValue>(&mut self, knob: Knob, text: Option<String>) -> Option<T> {
        let text = text?;
        match T::parse_text(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors
                    .push(format!("флаг {}: {e}", knob.flag.unwrap_or(knob.key)));
                None
            }
        }
    }

    /// Checks a resolved value; a failure is reported at its source.
    fn check<T>(
        &mut self,
        knob: Knob,
        setting: &Setting<T>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) {
        if let Err(problem) = check(&setting.value) {
            let message = format!("{}: {problem}", knob.key);
            self.errors.push(match (&setting.origin, self.file) {
                (Origin::File(span), Some(file)) => Diagnostic::error(Some(span.clone()), message)
                    .render(&file.path.display().to_string(), &file.source),
                (Origin::Flag(flag), _) => format!("флаг {flag}: {message}"),
                (Origin::Env(var), _) => format!("переменная окружения {var}: {message}"),
                _ => message,
            });
        }
    }

    fn range(&mut self, knob: Knob, setting: &Setting<u64>, min: u64, max: u64, unit: &str) {
        self.check(knob, setting, |v| {
            if (min..=max).contains(v) {
                Ok(())
            } else {
                Err(format!("допустимо от {min} до {max} {unit}, указано {v}"))
            }
        });
    }
}

fn non_empty_path(p: &Path) -> Result<(), String> {
    if p.as_os_str().is_empty() {
        Err("путь не может быть пустым".into())
    } else {
        Ok(())
    }
}

fn listen_address(s: &str) -> Result<(), String> {
    let port = s
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() => Ok(()),
        _ => Err(format!(
            "ожидается АДРЕС:ПОРТ, например 127.0.0.1:8080 или [::1]:8080, указано «{s}»"
        )),
    }
}

fn log_filter(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("уровень не может быть пустым; например info".into());
    }
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| ())
        .map_err(|e| format!("не разобрано «{s}» ({e}); пример: info,sqlx=warn"))
}

impl Config {
    /// Reads the configuration file (if any) and resolves every knob.
    pub(crate) fn load(sources: Sources<'_>) -> Result<Config, ConfigErrors> {
        let Sources {
            flags,
            env,
            default_file,
        } = sources;
        let file = locate(&flags, env, &default_file).map_err(|e| ConfigErrors(vec![e]))?;
        let parsed = match &file {
            None => FileConfig::default(),
            Some(f) => toml::from_str::<FileConfig>(&f.source).map_err(|e| {
                ConfigErrors(vec![
                    translate(&e).render(&f.path.display().to_string(), &f.source),
                ])
            })?,
        };
        let mut r = Resolver {
            env,
            file: file.as_ref(),
            errors: Vec::new(),
        };
        let log_format = r.parse_flag(LOG_FORMAT, flags.log_format.clone());
        let log_level = r.parse_flag(LOG_LEVEL, flags.log_level.clone());
        let config = Config {
            database_url: r.pick_or(DATABASE_URL, flags.database_url, parsed.database.url),
            key_file: r.pick_or(KEY_FILE, flags.key_file, parsed.keys.file),
            policy: r.pick_or(POLICY_FILE, flags.policy, parsed.policy.file),
            calendar_files: r.pick(CALENDAR_FILES, flags.calendar_files, parsed.calendar.files),
            listen: r.pick_or(LISTEN, flags.listen, parsed.server.listen),
            request_timeout_secs: r.pick_or(
                REQUEST_TIMEOUT,
                None,
                parsed.server.request_timeout_secs,
            ),
            max_body_bytes: r.pick_or(MAX_BODY, None, parsed.server.max_body_bytes),
            shutdown_grace_secs: r.pick_or(SHUTDOWN_GRACE, None, parsed.server.shutdown_grace_secs),
            tls_cert: r.pick(TLS_CERT, flags.tls_cert, parsed.tls.cert_file),
            tls_key: r.pick(TLS_KEY, flags.tls_key, parsed.tls.key_file),
            log_format: r.pick_or(LOG_FORMAT, log_format, parsed.log.format),
            log_level: r.pick_or(LOG_LEVEL, log_level, parsed.log.level),
            session_lifetime_mins: r.pick_or(
                SESSION_LIFETIME,
                None,
                parsed.auth.session_lifetime_mins,
            ),
            slow_after: r.pick_or(SLOW_AFTER, None, parsed.auth.slow_after),
            slow_step_ms: r.pick_or(SLOW_STEP, None, parsed.auth.slow_step_ms),
            lock_after: r.pick_or(LOCK_AFTER, None, parsed.auth.lock_after),
            lock_mins: r.pick_or(LOCK_MINS, None, parsed.auth.lock_mins),
            login_per_minute: r.pick_or(LOGIN_RATE, None, parsed.limits.login_per_minute),
            login_burst: r.pick_or(LOGIN_BURST, None, parsed.limits.login_burst),
            trusted_proxies: r.pick_or(TRUSTED_PROXIES, None, parsed.limits.trusted_proxies),
            retention_interval_mins: r.pick_or(
                RETENTION_INTERVAL,
                None,
                parsed.retention.interval_mins,
            ),
            retention_batch: r.pick_or(RETENTION_BATCH, None, parsed.retention.batch),
            sweep_batch: r.pick_or(SWEEP_BATCH, None, parsed.retention.sweep_batch),
            sweep_pause_ms: r.pick_or(SWEEP_PAUSE, None, parsed.retention.sweep_pause_ms),
            sweep_share_permille: r.pick_or(
                SWEEP_SHARE,
                None,
                parsed.retention.sweep_share_permille,
            ),
            acts_system: r.pick_or(ACTS_SYSTEM, None, parsed.acts.system),
            acts_signatories: r.pick(ACTS_SIGNATORIES, None, parsed.acts.signatories),
            demo: r.pick_or(DEMO, flags.demo, parsed.demo.enabled),
            demo_credentials: r.pick_or(
                DEMO_CREDENTIALS,
                flags.demo_credentials,
                parsed.demo.credentials_file,
            ),
            file: None,
        };
        r.check(DATABASE_URL, &config.database_url, |url| {
            crate::backend_of(url)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        r.check(KEY_FILE, &config.key_file, |p| non_empty_path(p));
        r.check(POLICY_FILE, &config.policy, |p| non_empty_path(p));
        if let Some(files) = &config.calendar_files {
            r.check(CALENDAR_FILES, files, |list| {
                list.0.iter().try_for_each(|p| non_empty_path(p))
            });
        }
        r.check(LISTEN, &config.listen, |s| listen_address(s));
        r.range(
            REQUEST_TIMEOUT,
            &config.request_timeout_secs,
            1,
            3600,
            "секунд",
        );
        r.range(
            MAX_BODY,
            &config.max_body_bytes,
            1024,
            64 * 1024 * 1024,
            "байт",
        );
        r.range(
            SHUTDOWN_GRACE,
            &config.shutdown_grace_secs,
            0,
            3600,
            "секунд",
        );
        for (knob, setting) in [(TLS_CERT, &config.tls_cert), (TLS_KEY, &config.tls_key)] {
            if let Some(setting) = setting {
                r.check(knob, setting, |p| non_empty_path(p));
            }
        }
        match (&config.tls_cert, &config.tls_key) {
            (Some(_), None) => r.errors.push(
                "TLS: задан сертификат (tls.cert_file), но не задан закрытый ключ (tls.key_file, PDV_TLS_KEY, --tls-key); нужны оба".into(),
            ),
            (None, Some(_)) => r.errors.push(
                "TLS: задан закрытый ключ (tls.key_file), но не задан сертификат (tls.cert_file, PDV_TLS_CERT, --tls-cert); нужны оба".into(),
            ),
            _ => {}
        }
        r.check(LOG_LEVEL, &config.log_level, |s| log_filter(s));
        r.range(
            SESSION_LIFETIME,
            &config.session_lifetime_mins,
            1,
            10_080,
            "минут",
        );
        r.range(SLOW_AFTER, &config.slow_after, 0, 100, "неудач");
        r.range(SLOW_STEP, &config.slow_step_ms, 0, 10_000, "миллисекунд");
        r.range(LOCK_AFTER, &config.lock_after, 1, 100, "неудач");
        r.range(LOCK_MINS, &config.lock_mins, 1, 10_080, "минут");
        r.range(LOGIN_RATE, &config.login_per_minute, 1, 10_000, "попыток");
        r.range(LOGIN_BURST, &config.login_burst, 1, 10_000, "попыток");
        r.check(TRUSTED_PROXIES, &config.trusted_proxies, |list| {
            list.networks().map(|_| ())
        });
        r.range(
            RETENTION_INTERVAL,
            &config.retention_interval_mins,
            0,
            10_080,
            "минут",
        );
        r.range(
            RETENTION_BATCH,
            &config.retention_batch,
            1,
            100_000,
            "субъектов",
        );
        r.range(SWEEP_BATCH, &config.sweep_batch, 1, 10_000, "субъектов");
        r.range(
            SWEEP_PAUSE,
            &config.sweep_pause_ms,
            0,
            10_000,
            "миллисекунд",
        );
        r.range(
            SWEEP_SHARE,
            &config.sweep_share_permille,
            1,
            1000,
            "тысячных",
        );
        r.check(ACTS_SYSTEM, &config.acts_system, |s| {
            if s.trim().is_empty() {
                Err("наименование не может быть пустым".into())
            } else {
                Ok(())
            }
        });
        if let Some(list) = &config.acts_signatories {
            r.check(ACTS_SIGNATORIES, list, |l| l.signatories().map(|_| ()));
        }
        r.check(DEMO_CREDENTIALS, &config.demo_credentials, |p| {
            non_empty_path(p)
        });
        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
        }
        Ok(Config { file, ..config })
    }

    /// The limits of the HTTP server.
    pub(crate) fn web_settings(&self) -> WebSettings {
        WebSettings {
            request_timeout: Duration::from_secs(self.request_timeout_secs.value),
            // At most 64 MiB (checked on load), so it fits in any `usize` pdvault runs on.
            max_body_bytes: usize::try_from(self.max_body_bytes.value).unwrap_or(usize::MAX),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs.value),
            // The ranges and the proxy list were checked on load.
            rate_limits: RateLimitSettings {
                login: LoginRateLimit {
                    per_address_per_minute: u32::try_from(self.login_per_minute.value)
                        .unwrap_or(u32::MAX),
                    burst: u32::try_from(self.login_burst.value).unwrap_or(u32::MAX),
                },
                trusted_proxies: self.trusted_proxies.value.networks().unwrap_or_default(),
            },
        }
    }

    /// Session lifetime and lock-out; the password hashing cost is not configurable (OWASP
    /// parameters, see `pdv_core::auth`).
    pub(crate) fn auth_settings(&self) -> AuthSettings {
        // The ranges were checked on load, so the conversions cannot overflow.
        let minutes = |m: u64| i64::try_from(m * 60_000).unwrap_or(i64::MAX);
        AuthSettings {
            session_ttl_ms: minutes(self.session_lifetime_mins.value),
            lockout: LockoutRule {
                slow_after: u32::try_from(self.slow_after.value).unwrap_or(u32::MAX),
                slow_step_ms: self.slow_step_ms.value,
                lock_after: u32::try_from(self.lock_after.value).unwrap_or(u32::MAX),
                lock_ms: minutes(self.lock_mins.value),
            },
            ..AuthSettings::default()
        }
    }

    /// What destruction acts say of the operator's side (checked on load).
    pub(crate) fn act_settings(&self) -> pdv_service::acts::ActSettings {
        pdv_service::acts::ActSettings {
            system: self.acts_system.value.clone(),
            signatories: self
                .acts_signatories
                .as_ref()
                .and_then(|s| s.value.signatories().ok())
                .unwrap_or_default(),
        }
    }

    /// How often `pdv serve` runs the retention rules; `None` when it does not.
    pub(crate) fn retention_interval(&self) -> Option<Duration> {
        (self.retention_interval_mins.value > 0)
            .then(|| Duration::from_secs(self.retention_interval_mins.value * 60))
    }

    /// Subjects per transaction in a retention run (checked on load).
    pub(crate) fn retention_batch(&self) -> u32 {
        u32::try_from(self.retention_batch.value).unwrap_or(u32::MAX)
    }

    /// How the sweep after a key shred paces itself (checked on load).
    pub(crate) fn sweep_settings(&self) -> pdv_service::SweepSettings {
        pdv_service::SweepSettings {
            batch: u32::try_from(self.sweep_batch.value).unwrap_or(u32::MAX),
            pause: Duration::from_millis(self.sweep_pause_ms.value),
            share_permille: u32::try_from(self.sweep_share_permille.value).unwrap_or(1000),
            in_background: false,
        }
    }

    /// The production calendar files to load, in order; none when unset.
    pub(crate) fn calendar_files(&self) -> &[PathBuf] {
        self.calendar_files
            .as_ref()
            .map_or(&[], |setting| setting.value.0.as_slice())
    }

    /// The certificate and key files, when TLS is configured (both are, or neither: checked on
    /// load).
    pub(crate) fn tls_files(&self) -> Option<(&Path, &Path)> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some((&cert.value, &key.value)),
            _ => None,
        }
    }

    /// Where a value came from, in words.
    pub(crate) fn describe(&self, origin: &Origin) -> String {
        match origin {
            Origin::Flag(flag) => format!("флаг {flag}"),
            Origin::Env(var) => format!("переменная окружения {var}"),
            Origin::File(span) => match &self.file {
                Some(file) => format!("{}:{}", file.path.display(), file.line(span)),
                None => "файл настроек".into(),
            },
            Origin::Default => "по умолчанию".into(),
        }
    }

    /// The effective configuration as a `pdv.toml` with the source of each value in a comment;
    /// the database password is replaced with `***`. `master_key_in_env` tells whether
    /// `PDV_MASTER_KEY` is set (its value is never shown).
    pub(crate) fn show(&self, master_key_in_env: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Действующие настройки pdvault.");
        let _ = match &self.file {
            Some(f) => writeln!(
                out,
                "# Файл настроек: {} ({}).",
                f.path.display(),
                match f.chosen_by {
                    FileChoice::Flag => "флаг --config",
                    FileChoice::Env => "переменная окружения PDV_CONFIG",
                    FileChoice::WorkingDirectory => "найден в рабочем каталоге",
                }
            ),
            None => writeln!(
                out,
                "# Файла настроек нет (ни --config, ни PDV_CONFIG, ни {DEFAULT_FILE} в рабочем каталоге)."
            ),
        };
        let _ = writeln!(
            out,
            "# Источник каждого значения — в комментарии: флаг, переменная окружения, файл:строка или «по умолчанию»."
        );
        let redacted_url = crate::redacted(&self.database_url.value);
        let mut section = "";
        for (knob, value) in self.entries() {
            let (sect, name) = knob.key.split_once('.').unwrap_or(("", knob.key));
            if sect != section {
                section = sect;
                let _ = writeln!(out, "\n[{sect}]");
            }
            let _ = writeln!(out, "# {}", knob.about);
            match value {
                Some((text, origin)) => {
                    let mut note = self.describe(origin);
                    if knob.key == DATABASE_URL.key && redacted_url != self.database_url.value {
                        note.push_str("; пароль скрыт");
                    }
                    let _ = writeln!(out, "{name} = {text}  # {note}");
                }
                None => {
                    let _ = writeln!(out, "# {name} не задан");
                }
            }
            if knob.key == KEY_FILE.key && master_key_in_env {
                let _ = writeln!(
                    out,
                    "# мастер-ключ берётся из переменной окружения PDV_MASTER_KEY (значение скрыто); keys.file не читается"
                );
            }
        }
        out
    }

    /// Every knob with its value written in TOML (`None` when unset) and its origin. The
    /// database URL's password is already replaced with `***`.
    fn entries(&self) -> Vec<(Knob, Option<(String, &Origin)>)> {
        let url = toml_string(&crate::redacted(&self.database_url.value));
        vec![
            (DATABASE_URL, Some((url, &self.database_url.origin))),
            (KEY_FILE, row(&self.key_file)),
            (POLICY_FILE, row(&self.policy)),
            (CALENDAR_FILES, self.calendar_files.as_ref().and_then(row)),
            (LISTEN, row(&self.listen)),
            (REQUEST_TIMEOUT, row(&self.request_timeout_secs)),
            (MAX_BODY, row(&self.max_body_bytes)),
            (SHUTDOWN_GRACE, row(&self.shutdown_grace_secs)),
            (TLS_CERT, self.tls_cert.as_ref().and_then(row)),
            (TLS_KEY, self.tls_key.as_ref().and_then(row)),
            (LOG_FORMAT, row(&self.log_format)),
            (LOG_LEVEL, row(&self.log_level)),
            (SESSION_LIFETIME, row(&self.session_lifetime_mins)),
            (SLOW_AFTER, row(&self.slow_after)),
            (SLOW_STEP, row(&self.slow_step_ms)),
            (LOCK_AFTER, row(&self.lock_after)),
            (LOCK_MINS, row(&self.lock_mins)),
            (LOGIN_RATE, row(&self.login_per_minute)),
            (LOGIN_BURST, row(&self.login_burst)),
            (TRUSTED_PROXIES, row(&self.trusted_proxies)),
            (RETENTION_INTERVAL, row(&self.retention_interval_mins)),
            (RETENTION_BATCH, row(&self.retention_batch)),
            (SWEEP_BATCH, row(&self.sweep_batch)),
            (SWEEP_PAUSE, row(&self.sweep_pause_ms)),
            (SWEEP_SHARE, row(&self.sweep_share_permille)),
            (ACTS_SYSTEM, row(&self.acts_system)),
            (
                ACTS_SIGNATORIES,
                self.acts_signatories.as_ref().and_then(row),
            ),
            (DEMO, row(&self.demo)),
            (DEMO_CREDENTIALS, row(&self.demo_credentials)),
        ]
    }
}

fn row<T: KnobValue>(setting: &Setting<T>) -> Option<(String, &Origin)> {
    Some((setting.value.to_toml(), &setting.origin))
}

/// Finds the configuration file: the flag's, the variable's (both must exist), or `pdv.toml` in
/// the working directory if there is one.
fn locate(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    default_file: &Path,
) -> Result<Option<ConfigFile>, String> {
    let named = match (&flags.config, env(CONFIG_ENV).filter(|v| !v.is_empty())) {
        (Some(path), _) => Some((path.clone(), FileChoice::Flag)),
        (None, Some(path)) => Some((PathBuf::from(path), FileChoice::Env)),
        (None, None) => None,
    };
    let (path, chosen_by) = match named {
        Some(named) => named,
        None if default_file.is_file() => {
            (default_file.to_path_buf(), FileChoice::WorkingDirectory)
        }
        None => return Ok(None),
    };
    let source = std::fs::read_to_string(&path).map_err(|e| {
        let named_by = match chosen_by {
            FileChoice::Flag => " (флаг --config)",
            FileChoice::Env => " (переменная окружения PDV_CONFIG)",
            FileChoice::WorkingDirectory => "",
        };
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "файл не найден".to_string(),
            std::io::ErrorKind::PermissionDenied => "нет прав на чтение".to_string(),
            _ => e.to_string(),
        };
        format!("файл настроек {}{named_by}: {reason}", path.display())
    })?;
    Ok(Some(ConfigFile {
        path,
        chosen_by,
        source,
    }))
}

/// Turns the TOML parser's English message into a Russian one that names the key.
fn translate(e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim();
    let span = e.span();
    let quoted = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    let expected = |s: &str| {
        s.split_once("expected")
            .map(|(_, r)| {
                r.trim()
                    .trim_start_matches("one of")
                    .trim()
                    .replace('`', "")
                    .replace(" or ", ", ")
            })
            .unwrap_or_default()
    };
    if msg.starts_with("unknown field") {
        Diagnostic::error(span, format!("неизвестный ключ «{}»", quoted(msg))).help(format!(
            "проверьте написание; допустимые ключи здесь: {}; все ключи — в docs/configuration.md",
            expected(msg)
        ))
    } else if msg.starts_with("unknown variant") {
        Diagnostic::error(span, format!("недопустимое значение «{}»", quoted(msg)))
            .help(format!("допустимые значения: {}", expected(msg)))
    } else if msg.starts_with("wanted string") {
        // A field of an enumeration (`log.format`) given as something other than a string.
        Diagnostic::error(span, "неверный тип значения: ожидается строка в кавычках")
            .help(format!("разбор TOML сообщил: {msg}"))
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        let wanted = if msg.contains("u64") {
            "целое неотрицательное число без кавычек"
        } else if msg.contains("a boolean") {
            "true или false без кавычек"
        } else if msg.contains("a string") || msg.contains("path string") {
            "строка в кавычках"
        } else if msg.contains("struct") {
            "таблица [раздел]"
        } else {
            "значение другого типа"
        };
        Diagnostic::error(span, format!("неверный тип значения: ожидается {wanted}"))
            .help(format!("разбор TOML сообщил: {msg}"))
    } else if msg.contains("duplicate key") {
        Diagnostic::error(span, "ключ задан дважды").help("оставьте одно значение")
    } else {
        Diagnostic::error(span, format!("файл не разобран как TOML: {msg}"))
            .help("исправьте запись в указанном месте")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Case {
        dir: tempfile::TempDir,
        env: HashMap<String, String>,
        flags: Flags,
    }

    impl Case {
        fn new() -> Case {
            Case {
                dir: tempfile::tempdir().unwrap(),
                env: HashMap::new(),
                flags: Flags::default(),
            }
        }

        fn file(mut self, text: &str) -> Case {
            let path = self.dir.path().join("pdv.toml");
            std::fs::write(&path, text).unwrap();
            self.flags.config = Some(path);
            self
        }

        fn env(mut self, name: &str, value: &str) -> Case {
            self.env.insert(name.into(), value.into());
            self
        }

        fn load(&self) -> Result<Config, ConfigErrors> {
            let env = |name: &str| self.env.get(name).cloned();
            Config::load(Sources {
                flags: self.flags.clone(),
                env: &env,
                default_file: self.dir.path().join(DEFAULT_FILE),
            })
        }

        fn errors(&self) -> String {
            match self.load() {
                Ok(_) => panic!("the configuration must be refused"),
                Err(e) => e.to_string(),
            }
        }
    }

    #[test]
    fn every_default_parses_and_is_valid() {
        let config = Case::new().load().unwrap();
        assert_eq!(config.web_settings(), WebSettings::default());
        assert_eq!(config.auth_settings(), AuthSettings::default());
        assert_eq!(
            config.sweep_settings(),
            pdv_service::SweepSettings::default(),
            "the documented defaults are the service's"
        );
        assert_eq!(config.listen.value, "127.0.0.1:8080");
        assert_eq!(config.log_format.value, LogFormat::Text);
        assert!(config.tls_files().is_none());
        assert!(config.file.is_none());
        assert!(
            [&config.database_url.origin, &config.listen.origin]
                .iter()
                .all(|o| **o == Origin::Default)
        );
    }

    #[test]
    fn a_flag_beats_the_variable_which_beats_the_file_which_beats_the_default() {
        let mut case = Case::new()
            .file("[server]\nlisten = \"127.0.0.1:1000\"\nrequest_timeout_secs = 5\n[log]\nlevel = \"debug\"\n")
            .env("PDV_LISTEN", "127.0.0.1:2000")
            .env("PDV_LOG", "warn")
            .env("PDV_REQUEST_TIMEOUT_SECS", "");
        case.flags.listen = Some("127.0.0.1:3000".into());
        let config = case.load().unwrap();
        assert_eq!(config.listen.value, "127.0.0.1:3000");
        assert_eq!(config.listen.origin, Origin::Flag("--listen"));
        assert_eq!(config.log_level.value, "warn");
        assert_eq!(config.log_level.origin, Origin::Env("PDV_LOG"));
        assert_eq!(config.request_timeout_secs.value, 5);
        assert!(matches!(
            config.request_timeout_secs.origin,
            Origin::File(_)
        ));
        assert_eq!(
            config.web_settings().request_timeout,
            Duration::from_secs(5)
        );
        assert_eq!(config.max_body_bytes.origin, Origin::Default);
        let described = config.describe(&config.request_timeout_secs.origin);
        assert!(described.ends_with("pdv.toml:3"), "{described}");

        case.flags.listen = None;
        let config = case.load().unwrap();
        assert_eq!(config.listen.value, "127.0.0.1:2000");
        case.env.remove("PDV_LISTEN");
        let config = case.load().unwrap();
        assert_eq!(config.listen.value, "127.0.0.1:1000");
        assert!(matches!(config.listen.origin, Origin::File(_)));
    }

    #[test]
    fn auth_knobs_reach_the_auth_settings() {
        let config = Case::new()
            .file("[auth]\nsession_lifetime_mins = 60\nlock_after = 3\nlock_mins = 30\nslow_after = 1\nslow_step_ms = 250\n")
            .load()
            .unwrap();
        let auth = config.auth_settings();
        assert_eq!(auth.session_ttl_ms, 60 * 60_000);
        assert_eq!(
            auth.lockout,
            LockoutRule {
                slow_after: 1,
                slow_step_ms: 250,
                lock_after: 3,
                lock_ms: 30 * 60_000
            }
        );
        assert_eq!(auth.password_cost, AuthSettings::default().password_cost);
    }

    #[test]
    fn limit_knobs_reach_the_web_settings_and_bad_proxies_are_refused_at_their_line() {
        let config = Case::new()
            .file("[limits]\nlogin_per_minute = 3\nlogin_burst = 5\ntrusted_proxies = [\"10.0.0.0/8\"]\n")
            .load()
            .unwrap();
        let limits = config.web_settings().rate_limits;
        assert_eq!(
            limits.login,
            LoginRateLimit {
                per_address_per_minute: 3,
                burst: 5
            }
        );
        assert_eq!(
            limits.trusted_proxies,
            vec![ProxyNetwork::from_str("10.0.0.0/8").unwrap()]
        );
        let from_env = Case::new()
            .env("PDV_TRUSTED_PROXIES", "192.0.2.1, fd00::/8")
            .load()
            .unwrap();
        assert_eq!(from_env.web_settings().rate_limits.trusted_proxies.len(), 2);

        let errors = Case::new()
            .file("[limits]\nlogin_per_minute = 0\ntrusted_proxies = [\"10.0.0.0/99\"]\n")
            .errors();
        assert!(errors.contains("limits.login_per_minute"), "{errors}");
        assert!(errors.contains("limits.trusted_proxies"), "{errors}");
        assert!(
            errors.contains(":3"),
            "the proxy list is reported at its line: {errors}"
        );
        let errors = Case::new()
            .env("PDV_TRUSTED_PROXIES", "proxy.local")
            .errors();
        assert!(errors.contains("PDV_TRUSTED_PROXIES"), "{errors}");
    }

    #[test]
    fn calendar_files_come_from_the_flag_the_variable_or_the_file() {
        let case = Case::new().file("[calendar]\nfiles = [\"cal/2028.toml\", \"cal/2029.toml\"]\n");
        let config = case.load().unwrap();
        assert_eq!(
            config.calendar_files(),
            [
                PathBuf::from("cal/2028.toml"),
                PathBuf::from("cal/2029.toml")
            ]
        );
        let case = case.env("PDV_CALENDAR_FILES", "a.toml, b.toml");
        assert_eq!(
            case.load().unwrap().calendar_files(),
            [PathBuf::from("a.toml"), PathBuf::from("b.toml")]
        );
        let mut case = case;
        case.flags.calendar_files = Some(PathList(vec![PathBuf::from("c.toml")]));
        let config = case.load().unwrap();
        assert_eq!(config.calendar_files(), [PathBuf::from("c.toml")]);
        assert!(
            config
                .show(false)
                .contains("files = [\"c.toml\"]  # флаг --calendar")
        );
        assert!(Case::new().load().unwrap().calendar_files().is_empty());
        let errors = Case::new().file("[calendar]\nfiles = [\"\"]\n").errors();
        assert!(
            errors.contains("pdv.toml:2:9: ошибка: calendar.files: путь не может быть пустым"),
            "{errors}"
        );
        let errors = Case::new()
            .file("[calendar]\nfiles = \"a.toml\"\n")
            .errors();
        assert!(errors.contains("pdv.toml:2:9"), "{errors}");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let case = Case::new().file("[server]\nlisten = \"127.0.0.1:1\"\ntimeout = 5\n");
        let errors = case.errors();
        assert!(
            errors.contains("pdv.toml:3:1: ошибка: неизвестный ключ «timeout»"),
            "{errors}"
        );
        assert!(errors.contains("request_timeout_secs"), "{errors}");
        let errors = Case::new().file("[serve]\nlisten = \"x\"\n").errors();
        assert!(
            errors.contains("pdv.toml:1:2: ошибка: неизвестный ключ «serve»"),
            "{errors}"
        );
    }

    #[test]
    fn a_wrong_type_is_named_with_its_line() {
        let errors = Case::new()
            .file("[server]\n\nrequest_timeout_secs = \"30\"\n")
            .errors();
        assert!(
            errors.contains("pdv.toml:3:24: ошибка: неверный тип значения: ожидается целое неотрицательное число"),
            "{errors}"
        );
        let errors = Case::new().file("[log]\nformat = \"xml\"\n").errors();
        assert!(
            errors.contains("pdv.toml:2:10: ошибка: недопустимое значение «xml»"),
            "{errors}"
        );
        assert!(errors.contains("text, json"), "{errors}");
        let errors = Case::new().file("[log]\nformat = 5\n").errors();
        assert!(
            errors.contains("pdv.toml:2:10: ошибка: неверный тип значения: ожидается строка"),
            "{errors}"
        );
        let errors = Case::new().file("[demo]\nenabled = \"yes\"\n").errors();
        assert!(errors.contains("pdv.toml:2:11"), "{errors}");
        assert!(errors.contains("true или false"), "{errors}");
    }

    #[test]
    fn out_of_range_values_are_reported_at_their_source_all_at_once() {
        let errors = Case::new()
            .file("[server]\nmax_body_bytes = 10\n[auth]\nlock_after = 0\n")
            .env("PDV_SHUTDOWN_GRACE_SECS", "soon")
            .env("PDV_REQUEST_TIMEOUT_SECS", "0")
            .errors();
        assert!(
            errors.contains("pdv.toml:2:18: ошибка: server.max_body_bytes: допустимо от 1024 до 67108864 байт, указано 10"),
            "{errors}"
        );
        assert!(
            errors.contains("pdv.toml:4:14: ошибка: auth.lock_after"),
            "{errors}"
        );
        assert!(
            errors.contains("переменная окружения PDV_SHUTDOWN_GRACE_SECS: ожидается целое неотрицательное число, указано «soon»"),
            "{errors}"
        );
        assert!(
            errors.contains("переменная окружения PDV_REQUEST_TIMEOUT_SECS: server.request_timeout_secs: допустимо от 1 до 3600 секунд, указано 0"),
            "{errors}"
        );
    }

    #[test]
    fn bad_flags_addresses_levels_and_urls_are_refused() {
        let mut case = Case::new().env("PDV_DATABASE_URL", "mysql://root:secret@db/x");
        case.flags.listen = Some("8080".into());
        case.flags.log_format = Some("yaml".into());
        case.flags.log_level = Some("info,sqlx=loud".into());
        let errors = case.errors();
        assert!(
            errors.contains("флаг --listen: server.listen: ожидается АДРЕС:ПОРТ"),
            "{errors}"
        );
        assert!(
            errors.contains("флаг --log-format: ожидается text или json"),
            "{errors}"
        );
        assert!(errors.contains("флаг --log-level: log.level"), "{errors}");
        assert!(errors.contains("«mysql:»"), "{errors}");
        assert!(
            !errors.contains("secret"),
            "no password in messages: {errors}"
        );
    }

    #[test]
    fn tls_needs_both_files() {
        let errors = Case::new().env("PDV_TLS_CERT", "cert.pem").errors();
        assert!(errors.contains("нужны оба"), "{errors}");
        let config = Case::new()
            .file("[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n")
            .load()
            .unwrap();
        assert_eq!(
            config.tls_files(),
            Some((Path::new("c.pem"), Path::new("k.pem")))
        );
    }

    #[test]
    fn a_named_file_must_exist_and_the_default_one_is_optional() {
        let mut case = Case::new();
        case.flags.config = Some(case.dir.path().join("absent.toml"));
        let errors = case.errors();
        assert!(
            errors.contains("absent.toml (флаг --config): файл не найден"),
            "{errors}"
        );
        let case = Case::new().env(CONFIG_ENV, "/nonexistent/pdv.toml");
        let errors = case.errors();
        assert!(
            errors.contains("(переменная окружения PDV_CONFIG): файл не найден"),
            "{errors}"
        );

        let case = Case::new();
        assert!(case.load().unwrap().file.is_none());
        std::fs::write(
            case.dir.path().join(DEFAULT_FILE),
            "[server]\nlisten = \"0.0.0.0:9\"\n",
        )
        .unwrap();
        let config = case.load().unwrap();
        assert_eq!(config.listen.value, "0.0.0.0:9");
        assert_eq!(
            config.file.map(|f| f.chosen_by),
            Some(FileChoice::WorkingDirectory)
        );
    }

    #[test]
    fn show_names_every_source_and_hides_the_password() {
        let mut case = Case::new()
            .file("[policy]\nfile = \"policies/konekt.toml\"\n")
            .env(
                "PDV_DATABASE_URL",
                "postgres://pdv:s3cr3t@db:5432/pdv?password=s3cr3t",
            );
        case.flags.listen = Some("127.0.0.1:9000".into());
        let config = case.load().unwrap();
        let shown = config.show(true);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("url = \"postgres://pdv:***@db:5432/pdv?password=***\"  # переменная окружения PDV_DATABASE_URL; пароль скрыт"),
            "{shown}"
        );
        assert!(
            shown.contains("file = \"policies/konekt.toml\"  # ") && shown.contains("pdv.toml:2"),
            "{shown}"
        );
        assert!(
            shown.contains("listen = \"127.0.0.1:9000\"  # флаг --listen"),
            "{shown}"
        );
        assert!(
            shown.contains("request_timeout_secs = 30  # по умолчанию"),
            "{shown}"
        );
        assert!(shown.contains("# cert_file не задан"), "{shown}");
        assert!(
            shown.contains("PDV_MASTER_KEY (значение скрыто)"),
            "{shown}"
        );
        // Without the comments, what `show` prints is a valid configuration file.
        let reparsed: Result<FileConfig, _> = toml::from_str(&shown);
        assert!(reparsed.is_ok(), "{reparsed:?}\n{shown}");
    }

    #[test]
    fn the_shipped_example_is_accepted() {
        let mut case = Case::new();
        case.flags.config =
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/pdv.toml.example"));
        let config = case.load().unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(config.database_url.origin, Origin::File(_)));
        assert_eq!(config.policy.value, Path::new("/etc/pdvault/policy.toml"));
        assert_eq!(config.web_settings(), WebSettings::default());
        assert_eq!(config.auth_settings(), AuthSettings::default());
    }

    #[test]
    fn show_covers_every_knob_in_order() {
        let config = Case::new().load().unwrap();
        let shown: Vec<&str> = config.entries().iter().map(|(k, _)| k.key).collect();
        let all: Vec<&str> = KNOBS.iter().map(|k| k.key).collect();
        assert_eq!(shown, all);
    }

    #[test]
    fn every_knob_is_documented_in_one_table_row() {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md"),
        )
        .unwrap();
        for knob in KNOBS {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", knob.key)))
                .unwrap_or_else(|| {
                    panic!("{} is not in the table of docs/configuration.md", knob.key)
                });
            assert!(
                row.contains(&format!("`{}`", knob.env)),
                "{}: {row}",
                knob.env
            );
            if let Some(flag) = knob.flag {
                assert!(row.contains(&format!("`{flag}")), "{flag}: {row}");
            }
            let default = knob.default.unwrap_or("—");
            assert!(row.contains(default), "default {default}: {row}");
        }
        for var in [CONFIG_ENV, pdv_crypto::MASTER_KEY_ENV] {
            assert!(doc.contains(&format!("`{var}`")), "{var}");
        }
    }
}
