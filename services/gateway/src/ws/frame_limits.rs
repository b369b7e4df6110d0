//! How often one socket may send each kind of frame. Sends, edits, deletions and reactions
//! share the send limit (per socket, and per user over REST); the others are limited here
//! by what they cost: reads that cost (`history`, `search`, `presence.subscribe`),
//! membership changes (`join`, `leave`: each a room entry every member receives and
//! history keeps), and signals (`typing`, `presence`, `read`, `ping`).

use std::num::NonZeroU32;
use std::time::Duration;

use chat_protocol::client::ClientFrame;
use governor::Quota;

use crate::core::messages::SocketLimiter;

use crate::settings::WsConfig;

/// How many seconds' worth of frames may come at once.
const BURST_SECONDS: NonZeroU32 = NonZeroU32::new(3).expect("non-zero");

/// One socket's limiters.
pub struct FrameLimits {
    requests: SocketLimiter,
    memberships: SocketLimiter,
    signals: SocketLimiter,
}

impl FrameLimits {
    /// Each kind at its rate per second, with a burst of a few seconds' worth (a client
    /// reconnecting with many rooms asks for their gaps at once).
    pub fn new(settings: &WsConfig) -> Self {
        let limiter = |per_second: NonZeroU32| {
            let burst = per_second.saturating_mul(BURST_SECONDS);
            SocketLimiter::new(Quota::per_second(per_second).allow_burst(burst))
        };
        Self {
            requests: limiter(settings.requests_per_second),
            memberships: limiter(settings.membership_changes_per_second),
            signals: limiter(settings.signals_per_second),
        }
    }

    /// Counts `frame` against its kind's limit; `Err` with the time to wait when over it.
    /// Frames limited elsewhere (sends and changes to messages) and `auth` pass.
    pub fn admit(&self, frame: &ClientFrame) -> Result<(), Duration> {
        let limiter = match frame {
            ClientFrame::History(_)
            | ClientFrame::Search(_)
            | ClientFrame::PresenceSubscribe(_) => &self.requests,
            ClientFrame::Join(_) | ClientFrame::Leave(_) => &self.memberships,
            ClientFrame::Typing(_)
            | ClientFrame::Presence(_)
            | ClientFrame::Read(_)
            | ClientFrame::Focus(_)
            | ClientFrame::Ping(_) => &self.signals,
            ClientFrame::Auth(_)
            | ClientFrame::Send(_)
            | ClientFrame::Edit(_)
            | ClientFrame::Delete(_)
            | ClientFrame::React(_)
            | ClientFrame::Unreact(_) => return Ok(()),
        };
        limiter.check()
    }
}

/// The request id a frame's answer refers to, when it has one.
pub fn reference(frame: &ClientFrame) -> Option<&str> {
    match frame {
        ClientFrame::History(frame) => Some(&frame.id),
        ClientFrame::Search(frame) => Some(&frame.id),
        ClientFrame::Join(request) | ClientFrame::Leave(request) => Some(&request.id),
        ClientFrame::Ping(ping) => ping.id.as_deref(),
        _ => None,
    }
}
