//! The destruction of one category and the destruction acts in SQLite (schema version 7).
//!
//! A category is destroyed by deleting its records and fields and its category key, which makes
//! every surviving copy of the category's ciphertext unreadable; its tombstone outlives both so
//! that a restore of an older backup deletes the records again. A destruction act is written
//! when opened, gains entries while open, is closed once, and when it expires loses its entries
//! while the row (number and hash) stays.

use pdv_core::{RecordId, SubjectId};
use pdv_store::{ActEntryRow, ActRow, CategoryKeyRow, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::{corrupt, map_err, uuid_bytes};

pub(crate) async fn live_subjects(
    conn: &mut SqliteConnection,
    after: Option<SubjectId>,
    limit: u32,
) -> StoreResult<Vec<(SubjectId, String)>> {
    // BLOBs compare with memcmp, so the order is the ids' byte order, as in PostgreSQL.
    let rows = sqlx::query(
        "SELECT subject_id, kind FROM subjects
         WHERE (?1 IS NULL OR subject_id > ?1)
           AND subject_id NOT IN (SELECT subject_id FROM key_tombstones)
         ORDER BY subject_id
         LIMIT ?2",
    )
    .bind(after.map(|s| s.as_bytes().to_vec()))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                SubjectId::from_bytes(uuid_bytes(r, "subject_id")?),
                r.try_get("kind").map_err(map_err)?,
            ))
        })
        .collect()
}

pub(crate) async fn category_key(
    conn: &mut SqliteConnection,
    subject: SubjectId,
    category: &str,
) -> StoreResult<Option<CategoryKeyRow>> {
    let row = sqlx::query(
        "SELECT wrapped_key, created_at FROM category_keys
         WHERE subject_id = ?1 AND category = ?2
           AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)",
    )
    .bind(&subject.as_bytes()[..])
    .bind(category)
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    row.map(|r| {
        Ok(CategoryKeyRow {
            subject,
            category: category.to_string(),
            wrapped: r.try_get("wrapped_key").map_err(map_err)?,
            created_at_ms: r.try_get("created_at").map_err(map_err)?,
        })
    })
    .transpose()
}

pub(crate) async fn insert_category_key(
    conn: &mut SqliteConnection,
    k: &CategoryKeyRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO category_keys (subject_id, category, wrapped_key, created_at)
         VALUES (?, ?, ?, ?)",
    )
    .bind(&k.subject.as_bytes()[..])
    .bind(&k.category)
    .bind(&k.wrapped)
    .bind(k.created_at_ms)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn destroy_category(
    conn: &mut SqliteConnection,
    subject: SubjectId,
    category: &str,
    at_ms: i64,
) -> StoreResult<u64> {
    let s = &subject.as_bytes()[..];
    let mut deleted = 0;
    // Fields before their records (the foreign key), the key after the data it opens.
    for sql in [
        "DELETE FROM pd_fields WHERE subject_id = ?1 AND record_id IN
           (SELECT record_id FROM pd_records WHERE subject_id = ?1 AND category = ?2)",
        "DELETE FROM pd_records WHERE subject_id = ?1 AND category = ?2",
        "DELETE FROM category_keys WHERE subject_id = ?1 AND category = ?2",
    ] {
        deleted += sqlx::query(sql)
            .bind(s)
            .bind(category)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?
            .rows_affected();
    }
    // A tombstone only moves forward: an earlier time would let a restore bring back records
    // made between the two destructions.
    sqlx::query(
        "INSERT INTO category_tombstones (subject_id, category, destroyed_at) VALUES (?, ?, ?)
         ON CONFLICT (subject_id, category)
         DO UPDATE SET destroyed_at = max(destroyed_at, excluded.destroyed_at)",
    )
    .bind(s)
    .bind(category)
    .bind(at_ms)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(deleted)
}

pub(crate) async fn delete_record(
    conn: &mut SqliteConnection,
    subject: SubjectId,
    record: RecordId,
) -> StoreResult<u64> {
    let (s, r) = (&subject.as_bytes()[..], &record.as_bytes()[..]);
    let mut deleted = 0;
    for sql in [
        "DELETE FROM pd_fields WHERE subject_id = ? AND record_id = ?",
        "DELETE FROM pd_records WHERE subject_id = ? AND record_id = ?",
    ] {
        deleted += sqlx::query(sql)
            .bind(s)
            .bind(r)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?
            .rows_affected();
    }
    Ok(deleted)
}

pub(crate) async fn category_tombstones(
    conn: &mut SqliteConnection,
    subject: SubjectId,
) -> StoreResult<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT category, destroyed_at FROM category_tombstones
         WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
         ORDER BY category",
    )
    .bind(&subject.as_bytes()[..])
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("category").map_err(map_err)?,
                r.try_get("destroyed_at").map_err(map_err)?,
            ))
        })
        .collect()
}

pub(crate) async fn purge_destroyed_categories(conn: &mut SqliteConnection) -> StoreResult<u64> {
    let mut deleted = 0;
    // A record made after its category's destruction belongs to a new period of that category
    // (under a new key) and stays; one made at or before it must not come back from a backup.
    for sql in [
        "DELETE FROM pd_fields WHERE EXISTS (
            SELECT 1 FROM pd_records r
            JOIN category_tombstones t ON t.subject_id = r.subject_id AND t.category = r.category
            WHERE r.subject_id = pd_fields.subject_id AND r.record_id = pd_fields.record_id
              AND r.created_at <= t.destroyed_at)",
        "DELETE FROM pd_records WHERE EXISTS (
            SELECT 1 FROM category_tombstones t
            WHERE t.subject_id = pd_records.subject_id AND t.category = pd_records.category
              AND pd_records.created_at <= t.destroyed_at)",
        "DELETE FROM category_keys
         WHERE EXISTS (
                SELECT 1 FROM category_tombstones t
                WHERE t.subject_id = category_keys.subject_id
                  AND t.category = category_keys.category
                  AND category_keys.created_at <= t.destroyed_at)
            OR subject_id NOT IN (SELECT subject_id FROM subjects)
            OR subject_id IN (SELECT subject_id FROM key_tombstones)",
    ] {
        deleted += sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?
            .rows_affected();
    }
    Ok(deleted)
}

fn act(row: &SqliteRow) -> StoreResult<ActRow> {
    let year: i64 = row.try_get("year").map_err(map_err)?;
    let seq: i64 = row.try_get("seq").map_err(map_err)?;
    let entries: Option<i64> = row.try_get("entries").map_err(map_err)?;
    Ok(ActRow {
        id: Uuid::from_bytes(uuid_bytes(row, "act_id")?),
        year: i16::try_from(year).map_err(|_| corrupt("destruction_acts.year out of range"))?,
        seq: u32::try_from(seq).map_err(|_| corrupt("destruction_acts.seq out of range"))?,
        opened_at_ms: row.try_get("opened_at").map_err(map_err)?,
        trigger: row.try_get("trigger").map_err(map_err)?,
        header_ct: row.try_get("header_ct").map_err(map_err)?,
        closed_at_ms: row.try_get("closed_at").map_err(map_err)?,
        entries: entries
            .map(|n| u32::try_from(n).map_err(|_| corrupt("destruction_acts.entries out of range")))
            .transpose()?,
        sha256: row.try_get("sha256").map_err(map_err)?,
        expires_on: row.try_get("expires_on").map_err(map_err)?,
        expired_at_ms: row.try_get("expired_at").map_err(map_err)?,
    })
}

pub(crate) async fn next_act_seq(conn: &mut SqliteConnection, year: i16) -> StoreResult<u32> {
    let max: Option<i64> =
        sqlx::query_scalar("SELECT max(seq) FROM destruction_acts WHERE year = ?")
            .bind(i64::from(year))
            .fetch_one(conn)
            .await
            .map_err(map_err)?;
    u32::try_from(max.unwrap_or(0) + 1).map_err(|_| corrupt("act numbers exhausted"))
}

pub(crate) async fn insert_act(conn: &mut SqliteConnection, a: &ActRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO destruction_acts (act_id, year, seq, opened_at, trigger, header_ct,
                                       closed_at, entries, sha256, expires_on, expired_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.id.as_bytes()[..])
    .bind(i64::from(a.year))
    .bind(i64::from(a.seq))
    .bind(a.opened_at_ms)
    .bind(&a.trigger)
    .bind(&a.header_ct)
    .bind(a.closed_at_ms)
    .bind(a.entries.map(i64::from))
    .bind(&a.sha256)
    .bind(&a.expires_on)
    .bind(a.expired_at_ms)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn insert_act_entry(
    conn: &mut SqliteConnection,
    e: &ActEntryRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO destruction_act_entries (act_id, entry_no, subject_id, at, body_ct)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&e.act.as_bytes()[..])
    .bind(i64::from(e.entry_no))
    .bind(&e.subject.as_bytes()[..])
    .bind(e.at_ms)
    .bind(&e.body_ct)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn act_entry_count(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<u32> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM destruction_act_entries WHERE act_id = ?")
            .bind(&id.as_bytes()[..])
            .fetch_one(conn)
            .await
            .map_err(map_err)?;
    u32::try_from(n).map_err(|_| corrupt("too many act entries"))
}

pub(crate) async fn act_by_id(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> StoreResult<Option<ActRow>> {
    let row = sqlx::query("SELECT * FROM destruction_acts WHERE act_id = ?")
        .bind(&id.as_bytes()[..])
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(act).transpose()
}

pub(crate) async fn act_by_number(
    conn: &mut SqliteConnection,
    year: i16,
    seq: u32,
) -> StoreResult<Option<ActRow>> {
    let row = sqlx::query("SELECT * FROM destruction_acts WHERE year = ? AND seq = ?")
        .bind(i64::from(year))
        .bind(i64::from(seq))
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(act).transpose()
}

pub(crate) async fn acts(
    conn: &mut SqliteConnection,
    after: Option<(i16, u32)>,
    limit: u32,
    open_only: bool,
) -> StoreResult<Vec<ActRow>> {
    let (after_year, after_seq) = after.unwrap_or((i16::MIN, 0));
    let rows = sqlx::query(
        "SELECT * FROM destruction_acts
         WHERE (year, seq) > (?1, ?2) AND (?3 = 0 OR closed_at IS NULL)
         ORDER BY year, seq
         LIMIT ?4",
    )
    .bind(i64::from(after_year))
    .bind(i64::from(after_seq))
    .bind(i64::from(open_only))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter().map(act).collect()
}

pub(crate) async fn act_entries(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> StoreResult<Vec<ActEntryRow>> {
    let rows = sqlx::query(
        "SELECT entry_no, subject_id, at, body_ct FROM destruction_act_entries
         WHERE act_id = ? ORDER BY entry_no",
    )
    .bind(&id.as_bytes()[..])
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let no: i64 = r.try_get("entry_no").map_err(map_err)?;
            Ok(ActEntryRow {
                act: id,
                entry_no: u32::try_from(no).map_err(|_| corrupt("entry_no out of range"))?,
                subject: SubjectId::from_bytes(uuid_bytes(r, "subject_id")?),
                at_ms: r.try_get("at").map_err(map_err)?,
                body_ct: r.try_get("body_ct").map_err(map_err)?,
            })
        })
        .collect()
}

pub(crate) async fn close_act(
    conn: &mut SqliteConnection,
    id: Uuid,
    closed_at_ms: i64,
    entries: u32,
    sha256: &str,
    expires_on: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE destruction_acts SET closed_at = ?, entries = ?, sha256 = ?, expires_on = ?
         WHERE act_id = ? AND closed_at IS NULL",
    )
    .bind(closed_at_ms)
    .bind(i64::from(entries))
    .bind(sha256)
    .bind(expires_on)
    .bind(&id.as_bytes()[..])
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn expiring_acts(
    conn: &mut SqliteConnection,
    day: &str,
) -> StoreResult<Vec<ActRow>> {
    // `YYYY-MM-DD` text compares in date order; SQLite's default collation is bytewise.
    let rows = sqlx::query(
        "SELECT * FROM destruction_acts
         WHERE closed_at IS NOT NULL AND expired_at IS NULL AND expires_on <= ?
         ORDER BY year, seq",
    )
    .bind(day)
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter().map(act).collect()
}

pub(crate) async fn expire_act(
    conn: &mut SqliteConnection,
    id: Uuid,
    at_ms: i64,
) -> StoreResult<u64> {
    let a = &id.as_bytes()[..];
    let deleted = sqlx::query("DELETE FROM destruction_act_entries WHERE act_id = ?")
        .bind(a)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    // The first expiry time stays, like every other "once" transition of the store.
    sqlx::query(
        "UPDATE destruction_acts SET expired_at = ? WHERE act_id = ? AND expired_at IS NULL",
    )
    .bind(at_ms)
    .bind(a)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(deleted)
}
