//! The ст. 22 notice over HTTP on both backends: read by staff, filed only by the responsible
//! person, current after filing; bad filings name their field; the gauge follows the status.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

on_every_backend!(the_notice_is_read_filed_and_current);

async fn the_notice_is_read_filed_and_current(backend: Backend) {
    let app = spawn_app(backend, "konekt.toml").await;
    let (status, notice) = app.get("/api/v1/rkn/notice").await;
    assert_eq!(status, StatusCode::OK, "{notice}");
    assert_eq!(notice["status"], "never_filed");
    assert_eq!(notice["hash"].as_str().unwrap().len(), 64);
    assert!(notice["text"].as_str().unwrap().contains("## 10.1."));
    assert!(notice["content"]["databases"].as_array().unwrap().len() >= 4);
    assert!(
        notice["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["item"] == "8")
    );
    assert!(notice["filed"].is_null());

    // The agent reads the notice but may not record a filing.
    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, _) = send(agent.get(app.url("/api/v1/rkn/notice"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        agent
            .post(app.url("/api/v1/rkn/notice/filed"))
            .json(&json!({ "date": "2026-01-10" })),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "role_not_allowed",
        None,
    );
    let monitoring = client_with(&monitoring_key(&app.vault).await);
    let (status, _) = send(monitoring.get(app.url("/api/v1/rkn/notice"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad filings name the field.
    let (status, body) = app
        .post("/api/v1/rkn/notice/filed", json!({ "date": "10.01.2026" }))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
        Some("date"),
    );
    let (status, body) = app
        .post(
            "/api/v1/rkn/notice/filed",
            json!({ "date": "2026-01-10", "numbr": "1" }),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Some("numbr"),
    );

    let (status, filed) = app
        .post(
            "/api/v1/rkn/notice/filed",
            json!({ "date": "2026-01-10", "number": "54-26-000777" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["status"], "current");
    assert_eq!(filed["filed"]["number"], "54-26-000777");
    assert_eq!(filed["filed"]["hash"], notice["hash"]);
    let (_, again) = app.get("/api/v1/rkn/notice").await;
    assert_eq!(again["status"], "current");
    assert_eq!(again["changed"], json!([]));
    assert!(!app.vault.gauges().await.unwrap().rkn_notice_stale);
    app.audit_intact().await;
}
