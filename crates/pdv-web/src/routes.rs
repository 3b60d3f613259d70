//! The API's routes, one function per endpoint. Each parses its input, calls one `Vault`
//! command as the authenticated caller, and returns JSON or a problem. Each handler carries its
//! `#[utoipa::path]` description: method, path, parameters, body and every status it can answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get as get_route, post as post_route};
use axum::{Json, Router};
use pdv_core::auth::Permission;
use pdv_core::{BlockId, ConsentId, ContractId, RecordId, SubjectId};
use pdv_service::*;

use crate::accounts;
use crate::auth::{self, Access, Caller, Guard, Rule};
use crate::bodies::{ConsentEvidence, Health, PolicyView, Ready};
use crate::extract::{ApiJson, Creating, parse_id};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Gone, IdempotencyKey, InternalError, NotFound,
    PayloadTooLarge, ServiceUnavailable, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::problem::ApiError;

type AppState = Arc<Vault>;
type ApiResult<T> = Result<T, ApiError>;

/// One endpoint: the method and path it answers, who may call it, and the handler behind them.
pub(crate) struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    /// `None` until the table gives a rule; such an endpoint is refused to everyone.
    pub access: Option<Access>,
    route: MethodRouter<AppState>,
}

impl Endpoint {
    /// Open to anyone, without credentials.
    fn public(mut self) -> Endpoint {
        self.access = Some(Access::Public);
        self
    }

    /// Open to authenticated callers whose role carries `permission`.
    fn needs(mut self, permission: Permission) -> Endpoint {
        self.access = Some(Access::Requires(permission));
        self
    }
}

fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Endpoint {
    Endpoint {
        method: Method::GET,
        path,
        access: None,
        route: get_route(handler),
    }
}

fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Endpoint {
    Endpoint {
        method: Method::POST,
        path,
        access: None,
        route: post_route(handler),
    }
}

/// Every endpoint of the API with its access rule. The router is built from this table and only
/// from it; `tests/openapi.rs` checks it against the OpenAPI document both ways, and
/// `tests/auth.rs` against a hand-written matrix of who may call what, so an endpoint can be
/// neither undocumented nor without an explicit rule.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    use Permission as P;
    vec![
        get("/health", health).public(),
        get("/ready", ready).public(),
        get("/api/v1/policy", policy).public(),
        get(crate::openapi::OPENAPI_PATH, openapi_json).public(),
        get(crate::metrics::METRICS_PATH, crate::metrics::scrape).needs(P::ViewMetrics),
        post("/api/v1/auth/login", accounts::login).public(),
        post("/api/v1/auth/logout", accounts::logout).needs(P::OwnSession),
        get("/api/v1/auth/me", accounts::me).needs(P::OwnSession),
        get("/api/v1/users", accounts::list_users).needs(P::ManageUsers),
        post("/api/v1/users", accounts::add_user).needs(P::ManageUsers),
        post("/api/v1/users/{login}/disable", accounts::disable_user).needs(P::ManageUsers),
        post("/api/v1/users/{login}/enable", accounts::enable_user).needs(P::ManageUsers),
        post("/api/v1/users/{login}/unlock", accounts::unlock_user).needs(P::ManageUsers),
        post("/api/v1/users/{login}/password", accounts::set_password).needs(P::ManageUsers),
        get("/api/v1/keys", accounts::list_keys).needs(P::ManageKeys),
        post("/api/v1/keys", accounts::create_key).needs(P::ManageKeys),
        post("/api/v1/keys/{key}/revoke", accounts::revoke_key).needs(P::ManageKeys),
        post("/api/v1/subjects", create_subject).needs(P::CreateSubject),
        post("/api/v1/subjects/search", find_subjects).needs(P::FindSubjects),
        get("/api/v1/subjects/{subject}", subject_summary).needs(P::ViewSubject),
        post("/api/v1/subjects/{subject}/records", add_record).needs(P::AddRecord),
        post(
            "/api/v1/subjects/{subject}/records/{record}/rectify",
            rectify_record,
        )
        .needs(P::AddRecord),
        get("/api/v1/subjects/{subject}/data", read_data).needs(P::ReadData),
        post("/api/v1/subjects/{subject}/consents", record_consent).needs(P::RecordConsent),
        post(
            "/api/v1/subjects/{subject}/consents/{consent}/withdraw",
            withdraw_consent,
        )
        .needs(P::WithdrawConsent),
        post(
            "/api/v1/subjects/{subject}/consents/{consent}/withdraw-recipients",
            crate::transfers::withdraw_for_recipients,
        )
        .needs(P::WithdrawConsent),
        post(
            "/api/v1/subjects/{subject}/transfers",
            crate::transfers::transfer,
        )
        .needs(P::TransferData),
        get(
            "/api/v1/subjects/{subject}/transfers",
            crate::transfers::list_transfers,
        )
        .needs(P::ViewSubject),
        get("/api/v1/register", crate::transfers::register).needs(P::ViewRegister),
        get(
            "/api/v1/subjects/{subject}/consents/{consent}/evidence",
            consent_evidence,
        )
        .needs(P::ViewConsentEvidence),
        post("/api/v1/subjects/{subject}/contracts", add_contract).needs(P::ManageContracts),
        post(
            "/api/v1/subjects/{subject}/contracts/{contract}/terminate",
            terminate_contract,
        )
        .needs(P::ManageContracts),
        post("/api/v1/subjects/{subject}/events", record_anchor).needs(P::ManageContracts),
        get("/api/v1/subjects/{subject}/events", list_anchors).needs(P::ViewSubject),
        post("/api/v1/subjects/{subject}/blocks", place_block).needs(P::PlaceBlock),
        post("/api/v1/subjects/{subject}/blocks/{block}/lift", lift_block).needs(P::LiftBlock),
        get("/api/v1/audit/verify", verify_audit).needs(P::VerifyAudit),
        post("/api/v1/requests", crate::journal::receive).needs(P::ReceiveRequest),
        get("/api/v1/requests", crate::journal::list).needs(P::ViewRequests),
        get("/api/v1/requests/{number}", crate::journal::show).needs(P::ViewRequests),
        post("/api/v1/requests/{number}/steps", crate::journal::step).needs(P::WorkRequests),
        get("/api/v1/requests/{number}/answer", crate::journal::answer).needs(P::WorkRequests),
        get("/api/v1/outbox", crate::journal::outbox).needs(P::ManageOutbox),
        post("/api/v1/outbox/{message}/report", crate::journal::report).needs(P::ManageOutbox),
        get("/api/v1/acts", crate::retention::list_acts).needs(P::ViewActs),
        get("/api/v1/acts/{number}", crate::retention::show_act).needs(P::ViewActs),
        get("/api/v1/retention/plan", crate::retention::plan).needs(P::ViewActs),
        get("/api/v1/retention/retained", crate::retention::retained).needs(P::ViewActs),
        post("/api/v1/retention/run", crate::retention::run).needs(P::RunRetention),
        get("/api/v1/rkn/notice", crate::rkn::notice).needs(P::ViewRegister),
        post("/api/v1/rkn/notice/filed", crate::rkn::filed).needs(P::FileNotice),
        post("/api/v1/incidents", crate::incidents::register).needs(P::ReportIncident),
        get("/api/v1/incidents", crate::incidents::list).needs(P::ViewIncidents),
        get("/api/v1/incidents/due", crate::incidents::due).needs(P::ViewIncidents),
        get("/api/v1/incidents/{number}", crate::incidents::show).needs(P::ViewIncidents),
        post("/api/v1/incidents/{number}/steps", crate::incidents::step).needs(P::ManageIncidents),
        get(
            "/api/v1/incidents/{number}/notice",
            crate::incidents::notice,
        )
        .needs(P::ViewIncidents),
    ]
}

/// The routes of the table, each behind the authentication guard with its own rule.
pub(crate) fn api(vault: AppState) -> Router<AppState> {
    let table = endpoints();
    let rules: Arc<[Rule]> = table
        .iter()
        .map(|e| Rule {
            method: e.method.clone(),
            path: e.path,
            access: e.access,
        })
        .collect();
    table
        .into_iter()
        .fold(Router::new(), |router, e| router.route(e.path, e.route))
        .route_layer(axum::middleware::from_fn_with_state(
            Guard { vault, rules },
            auth::guard,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Answers a create command: 201 with the new thing, or, for a retry with the same
/// `Idempotency-Key`, the first answer again, marked with `Idempotent-Replayed: true`.
pub(crate) fn created<T: serde::Serialize>(result: ServiceResult<T>) -> ApiResult<Response> {
    match result {
        Ok(value) => Ok((StatusCode::CREATED, Json(value)).into_response()),
        Err(ServiceError::Replayed(stored)) => {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            Ok((
                status,
                [
                    ("content-type", "application/json"),
                    ("idempotent-replayed", "true"),
                ],
                stored.body,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn subject_id(raw: &str) -> ApiResult<SubjectId> {
    parse_id(raw, "subject", SubjectId)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "такого адреса в API нет; список адресов — в /api/docs и /api/v1/openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "этот метод для адреса не поддерживается",
    )
}

/// Public, like the policy: load balancers and monitoring probe it without credentials.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    summary = "Состояние сервиса",
    description = "Отвечает, пока сервер работает: хранилище и версия действующей политики. Без авторизации — для балансировщиков и мониторинга.",
    responses((status = 200, description = "Сервис работает", body = Health)),
)]
pub(crate) async fn health(State(vault): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        backend: vault.store().backend(),
        policy_version: vault.policy().policy.policy.version.to_string(),
    })
}

/// Public, like `/health`: load balancers and orchestrators ask it before sending traffic.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "service",
    summary = "Готовность к работе",
    description = "Отвечает 200, когда база данных доступна и сервер может обслуживать запросы, и 503 `database_unavailable`, когда нет (например, PostgreSQL перезапускается). Без авторизации — для балансировщиков и оркестраторов.",
    responses(
        (status = 200, description = "Сервис готов", body = Ready),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn ready(State(vault): State<AppState>) -> ApiResult<Json<Ready>> {
    vault.check_ready().await?;
    Ok(Json(Ready {
        status: "ready",
        backend: vault.store().backend(),
    }))
}

/// Public: the policy is published by law (ст. 18.1 ч. 2), and integrations read their
/// vocabulary from it before they hold a token.
#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "policy",
    summary = "Политика оператора",
    description = "Действующая политика обработки персональных данных: оператор, виды субъектов, каналы, категории с типами полей, цели с правовыми основаниями, обработчики и получатели. Идентификаторы отсюда используются во всех остальных запросах. Без авторизации: политика публикуется по ст. 18.1 ч. 2 152-ФЗ.",
    responses((status = 200, description = "Политика", body = PolicyView)),
)]
pub(crate) async fn policy(State(vault): State<AppState>) -> Json<PolicyView> {
    Json(PolicyView::new(vault.policy()))
}

/// Public, as is Swagger UI: the description of the API holds no personal data, and a client
/// generator must be able to fetch it before it has credentials.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    summary = "Описание API (OpenAPI 3.1)",
    description = "Этот документ. Он же лежит в репозитории как `openapi.json`; интерфейс Swagger UI — по адресу `/api/docs`. Без авторизации.",
    responses((status = 200, description = "Документ OpenAPI 3.1", content_type = "application/json", body = Object)),
)]
pub(crate) async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::SERVED.as_str(),
    )
        .into_response()
}

/// Description of a 201 answer to a create request; the same for all of them.
const CREATED: &str = "Создано. Повтор запроса с тем же `Idempotency-Key` возвращает этот же ответ с заголовком `Idempotent-Replayed: true`.";

#[utoipa::path(
    post,
    path = "/api/v1/subjects",
    tag = "subjects",
    summary = "Создать субъекта",
    description = "Создаёт субъекта персональных данных вида `kind` (виды — в политике) с собственным ключом шифрования. Идентификаторы `email` и `phone` хранятся зашифрованными и со слепым индексом для поиска; в любом написании они приводятся к нормальной форме.",
    params(IdempotencyKey),
    request_body = NewSubject,
    responses(
        (status = 201, description = CREATED, body = SubjectCreated,
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
pub(crate) async fn create_subject(
    State(vault): State<AppState>,
    Creating { actor, input }: Creating<NewSubject>,
) -> ApiResult<Response> {
    created(vault.create_subject(&actor, input).await)
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/search",
    tag = "subjects",
    summary = "Найти субъекта по e-mail или телефону",
    description = "Ищет субъектов по идентификатору в любом написании (`Anna@Example.RU`, `8 (916) 555-12-34`). Значение передаётся в теле POST, а не в адресе, чтобы не попадать в журналы доступа. Поиск записывается в журнал аудита.",
    request_body = FindSubject,
    responses(
        (status = 200, description = "Найденные субъекты (возможно, ни одного)", body = FoundSubjects),
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
pub(crate) async fn find_subjects(
    State(vault): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<FindSubject>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(vault.find_subjects(&caller.actor(), input).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/subjects/{subject}",
    tag = "subjects",
    summary = "Сводка по субъекту",
    description = "Что известно о субъекте, без значений персональных данных: виды идентификаторов, число записей по категориям, согласия, договоры и блокирования.",
    params(("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта")),
    responses(
        (status = 200, description = "Сводка", body = SubjectSummary),
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
pub(crate) async fn subject_summary(
    State(vault): State<AppState>,
    caller: Caller,
    Path(subject): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        vault
            .subject_summary(&caller.actor(), subject_id(&subject)?)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/records",
    tag = "records",
    summary = "Добавить персональные данные",
    description = "Записывает поля одной категории для заявленной цели сбора. Сбор проходит ту же проверку цели, что и выдача (ст. 5 ч. 2): цель должна быть объявлена, категория — нужна для неё, основание — действовать (например, договор для цели `contract`). Поля, не объявленные в категории, и специальные категории (ст. 10) отклоняются. Значения шифруются ключом субъекта.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        IdempotencyKey,
    ),
    request_body = NewRecord,
    responses(
        (status = 201, description = CREATED, body = RecordCreated,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn add_record(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewRecord>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.add_record(&actor, subject, input).await)
}

#[utoipa::path(
    get,
    path = "/api/v1/subjects/{subject}/data",
    tag = "records",
    summary = "Получить данные для цели",
    description = "Выдаёт расшифрованные данные субъекта только для указанной цели и только тех категорий, которые для неё разрешены, пока основание цели действует и данные не заблокированы. Выдача и отказ записываются в журнал аудита.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("purpose" = String, Query, description = "Цель обработки из политики", example = "contract"),
        ("categories" = Option<String>, Query, description = "Нужные категории через запятую; по умолчанию — все, разрешённые для цели", example = "contacts"),
    ),
    responses(
        (status = 200, description = "Данные, выданные для цели", body = DataView),
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
pub(crate) async fn read_data(
    State(vault): State<AppState>,
    caller: Caller,
    Path(subject): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    if let Some(unknown) = params
        .keys()
        .find(|k| !matches!(k.as_str(), "purpose" | "categories"))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!("неизвестный параметр «{unknown}»: допустимы purpose и categories"),
        )
        .field(unknown.clone()));
    }
    let purpose = params
        .get("purpose")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "purpose_required",
                "укажите цель обработки: ?purpose=…",
            )
            .field("purpose")
        })?;
    let categories = params
        .get("categories")
        .map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(
        vault
            .read_data(
                &caller.actor(),
                subject,
                DataQuery {
                    purpose: purpose.clone(),
                    categories,
                },
            )
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/consents",
    tag = "consents",
    summary = "Записать согласие",
    description = "Записывает согласие субъекта на цели из политики с доказательствами, которые требует канал (сайт и приложение: IP, user agent и форма; контакт-центр: запись звонка или подпись; почта, e-mail, лично: подпись или скан), и хешем показанного текста. Согласие на рекламу (ст. 15) оформляется отдельно от согласия на иные цели. Доказательства шифруются ключом субъекта.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        IdempotencyKey,
    ),
    request_body = NewConsent,
    responses(
        (status = 201, description = CREATED, body = ConsentView,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn record_consent(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewConsent>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.record_consent(&actor, subject, input).await)
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/consents/{consent}/withdraw",
    tag = "consents",
    summary = "Отозвать согласие",
    description = "Отзывает согласие, полученное через канал, принимающий обращения. Цели, которые не покрыты другим действующим согласием, останавливаются сразу: следующая выдача данных для них получит 403 `no_consent`.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("consent" = uuid::Uuid, Path, description = "Идентификатор согласия"),
    ),
    request_body = Withdraw,
    responses(
        (status = 200, description = "Согласие отозвано", body = Withdrawn),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn withdraw_consent(
    State(vault): State<AppState>,
    caller: Caller,
    Path((subject, consent)): Path<(String, String)>,
    ApiJson(input): ApiJson<Withdraw>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let consent = parse_id(&consent, "consent", ConsentId)?;
    Ok(Json(
        vault
            .withdraw_consent(&caller.actor(), subject, consent, input)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/subjects/{subject}/consents/{consent}/evidence",
    tag = "consents",
    summary = "Доказательства согласия",
    description = "Расшифровывает доказательства согласия и сведения о представителе — то, чем оператор доказывает получение согласия (ст. 9 ч. 3). Обращение записывается в журнал аудита.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("consent" = uuid::Uuid, Path, description = "Идентификатор согласия"),
    ),
    responses(
        (status = 200, description = "Доказательства", body = ConsentEvidence),
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
pub(crate) async fn consent_evidence(
    State(vault): State<AppState>,
    caller: Caller,
    Path((subject, consent)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let consent = parse_id(&consent, "consent", ConsentId)?;
    let (evidence, representative) = vault
        .consent_evidence(&caller.actor(), subject, consent)
        .await?;
    Ok(Json(ConsentEvidence {
        consent,
        evidence,
        representative,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/contracts",
    tag = "contracts",
    summary = "Записать договор",
    description = "Записывает договор с субъектом. Пока договор действует, открыты цели с основанием «договор» (ст. 6 ч. 1 п. 5).",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        IdempotencyKey,
    ),
    request_body = NewContract,
    responses(
        (status = 201, description = CREATED, body = ContractView,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn add_contract(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewContract>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.add_contract(&actor, subject, input).await)
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/contracts/{contract}/terminate",
    tag = "contracts",
    summary = "Прекратить договор",
    description = "Отмечает договор прекращённым с указанной даты; если других действующих договоров нет, цели с основанием «договор» закрываются.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("contract" = uuid::Uuid, Path, description = "Идентификатор договора"),
    ),
    request_body = Terminate,
    responses(
        (status = 200, description = "Договор прекращён", body = ContractView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn terminate_contract(
    State(vault): State<AppState>,
    caller: Caller,
    Path((subject, contract)): Path<(String, String)>,
    ApiJson(input): ApiJson<Terminate>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let contract = parse_id(&contract, "contract", ContractId)?;
    Ok(Json(
        vault
            .terminate_contract(&caller.actor(), subject, contract, input)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/blocks",
    tag = "blocks",
    summary = "Заблокировать данные",
    description = "Блокирует одну категорию данных субъекта или, без `category`, все его данные (ст. 21). Заблокированные данные хранятся, но не выдаются и не собираются: проверка цели отвечает 403 `blocked`.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        IdempotencyKey,
    ),
    request_body = NewBlock,
    responses(
        (status = 201, description = CREATED, body = BlockView,
            headers(("Idempotent-Replayed" = bool, description = "`true`, если ответ повторён по ключу идемпотентности; иначе заголовка нет"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn place_block(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewBlock>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.place_block(&actor, subject, input).await)
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/records/{record}/rectify",
    tag = "records",
    summary = "Уточнить данные",
    description = "Заменяет значения полей записи верными (ст. 21 ч. 2 152-ФЗ): прежнее значение не хранится, в журнале аудита остаётся только SHA-256 его шифртекста. Обработчикам и получателям, которым передаётся эта категория, ставятся уведомления в исходящие. `request` связывает уточнение с обращением журнала. Уточнять можно и заблокированные на время проверки данные.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("record" = uuid::Uuid, Path, description = "Идентификатор записи"),
    ),
    request_body = Rectification,
    responses(
        (status = 200, description = "Данные уточнены", body = Rectified),
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
pub(crate) async fn rectify_record(
    State(vault): State<AppState>,
    caller: Caller,
    Path((subject, record)): Path<(String, String)>,
    ApiJson(input): ApiJson<Rectification>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let record = parse_id(&record, "record", RecordId)?;
    Ok(Json(
        vault
            .rectify_record(&caller.actor(), subject, record, input)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/events",
    tag = "subjects",
    summary = "Записать событие для сроков хранения",
    description = "Записывает событие, от которого отсчитываются сроки хранения (раздел 8 политики): исполнение заказа, завершение рассмотрения претензии, удаление учётной записи, прекращение договора, достижение цели, окончание переписки, отзыв согласия. `scope` — заказ или претензия, если правило считает срок для каждого отдельно; `occurred_on` — дата события, по умолчанию сегодня.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        IdempotencyKey,
    ),
    request_body = NewAnchor,
    responses(
        (status = 201, description = CREATED, body = AnchorView,
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
pub(crate) async fn record_anchor(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewAnchor>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.record_anchor(&actor, subject, input).await)
}

#[utoipa::path(
    get,
    path = "/api/v1/subjects/{subject}/events",
    tag = "subjects",
    summary = "События для сроков хранения",
    description = "События субъекта, от которых отсчитываются сроки хранения, по порядку дат.",
    params(("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта")),
    responses(
        (status = 200, description = "События", body = Vec<AnchorView>),
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
pub(crate) async fn list_anchors(
    State(vault): State<AppState>,
    caller: Caller,
    Path(subject): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    Ok(Json(vault.anchors(&caller.actor(), subject).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/subjects/{subject}/blocks/{block}/lift",
    tag = "blocks",
    summary = "Снять блокирование",
    description = "Снимает блокирование с указанием причины; данные снова доступны для разрешённых целей.",
    params(
        ("subject" = uuid::Uuid, Path, description = "Идентификатор субъекта"),
        ("block" = uuid::Uuid, Path, description = "Идентификатор блокирования"),
    ),
    request_body = Lift,
    responses(
        (status = 200, description = "Блокирование снято", body = BlockView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn lift_block(
    State(vault): State<AppState>,
    caller: Caller,
    Path((subject, block)): Path<(String, String)>,
    ApiJson(input): ApiJson<Lift>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let block = parse_id(&block, "block", BlockId)?;
    Ok(Json(
        vault
            .lift_block(&caller.actor(), subject, block, input)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    summary = "Проверить журнал аудита",
    description = "Пересчитывает цепочку хешей всего журнала и сверяет подписанную голову: находит изменённые, удалённые, вставленные и переставленные события и усечение журнала. `intact: false` с номером первого плохого события — это ответ 200, а не ошибка.",
    responses(
        (status = 200, description = "Результат проверки", body = AuditReport),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn verify_audit(State(vault): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(vault.verify_audit().await?))
}
