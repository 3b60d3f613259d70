//! Routes for who may use the vault: logging in and out, staff accounts, integration keys.
//! Their access rules are in [`crate::auth::ENDPOINTS`] like every other route's.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pdv_service::{Credentials, NewApiKey, NewUser, UserChange, Vault};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::ApiError;

type AppState = Arc<Vault>;
type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/users", get(list_users).post(add_user))
        .route("/api/v1/users/{login}/disable", post(disable_user))
        .route("/api/v1/users/{login}/enable", post(enable_user))
        .route("/api/v1/users/{login}/unlock", post(unlock_user))
        .route("/api/v1/users/{login}/password", post(set_password))
        .route("/api/v1/keys", get(list_keys).post(create_key))
        .route("/api/v1/keys/{key}/revoke", post(revoke_key))
}

async fn login(
    State(vault): State<AppState>,
    ApiJson(credentials): ApiJson<Credentials>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(vault.login(credentials).await?))
}

async fn logout(State(vault): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    vault.logout(&caller.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> impl IntoResponse {
    Json(caller.0)
}

async fn list_users(State(vault): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(json!({ "users": vault.users().await? })))
}

async fn add_user(
    State(vault): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<Response> {
    let created = vault.add_user(&caller.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn change(
    vault: &Vault,
    caller: &Caller,
    login: &str,
    change: UserChange,
) -> ApiResult<Json<pdv_service::UserView>> {
    Ok(Json(
        vault.change_user(&caller.actor(), login, change).await?,
    ))
}

async fn disable_user(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<impl IntoResponse> {
    change(&vault, &caller, &login, UserChange::Disable).await
}

async fn enable_user(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<impl IntoResponse> {
    change(&vault, &caller, &login, UserChange::Enable).await
}

async fn unlock_user(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<impl IntoResponse> {
    change(&vault, &caller, &login, UserChange::Unlock).await
}

/// A new password for an account; generated (and returned once) when the body has none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    #[serde(default)]
    password: Option<String>,
}

async fn set_password(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
    ApiJson(input): ApiJson<NewPassword>,
) -> ApiResult<impl IntoResponse> {
    let generated = vault
        .set_password(&caller.actor(), &login, input.password)
        .await?;
    Ok(Json(json!({ "login": login, "password": generated })))
}

async fn list_keys(State(vault): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(json!({ "keys": vault.api_keys().await? })))
}

async fn create_key(
    State(vault): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewApiKey>,
) -> ApiResult<Response> {
    let issued = vault.create_api_key(&caller.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

async fn revoke_key(
    State(vault): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = uuid::Uuid::try_parse(&key).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("«{key}» не является идентификатором ключа API"),
        )
        .field("key")
    })?;
    Ok(Json(vault.revoke_api_key(&caller.actor(), id).await?))
}
