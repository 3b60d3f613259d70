//! The request journal in PostgreSQL: requests written once, entries only appended; a
//! request's state is computed from its entries when read (see the SQLite backend).

use pdv_core::SubjectId;
use pdv_store::{RequestEntryRow, RequestQuery, RequestRow, RequestState, StoreResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{corrupt, map_err, uuid_bytes};

/// Builds a [`RequestState`] from a row of one of the state queries below, which all select the
/// same columns.
macro_rules! state {
    ($r:expr) => {{
        let r = $r;
        let subject = match r.subject_id {
            Some(b) => Some(SubjectId::from_bytes(uuid_bytes(b, "subject_id")?)),
            None => None,
        };
        Ok::<RequestState, pdv_store::StoreError>(RequestState {
            request: RequestRow {
                id: Uuid::from_bytes(uuid_bytes(r.request_id, "request_id")?),
                year: i16::try_from(r.year).map_err(|_| corrupt("requests.year out of range"))?,
                seq: u32::try_from(r.seq).map_err(|_| corrupt("requests.seq out of range"))?,
                kind: r.kind,
                channel: r.channel,
                subject,
                received_at_ms: r.received_at,
                rule: r.rule,
                due: r.due,
                calendar: r.calendar,
                provisional: r.provisional != 0,
                details_ct: r.details_ct,
            },
            status: r
                .state_status
                .ok_or_else(|| corrupt("a request has no entries"))?,
            due: r.state_due,
            entries: u32::try_from(r.state_entries).map_err(|_| corrupt("too many entries"))?,
        })
    }};
}

pub(crate) async fn next_request_seq(conn: &mut PgConnection, year: i16) -> StoreResult<u32> {
    let max = sqlx::query_scalar!(
        "SELECT max(seq) FROM requests WHERE year = $1",
        i32::from(year)
    )
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    u32::try_from(max.unwrap_or(0) + 1).map_err(|_| corrupt("request numbers exhausted"))
}

pub(crate) async fn insert_request(conn: &mut PgConnection, r: &RequestRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO requests (request_id, year, seq, kind, channel, subject_id, received_at,
                               rule, due, calendar, provisional, details_ct)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &r.id.as_bytes()[..],
        i32::from(r.year),
        i64::from(r.seq),
        r.kind,
        r.channel,
        r.subject.map(|s| s.as_bytes().to_vec()),
        r.received_at_ms,
        r.rule,
        r.due,
        r.calendar,
        i32::from(r.provisional),
        r.details_ct,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn insert_request_entry(
    conn: &mut PgConnection,
    e: &RequestEntryRow,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO request_entries (request_id, entry_no, at, actor, step, status, due, details_ct)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &e.request.as_bytes()[..],
        i64::from(e.entry_no),
        e.at_ms,
        e.actor,
        e.step,
        e.status,
        e.due,
        e.details_ct,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn request(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Option<RequestState>> {
    let row = sqlx::query!(
        r#"SELECT r.request_id, r.year, r.seq, r.kind, r.channel, r.subject_id, r.received_at,
                  r.rule, r.due, r.calendar, r.provisional, r.details_ct,
                  (SELECT e.status FROM request_entries e WHERE e.request_id = r.request_id
                    ORDER BY e.entry_no DESC LIMIT 1) AS "state_status?",
                  COALESCE((SELECT e.due FROM request_entries e
                    WHERE e.request_id = r.request_id AND e.due IS NOT NULL
                    ORDER BY e.entry_no DESC LIMIT 1), r.due) AS "state_due!",
                  (SELECT count(*) FROM request_entries e WHERE e.request_id = r.request_id)
                    AS "state_entries!"
           FROM requests r
           WHERE r.request_id = $1"#,
        &id.as_bytes()[..]
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    match row {
        Some(r) => Ok(Some(state!(r)?)),
        None => Ok(None),
    }
}

pub(crate) async fn request_by_number(
    conn: &mut PgConnection,
    year: i16,
    seq: u32,
) -> StoreResult<Option<RequestState>> {
    let row = sqlx::query!(
        r#"SELECT r.request_id, r.year, r.seq, r.kind, r.channel, r.subject_id, r.received_at,
                  r.rule, r.due, r.calendar, r.provisional, r.details_ct,
                  (SELECT e.status FROM request_entries e WHERE e.request_id = r.request_id
                    ORDER BY e.entry_no DESC LIMIT 1) AS "state_status?",
                  COALESCE((SELECT e.due FROM request_entries e
                    WHERE e.request_id = r.request_id AND e.due IS NOT NULL
                    ORDER BY e.entry_no DESC LIMIT 1), r.due) AS "state_due!",
                  (SELECT count(*) FROM request_entries e WHERE e.request_id = r.request_id)
                    AS "state_entries!"
           FROM requests r
           WHERE r.year = $1 AND r.seq = $2"#,
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

pub(crate) async fn request_entries(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Vec<RequestEntryRow>> {
    let rows = sqlx::query!(
        "SELECT entry_no, at, actor, step, status, due, details_ct FROM request_entries
         WHERE request_id = $1 ORDER BY entry_no",
        &id.as_bytes()[..]
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|r| {
            Ok(RequestEntryRow {
                request: id,
                entry_no: u32::try_from(r.entry_no)
                    .map_err(|_| corrupt("entry_no out of range"))?,
                at_ms: r.at,
                actor: r.actor,
                step: r.step,
                status: r.status,
                due: r.due,
                details_ct: r.details_ct,
            })
        })
        .collect()
}

pub(crate) async fn requests(
    conn: &mut PgConnection,
    q: &RequestQuery,
) -> StoreResult<Vec<RequestState>> {
    let (after_year, after_seq) = q.after.unwrap_or((i16::MIN, 0));
    let rows = sqlx::query!(
        r#"SELECT r.request_id, r.year, r.seq, r.kind, r.channel, r.subject_id, r.received_at,
                  r.rule, r.due, r.calendar, r.provisional, r.details_ct,
                  (SELECT e.status FROM request_entries e WHERE e.request_id = r.request_id
                    ORDER BY e.entry_no DESC LIMIT 1) AS "state_status?",
                  COALESCE((SELECT e.due FROM request_entries e
                    WHERE e.request_id = r.request_id AND e.due IS NOT NULL
                    ORDER BY e.entry_no DESC LIMIT 1), r.due) AS "state_due!",
                  (SELECT count(*) FROM request_entries e WHERE e.request_id = r.request_id)
                    AS "state_entries!"
           FROM requests r
           WHERE ($1::text IS NULL OR r.kind = $1)
             AND ($2::bytea IS NULL OR r.subject_id = $2)
             AND (r.year, r.seq) > ($3, $4)
             AND (cardinality($5::text[]) = 0 OR
                  (SELECT e.status FROM request_entries e WHERE e.request_id = r.request_id
                    ORDER BY e.entry_no DESC LIMIT 1) = ANY($5))
           ORDER BY r.year, r.seq
           LIMIT $6"#,
        q.kind.as_deref(),
        q.subject.map(|s| s.as_bytes().to_vec()),
        i32::from(after_year),
        i64::from(after_seq),
        &q.statuses[..],
        i64::from(q.limit)
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| state!(r)).collect()
}

macro_rules! message {
    ($r:expr) => {{
        let r = $r;
        Ok::<pdv_store::OutboxRow, pdv_store::StoreError>(pdv_store::OutboxRow {
            id: Uuid::from_bytes(uuid_bytes(r.message_id, "message_id")?),
            created_at_ms: r.created_at,
            request: match r.request_id {
                Some(b) => Some(Uuid::from_bytes(uuid_bytes(b, "request_id")?)),
                None => None,
            },
            kind: r.kind,
            channel: r.channel,
            address_ct: r.address_ct,
            body_ct: r.body_ct,
            status: r.status,
            status_at_ms: r.status_at,
            note: r.note,
        })
    }};
}

pub(crate) async fn insert_message(
    conn: &mut PgConnection,
    m: &pdv_store::OutboxRow,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO outbox (message_id, created_at, request_id, kind, channel, address_ct,
                             body_ct, status, status_at, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &m.id.as_bytes()[..],
        m.created_at_ms,
        m.request.map(|r| r.as_bytes().to_vec()),
        m.kind,
        m.channel,
        m.address_ct,
        m.body_ct,
        m.status,
        m.status_at_ms,
        m.note,
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn messages(
    conn: &mut PgConnection,
    status: &str,
    after: Option<Uuid>,
    limit: u32,
) -> StoreResult<Vec<pdv_store::OutboxRow>> {
    let after = after.map_or(vec![0u8; 16], |a| a.as_bytes().to_vec());
    let rows = sqlx::query!(
        "SELECT * FROM outbox WHERE status = $1 AND message_id > $2 ORDER BY message_id LIMIT $3",
        status,
        after,
        i64::from(limit)
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| message!(r)).collect()
}

pub(crate) async fn message_by_id(
    conn: &mut PgConnection,
    id: Uuid,
) -> StoreResult<Option<pdv_store::OutboxRow>> {
    let row = sqlx::query!(
        "SELECT * FROM outbox WHERE message_id = $1",
        &id.as_bytes()[..]
    )
    .fetch_optional(conn)
    .await
    .map_err(map_err)?;
    match row {
        Some(r) => Ok(Some(message!(r)?)),
        None => Ok(None),
    }
}

pub(crate) async fn set_message_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    at_ms: i64,
    note: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE outbox SET status = $1, status_at = $2, note = $3
         WHERE message_id = $4 AND status = 'queued'",
        status,
        at_ms,
        note,
        &id.as_bytes()[..]
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn open_request_dues(pool: &sqlx::PgPool) -> StoreResult<Vec<String>> {
    let dues = sqlx::query_scalar!(
        r#"SELECT COALESCE((SELECT e.due FROM request_entries e
                  WHERE e.request_id = r.request_id AND e.due IS NOT NULL
                  ORDER BY e.entry_no DESC LIMIT 1), r.due) AS "due!"
           FROM requests r
           WHERE (SELECT e.status FROM request_entries e WHERE e.request_id = r.request_id
                  ORDER BY e.entry_no DESC LIMIT 1) NOT IN ('answered', 'refused')"#
    )
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    Ok(dues)
}

pub(crate) async fn set_field(
    conn: &mut PgConnection,
    subject: SubjectId,
    record: pdv_core::RecordId,
    field: &str,
    value_ct: &[u8],
) -> StoreResult<Option<Vec<u8>>> {
    let (s, r) = (&subject.as_bytes()[..], &record.as_bytes()[..]);
    let old = sqlx::query_scalar!(
        "SELECT value_ct FROM pd_fields WHERE subject_id = $1 AND record_id = $2 AND field = $3",
        s,
        r,
        field
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    if old.is_some() {
        sqlx::query!(
            "UPDATE pd_fields SET value_ct = $4 WHERE subject_id = $1 AND record_id = $2 AND field = $3",
            s,
            r,
            field,
            value_ct
        )
        .execute(conn)
        .await
        .map_err(map_err)?;
    } else {
        sqlx::query!(
            "INSERT INTO pd_fields (subject_id, record_id, field, value_ct) VALUES ($1, $2, $3, $4)",
            s,
            r,
            field,
            value_ct
        )
        .execute(conn)
        .await
        .map_err(map_err)?;
    }
    Ok(old)
}

pub(crate) async fn insert_anchor(
    conn: &mut PgConnection,
    a: &pdv_store::AnchorRow,
) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO anchor_events (subject_id, event_id, event, scope, purpose, occurred_on, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &a.subject.as_bytes()[..],
        &a.id.as_bytes()[..],
        a.event,
        a.scope,
        a.purpose,
        a.occurred_on,
        a.recorded_at_ms
    )
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn anchors(
    conn: &mut PgConnection,
    subject: SubjectId,
) -> StoreResult<Vec<pdv_store::AnchorRow>> {
    let rows = sqlx::query!(
        r#"SELECT event_id, event, scope, purpose, occurred_on, recorded_at FROM anchor_events
           WHERE subject_id = $1
             AND NOT EXISTS (SELECT 1 FROM key_tombstones t WHERE t.subject_id = $1)
           ORDER BY occurred_on COLLATE "C", recorded_at, event_id"#,
        &subject.as_bytes()[..]
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|r| {
            Ok(pdv_store::AnchorRow {
                subject,
                id: Uuid::from_bytes(uuid_bytes(r.event_id, "event_id")?),
                event: r.event,
                scope: r.scope,
                purpose: r.purpose,
                occurred_on: r.occurred_on,
                recorded_at_ms: r.recorded_at,
            })
        })
        .collect()
}
