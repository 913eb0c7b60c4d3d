import { DataSource } from 'typeorm';
import { AppProcess, startAppProcess } from '../utils/app-process';
import { sleep } from '../utils/net';
import { importCsv, storedPosts, toCsv, trickyRows } from './csv-fixtures';

const ROWS = 200_000;
/** The liveness probe: answered by the event loop alone, 503 once its delay is over 5 s. */
const PROBE = '/health/live';

describe('event loop during a 200 000-row import (e2e, app in its own process)', () => {
  let app: AppProcess;
  const db = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL });

  beforeAll(async () => {
    // The app runs from the TypeScript sources under ts-node, as `startAppProcess` does, so its
    // worker threads load the `.ts` task file too.
    app = await startAppProcess({ WORKER_POOL_SIZE: '1' }, { timeoutMs: 100_000 });
    await db.initialize();
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await db.destroy();
  });

  it(`keeps answering ${PROBE} while the import runs, and imports every row`, async () => {
    const user = await app.api.createUser();
    const csv = toCsv(trickyRows(ROWS));
    let importing = true;
    const imported = importCsv(app.api, user.token, csv).finally(() => (importing = false));

    const statuses: number[] = [];
    while (importing) {
      const probe = await app.api.get(PROBE);
      if (importing) statuses.push(probe.status);
      await sleep(10);
    }

    const res = await imported;
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ imported: ROWS, failed: 0, errors: [] });
    expect((await storedPosts(db, user.id)).count).toBe(ROWS);
    expect(statuses.length).toBeGreaterThanOrEqual(20);
    expect(statuses.every((status) => status === 200)).toBe(true);
  }, 180_000);
});
