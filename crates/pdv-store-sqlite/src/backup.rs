//! Backup, restore and crypto-shredding in SQLite: moving whole tables as [`Value`] rows, and
//! the key store's tombstones.
//!
//! Table and column names in the SQL built here come only from the static table list in
//! `pdv_store::backup`, never from input, and every value is a bound parameter.

use futures_util::TryStreamExt;
use pdv_core::SubjectId;
use pdv_store::backup::{ColumnType, INSERT_BATCH, SWEPT_TABLES};
use pdv_store::{BackupRow, StoreError, StoreResult, SweepOutcome, TableSpec, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool};

use crate::{corrupt, json_list, map_err, uuid_bytes};

/// The tables of wrapped keys: category keys, then the data key they are wrapped under.
const SUBJECT_KEY_TABLES: [&str; 2] = ["category_keys", "subject_keys"];

pub(crate) async fn table_names(pool: &SqlitePool) -> StoreResult<Vec<String>> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .map_err(map_err)
}

fn select_sql(table: &TableSpec) -> String {
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
        table.key.join(", ")
    )
}

fn decode(row: &SqliteRow, table: &TableSpec) -> StoreResult<BackupRow> {
    let mut out = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        let value = match column.ty {
            ColumnType::Int | ColumnType::Int32 => row
                .try_get::<Option<i64>, _>(i)
                .map_err(map_err)?
                .map(Value::Int),
            ColumnType::Text => row
                .try_get::<Option<String>, _>(i)
                .map_err(map_err)?
                .map(Value::Text),
            ColumnType::Bytes => row
                .try_get::<Option<Vec<u8>>, _>(i)
                .map_err(map_err)?
                .map(Value::Bytes),
            ColumnType::TextList => match row.try_get::<Option<String>, _>(i).map_err(map_err)? {
                Some(text) => Some(Value::TextList(json_list(&text)?)),
                None => None,
            },
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
    pool: &SqlitePool,
    tables: &[&'static TableSpec],
    sink: &mut (dyn FnMut(&'static TableSpec, BackupRow) -> StoreResult<()> + Send),
) -> StoreResult<()> {
    // In WAL mode a read transaction sees one snapshot from its first read to its end, and
    // writers go on committing beside it.
    let mut tx = pool.begin().await.map_err(map_err)?;
    for &table in tables {
        let sql = select_sql(table);
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await.map_err(map_err)? {
            sink(table, decode(&row, table)?)?;
        }
    }
    tx.rollback().await.map_err(map_err)
}

pub(crate) async fn count_rows(conn: &mut SqliteConnection, table: &TableSpec) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        table.name
    )))
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    Ok(n as u64)
}

pub(crate) async fn clear_table(conn: &mut SqliteConnection, table: &str) -> StoreResult<u64> {
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
    conn: &mut SqliteConnection,
    table: &TableSpec,
    rows: &[BackupRow],
    skip_existing: bool,
) -> StoreResult<()> {
    let width = table.columns.len();
    let one = format!("({})", vec!["?"; width].join(", "));
    for batch in rows.chunks(INSERT_BATCH) {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            table.column_names().join(", "),
            vec![one.as_str(); batch.len()].join(", ")
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
            for value in row {
                query = match value {
                    Value::Null => query.bind(None::<i64>),
                    Value::Int(n) => query.bind(*n),
                    Value::Text(s) => query.bind(s.clone()),
                    Value::Bytes(b) => query.bind(b.clone()),
                    Value::TextList(list) => query.bind(
                        serde_json::to_string(list).expect("a list of strings always serialises"),
                    ),
                };
            }
        }
        query.execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

pub(crate) async fn purge_subject(
    conn: &mut SqliteConnection,
    subject: SubjectId,
) -> StoreResult<u64> {
    let id = &subject.as_bytes()[..];
    let mut deleted = 0;
    // The swept tables end with the category keys, so the data key they are wrapped under goes
    // last.
    for table in SWEPT_TABLES.iter().chain(["subject_keys"].iter()) {
        deleted += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE subject_id = ?"
        )))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    }
    Ok(deleted)
}

/// Subject ids as one JSON array of hex strings, which `json_each` and `unhex` turn back into a
/// set inside one statement: a batch costs one statement per table, not one per subject and table.
fn id_list(subjects: &[SubjectId]) -> String {
    serde_json::to_string(
        &subjects
            .iter()
            .map(|s| hex::encode(s.as_bytes()))
            .collect::<Vec<_>>(),
    )
    .expect("strings serialise")
}

/// The key shred: the data key, the tombstone and the sweep queue, one row each per subject, each
/// a seek by primary key in a table of its own (WITHOUT ROWID since schema 8, so one B-tree).
pub(crate) async fn shred_keys(
    conn: &mut SqliteConnection,
    subjects: &[SubjectId],
    at_ms: i64,
) -> StoreResult<u64> {
    if subjects.is_empty() {
        return Ok(0);
    }
    let ids = id_list(subjects);
    let deleted = sqlx::query(
        "DELETE FROM subject_keys WHERE subject_id IN (SELECT unhex(value) FROM json_each(?))",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    for table in ["key_tombstones", "sweep_queue"] {
        // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not a join.
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} (subject_id, shredded_at)
             SELECT unhex(value), ? FROM json_each(?) WHERE true
             ON CONFLICT DO NOTHING"
        )))
        .bind(at_ms)
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    Ok(deleted)
}

/// The connection's scratch table of the subjects one sweep transaction takes; created on every
/// new connection (see `SqliteStore::open`), in memory, seen by that connection alone.
pub(crate) const CREATE_SWEEP_BATCH: &str =
    "CREATE TEMP TABLE IF NOT EXISTS sweep_batch (subject_id BLOB PRIMARY KEY) WITHOUT ROWID";

/// The sweep: the first `limit` queued subjects by id, their rows in every swept table, and their
/// queue rows, all in the caller's transaction.
///
/// A sweep transaction is what a foreground command may have to wait behind, so it is kept to
/// three calls into SQLite whatever the number of tables: the subjects are taken into the scratch
/// table, then one script deletes from every table by it (a script has no parameters, and needs
/// none: it names only tables of the static list and the scratch table).
pub(crate) async fn sweep_shredded(
    conn: &mut SqliteConnection,
    limit: u32,
) -> StoreResult<SweepOutcome> {
    let subjects = sqlx::query(
        "INSERT INTO temp.sweep_batch (subject_id)
         SELECT subject_id FROM sweep_queue ORDER BY subject_id LIMIT ?",
    )
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    if subjects == 0 {
        return Ok(SweepOutcome::default());
    }
    let script: String = SWEPT_TABLES
        .iter()
        .chain(["sweep_queue", "temp.sweep_batch"].iter())
        .map(|table| {
            if *table == "temp.sweep_batch" {
                format!("DELETE FROM {table};\n")
            } else {
                format!(
                    "DELETE FROM {table} WHERE subject_id IN (SELECT subject_id FROM temp.sweep_batch);\n"
                )
            }
        })
        .collect();
    let deleted = sqlx::raw_sql(AssertSqlSafe(script))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    Ok(SweepOutcome {
        subjects,
        // The script's count includes the queue rows and the scratch rows, one each per subject.
        rows: deleted - 2 * subjects,
    })
}

pub(crate) async fn insert_tombstone(
    conn: &mut SqliteConnection,
    subject: SubjectId,
    at_ms: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO key_tombstones (subject_id, shredded_at) VALUES (?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(&subject.as_bytes()[..])
    .bind(at_ms)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn tombstone(
    conn: &mut SqliteConnection,
    subject: SubjectId,
) -> StoreResult<Option<i64>> {
    sqlx::query_scalar("SELECT shredded_at FROM key_tombstones WHERE subject_id = ?")
        .bind(&subject.as_bytes()[..])
        .fetch_optional(conn)
        .await
        .map_err(map_err)
}

async fn subject_ids(
    conn: &mut SqliteConnection,
    sql: &'static str,
) -> StoreResult<Vec<SubjectId>> {
    let rows = sqlx::query(sql).fetch_all(conn).await.map_err(map_err)?;
    rows.iter()
        .map(|r| uuid_bytes(r, "subject_id").map(SubjectId::from_bytes))
        .collect()
}

pub(crate) async fn tombstoned_subjects(
    conn: &mut SqliteConnection,
) -> StoreResult<Vec<SubjectId>> {
    subject_ids(
        conn,
        "SELECT s.subject_id FROM subjects s JOIN key_tombstones t USING (subject_id)
         ORDER BY s.subject_id",
    )
    .await
}

pub(crate) async fn prune_keys(conn: &mut SqliteConnection) -> StoreResult<u64> {
    let mut deleted = 0;
    for table in SUBJECT_KEY_TABLES {
        deleted += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table}
             WHERE subject_id NOT IN (SELECT subject_id FROM subjects)
                OR subject_id IN (SELECT subject_id FROM key_tombstones)"
        )))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    }
    Ok(deleted)
}

pub(crate) async fn subjects_without_key(
    conn: &mut SqliteConnection,
) -> StoreResult<Vec<SubjectId>> {
    subject_ids(
        conn,
        "SELECT subject_id FROM subjects
         WHERE subject_id NOT IN (SELECT subject_id FROM subject_keys)
           AND subject_id NOT IN (SELECT subject_id FROM key_tombstones)
         ORDER BY subject_id",
    )
    .await
}
