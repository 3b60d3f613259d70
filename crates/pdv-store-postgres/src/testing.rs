//! Throwaway PostgreSQL databases for tests, shared by the test suites of every crate that runs
//! against PostgreSQL.
//!
//! The server comes from the environment variable `PDV_TEST_PG_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`), whose user may create databases. Each
//! [`TestDatabase`] is a database of its own, `pdv_test_<unix seconds>_<uuid>`, migrated and
//! empty, dropped again when the value drops; so tests run in parallel without seeing each
//! other's rows. A run that crashed before dropping its databases leaves them behind; the next
//! run removes those older than [`STALE_AFTER`], which no live test can still be using.
//!
//! Without `PDV_TEST_PG_URL`, [`TestDatabase::create`] returns `None` and the test skips itself,
//! so a developer without PostgreSQL can still run `cargo test`; but when `CI=true` it panics
//! instead, so that CI can never pass by silently skipping the PostgreSQL backend.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::PostgresStore;

/// The environment variable naming the PostgreSQL server for tests.
pub const URL_VAR: &str = "PDV_TEST_PG_URL";

/// The prefix of every database this module creates; nothing else is ever dropped.
const PREFIX: &str = "pdv_test_";

/// A leftover test database older than this belongs to a run that died without cleaning up.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Whether this process has already swept stale databases; once per test binary is enough.
static SWEPT: AtomicBool = AtomicBool::new(false);

/// A fresh, migrated, empty database and a store open on it. Dereferences to the store, so it
/// can be handed to `pdv_store::conformance_tests!` directly.
pub struct TestDatabase {
    /// The store, connected to this database only.
    pub store: PostgresStore,
    /// The URL of this database, for a test that starts a server or the CLI on it.
    pub url: String,
    // Declared after `store` so that it drops after the store: the database is removed last.
    guard: DropGuard,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may carry a password, so only the database's name is shown.
        f.debug_struct("TestDatabase")
            .field("name", &self.guard.name)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for TestDatabase {
    type Target = PostgresStore;
    fn deref(&self) -> &PostgresStore {
        &self.store
    }
}

impl TestDatabase {
    /// Creates a database on the server named by `PDV_TEST_PG_URL` and opens a store on it.
    ///
    /// Returns `None`, after saying so on stderr, when the variable is not set, so the caller
    /// can skip its test. Panics when the variable is not set but `CI` is `true`, and when the
    /// server cannot be reached or the database cannot be created: a configured server that
    /// does not work is a failure, not a reason to skip.
    pub async fn create() -> Option<TestDatabase> {
        let Some(admin_url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) else {
            if in_ci() {
                panic!(
                    "PostgreSQL tests are required in CI (CI=true) but {URL_VAR} is not set; \
                     set it to a server where the user may create databases, e.g. \
                     postgres://postgres@127.0.0.1:5432/postgres"
                );
            }
            eprintln!("skipped: {URL_VAR} not set (PostgreSQL tests need a server to run)");
            return None;
        };
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("{URL_VAR} is set but PostgreSQL cannot be reached through it: {e}")
        });
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep_stale(&mut admin).await;
        }

        let name = format!(
            "{PREFIX}{}_{}",
            unix_seconds(),
            uuid::Uuid::now_v7().simple()
        );
        // Identifiers cannot be bound as parameters; the name is made here of ASCII letters,
        // digits and underscores only, so formatting it into the statement is safe.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        // Guarded from here on, so that a failure below still drops the database.
        let guard = DropGuard {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let _ = admin.close().await;

        let url = with_database(&admin_url, &name);
        let store = PostgresStore::open(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the test database {name}: {e}"));
        Some(TestDatabase { store, url, guard })
    }

    /// The name of the database.
    pub fn name(&self) -> &str {
        &self.guard.name
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The URL `url` with its database replaced by `database`, keeping user, host, port and
/// parameters: `postgres://u@h:5432/postgres?sslmode=disable` becomes
/// `postgres://u@h:5432/<database>?sslmode=disable`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Drops the test databases that a crashed run left behind. Failures are only reported: a
/// leftover database costs disk space, not correctness.
async fn sweep_stale(admin: &mut PgConnection) {
    let names = match sqlx::query_scalar!(
        r#"SELECT datname::text AS "datname!" FROM pg_database WHERE starts_with(datname, $1)"#,
        PREFIX
    )
    .fetch_all(&mut *admin)
    .await
    {
        Ok(names) => names,
        Err(e) => {
            eprintln!("warning: cannot list leftover test databases: {e}");
            return;
        }
    };
    let cutoff = unix_seconds().saturating_sub(STALE_AFTER.as_secs());
    for name in names {
        if !created_before(&name, cutoff) {
            continue;
        }
        if let Err(e) = drop_database(admin, &name).await {
            eprintln!("warning: cannot drop the leftover test database {name}: {e}");
        }
    }
}

/// Whether `name` is one of ours (`pdv_test_<seconds>_<hex>`) created before `cutoff`.
fn created_before(name: &str, cutoff: u64) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let Some((seconds, id)) = rest.split_once('_') else {
        return false;
    };
    id.bytes().all(|b| b.is_ascii_hexdigit())
        && seconds.parse::<u64>().is_ok_and(|created| created < cutoff)
}

async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    // Only names of our own making reach this point (see `created_before` and `create`).
    debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    // FORCE ends the sessions still connected (a pool that has not noticed the end of its test).
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(admin)
    .await
    .map(|_| ())
}

/// Drops the database when the [`TestDatabase`] drops.
struct DropGuard {
    admin_url: String,
    name: String,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        // `Drop` cannot await, and blocking the test's own runtime on a future would deadlock a
        // current-thread runtime; so the drop runs on a runtime of its own in a thread of its
        // own, and this thread waits for it, so that the database is gone when the test ends.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                drop_database(&mut admin, &name)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok(())
            })
        })
        .join();
        let error = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => "the dropping thread panicked".to_string(),
        };
        eprintln!(
            "warning: cannot drop the test database {}: {error}; a later run removes it",
            self.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database(
                "postgres://u:p@h/db?sslmode=disable&application_name=a",
                "x"
            ),
            "postgres://u:p@h/x?sslmode=disable&application_name=a"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
        assert_eq!(
            with_database("postgres:///db?host=/run/postgresql", "x"),
            "postgres:///x?host=/run/postgresql"
        );
    }

    #[test]
    fn only_old_databases_of_ours_are_stale() {
        let id = "0195f3b2c4d87e1a9b0c1d2e3f405162";
        assert!(created_before(&format!("pdv_test_100_{id}"), 200));
        assert!(!created_before(&format!("pdv_test_300_{id}"), 200));
        assert!(!created_before("pdv_test_100", 200));
        assert!(!created_before("pdv_test_100_not-hex", 200));
        assert!(!created_before(&format!("other_100_{id}"), 200));
    }
}
