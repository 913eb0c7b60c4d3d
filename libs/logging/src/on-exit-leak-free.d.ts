/** The part of `on-exit-leak-free` (pino's own exit hook, by the pino authors) used here. */
declare module 'on-exit-leak-free' {
  /** Calls `flush(target)` on exit while `target` is alive; holds it only weakly. */
  export function register<T extends object>(target: T, flush: (target: T) => void): void;
}
