//! Records kept depersonalised past their retention period (schema 9): written once by the
//! retention run, read in id order for statistics; no subject column to join on.

use pdv_store::{RetainedRow, StoreResult};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::{map_err, uuid_bytes};

pub(crate) async fn insert_retained(conn: &mut PgConnection, r: &RetainedRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO retained_records (retained_id, kind, category, rule, fields_ct, depersonalised_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
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
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: u32,
) -> StoreResult<Vec<RetainedRow>> {
    let after = after.map(|a| a.as_bytes().to_vec()).unwrap_or_default();
    let rows = sqlx::query(
        "SELECT retained_id, kind, category, rule, fields_ct, depersonalised_at
         FROM retained_records WHERE retained_id > $1 ORDER BY retained_id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(RetainedRow {
                id: Uuid::from_bytes(uuid_bytes(
                    r.try_get("retained_id").map_err(map_err)?,
                    "retained_id",
                )?),
                kind: r.try_get("kind").map_err(map_err)?,
                category: r.try_get("category").map_err(map_err)?,
                rule: r.try_get("rule").map_err(map_err)?,
                fields_ct: r.try_get("fields_ct").map_err(map_err)?,
                depersonalised_at_ms: r.try_get("depersonalised_at").map_err(map_err)?,
            })
        })
        .collect()
}
