//! Row-bound encryption of the service's own records — the request journal and the destruction
//! acts: a field is encrypted with the record kind's key and bound to its table, row and field
//! name, so a ciphertext moved to another row or field no longer opens.

use pdv_crypto::{DataKey, FieldAad};
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};

/// Encrypts `plain` for `table`/`id`/`field` under `key`.
pub(crate) fn seal(key: &DataKey, table: &str, id: Uuid, field: &str, plain: &[u8]) -> Vec<u8> {
    key.encrypt_field(
        plain,
        &FieldAad {
            table,
            row_id: id.as_bytes(),
            field,
        },
    )
}

/// Decrypts what [`seal`] encrypted; a ciphertext that does not open is an integrity error that
/// names the row and field.
pub(crate) fn open(
    key: &DataKey,
    table: &str,
    id: Uuid,
    field: &str,
    ct: &[u8],
) -> ServiceResult<Vec<u8>> {
    key.decrypt_field(
        ct,
        &FieldAad {
            table,
            row_id: id.as_bytes(),
            field,
        },
    )
    .map(|plain| plain.to_vec())
    .map_err(|e| ServiceError::Integrity(format!("{table} {id}: {field}: {e}")))
}
