import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt (memory-hard, salted, in Node's thread pool so it never blocks the event loop). It needs
 * 128 * N * r bytes (128 MiB at the default N = 2^17, r = 8); maxmem allows twice that.
 * Stored as `scrypt$<log2N>$<salt>$<hash>` so the cost can be raised later without breaking old hashes.
 */
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, log2N: number): Promise<Buffer> {
  const N = 2 ** log2N;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, log2N: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, log2N);
  return `scrypt$${log2N}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * A stored-hash string that no password matches, at the given cost: checking a password against it
 * costs exactly what checking a real hash of that cost does (no scrypt is run to make it).
 */
export function unmatchableHash(log2N: number): string {
  return `scrypt$${log2N}$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, cost, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !cost || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), Number(cost));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The scrypt cost (log2 N) a stored hash was made with; 0 for one this module did not make. */
export function hashCost(stored: string): number {
  const [scheme, cost] = stored.split('$');
  return scheme === 'scrypt' ? Number(cost) || 0 : 0;
}
