//! Staff accounts, sessions and API keys in SQLite (schema version 2). Each query is a free
//! function over any SQLite executor, so the same code serves the pool (authentication reads on
//! every request) and an open write transaction (changes).

use pdv_store::{ApiKeyRow, SessionRow, StoreError, StoreResult, UserRow};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};
use uuid::Uuid;

use crate::{corrupt, hash_bytes, json_list, map_err, uuid_bytes};

fn to_u32(v: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| corrupt(&format!("{what} out of range")))
}

fn json(list: &[String]) -> StoreResult<String> {
    serde_json::to_string(list).map_err(|e| StoreError::Backend(e.to_string()))
}

fn user_from_row(row: &SqliteRow) -> StoreResult<UserRow> {
    Ok(UserRow {
        id: Uuid::from_bytes(uuid_bytes(row, "user_id")?),
        login: row.try_get("login").map_err(map_err)?,
        full_name: row.try_get("full_name").map_err(map_err)?,
        role: row.try_get("role").map_err(map_err)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        failed_logins: to_u32(
            row.try_get("failed_logins").map_err(map_err)?,
            "failed_logins",
        )?,
        locked_until_ms: row.try_get("locked_until").map_err(map_err)?,
        disabled_at_ms: row.try_get("disabled_at").map_err(map_err)?,
        created_at_ms: row.try_get("created_at").map_err(map_err)?,
    })
}

fn session_from_row(row: &SqliteRow) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        token_hash: hash_bytes(row, "token_hash")?,
        user_id: Uuid::from_bytes(uuid_bytes(row, "user_id")?),
        created_at_ms: row.try_get("created_at").map_err(map_err)?,
        expires_at_ms: row.try_get("expires_at").map_err(map_err)?,
    })
}

fn key_from_row(row: &SqliteRow) -> StoreResult<ApiKeyRow> {
    let purposes: String = row.try_get("purposes").map_err(map_err)?;
    let categories: String = row.try_get("categories").map_err(map_err)?;
    Ok(ApiKeyRow {
        id: Uuid::from_bytes(uuid_bytes(row, "key_id")?),
        name: row.try_get("name").map_err(map_err)?,
        role: row.try_get("role").map_err(map_err)?,
        purposes: json_list(&purposes)?,
        categories: json_list(&categories)?,
        secret_hash: hash_bytes(row, "secret_hash")?,
        created_by: row.try_get("created_by").map_err(map_err)?,
        created_at_ms: row.try_get("created_at").map_err(map_err)?,
        expires_at_ms: row.try_get("expires_at").map_err(map_err)?,
        revoked_at_ms: row.try_get("revoked_at").map_err(map_err)?,
    })
}

pub(crate) async fn insert_user<'e>(e: impl SqliteExecutor<'e>, u: &UserRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO staff_users (user_id, login, full_name, role, password_hash, failed_logins, \
         locked_until, disabled_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&u.id.as_bytes()[..])
    .bind(&u.login)
    .bind(&u.full_name)
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(i64::from(u.failed_logins))
    .bind(u.locked_until_ms)
    .bind(u.disabled_at_ms)
    .bind(u.created_at_ms)
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn user<'e>(e: impl SqliteExecutor<'e>, id: Uuid) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query("SELECT * FROM staff_users WHERE user_id = ?")
        .bind(&id.as_bytes()[..])
        .fetch_optional(e)
        .await
        .map_err(map_err)?;
    row.as_ref().map(user_from_row).transpose()
}

pub(crate) async fn user_by_login<'e>(
    e: impl SqliteExecutor<'e>,
    login: &str,
) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query("SELECT * FROM staff_users WHERE login = ?")
        .bind(login)
        .fetch_optional(e)
        .await
        .map_err(map_err)?;
    row.as_ref().map(user_from_row).transpose()
}

pub(crate) async fn users<'e>(e: impl SqliteExecutor<'e>) -> StoreResult<Vec<UserRow>> {
    let rows = sqlx::query("SELECT * FROM staff_users ORDER BY login")
        .fetch_all(e)
        .await
        .map_err(map_err)?;
    rows.iter().map(user_from_row).collect()
}

pub(crate) async fn update_user<'e>(e: impl SqliteExecutor<'e>, u: &UserRow) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE staff_users SET full_name = ?, role = ?, password_hash = ?, failed_logins = ?, \
         locked_until = ?, disabled_at = ? WHERE user_id = ?",
    )
    .bind(&u.full_name)
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(i64::from(u.failed_logins))
    .bind(u.locked_until_ms)
    .bind(u.disabled_at_ms)
    .bind(&u.id.as_bytes()[..])
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn insert_session<'e>(
    e: impl SqliteExecutor<'e>,
    s: &SessionRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO staff_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(&s.token_hash[..])
    .bind(&s.user_id.as_bytes()[..])
    .bind(s.created_at_ms)
    .bind(s.expires_at_ms)
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn session<'e>(
    e: impl SqliteExecutor<'e>,
    token_hash: &[u8; 32],
) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query("SELECT * FROM staff_sessions WHERE token_hash = ?")
        .bind(&token_hash[..])
        .fetch_optional(e)
        .await
        .map_err(map_err)?;
    row.as_ref().map(session_from_row).transpose()
}

pub(crate) async fn delete_session<'e>(
    e: impl SqliteExecutor<'e>,
    token_hash: &[u8; 32],
) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM staff_sessions WHERE token_hash = ?")
        .bind(&token_hash[..])
        .execute(e)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn delete_user_sessions<'e>(
    e: impl SqliteExecutor<'e>,
    user: Uuid,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?")
        .bind(&user.as_bytes()[..])
        .execute(e)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_expired_sessions<'e>(
    e: impl SqliteExecutor<'e>,
    now_ms: i64,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM staff_sessions WHERE expires_at < ?")
        .bind(now_ms)
        .execute(e)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}

pub(crate) async fn insert_api_key<'e>(
    e: impl SqliteExecutor<'e>,
    k: &ApiKeyRow,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (key_id, name, role, purposes, categories, secret_hash, created_by, \
         created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&k.id.as_bytes()[..])
    .bind(&k.name)
    .bind(&k.role)
    .bind(json(&k.purposes)?)
    .bind(json(&k.categories)?)
    .bind(&k.secret_hash[..])
    .bind(&k.created_by)
    .bind(k.created_at_ms)
    .bind(k.expires_at_ms)
    .bind(k.revoked_at_ms)
    .execute(e)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn api_key<'e>(
    e: impl SqliteExecutor<'e>,
    id: Uuid,
) -> StoreResult<Option<ApiKeyRow>> {
    let row = sqlx::query("SELECT * FROM api_keys WHERE key_id = ?")
        .bind(&id.as_bytes()[..])
        .fetch_optional(e)
        .await
        .map_err(map_err)?;
    row.as_ref().map(key_from_row).transpose()
}

pub(crate) async fn api_keys<'e>(e: impl SqliteExecutor<'e>) -> StoreResult<Vec<ApiKeyRow>> {
    let rows = sqlx::query("SELECT * FROM api_keys ORDER BY created_at, key_id")
        .fetch_all(e)
        .await
        .map_err(map_err)?;
    rows.iter().map(key_from_row).collect()
}

pub(crate) async fn revoke_api_key<'e>(
    e: impl SqliteExecutor<'e>,
    id: Uuid,
    at_ms: i64,
) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL")
            .bind(at_ms)
            .bind(&id.as_bytes()[..])
            .execute(e)
            .await
            .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}
