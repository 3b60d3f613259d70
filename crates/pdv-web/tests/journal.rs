//! The request journal over HTTP on both backends: a request registered by the contact centre,
//! worked and answered by the responsible person within its legal deadline, with the refusals a
//! demanding user expects.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

on_every_backend!(
    every_kind_is_received_worked_and_answered_for_both_operators,
    a_rectification_replaces_the_value_and_tells_those_who_hold_it,
    a_withdrawal_or_a_demand_to_stop_ends_consent_processing_at_once,
    answers_and_notices_wait_in_the_outbox_until_the_integration_reports_them,
    the_access_answer_gives_the_subject_their_data_and_the_law_s_list,
    a_request_disputing_the_data_blocks_it_at_once,
    a_marketing_read_is_refused_right_after_the_stop_marketing_request,
    a_request_is_received_worked_and_answered_in_time,
    bad_journal_input_gets_clear_errors
);

/// The fixture's clock stands at Monday 2 March 2026, 10:00 in Moscow.
async fn a_request_is_received_worked_and_answered_in_time(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, body) = send(agent.post(app.url("/api/v1/requests")).json(&json!({
        "kind": "access",
        "channel": "phone",
        "requester": { "name": "Петров Пётр Петрович", "contact": "+7 916 555-12-34" },
        "text": "Просит сообщить, какие данные о нём обрабатываются"
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["number"], "2026-000001");
    // Ten working days from 2 March, skipping the 9 March holiday: 17 March.
    assert_eq!(body["due"], "2026-03-17");
    assert_eq!(body["rule"], "D1");
    assert_eq!(body["status"], "received");
    assert_eq!(body["missing"].as_array().unwrap().len(), 3, "{body}");

    let (status, list) = app.get("/api/v1/requests?status=open").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0].get("requester").is_none(),
        "the list carries no requester details"
    );

    let n = "/api/v1/requests/2026-000001";
    for (step, extra) in [
        (
            "check_identity",
            json!({ "identity": { "document": "паспорт 4510 000001", "relation": "заказ № 77", "signature": "simple_electronic" } }),
        ),
        ("start", json!({})),
        (
            "extend",
            json!({ "text": "нужны сведения от службы доставки" }),
        ),
    ] {
        let mut body = extra;
        body["step"] = json!(step);
        let (status, answer) = app.post(&format!("{n}/steps"), body).await;
        assert_eq!(status, StatusCode::OK, "{step}: {answer}");
    }
    let (status, view) = app.get(n).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "extended");
    assert_eq!(view["due"], "2026-03-24", "five more working days");
    assert_eq!(view["entries"].as_array().unwrap().len(), 4);
    assert_eq!(view["requester"]["name"], "Петров Пётр Петрович");

    // The agent registers and reads, but does not answer on the operator's behalf.
    let (status, body) = send(
        agent
            .post(app.url(&format!("{n}/steps")))
            .json(&json!({ "step": "answer", "text": "ответ" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .post(
            &format!("{n}/steps"),
            json!({ "step": "answer", "text": "сведения направлены" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "answered");
    let (status, body) = app
        .post(
            &format!("{n}/steps"),
            json!({ "step": "refuse", "text": "поздно" }),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "request_closed", None);

    // The site's integration forwards its form; a retry of the same form is the same request.
    let site = client_with(&key(&app.vault, &["contract"], &[]).await);
    let form = json!({
        "kind": "stop_marketing",
        "channel": "site",
        "requester": { "name": "Сидорова Мария" }
    });
    let mut first = None;
    for attempt in 0..2 {
        let r = site
            .post(app.url("/api/v1/requests"))
            .header("idempotency-key", "site-form-8841")
            .json(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let replayed = r.headers().get("idempotent-replayed").is_some();
        assert_eq!(replayed, attempt == 1, "attempt {attempt}");
        let text = r.text().await.unwrap();
        match &first {
            None => first = Some(text),
            Some(f) => assert_eq!(&text, f, "the retry gets the first answer byte for byte"),
        }
    }
    let body: serde_json::Value = serde_json::from_str(first.as_deref().unwrap()).unwrap();
    assert_eq!(body["number"], "2026-000002");
    assert_eq!(body["rule"], "D12");
    let (status, list) = app.get("/api/v1/requests?status=answered").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, all) = app.get("/api/v1/requests").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "the retry made no second request"
    );
    app.audit_intact().await;
}

/// ст. 15 ч. 2: the demand to stop marketing takes effect before the call that records it
/// returns.
async fn a_marketing_read_is_refused_right_after_the_stop_marketing_request(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    let (status, consent) = app
        .post(
            &format!("/api/v1/subjects/{sid}/consents"),
            web_consent(&["marketing"]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{consent}");
    let profile = json!({ "category": "marketing_profile", "purpose": "marketing", "fields": { "marketing_email": "anna@example.ru" } });
    let (status, body) = app
        .post(&format!("/api/v1/subjects/{sid}/records"), profile)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let marketing = format!("/api/v1/subjects/{sid}/data?purpose=marketing");
    let (status, _) = app.get(&marketing).await;
    assert_eq!(status, StatusCode::OK);

    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, body) = send(agent.post(app.url("/api/v1/requests")).json(&json!({
        "kind": "stop_marketing",
        "channel": "phone",
        "subject": sid,
        "requester": { "name": "Анна" }
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["rule"], "D12");
    let (status, body) = app.get(&marketing).await;
    assert_problem(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "no_consent",
        Some("purpose"),
    );
    let (status, file) = app.get(&format!("/api/v1/subjects/{sid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        file.to_string().contains("withdrawn"),
        "the consent shows as withdrawn: {file}"
    );
    app.audit_intact().await;
}

/// ст. 21 ч. 1: data disputed as inaccurate are blocked for the check as soon as the request is
/// journaled (D4, "immediately"), and lifting the block ends the check.
async fn a_request_disputing_the_data_blocks_it_at_once(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    app.post(
        &format!("/api/v1/subjects/{sid}/contracts"),
        json!({ "reference": "Д-9", "concluded_on": "2026-03-01" }),
    )
    .await;
    let (status, _) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "old@example.ru" } })).await;
    assert_eq!(status, StatusCode::CREATED);
    let data = format!("/api/v1/subjects/{sid}/data?purpose=contract");
    assert_eq!(app.get(&data).await.0, StatusCode::OK);

    // A dispute about one category blocks that category only.
    let (status, body) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "blocking", "channel": "email", "subject": sid, "categories": ["order"],
                    "requester": { "name": "Анна" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        app.get(&format!("{data}&categories=contacts")).await.0,
        StatusCode::OK,
        "contacts are not disputed"
    );
    let (status, body) = app.get(&format!("{data}&categories=order")).await;
    assert_problem(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "blocked",
        Some("categories"),
    );
    let (_, file) = app.get(&format!("/api/v1/subjects/{sid}")).await;
    assert_eq!(file["blocks"][0]["category"], "order", "{file}");
    let (status, body) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "access", "channel": "email", "categories": ["order"], "requester": { "name": "Анна" } }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_for_this_kind",
        Some("categories"),
    );

    let (status, body) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "rectification", "channel": "email", "subject": sid,
                    "requester": { "name": "Анна" }, "text": "адрес почты устарел" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["rule"], "D2");
    let (status, refused) = app.get(&data).await;
    assert_problem(status, &refused, StatusCode::FORBIDDEN, "blocked", None);
    let (_, file) = app.get(&format!("/api/v1/subjects/{sid}")).await;
    let block = file["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["category"].is_null()))
        .unwrap_or_else(|| panic!("the file lists the block: {file}"));
    assert!(
        block["reason"].as_str().unwrap().contains("2026-000002"),
        "the block names the request: {block}"
    );
    assert!(
        !block["reason"].as_str().unwrap().contains("устарел"),
        "but not what the request says"
    );
    let bid = block["id"].as_str().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/subjects/{sid}/blocks/{bid}/lift"),
            json!({ "reason": "данные уточнены, проверка завершена" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("{data}&categories=contacts")).await.0,
        StatusCode::OK,
        "the check of the contacts is over; the order's stays blocked"
    );
    app.audit_intact().await;
}

/// ст. 14 ч. 7: the answer confirms processing, lists purposes with bases, gives the data with
/// its source, the processors with their addresses and the periods; a stranger is told that
/// nothing is processed; other kinds of request get no such answer.
async fn the_access_answer_gives_the_subject_their_data_and_the_law_s_list(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    app.post(
        &format!("/api/v1/subjects/{sid}/contracts"),
        json!({ "reference": "Д-5", "concluded_on": "2026-03-01" }),
    )
    .await;
    let (status, _) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "anna<b>@example.ru" } })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, known) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "access", "channel": "email", "subject": sid, "requester": { "name": "Анна" } }),
        )
        .await;
    let (_, stranger) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "access", "channel": "post", "requester": { "name": "Незнакомец" } }),
        )
        .await;
    let (_, other) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "stop_marketing", "channel": "post", "requester": { "name": "Анна" } }),
        )
        .await;

    let url = |r: &serde_json::Value| {
        format!("/api/v1/requests/{}/answer", r["number"].as_str().unwrap())
    };
    let (status, answer) = app.get(&url(&known)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["processed"], true);
    assert!(
        answer["operator"].as_str().unwrap().contains("Лидер"),
        "{answer}"
    );
    let purposes = answer["purposes"].to_string();
    assert!(
        !purposes.contains("Рассылка"),
        "no consent to marketing was given, so marketing is not a purpose of this subject: {purposes}"
    );
    assert_eq!(answer["data"][0]["fields"]["email"], "anna<b>@example.ru");
    assert_eq!(answer["data"][0]["source"], "получены от вас");
    assert!(!answer["purposes"].as_array().unwrap().is_empty());
    assert!(
        answer["purposes"][0]["basis"]
            .as_str()
            .is_some_and(|b| !b.is_empty())
    );
    assert!(
        !answer["periods"].as_array().unwrap().is_empty(),
        "{answer}"
    );
    assert!(answer["rights"].as_str().unwrap().contains("Роскомнадзор"));

    let r = app
        .client
        .get(app.url(&format!("{}?format=html", url(&known))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Подтверждаем, что оператор обрабатывает"),
        "{html}"
    );
    assert!(
        html.contains("anna&lt;b&gt;@example.ru"),
        "values are escaped"
    );
    assert!(
        !html.contains("<script"),
        "a printable page, nothing active"
    );

    let (status, answer) = app.get(&url(&stranger)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["processed"], false);
    assert!(answer["data"].as_array().unwrap().is_empty());

    let (status, body) = app.get(&url(&other)).await;
    assert_problem(
        status,
        &body,
        StatusCode::CONFLICT,
        "not_an_access_request",
        None,
    );

    // Once the subject's data are destroyed, the answer says nothing is processed any more.
    let id = pdv_core::SubjectId(sid.parse::<uuid::Uuid>().unwrap());
    app.vault
        .shred_subject(&pdv_service::Actor::new("test"), id, "тест")
        .await
        .unwrap();
    let (status, answer) = app.get(&url(&known)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["processed"], false);
    assert!(answer["data"].as_array().unwrap().is_empty());
    let (status, body) = app.get(&format!("{}?format=pdf", url(&known))).await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "unknown_format",
        Some("format"),
    );
    app.audit_intact().await;
}

/// pdvault sends nothing itself: the extension notice and the answer are queued for the
/// operator's mail integration, which reads them and reports each delivery once.
async fn answers_and_notices_wait_in_the_outbox_until_the_integration_reports_them(
    backend: Backend,
) {
    let app = spawn_app(backend, "lider.toml").await;
    let (status, r) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "access", "channel": "email",
                    "requester": { "name": "Анна", "contact": "anna@example.ru" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let steps = format!("/api/v1/requests/{}/steps", r["number"].as_str().unwrap());
    for body in [
        json!({ "step": "extend", "text": "ждём сведения от службы доставки" }),
        json!({ "step": "answer", "text": "Ваши данные: …" }),
    ] {
        let (status, b) = app.post(&steps, body).await;
        assert_eq!(status, StatusCode::OK, "{b}");
    }
    let mailer = client_with(&key(&app.vault, &["contract"], &[]).await);
    let (status, queued) = send(mailer.get(app.url("/api/v1/outbox"))).await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    let queued = queued.as_array().unwrap().clone();
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert_eq!(queued[0]["kind"], "extension_notice");
    assert_eq!(queued[0]["channel"], "email");
    assert_eq!(queued[0]["address"], "anna@example.ru");
    assert!(
        queued[0]["body"].as_str().unwrap().contains("2026-03-24"),
        "{}",
        queued[0]
    );
    assert_eq!(queued[1]["kind"], "answer");
    assert_eq!(queued[1]["request"], "2026-000001");

    let report = format!(
        "/api/v1/outbox/{}/report",
        queued[0]["id"].as_str().unwrap()
    );
    let (status, b) = send(
        mailer
            .post(app.url(&report))
            .json(&json!({ "status": "sent", "note": "smtp 250" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "sent");
    let (status, b) = send(
        mailer
            .post(app.url(&report))
            .json(&json!({ "status": "failed" })),
    )
    .await;
    assert_problem(status, &b, StatusCode::CONFLICT, "already_reported", None);
    let (status, b) = send(
        mailer
            .post(app.url(&report))
            .json(&json!({ "status": "lost" })),
    )
    .await;
    assert_problem(
        status,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_status",
        Some("status"),
    );
    let (_, left) = send(mailer.get(app.url("/api/v1/outbox"))).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    let (_, sent) = send(mailer.get(app.url("/api/v1/outbox?status=sent"))).await;
    assert_eq!(sent[0]["note"], "smtp 250");
    let (status, b) = send(
        mailer
            .post(app.url(&format!("/api/v1/outbox/{}/report", uuid::Uuid::now_v7())))
            .json(&json!({ "status": "sent" })),
    )
    .await;
    assert_problem(status, &b, StatusCode::NOT_FOUND, "not_found", None);
    app.audit_intact().await;
}

/// ст. 21 ч. 5 and ч. 5.1: a consent withdrawn, or a demand to stop processing, ends processing
/// on consent at once; processing on the contract goes on, for the answer to explain.
async fn a_withdrawal_or_a_demand_to_stop_ends_consent_processing_at_once(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    for kind in ["consent_withdrawal", "stop_processing"] {
        let sid = app.subject("buyer").await;
        app.post(
            &format!("/api/v1/subjects/{sid}/contracts"),
            json!({ "reference": "Д-7", "concluded_on": "2026-03-01" }),
        )
        .await;
        let (status, _) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "b@example.ru" } })).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = app
            .post(
                &format!("/api/v1/subjects/{sid}/consents"),
                web_consent(&["marketing"]),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "marketing_profile", "purpose": "marketing", "fields": { "marketing_email": "b@example.ru" } })).await;
        assert_eq!(status, StatusCode::CREATED);
        let marketing = format!("/api/v1/subjects/{sid}/data?purpose=marketing");
        let contract = format!("/api/v1/subjects/{sid}/data?purpose=contract");
        assert_eq!(app.get(&marketing).await.0, StatusCode::OK);

        let mut body = json!({ "kind": kind, "channel": "post", "subject": sid, "requester": { "name": "Борис" } });
        if kind == "consent_withdrawal" {
            body["purposes"] = json!(["marketing"]);
        }
        let (status, r) = app.post("/api/v1/requests", body).await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {r}");
        let (status, refused) = app.get(&marketing).await;
        assert_problem(
            status,
            &refused,
            StatusCode::FORBIDDEN,
            "no_consent",
            Some("purpose"),
        );
        assert_eq!(
            app.get(&contract).await.0,
            StatusCode::OK,
            "{kind}: the contract is another basis and goes on"
        );
    }
    let (status, body) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "consent_withdrawal", "channel": "post", "purposes": ["astrology"], "requester": { "name": "Борис" } }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_purpose",
        Some("purposes[0]"),
    );
    app.audit_intact().await;
}

/// ст. 21 ч. 2: the subject proves the data wrong, the data are blocked for the check, corrected
/// (the old value is not kept), the holders of the category are told, and the block is lifted.
async fn a_rectification_replaces_the_value_and_tells_those_who_hold_it(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let sid = app.subject("buyer").await;
    app.post(
        &format!("/api/v1/subjects/{sid}/contracts"),
        json!({ "reference": "Д-11", "concluded_on": "2026-03-01" }),
    )
    .await;
    let (status, rec) = app.post(&format!("/api/v1/subjects/{sid}/records"), json!({ "category": "contacts", "purpose": "contract", "fields": { "email": "old.wrong@example.ru" } })).await;
    assert_eq!(status, StatusCode::CREATED, "{rec}");
    let rid = rec["id"].as_str().unwrap();
    let (_, r) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "rectification", "channel": "email", "subject": sid, "requester": { "name": "Анна" } }),
        )
        .await;
    let rectify = format!("/api/v1/subjects/{sid}/records/{rid}/rectify");
    let (status, body) = app
        .post(&rectify, json!({ "fields": { "email": "new.right@example.ru" }, "reason": "предъявлен паспорт и письмо с нового адреса", "request": r["number"] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["fields"], json!(["email"]));
    assert!(body["notices"].as_u64().unwrap() > 0, "{body}");

    // The data were blocked by the request; the check ends with the block lifted.
    let (_, file) = app.get(&format!("/api/v1/subjects/{sid}")).await;
    let bid = file["blocks"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/subjects/{sid}/blocks/{bid}/lift"),
        json!({ "reason": "данные уточнены" }),
    )
    .await;
    let (status, data) = app
        .get(&format!(
            "/api/v1/subjects/{sid}/data?purpose=contract&categories=contacts"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(
        data["records"][0]["fields"]["email"],
        "new.right@example.ru"
    );

    let events = app.vault.store().audit_events(1, 100_000).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.record.action == "record.rectify")
        .expect("audited");
    assert!(event.record.details.contains("superseded_sha256"));
    assert!(
        !events
            .iter()
            .any(|e| e.record.details.contains("old.wrong")),
        "the wrong value is kept nowhere in clear"
    );
    let (_, queued) = app.get("/api/v1/outbox").await;
    let notices: Vec<&serde_json::Value> = queued
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "rectification_notice")
        .collect();
    assert_eq!(notices.len() as u64, body["notices"].as_u64().unwrap());
    assert!(notices[0]["body"].as_str().unwrap().contains(&sid));
    assert!(
        !notices[0]["body"].as_str().unwrap().contains("new.right"),
        "ids, not data"
    );

    let (status, b) = app
        .post(
            &rectify,
            json!({ "fields": { "favourite_colour": "синий" }, "reason": "так" }),
        )
        .await;
    assert_problem(
        status,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
        Some("fields.favourite_colour"),
    );
    let (status, b) = app
        .post(
            &rectify,
            json!({ "fields": { "email": "x@example.ru" }, "reason": " " }),
        )
        .await;
    assert_problem(
        status,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        Some("reason"),
    );
    let (status, b) = app
        .post(
            &format!(
                "/api/v1/subjects/{sid}/records/{}/rectify",
                uuid::Uuid::now_v7()
            ),
            json!({ "fields": { "email": "x@example.ru" }, "reason": "проверено" }),
        )
        .await;
    assert_problem(status, &b, StatusCode::NOT_FOUND, "not_found", None);
    app.audit_intact().await;
}

/// Every kind of request, for both shipped operators, from receipt to answer, each with the rule
/// of the deadline table that the law gives it.
async fn every_kind_is_received_worked_and_answered_for_both_operators(backend: Backend) {
    let kinds = [
        ("access", "D1"),
        ("rectification", "D2"),
        ("blocking", "D4"),
        ("destruction", "D3"),
        ("consent_withdrawal", "D9"),
        ("stop_processing", "D10"),
        ("stop_marketing", "D12"),
        ("clarification", "D1"),
        ("authority_enquiry", "D13"),
    ];
    for (policy, subject_kind) in [("lider.toml", "buyer"), ("konekt.toml", "subscriber")] {
        let app = spawn_app(backend, policy).await;
        let sid = app.subject(subject_kind).await;
        for (i, (kind, rule)) in kinds.iter().enumerate() {
            let mut body = json!({ "kind": kind, "channel": "post", "requester": { "name": "Заявитель", "contact": "г. Москва, ул. Тестовая, д. 1" } });
            if *kind != "authority_enquiry" {
                body["subject"] = json!(sid);
            } else {
                body["channel"] = json!("authority");
                body["requester"]["name"] = json!("Управление Роскомнадзора по ЦФО");
            }
            let (status, r) = app.post("/api/v1/requests", body).await;
            assert_eq!(status, StatusCode::CREATED, "{policy} {kind}: {r}");
            assert_eq!(r["rule"], *rule, "{policy} {kind}");
            assert_eq!(r["number"], format!("2026-{:06}", i + 1));
            let steps = format!("/api/v1/requests/{}/steps", r["number"].as_str().unwrap());
            if *kind != "authority_enquiry" {
                let (status, b) = app
                    .post(
                        &steps,
                        json!({ "step": "check_identity", "identity": { "document": "паспорт 4510 000002", "relation": "договор № 1", "signature": "handwritten" } }),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{policy} {kind}: {b}");
            }
            for step in [
                json!({ "step": "start" }),
                json!({ "step": "answer", "text": "ответ направлен" }),
            ] {
                let (status, b) = app.post(&steps, step).await;
                assert_eq!(status, StatusCode::OK, "{policy} {kind}: {b}");
            }
        }
        let (_, open) = app.get("/api/v1/requests?status=open").await;
        assert!(open.as_array().unwrap().is_empty(), "{policy}: {open}");
        let (_, answered) = app.get("/api/v1/requests?status=answered").await;
        assert_eq!(answered.as_array().unwrap().len(), kinds.len(), "{policy}");
        let (_, queued) = app.get("/api/v1/outbox").await;
        assert_eq!(
            queued
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["kind"] == "answer")
                .count(),
            kinds.len(),
            "{policy}: every answer waits in the outbox"
        );
        app.audit_intact().await;
    }
}

async fn bad_journal_input_gets_clear_errors(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let (status, body) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "complaint", "channel": "post", "requester": { "name": "Иванов" } }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_request_kind",
        Some("kind"),
    );
    let (status, body) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "access", "channel": "post", "requester": { "name": "Иванов" }, "received_at": "вчера" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_timestamp",
        Some("received_at"),
    );
    let (status, body) = app.get("/api/v1/requests/42").await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_number",
        Some("number"),
    );
    let (status, body) = app.get("/api/v1/requests/2026-000007").await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found", None);
    let (status, body) = app.get("/api/v1/requests?colour=red").await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "unknown_parameter",
        Some("colour"),
    );
    let (status, body) = app.get("/api/v1/requests?status=lost").await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_status",
        Some("status"),
    );
    let (status, _) = app
        .post(
            "/api/v1/requests",
            json!({ "kind": "access", "channel": "post", "requester": { "name": "Иванов" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .post(
            "/api/v1/requests/2026-000001/steps",
            json!({ "step": "fly" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_step",
        Some("step"),
    );
    let (status, body) = app
        .post(
            "/api/v1/requests/2026-000001/steps",
            json!({ "step": "refuse" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        Some("text"),
    );
}
