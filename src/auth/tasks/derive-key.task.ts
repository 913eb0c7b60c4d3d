import { scryptSync } from 'node:crypto';

/** scrypt's parameters, with `maxmem` at least the memory they need. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
  maxmem: number;
}

/** Input of {@link deriveKey}: a password, its salt and the scrypt cost it is hashed with. */
export interface DeriveKeyInput {
  password: string;
  salt: Uint8Array;
  keyLength: number;
  cost: ScryptCost;
}

/**
 * Worker task of password hashing: scrypt, synchronously, on the worker thread. Not the async
 * `crypto.scrypt`: that would queue on libuv's thread pool, which the whole process shares.
 */
export default function deriveKey({ password, salt, keyLength, cost }: DeriveKeyInput): Uint8Array {
  return scryptSync(password, salt, keyLength, cost);
}
