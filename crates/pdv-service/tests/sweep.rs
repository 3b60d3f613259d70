//! Destruction in two steps through the service: after the key shred and before the sweep, a
//! destroyed subject is gone for every reader — reads answer that it was destroyed, lookups by
//! e-mail or phone find nothing, the access answer treats the requester as a stranger, the
//! retention plan leaves it out, a backup does not carry its leftovers — and a newcomer may take
//! its e-mail; the sweep then deletes the leftovers, once, and the retention run sweeps at its end.

use std::sync::Arc;

use pdv_core::Policy;
use pdv_core::request::IdentityCheck;
use pdv_crypto::MasterKey;
use pdv_service::{
    Actor, DataQuery, FindSubject, FixedClock, NewContract, NewRecord, NewRequest, NewSubject,
    Requester, ServiceError, SweepSettings, Vault,
};
use pdv_store::{Store, Value, backup};
use pdv_store_sqlite::SqliteStore;

const POLICY: &str = "../../policies/lider.toml";

async fn vault_on(path: &std::path::Path, master: &MasterKey) -> Vault {
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let source =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(POLICY))
            .unwrap();
    let policy = Policy::from_toml("lider.toml", &source).unwrap();
    let clock = Arc::new(FixedClock::new(
        "2026-01-12T10:00:00+03:00".parse().unwrap(),
    ));
    Vault::open(Arc::new(store), Arc::new(policy), master, clock)
        .await
        .unwrap()
        .with_sweep_settings(SweepSettings {
            batch: 1,
            pause: std::time::Duration::ZERO,
            share_permille: 1000,
            in_background: false,
        })
}

fn agent() -> Actor {
    Actor::new("user:agent")
}

fn fields(pairs: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect()
}

async fn buyer(v: &Vault, email: &str, phone: &str) -> pdv_core::SubjectId {
    let id = v
        .create_subject(
            &agent(),
            NewSubject {
                kind: "buyer".into(),
                identifiers: [
                    ("email".to_string(), email.to_string()),
                    ("phone".to_string(), phone.to_string()),
                ]
                .into(),
            },
        )
        .await
        .unwrap()
        .id;
    v.add_contract(
        &agent(),
        id,
        NewContract {
            reference: "Д-1".into(),
            concluded_on: "2025-12-01".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    for (category, values) in [
        (
            "identity",
            fields(&[("last_name", "Петров"), ("first_name", "Иван")]),
        ),
        ("contacts", fields(&[("email", email)])),
    ] {
        v.add_record(
            &agent(),
            id,
            NewRecord {
                category: category.into(),
                purpose: "contract".into(),
                fields: values,
                source: None,
                scope: None,
                notice_to: None,
            },
        )
        .await
        .unwrap();
    }
    id
}

async fn find(v: &Vault, kind: &str, value: &str) -> Vec<pdv_core::SubjectId> {
    v.find_subjects(
        &agent(),
        FindSubject {
            kind: kind.into(),
            value: value.into(),
        },
    )
    .await
    .unwrap()
    .subjects
}

fn contract_data() -> DataQuery {
    DataQuery {
        purpose: "contract".into(),
        categories: vec![],
    }
}

/// Rows of `subject` in the swept tables of a backup of `store`.
async fn leftovers_in_backup(store: &dyn Store, subject: pdv_core::SubjectId) -> usize {
    let tables: Vec<_> = backup::TABLES.iter().collect();
    let mut n = 0;
    store
        .export(&tables, &mut |t, row| {
            if backup::swept(t) && row.first() == Some(&Value::Bytes(subject.as_bytes().to_vec())) {
                n += 1;
            }
            Ok(())
        })
        .await
        .unwrap();
    n
}

/// Rows in the swept tables as stored, bypassing the reads that hide a shredded subject's.
async fn rows_stored(v: &Vault) -> u64 {
    let mut tx = v.store().begin().await.unwrap();
    let mut n = 0;
    for name in backup::SWEPT_TABLES {
        n += tx.count_rows(backup::table(name).unwrap()).await.unwrap();
    }
    n
}

#[tokio::test]
async fn between_the_key_shred_and_the_sweep_a_destroyed_subject_is_gone_for_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let master = MasterKey::generate();
    let v = vault_on(&dir.path().join("s.db"), &master).await;
    let gone = buyer(&v, "gone@example.ru", "+7 900 000-00-01").await;
    let kept = buyer(&v, "kept@example.ru", "+7 900 000-00-02").await;
    let request = v
        .receive_request(
            &Actor::new("user:dpo"),
            NewRequest {
                kind: "access".into(),
                channel: "post".into(),
                received_at: None,
                subject: Some(gone),
                requester: Requester {
                    name: "Петров Иван".into(),
                    contact: Some("gone@example.ru".into()),
                    representative: None,
                },
                identity: IdentityCheck::default(),
                text: "Прошу сообщить, какие мои данные вы обрабатываете".into(),
                purposes: vec![],
                categories: vec![],
            },
        )
        .await
        .unwrap();
    let with_both = rows_stored(&v).await;
    assert_eq!(v.sweep_backlog().await.unwrap(), 0);

    let shred = v
        .shred_subject(&Actor::new("user:dpo"), gone, "тест")
        .await
        .unwrap();
    assert_eq!(
        shred.rows_deleted, 1,
        "the data key, nothing else, in the destroying transaction"
    );
    assert_eq!(v.sweep_backlog().await.unwrap(), 1);
    assert_eq!(
        rows_stored(&v).await,
        with_both,
        "the leftovers wait for the sweep"
    );

    // Every read path answers as if the rows were gone: destroyed, never an integrity error.
    for err in [
        v.subject_summary(&agent(), gone).await.unwrap_err(),
        v.read_data(&agent(), gone, contract_data())
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, ServiceError::Destroyed { .. }), "{err:?}");
    }
    assert!(find(&v, "email", "gone@example.ru").await.is_empty());
    assert!(find(&v, "phone", "+79000000001").await.is_empty());
    let number = request.number.parse().unwrap();
    let answer = v
        .access_answer(&Actor::new("user:dpo"), number)
        .await
        .unwrap();
    assert!(!answer.processed && answer.data.is_empty(), "{answer:?}");
    let plan = v.retention_plan(v.today()).await.unwrap();
    assert_eq!(
        plan.subjects.iter().map(|s| s.subject).collect::<Vec<_>>(),
        vec![kept]
    );
    assert_eq!(leftovers_in_backup(v.store().as_ref(), gone).await, 0);
    let gauges = v.gauges().await.unwrap();
    assert_eq!(gauges.subjects, 2, "the id stays, as after any destruction");
    // The other subject is untouched.
    assert_eq!(
        v.read_data(&agent(), kept, contract_data())
            .await
            .unwrap()
            .records
            .len(),
        2
    );

    // A newcomer with the destroyed subject's e-mail registers and is found alone.
    let newcomer = buyer(&v, "gone@example.ru", "+7 900 000-00-03").await;
    assert_eq!(find(&v, "email", "gone@example.ru").await, vec![newcomer]);

    // A backup taken now and restored elsewhere brings back none of the leftovers, and needs no
    // destruction re-applied.
    let data = dir.path().join("data.pdvb");
    let keys = dir.path().join("keys.pdvb");
    v.backup(&Actor::new("user:admin"), Some(&data), Some(&keys))
        .await
        .unwrap();
    let restored = vault_on(&dir.path().join("r.db"), &master).await;
    let summary = restored
        .restore(&Actor::new("user:admin"), &data, Some(&keys), false)
        .await
        .unwrap();
    assert!(summary.destructions_reapplied.is_empty(), "{summary:?}");
    assert!(summary.subjects_without_key.is_empty(), "{summary:?}");
    assert_eq!(
        leftovers_in_backup(restored.store().as_ref(), gone).await,
        0
    );
    assert_eq!(restored.sweep_backlog().await.unwrap(), 0);
    let err = restored
        .read_data(&agent(), gone, contract_data())
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Destroyed { .. }), "{err:?}");

    // The sweep deletes the leftovers, once, and the answers stay the same.
    let swept = v.sweep_shredded("test", &mut |_| {}).await.unwrap();
    assert_eq!(swept.subjects, 1);
    assert_eq!(swept.batches, 1);
    // Two identifiers, two records with three fields between them, a contract, two category keys
    // (an access request places no block).
    assert_eq!(swept.rows, 2 + 2 + 3 + 1 + 2, "{swept:?}");
    assert_eq!(v.sweep_backlog().await.unwrap(), 0);
    assert_eq!(
        v.sweep_shredded("test", &mut |_| {}).await.unwrap(),
        pdv_service::SweepReport::default()
    );
    let err = v.subject_summary(&agent(), gone).await.unwrap_err();
    assert!(matches!(err, ServiceError::Destroyed { .. }), "{err:?}");
    assert_eq!(find(&v, "email", "gone@example.ru").await, vec![newcomer]);
    let events = v.store().audit_events(1, 100_000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.record.action == "destruction.swept")
            .count(),
        1,
        "one audit event per sweep transaction"
    );
    assert!(v.verify_audit().await.unwrap().intact);
}

#[tokio::test]
async fn a_retention_run_sweeps_what_it_and_earlier_destructions_left() {
    let dir = tempfile::tempdir().unwrap();
    let v = vault_on(&dir.path().join("s.db"), &MasterKey::generate()).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            buyer(
                &v,
                &format!("b{n}@example.ru"),
                &format!("+7 900 000-00-1{n}"),
            )
            .await,
        );
    }
    v.shred_subject(&Actor::new("user:dpo"), ids[0], "тест")
        .await
        .unwrap();
    v.shred_subject(&Actor::new("user:dpo"), ids[1], "тест")
        .await
        .unwrap();
    assert_eq!(v.sweep_backlog().await.unwrap(), 2);
    let report = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(report.swept.subjects, 2, "{report:?}");
    assert_eq!(report.swept.batches, 2, "one subject per transaction here");
    assert_eq!(v.sweep_backlog().await.unwrap(), 0);
    assert_eq!(
        report.subjects_checked, 1,
        "destroyed subjects are not planned"
    );
}
