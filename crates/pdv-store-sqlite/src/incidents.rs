//! The register of incidents in SQLite (schema 11): incidents written once, entries only
//! appended; an incident's status is its last entry's, computed when read.

use pdv_store::{IncidentEntryRow, IncidentRow, IncidentState, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::{corrupt, json_list, map_err, uuid_bytes};

/// Every incident with its last status; callers add a WHERE clause on the outer query.
const STATE: &str = "
    SELECT * FROM (
        SELECT i.*,
            (SELECT e.status FROM incident_entries e WHERE e.incident_id = i.incident_id
              ORDER BY e.entry_no DESC LIMIT 1) AS state_status,
            (SELECT count(*) FROM incident_entries e WHERE e.incident_id = i.incident_id)
              AS state_entries
        FROM incidents i
    ) s";

fn state(row: &SqliteRow) -> StoreResult<IncidentState> {
    let year: i64 = row.try_get("year").map_err(map_err)?;
    let seq: i64 = row.try_get("seq").map_err(map_err)?;
    let entries: i64 = row.try_get("state_entries").map_err(map_err)?;
    let categories: String = row.try_get("categories").map_err(map_err)?;
    Ok(IncidentState {
        incident: IncidentRow {
            id: Uuid::from_bytes(uuid_bytes(row, "incident_id")?),
            year: i16::try_from(year).map_err(|_| corrupt("incidents.year out of range"))?,
            seq: u32::try_from(seq).map_err(|_| corrupt("incidents.seq out of range"))?,
            detected_at_ms: row.try_get("detected_at").map_err(map_err)?,
            registered_at_ms: row.try_get("registered_at").map_err(map_err)?,
            registered_by: row.try_get("registered_by").map_err(map_err)?,
            categories: json_list(&categories)?,
            subjects: row.try_get("subjects").map_err(map_err)?,
            identifiers: row.try_get("identifiers").map_err(map_err)?,
            details_ct: row.try_get("details_ct").map_err(map_err)?,
        },
        status: row
            .try_get::<Option<String>, _>("state_status")
            .map_err(map_err)?
            .ok_or_else(|| corrupt("an incident has no entries"))?,
        entries: u32::try_from(entries).map_err(|_| corrupt("too many entries"))?,
    })
}

pub(crate) async fn next_incident_seq(conn: &mut SqliteConnection, year: i16) -> StoreResult<u32> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM incidents WHERE year = ?")
        .bind(i64::from(year))
        .fetch_one(conn)
        .await
        .map_err(map_err)?;
    u32::try_from(max.unwrap_or(0) + 1).map_err(|_| corrupt("incident numbers exhausted"))
}

pub(crate) async fn insert_incident(
    conn: &mut SqliteConnection,
    r: &IncidentRow,
) -> StoreResult<()> {
    let categories =
        serde_json::to_string(&r.categories).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(
        "INSERT INTO incidents (incident_id, year, seq, detected_at, registered_at, registered_by,
                                categories, subjects, identifiers, details_ct)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.id.as_bytes()[..])
    .bind(i64::from(r.year))
    .bind(i64::from(r.seq))
    .bind(r.detected_at_ms)
    .bind(r.registered_at_ms)
    .bind(&r.registered_by)
    .bind(categories)
    .bind(r.subjects)
    .bind(r.identifiers)
    .bind(&r.details_ct)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn insert_incident_entry(
    conn: &mut SqliteConnection,
    e: &IncidentEntryRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO incident_entries (incident_id, entry_no, at, actor, step, status, occurred_at,
                                       details_ct)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&e.incident.as_bytes()[..])
    .bind(i64::from(e.entry_no))
    .bind(e.at_ms)
    .bind(&e.actor)
    .bind(&e.step)
    .bind(&e.status)
    .bind(e.occurred_at_ms)
    .bind(&e.details_ct)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn incident_by_number(
    conn: &mut SqliteConnection,
    year: i16,
    seq: u32,
) -> StoreResult<Option<IncidentState>> {
    let sql = format!("{STATE} WHERE year = ? AND seq = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(year))
        .bind(i64::from(seq))
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(state).transpose()
}

pub(crate) async fn incident_entries(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> StoreResult<Vec<IncidentEntryRow>> {
    let rows =
        sqlx::query("SELECT * FROM incident_entries WHERE incident_id = ? ORDER BY entry_no")
            .bind(&id.as_bytes()[..])
            .fetch_all(conn)
            .await
            .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let no: i64 = r.try_get("entry_no").map_err(map_err)?;
            Ok(IncidentEntryRow {
                incident: id,
                entry_no: u32::try_from(no).map_err(|_| corrupt("entry_no out of range"))?,
                at_ms: r.try_get("at").map_err(map_err)?,
                actor: r.try_get("actor").map_err(map_err)?,
                step: r.try_get("step").map_err(map_err)?,
                status: r.try_get("status").map_err(map_err)?,
                occurred_at_ms: r.try_get("occurred_at").map_err(map_err)?,
                details_ct: r.try_get("details_ct").map_err(map_err)?,
            })
        })
        .collect()
}

pub(crate) async fn incidents(
    conn: &mut SqliteConnection,
    after: Option<(i16, u32)>,
    limit: u32,
    statuses: &[String],
) -> StoreResult<Vec<IncidentState>> {
    let (after_year, after_seq) = after.unwrap_or((i16::MIN, 0));
    let statuses = serde_json::to_string(statuses).expect("strings serialise");
    let sql = format!(
        "{STATE}
         WHERE (year, seq) > (?1, ?2)
           AND (?3 = '[]' OR state_status IN (SELECT value FROM json_each(?3)))
         ORDER BY year, seq
         LIMIT ?4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(after_year))
        .bind(i64::from(after_seq))
        .bind(statuses)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(map_err)?;
    rows.iter().map(state).collect()
}

pub(crate) async fn incident_statuses(
    pool: &SqlitePool,
    statuses: &[String],
) -> StoreResult<Vec<(i64, String)>> {
    let statuses = serde_json::to_string(statuses).expect("strings serialise");
    let sql = format!(
        "{STATE} WHERE ?1 = '[]' OR state_status IN (SELECT value FROM json_each(?1))
         ORDER BY year, seq"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(statuses)
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let status: Option<String> = r.try_get("state_status").map_err(map_err)?;
            Ok((
                r.try_get("detected_at").map_err(map_err)?,
                status.ok_or_else(|| corrupt("an incident has no entries"))?,
            ))
        })
        .collect()
}
