//! Authentication and the access rule of every endpoint.
//!
//! The endpoint table in `routes.rs` gives every route its [`Access`] rule. A middleware on the
//! matched route looks the rule up, checks the bearer token and the caller's role, and hands the
//! [`Principal`] to the handler. A route without a rule is refused to everyone (fail closed), and
//! the authorisation-matrix test compares the rules with its own expectations, so a new endpoint
//! cannot slip in without an explicit rule.

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

/// The access rule of one route, as the guard consults it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    /// `None`: the route was added without a rule and is refused to everyone (fail closed).
    pub access: Option<Access>,
}

/// What the guard needs: the vault to authenticate against and the rules of every route.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub vault: Arc<Vault>,
    pub rules: Arc<[Rule]>,
}

impl Guard {
    fn rule(&self, method: &Method, path: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.path == path && r.method == method)
    }
}

/// The middleware run on every matched route: finds the rule, authenticates, authorises.
pub(crate) async fn guard(State(guard): State<Guard>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let endpoint = format!("{} {path}", req.method());
    let permission = match guard.rule(req.method(), &path).map(|r| r.access) {
        Some(Some(Access::Public)) => return next.run(req).await,
        Some(Some(Access::Requires(p))) => p,
        // Another method on a known path: let the router answer 405.
        None if guard.rules.iter().any(|r| r.path == path) => return next.run(req).await,
        Some(None) | None => {
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
    let vault = &guard.vault;
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
