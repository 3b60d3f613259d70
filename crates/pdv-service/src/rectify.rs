//! Rectification (ст. 21 ч. 2 152-ФЗ): a record's fields set to their correct values. The old
//! value is superseded, not kept: its ciphertext is replaced, and the audit event keeps only a
//! SHA-256 of the old ciphertext, enough to prove a change without holding the wrong data.
//! Processors and recipients registered for the record's category are told through the outbox,
//! as the law asks, under the subject's pseudonymous id.

use pdv_core::audit::{AuditRecord, Outcome, canonical_details};
use pdv_core::request::RequestNumber;
use pdv_core::{Operation, RecordId, SubjectId};
use pdv_crypto::FieldAad;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::vault::{Vault, check_fields};
use crate::views::Actor;

/// The correct values, and why.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Rectification {
    #[schema(value_type = HashMap<String, serde_json::Value>, example = json!({ "email": "anna.new@example.ru" }))]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Why the data were wrong: what the subject showed, what was checked.
    pub reason: String,
    /// The journal number of the request that asked for it, if any (`2026-000042`).
    #[serde(default)]
    pub request: Option<String>,
}

/// What was rectified.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rectified {
    pub record: RecordId,
    pub category: String,
    pub fields: Vec<String>,
    /// Notices queued for processors and recipients of the category.
    pub notices: usize,
}

impl Vault {
    /// Sets fields of a subject's record to corrected values, audited, with notices queued for
    /// the third parties that hold the category.
    pub async fn rectify_record(
        &self,
        actor: &Actor,
        subject: SubjectId,
        record: RecordId,
        input: Rectification,
    ) -> ServiceResult<Rectified> {
        let reason = input.reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::invalid(
                "reason",
                "required",
                "укажите, на основании чего данные уточняются (ст. 21 ч. 2)",
            ));
        }
        let request = match input.request.as_deref() {
            None => None,
            Some(n) => Some(
                n.parse::<RequestNumber>()
                    .map_err(|m| ServiceError::invalid("request", "invalid_number", m))?,
            ),
        };
        let mut tx = self.store().begin().await?;
        self.subject_row(&mut *tx, subject).await?;
        let Some(row) = tx
            .records(subject, None)
            .await?
            .into_iter()
            .find(|r| r.id == record)
        else {
            return Err(ServiceError::NotFound {
                what: "запись",
                id: record.to_string(),
            });
        };
        if let Some(n) = request
            && tx.request_by_number(n.year, n.seq).await?.is_none()
        {
            return Err(ServiceError::invalid(
                "request",
                "unknown_request",
                format!("обращения № {n} нет в журнале"),
            ));
        }
        let policy = &self.policy().policy;
        let category = policy.category(&row.category).ok_or_else(|| {
            ServiceError::Integrity(format!("category {} is gone from the policy", row.category))
        })?;
        let mut problems = Vec::new();
        let values = check_fields(category, &input.fields, &mut problems);
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        drop(tx);
        self.check_scope(
            actor,
            "record.rectify",
            Operation::Rectification,
            subject,
            &[],
            &[category.id.to_string()],
        )
        .await?;
        // The scope check committed its own transaction; the subject or the record may have
        // gone meanwhile, and a field must never be written to a record that is not there.
        let mut tx = self.store().begin().await?;
        self.subject_row(&mut *tx, subject).await?;
        let still_there = tx
            .records(subject, Some(std::slice::from_ref(&row.category)))
            .await?
            .iter()
            .any(|r| r.id == record);
        if !still_there {
            return Err(ServiceError::NotFound {
                what: "запись",
                id: record.to_string(),
            });
        }
        let key = self.writing_key(&mut *tx, subject, &row.category).await?;
        let mut superseded = serde_json::Map::new();
        for (name, value) in &values {
            let field = format!("{}.{name}", category.id);
            let ct = key.encrypt_field(
                value.as_bytes(),
                &FieldAad {
                    table: "pd_fields",
                    row_id: record.as_bytes(),
                    field: &field,
                },
            );
            let old = tx.set_field(subject, record, name, &ct).await?;
            superseded.insert(
                name.clone(),
                old.map_or(serde_json::Value::Null, |o| {
                    json!(hex::encode(Sha256::digest(&o)))
                }),
            );
        }
        // ст. 21 ч. 2: those the data were given to must be told of the correction.
        let holders: Vec<&pdv_core::policy::ThirdParty> = policy
            .processors
            .iter()
            .chain(&policy.recipients)
            .filter(|t| t.categories.contains(&category.id))
            .collect();
        let today = self.local_time(self.now_ms());
        for t in &holders {
            let address = t.address.clone().unwrap_or_else(|| t.name.clone());
            let body = format!(
                "{}: персональные данные субъекта {subject} (категория «{}») уточнены оператором {today}. \
                 Просим уточнить полученные вами данные этого субъекта (ст. 21 ч. 2 152-ФЗ).",
                t.name, category.title
            );
            self.queue_message(&mut *tx, None, "rectification_notice", &address, &body)
                .await?;
        }
        let names: Vec<String> = values.into_iter().map(|(n, _)| n).collect();
        let event = AuditRecord {
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            action: "record.rectify".into(),
            operation: Some(Operation::Rectification),
            purpose: None,
            subject: Some(subject),
            outcome: Outcome::Done,
            details: canonical_details(&json!({
                "record": record,
                "category": category.id,
                "superseded_sha256": superseded,
                "request": request.map(|n| n.to_string()),
                "notices": holders.len(),
            })),
        };
        self.finish(tx, vec![event]).await?;
        Ok(Rectified {
            record,
            category: category.id.to_string(),
            fields: names,
            notices: holders.len(),
        })
    }
}
