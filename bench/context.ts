import type { SeedInfo, SeedSize } from './environment';
import type { BenchProcess, ProcessRegistry } from './processes';
import type { StackFeatures } from './probes';

/** How big and how long; `--quick` shrinks everything to a smoke check. */
export interface BenchOptions {
  quick: boolean;
  rounds: number;
  /** 0 skips the warm-up. */
  warmupS: number;
  measureS: number;
  connections: number;
  seed: SeedSize;
  /** Profile the full stack once in scenario 1 and name its hot frames in the notes. */
  profile: boolean;
  /** Rows of the CSV imported in scenario 4. */
  importRows: number;
  /** Scenarios to run (all by default). */
  only: ReadonlySet<number>;
  outDir: string;
  /** `--readme`: only copy the table of `<outDir>/bench.md` into the README. */
  readmeOnly: boolean;
  /**
   * Time budget of the run: scenarios not started by then are reported as not run. A run
   * still going {@link HARD_DEADLINE_MARGIN_S} later (a hung scenario) is stopped without report.
   */
  deadlineS: number;
}

export const FULL_OPTIONS: Omit<BenchOptions, 'only' | 'outDir' | 'readmeOnly'> = {
  quick: false,
  rounds: 3,
  warmupS: 2,
  measureS: 5,
  connections: 50,
  seed: { users: 10_000, posts: 1_000_000 },
  importRows: 200_000,
  profile: true,
  deadlineS: 600,
};

export const QUICK_OPTIONS: Omit<BenchOptions, 'only' | 'outDir' | 'readmeOnly'> = {
  quick: true,
  rounds: 1,
  warmupS: 0,
  measureS: 1,
  connections: 50,
  seed: { users: 1_000, posts: 20_000 },
  importRows: 10_000,
  profile: false,
  // nine scenarios start 17 processes; CI runs this beside its server tests on two cores
  deadlineS: 300,
};

/** A full run ends within `deadlineS` + this: thirteen minutes. */
export const HARD_DEADLINE_MARGIN_S = 180;

/**
 * Signs tokens in every app process of a run: generated (`openssl rand -hex 32`), as
 * production refuses a short, placeholder-like or low-entropy secret. Public: bench apps only.
 */
export const BENCH_JWT_SECRET = '2f06ff75d8d3d9862871fd6a7781d0ecbf28e7af7ad233af0caa20333c257724';
/** High enough that the limiter does its full work on every request and rejects none. */
const UNREACHABLE_LIMIT = '1000000000/1m';

/** Everything a scenario needs, prepared once per run. */
export interface BenchContext {
  options: BenchOptions;
  registry: ProcessRegistry;
  databaseUrl: string;
  redisUrl?: string;
  seed: SeedInfo;
  /** `GET /api/users/1` as the app answers it: the body every peer serves too. */
  userBody: string;
  features: StackFeatures;
  /** The full production stack, shared by the scenarios that measure it unchanged. */
  full: BenchProcess;
  /** Bearer token of user 1, for the import. */
  token?: string;
  log(message: string): void;
  /**
   * Another app process: the full stack's environment with `overrides`. Started once per
   * name: a later call with the same name returns the same process (see `Scenario.start`).
   */
  startApp(
    name: string,
    overrides?: Record<string, string>,
    nodeArgs?: string[],
    /** Answers 200 once the process serves; a worker-only process has no `/api/config`. */
    readyPath?: string,
  ): Promise<BenchProcess>;
  /** A peer (`bench/peers/<file>.ts`), compiled like the app; started once per name too. */
  startPeer(
    name: string,
    file: string,
    env: Record<string, string>,
    readyPath: string,
  ): Promise<BenchProcess>;
}

/**
 * The production configuration the headline numbers describe: JSON logs at info (stdout goes
 * to a file), metrics, the Redis-backed limiter with an unreachable limit, request ids,
 * validation — whatever of it the app has today (see `probeFeatures`).
 */
export function fullStackEnv(databaseUrl: string, redisUrl?: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    // empty, not absent: a REDIS_URL of the calling shell must not leak into the bench
    REDIS_URL: redisUrl ?? '',
    JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: 'info',
    RATE_LIMIT_DEFAULT: UNREACHABLE_LIMIT,
    RATE_LIMIT_AUTH: UNREACHABLE_LIMIT,
    RATE_LIMIT_AUTH_ACCOUNT_ADDRESS: UNREACHABLE_LIMIT,
    RATE_LIMIT_AUTH_ACCOUNT: UNREACHABLE_LIMIT,
    RATE_LIMIT_REGISTER: UNREACHABLE_LIMIT,
    RATE_LIMIT_EXPENSIVE: UNREACHABLE_LIMIT,
    // every round imports as the same user
    IMPORT_ROW_QUOTA: UNREACHABLE_LIMIT,
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
}
