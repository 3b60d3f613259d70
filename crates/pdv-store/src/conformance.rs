//! The conformance kit: behaviour every backend must show, written once.
//!
//! A backend crate runs the whole kit with [`conformance_tests!`](crate::conformance_tests),
//! giving it an async function that returns a fresh, migrated, empty store. Each check panics
//! with a message naming what the backend got wrong.

use pdv_core::audit::{AuditRecord, Outcome, Verifier};
use pdv_core::consent::ConsentKind;
use pdv_core::identifier::IdentifierKind;
use pdv_core::{BlockId, ConsentId, ContractId, Operation, RecordId, SubjectId, TransferId};

use crate::*;

/// Generates one `#[tokio::test]` per conformance check, each on a fresh store from `$make()`.
/// `$make()` returns anything that dereferences to a [`Store`] (so a fixture can own a temporary
/// directory or database that lives as long as the store).
///
/// For a backend that needs an external server, `conformance_tests!(optional $make)` takes a
/// `$make()` returning an `Option` of such a value; `None` means the server is not configured
/// and each test returns at once (the fixture is expected to say why on stderr, or to panic
/// where skipping is not acceptable, as in CI).
#[macro_export]
macro_rules! conformance_tests {
    (optional $make:path) => {
        $crate::conformance_tests!(@list optional $make);
    };
    ($make:path) => {
        $crate::conformance_tests!(@list required $make);
    };
    (@list $mode:ident $make:path) => {
        $crate::conformance_tests!(@each $mode $make;
            subject_and_key_round_trip,
            duplicate_subject_is_a_conflict,
            identifiers_find_subjects,
            records_filter_by_category,
            consents_withdraw_once,
            contracts_terminate_once,
            blocks_lift_once,
            rollback_discards_changes_and_events,
            audit_chain_is_continuous_across_transactions,
            idempotent_responses_round_trip,
            meta_round_trips,
            counts_follow_subjects_and_the_audit_chain,
            users_round_trip_and_logins_are_unique,
            sessions_are_found_by_token_hash_and_end,
            api_keys_round_trip_and_revoke_once,
            hostile_strings_are_stored_verbatim,
            every_table_is_backed_up_or_left_out_on_purpose,
            export_and_insert_rows_round_trip,
            purge_and_tombstones_destroy_one_subject_only,
            the_journal_numbers_requests_and_derives_their_state,
            the_outbox_queues_and_records_delivery_once,
            anchors_round_trip_in_date_order,
            destroying_a_category_spares_the_rest_and_stays_destroyed,
            records_keep_their_scope_and_subjects_page_in_id_order,
            destruction_acts_are_numbered_closed_once_and_expire,
            shredding_keys_hides_a_subject_until_the_sweep_deletes_the_rest,
            sweeping_is_bounded_resumable_and_idempotent,
            retained_records_round_trip_in_id_order,
            transfers_and_recipient_withdrawals_round_trip,
            the_incident_register_numbers_incidents_and_derives_their_status
        );
    };
    (@each required $make:path; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $make().await;
                $crate::conformance::$name(&*store).await;
            }
        )*
    };
    (@each optional $make:path; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(store) = $make().await else {
                    return;
                };
                $crate::conformance::$name(&*store).await;
            }
        )*
    };
}

fn id(n: u8) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = 0x01;
    b[15] = n;
    b
}

fn subject(n: u8) -> (SubjectRow, WrappedKeyRow) {
    let sid = SubjectId::from_bytes(id(n));
    (
        SubjectRow {
            id: sid,
            kind: "buyer".into(),
            created_at_ms: 1_000 + i64::from(n),
        },
        WrappedKeyRow {
            subject: sid,
            wrapped: vec![n; 60],
            master_key_id: "k1".into(),
            created_at_ms: 1_000,
        },
    )
}

async fn with_subject(store: &dyn Store, n: u8) -> SubjectId {
    let (s, k) = subject(n);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_subject(&s, &k).await.expect("insert subject");
    tx.commit().await.expect("commit");
    s.id
}

fn event(action: &str) -> AuditRecord {
    AuditRecord {
        at_ms: 5,
        actor: "test".into(),
        action: action.into(),
        operation: Some(Operation::Recording),
        purpose: Some("order".into()),
        subject: None,
        outcome: Outcome::Done,
        details: "{}".into(),
    }
}

pub async fn subject_and_key_round_trip(store: &dyn Store) {
    let (s, k) = subject(1);
    let mut tx = store.begin().await.unwrap();
    tx.insert_subject(&s, &k).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.subject(s.id).await.unwrap(),
        Some(s.clone()),
        "subject must read back as written"
    );
    assert_eq!(
        tx.wrapped_key(s.id).await.unwrap(),
        Some(k),
        "wrapped key must read back as written"
    );
    assert_eq!(
        tx.subject(SubjectId::from_bytes(id(99))).await.unwrap(),
        None,
        "unknown subject must be None"
    );
}

pub async fn duplicate_subject_is_a_conflict(store: &dyn Store) {
    with_subject(store, 1).await;
    let (s, k) = subject(1);
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .insert_subject(&s, &k)
        .await
        .expect_err("a second subject with the same id must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "expected Conflict, got {err:?}"
    );
}

pub async fn identifiers_find_subjects(store: &dyn Store) {
    let a = with_subject(store, 1).await;
    let b = with_subject(store, 2).await;
    let mut tx = store.begin().await.unwrap();
    let shared = [7u8; 32];
    for s in [a, b] {
        tx.insert_identifier(&IdentifierRow {
            subject: s,
            kind: IdentifierKind::Phone,
            blind: shared,
            value_ct: vec![1, 2],
        })
        .await
        .unwrap();
    }
    tx.insert_identifier(&IdentifierRow {
        subject: a,
        kind: IdentifierKind::Email,
        blind: [8; 32],
        value_ct: vec![3],
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let mut found = tx
        .find_by_identifier(IdentifierKind::Phone, &shared)
        .await
        .unwrap();
    found.sort();
    assert_eq!(found, vec![a, b], "a shared phone must find both subjects");
    assert_eq!(
        tx.find_by_identifier(IdentifierKind::Email, &shared)
            .await
            .unwrap(),
        vec![],
        "kinds must not mix"
    );
    assert_eq!(
        tx.find_by_identifier(IdentifierKind::Email, &[8; 32])
            .await
            .unwrap(),
        vec![a]
    );
    assert_eq!(tx.identifiers(a).await.unwrap().len(), 2);
}

pub async fn records_filter_by_category(store: &dyn Store) {
    let s = with_subject(store, 1).await;
    let mut tx = store.begin().await.unwrap();
    for (n, cat) in [(1u8, "contacts"), (2, "order"), (3, "order")] {
        tx.insert_record(&RecordRow {
            scope: None,
            subject: s,
            id: RecordId::from_bytes(id(n)),
            category: cat.into(),
            source: "subject".into(),
            created_at_ms: i64::from(n),
            fields: vec![
                FieldRow {
                    field: "a".into(),
                    value_ct: vec![n],
                },
                FieldRow {
                    field: "b".into(),
                    value_ct: vec![n, n],
                },
            ],
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let all = tx.records(s, None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0].fields.len(),
        2,
        "fields must come back with their record"
    );
    let orders = tx.records(s, Some(&["order".to_string()])).await.unwrap();
    assert_eq!(
        orders.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![RecordId::from_bytes(id(2)), RecordId::from_bytes(id(3))]
    );
    assert!(
        tx.records(s, Some(&[])).await.unwrap().is_empty(),
        "an empty filter selects nothing"
    );
    let mut counts = tx.record_counts(s).await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![("contacts".to_string(), 1), ("order".to_string(), 2)]
    );
}

pub async fn consents_withdraw_once(store: &dyn Store) {
    let s = with_subject(store, 1).await;
    let c = ConsentRow {
        subject: s,
        id: ConsentId::from_bytes(id(5)),
        kind: ConsentKind::Marketing,
        purposes: vec!["marketing".into()],
        recipients: vec!["mailer".into()],
        channel: "site".into(),
        evidence_ct: vec![9; 40],
        representative_ct: None,
        document_id: "consent-marketing".into(),
        document_version: "1".into(),
        document_sha256: "ab".repeat(32),
        policy_version: "1.0".into(),
        given_at_ms: 10,
        valid_until: Some("2030-01-01".into()),
        withdrawal: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_consent(&c).await.unwrap();
    tx.commit().await.unwrap();
    let w = Withdrawal {
        at_ms: 20,
        channel: "email".into(),
    };
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.consents(s).await.unwrap(), vec![c.clone()]);
    assert!(tx.withdraw_consent(s, c.id, &w).await.unwrap());
    assert!(
        !tx.withdraw_consent(s, c.id, &w).await.unwrap(),
        "a second withdrawal must report false"
    );
    assert!(
        !tx.withdraw_consent(s, ConsentId::from_bytes(id(6)), &w)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.consents(s).await.unwrap()[0].withdrawal, Some(w));
}

pub async fn contracts_terminate_once(store: &dyn Store) {
    let s = with_subject(store, 1).await;
    let c = ContractRow {
        subject: s,
        id: ContractId::from_bytes(id(3)),
        reference: "Д-1".into(),
        concluded_on: "2025-01-10".into(),
        terminated_on: None,
        created_at_ms: 1,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_contract(&c).await.unwrap();
    assert!(
        tx.terminate_contract(s, c.id, "2025-03-01", 2)
            .await
            .unwrap()
    );
    assert!(
        !tx.terminate_contract(s, c.id, "2025-03-02", 3)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.contracts(s).await.unwrap()[0].terminated_on.as_deref(),
        Some("2025-03-01")
    );
}

pub async fn blocks_lift_once(store: &dyn Store) {
    let s = with_subject(store, 1).await;
    let b = BlockRow {
        subject: s,
        id: BlockId::from_bytes(id(4)),
        category: Some("contacts".into()),
        reason: "проверка".into(),
        placed_at_ms: 1,
        lifted_at_ms: None,
        lift_reason: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_block(&b).await.unwrap();
    assert!(tx.lift_block(s, b.id, 2, "проверено").await.unwrap());
    assert!(!tx.lift_block(s, b.id, 3, "ещё раз").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let stored = &tx.blocks(s).await.unwrap()[0];
    assert_eq!(stored.lifted_at_ms, Some(2));
    assert_eq!(stored.lift_reason.as_deref(), Some("проверено"));
}

pub async fn rollback_discards_changes_and_events(store: &dyn Store) {
    let (s, k) = subject(1);
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_subject(&s, &k).await.unwrap();
        tx.append_audit(event("subject.create")).await.unwrap();
        // Dropped without commit.
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.subject(s.id).await.unwrap(),
        None,
        "an uncommitted subject must not exist"
    );
    assert!(
        store.audit_events(1, 10).await.unwrap().is_empty(),
        "an uncommitted event must not exist"
    );
    let first = tx.append_audit(event("x")).await.unwrap();
    assert_eq!(
        first.seq, 1,
        "the chain must restart from 1 after a rollback"
    );
}

pub async fn audit_chain_is_continuous_across_transactions(store: &dyn Store) {
    for batch in [3, 2] {
        let mut tx = store.begin().await.unwrap();
        for i in 0..batch {
            tx.append_audit(event(&format!("a{i}"))).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let events = store.audit_events(1, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let mut v = Verifier::default();
    for e in &events {
        v.push(e)
            .unwrap_or_else(|b| panic!("stored chain must verify: {b}"));
    }
    assert_eq!(
        store.audit_events(4, 1).await.unwrap()[0].seq,
        4,
        "paging must start at from_seq"
    );
    assert_eq!(
        events[3].record,
        event("a0"),
        "records must read back exactly"
    );
}

pub async fn counts_follow_subjects_and_the_audit_chain(store: &dyn Store) {
    assert_eq!(
        store.counts().await.unwrap(),
        StoreCounts::default(),
        "an empty store holds nothing"
    );
    with_subject(store, 1).await;
    with_subject(store, 2).await;
    let mut tx = store.begin().await.unwrap();
    for i in 0..3 {
        tx.append_audit(event(&format!("a{i}"))).await.unwrap();
    }
    tx.commit().await.unwrap();
    {
        // Uncommitted work is not counted.
        let mut tx = store.begin().await.unwrap();
        let (s, k) = subject(3);
        tx.insert_subject(&s, &k).await.unwrap();
        tx.append_audit(event("rolled back")).await.unwrap();
    }
    assert_eq!(
        store.counts().await.unwrap(),
        StoreCounts {
            audit_events: 3,
            subjects: 2,
            sweep_backlog: 0,
        },
        "counts must follow committed subjects and audit events"
    );
}

pub async fn idempotent_responses_round_trip(store: &dyn Store) {
    let r = IdempotentResponse {
        request_hash: "h".into(),
        status: 201,
        body: "{}".into(),
        created_at_ms: 1,
    };
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.idempotent_response("k").await.unwrap(), None);
    tx.save_idempotent_response("k", &r).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.idempotent_response("k").await.unwrap(), Some(r.clone()));
    assert!(matches!(
        tx.save_idempotent_response("k", &r).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn meta_round_trips(store: &dyn Store) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.meta("x").await.unwrap(), None);
    tx.set_meta("x", "1").await.unwrap();
    tx.set_meta("x", "2").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.meta("x").await.unwrap().as_deref(), Some("2"));
}

fn user(n: u8, login: &str) -> UserRow {
    UserRow {
        id: uuid::Uuid::from_bytes(id(n)),
        login: login.into(),
        full_name: "Иванова Анна".into(),
        role: "agent".into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".into(),
        failed_logins: 0,
        locked_until_ms: None,
        disabled_at_ms: None,
        created_at_ms: 10,
    }
}

pub async fn users_round_trip_and_logins_are_unique(store: &dyn Store) {
    let a = user(1, "ivanova");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&a).await.unwrap();
    tx.insert_user(&user(2, "petrov")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.user(a.id).await.unwrap(),
        Some(a.clone()),
        "user must read back by id"
    );

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.user_by_login("ivanova").await.unwrap(), Some(a.clone()));
    assert_eq!(
        tx.user_by_login("IVANOVA").await.unwrap(),
        None,
        "logins are exact"
    );
    let logins: Vec<String> = tx
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login)
        .collect();
    assert_eq!(logins, ["ivanova", "petrov"], "users are listed by login");
    let err = tx
        .insert_user(&user(3, "ivanova"))
        .await
        .expect_err("a second account with the same login must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "expected Conflict, got {err:?}"
    );
    drop(tx);

    let mut changed = a.clone();
    changed.failed_logins = 5;
    changed.locked_until_ms = Some(99);
    changed.disabled_at_ms = Some(100);
    changed.password_hash = "new".into();
    changed.role = "auditor".into();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.update_user(&changed).await.unwrap());
    assert!(
        !tx.update_user(&user(9, "nobody")).await.unwrap(),
        "unknown user: false"
    );
    tx.commit().await.unwrap();
    assert_eq!(store.user(a.id).await.unwrap(), Some(changed));
}

pub async fn sessions_are_found_by_token_hash_and_end(store: &dyn Store) {
    let u = user(1, "ivanova");
    let s1 = SessionRow {
        token_hash: [1; 32],
        user_id: u.id,
        created_at_ms: 10,
        expires_at_ms: 100,
    };
    let s2 = SessionRow {
        token_hash: [2; 32],
        expires_at_ms: 1_000,
        ..s1.clone()
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&u).await.unwrap();
    tx.insert_session(&s1).await.unwrap();
    tx.insert_session(&s2).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.session(&[1; 32]).await.unwrap(), Some(s1.clone()));
    assert_eq!(store.session(&[3; 32]).await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.delete_expired_sessions(500).await.unwrap(),
        1,
        "only s1 has expired"
    );
    assert!(
        !tx.delete_session(&[1; 32]).await.unwrap(),
        "s1 is already gone"
    );
    tx.commit().await.unwrap();
    assert_eq!(store.session(&[2; 32]).await.unwrap(), Some(s2));

    let mut tx = store.begin().await.unwrap();
    tx.insert_session(&s1).await.unwrap();
    assert_eq!(tx.delete_user_sessions(u.id).await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(store.session(&[2; 32]).await.unwrap(), None);
}

pub async fn api_keys_round_trip_and_revoke_once(store: &dyn Store) {
    let key = ApiKeyRow {
        id: uuid::Uuid::from_bytes(id(1)),
        name: "Служба доставки".into(),
        role: "integration".into(),
        purposes: vec!["order".into(), "delivery".into()],
        categories: vec![],
        secret_hash: [7; 32],
        created_by: "user:ivanova".into(),
        created_at_ms: 10,
        expires_at_ms: Some(1_000),
        revoked_at_ms: None,
    };
    let second = ApiKeyRow {
        id: uuid::Uuid::from_bytes(id(2)),
        categories: vec!["contacts".into()],
        created_at_ms: 20,
        expires_at_ms: None,
        ..key.clone()
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_api_key(&key).await.unwrap();
    tx.insert_api_key(&second).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.api_key(key.id).await.unwrap(), Some(key.clone()));

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.api_keys().await.unwrap(),
        vec![key.clone(), second.clone()]
    );
    assert!(tx.revoke_api_key(key.id, 50).await.unwrap());
    assert!(
        !tx.revoke_api_key(key.id, 60).await.unwrap(),
        "revoked once only"
    );
    assert!(
        !tx.revoke_api_key(uuid::Uuid::from_bytes(id(9)), 60)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let revoked = store.api_key(key.id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at_ms,
        Some(50),
        "the first revocation time stays"
    );
}

/// Strings shaped like SQL injection must be stored and found as plain text.
pub async fn hostile_strings_are_stored_verbatim(store: &dyn Store) {
    let hostile = "x'); DROP TABLE subjects; -- \" OR 1=1 --";
    let mut u = user(1, "hostile");
    u.full_name = hostile.into();
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&u).await.unwrap();
    tx.set_meta(hostile, hostile).await.unwrap();
    tx.save_idempotent_response(
        hostile,
        &IdempotentResponse {
            request_hash: hostile.into(),
            status: 201,
            body: hostile.into(),
            created_at_ms: 1,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    with_subject(store, 5).await;
    assert_eq!(store.meta(hostile).await.unwrap().as_deref(), Some(hostile));
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.user_by_login(hostile).await.unwrap(), None);
    assert_eq!(
        tx.user_by_login("hostile")
            .await
            .unwrap()
            .unwrap()
            .full_name,
        hostile
    );
    assert_eq!(
        tx.idempotent_response(hostile).await.unwrap().unwrap().body,
        hostile
    );
    assert!(
        tx.subject(SubjectId::from_bytes(id(5)))
            .await
            .unwrap()
            .is_some(),
        "tables intact"
    );
}

/// A store holding at least one row of every backed-up table, with lists, NULLs and hostile text.
async fn populate_every_table(store: &dyn Store) -> (SubjectId, SubjectId) {
    let hostile = "x'); DROP TABLE subjects; -- \" OR 1=1 --";
    let a = with_subject(store, 1).await;
    let b = with_subject(store, 2).await;
    let mut tx = store.begin().await.unwrap();
    tx.set_meta("note", hostile).await.unwrap();
    tx.insert_identifier(&IdentifierRow {
        subject: a,
        kind: IdentifierKind::Email,
        blind: [7; 32],
        value_ct: vec![1, 2, 3],
    })
    .await
    .unwrap();
    tx.insert_record(&RecordRow {
        scope: Some(hostile.into()),
        subject: a,
        id: RecordId::from_bytes(id(3)),
        category: "contacts".into(),
        source: "subject".into(),
        created_at_ms: 3,
        fields: vec![FieldRow {
            field: hostile.into(),
            value_ct: vec![0, 255],
        }],
    })
    .await
    .unwrap();
    tx.insert_consent(&ConsentRow {
        subject: a,
        id: ConsentId::from_bytes(id(4)),
        kind: ConsentKind::Processing,
        purposes: vec!["order".into(), hostile.into()],
        recipients: vec![],
        channel: "site".into(),
        evidence_ct: vec![9; 40],
        representative_ct: None,
        document_id: "consent".into(),
        document_version: "1".into(),
        document_sha256: "ab".repeat(32),
        policy_version: "1.0".into(),
        given_at_ms: 10,
        valid_until: None,
        withdrawal: None,
    })
    .await
    .unwrap();
    tx.insert_contract(&ContractRow {
        subject: b,
        id: ContractId::from_bytes(id(5)),
        reference: "№ 1".into(),
        concluded_on: "2025-01-01".into(),
        terminated_on: None,
        created_at_ms: 5,
    })
    .await
    .unwrap();
    tx.insert_block(&BlockRow {
        subject: a,
        id: BlockId::from_bytes(id(6)),
        category: None,
        reason: hostile.into(),
        placed_at_ms: 6,
        lifted_at_ms: None,
        lift_reason: None,
    })
    .await
    .unwrap();
    tx.insert_transfer(&transfer_row(a, 9, hostile))
        .await
        .unwrap();
    tx.insert_recipient_withdrawal(&RecipientWithdrawalRow {
        subject: a,
        consent: ConsentId::from_bytes(id(4)),
        recipient: hostile.into(),
        at_ms: 9,
        channel: "site".into(),
    })
    .await
    .unwrap();
    tx.insert_user(&user(7, "admin")).await.unwrap();
    tx.insert_api_key(&ApiKeyRow {
        id: uuid::Uuid::from_bytes(id(8)),
        name: "crm".into(),
        role: "integration".into(),
        purposes: vec!["order".into()],
        categories: vec![],
        secret_hash: [8; 32],
        created_by: "user:admin".into(),
        created_at_ms: 8,
        expires_at_ms: None,
        revoked_at_ms: None,
    })
    .await
    .unwrap();
    tx.append_audit(event("one")).await.unwrap();
    tx.append_audit(event("two")).await.unwrap();
    tx.insert_tombstone(SubjectId::from_bytes(id(9)), 9)
        .await
        .unwrap();
    tx.insert_message(&outbox_message(11, None)).await.unwrap();
    tx.insert_anchor(&anchor(
        a,
        12,
        "order_fulfilled",
        Some("заказ № 5"),
        "2026-01-10",
    ))
    .await
    .unwrap();
    let request = journal_request(10, 2026, 1, None);
    tx.insert_request(&request).await.unwrap();
    tx.insert_request_entry(&journal_entry(&request, 1, "received", None))
        .await
        .unwrap();
    tx.insert_category_key(&category_key(a, "contacts", 13))
        .await
        .unwrap();
    // The subject has no records of this category, so only the tombstone is written.
    assert_eq!(tx.destroy_category(a, "order", 14).await.unwrap(), 0);
    // An open act (its closing columns NULL) and a closed one with an entry.
    tx.insert_act(&act(1, 2026, 1)).await.unwrap();
    let closed = ActRow {
        closed_at_ms: Some(15),
        entries: Some(1),
        sha256: Some("cd".repeat(32)),
        expires_on: Some("2029-01-01".into()),
        expired_at_ms: None,
        ..act(2, 2026, 2)
    };
    tx.insert_act(&closed).await.unwrap();
    tx.insert_act_entry(&act_entry(&closed, 1, a))
        .await
        .unwrap();
    tx.insert_retained(&retained_row(1)).await.unwrap();
    // An incident with a hostile category name, and an entry with every nullable column NULL.
    let incident = IncidentRow {
        categories: vec!["contacts".into(), hostile.into()],
        ..incident_row(1, 2026, 1)
    };
    tx.insert_incident(&incident).await.unwrap();
    tx.insert_incident_entry(&incident_entry(&incident, 1, "registered", None))
        .await
        .unwrap();
    tx.insert_incident_entry(&IncidentEntryRow {
        details_ct: None,
        ..incident_entry(&incident, 2, "registered", None)
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (a, b)
}

fn incident_row(n: u8, year: i16, seq: u32) -> IncidentRow {
    IncidentRow {
        id: uuid::Uuid::from_bytes(id(150 + n)),
        year,
        seq,
        detected_at_ms: 1_767_000_000_000 + i64::from(n),
        registered_at_ms: 1_767_000_100_000 + i64::from(n),
        registered_by: "agent".into(),
        categories: vec!["contacts".into(), "order".into()],
        subjects: 120 + i64::from(n),
        identifiers: 0,
        details_ct: vec![n; 24],
    }
}

fn incident_entry(
    incident: &IncidentRow,
    entry_no: u32,
    status: &str,
    occurred_at_ms: Option<i64>,
) -> IncidentEntryRow {
    IncidentEntryRow {
        incident: incident.id,
        entry_no,
        at_ms: 3_000 + i64::from(entry_no),
        actor: "dpo".into(),
        step: "step".into(),
        status: status.into(),
        occurred_at_ms,
        details_ct: Some(vec![5; usize::try_from(entry_no).unwrap_or(1)]),
    }
}

pub async fn the_incident_register_numbers_incidents_and_derives_their_status(store: &dyn Store) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_incident_seq(2026).await.unwrap(), 1);
    assert!(tx.incidents(None, 10, &[]).await.unwrap().is_empty());
    let a = incident_row(1, 2026, 1);
    let b = IncidentRow {
        categories: vec![],
        ..incident_row(2, 2026, 2)
    };
    let c = incident_row(3, 2027, 1);
    for i in [&a, &b, &c] {
        tx.insert_incident(i).await.unwrap();
        tx.insert_incident_entry(&incident_entry(i, 1, "registered", None))
            .await
            .unwrap();
    }
    assert_eq!(tx.next_incident_seq(2026).await.unwrap(), 3);
    assert_eq!(tx.next_incident_seq(2027).await.unwrap(), 2);
    assert_eq!(tx.next_incident_seq(2028).await.unwrap(), 1);
    tx.insert_incident_entry(&incident_entry(&a, 2, "first_notice_sent", Some(4_000)))
        .await
        .unwrap();
    tx.insert_incident_entry(&incident_entry(&a, 3, "first_notice_sent", None))
        .await
        .unwrap();
    tx.insert_incident_entry(&incident_entry(&c, 2, "dismissed", None))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let got = tx
        .incident_by_number(2026, 1)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.incident, a, "the incident reads back as written");
    assert_eq!(got.status, "first_notice_sent", "the last entry's status");
    assert_eq!(got.entries, 3);
    let got = tx
        .incident_by_number(2026, 2)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.incident, b, "an empty category list reads back empty");
    assert_eq!(got.status, "registered");
    assert!(tx.incident_by_number(2026, 9).await.unwrap().is_none());
    assert_eq!(
        tx.incident_entries(a.id).await.unwrap(),
        vec![
            incident_entry(&a, 1, "registered", None),
            incident_entry(&a, 2, "first_notice_sent", Some(4_000)),
            incident_entry(&a, 3, "first_notice_sent", None),
        ]
    );
    assert!(
        tx.incident_entries(uuid::Uuid::from_bytes(id(250)))
            .await
            .unwrap()
            .is_empty()
    );
    let numbers = |list: Vec<IncidentState>| -> Vec<(i16, u32)> {
        list.iter()
            .map(|i| (i.incident.year, i.incident.seq))
            .collect()
    };
    assert_eq!(
        numbers(tx.incidents(None, 10, &[]).await.unwrap()),
        vec![(2026, 1), (2026, 2), (2027, 1)]
    );
    assert_eq!(
        numbers(tx.incidents(Some((2026, 1)), 1, &[]).await.unwrap()),
        vec![(2026, 2)]
    );
    let open = ["registered".to_string(), "first_notice_sent".to_string()];
    assert_eq!(
        numbers(tx.incidents(None, 10, &open).await.unwrap()),
        vec![(2026, 1), (2026, 2)]
    );
    assert_eq!(
        numbers(tx.incidents(Some((2026, 2)), 10, &open).await.unwrap()),
        vec![]
    );
    drop(tx);
    // Outside any transaction, for monitoring: detection times and last statuses.
    assert_eq!(
        store.incident_statuses(&open).await.unwrap(),
        vec![
            (a.detected_at_ms, "first_notice_sent".to_string()),
            (b.detected_at_ms, "registered".to_string()),
        ]
    );
    assert_eq!(store.incident_statuses(&[]).await.unwrap().len(), 3);

    // A failed statement ends a PostgreSQL transaction, so each refusal gets its own.
    let mut tx = store.begin().await.unwrap();
    assert!(
        matches!(
            tx.insert_incident(&incident_row(4, 2026, 2)).await,
            Err(StoreError::Conflict(_))
        ),
        "a number is given once"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        matches!(
            tx.insert_incident_entry(&incident_entry(&a, 3, "closed", None))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an entry is never replaced"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.insert_incident(&IncidentRow {
            subjects: -1,
            ..incident_row(5, 2026, 5)
        })
        .await
        .is_err(),
        "counts are never negative"
    );
}

fn retained_row(n: u8) -> RetainedRow {
    RetainedRow {
        id: uuid::Uuid::from_bytes([n; 16]),
        kind: "user".into(),
        category: "search_queries".into(),
        rule: "search_queries".into(),
        fields_ct: vec![n, 0, 0xff],
        depersonalised_at_ms: 1_700_000_000_000 + i64::from(n),
    }
}

pub async fn retained_records_round_trip_in_id_order(store: &dyn Store) {
    let mut tx = store.begin().await.unwrap();
    assert!(tx.retained(None, 10).await.unwrap().is_empty());
    for n in [3, 1, 2] {
        tx.insert_retained(&retained_row(n)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let first = tx.retained(None, 2).await.unwrap();
    assert_eq!(first, [retained_row(1), retained_row(2)]);
    let rest = tx.retained(Some(first[1].id), 2).await.unwrap();
    assert_eq!(rest, [retained_row(3)]);
    assert!(tx.retained(Some(rest[0].id), 2).await.unwrap().is_empty());
    // A second row with the same id is a conflict, not a silent overwrite.
    assert!(tx.insert_retained(&retained_row(1)).await.is_err());
}

fn transfer_row(subject: SubjectId, n: u8, recipient: &str) -> TransferRow {
    TransferRow {
        subject,
        id: TransferId::from_bytes(id(n)),
        at_ms: 100 + i64::from(n),
        recipient: recipient.into(),
        purpose: "order".into(),
        categories: vec!["contacts".into(), "order".into()],
        basis: "contract".into(),
        basis_kind: "contract".into(),
        consent: n
            .is_multiple_of(2)
            .then(|| ConsentId::from_bytes(id(n + 1))),
        details_ct: (!n.is_multiple_of(2)).then(|| vec![n; 4]),
        actor: "user:agent".into(),
    }
}

pub async fn transfers_and_recipient_withdrawals_round_trip(store: &dyn Store) {
    let a = with_subject(store, 1).await;
    let b = with_subject(store, 2).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.transfers(a).await.unwrap().is_empty());
    for n in [12, 11] {
        tx.insert_transfer(&transfer_row(a, n, "courier"))
            .await
            .unwrap();
    }
    tx.insert_transfer(&transfer_row(b, 13, "partner"))
        .await
        .unwrap();
    let w = RecipientWithdrawalRow {
        subject: a,
        consent: ConsentId::from_bytes(id(20)),
        recipient: "partner".into(),
        at_ms: 200,
        channel: "site".into(),
    };
    assert!(tx.insert_recipient_withdrawal(&w).await.unwrap());
    // Withdrawing twice changes nothing and says so.
    assert!(
        !tx.insert_recipient_withdrawal(&RecipientWithdrawalRow {
            at_ms: 300,
            ..w.clone()
        })
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    // Oldest first, each subject its own.
    assert_eq!(
        tx.transfers(a).await.unwrap(),
        [
            transfer_row(a, 11, "courier"),
            transfer_row(a, 12, "courier")
        ]
    );
    assert_eq!(
        tx.transfers(b).await.unwrap(),
        [transfer_row(b, 13, "partner")]
    );
    assert_eq!(tx.recipient_withdrawals(a).await.unwrap(), [w]);
    assert!(tx.recipient_withdrawals(b).await.unwrap().is_empty());
    // A second transfer with the same id is a conflict, not an overwrite.
    assert!(
        tx.insert_transfer(&transfer_row(a, 11, "other"))
            .await
            .is_err()
    );
}

async fn export_all(store: &dyn Store) -> Vec<(&'static str, BackupRow)> {
    let tables: Vec<&'static TableSpec> = backup::TABLES.iter().collect();
    let mut rows = Vec::new();
    store
        .export(&tables, &mut |t, row| {
            rows.push((t.name, row));
            Ok(())
        })
        .await
        .expect("export");
    rows
}

pub async fn every_table_is_backed_up_or_left_out_on_purpose(store: &dyn Store) {
    let mut listed: Vec<&str> = backup::TABLES
        .iter()
        .map(|t| t.name)
        .chain(backup::NOT_BACKED_UP.iter().map(|(name, _)| *name))
        .collect();
    listed.sort_unstable();
    let actual = store.table_names().await.unwrap();
    assert_eq!(
        actual, listed,
        "every table of the schema must be in pdv_store::backup::TABLES or NOT_BACKED_UP"
    );
}

pub async fn export_and_insert_rows_round_trip(store: &dyn Store) {
    populate_every_table(store).await;
    let before = export_all(store).await;
    for t in backup::TABLES {
        assert!(
            before.iter().any(|(name, _)| *name == t.name),
            "the fixture must fill {}",
            t.name
        );
    }
    for (name, row) in &before {
        let spec = backup::table(name).unwrap();
        assert_eq!(
            row.len(),
            spec.columns.len(),
            "{name}: one value per column"
        );
        for (v, c) in row.iter().zip(spec.columns) {
            assert!(v.fits(c), "{name}.{} exported as {v:?}", c.name);
        }
    }
    let mut tx = store.begin().await.unwrap();
    for t in backup::TABLES.iter().rev() {
        tx.clear_table(t.name).await.unwrap();
        assert_eq!(tx.count_rows(t).await.unwrap(), 0, "{} cleared", t.name);
    }
    for t in backup::TABLES {
        let rows: Vec<BackupRow> = before
            .iter()
            .filter(|(name, _)| *name == t.name)
            .map(|(_, r)| r.clone())
            .collect();
        tx.insert_rows(t, &rows, false).await.unwrap();
        // Inserting the same rows again is a conflict, unless asked to skip what exists.
        if !rows.is_empty() {
            tx.insert_rows(t, &rows, true).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    assert_eq!(
        export_all(store).await,
        before,
        "rows must come back exactly as exported"
    );
    let mut tx = store.begin().await.unwrap();
    let meta = backup::table("meta").unwrap();
    let one = vec![vec![
        Value::Text("note".into()),
        Value::Text("other".into()),
    ]];
    assert!(
        matches!(
            tx.insert_rows(meta, &one, false).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate key without skip_existing is a conflict"
    );
}

/// How many rows each swept table holds.
async fn swept_counts(tx: &mut dyn Transaction) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    for name in backup::SWEPT_TABLES {
        out.push((
            name,
            tx.count_rows(backup::table(name).unwrap()).await.unwrap(),
        ));
    }
    out
}

pub async fn shredding_keys_hides_a_subject_until_the_sweep_deletes_the_rest(store: &dyn Store) {
    let (a, b) = populate_every_table(store).await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.shred_keys(&[], 70).await.unwrap(), 0);
    let deleted = tx.shred_keys(&[a], 70).await.unwrap();
    assert_eq!(deleted, 1, "the data key, nothing else");
    assert_eq!(tx.tombstone(a).await.unwrap(), Some(70));
    assert_eq!(tx.wrapped_key(a).await.unwrap(), None);
    // The leftovers are still there, the category key under the shredded data key among them,
    // and no read may return them.
    assert_eq!(tx.category_key(a, "contacts").await.unwrap(), None);
    let before = swept_counts(&mut *tx).await;
    assert!(
        before.iter().filter(|(_, n)| *n > 0).count() >= 8,
        "the sweep has work: {before:?}"
    );
    assert!(tx.identifiers(a).await.unwrap().is_empty(), "identifiers");
    assert!(
        tx.find_by_identifier(IdentifierKind::Email, &[7; 32])
            .await
            .unwrap()
            .is_empty(),
        "a lookup by a shredded subject's e-mail"
    );
    assert!(tx.records(a, None).await.unwrap().is_empty(), "records");
    assert!(
        tx.record_counts(a).await.unwrap().is_empty(),
        "record counts"
    );
    assert!(tx.consents(a).await.unwrap().is_empty(), "consents");
    assert!(tx.blocks(a).await.unwrap().is_empty(), "blocks");
    assert!(tx.transfers(a).await.unwrap().is_empty(), "transfers");
    assert!(
        tx.recipient_withdrawals(a).await.unwrap().is_empty(),
        "recipient withdrawals"
    );
    assert!(tx.anchors(a).await.unwrap().is_empty(), "anchors");
    assert!(
        tx.category_tombstones(a).await.unwrap().is_empty(),
        "category tombstones"
    );
    assert!(tx.subject(a).await.unwrap().is_some(), "the id stays");
    assert_eq!(
        tx.live_subjects(None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect::<Vec<_>>(),
        vec![b]
    );
    assert_eq!(tx.tombstoned_subjects().await.unwrap(), vec![a]);
    assert!(tx.subjects_without_key().await.unwrap().is_empty());
    // Others are untouched.
    assert_eq!(tx.tombstone(b).await.unwrap(), None);
    assert!(tx.wrapped_key(b).await.unwrap().is_some());
    assert_eq!(tx.contracts(b).await.unwrap().len(), 1);
    // Someone new may register with the shredded subject's e-mail before the sweep.
    let (c, c_key) = subject(3);
    tx.insert_subject(&c, &c_key).await.unwrap();
    tx.insert_identifier(&IdentifierRow {
        subject: c.id,
        kind: IdentifierKind::Email,
        blind: [7; 32],
        value_ct: vec![4, 5, 6],
    })
    .await
    .expect("the shredded subject's identifier must not block a new one");
    assert_eq!(
        tx.find_by_identifier(IdentifierKind::Email, &[7; 32])
            .await
            .unwrap(),
        vec![c.id]
    );
    // Shredding again is harmless: no keys left, the first tombstone stays.
    assert_eq!(tx.shred_keys(&[a, a], 80).await.unwrap(), 0);
    assert_eq!(tx.tombstone(a).await.unwrap(), Some(70));
    tx.commit().await.unwrap();
    assert_eq!(store.counts().await.unwrap().sweep_backlog, 1);

    // A backup taken before the sweep carries none of the leftovers.
    let exported = export_all(store).await;
    for (name, row) in &exported {
        if backup::SWEPT_TABLES.contains(name) {
            assert_ne!(
                row.first(),
                Some(&Value::Bytes(a.as_bytes().to_vec())),
                "{name}: a shredded subject's row in the archive"
            );
        }
    }
    assert!(
        exported.iter().any(|(name, row)| *name == "key_tombstones"
            && row.first() == Some(&Value::Bytes(a.as_bytes().to_vec()))),
        "the tombstone itself is backed up"
    );

    let mut tx = store.begin().await.unwrap();
    let swept = tx.sweep_shredded(10).await.unwrap();
    // identifier, record, field, consent, block, transfer, recipient withdrawal, anchor,
    // category tombstone, category key
    assert_eq!(
        swept,
        SweepOutcome {
            subjects: 1,
            rows: 10
        }
    );
    for (name, n) in swept_counts(&mut *tx).await {
        let expected = match name {
            "contracts" | "subject_identifiers" => 1,
            _ => 0,
        };
        assert_eq!(n, expected, "{name} after the sweep");
    }
    assert_eq!(
        tx.sweep_shredded(10).await.unwrap(),
        SweepOutcome::default(),
        "nothing left to sweep"
    );
    assert_eq!(
        tx.tombstone(a).await.unwrap(),
        Some(70),
        "the tombstone stays"
    );
    assert!(tx.subject(a).await.unwrap().is_some(), "the id stays");
    assert_eq!(tx.identifiers(c.id).await.unwrap().len(), 1, "others stay");
    tx.commit().await.unwrap();
    assert_eq!(store.counts().await.unwrap().sweep_backlog, 0);
}

pub async fn sweeping_is_bounded_resumable_and_idempotent(store: &dyn Store) {
    let mut subjects = Vec::new();
    for n in 1..=5 {
        let s = with_subject(store, n).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_record(&record(s, 100 + n, "contacts", 1, None))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        subjects.push(s);
    }
    let kept = with_subject(store, 9).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_record(&record(kept, 109, "contacts", 1, None))
        .await
        .unwrap();
    assert_eq!(tx.shred_keys(&subjects, 10).await.unwrap(), 5);
    tx.commit().await.unwrap();
    assert_eq!(store.counts().await.unwrap().sweep_backlog, 5);
    let records = backup::table("pd_records").unwrap();

    // A sweep rolled back (a killed process) changes nothing.
    {
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.sweep_shredded(3).await.unwrap().subjects, 3);
    }
    assert_eq!(store.counts().await.unwrap().sweep_backlog, 5);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.count_rows(records).await.unwrap(), 6);
    assert_eq!(tx.sweep_shredded(0).await.unwrap(), SweepOutcome::default());
    let mut left = 6;
    for expected in [2, 2, 1, 0] {
        let swept = tx.sweep_shredded(2).await.unwrap();
        assert_eq!(
            swept,
            SweepOutcome {
                subjects: expected,
                // a record and its two fields each
                rows: expected * 3
            },
            "at most the limit per call"
        );
        left -= expected;
        assert_eq!(tx.count_rows(records).await.unwrap(), left);
    }
    tx.commit().await.unwrap();
    assert_eq!(store.counts().await.unwrap().sweep_backlog, 0);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.records(kept, None).await.unwrap().len(),
        1,
        "the live one stays"
    );
    // A subject shredded again after its sweep is queued again and has nothing left.
    tx.shred_keys(&subjects[..1], 20).await.unwrap();
    assert_eq!(
        tx.sweep_shredded(10).await.unwrap(),
        SweepOutcome {
            subjects: 1,
            rows: 0
        }
    );
}

pub async fn purge_and_tombstones_destroy_one_subject_only(store: &dyn Store) {
    let (a, b) = populate_every_table(store).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.insert_tombstone(a, 50).await.unwrap());
    assert!(!tx.insert_tombstone(a, 60).await.unwrap(), "only once");
    assert_eq!(tx.tombstone(a).await.unwrap(), Some(50));
    assert_eq!(tx.tombstone(b).await.unwrap(), None);
    let deleted = tx.purge_subject(a).await.unwrap();
    // identifier, record, field, consent, block, transfer, recipient withdrawal, anchor, category
    // tombstone, category key, key
    assert_eq!(
        deleted, 11,
        "every row of the subject's data, its destroyed categories and its keys"
    );
    assert!(tx.category_tombstones(a).await.unwrap().is_empty());
    assert_eq!(tx.category_key(a, "contacts").await.unwrap(), None);
    assert_eq!(
        tx.act_entry_count(act(2, 2026, 2).id).await.unwrap(),
        1,
        "a destruction act outlives the subject it records"
    );
    assert!(tx.anchors(a).await.unwrap().is_empty());
    assert_eq!(tx.wrapped_key(a).await.unwrap(), None);
    assert!(tx.records(a, None).await.unwrap().is_empty());
    assert!(tx.identifiers(a).await.unwrap().is_empty());
    assert!(tx.consents(a).await.unwrap().is_empty());
    assert!(tx.blocks(a).await.unwrap().is_empty());
    assert!(tx.subject(a).await.unwrap().is_some(), "the id stays");
    assert!(
        tx.wrapped_key(b).await.unwrap().is_some(),
        "others untouched"
    );
    assert_eq!(tx.contracts(b).await.unwrap().len(), 1);
    assert_eq!(tx.tombstoned_subjects().await.unwrap(), vec![a]);
    assert!(tx.subjects_without_key().await.unwrap().is_empty());
    tx.commit().await.unwrap();

    // A key whose subject is gone or destroyed is pruned; a subject without key is reported.
    let mut tx = store.begin().await.unwrap();
    let keys = backup::table("subject_keys").unwrap();
    tx.insert_rows(
        keys,
        &[
            vec![
                Value::Bytes(a.as_bytes().to_vec()),
                Value::Bytes(vec![1; 60]),
                Value::Text("k1".into()),
                Value::Int(1),
            ],
            vec![
                Value::Bytes(id(77).to_vec()),
                Value::Bytes(vec![1; 60]),
                Value::Text("k1".into()),
                Value::Int(1),
            ],
        ],
        false,
    )
    .await
    .expect("the key store does not depend on the data tables");
    assert_eq!(tx.prune_keys().await.unwrap(), 2);
    assert_eq!(tx.wrapped_key(a).await.unwrap(), None);
    tx.purge_subject(b).await.unwrap();
    assert_eq!(tx.subjects_without_key().await.unwrap(), vec![b]);
}

fn journal_request(n: u8, year: i16, seq: u32, subject: Option<SubjectId>) -> RequestRow {
    RequestRow {
        id: uuid::Uuid::from_bytes(id(100 + n)),
        year,
        seq,
        kind: if n.is_multiple_of(2) {
            "access"
        } else {
            "stop_marketing"
        }
        .into(),
        channel: "email".into(),
        subject,
        received_at_ms: 1_000 + i64::from(n),
        rule: "D1".into(),
        due: "2026-01-23".into(),
        calendar: "2026".into(),
        provisional: n == 3,
        details_ct: vec![n; 20],
    }
}

fn journal_entry(
    request: &RequestRow,
    entry_no: u32,
    status: &str,
    due: Option<&str>,
) -> RequestEntryRow {
    RequestEntryRow {
        request: request.id,
        entry_no,
        at_ms: 2_000 + i64::from(entry_no),
        actor: "user:dpo".into(),
        step: "note".into(),
        status: status.into(),
        due: due.map(str::to_string),
        details_ct: entry_no.is_multiple_of(2).then(|| vec![7; 12]),
    }
}

pub async fn the_journal_numbers_requests_and_derives_their_state(store: &dyn Store) {
    let s = with_subject(store, 1).await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_request_seq(2026).await.unwrap(), 1);
    let a = journal_request(2, 2026, 1, Some(s));
    let b = journal_request(3, 2026, 2, None);
    let c = journal_request(4, 2027, 1, Some(s));
    for r in [&a, &b, &c] {
        tx.insert_request(r).await.unwrap();
        tx.insert_request_entry(&journal_entry(r, 1, "received", None))
            .await
            .unwrap();
    }
    assert_eq!(tx.next_request_seq(2026).await.unwrap(), 3);
    assert_eq!(tx.next_request_seq(2027).await.unwrap(), 2);
    tx.insert_request_entry(&journal_entry(&a, 2, "identity_checked", None))
        .await
        .unwrap();
    tx.insert_request_entry(&journal_entry(&a, 3, "extended", Some("2026-01-30")))
        .await
        .unwrap();
    tx.insert_request_entry(&journal_entry(&a, 4, "answered", None))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let got = tx.request(a.id).await.unwrap().expect("found");
    assert_eq!(got.request, a, "the request reads back as written");
    assert_eq!(got.status, "answered", "the last entry's status");
    assert_eq!(got.due, "2026-01-30", "the last due date an entry set");
    assert_eq!(got.entries, 4);
    let got = tx.request_by_number(2026, 2).await.unwrap().expect("found");
    assert_eq!(got.request, b);
    assert_eq!(
        (got.status.as_str(), got.due.as_str()),
        ("received", "2026-01-23")
    );
    assert!(tx.request_by_number(2026, 9).await.unwrap().is_none());
    assert!(
        tx.request(uuid::Uuid::from_bytes(id(250)))
            .await
            .unwrap()
            .is_none()
    );
    let entries = tx.request_entries(a.id).await.unwrap();
    assert_eq!(
        entries,
        (1..=4)
            .zip(["received", "identity_checked", "extended", "answered"])
            .map(|(n, st)| journal_entry(&a, n, st, (n == 3).then_some("2026-01-30")))
            .collect::<Vec<_>>()
    );

    let numbers = |list: Vec<RequestState>| -> Vec<(i16, u32)> {
        list.iter()
            .map(|r| (r.request.year, r.request.seq))
            .collect()
    };
    let all = RequestQuery {
        limit: 10,
        ..RequestQuery::default()
    };
    assert_eq!(
        numbers(tx.requests(&all).await.unwrap()),
        vec![(2026, 1), (2026, 2), (2027, 1)]
    );
    let open = RequestQuery {
        statuses: vec!["received".into(), "extended".into()],
        ..all.clone()
    };
    assert_eq!(
        numbers(tx.requests(&open).await.unwrap()),
        vec![(2026, 2), (2027, 1)]
    );
    let of_subject = RequestQuery {
        subject: Some(s),
        kind: Some("access".into()),
        ..all.clone()
    };
    assert_eq!(
        numbers(tx.requests(&of_subject).await.unwrap()),
        vec![(2026, 1), (2027, 1)]
    );
    let page = RequestQuery {
        after: Some((2026, 1)),
        limit: 1,
        ..all.clone()
    };
    assert_eq!(numbers(tx.requests(&page).await.unwrap()), vec![(2026, 2)]);
    drop(tx);

    // A failed statement ends a PostgreSQL transaction, so each refusal gets its own.
    let mut tx = store.begin().await.unwrap();
    assert!(
        matches!(
            tx.insert_request(&journal_request(5, 2026, 2, None)).await,
            Err(StoreError::Conflict(_))
        ),
        "a number is given once"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        matches!(
            tx.insert_request_entry(&journal_entry(&a, 4, "refused", None))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an entry is never replaced"
    );
}

fn outbox_message(n: u8, request: Option<uuid::Uuid>) -> OutboxRow {
    OutboxRow {
        id: uuid::Uuid::from_bytes(id(200 + n)),
        created_at_ms: 3_000 + i64::from(n),
        request,
        kind: "answer".into(),
        channel: "email".into(),
        address_ct: vec![n; 10],
        body_ct: vec![n; 30],
        status: "queued".into(),
        status_at_ms: 3_000 + i64::from(n),
        note: None,
    }
}

pub async fn the_outbox_queues_and_records_delivery_once(store: &dyn Store) {
    let r = journal_request(1, 2026, 1, None);
    let mut tx = store.begin().await.unwrap();
    tx.insert_request(&r).await.unwrap();
    for n in [3, 1, 2] {
        tx.insert_message(&outbox_message(n, Some(r.id)))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let queued = tx.messages("queued", None, 10).await.unwrap();
    assert_eq!(
        queued.iter().map(|m| m.id).collect::<Vec<_>>(),
        [1, 2, 3].map(|n| outbox_message(n, None).id),
        "oldest first"
    );
    assert_eq!(
        queued[0],
        outbox_message(1, Some(r.id)),
        "reads back as written"
    );
    let page = tx.messages("queued", Some(queued[0].id), 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, queued[1].id);
    let first = queued[0].id;
    assert!(
        tx.set_message_status(first, "sent", 4_000, Some("трек 123"))
            .await
            .unwrap()
    );
    assert!(
        !tx.set_message_status(first, "failed", 4_001, None)
            .await
            .unwrap(),
        "a delivered message stays delivered"
    );
    let m = tx.message(first).await.unwrap().unwrap();
    assert_eq!(
        (m.status.as_str(), m.status_at_ms, m.note.as_deref()),
        ("sent", 4_000, Some("трек 123"))
    );
    assert_eq!(tx.messages("queued", None, 10).await.unwrap().len(), 2);
    assert_eq!(tx.messages("sent", None, 10).await.unwrap().len(), 1);
    assert!(
        tx.message(uuid::Uuid::from_bytes(id(99)))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !tx.set_message_status(uuid::Uuid::from_bytes(id(99)), "sent", 1, None)
            .await
            .unwrap()
    );
}

fn anchor(subject: SubjectId, n: u8, event: &str, scope: Option<&str>, on: &str) -> AnchorRow {
    AnchorRow {
        subject,
        id: uuid::Uuid::from_bytes(id(n)),
        event: event.into(),
        scope: scope.map(str::to_string),
        purpose: None,
        occurred_on: on.into(),
        recorded_at_ms: 5_000 + i64::from(n),
    }
}

pub async fn anchors_round_trip_in_date_order(store: &dyn Store) {
    let a = with_subject(store, 1).await;
    let b = with_subject(store, 2).await;
    let rows = [
        anchor(a, 30, "claim_closed", Some("претензия 7"), "2026-02-01"),
        anchor(a, 31, "order_fulfilled", Some("заказ № 5"), "2026-01-10"),
        anchor(b, 32, "account_deleted", None, "2026-01-05"),
    ];
    let mut tx = store.begin().await.unwrap();
    for r in &rows {
        tx.insert_anchor(r).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.anchors(a).await.unwrap(),
        vec![rows[1].clone(), rows[0].clone()]
    );
    assert_eq!(tx.anchors(b).await.unwrap(), vec![rows[2].clone()]);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        matches!(
            tx.insert_anchor(&rows[0]).await,
            Err(StoreError::Conflict(_))
        ),
        "an event is recorded once"
    );
}

fn category_key(subject: SubjectId, category: &str, created_at_ms: i64) -> CategoryKeyRow {
    CategoryKeyRow {
        subject,
        category: category.into(),
        wrapped: vec![created_at_ms as u8; 40],
        created_at_ms,
    }
}

/// A record with two fields.
fn record(
    subject: SubjectId,
    n: u8,
    category: &str,
    created_at_ms: i64,
    scope: Option<&str>,
) -> RecordRow {
    RecordRow {
        subject,
        id: RecordId::from_bytes(id(n)),
        category: category.into(),
        source: "subject".into(),
        created_at_ms,
        scope: scope.map(str::to_string),
        fields: vec![
            FieldRow {
                field: "a".into(),
                value_ct: vec![n],
            },
            FieldRow {
                field: "b".into(),
                value_ct: vec![n, n],
            },
        ],
    }
}

fn record_ids(records: &[RecordRow]) -> Vec<RecordId> {
    records.iter().map(|r| r.id).collect()
}

pub async fn destroying_a_category_spares_the_rest_and_stays_destroyed(store: &dyn Store) {
    let a = with_subject(store, 1).await;
    let b = with_subject(store, 2).await;
    let contacts = record(a, 10, "contacts", 5, None);
    let old_order = record(a, 11, "order", 5, Some("заказ № 1"));
    let other_order = record(a, 12, "order", 6, Some("заказ № 2"));
    let b_order = record(b, 13, "order", 5, None);
    let mut tx = store.begin().await.unwrap();
    for r in [&contacts, &old_order, &other_order, &b_order] {
        tx.insert_record(r).await.unwrap();
    }
    for (s, c) in [(a, "contacts"), (a, "order"), (b, "order")] {
        tx.insert_category_key(&category_key(s, c, 10))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.category_key(a, "order").await.unwrap(),
        Some(category_key(a, "order", 10)),
        "a category key reads back as written"
    );
    assert_eq!(tx.category_key(a, "photos").await.unwrap(), None);
    let err = tx
        .insert_category_key(&category_key(a, "order", 11))
        .await
        .expect_err("a second key for the same category must be refused");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "expected Conflict, got {err:?}"
    );
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.destroy_category(a, "order", 100).await.unwrap(),
        7,
        "two records, their four fields and the category key"
    );
    assert_eq!(
        tx.records(a, None).await.unwrap(),
        vec![contacts.clone()],
        "the subject's other categories stay"
    );
    assert_eq!(
        tx.records(b, None).await.unwrap(),
        vec![b_order.clone()],
        "another subject's records of the same category stay"
    );
    assert_eq!(tx.category_key(a, "order").await.unwrap(), None);
    assert!(tx.category_key(a, "contacts").await.unwrap().is_some());
    assert!(tx.category_key(b, "order").await.unwrap().is_some());
    assert_eq!(
        tx.category_tombstones(a).await.unwrap(),
        vec![("order".to_string(), 100)]
    );
    assert!(tx.category_tombstones(b).await.unwrap().is_empty());
    assert_eq!(tx.destroy_category(a, "order", 50).await.unwrap(), 0);
    assert_eq!(
        tx.category_tombstones(a).await.unwrap(),
        vec![("order".to_string(), 100)],
        "a tombstone never moves back"
    );
    assert_eq!(tx.destroy_category(a, "order", 150).await.unwrap(), 0);
    assert_eq!(tx.destroy_category(a, "delivery", 120).await.unwrap(), 0);
    assert_eq!(
        tx.category_tombstones(a).await.unwrap(),
        vec![("delivery".to_string(), 120), ("order".to_string(), 150)],
        "a tombstone moves forward; tombstones come by category"
    );
    tx.commit().await.unwrap();

    // A restore of an older backup brings back a record and the key of the destroyed category;
    // a record of the category made after the destruction belongs to a new period and stays.
    let new_order = record(a, 14, "order", 200, Some("заказ № 3"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_record(&old_order).await.unwrap();
    tx.insert_record(&new_order).await.unwrap();
    tx.insert_category_key(&category_key(a, "order", 10))
        .await
        .unwrap();
    assert_eq!(
        tx.purge_destroyed_categories().await.unwrap(),
        4,
        "the old record, its two fields and the old key"
    );
    assert_eq!(
        tx.records(a, None).await.unwrap(),
        vec![contacts.clone(), new_order.clone()]
    );
    assert_eq!(tx.records(b, None).await.unwrap(), vec![b_order.clone()]);
    tx.insert_category_key(&category_key(a, "order", 200))
        .await
        .unwrap();
    assert_eq!(
        tx.purge_destroyed_categories().await.unwrap(),
        0,
        "a key made after the destruction stays"
    );
    assert!(tx.category_key(a, "order").await.unwrap().is_some());

    // Category keys of a destroyed subject or of one that is gone go too, with prune_keys as
    // with purge_destroyed_categories.
    let ghost = SubjectId::from_bytes(id(77));
    assert!(tx.insert_tombstone(b, 300).await.unwrap());
    tx.insert_category_key(&category_key(ghost, "contacts", 1))
        .await
        .unwrap();
    assert_eq!(tx.purge_destroyed_categories().await.unwrap(), 2);
    assert_eq!(tx.category_key(b, "order").await.unwrap(), None);
    tx.insert_category_key(&category_key(b, "order", 10))
        .await
        .unwrap();
    tx.insert_category_key(&category_key(ghost, "contacts", 1))
        .await
        .unwrap();
    assert_eq!(
        tx.prune_keys().await.unwrap(),
        3,
        "b's data key and category key, and the ghost's category key"
    );
    assert_eq!(tx.category_key(b, "order").await.unwrap(), None);
    assert_eq!(tx.category_key(ghost, "contacts").await.unwrap(), None);
    assert!(
        tx.category_key(a, "contacts").await.unwrap().is_some(),
        "a live subject's keys stay"
    );

    // Destroying the whole subject takes its category keys and category tombstones with it.
    assert_eq!(
        tx.purge_subject(a).await.unwrap(),
        11,
        "two records with four fields, two category keys, two category tombstones, the data key"
    );
    assert_eq!(tx.category_key(a, "contacts").await.unwrap(), None);
    assert_eq!(tx.category_key(a, "order").await.unwrap(), None);
    assert!(tx.category_tombstones(a).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

pub async fn records_keep_their_scope_and_subjects_page_in_id_order(store: &dyn Store) {
    for n in 1..=5 {
        with_subject(store, n).await;
    }
    let s = SubjectId::from_bytes(id(1));
    let other = SubjectId::from_bytes(id(2));
    let scoped = record(s, 20, "order", 1, Some("заказ № 5"));
    let plain = record(s, 21, "order", 2, None);
    let mut tx = store.begin().await.unwrap();
    tx.insert_record(&scoped).await.unwrap();
    tx.insert_record(&plain).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.records(s, None).await.unwrap(),
        vec![scoped.clone(), plain.clone()],
        "records read back with their scope, or without one"
    );
    assert_eq!(
        tx.delete_record(other, scoped.id).await.unwrap(),
        0,
        "a record is deleted only for its own subject"
    );
    assert_eq!(
        tx.delete_record(s, scoped.id).await.unwrap(),
        3,
        "the record and its two fields"
    );
    assert_eq!(tx.delete_record(s, scoped.id).await.unwrap(), 0);
    assert_eq!(record_ids(&tx.records(s, None).await.unwrap()), [plain.id]);
    assert_eq!(tx.records(s, None).await.unwrap()[0].fields.len(), 2);

    assert!(
        tx.insert_tombstone(SubjectId::from_bytes(id(3)), 1)
            .await
            .unwrap()
    );
    let ids = |page: Vec<(SubjectId, String)>| -> Vec<SubjectId> {
        page.into_iter().map(|(s, _)| s).collect()
    };
    let first = tx.live_subjects(None, 2).await.unwrap();
    assert_eq!(
        first,
        vec![(s, "buyer".to_string()), (other, "buyer".to_string())],
        "subjects come in id order, with their kind"
    );
    assert_eq!(
        ids(tx.live_subjects(Some(other), 2).await.unwrap()),
        [4, 5].map(|n| SubjectId::from_bytes(id(n))),
        "a destroyed subject is left out"
    );
    assert!(
        tx.live_subjects(Some(SubjectId::from_bytes(id(5))), 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.live_subjects(None, 10).await.unwrap().len(), 4);
}

fn act(n: u8, year: i16, seq: u32) -> ActRow {
    ActRow {
        id: uuid::Uuid::from_bytes(id(150 + n)),
        year,
        seq,
        opened_at_ms: 7_000 + i64::from(n),
        trigger: if n.is_multiple_of(2) {
            "manual"
        } else {
            "retention"
        }
        .into(),
        header_ct: vec![n; 24],
        closed_at_ms: None,
        entries: None,
        sha256: None,
        expires_on: None,
        expired_at_ms: None,
    }
}

fn act_entry(act: &ActRow, entry_no: u32, subject: SubjectId) -> ActEntryRow {
    ActEntryRow {
        act: act.id,
        entry_no,
        subject,
        at_ms: 8_000 + i64::from(entry_no),
        body_ct: vec![entry_no as u8; 16],
    }
}

pub async fn destruction_acts_are_numbered_closed_once_and_expire(store: &dyn Store) {
    let s = with_subject(store, 1).await;
    let first = act(1, 2026, 1);
    let open = act(2, 2026, 2);
    let next_year = act(3, 2027, 1);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_act_seq(2026).await.unwrap(), 1);
    for a in [&first, &open, &next_year] {
        tx.insert_act(a).await.unwrap();
    }
    assert_eq!(tx.next_act_seq(2026).await.unwrap(), 3);
    assert_eq!(tx.next_act_seq(2027).await.unwrap(), 2);
    assert_eq!(
        tx.next_act_seq(2028).await.unwrap(),
        1,
        "numbers run per year"
    );
    let entries = [act_entry(&first, 1, s), act_entry(&first, 2, s)];
    for e in &entries {
        tx.insert_act_entry(e).await.unwrap();
    }
    tx.insert_act_entry(&act_entry(&next_year, 1, s))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.act(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(tx.act_by_number(2026, 2).await.unwrap(), Some(open.clone()));
    assert_eq!(tx.act_by_number(2026, 9).await.unwrap(), None);
    assert_eq!(tx.act(uuid::Uuid::from_bytes(id(99))).await.unwrap(), None);
    assert_eq!(tx.act_entry_count(first.id).await.unwrap(), 2);
    assert_eq!(tx.act_entry_count(open.id).await.unwrap(), 0);
    assert_eq!(tx.act_entries(first.id).await.unwrap(), entries.to_vec());

    let sha = "ab".repeat(32);
    assert!(
        tx.close_act(first.id, 9_000, 2, &sha, "2029-03-01")
            .await
            .unwrap()
    );
    assert!(
        !tx.close_act(first.id, 9_001, 3, "other", "2030-01-01")
            .await
            .unwrap(),
        "an act is closed once"
    );
    assert!(
        !tx.close_act(uuid::Uuid::from_bytes(id(99)), 9_000, 0, &sha, "2029-03-01")
            .await
            .unwrap()
    );
    assert!(
        tx.close_act(next_year.id, 9_002, 1, &sha, "2030-06-30")
            .await
            .unwrap()
    );
    let closed = ActRow {
        closed_at_ms: Some(9_000),
        entries: Some(2),
        sha256: Some(sha.clone()),
        expires_on: Some("2029-03-01".into()),
        ..first.clone()
    };
    assert_eq!(tx.act(first.id).await.unwrap(), Some(closed.clone()));

    let numbers =
        |list: Vec<ActRow>| -> Vec<(i16, u32)> { list.iter().map(|a| (a.year, a.seq)).collect() };
    assert_eq!(
        numbers(tx.acts(None, 10, false).await.unwrap()),
        [(2026, 1), (2026, 2), (2027, 1)]
    );
    assert_eq!(
        numbers(tx.acts(None, 10, true).await.unwrap()),
        [(2026, 2)],
        "only acts not yet closed"
    );
    assert_eq!(
        numbers(tx.acts(Some((2026, 1)), 1, false).await.unwrap()),
        [(2026, 2)]
    );
    assert_eq!(
        numbers(tx.acts(Some((2026, 2)), 10, false).await.unwrap()),
        [(2027, 1)]
    );
    assert!(
        tx.acts(Some((2027, 1)), 10, false)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(tx.expiring_acts("2029-02-28").await.unwrap().is_empty());
    assert_eq!(
        tx.expiring_acts("2029-03-01").await.unwrap(),
        vec![closed.clone()],
        "an act expires on its expires_on day"
    );
    assert_eq!(
        numbers(tx.expiring_acts("2031-01-01").await.unwrap()),
        [(2026, 1), (2027, 1)],
        "closed acts only, by number"
    );
    assert_eq!(
        tx.expire_act(first.id, 10_000).await.unwrap(),
        2,
        "the expired act's entries go"
    );
    assert!(tx.act_entries(first.id).await.unwrap().is_empty());
    assert_eq!(
        tx.act(first.id).await.unwrap(),
        Some(ActRow {
            expired_at_ms: Some(10_000),
            ..closed.clone()
        }),
        "the row stays, with its number and hash"
    );
    assert_eq!(
        numbers(tx.expiring_acts("2031-01-01").await.unwrap()),
        [(2027, 1)]
    );
    assert_eq!(tx.expire_act(first.id, 11_000).await.unwrap(), 0);
    assert_eq!(
        tx.act(first.id).await.unwrap().unwrap().expired_at_ms,
        Some(10_000),
        "the first expiry time stays"
    );
    assert_eq!(
        tx.act_entry_count(next_year.id).await.unwrap(),
        1,
        "other acts keep their entries"
    );
    tx.commit().await.unwrap();

    // A failed statement ends a PostgreSQL transaction, so each refusal gets its own.
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .insert_act_entry(&act_entry(&next_year, 1, s))
        .await
        .expect_err("an entry is never replaced");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "expected Conflict, got {err:?}"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        matches!(
            tx.insert_act(&act(4, 2026, 1)).await,
            Err(StoreError::Conflict(_))
        ),
        "a number is given once"
    );
}
