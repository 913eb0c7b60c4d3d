import { startTestApp, TestApp } from '../utils/test-app';

describe('follows (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const counts = async (id: number) => {
    const { body } = await t.api.get(`/api/users/${id}/dashboard`);
    return { followers: body.followerCount, following: body.followingCount };
  };

  it('PUT follows (idempotently) and DELETE unfollows, both 204', async () => {
    const a = await t.api.createUser();
    const b = await t.api.createUser();
    expect((await t.api.put(`/api/users/${b.id}/follow`, { token: a.token })).status).toBe(204);
    expect((await t.api.put(`/api/users/${b.id}/follow`, { token: a.token })).status).toBe(204);
    expect(await counts(b.id)).toEqual({ followers: 1, following: 0 });
    expect((await t.api.delete(`/api/users/${b.id}/follow`, { token: a.token })).status).toBe(204);
    expect(await counts(b.id)).toEqual({ followers: 0, following: 0 });
  });

  it('400 for following oneself, 404 for an unknown user, 401 without a token', async () => {
    const a = await t.api.createUser();
    expect((await t.api.put(`/api/users/${a.id}/follow`, { token: a.token })).status).toBe(400);
    expect((await t.api.put('/api/users/2000000000/follow', { token: a.token })).status).toBe(404);
    expect((await t.api.put(`/api/users/${a.id}/follow`)).status).toBe(401);
    expect((await t.api.put('/api/users/abc/follow', { token: a.token })).status).toBe(400);
  });
});
