//! Retention over HTTP on both backends: the plan in pages, for one subject or only what is due;
//! a run ordered by the responsible person; its act as JSON and as the printable document; and
//! the clear errors bad parameters get.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

on_every_backend!(
    the_plan_pages_the_run_destroys_and_the_act_prints,
    bad_plan_parameters_get_clear_errors
);

async fn the_plan_pages_the_run_destroys_and_the_act_prints(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    // Twelve demo subjects: the first of each kind had its order fulfilled or its account
    // deleted four years ago, so some periods have run out.
    app.vault.load_demo(12).await.unwrap();

    // The whole plan, five subjects a page, each page continuing after the last.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let path = match &after {
            None => "/api/v1/retention/plan?limit=5".to_string(),
            Some(a) => format!("/api/v1/retention/plan?limit=5&after={a}"),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let subjects = page["subjects"].as_array().unwrap();
        assert!(subjects.len() <= 5);
        seen.extend(
            subjects
                .iter()
                .map(|s| s["subject"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 12, "every subject once: {seen:?}");
    assert_eq!(unique.len(), 12);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "in id order");

    // Only what is due today: every item listed has expired.
    let (status, due) = app.get("/api/v1/retention/plan?due=true").await;
    assert_eq!(status, StatusCode::OK, "{due}");
    let today = due["at"].as_str().unwrap().to_string();
    let due_subjects = due["subjects"].as_array().unwrap();
    assert!(!due_subjects.is_empty(), "the demo has due records: {due}");
    for s in due_subjects {
        for i in s["items"].as_array().unwrap() {
            assert!(i["expires"].as_str().unwrap() <= today.as_str(), "{i}");
        }
    }
    let doomed = due_subjects[0]["subject"].as_str().unwrap().to_string();

    // One subject's plan.
    let (status, one) = app
        .get(&format!("/api/v1/retention/plan?subject={doomed}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["subjects"].as_array().unwrap().len(), 1);
    assert_eq!(one["subjects"][0]["subject"], doomed.as_str());
    assert!(one.get("next").is_none());

    // The run, as the responsible person; the agent may not order it.
    let agent = client_with(&login(&app.vault, "agent").await);
    let (status, body) = send(agent.post(app.url("/api/v1/retention/run"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, run) = app.post("/api/v1/retention/run", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert!(run["records_destroyed"].as_u64().unwrap() > 0, "{run}");
    let number = run["acts"][0].as_str().unwrap().to_string();

    // Nothing is due any more, and a rerun writes no act.
    let (_, after_run) = app.get("/api/v1/retention/plan?due=true").await;
    assert_eq!(after_run["subjects"], json!([]), "{after_run}");
    let (_, rerun) = app.post("/api/v1/retention/run", json!({})).await;
    assert_eq!(rerun["acts"], json!([]), "{rerun}");

    // What was kept depersonalised, as statistics only.
    let (status, kept) = app.get("/api/v1/retention/retained").await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(
        kept["records"].as_u64().unwrap(),
        run["records_depersonalised"].as_u64().unwrap(),
        "{kept} {run}"
    );

    // The act: listed, as JSON, and as the document to print.
    let (status, acts) = app.get("/api/v1/acts").await;
    assert_eq!(status, StatusCode::OK, "{acts}");
    assert_eq!(acts[0]["number"], number.as_str());
    assert_eq!(acts[0]["status"], "closed");
    let (status, act) = app.get(&format!("/api/v1/acts/{number}")).await;
    assert_eq!(status, StatusCode::OK, "{act}");
    assert!(!act["entries"].as_array().unwrap().is_empty());
    let html = app
        .client
        .get(app.url(&format!("/api/v1/acts/{number}?format=html")))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = html.text().await.unwrap();
    assert!(text.contains(&format!(
        "Акт об уничтожении персональных данных № {number}"
    )));

    // A subject destroyed whole answers 410 for its plan.
    let gone = seen.last().unwrap();
    app.vault
        .shred_subject(
            &pdv_service::Actor::new("test"),
            pdv_core::SubjectId::parse(gone).unwrap(),
            "требование субъекта",
        )
        .await
        .unwrap();
    let (status, body) = app
        .get(&format!("/api/v1/retention/plan?subject={gone}"))
        .await;
    assert_problem(status, &body, StatusCode::GONE, "subject_destroyed", None);
    let (_, all) = app.get("/api/v1/retention/plan").await;
    assert_eq!(all["subjects"].as_array().unwrap().len(), 11, "{all}");
    app.audit_intact().await;
}

async fn bad_plan_parameters_get_clear_errors(backend: Backend) {
    let app = spawn_app(backend, "lider.toml").await;
    for (query, code, field) in [
        ("at=завтра", "invalid_date", Some("at")),
        ("subject=123", "invalid_subject", Some("subject")),
        ("after=abc", "invalid_subject", Some("after")),
        ("due=maybe", "invalid_bool", Some("due")),
        ("limit=0", "invalid_limit", Some("limit")),
        ("limit=5001", "invalid_limit", Some("limit")),
    ] {
        let (status, body) = app.get(&format!("/api/v1/retention/plan?{query}")).await;
        assert_problem(status, &body, StatusCode::BAD_REQUEST, code, field);
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{query}: {body}"
        );
    }
    let (status, body) = app.get("/api/v1/retention/plan?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .get("/api/v1/retention/plan?subject=01a1fd83-3f04-7113-9ae5-83ec7a5dfe22")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
