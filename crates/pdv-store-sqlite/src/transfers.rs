//! Transfers of subjects' data to third parties and withdrawals of consent for one recipient
//! (schema 10). Reads leave out a destroyed subject's rows, like every read of subject data.

use pdv_core::{ConsentId, SubjectId, TransferId};
use pdv_store::{RecipientWithdrawalRow, StoreResult, TransferRow};
use sqlx::{Row, SqliteConnection};

use crate::{json_list, map_err, uuid_bytes};

pub(crate) async fn insert_transfer(
    conn: &mut SqliteConnection,
    t: &TransferRow,
) -> StoreResult<()> {
    let categories = serde_json::to_string(&t.categories).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO transfers (subject_id, transfer_id, at, recipient, purpose, categories, basis,
             basis_kind, consent_id, details_ct, actor)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.subject.as_bytes()[..])
    .bind(&t.id.as_bytes()[..])
    .bind(t.at_ms)
    .bind(&t.recipient)
    .bind(&t.purpose)
    .bind(categories)
    .bind(&t.basis)
    .bind(&t.basis_kind)
    .bind(t.consent.map(|c| c.as_bytes().to_vec()))
    .bind(&t.details_ct)
    .bind(&t.actor)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn transfers(
    conn: &mut SqliteConnection,
    subject: SubjectId,
) -> StoreResult<Vec<TransferRow>> {
    let rows = sqlx::query(
        "SELECT * FROM transfers
         WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
         ORDER BY at, transfer_id",
    )
    .bind(&subject.as_bytes()[..])
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let categories: String = r.try_get("categories").map_err(map_err)?;
            let consent = match r
                .try_get::<Option<Vec<u8>>, _>("consent_id")
                .map_err(map_err)?
            {
                Some(_) => Some(ConsentId::from_bytes(uuid_bytes(r, "consent_id")?)),
                None => None,
            };
            Ok(TransferRow {
                subject,
                id: TransferId::from_bytes(uuid_bytes(r, "transfer_id")?),
                at_ms: r.try_get("at").map_err(map_err)?,
                recipient: r.try_get("recipient").map_err(map_err)?,
                purpose: r.try_get("purpose").map_err(map_err)?,
                categories: json_list(&categories)?,
                basis: r.try_get("basis").map_err(map_err)?,
                basis_kind: r.try_get("basis_kind").map_err(map_err)?,
                consent,
                details_ct: r.try_get("details_ct").map_err(map_err)?,
                actor: r.try_get("actor").map_err(map_err)?,
            })
        })
        .collect()
}

pub(crate) async fn insert_recipient_withdrawal(
    conn: &mut SqliteConnection,
    w: &RecipientWithdrawalRow,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO recipient_withdrawals (subject_id, consent_id, recipient, at, channel)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&w.subject.as_bytes()[..])
    .bind(&w.consent.as_bytes()[..])
    .bind(&w.recipient)
    .bind(w.at_ms)
    .bind(&w.channel)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn recipient_withdrawals(
    conn: &mut SqliteConnection,
    subject: SubjectId,
) -> StoreResult<Vec<RecipientWithdrawalRow>> {
    let rows = sqlx::query(
        "SELECT * FROM recipient_withdrawals
         WHERE subject_id = ?1 AND NOT EXISTS (SELECT 1 FROM key_tombstones WHERE subject_id = ?1)
         ORDER BY at, consent_id, recipient",
    )
    .bind(&subject.as_bytes()[..])
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(RecipientWithdrawalRow {
                subject,
                consent: ConsentId::from_bytes(uuid_bytes(r, "consent_id")?),
                recipient: r.try_get("recipient").map_err(map_err)?,
                at_ms: r.try_get("at").map_err(map_err)?,
                channel: r.try_get("channel").map_err(map_err)?,
            })
        })
        .collect()
}
