//! One WebSocket connection, from its `auth` frame to its close: one task that reads the
//! client's frames, hands each to its command, and writes what the hub queued for it.
//!
//! Work that needs large futures (sends, history pages, catch-up) is boxed, so an idle
//! socket's task stays small.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use chat_protocol::server::{Limits, PROTOCOL_VERSION, Ready, Resumed, RoomPosition, UserRef};
use chat_protocol::{ClientFrame, Disconnect, ErrorCode, Position, RoomId, ServerFrame};
use chat_runtime::token::{AccessClaims, TokenVerifier};
use futures::StreamExt;
use uuid::Uuid;

use super::cmd;
use super::confirms::Confirms;
use super::connection::{Connection, Ended, Flow};
use super::cursor::{self, Resume};
use super::handshake::{self, Authenticated};
use super::socket::{Cursors, Session, expiry};
use crate::client_error::ClientError;
use crate::core::messages::MessageError;
use crate::core::outbox::{Closing, Outbox};
use crate::core::presence::PRESENCE_INTERVAL;
use crate::core::realtime::Realtime;
use crate::core::rooms::UserRooms;
use crate::core::sockets::{CONNECTIONS_METRIC, Sockets};
use crate::ws::frame_limits::{self, FrameLimits};

/// How many heartbeat intervals a silent peer is given.
const MISSED_HEARTBEATS: u8 = 3;

/// Serves one upgraded socket until it closes.
pub async fn run(
    socket: WebSocket,
    realtime: Realtime,
    sockets: Sockets,
    verifier: TokenVerifier,
    preauthenticated: Option<AccessClaims>,
) {
    let _tracked = sockets.track();
    let settings = sockets.settings();
    let write_limit = settings.heartbeat_interval * u32::from(MISSED_HEARTBEATS);
    let mut connection = Connection::new(socket, write_limit);
    let Some(Authenticated {
        user,
        claims,
        resume,
    }) = Box::pin(handshake::authenticate(
        &mut connection,
        &sockets,
        &verifier,
        preauthenticated,
    ))
    .await
    else {
        return;
    };
    if realtime.revocations().has_ended(&claims).await {
        connection.close(Disconnect::SessionEnded).await;
        return;
    }
    let outbox = Outbox::new(
        sockets.next_socket_id(),
        user.into(),
        settings.outbound_queue,
    );
    if realtime
        .hub()
        .add_socket(&outbox, settings.max_connections_per_user)
        .await
        .is_err()
    {
        connection.close(Disconnect::TooManyConnections).await;
        return;
    }
    metrics::gauge!(CONNECTIONS_METRIC).increment(1.0);
    let mut session = Session {
        limiter: realtime.messages().socket_limiter(),
        frame_limits: FrameLimits::new(settings),
        connection,
        verifier,
        outbox,
        user,
        session_id: claims.sid.clone(),
        watching: HashSet::new(),
        partners: HashSet::new(),
        presence_pending: HashMap::new(),
        presence_next: tokio::time::Instant::now(),
        expires_at: expiry(claims.exp),
        cursors: Cursors::default(),
        missed_heartbeats: 0,
        confirms: None,
        realtime,
        sockets,
    };
    session
        .realtime
        .presence()
        .connected(session.user, session.outbox.id())
        .await;
    if Box::pin(session.start(resume)).await.is_ok() {
        let _ = session.serve().await;
    }
    // Dropping the session takes it out of the hub (see `Drop for Session`).
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Session {
    /// Subscribes the user's rooms, sends `ready`, then the catch-up of every resumed room.
    async fn start(&mut self, resume: HashMap<RoomId, Position>) -> Flow {
        let Some(UserRooms {
            rooms,
            direct_partners,
        }) = self.memberships().await
        else {
            self.connection.close(Disconnect::RoomsUnavailable).await;
            return Err(Ended);
        };
        // Recorded before joining, so that the socket leaves them whatever happens next.
        for room in &rooms {
            self.cursors.insert(*room, Position::NOTHING);
        }
        // Subscribe before reading positions: whatever is published from now on is queued
        // and de-duplicated against the positions read below.
        let uuids: Vec<Uuid> = rooms.iter().map(RoomId::as_uuid).collect();
        self.realtime.hub().join_rooms(&self.outbox, &uuids).await;
        let sequencer = self.realtime.sequencer();
        let positions = futures::future::join_all(
            rooms
                .iter()
                .map(|room| async move { sequencer.current_position(*room).await }),
        )
        .await;
        // Best effort: without history the socket starts, with no read state.
        let mut read_states = self
            .realtime
            .read_states()
            .states(self.user.as_uuid(), &uuids)
            .await
            .inspect_err(|status| tracing::warn!(error = %status, "read states unavailable"))
            .unwrap_or_default();
        let mut views = Vec::with_capacity(rooms.len());
        for (room, position) in rooms.iter().zip(positions) {
            let Ok(position) = position else {
                self.connection
                    .close(Disconnect::PositionsUnavailable)
                    .await;
                return Err(Ended);
            };
            let position = position.unwrap_or_default();
            self.cursors.insert(*room, position);
            let read = read_states.remove(&room.as_uuid());
            views.push(RoomPosition {
                id: *room,
                position,
                read_position: read.as_ref().and_then(|read| read.read_position),
                unread: read.as_ref().map_or(0, |read| read.unread),
                mentions: read.as_ref().map_or(0, |read| read.mentions),
            });
        }
        let settings = self.sockets.settings();
        let ready = ServerFrame::Ready(Ready {
            protocol: PROTOCOL_VERSION,
            connection_id: Uuid::now_v7(),
            user: UserRef { id: self.user },
            heartbeat_interval_ms: millis(settings.heartbeat_interval),
            typing_renew_ms: millis(settings.typing_renew()),
            typing_timeout_ms: millis(settings.typing_timeout),
            presence_interval_ms: millis(PRESENCE_INTERVAL),
            limits: Limits {
                max_content_chars: u32::try_from(settings.max_content_chars).unwrap_or(u32::MAX),
                max_frame_bytes: u32::try_from(settings.max_frame_bytes).unwrap_or(u32::MAX),
                sends_per_second: settings.sends_per_second.get(),
            },
            rooms: views,
        });
        self.connection.send(&ready).await?;

        for (room, from) in resume {
            let Some(current) = self.cursors.get(&room).copied() else {
                continue;
            };
            let replayed = match cursor::on_resume(from, current) {
                Resume::UpToDate => 0,
                Resume::Resync => {
                    self.resync(
                        room,
                        current,
                        chat_protocol::server::ResyncReason::EpochChanged,
                    )
                    .await?;
                    0
                }
                Resume::Fill { through } => {
                    self.cursors.insert(room, from);
                    // Up to the position `ready` named; membership changes up to there
                    // are already in the memberships just listed, so entries that ended
                    // an earlier membership do not take the room away (the user is back).
                    Box::pin(self.fill(room, Some(through), false)).await?
                }
            };
            let Some(at) = self.cursors.get(&room).copied() else {
                continue;
            };
            self.connection
                .send(&ServerFrame::Resumed(Resumed {
                    room,
                    position: at,
                    replayed,
                }))
                .await?;
        }
        // After the catch-up: the people of the user's direct rooms, and where they are.
        Box::pin(self.follow_partners(&direct_partners)).await
    }

    /// The session's main loop.
    async fn serve(&mut self) -> Flow {
        let period = self.sockets.settings().heartbeat_interval;
        let write_delay = self.sockets.settings().write_delay;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Made once, not per wake-up: every socket waits on the same drain token, and
        // re-registering with it (and with the timer) on each delivery would cost.
        let draining = self.sockets.draining().clone();
        let drained = draining.cancelled();
        tokio::pin!(drained);
        let expiry = tokio::time::sleep_until(self.expires_at);
        tokio::pin!(expiry);
        loop {
            if self.outbox.closing() == Some(Closing::SlowConsumer) {
                self.connection.close(Disconnect::SlowConsumer).await;
                return Err(Ended);
            }
            if expiry.deadline() != self.expires_at {
                expiry.as_mut().reset(self.expires_at);
            }
            tokio::select! {
                biased;
                () = &mut drained => {
                    // Answer the sends in flight and flush what was queued, then send
                    // everyone elsewhere.
                    Box::pin(cmd::send::answer_all(self)).await?;
                    Box::pin(self.deliver_ready()).await?;
                    Box::pin(self.connection.say_reconnect()).await;
                    return Err(Ended);
                }
                () = &mut expiry => {
                    self.connection.close(Disconnect::TokenExpired).await;
                    return Err(Ended);
                }
                () = self.outbox.ready() => {
                    if !write_delay.is_zero() {
                        // What else arrives meanwhile goes out in the same write (boxed:
                        // a timer in every idle socket's future would cost memory).
                        Box::pin(tokio::time::sleep(write_delay)).await;
                    }
                    self.deliver_ready().await?;
                }
                Some((reference, outcome)) = next_confirm(&mut self.confirms) => {
                    if self.confirms.as_ref().is_some_and(|confirms| confirms.is_empty()) {
                        self.confirms = None;
                    }
                    Box::pin(cmd::send::answer(self, reference, outcome)).await?;
                }
                () = tokio::time::sleep_until(self.presence_next), if !self.presence_pending.is_empty() => {
                    Box::pin(self.flush_presence()).await?;
                }
                message = self.connection.recv() => {
                    self.missed_heartbeats = 0;
                    match message {
                        Some(Ok(Message::Text(text))) => Box::pin(self.on_text(text)).await?,
                        Some(Ok(Message::Binary(_))) => {
                            let error = ClientError::new(
                                ErrorCode::MalformedFrame,
                                "frames must be JSON text, not binary",
                            );
                            Box::pin(self.send_error(&error, None)).await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | None => return Err(Ended),
                        Some(Err(err)) => {
                            Box::pin(self.connection.end_on_error(&err)).await;
                            return Err(Ended);
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    // Another interval without a word from the peer: after the third it
                    // has been silent for three intervals, and goes.
                    self.missed_heartbeats += 1;
                    if self.missed_heartbeats >= MISSED_HEARTBEATS {
                        self.connection.close(Disconnect::HeartbeatTimeout).await;
                        return Err(Ended);
                    }
                    Box::pin(self.connection.ping()).await?;
                }
            }
        }
    }

    /// One client frame: parsed, then handed to its command.
    async fn on_text(&mut self, text: Utf8Bytes) -> Flow {
        let max = self.sockets.settings().max_frame_bytes;
        if text.len() > max {
            let error = ClientError::new(
                ErrorCode::FrameTooLarge,
                format!("frames may be at most {max} bytes"),
            );
            return self.send_error(&error, None).await;
        }
        let frame = match chat_protocol::client::parse(&text) {
            Ok(frame) => frame,
            Err(err) => {
                let reference = err.reference.clone();
                return self
                    .send_error(&ClientError::from(err), reference.as_deref())
                    .await;
            }
        };
        drop(text);
        if let Err(retry_after) = self.frame_limits.admit(&frame) {
            let error = ClientError::new(
                ErrorCode::RateLimited,
                "too many frames of this kind; slow down",
            )
            .with_retry_after(retry_after);
            let reference = frame_limits::reference(&frame).map(str::to_owned);
            return self.send_error(&error, reference.as_deref()).await;
        }
        match frame {
            ClientFrame::Auth(frame) => Box::pin(cmd::auth::renew(self, frame)).await,
            ClientFrame::Send(frame) => Box::pin(cmd::send::send(self, frame)).await,
            ClientFrame::History(frame) => Box::pin(cmd::history::history(self, frame)).await,
            ClientFrame::Join(request) => Box::pin(cmd::join::join(self, request)).await,
            ClientFrame::Leave(request) => Box::pin(cmd::leave::leave(self, request)).await,
            ClientFrame::Ping(ping) => cmd::ping::ping(self, ping).await,
            ClientFrame::Typing(frame) => Box::pin(cmd::typing::typing(self, frame)).await,
            ClientFrame::Presence(frame) => Box::pin(cmd::presence::activity(self, frame)).await,
            ClientFrame::Focus(frame) => Box::pin(cmd::presence::focus(self, frame)).await,
            ClientFrame::PresenceSubscribe(frame) => {
                Box::pin(cmd::presence::subscribe(self, frame)).await
            }
            ClientFrame::Edit(frame) => Box::pin(cmd::change::edit(self, frame)).await,
            ClientFrame::Delete(frame) => Box::pin(cmd::change::delete(self, frame)).await,
            ClientFrame::React(frame) => Box::pin(cmd::change::react(self, frame, true)).await,
            ClientFrame::Unreact(frame) => Box::pin(cmd::change::react(self, frame, false)).await,
            ClientFrame::Read(frame) => Box::pin(cmd::read::read(self, frame)).await,
            ClientFrame::Search(frame) => Box::pin(cmd::search::search(self, frame)).await,
        }
    }
}

/// The next answered send, or never when none is in flight.
async fn next_confirm(
    confirms: &mut Option<Confirms>,
) -> Option<(String, Result<chat_protocol::Ack, MessageError>)> {
    match confirms {
        Some(confirms) if !confirms.is_empty() => confirms.next().await,
        _ => std::future::pending().await,
    }
}
