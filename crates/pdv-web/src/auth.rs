//! Authentication and the access rule of every endpoint.
//!
//! [`ENDPOINTS`] is the one list of routes with the permission each needs. A middleware on the
//! matched route looks the route up there, checks the bearer token and the caller's role, and
//! hands the [`Principal`] to the handler. A route missing from the list is refused to everyone
//! (fail closed), and the authorisation-matrix test compares the list with its own expectations,
//! so a new endpoint cannot slip in without an explicit rule.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pdv_core::auth::Permission;
use pdv_service::{Actor, Principal, Vault};

use crate::problem::ApiError;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials: health checks, the published policy, logging in, the API
    /// description.
    Public,
    /// An authenticated caller whose role carries the permission.
    Requires(Permission),
}

/// One route of the API and its access rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn public(method: &'static str, path: &'static str) -> Endpoint {
    Endpoint {
        method,
        path,
        access: Access::Public,
    }
}

const fn needs(method: &'static str, path: &'static str, permission: Permission) -> Endpoint {
    Endpoint {
        method,
        path,
        access: Access::Requires(permission),
    }
}

use Permission as P;

/// Every route and the permission it needs. Paths are written as the router matches them.
pub const ENDPOINTS: &[Endpoint] = &[
    public("GET", "/health"),
    public("GET", "/api/v1/policy"),
    public("POST", "/api/v1/auth/login"),
    needs("POST", "/api/v1/auth/logout", P::OwnSession),
    needs("GET", "/api/v1/auth/me", P::OwnSession),
    needs("GET", "/api/v1/users", P::ManageUsers),
    needs("POST", "/api/v1/users", P::ManageUsers),
    needs("POST", "/api/v1/users/{login}/disable", P::ManageUsers),
    needs("POST", "/api/v1/users/{login}/enable", P::ManageUsers),
    needs("POST", "/api/v1/users/{login}/unlock", P::ManageUsers),
    needs("POST", "/api/v1/users/{login}/password", P::ManageUsers),
    needs("GET", "/api/v1/keys", P::ManageKeys),
    needs("POST", "/api/v1/keys", P::ManageKeys),
    needs("POST", "/api/v1/keys/{key}/revoke", P::ManageKeys),
    needs("POST", "/api/v1/subjects", P::CreateSubject),
    needs("POST", "/api/v1/subjects/search", P::FindSubjects),
    needs("GET", "/api/v1/subjects/{subject}", P::ViewSubject),
    needs("POST", "/api/v1/subjects/{subject}/records", P::AddRecord),
    needs("GET", "/api/v1/subjects/{subject}/data", P::ReadData),
    needs(
        "POST",
        "/api/v1/subjects/{subject}/consents",
        P::RecordConsent,
    ),
    needs(
        "POST",
        "/api/v1/subjects/{subject}/consents/{consent}/withdraw",
        P::WithdrawConsent,
    ),
    needs(
        "GET",
        "/api/v1/subjects/{subject}/consents/{consent}/evidence",
        P::ViewConsentEvidence,
    ),
    needs(
        "POST",
        "/api/v1/subjects/{subject}/contracts",
        P::ManageContracts,
    ),
    needs(
        "POST",
        "/api/v1/subjects/{subject}/contracts/{contract}/terminate",
        P::ManageContracts,
    ),
    needs("POST", "/api/v1/subjects/{subject}/blocks", P::PlaceBlock),
    needs(
        "POST",
        "/api/v1/subjects/{subject}/blocks/{block}/lift",
        P::LiftBlock,
    ),
    needs("GET", "/api/v1/audit/verify", P::VerifyAudit),
];

/// The access rule of a matched route, if it has one.
pub fn rule(method: &Method, path: &str) -> Option<Access> {
    ENDPOINTS
        .iter()
        .find(|e| e.path == path && e.method == method.as_str())
        .map(|e| e.access)
}

/// The middleware run on every matched route: finds the rule, authenticates, authorises.
pub(crate) async fn guard(
    State(vault): State<Arc<Vault>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let endpoint = format!("{} {path}", req.method());
    let permission = match rule(req.method(), &path) {
        Some(Access::Public) => return next.run(req).await,
        Some(Access::Requires(p)) => p,
        // Another method on a known path: let the router answer 405.
        None if ENDPOINTS.iter().any(|e| e.path == path) => return next.run(req).await,
        None => {
            tracing::error!(%endpoint, "route has no access rule; refused");
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_access_rule",
                "для этого адреса не задано правило доступа; запрос отклонён",
            )
            .into_response();
        }
    };
    let token = match bearer(&req) {
        Ok(token) => token,
        Err(e) => return challenge(e),
    };
    let principal = match vault.authenticate(&token).await {
        Ok(p) => p,
        Err(e) => return challenge(ApiError::from(e)),
    };
    if let Err(e) = vault.authorize(&principal, permission, &endpoint).await {
        return ApiError::from(e).into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(req: &Request) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "нужна аутентификация: заголовок Authorization: Bearer <токен сеанса или ключ API>",
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "malformed_authorization",
                "заголовок Authorization должен иметь вид «Bearer <токен>»",
            )
            .field("Authorization")
        })
}

/// A 401 with the `WWW-Authenticate` header RFC 9110 asks for.
fn challenge(err: ApiError) -> Response {
    let unauthorised = err.status() == StatusCode::UNAUTHORIZED;
    let mut response = err.into_response();
    if unauthorised {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"pdvault\""),
        );
    }
    response
}

/// The authenticated caller of a protected endpoint, put there by [`guard`].
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    pub fn actor(&self) -> Actor {
        self.0.actor()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                // Only a route registered as public but asking for a caller gets here: a bug.
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "no_caller",
                    "обработчик требует аутентификации, но адрес объявлен открытым",
                )
            })
    }
}
