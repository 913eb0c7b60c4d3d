import { AppProcess, startAppProcess } from '../utils/app-process';
import { sleep } from '../utils/net';

const CLIENT = { 'x-forwarded-for': '192.0.2.200' };
const WARNING = 'CLUSTER_WORKERS=1 without REDIS_URL';

async function statuses(app: AppProcess, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    seen.push((await app.api.get('/api/config', { headers: CLIENT })).status);
  }
  return seen;
}

/** The output of a process once `text` shows up in it (its logger writes asynchronously). */
async function outputWith(app: AppProcess, text: string): Promise<string> {
  for (let waited = 0; waited < 5_000 && !app.output().includes(text); waited += 100) {
    await sleep(100);
  }
  return app.output();
}

describe('rate limits without Redis, two processes (e2e)', () => {
  let apps: AppProcess[] = [];

  beforeAll(async () => {
    const env = {
      REDIS_URL: '',
      CLUSTER_WORKERS: '1',
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_DEFAULT: '5/1m',
    };
    const start = () => startAppProcess(env, { timeoutMs: 100_000 });
    apps = await Promise.all([start(), start()]);
  }, 120_000);
  afterAll(() => Promise.all(apps.map((app) => app.stop())));

  it('warns at start that in-process counters multiply the limits', async () => {
    for (const app of apps) expect(await outputWith(app, WARNING)).toContain(WARNING);
  });

  it('counts in each process alone: one client gets the limit from each', async () => {
    const [first, second] = apps;
    expect(await statuses(first, 5)).toEqual(Array(5).fill(200));
    expect(await statuses(second, 5)).toEqual(Array(5).fill(200));
    expect(await statuses(first, 1)).toEqual([429]);
    expect(await statuses(second, 1)).toEqual([429]);
  });
});
