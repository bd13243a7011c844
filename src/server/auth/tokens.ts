/** Token secrets: how they look, how they are hashed. Only the hash is ever stored. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `rl_` + 32 random bytes, base64url: 256 bits, so a plain SHA-256 is the right hash (no salt or stretching needed). */
export function newTokenSecret(): string {
  return `rl_${randomBytes(32).toString('base64url')}`;
}

/** A writer key or a session id: 128 random bits. */
export function newKey(): string {
  return randomBytes(16).toString('base64url');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
