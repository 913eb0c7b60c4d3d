import { scryptSync } from 'node:crypto';

/** Input of {@link deriveKey}: a password, its salt and the scrypt cost it is hashed with. */
export interface DeriveKeyInput {
  password: string;
  salt: Uint8Array;
  keyLength: number;
  cost: { N: number; r: number; p: number; maxmem: number };
}

/**
 * Worker task of password hashing: scrypt, synchronously, on the worker thread. Not the async
 * `crypto.scrypt`: that would queue on libuv's thread pool, which the whole process shares.
 */
export default function deriveKey({ password, salt, keyLength, cost }: DeriveKeyInput): Uint8Array {
  return scryptSync(password, salt, keyLength, cost);
}
