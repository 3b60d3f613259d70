//! The key hierarchy below a subject. Every subject has a data key (wrapped by the master key);
//! below it every category of the subject's data has a key of its own, wrapped under the subject
//! key, and the category's fields are encrypted with it. So destroying the subject key destroys
//! everything at once, and destroying one category key destroys that category alone, wherever its
//! ciphertext survives (free pages, the WAL, old backups): the retention runner's way of ending
//! one category while the rest of the subject's data lawfully stays (ст. 21 ч. 4–5 152-ФЗ).
//!
//! Records written before schema 7 are under the subject key. A category without a key is such a
//! legacy category; the first write to it creates the key and moves its records under it in the
//! same transaction, so a category is always either wholly under its key or wholly legacy.

use std::collections::{BTreeMap, HashMap};

use pdv_core::SubjectId;
use pdv_crypto::{DataKey, FieldAad};
use pdv_store::{CategoryKeyRow, RecordRow, Transaction};

use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::RecordView;

/// The associated data of one field of a record: the table, the record and `category.field`.
fn field_name(category: &str, field: &str) -> String {
    format!("{category}.{field}")
}

pub(crate) fn field_aad<'a>(record: &'a [u8], field: &'a str) -> FieldAad<'a> {
    FieldAad {
        table: "pd_fields",
        row_id: record,
        field,
    }
}

impl Vault {
    /// The key that encrypts `category` of the subject: its category key, or the subject key for
    /// a legacy category that has none yet.
    pub(crate) async fn reading_key(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        subject_key: &DataKey,
        category: &str,
    ) -> ServiceResult<Option<DataKey>> {
        let Some(row) = tx.category_key(subject, category).await? else {
            return Ok(None);
        };
        subject_key
            .unwrap_category_key(&row.wrapped, subject.as_bytes(), category)
            .map(Some)
            .map_err(|e| {
                ServiceError::Integrity(format!(
                    "key of category {category} of subject {subject} cannot be unwrapped: {e}"
                ))
            })
    }

    /// The key to write `category` of the subject with. Created on first use; a legacy category's
    /// records are moved under the new key in the same transaction.
    pub(crate) async fn writing_key(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        category: &str,
    ) -> ServiceResult<DataKey> {
        let subject_key = self.data_key(tx, subject).await?;
        if let Some(key) = self
            .reading_key(tx, subject, &subject_key, category)
            .await?
        {
            return Ok(key);
        }
        let key = self.keyring().new_data_key();
        let legacy = tx.records(subject, Some(&[category.to_string()])).await?;
        for record in legacy {
            for f in &record.fields {
                let name = field_name(&record.category, &f.field);
                let aad = field_aad(record.id.as_bytes(), &name);
                let plain = subject_key.decrypt_field(&f.value_ct, &aad).map_err(|e| {
                    ServiceError::Integrity(format!("record {} {name}: {e}", record.id))
                })?;
                let ct = key.encrypt_field(&plain, &aad);
                tx.set_field(subject, record.id, &f.field, &ct).await?;
            }
        }
        tx.insert_category_key(&CategoryKeyRow {
            subject,
            category: category.to_string(),
            wrapped: subject_key.wrap_category_key(&key, subject.as_bytes(), category),
            created_at_ms: self.now_ms(),
        })
        .await?;
        Ok(key)
    }

    /// Decrypts the subject's records, optionally only of some categories, oldest first.
    pub(crate) async fn open_records(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        categories: Option<&[String]>,
    ) -> ServiceResult<Vec<RecordView>> {
        let rows = tx.records(subject, categories).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let subject_key = self.data_key(tx, subject).await?;
        let mut keys: HashMap<String, Option<DataKey>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if !keys.contains_key(&row.category) {
                let key = self
                    .reading_key(tx, subject, &subject_key, &row.category)
                    .await?;
                keys.insert(row.category.clone(), key);
            }
            let key = keys[&row.category].as_ref().unwrap_or(&subject_key);
            out.push(decrypt_record(key, row)?);
        }
        Ok(out)
    }
}

fn decrypt_record(key: &DataKey, row: RecordRow) -> ServiceResult<RecordView> {
    let mut fields = BTreeMap::new();
    for f in row.fields {
        let name = field_name(&row.category, &f.field);
        let plain = key
            .decrypt_field(&f.value_ct, &field_aad(row.id.as_bytes(), &name))
            .map_err(|e| ServiceError::Integrity(format!("record {} field {name}: {e}", row.id)))?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| {
            ServiceError::Integrity(format!("record {} field {name} is not UTF-8", row.id))
        })?;
        fields.insert(f.field, text);
    }
    Ok(RecordView {
        id: row.id,
        category: row.category,
        source: row.source,
        created_at: jiff::Timestamp::from_millisecond(row.created_at_ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        scope: row.scope,
        fields,
    })
}
