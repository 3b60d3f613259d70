//! Retention and destruction over HTTP: the destruction acts (Приказ РКН № 179), listed and read
//! as JSON or as the HTML document to print and sign; the retention plan; and a run ordered by the
//! responsible person (the scheduler inside `pdv serve` runs it on its own as well).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pdv_service::acts::{ActSummary, ActView, render_act_html};
use pdv_service::{PLAN_PAGE_MAX, PlanQuery, RetainedReport, RetentionReport, RunReport, Vault};

use crate::auth::Caller;
use crate::openapi::{
    BadRequest, Forbidden, Gone, InternalError, NotFound, ServiceUnavailable, Unauthorized,
    Unprocessable,
};
use crate::problem::ApiError;

type AppState = Arc<Vault>;

fn only(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    if let Some(unknown) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
        let list = if allowed.is_empty() {
            "параметров нет".to_string()
        } else {
            format!("допустимы: {}", allowed.join(", "))
        };
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
            format!("неизвестный параметр «{unknown}»; {list}"),
        )
        .field(unknown.clone()));
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/v1/acts",
    tag = "retention",
    summary = "Акты об уничтожении",
    description = "Акты об уничтожении персональных данных (Приказ Роскомнадзора № 179) по порядку номеров: статус (`open` — запуск ещё добавляет записи, `closed`, `expired` — срок хранения в 3 года истёк и сведения о субъектах уничтожены), число записей, SHA-256, записанная в журнал аудита, срок хранения. `after` — номер, после которого продолжить, `limit` — не больше 1000.",
    params(
        ("after" = Option<String>, Query, description = "Номер акта, после которого продолжить", example = "2026-000001"),
        ("limit" = Option<u32>, Query, description = "Сколько актов вернуть (1–1000, по умолчанию 100)"),
    ),
    responses(
        (status = 200, description = "Акты", body = Vec<ActSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn list_acts(
    State(vault): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    only(&params, &["after", "limit"])?;
    let limit = match params.get("limit") {
        None => 100,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_limit",
                    format!("limit: ожидается число от 1 до 1000, указано «{text}»"),
                )
                .field("limit"));
            }
        },
    };
    Ok(Json(
        vault
            .acts(
                &caller.actor(),
                params.get("after").map(String::as_str),
                limit,
            )
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/acts/{number}",
    tag = "retention",
    summary = "Акт об уничтожении",
    description = "Акт целиком: оператор, информационная система, способ и основание уничтожения, лица, уничтожившие данные, и по каждому субъекту — его идентификация (ФИО и идентификаторы, зафиксированные в момент уничтожения), категории, причина с нормой, обработчики, номера обращений, дата; в HTML — и выгрузка из журнала регистрации событий. Перед выдачей проверяется, что акт совпадает с SHA-256 из журнала аудита. Чтение акта записывается в журнал аудита. `format=html` — документ для печати и подписи.",
    params(
        ("number" = String, Path, description = "Номер акта", example = "2026-000001"),
        ("format" = Option<String>, Query, description = "`json` (по умолчанию) или `html`"),
    ),
    responses(
        (status = 200, description = "Акт", content(
            (ActView = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn show_act(
    State(vault): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    only(&params, &["format"])?;
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
    let act = vault.act(&caller.actor(), &number).await?;
    Ok(if html {
        (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render_act_html(&act),
        )
            .into_response()
    } else {
        Json(act).into_response()
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/retention/plan",
    tag = "retention",
    summary = "План хранения",
    description = "Для каждой записи субъектов — правило, которое определяет её срок, дата истечения, крайний срок по закону, действие (уничтожить, обезличить, пересмотреть) и причина с нормой. `at` — дата, на которую составить план (по умолчанию сегодня у оператора). План выдаётся страницами по субъектам в порядке идентификаторов: следующая страница — с `after`, равным `next` предыдущей. `subject` — план одного субъекта; `due=true` — только записи, срок которых наступил. Ничего не меняет.",
    params(
        ("at" = Option<String>, Query, description = "Дата ГГГГ-ММ-ДД", example = "2026-12-01"),
        ("subject" = Option<String>, Query, description = "Идентификатор субъекта", format = Uuid),
        ("due" = Option<bool>, Query, description = "Только записи, срок которых наступил"),
        ("after" = Option<String>, Query, description = "Продолжить после этого субъекта (поле `next` предыдущей страницы)", format = Uuid),
        ("limit" = Option<u32>, Query, description = "Субъектов на странице: 1–5000, по умолчанию 500"),
    ),
    responses(
        (status = 200, description = "План", body = Object),
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
pub(crate) async fn plan(
    State(vault): State<AppState>,
    _caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<RetentionReport>, ApiError> {
    only(&params, &["at", "subject", "due", "after", "limit"])?;
    let bad = |field: &'static str, code: &'static str, message: String| {
        ApiError::new(StatusCode::BAD_REQUEST, code, message).field(field)
    };
    let at = match params.get("at") {
        None => vault.today(),
        Some(text) => text.parse().map_err(|_| {
            bad(
                "at",
                "invalid_date",
                format!("at: «{text}» — не дата ГГГГ-ММ-ДД"),
            )
        })?,
    };
    let subject_param = |name: &'static str| -> Result<Option<pdv_core::SubjectId>, ApiError> {
        params
            .get(name)
            .map(|text| {
                pdv_core::SubjectId::parse(text).ok_or_else(|| {
                    bad(
                        name,
                        "invalid_subject",
                        format!("{name}: «{text}» — не идентификатор субъекта (UUID)"),
                    )
                })
            })
            .transpose()
    };
    let mut query = PlanQuery::new(at);
    query.subject = subject_param("subject")?;
    query.after = subject_param("after")?;
    query.due_only = match params.get("due").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(bad(
                "due",
                "invalid_bool",
                format!("due: «{other}» — ожидается true или false"),
            ));
        }
    };
    if let Some(text) = params.get("limit") {
        query.limit = text
            .parse()
            .ok()
            .filter(|n| (1..=PLAN_PAGE_MAX).contains(n))
            .ok_or_else(|| {
                bad(
                    "limit",
                    "invalid_limit",
                    format!("limit: «{text}» — ожидается число от 1 до {PLAN_PAGE_MAX}"),
                )
            })?;
    }
    Ok(Json(vault.retention_plan_page(&query).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/retention/run",
    tag = "retention",
    summary = "Выполнить правила хранения",
    description = "Уничтожает всё, чей срок истёк на сегодня, и составляет акт об уничтожении; то же делает планировщик `pdv serve` каждые `retention.interval_mins` минут. Повторный запуск ничего не уничтожает дважды; прерванный запуск доделывается следующим. Только ответственный за организацию обработки.",
    responses(
        (status = 200, description = "Что сделано", body = Object),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn run(
    State(vault): State<AppState>,
    caller: Caller,
) -> Result<Json<RunReport>, ApiError> {
    let actor = caller.actor();
    Ok(Json(
        vault
            .retention_run(&actor.name, pdv_service::DEFAULT_BATCH, &mut |_| {})
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/retention/retained",
    tag = "retention",
    summary = "Обезличенные данные, сохранённые после истечения сроков",
    description = "Статистика записей, которые по правилам с действием «обезличить» (п. 8.2 политики) были перед уничтожением обезличены (Приказ Роскомнадзора № 140: прямые идентификаторы исключены, значения обобщены) и сохранены без связи с субъектом: сколько записей каждого вида субъектов, категории, правила и обобщённых значений. Отдельные записи не выдаются. Чтение записывается в журнал аудита.",
    responses(
        (status = 200, description = "Статистика", body = RetainedReport),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn retained(
    State(vault): State<AppState>,
    caller: Caller,
) -> Result<Json<RetainedReport>, ApiError> {
    Ok(Json(vault.retained_statistics(&caller.actor()).await?))
}
