import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { DatabaseReplicas, parseLsn, Replica } from './database.replicas';
import type { DatabaseServer } from './database.server';
import { DatabaseConnectionOptions } from './interfaces';

describe('parseLsn', () => {
  it('orders WAL positions as PostgreSQL does, across the 32-bit boundary', () => {
    expect(parseLsn('0/FFFFFFFF')).toBeLessThan(parseLsn('1/0'));
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(parseLsn('0/3000060')).toBeGreaterThan(parseLsn('0/3000028'));
  });
});

describe(DatabaseReplicas.name, () => {
  const config = (overrides: Partial<DatabaseConnectionOptions> = {}) =>
    ({
      replicaUrls: ['postgres://r@127.0.0.1:1/a', 'postgres://r@127.0.0.1:2/a'],
      replicaMaxLagMs: 5_000,
      replicaPollMs: 250,
      connectTimeoutMs: 1_000,
      ...overrides,
    }) as DatabaseConnectionOptions;

  /** Replicas in the rotation, probed just now, that have replayed up to `replayed`. */
  function inRotation(replicas: DatabaseReplicas, replayed: bigint[]): Replica[] {
    const all = (replicas as unknown as { replicas: Replica[] }).replicas;
    all.forEach((replica, i) => {
      replica.state = 'in rotation';
      replica.replayLsn = replayed[i];
      replica.polledAt = performance.now();
      replica.dataSource = {} as DataSource;
    });
    (replicas as unknown as { rebuildRotation(): void }).rebuildRotation();
    return all;
  }

  const create = (overrides?: Partial<DatabaseConnectionOptions>) =>
    new DatabaseReplicas(
      { config: config(overrides), entities: [], migrations: [] },
      {} as DatabaseServer,
    );

  describe('#pick', () => {
    it("sends a client's reads to a replica that has replayed its last write, else the primary", async () => {
      const replicas = create();
      const [behind, caughtUp] = inRotation(replicas, [10n, 20n]);
      await replicas.noteWrite('7', 15n);
      for (let i = 0; i < 10; i++) expect(await replicas.pick('7')).toBe(caughtUp);
      await replicas.noteWrite('7', 25n);
      expect(await replicas.pick('7')).toBeUndefined();
      // others read anywhere
      const picked = new Set(
        await Promise.all(Array.from({ length: 40 }, () => replicas.pick('8'))),
      );
      expect(picked).toEqual(new Set([behind, caughtUp]));
      await replicas.close();
    });

    it('reads on the primary when the shared fences cannot be read', async () => {
      // nothing listens on port 1: every command to Redis fails
      const replicas = create({ redisConnection: { url: 'redis://127.0.0.1:1' } });
      inRotation(replicas, [10n, 20n]);
      expect(replicas.awaitsReplay('7')).toBe(true);
      expect(await replicas.pick('7')).toBeUndefined();
      // a read nobody identifies needs no fence
      expect(await replicas.pick(undefined)).toBeDefined();
      await replicas.close();
    });
  });
});
