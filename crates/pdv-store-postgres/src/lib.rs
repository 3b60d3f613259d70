//! The PostgreSQL backend: pdvault's store for deployments that already run a database server.
//!
//! It owns the PostgreSQL schema (`migrations/`, the same versions as the SQLite backend's) and
//! implements the storage ports of `pdv-store` with sqlx. Its behaviour is the SQLite backend's,
//! checked by the same conformance kit; what differs is how writers are serialised (a
//! transaction-scoped advisory lock instead of `BEGIN IMMEDIATE`, see [`WRITER_LOCK`]) and how
//! PostgreSQL's error codes map onto [`StoreError`]. [`testing`] holds the throwaway-database
//! fixture that the test suites of this and other crates share.
//!
//! # Queries are checked at compile time, offline
//!
//! Every query is written with sqlx's `query!` family of macros, so a query that does not fit the
//! schema fails the build instead of a request. The macros read what they know about each query
//! from the cache in this crate's `.sqlx/` directory, which is committed; the workspace's
//! `.cargo/config.toml` sets `SQLX_OFFLINE=true` so that a build never needs a database.
//!
//! After adding or changing a query (or a migration that a query depends on), regenerate the
//! cache against a scratch database that has the migrations applied, then commit `.sqlx/`. From
//! the workspace root:
//!
//! ```text
//! cargo install sqlx-cli --version 0.9.0 --locked --no-default-features --features postgres
//! export DATABASE_URL=postgres://postgres@127.0.0.1:5432/pdv_sqlx_prepare
//! cargo sqlx database drop -y && cargo sqlx database create
//! cargo sqlx migrate run --source crates/pdv-store-postgres/migrations
//! (cd crates/pdv-store-postgres && cargo sqlx prepare -- --all-targets)
//! cargo sqlx database drop -y
//! ```
//!
//! `cargo sqlx prepare` deletes the old `query-*.json` files, builds the crate with
//! `SQLX_OFFLINE=false` (a variable set in the environment wins over the workspace's `[env]`),
//! and writes one file per query. `cargo sqlx prepare --check -- --all-targets`, with the same
//! database, tells whether the committed cache is current. Without `sqlx-cli` the macros can
//! write the cache themselves: delete `.sqlx/query-*.json`, touch `src/lib.rs`, and run
//! `SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$PWD/crates/pdv-store-postgres/.sqlx cargo check -p
//! pdv-store-postgres --all-targets` with the same `DATABASE_URL`.

mod access;
mod backup;
mod destruction;
mod incidents;
mod journal;
mod retained;
pub mod testing;
mod transfers;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use pdv_core::audit::{self, AuditRecord, ChainedEvent, Hash, Outcome};
use pdv_core::consent::ConsentKind;
use pdv_core::identifier::IdentifierKind;
use pdv_core::{BlockId, ConsentId, ContractId, Operation, RecordId, SubjectId};
use pdv_store::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool, Postgres};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The schema versions this binary carries, for comparison with other backends.
pub fn migration_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

/// The key of the advisory lock that every write transaction holds, so that at most one of them
/// runs at a time, across all connections and all pdvault processes on the database.
///
/// The audit chain must stay linear: each append reads the head (seq, hash) and writes the next
/// event after it. Under PostgreSQL's default READ COMMITTED isolation two concurrent
/// transactions would read the same head, and one of them would then fail on the `seq` primary
/// key or, with a different isolation level, fork the chain. SQLite avoids this with
/// `BEGIN IMMEDIATE`; here `begin` takes `pg_advisory_xact_lock` on this key as its first
/// statement. The lock is released by PostgreSQL itself when the transaction commits or rolls
/// back, or when its session ends, so a crashed writer cannot leave it held. Every command reads
/// personal data inside a write transaction anyway (each read is audited), so nothing is lost by
/// serialising them all. The value is the ASCII of `pdvault` followed by the lock's version, and
/// only has to differ from other advisory locks taken on the same database.
pub const WRITER_LOCK: i64 = 0x7064_7661_756c_7401;

/// How long a writer waits for [`WRITER_LOCK`] (or any other lock) before giving up with
/// [`StoreError::Retryable`], like SQLite's busy timeout, unless the database URL sets its own.
const LOCK_TIMEOUT: &str = "10s";

/// How long a command waits for a free connection before the store reports the database as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/database`) and applies
    /// pending migrations.
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(connect_options(url)?)
            .await
            .map_err(|e| unavailable(url, e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(PostgresStore { pool })
    }

    /// A raw connection pool, for tests that must inspect or tamper with stored rows.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Applies pending migrations to the database at `url` over a single connection and returns,
/// without starting a store: for an operator's `pdv migrate`, run before the servers start.
pub async fn migrate(url: &str) -> StoreResult<()> {
    let mut conn = connect_options(url)?
        .connect()
        .await
        .map_err(|e| unavailable(url, e))?;
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    conn.close().await.map_err(map_err)
}

/// The connection settings from `url`, with pdvault's defaults for what the URL leaves open: an
/// operator may set `application_name` or `options=-c lock_timeout=…` in the URL and keep them.
fn connect_options(url: &str) -> StoreResult<PgConnectOptions> {
    let mut options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    if options.get_application_name().is_none() {
        options = options.application_name("pdvault");
    }
    if !options
        .get_options()
        .is_some_and(|o| o.contains("lock_timeout"))
    {
        options = options.options([("lock_timeout", LOCK_TIMEOUT)]);
    }
    Ok(options)
}

/// The error of a first connection, which names the server but not the URL: the URL may carry a
/// password.
fn unavailable(url: &str, e: sqlx::Error) -> StoreError {
    let server = PgConnectOptions::from_str(url)
        .map(|o| format!("{}:{}", o.get_host(), o.get_port()))
        .unwrap_or_else(|_| "the server".into());
    match map_err(e) {
        StoreError::Backend(msg) => {
            StoreError::Backend(format!("cannot connect to PostgreSQL at {server}: {msg}"))
        }
        other => other,
    }
}

/// Maps a driver error onto the store's error kinds by PostgreSQL's SQLSTATE codes
/// (<https://www.postgresql.org/docs/current/errcodes-appendix.html>). The web layer answers
/// `Retryable` and `Backend` with 503, so the distinction is for logs and for callers that retry.
fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message();
            match code.as_str() {
                // unique_violation: a reused id or idempotency key.
                "23505" => StoreError::Conflict(message.to_string()),
                // serialization_failure and deadlock_detected: the transaction was cancelled as a
                // whole and may simply be run again.
                "40001" | "40P01" => StoreError::Retryable(format!("{message} (SQLSTATE {code})")),
                // lock_not_available: another writer held the vault's write lock for longer than
                // the lock timeout.
                "55P03" => StoreError::Retryable(format!(
                    "another writer held the lock for longer than lock_timeout ({LOCK_TIMEOUT} \
                     unless the database URL sets it): {message}"
                )),
                // too_many_connections and cannot_connect_now: the server refused a new
                // connection for now (it is full, or starting up or recovering).
                "53300" | "57P03" => StoreError::Retryable(format!(
                    "PostgreSQL refused a connection for now: {message} (SQLSTATE {code})"
                )),
                // Connection exceptions, and the server shutting down or having crashed: whatever
                // the transaction did is lost with the connection.
                c if c.starts_with("08") || c == "57P01" || c == "57P02" => StoreError::Backend(
                    format!("lost the connection to PostgreSQL: {message} (SQLSTATE {code})"),
                ),
                _ => StoreError::Backend(format!("PostgreSQL: {message} (SQLSTATE {code})")),
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Backend(format!(
            "no PostgreSQL connection became available within {} s: the server is unreachable \
             or every connection is busy",
            ACQUIRE_TIMEOUT.as_secs()
        )),
        sqlx::Error::PoolClosed => {
            StoreError::Backend("the PostgreSQL connection pool is closed".into())
        }
        e @ (sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_)) => {
            StoreError::Backend(format!("lost the connection to PostgreSQL: {e}"))
        }
        other => StoreError::Backend(other.to_string()),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn uuid_bytes(bytes: Vec<u8>, column: &str) -> StoreResult<[u8; 16]> {
    bytes
        .try_into()
        .map_err(|_| corrupt(&format!("{column} is not 16 bytes")))
}

fn hash_bytes(bytes: Vec<u8>, column: &str) -> StoreResult<Hash> {
    bytes
        .try_into()
        .map_err(|_| corrupt(&format!("{column} is not 32 bytes")))
}

fn seq_to_db(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Backend(format!("audit seq {seq} is out of range")))
}

fn seq_from_db(seq: i64) -> StoreResult<u64> {
    u64::try_from(seq).map_err(|_| corrupt("audit seq is negative"))
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn begin(&self) -> StoreResult<Box<dyn Transaction>> {
        // The transaction stays at READ COMMITTED on purpose: each statement after the lock sees
        // everything the previous lock holder committed. Under REPEATABLE READ the snapshot would
        // be taken by the lock statement itself, before the lock was granted, and the chain head
        // read afterwards could be stale.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query!("SELECT pg_advisory_xact_lock($1)", WRITER_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        Ok(Box::new(PostgresTx { tx, head: None }))
    }

    async fn audit_events(&self, from_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
        // A start beyond i64 selects nothing, as it would in an unbounded integer space.
        let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
        let rows = sqlx::query!(
            "SELECT seq, at, actor, action, operation, purpose, subject_id, outcome, details,
                    prev_hash, hash
             FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
            from,
            i64::from(limit)
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                let subject = r
                    .subject_id
                    .map(|b| uuid_bytes(b, "audit subject_id").map(SubjectId::from_bytes))
                    .transpose()?;
                Ok(ChainedEvent {
                    seq: seq_from_db(r.seq)?,
                    record: AuditRecord {
                        at_ms: r.at,
                        actor: r.actor,
                        action: r.action,
                        operation: r
                            .operation
                            .map(|op| {
                                Operation::parse(&op)
                                    .ok_or_else(|| corrupt("unknown audit operation"))
                            })
                            .transpose()?,
                        purpose: r.purpose,
                        subject,
                        outcome: Outcome::parse(&r.outcome)
                            .ok_or_else(|| corrupt("unknown audit outcome"))?,
                        details: r.details,
                    },
                    prev_hash: hash_bytes(r.prev_hash, "prev_hash")?,
                    hash: hash_bytes(r.hash, "hash")?,
                })
            })
            .collect()
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar!("SELECT value FROM meta WHERE key = $1", key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn open_request_dues(&self) -> StoreResult<Vec<String>> {
        journal::open_request_dues(&self.pool).await
    }

    async fn incident_statuses(&self, statuses: &[String]) -> StoreResult<Vec<(i64, String)>> {
        incidents::incident_statuses(&self.pool, statuses).await
    }

    async fn counts(&self) -> StoreResult<StoreCounts> {
        let row = sqlx::query!(
            r#"SELECT (SELECT coalesce(max(seq), 0) FROM audit_events) AS "audit_events!",
                      (SELECT count(*) FROM subjects) AS "subjects!",
                      (SELECT count(*) FROM sweep_queue) AS "sweep_backlog!""#
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(StoreCounts {
            audit_events: seq_from_db(row.audit_events)?,
            subjects: u64::try_from(row.subjects)
                .map_err(|_| corrupt("subject count is negative"))?,
            sweep_backlog: u64::try_from(row.sweep_backlog)
                .map_err(|_| corrupt("sweep backlog is negative"))?,
        })
    }

    async fn session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<SessionRow>> {
        access::session(&self.pool, token_hash).await
    }

    async fn user(&self, id: uuid::Uuid) -> StoreResult<Option<UserRow>> {
        access::user(&self.pool, id).await
    }

    async fn api_key(&self, id: uuid::Uuid) -> StoreResult<Option<ApiKeyRow>> {
        access::api_key(&self.pool, id).await
    }

    async fn table_names(&self) -> StoreResult<Vec<String>> {
        backup::table_names(&self.pool).await
    }

    async fn export(
        &self,
        tables: &[&'static TableSpec],
        sink: &mut (dyn FnMut(&'static TableSpec, BackupRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        backup::export(&self.pool, tables, sink).await
    }
}

/// A write transaction holding [`WRITER_LOCK`]. Dropping it drops the sqlx transaction, which
/// sends `ROLLBACK` before the connection serves anyone else; the lock goes with it.
struct PostgresTx {
    tx: sqlx::Transaction<'static, Postgres>,
    /// The chain head as of the last append in this transaction, to avoid re-reading it.
    head: Option<(u64, Hash)>,
}

#[async_trait]
impl Transaction for PostgresTx {
    async fn meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar!("SELECT value FROM meta WHERE key = $1", key)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_subject(&mut self, s: &SubjectRow, k: &WrappedKeyRow) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO subjects (subject_id, kind, created_at) VALUES ($1, $2, $3)",
            &s.id.as_bytes()[..],
            s.kind,
            s.created_at_ms
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        sqlx::query!(
            "INSERT INTO subject_keys (subject_id, wrapped_key, master_key_id, created_at)
             VALUES ($1, $2, $3, $4)",
            &k.subject.as_bytes()[..],
            k.wrapped,
            k.master_key_id,
            k.created_at_ms
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn subject(&mut self, id: SubjectId) -> StoreResult<Option<SubjectRow>> {
        let row = sqlx::query!(
            "SELECT kind, created_at FROM subjects WHERE subject_id = $1",
            &id.as_bytes()[..]
        )
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(row.map(|r| SubjectRow {
            id,
            kind: r.kind,
            created_at_ms: r.created_at,
        }))
    }

    async fn wrapped_key(&mut self, id: SubjectId) -> StoreResult<Option<WrappedKeyRow>> {
        let row = sqlx::query!(
            "SELECT wrapped_key, master_key_id, created_at FROM subject_keys WHERE subject_id = $1",
            &id.as_bytes()[..]
        )
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(row.map(|r| WrappedKeyRow {
            subject: id,
            wrapped: r.wrapped_key,
            master_key_id: r.master_key_id,
            created_at_ms: r.created_at,
        }))
    }

    async fn insert_identifier(&mut self, row: &IdentifierRow) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO subject_identifiers (subject_id, kind, blind, value_ct)
             VALUES ($1, $2, $3, $4)",
            &row.subject.as_bytes()[..],
            row.kind.as_str(),
            &row.blind[..],
            row.value_ct
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn identifiers(&mut self, subject: SubjectId) -> StoreResult<Vec<IdentifierRow>> {
        // COLLATE "C" orders by bytes, as SQLite does, whatever the database's collation.
        let rows = sqlx::query!(
            r#"SELECT kind, blind, value_ct FROM subject_identifiers
               WHERE subject_id = $1
                 AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
               ORDER BY kind COLLATE "C", blind"#,
            &subject.as_bytes()[..]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(IdentifierRow {
                    subject,
                    kind: IdentifierKind::parse(&r.kind)
                        .ok_or_else(|| corrupt("unknown identifier kind"))?,
                    blind: hash_bytes(r.blind, "blind")?,
                    value_ct: r.value_ct,
                })
            })
            .collect()
    }

    async fn find_by_identifier(
        &mut self,
        kind: IdentifierKind,
        blind: &[u8; 32],
    ) -> StoreResult<Vec<SubjectId>> {
        let rows = sqlx::query_scalar!(
            "SELECT i.subject_id FROM subject_identifiers i WHERE i.kind = $1 AND i.blind = $2
               AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = i.subject_id)
             ORDER BY i.subject_id",
            kind.as_str(),
            &blind[..]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|b| Ok(SubjectId::from_bytes(uuid_bytes(b, "subject_id")?)))
            .collect()
    }

    async fn insert_record(&mut self, record: &RecordRow) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO pd_records (subject_id, record_id, category, source, created_at, scope)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &record.subject.as_bytes()[..],
            &record.id.as_bytes()[..],
            record.category,
            record.source,
            record.created_at_ms,
            record.scope
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        for f in &record.fields {
            sqlx::query!(
                "INSERT INTO pd_fields (subject_id, record_id, field, value_ct)
                 VALUES ($1, $2, $3, $4)",
                &record.subject.as_bytes()[..],
                &record.id.as_bytes()[..],
                f.field,
                f.value_ct
            )
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }

    async fn records(
        &mut self,
        subject: SubjectId,
        categories: Option<&[String]>,
    ) -> StoreResult<Vec<RecordRow>> {
        // The category filter runs in the database: a NULL array means no filter, an empty one
        // matches nothing. A record without fields still appears once, with NULL field columns.
        let rows = sqlx::query!(
            r#"SELECT r.record_id, r.category, r.source, r.created_at, r.scope,
                      f.field AS "field?", f.value_ct AS "value_ct?"
               FROM pd_records r
               LEFT JOIN pd_fields f ON f.subject_id = r.subject_id AND f.record_id = r.record_id
               WHERE r.subject_id = $1 AND ($2::text[] IS NULL OR r.category = ANY ($2))
                 AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
               ORDER BY r.created_at, r.record_id, f.field COLLATE "C""#,
            &subject.as_bytes()[..],
            categories as Option<&[String]>
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let mut out: Vec<RecordRow> = Vec::new();
        for r in rows {
            let id = RecordId::from_bytes(uuid_bytes(r.record_id, "record_id")?);
            if out.last().is_none_or(|last| last.id != id) {
                out.push(RecordRow {
                    subject,
                    id,
                    category: r.category,
                    source: r.source,
                    created_at_ms: r.created_at,
                    scope: r.scope,
                    fields: Vec::new(),
                });
            }
            if let (Some(field), Some(last)) = (r.field, out.last_mut()) {
                last.fields.push(FieldRow {
                    field,
                    value_ct: r
                        .value_ct
                        .ok_or_else(|| corrupt("a field without a value"))?,
                });
            }
        }
        Ok(out)
    }

    async fn record_counts(&mut self, subject: SubjectId) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query!(
            r#"SELECT category, count(*) AS "n!" FROM pd_records
               WHERE subject_id = $1
                 AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
               GROUP BY category ORDER BY category COLLATE "C""#,
            &subject.as_bytes()[..]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                let n = u64::try_from(r.n).map_err(|_| corrupt("a negative record count"))?;
                Ok((r.category, n))
            })
            .collect()
    }

    async fn insert_consent(&mut self, c: &ConsentRow) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO consents (subject_id, consent_id, kind, purposes, recipients, channel,
                evidence_ct, representative_ct, document_id, document_version, document_sha256,
                policy_version, given_at, valid_until, withdrawn_at, withdrawal_channel)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &c.subject.as_bytes()[..],
            &c.id.as_bytes()[..],
            c.kind.as_str(),
            &c.purposes[..],
            &c.recipients[..],
            c.channel,
            c.evidence_ct,
            c.representative_ct,
            c.document_id,
            c.document_version,
            c.document_sha256,
            c.policy_version,
            c.given_at_ms,
            c.valid_until,
            c.withdrawal.as_ref().map(|w| w.at_ms),
            c.withdrawal.as_ref().map(|w| w.channel.as_str())
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn consents(&mut self, subject: SubjectId) -> StoreResult<Vec<ConsentRow>> {
        let rows = sqlx::query!(
            "SELECT consent_id, kind, purposes, recipients, channel, evidence_ct,
                    representative_ct, document_id, document_version, document_sha256,
                    policy_version, given_at, valid_until, withdrawn_at, withdrawal_channel
             FROM consents WHERE subject_id = $1
               AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
             ORDER BY given_at, consent_id",
            &subject.as_bytes()[..]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                let withdrawal_channel = r.withdrawal_channel;
                Ok(ConsentRow {
                    subject,
                    id: ConsentId::from_bytes(uuid_bytes(r.consent_id, "consent_id")?),
                    kind: ConsentKind::parse(&r.kind)
                        .ok_or_else(|| corrupt("unknown consent kind"))?,
                    purposes: r.purposes,
                    recipients: r.recipients,
                    channel: r.channel,
                    evidence_ct: r.evidence_ct,
                    representative_ct: r.representative_ct,
                    document_id: r.document_id,
                    document_version: r.document_version,
                    document_sha256: r.document_sha256,
                    policy_version: r.policy_version,
                    given_at_ms: r.given_at,
                    valid_until: r.valid_until,
                    withdrawal: r.withdrawn_at.map(|at_ms| Withdrawal {
                        at_ms,
                        channel: withdrawal_channel.unwrap_or_default(),
                    }),
                })
            })
            .collect()
    }

    async fn withdraw_consent(
        &mut self,
        subject: SubjectId,
        id: ConsentId,
        w: &Withdrawal,
    ) -> StoreResult<bool> {
        let done = sqlx::query!(
            "UPDATE consents SET withdrawn_at = $1, withdrawal_channel = $2
             WHERE subject_id = $3 AND consent_id = $4 AND withdrawn_at IS NULL",
            w.at_ms,
            w.channel,
            &subject.as_bytes()[..],
            &id.as_bytes()[..]
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_contract(&mut self, c: &ContractRow) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO contracts (subject_id, contract_id, reference, concluded_on,
                terminated_on, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &c.subject.as_bytes()[..],
            &c.id.as_bytes()[..],
            c.reference,
            c.concluded_on,
            c.terminated_on,
            c.created_at_ms
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn contracts(&mut self, subject: SubjectId) -> StoreResult<Vec<ContractRow>> {
        let rows = sqlx::query!(
            "SELECT contract_id, reference, concluded_on, terminated_on, created_at
             FROM contracts WHERE subject_id = $1
               AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
             ORDER BY created_at, contract_id",
            &subject.as_bytes()[..]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(ContractRow {
                    subject,
                    id: ContractId::from_bytes(uuid_bytes(r.contract_id, "contract_id")?),
                    reference: r.reference,
                    concluded_on: r.concluded_on,
                    terminated_on: r.terminated_on,
                    created_at_ms: r.created_at,
                })
            })
            .collect()
    }

    async fn terminate_contract(
        &mut self,
        subject: SubjectId,
        id: ContractId,
        on: &str,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query!(
            "UPDATE contracts SET terminated_on = $1, terminated_at = $2
             WHERE subject_id = $3 AND contract_id = $4 AND terminated_on IS NULL",
            on,
            at_ms,
            &subject.as_bytes()[..],
            &id.as_bytes()[..]
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_transfer(&mut self, t: &TransferRow) -> StoreResult<()> {
        transfers::insert_transfer(&mut self.tx, t).await
    }

    async fn transfers(&mut self, subject: SubjectId) -> StoreResult<Vec<TransferRow>> {
        transfers::transfers(&mut self.tx, subject).await
    }

    async fn insert_recipient_withdrawal(
        &mut self,
        w: &RecipientWithdrawalRow,
    ) -> StoreResult<bool> {
        transfers::insert_recipient_withdrawal(&mut self.tx, w).await
    }

    async fn recipient_withdrawals(
        &mut self,
        subject: SubjectId,
    ) -> StoreResult<Vec<RecipientWithdrawalRow>> {
        transfers::recipient_withdrawals(&mut self.tx, subject).await
    }

    async fn insert_block(&mut self, b: &BlockRow) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO blocks (subject_id, block_id, category, reason, placed_at, lifted_at,
                lift_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &b.subject.as_bytes()[..],
            &b.id.as_bytes()[..],
            b.category,
            b.reason,
            b.placed_at_ms,
            b.lifted_at_ms,
            b.lift_reason
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn blocks(&mut self, subject: SubjectId) -> StoreResult<Vec<BlockRow>> {
        let rows = sqlx::query!(
            "SELECT block_id, category, reason, placed_at, lifted_at, lift_reason
             FROM blocks WHERE subject_id = $1
               AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
             ORDER BY placed_at, block_id",
            &subject.as_bytes()[..]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(BlockRow {
                    subject,
                    id: BlockId::from_bytes(uuid_bytes(r.block_id, "block_id")?),
                    category: r.category,
                    reason: r.reason,
                    placed_at_ms: r.placed_at,
                    lifted_at_ms: r.lifted_at,
                    lift_reason: r.lift_reason,
                })
            })
            .collect()
    }

    async fn lift_block(
        &mut self,
        subject: SubjectId,
        id: BlockId,
        at_ms: i64,
        reason: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query!(
            "UPDATE blocks SET lifted_at = $1, lift_reason = $2
             WHERE subject_id = $3 AND block_id = $4 AND lifted_at IS NULL",
            at_ms,
            reason,
            &subject.as_bytes()[..],
            &id.as_bytes()[..]
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn idempotent_response(&mut self, key: &str) -> StoreResult<Option<IdempotentResponse>> {
        let row = sqlx::query!(
            "SELECT request_hash, status, body, created_at FROM idempotency WHERE key = $1",
            key
        )
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(IdempotentResponse {
                request_hash: r.request_hash,
                status: u16::try_from(r.status)
                    .map_err(|_| corrupt("idempotency status out of range"))?,
                body: r.body,
                created_at_ms: r.created_at,
            })
        })
        .transpose()
    }

    async fn save_idempotent_response(
        &mut self,
        key: &str,
        r: &IdempotentResponse,
    ) -> StoreResult<()> {
        sqlx::query!(
            "INSERT INTO idempotency (key, request_hash, status, body, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            key,
            r.request_hash,
            i32::from(r.status),
            r.body,
            r.created_at_ms
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_user(&mut self, user: &UserRow) -> StoreResult<()> {
        access::insert_user(&mut *self.tx, user).await
    }

    async fn user_by_login(&mut self, login: &str) -> StoreResult<Option<UserRow>> {
        access::user_by_login(&mut *self.tx, login).await
    }

    async fn users(&mut self) -> StoreResult<Vec<UserRow>> {
        access::users(&mut *self.tx).await
    }

    async fn update_user(&mut self, user: &UserRow) -> StoreResult<bool> {
        access::update_user(&mut *self.tx, user).await
    }

    async fn insert_session(&mut self, session: &SessionRow) -> StoreResult<()> {
        access::insert_session(&mut *self.tx, session).await
    }

    async fn delete_session(&mut self, token_hash: &[u8; 32]) -> StoreResult<bool> {
        access::delete_session(&mut *self.tx, token_hash).await
    }

    async fn delete_user_sessions(&mut self, user: uuid::Uuid) -> StoreResult<u64> {
        access::delete_user_sessions(&mut *self.tx, user).await
    }

    async fn delete_expired_sessions(&mut self, now_ms: i64) -> StoreResult<u64> {
        access::delete_expired_sessions(&mut *self.tx, now_ms).await
    }

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> StoreResult<()> {
        access::insert_api_key(&mut *self.tx, key).await
    }

    async fn api_keys(&mut self) -> StoreResult<Vec<ApiKeyRow>> {
        access::api_keys(&mut *self.tx).await
    }

    async fn revoke_api_key(&mut self, id: uuid::Uuid, at_ms: i64) -> StoreResult<bool> {
        access::revoke_api_key(&mut *self.tx, id, at_ms).await
    }

    async fn count_rows(&mut self, table: &'static TableSpec) -> StoreResult<u64> {
        backup::count_rows(&mut self.tx, table).await
    }

    async fn clear_table(&mut self, table: &str) -> StoreResult<u64> {
        backup::clear_table(&mut self.tx, table).await
    }

    async fn insert_rows(
        &mut self,
        table: &'static TableSpec,
        rows: &[BackupRow],
        skip_existing: bool,
    ) -> StoreResult<()> {
        backup::insert_rows(&mut self.tx, table, rows, skip_existing).await
    }

    async fn purge_subject(&mut self, subject: SubjectId) -> StoreResult<u64> {
        backup::purge_subject(&mut self.tx, subject).await
    }

    async fn shred_keys(&mut self, subjects: &[SubjectId], at_ms: i64) -> StoreResult<u64> {
        backup::shred_keys(&mut self.tx, subjects, at_ms).await
    }

    async fn sweep_shredded(&mut self, limit: u32) -> StoreResult<SweepOutcome> {
        backup::sweep_shredded(&mut self.tx, limit).await
    }

    async fn insert_tombstone(&mut self, subject: SubjectId, at_ms: i64) -> StoreResult<bool> {
        backup::insert_tombstone(&mut self.tx, subject, at_ms).await
    }

    async fn tombstone(&mut self, subject: SubjectId) -> StoreResult<Option<i64>> {
        backup::tombstone(&mut self.tx, subject).await
    }

    async fn tombstoned_subjects(&mut self) -> StoreResult<Vec<SubjectId>> {
        backup::tombstoned_subjects(&mut self.tx).await
    }

    async fn prune_keys(&mut self) -> StoreResult<u64> {
        backup::prune_keys(&mut self.tx).await
    }

    async fn subjects_without_key(&mut self) -> StoreResult<Vec<SubjectId>> {
        backup::subjects_without_key(&mut self.tx).await
    }

    async fn live_subjects(
        &mut self,
        after: Option<SubjectId>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectId, String)>> {
        destruction::live_subjects(&mut self.tx, after, limit).await
    }

    async fn category_key(
        &mut self,
        subject: SubjectId,
        category: &str,
    ) -> StoreResult<Option<CategoryKeyRow>> {
        destruction::category_key(&mut self.tx, subject, category).await
    }

    async fn insert_category_key(&mut self, key: &CategoryKeyRow) -> StoreResult<()> {
        destruction::insert_category_key(&mut self.tx, key).await
    }

    async fn destroy_category(
        &mut self,
        subject: SubjectId,
        category: &str,
        at_ms: i64,
    ) -> StoreResult<u64> {
        destruction::destroy_category(&mut self.tx, subject, category, at_ms).await
    }

    async fn delete_record(&mut self, subject: SubjectId, record: RecordId) -> StoreResult<u64> {
        destruction::delete_record(&mut self.tx, subject, record).await
    }

    async fn category_tombstones(&mut self, subject: SubjectId) -> StoreResult<Vec<(String, i64)>> {
        destruction::category_tombstones(&mut self.tx, subject).await
    }

    async fn purge_destroyed_categories(&mut self) -> StoreResult<u64> {
        destruction::purge_destroyed_categories(&mut self.tx).await
    }

    async fn next_act_seq(&mut self, year: i16) -> StoreResult<u32> {
        destruction::next_act_seq(&mut self.tx, year).await
    }

    async fn insert_act(&mut self, act: &ActRow) -> StoreResult<()> {
        destruction::insert_act(&mut self.tx, act).await
    }

    async fn insert_act_entry(&mut self, entry: &ActEntryRow) -> StoreResult<()> {
        destruction::insert_act_entry(&mut self.tx, entry).await
    }

    async fn act_entry_count(&mut self, act: uuid::Uuid) -> StoreResult<u32> {
        destruction::act_entry_count(&mut self.tx, act).await
    }

    async fn act(&mut self, id: uuid::Uuid) -> StoreResult<Option<ActRow>> {
        destruction::act_by_id(&mut self.tx, id).await
    }

    async fn act_by_number(&mut self, year: i16, seq: u32) -> StoreResult<Option<ActRow>> {
        destruction::act_by_number(&mut self.tx, year, seq).await
    }

    async fn acts(
        &mut self,
        after: Option<(i16, u32)>,
        limit: u32,
        open_only: bool,
    ) -> StoreResult<Vec<ActRow>> {
        destruction::acts(&mut self.tx, after, limit, open_only).await
    }

    async fn act_entries(&mut self, act: uuid::Uuid) -> StoreResult<Vec<ActEntryRow>> {
        destruction::act_entries(&mut self.tx, act).await
    }

    async fn close_act(
        &mut self,
        act: uuid::Uuid,
        closed_at_ms: i64,
        entries: u32,
        sha256: &str,
        expires_on: &str,
    ) -> StoreResult<bool> {
        destruction::close_act(&mut self.tx, act, closed_at_ms, entries, sha256, expires_on).await
    }

    async fn expiring_acts(&mut self, day: &str) -> StoreResult<Vec<ActRow>> {
        destruction::expiring_acts(&mut self.tx, day).await
    }

    async fn expire_act(&mut self, act: uuid::Uuid, at_ms: i64) -> StoreResult<u64> {
        destruction::expire_act(&mut self.tx, act, at_ms).await
    }

    async fn insert_retained(&mut self, row: &RetainedRow) -> StoreResult<()> {
        retained::insert_retained(&mut self.tx, row).await
    }

    async fn retained(
        &mut self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<RetainedRow>> {
        retained::retained(&mut self.tx, after, limit).await
    }

    async fn next_incident_seq(&mut self, year: i16) -> StoreResult<u32> {
        incidents::next_incident_seq(&mut self.tx, year).await
    }

    async fn insert_incident(&mut self, incident: &IncidentRow) -> StoreResult<()> {
        incidents::insert_incident(&mut self.tx, incident).await
    }

    async fn insert_incident_entry(&mut self, entry: &IncidentEntryRow) -> StoreResult<()> {
        incidents::insert_incident_entry(&mut self.tx, entry).await
    }

    async fn incident_by_number(
        &mut self,
        year: i16,
        seq: u32,
    ) -> StoreResult<Option<IncidentState>> {
        incidents::incident_by_number(&mut self.tx, year, seq).await
    }

    async fn incident_entries(&mut self, id: uuid::Uuid) -> StoreResult<Vec<IncidentEntryRow>> {
        incidents::incident_entries(&mut self.tx, id).await
    }

    async fn incidents(
        &mut self,
        after: Option<(i16, u32)>,
        limit: u32,
        statuses: &[String],
    ) -> StoreResult<Vec<IncidentState>> {
        incidents::incidents(&mut self.tx, after, limit, statuses).await
    }

    async fn next_request_seq(&mut self, year: i16) -> StoreResult<u32> {
        journal::next_request_seq(&mut self.tx, year).await
    }

    async fn insert_request(&mut self, request: &RequestRow) -> StoreResult<()> {
        journal::insert_request(&mut self.tx, request).await
    }

    async fn insert_request_entry(&mut self, entry: &RequestEntryRow) -> StoreResult<()> {
        journal::insert_request_entry(&mut self.tx, entry).await
    }

    async fn request(&mut self, id: uuid::Uuid) -> StoreResult<Option<RequestState>> {
        journal::request(&mut self.tx, id).await
    }

    async fn request_by_number(
        &mut self,
        year: i16,
        seq: u32,
    ) -> StoreResult<Option<RequestState>> {
        journal::request_by_number(&mut self.tx, year, seq).await
    }

    async fn request_entries(&mut self, id: uuid::Uuid) -> StoreResult<Vec<RequestEntryRow>> {
        journal::request_entries(&mut self.tx, id).await
    }

    async fn requests(&mut self, query: &RequestQuery) -> StoreResult<Vec<RequestState>> {
        journal::requests(&mut self.tx, query).await
    }

    async fn insert_message(&mut self, message: &OutboxRow) -> StoreResult<()> {
        journal::insert_message(&mut self.tx, message).await
    }

    async fn messages(
        &mut self,
        status: &str,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        journal::messages(&mut self.tx, status, after, limit).await
    }

    async fn message(&mut self, id: uuid::Uuid) -> StoreResult<Option<OutboxRow>> {
        journal::message_by_id(&mut self.tx, id).await
    }

    async fn set_message_status(
        &mut self,
        id: uuid::Uuid,
        status: &str,
        at_ms: i64,
        note: Option<&str>,
    ) -> StoreResult<bool> {
        journal::set_message_status(&mut self.tx, id, status, at_ms, note).await
    }

    async fn set_field(
        &mut self,
        subject: SubjectId,
        record: RecordId,
        field: &str,
        value_ct: &[u8],
    ) -> StoreResult<Option<Vec<u8>>> {
        journal::set_field(&mut self.tx, subject, record, field, value_ct).await
    }

    async fn insert_anchor(&mut self, anchor: &AnchorRow) -> StoreResult<()> {
        journal::insert_anchor(&mut self.tx, anchor).await
    }

    async fn anchors(&mut self, subject: SubjectId) -> StoreResult<Vec<AnchorRow>> {
        journal::anchors(&mut self.tx, subject).await
    }

    async fn append_audit(&mut self, record: AuditRecord) -> StoreResult<ChainedEvent> {
        let head = match self.head {
            Some(head) => Some(head),
            None => {
                let row =
                    sqlx::query!("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                match row {
                    Some(r) => Some((seq_from_db(r.seq)?, hash_bytes(r.hash, "hash")?)),
                    None => None,
                }
            }
        };
        let event = audit::chain(record, head);
        sqlx::query!(
            "INSERT INTO audit_events (seq, at, actor, action, operation, purpose, subject_id,
                outcome, details, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            seq_to_db(event.seq)?,
            event.record.at_ms,
            event.record.actor,
            event.record.action,
            event.record.operation.map(Operation::as_str),
            event.record.purpose,
            event.record.subject.as_ref().map(|s| &s.as_bytes()[..]),
            event.record.outcome.as_str(),
            event.record.details,
            &event.prev_hash[..],
            &event.hash[..]
        )
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.head = Some((event.seq, event.hash));
        Ok(event)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    /// The error PostgreSQL sends for a statement that raises `sqlstate`, to check the mapping
    /// against real driver errors rather than hand-made ones.
    async fn raised(db: &TestDatabase, sqlstate: &str) -> StoreError {
        // Test-only SQL with a constant code from this file: the DO block cannot take parameters.
        let sql = format!(
            "DO $$ BEGIN RAISE EXCEPTION 'raised by a test' USING ERRCODE = '{sqlstate}'; END $$"
        );
        let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .expect_err("the DO block raises");
        map_err(e)
    }

    #[tokio::test]
    async fn sqlstates_map_onto_store_errors() {
        let Some(db) = TestDatabase::create().await else {
            return;
        };
        for code in ["40001", "40P01", "55P03", "53300", "57P03"] {
            let e = raised(&db, code).await;
            assert!(
                matches!(e, StoreError::Retryable(_)),
                "{code} must be Retryable, got {e:?}"
            );
        }
        let e = raised(&db, "23505").await;
        assert!(matches!(e, StoreError::Conflict(_)), "got {e:?}");
        for code in ["08006", "57P01"] {
            match raised(&db, code).await {
                StoreError::Backend(m) => assert!(m.contains("lost the connection"), "{m}"),
                e => panic!("{code} must be Backend, got {e:?}"),
            }
        }
        match raised(&db, "22012").await {
            StoreError::Backend(m) => assert!(m.contains("22012"), "the code is kept: {m}"),
            e => panic!("division_by_zero must be Backend, got {e:?}"),
        }
    }

    #[test]
    fn pool_exhaustion_is_a_backend_error_that_says_so() {
        match map_err(sqlx::Error::PoolTimedOut) {
            StoreError::Backend(m) => assert!(m.contains("no PostgreSQL connection"), "{m}"),
            e => panic!("got {e:?}"),
        }
    }

    #[test]
    fn url_settings_win_over_defaults() {
        let o = connect_options("postgres://u@h/db").unwrap();
        assert_eq!(o.get_application_name(), Some("pdvault"));
        assert!(o.get_options().is_some_and(|o| o.contains("lock_timeout")));
        let o = connect_options(
            "postgres://u@h/db?application_name=ops&options=-c%20lock_timeout%3D1s",
        )
        .unwrap();
        assert_eq!(o.get_application_name(), Some("ops"));
        assert_eq!(o.get_options(), Some("-c lock_timeout=1s"));
    }

    #[test]
    fn a_bad_url_is_reported_without_panicking() {
        assert!(matches!(
            connect_options("postgres://h:notaport/db"),
            Err(StoreError::Backend(_))
        ));
    }
}
