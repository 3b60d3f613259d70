//! The register of incidents over HTTP (ст. 21 ч. 3.1 152-ФЗ): register an incident, list the
//! register and what is due, read one incident, take a step on it, and get the draft notices to
//! Roskomnadzor. Incidents are addressed by their number (`2026-000001`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pdv_core::incident::{IncidentNumber, IncidentReport, NoticeKind};
use pdv_service::{IncidentFilter, IncidentStep, IncidentView, NoticeDraft, Vault};

use crate::auth::Caller;
use crate::extract::{ApiJson, Creating};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, IdempotencyKey, InternalError, NotFound, PayloadTooLarge,
    ServiceUnavailable, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::problem::ApiError;

type AppState = Arc<Vault>;

fn number(text: &str) -> Result<IncidentNumber, ApiError> {
    text.parse().map_err(|message: String| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_number", message).field("number")
    })
}

/// Refuses query parameters other than `allowed`, naming the first unknown one.
fn only(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!(
                "неизвестный параметр «{unknown}»: допустимы {}",
                allowed.join(", ")
            ),
        )
        .field(unknown.clone())),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    summary = "Зарегистрировать инцидент",
    description = "Вносит инцидент — неправомерную или случайную передачу (предоставление, распространение, доступ) персональных данных, повлёкшую нарушение прав субъектов, — в реестр оператора и запускает два таймера ст. 21 ч. 3.1 152-ФЗ: первичное уведомление Роскомнадзора в течение 24 часов и результаты внутреннего расследования в течение 72 часов с момента выявления (`detected_at`), в астрономических часах, без переноса на рабочие дни. Категории — идентификаторы категорий политики; без `contact` уполномоченным на взаимодействие с Роскомнадзором считается ответственный за организацию обработки (ст. 22.1). Тексты шифруются; в журнал аудита попадают только номер, время, категории, числа и хэши.",
    params(IdempotencyKey),
    request_body = IncidentReport,
    responses(
        (status = 201, description = "Инцидент зарегистрирован", body = IncidentView,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
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
pub(crate) async fn register(
    State(vault): State<AppState>,
    Creating { actor, input }: Creating<IncidentReport>,
) -> Result<Response, ApiError> {
    crate::routes::created(vault.register_incident(&actor, input).await)
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    summary = "Реестр инцидентов",
    description = "Инциденты по порядку номеров с состоянием обоих таймеров, без текстов. `status` — `open` (не закрытые и не отклонённые), `overdue` (уведомление просрочено) или статус.",
    params(IncidentFilter),
    responses(
        (status = 200, description = "Инциденты", body = Vec<IncidentView>),
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
    only(&params, &["status"])?;
    let filter = IncidentFilter {
        status: params.get("status").cloned(),
    };
    Ok(Json(vault.incidents(&caller.actor(), filter).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/due",
    tag = "incidents",
    summary = "Сроки уведомлений по инцидентам",
    description = "Открытые инциденты, по которым ещё не направлено уведомление, с ближайшим таймером (`next`), самые срочные первыми: просроченные (`overdue`, «ПРОСРОЧЕНО на …»), затем истекающие в ближайшие 6 часов (`due_soon`), затем остальные. `at` — на какой момент, по умолчанию сейчас; неверный момент — 422 `invalid_date`.",
    params(("at" = Option<String>, Query, description = "Момент, на который считать сроки: RFC 3339 или местное время оператора (`2026-03-03 10:00`)", example = "2026-03-03T10:00:00+03:00")),
    responses(
        (status = 200, description = "Инциденты со сроками", body = Vec<IncidentView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn due(
    State(vault): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    only(&params, &["at"])?;
    let at = params.get("at").map(String::as_str);
    Ok(Json(vault.incidents_due(&caller.actor(), at).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{number}",
    tag = "incidents",
    summary = "Инцидент с историей",
    description = "Инцидент с текстами (что произошло, причины, вред, меры, уполномоченное лицо), отметками об уведомлениях, результатами расследования, таймерами и историей записей. Чтение записывается в журнал аудита.",
    params(("number" = String, Path, description = "Номер инцидента", example = "2026-000001")),
    responses(
        (status = 200, description = "Инцидент", body = IncidentView),
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
    Ok(Json(vault.incident(&caller.actor(), n).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{number}/steps",
    tag = "incidents",
    summary = "Шаг по инциденту",
    description = "`first_notice_sent` — первичное уведомление направлено (`sent_at`, по умолчанию сейчас; `how`; `reference`); `results` — результаты внутреннего расследования (`results`, `persons` — лица, действия которых стали причиной инцидента; можно внести и до первичного уведомления и заменить до отправки); `results_sent` — уведомление о результатах направлено (только после первичного и с внесёнными результатами); `close` — закрыть после уведомления о результатах; `dismiss` — инцидент не подтвердился (`reason`; только пока Роскомнадзор не уведомлён). Недопустимый порядок — 409: `first_notice_not_sent`, `no_results`, `results_not_sent`, `already_notified`, `first_notice_already_sent`, `results_already_sent`, `incident_closed`.",
    params(("number" = String, Path, description = "Номер инцидента", example = "2026-000001")),
    request_body = IncidentStep,
    responses(
        (status = 200, description = "Инцидент после шага", body = IncidentView),
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
    ApiJson(input): ApiJson<IncidentStep>,
) -> Result<impl IntoResponse, ApiError> {
    let n = number(&n)?;
    Ok(Json(vault.incident_step(&caller.actor(), n, input).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{number}/notice",
    tag = "incidents",
    summary = "Проект уведомления Роскомнадзора",
    description = "Проект уведомления по ст. 21 ч. 3.1 152-ФЗ на русском: `kind=first` — первичное (об инциденте, предполагаемых причинах и вреде, принятых мерах, уполномоченном лице), `kind=results` — о результатах внутреннего расследования и лицах, действия которых стали причиной инцидента. С реквизитами оператора из политики (наименование, ИНН, ОГРН, адрес, ответственный) и номером инцидента. Чего ещё нет, перечислено в `missing` и отмечено в тексте «[НЕ ЗАПОЛНЕНО: …]». `format=text` — только текст (text/plain), иначе JSON. Подготовка записывается в журнал аудита.",
    params(
        ("number" = String, Path, description = "Номер инцидента", example = "2026-000001"),
        ("kind" = String, Query, description = "`first` или `results`"),
        ("format" = Option<String>, Query, description = "`json` (по умолчанию) или `text`"),
    ),
    responses(
        (status = 200, description = "Проект уведомления", content(
            (NoticeDraft = "application/json"),
            (String = "text/plain"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn notice(
    State(vault): State<AppState>,
    caller: Caller,
    Path(n): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let n = number(&n)?;
    only(&params, &["kind", "format"])?;
    let kind = match params.get("kind").map(String::as_str) {
        Some(k) => NoticeKind::parse(k).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_notice_kind",
                format!("вид уведомления «{k}» неизвестен: first или results"),
            )
            .field("kind")
        })?,
        None => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "required",
                "укажите вид уведомления: kind=first или kind=results",
            )
            .field("kind"));
        }
    };
    let text = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("text") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_format",
                format!("формат «{other}» не поддерживается: json или text"),
            )
            .field("format"));
        }
    };
    let draft = vault.incident_notice(&caller.actor(), n, kind).await?;
    Ok(if text {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            draft.text,
        )
            .into_response()
    } else {
        Json(draft).into_response()
    })
}
