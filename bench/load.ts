import { fork } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchProcess } from './processes';
import { median } from './stats';

/** One load run against one server. */
export interface LoadSpec {
  path: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
  /** A new path for every request (e.g. rotating ids), instead of `path` each time. */
  nextPath?: () => string;
}

/** What one run measured. Latencies in ms (autocannon's resolution: 1 ms). */
export interface Sample {
  /** Successful (2xx) responses per second. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx responses, errors and timeouts: anything but a clean answer. */
  failures: number;
  requests: number;
  /** Highest resident memory of the server (all its processes) seen during the run. */
  peakRssMb: number;
}

/** Polls a process tree's RSS while something runs; the peak is what the report shows. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private pending = Promise.resolve();

  constructor(
    private readonly target: Pick<BenchProcess, 'rssMb'>,
    intervalMs = 200,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  /** Stops polling after one last reading; returns the peak in MB. */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    this.sample();
    await this.pending;
    return this.peak;
  }

  private sample(): void {
    this.pending = this.pending.then(async () => {
      this.peak = Math.max(this.peak, await this.target.rssMb());
    });
  }
}

function options(target: BenchProcess, spec: LoadSpec): autocannon.Options {
  const { nextPath } = spec;
  return {
    url: target.url + spec.path,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
    headers: spec.headers,
    ...(nextPath && {
      requests: [{ setupRequest: (request) => ({ ...request, path: nextPath() }) }],
    }),
  };
}

function toSample(result: autocannon.Result, peakRssMb: number): Sample {
  return {
    reqPerSec: result['2xx'] / Math.max(result.duration, 0.001),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    requests: result.requests.total,
    peakRssMb,
  };
}

/** Drives `target` with autocannon for `spec.durationS` seconds on loopback. */
export async function runLoad(target: BenchProcess, spec: LoadSpec): Promise<Sample> {
  const rss = new RssSampler(target);
  const result = await autocannon(options(target, spec));
  return toSample(result, await rss.stop());
}

/**
 * Light, steady probing (a health checker, not a load test) while `work` runs, so the
 * latencies show how responsive the server stays while it does something else. The probe runs
 * in a child process (bench/health-prober.ts) and `work` starts once it probes: in this
 * process, the bench's own work (a 14 MB upload, polling) delayed probes by up to 100 ms and
 * put that in the server's p99.
 */
export async function probeWhile<T>(
  target: BenchProcess,
  path: string,
  ratePerS: number,
  maxDurationS: number,
  work: () => Promise<T>,
): Promise<{ sample: Sample; outcome: T }> {
  const prober = fork(
    join(__dirname, 'health-prober.ts'),
    [target.url + path, String(ratePerS), String(maxDurationS)],
    { execArgv: ['-r', 'ts-node/register/transpile-only'] },
  );
  const gone = new Promise<never>((_resolve, reject) =>
    prober.once('exit', (code) => reject(new Error(`health prober exited (code ${code})`))),
  );
  const next = () => new Promise<unknown>((resolve) => prober.once('message', resolve));
  try {
    await Promise.race([next(), gone]);
    let outcome: T;
    const result = next();
    try {
      outcome = await work();
    } finally {
      // a prober that died has no channel left; its exit is reported below
      if (prober.connected) prober.send('stop');
    }
    return {
      outcome,
      sample: toSample((await Promise.race([result, gone])) as autocannon.Result, 0),
    };
  } finally {
    if (prober.exitCode === null) {
      prober.kill();
      await gone.catch(() => undefined);
    }
  }
}

/** Something measured in turn with its rivals. */
export interface Contender<T> {
  name: string;
  /** Unmeasured run first: JIT, pools, caches and TCP connections settle. */
  warmUp?(): Promise<unknown>;
  measure(round: number): Promise<T>;
  /** Measured in the first `rounds` rounds only (a minute-long, gigabyte-hungry rival). */
  rounds?: number;
}

/**
 * A B C A B C …: every contender once per round, `rounds` times, so slow drifts of a shared
 * machine hit all of them alike. Returns each contender's results in round order.
 */
export async function interleave<T>(
  contenders: readonly Contender<T>[],
  rounds: number,
): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(contenders.map((c) => [c.name, []]));
  for (const contender of contenders) await contender.warmUp?.();
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      if (round >= (contender.rounds ?? rounds)) continue;
      results.get(contender.name)!.push(await contender.measure(round));
    }
  }
  return results;
}

/** Medians over rounds; memory is the highest peak of any round. */
export function summarize(samples: readonly Sample[]): Sample {
  const pick = (field: keyof Sample) => median(samples.map((sample) => sample[field]));
  return {
    reqPerSec: pick('reqPerSec'),
    p50Ms: pick('p50Ms'),
    p99Ms: pick('p99Ms'),
    failures: samples.reduce((sum, sample) => sum + sample.failures, 0),
    requests: samples.reduce((sum, sample) => sum + sample.requests, 0),
    peakRssMb: Math.max(0, ...samples.map((sample) => sample.peakRssMb)),
  };
}
