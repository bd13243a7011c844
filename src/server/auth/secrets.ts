/**
 * SecretBox: a task's environment values (HF_TOKEN and the like) are encrypted at rest, so a copy
 * of the database alone does not reveal them. AES-256-GCM with a key kept beside the database,
 * `<data>/secret.key` (32 random bytes, mode 0600, made on first use), or the file given with
 * --secret-file (several hubs on one database must share it). Sealed text: `v1.<iv>.<tag>.<data>`
 * in base64url. Only the worker that claims the task gets the values back.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeDirectory } from '../../core/make-dir.js';

const KEY_BYTES = 32;
export const MASK = '***';

export class SecretBox {
  private key: Buffer | undefined;

  constructor(private readonly keyFile: string) {}

  seal(values: Record<string, string>): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.loadKey(), iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  unseal(text: string): Record<string, string> {
    const [version, iv, tag, data] = text.split('.');
    if (version !== 'v1' || iv === undefined || tag === undefined || data === undefined) throw new Error('sealed secrets: unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.loadKey(), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  }

  private loadKey(): Buffer {
    if (this.key) return this.key;
    try {
      this.key = readFileSync(this.keyFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.key = createKeyFile(this.keyFile);
    }
    if (this.key.length !== KEY_BYTES) throw new Error(`${this.keyFile}: expected ${KEY_BYTES} bytes, got ${this.key.length}`);
    return this.key;
  }
}

function createKeyFile(file: string): Buffer {
  makeDirectory(dirname(file));
  const key = randomBytes(KEY_BYTES);
  try {
    const fd = openSync(file, 'wx', 0o600); // never over an existing key: another hub may have just made it
    writeSync(fd, key);
    closeSync(fd);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file);
    throw error;
  }
}

/** The file a hub's key is in: --secret-file, else `<data>/secret.key`. */
export function secretKeyFile(config: { secretFile?: string; dataDir: string }): string {
  return config.secretFile ?? join(config.dataDir, 'secret.key');
}

/**
 * What is wrong with the key file a hub is about to use, checked at its start: a key of the wrong
 * size (a hex key, `openssl rand -hex 32`) only failed the first task with an environment, a 500;
 * a --secret-file that does not exist (a typo on one hub) would have been made afresh, a key no
 * other hub has. undefined: usable (the default file may be missing: it is made on first use).
 */
export function keyFileProblem(file: string, given: boolean): string | undefined {
  const make = `make it once with: head -c ${KEY_BYTES} /dev/urandom > ${file} && chmod 600 ${file}`;
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !given) return undefined;
    if (code === 'ENOENT') return `--secret-file ${file}: no such file; ${make}, and give every hub on the database that same file`;
    return `${given ? '--secret-file ' : 'secret key '}${file}: cannot read it (${(error as Error).message})`;
  }
  if (key.length !== KEY_BYTES) return `${given ? '--secret-file ' : 'secret key '}${file}: expected ${KEY_BYTES} bytes, got ${key.length} (a text or hex key is not one); ${make}`;
  return undefined;
}

/** The same keys, every value shown as `***`. */
export function masked(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(values).map((key) => [key, MASK]));
}
