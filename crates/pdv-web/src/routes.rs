//! The API's routes, one function per endpoint. Each parses its input, calls one `Vault`
//! command as the acting integration, and returns JSON or a problem.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pdv_core::{BlockId, ConsentId, ContractId, SubjectId};
use pdv_service::*;

use crate::bodies::{ConsentEvidence, Health, PolicyView};
use crate::extract::{ApiJson, Creating, parse_id};
use crate::problem::ApiError;

type AppState = Arc<Vault>;
type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/policy", get(policy))
        .route("/api/v1/subjects", post(create_subject))
        .route("/api/v1/subjects/search", post(find_subjects))
        .route("/api/v1/subjects/{subject}", get(subject_summary))
        .route("/api/v1/subjects/{subject}/records", post(add_record))
        .route("/api/v1/subjects/{subject}/data", get(read_data))
        .route("/api/v1/subjects/{subject}/consents", post(record_consent))
        .route(
            "/api/v1/subjects/{subject}/consents/{consent}/withdraw",
            post(withdraw_consent),
        )
        .route(
            "/api/v1/subjects/{subject}/consents/{consent}/evidence",
            get(consent_evidence),
        )
        .route("/api/v1/subjects/{subject}/contracts", post(add_contract))
        .route(
            "/api/v1/subjects/{subject}/contracts/{contract}/terminate",
            post(terminate_contract),
        )
        .route("/api/v1/subjects/{subject}/blocks", post(place_block))
        .route(
            "/api/v1/subjects/{subject}/blocks/{block}/lift",
            post(lift_block),
        )
        .route("/api/v1/audit/verify", get(verify_audit))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Until authentication arrives every API call acts as the integration `api`.
pub(crate) fn actor() -> Actor {
    Actor::new("api")
}

/// Answers a create command: 201 with the new thing, or, for a retry with the same
/// `Idempotency-Key`, the first answer again, marked with `Idempotent-Replayed: true`.
fn created<T: serde::Serialize>(result: ServiceResult<T>) -> ApiResult<Response> {
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

fn subject_id(raw: &str) -> ApiResult<SubjectId> {
    parse_id(raw, "subject", SubjectId)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "такого адреса в API нет; список — в README",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "этот метод для адреса не поддерживается",
    )
}

async fn health(State(vault): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        backend: vault.store().backend(),
        policy_version: vault.policy().policy.policy.version.to_string(),
    })
}

async fn policy(State(vault): State<AppState>) -> Json<PolicyView> {
    Json(PolicyView::new(vault.policy()))
}

async fn create_subject(
    State(vault): State<AppState>,
    Creating { actor, input }: Creating<NewSubject>,
) -> ApiResult<Response> {
    created(vault.create_subject(&actor, input).await)
}

async fn find_subjects(
    State(vault): State<AppState>,
    ApiJson(input): ApiJson<FindSubject>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(vault.find_subjects(&actor(), input).await?))
}

async fn subject_summary(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        vault
            .subject_summary(&actor(), subject_id(&subject)?)
            .await?,
    ))
}

async fn add_record(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewRecord>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.add_record(&actor, subject, input).await)
}

async fn read_data(
    State(vault): State<AppState>,
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
                &actor(),
                subject,
                DataQuery {
                    purpose: purpose.clone(),
                    categories,
                },
            )
            .await?,
    ))
}

async fn record_consent(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewConsent>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.record_consent(&actor, subject, input).await)
}

async fn withdraw_consent(
    State(vault): State<AppState>,
    Path((subject, consent)): Path<(String, String)>,
    ApiJson(input): ApiJson<Withdraw>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let consent = parse_id(&consent, "consent", ConsentId)?;
    Ok(Json(
        vault
            .withdraw_consent(&actor(), subject, consent, input)
            .await?,
    ))
}

async fn consent_evidence(
    State(vault): State<AppState>,
    Path((subject, consent)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let consent = parse_id(&consent, "consent", ConsentId)?;
    let (evidence, representative) = vault.consent_evidence(&actor(), subject, consent).await?;
    Ok(Json(ConsentEvidence {
        consent,
        evidence,
        representative,
    }))
}

async fn add_contract(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewContract>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.add_contract(&actor, subject, input).await)
}

async fn terminate_contract(
    State(vault): State<AppState>,
    Path((subject, contract)): Path<(String, String)>,
    ApiJson(input): ApiJson<Terminate>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let contract = parse_id(&contract, "contract", ContractId)?;
    Ok(Json(
        vault
            .terminate_contract(&actor(), subject, contract, input)
            .await?,
    ))
}

async fn place_block(
    State(vault): State<AppState>,
    Path(subject): Path<String>,
    Creating { actor, input }: Creating<NewBlock>,
) -> ApiResult<Response> {
    let subject = subject_id(&subject)?;
    created(vault.place_block(&actor, subject, input).await)
}

async fn lift_block(
    State(vault): State<AppState>,
    Path((subject, block)): Path<(String, String)>,
    ApiJson(input): ApiJson<Lift>,
) -> ApiResult<impl IntoResponse> {
    let subject = subject_id(&subject)?;
    let block = parse_id(&block, "block", BlockId)?;
    Ok(Json(
        vault.lift_block(&actor(), subject, block, input).await?,
    ))
}

async fn verify_audit(State(vault): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(vault.verify_audit().await?))
}
