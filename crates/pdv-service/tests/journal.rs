//! The request journal through the service: receipt with the legal deadline, the steps and
//! their refusals, the list filters, and the audit trail of every entry.

use std::sync::Arc;

use pdv_core::Policy;
use pdv_core::request::{IdentityCheck, RequestNumber, Signature};
use pdv_crypto::MasterKey;
use pdv_service::{
    Actor, FixedClock, NewRequest, RequestFilter, RequestStep, Requester, ServiceError, Vault,
};
use pdv_store_sqlite::SqliteStore;

struct Fixture {
    vault: Vault,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

/// Monday 12 January 2026, 10:00 in Moscow: the first working week after the New Year holidays.
const MONDAY: &str = "2026-01-12T10:00:00+03:00";

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("j.db").display()))
        .await
        .unwrap();
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml"),
    )
    .unwrap();
    let policy = Policy::from_toml("lider.toml", &source).unwrap();
    let clock = Arc::new(FixedClock::new(MONDAY.parse().unwrap()));
    let vault = Vault::open(
        Arc::new(store),
        Arc::new(policy),
        &MasterKey::generate(),
        clock.clone(),
    )
    .await
    .unwrap();
    Fixture {
        vault,
        clock,
        _dir: dir,
    }
}

fn dpo() -> Actor {
    Actor::new("user:dpo")
}

fn request(kind: &str) -> NewRequest {
    NewRequest {
        kind: kind.into(),
        channel: "post".into(),
        received_at: None,
        subject: None,
        requester: Requester {
            name: "Иванова Анна Петровна".into(),
            contact: Some("г. Тверь, ул. Советская, д. 1".into()),
            representative: None,
        },
        identity: IdentityCheck::default(),
        text: "Прошу сообщить, какие мои данные вы обрабатываете".into(),
        purposes: vec![],
        categories: vec![],
    }
}

fn step(step: &str, text: Option<&str>) -> RequestStep {
    RequestStep {
        step: step.into(),
        text: text.map(str::to_string),
        identity: None,
    }
}

fn number(s: &str) -> RequestNumber {
    s.parse().unwrap()
}

fn code(e: ServiceError) -> &'static str {
    e.code()
}

#[tokio::test]
async fn an_access_request_is_due_in_ten_working_days_and_moves_through_its_steps() {
    let f = fixture().await;
    let v = f
        .vault
        .receive_request(&dpo(), request("access"))
        .await
        .unwrap();
    assert_eq!(v.number, "2026-000001");
    assert_eq!(v.rule, "D1");
    // Day 0 is Monday 12 January; ten working days later is Monday 26 January.
    assert_eq!(v.due, "2026-01-26");
    assert!(!v.provisional, "2026 is covered by its decree");
    assert_eq!(v.status, "received");
    assert_eq!(
        v.missing.iter().map(|m| m.code).collect::<Vec<_>>(),
        vec!["document", "relation", "signature"],
        "an incomplete request is journaled, and the answer asks for what is missing"
    );
    assert_eq!(v.requester.as_ref().unwrap().name, "Иванова Анна Петровна");

    let n = number(&v.number);
    let err = f
        .vault
        .request_step(&dpo(), n, step("start", None))
        .await
        .unwrap_err();
    assert_eq!(code(err), "step_out_of_order");
    let checked = f
        .vault
        .request_step(
            &dpo(),
            n,
            RequestStep {
                step: "check_identity".into(),
                text: None,
                identity: Some(IdentityCheck {
                    document: Some("паспорт 2815 123456, выдан 01.02.2016".into()),
                    relation: Some("заказ № 5521".into()),
                    signature: Some(Signature::Handwritten),
                    authority_document: None,
                }),
            },
        )
        .await
        .unwrap();
    assert_eq!(checked.status, "identity_checked");
    f.vault
        .request_step(&dpo(), n, step("start", None))
        .await
        .unwrap();
    let err = f
        .vault
        .request_step(&dpo(), n, step("extend", Some("  ")))
        .await
        .unwrap_err();
    assert_eq!(code(err), "required", "an extension needs its reason");
    let extended = f
        .vault
        .request_step(
            &dpo(),
            n,
            step("extend", Some("сведения запрошены у службы доставки")),
        )
        .await
        .unwrap();
    // Five more working days from 26 January: 27, 28, 29, 30 January and 2 February.
    assert_eq!(extended.due, "2026-02-02");
    assert_eq!(extended.status, "extended");
    let err = f
        .vault
        .request_step(&dpo(), n, step("extend", Some("ещё раз")))
        .await
        .unwrap_err();
    assert_eq!(code(err), "already_extended");
    let answered = f
        .vault
        .request_step(&dpo(), n, step("answer", Some("ответ направлен почтой")))
        .await
        .unwrap();
    assert_eq!(answered.status, "answered");
    assert!(
        answered.missing.is_empty(),
        "a closed request asks for nothing"
    );
    let err = f
        .vault
        .request_step(&dpo(), n, step("refuse", Some("поздно")))
        .await
        .unwrap_err();
    assert_eq!(code(err), "request_closed");
    let noted = f
        .vault
        .request_step(
            &dpo(),
            n,
            step("note", Some("исправлена опечатка в адресе")),
        )
        .await
        .unwrap();
    assert_eq!(noted.status, "answered");
    let steps: Vec<&str> = noted.entries.iter().map(|e| e.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "receive",
            "check_identity",
            "start",
            "extend",
            "answer",
            "note"
        ]
    );
    assert_eq!(
        noted.entries[3].text.as_deref(),
        Some("сведения запрошены у службы доставки"),
        "entry texts come back decrypted"
    );

    let report = f.vault.verify_audit().await.unwrap();
    assert!(report.intact, "{report:?}");
}

#[tokio::test]
async fn marketing_cannot_wait_and_bad_requests_are_refused_by_field() {
    let f = fixture().await;
    let v = f
        .vault
        .receive_request(&dpo(), request("stop_marketing"))
        .await
        .unwrap();
    assert_eq!(v.rule, "D12");
    let err = f
        .vault
        .request_step(
            &dpo(),
            number(&v.number),
            step("extend", Some("нет времени")),
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "not_extendable");

    let mut bad = request("gossip");
    bad.channel = "pigeon".into();
    bad.requester.name = " ".into();
    match f.vault.receive_request(&dpo(), bad).await {
        Err(ServiceError::Invalid(problems)) => {
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            assert_eq!(fields, ["kind", "channel", "requester.name"]);
        }
        other => panic!("{other:?}"),
    }
    let mut future = request("access");
    future.received_at = Some("2026-01-13T10:00:00+03:00".into());
    assert_eq!(
        code(f.vault.receive_request(&dpo(), future).await.unwrap_err()),
        "in_the_future"
    );
    let mut unknown = request("access");
    unknown.subject = Some(pdv_core::SubjectId(uuid::Uuid::now_v7()));
    assert_eq!(
        code(f.vault.receive_request(&dpo(), unknown).await.unwrap_err()),
        "unknown_subject"
    );
    assert_eq!(
        code(
            f.vault
                .request_step(&dpo(), number("2026-000099"), step("start", None))
                .await
                .unwrap_err()
        ),
        "not_found"
    );
}

#[tokio::test]
async fn the_list_shows_what_is_open_due_and_overdue() {
    let f = fixture().await;
    let mut late = request("access");
    // Received on Friday 9 January, still a holiday: counting starts on Monday 12 January, so
    // the answer is due on 23 January.
    late.received_at = Some("2026-01-09T09:00:00+03:00".into());
    let late = f.vault.receive_request(&dpo(), late).await.unwrap();
    assert_eq!(late.due, "2026-01-23");
    let rect = f
        .vault
        .receive_request(&dpo(), request("rectification"))
        .await
        .unwrap();
    assert_eq!(
        rect.due, "2026-01-21",
        "seven working days after 12 January"
    );
    let done = f
        .vault
        .receive_request(&dpo(), request("clarification"))
        .await
        .unwrap();
    f.vault
        .request_step(
            &dpo(),
            number(&done.number),
            step("answer", Some("разъяснено")),
        )
        .await
        .unwrap();

    let list = |status: Option<&str>, due_by: Option<&str>| {
        let filter = RequestFilter {
            kind: None,
            status: status.map(str::to_string),
            due_by: due_by.map(str::to_string),
        };
        let vault = &f.vault;
        async move {
            vault
                .requests(&dpo(), filter)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.number)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(None, None).await.len(), 3);
    assert_eq!(
        list(Some("open"), None).await,
        ["2026-000001", "2026-000002"]
    );
    assert_eq!(list(Some("answered"), None).await, ["2026-000003"]);
    assert_eq!(
        list(Some("open"), Some("2026-01-21")).await,
        ["2026-000002"]
    );
    assert!(list(Some("overdue"), None).await.is_empty());

    // Thursday 22 January: the rectification is a day late, the access request is not yet.
    f.clock.set("2026-01-22T12:00:00+03:00".parse().unwrap());
    assert_eq!(list(Some("overdue"), None).await, ["2026-000002"]);
    let err = f
        .vault
        .requests(
            &dpo(),
            RequestFilter {
                status: Some("lost".into()),
                ..RequestFilter::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "unknown_status");
}

#[tokio::test]
async fn an_entry_edited_deleted_or_forged_in_the_database_breaks_the_audit_check() {
    let f = fixture().await;
    let v = f
        .vault
        .receive_request(&dpo(), request("access"))
        .await
        .unwrap();
    f.vault
        .request_step(
            &dpo(),
            number(&v.number),
            step("note", Some("звонок заявителю")),
        )
        .await
        .unwrap();
    assert!(f.vault.verify_audit().await.unwrap().intact);
    // An intruder with access to the database file, not through pdvault.
    let db = f._dir.path().join("j.db");
    let tamper = |sql: &'static str| {
        let db = db.clone();
        async move {
            let store = SqliteStore::open(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
    };

    tamper("UPDATE request_entries SET status = 'answered' WHERE entry_no = 2").await;
    let report = f.vault.verify_audit().await.unwrap();
    assert!(!report.intact);
    assert!(
        report.problem.as_deref().unwrap().contains("изменена"),
        "{report:?}"
    );
    tamper("UPDATE request_entries SET status = 'received' WHERE entry_no = 2").await;
    assert!(
        f.vault.verify_audit().await.unwrap().intact,
        "restored as it was"
    );

    tamper("UPDATE requests SET due = '2026-12-31'").await;
    let report = f.vault.verify_audit().await.unwrap();
    assert!(
        report.problem.as_deref().unwrap().contains("изменено"),
        "{report:?}"
    );
    tamper("UPDATE requests SET due = '2026-01-26'").await;
    assert!(f.vault.verify_audit().await.unwrap().intact);

    tamper("DELETE FROM request_entries WHERE entry_no = 2").await;
    let report = f.vault.verify_audit().await.unwrap();
    assert!(
        report.problem.as_deref().unwrap().contains("удалена"),
        "{report:?}"
    );
}

#[tokio::test]
async fn open_deadlines_move_when_a_decree_changes_the_calendar() {
    let f = fixture().await;
    let open = f
        .vault
        .receive_request(&dpo(), request("access"))
        .await
        .unwrap();
    assert_eq!(open.due, "2026-01-26");
    let closed = f
        .vault
        .receive_request(&dpo(), request("clarification"))
        .await
        .unwrap();
    f.vault
        .request_step(
            &dpo(),
            number(&closed.number),
            step("answer", Some("разъяснено")),
        )
        .await
        .unwrap();
    assert!(
        f.vault
            .recompute_deadlines(&dpo())
            .await
            .unwrap()
            .is_empty(),
        "the same calendar moves nothing"
    );

    // A (made-up) corrected decree makes 20 January a day off as well.
    let mut calendar = pdv_core::calendar::WorkCalendar::embedded();
    calendar
        .load_year(
            "2026.toml",
            r#"
year = 2026
decree = "исправленное постановление (тест)"
holidays = ["2026-01-01..2026-01-09", "2026-01-20", 2026-02-23, 2026-03-09, 2026-05-01, 2026-05-11, 2026-06-12, 2026-11-04, 2026-12-31]
working_weekends = []
"#,
        )
        .unwrap();
    let vault = f.vault.clone().with_calendar(calendar);
    let changed = vault.recompute_deadlines(&dpo()).await.unwrap();
    assert_eq!(
        changed,
        vec![(
            "2026-000001".to_string(),
            "2026-01-26".to_string(),
            "2026-01-27".to_string()
        )],
        "only the open request moves, by the new day off"
    );
    let view = vault
        .request_view(&dpo(), number(&open.number))
        .await
        .unwrap();
    assert_eq!(view.due, "2026-01-27");
    assert_eq!(view.entries.last().unwrap().step, "recompute_deadline");
    assert!(
        vault.recompute_deadlines(&dpo()).await.unwrap().is_empty(),
        "idempotent"
    );
    assert!(vault.verify_audit().await.unwrap().intact);
}
