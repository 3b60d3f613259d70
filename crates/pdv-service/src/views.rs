//! What commands take and return. Inputs are plain data the caller fills; outputs serialise to
//! the API's JSON bodies. Outputs carry personal data only where a purpose check allowed it.

use std::collections::BTreeMap;

use pdv_core::access::Grant;
use pdv_core::auth::Scope;
use pdv_core::consent::{ConsentDocument, ConsentKind, ConsentState, Evidence, Representative};
use pdv_core::law::BasisKind;
use pdv_core::{BlockId, ConsentId, ContractId, RecordId, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who is acting, and on which request. The name grows into staff users and API keys with the
/// authentication issue; today it is a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// Set when the caller sent an `Idempotency-Key`: a create command then answers a retry with
    /// the stored response instead of creating a second thing.
    pub idempotency: Option<Idempotency>,
    /// The purposes and categories the caller is limited to (an integration key's scope).
    pub scope: Scope,
}

impl Actor {
    pub fn new(name: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            idempotency: None,
            scope: Scope::unrestricted(),
        }
    }

    pub fn with_scope(mut self, scope: Scope) -> Actor {
        self.scope = scope;
        self
    }

    pub fn with_idempotency(mut self, idempotency: Idempotency) -> Actor {
        self.idempotency = Some(idempotency);
        self
    }
}

/// An idempotency key with a fingerprint of the request it was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// SHA-256 (hex) of the request; the same key with another request is refused.
    pub request_hash: String,
    /// The status the caller answers a fresh success with, replayed as is.
    pub status: u16,
}

/// A response stored under an idempotency key and replayed on a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The JSON body exactly as first sent.
    pub body: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    pub kind: String,
    /// `email` and/or `phone`, for finding the subject later.
    #[serde(default)]
    pub identifiers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectCreated {
    pub id: SubjectId,
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    pub identifiers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    pub category: String,
    /// The purpose the data is collected for.
    pub purpose: String,
    #[schema(value_type = HashMap<String, serde_json::Value>, example = json!({ "email": "anna@example.ru", "phone": "+7 916 555 12 34" }))]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// `subject` (default), `third_party` or `automatic`.
    #[serde(default)]
    pub source: Option<String>,
    /// The order or claim the data belong to (the operator's reference), when a retention rule
    /// counts per order: e.g. the recipient's address is kept three years after *that* order.
    #[serde(default)]
    pub scope: Option<String>,
    /// For data obtained from someone else (`source = third_party`) in a category without an
    /// exemption: where to send the subject the ст. 18 ч. 3 notice (an e-mail, a phone or a postal
    /// address); by default the first e-mail or phone among the fields.
    #[serde(default)]
    pub notice_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordCreated {
    pub id: RecordId,
    pub subject: SubjectId,
    pub category: String,
    pub fields: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// For data obtained from someone else: `queued` when the ст. 18 ч. 3 notice to the subject
    /// was queued in the outbox, or `exempt: <ground>` with the clause of ст. 18 ч. 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_notice: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    pub purposes: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
    pub channel: String,
    pub evidence: Evidence,
    pub document: ConsentDocument,
    #[serde(default)]
    pub valid_until: Option<jiff::civil::Date>,
    #[serde(default)]
    pub representative: Option<Representative>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    /// The channel the withdrawal came through.
    pub channel: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub id: ConsentId,
    pub kind: ConsentKind,
    pub state: ConsentState,
    pub purposes: Vec<String>,
    pub recipients: Vec<String>,
    pub channel: String,
    pub document: ConsentDocument,
    pub policy_version: String,
    #[schema(value_type = String, format = DateTime)]
    pub given_at: jiff::Timestamp,
    pub valid_until: Option<jiff::civil::Date>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub withdrawn_at: Option<jiff::Timestamp>,
    pub withdrawal_channel: Option<String>,
}

/// The answer to a withdrawal: the consent, and the purposes that stop at once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Withdrawn {
    pub consent: ConsentView,
    /// Purposes with no other consent in force: any later use for them is refused.
    pub stopped_purposes: Vec<String>,
    /// Recipients that received the subject's data under this consent and were sent a notice to
    /// stop processing them (through the outbox).
    pub notified_recipients: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    /// The contract's number or other reference in the operator's systems.
    pub reference: String,
    pub concluded_on: jiff::civil::Date,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Terminate {
    pub terminated_on: jiff::civil::Date,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractView {
    pub id: ContractId,
    pub reference: String,
    pub concluded_on: jiff::civil::Date,
    pub terminated_on: Option<jiff::civil::Date>,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlock {
    /// A category to block; all of the subject's data when absent.
    #[serde(default)]
    pub category: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lift {
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockView {
    pub id: BlockId,
    pub category: Option<String>,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lifted_at: Option<jiff::Timestamp>,
    pub lift_reason: Option<String>,
}

/// A subject's file without personal data values: what exists, not what it says.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectSummary {
    pub id: SubjectId,
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    pub identifiers: Vec<String>,
    pub records: BTreeMap<String, u64>,
    pub consents: Vec<ConsentView>,
    pub contracts: Vec<ContractView>,
    pub blocks: Vec<BlockView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataQuery {
    pub purpose: String,
    /// Categories wanted; all the purpose allows when empty.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// Personal data released for a purpose.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataView {
    pub subject: SubjectId,
    pub purpose: String,
    pub basis: BasisKind,
    pub categories: Vec<String>,
    pub records: Vec<RecordView>,
}

impl DataView {
    pub(crate) fn new(
        subject: SubjectId,
        purpose: &str,
        grant: Grant,
        records: Vec<RecordView>,
    ) -> DataView {
        DataView {
            subject,
            purpose: purpose.to_string(),
            basis: grant.basis,
            categories: grant.categories,
            records,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordView {
    pub id: RecordId,
    pub category: String,
    pub source: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// The order or claim the record belongs to, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindSubject {
    /// `email` or `phone`.
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FoundSubjects {
    pub subjects: Vec<SubjectId>,
}
