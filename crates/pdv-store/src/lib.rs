//! Storage ports: the traits a database backend implements for pdvault, the rows they exchange,
//! one error type, and a conformance kit that every backend runs.
//!
//! The ports speak in ciphertext: personal data arrives here already encrypted by the service and
//! leaves still encrypted, with blind indexes for lookups. A backend never sees plaintext or keys.
//! Every change goes through a [`Transaction`], which also appends the audit events, so a change
//! and its audit record commit together or not at all.

pub mod backup;
pub mod conformance;
mod rows;

pub use backup::{BackupRow, TableSpec, Value};
pub use rows::*;

use async_trait::async_trait;
use pdv_core::audit::{AuditRecord, ChainedEvent};
use pdv_core::identifier::IdentifierKind;
use pdv_core::{BlockId, ConsentId, ContractId, RecordId, SubjectId};

pub type StoreResult<T> = Result<T, StoreError>;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (e.g. a reused idempotency key or id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy or a serialisation conflict occurred; the whole transaction may be retried.
    #[error("the database is busy, retry: {0}")]
    Retryable(String),
    /// The stored data is not what this version of pdvault wrote.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Migrations could not be applied or the schema is newer than this binary.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other failure of the backend (connection lost, disk full…).
    #[error("database error: {0}")]
    Backend(String),
}

/// What one [`Transaction::sweep_shredded`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepOutcome {
    /// Subjects taken off the sweep queue.
    pub subjects: u64,
    /// Their rows deleted.
    pub rows: u64,
}

/// How much a store holds, as [`Store::counts`] reads it for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreCounts {
    /// Events in the audit log. Read as the newest event's `seq`, one lookup in the primary key
    /// rather than a scan: the chain starts at 1 and has no gaps (the verifier enforces both).
    pub audit_events: u64,
    /// Data subjects held. A `count(*)`: exact, and linear in the number of subjects, which is
    /// fine for a scrape every few tens of seconds.
    pub subjects: u64,
    /// Subjects whose keys were shredded and whose leftover rows wait for the sweep.
    pub sweep_backlog: u64,
}

/// A database holding pdvault's data.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// A short name for logs and diagnostics: `sqlite`, `postgres`.
    fn backend(&self) -> &'static str;

    /// Starts a read-write transaction. Writers are serialised by the backend.
    async fn begin(&self) -> StoreResult<Box<dyn Transaction>>;

    /// Reads audit events with `seq >= from_seq`, in order, at most `limit` of them.
    async fn audit_events(&self, from_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>>;

    /// A value of the store's metadata, outside any transaction.
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;

    /// How much the store holds, for monitoring: read outside any write transaction, so that a
    /// metrics scrape never waits for the writer lock or holds up a command.
    async fn counts(&self) -> StoreResult<StoreCounts>;

    /// The current due date (`YYYY-MM-DD` or RFC 3339) of every open request of the journal, read
    /// outside any write transaction: for monitoring, which must not wait for the writer.
    async fn open_request_dues(&self) -> StoreResult<Vec<String>>;

    /// The detection time (Unix ms) and last status of every incident of the register whose last
    /// status is one of `statuses`, read outside any write transaction: for monitoring.
    async fn incident_statuses(&self, statuses: &[String]) -> StoreResult<Vec<(i64, String)>>;

    // Authentication runs on every request, so its lookups are plain reads outside a write
    // transaction; all changes to accounts, sessions and keys go through a `Transaction`.

    /// The session whose token has this SHA-256, expired or not.
    async fn session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<SessionRow>>;
    async fn user(&self, id: uuid::Uuid) -> StoreResult<Option<UserRow>>;
    async fn api_key(&self, id: uuid::Uuid) -> StoreResult<Option<ApiKeyRow>>;

    /// The names of the schema's tables, without the migration bookkeeping; for the check that
    /// every table is either backed up or left out on purpose.
    async fn table_names(&self) -> StoreResult<Vec<String>>;

    /// Reads `tables` from one consistent snapshot, each table's rows in primary-key order, and
    /// hands every row to `sink`. Writers are not blocked while it runs. An error from `sink`
    /// stops the export and is returned.
    async fn export(
        &self,
        tables: &[&'static TableSpec],
        sink: &mut (dyn FnMut(&'static TableSpec, BackupRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()>;
}

/// One transaction. Dropping it without [`Transaction::commit`] rolls everything back.
///
/// The reads of a subject's rows (identifiers and lookups by them, records and their counts,
/// consents, contracts, blocks, anchors, category keys and tombstones) return nothing for a subject with a
/// key tombstone: between [`Transaction::shred_keys`] and the sweep its rows are still there, but
/// must look gone, exactly as after the sweep.
#[async_trait]
pub trait Transaction: Send {
    async fn meta(&mut self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()>;

    async fn insert_subject(
        &mut self,
        subject: &SubjectRow,
        wrapped_key: &WrappedKeyRow,
    ) -> StoreResult<()>;
    async fn subject(&mut self, id: SubjectId) -> StoreResult<Option<SubjectRow>>;
    async fn wrapped_key(&mut self, id: SubjectId) -> StoreResult<Option<WrappedKeyRow>>;

    async fn insert_identifier(&mut self, row: &IdentifierRow) -> StoreResult<()>;
    async fn identifiers(&mut self, subject: SubjectId) -> StoreResult<Vec<IdentifierRow>>;
    async fn find_by_identifier(
        &mut self,
        kind: IdentifierKind,
        blind: &[u8; 32],
    ) -> StoreResult<Vec<SubjectId>>;

    async fn insert_record(&mut self, record: &RecordRow) -> StoreResult<()>;
    /// The subject's records, optionally only of the given categories, oldest first.
    async fn records(
        &mut self,
        subject: SubjectId,
        categories: Option<&[String]>,
    ) -> StoreResult<Vec<RecordRow>>;
    /// Sets one field of an existing record to new ciphertext (rectification) and returns the
    /// ciphertext it replaced, `None` when the field was not there; the record must exist.
    async fn set_field(
        &mut self,
        subject: SubjectId,
        record: RecordId,
        field: &str,
        value_ct: &[u8],
    ) -> StoreResult<Option<Vec<u8>>>;
    /// How many records the subject has per category.
    async fn record_counts(&mut self, subject: SubjectId) -> StoreResult<Vec<(String, u64)>>;

    async fn insert_consent(&mut self, consent: &ConsentRow) -> StoreResult<()>;
    async fn consents(&mut self, subject: SubjectId) -> StoreResult<Vec<ConsentRow>>;
    /// Marks a consent withdrawn; returns false when it does not exist or was already withdrawn.
    async fn withdraw_consent(
        &mut self,
        subject: SubjectId,
        id: ConsentId,
        withdrawal: &Withdrawal,
    ) -> StoreResult<bool>;

    async fn insert_contract(&mut self, contract: &ContractRow) -> StoreResult<()>;
    async fn contracts(&mut self, subject: SubjectId) -> StoreResult<Vec<ContractRow>>;
    /// Records the end of a contract; returns false when it does not exist or already ended.
    async fn terminate_contract(
        &mut self,
        subject: SubjectId,
        id: ContractId,
        terminated_on: &str,
        at_ms: i64,
    ) -> StoreResult<bool>;

    /// Journals a transfer of the subject's data.
    async fn insert_transfer(&mut self, transfer: &TransferRow) -> StoreResult<()>;
    /// The subject's transfers, oldest first; none for a destroyed subject.
    async fn transfers(&mut self, subject: SubjectId) -> StoreResult<Vec<TransferRow>>;
    /// Records a withdrawal of a consent for one recipient; false when it was already recorded.
    async fn insert_recipient_withdrawal(
        &mut self,
        withdrawal: &RecipientWithdrawalRow,
    ) -> StoreResult<bool>;
    /// The subject's withdrawals for single recipients; none for a destroyed subject.
    async fn recipient_withdrawals(
        &mut self,
        subject: SubjectId,
    ) -> StoreResult<Vec<RecipientWithdrawalRow>>;

    async fn insert_block(&mut self, block: &BlockRow) -> StoreResult<()>;
    async fn blocks(&mut self, subject: SubjectId) -> StoreResult<Vec<BlockRow>>;
    /// Lifts a block; returns false when it does not exist or was already lifted.
    async fn lift_block(
        &mut self,
        subject: SubjectId,
        id: BlockId,
        at_ms: i64,
        reason: &str,
    ) -> StoreResult<bool>;

    /// The stored outcome of an earlier request with this idempotency key, if any.
    async fn idempotent_response(&mut self, key: &str) -> StoreResult<Option<IdempotentResponse>>;
    async fn save_idempotent_response(
        &mut self,
        key: &str,
        response: &IdempotentResponse,
    ) -> StoreResult<()>;

    async fn insert_user(&mut self, user: &UserRow) -> StoreResult<()>;
    async fn user_by_login(&mut self, login: &str) -> StoreResult<Option<UserRow>>;
    /// Every account, by login.
    async fn users(&mut self) -> StoreResult<Vec<UserRow>>;
    /// Saves the changeable columns of an account (name, role, password, lock-out state,
    /// disabling); returns false when there is no such account.
    async fn update_user(&mut self, user: &UserRow) -> StoreResult<bool>;

    async fn insert_session(&mut self, session: &SessionRow) -> StoreResult<()>;
    /// Ends one session; returns false when there was none with this token.
    async fn delete_session(&mut self, token_hash: &[u8; 32]) -> StoreResult<bool>;
    /// Ends every session of an account (password changed, account disabled); returns how many.
    async fn delete_user_sessions(&mut self, user: uuid::Uuid) -> StoreResult<u64>;
    /// Forgets sessions that expired before `now_ms`; returns how many.
    async fn delete_expired_sessions(&mut self, now_ms: i64) -> StoreResult<u64>;

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> StoreResult<()>;
    /// Every API key, revoked ones included, oldest first.
    async fn api_keys(&mut self) -> StoreResult<Vec<ApiKeyRow>>;
    /// Revokes a key; returns false when it does not exist or was already revoked.
    async fn revoke_api_key(&mut self, id: uuid::Uuid, at_ms: i64) -> StoreResult<bool>;

    // Backup, restore and crypto-shredding. The wrapped keys and the record of destroyed subjects
    // (tombstones) form the key store; everything else is data.

    /// How many rows a backed-up table holds.
    async fn count_rows(&mut self, table: &'static TableSpec) -> StoreResult<u64>;
    /// Deletes every row of a table named in `backup::TABLES` or `backup::NOT_BACKED_UP`;
    /// returns how many. Any other name is refused.
    async fn clear_table(&mut self, table: &str) -> StoreResult<u64>;
    /// Inserts rows shaped by `table` (the caller has checked every value against its column).
    /// With `skip_existing`, a row whose primary key is already there is left as it is.
    async fn insert_rows(
        &mut self,
        table: &'static TableSpec,
        rows: &[BackupRow],
        skip_existing: bool,
    ) -> StoreResult<()>;
    /// Deletes the subject's wrapped data key and every row holding its personal data
    /// (identifiers and their blind indexes, records, fields, consents, contracts, blocks,
    /// retention anchors) and its category keys and category tombstones (the subject's own
    /// tombstone covers them). The
    /// subject's id and kind and the audit events stay. Returns how many rows were deleted.
    async fn purge_subject(&mut self, subject: SubjectId) -> StoreResult<u64>;
    /// Destroys many subjects at once by crypto-shredding, at a cost per subject that does not
    /// depend on how much data it holds: deletes each one's wrapped data key, records its
    /// tombstone at `at_ms` (a subject already tombstoned keeps its first one) and queues it for
    /// [`Transaction::sweep_shredded`]. After commit nothing of the subject can be decrypted:
    /// every field is encrypted under a category key or the data key, and every category key is
    /// wrapped under the data key. Its other rows, category keys included (the tables of
    /// `backup::SWEPT_TABLES`), stay until swept, and until then every read of this port leaves
    /// them out, as if they were gone, and a backup does not carry them. The subject's row and
    /// the audit events stay, as after [`Transaction::purge_subject`]. Returns how many data
    /// keys were deleted.
    async fn shred_keys(&mut self, subjects: &[SubjectId], at_ms: i64) -> StoreResult<u64>;
    /// Deletes the rows left behind by [`Transaction::shred_keys`] of at most `limit` queued
    /// subjects, and takes them off the queue, in this transaction. Idempotent and resumable:
    /// a transaction rolled back leaves the queue as it was, and a subject swept twice has
    /// nothing left the second time. Returns what went; zero subjects when the queue is empty.
    async fn sweep_shredded(&mut self, limit: u32) -> StoreResult<SweepOutcome>;
    /// Records that the subject's key was destroyed; false when it already was.
    async fn insert_tombstone(&mut self, subject: SubjectId, at_ms: i64) -> StoreResult<bool>;
    /// When the subject's key was destroyed, if it was.
    async fn tombstone(&mut self, subject: SubjectId) -> StoreResult<Option<i64>>;
    /// Subjects still listed in `subjects` whose key was destroyed, in id order.
    async fn tombstoned_subjects(&mut self) -> StoreResult<Vec<SubjectId>>;
    /// Deletes wrapped keys (subject and category keys) of subjects that are not in `subjects`
    /// or were destroyed; returns how many.
    async fn prune_keys(&mut self) -> StoreResult<u64>;
    /// Subjects that have neither a wrapped key nor a tombstone, in id order: their data cannot
    /// be read.
    async fn subjects_without_key(&mut self) -> StoreResult<Vec<SubjectId>>;

    // Category keys and the destruction of one category.

    /// Subjects in id order after `after`, at most `limit`, with their kind; destroyed subjects
    /// (tombstoned) are left out. For going over the whole store in batches.
    async fn live_subjects(
        &mut self,
        after: Option<SubjectId>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectId, String)>>;
    async fn category_key(
        &mut self,
        subject: SubjectId,
        category: &str,
    ) -> StoreResult<Option<CategoryKeyRow>>;
    /// Stores a category key; a second key for the same subject and category is a conflict.
    async fn insert_category_key(&mut self, key: &CategoryKeyRow) -> StoreResult<()>;
    /// Destroys one category of a subject: deletes its records with their fields and its
    /// category key, and records (or moves forward) the category's tombstone at `at_ms`. Returns
    /// how many rows were deleted.
    async fn destroy_category(
        &mut self,
        subject: SubjectId,
        category: &str,
        at_ms: i64,
    ) -> StoreResult<u64>;
    /// Deletes one record and its fields; returns how many rows were deleted (0 when it is not
    /// there).
    async fn delete_record(&mut self, subject: SubjectId, record: RecordId) -> StoreResult<u64>;
    /// The subject's destroyed categories and when each was destroyed, by category.
    async fn category_tombstones(&mut self, subject: SubjectId) -> StoreResult<Vec<(String, i64)>>;
    /// After a restore: deletes every record (and its fields) of a destroyed category created at
    /// or before the category's tombstone, and every category key of a destroyed category or of
    /// a subject that is gone or tombstoned. Returns how many rows were deleted.
    async fn purge_destroyed_categories(&mut self) -> StoreResult<u64>;

    // Destruction acts. An act is written when opened, gains entries while open, and is closed
    // once; when it expires its entries go and the row stays.

    /// The next running number for acts opened in `year`.
    async fn next_act_seq(&mut self, year: i16) -> StoreResult<u32>;
    async fn insert_act(&mut self, act: &ActRow) -> StoreResult<()>;
    /// Appends an entry to an open act; a second entry with the same number is a conflict.
    async fn insert_act_entry(&mut self, entry: &ActEntryRow) -> StoreResult<()>;
    /// How many entries the act has so far.
    async fn act_entry_count(&mut self, act: uuid::Uuid) -> StoreResult<u32>;
    async fn act(&mut self, id: uuid::Uuid) -> StoreResult<Option<ActRow>>;
    async fn act_by_number(&mut self, year: i16, seq: u32) -> StoreResult<Option<ActRow>>;
    /// Acts by number after `after` (year, seq), at most `limit`; with `open_only`, only acts not
    /// yet closed.
    async fn acts(
        &mut self,
        after: Option<(i16, u32)>,
        limit: u32,
        open_only: bool,
    ) -> StoreResult<Vec<ActRow>>;
    /// The act's entries in order.
    async fn act_entries(&mut self, act: uuid::Uuid) -> StoreResult<Vec<ActEntryRow>>;
    /// Closes an open act; false when it does not exist or is already closed.
    async fn close_act(
        &mut self,
        act: uuid::Uuid,
        closed_at_ms: i64,
        entries: u32,
        sha256: &str,
        expires_on: &str,
    ) -> StoreResult<bool>;
    /// Closed acts whose `expires_on` is on or before `day` (`YYYY-MM-DD`) and that have not
    /// expired yet, by number.
    async fn expiring_acts(&mut self, day: &str) -> StoreResult<Vec<ActRow>>;
    /// Destroys an expired act's entries and marks it expired; returns how many entries went.
    async fn expire_act(&mut self, act: uuid::Uuid, at_ms: i64) -> StoreResult<u64>;

    // Records kept depersonalised past their period: written once, never linked to a subject.

    async fn insert_retained(&mut self, row: &RetainedRow) -> StoreResult<()>;
    /// Kept records in id order after `after`, at most `limit`.
    async fn retained(
        &mut self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<RetainedRow>>;

    // The request journal: append-only. A request row is written once; its history grows by
    // entries, numbered from 1 per request.

    /// The next running number for requests received in `year`.
    async fn next_request_seq(&mut self, year: i16) -> StoreResult<u32>;
    async fn insert_request(&mut self, request: &RequestRow) -> StoreResult<()>;
    /// Appends an entry; a second entry with the same number is a conflict.
    async fn insert_request_entry(&mut self, entry: &RequestEntryRow) -> StoreResult<()>;
    async fn request(&mut self, id: uuid::Uuid) -> StoreResult<Option<RequestState>>;
    async fn request_by_number(&mut self, year: i16, seq: u32)
    -> StoreResult<Option<RequestState>>;
    /// The request's entries in order.
    async fn request_entries(&mut self, id: uuid::Uuid) -> StoreResult<Vec<RequestEntryRow>>;
    /// Requests matching `query`, by number.
    async fn requests(&mut self, query: &RequestQuery) -> StoreResult<Vec<RequestState>>;

    // The register of incidents (ст. 21 ч. 3.1): append-only like the request journal. An
    // incident row is written once; its history grows by entries, numbered from 1 per incident.

    /// The next running number for incidents detected in `year`.
    async fn next_incident_seq(&mut self, year: i16) -> StoreResult<u32>;
    async fn insert_incident(&mut self, incident: &IncidentRow) -> StoreResult<()>;
    /// Appends an entry; a second entry with the same number is a conflict.
    async fn insert_incident_entry(&mut self, entry: &IncidentEntryRow) -> StoreResult<()>;
    async fn incident_by_number(
        &mut self,
        year: i16,
        seq: u32,
    ) -> StoreResult<Option<IncidentState>>;
    /// The incident's entries in order.
    async fn incident_entries(&mut self, id: uuid::Uuid) -> StoreResult<Vec<IncidentEntryRow>>;
    /// Incidents by number after `after` (year, seq), at most `limit`, whose last status is one
    /// of `statuses` (any when empty).
    async fn incidents(
        &mut self,
        after: Option<(i16, u32)>,
        limit: u32,
        statuses: &[String],
    ) -> StoreResult<Vec<IncidentState>>;

    // Retention anchors.

    async fn insert_anchor(&mut self, anchor: &AnchorRow) -> StoreResult<()>;
    /// The subject's anchor events, oldest first.
    async fn anchors(&mut self, subject: SubjectId) -> StoreResult<Vec<AnchorRow>>;

    // The outbox.

    async fn insert_message(&mut self, message: &OutboxRow) -> StoreResult<()>;
    /// Messages with this status, oldest first, after `after` (a message id), at most `limit`.
    async fn messages(
        &mut self,
        status: &str,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>>;
    async fn message(&mut self, id: uuid::Uuid) -> StoreResult<Option<OutboxRow>>;
    /// Records the delivery outcome of a queued message; false when it is not queued.
    async fn set_message_status(
        &mut self,
        id: uuid::Uuid,
        status: &str,
        at_ms: i64,
        note: Option<&str>,
    ) -> StoreResult<bool>;

    /// Appends an event to the audit chain after the current head and returns it chained.
    async fn append_audit(&mut self, record: AuditRecord) -> StoreResult<ChainedEvent>;

    async fn commit(self: Box<Self>) -> StoreResult<()>;
}
