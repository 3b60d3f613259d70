//! The request journal over HTTP: receive a request, list the journal, read one request with its
//! history, and take a step on it. Requests are addressed by their journal number
//! (`2026-000042`), which staff read out on the phone and subjects quote in letters.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pdv_core::request::RequestNumber;
use pdv_service::{NewRequest, RequestFilter, RequestStep, RequestView, Vault};

use crate::auth::Caller;
use crate::extract::{ApiJson, Creating};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Gone, IdempotencyKey, InternalError, NotFound,
    PayloadTooLarge, ServiceUnavailable, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::problem::ApiError;

type AppState = Arc<Vault>;

fn number(text: &str) -> Result<RequestNumber, ApiError> {
    text.parse().map_err(|message: String| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_number", message).field("number")
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    summary = "Зарегистрировать обращение",
    description = "Вносит обращение субъекта (или запрос Роскомнадзора) в журнал учёта обращений и рассчитывает законный срок ответа по таблице сроков D1–D14 и производственному календарю: день 0 — дата получения в часовом поясе оператора. Обращение без субъекта, неполное или неподписанное всё равно регистрируется — срок течёт с получения; ответ перечисляет, чего не хватает (`missing`).",
    params(IdempotencyKey),
    request_body = NewRequest,
    responses(
        (status = 201, description = "Обращение зарегистрировано", body = RequestView,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
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
pub(crate) async fn receive(
    State(vault): State<AppState>,
    Creating { actor, input }: Creating<NewRequest>,
) -> Result<Response, ApiError> {
    crate::routes::created(vault.receive_request(&actor, input).await)
}

#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    summary = "Журнал обращений",
    description = "Обращения по порядку номеров, без сведений о заявителе. Фильтры: `kind` — вид; `status` — `open` (не закрытые), `overdue` (просроченные), или статус; `due_by` — со сроком не позднее даты.",
    params(RequestFilter),
    responses(
        (status = 200, description = "Обращения", body = Vec<RequestView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list(
    State(vault): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(unknown) = params
        .keys()
        .find(|k| !matches!(k.as_str(), "kind" | "status" | "due_by"))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!("неизвестный параметр «{unknown}»: допустимы kind, status и due_by"),
        )
        .field(unknown.clone()));
    }
    let filter = RequestFilter {
        kind: params.get("kind").cloned(),
        status: params.get("status").cloned(),
        due_by: params.get("due_by").cloned(),
    };
    Ok(Json(vault.requests(&caller.actor(), filter).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/requests/{number}",
    tag = "requests",
    summary = "Обращение с историей",
    description = "Обращение, сведения о заявителе и все записи журнала по нему, по порядку.",
    params(("number" = String, Path, description = "Номер обращения", example = "2026-000042")),
    responses(
        (status = 200, description = "Обращение", body = RequestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn show(
    State(vault): State<AppState>,
    caller: Caller,
    Path(n): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let n = number(&n)?;
    Ok(Json(vault.request_view(&caller.actor(), n).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/requests/{number}/steps",
    tag = "requests",
    summary = "Шаг по обращению",
    description = "Добавляет запись в журнал: `check_identity` (с `identity`), `start`, `extend` (мотивированное продление на 5 рабочих дней, где закон его допускает), `answer`, `refuse` (мотивированный отказ), `note` (примечание, в том числе исправление — прежние записи не меняются). Недопустимый порядок шагов — 409 с кодом `step_out_of_order`, `request_closed`, `not_extendable` или `already_extended`.",
    params(("number" = String, Path, description = "Номер обращения", example = "2026-000042")),
    request_body = RequestStep,
    responses(
        (status = 200, description = "Обращение после шага", body = RequestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn step(
    State(vault): State<AppState>,
    caller: Caller,
    Path(n): Path<String>,
    ApiJson(input): ApiJson<RequestStep>,
) -> Result<impl IntoResponse, ApiError> {
    let n = number(&n)?;
    Ok(Json(vault.request_step(&caller.actor(), n, input).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/requests/{number}/answer",
    tag = "requests",
    summary = "Ответ на запрос сведений (ст. 14 ч. 7)",
    description = "Готовит ответ на запрос сведений об обработке по ст. 14 ч. 7 152-ФЗ из политики оператора и данных субъекта: подтверждение обработки, цели и основания, способы, сами данные с источником, получатели и обработчики с адресами, сроки, трансграничная передача, права и меры защиты. `format=html` — страница для печати, иначе JSON. Подготовка расшифровывает данные и записывается в журнал аудита. Для других видов обращений — 409 `not_an_access_request`.",
    params(
        ("number" = String, Path, description = "Номер обращения", example = "2026-000042"),
        ("format" = Option<String>, Query, description = "`json` (по умолчанию) или `html`"),
    ),
    responses(
        (status = 200, description = "Ответ", content(
            (pdv_service::AccessAnswer = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn answer(
    State(vault): State<AppState>,
    caller: Caller,
    Path(n): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let n = number(&n)?;
    if let Some(unknown) = params.keys().find(|k| k.as_str() != "format") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!("неизвестный параметр «{unknown}»: допустим format"),
        )
        .field(unknown.clone()));
    }
    let html = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("html") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_format",
                format!("формат «{other}» не поддерживается: json или html"),
            )
            .field("format"));
        }
    };
    let doc = vault.access_answer(&caller.actor(), n).await?;
    Ok(if html {
        (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            doc.to_html(),
        )
            .into_response()
    } else {
        Json(doc).into_response()
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    tag = "outbox",
    summary = "Исходящие сообщения",
    description = "Ответы и уведомления заявителям, ожидающие отправки (`status=queued`, по умолчанию), отправленные (`sent`) или не доставленные (`failed`), по порядку, не больше 100 за запрос: отчитайтесь об отправленных и запросите снова. pdvault сам ничего не отправляет: почтовая или SMS-интеграция оператора забирает сообщения здесь и сообщает результат. Чтение записывается в журнал аудита.",
    params(("status" = Option<String>, Query, description = "`queued`, `sent` или `failed`")),
    responses(
        (status = 200, description = "Сообщения", body = Vec<pdv_service::MessageView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn outbox(
    State(vault): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(unknown) = params.keys().find(|k| k.as_str() != "status") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!("неизвестный параметр «{unknown}»: допустим status"),
        )
        .field(unknown.clone()));
    }
    Ok(Json(
        vault
            .outbox(&caller.actor(), params.get("status").map(String::as_str))
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/outbox/{message}/report",
    tag = "outbox",
    summary = "Сообщить о доставке",
    description = "Отмечает сообщение отправленным (`sent`) или недоставленным (`failed`) с примечанием интеграции (номер отправления, ошибка — без персональных данных). Повторный отчёт — 409 `already_reported`.",
    params(("message" = uuid::Uuid, Path, description = "Идентификатор сообщения")),
    request_body = pdv_service::DeliveryReport,
    responses(
        (status = 200, description = "Сообщение после отчёта", body = pdv_service::MessageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn report(
    State(vault): State<AppState>,
    caller: Caller,
    Path(message): Path<String>,
    ApiJson(input): ApiJson<pdv_service::DeliveryReport>,
) -> Result<impl IntoResponse, ApiError> {
    let id = crate::extract::parse_id(&message, "message", |u| u)?;
    Ok(Json(
        vault.report_delivery(&caller.actor(), id, input).await?,
    ))
}
