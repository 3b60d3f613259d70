//! Backup, restore and crypto-shredding in PostgreSQL: moving whole tables as [`Value`] rows, and
//! the key store's tombstones.
//!
//! Whole-table statements are built at run time from the static table list in
//! `pdv_store::backup` (never from input; every value is a bound parameter), so they cannot be
//! checked by the `query!` macros; the per-subject statements are.

use futures_util::TryStreamExt;
use pdv_core::SubjectId;
use pdv_store::backup::{ColumnType, INSERT_BATCH};
use pdv_store::{BackupRow, StoreError, StoreResult, SweepOutcome, TableSpec, Value};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

use crate::{corrupt, map_err, uuid_bytes};

pub(crate) async fn table_names(pool: &PgPool) -> StoreResult<Vec<String>> {
    let names = sqlx::query_scalar!(
        r#"SELECT table_name AS "name!" FROM information_schema.tables
           WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
             AND table_name <> '_sqlx_migrations'
           ORDER BY table_name"#
    )
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    Ok(names)
}

fn select_sql(table: &TableSpec) -> String {
    // Text keys sort by bytes, as in SQLite, so both backends write rows in the same order.
    let order: Vec<String> = table
        .key
        .iter()
        .map(|k| {
            let text = table
                .columns
                .iter()
                .any(|c| c.name == *k && c.ty == ColumnType::Text);
            if text {
                format!("{k} COLLATE \"C\"")
            } else {
                (*k).to_string()
            }
        })
        .collect();
    // The leftovers of a shredded subject that the sweep has not reached yet stay out of the
    // archive, as if already swept.
    let filter = if pdv_store::backup::swept(table) {
        format!(
            " WHERE NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = {}.subject_id)",
            table.name
        )
    } else {
        String::new()
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        table.column_names().join(", "),
        table.name,
        order.join(", ")
    )
}

fn decode(row: &PgRow, table: &TableSpec) -> StoreResult<BackupRow> {
    let mut out = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        let value = match column.ty {
            ColumnType::Int => row
                .try_get::<Option<i64>, _>(i)
                .map_err(map_err)?
                .map(Value::Int),
            ColumnType::Int32 => row
                .try_get::<Option<i32>, _>(i)
                .map_err(map_err)?
                .map(|n| Value::Int(i64::from(n))),
            ColumnType::Text => row
                .try_get::<Option<String>, _>(i)
                .map_err(map_err)?
                .map(Value::Text),
            ColumnType::Bytes => row
                .try_get::<Option<Vec<u8>>, _>(i)
                .map_err(map_err)?
                .map(Value::Bytes),
            ColumnType::TextList => row
                .try_get::<Option<Vec<String>>, _>(i)
                .map_err(map_err)?
                .map(Value::TextList),
        };
        let value = value.unwrap_or(Value::Null);
        if !value.fits(column) {
            return Err(corrupt(&format!(
                "{}.{} holds a value of the wrong type",
                table.name, column.name
            )));
        }
        out.push(value);
    }
    Ok(out)
}

pub(crate) async fn export(
    pool: &PgPool,
    tables: &[&'static TableSpec],
    sink: &mut (dyn FnMut(&'static TableSpec, BackupRow) -> StoreResult<()> + Send),
) -> StoreResult<()> {
    // One REPEATABLE READ snapshot for every table: the archive is consistent across tables,
    // and it takes no lock, so writers are not held up by a long backup.
    let mut tx = pool.begin().await.map_err(map_err)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    for &table in tables {
        let sql = select_sql(table);
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await.map_err(map_err)? {
            sink(table, decode(&row, table)?)?;
        }
    }
    tx.rollback().await.map_err(map_err)
}

pub(crate) async fn count_rows(conn: &mut PgConnection, table: &TableSpec) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        table.name
    )))
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    Ok(n as u64)
}

pub(crate) async fn clear_table(conn: &mut PgConnection, table: &str) -> StoreResult<u64> {
    if !pdv_store::backup::known_table(table) {
        return Err(StoreError::Corrupt(format!("no table {table:?} to clear")));
    }
    let done = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}

pub(crate) async fn insert_rows(
    conn: &mut PgConnection,
    table: &TableSpec,
    rows: &[BackupRow],
    skip_existing: bool,
) -> StoreResult<()> {
    let width = table.columns.len();
    for batch in rows.chunks(INSERT_BATCH) {
        let mut n = 0;
        let tuples: Vec<String> = batch
            .iter()
            .map(|_| {
                let params: Vec<String> = (0..width)
                    .map(|_| {
                        n += 1;
                        format!("${n}")
                    })
                    .collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            table.column_names().join(", "),
            tuples.join(", ")
        );
        if skip_existing {
            sql.push_str(" ON CONFLICT DO NOTHING");
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in batch {
            if row.len() != width {
                return Err(StoreError::Corrupt(format!(
                    "a {} row has {} values for {width} columns",
                    table.name,
                    row.len()
                )));
            }
            for (value, column) in row.iter().zip(table.columns) {
                // A NULL still needs the column's type, or PostgreSQL cannot infer the parameter.
                query = match (value, column.ty) {
                    (Value::Null, ColumnType::Int) => query.bind(None::<i64>),
                    (Value::Null, ColumnType::Int32) => query.bind(None::<i32>),
                    (Value::Null, ColumnType::Text) => query.bind(None::<String>),
                    (Value::Null, ColumnType::Bytes) => query.bind(None::<Vec<u8>>),
                    (Value::Null, ColumnType::TextList) => query.bind(None::<Vec<String>>),
                    (Value::Int(v), ColumnType::Int32) => {
                        query.bind(i32::try_from(*v).map_err(|_| {
                            StoreError::Corrupt(format!(
                                "{}.{} is out of range",
                                table.name, column.name
                            ))
                        })?)
                    }
                    (Value::Int(v), _) => query.bind(*v),
                    (Value::Text(s), _) => query.bind(s.clone()),
                    (Value::Bytes(b), _) => query.bind(b.clone()),
                    (Value::TextList(list), _) => query.bind(list.clone()),
                };
            }
        }
        query.execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

pub(crate) async fn purge_subject(conn: &mut PgConnection, subject: SubjectId) -> StoreResult<u64> {
    let id = &subject.as_bytes()[..];
    let mut deleted = 0;
    for table in ["transfers", "recipient_withdrawals"] {
        // Runtime statements: the table names come from this fixed list.
        deleted += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE subject_id = $1"
        )))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    }
    // Children before parents; the key last, so a failure before it leaves the key to retry with.
    deleted += sqlx::query!("DELETE FROM pd_fields WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM pd_records WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM subject_identifiers WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM consents WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM contracts WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM anchor_events WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM blocks WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    // The record of destroyed categories: the subject's own tombstone now covers them all.
    deleted += sqlx::query!("DELETE FROM category_tombstones WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    // The category keys before the data key they are wrapped under.
    deleted += sqlx::query!("DELETE FROM category_keys WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM subject_keys WHERE subject_id = $1", id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    Ok(deleted)
}

/// The key shred: the data key, the tombstone and the sweep queue; one statement per table for the
/// whole batch, each an index scan of the primary key over the array of ids.
pub(crate) async fn shred_keys(
    conn: &mut PgConnection,
    subjects: &[SubjectId],
    at_ms: i64,
) -> StoreResult<u64> {
    if subjects.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Vec<u8>> = subjects.iter().map(|s| s.as_bytes().to_vec()).collect();
    let deleted = sqlx::query!(
        "DELETE FROM subject_keys WHERE subject_id = ANY($1)",
        &ids[..]
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    sqlx::query!(
        "INSERT INTO key_tombstones (subject_id, shredded_at)
         SELECT DISTINCT id, $2::bigint FROM unnest($1::bytea[]) AS u (id)
         ON CONFLICT DO NOTHING",
        &ids[..],
        at_ms
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query!(
        "INSERT INTO sweep_queue (subject_id, shredded_at)
         SELECT DISTINCT id, $2::bigint FROM unnest($1::bytea[]) AS u (id)
         ON CONFLICT DO NOTHING",
        &ids[..],
        at_ms
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(deleted)
}

/// The sweep: the first `limit` queued subjects by id, their rows in every table of
/// `pdv_store::backup::SWEPT_TABLES` (children before parents), and their queue rows.
pub(crate) async fn sweep_shredded(
    conn: &mut PgConnection,
    limit: u32,
) -> StoreResult<SweepOutcome> {
    let ids = sqlx::query_scalar!(
        "SELECT subject_id FROM sweep_queue ORDER BY subject_id LIMIT $1",
        i64::from(limit)
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    if ids.is_empty() {
        return Ok(SweepOutcome::default());
    }
    let ids = &ids[..];
    let mut deleted = 0;
    for table in ["transfers", "recipient_withdrawals"] {
        // Runtime statements: the table names come from this fixed list.
        deleted += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE subject_id = ANY($1)"
        )))
        .bind(ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    }
    deleted += sqlx::query!("DELETE FROM anchor_events WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM pd_fields WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM pd_records WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!(
        "DELETE FROM subject_identifiers WHERE subject_id = ANY($1)",
        ids
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    deleted += sqlx::query!("DELETE FROM consents WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM contracts WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!("DELETE FROM blocks WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    deleted += sqlx::query!(
        "DELETE FROM category_tombstones WHERE subject_id = ANY($1)",
        ids
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    deleted += sqlx::query!("DELETE FROM category_keys WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    sqlx::query!("DELETE FROM sweep_queue WHERE subject_id = ANY($1)", ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(SweepOutcome {
        subjects: ids.len() as u64,
        rows: deleted,
    })
}

pub(crate) async fn insert_tombstone(
    conn: &mut PgConnection,
    subject: SubjectId,
    at_ms: i64,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "INSERT INTO key_tombstones (subject_id, shredded_at) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
        &subject.as_bytes()[..],
        at_ms
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn tombstone(
    conn: &mut PgConnection,
    subject: SubjectId,
) -> StoreResult<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT shredded_at FROM key_tombstones WHERE subject_id = $1",
        &subject.as_bytes()[..]
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)
}

fn subject_ids(ids: Vec<Vec<u8>>) -> StoreResult<Vec<SubjectId>> {
    ids.into_iter()
        .map(|b| uuid_bytes(b, "subject_id").map(SubjectId::from_bytes))
        .collect()
}

pub(crate) async fn tombstoned_subjects(conn: &mut PgConnection) -> StoreResult<Vec<SubjectId>> {
    let ids = sqlx::query_scalar!(
        "SELECT s.subject_id FROM subjects s JOIN key_tombstones t USING (subject_id)
         ORDER BY s.subject_id"
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    subject_ids(ids)
}

pub(crate) async fn prune_keys(conn: &mut PgConnection) -> StoreResult<u64> {
    // Category keys first: they are wrapped under the subject's data key.
    let categories = sqlx::query!(
        "DELETE FROM category_keys k
         WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.subject_id = k.subject_id)
            OR EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = k.subject_id)"
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let subjects = sqlx::query!(
        "DELETE FROM subject_keys k
         WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.subject_id = k.subject_id)
            OR EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = k.subject_id)"
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(categories.rows_affected() + subjects.rows_affected())
}

pub(crate) async fn subjects_without_key(conn: &mut PgConnection) -> StoreResult<Vec<SubjectId>> {
    let ids = sqlx::query_scalar!(
        "SELECT s.subject_id FROM subjects s
         WHERE NOT EXISTS (SELECT 1 FROM subject_keys k WHERE k.subject_id = s.subject_id)
           AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = s.subject_id)
         ORDER BY s.subject_id"
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    subject_ids(ids)
}
