import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseService } from '@app/database';
import { Client } from 'pg';
import { startTestApp, TestApp } from '../utils/test-app';

/** `DatabaseService.inTransaction()` on the real primary: one scope, its commit, its bounds. */
describe('DatabaseService.inTransaction (e2e)', () => {
  const table = `tx_probe_${process.pid}`;
  let t: TestApp;
  let database: DatabaseService;
  let observer: Client;

  beforeAll(async () => {
    t = await startTestApp();
    database = t.app.get(DatabaseService);
    observer = new Client({ connectionString: process.env.DATABASE_URL });
    await observer.connect();
    await observer.query(`CREATE TABLE ${table} (label text NOT NULL)`);
  });
  afterAll(async () => {
    await observer?.query(`DROP TABLE IF EXISTS ${table}`);
    await observer?.end();
    await t?.close();
  });

  const insert = (label: string) =>
    database.manager.query(`INSERT INTO ${table} (label) VALUES ($1)`, [label]);
  /** The labels committed, as another session sees them. */
  const committed = async (prefix: string): Promise<string[]> => {
    const { rows } = await observer.query<{ label: string }>(
      `SELECT label FROM ${table} WHERE label LIKE $1 ORDER BY label`,
      [`${prefix}%`],
    );
    return rows.map((row) => row.label);
  };

  it('commits every write through the scope together, then runs what waited for the commit', async () => {
    const seenAfterCommit: string[][] = [];
    await database.inTransaction(async () => {
      await insert('commit a');
      // a savepoint of the scope's transaction, not a transaction of its own
      await database.transaction((manager) =>
        manager.query(`INSERT INTO ${table} (label) VALUES ('commit b')`),
      );
      await database.afterCommit(async () => {
        seenAfterCommit.push(await committed('commit'));
      });
      expect(await committed('commit')).toEqual([]);
    });
    expect(seenAfterCommit).toEqual([['commit a', 'commit b']]);
  });

  it('rolls back every write of a scope that throws; what waited for the commit never runs', async () => {
    const afterCommit = jest.fn();
    await expect(
      database.inTransaction(async () => {
        await insert('rollback a');
        await database.afterCommit(afterCommit);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await committed('rollback')).toEqual([]);
    expect(afterCommit).not.toHaveBeenCalled();
  });

  it('rolls back a scope that outlasts its time and frees its connection while the caller hangs', async () => {
    let backend: number | undefined;
    const hung = database.inTransaction(
      async () => {
        await insert('hung a');
        [{ pid: backend }] = (await database.manager.query(`SELECT pg_backend_pid() AS pid`)) as {
          pid: number;
        }[];
        return new Promise<never>(() => undefined);
      },
      { timeoutMs: 300 },
    );
    await expect(hung).rejects.toMatchObject({ code: '57014' });
    expect(await committed('hung')).toEqual([]);
    const { rows } = await observer.query<{ state: string }>(
      `SELECT state FROM pg_stat_activity WHERE pid = $1`,
      [backend],
    );
    expect(rows).toEqual([{ state: 'idle' }]);
  });

  it('has the server end a scope idle for longer than idleTimeoutMs (a caller gone silent)', async () => {
    const idle = database.inTransaction(
      async () => {
        await insert('idle a');
        await sleep(1_500);
        await insert('idle b');
      },
      { idleTimeoutMs: 200 },
    );
    await expect(idle).rejects.toThrow();
    expect(await committed('idle')).toEqual([]);
  });
});
