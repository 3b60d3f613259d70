//! The access log and request ids, built so that no personal data reaches the log.
//!
//! tower-http's default span records the whole URI, and a query string or a path can carry an
//! e-mail, a phone number or a subject's name; headers carry bearer tokens; bodies carry the
//! data itself. So each request's span holds only the method, the route *template* the router
//! matched (`/api/v1/subjects/{subject}/data`, never the path that was asked for) and a request
//! id; the line written when the answer leaves adds the status and the latency. A request that
//! matched no route is logged without any path at all.
//!
//! Every answer carries the request id in `X-Request-Id`, so a client's complaint can be matched
//! with the log. An id sent by a proxy is kept only when it is a UUID (nginx's `$request_id`, 32
//! hex digits, parses as one); anything else a client put there could be personal data, and is
//! replaced with a fresh UUIDv7.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnFailure, MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

/// The header that carries the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id considered (a braced or URN UUID is 45 characters).
const MAX_INCOMING_ID: usize = 45;

/// The id of the request being served, put into the request's extensions by [`request_id`].
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) HeaderValue);

/// Gives the request an id (the proxy's if it is a UUID, a new one otherwise) and returns it in
/// `X-Request-Id`.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| is_uuid(v))
        .cloned()
        .unwrap_or_else(|| {
            // A UUID's text is always a valid header value; the fallback is never taken.
            HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
                .unwrap_or(HeaderValue::from_static("-"))
        });
    request.headers_mut().insert(REQUEST_ID, id.clone());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

fn is_uuid(value: &HeaderValue) -> bool {
    value.len() <= MAX_INCOMING_ID
        && value
            .to_str()
            .is_ok_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// The trace layer with a span that holds no personal data.
pub(crate) fn layer() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    RequestSpan,
    (),
    ResponseLine,
    (),
    (),
    DefaultOnFailure,
> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(ResponseLine)
        .on_body_chunk(())
        .on_eos(())
        // 5xx answers are also logged as errors, with their status and latency only.
        .on_failure(DefaultOnFailure::new())
}

/// Makes the span of one request: `method`, `route` (the matched template, or `-`) and
/// `request_id`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        // The template, not the path: `/api/v1/subjects/{subject}` is safe to log, the path the
        // client sent may hold anything.
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("-", MatchedPath::as_str);
        let id = request
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.0.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            method = %request.method(),
            route,
            request_id = id,
        )
    }
}

/// Writes one line per answer, inside the request's span: status and latency.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseLine;

impl<B> OnResponse<B> for ResponseLine {
    fn on_response(self, response: &axum::http::Response<B>, latency: Duration, _span: &Span) {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request finished"
        );
    }
}
