/**
 * The web UI at `/`: the assets Vite built into web/dist, served as files. The UI routes with the
 * URL hash, so every page is index.html. A hub built without its UI says so at `/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** web/dist beside dist/ (the package root), wherever the package is installed */
export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web', 'dist');

export async function uiRoutes(app: FastifyInstance, options: { dir?: string }): Promise<void> {
  const dir = options.dir ?? UI_DIR;
  // the UI's files hold no data: served to anyone, so the sign-in page can load (its API calls need a token)
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, scope: 'public' };
  });
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send('runlog hub: the web UI is not built here (npm run build builds it). The API is at /api.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: 'index.html',
    // hashed asset names change with their content: cache them; index.html never
    setHeaders(res, path) {
      res.setHeader('Cache-Control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
      res.setHeader('X-Content-Type-Options', 'nosniff');
    },
  });
}
