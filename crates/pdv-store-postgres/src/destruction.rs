//! The destruction of one category and the destruction acts in PostgreSQL (schema version 7);
//! the same behaviour as the SQLite backend's (see there for the reasoning).

use pdv_core::{RecordId, SubjectId};
use pdv_store::{ActEntryRow, ActRow, CategoryKeyRow, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{corrupt, map_err, uuid_bytes};

/// Builds an [`ActRow`] from a row of one of the act queries below, which all select the same
/// columns.
macro_rules! act {
    ($r:expr) => {{
        let r = $r;
        Ok::<ActRow, pdv_store::StoreError>(ActRow {
            id: Uuid::from_bytes(uuid_bytes(r.act_id, "act_id")?),
            year: i16::try_from(r.year)
                .map_err(|_| corrupt("destruction_acts.year out of range"))?,
            seq: u32::try_from(r.seq).map_err(|_| corrupt("destruction_acts.seq out of range"))?,
            opened_at_ms: r.opened_at,
            trigger: r.trigger,
            header_ct: r.header_ct,
            closed_at_ms: r.closed_at,
            entries: r
                .entries
                .map(|n| {
                    u32::try_from(n).map_err(|_| corrupt("destruction_acts.entries out of range"))
                })
                .transpose()?,
            sha256: r.sha256,
            expires_on: r.expires_on,
            expired_at_ms: r.expired_at,
        })
    }};
}

pub(crate) async fn live_subjects(
    conn: &mut PgConnection,
    after: Option<SubjectId>,
    limit: u32,
) -> StoreResult<Vec<(SubjectId, String)>> {
    // bytea compares bytewise, so the order is the ids' byte order, as in SQLite.
    let rows = sqlx::query!(
        "SELECT s.subject_id, s.kind FROM subjects s
         WHERE ($1::bytea IS NULL OR s.subject_id > $1)
           AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = s.subject_id)
         ORDER BY s.subject_id
         LIMIT $2",
        after.map(|s| s.as_bytes().to_vec()),
        i64::from(limit)
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|r| {
            Ok((
                SubjectId::from_bytes(uuid_bytes(r.subject_id, "subject_id")?),
                r.kind,
            ))
        })
        .collect()
}

pub(crate) async fn category_key(
    conn: &mut PgConnection,
    subject: SubjectId,
    category: &str,
) -> StoreResult<Option<CategoryKeyRow>> {
    let row = sqlx::query!(
        "SELECT wrapped_key, created_at FROM category_keys
         WHERE subject_id = $1 AND category = $2
           AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)",
        &subject.as_bytes()[..],
        category
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    Ok(row.map(|r| CategoryKeyRow {
        subject,
        category: category.to_string(),
        wrapped: r.wrapped_key,
        created_at_ms: r.created_at,
    }))
}

pub(crate) async fn insert_category_key(
    conn: &mut PgConnection,
    k: &CategoryKeyRow,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO category_keys (subject_id, category, wrapped_key, created_at)
         VALUES ($1, $2, $3, $4)",
        &k.subject.as_bytes()[..],
        k.category,
        k.wrapped,
        k.created_at_ms
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn destroy_category(
    conn: &mut PgConnection,
    subject: SubjectId,
    category: &str,
    at_ms: i64,
) -> StoreResult<u64> {
    let s = &subject.as_bytes()[..];
    let mut deleted = 0;
    // Fields before their records (the foreign key), the key after the data it opens.
    deleted += sqlx::query!(
        "DELETE FROM pd_fields f USING pd_records r
         WHERE r.subject_id = f.subject_id AND r.record_id = f.record_id
           AND r.subject_id = $1 AND r.category = $2",
        s,
        category
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    deleted += sqlx::query!(
        "DELETE FROM pd_records WHERE subject_id = $1 AND category = $2",
        s,
        category
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    deleted += sqlx::query!(
        "DELETE FROM category_keys WHERE subject_id = $1 AND category = $2",
        s,
        category
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    // A tombstone only moves forward: an earlier time would let a restore bring back records
    // made between the two destructions.
    sqlx::query!(
        "INSERT INTO category_tombstones (subject_id, category, destroyed_at) VALUES ($1, $2, $3)
         ON CONFLICT (subject_id, category)
         DO UPDATE SET destroyed_at = GREATEST(category_tombstones.destroyed_at,
                                               excluded.destroyed_at)",
        s,
        category,
        at_ms
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(deleted)
}

pub(crate) async fn delete_record(
    conn: &mut PgConnection,
    subject: SubjectId,
    record: RecordId,
) -> StoreResult<u64> {
    let (s, r) = (&subject.as_bytes()[..], &record.as_bytes()[..]);
    let fields = sqlx::query!(
        "DELETE FROM pd_fields WHERE subject_id = $1 AND record_id = $2",
        s,
        r
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let records = sqlx::query!(
        "DELETE FROM pd_records WHERE subject_id = $1 AND record_id = $2",
        s,
        r
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(fields.rows_affected() + records.rows_affected())
}

pub(crate) async fn category_tombstones(
    conn: &mut PgConnection,
    subject: SubjectId,
) -> StoreResult<Vec<(String, i64)>> {
    // COLLATE "C" orders by bytes, as SQLite does, whatever the database's collation.
    let rows = sqlx::query!(
        r#"SELECT category, destroyed_at FROM category_tombstones
           WHERE subject_id = $1
             AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
           ORDER BY category COLLATE "C""#,
        &subject.as_bytes()[..]
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.category, r.destroyed_at))
        .collect())
}

pub(crate) async fn purge_destroyed_categories(conn: &mut PgConnection) -> StoreResult<u64> {
    // A record made after its category's destruction belongs to a new period of that category
    // (under a new key) and stays; one made at or before it must not come back from a backup.
    let fields = sqlx::query!(
        "DELETE FROM pd_fields f USING pd_records r, category_tombstones t
         WHERE r.subject_id = f.subject_id AND r.record_id = f.record_id
           AND t.subject_id = r.subject_id AND t.category = r.category
           AND r.created_at <= t.destroyed_at"
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let records = sqlx::query!(
        "DELETE FROM pd_records r USING category_tombstones t
         WHERE t.subject_id = r.subject_id AND t.category = r.category
           AND r.created_at <= t.destroyed_at"
    )
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let keys = sqlx::query!(
        "DELETE FROM category_keys k
         WHERE EXISTS (SELECT 1 FROM category_tombstones t
                       WHERE t.subject_id = k.subject_id AND t.category = k.category
                         AND k.created_at <= t.destroyed_at)
            OR NOT EXISTS (SELECT 1 FROM subjects s WHERE s.subject_id = k.subject_id)
            OR EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = k.subject_id)"
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(fields.rows_affected() + records.rows_affected() + keys.rows_affected())
}

pub(crate) async fn next_act_seq(conn: &mut PgConnection, year: i16) -> StoreResult<u32> {
    let max = sqlx::query_scalar!(
        "SELECT max(seq) FROM destruction_acts WHERE year = $1",
        i32::from(year)
    )
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    u32::try_from(max.unwrap_or(0) + 1).map_err(|_| corrupt("act numbers exhausted"))
}

pub(crate) async fn insert_act(conn: &mut PgConnection, a: &ActRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO destruction_acts (act_id, year, seq, opened_at, trigger, header_ct,
                                       closed_at, entries, sha256, expires_on, expired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &a.id.as_bytes()[..],
        i32::from(a.year),
        i64::from(a.seq),
        a.opened_at_ms,
        a.trigger,
        a.header_ct,
        a.closed_at_ms,
        a.entries.map(i64::from),
        a.sha256,
        a.expires_on,
        a.expired_at_ms,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn insert_act_entry(conn: &mut PgConnection, e: &ActEntryRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO destruction_act_entries (act_id, entry_no, subject_id, at, body_ct)
         VALUES ($1, $2, $3, $4, $5)",
        &e.act.as_bytes()[..],
        i64::from(e.entry_no),
        &e.subject.as_bytes()[..],
        e.at_ms,
        e.body_ct,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn act_entry_count(conn: &mut PgConnection, id: Uuid) -> StoreResult<u32> {
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM destruction_act_entries WHERE act_id = $1"#,
        &id.as_bytes()[..]
    )
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    u32::try_from(n).map_err(|_| corrupt("too many act entries"))
}

pub(crate) async fn act_by_id(conn: &mut PgConnection, id: Uuid) -> StoreResult<Option<ActRow>> {
    let row = sqlx::query!(
        "SELECT act_id, year, seq, opened_at, trigger, header_ct, closed_at, entries, sha256,
                expires_on, expired_at
         FROM destruction_acts WHERE act_id = $1",
        &id.as_bytes()[..]
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    match row {
        Some(r) => Ok(Some(act!(r)?)),
        None => Ok(None),
    }
}

pub(crate) async fn act_by_number(
    conn: &mut PgConnection,
    year: i16,
    seq: u32,
) -> StoreResult<Option<ActRow>> {
    let row = sqlx::query!(
        "SELECT act_id, year, seq, opened_at, trigger, header_ct, closed_at, entries, sha256,
                expires_on, expired_at
         FROM destruction_acts WHERE year = $1 AND seq = $2",
        i32::from(year),
        i64::from(seq)
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    match row {
        Some(r) => Ok(Some(act!(r)?)),
        None => Ok(None),
    }
}

pub(crate) async fn acts(
    conn: &mut PgConnection,
    after: Option<(i16, u32)>,
    limit: u32,
    open_only: bool,
) -> StoreResult<Vec<ActRow>> {
    let (after_year, after_seq) = after.unwrap_or((i16::MIN, 0));
    let rows = sqlx::query!(
        "SELECT act_id, year, seq, opened_at, trigger, header_ct, closed_at, entries, sha256,
                expires_on, expired_at
         FROM destruction_acts
         WHERE (year, seq) > ($1, $2) AND (NOT $3 OR closed_at IS NULL)
         ORDER BY year, seq
         LIMIT $4",
        i32::from(after_year),
        i64::from(after_seq),
        open_only,
        i64::from(limit)
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| act!(r)).collect()
}

pub(crate) async fn act_entries(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Vec<ActEntryRow>> {
    let rows = sqlx::query!(
        "SELECT entry_no, subject_id, at, body_ct FROM destruction_act_entries
         WHERE act_id = $1 ORDER BY entry_no",
        &id.as_bytes()[..]
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|r| {
            Ok(ActEntryRow {
                act: id,
                entry_no: u32::try_from(r.entry_no)
                    .map_err(|_| corrupt("entry_no out of range"))?,
                subject: SubjectId::from_bytes(uuid_bytes(r.subject_id, "subject_id")?),
                at_ms: r.at,
                body_ct: r.body_ct,
            })
        })
        .collect()
}

pub(crate) async fn close_act(
    conn: &mut PgConnection,
    id: Uuid,
    closed_at_ms: i64,
    entries: u32,
    sha256: &str,
    expires_on: &str,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE destruction_acts SET closed_at = $1, entries = $2, sha256 = $3, expires_on = $4
         WHERE act_id = $5 AND closed_at IS NULL",
        closed_at_ms,
        i64::from(entries),
        sha256,
        expires_on,
        &id.as_bytes()[..]
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn expiring_acts(conn: &mut PgConnection, day: &str) -> StoreResult<Vec<ActRow>> {
    // COLLATE "C" compares `YYYY-MM-DD` bytewise, as SQLite does, whatever the database's
    // collation.
    let rows = sqlx::query!(
        r#"SELECT act_id, year, seq, opened_at, trigger, header_ct, closed_at, entries, sha256,
                  expires_on, expired_at
           FROM destruction_acts
           WHERE closed_at IS NOT NULL AND expired_at IS NULL
             AND expires_on COLLATE "C" <= $1
           ORDER BY year, seq"#,
        day
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| act!(r)).collect()
}

pub(crate) async fn expire_act(conn: &mut PgConnection, id: Uuid, at_ms: i64) -> StoreResult<u64> {
    let a = &id.as_bytes()[..];
    let deleted = sqlx::query!("DELETE FROM destruction_act_entries WHERE act_id = $1", a)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    // The first expiry time stays, like every other "once" transition of the store.
    sqlx::query!(
        "UPDATE destruction_acts SET expired_at = $1 WHERE act_id = $2 AND expired_at IS NULL",
        at_ms,
        a
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(deleted)
}
