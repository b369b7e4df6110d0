// Loads the peer (Socket.IO) or the floor (plain WebSocket) as chat-loadtest loads the
// gateway: SOCKETS sockets in rooms of ROOM_SIZE, RATE messages a second of BYTES bytes in
// all, each sent by a random socket to its room; every member receives it (the sender
// too). Deliveries and their latency (send to receipt, one clock) are counted at the
// clients between START+WARMUP and START+WARMUP+WINDOW, and printed as one JSON line.
// With --hot-rooms K, the first K rooms are busy: each sends HOT_RATE messages a second
// (by random members) on top of RATE, which the other rooms share (a burst load, as
// chat-loadtest's `rooms.hot`).
//
//   node driver.js --transport socketio|ws --url URL --sockets N --room-size 50 \
//     --rate 500 --bytes 100 --start-at EPOCH_MS --warmup 5 --window 30 \
//     [--hot-rooms 4 --hot-rate 50] \
//     [--first-socket 0 --all-sockets N]   (one process of several)

import { io } from 'socket.io-client';
import WebSocket from 'ws';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const transport = args.transport ?? 'socketio';
const url = args.url;
const sockets = Number(args.sockets);
const first = Number(args['first-socket'] ?? 0);
const roomSize = Number(args['room-size'] ?? 50);
const rate = Number(args.rate ?? 500);
const bytes = Number(args.bytes ?? 100);
const startAt = Number(args['start-at'] ?? Date.now() + 10_000);
const warmup = Number(args.warmup ?? 5) * 1000;
const windowMs = Number(args.window ?? 30) * 1000;
const allSockets = Number(args['all-sockets'] ?? sockets);
const hotRooms = Number(args['hot-rooms'] ?? 0);
const hotRate = Number(args['hot-rate'] ?? 0);
const windowStart = startAt + warmup;
const windowEnd = windowStart + windowMs;

let deliveries = 0;
let windowDeliveries = 0;
const latencies = [];
const body = 'x'.repeat(Math.max(0, bytes));

function received(sentAt) {
  const now = performance.timeOrigin + performance.now();
  deliveries += 1;
  if (now >= windowStart && now < windowEnd) {
    windowDeliveries += 1;
    latencies.push(now - sentAt);
  }
}

/** Whether socket `index` is in a busy room. */
const isHot = (index) => Math.floor(index / roomSize) < hotRooms;

/** One client: joins its room, then can send to it. */
function connect(index) {
  const room = `room-${Math.floor(index / roomSize)}`;
  return new Promise((resolve, reject) => {
    if (transport === 'socketio') {
      const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
      socket.on('msg', (message) => received(message.t));
      socket.on('connect_error', reject);
      socket.on('connect', () =>
        socket.emit('join', room, () =>
          resolve({ send: (t) => socket.emit('msg', { room, t, body }), close: () => socket.close() }),
        ),
      );
    } else {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.on('message', (data) => {
        const text = data.toString();
        const bar = text.indexOf('|', text.indexOf('|') + 1);
        received(Number(text.slice(text.indexOf('|') + 1, bar)));
      });
      socket.on('error', reject);
      socket.on('open', () => {
        socket.send(`join ${room}`);
        resolve({ send: (t) => socket.send(`${room}|${t}|${body}`), close: () => socket.close() });
      });
    }
  });
}

const clients = [];
for (let i = first; i < first + sockets; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(first + sockets, i + 200); j += 1) batch.push(connect(j));
  clients.push(...(await Promise.all(batch)));
}
console.error(`${clients.length} ${transport} sockets connected`);

// This process's share of the rates: RATE over the sockets of the ordinary rooms, HOT_RATE
// per busy room (its members all in one process).
const calm = clients.filter((_, i) => !isHot(first + i));
const hot = clients.filter((_, i) => isHot(first + i));
const allCalm = allSockets - Math.min(allSockets, hotRooms * roomSize);
const myRate = allCalm > 0 ? (rate * calm.length) / allCalm : 0;
const myHotRate = (hotRate * hot.length) / roomSize;
const stopAt = windowEnd + 2000;
await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
const tick = 10;
let owed = 0;
let owedHot = 0;
const timer = setInterval(() => {
  if (Date.now() >= stopAt) {
    clearInterval(timer);
    latencies.sort((a, b) => a - b);
    const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0);
    console.log(
      JSON.stringify({ transport, sockets: clients.length, deliveries, window_deliveries: windowDeliveries, window_seconds: windowMs / 1000, p50_ms: at(0.5), p99_ms: at(0.99) }),
    );
    for (const client of clients) client.close();
    setTimeout(() => process.exit(0), 200);
    return;
  }
  owed += (myRate * tick) / 1000;
  while (owed >= 1) {
    owed -= 1;
    calm[Math.floor(Math.random() * calm.length)].send(performance.timeOrigin + performance.now());
  }
  owedHot += (myHotRate * tick) / 1000;
  while (owedHot >= 1) {
    owedHot -= 1;
    hot[Math.floor(Math.random() * hot.length)].send(performance.timeOrigin + performance.now());
  }
}, tick);
