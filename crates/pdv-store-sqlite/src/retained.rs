//! Records kept depersonalised past their retention period (schema 9): written once by the
//! retention run, read in id order for statistics; no subject column to join on.

use pdv_store::{RetainedRow, StoreResult};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::{map_err, uuid_bytes};

pub(crate) async fn insert_retained(
    conn: &mut SqliteConnection,
    r: &RetainedRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO retained_records (retained_id, kind, category, rule, fields_ct, depersonalised_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.id.as_bytes()[..])
    .bind(&r.kind)
    .bind(&r.category)
    .bind(&r.rule)
    .bind(&r.fields_ct)
    .bind(r.depersonalised_at_ms)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn retained(
    conn: &mut SqliteConnection,
    after: Option<Uuid>,
    limit: u32,
) -> StoreResult<Vec<RetainedRow>> {
    let after = after.map(|a| a.as_bytes().to_vec()).unwrap_or_default();
    let rows = sqlx::query(
        "SELECT retained_id, kind, category, rule, fields_ct, depersonalised_at
         FROM retained_records WHERE retained_id > ? ORDER BY retained_id LIMIT ?",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(RetainedRow {
                id: Uuid::from_bytes(uuid_bytes(r, "retained_id")?),
                kind: r.try_get("kind").map_err(map_err)?,
                category: r.try_get("category").map_err(map_err)?,
                rule: r.try_get("rule").map_err(map_err)?,
                fields_ct: r.try_get("fields_ct").map_err(map_err)?,
                depersonalised_at_ms: r.try_get("depersonalised_at").map_err(map_err)?,
            })
        })
        .collect()
}
