import calculateSlot from 'cluster-key-slot';

/** Redis Cluster's hash slots. */
const SLOTS = 16_384;

let hashTags: string[] | undefined;

/**
 * A short string whose hash slot is `slot`, to name a key that must live in that slot (the
 * write counter of the keys there). The table is built once, on first use (about 160 000
 * CRC16s of short strings, a few milliseconds).
 */
export function hashTagForSlot(slot: number): string {
  if (hashTags === undefined) {
    const table = new Array<string>(SLOTS);
    let filled = 0;
    for (let n = 0; filled < SLOTS; n++) {
      const candidate = n.toString(36);
      const found = calculateSlot(candidate);
      if (table[found] === undefined) {
        table[found] = candidate;
        filled++;
      }
    }
    hashTags = table;
  }
  return hashTags[slot];
}
