//! Why the server closes a socket: the close code and its reason, in one place.

/// A reason to close a WebSocket, with the close code the protocol gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disconnect {
    /// 1000: a normal closure.
    Normal,
    /// 1009: a message far beyond the limit.
    MessageTooBig,
    /// 1011: a dependency could not say where the socket stands (Redis, rooms).
    PositionsUnavailable,
    /// 1011: the rooms service could not list the user's rooms.
    RoomsUnavailable,
    /// 1012: the gateway is shutting down (after a `reconnect` frame).
    Restart,
    /// 1013: too many sockets were setting up at once for this one to wait its turn.
    Busy,
    /// 4001: no `auth` frame in time.
    AuthTimeout,
    /// 4001: the first frame was not `auth`.
    AuthFirst,
    /// 4001: an `auth` frame without a token, on a socket opened without one.
    TokenMissing,
    /// 4001: the token names no valid user.
    NoUser,
    /// 4001: the `auth` frame's token is for another user than the upgrade's.
    OtherUser,
    /// 4001: the token was refused.
    TokenRefused,
    /// 4002: the access token expired and was not renewed.
    TokenExpired,
    /// 4003: the outbound queue filled up.
    SlowConsumer,
    /// 4004: too many sockets of this user on this gateway.
    TooManyConnections,
    /// 4005: no answer to heartbeats.
    HeartbeatTimeout,
    /// 4001: the socket's session ended (a logout, on this device or on all of them).
    SessionEnded,
}

impl Disconnect {
    /// Every reason, for the generated TypeScript and tests.
    pub const ALL: &[Disconnect] = &[
        Self::Normal,
        Self::MessageTooBig,
        Self::PositionsUnavailable,
        Self::RoomsUnavailable,
        Self::Restart,
        Self::Busy,
        Self::AuthTimeout,
        Self::AuthFirst,
        Self::TokenMissing,
        Self::NoUser,
        Self::OtherUser,
        Self::TokenRefused,
        Self::TokenExpired,
        Self::SlowConsumer,
        Self::TooManyConnections,
        Self::HeartbeatTimeout,
        Self::SessionEnded,
    ];

    /// The WebSocket close code.
    pub const fn code(self) -> u16 {
        match self {
            Self::Normal => 1000,
            Self::MessageTooBig => 1009,
            Self::PositionsUnavailable | Self::RoomsUnavailable => 1011,
            Self::Restart => 1012,
            Self::Busy => 1013,
            Self::AuthTimeout
            | Self::AuthFirst
            | Self::TokenMissing
            | Self::NoUser
            | Self::OtherUser
            | Self::TokenRefused
            | Self::SessionEnded => 4001,
            Self::TokenExpired => 4002,
            Self::SlowConsumer => 4003,
            Self::TooManyConnections => 4004,
            Self::HeartbeatTimeout => 4005,
        }
    }

    /// The close frame's reason text (at most 123 bytes, as close frames require).
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Normal => "bye",
            Self::MessageTooBig => "message too big",
            Self::PositionsUnavailable => "positions unavailable; reconnect and resume",
            Self::RoomsUnavailable => "rooms unavailable; reconnect and resume",
            Self::Restart => "the gateway is shutting down",
            Self::Busy => "the gateway is busy; reconnect later and resume",
            Self::AuthTimeout => "no auth frame in time",
            Self::AuthFirst => "the first frame must be auth",
            Self::TokenMissing => "the auth frame needs a token",
            Self::NoUser => "the token names no valid user",
            Self::OtherUser => "the token is for another user",
            Self::TokenRefused => "the token was refused",
            Self::TokenExpired => "the access token expired",
            Self::SlowConsumer => "slow consumer; reconnect and resume",
            Self::TooManyConnections => "too many connections for this user",
            Self::HeartbeatTimeout => "no answer to heartbeats",
            Self::SessionEnded => "the session ended (logged out)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fit_a_close_frame() {
        for reason in [
            Disconnect::PositionsUnavailable,
            Disconnect::RoomsUnavailable,
            Disconnect::SlowConsumer,
            Disconnect::TooManyConnections,
            Disconnect::Busy,
        ] {
            assert!(reason.reason().len() <= 123);
        }
        assert_eq!(Disconnect::AuthFirst.code(), 4001);
        assert_eq!(Disconnect::SlowConsumer.code(), 4003);
    }
}
