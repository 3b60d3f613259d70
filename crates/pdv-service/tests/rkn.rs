//! The ст. 22 notice over a real store: never filed, filed and current, stale after the policy
//! changes something the notice states (naming the item), current again after the change is
//! filed; a filing is audited and bad input names its field.

use std::sync::Arc;

use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::{Actor, FixedClock, NoticeFiling, NoticeStatus, ServiceError, Vault};
use pdv_store::Store;
use pdv_store_sqlite::SqliteStore;

fn lider() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml"),
    )
    .unwrap()
}

async fn vault(store: Arc<dyn Store>, key: &MasterKey, source: &str) -> Vault {
    let policy = Policy::from_toml("lider.toml", source).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(
        "2026-01-12T10:00:00+03:00".parse().unwrap(),
    ));
    Vault::open(store, Arc::new(policy), key, clock)
        .await
        .unwrap()
}

fn filing(date: &str, number: Option<&str>) -> NoticeFiling {
    NoticeFiling {
        date: date.to_string(),
        number: number.map(str::to_string),
    }
}

#[tokio::test]
async fn never_filed_then_current_then_stale_after_a_policy_change() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("n.db").display()))
            .await
            .unwrap(),
    );
    let key = MasterKey::generate();
    let source = lider();
    let v = vault(store.clone(), &key, &source).await;

    let notice = v.rkn_notice().await.unwrap();
    assert_eq!(notice.status, NoticeStatus::NeverFiled);
    assert!(notice.filed.is_none() && notice.changed.is_empty());
    assert_eq!(notice.hash, notice.content.hash());
    assert!(notice.text.contains("## 10.1."), "{}", notice.text);
    assert!(notice.missing.iter().any(|m| m.item == "8"));
    assert!(v.gauges().await.unwrap().rkn_notice_stale);

    let filed = v
        .record_notice_filing(
            &Actor::new("dpo"),
            filing("2026-01-10", Some(" 77-26-000123 ")),
        )
        .await
        .unwrap();
    assert_eq!(filed.status, NoticeStatus::Current);
    let record = filed.filed.clone().unwrap();
    assert_eq!(record.date, "2026-01-10");
    assert_eq!(record.number.as_deref(), Some("77-26-000123"));
    assert_eq!(record.hash, notice.hash);
    let again = v.rkn_notice().await.unwrap();
    assert_eq!(again.status, NoticeStatus::Current);
    assert!(!v.gauges().await.unwrap().rkn_notice_stale);

    // The filing is one audit event with the date, number and hash, and no personal data.
    let events = store.audit_events(1, 10_000).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.record.action == "rkn.notice_filed")
        .expect("filing audited");
    assert_eq!(event.record.actor, "dpo");
    assert!(event.record.details.contains(&notice.hash));
    assert!(event.record.details.contains("77-26-000123"));
    assert!(v.verify_audit().await.unwrap().intact);

    // A retention period is not in the notice: the filed one stays current.
    let periods = source.replacen("period = \"P", "period = \"P1", 1);
    assert_ne!(periods, source);
    let v2 = vault(store.clone(), &key, &periods).await;
    assert_eq!(v2.rkn_notice().await.unwrap().status, NoticeStatus::Current);

    // A purpose renamed and a database moved: stale, naming items 2 and 10.1.
    let changed = source
        .replacen(
            "address = \"Московская обл. (ДЕМО: укажите площадку резервного копирования)\"",
            "address = \"г. Тверь, ЦОД (ДЕМО)\"",
            1,
        )
        .replacen(
            "title = \"Рассылка сведений о Товарах",
            "title = \"Рассылка новостей о Товарах",
            1,
        );
    assert!(changed.contains("г. Тверь") && changed.contains("Рассылка новостей"));
    let v3 = vault(store.clone(), &key, &changed).await;
    let stale = v3.rkn_notice().await.unwrap();
    assert_eq!(stale.status, NoticeStatus::Stale, "{:?}", stale.changed);
    let items: Vec<&str> = stale.changed.iter().map(|c| c.item.as_str()).collect();
    assert_eq!(items, ["2", "10.1"]);
    assert_ne!(stale.hash, notice.hash);
    assert_eq!(stale.filed.as_ref().unwrap().hash, notice.hash);
    assert!(v3.gauges().await.unwrap().rkn_notice_stale);

    // Filing the change makes it current again.
    let refiled = v3
        .record_notice_filing(&Actor::new("dpo"), filing("2026-01-12", None))
        .await
        .unwrap();
    assert_eq!(refiled.status, NoticeStatus::Current);
    assert_eq!(refiled.filed.unwrap().number, None);
    // The old policy, read against the new filing, is stale the other way round.
    assert_eq!(v.rkn_notice().await.unwrap().status, NoticeStatus::Stale);
}

#[tokio::test]
async fn bad_filings_name_the_field_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("n.db").display()))
            .await
            .unwrap(),
    );
    let v = vault(store.clone(), &MasterKey::generate(), &lider()).await;
    let long = "7".repeat(101);
    for (input, field, code) in [
        (filing("12.01.2026", None), "date", "invalid_date"),
        (filing("2026-01-13", None), "date", "in_the_future"),
        (
            filing("2026-01-12", Some(&long)),
            "number",
            "invalid_number",
        ),
        (
            filing("2026-01-12", Some("77\n1")),
            "number",
            "invalid_number",
        ),
    ] {
        match v.record_notice_filing(&Actor::new("dpo"), input).await {
            Err(ServiceError::Invalid(problems)) => {
                assert_eq!(problems[0].field, field);
                assert_eq!(problems[0].code, code);
            }
            other => panic!("expected a refusal on {field}: {other:?}"),
        }
    }
    assert_eq!(
        v.rkn_notice().await.unwrap().status,
        NoticeStatus::NeverFiled
    );
}
