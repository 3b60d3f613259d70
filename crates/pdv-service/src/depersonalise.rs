//! The depersonalised export (`pdv export depersonalised`): the vault's personal data for the
//! policy's statistics purposes, turned into a dataset that identifies no one without the key
//! table (ст. 3 п. 9, ст. 6 ч. 1 п. 9 152-ФЗ; methods of Приказ Роскомнадзора № 140).
//!
//! What is depersonalised and how is decided in `pdv_core::depersonalise`; this module reads and
//! decrypts, and records the run. Every live subject is visited in id order, in batches, one
//! read transaction per batch, so the writer lock is never held for the whole run. Subjects
//! whose kind no exported purpose covers are not read at all, nor are blocked subjects and
//! blocked categories (blocking stops every processing, ст. 3 п. 7).
//!
//! The run is one operation in the audit chain, `data.depersonalised` with the operation
//! «обезличивание»: the methods applied, the parameters, who ran it, what was read (counts and
//! categories, never values) and what came out (rows, columns, k achieved, the SHA-256 of the
//! dataset and of the key table). A refusal because k was not reached is recorded too, with
//! the k achieved, so that an operator who lowers k afterwards leaves a trace of having done so.
//!
//! The dataset and the key table are returned as bytes; writing them is the caller's (the CLI
//! writes each atomically). All rows are held in memory, which is fine for the thousands to
//! hundreds of thousands of records an operator of this size keeps.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pdv_core::audit::{AuditRecord, Outcome};
use pdv_core::depersonalise::{
    Builder, ColumnRef, DatasetFormat, DepersonaliseError, Drbg, Generaliser, MinK, Plan,
    PlanRequest, PurposeSelector, RecordInput, Summary,
};
use pdv_core::operation::Operation;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// Subjects read per transaction: a batch decrypts a few thousand fields and lets writers in
/// between batches.
const BATCH: u32 = 200;

/// The stable code of a refusal for want of k-anonymity.
pub const K_NOT_REACHED: &str = "k_anonymity_not_reached";

/// What the caller asks for; every field is already parsed (`pdv_core::depersonalise` types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepersonaliseRequest {
    /// One depersonalised-only purpose, or all of them (`statistics`).
    pub purpose: PurposeSelector,
    /// Quasi-identifiers to add to the default ones.
    pub quasi: Vec<ColumnRef>,
    /// The smallest equivalence class allowed.
    pub min_k: MinK,
    /// Drop the rows of classes below `min_k` instead of refusing.
    pub suppress: bool,
    pub format: DatasetFormat,
    /// Produce the table pseudonym → subject id. Without it the pseudonyms are not kept
    /// anywhere and the dataset cannot be linked back even by the operator.
    pub key_table: bool,
}

impl DepersonaliseRequest {
    /// A request with the defaults: k = 5, no suppression, CSV, no key table.
    pub fn new(purpose: PurposeSelector) -> DepersonaliseRequest {
        DepersonaliseRequest {
            purpose,
            quasi: Vec::new(),
            min_k: MinK::DEFAULT,
            suppress: false,
            format: DatasetFormat::Csv,
            key_table: false,
        }
    }
}

/// What an export did, without personal data: printed for the operator, kept in the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepersonalisationReport {
    #[serde(flatten)]
    pub summary: Summary,
    /// The methods applied, in Russian, for the report.
    pub methods_ru: Vec<String>,
    /// The day ages were counted on (the operator's today).
    pub as_of: jiff::civil::Date,
    pub format: DatasetFormat,
    /// SHA-256 of the dataset's bytes, hex: the audit event names exactly this file.
    pub sha256: String,
    pub bytes: usize,
    /// SHA-256 of the key table, when one was produced.
    pub key_table_sha256: Option<String>,
    /// Subjects not read because all their data is blocked.
    pub subjects_blocked: u64,
    /// Categories of subjects not read because they are blocked.
    pub categories_blocked: u64,
}

/// The dataset and, if asked for, the key table, as file contents.
#[derive(Clone)]
pub struct DepersonalisedExport {
    pub dataset: Vec<u8>,
    /// The table pseudonym → subject id. It re-identifies the dataset: keep it apart.
    pub key_table: Option<Vec<u8>>,
    pub report: DepersonalisationReport,
}

impl std::fmt::Debug for DepersonalisedExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key table links pseudonyms to subjects: a debug print must not carry it into a
        // log, and the dataset is too large to be useful there.
        f.debug_struct("DepersonalisedExport")
            .field("dataset_bytes", &self.dataset.len())
            .field("key_table_bytes", &self.key_table.as_ref().map(Vec::len))
            .field("report", &self.report)
            .finish()
    }
}

/// 32 bytes from the operating system's CSPRNG, through the crypto crate's token generator
/// (the service has no random source of its own).
pub(crate) fn os_seed() -> ServiceResult<[u8; 32]> {
    let token = pdv_crypto::secret::new_token("");
    URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| ServiceError::Integrity("a random token is not 32 bytes".into()))
}

fn invalid(e: DepersonaliseError) -> ServiceError {
    let (field, code) = match &e {
        DepersonaliseError::UnknownPurpose { .. } => ("purpose", "unknown_purpose"),
        DepersonaliseError::NotDepersonalisedOnly { .. } => {
            ("purpose", "purpose_not_depersonalised_only")
        }
        DepersonaliseError::NoStatisticsPurposes => ("purpose", "no_statistics_purposes"),
        DepersonaliseError::OperationNotAllowed { .. } => ("purpose", "operation_not_allowed"),
        DepersonaliseError::BadColumn { .. } | DepersonaliseError::UnknownColumn { .. } => {
            ("quasi", "unknown_field")
        }
        DepersonaliseError::DirectIdentifier { .. } => ("quasi", "direct_identifier"),
        DepersonaliseError::NotGeneralisable { .. } => ("quasi", "not_generalisable"),
        DepersonaliseError::BadK { .. } => ("k", "invalid_k"),
        DepersonaliseError::BadFormat { .. } => ("format", "invalid_format"),
        DepersonaliseError::BelowK { .. } => ("k", K_NOT_REACHED),
    };
    ServiceError::invalid(field, code, e.to_string())
}

impl Vault {
    /// Exports the data of the policy's depersonalised-only purposes as a depersonalised
    /// dataset, or refuses (audited, nothing returned) when the dataset's k is below the
    /// request's minimum and suppression was not allowed.
    pub async fn export_depersonalised(
        &self,
        actor: &Actor,
        request: DepersonaliseRequest,
    ) -> ServiceResult<DepersonalisedExport> {
        let plan = Plan::new(
            &self.policy().policy,
            &PlanRequest {
                purpose: request.purpose.clone(),
                quasi: request.quasi.clone(),
                min_k: request.min_k,
                suppress: request.suppress,
            },
        )
        .map_err(invalid)?;
        let parameters = json!({
            "purpose": request.purpose.to_string(),
            "purposes": plan.purposes,
            "quasi": request.quasi.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "quasi_identifiers": plan.quasi_names(),
            "k": request.min_k.get(),
            "suppress": request.suppress,
            "format": request.format.as_str(),
            "key_table": request.key_table,
        });
        // The event's purpose column holds one purpose; `statistics` lists several in details.
        let purpose = match plan.purposes.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        let event = |outcome: Outcome, details: serde_json::Value| AuditRecord {
            operation: Some(Operation::Depersonalisation),
            purpose: purpose.clone(),
            ..self.security_event(&actor.name, "data.depersonalised", outcome, details)
        };

        // An integration key limited to some purposes or categories exports nothing beyond
        // them; dropping columns silently would change what the dataset means, so it refuses.
        let read_categories = plan.read_categories();
        let denial = plan
            .purposes
            .iter()
            .find_map(|p| actor.scope.check_purpose(p).err())
            .or_else(|| {
                read_categories
                    .iter()
                    .find_map(|c| actor.scope.check_category(c).err())
            });
        if let Some(denial) = denial {
            let tx = self.store().begin().await?;
            self.finish(
                tx,
                vec![event(
                    Outcome::Denied,
                    json!({ "code": denial.code(), "parameters": parameters }),
                )],
            )
            .await?;
            return Err(ServiceError::Forbidden {
                code: denial.code(),
                message: denial.message(),
            });
        }

        let as_of = self.today();
        let mut builder = Builder::new(&plan, Generaliser::new(as_of, self.time_zone()));
        let mut subjects_blocked = 0u64;
        let mut categories_blocked = 0u64;
        let mut after = None;
        loop {
            let mut tx = self.store().begin().await?;
            let batch = tx.live_subjects(after, BATCH).await?;
            for (subject, kind) in &batch {
                if !plan.covers(kind) {
                    continue;
                }
                let blocks: Vec<Option<String>> = tx
                    .blocks(*subject)
                    .await?
                    .into_iter()
                    .filter(|b| b.lifted_at_ms.is_none())
                    .map(|b| b.category)
                    .collect();
                if blocks.iter().any(Option::is_none) {
                    subjects_blocked += 1;
                    continue;
                }
                let mut categories = plan.categories_for(kind);
                let wanted = categories.len();
                categories.retain(|c| !blocks.iter().any(|b| b.as_deref() == Some(c.as_str())));
                categories_blocked += (wanted - categories.len()) as u64;
                let records = if categories.is_empty() {
                    Vec::new()
                } else {
                    self.open_records(&mut *tx, *subject, Some(&categories))
                        .await?
                };
                let inputs: Vec<RecordInput<'_>> = records
                    .iter()
                    .map(|r| RecordInput {
                        category: &r.category,
                        fields: &r.fields,
                    })
                    .collect();
                builder.add_subject(*subject, kind, &inputs);
            }
            // Nothing was written: committing only ends the transaction at once.
            tx.commit().await?;
            match batch.last() {
                Some((last, _)) if batch.len() == BATCH as usize => after = Some(*last),
                _ => break,
            }
        }

        let source = json!({
            "subjects": builder.subjects_read(),
            "records": builder.records_read(),
            "categories": read_categories,
            "subjects_blocked": subjects_blocked,
            "categories_blocked": categories_blocked,
            "as_of": as_of.to_string(),
        });
        let rows_built = builder.rows();
        // The seed lives only for this call: whoever kept it could redo the draw and link the
        // pseudonyms to the subjects.
        let outcome = builder.finish(&mut Drbg::from_seed(os_seed()?));
        let done = match outcome {
            Ok(done) => done,
            Err(
                e @ DepersonaliseError::BelowK {
                    achieved,
                    required,
                    rows_below,
                    ..
                },
            ) => {
                let tx = self.store().begin().await?;
                self.finish(
                    tx,
                    vec![event(
                        Outcome::Denied,
                        json!({
                            "code": K_NOT_REACHED,
                            "parameters": parameters,
                            "source": source,
                            "output": null,
                            "k_achieved": achieved,
                            "k_required": required,
                            "rows": rows_built,
                            "rows_below_k": rows_below,
                        }),
                    )],
                )
                .await?;
                return Err(ServiceError::Conflict {
                    code: K_NOT_REACHED,
                    message: e.to_string(),
                });
            }
            Err(e) => return Err(invalid(e)),
        };

        let dataset = done.dataset.render(request.format);
        let sha256 = hex::encode(Sha256::digest(&dataset));
        // Without a key table the pseudonyms' link to the subjects ends here, with `done`.
        let key_table = request
            .key_table
            .then(|| done.key_table.render(request.format));
        let key_table_sha256 = key_table.as_ref().map(|k| hex::encode(Sha256::digest(k)));
        let s = &done.summary;
        let details = json!({
            "methods": s.methods,
            "parameters": parameters,
            "source": source,
            "output": {
                "rows": s.rows,
                "rows_built": s.rows_built,
                "rows_suppressed": s.rows_suppressed,
                "subjects": s.subjects,
                "columns": s.columns.len(),
                "column_names": s.columns,
                "dropped_columns": s.dropped_columns.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
                "classes": s.classes,
                "k_achieved": s.k_achieved,
                "k_before_suppression": s.k_before_suppression,
                "format": request.format.as_str(),
                "bytes": dataset.len(),
                "sha256": sha256,
                "key_table_sha256": key_table_sha256,
            },
        });
        let tx = self.store().begin().await?;
        self.finish(tx, vec![event(Outcome::Done, details)]).await?;

        let report = DepersonalisationReport {
            methods_ru: s.methods.iter().map(|m| m.title_ru().to_string()).collect(),
            summary: done.summary,
            as_of,
            format: request.format,
            sha256,
            bytes: dataset.len(),
            key_table_sha256,
            subjects_blocked,
            categories_blocked,
        };
        Ok(DepersonalisedExport {
            dataset,
            key_table,
            report,
        })
    }
}
