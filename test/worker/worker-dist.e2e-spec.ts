import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ApiClient } from '../utils/api-client';
import { builtApp } from '../utils/built-app';
import { SHARED_TEST_JWT_SECRET } from '../utils/app-process';
import { freePort, sleep } from '../utils/net';
import { RELAXED_RATE_LIMITS } from '../utils/rate-limits';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

describe('worker tasks in the built application (e2e)', () => {
  const privateDir = join(ROOT, '.data', `worker-dist-${process.pid}`);
  let dist: string;

  beforeAll(async () => {
    dist = await builtApp(privateDir);
  }, 180_000);
  afterAll(() => rm(privateDir, { recursive: true, force: true }));

  it('resolves a task declaration to the compiled .js task file', async () => {
    const { stdout } = await run(process.execPath, [
      '-p',
      `require(${JSON.stringify(join(dist, 'src/posts/posts.tasks.js'))}).PARSE_CSV_TASK.filename`,
    ]);
    expect(stdout.trim()).toBe(join(dist, 'src/posts/tasks/parse-csv.task.js'));
  });

  it('imports through the worker pool when run with plain node from dist/', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(dist, 'src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...RELAXED_RATE_LIMITS,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        JWT_SECRET: SHARED_TEST_JWT_SECRET,
        WORKER_POOL_SIZE: '1',
        WORKER_OFFLOAD: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((done) => child.once('exit', done));
    try {
      const api = new ApiClient(`http://127.0.0.1:${port}`);
      for (let ready = false; !ready; await sleep(100)) {
        if (child.exitCode !== null) throw new Error(`app exited:\n${output}`);
        ready = (await api.get('/api/config').catch(() => undefined))?.status === 200;
      }
      const user = await api.createUser();
      const res = await api.request('POST', '/api/posts/import', {
        rawBody: 'title,body\ncompiled,"from dist/"\n,no title\n',
        token: user.token,
        headers: { 'content-type': 'text/csv' },
      });
      expect(res.body).toEqual({
        imported: 1,
        failed: 1,
        errors: [{ line: 3, message: 'title must be 1–200 characters' }],
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
