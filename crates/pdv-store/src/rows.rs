//! The rows exchanged between the service and a store. Fields named `*_ct` are ciphertext made
//! by the service with the subject's data key; times are Unix milliseconds; civil dates are
//! `YYYY-MM-DD` text.

use pdv_core::consent::ConsentKind;
use pdv_core::identifier::IdentifierKind;
use pdv_core::{BlockId, ConsentId, ContractId, RecordId, SubjectId, TransferId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRow {
    pub id: SubjectId,
    pub kind: String,
    pub created_at_ms: i64,
}

/// A subject's data key, wrapped by the master key. Kept apart from the data so that deleting
/// it destroys every copy of the data, backups included (crypto-shredding).
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKeyRow {
    pub subject: SubjectId,
    pub wrapped: Vec<u8>,
    pub master_key_id: String,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for WrappedKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKeyRow")
            .field("subject", &self.subject)
            .field("master_key_id", &self.master_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierRow {
    pub subject: SubjectId,
    pub kind: IdentifierKind,
    pub blind: [u8; 32],
    pub value_ct: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub subject: SubjectId,
    pub id: RecordId,
    pub category: String,
    /// `subject`, `third_party` or `automatic`.
    pub source: String,
    pub created_at_ms: i64,
    /// The order or claim the record belongs to, when a retention rule counts per order.
    pub scope: Option<String>,
    pub fields: Vec<FieldRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRow {
    pub field: String,
    pub value_ct: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub subject: SubjectId,
    pub id: ConsentId,
    pub kind: ConsentKind,
    pub purposes: Vec<String>,
    pub recipients: Vec<String>,
    pub channel: String,
    /// Evidence and representative, as encrypted JSON: they are personal data too.
    pub evidence_ct: Vec<u8>,
    pub representative_ct: Option<Vec<u8>>,
    pub document_id: String,
    pub document_version: String,
    pub document_sha256: String,
    pub policy_version: String,
    pub given_at_ms: i64,
    pub valid_until: Option<String>,
    pub withdrawal: Option<Withdrawal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub at_ms: i64,
    pub channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    pub subject: SubjectId,
    pub id: ContractId,
    pub reference: String,
    pub concluded_on: String,
    pub terminated_on: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    pub subject: SubjectId,
    pub id: BlockId,
    /// `None` blocks all of the subject's data.
    pub category: Option<String>,
    pub reason: String,
    pub placed_at_ms: i64,
    pub lifted_at_ms: Option<i64>,
    pub lift_reason: Option<String>,
}

/// What was answered to a request made with an `Idempotency-Key`, replayed on a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResponse {
    /// SHA-256 of the request (method, path, body), so a key reused for another request is refused.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at_ms: i64,
}

/// A staff account. The password is stored only as an Argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: uuid::Uuid,
    pub login: String,
    pub full_name: String,
    pub role: String,
    pub password_hash: String,
    /// Failed logins in a row since the last success.
    pub failed_logins: u32,
    pub locked_until_ms: Option<i64>,
    pub disabled_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("role", &self.role)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until_ms", &self.locked_until_ms)
            .field("disabled_at_ms", &self.disabled_at_ms)
            .finish_non_exhaustive()
    }
}

/// A staff session, found by the SHA-256 of its bearer token (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: [u8; 32],
    pub user_id: uuid::Uuid,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// An integration's API key: its scope, and the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: uuid::Uuid,
    pub name: String,
    pub role: String,
    /// Purposes the key may process data for (never empty for an integration key).
    pub purposes: Vec<String>,
    /// Categories the key is limited to; empty means whatever its purposes allow.
    pub categories: Vec<String>,
    pub secret_hash: [u8; 32],
    pub created_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A request as the journal received it. Never changed after insertion: what happens to it is in
/// its [`RequestEntryRow`]s. `details_ct` (requester, representative, identity check, the text)
/// is ciphertext under the journal key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub id: uuid::Uuid,
    /// The year of receipt and the running number in it: the request's number `YYYY-NNNNNN`.
    pub year: i16,
    pub seq: u32,
    pub kind: String,
    pub channel: String,
    /// The subject the request was matched to, if any: a request for an unknown subject is
    /// recorded all the same, because the law counts from receipt.
    pub subject: Option<SubjectId>,
    pub received_at_ms: i64,
    /// The deadline rule (D1…D14), the due date (`YYYY-MM-DD`, or RFC 3339 for hour rules), the
    /// calendar data it was computed with, and whether that data was provisional.
    pub rule: String,
    pub due: String,
    pub calendar: String,
    pub provisional: bool,
    pub details_ct: Vec<u8>,
}

/// One entry of a request's history. Entries are numbered from 1 (receipt) and only appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEntryRow {
    pub request: uuid::Uuid,
    pub entry_no: u32,
    pub at_ms: i64,
    pub actor: String,
    pub step: String,
    /// The request's status after this entry.
    pub status: String,
    /// A new due date set by this entry (an extension).
    pub due: Option<String>,
    /// The entry's text (reason, answer, note), ciphertext under the journal key.
    pub details_ct: Option<Vec<u8>>,
}

/// A request with where it stands now: its last status and its current due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestState {
    pub request: RequestRow,
    pub status: String,
    pub due: String,
    pub entries: u32,
}

/// Which requests to list, oldest number first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestQuery {
    pub kind: Option<String>,
    pub subject: Option<SubjectId>,
    /// Only requests whose last status is one of these (empty: any).
    pub statuses: Vec<String>,
    /// Start after this number (year, seq), for paging.
    pub after: Option<(i16, u32)>,
    pub limit: u32,
}

/// A message waiting in the outbox, or one the integration reported on. Address and body are
/// ciphertext under the journal key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: uuid::Uuid,
    pub created_at_ms: i64,
    pub request: Option<uuid::Uuid>,
    /// What the message is: `answer`, `extension_notice`, `refusal`, …
    pub kind: String,
    /// How to deliver it: `email`, `post`, `sms`, …
    pub channel: String,
    pub address_ct: Vec<u8>,
    pub body_ct: Vec<u8>,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub status_at_ms: i64,
    /// The integration's remark on delivery (a tracking number, an error), never personal data.
    pub note: Option<String>,
}

/// An event a retention period counts from (seed section 8), for one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRow {
    pub subject: SubjectId,
    pub id: uuid::Uuid,
    /// `order_fulfilled`, `claim_closed`, `account_deleted`, … (the policy's anchor names).
    pub event: String,
    /// The order or claim the event belongs to, when a rule counts per order.
    pub scope: Option<String>,
    /// The purpose the event is about (required for `purpose_achieved`).
    pub purpose: Option<String>,
    /// `YYYY-MM-DD`, the operator's civil date.
    pub occurred_on: String,
    pub recorded_at_ms: i64,
}

/// One category's key of one subject, wrapped under the subject's data key. Part of the key
/// store: deleting it destroys that category's data wherever its ciphertext survives.
#[derive(Clone, PartialEq, Eq)]
pub struct CategoryKeyRow {
    pub subject: SubjectId,
    pub category: String,
    pub wrapped: Vec<u8>,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for CategoryKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CategoryKeyRow")
            .field("subject", &self.subject)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// A destruction act (Приказ РКН № 179) as stored. `header_ct` (operator, system, signatories,
/// method, reason) is ciphertext under the acts key; the act is open while `closed_at_ms` is
/// `None`, and its entries are added only then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActRow {
    pub id: uuid::Uuid,
    /// The year and the running number in it: the act's number `YYYY-NNNNNN`.
    pub year: i16,
    pub seq: u32,
    pub opened_at_ms: i64,
    /// `retention` (a run of the retention rules), `manual` (a destruction ordered by staff).
    pub trigger: String,
    pub header_ct: Vec<u8>,
    pub closed_at_ms: Option<i64>,
    /// How many entries the closed act holds.
    pub entries: Option<u32>,
    /// SHA-256 (hex) of the closed act's canonical text, also written to the audit chain.
    pub sha256: Option<String>,
    /// `YYYY-MM-DD`: the act is kept until this day (three years after the destruction).
    pub expires_on: Option<String>,
    /// When the expired act's entries were destroyed.
    pub expired_at_ms: Option<i64>,
}

/// One subject's destruction within an act: who (identification captured at destruction time,
/// since the destroyed data can no longer tell), which categories, why, when; ciphertext under
/// the acts key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActEntryRow {
    pub act: uuid::Uuid,
    /// Numbered from 1 within the act.
    pub entry_no: u32,
    pub subject: SubjectId,
    pub at_ms: i64,
    pub body_ct: Vec<u8>,
}

/// A record kept depersonalised past its retention period: no subject, only the subject's kind,
/// the category, the rule that ended it, and its depersonalised fields (JSON object) as
/// ciphertext under the retained-records key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub category: String,
    pub rule: String,
    pub fields_ct: Vec<u8>,
    pub depersonalised_at_ms: i64,
}

/// One transfer of a subject's data to a processor or recipient (schema 10): who got which
/// categories, for what, on which basis. The court decision or other details a transfer names are
/// encrypted: they may identify the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub subject: SubjectId,
    pub id: TransferId,
    pub at_ms: i64,
    pub recipient: String,
    pub purpose: String,
    pub categories: Vec<String>,
    pub basis: String,
    pub basis_kind: String,
    pub consent: Option<ConsentId>,
    pub details_ct: Option<Vec<u8>>,
    pub actor: String,
}

/// A subject's withdrawal of one consent for one recipient it names, the rest of the consent
/// staying in force (schema 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientWithdrawalRow {
    pub subject: SubjectId,
    pub consent: ConsentId,
    pub recipient: String,
    pub at_ms: i64,
    pub channel: String,
}

/// An incident of the operator's register (ст. 21 ч. 3.1 152-ФЗ) as registered. Never changed
/// after insertion: what happens to it is in its [`IncidentEntryRow`]s. Times, counts and
/// categories are in clear so that timers and monitoring work without keys; `details_ct` (what
/// happened, causes, harm, measures, the contact person: texts that may name staff) is
/// ciphertext under the journal key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: uuid::Uuid,
    /// The year of detection and the running number in it: the incident's number `YYYY-NNNNNN`.
    pub year: i16,
    pub seq: u32,
    /// When the operator detected it: the 24 and 72 hours run from here.
    pub detected_at_ms: i64,
    pub registered_at_ms: i64,
    /// The staff member (login) or key that registered it.
    pub registered_by: String,
    /// Category ids of the policy.
    pub categories: Vec<String>,
    pub subjects: i64,
    pub identifiers: i64,
    pub details_ct: Vec<u8>,
}

/// One entry of an incident's history, numbered from 1 (registration) and only appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentEntryRow {
    pub incident: uuid::Uuid,
    pub entry_no: u32,
    /// When the entry was written.
    pub at_ms: i64,
    pub actor: String,
    pub step: String,
    /// The incident's status after this entry.
    pub status: String,
    /// When what the entry records happened, if it is not `at_ms` (a notice sent an hour before
    /// it was recorded).
    pub occurred_at_ms: Option<i64>,
    /// The entry's particulars (how a notice was sent and its number, the investigation's
    /// findings, a reason), ciphertext under the journal key.
    pub details_ct: Option<Vec<u8>>,
}

/// An incident with its last status, for lists and monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentState {
    pub incident: IncidentRow,
    pub status: String,
    pub entries: u32,
}
