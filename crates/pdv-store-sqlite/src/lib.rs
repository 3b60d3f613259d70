//! The embedded SQLite backend: pdvault's default store, one file next to the binary.
//!
//! It implements the storage ports of `pdv-store` with sqlx. Write transactions begin with
//! `BEGIN IMMEDIATE` so that two writers never deadlock on a lock upgrade; the database runs in
//! WAL mode with `synchronous = NORMAL`, which keeps commits durable against process crashes
//! without an fsync per commit. `secure_delete` is on: SQLite overwrites deleted content with
//! zeros, so a destroyed key does not linger in the file's free pages (crypto-shredding relies on
//! the key being gone, not merely unlinked). Migrations are embedded in the binary.
//!
//! Writers of one process queue in order on an in-process lock before `BEGIN IMMEDIATE`. SQLite's
//! own busy handler, which is all that orders writers of different processes, sleeps and polls
//! (1, 2, 5, 10… ms): a command arriving while a background sweep commits batch after batch would
//! sleep through the gaps between them and wait many times longer than one batch. In the queue it
//! waits for at most the transaction in front of it and is woken the moment that one ends.
//!
//! For the same reason the WAL is not checkpointed by the committing writer (SQLite's automatic
//! checkpoint runs inside `COMMIT`, copying pages and syncing the file while the writer lock is
//! held, which made every tenth command wait ten milliseconds during a purge): a commit at least
//! [`CHECKPOINT_EVERY`] after the last checkpoint starts a passive one in a task of its own, on a
//! connection outside the queue, and writers carry on meanwhile.

mod access;
mod backup;
mod destruction;
mod incidents;
mod journal;
mod retained;
mod transfers;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdv_core::audit::{self, AuditRecord, ChainedEvent, Hash, Outcome};
use pdv_core::consent::ConsentKind;
use pdv_core::identifier::IdentifierKind;
use pdv_core::{BlockId, ConsentId, ContractId, Operation, RecordId, SubjectId};
use pdv_store::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The schema versions this binary carries, for comparison with other backends.
pub fn migration_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

/// How long a writer waits for the writer lock before its command is answered as busy: the same
/// as SQLite's busy timeout for writers of other processes.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the WAL is checkpointed while commits come in: often enough that it stays a few
/// megabytes under any load this store sees, rarely enough that the checkpoint's sync is noise.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The queue of this process's writers (FIFO: tokio's mutex is fair).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// `None` for an in-memory database, which has no WAL.
    checkpointer: Option<Arc<Checkpointer>>,
}

/// Starts passive WAL checkpoints after commits, one at a time, outside the writer queue.
#[derive(Debug)]
struct Checkpointer {
    pool: SqlitePool,
    running: AtomicBool,
    last: std::sync::Mutex<Instant>,
}

impl Checkpointer {
    fn after_commit(self: &Arc<Self>) {
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < CHECKPOINT_EVERY || self.running.swap(true, Ordering::AcqRel) {
                return;
            }
            *last = Instant::now();
        }
        let this = self.clone();
        tokio::spawn(async move {
            // PASSIVE copies what no reader still needs and never waits for anyone; what it
            // leaves, the next one copies.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&this.pool)
                .await
            {
                tracing::warn!(error = %e, "SQLite WAL checkpoint failed; retrying after the next commit");
            }
            this.running.store(false, Ordering::Release);
        });
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or `sqlite::memory:`)
    /// and applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .pragma("secure_delete", "ON")
            // Checkpoints are started by the store itself, off the writer's path (see above).
            .pragma("wal_autocheckpoint", "0")
            // The sweep's scratch table lives in memory.
            .pragma("temp_store", "MEMORY")
            .busy_timeout(BUSY_TIMEOUT);
        // An in-memory database exists per connection, so it must be served by exactly one.
        let max = if url.contains(":memory:") { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query(backup::CREATE_SWEEP_BATCH)
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Backend(format!("cannot open SQLite database {url:?}: {e}"))
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let checkpointer = (!url.contains(":memory:")).then(|| {
            Arc::new(Checkpointer {
                pool: pool.clone(),
                running: AtomicBool::new(false),
                last: std::sync::Mutex::new(Instant::now()),
            })
        });
        Ok(SqliteStore {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
            checkpointer,
        })
    }

    /// A raw connection pool, for tests that must tamper with stored rows.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn map_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_string());
        }
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
        if let Some(code) = db.code()
            && let Ok(n) = code.parse::<i32>()
            && matches!(n & 0xff, 5 | 6)
        {
            return StoreError::Retryable(db.message().to_string());
        }
    }
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn uuid_bytes(row: &SqliteRow, column: &str) -> StoreResult<[u8; 16]> {
    let bytes: Vec<u8> = row.try_get(column).map_err(map_err)?;
    bytes
        .try_into()
        .map_err(|_| corrupt(&format!("{column} is not 16 bytes")))
}

fn hash_bytes(row: &SqliteRow, column: &str) -> StoreResult<Hash> {
    let bytes: Vec<u8> = row.try_get(column).map_err(map_err)?;
    bytes
        .try_into()
        .map_err(|_| corrupt(&format!("{column} is not 32 bytes")))
}

fn json_list(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|_| corrupt("a list column is not a JSON array of strings"))
}

fn event_from_row(row: &SqliteRow) -> StoreResult<ChainedEvent> {
    let operation: Option<String> = row.try_get("operation").map_err(map_err)?;
    let outcome: String = row.try_get("outcome").map_err(map_err)?;
    let subject: Option<Vec<u8>> = row.try_get("subject_id").map_err(map_err)?;
    let subject = match subject {
        Some(b) => Some(SubjectId::from_bytes(
            b.try_into()
                .map_err(|_| corrupt("audit subject_id is not 16 bytes"))?,
        )),
        None => None,
    };
    let seq: i64 = row.try_get("seq").map_err(map_err)?;
    Ok(ChainedEvent {
        seq: seq as u64,
        record: AuditRecord {
            at_ms: row.try_get("at").map_err(map_err)?,
            actor: row.try_get("actor").map_err(map_err)?,
            action: row.try_get("action").map_err(map_err)?,
            operation: match operation {
                None => None,
                Some(op) => {
                    Some(Operation::parse(&op).ok_or_else(|| corrupt("unknown audit operation"))?)
                }
            },
            purpose: row.try_get("purpose").map_err(map_err)?,
            subject,
            outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt("unknown audit outcome"))?,
            details: row.try_get("details").map_err(map_err)?,
        },
        prev_hash: hash_bytes(row, "prev_hash")?,
        hash: hash_bytes(row, "hash")?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn begin(&self) -> StoreResult<Box<dyn Transaction>> {
        let turn = tokio::time::timeout(BUSY_TIMEOUT, self.writer.clone().lock_owned())
            .await
            .map_err(|_| {
                StoreError::Retryable(format!(
                    "another command of this process held the writer for {} s",
                    BUSY_TIMEOUT.as_secs()
                ))
            })?;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        Ok(Box::new(SqliteTx {
            tx,
            head: None,
            turn,
            checkpointer: self.checkpointer.clone(),
        }))
    }

    async fn audit_events(&self, from_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?")
            .bind(from_seq as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
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
        let row = sqlx::query(
            "SELECT (SELECT coalesce(max(seq), 0) FROM audit_events) AS audit_events,
                    (SELECT count(*) FROM subjects) AS subjects,
                    (SELECT count(*) FROM sweep_queue) AS sweep_backlog",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let count = |column: &str| -> StoreResult<u64> {
            let n: i64 = row.try_get(column).map_err(map_err)?;
            u64::try_from(n).map_err(|_| corrupt(&format!("{column} count is negative")))
        };
        Ok(StoreCounts {
            audit_events: count("audit_events")?,
            subjects: count("subjects")?,
            sweep_backlog: count("sweep_backlog")?,
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

struct SqliteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
    /// The chain head as of the last append in this transaction, to avoid re-reading it.
    head: Option<(u64, Hash)>,
    /// This transaction's turn in the writer queue, given up when it ends. Declared after `tx`
    /// so that a dropped transaction's rollback is queued on its connection before the next
    /// writer goes.
    turn: tokio::sync::OwnedMutexGuard<()>,
    checkpointer: Option<Arc<Checkpointer>>,
}

#[async_trait]
impl Transaction for SqliteTx {
    async fn meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_subject(&mut self, s: &SubjectRow, k: &WrappedKeyRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO subjects (subject_id, kind, created_at) VALUES (?, ?, ?)")
            .bind(&s.id.as_bytes()[..])
            .bind(&s.kind)
            .bind(s.created_at_ms)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("INSERT INTO subject_keys (subject_id, wrapped_key, master_key_id, created_at) VALUES (?, ?, ?, ?)")
            .bind(&k.subject.as_bytes()[..])
            .bind(&k.wrapped)
            .bind(&k.master_key_id)
            .bind(k.created_at_ms)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn subject(&mut self, id: SubjectId) -> StoreResult<Option<SubjectRow>> {
        let row = sqlx::query("SELECT kind, created_at FROM subjects WHERE subject_id = ?")
            .bind(&id.as_bytes()[..])
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(SubjectRow {
                id,
                kind: r.try_get("kind").map_err(map_err)?,
                created_at_ms: r.try_get("created_at").map_err(map_err)?,
            })
        })
        .transpose()
    }

    async fn wrapped_key(&mut self, id: SubjectId) -> StoreResult<Option<WrappedKeyRow>> {
        let row = sqlx::query(
            "SELECT wrapped_key, master_key_id, created_at FROM subject_keys WHERE subject_id = ?",
        )
        .bind(&id.as_bytes()[..])
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(WrappedKeyRow {
                subject: id,
                wrapped: r.try_get("wrapped_key").map_err(map_err)?,
                master_key_id: r.try_get("master_key_id").map_err(map_err)?,
                created_at_ms: r.try_get("created_at").map_err(map_err)?,
            })
        })
        .transpose()
    }

    async fn insert_identifier(&mut self, row: &IdentifierRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO subject_identifiers (subject_id, kind, blind, value_ct) VALUES (?, ?, ?, ?)")
            .bind(&row.subject.as_bytes()[..])
            .bind(row.kind.as_str())
            .bind(&row.blind[..])
            .bind(&row.value_ct)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn identifiers(&mut self, subject: SubjectId) -> StoreResult<Vec<IdentifierRow>> {
        let rows = sqlx::query("SELECT kind, blind, value_ct FROM subject_identifiers
             WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
             ORDER BY kind")
            .bind(&subject.as_bytes()[..])
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind").map_err(map_err)?;
                Ok(IdentifierRow {
                    subject,
                    kind: IdentifierKind::parse(&kind)
                        .ok_or_else(|| corrupt("unknown identifier kind"))?,
                    blind: hash_bytes(r, "blind")?,
                    value_ct: r.try_get("value_ct").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn find_by_identifier(
        &mut self,
        kind: IdentifierKind,
        blind: &[u8; 32],
    ) -> StoreResult<Vec<SubjectId>> {
        let rows = sqlx::query(
            "SELECT i.subject_id FROM subject_identifiers i WHERE i.kind = ? AND i.blind = ?
             AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = i.subject_id)
             ORDER BY i.subject_id",
        )
        .bind(kind.as_str())
        .bind(&blind[..])
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok(SubjectId::from_bytes(uuid_bytes(r, "subject_id")?)))
            .collect()
    }

    async fn insert_record(&mut self, record: &RecordRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO pd_records (subject_id, record_id, category, source, created_at, scope) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&record.subject.as_bytes()[..])
            .bind(&record.id.as_bytes()[..])
            .bind(&record.category)
            .bind(&record.source)
            .bind(record.created_at_ms)
            .bind(&record.scope)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for f in &record.fields {
            sqlx::query("INSERT INTO pd_fields (subject_id, record_id, field, value_ct) VALUES (?, ?, ?, ?)")
                .bind(&record.subject.as_bytes()[..])
                .bind(&record.id.as_bytes()[..])
                .bind(&f.field)
                .bind(&f.value_ct)
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
        let rows = sqlx::query(
            "SELECT r.record_id, r.category, r.source, r.created_at, r.scope, f.field, f.value_ct
             FROM pd_records r LEFT JOIN pd_fields f ON f.subject_id = r.subject_id AND f.record_id = r.record_id
             WHERE r.subject_id = ?1
               AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
             ORDER BY r.created_at, r.record_id, f.field",
        )
        .bind(&subject.as_bytes()[..])
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let mut out: Vec<RecordRow> = Vec::new();
        for r in &rows {
            let id = RecordId::from_bytes(uuid_bytes(r, "record_id")?);
            let category: String = r.try_get("category").map_err(map_err)?;
            if categories.is_some_and(|wanted| !wanted.contains(&category)) {
                continue;
            }
            if out.last().is_none_or(|last| last.id != id) {
                out.push(RecordRow {
                    subject,
                    id,
                    category,
                    source: r.try_get("source").map_err(map_err)?,
                    created_at_ms: r.try_get("created_at").map_err(map_err)?,
                    scope: r.try_get("scope").map_err(map_err)?,
                    fields: Vec::new(),
                });
            }
            let field: Option<String> = r.try_get("field").map_err(map_err)?;
            if let (Some(field), Some(last)) = (field, out.last_mut()) {
                last.fields.push(FieldRow {
                    field,
                    value_ct: r.try_get("value_ct").map_err(map_err)?,
                });
            }
        }
        Ok(out)
    }

    async fn record_counts(&mut self, subject: SubjectId) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query("SELECT category, count(*) AS n FROM pd_records
             WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
             GROUP BY category ORDER BY category")
            .bind(&subject.as_bytes()[..])
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n").map_err(map_err)?;
                Ok((r.try_get("category").map_err(map_err)?, n as u64))
            })
            .collect()
    }

    async fn insert_consent(&mut self, c: &ConsentRow) -> StoreResult<()> {
        let purposes =
            serde_json::to_string(&c.purposes).map_err(|e| StoreError::Backend(e.to_string()))?;
        let recipients =
            serde_json::to_string(&c.recipients).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query(
            "INSERT INTO consents (subject_id, consent_id, kind, purposes, recipients, channel, evidence_ct,
                representative_ct, document_id, document_version, document_sha256, policy_version, given_at,
                valid_until, withdrawn_at, withdrawal_channel)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.subject.as_bytes()[..])
        .bind(&c.id.as_bytes()[..])
        .bind(c.kind.as_str())
        .bind(purposes)
        .bind(recipients)
        .bind(&c.channel)
        .bind(&c.evidence_ct)
        .bind(&c.representative_ct)
        .bind(&c.document_id)
        .bind(&c.document_version)
        .bind(&c.document_sha256)
        .bind(&c.policy_version)
        .bind(c.given_at_ms)
        .bind(&c.valid_until)
        .bind(c.withdrawal.as_ref().map(|w| w.at_ms))
        .bind(c.withdrawal.as_ref().map(|w| w.channel.clone()))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn consents(&mut self, subject: SubjectId) -> StoreResult<Vec<ConsentRow>> {
        let rows = sqlx::query(
            "SELECT * FROM consents
             WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
             ORDER BY given_at, consent_id",
        )
        .bind(&subject.as_bytes()[..])
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind").map_err(map_err)?;
                let purposes: String = r.try_get("purposes").map_err(map_err)?;
                let recipients: String = r.try_get("recipients").map_err(map_err)?;
                let withdrawn_at: Option<i64> = r.try_get("withdrawn_at").map_err(map_err)?;
                let withdrawal_channel: Option<String> =
                    r.try_get("withdrawal_channel").map_err(map_err)?;
                Ok(ConsentRow {
                    subject,
                    id: ConsentId::from_bytes(uuid_bytes(r, "consent_id")?),
                    kind: ConsentKind::parse(&kind)
                        .ok_or_else(|| corrupt("unknown consent kind"))?,
                    purposes: json_list(&purposes)?,
                    recipients: json_list(&recipients)?,
                    channel: r.try_get("channel").map_err(map_err)?,
                    evidence_ct: r.try_get("evidence_ct").map_err(map_err)?,
                    representative_ct: r.try_get("representative_ct").map_err(map_err)?,
                    document_id: r.try_get("document_id").map_err(map_err)?,
                    document_version: r.try_get("document_version").map_err(map_err)?,
                    document_sha256: r.try_get("document_sha256").map_err(map_err)?,
                    policy_version: r.try_get("policy_version").map_err(map_err)?,
                    given_at_ms: r.try_get("given_at").map_err(map_err)?,
                    valid_until: r.try_get("valid_until").map_err(map_err)?,
                    withdrawal: withdrawn_at.map(|at_ms| Withdrawal {
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
        let done = sqlx::query(
            "UPDATE consents SET withdrawn_at = ?, withdrawal_channel = ?
             WHERE subject_id = ? AND consent_id = ? AND withdrawn_at IS NULL",
        )
        .bind(w.at_ms)
        .bind(&w.channel)
        .bind(&subject.as_bytes()[..])
        .bind(&id.as_bytes()[..])
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_contract(&mut self, c: &ContractRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO contracts (subject_id, contract_id, reference, concluded_on, terminated_on, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.subject.as_bytes()[..])
        .bind(&c.id.as_bytes()[..])
        .bind(&c.reference)
        .bind(&c.concluded_on)
        .bind(&c.terminated_on)
        .bind(c.created_at_ms)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn contracts(&mut self, subject: SubjectId) -> StoreResult<Vec<ContractRow>> {
        let rows = sqlx::query(
            "SELECT * FROM contracts
             WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
             ORDER BY created_at, contract_id",
        )
        .bind(&subject.as_bytes()[..])
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(ContractRow {
                    subject,
                    id: ContractId::from_bytes(uuid_bytes(r, "contract_id")?),
                    reference: r.try_get("reference").map_err(map_err)?,
                    concluded_on: r.try_get("concluded_on").map_err(map_err)?,
                    terminated_on: r.try_get("terminated_on").map_err(map_err)?,
                    created_at_ms: r.try_get("created_at").map_err(map_err)?,
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
        let done = sqlx::query(
            "UPDATE contracts SET terminated_on = ?, terminated_at = ?
             WHERE subject_id = ? AND contract_id = ? AND terminated_on IS NULL",
        )
        .bind(on)
        .bind(at_ms)
        .bind(&subject.as_bytes()[..])
        .bind(&id.as_bytes()[..])
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
        sqlx::query(
            "INSERT INTO blocks (subject_id, block_id, category, reason, placed_at, lifted_at, lift_reason)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&b.subject.as_bytes()[..])
        .bind(&b.id.as_bytes()[..])
        .bind(&b.category)
        .bind(&b.reason)
        .bind(b.placed_at_ms)
        .bind(b.lifted_at_ms)
        .bind(&b.lift_reason)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn blocks(&mut self, subject: SubjectId) -> StoreResult<Vec<BlockRow>> {
        let rows =
            sqlx::query("SELECT * FROM blocks
             WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
             ORDER BY placed_at, block_id")
                .bind(&subject.as_bytes()[..])
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(BlockRow {
                    subject,
                    id: BlockId::from_bytes(uuid_bytes(r, "block_id")?),
                    category: r.try_get("category").map_err(map_err)?,
                    reason: r.try_get("reason").map_err(map_err)?,
                    placed_at_ms: r.try_get("placed_at").map_err(map_err)?,
                    lifted_at_ms: r.try_get("lifted_at").map_err(map_err)?,
                    lift_reason: r.try_get("lift_reason").map_err(map_err)?,
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
        let done = sqlx::query(
            "UPDATE blocks SET lifted_at = ?, lift_reason = ?
             WHERE subject_id = ? AND block_id = ? AND lifted_at IS NULL",
        )
        .bind(at_ms)
        .bind(reason)
        .bind(&subject.as_bytes()[..])
        .bind(&id.as_bytes()[..])
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn idempotent_response(&mut self, key: &str) -> StoreResult<Option<IdempotentResponse>> {
        let row = sqlx::query(
            "SELECT request_hash, status, body, created_at FROM idempotency WHERE key = ?",
        )
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            let status: i64 = r.try_get("status").map_err(map_err)?;
            Ok(IdempotentResponse {
                request_hash: r.try_get("request_hash").map_err(map_err)?,
                status: u16::try_from(status)
                    .map_err(|_| corrupt("idempotency status out of range"))?,
                body: r.try_get("body").map_err(map_err)?,
                created_at_ms: r.try_get("created_at").map_err(map_err)?,
            })
        })
        .transpose()
    }

    async fn save_idempotent_response(
        &mut self,
        key: &str,
        r: &IdempotentResponse,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO idempotency (key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(key)
            .bind(&r.request_hash)
            .bind(i64::from(r.status))
            .bind(&r.body)
            .bind(r.created_at_ms)
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
                    sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                match row {
                    Some(r) => {
                        let seq: i64 = r.try_get("seq").map_err(map_err)?;
                        Some((seq as u64, hash_bytes(&r, "hash")?))
                    }
                    None => None,
                }
            }
        };
        let event = audit::chain(record, head);
        sqlx::query(
            "INSERT INTO audit_events (seq, at, actor, action, operation, purpose, subject_id, outcome, details, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.seq as i64)
        .bind(event.record.at_ms)
        .bind(&event.record.actor)
        .bind(&event.record.action)
        .bind(event.record.operation.map(Operation::as_str))
        .bind(&event.record.purpose)
        .bind(event.record.subject.map(|s| s.as_bytes().to_vec()))
        .bind(event.record.outcome.as_str())
        .bind(&event.record.details)
        .bind(&event.prev_hash[..])
        .bind(&event.hash[..])
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.head = Some((event.seq, event.hash));
        Ok(event)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let SqliteTx {
            tx,
            turn,
            checkpointer,
            ..
        } = *self;
        tx.commit().await.map_err(map_err)?;
        drop(turn);
        if let Some(c) = checkpointer {
            c.after_commit();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a file of its own temporary directory, removed when the fixture drops. A file
    /// (not `:memory:`) so that the pool has several connections, as in production.
    struct Fixture {
        store: SqliteStore,
        _dir: tempfile::TempDir,
    }

    impl std::ops::Deref for Fixture {
        type Target = SqliteStore;
        fn deref(&self) -> &SqliteStore {
            &self.store
        }
    }

    async fn fresh() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        Fixture {
            store: SqliteStore::open(&url).await.expect("SQLite opens"),
            _dir: dir,
        }
    }

    pdv_store::conformance_tests!(fresh);

    #[tokio::test]
    async fn file_database_persists_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        {
            let store = SqliteStore::open(&url).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            tx.set_meta("k", "v").await.unwrap();
            tx.commit().await.unwrap();
        }
        let store = SqliteStore::open(&url).await.unwrap();
        assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn migrations_are_numbered_from_one() {
        assert_eq!(migration_versions().first(), Some(&1));
    }
}
