//! One simulated user: a WebSocket that authenticates, sends at the scenario's pace,
//! reads every event of its rooms, and reconnects and resumes when its connection dies,
//! as a real app would.
//!
//! Each user runs as one task that owns its [`UserState`], so the hot path (reading
//! events, judging them) takes no lock except the shared [`Recorder`]'s. The state
//! outlives connections: after a reconnect the user resumes from the positions it saw,
//! and unacknowledged sends are repeated with the same `client_msg_id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chat_protocol::{ErrorCode, Position, RoomId};
use futures::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::accounting::{Acked, MessageTag, RoomRecord, RoomView};
use crate::accounts::Account;
use crate::api::Api;
use crate::connection::{Socket, Target, backoff};
use crate::metrics::{Recorder, unix_nanos};
use crate::protocol::{self, ServerFrame};
use crate::rooms::RoomKind;
use crate::scenario::{Connections, Traffic};

/// Sends a user keeps unacknowledged before it pauses sending.
const MAX_PENDING: usize = 64;
/// The heartbeat a server is assumed to have until its `ready` says (the protocol's default).
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(20);
/// How long past a heartbeat interval a silent server is waited for before the socket is
/// taken for lost (docs/protocol.md, "Heartbeats").
const SERVER_SILENCE: Duration = Duration::from_secs(10);

/// What every user of a process shares.
#[derive(Debug)]
pub struct Context {
    /// Marks this run's messages.
    pub run: String,
    pub target: Target,
    pub traffic: Traffic,
    pub connections: Connections,
    pub recorder: Arc<Recorder>,
    /// Renews sessions the server refused (4001, 4002).
    pub api: Arc<Api>,
    /// False once the run settles: users stay connected but stop sending.
    pub sending: watch::Receiver<bool>,
}

/// What the driver tells a user.
#[derive(Debug, Clone, Copy)]
pub enum Command {
    /// Leave: close the socket and stop listening.
    Stop,
    /// Drop the TCP connection without a close handshake, stay away for `down`, then
    /// reconnect and resume.
    Kill { down: Duration },
}

/// A send waiting for its ack.
#[derive(Debug)]
struct Pending {
    room: RoomId,
    seq: u64,
    frame: String,
    sent: Instant,
    retry_at: Instant,
}

/// Everything a user keeps across its connections.
#[derive(Debug)]
pub struct UserState {
    pub account: Account,
    /// Its rooms: id, kind, and the weight of sending there.
    rooms: Vec<(RoomId, RoomKind, f64)>,
    views: HashMap<RoomId, RoomView>,
    pub acks: Vec<Acked>,
    pending: HashMap<String, Pending>,
    seqs: HashMap<RoomId, u64>,
    /// The session was renewed during the run (the token cache should learn it).
    pub renewed: bool,
    /// Connections attempted so far.
    connections: u32,
    /// When the last connection was lost, until the next one is ready.
    disconnected_at: Option<i64>,
    /// Connections that became ready.
    readies: u32,
    /// Failed connection attempts in a row.
    failed_attempts: u32,
    /// Its mean pause between sends (`think_time`, or `hot_think_time` in a busy room).
    think_time: Duration,
    /// The server's heartbeat interval, from the last `ready`.
    heartbeat: Duration,
    rng: StdRng,
}

impl UserState {
    /// A user in `rooms`; a member of a busy room (`busy`) sends at the busy pace.
    pub fn new(
        account: Account,
        rooms: &[(RoomId, RoomKind)],
        traffic: &Traffic,
        busy: bool,
    ) -> Self {
        let weights = traffic.weights;
        let rooms = rooms
            .iter()
            .map(|&(id, kind)| {
                let weight = match kind {
                    RoomKind::Direct => weights.direct,
                    RoomKind::Group => weights.group,
                    RoomKind::Large => weights.large,
                };
                (id, kind, weight)
            })
            .collect();
        Self {
            think_time: if busy {
                traffic.hot_think_time
            } else {
                traffic.think_time
            },
            heartbeat: DEFAULT_HEARTBEAT,
            rng: StdRng::seed_from_u64(u64::from(account.index) ^ 0x9e37_79b9_7f4a_7c15),
            account,
            rooms,
            views: HashMap::new(),
            acks: Vec::new(),
            pending: HashMap::new(),
            seqs: HashMap::new(),
            renewed: false,
            connections: 0,
            disconnected_at: None,
            readies: 0,
            failed_attempts: 0,
        }
    }

    pub fn index(&self) -> u32 {
        self.account.index
    }

    /// Its view of each room, for the evaluation.
    pub fn records(&self) -> Vec<RoomRecord> {
        self.views
            .iter()
            .map(|(room, view)| view.record(self.account.index, *room))
            .collect()
    }

    /// Stops listening for good: at the moment the last connection was lost when the
    /// user never got back, or now.
    fn close_views(&mut self) {
        let at = self.disconnected_at.take().unwrap_or_else(unix_nanos);
        for view in self.views.values_mut() {
            view.close(at);
        }
    }

    /// Where to resume each room it listens to.
    fn resume_points(&self) -> Vec<(RoomId, Position)> {
        self.views
            .iter()
            .filter(|(_, view)| view.is_open())
            .filter_map(|(room, view)| Some((*room, view.resume_point()?)))
            .collect()
    }

    fn think_time(&mut self, traffic: &Traffic) -> Duration {
        let factor = 1.0 + traffic.jitter * (self.rng.r#gen::<f64>() * 2.0 - 1.0);
        self.think_time.mul_f64(factor.max(0.0))
    }

    fn pick_room(&mut self) -> Option<RoomId> {
        let total: f64 = self.rooms.iter().map(|room| room.2).sum();
        if total <= 0.0 {
            return None;
        }
        let mut point = self.rng.r#gen::<f64>() * total;
        for &(id, _, weight) in &self.rooms {
            if point < weight {
                return Some(id);
            }
            point -= weight;
        }
        self.rooms
            .iter()
            .rev()
            .find(|room| room.2 > 0.0)
            .map(|room| room.0)
    }
}

/// Why a connection ended.
enum Ended {
    Stopped,
    Killed(Duration),
    /// The server closed it (or it broke): the close code, if any.
    Lost(Option<u16>),
}

/// Runs a user until it is told to stop; gives its state back.
pub async fn run(
    mut state: UserState,
    context: Arc<Context>,
    mut commands: mpsc::Receiver<Command>,
) -> UserState {
    while let Next::RetryAfter(pause) = connection(&context, &mut state, &mut commands).await {
        if wait_or_stop(&mut commands, pause).await {
            break;
        }
    }
    state.close_views();
    state
}

/// What a user does after a connection ended.
enum Next {
    Stop,
    RetryAfter(Duration),
}

/// One connection: connecting, authenticating and, once ready, its session.
async fn connection(
    context: &Context,
    state: &mut UserState,
    commands: &mut mpsc::Receiver<Command>,
) -> Next {
    let recorder = &context.recorder;
    let backoff_base = context.connections.reconnect_backoff;
    let started = Instant::now();
    let opened = tokio::select! {
        opened = timeout(context.connections.connect_timeout, open(context, state)) => opened,
        command = commands.recv() => return match command {
            Some(Command::Kill { .. }) => Next::RetryAfter(Duration::ZERO),
            None | Some(Command::Stop) => Next::Stop,
        },
    };
    let failure = match opened {
        Ok(Ok(socket)) => {
            recorder.connected(started.elapsed(), state.readies > 0);
            state.readies += 1;
            state.failed_attempts = 0;
            state.disconnected_at = None;
            let ended = session(context, state, socket, commands).await;
            recorder.disconnected();
            state.disconnected_at = Some(unix_nanos());
            return match ended {
                Ended::Stopped => Next::Stop,
                Ended::Killed(down) => {
                    recorder.killed();
                    Next::RetryAfter(down)
                }
                Ended::Lost(code) => {
                    recorder.closed(code);
                    if let Some(code) = code {
                        renew_if_refused(context, state, code).await;
                    }
                    // 1012: the gateway is going away; reconnect at once elsewhere.
                    Next::RetryAfter(if code == Some(1012) {
                        Duration::ZERO
                    } else {
                        backoff_base
                    })
                }
            };
        }
        Ok(Err(failure)) => failure,
        Err(_) => ConnectFailure {
            code: "connect_timeout",
            close: None,
        },
    };
    recorder.connect_failed(failure.code);
    if let Some(close) = failure.close {
        recorder.closed(Some(close));
        renew_if_refused(context, state, close).await;
    }
    state.failed_attempts += 1;
    Next::RetryAfter(backoff(backoff_base, state.failed_attempts - 1))
}

/// Sleeps `pause`; true when told to stop meanwhile.
async fn wait_or_stop(commands: &mut mpsc::Receiver<Command>, pause: Duration) -> bool {
    let deadline = Instant::now() + pause;
    loop {
        tokio::select! {
            () = sleep_until(deadline) => return false,
            command = commands.recv() => match command {
                None | Some(Command::Stop) => return true,
                Some(Command::Kill { .. }) => {}
            },
        }
    }
}

/// After the server refused the session (4001) or found it expired (4002), a fresh
/// token from the refresh token.
async fn renew_if_refused(context: &Context, state: &mut UserState, code: u16) {
    if code != 4001 && code != 4002 {
        return;
    }
    match context.api.refresh(&state.account.refresh_token).await {
        Ok(session) => {
            state.account.renew(session);
            state.renewed = true;
        }
        Err(err) => context.recorder.error(&format!("refresh_{}", err.code)),
    }
}

/// A failed connect: the error code to count, and the close code if the server closed.
struct ConnectFailure {
    code: &'static str,
    close: Option<u16>,
}

/// Connects, authenticates (resuming where it stopped), and applies `ready`.
async fn open(context: &Context, state: &mut UserState) -> Result<Socket, ConnectFailure> {
    // Each connection of a user takes the next source address and gateway, so a
    // reconnect usually resumes on another gateway.
    let slot = state.account.index as usize + state.connections as usize;
    state.connections += 1;
    let mut socket = context.target.connect(slot).await.map_err(|err| {
        tracing::debug!(user = state.account.index, "connect failed: {err:#}");
        ConnectFailure {
            code: "connect_failed",
            close: None,
        }
    })?;
    let resume = state.resume_points();
    let auth = protocol::auth_frame(&state.account.access_token, &resume);
    socket
        .send(Message::text(auth))
        .await
        .map_err(|_| ConnectFailure {
            code: "connect_failed",
            close: None,
        })?;
    loop {
        let message = socket.next().await;
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Err(ConnectFailure {
                    code: "refused",
                    close: frame.map(|frame| u16::from(frame.code)),
                });
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => {
                return Err(ConnectFailure {
                    code: "connect_failed",
                    close: None,
                });
            }
        };
        match protocol::parse(&context.run, &text) {
            Ok(ServerFrame::Ready { rooms, heartbeat }) => {
                state.heartbeat = heartbeat;
                apply_ready(context, state, &rooms, &resume);
                return Ok(socket);
            }
            Ok(ServerFrame::Error { code, .. }) => context.recorder.error(code.as_str()),
            _ => context.recorder.error("frame_before_ready"),
        }
    }
}

/// Opens a window in each room not resumed, starting where `ready` says it stands;
/// resumed rooms replay until their `resumed`.
fn apply_ready(
    context: &Context,
    state: &mut UserState,
    rooms: &[(RoomId, Position)],
    resumed: &[(RoomId, Position)],
) {
    let positions: HashMap<RoomId, Position> = rooms.iter().copied().collect();
    for &(room, _, _) in &state.rooms {
        let Some(&at) = positions.get(&room) else {
            context.recorder.error("room_missing_from_ready");
            continue;
        };
        match state.views.get_mut(&room) {
            Some(view) if resumed.iter().any(|(id, _)| *id == room) => view.begin_catch_up(),
            Some(view) if !view.is_open() => view.open(at),
            Some(_) => {}
            None => {
                state.views.insert(room, RoomView::new(at));
            }
        }
    }
}

/// One connection's life after `ready`.
async fn session(
    context: &Context,
    state: &mut UserState,
    mut socket: Socket,
    commands: &mut mpsc::Receiver<Command>,
) -> Ended {
    let traffic = &context.traffic;
    // Unacknowledged sends go again, with the same id.
    let now = Instant::now();
    let frames: Vec<String> = state.pending.values().map(|p| p.frame.clone()).collect();
    for pending in state.pending.values_mut() {
        pending.sent = now;
        pending.retry_at = now + traffic.ack_timeout;
    }
    if resend(context, &mut socket, frames).await.is_err() {
        return Ended::Lost(None);
    }

    let mut sending = context.sending.clone();
    let mut driver_gone = false;
    let first = state.think_time(traffic).mul_f64(state.rng.r#gen::<f64>());
    let mut next_send = Instant::now() + first;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The server pings every heartbeat; one silent a heartbeat and SERVER_SILENCE more is
    // taken for gone (a hung gateway), as the web client does: reconnect and resume.
    let mut heard_at = Instant::now();
    let silent_limit = state.heartbeat + SERVER_SILENCE;
    loop {
        let may_send = !driver_gone && *sending.borrow() && state.pending.len() < MAX_PENDING;
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                None | Some(Command::Stop) => {
                    let _ = timeout(Duration::from_secs(2), socket.close(None)).await;
                    return Ended::Stopped;
                }
                Some(Command::Kill { down }) => {
                    drop(socket);
                    return Ended::Killed(down);
                }
            },
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    heard_at = Instant::now();
                    receive(context, state, &text);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Ended::Lost(frame.map(|frame| u16::from(frame.code)));
                }
                Some(Ok(_)) => heard_at = Instant::now(),
                Some(Err(_)) | None => return Ended::Lost(None),
            },
            () = sleep_until(next_send), if may_send => {
                next_send = Instant::now() + state.think_time(traffic);
                if let Some(frame) = new_send(context, state) {
                    context.recorder.sent(false);
                    if socket.send(Message::text(frame)).await.is_err() {
                        return Ended::Lost(None);
                    }
                }
            },
            _ = tick.tick() => {
                if heard_at.elapsed() >= silent_limit {
                    context.recorder.error("server_silent");
                    return Ended::Lost(None);
                }
                if resend(context, &mut socket, due_retries(context, state)).await.is_err() {
                    return Ended::Lost(None);
                }
            },
            changed = sending.changed(), if !driver_gone => {
                // Without a driver nothing more will be sent.
                driver_gone = changed.is_err();
            },
        }
    }
}

/// Sends again frames not acknowledged yet.
async fn resend(
    context: &Context,
    socket: &mut Socket,
    frames: Vec<String>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for frame in frames {
        context.recorder.sent(true);
        socket.send(Message::text(frame)).await?;
    }
    Ok(())
}

/// A new message to a room picked by weight; `None` when the user sends nowhere, or
/// while the previous message to that room awaits its ack. Like a real client's outbox,
/// a user keeps its own messages to a room in order: a send refused for a while
/// (`rate_limited`, `unavailable`) is retried before the next one goes, so a recipient
/// seeing a sender's messages out of order is a fault of the stack, never of the tool.
fn new_send(context: &Context, state: &mut UserState) -> Option<String> {
    let room = state.pick_room()?;
    if state.pending.values().any(|pending| pending.room == room) {
        context.recorder.send_deferred();
        return None;
    }
    let seq = {
        let seq = state.seqs.entry(room).or_insert(0);
        *seq += 1;
        *seq
    };
    let slot = state
        .rooms
        .iter()
        .position(|(id, _, _)| *id == room)
        .unwrap_or(0);
    let tag = MessageTag {
        sender: state.account.index,
        seq,
        sent_at_nanos: unix_nanos(),
    };
    let client_msg_id = format!("{}-{}-{slot}-{seq}", context.run, state.account.index);
    let content = tag.content(&context.run, context.traffic.content_bytes);
    let frame = protocol::send_frame(room, client_msg_id.as_str(), content);
    let now = Instant::now();
    state.pending.insert(
        client_msg_id,
        Pending {
            room,
            seq,
            frame: frame.clone(),
            sent: now,
            retry_at: now + context.traffic.ack_timeout,
        },
    );
    Some(frame)
}

/// Sends due again: after an ack timeout, or when a refused send's wait is over.
fn due_retries(context: &Context, state: &mut UserState) -> Vec<String> {
    let now = Instant::now();
    let ack_timeout = context.traffic.ack_timeout;
    let mut frames = Vec::new();
    for pending in state.pending.values_mut() {
        if pending.retry_at <= now {
            if now.duration_since(pending.sent) >= ack_timeout {
                context.recorder.ack_timeout();
            }
            pending.sent = now;
            pending.retry_at = now + ack_timeout;
            frames.push(pending.frame.clone());
        }
    }
    frames
}

/// Handles one server frame.
fn receive(context: &Context, state: &mut UserState, text: &str) {
    let frame = match protocol::parse(&context.run, text) {
        Ok(frame) => frame,
        Err(err) => {
            tracing::debug!("unreadable frame: {err}");
            context.recorder.error("unreadable_frame");
            return;
        }
    };
    match frame {
        ServerFrame::Event {
            room,
            position,
            tag,
            ..
        } => {
            let Some(view) = state.views.get_mut(&room) else {
                // A room of an earlier run the account still belongs to.
                return;
            };
            let replayed = view.is_catching_up();
            let arrival =
                view.receive(position, tag.map(|tag| (tag.sender, tag.seq)), unix_nanos());
            let e2e = tag
                .filter(|_| !replayed && arrival != crate::accounting::Arrival::Duplicate)
                .map(|tag| {
                    Duration::from_nanos(
                        u64::try_from(unix_nanos() - tag.sent_at_nanos).unwrap_or(0),
                    )
                });
            context.recorder.delivered(e2e, replayed);
        }
        ServerFrame::Ack {
            client_msg_id,
            room,
            position,
        } => {
            if let Some(pending) = state.pending.remove(&client_msg_id) {
                context.recorder.acked(pending.sent.elapsed());
                state.acks.push(Acked {
                    room,
                    position,
                    sender: state.account.index,
                    seq: pending.seq,
                    acked_at: unix_nanos(),
                });
            }
        }
        ServerFrame::Error {
            code,
            reference,
            retry_after_ms,
        } => {
            context.recorder.error(code.as_str());
            if let Some(reference) = reference {
                match code {
                    ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal => {
                        if let Some(pending) = state.pending.get_mut(&reference) {
                            let wait = Duration::from_millis(retry_after_ms.unwrap_or(200));
                            pending.retry_at = Instant::now() + wait;
                        }
                    }
                    // Refused for good: the message will never be sent.
                    _ => {
                        state.pending.remove(&reference);
                    }
                }
            }
        }
        ServerFrame::Resumed { room } => {
            if let Some(view) = state.views.get_mut(&room) {
                view.end_catch_up();
            }
            context.recorder.resumed();
        }
        ServerFrame::Resync { room, position } => {
            if let Some(view) = state.views.get_mut(&room) {
                view.resync(unix_nanos(), position);
            }
            context.recorder.resynced();
        }
        ServerFrame::RoomAdded { room, position } => {
            if state.rooms.iter().any(|(id, _, _)| *id == room) {
                match state.views.get_mut(&room) {
                    Some(view) if !view.is_open() => view.open(position),
                    Some(_) => {}
                    None => {
                        state.views.insert(room, RoomView::new(position));
                    }
                }
            }
        }
        ServerFrame::RoomRemoved { room } => {
            if let Some(view) = state.views.get_mut(&room) {
                view.close(unix_nanos());
                context.recorder.error("room_removed");
            }
        }
        ServerFrame::Ready { .. } => context.recorder.error("unexpected_ready"),
        ServerFrame::Reconnect | ServerFrame::Other { .. } => {}
    }
}
