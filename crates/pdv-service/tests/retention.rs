//! Retention executed: a statutory period keeps only its own data set, the rest of the subject
//! goes with its category keys; a later run destroys the subject whole; every destruction has
//! an act with the required fields whose hash is in the audit chain; a rerun changes nothing; a
//! run killed between batches is finished by the next one with nothing half-destroyed.

use std::collections::BTreeMap;
use std::sync::Arc;

use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::acts::render_act_html;
use pdv_service::{
    Actor, DataQuery, FixedClock, NewAnchor, NewContract, NewRecord, NewSubject, ServiceError,
    Vault,
};
use pdv_store::Store;
use pdv_store_sqlite::SqliteStore;

struct Fixture {
    vault: Arc<Vault>,
    clock: Arc<FixedClock>,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .unwrap();
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml"),
    )
    .unwrap();
    let policy = Policy::from_toml("lider.toml", &source).unwrap();
    let clock = Arc::new(FixedClock::new(
        "2026-01-12T10:00:00+03:00".parse().unwrap(),
    ));
    let vault = Vault::open(
        Arc::new(store),
        Arc::new(policy),
        &MasterKey::generate(),
        clock.clone(),
    )
    .await
    .unwrap()
    .with_act_settings(pdv_service::acts::ActSettings {
        system: "ИСПДн «Заказы»".into(),
        signatories: vec![pdv_service::acts::Signatory {
            name: "Сидорова Ольга Ивановна".into(),
            position: "ответственный за организацию обработки ПДн".into(),
        }],
    });
    Fixture {
        vault: Arc::new(vault),
        clock,
        dir,
    }
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

/// A buyer whose order was fulfilled on `fulfilled`: name, contacts and the order.
async fn buyer(v: &Vault, n: usize, fulfilled: &str) -> pdv_core::SubjectId {
    let id = v
        .create_subject(
            &agent(),
            NewSubject {
                kind: "buyer".into(),
                identifiers: [("email".to_string(), format!("buyer{n}@example.ru"))].into(),
            },
        )
        .await
        .unwrap()
        .id;
    v.add_contract(
        &agent(),
        id,
        NewContract {
            reference: format!("Д-{n}"),
            concluded_on: "2021-12-01".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    for (category, values) in [
        (
            "identity",
            fields(&[("last_name", "Петров"), ("first_name", "Иван")]),
        ),
        (
            "contacts",
            fields(&[("email", &format!("buyer{n}@example.ru"))]),
        ),
        (
            "order",
            fields(&[("order_number", &format!("З-{n}")), ("amount", "1000.00")]),
        ),
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
    v.record_anchor(
        &agent(),
        id,
        NewAnchor {
            event: "order_fulfilled".into(),
            scope: None,
            purpose: None,
            occurred_on: Some(fulfilled.into()),
        },
    )
    .await
    .unwrap();
    id
}

async fn emails(v: &Vault, id: pdv_core::SubjectId) -> Vec<String> {
    let mut emails: Vec<String> = v
        .read_data(
            &agent(),
            id,
            DataQuery {
                purpose: "contract".into(),
                categories: vec!["contacts".into()],
            },
        )
        .await
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.fields["email"].clone())
        .collect();
    emails.sort();
    emails
}

async fn categories_left(v: &Vault, id: pdv_core::SubjectId) -> Vec<String> {
    let mut tx = v.store().begin().await.unwrap();
    let mut cats: Vec<String> = tx
        .record_counts(id)
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    cats.sort();
    cats
}

#[tokio::test]
async fn statutory_data_outlive_the_rest_then_go_with_an_act_each_time() {
    let f = fixture().await;
    let v = &f.vault;
    let old = buyer(v, 1, "2022-01-01").await;
    let recent = buyer(v, 2, "2025-06-01").await;

    // The identity record's ciphertext and its category key, as a copy of the database would
    // keep them.
    let mut tx = v.store().begin().await.unwrap();
    let identity_key = tx.category_key(old, "identity").await.unwrap().unwrap();
    let identity_ct = tx
        .records(old, Some(&["identity".to_string()]))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(identity_ct.len(), 1);

    let report = v.retention_run("test", 1, &mut |_| {}).await.unwrap();
    assert_eq!(report.subjects_checked, 2);
    assert_eq!(report.subjects_destroyed, 0);
    // Name and contacts of the old buyer: three years after the order (seed 8). The order stays
    // six years for the accounting law.
    assert_eq!(report.categories_destroyed, 2, "{report:?}");
    assert_eq!(report.records_destroyed, 2);
    assert_eq!(categories_left(v, old).await, ["order"]);
    assert_eq!(
        categories_left(v, recent).await,
        ["contacts", "identity", "order"]
    );
    let data = v
        .read_data(
            &agent(),
            old,
            DataQuery {
                purpose: "contract".into(),
                categories: vec!["order".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        data.records.len(),
        1,
        "the statutory order is still readable"
    );

    // The category key is gone and stays gone: the old ciphertext has nothing left to open it.
    let mut tx = v.store().begin().await.unwrap();
    assert!(tx.category_key(old, "identity").await.unwrap().is_none());
    let tombstones = tx.category_tombstones(old).await.unwrap();
    assert_eq!(
        tombstones
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["contacts", "identity"]
    );
    drop(tx);
    assert!(!identity_key.wrapped.is_empty() && !identity_ct[0].fields.is_empty());
    // Nor does it linger in the database file: deleted content is overwritten (secure_delete),
    // and once the WAL is checkpointed neither file holds the wrapped key's bytes.
    let file = f.dir.path().join("r.db");
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !contains(&bytes, &identity_key.wrapped),
        "the destroyed key is still in the file"
    );
    assert!(
        !contains(&bytes, &identity_ct[0].fields[0].value_ct),
        "the destroyed ciphertext is still in the file"
    );

    // One act, closed, with every field Приказ № 179 asks for.
    assert_eq!(report.acts.len(), 1);
    let act = v
        .act(&Actor::new("user:dpo"), &report.acts[0])
        .await
        .unwrap();
    assert_eq!(act.summary.status, "closed");
    assert_eq!(act.summary.entries, Some(1));
    assert!(
        act.header.operator.contains("ИНН"),
        "{}",
        act.header.operator
    );
    assert_eq!(act.header.system, "ИСПДн «Заказы»");
    assert!(act.header.method.contains("криптографическое стирание"));
    assert_eq!(act.header.signatories.len(), 1);
    let entry = &act.entries[0];
    assert_eq!(entry.subject, old);
    assert_eq!(entry.full_name.as_deref(), Some("Петров Иван"));
    assert!(
        entry
            .identifiers
            .iter()
            .any(|i| i.contains("buyer1@example.ru")),
        "{:?}",
        entry.identifiers
    );
    let destroyed: Vec<&str> = entry.categories.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(destroyed, ["contacts", "identity"]);
    assert!(!entry.whole_subject);
    assert!(!entry.reasons.is_empty() && !entry.destroyed_at.is_empty());
    let expires: jiff::civil::Date = act.summary.expires_on.as_deref().unwrap().parse().unwrap();
    assert_eq!(expires, "2029-01-12".parse().unwrap(), "kept three years");
    let html = render_act_html(&act);
    for needle in [
        "Акт об уничтожении персональных данных",
        "Петров Иван",
        "ИСПДн «Заказы»",
        "Сидорова Ольга Ивановна",
        "Выгрузка из журнала регистрации событий",
        "Материальные носители",
        "Способ уничтожения",
        act.summary.sha256.as_deref().unwrap(),
    ] {
        assert!(html.contains(needle), "the act's HTML lacks {needle}");
    }

    // The act's hash is in the audit chain.
    let sha = act.summary.sha256.clone().unwrap();
    let events = v.store().audit_events(1, 10_000).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.record.action == "act.closed" && e.record.details.contains(&sha))
    );
    assert!(
        events
            .iter()
            .filter(|e| e.record.action == "retention.destroyed")
            .count()
            == 1
    );

    // A rerun on the same day destroys nothing and writes no act.
    let again = v.retention_run("test", 1, &mut |_| {}).await.unwrap();
    assert_eq!(again.records_destroyed, 0);
    assert!(again.acts.is_empty());

    // Six years after the order the accounting period ends too: the old buyer goes whole.
    f.clock.set("2028-01-10T10:00:00+03:00".parse().unwrap());
    let later = v.retention_run("test", 1, &mut |_| {}).await.unwrap();
    assert_eq!(later.subjects_destroyed, 1, "{later:?}");
    let err = v.subject_summary(&agent(), old).await.unwrap_err();
    assert!(matches!(err, ServiceError::Destroyed { .. }), "{err:?}");
    let act = v
        .act(&Actor::new("user:dpo"), &later.acts[0])
        .await
        .unwrap();
    assert!(act.entries[0].whole_subject);
    // The name was destroyed two years earlier: the second act identifies by what is left.
    assert_eq!(act.entries[0].full_name, None);
    assert!(!act.entries[0].identifiers.is_empty());
    // The recent buyer's three years ran out meanwhile (2025-06-01 + 3 years is later): kept.
    assert_eq!(
        categories_left(v, recent).await,
        ["contacts", "identity", "order"]
    );

    // Three years after the first act it expires: its entries are destroyed, the number and
    // hash stay.
    f.clock.set("2029-01-12T10:00:00+03:00".parse().unwrap());
    let expiry = v.retention_run("test", 100, &mut |_| {}).await.unwrap();
    assert_eq!(expiry.expired_acts, [report.acts[0].clone()]);
    let expired = v
        .act(&Actor::new("user:dpo"), &report.acts[0])
        .await
        .unwrap();
    assert_eq!(expired.summary.status, "expired");
    assert!(expired.entries.is_empty());
    assert_eq!(expired.summary.sha256, Some(sha));
    drop(f.dir);
}

#[tokio::test]
async fn a_run_killed_between_batches_is_finished_by_the_next_with_nothing_half_destroyed() {
    let f = fixture().await;
    let v = f.vault.clone();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(buyer(&v, n, "2022-01-01").await);
    }
    // The first run dies after its second batch has committed.
    let killed = tokio::spawn({
        let v = v.clone();
        async move {
            let mut batches = 0;
            v.retention_run("test", 2, &mut |_| {
                batches += 1;
                assert!(batches < 2, "killed");
            })
            .await
        }
    })
    .await;
    assert!(killed.is_err(), "the run should have died");
    // Every subject is either untouched or done: never a subject with only some of its due
    // categories gone.
    let mut done = 0;
    for id in &ids {
        let left = categories_left(&v, *id).await;
        if left == ["order"] {
            done += 1;
        } else {
            assert_eq!(left, ["contacts", "identity", "order"]);
        }
    }
    assert_eq!(done, 4, "two batches of two committed");
    let mut tx = v.store().begin().await.unwrap();
    let open = tx.acts(None, 10, true).await.unwrap();
    drop(tx);
    assert_eq!(open.len(), 1, "the killed run's act is left open");

    let rerun = v.retention_run("test", 2, &mut |_| {}).await.unwrap();
    assert_eq!(rerun.recovered_acts.len(), 1);
    assert_eq!(
        rerun.categories_destroyed, 2,
        "only the fifth buyer was left"
    );
    for id in &ids {
        assert_eq!(categories_left(&v, *id).await, ["order"]);
    }
    let dpo = Actor::new("user:dpo");
    let recovered = v.act(&dpo, &rerun.recovered_acts[0]).await.unwrap();
    assert_eq!(recovered.summary.status, "closed");
    assert_eq!(recovered.entries.len(), 4);
    let second = v.act(&dpo, &rerun.acts[0]).await.unwrap();
    assert_eq!(second.entries.len(), 1);
    // Every destroyed subject appears in exactly one act.
    let mut seen: BTreeMap<pdv_core::SubjectId, usize> = BTreeMap::new();
    for e in recovered.entries.iter().chain(&second.entries) {
        *seen.entry(e.subject).or_default() += 1;
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_category_written_before_category_keys_moves_under_its_key_on_the_next_write() {
    // Records written before schema 7 are under the subject key and their category has no key.
    // The first write to the category creates its key and re-encrypts what was there.
    let master = MasterKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("l.db").display()))
            .await
            .unwrap(),
    );
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml"),
    )
    .unwrap();
    let policy = Policy::from_toml("lider.toml", &source).unwrap();
    let clock = Arc::new(FixedClock::new(
        "2026-01-12T10:00:00+03:00".parse().unwrap(),
    ));
    let v = Vault::open(store.clone(), Arc::new(policy), &master, clock)
        .await
        .unwrap();
    let id = v
        .create_subject(
            &agent(),
            NewSubject {
                kind: "buyer".into(),
                identifiers: [("email".to_string(), "old@example.ru".to_string())].into(),
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
            concluded_on: "2021-12-01".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    // A legacy record, written the way the vault wrote them before: under the subject key.
    let mut tx = store.begin().await.unwrap();
    let wrapped = tx.wrapped_key(id).await.unwrap().unwrap();
    let subject_key = master
        .keyring()
        .unwrap_data_key(&wrapped.wrapped, id.as_bytes())
        .unwrap();
    let record = pdv_core::RecordId(uuid::Uuid::now_v7());
    tx.insert_record(&pdv_store::RecordRow {
        subject: id,
        id: record,
        category: "contacts".into(),
        source: "subject".into(),
        created_at_ms: 1_700_000_000_000,
        scope: None,
        fields: vec![pdv_store::FieldRow {
            field: "email".into(),
            value_ct: subject_key.encrypt_field(
                b"legacy@example.ru",
                &pdv_crypto::FieldAad {
                    table: "pd_fields",
                    row_id: record.as_bytes(),
                    field: "contacts.email",
                },
            ),
        }],
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        emails(&v, id).await,
        ["legacy@example.ru"],
        "legacy reads under the subject key"
    );
    v.add_record(
        &agent(),
        id,
        NewRecord {
            category: "contacts".into(),
            purpose: "contract".into(),
            fields: fields(&[("email", "new@example.ru")]),
            source: None,
            scope: None,
            notice_to: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        emails(&v, id).await,
        ["legacy@example.ru", "new@example.ru"]
    );
    // The legacy field no longer opens under the subject key: it was moved under the new one.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.category_key(id, "contacts").await.unwrap().is_some());
    let rows = tx
        .records(id, Some(&["contacts".to_string()]))
        .await
        .unwrap();
    let legacy = rows.iter().find(|r| r.id == record).unwrap();
    assert!(
        subject_key
            .decrypt_field(
                &legacy.fields[0].value_ct,
                &pdv_crypto::FieldAad {
                    table: "pd_fields",
                    row_id: record.as_bytes(),
                    field: "contacts.email",
                },
            )
            .is_err()
    );
}

/// Registers a destruction demand for `subject` through the journal.
async fn demand(
    v: &Vault,
    subject: pdv_core::SubjectId,
    contact: &str,
    categories: &[&str],
) -> pdv_service::RequestView {
    v.receive_request(
        &agent(),
        serde_json::from_value(serde_json::json!({
            "kind": "destruction",
            "channel": "email",
            "subject": subject,
            "requester": { "name": "Петров Иван", "contact": contact },
            "text": "Прошу уничтожить мои данные",
            "categories": categories,
        }))
        .unwrap(),
    )
    .await
    .unwrap()
}

async fn blocks_in_force(v: &Vault, id: pdv_core::SubjectId) -> Vec<Option<String>> {
    let mut tx = v.store().begin().await.unwrap();
    tx.blocks(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.lifted_at_ms.is_none())
        .map(|b| b.category)
        .collect()
}

#[tokio::test]
async fn a_destruction_demand_is_carried_out_despite_its_own_block_then_journaled_and_notified() {
    let f = fixture().await;
    let v = &f.vault;
    let one = buyer(v, 1, "2025-12-01").await;
    let two = buyer(v, 2, "2025-12-01").await;
    // One demand names its categories, the other asks for everything; each blocks what it names
    // for the time of the check (ст. 21 ч. 1).
    let first = demand(v, one, "buyer1@example.ru", &["contacts"]).await;
    let second = demand(v, two, "buyer2@example.ru", &[]).await;
    assert_eq!(
        blocks_in_force(v, one).await,
        [Some("contacts".to_string())]
    );
    assert_eq!(blocks_in_force(v, two).await, [None]);

    // Before the due date and before an answer nothing goes, and the plan says when it will.
    let report = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(report.records_destroyed, 0, "{report:?}");
    let plan = v.retention_plan(v.today()).await.unwrap();
    let planned = plan.subjects.iter().find(|s| s.subject == one).unwrap();
    for item in &planned.items {
        match item.category.as_str() {
            "contacts" => {
                assert_eq!(
                    item.ground,
                    pdv_core::retention::Ground::DestructionDemand {
                        received: v.today(),
                        request: Some(first.number.clone()),
                    }
                );
                assert_eq!(item.expires.unwrap().to_string(), first.due);
                assert!(item.reason.contains(&first.number), "{}", item.reason);
            }
            // Only the category demanded: the rest keeps its own rules.
            _ => assert!(
                !matches!(
                    item.ground,
                    pdv_core::retention::Ground::DestructionDemand { .. }
                ),
                "{item:?}"
            ),
        }
    }

    // Accepted (answered) today: the first demand is carried out by the next run, although
    // its own block is still in place.
    v.request_step(
        &agent(),
        first.number.parse().unwrap(),
        pdv_service::RequestStep {
            step: "answer".into(),
            text: Some("Требование удовлетворено".into()),
            identity: None,
        },
    )
    .await
    .unwrap();
    let report = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(report.records_destroyed, 1, "{report:?}");
    assert_eq!(report.held, 0, "{report:?}");
    assert_eq!(categories_left(v, one).await, ["identity", "order"]);
    assert_eq!(categories_left(v, two).await.len(), 3, "not due yet");
    assert!(
        blocks_in_force(v, one).await.is_empty(),
        "the demand's block ends with it"
    );
    let act_number = report.acts[0].clone();
    let act = v.act(&agent(), &act_number).await.unwrap();
    assert_eq!(act.entries[0].requests, [first.number.as_str()]);

    // The request's history records what was destroyed under which act; its status stays.
    let view = v
        .request_view(&agent(), first.number.parse().unwrap())
        .await
        .unwrap();
    let last = view.entries.last().unwrap().clone();
    assert_eq!(last.step, "note");
    assert_eq!(last.status, "answered");
    let text = last.text.unwrap();
    assert!(text.contains(&act_number), "{text}");
    let contacts_title = &v.policy().policy.category("contacts").unwrap().title;
    assert!(text.contains(contacts_title.as_str()), "{text}");
    // The subject is told, at the address the request gave.
    let notices: Vec<_> = v
        .outbox(&agent(), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "destruction_notice")
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].address, "buyer1@example.ru");
    assert_eq!(notices[0].request.as_deref(), Some(first.number.as_str()));
    assert!(notices[0].body.contains(&act_number));

    // The second demand, never answered, is carried out on its due date: everything but the
    // order, which the accounting law keeps, and the notice says so.
    f.clock.set(
        format!("{}T10:00:00+03:00", second.due)
            .parse::<jiff::Timestamp>()
            .unwrap(),
    );
    let report = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(report.held, 0, "{report:?}");
    assert_eq!(categories_left(v, two).await, ["order"]);
    assert!(blocks_in_force(v, two).await.is_empty());
    let view = v
        .request_view(&agent(), second.number.parse().unwrap())
        .await
        .unwrap();
    let last = view.entries.last().unwrap().clone();
    assert_eq!(
        (last.step.as_str(), last.status.as_str()),
        ("note", "received")
    );
    let text = last.text.unwrap();
    let order_title = &v.policy().policy.category("order").unwrap().title;
    assert!(
        text.contains("Сохраняются") && text.contains(order_title.as_str()),
        "{text}"
    );
    // A rerun neither destroys nor journals anything again.
    let again = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(again.records_destroyed, 0);
    let view = v
        .request_view(&agent(), second.number.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(view.entries.len(), 2);
}

#[tokio::test]
async fn a_depersonalise_rule_keeps_a_copy_without_identifiers_or_link_then_destroys_the_record() {
    let f = fixture().await;
    let v = &f.vault;
    let guest = v
        .create_subject(
            &agent(),
            NewSubject {
                kind: "guest".into(),
                identifiers: [("email".to_string(), "guest@example.ru".to_string())].into(),
            },
        )
        .await
        .unwrap()
        .id;
    for (text, at) in [
        ("Петров курсы бухгалтерии", "2026-01-12T09:00:00+03:00"),
        ("курсы 1С", "2026-01-12T09:05:00+03:00"),
    ] {
        v.add_record(
            &agent(),
            guest,
            NewRecord {
                category: "search_queries".into(),
                purpose: "site_operation".into(),
                fields: fields(&[("query_text", text), ("queried_at", at)]),
                source: Some("automatic".into()),
                scope: None,
                notice_to: None,
            },
        )
        .await
        .unwrap();
    }
    // Search queries live six months from collection (seed 10.2, rule search_queries), then
    // only depersonalised statistics may remain.
    f.clock.set("2026-07-13T10:00:00+03:00".parse().unwrap());
    let report = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(report.records_destroyed, 2, "{report:?}");
    assert_eq!(report.records_depersonalised, 2, "{report:?}");
    assert_eq!(report.subjects_destroyed, 1, "the guest held nothing else");

    let stats = v.retained_statistics(&agent()).await.unwrap();
    assert_eq!(stats.records, 2);
    assert_eq!(stats.groups.len(), 1, "{stats:?}");
    let group = &stats.groups[0];
    assert_eq!(
        (
            group.kind.as_str(),
            group.category.as_str(),
            group.rule.as_str()
        ),
        ("guest", "search_queries", "search_queries")
    );
    assert_eq!(group.count, 2);
    // The free text is gone; the time is kept as its month.
    assert_eq!(
        group.fields,
        [("queried_at".to_string(), "2026-01".to_string())].into()
    );

    // The log entry of Приказ № 140 and the act say what was done; nothing joins the copies back.
    let mut tx = v.store().begin().await.unwrap();
    let rows = tx.retained(None, 10).await.unwrap();
    drop(tx);
    assert_eq!(rows.len(), 2);
    let trail = v.store().audit_events(1, 10_000).await.unwrap();
    let event = trail
        .iter()
        .find(|e| e.record.action == "retention.depersonalised")
        .expect("the depersonalisation is logged");
    assert!(
        event.record.details.contains("query_text"),
        "{}",
        event.record.details
    );
    for row in &rows {
        assert!(!event.record.details.contains(&row.id.to_string()));
    }
    let act = v.act(&agent(), &report.acts[0]).await.unwrap();
    assert!(
        act.entries[0]
            .reasons
            .iter()
            .any(|r| r.contains("обезличена")),
        "{:?}",
        act.entries[0].reasons
    );
}

#[tokio::test]
async fn a_subject_whose_journal_cannot_be_read_is_reported_and_the_rest_is_planned_and_run() {
    let f = fixture().await;
    let v = &f.vault;
    let damaged = buyer(v, 1, "2021-12-01").await;
    let fine = buyer(v, 2, "2021-12-01").await;
    demand(v, damaged, "buyer1@example.ru", &[]).await;
    {
        use sqlx::Connection;
        let file = f.dir.path().join("r.db");
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE requests SET details_ct = x'00'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let plan = v.retention_plan(v.today()).await.unwrap();
    let by_id = |id| plan.subjects.iter().find(|s| s.subject == id).unwrap();
    assert!(by_id(damaged).problem.is_some(), "{:?}", by_id(damaged));
    assert!(by_id(fine).problem.is_none() && !by_id(fine).items.is_empty());
    let report = v.retention_run("test", 10, &mut |_| {}).await.unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert_eq!(report.problems[0].subject, damaged);
    // The other buyer's three years after the order are over: identity and contacts went.
    assert_eq!(categories_left(v, fine).await, ["order"]);
    assert_eq!(categories_left(v, damaged).await.len(), 3);
}
