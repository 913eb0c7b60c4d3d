import cluster, { Worker } from 'node:cluster';
import { Logger } from '@nestjs/common';

/** Restart delays of {@link ClusterPrimary}: doubling from `initialMs` up to `maxMs`. */
export interface RestartBackoff {
  /** Delay before replacing a worker after its first crash. @default 100 */
  initialMs: number;
  /** Longest delay, however many crashes in a row. @default 30000 */
  maxMs: number;
  /**
   * A worker that was up (listening, or ready as the standby) at least this long before it
   * exited was healthy: the crash count of its place starts again from zero. A worker that
   * never came up never resets it. @default 10000
   */
  resetAfterMs: number;
}

/** Options of {@link ClusterPrimary}. */
export interface ClusterPrimaryOptions {
  /** Number of HTTP workers, each a full application on the one shared port. */
  workers: number;
  /** Environment given to every worker over the primary's own. */
  env?: Record<string, string>;
  /**
   * How long workers get to exit after the forwarded signal before they are killed (their
   * shutdown delay, drain budget and closing time).
   */
  stopTimeoutMs: number;
  /**
   * Keep one extra worker started but not listening, so that a worker that dies is replaced
   * at once instead of after a whole application start (seconds). @default true
   */
  standby?: boolean;
  /** @default { initialMs: 100, maxMs: 30000, resetAfterMs: 10000 } */
  backoff?: Partial<RestartBackoff>;
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
}

const DEFAULT_BACKOFF: RestartBackoff = { initialMs: 100, maxMs: 30_000, resetAfterMs: 10_000 };

/** Set by the primary in the environment of the worker it starts as the standby. */
const STANDBY_ENV = 'LOADSTAR_CLUSTER_STANDBY';
const STANDBY_READY = 'loadstar:standby-ready';
const STANDBY_LISTEN = 'loadstar:standby-listen';

function isMessage(message: unknown, type: string): boolean {
  return typeof message === 'object' && message !== null && 'type' in message
    ? message.type === type
    : false;
}

/**
 * The wait before the next start in a worker's place after `crashesInARow` (1 or more)
 * crashes with no healthy stretch (`resetAfterMs`) in between.
 *
 * @example restartDelayMs(3, { initialMs: 100, maxMs: 30_000, resetAfterMs: 10_000 }) // 400
 */
export function restartDelayMs(crashesInARow: number, backoff: RestartBackoff): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, crashesInARow - 1));
}

/** Cluster worker: whether the primary started this process as the standby. */
export function isClusterStandby(env: NodeJS.ProcessEnv = process.env): boolean {
  return cluster.isWorker && env[STANDBY_ENV] === '1';
}

/**
 * Cluster standby, once its application is built: tells the primary it is ready and resolves
 * when the primary puts it in the place of a worker that died; then it should listen.
 */
export function awaitPromotion(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isMessage(message, STANDBY_LISTEN)) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send?.({ type: STANDBY_READY });
  });
}

/** A place for one worker (one of the N, or the standby's); its worker is replaced on exit. */
interface WorkerSlot {
  readonly name: string;
  worker?: Worker;
  /** When the worker started listening (serving places) or reported ready (the standby). */
  upSince?: number;
  crashesInARow: number;
  timer?: NodeJS.Timeout;
}

interface Stopping {
  signal: NodeJS.Signals;
  clean: boolean;
  done: () => void;
}

/**
 * A cluster primary without Nest, database or listener of its own: it forks `workers` HTTP
 * workers (`node:cluster` shares the port and hands out connections round-robin) plus one
 * standby that starts the application but does not listen. A worker that exits is replaced
 * after an exponential backoff (so one that crashes at start cannot fork-bomb the machine)
 * by the standby when it is ready, else by a new fork; a new standby then starts. SIGTERM /
 * SIGINT are forwarded to every worker, and {@link run} resolves once all have exited. One
 * log line per worker start, listen and exit, with its pid.
 *
 * @example
 * const exitCode = await new ClusterPrimary({ workers: 4, stopTimeoutMs: 20_000 }).run();
 */
export class ClusterPrimary {
  private readonly logger = new Logger('ClusterPrimary');
  private readonly backoff: RestartBackoff;
  private readonly serving: WorkerSlot[];
  private readonly standby?: WorkerSlot;
  private readonly slotOf = new Map<Worker, WorkerSlot>();
  private standbyReady = false;
  private stopping?: Stopping;

  constructor(private readonly options: ClusterPrimaryOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.serving = Array.from({ length: options.workers }, (_, index) => ({
      name: `worker ${index + 1}`,
      crashesInARow: 0,
    }));
    if (options.standby ?? true) this.standby = { name: 'standby', crashesInARow: 0 };
  }

  /**
   * Forks the workers and keeps them running until a signal; resolves with the exit code for
   * the primary: 0 when every worker shut down cleanly, 1 otherwise.
   */
  run(): Promise<number> {
    if (!cluster.isPrimary) throw new Error('ClusterPrimary runs in the cluster primary only');
    return new Promise((resolve) => {
      for (const signal of this.options.signals ?? ['SIGTERM', 'SIGINT']) {
        process.on(signal, () => this.stop(signal, resolve));
      }
      this.logger.log(
        `starting ${this.serving.length} worker(s)${this.standby ? ' and a standby' : ''}`,
      );
      [...this.serving, ...(this.standby ? [this.standby] : [])].forEach((slot) => this.fork(slot));
    });
  }

  private fork(slot: WorkerSlot): void {
    const standby = slot === this.standby;
    const worker = cluster.fork({ ...this.options.env, [STANDBY_ENV]: standby ? '1' : '0' });
    const startedAt = Date.now();
    this.occupy(slot, worker);
    worker.once('exit', (code, signal) => this.onExit(worker, code, signal));
    if (!standby) return;
    this.standbyReady = false;
    worker.on('message', (message: unknown) => {
      if (!isMessage(message, STANDBY_READY) || this.slotOf.get(worker) !== slot) return;
      this.standbyReady = true;
      slot.upSince = Date.now();
      this.logger.log(
        `standby (pid ${worker.process.pid}) ready after ${slot.upSince - startedAt} ms`,
      );
    });
  }

  private occupy(slot: WorkerSlot, worker: Worker): void {
    slot.timer = undefined;
    slot.upSince = undefined;
    slot.worker = worker;
    this.slotOf.set(worker, slot);
    if (slot === this.standby) return;
    const takenAt = Date.now();
    worker.once('listening', (address) => {
      if (this.slotOf.get(worker) !== slot) return;
      slot.upSince = Date.now();
      this.logger.log(
        `${slot.name} (pid ${worker.process.pid}) listening on port ${address.port} after ${slot.upSince - takenAt} ms`,
      );
    });
  }

  /** Fills a serving place: with the ready standby (then a new standby starts), else a fork. */
  private replace(slot: WorkerSlot): void {
    const standby = this.standby;
    if (!standby?.worker || !this.standbyReady) {
      this.fork(slot);
      return;
    }
    const worker = standby.worker;
    standby.worker = undefined;
    this.standbyReady = false;
    this.occupy(slot, worker);
    this.logger.log(`standby (pid ${worker.process.pid}) takes the place of ${slot.name}`);
    worker.send({ type: STANDBY_LISTEN });
    this.fork(standby);
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf.get(worker)!;
    this.slotOf.delete(worker);
    slot.worker = undefined;
    if (slot === this.standby) this.standbyReady = false;
    const how = signal ? `on ${signal}` : `with code ${code}`;
    const pid = worker.process.pid;
    if (this.stopping) {
      if (code !== 0 && signal !== this.stopping.signal) this.stopping.clean = false;
      this.logger.log(`${slot.name} (pid ${pid}) exited ${how}`);
      if (this.slotOf.size === 0) this.stopping.done();
      return;
    }
    const upMs = slot.upSince === undefined ? undefined : Date.now() - slot.upSince;
    if (upMs !== undefined && upMs >= this.backoff.resetAfterMs) slot.crashesInARow = 0;
    slot.crashesInARow += 1;
    const delayMs = restartDelayMs(slot.crashesInARow, this.backoff);
    this.logger.warn(
      `${slot.name} (pid ${pid}) exited ${how} ${upMs === undefined ? 'before it was up' : `after ${upMs} ms up`}; replacing it in ${delayMs} ms (exit ${slot.crashesInARow} in a row)`,
    );
    slot.timer = setTimeout(
      () => (slot === this.standby ? this.fork(slot) : this.replace(slot)),
      delayMs,
    );
  }

  private stop(signal: NodeJS.Signals, resolve: (exitCode: number) => void): void {
    if (this.stopping) {
      this.logger.log(`${signal} received again; waiting for the workers to exit`);
      return;
    }
    const killTimer = setTimeout(() => {
      this.logger.error(
        `${this.slotOf.size} worker(s) still running ${this.options.stopTimeoutMs} ms after ${signal}; killing them`,
      );
      stopping.clean = false;
      this.slotOf.forEach((_, worker) => worker.process.kill('SIGKILL'));
    }, this.options.stopTimeoutMs);
    const stopping: Stopping = {
      signal,
      clean: true,
      done: () => {
        clearTimeout(killTimer);
        resolve(stopping.clean ? 0 : 1);
      },
    };
    this.stopping = stopping;
    [...this.serving, this.standby].forEach((slot) => clearTimeout(slot?.timer));
    this.logger.log(`${signal} received: forwarding it to ${this.slotOf.size} worker(s)`);
    if (this.slotOf.size === 0) stopping.done();
    this.slotOf.forEach((_, worker) => worker.process.kill(signal));
  }
}
