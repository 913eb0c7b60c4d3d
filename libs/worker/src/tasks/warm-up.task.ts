/**
 * Loaded by every thread at start, so the first real task does not pay for the thread's
 * start (and, from TypeScript sources, for the compiler hooks).
 */
export default function warmUp(): number {
  return process.pid;
}
