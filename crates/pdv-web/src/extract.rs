//! Request parsing at the boundary: JSON bodies whose errors name the offending field, and ids
//! in paths.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON body. Unlike axum's `Json`, a type error names the path of the field at fault
/// (`fields.birth_date`, `evidence.ip`), and every rejection is a problem+json response.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "тело запроса должно быть JSON: укажите заголовок Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_)
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("тело запроса больше {} КиБ", crate::MAX_BODY_BYTES / 1024),
                )
            }
            other => ApiError::new(other.status(), "bad_body", other.body_text()),
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let syntax = inner.is_syntax() || inner.is_eof();
            let (code, detail) = if syntax {
                (
                    "malformed_json",
                    format!("тело запроса — не корректный JSON: {inner}"),
                )
            } else {
                ("invalid_field", format!("поле «{path}»: {inner}"))
            };
            let err = ApiError::new(
                if syntax {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                code,
                detail,
            );
            if syntax || path == "." {
                err
            } else {
                err.field(path)
            }
        })?;
        if de.end().is_err() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "после JSON-объекта идут лишние данные",
            ));
        }
        Ok(ApiJson(value))
    }
}

/// Parses an id from a path segment.
pub fn parse_id<T>(raw: &str, what: &str, make: fn(uuid::Uuid) -> T) -> Result<T, ApiError> {
    uuid::Uuid::try_parse(raw).map(make).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("«{raw}» не является идентификатором ({what}): ожидается UUID"),
        )
        .field(what.to_string())
    })
}
