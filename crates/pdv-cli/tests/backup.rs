//! `pdv backup` and `pdv restore` on both backends, and the crypto-shredding guarantee: a backup
//! taken before a subject was destroyed, restored in any combination with the key store, never
//! makes that subject's data readable again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use pdv_core::{Policy, SubjectId};
use pdv_crypto::MasterKey;
use pdv_service::{Actor, DataQuery, ServiceError, SystemClock, Vault};
use pdv_store::Store;
use pdv_store_postgres::PostgresStore;
use pdv_store_postgres::testing::TestDatabase;
use pdv_store_sqlite::SqliteStore;

fn policy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one step of the scenario; a PostgreSQL one is dropped with it.
enum Db {
    Sqlite(String),
    Postgres(TestDatabase),
}

impl Db {
    async fn new(backend: Backend, dir: &Path, name: &str) -> Db {
        match backend {
            Backend::Sqlite => Db::Sqlite(format!("sqlite://{}", dir.join(name).display())),
            Backend::Postgres => {
                Db::Postgres(TestDatabase::create().await.expect("checked by the caller"))
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Db::Sqlite(url) => url,
            Db::Postgres(db) => &db.url,
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(url) => Arc::new(SqliteStore::open(url).await.unwrap()),
            Db::Postgres(db) => Arc::new(PostgresStore::open(&db.url).await.unwrap()),
        }
    }

    async fn vault(&self, key: &Path) -> Vault {
        let source = std::fs::read_to_string(policy_path()).unwrap();
        let policy = Policy::from_toml("lider.toml", &source).expect("the shipped policy loads");
        Vault::open(
            self.store().await,
            Arc::new(policy),
            &MasterKey::read_file(key).unwrap(),
            Arc::new(SystemClock),
        )
        .await
        .unwrap()
    }
}

fn pdv(dir: &Path, db: &Db, key: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdv"))
        .args(args)
        .current_dir(dir)
        .env_remove("PDV_MASTER_KEY")
        .env("PDV_DATABASE_URL", db.url())
        .env("PDV_KEY_FILE", key)
        .env("PDV_POLICY", policy_path())
        .env("PDV_LOG", "error")
        .output()
        .expect("pdv runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// What reading a subject's data for the contract purpose gives.
async fn read(vault: &Vault, subject: SubjectId) -> Result<usize, ServiceError> {
    vault
        .read_data(
            &Actor::new("test"),
            subject,
            DataQuery {
                purpose: "contract".into(),
                categories: vec![],
            },
        )
        .await
        .map(|view| view.records.len())
}

async fn assert_destroyed(vault: &Vault, subject: SubjectId, when: &str) {
    match read(vault, subject).await {
        Err(ServiceError::Destroyed { .. }) => {}
        other => panic!("{when}: the destroyed subject must stay unreadable, got {other:?}"),
    }
}

async fn assert_readable(vault: &Vault, subject: SubjectId, when: &str) {
    match read(vault, subject).await {
        Ok(n) => assert!(n > 0, "{when}: the kept subject has records"),
        Err(e) => panic!("{when}: the kept subject must be readable: {e}"),
    }
}

/// Two demo subjects whose data the contract purpose can read.
async fn two_subjects(vault: &Vault) -> (SubjectId, SubjectId) {
    let subjects = pdv_store::backup::table("subjects").unwrap();
    let mut ids = Vec::new();
    vault
        .store()
        .export(&[subjects], &mut |_, row| {
            if let pdv_store::Value::Bytes(b) = &row[0] {
                ids.push(SubjectId::from_bytes(b.as_slice().try_into().unwrap()));
            }
            Ok(())
        })
        .await
        .unwrap();
    let mut readable = Vec::new();
    for id in ids {
        if matches!(read(vault, id).await, Ok(n) if n > 0) {
            readable.push(id);
        }
    }
    assert!(readable.len() >= 2, "the demo has readable subjects");
    (readable[0], readable[1])
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

async fn scenario(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = d.join("pdvault.key");
    let live = Db::new(backend, d, "live.db").await;
    ok(pdv(d, &live, &key, &["init"]));
    ok(pdv(d, &live, &key, &["demo", "--subjects", "8"]));
    let vault = live.vault(&key).await;
    let (gone, kept) = two_subjects(&vault).await;
    assert_readable(&vault, gone, "before").await;

    // A backup before the destruction, in two archives.
    let summary = ok(pdv(
        d,
        &live,
        &key,
        &[
            "backup",
            "--data",
            &path(d, "before.data"),
            "--keys",
            &path(d, "before.keys"),
            "--json",
        ],
    ));
    assert!(summary["data"]["rows"]["subjects"].as_u64().unwrap() >= 5);
    let data_archive = std::fs::read_to_string(d.join("before.data")).unwrap();
    let key_archive = std::fs::read_to_string(d.join("before.keys")).unwrap();
    assert!(
        !data_archive.contains("\"subject_keys\"") && !data_archive.contains("wrapped"),
        "the data archive must never carry keys"
    );
    assert!(key_archive.contains("\"subject_keys\""));
    assert!(
        !key_archive.contains("\"pd_fields\""),
        "no data in the key archive"
    );
    let again = pdv(
        d,
        &live,
        &key,
        &["backup", "--data", &path(d, "before.data")],
    );
    assert!(!again.status.success(), "an archive is never overwritten");
    assert!(text(&again).contains("уже существует"), "{}", text(&again));

    vault
        .shred_subject(&Actor::new("test"), gone, "тест")
        .await
        .unwrap();
    assert_destroyed(&vault, gone, "after destruction").await;
    assert_readable(&vault, kept, "after destruction").await;
    ok(pdv(
        d,
        &live,
        &key,
        &[
            "backup",
            "--data",
            &path(d, "after.data"),
            "--keys",
            &path(d, "after.keys"),
        ],
    ));

    // 1. Rolling the live database back to the old data keeps its key store: the old ciphertext
    // of the destroyed subject is deleted again, and saying so is audited.
    let refused = pdv(
        d,
        &live,
        &key,
        &["restore", "--data", &path(d, "before.data")],
    );
    assert!(
        !refused.status.success(),
        "a database in use needs --replace"
    );
    assert!(text(&refused).contains("--replace"), "{}", text(&refused));
    let restored = ok(pdv(
        d,
        &live,
        &key,
        &[
            "restore",
            "--data",
            &path(d, "before.data"),
            "--replace",
            "--json",
        ],
    ));
    assert_eq!(
        restored["destructions_reapplied"],
        serde_json::json!([gone.to_string()])
    );
    assert_eq!(restored["audit"]["intact"], true);
    assert_destroyed(&vault, gone, "rolled back in place").await;
    assert_readable(&vault, kept, "rolled back in place").await;
    let mut tx = vault.store().begin().await.unwrap();
    assert!(
        tx.records(gone, None).await.unwrap().is_empty(),
        "no ciphertext left"
    );
    assert!(
        tx.identifiers(gone).await.unwrap().is_empty(),
        "no blind index left"
    );
    tx.commit().await.unwrap();
    ok(pdv(d, &live, &key, &["audit", "verify"]));

    // 2. A new machine: the old data with the newer key archive.
    let fresh = Db::new(backend, d, "fresh1.db").await;
    let restored = ok(pdv(
        d,
        &fresh,
        &key,
        &[
            "restore",
            "--data",
            &path(d, "before.data"),
            "--keys",
            &path(d, "after.keys"),
            "--json",
        ],
    ));
    assert_eq!(
        restored["destructions_reapplied"].as_array().unwrap().len(),
        1
    );
    let v = fresh.vault(&key).await;
    assert_destroyed(&v, gone, "old data, new keys").await;
    assert_readable(&v, kept, "old data, new keys").await;

    // 3. A new machine: the newer data with the old key archive, which still holds the key.
    let fresh = Db::new(backend, d, "fresh2.db").await;
    let restored = ok(pdv(
        d,
        &fresh,
        &key,
        &[
            "restore",
            "--data",
            &path(d, "after.data"),
            "--keys",
            &path(d, "before.keys"),
            "--json",
        ],
    ));
    assert!(restored["keys_pruned"].as_u64().unwrap() >= 1, "{restored}");
    let v = fresh.vault(&key).await;
    assert_destroyed(&v, gone, "new data, old keys").await;
    assert_readable(&v, kept, "new data, old keys").await;

    // 4. A damaged archive changes nothing; neither does one made with another master key.
    let fresh = Db::new(backend, d, "fresh3.db").await;
    let damaged = data_archive.replacen("\"buyer\"", "\"buyeR\"", 1);
    assert_ne!(
        damaged, data_archive,
        "the fixture has a subject kind to damage"
    );
    std::fs::write(d.join("damaged.data"), damaged).unwrap();
    let out = pdv(
        d,
        &fresh,
        &key,
        &["restore", "--data", &path(d, "damaged.data")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("контрольная сумма не сходится"),
        "{}",
        text(&out)
    );
    let truncated: String = data_archive
        .lines()
        .take(20)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("truncated.data"), truncated).unwrap();
    let out = pdv(
        d,
        &fresh,
        &key,
        &["restore", "--data", &path(d, "truncated.data")],
    );
    assert!(text(&out).contains("архив оборван"), "{}", text(&out));
    let v = fresh.vault(&key).await;
    let mut tx = v.store().begin().await.unwrap();
    let subjects = pdv_store::backup::table("subjects").unwrap();
    assert_eq!(
        tx.count_rows(subjects).await.unwrap(),
        0,
        "nothing restored"
    );
    tx.commit().await.unwrap();
    let other_key = d.join("other.key");
    let other = Db::new(backend, d, "other.db").await;
    ok(pdv(d, &other, &other_key, &["init"]));
    let out = pdv(
        d,
        &other,
        &other_key,
        &["restore", "--data", &path(d, "before.data")],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("мастер-ключом"), "{}", text(&out));

    // 5. The archives are for one backend as much as the other.
    let cross = match backend {
        Backend::Sqlite if pg_available() => Some(Db::new(Backend::Postgres, d, "").await),
        Backend::Postgres => Some(Db::new(Backend::Sqlite, d, "cross.db").await),
        Backend::Sqlite => None,
    };
    if let Some(cross) = cross {
        ok(pdv(
            d,
            &cross,
            &key,
            &[
                "restore",
                "--data",
                &path(d, "after.data"),
                "--keys",
                &path(d, "after.keys"),
            ],
        ));
        let v = cross.vault(&key).await;
        assert_destroyed(&v, gone, "across backends").await;
        assert_readable(&v, kept, "across backends").await;
    }
}

fn pg_available() -> bool {
    std::env::var(pdv_store_postgres::testing::URL_VAR).is_ok_and(|u| !u.is_empty())
}

// Several threads: the CLI runs as a blocking child process, and meanwhile the pool's background
// tasks (returning connections, rolling back read transactions) must go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restore_and_shredding_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

// Several threads: the CLI runs as a blocking child process, and meanwhile the pool's background
// tasks (returning connections, rolling back read transactions) must go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restore_and_shredding_on_postgres() {
    if TestDatabase::create().await.is_none() {
        return;
    }
    scenario(Backend::Postgres).await;
}
