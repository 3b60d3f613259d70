//! Operations over HTTP: the Prometheus metrics (who may read them, the exposition format, route
//! templates instead of paths, gauges that agree with the store) and the per-address limit on
//! logins (429 with `Retry-After`, audited once per run of refusals, successes free).

#[macro_use]
mod common;

on_every_backend!(
    metrics_need_credentials_and_the_right_role,
    metrics_are_prometheus_text,
    requests_are_counted_by_route_template_never_by_path,
    gauges_agree_with_the_store,
    refusals_and_failed_logins_are_counted,
    monitoring_keys_read_metrics_and_nothing_else,
    one_address_cannot_spray_logins,
    the_limit_follows_its_settings,
    successful_logins_do_not_use_up_the_limit,
);

use std::collections::{BTreeMap, BTreeSet};

use common::{
    Backend, PASSWORD, TestApp, client_with, key, login, monitoring_key, send, spawn_app,
    spawn_app_with,
};
use pdv_core::audit::Outcome;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The metrics as the auditor sees them.
async fn scrape(app: &TestApp) -> String {
    let r = app.auditor.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    r.text().await.unwrap()
}

/// One sample line: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition format 0.0.4 strictly enough to catch what Prometheus would
/// refuse: every sample belongs to a family announced by `# HELP` and `# TYPE` before it, names
/// and label names are valid, label values are quoted with escapes, values are numbers, and no
/// series appears twice.
fn parse(text: &str) -> Vec<Sample> {
    fn valid_name(s: &str) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the text ends with a newline");
    let mut helped = BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(valid_name(name) && !help.is_empty(), "{line}");
            assert!(helped.insert(name.to_string()), "HELP twice: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                (name, parse_labels(body, line))
            }
        };
        assert!(valid_name(name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "no TYPE for {line}");
        assert!(
            seen.insert((name.to_string(), labels.clone())),
            "series twice: {line}"
        );
        samples.push((name.to_string(), labels, value));
    }
    samples
}

fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty(),
            "label name {name:?} in {line}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line}"),
            }
        };
        assert!(labels.insert(name.to_string(), value).is_none(), "{line}");
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

/// The value of the series `name` whose labels include `labels`; `None` if there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

async fn metrics_need_credentials_and_the_right_role(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let url = app.url("/metrics");
    let (status, body) = send(app.anonymous.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthenticated");
    for who in ["agent", "dpo"] {
        let (status, body) = send(client_with(&login(&app.vault, who).await).get(&url)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(body["code"], "role_not_allowed", "{who}: {body}");
    }
    let integration = client_with(&key(&app.vault, &["contract"], &[]).await);
    let (status, body) = send(integration.get(&url)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "integration key: {body}");
    for who in ["admin", "auditor"] {
        let r = client_with(&login(&app.vault, who).await)
            .get(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{who}");
        assert!(r.text().await.unwrap().contains("pdv_up 1"), "{who}");
    }
    let r = client_with(&monitoring_key(&app.vault).await)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.audit_intact().await;
}

async fn metrics_are_prometheus_text(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    app.subject("buyer").await;
    send(app.anonymous.get(app.url("/health"))).await;
    let text = scrape(&app).await;
    let samples = parse(&text);
    for (family, kind) in [
        ("pdv_up", "gauge"),
        ("pdv_build_info", "gauge"),
        ("pdv_database_up", "gauge"),
        ("pdv_audit_chain_length", "gauge"),
        ("pdv_subjects", "gauge"),
        ("pdv_requests_open", "gauge"),
        ("pdv_requests_overdue", "gauge"),
        ("pdv_destruction_sweep_backlog", "gauge"),
        ("pdv_incidents_open", "gauge"),
        ("pdv_incidents_overdue", "gauge"),
        ("pdv_http_requests_total", "counter"),
        ("pdv_http_request_duration_seconds", "histogram"),
        ("pdv_auth_denied_total", "counter"),
        ("pdv_login_failures_total", "counter"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}\n")),
            "{family} {kind}:\n{text}"
        );
    }
    assert_eq!(value(&samples, "pdv_up", &[]), Some(1.0));
    assert_eq!(value(&samples, "pdv_database_up", &[]), Some(1.0));
    assert_eq!(
        value(
            &samples,
            "pdv_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    // Every histogram's buckets rise to +Inf, which equals its count.
    let health = [("method", "GET"), ("route", "/health")];
    let mut last = 0.0;
    for (name, labels, v) in &samples {
        if name == "pdv_http_request_duration_seconds_bucket"
            && labels.get("route").map(String::as_str) == Some("/health")
        {
            assert!(*v >= last, "buckets are cumulative:\n{text}");
            last = *v;
        }
    }
    let count = value(&samples, "pdv_http_request_duration_seconds_count", &health);
    assert_eq!(count, Some(1.0), "{text}");
    assert_eq!(
        value(
            &samples,
            "pdv_http_request_duration_seconds_bucket",
            &[("route", "/health"), ("le", "+Inf")]
        ),
        count
    );
}

async fn requests_are_counted_by_route_template_never_by_path(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    for _ in 0..2 {
        let (status, body) = app.get(&format!("/api/v1/subjects/{sid}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let stray = uuid::Uuid::now_v7();
    let (status, _) = app.get(&format!("/api/v1/no-such-thing/{stray}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        app.client
            .delete(app.url(&format!("/api/v1/subjects/{sid}"))),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let text = scrape(&app).await;
    let samples = parse(&text);
    assert!(!text.contains(&sid), "a subject id leaked into the metrics");
    assert!(!text.contains(&stray.to_string()), "a raw path leaked");
    let total = |labels: &[(&str, &str)]| value(&samples, "pdv_http_requests_total", labels);
    assert_eq!(
        total(&[
            ("method", "GET"),
            ("route", "/api/v1/subjects/{subject}"),
            ("status", "200")
        ]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        total(&[
            ("method", "POST"),
            ("route", "/api/v1/subjects"),
            ("status", "201")
        ]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        total(&[("method", "GET"), ("route", "unmatched"), ("status", "404")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        total(&[
            ("method", "DELETE"),
            ("route", "/api/v1/subjects/{subject}"),
            ("status", "405")
        ]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "pdv_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/v1/subjects/{subject}")]
        ),
        Some(2.0),
        "{text}"
    );
    // Every route label is a template the router knows, or `unmatched`.
    let known: BTreeSet<&str> = pdv_web::endpoints().iter().map(|(_, p)| *p).collect();
    for (name, labels, _) in &samples {
        if let Some(route) = labels.get("route") {
            assert!(
                known.contains(route.as_str()) || route == "unmatched",
                "{name} has route {route}"
            );
        }
    }
}

async fn gauges_agree_with_the_store(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let mut subjects = Vec::new();
    for _ in 0..3 {
        subjects.push(app.subject("buyer").await);
    }
    // A refusal is an audit event too.
    send(app.anonymous.get(app.url("/api/v1/auth/me"))).await;
    let samples = parse(&scrape(&app).await);
    let events = app.vault.store().audit_events(1, 100_000).await.unwrap();
    assert!(events.len() > 3);
    assert_eq!(
        value(&samples, "pdv_audit_chain_length", &[]),
        Some(events.len() as f64)
    );
    assert_eq!(
        value(&samples, "pdv_audit_chain_length", &[]),
        Some(app.audit_intact().await as f64),
        "the gauge is the length the verifier checks"
    );
    assert_eq!(value(&samples, "pdv_subjects", &[]), Some(3.0));
    assert_eq!(
        value(&samples, "pdv_destruction_sweep_backlog", &[]),
        Some(0.0)
    );

    // The journal: one request answered, one open and late, one open and in time.
    for received in [
        "2026-02-02T10:00:00+03:00",
        "2026-03-02T09:00:00+03:00",
        "2026-01-12T10:00:00+03:00",
    ] {
        let (status, r) = app
            .post(
                "/api/v1/requests",
                serde_json::json!({ "kind": "access", "channel": "post", "received_at": received, "requester": { "name": "Анна" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    let (status, _) = app
        .post(
            "/api/v1/requests/2026-000003/steps",
            serde_json::json!({ "step": "answer", "text": "ответ дан" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let samples = parse(&scrape(&app).await);
    assert_eq!(value(&samples, "pdv_requests_open", &[]), Some(2.0));
    // Received 2 February, due 16 February: past on 2 March; the one of 2 March is not.
    assert_eq!(value(&samples, "pdv_requests_overdue", &[]), Some(1.0));

    // A destroyed subject waits for the sweep, then the backlog is empty again; its id stays.
    let id = pdv_core::SubjectId(subjects[0].parse::<uuid::Uuid>().unwrap());
    app.vault
        .shred_subject(&pdv_service::Actor::new("test"), id, "тест")
        .await
        .unwrap();
    let samples = parse(&scrape(&app).await);
    assert_eq!(
        value(&samples, "pdv_destruction_sweep_backlog", &[]),
        Some(1.0)
    );
    assert_eq!(value(&samples, "pdv_subjects", &[]), Some(3.0));
    app.vault.sweep_shredded("test", &mut |_| {}).await.unwrap();
    let samples = parse(&scrape(&app).await);
    assert_eq!(
        value(&samples, "pdv_destruction_sweep_backlog", &[]),
        Some(0.0)
    );
}

async fn refusals_and_failed_logins_are_counted(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    send(app.anonymous.get(app.url("/api/v1/auth/me"))).await;
    send(client_with("pdvs_forged").get(app.url("/api/v1/auth/me"))).await;
    send(client_with(&login(&app.vault, "agent").await).get(app.url("/api/v1/users"))).await;
    for password in ["wrong-password-1", "wrong-password-2"] {
        let (status, _) = send(
            app.anonymous
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({ "login": "agent", "password": password })),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let samples = parse(&scrape(&app).await);
    let denied = |reason: &str| value(&samples, "pdv_auth_denied_total", &[("reason", reason)]);
    assert_eq!(denied("unauthenticated"), Some(1.0));
    assert_eq!(denied("invalid_token"), Some(1.0));
    assert_eq!(denied("role_not_allowed"), Some(1.0));
    assert_eq!(denied("invalid_credentials"), Some(2.0));
    assert_eq!(denied("too_many_requests"), Some(0.0));
    assert_eq!(value(&samples, "pdv_login_failures_total", &[]), Some(2.0));
}

async fn monitoring_keys_read_metrics_and_nothing_else(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let admin = client_with(&login(&app.vault, "admin").await);
    let (status, body) =
        send(admin.post(app.url("/api/v1/keys")).json(
            &json!({ "name": "Prometheus", "role": "monitoring", "purposes": ["contract"] }),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "not_for_monitoring", "{body}");
    assert_eq!(body["field"], "purposes", "{body}");
    let (status, body) = send(
        admin
            .post(app.url("/api/v1/keys"))
            .json(&json!({ "name": "Prometheus", "role": "monitoring" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["key"]["role"], "monitoring", "{body}");
    let scraper = client_with(body["secret"].as_str().unwrap());
    let (status, me) = send(scraper.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "monitoring", "{me}");
    assert_eq!(me["kind"], "api_key", "{me}");
    let r = scraper.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let sid = app.subject("buyer").await;
    for (method, path) in [
        ("POST", "/api/v1/subjects".to_string()),
        ("GET", format!("/api/v1/subjects/{sid}")),
        (
            "GET",
            format!("/api/v1/subjects/{sid}/data?purpose=contract"),
        ),
        ("GET", "/api/v1/audit/verify".to_string()),
        ("GET", "/api/v1/keys".to_string()),
    ] {
        let request = match method {
            "GET" => scraper.get(app.url(&path)),
            _ => scraper
                .post(app.url(&path))
                .json(&json!({ "kind": "buyer" })),
        };
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["code"], "role_not_allowed", "{method} {path}: {body}");
    }
    // The role belongs to keys only.
    let (status, body) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "login": "prometheus", "full_name": "Сборщик метрик", "role": "monitoring"
    })))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_role", "{body}");
    app.audit_intact().await;
}

async fn login_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    password: &str,
) -> reqwest::Response {
    let mut request = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "login": "agent", "password": password }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// Audit events refused for too many attempts.
async fn throttled_events(app: &TestApp) -> Vec<Value> {
    app.vault
        .store()
        .audit_events(1, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.outcome == Outcome::Denied && e.record.action == "auth.denied")
        .map(|e| serde_json::from_str::<Value>(&e.record.details).unwrap())
        .filter(|d| d["code"] == "too_many_requests")
        .collect()
}

/// With the default burst, the eleventh failed login in a row from one address is refused with
/// 429 before any password is checked, the refusal is audited once, and another address is not
/// affected. The refill is slowed to one a minute so that a slow test run cannot earn a token
/// back in the middle (the default's six seconds could pass on a loaded machine).
async fn one_address_cannot_spray_logins(backend: Backend) {
    let limit = pdv_web::LoginRateLimit::default().burst;
    let limits = pdv_web::RateLimitSettings {
        login: pdv_web::LoginRateLimit {
            per_address_per_minute: 1,
            burst: limit,
        },
        ..pdv_web::RateLimitSettings::default()
    };
    let app = spawn_app_with(backend, "lider.toml", limits).await;
    // Wrong passwords across accounts: each account stays below its own lock-out.
    for attempt in 0..limit {
        let account = ["agent", "dpo", "admin", "auditor"][attempt as usize % 4];
        let r = app
            .anonymous
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "login": account, "password": "wrong-password-123" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    assert!(throttled_events(&app).await.is_empty());
    let r = login_from(&app, None, PASSWORD).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "429 is a problem"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests", "{body}");
    assert_eq!(body["status"], 429, "{body}");
    let events = throttled_events(&app).await;
    assert_eq!(events.len(), 1, "the refusal is audited: {events:?}");
    assert_eq!(events[0]["endpoint"], "POST /api/v1/auth/login");
    // Further refusals in the same run are counted, not audited again.
    let r = login_from(&app, None, "wrong-password-123").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled_events(&app).await.len(), 1);

    // Another client behind the trusted local proxy has a bucket of its own.
    let r = login_from(&app, Some("203.0.113.9"), PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);

    let samples = parse(&scrape(&app).await);
    assert_eq!(
        value(
            &samples,
            "pdv_auth_denied_total",
            &[("reason", "too_many_requests")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "pdv_http_requests_total",
            &[("route", "/api/v1/auth/login"), ("status", "429")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "pdv_login_failures_total", &[]),
        Some(f64::from(limit))
    );
    app.audit_intact().await;
}

async fn the_limit_follows_its_settings(backend: Backend) {
    let limits = pdv_web::RateLimitSettings {
        login: pdv_web::LoginRateLimit {
            per_address_per_minute: 1,
            burst: 2,
        },
        ..pdv_web::RateLimitSettings::default()
    };
    let app = spawn_app_with(backend, "lider.toml", limits).await;
    for _ in 0..2 {
        let r = login_from(&app, Some("198.51.100.20"), "wrong-password-123").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login_from(&app, Some("198.51.100.20"), "wrong-password-123").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (55..=60).contains(&retry),
        "one attempt a minute: Retry-After {retry}"
    );
    // Malformed requests are refused before the password check and cost nothing…
    let r = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.21")
        .json(&json!({ "login": "agent" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..2 {
        let r = login_from(&app, Some("198.51.100.21"), "wrong-password-123").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // …and an IPv6 client cannot escape by changing the address within its /64.
    for (i, address) in ["2001:db8:1:2::1", "2001:db8:1:2::2"]
        .into_iter()
        .enumerate()
    {
        let r = login_from(&app, Some(address), "wrong-password-123").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{i}");
    }
    let r = login_from(&app, Some("2001:db8:1:2:ffff::3"), "wrong-password-123").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn successful_logins_do_not_use_up_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, "lider.toml", pdv_web::RateLimitSettings::default()).await;
    let burst = pdv_web::LoginRateLimit::default().burst;
    for i in 0..burst + 5 {
        let r = login_from(&app, None, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK, "login {i}");
    }
    assert!(throttled_events(&app).await.is_empty());
}
