import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.js';
import { errorText } from '../reachable.js';

/** how long /healthz waits for the store's answer: a load balancer's probe gives up after a few seconds */
const PING_TIMEOUT_MS = 2000;

export function healthRoutes(app: FastifyInstance, { live, storage, store }: HubContext): void {
  app.get('/healthz', { config: { scope: 'public' } }, async (_request, reply) => {
    const subscribers = live.subscriberCount();
    // a real query: a hub whose database is out of reach is not healthy, though it still answers HTTP
    const unreachable = await ping(store);
    if (unreachable !== undefined) return reply.code(503).send({ ok: false, store: 'unreachable', error: `store unreachable: ${unreachable}`, subscribers });
    const fullError = storage?.fullError ?? null;
    // a full store cannot keep what it is sent: not healthy, and it says why
    if (fullError !== null) return reply.code(503).send({ ok: false, store: 'full', error: fullError, subscribers });
    return { ok: true, store: 'ok', subscribers };
  });
}

/** undefined when the store answered in time, else what went wrong. */
async function ping(store: HubContext['store']): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${PING_TIMEOUT_MS} ms`), PING_TIMEOUT_MS)));
  try {
    return await Promise.race([store.ping().then(() => undefined, errorText), late]);
  } finally {
    clearTimeout(timer);
  }
}
