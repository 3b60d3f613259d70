//! Errors as RFC 9457 problem details. Every error response has a stable machine `code`, a human
//! `detail` in Russian, and, where one field is at fault, `field`; validation errors list every
//! problem in `errors`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pdv_service::{Problem, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response. It is also the `ProblemDetails` schema of the OpenAPI
/// document, so the documented shape is the serialised one.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    description = "Ошибка в формате RFC 9457 (application/problem+json). Программа клиента различает ошибки по `code`; `detail` — пояснение для человека на русском; `field` — путь к полю запроса, из-за которого отказ; `errors` — все найденные нарушения, если их несколько.",
    example = json!({
        "type": "urn:pdvault:problem:no_contract",
        "title": "Обработка запрещена",
        "status": 403,
        "code": "no_contract",
        "detail": "цель «contract» основана на договоре, а действующего договора с субъектом нет (ст. 6 ч. 1 п. 5 152-ФЗ)",
        "field": "purpose"
    })
)]
pub(crate) struct ProblemDetails {
    /// `urn:pdvault:problem:` followed by the code.
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    /// The HTTP status, repeated for clients that lose it.
    status: u16,
    /// Stable machine code of the error.
    code: String,
    detail: String,
    /// Dotted path of the request field at fault, e.g. `fields.birth_date`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field: Option<String>,
    /// Every problem found when a request breaks several rules at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Problem>,
}

/// The `code` of a problem answer, kept on the response for the middleware that counts refusals
/// (`metrics.rs`), so that it need not parse the body.
#[derive(Debug, Clone)]
pub(crate) struct ProblemCode(pub String);

/// An error on its way to becoming an HTTP response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    detail: String,
    field: Option<String>,
    errors: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let code = e.code();
        match e {
            ServiceError::Invalid(problems) => {
                let detail = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                ApiError {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: code.to_string(),
                    detail,
                    field: problems.first().map(|p| p.field.clone()),
                    errors: problems,
                }
            }
            ServiceError::Denied(denial) => {
                ApiError::new(StatusCode::FORBIDDEN, denial.code(), denial.message())
                    .field(denial.field())
            }
            ServiceError::TransferDenied(denial) => {
                ApiError::new(StatusCode::FORBIDDEN, denial.code(), denial.message())
                    .field(denial.field())
            }
            ServiceError::Unauthenticated { .. } => {
                ApiError::new(StatusCode::UNAUTHORIZED, code, e.to_string())
            }
            ServiceError::Forbidden { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, code, e.to_string())
            }
            ServiceError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, code, e.to_string())
            }
            ServiceError::Conflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, code, e.to_string())
            }
            ServiceError::Destroyed { .. } => ApiError::new(StatusCode::GONE, code, e.to_string()),
            // A unique key already taken in the store (e.g. two requests racing on one
            // idempotency key) is the client's conflict, not a server failure.
            other if other.code() == "conflict" => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "запись уже существует; повторите запрос",
            ),
            other if other.is_retryable() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "база данных занята, повторите запрос",
            ),
            // The database went away (connection lost, server down or full): nothing was
            // committed, and the pool reconnects by itself once the database is back.
            other if other.is_unavailable() => {
                tracing::error!(error = %other, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "база данных недоступна; запрос не выполнен, повторите его позже",
                )
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    other.code(),
                    other.to_string(),
                )
            }
        }
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Некорректный запрос",
        401 => "Нужна аутентификация",
        403 => "Обработка запрещена",
        404 => "Не найдено",
        405 => "Метод не поддерживается",
        409 => "Конфликт",
        410 => "Данные уничтожены",
        413 => "Слишком большой запрос",
        415 => "Неподдерживаемый формат",
        422 => "Запрос отклонён",
        429 => "Слишком много запросов",
        503 => "Сервис временно недоступен",
        _ => "Внутренняя ошибка",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = ProblemCode(self.code.clone());
        let body = ProblemDetails {
            kind: format!("urn:pdvault:problem:{}", self.code),
            title: title(self.status),
            status: self.status.as_u16(),
            code: self.code,
            detail: self.detail,
            field: self.field,
            errors: self.errors,
        };
        let json =
            serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec());
        let mut response = (self.status, json).into_response();
        response.extensions_mut().insert(code);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
