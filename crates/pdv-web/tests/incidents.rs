//! The register of incidents over HTTP on both backends: registered by the contact centre,
//! worked and notified by the responsible person, watched by the auditor and by Prometheus,
//! with the refusals a demanding user expects.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_every_backend!(
    an_incident_is_registered_notified_and_closed_over_http,
    roles_without_the_permission_are_refused,
    bad_incident_input_gets_clear_errors,
);

/// The fixture's clock stands at Monday 2 March 2026, 10:00 in Moscow (07:00 UTC).
fn report(detected_at: &str) -> Value {
    json!({
        "detected_at": detected_at,
        "how": "Сотрудник отправил выгрузку заказов не тому адресату",
        "categories": ["contacts", "addresses"],
        "subjects": 40,
        "identifiers": 80,
        "causes": "Ошибка сотрудника при выборе адресата",
        "harm": "Адреса доставки стали известны постороннему лицу",
        "measures": "Получатель удалил письмо и подтвердил это письменно"
    })
}

fn incidents_overdue(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("pdv_incidents_overdue "))
        .and_then(|v| v.trim().parse().ok())
}

async fn an_incident_is_registered_notified_and_closed_over_http(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let agent = client_with(&login(&app.vault, "agent").await);
    // Detected 25 hours ago: the first notice is already an hour late.
    let (status, body) = send(
        agent
            .post(app.url("/api/v1/incidents"))
            .header("idempotency-key", "inc-1")
            .json(&report("2026-03-01T09:00:00+03:00")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["number"], "2026-000001");
    assert_eq!(body["status"], "registered");
    assert_eq!(body["registered_by"], "user:agent");
    assert_eq!(body["timers"][0]["state"], "overdue");
    assert_eq!(body["timers"][0]["text"], "ПРОСРОЧЕНО на 1 ч");
    assert_eq!(body["timers"][1]["due"], "2026-03-04T06:00:00Z");
    // Without a contact, the policy's responsible person is the one Roskomnadzor talks to.
    assert_eq!(body["contact"]["name"], "Петрова Мария Ивановна");
    // A resubmitted form is the same incident.
    let r = agent
        .post(app.url("/api/v1/incidents"))
        .header("idempotency-key", "inc-1")
        .json(&report("2026-03-01T09:00:00+03:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["idempotent-replayed"], "true");

    let (status, due) = send(app.auditor.get(app.url("/api/v1/incidents/due"))).await;
    assert_eq!(status, StatusCode::OK, "{due}");
    assert_eq!(due.as_array().unwrap().len(), 1);
    assert_eq!(due[0]["next"]["timer"], "first_notice");
    assert_eq!(due[0]["overdue"], true);
    assert!(due[0].get("causes").is_none(), "lists carry no texts");
    let (status, list) = app.get("/api/v1/incidents?status=overdue").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let text = app
        .auditor
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(incidents_overdue(&text), Some(1), "{text}");

    // The draft first notice, as text and as JSON.
    let n = "/api/v1/incidents/2026-000001";
    let r = app
        .client
        .get(app.url(&format!("{n}/notice?kind=first&format=text")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for part in [
        "Уведомление об инциденте в области персональных данных",
        "Номер инцидента в реестре оператора: 2026-000001",
        "ИНН: 7723456782",
        "ОГРН: 1027700000008",
        "Предполагаемые причины, повлёкшие нарушение прав субъектов персональных данных: Ошибка сотрудника",
        "Предполагаемый вред, нанесённый правам субъектов персональных данных: Адреса доставки",
        "Принятые меры по устранению последствий инцидента: Получатель удалил письмо",
        "Лицо, уполномоченное оператором на взаимодействие с Роскомнадзором",
        "ст. 21 ч. 3.1 п. 1 152-ФЗ",
    ] {
        assert!(text.contains(part), "{part:?} missing from\n{text}");
    }
    let (status, draft) = app.get(&format!("{n}/notice?kind=results")).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["kind"], "results");
    assert_eq!(
        draft["missing"],
        json!(["first_notice", "results", "persons"])
    );

    for (step, body) in [
        (
            "first_notice_sent",
            json!({ "how": "портал Роскомнадзора", "reference": "№ 17", "sent_at": "2026-03-02 09:30" }),
        ),
        (
            "results",
            json!({ "results": "Письмо отправлено по ошибке автодополнения адреса", "persons": "менеджер Орлова О. О." }),
        ),
        ("results_sent", json!({ "how": "портал Роскомнадзора" })),
        ("close", json!({})),
    ] {
        let mut body = body;
        body["step"] = json!(step);
        let (status, view) = app.post(&format!("{n}/steps"), body).await;
        assert_eq!(status, StatusCode::OK, "{step}: {view}");
    }
    let (status, view) = app.get(n).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "closed");
    assert_eq!(
        view["timers"][0]["text"],
        "направлено 02.03.2026 09:30, с опозданием на 30 мин"
    );
    assert_eq!(view["timers"][1]["state"], "done");
    assert_eq!(view["persons"], "менеджер Орлова О. О.");
    assert_eq!(view["entries"].as_array().unwrap().len(), 5);
    let (_, due) = app.get("/api/v1/incidents/due").await;
    assert_eq!(due, json!([]));
    let text = app
        .auditor
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(incidents_overdue(&text), Some(0));
    app.audit_intact().await;
}

async fn roles_without_the_permission_are_refused(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let (status, body) = app
        .post("/api/v1/incidents", report("2026-03-02T08:00:00+03:00"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The auditor reads the register but neither registers nor works incidents.
    let (status, body) = send(
        app.auditor
            .post(app.url("/api/v1/incidents"))
            .json(&report("2026-03-02T08:00:00+03:00")),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "role_not_allowed",
        None,
    );
    let (status, body) = send(app.auditor.get(app.url("/api/v1/incidents/2026-000001"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The contact centre registers but does not notify Roskomnadzor on the operator's behalf.
    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, body) = send(
        agent
            .post(app.url("/api/v1/incidents/2026-000001/steps"))
            .json(&json!({ "step": "first_notice_sent", "how": "портал" })),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "role_not_allowed",
        None,
    );
    // An integration key and a monitoring key see nothing of the register.
    let integration = client_with(&key(&app.vault, &["contract"], &[]).await);
    let monitoring = client_with(&monitoring_key(&app.vault).await);
    for client in [&integration, &monitoring] {
        let (status, body) = send(client.get(app.url("/api/v1/incidents"))).await;
        assert_problem(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "role_not_allowed",
            None,
        );
    }
    let (status, body) = send(app.anonymous.get(app.url("/api/v1/incidents/due"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Every refusal is in the audit trail, and nothing changed.
    let (_, view) = app.get("/api/v1/incidents/2026-000001").await;
    assert_eq!(view["status"], "registered");
    app.audit_intact().await;
}

async fn bad_incident_input_gets_clear_errors(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let mut bad = report("вчера вечером");
    bad["categories"] = json!(["contacts", "horoscope"]);
    let (status, body) = app.post("/api/v1/incidents", bad).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
        Some("detected_at"),
    );
    let fields: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("detected_at", "invalid_date"),
            ("categories[1]", "unknown_category")
        ]
    );
    let mut negative = report("2026-03-02T08:00:00+03:00");
    negative["subjects"] = json!(-1);
    let (status, body) = app.post("/api/v1/incidents", negative).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "negative_count",
        Some("subjects"),
    );
    let mut unknown = report("2026-03-02T08:00:00+03:00");
    unknown["severity"] = json!("high");
    let (status, body) = app.post("/api/v1/incidents", unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_field", "{body}");
    let (status, body) = send(
        app.client
            .post(app.url("/api/v1/incidents"))
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
    );

    let (status, body) = app.get("/api/v1/incidents/42").await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_number",
        Some("number"),
    );
    let (status, body) = app.get("/api/v1/incidents/2026-000007").await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found", None);
    let (status, body) = app.get("/api/v1/incidents?colour=red").await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "unknown_parameter",
        Some("colour"),
    );
    let (status, body) = app.get("/api/v1/incidents?status=lost").await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_status",
        Some("status"),
    );
    let (status, body) = app.get("/api/v1/incidents/due?at=soon").await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
        Some("at"),
    );

    let (status, _) = app
        .post("/api/v1/incidents", report("2026-03-02T08:00:00+03:00"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let n = "/api/v1/incidents/2026-000001";
    let (status, body) = app.get(&format!("{n}/notice")).await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "required",
        Some("kind"),
    );
    let (status, body) = app.get(&format!("{n}/notice?kind=second")).await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "unknown_notice_kind",
        Some("kind"),
    );
    let (status, body) = app.get(&format!("{n}/notice?kind=first&format=pdf")).await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "unknown_format",
        Some("format"),
    );
    let (status, body) = app
        .post(&format!("{n}/steps"), json!({ "step": "fly" }))
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
            &format!("{n}/steps"),
            json!({ "step": "first_notice_sent", "how": "портал", "sent_at": "2026-03-02 07:00" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "sent_before_detection",
        Some("sent_at"),
    );
    let (status, body) = app
        .post(
            &format!("{n}/steps"),
            json!({ "step": "results_sent", "how": "портал" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::CONFLICT,
        "first_notice_not_sent",
        None,
    );
    let (status, body) = app
        .post(&format!("{n}/steps"), json!({ "step": "close" }))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::CONFLICT,
        "results_not_sent",
        None,
    );
    app.audit_intact().await;
}
