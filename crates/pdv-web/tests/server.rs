//! The server around the router: HTTPS with a certificate from PEM files, the bounded graceful
//! shutdown, and request ids. Runs on SQLite only: nothing here depends on the backend.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::{AuthSettings, FixedClock, Vault};
use pdv_store_sqlite::SqliteStore;
use pdv_web::WebSettings;
use pdv_web::tls::{TlsConfig, TlsError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A vault on a fresh SQLite database; the directory must outlive it.
async fn vault(dir: &tempfile::TempDir) -> Arc<Vault> {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml");
    let policy = Policy::from_toml("lider.toml", &std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new("2026-03-02T07:00:00Z".parse().unwrap()));
    let vault = Vault::open(
        Arc::new(store),
        Arc::new(policy),
        &MasterKey::generate(),
        clock,
    )
    .await
    .unwrap()
    .with_auth_settings(AuthSettings::for_tests());
    Arc::new(vault)
}

/// A plain HTTP server with `settings` and a switch that stops it.
struct Running {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

async fn start(vault: Arc<Vault>, settings: WebSettings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        pdv_web::serve_with(listener, vault, &settings, async {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        addr,
        stop: Some(stop),
        server,
    }
}

impl Running {
    fn stop(&mut self) -> Instant {
        self.stop.take().unwrap().send(()).unwrap();
        Instant::now()
    }
}

/// A login request whose body is only partly sent: the handler waits for the rest, so the
/// request is in flight for as long as the test wants.
const BODY: &str = r#"{"login":"nobody","password":"not-the-password"}"#;

async fn half_sent_login(addr: std::net::SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        BODY.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&BODY.as_bytes()[..10]).await.unwrap();
    // Let the server read the head and start the handler before anything else happens.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tcp
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let settings = WebSettings {
        shutdown_grace: Duration::from_secs(20),
        ..WebSettings::default()
    };
    let mut running = start(vault(&dir).await, settings).await;
    let mut tcp = half_sent_login(running.addr).await;
    running.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !running.server.is_finished(),
        "the server must wait for the request in flight"
    );
    // New connections are refused once the server stops accepting.
    assert!(TcpStream::connect(running.addr).await.is_err());

    tcp.write_all(&BODY.as_bytes()[10..]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("the answer comes, and the server closes the connection after it")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request was served to its end: {answer}"
    );
    tokio::time::timeout(Duration::from_secs(5), &mut running.server)
        .await
        .expect("the server returns once the request is done")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_gives_up_on_a_stuck_request_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let settings = WebSettings {
        shutdown_grace: Duration::from_millis(500),
        // Longer than the test: only the grace period can end the wait.
        request_timeout: Duration::from_secs(120),
        ..WebSettings::default()
    };
    let mut running = start(vault(&dir).await, settings).await;
    let _stuck = half_sent_login(running.addr).await;
    let stopped_at = running.stop();
    tokio::time::timeout(Duration::from_secs(10), &mut running.server)
        .await
        .expect("the server returns although the request never finishes")
        .unwrap()
        .unwrap();
    let waited = stopped_at.elapsed();
    assert!(
        waited >= Duration::from_millis(450),
        "it waited the grace period first: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_only_uuids_are_taken_from_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = start(vault(&dir).await, WebSettings::default()).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/health", running.addr);
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .expect("X-Request-Id is set")
            .to_str()
            .unwrap()
            .to_string()
    };
    let first = client.get(&url).send().await.unwrap();
    let second = client.get(&url).send().await.unwrap();
    let (first, second) = (id(&first), id(&second));
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    assert_ne!(first, second, "each request gets its own id");

    // nginx's $request_id: 32 hex digits.
    let nginx = "3f2a6c1e9b7d4e0fa1b2c3d4e5f60718";
    let r = client
        .get(&url)
        .header("x-request-id", nginx)
        .send()
        .await
        .unwrap();
    assert_eq!(id(&r), nginx);
    // Anything else could be personal data; it is replaced, not echoed or logged.
    let r = client
        .get(&url)
        .header("x-request-id", "anna@example.ru")
        .send()
        .await
        .unwrap();
    let replaced = id(&r);
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    // Errors carry it too, including answers to paths no route matches.
    let r = client
        .get(format!("http://{}/no/such/route", running.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(uuid::Uuid::parse_str(&id(&r)).is_ok());
    running.stop();
}

#[tokio::test]
async fn the_body_limit_and_timeout_come_from_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let settings = WebSettings {
        max_body_bytes: 2048,
        request_timeout: Duration::from_millis(300),
        ..WebSettings::default()
    };
    let mut running = start(vault(&dir).await, settings).await;
    let client = reqwest::Client::new();
    let login = format!("http://{}/api/v1/auth/login", running.addr);
    let big = serde_json::json!({ "login": "x".repeat(4096), "password": "y" });
    let r = client.post(&login).json(&big).send().await.unwrap();
    assert_eq!(r.status(), 413, "over max_body_bytes");
    let small = serde_json::json!({ "login": "x".repeat(1000), "password": "y" });
    let r = client.post(&login).json(&small).send().await.unwrap();
    assert_ne!(r.status(), 413, "under max_body_bytes");

    // A request that takes longer than request_timeout: its body never arrives in full.
    let mut tcp = half_sent_login(running.addr).await;
    let mut answer = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("answered at the timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    running.stop();
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in `dir`.
fn certificate(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let cert_pem = issued.cert.pem();
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();
    (cert, key, cert_pem)
}

#[tokio::test]
async fn https_serves_with_the_certificate_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, cert_pem) = certificate(dir.path(), "server");
    let tls = TlsConfig::from_pem_files(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let vault = vault(&dir).await;
    let server = tokio::spawn(async move {
        pdv_web::serve_tls(listener, &tls, vault, &WebSettings::default(), async {
            let _ = stopped.await;
        })
        .await
    });

    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client
        .get(format!("https://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let health: serde_json::Value = r.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    // A client that does not trust the certificate is refused in the handshake.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap()
        .get(format!("https://{addr}/health"))
        .send()
        .await;
    assert!(untrusting.is_err(), "{untrusting:?}");
    // The server still answers after failed handshakes.
    let again = client
        .get(format!("https://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("stops on the signal")
        .unwrap()
        .unwrap();
}

#[test]
fn bad_certificate_files_are_refused_with_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path(), "one");
    let (_, other_key, _) = certificate(dir.path(), "two");
    let refused = |cert: &std::path::Path, key: &std::path::Path| -> (TlsError, String) {
        let e = TlsConfig::from_pem_files(cert, key).expect_err("must be refused");
        let text = e.to_string();
        (e, text)
    };

    let missing = dir.path().join("absent.crt");
    let (_, text) = refused(&missing, &key);
    assert!(
        text.contains("файл сертификата TLS") && text.contains("absent.crt: файл не найден"),
        "{text}"
    );
    let (_, text) = refused(&cert, &dir.path().join("absent.key"));
    assert!(text.contains("файл закрытого ключа TLS"), "{text}");

    // The files swapped: no certificate in the key's file.
    let (e, text) = refused(&key, &cert);
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{text}");
    assert!(text.contains("BEGIN CERTIFICATE"), "{text}");
    let empty = dir.path().join("empty.key");
    std::fs::write(&empty, "").unwrap();
    let (e, text) = refused(&cert, &empty);
    assert!(matches!(e, TlsError::NoKey { .. }), "{text}");

    let (e, text) = refused(&cert, &other_key);
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{text}");
    assert!(text.contains("не подходит к сертификату"), "{text}");

    let broken = dir.path().join("broken.crt");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (e, text) = refused(&broken, &key);
    assert!(matches!(e, TlsError::BadPem { .. }), "{text}");

    // Valid PEM, but not a certificate inside.
    let garbage = dir.path().join("garbage.crt");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (e, text) = refused(&garbage, &key);
    assert!(matches!(e, TlsError::Rejected { .. }), "{text}");
    // No message carries the key's material.
    let key_text = std::fs::read_to_string(&key).unwrap();
    let secret_line = key_text.lines().nth(1).unwrap();
    for (c, k) in [(&cert, &other_key), (&garbage, &key), (&key, &cert)] {
        assert!(!refused(c, k).1.contains(secret_line));
    }
}
