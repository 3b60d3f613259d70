//! The HTTP face of pdvault: the JSON API under `/api/v1`, errors as RFC 9457
//! `application/problem+json` with a stable `code` and the offending `field`, and its OpenAPI 3.1
//! description with a bundled Swagger UI.
//!
//! This is the only crate that knows HTTP. Handlers parse the request at the boundary (JSON with
//! the path of a bad field, ids, query strings), call one `Vault` command, and turn its result or
//! error into a response. No handler touches the store or the keys.

mod accounts;
pub mod auth;
mod bodies;
mod extract;
pub mod openapi;
mod problem;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use pdv_service::Vault;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use problem::ApiError;

/// The largest request body accepted; personal-data records are small, and a bound keeps a
/// client from exhausting memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest a request may take before it is answered 503; a slow client or a stuck database
/// cannot hold a worker forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the application router.
pub fn router(vault: Arc<Vault>) -> Router {
    routes::api(vault.clone())
        // Swagger UI is an HTML page with its scripts, not part of the JSON API, so it is not in
        // the endpoint table; like the document it reads, it is public (no authentication).
        .merge(openapi::swagger_ui())
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
        .layer(TraceLayer::new_for_http())
        .with_state(vault)
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    vault: Arc<Vault>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(vault))
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
