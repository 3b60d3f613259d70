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
//!
//! Around the router: the limits of [`WebSettings`], an access log that holds no personal data
//! (`trace`), and serving over plain HTTP or TLS ([`tls`]) with a bounded graceful shutdown
//! (`server`).

mod accounts;
pub mod auth;
mod bodies;
mod extract;
mod incidents;
mod journal;
pub mod metrics;
pub mod openapi;
mod problem;
pub mod ratelimit;
mod retention;
mod rkn;
mod routes;
mod server;
pub mod tls;
mod trace;
mod transfers;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use pdv_service::Vault;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use problem::ApiError;
pub use ratelimit::{LoginRateLimit, RateLimitSettings};
pub use server::{serve_tls, serve_with};

/// The default largest request body; personal-data records are small, and a bound keeps a
/// client from exhausting memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The default longest time a request may take before it is answered 503; a slow client or a
/// stuck database cannot hold a worker forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time requests in flight get to finish after the server is told to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The server's tunable limits; [`WebSettings::default`] is what runs when nothing is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Longer requests are answered 503.
    pub request_timeout: Duration,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// After the stop signal, how long requests in flight may still run before the server
    /// returns anyway and their connections are dropped.
    pub shutdown_grace: Duration,
    /// Per-address limits (login) and the proxies whose `X-Forwarded-For` is believed.
    pub rate_limits: RateLimitSettings,
}

impl Default for WebSettings {
    fn default() -> WebSettings {
        WebSettings {
            request_timeout: REQUEST_TIMEOUT,
            max_body_bytes: MAX_BODY_BYTES,
            shutdown_grace: SHUTDOWN_GRACE,
            rate_limits: RateLimitSettings::default(),
        }
    }
}

/// Builds the application router with the default settings.
pub fn router(vault: Arc<Vault>) -> Router {
    router_with(vault, &WebSettings::default())
}

/// Builds the application router. Rate limits key on the client's address, which the router
/// finds only when served with connection info, as [`serve_with`] does.
pub fn router_with(vault: Arc<Vault>, settings: &WebSettings) -> Router {
    let metrics = Arc::new(metrics::Metrics::new(
        routes::endpoints().into_iter().map(|e| e.path),
    ));
    routes::api(vault.clone())
        // Swagger UI is an HTML page with its scripts, not part of the JSON API, so it is not in
        // the endpoint table; like the document it reads, it is public (no authentication).
        .merge(openapi::swagger_ui())
        .layer(Extension(metrics.clone()))
        .layer(Extension(Arc::new(ratelimit::LoginLimiter::new(
            &settings.rate_limits,
        ))))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.request_timeout,
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
        // The access log: method, route template, status, latency and a request id, never the
        // URI, headers or body (see `trace`).
        .layer(trace::layer())
        .layer(axum::middleware::from_fn(trace::request_id))
        .with_state(vault)
}

/// Serves the router with the default settings on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    vault: Arc<Vault>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, vault, &WebSettings::default(), shutdown).await
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
