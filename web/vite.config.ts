/**
 * The web UI's build. `npx vite build --config web/vite.config.ts` writes web/dist, which the hub
 * serves at `/` (src/server/routes/ui.ts). Preact through esbuild's automatic JSX: no plugin.
 * The dev server and `vite preview` proxy the API to a hub (RUNLOG_HUB, default :7070), so the UI
 * keeps using relative URLs and needs no CORS.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const hub = process.env.RUNLOG_HUB ?? 'http://127.0.0.1:7070';
// SSE through the proxy: no buffering, no timeout on a stream that stays open for hours
const proxy = {
  '/api': { target: hub, changeOrigin: true, timeout: 0, proxyTimeout: 0 },
  '/healthz': { target: hub, changeOrigin: true },
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './', // relative asset URLs: the UI works under any path (runlog server --base-path)
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 200, // kB: the whole UI is meant to stay small
  },
  server: { proxy },
  preview: { proxy },
});
