//! This gateway's open sockets as a whole: their settings, which origins may open one,
//! how many may be setting up at once, and the drain that tells every socket to
//! reconnect elsewhere on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chat_runtime::shutdown::CancellationToken;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::settings::WsConfig;

/// Gauge of open, authenticated WebSockets (the autoscaler's custom metric).
pub const CONNECTIONS_METRIC: &str = "chat_gateway_connections";
/// Counter of sockets closed with 1013 because they waited too long for their turn to set
/// up (see [`Sockets::turn_to_open`]).
pub const BUSY_CLOSES_METRIC: &str = "chat_gateway_busy_closes_total";

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
    /// One permit per socket that may be setting up at once.
    opening: Arc<Semaphore>,
}

impl Sockets {
    pub fn new(settings: WsConfig, allowed_origins: Vec<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                opening: Arc::new(Semaphore::new(settings.max_opening.get())),
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

    /// Waits for an authenticated socket's turn to set up (list its rooms, subscribe them,
    /// read their positions, send `ready` and the catch-up), at most `opening_wait`: the
    /// turn, held until the socket is set up, or `None` when the gateway is too busy.
    /// Sockets queue here in a reconnect storm, in the order they authenticated, instead
    /// of all asking the rooms service, history and Redis at once.
    pub async fn turn_to_open(&self) -> Option<OwnedSemaphorePermit> {
        let turn = Arc::clone(&self.inner.opening).acquire_owned();
        match tokio::time::timeout(self.inner.settings.opening_wait, turn).await {
            Ok(Ok(turn)) => Some(turn),
            // Timed out (the semaphore is never closed).
            _ => {
                metrics::counter!(BUSY_CLOSES_METRIC).increment(1);
                None
            }
        }
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::settings::Config;

    fn sockets(max_opening: &str, opening_wait: &str) -> Sockets {
        let config = Config::try_parse_from([
            "chat-gateway",
            "--ws-max-opening",
            max_opening,
            "--ws-opening-wait",
            opening_wait,
        ])
        .expect("settings");
        Sockets::new(config.ws, Vec::new())
    }

    #[tokio::test]
    async fn a_socket_past_the_limit_waits_for_a_turn_and_is_turned_away_after_the_wait() {
        let sockets = sockets("1", "400ms");
        let first = sockets.turn_to_open().await.expect("a turn");

        // The first socket is set up within the wait: the next one gets its turn.
        let next = tokio::spawn({
            let sockets = sockets.clone();
            async move { sockets.turn_to_open().await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(first);
        assert!(next.await.expect("joined"), "the turn came within the wait");

        // One that never frees its turn: the next waits the whole wait, then is refused.
        let _held = sockets.turn_to_open().await.expect("a turn");
        let waited = tokio::time::Instant::now();
        assert!(sockets.turn_to_open().await.is_none());
        assert!(waited.elapsed() >= Duration::from_millis(400));
    }
}
