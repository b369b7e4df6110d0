// The peer `make bench` measures the gateway against: what people would run instead,
// Node.js + Socket.IO 4.8 with its Redis adapter (so it scales out the same way), on the
// WebSocket transport without compression. A client joins rooms and sends messages to a
// room; the server broadcasts each one to the room (through Redis, as across several
// servers). No storage, no authentication: less work than the gateway does.
//
//   node server.js PORT REDIS_URL

import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const port = Number(process.argv[2] ?? 28180);
const redisUrl = process.argv[3] ?? 'redis://127.0.0.1:6379';
const prefix = process.env.PEER_REDIS_PREFIX ?? 'chat-bench-peer';

const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  adapter: createAdapter(pub, sub, { key: prefix }),
});

io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack('ok');
  });
  socket.on('msg', (message) => {
    io.to(message.room).emit('msg', message);
  });
});

http.listen(port, '127.0.0.1', () => console.log(`socket.io peer on 127.0.0.1:${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
  });
}
