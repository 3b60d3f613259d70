//! CLI tests: the built `pdv` binary, run as an operator would run it, in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn policy(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

fn pdv(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdv"))
        .args(args)
        .current_dir(dir)
        .env_remove("PDV_MASTER_KEY")
        .env_remove("PDV_DATABASE_URL")
        .env_remove("PDV_KEY_FILE")
        .env("PDV_POLICY", policy("lider.toml"))
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

#[test]
fn init_creates_a_private_key_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = pdv(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let key = dir.path().join("pdvault.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(dir.path().join("pdvault.db").exists());
    let before = std::fs::read(&key).unwrap();
    let again = pdv(dir.path(), &["init"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("уже существует"), "{}", text(&again));
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "the key must not change"
    );
}

#[test]
fn policy_check_accepts_both_shipped_policies() {
    let dir = tempfile::tempdir().unwrap();
    let lider = policy("lider.toml");
    let konekt = policy("konekt.toml");
    let out = pdv(
        dir.path(),
        &[
            "policy",
            "check",
            lider.to_str().unwrap(),
            konekt.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("«ЛИДЕР»") && stdout.contains("«КОНЕКТ»"),
        "{stdout}"
    );
}

#[test]
fn policy_check_fails_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(policy("lider.toml")).unwrap();
    let broken = source.replacen("short_name =", "shortname =", 1);
    let line = broken
        .lines()
        .position(|l| l.starts_with("shortname"))
        .unwrap()
        + 1;
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, broken).unwrap();
    let out = pdv(dir.path(), &["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "broken.toml:{line}:1: ошибка: неизвестный ключ «shortname»"
        )),
        "{all}"
    );
    assert!(all.contains("как исправить"), "{all}");
}

#[test]
fn missing_or_wrong_master_key_stops_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = pdv(dir.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("pdv init"), "{}", text(&out));

    assert!(pdv(dir.path(), &["init"]).status.success());
    std::fs::remove_file(dir.path().join("pdvault.key")).unwrap();
    let other = pdv(dir.path(), &["init", "--database-url", "sqlite://other.db"]);
    assert!(other.status.success(), "{}", text(&other));
    // The new key file does not belong to pdvault.db.
    let out = pdv(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("мастер-ключ не подходит"),
        "{}",
        text(&out)
    );
}

fn tamper(dir: &Path, sql: &str) {
    let url = format!("sqlite://{}", dir.join("pdvault.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = pdv_store_sqlite::SqliteStore::open(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(store.pool())
            .await
            .unwrap();
    });
}

/// Copies the database with its WAL files (committed data may still live in the WAL) and the key.
fn copy_db(from: &Path, to: &Path) {
    for name in [
        "pdvault.db",
        "pdvault.db-wal",
        "pdvault.db-shm",
        "pdvault.key",
    ] {
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }
}

#[test]
fn audit_verify_detects_every_kind_of_tampering() {
    let pristine = tempfile::tempdir().unwrap();
    assert!(pdv(pristine.path(), &["init"]).status.success());
    let demo = pdv(pristine.path(), &["demo", "--subjects", "3"]);
    assert!(demo.status.success(), "{}", text(&demo));
    let ok = pdv(pristine.path(), &["audit", "verify"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("цел"), "{}", text(&ok));

    let cases = [
        ("UPDATE audit_events SET details = '{}' WHERE seq = 5", 5),
        (
            "UPDATE audit_events SET outcome = 'denied' WHERE seq = 7",
            7,
        ),
        ("DELETE FROM audit_events WHERE seq = 4", 4),
        (
            "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
            0,
        ),
        ("UPDATE audit_events SET seq = seq + 1000 WHERE seq = 6", 6),
        // Wiping the whole log and its seal is caught too: an initialised database always has
        // at least its first event.
        (
            "DELETE FROM audit_events; DELETE FROM meta WHERE key = 'audit_head_seal'",
            1,
        ),
    ];
    for (sql, bad_seq) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_db(pristine.path(), dir.path());
        tamper(dir.path(), sql);
        let out = pdv(dir.path(), &["audit", "verify", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{sql}: {}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["intact"], false, "{sql}");
        if bad_seq > 0 {
            assert_eq!(report["first_bad_seq"], bad_seq, "{sql}: {report}");
        }
        if sql.contains("meta") {
            assert!(
                report["problem"].as_str().unwrap().contains("пуст"),
                "{report}"
            );
        }
    }
}

#[test]
fn users_and_keys_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let out = pdv(
        dir.path(),
        &[
            "users",
            "add",
            "--login",
            "ivanova",
            "--name",
            "Иванова Анна",
            "--role",
            "administrator",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("пароль (показан один раз): "),
        "{}",
        text(&out)
    );

    let out = pdv(
        dir.path(),
        &[
            "users",
            "add",
            "--login",
            "Bad Login",
            "--name",
            "X",
            "--role",
            "root",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("login:") && text(&out).contains("role:"),
        "{}",
        text(&out)
    );

    let out = pdv(
        dir.path(),
        &[
            "keys",
            "create",
            "--name",
            "Служба доставки",
            "--purposes",
            "contract,order_status",
            "--categories",
            "addresses",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let secret = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("pdvk_"))
        .expect("the secret is printed")
        .to_string();
    let id = secret.split('_').nth(1).unwrap().to_string();

    let out = pdv(
        dir.path(),
        &["keys", "create", "--name", "X", "--purposes", "telepathy"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("«telepathy» не объявлена"),
        "{}",
        text(&out)
    );

    let out = pdv(
        dir.path(),
        &[
            "keys",
            "create",
            "--name",
            "Prometheus",
            "--role",
            "monitoring",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ключ мониторинга"), "{}", text(&out));
    let out = pdv(
        dir.path(),
        &["keys", "create", "--name", "Сайт", "--role", "integration"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "an integration key needs purposes"
    );
    assert!(text(&out).contains("purposes"), "{}", text(&out));

    let out = pdv(dir.path(), &["keys", "list", "--json"]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys[0]["active"], true, "{keys}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&secret),
        "the secret is never listed"
    );

    let out = pdv(dir.path(), &["keys", "revoke", &id]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pdv(dir.path(), &["keys", "revoke", &id]);
    assert_eq!(out.status.code(), Some(2), "a second revocation is refused");
    assert!(text(&out).contains("уже отозван"), "{}", text(&out));

    let out = pdv(dir.path(), &["users", "disable", "ivanova"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pdv(dir.path(), &["users", "list"]);
    assert!(
        text(&out).contains("ivanova\tadministrator\tИванова Анна\tотключена"),
        "{}",
        text(&out)
    );
    let out = pdv(dir.path(), &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// `pdv serve --demo` on an empty directory: a working server with demo accounts and a key
/// whose secrets are written to a private file.
#[test]
fn serve_demo_issues_working_credentials() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pdv"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("PDV_MASTER_KEY")
        .env_remove("PDV_DATABASE_URL")
        .env("PDV_POLICY", policy("lider.toml"))
        .env("PDV_LOG", "error")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut base = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("слушает ").nth(1) {
            base = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
    }
    let base = base.expect("the server says where it listens");
    let env = std::fs::read_to_string(dir.path().join("pdvault-demo.env")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("pdvault-demo.env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {env}"))
            .to_string()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let me = client
            .get(format!("{base}/api/v1/auth/me"))
            .bearer_auth(var("PDV_DEMO_KEY"))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        let metrics = client
            .get(format!("{base}/metrics"))
            .bearer_auth(var("PDV_DEMO_METRICS_KEY"))
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), 200);
        assert!(metrics.text().await.unwrap().contains("pdv_subjects 20"));
        let login = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "login": "dpo", "password": var("PDV_DEMO_DPO_PASSWORD") }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let anonymous = client
            .get(format!("{base}/api/v1/audit/verify"))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
