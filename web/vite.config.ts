/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The stack `make run` starts: nginx in front of the gateways. */
const backend = process.env.CHAT_BACKEND ?? 'http://127.0.0.1:8080';

/** Every frame and REST view, generated from the crate chat-protocol (`make protocol`). */
const protocolTypes = fileURLToPath(
  new URL('../services/protocol/generated/protocol.ts', import.meta.url),
);

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { '@protocol': protocolTypes },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed file names under dist/assets (Vite's default), no inline scripts: the page
    // must run under `script-src 'self'`.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: {
    // Same origin as the page, as in production behind nginx.
    proxy: {
      '/api': { target: backend },
      '/.well-known': { target: backend },
      // The gateway checks Origin against ALLOWED_ORIGINS, which `make run` sets to the
      // stack's own origin; the dev server's origin is rewritten to it.
      '/ws': { target: backend, ws: true, rewriteWsOrigin: true },
    },
    fs: {
      allow: ['.', '../services/protocol/generated'],
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
