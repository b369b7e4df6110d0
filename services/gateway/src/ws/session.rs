//! One WebSocket connection, from its `auth` frame to its close: one task that reads the
//! client's frames, hands each to its command, and writes what the hub queued for it.
//!
//! Work that needs large futures (sends, history pages, catch-up) is boxed, so an idle
//! socket's task stays small.

use std::collections::HashMap;
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
///
/// The future returned lives as long as the socket, in every socket's task, so it holds
/// the session and its main loop and nothing else: the steps before the loop run boxed
/// in [`open`], which takes the arguments (an async fn would keep room for them, and for
/// every local of those steps, for the socket's whole life).
pub fn run(
    socket: WebSocket,
    realtime: Realtime,
    sockets: Sockets,
    verifier: TokenVerifier,
    preauthenticated: Option<AccessClaims>,
) -> impl Future<Output = ()> {
    let tracked = sockets.track();
    let opening = Box::pin(open(socket, realtime, sockets, verifier, preauthenticated));
    async move {
        let _tracked = tracked;
        let Some((mut session, resume)) = opening.await else {
            return;
        };
        if Box::pin(session.start(resume)).await.is_ok() {
            let _ = session.serve().await;
        }
        // Dropping the session takes it out of the hub (see `Drop for Session`).
    }
}

/// Authenticates the socket and registers it with the hub and presence: the session and
/// the positions it asked to resume from, or `None` once the socket was closed.
async fn open(
    socket: WebSocket,
    realtime: Realtime,
    sockets: Sockets,
    verifier: TokenVerifier,
    preauthenticated: Option<AccessClaims>,
) -> Option<(Session, HashMap<RoomId, Position>)> {
    let settings = sockets.settings();
    let write_limit = settings.heartbeat_interval * u32::from(MISSED_HEARTBEATS);
    let mut connection = Connection::new(socket, write_limit);
    let Authenticated {
        user,
        claims,
        resume,
    } = handshake::authenticate(&mut connection, &sockets, &verifier, preauthenticated).await?;
    if realtime.revocations().has_ended(&claims).await {
        connection.close(Disconnect::SessionEnded).await;
        return None;
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
        return None;
    }
    metrics::gauge!(CONNECTIONS_METRIC).increment(1.0);
    let session = Session {
        limiter: realtime.messages().socket_limiter(),
        frame_limits: FrameLimits::new(settings),
        connection,
        verifier,
        outbox,
        user,
        session_id: claims.sid,
        following: None,
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
    Some((session, resume))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Session {
    /// Subscribes the user's rooms, sends `ready`, then the catch-up of every resumed room,
    /// once the socket's turn to set up has come (see [`Sockets::turn_to_open`]). The user
    /// counts as online meanwhile: in a reconnect storm, waiting for the turn does not make
    /// them flap offline and online.
    async fn start(&mut self, resume: HashMap<RoomId, Position>) -> Flow {
        let Some(_turn) = self.sockets.turn_to_open().await else {
            self.connection.close(Disconnect::Busy).await;
            return Err(Ended);
        };
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
            tracing::debug!(socket = self.outbox.id(), user = %self.user, %room, ?position, "socket starts");
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
            tracing::debug!(
                socket = self.outbox.id(),
                %room,
                ?from,
                ?current,
                decision = ?cursor::on_resume(from, current),
                "resuming"
            );
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
    ///
    /// One timer serves the token's expiry, the next heartbeat and the next presence
    /// frame, whichever is due first: every socket's task holds this loop, so each timer
    /// more would cost memory on every socket.
    async fn serve(&mut self) -> Flow {
        let mut next_heartbeat =
            tokio::time::Instant::now() + self.sockets.settings().heartbeat_interval;
        let timer = tokio::time::sleep_until(self.next_timer(next_heartbeat));
        tokio::pin!(timer);
        // Whether the timer holds this task's waker (see [`fired`]).
        let mut timer_armed = false;
        loop {
            // A drain closes every outbox in the hub; a socket that joined it after
            // that sees the gateway draining.
            match self.outbox.closing() {
                Some(Closing::SlowConsumer) => {
                    self.connection.close(Disconnect::SlowConsumer).await;
                    return Err(Ended);
                }
                Some(Closing::Shutdown) => return Box::pin(self.leave_for_another_gateway()).await,
                None if self.sockets.is_draining() => {
                    return Box::pin(self.leave_for_another_gateway()).await;
                }
                None => {}
            }
            let due = self.next_timer(next_heartbeat);
            if timer.deadline() != due {
                timer.as_mut().reset(due);
                timer_armed = false;
            }
            tokio::select! {
                biased;
                () = fired(timer.as_mut(), &mut timer_armed) => {
                    let now = tokio::time::Instant::now();
                    if now >= self.expires_at {
                        self.connection.close(Disconnect::TokenExpired).await;
                        return Err(Ended);
                    }
                    if self.following.as_ref().is_some_and(|following| following.due(now)) {
                        Box::pin(self.flush_presence()).await?;
                    }
                    if now >= next_heartbeat {
                        // Another interval without a word from the peer: after the third
                        // it has been silent for three intervals, and goes.
                        next_heartbeat = now + self.sockets.settings().heartbeat_interval;
                        self.missed_heartbeats += 1;
                        if self.missed_heartbeats >= MISSED_HEARTBEATS {
                            self.connection.close(Disconnect::HeartbeatTimeout).await;
                            return Err(Ended);
                        }
                        Box::pin(self.connection.ping()).await?;
                    }
                }
                () = self.outbox.ready() => {
                    let write_delay = self.sockets.settings().write_delay;
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
            }
        }
    }

    /// The gateway is draining: answers the sends in flight and flushes what was queued,
    /// then tells the client to reconnect (to another gateway).
    async fn leave_for_another_gateway(&mut self) -> Flow {
        cmd::send::answer_all(self).await?;
        self.deliver_ready().await?;
        self.connection.say_reconnect().await;
        Err(Ended)
    }

    /// When the loop's timer must next fire: the token's expiry, the next heartbeat or,
    /// with presence changes waiting, the next presence frame, whichever comes first.
    fn next_timer(&self, next_heartbeat: tokio::time::Instant) -> tokio::time::Instant {
        let due = next_heartbeat.min(self.expires_at);
        match self.following.as_deref() {
            Some(following) if !following.pending.is_empty() => due.min(following.next),
            _ => due,
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

/// The loop's timer, polled only when it may have fired.
///
/// The loop wakes for nearly every delivery, and polling a `Sleep` registers the task's
/// waker with the timer again each time. Once the timer holds the waker (`armed`), it
/// keeps it until it fires or is reset, and a task's waker stays the same for the task's
/// life, so until then there is nothing to poll: whether it fired is one atomic load.
fn fired<'a>(
    mut timer: std::pin::Pin<&'a mut tokio::time::Sleep>,
    armed: &'a mut bool,
) -> impl Future<Output = ()> + 'a {
    std::future::poll_fn(move |cx| {
        if *armed && !timer.is_elapsed() {
            return std::task::Poll::Pending;
        }
        *armed = true;
        timer.as_mut().poll(cx)
    })
}

/// The next answered send, or never when none is in flight.
async fn next_confirm(
    confirms: &mut Option<Box<Confirms>>,
) -> Option<(String, Result<chat_protocol::Ack, MessageError>)> {
    match confirms {
        Some(confirms) if !confirms.is_empty() => confirms.next().await,
        _ => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` returns, without calling it.
    fn future_size<A, B, C, D, E, F: Future>(_: impl FnOnce(A, B, C, D, E) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// The size of the future the method `f` returns, without calling it.
    fn method_future_size<'a, S: 'a, F: Future>(_: impl FnOnce(&'a mut S) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every open socket's task holds `run`'s future: an await added to it inline, or a
    /// local kept across the loop, costs memory on every socket (an idle one is about
    /// 4 KB in all). `run` holds the session and its loop, and a few words more.
    #[test]
    fn a_socket_task_holds_its_session_and_its_loop_and_little_else() {
        let session = std::mem::size_of::<Session>();
        let serve = method_future_size(Session::serve);
        let run = future_size(run);
        assert!(
            run <= session + serve + 128,
            "run's future is {run} bytes: the session ({session}) and its loop ({serve}) \
             and {} more",
            run - session - serve
        );
    }
}
