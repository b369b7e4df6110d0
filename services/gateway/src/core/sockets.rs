//! This gateway's open sockets as a whole: their settings, which origins may open one,
//! and the drain that tells every socket to reconnect elsewhere on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chat_runtime::shutdown::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::settings::WsConfig;

/// Gauge of open, authenticated WebSockets (the autoscaler's custom metric).
pub const CONNECTIONS_METRIC: &str = "chat_gateway_connections";

/// The sockets of this gateway. Cheap to clone.
#[derive(Clone)]
pub struct Sockets {
    inner: Arc<Inner>,
}

struct Inner {
    settings: WsConfig,
    allowed_origins: Vec<String>,
    draining: AtomicBool,
    /// Cancelled when the gateway starts draining: every session says `reconnect`.
    drain: CancellationToken,
    tracker: TaskTracker,
    next_socket: AtomicU64,
}

impl Sockets {
    pub fn new(settings: WsConfig, allowed_origins: Vec<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                allowed_origins,
                draining: AtomicBool::new(false),
                drain: CancellationToken::new(),
                tracker: TaskTracker::new(),
                next_socket: AtomicU64::new(1),
            }),
        }
    }

    pub fn settings(&self) -> &WsConfig {
        &self.inner.settings
    }

    pub fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        self.inner.allowed_origins.iter().map(String::as_str)
    }

    /// A process-unique socket number.
    pub fn next_socket_id(&self) -> u64 {
        self.inner.next_socket.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a socket as open until the token is dropped (the drain waits for it).
    pub fn track(&self) -> TaskTrackerToken {
        self.inner.tracker.token()
    }

    /// Cancelled when the gateway starts draining (what a handshake under way watches).
    pub fn draining(&self) -> &CancellationToken {
        &self.inner.drain
    }

    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Stops taking sockets and ends the handshakes under way (the hub then tells the
    /// sockets that started to reconnect elsewhere, see [`Self::drained`]).
    pub fn begin_drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.drain.cancel();
        self.inner.tracker.close();
    }

    /// Waits (at most `grace`) for every socket to flush what was queued for it and close.
    pub async fn drained(&self, grace: Duration) {
        if tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(?grace, "sockets still open after the grace period");
        }
    }
}
