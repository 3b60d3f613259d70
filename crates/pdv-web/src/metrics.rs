//! Prometheus metrics at `GET /metrics`, in the text exposition format 0.0.4.
//!
//! Request counters and latency histograms are kept in memory by a middleware around the whole
//! router; gauges about the data (audit events, subjects) are read from the store when a scraper
//! asks, so that every server on one database reports the same numbers and nothing is counted
//! twice after a restart.
//!
//! Routes are labelled with their template (`/api/v1/subjects/{subject}`), never the path that
//! was asked for: paths hold subject ids, and a label per id would both leak them to the
//! monitoring system and grow without bound. Requests that matched no route share the label
//! `unmatched`.
//!
//! The per-request cost is a lookup in a map that never changes after start-up and a few atomic
//! additions: every (route, method) pair has its own counters, allocated on first use, so no lock
//! is taken on the hot path. Only routes outside the endpoint table (Swagger UI's) go through a
//! read-write lock.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pdv_service::Gauges;

use crate::openapi::{Forbidden, InternalError, ServiceUnavailable, Unauthorized};
use crate::problem::ProblemCode;

type AppState = Arc<pdv_service::Vault>;

/// Where the metrics are served; Prometheus's default `metrics_path`.
pub const METRICS_PATH: &str = "/metrics";

/// The media type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds. Commands take milliseconds; the long tail
/// up to the 30 s request limit shows a database waiting for its lock or going away.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The methods that get a label of their own; any other is counted as `OTHER`, so that a client
/// inventing methods cannot create series.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];
const METHOD_SLOTS: usize = METHODS.len() + 1;

fn method_slot(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|m| m == method)
        .unwrap_or(METHODS.len())
}

fn method_label(slot: usize) -> &'static str {
    METHODS.get(slot).map_or("OTHER", Method::as_str)
}

/// Why a request was refused its credentials, as `pdv_auth_denied_total` labels them: every 401
/// code, the role check's 403 and the login rate limit's 429. Codes outside the list (none today)
/// are counted as `other`, so the label set stays fixed.
const DENIAL_REASONS: [&str; 12] = [
    "unauthenticated",
    "malformed_authorization",
    "invalid_token",
    "session_expired",
    "account_disabled",
    "key_revoked",
    "key_expired",
    "invalid_credentials",
    "account_locked",
    "role_not_allowed",
    "too_many_requests",
    "other",
];

/// The login endpoint, whose 401 answers are failed logins.
const LOGIN_PATH: &str = "/api/v1/auth/login";

/// A cumulative-on-read latency histogram with fixed buckets.
#[derive(Debug)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last one is above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Counters of one status class (1xx … 9xx), allocated when the class is first answered.
type StatusClass = [AtomicU64; 100];

/// The series of one (route, method) pair.
#[derive(Debug)]
struct Series {
    statuses: [OnceLock<Box<StatusClass>>; 9],
    duration: Histogram,
}

impl Series {
    fn new() -> Series {
        Series {
            statuses: std::array::from_fn(|_| OnceLock::new()),
            duration: Histogram::new(),
        }
    }

    fn count(&self, status: StatusCode) {
        let code = usize::from(status.as_u16());
        // `StatusCode` holds 100..=999, so the class is 1..=9.
        let Some(class) = self.statuses.get(code / 100 - 1) else {
            return;
        };
        class.get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))))[code % 100]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Every status answered so far, ascending, with its count.
    fn counts(&self) -> Vec<(u16, u64)> {
        let mut out = Vec::new();
        for (class, counters) in self.statuses.iter().enumerate() {
            let Some(counters) = counters.get() else {
                continue;
            };
            for (rest, counter) in counters.iter().enumerate() {
                let n = counter.load(Ordering::Relaxed);
                if n > 0 {
                    // class <= 8 and rest < 100, so the code fits easily.
                    out.push(((class as u16 + 1) * 100 + rest as u16, n));
                }
            }
        }
        out
    }
}

/// The series of one route, one slot per method label.
#[derive(Debug)]
struct RouteSeries {
    route: Box<str>,
    methods: [OnceLock<Box<Series>>; METHOD_SLOTS],
}

impl RouteSeries {
    fn new(route: &str) -> RouteSeries {
        RouteSeries {
            route: route.into(),
            methods: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    fn series(&self, method: usize) -> &Series {
        self.methods[method].get_or_init(|| Box::new(Series::new()))
    }
}

/// The metrics the server keeps in memory, shared by the middleware and the `/metrics` handler.
#[derive(Debug)]
pub struct Metrics {
    /// Known route templates, then [`UNMATCHED`] last.
    routes: Vec<RouteSeries>,
    index: HashMap<&'static str, usize>,
    /// Templates learnt at run time: routes outside the endpoint table, i.e. Swagger UI's. Their
    /// number is bounded by the router, so this never grows with traffic.
    other_routes: RwLock<Vec<Arc<RouteSeries>>>,
    auth_denied: [AtomicU64; DENIAL_REASONS.len()],
    login_failures: AtomicU64,
}

impl Metrics {
    /// Metrics for a router serving `routes` (templates as given to the router).
    pub(crate) fn new(routes: impl IntoIterator<Item = &'static str>) -> Metrics {
        let mut index = HashMap::new();
        let mut series = Vec::new();
        for route in routes {
            index.entry(route).or_insert_with(|| {
                series.push(RouteSeries::new(route));
                series.len() - 1
            });
        }
        series.push(RouteSeries::new(UNMATCHED));
        Metrics {
            routes: series,
            index,
            other_routes: RwLock::new(Vec::new()),
            auth_denied: std::array::from_fn(|_| AtomicU64::new(0)),
            login_failures: AtomicU64::new(0),
        }
    }

    /// Records one answered request.
    fn record(
        &self,
        method: &Method,
        route: Option<&str>,
        status: StatusCode,
        code: Option<&str>,
        elapsed: Duration,
    ) {
        let slot = method_slot(method);
        let observe = |route: &RouteSeries| {
            let series = route.series(slot);
            series.count(status);
            series.duration.observe(elapsed);
        };
        match route {
            None => observe(self.routes.last().expect("UNMATCHED is always there")),
            Some(route) => match self.index.get(route) {
                Some(&i) => observe(&self.routes[i]),
                None => observe(&self.other_route(route)),
            },
        }
        if is_denial(status, code) {
            let reason = code
                .and_then(|c| DENIAL_REASONS.iter().position(|r| *r == c))
                .unwrap_or(DENIAL_REASONS.len() - 1);
            self.auth_denied[reason].fetch_add(1, Ordering::Relaxed);
        }
        if route == Some(LOGIN_PATH) && status == StatusCode::UNAUTHORIZED {
            self.login_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn other_route(&self, route: &str) -> Arc<RouteSeries> {
        let read = self.other_routes.read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = read.iter().find(|r| &*r.route == route) {
            return found.clone();
        }
        drop(read);
        let mut write = self.other_routes.write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = write.iter().find(|r| &*r.route == route) {
            return found.clone();
        }
        let added = Arc::new(RouteSeries::new(route));
        write.push(added.clone());
        added
    }

    /// The exposition text: the in-memory metrics, and the gauges read from the store or, when
    /// the database could not be read, `pdv_database_up 0` in their place.
    pub(crate) fn render(&self, gauges: Option<Gauges>) -> String {
        let mut out = String::with_capacity(16 * 1024);
        family(
            &mut out,
            "pdv_up",
            "gauge",
            "1, пока сервер pdvault отвечает",
        );
        out.push_str("pdv_up 1\n");
        family(
            &mut out,
            "pdv_build_info",
            "gauge",
            "Версия pdvault; значение всегда 1",
        );
        let _ = writeln!(
            out,
            "pdv_build_info{{version=\"{}\"}} 1",
            escape(env!("CARGO_PKG_VERSION"))
        );
        family(
            &mut out,
            "pdv_database_up",
            "gauge",
            "1, если база данных ответила при этом опросе; иначе 0 и показателей из базы нет",
        );
        let _ = writeln!(out, "pdv_database_up {}", u8::from(gauges.is_some()));
        if let Some(gauges) = gauges {
            render_gauges(&mut out, &gauges);
        }

        let others = self
            .other_routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let routes: Vec<&RouteSeries> = self
            .routes
            .iter()
            .chain(others.iter().map(|r| &**r))
            .collect();
        family(
            &mut out,
            "pdv_http_requests_total",
            "counter",
            "HTTP-запросы по методу, шаблону маршрута и коду ответа",
        );
        for_each_series(&routes, |route, method, series| {
            for (status, n) in series.counts() {
                let _ = writeln!(
                    out,
                    "pdv_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        });
        family(
            &mut out,
            "pdv_http_request_duration_seconds",
            "histogram",
            "Время ответа на HTTP-запрос в секундах по методу и шаблону маршрута",
        );
        for_each_series(&routes, |route, method, series| {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (i, counter) in series.duration.buckets.iter().enumerate() {
                cumulative += counter.load(Ordering::Relaxed);
                let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "pdv_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = series.duration.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "pdv_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            // The count is the +Inf bucket as read above, so the two always agree.
            let _ = writeln!(
                out,
                "pdv_http_request_duration_seconds_count{{{labels}}} {cumulative}"
            );
        });

        family(
            &mut out,
            "pdv_auth_denied_total",
            "counter",
            "Отказы в доступе по причине: коды ответов 401, 403 role_not_allowed и 429 too_many_requests",
        );
        for (reason, counter) in DENIAL_REASONS.iter().zip(&self.auth_denied) {
            let _ = writeln!(
                out,
                "pdv_auth_denied_total{{reason=\"{reason}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        family(
            &mut out,
            "pdv_login_failures_total",
            "counter",
            "Неудачные попытки входа сотрудников (ответ 401 на вход)",
        );
        let _ = writeln!(
            out,
            "pdv_login_failures_total {}",
            self.login_failures.load(Ordering::Relaxed)
        );
        out
    }
}

/// The gauges read from the store. A new field of [`Gauges`] (the request journal's due and
/// overdue counts, the retention backlog) gets its family here.
fn render_gauges(out: &mut String, gauges: &Gauges) {
    let Gauges {
        audit_chain_length,
        subjects,
        requests_open,
        requests_overdue,
        sweep_backlog,
        rkn_notice_stale,
        incidents_open,
        incidents_overdue,
    } = *gauges;
    family(
        out,
        "pdv_audit_chain_length",
        "gauge",
        "Число событий в журнале аудита",
    );
    let _ = writeln!(out, "pdv_audit_chain_length {audit_chain_length}");
    family(
        out,
        "pdv_subjects",
        "gauge",
        "Число субъектов персональных данных в базе",
    );
    let _ = writeln!(out, "pdv_subjects {subjects}");
    family(
        out,
        "pdv_requests_open",
        "gauge",
        "Обращения субъектов, на которые ещё не дан ответ",
    );
    let _ = writeln!(out, "pdv_requests_open {requests_open}");
    family(
        out,
        "pdv_requests_overdue",
        "gauge",
        "Обращения, срок ответа на которые истёк",
    );
    let _ = writeln!(out, "pdv_requests_overdue {requests_overdue}");
    family(
        out,
        "pdv_destruction_sweep_backlog",
        "gauge",
        "Уничтоженные субъекты, чей оставшийся шифротекст ещё не удалён зачисткой",
    );
    let _ = writeln!(out, "pdv_destruction_sweep_backlog {sweep_backlog}");
    family(
        out,
        "pdv_rkn_notice_stale",
        "gauge",
        "1, если уведомление об обработке (ст. 22) не подано или устарело после изменения политики",
    );
    let _ = writeln!(out, "pdv_rkn_notice_stale {}", u8::from(rkn_notice_stale));
    family(
        out,
        "pdv_incidents_open",
        "gauge",
        "Инциденты реестра, не закрытые и не отклонённые",
    );
    let _ = writeln!(out, "pdv_incidents_open {incidents_open}");
    family(
        out,
        "pdv_incidents_overdue",
        "gauge",
        "Инциденты, уведомление Роскомнадзора по которым просрочено (24 или 72 часа, ст. 21 ч. 3.1)",
    );
    let _ = writeln!(out, "pdv_incidents_overdue {incidents_overdue}");
}

/// Calls `f` for every series that has seen a request, in a fixed order: routes as the endpoint
/// table lists them, `unmatched`, then other routes in the order they were first asked for.
fn for_each_series(routes: &[&RouteSeries], mut f: impl FnMut(&str, &str, &Series)) {
    for route in routes {
        for (slot, series) in route.methods.iter().enumerate() {
            if let Some(series) = series.get() {
                f(&route.route, method_label(slot), series);
            }
        }
    }
}

/// Whether an answer refused the caller's credentials (see [`DENIAL_REASONS`]).
fn is_denial(status: StatusCode, code: Option<&str>) -> bool {
    status == StatusCode::UNAUTHORIZED
        || (status == StatusCode::FORBIDDEN && code == Some("role_not_allowed"))
        || (status == StatusCode::TOO_MANY_REQUESTS && code == Some("too_many_requests"))
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the exposition format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The middleware that counts and times every request, around the whole router.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let code = response.extensions().get::<ProblemCode>();
    metrics.record(
        &method,
        route.as_ref().map(MatchedPath::as_str),
        response.status(),
        code.map(|c| c.0.as_str()),
        started.elapsed(),
    );
    response
}

/// Administrators, auditors and `monitoring` keys only: the numbers hold no personal data, but
/// they show how busy the operator is and how often access is refused.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    summary = "Метрики для Prometheus",
    description = "Показатели сервиса в текстовом формате Prometheus 0.0.4: `pdv_http_requests_total{method,route,status}` и гистограмма `pdv_http_request_duration_seconds{method,route}` (маршрут — шаблон вида `/api/v1/subjects/{subject}`, без идентификаторов; запросы мимо маршрутов — `unmatched`), `pdv_auth_denied_total{reason}`, `pdv_login_failures_total`, `pdv_build_info{version}`, `pdv_up`, а также читаемые из базы в момент опроса `pdv_audit_chain_length` (событий в журнале аудита), `pdv_subjects` (субъектов) и `pdv_destruction_sweep_backlog` (уничтоженных субъектов, чей оставшийся шифротекст ещё не удалён зачисткой), `pdv_incidents_open` и `pdv_incidents_overdue` (открытые инциденты и те, по которым просрочено уведомление Роскомнадзора); если база не ответила, вместо них `pdv_database_up 0`. Доступ — администратору, аудитору и ключу API с ролью `monitoring` (`pdv keys create --role monitoring`).",
    responses(
        (status = 200, description = "Метрики в текстовом формате Prometheus", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn scrape(
    State(vault): State<AppState>,
    Extension(metrics): Extension<Arc<Metrics>>,
) -> Response {
    let gauges = match vault.gauges().await {
        Ok(gauges) => Some(gauges),
        Err(e) => {
            // The scrape still answers: the process is up, and `pdv_database_up 0` says why the
            // gauges from the database are missing.
            tracing::warn!(error = %e, "metrics: the database could not be read");
            None
        }
    };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        metrics.render(gauges),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(["/health", "/api/v1/subjects/{subject}", LOGIN_PATH])
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn requests_are_counted_by_template_method_and_status() {
        let m = metrics();
        let ms = Duration::from_millis(3);
        m.record(&Method::GET, Some("/health"), StatusCode::OK, None, ms);
        m.record(&Method::GET, Some("/health"), StatusCode::OK, None, ms);
        m.record(
            &Method::GET,
            Some("/api/v1/subjects/{subject}"),
            StatusCode::NOT_FOUND,
            Some("not_found"),
            ms,
        );
        m.record(
            &Method::from_bytes(b"BREW").unwrap(),
            None,
            StatusCode::NOT_FOUND,
            None,
            ms,
        );
        let text = m.render(None);
        let lines = lines(&text);
        for expected in [
            "pdv_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2",
            "pdv_http_requests_total{method=\"GET\",route=\"/api/v1/subjects/{subject}\",status=\"404\"} 1",
            "pdv_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"404\"} 1",
            "pdv_database_up 0",
        ] {
            assert!(lines.contains(&expected), "{expected} missing from\n{text}");
        }
        assert!(
            !text.contains("pdv_subjects "),
            "no gauges without the database"
        );
        assert!(
            !text.contains("route=\"/api/v1/auth/login\""),
            "unused routes have no series"
        );
    }

    #[test]
    fn histograms_are_cumulative_and_agree_with_their_count() {
        let m = metrics();
        for ms in [1, 4, 7, 60, 40_000] {
            m.record(
                &Method::GET,
                Some("/health"),
                StatusCode::OK,
                None,
                Duration::from_millis(ms),
            );
        }
        let text = m.render(None);
        let bucket = |le: &str| {
            let prefix = format!(
                "pdv_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/health\",le=\"{le}\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("{le} missing:\n{text}"))
                .parse::<u64>()
                .unwrap()
        };
        assert_eq!(bucket("0.005"), 2);
        assert_eq!(bucket("0.01"), 3);
        assert_eq!(bucket("0.1"), 4);
        assert_eq!(bucket("30"), 4);
        assert_eq!(bucket("+Inf"), 5);
        assert!(text.contains(
            "pdv_http_request_duration_seconds_count{method=\"GET\",route=\"/health\"} 5"
        ));
        let sum: f64 = text
            .lines()
            .find_map(|l| {
                l.strip_prefix(
                    "pdv_http_request_duration_seconds_sum{method=\"GET\",route=\"/health\"} ",
                )
            })
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 40.072).abs() < 1e-6, "{sum}");
    }

    #[test]
    fn denials_and_failed_logins_are_counted_by_reason() {
        let m = metrics();
        let ms = Duration::from_millis(1);
        let unauthorized = StatusCode::UNAUTHORIZED;
        m.record(
            &Method::POST,
            Some(LOGIN_PATH),
            unauthorized,
            Some("invalid_credentials"),
            ms,
        );
        m.record(
            &Method::POST,
            Some(LOGIN_PATH),
            unauthorized,
            Some("account_locked"),
            ms,
        );
        m.record(
            &Method::POST,
            Some(LOGIN_PATH),
            StatusCode::TOO_MANY_REQUESTS,
            Some("too_many_requests"),
            ms,
        );
        m.record(
            &Method::GET,
            Some("/health"),
            unauthorized,
            Some("invalid_token"),
            ms,
        );
        m.record(
            &Method::GET,
            Some("/health"),
            StatusCode::FORBIDDEN,
            Some("role_not_allowed"),
            ms,
        );
        // A refusal by the purpose check is not an authentication failure.
        m.record(
            &Method::GET,
            Some("/health"),
            StatusCode::FORBIDDEN,
            Some("no_consent"),
            ms,
        );
        m.record(
            &Method::GET,
            Some("/health"),
            unauthorized,
            Some("something_new"),
            ms,
        );
        let text = m.render(None);
        let lines = lines(&text);
        for expected in [
            "pdv_auth_denied_total{reason=\"invalid_credentials\"} 1",
            "pdv_auth_denied_total{reason=\"account_locked\"} 1",
            "pdv_auth_denied_total{reason=\"too_many_requests\"} 1",
            "pdv_auth_denied_total{reason=\"invalid_token\"} 1",
            "pdv_auth_denied_total{reason=\"role_not_allowed\"} 1",
            "pdv_auth_denied_total{reason=\"other\"} 1",
            "pdv_auth_denied_total{reason=\"unauthenticated\"} 0",
            "pdv_login_failures_total 2",
        ] {
            assert!(lines.contains(&expected), "{expected} missing from\n{text}");
        }
    }

    #[test]
    fn gauges_are_rendered_when_the_database_answers() {
        let text = metrics().render(Some(Gauges {
            audit_chain_length: 42,
            subjects: 7,
            requests_open: 5,
            requests_overdue: 1,
            sweep_backlog: 3,
            rkn_notice_stale: true,
            incidents_open: 2,
            incidents_overdue: 1,
        }));
        let lines = lines(&text);
        for expected in [
            "pdv_up 1",
            "pdv_database_up 1",
            "pdv_audit_chain_length 42",
            "pdv_subjects 7",
            "pdv_requests_open 5",
            "pdv_destruction_sweep_backlog 3",
            "pdv_requests_overdue 1",
            "pdv_rkn_notice_stale 1",
            "pdv_incidents_open 2",
            "pdv_incidents_overdue 1",
        ] {
            assert!(lines.contains(&expected), "{expected} missing from\n{text}");
        }
        assert!(text.contains("# TYPE pdv_audit_chain_length gauge"));
    }

    #[test]
    fn routes_outside_the_table_get_their_own_series_once() {
        let m = metrics();
        for _ in 0..3 {
            m.record(
                &Method::GET,
                Some("/api/docs/{*rest}"),
                StatusCode::OK,
                None,
                Duration::from_millis(1),
            );
        }
        assert_eq!(m.other_routes.read().unwrap().len(), 1);
        assert!(m.render(None).contains(
            "pdv_http_requests_total{method=\"GET\",route=\"/api/docs/{*rest}\",status=\"200\"} 3"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
