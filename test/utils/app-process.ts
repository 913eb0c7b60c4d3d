import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { ApiClient } from './api-client';
import { freePort, sleep } from './net';
import { FAST_PASSWORD_HASHING } from './password-hashing';
import { RELAXED_RATE_LIMITS } from './rate-limits';
import { shownLogPath, testLogFile } from './test-logs';

const REPO_ROOT = resolve(__dirname, '..', '..');

/** Every process of a multi-process test signs and verifies tokens with this secret. */
export const SHARED_TEST_JWT_SECRET = 'loadstar-e2e-shared-secret-0123456789abcdef';

/** An app running in its own OS process, started by a test and stopped only by it. */
export interface AppProcess {
  url: string;
  port: number;
  pid: number;
  api: ApiClient;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export interface StartAppProcessOptions {
  /** Path polled until it answers 200. @default '/api/config' */
  readyPath?: string;
  /** How long the process may take to get ready. @default {@link READY_TIMEOUT_MS} */
  timeoutMs?: number;
  /**
   * Entry file, relative to the repo root or absolute. A `.ts` entry runs through ts-node;
   * a built `.js` one (see `builtApp`) with plain node, which starts several times faster.
   * @default 'src/main.ts'
   */
  entry?: string;
  /**
   * Return as soon as the process is spawned instead of waiting for `readyPath` (for tests
   * of processes that are not meant to become ready by themselves).
   * @default true
   */
  waitUntilReady?: boolean;
  /**
   * Runs the process in this Linux network namespace (`ip netns exec`, which execs the app,
   * so the pid is the app's); it then listens on `host`, which must be one of the namespace's
   * addresses that this process can reach.
   */
  netns?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** Modules loaded before the entry (`node -r`), relative to the repo root or absolute. */
  preload?: string[];
}

/**
 * Time for a process to get ready. It compiles `src/` (transpile-only) and, on a fresh
 * database, runs every migration and pg-boss's schema first: 5 s on a calm machine, and once
 * over 30 s in CI, whose two lanes share two cores.
 */
const READY_TIMEOUT_MS = 60_000;

/**
 * Starts `src/main.ts` (TypeScript, transpile-only) on a free loopback port with `env` over the
 * test's environment (rate limits relaxed and password hashing fast unless given), and waits
 * until it is ready. Kill it with `stop()`: by pid, nothing else.
 */
export async function startAppProcess(
  env: Record<string, string | undefined> = {},
  options: StartAppProcessOptions = {},
): Promise<AppProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const host = options.host ?? '127.0.0.1';
  const entry = options.entry ?? 'src/main.ts';
  const preload = [
    ...(entry.endsWith('.ts') || options.preload
      ? ['ts-node/register/transpile-only', 'tsconfig-paths/register']
      : []),
    ...(options.preload ?? []).map((path) => resolve(REPO_ROOT, path)),
  ].flatMap((module) => ['-r', module]);
  const node = [process.execPath, ...preload, entry];
  const [command, ...args] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...node] : node;
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: {
      ...RELAXED_RATE_LIMITS,
      ...FAST_PASSWORD_HASHING,
      ...process.env,
      HOST: host,
      LOG_LEVEL: 'warn',
      JWT_SECRET: SHARED_TEST_JWT_SECRET,
      ...env,
      PORT: String(port),
      TS_NODE_PROJECT: resolve(REPO_ROOT, 'tsconfig.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // the process's output goes to a file of its own too, named in the errors below
  const logFile = testLogFile(`pid-${child.pid}`);
  const log = createWriteStream(logFile);
  let output = '';
  let stderr = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    log.write(chunk);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', (chunk: Buffer) => {
    collect(chunk);
    stderr += chunk.toString();
  });
  child.once('close', () => log.end());
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const logPath = shownLogPath(logFile);
  const url = `http://${host}:${port}`;
  const api = new ApiClient(url);
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  while (options.waitUntilReady !== false) {
    if (hasExited) {
      throw new Error(`app process exited before it was ready (log: ${logPath}):\n${output}`);
    }
    const ready = await api.get(options.readyPath ?? '/api/config').catch(() => undefined);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`app process not ready within ${timeoutMs} ms (log: ${logPath}):\n${output}`);
    }
    await sleep(100);
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) => {
    if (!hasExited) child.kill(signal);
    const timer = setTimeout(() => !hasExited && child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return {
    url,
    port,
    pid: child.pid!,
    api,
    child,
    output: () => output,
    stderr: () => stderr,
    exited,
    stop,
  };
}
