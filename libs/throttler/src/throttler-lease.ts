/**
 * Consecutive counts of one key's window that this process took from Redis ahead of the
 * requests that spend them (a lease): Redis counted them already, so spending one needs no
 * round trip, and each keeps its place in the window's order (its count is the one Redis gave).
 * A second block, taken before the first runs out, waits as the spare.
 */
export class Lease {
  /** The count handed out by the last {@link spend}. */
  spent = 0;
  /** A block for this key is on its way from Redis. */
  refilling = false;
  private spareFirst = 1;
  private spareLast = 0;

  constructor(
    private next: number,
    private last: number,
    /** When the window ends, by this process's clock (measured from before the call). */
    readonly endsAt: number,
  ) {}

  /** Hands out the next count into {@link spent}; `false` when none is left. */
  spend(): boolean {
    if (this.next > this.last) {
      if (this.spareFirst > this.spareLast) return false;
      this.next = this.spareFirst;
      this.last = this.spareLast;
      this.spareLast = 0;
      this.spareFirst = 1;
    }
    this.spent = this.next++;
    return true;
  }

  /** Half a block of `size` or less left, and none on its way. */
  wantsRefill(size: number): boolean {
    return !this.refilling && this.spareFirst > this.spareLast && this.last - this.next < size / 2;
  }

  /** A later block of the same window: spent once the current one runs out. */
  add(first: number, last: number): void {
    this.refilling = false;
    if (this.next > this.last) {
      this.next = first;
      this.last = last;
    } else {
      this.spareFirst = first;
      this.spareLast = last;
    }
  }
}
