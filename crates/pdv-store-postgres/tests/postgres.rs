//! What the PostgreSQL backend must do beyond the conformance kit: keep writers in single file
//! so the audit chain stays linear, report a busy lock and a lost connection as the right
//! errors, migrate idempotently, refuse a newer schema, and store hostile strings as data.
//! Each test skips itself when `PDV_TEST_PG_URL` is not set (and fails instead in CI).

use std::sync::Arc;
use std::time::Duration;

use pdv_core::audit::{AuditRecord, Outcome, Verifier};
use pdv_core::consent::ConsentKind;
use pdv_core::identifier::IdentifierKind;
use pdv_core::{BlockId, ConsentId, ContractId, Operation, RecordId, SubjectId};
use pdv_store::*;
use pdv_store_postgres::testing::TestDatabase;
use pdv_store_postgres::{PostgresStore, migrate, migration_versions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn event(action: &str) -> AuditRecord {
    AuditRecord {
        at_ms: 1,
        actor: "test".into(),
        action: action.into(),
        operation: Some(Operation::Use),
        purpose: None,
        subject: None,
        outcome: Outcome::Done,
        details: "{}".into(),
    }
}

fn verify(events: &[pdv_core::audit::ChainedEvent]) {
    let mut v = Verifier::default();
    for e in events {
        v.push(e)
            .unwrap_or_else(|b| panic!("the stored chain must verify: {b}"));
    }
}

#[tokio::test]
async fn a_second_writer_waits_for_the_first() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(db.store.clone());
    let mut first = store.begin().await.unwrap();
    first.append_audit(event("first")).await.unwrap();

    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let e = tx.append_audit(event("second")).await.unwrap();
            tx.commit().await.unwrap();
            e.seq
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "a second writer must wait while the first holds the write lock"
    );
    first.commit().await.unwrap();
    assert_eq!(
        second.await.unwrap(),
        2,
        "the second writer must see the first one's event as the chain head"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_keep_one_linear_chain() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(db.store.clone());
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for t in 0..5 {
                let mut tx = store.begin().await.unwrap();
                for i in 0..2 {
                    tx.append_audit(event(&format!("w{w}t{t}e{i}")))
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = store.audit_events(1, 1000).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=80).collect::<Vec<_>>()
    );
    verify(&events);
}

#[tokio::test]
async fn a_dropped_transaction_releases_the_write_lock() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    {
        let mut tx = db.begin().await.unwrap();
        tx.set_meta("k", "uncommitted").await.unwrap();
    }
    // Were the lock kept, this would wait for the lock timeout and fail as Retryable.
    let mut tx = tokio::time::timeout(Duration::from_secs(5), db.begin())
        .await
        .expect("begin must not wait for a dropped transaction")
        .unwrap();
    assert_eq!(tx.meta("k").await.unwrap(), None);
}

#[tokio::test]
async fn a_writer_that_waits_too_long_gets_a_retryable_error() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut holder = db.begin().await.unwrap();
    holder.set_meta("k", "v").await.unwrap();
    let impatient = PostgresStore::open(&format!("{}?options=-c%20lock_timeout%3D200ms", db.url))
        .await
        .unwrap();
    let err = impatient
        .begin()
        .await
        .err()
        .expect("the lock is held elsewhere");
    assert!(
        matches!(err, StoreError::Retryable(_)),
        "a lock wait that times out must be Retryable, got {err:?}"
    );
    holder.commit().await.unwrap();
    impatient.begin().await.expect("the lock is free again");
}

#[tokio::test]
async fn a_lost_connection_is_a_backend_error() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut tx = db.begin().await.unwrap();
    tx.set_meta("k", "v").await.unwrap();
    let mut admin = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    let err = tx
        .meta("k")
        .await
        .expect_err("the transaction's connection was terminated");
    match err {
        StoreError::Backend(m) => assert!(
            m.contains("lost the connection"),
            "the message must say what happened: {m}"
        ),
        e => panic!("a lost connection must be a Backend error, got {e:?}"),
    }
    drop(tx);
    // The pool replaces the dead connection, and nothing of the lost transaction remains.
    let mut tx = db.begin().await.unwrap();
    assert_eq!(tx.meta("k").await.unwrap(), None);
}

#[tokio::test]
async fn migrate_is_idempotent_and_records_every_version() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    migrate(&db.url)
        .await
        .expect("migrating a current database");
    migrate(&db.url).await.expect("and again");
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(applied, migration_versions());
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let err = PostgresStore::open(&db.url)
        .await
        .expect_err("an unknown applied migration must stop the store from opening");
    assert!(matches!(err, StoreError::Migration(_)), "got {err:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_backend_error_naming_it() {
    // Port 1 on loopback refuses connections; no PostgreSQL is needed for this one.
    let err = PostgresStore::open("postgres://nobody:secret@127.0.0.1:1/db")
        .await
        .expect_err("nothing listens on port 1");
    match err {
        StoreError::Backend(m) => {
            assert!(m.contains("127.0.0.1:1"), "the server is named: {m}");
            assert!(!m.contains("secret"), "the password is not: {m}");
        }
        e => panic!("got {e:?}"),
    }
}

/// Strings that would break a query built by concatenation. Stored through bound parameters they
/// are plain data and must come back byte for byte, with every table still in place.
const HOSTILE: &[&str] = &[
    "'; DROP TABLE subjects; --",
    "Robert'); DROP TABLE audit_events;--",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "$1 $$ $body$ \\x27 \\' E'\\\\'",
    "; SELECT pg_sleep(10); --",
    "O'Brien «кавычки» 'ёлка'",
];

#[tokio::test]
async fn hostile_strings_round_trip_unchanged() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let sid = SubjectId::from_bytes(*b"'; DROP TABLE s;");
    let mut tx = db.begin().await.unwrap();
    tx.insert_subject(
        &SubjectRow {
            id: sid,
            kind: HOSTILE[0].into(),
            created_at_ms: 1,
        },
        &WrappedKeyRow {
            subject: sid,
            wrapped: b"'\\\x00;--".to_vec(),
            master_key_id: HOSTILE[1].into(),
            created_at_ms: 1,
        },
    )
    .await
    .unwrap();
    let blind = [b'\''; 32];
    tx.insert_identifier(&IdentifierRow {
        subject: sid,
        kind: IdentifierKind::Email,
        blind,
        value_ct: HOSTILE[2].as_bytes().to_vec(),
    })
    .await
    .unwrap();
    let record = RecordRow {
        subject: sid,
        id: RecordId::from_bytes(*b"') OR 1=1; --   "),
        category: HOSTILE[3].into(),
        source: "subject".into(),
        created_at_ms: 2,
        scope: Some(HOSTILE[4].into()),
        fields: HOSTILE
            .iter()
            .map(|h| FieldRow {
                field: (*h).into(),
                value_ct: h.as_bytes().to_vec(),
            })
            .collect(),
    };
    tx.insert_record(&record).await.unwrap();
    let consent = ConsentRow {
        subject: sid,
        id: ConsentId::from_bytes([0x27; 16]),
        kind: ConsentKind::Processing,
        purposes: HOSTILE.iter().map(|h| (*h).to_string()).collect(),
        recipients: vec![HOSTILE[4].into(), String::new()],
        channel: HOSTILE[5].into(),
        evidence_ct: vec![0x27, 0x5c, 0x00],
        representative_ct: Some(HOSTILE[6].as_bytes().to_vec()),
        document_id: HOSTILE[0].into(),
        document_version: HOSTILE[1].into(),
        document_sha256: HOSTILE[2].into(),
        policy_version: HOSTILE[3].into(),
        given_at_ms: 3,
        valid_until: Some(HOSTILE[4].into()),
        withdrawal: None,
    };
    tx.insert_consent(&consent).await.unwrap();
    let contract = ContractRow {
        subject: sid,
        id: ContractId::from_bytes([0x3b; 16]),
        reference: HOSTILE[5].into(),
        concluded_on: HOSTILE[6].into(),
        terminated_on: None,
        created_at_ms: 4,
    };
    tx.insert_contract(&contract).await.unwrap();
    let block = BlockRow {
        subject: sid,
        id: BlockId::from_bytes([0x2d; 16]),
        category: Some(HOSTILE[0].into()),
        reason: HOSTILE[1].into(),
        placed_at_ms: 5,
        lifted_at_ms: None,
        lift_reason: None,
    };
    tx.insert_block(&block).await.unwrap();
    for h in HOSTILE {
        tx.set_meta(h, h).await.unwrap();
    }
    let answer = IdempotentResponse {
        request_hash: HOSTILE[2].into(),
        status: 201,
        body: HOSTILE.join("\n"),
        created_at_ms: 6,
    };
    tx.save_idempotent_response(HOSTILE[0], &answer)
        .await
        .unwrap();
    let audited = AuditRecord {
        actor: HOSTILE[3].into(),
        action: HOSTILE[4].into(),
        purpose: Some(HOSTILE[5].into()),
        subject: Some(sid),
        details: HOSTILE[6].into(),
        ..event("x")
    };
    tx.append_audit(audited.clone()).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.begin().await.unwrap();
    assert_eq!(tx.subject(sid).await.unwrap().unwrap().kind, HOSTILE[0]);
    let key = tx.wrapped_key(sid).await.unwrap().unwrap();
    assert_eq!(key.wrapped, b"'\\\x00;--");
    assert_eq!(key.master_key_id, HOSTILE[1]);
    assert_eq!(
        tx.find_by_identifier(IdentifierKind::Email, &blind)
            .await
            .unwrap(),
        vec![sid]
    );
    assert_eq!(
        tx.identifiers(sid).await.unwrap()[0].value_ct,
        HOSTILE[2].as_bytes()
    );
    let mut stored = tx
        .records(sid, Some(&[HOSTILE[3].to_string()]))
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        1,
        "a hostile category is a plain filter value"
    );
    let mut expected = record.clone();
    expected.fields.sort_by(|a, b| a.field.cmp(&b.field));
    stored[0].fields.sort_by(|a, b| a.field.cmp(&b.field));
    assert_eq!(stored[0], expected);
    assert!(
        tx.records(sid, Some(&[HOSTILE[2].to_string()]))
            .await
            .unwrap()
            .is_empty(),
        "' OR '1'='1 as a category must match nothing"
    );
    assert_eq!(tx.consents(sid).await.unwrap(), vec![consent]);
    assert_eq!(tx.contracts(sid).await.unwrap(), vec![contract]);
    assert_eq!(tx.blocks(sid).await.unwrap(), vec![block]);
    for h in HOSTILE {
        assert_eq!(tx.meta(h).await.unwrap().as_deref(), Some(*h));
    }
    assert_eq!(
        tx.idempotent_response(HOSTILE[0]).await.unwrap(),
        Some(answer)
    );
    assert_eq!(
        tx.idempotent_response(HOSTILE[2]).await.unwrap(),
        None,
        "a key that is a tautology must not match other keys"
    );
    drop(tx);
    let events = db.audit_events(1, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].record, audited);
    verify(&events);

    // Every table is still there.
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    for table in [
        "meta",
        "subjects",
        "subject_keys",
        "subject_identifiers",
        "pd_records",
        "pd_fields",
        "consents",
        "contracts",
        "blocks",
        "idempotency",
        "audit_events",
    ] {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("table {table} must still exist: {e}"));
        assert!(n > 0, "table {table} must still hold its row");
    }
}
