/**
 * The real-log corpus lives beside the checkout, at ../shared/corpus, and is never copied into
 * the repo. Tests that read it skip, saying so, when it is absent, except in strict mode
 * (RUNLOG_TEST_STRICT=1, as CI runs), where a suite that cannot run must fail instead.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'corpus');

/** The corpus folder `name`, or undefined (after saying so) when it is absent. */
export function corpusDir(name: string, who: string): string | undefined {
  const dir = join(CORPUS, name);
  if (existsSync(dir)) return dir;
  if (process.env.RUNLOG_TEST_STRICT === '1') throw new Error(`${who}: corpus not found at ${dir} (strict mode: not skipping)`);
  console.warn(`${who}: corpus not found at ${dir}: skipping`);
  return undefined;
}
