//! Request parsing at the boundary: JSON bodies whose errors name the offending field, the
//! `Idempotency-Key` of create requests, and ids in paths.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use pdv_service::{Actor, Idempotency};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::problem::ApiError;

/// A JSON body. Unlike axum's `Json`, a type error names the path of the field at fault
/// (`fields.birth_date`, `evidence.ip`), and every rejection is a problem+json response.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        check_json_content_type(req.headers())?;
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The body of a request that creates something, with the authenticated caller as actor and, when the
/// client sent an `Idempotency-Key`, the key and a fingerprint of the request, so that a retry
/// returns the first answer instead of creating a duplicate.
#[derive(Debug)]
pub struct Creating<T> {
    pub actor: Actor,
    pub input: T,
}

/// The longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Creating<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        check_json_content_type(req.headers())?;
        let key = match req.headers().get("idempotency-key") {
            None => None,
            Some(value) => {
                let key = value.to_str().ok().filter(|k| {
                    !k.is_empty()
                        && k.len() <= MAX_IDEMPOTENCY_KEY
                        && k.bytes().all(|b| b.is_ascii_graphic())
                });
                Some(key.map(str::to_string).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_idempotency_key",
                        format!("Idempotency-Key: от 1 до {MAX_IDEMPOTENCY_KEY} видимых символов ASCII, например UUID"),
                    )
                    .field("Idempotency-Key")
                })?)
            }
        };
        let target = format!("{} {}", req.method(), req.uri().path());
        let principal = req.extensions().get::<pdv_service::Principal>().cloned();
        let bytes = read_body(req, state).await?;
        let input = parse_json(&bytes)?;
        let mut actor = principal.map(|p| p.actor()).ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_caller",
                "обработчик требует аутентификации, но адрес объявлен открытым",
            )
        })?;
        if let Some(key) = key {
            let mut h = Sha256::new();
            h.update(target.as_bytes());
            h.update(b"\n");
            h.update(&bytes);
            actor = actor.with_idempotency(Idempotency {
                key,
                request_hash: hex::encode(h.finalize()),
                status: StatusCode::CREATED.as_u16(),
            });
        }
        Ok(Creating { actor, input })
    }
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime == "application/json" || mime.ends_with("+json")
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "тело запроса должно быть JSON: укажите заголовок Content-Type: application/json",
        ))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("тело запроса больше {} КиБ", crate::MAX_BODY_BYTES / 1024),
            )
        }
        other => ApiError::new(other.status(), "bad_body", other.body_text()),
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
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
        let status = if syntax {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let err = ApiError::new(status, code, detail);
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
    Ok(value)
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
