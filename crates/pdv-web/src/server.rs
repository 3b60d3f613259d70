//! Running the router on a socket, over plain HTTP or TLS, until told to stop.
//!
//! Stopping is graceful but bounded: when the shutdown signal arrives the server stops accepting
//! connections, lets requests in flight finish and closes idle keep-alive connections; if some
//! request is still running when [`WebSettings::shutdown_grace`] has passed, the server returns
//! anyway, so that a stuck client cannot keep the process from stopping (systemd and Docker kill
//! it hard a little later otherwise, without a word in the log).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::{Listener, ListenerExt, TapIo};
use pdv_service::Vault;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::tls::{TlsConfig, TlsListener};
use crate::{WebSettings, router_with};

/// Serves plain HTTP on `listener` until `shutdown` resolves, then waits for requests in flight
/// at most `settings.shutdown_grace`.
pub async fn serve_with(
    listener: TcpListener,
    vault: Arc<Vault>,
    settings: &WebSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Answers are small and written at once; Nagle's algorithm would only delay them.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    run(
        listener,
        router_with(vault, settings),
        settings.shutdown_grace,
        shutdown,
    )
    .await
}

/// Serves HTTPS with `tls` on `listener`; otherwise like [`serve_with`].
pub async fn serve_tls(
    listener: TcpListener,
    tls: &TlsConfig,
    vault: Arc<Vault>,
    settings: &WebSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // `tap_io` only to share `run` (and the `ConnectInfo<SocketAddr>` axum implements for it)
    // with the plain listener.
    let listener = TlsListener::new(listener, tls)?.tap_io(|_| {});
    run(
        listener,
        router_with(vault, settings),
        settings.shutdown_grace,
        shutdown,
    )
    .await
}

async fn run<L, F>(
    listener: TapIo<L, F>,
    router: Router,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    F: FnMut(&mut L::Io) + Send + 'static,
{
    // axum waits for every connection after the signal; this notices the signal too, to start
    // the clock on that wait.
    let stopping = Arc::new(Notify::new());
    let signal = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            tracing::info!(
                grace_secs = grace.as_secs_f64(),
                "shutting down: no new connections, waiting for requests in flight"
            );
            stopping.notify_one();
        }
    };
    // Handlers may ask for the client's address (`ConnectInfo<SocketAddr>`), e.g. to limit
    // login attempts per address; nothing in this crate logs it.
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let grace_over = async {
        stopping.notified().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => {
            tracing::info!("server stopped");
            result
        }
        () = grace_over => {
            // Returning drops the server; the connections' own tasks end with the runtime, which
            // `pdv serve` shuts down right after this returns.
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "shutdown grace period over with requests still running; their connections are dropped"
            );
            Ok(())
        }
    }
}
