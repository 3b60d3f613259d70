//! The register of incidents through the service: registration with its two timers, the flow to
//! the results notice with late and timely notices, the refusals, the urgency order of what is
//! due, monitoring, encryption of the texts and the audit trail of every step.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use pdv_core::Policy;
use pdv_core::incident::{Contact, IncidentNumber, IncidentReport, NoticeKind};
use pdv_crypto::MasterKey;
use pdv_service::{Actor, FixedClock, IncidentFilter, IncidentStep, ServiceError, Vault};
use pdv_store_sqlite::SqliteStore;

struct Fixture {
    vault: Vault,
    clock: Arc<FixedClock>,
    dir: tempfile::TempDir,
}

/// Monday 2 March 2026, 10:00 in Moscow.
const NOW: &str = "2026-03-02T07:00:00Z";

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("i.db").display()))
        .await
        .unwrap();
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml"),
    )
    .unwrap();
    let policy = Policy::from_toml("lider.toml", &source).unwrap();
    let clock = Arc::new(FixedClock::new(NOW.parse().unwrap()));
    let vault = Vault::open(
        Arc::new(store),
        Arc::new(policy),
        &MasterKey::generate(),
        clock.clone(),
    )
    .await
    .unwrap();
    Fixture { vault, clock, dir }
}

fn dpo() -> Actor {
    Actor::new("dpo")
}

fn at(offset_hours: i64) -> Timestamp {
    NOW.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(offset_hours)
}

const CAUSES: &str = "Ошибка настройки прав доступа к хранилищу выгрузок";

fn report(detected_at: &str) -> IncidentReport {
    IncidentReport {
        detected_at: detected_at.into(),
        how: "Покупатель сообщил, что выгрузка заказов открывается по ссылке без входа".into(),
        categories: vec!["contacts".into(), "addresses".into()],
        subjects: Some(1_250),
        identifiers: Some(2_500),
        causes: CAUSES.into(),
        harm: "Адреса и телефоны покупателей могли стать известны посторонним".into(),
        measures: "Ссылка отозвана, доступ закрыт, журнал обращений к хранилищу сохранён".into(),
        contact: Some(Contact {
            name: "Сидоров Семён Семёнович".into(),
            position: Some("администратор информационной безопасности".into()),
            phone: Some("+7 495 000-00-01".into()),
            email: None,
        }),
    }
}

fn step(kind: &str) -> IncidentStep {
    IncidentStep {
        step: kind.into(),
        ..IncidentStep::default()
    }
}

fn sent(kind: &str, when: Option<&str>) -> IncidentStep {
    IncidentStep {
        sent_at: when.map(str::to_string),
        how: Some("портал Роскомнадзора".into()),
        reference: Some("ИНЦ-0042".into()),
        ..step(kind)
    }
}

fn n(s: &str) -> IncidentNumber {
    s.parse().unwrap()
}

fn conflict_code(e: ServiceError) -> &'static str {
    match e {
        ServiceError::Conflict { code, .. } => code,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn invalid(e: ServiceError) -> Vec<(String, &'static str)> {
    match e {
        ServiceError::Invalid(ps) => ps.into_iter().map(|p| (p.field, p.code)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn an_incident_is_registered_notified_late_and_on_time_and_closed() {
    let f = fixture().await;
    let v = &f.vault;
    // Detected two hours ago, registered now.
    let view = v
        .register_incident(&dpo(), report("2026-03-02 08:00"))
        .await
        .unwrap();
    assert_eq!(view.number, "2026-000001");
    assert_eq!(view.status, "registered");
    assert_eq!(view.detected_at, "2026-03-02T05:00:00Z");
    assert_eq!(view.timers[0].due, "2026-03-03T05:00:00Z", "24 hours");
    assert_eq!(view.timers[0].due_local, "03.03.2026 08:00");
    assert_eq!(view.timers[1].due, "2026-03-05T05:00:00Z", "72 hours");
    assert_eq!(view.timers[0].state, "pending");
    assert_eq!(view.timers[0].minutes_left, Some(22 * 60));
    assert_eq!(view.causes.as_deref(), Some(CAUSES));
    assert_eq!(v.gauges().await.unwrap().incidents_open, 1);
    assert_eq!(v.gauges().await.unwrap().incidents_overdue, 0);

    // Exactly 24 hours after detection: still in time.
    f.clock.set(at(22));
    let due = v.incidents_due(&dpo(), None).await.unwrap();
    assert_eq!(due[0].next.as_ref().unwrap().state, "due_soon");
    assert!(!due[0].overdue);
    assert_eq!(v.gauges().await.unwrap().incidents_overdue, 0);
    // A second later it is overdue, unmistakably.
    f.clock.set(at(22) + SignedDuration::from_secs(1));
    let due = v.incidents_due(&dpo(), None).await.unwrap();
    let next = due[0].next.as_ref().unwrap();
    assert_eq!(next.timer, "first_notice");
    assert_eq!(next.state, "overdue");
    assert_eq!(next.minutes_late, Some(1));
    assert_eq!(next.text, "ПРОСРОЧЕНО на 1 мин");
    assert!(due[0].overdue);
    assert_eq!(v.gauges().await.unwrap().incidents_overdue, 1);
    let overdue = v
        .incidents(
            &dpo(),
            IncidentFilter {
                status: Some("overdue".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(overdue.len(), 1);

    // The first notice went out five hours late; the results are recorded and sent in time.
    f.clock.set(at(28));
    let view = v
        .incident_step(
            &dpo(),
            n("2026-000001"),
            sent("first_notice_sent", Some("2026-03-03 13:00")),
        )
        .await
        .unwrap();
    assert_eq!(view.status, "first_notice_sent");
    assert_eq!(view.timers[0].state, "done");
    assert_eq!(view.timers[0].minutes_late, Some(5 * 60));
    assert_eq!(
        view.timers[0].text,
        "направлено 03.03.2026 13:00, с опозданием на 5 ч"
    );
    assert_eq!(
        view.first_notice.as_ref().unwrap().reference.as_deref(),
        Some("ИНЦ-0042")
    );
    assert_eq!(view.next.as_ref().unwrap().timer, "results");
    assert_eq!(v.gauges().await.unwrap().incidents_overdue, 0);

    let draft = v
        .incident_notice(&dpo(), n("2026-000001"), NoticeKind::Results)
        .await
        .unwrap();
    assert_eq!(draft.missing, ["results", "persons"]);
    v.incident_step(
        &dpo(),
        n("2026-000001"),
        IncidentStep {
            results: Some("Права доступа открыты при переносе хранилища 27.02".into()),
            persons: Some("Петров П. П., подрядчик".into()),
            ..step("results")
        },
    )
    .await
    .unwrap();
    let draft = v
        .incident_notice(&dpo(), n("2026-000001"), NoticeKind::Results)
        .await
        .unwrap();
    assert!(draft.missing.is_empty(), "{:?}", draft.missing);
    assert!(draft.text.contains("Петров П. П., подрядчик"));
    assert!(draft.text.contains("номер ИНЦ-0042"));
    f.clock.set(at(70));
    let view = v
        .incident_step(&dpo(), n("2026-000001"), sent("results_sent", None))
        .await
        .unwrap();
    assert_eq!(view.status, "results_sent");
    assert_eq!(view.timers[1].text, "направлено 05.03.2026 08:00, в срок");
    assert!(view.next.is_none());
    assert!(v.incidents_due(&dpo(), None).await.unwrap().is_empty());
    let view = v
        .incident_step(&dpo(), n("2026-000001"), step("close"))
        .await
        .unwrap();
    assert_eq!(view.status, "closed");
    assert_eq!(view.entries.len(), 5);
    assert_eq!(v.gauges().await.unwrap().incidents_open, 0);

    // Every step is audited, with digests and times but never the texts.
    let events = v.store().audit_events(1, 1000).await.unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e.record.action.as_str())
        .filter(|a| a.starts_with("incident."))
        .collect();
    assert_eq!(
        actions,
        [
            "incident.registered",
            "incident.first_notice_sent",
            "incident.notice_drafted",
            "incident.results",
            "incident.notice_drafted",
            "incident.results_sent",
            "incident.close",
        ]
    );
    for e in &events {
        for secret in [CAUSES, "Сидоров", "Петров", "подрядчик", "выгрузка заказов"]
        {
            assert!(
                !e.record.details.contains(secret),
                "{} carries «{secret}»: {}",
                e.record.action,
                e.record.details
            );
        }
    }
    let late = events
        .iter()
        .find(|e| e.record.action == "incident.first_notice_sent")
        .unwrap();
    assert!(
        late.record.details.contains("\"late\":true"),
        "{}",
        late.record.details
    );
    assert!(v.verify_audit().await.unwrap().intact);

    // The texts are ciphertext in the database.
    let raw = std::fs::read(f.dir.path().join("i.db")).unwrap();
    let wal = std::fs::read(f.dir.path().join("i.db-wal")).unwrap_or_default();
    for bytes in [&raw, &wal] {
        for secret in [CAUSES, "Сидоров Семён", "Петров П. П."] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "«{secret}» stored in clear"
            );
        }
    }
}

#[tokio::test]
async fn steps_out_of_order_and_bad_input_are_refused_with_their_codes() {
    let f = fixture().await;
    let v = &f.vault;
    v.register_incident(&dpo(), report("2026-03-02T09:00:00+03:00"))
        .await
        .unwrap();
    let one = n("2026-000001");
    let err = v
        .incident_step(&dpo(), one, sent("results_sent", None))
        .await
        .unwrap_err();
    assert_eq!(conflict_code(err), "first_notice_not_sent");
    let err = v
        .incident_step(&dpo(), one, step("close"))
        .await
        .unwrap_err();
    assert_eq!(conflict_code(err), "results_not_sent");
    let err = v.incident_step(&dpo(), one, step("fly")).await.unwrap_err();
    assert_eq!(invalid(err), [("step".to_string(), "unknown_step")]);
    let err = v
        .incident_step(
            &dpo(),
            one,
            IncidentStep {
                reason: Some("не то".into()),
                results: Some("r".into()),
                ..step("first_notice_sent")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        invalid(err),
        [
            ("results".to_string(), "not_for_this_step"),
            ("reason".to_string(), "not_for_this_step"),
            ("how".to_string(), "required"),
        ]
    );
    for (when, code) in [
        ("2026-03-02 11:00", "in_the_future"),
        ("позавчера", "invalid_date"),
        ("2026-03-02 08:59", "sent_before_detection"),
    ] {
        let err = v
            .incident_step(&dpo(), one, sent("first_notice_sent", Some(when)))
            .await
            .unwrap_err();
        assert_eq!(invalid(err), [("sent_at".to_string(), code)], "{when}");
    }
    let err = v
        .incident_step(&dpo(), one, step("results"))
        .await
        .unwrap_err();
    assert_eq!(invalid(err), [("results".to_string(), "required")]);
    let err = v
        .incident_step(&dpo(), one, step("dismiss"))
        .await
        .unwrap_err();
    assert_eq!(invalid(err), [("reason".to_string(), "required")]);
    v.incident_step(&dpo(), one, sent("first_notice_sent", None))
        .await
        .unwrap();
    let err = v
        .incident_step(
            &dpo(),
            one,
            IncidentStep {
                reason: Some("ложная тревога".into()),
                ..step("dismiss")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(conflict_code(err), "already_notified");
    let err = v
        .incident_step(&dpo(), one, sent("results_sent", None))
        .await
        .unwrap_err();
    assert_eq!(conflict_code(err), "no_results");
    let err = v
        .incident_step(&dpo(), n("2026-000009"), step("close"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound { .. }), "{err:?}");

    // Registration names every bad field at once.
    let err = v
        .register_incident(
            &dpo(),
            IncidentReport {
                detected_at: "2026-03-03 10:00".into(),
                categories: vec!["contacts".into(), "horoscope".into()],
                subjects: Some(-3),
                ..report("")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        invalid(err),
        [
            ("detected_at".to_string(), "in_the_future"),
            ("categories[1]".to_string(), "unknown_category"),
            ("subjects".to_string(), "negative_count"),
        ]
    );
    // Nothing of the refused registration was stored.
    assert_eq!(
        v.incidents(&dpo(), IncidentFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let err = v
        .incidents(
            &dpo(),
            IncidentFilter {
                status: Some("lost".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(invalid(err), [("status".to_string(), "unknown_status")]);
    let err = v.incidents_due(&dpo(), Some("завтра")).await.unwrap_err();
    assert_eq!(invalid(err), [("at".to_string(), "invalid_date")]);
}

#[tokio::test]
async fn what_is_due_comes_most_urgent_first_and_dismissed_incidents_drop_out() {
    let f = fixture().await;
    let v = &f.vault;
    // A: detected 30 hours ago, first notice overdue. B: detected an hour ago. C: 50 hours ago,
    // first notice sent, results due in 22 hours. D: dismissed.
    for detected in [
        "2026-03-01 04:00",
        "2026-03-02 09:00",
        "2026-02-28 08:00",
        "2026-03-02 09:30",
    ] {
        v.register_incident(&dpo(), report(detected)).await.unwrap();
    }
    v.incident_step(
        &dpo(),
        n("2026-000003"),
        sent("first_notice_sent", Some("2026-02-28 20:00")),
    )
    .await
    .unwrap();
    v.incident_step(
        &dpo(),
        n("2026-000004"),
        IncidentStep {
            reason: Some("в выгрузке не было персональных данных".into()),
            ..step("dismiss")
        },
    )
    .await
    .unwrap();
    let due = v.incidents_due(&dpo(), None).await.unwrap();
    let order: Vec<(&str, &str, &str)> = due
        .iter()
        .map(|d| {
            let next = d.next.as_ref().unwrap();
            (d.number.as_str(), next.timer, next.state)
        })
        .collect();
    assert_eq!(
        order,
        [
            ("2026-000001", "first_notice", "overdue"),
            ("2026-000003", "results", "pending"),
            ("2026-000002", "first_notice", "pending"),
        ]
    );
    assert_eq!(due[0].next.as_ref().unwrap().text, "ПРОСРОЧЕНО на 6 ч");
    // Counted at another moment: in 20 hours B's notice is due soon.
    let later = v
        .incidents_due(&dpo(), Some("2026-03-03 05:00"))
        .await
        .unwrap();
    let b = later.iter().find(|d| d.number == "2026-000002").unwrap();
    assert_eq!(b.next.as_ref().unwrap().state, "due_soon");
    let dismissed = v.incident(&dpo(), n("2026-000004")).await.unwrap();
    assert_eq!(dismissed.status, "dismissed");
    assert!(dismissed.timers.iter().all(|t| t.state == "not_required"));
    let gauges = v.gauges().await.unwrap();
    assert_eq!((gauges.incidents_open, gauges.incidents_overdue), (3, 1));
    let open = v
        .incidents(
            &dpo(),
            IncidentFilter {
                status: Some("open".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    assert!(
        open.iter().all(|i| i.causes.is_none()),
        "lists carry no texts"
    );
}

#[tokio::test]
async fn incidents_numbered_per_year_of_detection() {
    let f = fixture().await;
    let v = &f.vault;
    let old = v
        .register_incident(&dpo(), report("2025-12-31 23:30"))
        .await
        .unwrap();
    assert_eq!(old.number, "2025-000001");
    let new = v
        .register_incident(&dpo(), report("2026-01-01 00:10"))
        .await
        .unwrap();
    assert_eq!(new.number, "2026-000001");
    let again = v
        .register_incident(&dpo(), report("2026-03-01 10:00"))
        .await
        .unwrap();
    assert_eq!(again.number, "2026-000002");
}

#[tokio::test]
async fn an_incident_edited_or_deleted_in_the_database_breaks_the_audit_check() {
    let f = fixture().await;
    let v = &f.vault;
    v.register_incident(&dpo(), report("2026-03-02 09:00"))
        .await
        .unwrap();
    v.incident_step(&dpo(), n("2026-000001"), sent("first_notice_sent", None))
        .await
        .unwrap();
    assert!(v.verify_audit().await.unwrap().intact);
    let db = f.dir.path().join("i.db");
    let tamper = |sql: &'static str| {
        let db = db.clone();
        async move {
            let store = SqliteStore::open(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
    };
    // Backdating the notice to make it look in time.
    tamper("UPDATE incident_entries SET occurred_at = occurred_at - 3600000 WHERE entry_no = 2")
        .await;
    let report = v.verify_audit().await.unwrap();
    assert!(!report.intact);
    assert!(
        report.problem.as_deref().unwrap().contains("изменена"),
        "{report:?}"
    );
    tamper("UPDATE incident_entries SET occurred_at = occurred_at + 3600000 WHERE entry_no = 2")
        .await;
    assert!(v.verify_audit().await.unwrap().intact, "restored as it was");
    // Moving the detection to make the 24 hours start later.
    tamper("UPDATE incidents SET detected_at = detected_at + 7200000").await;
    let report = v.verify_audit().await.unwrap();
    assert!(
        report.problem.as_deref().unwrap().contains("изменён"),
        "{report:?}"
    );
    tamper("UPDATE incidents SET detected_at = detected_at - 7200000").await;
    assert!(v.verify_audit().await.unwrap().intact);
    tamper("DELETE FROM incident_entries WHERE entry_no = 2").await;
    let report = v.verify_audit().await.unwrap();
    assert!(
        report.problem.as_deref().unwrap().contains("удалена"),
        "{report:?}"
    );
}
