// The one WebSocket of a signed-in client: authenticates with its first frame, resumes
// every room from the positions it holds, feeds frames to state.ts, writes sends, and
// reconnects after a close as the close code says (docs/protocol.md). Decisions live in
// state.ts, pending.ts and reconnect.ts; this file only moves frames and timers.

import type {
  ClientActivity,
  ClientFrame,
  FileView,
  MessageId,
  Position,
  RoomId,
  ServerFrame,
  TypingState,
  UserId,
} from '@protocol';
import { dueSends, newPending, nextDue } from './pending';
import { historyCursor } from './position';
import { CloseCode, backoffDelay, decideClose } from './reconnect';
import {
  onAck,
  onDisconnected,
  onDiscard,
  onEntry,
  onFillPage,
  onQueued,
  onReady,
  onResumed,
  onResync,
  onRetry,
  onRoomAdded,
  onRoomRemoved,
  onPresence,
  onRead,
  onReceipts,
  onSendError,
  onTyping,
  onWritten,
  resumePositions,
  type LiveEffect,
} from './state';
import { run, setConnection, useLive } from './store';
import type { RoomEntry } from './timeline';

export interface ConnectionOptions {
  /** A valid access token, renewed first when close to expiry; null when signed out. */
  accessToken: () => Promise<string | null>;
  /** Renews the access token; false when that failed. */
  refresh: () => Promise<boolean>;
  /** The server no longer accepts this session (4001): the user signs in again. */
  signIn: (notice: string) => void;
  /** Effects for the rest of the app (reload the room list, members, details). */
  onEffects: (effects: LiveEffect[]) => void;
  /** The socket's address; by default `/ws` on the page's origin. */
  url?: string;
  createSocket?: (url: string) => WebSocket;
  random?: () => number;
  now?: () => number;
  /** Time allowed from open to `ready` before the attempt counts as failed. */
  readyTimeoutMs?: number;
  /** Whether the device has a network; the browser's by default, none outside one. */
  network?: Network | null;
}

/** Whether the device has a network at all, as the browser knows it. */
export interface Network {
  online(): boolean;
  /** Calls `onChange` each time the network goes or comes back; returns the unsubscribe. */
  watch(onChange: (online: boolean) => void): () => void;
}

/** `navigator.onLine` and the window's `online` and `offline` events. */
export function browserNetwork(): Network | null {
  if (typeof window === 'undefined') return null;
  return {
    online: () => navigator.onLine !== false,
    watch: (onChange) => {
      const online = () => onChange(true);
      const offline = () => onChange(false);
      window.addEventListener('online', online);
      window.addEventListener('offline', offline);
      return () => {
        window.removeEventListener('online', online);
        window.removeEventListener('offline', offline);
      };
    },
  };
}

/** Messages a gap fill asks for at once (the most a `history` frame returns). */
const FILL_PAGE = 100;
const OPEN = 1;
/** A socket up this long after `ready` counts as a success for the backoff. */
const STABLE_AFTER_MS = 30_000;
/**
 * Without a network the next attempt waits for it to come back, or this long at most (in
 * case the browser is wrong about it).
 */
const OFFLINE_RETRY_MS = 30_000;
/**
 * A server silent for a heartbeat interval is asked (`ping`); one that still says nothing
 * this long after is taken for gone (a hung gateway, or a connection that died without a
 * close), and the client reconnects and resumes elsewhere.
 */
const PONG_WAIT_MS = 10_000;

type Timer = 'reconnect' | 'ready' | 'send' | 'silence';

export function sameOriginSocketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}/ws`;
}

export class LiveConnection {
  private readonly options: ConnectionOptions;
  private socket: WebSocket | null = null;
  /** `ready` arrived on the current socket: sends may be written. */
  private ready = false;
  private stopped = true;
  /** Failed attempts in a row, for the backoff. */
  private attempt = 0;
  /** When the current socket got `ready`: only a socket that lasted resets the backoff. */
  private readyAt: number | null = null;
  /** A `reconnect` frame's wait, for the close that follows it. */
  private retryAfterMs: number | null = null;
  /** Rooms named in the current socket's `auth.resume`. */
  private resumed: RoomId[] = [];
  /** The users whose presence this client follows, sorted. */
  private following: UserId[] = [];
  /** The read position last reported per room (not reported twice). */
  private toldRead = new Map<RoomId, Position>();
  private activity: ClientActivity = 'active';
  /** The room the user has in view (sent again on every new socket). */
  private focused: RoomId | null = null;
  /** Gap fills in flight: request id -> room. */
  private readonly fills = new Map<string, RoomId>();
  private requestCount = 0;
  /**
   * The next attempt, the wait for `ready`, the next due send, and the watch on the
   * server's silence (see `PONG_WAIT_MS`).
   */
  private readonly timers: Record<Timer, ReturnType<typeof setTimeout> | null> = {
    reconnect: null,
    ready: null,
    send: null,
    silence: null,
  };
  /** The ready socket's heartbeat interval, and when the server was last heard. */
  private heartbeatMs = 0;
  private heardAt = 0;
  private readonly network: Network | null;
  private unwatchNetwork: (() => void) | null = null;

  constructor(options: ConnectionOptions) {
    this.options = options;
    this.network = options.network === undefined ? browserNetwork() : options.network;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    setConnection({ status: 'connecting', retryAt: null, stopReason: null, offline: false });
    this.unwatchNetwork =
      this.network?.watch((online) => (online ? this.reconnectNow() : this.networkLost())) ?? null;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.unwatchNetwork?.();
    this.unwatchNetwork = null;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    socket?.close(1000);
    setConnection({ status: 'idle', retryAt: null, stopReason: null, offline: false });
  }

  /** Connects now instead of waiting for the backoff (the user asked, or the network is back). */
  readonly reconnectNow = (): void => {
    if (this.stopped || this.socket) return;
    this.clearTimer('reconnect');
    setConnection({ status: 'reconnecting', retryAt: null, stopReason: null, offline: false });
    void this.connect();
  };

  /**
   * The device lost its network: the socket is as good as closed, though its close may take
   * long to come (or never does), so it is dropped now; the next attempt waits for the
   * network (`reconnectNow` on `online`). Sends written meanwhile wait as pending.
   */
  private readonly networkLost = (): void => {
    if (this.stopped) return;
    const socket = this.socket;
    if (socket) {
      this.closed(socket, CloseCode.abnormal);
      socket.close(1000);
    } else if (this.timers.reconnect !== null) {
      this.scheduleReconnect(OFFLINE_RETRY_MS);
    }
  };

  /** Sends a message: it shows as pending at once and goes out as soon as the socket is ready. */
  send(
    room: RoomId,
    content: string,
    replyTo: MessageId | null = null,
    threadRoot: MessageId | null = null,
    attachments: FileView[] = [],
  ): string {
    const clientMsgId = crypto.randomUUID();
    const pending = newPending(room, content, clientMsgId, new Date(this.now()), replyTo, threadRoot, attachments);
    run((s) => onQueued(s, pending));
    this.flushSends();
    return clientMsgId;
  }

  /** Sends a failed message again, with its client_msg_id, so it is never stored twice. */
  retry(clientMsgId: string): void {
    run((s) => onRetry(s, clientMsgId));
    this.flushSends();
  }

  discard(clientMsgId: string): void {
    run((s) => onDiscard(s, clientMsgId));
  }

  /** Follows the presence of exactly these users (sent again on every new socket). */
  follow(users: readonly UserId[]): void {
    const next = [...new Set(users)].sort();
    if (next.length === this.following.length && next.every((user, i) => user === this.following[i])) return;
    this.following = next;
    if (this.ready) this.write({ type: 'presence.subscribe', user_ids: next });
  }

  /** Whether the person is using this client (`idle`: hidden, or no input for a while). */
  setActivity(activity: ClientActivity): void {
    if (activity === this.activity) return;
    this.activity = activity;
    if (this.ready) this.write({ type: 'presence', status: activity });
  }

  /** Tells the room the user started or stopped writing (dropped while offline). */
  typing(room: RoomId, state: TypingState): void {
    if (this.ready) this.write({ type: 'typing', room, state });
  }

  /**
   * Tells the server which room the user has in view, or none: no push notification comes
   * for a room the user is looking at (sent again on every new socket; a change while
   * offline waits for it).
   */
  focus(room: RoomId | null): void {
    if (room === this.focused) return;
    this.focused = room;
    if (this.ready) this.write(focusFrame(room));
  }

  /**
   * Tells the server the user has read `room` up to `position` (nothing when already
   * told, or further); every device of the user hears it back as `read`.
   */
  markRead(room: RoomId, position: Position): void {
    const told = this.toldRead.get(room);
    if (told && told.epoch === position.epoch && told.position >= position.position) return;
    const known = useLive.getState().readPositions[room];
    if (known && known.epoch === position.epoch && known.position >= position.position) return;
    if (!this.ready) return;
    this.toldRead.set(room, position);
    this.write({ type: 'read', room, epoch: position.epoch, position: position.position });
  }

  /** Renews the session of the open socket with a new access token (`auth.renewed`). */
  renew(token: string): void {
    if (this.ready) this.write({ type: 'auth', token });
  }

  private async connect(): Promise<void> {
    this.timers.reconnect = null;
    const token = await this.options.accessToken();
    if (this.stopped || this.socket) return;
    if (!token) {
      this.options.signIn('Please sign in again.');
      return;
    }
    const create = this.options.createSocket ?? ((url: string) => new WebSocket(url));
    const socket = create(this.options.url ?? sameOriginSocketUrl());
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      const resume = resumePositions(useLive.getState());
      this.resumed = Object.keys(resume);
      this.write(
        this.resumed.length ? { type: 'auth', token, resume } : { type: 'auth', token },
      );
      this.timers.ready = setTimeout(() => socket.close(1000), this.options.readyTimeoutMs ?? 10_000);
    };
    socket.onmessage = (event: MessageEvent) => {
      if (socket !== this.socket) return;
      this.heardAt = this.now();
      if (typeof event.data === 'string') this.receive(event.data);
    };
    socket.onclose = (event: CloseEvent) => this.closed(socket, event.code);
  }

  private receive(data: string): void {
    const frame = parseFrame(data);
    if (!frame) return;
    switch (frame.type) {
      case 'ready':
        this.clearTimer('ready');
        this.ready = true;
        this.readyAt = this.now();
        this.heartbeatMs = frame.heartbeat_interval_ms;
        this.watchSilence(this.heartbeatMs);
        setConnection({ status: 'online', retryAt: null, stopReason: null, offline: false });
        this.handle(run((s) => onReady(s, frame, this.resumed)));
        this.flushSends();
        // A new socket follows nobody, is active and has no room in view until told otherwise.
        if (this.following.length > 0) this.write({ type: 'presence.subscribe', user_ids: this.following });
        if (this.activity === 'idle') this.write({ type: 'presence', status: 'idle' });
        if (this.focused !== null) this.write(focusFrame(this.focused));
        return;
      case 'ack':
        run((s) => onAck(s, frame));
        return;
      case 'history': {
        const room = this.fills.get(frame.ref);
        if (room === undefined) return;
        this.fills.delete(frame.ref);
        this.handle(run((s) => onFillPage(s, room, frame)));
        return;
      }
      case 'resumed':
        this.handle(run((s) => onResumed(s, frame)));
        return;
      case 'resync':
        this.handle(run((s) => onResync(s, frame)));
        return;
      case 'room.added':
        this.handle(run((s) => onRoomAdded(s, frame)));
        return;
      case 'room.removed':
        this.handle(run((s) => onRoomRemoved(s, frame)));
        return;
      case 'reconnect':
        // The gateway is going away: leave first, come back (to any gateway) and resume.
        this.retryAfterMs = frame.retry_after_ms;
        this.socket?.close(1000);
        return;
      case 'error':
        this.receiveError(frame);
        return;
      case 'typing':
        run((s) => onTyping(s, frame, this.now()));
        return;
      case 'presence':
        run((s) => onPresence(s, frame));
        return;
      case 'read':
        run((s) => onRead(s, frame));
        return;
      case 'receipts':
        run((s) => onReceipts(s, frame));
        return;
      case 'auth.renewed':
      case 'done':
      case 'joined':
      case 'left':
      case 'pong':
        return;
      default:
        if (isRoomEntry(frame)) this.handle(run((s) => onEntry(s, frame)));
    }
  }

  private receiveError(error: Extract<ServerFrame, { type: 'error' }>): void {
    if (error.ref !== undefined && this.fills.has(error.ref)) {
      // A gap history could not fill: start over on a new socket, whose resume asks the
      // server for exactly what is missing.
      console.warn('live: gap fill refused', error.code, error.message);
      this.socket?.close(1000);
      return;
    }
    if (error.ref !== undefined) {
      run((s) => onSendError(s, error, this.now()));
      this.flushSends();
      return;
    }
    console.warn('live: error from the server', error.code, error.message);
  }

  /** Carries out effects: gap fills here, the rest by the app. */
  private handle(effects: LiveEffect[]): void {
    const others: LiveEffect[] = [];
    for (const effect of effects) {
      if (effect.type === 'fill') {
        const id = `fill-${++this.requestCount}`;
        this.fills.set(id, effect.room);
        this.write({
          type: 'history',
          id,
          room: effect.room,
          after: historyCursor(effect.after),
          limit: FILL_PAGE,
        });
      } else {
        others.push(effect);
      }
    }
    if (others.length) this.options.onEffects(others);
  }

  private flushSends(): void {
    this.clearTimer('send');
    if (!this.ready) return;
    const now = this.now();
    const written: string[] = [];
    for (const send of dueSends(useLive.getState().pending, now)) {
      const frame: ClientFrame = {
        type: 'send',
        room: send.room,
        client_msg_id: send.clientMsgId,
        content: send.content,
      };
      if (send.replyTo !== null) frame.reply_to = send.replyTo;
      if (send.threadRoot !== null) frame.thread_root = send.threadRoot;
      if (send.attachments.length) frame.attachments = send.attachments.map((file) => file.id);
      if (this.write(frame)) written.push(send.clientMsgId);
    }
    if (written.length) run((s) => onWritten(s, written));
    const due = nextDue(useLive.getState().pending, now);
    if (due !== null) this.timers.send = setTimeout(() => this.flushSends(), due - now);
  }

  private write(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * In `delayMs`: if the server said nothing for a heartbeat interval, asks it (`ping`)
   * and gives it `PONG_WAIT_MS` to answer; a socket whose server stays silent is dropped
   * like one whose network went, and the client reconnects and resumes.
   */
  private watchSilence(delayMs: number): void {
    this.clearTimer('silence');
    if (this.heartbeatMs <= 0) return;
    this.timers.silence = setTimeout(() => {
      this.timers.silence = null;
      const socket = this.socket;
      if (!socket || !this.ready) return;
      const silentFor = this.now() - this.heardAt;
      if (silentFor < this.heartbeatMs) {
        this.watchSilence(this.heartbeatMs - silentFor);
        return;
      }
      if (silentFor >= this.heartbeatMs + PONG_WAIT_MS) {
        console.warn('live: the server stopped answering; reconnecting');
        this.closed(socket, CloseCode.abnormal);
        socket.close(1000);
        return;
      }
      this.write({ type: 'ping' });
      this.watchSilence(this.heartbeatMs + PONG_WAIT_MS - silentFor);
    }, delayMs);
  }

  private closed(socket: WebSocket, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.ready = false;
    this.clearTimer('ready');
    this.clearTimer('send');
    this.clearTimer('silence');
    this.fills.clear();
    run(onDisconnected);
    if (this.stopped) return;
    // A socket that stayed up a while was a success; one dropped right after `ready`
    // (a gateway in trouble) must not make every client come back at once, again and again.
    if (this.readyAt !== null && this.now() - this.readyAt >= STABLE_AFTER_MS) this.attempt = 0;
    this.readyAt = null;
    const decision = decideClose(code, this.attempt, this.retryAfterMs, this.options.random);
    this.retryAfterMs = null;
    this.attempt += 1;
    switch (decision.action) {
      case 'reconnect':
        this.scheduleReconnect(decision.delayMs);
        return;
      case 'refresh_then_reconnect':
        setConnection({ status: 'reconnecting', retryAt: null });
        void this.options.refresh().then((renewed) => {
          if (this.stopped) return;
          if (renewed) void this.connect();
          else this.scheduleReconnect(backoffDelay(this.attempt, this.options.random));
        });
        return;
      case 'sign_in':
        this.options.signIn('Your session has ended. Please sign in again.');
        return;
      case 'stop':
        setConnection({ status: 'stopped', retryAt: null, stopReason: decision.reason });
        return;
    }
  }

  private scheduleReconnect(delayMs: number): void {
    const offline = this.network?.online() === false;
    if (offline) delayMs = Math.max(delayMs, OFFLINE_RETRY_MS);
    setConnection({ status: 'reconnecting', retryAt: this.now() + delayMs, offline });
    this.clearTimer('reconnect');
    this.timers.reconnect = setTimeout(() => void this.connect(), delayMs);
  }

  private clearTimer(which: Timer): void {
    const timer = this.timers[which];
    if (timer !== null) clearTimeout(timer);
    this.timers[which] = null;
  }

  private clearTimers(): void {
    for (const which of Object.keys(this.timers) as Timer[]) this.clearTimer(which);
  }
}

function focusFrame(room: RoomId | null): ClientFrame {
  return room === null ? { type: 'focus' } : { type: 'focus', room };
}

function parseFrame(data: string): ServerFrame | null {
  try {
    const frame: unknown = JSON.parse(data);
    if (typeof frame === 'object' && frame !== null && 'type' in frame) return frame as ServerFrame;
  } catch {
    // Reported below.
  }
  console.warn('live: a frame that is not a JSON object', data.slice(0, 200));
  return null;
}

/** A positioned room event, including types newer than this client (they still take a position). */
function isRoomEntry(frame: { type: string }): frame is RoomEntry {
  const entry = frame as Partial<RoomEntry>;
  return (
    typeof entry.room === 'string' &&
    typeof entry.epoch === 'number' &&
    typeof entry.position === 'number' &&
    'at' in frame
  );
}
