/**
 * The web UI's build. `npx vite build --config web/vite.config.ts` writes web/dist, which the hub
 * serves at `/` (src/server/routes/ui.ts). Preact through esbuild's automatic JSX: no plugin.
 * The dev server and `vite preview` proxy the API to a hub (RUNLOG_HUB, default :7070), so the UI
 * keeps using relative URLs and needs no CORS.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type ProxyOptions } from 'vite';

type ProxyServer = Parameters<NonNullable<ProxyOptions['configure']>>[0];

const hub = process.env.RUNLOG_HUB ?? 'http://127.0.0.1:7070';

/**
 * The UI's own POSTs (sign-in, Cancel, Delete, Re-run) carry the dev server's Origin, and the hub
 * refuses an Origin that is not its own (CROSS_ORIGIN): proxied from the dev server's own page,
 * such a request is the hub's page's, so its Origin becomes the hub's. Any other Origin (another
 * site's page posting to the dev server) goes on as it came, and the hub still refuses it.
 */
function ownOrigin(proxy: ProxyServer): void {
  proxy.on('proxyReq', (proxyReq, request) => {
    const origin = request.headers.origin;
    if (origin === undefined || request.headers.host === undefined) return;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return;
    }
    if (host.toLowerCase() === request.headers.host.toLowerCase()) proxyReq.setHeader('origin', new URL(hub).origin);
  });
}

// SSE through the proxy: no buffering, no timeout on a stream that stays open for hours
const proxy = {
  '/api': { target: hub, changeOrigin: true, timeout: 0, proxyTimeout: 0, configure: ownOrigin },
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
