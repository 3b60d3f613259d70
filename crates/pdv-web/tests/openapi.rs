//! The OpenAPI document: the committed `openapi.json` matches the code, every served endpoint is
//! documented (and nothing else is), the document keeps the promises integrators rely on, and the
//! server serves it together with a Swagger UI that needs nothing from the internet.
//!
//! `PDV_UPDATE_OPENAPI=1 cargo test -p pdv-web --test openapi` rewrites the committed copy.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::{FixedClock, Vault};
use pdv_store::Store;
use pdv_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::Value;

/// How a developer brings the committed copy up to date.
const REGENERATE: &str = "`cargo run -p pdv-cli -- openapi > openapi.json` at the repository \
     root (or `PDV_UPDATE_OPENAPI=1 cargo test -p pdv-web --test openapi`)";

/// Endpoints that answer without authentication; every other one requires a bearer token.
/// Whether the router serves `method path` without authentication.
fn is_public(method: &str, path: &str) -> bool {
    pdv_web::access_rules().iter().any(|r| {
        r.method.as_str().eq_ignore_ascii_case(method)
            && r.path == path
            && r.access == Some(pdv_web::auth::Access::Public)
    })
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}

fn document() -> Value {
    serde_json::from_str(&pdv_web::openapi::to_json()).expect("the document is JSON")
}

/// Every operation of the document as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

#[test]
fn committed_document_is_current() {
    let generated = pdv_web::openapi::to_json();
    let path = committed_path();
    if std::env::var("PDV_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()))
            + 1;
        panic!(
            "openapi.json at the repository root does not match the API described in the code \
             (first difference on line {line}). Regenerate it with {REGENERATE}, review the diff \
             and commit it."
        );
    }
}

#[test]
fn document_is_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
}

/// The router is built from the same endpoint table this test reads, so a new endpoint cannot be
/// served without a description, and a description cannot outlive its endpoint.
#[test]
fn every_endpoint_is_documented_and_every_documented_one_is_served() {
    let served: Vec<(String, String)> = pdv_web::endpoints()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_lowercase(), path.to_string()))
        .collect();
    let served_set: BTreeSet<_> = served.iter().cloned().collect();
    assert_eq!(
        served.len(),
        served_set.len(),
        "an endpoint is listed twice"
    );
    let documented: BTreeSet<_> = operations(&document())
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let undocumented: Vec<_> = served_set.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "endpoints without an OpenAPI description: {undocumented:?}; annotate the handler with \
         #[utoipa::path] and add it to paths(...) in crates/pdv-web/src/openapi.rs, then run {REGENERATE}"
    );
    let unserved: Vec<_> = documented.difference(&served_set).collect();
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
}

#[test]
fn every_endpoint_but_the_public_ones_requires_a_bearer_token() {
    let doc = document();
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    assert!(
        doc.get("security").is_none(),
        "security is set per operation"
    );
    for (method, path, op) in operations(&doc) {
        let security = op.get("security").cloned().unwrap_or(Value::Null);
        if is_public(&method, &path) {
            assert!(security.is_null(), "{method} {path} is public: {security}");
        } else {
            assert_eq!(
                security,
                serde_json::json!([{ "bearer": [] }]),
                "{method} {path} must require the bearer token"
            );
        }
    }
}

#[test]
fn operations_are_described_in_russian_and_tagged() {
    let doc = document();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["name"].as_str().expect("tag name"))
        .collect();
    let expected: BTreeSet<&str> = [
        "access",
        "subjects",
        "records",
        "consents",
        "contracts",
        "blocks",
        "audit",
        "policy",
        "service",
        "requests",
        "outbox",
        "retention",
        "transfers",
        "rkn",
        "incidents",
    ]
    .into();
    assert_eq!(tags, expected);
    let cyrillic = |s: &str| {
        s.chars()
            .any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
    };
    for (method, path, op) in operations(&doc) {
        let summary = op["summary"].as_str().unwrap_or("");
        let description = op["description"].as_str().unwrap_or("");
        assert!(cyrillic(summary), "{method} {path}: summary in Russian");
        assert!(
            cyrillic(description),
            "{method} {path}: description in Russian"
        );
        let op_tags = op["tags"].as_array().expect("operation tags");
        assert!(
            !op_tags.is_empty()
                && op_tags
                    .iter()
                    .all(|t| tags.contains(t.as_str().unwrap_or(""))),
            "{method} {path}: tags {op_tags:?}"
        );
        // Every `{name}` in the path is a documented path parameter.
        let params: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(params, in_path, "{method} {path}: path parameters");
    }
}

#[test]
fn errors_are_problem_json() {
    let doc = document();
    let components = doc["components"]["responses"]
        .as_object()
        .expect("responses");
    for (name, response) in components {
        let content = response["content"].as_object().expect("content");
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["application/problem+json"],
            "{name}"
        );
        assert_eq!(
            content["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/ProblemDetails",
            "{name}"
        );
    }
    let problem = &doc["components"]["schemas"]["ProblemDetails"];
    for field in [
        "type", "title", "status", "code", "detail", "field", "errors",
    ] {
        assert!(
            problem["properties"].get(field).is_some(),
            "ProblemDetails.{field}"
        );
    }
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            let code: u16 = status.parse().expect("numeric status");
            if code >= 400 {
                let reference = response["$ref"].as_str().unwrap_or("");
                let name = reference
                    .strip_prefix("#/components/responses/")
                    .unwrap_or_else(|| {
                        panic!("{method} {path} {status}: not a shared problem response")
                    });
                assert!(
                    components.contains_key(name),
                    "{method} {path} {status}: {name}"
                );
            }
        }
    }
}

#[test]
fn creates_document_idempotency() {
    let doc = document();
    let mut creates = 0;
    for (method, path, op) in operations(&doc) {
        let Some(created) = op["responses"].get("201") else {
            continue;
        };
        // Accounts and keys answer with a secret shown once; storing that answer for a replay
        // would keep the secret in the database, so they take no idempotency key (a repeated
        // account is refused by its login, and a stray key can be revoked).
        if op["tags"][0] == "access" {
            continue;
        }
        creates += 1;
        let has_key = op["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        });
        assert!(has_key, "{method} {path}: Idempotency-Key header");
        assert!(
            created["headers"].get("Idempotent-Replayed").is_some(),
            "{method} {path}: Idempotent-Replayed header"
        );
    }
    // subjects, records, consents, contracts, retention events, blocks, requests, consent
    // withdrawals for recipients, incidents
    assert_eq!(creates, 9);
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml");
    let source = std::fs::read_to_string(&path).unwrap();
    let policy = Policy::from_toml("lider.toml", &source).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new("2026-03-02T07:00:00Z".parse().unwrap()));
    let vault = Vault::open(store, Arc::new(policy), &MasterKey::generate(), clock)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pdv_web::serve(
        listener,
        Arc::new(vault),
        std::future::pending(),
    ));
    TestApp {
        base,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(content_type(&r).starts_with("application/json"));
    assert_eq!(r.text().await.unwrap(), pdv_web::openapi::to_json());
}

fn assert_no_remote_urls(what: &str, text: &str) {
    for scheme in ["http://", "https://", "//cdn", "//unpkg"] {
        assert!(
            !text.contains(scheme),
            "{what} refers to {scheme}…:\n{text}"
        );
    }
}

/// Values of `src="…"` and `href="…"` attributes in an HTML page.
fn asset_refs(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').expect("closed attribute");
            refs.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    refs
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_alone() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        content_type(&r).starts_with("text/html"),
        "{}",
        content_type(&r)
    );
    let page = r.url().clone();
    let html = r.text().await.unwrap();
    assert_no_remote_urls("the Swagger UI page", &html);
    let refs = asset_refs(&html);
    assert!(
        refs.iter().any(|r| r.contains("swagger-ui-bundle.js")),
        "{refs:?}"
    );
    for asset in &refs {
        let url = page.join(asset).unwrap();
        assert_eq!(url.origin(), page.origin(), "{asset} is not local");
        let r = app.client.get(url.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
    }
    // The initializer points the UI at our document and turns off the online validator.
    let init = app
        .client
        .get(page.join("swagger-initializer.js").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"/api/v1/openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert_no_remote_urls("swagger-initializer.js", &init);
}
