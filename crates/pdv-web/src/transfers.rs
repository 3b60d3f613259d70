//! Transfers over HTTP: providing a subject's data to a processor or recipient, the subject's
//! transfer journal, withdrawing a consent for some recipients, and the register of processors
//! and recipients.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use pdv_core::ConsentId;
use pdv_service::{
    NewTransfer, RecipientWithdrawal, RecipientsWithdrawn, RegisterEntry, TransferEntry,
    TransferMade, Vault,
};

use crate::auth::Caller;
use crate::extract::{ApiJson, Creating, parse_id};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Gone, InternalError, NotFound, PayloadTooLarge,
    ServiceUnavailable, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::problem::ApiError;

type ApiResult<T> = Result<T, ApiError>;
use crate::routes::{created, subject_id};

type AppState = Arc<Vault>;

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/transfers",
    tag = "transfers",
    summary = "Передать данные обработчику или получателю",
    description = "Предоставляет данные субъекта лицу из перечня обработчиков и получателей политики для заявленной цели и на названном основании. Передача разрешена, только если цель допускает использование данных, лицо зарегистрировано для этой цели и этих категорий, договор поручения с обработчиком содержит все условия ст. 6 ч. 3, для лица за рубежом пройдена процедура ст. 12 (уведомление Роскомнадзора, для стран без адекватной защиты — 10 рабочих дней ожидания), основание действует (согласие, называющее это лицо или его категорию; действующий договор; решение суда с реквизитами; закон) и ничего не заблокировано. Отказ — 403 с устойчивым кодом и причиной; ничего не передаётся. Передача и отказ записываются в журнал аудита, передача — в журнал передач субъекта.",
    params(("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта")),
    request_body = NewTransfer,
    responses(
        (status = 200, description = "Данные переданы; в ответе — сами данные, расшифрованные только для этого вызова", body = TransferMade),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn transfer(
    State(vault): State<AppState>,
    caller: Caller,
    Path(subject): Path<String>,
    ApiJson(input): ApiJson<NewTransfer>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    Ok(Json(vault.transfer(&caller.actor(), subject, input).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/subjects/{subject}/transfers",
    tag = "transfers",
    summary = "Журнал передач субъекта",
    description = "Все передачи данных субъекта третьим лицам: когда, кому, какие категории, для какой цели, на каком основании и кто передал; без самих данных. Просмотр записывается в журнал аудита.",
    params(("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта")),
    responses(
        (status = 200, description = "Передачи, старые первыми", body = Vec<TransferEntry>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_transfers(
    State(vault): State<AppState>,
    caller: Caller,
    Path(subject): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    Ok(Json(vault.transfers(&caller.actor(), subject).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/consents/{consent}/withdraw-recipients",
    tag = "consents",
    summary = "Отозвать согласие для отдельных получателей",
    description = "Отзывает согласие только для названных получателей (или их категории, если согласие называет категорию); для остальных оно продолжает действовать. Передачи этим получателям на основании согласия прекращаются сразу; получателям, которым данные уже передавались на его основании, через исходящие ставится уведомление о прекращении обработки (ст. 21 ч. 5).",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("consent" = uuid::Uuid, Path, description = "Идентификатор согласия"),
        crate::openapi::IdempotencyKey,
    ),
    request_body = RecipientWithdrawal,
    responses(
        (status = 201, description = "Согласие отозвано для названных получателей", body = RecipientsWithdrawn,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn withdraw_for_recipients(
    State(vault): State<AppState>,
    Path((subject, consent)): Path<(String, String)>,
    Creating { actor, input }: Creating<RecipientWithdrawal>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    let consent = parse_id(&consent, "consent", ConsentId)?;
    created(
        vault
            .withdraw_consent_for_recipients(&actor, subject, consent, input)
            .await,
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/register",
    tag = "transfers",
    summary = "Перечень обработчиков и получателей",
    description = "Обработчики (по поручению, ст. 6 ч. 3) и получатели из политики: цели, категории, операции, основания, договор поручения и недостающие в нём условия, страна и с какого дня возможна трансграничная передача; статус `ready`, `contract_incomplete`, `cross_border_refused` или `cross_border_waiting` на сегодня.",
    responses(
        (status = 200, description = "Перечень", body = Vec<RegisterEntry>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn register(State(vault): State<AppState>) -> impl IntoResponse {
    Json(vault.register())
}
