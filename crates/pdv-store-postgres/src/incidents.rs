//! The register of incidents in PostgreSQL (schema 11): incidents written once, entries only
//! appended; an incident's status is its last entry's, computed when read (see the SQLite
//! backend).

use pdv_store::{IncidentEntryRow, IncidentRow, IncidentState, StoreResult};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{corrupt, map_err, uuid_bytes};

/// Builds an [`IncidentState`] from a row of one of the state queries below, which all select
/// the same columns.
macro_rules! state {
    ($r:expr) => {{
        let r = $r;
        Ok::<IncidentState, pdv_store::StoreError>(IncidentState {
            incident: IncidentRow {
                id: Uuid::from_bytes(uuid_bytes(r.incident_id, "incident_id")?),
                year: i16::try_from(r.year).map_err(|_| corrupt("incidents.year out of range"))?,
                seq: u32::try_from(r.seq).map_err(|_| corrupt("incidents.seq out of range"))?,
                detected_at_ms: r.detected_at,
                registered_at_ms: r.registered_at,
                registered_by: r.registered_by,
                categories: r.categories,
                subjects: r.subjects,
                identifiers: r.identifiers,
                details_ct: r.details_ct,
            },
            status: r
                .state_status
                .ok_or_else(|| corrupt("an incident has no entries"))?,
            entries: u32::try_from(r.state_entries).map_err(|_| corrupt("too many entries"))?,
        })
    }};
}

pub(crate) async fn next_incident_seq(conn: &mut PgConnection, year: i16) -> StoreResult<u32> {
    let max = sqlx::query_scalar!(
        "SELECT max(seq) FROM incidents WHERE year = $1",
        i32::from(year)
    )
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    u32::try_from(max.unwrap_or(0) + 1).map_err(|_| corrupt("incident numbers exhausted"))
}

pub(crate) async fn insert_incident(conn: &mut PgConnection, r: &IncidentRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO incidents (incident_id, year, seq, detected_at, registered_at, registered_by,
                                categories, subjects, identifiers, details_ct)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &r.id.as_bytes()[..],
        i32::from(r.year),
        i64::from(r.seq),
        r.detected_at_ms,
        r.registered_at_ms,
        r.registered_by,
        &r.categories[..],
        r.subjects,
        r.identifiers,
        r.details_ct,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn insert_incident_entry(
    conn: &mut PgConnection,
    e: &IncidentEntryRow,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO incident_entries (incident_id, entry_no, at, actor, step, status, occurred_at,
                                       details_ct)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &e.incident.as_bytes()[..],
        i64::from(e.entry_no),
        e.at_ms,
        e.actor,
        e.step,
        e.status,
        e.occurred_at_ms,
        e.details_ct,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn incident_by_number(
    conn: &mut PgConnection,
    year: i16,
    seq: u32,
) -> StoreResult<Option<IncidentState>> {
    let row = sqlx::query!(
        r#"SELECT i.incident_id, i.year, i.seq, i.detected_at, i.registered_at, i.registered_by,
                  i.categories, i.subjects, i.identifiers, i.details_ct,
                  (SELECT e.status FROM incident_entries e WHERE e.incident_id = i.incident_id
                    ORDER BY e.entry_no DESC LIMIT 1) AS "state_status?",
                  (SELECT count(*) FROM incident_entries e WHERE e.incident_id = i.incident_id)
                    AS "state_entries!"
           FROM incidents i
           WHERE i.year = $1 AND i.seq = $2"#,
        i32::from(year),
        i64::from(seq)
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    match row {
        Some(r) => Ok(Some(state!(r)?)),
        None => Ok(None),
    }
}

pub(crate) async fn incident_entries(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Vec<IncidentEntryRow>> {
    let rows = sqlx::query!(
        "SELECT entry_no, at, actor, step, status, occurred_at, details_ct FROM incident_entries
         WHERE incident_id = $1 ORDER BY entry_no",
        &id.as_bytes()[..]
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|r| {
            Ok(IncidentEntryRow {
                incident: id,
                entry_no: u32::try_from(r.entry_no)
                    .map_err(|_| corrupt("entry_no out of range"))?,
                at_ms: r.at,
                actor: r.actor,
                step: r.step,
                status: r.status,
                occurred_at_ms: r.occurred_at,
                details_ct: r.details_ct,
            })
        })
        .collect()
}

pub(crate) async fn incidents(
    conn: &mut PgConnection,
    after: Option<(i16, u32)>,
    limit: u32,
    statuses: &[String],
) -> StoreResult<Vec<IncidentState>> {
    let (after_year, after_seq) = after.unwrap_or((i16::MIN, 0));
    let rows = sqlx::query!(
        r#"SELECT i.incident_id, i.year, i.seq, i.detected_at, i.registered_at, i.registered_by,
                  i.categories, i.subjects, i.identifiers, i.details_ct,
                  (SELECT e.status FROM incident_entries e WHERE e.incident_id = i.incident_id
                    ORDER BY e.entry_no DESC LIMIT 1) AS "state_status?",
                  (SELECT count(*) FROM incident_entries e WHERE e.incident_id = i.incident_id)
                    AS "state_entries!"
           FROM incidents i
           WHERE (i.year, i.seq) > ($1, $2)
             AND (cardinality($3::text[]) = 0 OR
                  (SELECT e.status FROM incident_entries e WHERE e.incident_id = i.incident_id
                    ORDER BY e.entry_no DESC LIMIT 1) = ANY($3))
           ORDER BY i.year, i.seq
           LIMIT $4"#,
        i32::from(after_year),
        i64::from(after_seq),
        statuses,
        i64::from(limit)
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| state!(r)).collect()
}

pub(crate) async fn incident_statuses(
    pool: &PgPool,
    statuses: &[String],
) -> StoreResult<Vec<(i64, String)>> {
    let rows = sqlx::query!(
        r#"SELECT detected_at AS "detected_at!", status AS "status?" FROM (
               SELECT i.year, i.seq, i.detected_at,
                      (SELECT e.status FROM incident_entries e WHERE e.incident_id = i.incident_id
                        ORDER BY e.entry_no DESC LIMIT 1) AS status
               FROM incidents i
           ) s
           WHERE cardinality($1::text[]) = 0 OR status = ANY($1)
           ORDER BY year, seq"#,
        statuses
    )
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.detected_at,
                r.status
                    .ok_or_else(|| corrupt("an incident has no entries"))?,
            ))
        })
        .collect()
}
