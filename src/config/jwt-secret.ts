/** Values shipped in loadstar's own examples (compared lower-cased): never a real secret. */
const KNOWN_PLACEHOLDERS = new Set(['change-me-to-at-least-32-random-characters']);

/**
 * Words of a value a person typed rather than generated. Five letters or more, so a random
 * secret holds one by chance with a probability of about 10⁻⁷.
 */
const PLACEHOLDER_WORDS =
  /change|placeholder|example|secret|password|replace|default|dummy|sample|insecure|loadstar/i;

/** Bits a production secret must carry at the least (HS256's own key strength is 256). */
export const MIN_SECRET_BITS = 128;

/** Shannon entropy per character below this is a repetitive value (`abab…`, `aaaabbbb…`). */
const MIN_BITS_PER_CHARACTER = 2.5;

/**
 * Entropy of a secret as if its characters were drawn at random from the character classes it
 * uses (hex digits, lower case, upper case, digits, other printable ASCII): an upper bound,
 * exact for generated secrets (`openssl rand -hex 32` → 256 bits, `-base64 48` → 384).
 */
function poolBits(secret: string): number {
  const hex = /^[0-9a-f]+$/.test(secret) || /^[0-9A-F]+$/.test(secret);
  if (hex && /[a-fA-F]/.test(secret)) return secret.length * 4;
  let pool = 0;
  if (/[a-z]/.test(secret)) pool += 26;
  if (/[A-Z]/.test(secret)) pool += 26;
  if (/\d/.test(secret)) pool += 10;
  if (/[^a-zA-Z\d]/.test(secret)) pool += 33;
  return secret.length * Math.log2(pool);
}

/** Shannon entropy of the secret's character frequencies, per character. */
function bitsPerCharacter(secret: string): number {
  const counts = new Map<string, number>();
  for (const character of secret) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const share = count / secret.length;
    bits -= share * Math.log2(share);
  }
  return bits;
}

/**
 * Why `secret` must not sign production tokens, or `undefined` when it may: a placeholder of
 * the examples or a value with a placeholder's words, fewer than {@link MIN_SECRET_BITS}
 * estimated bits, or a repetitive value. A check against mistakes, not a proof of randomness:
 * generate the secret (`openssl rand -base64 48`).
 */
export function weakJwtSecret(secret: string): string | undefined {
  if (KNOWN_PLACEHOLDERS.has(secret.toLowerCase()) || PLACEHOLDER_WORDS.test(secret)) {
    return 'is a placeholder, not a generated secret';
  }
  const bits = Math.floor(poolBits(secret));
  if (bits < MIN_SECRET_BITS || bitsPerCharacter(secret) < MIN_BITS_PER_CHARACTER) {
    return `has too little entropy (at least ${MIN_SECRET_BITS} bits of random characters needed)`;
  }
  return undefined;
}
