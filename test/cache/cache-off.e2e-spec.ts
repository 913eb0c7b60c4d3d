import { DataSource } from 'typeorm';
import { CacheService } from '@app/cache';
import { UsersRepository } from '../../src/users/users.repository';
import { startTestApp, TestApp } from '../utils/test-app';
import { CACHE_TEST_ENV } from './cache-test-env';

/** `CACHE_ENABLED=false`: the same routes and responses, every read from the database. */
describe('cache switched off (e2e)', () => {
  let t: TestApp;
  let users: UsersRepository;

  beforeAll(async () => {
    t = await startTestApp({ ...CACHE_TEST_ENV, CACHE_ENABLED: 'false' });
    users = t.app.get(UsersRepository);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  it('reports the cache off, whether or not REDIS_URL is set', () => {
    expect(t.app.get(CacheService).health()).toEqual({ store: 'off', degraded: false });
  });

  it('reads the database every time, with the same ETag and HTTP caching headers', async () => {
    const user = await t.api.createUser('Uncached');
    const findPublic = jest.spyOn(users, 'findPublic');
    const first = await t.api.get(`/api/users/${user.id}`);
    const second = await t.api.get(`/api/users/${user.id}`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'MISS']);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('cache-control')).toBe('public, max-age=60');
    expect(findPublic).toHaveBeenCalledTimes(2);

    const notModified = await t.api.get(`/api/users/${user.id}`, {
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(notModified.status).toBe(304);
  });

  it('sees a change made behind its back at once: nothing is kept', async () => {
    const user = await t.api.createUser('Before');
    expect((await t.api.get(`/api/users/${user.id}`)).body.name).toBe('Before');
    await t.app
      .get(DataSource)
      .query('UPDATE users SET name = $1 WHERE id = $2', ['Behind', user.id]);
    expect((await t.api.get(`/api/users/${user.id}`)).body.name).toBe('Behind');
  });

  it('answers a batch read with one query for every id, each time', async () => {
    const [a, b] = [await t.api.createUser('A'), await t.api.createUser('B')];
    const findManyPublic = jest.spyOn(users, 'findManyPublic');
    for (let i = 0; i < 2; i++) {
      const res = await t.api.get(`/api/users?ids=${a.id},${b.id},${a.id}`);
      expect(res.status).toBe(200);
      expect(res.body.map((user: { name: string }) => user.name)).toEqual(['A', 'B', 'A']);
    }
    expect(findManyPublic).toHaveBeenCalledTimes(2);
    expect(findManyPublic).toHaveBeenLastCalledWith([a.id, b.id]);
  });
});
