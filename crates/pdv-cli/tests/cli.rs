//! CLI tests: the built `pdv` binary, run as an operator would run it, in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn policy(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

/// `pdv` in `dir`, with none of the test runner's own `PDV_…` settings, the «ЛИДЕР» policy and
/// a quiet log.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pdv"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PDV_") {
            command.env_remove(name);
        }
    }
    command
        .env("PDV_POLICY", policy("lider.toml"))
        .env("PDV_LOG", "error");
    command
}

fn pdv(dir: &Path, args: &[&str]) -> Output {
    command(dir).args(args).output().expect("pdv runs")
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
    let mut child = command(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut base = None;
    let mut said = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("слушает ").nth(1) {
            base = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
        said.push(line);
    }
    let base = base.unwrap_or_else(|| {
        let status = child.wait();
        panic!(
            "the server says where it listens; it exited ({status:?}) after saying:\n{}",
            said.join("\n")
        )
    });
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

/// A `pdv serve` running in a directory, its stderr collected as it comes.
struct Server {
    child: std::process::Child,
    base: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `pdv serve ARGS` with `env` and waits until it says where it listens.
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        use std::io::{BufRead, BufReader};
        let mut child = command(dir)
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (found, base) = std::sync::mpsc::channel();
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in stderr.lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.split("слушает ").nth(1) {
                        let _ = found.send(rest.split_whitespace().next().unwrap().to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let mut server = Server {
            child,
            base: String::new(),
            log,
            reader: Some(reader),
        };
        match base.recv_timeout(std::time::Duration::from_secs(120)) {
            Ok(base) => server.base = base,
            Err(_) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                panic!("the server did not start:\n{}", server.log());
            }
        }
        server
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit: its status, how long it took, and the whole log.
    fn terminate(mut self) -> (std::process::ExitStatus, std::time::Duration, String) {
        let sent = std::time::Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if sent.elapsed() > std::time::Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("pdv serve ignored SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let took = sent.elapsed();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status, took, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed assertion must not leave a server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_var(dir: &Path, name: &str) -> String {
    let env = std::fs::read_to_string(dir.join("pdvault-demo.env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing in {env}"))
        .to_string()
}

/// Personal data, a password and bearer tokens go to the server in every place a request can
/// carry them (body, query string, path); the JSON log, at its most detailed level, must hold
/// none of them, yet tell each request by its route template, status and request id.
#[test]
fn the_json_log_has_no_personal_data_tokens_or_passwords() {
    const EMAIL: &str = "Anna.Petrova-Log@example.ru";
    const PHONE: &str = "+7 (916) 123-45-67";
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-level",
            "trace",
        ],
        &[],
    );
    let base = server.base.clone();
    let password = demo_var(dir.path(), "PDV_DEMO_DPO_PASSWORD");
    let key = demo_var(dir.path(), "PDV_DEMO_KEY");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (token, data_request_id) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let login: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "login": "dpo", "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_string();
        let created = client
            .post(format!("{base}/api/v1/subjects"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "kind": "buyer",
                "identifiers": { "email": EMAIL, "phone": PHONE }
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let id = created.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let found = client
            .post(format!("{base}/api/v1/subjects/search"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "kind": "phone", "value": PHONE }))
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200);
        // Personal data in the query string: refused, and kept out of the log.
        let in_query = client
            .get(format!("{base}/api/v1/subjects/{id}/data"))
            .query(&[("purpose", "contract"), ("email", EMAIL), ("phone", PHONE)])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(in_query.status(), 400);
        let data_request_id = in_query.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        // Personal data in the path, where a route matches and where none does.
        let in_path = client
            .get(format!(
                "{base}/api/v1/subjects/{EMAIL}/data?purpose=contract"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(in_path.status(), 400);
        let unmatched = client
            .get(format!("{base}/lookup/{EMAIL}/79161234567"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(unmatched.status(), 404);
        let me = client
            .get(format!("{base}/api/v1/auth/me"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        (token, data_request_id)
    });
    let (status, took, log) = server.terminate();
    assert!(status.success(), "exit 0 on SIGTERM: {status:?}\n{log}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "stops promptly: {took:?}"
    );
    assert!(log.contains("pdvault остановлен"), "{log}");

    let lower = log.to_lowercase();
    for secret in [
        EMAIL.to_lowercase().as_str(),
        "anna.petrova-log%40example.ru",
        "anna.petrova-log",
        "9161234567",
        "123-45-67",
        "916) 123",
        &token,
        &key,
        &password,
        // The secret part of the key (`pdvk_<id>_<secret>`; the secret may itself hold `_`), also
        // on its own.
        key.splitn(3, '_').nth(2).unwrap(),
    ] {
        assert!(
            !lower.contains(&secret.to_lowercase()),
            "the log holds «{secret}»:\n{log}"
        );
    }
    // Every line but pdv's own messages to the operator is a JSON object.
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let finished = |route: &str, status: u64| {
        events.iter().find(|e| {
            e["message"] == "request finished"
                && e["span"]["route"] == route
                && e["status"] == status
        })
    };
    let data = finished("/api/v1/subjects/{subject}/data", 400)
        .unwrap_or_else(|| panic!("no line for the data request:\n{log}"));
    assert_eq!(data["span"]["method"], "GET");
    assert!(data["latency_ms"].as_f64().is_some(), "{data}");
    assert!(
        events
            .iter()
            .any(|e| e["span"]["request_id"] == data_request_id.as_str()),
        "the X-Request-Id of the answer is in the log: {data_request_id}\n{log}"
    );
    assert!(finished("-", 404).is_some(), "{log}");
    assert!(finished("/api/v1/subjects/search", 200).is_some(), "{log}");
    assert!(finished("/api/v1/auth/login", 200).is_some(), "{log}");
}

/// A request that never finishes cannot keep the server from stopping: after
/// `shutdown_grace_secs` it exits 0 anyway, and says so.
#[test]
fn serve_exits_after_the_grace_period_when_a_request_hangs() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let server = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("PDV_SHUTDOWN_GRACE_SECS", "1"),
            ("PDV_REQUEST_TIMEOUT_SECS", "300"),
            ("PDV_LOG", "info"),
        ],
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut tcp = std::net::TcpStream::connect(&address).unwrap();
    // The body is announced but never sent in full: the request stays in flight.
    tcp.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"login\"",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (status, took, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        took >= std::time::Duration::from_millis(900),
        "it waited for the request first: {took:?}"
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    assert!(log.contains("shutdown grace period over"), "{log}");
}

/// Writes a self-signed certificate for 127.0.0.1 and its key; returns the certificate's PEM.
fn certificate(dir: &Path) -> String {
    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.join("server.crt"), issued.cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), issued.signing_key.serialize_pem()).unwrap();
    issued.cert.pem()
}

#[test]
fn serve_speaks_https_when_the_config_file_names_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert_pem = certificate(dir.path());
    std::fs::write(
        dir.path().join("pdv.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[tls]\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\n",
    )
    .unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let check = pdv(dir.path(), &["config", "check"]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("сертификат server.crt и ключ server.key приняты"),
        "{}",
        text(&check)
    );

    let server = Server::start(dir.path(), &[], &[]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        let health = client
            .get(format!("{}/health", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    });
    let (status, _, log) = server.terminate();
    assert!(status.success(), "{log}");

    // A missing key file stops the server before it starts, naming the file.
    std::fs::remove_file(dir.path().join("server.key")).unwrap();
    let out = pdv(dir.path(), &["serve"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("файл закрытого ключа TLS server.key: файл не найден"),
        "{}",
        text(&out)
    );
    let check = pdv(dir.path(), &["config", "check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("TLS: ОШИБКА"), "{}", text(&check));
}

#[test]
fn settings_come_from_flags_then_environment_then_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pdv.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout_secs = 12\n\n[database]\nurl = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    let out = command(dir.path())
        .args(["config", "show", "--listen", "127.0.0.1:7"])
        .env("PDV_DATABASE_URL", "postgres://pdv:hunter22@db:5432/pdv")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("listen = \"127.0.0.1:7\"  # флаг --listen"),
        "{shown}"
    );
    assert!(
        shown.contains("request_timeout_secs = 12  # pdv.toml:3"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "url = \"postgres://pdv:***@db:5432/pdv\"  # переменная окружения PDV_DATABASE_URL"
        ),
        "{shown}"
    );
    assert!(!shown.contains("hunter22"), "{shown}");
    assert!(
        shown.contains("max_body_bytes = 65536  # по умолчанию"),
        "{shown}"
    );

    // The file is found in the working directory; the database it names is the one `init` makes.
    let out = pdv(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("from-file.db").exists());
    let out = pdv(dir.path(), &["config", "check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("настройки в порядке"), "{}", text(&out));

    // A file named by PDV_CONFIG elsewhere is used, and must exist.
    let elsewhere = tempfile::tempdir().unwrap();
    let named = elsewhere.path().join("custom.toml");
    std::fs::write(&named, "[log]\nformat = \"json\"\n").unwrap();
    let out = command(elsewhere.path())
        .args(["config", "show"])
        .env("PDV_CONFIG", &named)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("(переменная окружения PDV_CONFIG)")
            && text(&out).contains("format = \"json\"  # "),
        "{}",
        text(&out)
    );
    let out = pdv(
        elsewhere.path(),
        &["--config", "absent.toml", "users", "list"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("файл настроек absent.toml (флаг --config): файл не найден"),
        "{}",
        text(&out)
    );
}

#[test]
fn mistakes_in_the_config_file_stop_every_command_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pdv.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\nlisen = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    for args in [&["serve"][..], &["users", "list"], &["migrate"]] {
        let out = pdv(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("pdv.toml:3:1: ошибка: неизвестный ключ «lisen»"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let out = pdv(dir.path(), &["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    std::fs::write(
        dir.path().join("pdv.toml"),
        "[server]\nshutdown_grace_secs = \"30\"\n",
    )
    .unwrap();
    let out = pdv(dir.path(), &["serve"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("pdv.toml:2:23: ошибка: неверный тип значения: ожидается целое"),
        "{}",
        text(&out)
    );
}

/// `pdv retention sweep`: the rows a destroyed subject left behind (its key shredded by a process
/// that stopped before sweeping) go, once, with an audit event; a rerun finds nothing to do.
#[test]
fn retention_sweep_deletes_what_a_key_shred_left_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let out = pdv(dir.path(), &["demo", "--subjects", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    let url = format!("sqlite://{}", dir.path().join("pdvault.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use pdv_store::Store;
        let store = pdv_store_sqlite::SqliteStore::open(&url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let first = tx.live_subjects(None, 1).await.unwrap()[0].0;
        assert_eq!(tx.shred_keys(&[first], 1).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(store.counts().await.unwrap().sweep_backlog, 1);
    });
    let out = pdv(dir.path(), &["retention", "sweep", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["subjects"], 1, "{report}");
    assert!(report["rows"].as_u64().unwrap() > 0, "{report}");
    let out = pdv(dir.path(), &["retention", "sweep"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("зачищено уничтоженных субъектов: 0"),
        "{}",
        text(&out)
    );
    let out = pdv(dir.path(), &["retention", "sweep", "--batch", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = pdv(dir.path(), &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// `pdv serve` sweeps in the background: a subject whose key another process shredded has its
/// leftover rows deleted without any retention run, and the server stops cleanly afterwards.
#[test]
fn serve_sweeps_destroyed_subjects_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let out = pdv(dir.path(), &["demo", "--subjects", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    let url = format!("sqlite://{}", dir.path().join("pdvault.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let backlog = || {
        rt.block_on(async {
            use pdv_store::Store;
            let store = pdv_store_sqlite::SqliteStore::open(&url).await.unwrap();
            store.counts().await.unwrap().sweep_backlog
        })
    };
    rt.block_on(async {
        use pdv_store::Store;
        let store = pdv_store_sqlite::SqliteStore::open(&url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let subjects: Vec<_> = tx
            .live_subjects(None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        tx.shred_keys(&subjects, 1).await.unwrap();
        tx.commit().await.unwrap();
    });
    assert_eq!(backlog(), 2);
    let server = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[("PDV_RETENTION_INTERVAL_MINS", "0"), ("PDV_LOG", "info")],
    );
    let started = std::time::Instant::now();
    // The log line comes after the sweep's commit, so wait for both.
    while backlog() > 0 || !server.log().contains("leftover rows swept") {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the server did not sweep:\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (status, _, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert!(log.contains("leftover rows swept"), "{log}");
}

/// `pdv retention plan`: the demo operator's records, each with its rule, expiry and action;
/// far enough in the future something is due; nothing is changed.
#[test]
fn retention_plan_shows_what_will_happen_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let out = pdv(dir.path(), &["demo", "--subjects", "4"]);
    assert!(out.status.success(), "{}", text(&out));
    let before = pdv(dir.path(), &["audit", "verify", "--json"]);
    let out = pdv(
        dir.path(),
        &["retention", "plan", "--at", "2031-01-01", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["at"], "2031-01-01");
    assert_eq!(plan["subjects"].as_array().unwrap().len(), 4);
    assert!(
        plan["due"].as_u64().unwrap() > 0,
        "cookies and device data expire within a year"
    );
    let item = &plan["subjects"][0]["items"][0];
    for key in ["record", "category", "ground", "action", "reason"] {
        assert!(!item[key].is_null(), "{key} in {item}");
    }
    let out = pdv(
        dir.path(),
        &["retention", "plan", "--at", "2031-01-01", "--due"],
    );
    assert!(text(&out).contains("СРОК НАСТУПИЛ"), "{}", text(&out));
    let out = pdv(dir.path(), &["retention", "plan", "--at", "завтра"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--at"), "{}", text(&out));
    // One subject's plan.
    let one = plan["subjects"][1]["subject"].as_str().unwrap();
    let out = pdv(
        dir.path(),
        &["retention", "plan", "--subject", one, "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let only: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(only["subjects"].as_array().unwrap().len(), 1);
    assert_eq!(only["subjects"][0]["subject"], one);
    let out = pdv(dir.path(), &["retention", "plan", "--subject", "первый"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--subject"), "{}", text(&out));
    let after = pdv(dir.path(), &["audit", "verify", "--json"]);
    assert_eq!(before.stdout, after.stdout, "planning writes nothing");
}

/// `pdv retention run` on the demo operator: what is due goes with an act that `pdv acts` lists
/// and prints; a rerun writes nothing; what was kept depersonalised is counted.
#[test]
fn retention_run_destroys_with_an_act_and_a_rerun_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(pdv(dir.path(), &["init"]).status.success());
    let out = pdv(dir.path(), &["demo", "--subjects", "12"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pdv(dir.path(), &["retention", "run", "--batch", "0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--batch"), "{}", text(&out));

    let out = pdv(dir.path(), &["retention", "run", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(run["records_destroyed"].as_u64().unwrap() > 0, "{run}");
    let act = run["acts"][0].as_str().unwrap().to_string();

    let out = pdv(dir.path(), &["acts", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let acts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(acts[0]["number"], act.as_str(), "{acts}");
    let html = dir.path().join("act.html");
    let out = pdv(
        dir.path(),
        &["acts", "show", &act, "--html", html.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("Акт об уничтожении персональных данных № {act}")));

    let out = pdv(dir.path(), &["retention", "run", "--json"]);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["records_destroyed"], 0, "{again}");
    assert_eq!(again["acts"], serde_json::json!([]), "{again}");

    let out = pdv(dir.path(), &["retention", "retained", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let kept: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kept["records"], run["records_depersonalised"], "{kept}");
    let out = pdv(dir.path(), &["retention", "retained"]);
    assert!(
        text(&out).contains("обезличенных записей"),
        "{}",
        text(&out)
    );
}
