//! The HTTP test fixture shared by the API test files: a real server on a loopback socket with a
//! fresh database and master key, a staff account per role, and clients that carry their tokens.

#![allow(dead_code)] // Each test file uses its own part of the fixture.

use std::path::PathBuf;
use std::sync::Arc;

use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::{Actor, AuthSettings, Credentials, FixedClock, NewApiKey, NewUser, Vault};
use pdv_store::Store;
use pdv_store_postgres::testing::TestDatabase;
use pdv_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

/// Generates, for each listed `async fn name(backend: Backend)`, a test on SQLite (always) and a
/// test on PostgreSQL (when `PDV_TEST_PG_URL` names a server; required in CI).
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if super::common::Backend::postgres_available() {
                        super::$name(super::common::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

/// The database a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Whether PostgreSQL tests can run; prints why not, and panics in CI (see
    /// [`TestDatabase::create`]).
    pub fn postgres_available() -> bool {
        if std::env::var(pdv_store_postgres::testing::URL_VAR).is_ok() {
            return true;
        }
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI requires PostgreSQL tests: set PDV_TEST_PG_URL");
        }
        eprintln!("skipped: PDV_TEST_PG_URL not set");
        false
    }
}

/// Keeps a test's database alive as long as its app.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase),
}

pub struct TestApp {
    pub base: String,
    /// Acts as the responsible person (`dpo`), who may do every processing operation.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    /// Acts as the auditor, for checking the audit chain.
    pub auditor: reqwest::Client,
    pub vault: Arc<Vault>,
    pub clock: Arc<FixedClock>,
    pub backend: Backend,
    _database: Database,
}

pub fn policy_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

/// The password every test account gets.
pub const PASSWORD: &str = "test-password-2026";

/// The staff accounts every test app has, one per staff role.
pub const STAFF: [(&str, &str); 4] = [
    ("admin", "administrator"),
    ("dpo", "responsible_person"),
    ("agent", "agent"),
    ("auditor", "auditor"),
];

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client_with(token: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Rate limits so generous that no test but those of the limits themselves reaches them: the
/// lock-out tests make a dozen failed logins from one address within a second.
pub fn generous_limits() -> pdv_web::RateLimitSettings {
    pdv_web::RateLimitSettings {
        login: pdv_web::LoginRateLimit {
            per_address_per_minute: 60_000,
            burst: 1_000,
        },
        ..pdv_web::RateLimitSettings::default()
    }
}

/// Starts a server on `backend` for the shipped policy `name` on a random port.
pub async fn spawn_app(backend: Backend, name: &str) -> TestApp {
    spawn_app_with(backend, name, generous_limits()).await
}

/// Starts a server like [`spawn_app`] with the given rate limits.
pub async fn spawn_app_with(
    backend: Backend,
    name: &str,
    limits: pdv_web::RateLimitSettings,
) -> TestApp {
    let (store, database): (Arc<dyn Store>, Database) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            let store = SqliteStore::open(&url).await.unwrap();
            (Arc::new(store), Database::Sqlite(dir))
        }
        Backend::Postgres => {
            let db = TestDatabase::create()
                .await
                .expect("PDV_TEST_PG_URL is set, so a test database must be created");
            (Arc::new(db.store.clone()), Database::Postgres(db))
        }
    };
    let path = policy_path(name);
    let source = std::fs::read_to_string(&path).unwrap();
    let policy = Policy::from_toml(name, &source).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new("2026-03-02T07:00:00Z".parse().unwrap()));
    let vault = Vault::open(
        store,
        Arc::new(policy),
        &MasterKey::generate(),
        clock.clone(),
    )
    .await
    .unwrap()
    .with_auth_settings(AuthSettings::for_tests());
    for (login, role) in STAFF {
        vault
            .add_user(
                &Actor::new("test"),
                NewUser {
                    login: login.into(),
                    full_name: format!("Тестовый сотрудник {login}"),
                    role: role.into(),
                    password: Some(PASSWORD.into()),
                },
            )
            .await
            .unwrap();
    }
    let vault = Arc::new(vault);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = vault.clone();
    tokio::spawn(async move {
        let settings = pdv_web::WebSettings {
            rate_limits: limits,
            ..pdv_web::WebSettings::default()
        };
        pdv_web::serve_with(listener, served, &settings, std::future::pending()).await
    });
    let token = login(&vault, "dpo").await;
    let auditor = login(&vault, "auditor").await;
    TestApp {
        base,
        client: client_with(&token),
        anonymous: reqwest::Client::new(),
        auditor: client_with(&auditor),
        vault,
        clock,
        backend,
        _database: database,
    }
}

/// A session token for one of the [`STAFF`] accounts.
pub async fn login(vault: &Vault, login: &str) -> String {
    vault
        .login(Credentials {
            login: login.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .token
}

/// The secret of a new integration key with these purposes and categories.
pub async fn key(vault: &Vault, purposes: &[&str], categories: &[&str]) -> String {
    vault
        .create_api_key(
            &Actor::new("test"),
            NewApiKey {
                name: "Тестовая интеграция".into(),
                role: "integration".into(),
                purposes: purposes.iter().map(|s| s.to_string()).collect(),
                categories: categories.iter().map(|s| s.to_string()).collect(),
                valid_until: None,
            },
        )
        .await
        .unwrap()
        .secret
}

/// The secret of a new monitoring key, which reads the metrics and nothing else.
pub async fn monitoring_key(vault: &Vault) -> String {
    vault
        .create_api_key(
            &Actor::new("test"),
            NewApiKey {
                name: "Prometheus".into(),
                role: "monitoring".into(),
                purposes: vec![],
                categories: vec![],
                valid_until: None,
            },
        )
        .await
        .unwrap()
        .secret
}

pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = request.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

impl TestApp {
    /// The PostgreSQL database's name; panics on SQLite.
    pub fn database_name(&self) -> &str {
        match &self._database {
            Database::Postgres(db) => db.name(),
            Database::Sqlite(_) => panic!("not a PostgreSQL test app"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.client.post(self.url(path)).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.client.get(self.url(path))).await
    }

    pub async fn subject(&self, kind: &str) -> String {
        let (status, body) = self.post("/api/v1/subjects", serde_json::json!({ "kind": kind, "identifiers": { "email": "Anna@Example.RU", "phone": "8 (916) 555-12-34" } })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    pub async fn audit_intact(&self) -> u64 {
        let (status, report) = send(self.auditor.get(self.url("/api/v1/audit/verify"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(report["intact"], true, "{report}");
        report["events"].as_u64().unwrap()
    }
}

pub fn assert_problem(
    status: StatusCode,
    body: &Value,
    want_status: StatusCode,
    code: &str,
    field: Option<&str>,
) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], want_status.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
}

/// The SHA-256 of a text, hex: what a consent document's hash looks like.
pub fn sha(text: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
}

/// A consent given on the site's form for `purposes`, with its evidence.
pub fn web_consent(purposes: &[&str]) -> Value {
    serde_json::json!({
        "purposes": purposes,
        "channel": "site",
        "evidence": { "ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "form_id": "subscribe" },
        "document": { "id": "consent-marketing", "version": "1", "sha256": sha("текст согласия") }
    })
}
