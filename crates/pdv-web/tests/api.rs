//! HTTP tests: a real server on a loopback socket, a fresh database and master key per test,
//! driven with reqwest as an integration would drive it, acting as the responsible person.

#[macro_use]
mod common;

on_every_backend!(
    retention_events_are_recorded_per_subject_and_order,
    a_destroyed_subject_answers_410_everywhere,
    responses_carry_security_headers_and_readiness,
    slice_works_for_both_policies,
    find_by_email_or_phone_in_any_spelling,
    blocked_data_is_kept_but_not_served,
    bad_input_is_refused_clearly_and_changes_nothing,
    idempotency_key_makes_creates_safe_to_retry,
);

use common::{Backend, assert_problem, spawn_app, web_consent};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The whole slice — subject, contract, data, consent, use, withdrawal, refusal, proof — for
/// both shipped operators.
async fn slice_works_for_both_policies(backend: Backend) {
    for (policy, kind) in [("lider.toml", "buyer"), ("konekt.toml", "subscriber")] {
        let app = spawn_app(backend, policy).await;
        let sid = app.subject(kind).await;

        // Contract data before a contract exists has no basis.
        let contacts = json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "anna@example.ru", "phone": "+7 916 555 12 34" } });
        let (status, body) = app
            .post(&format!("/api/v1/subjects/{sid}/records"), contacts.clone())
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "no_contract",
            Some("purpose"),
        );

        let (status, body) = app
            .post(
                &format!("/api/v1/subjects/{sid}/contracts"),
                json!({ "reference": "Д-1", "concluded_on": "2026-03-01" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{policy}: {body}");
        let (status, body) = app
            .post(&format!("/api/v1/subjects/{sid}/records"), contacts)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{policy}: {body}");

        let (status, consent) = app
            .post(
                &format!("/api/v1/subjects/{sid}/consents"),
                web_consent(&["marketing"]),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{policy}: {consent}");
        assert_eq!(consent["kind"], "marketing");
        assert_eq!(consent["state"], "given");
        assert_eq!(consent["policy_version"], "1.0");
        let cid = consent["id"].as_str().unwrap();

        let profile = json!({ "category": "marketing_profile", "purpose": "marketing", "fields": { "marketing_email": "anna@example.ru" } });
        let (status, body) = app
            .post(&format!("/api/v1/subjects/{sid}/records"), profile)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{policy}: {body}");

        let (status, data) = app
            .get(&format!("/api/v1/subjects/{sid}/data?purpose=marketing"))
            .await;
        assert_eq!(status, StatusCode::OK, "{policy}: {data}");
        assert_eq!(data["basis"], "consent");
        assert_eq!(
            data["records"][0]["fields"]["marketing_email"],
            "anna@example.ru"
        );
        // Minimisation: the contract's contacts are not released for marketing.
        assert_eq!(data["records"].as_array().unwrap().len(), 1, "{data}");

        let (status, w) = app
            .post(
                &format!("/api/v1/subjects/{sid}/consents/{cid}/withdraw"),
                json!({ "channel": "email" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{policy}: {w}");
        assert_eq!(w["consent"]["state"], "withdrawn");
        assert_eq!(w["stopped_purposes"], json!(["marketing"]));

        // The very next use for marketing is refused; contract data is still served.
        let (status, body) = app
            .get(&format!("/api/v1/subjects/{sid}/data?purpose=marketing"))
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "no_consent",
            Some("purpose"),
        );
        let (status, data) = app
            .get(&format!(
                "/api/v1/subjects/{sid}/data?purpose=contract&categories=contacts"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{data}");
        assert_eq!(data["records"][0]["fields"]["phone"], "+79165551234");

        // A second withdrawal is a conflict, not a silent success.
        let (status, body) = app
            .post(
                &format!("/api/v1/subjects/{sid}/consents/{cid}/withdraw"),
                json!({ "channel": "email" }),
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::CONFLICT,
            "already_withdrawn",
            None,
        );

        // Proof: the evidence is kept, and the chain holds every step, refusals included.
        let (status, ev) = app
            .get(&format!("/api/v1/subjects/{sid}/consents/{cid}/evidence"))
            .await;
        assert_eq!(status, StatusCode::OK, "{ev}");
        assert_eq!(ev["evidence"]["ip"], "203.0.113.7");
        assert!(app.audit_intact().await >= 10);
    }
}

async fn find_by_email_or_phone_in_any_spelling(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    for (kind, value) in [
        ("email", "anna@example.ru"),
        ("email", " ANNA@example.ru"),
        ("phone", "+79165551234"),
        ("phone", "9165551234"),
    ] {
        let (status, body) = app
            .post(
                "/api/v1/subjects/search",
                json!({ "kind": kind, "value": value }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["subjects"], json!([sid]), "{kind} {value}");
    }
    let (status, body) = app
        .post(
            "/api/v1/subjects/search",
            json!({ "kind": "email", "value": "nobody@example.ru" }),
        )
        .await;
    assert_eq!(
        (status, body["subjects"].clone()),
        (StatusCode::OK, json!([]))
    );
    let (status, body) = app
        .post(
            "/api/v1/subjects/search",
            json!({ "kind": "passport", "value": "1" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_identifier",
        Some("kind"),
    );
}

async fn blocked_data_is_kept_but_not_served(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    app.post(
        &format!("/api/v1/subjects/{sid}/contracts"),
        json!({ "reference": "Д-2", "concluded_on": "2026-03-01" }),
    )
    .await;
    let (status, _) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "a@example.ru" } })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, block) = app
        .post(
            &format!("/api/v1/subjects/{sid}/blocks"),
            json!({ "category": "contacts", "reason": "обращение № 7: оспаривается точность" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{block}");
    let (status, body) = app
        .get(&format!(
            "/api/v1/subjects/{sid}/data?purpose=contract&categories=contacts"
        ))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "blocked",
        Some("categories"),
    );
    let bid = block["id"].as_str().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/subjects/{sid}/blocks/{bid}/lift"),
            json!({ "reason": "данные подтверждены" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get(&format!(
            "/api/v1/subjects/{sid}/data?purpose=contract&categories=contacts"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// The events retention counts from are recorded by the operator's systems, per order where
/// needed, and refused clearly when they are not events or not yet.
async fn retention_events_are_recorded_per_subject_and_order(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    let events = format!("/api/v1/subjects/{sid}/events");
    let (status, first) = app
        .post(&events, json!({ "event": "order_fulfilled", "scope": "заказ № 5521", "occurred_on": "2026-02-20" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["scope"], "заказ № 5521");
    let (status, done) = app
        .post(&events, json!({ "event": "purpose_achieved", "purpose": "enquiries", "occurred_on": "2026-02-21" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["purpose"], "enquiries");
    let (status, second) = app.post(&events, json!({ "event": "claim_closed" })).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        second["occurred_on"], "2026-03-02",
        "today in Moscow when not given"
    );
    let (status, list) = app.get(&events).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["order_fulfilled", "purpose_achieved", "claim_closed"],
        "in date order"
    );

    for (body, code, field) in [
        (json!({ "event": "collected" }), "unknown_event", "event"),
        (
            json!({ "event": "purpose_achieved" }),
            "required",
            "purpose",
        ),
        (
            json!({ "event": "purpose_achieved", "purpose": "astrology" }),
            "unknown_purpose",
            "purpose",
        ),
        (json!({ "event": "party" }), "unknown_event", "event"),
        (
            json!({ "event": "claim_closed", "occurred_on": "2026-03-03" }),
            "in_the_future",
            "occurred_on",
        ),
        (
            json!({ "event": "claim_closed", "occurred_on": "вчера" }),
            "invalid_date",
            "occurred_on",
        ),
    ] {
        let (status, b) = app.post(&events, body).await;
        assert_problem(
            status,
            &b,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Some(field),
        );
    }
    let (status, b) = app
        .post(
            &format!("/api/v1/subjects/{}/events", uuid::Uuid::now_v7()),
            json!({ "event": "claim_closed" }),
        )
        .await;
    assert_problem(status, &b, StatusCode::NOT_FOUND, "not_found", None);
    app.audit_intact().await;
}

/// After crypto-shredding, every use of the subject answers 410 `subject_destroyed`, both while
/// its leftover rows wait for the sweep and after it; the other subjects are untouched, and the
/// destruction is in the audit trail.
async fn a_destroyed_subject_answers_410_everywhere(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let gone = app.subject("buyer").await;
    let kept = app.subject("buyer").await;
    for sid in [&gone, &kept] {
        app.post(
            &format!("/api/v1/subjects/{sid}/contracts"),
            json!({ "reference": "Д-3", "concluded_on": "2026-03-01" }),
        )
        .await;
        let (status, _) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "b@example.ru" } })).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let id = pdv_core::SubjectId(gone.parse::<uuid::Uuid>().unwrap());
    app.vault
        .shred_subject(&pdv_service::Actor::new("test"), id, "тест")
        .await
        .unwrap();
    assert_eq!(app.vault.sweep_backlog().await.unwrap(), 1);
    for swept in [false, true] {
        if swept {
            let report = app.vault.sweep_shredded("test", &mut |_| {}).await.unwrap();
            assert_eq!(report.subjects, 1);
        }
        for (status, body) in [
            app.get(&format!("/api/v1/subjects/{gone}/data?purpose=contract")).await,
            app.get(&format!("/api/v1/subjects/{gone}")).await,
            app.post(&format!("/api/v1/subjects/{gone}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "c@example.ru" } })).await,
        ] {
            assert_problem(status, &body, StatusCode::GONE, "subject_destroyed", None);
        }
        let (status, _) = app
            .get(&format!("/api/v1/subjects/{kept}/data?purpose=contract"))
            .await;
        assert_eq!(status, StatusCode::OK);
        // Both subjects were created with the same e-mail and phone; only the kept one can still
        // be found, before the sweep deletes the destroyed one's blind indexes and after.
        for (kind, value) in [("email", "anna@example.ru"), ("phone", "+79165551234")] {
            let (status, found) = app
                .post(
                    "/api/v1/subjects/search",
                    json!({ "kind": kind, "value": value }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{found}");
            assert_eq!(
                found["subjects"],
                json!([kept]),
                "a destroyed subject is not found by its {kind} (swept: {swept})"
            );
        }
    }
    assert_eq!(app.vault.sweep_backlog().await.unwrap(), 0);
    app.audit_intact().await;
}

/// Every kind of bad input gets a 4xx problem naming the field, and none of them changes state.
async fn bad_input_is_refused_clearly_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    app.post(
        &format!("/api/v1/subjects/{sid}/contracts"),
        json!({ "reference": "Д-3", "concluded_on": "2026-03-01" }),
    )
    .await;
    let events_before = app.audit_intact().await;
    let records = format!("/api/v1/subjects/{sid}/records");

    // Malformed JSON and wrong content type.
    let r = app
        .client
        .post(format!("{}{records}", app.base))
        .header("content-type", "application/json")
        .body("{\"category\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "malformed_json");
    let r = app
        .client
        .post(format!("{}{records}", app.base))
        .body("category=contacts")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Wrong types name the path of the field.
    let (s, b) = app
        .post(
            &records,
            json!({ "category": "contacts", "purpose": "contract", "fields": "x" }),
        )
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Some("fields"),
    );
    let (s, b) = app
        .post(
            &records,
            json!({ "category": "contacts", "purpose": "contract", "fields": {}, "extra": 1 }),
        )
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        None,
    );

    // Unknown category, field, purpose; a bad value; special categories in any disguise.
    let (s, b) = app
        .post(
            &records,
            json!({ "category": "wishes", "purpose": "contract", "fields": { "x": "y" } }),
        )
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_category",
        Some("category"),
    );
    let (s, b) = app.post(&records, json!({ "category": "contacts", "purpose": "contract", "fields": { "telegram": "@anna" } })).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
        Some("fields.telegram"),
    );
    let (s, b) = app.post(&records, json!({ "category": "contacts", "purpose": "contract", "fields": { "phone": "позвоните мне" } })).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_value",
        Some("fields.phone"),
    );
    let (s, b) = app.post(&records, json!({ "category": "contacts", "purpose": "contract", "fields": { "health_status": "здоров" } })).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "special_category_refused",
        Some("fields.health_status"),
    );
    let (s, b) = app.post(&records, json!({ "category": "biometric_templates", "purpose": "contract", "fields": { "x": "y" } })).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "special_category_refused",
        Some("category"),
    );
    let (s, b) = app.post(&records, json!({ "category": "contacts", "purpose": "sell_to_anyone", "fields": { "email": "a@example.ru" } })).await;
    assert_problem(
        s,
        &b,
        StatusCode::FORBIDDEN,
        "unknown_purpose",
        Some("purpose"),
    );
    let (s, b) = app.post(&records, json!({ "category": "contacts", "purpose": "marketing", "fields": { "email": "a@example.ru" } })).await;
    assert_problem(
        s,
        &b,
        StatusCode::FORBIDDEN,
        "category_not_allowed",
        Some("categories"),
    );

    // Consents without evidence, or bundling marketing with other purposes, are refused.
    let consents = format!("/api/v1/subjects/{sid}/consents");
    let mut no_evidence = web_consent(&["marketing"]);
    no_evidence["evidence"] = json!({});
    let (s, b) = app.post(&consents, no_evidence).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_consent",
        Some("evidence.ip"),
    );
    let (s, b) = app
        .post(&consents, web_consent(&["marketing", "loyalty"]))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["errors"].as_array().unwrap().iter().any(
            |e| e["field"] == "purposes" && e["message"].as_str().unwrap().contains("отдельно")
        ),
        "{b}"
    );
    let (s, b) = app.post(&consents, web_consent(&["contract"])).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_consent",
        Some("purposes[0]"),
    );

    // Unknown subjects and ids, oversized bodies, unknown routes.
    let (s, b) = app.post("/api/v1/subjects/01890000-0000-7000-8000-000000000000/records", json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "a@example.ru" } })).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "not_found", None);
    let (s, b) = app.get("/api/v1/subjects/not-an-id").await;
    assert_problem(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "invalid_id",
        Some("subject"),
    );
    let huge = "я".repeat(70_000);
    let (s, b) = app
        .post(
            &records,
            json!({ "category": "contacts", "purpose": "contract", "fields": { "email": huge } }),
        )
        .await;
    assert_problem(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", None);
    let (s, b) = app
        .post("/api/v1/subjects", json!({ "kind": "alien" }))
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_subject_kind",
        Some("kind"),
    );
    let (s, b) = app.get(&format!("/api/v1/subjects/{sid}/data")).await;
    assert_problem(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "purpose_required",
        Some("purpose"),
    );
    let (s, b) = app.get("/api/v1/nowhere").await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "no_route", None);

    // Nothing was stored; only the purpose-check refusals were audited.
    let (_, summary) = app.get(&format!("/api/v1/subjects/{sid}")).await;
    assert_eq!(summary["records"], json!({}), "{summary}");
    assert_eq!(summary["consents"], json!([]), "{summary}");
    let events_after = app.audit_intact().await;
    assert_eq!(
        events_after,
        events_before + 3,
        "two refused collections (purpose checks) and one summary read"
    );
}

/// A retried create with the same Idempotency-Key returns the first answer and creates nothing
/// more; the same key on a different request is refused.
async fn idempotency_key_makes_creates_safe_to_retry(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let send = |key: &'static str, body: Value| {
        let client = app.client.clone();
        let url = format!("{}/api/v1/subjects", app.base);
        async move {
            client
                .post(url)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let body = json!({ "kind": "buyer", "identifiers": { "email": "retry@example.ru" } });
    let first = send("k-1", body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let events = app.audit_intact().await;

    let again = send("k-1", body.clone()).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "the replay is the first answer, byte for byte"
    );
    assert_eq!(app.audit_intact().await, events, "a replay changes nothing");
    let (_, found) = app
        .post(
            "/api/v1/subjects/search",
            json!({ "kind": "email", "value": "retry@example.ru" }),
        )
        .await;
    assert_eq!(
        found["subjects"].as_array().unwrap().len(),
        1,
        "only one subject exists"
    );

    let other = send("k-1", json!({ "kind": "guest" })).await;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    assert_eq!(
        other.json::<Value>().await.unwrap()["code"],
        "idempotency_key_reused"
    );

    let bad = app
        .client
        .post(format!("{}/api/v1/subjects", app.base))
        .header("idempotency-key", "")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["field"],
        "Idempotency-Key"
    );

    // Keys work on nested creates too; without a key every POST creates anew.
    let sid = first["id"].as_str().unwrap();
    let contract = json!({ "reference": "Д-9", "concluded_on": "2026-03-01" });
    let url = format!("{}/api/v1/subjects/{sid}/contracts", app.base);
    let a: Value = app
        .client
        .post(&url)
        .header("idempotency-key", "c-1")
        .json(&contract)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = app
        .client
        .post(&url)
        .header("idempotency-key", "c-1")
        .json(&contract)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["id"], b["id"]);
    let (_, c) = app
        .post(&format!("/api/v1/subjects/{sid}/contracts"), contract)
        .await;
    assert_ne!(a["id"], c["id"]);
}

/// PostgreSQL going away mid-service: requests get 503 with `Retry-After` (nothing half-done),
/// and the same server answers again once the database is back, without a restart.
#[tokio::test]
async fn a_lost_database_gives_503_and_the_server_recovers() {
    if !common::Backend::postgres_available() {
        return;
    }
    let app = spawn_app(Backend::Postgres, "lider.toml").await;
    let admin_url = std::env::var(pdv_store_postgres::testing::URL_VAR).unwrap();
    let db = app.database_name().to_string();
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&admin)
                .await
                .unwrap();
        }
    };
    run(format!(
        "ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS false"
    ))
    .await;
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    let r = app
        .client
        .post(app.url("/api/v1/subjects"))
        .json(&json!({ "kind": "buyer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable", "{body}");

    run(format!(
        "ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS true"
    ))
    .await;
    app.subject("buyer").await;
    app.audit_intact().await;
}

/// Every answer forbids caching and framing; `/ready` reports the database without credentials.
async fn responses_carry_security_headers_and_readiness(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    for path in ["/ready", "/api/v1/auth/me", "/api/v1/no-such-thing"] {
        let r = app.anonymous.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let (status, body) = common::send(app.anonymous.get(app.url("/ready"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
}
