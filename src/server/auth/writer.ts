/**
 * Only the writer writes: a run's lines and its end come from the process that created it (or
 * the worker that claimed its task). The writer proves it with the key it chose when it created
 * the run (header X-Runlog-Writer; the hub keeps its hash) and with its token.
 */
import type { FastifyRequest } from 'fastify';
import { conflict, forbidden } from '../../core/errors.js';
import type { Run, RunWriter, Store } from '../../store/store.js';
import { sameHash, sha256 } from './tokens.js';

export const WRITER_HEADER = 'x-runlog-writer';

/** The writer a request speaks for: its token and the hash of its writer key. */
export function requestWriter(request: FastifyRequest): RunWriter {
  const key = request.headers[WRITER_HEADER];
  return { token_name: request.auth.tokenName, key_hash: typeof key === 'string' && key !== '' ? sha256(key) : null };
}

export async function assertWriter(store: Store, request: FastifyRequest, run: Run): Promise<void> {
  const bound = await store.getRunWriter(run.id);
  if (bound === undefined) {
    if (run.status === 'queued') throw conflict(`run ${run.id} is a queued task: only the worker that claims it writes it`);
    return; // a run from before writers were bound
  }
  const presented = requestWriter(request);
  if (bound.key_hash !== null && (presented.key_hash === null || !sameHash(presented.key_hash, bound.key_hash))) {
    throw forbidden(`run ${run.id} is written by another process (the ${WRITER_HEADER} header does not match)`, 'NOT_THE_WRITER');
  }
  if (bound.token_name !== null && bound.token_name !== presented.token_name && !request.auth.scopes.has('admin')) {
    throw forbidden(`run ${run.id} is written with token "${bound.token_name}"`, 'NOT_THE_WRITER');
  }
}
