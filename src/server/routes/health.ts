import type { FastifyInstance } from 'fastify';
import { DEFAULTS } from '../../core/config.js';
import type { HubContext } from '../context.js';
import { errorText } from '../reachable.js';

/**
 * How long /healthz waits for the store. Shorter than a runner's wait for /healthz
 * (DEFAULTS.hubProbeMs): a hub whose database hangs used to answer only after 2 s, so a runner took
 * it for absent and wrote its run to the local store, splitting the run.
 */
const STORE_WAIT_MS = DEFAULTS.healthStoreMs;

export function healthRoutes(app: FastifyInstance, { live, storage, store }: HubContext): void {
  // one ping at a time: probes of a hung database share it rather than queue for connections
  let pinging: Promise<string | undefined> | undefined;
  let answeredAt = Date.now(); // the store's last answer (the hub opened it at start)
  const ping = () =>
    (pinging ??= store
      .ping()
      .then(() => void (answeredAt = Date.now()), errorText)
      .finally(() => (pinging = undefined)));

  // storeFree: the guard's token check would otherwise query the store first, and a database that
  // hangs or is gone would hold /healthz past a runner's probe or answer it STORE_UNAVAILABLE
  app.get('/healthz', { config: { scope: 'public', storeFree: true } }, async (_request, reply) => {
    const subscribers = live.subscriberCount();
    // a real query: a hub whose database is out of reach is not healthy, though it still answers HTTP
    const answer = await inTime(ping());
    if (answer === SLOW) {
      const error = `store slow: no answer within ${STORE_WAIT_MS} ms`;
      // a database busy for a moment (every connection in use) must not make a load balancer drop
      // every hub at once: healthy until it has not answered for healthSlowGraceMs
      if (Date.now() - answeredAt < DEFAULTS.healthSlowGraceMs) return { ok: true, store: 'slow', error, subscribers };
      return reply.code(503).send({ ok: false, store: 'slow', error: `${error}, none for ${Math.round((Date.now() - answeredAt) / 1000)} s`, subscribers });
    }
    if (answer !== undefined) return reply.code(503).send({ ok: false, store: 'unreachable', error: `store unreachable: ${answer}`, subscribers });
    const fullError = storage?.fullError ?? null;
    // a full store cannot keep what it is sent: not healthy, and it says why
    if (fullError !== null) return reply.code(503).send({ ok: false, store: 'full', error: fullError, subscribers });
    return { ok: true, store: 'ok', subscribers };
  });
}

const SLOW = Symbol('slow');

/** The ping's answer (undefined: the store answered; else what went wrong), or SLOW after STORE_WAIT_MS. */
async function inTime(ping: Promise<string | undefined>): Promise<string | undefined | typeof SLOW> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof SLOW>((resolve) => (timer = setTimeout(() => resolve(SLOW), STORE_WAIT_MS)));
  try {
    return await Promise.race([ping, late]);
  } finally {
    clearTimeout(timer);
  }
}
