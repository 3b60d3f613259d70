//! The notice of processing to Roskomnadzor (ст. 22 152-ФЗ) over HTTP: its content, text, hash
//! and status against the filing last recorded, and recording a filing.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use pdv_service::{NoticeFiling, RknNotice, Vault};

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::openapi::{
    BadRequest, Forbidden, InternalError, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    Unprocessable, UnsupportedMediaType,
};
use crate::problem::ApiError;

type AppState = Arc<Vault>;

#[utoipa::path(
    get,
    path = "/api/v1/rkn/notice",
    tag = "rkn",
    summary = "Уведомление об обработке (ст. 22)",
    description = "Содержание уведомления Роскомнадзора об обработке персональных данных по всем пунктам ст. 22 ч. 3 152-ФЗ, собранное из политики оператора: структурой (`content`) и текстом (`text`), SHA-256 канонического содержания (`hash`), чего в политике не хватает (`missing`) и статус: `never_filed` — подача не отмечена, `current` — отмеченная подача совпадает с политикой, `stale` — политика изменила сведения уведомления (`changed` называет пункты), нужно уведомить об изменениях (ст. 22 ч. 7).",
    responses(
        (status = 200, description = "Уведомление", body = RknNotice),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn notice(
    State(vault): State<AppState>,
    _caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(vault.rkn_notice().await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/rkn/notice/filed",
    tag = "rkn",
    summary = "Отметить подачу уведомления",
    description = "Отмечает, что уведомление с нынешним содержанием подано в Роскомнадзор в день `date` (не позже сегодняшнего), с номером `number`, если он известен. Сохраняет хеш и содержание поданного уведомления, чтобы по изменению политики назвать изменившиеся пункты; записывается в журнал аудита (`rkn.notice_filed`). Ответ — уведомление со статусом `current`.",
    request_body = NoticeFiling,
    responses(
        (status = 200, description = "Подача отмечена", body = RknNotice),
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
pub(crate) async fn filed(
    State(vault): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NoticeFiling>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        vault.record_notice_filing(&caller.actor(), input).await?,
    ))
}
