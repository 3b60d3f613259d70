//! The HTTP face of pdvault: the JSON API under `/api/v1`, errors as RFC 9457
//! `application/problem+json` with a stable `code` and the offending `field`, and its OpenAPI 3.1
//! description with a bundled Swagger UI.
//!
//! Around the API it keeps the operational parts of HTTP: Prometheus metrics at `/metrics`
//! (`metrics`) and the per-address limit on logins (`ratelimit`).
//!
//! This is the only crate that knows HTTP. Handlers parse the request at the boundary (JSON with
//! the path of a bad field, ids, query strings), call one `Vault` command, and turn its result or
//! error into a response. No handler touches the store or the keys.

mod accounts;
pub mod auth;
mod bodies;
mod extract;
pub mod metrics;
pub mod openapi;
mod problem;
pub mod ratelimit;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use pdv_service::Vault;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use problem::ApiError;
pub use ratelimit::{LoginRateLimit, RateLimitSettings};

/// The largest request body accepted; personal-data records are small, and a bound keeps a
/// client from exhausting memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest a request may take before it is answered 503; a slow client or a stuck database
/// cannot hold a worker forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the application router with the default rate limits.
pub fn router(vault: Arc<Vault>) -> Router {
    router_with(vault, &RateLimitSettings::default())
}

/// Builds the application router. Rate limits key on the client's address, which the router
/// finds only when served with connection info, as [`serve_with`] does.
pub fn router_with(vault: Arc<Vault>, limits: &RateLimitSettings) -> Router {
    let metrics = Arc::new(metrics::Metrics::new(
        routes::endpoints().into_iter().map(|e| e.path),
    ));
    routes::api(vault.clone())
        // Swagger UI is an HTML page with its scripts, not part of the JSON API, so it is not in
        // the endpoint table; like the document it reads, it is public (no authentication).
        .merge(openapi::swagger_ui())
        .layer(Extension(metrics.clone()))
        .layer(Extension(Arc::new(ratelimit::LoginLimiter::new(limits))))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        // Answers hold personal data, so nothing may be cached or framed, and browsers must not
        // guess content types.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Outside everything but tracing, so that timeouts and refusals are counted too.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(vault)
}

/// Serves the router on `listener` with the default rate limits until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    vault: Arc<Vault>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, vault, &RateLimitSettings::default(), shutdown).await
}

/// Serves the router on `listener` until `shutdown` resolves, recording each connection's peer
/// address for the per-address rate limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    vault: Arc<Vault>,
    limits: &RateLimitSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router_with(vault, limits).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The (method, path) of every API endpoint the router serves, in the order they are declared.
/// Tests compare it with the OpenAPI document so that no endpoint goes undocumented.
pub fn endpoints() -> Vec<(axum::http::Method, &'static str)> {
    routes::endpoints()
        .into_iter()
        .map(|e| (e.method, e.path))
        .collect()
}

/// The access rule of every endpoint, as the guard applies it; for the authorisation tests.
pub fn access_rules() -> Vec<auth::Rule> {
    routes::endpoints()
        .into_iter()
        .map(|e| auth::Rule {
            method: e.method,
            path: e.path,
            access: e.access,
        })
        .collect()
}
