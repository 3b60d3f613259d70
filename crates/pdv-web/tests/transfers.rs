//! Transfers over HTTP on both backends: a delivery to ЛИДЕР's courier with the data in the
//! answer, refusals as problem+json with stable codes (nothing transferred, each audited), the
//! role rule, the journal, a withdrawal for one recipient, and the register.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

on_every_backend!(a_delivery_transfer_is_checked_journaled_and_refused_with_codes);

async fn a_delivery_transfer_is_checked_journaled_and_refused_with_codes(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    let buyer = app.subject("buyer").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/subjects/{buyer}/contracts"),
            json!({ "reference": "заказ 42", "concluded_on": "2025-01-10" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (category, fields) in [
        ("identity", json!({ "last_name": "Петров" })),
        ("contacts", json!({ "phone": "+7 900 000-00-01" })),
    ] {
        let (status, body) = app
            .post(
                &format!("/api/v1/subjects/{buyer}/records"),
                json!({ "category": category, "purpose": "contract", "fields": fields }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let path = format!("/api/v1/subjects/{buyer}/transfers");
    let courier = json!({ "recipient": "delivery_courier", "purpose": "contract", "categories": ["identity", "contacts"], "basis": "contract", "reference": "накладная 7" });

    // The auditor may look, never transfer.
    let (status, body) = send(app.auditor.post(app.url(&path)).json(&courier)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, made) = send(agent.post(app.url(&path)).json(&courier)).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["recipient"], "delivery_courier");
    assert_eq!(made["processor"], true);
    assert_eq!(made["records"].as_array().unwrap().len(), 2, "{made}");

    for (body, code, field) in [
        (
            json!({ "recipient": "nobody", "purpose": "contract", "basis": "contract" }),
            "unknown_recipient",
            "recipient",
        ),
        (
            json!({ "recipient": "delivery_courier", "purpose": "contract", "categories": ["payment"], "basis": "contract" }),
            "category_not_registered",
            "categories",
        ),
        (
            json!({ "recipient": "insurance_partner", "purpose": "partner_offers", "categories": ["identity"], "basis": "consent_partner_transfer" }),
            "no_consent",
            "purpose",
        ),
        (
            json!({ "recipient": "courts_and_authorities", "purpose": "court_orders", "categories": ["identity"], "basis": "court" }),
            "court_details_missing",
            "court",
        ),
    ] {
        let (status, problem) = send(agent.post(app.url(&path)).json(&body)).await;
        assert_problem(status, &problem, StatusCode::FORBIDDEN, code, Some(field));
    }
    // A court transfer with the decision's details goes through.
    let (status, body) = send(agent.post(app.url(&path)).json(&json!({
        "recipient": "courts_and_authorities", "purpose": "court_orders", "categories": ["identity"], "basis": "court",
        "court": { "court": "Тверской районный суд г. Москвы", "case_number": "2-1/2026", "date": "2026-01-15" }
    }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An unknown field is named, not ignored.
    let (status, problem) = send(agent.post(app.url(&path)).json(&json!({ "recipient": "delivery_courier", "purpose": "contract", "basis": "contract", "urgent": true }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let (status, journal) = send(app.auditor.get(app.url(&path))).await;
    assert_eq!(status, StatusCode::OK, "{journal}");
    let journal = journal.as_array().unwrap();
    assert_eq!(journal.len(), 2, "{journal:?}");
    assert_eq!(journal[0]["reference"], "накладная 7");
    assert_eq!(journal[1]["court"]["case_number"], "2-1/2026");

    // The register: every processor of ЛИДЕР is ready.
    let (status, register) = app.get("/api/v1/register").await;
    assert_eq!(status, StatusCode::OK, "{register}");
    let courier = register
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "delivery_courier")
        .unwrap();
    assert_eq!(courier["status"], "ready", "{courier}");
    assert_eq!(courier["role"], "processor");

    // A withdrawal for a recipient the consent does not name is refused with the field.
    let (status, consent) = app
        .post(
            &format!("/api/v1/subjects/{buyer}/consents"),
            json!({
                "purposes": ["partner_offers"], "recipients": ["insurance_partner"], "channel": "site",
                "evidence": { "ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "form_id": "partners" },
                "document": { "id": "consent-partners", "version": "1", "sha256": sha("текст согласия") }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{consent}");
    let id = consent["id"].as_str().unwrap();
    let withdraw = format!("/api/v1/subjects/{buyer}/consents/{id}/withdraw-recipients");
    let (status, problem) = app
        .post(
            &withdraw,
            json!({ "channel": "site", "recipients": ["delivery_courier"] }),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "recipient_not_in_consent",
        Some("recipients[0]"),
    );
    let (status, body) = app
        .post(
            &withdraw,
            json!({ "channel": "site", "recipients": ["insurance_partner"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["recipients"], json!(["insurance_partner"]));
    app.audit_intact().await;
}
