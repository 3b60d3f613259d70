//! Authentication and authorisation over HTTP: the endpoint × role matrix, logins with lock-out,
//! sessions that end, and API keys that cannot step outside their purposes and categories.

#[macro_use]
mod common;

on_every_backend!(
    every_endpoint_answers_every_role_as_the_matrix_says,
    missing_or_malformed_credentials_get_401_with_a_challenge,
    login_logout_and_session_expiry,
    password_guessing_locks_the_account_for_a_while,
    administrators_manage_accounts_and_disabling_ends_sessions,
    keys_are_held_to_their_purposes_and_categories,
    keys_are_issued_only_for_declared_purposes,
);

use common::{Backend, PASSWORD, STAFF, client_with, key, login, monitoring_key, send, spawn_app};
use pdv_core::audit::Outcome;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Who calls, in the matrix's columns.
const CALLERS: [&str; 7] = [
    "anonymous",
    "admin",
    "dpo",
    "agent",
    "auditor",
    "integration",
    "monitoring",
];

/// The expected access matrix, written out by hand: for each endpoint, the callers allowed
/// (`*` = public). A new endpoint without a row here fails `matrix_covers_every_endpoint`.
const MATRIX: &[(&str, &str, &[&str])] = &[
    ("GET", "/health", &["*"]),
    ("GET", "/ready", &["*"]),
    ("GET", "/api/v1/policy", &["*"]),
    ("GET", "/api/v1/openapi.json", &["*"]),
    ("GET", "/metrics", &["admin", "auditor", "monitoring"]),
    ("POST", "/api/v1/auth/login", &["*"]),
    (
        "POST",
        "/api/v1/auth/logout",
        &[
            "admin",
            "dpo",
            "agent",
            "auditor",
            "integration",
            "monitoring",
        ],
    ),
    (
        "GET",
        "/api/v1/auth/me",
        &[
            "admin",
            "dpo",
            "agent",
            "auditor",
            "integration",
            "monitoring",
        ],
    ),
    ("GET", "/api/v1/users", &["admin"]),
    ("POST", "/api/v1/users", &["admin"]),
    ("POST", "/api/v1/users/{login}/disable", &["admin"]),
    ("POST", "/api/v1/users/{login}/enable", &["admin"]),
    ("POST", "/api/v1/users/{login}/unlock", &["admin"]),
    ("POST", "/api/v1/users/{login}/password", &["admin"]),
    ("GET", "/api/v1/keys", &["admin", "dpo"]),
    ("POST", "/api/v1/keys", &["admin", "dpo"]),
    ("POST", "/api/v1/keys/{key}/revoke", &["admin", "dpo"]),
    ("POST", "/api/v1/subjects", &["dpo", "agent", "integration"]),
    (
        "POST",
        "/api/v1/subjects/search",
        &["dpo", "agent", "integration"],
    ),
    (
        "GET",
        "/api/v1/subjects/{subject}",
        &["dpo", "agent", "auditor"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/records",
        &["dpo", "agent", "integration"],
    ),
    (
        "GET",
        "/api/v1/subjects/{subject}/data",
        &["dpo", "agent", "integration"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/consents",
        &["dpo", "agent", "integration"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/consents/{consent}/withdraw",
        &["dpo", "agent", "integration"],
    ),
    (
        "GET",
        "/api/v1/subjects/{subject}/consents/{consent}/evidence",
        &["dpo", "agent", "auditor"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/contracts",
        &["dpo", "agent", "integration"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/contracts/{contract}/terminate",
        &["dpo", "agent", "integration"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/events",
        &["dpo", "agent", "integration"],
    ),
    (
        "GET",
        "/api/v1/subjects/{subject}/events",
        &["dpo", "agent", "auditor"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/blocks",
        &["dpo", "agent"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/blocks/{block}/lift",
        &["dpo"],
    ),
    ("GET", "/api/v1/audit/verify", &["admin", "dpo", "auditor"]),
    ("POST", "/api/v1/requests", &["dpo", "agent", "integration"]),
    ("GET", "/api/v1/requests", &["dpo", "agent", "auditor"]),
    (
        "GET",
        "/api/v1/requests/{number}",
        &["dpo", "agent", "auditor"],
    ),
    ("POST", "/api/v1/requests/{number}/steps", &["dpo"]),
    ("GET", "/api/v1/requests/{number}/answer", &["dpo"]),
    (
        "POST",
        "/api/v1/subjects/{subject}/records/{record}/rectify",
        &["dpo", "agent", "integration"],
    ),
    ("GET", "/api/v1/outbox", &["dpo", "integration"]),
    (
        "POST",
        "/api/v1/outbox/{message}/report",
        &["dpo", "integration"],
    ),
    ("GET", "/api/v1/acts", &["dpo", "auditor"]),
    ("GET", "/api/v1/acts/{number}", &["dpo", "auditor"]),
    ("GET", "/api/v1/retention/plan", &["dpo", "auditor"]),
    ("GET", "/api/v1/retention/retained", &["dpo", "auditor"]),
    ("POST", "/api/v1/retention/run", &["dpo"]),
    (
        "POST",
        "/api/v1/subjects/{subject}/consents/{consent}/withdraw-recipients",
        &["dpo", "agent", "integration"],
    ),
    (
        "POST",
        "/api/v1/subjects/{subject}/transfers",
        &["dpo", "agent", "integration"],
    ),
    (
        "GET",
        "/api/v1/subjects/{subject}/transfers",
        &["dpo", "agent", "auditor"],
    ),
    (
        "GET",
        "/api/v1/register",
        &["admin", "dpo", "agent", "auditor", "integration"],
    ),
    (
        "GET",
        "/api/v1/rkn/notice",
        &["admin", "dpo", "agent", "auditor", "integration"],
    ),
    ("POST", "/api/v1/rkn/notice/filed", &["dpo"]),
    ("POST", "/api/v1/incidents", &["admin", "dpo", "agent"]),
    (
        "GET",
        "/api/v1/incidents",
        &["admin", "dpo", "agent", "auditor"],
    ),
    (
        "GET",
        "/api/v1/incidents/due",
        &["admin", "dpo", "agent", "auditor"],
    ),
    (
        "GET",
        "/api/v1/incidents/{number}",
        &["admin", "dpo", "agent", "auditor"],
    ),
    ("POST", "/api/v1/incidents/{number}/steps", &["dpo"]),
    (
        "GET",
        "/api/v1/incidents/{number}/notice",
        &["admin", "dpo", "agent", "auditor"],
    ),
];

#[test]
fn matrix_covers_every_endpoint() {
    let mut listed: Vec<(&str, &str)> = MATRIX.iter().map(|(m, p, _)| (*m, *p)).collect();
    let rules = pdv_web::access_rules();
    let mut routed: Vec<(&str, &str)> = rules.iter().map(|r| (r.method.as_str(), r.path)).collect();
    listed.sort();
    routed.sort();
    assert_eq!(
        routed, listed,
        "every endpoint of the router needs a row in MATRIX, and only those"
    );
    for rule in &rules {
        assert!(
            rule.access.is_some(),
            "{} {} has no access rule",
            rule.method,
            rule.path
        );
    }
}

/// A concrete URL for a route pattern: path parameters become fresh ids (or a login).
fn concrete(path: &str) -> String {
    path.replace("{login}", "nobody")
        .replace("{key}", &uuid::Uuid::now_v7().to_string())
        .replace("{subject}", &uuid::Uuid::now_v7().to_string())
        .replace("{consent}", &uuid::Uuid::now_v7().to_string())
        .replace("{contract}", &uuid::Uuid::now_v7().to_string())
        .replace("{block}", &uuid::Uuid::now_v7().to_string())
        .replace("{number}", "2026-999999")
        .replace("{message}", &uuid::Uuid::now_v7().to_string())
        .replace("{record}", &uuid::Uuid::now_v7().to_string())
}

async fn denials(app: &common::TestApp) -> usize {
    app.vault
        .store()
        .audit_events(1, 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.record.outcome == Outcome::Denied)
        .count()
}

/// Every endpoint × every caller: the anonymous get 401 on protected routes, a role without the
/// permission gets 403 `role_not_allowed` (audited), and an allowed role gets past the guard.
async fn every_endpoint_answers_every_role_as_the_matrix_says(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let mut clients = vec![("anonymous", reqwest::Client::new())];
    for (name, _) in STAFF {
        clients.push((name, client_with(&login(&app.vault, name).await)));
    }
    clients.push((
        "integration",
        client_with(&key(&app.vault, &["contract"], &[]).await),
    ));
    clients.push(("monitoring", client_with(&monitoring_key(&app.vault).await)));
    assert_eq!(clients.len(), CALLERS.len());
    for (method, path, allowed) in MATRIX {
        // Logging out would end the caller's session for the rest of the matrix.
        if *path == "/api/v1/auth/logout" {
            continue;
        }
        for (caller, client) in &clients {
            let url = app.url(&concrete(path));
            let request = match *method {
                "GET" => client.get(&url),
                _ => client.post(&url).json(&json!({})),
            };
            let before = denials(&app).await;
            let (status, body) = send(request).await;
            let public = allowed.contains(&"*");
            let may = public || allowed.contains(caller);
            let at = format!("{method} {path} as {caller}: {status} {body}");
            if may {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{at}");
                assert_ne!(body["code"], "role_not_allowed", "{at}");
                assert_ne!(body["code"], "no_access_rule", "{at}");
            } else if *caller == "anonymous" {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{at}");
                assert_eq!(body["code"], "unauthenticated", "{at}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{at}");
                assert_eq!(body["code"], "role_not_allowed", "{at}");
                assert_eq!(denials(&app).await, before + 1, "refusal not audited: {at}");
            }
        }
    }
    app.audit_intact().await;
}

async fn missing_or_malformed_credentials_get_401_with_a_challenge(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    for header in [
        None,
        Some("Basic YWxhZGRpbjpvcGVu"),
        Some("Bearer "),
        Some("pdvs_x"),
    ] {
        let mut request = app.anonymous.get(app.url("/api/v1/auth/me"));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{header:?}"
        );
    }
    for token in [
        "pdvs_forged",
        "pdvk_00000000000000000000000000000000_x",
        "nonsense",
    ] {
        let (status, body) = send(client_with(token).get(app.url("/api/v1/auth/me"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {body}");
        assert_eq!(body["code"], "invalid_token", "{token}: {body}");
    }
}

async fn login_http(app: &common::TestApp, login: &str, password: &str) -> (StatusCode, Value) {
    send(
        app.anonymous
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "login": login, "password": password })),
    )
    .await
}

async fn login_logout_and_session_expiry(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let (status, body) = login_http(&app, "agent", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "agent");
    assert!(body.get("password_hash").is_none() && body["user"].get("password_hash").is_none());
    let token = body["token"].as_str().unwrap().to_string();
    let agent = client_with(&token);
    let (status, me) = send(agent.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "agent");
    assert_eq!(me["kind"], "staff");

    let r = agent
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, body) = send(agent.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a logged-out token must not work: {body}"
    );

    // Sessions last eight hours.
    let token = login(&app.vault, "agent").await;
    app.clock.set("2026-03-02T15:00:01Z".parse().unwrap());
    let (status, body) = send(client_with(&token).get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "session_expired", "{body}");
    app.clock.set("2026-03-02T07:00:00Z".parse().unwrap());
    app.audit_intact().await;
}

async fn password_guessing_locks_the_account_for_a_while(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let (status, body) = login_http(&app, "nobody-here", "whatever-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_credentials");
    for attempt in 1..=4 {
        let (status, body) = login_http(&app, "agent", "wrong-password-123").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body["code"], "invalid_credentials",
            "attempt {attempt}: {body}"
        );
    }
    let (_, body) = login_http(&app, "agent", "wrong-password-123").await;
    assert_eq!(
        body["code"], "account_locked",
        "the fifth failure locks: {body}"
    );
    let (status, body) = login_http(&app, "agent", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["code"], "account_locked",
        "even the right password waits: {body}"
    );

    // After fifteen minutes the right password works again and the count starts afresh.
    app.clock.set("2026-03-02T07:16:00Z".parse().unwrap());
    let (status, body) = login_http(&app, "agent", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // An administrator can unlock at once.
    for _ in 0..5 {
        login_http(&app, "auditor", "wrong-password-123").await;
    }
    let admin = client_with(&login(&app.vault, "admin").await);
    let (status, body) = send(
        admin
            .post(app.url("/api/v1/users/auditor/unlock"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = login_http(&app, "auditor", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // SQL in the login changes nothing and finds nobody.
    let (status, body) = login_http(&app, "admin' OR '1'='1' --", "x' OR '1'='1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_credentials");
    app.audit_intact().await;
}

async fn administrators_manage_accounts_and_disabling_ends_sessions(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let admin = client_with(&login(&app.vault, "admin").await);
    let (status, body) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "login": "petrova", "full_name": "Петрова Мария Ивановна", "role": "agent"
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let generated = body["password"].as_str().unwrap().to_string();
    assert!(generated.len() >= 12);
    let (status, _) = login_http(&app, "petrova", &generated).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "login": "Bad Login", "full_name": "", "role": "integration", "password": "short"
    })))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["login", "full_name", "role", "password"], "{body}");

    let (status, body) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "login": "petrova", "full_name": "Другая", "role": "agent"
    })))
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "login_taken");

    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, body) = send(
        admin
            .post(app.url("/api/v1/users/agent/disable"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = send(agent.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled account's session must end"
    );
    let (_, body) = login_http(&app, "agent", PASSWORD).await;
    assert_eq!(body["code"], "account_disabled");
    let (_, body) = login_http(&app, "agent", "wrong-password-123").await;
    assert_eq!(
        body["code"], "invalid_credentials",
        "without the password, a disabled account looks like any failed login"
    );

    let (status, body) = send(admin.get(app.url("/api/v1/users"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.to_string().contains("argon2"),
        "hashes must never be shown: {body}"
    );
    app.audit_intact().await;
}

/// A delivery-service key reads what its purposes allow and nothing else, even if it asks.
async fn keys_are_held_to_their_purposes_and_categories(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/subjects/{sid}/contracts"),
            json!({ "reference": "Д-1", "concluded_on": "2026-03-01" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (category, fields) in [
        ("contacts", json!({ "email": "anna@example.ru" })),
        (
            "addresses",
            json!({ "delivery_address": "Москва, ул. Тверская, 1" }),
        ),
    ] {
        let (status, body) = app
            .post(
                &format!("/api/v1/subjects/{sid}/records"),
                json!({ "category": category, "purpose": "contract", "fields": fields }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{category}: {body}");
    }

    let delivery =
        client_with(&key(&app.vault, &["contract", "order_status"], &["addresses"]).await);
    let data = |purpose: &str| app.url(&format!("/api/v1/subjects/{sid}/data?purpose={purpose}"));

    let before = denials(&app).await;
    let (status, body) = send(delivery.get(data("marketing"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "key_purpose_not_allowed", "{body}");
    assert_eq!(
        denials(&app).await,
        before + 1,
        "the refusal must be audited"
    );

    let (status, body) =
        send(delivery.get(format!("{}&categories=contacts", data("contract")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "key_category_not_allowed", "{body}");

    // Asking for everything the purpose allows yields only the key's categories.
    let (status, body) = send(delivery.get(data("contract"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let categories: Vec<&str> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["addresses"], "{body}");

    // Writing outside the scope is refused too.
    let (status, body) = send(
        delivery
            .post(app.url(&format!("/api/v1/subjects/{sid}/records")))
            .json(&json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "x@example.ru" } })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "key_category_not_allowed");

    // A key cannot manage keys, and a revoked key stops at once.
    let (status, _) = send(delivery.get(app.url("/api/v1/keys"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let dpo = &app.client;
    let (_, keys) = send(dpo.get(app.url("/api/v1/keys"))).await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = send(
        dpo.post(app.url(&format!("/api/v1/keys/{id}/revoke")))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);
    let (status, body) = send(delivery.get(data("contract"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "key_revoked", "{body}");
    let (status, body) = send(
        dpo.post(app.url(&format!("/api/v1/keys/{id}/revoke")))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    app.audit_intact().await;
}

async fn keys_are_issued_only_for_declared_purposes(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let (status, body) = app
        .post(
            "/api/v1/keys",
            json!({ "name": "", "role": "administrator", "purposes": ["telepathy"], "categories": ["marketing_profile", "nonsense"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "invalid_value",
            "invalid_role",
            "unknown_purpose",
            "category_not_in_purposes",
            "unknown_category"
        ],
        "{body}"
    );
    let (status, body) = app
        .post(
            "/api/v1/keys",
            json!({ "name": "Служба доставки", "purposes": ["contract"], "valid_until": "2026-03-10" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("pdvk_"));
    let (_, list) = app.get("/api/v1/keys").await;
    assert!(
        !list.to_string().contains(&secret),
        "the secret is shown only once"
    );

    // The key ends with its last day in the operator's time zone.
    let client = client_with(&secret);
    let (status, _) = send(client.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.set("2026-03-10T21:00:00Z".parse().unwrap());
    let (status, body) = send(client.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "key_expired", "{body}");
    app.clock.set("2026-03-02T07:00:00Z".parse().unwrap());
    app.audit_intact().await;
}
