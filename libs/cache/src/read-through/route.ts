/** Where reads and writes go right now (see `Coherence.route`). */
export interface Route {
  /** The in-process LRU: trusted only while invalidations reach this process. */
  l1: boolean;
  /** Redis. */
  l2: boolean;
}
