//! Handlers for who may use the vault: logging in and out, staff accounts, integration keys.
//! Their routes and access rules are in the endpoint table of `routes.rs` like every other's.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pdv_service::{
    ApiKeyIssued, ApiKeyView, Credentials, NewApiKey, NewUser, Principal, ServiceError,
    SessionIssued, UserChange, UserCreated, UserView, Vault,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, InternalError, NotFound, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::problem::ApiError;
use crate::ratelimit::LoginAttempt;

type AppState = Arc<Vault>;
type ApiResult<T> = Result<T, ApiError>;

/// Public: this is where a staff member gets the token every other call needs.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "access",
    summary = "Вход сотрудника",
    description = "Проверяет логин и пароль и открывает сеанс на 8 часов; токен сеанса передаётся дальше в заголовке `Authorization: Bearer …`. После трёх неудачных попыток подряд ответ замедляется, после пяти вход блокируется на 15 минут. Кроме того, число неудачных попыток с одного адреса ограничено (по умолчанию 10 подряд, затем 10 в минуту): сверх него — 429 `too_many_requests` с заголовком `Retry-After`; успешные входы лимит не расходуют. Каждая попытка и первый отказ по лимиту записываются в журнал аудита. Без авторизации.",
    request_body = Credentials,
    responses(
        (status = 200, description = "Сеанс открыт", body = SessionIssued),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn login(
    State(vault): State<AppState>,
    attempt: LoginAttempt,
    ApiJson(credentials): ApiJson<Credentials>,
) -> ApiResult<Json<SessionIssued>> {
    let result = vault.login(credentials).await;
    // Only a failed password check counts against the address; the attempt's token goes back
    // for anything else (a success, a database error).
    if let Err(ServiceError::Unauthenticated { .. }) = &result {
        attempt.failed();
    }
    Ok(Json(result?))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "access",
    summary = "Выход",
    description = "Закрывает сеанс, токеном которого подписан запрос. Ключ API так не закрывается — его отзывают.",
    responses(
        (status = 204, description = "Сеанс закрыт"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn logout(State(vault): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    vault.logout(&caller.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "access",
    summary = "Кто я",
    description = "Сотрудник или ключ API, от имени которого выполняется запрос: роль, для ключа — цели и категории, до которых он ограничен, и срок действия.",
    responses(
        (status = 200, description = "Вызывающий", body = Principal),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn me(caller: Caller) -> Json<Principal> {
    Json(caller.0)
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserList {
    users: Vec<UserView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "access",
    summary = "Учётные записи сотрудников",
    description = "Все учётные записи с ролями и состоянием (заблокирована после неудачных входов, отключена). Хеши паролей не выдаются. Только для администратора.",
    responses(
        (status = 200, description = "Учётные записи по логину", body = UserList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_users(State(vault): State<AppState>) -> ApiResult<Json<UserList>> {
    Ok(Json(UserList {
        users: vault.users().await?,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "access",
    summary = "Завести сотрудника",
    description = "Создаёт учётную запись с ролью administrator, responsible_person, agent или auditor. Без пароля в запросе пароль создаётся и возвращается один раз. Пароль — не короче 12 символов и не содержит логин; хранится только как Argon2id. Только для администратора.",
    request_body = NewUser,
    responses(
        (status = 201, description = "Учётная запись создана", body = UserCreated),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn add_user(
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
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        vault.change_user(&caller.actor(), login, change).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{login}/disable",
    tag = "access",
    summary = "Отключить сотрудника",
    description = "Учётная запись больше не может войти, её открытые сеансы закрываются сразу. Только для администратора.",
    params(("login" = String, Path, description = "Логин сотрудника")),
    responses(
        (status = 200, description = "Учётная запись отключена", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn disable_user(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<Json<UserView>> {
    change(&vault, &caller, &login, UserChange::Disable).await
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{login}/enable",
    tag = "access",
    summary = "Включить сотрудника",
    description = "Снова разрешает вход отключённой учётной записи. Только для администратора.",
    params(("login" = String, Path, description = "Логин сотрудника")),
    responses(
        (status = 200, description = "Учётная запись включена", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn enable_user(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<Json<UserView>> {
    change(&vault, &caller, &login, UserChange::Enable).await
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{login}/unlock",
    tag = "access",
    summary = "Снять блокировку входа",
    description = "Снимает временную блокировку после неудачных попыток входа, не дожидаясь её окончания. Только для администратора.",
    params(("login" = String, Path, description = "Логин сотрудника")),
    responses(
        (status = 200, description = "Блокировка снята", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn unlock_user(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<Json<UserView>> {
    change(&vault, &caller, &login, UserChange::Unlock).await
}

/// A new password for an account; generated (and returned once) when the body has none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    /// At least 12 characters, without the login; generated when absent.
    #[serde(default)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PasswordSet {
    login: String,
    /// The generated password, shown this once; `null` when the request gave one.
    password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{login}/password",
    tag = "access",
    summary = "Сменить пароль сотрудника",
    description = "Задаёт новый пароль (или создаёт его и возвращает один раз), закрывает все сеансы учётной записи и снимает блокировку входа. Только для администратора.",
    params(("login" = String, Path, description = "Логин сотрудника")),
    request_body = NewPassword,
    responses(
        (status = 200, description = "Пароль изменён", body = PasswordSet),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn set_password(
    State(vault): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
    ApiJson(input): ApiJson<NewPassword>,
) -> ApiResult<Json<PasswordSet>> {
    let password = vault
        .set_password(&caller.actor(), &login, input.password)
        .await?;
    Ok(Json(PasswordSet { login, password }))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyList {
    keys: Vec<ApiKeyView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "access",
    summary = "Ключи API интеграций",
    description = "Все выданные ключи, в том числе отозванные, с целями и категориями, до которых они ограничены. Секреты не выдаются. Для администратора и ответственного за обработку ПДн.",
    responses(
        (status = 200, description = "Ключи по времени выдачи", body = KeyList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_keys(State(vault): State<AppState>) -> ApiResult<Json<KeyList>> {
    Ok(Json(KeyList {
        keys: vault.api_keys().await?,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/keys",
    tag = "access",
    summary = "Выдать ключ API",
    description = "Выдаёт ключ с ролью integration для перечисленных целей политики и, если указаны, только для этих категорий: ключ не получит данных других целей и категорий, даже если попросит. Ключ с ролью monitoring (без целей и категорий) даёт только чтение метрик `/metrics` — для Prometheus. Секрет возвращается один раз; хранится только его хеш. Для администратора и ответственного за обработку ПДн.",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "Ключ выдан", body = ApiKeyIssued),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn create_key(
    State(vault): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewApiKey>,
) -> ApiResult<Response> {
    let issued = vault.create_api_key(&caller.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/keys/{key}/revoke",
    tag = "access",
    summary = "Отозвать ключ API",
    description = "С этого момента любой запрос с ключом получает 401 `key_revoked`. Повторный отзыв — 409. Для администратора и ответственного за обработку ПДн.",
    params(("key" = uuid::Uuid, Path, description = "Идентификатор ключа")),
    responses(
        (status = 200, description = "Ключ отозван", body = ApiKeyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn revoke_key(
    State(vault): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<Json<ApiKeyView>> {
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
