//! Staff accounts, sessions and API keys in PostgreSQL (schema version 2). Each query is a free
//! function over any PostgreSQL executor, so the same code serves the pool (authentication reads
//! on every request) and an open write transaction (changes).

use pdv_store::{ApiKeyRow, SessionRow, StoreResult, UserRow};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::{corrupt, hash_bytes, map_err, uuid_bytes};

fn uuid(bytes: Vec<u8>, column: &str) -> StoreResult<Uuid> {
    uuid_bytes(bytes, column).map(Uuid::from_bytes)
}

fn failures(n: i32) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| corrupt("failed_logins out of range"))
}

fn failures_to_db(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

macro_rules! user_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<UserRow, pdv_store::StoreError>(UserRow {
            id: uuid(r.user_id, "user_id")?,
            login: r.login,
            full_name: r.full_name,
            role: r.role,
            password_hash: r.password_hash,
            failed_logins: failures(r.failed_logins)?,
            locked_until_ms: r.locked_until,
            disabled_at_ms: r.disabled_at,
            created_at_ms: r.created_at,
        })
    }};
}

macro_rules! key_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<ApiKeyRow, pdv_store::StoreError>(ApiKeyRow {
            id: uuid(r.key_id, "key_id")?,
            name: r.name,
            role: r.role,
            purposes: r.purposes,
            categories: r.categories,
            secret_hash: hash_bytes(r.secret_hash, "secret_hash")?,
            created_by: r.created_by,
            created_at_ms: r.created_at,
            expires_at_ms: r.expires_at,
            revoked_at_ms: r.revoked_at,
        })
    }};
}

pub(crate) async fn insert_user<'e>(e: impl PgExecutor<'e>, u: &UserRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO staff_users (user_id, login, full_name, role, password_hash, failed_logins,
            locked_until, disabled_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &u.id.as_bytes()[..],
        u.login,
        u.full_name,
        u.role,
        u.password_hash,
        failures_to_db(u.failed_logins),
        u.locked_until_ms,
        u.disabled_at_ms,
        u.created_at_ms
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn user<'e>(e: impl PgExecutor<'e>, id: Uuid) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query!(
        "SELECT user_id, login, full_name, role, password_hash, failed_logins, locked_until,
                disabled_at, created_at
         FROM staff_users WHERE user_id = $1",
        &id.as_bytes()[..]
    )
    .fetch_optional(e)
    .await
    .map_err(map_err)?;
    row.map(|r| user_row!(r)).transpose()
}

pub(crate) async fn user_by_login<'e>(
    e: impl PgExecutor<'e>,
    login: &str,
) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query!(
        "SELECT user_id, login, full_name, role, password_hash, failed_logins, locked_until,
                disabled_at, created_at
         FROM staff_users WHERE login = $1",
        login
    )
    .fetch_optional(e)
    .await
    .map_err(map_err)?;
    row.map(|r| user_row!(r)).transpose()
}

pub(crate) async fn users<'e>(e: impl PgExecutor<'e>) -> StoreResult<Vec<UserRow>> {
    let rows = sqlx::query!(
        "SELECT user_id, login, full_name, role, password_hash, failed_logins, locked_until,
                disabled_at, created_at
         FROM staff_users ORDER BY login"
    )
    .fetch_all(e)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| user_row!(r)).collect()
}

pub(crate) async fn update_user<'e>(e: impl PgExecutor<'e>, u: &UserRow) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE staff_users SET full_name = $1, role = $2, password_hash = $3, failed_logins = $4,
            locked_until = $5, disabled_at = $6
         WHERE user_id = $7",
        u.full_name,
        u.role,
        u.password_hash,
        failures_to_db(u.failed_logins),
        u.locked_until_ms,
        u.disabled_at_ms,
        &u.id.as_bytes()[..]
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn insert_session<'e>(e: impl PgExecutor<'e>, s: &SessionRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO staff_sessions (token_hash, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        &s.token_hash[..],
        &s.user_id.as_bytes()[..],
        s.created_at_ms,
        s.expires_at_ms
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn session<'e>(
    e: impl PgExecutor<'e>,
    token_hash: &[u8; 32],
) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query!(
        "SELECT token_hash, user_id, created_at, expires_at
         FROM staff_sessions WHERE token_hash = $1",
        &token_hash[..]
    )
    .fetch_optional(e)
    .await
    .map_err(map_err)?;
    row.map(|r| {
        Ok(SessionRow {
            token_hash: hash_bytes(r.token_hash, "token_hash")?,
            user_id: uuid(r.user_id, "user_id")?,
            created_at_ms: r.created_at,
            expires_at_ms: r.expires_at,
        })
    })
    .transpose()
}

pub(crate) async fn delete_session<'e>(
    e: impl PgExecutor<'e>,
    token_hash: &[u8; 32],
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "DELETE FROM staff_sessions WHERE token_hash = $1",
        &token_hash[..]
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn delete_user_sessions<'e>(
    e: impl PgExecutor<'e>,
    user: Uuid,
) -> StoreResult<u64> {
    let done = sqlx::query!(
        "DELETE FROM staff_sessions WHERE user_id = $1",
        &user.as_bytes()[..]
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_expired_sessions<'e>(
    e: impl PgExecutor<'e>,
    now_ms: i64,
) -> StoreResult<u64> {
    let done = sqlx::query!("DELETE FROM staff_sessions WHERE expires_at < $1", now_ms)
        .execute(e)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}

pub(crate) async fn insert_api_key<'e>(e: impl PgExecutor<'e>, k: &ApiKeyRow) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO api_keys (key_id, name, role, purposes, categories, secret_hash, created_by,
            created_at, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &k.id.as_bytes()[..],
        k.name,
        k.role,
        &k.purposes[..],
        &k.categories[..],
        &k.secret_hash[..],
        k.created_by,
        k.created_at_ms,
        k.expires_at_ms,
        k.revoked_at_ms
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn api_key<'e>(
    e: impl PgExecutor<'e>,
    id: Uuid,
) -> StoreResult<Option<ApiKeyRow>> {
    let row = sqlx::query!(
        "SELECT key_id, name, role, purposes, categories, secret_hash, created_by, created_at,
                expires_at, revoked_at
         FROM api_keys WHERE key_id = $1",
        &id.as_bytes()[..]
    )
    .fetch_optional(e)
    .await
    .map_err(map_err)?;
    row.map(|r| key_row!(r)).transpose()
}

pub(crate) async fn api_keys<'e>(e: impl PgExecutor<'e>) -> StoreResult<Vec<ApiKeyRow>> {
    let rows = sqlx::query!(
        "SELECT key_id, name, role, purposes, categories, secret_hash, created_by, created_at,
                expires_at, revoked_at
         FROM api_keys ORDER BY created_at, key_id"
    )
    .fetch_all(e)
    .await
    .map_err(map_err)?;
    rows.into_iter().map(|r| key_row!(r)).collect()
}

pub(crate) async fn revoke_api_key<'e>(
    e: impl PgExecutor<'e>,
    id: Uuid,
    at_ms: i64,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL",
        at_ms,
        &id.as_bytes()[..]
    )
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}
