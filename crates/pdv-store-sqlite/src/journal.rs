//! The request journal in SQLite: requests written once, entries only appended. A request's
//! state (last status, current due date) is computed from its entries when read, so nothing is
//! ever updated in place.

use pdv_core::SubjectId;
use pdv_store::{RequestEntryRow, RequestQuery, RequestRow, RequestState, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::{corrupt, map_err, uuid_bytes};

/// Every request with its state; callers add a WHERE clause on the outer query.
const STATE: &str = "
    SELECT * FROM (
        SELECT r.*,
            (SELECT e.status FROM request_entries e WHERE e.request_id = r.request_id
              ORDER BY e.entry_no DESC LIMIT 1) AS state_status,
            COALESCE((SELECT e.due FROM request_entries e
              WHERE e.request_id = r.request_id AND e.due IS NOT NULL
              ORDER BY e.entry_no DESC LIMIT 1), r.due) AS state_due,
            (SELECT count(*) FROM request_entries e WHERE e.request_id = r.request_id)
              AS state_entries
        FROM requests r
    ) s";

fn state(row: &SqliteRow) -> StoreResult<RequestState> {
    let subject: Option<Vec<u8>> = row.try_get("subject_id").map_err(map_err)?;
    let subject = match subject {
        Some(b) => {
            Some(SubjectId::from_bytes(b.try_into().map_err(|_| {
                corrupt("requests.subject_id is not 16 bytes")
            })?))
        }
        None => None,
    };
    let year: i64 = row.try_get("year").map_err(map_err)?;
    let seq: i64 = row.try_get("seq").map_err(map_err)?;
    let provisional: i64 = row.try_get("provisional").map_err(map_err)?;
    let entries: i64 = row.try_get("state_entries").map_err(map_err)?;
    Ok(RequestState {
        request: RequestRow {
            id: Uuid::from_bytes(uuid_bytes(row, "request_id")?),
            year: i16::try_from(year).map_err(|_| corrupt("requests.year out of range"))?,
            seq: u32::try_from(seq).map_err(|_| corrupt("requests.seq out of range"))?,
            kind: row.try_get("kind").map_err(map_err)?,
            channel: row.try_get("channel").map_err(map_err)?,
            subject,
            received_at_ms: row.try_get("received_at").map_err(map_err)?,
            rule: row.try_get("rule").map_err(map_err)?,
            due: row.try_get("due").map_err(map_err)?,
            calendar: row.try_get("calendar").map_err(map_err)?,
            provisional: provisional != 0,
            details_ct: row.try_get("details_ct").map_err(map_err)?,
        },
        status: row
            .try_get::<Option<String>, _>("state_status")
            .map_err(map_err)?
            .ok_or_else(|| corrupt("a request has no entries"))?,
        due: row.try_get("state_due").map_err(map_err)?,
        entries: u32::try_from(entries).map_err(|_| corrupt("too many entries"))?,
    })
}

pub(crate) async fn next_request_seq(conn: &mut SqliteConnection, year: i16) -> StoreResult<u32> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM requests WHERE year = ?")
        .bind(i64::from(year))
        .fetch_one(conn)
        .await
        .map_err(map_err)?;
    u32::try_from(max.unwrap_or(0) + 1).map_err(|_| corrupt("request numbers exhausted"))
}

pub(crate) async fn insert_request(conn: &mut SqliteConnection, r: &RequestRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO requests (request_id, year, seq, kind, channel, subject_id, received_at,
                               rule, due, calendar, provisional, details_ct)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.id.as_bytes()[..])
    .bind(i64::from(r.year))
    .bind(i64::from(r.seq))
    .bind(&r.kind)
    .bind(&r.channel)
    .bind(r.subject.map(|s| s.as_bytes().to_vec()))
    .bind(r.received_at_ms)
    .bind(&r.rule)
    .bind(&r.due)
    .bind(&r.calendar)
    .bind(i64::from(r.provisional))
    .bind(&r.details_ct)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn insert_request_entry(
    conn: &mut SqliteConnection,
    e: &RequestEntryRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO request_entries (request_id, entry_no, at, actor, step, status, due, details_ct)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&e.request.as_bytes()[..])
    .bind(i64::from(e.entry_no))
    .bind(e.at_ms)
    .bind(&e.actor)
    .bind(&e.step)
    .bind(&e.status)
    .bind(&e.due)
    .bind(&e.details_ct)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn request(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> StoreResult<Option<RequestState>> {
    let sql = format!("{STATE} WHERE request_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&id.as_bytes()[..])
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(state).transpose()
}

pub(crate) async fn request_by_number(
    conn: &mut SqliteConnection,
    year: i16,
    seq: u32,
) -> StoreResult<Option<RequestState>> {
    let sql = format!("{STATE} WHERE year = ? AND seq = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(year))
        .bind(i64::from(seq))
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(state).transpose()
}

pub(crate) async fn request_entries(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> StoreResult<Vec<RequestEntryRow>> {
    let rows = sqlx::query("SELECT * FROM request_entries WHERE request_id = ? ORDER BY entry_no")
        .bind(&id.as_bytes()[..])
        .fetch_all(conn)
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let no: i64 = r.try_get("entry_no").map_err(map_err)?;
            Ok(RequestEntryRow {
                request: id,
                entry_no: u32::try_from(no).map_err(|_| corrupt("entry_no out of range"))?,
                at_ms: r.try_get("at").map_err(map_err)?,
                actor: r.try_get("actor").map_err(map_err)?,
                step: r.try_get("step").map_err(map_err)?,
                status: r.try_get("status").map_err(map_err)?,
                due: r.try_get("due").map_err(map_err)?,
                details_ct: r.try_get("details_ct").map_err(map_err)?,
            })
        })
        .collect()
}

pub(crate) async fn requests(
    conn: &mut SqliteConnection,
    q: &RequestQuery,
) -> StoreResult<Vec<RequestState>> {
    let (after_year, after_seq) = q.after.unwrap_or((i16::MIN, 0));
    let statuses = serde_json::to_string(&q.statuses).expect("strings serialise");
    let sql = format!(
        "{STATE}
         WHERE (?1 IS NULL OR kind = ?1)
           AND (?2 IS NULL OR subject_id = ?2)
           AND (year, seq) > (?3, ?4)
           AND (?5 = '[]' OR state_status IN (SELECT value FROM json_each(?5)))
         ORDER BY year, seq
         LIMIT ?6"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&q.kind)
        .bind(q.subject.map(|s| s.as_bytes().to_vec()))
        .bind(i64::from(after_year))
        .bind(i64::from(after_seq))
        .bind(statuses)
        .bind(i64::from(q.limit))
        .fetch_all(conn)
        .await
        .map_err(map_err)?;
    rows.iter().map(state).collect()
}

fn message(row: &SqliteRow) -> StoreResult<pdv_store::OutboxRow> {
    let request: Option<Vec<u8>> = row.try_get("request_id").map_err(map_err)?;
    Ok(pdv_store::OutboxRow {
        id: Uuid::from_bytes(uuid_bytes(row, "message_id")?),
        created_at_ms: row.try_get("created_at").map_err(map_err)?,
        request: match request {
            Some(b) => Some(Uuid::from_bytes(
                b.try_into()
                    .map_err(|_| corrupt("outbox.request_id is not 16 bytes"))?,
            )),
            None => None,
        },
        kind: row.try_get("kind").map_err(map_err)?,
        channel: row.try_get("channel").map_err(map_err)?,
        address_ct: row.try_get("address_ct").map_err(map_err)?,
        body_ct: row.try_get("body_ct").map_err(map_err)?,
        status: row.try_get("status").map_err(map_err)?,
        status_at_ms: row.try_get("status_at").map_err(map_err)?,
        note: row.try_get("note").map_err(map_err)?,
    })
}

pub(crate) async fn insert_message(
    conn: &mut SqliteConnection,
    m: &pdv_store::OutboxRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (message_id, created_at, request_id, kind, channel, address_ct,
                             body_ct, status, status_at, note)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&m.id.as_bytes()[..])
    .bind(m.created_at_ms)
    .bind(m.request.map(|r| r.as_bytes().to_vec()))
    .bind(&m.kind)
    .bind(&m.channel)
    .bind(&m.address_ct)
    .bind(&m.body_ct)
    .bind(&m.status)
    .bind(m.status_at_ms)
    .bind(&m.note)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn messages(
    conn: &mut SqliteConnection,
    status: &str,
    after: Option<Uuid>,
    limit: u32,
) -> StoreResult<Vec<pdv_store::OutboxRow>> {
    let after = after.map_or(vec![0u8; 16], |a| a.as_bytes().to_vec());
    let rows = sqlx::query(
        "SELECT * FROM outbox WHERE status = ? AND message_id > ? ORDER BY message_id LIMIT ?",
    )
    .bind(status)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter().map(message).collect()
}

pub(crate) async fn message_by_id(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> StoreResult<Option<pdv_store::OutboxRow>> {
    let row = sqlx::query("SELECT * FROM outbox WHERE message_id = ?")
        .bind(&id.as_bytes()[..])
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(message).transpose()
}

pub(crate) async fn set_message_status(
    conn: &mut SqliteConnection,
    id: Uuid,
    status: &str,
    at_ms: i64,
    note: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = ?, status_at = ?, note = ?
         WHERE message_id = ? AND status = 'queued'",
    )
    .bind(status)
    .bind(at_ms)
    .bind(note)
    .bind(&id.as_bytes()[..])
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn open_request_dues(pool: &sqlx::SqlitePool) -> StoreResult<Vec<String>> {
    let sql = format!("{STATE} WHERE state_status NOT IN ('answered', 'refused')");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| r.try_get("state_due").map_err(map_err))
        .collect()
}

pub(crate) async fn set_field(
    conn: &mut SqliteConnection,
    subject: SubjectId,
    record: pdv_core::RecordId,
    field: &str,
    value_ct: &[u8],
) -> StoreResult<Option<Vec<u8>>> {
    let (s, r) = (&subject.as_bytes()[..], &record.as_bytes()[..]);
    let old: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT value_ct FROM pd_fields WHERE subject_id = ? AND record_id = ? AND field = ?",
    )
    .bind(s)
    .bind(r)
    .bind(field)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    let sql = if old.is_some() {
        "UPDATE pd_fields SET value_ct = ?4 WHERE subject_id = ?1 AND record_id = ?2 AND field = ?3"
    } else {
        "INSERT INTO pd_fields (subject_id, record_id, field, value_ct) VALUES (?1, ?2, ?3, ?4)"
    };
    sqlx::query(sql)
        .bind(s)
        .bind(r)
        .bind(field)
        .bind(value_ct)
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(old)
}

pub(crate) async fn insert_anchor(
    conn: &mut SqliteConnection,
    a: &pdv_store::AnchorRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO anchor_events (subject_id, event_id, event, scope, purpose, occurred_on, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.subject.as_bytes()[..])
    .bind(&a.id.as_bytes()[..])
    .bind(&a.event)
    .bind(&a.scope)
    .bind(&a.purpose)
    .bind(&a.occurred_on)
    .bind(a.recorded_at_ms)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn anchors(
    conn: &mut SqliteConnection,
    subject: SubjectId,
) -> StoreResult<Vec<pdv_store::AnchorRow>> {
    let rows = sqlx::query(
        "SELECT * FROM anchor_events
         WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
         ORDER BY occurred_on, recorded_at, event_id",
    )
    .bind(&subject.as_bytes()[..])
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(pdv_store::AnchorRow {
                subject,
                id: Uuid::from_bytes(uuid_bytes(r, "event_id")?),
                event: r.try_get("event").map_err(map_err)?,
                scope: r.try_get("scope").map_err(map_err)?,
                purpose: r.try_get("purpose").map_err(map_err)?,
                occurred_on: r.try_get("occurred_on").map_err(map_err)?,
                recorded_at_ms: r.try_get("recorded_at").map_err(map_err)?,
            })
        })
        .collect()
}
