//! What the retention run kept depersonalised past the period (rules with
//! `action = "depersonalise"`; seed 8.2, 10.1–10.2): read back only as statistics — how many kept
//! records of each kind, category and generalised values there are — never row by row, and every
//! read is audited.

use std::collections::BTreeMap;

use pdv_core::audit::{AuditRecord, Outcome};
use pdv_core::operation::Operation;
use serde::Serialize;
use serde_json::json;

use crate::error::{ServiceError, ServiceResult};
use crate::retention::RETAINED_TABLE;
use crate::vault::Vault;
use crate::views::Actor;

/// Rows read per store call.
const PAGE: u32 = 1000;

/// One group of kept records with the same values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RetainedGroup {
    /// The kind of subject the records were about (`user`, `guest`…).
    pub kind: String,
    pub category: String,
    /// The retention rule that ended the records.
    pub rule: String,
    /// The depersonalised values: direct identifiers removed, the rest generalised.
    pub fields: BTreeMap<String, String>,
    pub count: u64,
}

/// The kept records as statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RetainedReport {
    pub records: u64,
    /// Groups by kind, category, rule and values, largest first.
    pub groups: Vec<RetainedGroup>,
}

impl Vault {
    /// Counts the records kept depersonalised, grouped by their values; the read is audited.
    pub async fn retained_statistics(&self, actor: &Actor) -> ServiceResult<RetainedReport> {
        let key = self.keyring().retained_key();
        let mut counts: BTreeMap<(String, String, String, BTreeMap<String, String>), u64> =
            BTreeMap::new();
        let mut records = 0;
        let mut after = None;
        loop {
            let mut tx = self.store().begin().await?;
            let page = tx.retained(after, PAGE).await?;
            drop(tx);
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for row in &page {
                let plain =
                    crate::sealed::open(&key, RETAINED_TABLE, row.id, "fields", &row.fields_ct)?;
                let fields: BTreeMap<String, String> = serde_json::from_slice(&plain)
                    .map_err(|e| ServiceError::Integrity(format!("retained {}: {e}", row.id)))?;
                *counts
                    .entry((
                        row.kind.clone(),
                        row.category.clone(),
                        row.rule.clone(),
                        fields,
                    ))
                    .or_default() += 1;
                records += 1;
            }
        }
        let mut groups: Vec<RetainedGroup> = counts
            .into_iter()
            .map(|((kind, category, rule, fields), count)| RetainedGroup {
                kind,
                category,
                rule,
                fields,
                count,
            })
            .collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        let tx = self.store().begin().await?;
        let event = AuditRecord {
            operation: Some(Operation::Use),
            ..self.security_event(
                &actor.name,
                "retained.read",
                Outcome::Done,
                json!({ "records": records, "groups": groups.len() }),
            )
        };
        self.finish(tx, vec![event]).await?;
        Ok(RetainedReport { records, groups })
    }
}
