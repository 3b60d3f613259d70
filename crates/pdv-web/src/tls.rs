//! HTTPS without a proxy: a certificate and key in PEM files, rustls with the `ring` provider.
//!
//! A reverse proxy (nginx, see `deploy/nginx.conf`) stays the recommended way to end TLS; this
//! is for small installations that have no proxy. Loading checks everything it can before the
//! server starts (the files exist and are readable, hold PEM, the key belongs to the
//! certificate), so a bad file stops `pdv serve` with a message instead of failing handshakes.
//!
//! Handshakes run in tasks of their own, each with a time limit, so a client that opens a
//! connection and never speaks cannot hold up the others; only finished handshakes reach the
//! HTTP server.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for the HTTP server to take them.
const PENDING_CONNECTIONS: usize = 64;

/// A certificate chain and its private key, checked and ready to accept connections.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key must never be printed, so nothing of the configuration is.
        f.write_str("TlsConfig { .. }")
    }
}

/// Why the certificate or the key could not be used. Messages are for the operator, in Russian.
#[derive(Debug)]
pub enum TlsError {
    /// The file could not be read.
    Unreadable {
        what: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    /// The file holds no PEM certificate.
    NoCertificate { path: PathBuf },
    /// The file holds no PEM private key.
    NoKey { path: PathBuf },
    /// The PEM text is broken (a missing end line, bad base64).
    BadPem { what: &'static str, path: PathBuf },
    /// The private key is not the certificate's.
    KeyMismatch { cert: PathBuf, key: PathBuf },
    /// rustls refused the key or the certificate (unsupported algorithm, not X.509).
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Unreadable { what, path, error } => {
                let reason = match error.kind() {
                    io::ErrorKind::NotFound => "файл не найден".to_string(),
                    io::ErrorKind::PermissionDenied => "нет прав на чтение".to_string(),
                    _ => error.to_string(),
                };
                write!(f, "{what} {}: {reason}", path.display())
            }
            TlsError::NoCertificate { path } => write!(
                f,
                "в файле сертификата {} нет сертификата в формате PEM (блока «-----BEGIN CERTIFICATE-----»)",
                path.display()
            ),
            TlsError::NoKey { path } => write!(
                f,
                "в файле закрытого ключа {} нет ключа в формате PEM (PKCS#8 «BEGIN PRIVATE KEY», PKCS#1 «BEGIN RSA PRIVATE KEY» или SEC1 «BEGIN EC PRIVATE KEY»)",
                path.display()
            ),
            TlsError::BadPem { what, path } => write!(
                f,
                "{what} {}: файл повреждён (PEM не читается: нет строки END или неверный base64)",
                path.display()
            ),
            TlsError::KeyMismatch { cert, key } => write!(
                f,
                "закрытый ключ {} не подходит к сертификату {}: они из разных пар",
                key.display(),
                cert.display()
            ),
            TlsError::Rejected { cert, key, reason } => write!(
                f,
                "сертификат {} или ключ {} не приняты ({reason}); нужен сертификат X.509 и ключ RSA, ECDSA P-256/P-384 или Ed25519",
                cert.display(),
                key.display()
            ),
        }
    }
}

impl std::error::Error for TlsError {}

const CERT: &str = "файл сертификата TLS";
const KEY: &str = "файл закрытого ключа TLS";

impl TlsConfig {
    /// Reads the certificate chain (the server's certificate first, then intermediates) and the
    /// private key from PEM files and checks that they belong together.
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Result<TlsConfig, TlsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|error| TlsError::Unreadable {
                what,
                path: path.to_path_buf(),
                error,
            })
        };
        let cert_pem = read(CERT, cert_file)?;
        let key_pem = read(KEY, key_file)?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::BadPem {
                what: CERT,
                path: cert_file.to_path_buf(),
            })?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert_file.to_path_buf(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
                path: key_file.to_path_buf(),
            },
            _ => TlsError::BadPem {
                what: KEY,
                path: key_file.to_path_buf(),
            },
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let rejected = |e: rustls::Error| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::KeyMismatch {
                    cert: cert_file.to_path_buf(),
                    key: key_file.to_path_buf(),
                }
            }
            other => TlsError::Rejected {
                cert: cert_file.to_path_buf(),
                key: key_file.to_path_buf(),
                reason: other.to_string(),
            },
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rejected)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(rejected)?;
        // The server speaks HTTP/1.1 only (axum is built without HTTP/2).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// A listener that hands out connections whose TLS handshake has finished.
#[derive(Debug)]
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting TCP connections on `listener` and shaking hands on each.
    pub fn new(listener: TcpListener, config: &TlsConfig) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (tx, incoming) = mpsc::channel(PENDING_CONNECTIONS);
        let acceptor = config.acceptor.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        accept_failed(e).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    // Failed handshakes (scanners, clients that distrust the certificate) are
                    // routine, so they are logged at debug level, and without the peer's
                    // address.
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            // The server is shutting down when nobody receives any more.
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            incoming,
            local_addr,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Closes the socket: once the server stops accepting, new clients are refused at once
        // instead of completing handshakes nobody serves.
        self.accepting.abort();
    }
}

/// The same policy as axum's plain listener: a client that gave up is skipped; anything else
/// (out of file descriptors) is logged and retried after a pause.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accepting task ends only if it panicked; serve nothing rather than spin.
            None => {
                tracing::error!("the TLS accept loop stopped; no new connections are accepted");
                std::future::pending().await
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
