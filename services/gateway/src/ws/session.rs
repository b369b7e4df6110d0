//! One WebSocket connection, from its `auth` frame to its close: one task that reads the
//! client's frames and writes what the hub queued for it.
//!
//! The socket keeps, per room, the last position it delivered (its cursor). An event is
//! written only when it is the next one (`seq = cursor + 1`); an event further ahead
//! means something was missed, which is read from the stream or history (see
//! [`crate::catchup`]) before the event is written; an event at or below the cursor is
//! dropped, so nothing is delivered twice; an event of another epoch (higher or lower)
//! is checked against Redis and a real epoch change is announced with `resync`. Resume,
//! gaps and Redis restarts all go through this one path.
//!
//! An entry that ends this user's membership (left, kicked, banned) or the room (deleted)
//! takes the room off the socket right after it is written, so the socket stops at that
//! exact position whatever happens to the user's channel; the user-channel event that
//! follows finds the room gone and changes nothing. After the hub lost Redis for a while,
//! the socket also compares its rooms with the user's memberships.
//!
//! A position that cannot be read from Redis is never guessed: the socket is closed with
//! 1011 and the client resumes.
//!
//! Work that needs large futures (sends, history pages, catch-up) is boxed, so an idle
//! socket's task stays small.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_proto::v1::{
    JoinRoomRequest, LeaveRoomRequest, ListMembershipsRequest, RoomEvent, RoomEventKind, RoomKind,
};
use chat_runtime::status::RemoteError;
use chat_runtime::token::{AccessClaims, TokenVerifier};
use futures::SinkExt;
use governor::DefaultDirectRateLimiter;
use uuid::Uuid;

use super::frames::{
    self, Ack, AuthFrame, ClientFrame, ErrorFrame, FrameError, HistoryPage, Limits, Ready,
    ResumePosition, RoomPositionView, ServerFrame, UserRef, room_kind,
};
use super::outbound::{Closing, Outbound, Outbox, Removal, RoomDelivery};
use crate::catchup::{PAGE, Step, Unreadable};
use crate::messages::{MessageError, Messages, SendRequest};
use crate::realtime::{CONNECTIONS_METRIC, Realtime};

/// Close codes of the protocol.
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
    pub const RESTART: u16 = 1012;
    pub const UNAUTHENTICATED: u16 = 4001;
    pub const TOKEN_EXPIRED: u16 = 4002;
    pub const SLOW_CONSUMER: u16 = 4003;
    pub const TOO_MANY_CONNECTIONS: u16 = 4004;
    pub const HEARTBEAT_TIMEOUT: u16 = 4005;
}

/// How many heartbeat intervals a silent peer is given.
const MISSED_HEARTBEATS: u8 = 3;

/// How long a closing socket waits for the peer's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The socket ended (closed by either side, or broken).
struct Ended;

type Flow = Result<(), Ended>;

/// Serves one upgraded socket until it closes.
pub async fn run(
    socket: WebSocket,
    realtime: Realtime,
    verifier: TokenVerifier,
    preauthenticated: Option<AccessClaims>,
) {
    let _tracked = realtime.track_socket();
    let mut socket = socket;
    let Some((claims, resume)) = Box::pin(authenticate(
        &mut socket,
        &realtime,
        &verifier,
        preauthenticated,
    ))
    .await
    else {
        return;
    };
    let Ok(user) = claims.sub.parse::<Uuid>() else {
        close_socket(
            &mut socket,
            close::UNAUTHENTICATED,
            "the token names no valid user",
        )
        .await;
        return;
    };
    let settings = realtime.settings();
    let outbox = Outbox::new(realtime.next_socket_id(), user, settings.outbound_queue);
    if realtime
        .hub()
        .add_socket(&outbox, settings.max_connections_per_user)
        .await
        .is_err()
    {
        close_socket(
            &mut socket,
            close::TOO_MANY_CONNECTIONS,
            "too many connections for this user",
        )
        .await;
        return;
    }
    metrics::gauge!(CONNECTIONS_METRIC).increment(1.0);
    let mut session = Session {
        limiter: realtime.messages().socket_limiter(),
        socket,
        verifier,
        outbox,
        user,
        expires_at: expiry(claims.exp),
        cursors: HashMap::new(),
        missed_heartbeats: 0,
        realtime,
    };
    if Box::pin(session.start(resume)).await.is_ok() {
        let _ = session.serve().await;
    }
    // Dropping the session takes it out of the hub (see `Drop for Session`).
}

/// Waits for the first frame, which must be a valid `auth`; closes the socket otherwise.
async fn authenticate(
    socket: &mut WebSocket,
    realtime: &Realtime,
    verifier: &TokenVerifier,
    preauthenticated: Option<AccessClaims>,
) -> Option<(AccessClaims, HashMap<Uuid, ResumePosition>)> {
    let deadline = tokio::time::sleep(realtime.settings().auth_timeout);
    tokio::pin!(deadline);
    let frame: AuthFrame = loop {
        tokio::select! {
            () = &mut deadline => {
                close_socket(socket, close::UNAUTHENTICATED, "no auth frame in time").await;
                return None;
            }
            () = realtime.draining().cancelled() => {
                say_reconnect(socket).await;
                return None;
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    if text.len() > realtime.settings().max_frame_bytes {
                        close_socket(socket, close::UNAUTHENTICATED, "the first frame must be auth").await;
                        return None;
                    }
                    match frames::parse(&text) {
                        Ok(ClientFrame::Auth(frame)) => break frame,
                        _ => {
                            close_socket(socket, close::UNAUTHENTICATED, "the first frame must be auth").await;
                            return None;
                        }
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Binary(_))) => {
                    close_socket(socket, close::UNAUTHENTICATED, "the first frame must be auth").await;
                    return None;
                }
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Err(err)) => {
                    end_on_error(socket, &err).await;
                    return None;
                }
            },
        }
    };
    let claims = match (frame.token.as_deref(), preauthenticated) {
        (Some(token), preauthenticated) => match verifier.verify(token).await {
            Ok(claims)
                if preauthenticated
                    .as_ref()
                    .is_none_or(|earlier| earlier.sub == claims.sub) =>
            {
                claims
            }
            Ok(_) => {
                close_socket(
                    socket,
                    close::UNAUTHENTICATED,
                    "the token is for another user",
                )
                .await;
                return None;
            }
            Err(err) => {
                close_socket(socket, close::UNAUTHENTICATED, &err.to_string()).await;
                return None;
            }
        },
        (None, Some(claims)) => claims,
        (None, None) => {
            close_socket(
                socket,
                close::UNAUTHENTICATED,
                "the auth frame needs a token",
            )
            .await;
            return None;
        }
    };
    Some((claims, frame.resume.unwrap_or_default()))
}

/// Where a socket stands in one room: the last position it delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    epoch: u64,
    seq: u64,
}

impl Cursor {
    /// Nothing seen yet: every entry of the room's current epoch follows. Also what a
    /// room's cursor holds between joining its channel and reading its position.
    const NOTHING: Self = Self { epoch: 0, seq: 0 };
}

struct Session {
    socket: WebSocket,
    realtime: Realtime,
    verifier: TokenVerifier,
    outbox: Arc<Outbox>,
    user: Uuid,
    expires_at: tokio::time::Instant,
    /// One entry per room whose channel this socket joined in the hub, inserted before
    /// the join: what the socket is taken out of when it ends.
    cursors: HashMap<Uuid, Cursor>,
    limiter: DefaultDirectRateLimiter,
    missed_heartbeats: u8,
}

/// However the session ends (closed, failed start, early return, panic), the hub stops
/// queueing for it: its outbox leaves every room it joined and its user's sockets.
impl Drop for Session {
    fn drop(&mut self) {
        self.realtime
            .hub()
            .remove_socket(&self.outbox, self.cursors.keys().copied());
        metrics::gauge!(CONNECTIONS_METRIC).decrement(1.0);
    }
}

fn expiry(exp: i64) -> tokio::time::Instant {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
    tokio::time::Instant::now() + Duration::from_secs(left)
}

impl Session {
    /// Subscribes the user's rooms, sends `ready`, then the catch-up of every resumed room.
    async fn start(&mut self, resume: HashMap<Uuid, ResumePosition>) -> Flow {
        let Some(rooms) = self.memberships().await else {
            self.close(close::INTERNAL, "rooms unavailable; reconnect")
                .await;
            return Err(Ended);
        };
        // Recorded before joining, so that the socket leaves them whatever happens next.
        for room in &rooms {
            self.cursors.insert(*room, Cursor::NOTHING);
        }
        // Subscribe before reading positions: whatever is published from now on is queued
        // and de-duplicated against the positions read below.
        self.realtime.hub().join_rooms(&self.outbox, &rooms).await;
        let sequencer = self.realtime.sequencer();
        let positions = futures::future::join_all(
            rooms
                .iter()
                .map(|room| async move { sequencer.current_position(&room.to_string()).await }),
        )
        .await;
        let mut views = Vec::with_capacity(rooms.len());
        for (room, position) in rooms.iter().zip(positions) {
            let Ok(position) = position else {
                self.close(close::INTERNAL, "positions unavailable; reconnect")
                    .await;
                return Err(Ended);
            };
            let (epoch, seq) = position.unwrap_or((0, 0));
            self.cursors.insert(*room, Cursor { epoch, seq });
            views.push(RoomPositionView {
                id: *room,
                epoch,
                position: seq,
            });
        }
        let settings = self.realtime.settings();
        let ready = ServerFrame::Ready(Ready {
            protocol: frames::PROTOCOL_VERSION,
            connection_id: Uuid::now_v7(),
            user: UserRef {
                id: &self.user.to_string(),
            },
            heartbeat_interval_ms: millis(settings.heartbeat_interval),
            limits: Limits {
                max_content_chars: settings.max_content_chars,
                max_frame_bytes: settings.max_frame_bytes,
                sends_per_second: settings.sends_per_second.get(),
            },
            rooms: &views,
        })
        .to_text();
        self.send_text(ready).await?;
        drop(views);

        for (room, from) in resume {
            let Some(current) = self.cursors.get(&room).copied() else {
                continue;
            };
            let from = Cursor {
                epoch: from.epoch,
                seq: from.position,
            };
            let replayed = if from.epoch == 0 && from.seq != 0 {
                // No epoch is 0: not a position this room ever had.
                self.resync(room, current.epoch, current.seq, "epoch_changed")
                    .await?;
                0
            } else {
                self.cursors.insert(room, from);
                // Up to the position `ready` named; membership changes up to there are
                // already in the memberships just listed, so entries that ended an
                // earlier membership do not take the room away (the user is back in it).
                Box::pin(self.fill(room, Some(current), false)).await?
            };
            let Some(at) = self.cursors.get(&room).copied() else {
                continue;
            };
            self.send_frame(&ServerFrame::Resumed {
                room,
                epoch: at.epoch,
                position: at.seq,
                replayed,
            })
            .await?;
        }
        Ok(())
    }

    /// The rooms the user belongs to now, or `None` when the rooms service cannot say.
    async fn memberships(&mut self) -> Option<Vec<Uuid>> {
        match self
            .realtime
            .rooms()
            .list_memberships(ListMembershipsRequest {
                user_id: self.user.to_string(),
            })
            .await
        {
            Ok(response) => Some(
                response
                    .into_inner()
                    .room_ids
                    .iter()
                    .filter_map(|id| id.parse().ok())
                    .collect(),
            ),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = %status.message(), "cannot list memberships");
                None
            }
        }
    }

    /// The session's main loop.
    async fn serve(&mut self) -> Flow {
        let period = self.realtime.settings().heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Made once, not per wake-up: every socket waits on the same drain token, and
        // re-registering with it (and with the timer) on each delivery would cost.
        let draining = self.realtime.draining().clone();
        let drained = draining.cancelled();
        tokio::pin!(drained);
        let expiry = tokio::time::sleep_until(self.expires_at);
        tokio::pin!(expiry);
        loop {
            if self.outbox.closing() == Some(Closing::SlowConsumer) {
                self.close(close::SLOW_CONSUMER, "slow consumer; reconnect and resume")
                    .await;
                return Err(Ended);
            }
            if expiry.deadline() != self.expires_at {
                expiry.as_mut().reset(self.expires_at);
            }
            tokio::select! {
                biased;
                () = &mut drained => {
                    // Flush what was queued, then send everyone elsewhere.
                    Box::pin(self.deliver_queued()).await?;
                    Box::pin(say_reconnect(&mut self.socket)).await;
                    return Err(Ended);
                }
                () = &mut expiry => {
                    self.close(close::TOKEN_EXPIRED, "the access token expired").await;
                    return Err(Ended);
                }
                () = self.outbox.ready() => Box::pin(self.deliver_queued()).await?,
                message = self.socket.recv() => {
                    self.missed_heartbeats = 0;
                    match message {
                        Some(Ok(Message::Text(text))) => Box::pin(self.on_text(text)).await?,
                        Some(Ok(Message::Binary(_))) => {
                            Box::pin(self.send_error(&FrameError {
                                code: "malformed_frame",
                                message: "frames must be JSON text, not binary".to_owned(),
                                reference: None,
                                fields: None,
                            }))
                            .await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | None => return Err(Ended),
                        Some(Err(err)) => {
                            Box::pin(end_on_error(&mut self.socket, &err)).await;
                            return Err(Ended);
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if self.missed_heartbeats >= MISSED_HEARTBEATS {
                        self.close(close::HEARTBEAT_TIMEOUT, "no answer to heartbeats").await;
                        return Err(Ended);
                    }
                    self.missed_heartbeats += 1;
                    Box::pin(self.ping()).await?;
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Client frames

    async fn on_text(&mut self, text: Utf8Bytes) -> Flow {
        let max = self.realtime.settings().max_frame_bytes;
        if text.len() > max {
            return self
                .send_error(&FrameError {
                    code: "frame_too_large",
                    message: format!("frames may be at most {max} bytes"),
                    reference: None,
                    fields: None,
                })
                .await;
        }
        let frame = match frames::parse(&text) {
            Ok(frame) => frame,
            Err(err) => return self.send_error(&err).await,
        };
        drop(text);
        match frame {
            ClientFrame::Auth(frame) => Box::pin(self.renew(frame)).await,
            ClientFrame::Send(frame) => {
                let request = SendRequest {
                    room: frame.room,
                    client_msg_id: frame.client_msg_id,
                    content: frame.content,
                    reply_to: frame.reply_to,
                };
                Box::pin(self.on_send(request)).await
            }
            ClientFrame::History(frame) => {
                let messages = self.realtime.messages().clone();
                let outcome = Box::pin(messages.history(
                    self.user,
                    frame.room,
                    frame.before,
                    frame.after,
                    frame.limit,
                ))
                .await;
                match outcome {
                    Ok(page) => {
                        self.send_frame(&ServerFrame::History(HistoryPage {
                            reference: &frame.id,
                            room: frame.room,
                            messages: &page.messages,
                            has_older: page.has_older,
                            has_newer: page.has_newer,
                        }))
                        .await
                    }
                    Err(err) => self.send_message_error(&err, &frame.id).await,
                }
            }
            ClientFrame::Join(request) => Box::pin(self.on_join(request.id, request.room)).await,
            ClientFrame::Leave(request) => Box::pin(self.on_leave(request.id, request.room)).await,
            ClientFrame::Ping(ping) => {
                self.send_frame(&ServerFrame::Pong {
                    reference: ping.id.as_deref(),
                })
                .await
            }
        }
    }

    async fn renew(&mut self, frame: AuthFrame) -> Flow {
        let Some(token) = frame.token else {
            return self
                .send_error(&FrameError {
                    code: "invalid_frame",
                    message: "a renewal needs a token".to_owned(),
                    reference: None,
                    fields: Some([("token".to_owned(), "missing".to_owned())].into()),
                })
                .await;
        };
        match self.verifier.verify(&token).await {
            Ok(claims) if claims.sub == self.user.to_string() => {
                self.expires_at = expiry(claims.exp);
                let expires_at = time::OffsetDateTime::from_unix_timestamp(claims.exp)
                    .ok()
                    .and_then(|at| {
                        at.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
                self.send_frame(&ServerFrame::AuthRenewed { expires_at })
                    .await
            }
            Ok(_) => {
                self.send_error(&FrameError {
                    code: "already_authenticated",
                    message: "this socket is authenticated as another user".to_owned(),
                    reference: None,
                    fields: None,
                })
                .await
            }
            Err(err) => {
                self.send_error(&FrameError {
                    code: "invalid_token",
                    message: err.to_string(),
                    reference: None,
                    fields: None,
                })
                .await
            }
        }
    }

    async fn on_send(&mut self, request: SendRequest) -> Flow {
        let reference = request.client_msg_id.clone();
        let messages: &Messages = self.realtime.messages();
        let outcome = match Messages::admit(&self.limiter) {
            Ok(()) => messages.clone().send(self.user, request).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(ack) => self.send_ack(&ack).await,
            Err(err) => self.send_message_error(&err, &reference).await,
        }
    }

    async fn send_ack(&mut self, ack: &Ack) -> Flow {
        self.send_frame(&ServerFrame::Ack(ack)).await
    }

    async fn on_join(&mut self, reference: String, room: Uuid) -> Flow {
        let joined = self
            .realtime
            .rooms()
            .join_room(JoinRoomRequest {
                caller_id: self.user.to_string(),
                room_id: room.to_string(),
            })
            .await;
        match joined {
            Ok(response) => {
                let kind = response.into_inner().kind();
                self.add_room(room, kind, None).await?;
                self.send_frame(&ServerFrame::Joined {
                    reference: &reference,
                    room,
                })
                .await
            }
            Err(status) => self.send_remote_error(&status, &reference).await,
        }
    }

    async fn on_leave(&mut self, reference: String, room: Uuid) -> Flow {
        let left = self
            .realtime
            .rooms()
            .leave_room(LeaveRoomRequest {
                caller_id: self.user.to_string(),
                room_id: room.to_string(),
            })
            .await;
        match left {
            Ok(_) => {
                self.realtime.messages().forget_membership(room, self.user);
                self.remove_room(room, "left").await?;
                self.send_frame(&ServerFrame::Left {
                    reference: &reference,
                    room,
                })
                .await
            }
            Err(status) => self.send_remote_error(&status, &reference).await,
        }
    }

    // -----------------------------------------------------------------------------------
    // What the hub queued

    async fn deliver_queued(&mut self) -> Flow {
        while let Some(item) = self.outbox.pop() {
            match item {
                Outbound::Room(delivery) => self.deliver(&delivery).await?,
                Outbound::Membership(event) => Box::pin(self.on_membership(&event)).await?,
                Outbound::Recheck => Box::pin(self.recheck()).await?,
            }
            if self.outbox.closing() == Some(Closing::SlowConsumer) {
                return Ok(());
            }
        }
        self.flush().await
    }

    async fn deliver(&mut self, delivery: &RoomDelivery) -> Flow {
        let room = delivery.room;
        let Some(cursor) = self.cursors.get(&room).copied() else {
            return Ok(());
        };
        if cursor.epoch == delivery.epoch && delivery.seq <= cursor.seq {
            return Ok(());
        }
        let follows = |cursor: Cursor| {
            (cursor.epoch == delivery.epoch && delivery.seq == cursor.seq + 1)
                || (cursor == Cursor::NOTHING && delivery.seq == 1)
        };
        if !follows(cursor) {
            // A gap, or another epoch (higher, or lower after a Redis restored on a host
            // whose clock is behind): Redis says what is true, and the missed entries
            // (or a resync) come first. A stale event of an old epoch ends up dropped.
            let before = Cursor {
                epoch: delivery.epoch,
                seq: delivery.seq - 1,
            };
            Box::pin(self.fill(room, Some(before), true)).await?;
        }
        let Some(cursor) = self.cursors.get(&room).copied() else {
            return Ok(());
        };
        if !follows(cursor) {
            return Ok(());
        }
        if let Some(frame) = &delivery.frame {
            self.write(Message::Text(frame.clone())).await?;
        }
        self.cursors.insert(
            room,
            Cursor {
                epoch: delivery.epoch,
                seq: delivery.seq,
            },
        );
        self.after_entry(room, delivery.removal).await?;
        Ok(())
    }

    /// After an entry was written: an entry that ends this user's membership (or the
    /// room) takes the room off the socket right there. Returns whether it did.
    async fn after_entry(&mut self, room: Uuid, removal: Option<Removal>) -> Result<bool, Ended> {
        match removal.and_then(|removal| removal.reason_for(self.user)) {
            Some(reason) => {
                self.remove_room(room, reason).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes what follows the room's cursor, up to `through` (or everything there is),
    /// and returns how many entries were written. With `removals`, an entry that ends the
    /// user's membership takes the room away and ends the fill. A `resync` is written
    /// when the epoch changed; when the new epoch is still in the stream from its start,
    /// its entries follow. When Redis cannot be read the socket is closed with 1011.
    async fn fill(
        &mut self,
        room: Uuid,
        through: Option<Cursor>,
        removals: bool,
    ) -> Result<u64, Ended> {
        let mut replayed = 0;
        loop {
            let Some(cursor) = self.cursors.get(&room).copied() else {
                return Ok(replayed);
            };
            let wanted = match through {
                Some(through) if through.epoch == cursor.epoch && cursor.seq >= through.seq => {
                    return Ok(replayed);
                }
                Some(through) if through.epoch == cursor.epoch || cursor.epoch == 0 => {
                    usize::try_from(through.seq.saturating_sub(cursor.seq)).unwrap_or(PAGE)
                }
                _ => PAGE,
            };
            let step = self
                .realtime
                .catchup()
                .next(room, cursor.epoch, cursor.seq, wanted)
                .await;
            match step {
                Ok(Step::Entries(entries)) => {
                    for missed in entries {
                        if through.is_some_and(|through| {
                            missed.epoch == through.epoch && missed.seq > through.seq
                        }) {
                            return Ok(replayed);
                        }
                        if let Some(frame) = missed.frame {
                            self.write(Message::Text(frame.into())).await?;
                        }
                        replayed += 1;
                        self.cursors.insert(
                            room,
                            Cursor {
                                epoch: missed.epoch,
                                seq: missed.seq,
                            },
                        );
                        if removals && self.after_entry(room, missed.removal).await? {
                            return Ok(replayed);
                        }
                    }
                }
                Ok(Step::UpToDate) => return Ok(replayed),
                Ok(Step::Resync { epoch, seq }) => {
                    self.resync(room, epoch, seq, "epoch_changed").await?;
                    if epoch == 0 || seq != 0 {
                        return Ok(replayed);
                    }
                    // The new epoch is in the stream from its start: go on reading it.
                }
                Ok(Step::Unrecoverable { epoch, seq }) => {
                    self.resync(room, epoch, seq, "gap_unrecoverable").await?;
                    return Ok(replayed);
                }
                Err(Unreadable) => {
                    tracing::warn!(%room, "cannot catch up: Redis unreadable; closing with 1011");
                    self.close(
                        close::INTERNAL,
                        "positions unavailable; reconnect and resume",
                    )
                    .await;
                    return Err(Ended);
                }
            }
        }
    }

    async fn resync(&mut self, room: Uuid, epoch: u64, seq: u64, reason: &'static str) -> Flow {
        self.send_frame(&ServerFrame::Resync {
            room,
            epoch,
            position: seq,
            reason,
        })
        .await?;
        self.cursors.insert(room, Cursor { epoch, seq });
        Ok(())
    }

    /// After the hub reconnected to Redis: whatever was published meanwhile is missing,
    /// room entries and user-channel events alike. The entries are filled first (an entry
    /// that ended a membership takes the room away with its own reason); then the rooms
    /// service says which rooms the user belongs to: the others are removed, new ones
    /// added at their current position.
    async fn recheck(&mut self) -> Flow {
        let rooms: Vec<Uuid> = self.cursors.keys().copied().collect();
        for room in rooms {
            Box::pin(self.fill(room, None, true)).await?;
        }
        let Some(member_of) = self.memberships().await else {
            self.close(close::INTERNAL, "rooms unavailable; reconnect and resume")
                .await;
            return Err(Ended);
        };
        let member_of: HashSet<Uuid> = member_of.into_iter().collect();
        let gone: Vec<Uuid> = self
            .cursors
            .keys()
            .filter(|room| !member_of.contains(room))
            .copied()
            .collect();
        for room in gone {
            self.remove_room(room, "not_a_member").await?;
        }
        for room in member_of {
            if !self.cursors.contains_key(&room) {
                Box::pin(self.add_room(room, RoomKind::Unspecified, None)).await?;
            }
        }
        Ok(())
    }

    async fn on_membership(&mut self, event: &RoomEvent) -> Flow {
        let Ok(room) = event.room_id.parse::<Uuid>() else {
            return Ok(());
        };
        let about_me = event.user_id == self.user.to_string();
        let kind = event
            .room
            .as_ref()
            .map_or(RoomKind::Unspecified, |r| r.kind());
        // The event's own position: the socket gets the room's entries after it.
        let from = event.epoch.zip(event.seq);
        match event.kind() {
            RoomEventKind::MemberJoined | RoomEventKind::MemberInvited if about_me => {
                self.add_room(room, kind, from).await
            }
            RoomEventKind::DirectCreated | RoomEventKind::RoomCreated => {
                self.add_room(room, kind, from).await
            }
            _ => match Removal::of(event).and_then(|removal| removal.reason_for(self.user)) {
                // A no-op when the room's own entry already took the room away.
                Some(reason) => self.remove_room(room, reason).await,
                None => Ok(()),
            },
        }
    }

    /// Subscribes this socket to a room it now belongs to and tells the client. With
    /// `from` (the position of the event that added the user), the room's entries after
    /// it follow; without, the socket starts at the room's current position (and is
    /// closed with 1011 when Redis cannot say what that is).
    async fn add_room(&mut self, room: Uuid, kind: RoomKind, from: Option<(u64, u64)>) -> Flow {
        if self.cursors.contains_key(&room) {
            return Ok(());
        }
        self.cursors.insert(room, Cursor::NOTHING);
        self.realtime.hub().join_rooms(&self.outbox, &[room]).await;
        let (epoch, seq) = match from {
            Some(position) => position,
            None => match self
                .realtime
                .sequencer()
                .current_position(&room.to_string())
                .await
            {
                Ok(position) => position.unwrap_or((0, 0)),
                Err(err) => {
                    tracing::warn!(%room, error = %err, "cannot read the room's position; closing with 1011");
                    self.close(
                        close::INTERNAL,
                        "positions unavailable; reconnect and resume",
                    )
                    .await;
                    return Err(Ended);
                }
            },
        };
        self.cursors.insert(room, Cursor { epoch, seq });
        self.send_frame(&ServerFrame::RoomAdded {
            room,
            kind: room_kind(kind),
            epoch,
            position: seq,
        })
        .await?;
        if from.is_some() {
            Box::pin(self.fill(room, None, true)).await?;
        }
        Ok(())
    }

    async fn remove_room(&mut self, room: Uuid, reason: &'static str) -> Flow {
        if self.cursors.remove(&room).is_none() {
            return Ok(());
        }
        self.realtime.hub().leave_room(&self.outbox, room);
        self.send_frame(&ServerFrame::RoomRemoved { room, reason })
            .await
    }

    // -----------------------------------------------------------------------------------
    // Writing

    /// Queues `message` on the socket (written at once with the small write buffer).
    /// A peer that takes nothing for the whole idle limit is given up on: the socket
    /// ends without a close frame, which could not be written either.
    async fn write(&mut self, message: Message) -> Flow {
        let limit = self.write_limit();
        match tokio::time::timeout(limit, self.socket.feed(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ended),
            Err(_) => {
                tracing::info!(
                    socket = self.outbox.id(),
                    "peer stopped reading; dropping it"
                );
                Err(Ended)
            }
        }
    }

    async fn ping(&mut self) -> Flow {
        self.write(Message::Ping(axum::body::Bytes::new())).await?;
        self.flush().await
    }

    async fn flush(&mut self) -> Flow {
        let limit = self.write_limit();
        match tokio::time::timeout(limit, self.socket.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Ended),
        }
    }

    fn write_limit(&self) -> Duration {
        self.realtime.settings().heartbeat_interval * u32::from(MISSED_HEARTBEATS)
    }

    async fn send_text(&mut self, text: String) -> Flow {
        self.write(Message::Text(text.into())).await?;
        self.flush().await
    }

    async fn send_frame(&mut self, frame: &ServerFrame<'_>) -> Flow {
        self.send_text(frame.to_text()).await
    }

    async fn send_error(&mut self, error: &FrameError) -> Flow {
        self.send_frame(&error.to_frame()).await
    }

    async fn send_message_error(&mut self, error: &MessageError, reference: &str) -> Flow {
        let message = error.to_string();
        let (code, fields, retry_after_ms) = match error {
            MessageError::Content { code, .. } => (*code, None, None),
            MessageError::InvalidField { field, message } => (
                "invalid_frame",
                Some([((*field).to_owned(), message.clone())].into()),
                None,
            ),
            MessageError::NotAMember { .. } => ("not_a_member", None, None),
            MessageError::RateLimited { retry_after } => {
                ("rate_limited", None, Some(millis(*retry_after).max(1)))
            }
            MessageError::Unavailable => ("unavailable", None, None),
        };
        self.send_frame(&ServerFrame::Error(ErrorFrame {
            code,
            message: &message,
            reference: Some(reference),
            fields: fields.as_ref(),
            retry_after_ms,
        }))
        .await
    }

    async fn send_remote_error(&mut self, status: &tonic::Status, reference: &str) -> Flow {
        let remote = RemoteError::from(status);
        let (code, message) = match remote.code {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => (
                "unavailable".to_owned(),
                "a service is unavailable; retry".to_owned(),
            ),
            tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss => {
                tracing::error!(reason = %remote.reason, message = %remote.message, "a service failed");
                ("internal".to_owned(), "internal error".to_owned())
            }
            _ => (remote.reason, remote.message),
        };
        self.send_frame(&ServerFrame::Error(ErrorFrame {
            code: &code,
            message: &message,
            reference: Some(reference),
            fields: None,
            retry_after_ms: None,
        }))
        .await
    }

    async fn close(&mut self, code: u16, reason: &str) {
        Box::pin(close_socket(&mut self.socket, code, reason)).await;
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Sends a close frame and waits briefly for the peer's, so the peer reads the code
/// before the connection goes.
async fn close_socket(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// The gateway is going away: say where to go, then close with 1012.
async fn say_reconnect(socket: &mut WebSocket) {
    let frame = ServerFrame::Reconnect {
        reason: "shutdown",
        retry_after_ms: 0,
    }
    .to_text();
    if socket.send(Message::Text(frame.into())).await.is_ok() {
        close_socket(socket, close::RESTART, "the gateway is shutting down").await;
    }
}

/// A read failed: a message over the hard size limit gets 1009; anything else just ends.
async fn end_on_error(socket: &mut WebSocket, err: &axum::Error) {
    let too_big = std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<tokio_tungstenite::tungstenite::Error>())
        .is_some_and(|err| matches!(err, tokio_tungstenite::tungstenite::Error::Capacity(_)));
    if too_big {
        close_socket(socket, close::TOO_BIG, "message too big").await;
    } else {
        tracing::debug!(error = %err, "socket read failed");
    }
}
